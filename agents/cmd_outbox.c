/* cmd_outbox.c: finsam-agent status and erase ID: the commands that look
 * into the outbox, or take one event out of it for good.
 *
 * status shows the link as the running agent last wrote it (sender.h's
 * state file: connected, refused and why, last ack, delivered today), in
 * Swedish or English, then the key=value counts scripts read; erase
 * queues an Erasure for the collector, removes the event from the outbox
 * if still there and wipes the outbox's free space (erasure.h). */
#include "cli.h"

#include "erasure.h"
#include "report_text.h"
#include "sender.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

static void s_print_rejected(const uint8_t *id, int code, const char *text, void *arg)
{
    int *n = arg;
    if ((*n)++ >= 20)
        return;
    char hex[2 * CODEC_ID_LEN + 1];
    hex_encode(hex, id, CODEC_ID_LEN);
    printf("rejected id=%s code=%s reason=%s\n", hex, codec_reject_name((reject_code_t) code), text);
}

static void s_json_rejected(const uint8_t *id, int code, const char *text, void *arg)
{
    json_t *list = arg;
    if (json_array_size(list) >= 100)
        return;
    char hex[2 * CODEC_ID_LEN + 1];
    hex_encode(hex, id, CODEC_ID_LEN);
    json_array_append_new(list, json_pack("{s:s, s:s, s:s?}", "id", hex, "code",
                                          codec_reject_name((reject_code_t) code), "reason", text));
}

static void s_time(char *out, size_t len, int64_t wall_s)
{
    time_t t = (time_t) wall_s;
    struct tm tm;
    if (!wall_s || !localtime_r(&t, &tm) || !strftime(out, len, "%Y-%m-%d %H:%M:%S", &tm))
        snprintf(out, len, "-");
}

/* The link in words: state, since when, and what to do about a refusal.
 * The state file keeps what the agent last wrote; when no agent runs now
 * (running is false) the connection line says so first, then how it was. */
static void s_print_link(report_lang_t lang, const sender_state_t *st, bool have, bool running, size_t queued)
{
    char t1[32], t2[32];
    static const report_msg_t word[] = {[SENDER_CONNECTING] = RT_CONNECTING,
                                        [SENDER_CONNECTED] = RT_CONNECTED,
                                        [SENDER_REFUSED] = RT_REFUSED,
                                        [SENDER_KEY_MISMATCH] = RT_KEY_MISMATCH,
                                        [SENDER_UNREACHABLE] = RT_UNREACHABLE};
    if (!have) {
        printf("%s: %s\n", report_text(lang, RT_CONNECTION), report_text(lang, RT_NOT_RUNNING));
    } else {
        s_time(t1, sizeof t1, st->since);
        if (running)
            printf("%s: %s (%s %s)\n", report_text(lang, RT_CONNECTION), report_text(lang, word[st->link]),
                   report_text(lang, RT_SINCE), t1);
        else if (st->link == SENDER_CONNECTED) {
            /* Connected until it stopped: the last time it wrote. */
            s_time(t2, sizeof t2, st->updated ? st->updated : st->since);
            printf("%s: %s (%s %s)\n", report_text(lang, RT_CONNECTION), report_text(lang, RT_NOT_CONNECTED),
                   report_text(lang, RT_LAST_CONNECTED), t2);
        } else
            printf("%s: %s (%s: %s, %s %s)\n", report_text(lang, RT_CONNECTION),
                   report_text(lang, RT_NOT_CONNECTED), report_text(lang, RT_LAST_STATE),
                   report_text(lang, word[st->link]), report_text(lang, RT_SINCE), t1);
        s_time(t2, sizeof t2, st->last_ack);
        printf("%s: %s\n", report_text(lang, RT_LAST_ACK), st->last_ack ? t2 : report_text(lang, RT_NEVER));
        printf("%s: %llu\n", report_text(lang, RT_DELIVERED_TODAY), (unsigned long long) st->delivered_today);
        if (!running)
            printf("%s\n", report_text(lang, RT_STOPPED));
    }
    printf("%s: %zu\n", report_text(lang, RT_QUEUED), queued);
    if (queued && have && st->queued_since) {
        s_time(t1, sizeof t1, st->queued_since);
        long long age = (long long) (clock_wall_ms() / 1000 - st->queued_since);
        printf("%s: %s (%lld min)\n", report_text(lang, RT_OLDEST_QUEUED), t1, age > 0 ? age / 60 : 0);
    }
    report_msg_t advice = RT_N;
    if (have && st->link == SENDER_REFUSED)
        advice = RT_ADVICE_REFUSED;
    else if (have && st->link == SENDER_KEY_MISMATCH)
        advice = RT_ADVICE_KEY_MISMATCH;
    else if (have && st->link == SENDER_UNREACHABLE)
        advice = RT_ADVICE_UNREACHABLE;
    if (advice != RT_N)
        printf("%s: %s\n", report_text(lang, RT_ADVICE), report_text(lang, advice));
}

/* DIR/reports/NNNNNN-rejected.txt with the highest number into out ("" if
 * none): the report of the file most recently not imported. */
static void s_newest_rejected_report(const char *dir, char *out, size_t len)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/reports", dir);
    out[0] = '\0';
    DIR *d = opendir(path);
    if (!d)
        return;
    long best = -1;
    struct dirent *e;
    while ((e = readdir(d))) {
        char *end;
        long no = strtol(e->d_name, &end, 10);
        if (end != e->d_name && !strcmp(end, "-rejected.txt") && no > best) {
            best = no;
            snprintf(out, len, "%s/%s", path, e->d_name);
        }
    }
    closedir(d);
}

int cmd_status(void)
{
    bool json = !strcmp(o.format, "json");
    if (!json && strcmp(o.format, "text")) {
        fprintf(stderr, "finsam-agent: --format: want text or json\n");
        return EX_USAGE;
    }
    report_lang_t lang = cli_lang();
    char path[4096];
    sender_state_t st;
    cli_path(path, sizeof path, "sender.state");
    bool have = sender_state_read(path, &st) == 0;
    bool running = have && sender_state_running(path, &st);
    /* The spool: --spool, or the one the running (or last) agent watched,
     * which the unit names on its command line, not in the config file. */
    const char *spool = o.spool ? o.spool : have && st.spool[0] ? st.spool : NULL;
    char report[4500] = "";
    outbox_t *outbox = NULL;
    int rc = cli_open_outbox(&outbox);
    if (rc)
        return rc;
    size_t queued, rejected, known, waiting = 0, rejected_files = 0;
    char err[512];
    if (outbox_count(outbox, &queued, &rejected, &known, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: outbox: %s\n", err);
        outbox_close(&outbox);
        return EX_IOERR;
    }
    if (spool && spool_count(spool, &waiting, &rejected_files) < 0) {
        /* One the agent named but this user may not read: left out. */
        if (!o.spool) {
            spool = NULL;
        } else {
            fprintf(stderr, "finsam-agent: %s: %s\n", spool, strerror(errno));
            outbox_close(&outbox);
            return EX_IOERR;
        }
    }
    if (spool)
        s_newest_rejected_report(spool, report, sizeof report);
    if (json) {
        json_t *list = json_array();
        outbox_each_rejected(outbox, s_json_rejected, list, NULL, 0);
        json_t *root =
            json_pack("{s:I, s:I, s:I, s:o}", "queued", (json_int_t) queued, "rejected",
                      (json_int_t) rejected, "known_ids", (json_int_t) known, "rejected_events", list);
        if (root && have) {
            json_object_set_new(root, "link",
                                json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:I}", "state",
                                          sender_link_name(st.link), "since", (json_int_t) st.since,
                                          "endpoint", st.endpoint, "last_ack", (json_int_t) st.last_ack,
                                          "delivered_today", (json_int_t) st.delivered_today,
                                          "delivered_total", (json_int_t) st.delivered_total, "queued_since",
                                          (json_int_t) st.queued_since));
            json_object_set_new(json_object_get(root, "link"), "running", json_boolean(running));
        }
        if (root && spool)
            json_object_set_new(root, "spool",
                                json_pack("{s:s, s:I, s:I, s:s?}", "dir", spool, "waiting",
                                          (json_int_t) waiting, "rejected_files", (json_int_t) rejected_files,
                                          "newest_rejected_report", report[0] ? report : NULL));
        if (!root || json_dumpf(root, stdout, JSON_INDENT(2)) < 0) {
            json_decref(root);
            outbox_close(&outbox);
            return EX_SOFTWARE;
        }
        printf("\n");
        json_decref(root);
        outbox_close(&outbox);
        return 0;
    }
    s_print_link(lang, &st, have, running, queued);
    if (rejected)
        printf("%s: %zu\n", report_text(lang, RT_REJECTED), rejected);
    if (spool) {
        printf("%s: %zu\n", report_text(lang, RT_SPOOL_WAITING), waiting);
        printf("%s: %zu", report_text(lang, RT_SPOOL_REJECTED), rejected_files);
        if (rejected_files && report[0])
            printf(" (%s %s)", report_text(lang, RT_SPOOL_SEE), report);
        printf("\n");
    }
    /* The machine line, unchanged in every language. */
    printf("queued=%zu rejected=%zu known_ids=%zu\n", queued, rejected, known);
    if (have)
        printf("link=%s last_ack=%lld delivered_today=%llu queued_since=%lld\n", sender_link_name(st.link),
               (long long) st.last_ack, (unsigned long long) st.delivered_today, (long long) st.queued_since);
    if (spool)
        printf("spool=%s waiting=%zu rejected_files=%zu\n", spool, waiting, rejected_files);
    int n = 0;
    outbox_each_rejected(outbox, s_print_rejected, &n, NULL, 0);
    if (n > 20)
        printf("... and %d more rejected\n", n - 20);
    outbox_close(&outbox);
    return 0;
}

/* How long `erase` waits for readers that began before it (a running
 * agent's are a few milliseconds long). */
#define S_ERASE_WAIT_MS 10000

int cmd_erase(const char *hex)
{
    char forbund[CODEC_FORBUND_MAX + 1], path[4096], err[1024];
    uint8_t target[ANON_ID_LEN];
    catalogue_t *cat = NULL;
    anon_t *anon = NULL;
    outbox_t *outbox = NULL;
    if (erasure_parse_id(hex, target) < 0) {
        fprintf(stderr, "finsam-agent: erase: %s: not an event id (want 32 hex digits)\n", hex);
        return EX_DATAERR;
    }
    /* Never create a data directory: a wrong --data-dir must not look
     * like an outbox that never held the event. */
    cli_path(path, sizeof path, "outbox/data.mdb");
    if (access(path, F_OK) < 0) {
        fprintf(stderr, "finsam-agent: erase: %s: no outbox here (wrong --data-dir?)\n", o.data_dir);
        return EX_NOINPUT;
    }
    int rc;
    if ((rc = cli_forbund(forbund, sizeof forbund)) || (rc = cli_load_catalogue(&cat)) ||
        (rc = cli_load_anon(&anon)) || (rc = cli_open_outbox(&outbox)))
        goto done;
    erasure_report_t r;
    fin_err_t er = erasure_run(outbox, anon, cat, forbund, target, clock_wall_ms() / 1000, S_ERASE_WAIT_MS,
                               &r, err, sizeof err);
    switch (er) {
    case FIN_OK: break;
    case FIN_ENOTFOUND:                          /* never queued here */
    case FIN_EINPUT: rc = EX_DATAERR; break;     /* a retraction or an erasure */
    case FIN_EINTERNAL: rc = EX_SOFTWARE; break; /* we built it: our bug or a bad catalogue */
    default: rc = EX_IOERR; break;               /* the outbox */
    }
    if (rc) {
        fprintf(stderr, "finsam-agent: erase: %s\n", err);
        goto done;
    }
    char ehex[2 * ANON_ID_LEN + 1];
    hex_encode(ehex, r.id, ANON_ID_LEN);
    printf("erase: target=%s found=%s erasure=%s added=%d zeroed_kib=%llu scanned_mib=%.1f old_readers=%d "
           "seconds=%.3f\n",
           hex, erasure_found_name(r.found), ehex, r.added, (unsigned long long) (r.scrub.zeroed >> 10),
           (double) r.scrub.scanned / (1 << 20), r.scrub.old_readers, r.scrub.seconds);
    if (r.found == OUTBOX_TARGET_QUEUED)
        printf("erase: the event was removed from the queue before the collector acknowledged it\n");
    else if (r.found == OUTBOX_TARGET_REJECTED)
        printf("erase: the event was removed from the events the collector refused\n");
    printf(r.added ? "erase: the erasure is queued: `finsam-agent run` delivers it to the collector\n"
                   : "erase: nothing added: this event's erasure was queued before\n");
    if (er == FIN_OK && !r.scrubbed && err[0]) {
        /* The erasure is stored; only the scrub failed. */
        fprintf(stderr, "finsam-agent: erase: scrub: %s\n", err);
        rc = EX_IOERR;
    }
done:
    outbox_close(&outbox);
    anon_destroy(&anon);
    catalogue_destroy(&cat);
    return rc;
}
