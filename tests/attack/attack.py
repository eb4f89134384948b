#!/usr/bin/python3
"""finsam disclosure attack suite: tries to learn about single people from
everything the collector publishes, and fails if it can.

  python3 tests/attack/attack.py --build build          # the whole suite
  python3 tests/attack/attack.py --build build --keep   # keep the temp dir

Steps (docs/security-attacks.md):
 1. generate JSONL exports with small cells (gen.py) and their exact cell
    values (truth.py);
 2. run a real collector (publishing every second) and one real agent per
    förbund; import, deliver, wait for the steady-state publication;
 3. read every channel (readers.py): CLI json/csv, /api/indicators,
    /export.csv, /export.json, the aggregate stream (live, `finsamctl
    tail`) and its snapshot; try the min_units parameter (refused);
 4. per channel and for all together, set every published number up as a
    linear constraint with its noise interval and solve for each hidden
    cell, each never-published cell and each small visible cell (model.py,
    lattice.py, solver.py);
 5. differencing: single events, one commit and one publication each,
    while a poller and a stream subscriber record every output
    (differencing.py), against the Bayes bound of the published table;
 6. print the table; exit 1 if any hidden or never-published cell is
    recovered exactly or within ±1, a 0 %/100 % share on fewer than 10 is
    proven, a channel contradicts another, or differencing beats its bound.
"""
import argparse
import collections
import concurrent.futures
import json
import math
import multiprocessing
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
    ap.add_argument("--sweep", default="1-10,15-100/5",
                    help="min_units values a client tries (all must be refused): A-B, A-B/STEP, comma-separated")
    ap.add_argument("--sweep-measures", default="i1_behov,i4_samordnare,i7_steg,i8_respekt")
    ap.add_argument("--live-events", type=int, default=36, help="single events for differencing")
    ap.add_argument("--no-lp", action="store_true", help="no linear programs (propagation only)")
    ap.add_argument("--lp-seconds", type=float, default=60.0,
                    help="time for linear programs per channel (cells left unchecked are reported)")
    ap.add_argument("--jobs", type=int, default=2, help="analysis processes")
    ap.add_argument("--combined-only", action="store_true",
                    help="analyse only all channels together, its measures split over --jobs processes "
                         "(every channel's constraints are in it, so 0 there is 0 in each; CI uses this)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--json", help="also write the results as JSON to this file")
    ap.add_argument("--save", help="save what the readers collected (pickle) for --load")
    ap.add_argument("--load", help="analyse a --save file instead of running the pipeline")
    return ap.parse_args(argv)


# ---- running the pipeline ------------------------------------------------

def load(c, rows):
    """Imports every förbund's rows and delivers them; returns the last
    sequence."""
    for f, rs in rows.items():
        path = os.path.join(c.dir, f"{f}.jsonl")
        gen.write_jsonl(path, rs)
        c.agent_import(f, path)
    c.deliver(list(rows))
    return c.last_seq()


def sync_live_tail(c, tail, forbund, tag):
    """A subscriber sees publications from its subscribe.ok on: deliver
    organisation reports (not personal data, republished at every
    publication, never attacked) until the live subscriber shows one."""
    for i in range(20):
        path = os.path.join(c.dir, f"warmup-{tag}-{i}.jsonl")
        gen.write_jsonl(path, [{"kind": "organisation", "date": f"2025-01-{i + 1:02d}",
                                "answers": {"o_forum_moten": i + 1}}])
        c.agent_import(forbund, path)
        c.deliver([forbund])
        seq = c.last_seq()
        c.wait_publication(seq)
        try:
            tail.wait_seq(seq, timeout=2.5)
            return seq
        except cl.ClusterError:
            continue
    raise cl.ClusterError("the live subscriber never received a message")


def steady_state(c, seq, max_age):
    """Waits until every changed cell is republished: a publication
    covering seq that ran more than max_age after the last delivery (and
    one more, to be sure the tail got it)."""
    s, at = c.wait_publication(seq, settled=True, timeout=60 + 3 * max_age)
    # An idle collector publishes nothing new once nothing waits
    # (report/publish.c): that publication stands. Give the live
    # subscriber a moment to receive what it sent.
    time.sleep(1.5)
    return s, at


def sweep_values(spec):
    ks = []
    for part in spec.split(","):
        rng, _, step = part.partition("/")
        lo, _, hi = rng.partition("-")
        ks += list(range(int(lo), int(hi or lo) + 1, int(step or 1)))
    return sorted(set(ks))


def collect(args, bindir, rows, truth, measures, t_start, on_static=None):
    c = cl.Cluster(bindir, keep=args.keep, log=log, insatser=gen.INSATS)
    chan, notes = {}, []
    refused = set()
    diff = None
    try:
        c.init()
        for f in rows:
            c.add_agent(f)
        c.start(max_age=1)
        live = cl.Tail(c, "agg.", name="live")
        sync_live_tail(c, live, "NV", "bulk")
        bulk_seq = load(c, rows)
        pub_seq, _ = steady_state(c, bulk_seq, 1)
        log(f"attack: delivered, last sequence {bulk_seq}, steady publication {pub_seq} "
            f"({time.time() - t_start:.1f}s)")
        prot = readers.protection(c)
        chan["cli json"] = readers.read_cli_json(c)
        chan["cli csv"] = readers.read_cli_csv(c)
        chan["api /api/indicators"] = readers.read_api(c, refused=refused)
        chan["api /export.csv"] = readers.read_export_csv(c)
        chan["api /export.json"] = readers.read_export_json(c)
        chan["stream snapshot (tail --from)"], _ = readers.read_snapshot(c)
        deadline = time.time() + 10
        while True:
            chan["stream live (tail)"] = readers.read_stream(live)
            lost = stream_check(chan["stream live (tail)"], chan["stream snapshot (tail --from)"])
            if not lost or time.time() > deadline:
                break
            time.sleep(0.3)
        if lost:
            notes.append(f"the live aggregate stream differs from the snapshot in {lost} rows")
        seqs = {r["pub"][0] for rs in chan.values() for r in rs if r["pub"][0] is not None}
        if any(s > pub_seq for s in seqs) or not seqs:
            raise model.ModelError(f"channels read different publications: {sorted(seqs)[-5:]}")
        ks = sweep_values(args.sweep)
        t0 = time.time()
        sw_rows, asked, nref, accepted = readers.read_min_units_sweep(c, ks, args.sweep_measures.split(","))
        chan["api min_units sweep"] = sw_rows
        sweep = {"asked": asked, "refused": nref, "accepted": accepted, "ks": (ks[0], ks[-1])}
        log(f"attack: channels read; min_units sweep: {nref} of {asked} requests refused "
            f"({time.time() - t0:.1f}s)")
        exact = readers.exact_cells(c, set(measures))
        got = {"channels": chan, "sweep": sweep, "refused": refused, "prot": prot, "notes": notes,
               "exact": exact}
        if on_static:
            on_static(got)
        if args.live_events:
            t0 = time.time()
            diff = differencing.run(c, args, truth)
            log(f"attack: differencing: {args.live_events} single events in {time.time() - t0:.1f}s")
        got["diff"] = diff
    finally:
        c.cleanup()
        if args.keep:
            log(f"attack: kept {c.dir}")
    return got


def stream_check(live_rows, snap_rows):
    """The live subscriber's final state must equal the snapshot."""
    key = lambda r: (r["measure"], r["level"], r["name"], r["period"], r["slice"])
    val = lambda r: (r["hidden"], r["n"], r["units"], r["sum"], r["hits"], r["hist"])
    live = {key(r): val(r) for r in live_rows}
    snap = {key(r): val(r) for r in snap_rows}
    return sum(1 for k in set(live) | set(snap) if live.get(k) != snap.get(k))


def check_exact(exact, truth, measures):
    """The operator's exact view must agree with the suite's ground truth
    (förbund rows, n and units): the truth is computed independently."""
    bad = []
    for (mid, f, p, s), (n, u) in exact.items():
        t = truth.cells.get((mid, "forbund", f, p, s))
        if t is None or t["n"] != n or (u is not None and t["units"] != u):
            bad.append(((mid, f, p, s), (n, u), t and (t["n"], t["units"])))
    for (mid, lvl, f, p, s), t in truth.cells.items():
        if lvl == "forbund" and mid in measures and t["n"] and (mid, f, p, s) not in exact:
            bad.append(((mid, f, p, s), None, (t["n"], t["units"])))
    if bad:
        raise model.ModelError(f"the exact view disagrees with the ground truth in {len(bad)} cells, "
                               f"e.g. {bad[:3]}")


# ---- analysis ---------------------------------------------------------------

class Result:
    def __init__(self, name):
        self.name = name
        self.published = self.hidden = self.absent = self.visible_small = 0
        self.cells = collections.defaultdict(set)     # (kind, what) -> cell keys
        self.stats = collections.defaultdict(collections.Counter)
        self.examples = []
        self.shares = collections.Counter()
        self.unchecked = set()
        self.open_visible = set()
        self.pinned_examples = []
        self.absent_unmodelled = 0
        self.seconds = 0.0
        self.noise = model.NoiseStats()


def components(pub, truth, measures, prot, lan_of, noise=None):
    years = sorted({k[3][:4] for k in pub.cells})
    for mid in measures:
        for y in years:
            comp = model.Component(truth.by_id[mid], y, pub, lan_of, prot, truth, noise)
            if comp.forbunds:
                yield comp


def analyse(name, pub, truth, measures, prot, lp=True, lp_seconds=10.0):
    t0 = time.time()
    res = Result(name)
    lan_of = truth.lan
    wanted = set(measures)
    res.published = pub.published_count(wanted)
    comps = []
    for comp in components(pub, truth, measures, prot, lan_of, res.noise):
        mid, y = comp.m.id, comp.year
        comp.check_views()
        hidden = [k for k, c in comp.cells.items() if c["hidden"] and not c["visible"]]
        absent, small, share = [], [], []
        for key, cv in comp.cellvars.items():
            _, level, f, p, s = key
            if level == "forbund" and (f, p, s) not in comp.present_f and comp.truth[cv["n"]] > 0:
                absent.append(key)
        for key, c in comp.cells.items():
            if not c["visible"]:
                continue
            u, n = comp.truth_of(key, "units"), comp.truth_of(key, "n")
            if prot.k <= u < 2 * prot.k:
                small.append(key)
            if comp.has_hits and 0 < n < 10:
                h = comp.truth_of(key, "hits")
                if h == 0 or h == n:
                    share.append(key)
        comp.add_targets("hidden", hidden)
        comp.add_targets("absent", absent)
        comp.add_targets("visible", small)
        comp.add_share_targets(share)
        comp.truth_extend()
        res.hidden += len(hidden)
        res.absent += len(absent)
        res.visible_small += len(small)
        res.shares["0/100 % on n<10"] += len(share)
        res.shares["withheld"] += sum(1 for k in share if comp.cells[k]["withheld"])
        if comp.targets:
            solver.check_truth(comp)
            lat = lattice.Lattice(comp).propagate()
            comps.append((comp, lat))
    # Förbund that publish nothing in a measure-year: their cells are in no
    # output and no row; each is at most k-1 and nothing narrows it.
    for mid in measures:
        m = truth.by_id[mid]
        for (tm, lvl, f, p, s), t in truth.cells.items():
            if tm == mid and lvl == "forbund" and t["n"] > 0 and \
                    not any(k[0] == mid and k[1] == "forbund" and k[2] == f and k[3][:4] == p[:4] for k in pub.cells):
                res.absent += 1
                res.absent_unmodelled += 1
    # The LP time is shared by the components in proportion to their target
    # cells; what one leaves unused goes to the rest.
    nopen = [len({(k, c) for k, c, _, _ in comp.targets}) for comp, _ in comps]
    end = time.time() + lp_seconds
    for ci, ((comp, lat), no) in enumerate(zip(comps, nopen)):
        left = max(1, sum(nopen[ci:]))
        deadline = time.time() + max(0.0, end - time.time()) * no / left
        for kind, key, status, stats in solver.solve(comp, lat, lp=lp, deadline=deadline):
            if status == "open":
                (res.open_visible if kind == "visible" else res.unchecked).add((kind, key))
                continue
            for stat, lo, hi, tv in stats:
                # Reported, not a failure (solver._T._attribute): a hidden
                # cell's yes count bounded to [0, 2] by a near-0 % total.
                if kind == "hidden" and stat == "hits" and math.ceil(lo - 1e-6) < 1 and \
                        solver._iwidth(lo, hi, 0) <= 2:
                    res.cells[(kind, "zero-bounded")].add(key)
            if status != "recovered":
                continue
            for stat, lo, hi, tv in stats:
                if stat == "located":
                    continue
                width = solver._iwidth(lo, hi, solver.NEED[kind] if kind == "share" else 0)
                if kind == "share":
                    if width <= -1:
                        res.cells[("share", "recovered")].add(key)
                        res.stats[("share", "recovered")][stat] += 1
                        _example(res, kind, key, stat, lo, hi, tv)
                    continue
                if width == 0:
                    res.cells[(kind, "exact")].add(key)
                    res.stats[(kind, "exact")][stat] += 1
                    _example(res, kind, key, stat, lo, hi, tv)
                    if kind == "visible" and len(res.pinned_examples) < 4:
                        res.pinned_examples.append((kind, key, stat, lo, hi, tv))
                if kind == "hidden" and stat == "hits" and math.ceil(lo - 1e-6) < 1:
                    continue
                if width <= (0 if kind == "absent" and stat in ("sum", "hits") else 2) and kind != "visible":
                    res.cells[(kind, "pm1")].add(key)
                    res.stats[(kind, "pm1")][stat] += 1
                    _example(res, kind, key, stat, lo, hi, tv)
    res.seconds = time.time() - t0
    return res


def _example(res, kind, key, stat, lo, hi, tv):
    if len(res.examples) < 6 and kind != "visible":
        res.examples.append((kind, key, stat, lo, hi, tv))


def print_table(results, incons, diff, refused, sweep, noise, out=sys.stdout):
    w = out.write
    w("\nDisclosure attack (cells of the attacked measures; every published count and magnitude\n"
      "taken as an interval of its cell-key noise)\n")
    w(f"{'channel':<32}{'published':>10}{'hidden':>7}{'exact':>6}{'±1':>5}{'0-bnd':>6}"
      f"{'absent':>8}{'exact':>6}{'±1':>5}{'vis5-9':>8}{'pinned':>7}{'open':>6}{'open-vis':>9}\n")
    for r in results:
        c = r.cells
        w(f"{r.name:<32}{r.published:>10}{r.hidden:>7}{len(c[('hidden', 'exact')]):>6}"
          f"{len(c[('hidden', 'pm1')]):>5}{len(c[('hidden', 'zero-bounded')]):>6}{r.absent:>8}{len(c[('absent', 'exact')]):>6}"
          f"{len(c[('absent', 'pm1')]):>5}{r.visible_small:>8}{len(c[('visible', 'exact')]):>7}"
          f"{len(r.unchecked):>6}{len(r.open_visible):>9}\n")
    w("(hidden: rows shown as suppressed; exact / ±1: hidden cells whose n, units, sum or hits the\n"
      " attacker proves exactly / within an integer interval of width <= 2 (includes exact; for hits\n"
      " only with hits >= 1 proven: someone in the group answered yes); 0-bnd: hidden cells whose\n"
      " hits are only bounded to [0, 2] by a near-0 % total (reported, not a disclosure); absent:\n"
      " förbund cells with data that are in no output (never published: n <= k-1), a reader cannot\n"
      " even name them; vis5-9: published cells with 5-9 true units; pinned: of those, cells with\n"
      " n, units, sum or hits proven exactly despite the noise; open / open-vis: hidden or absent /\n"
      " small visible cells the LP time budget did not decide: the counts are then lower bounds)\n")
    w("\n0 %/100 % shares on fewer than 10 answers (true), proven by the attacker:\n")
    for r in results:
        if r.shares.get("0/100 % on n<10"):
            w(f"  {r.name:<32} cells {r.shares['0/100 % on n<10']:>5} (withheld {r.shares['withheld']:>4})"
              f"  proven {len(r.cells[('share', 'recovered')]):>4}\n")
    w(f"\nmin_units chosen by the reader: {sweep['refused']} of {sweep['asked']} requests refused "
      f"(min_units {sweep['ks'][0]}..{sweep['ks'][1]}, /export.json, /api/indicators, /export.csv, "
      f"finsamctl --min-units/-k)\n")
    for a in sweep["accepted"][:5]:
        w(f"  ACCEPTED: {a}\n")
    w(f"\ncontradictions between channels: {len(incons)}\n")
    for k, what in list(incons.items())[:3]:
        w(f"  {'/'.join(k)}: {what}\n")
    if refused:
        w(f"\n/api/indicators refused slices: {sorted(refused)}\n")
    if noise:
        w("\nnoise seen on published values (published - true; the table says |j| <= D):\n")
        for what in sorted(noise.counts):
            cnt = noise.counts[what]
            tot = sum(cnt.values())
            w(f"  {what:<14} n={tot:<6}" + " ".join(f"{j:+d}:{cnt[j] / tot:.3f}" for j in sorted(cnt)) + "\n")
    for r in results:
        if r.examples:
            w(f"\nexamples ({r.name}):\n")
            for kind, key, stat, lo, hi, tv in r.examples + r.pinned_examples:
                w(f"  {kind} {'/'.join(key)} {stat}: attacker proves [{lo + 0:g}, {hi + 0:g}], true {tv}\n")
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
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=max(1, args.jobs),
                                                  mp_context=multiprocessing.get_context("fork"))
    futures = {}

    def on_static(got):
        # The tables are read: analyse them while the differencing phase runs.
        futures.update(submit_static(pool, args, got, truth, measures))

    try:
        if args.load:
            with open(args.load, "rb") as fh:
                got = pickle.load(fh)
            on_static(got)
        else:
            got = collect(args, bindir, rows, truth, measures, t_start, on_static)
            if args.save:
                with open(args.save, "wb") as fh:
                    pickle.dump(got, fh)
        return finish(args, got, truth, measures, futures, t_start)
    finally:
        pool.shutdown(cancel_futures=True)


def channel_pubs(got, truth, measures):
    chan = got["channels"]
    pubs = {}
    for name, rs in chan.items():
        p = model.Published(truth.by_id)
        p.add_rows(rs, name)
        pubs[name] = p
    combined = None
    for p in pubs.values():
        combined = p if combined is None else combined.merge(p)
    order = ["cli json", "cli csv", "api /api/indicators", "api /export.json", "api /export.csv",
             "stream live (tail)", "stream snapshot (tail --from)", "api min_units sweep"]
    out = {name: pubs[name] for name in order if name in pubs}
    out["ALL CHANNELS COMBINED"] = combined
    return pubs, out


# What the analysis processes inherit (fork) instead of receiving pickles.
_STATE = {}


def _analyse_job(name, measures=None):
    s = _STATE
    return analyse(name, s["pubs"][name], s["truth"], measures or s["measures"], s["prot"], s["lp"],
                   s["lp_seconds"])


COMBINED = "ALL CHANNELS COMBINED"


def _split(truth, measures, parts):
    """Measures into `parts` groups of about equal weight (a measure's
    categories stand for its number of variables)."""
    groups = [[] for _ in range(max(1, parts))]
    weight = [0] * len(groups)
    for mid in sorted(measures, key=lambda m: -len(truth.by_id[m].categories())):
        i = weight.index(min(weight))
        groups[i].append(mid)
        weight[i] += len(truth.by_id[mid].categories())
    return [g for g in groups if g]


def _merge(name, parts):
    r = Result(name)
    for p in parts:
        r.published += p.published
        r.hidden += p.hidden
        r.absent += p.absent
        r.visible_small += p.visible_small
        r.absent_unmodelled += p.absent_unmodelled
        for k, v in p.cells.items():
            r.cells[k] |= v
        for k, v in p.stats.items():
            r.stats[k].update(v)
        r.examples += p.examples
        r.shares.update(p.shares)
        r.unchecked |= p.unchecked
        r.open_visible |= p.open_visible
        r.pinned_examples += p.pinned_examples
        r.seconds = max(r.seconds, p.seconds)
        for k, v in p.noise.counts.items():
            r.noise.counts[k].update(v)
    r.examples = r.examples[:6]
    return r


def submit_static(pool, args, got, truth, measures):
    check_exact(got["exact"], truth, set(measures))
    prot = model.Protection(got["prot"])
    _, pubs = channel_pubs(got, truth, measures)
    _STATE.update(pubs=pubs, truth=truth, measures=measures, prot=prot, lp=not args.no_lp,
                  lp_seconds=args.lp_seconds)
    futures, seen = {}, {}
    if args.combined_only:
        for name in pubs:
            futures[name] = ("covered", COMBINED)
        futures[COMBINED] = ("parts", [pool.submit(_analyse_job, COMBINED, g)
                                       for g in _split(truth, measures, args.jobs)])
        return futures
    for name, pub in pubs.items():
        fp = pub.fingerprint(set(measures))
        if fp in seen:
            futures[name] = ("same", seen[fp])
            continue
        seen[fp] = name
        futures[name] = ("run", pool.submit(_analyse_job, name))
    return futures


def finish(args, got, truth, measures, futures, t_start):
    prot = model.Protection(got["prot"])
    notes = got["notes"]
    raw, pubs = channel_pubs(got, truth, measures)
    diff = got.get("diff")
    if diff:
        diff = differencing.score(diff, truth, prot, args)
    results, done = [], {}
    noise = model.NoiseStats()
    for name in pubs:
        how, f = futures[name]
        if how == "covered":
            continue
        if how == "parts":
            r = _merge(name, [p.result() for p in f])
            log(f"attack: {name}: {r.hidden} hidden, {r.absent} absent, {r.visible_small} small visible, "
                f"{len(r.unchecked)} open ({r.seconds:.1f}s)")
        elif how == "run":
            r = f.result()
            done[name] = r
            log(f"attack: {name}: {r.hidden} hidden, {r.absent} absent, {r.visible_small} small visible, "
                f"{len(r.unchecked)} open ({r.seconds:.1f}s)")
        else:
            src = done[f]
            r = Result(name)
            r.__dict__.update({k: v for k, v in src.__dict__.items() if k != "name"})
        results.append(r)
    noise = results[-1].noise if results else noise
    incons = model.inconsistencies(raw, set(measures))
    print_table(results, incons, diff, got["refused"], got["sweep"], noise)
    for note in notes:
        print(f"note: {note}")

    failures = []
    for r in results:
        c = r.cells
        for kind, label in (("hidden", "hidden"), ("absent", "never-published")):
            if c[(kind, "exact")] or c[(kind, "pm1")]:
                failures.append(f"{r.name}: {len(c[(kind, 'exact')])} {label} cells exact, "
                                f"{len(c[(kind, 'pm1')])} within ±1")
        if c[("share", "recovered")]:
            failures.append(f"{r.name}: {len(c[('share', 'recovered')])} shares of 0 %/100 % on fewer than "
                            "10 proven")
        if r.unchecked:
            failures.append(f"{r.name}: incomplete, {len(r.unchecked)} cells not checked (raise --lp-seconds)")
    if got["sweep"]["accepted"]:
        failures.append(f"{len(got['sweep']['accepted'])} requests with a reader's min_units were answered")
    if incons:
        failures.append(f"{len(incons)} cells contradict between channels")
    for note in notes:
        failures.append(note)
    if diff:
        failures += differencing.failures(diff)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"results": [{"channel": r.name, "published": r.published, "hidden": r.hidden,
                                    "hidden_exact": len(r.cells[("hidden", "exact")]),
                                    "hidden_pm1": len(r.cells[("hidden", "pm1")]),
                                    "hidden_zero_bounded": len(r.cells[("hidden", "zero-bounded")]),
                                    "hidden_pm1_by_stat": dict(r.stats[("hidden", "pm1")]),
                                    "hidden_pm1_by_measure": dict(collections.Counter(
                                        k[0] for k in r.cells[("hidden", "pm1")])),
                                    "absent": r.absent, "absent_exact": len(r.cells[("absent", "exact")]),
                                    "absent_pm1": len(r.cells[("absent", "pm1")]),
                                    "visible_small": r.visible_small,
                                    "visible_pinned": len(r.cells[("visible", "exact")]),
                                    "shares": dict(r.shares),
                                    "shares_proven": len(r.cells[("share", "recovered")]),
                                    "open": len(r.unchecked),
                                    "open_by_measure": dict(collections.Counter(
                                        (k[1][0] if isinstance(k[1], tuple) else str(k[1])) for k in r.unchecked))} for r in results],
                       "sweep": got["sweep"], "inconsistent": len(incons),
                       "differencing": differencing.summary(diff), "failures": failures}, fh, indent=2,
                      default=str)
    print(f"\nattack suite: {time.time() - t_start:.0f}s")
    if failures:
        print("FAIL: the published outputs disclose individual values:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("PASS: no hidden or never-published cell recovered, no 0 %/100 % share proven, "
          "differencing within its bound")
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
