"""The reference test's data set: two years (2025-2026) of site exports as
canonical JSONL rows (docs/import-jsonl.md), for several förbund of which
one is tiny.

What it contains, on purpose:
- participants with entry, ongoing, exit and 6/12-month follow-up status
  reports and participant surveys (ongoing and at exit);
- re-entries: a person who exits and later (in a later calendar month)
  enters a new insats, possibly in the other mode; the first insats's
  follow-ups may come after the re-entry;
- people answering twice in one quarter (two ongoing answers in two months
  of one quarter; a second exit answer on another day);
- ages that cross an age band between entry and exit, missing gender,
  gender "other", 65+;
- status edge cases for the step ladder (missing extent, income "other",
  work >= 50 % with public support, job seeking, subsidised work);
- staff surveys in spring and autumn rounds, and organisation reports;
- corrections (the same row again with changed content: `corrections`),
  a second correction of the same row, and the selection of retraction
  and erasure targets (`pick_withdrawals`) once the rows are delivered.

Every row is a plain dict; a row's *key* is the natural key the agent uses
to recognise a correction (docs/import-jsonl.md "Identity of a row"). The
generator never puts two from-side observations of one person and measure
into one calendar month (the collector only sees months; see reference.py
"Assumptions", A8).
"""
import copy
import datetime as dt
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "attack"))
import gen  # noqa: E402  (test infrastructure: valid personnummer)

# förbund -> participants. SD is the tiny one (alone in its län, Dalarna).
SIZES = {"NV": 60, "VAS": 34, "HBS": 46, "SS": 24, "OO": 30, "CO": 12, "SD": 3}
STAFF = {"NV": 7, "VAS": 4, "HBS": 5, "SS": 3, "OO": 4, "CO": 2, "SD": 1}
START = dt.date(2025, 1, 1)
LAST = dt.date(2026, 12, 31)

INSATS = {"steg1": "project", "arbetsnara": "project", "unga_vuxna": "integrated",
          "kartlaggning": "integrated", "ips": "integrated"}
AGENCIES = ["af", "fk", "region", "municipality", "forbund", "other"]
PUBLIC_INC = ["sickness_benefit", "activity_compensation", "sickness_compensation",
              "unemployment", "social_assistance"]
# Items and their scales come from the catalogue (set_catalogue), so an
# item added there gets answers here without a change.
ITEMS = {}     # instrument -> [(item, scale)]
STAFF_INSTRUMENTS = []
ORG_INSTRUMENT = None


def set_catalogue(cat):
    global ORG_INSTRUMENT
    ITEMS.clear()
    STAFF_INSTRUMENTS.clear()
    for code, ins in cat["instruments"].items():
        ITEMS[code] = [(it, cat["scales"][v["scale"]]) for it, v in ins["items"].items()]
        if ins["kind"] == "staff_survey":
            STAFF_INSTRUMENTS.append(code)
        elif ins["kind"] == "organisation":
            ORG_INSTRUMENT = code


def is_yesno(scale):
    return "yes" in scale


def scale_of(instrument, item):
    return dict(ITEMS[instrument])[item]


def other_value(scale, v):
    """A different value on the same scale (for corrections)."""
    if is_yesno(scale):
        return 2 if v == 1 else 1
    lo, hi = scale["min"], scale["max"]
    return lo + (v - lo + 1) % (hi - lo + 1) if lo <= v <= hi else lo


def end_date(today=None):
    """The last day rows may have: the agent refuses dates after today
    (Swedish date), so the data set ends yesterday (UTC) or at 2026-12-31."""
    today = today or dt.datetime.now(dt.timezone.utc).date()
    return min(LAST, today - dt.timedelta(days=1))


def month_index(d):
    return d.year * 12 + d.month - 1


def row_key(r):
    """The natural key of a row (what makes a changed row a correction)."""
    k = r["kind"]
    if k == "participant_survey":
        return (k, r["personnummer"], r["instrument"], r["date"])
    if k == "status":
        return (k, r["personnummer"], r["phase"], r["date"])
    if k == "organisation":
        return (k, r["date"])
    if k == "staff_survey":
        return (k, r["response_id"])
    raise ValueError(k)


class Gen:
    def __init__(self, seed, end):
        self.rng = random.Random(seed)
        self.end = end
        self.used = set()
        self.rid = 0

    # ---- participant pieces ------------------------------------------------
    def answers(self, instrument, base):
        """Answers to the instrument's items: about 10 % left out, 6 % "don't
        know" where the scale has it, the rest around `base` (1..5 scale
        units; yes more likely with a higher base)."""
        rng, out = self.rng, {}
        items = ITEMS[instrument]
        for it, sc in items:
            if rng.random() < 0.1 and len(out) < len(items) - 1:
                continue                                   # item not answered
            if sc.get("dont_know") is not None and rng.random() < 0.06:
                out[it] = sc["dont_know"]
            elif is_yesno(sc):
                out[it] = sc["yes"] if rng.random() < (base - 1.0) / 4.0 + 0.15 else (3 - sc["yes"])
            else:
                lo, hi = sc["min"], sc["max"]
                x = lo + (base - 1.0 + (rng.random() + rng.random() - 1.0) * 2.0) * (hi - lo) / 4.0
                out[it] = min(hi, max(lo, int(x + 0.5)))
        if not out:
            out[items[0][0]] = items[0][1]["min"]
        return out

    def entry_status(self):
        rng = self.rng
        occ = rng.choice(["none", "none", "preparatory", "preparatory", "job_seeking", "work_training"])
        inc = rng.choice(PUBLIC_INC + ["other", "no_public_support"] if rng.random() < 0.1 else PUBLIC_INC)
        ext = None if occ == "none" else rng.choice([25, 50, None] if rng.random() < 0.15 else [25, 50])
        return occ, inc, ext

    def exit_status(self, entry):
        rng = self.rng
        u = rng.random()
        if u < 0.22:
            occ, inc, ext = "work", rng.choice(["wage", "no_public_support"]), rng.choice([25, 50, 75, 100])
        elif u < 0.30:   # edge cases of the ladder
            occ = rng.choice(["work", "studies"])
            inc = rng.choice(["other", "sickness_benefit", "activity_compensation", "wage"])
            ext = rng.choice([None, 50, 75, 100, 40])
        elif u < 0.42:
            occ, inc, ext = "studies", rng.choice(["no_public_support", "unemployment", "other"]), \
                rng.choice([25, 50, 100])
        elif u < 0.50:
            occ, inc, ext = "subsidised_work", "wage", rng.choice([50, 75, 100])
        elif u < 0.62:
            occ, inc, ext = "work_training", entry[1], 50
        elif u < 0.70:
            occ, inc, ext = "job_seeking", "unemployment", None
        else:
            occ, inc, ext = entry
        return occ, inc, ext

    def status_row(self, p, ep, phase, day, st):
        occ, inc, ext = st
        row = {"kind": "status", "personnummer": p["pnr"], "date": day.isoformat(), "phase": phase,
               "mode": ep["mode"], "insats": ep["insats"], "occupation": occ, "income": inc}
        if ext is not None:
            row["extent_pct"] = ext
        self.person_fields(p, row)
        if phase == "exit":
            rng = self.rng
            if rng.random() < 0.93:
                row["days_in_insats"] = (ep["exit"] - ep["entry"]).days
            if rng.random() < 0.9:
                u = rng.random()
                row["days_to_next_service"] = (rng.choice([0, 30, 31, 7]) if u < 0.15 else
                                               rng.randint(0, 30) if u < 0.65 else
                                               rng.randint(31, 200) if u < 0.95 else rng.randint(201, 500))
        if phase in ("exit", "entry") and self.rng.random() < 0.88:
            row["assessed_with_participant"] = self.rng.random() < 0.8
        return row

    def person_fields(self, p, row):
        if p["gender"]:
            row["gender"] = p["gender"]
        if p["give_birth_year"]:
            row["birth_year"] = p["birth_year"]

    def survey_row(self, p, ep, instrument, day, base):
        row = {"kind": "participant_survey", "personnummer": p["pnr"], "date": day.isoformat(),
               "instrument": instrument, "mode": ep["mode"], "insats": ep["insats"],
               "answers": self.answers(instrument, base)}
        self.person_fields(p, row)
        return row

    def person(self):
        rng = self.rng
        span = (self.end - START).days
        entry = START + dt.timedelta(days=rng.randint(0, max(1, span - 25)))
        u = rng.random()
        if u < 0.12:     # an age band boundary is crossed between entry and exit
            age = rng.choice([29, 49, 64])
        elif u < 0.18:
            age = rng.randint(65, 72)
        else:
            age = rng.randint(17, 63)
        birth_year = entry.year - age
        g = rng.random()
        return {"pnr": gen.make_pnr(rng, birth_year, self.used), "birth_year": birth_year,
                "gender": "woman" if g < 0.5 else "man" if g < 0.9 else "other" if g < 0.95 else None,
                "give_birth_year": rng.random() < 0.7, "first_entry": entry,
                "base": 1.8 + 2.6 * rng.random()}

    def episode(self, p, entry, plan):
        """One insats of a person from `entry`; appends (date, row) to plan;
        returns the episode (exit None while still in the insats)."""
        rng, end = self.rng, self.end
        insats = rng.choice(sorted(INSATS))
        ep = {"entry": entry, "insats": insats, "mode": INSATS[insats]}
        ep["exit"] = entry + dt.timedelta(days=rng.randint(20, 420))
        if ep["exit"] > end:
            ep["exit"] = None
        est = self.entry_status()
        plan.append((entry, self.status_row(p, ep, "entry", entry, est)))
        stop = ep["exit"] or end
        # Ongoing answers: usually one; sometimes a second one in another
        # month of the same quarter (answering twice in a quarter).
        if rng.random() < 0.78:
            d1 = entry + dt.timedelta(days=rng.randint(5, 60))
            if d1 < stop:
                plan.append((d1, self.survey_row(p, ep, "deltagare_pagaende", d1, p["base"])))
                if rng.random() < 0.3:
                    d2 = d1 + dt.timedelta(days=rng.randint(25, 50))
                    q = lambda d: (d.year, (d.month - 1) // 3)  # noqa: E731
                    if d2 < stop and d2.month != d1.month and q(d2) == q(d1):
                        plan.append((d2, self.survey_row(p, ep, "deltagare_pagaende", d2, p["base"] + 0.3)))
        if not ep["exit"]:
            return ep
        x = ep["exit"]
        xst = self.exit_status(est)
        plan.append((x, self.status_row(p, ep, "exit", x, xst)))
        if rng.random() < 0.85:
            plan.append((x, self.survey_row(p, ep, "deltagare_avslut", x, p["base"] + 0.5)))
            if rng.random() < 0.1:      # a second exit answer, another day
                x2 = x + dt.timedelta(days=rng.randint(1, 40))
                if x2 <= end:
                    plan.append((x2, self.survey_row(p, ep, "deltagare_avslut", x2, p["base"])))
        for months, prob in ((6, 0.72), (12, 0.6)):
            fu = x + dt.timedelta(days=round(months * 30.44))
            if fu <= end and rng.random() < prob:
                st = xst if rng.random() < 0.7 else (est if rng.random() < 0.5 else self.exit_status(est))
                plan.append((fu, self.status_row(p, ep, f"followup_{months}", fu, st)))
        return ep

    def participant(self, plan):
        p = self.person()
        ep = self.episode(p, p["first_entry"], plan)
        episodes = [ep]
        # Re-entry: a new insats in a later calendar month than the exit.
        while ep["exit"] and len(episodes) < 3 and self.rng.random() < (0.22 if len(episodes) == 1 else 0.3):
            x = ep["exit"]
            first = dt.date(x.year + (x.month == 12), x.month % 12 + 1, 1)
            start = first + dt.timedelta(days=self.rng.randint(0, 150))
            if start > self.end - dt.timedelta(days=3):
                break
            ep = self.episode(p, start, plan)
            episodes.append(ep)
        p["episodes"] = episodes
        return p

    # ---- staff and organisation --------------------------------------------
    def staff(self, f, plan):
        rng, end = self.rng, self.end
        rounds = []
        for y in (2025, 2026):
            rounds += [(dt.date(y, 4, 1), dt.date(y, 5, 31)), (dt.date(y, 10, 1), dt.date(y, 11, 20))]
        for lo, hi in rounds:
            hi = min(hi, end)
            if hi < lo:
                continue
            k = STAFF[f] + rng.randint(-1, 1)
            main, others = STAFF_INSTRUMENTS[0], STAFF_INSTRUMENTS[1:]
            people = [main] * max(1, k) + [rng.choice(others) for _ in range(rng.randint(1, 3))]
            for inst in people:
                d = lo + dt.timedelta(days=rng.randint(0, (hi - lo).days))
                self.rid += 1
                plan.append((d, {"kind": "staff_survey", "date": d.isoformat(), "instrument": inst,
                                 "agency": rng.choice(AGENCIES), "mode": rng.choice(["project", "integrated"]),
                                 "answers": self.answers(inst, 2.5 + 2 * rng.random()),
                                 "response_id": f"ref-{f}-{self.rid}"}))

    def organisation(self, f, plan):
        rng = self.rng
        for y in (2025, 2026):
            d = min(dt.date(y, 12, 15) if y == 2025 else dt.date(y, 11, 15), self.end)
            if d.year != y:
                continue
            total = rng.randint(3, 25)
            ans = {}
            for it, sc in ITEMS[ORG_INSTRUMENT]:
                if it == "o_insatser_totalt":
                    ans[it] = total
                elif rng.random() < 0.1:
                    continue
                elif it.startswith("o_insatser_"):           # parts of the total
                    ans[it] = rng.randint(0, total)
                elif sc["max"] > 100:                        # a count
                    ans[it] = rng.randint(0, 40)
                else:
                    ans[it] = rng.randint(sc["min"], sc["max"])
            plan.append((d, {"kind": "organisation", "date": d.isoformat(), "answers": ans}))


def generate(cat, seed=1, end=None, sizes=None):
    """{förbund: [row, ...]} (date order) and {förbund: [person, ...]}."""
    set_catalogue(cat)
    end = end or end_date()
    g = Gen(seed, end)
    rows, people = {}, {}
    for f, n in (sizes or SIZES).items():
        plan = []
        people[f] = [g.participant(plan) for _ in range(n)]
        g.staff(f, plan)
        g.organisation(f, plan)
        plan.sort(key=lambda e: e[0])
        rows[f] = [r for _, r in plan]
    return rows, people


def corrections(seed, rows):
    """Rows re-imported with changed content (same natural key), per
    förbund: two rounds, the second correcting some rows of the first
    again. Returns ([{förbund: [row]}, {förbund: [row]}])."""
    rng = random.Random(seed * 7919 + 1)
    round1, round2 = {}, {}
    for f, rs in rows.items():
        out = []
        for r in rs:
            k = r["kind"]
            if k == "participant_survey" and rng.random() < 0.06:
                c = copy.deepcopy(r)
                it = rng.choice(sorted(c["answers"]))
                c["answers"][it] = other_value(scale_of(c["instrument"], it), c["answers"][it])
                if rng.random() < 0.2:                         # a forgotten item added
                    missing = [(i, sc) for i, sc in ITEMS[c["instrument"]] if i not in c["answers"]]
                    if missing:
                        c["answers"][missing[0][0]] = other_value(missing[0][1], -1)
                if rng.random() < 0.1 and c.get("gender"):      # gender corrected
                    c["gender"] = "woman" if c["gender"] != "woman" else "man"
                out.append(c)
            elif k == "status" and rng.random() < 0.06:
                c = copy.deepcopy(r)
                v = rng.random()
                if v < 0.4:
                    c["occupation"] = rng.choice(["work", "studies", "work_training", "preparatory", "none"])
                    c["income"] = rng.choice(["wage", "no_public_support", "sickness_benefit"])
                    c["extent_pct"] = rng.choice([25, 50, 100])
                elif v < 0.7 and c["phase"] == "exit":
                    c["days_to_next_service"] = rng.randint(0, 120)
                    if "days_in_insats" in c:
                        c["days_in_insats"] += rng.randint(-10, 10)
                        c["days_in_insats"] = max(0, c["days_in_insats"])
                else:
                    c["mode"] = "integrated" if c["mode"] == "project" else "project"
                    c["insats"] = "ips" if c["mode"] == "integrated" else "steg1"
                out.append(c)
            elif k == "organisation" and rng.random() < 0.15:
                c = copy.deepcopy(r)
                for it in sorted(c["answers"]):
                    if it != "o_insatser_totalt" and not it.startswith("o_insatser_") and rng.random() < 0.5:
                        c["answers"][it] = other_value(scale_of(ORG_INSTRUMENT, it), c["answers"][it])
                out.append(c)
        round1[f] = out
        again = []
        for c in out:
            if c["kind"] != "organisation" and rng.random() < 0.12:
                c2 = copy.deepcopy(c)
                if c2["kind"] == "participant_survey":
                    it = sorted(c2["answers"])[0]
                    sc = scale_of(c2["instrument"], it)
                    dk = sc.get("dont_know")
                    c2["answers"][it] = dk if dk is not None and c2["answers"][it] != dk else \
                        other_value(sc, c2["answers"][it])
                else:
                    c2["occupation"] = "studies" if c2["occupation"] != "studies" else "work"
                again.append(c2)
        round2[f] = again
    return [round1, round2]


def apply_corrections(rows, rounds):
    """The rows as they stand after the correction rounds (same order)."""
    live = {f: list(rs) for f, rs in rows.items()}
    for rnd in rounds:
        for f, cs in rnd.items():
            idx = {row_key(r): i for i, r in enumerate(live[f])}
            for c in cs:
                live[f][idx[row_key(c)]] = c
    return live


def pick_withdrawals(seed, live, corrected_keys):
    """Rows to retract and rows to erase, per förbund: entry reports of
    re-entries (the exit then pairs with the earlier entry), exits,
    surveys, a staff answer (which is then answered anew: staff surveys
    are corrected by retraction and a new row) and one organisation
    report. Corrected rows are not withdrawn. Returns (retract, erase,
    new_rows) as {förbund: [row]}."""
    rng = random.Random(seed * 104729 + 3)
    retract, erase, new = {}, {}, {}
    for f, rs in live.items():
        rt, er, nw = [], [], []
        entries = {}
        for r in rs:
            if r["kind"] == "status" and r["phase"] == "entry":
                entries.setdefault(r["personnummer"], []).append(r)
        for r in rs:
            if row_key(r) in corrected_keys:
                continue
            k = r["kind"]
            u = rng.random()
            if k == "status" and r["phase"] == "entry" and len(entries[r["personnummer"]]) > 1 \
                    and r is not entries[r["personnummer"]][0] and u < 0.35:
                rt.append(r)
            elif k == "status" and r["phase"] == "exit" and u < 0.025:
                rt.append(r)
            elif k == "status" and r["phase"] == "exit" and u > 0.985:
                er.append(r)
            elif k == "participant_survey" and u < 0.02:
                rt.append(r)
            elif k == "participant_survey" and u > 0.99:
                er.append(r)
            elif k == "staff_survey" and u < 0.04:
                rt.append(r)
                c = copy.deepcopy(r)
                c["response_id"] += "-b"
                it = sorted(c["answers"])[0]
                c["answers"][it] = other_value(scale_of(c["instrument"], it), c["answers"][it])
                nw.append(c)
        orgs = [r for r in rs if r["kind"] == "organisation" and row_key(r) not in corrected_keys]
        if f == "VAS" and orgs:
            rt.append(orgs[0])
        retract[f], erase[f], new[f] = rt, er, nw
    return retract, erase, new
