/* unsynced.c: the guard of a store that is not synced at commit
 * (STORE_DERIVED, store.h).
 *
 * Why: an fsync per commit of the cells environment shared the disk's
 * flushes with the ingest commits that an ack waits for, and put the cells'
 * page writes in front of them (send->ack p99 of 17-28 ms at 1k events/s
 * instead of 3; docs/performance.md). The cells are derived: the log can
 * always recompute them. So they are committed without a sync, and what
 * that risks is handled here: LMDB keeps an unsynced environment intact
 * when a process dies (its pages are in the kernel's page cache), but after
 * the operating system stops without writing them back (a power cut, a
 * kernel crash) the file may hold a meta page that points to pages that
 * never reached the disk.
 *
 * The design: a writer records, durably and before its first unsynced
 * commit, the boot it writes in (the file `unsynced` beside data.mdb holds
 * /proc/sys/kernel/random/boot_id), and holds a shared flock on the
 * directory while it has the environment open; openers take it shared
 * too, and exclusive only to remove a torn environment, which no open
 * writer can have. The last writer to close
 * cleanly, after a full sync, removes the record. Whoever opens the
 * environment and finds a record of another boot knows that the system
 * stopped while it was unsynced, and removes the environment's files: it is
 * then missing, and is made again and recomputed (ledger.h). A record of
 * this boot is a process that died, which LMDB survives.
 *
 * It does not decide what a missing environment means; the caller does. */
#include "unsynced.h"

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#define S_BOOT_ID "/proc/sys/kernel/random/boot_id"
#define S_RECORD "unsynced"

struct unsynced_t {
    int dir_fd; /* the environment's directory, flocked shared while open */
};

/* This boot's id (36 characters), or "" if the kernel does not say. */
static void s_boot_id(char id[64])
{
    id[0] = '\0';
    FILE *f = fopen(S_BOOT_ID, "r");
    if (!f)
        return;
    if (!fgets(id, 64, f))
        id[0] = '\0';
    fclose(f);
    id[strcspn(id, "\n")] = '\0';
}

/* The boot recorded in the directory, "" if none. */
static void s_recorded(int dir_fd, char id[64])
{
    id[0] = '\0';
    int fd = openat(dir_fd, S_RECORD, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, id, 63);
    close(fd);
    id[n > 0 ? n : 0] = '\0';
    id[strcspn(id, "\n")] = '\0';
}

/* flock, again when a signal interrupts it. 0 or an errno code. */
static int s_lock(int fd, int op)
{
    while (flock(fd, op) < 0)
        if (errno != EINTR)
            return errno;
    return 0;
}

/* Writes this boot's record and makes it durable (file and directory)
 * before anything unsynced can reach the disk. 0 or an errno code. */
static int s_record(int dir_fd, const char *boot)
{
    char tmp[64]; /* one per process: two writers may record at once */
    snprintf(tmp, sizeof tmp, S_RECORD ".%ld", (long) getpid());
    int fd = openat(dir_fd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    size_t len = strlen(boot);
    int rc = write(fd, boot, len) == (ssize_t) len && write(fd, "\n", 1) == 1 && fsync(fd) == 0 ? 0 : errno;
    close(fd);
    if (rc == 0 && renameat(dir_fd, tmp, dir_fd, S_RECORD) < 0)
        rc = errno;
    if (rc)
        unlinkat(dir_fd, tmp, 0);
    if (rc == 0 && fsync(dir_fd) < 0)
        rc = errno;
    return rc;
}

int unsynced_enter(unsynced_t **out, const char *path, bool *write)
{
    *out = NULL;
    char boot[64], recorded[64];
    s_boot_id(boot);
    if (!boot[0])
        return ENOTSUP;
    unsynced_t *self = calloc(1, sizeof *self);
    if (!self)
        return ENOMEM;
    self->dir_fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = self->dir_fd < 0 ? errno : s_lock(self->dir_fd, LOCK_SH);
    if (rc)
        goto fail;
    /* Shared: every writer holds it so while open, and a writer of this
     * boot has recorded this boot. So a record of another boot means no
     * writer is open, and removing the files needs the lock alone. */
    s_recorded(self->dir_fd, recorded);
    if (recorded[0] && strcmp(recorded, boot) != 0) {
        if ((rc = s_lock(self->dir_fd, LOCK_EX)))
            goto fail;
        s_recorded(self->dir_fd, recorded); /* unlocked in between: again */
        if (recorded[0] && strcmp(recorded, boot) != 0) {
            unlinkat(self->dir_fd, "data.mdb", 0);
            unlinkat(self->dir_fd, "lock.mdb", 0);
            unlinkat(self->dir_fd, S_RECORD, 0);
            fsync(self->dir_fd);
            recorded[0] = '\0';
            log_warn(
                "store",
                "UNSYNCED-DISCARDED path=%s reason=written without sync in a boot that ended; made again "
                "empty and recomputed from the log",
                path);
        }
        /* Shared again. flock converts by unlocking first, so a closing
         * writer may have taken the lock in between: the record is read
         * once more below. */
        if ((rc = s_lock(self->dir_fd, LOCK_SH)))
            goto fail;
        s_recorded(self->dir_fd, recorded);
    }
    if (faccessat(self->dir_fd, "data.mdb", F_OK, 0) < 0)
        *write = true; /* missing: made now, even by a reader */
    if (!*write) {
        /* A reader writes nothing unsynced: no record, no lock held. */
        close(self->dir_fd);
        free(self);
        return 0;
    }
    /* No closer removes the record while this lock is held. */
    if (strcmp(recorded, boot) != 0 && (rc = s_record(self->dir_fd, boot)))
        goto fail;
    *out = self;
    return 0;
fail:
    if (self->dir_fd >= 0)
        close(self->dir_fd);
    free(self);
    return rc;
}

void unsynced_leave(unsynced_t **self_p, bool synced)
{
    if (!self_p || !*self_p)
        return;
    unsynced_t *self = *self_p;
    /* Synced and no other writer holds it: the record can go. Otherwise it
     * stays, and only a restart of the system makes it count. */
    if (synced && flock(self->dir_fd, LOCK_EX | LOCK_NB) == 0) {
        unlinkat(self->dir_fd, S_RECORD, 0);
        fsync(self->dir_fd);
    }
    close(self->dir_fd); /* releases the flock */
    free(self);
    *self_p = NULL;
}
