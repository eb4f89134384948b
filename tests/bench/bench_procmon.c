/* bench_procmon.c: resident memory and CPU of a process, sampled from /proc
 * every --interval-ms (default 100).
 *
 *   bench_procmon [--interval-ms 100] [--out FILE] -- CMD ARGS...
 *                                                       run CMD (stdout to FILE), sample until it exits
 *   bench_procmon --pid PID --seconds S                 sample a running process for S s
 *
 * Prints one line: wall_s max_rss_kb max_anon_kb last_rss_kb last_anon_kb
 * cpu_s (utime+stime) exit. In --pid mode cpu_s is the CPU the process
 * used during the sampling window. */
#include "bench.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct {
    long max_rss, max_anon, rss, anon;
} s_mem_t;

static int s_sample(pid_t pid, s_mem_t *m)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) {
            m->rss = kb;
            if (kb > m->max_rss)
                m->max_rss = kb;
        } else if (sscanf(line, "RssAnon: %ld", &kb) == 1) {
            m->anon = kb;
            if (kb > m->max_anon)
                m->max_anon = kb;
        }
    }
    fclose(f);
    return 0;
}

static double s_cpu(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%d/stat", (int) pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces */
    unsigned long ut = 0, st = 0;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return -1;
    return (double) (ut + st) / (double) sysconf(_SC_CLK_TCK);
}

int main(int argc, char **argv)
{
    long interval = bench_opt_long(argc, argv, "--interval-ms", 100);
    long pidopt = bench_opt_long(argc, argv, "--pid", 0);
    s_mem_t m = {0};
    if (pidopt > 0) {
        double seconds = atof(bench_opt(argc, argv, "--seconds", "1"));
        pid_t pid = (pid_t) pidopt;
        double c0 = s_cpu(pid), t0 = bench_now();
        while (bench_now() - t0 < seconds && s_sample(pid, &m) == 0)
            usleep((useconds_t) interval * 1000);
        s_sample(pid, &m);
        printf("wall_s=%.3f max_rss_kb=%ld max_anon_kb=%ld last_rss_kb=%ld last_anon_kb=%ld cpu_s=%.2f "
               "exit=-1\n",
               bench_now() - t0, m.max_rss, m.max_anon, m.rss, m.anon, s_cpu(pid) - c0);
        return 0;
    }
    int i = 1;
    while (i < argc && strcmp(argv[i], "--"))
        i++;
    if (i + 1 >= argc) {
        fprintf(stderr, "usage: bench_procmon [--interval-ms N] -- CMD ARGS... | --pid PID --seconds S\n");
        return 64;
    }
    double t0 = bench_now();
    fflush(stdout);
    pid_t pid = fork();
    const char *out = bench_opt(argc, argv, "--out", NULL);
    if (pid == 0) {
        if (out && !freopen(out, "w", stdout))
            _exit(127);
        execvp(argv[i + 1], argv + i + 1);
        perror("bench_procmon: exec");
        _exit(127);
    }
    int status = 0;
    struct rusage ru;
    /* Samples every interval, but looks for the exit every millisecond:
     * a wall time rounded up to the next sample would count up to 100 ms
     * too many against a command that runs 0.4 s (the import rows). */
    for (long since = interval;; since++) {
        if (since >= interval) {
            s_sample(pid, &m);
            since = 0;
        }
        pid_t w = wait4(pid, &status, WNOHANG, &ru);
        if (w == pid)
            break;
        usleep(1000);
    }
    double wall = bench_now() - t0;
    double cpu = (double) ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double) ru.ru_stime.tv_sec +
                 ru.ru_stime.tv_usec / 1e6;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    printf("wall_s=%.3f max_rss_kb=%ld max_anon_kb=%ld last_rss_kb=%ld last_anon_kb=%ld cpu_s=%.2f exit=%d\n",
           wall, m.max_rss, m.max_anon, m.rss, m.anon, cpu, code);
    return code;
}
