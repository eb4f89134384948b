/* jsonl.c: `finsam-agent import FILE` for canonical JSON lines (see
 * jsonl.h and docs/import-jsonl.md).
 *
 * One line, one row: a line is parsed on its own (duplicate keys refused,
 * at most JSONL_MAX_LINE bytes) and handed to import_row, so a bad line is
 * reported with its number and the rest still checked. jansson's own error
 * text is never shown: it may quote the row.
 *
 * Not here: what a row means (import.c, row.c), CSV (csvimport.c). */
#include "jsonl.h"

#include "rejects.h"
#include "util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

fin_err_t jsonl_import_file(const char *path, const import_opts_t *o, char *err, size_t errlen)
{
    const char *label = o->label ? o->label : path;
    FILE *f = fopen(path, "r");
    if (!f)
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: cannot open: %s", label, strerror(errno));
    fin_err_t rc;
    import_stats_t st = {0};
    import_t *imp = import_new(o->cat, o->anon, o->forbund, clock_wall_ms() / 1000);
    rejects_t *rejects = rejects_new(o, label, NULL);
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    if (!imp || !rejects) {
        rc = fin_fail(err, errlen, FIN_ENOMEM, "%s: out of memory", label);
        goto free_import;
    }
    import_set_insatser(imp, o->insatser);
    while ((n = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
            line[--n] = '\0';
        bool blank = true;
        for (ssize_t i = 0; i < n && blank; i++)
            blank = line[i] == ' ' || line[i] == '\t';
        if (blank)
            continue;
        st.rows++;
        char field[64] = "", why[320] = "";
        int bad = 0;
        if (n > JSONL_MAX_LINE) {
            snprintf(field, sizeof field, "row");
            snprintf(why, sizeof why, "line longer than %d bytes", JSONL_MAX_LINE);
            bad = 1;
        } else {
            json_error_t jerr;
            json_t *row = json_loadb(line, (size_t) n, JSON_REJECT_DUPLICATES, &jerr);
            if (!row) {
                /* jansson's text may quote the row; say where, not what. */
                snprintf(field, sizeof field, "json");
                snprintf(why, sizeof why, "not valid JSON (column %d)", jerr.column);
                bad = 1;
            } else {
                import_set_position(imp, NULL, lineno);
                bad = import_row(imp, row, field, sizeof field, why, sizeof why) < 0;
                json_decref(row);
            }
        }
        if (bad) {
            st.rejected++;
            rejects_add(rejects, NULL, lineno, -1, field, why, NULL);
        }
    }
    if (ferror(f)) {
        rc = fin_fail(err, errlen, FIN_EIO, "%s: read error: %s", label, strerror(errno));
        goto free_import;
    }
    rejects_finish(rejects);
    rc = import_finish(imp, path, &st, NULL, o, err, errlen);
free_import:
    rejects_destroy(&rejects);
    import_destroy(&imp);
    free(line);
    fclose(f);
    return rc;
}
