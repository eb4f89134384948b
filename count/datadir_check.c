/* datadir_check.c: check-config's catalogue and store lines (see
 * datadir_check.h). */
#include "datadir_check.h"

#include "catalogue.h"
#include "ledger.h"

#include <sysexits.h>
#include <unistd.h>

void datadir_check_catalogue(check_t *c, const char *catalogue_file)
{
    char err[1024];
    catalogue_t *cat = NULL;
    if (catalogue_load(&cat, catalogue_file, err, sizeof err) < 0)
        check_fail(c, EX_CONFIG,
                   "catalogue: %s; fix: name a catalogue JSON file, or none for the built-in one", err);
    else
        check_ok(c, "catalogue %s (%d measures)",
                 catalogue_file && catalogue_file[0] ? catalogue_file : "built in", cat->nmeasures);
    catalogue_destroy(&cat);
}

void datadir_check_store(check_t *c, const char *data_dir)
{
    char path[4200], err[1024];
    snprintf(path, sizeof path, "%s/ledger/data.mdb", data_dir);
    if (access(path, F_OK) < 0) {
        check_ok(c, "store %s/ledger: none yet (finsam-collector run creates it)", data_dir);
        return;
    }
    ledger_t *ledger;
    snprintf(path, sizeof path, "%s/ledger", data_dir);
    fin_err_t rc = ledger_open(&ledger, path, true, err, sizeof err);
    if (rc == FIN_OK) {
        check_ok(c, "store %s (schema %d, %llu events)", path, LEDGER_SCHEMA_VERSION,
                 (unsigned long long) (ledger_next_seq(ledger) - 1));
        ledger_close(&ledger);
    } else {
        check_fail(c, fin_exit_code(rc), "store: %s%s", err,
                   rc == FIN_EVERSION ? "" : "; fix: restore it from a backup (docs/operations.md)");
    }
}
