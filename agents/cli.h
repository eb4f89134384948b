/* cli.h: the parts of the finsam-agent binary (main.c, cli.c, cmd_*.c).
 * Not a library: nothing outside the binary includes this.
 *
 * main.c parses the options into `o` and calls one command; a command
 * (cmd_keys.c, cmd_import.c, cmd_outbox.c) loads what it needs with the
 * cli_ helpers, runs the library, prints why it failed and returns the
 * sysexits code the --help epilog and docs/operations-agent.md list. Only
 * these files turn an error into an exit status.
 *
 * Layout of the data directory (--data-dir):
 *   keys/agent.key, keys/agent.key_secret   CURVE certificate (keygen)
 *   keys/pseudonym.key                       site key for pseudonyms (keygen)
 *   keys/collector.key                       collector public cert (copied in)
 *   outbox/                                  LMDB outbox
 *
 * A spool directory (run --spool DIR) is outside the data directory: it is
 * where staff drop exports, and it never holds a key. */
#ifndef FINSAM_AGENT_CLI_H
#define FINSAM_AGENT_CLI_H

#include "anonymize.h"
#include "catalogue.h"
#include "codec.h"
#include "err.h"
#include "insatser.h"
#include "mapping.h"
#include "report_text.h"
#include "outbox.h"
#include "spool.h"

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>

/* The options, filled by main.c from its option table (and --config). */
typedef struct {
    char *data_dir, *forbund, *collector, *server_key, *catalogue, *log_level, *agent_id;
    char *mapping, *spool, *passphrase_file, *format, *out, *sheet, *lang;
    long year, half, batch_size, window, ack_timeout_ms, events, seed, retention_days,
        rejected_retention_days;
    long connect_timeout, unreachable_timeout, outbox_quota_mb;
    bool dry_run, no_send, exit_when_empty, check_config;
} cli_options_t;

extern cli_options_t o;
extern const char *cli_config;         /* --config FILE, or NULL */
extern volatile sig_atomic_t cli_stop; /* set by SIGINT/SIGTERM */

/* ---- cli.c: what the commands load, each printing why it failed ---- */

/* DATA/rel into out. */
void cli_path(char *out, size_t len, const char *rel);

/* A secret key file before it is loaded: 0, EX_CONFIG if it is not there
 * ("no such file: PATH; run finsam-agent keygen" and or_else, if not NULL,
 * on the same line), EX_NOPERM (77) if group or others may read it, after
 * printing why in one line. */
int cli_check_secret(const char *path, const char *or_else);

/* The collector's public key file: --server-key, or DATA/keys/collector.key
 * (into out). */
void cli_server_key_path(char *out, size_t len);

/* Whether path can be the collector's public key: 0, or EX_CONFIG with why
 * (in --lang, naming the file) when it holds a secret key, is this agent's
 * own certificate (keys/agent.key) or another agent's (forbund metadata).
 * A missing or unparsable file is 0 here: the loaders name that. */
int cli_check_server_key(const char *path, char *why, size_t len);

/* The förbund: --forbund, or the agent certificate's metadata; both must
 * agree when both exist. Writes into out. Returns 0 or EX_CONFIG. */
int cli_forbund(char *out, size_t len);

/* The site key, catalogue, outbox, mapping (NULL without --mapping) and
 * insats codes. Each returns 0 or a sysexits code after printing why. */
int cli_load_anon(anon_t **anon);
int cli_load_catalogue(catalogue_t **cat);
int cli_open_outbox(outbox_t **outbox);
int cli_load_mapping(mapping_t **map, const catalogue_t *cat);

/* --lang: the language of reports, drafts and status (Swedish unless en). */
report_lang_t cli_lang(void);
int cli_load_insatser(insatser_t **ins, const mapping_t *map);

/* Sends the outbox (watching spool when not NULL) until cli_stop, or with
 * --exit-when-empty until the queue is empty. Returns 0 or a sysexits code. */
int cli_run_sender(outbox_t *outbox, const char *forbund, spool_t *spool);

/* check-config (and --check-config): everything a command would load,
 * one line per check (common/check.h); connects nowhere, changes nothing.
 * Returns 0 or the exit code of the first failure (66, 77, 78). */
int cli_check_config(void);

/* ---- the commands: each returns the process's exit status ---- */

int cmd_keygen(void);                                /* cmd_keys.c */
int cmd_export_key(const char *out);                 /* cmd_keys.c */
int cmd_import_key(const char *in);                  /* cmd_keys.c */
int cmd_import(const char *file);                    /* cmd_import.c */
int cmd_run(void);                                   /* cmd_import.c */
int cmd_demo(void);                                  /* cmd_import.c */
int cmd_status(void);                                /* cmd_outbox.c */
int cmd_erase(const char *hex);                      /* cmd_outbox.c */
int cmd_mapping(const char *what, const char *file); /* cmd_mapping.c: draft, check */
int cmd_withdraw(int argc, char **argv);             /* cmd_withdraw.c: argv after "withdraw" */
int cmd_submit(void);                                /* cmd_submit.c: --year, --half */

#endif
