/* erase_test.c: erasure end to end with real processes (count/erase.c):
 * `finsamctl erase ID` and `erase --forbund F --before YYYY-MM` while the
 * collector runs, and an Erasure event sent by a site over the wire. After
 * each, the erased event's bytes and its marker text occur nowhere in the
 * data directory nor in a backup taken afterwards, the cells still equal a
 * rebuild from the log, and replay serves the tombstone at the event's
 * sequence. The helpers are tests/e2e/erase_util.h, shared with
 * tests/e2e/agent_erase_test.c. */
#include "cluster.h"
#include "codec.h"
#include "erase_util.h"
#include "fault_util.h"
#include "testutil.h"
#include "util.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static void test_erase_by_id_while_running(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], sub[400];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    fault_subscriber_key(&c, sub, sizeof sub);
    cluster_start_collector(&c);

    /* The mistaken row among 600 others, then 1500 more in later
     * transactions, so LMDB has copied its page a few times. */
    char path[400];
    snprintf(path, sizeof path, "%s/a.jsonl", nv);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, 300, "work");
    eu_marker_row(f, "19850312-1231", "2025-06-14", "ZZERASEMEZZ", 4);
    fault_write_status_rows(f, 301, 300, "work");
    CHECK(fclose(f) == 0);
    eu_deliver(&c, nv, path);
    eu_deliver_rows(&c, nv, 1001, 1500);
    CHECK_EQ(cluster_events_in_log(&c), 2101);

    eu_stored_t x;
    CHECK(eu_find(&c, "NV", "ZZERASEMEZZ", 0, &x));
    long before = eu_count_data_mdb(&c, "ZZERASEMEZZ", 11);
    fprintf(stderr, "marker event at seq %llu (%zu bytes); copies in data.mdb before the erase: %ld\n",
            (unsigned long long) x.seq, x.len, before);
    CHECK(before >= 1);

    char hex[33], *out = NULL;
    hex_encode(hex, x.id, 16);
    const char *erase[] = {"erase", hex, NULL};
    CHECK_EQ(cluster_ctl(&c, &out, erase), 0);
    CHECK(out && strstr(out, "erased=1 ") && strstr(out, "erasure_seq=2102-2102"));
    free(out);
    CHECK(!strcmp(eu_kind_at(&c, x.seq), "erased"));
    CHECK(!strcmp(eu_kind_at(&c, 2102), "erasure"));
    CHECK_EQ(eu_count_data_mdb(&c, x.bytes, x.len), 0);
    CHECK_EQ(eu_count_data_mdb(&c, "ZZERASEMEZZ", 11), 0);

    /* The collector goes on storing. Its LMDB page buffers once held the
     * event, so it reopens its store before its next write (LMDB would
     * write old buffer contents into unused parts of new pages); then the
     * check on everything, and a backup. */
    /* Its next write may be the publication timer's, already done. */
    CHECK(tu_count_in_file(c.log, "STORE-REOPENED reason=erasure") <= 1);
    for (int round = 0; round < 3; round++) {
        eu_deliver_rows(&c, nv, 3001 + round * 500, 500);
        CHECK_EQ(eu_count_data_mdb(&c, x.bytes, x.len), 0);
    }
    CHECK_EQ(tu_count_in_file(c.log, "STORE-REOPENED reason=erasure erasures=1"), 1);
    CHECK_EQ(cluster_events_in_log(&c), 3602);
    eu_check_gone(&c, &x, "ZZERASEMEZZ", false);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);

    /* Replay: the tombstone at the event's position, the erasure after. */
    char *line = eu_replay_line(&c, sub, 3602, x.seq);
    fprintf(stderr, "replay: %s\n", line);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erased\"") && strstr(line, hex) && strstr(line, "\"by_seq\":2102"));
    CHECK(!strstr(line, "pseudonym") && !strstr(line, "answers"));
    free(line);
    line = eu_replay_line(&c, sub, 3602, 2102);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erasure\"") && strstr(line, hex) &&
          strstr(line, "\"by_operator\":true"));
    free(line);

    /* Again: nothing more to do. An unknown id: refused. */
    CHECK_EQ(cluster_ctl(&c, &out, erase), 0);
    CHECK(out && strstr(out, "erased=0 already_erased=1"));
    free(out);
    const char *unknown[] = {"erase", "000002a2ffffffffffffffffffffffff", NULL};
    CHECK_EQ(cluster_ctl(&c, NULL, unknown), 65);
    const char *bad[] = {"erase", "xyz", NULL};
    CHECK_EQ(cluster_ctl(&c, NULL, bad), 64);
    CHECK_EQ(cluster_events_in_log(&c), 3602);
    cluster_stop_collector(&c, SIGTERM);
    free(x.bytes);
    fprintf(stderr, "FIGURES erase_by_id: copies_before=%ld copies_after=0 events=3602\n", before);
}

static void test_erase_before_month(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], hbs[320];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "hbs", "HBS", true, hbs, sizeof hbs);
    cluster_start_collector(&c);
    /* The same marker text in three events: NV's March event goes, NV's
     * August event and HBS's March event stay, byte for byte. */
    char path[400];
    snprintf(path, sizeof path, "%s/nv.jsonl", nv);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, 400, "work"); /* spread over 2025-01 .. 2025-10 */
    eu_marker_row(f, "19850312-1231", "2025-03-14", "ZZOLDZZ", 4);
    eu_marker_row(f, "19850312-1231", "2025-08-14", "ZZOLDZZ", 5);
    CHECK(fclose(f) == 0);
    eu_deliver(&c, nv, path);
    snprintf(path, sizeof path, "%s/hbs.jsonl", hbs);
    f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, 400, "work");
    eu_marker_row(f, "19850312-1231", "2025-03-14", "ZZOLDZZ", 4);
    CHECK(fclose(f) == 0);
    eu_deliver(&c, hbs, path);
    CHECK_EQ(cluster_events_in_log(&c), 803);

    int64_t june;
    setenv("TZ", "Europe/Stockholm", 1);
    struct tm tm = {.tm_year = 125, .tm_mon = 5, .tm_mday = 1, .tm_isdst = -1};
    june = (int64_t) mktime(&tm);
    eu_stored_t nv_old, hbs_old;
    CHECK(eu_find(&c, "NV", "ZZOLDZZ", june, &nv_old));
    CHECK(eu_find(&c, "HBS", "ZZOLDZZ", 0, &hbs_old));
    long marker_before = eu_count_data_mdb(&c, "ZZOLDZZ", 7);
    char *out = NULL;
    const char *erase[] = {"erase", "--forbund", "NV", "--before", "2025-06", NULL};
    CHECK_EQ(cluster_ctl(&c, &out, erase), 0);
    long erased = 0;
    CHECK(out && sscanf(strstr(out, "erased="), "erased=%ld", &erased) == 1);
    free(out);
    /* Every NV event before June is a tombstone, the rest untouched. */
    long tombstones = 0, hbs_erased = 0;
    for (uint64_t seq = 1; seq <= 803; seq++) {
        const char *kind = eu_kind_at(&c, seq);
        bool erased_now = !strcmp(kind, "erased");
        tombstones += erased_now;
        hbs_erased += erased_now && seq > 402; /* HBS delivered after NV */
    }
    CHECK_EQ(tombstones, erased);
    CHECK_EQ(hbs_erased, 0);
    CHECK(erased > 100 && erased < 402);
    CHECK(!strcmp(eu_kind_at(&c, nv_old.seq), "erased"));
    CHECK_EQ(cluster_events_in_log(&c), 803 + erased);
    /* Gone: NV's March event. Kept: the two other events with the marker
     * (a scrub never touches live data, even with the same text in it). */
    CHECK_EQ(eu_count_data_mdb(&c, nv_old.bytes, nv_old.len), 0);
    CHECK(eu_count_data_mdb(&c, hbs_old.bytes, hbs_old.len) >= 1);
    eu_check_gone(&c, &nv_old, "ZZOLDZZ", true);
    CHECK(!strcmp(eu_kind_at(&c, hbs_old.seq), "participant_survey"));
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    const char *usage[] = {"erase", "--before", "2025-06", NULL};
    CHECK_EQ(cluster_ctl(&c, NULL, usage), 64);
    cluster_stop_collector(&c, SIGTERM);
    free(nv_old.bytes);
    free(hbs_old.bytes);
    fprintf(stderr, "FIGURES erase_before: erased=%ld events=803 marker_copies_before=%ld after=%ld\n",
            erased, marker_before, eu_count_data_mdb(&c, "ZZOLDZZ", 7));
}

/* Sends one batch of encoded events with a raw CURVE client and returns
 * the decoded ack. */
static ack_msg_t *s_send(zsock_t *s, uint64_t batch_seq, uint8_t **events, size_t *lens, size_t n)
{
    ProtobufCBinaryData bin[8];
    for (size_t i = 0; i < n; i++)
        bin[i] = (ProtobufCBinaryData){lens[i], events[i]};
    Finsam__V1__Batch batch = FINSAM__V1__BATCH__INIT;
    batch.version = 1;
    batch.agent_id = "raw";
    batch.batch_seq = batch_seq;
    batch.n_events = n;
    batch.events = bin;
    size_t len;
    uint8_t *packed = codec_pack(&batch.base, &len);
    CHECK(zsock_send(s, "b", packed, len) == 0);
    free(packed);
    zframe_t *f = zframe_recv(s);
    CHECK(f);
    ack_msg_t *ack = codec_decode_ack(zframe_data(f), zframe_size(f));
    zframe_destroy(&f);
    CHECK(ack && ack->batch_seq == batch_seq);
    return ack;
}

static uint8_t *s_erasure(const char *forbund, uint8_t id_last, const uint8_t target[16], size_t *len)
{
    static uint8_t id[16];
    memset(id, 0xee, sizeof id);
    id[15] = id_last;
    Finsam__V1__Erasure er = FINSAM__V1__ERASURE__INIT;
    er.target_id = (ProtobufCBinaryData){16, (uint8_t *) target};
    Finsam__V1__Event ev = FINSAM__V1__EVENT__INIT;
    ev.id = (ProtobufCBinaryData){16, id};
    ev.forbund = (char *) forbund;
    ev.occurred_at = 1749376800; /* 2025-06-08 12:00 */
    ev.catalogue_version = 1;
    ev.body_case = FINSAM__V1__EVENT__BODY_ERASURE;
    ev.erasure = &er;
    return codec_pack(&ev.base, len);
}

static void test_site_erasure_over_the_wire(void)
{
    cluster_t c;
    cluster_init(&c);
    char nv[320], hbs[320], sub[400];
    cluster_add_agent(&c, "nv", "NV", true, nv, sizeof nv);
    cluster_add_agent(&c, "hbs", "HBS", true, hbs, sizeof hbs);
    fault_subscriber_key(&c, sub, sizeof sub);
    cluster_start_collector(&c);
    char path[400];
    snprintf(path, sizeof path, "%s/nv.jsonl", nv);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, 500, "work");
    eu_marker_row(f, "19850312-1231", "2025-06-14", "ZZSITEZZ", 3);
    fault_write_status_rows(f, 501, 500, "work");
    CHECK(fclose(f) == 0);
    eu_deliver(&c, nv, path);
    snprintf(path, sizeof path, "%s/hbs.jsonl", hbs);
    f = fopen(path, "w");
    CHECK(f);
    eu_marker_row(f, "19850312-1231", "2025-06-14", "ZZHBSZZ", 3);
    CHECK(fclose(f) == 0);
    eu_deliver(&c, hbs, path);
    CHECK_EQ(cluster_events_in_log(&c), 1002);
    eu_stored_t x, other;
    CHECK(eu_find(&c, "NV", "ZZSITEZZ", 0, &x));
    CHECK(eu_find(&c, "HBS", "ZZHBSZZ", 0, &other));

    /* NV erases its own event, and tries HBS's: not found for NV. */
    zsock_t *s = cluster_raw_client(&c, nv);
    uint8_t *ev[3];
    size_t lens[3];
    ev[0] = s_erasure("NV", 1, x.id, &lens[0]);
    ev[1] = s_erasure("NV", 2, other.id, &lens[1]);
    for (int round = 0; round < 2; round++) { /* the resend changes nothing */
        ack_msg_t *ack = s_send(s, 10 + (uint64_t) round, ev, lens, 2);
        CHECK_EQ(ack->n_accepted, 1);
        CHECK_EQ(ack->n_rejected, 1);
        CHECK_EQ(ack->rejected[0]->code, FINSAM__V1__REJECT_CODE__REJECT_UNKNOWN_TARGET);
        codec_free_ack(&ack);
    }
    CHECK_EQ(cluster_events_in_log(&c), 1003);
    /* Acknowledged when stored; the tombstone follows once the cells have
     * passed the erasure (erase.h), a moment later. */
    CHECK(eu_wait_erased(&c, x.seq));
    CHECK(!strcmp(eu_kind_at(&c, other.seq), "participant_survey"));
    /* The erased event sent again, exactly: acked, nothing stored. */
    ev[2] = x.bytes;
    lens[2] = x.len;
    ack_msg_t *ack = s_send(s, 12, &ev[2], &lens[2], 1);
    CHECK_EQ(ack->n_accepted, 1);
    codec_free_ack(&ack);
    CHECK_EQ(cluster_events_in_log(&c), 1003);
    zsock_destroy(&s);
    /* The collector scrubbed in its own process, after reopening its
     * store (the erasing transaction had the event's page in a buffer);
     * it goes on storing and the bytes stay gone. */
    CHECK_EQ(tu_count_in_file(c.log, "ERASE-SCRUBBED events=1 copies="), 1);
    CHECK_EQ(tu_count_in_file(c.log, "STORE-REOPENED reason=erasure erasures=1"), 1);
    CHECK_EQ(eu_count_data_mdb(&c, x.bytes, x.len), 0);
    for (int round = 0; round < 4; round++) {
        eu_deliver_rows(&c, nv, 2001 + round * 250, 250);
        CHECK_EQ(eu_count_data_mdb(&c, x.bytes, x.len), 0);
    }
    eu_check_gone(&c, &x, "ZZSITEZZ", false);
    CHECK(eu_count_data_mdb(&c, other.bytes, other.len) >= 1);
    CHECK_EQ(cluster_rebuild_verify(&c), 0);
    char *line = eu_replay_line(&c, sub, 2003, x.seq);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erased\"") && strstr(line, "\"by_seq\":1003"));
    free(line);
    line = eu_replay_line(&c, sub, 2003, 1003);
    CHECK(strstr(line, "\"topic\":\"ev.NV.erasure\"") && !strstr(line, "by_operator"));
    free(line);
    cluster_stop_collector(&c, SIGTERM);
    free(ev[0]);
    free(ev[1]);
    free(x.bytes);
    free(other.bytes);
}

static const test_case_t s_cases[] = {
    {"erase by id while running", test_erase_by_id_while_running},
    {"erase before month", test_erase_before_month},
    {"site erasure over the wire", test_site_erasure_over_the_wire},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
