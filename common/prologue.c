/* prologue.c: the shared start of main() (see prologue.h). */
#include "prologue.h"

#include "log.h"
#include "util.h"

#include <czmq.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>

static volatile sig_atomic_t *s_flag;

static void s_on_signal(int sig)
{
    (void) sig;
    if (s_flag)
        *s_flag = 1;
}

static fin_err_t s_run(const prologue_t *p, int argc, char **argv, int *first_arg)
{
    fin_err_t rc = p->own ? options_parse_own(p->spec, p->own, argc, argv, first_arg)
                          : options_parse(p->spec, argc, argv, first_arg);
    if (rc || *first_arg == OPTIONS_FINISHED)
        return rc;
    if (p->log_level && log_set_level(*p->log_level) < 0) {
        fprintf(stderr, "%s: --log-level: %s: use debug, info, warn or error\n", p->spec->prog,
                *p->log_level);
        return FIN_EUSAGE;
    }
    if (tz_stockholm_init() < 0) {
        fprintf(stderr, "%s: tzdata: /usr/share/zoneinfo/Europe/Stockholm is missing (apt install tzdata)\n",
                p->spec->prog);
        return FIN_ECONFIG;
    }
    return FIN_OK;
}

bool prologue_run(const prologue_t *p, int argc, char **argv, int *first_arg, int *exit_status)
{
    prctl(PR_SET_DUMPABLE, 0);
    fin_err_t rc = s_run(p, argc, argv, first_arg);
    *exit_status = fin_exit_code(rc);
    return rc == FIN_OK && *first_arg != OPTIONS_FINISHED;
}

void prologue_signals(volatile sig_atomic_t *flag)
{
    s_flag = flag;
    zsys_handler_set(NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = s_on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
