/* allowlist.h: which CURVE public keys may publish, and for which förbund.
 *
 * The allow-list is a directory of public certificates in the standard
 * ZeroMQ format; each carries metadata `forbund = "NV"` naming the one
 * förbund that key may publish for. The ZAP handler (CZMQ zauth) checks keys
 * at the handshake; this table is checked on every batch as well, because
 * CURVE authenticates only once: removing a certificate must cut a
 * connected agent off (within one refresh interval), and the förbund an
 * event may carry is bound to the handshake key, never to the payload. */
#ifndef FINSAM_ALLOWLIST_H
#define FINSAM_ALLOWLIST_H

#include <stdbool.h>

typedef struct allowlist_t allowlist_t;

/* Loads the directory (which may be empty). NULL on allocation failure. */
allowlist_t *allowlist_new(const char *dir);
void allowlist_destroy(allowlist_t **self_p);

/* Reloads if the directory changed since the last load. Cheap: one stat.
 * Returns true if the table was reloaded. */
bool allowlist_refresh(allowlist_t *self);

/* The förbund of a Z85 public key, or NULL if the key is not listed or its
 * certificate names no valid förbund. Borrowed until the next refresh. */
const char *allowlist_forbund(allowlist_t *self, const char *public_z85);

/* Number of keys listed. */
int allowlist_size(allowlist_t *self);

#endif
