#!/usr/bin/python3
"""xlsx_test.py: `finsam-agent import FILE.xlsx --mapping MAP.ini` (and
FILE.ods) as a user runs it, against the same data as a CSV file
(agents/import/sheet.c).

Real workbooks are written here with openpyxl (Debian python3-openpyxl):
personnummer as text and as numbers, end dates as date-formatted serials
and as text, a row of empty (styled) cells in the middle, an empty cell
mid-row, strings shared (as Excel writes them, with a rich-text run) or
inline (as openpyxl writes them), the data on a second sheet chosen by name
or number in the mapping; the same as an OpenDocument file. Importing the CSV and then each workbook into
the same outbox must add nothing: every event has the same id and content
(an event with the same id but other content would count as corrected).
The drop directory of `run --spool` takes the workbooks the same way.
Hostile files (truncated, a part that unpacks beyond the limit, a zip bomb
ratio) are refused with the reason and nothing is stored; a bad cell is
named as Svar!D5 with its header, never its value.

Prints the import rate of the same 20,000 rows as CSV and as .xlsx
(FINSAM_XLSX_RATE_ROWS to change; 0 to skip).

Usage: xlsx_test.py --bin DIR --source DIR"""
import argparse
import csv
import datetime
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

ap = argparse.ArgumentParser()
ap.add_argument("--bin", required=True)
ap.add_argument("--source", required=True)
args = ap.parse_args()
sys.path.insert(0, os.path.join(args.source, "tests/agents/fixtures/xlsx"))
try:
    import openpyxl
    from make_fixtures import shared_strings, write_ods
except ImportError as e:  # python3-openpyxl is in cmake/deps-test.txt
    print("skipped: %s (apt install python3-openpyxl)" % e)
    sys.exit(77)

AGENT = os.path.abspath(os.path.join(args.bin, "finsam-agent"))
MAPPING = os.path.abspath(os.path.join(args.source, "agents/examples/enkat-avslut.ini"))
TMP = tempfile.mkdtemp(prefix="finsam-xlsx-")
failures = []

HEADER = ["Svars-ID", "Startdatum", "Slutdatum", "Personnummer", "Namn", "E-post", "Telefon", "Insats",
          "Arbetsform", "Kön", "Födelseår", "Jag fick det stöd jag behövde", "Jag var med och planerade mitt stöd",
          "Jag kunde påverka stödet", "Insatsen pågick lagom länge", "Hade du en person som samordnade ditt stöd?",
          "Jag kan hantera min situation bättre nu", "Stödet hjälper mig att leva som jag vill",
          "Finns det en plan för vad som händer efter insatsen?", "Övriga kommentarer"]
AGREE = ["Instämmer helt", "Instämmer till stor del", "Instämmer delvis", "Instämmer i liten grad",
         "Instämmer inte alls", "Vet ej"]
YESNO = ["Ja", "Nej", "Vet ej"]


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        failures.append(what)


def luhn(digits):
    total = 0
    for i, d in enumerate(digits):
        v = int(d) * (2 if i % 2 == 0 else 1)
        total += v - 9 if v > 9 else v
    return str((10 - total % 10) % 10)


def people(n, seed=1):
    """n rows of distinct respondents: a dict per row, end date a date."""
    rnd = random.Random(seed)
    seen, rows = set(), []
    while len(rows) < n:
        born = datetime.date(1950, 1, 1) + datetime.timedelta(days=rnd.randrange(55 * 365))
        serial = "%03d" % rnd.randrange(1000)
        ymd = born.strftime("%Y%m%d")
        pnr12 = ymd + serial + luhn(ymd[2:] + serial)
        if pnr12 in seen:
            continue
        seen.add(pnr12)
        end = datetime.date(2026, 1, 1) + datetime.timedelta(days=rnd.randrange(200))
        insats = rnd.choice(["steg1", "steg2"])  # steg2 is a project ([insatser])
        rows.append({
            "id": str(1000 + len(rows)), "start": (end - datetime.timedelta(days=40)).isoformat(), "end": end,
            "pnr12": pnr12, "insats": insats,
            "mode": "Projekt" if insats == "steg2" else rnd.choice(["Projekt", "Ordinarie verksamhet"]),
            "gender": "Kvinna" if int(serial[2]) % 2 == 0 else "Man",
            "born": born.year if rnd.random() > 0.2 else None,  # an empty cell mid-row
            "answers": [rnd.choice(AGREE) for _ in range(4)] + [rnd.choice(YESNO)] +
                       [rnd.choice(AGREE) for _ in range(2)] + [rnd.choice(YESNO)],
        })
    return rows


def csv_row(p):
    return [p["id"], p["start"], p["end"].isoformat(), p["pnr12"][:8] + "-" + p["pnr12"][8:], "Namn Namnsson",
            "namn@example.se", "070-123 45 67", p["insats"], p["mode"], p["gender"],
            "" if p["born"] is None else str(p["born"])] + p["answers"] + ["Tack; bra"]


def xlsx_row(i, p):
    """As survey tools write it: every other personnummer a number, every
    other end date a date cell, birth years as numbers."""
    r = csv_row(p)
    if i % 2 == 0:
        r[3] = int(p["pnr12"])
    if i % 3 != 2:
        r[2] = p["end"]
    r[0] = int(p["id"])
    r[10] = p["born"]
    return r


def write_csv(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, delimiter=";")
        w.writerow(HEADER)
        for p in rows:
            w.writerow(csv_row(p))


def write_xlsx(path, rows, shared=True, info_sheet=True, blank_after=None):
    wb = openpyxl.Workbook(write_only=False)
    ws = wb.active
    if info_sheet:
        ws.title = "Info"
        ws.append(["Exporterad", "2026-03-31"])
        ws = wb.create_sheet("Svar")
    else:
        ws.title = "Blad1"
    ws.append(HEADER)
    r = 1  # the last row written (ws.max_row scans every cell)
    for i, p in enumerate(rows):
        if i == blank_after:  # rows of empty cells, as a deleted answer leaves them
            ws.append([None] * len(HEADER))
            r += 1
            for c in ws[r]:
                c.number_format = "@"  # styled, so written
            ws.append(["", None, None])
            r += 1
        ws.append(xlsx_row(i, p))
        r += 1
        if isinstance(ws.cell(r, 3).value, datetime.date):
            ws.cell(r, 3).number_format = "yyyy-mm-dd" if i % 2 else "mm-dd-yy"
    wb.save(path)
    if shared:
        shared_strings(path, rich="Instämmer helt")


def mapping(extra):
    text = open(MAPPING, encoding="utf-8").read()
    text = text.replace("[file]\n", "[file]\n" + extra + "\n", 1)
    path = os.path.join(TMP, "mapping-%d.ini" % abs(hash(extra)))
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


CONFIG = os.path.join(TMP, "agent.ini")
with open(CONFIG, "w") as f:
    f.write("[insatser]\nsteg1 = any\nsteg2 = project\n")


def data_dir(name):
    d = os.path.join(TMP, name)
    subprocess.run([AGENT, "--data-dir", d, "--log-level", "warn", "keygen", "--forbund", "NV"], check=True,
                   stdout=subprocess.DEVNULL)
    return d


def run(d, *argv):
    """Runs the agent in TMP, files named as the user types them there."""
    argv = [os.path.relpath(a, TMP) if a.startswith(TMP + "/") and a.endswith((".csv", ".xlsx", ".ods")) else a
            for a in argv]
    p = subprocess.run([AGENT, "--data-dir", d, "--config", CONFIG, "--log-level", "warn"] + argv,
                       capture_output=True, text=True, timeout=600, cwd=TMP)
    return p.returncode, p.stdout, p.stderr


def counts(out):
    m = re.search(r"rows=(\d+) accepted=(\d+) already_imported=(\d+) corrected=(\d+) rejected=(\d+)", out)
    return tuple(int(x) for x in m.groups()) if m else None


def queued(d):
    """The queued=N field of status's key=value line (the lines before it are for people)."""
    for line in run(d, "status")[1].splitlines():
        if line.startswith("queued="):
            return line.split()[0]
    return ""


# ---- the same rows as CSV and as workbooks -------------------------------
rows = people(40)
csv_path = os.path.join(TMP, "export.csv")
write_csv(csv_path, rows)
shared_path = os.path.join(TMP, "export-shared.xlsx")
write_xlsx(shared_path, rows, shared=True, info_sheet=True, blank_after=17)
inline_path = os.path.join(TMP, "export-inline.xlsx")
write_xlsx(inline_path, rows, shared=False, info_sheet=True, blank_after=5)
first_path = os.path.join(TMP, "export-first.xlsx")
write_xlsx(first_path, rows, shared=True, info_sheet=False)
with zipfile.ZipFile(shared_path) as z:
    check("sharedStrings.xml" in " ".join(z.namelist()) and b't="s"' in z.read("xl/worksheets/sheet2.xml"),
          "the shared-strings workbook has shared strings")
with zipfile.ZipFile(inline_path) as z:
    check(b't="inlineStr"' in z.read("xl/worksheets/sheet2.xml"), "the inline workbook has inline strings")

by_name, by_number = mapping("sheet = Svar"), mapping("sheet = 2")
d = data_dir("same")
rc, out, err = run(d, "import", csv_path, "--mapping", MAPPING)
check(rc == 0 and counts(out) == (40, 40, 0, 0, 0), "CSV: 40 rows accepted (%s %s)" % (out.strip(), err.strip()))
for path, m, what in ((shared_path, by_name, "shared strings, sheet by name"),
                      (inline_path, by_number, "inline strings, sheet by number"),
                      (first_path, MAPPING, "first sheet by default")):
    rc, out, err = run(d, "import", path, "--mapping", m)
    check(rc == 0 and counts(out) == (40, 0, 40, 0, 0),
          "xlsx (%s): the same 40 events, nothing new or corrected (%s %s)" % (what, out.strip(), err.strip()))
ods_path = os.path.join(TMP, "export.ods")
write_ods(ods_path, [("Info", [["Exporterad"]]),
                     ("Svar", [HEADER] + [xlsx_row(i, p) for i, p in enumerate(rows[:20])] + [[], [None, ""]] +
                      [xlsx_row(i, p) for i, p in enumerate(rows[20:], 20)])])
rc, out, err = run(d, "import", ods_path, "--mapping", by_name)
check(rc == 0 and counts(out) == (40, 0, 40, 0, 0),
      "ods (sheet by name): the same 40 events, nothing new or corrected (%s %s)" % (out.strip(), err.strip()))
check(queued(d) == "queued=40", "40 events queued in all")

# the other way round: the workbook first, then the CSV adds nothing
d = data_dir("other-way")
rc, out, err = run(d, "import", inline_path, "--mapping", by_name)
check(rc == 0 and counts(out) == (40, 40, 0, 0, 0), "xlsx first: 40 accepted (%s)" % err.strip())
rc, out, err = run(d, "import", csv_path, "--mapping", MAPPING)
check(rc == 0 and counts(out) == (40, 0, 40, 0, 0), "then CSV: all already imported")

# ---- a mapping drafted from the workbook itself ------------------------------
# Staff start from the .xlsx: the draft finds the sheet with the answers
# (the first is a cover sheet), lists exactly the decisions it could not
# make, and once those are made imports the same events as the hand-written
# mapping did from the CSV.
draft = os.path.join(TMP, "drafted.ini")
rc, out, err = run(d, "mapping", "draft", shared_path, "--out", draft)
check(rc == 0 and "drafted.ini: utkast från export-shared.xlsx; 3 beslut behövs" in err,
      "draft from the workbook: 3 decisions (%r)" % err.strip())
text = open(draft, encoding="utf-8").read()
check("\n[file]\nsheet = Svar\n" in text and "separator" not in text, "the draft names the sheet with rows")
decisions = re.findall(r"^;   \d+\. (kolumn \d+ \"[^\"]+\"): vilken fråga är det\?", text, re.M)
check(decisions == ['kolumn 12 "Jag fick det stöd jag behövde"', 'kolumn 14 "Jag kunde påverka stödet"',
                    'kolumn 15 "Insatsen pågick lagom länge"'], "the decisions name the columns: %r" % decisions)
for want in ("response_id = Svars-ID", "date = Slutdatum", "personnummer = Personnummer", "gender = Kön",
             "birth_year = Födelseår", "mode = Arbetsform", "Projekt = project", "Instämmer helt = 5",
             'kolumn 20 "Övriga kommentarer": fritext', 'kolumn 5 "Namn": kan peka ut någon'):
    check(want in text, "the draft says %r" % want)
# The three decisions, made as staff make them: the commented line becomes
# the item the question really is.
for header, item in (("Jag fick det stöd jag behövde", "d_behov"), ("Jag kunde påverka stödet", "d_inflytande"),
                     ("Insatsen pågick lagom länge", "d_tid")):
    text, n = re.subn(r"^; \w+ = %s   ; BESLUT BEHÖVS$" % re.escape(header), "%s = %s" % (item, header), text,
                      flags=re.M)
    check(n == 1, "decision line for %s found once" % header)
with open(draft, "w", encoding="utf-8") as f:
    f.write(text)
rc, out, err = run(d, "mapping", "check", shared_path, "--mapping", draft)
check(rc == 0 and "rader: 40 går igenom mappningen, 0 avvisas" in out, "check: 40 rows pass (%s)" % err.strip())
check("utelämnar 5 (Startdatum, Namn, E-post, Telefon, Övriga kommentarer)" in out, "check names the dropped columns")
rc, out, err = run(d, "import", shared_path, "--mapping", draft)
check(rc == 0 and counts(out) == (40, 0, 40, 0, 0),
      "the drafted mapping imports the same 40 events as the CSV (%s %s)" % (out.strip(), err.strip()))
check("kolumner som aldrig lämnar den här datorn: 5 – Startdatum, Namn, E-post, Telefon, Övriga kommentarer" in out,
      "the Swedish report names every dropped column: %r" % out)
check('dropped="Startdatum,Namn,E-post,Telefon,Övriga kommentarer"' in out, "dropped= quoted with a space")
rc, out, err = run(d, "mapping", "draft", shared_path, "--sheet", "Resultat")
check(rc == 65 and 'no sheet named "Resultat"; the workbook\'s sheets are "Info", "Svar"' in err,
      "draft --sheet names the sheets: %r" % err.strip())

# ---- the drop directory takes workbooks like CSV files ----------------------
def spool_case():
    import glob
    import signal
    import socket
    d = data_dir("spool")
    subprocess.run([os.path.join(os.path.dirname(AGENT), "finsam-collector"), "-d", os.path.join(TMP, "collector"),
                    "keygen"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.copy(os.path.join(TMP, "collector/keys/collector.key"), os.path.join(d, "keys/collector.key"))
    rc, out, err = run(d, "import", csv_path, "--mapping", MAPPING)
    check(rc == 0, "spool: the CSV imported first")
    spool = os.path.join(TMP, "drop")
    os.makedirs(spool)
    with socket.socket() as s:  # nothing listens there: importing needs no collector
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(os.path.join(TMP, "spool.log"), "w")
    agent = subprocess.Popen([AGENT, "-c", CONFIG, "-d", d, "--collector", "tcp://127.0.0.1:%d" % port, "--spool",
                              spool, "--mapping", by_name, "run"], stdout=log, stderr=log)
    try:
        for n, path in enumerate((shared_path, ods_path), 1):
            tmp = os.path.join(spool, "." + os.path.basename(path))
            shutil.copy(path, tmp)
            os.rename(tmp, os.path.join(spool, os.path.basename(path)))
            deadline = time.time() + 60  # a bound, not a wait: the loop ends when the report appears
            while not glob.glob(os.path.join(spool, "reports/%06d-*.txt" % n)) and time.time() < deadline:
                time.sleep(0.05)
            reports = glob.glob(os.path.join(spool, "reports/%06d-*.txt" % n))
            text = open(reports[0]).read() if reports else ""
            check(reports and reports[0].endswith("-done.txt") and
                  "%06d: rows=40 accepted=0 already_imported=40 corrected=0 rejected=0" % n in text,
                  "spool: %s imported as the same 40 events: %r" % (os.path.basename(path), text[:200]))
    finally:
        agent.send_signal(signal.SIGTERM)
        agent.wait(timeout=30)
        log.close()


spool_case()

# ---- errors name the cell, never its value --------------------------------
bad = [dict(p) for p in rows[:6]]
bad[3]["pnr12"] = bad[3]["pnr12"][:11] + str((int(bad[3]["pnr12"][11]) + 1) % 10)  # check digit wrong
bad_path = os.path.join(TMP, "bad.xlsx")
write_xlsx(bad_path, bad, shared=True, info_sheet=True)
d = data_dir("bad")
rc, out, err = run(d, "import", bad_path, "--mapping", by_name)
check(rc == 65, "a bad personnummer: exit 65")
check(re.search(r'^bad\.xlsx: Svar!D5 "Personnummer": ', err, re.M) is not None,
      "the error names Svar!D5 and its header: %r" % err.strip())
check(bad[3]["pnr12"][2:] not in err and bad[3]["pnr12"][:8] not in err, "the error does not show the cell")
check(queued(d) == "queued=0", "nothing stored")
# A respondent who changed an answer: a correction, named by its sheet row
# as a rejected row would be.
dc = data_dir("corrected")
plain = os.path.join(TMP, "plain.xlsx")
write_xlsx(plain, rows, shared=True, info_sheet=True)
rc, out, err = run(dc, "import", plain, "--mapping", by_name)
check(rc == 0 and counts(out) == (40, 40, 0, 0, 0), "a first export: 40 rows (%s)" % err.strip())
changed = [dict(p, answers=list(p["answers"])) for p in rows]
changed[3]["answers"][0] = "Instämmer helt" if changed[3]["answers"][0] != "Instämmer helt" else "Vet ej"
edited = os.path.join(TMP, "edited.xlsx")
write_xlsx(edited, changed, shared=True, info_sheet=True)
rc, out, err = run(dc, "import", edited, "--mapping", by_name)
check(rc == 0 and counts(out) == (40, 1, 39, 1, 0) and
      "edited.xlsx: Svar!5: rättelse av en rad som importerats tidigare\n" in out,
      "the edited answer is a correction at Svar!5: %r" % out)

# An unknown answer label is one decision: said once with its rows, in
# Swedish, as for CSV (rejects.c).
odd = people(6, seed=5)
for p in odd[1:4]:
    p["answers"][0] = "Instämmer nästan"
odd_path = os.path.join(TMP, "odd.xlsx")
write_xlsx(odd_path, odd, shared=True, info_sheet=True)
rc, out, err = run(d, "import", odd_path, "--mapping", by_name)
check(rc == 65 and err.count("okänd svarsetikett") == 1 and
      'odd.xlsx: Svar!L3 "Jag fick det stöd jag behövde": okänd svarsetikett "Instämmer nästan" (ange den i '
      '[labels] eller [labels.d_behov]); 3 rader' in err, "an unknown label once, with its rows: %r" % err.strip())
rc, out, err = run(d, "--lang", "en", "import", odd_path, "--mapping", by_name)
check(rc == 65 and 'odd.xlsx: Svar!L3 "Jag fick det stöd jag behövde": unknown answer label "Instämmer nästan" '
      '(map it in [labels] or [labels.d_behov]); 3 rows' in err, "... and in English with --lang en: %r" % err)
rc, out, err = run(d, "import", bad_path, "--mapping", mapping("sheet = Resultat"))
check(rc == 65 and 'bad.xlsx: inget blad heter "Resultat"; arbetsbokens blad är "Info", "Svar"' in err and
      "rubrikraden" not in err,
      "a missing sheet is named: %r" % err.strip())

# ---- hostile files ----------------------------------------------------------
data = open(shared_path, "rb").read()
cut = os.path.join(TMP, "cut.xlsx")
with open(cut, "wb") as f:
    f.write(data[: len(data) // 2])
rc, out, err = run(d, "import", cut, "--mapping", by_name)
check(rc == 65 and "cut.xlsx: inte en arbetsbok från Excel eller OpenDocument, eller en skadad fil: " in err,
      "a truncated workbook is refused: %r" % err.strip())


def bomb(path, part_mib):
    """The first-sheet workbook with its sheet part padded with spaces."""
    with zipfile.ZipFile(first_path) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts.items():
            if name != "xl/worksheets/sheet1.xml":
                z.writestr(name, body)
                continue
            with z.open(name, "w", force_zip64=True) as w:
                head, tail = body.split(b"<sheetData>", 1)
                w.write(head)
                pad = b" " * (1 << 20)
                for _ in range(part_mib):
                    w.write(pad)
                w.write(b"<sheetData>" + tail)


t0 = time.time()
big = os.path.join(TMP, "big.xlsx")
bomb(big, 257)
rc, out, err = run(d, "import", big, "--mapping", MAPPING)
check(rc == 65 and "big.xlsx: xl/worksheets/sheet1.xml: större än 256 MiB uppackad; dela upp exporten" in err,
      "a part beyond 256 MiB unpacked is refused (%.1f s): %r" % (time.time() - t0, err.strip()))
ratio = os.path.join(TMP, "ratio.xlsx")
bomb(ratio, 20)
rc, out, err = run(d, "import", ratio, "--mapping", MAPPING)
check(rc == 65 and "ratio.xlsx: xl/worksheets/sheet1.xml: packas upp till mer än 200 gånger sin packade storlek"
      in err,
      "a part that unpacks 1000-fold is refused: %r" % err.strip())
check(queued(d) == "queued=0", "nothing stored from hostile files")

# ---- rate ---------------------------------------------------------------------
n = int(os.environ.get("FINSAM_XLSX_RATE_ROWS", "20000"))
if n:
    rows = people(n, seed=2)
    csv_path = os.path.join(TMP, "rate.csv")
    xlsx_path = os.path.join(TMP, "rate.xlsx")
    write_csv(csv_path, rows)
    write_xlsx(xlsx_path, rows, shared=True, info_sheet=False)
    rates = {}
    for kind, path in (("csv", csv_path), ("xlsx", xlsx_path)):
        d = data_dir("rate-" + kind)
        t0 = time.time()
        rc, out, err = run(d, "import", path, "--mapping", MAPPING)
        dt = time.time() - t0
        check(rc == 0 and counts(out) == (n, n, 0, 0, 0), "%s: %d rows imported" % (kind, n))
        rates[kind] = n / dt
        print("rate %s: %d rows in %.2f s = %.0f rows/s (%d bytes)" % (kind, n, dt, n / dt, os.path.getsize(path)))
    print("rate xlsx/csv: %.2f" % (rates["xlsx"] / rates["csv"]))

if os.environ.get("FINSAM_KEEP_TMP"):
    print("kept", TMP)
else:
    shutil.rmtree(TMP, ignore_errors=True)
print("%d failed" % len(failures) if failures else "all passed")
sys.exit(1 if failures else 0)
