/* cli_util.c: see cli_util.h. */
#include "cli_util.h"

#include "testutil.h"

#include <ctype.h>
#include <stdint.h>
#include <lmdb.h>
#include <stdio.h>
#include <string.h>

const char *const cli_binaries[3] = {"finsam-collector", "finsamctl", "finsam-agent"};

int cli_run(const char *bin, const char *const *args, char **log)
{
    static int n;
    static const char *dir;
    if (!dir)
        dir = tu_tempdir();
    char path[512];
    snprintf(path, sizeof path, "%s/run-%d.log", dir, n++);
    char *argv[32] = {(char *) tu_bin(bin)};
    int argc = 1;
    fprintf(stderr, "$ %s", bin);
    for (; args && *args && argc < 31; args++) {
        argv[argc++] = (char *) *args;
        fprintf(stderr, " %s", *args);
    }
    argv[argc] = NULL;
    int rc = tu_run(argv, path, 60000);
    char *text = tu_read_file(path);
    fprintf(stderr, "\n%s-> exit %d\n", text ? text : "", rc);
    if (log)
        *log = text ? text : strdup("");
    else
        free(text);
    return rc;
}

char *cli_help(const char *bin)
{
    char *argv[] = {(char *) tu_bin(bin), "--help", NULL};
    char *out = NULL;
    CHECK_EQ(tu_capture(argv, &out, 10000), 0);
    CHECK(out);
    return out;
}

/* Option lines of options_print_help: "  -d, --data-dir TEXT  ..." or
 * "       --endpoint-file TEXT  ...". */
size_t cli_help_options(char *help, const char **names, char *letters, size_t max)
{
    size_t n = 0;
    for (char *line = help; line && *line && n < max;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        char letter = 0;
        const char *p = line;
        if (!strncmp(p, "  ", 2)) {
            while (*p == ' ')
                p++;
            if (p[0] == '-' && p[1] != '-' && p[1] && p[2] == ',' && p[3] == ' ') {
                letter = p[1];
                p += 4;
            }
        } else {
            p = NULL;
        }
        if (p && !strncmp(p, "--", 2)) {
            char *name = (char *) p + 2;
            char *end = name;
            while (*end && (isalnum((unsigned char) *end) || *end == '-'))
                end++;
            *end = '\0';
            names[n] = name;
            letters[n] = letter;
            n++;
        }
        line = next;
    }
    return n;
}

size_t cli_help_exit_codes(const char *help, int *codes, size_t max)
{
    const char *table = strstr(help, "\nExit codes:\n");
    CHECK(table);
    size_t n = 0;
    for (const char *line = strchr(table + 1, '\n') + 1; *line && n < max;) {
        int code, used = 0;
        if (sscanf(line, " %d %n", &code, &used) == 1 && used > 0 && line[0] == ' ')
            codes[n++] = code;
        else if (line[0] != ' ')
            break; /* the table ends at the first line that is not indented */
        const char *next = strchr(line, '\n');
        if (!next)
            break;
        line = next + 1;
    }
    return n;
}

/* Puts key = value into db of the LMDB store in dir; with bump, adds 1 to
 * the first cell's count instead. */
void cli_patch_store(const char *dir, const char *db, const char *key, const void *value, size_t len,
                     bool bump)
{
    MDB_env *env;
    MDB_txn *txn;
    MDB_dbi dbi;
    CHECK(mdb_env_create(&env) == 0);
    CHECK(mdb_env_set_maxdbs(env, 16) == 0);
    CHECK(mdb_env_open(env, dir, 0, 0600) == 0);
    CHECK(mdb_txn_begin(env, NULL, 0, &txn) == 0);
    CHECK(mdb_dbi_open(txn, db, 0, &dbi) == 0);
    MDB_val k = {strlen(key), (void *) key}, v = {len, (void *) value};
    if (bump) {
        MDB_cursor *cur;
        CHECK(mdb_cursor_open(txn, dbi, &cur) == 0);
        CHECK(mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0);
        uint8_t cell[4096];
        CHECK(v.mv_size <= sizeof cell && v.mv_size >= 8);
        memcpy(cell, v.mv_data, v.mv_size);
        int64_t n;
        memcpy(&n, cell, 8);
        n++;
        memcpy(cell, &n, 8);
        v.mv_data = cell;
        CHECK(mdb_cursor_put(cur, &k, &v, MDB_CURRENT) == 0);
        mdb_cursor_close(cur);
    } else {
        CHECK(mdb_put(txn, dbi, &k, &v, 0) == 0);
    }
    CHECK(mdb_txn_commit(txn) == 0);
    mdb_env_close(env);
}
