/* fuzz_import_jsonl.c: one line of a canonical JSONL import file, as
 * jsonl_import_file() handles it: the 64 KiB line limit, jansson with duplicate
 * keys refused, then import_row (field checks, personnummer, pseudonym,
 * event building and the collector's own decode + validate). The row only
 * reaches the import's pending set; no outbox is opened.
 *
 * Fixed förbund NV, a fixed site key, a fixed clock and fixed declared
 * insats codes (steg1 = any, ips = integrated: the corpus's), so findings
 * reproduce. */
#include "anonymize.h"
#include "catalogue.h"
#include "import.h"

#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>

#define NOW_S 1781524800     /* 2026-06-15 12:00 UTC */
#define MAX_LINE (64 * 1024) /* as jsonl.c (JSONL_MAX_LINE) */

static catalogue_t *s_cat;
static anon_t *s_anon;
static insatser_t *s_insatser;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char err[256];
    uint8_t key[ANON_KEY_LEN];
    for (int i = 0; i < ANON_KEY_LEN; i++)
        key[i] = (uint8_t) (0x5a ^ i);
    if (catalogue_load(&s_cat, NULL, err, sizeof err) < 0 || !(s_anon = anon_new(key)) ||
        !(s_insatser = insatser_new("fuzz.ini")) ||
        insatser_add(s_insatser, "steg1", "any", err, sizeof err) != FIN_OK ||
        insatser_add(s_insatser, "ips", "integrated", err, sizeof err) != FIN_OK)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
        size--;
    if (size > MAX_LINE)
        return 0;
    json_error_t jerr;
    json_t *row = json_loadb((const char *) data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!row)
        return 0;
    import_t *imp = import_new(s_cat, s_anon, "NV", NOW_S);
    if (!imp)
        abort();
    import_set_insatser(imp, s_insatser);
    char field[64], why[320];
    int rc = import_row(imp, row, field, sizeof field, why, sizeof why);
    if ((rc == 0) != (import_pending(imp) == 1))
        abort(); /* a row adds exactly one event, or nothing */
    import_destroy(&imp);
    json_decref(row);
    return 0;
}
