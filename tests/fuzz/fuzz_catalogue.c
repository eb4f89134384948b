/* fuzz_catalogue.c: catalogue_parse on arbitrary text (the --catalogue
 * file of both agent and collector), then every lookup the rest of the
 * code makes on a parsed catalogue. */
#include "catalogue.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    catalogue_t *cat = NULL;
    char err[256];
    if (catalogue_parse(&cat, (const char *) data, size, err, sizeof err) < 0) {
        if (cat)
            abort(); /* failure must leave nothing behind */
        return 0;
    }
    for (int i = 0; i < cat->ninstruments; i++) {
        const cat_instrument_t *in = &cat->instruments[i];
        if (catalogue_instrument(cat, in->code) == NULL)
            abort();
        for (int j = 0; j < in->nitems; j++) {
            const cat_item_t *it = catalogue_item(in, in->items[j].code);
            if (!it || !it->scale)
                abort();
            (void) cat_scale_accepts(it->scale, 0);
            (void) cat_scale_accepts(it->scale, it->scale->max);
        }
    }
    for (int i = 0; i < cat->nmeasures; i++)
        if (catalogue_measure(cat, cat->measures[i].id) == NULL)
            abort();
    for (int i = 0; i < cat->nindicators; i++) {
        const cat_indicator_t *ind = &cat->indicators[i];
        if (ind->first_measure < 0 || ind->nmeasures < 0 ||
            ind->first_measure + ind->nmeasures > cat->nmeasures)
            abort();
    }
    for (int i = 0; i < cat->nforbund; i++)
        (void) catalogue_lan(cat, cat->forbund[i].code);
    (void) catalogue_lan(cat, "none");
    catalogue_destroy(&cat);
    return 0;
}
