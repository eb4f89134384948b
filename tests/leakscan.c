/* leakscan.c: see leakscan.h. */
#include "leakscan.h"

#include "testutil.h"

#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static leakscan_person_t s_people[LEAKSCAN_NPEOPLE] = {
    {"19850312", "123", false, "Linnea", "Qvarnström", "linnea.qvarnstrom@example.se", "0701234567", ""},
    {"19900171", "456", false, "Åsa", "Öberg", "asa.oberg@kommun.example", "0739876543", ""}, /* samordn. */
    {"19200505", "789", true, "Jöns", "Ärlig", "jons@exempel.nu", "0768112233", ""},
};

/* ---- identifiers in every spelling ----------------------------------- */

static void s_luhn(leakscan_person_t *p)
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

const leakscan_person_t *leakscan_person(int i)
{
    CHECK(i >= 0 && i < LEAKSCAN_NPEOPLE);
    if (!s_people[i].pnr12[0])
        s_luhn(&s_people[i]);
    return &s_people[i];
}

const char *leakscan_pnr(const leakscan_person_t *p, int form)
{
    static char bufs[16][24];
    static int next;
    char *b = bufs[next++ % 16];
    const char *t = p->pnr12 + 2; /* YYMMDDNNNC */
    switch (form) {
    case LEAKSCAN_PNR10: snprintf(b, 24, "%s", t); break;
    case LEAKSCAN_PNR10_DASH: snprintf(b, 24, "%.6s-%s", t, t + 6); break;
    case LEAKSCAN_PNR10_PLUS: snprintf(b, 24, "%.6s+%s", t, t + 6); break;
    case LEAKSCAN_PNR10_SPACE: snprintf(b, 24, "%.6s %s", t, t + 6); break;
    case LEAKSCAN_PNR12: snprintf(b, 24, "%s", p->pnr12); break;
    case LEAKSCAN_PNR12_DASH: snprintf(b, 24, "%.8s-%s", p->pnr12, p->pnr12 + 8); break;
    case LEAKSCAN_PNR12_SPACE: snprintf(b, 24, "%.8s %s", p->pnr12, p->pnr12 + 8); break;
    default: CHECK(!"no such personnummer form");
    }
    return b;
}

bool leakscan_pnr_valid_form(const leakscan_person_t *p, int form)
{
    bool ten = form == LEAKSCAN_PNR10 || form == LEAKSCAN_PNR10_DASH || form == LEAKSCAN_PNR10_SPACE;
    return p->centenarian ? form != LEAKSCAN_PNR10_DASH && !ten : form != LEAKSCAN_PNR10_PLUS;
}

const char *leakscan_tel(const leakscan_person_t *p, int form)
{
    static char bufs[16][24];
    static int next;
    char *b = bufs[next++ % 16];
    const char *m = p->mobile;
    switch (form) {
    case LEAKSCAN_TEL_DASHED: snprintf(b, 24, "%.3s-%.3s %.2s %.2s", m, m + 3, m + 6, m + 8); break;
    case LEAKSCAN_TEL_PLAIN: snprintf(b, 24, "%s", m); break;
    case LEAKSCAN_TEL_INTL: snprintf(b, 24, "+46 %.2s %.3s %.2s %.2s", m + 1, m + 3, m + 6, m + 8); break;
    case LEAKSCAN_TEL_INTL_PLAIN: snprintf(b, 24, "+46%s", m + 1); break;
    case LEAKSCAN_TEL_SPACED: snprintf(b, 24, "%.3s %.3s %.2s %.2s", m, m + 3, m + 6, m + 8); break;
    default: CHECK(!"no such phone form");
    }
    return b;
}

/* ---- the exports --------------------------------------------------------- */

static const char *s_csv_header =
    "Personnummer;Namn;Adress;Telefon;Mobil;E-post;Datum;Insats;Arbetsform;Behov;"
    "Kommentar\n";

/* Identifiers in every unmapped column and in free text, the personnummer
 * in every valid spelling, declared insats codes (one through
 * [labels.insats]). */
static size_t s_good_csv(char *buf, size_t cap, int month)
{
    static const char *insats[] = {"steg1", "ips", "Steg 1"};
    static const char *mode[] = {"Projekt", "", "Projekt"};
    size_t n = (size_t) snprintf(buf, cap, "%s", s_csv_header);
    int row = 0;
    for (int i = 0; i < LEAKSCAN_NPEOPLE; i++) {
        const leakscan_person_t *p = leakscan_person(i);
        for (int f = 0; f < LEAKSCAN_NPNR; f++) {
            if (!leakscan_pnr_valid_form(p, f))
                continue;
            int k = row++ % 3;
            n += (size_t) snprintf(
                buf + n, cap - n,
                "%s;%s %s;Storgatan %d;%s;%s;%s;2026-%02d-%02d;%s;%s;%d;"
                "\"Ring %s eller %s; %s %s, pnr %s\nhar %s\"\n",
                leakscan_pnr(p, f), p->first, p->last, 10 + f, leakscan_tel(p, f % LEAKSCAN_NTEL),
                leakscan_tel(p, (f + 2) % LEAKSCAN_NTEL), p->email, month, 1 + row, insats[k], mode[k],
                1 + row % 5, leakscan_tel(p, (f + 1) % LEAKSCAN_NTEL), p->email, p->first, p->last,
                leakscan_pnr(p, (f + 3) % LEAKSCAN_NPNR), leakscan_tel(p, (f + 4) % LEAKSCAN_NTEL));
        }
    }
    CHECK(n < cap);
    return (size_t) row;
}

/* The insats column (and once an answer column) holds identifiers. */
static size_t s_bad_csv(char *buf, size_t cap)
{
    size_t n = (size_t) snprintf(buf, cap, "%s", s_csv_header), rows = 0;
    for (int i = 0; i < LEAKSCAN_NPEOPLE; i++) {
        const leakscan_person_t *p = leakscan_person(i);
        char cells[32][80];
        int nc = 0;
        snprintf(cells[nc++], 80, "%s %s", p->first, p->last);
        snprintf(cells[nc++], 80, "%s%s", p->first, p->last);
        snprintf(cells[nc++], 80, "%.1s%.1s-%.6s", p->first, p->last, p->pnr12 + 2);
        snprintf(cells[nc++], 80, "%s", p->email);
        for (int f = 0; f < LEAKSCAN_NPNR; f++)
            snprintf(cells[nc++], 80, "%s", leakscan_pnr(p, f));
        for (int f = 0; f < LEAKSCAN_NTEL; f++)
            snprintf(cells[nc++], 80, "%s", leakscan_tel(p, f));
        for (int c = 0; c < nc; c++, rows++)
            n += (size_t) snprintf(
                buf + n, cap - n, "%s;%s %s;;;;;2026-02-%02d;%s;Projekt;%s;\n",
                leakscan_pnr(p, leakscan_pnr_valid_form(p, LEAKSCAN_PNR12) ? LEAKSCAN_PNR12
                                                                           : LEAKSCAN_PNR12_DASH),
                p->first, p->last, 1 + c, cells[c], c == nc - 1 ? leakscan_tel(p, LEAKSCAN_TEL_INTL) : "4");
    }
    CHECK(n < cap);
    return rows;
}

/* Identifiers in every field the format does not know; insats declared
 * ("ips" gives the mode). */
static size_t s_good_jsonl(char *buf, size_t cap, int month)
{
    size_t n = 0, rows = 0;
    for (int i = 0; i < LEAKSCAN_NPEOPLE; i++) {
        const leakscan_person_t *p = leakscan_person(i);
        for (int f = 0; f < LEAKSCAN_NPNR; f++) {
            if (!leakscan_pnr_valid_form(p, f) || f == LEAKSCAN_PNR10_SPACE || f == LEAKSCAN_PNR12_SPACE)
                continue; /* JSONL takes the personnummer as written: no spaces */
            rows++;
            n += (size_t) snprintf(
                buf + n, cap - n,
                "{\"kind\":\"%s\",\"personnummer\":\"%s\",\"date\":\"2026-%02d-%02d\",%s"
                "\"insats\":\"%s\",\"namn\":\"%s %s\",\"email\":\"%s\",\"telefon\":\"%s\",\"mobil\":\"%s\","
                "\"kommentar\":\"ring %s, pnr %s, %s\",\"adress\":\"Storgatan 1\"}\n",
                f % 2 ? "status" : "participant_survey", leakscan_pnr(p, f), month, 1 + (int) rows,
                f % 2
                    ? "\"phase\":\"entry\",\"occupation\":\"none\",\"income\":\"social_assistance\","
                    : "\"instrument\":\"deltagare_avslut\",\"mode\":\"project\",\"answers\":{\"d_behov\":4},",
                f % 2 ? "ips" : "steg1", p->first, p->last, p->email, leakscan_tel(p, f % LEAKSCAN_NTEL),
                leakscan_tel(p, (f + 1) % LEAKSCAN_NTEL), leakscan_tel(p, (f + 2) % LEAKSCAN_NTEL),
                leakscan_pnr(p, (f + 3) % LEAKSCAN_NPNR), p->first);
        }
    }
    CHECK(n < cap);
    return rows;
}

/* Identifiers as the insats. */
static size_t s_bad_jsonl(char *buf, size_t cap)
{
    size_t n = 0, rows = 0;
    for (int i = 0; i < LEAKSCAN_NPEOPLE; i++) {
        const leakscan_person_t *p = leakscan_person(i);
        char vals[32][80];
        int nv = 0;
        snprintf(vals[nv++], 80, "%s %s", p->first, p->last);
        snprintf(vals[nv++], 80, "%s%s", p->first, p->last);
        snprintf(vals[nv++], 80, "%.1s%.1s-%.6s", p->first, p->last, p->pnr12 + 2);
        snprintf(vals[nv++], 80, "%s", p->email);
        for (int f = 0; f < LEAKSCAN_NPNR; f++)
            snprintf(vals[nv++], 80, "%s", leakscan_pnr(p, f));
        for (int f = 0; f < LEAKSCAN_NTEL; f++)
            snprintf(vals[nv++], 80, "%s", leakscan_tel(p, f));
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

size_t leakscan_export(leakscan_export_t kind, int month, char *buf, size_t cap)
{
    switch (kind) {
    case LEAKSCAN_GOOD_CSV: return s_good_csv(buf, cap, month);
    case LEAKSCAN_BAD_CSV: return s_bad_csv(buf, cap);
    case LEAKSCAN_GOOD_JSONL: return s_good_jsonl(buf, cap, month);
    case LEAKSCAN_BAD_JSONL: return s_bad_jsonl(buf, cap);
    default: CHECK(!"no such export"); return 0;
    }
}

const char *leakscan_export_name(leakscan_export_t kind, bool spool)
{
    static char bufs[8][256];
    static int next;
    char *b = bufs[next++ % 8];
    const leakscan_person_t *p0 = leakscan_person(0), *p1 = leakscan_person(1), *p2 = leakscan_person(2);
    switch (kind * 2 + spool) {
    case LEAKSCAN_GOOD_CSV * 2:
        snprintf(b, 256, "export %s %s %s.csv", leakscan_pnr(p0, LEAKSCAN_PNR10_DASH), p0->first, p0->last);
        break;
    case LEAKSCAN_GOOD_CSV * 2 + 1:
        snprintf(b, 256, "%s %s %s.csv", leakscan_pnr(p0, LEAKSCAN_PNR12_DASH), p0->first, p0->last);
        break;
    case LEAKSCAN_BAD_CSV * 2:
        snprintf(b, 256, "%s_%s.csv", leakscan_pnr(p1, LEAKSCAN_PNR12), p1->last);
        break;
    case LEAKSCAN_BAD_CSV * 2 + 1:
        snprintf(b, 256, "%s%s-%s.csv", p1->first, p1->last, leakscan_pnr(p1, LEAKSCAN_PNR10_PLUS));
        break;
    case LEAKSCAN_GOOD_JSONL * 2:
        snprintf(b, 256, "%s %s.jsonl", p1->first, leakscan_pnr(p1, LEAKSCAN_PNR10));
        break;
    case LEAKSCAN_GOOD_JSONL * 2 + 1:
        snprintf(b, 256, "%s %s.jsonl", leakscan_tel(p0, LEAKSCAN_TEL_INTL), p0->email);
        break;
    case LEAKSCAN_BAD_JSONL * 2: snprintf(b, 256, "%s.jsonl", p0->email); break;
    case LEAKSCAN_BAD_JSONL * 2 + 1:
        snprintf(b, 256, "%s.jsonl", leakscan_pnr(p2, LEAKSCAN_PNR12_SPACE));
        break;
    default: CHECK(!"no such export");
    }
    return b;
}

/* ---- the scan ------------------------------------------------------------ */

static void s_add(leakscan_t *sc, const char *needle)
{
    CHECK(sc->n < LEAKSCAN_MAX_NEEDLES && strlen(needle) > 0 && strlen(needle) < sizeof sc->needles[0]);
    snprintf(sc->needles[sc->n++], sizeof sc->needles[0], "%s", needle);
}

void leakscan_init(leakscan_t *sc, bool quiet)
{
    memset(sc, 0, sizeof *sc);
    sc->quiet = quiet;
    for (int i = 0; i < LEAKSCAN_NPEOPLE; i++) {
        const leakscan_person_t *p = leakscan_person(i);
        for (int f = 0; f < LEAKSCAN_NPNR; f++)
            s_add(sc, leakscan_pnr(p, f));
        for (int f = 0; f < LEAKSCAN_NTEL; f++)
            s_add(sc, leakscan_tel(p, f));
        s_add(sc, p->mobile + 1); /* 701234567 */
        s_add(sc, p->first);
        s_add(sc, p->last);
        s_add(sc, p->email);
        char birth[8];
        snprintf(birth, sizeof birth, "%.6s", p->pnr12 + 2); /* YYMMDD: birth date as in "LQ-850312" */
        s_add(sc, birth);
    }
}

void leakscan_init_with(leakscan_t *sc, bool quiet, const char *const *needles)
{
    memset(sc, 0, sizeof *sc);
    sc->quiet = quiet;
    for (; *needles; needles++)
        s_add(sc, *needles);
}

/* Prints the bytes around a hit, non-printable ones as '.', so that a
 * report tells a leak from a number that merely looks like one. */
static void s_report(const char *needle, const char *where, const char *hay, size_t len, const char *hit)
{
    size_t at = (size_t) (hit - hay), from = at > 40 ? at - 40 : 0;
    size_t to = at + strlen(needle) + 40 < len ? at + strlen(needle) + 40 : len;
    fprintf(stderr, "LEAK: \"%s\" in %s at byte %zu: \"", needle, where, at);
    for (size_t i = from; i < to; i++)
        fputc((unsigned char) hay[i] >= 0x20 && hay[i] != 0x7f ? hay[i] : '.', stderr);
    fputs("\"\n", stderr);
}

static bool s_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool s_alnum(char c)
{
    return s_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Whether the all-digit needle at hay[at, at + n) reads as that number
 * rather than as digits of another value (leakscan.h). */
static bool s_is_token(const char *hay, size_t len, size_t at, size_t n)
{
    size_t run = at; /* where the run of digits holding it starts */
    while (run > 0 && s_digit(hay[run - 1]))
        run--;
    if (run >= 2 && hay[run - 1] == '.' && s_digit(hay[run - 2]))
        return false; /* the fraction of a decimal number: 3.4585031205567462 */
    if (n >= 9)
        return true;
    /* A birth date stands alone, or after its century. */
    if (at + n < len && s_alnum(hay[at + n]))
        return false;
    size_t before = at;
    if (before >= 2 && (!memcmp(hay + before - 2, "19", 2) || !memcmp(hay + before - 2, "20", 2)))
        before -= 2;
    return before == 0 || !s_alnum(hay[before - 1]);
}

static void s_scan(leakscan_t *sc, const char *where, const char *hay, size_t len)
{
    for (int k = 0; k < sc->n; k++) {
        const char *needle = sc->needles[k], *hit;
        size_t n = strlen(needle);
        bool digits = strspn(needle, "0123456789") == n;
        for (const char *p = hay; (hit = memmem(p, len - (size_t) (p - hay), needle, n)); p = hit + 1) {
            if (!digits || s_is_token(hay, len, (size_t) (hit - hay), n))
                break;
            sc->in_numbers++;
        }
        if (!hit)
            continue;
        if (!sc->quiet)
            s_report(needle, where, hay, len, hit);
        sc->hits++;
        sc->found[k]++;
    }
}

void leakscan_buffer(leakscan_t *sc, const char *where, const void *hay, size_t len)
{
    s_scan(sc, where, hay, len);
    sc->buffers++;
    sc->buffer_bytes += len;
}

void leakscan_file(leakscan_t *sc, const char *path)
{
    int fd = open(path, O_RDONLY);
    CHECK(fd >= 0);
    struct stat st;
    CHECK(fstat(fd, &st) == 0 && S_ISREG(st.st_mode));
    char *buf = malloc((size_t) st.st_size + 1);
    CHECK(buf);
    size_t got = 0;
    while (got < (size_t) st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t) st.st_size - got);
        CHECK(r > 0);
        got += (size_t) r;
    }
    close(fd);
    s_scan(sc, path, buf, got);
    sc->files++;
    sc->file_bytes += got;
    free(buf);
}

void leakscan_tree(leakscan_t *sc, const char *dir)
{
    DIR *d = opendir(dir);
    CHECK(d);
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        s_scan(sc, path, e->d_name, strlen(e->d_name)); /* the name itself */
        struct stat st;
        CHECK(lstat(path, &st) == 0);
        if (S_ISDIR(st.st_mode))
            leakscan_tree(sc, path);
        else
            leakscan_file(sc, path); /* fails on anything but a regular file */
    }
    closedir(d);
}
