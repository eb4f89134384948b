/* fuzz_config.c: the INI config file (--config FILE) through the real
 * options_parse: inih's parser, then every value through the one setter
 * (strings, bounded integers, booleans). The input is written to a file
 * created once per process, as an operator's file would be read.
 *
 * String values from a file are copies that "live until exit"
 * (options.h), so a key given twice leaks its first copy by design: run
 * this target with -detect_leaks=0 (run.sh does). The harness frees the
 * last copies itself. */
#include "options.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static char s_path[64];
static char *o_str, *o_endpoint;
static long o_int, o_big;
static bool o_flag, o_other;

static const opt_t s_opts[] = {
    {"data-dir", 'd', OPT_STR, NULL, 0, 0, "a string", &o_str},
    {"endpoint", 'e', OPT_STR, NULL, 0, 0, "another string", &o_endpoint},
    {"max-batches-per-commit", 0, OPT_INT, "64", 1, 4096, "bounded integer", &o_int},
    {"stream-hwm", 0, OPT_INT, "20000", 100, 10000000, "bounded integer", &o_big},
    {"dry-run", 'n', OPT_FLAG, NULL, 0, 0, "a flag", &o_flag},
    {"exit-when-empty", 0, OPT_FLAG, NULL, 0, 0, "a flag", &o_other},
};

static const opt_spec_t s_spec = {.prog = "fuzz_config",
                                  .usage = "fuzz_config [OPTIONS]",
                                  .summary = "fuzzing",
                                  .opts = s_opts,
                                  .nopts = sizeof s_opts / sizeof *s_opts,
                                  .section = "collector"};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(s_path, sizeof s_path, "/tmp/finsam-fuzz-config-%d.ini", (int) getpid());
    /* options.c reports bad lines on stderr: silence our copy of it (libFuzzer
     * and the sanitizers keep their own handles to fd 2). */
    stderr = fopen("/dev/null", "w");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FILE *f = fopen(s_path, "wb");
    if (!f)
        abort();
    if (size && fwrite(data, 1, size, f) != size)
        abort();
    fclose(f);
    char *argv[] = {"fuzz_config", "--config", s_path, NULL};
    int first = 0;
    o_str = o_endpoint = NULL;
    int rc = options_parse(&s_spec, 3, argv, &first);
    if (rc == 0 && (o_int < 1 || o_int > 4096 || o_big < 100 || o_big > 10000000))
        abort(); /* bounds hold whatever the file says */
    free(o_str);
    free(o_endpoint);
    return 0;
}

__attribute__((destructor)) static void s_cleanup(void)
{
    if (s_path[0])
        unlink(s_path);
}
