"""Cell-by-cell comparison of the exact view with the reference, and the
grouping of differences by kind (which area of the C side they come from).

Tolerance: integers exactly; reals within 1e-9 relative, with 1 as the
floor of the scale (|got - expected| <= 1e-9 * max(1, |expected|)), so
values near 0 (a change, an interval bound) are held to 1e-9 absolute.
That covers the rounding of double arithmetic on both sides and nothing
else; no field is skipped.
"""
import collections

REL = 1e-9
ROW = "<row>"
# Printed as JSON integers: counts, and day counts, which are whole days
# (issue 12: "print whole days"); 109.0 for a median is a difference.
WHOLE = {"n", "units", "sum", "median_days", "q1_days", "q3_days"}


def close(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, list) or isinstance(b, list):
        return (isinstance(a, list) and isinstance(b, list) and len(a) == len(b)
                and all(close(x, y) for x, y in zip(a, b)))
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        if isinstance(a, int) and isinstance(b, int):
            return a == b
        return abs(a - b) <= REL * max(1.0, abs(a))
    return a == b


Diff = collections.namedtuple("Diff", "measure level name period slice field expected got")


def compare(expected, got):
    """expected, got: {(measure, level, name, period, slice): {field: value}}.
    A row the view prints that the reference does not have is compared
    with an empty cell ({n: 0, units: 0, suppressed: false}): an empty row
    and no row say the same. Returns (differences, cells, fields)."""
    diffs, fields = [], 0
    keys = set(expected) | set(got)
    for key in sorted(keys):
        e, g = expected.get(key), got.get(key)
        if g is None:
            diffs.append(Diff(*key, ROW, "present", "missing"))
            continue
        if e is None:
            e = {"n": 0, "units": 0, "suppressed": False}
            if key[1] == "forbund" and "lan" in g:
                e["lan"] = g["lan"]
        for f in sorted(set(e) | set(g)):
            fields += 1
            if f not in g:
                diffs.append(Diff(*key, f, e[f], "missing"))
            elif f not in e:
                diffs.append(Diff(*key, f, "absent", g[f]))
            elif not close(e[f], g[f]) or (f in WHOLE and not (isinstance(g[f], int)
                                                                and not isinstance(g[f], bool))):
                diffs.append(Diff(*key, f, e[f], g[f]))
    return diffs, len(keys), fields


# ---- kinds -----------------------------------------------------------------

COMPARISON_FIELDS = ("change_year_mean", "change_year_share", "integrated_minus_project_mean",
                     "integrated_minus_project_mean_ci95", "integrated_minus_project_share",
                     "integrated_minus_project_share_ci95")


def _dim(slice_):
    return slice_.split("=", 1)[0] if "=" in slice_ else "all"


def _prev(period):
    if "-Q" in period:
        y, q = int(period[:4]), int(period[-1])
        return f"{y - 1}-Q4" if q == 1 else f"{y}-Q{q - 1}"
    if "-" in period:
        y, mo = int(period[:4]), int(period[5:])
        return f"{y - 1}-12" if mo == 1 else f"{y}-{mo - 1:02d}"
    return str(int(period) - 1)


def _same(v, got):
    """Does a table value v ("absent" if the table has none) reproduce what
    the view printed ("missing" if nothing)?"""
    if v == "absent":
        return got in ("missing", "absent")
    return got not in ("missing", "absent") and close(v, got)


MEAN_FIELD = {"ordinal": "mean", "sum": "mean", "median_days": "mean_days", "paired_change": "mean_change"}


def classify(d, m, got, tables):
    """A short name for the kind of a difference, prefixed by the area it
    belongs to (dist = exact distributions and t quantiles, episode =
    pairs and their slices, comparison = year-on-year and
    integrated - project, exact view, catalogue, step ladder, other).
    `tables` maps a reading's name to its expected table; the reference's
    own is "reference", the others are the readings a difference may come
    from (a paired value is attributed to the reading that reproduces
    it)."""
    f = d.field
    key = (d.measure, d.level, d.name, d.period, d.slice)
    grow = got.get(key)
    agg = m.aggregate if m else "?"
    if f in COMPARISON_FIELDS:
        what = "year-on-year change" if f.startswith("change_year") else "integrated - project"
        state = "missing" if d.got == "missing" else "unexpected" if d.expected == "absent" else "differs"
        return f"comparison: {what} ({f}) {state}"
    if f == ROW:
        if m is not None and m.paired and _dim(d.slice) in ("gender", "age"):
            return f"episode: paired measure has no {_dim(d.slice)} slices (row missing)"
        if m is not None and m.paired:
            for name, table in tables.items():
                if name != "reference" and _same("present" if key in table else "absent",
                                                 "present" if grow is not None else "missing"):
                    return name
        return f"rows: row {d.got} ({agg}, slice {_dim(d.slice)})"
    if grow is not None and "withheld" in grow:
        return "exact view: withholds a 0 %/100 % share on n < 10 (the exact view shows every value)"
    if f in ("change_mean", "change_share") and d.got == "missing":
        prow = got.get((d.measure, d.level, d.name, _prev(d.period), d.slice))
        if prow is not None and "withheld" in prow:
            return "exact view: no change next to a withheld previous row (the exact view shows every value)"
    if m is not None and m.aggregate == "ordinal" and m.top is None and f in ("share_top", "change_share"):
        return f"catalogue: {f} printed for a scale without a top category"
    if f in ("median", "median_days", "q1_days", "q3_days"):
        if d.got != "missing" and d.expected != "absent" and close(d.expected, d.got):
            return f"dist: {f} printed as a real, not as whole days"
        state = "missing" if d.got == "missing" else "differs"
        return f"dist: {f} not the exact type-1 quantile ({state})"
    if f == "ci95" and grow is not None:
        mf = MEAN_FIELD.get(agg)
        for name, table in tables.items():
            row = table.get(key)
            if row and row["n"] == grow.get("n") and mf and _same(row.get(mf, "absent"), grow.get(mf, "missing")):
                if name == "reference":
                    n = grow.get("n", 0)
                    return f"dist: ci95 not from the exact t quantile (n {'> 31' if n > 31 else '<= 31'})"
                return name
    if m is not None and m.paired:
        for name, table in tables.items():
            if name == "reference":
                continue
            row = table.get(key)
            if _same(row.get(f, "absent") if row else "absent", d.got):
                return name
        return (f"episode: paired {f} differs (no reading reproduces it: mostly the old rule's "
                f"same-month tie broken by event id)")
    if m is not None and m.aggregate in ("share_yes", "share_sustained") and f == "change_mean":
        return "share: change of the mean answer code printed for a share measure"
    return f"other: {f} ({agg}, {'missing' if d.got == 'missing' else 'differs'})"


VARIANT_NAMES = {
    ("reference", "latest"): "episode: pairs use the latest observation of each side (ignore time order)",
    ("alt", "episode"): "step ladder: missing extent / income 'other' / work >= 50 % with public support",
    ("alt", "latest"): "episode + step ladder: latest-observation pairs and the other step reading",
}


def group(diffs, by_id, got, tables):
    kinds = collections.OrderedDict()
    for d in diffs:
        k = classify(d, by_id.get(d.measure), got, tables)
        kinds.setdefault(k, []).append(d)
    return sorted(kinds.items(), key=lambda kv: (-len(kv[1]), kv[0]))


def fmt_value(v):
    if isinstance(v, float):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(fmt_value(x) for x in v) + "]"
    return str(v)


def fmt(d):
    return (f"{d.measure}/{d.level}/{d.name}/{d.period}/{d.slice}/{d.field} "
            f"expected {fmt_value(d.expected)} got {fmt_value(d.got)}")
