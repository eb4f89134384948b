/* cli_util.h: what the tests of the three binaries' command lines share:
 * running a binary with its output in a log, and reading its --help. */
#ifndef FINSAM_TEST_CLI_UTIL_H
#define FINSAM_TEST_CLI_UTIL_H

#include <stdbool.h>
#include <stddef.h>

/* The three binaries, in the order of every table. */
extern const char *const cli_binaries[3];

/* Runs tu_bin(bin) with args (NULL-terminated, at most 30), stdout and
 * stderr into a fresh log; returns the exit status and *log (the log's
 * text, caller frees) when log is not NULL. The command and its output
 * are printed on stderr. */
int cli_run(const char *bin, const char *const *args, char **log);

/* The binary's --help text (caller frees). */
char *cli_help(const char *bin);

/* The long names of the options --help lists ("data-dir", ...), at most
 * max; returns how many. Names point into help. */
size_t cli_help_options(char *help, const char **names, char *letters, size_t max);

/* The exit codes the --help epilog's table lists ("  66  ..." lines after
 * "Exit codes:"), at most max; returns how many. */
size_t cli_help_exit_codes(const char *help, int *codes, size_t max);

/* Puts key = value into db of the LMDB store in dir (the collector
 * stopped); with bump, adds 1 to the first record's leading int64 instead
 * (a cell one too high). */
void cli_patch_store(const char *dir, const char *db, const char *key, const void *value, size_t len,
                     bool bump);

#endif
