/* app.js: the finsam dashboard. Reads the collector's JSON API (the same
 * numbers as `finsamctl query`, disclosure control applied by the server)
 * and draws SVG charts with the vendored d3 modules (d3-scale, d3-axis,
 * d3-selection, d3-shape; bundled before this file, see
 * docs/dashboard.md).
 *
 * Förbund first: a reader picks a förbund (kept in the URL and the
 * browser), and every chart shows that förbund, its län and Riket; the
 * other förbund are drawn only on demand, quietly. A second view ranks all
 * förbund for one measure and period, a third shows integrated − project
 * and the change against the year before, a fourth the collectors' agents.
 *
 * Every number shown is a number the API sent, formatted for the reader
 * (Intl, sv-SE by default); the page never derives a value the server
 * withheld: a suppressed row has no numbers, and a gap is drawn instead.
 * Every number element carries data-level/-name/-period/-field naming the
 * API cell it shows (the browser test compares them with the API). Text
 * from the API goes into the page through textContent, never as HTML.
 * The page asks for new figures only when the collector has published new
 * ones (/api/status publication.seq). */
'use strict';

(function () {
  const POLL_MS = 15000;
  const ZONE = 'Europe/Stockholm';

  const TEXT = {
    sv: {
      title: 'Finsam – indikatorer', skip: 'Hoppa till innehållet', tab_reader: 'Mitt förbund',
      tab_compare: 'Jämför förbund', tab_modes: 'Projekt, integrerad, år', tab_status: 'Status',
      forbund: 'Förbund', period: 'Period', year: 'År', quarter: 'Kvartal', month: 'Månad', indicator: 'Indikator',
      all_indicators: 'Alla', measure: 'Mått', at: 'Period', lang: 'English', token_prompt: 'Åtkomsttoken',
      token_save: 'Spara', loading: 'Hämtar siffror …',
      notice: (k) => `Celler med färre än ${k} deltagare visas inte (undertryckta), och inte heller celler som ` +
        'skulle avslöja dem. Alla värden har ett litet slumpbrus för att skydda deltagarna.',
      published: 'Siffrorna avser publiceringen', updated: 'hämtade', nation: 'Riket', lan: 'Län',
      suppressed: 'undertryckt', running: 'pågående', no_data: 'Inga data ännu för den här perioden.',
      all_suppressed: (k) => `Alla perioder är undertryckta: färre än ${k} deltagare, eller skyddade för att ` +
        'inte avslöja en annan cell.',
      none_shown: (k) => `Inget förbund visas för den här perioden: alla har färre än ${k} deltagare eller är ` +
        'skyddade för att inte avslöja en annan cell.',
      gaps: (k, list) => `Luckor (undertryckt, färre än ${k} deltagare eller skyddad): ${list}.`,
      show_others: 'Visa övriga förbund', hide_others: 'Dölj övriga förbund',
      others: 'Övriga förbund', ci: '95 % konfidensintervall', value: 'Värde', n: 'Antal svar', level: 'Nivå',
      latest: 'Senaste hela period', change_year: 'Mot året före', difference: 'Integrerad − projekt',
      pick: 'Välj ditt förbund ovan.', indicator_n: 'Indikator', units: 'personer',
      mean: 'Medelvärde', share: 'Andel', sum: 'Summa', median_days: 'Median, dagar', mean_change: 'Medelförändring',
      mean_days: 'Medelvärde, dagar', rank_title: (p) => `Alla förbund, ${p}`, suppressed_list: 'Undertryckta',
      ref_nation: 'Riket', ref_lan: 'Ditt län', chosen: 'Ditt förbund', pe: 'p.e.',
      modes_intro: 'Skillnaden mellan integrerad samverkan och projekt (med 95 % konfidensintervall) och ' +
        'förändringen mot samma period året före, för den senaste hela perioden.',
      not_comparable: 'ej jämförbart', status_forbund: 'Förbund', status_agents: 'Agenter',
      agent: 'Agent (certifikatets namn)', last_seen: 'Senast hörd', age: 'Tid sedan', state: 'Läge',
      silent: 'tyst', ok: 'ok', never: 'aldrig', stored: 'Lagrade händelser', queued: 'I kö hos förbundet',
      rejected: 'Avvisade', reasons: 'Avvisade per skäl', agents_n: 'Agenter', not_listed: '(inte på listan)',
      events_in_log: 'Händelser i loggen', silent_forbund: 'Tysta förbund', uptime: 'Drifttid',
      error: 'Kunde inte hämta', unauthorized: 'Token krävs', name: 'Namn', total: 'Totalt',
      tip_ci: 'KI', tip_n: 'n',
    },
    en: {
      title: 'Finsam – indicators', skip: 'Skip to content', tab_reader: 'My förbund', tab_compare: 'Compare förbund',
      tab_modes: 'Project, integrated, year', tab_status: 'Status', forbund: 'Förbund', period: 'Period',
      year: 'Year', quarter: 'Quarter', month: 'Month', indicator: 'Indicator', all_indicators: 'All',
      measure: 'Measure', at: 'Period', lang: 'Svenska', token_prompt: 'Access token', token_save: 'Save',
      loading: 'Fetching figures …',
      notice: (k) => `Cells with fewer than ${k} participants are not shown (suppressed), nor are cells that ` +
        'would reveal them. All values carry a little random noise to protect the participants.',
      published: 'Figures as of the publication of', updated: 'fetched', nation: 'Sweden', lan: 'County',
      suppressed: 'suppressed', running: 'in progress', no_data: 'No data yet for this period.',
      all_suppressed: (k) => `Every period is suppressed: fewer than ${k} participants, or protected so as not ` +
        'to reveal another cell.',
      none_shown: (k) => `No förbund is shown for this period: each has fewer than ${k} participants or is ` +
        'protected so as not to reveal another cell.',
      gaps: (k, list) => `Gaps (suppressed, fewer than ${k} participants or protected): ${list}.`,
      show_others: 'Show the other förbund', hide_others: 'Hide the other förbund',
      others: 'Other förbund', ci: '95 % confidence interval', value: 'Value', n: 'Answers', level: 'Level',
      latest: 'Latest complete period', change_year: 'Against the year before', difference: 'Integrated − project',
      pick: 'Pick your förbund above.', indicator_n: 'Indicator', units: 'people',
      mean: 'Mean', share: 'Share', sum: 'Sum', median_days: 'Median, days', mean_change: 'Mean change',
      mean_days: 'Mean, days', rank_title: (p) => `All förbund, ${p}`, suppressed_list: 'Suppressed',
      ref_nation: 'Sweden', ref_lan: 'Your county', chosen: 'Your förbund', pe: 'pp',
      modes_intro: 'The difference between integrated collaboration and projects (with its 95 % confidence ' +
        'interval) and the change against the same period a year before, for the latest complete period.',
      not_comparable: 'not comparable', status_forbund: 'Förbund', status_agents: 'Agents',
      agent: 'Agent (certificate name)', last_seen: 'Last seen', age: 'Age', state: 'State', silent: 'silent',
      ok: 'ok', never: 'never', stored: 'Events stored', queued: 'Queued at site', rejected: 'Rejected',
      reasons: 'Rejected by reason', agents_n: 'Agents', not_listed: '(not listed)', events_in_log: 'Events in log',
      silent_forbund: 'Silent förbund', uptime: 'Uptime', error: 'Could not fetch', unauthorized: 'Token required',
      name: 'Name', total: 'Total', tip_ci: 'CI', tip_n: 'n',
    },
  };

  /* The headline value of a row per aggregate; `pct`: a share shown in %,
   * `cmp`: which comparison fields go with it (report/compare.c). */
  const HEADLINE = {
    ordinal: {key: 'mean', label: 'mean', digits: 2, cmp: 'mean'},
    share_yes: {key: 'share', label: 'share', pct: true, digits: 1, cmp: 'share'},
    share_sustained: {key: 'share', label: 'share', pct: true, digits: 1, cmp: 'share'},
    ratio: {key: 'share', label: 'share', pct: true, digits: 1, cmp: 'share'},
    sum: {key: 'sum', label: 'sum', digits: 0, cmp: 'mean'},
    median_days: {key: 'median_days', label: 'median_days', digits: 0, cmp: 'mean'},
    paired_change: {key: 'mean_change', label: 'mean_change', digits: 2, cmp: 'mean'},
  };
  const head = (agg) => HEADLINE[agg] || HEADLINE.ordinal;

  const state = {
    lang: localStorage.getItem('finsam.lang') || 'sv',
    view: 'reader',
    token: sessionStorage.getItem('finsam.token') || '',
    forbund: '',
    registry: [],       // [{forbund, name, lan}] from /api/status
    minUnits: null,     // from /api/protection
    catalogue: null,
    pubSeq: -1,
    cache: new Map(),   // url -> answer, for the current publication
    others: new Set(),  // measure ids whose other förbund are shown
    timer: null,
    firstChart: false,
    inflight: 0,        // API requests under way (the 'fetching' notice)
    generation: 0,      // bumped on each re-render: stale loads are dropped
  };

  const $ = (id) => document.getElementById(id);
  const t = (key, ...args) => {
    const v = (TEXT[state.lang] || TEXT.sv)[key];
    return typeof v === 'function' ? v(...args) : v === undefined ? key : v;
  };
  const locale = () => (state.lang === 'sv' ? 'sv-SE' : 'en-GB');

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const c of children) {
      if (c !== null && c !== undefined) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  /* ---- numbers, periods and times ------------------------------------ */

  function fmt(v, digits, signed) {
    return new Intl.NumberFormat(locale(), {minimumFractionDigits: digits, maximumFractionDigits: digits,
                                            signDisplay: signed ? 'exceptZero' : 'auto'}).format(v);
  }

  /* A number from the API as a span naming its cell: field of row, times
   * 100 when pct, index into an interval when idx is given. */
  function numSpan(row, field, digits, opts) {
    const o = opts || {};
    let v = row[field];
    if (o.idx !== undefined) v = Array.isArray(v) ? v[o.idx] : undefined;
    if (typeof v !== 'number') return null;
    return el('span', {class: 'v', 'data-level': row.level, 'data-name': row.name, 'data-period': row.period,
                       'data-field': field, 'data-idx': o.idx, 'data-pct': o.pct ? '1' : null,
                       'data-digits': String(digits), 'data-signed': o.signed ? '1' : null},
              fmt(o.pct ? 100 * v : v, digits, o.signed));
  }

  /* The row's headline with its unit, or a word for why there is none. */
  function valueNode(agg, row) {
    const h = head(agg);
    if (!row) return el('span', {class: 'muted'}, '–');
    if (row.suppressed) return el('span', {class: 'suppressed'}, t('suppressed'));
    const s = numSpan(row, h.key, h.digits, {pct: h.pct});
    if (!s) return el('span', {class: 'muted'}, '–');
    return el('span', {}, s, h.pct ? '\u00a0%' : '');
  }

  function ciNode(agg, row) {
    const h = head(agg);
    if (!row || row.suppressed || !Array.isArray(row.ci95)) return null;
    return el('span', {class: 'ci-text'}, '[', numSpan(row, 'ci95', h.digits, {idx: 0, pct: h.pct}), '–',
              numSpan(row, 'ci95', h.digits, {idx: 1, pct: h.pct}), ']');
  }

  function headline(agg, row) {
    if (!row || row.suppressed) return null;
    const h = head(agg), v = row[h.key];
    if (typeof v !== 'number') return null;
    return h.pct ? 100 * v : v;
  }

  function ci(agg, row) {
    if (!row || row.suppressed || !Array.isArray(row.ci95)) return null;
    const k = head(agg).pct ? 100 : 1;
    return [k * row.ci95[0], k * row.ci95[1]];
  }

  /* The period key that is running now, in Stockholm: 2026, 2026-Q4 or
   * 2026-11 (a running period is incomplete: its figures will change). */
  function runningKeys() {
    const parts = new Intl.DateTimeFormat('en-CA', {timeZone: ZONE, year: 'numeric', month: '2-digit'})
      .formatToParts(new Date());
    const y = parts.find((p) => p.type === 'year').value, m = parts.find((p) => p.type === 'month').value;
    return new Set([y, `${y}-Q${Math.ceil(Number(m) / 3)}`, `${y}-${m}`]);
  }
  const isRunning = (p) => runningKeys().has(p);

  function periodLabel(p) {
    return isRunning(p) ? `${p} (${t('running')})` : p;
  }

  function when(ms) {
    return new Intl.DateTimeFormat(locale(), {timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit',
                                              hour: '2-digit', minute: '2-digit', timeZoneName: 'short'})
      .format(new Date(ms));
  }

  function age(s) {
    if (s < 0) return t('never');
    if (s < 120) return fmt(s, 0) + ' s';
    if (s < 7200) return fmt(Math.round(s / 60), 0) + ' min';
    if (s < 172800) return fmt(Math.round(s / 3600), 0) + ' h';
    return fmt(Math.round(s / 86400), 0) + (state.lang === 'sv' ? ' d' : ' d');
  }

  /* "Samordningsförbundet Norra Västmanland" reads as "Norra Västmanland"
   * where space is short (the full name is in the title). */
  const shortName = (name) => name.replace(/^Samordningsförbundet\s+/i, '');

  function forbundName(code) {
    const f = state.registry.find((x) => x.forbund === code);
    return f && f.name ? f.name : code;
  }

  function rowName(row) {
    if (row.level === 'nation') return t('nation');
    if (row.level === 'forbund') return forbundName(row.name);
    return row.name;
  }

  /* ---- the API ------------------------------------------------------- */

  async function api(path, cached) {
    if (cached && state.cache.has(path)) return state.cache.get(path);
    const headers = state.token ? {Authorization: 'Bearer ' + state.token} : {};
    state.inflight++;
    $('loading').hidden = false;
    let r;
    try {
      r = await fetch(path, {headers, cache: 'no-store'});
    } finally {
      $('loading').hidden = --state.inflight === 0;
    }
    if (r.status === 401) {
      $('token-box').hidden = false;
      throw new Error(t('unauthorized'));
    }
    if (!r.ok) {
      let msg = String(r.status);
      try { msg += ' ' + (await r.json()).error; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    const j = await r.json();
    if (cached) state.cache.set(path, j);
    return j;
  }

  /* A measure's name and definition in the page's language: the API's own
   * fields, else the catalogue's; never its code. */
  function measureLabel(m) {
    const sv = state.lang === 'sv';
    const c = measureOf(m.id) || {};
    return {
      name: (sv ? m.sv || c.sv : m.en || c.en) || (sv ? m.indicator_sv : m.indicator_en) || t('measure'),
      definition: (sv ? m.definition_sv || c.definition_sv : m.definition_en || c.definition_en) || '',
    };
  }

  function measureOf(id) {
    for (const ind of (state.catalogue && state.catalogue.indicators) || []) {
      for (const m of ind.measures || []) if (m.id === id) return Object.assign({indicator: ind.id}, m);
    }
    return null;
  }

  /* ---- charts -------------------------------------------------------- */

  const MARGIN = {top: 10, right: 14, bottom: 44, left: 52};

  /* Y tick labels: as many decimals as the tick step needs, no more. */
  function yFormat(scale, pct, count) {
    const ticks = scale.ticks(count || 5);
    const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
    const digits = Math.min(3, d3.precisionFixed(step));
    return (v) => fmt(v, digits) + (pct ? '\u00a0%' : '');
  }

  /* Thins the x labels of an axis group so none overlaps its neighbour:
   * keeps every k-th counted back from the last (the newest period is
   * always labelled), with k the smallest that leaves room. */
  function thinX(g, step) {
    const texts = g.selectAll('.tick text').nodes();
    const widest = Math.max(0, ...texts.map((x) => x.getBBox().width));
    const k = Math.max(1, Math.ceil((widest + 8) / Math.max(1, step)));
    texts.forEach((x, i) => { if ((texts.length - 1 - i) % k !== 0) x.remove(); });
  }

  function tooltip(target, lines) {
    const tip = $('tip');
    const show = () => {
      tip.replaceChildren(...lines.map((l) => el('div', {}, l)));
      tip.hidden = false;
      const r = target.getBoundingClientRect();
      const w = tip.offsetWidth;
      tip.style.left = Math.max(4, Math.min(window.innerWidth - w - 4, r.left + r.width / 2 - w / 2)) + 'px';
      tip.style.top = (window.scrollY + r.top - tip.offsetHeight - 8) + 'px';
    };
    const hide = () => { tip.hidden = true; };
    target.addEventListener('mouseenter', show);
    target.addEventListener('focus', show);
    target.addEventListener('mouseleave', hide);
    target.addEventListener('blur', hide);
    target.setAttribute('tabindex', '0');
    target.setAttribute('aria-label', lines.join(', '));
  }

  function tipLines(agg, name, row) {
    const h = head(agg), v = headline(agg, row), c = ci(agg, row);
    const unit = h.pct ? '\u00a0%' : '';
    const lines = [`${name}, ${periodLabel(row.period)}`];
    if (v !== null) lines.push(`${t(h.label)}: ${fmt(v, h.digits)}${unit}`);
    if (c) lines.push(`${t('tip_ci')}: ${fmt(c[0], h.digits)}–${fmt(c[1], h.digits)}${unit}`);
    if (typeof row.n === 'number') lines.push(`${t('tip_n')}: ${fmt(row.n, 0)}`);
    return lines;
  }

  /* One measure over the periods: the förbund (with its 95 % band), its
   * län and Riket (with whiskers); the other förbund as thin grey lines
   * when asked for. Suppressed periods are gaps, the running period is
   * marked. Returns the figure (svg + legend + notes). */
  function lineChart(plot, measure, others, width) {
    const agg = measure.aggregate, h = head(agg);
    const rows = measure.rows;
    const periods = [...new Set(rows.map((r) => r.period))].sort();
    const fig = el('figure', {class: 'chart', 'data-measure': measure.id});
    plot.replaceChildren(fig); // in the document before drawing: labels are measured
    const series = [];
    const add = (key, name, cls, rs) => series.push({key, name, cls, rows: new Map(rs.map((r) => [r.period, r]))});
    const mine = rows.filter((r) => r.level === 'forbund' && r.name === state.forbund);
    add('forbund', forbundName(state.forbund), 'forbund', mine);
    for (const lan of [...new Set(rows.filter((r) => r.level === 'lan').map((r) => r.name))]) {
      add('lan:' + lan, lan, 'lan', rows.filter((r) => r.level === 'lan' && r.name === lan));
    }
    add('nation', t('nation'), 'nation', rows.filter((r) => r.level === 'nation'));
    const otherSeries = [];
    if (others) {
      const byName = new Map();
      for (const r of others.rows) {
        if (r.level !== 'forbund' || r.name === state.forbund || !periods.includes(r.period)) continue;
        if (!byName.has(r.name)) byName.set(r.name, new Map());
        byName.get(r.name).set(r.period, r);
      }
      for (const [name, m] of byName) otherSeries.push({name, rows: m});
    }
    const values = [];
    for (const s of [...series, ...otherSeries]) {
      for (const r of s.rows.values()) {
        const v = headline(agg, r), c = ci(agg, r);
        if (v !== null) values.push(v);
        if (c && s.cls) values.push(c[0], c[1]);
      }
    }
    const W = Math.max(260, width), H = W < 500 ? 220 : 260;
    const iw = W - MARGIN.left - MARGIN.right, ih = H - MARGIN.top - MARGIN.bottom;
    const svg = d3.select(fig).append('svg').attr('width', W).attr('height', H).attr('role', 'img')
      .attr('class', 'chart-svg');
    svg.append('title').text(measureLabel(measure).name);
    const g = svg.append('g').attr('transform', `translate(${MARGIN.left},${MARGIN.top})`);
    const mineVisible = [...series[0].rows.values()].some((r) => headline(agg, r) !== null);
    if (!periods.length || !values.length) {
      g.append('text').attr('class', 'empty').attr('x', iw / 2).attr('y', ih / 2).attr('text-anchor', 'middle')
        .text(t('no_data'));
      fig.append(el('p', {class: 'empty-note'}, periods.length ? t('all_suppressed', state.minUnits) : t('no_data')));
      return fig;
    }
    const x = d3.scalePoint().domain(periods).range([0, iw]).padding(0.5);
    let lo = Math.min(...values), hi = Math.max(...values);
    if (agg === 'ordinal') { lo = Math.min(lo, 1); hi = Math.max(hi, 5); }
    if (h.pct) { lo = Math.max(0, lo); hi = Math.min(100, hi); }
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const y = d3.scaleLinear().domain([lo, hi]).nice(5).range([ih, 0]);
    if (h.pct) y.domain([Math.max(0, y.domain()[0]), Math.min(100, y.domain()[1])]);
    g.append('g').attr('class', 'gridlines').call(d3.axisLeft(y).ticks(5).tickSize(-iw).tickFormat(''));
    g.append('g').attr('class', 'axis y').call(d3.axisLeft(y).ticks(5).tickFormat(yFormat(y, h.pct)));
    const running = periods.filter(isRunning);
    for (const p of running) {
      const step = x.step();
      g.append('rect').attr('class', 'running').attr('x', x(p) - step / 2).attr('width', step).attr('y', 0)
        .attr('height', ih);
    }
    const xa = g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${ih})`)
      .call(d3.axisBottom(x).tickSizeOuter(0));
    thinX(xa, x.step());
    for (const p of running) {
      const anchor = x(p) + 30 > iw ? 'end' : 'middle';
      g.append('text').attr('class', 'running-label').attr('data-period', p)
        .attr('x', anchor === 'end' ? Math.min(iw + MARGIN.right - 2, x(p) + x.step() / 2) : x(p))
        .attr('y', ih + 34).attr('text-anchor', anchor).text(t('running'));
    }
    const line = (m) => d3.line().defined((p) => headline(agg, m.get(p)) !== null)
      .x((p) => x(p)).y((p) => y(headline(agg, m.get(p))))(periods);
    for (const s of otherSeries) {
      g.append('path').attr('class', 'line other').attr('d', line(s.rows));
    }
    const f = series[0];
    const band = d3.area().defined((p) => ci(agg, f.rows.get(p)) !== null).x((p) => x(p))
      .y0((p) => y(ci(agg, f.rows.get(p))[0])).y1((p) => y(ci(agg, f.rows.get(p))[1]));
    g.append('path').attr('class', 'ci ci-band').attr('d', band(periods));
    const gaps = [];
    for (const s of series.slice().reverse()) {
      g.append('path').attr('class', `line ${s.cls}`).attr('d', line(s.rows)).attr('data-series', s.key);
      for (const p of periods) {
        const r = s.rows.get(p);
        if (r && r.suppressed && s.cls === 'forbund') gaps.push(p);
        const v = headline(agg, r);
        if (v === null) continue;
        const c = ci(agg, r);
        if (c && s.cls !== 'forbund') {
          g.append('path').attr('class', `ci whisker ${s.cls}`)
            .attr('d', `M${x(p) - 3},${y(c[0])}h6M${x(p)},${y(c[0])}V${y(c[1])}M${x(p) - 3},${y(c[1])}h6`);
        }
        const dot = g.append('circle').attr('class', `dot ${s.cls}` + (isRunning(p) ? ' running' : ''))
          .attr('cx', x(p)).attr('cy', y(v)).attr('r', s.cls === 'forbund' ? 4 : 3);
        tooltip(dot.node(), tipLines(agg, s.name, r));
      }
    }
    const legend = el('ul', {class: 'legend'});
    for (const s of series) {
      legend.append(el('li', {class: s.cls}, el('span', {class: 'swatch ' + s.cls, 'aria-hidden': 'true'}), s.name));
    }
    if (Array.isArray((mine.find((r) => Array.isArray(r.ci95)) || {}).ci95)) {
      legend.append(el('li', {class: 'ci'}, el('span', {class: 'swatch ci', 'aria-hidden': 'true'}), t('ci')));
    }
    if (otherSeries.length) {
      legend.append(el('li', {class: 'other'}, el('span', {class: 'swatch other', 'aria-hidden': 'true'}),
                       `${t('others')} (${fmt(otherSeries.length, 0)})`));
    }
    fig.append(legend);
    if (!mineVisible) fig.append(el('p', {class: 'empty-note'}, t('all_suppressed', state.minUnits)));
    else if (gaps.length) fig.append(el('p', {class: 'gap-note'}, t('gaps', state.minUnits, gaps.join(', '))));
    if (!state.firstChart) {
      state.firstChart = true;
      performance.mark('finsam-first-chart');
    }
    return fig;
  }

  /* ---- the reader's view --------------------------------------------- */

  function latestComplete(periods) {
    const done = periods.filter((p) => !isRunning(p));
    return done.length ? done[done.length - 1] : periods[periods.length - 1];
  }

  function summaryTable(m) {
    const agg = m.aggregate, h = head(agg);
    const periods = [...new Set(m.rows.map((r) => r.period))].sort();
    if (!periods.length) return null;
    const at = latestComplete(periods);
    const rows = m.rows.filter((r) => r.period === at);
    const order = {forbund: 0, lan: 1, nation: 2};
    rows.sort((a, b) => order[a.level] - order[b.level]);
    const table = el('table', {class: 'summary'},
                     el('caption', {}, `${t('latest')}: ${at}`),
                     el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, t('name')),
                                        el('th', {scope: 'col', class: 'num'}, t(h.label)),
                                        el('th', {scope: 'col', class: 'num ci-col'}, t('ci')),
                                        el('th', {scope: 'col', class: 'num'}, t('n')))));
    const body = el('tbody');
    for (const r of rows) {
      if (r.level === 'forbund' && r.name !== state.forbund) continue;
      /* The legend above names the förbund in full. */
      const name = r.level === 'forbund' ? el('span', {title: rowName(r)}, shortName(rowName(r))) : rowName(r);
      body.append(el('tr', {class: r.level},
                     el('th', {scope: 'row'}, name),
                     el('td', {class: 'num'}, valueNode(agg, r)),
                     el('td', {class: 'num ci-col'}, ciNode(agg, r) || '–'),
                     el('td', {class: 'num'}, r.suppressed ? '–' : numSpan(r, 'n', 0) || '–')));
    }
    table.append(body);
    return table;
  }

  function cardWidth(card) {
    return Math.floor(card.querySelector('.plot').getBoundingClientRect().width);
  }

  /* Each measure is its own request (the collector's query answers one
   * measure far sooner than all of them), made when its card comes near
   * the screen, one at a time in the order the cards appear. */
  let queue = Promise.resolve();
  function whenVisible(card, load) {
    const start = () => { queue = queue.then(load, load); };
    if (!('IntersectionObserver' in window)) return start();
    const io = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) {
        io.disconnect();
        start();
      }
    }, {rootMargin: '400px 0px'});
    io.observe(card);
  }

  function measureCard(cm, section, renderBody) {
    const label = measureLabel(cm);
    const url = measureUrl(cm.id);
    const card = el('article', {class: 'card', 'data-measure': cm.id, 'data-src': url},
                    el('h3', {}, label.name),
                    label.definition ? el('p', {class: 'definition'}, label.definition) : null,
                    el('p', {class: 'muted pending'}, t('loading')));
    section.append(card);
    const gen = state.generation;
    whenVisible(card, async () => {
      if (gen !== state.generation) return;
      try {
        const data = await api(url, true);
        if (gen !== state.generation) return;
        card.querySelector('.pending').remove();
        renderBody(card, data.measures[0]);
        card.dataset.loaded = 'true';
      } catch (e) {
        showError(e);
      }
    });
  }

  function readerBody(card, m) {
    const body = el('div', {class: 'card-body'}, el('div', {class: 'plot'}));
    card.append(body);
    const table = summaryTable(m);
    if (table) body.append(el('div', {class: 'side table-wrap'}, table));
    const draw = async () => {
      const plot = card.querySelector('.plot');
      let others = null;
      if (state.others.has(m.id)) {
        try {
          const a = await api(`/api/indicators?measure=${encodeURIComponent(m.id)}&period=${$('period').value}`, true);
          others = a.measures[0];
        } catch (e) { showError(e); }
      }
      lineChart(plot, m, others, cardWidth(card));
      const btn = el('button', {type: 'button', class: 'others-toggle', 'aria-pressed': String(state.others.has(m.id))},
                     state.others.has(m.id) ? t('hide_others') : t('show_others'));
      btn.addEventListener('click', () => {
        if (state.others.has(m.id)) state.others.delete(m.id); else state.others.add(m.id);
        draw();
      });
      plot.append(btn);
    };
    card.redraw = draw;
    return draw();
  }

  /* The catalogue's measures under the indicator filter, grouped by
   * indicator into the view's sections. */
  function skeleton(view, renderBody, intro) {
    state.generation++;
    const filter = $('indicator').value;
    const frag = el('div', {class: 'cards'});
    if (intro) frag.append(el('p', {class: 'meta'}, intro));
    view.replaceChildren(frag);
    for (const ind of (state.catalogue && state.catalogue.indicators) || []) {
      if (filter && String(ind.id) !== filter) continue;
      frag.append(el('h2', {class: 'indicator'}, `${t('indicator_n')} ${ind.id}: ${state.lang === 'sv' ? ind.sv : ind.en}`));
      const section = el('div', {class: 'grid'});
      frag.append(section);
      for (const m of ind.measures || []) measureCard(m, section, renderBody);
    }
  }

  function renderReader() {
    const view = $('view-reader');
    if (!state.forbund) return view.replaceChildren(el('p', {class: 'empty-note'}, t('pick')));
    skeleton(view, readerBody);
  }

  const measureUrl = (id) => `/api/indicators?measure=${encodeURIComponent(id)}&forbund=${encodeURIComponent(state.forbund)}` +
    `&period=${$('period').value}`;

  /* ---- comparing all förbund ----------------------------------------- */

  async function renderCompare() {
    const view = $('view-compare');
    const id = $('measure').value;
    const at = $('at').value;
    if (!id || !at) {
      view.replaceChildren(el('p', {class: 'empty-note'}, t('no_data')));
      return;
    }
    const url = `/api/indicators?measure=${encodeURIComponent(id)}&period=${encodeURIComponent(at)}`;
    const data = await api(url, true);
    const m = data.measures[0];
    const agg = m.aggregate, h = head(agg);
    const rows = m.rows.filter((r) => r.period === at);
    const shown = rows.filter((r) => r.level === 'forbund' && headline(agg, r) !== null)
      .sort((a, b) => headline(agg, b) - headline(agg, a));
    const hidden = rows.filter((r) => r.level === 'forbund' && headline(agg, r) === null);
    const nation = rows.find((r) => r.level === 'nation');
    const myLan = (state.registry.find((f) => f.forbund === state.forbund) || {}).lan || '';
    const lans = rows.filter((r) => r.level === 'lan' && myLan.split(',').includes(r.name));
    const label = measureLabel(m);
    const card = el('article', {class: 'card wide', 'data-measure': m.id, 'data-src': url},
                    el('h2', {}, label.name),
                    label.definition ? el('p', {class: 'definition'}, label.definition) : null,
                    el('p', {class: 'meta'}, t('rank_title', periodLabel(at))));
    view.replaceChildren(card);
    if (!shown.length) {
      card.append(el('p', {class: 'empty-note'}, rows.length ? t('none_shown', state.minUnits) : t('no_data')));
      return;
    }
    const width = Math.floor(card.getBoundingClientRect().width) - 24;
    const rowH = 18, names = shown.map((r) => shortName(forbundName(r.name)));
    const W = Math.max(300, width);
    const left = Math.min(Math.floor(W * 0.42), 220), right = 56;
    const H = shown.length * rowH + 40;
    const svg = d3.select(card).append('svg').attr('class', 'dotplot').attr('width', W).attr('height', H)
      .attr('role', 'img');
    svg.append('title').text(label.name);
    const g = svg.append('g').attr('transform', `translate(${left},8)`);
    const iw = W - left - right, ih = shown.length * rowH;
    const ext = [];
    for (const r of [...shown, nation, ...lans]) {
      const v = headline(agg, r), c = ci(agg, r);
      if (v !== null) ext.push(v);
      if (c) ext.push(c[0], c[1]);
    }
    let lo = Math.min(...ext), hi = Math.max(...ext);
    if (h.pct) { lo = Math.max(0, lo); hi = Math.min(100, hi); }
    if (hi - lo < 1e-9) { lo -= 1; hi += 1; }
    const x = d3.scaleLinear().domain([lo, hi]).nice(5).range([0, iw]);
    const y = d3.scaleBand().domain(shown.map((r) => r.name)).range([0, ih]).padding(0.2);
    const nt = Math.max(2, Math.floor(iw / 80));
    g.append('g').attr('class', 'gridlines').attr('transform', `translate(0,${ih})`)
      .call(d3.axisBottom(x).ticks(nt).tickSize(-ih).tickFormat(''));
    g.append('g').attr('class', 'axis x').attr('transform', `translate(0,${ih})`)
      .call(d3.axisBottom(x).ticks(nt).tickFormat(yFormat(x, h.pct, nt)));
    const refs = [];
    if (headline(agg, nation) !== null) refs.push({cls: 'nation', v: headline(agg, nation), name: t('ref_nation')});
    for (const l of lans) if (headline(agg, l) !== null) refs.push({cls: 'lan', v: headline(agg, l), name: l.name});
    for (const r of refs) {
      g.append('line').attr('class', `ref ${r.cls}`).attr('x1', x(r.v)).attr('x2', x(r.v)).attr('y1', 0).attr('y2', ih);
    }
    shown.forEach((r, i) => {
      const yy = y(r.name) + y.bandwidth() / 2, c = ci(agg, r), v = headline(agg, r);
      const mine = r.name === state.forbund;
      const row = g.append('g').attr('class', 'row' + (mine ? ' mine' : ''));
      let text = names[i];
      const label = row.append('text').attr('class', 'name').attr('x', -8).attr('y', yy).attr('dy', '0.32em')
        .attr('text-anchor', 'end').text(text);
      while (label.node().getComputedTextLength() > left - 12 && text.length > 4) {
        text = text.slice(0, -2);
        label.text(text + '…');
      }
      label.append('title').text(forbundName(r.name));
      if (c) row.append('line').attr('class', 'ci whisker').attr('x1', x(c[0])).attr('x2', x(c[1])).attr('y1', yy).attr('y2', yy);
      const dot = row.append('circle').attr('class', 'dot' + (mine ? ' forbund' : '')).attr('cx', x(v)).attr('cy', yy)
        .attr('r', mine ? 5 : 3.5);
      tooltip(dot.node(), tipLines(agg, forbundName(r.name), r));
      const vt = row.append('text').attr('class', 'value').attr('x', iw + right - 2).attr('y', yy).attr('dy', '0.32em')
        .attr('text-anchor', 'end');
      const s = numSpan(r, h.key, h.digits, {pct: h.pct});
      vt.attr('data-level', r.level).attr('data-name', r.name).attr('data-period', r.period).attr('data-field', h.key)
        .attr('data-digits', h.digits).attr('data-pct', h.pct ? '1' : null).text(s.textContent);
    });
    const legend = el('ul', {class: 'legend'});
    legend.append(el('li', {class: 'forbund'}, el('span', {class: 'swatch forbund', 'aria-hidden': 'true'}),
                     `${t('chosen')}: ${forbundName(state.forbund)}`));
    for (const r of refs) {
      const row = r.cls === 'nation' ? nation : lans.find((l) => l.name === r.name);
      legend.append(el('li', {class: r.cls}, el('span', {class: 'swatch ref ' + r.cls, 'aria-hidden': 'true'}),
                       `${r.cls === 'nation' ? t('ref_nation') : r.name}: `, valueNode(agg, row)));
    }
    legend.append(el('li', {class: 'ci'}, el('span', {class: 'swatch ci', 'aria-hidden': 'true'}), t('ci')));
    card.append(legend);
    if (hidden.length) {
      card.append(el('p', {class: 'gap-note'}, `${t('suppressed_list')} (${fmt(hidden.length, 0)}): ` +
                     hidden.map((r) => shortName(forbundName(r.name))).sort((a, b) => a.localeCompare(b)).join(', ')));
    }
    if (!state.firstChart) {
      state.firstChart = true;
      performance.mark('finsam-first-chart');
    }
  }

  /* The single periods the reader's förbund has, for the compare view. */
  async function fillPeriods() {
    const msel = $('measure');
    const current = msel.value;
    const all = ((state.catalogue && state.catalogue.indicators) || []).flatMap((i) => i.measures || []);
    msel.replaceChildren(...all.map((m) => el('option', {value: m.id}, measureLabel(m).name)));
    msel.value = current && all.some((m) => m.id === current) ? current : (all[0] || {}).id;
    const sel = $('at');
    if (!state.forbund || !msel.value) return;
    const data = await api(measureUrl(msel.value), true);
    const periods = [...new Set(data.measures[0].rows.map((r) => r.period))].sort();
    const want = sel.value && periods.includes(sel.value) ? sel.value : latestComplete(periods);
    sel.replaceChildren(...periods.map((p) => el('option', {value: p}, periodLabel(p))));
    if (want) sel.value = want;
  }

  /* ---- integrated − project, and the year before ---------------------- */

  function renderModes() {
    const view = $('view-modes');
    if (!state.forbund) return view.replaceChildren(el('p', {class: 'empty-note'}, t('pick')));
    skeleton(view, modesBody, t('modes_intro'));
  }

  function modesBody(card, m) {
    const agg = m.aggregate, h = head(agg), share = h.cmp === 'share';
    const periods = [...new Set(m.rows.map((r) => r.period))].sort();
    if (!periods.length) return card.append(el('p', {class: 'empty-note'}, t('no_data')));
    const at = latestComplete(periods);
    const f = share ? 'share' : 'mean', digits = share ? 1 : 2, unit = share ? '\u00a0' + t('pe') : '';
    const table = el('table', {class: 'modes'},
                     el('caption', {}, `${at} · ${share ? t('share') : t('mean')}`),
                     el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, t('name')),
                                        el('th', {scope: 'col', class: 'num'}, t('difference')),
                                        el('th', {scope: 'col', class: 'num'}, t('change_year')))));
    const body = el('tbody');
    const order = {forbund: 0, lan: 1, nation: 2};
    for (const r of m.rows.filter((x) => x.period === at && (x.level !== 'forbund' || x.name === state.forbund))
      .sort((a, b) => order[a.level] - order[b.level])) {
      const dfield = `integrated_minus_project_${f}`, yfield = `change_year_${f}`;
      const d = numSpan(r, dfield, digits, {pct: share, signed: true});
      const dci = Array.isArray(r[dfield + '_ci95'])
        ? el('span', {class: 'ci-text'}, ' [', numSpan(r, dfield + '_ci95', digits, {idx: 0, pct: share}), '–',
             numSpan(r, dfield + '_ci95', digits, {idx: 1, pct: share}), ']') : null;
      const yv = numSpan(r, yfield, digits, {pct: share, signed: true});
      body.append(el('tr', {class: r.level}, el('th', {scope: 'row'}, rowName(r)),
                     el('td', {class: 'num'}, r.suppressed ? el('span', {class: 'suppressed'}, t('suppressed'))
                       : d ? el('span', {}, d, unit, dci) : el('span', {class: 'muted'}, t('not_comparable'))),
                     el('td', {class: 'num'}, r.suppressed ? '–' : yv ? el('span', {}, yv, unit)
                       : el('span', {class: 'muted'}, t('not_comparable')))));
    }
    table.append(body);
    card.append(el('div', {class: 'table-wrap'}, table));
  }

  /* ---- status -------------------------------------------------------- */

  function renderStatus(st) {
    const view = $('view-status');
    const silentF = (st.forbund || []).filter((f) => f.silent).length;
    const summary = el('dl', {class: 'kv'});
    const add = (k, v) => summary.append(el('div', {}, el('dt', {}, t(k)), el('dd', {}, v)));
    add('events_in_log', fmt(st.events_in_log, 0));
    add('silent_forbund', fmt(silentF, 0));
    if (st.collector) add('uptime', age(st.collector.uptime_s));
    if (st.rejects_by_reason && Object.keys(st.rejects_by_reason).length) {
      add('reasons', Object.entries(st.rejects_by_reason).map(([k, v]) => `${k}: ${fmt(v, 0)}`).join(', '));
    }
    const ft = el('table', {class: 'status-forbund'},
                  el('thead', {}, el('tr', {}, ...['name', 'lan', 'agents_n', 'stored', 'queued', 'rejected', 'age', 'state']
                    .map((k) => el('th', {scope: 'col'}, t(k))))));
    const fb = el('tbody');
    const list = (st.forbund || []).slice().sort((a, b) => (b.silent - a.silent) ||
      (a.name || a.forbund).localeCompare(b.name || b.forbund, 'sv'));
    for (const f of list) {
      fb.append(el('tr', {class: f.silent ? 'silent' : ''},
                   el('th', {scope: 'row'}, f.name || f.forbund, f.silent ? el('span', {class: 'badge'}, t('silent')) : null),
                   el('td', {}, f.lan || '–'), el('td', {class: 'num'}, fmt(f.agents, 0)),
                   el('td', {class: 'num'}, fmt(f.events_stored, 0)),
                   el('td', {class: 'num'}, fmt(f.queued_at_site || 0, 0)),
                   el('td', {class: f.rejected ? 'num warn' : 'num'}, fmt(f.rejected, 0)),
                   el('td', {class: 'num'}, age(f.last_seen_age_s)),
                   el('td', {}, f.silent ? t('silent') : t('ok'))));
    }
    ft.append(fb);
    const at = el('table', {class: 'status-agents'},
                  el('thead', {}, el('tr', {}, ...['agent', 'forbund', 'last_seen', 'age', 'stored', 'queued', 'rejected', 'reasons']
                    .map((k) => el('th', {scope: 'col'}, t(k))))));
    const ab = el('tbody');
    for (const a of (st.agents || []).slice().sort((p, q) => (q.silent - p.silent) || (p.name || '').localeCompare(q.name || '', 'sv'))) {
      const seen = Date.parse(a.last_seen);
      ab.append(el('tr', {class: a.silent ? 'silent' : ''},
                   el('th', {scope: 'row'}, a.listed === false || !a.name ? t('not_listed') : a.name),
                   el('td', {}, forbundName(a.forbund)),
                   el('td', {}, Number.isNaN(seen) ? '–' : when(seen)),
                   el('td', {class: 'num'}, age(a.last_seen_age_s)),
                   el('td', {class: 'num'}, fmt(a.events_stored, 0)),
                   el('td', {class: 'num'}, fmt(a.pending_at_agent || 0, 0)),
                   el('td', {class: a.rejected ? 'num warn' : 'num'}, fmt(a.rejected, 0)),
                   el('td', {}, Object.entries(a.rejects || {}).map(([k, v]) => `${k}: ${fmt(v, 0)}`).join(', ') || '–')));
    }
    at.append(ab);
    view.replaceChildren(summary, el('h2', {}, t('status_forbund')), el('div', {class: 'table-wrap'}, ft),
                         el('h2', {}, t('status_agents')), el('div', {class: 'table-wrap'}, at));
  }

  /* ---- the loop ------------------------------------------------------ */

  function showError(e) {
    $('error').textContent = `${t('error')}: ${e.message}`;
    $('error').hidden = false;
  }

  function fillForbund() {
    const sel = $('forbund');
    const byLan = new Map();
    for (const f of state.registry.slice().sort((a, b) => (a.name || a.forbund).localeCompare(b.name || b.forbund, 'sv'))) {
      const lan = (f.lan || '–').split(',')[0];
      if (!byLan.has(lan)) byLan.set(lan, []);
      byLan.get(lan).push(f);
    }
    const groups = [...byLan.keys()].sort((a, b) => a.localeCompare(b, 'sv')).map((lan) =>
      el('optgroup', {label: lan}, ...byLan.get(lan).map((f) => el('option', {value: f.forbund}, f.name || f.forbund))));
    sel.replaceChildren(...groups);
    if (!state.registry.some((f) => f.forbund === state.forbund)) {
      /* No choice yet: the first by name that has sent anything. */
      const sorted = state.registry.slice().sort((a, b) => (b.events_stored > 0) - (a.events_stored > 0) ||
        (a.name || '').localeCompare(b.name || '', 'sv'));
      state.forbund = sorted.length ? sorted[0].forbund : '';
    }
    sel.value = state.forbund;
  }

  function setNotice() {
    $('notice').textContent = state.minUnits === null ? '' : t('notice', fmt(state.minUnits, 0));
  }

  async function render() {
    try {
      if (state.view === 'reader') renderReader();
      else if (state.view === 'compare') { await fillPeriods(); await renderCompare(); }
      else if (state.view === 'modes') renderModes();
      else renderStatus(await api('/api/status'));
      $('error').hidden = true;
      document.body.dataset.loaded = 'true';
    } catch (e) {
      showError(e);
    }
  }

  /* Polls the status; new figures are fetched only after a publication. */
  async function poll() {
    clearTimeout(state.timer);
    try {
      if (state.minUnits === null) {
        const p = await api('/api/protection');
        state.minUnits = p.min_count;
        setNotice();
      }
      if (!state.catalogue) state.catalogue = await api('/api/catalogue');
      const st = await api('/api/status');
      state.registry = st.forbund || [];
      fillForbund();
      const seq = (st.publication || {}).seq;
      $('updated').textContent = `(${t('updated')} ${when(Date.now())})`;
      if (st.publication && st.publication.at_ms) {
        $('published').textContent = `${t('published')} ${when(st.publication.at_ms)}`;
      }
      if (seq !== state.pubSeq) {
        state.pubSeq = seq;
        state.cache.clear();
        await render();
      } else if (state.view === 'status') {
        renderStatus(st);
      }
      $('error').hidden = true;
    } catch (e) {
      showError(e);
    }
    state.timer = setTimeout(poll, POLL_MS);
  }

  function syncUrl() {
    const p = new URLSearchParams();
    if (state.forbund) p.set('forbund', state.forbund);
    p.set('view', state.view);
    p.set('period', $('period').value);
    if ($('indicator').value) p.set('indicator', $('indicator').value);
    if (state.view === 'compare' && $('measure').value) p.set('measure', $('measure').value);
    if (state.view === 'compare' && $('at').value) p.set('at', $('at').value);
    if (state.lang !== 'sv') p.set('lang', state.lang);
    history.replaceState(null, '', '?' + p.toString());
  }

  function setView(view) {
    state.view = view;
    for (const v of ['reader', 'compare', 'modes', 'status']) $('view-' + v).hidden = v !== view;
    for (const b of document.querySelectorAll('.tab')) {
      b.classList.toggle('active', b.dataset.view === view);
      b.setAttribute('aria-pressed', String(b.dataset.view === view));
    }
    document.querySelector('.ctl-indicator').hidden = view === 'compare' || view === 'status';
    document.querySelector('.ctl-measure').hidden = view !== 'compare';
    document.querySelector('.ctl-at').hidden = view !== 'compare';
    document.querySelector('.ctl-forbund').hidden = view === 'status';
    $('period').closest('label').hidden = view === 'status';
    syncUrl();
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
    $('lang').textContent = t('lang');
    $('lang').lang = state.lang === 'sv' ? 'en' : 'sv';
    setNotice();
    fillIndicators();
  }

  function fillIndicators() {
    const sel = $('indicator');
    const current = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const ind of (state.catalogue && state.catalogue.indicators) || []) {
      sel.append(el('option', {value: String(ind.id)}, `${ind.id} – ${state.lang === 'sv' ? ind.sv : ind.en}`));
    }
    sel.value = current;
  }

  let resizeTimer = null;
  function onResize() {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (state.view === 'reader') for (const c of document.querySelectorAll('#view-reader .card')) c.redraw && c.redraw();
      else if (state.view === 'compare') renderCompare().catch(showError);
    }, 200);
  }

  document.addEventListener('DOMContentLoaded', async () => {
    const params = new URLSearchParams(location.search);
    if (['sv', 'en'].includes(params.get('lang'))) state.lang = params.get('lang');
    if (['year', 'quarter', 'month'].includes(params.get('period'))) $('period').value = params.get('period');
    else $('period').value = 'quarter';
    state.forbund = params.get('forbund') || localStorage.getItem('finsam.forbund') || '';
    const view = ['reader', 'compare', 'modes', 'status'].includes(params.get('view')) ? params.get('view') : 'reader';
    if (params.get('at')) $('at').append(el('option', {value: params.get('at')}, params.get('at')));
    if (params.get('at')) $('at').value = params.get('at');
    if (params.get('measure')) $('measure').append(el('option', {value: params.get('measure')}, ''));
    if (params.get('measure')) $('measure').value = params.get('measure');
    $('lang').addEventListener('click', () => {
      state.lang = state.lang === 'sv' ? 'en' : 'sv';
      localStorage.setItem('finsam.lang', state.lang);
      applyLanguage();
      syncUrl();
      render();
    });
    $('forbund').addEventListener('change', () => {
      state.forbund = $('forbund').value;
      localStorage.setItem('finsam.forbund', state.forbund);
      syncUrl();
      render();
    });
    for (const id of ['period', 'indicator', 'measure', 'at']) {
      $(id).addEventListener('change', () => {
        if (id === 'period') $('at').replaceChildren();
        syncUrl();
        render();
      });
    }
    for (const b of document.querySelectorAll('.tab')) {
      b.addEventListener('click', () => { setView(b.dataset.view); render(); });
    }
    $('token-save').addEventListener('click', () => {
      state.token = $('token').value.trim();
      sessionStorage.setItem('finsam.token', state.token);
      $('token-box').hidden = true;
      poll();
    });
    window.addEventListener('resize', onResize);
    setView(view);
    applyLanguage();
    if (params.get('indicator')) {
      try { state.catalogue = await api('/api/catalogue'); fillIndicators(); } catch (e) { showError(e); }
      $('indicator').value = params.get('indicator');
    }
    poll();
  });
})();
