"""The reference computation: every cell of the operator's exact view,
recomputed from the rows the sites exported (after their corrections,
retractions and erasures), from the public contract only — proto/finsam.proto,
proto/catalogue.json, /work/shared/DESIGN.md §5, docs/architecture.md
("Aggregation"), docs/import-jsonl.md, docs/http-api.md (the row fields)
and issue 12 (exact medians and quartiles, exact t quantiles, episodes,
slices for paired measures, comparisons). No code is shared with the
collector; the assumptions where the spec is silent are listed in
reference.py (A1...) and docs/reference-test.md.

Output: {(measure, level, name, period, slice): {field: value}} with the
fields the exact view must print for that row.
"""
import collections
import math
from fractions import Fraction

from scipy import special, stats

PAIRED = ("paired_change", "share_sustained")
PUBLIC_SUPPORT = {"sickness_benefit", "activity_compensation", "sickness_compensation", "unemployment",
                  "social_assistance"}
AGE_BANDS = ((16, 29, "16-29"), (30, 49, "30-49"), (50, 64, "50-64"), (65, 200, "65+"))
T_CACHE = {}
Z975 = 1.959963984540054   # the standard normal's 0.975 quantile


def t975(df):
    """Two-sided 95 % quantile of Student's t with df degrees of freedom,
    to full double precision (any df > 0, also fractional for Welch).
    scipy's t.ppf is off by up to ~1e-9 for small df, so the start from
    the inverse incomplete beta function is refined by Newton steps on
    the upper tail 0.5 * I_{df/(df+t^2)}(df/2, 1/2) = 0.025. Beyond
    df = 3000, where the incomplete beta function loses digits, the
    Cornish-Fisher expansion in 1/df (four terms, error < 1e-16) is used.
    selftest.py checks both against closed forms (df = 1, 2, 4)."""
    v = T_CACHE.get(df)
    if v is not None:
        return v
    if df > 3000:
        z = Z975
        g = ((z ** 3 + z) / 4, (5 * z ** 5 + 16 * z ** 3 + 3 * z) / 96,
             (3 * z ** 7 + 19 * z ** 5 + 17 * z ** 3 - 15 * z) / 384,
             (79 * z ** 9 + 776 * z ** 7 + 1482 * z ** 5 - 1920 * z ** 3 - 945 * z) / 92160)
        t = z + sum(gi / df ** (i + 1) for i, gi in enumerate(g))
    else:
        x = special.betaincinv(df / 2, 0.5, 0.05)
        t = math.sqrt(df * (1 - x) / x)
        for _ in range(4):
            tail = 0.5 * special.betainc(df / 2, 0.5, df / (df + t * t))
            t += (tail - 0.025) / stats.t.pdf(t, df)
    T_CACHE[df] = t
    return t


# ---- status-derived values (A4, A5) ---------------------------------------

def step(occupation, income, extent, ladder="reference"):
    """The step 0-5 of DESIGN.md §5: 0 public support and no activity ·
    1 preparatory effort · 2 work training · 3 studies or subsidised work ·
    4 unsubsidised work under 50 % · 5 work or studies >= 50 % without
    public support. Reference reading (A4): public support = the five
    public benefits (income "other" is not one); a missing extent is
    unknown, so it never proves >= 50 %; unsubsidised work that is not
    step 5 is step 4; job seeking is an activity without training: 1.

    ladder="alt" is the other reading (missing extent = 100 %, "other" is
    public support, work >= 50 % with public support is step 3); it is
    used only to say which reading a difference comes from."""
    if ladder == "alt":
        ext = 100 if extent is None else extent
        public = income not in ("wage", "no_public_support")
        if occupation in ("work", "studies"):
            if ext >= 50 and not public:
                return 5
            return 4 if occupation == "work" and ext < 50 else 3
    else:
        public = income in PUBLIC_SUPPORT
        if occupation in ("work", "studies") and extent is not None and extent >= 50 and not public:
            return 5
        if occupation == "work":
            return 4
    return {"studies": 3, "subsidised_work": 3, "work_training": 2, "preparatory": 1,
            "job_seeking": 1, "none": 0}[occupation]


def in_work_or_studies(row):
    return row["occupation"] in ("work", "subsidised_work", "studies")


# ---- the catalogue's measures ---------------------------------------------

class Measure:
    def __init__(self, cat, indicator, m):
        self.id = m["id"]
        self.indicator = indicator["id"]
        self.aggregate = m["aggregate"]
        src = m["source"]
        self.item = src.get("item")
        self.instrument = src.get("instrument")
        self.status = src.get("status")
        self.phase = src.get("phase")
        self.side_from, self.side_to = src.get("from"), src.get("to")
        self.paired = self.aggregate in PAIRED
        self.scale = None
        kinds = set()
        if self.status:
            kinds.add("status")
        # A ratio (the shares of insatser): a report giving both its part
        # and its total is one observation (part, total); the share is
        # Σ part / Σ total over those reports.
        self.numerator, self.denominator = src.get("numerator"), src.get("denominator")
        if self.aggregate == "ratio":
            kinds.add(cat["instruments"][self.instrument]["kind"])
        if self.item:
            for code, ins in cat["instruments"].items():
                if self.item not in ins["items"]:
                    continue
                if self.instrument and code != self.instrument:
                    continue
                if self.paired and code not in (self.side_from, self.side_to):
                    continue
                kinds.add(ins["kind"])
                self.scale = cat["scales"][ins["items"][self.item]["scale"]]
        if len(kinds) != 1:
            raise ValueError(f"{self.id}: source of more than one kind {kinds}")
        kind = kinds.pop()
        self.kind = {"participant_survey": "participant", "status": "participant",
                     "staff_survey": "staff", "organisation": "organisation"}[kind]
        # Slice dimensions (A2): participant measures, paired ones
        # included, by mode, gender and age band; staff by mode and agency.
        self.dims = {"participant": ("mode", "gender", "age"), "staff": ("mode", "agency"),
                     "organisation": ()}[self.kind]
        if self.aggregate not in ("ordinal", "share_yes", "sum", "median_days", "ratio") + PAIRED:
            raise ValueError(f"{self.id}: aggregate {self.aggregate} unknown to the reference")

    def dont_know(self, v):
        return self.scale is not None and self.scale.get("dont_know") is not None and v == self.scale["dont_know"]

    @property
    def top(self):
        return tuple(self.scale["top"]) if self.scale and "top" in self.scale else None

    def has_mean(self):
        return self.aggregate in ("ordinal", "sum", "median_days", "paired_change")   # not a ratio

    def has_share(self):
        if self.aggregate == "ordinal":
            return self.top is not None
        return self.aggregate != "sum"

    def hit(self, v):
        a = self.aggregate
        if a == "ordinal":
            return self.top is not None and self.top[0] <= v <= self.top[1]
        if a == "share_yes":
            return v == (self.scale.get("yes", 1) if self.scale else 1)
        if a == "median_days":
            return v <= 30
        if a == "paired_change":
            return v >= 1
        if a == "share_sustained":
            return v == 1
        return False


UNSUPPORTED = {}   # measure id -> why the reference cannot compute it (reported, never skipped silently)


def measures(cat):
    out = []
    for ind in cat["indicators"]:
        for m in ind["measures"]:
            try:
                out.append(Measure(cat, ind, m))
            except (ValueError, KeyError) as e:
                UNSUPPORTED[m["id"]] = str(e)
    return out


# ---- observations ----------------------------------------------------------

def age_band(event_year, birth_year):
    age = event_year - birth_year
    for lo, hi, name in AGE_BANDS:
        if lo <= age <= hi:
            return name
    return None


def months_of(d):
    y, mo = int(d[:4]), int(d[5:7])
    return y, mo


def periods(y, mo):
    return (f"{y}", f"{y}-Q{(mo - 1) // 3 + 1}", f"{y}-{mo:02d}")


def status_value(m, row, ladder):
    """(present, value) of a status measure for one status row."""
    s = m.status
    if s == "step":
        return True, step(row["occupation"], row["income"], row.get("extent_pct"), ladder)
    if s in ("days_in_insats", "days_to_next_service"):
        return (s in row), row.get(s)
    if s == "in_work_or_studies":
        w = in_work_or_studies(row)
        # share_yes: 1 = yes, 2 = no; pairs: True/False
        return True, (w if m.paired else (1 if w else 2))
    if s == "assessed_with_participant":
        v = row.get("assessed_with_participant")
        return v is not None, (1 if v else 2)
    raise ValueError(f"{m.id}: status field {s} unknown to the reference")


class Obs:
    __slots__ = ("mid", "forbund", "month", "attrs", "value", "dk", "unit")

    def __init__(self, mid, forbund, month, attrs, value, dk, unit):
        self.mid, self.forbund, self.month, self.attrs = mid, forbund, month, attrs
        self.value, self.dk, self.unit = value, dk, unit


def observations(cat, ms, live, ladder="reference", pairing="episode"):
    """Plain observations and pairs of every measure from the live rows
    ({förbund: [row]}): a list of Obs (a pair is one Obs at its later
    side)."""
    by_item = collections.defaultdict(list)
    status_ms, ratio_ms = [], []
    for m in ms:
        if m.status:
            status_ms.append(m)
        elif m.aggregate == "ratio":
            ratio_ms.append(m)
        else:
            by_item[m.item].append(m)
    instruments = cat["instruments"]
    out = []
    sides = collections.defaultdict(lambda: ([], []))   # (förbund, person, measure) -> (from, to)
    for f, rows in live.items():
        for i, r in enumerate(rows):
            kind = r["kind"]
            y, mo = months_of(r["date"])
            month = (y, mo)
            if kind in ("participant_survey", "status"):
                person = (f, r["personnummer"])
                by = r.get("birth_year") or int(r["personnummer"][:4])
                attrs = {"mode": r["mode"], "gender": r.get("gender"), "age": age_band(y, by)}
                unit = person
            elif kind == "staff_survey":
                attrs = {"mode": r["mode"], "agency": r["agency"]}
                unit = ("response", f, r["response_id"])
            else:
                attrs = {}
                unit = ("organisation", f, i, r["date"])
            if kind == "status":
                for m in status_ms:
                    has, v = status_value(m, r, ladder)
                    if not has:
                        continue
                    if m.paired:
                        side = 0 if r["phase"] == m.side_from else 1 if r["phase"] == m.side_to else None
                        if side is not None:
                            sides[(f, r["personnummer"], m.id)][side].append((month, v, attrs, r["date"], (f, i)))
                    elif r["phase"] == m.phase:
                        out.append(Obs(m.id, f, month, attrs, v, False, unit))
                continue
            if kind == "organisation":
                instrument = next(c for c, ins in instruments.items() if ins["kind"] == "organisation")
                for m in ratio_ms:
                    a = r["answers"]
                    if m.instrument == instrument and m.numerator in a and m.denominator in a:
                        out.append(Obs(m.id, f, month, attrs, (a[m.numerator], a[m.denominator]), False, unit))
            else:
                instrument = r["instrument"]
            for item, v in r["answers"].items():
                for m in by_item.get(item, ()):
                    if m.paired:
                        side = 0 if instrument == m.side_from else 1 if instrument == m.side_to else None
                        if side is not None and not m.dont_know(v):
                            sides[(f, r["personnummer"], m.id)][side].append((month, v, attrs, r["date"], (f, i)))
                        continue
                    if m.instrument and m.instrument != instrument:
                        continue
                    if item not in instruments[instrument]["items"]:
                        continue
                    out.append(Obs(m.id, f, month, attrs, None if m.dont_know(v) else v, m.dont_know(v), unit))
    by_id = {m.id: m for m in ms}
    for (f, pnr, mid), (frm, to) in sides.items():
        m = by_id[mid]
        if not frm or not to:
            continue
        if pairing == "episode":
            # A8: observations in order of month, then of delivery; each
            # earlier-side one starts an episode, whose pair is it and the
            # latest later-side observation before the next episode starts.
            obs = sorted([(x[0], x[4], 0, x) for x in frm] + [(x[0], x[4], 1, x) for x in to],
                         key=lambda o: (o[0], o[1]))
            episodes = []
            for _, _, side, x in obs:
                if side == 0:
                    episodes.append([x, None])
                elif episodes:
                    episodes[-1][1] = x
            pairs = [(a, b) for a, b in episodes if b is not None]
        else:
            # The reading issue 12 calls wrong: latest of each side.
            pairs = [(max(frm, key=lambda x: x[0]), max(to, key=lambda x: (x[0], x[3])))]
        for a, b in pairs:
            if m.aggregate == "paired_change":
                value = b[1] - a[1]
            else:
                if not a[1]:
                    continue          # sustained: only those who left in work or studies
                value = 1 if b[1] else 0
            out.append(Obs(mid, f, b[0], b[2], value, False, (f, pnr)))
    return out


# ---- cells -----------------------------------------------------------------

class Acc:
    __slots__ = ("values", "dk", "units")

    def __init__(self):
        self.values, self.dk, self.units = [], 0, set()


def quantile2(sorted_values, num, den):
    """Hyndman & Fan type 2: the ceil(n*p)-th smallest value, or the mean of
    the n*p-th and the next when n*p is whole (the usual median of an even
    count), p = num/den (A6)."""
    n = len(sorted_values)
    if (n * num) % den == 0:
        k = n * num // den
        if k == 0:
            return sorted_values[0]
        if k >= n:
            return sorted_values[-1]
        return Fraction(sorted_values[k - 1] + sorted_values[k], 2)
    return sorted_values[-(-n * num // den) - 1]


def whole_days(q):
    """A day quantile printed in whole days, a half rounded up (A6)."""
    return int(math.floor(Fraction(q) + Fraction(1, 2)))


def describe(m, acc):
    """The values of one cell (without the comparisons)."""
    vals = acc.values
    n = len(vals)
    out = {"n": n, "units": len(acc.units)}
    if n == 0:
        return out
    if m.aggregate == "ratio":
        num, den = sum(v[0] for v in vals), sum(v[1] for v in vals)
        out.update(numerator=num, denominator=den)
        if den > 0:
            out["share"] = num / den
        out["_mean"], out["_share"], out["_var"] = None, (num / den if den > 0 else None), None
        return out
    s = sum(vals)
    mean = Fraction(s, n)
    hits = sum(1 for v in vals if m.hit(v))
    share = hits / n
    if n > 1:
        var = Fraction(n * sum(v * v for v in vals) - s * s, n * (n - 1))
        sd = math.sqrt(var)
        half = t975(n - 1) * sd / math.sqrt(n)
    else:
        sd, half = 0.0, 0.0                   # A7
    meanf = float(mean)
    a = m.aggregate
    sv = sorted(vals)
    if a == "ordinal":
        out.update(mean=meanf, sd=sd, ci95=[meanf - half, meanf + half], median=float(quantile2(sv, 1, 2)))
        if m.top is not None:
            out["share_top"] = share
    elif a in ("share_yes", "share_sustained"):
        out["share"] = share
        # A15: Wilson's score interval from the share and n
        z, p = 1.959963984540054, float(share)
        z2n = z * z / n
        c = (p + z2n / 2) / (1 + z2n)
        h = z / (1 + z2n) * math.sqrt(p * (1 - p) / n + z2n / (4 * n))
        out["ci95"] = [max(c - h, 0.0), min(c + h, 1.0)]
    elif a == "sum":
        out.update(sum=s, mean=meanf)
    elif a == "median_days":
        out.update(median_days=whole_days(quantile2(sv, 1, 2)), q1_days=whole_days(quantile2(sv, 1, 4)),
                   q3_days=whole_days(quantile2(sv, 3, 4)),
                   mean_days=meanf, share_within_30_days=share)
    elif a == "paired_change":
        out.update(mean_change=meanf, ci95=[meanf - half, meanf + half], share_improved=share)
    # kept for the comparisons, removed before output
    out["_mean"], out["_share"], out["_var"] = (meanf if m.has_mean() else None,
                                               share if m.has_share() else None,
                                               (float(var) if n > 1 else None))
    return out


def prev_period(p):
    if "-Q" in p:
        y, q = int(p[:4]), int(p[-1])
        return f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
    if "-" in p:
        y, mo = int(p[:4]), int(p[5:])
        return f"{y - 1}-12" if mo == 1 else f"{y}-{mo - 1:02d}"
    return str(int(p) - 1)


def year_before(p):
    return str(int(p[:4]) - 1) + p[4:]


def compute(cat, live, ladder="reference", pairing="episode"):
    ms = measures(cat)
    by_id = {m.id: m for m in ms}
    lan = {f: v["lan"] for f, v in cat["forbund"].items()}
    cells = collections.defaultdict(Acc)
    for o in observations(cat, ms, live, ladder, pairing):
        m = by_id[o.mid]
        slices = ["all"] + [f"{d}={o.attrs[d]}" for d in m.dims if o.attrs.get(d) is not None]
        for p in periods(*o.month):
            for s in slices:
                for level, name in (("forbund", o.forbund), ("lan", lan[o.forbund]), ("nation", "Riket")):
                    acc = cells[(o.mid, level, name, p, s)]
                    if o.dk:
                        acc.dk += 1
                        continue
                    acc.values.append(o.value)
                    acc.units.add(o.unit)
    table = {}
    for key, acc in cells.items():
        if acc.values:
            table[key] = describe(by_id[key[0]], acc)
    # Comparisons (A9-A11).
    for key, row in table.items():
        mid, level, name, p, s = key
        m = by_id[mid]
        prev = table.get((mid, level, name, prev_period(p), s))
        if prev:
            if m.has_mean():
                row["change_mean"] = row["_mean"] - prev["_mean"]
            if m.has_share() and row["_share"] is not None and prev["_share"] is not None:
                row["change_share"] = row["_share"] - prev["_share"]
        yb = table.get((mid, level, name, year_before(p), s))
        if yb:
            if m.has_mean():
                row["change_year_mean"] = row["_mean"] - yb["_mean"]
            if m.has_share() and row["_share"] is not None and yb["_share"] is not None:
                row["change_year_share"] = row["_share"] - yb["_share"]
        if s == "all" and "mode" in m.dims:
            gi = table.get((mid, level, name, p, "mode=integrated"))
            gp = table.get((mid, level, name, p, "mode=project"))
            if gi and gp:
                comparisons(m, row, gi, gp)
    for row in table.values():
        for k in ("_mean", "_share", "_var"):
            row.pop(k, None)
        row["suppressed"] = False
    for key, row in table.items():
        if key[1] == "forbund":
            row["lan"] = lan[key[2]]
    return table, by_id


def comparisons(m, row, gi, gp):
    """integrated − project in one place and period (A11): difference of
    means with Welch's 95 % interval (t quantile at the
    Welch–Satterthwaite df), difference of shares with the Wald interval."""
    ni, np_ = gi["n"], gp["n"]
    if m.has_mean():
        d = gi["_mean"] - gp["_mean"]
        row["integrated_minus_project_mean"] = d
        if ni >= 2 and np_ >= 2:
            a, b = gi["_var"] / ni, gp["_var"] / np_
            se2 = a + b
            if se2 == 0:
                row["integrated_minus_project_mean_ci95"] = [d, d]
            else:
                df = se2 * se2 / (a * a / (ni - 1) + b * b / (np_ - 1))
                h = t975(df) * math.sqrt(se2)
                row["integrated_minus_project_mean_ci95"] = [d - h, d + h]
    if m.has_share():
        pi, pp = gi["_share"], gp["_share"]
        d = pi - pp
        row["integrated_minus_project_share"] = d
        h = Z975 * math.sqrt(pi * (1 - pi) / ni + pp * (1 - pp) / np_)
        row["integrated_minus_project_share_ci95"] = [d - h, d + h]
