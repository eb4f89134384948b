/* options.h: one option table drives the command line, the INI config file,
 * --help and validation (Redis config.c in spirit).
 *
 * Every option's long name is also its INI key; sections in the file are
 * ignored, so `[collector]\nendpoint = ...` and `--endpoint ...` mean the same,
 * except sections a program reads itself (options_parse_own, for the
 * agent's [insatser]).
 * Precedence: default < config file (--config FILE) < command line.
 * Built in: -h/--help, -V/--version, -c/--config FILE. */
#ifndef FINSAM_OPTIONS_H
#define FINSAM_OPTIONS_H

#include "err.h"

#include <stdbool.h>
#include <stddef.h>

typedef enum { OPT_STR, OPT_INT, OPT_FLAG } opt_type_t;

typedef struct {
    const char *name; /* long option and INI key */
    int letter;       /* short option, or 0 */
    opt_type_t type;
    const char *defval; /* default as text, NULL for none */
    long min, max;      /* bounds for OPT_INT */
    const char *help;
    void *target; /* char ** for OPT_STR, long * for OPT_INT, bool * for OPT_FLAG */
} opt_t;

typedef struct {
    const char *prog;    /* program name for messages */
    const char *usage;   /* "finsam-agent [OPTIONS] COMMAND [ARGS]" */
    const char *summary; /* one paragraph shown by --help */
    const char *epilog;  /* commands and exit codes, shown by --help */
    const opt_t *opts;
    size_t nopts;
} opt_spec_t;

/* *first_arg after --help or --version was printed: the program is done
 * and exits 0. */
#define OPTIONS_FINISHED (-1)

/* Parses defaults, the config file and argv into the targets. Returns
 * FIN_OK with *first_arg set to the index of the first positional argument
 * (or OPTIONS_FINISHED), or FIN_EUSAGE (the command line) or FIN_ECONFIG
 * (the config file) after printing one line to stderr that names the
 * option or the file and line. String values point into argv or into
 * copies that live until exit. */
fin_err_t options_parse(const opt_spec_t *spec, int argc, char **argv, int *first_arg);

/* Sections of the config file that hold the program's own data, not
 * options (the agent's [insatser]). */
typedef struct {
    const char *const *sections; /* NULL-terminated: options_parse_own skips their keys */
    const char **config_path;    /* if not NULL, set to --config FILE (points into argv) or NULL */
} opt_own_t;

/* options_parse, except that the keys of own->sections are left to the
 * program, which reads them from *own->config_path itself. */
fin_err_t options_parse_own(const opt_spec_t *spec, const opt_own_t *own, int argc, char **argv,
                            int *first_arg);

/* Writes --help text to stdout. */
void options_print_help(const opt_spec_t *spec);

#endif
