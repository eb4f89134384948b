/* erasure_unit_test.c: agents/erasure.c through erasure.h, on a real
 * outbox in a temp dir: an event still queued (or kept as rejected) is
 * removed and its bytes wiped from outbox/data.mdb, the Erasure is queued
 * once with a deterministic keyed id, and ids that are unknown or name an
 * event without content are refused. The `finsam-agent erase` command end
 * to end is tests/agents/erasure_test.c. */
#include "events.h"
#include "testutil.h"

#include "anonymize.h"
#include "catalogue.h"
#include "erasure.h"
#include "outbox.h"

#include <string.h>

#define S_NOW ((int64_t) T_2026_03 + 86400)

typedef struct {
    char dir[256];
    outbox_t *ob;
    anon_t *anon;
    catalogue_t *cat;
} s_site_t;

static void s_open(s_site_t *s, uint8_t key_byte)
{
    char err[256];
    snprintf(s->dir, sizeof s->dir, "%s", tu_tempdir());
    CHECK(outbox_open(&s->ob, s->dir, err, sizeof err) == FIN_OK);
    uint8_t key[ANON_KEY_LEN];
    memset(key, key_byte, sizeof key);
    s->anon = anon_new(key);
    CHECK(s->anon);
    CHECK(catalogue_load(&s->cat, NULL, err, sizeof err) == 0);
}

static void s_close(s_site_t *s)
{
    catalogue_destroy(&s->cat);
    anon_destroy(&s->anon);
    outbox_close(&s->ob);
}

/* Queues survey event n (as import would) and returns its bytes (free). */
static uint8_t *s_queue(s_site_t *s, uint32_t n, size_t *len, uint8_t id[16])
{
    uint8_t *bytes = ev_survey(n, "NV", 1000 + n, "deltagare_avslut", "d_behov", 4, 1, T_2026_03, len);
    CHECK(bytes);
    outbox_item_t it;
    memset(&it, 0, sizeof it);
    ev_id(it.id, n);
    memcpy(id, it.id, 16);
    it.content[0] = (uint8_t) n;
    it.content[1] = 0xc0;
    it.bytes = bytes;
    it.len = *len;
    outbox_put_stats_t st;
    char err[256];
    CHECK(outbox_put(s->ob, &it, 1, false, &st, err, sizeof err) == FIN_OK);
    CHECK_EQ(st.added, 1);
    return bytes;
}

static size_t s_count(s_site_t *s, size_t *rejected)
{
    size_t q = 0, r = 0;
    CHECK(outbox_count(s->ob, &q, &r, NULL, NULL, 0) == FIN_OK);
    if (rejected)
        *rejected = r;
    return q;
}

static long s_on_disk(s_site_t *s, const uint8_t *bytes, size_t len)
{
    char path[400];
    snprintf(path, sizeof path, "%s/data.mdb", s->dir);
    return tu_count_bytes_in_file(path, bytes, len);
}

/* The one queued event, decoded (caller frees with codec_free_event). */
static int s_first(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    *(Finsam__V1__Event **) arg = finsam__v1__event__unpack(NULL, len, bytes);
    return 1;
}

static void test_parse_id(void)
{
    uint8_t id[ANON_ID_LEN];
    CHECK(erasure_parse_id("000002a2000000070000000000000007", id) == 0);
    uint8_t want[16];
    ev_id(want, 7);
    CHECK(!memcmp(id, want, 16));
    CHECK(erasure_parse_id("000002A2000000070000000000000007", id) == 0);
    CHECK(erasure_parse_id("000002a200000007000000000000000", id) < 0);   /* 31 */
    CHECK(erasure_parse_id("000002a20000000700000000000000070", id) < 0); /* 33 */
    CHECK(erasure_parse_id("000002a2000000070000000000000g07", id) < 0);
    CHECK(erasure_parse_id("", id) < 0);
}

static void test_queued_target_removed_and_wiped(void)
{
    s_site_t s;
    s_open(&s, 0x11);
    size_t len;
    uint8_t target[16];
    uint8_t *bytes = s_queue(&s, 7, &len, target);
    CHECK(s_on_disk(&s, bytes, len) >= 1);
    erasure_report_t r;
    char err[256] = "";
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", target, S_NOW, 2000, &r, err, sizeof err), FIN_OK);
    CHECK_EQ(r.found, OUTBOX_TARGET_QUEUED);
    CHECK(r.added && r.scrubbed);
    CHECK(!memcmp(r.target, target, 16));
    /* Only the Erasure waits, naming the target; the target's bytes are
     * nowhere in the file. */
    CHECK_EQ(s_count(&s, NULL), 1);
    Finsam__V1__Event *ev = NULL;
    CHECK_EQ(outbox_peek(s.ob, 0, 1, s_first, &ev), 1);
    CHECK(ev && ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE);
    CHECK(ev->erasure->target_id.len == 16 && !memcmp(ev->erasure->target_id.data, target, 16));
    CHECK(ev->id.len == 16 && !memcmp(ev->id.data, r.id, 16));
    CHECK(!strcmp(ev->forbund, "NV"));
    finsam__v1__event__free_unpacked(ev, NULL);
    CHECK_EQ(s_on_disk(&s, bytes, len), 0);
    free(bytes);
    s_close(&s);
}

static void test_repeat_adds_nothing(void)
{
    s_site_t s;
    s_open(&s, 0x11);
    size_t len;
    uint8_t target[16];
    free(s_queue(&s, 7, &len, target));
    erasure_report_t a, b;
    char err[256] = "";
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", target, S_NOW, 2000, &a, err, sizeof err), FIN_OK);
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", target, S_NOW, 2000, &b, err, sizeof err), FIN_OK);
    CHECK_EQ(b.found, OUTBOX_TARGET_GONE);
    CHECK(!b.added);
    CHECK(!memcmp(a.id, b.id, 16));
    CHECK_EQ(s_count(&s, NULL), 1);
    CHECK(!strcmp(erasure_found_name(b.found), "gone"));
    s_close(&s);
}

static void test_rejected_target_removed(void)
{
    s_site_t s;
    s_open(&s, 0x11);
    size_t len;
    uint8_t target[16];
    uint8_t *bytes = s_queue(&s, 9, &len, target);
    outbox_rejection_t rej = {target, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD, "value outside scale"};
    size_t removed, rejected;
    CHECK(outbox_ack(s.ob, NULL, 0, &rej, 1, &removed, NULL, 0) == FIN_OK);
    CHECK_EQ(s_count(&s, &rejected), 0);
    CHECK_EQ(rejected, 1);
    erasure_report_t r;
    char err[256] = "";
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", target, S_NOW, 2000, &r, err, sizeof err), FIN_OK);
    CHECK_EQ(r.found, OUTBOX_TARGET_REJECTED);
    CHECK(!strcmp(erasure_found_name(r.found), "rejected"));
    CHECK_EQ(s_count(&s, &rejected), 1); /* the Erasure */
    CHECK_EQ(rejected, 0);
    CHECK_EQ(s_on_disk(&s, bytes, len), 0);
    free(bytes);
    s_close(&s);
}

static void test_unknown_and_contentless_refused(void)
{
    s_site_t s;
    s_open(&s, 0x11);
    erasure_report_t r;
    char err[256] = "";
    uint8_t never[16];
    ev_id(never, 99);
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", never, S_NOW, 2000, &r, err, sizeof err), FIN_ENOTFOUND);
    CHECK_EQ(s_count(&s, NULL), 0); /* nothing queued for an unknown id */
    /* An Erasure has no content to erase: erasing it is refused. */
    size_t len;
    uint8_t target[16];
    free(s_queue(&s, 7, &len, target));
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", target, S_NOW, 2000, &r, err, sizeof err), FIN_OK);
    uint8_t erasure_id[16];
    memcpy(erasure_id, r.id, 16);
    err[0] = '\0';
    CHECK_EQ(erasure_run(s.ob, s.anon, s.cat, "NV", erasure_id, S_NOW, 2000, &r, err, sizeof err),
             FIN_EINPUT);
    CHECK(err[0]);
    CHECK_EQ(s_count(&s, NULL), 1);
    s_close(&s);
}

static void test_id_deterministic_and_keyed(void)
{
    s_site_t a, b;
    s_open(&a, 0x11);
    s_open(&b, 0x22);
    uint8_t target[16];
    ev_id(target, 7);
    uint8_t id1[16], id2[16], id3[16];
    size_t len;
    char err[256] = "";
    uint8_t *e1 = erasure_build(a.anon, a.cat, "NV", target, S_NOW, &len, id1, err, sizeof err);
    uint8_t *e2 = erasure_build(a.anon, a.cat, "NV", target, S_NOW + 86400 * 3, &len, id2, err, sizeof err);
    uint8_t *e3 = erasure_build(b.anon, b.cat, "NV", target, S_NOW, &len, id3, err, sizeof err);
    CHECK(e1 && e2 && e3);
    CHECK(!memcmp(id1, id2, 16));   /* the same whenever it is run */
    CHECK(memcmp(id1, id3, 16));    /* another site key, another id */
    CHECK(!memcmp(id1, target, 4)); /* the target's month prefix */
    CHECK(memcmp(id1, target, 16));
    /* occurred_at: the coarse time of the wire, the 1st of now's month. */
    Finsam__V1__Event *ev = finsam__v1__event__unpack(NULL, len, e3);
    CHECK(ev);
    CHECK_EQ(ev->occurred_at, anon_month_start(2026, 3));
    finsam__v1__event__free_unpacked(ev, NULL);
    free(e1);
    free(e2);
    free(e3);
    s_close(&a);
    s_close(&b);
}

static const test_case_t s_cases[] = {
    {"parse id", test_parse_id},
    {"queued target removed and wiped", test_queued_target_removed_and_wiped},
    {"repeat adds nothing", test_repeat_adds_nothing},
    {"rejected target removed", test_rejected_target_removed},
    {"unknown and contentless refused", test_unknown_and_contentless_refused},
    {"id deterministic and keyed", test_id_deterministic_and_keyed},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
