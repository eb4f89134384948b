"""The attacker's model: published rows -> linear constraints on true values.

What the attacker knows (all public: docs, catalogue, the outputs):
- every cell is a sum of *atoms*: (förbund, month, one value per slice
  dimension) for n, sum and hits — geography (förbund -> län -> Riket),
  time (month -> quarter -> year) and slices (all = Σ mode = Σ gender =
  Σ age) all follow from that;
- which cells exist (every output lists hidden rows too, and a cell that
  does not appear is empty), so atoms under an absent cell are zero;
- per atom, what one observation can be: values in the scale's range, a
  "hit" (top two, yes, ≤ 30 days, improved, sustained) in a known sub-range;
- units (distinct people) add over förbund exactly, over gender and age
  band exactly (a person's gender is recorded consistently and the age band
  is the event year's, so constant within a calendar year), and over mode
  and months only as max ≤ total ≤ sum; units ≤ n; staff answers and pairs
  have units = n;
- a hidden row saying "<k" has units ≤ k-1, one saying "suppressed" (or
  hidden at a larger k) has units ≥ k.

Published numbers become closed intervals (rounding, later perturbation
noise ±D); integer quantities are tightened to integer bounds.
"""
import collections
import math

STATS = ("n", "sum", "hits")
TARGET_STATS = ("n", "units", "sum", "hits")


def period_kind(p):
    return "year" if len(p) == 4 else "quarter" if "Q" in p else "month"


def month_in(month, period):
    if period_kind(period) == "year":
        return month[:4] == period
    if period_kind(period) == "quarter":
        return month[:4] == period[:4] and (int(month[5:7]) - 1) // 3 + 1 == int(period[6])
    return month == period


def months_of(period):
    y = period[:4]
    if period_kind(period) == "year":
        return [f"{y}-{m:02d}" for m in range(1, 13)]
    if period_kind(period) == "quarter":
        q = int(period[6])
        return [f"{y}-{m:02d}" for m in range(3 * q - 2, 3 * q + 1)]
    return [period]


def parent_period(p):
    if period_kind(p) == "month":
        return f"{p[:4]}-Q{(int(p[5:7]) - 1) // 3 + 1}"
    if period_kind(p) == "quarter":
        return p[:4]
    return None


def hit_ranges(m):
    """(value range, hit range or None, non-hit range or None) of one
    observation of measure m."""
    vl, vh = m.value_range()
    agg = m.aggregate
    if agg == "share_yes":
        return (vl, vh), (1, 1), (2, 2)
    if agg == "median_days":
        return (vl, vh), (0, 30), (31, vh)
    if agg == "paired_change":
        return (vl, vh), (1, vh), (vl, 0)
    if agg == "share_sustained":
        return (0, 1), (1, 1), (0, 0)
    if agg == "ordinal" and m.scale and "top" in m.scale:
        tl, th = m.scale["top"]
        return (vl, vh), (tl, th), (vl, tl - 1)
    return (vl, vh), None, None


def _tighten(iv):
    lo, hi = iv
    lo = -math.inf if lo == -math.inf else math.ceil(lo - 1e-7)
    hi = math.inf if hi == math.inf else math.floor(hi + 1e-7)
    return (lo, hi)


def _intersect(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return (max(a[0], b[0]), min(a[1], b[1]))


class Published:
    """Everything one reader (or several together) published, merged per
    cell: visibility, and an interval per statistic."""

    def __init__(self, measures, noise_d=0, noise_sum=0):
        self.measures = measures
        self.noise_d, self.noise_sum = noise_d, noise_sum
        self.cells = {}          # key -> {"visible", "hidden", "n", "units", "sum", "hits"}
        self.share_status = {}   # key -> "withheld" | "recovered" (0 %/100 % shown as null)
        self.share_examples = []

    def add_rows(self, rows, hidden_counts=True):
        """hidden_counts=False: rows that only add information (a min_units
        sweep) without defining what is hidden. A hidden row's "<k" means
        units < k; "suppressed" means units ≥ k only in an output that also
        says "<k" elsewhere (today's format); where every hidden row says the
        same, it carries no information."""
        distinguishes = any((r.get("units_text") or "").startswith("<") for r in rows if r["hidden"])
        for r in rows:
            m = self.measures.get(r["measure"])
            if m is None:
                continue
            key = (r["measure"], r["level"], r["name"], r["period"], r["slice"])
            c = self.cells.setdefault(key, {"visible": False, "hidden": False, "hidden_default": False,
                                            "n": None, "units": None, "sum": None, "hits": None})
            if r["hidden"]:
                c["hidden"] = True
                if hidden_counts:
                    c["hidden_default"] = True
                k = r.get("k") or 5
                text = r.get("units_text") or ""
                if text.startswith("<"):
                    c["units"] = _intersect(c["units"], (0, int(text[1:]) - 1))
                elif text == "suppressed" and distinguishes:
                    c["units"] = _intersect(c["units"], (k, math.inf))
                continue
            c["visible"] = True
            self._key = key
            for stat, iv in self._derive(m, r).items():
                if iv is not None:
                    c[stat] = _intersect(c[stat], _tighten(iv))

    def _derive(self, m, r):
        d, ds = self.noise_d, self.noise_sum
        widen = lambda iv, w: None if iv is None else (iv[0] - w, iv[1] + w)
        n, units = widen(r["n"], d), widen(r["units"], d)
        s, hits = widen(r["sum"], ds), widen(r["hits"], d)
        exact_n = r["n"] is not None and r["n"][0] == r["n"][1] and d == 0
        if exact_n:
            nv = r["n"][0]
            if nv == 0:
                s, hits = (0, 0), (0, 0)
            else:
                if s is None and r["mean"] is not None:
                    s = (r["mean"][0] * nv, r["mean"][1] * nv)
                if hits is None and r["share"] is not None:
                    hits = (r["share"][0] * nv, r["share"][1] * nv)
        if exact_n and r["share_withheld"] and hits is None and r["n"][0] > 0:
            # 0 % or 100 %, shown as null: which one, from the mean?
            nv = r["n"][0]
            self.share_status.setdefault(self._key, "withheld")
            _, hr, mr = hit_ranges(m)
            mean = r["mean"]
            if mean is not None and hr is not None:
                can_none = mean[0] <= mr[1] + 1e-9 and mean[1] >= mr[0] - 1e-9
                can_all = mean[0] <= hr[1] + 1e-9 and mean[1] >= hr[0] - 1e-9
                if can_none != can_all:
                    hits = (0, 0) if can_none else (nv, nv)
                    self.share_status[self._key] = "recovered"
                    if len(self.share_examples) < 5:
                        self.share_examples.append((r["measure"], r["level"], r["name"], r["period"],
                                                    r["slice"], "0 %" if can_none else "100 %"))
        # yes/no and sustained: the sum fixes the hits.
        if s is not None and n is not None and s[0] == s[1] and n[0] == n[1] and d == 0:
            if m.aggregate == "share_yes":
                hits = _intersect(hits, (2 * n[0] - s[0], 2 * n[0] - s[0]))
            elif m.aggregate == "share_sustained":
                hits = _intersect(hits, s)
        if m.paired or m.staff:
            units = _intersect(units, n)
            n = _intersect(n, units)
        return {"n": n, "units": units, "sum": s, "hits": hits}

    def merge(self, other):
        out = Published(self.measures, self.noise_d, self.noise_sum)
        for src in (self, other):
            for key, c in src.cells.items():
                d = out.cells.setdefault(key, {"visible": False, "hidden": False, "hidden_default": False,
                                               "n": None, "units": None, "sum": None, "hits": None})
                d["visible"] |= c["visible"]
                d["hidden"] |= c["hidden"]
                for s in ("n", "units", "sum", "hits"):
                    d[s] = _intersect(d[s], c[s])
        for key, d in out.cells.items():
            # Hidden in the combination = hidden by default everywhere it is shown at all.
            d["hidden_default"] = all(src.cells[key]["hidden_default"] for src in (self, other)
                                      if key in src.cells)
        for src in (self, other):
            for key, st in src.share_status.items():
                if out.share_status.get(key) != "recovered":
                    out.share_status[key] = st
        out.share_examples = (self.share_examples + other.share_examples)[:5]
        return out

    @property
    def shares(self):
        c = collections.Counter(self.share_status.values())
        return collections.Counter({"withheld": len(self.share_status), "recovered": c["recovered"]})

    def published_count(self):
        return sum(1 for c in self.cells.values() if c["visible"])

    def hidden_keys(self):
        return [k for k, c in self.cells.items() if c["hidden_default"] and not c["visible"]]


class Component:
    """The linear program for one measure and one calendar year: variables,
    equalities, inequalities, targets (hidden cells) and the true values."""

    def __init__(self, m, year, pub, lan_of, truth=None):
        self.m, self.year = m, year
        keys = [k for k in pub.cells if k[0] == m.id and k[3][:4] == year]
        self.cells = {k: pub.cells[k] for k in keys}
        fkeys = {(k[2], k[3], k[4]) for k in keys if k[1] == "forbund"}
        self.lan_of = lan_of
        self.forbunds = sorted({f for f, _, _ in fkeys})
        # Dimensions this channel publishes at all (others stay aggregated).
        self.dims = [d for d in m.dims if any(s.startswith(d + "=") for _, _, s in fkeys)]
        # Atoms under existing förbund-month cells.
        self.atoms = []
        self.atoms_by_fm = collections.defaultdict(list)
        for f, p, s in sorted(fkeys):
            if s != "all" or period_kind(p) != "month":
                continue
            combos = [()]
            for d in self.dims:
                vals = [x.split("=", 1)[1] for (ff, pp, x) in fkeys
                        if ff == f and pp == p and x.startswith(d + "=")]
                combos = [c + (v,) for c in combos for v in (vals or [None])]
            for c in combos:
                self.atoms_by_fm[(f, p)].append(len(self.atoms))
                self.atoms.append((f, p, c))
        self.na = len(self.atoms)
        self.uses_u = not (m.paired or m.staff)
        self.ukeys = sorted(fkeys) if self.uses_u else []
        self.uidx = {k: 3 * self.na + i for i, k in enumerate(self.ukeys)}
        self.nvar = 3 * self.na + len(self.ukeys)
        self.fkeys = fkeys
        self.eq = []     # (form dict, value)
        self.ub = []     # (form dict, upper): form <= upper
        self.bounds = [(0, None)] * self.na + [(None, None)] * self.na + [(0, None)] * self.na + \
                      [(0, None)] * len(self.ukeys)
        self.targets = []   # (key, stat, form)
        self._build(pub)
        self.truth = self._truth_vector(truth) if truth else None

    # ---- forms ---------------------------------------------------------
    def _atoms_of(self, level, name, period, slc):
        if level == "forbund":
            fs = [name]
        elif level == "lan":
            fs = [f for f in self.forbunds if self.lan_of.get(f) == name]
        else:
            fs = self.forbunds
        dim, _, val = slc.partition("=")
        di = self.dims.index(dim) if slc != "all" and dim in self.dims else None
        out = []
        for f in fs:
            for month in months_of(period):
                for a in self.atoms_by_fm.get((f, month), ()):
                    if di is None or self.atoms[a][2][di] == val:
                        out.append(a)
        return out

    def form(self, key, stat):
        _, level, name, period, slc = key
        if stat == "units" and self.uses_u:
            if level == "forbund":
                fs = [name]
            elif level == "lan":
                fs = [f for f in self.forbunds if self.lan_of.get(f) == name]
            else:
                fs = self.forbunds
            return {self.uidx[(f, period, slc)]: 1 for f in fs if (f, period, slc) in self.uidx}
        if stat == "units":
            stat = "n"
        off = STATS.index(stat) * self.na
        return {off + a: 1 for a in self._atoms_of(level, name, period, slc)}

    # ---- constraints -----------------------------------------------------
    def _build(self, pub):
        m = self.m
        (vl, vh), hr, mr = hit_ranges(m)
        na = self.na
        for a in range(na):
            n, s, h = a, na + a, 2 * na + a
            self.ub.append(({n: vl, s: -1}, 0))
            self.ub.append(({s: 1, n: -vh}, 0))
            if hr is None:
                self.bounds[h] = (0, 0)
                continue
            self.ub.append(({h: 1, n: -1}, 0))
            (hl, hh), (ml, mh) = hr, mr
            if hl == hh and ml == mh:
                self.eq.append(({s: 1, h: -(hl - ml), n: -ml}, 0))
            else:
                self.ub.append(({h: hl - ml, n: ml, s: -1}, 0))
                self.ub.append(({s: 1, h: -(hh - mh), n: -mh}, 0))
        # Published intervals.
        for key, c in self.cells.items():
            for stat in ("n", "units", "sum", "hits"):
                iv = c[stat]
                if iv is None:
                    continue
                f = self.form(key, stat)
                if not f:
                    continue
                lo, hi = iv
                if lo == hi:
                    self.eq.append((f, lo))
                    continue
                if hi != math.inf:
                    self.ub.append((f, hi))
                if lo != -math.inf:
                    self.ub.append(({k: -v for k, v in f.items()}, -lo))
        if self.uses_u:
            self._units()
        for key in self.cells:
            if self.cells[key]["hidden_default"] and not self.cells[key]["visible"]:
                for stat in ("n", "units", "sum", "hits"):
                    if stat == "hits" and hr is None:
                        continue
                    f = self.form(key, stat)
                    self.targets.append((key, stat, f))

    def _units(self):
        u = self.uidx
        for (f, p, s), i in u.items():
            nform = self.form((self.m.id, "forbund", f, p, s), "n")
            row = {i: 1}
            for k, v in nform.items():
                row[k] = row.get(k, 0) - v
            self.ub.append((row, 0))                    # units <= n
        by_fp = collections.defaultdict(list)
        for (f, p, s) in u:
            by_fp[(f, p)].append(s)
        for (f, p), slices in by_fp.items():
            if "all" not in slices:
                continue
            for d in self.dims:
                parts = [s for s in slices if s.startswith(d + "=")]
                if not parts:
                    continue
                if d in ("gender", "age"):
                    row = {u[(f, p, "all")]: 1}
                    for s in parts:
                        row[u[(f, p, s)]] = -1
                    self.eq.append((row, 0))
                else:
                    row = {u[(f, p, "all")]: 1}
                    for s in parts:
                        row[u[(f, p, s)]] = -1
                        self.ub.append(({u[(f, p, s)]: 1, u[(f, p, "all")]: -1}, 0))
                    self.ub.append((row, 0))            # all <= Σ parts
        for (f, p, s), i in u.items():
            up = parent_period(p)
            if up is None:
                continue
            if (f, up, s) in u:
                self.ub.append(({i: 1, u[(f, up, s)]: -1}, 0))   # part <= whole
        wholes = collections.defaultdict(list)
        for (f, p, s), i in u.items():
            up = parent_period(p)
            if up and (f, up, s) in u:
                wholes[(f, up, s)].append(i)
        for wk, parts in wholes.items():
            row = {u[wk]: 1}
            for i in parts:
                row[i] = -1
            self.ub.append((row, 0))                    # whole <= Σ parts

    def _truth_vector(self, truth):
        x = [0] * self.nvar
        index = {a: i for i, a in enumerate(self.atoms)}
        for (mid, f, month, attrs), v in truth.atoms.items():
            if mid != self.m.id or month[:4] != self.year:
                continue
            full = dict(zip(self.m.dims, attrs))
            key = (f, month, tuple(full.get(d) for d in self.dims))
            if key not in index:
                if v["n"] == 0:
                    continue
                raise AssertionError(f"model: truth atom {mid} {f} {month} {attrs} has no variable "
                                     "(a published cell is missing or a reader mis-parsed it)")
            i = index[key]
            x[i] += v["n"]
            x[self.na + i] += v["sum"]
            x[2 * self.na + i] += v["hits"]
        for (f, p, s), i in self.uidx.items():
            x[i] = truth.cells.get((self.m.id, "forbund", f, p, s), {}).get("units", 0)
        return x
