/* datadir_check.h: the check-config lines about a collector's data that
 * finsam-collector and finsamctl both print (common/check.h for the
 * format): the catalogue and the store. Here because they need the
 * catalogue and the ledger, which common/ cannot see; read-only, so they
 * run beside the service. */
#ifndef FINSAM_DATADIR_CHECK_H
#define FINSAM_DATADIR_CHECK_H

#include "check.h"

/* The catalogue file (NULL or "" for the built-in one) loads. */
void datadir_check_catalogue(check_t *c, const char *catalogue_file);

/* DATA/ledger, if there is one, opens read-only with this release's
 * schema (LMDB allows a reader beside the running writer). */
void datadir_check_store(check_t *c, const char *data_dir);

#endif
