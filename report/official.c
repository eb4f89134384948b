/* official.c: the locked counts published once (see official.h). */
#include "official.h"

#include "publish.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>

struct official_t {
    lockview_t *view;
    protect_t *protect;
    lockview_info_t info;
};

fin_err_t official_open(official_t **out, ledger_t *source, const catalogue_t *catalogue, int year, char *err,
                        size_t errlen)
{
    *out = NULL;
    official_t *self = calloc(1, sizeof *self);
    if (!self)
        return fin_fail(err, errlen, FIN_ENOMEM, "out of memory");
    fin_err_t code = lockview_build(&self->view, source, catalogue, year, &self->info, err, errlen);
    if (code) {
        free(self);
        return code;
    }
    ledger_t *ledger = lockview_ledger(self->view);
    /* The collector's own parameters and secret, copied with the meta. */
    if (!(self->protect = protect_open(ledger, NULL, err, errlen))) {
        official_destroy(&self);
        return FIN_ECONFIG;
    }
    /* Every cell published now (max age 0): a fresh publication of these
     * counts, whose values depend only on the contributors, so the answer
     * is the same whenever it is made. */
    publish_report_t pr;
    int rc = publish_run(ledger, catalogue, self->protect, clock_wall_ms(), 0, &pr);
    if (rc) {
        official_destroy(&self);
        return fin_fail(err, errlen, fin_from_mdb(rc), "official publication: %s", store_strerror(rc));
    }
    *out = self;
    return FIN_OK;
}

ledger_t *official_ledger(official_t *self)
{
    return lockview_ledger(self->view);
}

const protect_t *official_protect(const official_t *self)
{
    return self->protect;
}

const lockview_info_t *official_info(const official_t *self)
{
    return &self->info;
}

void official_destroy(official_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    protect_destroy(&(*self_p)->protect);
    lockview_destroy(&(*self_p)->view);
    free(*self_p);
    *self_p = NULL;
}
