/* forbund.c: finsamctl forbund add|list|rename (see forbund.h).
 *
 * Each command reads DATA/forbund.json (or the catalogue's built-in list),
 * changes it and writes it back whole through a rename, so the collector
 * and other finsamctl commands see the old or the new file. */
#include "forbund.h"

#include "registry.h"

#include <jansson.h>
#include <string.h>
#include <sysexits.h>

static void s_print(const char *code, const char *name, const char *lan, void *arg)
{
    fprintf(arg, "%s\t%s\t%s\n", code, name, lan); /* tabs: names and län are UTF-8 */
}

static void s_json(const char *code, const char *name, const char *lan, void *arg)
{
    json_array_append_new(arg, json_pack("{s:s, s:s, s:s}", "code", code, "name", name, "lan", lan));
}

int forbund_load_catalogue(catalogue_t **cat, const char *catalogue, const char *data_dir)
{
    char err[512], path[4096];
    if (catalogue_load(cat, catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsamctl: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    snprintf(path, sizeof path, "%s/%s", data_dir, REGISTRY_FILE);
    registry_t *reg = NULL;
    if (registry_load(&reg, path, *cat, err, sizeof err) != FIN_OK || registry_apply(reg, *cat) < 0) {
        fprintf(stderr, "finsamctl: förbund registry: %s\n", reg ? "out of memory" : err);
        registry_destroy(&reg);
        catalogue_destroy(cat);
        return EX_CONFIG;
    }
    registry_destroy(&reg);
    return 0;
}

int forbund_cmd(const forbund_opts_t *fo, char *const *args, int nargs, FILE *out)
{
    const char *sub = nargs > 0 ? args[0] : "";
    const char *code = nargs > 1 ? args[1] : NULL;
    bool list = !strcmp(sub, "list") && nargs == 1, add = !strcmp(sub, "add") && nargs == 2,
         rename = !strcmp(sub, "rename") && nargs == 2;
    if (!list && !add && !rename) {
        fprintf(stderr, "Usage: finsamctl forbund add CODE --name NAME --lan LÄN[,LÄN2] | list | rename CODE "
                        "--name NAME\n");
        return EX_USAGE;
    }
    char err[512], path[4096];
    catalogue_t *cat = NULL;
    if (catalogue_load(&cat, fo->catalogue, err, sizeof err) < 0) {
        fprintf(stderr, "finsamctl: catalogue: %s\n", err);
        return EX_CONFIG;
    }
    snprintf(path, sizeof path, "%s/%s", fo->data_dir, REGISTRY_FILE);
    registry_t *reg = NULL;
    int rc = 0;
    if (registry_load(&reg, path, cat, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsamctl: forbund: %s\n", err);
        rc = EX_CONFIG;
        goto done;
    }
    if (list) {
        if (fo->format && !strcmp(fo->format, "json")) {
            json_t *a = json_array();
            registry_each(reg, s_json, a);
            json_dumpf(a, out, JSON_INDENT(2));
            fprintf(out, "\n");
            json_decref(a);
        } else {
            registry_each(reg, s_print, out);
            if (!registry_is_file(reg))
                fprintf(out, "(the catalogue's built-in list: %s does not exist yet)\n", path);
        }
        goto done;
    }
    fin_err_t frc = add ? registry_add(reg, code, fo->name, fo->lan, err, sizeof err)
                        : registry_rename(reg, code, fo->name, err, sizeof err);
    if (frc == FIN_OK)
        frc = registry_save(reg, path, err, sizeof err);
    switch (frc) {
    case FIN_OK:
        fprintf(out,
                "%s %s in %s: finsamctl and the collector's web API use it now; the live stream's rows "
                "from the collector's next start\n",
                code, add ? "added" : "renamed", path);
        break;
    case FIN_ENOTFOUND: rc = EX_NOINPUT; break; /* rename of a code nobody added */
    case FIN_EINPUT: rc = EX_DATAERR; break;    /* a code, name or län to fix */
    default: rc = EX_IOERR; break;              /* the file */
    }
    if (rc)
        fprintf(stderr, "finsamctl: forbund %s: %s\n", sub, err);
done:
    registry_destroy(&reg);
    catalogue_destroy(&cat);
    return rc;
}

void forbund_name_status(json_t *report, const catalogue_t *cat, FILE *out)
{
    json_t *list = json_object_get(report, "forbund"), *f;
    size_t i;
    if (out && json_array_size(list))
        fprintf(out, "\n%-9s %s\n", "FÖRBUND", "NAME (LÄN)"); /* Ö is two bytes */
    json_array_foreach(list, i, f) {
        const char *code = json_string_value(json_object_get(f, "forbund"));
        if (!code)
            continue;
        const char *name = registry_forbund_name(cat, code);
        const char *lan = catalogue_lan(cat, code);
        json_object_set_new(f, "name", name ? json_string(name) : json_null());
        json_object_set_new(f, "lan", json_string(lan));
        if (out)
            fprintf(out, "%-8s %s (%s)\n", code, name ? name : "(not registered: finsamctl forbund add)",
                    lan);
    }
}
