/* cmd_keys.c: finsam-agent keygen, export-key OUT and import-key IN.
 *
 * keygen makes the CURVE certificate and, unless one was brought over with
 * import-key, the pseudonym key; export-key and import-key move the
 * pseudonym key between machines sealed under a passphrase (keyseal.h).
 * No key is ever overwritten. */
#include "cli.h"

#include "keys.h"
#include "keyseal.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

int cmd_keygen(void)
{
    char dir[4096], cert[4096], pkey[4096], err[512];
    bool en = cli_lang() == REPORT_EN;
    if (!o.forbund || !code_is_valid(o.forbund, CODEC_FORBUND_MAX)) {
        fprintf(stderr,
                en ? "finsam-agent: keygen: --forbund CODE is required (1-%d letters, digits, '_' or '-')\n"
                   : "finsam-agent: keygen: --forbund KOD behövs (1-%d bokstäver, siffror, '_' eller '-')\n",
                CODEC_FORBUND_MAX);
        return EX_USAGE;
    }
    cli_path(dir, sizeof dir, "keys");
    cli_path(cert, sizeof cert, "keys/agent.key");
    cli_path(pkey, sizeof pkey, "keys/pseudonym.key");
    if (mkdir_p(dir, 0700) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", dir, strerror(errno));
        return EX_IOERR;
    }
    /* A pseudonym key that is already there was brought over with
     * import-key: keep it, or every participant gets a new pseudonym. */
    bool have_pkey = access(pkey, F_OK) == 0;
    if (access(cert, F_OK) == 0) {
        fprintf(stderr,
                en ? "finsam-agent: %s: already exists; refusing to overwrite a key\n"
                   : "finsam-agent: %s: finns redan; en nyckel skrivs aldrig över\n",
                cert);
        return EX_CANTCREAT;
    }
    /* The certificate's name is how the collector's operator tells this
     * agent from the förbund's others (finsamctl status, the dashboard). */
    char name[64];
    if (o.agent_id)
        snprintf(name, sizeof name, "%s", o.agent_id);
    else
        snprintf(name, sizeof name, "finsam-agent %s", o.forbund);
    if (keys_generate(cert, name, o.forbund, err, sizeof err) < 0) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    if (!have_pkey && keyseal_generate(pkey, err, sizeof err) != FIN_OK) {
        fprintf(stderr, "finsam-agent: %s\n", err);
        return EX_CANTCREAT;
    }
    log_info("agent", "KEYS-CREATED forbund=%s dir=%s pseudonym_key=%s", o.forbund, dir,
             have_pkey ? "kept" : "new");
    report_lang_t lang = en ? REPORT_EN : REPORT_SV;
    printf(report_text(lang, RT_KEYGEN_CERT), cert);
    putchar('\n');
    printf(report_text(lang, RT_KEYGEN_SECRET), cert);
    putchar('\n');
    printf(report_text(lang, have_pkey ? RT_KEYGEN_PSEUDONYM_KEPT : RT_KEYGEN_PSEUDONYM_NEW), pkey);
    putchar('\n');
    return 0;
}

/* Room for the passphrase's first line. */
#define S_PASS_CAP 1024

/* The first line of --passphrase-file in guarded memory: *pass, which the
 * caller sodium_free's (also on failure). Returns 0 or a sysexits code
 * after printing why. */
static int s_passphrase(char **pass, size_t *len)
{
    char err[512];
    *pass = NULL;
    if (!o.passphrase_file) {
        fprintf(stderr, "finsam-agent: --passphrase-file FILE is required\n");
        return EX_USAGE;
    }
    if (sodium_init() < 0 || !(*pass = sodium_malloc(S_PASS_CAP)))
        return EX_SOFTWARE;
    fin_err_t rc = keyseal_read_passphrase(o.passphrase_file, *pass, S_PASS_CAP, len, err, sizeof err);
    if (rc) {
        /* 66 missing, 77 readable by others, 74 read error, 65 too short */
        fprintf(stderr, "finsam-agent: %s\n", err);
        return fin_exit_code(rc);
    }
    return 0;
}

/* The exit status of keyseal_seal/keyseal_unseal, after printing why
 * `cmd` failed: an output that exists (FIN_EPERM) is 73 as for keygen; 66
 * no sealed file, 65 not one or the wrong passphrase, 74 write failure, 70
 * anything else. */
static int s_seal_exit(const char *cmd, fin_err_t rc, const char *err)
{
    if (rc != FIN_OK)
        fprintf(stderr, "finsam-agent: %s: %s\n", cmd, err);
    switch (rc) {
    case FIN_OK: return 0;
    case FIN_ENOTFOUND:
    case FIN_EINPUT:
    case FIN_EIO: return fin_exit_code(rc);
    case FIN_EPERM: return EX_CANTCREAT;
    default: return EX_SOFTWARE;
    }
}

int cmd_export_key(const char *out)
{
    anon_t *anon = NULL;
    char err[512];
    size_t plen = 0;
    char *pass = NULL;
    int rc = s_passphrase(&pass, &plen);
    if (rc || (rc = cli_load_anon(&anon)))
        goto done;
    fin_err_t sealed = keyseal_seal(anon, pass, plen, crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                    crypto_pwhash_MEMLIMIT_INTERACTIVE, out, err, sizeof err);
    if ((rc = s_seal_exit("export-key", sealed, err)))
        goto done;
    log_info("agent", "KEY-EXPORTED file=%s", out);
    printf(cli_lang() == REPORT_EN
               ? "sealed the pseudonym key into %s\n"
                 "keep that file and the passphrase apart; both are needed on the new machine (import-key)\n"
               : "pseudonymnyckeln är förseglad i %s\n"
                 "förvara filen och lösenfrasen åtskilda; båda behövs på en ny dator (import-key)\n",
           out);
done:
    anon_destroy(&anon);
    sodium_free(pass);
    return rc;
}

int cmd_import_key(const char *in)
{
    char dir[4096], pkey[4096], err[512];
    size_t plen = 0;
    char *pass = NULL;
    int rc = s_passphrase(&pass, &plen);
    if (rc)
        goto done;
    cli_path(dir, sizeof dir, "keys");
    cli_path(pkey, sizeof pkey, "keys/pseudonym.key");
    if (mkdir_p(dir, 0700) < 0) {
        fprintf(stderr, "finsam-agent: %s: %s\n", dir, strerror(errno));
        rc = EX_IOERR;
        goto done;
    }
    if ((rc = s_seal_exit("import-key", keyseal_unseal(in, pass, plen, pkey, err, sizeof err), err)))
        goto done;
    log_info("agent", "KEY-IMPORTED file=%s", in);
    printf(cli_lang() == REPORT_EN
               ? "wrote %s: participants keep their pseudonyms\n"
                 "next: finsam-agent keygen --forbund CODE (keeps this key, makes the CURVE certificate)\n"
               : "skrev %s: deltagarna behåller sina pseudonymer\n"
                 "nästa steg: finsam-agent keygen --forbund KOD (behåller nyckeln, gör certifikatet)\n",
           pkey);
done:
    sodium_free(pass);
    return rc;
}
