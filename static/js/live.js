// /live: every host the user may see, kept current from the WebSocket stream
// (docs/WEBSOCKET.md). Only the rows in view exist in the DOM, so 10,000 hosts scroll
// smoothly; changes are drawn at most once per animation frame. Every text from agents
// goes in through textContent, never as HTML.

import { api } from './api.js';
import { relative } from './time.js';
import { slashFocuses } from './keys.js';
import { connect, logoutButton } from './stream.js';

const ROW = 28;           // px, as .row in hbd.css
const FEED_MAX = 200;     // events kept in the feed
const $ = (id) => document.getElementById(id);

const hosts = new Map();  // name -> {name, state, last_seen, rtt_ms, version, arch, uptime_s}
const alerts = new Map(); // host -> Map(path -> level), alerts that are not OK
let view = [];            // names after filter and sort
let viewDirty = true;
let drawPending = false;

const filter = { state: '', q: '', sort: 'problems' };

// Worst first: a DOWN host, then alerts by level, then hosts never heard from.
const LEVEL_RANK = { CRITICAL: 2, WARNING: 3, UNKNOWN: 4 };
const STATE_RANK = { DOWN: 0, UNREACHABLE: 1, UNKNOWN: 5 };

// A host's alerts that are not OK: how many, and the worst level.
function worst(name) {
  const paths = alerts.get(name);
  if (!paths || paths.size === 0) return null;
  let level = 'UNKNOWN';
  for (const l of paths.values()) if (LEVEL_RANK[l] < LEVEL_RANK[level]) level = l;
  return { count: paths.size, level };
}

function rank(h) {
  const w = worst(h.name);
  return Math.min(STATE_RANK[h.state] ?? 6, w ? LEVEL_RANK[w.level] ?? 6 : 6);
}

function readUrl() {
  const p = new URLSearchParams(location.search);
  filter.state = p.get('state') ?? '';
  filter.q = p.get('q') ?? '';
  filter.sort = p.get('sort') ?? 'problems';
  $('state').value = filter.state;
  $('q').value = filter.q;
}

function writeUrl() {
  const p = new URLSearchParams();
  if (filter.state) p.set('state', filter.state);
  if (filter.q) p.set('q', filter.q);
  if (filter.sort !== 'problems') p.set('sort', filter.sort);
  const query = p.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

// A clock a little ahead of ours still reads as just now.
const ago = (t) => (t == null ? '—' : relative(Math.min(0, t - Date.now())));

function duration(s) {
  if (s == null) return '—';
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

function schedule(changedView) {
  if (changedView) viewDirty = true;
  if (!drawPending) {
    drawPending = true;
    requestAnimationFrame(draw);
  }
}

function rebuildView() {
  const q = filter.q.toLowerCase();
  view = [];
  const counts = { UP: 0, DOWN: 0, UNREACHABLE: 0, UNKNOWN: 0 };
  let alerting = 0;
  for (const h of hosts.values()) {
    counts[h.state] = (counts[h.state] ?? 0) + 1;
    if (alerts.get(h.name)?.size) alerting++;
    if (filter.state && h.state !== filter.state) continue;
    if (q && !h.name.toLowerCase().includes(q)) continue;
    view.push(h);
  }
  const key = filter.sort;
  const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  view.sort((a, b) => {
    if (key === 'name') return byName(a, b);
    if (key === 'problems') return rank(a) - rank(b) || byName(a, b);
    if (key === 'state') return (a.state.localeCompare(b.state)) || (a.name < b.name ? -1 : 1);
    const x = a[key] ?? -Infinity, y = b[key] ?? -Infinity;
    return key === 'last_seen' ? y - x : x - y;
  });
  $('counts').textContent =
    `${hosts.size} hosts · ${counts.UP} up · ${counts.DOWN} down · ${counts.UNREACHABLE} unreachable · ${counts.UNKNOWN} unknown · ${alerting} with alerts · ${view.length} shown`;
  $('spacer').style.height = `${view.length * ROW}px`;
  viewDirty = false;
}

const pool = [];

function rowElement(i) {
  while (pool.length <= i) {
    const row = document.createElement('div');
    row.className = 'row';
    row.setAttribute('role', 'row');
    for (const c of ['name', 'state', 'alerts', 'seen', 'rtt', 'version wide', 'platform wide', 'uptime wide']) {
      // The name links to the host's page (and makes rows reachable by keyboard).
      const cell = document.createElement(c === 'name' ? 'a' : 'span');
      cell.className = c;
      cell.setAttribute('role', 'cell');
      row.append(cell);
    }
    pool.push(row);
    $('rows').append(row);
  }
  return pool[i];
}

function draw() {
  drawPending = false;
  if (viewDirty) rebuildView();
  const viewport = $('viewport');
  const first = Math.floor(viewport.scrollTop / ROW);
  const count = Math.min(view.length - first, Math.ceil(viewport.clientHeight / ROW) + 2);
  $('rows').style.transform = `translateY(${first * ROW}px)`;
  for (let i = 0; i < Math.max(count, 0); i++) {
    const h = view[first + i];
    const row = rowElement(i);
    row.hidden = false;
    row.dataset.host = h.name;
    const [name, state, problems, seen, rtt, version, platform, uptime] = row.children;
    name.textContent = h.name;
    name.href = `/hosts/${encodeURIComponent(h.name)}`;
    state.textContent = h.state;
    state.className = `state state-${h.state}`;
    const w = worst(h.name);
    row.dataset.worst = w ? w.level : '';
    problems.className = w ? `alerts level-${w.level}` : 'alerts';
    problems.title = w ? `${w.count} alert${w.count > 1 ? 's' : ''}, the worst ${w.level}` : '';
    if (w) {
      const n = document.createElement('b');
      n.textContent = w.count;
      const level = document.createElement('span');
      level.className = 'word';
      level.textContent = ` ${w.level}`;
      problems.replaceChildren(n, level);
    } else {
      problems.replaceChildren();
    }
    seen.textContent = ago(h.last_seen);
    rtt.textContent = h.rtt_ms == null ? '—' : `${h.rtt_ms < 100 ? h.rtt_ms.toFixed(1) : Math.round(h.rtt_ms)} ms`;
    version.textContent = h.version ?? '—';
    platform.textContent = h.arch ?? '—';
    uptime.textContent = duration(h.uptime_s);
  }
  for (let i = Math.max(count, 0); i < pool.length; i++) pool[i].hidden = true;
}

// Events shown, so the stored ones the page opens with and the live ones do not repeat.
const shown = new Set();
const eventKey = (u) => `${u.host}|${u.path ?? ''}|${u.event}|${typeof u.at === 'number' ? u.at : Date.parse(u.at)}`;

function feedItem(u) {
  const li = document.createElement('li');
  const time = document.createElement('time');
  time.textContent = new Date(u.at).toLocaleTimeString();
  li.append(time);
  const what = u.event === 'MESSAGE' ? `${u.host}: ${u.text}`
    : u.path ? `${u.host} ${u.path} ${u.event}` : `${u.host} ${u.event}`;
  li.append(document.createTextNode(what));
  li.className = `event-${u.event}`;
  return li;
}

function feed(u) {
  const key = eventKey(u);
  if (shown.has(key)) return;
  shown.add(key);
  const list = $('events');
  list.prepend(feedItem(u));
  while (list.children.length > FEED_MAX) list.lastElementChild.remove();
}

// The latest stored events, below whatever the stream has brought since the page opened.
let preloaded = false;
async function preloadEvents() {
  if (preloaded) return;
  preloaded = true;
  const { events } = await api(`/api/0/events?limit=${FEED_MAX}&alerts=true`);
  const list = $('events');
  for (const stored of events) {
    // A stored alert change reads like a live one: host, path, the level it went to.
    const e = stored.alert ? { host: stored.host, path: stored.path, event: stored.to, at: stored.at } : stored;
    const key = eventKey(e);
    if (shown.has(key) || list.children.length >= FEED_MAX) continue;
    shown.add(key);
    list.append(feedItem(e));
  }
}

function setAlert(host, path, level) {
  let paths = alerts.get(host);
  if (level && level !== 'OK') {
    if (!paths) alerts.set(host, (paths = new Map()));
    paths.set(path, level);
  } else if (paths) {
    paths.delete(path);
    if (paths.size === 0) alerts.delete(host);
  }
}

function snapshot(m) {
  hosts.clear();
  alerts.clear();
  for (const a of m.alerts ?? []) setAlert(a.host, a.path, a.level);
  const c = m.hosts;
  for (let i = 0; i < c.name.length; i++) {
    hosts.set(c.name[i], {
      name: c.name[i], state: c.state[i], last_seen: c.last_seen[i], rtt_ms: c.rtt_ms[i],
      version: c.version[i], arch: c.arch?.[i], uptime_s: c.uptime_s[i],
    });
  }
  schedule(true);
}

function apply(u) {
  if (u.type === 'heartbeat') {
    const h = hosts.get(u.host);
    if (h) {
      h.last_seen = u.last_seen;
      h.rtt_ms = u.rtt_ms;
      if (filter.sort === 'last_seen' || filter.sort === 'rtt_ms') viewDirty = true;
    }
  } else if (u.type === 'alert') {
    const before = alerts.get(u.host)?.get(u.path) ?? 'OK';
    const level = u.state?.level ?? 'OK';
    setAlert(u.host, u.path, level);
    viewDirty = true;
    // A change of level is news; a reminder is not.
    if (level !== before) feed({ host: u.host, event: level, path: u.path, at: u.state?.since ?? Date.now() });
  } else if (u.type === 'event') {
    if (u.record) hosts.set(u.host, u.record);
    else hosts.delete(u.host);
    viewDirty = true;
    feed(u);
  }
}

function controls() {
  $('state').addEventListener('change', () => { filter.state = $('state').value; writeUrl(); schedule(true); });
  $('q').addEventListener('input', () => { filter.q = $('q').value; writeUrl(); schedule(true); });
  for (const b of document.querySelectorAll('[data-sort]')) {
    b.addEventListener('click', () => { filter.sort = b.dataset.sort; writeUrl(); schedule(true); });
  }
  $('viewport').addEventListener('scroll', () => schedule(false), { passive: true });
  addEventListener('resize', () => schedule(false));
  logoutButton();
slashFocuses($('q'));
  // "3 s ago" moves on by itself.
  setInterval(() => schedule(false), 1000);
}

readUrl();
controls();
connect({
  onSnapshot: (m) => {
    snapshot(m);
    preloadEvents().catch(() => { preloaded = false; });
  },
  onUpdates: (updates) => {
    for (const u of updates) apply(u);
    schedule(false);
  },
  status: $('connection'),
});
