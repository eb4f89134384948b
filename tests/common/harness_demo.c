/* harness_demo.c: a test binary whose cases fail on purpose, one way each,
 * for harness_test to run as a subprocess. Not registered with ctest: it
 * must fail. A passing case comes first and last, so the output shows that
 * no failure hides the cases after it. */
#include "testutil.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static void test_passes_first(void)
{
    CHECK(1 + 1 == 2);
}

static void test_check_fails(void)
{
    int answer = 41;
    CHECK(answer == 42);
    CHECK(!"not reached: a case stops at its first failed CHECK");
}

static void test_check_eq_fails(void)
{
    CHECK_EQ(6 * 7, 43);
}

static void test_segfault(void)
{
    raise(SIGSEGV);
}

static void test_aborts(void)
{
    abort();
}

static void test_exits(void)
{
    exit(3);
}

/* A heap overflow: ASan reports it and ends the process. Only in a build
 * with ASan (elsewhere it would be silent undefined behaviour). */
static void test_heap_overflow(void)
{
#if defined(__SANITIZE_ADDRESS__)
    char *volatile p = malloc(8);
    volatile char c = p[8];
    (void) c;
    free(p);
#endif
}

/* A signed overflow: UBSan reports it and ends the process
 * (-fno-sanitize-recover). Only in a build with UBSan. */
static void test_signed_overflow(void)
{
#if defined(HARNESS_UBSAN)
    volatile int big = 2147483647;
    volatile int sum = big + 1;
    (void) sum;
#endif
}

/* Starts a child that would run for a minute: the harness kills it with
 * the case, so it must not outlive the run (the parent test checks). */
static void test_leaves_child(void)
{
    char *argv[] = {"/bin/sleep", "60", NULL};
    pid_t pid = tu_spawn(argv, NULL);
    const char *path = getenv("HARNESS_DEMO_PIDFILE");
    if (path) {
        char text[32];
        snprintf(text, sizeof text, "%d\n", (int) pid);
        CHECK(tu_write_file(path, text) == 0);
    }
    raise(SIGKILL); /* no atexit: only the harness can clean up */
}

/* Runs past harness_test's FINSAM_CASE_TIMEOUT of 1 s. */
static void test_hangs(void)
{
    sleep(30);
}

static void test_passes_last(void)
{
    const char *dir = tu_tempdir();
    CHECK(tu_write_file(tu_file_in(dir, "x", "y"), "z") == 0);
}

static const test_case_t s_cases[] = {
    {"passes first", test_passes_first},
    {"check fails", test_check_fails},
    {"check_eq fails", test_check_eq_fails},
    {"segfault", test_segfault},
    {"aborts", test_aborts},
    {"exits 3", test_exits},
    {"heap overflow", test_heap_overflow},
    {"signed overflow", test_signed_overflow},
    {"leaves a child", test_leaves_child},
    {"hangs", test_hangs},
    {"passes last", test_passes_last},
};

int main(int argc, char **argv)
{
    return test_run(s_cases, TU_NELEMS(s_cases), argc, argv);
}
