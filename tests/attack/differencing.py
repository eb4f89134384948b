"""Differencing over time: single events arrive one commit at a time while a
poller (/export.json, every slice) and a stream subscriber (`finsamctl
tail`) record every output; from consecutive outputs the attacker infers
each new person's answers and slices.

The estimator is the same for exact and for perturbed outputs: per
attribute, a set of candidates narrowed by every cell visible before and
after (its change in n is ~1 if the event is in it, ~0 if not) and by
cells that appear or are published as changed; answers from the average
change in hits (yes/no) or sum (ordinal) over the visible nation cells.

The bound: without a published perturbation table the outputs may not tell
more than the marginal distribution does, so the bound is the baseline
(guess the most common value). With a table (cell-key: D, V, p(noise |
count)), the bound is the Bayes-optimal accuracy of an attacker who knows
the table and sees the same cells (Monte Carlo, exact likelihoods).
"""
import collections
import csv
import datetime as dt
import json
import math
import os

import numpy as np

import gen
import readers
import truth as tr

POLL_MEASURES = ("i4_samordnare", "i1_behov")
ANSWER_ITEMS = {"i4_samordnare": "d_samordnare", "i1_behov": "d_behov"}
DIMS = ("mode", "gender", "age")


def _poll(c):
    """The poller's view: key -> (visible, n, sum, hits); hidden rows too."""
    state = {}
    for mid in POLL_MEASURES:
        for period in ("year", "month"):
            for r in readers.read_export_json(c, measure=mid, periods=(period,)):
                key = (r["measure"], r["level"], r["name"], r["period"], r["slice"])
                if r["hidden"]:
                    state[key] = (False, None, None, None)
                    continue
                n = r["n"][0] if r["n"] else None
                s = None
                if r["sum"] is not None:
                    s = r["sum"][0]
                elif r["mean"] is not None and n:
                    s = round(r["mean"][0] * n)
                elif n == 0:
                    s = 0
                h = None
                if r["hits"] is not None:
                    h = r["hits"][0]
                elif r["share"] is not None and n:
                    h = round(r["share"][0] * n)
                elif mid == "i4_samordnare" and s is not None and n is not None:
                    h = 2 * n - s
                state[key] = (True, n, s, h)
    return state


def _stream_state(lines, upto):
    state = {}
    for ln in lines:
        if ln["seq"] > upto:
            continue
        cell = ln["cell"]
        key = (cell["measure"], "forbund", cell["forbund"], cell["period"], cell["slice"])
        if cell.get("suppressed"):
            state[key] = (False, None, None, None)
        else:
            state[key] = (True, cell.get("n", 0), cell.get("sum", 0), cell.get("hits", 0))
    return state


def _deltas(prev, cur, mid):
    """Cells of measure mid visible before and after: key -> (dn, dsum, dhits);
    cells that appeared: set of keys."""
    d, appeared = {}, set()
    for key, v in cur.items():
        if key[0] != mid:
            continue
        p = prev.get(key)
        if p is None:
            appeared.add(key)
            continue
        if v[0] and p[0] and v[1] is not None and p[1] is not None:
            d[key] = (v[1] - p[1], (v[2] or 0) - (p[2] or 0), (v[3] or 0) - (p[3] or 0))
    return d, appeared


class Inference:
    def __init__(self, values, forbunds, lan_of):
        self.cand = {dim: set(vals) for dim, vals in values.items()}
        self.cand["forbund"] = set(forbunds)
        self.lan_of = lan_of
        self.answer = {}

    def narrow(self, attr, keep):
        new = self.cand[attr] & set(keep)
        if new:
            self.cand[attr] = new

    def drop(self, attr, value):
        if len(self.cand[attr]) > 1:
            self.cand[attr].discard(value)

    def observe_deltas(self, mid, deltas, appeared, stream_changed=()):
        # The event's periods: where an 'all' cell grew by one, a cell
        # appeared, or the stream said a cell changed. Cells of other
        # periods say nothing about it.
        periods = {k[3] for k, (dn, _, _) in deltas.items() if k[4] == "all" and abs(dn - 1) < 0.5}
        periods |= {k[3] for k in appeared} | {k[3] for k in stream_changed}
        if periods:
            deltas = {k: v for k, v in deltas.items() if k[3] in periods}
        nation = []
        # Geography first ('all' cells), then the slices, from cells known
        # to contain the event's förbund (always the nation).
        for key, (dn, ds, dh) in deltas.items():
            _, level, name, period, slc = key
            if slc != "all":
                continue
            inside, outside = abs(dn - 1) < 0.5, abs(dn) < 0.5
            if level == "forbund":
                if inside:
                    self.narrow("forbund", [name])
                elif outside:
                    self.drop("forbund", name)
            elif level == "lan":
                fs = [f for f, l in self.lan_of.items() if l == name]
                if inside:
                    self.narrow("forbund", fs)
                elif outside:
                    for f in fs:
                        self.drop("forbund", f)
            else:
                nation.append((dn, ds, dh))
        for key, (dn, ds, dh) in deltas.items():
            _, level, name, period, slc = key
            if slc == "all":
                continue
            contains = level == "nation" or \
                (level == "lan" and all(self.lan_of.get(f) == name for f in self.cand["forbund"])) or \
                (level == "forbund" and self.cand["forbund"] == {name})
            if not contains:
                continue
            dim, _, val = slc.partition("=")
            if dim in self.cand:
                if abs(dn - 1) < 0.5:
                    self.narrow(dim, [val])
                elif abs(dn) < 0.5:
                    self.drop(dim, val)
        for key in appeared:
            _, level, name, period, slc = key
            if level == "forbund":
                self.narrow("forbund", [name])
            dim, _, val = slc.partition("=")
            if dim in self.cand and level == "forbund":
                self.narrow(dim, [val])
        for key in stream_changed:
            _, _, f, period, slc = key
            self.narrow("forbund", [f])
            dim, _, val = slc.partition("=")
            if dim in self.cand:
                self.narrow(dim, [val])
        if nation:
            avg_s = sum(x[1] for x in nation) / len(nation)
            avg_h = sum(x[2] for x in nation) / len(nation)
            self.answer[mid] = (avg_s, avg_h)

    def guess(self, attr, baseline):
        c = self.cand[attr]
        if len(c) == 1:
            return next(iter(c))
        return baseline if baseline in c else sorted(c)[0]


def _baselines(state0, forbund_sizes):
    """The most common value of each attribute, from the published nation
    year cells before the live phase (what anyone can read)."""
    base = {}
    for dim in DIMS:
        best, bn = None, -1
        for key, v in state0.items():
            if key[0] == "i1_behov" and key[1] == "nation" and len(key[3]) == 4 and key[4].startswith(dim + "="):
                if v[0] and v[1] > bn:
                    best, bn = key[4].split("=", 1)[1], v[1]
        base[dim] = best
    base["forbund"] = max(forbund_sizes, key=forbund_sizes.get)
    for mid in POLL_MEASURES:
        nat = [v for k, v in state0.items() if k[0] == mid and k[1] == "nation" and k[4] == "all"
               and len(k[3]) == 4 and v[0] and v[1]]
        n = sum(v[1] for v in nat)
        if mid == "i4_samordnare":
            yes = sum(v[3] for v in nat)
            base[mid] = 1 if yes * 2 >= n else 2
        else:
            base[mid] = min(5, max(1, round(sum(v[2] for v in nat) / max(1, n))))
    return base


def run(c, live, args, meta, measures_catalogue):
    """Imports args.live_events single rows, one delivery each, recording
    the poller's and the stream's view after each; returns the records."""
    forbunds = list(c.agents)
    today = dt.datetime.utcnow().date()
    rows = gen.live_rows(args.seed + 1000, args.live_events, forbunds, today)
    state0 = _poll(c)
    seq0 = c.last_seq()
    records = []
    prev = state0
    prev_seq = seq0
    for i, (f, row) in enumerate(rows):
        path = os.path.join(c.dir, f"live-{i}.jsonl")
        gen.write_jsonl(path, [row])
        c.agent_import(f, path)
        c.deliver([f])
        seq = c.last_seq()
        live.wait_seq(seq)
        cur = _poll(c)
        records.append({"forbund": f, "row": row, "before": prev, "after": cur,
                        "seq_before": prev_seq, "seq_after": seq})
        prev, prev_seq = cur, seq
    lines = live.lines()
    sizes = collections.Counter()
    for key, v in state0.items():
        if key[0] == "i1_behov" and key[1] == "forbund" and key[4] == "all" and len(key[3]) == 4 and v[0]:
            sizes[key[2]] += v[1]
    for f in forbunds:
        sizes.setdefault(f, 0)
    return {"records": records, "lines": lines, "state0": state0, "sizes": sizes}


def score(raw, truth, meta, args):
    records, lines, state0, sizes = raw["records"], raw["lines"], raw["state0"], raw["sizes"]
    base = _baselines(state0, sizes)
    values = {"mode": ["project", "integrated"], "gender": ["woman", "man", "other"],
              "age": ["16-29", "30-49", "50-64", "65+"]}
    attrs = list(POLL_MEASURES) + ["mode", "gender", "age", "forbund"]
    correct = {ch: collections.Counter() for ch in ("api poller", "stream", "combined")}
    base_ok = collections.Counter()
    visible_cells = []
    for rec in records:
        row = rec["row"]
        true = {"mode": row["mode"], "gender": row["gender"], "forbund": rec["forbund"],
                "age": tr.age_band(int(row["date"][:4]), row["birth_year"]),
                "i4_samordnare": row["answers"]["d_samordnare"], "i1_behov": row["answers"]["d_behov"]}
        s_before = _stream_state(lines, rec["seq_before"])
        s_after = _stream_state(lines, rec["seq_after"])
        changed = {(ln["cell"]["measure"], "forbund", ln["cell"]["forbund"], ln["cell"]["period"],
                    ln["cell"]["slice"]) for ln in lines if rec["seq_before"] < ln["seq"] <= rec["seq_after"]}
        infs = {}
        for ch in ("api poller", "stream", "combined"):
            inf = Inference(values, list(sizes), truth.lan)
            for mid in POLL_MEASURES:
                if ch in ("api poller", "combined"):
                    d, app = _deltas(rec["before"], rec["after"], mid)
                    inf.observe_deltas(mid, d, app)
                if ch in ("stream", "combined"):
                    d, app = _deltas(s_before, s_after, mid)
                    inf.observe_deltas(mid, d, app, [k for k in changed if k[0] == mid])
                    # Stream cells are förbund cells: a visible 'all' cell's change is the answer.
                    for key, (dn, ds, dh) in d.items():
                        if key[4] == "all" and abs(dn - 1) < 0.5 and mid not in inf.answer and \
                                key in changed:
                            inf.answer[mid] = (ds, dh)
            infs[ch] = inf
        for ch, inf in infs.items():
            for a in ("mode", "gender", "age", "forbund"):
                correct[ch][a] += inf.guess(a, base[a]) == true[a]
            for mid in POLL_MEASURES:
                if mid in inf.answer:
                    s, h = inf.answer[mid]
                    g = (1 if h >= 0.5 else 2) if mid == "i4_samordnare" else min(5, max(1, round(s)))
                else:
                    g = base[mid]
                correct[ch][mid] += g == true[mid]
        for a in attrs:
            base_ok[a] += base[a] == true[a]
        d, _ = _deltas(rec["before"], rec["after"], "i4_samordnare")
        visible_cells.append([rec["before"][k][1] for k, (dn, _, _) in d.items()
                              if abs(dn - 1) < 0.5 and rec["before"][k][1] is not None])
    n = len(records)
    ptable = load_ptable(args.ptable) if args.ptable else (meta or {}).get("table")
    bound = None
    if ptable:
        prior_yes = sum(1 for r in records if r["row"]["answers"]["d_samordnare"] == 1) / max(1, n)
        bound = bayes_bound_yesno(parse_ptable(ptable), prior_yes, visible_cells)
    return {"n": n, "correct": {ch: dict(v) for ch, v in correct.items()}, "baseline": dict(base_ok),
            "bound_yesno": bound, "attrs": attrs}


# ---- perturbation table and the Bayes bound ------------------------------

def load_ptable(path):
    """A ptable file: CSV with columns i, j (or v) and p (sdcTools ptable /
    ONS cell-key-perturbation layout), or JSON {"table": [...]} / [...]."""
    with open(path) as fh:
        text = fh.read()
    if text.lstrip().startswith(("{", "[")):
        doc = json.loads(text)
        return doc.get("table", doc) if isinstance(doc, dict) else doc
    return list(csv.DictReader(text.splitlines()))


def parse_ptable(rows):
    """{i: {noise: p}}; the largest i stands for "i or more"."""
    table = collections.defaultdict(dict)
    for r in rows:
        i = int(float(r["i"]))
        v = int(float(r["v"])) if "v" in r and r["v"] not in (None, "") else int(float(r["j"])) - i
        table[i][v] = table[i].get(v, 0.0) + float(r["p"])
    return dict(table)


def _noise(table, count):
    i = min(count, max(table))
    return table[i]


def bayes_bound_yesno(table, prior_yes, cells_per_event, samples=4000, seed=7):
    """Expected accuracy of the Bayes-optimal guess of one yes/no answer from
    the perturbed changes of the visible cells containing it (counts before
    as given), noise before and after independent (the cell key changes
    with the new record key). Averaged over the live events."""
    rng = np.random.default_rng(seed)
    accs = []
    for counts in cells_per_event:
        if not counts:
            accs.append(max(prior_yes, 1 - prior_yes))
            continue
        ok = 0
        for _ in range(samples // max(1, len(cells_per_event)) + 1):
            a = 1 if rng.random() < prior_yes else 0
            like = {0: math.log(1 - prior_yes + 1e-12), 1: math.log(prior_yes + 1e-12)}
            for c in counts:
                nb, na = _noise(table, c), _noise(table, c + a)
                e1 = rng.choice(list(nb), p=np.array(list(nb.values())) / sum(nb.values()))
                e2 = rng.choice(list(na), p=np.array(list(na.values())) / sum(na.values()))
                obs = a + e2 - e1
                for h in (0, 1):
                    pb, pa = _noise(table, c), _noise(table, c + h)
                    p = sum(pb[x] * pa.get(obs - h + x, 0.0) for x in pb)
                    like[h] += math.log(p + 1e-300)
            ok += (1 if like[1] > like[0] else 0) == a
        accs.append(ok / (samples // max(1, len(cells_per_event)) + 1))
    return sum(accs) / len(accs)


# ---- report ------------------------------------------------------------------

def slack(p, n):
    return 3 * math.sqrt(max(p * (1 - p), 0.01) / max(1, n)) + 1 / max(1, n)


def summary(d):
    if not d:
        return None
    n = d["n"]
    out = {"events": n, "baseline": {a: d["baseline"][a] / n for a in d["attrs"]},
           "bound_yesno": d["bound_yesno"]}
    for ch, c in d["correct"].items():
        out[ch] = {a: c.get(a, 0) / n for a in d["attrs"]}
    return out


def failures(d):
    if not d or not d["n"]:
        return []
    n = d["n"]
    out = []
    for a in d["attrs"]:
        base = d["baseline"][a] / n
        if a == "i4_samordnare" and d["bound_yesno"] is not None:
            bound = d["bound_yesno"]
        elif a not in POLL_MEASURES and d["bound_yesno"] is not None:
            continue    # slices under a published table: reported, no bound computed yet
        else:
            bound = base
        what = f"{a} answers" if a in POLL_MEASURES else f"{a} of the person"
        for ch, c in d["correct"].items():
            rate = c.get(a, 0) / n
            if rate > bound + slack(bound, n):
                out.append(f"differencing ({ch}): {what} inferred for {rate:.0%} of {n} single events, "
                           f"bound {bound:.0%} (baseline {base:.0%})")
    return out


def print_report(d, out):
    n = d["n"]
    w = out.write
    w(f"\nDifferencing: {n} single events, one commit each; fraction inferred correctly\n")
    w(f"{'attribute':<24}{'baseline':>9}" + "".join(f"{ch:>13}" for ch in d["correct"]) + "\n")
    for a in d["attrs"]:
        label = f"answer {a}" if a in POLL_MEASURES else a
        w(f"{label:<24}{d['baseline'][a] / n:>9.0%}" +
          "".join(f"{d['correct'][ch].get(a, 0) / n:>13.0%}" for ch in d["correct"]) + "\n")
    if d["bound_yesno"] is not None:
        w(f"Bayes bound (perturbation table known) for yes/no answers: {d['bound_yesno']:.0%}\n")
    else:
        w("no perturbation table published: the bound is the baseline\n")
