/* spool.h: a drop directory for exports (`finsam-agent run --spool DIR`).
 *
 * Staff save or copy an export into DIR; the agent imports it (CSV with the
 * run's --mapping, anything else as canonical JSONL), then moves it to
 * DIR/done/ or DIR/rejected/ with NAME.report.txt beside it: the same
 * errors and summary `finsam-agent import` prints. A file that failed for
 * the agent's own reasons (disk full, outbox error) stays in DIR and is
 * retried every 30 s.
 *
 * New files are seen with inotify (IN_CLOSE_WRITE, IN_MOVED_TO), so a file
 * is imported once its writer closes it or it is renamed into DIR. Names
 * starting with '.' or ending in .tmp, .part or ~ are ignored: write under
 * such a name and rename when done. A spool_t has no thread of its own; the
 * sender's loop polls spool_fd (sender_watch).
 *
 * Not here: import rules (import.c, csvimport.c), sending (sender.c). */
#ifndef FINSAM_SPOOL_H
#define FINSAM_SPOOL_H

#include "import.h"
#include "mapping.h"

#include <stddef.h>

typedef struct spool_t spool_t;

/* Watches dir (creating dir/done and dir/rejected). map may be NULL (then
 * CSV files are rejected with a report saying so); map and everything in
 * base (catalogue, key, förbund, outbox) are borrowed and must outlive the
 * spool. base's dry_run, report, errors and progress are ignored. Returns
 * 0, or -1 with a reason in err. */
int spool_new(spool_t **out, const char *dir, mapping_t *map, const import_opts_t *base, char *err,
              size_t errlen);

/* Stops watching; NULL-safe, sets *self_p to NULL. Files stay where they are. */
void spool_destroy(spool_t **self_p);

/* The inotify descriptor to poll for readability. */
int spool_fd(const spool_t *self);

/* Imports every file already waiting in dir, in name order (at start, and
 * after an inotify queue overflow). */
void spool_scan(spool_t *self);

/* sender_watch callbacks; arg is the spool_t. */
void spool_on_readable(void *arg);
void spool_on_tick(void *arg);

/* Imports one file dir/name and moves it (see above). Returns the import's
 * sysexits code, or -1 if the name is ignored or not a regular file. */
int spool_process(spool_t *self, const char *name);

/* Counts files waiting in dir and rejected files in dir/rejected (reports
 * not counted). Returns 0 or -1 (errno) if dir cannot be read. */
int spool_count(const char *dir, size_t *waiting, size_t *rejected);

#endif
