// /plugins: find a host, pick a plugin, and see each numeric metric charted over a
// range (uPlot, vendored; global `uPlot`). The server thins the history to two points
// per pixel of the chart's width. Charts refresh every 15 s in place: a zoomed chart
// keeps its zoom (and fetches the zoomed range at full detail), and the page keeps its
// scroll. Host, plugin and range live in the URL. Agent text goes in through
// textContent only.
import { api, enc, mayView } from './api.js';
import { slashFocuses } from './keys.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const RANGES = { '15m': 900, '1h': 3600, '6h': 21600, '24h': 86400, '7d': 604800, '30d': 2592000, all: null };
const REFRESH_MS = 15000;
const state = { host: '', plugin: '', range: '1h' };
const charts = new Map(); // metric path -> { plot, box }
let zoom = null; // { min, max } in seconds while the user has zoomed in
let refreshing = false;
let latest = {}; // plugin -> its latest report, for the host picked

// Perfdata's bounds (a check's own warn and crit ranges, min and max) are not metrics:
// they become lines on their value's chart, not charts of their own.
const BOUND = /\.perfdata\.\d+\.(warn|crit)\.(start|end|inside)$|\.perfdata\.\d+\.(min|max)$/;
const PERF_VALUE = /^(.*)\.perfdata\.(\d+)\.value$/;

// The perfdata item behind `path` in the latest report, if it is one's value.
function perfItem(path) {
  const m = PERF_VALUE.exec(path);
  if (!m) return null;
  let v = latest[state.plugin]?.data;
  for (const k of m[1].split('.')) v = v?.[k];
  return v?.perfdata?.[Number(m[2])] ?? null;
}

// What a person calls a metric: a check's perfdata by its label and unit.
function labelOf(path) {
  const item = perfItem(path);
  if (!item) return path;
  const check = PERF_VALUE.exec(path)[1];
  return `${check} ${item.label}${item.uom ? ` (${item.uom})` : ''}`;
}

// Threshold lines: the daemon's rule for the metric, else the check's own ranges.
function linesOf(path, thresholds) {
  const t = thresholds?.[path];
  if (t) {
    return [['warning', t.warning, t.operator], ['critical', t.critical, t.operator]]
      .filter(([, v]) => v != null);
  }
  const item = perfItem(path);
  if (!item) return [];
  const bound = (r) => (r ? (r.end ?? r.start) : null);
  return [['warning', bound(item.warn), ''], ['critical', bound(item.crit), '']].filter(([, v]) => v != null);
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  state.host = p.get('host') ?? '';
  state.plugin = p.get('plugin') ?? '';
  state.range = RANGES[p.get('range')] !== undefined ? p.get('range') : '1h';
  $('range').value = state.range;
}

function writeUrl() {
  const p = new URLSearchParams();
  if (state.host) p.set('host', state.host);
  if (state.plugin) p.set('plugin', state.plugin);
  if (state.range !== '1h') p.set('range', state.range);
  const query = p.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function item(text, selected, onPick, extra) {
  const li = document.createElement('li');
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  if (selected) b.setAttribute('aria-current', 'true');
  b.addEventListener('click', onPick);
  li.append(b);
  if (extra) li.append(extra);
  return li;
}

async function findHosts() {
  const q = $('q').value.trim();
  const page = await api(`/api/0/hosts?limit=50${q ? `&name=${enc(q)}` : ''}`);
  $('hosts').replaceChildren(...page.hosts.map((h) => {
    const s = document.createElement('span');
    s.className = `state state-${h.state}`;
    s.textContent = h.state;
    return item(h.name, h.name === state.host, () => pickHost(h.name), s);
  }));
}

async function listPlugins() {
  $('plugins-title').hidden = !state.host;
  if (!state.host) { $('plugins').replaceChildren(); return; }
  try {
    await mayView(state.host);
  } catch (e) {
    $('info').textContent = e.message;
    $('plugins').replaceChildren();
    return;
  }
  const p = await api(`/api/0/hosts/${enc(state.host)}/plugins`);
  latest = p.plugins;
  $('plugins').replaceChildren(...Object.entries(p.plugins).map(([name, report]) => {
    const s = document.createElement('span');
    s.className = `state level-${report.status ?? ''}`;
    s.textContent = report.status ?? report.kind;
    return item(name, name === state.plugin, () => pickPlugin(name), s);
  }));
  summary();
}

function cells(...texts) {
  const tr = document.createElement('tr');
  for (const t of texts) {
    const td = document.createElement('td');
    if (t instanceof Node) td.append(t); else td.textContent = t ?? '—';
    tr.append(td);
  }
  return tr;
}

function table(head, rows) {
  const t = document.createElement('table');
  const h = document.createElement('tr');
  for (const text of head) {
    const th = document.createElement('th');
    th.textContent = text;
    h.append(th);
  }
  const thead = document.createElement('thead');
  thead.append(h);
  const body = document.createElement('tbody');
  body.append(...rows);
  t.append(thead, body);
  return t;
}

function level(status) {
  const s = document.createElement('span');
  s.className = `state level-${status}`;
  s.textContent = status;
  return s;
}

const number = (v) => (typeof v === 'number' ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : v);

// Numeric leaves of a report, as the charts name them (bounds left out).
function leaves(data, prefix = '', out = []) {
  for (const [k, v] of Object.entries(data ?? {})) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'number') { if (!BOUND.test(path)) out.push([path, v]); } else if (v && typeof v === 'object') leaves(v, path, out);
  }
  return out;
}

// First what a person asks: is it fine, and why not. A host picked alone: each plugin
// with its status and message; a plugin: its status and message (a Nagios runner's,
// check by check), then its latest values.
function summary() {
  const box = $('summary');
  if (!state.host) { box.replaceChildren(); return; }
  if (!state.plugin) {
    const rows = Object.entries(latest).map(([name, r]) => {
      const pick = document.createElement('button');
      pick.type = 'button';
      pick.textContent = name;
      pick.addEventListener('click', () => pickPlugin(name));
      return cells(pick, r.status ? level(r.status) : r.kind, r.data?.message ?? r.data?.error ?? '');
    });
    box.replaceChildren(table(['Plugin', 'Status', 'Message'], rows));
    return;
  }
  const r = latest[state.plugin];
  if (!r) { box.replaceChildren(); return; }
  const parts = [];
  const checks = Object.entries(r.data ?? {}).filter(([, v]) => v && typeof v === 'object' && 'status' in v && 'text' in v);
  if (checks.length) {
    parts.push(table(['Check', 'Status', 'Output'], checks.map(([name, c]) => {
      const row = cells(name, level(c.status), c.text);
      row.dataset.check = name;
      return row;
    })));
  } else if (r.status) {
    const p = document.createElement('p');
    p.className = 'verdict';
    p.append(level(r.status), ' ', r.data?.message ?? r.data?.error ?? '');
    parts.push(p);
  }
  const values = leaves(r.data).filter(([path]) => !/\.exit_code$|\.duration_ms$/.test(path));
  if (values.length) {
    parts.push(table(['Latest', 'Value', 'Across hosts'], values.map(([path, v]) => {
      const b = document.createElement('button');
      b.type = 'button';
      b.textContent = 'top hosts';
      b.addEventListener('click', () => showTop(path).catch((e) => { $('top').textContent = e.message; }));
      const row = cells(labelOf(path), number(v), b);
      row.dataset.path = path;
      return row;
    })));
  }
  const top = document.createElement('div');
  top.id = 'top';
  parts.push(top);
  box.replaceChildren(...parts);
}

// The hosts with the highest latest value of one metric, among those the user sees.
async function showTop(path) {
  const list = await api(`/api/0/plugins/${enc(state.plugin)}/top?path=${enc(path)}&limit=10`);
  const h = document.createElement('h2');
  h.textContent = `Top hosts by ${labelOf(path)}`;
  const rows = list.map((e) => {
    const pick = document.createElement('button');
    pick.type = 'button';
    pick.textContent = e.host;
    pick.addEventListener('click', () => { state.host = e.host; pickPlugin(state.plugin); findHosts(); });
    const row = cells(pick, number(e.value));
    row.dataset.host = e.host;
    return row;
  });
  $('top').replaceChildren(h, table(['Host', 'Value'], rows));
}

function pickHost(name) {
  state.host = name;
  state.plugin = '';
  latest = {};
  writeUrl();
  findHosts();
  listPlugins();
  clearCharts();
  $('title').textContent = name;
}

function pickPlugin(name) {
  state.plugin = name;
  zoom = null;
  writeUrl();
  listPlugins();
  clearCharts();
  refresh();
}

function clearCharts() {
  for (const { plot } of charts.values()) plot.destroy();
  charts.clear();
  $('charts').replaceChildren();
  $('empty').hidden = true;
  $('unzoom').hidden = true;
}

function colours() {
  const css = getComputedStyle(document.documentElement);
  return { fg: css.getPropertyValue('--fg').trim(), line: css.getPropertyValue('--line').trim(), accent: css.getPropertyValue('--accent').trim() };
}

function newChart(path, box, lines) {
  const c = colours();
  const axis = { stroke: c.fg, grid: { stroke: c.line, width: 1 }, ticks: { stroke: c.line } };
  const css = getComputedStyle(document.documentElement);
  const lineColour = { warning: css.getPropertyValue('--warn').trim(), critical: css.getPropertyValue('--down').trim() };
  const opts = {
    width: Math.max(box.clientWidth, 200),
    height: 180,
    legend: { show: true },
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true } },
    axes: [axis, { ...axis, size: 70 }],
    series: [{}, { label: labelOf(path), stroke: c.accent, width: 1.5, points: { show: false } },
      ...lines.map(([name, value, op]) => ({
        label: `${name} ${op} ${number(value)}`.replace('  ', ' '), stroke: lineColour[name], width: 1, dash: [6, 4], points: { show: false },
      }))],
    hooks: {
      setSelect: [(u) => {
        if (u.select.width < 2) return;
        const min = u.posToVal(u.select.left, 'x');
        const max = u.posToVal(u.select.left + u.select.width, 'x');
        zoomTo({ min, max });
        u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
      }],
    },
  };
  return new uPlot(opts, [[], []], box);
}

function zoomTo(range) {
  zoom = range;
  $('unzoom').hidden = !zoom;
  refresh();
}

// Fetches the range (or the zoom) at the charts' width and updates them in place.
async function refresh() {
  if (!state.host || !state.plugin || refreshing) return;
  refreshing = true;
  try {
    await mayView(state.host);
    const width = Math.max(200, Math.min(4000, Math.round($('charts').clientWidth || 800)));
    const now = Date.now() / 1000;
    let query = `width=${width}`;
    if (zoom) query += `&since=${zoom.min}&until=${zoom.max}`;
    else if (RANGES[state.range]) query += `&since=${now - RANGES[state.range]}&until=${now}`;
    const s = await api(`/api/0/hosts/${enc(state.host)}/plugins/${enc(state.plugin)}/series?${query}`);
    if (s.host !== state.host || s.plugin !== state.plugin) return;
    $('title').textContent = `${s.host} · ${s.plugin}`;
    // What is shown, for whoever checks the page (the browser tests do).
    Object.assign($('charts').dataset, { since: s.since, until: s.until, refreshes: Number($('charts').dataset.refreshes ?? 0) + 1 });
    const from = s.source === 'tsdb' ? ' from the TSDB' : '';
    $('info').textContent = `${s.reports} reports${from}, ${new Date(s.since).toLocaleString()} – ${new Date(s.until).toLocaleString()}`;
    // Key metrics first: those that move, then those that held still in the range.
    const still = (m) => m.v.length > 0 && m.v.every((v) => v === m.v[0]);
    const paths = Object.keys(s.metrics)
      .filter((p) => !BOUND.test(p))
      // A Nagios check's exit code is its status, shown above as words.
      .filter((p) => !(state.plugin === 'nagios_runner' && p.endsWith('.exit_code')))
      .sort((a, b) => (still(s.metrics[a]) - still(s.metrics[b])) || (a < b ? -1 : 1));
    // A host whose first report is newer than the range's start (a new host) is drawn
    // from that report on, not squeezed into the right edge of an hour.
    const start = !zoom && s.first != null && s.first > s.since
      ? Math.max(s.since, s.first - (s.until - s.first) * 0.02)
      : s.since;
    $('charts').dataset.start = start;
    // A metric with nothing in the range: an empty chart while zoomed (zooming out
    // brings its line back), gone otherwise.
    for (const [path, chart] of charts) {
      if (path in s.metrics) continue;
      if (zoom) chart.plot.setData([[], []], false);
      else { chart.plot.destroy(); chart.box.remove(); charts.delete(path); }
    }
    $('empty').hidden = paths.length > 0 || charts.size > 0;
    for (const path of paths) {
      const m = s.metrics[path];
      const lines = linesOf(path, s.thresholds);
      const linesKey = JSON.stringify(lines);
      let chart = charts.get(path);
      if (chart && chart.linesKey !== linesKey) {
        chart.plot.destroy();
        chart.box.remove();
        charts.delete(path);
        chart = null;
      }
      if (!chart) {
        const box = document.createElement('figure');
        box.className = 'chart';
        box.setAttribute('aria-label', labelOf(path));
        box.dataset.path = path;
        chart = { box, plot: newChart(path, box, lines), linesKey };
        charts.set(path, chart);
      }
      // In order: appending moves a chart already shown.
      $('charts').append(chart.box);
      const t = m.t.map((x) => x / 1000);
      chart.plot.setData([t, m.v, ...lines.map(([, v]) => t.map(() => v))], false);
      chart.plot.setScale('x', { min: start / 1000, max: s.until / 1000 });
    }
  } catch (e) {
    $('info').textContent = String(e.message ?? e);
  } finally {
    refreshing = false;
  }
}

readUrl();
logoutButton();
slashFocuses($('q'));
$('q').addEventListener('input', () => findHosts());
$('range').addEventListener('change', () => {
  state.range = $('range').value;
  zoom = null;
  $('unzoom').hidden = true;
  writeUrl();
  refresh();
});
$('unzoom').addEventListener('click', () => zoomTo(null));
new ResizeObserver(() => {
  for (const { plot, box } of charts.values()) plot.setSize({ width: Math.max(box.clientWidth, 200), height: 180 });
}).observe($('charts'));
matchMedia('(prefers-color-scheme: dark)').addEventListener('change', () => {
  const keep = state.plugin;
  clearCharts();
  state.plugin = keep;
  refresh();
});
findHosts();
listPlugins();
if (state.host && !state.plugin) $('title').textContent = state.host;
refresh();
setInterval(() => { if (!document.hidden) refresh(); }, REFRESH_MS);
// The stream shows the connection and, when a report of this plugin arrives, refreshes.
connect({
  onSnapshot: () => {},
  onUpdates: (updates) => {
    // The store writes reports about once a second: fetch once it holds this one.
    if (updates.some((u) => u.type === 'plugin' && u.host === state.host && u.plugin === state.plugin)) {
      setTimeout(refresh, 1500);
      listPlugins().catch(() => {});
    }
  },
  status: $('connection'),
});
