/* validate.h: semantic checks of a decoded event against the catalogue and
 * the sender's authority. codec.h has already checked the structure; here
 * we ask whether the event means something: a known instrument, items that
 * belong to it, answers on the item's scale, the sender's own förbund. Both
 * the agent (before storing in its outbox) and the collector (before storing
 * in its log) call this, so a bad row is caught at the site first. */
#ifndef FINSAM_VALIDATE_H
#define FINSAM_VALIDATE_H

#include "catalogue.h"
#include "codec.h"

/* Returns REJECT_NONE or a reject code with a reason in why. When
 * allowed_forbund is not NULL the event's förbund must equal it. now_s is
 * the wall clock used to refuse events from the future (one day slack). */
reject_code_t validate_event(const catalogue_t *cat, const event_msg_t *ev, const char *allowed_forbund,
                             int64_t now_s, char *why, size_t whylen);

/* The step 0..5 toward work or self-support derived from a status
 * observation (DESIGN.md: 0 public support and no activity ... 5 work or
 * studies >= 50 % without public support). */
int validate_status_step(const Finsam__V1__StatusObservation *s);

/* True if the status counts as "in work or studies" (work, subsidised work
 * or studies). */
bool validate_status_in_work_or_studies(const Finsam__V1__StatusObservation *s);

#endif
