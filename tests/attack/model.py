"""The attacker's model: published rows -> linear constraints on true values.

What the attacker knows (all public: docs, catalogue, the protection table
from /api/protection, the outputs):

- Every cell is a sum of *atoms*: (förbund, month, one value per slice
  dimension), each holding a count per answer category (a value of the
  scale, or a day bucket) — n, sum, hits and histogram bins of every cell
  are linear in them. A förbund's quarter is the sum of its months, a
  year of its quarters, an "all" cell the sum of each slice dimension's
  values.
- Readers see the last *publication* (docs/security.md (e)). A förbund
  cell is in it once at least k (min_count) contributions arrived (its
  published state starts from nothing), so a förbund row that exists
  rests on n >= k answers; a förbund cell that does not appear anywhere
  has n <= k-1 (it may be empty or not: the attacker cannot tell, and
  cannot even name the ones that are not). The suite reads the tables in
  the steady state (every changed cell republished, as after a quiet
  week), so a published förbund row is the cell as it is now.
- Län and Riket rows are the sums of the *published* förbund rows of
  their förbund (report/table.c merges the publication), so
  never-published förbund cells are in no län or Riket row.
- Units (distinct people) add exactly over förbund, gender and age band
  (a person's gender is recorded consistently and the age band is the
  event year's); over mode and months only as max <= total <= sum;
  units <= n; staff answers and pairs have units = n.
- Published values are perturbed (cell-key, the table from
  /api/protection with maximum deviation D; docs/security.md (a)). For a
  visible row, with n', u', s', h', b' the published values:
    units:  u' = u + j, |j| <= D, never below k  ->  u in [max(k, u'-D), u'+D]
    n:      n' = u' + extra', extra' = max(0, extra + j) (0 stays 0)
            ->  n - u in [0, D] if n' = u', else [max(1, n'-u'-D), n'-u'+D]
    hits:   h' = clamp(h + j, 0, n')  ->  h >= h'-D (if h' > 0),
            h <= h'+D (if h' < n')
    sum:    s' = round((s + e) * n'/n), e = round(w (j + u)), |e| <= E =
            floor(w (D + 1/2)), w = one answer's width  ->
            (s'-1/2)/n' * n - E <= s <= (s'+1/2)/n' * n + E (linear in s, n)
    bins:   b' = max(0, b + j), a zero bin stays 0  ->  b in [max(1, b'-D),
            b'+D] if b' > 0, else [0, D] (no channel publishes bins since
            issue 12: a view's hist is None and adds no bound)
  Rounded prints (CSV) widen s' and h' to the integer intervals they can
  stand for. Nothing perturbed is ever taken as exact. Organisation
  measures (exact, not personal data) are not attacked. Medians and
  quartiles (rank perturbation) are read and checked by readers.py but
  are no views here: a quantile is not a linear function of the atoms.
- A hidden row says nothing but that the cell exists (it is hidden
  whatever hid it).
"""
import collections
import math

STATS = ("n", "units", "sum", "hits")


class ModelError(AssertionError):
    """A published number contradicts the ground truth or the model."""


def period_kind(p):
    return "year" if len(p) == 4 else "quarter" if "Q" in p else "month"


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


def year_periods(year):
    return [year] + [f"{year}-Q{q}" for q in range(1, 5)] + [f"{year}-{m:02d}" for m in range(1, 13)]


DIM_VALUES = {"mode": ["project", "integrated"], "gender": ["woman", "man", "other"],
              "age": ["16-29", "30-49", "50-64", "65+"],
              "agency": ["af", "fk", "region", "municipality", "forbund", "other"]}


def slices_of(m):
    return ["all"] + [f"{d}={v}" for d in m.dims for v in DIM_VALUES[d]]


class Protection:
    """The published protection (GET /api/protection)."""

    def __init__(self, doc):
        self.doc = doc
        self.k = int(doc["min_count"])
        self.D = int(doc["max_deviation"])
        self.V = float(doc["variance"])
        self.rows = {}
        for r in doc["table"]:
            self.rows[int(r["count"])] = [float(x) for x in r["p"]]
        self.top = max(self.rows)

    def row(self, count):
        """p(j) for j = -D..D for a count (the last row: "and above", also
        every magnitude and secondary count)."""
        return self.rows[min(max(count, min(self.rows)), self.top)]

    def full(self):
        return self.rows[self.top]

    def sum_dev(self, m):
        """E: the largest integer magnitude noise of one sum (w (D + 1/2),
        rounded; the open upper end of u keeps it below w (D + 1/2))."""
        return math.floor(m.width() * (self.D + 0.5) + 1e-9)


# ---- what the readers saw, per cell ------------------------------------------

def _cell():
    return {"visible": False, "hidden": False, "withheld": False, "views": set(), "units_text": None,
            "channels": set()}


class Published:
    """Everything one reader (or several together) published, per row key
    (measure, level, name, period, slice): whether it exists, is hidden,
    withholds, and every distinct set of published values ("view")."""

    def __init__(self, measures):
        self.measures = measures
        self.cells = {}
        self.pubs = set()

    def add_rows(self, rows, channel=""):
        for r in rows:
            if r["measure"] not in self.measures:
                continue
            key = (r["measure"], r["level"], r["name"], r["period"], r["slice"])
            c = self.cells.setdefault(key, _cell())
            c["channels"].add(channel)
            if r.get("pub") and r["pub"][0] is not None:
                self.pubs.add(r["pub"][0])
            if r["hidden"]:
                c["hidden"] = True
                if r.get("units_text"):
                    c["units_text"] = r["units_text"]
                continue
            c["visible"] = True
            c["withheld"] |= bool(r.get("withheld"))
            c["views"].add((r["n"], r["units"], r["sum"], r["hits"], r.get("hist")))

    def merge(self, other):
        out = Published(self.measures)
        for src in (self, other):
            out.pubs |= src.pubs
            for key, c in src.cells.items():
                d = out.cells.setdefault(key, _cell())
                for f in ("visible", "hidden", "withheld"):
                    d[f] |= c[f]
                d["views"] |= c["views"]
                d["channels"] |= c["channels"]
                d["units_text"] = d["units_text"] or c["units_text"]
        return out

    def published_count(self, wanted):
        return sum(1 for k, c in self.cells.items() if c["visible"] and k[0] in wanted)

    def hidden_keys(self, wanted):
        return [k for k, c in self.cells.items() if c["hidden"] and not c["visible"] and k[0] in wanted]

    def withheld_keys(self, wanted):
        return [k for k, c in self.cells.items() if c["withheld"] and k[0] in wanted]

    def fingerprint(self, wanted):
        return hash(tuple(sorted((k, c["visible"], c["hidden"], c["withheld"], tuple(sorted(map(repr, c["views"]))))
                                 for k, c in self.cells.items() if k[0] in wanted)))


def inconsistencies(pubs, wanted):
    """Rows hidden in one channel and shown in another, rows one channel
    has and another (that reads the same tables) has not, and cells shown
    with different exact counts (two independent draws of one cell)."""
    hidden, shown, values = (collections.defaultdict(set) for _ in range(3))
    for name, pub in pubs.items():
        for k, c in pub.cells.items():
            if k[0] not in wanted:
                continue
            if c["hidden"] and not c["visible"]:
                hidden[k].add(name)
            if c["visible"]:
                shown[k].add(name)
                for v in c["views"]:
                    values[k].add((v[0], v[1]))
    out = {}
    for k in hidden:
        if shown.get(k):
            out[k] = f"hidden in {sorted(hidden[k])}, shown in {sorted(shown[k])}"
    for k, vs in values.items():
        exact = {(n, u) for n, u in vs if n and n[0] == n[1] and u and u[0] == u[1]}
        if len(exact) > 1:
            out[k] = f"published with different counts {sorted(exact)}"
    return out


# ---- one measure and one calendar year as a linear system --------------------

class Component:
    """Variables: per atom a count per answer category (and a sum for day
    counts); per cell (every förbund cell of the year, present or not, and
    every published län and Riket row) its category counts, n, sum, hits
    and units. Equalities tie them together; published views and the
    publication rule add bounds. Targets are (cell, statistic) variables."""

    def __init__(self, m, year, pub, lan_of, prot, truth=None, check_noise=None):
        self.m, self.year, self.prot = m, year, prot
        self.lan_of = lan_of
        cats, self.fine_map = m.model_categories()
        self.cats = cats
        self.K = len(cats)
        self.days = m.aggregate == "median_days"
        self.has_hits = any(c[2] for c in cats)
        self.uses_u = not (m.paired or m.staff)
        self.periods = year_periods(year)
        self.slices = slices_of(m)
        keys = [k for k in pub.cells if k[0] == m.id and k[3][:4] == year]
        self.cells = {k: pub.cells[k] for k in keys}
        self.present_f = {(k[2], k[3], k[4]) for k in keys if k[1] == "forbund"}
        self.forbunds = sorted({f for f, _, _ in self.present_f})
        self.lo, self.hi, self.names = [], [], []
        self.eq, self.ub = [], []        # (dict var -> coef, rhs): form = rhs / form <= rhs
        self.cellvars = {}               # cell key -> {"cats": [..], "n", "sum", "hits", "units"}
        self.targets = []                # (kind, key, stat, var)
        self.noise = check_noise         # a NoiseStats to fill (and check), or None
        self._atoms()
        self._cells()
        self._units()
        self._presence()
        self._published()
        self._truth_src = truth
        self.truth = self._truth(truth) if truth else None

    # ---- variables -----------------------------------------------------
    def var(self, name, lo=0.0, hi=math.inf):
        self.lo.append(lo)
        self.hi.append(hi)
        self.names.append(name)
        return len(self.lo) - 1

    @property
    def nvar(self):
        return len(self.lo)

    def _atoms(self):
        m = self.m
        self.combos = [()]
        for d in m.dims:
            self.combos = [c + (v,) for c in self.combos for v in DIM_VALUES[d]]
        self.atom = {}
        cats = self.cats
        for f in self.forbunds:
            for month in months_of(self.year):
                for combo in self.combos:
                    a = {"cats": [self.var(("atom", f, month, combo, i)) for i in range(self.K)]}
                    if self.days:
                        a["sum"] = self.var(("atomsum", f, month, combo), 0.0, math.inf)
                        self.ub.append(({**{c: lo for c, (lo, _, _, _) in zip(a["cats"], cats)}, a["sum"]: -1}, 0))
                        self.ub.append(({a["sum"]: 1, **{c: -hi for c, (_, hi, _, _) in zip(a["cats"], cats)}}, 0))
                    self.atom[(f, month, combo)] = a

    def _new_cell(self, key):
        m = self.m
        cats = self.cats
        vl, _ = m.value_range()
        cv = {"cats": [self.var((key, "cat", i)) for i in range(self.K)]}
        cv["n"] = self.var((key, "n"))
        cv["sum"] = self.var((key, "sum"), -math.inf if vl < 0 else 0.0)
        cv["hits"] = self.var((key, "hits")) if self.has_hits else None
        self.eq.append(({cv["n"]: 1, **{c: -1 for c in cv["cats"]}}, 0))
        if cv["hits"] is not None:
            self.eq.append(({cv["hits"]: 1, **{c: -1 for c, cat in zip(cv["cats"], cats) if cat[2]}}, 0))
        if self.days:
            self.ub.append(({**{c: cat[0] for c, cat in zip(cv["cats"], cats)}, cv["sum"]: -1}, 0))
            self.ub.append(({cv["sum"]: 1, **{c: -cat[1] for c, cat in zip(cv["cats"], cats)}}, 0))
        else:
            row = {cv["sum"]: 1}
            for c, cat in zip(cv["cats"], cats):
                if cat[0]:
                    row[c] = -cat[0]
            self.eq.append((row, 0))
        self.cellvars[key] = cv
        return cv

    def _sum_eq(self, total, parts):
        """total's categories (and day sums) = the sum of the parts'."""
        for i in range(self.K):
            row = {total["cats"][i]: 1}
            for p in parts:
                row[p["cats"][i]] = row.get(p["cats"][i], 0) - 1
            self.eq.append((row, 0))
        if self.days:
            row = {total["sum"]: 1}
            for p in parts:
                row[p["sum"]] = row.get(p["sum"], 0) - 1
            self.eq.append((row, 0))

    def _cells(self):
        m, mid = self.m, self.m.id
        for f in self.forbunds:
            for p in self.periods:
                for s in self.slices:
                    self._new_cell((mid, "forbund", f, p, s))
            for month in months_of(self.year):
                for s in self.slices:
                    dim, _, val = s.partition("=")
                    di = m.dims.index(dim) if s != "all" else None
                    parts = [self.atom[(f, month, c)] for c in self.combos if di is None or c[di] == val]
                    self._sum_eq(self.cellvars[(mid, "forbund", f, month, s)], parts)
            for p in self.periods:
                if period_kind(p) == "month":
                    continue
                subs = [q for q in self.periods if parent_period(q) == p]
                for s in self.slices:
                    self._sum_eq(self.cellvars[(mid, "forbund", f, p, s)],
                                 [self.cellvars[(mid, "forbund", f, q, s)] for q in subs])
        # Län and Riket rows: sums of the published förbund rows.
        for key in self.cells:
            _, level, name, p, s = key
            if level == "forbund":
                continue
            fs = [f for f in self.forbunds if (f, p, s) in self.present_f and
                  (level == "nation" or self.lan_of.get(f) == name)]
            if not fs:
                raise ModelError(f"{key}: a {level} row without a published förbund row under it")
            cv = self._new_cell(key)
            self._sum_eq(cv, [self.cellvars[(mid, "forbund", f, p, s)] for f in fs])
            cv["members"] = fs

    def _units(self):
        mid = self.m.id
        if not self.uses_u:
            for cv in self.cellvars.values():
                cv["units"] = cv["n"]
            return
        for key, cv in self.cellvars.items():
            if key[1] == "forbund":
                cv["units"] = self.var((key, "units"))
                self.ub.append(({cv["units"]: 1, cv["n"]: -1}, 0))          # units <= n
        for key, cv in self.cellvars.items():
            if key[1] != "forbund":
                _, level, name, p, s = key
                cv["units"] = self.var((key, "units"))
                row = {cv["units"]: 1}
                for f in cv["members"]:
                    row[self.cellvars[(mid, "forbund", f, p, s)]["units"]] = -1
                self.eq.append((row, 0))
        u = lambda f, p, s: self.cellvars[(mid, "forbund", f, p, s)]["units"]
        for f in self.forbunds:
            for p in self.periods:
                for d in self.m.dims:
                    parts = [f"{d}={v}" for v in DIM_VALUES[d]]
                    row = {u(f, p, "all"): 1}
                    for s in parts:
                        row[u(f, p, s)] = -1
                    if d in ("gender", "age"):
                        self.eq.append((row, 0))
                    else:
                        self.ub.append((row, 0))                            # all <= Σ parts
                        for s in parts:
                            self.ub.append(({u(f, p, s): 1, u(f, p, "all"): -1}, 0))
                up = parent_period(p)
                if up is None:
                    continue
                for s in self.slices:
                    self.ub.append(({u(f, p, s): 1, u(f, up, s): -1}, 0))   # part <= whole
            for p in self.periods:
                if period_kind(p) == "month":
                    continue
                subs = [q for q in self.periods if parent_period(q) == p]
                for s in self.slices:
                    row = {u(f, p, s): 1}
                    for q in subs:
                        row[u(f, q, s)] = -1
                    self.ub.append((row, 0))                                # whole <= Σ parts

    def _presence(self):
        """What a row's presence says, in the steady state the suite reads
        (every changed cell republished after --publish-max-age): a cell
        waits for its first publication until min_count contributions or
        its max age (report/publish.c), so then every non-empty förbund
        cell is a row. A row shown with values rests on n >= k; a hidden
        row says nothing more (it may hold only "vet ej" answers, n = 0); a
        förbund cell in no output is empty."""
        k, mid = self.prot.k, self.m.id
        for f in self.forbunds:
            for p in self.periods:
                for s in self.slices:
                    n = self.cellvars[(mid, "forbund", f, p, s)]["n"]
                    c = self.cells.get((mid, "forbund", f, p, s))
                    if c is None:
                        self.hi[n] = min(self.hi[n], 0)
                    elif c["visible"]:
                        self.lo[n] = max(self.lo[n], k)
        for key, cv in self.cellvars.items():
            c = self.cells.get(key)
            if key[1] != "forbund" and c is not None:
                self.lo[cv["n"]] = max(self.lo[cv["n"]], k if c["visible"] else 0)

    # ---- published views --------------------------------------------------
    def _bound(self, v, lo, hi):
        self.lo[v] = max(self.lo[v], lo)
        self.hi[v] = min(self.hi[v], hi)

    def _published(self):
        m, prot = self.m, self.prot
        k, D, E = prot.k, prot.D, prot.sum_dev(m)
        fine = m.categories()
        bins = {cat[3]: i for i, cat in enumerate(self.cats) if cat[3] is not None}
        fine_bins = {cat[3] for cat in fine if cat[3] is not None}
        for key, c in self.cells.items():
            if not c["visible"]:
                continue
            cv = self.cellvars[key]
            for view in c["views"]:
                n_, u_, s_, h_, hist = view
                if n_ is None or n_[0] != n_[1]:
                    raise ModelError(f"{key}: visible row without an exact published n")
                np_ = n_[0]
                if u_ is not None:
                    up = u_[0]
                    self._bound(cv["units"], max(k, up - D), up + D)
                    if self.uses_u:
                        e = np_ - up
                        lo, hi = (0, D) if e == 0 else (max(1, e - D), e + D)
                        self.ub.append(({cv["n"]: 1, cv["units"]: -1}, hi))
                        self.ub.append(({cv["n"]: -1, cv["units"]: 1}, -lo))
                    elif np_ != up:
                        raise ModelError(f"{key}: n' {np_} != units' {up} for a measure with units = n")
                if h_ is not None and cv["hits"] is not None:
                    hl, hh = h_
                    self._bound(cv["hits"], hl - D if hl > 0 else 0, hh + D if hh < np_ else math.inf)
                if s_ is not None and np_ > 0:
                    sl, sh = s_
                    rlo, rhi = (sl - 0.5) / np_, (sh + 0.5) / np_
                    self.ub.append(({cv["n"]: rlo, cv["sum"]: -1}, E))     # sum >= rlo n - E
                    self.ub.append(({cv["sum"]: 1, cv["n"]: -rhi}, E))     # sum <= rhi n + E
                if hist is not None:
                    lo_b = {}
                    for b, x in enumerate(hist):
                        if b not in fine_bins:
                            if x != 0:
                                raise ModelError(f"{key}: histogram bin {b} = {x} outside the measure's bins")
                            continue
                        lo_b[b] = (max(1, x - D), x + D) if x > 0 else (0, D)
                        if b in bins:
                            self._bound(cv["cats"][bins[b]], *lo_b[b])
                    if self.days:
                        # Buckets merged in the model: each merged category
                        # holds the sum of its buckets, and the sum lies
                        # between the buckets' smallest and largest days.
                        for gi in range(self.K):
                            bs = [cat[3] for fi, cat in enumerate(fine) if self.fine_map[fi] == gi]
                            self._bound(cv["cats"][gi], sum(lo_b[b][0] for b in bs), sum(lo_b[b][1] for b in bs))
                        smin = sum(lo_b[cat[3]][0] * cat[0] for cat in fine)
                        smax = sum(lo_b[cat[3]][1] * cat[1] for cat in fine)
                        self._bound(cv["sum"], smin, smax)

    # ---- targets -------------------------------------------------------------
    def stat_var(self, key, stat):
        cv = self.cellvars[key]
        return cv[stat]

    def add_targets(self, kind, keys):
        for key in keys:
            if kind == "absent":                # is it proven non-empty at all?
                self.targets.append((kind, key, "located", self.cellvars[key]["n"]))
            for stat in STATS:
                v = self.stat_var(key, stat)
                if v is None:
                    continue
                self.targets.append((kind, key, stat, v))

    def add_share_targets(self, keys):
        """Rows whose true share is 0 % or 100 % on fewer than 10 answers:
        can the attacker prove it (hits <= 0, or n - hits <= 0)?"""
        for key in keys:
            cv = self.cellvars[key]
            if cv["hits"] is None:
                continue
            if "misses" not in cv:
                cv["misses"] = self.var((key, "misses"))
                self.eq.append(({cv["misses"]: 1, cv["n"]: -1, cv["hits"]: 1}, 0))
            self.targets.append(("share", key, "hits", cv["hits"]))
            self.targets.append(("share", key, "misses", cv["misses"]))

    # ---- ground truth ---------------------------------------------------------
    def _truth(self, truth):
        m, mid = self.m, self.m.id
        x = [0] * self.nvar
        for (tmid, f, month, attrs), a in truth.atoms.items():
            if tmid != mid or month[:4] != self.year or a["n"] == 0:
                continue
            if f not in self.forbunds:
                continue
            at = self.atom.get((f, month, tuple(attrs)))
            if at is None:
                raise ModelError(f"truth atom {mid} {f} {month} {attrs} has no variable")
            for ci, cnt in a["cats"].items():
                x[at["cats"][self.fine_map[ci]]] += cnt
            if self.days:
                x[at["sum"]] += a["sum"]
        cats = self.cats

        def finish(cv):
            x[cv["n"]] = sum(x[c] for c in cv["cats"])
            if cv["hits"] is not None:
                x[cv["hits"]] = sum(x[c] for c, cat in zip(cv["cats"], cats) if cat[2])
            if not self.days:
                x[cv["sum"]] = sum(x[c] * cat[0] for c, cat in zip(cv["cats"], cats))

        def add(cv, parts):
            for i in range(self.K):
                x[cv["cats"][i]] = sum(x[p["cats"][i]] for p in parts)
            if self.days:
                x[cv["sum"]] = sum(x[p["sum"]] for p in parts)
            finish(cv)

        order = sorted(self.periods, key=lambda p: {"month": 0, "quarter": 1, "year": 2}[period_kind(p)])
        for f in self.forbunds:
            for p in order:
                for s in self.slices:
                    cv = self.cellvars[(mid, "forbund", f, p, s)]
                    if period_kind(p) == "month":
                        dim, _, val = s.partition("=")
                        di = m.dims.index(dim) if s != "all" else None
                        add(cv, [self.atom[(f, p, c)] for c in self.combos if di is None or c[di] == val])
                    else:
                        add(cv, [self.cellvars[(mid, "forbund", f, q, s)] for q in self.periods
                                 if parent_period(q) == p])
                    if self.uses_u:
                        x[cv["units"]] = truth.cells.get((mid, "forbund", f, p, s), {}).get("units", 0)
        for key, cv in self.cellvars.items():
            if key[1] == "forbund":
                continue
            _, _, _, p, s = key
            parts = [self.cellvars[(mid, "forbund", f, p, s)] for f in cv["members"]]
            add(cv, parts)
            if self.uses_u:
                x[cv["units"]] = sum(x[pp["units"]] for pp in parts)
        self._x = x
        return x

    def truth_extend(self):
        """Truth values of variables added after construction (misses)."""
        x = self.truth
        while len(x) < self.nvar:
            x.append(0)
        for cv in self.cellvars.values():
            if "misses" in cv:
                x[cv["misses"]] = x[cv["n"]] - x[cv["hits"]]

    def _fine_truth(self, key):
        """True counts per fine category (histogram bin) of a row."""
        if not hasattr(self, "_fine"):
            self._fine = {}
        if key in self._fine:
            return self._fine[key]
        mid, level, name, p, s = key
        cv = self.cellvars[key]
        fs = [name] if level == "forbund" else cv["members"]
        out = collections.Counter()
        for (tmid, f, month, attrs), a in self._truth_src.atoms.items():
            if tmid != mid or f not in fs or month not in months_of(p):
                continue
            if s != "all":
                d, _, v = s.partition("=")
                if attrs[self.m.dims.index(d)] != v:
                    continue
            out.update(a["cats"])
        self._fine[key] = out
        return out

    def truth_of(self, key, stat):
        return self.truth[self.stat_var(key, stat)]

    def check_views(self):
        """Every published value lies within its noise interval of the
        truth (this checks the product's perturbation bounds, and the
        readers), and the noise seen is recorded."""
        m, prot = self.m, self.prot
        k, D, E = prot.k, prot.D, prot.sum_dev(m)
        cats = m.categories()
        x = self.truth
        fine = self._fine_truth
        for key, c in self.cells.items():
            if not c["visible"]:
                continue
            cv = self.cellvars[key]
            n, u, s = x[cv["n"]], x[cv["units"]], x[cv["sum"]]
            h = x[cv["hits"]] if cv["hits"] is not None else None
            for n_, u_, s_, h_, hist in c["views"]:
                np_ = n_[0]
                bad = []
                if u_ is not None:
                    j = u_[0] - u
                    if abs(j) > D or u_[0] < k or u < k:
                        bad.append(f"units' {u_[0]} for true units {u}")
                    if self.noise is not None:
                        self.noise.add("units", u, j)
                    extra, e_ = n - u, np_ - u_[0]
                    if (extra == 0 and e_ != 0) or (extra > 0 and not max(0, extra - D) <= e_ <= extra + D):
                        bad.append(f"n' - units' {e_} for true n - units {extra}")
                if h_ is not None and h is not None:
                    lo, hi = min(max(h - D, 0), np_), min(max(h + D, 0), np_)
                    if h_[1] < lo or h_[0] > hi:
                        bad.append(f"hits' {h_} for true hits {h} (n' {np_})")
                    elif self.noise is not None and h_[0] == h_[1] and 0 < h_[0] < np_:
                        self.noise.add("hits", None, h_[0] - h)
                if s_ is not None and n > 0:
                    if np_ == n:
                        lo, hi = s - E, s + E
                    else:                   # llround((s + e) n'/n), either rounding of halves
                        lo = math.ceil((s - E) * np_ / n - 0.5 - 1e-9)
                        hi = math.floor((s + E) * np_ / n + 0.5 + 1e-9)
                    if s_[1] < lo or s_[0] > hi:
                        bad.append(f"sum' {s_} for true sum {s} (n {n}, n' {np_}, E {E})")
                    elif self.noise is not None and s_[0] == s_[1] and np_ == n:
                        self.noise.add("sum", m.width(), s_[0] - s)
                if hist is not None:
                    for i, cat in enumerate(cats):
                        if cat[3] is None:
                            continue
                        b, b_ = fine(key)[i], hist[cat[3]]
                        if (b == 0 and b_ != 0) or (b > 0 and not max(0, b - D) <= b_ <= b + D):
                            bad.append(f"bin {cat[3]}' {b_} for true {b}")
                        elif self.noise is not None and b > 0 and b_ > 0:
                            self.noise.add("bins", None, b_ - b)
                if bad:
                    raise ModelError(f"{'/'.join(key)}: published outside the noise bounds of the truth: "
                                     + "; ".join(bad))


class NoiseStats:
    """The noise seen on published values (published - true), to compare
    with the table: units by true count (5, 6, 7+), hits and bins, sums in
    answer widths."""

    def __init__(self):
        self.counts = collections.defaultdict(collections.Counter)

    def add(self, what, count, j):
        if what == "units":
            self.counts[f"units c={count}" if count < 7 else "units c>=7"][j] += 1
        elif what == "sum":
            self.counts[f"sum (w={count})"][j] += 1
        else:
            self.counts[what][j] += 1

    def merge(self, other):
        for k, c in other.counts.items():
            self.counts[k].update(c)
