/* keys.c: loading and writing CURVE certificates (see keys.h). */
#include "keys.h"

#include <errno.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keys_check_private(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & (S_IRWXG | S_IRWXO)) {
        snprintf(err, errlen, "%s: secret key file has mode %04o; refusing it (chmod 600 %s)", path,
                 (unsigned) (st.st_mode & 07777), path);
        return -1;
    }
    return 0;
}

int keys_generate(const char *path, const char *name, const char *forbund, char *err, size_t errlen)
{
    return keys_generate_meta(path, name, forbund ? "forbund" : NULL, forbund, err, errlen);
}

int keys_generate_meta(const char *path, const char *name, const char *meta_key, const char *meta_value,
                       char *err, size_t errlen)
{
    char secret[1024];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (access(path, F_OK) == 0 || access(secret, F_OK) == 0) {
        snprintf(err, errlen, "%s: already exists; refusing to overwrite a key", path);
        return -1;
    }
    zcert_t *cert = zcert_new();
    if (!cert) {
        snprintf(err, errlen, "cannot create keypair");
        return -1;
    }
    if (name)
        zcert_set_meta(cert, "name", "%s", name);
    if (meta_key && meta_value)
        zcert_set_meta(cert, meta_key, "%s", meta_value);
    int rc = zcert_save(cert, path);
    zcert_destroy(&cert);
    if (rc < 0) {
        snprintf(err, errlen, "%s: cannot write key: %s", path, strerror(errno));
        return -1;
    }
    /* zcert_save_secret already uses 0600; make sure whatever the umask. */
    if (chmod(secret, 0600) < 0) {
        snprintf(err, errlen, "%s: %s", secret, strerror(errno));
        return -1;
    }
    return 0;
}

zcert_t *keys_cert_load(const char *path)
{
    char name[4096];
    snprintf(name, sizeof name, "%s_secret", path);
    FILE *f = fopen(name, "r");
    if (!f)
        f = fopen(path, "r");
    if (!f)
        return NULL;
    char text[16384];
    size_t n = fread(text, 1, sizeof text - 1, f);
    bool whole = feof(f) && !ferror(f);
    fclose(f);
    if (!whole) /* a certificate is a few hundred bytes */
        return NULL;
    text[n] = '\0';
    zconfig_t *root = zconfig_str_load(text);
    if (!root)
        return NULL;
    const char *pub = zconfig_get(root, "curve/public-key", NULL);
    const char *sec = zconfig_get(root, "curve/secret-key", NULL);
    uint8_t pk[32], sk[32] = {0};
    zcert_t *cert = NULL;
    if (pub && strlen(pub) == 40 && zmq_z85_decode(pk, pub) &&
        (!sec || (strlen(sec) == 40 && zmq_z85_decode(sk, sec))))
        cert = zcert_new_from(pk, sk);
    zconfig_t *meta = cert ? zconfig_locate(root, "metadata") : NULL;
    for (zconfig_t *m = meta ? zconfig_child(meta) : NULL; m; m = zconfig_next(m))
        if (zconfig_name(m) && zconfig_value(m))
            zcert_set_meta(cert, zconfig_name(m), "%s", zconfig_value(m));
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(text, sizeof text);
    zconfig_destroy(&root);
    return cert;
}

zcert_t *keys_load_secret(const char *path, char *err, size_t errlen)
{
    if (keys_check_private(path, err, errlen) < 0)
        return NULL;
    /* zcert_load reads PATH_secret instead of PATH when it exists: the rule
     * is for the file it reads. */
    char secret[1024];
    snprintf(secret, sizeof secret, "%s_secret", path);
    if (access(secret, F_OK) == 0 && keys_check_private(secret, err, errlen) < 0)
        return NULL;
    zcert_t *cert = keys_cert_load(path);
    if (!cert) {
        snprintf(err, errlen, "%s: not a ZeroMQ certificate", path);
        return NULL;
    }
    static const char zero_key[41] = "0000000000000000000000000000000000000000";
    if (strcmp(zcert_secret_txt(cert), zero_key) == 0) {
        snprintf(err, errlen, "%s: holds no secret key (is it the public file?)", path);
        zcert_destroy(&cert);
        return NULL;
    }
    return cert;
}

zcert_t *keys_load_public(const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    zcert_t *cert = keys_cert_load(path);
    if (!cert) {
        snprintf(err, errlen, "%s: not a ZeroMQ certificate", path);
        return NULL;
    }
    return cert;
}

keys_peer_t keys_check_collector(const char *path, const uint8_t *own_pub, uint8_t *pub, char *which,
                                 size_t whichlen)
{
    zcert_t *cert = keys_cert_load(path);
    if (!cert)
        return KEYS_PEER_UNUSABLE;
    static const char zero_key[41] = "0000000000000000000000000000000000000000";
    keys_peer_t kind = KEYS_PEER_OK;
    const char *forbund = zcert_meta(cert, "forbund");
    /* Our own first (keys_cert_load reads agent.key_secret for agent.key),
     * then any agent's, so that their secret is not called the
     * collector's. */
    if (own_pub && memcmp(zcert_public_key(cert), own_pub, 32) == 0) {
        kind = KEYS_PEER_OWN;
    } else if (forbund) {
        if (which)
            snprintf(which, whichlen, "%s", forbund);
        kind = KEYS_PEER_AGENT;
    } else if (strcmp(zcert_secret_txt(cert), zero_key) != 0) {
        char secret[4096];
        snprintf(secret, sizeof secret, "%s_secret", path);
        if (which)
            snprintf(which, whichlen, "%s", access(secret, F_OK) == 0 ? secret : path);
        kind = KEYS_PEER_SECRET;
    } else if (pub) {
        memcpy(pub, zcert_public_key(cert), 32);
    }
    zcert_destroy(&cert);
    return kind;
}
