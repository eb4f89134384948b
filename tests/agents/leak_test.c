/* leak_test.c: anonymization we can prove. Imports CSV files full of
 * personnummer, names, addresses, phone numbers and e-mail addresses (in
 * unmapped columns, in free text, and in a mapped answer column that must
 * be refused), then reads every byte of the outbox's LMDB file and
 * everything the agent printed, and finds none of them: not the
 * personnummer in any usual spelling (10/12 digits, '-', '+', space), not
 * the phone numbers in any spelling, not the names or addresses. The
 * outbox holds exactly the bytes the sender sends, so this also covers
 * what reaches the collector (inside CURVE). */
#include "testutil.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_dir;
static char s_data[256], s_log[256], s_all_output[1 << 16];

typedef struct {
    const char *pnr10, *pnr12;
    const char *name, *address, *email, *phone_local, *phone_intl;
} s_person_t;

static const s_person_t s_people[] = {
    {"8503121231", "198503121231", "Agnetha Fältskog", "Storgatan 12", "agnetha.f@example.se", "0701234567",
     "+46 70 765 43 21"},
    {"9001012344", "199001012344", "Björn Ulvaeus", "Lillvägen 3 B", "bjorn@exempel.nu", "0739876543",
     "+46 73 111 22 33"},
    {"7706153454", "197706153454", "Benny Andersson", "Kyrkbacken 7", "benny.a@posten.example", "0708112233",
     "+46 70 444 55 66"},
};
#define S_NPEOPLE 3

static int s_agent(char *a1, char *a2, char *a3, char *a4)
{
    char *argv[] = {
        (char *) tu_bin("finsam-agent"), "--data-dir", s_data, "--log-level", "debug", a1, a2, a3, a4, NULL};
    unlink(s_log);
    int rc = tu_run(argv, s_log, 30000);
    char *out = tu_read_file(s_log);
    if (out) {
        strncat(s_all_output, out, sizeof s_all_output - strlen(s_all_output) - 1);
        free(out);
    }
    return rc;
}

/* Every spelling of a personnummer and phone number we look for. */
static int s_needles(const s_person_t *p, char out[][64])
{
    int n = 0;
    snprintf(out[n++], 64, "%s", p->pnr10);
    snprintf(out[n++], 64, "%s", p->pnr12);
    snprintf(out[n++], 64, "%.6s-%s", p->pnr10, p->pnr10 + 6);
    snprintf(out[n++], 64, "%.6s+%s", p->pnr10, p->pnr10 + 6);
    snprintf(out[n++], 64, "%.6s %s", p->pnr10, p->pnr10 + 6);
    snprintf(out[n++], 64, "%.8s-%s", p->pnr12, p->pnr12 + 8);
    snprintf(out[n++], 64, "%s", p->name);
    snprintf(out[n++], 64, "%.6s", p->name); /* first name alone */
    snprintf(out[n++], 64, "%s", p->address);
    snprintf(out[n++], 64, "%s", p->email);
    snprintf(out[n++], 64, "%s", p->phone_local);
    snprintf(out[n++], 64, "%.3s-%.3s %.2s %.2s", p->phone_local, p->phone_local + 3, p->phone_local + 6,
             p->phone_local + 8);
    snprintf(out[n++], 64, "%s", p->phone_intl);
    snprintf(out[n++], 64, "%s", p->phone_local + 1); /* without the leading 0 */
    return n;
}

static bool s_contains(const char *hay, size_t len, const char *needle)
{
    return memmem(hay, len, needle, strlen(needle)) != NULL;
}

static char *s_read_all(const char *path, size_t *len)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0);
    char *buf = malloc((size_t) st.st_size + 1);
    CHECK(buf);
    size_t n = 0;
    while (n < (size_t) st.st_size) {
        ssize_t r = read(fd, buf + n, (size_t) st.st_size - n);
        CHECK(r > 0);
        n += (size_t) r;
    }
    close(fd);
    *len = n;
    return buf;
}

static void test_leak_scan(void)
{
    CHECK_EQ(s_agent("keygen", "--forbund", "NV", NULL), 0);
    char map[256], good[256], bad[256], text[8192];
    snprintf(map, sizeof map, "%s/map.ini", s_dir);
    CHECK_EQ(tu_write_file(map, "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                                "mode = integrated\n"
                                "[columns]\npersonnummer = Personnummer\ndate = Datum\n"
                                "[answers]\nd_behov = Behov\nd_tid = Tid\n"),
             0);
    /* Identifiers everywhere the mapping does not read, and the
     * personnummer in three spellings in the column it does read. */
    size_t len = (size_t) snprintf(
        text, sizeof text, "Personnummer;Namn;Adress;Telefon;Mobil;E-post;Datum;Behov;Tid;Kommentar\n");
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        const char *forms[] = {p->pnr12, p->pnr10, NULL};
        char dashed[16];
        snprintf(dashed, sizeof dashed, "%.6s-%s", p->pnr10, p->pnr10 + 6);
        forms[2] = dashed;
        for (int k = 0; k < 3; k++)
            len += (size_t) snprintf(text + len, sizeof text - len,
                                     "%s;%s;%s;%s;%s;%s;2026-0%d-1%d;%d;%d;\"Ring %s eller maila %s,\n%s\"\n",
                                     forms[k], p->name, p->address, p->phone_local, p->phone_intl, p->email,
                                     k + 1, i, 1 + (i + k) % 5, 1 + k, p->phone_local, p->email, p->pnr12);
    }
    snprintf(good, sizeof good, "%s/identifiers.csv", s_dir);
    CHECK_EQ(tu_write_file(good, text), 0);
    CHECK_EQ(s_agent("import", good, "--mapping", map), 0);
    CHECK(strstr(s_all_output, "rows=9 accepted=9"));

    /* A mapped answer column holding identifiers: every row refused. */
    len = (size_t) snprintf(text, sizeof text, "Personnummer;Datum;Behov;Tid\n");
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        len += (size_t) snprintf(text + len, sizeof text - len, "%s;2026-03-01;%s;1\n%s;2026-03-02;5;%s\n",
                                 p->pnr10, p->phone_intl, p->pnr12, p->email);
    }
    snprintf(bad, sizeof bad, "%s/wrongly-mapped.csv", s_dir);
    CHECK_EQ(tu_write_file(bad, text), 0);
    CHECK_EQ(s_agent("import", bad, "--mapping", map), 65);
    CHECK(strstr(s_all_output, "rejected=6"));
    CHECK_EQ(s_agent("status", "--format", "json", NULL), 0);
    CHECK(strstr(s_all_output, "\"queued\": 9"));

    char path[300];
    snprintf(path, sizeof path, "%s/outbox/data.mdb", s_data);
    size_t dblen;
    char *db = s_read_all(path, &dblen);
    CHECK(dblen > 0);
    size_t outlen = strlen(s_all_output);
    int checked = 0;
    for (int i = 0; i < S_NPEOPLE; i++) {
        char needles[16][64];
        int n = s_needles(&s_people[i], needles);
        for (int k = 0; k < n; k++) {
            if (s_contains(db, dblen, needles[k]) || s_contains(s_all_output, outlen, needles[k])) {
                fprintf(stderr, "LEAK: person %d needle %d (%s) found in %s\n", i, k, needles[k],
                        s_contains(db, dblen, needles[k]) ? "outbox" : "agent output");
                CHECK(!"identifier leaked");
            }
            checked++;
        }
    }
    CHECK(checked == S_NPEOPLE * 14);
    /* The scan would see them: the outbox file does hold text we wrote. */
    CHECK(s_contains(db, dblen, "deltagare_avslut"));
    free(db);
}

int main(void)
{
    s_dir = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_dir);
    snprintf(s_log, sizeof s_log, "%s/out.log", s_dir);
    RUN(test_leak_scan);
    return tu_result();
}
