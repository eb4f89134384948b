/* insatser.c: the declared insats codes (see insatser.h).
 *
 * A site has a handful to a few dozen insatser, so the list is an array
 * searched linearly; a lookup costs less than one field of the row.
 *
 * Deliberately not done: accepting a code in another spelling. "Steg1" for
 * "steg1" would make a cell of its own at the collector; the import refuses
 * it and says which declared code it resembles (insatser_similar). */
#include "insatser.h"

#include "anonymize.h"

#include "util.h"

#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_CODE_MAX 32 /* 31 bytes and the NUL: CODEC's limit for insats */

typedef struct {
    char code[S_CODE_MAX];
    int mode;
} s_code_t;

struct insatser_t {
    char *source;
    s_code_t codes[INSATSER_MAX];
    size_t n;
};

static const char *const s_mode_names[] = {"any", "project", "integrated"};

insatser_t *insatser_new(const char *source)
{
    insatser_t *self = calloc(1, sizeof *self);
    if (!self)
        return NULL;
    if (!(self->source = strdup(source ? source : "the configuration"))) {
        free(self);
        return NULL;
    }
    return self;
}

void insatser_destroy(insatser_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    free((*self_p)->source);
    free(*self_p);
    *self_p = NULL;
}

fin_err_t insatser_add(insatser_t *self, const char *code, const char *mode, char *err, size_t errlen)
{
    int m = -1;
    for (int i = 0; i < 3; i++)
        if (!strcmp(mode, s_mode_names[i]))
            m = i;
    if (!*mode)
        m = INSATSER_ANY;
    /* The code is written to messages below: only once it is a code. */
    if (!code_is_valid(code, S_CODE_MAX - 1) || anon_looks_identifying(code)) {
        return fin_fail(err, errlen, FIN_ECONFIG,
                        "an insats code must be 1-%d letters (a-z, no å ä ö), digits, '_' or '-'",
                        S_CODE_MAX - 1);
    }
    if (m < 0) {
        /* A path or an option's value here is a line in the wrong section
         * ("mapping = /etc/finsam/enkat.ini" appended at the end). */
        bool option = strchr(mode, '/') || strchr(mode, '.');
        return fin_fail(err, errlen, FIN_ECONFIG, "%s: the mode must be project, integrated or any%s", code,
                        option ? "; an option such as mapping = belongs in [agent], not in [insatser]" : "");
    }
    if (insatser_find(self, code, NULL)) {
        return fin_fail(err, errlen, FIN_ECONFIG, "%s is declared twice", code);
    }
    if (self->n == INSATSER_MAX) {
        return fin_fail(err, errlen, FIN_ECONFIG, "more than %d insats codes", INSATSER_MAX);
    }
    snprintf(self->codes[self->n].code, S_CODE_MAX, "%s", code);
    self->codes[self->n].mode = m;
    self->n++;
    return 0;
}

typedef struct {
    insatser_t *list;
    char msg[256]; /* the first error */
} s_load_t;

static int s_ini_handler(void *user, const char *section, const char *name, const char *value)
{
    s_load_t *ld = user;
    if (strcmp(section, "insatser"))
        return 1; /* options, read by common/options.c */
    char why[200];
    if (insatser_add(ld->list, name, value, why, sizeof why) != FIN_OK) {
        if (!ld->msg[0])
            snprintf(ld->msg, sizeof ld->msg, "[insatser]: %s", why);
        return 0; /* inih: an error on this line */
    }
    return 1;
}

fin_err_t insatser_load(insatser_t **out, const char *path, char *err, size_t errlen)
{
    *out = NULL;
    const char *base = strrchr(path, '/');
    s_load_t ld = {insatser_new(base ? base + 1 : path), ""};
    if (!ld.list)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    fin_err_t code;
    int rc = ini_parse(path, s_ini_handler, &ld);
    if (rc == -1) {
        code = fin_fail(err, errlen, FIN_ENOTFOUND, "%s: cannot open: %s", path, strerror(errno));
        goto fail;
    }
    if (rc) {
        code = fin_fail(err, errlen, FIN_ECONFIG, "%s:%d: %s", path, rc,
                        ld.msg[0] ? ld.msg : "syntax error (want code = mode; lines up to 200 bytes)");
        goto fail;
    }
    *out = ld.list;
    return FIN_OK;
fail:
    insatser_destroy(&ld.list);
    return code;
}

size_t insatser_count(const insatser_t *self)
{
    return self ? self->n : 0;
}

const char *insatser_source(const insatser_t *self)
{
    return self ? self->source : "the configuration";
}

bool insatser_find(const insatser_t *self, const char *code, int *mode)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (!strcmp(self->codes[i].code, code)) {
            if (mode)
                *mode = self->codes[i].mode;
            return true;
        }
    return false;
}

static char s_fold(char c)
{
    return c >= 'A' && c <= 'Z' ? (char) (c + 32) : c;
}

static bool s_sep(char c)
{
    return c == '-' || c == '_' || c == ' ';
}

/* a and b equal when case and separators are ignored; a may only hold
 * code characters and spaces, so whatever matches is safe to repeat. */
static bool s_same_spelling(const char *a, const char *b)
{
    if (strlen(a) > 2 * S_CODE_MAX)
        return false;
    for (;;) {
        while (s_sep(*a))
            a++;
        while (s_sep(*b))
            b++;
        if (!*a || !*b)
            return !*a && !*b;
        if (s_fold(*a) != s_fold(*b))
            return false;
        a++, b++;
    }
}

const char *insatser_similar(const insatser_t *self, const char *value)
{
    for (size_t i = 0; self && i < self->n; i++)
        if (s_same_spelling(value, self->codes[i].code))
            return self->codes[i].code;
    return NULL;
}

const char *insatser_mode_name(int mode)
{
    return mode >= 0 && mode <= 2 ? s_mode_names[mode] : "?";
}
