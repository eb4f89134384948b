"""The solver: which hidden cells does the published information pin down?

Two steps per component (one measure, one calendar year):

1. Exact: Gaussian elimination over the rationals (fractions.Fraction) on
   every equality the attacker has (exact published values, atom identities
   such as sum = 2n - hits for yes/no items, units partitions). A hidden
   cell's statistic is determined exactly iff its linear form reduces to
   zero against the echelon rows; its value is then read off the right-hand
   sides — and checked against the ground truth, so a wrong reader or a
   wrong model fails loudly instead of reporting a false recovery.
2. Bounds: linear programming (scipy/HiGHS) with all inequalities
   (nonnegativity, scale ranges per atom, units ≤ n, rounding and noise
   intervals, "<k"/"suppressed" markers). The integer interval
   [ceil(min), floor(max)] of a statistic is what the attacker learns; a
   width ≤ 2 is "within ±1". To keep this fast, a few LPs with random
   objectives first produce feasible points: any statistic already seen
   taking values more than 2 apart (the true values are feasible too) is
   proven wide and needs no LP of its own.
"""
import heapq
import math
import random
import time
from fractions import Fraction

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import csr_matrix


class Eliminator:
    """Row echelon form over Q, kept fraction-free: rows hold Python
    integers (scaled by their gcd), so the arithmetic is exact and fast.
    Each pivot row's pivot is its smallest variable, so reduction in
    ascending variable order terminates."""

    def __init__(self):
        self.piv = {}          # var -> (row {var: int}, rhs int)
        self.inconsistent = 0

    def _reduce(self, row, rhs, mult=1):
        """Eliminates pivot variables from row; returns (row, rhs, mult)
        with mult·(original row·x) = row·x + ... as documented in value()."""
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
        """Adds the equation row·x = rhs (integer coefficients)."""
        row, rhs, _ = self._reduce(row, int(rhs))
        if not row:
            if rhs != 0:
                self.inconsistent += 1
            return
        v = min(row)
        if row[v] < 0:
            row = {k: -x for k, x in row.items()}
            rhs = -rhs
        self.piv[v] = (row, rhs)

    def value(self, form):
        """The value of form·x if the equalities determine it, else None.
        Reducing (form, 0) gives R, r, mult with mult·form·x = R·x - r
        for every solution; R empty means form·x = -r / mult."""
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


class InfeasibleTruth(AssertionError):
    pass


def check_truth(comp, tol=1e-6):
    """The true values must satisfy every constraint; otherwise a reader, the
    ground truth or the model is wrong and no result can be trusted."""
    x = comp.truth
    for f, b in comp.eq:
        v = sum(c * x[k] for k, c in f.items())
        if abs(v - b) > tol:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: equality violated by the truth: "
                                  f"{_describe(comp, f)} = {v}, published {b}")
    for f, b in comp.ub:
        v = sum(c * x[k] for k, c in f.items())
        if v > b + tol:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: inequality violated by the truth: "
                                  f"{_describe(comp, f)} = {v} > {b}")


def _describe(comp, f):
    names = []
    for k, c in list(f.items())[:6]:
        if k < 3 * comp.na:
            stat = ("n", "sum", "hits")[k // comp.na]
            names.append(f"{c}*{stat}{comp.atoms[k % comp.na]}")
        else:
            names.append(f"{c}*units{comp.ukeys[k - 3 * comp.na]}")
    return " + ".join(names) + (" ..." if len(f) > 6 else "")


def solve(comp, lp=True, rounds=2, seed=1, deadline=None, known=None):
    """Returns [(key, stat, lo, hi, exact, truth, checked)] for the targets,
    where [lo, hi] is the integer interval the attacker can prove (±inf when
    not computed). `known` maps (key, stat) to sound bounds found before
    (lattice.py). A cell counts once it is recovered by one statistic, so
    its other statistics are not bounded further; LPs stop at `deadline`
    (a time.time() value), leaving the rest unchecked (checked = False)."""
    targets = comp.targets
    if not targets:
        return []
    x_true = comp.truth
    truth_vals = [sum(c * x_true[k] for k, c in f.items()) if x_true else None for _, _, f in targets]
    el = Eliminator()
    for f, b in comp.eq:
        el.add(f, b)
    nt = len(targets)
    lo, hi = [-math.inf] * nt, [math.inf] * nt
    exact, checked = [False] * nt, [False] * nt
    for i, (key, stat, f) in enumerate(targets):
        if not f:            # no contributions possible: known zero
            v = 0
        else:
            v = el.value(f)
        if v is not None:
            if truth_vals[i] is not None and v != truth_vals[i]:
                raise InfeasibleTruth(f"{key} {stat}: elimination says {v}, truth is {truth_vals[i]}")
            lo[i] = hi[i] = v
            exact[i] = checked[i] = True
        elif known and (key, stat) in known:
            lo[i], hi[i] = known[(key, stat)]
            if hi[i] - lo[i] <= 2:
                checked[i] = True
            if lo[i] == hi[i] and truth_vals[i] is not None and lo[i] != truth_vals[i]:
                raise InfeasibleTruth(f"{key} {stat}: propagation pins {lo[i]}, truth {truth_vals[i]}")
    if lp:
        _bounds(comp, targets, lo, hi, exact, checked, truth_vals, rounds, seed, deadline)
    return [(t[0], t[1], lo[i], hi[i], exact[i] or lo[i] == hi[i], truth_vals[i], checked[i])
            for i, t in enumerate(targets)]


STAT_ORDER = {"n": 0, "hits": 1, "units": 2, "sum": 3}


def _bounds(comp, targets, lo, hi, exact, checked, truth_vals, rounds, seed, deadline):
    n = comp.nvar
    A_ub, b_ub = _matrix(comp.ub, n) if comp.ub else (None, None)
    A_eq, b_eq = _matrix(comp.eq, n) if comp.eq else (None, None)
    T, _ = _matrix([(f, 0) for _, _, f in targets], n)
    bounds = comp.bounds

    def run(c):
        r = linprog(c, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=b_eq, bounds=bounds, method="highs")
        if r.status == 3:
            return None, -math.inf
        if r.status != 0:
            raise InfeasibleTruth(f"{comp.m.id} {comp.year}: LP failed ({r.message})")
        return r.x, r.fun

    done = {targets[i][0] for i in range(len(targets)) if hi[i] - lo[i] <= 2}   # cells already recovered
    seen_lo = [t if t is not None else math.inf for t in truth_vals]
    seen_hi = [t if t is not None else -math.inf for t in truth_vals]
    open_ = [i for i in range(len(targets)) if targets[i][0] not in done]
    for i in range(len(targets)):
        if targets[i][0] in done:
            checked[i] = True
    if not open_:
        return
    rng = random.Random(seed)

    def observe(x):
        vals = T @ x
        for i in open_:
            v = vals[i]
            if v < seen_lo[i]:
                seen_lo[i] = v
            if v > seen_hi[i]:
                seen_hi[i] = v

    def wide(i):
        return seen_hi[i] - seen_lo[i] > 2 + 1e-6

    # Random vertices: most statistics are seen to vary by more than 2 at once.
    for _ in range(rounds):
        if deadline is not None and time.time() > deadline:
            break
        w = np.zeros(len(targets))
        for i in open_:
            w[i] = rng.choice((-1.0, 1.0))
        x, _ = run(T.T @ w)
        if x is not None:
            observe(x)
    for i in open_:
        if wide(i):
            checked[i] = True
    todo = sorted((i for i in open_ if not wide(i)), key=lambda i: (targets[i][0], STAT_ORDER[targets[i][1]]))
    for i in todo:
        key = targets[i][0]
        if key in done or wide(i):
            checked[i] = True
            continue
        if deadline is not None and time.time() > deadline:
            break
        c = T.getrow(i).toarray().ravel()
        x, fun = run(-c)
        if x is not None:
            observe(x)
            hi[i] = min(hi[i], math.floor(-fun + 1e-6))
        checked[i] = True
        if x is None or wide(i):
            continue
        x, fun = run(c)
        observe(x)
        lo[i] = max(lo[i], math.ceil(fun - 1e-6))
        if hi[i] - lo[i] <= 2:
            done.add(key)
        if lo[i] == hi[i] and truth_vals[i] is not None and abs(lo[i] - truth_vals[i]) > 1e-6:
            raise InfeasibleTruth(f"{key} {targets[i][1]}: LP pins {lo[i]}, truth {truth_vals[i]}")
