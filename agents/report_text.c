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
    [RT_SINCE] = {"sedan", "since"},
    [RT_LAST_ACK] = {"Senast mottaget av servern", "Last acknowledged by the collector"},
    [RT_NEVER] = {"aldrig", "never"},
    [RT_DELIVERED_TODAY] = {"Levererade händelser i dag", "Events delivered today"},
    [RT_QUEUED] = {"Väntar på att skickas", "Waiting to be sent"},
    [RT_OLDEST_QUEUED] = {"Har väntat sedan", "Waiting since"},
    [RT_REJECTED] = {"Nekade av servern (behålls här)", "Refused by the collector (kept here)"},
    [RT_ADVICE] = {"Åtgärd", "What to do"},
};

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
