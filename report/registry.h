/* registry.h: the förbund registry, operator data beside the store.
 *
 * Which förbund exist, their names and the län (one or more) their numbers
 * roll up into is not the indicator catalogue's business: förbund join and
 * are renamed far more often than indicators change. The registry lives in
 * DATA/forbund.json, written by `finsamctl forbund add|rename` and read by
 * everything that names a förbund or rolls it up into a län (finsamctl at
 * each command; the collector at start, then its web API and its streams
 * whenever the file changes, registry_live_get):
 *
 *   {"version": 1,
 *    "forbund": {"NV": {"name": "Samordningsförbundet Norra Västmanland",
 *                       "lan": ["Västmanland"]}, ...}}
 *
 * When the file is absent the catalogue's built-in list is the registry;
 * once it exists it is the whole list (the first `add` copies the built-in
 * entries into it, so nothing disappears). The first län of a förbund is
 * the one its numbers roll up into; the others are listed.
 *
 * Not here: who may send (the collector's allow-list of certificates). */
#ifndef FINSAM_REGISTRY_H
#define FINSAM_REGISTRY_H

#include "catalogue.h"
#include "err.h"

#include <stdbool.h>
#include <stddef.h>

typedef struct registry_t registry_t;

#define REGISTRY_FILE "forbund.json"
#define REGISTRY_MAX_LAN 8

/* Reads the registry at path, or copies the catalogue's built-in list when
 * there is no file (then registry_is_file is false). Returns FIN_OK, or
 * FIN_EINPUT (the file is not a registry: the reason names what is wrong),
 * FIN_EIO, FIN_ENOMEM with the reason in err. */
fin_err_t registry_load(registry_t **out, const char *path, const catalogue_t *cat, char *err, size_t errlen);
void registry_destroy(registry_t **self_p);
bool registry_is_file(const registry_t *self);

/* Adds a förbund: code as in certificates (letters, digits, '_', '-'),
 * a name, and lan as "Län" or "Län1,Län2". FIN_EINPUT if the code exists
 * or a value is empty or malformed (the reason says which). */
fin_err_t registry_add(registry_t *self, const char *code, const char *name, const char *lan, char *err,
                       size_t errlen);

/* Renames a förbund; FIN_ENOTFOUND if the code is not registered. */
fin_err_t registry_rename(registry_t *self, const char *code, const char *name, char *err, size_t errlen);

/* Writes the registry to path through a temporary file and rename (mode
 * 0644: names and län are public), so a reader sees the old or the new
 * file. FIN_OK or FIN_EIO. */
fin_err_t registry_save(const registry_t *self, const char *path, char *err, size_t errlen);

/* Calls fn for each förbund in code order; lan is "Län1,Län2". */
typedef void (*registry_fn)(const char *code, const char *name, const char *lan, void *arg);
void registry_each(const registry_t *self, registry_fn fn, void *arg);

/* Replaces the catalogue's förbund list with the registry's (names, and
 * the first län as the roll-up län), so catalogue_lan and everything that
 * uses it see the registry. Not thread-safe: call before the catalogue is
 * shared. Returns 0, or -1 when out of memory (the catalogue unchanged). */
int registry_apply(const registry_t *self, catalogue_t *cat);

/* The name of a registered förbund, or NULL; valid while cat lives. */
const char *registry_forbund_name(const catalogue_t *cat, const char *code);

/* A catalogue that follows DATA/forbund.json while a server runs: for a
 * thread that answers queries (the collector's web thread). Each
 * registry_live_get stats the file; when it changed (written, replaced,
 * removed), a fresh copy of the catalogue (catalogue_file as
 * catalogue_load reads it) gets the registry applied and is returned from
 * then on. A file that does not parse is logged once per change and the
 * previous catalogue stays. base (borrowed, outliving this) is returned
 * until the first change: the caller applied the registry to it at start.
 * Not thread-safe: one thread calls get, and a pointer it returned stays
 * valid until that thread's next get. */
typedef struct registry_live_t registry_live_t;
registry_live_t *registry_live_new(const char *path, const char *catalogue_file, const catalogue_t *base);
void registry_live_destroy(registry_live_t **self_p);
const catalogue_t *registry_live_get(registry_live_t *self);

#endif
