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
                                "administratör om rätt collector.key och lägg den i keys/collector.key. "
                                "Agenten läser in den själv inom några sekunder; inget mer behövs.",
                                "the collector key in keys/collector.key does not match the collector: ask "
                                "the collector's operator for the right collector.key and put it in "
                                "keys/collector.key. The agent reads it within seconds; nothing else is "
                                "needed."},
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
    [RT_SERVER_KEY_SECRET] = {"%s är insamlingsserverns HEMLIGA nyckel: radera den här, den får aldrig "
                              "lämna servern; be serverns administratör om collector.key (den publika "
                              "nyckeln)",
                              "%s is the collector's SECRET key: delete it here, it must never leave the "
                              "collector; ask the collector's operator for collector.key (its public key)"},
    [RT_SERVER_KEY_OWN] = {"%s är den här agentens egen publika nyckel (keys/agent.key), inte serverns: be "
                           "serverns administratör om collector.key",
                           "%s is this agent's own public key (keys/agent.key), not the collector's: ask "
                           "the collector's operator for collector.key"},
    [RT_SERVER_KEY_AGENT] = {"%s är en agents nyckel (förbund %s), inte serverns: be serverns "
                             "administratör om collector.key",
                             "%s is an agent's key (förbund %s), not the collector's: ask the collector's "
                             "operator for collector.key"},
    [RT_NOT_CONNECTED] = {"inte ansluten: agenten körs inte", "not connected: the agent is not running"},
    [RT_LAST_CONNECTED] = {"senast ansluten", "last connected"},
    [RT_LAST_STATE] = {"senast", "last"},
    [RT_SPOOL_WAITING] = {"Filer som väntar på att läsas in", "Files waiting to be imported"},
    [RT_SPOOL_REJECTED] = {"Filer som inte lästes in", "Files that were not imported"},
    [RT_SPOOL_SEE] = {"se", "see"},
    [RT_KEYGEN_CERT] = {"skapade %s (ge den här publika nyckeln till insamlingsserverns administratör)",
                        "created %s (give this public certificate to the collector's operator)"},
    [RT_KEYGEN_SECRET] = {"skapade %s_secret (den hemliga nyckeln: behåll den här, skicka den aldrig)",
                          "created %s_secret (keep it here)"},
    [RT_KEYGEN_PSEUDONYM_NEW] = {"skapade %s (säkerhetskopiera den med export-key; utan den bryts "
                                 "uppföljningarna)",
                                 "created %s (back it up with export-key; losing it breaks follow-ups)"},
    [RT_KEYGEN_PSEUDONYM_KEPT] = {"behöll befintliga %s (säkerhetskopiera den med export-key; utan den "
                                  "bryts uppföljningarna)",
                                  "kept existing %s (back it up with export-key; losing it breaks "
                                  "follow-ups)"},
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
        /* Only when there are some: most imports never meet one. */
        if (r->withdrawn)
            fprintf(f,
                    en ? "  withdrawn before (not sent again): %zu\n"
                       : "  tidigare tillbakatagna (skickas inte igen): %zu\n",
                    r->withdrawn);
        if (r->dry_run)
            fprintf(f, en ? "  trial run (--dry-run): nothing stored\n"
                          : "  provkörning (--dry-run): inget sparades\n");
    }
    if (r->dropped) {
        fprintf(f,
                en ? "  columns that never leave this computer: %zu%s"
                   : "  kolumner som aldrig lämnar den här datorn: %zu%s",
                r->dropped, *r->dropped_names ? " – " : "");
        report_names_print(f, lang, r->dropped_names);
        fputc('\n', f);
    }
}

void report_names_print(FILE *f, report_lang_t lang, const char *names)
{
    for (const char *p = names; *p; p++) {
        if (*p == ',')
            fputs(", ", f);
        else if (*p == '#' && (p == names || p[-1] == ','))
            fputs(lang == REPORT_EN ? "column " : "kolumn ", f);
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

/* ---- reasons -------------------------------------------------------------- */

/* The checks' fixed phrases in Swedish, longest first where one contains
 * another. What a reason quotes (labels, headers) is never translated;
 * codes (d_behov, agree5) and syntax ([labels.X], separator = comma) stay. */
static const struct {
    const char *en, *sv;
} s_phrases[] = {
    {"not an Excel or OpenDocument workbook, or a damaged one",
     "inte en arbetsbok från Excel eller OpenDocument, eller en skadad fil"},
    {"not an Excel workbook", "inte en Excel-arbetsbok"},
    {"not an OpenDocument spreadsheet", "inte ett OpenDocument-kalkylblad"},
    {"damaged (not well-formed XML, or the archive is truncated)",
     "skadad (felaktig XML, eller så är arkivet avkortat)"},
    {"unpacks to more than", "packas upp till mer än"},
    {"times its packed size (a zip bomb?)", "gånger sin packade storlek (en zip-bomb?)"},
    {"unpacked; split the export", "uppackad; dela upp exporten"},
    {"larger than", "större än"},
    {"the archive does not say its size; not a workbook",
     "arkivet anger inte sin storlek; inte en arbetsbok"},
    {"cannot unpack", "kan inte packas upp"},
    {"a cell reference that is not one (or beyond column XFD)",
     "en cellreferens som inte är en (eller bortom kolumn XFD)"},
    {"a number cell that holds no number", "en talcell utan tal"},
    {"cells out of order", "cellerna i fel ordning"},
    {"rows out of order or beyond row", "raderna i fel ordning eller bortom rad"},
    {"the workbook's sheets are", "arbetsbokens blad är"},
    {"the workbook has no sheet", "arbetsboken har inget blad"},
    {"the workbook has", "arbetsboken har"},
    {"no sheet named", "inget blad heter"},
    {"its part is not listed in", "dess del finns inte i"},
    {"is longer than", "är längre än"},
    {"is the line in the right section?", "står raden i rätt avsnitt?"},
    {"the mode must be project, integrated or any", "arbetsformen ska vara project, integrated eller any"},
    {"an option such as mapping = belongs in [agent], not in [insatser]",
     "en inställning som mapping = hör till [agent], inte till [insatser]"},
    {"an insats code must be", "en insatskod ska vara"},
    {"letters (a-z, no å ä ö), digits, '_' or '-'", "bokstäver (a-z, inga å ä ö), siffror, '_' eller '-'"},
    {"is declared twice", "står två gånger"},
    {"is not an insats code", "är ingen insatskod"},
    {"letters a-z, digits, '_' or '-'; no spaces, no å ä ö",
     "bokstäver a-z, siffror, '_' eller '-'; inga mellanslag, "
     "inga å ä ö"},
    {"is not one of", "är inte en av"},
    {"unknown section", "okänt avsnitt"},
    /* syntax: section names stay as written */
    {"(file, values, columns, answers, labels, labels.NAME)",
     "(file, values, columns, answers, labels, labels.NAME)"},
    {"is not an item in catalogue version", "är ingen fråga i katalogversion"},
    {"is not a field of the import format", "är inget fält i importformatet"},
    {"syntax error (want key = value)", "syntaxfel (ska vara nyckel = värde)"},
    {"line too long (at most", "raden är för lång (högst"},
    {"match a long header by its start", "ange en lång rubrik med dess början"},
    {"unknown key", "okänd nyckel"},
    {"label given twice", "etiketten står två gånger"},
    {"answer labels map to whole numbers (the scale value)",
     "svarsetiketter anges som heltal (skalans värde)"},
    {"or to a label of the item's scale", "eller som en etikett på frågans skala"},
    {"not an item or a field with labels", "ingen fråga och inget fält med etiketter"},
    {"is not mapped in [answers]", "mappas inte i [answers]"},
    {"set it in [values] or map a column in [columns]",
     "ange den i [values] eller mappa en kolumn i [columns]"},
    {"cannot read", "kan inte läsas"},
    {"looks like a personnummer, phone number or e-mail address; direct identifiers are not allowed here",
     "ser ut som ett personnummer, telefonnummer eller en e-postadress; direkta identiteter får inte stå "
     "här"},
    {"this is a number Excel shortened; format the column as Text before exporting, or export as .xlsx",
     "talet är förkortat av Excel; formatera kolumnen som Text före exporten, eller exportera som .xlsx"},
    {"this is an Excel date number, not a date; format the column as a date (YYYY-MM-DD) before exporting, "
     "or "
     "export as .xlsx",
     "talet är ett datum som Excel sparat som löpnummer; formatera kolumnen som datum (ÅÅÅÅ-MM-DD) före "
     "exporten, eller exportera som .xlsx"},
    {"9 digits: a number cell dropped the leading 0 of a 10-digit personnummer (born 2000-2009); format the "
     "column as Text before exporting, or export the 12-digit form",
     "9 siffror: en talcell har tappat den inledande nollan i ett 10-siffrigt personnummer (född 2000-2009); "
     "formatera kolumnen som Text före exporten, eller exportera 12-siffrig form"},
    {"not a personnummer (10 or 12 digits, optional '-' or '+')",
     "inte ett personnummer (10 eller 12 siffror, ev. '-' eller '+')"},
    {"personnummer has no valid birth date", "personnumret har inget giltigt födelsedatum"},
    {"personnummer check digit is wrong", "personnumrets kontrollsiffra stämmer inte"},
    {"personnummer birth date is in the future", "personnumrets födelsedatum ligger i framtiden"},
    {"no insats codes are declared (value not shown); list the site's codes in an [insatser] section of the "
     "agent's configuration (--config FILE), or leave insats out",
     "inga insatskoder är angivna (värdet visas inte); lista förbundets koder i avsnittet [insatser] i "
     "agentens "
     "inställningar (--config FIL), eller låt bli att mappa insats"},
    {"value not shown (it may be personal data): not in the declared list [insatser] of ",
     "värdet visas inte (det kan vara en personuppgift): finns inte i listan [insatser] i "},
    {"add the code there, or write the export's name = code under [labels.insats] of the mapping, or fix the "
     "column",
     "lägg till koden där, eller skriv exportens namn = kod under [labels.insats] i mappningen, eller rätta "
     "kolumnen"},
    {"is not in the declared list [insatser] of", "finns inte i listan [insatser] i"},
    {"(codes are exact: translate the export's spelling in [labels.insats], or fix the column)",
     "(koderna måste stämma exakt: översätt exportens stavning i [labels.insats], eller rätta kolumnen)"},
    {"is declared as", "är angiven som"},
    {"the row says", "raden säger"},
    {"(a stray separator or quote?)", "(ett skiljetecken eller citattecken för mycket?)"},
    {"(a quote inside an unquoted field, or text after a closing quote)",
     "(ett citattecken mitt i ett fält, eller text efter ett avslutande citattecken)"},
    {"a quoted field is not closed", "ett fält inom citattecken avslutas aldrig"},
    {"columns, the header has", "kolumner, rubrikraden har"},
    {"a value right of the last header column", "ett värde till höger om rubrikradens sista kolumn"},
    {"(want a header row, then one row per answer)", "(en rubrikrad behövs, sedan en rad per svar)"},
    {"the header has 1 column but contains", "rubrikraden har 1 kolumn men innehåller"},
    {"is the separator", "är skiljetecknet"},
    {"is not in the header", "finns inte i rubrikraden"},
    {"columns of the header", "kolumner i rubrikraden"},
    {"is mapped twice", "är mappad två gånger"},
    {"mapping: column", "mappningen: kolumnen"},
    {"; also column", "; även kolumnen"},
    {"unknown answer label", "okänd svarsetikett"},
    {"(map it in [labels] or [labels.", "(ange den i [labels] eller [labels."},
    {"say what they mean in", "ange vad de betyder i"},
    {"holds the number", "innehåller talet"},
    {"holds numbers", "innehåller talen"},
    {"for a yes/no item", "för en ja/nej-fråga"},
    {"for an agree5 item", "för en fråga med femgradig skala"},
    {"missing required item", "saknar den obligatoriska frågan"},
    {"must be a date YYYY-MM-DD or D/M/YYYY", "ska vara ett datum ÅÅÅÅ-MM-DD eller D/M/ÅÅÅÅ"},
    {"must be a date YYYY-MM-DD", "ska vara ett datum ÅÅÅÅ-MM-DD"},
    {"must be a whole number", "ska vara ett heltal"},
    {"or a decimal number", "eller ett decimaltal"},
    {"must be between", "ska vara mellan"},
    {"must be ja/nej (or a label in [labels.", "ska vara ja/nej (eller en etikett i [labels."},
    {"must be one of", "ska vara en av"},
    {"must be an integer", "ska vara ett heltal"},
    {"must be a string", "ska vara text"},
    {"must be true or false", "ska vara true eller false"},
    {"must be a JSON object", "ska vara ett JSON-objekt"},
    {"must be an event id of 32 hex digits", "ska vara ett händelse-id med 32 hexadecimala siffror"},
    {"must be an object", "ska vara ett objekt"},
    {"value outside scale", "värdet ligger utanför skalan"},
    {"(not a whole number)", "(inte ett heltal)"},
    {"0 = don't know", "0 = vet ej"},
    {"not an item of instrument", "är ingen fråga i formuläret"},
    {"(name not shown: not in the catalogue)", "(namnet visas inte: finns inte i katalogen)"},
    {"not in catalogue version", "finns inte i katalogversion"},
    {"is not a", "är inte ett"},
    {"instrument", "formulär"},
    {"age at the event must be 16-120", "åldern vid händelsen ska vara 16–120"},
    {"is more than", "är större än"},
    {"more than", "fler än"},
    {"contains a NUL character", "innehåller ett NUL-tecken"},
    {"contains a NUL byte", "innehåller en NUL-byte"},
    {"is not valid UTF-8", "är inte giltig UTF-8"},
    {"line longer than", "raden är längre än"},
    {"longer than", "längre än"},
    {"bytes", "byte"},
    {"not valid JSON (column", "inte giltig JSON (kolumn"},
    {"is in the future", "ligger i framtiden"},
    {"is before", "ligger före"},
    {"is empty", "är tom"},
    {"did you mean", "menade du"},
    {"missing", "saknas"},
    {"(for ", "(för "},
    {"matches", "passar"},
    {"e.g.", "t.ex."},
    {"set `", "ange `"},
    {"in [file]", "i [file]"},
    {"answered twice", "besvarad två gånger"},
    {"is not in", "finns inte i"},
    {"item", "frågan"},
    {"sheets", "blad"},
    {"sheet", "blad"},
    {"string", "texten"},
    {"rows", "rader"},
    {" and ", " och "},
    {" or ", " eller "},
};

static bool s_word(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c >= 0x80;
}

const char *report_reason(report_lang_t lang, const char *why, char *out, size_t len)
{
    if (!len)
        return out;
    size_t o = 0;
    bool quoted = false;
    for (const char *p = why; *p && o + 1 < len;) {
        if (*p == '"')
            quoted = !quoted;
        size_t k = sizeof s_phrases / sizeof *s_phrases;
        /* A phrase starts at a word's start and ends at a word's end. */
        if (lang != REPORT_EN && !quoted &&
            (p == why || !s_word((unsigned char) p[-1]) || !s_word((unsigned char) *p)))
            for (k = 0; k < sizeof s_phrases / sizeof *s_phrases; k++) {
                size_t n = strlen(s_phrases[k].en);
                if (!strncmp(p, s_phrases[k].en, n) &&
                    (!s_word((unsigned char) p[n - 1]) || !s_word((unsigned char) p[n])))
                    break;
            }
        if (k < sizeof s_phrases / sizeof *s_phrases) {
            size_t n = strlen(s_phrases[k].sv);
            if (o + n >= len)
                break;
            memcpy(out + o, s_phrases[k].sv, n);
            o += n;
            p += strlen(s_phrases[k].en);
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}
