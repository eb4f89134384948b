/* testutil.h: the small harness every finsam test uses (in the spirit of
 * nng's nuts.h): named cases, checks that report file and line, temporary
 * LMDB directories, and real child processes started from build/bin.
 *
 * How to write a test (new files do it this way):
 *
 *   #include "testutil.h"
 *
 *   static void test_round_trip(void)
 *   {
 *       const char *dir = tu_tempdir();   // fresh, removed when the case ends
 *       ...build...
 *       CHECK(x == 1);
 *       CHECK_EQ(a, b);                    // prints both values
 *       ...free...
 *   }
 *
 *   static const test_case_t s_cases[] = {
 *       {"round trip", test_round_trip},
 *       {"missing directory", test_missing_dir},
 *   };
 *
 *   int main(int argc, char **argv)
 *   {
 *       return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
 *   }
 *
 * and register it in the folder's CMakeLists.txt:
 *   finsam_test(store_test store_test.c LIBS finsam_store)
 *
 * test_run forks one child per case: a failed CHECK, an abort, a crash or a
 * sanitizer report (the build uses -fno-sanitize-recover, so a report ends
 * the process) fails that case only, names it, and the next cases still
 * run. The output is one line per case, "ok   NAME (0.01 s)" or
 * "FAIL NAME: file:line: CHECK failed: expr" (or the signal, or the exit
 * status), then "N cases: N ok, N failed". The exit status is 0 iff every
 * selected case passed.
 *
 * Each case builds what it needs and frees it. State made in main() before
 * test_run is copied into every case by fork(): fine for plain data (a
 * catalogue, a key), never for an LMDB environment or a ZeroMQ context,
 * which must not cross fork(). Processes a case starts with tu_spawn are
 * killed when the case ends, however it ends (each case is a process group).
 *
 * Command line of every such test binary:
 *   store_test                  all cases
 *   store_test "round trip" ... the cases of these exact names
 *   store_test -k grow          the cases whose names contain "grow"
 *   store_test -l               list the names
 *   store_test --no-fork NAME   run in this process (for gdb): stops at
 *                               the first failure
 * FINSAM_CASE_TIMEOUT=SECONDS fails a case that runs longer (default: none,
 * ctest's timeout applies to the whole binary).
 *
 * The older style still works and means "stop at the first failure":
 *
 *   static void test_roundtrip(void) { CHECK(x == 1); CHECK_EQ(a, b); }
 *   int main(void) { RUN(test_roundtrip); return tu_result(); }
 *
 * Outside test_run a failed CHECK prints the expression and exits the
 * process with status 1. */
#ifndef FINSAM_TESTUTIL_H
#define FINSAM_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

/* Reports a failed check (file:line: text) and ends the case (or, outside
 * test_run, the process) with status 1. CHECK and CHECK_EQ call it. */
void tu_check_failed(const char *file, int line, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond))                                                                                         \
            tu_check_failed(__FILE__, __LINE__, "CHECK failed: %s", #cond);                                  \
    } while (0)

#define CHECK_EQ(a, b)                                                                                       \
    do {                                                                                                     \
        long long _a = (long long) (a), _b = (long long) (b);                                                \
        if (_a != _b)                                                                                        \
            tu_check_failed(__FILE__, __LINE__, "CHECK_EQ failed: %s = %lld, %s = %lld", #a, _a, #b, _b);    \
    } while (0)

/* A named case of a test file's table (see the top of this file). */
typedef struct {
    const char *name;
    void (*fn)(void);
} test_case_t;

#define TU_NELEMS(a) (sizeof(a) / sizeof((a)[0]))

/* Runs the cases selected by argv (all by default), each in a forked child,
 * and prints one line per case and a summary to stdout. Returns 0 iff all
 * selected cases passed, 1 if any failed, 2 for bad usage (an unknown case
 * name, a -k that selects nothing). */
int test_run(const test_case_t *cases, size_t n, int argc, char **argv);

#define RUN(fn)                                                                                              \
    do {                                                                                                     \
        fprintf(stderr, "== %s\n", #fn);                                                                     \
        fn();                                                                                                \
        fprintf(stderr, "ok %s\n", #fn);                                                                     \
    } while (0)

static inline int tu_result(void)
{
    return 0;
}

/* Makes a fresh directory /tmp/finsam-test-XXXXXX; path stays valid for the
 * process (at most 16 per process, so per case under test_run). Removed at
 * exit (at the end of the case that made it) unless FINSAM_KEEP_TMP is set. */
const char *tu_tempdir(void);

/* Runs fn with stderr (fd 2) in a file of tu_tempdir and returns what fn
 * wrote there (caller frees). For tests of log lines. */
char *tu_stderr_of(void (*fn)(void));

/* Removes a directory tree. */
void tu_rmrf(const char *path);

/* Absolute path of a finsam binary in the build tree ($FINSAM_BIN/name). */
const char *tu_bin(const char *name);

/* Path of a file in the source tree ($FINSAM_SRC/rel). */
const char *tu_src(const char *rel);

/* Starts argv[0..] (NULL-terminated) with stdout+stderr appended to log_path
 * (or inherited if NULL). Returns the pid. */
pid_t tu_spawn(char *const argv[], const char *log_path);

/* Waits up to timeout_ms for pid to exit; returns its exit status (0-255),
 * 128+signal if killed, or -1 on timeout (the child is left running). */
int tu_wait(pid_t pid, int timeout_ms);

/* Runs argv to completion (timeout_ms) and returns its exit status as
 * tu_wait, with output to log_path. */
int tu_run(char *const argv[], const char *log_path, int timeout_ms);

/* Like tu_run but captures stdout into a malloc'd string (caller frees). */
int tu_capture(char *const argv[], char **out, int timeout_ms);

/* Sends sig and reaps the child. */
void tu_kill(pid_t pid, int sig);

/* Picks a free TCP port on 127.0.0.1 (bind to 0, read, close). The port is
 * only likely to stay free; tests that can read ZMQ_LAST_ENDPOINT do. */
int tu_free_port(void);

/* Polls until pred(arg) is true or timeout_ms passes; returns pred's last
 * value. For waiting on observable state (a file appears, a count reached),
 * never as a sleep. */
bool tu_wait_for(bool (*pred)(void *), void *arg, int timeout_ms);

/* Reads a whole file into a malloc'd NUL-terminated string, or NULL. */
char *tu_read_file(const char *path);

/* Writes text to path (truncating); 0 or -1. */
int tu_write_file(const char *path, const char *text);

/* True if the file contains text; otherwise prints what it does contain. */
bool tu_file_has(const char *path, const char *text);
/* True if the file can be read and does not contain text; otherwise
 * prints what it holds. */
bool tu_file_lacks(const char *path, const char *text);
/* How many times text occurs in the file at path (0 if it cannot be read). */
int tu_count_in_file(const char *path, const char *text);

/* How many times the bytes needle[0..len) occur in the file at path
 * (binary-safe; 0 if it cannot be read). */
long tu_count_bytes_in_file(const char *path, const void *needle, size_t len);

/* The same summed over every regular file under dir (not following
 * links); prints each file that holds some, for the failure report. */
long tu_count_bytes_in_tree(const char *dir, const void *needle, size_t len);

/* Writes text to dir/name and returns the path (one of 8 rotating buffers). */
const char *tu_file_in(const char *dir, const char *name, const char *text);

#endif
