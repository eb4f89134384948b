"""Differencing over time: single events arrive one commit and one
publication at a time while a poller (/api/indicators) and a stream
subscriber (`finsamctl tail agg.`) record every output; from consecutive
outputs the attacker infers each new person's answers and attributes.

The collector runs with the default --publish-max-age here (7 days): a
cell's published state moves only once k (min_count) contributions
arrived since its last refresh (docs/security.md (e)). Each event is
delivered alone and followed by exactly one publication, so every row that
moves at that publication contains the event: the event "triggers" the
rows it completes to k, and the change of each is the sum of the last k
arrivals (the batch) plus fresh noise. Most events trigger nothing.

The live events are exit status observations of new people (survey items
are suppressed everywhere in these tables, see the report), in three
förbund of different size and län; the attacked answers are "in work or
studies" (yes/no, i7_arbete_studier_avslut) and the day bucket of the time
in the insats (i3_dagar_i_insats, five buckets); attributes are förbund,
mode, gender and age band. All are drawn independently from known priors,
so the baseline (guess the prior's mode) and the Bayes computations are
exact (the days are one of five values, each its bucket's upper end, so
that a bucket fixes the value).

The bound (single-step, as this attack is): an attacker who knows the
perturbation table and compares the publication after an event with the
one before. Computed per event with an oracle that knows, for every row
that moved, which live events its batch holds and its true value before the
batch (bulk data and earlier events): the posterior of the event's answer
given the published values of the moved rows (hits, histogram bins, sums:
independent draws from the table, clamping and the sum's rescaling
modelled exactly), the other batch members' answers unknown with the known
prior (enumerated). Attributes: a moved row of slice d=v reveals v, a moved
förbund row the förbund, a moved län row the förbund (one live förbund per
län); otherwise the prior. If nothing moved, the bound is the baseline.
The bound is the mean over events of the largest posterior probability;
any estimator using the same or less information has at most this
expected accuracy. Statistical slack: 3·sqrt(Σ q(1-q))/N + 1/N (q the
per-event bound).

Estimators: "bayes" (the oracle posterior's best guess: checks the
product's noise behaves as its table says; the combined channel), and
"diff" per channel (no oracle: the published change of each moved row over
its published change of n, averaged; a moved row's slice reveals the
attribute; nothing moved: the prior's mode). Every förbund row that moved
must have had k contributions since its last change (simulated from the
ground truth); one that moved earlier breaks the cadence (a failure).
"""
import collections
import datetime as dt
import itertools
import json
import math
import os

import numpy as np

import gen
import model
import readers
import truth as tr

MEASURES = ("i7_arbete_studier_avslut", "i3_dagar_i_insats")
YESNO, DAYS = MEASURES
LIVE_DATE = dt.date(2026, 11, 16)        # a month without bulk data (gen.END is 2026-10-31)
FORBUND = ("NV", "SS", "OO")             # one per län: Västmanland, Stockholm, Östergötland
PRIORS = {"forbund": {f: 1 / 3 for f in FORBUND},
          "mode": {"project": 0.45, "integrated": 0.55},
          "gender": {"woman": 0.55, "man": 0.42, "other": 0.03},
          "age": {"16-29": 0.25, "30-49": 0.45, "50-64": 0.30},
          YESNO: {1: 0.5, 2: 0.5},
          DAYS: {7: 0.2, 8: 0.2, 9: 0.2, 10: 0.2, 11: 0.2}}
ATTRS = (YESNO, DAYS, "forbund", "mode", "gender", "age")
PERIODS = ("2026", "2026-Q4", "2026-11")
SLICES = ("all", "mode=project", "mode=integrated", "gender=woman", "gender=man", "gender=other",
          "age=16-29", "age=30-49", "age=50-64", "age=65+")


def _draw(rng, prior):
    x, acc = rng.random(), 0.0
    for v, p in prior.items():
        acc += p
        if x < acc:
            return v
    return v


def live_rows(seed, count):
    """Exit status observations of new people, attributes and answers drawn
    from PRIORS. Returns [(förbund, row, truth dict)]."""
    import random
    rng = random.Random(seed)
    used = set()
    out = []
    age_years = {"16-29": (18, 29), "30-49": (30, 49), "50-64": (50, 64)}
    for i in range(count):
        t = {a: _draw(rng, PRIORS[a]) for a in ATTRS}
        lo, hi = age_years[t["age"]]
        birth = LIVE_DATE.year - rng.randint(lo, hi)
        days = tr.DAY_UPPER[t[DAYS]]         # one value per bucket: the answer is one of five
        occ = rng.choice(["work", "studies", "subsidised_work"]) if t[YESNO] == 1 else \
            rng.choice(["preparatory", "job_seeking", "work_training", "none"])
        row = {"kind": "status", "personnummer": gen.make_pnr(rng, birth, used), "date": LIVE_DATE.isoformat(),
               "phase": "exit", "mode": t["mode"], "insats": rng.choice(gen.INSATS), "occupation": occ,
               "income": "wage" if occ in ("work", "subsidised_work") else "social_assistance",
               "extent_pct": 0 if occ == "none" else 50, "gender": t["gender"], "birth_year": birth,
               "assessed_with_participant": rng.random() < 0.8, "days_in_insats": days,
               "days_to_next_service": rng.randint(0, 150)}
        t["days"] = days
        out.append((t["forbund"], row, t))
    return out


# ---- the pipeline ------------------------------------------------------------

def _poll(c):
    """The poller's view of the 2026 rows of MEASURES: key -> row."""
    state = {}
    for mid in MEASURES:
        for r in readers.read_api(c, measure=mid, slices=SLICES):
            if r["period"].startswith("2026"):
                state[(r["measure"], r["level"], r["name"], r["period"], r["slice"])] = r
    return state


def run(c, args, truth):
    """Restarts the collector with the default max-age, then delivers
    args.live_events single rows, one commit and one publication each,
    recording the poller's and the stream's view after each."""
    import attack
    import cluster as cl
    c.restart(max_age=None)
    tail = cl.Tail(c, "agg.", name="diff")
    attack.sync_live_tail(c, tail, "CO", "diff")
    snap, _ = readers.read_snapshot(c)
    state0 = _poll(c)
    events = live_rows(args.seed + 1000, args.live_events)
    records = []
    for i, (f, row, t) in enumerate(events):
        path = os.path.join(c.dir, f"live-{i}.jsonl")
        gen.write_jsonl(path, [row])
        c.agent_import(f, path)
        c.deliver([f])
        seq = c.last_seq()
        pseq, _ = c.wait_publication(seq)
        records.append({"forbund": f, "truth": t, "seq": seq, "pub": pseq, "poll": _poll(c)})
    import time
    time.sleep(1.0)                          # the last publication's rows reach the tail
    return {"records": records, "state0": state0, "snap": snap, "lines": tail.lines()}


# ---- the oracle: what moved, and which events each moved row holds ----------

class Sim:
    """The documented refresh rule on the ground truth: per förbund cell of
    MEASURES in PERIODS, its true state and its published snapshot."""

    def __init__(self, truth, present, k):
        self.k = k
        self.cells = {}
        for mid in MEASURES:
            m = truth.by_id[mid]
            for f in FORBUND:
                for p in PERIODS:
                    for s in SLICES:
                        t = truth.cells.get((mid, "forbund", f, p, s), {})
                        cats = collections.Counter()
                        for (am, af, month, attrs), a in truth.atoms.items():
                            if am == mid and af == f and _month_in(month, p) and _slice_has(m, attrs, s):
                                cats.update(a["cats"])
                        cur = {"n": t.get("n", 0), "units": t.get("units", 0), "sum": t.get("sum", 0),
                               "hits": t.get("hits", 0), "cats": cats, "events": ()}
                        snap = dict(cur) if (mid, f, p, s) in present else \
                            {"n": 0, "units": 0, "sum": 0, "hits": 0, "cats": collections.Counter(), "events": ()}
                        self.cells[(mid, f, p, s)] = {"cur": cur, "snap": snap, "present": (mid, f, p, s) in present}

    def step(self, i, ev, truth):
        """Adds live event i; returns {cell: batch events} refreshed."""
        t = ev["truth"]
        out = {}
        for mid in MEASURES:
            m = truth.by_id[mid]
            value = t[YESNO] if mid == YESNO else t["days"]
            cat = m.category(value)
            for p in PERIODS:
                for s in ("all", f"mode={t['mode']}", f"gender={t['gender']}", f"age={t['age']}"):
                    c = self.cells[(mid, ev["forbund"], p, s)]
                    cur = c["cur"]
                    cur["n"] += 1
                    cur["units"] += 1
                    cur["sum"] += value
                    cur["hits"] += int(m.categories()[cat][2])
                    cur["cats"] = cur["cats"] + collections.Counter({cat: 1})
                    cur["events"] = cur["events"] + (i,)
                    snap = c["snap"]
                    if max(abs(cur["n"] - snap["n"]), abs(cur["units"] - snap["units"])) >= self.k:
                        batch = tuple(e for e in cur["events"] if e not in snap["events"])
                        c["old"] = snap
                        c["snap"] = {kk: (v.copy() if isinstance(v, collections.Counter) else v)
                                     for kk, v in cur.items()}
                        c["present"] = True
                        out[(mid, ev["forbund"], p, s)] = batch
        return out


def _month_in(month, p):
    return month in model.months_of(p)


def _slice_has(m, attrs, s):
    if s == "all":
        return True
    d, _, v = s.partition("=")
    return d in m.dims and attrs[m.dims.index(d)] == v


# ---- likelihoods ------------------------------------------------------------

def _round_away(x):
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


def sum_noise(prot, w):
    """P(e) of the magnitude noise e = llround(w (j + u)), u ~ U[-1/2, 1/2)."""
    p = prot.full()
    D = prot.D
    out = collections.Counter()
    grid = 4000
    for j in range(-D, D + 1):
        for g in range(grid):
            u = -0.5 + (g + 0.5) / grid
            out[_round_away(w * (j + u))] += p[j + D] / grid
    return dict(out)


def _p_count(prot, true, pub, lo=0, hi=None):
    """P(published | true) for clamp(true + j, lo, hi), j from the full row."""
    p, D = prot.full(), prot.D
    if pub > lo and (hi is None or pub < hi):
        j = pub - true
        return p[j + D] if -D <= j <= D else 0.0
    if pub == lo:
        return sum(p[j + D] for j in range(-D, D + 1) if true + j <= lo)
    return sum(p[j + D] for j in range(-D, D + 1) if true + j >= hi)


class Views:
    """The published values of the rows that moved at one publication, as
    likelihoods of the true change of each statistic."""

    def __init__(self, prot, truth):
        self.prot = prot
        self.truth = truth
        self.snoise = {mid: sum_noise(prot, truth.by_id[mid].width()) for mid in MEASURES}

    def loglik(self, mid, stat, old, add, pub_val, n_true, n_pub):
        """log P(published value | old true + add) for arrays `add`."""
        out = np.empty(len(add))
        for idx, a in enumerate(add):
            tv = int(round(old + a))
            if stat == "hits":
                pr = _p_count(self.prot, tv, pub_val, 0, n_pub)
            elif stat.startswith("bin"):
                pr = (1.0 if pub_val == 0 else 0.0) if tv == 0 else _p_count(self.prot, tv, pub_val, 0, None)
            else:                                   # sum
                if n_pub == n_true:
                    pr = self.snoise[mid].get(pub_val - tv, 0.0)
                else:
                    pr = sum(pe for e, pe in self.snoise[mid].items()
                             if _round_away((tv + e) * n_pub / n_true) == pub_val)
            out[idx] = math.log(pr) if pr > 0 else -1e9
        return out


# ---- scoring ----------------------------------------------------------------

def _rowkey(r):
    return (r["measure"], r["level"], r["name"], r["period"], r["slice"])


def _stream_states(raw):
    """The stream's state after each publication: key -> row."""
    state = {_rowkey(r): r for r in raw["snap"] if r["measure"] in MEASURES and r["period"].startswith("2026")}
    by_seq = collections.defaultdict(list)
    for ln in raw["lines"]:
        c = ln.get("cell") or {}
        if c.get("measure") in MEASURES and c.get("period", "").startswith("2026"):
            by_seq[ln["seq"]].append(ln)
    out = []
    for rec in raw["records"]:
        moved = {}
        for ln in by_seq.get(rec["pub"], []):
            r = readers.row_from_cell(ln["cell"], ln["seq"])
            if ln["cell"].get("removed"):
                continue
            moved[_rowkey(r)] = r
        new = dict(state)
        new.update(moved)
        out.append((state, new, set(moved)))
        state = new
    return out


def _changed(before, after):
    """Rows whose published values moved: visible after, and new or
    different from before."""
    out = {}
    for k, r in after.items():
        if r["hidden"]:
            continue
        b = before.get(k)
        if b is None or b["hidden"] or (b["n"], b["units"], b["sum"], b["hits"], b.get("hist")) != \
                (r["n"], r["units"], r["sum"], r["hits"], r.get("hist")):
            out[k] = (b if b is not None and not b["hidden"] else None, r)
    return out


def _reveal(keys, t_lan):
    """Attributes revealed by moved rows: {attr: value}."""
    out = {}
    for (_, level, name, _, s) in keys:
        if s != "all":
            d, _, v = s.partition("=")
            out[d] = v
        if level == "forbund":
            out["forbund"] = name
        elif level == "lan" and "forbund" not in out:
            fs = [f for f in FORBUND if t_lan.get(f) == name]
            if len(fs) == 1:
                out["forbund"] = fs[0]
    return out


def _stale(cell, row, D):
    """Is a revealed row consistent with its last refreshed state (the
    Sim's snapshot)? Rows of periods the Sim does not follow hold no live
    event at all. (Its values cannot tell the snapshot from the snapshot
    plus this event; that the collector refreshed by the rule is what the
    rows that move while visible test.)"""
    if cell is None:
        return True
    lo, hi = row["units"]
    return lo - D <= cell["snap"]["units"] <= hi + D


def _mode(prior):
    return max(prior, key=prior.get)


def score(raw, truth, prot, args):
    recs = raw["records"]
    N = len(recs)
    present = {(k[0], k[2], k[3], k[4]) for k in raw["state0"] if k[1] == "forbund"}
    sim = Sim(truth, present, prot.k)
    views = Views(prot, truth)
    streams = _stream_states(raw)
    poll_prev = raw["state0"]
    base = {a: _mode(PRIORS[a]) for a in ATTRS}
    correct = {ch: collections.Counter() for ch in ("api poller: diff", "stream: diff", "combined: diff",
                                                    "combined: bayes")}
    bound, base_ok = collections.Counter(), collections.Counter()
    qs = collections.defaultdict(list)
    violations = []
    reveals = 0
    moved_events = 0
    for i, rec in enumerate(recs):
        t = rec["truth"]
        refreshed = sim.step(i, rec, truth)
        poll_changed = _changed(poll_prev, rec["poll"])
        s_before, s_after, _ = streams[i]
        stream_changed = _changed(s_before, s_after)
        poll_prev = rec["poll"]
        # The cadence: every förbund row that moved was due.
        for k in set(poll_changed) | set(stream_changed):
            mid, level, f, p, s = k
            if level != "forbund" or (mid, f, p, s) in refreshed:
                continue
            before, after = (poll_changed.get(k) or stream_changed.get(k))
            if before is None and _stale(sim.cells.get((mid, f, p, s)), after, prot.D):
                # A row complementary suppression hid shows again because
                # another cell was refreshed: it shows its last refresh,
                # which this event is not in.
                reveals += 1
                continue
            violations.append((i, k))
        # Rows that moved per the rule and are visible after: the oracle's view.
        lan_rows = {}
        for (mid, f, p, s), batch in refreshed.items():
            for key in ((mid, "forbund", f, p, s), (mid, "lan", truth.lan[f], p, s), (mid, "nation", "Riket", p, s)):
                lan_rows[key] = batch
        combined = dict(poll_changed)
        combined.update(stream_changed)
        oracle_rows = {k: v for k, v in lan_rows.items() if k in combined}
        moved_events += bool(oracle_rows)
        # Attributes.
        rev_oracle = _reveal(oracle_rows, truth.lan)
        for a in ("forbund", "mode", "gender", "age"):
            q = 1.0 if a in rev_oracle else max(PRIORS[a].values())
            bound[a] += q
            qs[a].append(q)
            base_ok[a] += base[a] == t[a]
            for ch, rows in (("api poller: diff", poll_changed), ("stream: diff", stream_changed),
                             ("combined: diff", combined), ("combined: bayes", oracle_rows)):
                g = _reveal(rows, truth.lan).get(a, base[a])
                correct[ch][a] += g == t[a]
        # Answers.
        for mid in MEASURES:
            a = mid
            truev = t[mid]
            base_ok[a] += base[a] == truev
            post = _posterior(views, truth, mid, i, oracle_rows, combined, sim, recs, present)
            q = max(post.values())
            bound[a] += q
            qs[a].append(q)
            correct["combined: bayes"][a] += max(post, key=post.get) == truev
            for ch, rows in (("api poller: diff", poll_changed), ("stream: diff", stream_changed),
                             ("combined: diff", combined)):
                correct[ch][a] += _diff_guess(truth, mid, rows, base[a]) == truev
    return {"n": N, "attrs": list(ATTRS), "correct": {ch: dict(v) for ch, v in correct.items()},
            "baseline": dict(base_ok), "bound": {a: bound[a] / max(1, N) for a in ATTRS},
            "slack": {a: slack(qs[a]) for a in ATTRS}, "violations": violations, "reveals": reveals,
            "moved": moved_events}


def _diff_guess(truth, mid, rows, default):
    """No oracle: each moved row's published change over its change of n."""
    fr = []
    for k, (b, r) in rows.items():
        if k[0] != mid or r["n"] is None:
            continue
        dn = r["n"][0] - (b["n"][0] if b else 0)
        if dn <= 0:
            continue
        if mid == YESNO and r["hits"] is not None and (b is None or b["hits"] is not None):
            fr.append((r["hits"][0] - (b["hits"][0] if b else 0)) / dn)
        elif mid == DAYS and r["sum"] is not None and (b is None or b["sum"] is not None):
            fr.append((r["sum"][0] - (b["sum"][0] if b else 0)) / dn)
    if not fr:
        return default
    x = sum(fr) / len(fr)
    if mid == YESNO:
        return 1 if x >= 0.5 else 2
    return truth.by_id[mid].category(min(3650, max(0, round(x))))


def _value(mid, v):
    """The value behind a prior's key: yes/no as is, a day bucket its upper end."""
    return v if mid == YESNO else tr.DAY_UPPER[v]


def _true_row(sim, truth, present0, mid, key):
    """The true published state of a row now (after the step): a förbund
    row its snapshot, a län or Riket row the sum of its förbund's."""
    m = truth.by_id[mid]
    _, level, name, p, s = key
    out = collections.Counter()
    for f in truth.lan:
        if not (level == "nation" or (level == "lan" and truth.lan[f] == name) or (level == "forbund" and f == name)):
            continue
        if f in FORBUND:
            c = sim.cells[(mid, f, p, s)]
            if not c["present"]:
                continue
            st = c["snap"]
            cats = st["cats"]
        else:
            if (mid, f, p, s) not in present0:
                continue
            st = truth.cells[(mid, "forbund", f, p, s)]
            cats = collections.Counter()
            for (am, af, month, attrs), a in truth.atoms.items():
                if am == mid and af == f and _month_in(month, p) and _slice_has(m, attrs, s):
                    cats.update(a["cats"])
        out["n"] += st["n"]
        out["hits"] += st["hits"]
        out["sum"] += st["sum"]
        for ci, cat in enumerate(m.categories()):
            if cat[3] is not None:
                out[f"bin{cat[3]}"] += cats.get(ci, 0)
    return out


def _posterior(views, truth, mid, i, rows, combined, sim, recs, present0):
    """P(answer of event i | published values of the rows that moved), the
    oracle knowing each row's batch and true value before it; the other
    batch members' answers unknown with the known prior (enumerated by
    exchangeable groups; beyond 200,000 combinations they are taken as
    known, which can only raise the bound)."""
    prior = PRIORS[mid]
    m = truth.by_id[mid]
    cats = m.categories()
    vals = list(prior)
    K = len(vals)
    rowlist = [(k, b) for k, b in rows.items() if k[0] == mid]
    if not rowlist:
        return dict(prior)
    vcat = [m.category(_value(mid, v)) for v in vals]
    coef = {"hits": np.array([float(cats[c][2]) for c in vcat]),
            "sum": np.array([float(_value(mid, v)) for v in vals])}
    for c in vcat:
        if cats[c][3] is not None:
            coef[f"bin{cats[c][3]}"] = np.array([float(cats[x][3] == cats[c][3]) for x in vcat])
    members = sorted({e for _, b in rowlist for e in b if e != i})
    sig = collections.defaultdict(list)
    for e in members:
        sig[tuple(e in b for _, b in rowlist)].append(e)
    groups = list(sig.items())

    def compositions(es):
        g = len(es)
        for c in itertools.combinations_with_replacement(range(K), g):
            cnt = [0] * K
            for x in c:
                cnt[x] += 1
            w = math.factorial(g)
            for x in cnt:
                w /= math.factorial(x)
            yield cnt, w * math.prod(prior[vals[x]] ** cnt[x] for x in range(K))

    comps = [list(compositions(es)) for _, es in groups]
    if math.prod(len(c) for c in comps) > 200000:
        comps = [[([sum(1 for e in es if _key_of(recs[e], mid) == vals[x]) for x in range(K)], 1.0)]
                 for _, es in groups]
    combos = list(itertools.product(*comps)) if comps else [()]
    G = len(groups)
    C = np.zeros((len(combos), max(1, G), K))
    logw = np.zeros(len(combos))
    for ci, combo in enumerate(combos):
        for gi, (cnt, w) in enumerate(combo):
            C[ci, gi] = cnt
            logw[ci] += math.log(w)
    vlist = []
    for ri, (k, batch) in enumerate(rowlist):
        before, after = combined[k]
        now = _true_row(sim, truth, present0, mid, k)
        old = collections.Counter(now)
        for e in batch:
            x = vals.index(_key_of(recs[e], mid))
            for stat, cf in coef.items():
                old[stat] -= cf[x]
        ingroups = [gi for gi, (s, _) in enumerate(groups) if s[ri]]
        stats = [("hits", after["hits"]), ("sum", after["sum"])]
        if after.get("hist") is not None:
            stats += [(st, (after["hist"][int(st[3:])],) * 2) for st in coef if st.startswith("bin")]
        for stat, pv in stats:
            if pv is None or pv[0] != pv[1] or stat not in coef:
                continue
            vlist.append((stat, pv[0], old[stat], ingroups, now["n"], after["n"][0]))
    post = {}
    for own in range(K):
        ll = logw.copy()
        for stat, pv, old, ingroups, n_true, n_pub in vlist:
            cnt = C[:, ingroups, :].sum(axis=1) if ingroups else np.zeros((len(combos), K))
            cnt[:, own] += 1
            add = cnt @ coef[stat]
            uniq, inv = np.unique(add, return_inverse=True)
            lu = views.loglik(mid, "bin" if stat.startswith("bin") else stat, old, uniq, pv, n_true, n_pub)
            ll += lu[inv]
        post[vals[own]] = (prior[vals[own]], ll)
    mx = max(float(np.max(ll)) for _, ll in post.values())
    z = {v: p * float(np.sum(np.exp(ll - mx))) for v, (p, ll) in post.items()}
    s = sum(z.values())
    if not s > 0:
        raise model.ModelError(f"differencing: event {i} {mid}: the published values have probability 0 "
                               "under the table (noise outside its bounds?)")
    return {v: x / s for v, x in z.items()}


def _key_of(rec, mid):
    return rec["truth"][YESNO] if mid == YESNO else rec["truth"][DAYS]


# ---- report -------------------------------------------------------------------

def slack(qs):
    n = max(1, len(qs))
    return 3 * math.sqrt(sum(q * (1 - q) for q in qs)) / n + 1 / n


def summary(d):
    if not d:
        return None
    n = d["n"]
    out = {"events": n, "baseline": {a: d["baseline"][a] / n for a in d["attrs"]}, "bound": d["bound"],
           "slack": d["slack"], "cadence_violations": len(d["violations"]),
           "reveals": d.get("reveals", 0), "events_with_moves": d["moved"]}
    for ch, c in d["correct"].items():
        out[ch] = {a: c.get(a, 0) / n for a in d["attrs"]}
    return out


def failures(d):
    if not d or not d["n"]:
        return []
    n = d["n"]
    out = []
    if d["violations"]:
        out.append(f"differencing: {len(d['violations'])} förbund rows moved with fewer than k contributions "
                   f"since their last change, e.g. event {d['violations'][0][0]}: {'/'.join(d['violations'][0][1])}")
    for a in d["attrs"]:
        b, s = d["bound"][a], d["slack"][a]
        for ch, c in d["correct"].items():
            rate = c.get(a, 0) / n
            if rate > b + s:
                out.append(f"differencing ({ch}): {a} inferred for {rate:.0%} of {n} single events, "
                           f"bound {b:.0%} + slack {s:.0%} (baseline {d['baseline'][a] / n:.0%})")
    return out


def print_report(d, out):
    n = d["n"]
    w = out.write
    w(f"\nDifferencing: {n} single events (exit status), one commit and one publication each; "
      f"{d['moved']} moved a published row; fraction inferred correctly\n")
    chans = list(d["correct"])
    w(f"{'attribute':<28}{'baseline':>9}{'bound':>7}{'slack':>7}" + "".join(f"{ch:>18}" for ch in chans) + "\n")
    for a in d["attrs"]:
        label = {YESNO: "answer in work/studies", DAYS: "answer days bucket"}.get(a, a)
        w(f"{label:<28}{d['baseline'][a] / n:>9.0%}{d['bound'][a]:>7.0%}{d['slack'][a]:>7.0%}" +
          "".join(f"{d['correct'][ch].get(a, 0) / n:>18.0%}" for ch in chans) + "\n")
    w(f"förbund rows that moved before k contributions (cadence violations): {len(d['violations'])}\n")
    w(f"hidden förbund rows shown again with their last refreshed state (reveals, not violations): "
      f"{d.get('reveals', 0)}\n")
