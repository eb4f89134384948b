#!/usr/bin/python3
"""finsam disclosure attack suite: tries to learn about single people from
everything the collector publishes, and fails if it can.

  python3 tests/attack/attack.py --build build          # the whole suite
  python3 tests/attack/attack.py --build build --keep   # keep the temp dir

Steps (docs/security-attacks.md):
 1. generate JSONL exports with small cells (gen.py) and their exact cell
    values (truth.py);
 2. run a real collector and one real agent per förbund; import, deliver;
 3. read every channel (readers.py): CLI json/csv, /api/indicators, a
    min_units sweep, /export.csv, /export.json, the aggregate stream (live,
    `finsamctl tail`) and its snapshot;
 4. per channel and for all together, set every published number up as a
    linear constraint and solve for each hidden cell (model.py, solver.py);
 5. differencing: single events, one commit each, while a poller and a
    stream subscriber record every output (differencing.py);
 6. print the table; exit 1 if any hidden cell is recovered exactly or
    within ±1, or differencing beats its bound.
"""
import argparse
import collections
import json
import os
import pickle
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import cluster as cl      # noqa: E402
import differencing       # noqa: E402
import gen                # noqa: E402
import lattice            # noqa: E402
import model              # noqa: E402
import readers            # noqa: E402
import solver             # noqa: E402
import truth as tr        # noqa: E402

# Measures attacked by default: ordinal, yes/no, status share, days, paired,
# sustained, staff. `--measures all` attacks every personal measure.
DEFAULT_MEASURES = ["i1_behov", "i4_samordnare", "i6_plan_efter", "i7_arbete_studier_avslut",
                    "i3_dagar_i_insats", "i7_steg", "i2_inflytande_change", "i11_kvar_6m", "i8_respekt"]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build", help="build directory (binaries in BUILD/bin)")
    ap.add_argument("--source", default=os.path.dirname(os.path.dirname(HERE)), help="source tree")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--measures", default=",".join(DEFAULT_MEASURES),
                    help="comma-separated measure ids, or 'all'")
    ap.add_argument("--sweep", default="5-40,45-100/5",
                    help="min_units values a client tries: ranges A-B, A-B/STEP, comma-separated")
    ap.add_argument("--sweep-measures", default="i1_behov,i4_samordnare,i7_steg,i8_respekt",
                    help="measures the min_units sweep asks for (each k costs one export per measure "
                         "and period kind)")
    ap.add_argument("--live-events", type=int, default=48, help="single events for differencing")
    ap.add_argument("--noise-d", type=float, default=None,
                    help="published counts are true ± D (cell-key); default: from the collector's "
                         "metadata, else 0")
    ap.add_argument("--noise-sum", type=float, default=None, help="published sums are true ± this")
    ap.add_argument("--ptable", default=None, help="perturbation table file (CSV i,j,p or JSON), "
                                                   "default: from the collector's metadata")
    ap.add_argument("--no-lp", action="store_true", help="no linear programs (elimination and propagation only)")
    ap.add_argument("--lp-seconds", type=float, default=4.0,
                    help="time for linear programs per channel (cells left unchecked are reported)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--save", help="save what the readers collected (pickle) for --load")
    ap.add_argument("--load", help="analyse a --save file instead of running the pipeline")
    return ap.parse_args(argv)


# ---- running the pipeline ------------------------------------------------

def load(c, rows, tail):
    """Imports every förbund's rows and delivers them; returns the last
    sequence once the live subscriber has seen it."""
    for f, rs in rows.items():
        path = os.path.join(c.dir, f"{f}.jsonl")
        gen.write_jsonl(path, rs)
        c.agent_import(f, path)
    c.deliver(list(rows))
    seq = c.last_seq()
    tail.wait_seq(seq)
    return seq


def sync_live_tail(c, tail, forbund):
    """PUB loses what is published before a subscriber has joined: deliver
    organisation reports (not personal data, never attacked) until the live
    subscriber shows one."""
    for i in range(20):
        path = os.path.join(c.dir, f"warmup-{i}.jsonl")
        gen.write_jsonl(path, [{"kind": "organisation", "date": f"2025-01-{i + 1:02d}",
                                "answers": {"o_forum_moten": i + 1}}])
        c.agent_import(forbund, path)
        c.deliver([forbund])
        seq = c.last_seq()
        try:
            tail.wait_seq(seq, timeout=1.5)
            return
        except cl.ClusterError:
            continue
    raise cl.ClusterError("the live subscriber never received a message")


def sweep_values(spec):
    ks = []
    for part in spec.split(","):
        rng, _, step = part.partition("/")
        lo, _, hi = rng.partition("-")
        ks += list(range(int(lo), int(hi or lo) + 1, int(step or 1)))
    return sorted(set(ks))


def sweep_rows(c, measures, ks):
    """What a client learns by asking /export.json (every slice; the API
    refuses age slices) with each min_units in ks."""
    rows = []
    for k in ks:
        for mid in measures:
            rows += readers.read_export_json(c, min_units=k, measure=mid)
    return rows


# ---- analysis ---------------------------------------------------------------

class Result:
    def __init__(self, name):
        self.name = name
        self.published = self.hidden = 0
        self.exact_cells = set()
        self.pm1_cells = set()
        self.exact_stats = collections.Counter()
        self.pm1_stats = collections.Counter()
        self.examples = []
        self.exact_examples = []
        self.shares = collections.Counter()
        self.unchecked = set()
        self.seconds = 0.0


def analyse(name, pub, truth, measures, lan_of, lp=True, lp_seconds=10.0):
    t0 = time.time()
    res = Result(name)
    res.shares = pub.shares
    wanted = set(measures)
    res.published = sum(1 for k, c in pub.cells.items() if c["visible"] and k[0] in wanted)
    hidden = [k for k in pub.hidden_keys() if k[0] in wanted]
    res.hidden = len(hidden)
    years = sorted({k[3][:4] for k in pub.cells})
    comps = []
    for mid in measures:
        for y in years:
            comp = model.Component(truth.by_id[mid], y, pub, lan_of, truth)
            if comp.targets:
                solver.check_truth(comp)
                lat = lattice.Lattice(comp).propagate()
                known = {(k, s): lat.bounds(k, s) for k, s, _ in comp.targets}
                comps.append((comp, known))
    # The LP budget is shared by the components in proportion to their
    # cells not yet shown to be within ±1.
    open_cells = [len({k for (k, s), (lo, hi) in known.items()} -
                      {k for (k, s), (lo, hi) in known.items() if hi - lo <= 2}) for _, known in comps]
    total_open = max(1, sum(open_cells))
    unchecked = set()
    for (comp, known), nopen in zip(comps, open_cells):
        deadline = time.time() + lp_seconds * nopen / total_open
        for key, stat, lo, hi, exact, tv, checked in solver.solve(comp, lp=lp and nopen > 0,
                                                                   deadline=deadline, known=known):
            if exact:
                res.exact_cells.add(key)
                res.exact_stats[stat] += 1
                if len(res.exact_examples) < 4 and key[1] == "forbund" and stat in ("n", "sum", "hits"):
                    res.exact_examples.append((key, stat, lo, hi, tv))
            if hi - lo <= 2:
                res.pm1_cells.add(key)
                res.pm1_stats[stat] += 1
                if not exact and len(res.examples) < 4:
                    res.examples.append((key, stat, lo, hi, tv))
            elif not checked:
                unchecked.add(key)
    res.unchecked = unchecked - res.pm1_cells
    res.seconds = time.time() - t0
    return res


def fingerprint(pub, measures):
    wanted = set(measures)
    return hash(tuple(sorted((k, c["visible"], c["hidden_default"], c["n"], c["units"], c["sum"], c["hits"])
                             for k, c in pub.cells.items() if k[0] in wanted)))


def inconsistencies(pubs, measures):
    """Cells hidden in one channel's default view and shown in another's."""
    wanted = set(measures)
    hidden, shown = collections.defaultdict(set), collections.defaultdict(set)
    for name, pub in pubs.items():
        for k, c in pub.cells.items():
            if k[0] not in wanted:
                continue
            if c["hidden_default"]:
                hidden[k].add(name)
            if c["visible"]:
                shown[k].add(name)
    return {k: (hidden[k], shown[k]) for k in hidden if shown.get(k)}


def print_table(results, incons, diff, refused, out=sys.stdout):
    w = out.write
    w("\nDisclosure attack: hidden cells recovered (cells of the attacked measures)\n")
    w(f"{'channel':<34}{'published':>10}{'hidden':>8}{'exact':>7}{'±1':>7}{'open':>6}"
      f"   {'exact n/units/sum/hits':<24}±1 n/units/sum/hits\n")
    for r in results:
        by = "/".join(str(r.exact_stats.get(s, 0)) for s in model.TARGET_STATS)
        pm = "/".join(str(r.pm1_stats.get(s, 0)) for s in model.TARGET_STATS)
        w(f"{r.name:<34}{r.published:>10}{r.hidden:>8}{len(r.exact_cells):>7}{len(r.pm1_cells):>7}"
          f"{len(r.unchecked):>6}   {by:<24}{pm}\n")
    w("(exact: a hidden cell's n, units, sum or hits determined; ±1: one of them within an interval of\n"
      " width ≤ 2 (includes exact); open: cells the LP time budget did not reach; by stat: counts of\n"
      " statistics, where a cell found by one statistic is not searched further)\n")
    w("\n0 %/100 % shares withheld (null, n < 10) and recovered from the mean (all measures):\n")
    for r in results:
        if r.shares.get("withheld"):
            w(f"  {r.name:<32} withheld {r.shares['withheld']:>5}  recovered {r.shares.get('recovered', 0):>5}\n")
    w(f"\ncells hidden in one channel but shown in another: {len(incons)}\n")
    for k, (h, s) in list(incons.items())[:3]:
        w(f"  {k}: hidden in {sorted(h)}, shown in {sorted(s)}\n")
    if refused:
        w(f"\n/api/indicators refused slices: {sorted(refused)}\n")
    for r in results:
        if r.examples or r.exact_examples:
            w(f"\nexamples ({r.name}):\n")
            for key, stat, lo, hi, tv in r.exact_examples + r.examples:
                w(f"  {'/'.join(key)} {stat}: attacker proves [{lo + 0:g}, {hi + 0:g}], true {tv}\n")
            break
    if diff:
        differencing.print_report(diff, out)


def main(argv=None):
    args = parse_args(argv if argv is not None else sys.argv[1:])
    t_start = time.time()
    bindir = os.path.join(os.path.abspath(args.build), "bin")
    cat = tr.load_catalogue(os.path.join(args.source, "proto", "catalogue.json"))
    rows = gen.generate(args.seed)
    truth = tr.Truth(cat, rows)
    bad = truth.check_consistency()
    if bad:
        raise SystemExit(f"generator: {len(bad)} people change gender or mode; the model assumes not")
    measures = [m.id for m in truth.measures] if args.measures == "all" else args.measures.split(",")
    log(f"attack: {sum(len(r) for r in rows.values())} rows, "
        f"{len({r.get('personnummer') for rs in rows.values() for r in rs} - {None})} people, "
        f"{len(rows)} förbund; measures {','.join(measures)}")

    if args.load:
        with open(args.load, "rb") as fh:
            got = pickle.load(fh)
    else:
        got = collect(args, bindir, rows, truth, measures, t_start)
        if args.save:
            with open(args.save, "wb") as fh:
                pickle.dump(got, fh)
    return analyse_all(args, got, truth, measures, t_start)


def collect(args, bindir, rows, truth, measures, t_start):
    c = cl.Cluster(bindir, keep=args.keep, log=log)
    notes = []
    chan = {}
    refused = set()
    diff = None
    meta = None
    try:
        c.init()
        for f in rows:
            c.add_agent(f)
        c.start()
        live = cl.Tail(c, "agg.", name="live")
        sync_live_tail(c, live, "NV")
        bulk_seq = load(c, rows, live)
        log(f"attack: delivered, last sequence {bulk_seq} ({time.time() - t_start:.1f}s)")
        meta = readers.disclosure_metadata(c)
        chan["cli json"] = readers.read_cli_json(c)
        chan["cli csv"] = readers.read_cli_csv(c)
        chan["api /api/indicators"] = readers.read_api(c, refused=refused)
        chan["api /export.csv"] = readers.read_export_csv(c)
        chan["api /export.json"] = readers.read_export_json(c)
        chan["stream live (tail)"] = readers.read_stream(live, upto_seq=bulk_seq)
        chan["stream snapshot (tail --from)"], _ = readers.read_snapshot(c)
        lost = stream_check(chan["stream live (tail)"], chan["stream snapshot (tail --from)"])
        if lost:
            notes.append(f"the live aggregate stream differs from the snapshot in {lost} cells "
                         "(messages lost?)")
        ks = sweep_values(args.sweep)
        a, b = ks[0], ks[-1]
        t0 = time.time()
        sweep = sweep_rows(c, args.sweep_measures.split(","), ks)
        log(f"attack: channels read; min_units sweep {args.sweep} ({len(ks)} values): {len(sweep)} rows "
            f"in {time.time() - t0:.1f}s")
        if args.live_events:
            t0 = time.time()
            diff = differencing.run(c, live, args, meta, measures_catalogue=truth)
            log(f"attack: differencing: {args.live_events} single events in {time.time() - t0:.1f}s")
    finally:
        c.cleanup()
        if args.keep:
            log(f"attack: kept {c.dir}")
    return {"channels": chan, "sweep": sweep, "sweep_range": (a, b), "refused": refused, "diff": diff,
            "meta": meta, "notes": notes}


def stream_check(live_rows, snap_rows):
    """The live subscriber's final state must equal the snapshot (PUB drops
    at the high-water mark; aggregate sequences have no gaps to detect)."""
    key = lambda r: (r["measure"], r["name"], r["period"], r["slice"])
    live = {key(r): (r["hidden"], r["n"], r["sum"], r["hits"]) for r in live_rows}
    snap = {key(r): (r["hidden"], r["n"], r["sum"], r["hits"]) for r in snap_rows}
    return sum(1 for k in set(live) | set(snap) if live.get(k) != snap.get(k))


def analyse_all(args, got, truth, measures, t_start):
    chan, sweep, refused, diff, meta = got["channels"], got["sweep"], got["refused"], got["diff"], got["meta"]
    a, b = got["sweep_range"]
    notes = got["notes"]
    lan_of = truth.lan
    if diff:
        diff = differencing.score(diff, truth, meta, args)
    noise_d = args.noise_d if args.noise_d is not None else float((meta or {}).get("D", 0))
    noise_sum = args.noise_sum if args.noise_sum is not None else float((meta or {}).get("D_sum", noise_d))
    pubs = {}
    for name, rs in chan.items():
        p = model.Published(truth.by_id, noise_d, noise_sum)
        p.add_rows(rs)
        pubs[name] = p
    # An API client: /api/indicators and /export.json as they are, plus the
    # answers to every min_units it tried.
    sw = model.Published(truth.by_id, noise_d, noise_sum)
    sw.add_rows(chan["api /api/indicators"])
    sw.add_rows(chan["api /export.json"])
    sw.add_rows(sweep, hidden_counts=False)
    pubs_all = dict(pubs)
    pubs_all[f"api min_units sweep {a}..{b}"] = sw
    combined = None
    for p in pubs_all.values():
        combined = p if combined is None else combined.merge(p)
    pubs_all["ALL CHANNELS COMBINED"] = combined

    results, cache = [], {}
    for name, pub in pubs_all.items():
        fp = fingerprint(pub, measures)
        if fp in cache:
            r = cache[fp]
            copy = Result(name)
            copy.__dict__.update({k: v for k, v in r.__dict__.items() if k != "name"})
            copy.shares = pub.shares
            results.append(copy)
            continue
        r = analyse(name, pub, truth, measures, lan_of, lp=not args.no_lp, lp_seconds=args.lp_seconds)
        log(f"attack: {name}: {r.hidden} hidden, {len(r.exact_cells)} exact, {len(r.pm1_cells)} ±1, "
            f"{len(r.unchecked)} unchecked ({r.seconds:.1f}s)")
        cache[fp] = r
        results.append(r)
    incons = inconsistencies(pubs, measures)
    print_table(results, incons, diff, refused)
    for note in notes:
        print(f"note: {note}")

    failures = []
    for r in results:
        if r.exact_cells or r.pm1_cells:
            failures.append(f"{r.name}: {len(r.exact_cells)} hidden cells exact, {len(r.pm1_cells)} within ±1")
        elif r.unchecked:
            failures.append(f"{r.name}: incomplete, {len(r.unchecked)} hidden cells not checked "
                            f"(raise --lp-seconds)")
        if r.shares.get("recovered"):
            failures.append(f"{r.name}: {r.shares['recovered']} withheld 0 %/100 % shares recovered")
    if incons:
        failures.append(f"{len(incons)} cells hidden in one channel are shown in another")
    if diff:
        failures += differencing.failures(diff)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": [{"channel": r.name, "published": r.published, "hidden": r.hidden,
                                    "exact": len(r.exact_cells), "pm1": len(r.pm1_cells),
                                    "exact_stats": dict(r.exact_stats), "shares": dict(r.shares)}
                                   for r in results],
                       "inconsistent": len(incons), "differencing": differencing.summary(diff),
                       "failures": failures}, fh, indent=2)
    print(f"\nattack suite: {time.time() - t_start:.0f}s")
    if failures:
        print("FAIL: the published outputs disclose individual values:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("PASS: no hidden cell recovered, differencing within its bound")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except (solver.InfeasibleTruth, AssertionError) as e:
        # A reader, the ground truth or the model disagrees with what was
        # published: no number of this run can be trusted.
        print(f"ERROR: attack suite: the published outputs do not fit the model: {e}\n"
              "(an output format or a disclosure rule changed? see docs/security-attacks.md)")
        sys.exit(2)
    except cl.ClusterError as e:
        print(f"ERROR: attack suite: {e}")
        sys.exit(2)
