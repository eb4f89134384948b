/* options.h: one option table drives the command line, the INI config file,
 * --help and validation (Redis config.c in spirit).
 *
 * Every option's long name is also its INI key. One file may serve several
 * finsam programs (collector.ini holds [collector] and [finsamctl]), so a
 * program reads:
 *   - the keys before any section (the common part, for every program),
 *   - its own section: spec->section or its program name ([collector] or
 *     [finsam-collector]; [finsamctl]; [agent] or [finsam-agent]),
 *   - any section that names no finsam program (files written before
 *     sections meant anything: they were all read), as the common part;
 * and skips the sections of the other finsam programs without looking at
 * their keys. An unknown key in what it reads is an error naming the file,
 * the line and the key (with "did you mean" when an option is close).
 * Sections a program reads itself (options_parse_own, for the agent's
 * [insatser]) are left to it.
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

/* An option whose value must be one of a list ("table|json|csv"): any
 * other value is refused like an integer out of range, from the command
 * line (FIN_EUSAGE) or the file (FIN_ECONFIG), and --help lists them. */
typedef struct {
    const char *name;   /* the option's long name */
    const char *values; /* '|'-separated */
} opt_choice_t;

typedef struct {
    const char *prog;    /* program name for messages */
    const char *usage;   /* "finsam-agent [OPTIONS] COMMAND [ARGS]" */
    const char *summary; /* one paragraph shown by --help */
    const char *epilog;  /* commands and exit codes, shown by --help */
    const opt_t *opts;
    size_t nopts;
    const char *section;         /* the program's own INI section, besides [prog]; or NULL */
    const opt_choice_t *choices; /* terminated by {NULL, NULL}; or NULL */
} opt_spec_t;

/* The sections of the finsam programs: a program skips those that are not
 * its own (see the top of this file). NULL-terminated. */
extern const char *const options_program_sections[];

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
    /* NULL-terminated "section.key" names in option sections that the
     * program reads itself (the agent's [spool] rule lines); may be NULL. */
    const char *const *keys;
} opt_own_t;

/* options_parse, except that the keys of own->sections are left to the
 * program, which reads them from *own->config_path itself. */
fin_err_t options_parse_own(const opt_spec_t *spec, const opt_own_t *own, int argc, char **argv,
                            int *first_arg);

/* Writes --help text to stdout. */
void options_print_help(const opt_spec_t *spec);

/* The option of spec whose name is closest to `name` (a typo: at most two
 * edits, or one for names of up to four letters), or NULL. */
const opt_t *options_suggest(const opt_spec_t *spec, const char *name);

#endif
