#!/usr/bin/python3
"""Mean absolute error the disclosure protection adds, per measure and level:
finsamctl query (as published) against finsamctl query --exact on one data dir.
  /usr/bin/python3 tests/attack/protection_error.py build/bin/finsamctl DATA_DIR"""
import json, subprocess, sys, collections
ctl, data = sys.argv[1], sys.argv[2]
head = {"ordinal": "mean", "share_yes": "share", "share_sustained": "share", "sum": "sum",
        "median_days": "median_days", "paired_change": "mean_change"}
def q(exact, period):
    a = [ctl, "-d", data, "query", "--format", "json", "--period", period]
    if exact: a.append("--exact")
    return json.loads(subprocess.check_output(a))
for period in ["year", "quarter"]:
    E, P = q(True, period), q(False, period)
    print(f"period={period}")
    print(f"{'measure':28} {'agg':14} {'lvl':8} {'rows':>5} {'MAE':>8} {'mean|exact|':>11} {'MAE n':>6}")
    for me, mp in zip(E["measures"], P["measures"]):
        key = head[me["aggregate"]]
        ex = {(r["level"], r["name"], r["period"]): r for r in me["rows"]}
        acc = collections.defaultdict(list)
        for r in mp["rows"]:
            if r["suppressed"] or key not in r or r[key] is None: continue
            e = ex.get((r["level"], r["name"], r["period"]))
            if not e or e.get(key) is None: continue
            acc[r["level"]].append((abs(r[key] - e[key]), abs(e[key]), abs(r["n"] - e["n"])))
        for lvl in ["forbund", "nation"]:
            v = acc.get(lvl)
            if not v: continue
            n = len(v)
            print(f"{me['id']:28} {me['aggregate']:14} {lvl:8} {n:5} {sum(x[0] for x in v)/n:8.4f} {sum(x[1] for x in v)/n:11.3f} {sum(x[2] for x in v)/n:6.2f}")
