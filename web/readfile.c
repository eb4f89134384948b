/* readfile.c: a whole file into memory (see readfile.h). Through an
 * open_memstream, so there is no size to trust before reading: the file
 * may change while it is read. */
#include "readfile.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

int readfile(const char *path, char **text, size_t *len)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    FILE *m = open_memstream(text, len);
    if (!m) {
        fclose(f);
        errno = ENOMEM;
        return -1;
    }
    char buf[8192];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        fwrite(buf, 1, n, m);
    int failed = ferror(f) ? EIO : 0;
    if (fclose(m) != 0 && !failed)
        failed = ENOMEM;
    fclose(f);
    if (failed || !*text) {
        free(*text);
        *text = NULL;
        *len = 0;
        errno = failed ? failed : ENOMEM;
        return -1;
    }
    return 0;
}
