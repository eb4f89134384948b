/* outbox_test.c: the durable queue (agents/outbox.c) and the all-or-nothing
 * import on top of it (agents/import/import.c), on real LMDB in temp dirs. */
#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "import.h"
#include "jsonl.h"
#include "outbox.h"
#include "testutil.h"
#include "util.h"

#include <string.h>

/* Synthetic items: the outbox does not decode bytes unless it must add
 * supersedes, so any bytes do. */
static void s_item(outbox_item_t *it, uint8_t *bytes, int n)
{
    memset(it, 0, sizeof *it);
    it->id[0] = 0x10;
    it->id[15] = (uint8_t) n;
    it->content[0] = (uint8_t) n;
    snprintf((char *) bytes, 16, "event-%u", (unsigned) n % 100u);
    it->bytes = bytes;
    it->len = strlen((char *) bytes);
}

typedef struct {
    int n;
    uint64_t seqs[64];
    char texts[64][16];
} s_seen_t;

static int s_collect(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    s_seen_t *s = arg;
    s->seqs[s->n] = seq;
    snprintf(s->texts[s->n], sizeof s->texts[0], "%.*s", (int) len, (const char *) bytes);
    s->n++;
    return 0;
}

static size_t s_queued(outbox_t *ob)
{
    size_t q = 0;
    CHECK_EQ(outbox_count(ob, &q, NULL, NULL, NULL, 0), 0);
    return q;
}

static void test_put_peek_ack(void)
{
    const char *dir = tu_tempdir();
    outbox_t *ob = NULL;
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    uint8_t bytes[5][16];
    outbox_item_t items[5];
    for (int i = 0; i < 5; i++)
        s_item(&items[i], bytes[i], i);
    outbox_put_stats_t st;
    CHECK_EQ(outbox_put(ob, items, 5, false, &st, NULL, 0), 0);
    CHECK_EQ(st.added, 5);
    CHECK_EQ(s_queued(ob), 5);

    /* Peeking twice gives the same events: nothing leaves without an ack. */
    s_seen_t a = {0}, b = {0};
    CHECK_EQ(outbox_peek(ob, 0, 3, s_collect, &a), 3);
    CHECK_EQ(outbox_peek(ob, 0, 3, s_collect, &b), 3);
    CHECK(a.seqs[0] == 1 && a.seqs[2] == 3 && b.seqs[2] == 3);
    CHECK(strcmp(a.texts[1], "event-1") == 0);
    s_seen_t c = {0};
    CHECK_EQ(outbox_peek(ob, a.seqs[2] + 1, 10, s_collect, &c), 2);
    CHECK(strcmp(c.texts[1], "event-4") == 0);
    CHECK_EQ(s_queued(ob), 5);

    /* Ack: two accepted, one rejected with a reason, one unknown id. */
    uint8_t unknown[16] = {0xff};
    const uint8_t *acc[] = {items[0].id, items[1].id, unknown};
    outbox_rejection_t rej[] = {{items[2].id, 6, "item x: value 9 outside scale"}};
    size_t removed;
    CHECK_EQ(outbox_ack(ob, acc, 3, rej, 1, &removed, NULL, 0), 0);
    CHECK_EQ(removed, 3);
    size_t q, r, known;
    CHECK_EQ(outbox_count(ob, &q, &r, &known, NULL, 0), 0);
    CHECK(q == 2 && r == 1 && known == 5);
    /* Acking again (a resend's ack) changes nothing. */
    CHECK_EQ(outbox_ack(ob, acc, 3, rej, 1, &removed, NULL, 0), 0);
    CHECK_EQ(removed, 0);
    s_seen_t d = {0};
    CHECK_EQ(outbox_peek(ob, 0, 10, s_collect, &d), 2);
    CHECK(strcmp(d.texts[0], "event-3") == 0);

    /* Ids are kept after the ack: putting them again adds nothing. */
    CHECK_EQ(outbox_put(ob, items, 5, false, &st, NULL, 0), 0);
    CHECK(st.added == 0 && st.already == 5);
    CHECK_EQ(s_queued(ob), 2);
    outbox_close(&ob);
    CHECK(ob == NULL);
}

static void test_dry_run_and_reopen(void)
{
    const char *dir = tu_tempdir();
    outbox_t *ob = NULL;
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    uint8_t bytes[3][16];
    outbox_item_t items[3];
    for (int i = 0; i < 3; i++)
        s_item(&items[i], bytes[i], i);
    items[2].id[15] = 1; /* a duplicate inside one put */
    outbox_put_stats_t st;
    CHECK_EQ(outbox_put(ob, items, 3, true, &st, NULL, 0), 0);
    CHECK(st.added == 2 && st.already == 1);
    CHECK_EQ(s_queued(ob), 0);
    CHECK_EQ(outbox_put(ob, items, 3, false, &st, NULL, 0), 0);
    CHECK(st.added == 2 && st.already == 1);
    uint64_t b1, b2;
    CHECK_EQ(outbox_reserve_batches(ob, 10, &b1, NULL, 0), 0);
    outbox_close(&ob);
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    CHECK_EQ(s_queued(ob), 2);
    CHECK_EQ(outbox_reserve_batches(ob, 10, &b2, NULL, 0), 0);
    CHECK_EQ(b2, b1 + 10); /* batch numbers never repeat across restarts */
    outbox_close(&ob);
}

/* outbox_withdraw remembers what it took back, across a reopen: the same
 * items put again are OUTBOX_WITHDRAWN (counted apart from already, and
 * under no import number), with or without a natural key; the natural key
 * it forgot still names the withdrawn id (outbox_withdrawn_id), while
 * outbox_natural_id no longer finds it. An id never withdrawn stays
 * OUTBOX_ALREADY. */
static void test_withdrawn_stays_known(void)
{
    const char *dir = tu_tempdir();
    outbox_t *ob = NULL;
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    uint8_t bytes[3][16];
    outbox_item_t items[3];
    for (int i = 0; i < 3; i++)
        s_item(&items[i], bytes[i], i);
    items[0].has_natural = items[1].has_natural = true;
    items[0].natural[0] = 0xA0;
    items[1].natural[0] = 0xA1; /* items[2]: no natural key */
    outbox_put_stats_t st;
    CHECK_EQ(outbox_put(ob, items, 3, false, &st, NULL, 0), 0);
    CHECK_EQ(st.added, 3);
    uint8_t targets[2][OUTBOX_ID_LEN], rbytes[2][16];
    memcpy(targets[0], items[0].id, OUTBOX_ID_LEN);
    memcpy(targets[1], items[2].id, OUTBOX_ID_LEN);
    outbox_item_t r[2];
    s_item(&r[0], rbytes[0], 50);
    s_item(&r[1], rbytes[1], 51);
    CHECK_EQ(outbox_withdraw(ob, (const uint8_t(*)[OUTBOX_ID_LEN]) targets, r, 2, &st, NULL, 0), 0);
    CHECK(st.added == 2 && st.already == 0);
    outbox_close(&ob);
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    uint8_t id[OUTBOX_ID_LEN];
    CHECK_EQ(outbox_natural_id(ob, items[0].natural, id, NULL, 0), FIN_ENOTFOUND);
    CHECK_EQ(outbox_withdrawn_id(ob, items[0].natural, id, NULL, 0), FIN_OK);
    CHECK(memcmp(id, items[0].id, OUTBOX_ID_LEN) == 0);
    CHECK_EQ(outbox_withdrawn_id(ob, items[1].natural, id, NULL, 0), FIN_ENOTFOUND);
    CHECK_EQ(outbox_put(ob, items, 3, false, &st, NULL, 0), 0);
    CHECK_EQ(items[0].result, OUTBOX_WITHDRAWN);
    CHECK_EQ(items[1].result, OUTBOX_ALREADY);
    CHECK_EQ(items[2].result, OUTBOX_WITHDRAWN);
    CHECK(st.added == 0 && st.already == 1 && st.withdrawn == 2 && st.import_no == 0);
    /* The withdrawal again: its retractions are known, nothing is added. */
    CHECK_EQ(outbox_withdraw(ob, (const uint8_t(*)[OUTBOX_ID_LEN]) targets, r, 2, &st, NULL, 0), 0);
    CHECK(st.added == 0 && st.already == 2);
    CHECK_EQ(r[0].result, OUTBOX_ALREADY);
    CHECK_EQ(s_queued(ob), 5);
    outbox_close(&ob);
}

/* ---- imports through jsonl_import_file---------------------------------- */

static const char *s_good =
    "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\","
    "\"instrument\":\"deltagare_avslut\",\"mode\":\"integrated\",\"insats\":\"steg1\",\"gender\":\"woman\","
    "\"answers\":{\"d_behov\":5,\"d_tid\":4},\"name\":\"Anna\"}\n"
    "{\"kind\":\"status\",\"personnummer\":\"8503121231\",\"date\":\"2026-03-14\",\"phase\":\"exit\","
    "\"mode\":\"project\",\"occupation\":\"work\",\"extent_pct\":50,\"income\":\"wage\",\"days_in_insats\":"
    "120}\n"
    "{\"kind\":\"staff_survey\",\"date\":\"2026-03-14\",\"instrument\":\"insatspersonal\",\"agency\":\"af\","
    "\"mode\":\"integrated\",\"answers\":{\"p_respekt\":4}}\n";

typedef struct {
    catalogue_t *cat;
    anon_t *anon;
    outbox_t *ob;
    insatser_t *ins;
    const char *dir;
} s_env_t;

static void s_env(s_env_t *e)
{
    char err[256];
    static const uint8_t key[ANON_KEY_LEN] = {7};
    e->dir = tu_tempdir();
    CHECK_EQ(catalogue_load(&e->cat, NULL, err, sizeof err), 0);
    CHECK((e->anon = anon_new(key)) != NULL);
    char path[256];
    snprintf(path, sizeof path, "%s/outbox", e->dir);
    CHECK_EQ(outbox_open(&e->ob, path, NULL, 0), 0);
    CHECK((e->ins = insatser_new("test")) != NULL);
    CHECK_EQ(insatser_add(e->ins, "steg1", "integrated", err, sizeof err), 0);
}

static void s_env_free(s_env_t *e)
{
    outbox_close(&e->ob);
    insatser_destroy(&e->ins);
    anon_destroy(&e->anon);
    catalogue_destroy(&e->cat);
}

static int s_import(s_env_t *e, const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", e->dir, name);
    CHECK_EQ(tu_write_file(path, text), 0);
    FILE *devnull = fopen("/dev/null", "w");
    import_opts_t io = {.cat = e->cat,
                        .anon = e->anon,
                        .forbund = "NV",
                        .outbox = e->ob,
                        .report = devnull,
                        .errors = devnull,
                        .insatser = e->ins};
    int rc = jsonl_import_file(path, &io, NULL, 0);
    fclose(devnull);
    return rc;
}

static void test_import_all_or_nothing(void)
{
    s_env_t e;
    s_env(&e);
    /* One bad line (a wrong check digit) among good ones: nothing stored. */
    char bad[2048];
    snprintf(
        bad, sizeof bad, "%s%s", s_good,
        "{\"kind\":\"status\",\"personnummer\":\"850312-1232\",\"date\":\"2026-03-14\",\"phase\":\"entry\","
        "\"mode\":\"project\",\"occupation\":\"none\",\"income\":\"other\"}\n");
    CHECK_EQ(s_import(&e, "bad.jsonl", bad), FIN_EINPUT);
    CHECK_EQ(s_queued(e.ob), 0);
    CHECK_EQ(s_import(&e, "good.jsonl", s_good), 0);
    CHECK_EQ(s_queued(e.ob), 3);
    CHECK_EQ(s_import(&e, "good.jsonl", s_good), 0); /* re-import adds nothing */
    CHECK_EQ(s_queued(e.ob), 3);
    s_env_free(&e);
}

static int s_decode_last(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    event_msg_t **ev = arg;
    char why[128];
    codec_free_event(ev);
    CHECK_EQ(codec_decode_event(bytes, len, ev, why, sizeof why), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    return 0;
}

static void test_import_events_are_clean(void)
{
    s_env_t e;
    s_env(&e);
    CHECK_EQ(s_import(&e, "good.jsonl", s_good), 0);
    event_msg_t *ev = NULL;
    CHECK_EQ(outbox_peek(e.ob, 0, 1, s_decode_last, &ev), 1);
    CHECK(ev->body_case == FINSAM__V1__EVENT__BODY_PARTICIPANT_SURVEY);
    CHECK(strcmp(ev->forbund, "NV") == 0);
    CHECK_EQ(ev->occurred_at, anon_month_start(2026, 3)); /* coarsened to the month */
    CHECK_EQ(ev->id.data[0] << 24 | ev->id.data[1] << 16 | ev->id.data[2] << 8 | ev->id.data[3],
             anon_month_number(2026, 3)); /* time prefix: the month, never the day */
    CHECK(ev->participant_survey->pseudonym.len == 32);
    CHECK(ev->participant_survey->age_band == FINSAM__V1__AGE_BAND__AGE_30_49);
    CHECK(ev->participant_survey->insats && strcmp(ev->participant_survey->insats, "steg1") == 0);
    CHECK(!ev->has_supersedes);
    /* Nothing of the dropped "name" field nor the personnummer is in the bytes. */
    codec_free_event(&ev);
    s_env_free(&e);
}

static void test_correction_supersedes(void)
{
    s_env_t e;
    s_env(&e);
    const char *v1 =
        "{\"kind\":\"status\",\"personnummer\":\"8503121231\",\"date\":\"2026-03-14\",\"phase\":\"exit\","
        "\"mode\":\"project\",\"occupation\":\"work\",\"extent_pct\":50,\"income\":\"wage\"}\n";
    const char *v2 =
        "{\"kind\":\"status\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-14\",\"phase\":\"exit\","
        "\"mode\":\"project\",\"occupation\":\"work\",\"extent_pct\":75,\"income\":\"wage\"}\n";
    CHECK_EQ(s_import(&e, "v1.jsonl", v1), 0);
    event_msg_t *first = NULL, *second = NULL;
    CHECK_EQ(outbox_peek(e.ob, 0, 1, s_decode_last, &first), 1);
    /* The first event was delivered and acked before the correction came. */
    const uint8_t *acc[] = {first->id.data};
    CHECK_EQ(outbox_ack(e.ob, acc, 1, NULL, 0, NULL, NULL, 0), 0);
    CHECK_EQ(s_import(&e, "v2.jsonl", v2), 0);
    CHECK_EQ(outbox_peek(e.ob, 0, 1, s_decode_last, &second), 1);
    CHECK(second->has_supersedes);
    CHECK(memcmp(second->supersedes.data, first->id.data, 16) == 0);
    CHECK(memcmp(second->id.data, first->id.data, 16) != 0);
    CHECK(second->status->extent_pct == 75);
    /* Importing v1 again changes the row back: what is imported last
     * holds (a respondent may change an answer back), under a new id. */
    CHECK_EQ(s_import(&e, "v1.jsonl", v1), 0);
    CHECK_EQ(s_queued(e.ob), 2);
    /* ... and once more adds nothing: v1 is what the row holds now. */
    CHECK_EQ(s_import(&e, "v1.jsonl", v1), 0);
    CHECK_EQ(s_queued(e.ob), 2);
    codec_free_event(&first);
    codec_free_event(&second);
    s_env_free(&e);
}

static int s_collect_events(uint64_t seq, const uint8_t *bytes, size_t len, void *arg);

/* A row changed and changed back inside ONE file: each later row is a
 * correction of the one before, as it is across files (the outbox writes
 * its key entries at the end of the transaction and answers for the
 * earlier rows of the same put itself), and the change back gets an id of
 * its own. The same file again adds nothing for its first row. */
static void test_corrections_inside_one_put(void)
{
    s_env_t e;
    s_env(&e);
    const char *row =
        "{\"kind\":\"status\",\"personnummer\":\"8503121231\",\"date\":\"2026-03-14\",\"phase\":\"exit\","
        "\"mode\":\"project\",\"occupation\":\"work\",\"extent_pct\":%d,\"income\":\"wage\"}\n";
    char text[1024];
    int n = snprintf(text, sizeof text, row, 50);
    n += snprintf(text + n, sizeof text - (size_t) n, row, 75);
    snprintf(text + n, sizeof text - (size_t) n, row, 50);
    CHECK_EQ(s_import(&e, "abc.jsonl", text), 0);
    CHECK_EQ(s_queued(e.ob), 3);
    event_msg_t *evs[4] = {0};
    CHECK_EQ(outbox_peek(e.ob, 0, 3, s_collect_events, evs), 3);
    CHECK(!evs[0]->has_supersedes);
    CHECK(evs[1]->has_supersedes && memcmp(evs[1]->supersedes.data, evs[0]->id.data, 16) == 0);
    CHECK(evs[2]->has_supersedes && memcmp(evs[2]->supersedes.data, evs[1]->id.data, 16) == 0);
    CHECK(memcmp(evs[2]->id.data, evs[0]->id.data, 16) != 0); /* A -> B -> A: a new id */
    CHECK(memcmp(evs[2]->id.data, evs[0]->id.data, 4) == 0);  /* the same month */
    for (int i = 0; i < 3; i++)
        codec_free_event(&evs[i]);
    /* The natural key names the last of them. */
    size_t known = 0;
    CHECK_EQ(outbox_count(e.ob, NULL, NULL, &known, NULL, 0), 0);
    CHECK_EQ(known, 3);
    s_env_free(&e);
}

/* Key entries written at the end of a put (outbox.c, s_batch_flush): keys
 * after every stored one are appended, the others put in place; a second
 * put whose keys fall both among and after the first's finds each of them,
 * and the first put again adds nothing. A natural key met twice in one
 * put with the same content is OUTBOX_ALREADY the second time. */
static void test_key_entries_in_and_after_the_tree(void)
{
    const char *dir = tu_tempdir();
    outbox_t *ob = NULL;
    CHECK_EQ(outbox_open(&ob, dir, NULL, 0), 0);
    enum { N = 600 };
    static uint8_t bytes[2 * N + 1][16];
    static outbox_item_t items[2 * N + 1];
    for (int i = 0; i < 2 * N; i++) {
        s_item(&items[i], bytes[i], i);
        /* ids and natural keys spread over the key space, the second half
         * interleaved with the first and also beyond it */
        uint32_t h = (uint32_t) i * 2654435761u;
        memcpy(items[i].id + 4, &h, 4);
        items[i].id[14] = (uint8_t) (i >> 8);
        items[i].has_natural = true;
        items[i].natural[0] = (uint8_t) (i < N ? (h >> 24) & 0x7f : h >> 24);
        memcpy(items[i].natural + 1, &h, 4);
        items[i].natural[5] = (uint8_t) i;
        items[i].natural[6] = (uint8_t) (i >> 8);
        items[i].content[1] = (uint8_t) (i >> 8);
    }
    /* a repeat of item 7's row inside the first put: same key, same content */
    items[2 * N] = items[7];
    items[2 * N].id[15] ^= 0x80;
    outbox_put_stats_t st;
    outbox_item_t first[N + 1];
    memcpy(first, items, N * sizeof *first);
    first[N] = items[2 * N];
    CHECK_EQ(outbox_put(ob, first, N + 1, false, &st, NULL, 0), 0);
    CHECK(st.added == N && st.already == 1);
    CHECK_EQ(first[N].result, OUTBOX_ALREADY);
    CHECK_EQ(outbox_put(ob, items + N, N, false, &st, NULL, 0), 0);
    CHECK(st.added == N && st.already == 0);
    for (int i = 0; i < 2 * N; i++) {
        uint8_t id[OUTBOX_ID_LEN];
        bool known = false;
        CHECK_EQ(outbox_natural_id(ob, items[i].natural, id, NULL, 0), 0);
        CHECK(memcmp(id, items[i].id, OUTBOX_ID_LEN) == 0);
        CHECK_EQ(outbox_is_known(ob, items[i].id, &known, NULL, 0), 0);
        CHECK(known);
    }
    CHECK_EQ(outbox_put(ob, items, 2 * N, false, &st, NULL, 0), 0);
    CHECK(st.added == 0 && st.already == 2 * N);
    CHECK_EQ(s_queued(ob), 2 * N);
    outbox_close(&ob);
}

static int s_collect_events(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    event_msg_t **evs = arg;
    char why[128];
    while (*evs)
        evs++;
    CHECK_EQ(codec_decode_event(bytes, len, evs, why, sizeof why), FINSAM__V1__REJECT_CODE__REJECT_NONE);
    return 0;
}

/* One person's rows in one month on different days: the ids share the
 * month prefix, and with the id blanked the events are byte for byte the
 * same, so nothing sent says which day either row was. The day still
 * separates the two rows, but only inside the keyed hash. (Within the
 * correction window the later rows correct the earlier: supersedes, which
 * names an id, is left out of the comparison.) */
static void test_ids_carry_the_month_not_the_day(void)
{
    s_env_t e;
    s_env(&e);
    const char *rows =
        "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-03\","
        "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":4}}\n"
        "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-03-27\","
        "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":4}}\n"
        "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2026-04-03\","
        "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":4}}\n";
    CHECK_EQ(s_import(&e, "days.jsonl", rows), 0);
    event_msg_t *ev[4] = {0};
    CHECK_EQ(outbox_peek(e.ob, 0, 3, s_collect_events, ev), 3);
    uint8_t march[4], april[4];
    be32_put(march, anon_month_number(2026, 3));
    be32_put(april, anon_month_number(2026, 4));
    CHECK(memcmp(ev[0]->id.data, march, 4) == 0 && memcmp(ev[1]->id.data, march, 4) == 0);
    CHECK(memcmp(ev[2]->id.data, april, 4) == 0);
    CHECK(memcmp(ev[0]->id.data + 4, ev[1]->id.data + 4, 12) != 0); /* two rows, two ids */
    uint8_t *bytes[2];
    size_t lens[2];
    for (int i = 0; i < 2; i++) {
        memset(ev[i]->id.data, 0, 16);
        ev[i]->has_supersedes = 0;
        bytes[i] = codec_pack(&ev[i]->base, &lens[i]);
    }
    CHECK(lens[0] == lens[1] && memcmp(bytes[0], bytes[1], lens[0]) == 0);
    for (int i = 0; i < 3; i++)
        codec_free_event(&ev[i]);
    free(bytes[0]);
    free(bytes[1]);
    s_env_free(&e);
}

static const test_case_t s_cases[] = {
    {"put, peek and ack", test_put_peek_ack},
    {"dry run and reopen", test_dry_run_and_reopen},
    {"withdrawn stays known", test_withdrawn_stays_known},
    {"import all or nothing", test_import_all_or_nothing},
    {"import events are clean", test_import_events_are_clean},
    {"correction supersedes", test_correction_supersedes},
    {"ids carry the month not the day", test_ids_carry_the_month_not_the_day},
    {"corrections inside one put", test_corrections_inside_one_put},
    {"key entries in and after the tree", test_key_entries_in_and_after_the_tree},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
