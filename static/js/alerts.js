// /alerts: the alerts that are not OK on the hosts the user may see, kept current from
// the WebSocket stream; filters by severity, host and plugin live in the URL. Agent
// text goes in through textContent only.
import { slashFocuses } from './keys.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const alerts = new Map(); // "host\npath" -> alert
const filter = { severity: '', host: '', plugin: '' };
const RANK = { CRITICAL: 0, UNKNOWN: 1, WARNING: 2, OK: 3 };
let pending = false;

function readUrl() {
  const p = new URLSearchParams(location.search);
  for (const k of Object.keys(filter)) {
    filter[k] = p.get(k) ?? '';
    $(k).value = filter[k];
  }
}

function writeUrl() {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(filter)) if (v) p.set(k, v);
  const query = p.toString();
  history.replaceState(null, '', query ? `?${query}` : location.pathname);
}

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

function link(text, href) {
  const td = document.createElement('td');
  const a = document.createElement('a');
  a.textContent = text;
  a.href = href;
  td.append(a);
  return td;
}

function draw() {
  pending = false;
  const counts = { CRITICAL: 0, WARNING: 0, UNKNOWN: 0 };
  const shown = [];
  for (const a of alerts.values()) {
    if (a.level === 'OK') continue;
    counts[a.level] = (counts[a.level] ?? 0) + 1;
    if (filter.severity && a.level !== filter.severity.toUpperCase()) continue;
    if (filter.host && !a.host.toLowerCase().includes(filter.host.toLowerCase())) continue;
    const plugin = a.path.split('.')[0];
    if (filter.plugin && !plugin.toLowerCase().includes(filter.plugin.toLowerCase())) continue;
    shown.push(a);
  }
  shown.sort((a, b) => (RANK[a.level] - RANK[b.level]) || (a.since - b.since));
  $('summary').textContent =
    `${counts.CRITICAL} critical · ${counts.WARNING} warning · ${counts.UNKNOWN} unknown · ${shown.length} shown`;
  const body = $('alerts');
  const rows = shown.slice(0, 2000).map((a) => {
    const tr = document.createElement('tr');
    tr.className = `level-${a.level}`;
    tr.dataset.host = a.host;
    tr.append(
      cell(a.level, `state state-${a.level === 'CRITICAL' ? 'DOWN' : a.level === 'WARNING' ? 'UNKNOWN' : 'UP'}`),
      link(a.host, `/hosts/${encodeURIComponent(a.host)}`),
      link(a.path, `/hosts/${encodeURIComponent(a.host)}?path=${encodeURIComponent(a.path)}#history-title`), cell(new Date(a.since).toLocaleString()),
      cell(a.value ?? a.detail ?? '—'), cell(a.threshold ?? '—'), cell(String(a.reminders)),
    );
    return tr;
  });
  body.replaceChildren(...rows);
  $('none').hidden = shown.length > 0;
}

function schedule() {
  if (!pending) {
    pending = true;
    requestAnimationFrame(draw);
  }
}

readUrl();
for (const k of Object.keys(filter)) {
  $(k).addEventListener('input', () => { filter[k] = $(k).value; writeUrl(); schedule(); });
}
logoutButton();
slashFocuses($('host'));
connect({
  onSnapshot: (m) => {
    alerts.clear();
    for (const a of m.alerts) alerts.set(`${a.host}\n${a.path}`, a);
    schedule();
  },
  onUpdates: (updates) => {
    for (const u of updates) {
      if (u.type !== 'alert') continue;
      const key = `${u.host}\n${u.path}`;
      if (u.state) alerts.set(key, u.state);
      else alerts.delete(key);
    }
    schedule();
  },
  status: $('connection'),
});
