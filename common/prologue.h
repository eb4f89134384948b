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

typedef struct {
    const opt_spec_t *spec;
    const opt_own_t *own;         /* sections the program reads itself, or NULL */
    const char *const *log_level; /* the --log-level option's target */
} prologue_t;

/* Runs the prologue. Returns FIN_OK with *first_arg at the first
 * positional argument, or OPTIONS_FINISHED when --help or --version was
 * printed (main returns 0); or FIN_EUSAGE / FIN_ECONFIG after one line on
 * stderr naming the option or file and the fix (main returns
 * fin_exit_code of it). */
fin_err_t prologue_run(const prologue_t *p, int argc, char **argv, int *first_arg);

/* SIGINT and SIGTERM set *flag (no SA_RESTART, so a blocking zmq_poll
 * returns EINTR and the loop sees the flag); CZMQ's own handler is off;
 * SIGPIPE is ignored. One flag per process. */
void prologue_signals(volatile sig_atomic_t *flag);

#endif
