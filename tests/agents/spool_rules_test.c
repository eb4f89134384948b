/* spool_rules_test.c: [spool] rules (agents/import/spool.c through
 * spool.h): file-name patterns choose the mapping, first match wins,
 * --mapping is the default, a CSV file that matches nothing without a
 * default is refused with a report naming the rules; bad rule lines are
 * refused at start with their line. Real directories and a real outbox;
 * the last case runs `finsam-agent check-config` and `run --spool` as
 * processes. */
#include "testutil.h"

#include "anonymize.h"
#include "catalogue.h"
#include "keys.h"
#include "outbox.h"
#include "spool.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Two export layouts of one förbund: a survey tool (semicolons) and a
 * case system (commas, other headers). */
static const char s_map_enkat[] = "[values]\n"
                                  "kind = participant_survey\n"
                                  "instrument = deltagare_avslut\n"
                                  "mode = project\n"
                                  "[columns]\n"
                                  "personnummer = Personnummer\n"
                                  "date = Datum\n"
                                  "[answers]\n"
                                  "d_behov = Behov\n"
                                  "[labels.d_behov]\n" /* bare numbers: their meaning said */
                                  "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n";
static const char s_map_avslut[] = "[file]\n"
                                   "separator = comma\n"
                                   "[values]\n"
                                   "kind = participant_survey\n"
                                   "instrument = deltagare_avslut\n"
                                   "mode = integrated\n"
                                   "[columns]\n"
                                   "personnummer = PNR\n"
                                   "date = Svarsdatum\n"
                                   "[answers]\n"
                                   "d_behov = Fraga1\n"
                                   "[labels.d_behov]\n"
                                   "1 = 1\n2 = 2\n3 = 3\n4 = 4\n5 = 5\n";
static const char s_csv_enkat[] = "Personnummer;Datum;Behov\n19850312-1231;2026-03-14;4\n";
static const char s_csv_avslut[] = "PNR,Svarsdatum,Fraga1\n19701010-1231,2026-03-20,2\n";

typedef struct {
    char dir[300], spool[320], config[340], enkat[340], avslut[340];
    catalogue_t *cat;
    anon_t *anon;
    outbox_t *ob;
    import_opts_t base;
    spool_rules_t *rules;
    mapping_t *dflt;
    spool_t *sp;
} s_site_t;

/* A site whose agent.ini holds `rules` (a [spool] body; NULL: none). */
static void s_open(s_site_t *s, const char *rules, bool with_default)
{
    char err[1024], path[400];
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "%s", tu_tempdir());
    snprintf(s->spool, sizeof s->spool, "%s/spool", s->dir);
    snprintf(s->config, sizeof s->config, "%s/agent.ini", s->dir);
    snprintf(s->enkat, sizeof s->enkat, "%s/enkat.ini", s->dir);
    snprintf(s->avslut, sizeof s->avslut, "%s/avslut.ini", s->dir);
    CHECK(mkdir(s->spool, 0700) == 0);
    CHECK(tu_write_file(s->enkat, s_map_enkat) == 0);
    CHECK(tu_write_file(s->avslut, s_map_avslut) == 0);
    char ini[2048];
    snprintf(ini, sizeof ini, "[insatser]\nsteg1 = any\n%s%s",
             rules ? "[spool]\nspool-retention-days = 0\n" : "", rules ? rules : "");
    /* Rules name the mappings by the site's paths. */
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    for (const char *p = ini; *p; p++) {
        if (!strncmp(p, "ENKAT", 5)) {
            fputs(s->enkat, f);
            p += 4;
        } else if (!strncmp(p, "AVSLUT", 6)) {
            fputs(s->avslut, f);
            p += 5;
        } else {
            fputc(*p, f);
        }
    }
    fclose(f);
    CHECK(tu_write_file(s->config, text) == 0);
    free(text);
    snprintf(path, sizeof path, "%s/outbox", s->dir);
    CHECK(mkdir(path, 0700) == 0);
    CHECK(outbox_open(&s->ob, path, err, sizeof err) == FIN_OK);
    CHECK(catalogue_load(&s->cat, NULL, err, sizeof err) == 0);
    uint8_t key[ANON_KEY_LEN];
    memset(key, 0x42, sizeof key);
    s->anon = anon_new(key);
    s->base = (import_opts_t){.cat = s->cat, .anon = s->anon, .forbund = "NV", .outbox = s->ob};
    if (with_default)
        CHECK(mapping_load(&s->dflt, s->enkat, s->cat, err, sizeof err) == FIN_OK);
    spool_retention_t keep = {0, 7};
    CHECK(spool_new(&s->sp, s->spool, s->dflt, &s->base, &keep, err, sizeof err) == FIN_OK);
    if (rules) {
        CHECK_EQ(spool_rules_load(&s->rules, s->config, s->cat, err, sizeof err), FIN_OK);
        spool_set_rules(s->sp, s->rules);
    }
}

static void s_close(s_site_t *s)
{
    spool_destroy(&s->sp);
    spool_rules_destroy(&s->rules);
    CHECK(s->rules == NULL);
    mapping_destroy(&s->dflt);
    outbox_close(&s->ob);
    anon_destroy(&s->anon);
    catalogue_destroy(&s->cat);
}

static void s_drop(const s_site_t *s, const char *name, const char *text)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", s->spool, name);
    CHECK(tu_write_file(path, text) == 0);
}

static const char *s_report(const s_site_t *s, const char *name)
{
    static char path[600];
    snprintf(path, sizeof path, "%s/reports/%s", s->spool, name);
    return path;
}

static size_t s_queued(s_site_t *s)
{
    size_t q = 0;
    CHECK(outbox_count(s->ob, &q, NULL, NULL, NULL, 0) == FIN_OK);
    return q;
}

static const char s_two_rules[] = "rule = enkat-*.csv -> ENKAT\n"
                                  "rule = avslut-*.txt -> AVSLUT\n";

static void test_two_layouts(void)
{
    s_site_t s;
    s_open(&s, s_two_rules, false);
    CHECK_EQ(spool_rules_count(s.rules), 2);
    s_drop(&s, "enkat-mars.csv", s_csv_enkat);
    s_drop(&s, "avslut-mars.txt", s_csv_avslut);
    CHECK_EQ(spool_process(s.sp, "enkat-mars.csv"), FIN_OK);
    CHECK_EQ(spool_process(s.sp, "avslut-mars.txt"), FIN_OK);
    CHECK_EQ(s_queued(&s), 2);
    CHECK(tu_file_has(s_report(&s, "000001-done.txt"), "rows=1 accepted=1"));
    CHECK(tu_file_has(s_report(&s, "000002-done.txt"), "rows=1 accepted=1"));
    s_close(&s);
}

/* The first match wins, and patterns fold case ("ENKAT-X.CSV"). */
static void test_first_match_wins(void)
{
    s_site_t s;
    s_open(&s, "rule = *.csv -> AVSLUT\nrule = enkat-*.csv -> ENKAT\n", false);
    CHECK(spool_rules_match(s.rules, "ENKAT-X.CSV") == spool_rules_match(s.rules, "a.csv"));
    s_drop(&s, "enkat-x.csv", s_csv_enkat);
    /* The comma layout's mapping on a semicolon file: refused. */
    CHECK_EQ(spool_process(s.sp, "enkat-x.csv"), FIN_EINPUT);
    CHECK(spool_rules_match(s.rules, "other.jsonl") == NULL);
    s_close(&s);
}

static void test_default_mapping_for_the_rest(void)
{
    s_site_t s;
    s_open(&s, "rule = avslut-*.txt -> AVSLUT\n", true);
    s_drop(&s, "export.csv", s_csv_enkat);
    CHECK_EQ(spool_process(s.sp, "export.csv"), FIN_OK);
    CHECK_EQ(s_queued(&s), 1);
    s_close(&s);
}

static void test_no_match_no_default_refused(void)
{
    s_site_t s;
    s_open(&s, s_two_rules, false);
    s_drop(&s, "export.csv", s_csv_enkat);
    CHECK_EQ(spool_process(s.sp, "export.csv"), FIN_ECONFIG);
    CHECK_EQ(s_queued(&s), 0);
    char want[1400];
    snprintf(
        want, sizeof want,
        "000001: the file's name matches no [spool] rule (enkat-*.csv -> %s; avslut-*.txt -> %s) and the "
        "agent has no --mapping for other files: rename the file to match a rule, or add a rule for it\n",
        s.enkat, s.avslut);
    CHECK(tu_file_has(s_report(&s, "000001-rejected.txt"), want));
    /* JSONL needs no mapping: still imported. */
    s_drop(&s, "rows.jsonl",
           "{\"kind\":\"participant_survey\",\"instrument\":\"deltagare_avslut\",\"personnummer\":"
           "\"19850312-1231\",\"date\":\"2026-03-14\",\"mode\":\"project\",\"answers\":{\"d_behov\":5}}\n");
    CHECK_EQ(spool_process(s.sp, "rows.jsonl"), FIN_OK);
    s_close(&s);
}

static void test_bad_rules_refused(void)
{
    static const struct {
        const char *rules, *want;
    } cases[] = {
        {"rule = enkat-*.csv\n", ":3: a [spool] rule reads \"rule = FILE-PATTERN -> MAPPING.ini\""},
        {"rule = a*.csv -> /nonexistent/map.ini\n", ":3: rule a*.csv: "},
    };
    for (size_t i = 0; i < TU_NELEMS(cases); i++) {
        char dir[300], config[340], err[1024] = "", text[512];
        catalogue_t *cat = NULL;
        snprintf(dir, sizeof dir, "%s", tu_tempdir());
        snprintf(config, sizeof config, "%s/agent.ini", dir);
        snprintf(text, sizeof text, "[spool]\nspool-retention-days = 0\n%s", cases[i].rules);
        CHECK(tu_write_file(config, text) == 0);
        CHECK(catalogue_load(&cat, NULL, err, sizeof err) == 0);
        spool_rules_t *r = NULL;
        CHECK_EQ(spool_rules_load(&r, config, cat, err, sizeof err), FIN_ECONFIG);
        CHECK(r == NULL);
        fprintf(stderr, "%s\n", err);
        CHECK(strstr(err, cases[i].want) != NULL);
        catalogue_destroy(&cat);
    }
}

/* The agent itself accepts the [spool] section in its configuration. */
static void test_agent_accepts_spool_section(void)
{
    s_site_t s;
    s_open(&s, s_two_rules, false);
    char data[400];
    snprintf(data, sizeof data, "%s/data", s.dir);
    const char *keygen[] = {tu_bin("finsam-agent"), "-d", data, "--forbund", "NV", "keygen", NULL};
    CHECK_EQ(tu_run((char **) keygen, NULL, 30000), 0);
    const char *check[] = {tu_bin("finsam-agent"), "-d", data, "--config", s.config, "--spool", s.spool,
                           "check-config",         NULL};
    char log[400];
    snprintf(log, sizeof log, "%s/check.log", s.dir);
    /* 78 only for the collector's key, which this site has not got. */
    CHECK_EQ(tu_run((char **) check, log, 30000), 78);
    CHECK(tu_file_has(log, "ok    inställningar och inställningsfilen"));
    CHECK(tu_file_has(log, "FEL   insamlingsserverns publika nyckel"));
    CHECK(tu_file_has(log, "ok    [spool]-regler: 2, varje mappning går att läsa"));
    CHECK(tu_file_lacks(log, "unknown key"));
    s_close(&s);
}

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

/* `finsam-agent run --spool` as a process, no --mapping: the two layouts
 * of one förbund dropped in, each imported with its rule's mapping. */
static void test_agent_serves_two_layouts(void)
{
    s_site_t s;
    s_open(&s, s_two_rules, false);
    char data[400], key[500], log[400], endpoint[64], err[256];
    snprintf(data, sizeof data, "%s/data", s.dir);
    snprintf(key, sizeof key, "%s/keys/collector.key", data);
    snprintf(log, sizeof log, "%s/agent.log", s.dir);
    snprintf(endpoint, sizeof endpoint, "tcp://127.0.0.1:%d", tu_free_port());
    const char *keygen[] = {tu_bin("finsam-agent"), "-d", data, "--forbund", "NV", "keygen", NULL};
    CHECK_EQ(tu_run((char **) keygen, NULL, 30000), 0);
    /* The sender needs a collector certificate; nothing listens there. */
    CHECK_EQ(keys_generate(key, "collector", NULL, err, sizeof err), 0);
    /* Its secret half never leaves the collector (the agent refuses it). */
    snprintf(key, sizeof key, "%s/keys/collector.key_secret", data);
    CHECK(unlink(key) == 0);
    s_drop(&s, "enkat-april.csv", s_csv_enkat);
    s_drop(&s, "avslut-april.txt", s_csv_avslut);
    const char *run[] = {tu_bin("finsam-agent"),
                         "-c",
                         s.config,
                         "-d",
                         data,
                         "--collector",
                         endpoint,
                         "--spool",
                         s.spool,
                         "run",
                         NULL};
    pid_t pid = tu_spawn((char **) run, log);
    /* Names are imported in order: avslut-* first. */
    char *r1 = strdup(s_report(&s, "000001-done.txt")), *r2 = strdup(s_report(&s, "000002-done.txt"));
    CHECK(tu_wait_for(s_exists, r1, 20000));
    CHECK(tu_wait_for(s_exists, r2, 20000));
    CHECK(tu_file_has(r1, "rows=1 accepted=1"));
    CHECK(tu_file_has(r2, "rows=1 accepted=1"));
    CHECK(tu_file_has(log, "SPOOL-RULES rules=2 default_mapping=no"));
    tu_kill(pid, SIGTERM);
    free(r1);
    free(r2);
    s_close(&s);
}

static const test_case_t s_cases[] = {
    {"two layouts", test_two_layouts},
    {"first match wins", test_first_match_wins},
    {"default mapping for the rest", test_default_mapping_for_the_rest},
    {"no match no default refused", test_no_match_no_default_refused},
    {"bad rules refused", test_bad_rules_refused},
    {"agent accepts spool section", test_agent_accepts_spool_section},
    {"agent serves two layouts", test_agent_serves_two_layouts},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
