/* options.c: the option table engine (see options.h). Values from every
 * source pass through one setter, so bounds, types and choices are checked
 * the same way whether they come from a flag or a file line. The file is
 * read line by line through our own reader so that an error can name the
 * line (inih is built without INI_HANDLER_LINENO). */
#include "options.h"

#include <errno.h>
#include <getopt.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const options_program_sections[] = {"collector", "finsam-collector", "finsamctl",
                                                "agent",     "finsam-agent",     NULL};

typedef struct {
    const opt_spec_t *spec;
    const opt_own_t *own;
    const char *path;
    FILE *file;
    int line; /* of the line inih is handling */
    int error;
} s_ini_ctx_t;

static const opt_t *s_find(const opt_spec_t *spec, const char *name)
{
    for (size_t i = 0; i < spec->nopts; i++)
        if (strcmp(spec->opts[i].name, name) == 0)
            return &spec->opts[i];
    return NULL;
}

/* The '|'-separated values of a choice option, or NULL. */
static const char *s_choices(const opt_spec_t *spec, const opt_t *opt)
{
    for (const opt_choice_t *c = spec->choices; c && c->name; c++)
        if (!strcmp(c->name, opt->name))
            return c->values;
    return NULL;
}

static bool s_is_choice(const char *values, const char *text)
{
    size_t n = strlen(text);
    for (const char *p = values; p && *p;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t) (bar - p) : strlen(p);
        if (len == n && !strncmp(p, text, n))
            return true;
        p = bar ? bar + 1 : NULL;
    }
    return false;
}

/* The copies made of config-file values, one per option target: a value
 * the command line overrides is freed; the rest live until exit, held
 * here (so they are reachable, not leaked). */
static struct {
    void *target;
    char *copy;
} s_copies[256];

static void s_own(void *target, char *copy)
{
    size_t n = sizeof s_copies / sizeof *s_copies, slot = n;
    for (size_t i = 0; i < n; i++) {
        if (s_copies[i].target == target) {
            free(s_copies[i].copy); /* overridden */
            slot = i;
            break;
        }
        if (!s_copies[i].target && slot == n)
            slot = i;
    }
    if (slot == n) /* more string options than any finsam program has */
        return;
    s_copies[slot].target = copy ? target : NULL;
    s_copies[slot].copy = copy;
}

/* Stores text into the option's target; returns 0 or -1 with a reason
 * (static storage, or *reason_buf). */
static int s_set(const opt_spec_t *spec, const opt_t *opt, const char *text, bool copy, const char **reason)
{
    static char reason_buf[256];
    const char *values = s_choices(spec, opt);
    if (values && !s_is_choice(values, text)) {
        snprintf(reason_buf, sizeof reason_buf, "not one of %s", values);
        *reason = reason_buf;
        return -1;
    }
    switch (opt->type) {
    case OPT_STR: {
        char *value = copy ? strdup(text) : (char *) text;
        if (copy && !value) {
            *reason = "out of memory";
            return -1;
        }
        s_own(opt->target, copy ? value : NULL);
        *(char **) opt->target = value;
        return 0;
    }
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

/* Levenshtein distance, capped: enough for "did you mean". */
static size_t s_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 63 || lb > 63)
        return 64;
    size_t row[64];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const opt_t *options_suggest(const opt_spec_t *spec, const char *name)
{
    const opt_t *best = NULL;
    size_t best_d = strlen(name) <= 4 ? 2 : 3; /* more than this is no typo */
    for (size_t i = 0; i < spec->nopts; i++) {
        size_t d = s_distance(name, spec->opts[i].name);
        if (d < best_d) {
            best_d = d;
            best = &spec->opts[i];
        }
    }
    return best;
}

/* 1: the program reads this section's keys as options; 0: it skips them. */
static int s_reads_section(const s_ini_ctx_t *ctx, const char *section)
{
    if (!section[0] || !strcmp(section, ctx->spec->prog) ||
        (ctx->spec->section && !strcmp(section, ctx->spec->section)))
        return 1;
    for (const char *const *own = ctx->own ? ctx->own->sections : NULL; own && *own; own++)
        if (!strcmp(section, *own))
            return 0; /* the program's own data, read by the program */
    for (const char *const *p = options_program_sections; *p; p++)
        if (!strcmp(section, *p))
            return 0; /* another finsam program's */
    return 1;
}

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    s_ini_ctx_t *ctx = user;
    if (!s_reads_section(ctx, section))
        return 1;
    for (const char *const *k = ctx->own ? ctx->own->keys : NULL; k && *k; k++) {
        size_t sl = strlen(section);
        if (!strncmp(*k, section, sl) && (*k)[sl] == '.' && !strcmp(*k + sl + 1, name))
            return 1; /* the program's own key */
    }
    const opt_t *opt = s_find(ctx->spec, name);
    const char *reason = NULL;
    if (!opt) {
        const opt_t *close = options_suggest(ctx->spec, name);
        fprintf(stderr, "%s: %s:%d: unknown key '%s'%s%s%s%s%s%s\n", ctx->spec->prog, ctx->path, ctx->line,
                name, section[0] ? " in [" : "", section, section[0] ? "]" : "",
                close ? " (did you mean '" : "", close ? close->name : "", close ? "'?)" : "");
        ctx->error = 1;
        return 0;
    }
    if (s_set(ctx->spec, opt, value, true, &reason) < 0) {
        fprintf(stderr, "%s: %s:%d: %s: %s\n", ctx->spec->prog, ctx->path, ctx->line, name, reason);
        ctx->error = 1;
        return 0;
    }
    return 1;
}

/* inih's reader: fgets, counting lines. */
static char *s_read_line(char *str, int num, void *stream)
{
    s_ini_ctx_t *ctx = stream;
    char *line = fgets(str, num, ctx->file);
    if (line)
        ctx->line++;
    return line;
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
        snprintf(left, sizeof left, "%s%c%s--%s%s", o->letter ? "-" : " ", o->letter ? o->letter : ' ',
                 o->letter ? ", " : "  ", o->name,
                 o->type == OPT_STR   ? " TEXT"
                 : o->type == OPT_INT ? " N"
                                      : "");
        printf("  %-22s  %s", left, o->help);
        const char *values = s_choices(spec, o);
        if (values)
            printf(" (one of %s)", values);
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
        if (o->defval && s_set(spec, o, o->defval, false, &reason) < 0) {
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
        s_ini_ctx_t ctx = {spec, own, config, fopen(config, "r"), 0, 0};
        if (!ctx.file) {
            /* A file that is not there is missing input (66), as for
             * every other file the programs read. */
            bool missing = errno == ENOENT;
            fprintf(stderr, "%s: %s: %s%s\n", spec->prog, config,
                    missing ? "no such file" : "cannot read: ", missing ? "" : strerror(errno));
            rc = missing ? FIN_ENOTFOUND : FIN_ECONFIG;
            goto done;
        }
        int e = ini_parse_stream(s_read_line, &ctx, s_ini_handler, &ctx);
        fclose(ctx.file);
        if (e != 0 || ctx.error) {
            if (e > 0 && !ctx.error)
                fprintf(stderr, "%s: %s:%d: syntax error\n", spec->prog, config, e);
            else if (e < 0)
                fprintf(stderr, "%s: %s: out of memory\n", spec->prog, config);
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
        if (s_set(spec, o, o->type == OPT_FLAG ? "1" : optarg, false, &reason) < 0) {
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
