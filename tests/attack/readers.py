"""Readers of every published channel, one small function each.

Each reader returns a list of *rows* in one neutral shape, so that a change
of output format touches one function here and nothing else:

    {"measure": "i1_behov", "level": "forbund"|"lan"|"nation", "name": "NV",
     "period": "2026-Q1", "slice": "gender=woman",
     "hidden": bool,            # "suppressed": true (no values at all)
     "units_text": "<5" | None, # a bound a hidden row gives away (none today)
     "withheld": bool,          # a 0 %/100 % share withheld: n and units only
     "protected": bool,         # the measure is perturbed (false: organisation)
     "pub": (seq, at_ms),       # the publication the output reflects
     # PUBLISHED (perturbed) numbers, as closed intervals (lo, hi): exact
     # integers have lo == hi, a rounded print gives its rounding interval
     # (a CSV mean of 2 decimals times n is the interval of integer sums it
     # can stand for); None = not published:
     "n", "units", "sum", "hits": (lo, hi) | None,
     "hist": (b0, ..., b15) | None,   # histogram bins: none published since
                                      # issue 12 (kept for a stream that has them)
     "quantiles": (median, q1, q3)}   # as printed, None where not shown;
                                      # parsed and checked, never attacked

Quantiles (medians of answer scales, median and quartiles of day counts)
are published by rank perturbation (docs/security.md (a) 5); the suite
checks their shape — day counts in whole weeks — but takes nothing from
them: a quantile is no linear function of the counts the model solves for.

These are the published values, not the true ones: what a published value
says about the truth (the cell-key noise bounds, docs/security.md (a)) is
model.py's business. Format facts each reader depends on are listed in
docs/security-attacks.md ("What the readers depend on").
"""
import csv
import io
import json
import math
import urllib.parse

SLICES = ["all", "mode=project", "mode=integrated", "agency=af", "agency=fk", "agency=region",
          "agency=municipality", "agency=forbund", "agency=other", "gender=woman", "gender=man",
          "gender=other", "age=16-29", "age=30-49", "age=50-64", "age=65+"]
PERIODS = ["year", "quarter", "month"]

MEAN_KEYS = ("mean", "mean_change", "mean_days")
SHARE_KEYS = ("share", "share_top", "share_improved", "share_within_30_days")
QUANTILE_KEYS = ("median", "median_days", "q1_days", "q3_days")
VALUE_KEYS = MEAN_KEYS + SHARE_KEYS + QUANTILE_KEYS + ("sd", "ci95", "sum", "n", "units", "change_mean",
                                                       "change_share")
# The CSV's quantile columns (median: answer scales and day counts).
CSV_QUANTILES = ("median", "nedre kvartil", "övre kvartil")
EPS = 1e-9


class FormatError(AssertionError):
    """An output does not have the documented shape."""


def _exact(v):
    return (v, v)


def _new_row(measure, level, name, period, slc, pub, protected=True):
    return {"measure": measure, "level": level, "name": name, "period": period, "slice": slc,
            "hidden": False, "units_text": None, "withheld": False, "protected": protected, "pub": pub,
            "n": None, "units": None, "sum": None, "hits": None, "hist": None, "quantiles": None}


def _quantiles(median, q1, q3, days, protected, what):
    """(median, q1, q3) of a visible row, or None when it shows none. Day
    counts (days: True; None when the channel does not say, as the stream)
    are whole days, and whole weeks when protected; quartiles come with a
    median and only for day counts, ordered q1 <= median <= q3."""
    if median is None and q1 is None and q3 is None:
        return None
    if (q1 is None) != (q3 is None) or (q1 is not None and (median is None or days is False)):
        raise FormatError(f"{what}: quantiles {median}, {q1}, {q3} do not fit the measure")
    days = days or q1 is not None
    for x in (median, q1, q3):
        if x is None or not days:
            continue
        if x != int(x) or (protected and int(x) % 7):
            raise FormatError(f"{what}: day-count quantile {x} is not a whole "
                              f"{'week' if protected else 'day'}")
    if q1 is not None and not q1 <= median <= q3:
        raise FormatError(f"{what}: quartiles {q1}, {q3} do not enclose the median {median}")
    return (median, q1, q3)


def _times(real, n, what):
    """The integer behind a real printed with full precision: mean × n is
    the published sum, share × n the published hits."""
    x = real * n
    r = round(x)
    if abs(x - r) > 1e-6 * max(1.0, abs(x)):
        raise FormatError(f"{what} = {real} times n = {n} is not an integer ({x})")
    return (r, r)


def _times_interval(lo, hi, n):
    """Integers k with lo <= k / n <= hi (a rounded mean or share)."""
    a, b = math.ceil(lo * n - 1e-7), math.floor(hi * n + 1e-7)
    if a > b:
        raise FormatError(f"no integer k with {lo} <= k/{n} <= {hi}")
    return (a, b)


# ---- the query JSON shape (CLI --format json, /api/indicators, /export.json)

def rows_from_query_json(doc):
    """Rows of `finsamctl query --format json`, /api/indicators and
    /export.json (same shape; the export has every slice)."""
    if doc.get("view") != "protected":
        raise FormatError(f"view is {doc.get('view')!r}, not 'protected'")
    p = doc.get("published") or {}
    pub = (p.get("seq"), p.get("at_ms"))
    out = []
    for m in doc.get("measures", []):
        agg = m.get("aggregate")
        if agg == "ratio":
            continue        # a quotient of two organisation sums read as their own measures
        protected = bool(m.get("protected", True))
        for r in m.get("rows", []):
            row = _new_row(m["id"], r["level"], r["name"], r["period"], r["slice"], pub, protected)
            if r.get("suppressed"):
                row["hidden"] = True
                u = r.get("units")
                if isinstance(u, str) and u.startswith("<"):
                    row["units_text"] = u          # the old format; none today
                leaked = [k for k in VALUE_KEYS if k in r and k != "units"]
                if leaked:
                    raise FormatError(f"suppressed row {m['id']} {r['name']} {r['period']} {r['slice']} "
                                      f"carries {leaked}")
                out.append(row)
                continue
            n = r.get("n")
            if not isinstance(n, int):
                raise FormatError(f"visible row without integer n: {r}")
            row["n"] = _exact(n)
            if isinstance(r.get("units"), int):
                row["units"] = _exact(r["units"])
            if "withheld" in r:
                row["withheld"] = True
                out.append(row)
                continue
            if isinstance(r.get("sum"), int):
                row["sum"] = _exact(r["sum"])
            elif n > 0:
                for key in MEAN_KEYS:
                    if isinstance(r.get(key), (int, float)):
                        row["sum"] = _times(float(r[key]), n, key)
            if n > 0 and agg != "sum":
                for key in SHARE_KEYS:
                    if isinstance(r.get(key), (int, float)):
                        row["hits"] = _times(float(r[key]), n, key)
            days = agg == "median_days"
            if days and isinstance(r.get("median_days"), float):
                raise FormatError(f"median_days {r['median_days']} is not an integer: {r}")
            row["quantiles"] = _quantiles(r.get("median_days" if days else "median"), r.get("q1_days"),
                                          r.get("q3_days"), days, protected,
                                          f"{m['id']} {r['name']} {r['period']} {r['slice']}")
            out.append(row)
    return out


# ---- the Swedish-Excel CSV (finsamctl query/export --format csv, /export.csv)

def _sv_number(text):
    return float(text.replace(",", ".")) if text != "" else None


def rows_from_csv(text, pub=(None, None)):
    """CSV: UTF-8 BOM, `;`, decimal comma, CRLF; mean 2 decimals, share in
    percent 1 decimal, counts integers; a hidden row has undertryckt = ja
    and every number empty; a withheld share has n and enheter only.
    Rounded means and shares become intervals of the published integer
    sum and hits (with the published n)."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rdr = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    header = next(rdr)
    col = {name: i for i, name in enumerate(header)}
    for need in ("mått", "aggregat", "nivå", "namn", "period", "urval", "undertryckt", "n", "enheter",
                 "medelvärde", "andel (%)", "summa"):
        if need not in col:
            raise FormatError(f"CSV without column {need!r}: {header}")
    out = []
    for rec in rdr:
        if not rec:
            continue
        g = lambda name: rec[col[name]]
        agg = g("aggregat")
        if agg == "ratio":
            continue        # a quotient of two organisation sums read as their own measures
        row = _new_row(g("mått"), g("nivå"), g("namn"), g("period"), g("urval"), pub)
        row["protected"] = agg != "sum"
        if g("undertryckt") == "ja":
            row["hidden"] = True
            if g("enheter").startswith("<"):
                row["units_text"] = g("enheter")
            if any(g(k) != "" for k in ("n", "medelvärde", "andel (%)", "summa") + CSV_QUANTILES if k in col):
                raise FormatError(f"suppressed CSV row carries numbers: {rec}")
            out.append(row)
            continue
        n = int(g("n"))
        row["n"] = _exact(n)
        if g("enheter") != "":
            row["units"] = _exact(int(g("enheter")))
        mean, share = _sv_number(g("medelvärde")), _sv_number(g("andel (%)"))
        if g("summa") != "":
            row["sum"] = _exact(int(g("summa")))
        elif mean is not None and n > 0:
            row["sum"] = _times_interval(mean - 0.005 - EPS, mean + 0.005 + EPS, n)
        if share is not None and n > 0:
            row["hits"] = _times_interval((share - 0.05) / 100 - EPS, (share + 0.05) / 100 + EPS, n)
        elif agg != "sum" and n > 0 and mean is None:
            row["withheld"] = True
        q = [_sv_number(g(k)) if k in col else None for k in CSV_QUANTILES]
        row["quantiles"] = _quantiles(*q, agg == "median_days", row["protected"],
                                      f"{g('mått')} {g('namn')} {g('period')} {g('urval')}")
        out.append(row)
    return out


# ---- channels -----------------------------------------------------------

def _slices_for(cluster):
    return SLICES


def read_cli_json(cluster):
    rows = []
    for p in PERIODS:
        for s in _slices_for(cluster):
            rows += rows_from_query_json(json.loads(cluster.ctl(["query", "--format", "json", "--period", p,
                                                                 "--slice", s])))
    return rows


def read_cli_csv(cluster):
    rows = []
    pub = cluster.publication()
    for p in PERIODS:
        for s in _slices_for(cluster):
            rows += rows_from_csv(cluster.ctl(["query", "--format", "csv", "--period", p, "--slice", s])
                                  .decode("utf-8"), pub)
    return rows


def _get(cluster, path, params):
    return cluster.http_get(path + "?" + urllib.parse.urlencode(params))


def read_api(cluster, measure=None, periods=PERIODS, slices=SLICES, refused=None):
    """/api/indicators for every period kind and slice (a refused slice is
    recorded in `refused`)."""
    rows = []
    for p in periods:
        for s in slices:
            params = {"period": p, "slice": s}
            if measure:
                params["measure"] = measure
            status, body = _get(cluster, "/api/indicators", params)
            if status != 200:
                if refused is not None:
                    refused.add((s, status))
                continue
            rows += rows_from_query_json(json.loads(body))
    return rows


def read_export_json(cluster, measure=None, periods=PERIODS):
    rows = []
    for p in periods:
        params = {"period": p}
        if measure:
            params["measure"] = measure
        status, body = _get(cluster, "/export.json", params)
        if status != 200:
            raise RuntimeError(f"/export.json {params}: {status} {body[:200]!r}")
        rows += rows_from_query_json(json.loads(body))
    return rows


def read_export_csv(cluster):
    rows = []
    pub = cluster.publication()
    for p in PERIODS:
        status, body = _get(cluster, "/export.csv", {"period": p})
        if status != 200:
            raise RuntimeError(f"/export.csv period={p}: {status}")
        rows += rows_from_csv(body.decode("utf-8"), pub)
    return rows


def read_min_units_sweep(cluster, ks, measures):
    """A client asking for its own floor: every request must be refused
    (400). Returns (rows of accepted answers, number asked, refusals, the
    statuses of accepted ones)."""
    rows, asked, refused, accepted = [], 0, 0, []
    for k in ks:
        for mid in measures:
            for path, params in (("/export.json", {"period": "month", "measure": mid, "min_units": k}),
                                 ("/api/indicators", {"period": "quarter", "measure": mid, "min_units": k,
                                                      "slice": "gender=woman"}),
                                 ("/export.csv", {"period": "year", "min_units": k})):
                asked += 1
                status, body = _get(cluster, path, params)
                if status == 400:
                    refused += 1
                    continue
                accepted.append((path, k, status))
                if status == 200 and path != "/export.csv":
                    rows += rows_from_query_json(json.loads(body))
    # finsamctl has no --min-units any more: it must be a usage error.
    for flag in ("--min-units", "-k"):
        asked += 1
        r = cluster.run([cluster.bin("finsamctl"), "-d", cluster.data, "query", "--format", "json", flag, "3"],
                        check=False)
        if r.returncode != 0:
            refused += 1
        else:
            accepted.append((f"finsamctl query {flag} 3", 3, 0))
            rows += rows_from_query_json(json.loads(r.stdout))
    return rows, asked, refused, accepted


# ---- aggregate stream (finsamctl tail --format json) ---------------------

def rows_from_cell_updates(lines, upto_seq=None):
    """The latest CellUpdate per row from `finsamctl tail --format json`
    lines ({"topic", "seq", "cell": {...}}), optionally only those with
    seq <= upto_seq. Rows are förbund, län and nation rows (`level`; the
    name is in `forbund`); `removed` drops a row."""
    latest = {}
    for ln in lines:
        cell = ln.get("cell")
        if not cell or (upto_seq is not None and ln["seq"] > upto_seq):
            continue
        if not ln.get("topic", "").startswith("agg."):
            raise FormatError(f"an aggregates-only key received {ln.get('topic')!r}")
        key = (cell["measure"], cell.get("level", "forbund"), cell["forbund"], cell["period"], cell["slice"])
        prev = latest.get(key)
        if prev is None or ln["seq"] >= prev[0]:
            latest[key] = (ln["seq"], cell)
    out = []
    for _, (seq, c) in latest.items():
        if c.get("removed"):
            continue
        out.append(row_from_cell(c, seq))
    return out


def row_from_cell(c, seq=None):
    row = _new_row(c["measure"], c.get("level", "forbund"), c["forbund"], c["period"], c["slice"],
                   (seq, None), bool(c.get("protected")))
    if c.get("suppressed"):
        row["hidden"] = True
        leaked = [k for k in ("n", "units", "sum", "hits", "hist", "sumsq") if c.get(k)]
        leaked += [k for k in ("median", "q1", "q3") if k in c]
        if leaked:
            raise FormatError(f"suppressed stream row carries {leaked}: {c}")
        return row
    # A field the row does not carry is not published (a withheld row has
    # n and units only; a share measure no sum or bins): never read it as 0.
    for key in ("n", "units", "sum", "hits"):
        if key in c:
            row[key] = _exact(int(c[key]))
    hist = c.get("hist")
    row["hist"] = tuple(int(x) for x in hist) if hist else None
    if row["protected"] and row["hist"] is not None:
        raise FormatError(f"a protected stream row carries histogram bins (none since issue 12): {c}")
    row["quantiles"] = _quantiles(c.get("median"), c.get("q1"), c.get("q3"), None, row["protected"],
                                  f"{c['measure']} {c['forbund']} {c['period']} {c['slice']}")
    return row


def read_stream(tail, upto_seq=None):
    return rows_from_cell_updates(tail.lines(), upto_seq)


def read_snapshot(cluster, timeout=60):
    """`finsamctl tail agg. --from 1`: the current publication through the
    replay endpoint, then idle exit."""
    r = cluster.run(cluster.tail_cmd("agg.", ["--from", "1", "--idle-exit-ms", "800"]), timeout=timeout)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return rows_from_cell_updates(lines), lines


def protection(cluster):
    """The published protection: GET /api/protection, which must equal
    `finsamctl protection` (both document the same table)."""
    status, body = cluster.http_get("/api/protection")
    if status != 200:
        raise FormatError(f"/api/protection: {status}")
    doc = json.loads(body)
    ctl = json.loads(cluster.ctl(["protection"]))
    if ctl != doc:
        raise FormatError(f"/api/protection {doc} differs from finsamctl protection {ctl}")
    for key in ("method", "min_count", "max_deviation", "variance", "table"):
        if key not in doc:
            raise FormatError(f"/api/protection without {key!r}")
    return doc


def exact_cells(cluster, measures):
    """The operator's exact view (`finsamctl query --exact`), förbund rows
    only: {(measure, förbund, period, slice): (n, units)}. Used only to
    cross-check the suite's own ground truth, never as an attack channel."""
    out = {}
    for p in PERIODS:
        for s in SLICES:
            doc = json.loads(cluster.ctl(["query", "--format", "json", "--exact", "--period", p, "--slice", s]))
            for m in doc.get("measures", []):
                if m["id"] not in measures:
                    continue
                for r in m["rows"]:
                    if r["level"] == "forbund" and r.get("n"):
                        out[(m["id"], r["name"], r["period"], r["slice"])] = (r["n"], r.get("units"))
    return out
