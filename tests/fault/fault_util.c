/* fault_util.c: see fault_util.h. */
#include "fault_util.h"

#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t s_rng;

bool fault_long(void)
{
    const char *v = getenv("FINSAM_FAULT_LONG");
    return v && !strcmp(v, "1");
}

long fault_pick(long quick, long long_)
{
    return fault_long() ? long_ : quick;
}

/* At exit, also after a failed CHECK: SIGKILL every child still running
 * (collector, agents, tails), so a failing test leaves no process behind.
 * After a passing test there are none. */
static void s_kill_children(void)
{
    DIR *d = opendir("/proc");
    if (!d)
        return;
    struct dirent *e;
    pid_t self = getpid();
    while ((e = readdir(d))) {
        char path[300];
        snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
        char *stat = e->d_name[0] >= '1' && e->d_name[0] <= '9' ? tu_read_file(path) : NULL;
        const char *p = stat ? strrchr(stat, ')') : NULL; /* the name may hold spaces */
        int ppid = 0;
        if (p && sscanf(p + 1, " %*c %d", &ppid) == 1 && ppid == self) {
            pid_t pid = (pid_t) atoi(e->d_name);
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
        }
        free(stat);
    }
    closedir(d);
}

void fault_seed(const char *test)
{
    static bool registered;
    if (!registered) {
        /* atexit runs last-registered first: make testutil register its
         * temp-dir cleanup before us, so children die before their
         * directories are removed. */
        (void) tu_tempdir();
        atexit(s_kill_children);
        registered = true;
    }
    const char *v = getenv("FINSAM_FAULT_SEED");
    uint64_t seed = v ? strtoull(v, NULL, 10) : (uint64_t) time(NULL) ^ ((uint64_t) getpid() << 16);
    s_rng = seed;
    fprintf(stderr, "%s: %s variant, FINSAM_FAULT_SEED=%llu\n", test, fault_long() ? "long" : "quick",
            (unsigned long long) seed);
}

long fault_rand(long n)
{
    /* splitmix64, as agents/import/demo.c: reproducible from the printed seed */
    uint64_t z = (s_rng += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return n > 0 ? (long) (z % (uint64_t) n) : 0;
}

int64_t fault_now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t) t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

long fault_proc_kib(pid_t pid, const char *field)
{
    char path[64], key[64];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    snprintf(key, sizeof key, "\n%s:", field);
    char *text = tu_read_file(path);
    long kib = -1;
    char *p = text ? strstr(text, key) : NULL;
    if (p)
        kib = strtol(p + strlen(key), NULL, 10);
    free(text);
    return kib;
}

void fault_write_status_rows(FILE *f, long first, long n, const char *occupation)
{
    for (long i = first; i < first + n; i++) {
        /* Person i: born 1970-01-01 + i/900 days, birth number 100 + i%900. */
        time_t birth = (time_t) (i / 900) * 86400;
        struct tm b;
        gmtime_r(&birth, &b);
        char ten[40];
        snprintf(ten, sizeof ten, "%02d%02d%02d%03ld", b.tm_year % 100, b.tm_mon + 1, b.tm_mday,
                 100 + i % 900);
        int sum = 0;
        for (int k = 0; k < 9; k++) {
            int d = (ten[k] - '0') * (k % 2 ? 1 : 2);
            sum += d > 9 ? d - 9 : d;
        }
        /* The event: a day in 2025, spread so ids are not all one day. */
        time_t day = (time_t) (20089 + i % 300) * 86400; /* 20089 = 2025-01-01 */
        struct tm e;
        gmtime_r(&day, &e);
        fprintf(f,
                "{\"kind\":\"status\",\"personnummer\":\"%d%02d%02d-%03ld%d\",\"date\":\"%d-%02d-%02d\","
                "\"phase\":\"entry\",\"mode\":\"project\",\"occupation\":\"%s\",\"income\":\"wage\"}\n",
                b.tm_year + 1900, b.tm_mon + 1, b.tm_mday, 100 + i % 900, (10 - sum % 10) % 10,
                e.tm_year + 1900, e.tm_mon + 1, e.tm_mday, occupation);
    }
}

long fault_write_jsonl(const char *path, long first, long n, const char *occupation)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fault_write_status_rows(f, first, n, occupation);
    CHECK(fclose(f) == 0);
    return n;
}

fault_agent_counts_t fault_agent_counts(const cluster_t *c, const char *agent_dir)
{
    (void) c;
    char *argv[] = {(char *) tu_bin("finsam-agent"), "-d", (char *) agent_dir, "status", NULL};
    char *out = NULL;
    CHECK(tu_capture(argv, &out, 30000) == 0);
    fault_agent_counts_t n = {-1, -1, -1};
    const char *p;
    if (out && (p = strstr(out, "queued=")))
        n.queued = strtoll(p + 7, NULL, 10);
    if (out && (p = strstr(out, "rejected=")))
        n.rejected = strtoll(p + 9, NULL, 10);
    if (out && (p = strstr(out, "known_ids=")))
        n.known = strtoll(p + 10, NULL, 10);
    free(out);
    CHECK(n.queued >= 0 && n.rejected >= 0 && n.known >= 0);
    return n;
}

pid_t fault_spawn_limited(char *const argv[], const char *log_path, long long fsize_limit)
{
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        if (log_path) {
            int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
            if (fd >= 0) {
                dup2(fd, 1);
                dup2(fd, 2);
                close(fd);
            }
        }
        if (fsize_limit > 0) {
            /* An ignored SIGXFSZ stays ignored across exec: writes past the
             * limit then fail with EFBIG, as on a full disk. */
            signal(SIGXFSZ, SIG_IGN);
            /* Only the soft limit: the test may lift it again with prlimit
             * (space comes back) without privileges. */
            struct rlimit rl;
            getrlimit(RLIMIT_FSIZE, &rl);
            rl.rlim_cur = (rlim_t) fsize_limit;
            if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
                _exit(126);
        }
        execv(argv[0], argv);
        fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
        _exit(127);
    }
    return pid;
}

static bool s_exists(void *path)
{
    return access(path, F_OK) == 0;
}

void fault_start_collector_limited(cluster_t *c, long long fsize_limit, const char *log)
{
    char epfile[400];
    snprintf(epfile, sizeof epfile, "%s/endpoint", c->dir);
    unlink(epfile);
    char **argv = cluster_collector_argv(c, "info");
    c->collector = fault_spawn_limited(argv, log, fsize_limit);
    if (!tu_wait_for(s_exists, epfile, 20000)) {
        fprintf(stderr, "collector did not bind; log:\n%s\n", tu_read_file(log));
        CHECK(false);
    }
}

void fault_subscriber_key(cluster_t *c, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/sub-all.key", c->dir);
    char *argv[] = {(char *) tu_bin("finsamctl"), "keygen", out, "--access", "all", NULL};
    CHECK(tu_run(argv, c->log, 10000) == 0);
    char dst[512];
    snprintf(dst, sizeof dst, "%s/subscribers/all.key", c->cdir);
    char *text = tu_read_file(out);
    CHECK(text && tu_write_file(dst, text) == 0);
    free(text);
}

pid_t fault_tail_spawn(cluster_t *c, const char *key, long from, long count, const char *out_path)
{
    char sfrom[32], scount[32];
    snprintf(sfrom, sizeof sfrom, "%ld", from);
    snprintf(scount, sizeof scount, "%ld", count);
    const char *extra[] = {"--from", sfrom, "--count", scount, NULL};
    return cluster_tail_spawn(c, key, c->stream_events, out_path, extra);
}

static int s_cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

long fault_check_log(cluster_t *c, const char *key, long n, const char *forbund, char (*ids)[33],
                     long max_ids)
{
    char out[400];
    snprintf(out, sizeof out, "%s/check-log.json", c->dir);
    unlink(out);
    pid_t t = fault_tail_spawn(c, key, 1, n, out);
    int rc = tu_wait(t, 600000);
    if (rc == -1)
        tu_kill(t, SIGKILL);
    CHECK_EQ(rc, 0);
    long nids = fault_check_tail_file(out, n, forbund, ids, max_ids);
    unlink(out);
    return nids;
}

long fault_check_tail_file(const char *out, long n, const char *forbund, char (*ids)[33], long max_ids)
{
    char *text = tu_read_file(out);
    CHECK(text);
    unsigned char *seen = calloc((size_t) n + 2, 1);
    char(*all)[32] = malloc(((size_t) n + 1) * 32);
    CHECK(seen && all);
    char want[64];
    snprintf(want, sizeof want, "\"forbund\":\"%s\"", forbund ? forbund : "");
    long lines = 0, nids = 0;
    for (char *line = text; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = '\0';
        char *p = strstr(line, "\"seq\":"), *id = strstr(line, "\"event\":{\"id\":\"");
        if (p && id) {
            long seq = strtol(p + 6, NULL, 10);
            CHECK(seq >= 1 && seq <= n);
            CHECK(seen[seq] == 0);
            seen[seq] = 1;
            id += 15;
            CHECK(strlen(id) >= 32);
            memcpy(all[lines], id, 32);
            if (ids && forbund && nids < max_ids && strstr(line, want)) {
                memcpy(ids[nids], id, 32);
                ids[nids++][32] = '\0';
            }
            lines++;
        }
        line = eol ? eol + 1 : NULL;
    }
    CHECK_EQ(lines, n);
    qsort(all, (size_t) lines, 32, s_cmp_id);
    for (long i = 1; i < lines; i++)
        CHECK(memcmp(all[i - 1], all[i], 32) != 0); /* no event stored twice */
    free(all);
    free(seen);
    free(text);
    return nids;
}

long long fault_file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long) st.st_size : -1;
}

long fault_count_in_file(const char *path, const char *needle)
{
    char *text = tu_read_file(path);
    long n = 0;
    for (char *p = text ? strstr(text, needle) : NULL; p; p = strstr(p + 1, needle))
        n++;
    free(text);
    return n;
}
