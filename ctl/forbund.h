/* forbund.h: finsamctl forbund add|list|rename, the förbund registry
 * (report/registry.h) in the collector's data directory.
 *
 * Onboarding a förbund is `forbund add CODE --name N --lan L` and a
 * certificate in DATA/agents/; no catalogue release. */
#ifndef FINSAM_CTL_FORBUND_H
#define FINSAM_CTL_FORBUND_H

#include "catalogue.h"

#include <jansson.h>
#include <stdio.h>

typedef struct {
    const char *data_dir;
    const char *catalogue; /* "" or NULL: the built-in one (its förbund list is the default) */
    const char *name, *lan;
    const char *format; /* list: "table" or "json" */
} forbund_opts_t;

/* Runs `forbund SUB [CODE]` (args: SUB and what follows it, nargs of them),
 * printing to out and errors to stderr. Returns a sysexits status: 0, 64
 * (usage), 65 (a bad code or value, a code that exists), 66 (rename: not
 * registered), 74 (cannot write DATA/forbund.json), 78 (the catalogue or
 * the registry file cannot be read). */
int forbund_cmd(const forbund_opts_t *fo, char *const *args, int nargs, FILE *out);

/* Loads the catalogue and applies DATA/forbund.json to it (registry_apply):
 * what every finsamctl command that names förbund or rolls them up into
 * län uses. Returns 0 or EX_CONFIG after printing why. */
int forbund_load_catalogue(catalogue_t **cat, const char *catalogue, const char *data_dir);

/* Adds "name" and "lan" from cat (after forbund_load_catalogue) to each
 * entry of a status report's "forbund" array (status.h), and, when out is not NULL,
 * prints one line per förbund in it: code, name, län. */
void forbund_name_status(json_t *report, const catalogue_t *cat, FILE *out);

#endif
