/* main.c (finsam-collector): options in, server built, run, exit code out. */
#include "allowlist.h"
#include "check.h"
#include "datadir_check.h"
#include "err.h"
#include "http.h"
#include "keys.h"
#include "log.h"
#include "options.h"
#include "prologue.h"
#include "protect.h"
#include "registry.h"
#include "server.h"
#include "util.h"

#include <czmq.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sysexits.h>

static volatile sig_atomic_t s_stop;

static struct {
    char *data_dir, *endpoint, *server_key, *allow_dir, *catalogue, *endpoint_file, *log_level;
    char *subscriber_dir, *stream_events, *stream_aggregates, *stream_replay, *stream_endpoint_file;
    long max_batches, min_units, stream_hwm, protect_d, publish_interval, publish_max_age;
    char *protect_v;
    char *http, *http_token_file, *http_port_file, *http_dashboard_dir;
    long http_silent_after, http_max_connections, http_max_per_address, http_header_timeout, http_cache_mib;
} o;

static const opt_t s_opts[] = {
    {"data-dir", 'd', OPT_STR, "./finsam-data", 0, 0, "data directory (ledger/, keys/, agents/)",
     &o.data_dir},
    {"endpoint", 'e', OPT_STR, "tcp://127.0.0.1:7710", 0, 0, "ingest endpoint agents connect to",
     &o.endpoint},
    {"server-key", 0, OPT_STR, NULL, 0, 0, "secret certificate (default DATA/keys/collector.key_secret)",
     &o.server_key},
    {"allow-dir", 0, OPT_STR, NULL, 0, 0, "allow-list of agent certificates (default DATA/agents)",
     &o.allow_dir},
    {"catalogue", 0, OPT_STR, "", 0, 0, "indicator catalogue JSON (default: embedded)", &o.catalogue},
    {"endpoint-file", 0, OPT_STR, NULL, 0, 0, "write the bound endpoint to this file", &o.endpoint_file},
    {"max-batches-per-commit", 0, OPT_INT, "64", 1, 4096, "group commit: batches per transaction",
     &o.max_batches},
    {"subscriber-dir", 0, OPT_STR, NULL, 0, 0, "allow-list of stream subscribers (default DATA/subscribers)",
     &o.subscriber_dir},
    {"stream-events", 0, OPT_STR, "tcp://127.0.0.1:7711", 0, 0,
     "live stream ROUTER: events and aggregates per subscriber (\"off\" disables streams)", &o.stream_events},
    {"stream-aggregates", 0, OPT_STR, "tcp://127.0.0.1:7712", 0, 0,
     "second address of the live stream ROUTER", &o.stream_aggregates},
    {"stream-replay", 0, OPT_STR, "tcp://127.0.0.1:7713", 0, 0, "ROUTER for replay and snapshots",
     &o.stream_replay},
    {"stream-endpoint-file", 0, OPT_STR, NULL, 0, 0, "write the bound stream endpoints to this file",
     &o.stream_endpoint_file},
    {"stream-hwm", 0, OPT_INT, "20000", 100, 10000000, "messages queued per subscriber before it loses some",
     &o.stream_hwm},
    {"min-units", 'k', OPT_INT, "5", 1, 1000,
     "disclosure control: cells resting on fewer participants are not published", &o.min_units},
    {"protect-max-deviation", 0, OPT_INT, "2", 1, PROTECT_MAX_D,
     "disclosure control: D, the largest noise the cell-key method adds to a count", &o.protect_d},
    {"protect-variance", 0, OPT_STR, "1.05", 0, 0,
     "disclosure control: V, the variance of that noise (0 < V <= D*D/2)", &o.protect_v},
    {"publish-interval", 0, OPT_INT, "300", 1, 86400,
     "seconds between publications of the protected figures (every reader sees the last one)",
     &o.publish_interval},
    {"publish-max-age", 0, OPT_INT, "604800", 1, 31622400,
     "seconds after which a changed cell is republished even if fewer than --min-units changed",
     &o.publish_max_age},
    {"http", 0, OPT_STR, "127.0.0.1:7780", 0, 0, "HTTP API and dashboard: ADDR:PORT, [V6]:PORT or \"off\"",
     &o.http},
    {"http-token-file", 0, OPT_STR, NULL, 0, 0,
     "bearer token file (0600); required unless --http is loopback", &o.http_token_file},
    {"http-port-file", 0, OPT_STR, NULL, 0, 0, "write the bound HTTP port to this file", &o.http_port_file},
    {"http-dashboard-dir", 0, OPT_STR, NULL, 0, 0,
     "serve the dashboard from this directory (default: embedded)", &o.http_dashboard_dir},
    {"http-silent-after", 0, OPT_INT, "86400", 1, 31622400,
     "seconds without a batch before an agent is silent", &o.http_silent_after},
    {"http-max-connections", 0, OPT_INT, "512", 8, 100000,
     "HTTP connections open at once; when full, a waiting one makes room for a new one",
     &o.http_max_connections},
    {"http-max-per-address", 0, OPT_INT, "64", 1, 100000, "HTTP connections open at once from one address",
     &o.http_max_per_address},
    {"http-header-timeout", 0, OPT_INT, "5", 1, 300,
     "seconds a new HTTP connection has to send its whole request head", &o.http_header_timeout},
    {"http-cache-mib", 0, OPT_INT, "16", 0, 4096,
     "MiB of protected answers kept for repeated API requests until the next publication (0: none)",
     &o.http_cache_mib},
    {"log-level", 'l', OPT_STR, "info", 0, 0, "debug, info, warn or error", &o.log_level},
};

static const opt_choice_t s_choices[] = {{"log-level", "debug|info|warn|error"}, {NULL, NULL}};

static const opt_spec_t s_spec = {
    .prog = "finsam-collector",
    .usage = "finsam-collector [OPTIONS] [run|keygen|check-config]",
    .summary =
        "Receives pseudonymized indicator events from finsam agents over CurveZMQ, stores each exactly\n"
        "once in LMDB and updates the indicator cells in the same transaction; acks after commit.",
    .epilog = "Commands:\n"
              "  run           serve (default)\n"
              "  keygen        create DATA/keys/collector.key (public) and collector.key_secret (0600)\n"
              "  check-config  check options, config file, data directory, keys and their modes, the\n"
              "                allow-lists, catalogue and store, one line each; binds nothing, so it runs\n"
              "                beside the running collector\n"
              "\nExit codes:\n"
              "  0   ok (check-config: every check passed)\n"
              "  64  usage: an unknown option or command, a bad value (--log-level foo)\n"
              "  65  a store of another schema (finsamctl migrate)\n"
              "  66  an input file or directory is missing (--config FILE; check-config: the data\n"
              "      directory)\n"
              "  69  cannot bind an endpoint or serve\n"
              "  73  cannot create (keygen: the key exists; the disk or the store's map is full)\n"
              "  74  store I/O error\n"
              "  77  a secret key (or token file) readable by group or others (chmod 600), a data\n"
              "      directory writable by others\n"
              "  78  bad configuration: the secret key missing (run keygen) or unusable, the catalogue,\n"
              "      the allow-list, an unknown key in --config FILE\n",
    .opts = s_opts,
    .nopts = sizeof s_opts / sizeof *s_opts,
    .section = "collector",
    .choices = s_choices,
};

/* The exit status of a failure: fin_exit_code's, except that "cannot
 * serve now" (FIN_EAGAIN: an endpoint that cannot be bound, or a start-up
 * step that names no code of its own) is 69, as --help and
 * docs/operations.md say. */
static int s_exit_code(fin_err_t code)
{
    return code == FIN_EAGAIN ? EX_UNAVAILABLE : fin_exit_code(code);
}

static bool s_loopback(const char *address)
{
    return !strncmp(address, "127.", 4) || !strcmp(address, "::1");
}

/* check-config (common/check.h): everything `run` would read, nothing it
 * would bind, create or change, so it runs beside a running collector. */
static int s_check_config(const char *config, const char *http_address, const protect_params_t *params)
{
    check_t c;
    char err[1024];
    check_init(&c, s_spec.prog, config);
    check_data_dir(&c, "data directory", o.data_dir, true, false, "finsam-collector keygen creates it");
    check_secret_file(&c, "secret key", o.server_key, true, "run finsam-collector keygen");
    check_cert_dir(&c, "agent allow-list", o.allow_dir, "forbund", allowlist_valid_forbund, false);
    check_cert_dir(&c, "subscriber allow-list", o.subscriber_dir, "access", allowlist_valid_access, true);
    datadir_check_catalogue(&c, o.catalogue);
    static const uint8_t zero_secret[PROTECT_SECRET_LEN];
    protect_t *protect = protect_new(params, zero_secret, err, sizeof err);
    if (!protect)
        check_fail(&c, EX_CONFIG,
                   "disclosure protection: %s; fix: --min-units, --protect-max-deviation, "
                   "--protect-variance",
                   err);
    else
        check_ok(&c, "disclosure protection: min-units %d, D %d, V %g", params->min_count, params->max_dev,
                 params->variance);
    protect_destroy(&protect);
    datadir_check_store(&c, o.data_dir);
    if (http_address) {
        if (o.http_token_file)
            check_secret_file(&c, "HTTP token file", o.http_token_file, false,
                              "write a random token into it (mode 0600)");
        else if (!s_loopback(http_address))
            check_fail(&c, EX_CONFIG, "HTTP %s is not loopback and has no token; fix: --http-token-file FILE",
                       o.http);
        else
            check_ok(&c, "HTTP API on loopback %s without a token", o.http);
        /* http_new raises the soft limit up to the hard one, or lowers
         * the connection limit to fit (and says so in the log). */
        struct rlimit rl;
        long need = http_fds_needed(o.http_max_connections);
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY && rl.rlim_max < (rlim_t) need)
            check_ok(&c,
                     "HTTP limits: %ld connections need %ld open files, the hard limit is %ju: the "
                     "collector will serve fewer; fix: LimitNOFILE (systemd) or ulimit -n",
                     o.http_max_connections, need, (uintmax_t) rl.rlim_max);
        else
            check_ok(&c, "HTTP limits: %ld connections, %ld per address, request head within %ld s",
                     o.http_max_connections, o.http_max_per_address, o.http_header_timeout);
    }
    check_ok(&c, "endpoints (not bound by check-config): ingest %s, streams %s, HTTP %s", o.endpoint,
             strcmp(o.stream_events, "off") ? o.stream_events : "off", o.http);
    return check_finish(&c);
}

/* The --config FILE read, for check-config (NULL: none). */
static const char *s_config_file;
static const opt_own_t s_own = {NULL, &s_config_file, NULL};
static const prologue_t s_prologue = {&s_spec, &s_own, (const char *const *) &o.log_level};

int main(int argc, char **argv)
{
    int first, status;
    if (!prologue_run(&s_prologue, argc, argv, &first, &status))
        return status;
    const char *command = first < argc ? argv[first] : "run";
    if (first + 1 < argc) {
        fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
        return EX_USAGE;
    }
    char key_default[4096], allow_default[4096], sub_default[4096], err[512];
    snprintf(key_default, sizeof key_default, "%s/keys/collector.key_secret", o.data_dir);
    snprintf(allow_default, sizeof allow_default, "%s/agents", o.data_dir);
    snprintf(sub_default, sizeof sub_default, "%s/subscribers", o.data_dir);
    if (!o.server_key)
        o.server_key = key_default;
    if (!o.allow_dir)
        o.allow_dir = allow_default;
    if (!o.subscriber_dir)
        o.subscriber_dir = sub_default;

    if (!strcmp(command, "keygen")) {
        char dir[4096], path[4200];
        snprintf(dir, sizeof dir, "%s/keys", o.data_dir);
        snprintf(path, sizeof path, "%s/collector.key", dir);
        if (mkdir_p(dir, 0700) < 0 || mkdir_p(o.allow_dir, 0755) < 0 || mkdir_p(o.subscriber_dir, 0755) < 0) {
            fprintf(stderr, "finsam-collector: %s: cannot create\n", dir);
            return EX_CANTCREAT;
        }
        if (keys_generate(path, "collector", NULL, err, sizeof err) < 0) {
            fprintf(stderr, "finsam-collector: keygen: %s\n", err);
            return EX_CANTCREAT;
        }
        printf("%s\n%s_secret\n", path, path);
        return 0;
    }
    if (strcmp(command, "run") && strcmp(command, "check-config")) {
        fprintf(stderr, "Usage: %s (try --help)\n", s_spec.usage);
        return EX_USAGE;
    }
    char http_address[256], registry_file[4200];
    snprintf(registry_file, sizeof registry_file, "%s/%s", o.data_dir, REGISTRY_FILE);
    http_config_t http_config = {.registry_file = registry_file,
                                 .token_file = o.http_token_file,
                                 .port_file = o.http_port_file,
                                 .catalogue_file = o.catalogue,
                                 .dashboard_dir = o.http_dashboard_dir,
                                 .silent_after_s = (int) o.http_silent_after,
                                 .max_connections = (int) o.http_max_connections,
                                 .max_per_address = (int) o.http_max_per_address,
                                 .header_timeout_s = (int) o.http_header_timeout,
                                 .cache_bytes = o.http_cache_mib ? o.http_cache_mib << 20 : -1,
                                 .allow_dir = o.allow_dir};
    bool http_on = strcmp(o.http, "off") != 0;
    if (http_on && http_parse_listen(o.http, http_address, sizeof http_address, &http_config) < 0) {
        fprintf(stderr, "finsam-collector: --http: %s: use ADDR:PORT, [V6ADDR]:PORT or off\n", o.http);
        return EX_USAGE;
    }
    char *vend;
    double variance = strtod(o.protect_v, &vend);
    if (*vend || vend == o.protect_v) {
        fprintf(stderr, "finsam-collector: --protect-variance: %s is not a number (e.g. 1.05)\n",
                o.protect_v);
        return EX_USAGE;
    }
    protect_params_t params = {(int) o.min_units, (int) o.protect_d, variance};
    if (!strcmp(command, "check-config"))
        return s_check_config(s_config_file, http_on ? http_address : NULL, &params);
    /* A key that is not there is configuration to finish (78); one that
     * others may read is refused (77). */
    if (access(o.server_key, F_OK) < 0) {
        fprintf(stderr, "finsam-collector: no such file: %s; run finsam-collector keygen\n", o.server_key);
        return EX_CONFIG;
    }
    if (keys_check_private(o.server_key, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-collector: secret key refused: %s\n", err);
        return EX_NOPERM;
    }
    zcert_t *cert = keys_load_secret(o.server_key, err, sizeof err);
    if (!cert) { /* there and private, but no secret certificate */
        fprintf(stderr,
                "finsam-collector: %s; run finsam-collector keygen, or name the right file with "
                "--server-key\n",
                err);
        return EX_CONFIG;
    }
    zcert_destroy(&cert);
    /* SIGHUP (reload the allow-lists) is read by the server's loop through
     * a signalfd: blocked here, before any thread starts, so that every
     * thread inherits the mask and none takes its default action. */
    sigset_t hup;
    sigemptyset(&hup);
    sigaddset(&hup, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &hup, NULL);
    /* The heap policy of a process that runs for months, set before any
     * thread: blocks of 128 KiB and more are mapped on their own and
     * unmapped when freed (glibc would otherwise raise that threshold to
     * the largest block ever freed, and a publication's buffers of tens of
     * MiB would then stay in the heap), and two arenas rather than eight
     * per core, so that the threads' freed memory gathers where the idle
     * trim (server_loop.c) finds it. */
    mallopt(M_MMAP_THRESHOLD, 128 * 1024);
    mallopt(M_ARENA_MAX, 2);
    zsys_init();
    prologue_signals(&s_stop);

    bool streams = strcmp(o.stream_events, "off") != 0;
    server_config_t config = {o.data_dir,
                              o.endpoint,
                              o.server_key,
                              o.allow_dir,
                              o.subscriber_dir,
                              o.catalogue,
                              o.endpoint_file,
                              (int) o.max_batches,
                              params,
                              (int) o.publish_interval,
                              (int) o.publish_max_age,
                              {streams ? o.stream_events : "", o.stream_aggregates, o.stream_replay,
                               o.stream_endpoint_file, NULL, (int) o.stream_hwm}};
    server_t *server = NULL;
    fin_err_t frc = server_open(&server, &config, err, sizeof err);
    if (frc != FIN_OK || !server) {
        fprintf(stderr, "finsam-collector: %s\n", err);
        return frc != FIN_OK ? s_exit_code(frc) : EX_SOFTWARE;
    }
    /* The HTTP thread borrows the ledger, catalogue and metrics: it is
     * started after the server and stopped before it. */
    http_t *http = NULL;
    if (http_on) {
        http_config.protect = server_protect(server);
        http =
            http_new(&http_config, server_ledger(server), server_catalogue(server), server_metrics(server));
        if (!http) {
            server_destroy(&server);
            return EX_UNAVAILABLE;
        }
    }
    frc = server_run(server, &s_stop);
    http_destroy(&http);
    server_destroy(&server);
    return s_exit_code(frc);
}
