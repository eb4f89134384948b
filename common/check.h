/* check.h: the `check-config` command of every finsam binary, written once
 * so that the three print the same lines and exit with the same codes.
 *
 * A check-config never binds or connects a socket and never creates or
 * changes a file, so it runs beside the service (like `nginx -t`). It
 * prints one line per check to stdout:
 *
 *   ok    data directory /var/lib/finsam (owner finsam, mode 0750)
 *   FAIL  secret key /var/lib/finsam/keys/collector.key_secret: mode 0644: readable by group or
 *         others; fix: chmod 600 /var/lib/finsam/keys/collector.key_secret
 *
 * (each on one line) and exits with the code of the first failure, so a
 * script sees the most basic problem first:
 *   66 a data directory or an input file is missing,
 *   77 permissions: a secret readable by others, a world-writable
 *      directory, a directory that cannot be read or written,
 *   78 configuration: a key, catalogue or mapping missing or unusable,
 *   65 a store of another schema (finsamctl migrate). */
#ifndef FINSAM_CHECK_H
#define FINSAM_CHECK_H

#include <stdbool.h>
#include <stdio.h>

typedef struct {
    const char *prog;
    FILE *out;
    int status;   /* exit code of the first failure, 0 while none */
    int problems; /* failed checks */
    bool sv;      /* Swedish lines (finsam-agent, read by förbund staff) */
} check_t;

/* Starts a check-config of program prog, printing its first line: the
 * options, and the config file read (NULL: none). check_init_sv does the
 * same in Swedish: "ok    ...", "FEL   ...", "; åtgärd: ..." and the
 * reasons of the checks below; the paths and codes they name stay. */
void check_init(check_t *c, const char *prog, const char *config);
void check_init_sv(check_t *c, const char *prog, const char *config);

/* The English or the Swedish text, as c says: for a caller's own lines. */
const char *check_text(const check_t *c, const char *en, const char *sv);

/* One line: "ok    ..." or "FAIL  ..." ("FEL   ..." in Swedish; the
 * message should end with "; fix: ..."). check_fail remembers exit_code if
 * it is the first. */
void check_ok(check_t *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void check_fail(check_t *c, int exit_code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Prints the summary line ("PROG: configuration ok" on stdout, or "PROG:
 * check-config: N problem(s); exit CODE" on stderr; in Swedish "PROG:
 * inställningarna är ok", "PROG: check-config: N fel; slutkod CODE") and
 * returns the exit status. */
int check_finish(check_t *c);

/* The data directory: exists (66, unless may_be_missing: then an ok line
 * saying what creates it) and is a directory, is not writable by others
 * (77), and, when another user owns it, the user who runs this may read it
 * (and write it, with need_write) (77). Returns true if it exists. */
bool check_data_dir(check_t *c, const char *what, const char *path, bool need_write, bool may_be_missing,
                    const char *create_hint);

/* A file holding a secret (CURVE secret certificate, pseudonym key, token,
 * passphrase): exists (78 "no such file: PATH; fix: HINT"), has no group
 * or other access (77), and, with is_cert, is a certificate holding a
 * secret key (78). Returns true if it passed. */
bool check_secret_file(check_t *c, const char *what, const char *path, bool is_cert,
                       const char *missing_hint);

/* A public certificate: exists (78 with missing_hint) and parses (78). */
bool check_public_cert(check_t *c, const char *what, const char *path, const char *missing_hint);

/* A directory of public certificates (an allow-list): readable (66 if
 * missing and !may_be_missing, 77 if it cannot be read); each certificate
 * parses and carries metadata meta_key that passes valid (78 naming the
 * file). The ok line counts the certificates per metadata value
 * ("3 certificates: NV=2 SK=1"). */
void check_cert_dir(check_t *c, const char *what, const char *dir, const char *meta_key,
                    bool (*valid)(const char *value), bool may_be_missing);

/* A directory the program writes into (a spool): exists (66) and the
 * program may read, write and enter it (77). */
void check_writable_dir(check_t *c, const char *what, const char *path);

#endif
