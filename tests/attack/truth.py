"""Ground truth: the exact cell values computed from the generated rows.

Written from the documented semantics (docs/architecture.md "Aggregation",
docs/import-jsonl.md, proto/catalogue.json), independently of the C code:

- a cell is (measure, förbund, period, slice); periods are the event's year,
  quarter and month; slices are `all`, `mode=..`, and for participant
  measures `gender=..` and `age=..` (age band from the event's year minus
  the birth year), for staff measures `agency=..`;
- n = observations with a value (don't-know answers are left out), sum of
  values, hits = numerator of the measure's share, units = distinct people
  (participants) or responses (staff);
- paired measures (entry->exit, ongoing->exit, exit->follow-up) are
  episodes: a person's observations of the measure in order of month, then
  of delivery; each earlier-side observation starts an episode, whose pair
  is it and the latest later-side observation before the next one; the pair
  counts in the month, mode, gender and age band of its later observation;
  n = pairs, units = distinct people;
- län and nation cells here are sums of all their förbund cells (units too:
  a person belongs to one förbund); the published län and Riket rows sum
  only the *published* förbund rows, which model.py computes from the atoms
  for the rows that exist (a never-published förbund cell is in none);
- atoms also count answers per category (Measure.categories(): a scale
  value, or a day bucket), from which every cell's histogram follows.

Organisation reports are not personal data (never suppressed) and are left
out of the attack.
"""
import collections
import json


def load_catalogue(path):
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


class Measure:
    def __init__(self, cat, ind, m):
        self.id = m["id"]
        self.indicator = ind["id"]
        self.perspective = ind["perspective"]
        self.aggregate = m["aggregate"]
        src = m["source"]
        self.item = src.get("item")
        self.instrument = src.get("instrument")
        self.status = src.get("status")
        self.phase = src.get("phase")
        self.src_from, self.src_to = src.get("from"), src.get("to")
        self.paired = self.aggregate in ("paired_change", "share_sustained")
        self.scale = None
        if self.item:
            for code, ins in cat["instruments"].items():
                it = ins["items"].get(self.item)
                if it and (not self.instrument or self.instrument == code):
                    self.scale = cat["scales"][it["scale"]]
        kinds = set()
        for code in (self.instrument, self.src_from, self.src_to):
            if code and code in cat["instruments"]:
                kinds.add(cat["instruments"][code]["kind"])
        if self.item and not self.instrument and not self.paired:
            kinds |= {ins["kind"] for ins in cat["instruments"].values() if self.item in ins["items"]}
        if self.status:
            kinds.add("status")
        self.kinds = kinds
        self.organisation = kinds == {"organisation"}
        self.staff = kinds == {"staff_survey"}

    # The slice dimensions this measure's cells are split by.
    @property
    def dims(self):
        if self.organisation:
            return ()
        if self.staff:
            return ("mode", "agency")
        return ("mode", "gender", "age")

    def value_range(self):
        """(lowest, highest) value of one observation."""
        if self.aggregate == "paired_change":
            if self.status == "step":
                return (-5, 5)
            return (self.scale["min"] - self.scale["max"], self.scale["max"] - self.scale["min"])
        if self.aggregate == "share_sustained":
            return (0, 1)
        if self.aggregate == "median_days":
            return (0, 3650)
        if self.status in ("in_work_or_studies", "assessed_with_participant"):
            return (1, 2)
        if self.scale:
            return (self.scale["min"], self.scale["max"])
        return (0, 100000)

    def width(self):
        """The width of one answer: the unit of magnitude noise
        (docs/security.md (a) 4): the scale's range for ordinal items, 30
        days for day counts, 2 for paired changes, 1 otherwise."""
        if self.aggregate == "ordinal" and self.scale and self.scale["max"] > self.scale["min"]:
            return self.scale["max"] - self.scale["min"]
        if self.aggregate == "median_days":
            return 30
        if self.aggregate == "paired_change":
            return 2
        return 1

    def categories(self):
        """What one observation can be, as categories (lo, hi, hit, bin):
        values lo..hi, whether it counts in the share, and the histogram bin
        it is published in (None: no histogram). Ordinal and yes/no values
        are their own bin (hist[value]); paired changes bin change + 8; day
        counts the 16 day buckets (docs/streams.md, CellUpdate.hist)."""
        if not hasattr(self, "_cats"):
            vl, vh = self.value_range()
            if self.aggregate == "median_days":
                cats, lo = [], 0
                for b, up in enumerate(DAY_UPPER):
                    hi = vh if b == len(DAY_UPPER) - 1 else up
                    cats.append((lo, hi, up <= 30, b))
                    lo = up + 1
            elif self.aggregate == "share_sustained":
                cats = [(0, 0, False, None), (1, 1, True, None)]
            elif self.aggregate == "paired_change":
                cats = [(v, v, v >= 1, min(15, max(0, v + 8))) for v in range(vl, vh + 1)]
            else:
                cats = [(v, v, bool(self.hit(v)), v if 0 <= v < 16 else None) for v in range(vl, vh + 1)]
            self._cats = cats
        return self._cats

    def model_categories(self):
        """The categories the attack model keeps per atom and cell, and the
        map from categories(): every value of a discrete scale; for day
        counts only "<= 30" and "> 30" (16 buckets per atom make the linear
        programs far too slow; the published day histograms still bound
        each cell through the bucket ranges, see model.py)."""
        cats = self.categories()
        if self.aggregate != "median_days":
            return cats, list(range(len(cats)))
        vl, vh = self.value_range()
        return [(vl, 30, True, None), (31, vh, False, None)], [0 if c[2] else 1 for c in cats]

    def category(self, value):
        for i, (lo, hi, _, _) in enumerate(self.categories()):
            if lo <= value <= hi:
                return i
        raise ValueError(f"{self.id}: value {value} outside the model's range")

    def hit(self, value):
        if self.aggregate == "share_yes":
            yes = self.scale.get("yes", 1) if self.scale else 1
            return int(value == yes)
        if self.aggregate == "median_days":
            return int(value <= 30)
        if self.aggregate == "paired_change":
            return int(value >= 1)
        if self.aggregate == "share_sustained":
            return int(value == 1)
        if self.scale and "top" in self.scale:
            lo, hi = self.scale["top"]
            return int(lo <= value <= hi)
        return 0


DAY_UPPER = (0, 7, 14, 21, 30, 45, 60, 90, 120, 180, 270, 365, 545, 730, 1095, 3650)


def measures(cat):
    out = []
    for ind in cat["indicators"]:
        for m in ind["measures"]:
            out.append(Measure(cat, ind, m))
    return out


def period_keys(year, month):
    return (f"{year}", f"{year}-Q{(month - 1) // 3 + 1}", f"{year}-{month:02d}")


def age_band(event_year, birth_year):
    age = event_year - birth_year
    return "16-29" if age < 30 else "30-49" if age < 50 else "50-64" if age < 65 else "65+"


def status_step(row):
    occ, inc = row["occupation"], row["income"]
    ext = row.get("extent_pct", 100)
    public = inc not in ("wage", "no_public_support")
    if occ in ("work", "studies"):
        if ext >= 50 and not public:
            return 5
        if occ == "work" and ext < 50:
            return 4
        return 3
    return {"subsidised_work": 3, "work_training": 2, "preparatory": 1, "job_seeking": 1}.get(occ, 0)


def status_value(field, row):
    """(has, value) of a status-derived observation."""
    if field == "step":
        return True, status_step(row)
    if field == "days_in_insats":
        return "days_in_insats" in row, row.get("days_in_insats")
    if field == "days_to_next_service":
        return "days_to_next_service" in row, row.get("days_to_next_service")
    if field == "in_work_or_studies":
        return True, 1 if row["occupation"] in ("work", "subsidised_work", "studies") else 2
    if field == "assessed_with_participant":
        has = row.get("assessed_with_participant") is not None
        return has, 1 if row.get("assessed_with_participant") else 2
    return False, None


class Truth:
    """cells[(measure, level, name, period, slice)] = {n, units, sum, hits, dk}."""

    def __init__(self, cat, rows_by_forbund):
        self.cat = cat
        self.measures = [m for m in measures(cat) if not m.organisation]
        self.by_id = {m.id: m for m in self.measures}
        self.lan = {f: v["lan"] for f, v in cat["forbund"].items()}
        acc = collections.defaultdict(lambda: {"n": 0, "sum": 0, "hits": 0, "dk": 0})
        # atoms[(measure, förbund, month, (value per dim))] = {n, sum, hits}: the
        # finest cross-classification, of which every cell is a sum.
        self.atoms = collections.defaultdict(lambda: {"n": 0, "sum": 0, "hits": 0,
                                                      "cats": collections.Counter()})
        people = collections.defaultdict(set)   # förbund-level cell -> people
        staff_units = collections.Counter()
        pairs = collections.defaultdict(list)   # (förbund, person, measure) -> [(month, order, side, slices, value)]
        self.consistency = collections.defaultdict(set)   # person -> {(gender, mode)}
        for f, rows in rows_by_forbund.items():
            for r in rows:
                self._row(f, r, acc, people, staff_units, pairs)
        for (f, person, mid), obs in pairs.items():
            m = self.by_id[mid]
            episodes = []
            for ym, _, side, slices, v in sorted(obs, key=lambda o: (o[0], o[1])):
                if side == 0:
                    episodes.append([(ym, slices, v), None])
                elif episodes:
                    episodes[-1][1] = (ym, slices, v)
            for (_, _, v0), later in episodes:
                if later is None:
                    continue
                ym1, slices1, v1 = later
                if m.aggregate == "paired_change":
                    value = v1 - v0
                else:
                    if v0 != 1:
                        continue
                    value = int(v1 == 1)
                self._add(m, f, period_keys(*ym1), slices1, value, acc, person, people, staff_units)
        cells = {}
        for key, c in acc.items():
            mid, f, p, s = key
            units = len(people[key]) if key in people else staff_units[key]
            cells[(mid, "forbund", f, p, s)] = dict(c, units=units)
        rollup = {}
        for (mid, _, f, p, s), c in cells.items():
            for lvl, name in (("lan", self.lan[f]), ("nation", "Riket")):
                d = rollup.setdefault((mid, lvl, name, p, s), {"n": 0, "sum": 0, "hits": 0, "dk": 0, "units": 0})
                for k in d:
                    d[k] += c[k]
        cells.update(rollup)
        self.cells = cells

    def _row(self, f, r, acc, people, staff_units, pairs):
        kind = r["kind"]
        if kind in ("organisation", "retraction"):
            return
        y, mo = int(r["date"][:4]), int(r["date"][5:7])
        periods = period_keys(y, mo)
        if kind == "staff_survey":
            slices = ["all", f"agency={r['agency']}", f"mode={r['mode']}"]
            for it, v in r["answers"].items():
                for m in self.measures:
                    if m.paired or m.item != it or (m.instrument and m.instrument != r["instrument"]):
                        continue
                    if m.instrument is None and "staff_survey" not in m.kinds:
                        continue
                    self._add(m, f, periods, slices, v, acc, None, people, staff_units)
            return
        person = r["personnummer"]
        self.consistency[(f, person)].add((r.get("gender"), r["mode"]))
        slices = ["all", f"mode={r['mode']}"]
        if r.get("gender"):
            slices.append(f"gender={r['gender']}")
        slices.append(f"age={age_band(y, r['birth_year'])}")
        if kind == "participant_survey":
            for it, v in r["answers"].items():
                for m in self.measures:
                    if m.item != it:
                        continue
                    if m.paired:
                        side = 0 if m.src_from == r["instrument"] else 1 if m.src_to == r["instrument"] else None
                        if side is None or v == m.scale.get("dont_know", -1):
                            continue
                        pairs[(f, person, m.id)].append(((y, mo), len(pairs[(f, person, m.id)]), side,
                                                         slices, v))
                        continue
                    if m.instrument and m.instrument != r["instrument"]:
                        continue
                    if "participant_survey" not in m.kinds:
                        continue
                    self._add(m, f, periods, slices, v, acc, person, people, staff_units)
        elif kind == "status":
            for m in self.measures:
                if not m.status:
                    continue
                has, v = status_value(m.status, r)
                if not has:
                    continue
                if m.paired:
                    side = 0 if r["phase"] == m.src_from else 1 if r["phase"] == m.src_to else None
                    if side is None:
                        continue
                    if m.status == "in_work_or_studies":
                        v = int(v == 1)
                    pairs[(f, person, m.id)].append(((y, mo), len(pairs[(f, person, m.id)]), side, slices, v))
                elif r["phase"] == m.phase:
                    self._add(m, f, periods, slices, v, acc, person, people, staff_units)

    def _add(self, m, f, periods, slices, v, acc, person, people, staff_units):
        dk = not m.paired and m.scale is not None and m.scale.get("dont_know") is not None and \
            v == m.scale["dont_know"]
        if not dk:
            attrs = dict(x.split("=", 1) for x in slices if x != "all")
            a = self.atoms[(m.id, f, periods[2], tuple(attrs.get(d) for d in m.dims))]
            a["n"] += 1
            a["sum"] += v
            a["hits"] += m.hit(v)
            a["cats"][m.category(v)] += 1
        for p in periods:
            for s in slices:
                key = (m.id, f, p, s)
                c = acc[key]
                if dk:
                    c["dk"] += 1
                    continue
                c["n"] += 1
                c["sum"] += v
                c["hits"] += m.hit(v)
                if person is None:
                    staff_units[key] += 1
                else:
                    people[key].add(person)

    def check_consistency(self):
        """The attacker model assumes a person's gender and mode never change."""
        return [p for p, s in self.consistency.items() if len(s) > 1]
