/* err_test.c: common/err.c, the error vocabulary: a name for every code,
 * fin_fail's one line, the translations from LMDB and errno, and the exit
 * status of every code (sysexits.h). */
#include "testutil.h"

#include "err.h"

#include <errno.h>
#include <lmdb.h>
#include <string.h>
#include <sysexits.h>

#define LAST FIN_ERR_LAST

static void test_every_code_has_a_name(void)
{
    for (int c = FIN_OK; c <= LAST; c++) {
        const char *name = fin_strerror((fin_err_t) c);
        CHECK(name && *name);
        CHECK(strcmp(name, "unknown error") != 0);
        for (int d = FIN_OK; d < c; d++) /* names tell the codes apart */
            CHECK(strcmp(name, fin_strerror((fin_err_t) d)) != 0);
    }
    CHECK(!strcmp(fin_strerror(FIN_OK), "ok"));
    CHECK(!strcmp(fin_strerror(FIN_EINPUT), "bad input"));
    CHECK(!strcmp(fin_strerror(FIN_EFULL), "disk or store full"));
    CHECK(!strcmp(fin_strerror((fin_err_t) (LAST + 1)), "unknown error"));
    CHECK(!strcmp(fin_strerror((fin_err_t) -1), "unknown error"));
}

static void test_fail_writes_the_reason(void)
{
    char err[64] = "";
    CHECK_EQ(fin_fail(err, sizeof err, FIN_EINPUT, "%s:%d: bad field '%s'", "rows.csv", 12, "age"),
             FIN_EINPUT);
    CHECK(!strcmp(err, "rows.csv:12: bad field 'age'"));
    /* Truncated to the buffer, always terminated. */
    char small[8];
    CHECK_EQ(fin_fail(small, sizeof small, FIN_EIO, "%s", "a long reason"), FIN_EIO);
    CHECK(!strcmp(small, "a long "));
    /* No buffer: only the code. */
    CHECK_EQ(fin_fail(NULL, 0, FIN_ENOTFOUND, "x %d", 1), FIN_ENOTFOUND);
    char untouched[4] = "abc";
    CHECK_EQ(fin_fail(untouched, 0, FIN_EPERM, "zzz"), FIN_EPERM);
    CHECK(!strcmp(untouched, "abc"));
}

static void test_from_mdb(void)
{
    static const struct {
        int rc;
        fin_err_t want;
    } map[] = {
        {MDB_SUCCESS, FIN_OK},
        {MDB_NOTFOUND, FIN_ENOTFOUND},
        {MDB_KEYEXIST, FIN_EINPUT},
        {MDB_MAP_FULL, FIN_EFULL},
        {MDB_DBS_FULL, FIN_EFULL},
        {MDB_READERS_FULL, FIN_EFULL},
        {MDB_TXN_FULL, FIN_EFULL},
        {MDB_CORRUPTED, FIN_ECORRUPT},
        {MDB_PAGE_NOTFOUND, FIN_ECORRUPT},
        {MDB_INVALID, FIN_ECORRUPT},
        {MDB_VERSION_MISMATCH, FIN_EVERSION},
        {MDB_MAP_RESIZED, FIN_EAGAIN},
        {MDB_BAD_RSLOT, FIN_EAGAIN},
        /* LMDB's other codes are our bugs (bad use of the API). */
        {MDB_BAD_TXN, FIN_EINTERNAL},
        {MDB_BAD_VALSIZE, FIN_EINTERNAL},
        {MDB_BAD_DBI, FIN_EINTERNAL},
        {MDB_INCOMPATIBLE, FIN_EINTERNAL},
        {MDB_TLS_FULL, FIN_EINTERNAL},
        /* errno values LMDB passes through are translated as errno. */
        {ENOSPC, FIN_EFULL},
        {ENOENT, FIN_ENOTFOUND},
        {EACCES, FIN_EPERM},
        {EIO, FIN_EIO},
        {ENOMEM, FIN_ENOMEM},
    };
    for (size_t i = 0; i < TU_NELEMS(map); i++) {
        fin_err_t got = fin_from_mdb(map[i].rc);
        if (got != map[i].want)
            fprintf(stderr, "fin_from_mdb(%d: %s) = %s, want %s\n", map[i].rc, mdb_strerror(map[i].rc),
                    fin_strerror(got), fin_strerror(map[i].want));
        CHECK_EQ(got, map[i].want);
    }
}

static void test_from_errno(void)
{
    static const struct {
        int e;
        fin_err_t want;
    } map[] = {
        {0, FIN_OK},         {ENOENT, FIN_ENOTFOUND}, {ENOTDIR, FIN_ENOTFOUND}, {EACCES, FIN_EPERM},
        {EPERM, FIN_EPERM},  {EROFS, FIN_EPERM},      {ENOSPC, FIN_EFULL},      {EDQUOT, FIN_EFULL},
        {EFBIG, FIN_EFULL},  {ENOMEM, FIN_ENOMEM},    {EAGAIN, FIN_EAGAIN},     {EBUSY, FIN_EAGAIN},
        {EINTR, FIN_EAGAIN}, {EINVAL, FIN_EINPUT},    {EIO, FIN_EIO},           {EBADF, FIN_EIO},
        {ENXIO, FIN_EIO},    {EPIPE, FIN_EIO},
    };
    for (size_t i = 0; i < TU_NELEMS(map); i++) {
        fin_err_t got = fin_from_errno(map[i].e);
        if (got != map[i].want)
            fprintf(stderr, "fin_from_errno(%s) = %s, want %s\n", strerror(map[i].e), fin_strerror(got),
                    fin_strerror(map[i].want));
        CHECK_EQ(got, map[i].want);
    }
}

static void test_exit_codes(void)
{
    static const int want[] = {
        [FIN_OK] = EX_OK,           [FIN_EINPUT] = EX_DATAERR,
        [FIN_ECONFIG] = EX_CONFIG,  [FIN_ENOTFOUND] = EX_NOINPUT,
        [FIN_EPERM] = EX_NOPERM,    [FIN_EVERSION] = EX_DATAERR,
        [FIN_EFULL] = EX_CANTCREAT, [FIN_ECORRUPT] = EX_DATAERR,
        [FIN_EIO] = EX_IOERR,       [FIN_ENOMEM] = EX_OSERR,
        [FIN_EAGAIN] = EX_TEMPFAIL, [FIN_EINTERNAL] = EX_SOFTWARE,
        [FIN_EUSAGE] = EX_USAGE,
    };
    CHECK_EQ(TU_NELEMS(want), LAST + 1);
    for (int c = FIN_OK; c <= LAST; c++) {
        CHECK_EQ(fin_exit_code((fin_err_t) c), want[c]);
        /* Only success exits 0. */
        CHECK((fin_exit_code((fin_err_t) c) == 0) == (c == FIN_OK));
    }
    CHECK_EQ(fin_exit_code((fin_err_t) (LAST + 1)), EX_SOFTWARE);
    CHECK_EQ(fin_exit_code((fin_err_t) -1), EX_SOFTWARE);
}

static const test_case_t s_cases[] = {
    {"every code has a name", test_every_code_has_a_name},
    {"fin_fail writes the reason", test_fail_writes_the_reason},
    {"LMDB codes", test_from_mdb},
    {"errno values", test_from_errno},
    {"exit codes", test_exit_codes},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
