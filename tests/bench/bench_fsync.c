/* bench_fsync.c: how many durable writes per second this disk takes — the
 * physical bound on synchronous commits (each LMDB commit is at least one
 * fdatasync of the data file plus the meta page write).
 *
 *   bench_fsync --dir DIR [--seconds S] [--bytes B] [--append]
 * Writes B bytes (default 4096) and fdatasync()s, in a loop, for S seconds:
 * overwriting within the first MiB, or with --append at the end of a
 * growing file (a size change makes fdatasync commit the filesystem
 * journal too; LMDB's data file grows as the ledger does).
 * Prints: fsync_per_s=... us_per_fsync=... */
#include "bench.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    const char *dir = bench_opt(argc, argv, "--dir", "/tmp");
    double seconds = atof(bench_opt(argc, argv, "--seconds", "2"));
    long bytes = bench_opt_long(argc, argv, "--bytes", 4096);
    int append = bench_flag(argc, argv, "--append");
    char path[4096];
    snprintf(path, sizeof path, "%s/bench-fsync.XXXXXX", dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        perror("bench_fsync: mkstemp");
        return 74;
    }
    char *buf = calloc(1, (size_t) bytes);
    long n = 0;
    double t0 = bench_now(), t;
    do {
        if (pwrite(fd, buf, (size_t) bytes, (off_t) (append ? n : n % 256) * bytes) != bytes ||
            fdatasync(fd) != 0) {
            perror("bench_fsync: write");
            return 74;
        }
        n++;
        t = bench_now() - t0;
    } while (t < seconds);
    printf("fsync_per_s=%.0f us_per_fsync=%.1f count=%ld bytes=%ld mode=%s\n", (double) n / t,
           t * 1e6 / (double) n, n, bytes, append ? "append" : "overwrite");
    close(fd);
    unlink(path);
    free(buf);
    return 0;
}
