"""Readers of every published channel, one small function each.

Each reader returns a list of *rows* in one neutral shape, so that a change
of output format touches one function here and nothing else:

    {"measure": "i1_behov", "level": "forbund"|"lan"|"nation", "name": "NV",
     "period": "2026-Q1", "slice": "gender=woman",
     "hidden": bool,            # shown without values (suppressed/withheld)
     "units_text": "<5" | "suppressed" | None,   # what a hidden row says
     "k": 5,                    # the min_units the answer was computed with
     # published numbers as closed intervals (lo, hi) — exact values have
     # lo == hi, rounded ones the rounding interval; None = not published:
     "n", "units", "sum", "hits", "mean", "share", "median": (lo, hi) | None,
     "share_withheld": bool}    # a share shown as null / empty

Format facts each reader depends on are listed in docs/security-attacks.md
("What the readers depend on").
"""
import csv
import io
import json
import urllib.parse

SLICES = ["all", "mode=project", "mode=integrated", "agency=af", "agency=fk", "agency=region",
          "agency=municipality", "agency=forbund", "agency=other", "gender=woman", "gender=man",
          "gender=other", "age=16-29", "age=30-49", "age=50-64", "age=65+"]
PERIODS = ["year", "quarter", "month"]

MEAN_KEYS = ("mean", "mean_change", "mean_days")
SHARE_KEYS = ("share", "share_top", "share_improved", "share_within_30_days")
MEDIAN_KEYS = ("median", "median_days")
EPS = 1e-9


def _exact(v):
    return (v, v)


def _real(v):
    """A JSON real printed by jansson (%.17g): exact up to double rounding."""
    tol = EPS * max(1.0, abs(v))
    return (v - tol, v + tol)


def _new_row(measure, level, name, period, slc, k):
    return {"measure": measure, "level": level, "name": name, "period": period, "slice": slc,
            "hidden": False, "units_text": None, "k": k, "n": None, "units": None, "sum": None,
            "hits": None, "mean": None, "share": None, "median": None, "share_withheld": False}


# ---- the query JSON shape (CLI --format json, /api/indicators, /export.json)

def rows_from_query_json(doc):
    """Rows of `finsamctl query --format json`, /api/indicators and
    /export.json (same shape; the export has every slice)."""
    out = []
    for m in doc.get("measures", []):
        k = m.get("min_units", doc.get("min_units"))
        for r in m.get("rows", []):
            row = _new_row(m["id"], r["level"], r["name"], r["period"], r["slice"], k)
            if r.get("suppressed"):
                row["hidden"] = True
                u = r.get("units")
                row["units_text"] = u if isinstance(u, str) else "suppressed"
                out.append(row)
                continue
            if isinstance(r.get("n"), int):
                row["n"] = _exact(r["n"])
            if isinstance(r.get("units"), int):
                row["units"] = _exact(r["units"])
            if isinstance(r.get("sum"), int):
                row["sum"] = _exact(r["sum"])
            for key in MEAN_KEYS:
                if isinstance(r.get(key), (int, float)):
                    row["mean"] = _real(float(r[key]))
            for key in SHARE_KEYS:
                if key in r:
                    if r[key] is None:
                        row["share_withheld"] = True
                    else:
                        row["share"] = _real(float(r[key]))
            for key in MEDIAN_KEYS:
                if isinstance(r.get(key), (int, float)):
                    row["median"] = _real(float(r[key]))
            out.append(row)
    return out


# ---- the Swedish-Excel CSV (finsamctl query/export --format csv, /export.csv)

def _sv_number(text):
    return float(text.replace(",", ".")) if text != "" else None


def _rounded(text, decimals, scale=1.0):
    v = _sv_number(text)
    if v is None:
        return None
    half = 0.5 * 10 ** (-decimals) + EPS
    return ((v - half) / scale, (v + half) / scale)


def rows_from_csv(text, k):
    """CSV: UTF-8 BOM, `;`, decimal comma, CRLF; mean 2 decimals, share in
    percent 1 decimal, median 1 decimal, sum and counts integers; a hidden
    row has undertryckt = ja and enheter = "<k" (or "suppressed")."""
    if text.startswith("\ufeff"):
        text = text[1:]
    rdr = csv.reader(io.StringIO(text, newline=""), delimiter=";", quotechar='"')
    header = next(rdr)
    col = {name: i for i, name in enumerate(header)}
    out = []
    for rec in rdr:
        if not rec:
            continue
        g = lambda name: rec[col[name]]
        name = g("namn")
        row = _new_row(g("mått"), g("nivå"), name, g("period"), g("urval"), k)
        if g("undertryckt") == "ja":
            row["hidden"] = True
            row["units_text"] = g("enheter")
            out.append(row)
            continue
        if g("n") != "":
            row["n"] = _exact(int(g("n")))
        if g("enheter") != "":
            row["units"] = _exact(int(g("enheter")))
        if g("summa") != "":
            row["sum"] = _exact(int(g("summa")))
        row["mean"] = _rounded(g("medelvärde"), 2)
        share = g("andel (%)")
        if share == "" and row["n"] and row["n"][0] > 0 and g("aggregat") != "sum":
            row["share_withheld"] = True
        row["share"] = _rounded(share, 1, 100.0)
        row["median"] = _rounded(g("median"), 1)
        out.append(row)
    return out


# ---- channels -----------------------------------------------------------

def read_cli_json(cluster, k=None):
    rows = []
    for p in PERIODS:
        for s in SLICES:
            args = ["query", "--format", "json", "--period", p, "--slice", s]
            if k:
                args += ["--min-units", str(k)]
            rows += rows_from_query_json(json.loads(cluster.ctl(args)))
    return rows


def read_cli_csv(cluster, k=None):
    rows = []
    for p in PERIODS:
        for s in SLICES:
            args = ["query", "--format", "csv", "--period", p, "--slice", s]
            if k:
                args += ["--min-units", str(k)]
            rows += rows_from_csv(cluster.ctl(args).decode("utf-8"), k or 5)
    return rows


def _api_doc(cluster, path, params):
    status, body = cluster.http_get(path + "?" + urllib.parse.urlencode(params))
    return status, body


def read_api(cluster, min_units=None, measure=None, periods=PERIODS, slices=SLICES, refused=None):
    """/api/indicators for every period kind and slice the API accepts
    (a slice it refuses is recorded in `refused`)."""
    rows = []
    for p in periods:
        for s in slices:
            params = {"period": p, "slice": s}
            if min_units:
                params["min_units"] = str(min_units)
            if measure:
                params["measure"] = measure
            status, body = _api_doc(cluster, "/api/indicators", params)
            if status != 200:
                if refused is not None:
                    refused.add((s, status))
                continue
            rows += rows_from_query_json(json.loads(body))
    return rows


def read_export_json(cluster, min_units=None, measure=None, periods=PERIODS):
    rows = []
    for p in periods:
        params = {"period": p}
        if min_units:
            params["min_units"] = str(min_units)
        if measure:
            params["measure"] = measure
        status, body = _api_doc(cluster, "/export.json", params)
        if status != 200:
            raise RuntimeError(f"/export.json {params}: {status} {body[:200]!r}")
        rows += rows_from_query_json(json.loads(body))
    return rows


def read_export_csv(cluster, min_units=None):
    rows = []
    for p in PERIODS:
        params = {"period": p}
        if min_units:
            params["min_units"] = str(min_units)
        status, body = _api_doc(cluster, "/export.csv", params)
        if status != 200:
            raise RuntimeError(f"/export.csv {params}: {status}")
        rows += rows_from_csv(body.decode("utf-8"), min_units or 5)
    return rows


# ---- aggregate stream (finsamctl tail --format json) ---------------------

def rows_from_cell_updates(lines, upto_seq=None):
    """The latest CellUpdate per cell from `finsamctl tail --format json`
    lines ({"topic", "seq", "cell": {...}}), optionally only those with
    seq <= upto_seq. Stream cells are förbund cells (no län/nation)."""
    latest = {}
    for ln in lines:
        cell = ln.get("cell")
        if not cell or (upto_seq is not None and ln["seq"] > upto_seq):
            continue
        key = (cell["measure"], cell["forbund"], cell["period"], cell["slice"])
        prev = latest.get(key)
        if prev is None or ln["seq"] >= prev[0]:
            latest[key] = (ln["seq"], cell)
    out = []
    for (measure, f, period, slc), (_, c) in latest.items():
        if c.get("removed"):
            continue
        out.append(row_from_cell(c))
    return out


def row_from_cell(c):
    row = _new_row(c["measure"], "forbund", c["forbund"], c["period"], c["slice"], c.get("min_units"))
    if c.get("suppressed"):
        row["hidden"] = True
        # docs/streams.md: suppressed = fewer than min_units units.
        row["units_text"] = f"<{c.get('min_units') or 5}"
        return row
    for key in ("n", "units", "sum", "hits"):
        row[key] = _exact(int(c.get(key, 0)))
    return row


def read_stream(tail, upto_seq=None):
    return rows_from_cell_updates(tail.lines(), upto_seq)


def read_snapshot(cluster, timeout=60):
    """`finsamctl tail agg. --from 1`: a snapshot of every cell through the
    replay endpoint, then idle exit."""
    r = cluster.run(cluster.tail_cmd("agg.", ["--from", "1", "--idle-exit-ms", "800"]), timeout=timeout)
    lines = [json.loads(l) for l in r.stdout.decode().splitlines() if l.strip()]
    return rows_from_cell_updates(lines), lines


def disclosure_metadata(cluster):
    """Perturbation parameters, if the collector publishes any (cell-key
    method: D, V, the table). Looked for in /api/indicators' top level and
    /api/status; None today."""
    for path in ("/api/indicators?period=year&measure=1", "/api/status"):
        status, body = cluster.http_get(path)
        if status != 200:
            continue
        doc = json.loads(body)
        for key in ("perturbation", "disclosure", "cell_key", "cellkey"):
            if isinstance(doc.get(key), dict):
                return doc[key]
    return None
