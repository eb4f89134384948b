/* cmd_mapping.c: finsam-agent mapping draft FILE [--out M.ini] and mapping
 * check FILE --mapping M.ini: a mapping written from an export, and a
 * mapping explained against one, both without the site key and without
 * importing (draft.h, mapcheck.h). The check takes the insats codes of
 * --config, and exits 65 when rows would be refused, 78 while a decision
 * the draft marked is open.
 *
 * A draft goes to stdout unless --out names a file; an existing file is
 * never overwritten, so a draft cannot replace a mapping staff edited. */
#include "cli.h"

#include "draft.h"
#include "mapcheck.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

static int s_exit(fin_err_t rc)
{
    switch (rc) {
    case FIN_OK: return 0;
    case FIN_ENOTFOUND: return EX_NOINPUT;
    case FIN_EINPUT: return EX_DATAERR;
    case FIN_ENOMEM: return EX_SOFTWARE;
    default: return EX_IOERR;
    }
}

static int s_draft(const char *file)
{
    catalogue_t *cat = NULL;
    int rc = cli_load_catalogue(&cat);
    if (rc)
        return rc;
    FILE *out = stdout;
    if (o.out) {
        int fd = open(o.out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0 || !(out = fdopen(fd, "w"))) {
            bool exists = errno == EEXIST;
            if (cli_lang() == REPORT_EN)
                fprintf(stderr, "finsam-agent: %s: cannot create: %s%s\n", o.out, strerror(errno),
                        exists ? " (a draft never replaces a mapping; choose another name)" : "");
            else if (exists)
                fprintf(stderr,
                        "finsam-agent: %s: finns redan; ett förslag ersätter aldrig en mappning: välj ett "
                        "annat namn\n",
                        o.out);
            else
                fprintf(stderr, "finsam-agent: %s: kan inte skapas: %s\n", o.out, strerror(errno));
            errno = exists ? EEXIST : errno;
            if (fd >= 0)
                close(fd);
            catalogue_destroy(&cat);
            return errno == EEXIST ? EX_CANTCREAT : EX_IOERR;
        }
    }
    char err[512];
    int decisions = 0;
    fin_err_t frc = draft_write(file, o.sheet, cat, cli_lang(), out, &decisions, err, sizeof err);
    if (out != stdout && fclose(out) != 0 && frc == FIN_OK) {
        fprintf(stderr, "finsam-agent: %s: write error: %s\n", o.out, strerror(errno));
        catalogue_destroy(&cat);
        return EX_IOERR;
    }
    if (frc != FIN_OK) {
        fprintf(stderr, "finsam-agent: mapping draft: %s\n", err);
        if (o.out)
            unlink(o.out);
    } else if (o.out) {
        if (cli_lang() == REPORT_EN)
            fprintf(stderr, "%s: drafted from %s; %d decision%s needed (listed at its end)\n", o.out, file,
                    decisions, decisions == 1 ? "" : "s");
        else
            fprintf(stderr, "%s: utkast från %s; %d beslut behövs (listade i slutet)\n", o.out, file,
                    decisions);
    }
    catalogue_destroy(&cat);
    return s_exit(frc);
}

static int s_check(const char *file)
{
    if (!o.mapping) {
        fprintf(stderr, "finsam-agent: mapping check: --mapping M.ini is required\n");
        return EX_USAGE;
    }
    catalogue_t *cat = NULL;
    mapping_t *map = NULL;
    insatser_t *ins = NULL;
    char err[512];
    int rc;
    if ((rc = cli_load_catalogue(&cat)) || (rc = cli_load_mapping(&map, cat)))
        goto done;
    /* The insats codes of --config, if any: without them a mapping that
     * reads insats has its rows refused, with the reason (as import). */
    if (cli_config ? insatser_load(&ins, cli_config, err, sizeof err) != FIN_OK
                   : !(ins = insatser_new("the configuration"))) {
        fprintf(stderr, "finsam-agent: %s\n", cli_config ? err : "out of memory");
        rc = EX_CONFIG;
        goto done;
    }
    size_t refused = 0, open = 0;
    fin_err_t frc = mapcheck_file(file, map, ins, cli_lang(), stdout, &refused, &open, err, sizeof err);
    if (frc != FIN_OK)
        fprintf(stderr, "finsam-agent: mapping check: %s\n", err);
    rc = frc != FIN_OK ? s_exit(frc) : refused ? EX_DATAERR : open ? EX_CONFIG : 0;
done:
    insatser_destroy(&ins);
    mapping_destroy(&map);
    catalogue_destroy(&cat);
    return rc;
}

int cmd_mapping(const char *what, const char *file)
{
    if (!strcmp(what, "draft"))
        return s_draft(file);
    if (!strcmp(what, "check"))
        return s_check(file);
    fprintf(stderr, "finsam-agent: mapping: want draft FILE or check FILE --mapping M.ini\n");
    return EX_USAGE;
}
