/* erasure_test.c: `finsam-agent erase` (agents/erasure.c) and the scrub of
 * the outbox (agents/outbox.c, store/scrub.c), on real LMDB with the real
 * binary and no collector: an event still queued or kept as rejected is
 * removed and nothing of it stays in outbox/data.mdb; repeating adds
 * nothing; bad ids, unknown ids and targets without content are refused;
 * acknowledged events are wiped from the file; and a process that had the
 * outbox open while another one scrubbed reopens before it writes, so its
 * LMDB page buffers do not bring old bytes back. The delivery of the
 * Erasure to a real collector is tests/e2e/agent_erase_test.c. */
#include "codec.h"
#include "fault_util.h"
#include "outbox.h"
#include "testutil.h"
#include "util.h"

#include <string.h>
#include <unistd.h>

/* ---- an agent directory and its binary ---------------------------------- */

static char s_dir[320], s_cfg[400];

static void s_new_agent(void)
{
    snprintf(s_dir, sizeof s_dir, "%s/agent", tu_tempdir());
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", s_dir, "--forbund", "NV", "keygen", NULL};
    CHECK_EQ(tu_run(argv, NULL, 30000), 0);
    snprintf(s_cfg, sizeof s_cfg, "%s.ini", s_dir);
    CHECK(tu_write_file(s_cfg, "[insatser]\nZZQUEUEDZZ = any\nZZREJECTZZ = any\n") == 0);
}

/* `finsam-agent -d DIR -c CFG args...`: exit status, stdout in *out. */
static int s_agent(char **out, const char *a1, const char *a2)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "-d",
                    s_dir,
                    "-c",
                    s_cfg,
                    "--log-level",
                    "warn",
                    (char *) a1,
                    (char *) a2,
                    NULL};
    char *text = NULL;
    int rc = tu_capture(argv, &text, 60000);
    fprintf(stderr, "finsam-agent %s %s -> %d: %s", a1, a2 ? a2 : "", rc, text ? text : "\n");
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

/* Imports rows: n status rows, the marker row, n more. */
static void s_import_with_marker(const char *marker, long n)
{
    char path[400];
    snprintf(path, sizeof path, "%s-%s.jsonl", s_dir, marker);
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, 1, n, "work");
    fprintf(f,
            "{\"kind\":\"participant_survey\",\"personnummer\":\"19850312-1231\",\"date\":\"2025-06-14\","
            "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"insats\":\"%s\","
            "\"answers\":{\"d_behov\":4}}\n",
            marker);
    fault_write_status_rows(f, n + 1, n, "work");
    CHECK(fclose(f) == 0);
    CHECK_EQ(s_agent(NULL, "import", path), 0);
}

static long s_in_file(const char *text)
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox/data.mdb", s_dir);
    return tu_count_bytes_in_file(path, text, strlen(text));
}

static size_t s_counts(size_t *rejected, size_t *known)
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    outbox_t *ob;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    size_t queued;
    CHECK_EQ(outbox_count(ob, &queued, rejected, known, NULL, 0), 0);
    outbox_close(&ob);
    return queued;
}

typedef struct {
    const char *marker; /* bytes to look for, or NULL */
    int body;           /* or a body case */
    uint8_t id[16];
    uint8_t bytes[512]; /* the event as queued */
    size_t len;
    bool found;
} s_look_t;

static int s_look(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    s_look_t *l = arg;
    event_msg_t *ev;
    char why[160];
    if (codec_decode_event(bytes, len, &ev, why, sizeof why) != FINSAM__V1__REJECT_CODE__REJECT_NONE)
        return 0;
    bool hit =
        l->marker ? memmem(bytes, len, l->marker, strlen(l->marker)) != NULL : (int) ev->body_case == l->body;
    if (hit && len <= sizeof l->bytes) {
        memcpy(l->id, ev->id.data, 16);
        memcpy(l->bytes, bytes, len);
        l->len = len;
        l->found = true;
    }
    codec_free_event(&ev);
    return hit;
}

/* The id (hex) of the queued event holding marker, or of body case body;
 * its id and bytes in *l. */
static void s_queued(const char *marker, int body, char hex[33], s_look_t *l)
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    outbox_t *ob;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    *l = (s_look_t){.marker = marker, .body = body};
    CHECK(outbox_peek(ob, 0, 100000, s_look, l) >= 0);
    outbox_close(&ob);
    CHECK(l->found);
    hex_encode(hex, l->id, 16);
}

static long s_bytes_in_file(const s_look_t *l)
{
    char path[400];
    snprintf(path, sizeof path, "%s/outbox/data.mdb", s_dir);
    return tu_count_bytes_in_file(path, l->bytes, l->len);
}

/* ---- erasing at the site --------------------------------------------------- */

static void test_erase_queued_event(void)
{
    s_new_agent();
    s_import_with_marker("ZZQUEUEDZZ", 300);
    char hex[33];
    s_look_t x;
    s_queued("ZZQUEUEDZZ", 0, hex, &x);
    size_t rejected, known, queued = s_counts(&rejected, &known);
    CHECK(queued == 601 && known == 601);
    CHECK_EQ(s_in_file("ZZQUEUEDZZ"), 1);
    CHECK_EQ(s_bytes_in_file(&x), 1);

    char *out;
    CHECK_EQ(s_agent(&out, "erase", hex), 0);
    CHECK(strstr(out, "found=queued") && strstr(out, "added=1"));
    free(out);
    /* Gone from the queue and from the file; the erasure took its place. */
    CHECK_EQ(s_in_file("ZZQUEUEDZZ"), 0);
    CHECK_EQ(s_bytes_in_file(&x), 0);
    CHECK_EQ(s_counts(&rejected, &known), 601);
    CHECK(rejected == 0 && known == 602);

    /* Again: nothing added, whatever month it is. */
    CHECK_EQ(s_agent(&out, "erase", hex), 0);
    CHECK(strstr(out, "found=gone") && strstr(out, "added=0"));
    free(out);
    CHECK_EQ(s_counts(&rejected, &known), 601);
    CHECK_EQ(known, 602);
    /* Importing the row again adds nothing: its id stays known. */
    char path[400];
    snprintf(path, sizeof path, "%s-ZZQUEUEDZZ.jsonl", s_dir);
    CHECK_EQ(s_agent(&out, "import", path), 0);
    CHECK(strstr(out, "accepted=0 already_imported=601"));
    free(out);
    CHECK_EQ(s_in_file("ZZQUEUEDZZ"), 0);
}

static void test_refused(void)
{
    s_new_agent();
    s_import_with_marker("ZZQUEUEDZZ", 10);
    size_t rejected, known, queued = s_counts(&rejected, &known);
    CHECK_EQ(s_agent(NULL, "erase", "xyz"), 65);
    CHECK_EQ(s_agent(NULL, "erase", "000002a2ffffffffffffffffffffffffff"), 65); /* 34 digits */
    CHECK_EQ(s_agent(NULL, "erase", "000002a2ffffffffffffffffffffffff"), 65);   /* never queued here */
    CHECK_EQ(s_agent(NULL, "erase", NULL), 64);
    /* A retraction holds nothing to erase. */
    const char *row = "{\"kind\":\"retraction\",\"target\":\"000002a2aaaaaaaaaaaaaaaaaaaaaaaa\","
                      "\"date\":\"2025-06-14\"}\n";
    CHECK_EQ(s_agent(NULL, "import", tu_file_in(tu_tempdir(), "retraction.jsonl", row)), 0);
    char hex[33];
    s_look_t r;
    s_queued(NULL, FINSAM__V1__EVENT__BODY_RETRACTION, hex, &r);
    CHECK_EQ(s_agent(NULL, "erase", hex), 65);
    /* Nothing changed. */
    size_t r2, k2;
    CHECK_EQ(s_counts(&r2, &k2), queued + 1);
    CHECK(r2 == rejected && k2 == known + 1);
    /* No data directory: 66, and none is made. */
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", "/nonexistent/finsam", "erase", hex, NULL};
    CHECK_EQ(tu_run(argv, NULL, 30000), 66);
    CHECK(access("/nonexistent/finsam", F_OK) < 0);
}

static void test_erase_rejected_event(void)
{
    s_new_agent();
    s_import_with_marker("ZZREJECTZZ", 50);
    char hex[33];
    s_look_t x;
    s_queued("ZZREJECTZZ", 0, hex, &x);
    /* The collector refused it: the outbox keeps it with the reason. */
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    outbox_t *ob;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    outbox_rejection_t rej = {x.id, FINSAM__V1__REJECT_CODE__REJECT_INVALID_FIELD, "item d_behov: refused"};
    size_t removed;
    CHECK_EQ(outbox_ack(ob, NULL, 0, &rej, 1, &removed, NULL, 0), 0);
    CHECK_EQ(removed, 1);
    outbox_close(&ob);
    size_t rejected, known;
    CHECK_EQ(s_counts(&rejected, &known), 100);
    CHECK_EQ(rejected, 1);
    CHECK(s_in_file("ZZREJECTZZ") >= 1);

    char *out;
    CHECK_EQ(s_agent(&out, "erase", hex), 0);
    CHECK(strstr(out, "found=rejected") && strstr(out, "added=1"));
    free(out);
    CHECK_EQ(s_counts(&rejected, &known), 101);
    CHECK_EQ(rejected, 0);
    CHECK_EQ(s_in_file("ZZREJECTZZ"), 0);
    CHECK_EQ(s_bytes_in_file(&x), 0);
}

/* ---- the scrub after acks ------------------------------------------------- */

/* Synthetic events: the outbox does not decode what it queues. */
static void s_items(outbox_item_t *items, char (*bytes)[128], int first, int n, const char *marker)
{
    for (int i = 0; i < n; i++) {
        outbox_item_t *it = &items[i];
        memset(it, 0, sizeof *it);
        be32_put(it->id, 0x2a0);
        be32_put(it->id + 12, (uint32_t) (first + i));
        snprintf(bytes[i], sizeof bytes[i], "%s-%06d-%s", marker, first + i,
                 "padding to make the event about as long as a real one........................");
        it->bytes = (const uint8_t *) bytes[i];
        it->len = strlen(bytes[i]);
    }
}

static void s_ack_range(outbox_t *ob, outbox_item_t *items, int n)
{
    const uint8_t **ids = calloc((size_t) n, sizeof *ids);
    CHECK(ids);
    for (int i = 0; i < n; i++)
        ids[i] = items[i].id;
    size_t removed;
    CHECK_EQ(outbox_ack(ob, ids, (size_t) n, NULL, 0, &removed, NULL, 0), 0);
    CHECK_EQ(removed, (size_t) n);
    free(ids);
}

#define N_ITEMS 3000

static void test_acked_events_are_wiped(void)
{
    s_new_agent();
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    static outbox_item_t items[N_ITEMS];
    static char bytes[N_ITEMS][128];
    s_items(items, bytes, 0, N_ITEMS, "ZZACKEDZZ");
    outbox_t *ob;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    CHECK_EQ(outbox_put(ob, items, N_ITEMS, false, NULL, NULL, 0), 0);
    CHECK_EQ(s_in_file("ZZACKEDZZ"), N_ITEMS);
    /* Acks that leave events queued: no scrub before the interval. */
    for (int at = 0; at < N_ITEMS / 2; at += 500)
        s_ack_range(ob, items + at, 500);
    long left = s_in_file("ZZACKEDZZ");
    fprintf(stderr, "after half the acks: %ld copies of events (%d queued)\n", left, N_ITEMS / 2);
    CHECK(left > N_ITEMS / 2); /* acknowledged ones are still readable */
    /* The ack that empties the queue scrubs: nothing of any event stays. */
    for (int at = N_ITEMS / 2; at < N_ITEMS; at += 500)
        s_ack_range(ob, items + at, 500);
    CHECK_EQ(s_in_file("ZZACKEDZZ"), 0);
    outbox_close(&ob);

    /* outbox_close scrubs what acks left. */
    static outbox_item_t more[1000];
    static char mbytes[1000][128];
    s_items(more, mbytes, N_ITEMS, 1000, "ZZCLOSEZZ");
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    CHECK_EQ(outbox_put(ob, more, 1000, false, NULL, NULL, 0), 0);
    s_ack_range(ob, more, 500);
    CHECK(s_in_file("ZZCLOSEZZ") > 500);
    outbox_close(&ob);
    CHECK_EQ(s_in_file("ZZCLOSEZZ"), 500); /* the 500 still queued, each once */
}

typedef struct {
    int bad, erasures;
} s_intact_t;

/* A queued event is one of s_items's, whole, or the Erasure B queued. */
static int s_intact(uint64_t seq, const uint8_t *bytes, size_t len, void *arg)
{
    (void) seq;
    s_intact_t *in = arg;
    event_msg_t *ev;
    char why[160];
    if (codec_decode_event(bytes, len, &ev, why, sizeof why) == FINSAM__V1__REJECT_CODE__REJECT_NONE) {
        in->erasures += ev->body_case == FINSAM__V1__EVENT__BODY_ERASURE;
        codec_free_event(&ev);
        return 0;
    }
    const char *tail = "-padding to make the event about as long as a real one";
    in->bad += len < 60 || memcmp(bytes, "ZZ", 2) || !memmem(bytes, len, tail, strlen(tail));
    return 0;
}

/* Process A (this test) has the outbox open and acknowledged events, so its
 * LMDB page buffers hold their bytes; process B (`finsam-agent erase`)
 * scrubs. A's next write must not bring those bytes back into the file. */
static void test_other_process_reopens(void)
{
    s_new_agent();
    char path[400];
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    static outbox_item_t items[N_ITEMS], later[N_ITEMS];
    static char bytes[N_ITEMS][128], lbytes[N_ITEMS][128];
    s_items(items, bytes, 0, N_ITEMS / 2, "ZZGONEZZ");
    s_items(items + N_ITEMS / 2, bytes + N_ITEMS / 2, N_ITEMS / 2, N_ITEMS / 2, "ZZKEPTZZ");
    memcpy(bytes[N_ITEMS / 2], "ZZERASEZZ", 9); /* the one B erases */
    outbox_t *ob;
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    CHECK_EQ(outbox_put(ob, items, N_ITEMS, false, NULL, NULL, 0), 0);
    for (int at = 0; at < N_ITEMS / 2; at += 250)
        s_ack_range(ob, items + at, 250);
    CHECK(s_in_file("ZZGONEZZ") > 0); /* not scrubbed yet: events still queued */

    char hex[33], *out;
    hex_encode(hex, items[N_ITEMS / 2].id, 16);
    CHECK_EQ(s_agent(&out, "erase", hex), 0);
    CHECK(strstr(out, "found=queued"));
    free(out);
    CHECK_EQ(s_in_file("ZZGONEZZ"), 0);
    CHECK_EQ(s_in_file("ZZERASEZZ"), 0);

    /* A writes on: new events, then acks of some kept ones. */
    s_items(later, lbytes, N_ITEMS, N_ITEMS, "ZZLATERZZ");
    CHECK_EQ(outbox_put(ob, later, N_ITEMS, false, NULL, NULL, 0), 0);
    for (int at = N_ITEMS / 2 + 1; at < N_ITEMS / 2 + 1001; at += 250)
        s_ack_range(ob, items + at, 250);
    CHECK_EQ(s_in_file("ZZGONEZZ"), 0);
    CHECK_EQ(s_in_file("ZZERASEZZ"), 0);
    CHECK(s_in_file("ZZLATERZZ") >= N_ITEMS); /* and copies: those are A's to scrub later */
    outbox_close(&ob);
    CHECK_EQ(s_in_file("ZZKEPTZZ"), N_ITEMS / 2 - 1 - 1000);
    /* The wipes touched no live byte: every queued event reads back whole. */
    CHECK_EQ(outbox_open(&ob, path, NULL, 0), 0);
    s_intact_t in = {0, 0};
    CHECK_EQ(outbox_peek(ob, 0, 100000, s_intact, &in), N_ITEMS / 2 - 1 - 1000 + N_ITEMS + 1);
    CHECK_EQ(in.bad, 0);
    CHECK_EQ(in.erasures, 1);
    outbox_close(&ob);
}

static const test_case_t s_cases[] = {
    {"erase queued event", test_erase_queued_event},
    {"erasure refused", test_refused},
    {"erase rejected event", test_erase_rejected_event},
    {"acked events are wiped", test_acked_events_are_wiped},
    {"other process reopens", test_other_process_reopens},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
