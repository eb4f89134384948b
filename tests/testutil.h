/* testutil.h: the small harness every finsam test uses (in the spirit of
 * nng's nuts.h): named cases, checks that report file and line, temporary
 * LMDB directories, and real child processes started from build/bin.
 *
 *   static void test_roundtrip(void) { CHECK(x == 1); CHECK_EQ(a, b); }
 *   int main(void) { RUN(test_roundtrip); return tu_result(); }
 *
 * A failed CHECK prints the expression and aborts the current case's
 * process with exit 1: later cases would only report follow-on noise. */
#ifndef FINSAM_TESTUTIL_H
#define FINSAM_TESTUTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

#define CHECK(cond)                                                                                          \
    do {                                                                                                     \
        if (!(cond)) {                                                                                       \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                         \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

#define CHECK_EQ(a, b)                                                                                       \
    do {                                                                                                     \
        long long _a = (long long) (a), _b = (long long) (b);                                                \
        if (_a != _b) {                                                                                      \
            fprintf(stderr, "%s:%d: CHECK_EQ failed: %s = %lld, %s = %lld\n", __FILE__, __LINE__, #a, _a,    \
                    #b, _b);                                                                                 \
            exit(1);                                                                                         \
        }                                                                                                    \
    } while (0)

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
 * process. Removed by tu_cleanup() at exit unless FINSAM_KEEP_TMP is set. */
const char *tu_tempdir(void);

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
