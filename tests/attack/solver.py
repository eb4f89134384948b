"""The solver: which cells does the published information pin down?

Per component (one measure, one calendar year; model.py):

1. Exact: Gaussian elimination over the rationals (fraction-free integer
   rows) on every equality that has a published right-hand side. With
   every personal value perturbed there are none today (the identities
   are homogeneous); it stays for any value published exactly.
2. Propagation (lattice.py): sound interval bounds for every variable.
3. Linear programs (scipy/HiGHS) with every constraint: a few LPs with
   random objectives give feasible points — a statistic seen at integer
   values more than 2 apart (the truth is feasible too) is proven wide, one
   seen at two different integers is proven not exact — and then min and
   max per statistic for those still undecided, under a time budget.
   [ceil(min), floor(max)] is what the attacker can prove.

Every value claimed as recovered is checked against the ground truth: a
mismatch means a reader or the model is wrong (exit 2), never a finding.
"""
import collections
import heapq
import math
import random
import time
from fractions import Fraction

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix


class InfeasibleTruth(AssertionError):
    pass


class Eliminator:
    """Row echelon form over Q, kept fraction-free."""

    def __init__(self):
        self.piv = {}

    def _reduce(self, row, rhs, mult=1):
        row = {k: int(v) for k, v in row.items() if v}
        heap = [v for v in row if v in self.piv]
        heapq.heapify(heap)
        while heap:
            v = heapq.heappop(heap)
            a = row.get(v)
            if not a:
                continue
            prow, prhs = self.piv[v]
            pc = prow[v]
            if pc != 1:
                for k in row:
                    row[k] *= pc
                rhs *= pc
                mult *= pc
            for k, p in prow.items():
                old = row.get(k)
                nv = (old or 0) - a * p
                if nv:
                    row[k] = nv
                    if old is None and k in self.piv:
                        heapq.heappush(heap, k)
                elif old is not None:
                    del row[k]
            rhs -= a * prhs
            g = math.gcd(mult, rhs, *row.values()) if row else math.gcd(mult, rhs)
            if g > 1:
                row = {k: x // g for k, x in row.items()}
                rhs //= g
                mult //= g
        return row, rhs, mult

    def add(self, row, rhs):
        row, rhs, _ = self._reduce(row, int(rhs))
        if not row:
            return
        v = min(row)
        if row[v] < 0:
            row = {k: -x for k, x in row.items()}
            rhs = -rhs
        self.piv[v] = (row, rhs)

    def value(self, form):
        row, rhs, mult = self._reduce(form, 0)
        if row:
            return None
        return Fraction(-rhs, mult)


def _matrix(rows, nvar):
    data, ri, ci = [], [], []
    for i, (f, _) in enumerate(rows):
        for k, v in f.items():
            ri.append(i)
            ci.append(k)
            data.append(float(v))
    return csr_matrix((data, (ri, ci)), shape=(len(rows), nvar)), np.array([float(b) for _, b in rows])


def check_truth(comp, tol=1e-6):
    """The true values must satisfy every constraint; otherwise a reader, the
    ground truth or the model is wrong and no result can be trusted."""
    x = comp.truth
    for i, v in enumerate(x):
        if v < comp.lo[i] - tol or v > comp.hi[i] + tol:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: the truth {comp.names[i]} = {v} is outside "
                                  f"[{comp.lo[i]}, {comp.hi[i]}]")
    for f, b in comp.eq:
        v = sum(c * x[k] for k, c in f.items())
        if abs(v - b) > tol:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: equality violated by the truth: "
                                  f"{_describe(comp, f)} = {v}, expected {b}")
    for f, b in comp.ub:
        v = sum(c * x[k] for k, c in f.items())
        if v > b + tol * max(1.0, abs(b)):
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: inequality violated by the truth: "
                                  f"{_describe(comp, f)} = {v} > {b}")


def _describe(comp, f):
    names = [f"{c:g}*{comp.names[k]}" for k, c in list(f.items())[:6]]
    return " + ".join(names) + (" ..." if len(f) > 6 else "")


def _iwidth(lo, hi, need=0):
    """Width of the integer interval [ceil(lo), floor(hi)]; for a share
    target (need -1) the largest value minus 1, so that <= -1 means max 0."""
    if math.isinf(hi) or (need != -1 and math.isinf(lo)):
        return math.inf
    if need == -1:
        return math.floor(hi + 1e-6) - 1
    return math.floor(hi + 1e-6) - math.ceil(lo - 1e-6)


NEED = {"hidden": 2, "absent": 2, "visible": 0, "share": -1}


class _T:
    """One target: what is proven ([lo, hi]) and what was seen feasible."""
    __slots__ = ("kind", "key", "stat", "var", "need", "lo", "hi", "slo", "shi", "truth")

    def __init__(self, kind, key, stat, var, truth):
        self.kind, self.key, self.stat, self.var, self.truth = kind, key, stat, var, truth
        self.need = NEED[kind]
        self.lo, self.hi = -math.inf, math.inf
        self.slo = self.shi = truth if truth is not None else None

    def proven(self):
        if self.stat == "located":
            return math.ceil(self.lo - 1e-6) >= 1
        if self._attribute():
            # Someone in the hidden group proven to have answered yes,
            # with the count of such answers within ±1.
            return math.ceil(self.lo - 1e-6) >= 1 and _iwidth(self.lo, self.hi, self.need) <= self._need()
        return _iwidth(self.lo, self.hi, self.need) <= self._need()

    def _attribute(self):
        # A hidden cell's hits are the count of one answer inside a group
        # the reader cannot size: an upper bound from a near-0 % total
        # ("at most 2 of them answered yes") is what that published share
        # says of every member of its group. What singles out a person is
        # a proven yes (hits >= 1) counted within ±1 (docs/security.md).
        return self.kind == "hidden" and self.stat == "hits"

    def _need(self):
        # A never-published cell holds at most k-1: its count within ±1, or
        # its sum or hits exactly (a value, or a 0 %/100 % share).
        if self.kind == "absent" and self.stat in ("sum", "hits"):
            return 0
        return self.need

    def settled(self):
        """Proven not to be recovered by the feasible points seen."""
        if self.slo is None:
            return False
        if self.stat == "located":
            return self.slo <= 1e-6
        if self._attribute() and self.slo < 1 - 1e-6:
            return True
        return _iwidth(self.slo, self.shi, self.need) > self._need()


def _cell_status(ts):
    """recovered / cleared / open for the targets of one cell."""
    loc = [t for t in ts if t.stat == "located"]
    stats = [t for t in ts if t.stat != "located"]
    if loc and loc[0].settled():
        return "cleared"
    if (not loc or loc[0].proven()) and any(t.proven() for t in stats):
        return "recovered"
    if all(t.settled() for t in stats):
        return "cleared"
    return "open"


def solve(comp, lat=None, lp=True, rounds=40, seed=1, deadline=None):
    """Decides every target cell of the component: returns
    [(kind, key, status, [(stat, lo, hi, truth), ...])] with status
    "recovered" (a statistic proven within its criterion: ±1 for hidden and
    absent cells — an absent one must also be proven non-empty —, exactly
    for visible ones, max 0 for a 0 %/100 % share), "cleared" (feasible
    points show it is not) or "open" (the LP budget ran out)."""
    x_true = comp.truth
    ts = [_T(kind, key, stat, v, x_true[v] if x_true else None) for kind, key, stat, v in comp.targets]
    if not ts:
        return []
    if any(b for _, b in comp.eq):
        el = Eliminator()
        for f, b in comp.eq:
            el.add(f, b)
        for t in ts:
            val = el.value({t.var: 1})
            if val is not None:
                if t.truth is not None and val != t.truth:
                    raise InfeasibleTruth(f"{t.key} {t.stat}: elimination says {val}, truth is {t.truth}")
                t.lo = t.hi = val
    if lat is not None:
        for t in ts:
            l, h = lat.bounds(t.var)
            t.lo, t.hi = max(t.lo, l), min(t.hi, h)
            if t.truth is not None and not (t.lo - 1e-6 <= t.truth <= t.hi + 1e-6):
                raise InfeasibleTruth(f"{t.key} {t.stat}: propagation proves [{t.lo}, {t.hi}], truth {t.truth}")
    cells = collections.OrderedDict()
    for t in ts:
        cells.setdefault((t.kind, t.key), []).append(t)
    if lp:
        _bounds(comp, lat, cells, rounds, seed, deadline)
    out = []
    for (kind, key), tl in cells.items():
        out.append((kind, key, _cell_status(tl), [(t.stat, t.lo, t.hi, t.truth) for t in tl]))
    return out


def _bounds(comp, lat, cells, rounds, seed, deadline):
    n = comp.nvar
    if not any(_cell_status(tl) == "open" for tl in cells.values()):
        return
    A_ub, b_ub = _matrix(comp.ub, n) if comp.ub else (None, None)
    A_eq, b_eq = _matrix(comp.eq, n) if comp.eq else (None, None)
    # A generous box keeps every LP bounded, so that random objectives give
    # points; a point in the box is feasible without it too. (Claimed
    # recoveries are checked against the truth in any case.)
    src = zip(lat.lo, lat.hi) if lat is not None else zip(comp.lo, comp.hi)
    cap = 1e7
    bounds = [(l if l > -1e8 else -cap, h if h < 1e8 else cap) for l, h in src]
    allts = [t for tl in cells.values() for t in tl]
    tvars = np.array([t.var for t in allts])

    def run(c):
        r = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if r.status == 3:
            return None, -math.inf
        if r.status != 0:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: LP failed ({r.message})")
        vals = r.x[tvars]
        for t, v in zip(allts, vals):
            if t.slo is None or v < t.slo:
                t.slo = v
            if t.shi is None or v > t.shi:
                t.shi = v
        return r.x, r.fun

    def open_cells():
        return [tl for tl in cells.values() if _cell_status(tl) == "open"]

    def late():
        return deadline is not None and time.time() > deadline

    rng = random.Random(seed)
    # Never-published cells that may as well be empty: one LP for all.
    c = np.zeros(n)
    for tl in open_cells():
        for t in tl:
            if t.stat == "located":
                c[t.var] += 1.0
    if c.any() and not late():
        run(c)
    # All undecided statistics up together, then down together.
    for sign in (-1.0, 1.0):
        op = open_cells()
        if not op or late():
            break
        c = np.zeros(n)
        for tl in op:
            for t in tl:
                if t.stat != "located" and not t.settled():
                    c[t.var] += sign
        if c.any():
            run(c)
    # Random objectives over what is still undecided, while they help.
    for r in range(rounds):
        op = open_cells()
        if not op or late():
            break
        c = np.zeros(n)
        for tl in op:
            for t in tl:
                if t.stat != "located" and not t.settled():
                    c[t.var] += rng.choice((-1.0, 1.0)) * (0.5 + rng.random())
        if not c.any():
            break
        run(c)
        # Each random point settles some statistics; go on while that
        # pays (an LP each is far cheaper than two per statistic).
        if r >= 4 and len(open_cells()) > 0.97 * len(op):
            break
    # One statistic at a time for the rest: hidden, never-published and
    # share cells first, the small visible ones with what time is left.
    for tl in sorted(open_cells(), key=lambda tl: tl[0].kind == "visible"):
        for t in sorted(tl, key=lambda t: (t.stat != "located", STAT_ORDER.get(t.stat, 9))):
            if _cell_status(tl) != "open" or late():
                break
            if t.settled() or t.proven():
                continue
            c = np.zeros(n)
            c[t.var] = 1.0
            if t.stat == "located":
                _, fun = run(c)
                t.lo = max(t.lo, math.ceil(fun - 1e-6))
                continue
            _, fun = run(-c)
            if fun != -math.inf:
                t.hi = min(t.hi, math.floor(-fun + 1e-6))
            if t.settled() or t.need == -1:
                continue
            _, fun = run(c)
            t.lo = max(t.lo, math.ceil(fun - 1e-6))
            if t.lo == t.hi and t.truth is not None and abs(t.lo - t.truth) > 1e-6:
                raise InfeasibleTruth(f"{t.key} {t.stat}: LP pins {t.lo}, truth {t.truth}")


STAT_ORDER = {"n": 0, "units": 1, "hits": 2, "misses": 2, "sum": 3}
