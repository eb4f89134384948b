/* cmd_submit.c: finsam-agent submit --year Y [--half 1|2]: the förbund
 * says its figures for a period are complete, and asks the centre to
 * approve them (docs/report.md; count/approval.h at the collector).
 *
 * The design decision: a submission is an ordinary event (body
 * `approval`, action SUBMIT) queued in the outbox and delivered like
 * every row, so it travels the authenticated channel and the collector
 * binds it to the förbund of this agent's key — an agent can submit only
 * for its own förbund, and nothing here has to be trusted. Its id is the
 * month it was made in and random bytes: a submission after a reopen is a
 * new event. The collector refuses it (the agent's status then shows the
 * reason) when the period is submitted or approved already.
 *
 * Not done here: waiting for the answer. A running agent delivers it at
 * once; otherwise `finsam-agent run --exit-when-empty`. */
#include "cli.h"

#include "codec.h"
#include "log.h"
#include "util.h"
#include "validate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

int cmd_submit(void)
{
    if (o.year < 2000 || o.year > 2100 || o.half < 0 || o.half > 2) {
        fprintf(stderr, "Usage: finsam-agent submit --year YYYY [--half 1|2]\n");
        return EX_USAGE;
    }
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    cli_path(path, sizeof path, "outbox/data.mdb");
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "finsam-agent: submit: %s: no outbox here (wrong --data-dir?)\n", o.data_dir);
        return EX_NOINPUT;
    }
    catalogue_t *cat = NULL;
    outbox_t *outbox = NULL;
    uint8_t *bytes = NULL;
    int rc;
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (rc = cli_open_outbox(&outbox)))
        goto done;
    int64_t now_s = clock_wall_ms() / 1000;
    outbox_item_t it = {0};
    time_t t = (time_t) now_s;
    struct tm tm;
    localtime_r(&t, &tm);
    be32_put(it.id, (uint32_t) ((tm.tm_year + 1900 - 1970) * 12 + tm.tm_mon));
    randombytes_buf(it.id + 4, OUTBOX_ID_LEN - 4);
    Finsam__V1__PeriodApproval pa = FINSAM__V1__PERIOD_APPROVAL__INIT;
    pa.action = FINSAM__V1__PERIOD_APPROVAL__ACTION__ACTION_SUBMIT;
    pa.year = (uint32_t) o.year;
    pa.has_half = o.half != 0;
    pa.half = (uint32_t) o.half;
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){OUTBOX_ID_LEN, it.id};
    ev.forbund = forbund;
    ev.occurred_at = now_s;
    ev.catalogue_version = cat->version;
    ev.body_case = FINSAM__V1__EVENT__BODY_APPROVAL;
    ev.approval = &pa;
    if (!(bytes = codec_pack(&ev.base, &it.len))) {
        fprintf(stderr, "finsam-agent: submit: out of memory\n");
        rc = EX_SOFTWARE;
        goto done;
    }
    event_msg_t *msg = NULL;
    char why[256];
    reject_code_t rj = codec_decode_event(bytes, it.len, &msg, why, sizeof why);
    if (rj == FINSAM__V1__REJECT_CODE__REJECT_NONE)
        rj = validate_event(cat, msg, forbund, now_s, why, sizeof why);
    codec_free_event(&msg);
    if (rj != FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        fprintf(stderr, "finsam-agent: submit: %s: %s\n", codec_reject_name(rj), why);
        rc = EX_SOFTWARE;
        goto done;
    }
    it.bytes = bytes;
    crypto_generichash(it.content, sizeof it.content, bytes, it.len, NULL, 0);
    outbox_put_stats_t ps;
    fin_err_t pr = outbox_put(outbox, &it, 1, false, &ps, err, sizeof err);
    if (pr) {
        fprintf(stderr, "finsam-agent: submit: outbox: %s\n", err);
        rc = fin_exit_code(pr);
        goto done;
    }
    char period[16];
    if (o.half)
        snprintf(period, sizeof period, "%ld-H%ld", o.year, o.half);
    else
        snprintf(period, sizeof period, "%ld", o.year);
    printf("submit: %s %s queued for the central approval; the running agent delivers it (or run "
           "`finsam-agent run --exit-when-empty`); `finsam-agent status` shows a refusal\n",
           forbund, period);
    log_info("submit", "PERIOD-SUBMITTED forbund=%s period=%s", forbund, period);
    rc = 0;
done:
    free(bytes);
    outbox_close(&outbox);
    catalogue_destroy(&cat);
    return rc;
}
