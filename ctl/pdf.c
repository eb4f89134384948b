/* pdf.c: headless Chromium's print-to-PDF (see pdf.h). */
#include "pdf.h"

#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int s_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove(path);
}

fin_err_t pdf_print(const char *html_path, const char *pdf_path, int timeout_ms, char *err, size_t errlen)
{
    char html[PATH_MAX], url[PATH_MAX + 16], out_arg[PATH_MAX + 32], profile[64], profile_arg[96];
    if (!realpath(html_path, html))
        return fin_fail(err, errlen, FIN_ENOTFOUND, "%s: %s", html_path, strerror(errno));
    snprintf(url, sizeof url, "file://%s", html);
    snprintf(out_arg, sizeof out_arg, "--print-to-pdf=%s", pdf_path);
    snprintf(profile, sizeof profile, "/tmp/finsam-chromium-XXXXXX");
    if (!mkdtemp(profile))
        return fin_fail(err, errlen, fin_from_errno(errno), "cannot create a temporary directory");
    snprintf(profile_arg, sizeof profile_arg, "--user-data-dir=%s", profile);
    const char *browser = getenv("FINSAM_CHROMIUM");
    if (!browser || !*browser)
        browser = "chromium";
    unlink(pdf_path); /* a PDF there afterwards is this run's */
    char *argv[] = {(char *) browser,
                    "--headless",
                    "--no-sandbox",
                    "--disable-gpu",
                    "--no-first-run",
                    "--no-pdf-header-footer",
                    "--disable-extensions",
                    profile_arg,
                    out_arg,
                    url,
                    NULL};
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        nftw(profile, s_rm, 8, FTW_DEPTH | FTW_PHYS);
        return fin_fail(err, errlen, fin_from_errno(errno), "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        /* The browser's chatter is not ours: stdout and stderr to /dev/null. */
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, STDIN_FILENO);
            dup2(null, STDOUT_FILENO);
            dup2(null, STDERR_FILENO);
        }
        setenv("HOME", profile, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    int status = 0;
    int64_t deadline = clock_wall_ms() + timeout_ms;
    pid_t w;
    while ((w = waitpid(pid, &status, WNOHANG)) == 0 && clock_wall_ms() < deadline) {
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    fin_err_t code = FIN_OK;
    if (w == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        code = fin_fail(err, errlen, FIN_EAGAIN, "%s did not finish within %d s", browser, timeout_ms / 1000);
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        code = fin_fail(err, errlen, FIN_ENOTFOUND,
                        "%s: not found; install Debian's chromium or set FINSAM_CHROMIUM", browser);
    } else {
        struct stat st;
        if (stat(pdf_path, &st) < 0 || st.st_size == 0)
            code = fin_fail(err, errlen, FIN_EIO, "%s wrote no PDF to %s (exit status %d)", browser, pdf_path,
                            WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    }
    nftw(profile, s_rm, 8, FTW_DEPTH | FTW_PHYS);
    return code;
}
