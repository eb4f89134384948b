/* keys.h: CURVE key files in the standard ZeroMQ certificate format
 * (CZMQ zcert / pyzmq zmq.auth), with the secret-file rules in one place:
 * secrets are written mode 0600 and refused when group or others may read
 * them. Write keys before starting threads: CZMQ changes the umask while
 * saving a secret. */
#ifndef FINSAM_KEYS_H
#define FINSAM_KEYS_H

#include <czmq.h>
#include <stddef.h>

/* Creates PATH (public) and PATH_secret (mode 0600) with a new keypair and,
 * if forbund is not NULL, metadata `forbund = ...` (what the collector's
 * allow-list reads). Refuses to overwrite. Returns 0 or -1 with err filled. */
int keys_generate(const char *path, const char *name, const char *forbund, char *err, size_t errlen);

/* Same with any one metadata entry (e.g. "access" = "aggregates" for a
 * stream subscriber); meta_key NULL for none. */
int keys_generate_meta(const char *path, const char *name, const char *meta_key, const char *meta_value,
                       char *err, size_t errlen);

/* Loads a secret certificate (PATH_secret or a file holding both keys).
 * Refuses a file readable by group or others. Returns a new cert (caller
 * destroys with zcert_destroy) or NULL with err filled. */
zcert_t *keys_load_secret(const char *path, char *err, size_t errlen);

/* zcert_load without its leak: CZMQ 4.2 leaks the file object of a file
 * that does not parse. Reads PATH_secret instead of PATH when it exists,
 * as zcert_load does; the file is parsed with zconfig_str_load and the
 * keys decoded here. NULL if unreadable or not a ZeroMQ certificate. Every
 * certificate finsam reads (keys, allow-lists, check-config) goes through
 * it, because allow-list directories may hold anything. */
zcert_t *keys_cert_load(const char *path);

/* Loads a public certificate (e.g. the collector's key on an agent).
 * Returns a new cert or NULL with err filled. */
zcert_t *keys_load_public(const char *path, char *err, size_t errlen);

/* What a file meant to hold the collector's public certificate holds. A
 * staff member sent the wrong file is the common case: the agent's own
 * keys/agent.key (next to it), or the collector's secret key. */
typedef enum {
    KEYS_PEER_OK,       /* a public certificate, not ours, not an agent's */
    KEYS_PEER_UNUSABLE, /* missing, unreadable or not a ZeroMQ certificate */
    KEYS_PEER_OWN,      /* the public key is own_pub: the agent's own certificate */
    KEYS_PEER_AGENT,    /* it carries an agent's metadata (forbund) */
    KEYS_PEER_SECRET    /* it holds a secret key (it, or PATH_secret beside it) */
} keys_peer_t;

/* Classifies PATH as above (own_pub: the agent's own public key, 32 bytes,
 * or NULL). On KEYS_PEER_SECRET, which (when not NULL) names the file that
 * holds the secret; on KEYS_PEER_AGENT, the forbund metadata. On
 * KEYS_PEER_OK, pub (when not NULL) receives the public key. */
keys_peer_t keys_check_collector(const char *path, const uint8_t *own_pub, uint8_t *pub, char *which,
                                 size_t whichlen);

/* Checks that a file holding secret material has no group/other access.
 * Returns 0, or -1 with err filled (also when it cannot be stat'ed). */
int keys_check_private(const char *path, char *err, size_t errlen);

#endif
