/* fuzz_xlsx.c: an Excel workbook as `finsam-agent import FILE.xlsx` reads
 * it: sheet_read (libzip's archive checks and the part size and ratio
 * limits, libxml2's streaming reader on workbook.xml, its relationships,
 * sharedStrings.xml, styles.xml and the sheet; cell references, shared
 * string indexes, number and date rendering), every cell of every row
 * touched by the callback.
 *
 * The first byte chooses the sheet (0: the first, 1-3: by number, else
 * the name "Svar"); the rest is the file. sheet_read reads by path, so the
 * file goes to a temporary directory on /dev/shm (removed at exit). The
 * seeds in corpus/fuzz_xlsx/ are the openpyxl fixtures of
 * tests/agents/fixtures/xlsx/ with a 0 byte in front. */
#include "sheet.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char s_dir[64], s_path[96];

static void s_cleanup(void)
{
    if (s_path[0])
        unlink(s_path);
    if (s_dir[0])
        rmdir(s_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void) argc;
    (void) argv;
    strcpy(s_dir, "/dev/shm/finsam-fuzz-xlsx-XXXXXX");
    if (!mkdtemp(s_dir)) {
        strcpy(s_dir, "/tmp/finsam-fuzz-xlsx-XXXXXX");
        if (!mkdtemp(s_dir))
            abort();
    }
    snprintf(s_path, sizeof s_path, "%s/input.xlsx", s_dir);
    atexit(s_cleanup);
    return 0;
}

static int s_row(void *arg, const char *const *cells, size_t ncells, long row, const char *sheet)
{
    size_t *sum = arg;
    if (ncells == 0 || row < 1 || !sheet)
        abort(); /* the reader promised a non-empty row */
    for (size_t i = 0; i < ncells; i++)
        *sum += strlen(cells[i]);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    static const char *const sheets[] = {NULL, "1", "2", "3"};
    const char *sheet = data[0] < 4 ? sheets[data[0]] : "Svar";
    FILE *f = fopen(s_path, "wb");
    if (!f || (size > 1 && fwrite(data + 1, 1, size - 1, f) != size - 1) || fclose(f) != 0)
        abort();
    char err[512];
    size_t sum = 0;
    fin_err_t rc = sheet_read(s_path, "input.xlsx", sheet, s_row, &sum, err, sizeof err);
    if (rc != FIN_OK && rc != FIN_EINPUT)
        abort(); /* not the input's fault: a read or memory failure */
    return 0;
}
