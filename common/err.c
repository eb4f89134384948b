/* err.c: names, translations and exit codes of fin_err_t (see err.h). */
#include "err.h"

#include <errno.h>
#include <lmdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <sysexits.h>

static const struct {
    const char *name;
    int exit_code;
} s_codes[] = {
    [FIN_OK] = {"ok", EX_OK},
    [FIN_EINPUT] = {"bad input", EX_DATAERR},
    [FIN_ECONFIG] = {"bad configuration", EX_CONFIG},
    [FIN_ENOTFOUND] = {"not found", EX_NOINPUT},
    [FIN_EPERM] = {"not allowed", EX_NOPERM},
    [FIN_EVERSION] = {"another version", EX_DATAERR},
    [FIN_EFULL] = {"disk or store full", EX_CANTCREAT},
    [FIN_ECORRUPT] = {"stored data is damaged", EX_DATAERR},
    [FIN_EIO] = {"input/output error", EX_IOERR},
    [FIN_ENOMEM] = {"out of memory", EX_OSERR},
    [FIN_EAGAIN] = {"busy or unreachable, try again", EX_TEMPFAIL},
    [FIN_EINTERNAL] = {"internal error", EX_SOFTWARE},
    [FIN_EUSAGE] = {"wrong command line", EX_USAGE},
};

static int s_known(fin_err_t code)
{
    return (int) code >= 0 && (size_t) code < sizeof s_codes / sizeof s_codes[0];
}

const char *fin_strerror(fin_err_t code)
{
    return s_known(code) ? s_codes[code].name : "unknown error";
}

fin_err_t fin_fail(char *err, size_t errlen, fin_err_t code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

fin_err_t fin_from_mdb(int rc)
{
    switch (rc) {
    case MDB_SUCCESS: return FIN_OK;
    case MDB_NOTFOUND: return FIN_ENOTFOUND;
    case MDB_KEYEXIST: return FIN_EINPUT;
    case MDB_MAP_FULL:
    case MDB_DBS_FULL:
    case MDB_READERS_FULL:
    case MDB_TXN_FULL: return FIN_EFULL;
    case MDB_CORRUPTED:
    case MDB_PAGE_NOTFOUND:
    case MDB_INVALID: return FIN_ECORRUPT;
    case MDB_VERSION_MISMATCH: return FIN_EVERSION;
    case MDB_MAP_RESIZED:
    case MDB_BAD_RSLOT: return FIN_EAGAIN;
    default: return rc > 0 ? fin_from_errno(rc) : FIN_EINTERNAL;
    }
}

fin_err_t fin_from_errno(int errnum)
{
    switch (errnum) {
    case 0: return FIN_OK;
    case ENOENT:
    case ENOTDIR: return FIN_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS: return FIN_EPERM;
    case ENOSPC:
    case EDQUOT:
    case EFBIG: return FIN_EFULL;
    case ENOMEM: return FIN_ENOMEM;
    case EAGAIN:
    case EBUSY:
    case EINTR: return FIN_EAGAIN;
    case EINVAL: return FIN_EINPUT;
    default: return FIN_EIO;
    }
}

int fin_exit_code(fin_err_t code)
{
    return s_known(code) ? s_codes[code].exit_code : EX_SOFTWARE;
}
