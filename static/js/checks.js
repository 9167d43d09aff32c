// /checks: each check run from several vantage points (`checks` in the config), its
// combined state and quorum, and every vantage point's answer and latency. Re-read when
// the live stream says a vantage point reported, a check changed or a host moved; a
// slow poll besides. Agent text goes in through textContent only.
import { api } from './api.js';
import { span } from './time.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const CLASS = { OK: 'UP', CRITICAL: 'DOWN', WARNING: 'UNKNOWN', UNKNOWN: 'UNKNOWN' };
let plugins = new Set(); // the plugins the checks read, for the stream's updates
let pending = null;

function el(tag, text, className) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (className) e.className = className;
  return e;
}

const ms = (v) => (typeof v === 'number' ? `${v.toLocaleString(undefined, { maximumFractionDigits: 1 })} ms` : '—');
const ago = (iso) => `${span(Math.max(0, Math.floor((Date.now() - Date.parse(iso)) / 1000)))} ago`;

function vantageRow(v) {
  const tr = el('tr');
  tr.className = v.counted ? `level-${v.level}` : 'muted';
  tr.dataset.host = v.host;
  const host = el('td');
  const a = el('a', v.host);
  a.href = `/hosts/${encodeURIComponent(v.host)}`;
  host.append(a);
  tr.append(
    host,
    el('td', v.host_state, `state state-${v.host_state}`),
    el('td', v.level, `state state-${CLASS[v.level] ?? 'UNKNOWN'}`),
    el('td', v.counted ? 'yes' : `no (${v.host_state.toLowerCase()})`),
    el('td', ms(v.latency_ms), 'number'),
    el('td', v.detail ?? ''),
    el('td', ago(v.at)),
  );
  return tr;
}

function checkSection(c) {
  const section = el('section');
  section.id = c.name;
  section.dataset.level = c.level;
  const h = el('h2');
  h.append(el('span', c.level, `state state-${CLASS[c.level] ?? 'UNKNOWN'}`), ` ${c.name}`);
  section.append(h);
  const since = c.since ? `, since ${new Date(c.since).toLocaleString()}` : '';
  section.append(el('p',
    `${c.plugin} from the group ${c.group}: ${c.agreeing} of ${c.counted} counted vantage points agree (quorum ${c.quorum})${since}`,
    'counts'));
  const table = el('table');
  const head = el('tr');
  for (const t of ['Vantage point', 'Host', 'Answer', 'Counted', 'Latency', 'What it said', 'When']) head.append(el('th', t));
  table.append(el('thead'), el('tbody'));
  table.tHead.append(head);
  table.tBodies[0].append(...c.vantage.map(vantageRow));
  section.append(table);
  return section;
}

async function refresh() {
  pending = null;
  const checks = await api('/api/0/checks');
  plugins = new Set(checks.map((c) => c.plugin.split('.')[0]));
  $('no-checks').hidden = checks.length > 0;
  $('checks').replaceChildren(...checks.map(checkSection));
}

function soon() {
  if (!pending) pending = setTimeout(() => refresh().catch(() => {}), 500);
}

logoutButton();
await refresh();
setInterval(soon, 30000);
connect({
  status: $('connection'),
  onSnapshot: soon,
  onUpdates: (updates) => {
    const moved = (u) => (u.type === 'plugin' && plugins.has(u.plugin))
      || (u.type === 'alert' && u.host.startsWith('check:'))
      || u.type === 'event';
    if (updates.some(moved)) soon();
  },
});
