/* app.js: the finsam dashboard. Reads the collector's JSON API (the same
 * numbers as `finsamctl query`, disclosure control applied by the server)
 * and draws every chart as inline SVG. Polls every 5 seconds.
 *
 * Every value shown comes from the API; the page never computes a value
 * the server has withheld: a suppressed row has no numbers to compute
 * from, and a change is only shown between two visible values. Text from
 * the API goes into the page through textContent, never as HTML. */
'use strict';

(function () {
  const POLL_MS = 5000;
  const SVG = 'http://www.w3.org/2000/svg';
  const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f',
                  '#bcbd22', '#17becf'];

  const TEXT = {
    sv: {
      title: 'Finsam – indikatorer', tab_indicators: 'Indikatorer', tab_status: 'Status', period: 'Period',
      year: 'År', quarter: 'Kvartal', month: 'Månad', indicator: 'Indikator', all_indicators: 'Alla',
      token_prompt: 'Åtkomsttoken', token_save: 'Spara', updated: 'Uppdaterad', lang: 'English',
      notice: 'Celler med färre än k deltagare visas som undertryckta. Lagrade händelser är pseudonymiserade.',
      suppressed: 'undertryckt', level: 'Nivå', name: 'Namn', value: 'Värde', n: 'n', change: 'Förändring',
      latest: 'Senaste period', compare: 'Projekt jämfört med integrerad samverkan', project: 'Projekt',
      integrated: 'Integrerad samverkan', difference: 'Skillnad', nation: 'Riket', lan: 'Län', forbund: 'Förbund',
      no_data: 'Inga data ännu.', measure: 'Mått', min_units: 'minsta antal', agents: 'Agenter',
      agent: 'Agent (certifikatets namn)', last_seen: 'Senast hörd (UTC)', age: 'Tid sedan', silent: 'tyst', ok: 'ok',
      stored: 'Lagrade händelser', duplicates: 'Dubbletter', batches: 'Satser', rejected: 'Avvisade händelser',
      reasons: 'Avvisade per skäl', file: 'Fil i agents/', fingerprint: 'Nyckelns fingeravtryck',
      queued: 'I kö hos förbundet', not_listed: '(inte på listan)', agents_n: 'Agenter',
      events_in_log: 'Händelser i loggen', silent_agents: 'Tysta agenter', rejects_by_reason: 'Avvisade per skäl',
      uptime: 'Drifttid', last_seq: 'Senaste sekvens', subscribers: 'Prenumeranter', state: 'Läge',
      mean: 'medelvärde', share: 'andel', sum: 'summa', median_days: 'median dagar', mean_change: 'medelförändring',
      error: 'Kunde inte hämta', unauthorized: 'Token krävs', indicator_n: 'Indikator',
    },
    en: {
      title: 'Finsam – indicators', tab_indicators: 'Indicators', tab_status: 'Status', period: 'Period',
      year: 'Year', quarter: 'Quarter', month: 'Month', indicator: 'Indicator', all_indicators: 'All',
      token_prompt: 'Access token', token_save: 'Save', updated: 'Updated', lang: 'Svenska',
      notice: 'Cells with fewer than k participants are shown as suppressed. Stored events are pseudonymized.',
      suppressed: 'suppressed', level: 'Level', name: 'Name', value: 'Value', n: 'n', change: 'Change',
      latest: 'Latest period', compare: 'Project compared with integrated collaboration', project: 'Project',
      integrated: 'Integrated collaboration', difference: 'Difference', nation: 'Nation', lan: 'County',
      forbund: 'Förbund', no_data: 'No data yet.', measure: 'Measure', min_units: 'minimum units',
      agents: 'Agents', agent: 'Agent (certificate name)', last_seen: 'Last seen (UTC)', age: 'Age', silent: 'silent',
      ok: 'ok', stored: 'Events stored', duplicates: 'Duplicates', batches: 'Batches', rejected: 'Events rejected',
      reasons: 'Rejected by reason', file: 'File in agents/', fingerprint: 'Key fingerprint',
      queued: 'Queued at site', not_listed: '(not listed)', agents_n: 'Agents',
      events_in_log: 'Events in log', silent_agents: 'Silent agents', rejects_by_reason: 'Rejects by reason',
      uptime: 'Uptime', last_seq: 'Last sequence', subscribers: 'Subscribers', state: 'State',
      mean: 'mean', share: 'share', sum: 'sum', median_days: 'median days', mean_change: 'mean change',
      error: 'Could not fetch', unauthorized: 'Token required', indicator_n: 'Indicator',
    },
  };

  /* Which value of a row is the headline, per aggregate; shares in %. */
  const HEADLINE = {
    ordinal: {key: 'mean', label: 'mean', share: false},
    share_yes: {key: 'share', label: 'share', share: true},
    share_sustained: {key: 'share', label: 'share', share: true},
    sum: {key: 'sum', label: 'sum', share: false},
    median_days: {key: 'median_days', label: 'median_days', share: false},
    paired_change: {key: 'mean_change', label: 'mean_change', share: false},
    ratio: {key: 'share', label: 'share', share: true},
  };

  const state = {
    lang: localStorage.getItem('finsam.lang') || 'sv',
    view: 'indicators',
    token: sessionStorage.getItem('finsam.token') || '',
    catalogue: null,
    labels: {},
    timer: null,
  };

  const $ = (id) => document.getElementById(id);
  const t = (key) => (TEXT[state.lang] && TEXT[state.lang][key]) || key;

  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null) e.setAttribute(k, v);
    }
    for (const c of children) e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function fmt(v, digits) {
    return v.toLocaleString(state.lang === 'sv' ? 'sv-SE' : 'en-GB',
                            {minimumFractionDigits: digits, maximumFractionDigits: digits});
  }

  /* The headline number of a row, or null when suppressed or withheld. */
  function headline(agg, row) {
    if (!row || row.suppressed) return null;
    const h = HEADLINE[agg] || HEADLINE.ordinal;
    const v = row[h.key];
    if (typeof v !== 'number') return null;
    return h.share ? 100 * v : v;
  }

  function show(agg, v) {
    if (v === null) return '–';
    const h = HEADLINE[agg] || HEADLINE.ordinal;
    if (h.share) return fmt(v, 1) + ' %';
    return agg === 'sum' || agg === 'median_days' ? fmt(v, 0) : fmt(v, 2);
  }

  function showChange(agg, d) {
    if (d === null) return '–';
    const h = HEADLINE[agg] || HEADLINE.ordinal;
    const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
    return sign + (h.share ? fmt(Math.abs(d), 1) + ' pe' : fmt(Math.abs(d), 2));
  }

  async function api(path) {
    const headers = state.token ? {Authorization: 'Bearer ' + state.token} : {};
    const r = await fetch(path, {headers, cache: 'no-store'});
    if (r.status === 401) {
      $('token-box').hidden = false;
      throw new Error(t('unauthorized'));
    }
    if (!r.ok) {
      let msg = r.status + '';
      try { msg += ' ' + (await r.json()).error; } catch (e) { /* not JSON */ }
      throw new Error(msg);
    }
    return r.json();
  }

  /* ---- labels from the catalogue --------------------------------------- */

  /* Every measure has its own label and one-line definition in the
   * catalogue (sv, en, definition_sv, definition_en); the page shows
   * those, never a measure's code. A catalogue without them (an old
   * --catalogue file) falls back to the item's wording, then to the
   * indicator's name. */
  function buildLabels(cat) {
    const items = {};
    for (const instr of Object.values(cat.instruments || {})) {
      for (const [code, item] of Object.entries(instr.items || {})) items[code] = item;
    }
    const labels = {};
    for (const ind of cat.indicators || []) {
      for (const m of ind.measures || []) {
        const item = m.source && m.source.item && items[m.source.item];
        labels[m.id] = {
          sv: m.sv || (item && item.sv) || ind.sv, en: m.en || (item && item.en) || ind.en,
          definition_sv: m.definition_sv || '', definition_en: m.definition_en || '',
        };
      }
    }
    state.labels = labels;
    const sel = $('indicator');
    const current = sel.value;
    while (sel.options.length > 1) sel.remove(1);
    for (const ind of cat.indicators || []) {
      sel.append(el('option', {value: String(ind.id)}, ind.id + ' – ' + (state.lang === 'sv' ? ind.sv : ind.en)));
    }
    sel.value = current;
  }

  /* ---- indicators view ------------------------------------------------- */

  function periodsOf(rows) {
    return [...new Set(rows.map((r) => r.period))].sort();
  }

  function levelName(row) {
    if (row.level === 'nation') return t('nation');
    return row.name;
  }

  function chart(measure) {
    const agg = measure.aggregate;
    const rows = measure.rows.filter((r) => r.level === 'forbund' || r.level === 'nation');
    const periods = periodsOf(rows);
    const W = 640, H = 240, L = 48, R = 120, T = 12, B = 28;
    const root = svg('svg', {viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img',
                             'data-measure': measure.id});
    root.append(svg('title', {}, measureLabel(measure).name));
    const series = new Map();
    for (const r of rows) {
      const key = r.level === 'nation' ? '\u0000nation' : r.name;
      if (!series.has(key)) series.set(key, {name: levelName(r), nation: r.level === 'nation', points: new Map()});
      series.get(key).points.set(r.period, r);
    }
    const values = rows.map((r) => headline(agg, r)).filter((v) => v !== null);
    let lo, hi;
    if (agg === 'ordinal') { lo = 1; hi = 5; } else if ((HEADLINE[agg] || {}).share) { lo = 0; hi = 100; } else {
      lo = Math.min(0, ...values); hi = Math.max(1, ...values);
    }
    if (hi === lo) hi = lo + 1;
    const x = (i) => L + (periods.length <= 1 ? (W - L - R) / 2 : i * (W - L - R) / (periods.length - 1));
    const y = (v) => T + (H - T - B) * (1 - (v - lo) / (hi - lo));
    for (let k = 0; k <= 4; k++) {
      const v = lo + (hi - lo) * k / 4;
      root.append(svg('line', {x1: L, x2: W - R, y1: y(v), y2: y(v), class: 'grid'}));
      root.append(svg('text', {x: L - 6, y: y(v) + 4, class: 'axis', 'text-anchor': 'end'}, fmt(v, agg === 'ordinal' ? 1 : 0)));
    }
    const step = Math.max(1, Math.ceil(periods.length / 8));
    periods.forEach((p, i) => {
      if (i % step === 0 || i === periods.length - 1) {
        root.append(svg('text', {x: x(i), y: H - 8, class: 'axis', 'text-anchor': 'middle'}, p));
      }
    });
    let color = 0, legendY = T + 8;
    const ordered = [...series.values()].sort((a, b) => (b.nation - a.nation) || a.name.localeCompare(b.name));
    for (const s of ordered) {
      const stroke = s.nation ? '#000' : COLORS[color++ % COLORS.length];
      /* A suppressed or missing point breaks the line: nothing is drawn
       * where the server showed nothing. */
      let path = '', open = false, suppressed = 0;
      periods.forEach((p, i) => {
        const row = s.points.get(p);
        if (row && row.suppressed) suppressed++;
        const v = headline(agg, row);
        if (v === null) { open = false; return; }
        path += (open ? 'L' : 'M') + x(i).toFixed(1) + ' ' + y(v).toFixed(1) + ' ';
        open = true;
        const dot = svg('circle', {cx: x(i), cy: y(v), r: s.nation ? 3.5 : 2.5, fill: stroke});
        dot.append(svg('title', {}, `${s.name} ${p}: ${show(agg, v)} (n=${row.n})`));
        root.append(dot);
      });
      if (path) {
        root.append(svg('path', {d: path, stroke, class: s.nation ? 'line nation' : 'line',
                                 'data-series': s.nation ? 'nation' : s.name}));
      }
      const label = s.name + (suppressed ? ` (${suppressed} ${t('suppressed')})` : '');
      root.append(svg('line', {x1: W - R + 8, x2: W - R + 22, y1: legendY - 4, y2: legendY - 4, stroke,
                               class: s.nation ? 'line nation' : 'line'}));
      root.append(svg('text', {x: W - R + 26, y: legendY, class: 'legend'}, label));
      legendY += 14;
    }
    if (!periods.length) {
      root.append(svg('text', {x: W / 2, y: H / 2, class: 'axis', 'text-anchor': 'middle'}, t('no_data')));
    }
    return root;
  }

  function valueCells(agg, row) {
    if (!row) return [el('td', {class: 'num'}, '–'), el('td', {class: 'num'}, '–')];
    if (row.suppressed) {
      return [el('td', {class: 'num suppressed'}, t('suppressed')),
              // "<5" for a small cell; a cell hidden to protect another shows no count at all
              el('td', {class: 'num suppressed'},
                 typeof row.units === 'string' && row.units.startsWith('<') ? row.units : '–')];
    }
    return [el('td', {class: 'num'}, show(agg, headline(agg, row))), el('td', {class: 'num'}, String(row.n))];
  }

  const LEVEL_ORDER = {nation: 0, lan: 1, forbund: 2};
  const byLevel = (a, b) => (LEVEL_ORDER[a.level] - LEVEL_ORDER[b.level]) || a.name.localeCompare(b.name);

  function latestTable(measure) {
    const agg = measure.aggregate;
    const periods = periodsOf(measure.rows);
    const table = el('table', {class: 'latest', 'data-measure': measure.id});
    if (!periods.length) return table;
    const last = periods[periods.length - 1], prev = periods.length > 1 ? periods[periods.length - 2] : null;
    table.append(el('caption', {}, `${t('latest')}: ${last}` + (prev ? ` (${t('change')} ${prev} → ${last})` : '')));
    table.append(el('thead', {}, el('tr', {}, el('th', {}, t('level')), el('th', {}, t('name')),
                                     el('th', {}, t(HEADLINE[agg] ? HEADLINE[agg].label : 'value')),
                                     el('th', {}, t('n')), el('th', {}, t('change')))));
    const body = el('tbody');
    for (const row of measure.rows.filter((r) => r.period === last).sort(byLevel)) {
      const before = prev && measure.rows.find((r) => r.period === prev && r.level === row.level && r.name === row.name);
      const a = headline(agg, row), b = headline(agg, before);
      const tr = el('tr', {class: row.level, 'data-name': row.name, 'data-suppressed': String(row.suppressed)},
                    el('td', {}, t(row.level)), el('td', {}, levelName(row)), ...valueCells(agg, row),
                    el('td', {class: 'num'}, showChange(agg, a !== null && b !== null ? a - b : null)));
      body.append(tr);
    }
    table.append(body);
    return table;
  }

  function compareTable(measure, project, integrated) {
    const agg = measure.aggregate;
    const table = el('table', {class: 'compare', 'data-measure': measure.id});
    const periods = periodsOf([...project.rows, ...integrated.rows]);
    if (!periods.length) return table;
    const last = periods[periods.length - 1];
    table.append(el('caption', {}, `${t('compare')}: ${last}`));
    table.append(el('thead', {}, el('tr', {}, el('th', {}, t('name')), el('th', {colspan: 2}, t('project')),
                                     el('th', {colspan: 2}, t('integrated')), el('th', {}, t('difference')))));
    const names = new Map();
    for (const r of [...project.rows, ...integrated.rows]) {
      if (r.period === last && r.level !== 'lan') names.set(r.level + '/' + r.name, r);
    }
    const body = el('tbody');
    for (const r of [...names.values()].sort(byLevel)) {
      const find = (m) => m.rows.find((x) => x.period === last && x.level === r.level && x.name === r.name);
      const p = find(project), i = find(integrated);
      const a = headline(agg, p), b = headline(agg, i);
      body.append(el('tr', {class: r.level, 'data-name': r.name}, el('td', {}, levelName(r)), ...valueCells(agg, p),
                     ...valueCells(agg, i), el('td', {class: 'num'}, showChange(agg, a !== null && b !== null ? a - b : null))));
    }
    table.append(body);
    return table;
  }

  /* A measure's name and definition in the page's language: the API's
   * own fields, else the catalogue's. */
  function measureLabel(m) {
    const sv = state.lang === 'sv', l = state.labels[m.id] || {};
    return {
      name: (sv ? m.sv : m.en) || (sv ? l.sv : l.en) || (sv ? m.indicator_sv : m.indicator_en) || t('measure'),
      definition: (sv ? m.definition_sv : m.definition_en) || (sv ? l.definition_sv : l.definition_en) || '',
    };
  }

  function renderIndicators(all, project, integrated) {
    const view = $('view-indicators');
    const filter = $('indicator').value;
    const frag = document.createDocumentFragment();
    const byId = (res) => new Map(res.measures.map((m) => [m.id, m]));
    const pm = byId(project), im = byId(integrated);
    let lastIndicator = null;
    for (const m of all.measures) {
      if (filter && String(m.indicator) !== filter) continue;
      if (m.indicator !== lastIndicator) {
        const ind = (state.catalogue && (state.catalogue.indicators || []).find((x) => x.id === m.indicator)) || {};
        const name = state.lang === 'sv' ? (m.indicator_sv || ind.sv) : (m.indicator_en || ind.en);
        frag.append(el('h2', {class: 'indicator'}, `${t('indicator_n')} ${m.indicator}: ${name || ''}`));
        lastIndicator = m.indicator;
      }
      const label = measureLabel(m);
      const card = el('article', {class: 'measure', 'data-measure': m.id}, el('h3', {}, label.name));
      if (label.definition) card.append(el('p', {class: 'definition'}, label.definition));
      card.append(el('p', {class: 'meta'}, `${t(HEADLINE[m.aggregate] ? HEADLINE[m.aggregate].label : 'value')} · ` +
                     `${t('min_units')} ${m.min_units}`));
      card.append(chart(m), latestTable(m));
      if (pm.has(m.id) && im.has(m.id)) card.append(compareTable(m, pm.get(m.id), im.get(m.id)));
      frag.append(card);
    }
    view.replaceChildren(frag);
  }

  /* ---- status view ----------------------------------------------------- */

  function age(s) {
    if (s < 0) return '–';
    if (s < 120) return s + ' s';
    if (s < 7200) return Math.round(s / 60) + ' min';
    if (s < 172800) return Math.round(s / 3600) + ' h';
    return Math.round(s / 86400) + ' d';
  }

  function reasons(obj) {
    return Object.entries(obj || {}).map(([k, v]) => `${k}=${v}`).join(', ') || '–';
  }

  function renderStatus(st) {
    const view = $('view-status');
    const frag = document.createDocumentFragment();
    const summary = el('dl', {class: 'summary'});
    const add = (k, v) => summary.append(el('dt', {}, t(k)), el('dd', {}, String(v)));
    add('events_in_log', st.events_in_log);
    add('silent_agents', st.silent_agents);
    if (st.collector) {
      add('uptime', age(st.collector.uptime_s));
      add('last_seq', st.collector.last_seq);
      add('subscribers', st.collector.subscribers);
    }
    add('rejects_by_reason', reasons(st.rejects_by_reason));
    frag.append(summary);
    frag.append(el('h2', {}, t('forbund')));
    const ft = el('table', {class: 'status-forbund'});
    ft.append(el('thead', {}, el('tr', {}, ...['forbund', 'agents_n', 'stored', 'rejected', 'age', 'state']
                                                  .map((k) => el('th', {}, t(k))))));
    const fb = el('tbody');
    for (const f of st.forbund || []) {
      fb.append(el('tr', {class: f.silent ? 'silent' : ''}, el('td', {}, f.forbund), el('td', {class: 'num'}, f.agents),
                   el('td', {class: 'num'}, f.events_stored), el('td', {class: 'num'}, f.rejected),
                   el('td', {class: 'num'}, age(f.last_seen_age_s)), el('td', {}, f.silent ? t('silent') : t('ok'))));
    }
    ft.append(fb);
    frag.append(ft);
    frag.append(el('h2', {}, t('agents')));
    const at = el('table', {class: 'status-agents'});
    at.append(el('thead', {}, el('tr', {}, ...['forbund', 'agent', 'file', 'fingerprint', 'last_seen', 'age', 'state',
                                                'stored', 'duplicates', 'batches', 'queued', 'rejected', 'reasons']
                                                .map((k) => el('th', {}, t(k))))));
    const ab = el('tbody');
    for (const a of st.agents || []) {
      ab.append(el('tr', {class: (a.silent ? 'silent' : '') + (a.rejected ? ' rejects' : ''), 'data-forbund': a.forbund},
                   el('td', {}, a.forbund), el('td', {}, a.name || t('not_listed')), el('td', {}, a.file || '–'),
                   el('td', {class: 'key', title: a.agent}, a.fingerprint || '?'),
                   el('td', {}, a.last_seen), el('td', {class: 'num'}, age(a.last_seen_age_s)),
                   el('td', {}, a.silent ? t('silent') : t('ok')), el('td', {class: 'num'}, a.events_stored),
                   el('td', {class: 'num'}, a.duplicates), el('td', {class: 'num'}, a.batches),
                   el('td', {class: 'num'}, a.pending_at_agent), el('td', {class: 'num'}, a.rejected),
                   el('td', {}, reasons(a.rejects))));
    }
    at.append(ab);
    frag.append(at);
    view.replaceChildren(frag);
  }

  /* ---- loop ------------------------------------------------------------ */

  async function refresh() {
    clearTimeout(state.timer);
    const err = $('error');
    try {
      if (!state.catalogue) {
        state.catalogue = await api('/api/catalogue');
        buildLabels(state.catalogue);
      }
      if (state.view === 'indicators') {
        const period = encodeURIComponent($('period').value);
        const q = (slice) => api(`/api/indicators?period=${period}&slice=${encodeURIComponent(slice)}`);
        const [all, project, integrated] = await Promise.all([q('all'), q('mode=project'), q('mode=integrated')]);
        renderIndicators(all, project, integrated);
      } else {
        renderStatus(await api('/api/status'));
      }
      err.hidden = true;
      $('updated').textContent = new Date().toLocaleTimeString(state.lang === 'sv' ? 'sv-SE' : 'en-GB');
      document.body.dataset.loaded = 'true';
    } catch (e) {
      err.textContent = `${t('error')}: ${e.message}`;
      err.hidden = false;
    }
    state.timer = setTimeout(refresh, POLL_MS);
  }

  function applyLanguage() {
    document.documentElement.lang = state.lang;
    for (const e of document.querySelectorAll('[data-i18n]')) e.textContent = t(e.dataset.i18n);
    $('lang').textContent = t('lang');
    $('lang').lang = state.lang === 'sv' ? 'en' : 'sv';
    if (state.catalogue) buildLabels(state.catalogue);
  }

  function setView(view) {
    state.view = view;
    $('view-indicators').hidden = view !== 'indicators';
    $('view-status').hidden = view !== 'status';
    $('tab-indicators').classList.toggle('active', view === 'indicators');
    $('tab-status').classList.toggle('active', view === 'status');
    refresh();
  }

  document.addEventListener('DOMContentLoaded', () => {
    const params = new URLSearchParams(location.search);
    if (params.get('lang') === 'en' || params.get('lang') === 'sv') state.lang = params.get('lang');
    if (['year', 'quarter', 'month'].includes(params.get('period'))) $('period').value = params.get('period');
    $('lang').addEventListener('click', () => {
      state.lang = state.lang === 'sv' ? 'en' : 'sv';
      localStorage.setItem('finsam.lang', state.lang);
      applyLanguage();
      refresh();
    });
    $('period').addEventListener('change', refresh);
    $('indicator').addEventListener('change', refresh);
    $('tab-indicators').addEventListener('click', () => setView('indicators'));
    $('tab-status').addEventListener('click', () => setView('status'));
    $('token-save').addEventListener('click', () => {
      state.token = $('token').value.trim();
      sessionStorage.setItem('finsam.token', state.token);
      $('token-box').hidden = true;
      refresh();
    });
    applyLanguage();
    setView(params.get('view') === 'status' ? 'status' : 'indicators');
  });
})();
