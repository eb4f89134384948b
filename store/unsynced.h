/* unsynced.h: the guard of an LMDB environment committed without sync
 * (store.h, STORE_DERIVED). See unsynced.c for the reasoning. Internal to
 * store/. */
#ifndef FINSAM_UNSYNCED_H
#define FINSAM_UNSYNCED_H

#include <stdbool.h>

typedef struct unsynced_t unsynced_t;

/* Before the environment in directory `path` (which exists) is opened:
 * if a writer of an earlier boot left it unsynced, removes its files.
 * *write says whether the caller opens it for writing; it is set to true
 * when the environment is missing (the caller makes it, even a reader).
 * A writer gets *out: this boot is recorded as writing it unsynced until
 * unsynced_leave. A reader gets NULL. Returns 0, ENOTSUP when the kernel
 * names no boot (the caller must then sync every commit), or another
 * errno code. */
int unsynced_enter(unsynced_t **out, const char *path, bool *write);

/* At the writer's close, after its last commit: `synced` when a full sync
 * (mdb_env_sync with force) succeeded. The record is removed when no other
 * writer has the environment open. NULL-safe; sets *self_p to NULL. */
void unsynced_leave(unsynced_t **self_p, bool synced);

#endif
