#!/usr/bin/python3
"""dashboard_browser_test.py: the dashboard in headless Chromium against real
collectors, checked through the DOM.

Two collectors (tests/web/network.py): the demo network of 83 förbund over
the 21 län, and a tiny one of three förbund, one of them so small that every
cell of its is suppressed. For each, at 1400 px and at 375 px (a phone), the
reader's view, the comparison of all förbund and the project/integrated/year
view are loaded and checked:
  - no two text labels of a chart (ticks, names, values, markers) and no two
    legend entries overlap, and none sticks out of its card or the window;
  - at 375 px the page does not scroll sideways;
  - confidence intervals are drawn (bands, whiskers);
  - a chart that has the running period (in Europe/Stockholm) marks it;
  - no text shows a measure code (i1_behov) or a fragment of an agent key;
  - every number shown equals the API's value for its cell: the test fetches
    the same URL the card did and formats the value as sv-SE would;
  - the all-suppressed förbund gets words, naming the minimum count.
Screenshots go into --out (the test's build directory). On the 83-förbund
set it prints the page's transferred size and time to the first chart.

With --screenshots DIR it only writes the screenshots of docs/dashboard.md
into DIR (cmake --build BUILD --target dashboard-screenshots).

Needs python3-selenium and chromium-driver (cmake/deps-test.txt); without
them it fails: it does not skip.
"""
import argparse
import base64
import json
import os
import re
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import network  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
DRIVER = "/usr/bin/chromedriver"
EVENTS = 300  # per förbund: small förbund, many suppressed cells (docs/dashboard.md, "Tests")

failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, flush=True)
    return cond


def sv(v, digits, signed=False):
    """v as Intl.NumberFormat('sv-SE') prints it: ICU rounds the shortest
    decimal that reads back as the double (3.425, not 3.42499…) half away
    from zero; U+00A0 between thousands, U+2212 for minus, a plus when
    signed."""
    x = Decimal(repr(float(v)))
    q = x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    neg = x < 0 and not (signed and q == 0)
    a = abs(q)
    whole, _, frac = ("%.*f" % (digits, a)).partition(".")
    groups = []
    while len(whole) > 3:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    groups.insert(0, whole)
    s = "\u00a0".join(groups) + ("," + frac if digits else "")
    if neg:
        return "\u2212" + s
    if signed and q > 0:
        return "+" + s
    return s


def running_keys():
    now = datetime.now(ZoneInfo("Europe/Stockholm"))
    return {str(now.year), "%d-Q%d" % (now.year, (now.month + 2) // 3), "%d-%02d" % (now.year, now.month)}


def driver(width):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.options import Options
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        sys.exit("dashboard_browser_test: FAIL: python3-selenium is not installed (cmake/debian-deps.sh test)")
    for f in (CHROMIUM, DRIVER):
        if not os.access(f, os.X_OK):
            sys.exit("dashboard_browser_test: FAIL: %s missing (apt-get install chromium chromium-driver)" % f)
    o = Options()
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars",
              "--window-size=%d,900" % width, "--lang=sv-SE"):
        o.add_argument(a)
    o.binary_location = CHROMIUM
    d = webdriver.Chrome(service=Service(DRIVER), options=o)
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                      {"width": width, "height": 900, "deviceScaleFactor": 1, "mobile": width < 600})
    d.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "UTC"})  # times must say Stockholm anyway
    d.set_page_load_timeout(60)
    return d


def wait_for(d, script, timeout=120, step=0.25, scroll=False):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if scroll:
            d.execute_script("window.scrollTo(0, document.documentElement.scrollHeight)")
        if d.execute_script(script):
            d.execute_script("window.scrollTo(0, 0)")
            time.sleep(0.4)  # a resize or scroll may redraw once
            return True
        time.sleep(step)
    return False


def screenshot(d, path):
    shot = d.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot["data"]))


# Runs in the page: every problem with text that overlaps or overflows.
LAYOUT_JS = r"""
const out = [], vw = document.documentElement.clientWidth;
const vis = (e) => { const r = e.getBoundingClientRect(); return r.width > 0.5 && r.height > 0.5 && e.textContent.trim() !== ''; };
const hit = (a, b) => Math.min(a.right, b.right) - Math.max(a.left, b.left) > 0.5 &&
                      Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top) > 0.5;
const desc = (e) => `${e.closest('[data-measure]') ? e.closest('[data-measure]').dataset.measure : ''} "${e.textContent.trim()}"`;
function group(els, where) {
  els = els.filter(vis);
  const rs = els.map((e) => e.getBoundingClientRect());
  for (let i = 0; i < els.length; i++) {
    for (let j = i + 1; j < els.length; j++) if (hit(rs[i], rs[j])) out.push(`${where}: ${desc(els[i])} overlaps ${desc(els[j])}`);
    const card = els[i].closest('.card');
    const c = card ? card.getBoundingClientRect() : {left: 0, right: vw};
    if (rs[i].left < Math.max(0, c.left) - 1 || rs[i].right > Math.min(vw, c.right) + 1)
      out.push(`${where}: ${desc(els[i])} overflows (${rs[i].left.toFixed(0)}..${rs[i].right.toFixed(0)} in ${c.left.toFixed(0)}..${c.right.toFixed(0)}, window ${vw})`);
  }
}
for (const s of document.querySelectorAll('main svg')) group([...s.querySelectorAll('text')], 'chart');
for (const a of document.querySelectorAll('main .axis')) {
  const labels = [...a.querySelectorAll('.tick text')].filter(vis).map((e) => e.textContent);
  if (new Set(labels).size !== labels.length) out.push(`axis: repeated tick labels ${labels.join(' | ')}`);
}
for (const l of document.querySelectorAll('main .legend')) group([...l.querySelectorAll('li')], 'legend');
return out;
"""

# Runs in the page: every number element naming its API cell.
NUMBERS_JS = r"""
return [...document.querySelectorAll('main [data-field]')].filter((e) => e.getClientRects().length).map((e) => {
  const src = e.closest('[data-src]');
  return {src: src ? src.dataset.src : null, level: e.dataset.level, name: e.dataset.name, period: e.dataset.period,
          field: e.dataset.field, idx: e.dataset.idx, pct: e.dataset.pct === '1', digits: Number(e.dataset.digits),
          signed: e.dataset.signed === '1', text: e.textContent};
});
"""


class Session:
    def __init__(self, net, out, tag):
        self.net, self.out, self.tag = net, out, tag
        self.api_cache = {}
        cat = net.get("/api/catalogue")
        self.codes = [m["id"] for i in cat["indicators"] for m in i["measures"]]
        st = net.get("/api/status")
        self.keys = [a["agent"][:10] for a in st["agents"]] + [a["fingerprint"] for a in st["agents"]]
        self.min_units = net.get("/api/protection")["min_count"]

    def api(self, path):
        if path not in self.api_cache:
            self.api_cache[path] = self.net.get(path)
        return self.api_cache[path]

    def load(self, d, query, ready, scroll=False):
        d.get(self.net.base + "/?" + query)
        ok = wait_for(d, ready, scroll=scroll)
        check(ok, "%s: %s: the page did not finish loading" % (self.tag, query))
        errors = d.execute_script("return document.getElementById('error').hidden ? '' : "
                                  "document.getElementById('error').textContent")
        check(not errors, "%s: %s: the page shows an error: %s" % (self.tag, query, errors))
        # A CSP violation or a script error is logged as SEVERE (the
        # browser's own favicon request is the one 404 allowed).
        for e in d.get_log("browser"):
            check(e["level"] != "SEVERE" or "favicon.ico" in e["message"],
                  "%s: %s: browser console: %s" % (self.tag, query, e["message"]))
        foot = d.execute_script("return document.querySelector('footer').textContent")
        check(re.search(r"\b(CET|CEST)\b", foot), "%s: %s: times not in Europe/Stockholm: %r" % (self.tag, query, foot))
        return ok

    def common(self, d, what, width, lang="sv"):
        for p in d.execute_script(LAYOUT_JS):
            check(False, "%s %s %dpx: %s" % (self.tag, what, width, p))
        sw, cw = d.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        check(sw <= cw, "%s %s %dpx: the page scrolls sideways (%d > %d)" % (self.tag, what, width, sw, cw))
        text = d.execute_script(
            "return document.body.innerText + ' ' + [...document.querySelectorAll('[aria-label],[title]')]"
            ".map((e) => (e.getAttribute('aria-label') || '') + ' ' + (e.getAttribute('title') || '')).join(' ')")
        for code in self.codes:
            check(not re.search(r"\b%s\b" % re.escape(code), text), "%s %s: shows the measure code %s" % (self.tag, what, code))
        for k in self.keys:
            check(k not in text, "%s %s: shows a key fragment %s" % (self.tag, what, k))
        notice = d.execute_script("return document.getElementById('notice').textContent")
        phrase = ("färre än %d deltagare" if lang == "sv" else "fewer than %d participants") % self.min_units
        check(phrase in notice, "%s: the notice names no minimum count: %r" % (self.tag, notice))
        return self.numbers(d, what) if lang == "sv" else 0

    def numbers(self, d, what):
        shown = d.execute_script(NUMBERS_JS)
        print("%s %s: %d numbers compared with the API" % (self.tag, what, len(shown)), flush=True)
        for n in shown:
            if not check(n["src"], "%s %s: a number without its API source: %s" % (self.tag, what, n)):
                continue
            answer = self.api(n["src"])
            row = next((r for m in answer["measures"] for r in m["rows"]
                        if r["level"] == n["level"] and r["name"] == n["name"] and r["period"] == n["period"]), None)
            if not check(row is not None, "%s %s: no API row for %s" % (self.tag, what, n)):
                continue
            v = row.get(n["field"])
            if n["idx"] is not None:
                v = v[int(n["idx"])] if isinstance(v, list) else None
            if not check(isinstance(v, (int, float)) and not row.get("suppressed"),
                         "%s %s: shows %r where the API has no number (%s)" % (self.tag, what, n["text"], n)):
                continue
            want = sv(100 * v if n["pct"] else v, n["digits"], n["signed"])
            check(n["text"] == want, "%s %s: %s %s %s %s shows %r, the API's %r is %r" % (
                self.tag, what, n["level"], n["name"], n["period"], n["field"], n["text"], v, want))
        return len(shown)

    def running(self, d, what):
        """Every chart whose API rows hold the running period marks it;
        returns how many did."""
        keys = running_keys()
        charts = d.execute_script(
            "return [...document.querySelectorAll('.card[data-src]')].filter((c) => c.querySelector('figure.chart svg'))"
            ".map((c) => ({src: c.dataset.src, marked: [...c.querySelectorAll('.running-label')].map((x) => x.dataset.period),"
            " rect: c.querySelectorAll('rect.running').length}))")
        marked = 0
        for c in charts:
            periods = {r["period"] for m in self.api(c["src"])["measures"] for r in m["rows"]}
            for k in keys & periods:
                marked += check(k in c["marked"] and c["rect"] > 0,
                                "%s %s: %s has the running period %s unmarked" % (self.tag, what, c["src"], k))
        return marked


def reader_ready():
    return ("const c = document.querySelectorAll('#view-reader .card');"
            "return c.length > 0 && [...c].every((x) => x.dataset.loaded === 'true');")


COMPARE_READY = "return !!document.querySelector('#view-compare svg.dotplot, #view-compare .empty-note');"


def latest_complete(periods):
    done = [p for p in sorted(periods) if p not in running_keys()]
    return done[-1] if done else sorted(periods)[-1]


def run_set(net, out, tag, forbund, tiny_forbund, widths, measure_perf):
    s = Session(net, out, tag)
    ans = s.api("/api/indicators?measure=i1_behov&forbund=%s&period=quarter" % forbund)
    at = latest_complete({r["period"] for r in ans["measures"][0]["rows"]})
    figures = {}
    for width in widths:
        d = driver(width)
        try:
            q = "forbund=%s&indicator=1&period=quarter" % forbund
            t0 = time.time()
            s.load(d, q, reader_ready(), scroll=True)
            print("%s %dpx reader loaded in %.1f s" % (tag, width, time.time() - t0), flush=True)
            if measure_perf and width >= 1000:
                figures = d.execute_script(
                    "const nav = performance.getEntriesByType('navigation')[0];"
                    "const res = performance.getEntriesByType('resource');"
                    "const mark = performance.getEntriesByName('finsam-first-chart')[0];"
                    "const size = (e) => e.transferSize || e.encodedBodySize || 0;"
                    "return {page: size(nav), resources: res.reduce((a, e) => a + size(e), 0),"
                    " script: res.filter((e) => e.name.endsWith('/app.js')).reduce((a, e) => a + size(e), 0),"
                    " requests: res.length + 1, first_chart_ms: mark ? mark.startTime : null,"
                    " dom_ms: nav.domContentLoadedEventEnd};")
            screenshot(d, os.path.join(out, "%s-reader-%d.png" % (tag, width)))
            check(s.common(d, "reader", width) > 0, "%s reader %dpx: no number checked" % (tag, width))
            check(d.execute_script("return document.querySelectorAll('#view-reader .ci').length") > 0,
                  "%s reader %dpx: no confidence interval drawn" % (tag, width))
            check(s.running(d, "reader %dpx" % width) > 0, "%s reader %dpx: no chart has the running period" % (tag, width))
            check(d.execute_script("return document.querySelectorAll('#view-reader path.line.forbund').length") > 0,
                  "%s reader %dpx: no line for the förbund" % (tag, width))
            if measure_perf and width >= 1000:
                # The other förbund on demand: thin lines behind the three.
                d.execute_script("document.querySelector('#view-reader .others-toggle').click()")
                others = wait_for(d, "return document.querySelectorAll('#view-reader path.line.other').length > 40")
                check(others, "%s: 'show the other förbund' draws no other förbund" % tag)
                for p in d.execute_script(LAYOUT_JS):
                    check(False, "%s reader with the other förbund: %s" % (tag, p))
            # Keyboard: a chart point takes the focus and shows its tooltip.
            tip = d.execute_script(
                "const p = document.querySelector('#view-reader circle.dot[tabindex=\"0\"]');"
                "if (!p) return null; p.focus();"
                "const t = document.getElementById('tip'); return t.hidden ? '' : t.textContent;")
            check(tip and re.search(r"\d,\d", tip), "%s %dpx: a focused chart point shows no tooltip: %r" % (tag, width, tip))


            q = "forbund=%s&view=compare&measure=i1_behov&at=%s&period=quarter" % (forbund, at)
            s.load(d, q, COMPARE_READY)
            screenshot(d, os.path.join(out, "%s-compare-%d.png" % (tag, width)))
            numbers = s.common(d, "compare", width)
            rows = d.execute_script("return document.querySelectorAll('#view-compare .dotplot .row').length")
            shown = [r for r in s.api("/api/indicators?measure=i1_behov&period=%s" % urllib.parse.quote(at))
                     ["measures"][0]["rows"] if r["level"] == "forbund" and not r["suppressed"] and "mean" in r]
            check(rows == len(shown), "%s compare %dpx: %d rows drawn, the API shows %d förbund" % (tag, width, rows, len(shown)))
            if shown:
                check(numbers > 0, "%s compare %dpx: no number checked" % (tag, width))
                check(d.execute_script("return document.querySelectorAll('#view-compare .whisker').length") > 0,
                      "%s compare %dpx: no confidence interval drawn" % (tag, width))
            else:  # a small network may have every förbund of a period suppressed: then words say why
                note = d.execute_script("const e = document.querySelector('#view-compare .empty-note'); return e ? e.textContent : ''")
                check(("färre än %d deltagare" % s.min_units) in note, "%s compare %dpx: no förbund and no words: %r" % (tag, width, note))
            check(tag != "net83" or len(shown) > 40, "%s compare: only %d förbund shown" % (tag, len(shown)))

            s.load(d, "forbund=%s&view=modes&indicator=1&period=quarter" % forbund,
                   "const c = document.querySelectorAll('#view-modes .card');"
                   "return c.length > 0 && [...c].every((x) => x.dataset.loaded === 'true');", scroll=True)
            s.common(d, "modes", width)

            s.load(d, "view=status", "return !!document.querySelector('#view-status table')")
            screenshot(d, os.path.join(out, "%s-status-%d.png" % (tag, width)))
            s.common(d, "status", width)
            names = d.execute_script("return [...document.querySelectorAll('.status-agents tbody th')].map((e) => e.textContent)")
            check(names and all(n.startswith("agent Samordningsförbundet") for n in names),
                  "%s status: agents not named by their certificates: %s" % (tag, names[:3]))

            if tiny_forbund:
                s.load(d, "forbund=%s&indicator=1&period=quarter&lang=en" % forbund, reader_ready(), scroll=True)
                s.common(d, "reader in English", width, lang="en")
                s.running(d, "reader in English")
                marks = d.execute_script("return [...document.querySelectorAll('.running-label')].map((e) => e.textContent)")
                check(all(m == "in progress" for m in marks), "%s English: running marked %s" % (tag, marks[:2]))
                words = d.execute_script("return document.querySelector('main').innerText")
                check("Stödet anpassat" not in words and "Support adapted to needs" in words,
                      "%s English: the measures are not labelled in English" % tag)

                s.load(d, "forbund=%s&indicator=1&period=quarter" % tiny_forbund, reader_ready(), scroll=True)
                screenshot(d, os.path.join(out, "%s-suppressed-%d.png" % (tag, width)))
                s.common(d, "suppressed förbund", width)
                notes = d.execute_script("return [...document.querySelectorAll('#view-reader .empty-note')].map((e) => e.textContent)")
                check(len(notes) >= 1 and all(("färre än %d deltagare" % s.min_units) in n for n in notes),
                      "%s: the all-suppressed förbund has no words for why: %s" % (tag, notes))
        finally:
            d.quit()
    return figures


def docs_screenshots(bindir, root, dest):
    net = network.Network(bindir, root, 83, EVENTS).start()
    try:
        s = Session(net, dest, "docs")
        ans = s.api("/api/indicators?measure=i1_behov&forbund=F01&period=quarter")
        at = latest_complete({r["period"] for r in ans["measures"][0]["rows"]})
        for name, width, q, ready, scroll in (
                ("dashboard-reader.png", 1400, "forbund=F01&indicator=1&period=quarter", reader_ready(), True),
                ("dashboard-compare.png", 1400, "forbund=F01&view=compare&measure=i1_behov&at=%s&period=quarter" % at,
                 COMPARE_READY, False),
                ("dashboard-phone.png", 375, "forbund=F01&indicator=1&period=quarter", reader_ready(), True)):
            d = driver(width)
            try:
                s.load(d, q, ready, scroll=scroll)
                screenshot(d, os.path.join(dest, name))
                print("wrote", os.path.join(dest, name))
            finally:
                d.quit()
    finally:
        net.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--out", required=True, help="screenshots and collector data (kept)")
    ap.add_argument("--screenshots", help="only write docs/dashboard.md's screenshots into this directory")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    if a.screenshots:
        docs_screenshots(a.bin, tempfile.mkdtemp(dir=a.out), a.screenshots)
        return 0
    t0 = time.time()
    # The tiny collector serves the page from the source tree
    # (--http-dashboard-dir: assets.c bundles vendor/ and app.js on each
    # request), the large one the files embedded at build time; both
    # bundles must be the same bytes.
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "web", "dashboard")
    tiny = network.Network(a.bin, tempfile.mkdtemp(prefix="tiny-", dir=a.out), 3, 400, tiny=1,
                           dashboard_dir=os.path.normpath(src)).start()
    try:
        run_set(tiny, a.out, "tiny", "F01", "F03", (1400, 375), False)
        dev_js = tiny.get_bytes("/app.js")
    finally:
        tiny.stop()
    big = network.Network(a.bin, tempfile.mkdtemp(prefix="net83-", dir=a.out), 83, EVENTS).start()
    print("83 förbund loaded in %.1f s" % (time.time() - t0), flush=True)
    try:
        check(big.get_bytes("/app.js") == dev_js,
              "/app.js embedded differs from the source tree's bundle (rebuild after changing web/dashboard/)")
        fig = run_set(big, a.out, "net83", "F01", None, (1400, 375), True)
    finally:
        big.stop()
    if fig:
        print("83 förbund, 1400 px reader (indicator 1, 4 charts): transferred %d bytes in %d requests "
              "(page %d, app.js %d), first chart at %.0f ms, DOMContentLoaded at %.0f ms" % (
                  fig["page"] + fig["resources"], fig["requests"], fig["page"], fig["script"],
                  fig["first_chart_ms"] or -1, fig["dom_ms"]), flush=True)
    print("screenshots in", a.out)
    print("dashboard_browser_test: %.0f s" % (time.time() - t0))
    if failures:
        print("%d failed" % len(failures))
        return 1
    print("0 failed: all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
