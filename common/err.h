/* err.h: the one error vocabulary of finsam's libraries.
 *
 * A library function that can fail returns a fin_err_t (FIN_OK is 0) and
 * writes the reason, one line for a person, into the caller's buffer
 * (char *err, size_t errlen): what failed, where (file, line, column when
 * there is one), why, and what to do. The code says what kind of failure
 * it is, so a caller decides by the code (retry, answer 400, exit) and
 * shows the text. Reasons never carry personal data.
 *
 * Only the binaries' own files turn a code into a process exit status
 * (fin_exit_code, sysexits.h): collector/main.c, ctl/ctl.c (finsamctl's
 * main), and agents/main.c with the command files it dispatches to
 * (agents/cli.c, agents/cmd_*.c). Only web/answer.c turns one into an HTTP
 * status. LMDB's own codes stay inside the layers that hold transactions
 * (store/, count/, report/'s readers) and are translated where a reason
 * leaves them (fin_from_mdb, fin_from_errno).
 * The wire's RejectCode (proto/finsam.proto) is data sent to an agent,
 * not an error of this process. */
#ifndef FINSAM_ERR_H
#define FINSAM_ERR_H

#include <stddef.h>

typedef enum {
    FIN_OK = 0,
    FIN_EINPUT,    /* the input is wrong (a file, a row, a request): fix it */
    FIN_ECONFIG,   /* an option, a config file or a key file is wrong */
    FIN_ENOTFOUND, /* what was named does not exist */
    FIN_EPERM,     /* not allowed: permissions, an unknown key, a revoked agent */
    FIN_EVERSION,  /* a store or file of another version: migrate or upgrade */
    FIN_EFULL,     /* the disk or the store's map is full */
    FIN_ECORRUPT,  /* stored data fails its checks */
    FIN_EIO,       /* the operating system failed a read, write or sync */
    FIN_ENOMEM,    /* out of memory */
    FIN_EAGAIN,    /* busy or unreachable now; the same call may work later */
    FIN_EINTERNAL, /* a bug: a check that cannot fail did */
    FIN_EUSAGE,    /* the command line is wrong: see --help */
} fin_err_t;
#define FIN_ERR_LAST FIN_EUSAGE /* the highest code; a new one goes after it */

/* A short name of the kind of failure ("bad input", "store full"). */
const char *fin_strerror(fin_err_t code);

/* Writes the reason (printf format) into err when err is not NULL and
 * returns code, so a failure is one line: return fin_fail(err, errlen,
 * FIN_EINPUT, "%s:%d: ...", ...). */
fin_err_t fin_fail(char *err, size_t errlen, fin_err_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* The code of an LMDB return value (MDB_MAP_FULL -> FIN_EFULL, ...) or of
 * an errno value (ENOENT -> FIN_ENOTFOUND, ENOSPC -> FIN_EFULL, ...). */
fin_err_t fin_from_mdb(int rc);
fin_err_t fin_from_errno(int errnum);

/* The sysexits.h status a program exits with for code: for main.c only. */
int fin_exit_code(fin_err_t code);

#endif
