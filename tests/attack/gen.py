"""Synthetic site exports with small cells, as canonical JSONL rows.

The attack suite feeds these rows through the real pipeline (agent import,
pseudonymization, delivery, collector) and keeps them as its ground truth
(truth.py). Nothing here is shared with the C code: the rows follow
docs/import-jsonl.md, the distributions loosely follow agents/import/demo.c.

Design decision: förbund of very different sizes (three of them tiny), so
that many cells fall under the disclosure floor and must be protected by the
collector; every participant row carries gender and birth year, and a
person's gender, mode and förbund never change (the attacker model in
model.py relies on that and the truth self-check verifies it).
"""
import datetime as dt
import json
import random

# förbund code -> number of participants. Codes and län are the catalogue's.
SIZES = {"NV": 95, "VAS": 71, "HBS": 54, "SS": 37, "OO": 14, "CO": 8, "SD": 3}
START = dt.date(2025, 1, 1)
END = dt.date(2026, 10, 31)       # bulk data; the differencing phase uses later days
STAFF_PER_FORBUND = {"NV": 10, "VAS": 8, "HBS": 7, "SS": 5, "OO": 3, "CO": 2, "SD": 1}

AGENCIES = ["af", "fk", "region", "municipality", "forbund", "other"]
INSATS = ["steg1", "arbetsnara", "unga_vuxna", "kartlaggning", "ips"]
ENTRY_OCC = ["none", "preparatory", "preparatory", "job_seeking", "work_training"]
ENTRY_INC = ["sickness_benefit", "activity_compensation", "sickness_compensation",
             "social_assistance", "unemployment"]

ONGOING_ITEMS = ["d_behov", "d_planering", "d_inflytande", "d_samordnare", "d_hantera", "d_stod_leva"]
EXIT_ITEMS = ["d_behov", "d_planering", "d_inflytande", "d_tid", "d_samordnare", "d_hantera",
              "d_stod_leva", "d_plan_efter"]
YESNO_ITEMS = {"d_samordnare", "d_plan_efter"}
STAFF_ITEMS = {"insatspersonal": ["p_respekt", "p_synpunkter", "p_gemensamt", "p_jamstalldhet"],
               "styrelse": ["s_strategi"],
               "chefer_i_samverkan": ["c_struktur", "s_strategi"],
               "remittent": ["r_samordnat"]}
ORG_ITEMS = ["o_brukarinflytande", "o_overenskommelser", "o_insatser_extern", "o_insatser_totalt",
             "o_forum_moten", "o_insatser_2parter", "o_insatser_uppfplan", "o_forebyggande"]
INSATS_COUNTS = ["o_insatser_extern", "o_insatser_2parter", "o_insatser_uppfplan", "o_insatser_totalt"]


def luhn_check(nine):
    s = 0
    for i, ch in enumerate(nine):
        v = int(ch) * (2 if i % 2 == 0 else 1)
        s += v - 9 if v > 9 else v
    return (10 - s % 10) % 10


def make_pnr(rng, year, used):
    while True:
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        nine = f"{year % 100:02d}{month:02d}{day:02d}{rng.randint(0, 999):03d}"
        pnr = f"{year:04d}{nine[2:6]}-{nine[6:9]}{luhn_check(nine)}"
        if pnr not in used:
            used.add(pnr)
            return pnr


def age_band(age):
    return "16-29" if age < 30 else "30-49" if age < 50 else "50-64" if age < 65 else "65+"


def _day(d):
    return d.isoformat()


def _answers(rng, items, mean):
    out = {}
    for it in items:
        if rng.random() < 0.05:
            out[it] = 0                                   # don't know
        elif it in YESNO_ITEMS:
            out[it] = 1 if rng.random() < (mean - 1.0) / 4.0 + 0.1 else 2
        else:
            x = mean + (rng.random() + rng.random() - 1.0) * 1.5
            out[it] = min(5, max(1, int(x + 0.5)))
    return out


def _status(rng, p, phase, day, occ, inc, ext):
    row = {"kind": "status", "personnummer": p["pnr"], "date": _day(day), "phase": phase,
           "mode": p["mode"], "insats": p["insats"], "occupation": occ, "income": inc,
           "extent_pct": ext, "gender": p["gender"], "birth_year": p["birth_year"],
           "assessed_with_participant": rng.random() < 0.85}
    if phase == "exit":
        row["days_in_insats"] = (p["exit"] - p["entry"]).days
        row["days_to_next_service"] = rng.randint(0, 30) if rng.random() < 0.7 else rng.randint(31, 150)
    return row


def _survey(rng, p, instrument, day, mean):
    items = ONGOING_ITEMS if instrument == "deltagare_pagaende" else EXIT_ITEMS
    return {"kind": "participant_survey", "personnummer": p["pnr"], "date": _day(day),
            "instrument": instrument, "mode": p["mode"], "insats": p["insats"], "gender": p["gender"],
            "birth_year": p["birth_year"], "answers": _answers(rng, items, mean)}


def _person(rng, used, start=START, end=END):
    span = (end - start).days
    entry = start + dt.timedelta(days=rng.randint(0, span - 20))
    birth_year = entry.year - rng.randint(18, 63)
    g = rng.random()
    p = {"pnr": make_pnr(rng, birth_year, used), "birth_year": birth_year,
         "gender": "woman" if g < 0.55 else "man" if g < 0.97 else "other",
         "mode": "project" if rng.random() < 0.45 else "integrated",
         "insats": rng.choice(INSATS), "entry": entry,
         "exit": entry + dt.timedelta(days=rng.randint(60, 420)),
         "base": 2.0 + 2.0 * rng.random()}
    p["entry_occ"], p["entry_inc"] = rng.choice(ENTRY_OCC), rng.choice(ENTRY_INC)
    p["entry_ext"] = 0 if p["entry_occ"] == "none" else 25 * rng.randint(1, 2)
    u = rng.random()
    if u < 0.25:
        p["exit_occ"], p["exit_inc"], p["exit_ext"] = "work", rng.choice(["wage", "no_public_support"]), 25 * rng.randint(2, 4)
    elif u < 0.4:
        p["exit_occ"], p["exit_inc"], p["exit_ext"] = "studies", rng.choice(["no_public_support", "unemployment"]), 25 * rng.randint(2, 4)
    elif u < 0.5:
        p["exit_occ"], p["exit_inc"], p["exit_ext"] = "subsidised_work", "wage", 25 * rng.randint(2, 4)
    elif u < 0.65:
        p["exit_occ"], p["exit_inc"], p["exit_ext"] = "work_training", p["entry_inc"], 50
    else:
        p["exit_occ"], p["exit_inc"], p["exit_ext"] = p["entry_occ"], p["entry_inc"], p["entry_ext"]
    p["sustained6"] = rng.random() < 0.75
    p["sustained12"] = p["sustained6"] and rng.random() < 0.85
    return p


def generate(seed=1, sizes=None, start=START, end=END):
    """Returns {förbund: [row, ...]} in date order, and the list of persons."""
    rng = random.Random(seed)
    sizes = sizes or SIZES
    used = set()
    rows = {f: [] for f in sizes}
    for f, size in sizes.items():
        plan = []   # (date, order, row)
        for _ in range(size):
            p = _person(rng, used, start, end)
            plan.append((p["entry"], len(plan), _status(rng, p, "entry", p["entry"], p["entry_occ"],
                                                         p["entry_inc"], p["entry_ext"])))
            ongoing = p["entry"] + dt.timedelta(days=rng.randint(20, 50))
            if ongoing <= end and ongoing < p["exit"] and rng.random() < 0.8:
                plan.append((ongoing, len(plan), _survey(rng, p, "deltagare_pagaende", ongoing, p["base"])))
            if p["exit"] <= end:
                plan.append((p["exit"], len(plan), _status(rng, p, "exit", p["exit"], p["exit_occ"],
                                                            p["exit_inc"], p["exit_ext"])))
                if rng.random() < 0.85:
                    plan.append((p["exit"], len(plan), _survey(rng, p, "deltagare_avslut", p["exit"],
                                                                p["base"] + 0.6)))
                for months, key in ((6, "sustained6"), (12, "sustained12")):
                    fu = p["exit"] + dt.timedelta(days=round(months * 30.5))
                    if fu <= end and rng.random() < 0.7:
                        occ = (p["exit_occ"], p["exit_inc"], p["exit_ext"]) if p[key] else \
                              (p["entry_occ"], p["entry_inc"], p["entry_ext"])
                        plan.append((fu, len(plan), _status(rng, p, f"followup_{months}", fu, *occ)))
        for i in range(STAFF_PER_FORBUND.get(f, 2)):
            d = start + dt.timedelta(days=rng.randint(0, (end - start).days))
            inst = "insatspersonal" if rng.random() < 0.7 else rng.choice(
                ["styrelse", "chefer_i_samverkan", "remittent"])
            plan.append((d, len(plan), {"kind": "staff_survey", "date": _day(d), "instrument": inst,
                                        "agency": rng.choice(AGENCIES),
                                        "mode": rng.choice(["project", "integrated"]),
                                        "answers": _answers(rng, STAFF_ITEMS[inst], 3.0 + rng.random()),
                                        "response_id": f"attack-{f}-{i}"}))
        for y in range(start.year, end.year + 1):
            d = min(dt.date(y, 12, 31), end)
            answers = {it: (rng.randint(1, 4) if it == "o_brukarinflytande" else rng.randint(0, 20))
                       for it in ORG_ITEMS}
            # A report's parts are at most its total of insatser (the
            # catalogue's ratio measures; the collector refuses the rest).
            answers["o_insatser_totalt"] = max(answers[it] for it in INSATS_COUNTS)
            plan.append((d, len(plan), {"kind": "organisation", "date": _day(d), "answers": answers}))
        plan.sort(key=lambda e: (e[0], e[1]))
        rows[f] = [r for _, _, r in plan]
    return rows


def live_rows(seed, count, forbunds, day):
    """Rows for the differencing phase: `count` single participant surveys
    (deltagare_pagaende) on `day`, from new people, spread over förbund.
    Each is imported and delivered alone."""
    rng = random.Random(seed)
    used = set()
    out = []
    for i in range(count):
        f = forbunds[i % len(forbunds)]
        p = _person(rng, used, day - dt.timedelta(days=30), day)
        row = _survey(rng, p, "deltagare_pagaende", day, p["base"])
        # Every answer given (no don't-know): the attack infers each one.
        for it, v in row["answers"].items():
            if v == 0:
                row["answers"][it] = 2 if it in YESNO_ITEMS else 3
        out.append((f, row))
    return out


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
