/* testutil.c: see testutil.h. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char s_tmp[16][128];
static int s_ntmp;
/* The first directory this process made: a case's child inherits its
 * parent's list and must remove only its own. */
static int s_tmp_first;

static void s_cleanup(void)
{
    if (getenv("FINSAM_KEEP_TMP"))
        return;
    for (int i = s_tmp_first; i < s_ntmp; i++)
        tu_rmrf(s_tmp[i]);
}

const char *tu_tempdir(void)
{
    if (s_ntmp == 16)
        abort();
    if (s_ntmp == 0)
        atexit(s_cleanup);
    char *p = s_tmp[s_ntmp++];
    strcpy(p, "/tmp/finsam-test-XXXXXX");
    if (!mkdtemp(p)) {
        perror("mkdtemp");
        exit(1);
    }
    return p;
}

char *tu_stderr_of(void (*fn)(void))
{
    static int n;
    char path[512];
    snprintf(path, sizeof path, "%s/stderr-%d", tu_tempdir(), n++);
    fflush(stderr);
    int saved = dup(2);
    FILE *f = fopen(path, "w");
    CHECK(f && saved >= 0);
    dup2(fileno(f), 2);
    fclose(f);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    char *text = tu_read_file(path);
    CHECK(text);
    return text;
}

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

void tu_rmrf(const char *path)
{
    nftw(path, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

const char *tu_bin(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    const char *dir = getenv("FINSAM_BIN");
    snprintf(p, 512, "%s/%s", dir ? dir : "build/bin", name);
    return p;
}

const char *tu_src(const char *rel)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    const char *dir = getenv("FINSAM_SRC");
    snprintf(p, 512, "%s/%s", dir ? dir : ".", rel);
    return p;
}

/* Children still running when a test exits (a failed CHECK exits at once)
 * are killed, so a failing test never leaves collectors or agents behind. */
static pid_t s_children[256];
static int s_nchildren;

static void s_kill_children(void)
{
    /* waitpid says 0 only for our own child still running: a reaped pid
     * (ECHILD) is never signalled, even if the number was reused. */
    for (int i = 0; i < s_nchildren && i < 256; i++)
        if (s_children[i] > 0 && waitpid(s_children[i], NULL, WNOHANG) == 0) {
            kill(s_children[i], SIGKILL);
            waitpid(s_children[i], NULL, 0);
        }
}

pid_t tu_spawn(char *const argv[], const char *log_path)
{
    fflush(NULL);
    if (s_nchildren == 0)
        atexit(s_kill_children);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        exit(1);
    }
    if (pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    if (s_nchildren < (int) (sizeof s_children / sizeof *s_children))
        s_children[s_nchildren++] = pid;
    else
        s_children[(s_nchildren++) % 256] = pid; /* oldest are long reaped */
    return pid;
}

int tu_wait(pid_t pid, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        int status;
        pid_t r = waitpid(pid, &status, WNOHANG);
        if (r == pid)
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        if (r < 0)
            return -1;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= timeout_ms)
            return -1;
        usleep(2000);
    }
}

int tu_run(char *const argv[], const char *log_path, int timeout_ms)
{
    pid_t pid = tu_spawn(argv, log_path);
    int rc = tu_wait(pid, timeout_ms);
    if (rc == -1) {
        fprintf(stderr, "timeout running %s\n", argv[0]);
        tu_kill(pid, SIGKILL);
    }
    return rc;
}

int tu_capture(char *const argv[], char **out, int timeout_ms)
{
    static const char *dir;
    static int n;
    if (!dir)
        dir = tu_tempdir();
    char path[256];
    snprintf(path, sizeof path, "%s/capture-%d.out", dir, n++);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        dup2(fd, 1);
        close(fd);
        execv(argv[0], argv);
        _exit(127);
    }
    int rc = tu_wait(pid, timeout_ms);
    if (rc == -1)
        tu_kill(pid, SIGKILL);
    *out = tu_read_file(path);
    unlink(path);
    return rc;
}

void tu_kill(pid_t pid, int sig)
{
    kill(pid, sig);
    int status;
    waitpid(pid, &status, 0);
}

int tu_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || getsockname(fd, (struct sockaddr *) &a, &len) < 0) {
        perror("tu_free_port");
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

bool tu_wait_for(bool (*pred)(void *), void *arg, int timeout_ms)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (pred(arg))
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        long ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (ms >= timeout_ms)
            return pred(arg);
        usleep(10000);
    }
}

char *tu_read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    /* Read in chunks: /proc files report size 0. */
    size_t len = 0, cap = 4096;
    char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + len, 1, cap - len - 1, f)) > 0) {
        len += got;
        if (cap - len < 2) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
    }
    if (buf)
        buf[len] = '\0';
    fclose(f);
    return buf;
}

int tu_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    fputs(text, f);
    return fclose(f);
}

bool tu_file_has(const char *path, const char *text)
{
    char *content = tu_read_file(path);
    bool found = content && strstr(content, text);
    if (!found)
        fprintf(stderr, "expected in %s: %s\n--- it holds ---\n%s\n", path, text,
                content ? content : "(nothing)");
    free(content);
    return found;
}

bool tu_file_lacks(const char *path, const char *text)
{
    char *content = tu_read_file(path);
    bool lacks = content && !strstr(content, text);
    if (!lacks)
        fprintf(stderr, "%s repeats \"%s\":\n%s\n", path, text, content ? content : "(nothing)");
    free(content);
    return lacks;
}

int tu_count_in_file(const char *path, const char *text)
{
    char *content = tu_read_file(path);
    int n = 0;
    for (const char *p = content; p && (p = strstr(p, text)); p += strlen(text))
        n++;
    free(content);
    return n;
}

long tu_count_bytes_in_file(const char *path, const void *needle, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f || len == 0) {
        if (f)
            fclose(f);
        return 0;
    }
    /* Chunks overlapping by len - 1 bytes, so a match across a boundary
     * is counted once. */
    size_t cap = ((size_t) 1 << 20) + len;
    char *buf = malloc(cap);
    long n = 0;
    size_t keep = 0, got;
    while (buf && (got = fread(buf + keep, 1, cap - keep, f)) > 0) {
        size_t have = keep + got;
        for (char *p = buf; (p = memmem(p, (size_t) (buf + have - p), needle, len)); p++)
            n++;
        keep = have >= len - 1 ? len - 1 : have;
        memmove(buf, buf + have - keep, keep);
    }
    free(buf);
    fclose(f);
    return n;
}

static const void *s_needle;
static size_t s_needle_len;
static long s_found;

static int s_count_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) ftw;
    if (flag == FTW_F) {
        long n = tu_count_bytes_in_file(path, s_needle, s_needle_len);
        if (n)
            fprintf(stderr, "  %ld in %s\n", n, path);
        s_found += n;
    }
    return 0;
}

long tu_count_bytes_in_tree(const char *dir, const void *needle, size_t len)
{
    s_needle = needle;
    s_needle_len = len;
    s_found = 0;
    if (nftw(dir, s_count_one, 8, FTW_PHYS) != 0)
        return -1;
    return s_found;
}

const char *tu_file_in(const char *dir, const char *name, const char *text)
{
    static char paths[8][256];
    static int next;
    char *p = paths[next++ % 8];
    snprintf(p, 256, "%s/%s", dir, name);
    CHECK_EQ(tu_write_file(p, text), 0);
    return p;
}

/* ---- named cases ------------------------------------------------------
 *
 * Each case runs in a child of its own. The child tells the parent why it
 * failed through a page shared across fork() (the failed CHECK's
 * file:line: expression, or the sanitizer's summary); the parent reads it
 * once the child has been reaped, so nothing can block on a pipe that a
 * grandchild still holds open. How the child ended (status, signal) is the
 * verdict; the page only explains it. */

typedef struct {
    char why[1024]; /* first failure reported in the case's process */
} s_record_t;

static s_record_t *s_record; /* non-NULL inside a case's child */

static void s_note(const char *text)
{
    if (s_record && !s_record->why[0])
        snprintf(s_record->why, sizeof s_record->why, "%s", text);
}

void tu_check_failed(const char *file, int line, const char *fmt, ...)
{
    char text[1024];
    int n = snprintf(text, sizeof text, "%s:%d: ", file, line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text + n, sizeof text - (size_t) n, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s\n", text);
    s_note(text);
    exit(1);
}

/* The sanitizer runtimes' hooks, present only in a sanitized build (weak:
 * NULL otherwise). A report ends the process (-fno-sanitize-recover), and
 * these let it say so before the parent sees the bare exit status. */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));
extern void __asan_set_error_report_callback(void (*callback)(const char *)) __attribute__((weak));

static void s_on_asan_report(const char *report)
{
    const char *p = strstr(report, "ERROR: AddressSanitizer");
    if (!p)
        p = strstr(report, "ERROR: LeakSanitizer");
    if (!p)
        return;
    char line[512];
    size_t len = strcspn(p, "\n");
    snprintf(line, sizeof line, "%.*s", (int) (len < 400 ? len : 400), p);
    s_note(line);
}

/* UBSan's hook for each report (a weak symbol of libubsan, overridden
 * here): the message itself, since UBSan's own runtime may not share
 * ASan's death callback. */
extern void __ubsan_get_current_report_data(const char **kind, const char **message, const char **file,
                                            unsigned *line, unsigned *col, char **address)
    __attribute__((weak));
void __ubsan_on_report(void);
void __ubsan_on_report(void)
{
    if (!__ubsan_get_current_report_data)
        return;
    const char *kind = NULL, *message = NULL, *file = NULL;
    unsigned line = 0, col = 0;
    char *address = NULL;
    __ubsan_get_current_report_data(&kind, &message, &file, &line, &col, &address);
    char text[512];
    snprintf(text, sizeof text, "%s:%u:%u: runtime error: %s", file ? file : "?", line, col,
             message ? message : (kind ? kind : "undefined behaviour"));
    s_note(text);
}

static void s_on_sanitizer_death(void)
{
    s_note("sanitizer report (printed above)");
}

static double s_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double) t.tv_sec + (double) t.tv_nsec / 1e9;
}

/* In the child: becomes a case of its own, runs it, exits 0 if it
 * returns. Never returns. */
static void s_case_child(const test_case_t *c, pid_t parent)
{
    setpgid(0, 0); /* the parent kills what the case leaves behind by group */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) /* the parent died before prctl */
        _exit(1);
    s_tmp_first = s_ntmp;
    if (__sanitizer_set_death_callback)
        __sanitizer_set_death_callback(s_on_sanitizer_death);
    if (__asan_set_error_report_callback)
        __asan_set_error_report_callback(s_on_asan_report);
    c->fn();
    fflush(NULL);
    exit(0);
}

/* Waits until the case's child has ended, without reaping it: while it is
 * a zombie its pid cannot be reused, so killing its process group
 * afterwards can only reach what the case started. Returns 0, or -1 if it
 * outlived timeout_s (then it is killed, and also left unreaped). */
static int s_case_wait(pid_t pid, long timeout_s)
{
    double end = s_now() + (double) timeout_s;
    for (;;) {
        siginfo_t info = {0};
        int flags = WEXITED | WNOWAIT | (timeout_s > 0 ? WNOHANG : 0);
        int r = waitid(P_PID, (id_t) pid, &info, flags);
        if (r == 0 && info.si_pid == pid)
            return 0;
        if (r < 0 && errno != EINTR)
            return 0; /* not expected; the caller's waitpid reports it */
        if (timeout_s > 0 && s_now() >= end) {
            kill(-pid, SIGKILL);
            kill(pid, SIGKILL);
            return -1;
        }
        if (timeout_s > 0)
            usleep(2000);
    }
}

/* Runs one case in a child; returns true if it passed. */
static bool s_case_forked(const test_case_t *c, long timeout_s)
{
    memset(s_record, 0, sizeof *s_record);
    fprintf(stderr, "== %s\n", c->name);
    fflush(NULL);
    double start = s_now();
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0) {
        printf("FAIL %s: fork: %s\n", c->name, strerror(errno));
        return false;
    }
    if (pid == 0) {
        s_case_child(c, parent);
    }
    setpgid(pid, pid); /* also here: no race with what the child starts */
    int timed_out = s_case_wait(pid, timeout_s) < 0;
    kill(-pid, SIGKILL); /* anything the case started and left running */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    double secs = s_now() - start;
    const char *why = s_record->why;
    if (timed_out) {
        printf("FAIL %s: timed out after %ld s (FINSAM_CASE_TIMEOUT)\n", c->name, timeout_s);
        return false;
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        printf("ok   %s (%.2f s)\n", c->name, secs);
        return true;
    }
    if (WIFSIGNALED(status))
        printf("FAIL %s: killed by signal %d (%s)%s%s\n", c->name, WTERMSIG(status),
               strsignal(WTERMSIG(status)), why[0] ? ": " : "", why);
    else if (why[0])
        printf("FAIL %s: %s\n", c->name, why);
    else
        printf("FAIL %s: exit status %d\n", c->name, WEXITSTATUS(status));
    return false;
}

static void s_usage(const char *prog)
{
    fprintf(stderr, "usage: %s [-l] [--no-fork] [-k SUBSTRING]... [NAME]...\n", prog);
}

int test_run(const test_case_t *cases, size_t n, int argc, char **argv)
{
    const char *prog = argc > 0 ? argv[0] : "test";
    setvbuf(stdout, NULL, _IOLBF, 0); /* case lines in order with stderr in a log */
    bool *selected = calloc(n ? n : 1, sizeof *selected);
    if (!selected)
        return 2;
    bool any_filter = false, list = false, no_fork = false;
    int rc = 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-l") || !strcmp(a, "--list"))
            list = true;
        else if (!strcmp(a, "--no-fork"))
            no_fork = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            s_usage(prog);
            rc = 0;
            goto done;
        } else if (!strcmp(a, "-k")) {
            if (++i == argc) {
                s_usage(prog);
                goto done;
            }
            any_filter = true;
            bool hit = false;
            for (size_t j = 0; j < n; j++)
                if (strstr(cases[j].name, argv[i]))
                    selected[j] = hit = true;
            if (!hit) {
                fprintf(stderr, "%s: no case name contains '%s' (-l lists them)\n", prog, argv[i]);
                goto done;
            }
        } else if (a[0] == '-') {
            s_usage(prog);
            goto done;
        } else {
            any_filter = true;
            bool hit = false;
            for (size_t j = 0; j < n; j++)
                if (!strcmp(cases[j].name, a))
                    selected[j] = hit = true;
            if (!hit) {
                fprintf(stderr, "%s: no case named '%s' (-l lists them)\n", prog, a);
                goto done;
            }
        }
    }
    if (list) {
        for (size_t j = 0; j < n; j++)
            if (!any_filter || selected[j])
                printf("%s\n", cases[j].name);
        rc = 0;
        goto done;
    }
    if (no_fork) {
        for (size_t j = 0; j < n; j++)
            if (!any_filter || selected[j]) {
                fprintf(stderr, "== %s\n", cases[j].name);
                cases[j].fn(); /* a failed CHECK exits here */
                printf("ok   %s\n", cases[j].name);
            }
        rc = 0;
        goto done;
    }

    const char *t = getenv("FINSAM_CASE_TIMEOUT");
    long timeout_s = t ? strtol(t, NULL, 10) : 0;
    s_record = mmap(NULL, sizeof *s_record, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s_record == MAP_FAILED) {
        s_record = NULL;
        perror("mmap");
        goto done;
    }
    size_t run = 0, failed = 0;
    char failed_names[1024] = "";
    for (size_t j = 0; j < n; j++) {
        if (any_filter && !selected[j])
            continue;
        run++;
        if (!s_case_forked(&cases[j], timeout_s)) {
            size_t len = strlen(failed_names);
            snprintf(failed_names + len, sizeof failed_names - len, "%s'%s'", failed ? ", " : "",
                     cases[j].name);
            failed++;
        }
        fflush(stdout);
    }
    munmap(s_record, sizeof *s_record);
    s_record = NULL;
    printf("%zu cases: %zu ok, %zu failed%s%s\n", run, run - failed, failed, failed ? ": " : "",
           failed_names);
    fflush(stdout);
    rc = failed ? 1 : 0;
done:
    free(selected);
    return rc;
}
