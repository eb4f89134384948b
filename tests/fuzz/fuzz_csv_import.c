/* fuzz_csv_import.c: a CSV export as `finsam-agent import FILE.csv
 * --mapping MAP.ini` reads it: csvimport_file (encoding detection and
 * Windows-1252 decoding, separator detection, libcsv with strict quoting,
 * header binding, mapping_row: labels, numbers, dates, identifier checks)
 * and import_row for every record, then import_finish as a dry run.
 *
 * Two modes, chosen by the input:
 *  - no 0x01 byte: the whole input is the CSV file, read with the shipped
 *    mapping agents/examples/enkat-avslut.ini;
 *  - otherwise the bytes before the first 0x01 are the mapping's INI text
 *    (mapping_load: inih, sections, labels, required_items, catalogue
 *    checks) and the bytes after it the CSV file.
 *
 * csvimport_file reads files by path, so both parts go to a temporary
 * directory on /dev/shm (removed at exit). The outbox is a real one opened
 * once per process, used only in dry-run mode (outbox_put decides in a
 * write transaction and aborts it): nothing is ever stored, so inputs do
 * not influence each other. Fixed förbund NV, site key and declared insats
 * codes (those of agents/examples/enkat-avslut.csv); the import's clock is
 * the wall clock (csvimport_file reads it itself). */
#include "anonymize.h"
#include "catalogue.h"
#include "csvimport.h"
#include "log.h"
#include "mapping.h"
#include "outbox.h"

#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef FUZZ_MAPPING
#error FUZZ_MAPPING (the path of agents/examples/enkat-avslut.ini) must be defined
#endif

static char s_dir[64], s_csv[96], s_ini[96];
static catalogue_t *s_cat;
static anon_t *s_anon;
static outbox_t *s_outbox;
static insatser_t *s_insatser;
static FILE *s_null;

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(path);
}

static void s_cleanup(void)
{
    outbox_close(&s_outbox);
    insatser_destroy(&s_insatser);
    anon_destroy(&s_anon);
    catalogue_destroy(&s_cat);
    if (s_null)
        fclose(s_null);
    if (s_dir[0])
        nftw(s_dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

static void s_write(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0)
        abort();
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256], path[128];
    uint8_t key[ANON_KEY_LEN];
    log_set_level("error"); /* IMPORT-DONE per input would drown the fuzzer */
    for (int i = 0; i < ANON_KEY_LEN; i++)
        key[i] = (uint8_t) (0x5a ^ i);
    strcpy(s_dir, "/dev/shm/finsam-fuzz-csv-XXXXXX");
    if (!mkdtemp(s_dir)) {
        strcpy(s_dir, "/tmp/finsam-fuzz-csv-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
    }
    atexit(s_cleanup);
    snprintf(s_csv, sizeof s_csv, "%s/input.csv", s_dir);
    snprintf(s_ini, sizeof s_ini, "%s/mapping.ini", s_dir);
    snprintf(path, sizeof path, "%s/outbox", s_dir);
    if (catalogue_load(&s_cat, NULL, err, sizeof err) < 0 || !(s_anon = anon_new(key)) ||
        outbox_open(&s_outbox, path, NULL, 0) != 0 || !(s_null = fopen("/dev/null", "w")) ||
        !(s_insatser = insatser_new("fuzz.ini")) ||
        insatser_add(s_insatser, "steg1", "any", err, sizeof err) != FIN_OK ||
        insatser_add(s_insatser, "steg2", "project", err, sizeof err) != FIN_OK)
        abort();
    /* The shipped mapping must load, or every input would test nothing. */
    mapping_t *map;
    if (mapping_load(&map, FUZZ_MAPPING, s_cat, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "fuzz_csv_import: %s\n", err);
        abort();
    }
    mapping_destroy(&map);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *mapping_path = FUZZ_MAPPING;
    const uint8_t *sep = memchr(data, 0x01, size);
    if (sep) {
        s_write(s_ini, data, (size_t) (sep - data));
        mapping_path = s_ini;
        size -= (size_t) (sep - data) + 1;
        data = sep + 1;
    }
    char err[512];
    mapping_t *map;
    if (mapping_load(&map, mapping_path, s_cat, err, sizeof err) != FIN_OK) {
        if (!sep)
            abort(); /* the shipped mapping loaded at start */
        return 0;
    }
    s_write(s_csv, data, size);
    import_opts_t o = {.cat = s_cat,
                       .anon = s_anon,
                       .forbund = "NV",
                       .outbox = s_outbox,
                       .dry_run = true,
                       .report = s_null,
                       .errors = s_null,
                       .insatser = s_insatser};
    fin_err_t rc = csvimport_file(s_csv, map, &o, NULL, 0);
    if (rc != FIN_OK && rc != FIN_EINPUT)
        abort(); /* not the input's fault: a read, memory or outbox failure */
    mapping_destroy(&map);
    return 0;
}
