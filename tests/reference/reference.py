#!/usr/bin/python3
"""finsam reference test: an independent Python recomputation of every
indicator cell, compared with the operator's exact view.

  /usr/bin/python3 tests/reference/reference.py --build build
  ... --keep                 keep the temporary directory (collector, agents, files)
  ... --save F / --load F    save what the pipeline printed / compare again without running it
  ... --all-diffs FILE       every difference, one per line
  ... --self-test            only check the reference itself on hand-computed cases

Steps:
 1. generate two years (2025 to yesterday, at most 2026) of site exports for
    seven förbund, one of them tiny (dataset.py): participants' entry, ongoing,
    exit and follow-up reports and surveys with re-entries, people answering
    twice in a quarter, staff surveys in spring and autumn rounds,
    organisation reports;
 2. run a real collector and one real agent per förbund (127.0.0.1,
    ephemeral ports, LMDB in a temporary directory: tests/attack/cluster.py),
    import and deliver; re-import one file unchanged (nothing may change);
    import two rounds of corrections; read the event ids from the log
    (`finsamctl tail ev. --from 1`, a subscriber with access "all"), retract
    some rows (JSONL `retraction`), erase others (`finsam-agent erase`),
    and answer retracted staff surveys anew; deliver;
 3. recompute every measure for every förbund, län and Riket x year,
    quarter, month x slice from the rows as they stand (expected.py);
 4. read `finsamctl query --exact --format json` for every period kind and
    slice, compare every field of every row (compare.py), run `finsamctl
    rebuild --verify`; print the differences grouped by kind with one
    example each and the number of cells compared; exit 1 on any difference.

Assumptions where the spec (finsam.proto, catalogue.json, DESIGN.md §5,
docs/architecture.md, docs/http-api.md, issue 12) is silent or ambiguous.
The C side and this file are to be aligned on them (docs/reference-test.md):

A1  Periods: the month of the row's date (occurred_at is the 1st of that
    month); the year, quarter and month of it. Län and Riket cells hold
    the observations of their förbund; a person is one pseudonym per
    förbund, so units add up.
A2  Slices: participant measures, paired ones included: all, mode=,
    gender=, age=; staff measures: all, mode=, agency=; organisation
    measures: all. A row without gender is in no gender slice. The age
    band is the event's year minus the birth year (given, or from the
    personnummer): 16-29, 30-49, 50-64, 65+.
A3  n = observations with a value ("don't know", where the item's scale has
    one, is left out); units = distinct participants, staff responses or
    organisation reports behind n. Someone answering twice in a period
    counts twice in n and once in units.
A4  Step ladder (i7_steg), DESIGN.md §5 read case by case: 5 = work or
    studies with a *known* extent >= 50 % and no public support (public
    support = sickness benefit, activity or sickness compensation,
    unemployment benefit/activity support, social assistance; wage,
    no public support and "other" are not); 4 = any other unsubsidised
    work (under 50 %, extent missing, or >= 50 % with public support);
    3 = studies otherwise, subsidised work; 2 = work training;
    1 = preparatory or job seeking; 0 = none.
A5  In work or studies = work, subsidised work or studies (any extent);
    assessed together = share of `true` among exit reports giving it;
    day shares: share of day counts <= 30.
A6  Medians and quartiles (day counts and ordinal answers) are exact
    Hyndman & Fan type-2 quantiles: the ceil(p*n)-th smallest value, or the
    mean of the p*n-th and the next when p*n is whole (for even n the median
    is the mean of the two middle values), p = 1/4, 1/2, 3/4. Day counts
    are printed in whole days, a half rounded up; an ordinal median can be
    a half step (3.5).
A7  sd is the sample sd (n-1); ci95 = mean +- t(0.975, n-1) * sd / sqrt(n)
    with the exact t quantile; for n = 1, sd = 0 and ci95 = [mean, mean].
A8  Pairs are episodes: a person's observations of a paired measure in
    order of month, then of delivery (a correction keeps the place of the
    row it corrects); each earlier-side observation (entry report, ongoing
    answer, exit report) starts an episode, whose pair is it and the latest
    later-side observation (exit report, exit answer, follow-up report)
    before the next episode starts; "don't know" is not an observation. A
    pair belongs to the period and the slices (mode, gender, age band) of
    its later observation; n counts pairs, units distinct people.
    Sustained (i11): pairs whose exit was in work or studies; share of
    those in work or studies at the follow-up.
A9  change_mean / change_share: against the previous period of the same
    kind, when both cells have n > 0. Shares in share units (0.028 =
    +2.8 percentage points). Share measures (share_yes, share_sustained)
    have no change_mean; sum measures change in their mean.
A10 change_year_mean / change_year_share (names proposed here): against the
    same period one year earlier, when both have n > 0.
A11 integrated_minus_project_mean (+ _ci95) and _share (+ _ci95) (names
    proposed here): on slice "all" rows of measures sliced by mode, when
    both mode cells have n > 0. Means: Welch's interval with the exact t
    quantile at the Welch-Satterthwaite df (needs n >= 2 on both sides;
    [d, d] when both variances are 0). Shares: Wald, z = 1.959964.
A12 The exact view withholds and suppresses nothing: every field of every
    row. share_top (and its change) only where the scale declares a top
    category (maturity4 declares none).
A13 Row fields: ordinal n, units, mean, sd, ci95, median, share_top;
    share_yes / share_sustained n, units, share, ci95 (A15); sum n, units, sum, mean;
    median_days n, units, median_days, q1_days, q3_days (new), mean_days,
    share_within_30_days; paired_change n, units, mean_change, ci95,
    share_improved; all rows suppressed = false, förbund rows lan.
A14 A correction (same natural key, changed content) replaces the row;
    a retraction or an erasure removes it.
A15 A share's ci95 is Wilson's score interval with z = 1.959963984540054:
    centre (p + z^2/2n) / (1 + z^2/n), half-width z / (1 + z^2/n) *
    sqrt(p(1 - p)/n + z^2/4n^2), clamped to [0, 1].
"""
import argparse
import collections
import datetime as dt
import hashlib
import json
import os
import pickle
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "attack"))

import cluster as cl      # noqa: E402  (test infrastructure)
import compare            # noqa: E402
import dataset            # noqa: E402
import expected as ex     # noqa: E402
import selftest           # noqa: E402

PERIOD_KINDS = ("year", "quarter", "month")
SLICES = ("all", "mode=project", "mode=integrated",
          "agency=af", "agency=fk", "agency=region", "agency=municipality", "agency=forbund", "agency=other",
          "gender=woman", "gender=man", "gender=other",
          "age=16-29", "age=30-49", "age=50-64", "age=65+")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build directory (binaries in BUILD/bin)")
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(HERE)), help="source tree")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--end", help="last date of the data set (YYYY-MM-DD; default yesterday, at most 2026-12-31)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--save", help="save the rows and the exact view (pickle) for --load")
    ap.add_argument("--load", help="compare a --save file instead of running the pipeline")
    ap.add_argument("--all-diffs", help="write every difference to this file")
    ap.add_argument("--examples", type=int, default=1, help="examples per kind of difference")
    ap.add_argument("--self-test", action="store_true", help="only check the reference on hand-computed cases")
    return ap.parse_args(argv)


# ---- the pipeline ------------------------------------------------------------

def pseudonym(key_hex, pnr):
    """docs/import-jsonl.md: keyed BLAKE2b-256 of the 12-digit personnummer
    under the site key. Used only to find a row's event id in the log."""
    digits = pnr.replace("-", "").replace("+", "")
    return hashlib.blake2b(digits.encode(), digest_size=32, key=bytes.fromhex(key_hex)).hexdigest()


def row_signature(f, r, keys):
    """What a row's event shows in the log (finsamctl tail --format json),
    as a comparable tuple."""
    month = r["date"][:7]
    k = r["kind"]
    if k == "participant_survey":
        return (f, k, pseudonym(keys[f], r["personnummer"]), month, r["instrument"], r["mode"],
                tuple(sorted(r["answers"].items())))
    if k == "status":
        return (f, k, pseudonym(keys[f], r["personnummer"]), month, r["phase"], r["mode"], r["occupation"],
                r["income"], r.get("extent_pct"), r.get("days_in_insats"), r.get("days_to_next_service"),
                r.get("assessed_with_participant"))
    if k == "staff_survey":
        return (f, k, month, r["instrument"], r["agency"], r["mode"], tuple(sorted(r["answers"].items())))
    return (f, k, month, tuple(sorted(r["answers"].items())))


def event_signature(e):
    ev = e["event"]
    f = ev["forbund"]
    month = dt.datetime.fromtimestamp(ev["occurred_at"], dt.timezone.utc).strftime("%Y-%m")

    def low(v, prefix):
        return v[len(prefix):].lower() if isinstance(v, str) and v.startswith(prefix) else v

    def answers(b):
        return tuple(sorted((a["item"], a["value"]) for a in b.get("answers", [])))
    if "participant_survey" in ev:
        b = ev["participant_survey"]
        return (f, "participant_survey", b["pseudonym"], month, b["instrument"], low(b["mode"], "MODE_"),
                answers(b))
    if "status" in ev:
        b = ev["status"]
        return (f, "status", b["pseudonym"], month, low(b["phase"], "PHASE_"), low(b["mode"], "MODE_"),
                low(b["occupation"], "OCC_"), low(b["income"], "INC_"), b.get("extent_pct"),
                b.get("days_in_insats"), b.get("days_to_next_service"), b.get("assessed_with_participant"))
    if "staff_survey" in ev:
        b = ev["staff_survey"]
        return (f, "staff_survey", month, b["instrument"], low(b["agency"], "AGENCY_"), low(b["mode"], "MODE_"),
                answers(b))
    if "organisation" in ev:
        return (f, "organisation", month, answers(ev["organisation"]))
    return None


def write_jsonl(path, rows):
    with open(path, "w", encoding="utf-8") as fh:
        for r in rows:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")


def summary_counts(text):
    """`FILE: rows=.. accepted=.. already_imported=.. corrected=..` -> dict."""
    out = {}
    for tok in text.split():
        if "=" in tok:
            k, v = tok.split("=", 1)
            if v.isdigit():
                out[k] = int(v)
    return out


class Pipeline:
    def __init__(self, args):
        self.args = args
        bindir = os.path.join(os.path.abspath(args.build), "bin")
        self.c = cl.Cluster(bindir, keep=args.keep, log=log, insatser=sorted(dataset.INSATS))
        self.notes = []   # pipeline facts that are differences too (import summaries, rebuild)

    def imp(self, f, name, rows, expect=None):
        path = os.path.join(self.c.dir, f"{name}-{f}.jsonl")
        write_jsonl(path, rows)
        out = self.c.agent_import(f, path)
        got = summary_counts(out)
        for k, v in (expect or {}).items():
            if got.get(k) != v:
                self.notes.append(f"import {name} {f}: {k}={got.get(k)}, expected {v} ({out.strip()})")
        return got

    def events(self):
        c = self.c
        r = c.run([c.bin("finsamctl"), "-d", c.data, "tail", "ev.", "--key", self.allkey + "_secret",
                   "--server-key", os.path.join(c.data, "keys", "collector.key"),
                   "--stream", c.streams["stream-all"], "--replay", c.streams["replay"],
                   "--from", "1", "--format", "json", "--idle-exit-ms", "1500"], timeout=120, check=False)
        evs = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
        if not evs:
            raise cl.ClusterError(f"the event log replay returned nothing: {r.stderr.decode()[-1000:]}")
        return evs

    def run(self, rows, rounds, seed):
        c, forbunds = self.c, list(rows)
        c.init()
        for f in forbunds:
            c.add_agent(f)
        # A subscriber with access "all": reads the event log for the ids.
        self.allkey = os.path.join(c.dir, "sub-all.key")
        c.run([c.bin("finsamctl"), "-d", c.data, "keygen", self.allkey, "--access", "all"])
        os.makedirs(os.path.join(c.data, "subscribers"), exist_ok=True)
        shutil.copy(self.allkey, os.path.join(c.data, "subscribers", "reference-all.key"))
        c.start()
        t0 = time.time()
        for f in forbunds:
            self.imp(f, "base", rows[f], {"accepted": len(rows[f]), "rejected": 0})
        c.deliver(forbunds)
        # The same export again: nothing new.
        self.imp("NV", "base", rows["NV"], {"accepted": 0, "already_imported": len(rows["NV"])})
        for i, rnd in enumerate(rounds):
            for f in forbunds:
                if rnd[f]:
                    self.imp(f, f"correction{i + 1}", rnd[f], {"corrected": len(rnd[f]), "rejected": 0})
            c.deliver(forbunds)
        live = dataset.apply_corrections(rows, rounds)
        corrected = {dataset.row_key(r) for rnd in rounds for rs in rnd.values() for r in rs}
        retract, erase, new = dataset.pick_withdrawals(seed, live, corrected)
        keys = {f: open(os.path.join(c.agents[f], "keys", "pseudonym.key")).read().strip() for f in forbunds}
        index = collections.defaultdict(list)
        for e in self.events():
            sig = event_signature(e)
            if sig:
                index[sig].append(e["event"]["id"])
        withdrawn = {f: set() for f in forbunds}

        def target(f, r):
            ids = index.get(row_signature(f, r, keys), [])
            return ids[0] if len(ids) == 1 else None
        for f in forbunds:
            rts = []
            for r in retract[f]:
                tid = target(f, r)
                if tid:
                    rts.append({"kind": "retraction", "target": tid, "date": r["date"]})
                    withdrawn[f].add(id(r))
            nw = new[f] if rts else []
            if rts or nw:
                self.imp(f, "retractions", rts + nw, {"accepted": len(rts) + len(nw), "rejected": 0})
            for r in erase[f]:
                tid = target(f, r)
                if not tid:
                    continue
                res = c.run(c.agent_argv(f) + ["--log-level", "warn", "erase", tid], check=False)
                if res.returncode != 0:
                    self.notes.append(f"finsam-agent erase {tid} ({f}) exited {res.returncode}: "
                                      f"{res.stderr.decode(errors='replace')[-300:]}")
                    continue
                withdrawn[f].add(id(r))
            live[f] = [r for r in live[f] if id(r) not in withdrawn[f]] + nw
        c.deliver(forbunds)
        self.counts = {"rows": sum(map(len, rows.values())),
                       "corrections": sum(len(rs) for rnd in rounds for rs in rnd.values()),
                       "retractions": sum(1 for f in forbunds for r in retract[f] if id(r) in withdrawn[f]),
                       "erasures": sum(1 for f in forbunds for r in erase[f] if id(r) in withdrawn[f]),
                       "restated_staff": sum(len(new[f]) for f in forbunds if new[f]),
                       "events_in_log": c.last_seq(), "pipeline_s": round(time.time() - t0, 1)}
        missing = (sum(map(len, retract.values())) + sum(map(len, erase.values()))
                   - self.counts["retractions"] - self.counts["erasures"])
        if missing:
            log(f"reference: {missing} withdrawal target(s) not found uniquely in the log; left in place")
        c.stop()
        got = self.exact_view()
        r = c.run([c.bin("finsamctl"), "-d", c.data, "rebuild", "--verify"], check=False, timeout=300)
        if r.returncode != 0:
            self.notes.append(f"finsamctl rebuild --verify exited {r.returncode}: "
                              f"{(r.stdout + r.stderr).decode(errors='replace').strip()[-500:]}")
        return live, got

    def exact_view(self):
        got = {}
        for p in PERIOD_KINDS:
            for s in SLICES:
                doc = json.loads(self.c.ctl(["query", "--exact", "--format", "json", "--period", p, "--slice", s],
                                            timeout=300))
                if doc.get("view") != "exact":
                    raise cl.ClusterError(f"query --exact printed view {doc.get('view')!r}")
                for m in doc.get("measures", []):
                    for row in m["rows"]:
                        key = (m["id"], row["level"], row["name"], row["period"], row["slice"])
                        vals = {k: v for k, v in row.items() if k not in ("level", "name", "period", "slice")}
                        if key in got and got[key] != vals:
                            self.notes.append(f"{'/'.join(key)} printed twice with different values")
                        got[key] = vals
        return got


# ---- report -------------------------------------------------------------------

def report(cat, live, got, notes, counts, args):
    table, by_id = ex.compute(cat, live)
    tables = {"reference": table}
    for (ladder, pairing), name in compare.VARIANT_NAMES.items():
        tables[name] = ex.compute(cat, live, ladder, pairing)[0]
    for mid, why in sorted(ex.UNSUPPORTED.items()):
        rows = sum(1 for k in got if k[0] == mid)
        notes = notes + [f"measure {mid} is not covered by the reference ({why}): its {rows} rows are "
                         f"not compared; extend tests/reference/expected.py"]
        got = {k: v for k, v in got.items() if k[0] != mid}
    diffs, ncells, nfields = compare.compare(table, got)
    groups = compare.group(diffs, by_id, got, tables)
    out = sys.stdout
    out.write("finsam reference test: the exact view against an independent recomputation\n")
    if counts:
        out.write("data: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + "\n")
    out.write(f"cells compared: {ncells} (expected {len(table)}, printed {len(got)}); fields compared: {nfields}\n")
    out.write(f"differences: {len(diffs)} in {len(groups)} kinds; pipeline notes: {len(notes)}\n")
    areas = collections.Counter()
    for kind, ds in groups:
        areas[kind.split(":", 1)[0]] += len(ds)
    if areas:
        out.write("by area: " + ", ".join(f"{a} {n}" for a, n in areas.most_common()) + "\n")
    for n in notes:
        out.write(f"  NOTE {n}\n")
    for kind, ds in groups:
        cells = len({d[:5] for d in ds})
        out.write(f"\n[{len(ds)} differences, {cells} cells] {kind}\n")
        for d in ds[:args.examples]:
            out.write(f"    e.g. {compare.fmt(d)}\n")
    if args.all_diffs:
        os.makedirs(os.path.dirname(os.path.abspath(args.all_diffs)), exist_ok=True)
        with open(args.all_diffs, "w") as fh:
            for kind, ds in groups:
                for d in ds:
                    fh.write(f"{kind}\t{compare.fmt(d)}\n")
        out.write(f"\nevery difference: {args.all_diffs}\n")
    ok = not diffs and not notes
    out.write(f"\nRESULT: {'PASS' if ok else 'FAIL'}: {len(diffs)} differences in {ncells} cells"
              f"{', ' + str(len(notes)) + ' pipeline notes' if notes else ''}\n")
    return 0 if ok else 1


def main(argv):
    args = parse_args(argv)
    cat = json.load(open(os.path.join(args.source, "proto", "catalogue.json"), encoding="utf-8"))
    fails = selftest.run(cat)
    for f in fails:
        print(f"SELF-TEST FAILED: {f}")
    if fails or args.self_test:
        print(f"reference self-test: {'FAIL' if fails else 'PASS'}")
        return 2 if fails else 0
    if args.load:
        with open(args.load, "rb") as fh:
            saved = pickle.load(fh)
        return report(cat, saved["live"], saved["got"], saved["notes"], saved["counts"], args)
    end = dt.date.fromisoformat(args.end) if args.end else dataset.end_date()
    rows, _ = dataset.generate(cat, args.seed, end)
    rounds = dataset.corrections(args.seed, rows)
    pipe = Pipeline(args)
    try:
        live, got = pipe.run(rows, rounds, args.seed)
    finally:
        pipe.c.cleanup()
        if args.keep:
            log(f"reference: kept {pipe.c.dir}")
    counts = dict(pipe.counts, data_end=end.isoformat())
    if args.save:
        with open(args.save, "wb") as fh:
            pickle.dump({"live": live, "got": got, "notes": pipe.notes, "counts": counts}, fh)
    return report(cat, live, got, pipe.notes, counts, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
