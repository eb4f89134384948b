/* pdf.h: an HTML file printed to PDF by headless Chromium — how
 * `finsamctl report --format pdf` makes its PDF (docs/report.md).
 *
 * The design decision: the report is HTML with print CSS (A4 pages, page
 * numbers in @page margin boxes), and a browser is the one widely
 * installed program that lays such a document out well; Debian's
 * `chromium` prints it with --print-to-pdf. It runs with a fresh profile
 * in a temporary directory (removed afterwards), no sandbox (it cannot
 * set one up as root or in a container), and reads only the file it is
 * given: the document holds no script and no external reference.
 *
 * Not here: the HTML (report/annual.h). */
#ifndef FINSAM_PDF_H
#define FINSAM_PDF_H

#include "err.h"

#include <stddef.h>

/* Prints html_path to pdf_path. The browser is $FINSAM_CHROMIUM, else
 * `chromium` on PATH. FIN_OK; FIN_ENOTFOUND when no browser runs;
 * FIN_EIO when it fails or writes no PDF (err says which), FIN_EAGAIN
 * after timeout_ms. */
fin_err_t pdf_print(const char *html_path, const char *pdf_path, int timeout_ms, char *err, size_t errlen);

#endif
