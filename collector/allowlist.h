/* allowlist.h: which CURVE public keys may publish, and for which förbund.
 *
 * The allow-list is a directory of public certificates in the standard
 * ZeroMQ format; each carries metadata `forbund = "NV"` naming the one
 * förbund that key may publish for (agents), or `access = "all"` or
 * `"aggregates"` (stream subscribers). The ZAP handler (auth.c) checks keys
 * at the handshake; this table is checked on every batch, subscription and
 * stream send as well, because CURVE authenticates only once: removing a
 * certificate must cut a connected agent or subscriber off as soon as the
 * table is reloaded, and the förbund an event may carry is bound to the
 * handshake key, never to the payload.
 *
 * When the table is reloaded: at once on an inotify event of the directory
 * (a certificate written, moved in or out, deleted; the directory itself
 * moved or deleted), on SIGHUP (server.c calls allowlist_reload), and, as
 * a safety net only, when a periodic stat of the directory finds a new
 * mtime: every ALLOWLIST_RESCAN_MS while inotify watches the directory
 * (for events it cannot report, such as a hard link made in it), every
 * second while it does not (no inotify instance left, or the directory
 * missing: the watch is tried again at each rescan). */
#ifndef FINSAM_ALLOWLIST_H
#define FINSAM_ALLOWLIST_H

#include <stdbool.h>

/* The safety-net rescan's period while inotify watches the directory. */
#define ALLOWLIST_RESCAN_MS 30000

typedef struct allowlist_t allowlist_t;

/* Loads the directory (which may be empty or missing) and starts watching
 * it. Each certificate must carry metadata `meta_key` (e.g. "forbund" for
 * agents, "access" for stream subscribers) whose value passes `valid`;
 * others are skipped with a warning. NULL on allocation failure. */
allowlist_t *allowlist_new(const char *dir, const char *meta_key, bool (*valid)(const char *value));
void allowlist_destroy(allowlist_t **self_p);

/* The inotify descriptor to poll for reading (allowlist_handle when it is
 * readable), or -1 if inotify is not available at all. */
int allowlist_fd(const allowlist_t *self);

/* Reads the waiting inotify events without blocking and reloads once if
 * any concerns the directory. Returns true if the table was reloaded. */
bool allowlist_handle(allowlist_t *self);

/* Reloads now, whatever changed (SIGHUP). */
void allowlist_reload(allowlist_t *self);

/* The safety net, to call about once a second: reloads if the directory's
 * mtime changed, at most every ALLOWLIST_RESCAN_MS while inotify watches
 * it and at every call while it does not. Returns true if reloaded. */
bool allowlist_refresh(allowlist_t *self);

/* The metadata value of a Z85 public key (its förbund, for agents), or
 * NULL if the key is not listed. Borrowed until the next reload. */
const char *allowlist_lookup(allowlist_t *self, const char *public_z85);

/* The name (in the directory) of the certificate that lists a Z85 public
 * key, or NULL if the key is not listed. Borrowed until the next reload. */
const char *allowlist_file(allowlist_t *self, const char *public_z85);

/* Validators: a förbund code; a subscriber access level ("all" or
 * "aggregates"). */
bool allowlist_valid_forbund(const char *value);
bool allowlist_valid_access(const char *value);

/* Number of keys listed. */
int allowlist_size(allowlist_t *self);

/* A number that changes whenever the table is reloaded: a holder of keys
 * checked earlier (the subscription table, stream_subscription.c) checks them again only
 * when it differs. */
unsigned allowlist_generation(const allowlist_t *self);

#endif
