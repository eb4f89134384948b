/* report_text.c: Swedish and English texts for status and reports (see
 * report_text.h). Plain words for förbund staff: no event names, no
 * protocol terms. */
#include "report_text.h"

#include <stddef.h>
#include <string.h>

static const char *const s_text[RT_N][2] = {
    [RT_CONNECTION] = {"Anslutning till insamlingsservern", "Connection to the collector"},
    [RT_CONNECTING] = {"ansluter (inget svar ännu)", "connecting (no answer yet)"},
    [RT_CONNECTED] = {"ansluten", "connected"},
    [RT_REFUSED] = {"nekad: servern godkänner inte vår nyckel",
                    "refused: the collector does not accept our key"},
    [RT_KEY_MISMATCH] = {"nekad: fel servernyckel", "refused: wrong collector key"},
    [RT_UNREACHABLE] = {"når inte servern", "unreachable"},
    [RT_ADVICE_REFUSED] = {"Servern nekade vår nyckel: ligger keys/agent.key i serverns mapp agents/? "
                           "Skicka filen till serverns administratör.",
                           "the collector refused our key: is keys/agent.key in the collector's agents/ "
                           "folder? Send the file to the collector's operator."},
    [RT_ADVICE_KEY_MISMATCH] = {"Servernyckeln i keys/collector.key stämmer inte med servern: be serverns "
                                "administratör om rätt collector.key.",
                                "the collector key in keys/collector.key does not match the collector: ask "
                                "the collector's operator for the right collector.key."},
    [RT_ADVICE_UNREACHABLE] = {"Ingen server svarar på adressen: är den igång, är adressen (--collector) "
                               "rätt och släpper brandväggen igenom porten?",
                               "no collector answers at that address: is it running, is --collector right, "
                               "and does the firewall let the port through?"},
    [RT_NOT_RUNNING] = {"agenten har inte skickat något ännu (är finsam-agent igång?)",
                        "the agent has not sent anything yet (is finsam-agent running?)"},
    [RT_STOPPED] = {"Agenten körs inte just nu; raderna ovan är läget när den slutade",
                    "The agent is not running now; the lines above are how it was when it stopped"},
    [RT_SINCE] = {"sedan", "since"},
    [RT_LAST_ACK] = {"Senast mottaget av servern", "Last acknowledged by the collector"},
    [RT_NEVER] = {"aldrig", "never"},
    [RT_DELIVERED_TODAY] = {"Levererade händelser i dag", "Events delivered today"},
    [RT_QUEUED] = {"Väntar på att skickas", "Waiting to be sent"},
    [RT_OLDEST_QUEUED] = {"Har väntat sedan", "Waiting since"},
    [RT_REJECTED] = {"Nekade av servern (behålls här)", "Refused by the collector (kept here)"},
    [RT_ADVICE] = {"Åtgärd", "What to do"},
};

void report_import_summary(FILE *f, report_lang_t lang, const char *label, const report_import_t *r)
{
    bool en = lang == REPORT_EN;
    fprintf(f, en ? "%s: read %zu row(s)\n" : "%s: %zu rad(er) lästa\n", label, r->rows);
    if (r->failed) {
        fprintf(f, en ? "  not imported: the agent could not store the rows (see the message below)\n"
                      : "  inte importerad: agenten kunde inte spara raderna (se meddelandet nedan)\n");
        return;
    }
    if (r->rejected) {
        fprintf(f,
                en ? "  %zu row(s) rejected (each is listed above with its line and reason): nothing "
                     "imported; correct the file and drop it again\n"
                   : "  %zu rad(er) avvisade (var och en står ovan med radnummer och skäl): inget "
                     "importerades; rätta filen och lägg in den igen\n",
                r->rejected);
    } else {
        fprintf(f, en ? "  imported (new): %zu\n" : "  importerade (nya): %zu\n", r->imported - r->corrected);
        fprintf(f, en ? "  already there (sent before): %zu\n" : "  fanns redan (skickade tidigare): %zu\n",
                r->already);
        fprintf(f, en ? "  corrections of earlier rows: %zu\n" : "  rättelser av tidigare rader: %zu\n",
                r->corrected);
        if (r->dry_run)
            fprintf(f, en ? "  trial run (--dry-run): nothing stored\n"
                          : "  provkörning (--dry-run): inget sparades\n");
    }
    if (r->dropped) {
        fprintf(f,
                en ? "  columns that never leave this computer: %zu%s"
                   : "  kolumner som aldrig lämnar den här datorn: %zu%s",
                r->dropped, *r->dropped_names ? " – " : "");
        report_names_print(f, r->dropped_names);
        fputc('\n', f);
    }
}

void report_names_print(FILE *f, const char *names)
{
    for (const char *p = names; *p; p++) {
        if (*p == ',')
            fputs(", ", f);
        else
            fputc(*p, f);
    }
}

int report_lang_parse(const char *name, report_lang_t *out)
{
    if (!name || !strcmp(name, "sv"))
        *out = REPORT_SV;
    else if (!strcmp(name, "en"))
        *out = REPORT_EN;
    else
        return -1;
    return 0;
}

const char *report_text(report_lang_t lang, report_msg_t m)
{
    if ((unsigned) m >= RT_N)
        return "";
    const char *t = s_text[m][lang == REPORT_EN ? 1 : 0];
    return t ? t : "";
}

bool report_name_is_listable(const char *s, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    const unsigned char *u = (const unsigned char *) s;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = u[i];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
            c == '-')
            continue;
        /* One space between words ("Övriga kommentarer"), never at an end. */
        if (c == ' ' && i > 0 && i + 1 < n && u[i - 1] != ' ')
            continue;
        /* Two-byte UTF-8 for U+00C0-U+017F: lead C3, C4 or C5, then one
         * continuation byte; a byte-wise ASCII test would drop Kön. */
        if (c >= 0xC3 && c <= 0xC5 && i + 1 < n && (u[i + 1] & 0xC0) == 0x80) {
            unsigned cp = ((c & 0x1Fu) << 6) | (u[i + 1] & 0x3Fu);
            if (cp >= 0xC0 && cp != 0xD7 && cp != 0xF7) {
                i++;
                continue;
            }
        }
        return false;
    }
    /* Words that all start with a capital read as a person's name ("Anna
     * Andersson", a header of a sheet pivoted by person): counted only. */
    if (!strchr(s, ' '))
        return true;
    for (size_t i = 0; i < n; i++)
        if ((i == 0 || u[i - 1] == ' ') && !(u[i] >= 'A' && u[i] <= 'Z') &&
            !(u[i] == 0xC3 && u[i + 1] >= 0x80 && u[i + 1] <= 0x9E))
            return true;
    return false;
}
