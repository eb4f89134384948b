/* prologue.h: the first steps of every finsam binary's main(), written
 * once so the three programs cannot drift apart: options parsed (command
 * line over config file over defaults), the log level checked, the Swedish
 * calendar loaded, core dumps and ptrace by the same user refused (every
 * binary may hold a secret: a CURVE key, the site key, the ledger's
 * secret), and the stop signals routed to a flag of the caller's. */
#ifndef FINSAM_PROLOGUE_H
#define FINSAM_PROLOGUE_H

#include "options.h"

#include <signal.h>
#include <stdbool.h>

typedef struct {
    const opt_spec_t *spec;
    const opt_own_t *own;         /* sections the program reads itself, or NULL */
    const char *const *log_level; /* the --log-level option's target */
} prologue_t;

/* Runs the prologue. Returns true with *first_arg at the first positional
 * argument: main goes on. Returns false when main is done and returns
 * *exit_status: 0 after --help or --version, else fin_exit_code of the
 * failure (64 usage, 78 configuration) after one line on stderr naming the
 * option or file and the fix. */
bool prologue_run(const prologue_t *p, int argc, char **argv, int *first_arg, int *exit_status);

/* SIGINT and SIGTERM set *flag (no SA_RESTART, so a blocking zmq_poll
 * returns EINTR and the loop sees the flag); CZMQ's own handler is off;
 * SIGPIPE is ignored. One flag per process. */
void prologue_signals(volatile sig_atomic_t *flag);

#endif
