"""Checks of the reference computation itself on hand-computed cases, run
before every comparison: a wrong reference must not pass for a right
collector (or the other way round).
"""
from fractions import Fraction
import math

from scipy import stats

import expected as ex


def _row(date, kind, **kw):
    r = {"kind": kind, "personnummer": "19900101-0017", "date": date, "gender": "woman", "birth_year": 1990}
    r.update(kw)
    return r


def _status(date, phase, mode, occ, inc, ext=None, **kw):
    r = _row(date, "status", phase=phase, mode=mode, occupation=occ, income=inc, **kw)
    if ext is not None:
        r["extent_pct"] = ext
    return r


def _survey(date, instrument, mode, **answers):
    return _row(date, "participant_survey", instrument=instrument, mode=mode, answers=answers)


def run(cat):
    fails = []

    def check(what, got, want):
        if isinstance(want, float):
            ok = isinstance(got, (int, float, Fraction)) and abs(got - want) <= 1e-12 * max(1, abs(want))
        else:
            ok = got == want
        if not ok:
            fails.append(f"{what}: {got!r}, hand-computed {want!r}")

    # Quantiles (type 2) and the t quantile.
    check("median of 1..4", ex.quantile2([1, 2, 3, 4], 1, 2), 2.5)
    check("q1 of 1..4", ex.quantile2([1, 2, 3, 4], 1, 4), 1.5)
    check("q3 of 1..4", ex.quantile2([1, 2, 3, 4], 3, 4), 3.5)
    check("q3 of 1..5", ex.quantile2([1, 2, 3, 4, 5], 3, 4), 4)
    check("median of [7]", ex.quantile2([7], 1, 2), 7)
    p = 0.975                                   # closed forms of the t quantile
    a = 4 * p * (1 - p)
    check("t(0.975, 1)", ex.t975(1), math.tan(math.pi * (p - 0.5)))
    check("t(0.975, 2)", ex.t975(2), (2 * p - 1) * math.sqrt(2 / a))
    check("t(0.975, 4)", ex.t975(4), 2 * math.sqrt(math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a) - 1))
    check("z(0.975)", ex.Z975, float(stats.norm.ppf(0.975)))
    for nu in (1000, 2999, 3001):               # both methods agree where they meet
        z = ex.Z975
        cf = (z + (z ** 3 + z) / (4 * nu) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * nu ** 2)
              + (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / (384 * nu ** 3)
              + (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / (92160 * nu ** 4))
        if abs(ex.t975(nu) - cf) > 1e-12 * cf:
            fails.append(f"t(0.975, {nu}): {ex.t975(nu)!r}, Cornish-Fisher {cf!r}")
    check("age 29 in 2025", ex.age_band(2025, 1996), "16-29")
    check("age 30 in 2025", ex.age_band(2025, 1995), "30-49")
    # Ladder (A4).
    check("work 100 % wage", ex.step("work", "wage", 100), 5)
    check("work, no extent, wage", ex.step("work", "wage", None), 4)
    check("work 75 % sickness benefit", ex.step("work", "sickness_benefit", 75), 4)
    check("studies 50 % other", ex.step("studies", "other", 50), 5)
    check("studies 25 % wage", ex.step("studies", "wage", 25), 3)
    check("job seeking", ex.step("job_seeking", "unemployment", None), 1)

    # One person, two episodes (A8).
    rows = [
        _status("2025-01-10", "entry", "project", "preparatory", "sickness_benefit", 25),      # step 1
        _survey("2025-02-01", "deltagare_pagaende", "project", d_inflytande=2, d_samordnare=1),
        _status("2025-03-05", "exit", "project", "work", "wage", 100, days_in_insats=54,
                days_to_next_service=31),                                                      # step 5
        _survey("2025-03-05", "deltagare_avslut", "project", d_inflytande=4, d_samordnare=2),
        _survey("2025-03-20", "deltagare_avslut", "project", d_inflytande=0),                  # don't know
        _status("2025-05-02", "entry", "integrated", "none", "social_assistance"),             # step 0
        _status("2025-08-20", "exit", "integrated", "studies", "no_public_support", 50,
                days_in_insats=110, days_to_next_service=30),                                  # step 5
        _survey("2025-08-20", "deltagare_avslut", "integrated", d_inflytande=5),
        _status("2025-09-05", "followup_6", "project", "work", "wage", 100),
    ]
    table, _ = ex.compute(cat, {"NV": rows})

    def cell(mid, period, slice_="all", level="forbund", name="NV"):
        return table.get((mid, level, name, period, slice_), {})
    c = cell("i7_steg", "2025")
    check("i7_steg 2025 n (two episodes)", c.get("n"), 2)
    check("i7_steg 2025 units", c.get("units"), 1)
    check("i7_steg 2025 mean", c.get("mean_change"), 4.5)
    check("i7_steg 2025-Q1 mean (first episode kept)", cell("i7_steg", "2025-Q1").get("mean_change"), 4.0)
    check("i7_steg 2025-Q3 integrated", cell("i7_steg", "2025-Q3", "mode=integrated").get("mean_change"), 5.0)
    check("i7_steg 2025 gender=woman n", cell("i7_steg", "2025", "gender=woman").get("n"), 2)
    check("i7_steg 2025 age=30-49 n", cell("i7_steg", "2025", "age=30-49").get("n"), 2)
    check("i7_steg 2025 Riket", cell("i7_steg", "2025", level="nation", name="Riket").get("n"), 2)
    check("i7_steg 2025-Q3 change_mean (Q2 empty)", cell("i7_steg", "2025-Q3").get("change_mean"), None)
    check("i2 ordinal 2025-03 change_mean", cell("i2_inflytande", "2025-03").get("change_mean"), 2.0)
    c = cell("i2_inflytande_change", "2025")
    # One episode (one ongoing answer): its latest exit answer pairs (+3);
    # the March one and the don't-know do not.
    check("i2 change 2025 n (one pair per episode)", c.get("n"), 1)
    check("i2 change 2025 mean (+3)", c.get("mean_change"), 3.0)
    check("i2 change 2025 share improved", c.get("share_improved"), 1.0)
    c = cell("i2_inflytande", "2025")
    check("i2 ordinal n", c.get("n"), 3)
    check("i2 ordinal units", c.get("units"), 1)
    check("i2 ordinal median (2, 4, 5)", c.get("median"), 4)
    check("i2 ordinal share_top", c.get("share_top"), 2 / 3)
    check("i2 ordinal sd", c.get("sd"), 1.5275252316519468)
    check("i4 share yes", cell("i4_samordnare", "2025").get("share"), 0.5)
    c = cell("i6_dagar_till_nasta", "2025")
    check("i6 within 30", c.get("share_within_30_days"), 0.5)
    check("i6 median (30, 31), a half rounded up", c.get("median_days"), 31)
    check("i6 q3", c.get("q3_days"), 31)
    check("i6 integrated - project", cell("i6_dagar_till_nasta", "2025").get("integrated_minus_project_mean"),
          -1.0)
    c = cell("i11_kvar_6m", "2025-09")
    check("i11 6m pairs with the latest exit before it", c.get("n"), 1)
    check("i11 6m share", c.get("share"), 1.0)
    check("i11 6m slice of the follow-up", cell("i11_kvar_6m", "2025-09", "mode=project").get("n"), 1)
    return fails
