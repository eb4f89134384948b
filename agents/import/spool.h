/* spool.h: a drop directory for exports (`finsam-agent run --spool DIR`).
 *
 * Staff save or copy an export into DIR; the agent imports it (CSV with the
 * run's --mapping, anything else as canonical JSONL) and gives it the next
 * spool number N. The report goes to DIR/reports/NNNNNN-done.txt or
 * NNNNNN-rejected.txt: the same errors and summary `finsam-agent import`
 * prints, with the file named by its number. An imported file is then
 * deleted, or kept as DIR/done/NNNNNN-NAME for spool-retention-days; a
 * file that was not imported is kept as DIR/rejected/NNNNNN-NAME for staff
 * to fix, for spool-rejected-retention-days. spool_purge deletes kept files
 * whose time is up. A file that failed for the agent's own reasons (disk
 * full, outbox error) stays in DIR and is retried every 30 s.
 *
 * The design decision: an export holds personnummer and names, and its
 * file name may too. So the source file is kept only as long as the site
 * configured, and nothing that is kept longer (reports, log lines) repeats
 * the file's name: reports and logs name it by number (and log lines by a
 * keyed hash of the name, import_log_ref).
 *
 * New files are seen with inotify (IN_CLOSE_WRITE, IN_MOVED_TO), so a file
 * is imported once its writer closes it or it is renamed into DIR. Names
 * starting with '.' or ending in .tmp, .part or ~ are ignored: write under
 * such a name and rename when done. A spool_t has no thread of its own; the
 * sender's loop polls spool_fd (sender_watch).
 *
 * Several layouts: [spool] rules in the agent's configuration map file-name
 * patterns to mappings, `rule = enkat-*.csv -> /etc/finsam/enkat.ini`, one
 * per line, tried in order, the first match wins (fnmatch, case folded: a
 * tool's "Enkat.CSV" matches "enkat*.csv"). A file that matches a rule is
 * read as CSV with its mapping, whatever its extension (but .jsonl); one
 * that matches none uses --mapping (CSV) or is read as canonical JSONL, and
 * a CSV file that matches no rule when there is no --mapping is refused
 * with a report that lists the rules.
 *
 * Not here: import rules (import.c, csvimport.c), sending (sender.c). */
#ifndef FINSAM_SPOOL_H
#define FINSAM_SPOOL_H

#include "err.h"
#include "import.h"
#include "mapping.h"

#include <stddef.h>

typedef struct spool_t spool_t;

/* How long source files are kept, in days from when they were imported or
 * refused (their modification time, set then). 0: deleted as soon as the
 * report is written. Reports are kept: they hold no personal data. */
typedef struct {
    long done_days;     /* imported files (spool-retention-days) */
    long rejected_days; /* files not imported (spool-rejected-retention-days) */
} spool_retention_t;

/* Watches dir (creating dir/reports, dir/done and dir/rejected). map may
 * be NULL (then CSV files are rejected with a report saying so); map and
 * everything in base (catalogue, key, förbund, outbox, insats codes) are
 * borrowed and must outlive the spool. base's dry_run, report, errors,
 * progress, label and spool_no are ignored. The next spool number is one
 * more than the highest in reports/, done/ and rejected/. Returns FIN_OK,
 * or with a reason in err: FIN_ECONFIG (dir is not a directory), the
 * system's code for a subdirectory or inotify (FIN_EPERM, FIN_EFULL, ...),
 * FIN_ENOMEM. */
fin_err_t spool_new(spool_t **out, const char *dir, mapping_t *map, const import_opts_t *base,
                    const spool_retention_t *keep, char *err, size_t errlen);

/* The [spool] rules of a configuration file (see above). */
typedef struct spool_rules_t spool_rules_t;

/* Reads the `rule = GLOB -> MAPPING` lines of [spool] in config_path and
 * loads each mapping (mapping_load, against cat: borrowed, must outlive the
 * rules). No [spool] section gives empty rules. Returns FIN_OK, or
 * FIN_ECONFIG / FIN_ENOMEM / the mapping's code with "PATH:LINE: reason"
 * (or the mapping's own reason) in err and *out NULL. */
fin_err_t spool_rules_load(spool_rules_t **out, const char *config_path, const catalogue_t *cat, char *err,
                           size_t errlen);

/* Frees the rules and their mappings; NULL-safe, sets *self_p to NULL. */
void spool_rules_destroy(spool_rules_t **self_p);

/* Number of rules. */
size_t spool_rules_count(const spool_rules_t *self);

/* The mapping of the first rule whose pattern matches the base name `name`
 * (borrowed, valid while the rules live), or NULL if none does. */
mapping_t *spool_rules_match(const spool_rules_t *self, const char *name);

/* Writes "GLOB -> MAPPING; ..." for messages into out. */
void spool_rules_describe(const spool_rules_t *self, char *out, size_t outlen);

/* Makes the spool choose mappings by rules (borrowed, must outlive the
 * spool; NULL: none); --mapping (spool_new's map) stays the default. */
void spool_set_rules(spool_t *self, const spool_rules_t *rules);

/* Stops watching; NULL-safe, sets *self_p to NULL. Files stay where they are. */
void spool_destroy(spool_t **self_p);

/* The inotify descriptor to poll for readability. */
int spool_fd(const spool_t *self);

/* Imports every file already waiting in dir, in name order (at start, and
 * after an inotify queue overflow). */
void spool_scan(spool_t *self);

/* Deletes the files in dir/done and dir/rejected whose retention is over
 * (files left there by older versions too, with their reports). Runs at
 * start (the caller), after each import and hourly (spool_on_tick). Logs
 * counts, never names. */
void spool_purge(spool_t *self);

/* sender_watch callbacks; arg is the spool_t. on_tick retries waiting
 * files and purges hourly. */
void spool_on_readable(void *arg);
void spool_on_tick(void *arg);

/* Imports one file dir/name, writes its report and deletes or keeps it
 * (see above). Returns FIN_OK (imported), FIN_EINPUT or FIN_ECONFIG (not
 * imported: the file's fault, or a CSV file without --mapping; report
 * written, file kept in rejected/ or deleted), FIN_ENOTFOUND (the name is
 * ignored, not a regular file, or the file vanished), or another code of
 * the agent's own (the file stays in dir and is retried; logged with its
 * reason as SPOOL-RETRY). */
fin_err_t spool_process(spool_t *self, const char *name);

/* Counts files waiting in dir and rejected files in dir/rejected (reports
 * not counted). Returns 0 or -1 (errno) if dir cannot be read. */
int spool_count(const char *dir, size_t *waiting, size_t *rejected);

#endif
