#!/usr/bin/env python3
"""gen_rows.py: N canonical JSONL import rows (docs/import-jsonl.md) for the
import benchmark: participants with valid (invented) personnummer going
through entry status, ongoing survey, exit status and exit survey, plus
staff surveys, dated over the last ~22 months. Deterministic for a seed.

usage: gen_rows.py N CATALOGUE_JSON [SEED] > rows.jsonl
       gen_rows.py --csv N > rows.csv
         survey-tool CSV in the shape of agents/examples/enkat-avslut.csv
         (import with --mapping agents/examples/enkat-avslut.ini)"""
import datetime
import json
import random
import sys


def luhn_digit(nine):
    total = 0
    for i, ch in enumerate(nine):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def csv_main(n):
    rnd = random.Random(7)
    labels = ["Instämmer helt", "Instämmer till stor del", "Instämmer delvis", "Instämmer i liten grad",
              "Instämmer inte alls", "Vet ej"]
    header = ("Svars-ID;Startdatum;Slutdatum;Personnummer;Namn;E-post;Telefon;Insats;Arbetsform;Kön;Födelseår;"
              "Jag fick det stöd jag behövde;Jag var med och planerade mitt stöd;Jag kunde påverka stödet;"
              "Insatsen pågick lagom länge;Hade du en person som samordnade ditt stöd?;"
              "Jag kan hantera min situation bättre nu;Stödet hjälper mig att leva som jag vill;"
              "Finns det en plan för vad som händer efter insatsen?;Övriga kommentarer")
    out = sys.stdout
    out.write("\ufeff" + header + "\n")
    today = datetime.date.today()
    first = today - datetime.timedelta(days=660)
    for i in range(n):
        born = datetime.date(rnd.randint(1960, 2004), rnd.randint(1, 12), rnd.randint(1, 28))
        nine = born.strftime("%y%m%d") + "%03d" % rnd.randint(0, 999)
        pnr = "%s%s-%s%s" % (born.year // 100, nine[:6], nine[6:], luhn_digit(nine))
        end = first + datetime.timedelta(days=int(650 * i / max(n, 1)))
        start = end - datetime.timedelta(days=60)
        a = [rnd.choice(labels) for _ in range(7)]
        out.write("%d;%s;%s;%s;Namn Namnsson;x@example.se;070-000 00 00;steg1;%s;%s;%d;%s;%s;%s;%s;%s;%s;%s;%s;\n" % (
            10000 + i, start.isoformat(), end.isoformat(), pnr, rnd.choice(["Projekt", "Ordinarie verksamhet"]),
            rnd.choice(["Kvinna", "Man"]), born.year, a[0], a[1], a[2], a[3], rnd.choice(["Ja", "Nej"]), a[4],
            a[5], rnd.choice(["Ja", "Nej", "Vet ej"])))


def main():
    if sys.argv[1] == "--csv":
        return csv_main(int(sys.argv[2]))
    n = int(sys.argv[1])
    cat = json.load(open(sys.argv[2], encoding="utf-8"))
    rnd = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
    scales = cat["scales"]
    inst = cat["instruments"]

    def answers(code):
        items = inst[code]["items"]
        out = {}
        for item, spec in items.items():
            sc = scales[spec["scale"]]
            lo, hi = sc.get("min", 0), sc.get("max", 10)
            out[item] = rnd.randint(lo, hi)
        return out

    today = datetime.date.today()
    first = today - datetime.timedelta(days=660)
    staff = [c for c, v in inst.items() if v["kind"] == "staff_survey"]
    occ = ["work", "subsidised_work", "studies", "job_seeking", "preparatory", "work_training", "none"]
    inc = ["wage", "sickness_benefit", "activity_compensation", "sickness_compensation", "unemployment",
           "social_assistance", "no_public_support", "other"]
    out = sys.stdout
    written = 0
    person = 0
    while written < n:
        person += 1
        born = datetime.date(rnd.randint(1960, 2004), rnd.randint(1, 12), rnd.randint(1, 28))
        nine = born.strftime("%y%m%d") + "%03d" % rnd.randint(0, 999)
        pnr = "%s-%s%s" % (nine[:6], nine[6:], luhn_digit(nine))
        mode = rnd.choice(["project", "integrated"])
        day = first + datetime.timedelta(days=int(660 * written / max(n, 1)))
        common = {"personnummer": pnr, "mode": mode, "insats": "steg1",
                  "gender": rnd.choice(["woman", "man"]), "birth_year": born.year}
        rows = [
            dict(common, kind="status", date=day.isoformat(), phase="entry",
                 occupation=rnd.choice(occ), income=rnd.choice(inc), extent_pct=rnd.randint(0, 100)),
            dict(common, kind="participant_survey", date=(day + datetime.timedelta(days=30)).isoformat(),
                 instrument="deltagare_pagaende", answers=answers("deltagare_pagaende")),
            dict(common, kind="status", date=(day + datetime.timedelta(days=60)).isoformat(), phase="exit",
                 occupation=rnd.choice(occ), income=rnd.choice(inc), days_in_insats=60,
                 assessed_with_participant=True),
            dict(common, kind="participant_survey", date=(day + datetime.timedelta(days=60)).isoformat(),
                 instrument="deltagare_avslut", answers=answers("deltagare_avslut")),
        ]
        if person % 4 == 0:
            code = rnd.choice(staff)
            rows.append({"kind": "staff_survey", "date": day.isoformat(), "instrument": code,
                         "agency": rnd.choice(["af", "fk", "region", "municipality"]), "mode": mode,
                         "answers": answers(code), "response_id": "R-%d" % person})
        for r in rows:
            if written >= n:
                break
            if datetime.date.fromisoformat(r["date"]) > today:
                r["date"] = today.isoformat()
            out.write(json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += 1


if __name__ == "__main__":
    main()
