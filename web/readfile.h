/* readfile.h: a whole file into memory (internal to web/: the dashboard
 * files of --http-dashboard-dir and the --catalogue text served at
 * /api/catalogue). */
#ifndef FINSAM_READFILE_H
#define FINSAM_READFILE_H

#include <stddef.h>

/* Reads path into *text (malloc'd, the caller's; NUL-terminated, the
 * length without it in *len). Returns 0, or -1 with errno set and *text
 * NULL. */
int readfile(const char *path, char **text, size_t *len);

#endif
