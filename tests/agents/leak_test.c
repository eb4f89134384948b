/* leak_test.c: anonymization we can prove, at the site. Real imports, as
 * staff run them, of exports full of personnummer (10 and 12 digits, with
 * '-', '+', a space or nothing; a samordningsnummer; a centenarian's '+'),
 * names, e-mail addresses and phone numbers (070-123 45 67, 0701234567,
 * +46 70 123 45 67, ...): in unmapped columns and fields, in free text, in
 * a mapped answer column and in the insats column (which must refuse
 * anything but the declared codes), in CSV with a mapping and in JSONL,
 * typed on the command line and dropped into the spool, under file names
 * that hold a personnummer and a name.
 *
 * Then every byte the agent keeps or prints is read: every file under the
 * data directory (the outbox's LMDB file, keys), the spool after retention
 * (reports, done/, rejected/, and every file name there), the agent's logs
 * and everything the commands printed. Not one spelling of any identifier
 * may be there. The one exception is documented behaviour: `import FILE`
 * repeats the path the user typed, on the user's terminal; the scan removes
 * exactly that path from those commands' output and then finds nothing
 * either (a base name or a log line with the name would still be found).
 * The outbox holds exactly the bytes the sender sends, so this also covers
 * what reaches the collector. A control checks that every needle does occur
 * in the source files, so the scan looks for what was really written. */
#include "testutil.h"

#include "keys.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *s_root;
static char s_data[256], s_spool[256], s_src[256], s_logs[256], s_cfg[256], s_map[256], s_endpoint[64];

/* Everything the agent printed, after the typed path was removed. */
static char *s_out;
static size_t s_outlen, s_outcap;

typedef struct {
    const char *birth8, *serial3;              /* YYYYMMDD (day + 60: samordningsnummer), NNN */
    bool centenarian;                          /* 10-digit forms need '+' */
    const char *first, *last, *email, *mobile; /* mobile as 07XXXXXXXX */
    char pnr12[13];                            /* computed: with the Luhn digit */
} s_person_t;

static s_person_t s_people[] = {
    {"19850312", "123", false, "Linnea", "Qvarnström", "linnea.qvarnstrom@example.se", "0701234567", ""},
    {"19900171", "456", false, "Åsa", "Öberg", "asa.oberg@kommun.example", "0739876543", ""}, /* samordn. */
    {"19200505", "789", true, "Jöns", "Ärlig", "jons@exempel.nu", "0768112233", ""},
};
#define S_NPEOPLE 3

/* ---- identifiers in every spelling ----------------------------------- */

static void s_luhn(s_person_t *p)
{
    char nine[10];
    snprintf(nine, sizeof nine, "%s%s", p->birth8 + 2, p->serial3);
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        int v = (nine[i] - '0') * (i % 2 == 0 ? 2 : 1);
        sum += v > 9 ? v - 9 : v;
    }
    snprintf(p->pnr12, sizeof p->pnr12, "%s%s%d", p->birth8, p->serial3, (10 - sum % 10) % 10);
}

enum { PNR10, PNR10_DASH, PNR10_PLUS, PNR10_SPACE, PNR12, PNR12_DASH, PNR12_SPACE, S_NPNR };

static const char *s_pnr(const s_person_t *p, int form)
{
    static char bufs[16][24];
    static int next;
    char *b = bufs[next++ % 16];
    const char *t = p->pnr12 + 2; /* YYMMDDNNNC */
    switch (form) {
    case PNR10: snprintf(b, 24, "%s", t); break;
    case PNR10_DASH: snprintf(b, 24, "%.6s-%s", t, t + 6); break;
    case PNR10_PLUS: snprintf(b, 24, "%.6s+%s", t, t + 6); break;
    case PNR10_SPACE: snprintf(b, 24, "%.6s %s", t, t + 6); break;
    case PNR12: snprintf(b, 24, "%s", p->pnr12); break;
    case PNR12_DASH: snprintf(b, 24, "%.8s-%s", p->pnr12, p->pnr12 + 8); break;
    case PNR12_SPACE: snprintf(b, 24, "%.8s %s", p->pnr12, p->pnr12 + 8); break;
    }
    return b;
}

/* The forms that mean this person in the personnummer column: a
 * centenarian's 10 digits need '+' (otherwise they read as a child). */
static bool s_pnr_valid_form(const s_person_t *p, int form)
{
    bool ten = form == PNR10 || form == PNR10_DASH || form == PNR10_SPACE;
    return p->centenarian ? form != PNR10_DASH && !ten : form != PNR10_PLUS;
}

enum { TEL_DASHED, TEL_PLAIN, TEL_INTL, TEL_INTL_PLAIN, TEL_SPACED, S_NTEL };

static const char *s_tel(const s_person_t *p, int form)
{
    static char bufs[16][24];
    static int next;
    char *b = bufs[next++ % 16];
    const char *m = p->mobile;
    switch (form) {
    case TEL_DASHED: snprintf(b, 24, "%.3s-%.3s %.2s %.2s", m, m + 3, m + 6, m + 8); break;
    case TEL_PLAIN: snprintf(b, 24, "%s", m); break;
    case TEL_INTL: snprintf(b, 24, "+46 %.2s %.3s %.2s %.2s", m + 1, m + 3, m + 6, m + 8); break;
    case TEL_INTL_PLAIN: snprintf(b, 24, "+46%s", m + 1); break;
    case TEL_SPACED: snprintf(b, 24, "%.3s %.3s %.2s %.2s", m, m + 3, m + 6, m + 8); break;
    }
    return b;
}

#define S_MAX_NEEDLES 32

static int s_needles(const s_person_t *p, char out[][64])
{
    int n = 0;
    for (int f = 0; f < S_NPNR; f++)
        snprintf(out[n++], 64, "%s", s_pnr(p, f));
    for (int f = 0; f < S_NTEL; f++)
        snprintf(out[n++], 64, "%s", s_tel(p, f));
    snprintf(out[n++], 64, "%s", p->mobile + 1); /* 701234567: inside any spelling */
    snprintf(out[n++], 64, "%s", p->first);
    snprintf(out[n++], 64, "%s", p->last);
    snprintf(out[n++], 64, "%s", p->email);
    snprintf(out[n++], 64, "%.6s", p->pnr12 + 2); /* YYMMDD: birth date as in "LQ-850312" */
    return n;
}

/* ---- running the agent ------------------------------------------------- */

static void s_out_add(const char *text, size_t len)
{
    if (s_outlen + len + 1 > s_outcap) {
        s_outcap = 2 * (s_outlen + len + 1);
        CHECK((s_out = realloc(s_out, s_outcap)) != NULL);
    }
    memcpy(s_out + s_outlen, text, len);
    s_outlen += len;
    s_out[s_outlen] = '\0';
}

/* Runs the agent; its output is kept for the scan, with every occurrence
 * of `typed` (a path given on the command line) cut out. */
static int s_agent_typed(const char *typed, const char *const *args, char **out)
{
    char *argv[24] = {(char *) tu_bin("finsam-agent"), "-c", s_cfg, "-d", s_data, "--log-level", "debug"};
    int n = 7;
    for (; *args && n < 22; args++)
        argv[n++] = (char *) *args;
    argv[n] = NULL;
    char log[300];
    snprintf(log, sizeof log, "%s/cli.log", s_root); /* not scanned raw: see s_scan */
    unlink(log);
    int rc = tu_run(argv, log, 60000);
    char *text = tu_read_file(log);
    CHECK(text);
    unlink(log);
    char *p = text;
    for (char *hit; typed && (hit = strstr(p, typed)); p = hit + strlen(typed))
        s_out_add(p, (size_t) (hit - p));
    s_out_add(p, strlen(p));
    if (out)
        *out = text;
    else
        free(text);
    return rc;
}

static int s_agent(const char *const *args)
{
    return s_agent_typed(NULL, args, NULL);
}

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

static bool s_dir_empty(void *path)
{
    DIR *d = opendir(path);
    if (!d)
        return false;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
    closedir(d);
    return n == 0;
}

static void s_wait(bool (*pred)(void *), const char *path, const char *log)
{
    if (!tu_wait_for(pred, (void *) path, 30000)) {
        char *text = tu_read_file(log);
        fprintf(stderr, "timed out waiting for %s\n--- agent ---\n%s\n", path, text ? text : "");
        free(text);
        CHECK(!"timed out");
    }
}

static pid_t s_start_spool(const char *log)
{
    char *argv[] = {(char *) tu_bin("finsam-agent"),
                    "-c",
                    s_cfg,
                    "-d",
                    s_data,
                    "--log-level",
                    "debug",
                    "--collector",
                    s_endpoint,
                    "--mapping",
                    s_map,
                    "--spool",
                    s_spool,
                    "run",
                    NULL};
    return tu_spawn(argv, log);
}

/* Drops text into the spool as a staff member should: under a dot name,
 * then renamed, then waits for its report. */
static void s_drop(const char *name, const char *text, long no, const char *outcome, const char *log)
{
    char tmp[512], final[512], report[512];
    snprintf(tmp, sizeof tmp, "%s/.incoming", s_spool);
    snprintf(final, sizeof final, "%s/%s", s_spool, name);
    CHECK_EQ(tu_write_file(tmp, text), 0);
    CHECK_EQ(rename(tmp, final), 0);
    snprintf(report, sizeof report, "%s/reports/%06ld-%s.txt", s_spool, no, outcome);
    s_wait(s_exists, report, log);
}

/* ---- the exports --------------------------------------------------------- */

static const char *s_csv_header =
    "Personnummer;Namn;Adress;Telefon;Mobil;E-post;Datum;Insats;Arbetsform;Behov;"
    "Kommentar\n";

/* A good CSV export: identifiers in every unmapped column and in free
 * text, the personnummer in every valid spelling, declared insats codes
 * (one through [labels.insats]). `month` keeps two exports' events apart. */
static size_t s_good_csv(char *buf, size_t cap, int month)
{
    static const char *insats[] = {"steg1", "ips", "Steg 1"};
    static const char *mode[] = {"Projekt", "", "Projekt"};
    size_t n = (size_t) snprintf(buf, cap, "%s", s_csv_header);
    int row = 0;
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        for (int f = 0; f < S_NPNR; f++) {
            if (!s_pnr_valid_form(p, f))
                continue;
            int k = row++ % 3;
            n += (size_t) snprintf(buf + n, cap - n,
                                   "%s;%s %s;Storgatan %d;%s;%s;%s;2026-%02d-%02d;%s;%s;%d;"
                                   "\"Ring %s eller %s; %s %s, pnr %s\nhar %s\"\n",
                                   s_pnr(p, f), p->first, p->last, 10 + f, s_tel(p, f % S_NTEL),
                                   s_tel(p, (f + 2) % S_NTEL), p->email, month, 1 + row, insats[k], mode[k],
                                   1 + row % 5, s_tel(p, (f + 1) % S_NTEL), p->email, p->first, p->last,
                                   s_pnr(p, (f + 3) % S_NPNR), s_tel(p, (f + 4) % S_NTEL));
        }
    }
    CHECK(n < cap);
    return (size_t) row;
}

/* A CSV export whose insats column (and once an answer column) holds
 * identifiers: every row must be refused. */
static size_t s_bad_csv(char *buf, size_t cap)
{
    size_t n = (size_t) snprintf(buf, cap, "%s", s_csv_header), rows = 0;
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        char cells[32][80];
        int nc = 0;
        snprintf(cells[nc++], 80, "%s %s", p->first, p->last);
        snprintf(cells[nc++], 80, "%s%s", p->first, p->last);
        snprintf(cells[nc++], 80, "%.1s%.1s-%.6s", p->first, p->last, p->pnr12 + 2);
        snprintf(cells[nc++], 80, "%s", p->email);
        for (int f = 0; f < S_NPNR; f++)
            snprintf(cells[nc++], 80, "%s", s_pnr(p, f));
        for (int f = 0; f < S_NTEL; f++)
            snprintf(cells[nc++], 80, "%s", s_tel(p, f));
        for (int c = 0; c < nc; c++, rows++)
            n += (size_t) snprintf(buf + n, cap - n, "%s;%s %s;;;;;2026-02-%02d;%s;Projekt;%s;\n",
                                   s_pnr(p, s_pnr_valid_form(p, PNR12) ? PNR12 : PNR12_DASH), p->first,
                                   p->last, 1 + c, cells[c], c == nc - 1 ? s_tel(p, TEL_INTL) : "4");
    }
    CHECK(n < cap);
    return rows;
}

/* A good JSONL export: identifiers in every field the format does not
 * know; insats declared ("ips" gives the mode). */
static size_t s_good_jsonl(char *buf, size_t cap, int month)
{
    size_t n = 0, rows = 0;
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        for (int f = 0; f < S_NPNR; f++) {
            if (!s_pnr_valid_form(p, f) || f == PNR10_SPACE || f == PNR12_SPACE)
                continue; /* JSONL takes the personnummer as written: no spaces */
            rows++;
            n += (size_t) snprintf(
                buf + n, cap - n,
                "{\"kind\":\"%s\",\"personnummer\":\"%s\",\"date\":\"2026-%02d-%02d\",%s"
                "\"insats\":\"%s\",\"namn\":\"%s %s\",\"email\":\"%s\",\"telefon\":\"%s\",\"mobil\":\"%s\","
                "\"kommentar\":\"ring %s, pnr %s, %s\",\"adress\":\"Storgatan 1\"}\n",
                f % 2 ? "status" : "participant_survey", s_pnr(p, f), month, 1 + (int) rows,
                f % 2
                    ? "\"phase\":\"entry\",\"occupation\":\"none\",\"income\":\"social_assistance\","
                    : "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":4},",
                f % 2 ? "ips" : "steg1", p->first, p->last, p->email, s_tel(p, f % S_NTEL),
                s_tel(p, (f + 1) % S_NTEL), s_tel(p, (f + 2) % S_NTEL), s_pnr(p, (f + 3) % S_NPNR), p->first);
        }
    }
    CHECK(n < cap);
    return rows;
}

/* JSONL with identifiers as the insats: every row refused. */
static size_t s_bad_jsonl(char *buf, size_t cap)
{
    size_t n = 0, rows = 0;
    for (int i = 0; i < S_NPEOPLE; i++) {
        const s_person_t *p = &s_people[i];
        char vals[32][80];
        int nv = 0;
        snprintf(vals[nv++], 80, "%s %s", p->first, p->last);
        snprintf(vals[nv++], 80, "%s%s", p->first, p->last);
        snprintf(vals[nv++], 80, "%.1s%.1s-%.6s", p->first, p->last, p->pnr12 + 2);
        snprintf(vals[nv++], 80, "%s", p->email);
        for (int f = 0; f < S_NPNR; f++)
            snprintf(vals[nv++], 80, "%s", s_pnr(p, f));
        for (int f = 0; f < S_NTEL; f++)
            snprintf(vals[nv++], 80, "%s", s_tel(p, f));
        for (int v = 0; v < nv; v++, rows++)
            n += (size_t) snprintf(
                buf + n, cap - n,
                "{\"kind\":\"participant_survey\",\"personnummer\":\"%s\",\"date\":\"2026-02-%02d\","
                "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"insats\":\"%s\","
                "\"answers\":{\"d_behov\":2}}\n",
                p->pnr12, 1 + v, vals[v]);
    }
    CHECK(n < cap);
    return rows;
}

/* ---- the scan ------------------------------------------------------------ */

typedef struct {
    char (*needles)[64];
    int n;
    bool quiet; /* a control: hits are expected, count them silently */
    int hits;
    int found[S_NPEOPLE * S_MAX_NEEDLES]; /* hits per needle */
    size_t files, bytes;
} s_scan_t;

static void s_check(s_scan_t *sc, const char *where, const char *hay, size_t len)
{
    for (int k = 0; k < sc->n; k++)
        if (memmem(hay, len, sc->needles[k], strlen(sc->needles[k]))) {
            if (!sc->quiet)
                fprintf(stderr, "LEAK: \"%s\" in %s\n", sc->needles[k], where);
            sc->hits++;
            sc->found[k]++;
        }
}

static void s_scan_tree(s_scan_t *sc, const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        s_check(sc, path, e->d_name, strlen(e->d_name)); /* the name itself */
        struct stat st;
        CHECK(lstat(path, &st) == 0);
        if (S_ISDIR(st.st_mode)) {
            s_scan_tree(sc, path);
            continue;
        }
        CHECK(S_ISREG(st.st_mode));
        int fd = open(path, O_RDONLY);
        CHECK(fd >= 0);
        char *buf = malloc((size_t) st.st_size + 1);
        CHECK(buf);
        size_t got = 0;
        while (got < (size_t) st.st_size) {
            ssize_t r = read(fd, buf + got, (size_t) st.st_size - got);
            CHECK(r > 0);
            got += (size_t) r;
        }
        close(fd);
        s_check(sc, path, buf, got);
        sc->files++;
        sc->bytes += got;
        free(buf);
    }
    closedir(d);
}

/* ---- the test ------------------------------------------------------------ */

static void test_nothing_identifying_leaves_the_importer(void)
{
    static char text[1 << 16];
    char path[512], typed[512], log[300], err[256];
    for (int i = 0; i < S_NPEOPLE; i++)
        s_luhn(&s_people[i]);
    const s_person_t *p0 = &s_people[0], *p1 = &s_people[1];

    CHECK_EQ(s_agent((const char *[]){"keygen", "--forbund", "NV", NULL}), 0);
    snprintf(path, sizeof path, "%s/keys/collector.key", s_data);
    CHECK_EQ(keys_generate(path, "collector", NULL, err, sizeof err), 0);

    /* 1. Typed imports, from files named after a person. */
    size_t rows = s_good_csv(text, sizeof text, 1);
    snprintf(typed, sizeof typed, "%s/export %s %s %s.csv", s_src, s_pnr(p0, PNR10_DASH), p0->first,
             p0->last);
    CHECK_EQ(tu_write_file(typed, text), 0);
    char *out;
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, "--mapping", s_map, NULL}, &out), 0);
    char want[256];
    snprintf(want, sizeof want, "rows=%zu accepted=%zu already_imported=0", rows, rows);
    CHECK(strstr(out, want) && strstr(out, "rejected=0"));
    free(out);

    rows = s_bad_csv(text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s_%s.csv", s_src, s_pnr(p1, PNR12), p1->last);
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, "--mapping", s_map, NULL}, &out), 65);
    snprintf(want, sizeof want, "rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu", rows,
             rows);
    CHECK(strstr(out, want));
    CHECK(strstr(out, ":2: column 8 \"Insats\": value not shown (it may be personal data): not in the "
                      "declared list [insatser] of agent.ini"));
    CHECK(strstr(out, ":6: column 8 \"Insats\": looks like a personnummer, phone number or e-mail"));
    free(out);

    rows = s_good_jsonl(text, sizeof text, 2);
    snprintf(typed, sizeof typed, "%s/%s %s.jsonl", s_src, p1->first, s_pnr(p1, PNR10));
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, NULL}, &out), 0);
    snprintf(want, sizeof want, "rows=%zu accepted=%zu", rows, rows);
    CHECK(strstr(out, want) && strstr(out, "rejected=0"));
    free(out);

    rows = s_bad_jsonl(text, sizeof text);
    snprintf(typed, sizeof typed, "%s/%s.jsonl", s_src, p0->email);
    CHECK_EQ(tu_write_file(typed, text), 0);
    CHECK_EQ(s_agent_typed(typed, (const char *[]){"import", typed, NULL}, &out), 65);
    snprintf(want, sizeof want, "rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu", rows,
             rows);
    CHECK(strstr(out, want));
    CHECK(strstr(out, ":1: insats: value not shown (it may be personal data)"));
    free(out);
    CHECK_EQ(s_agent((const char *[]){"status", NULL}), 0);

    /* 2. The same kinds of export dropped into the spool, named after people. */
    snprintf(log, sizeof log, "%s/run.log", s_logs);
    pid_t pid = s_start_spool(log);
    char name[256];
    size_t good_csv = s_good_csv(text, sizeof text, 3);
    snprintf(name, sizeof name, "%s %s %s.csv", s_pnr(p0, PNR12_DASH), p0->first, p0->last);
    s_drop(name, text, 1, "done", log);
    size_t bad_csv = s_bad_csv(text, sizeof text);
    snprintf(name, sizeof name, "%s%s-%s.csv", p1->first, p1->last, s_pnr(p1, PNR10_PLUS));
    s_drop(name, text, 2, "rejected", log);
    size_t good_jsonl = s_good_jsonl(text, sizeof text, 4);
    snprintf(name, sizeof name, "%s %s.jsonl", s_tel(p0, TEL_INTL), p0->email);
    s_drop(name, text, 3, "done", log);
    size_t bad_jsonl = s_bad_jsonl(text, sizeof text);
    snprintf(name, sizeof name, "%s.jsonl", s_pnr(&s_people[2], PNR12_SPACE));
    s_drop(name, text, 4, "rejected", log);
    tu_kill(pid, SIGTERM);

    snprintf(path, sizeof path, "%s/reports/000001-done.txt", s_spool);
    snprintf(want, sizeof want, "000001: rows=%zu accepted=%zu", good_csv, good_csv);
    CHECK(tu_file_has(path, want));
    snprintf(path, sizeof path, "%s/reports/000002-rejected.txt", s_spool);
    snprintf(want, sizeof want, "000002: rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu",
             bad_csv, bad_csv);
    CHECK(tu_file_has(path, want));
    CHECK(tu_file_has(path, "000002:2: column 8 \"Insats\": value not shown"));
    snprintf(path, sizeof path, "%s/reports/000003-done.txt", s_spool);
    snprintf(want, sizeof want, "000003: rows=%zu accepted=%zu", good_jsonl, good_jsonl);
    CHECK(tu_file_has(path, want));
    snprintf(path, sizeof path, "%s/reports/000004-rejected.txt", s_spool);
    snprintf(want, sizeof want, "000004: rows=%zu accepted=0 already_imported=0 corrected=0 rejected=%zu",
             bad_jsonl, bad_jsonl);
    CHECK(tu_file_has(path, want));
    /* Imported files are gone at once; refused ones wait for staff. */
    snprintf(path, sizeof path, "%s/done", s_spool);
    CHECK(s_dir_empty(path));
    snprintf(path, sizeof path, "%s/rejected", s_spool);
    CHECK(!s_dir_empty(path));

    /* 3. Two days later (rejected retention: 1 day) the agent starts and
     * purges them. */
    DIR *d = opendir(path);
    CHECK(d);
    struct dirent *e;
    int aged = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char f[1024];
        snprintf(f, sizeof f, "%s/%s", path, e->d_name);
        struct timespec t[2];
        clock_gettime(CLOCK_REALTIME, &t[0]);
        t[0].tv_sec -= 2 * 86400;
        t[1] = t[0];
        CHECK_EQ(utimensat(AT_FDCWD, f, t, 0), 0);
        aged++;
    }
    closedir(d);
    CHECK_EQ(aged, 2);
    pid = s_start_spool(log);
    s_wait(s_dir_empty, path, log);
    tu_kill(pid, SIGTERM);

    /* Every event of the four good exports is queued, nothing else. */
    CHECK_EQ(
        s_agent_typed(NULL, (const char *[]){"--spool", s_spool, "--format", "json", "status", NULL}, &out),
        0);
    snprintf(want, sizeof want, "\"queued\": %zu", 2 * (good_csv + good_jsonl));
    CHECK(strstr(out, want));
    CHECK(strstr(out, "\"rejected_files\": 0"));
    free(out);
    CHECK_EQ(s_agent((const char *[]){"--mapping", s_map, "--spool", s_spool, "--check-config", NULL}), 0);

    /* 4. The scan. The control first: every needle was written into the
     * exports (contents or names), so the scan looks for real spellings. */
    static char needles[S_NPEOPLE * S_MAX_NEEDLES][64];
    int nn = 0;
    for (int i = 0; i < S_NPEOPLE; i++)
        nn += s_needles(&s_people[i], needles + nn);
    static s_scan_t control, sc, codes;
    control = (s_scan_t){.needles = needles, .n = nn, .quiet = true};
    s_scan_tree(&control, s_src);
    for (int k = 0; k < nn; k++)
        if (!control.found[k])
            fprintf(stderr, "control: \"%s\" was never written\n", needles[k]);
    for (int k = 0; k < nn; k++)
        CHECK(control.found[k] > 0);

    sc = (s_scan_t){.needles = needles, .n = nn};
    s_scan_tree(&sc, s_data);
    s_scan_tree(&sc, s_spool);
    s_scan_tree(&sc, s_logs);
    s_check(&sc, "the commands' output", s_out, s_outlen);
    fprintf(stderr, "scanned %zu files (%zu bytes) and %zu bytes of output for %d needles: %d hits\n",
            sc.files, sc.bytes, s_outlen, nn, sc.hits);
    CHECK_EQ(sc.hits, 0);
    CHECK(sc.files >= 8); /* data.mdb, lock.mdb, keys, 4 reports, the log */
    /* The scan would see text: the outbox holds the codes that travel. */
    static char travel[2][64] = {"deltagare_avslut", "steg1"};
    codes = (s_scan_t){.needles = travel, .n = 2, .quiet = true};
    s_scan_tree(&codes, s_data);
    CHECK(codes.found[0] > 0 && codes.found[1] > 0);
}

int main(void)
{
    s_root = tu_tempdir();
    snprintf(s_data, sizeof s_data, "%s/data", s_root);
    snprintf(s_spool, sizeof s_spool, "%s/spool", s_root);
    snprintf(s_src, sizeof s_src, "%s/exports", s_root);
    snprintf(s_logs, sizeof s_logs, "%s/logs", s_root);
    snprintf(s_cfg, sizeof s_cfg, "%s/agent.ini", s_root);
    snprintf(s_map, sizeof s_map, "%s/enkat.ini", s_root);
    snprintf(s_endpoint, sizeof s_endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    char *mk[] = {"/bin/mkdir", "-p", s_spool, s_src, s_logs, NULL};
    CHECK_EQ(tu_run(mk, NULL, 10000), 0);
    CHECK_EQ(tu_write_file(s_cfg, "[spool]\nspool-retention-days = 0\nspool-rejected-retention-days = 1\n\n"
                                  "[insatser]\nsteg1 = project\nips = integrated\n"),
             0);
    CHECK_EQ(tu_write_file(s_map, "[values]\nkind = participant_survey\ninstrument = deltagare_avslut\n"
                                  "[columns]\npersonnummer = Personnummer\ndate = Datum\ninsats = Insats\n"
                                  "mode = Arbetsform\n"
                                  "[answers]\nd_behov = Behov\n"
                                  "[labels.insats]\nSteg 1 = steg1\n"
                                  "[labels.mode]\nProjekt = project\n"),
             0);
    RUN(test_nothing_identifying_leaves_the_importer);
    return tu_result();
}
