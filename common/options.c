/* options.c: the option table engine (see options.h). Values from every
 * source pass through one setter, so bounds and types are checked the same
 * way whether they come from a flag or a file line. */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const opt_spec_t *spec;
    const opt_own_t *own;
    const char *path;
    int error;
} s_ini_ctx_t;

static const opt_t *s_find(const opt_spec_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (strcmp(spec->opts[i].name, name) == 0)
            return &spec->opts[i];
    return NULL;
}

/* Stores text into the option's target; returns 0 or -1 with a reason. */
static int s_set(const opt_t *opt, const char *text, bool copy, const char **reason)
{
    switch (opt->type) {
    case OPT_STR: *(char **) opt->target = copy ? strdup(text) : (char *) text; return 0;
    case OPT_INT: {
        char *end;
        errno = 0;
        long v = strtol(text, &end, 10);
        if (errno || end == text || *end) {
            *reason = "not an integer";
            return -1;
        }
        if (v < opt->min || v > opt->max) {
            *reason = "out of range";
            return -1;
        }
        *(long *) opt->target = v;
        return 0;
    }
    case OPT_FLAG:
        if (!strcmp(text, "1") || !strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "on"))
            *(bool *) opt->target = true;
        else if (!strcmp(text, "0") || !strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "off"))
            *(bool *) opt->target = false;
        else {
            *reason = "not a boolean (yes/no)";
            return -1;
        }
        return 0;
    }
    *reason = "bad option type";
    return -1;
}

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    s_ini_ctx_t *ctx = user;
    for (const char *const *own = ctx->own ? ctx->own->sections : NULL; own && *own; own++)
        if (!strcmp(section, *own))
            return 1; /* the program's own data, read by the program */
    const opt_t *opt = s_find(ctx->spec, name);
    const char *reason = NULL;
    if (!opt) {
        fprintf(stderr, "%s: %s: unknown key '%s'\n", ctx->spec->prog, ctx->path, name);
        ctx->error = 1;
        return 0;
    }
    if (s_set(opt, value, true, &reason) < 0) {
        fprintf(stderr, "%s: %s: %s: %s\n", ctx->spec->prog, ctx->path, name, reason);
        ctx->error = 1;
        return 0;
    }
    return 1;
}

void options_print_help(const opt_spec_t *spec)
{
    printf("Usage: %s\n\n%s\n\nOptions (each also an INI key in --config FILE):\n", spec->usage,
           spec->summary);
    printf("  -h, --help              show this help and exit\n");
    printf("  -V, --version           show the version and exit\n");
    printf("  -c, --config FILE       read options from an INI file first\n");
    for (size_t i = 0; i < spec->nopts; i++) {
        const opt_t *o = &spec->opts[i];
        char left[64];
        snprintf(left, sizeof left, "%s%c%s--%s%s", o->letter ? "-" : "  ", o->letter ? o->letter : ' ',
                 o->letter ? ", " : "  ", o->name,
                 o->type == OPT_STR   ? " TEXT"
                 : o->type == OPT_INT ? " N"
                                      : "");
        printf("  %-22s  %s", left, o->help);
        if (o->defval)
            printf(" (default: %s)", o->defval);
        printf("\n");
    }
    if (spec->epilog)
        printf("\n%s", spec->epilog);
}

fin_err_t options_parse(const opt_spec_t *spec, int argc, char **argv, int *first_arg)
{
    return options_parse_own(spec, NULL, argc, argv, first_arg);
}

fin_err_t options_parse_own(const opt_spec_t *spec, const opt_own_t *own, int argc, char **argv,
                            int *first_arg)
{
    const char *reason = NULL;
    for (size_t i = 0; i < spec->nopts; i++) {
        const opt_t *o = &spec->opts[i];
        if (o->type == OPT_FLAG)
            *(bool *) o->target = false;
        if (o->defval && s_set(o, o->defval, false, &reason) < 0) {
            fprintf(stderr, "%s: internal: default of --%s: %s\n", spec->prog, o->name, reason);
            return FIN_EINTERNAL;
        }
    }

    /* getopt_long tables built from the spec: 3 built-ins, then ours. */
    size_t n = spec->nopts + 3;
    struct option *longopts = calloc(n + 1, sizeof *longopts);
    char *shortopts = calloc(2 * n + 3, 1);
    if (!longopts || !shortopts) {
        free(longopts);
        free(shortopts);
        return FIN_ENOMEM;
    }
    longopts[0] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[1] = (struct option){"version", no_argument, NULL, 'V'};
    longopts[2] = (struct option){"config", required_argument, NULL, 'c'};
    strcpy(shortopts, "hVc:");
    char *sp = shortopts + strlen(shortopts);
    for (size_t i = 0; i < spec->nopts; i++) {
        const opt_t *o = &spec->opts[i];
        longopts[i + 3] = (struct option){o->name, o->type == OPT_FLAG ? no_argument : required_argument,
                                          NULL, 1000 + (int) i};
        if (o->letter) {
            *sp++ = (char) o->letter;
            if (o->type != OPT_FLAG)
                *sp++ = ':';
        }
    }
    /* GNU getopt permutes argv, so options may stand anywhere
     * ("import FILE --dry-run"); positional arguments end up at optind.
     * Pass 1 only finds --config, so the file applies before the command line. */
    fin_err_t rc = FIN_OK;
    const char *config = NULL;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == 'c')
            config = optarg;
    }
    if (own && own->config_path)
        *own->config_path = config;
    if (config) {
        s_ini_ctx_t ctx = {spec, own, config, 0};
        int e = ini_parse(config, s_ini_handler, &ctx);
        if (e < 0) {
            fprintf(stderr, "%s: %s: cannot read: %s\n", spec->prog, config, strerror(errno));
            rc = FIN_ECONFIG;
            goto done;
        }
        if (e > 0 || ctx.error) {
            if (e > 0 && !ctx.error)
                fprintf(stderr, "%s: %s: line %d: syntax error\n", spec->prog, config, e);
            rc = FIN_ECONFIG;
            goto done;
        }
    }
    opterr = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
        if (c == 'h') {
            options_print_help(spec);
            *first_arg = OPTIONS_FINISHED;
            goto done;
        }
        if (c == 'V') {
            printf("%s %s\n", spec->prog, FINSAM_VERSION);
            *first_arg = OPTIONS_FINISHED;
            goto done;
        }
        if (c == 'c')
            continue;
        const opt_t *o = NULL;
        if (c >= 1000)
            o = &spec->opts[c - 1000];
        else
            for (size_t i = 0; i < spec->nopts && !o; i++)
                if (spec->opts[i].letter == c)
                    o = &spec->opts[i];
        if (!o) {
            fprintf(stderr, "Usage: %s (try --help)\n", spec->usage);
            rc = FIN_EUSAGE;
            goto done;
        }
        if (s_set(o, o->type == OPT_FLAG ? "1" : optarg, false, &reason) < 0) {
            fprintf(stderr, "%s: --%s: %s: %s\n", spec->prog, o->name, optarg ? optarg : "", reason);
            rc = FIN_EUSAGE;
            goto done;
        }
    }
    *first_arg = optind;
done:
    free(longopts);
    free(shortopts);
    return rc;
}
