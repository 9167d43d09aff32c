// /alerts, the Problems view: DOWN and UNREACHABLE hosts together with the alerts that
// are not OK, on the hosts the user may see, worst first and longest first within a
// severity; kept current from the WebSocket stream. Filters by severity, host and
// plugin live in the URL. Agent text goes in through textContent only.
import { api } from './api.js';
import { ackButton, showAck } from './ack.js';
import { span } from './time.js';
import { slashFocuses } from './keys.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const alerts = new Map(); // "host\npath" -> alert
const hosts = new Map();  // name -> {state, since}: only DOWN and UNREACHABLE hosts
const hostAcks = new Map(); // name -> the acknowledgement of its DOWN / UNREACHABLE
const filter = { severity: '', host: '', plugin: '' };
const RANK = { DOWN: 0, UNREACHABLE: 1, CRITICAL: 2, UNKNOWN: 3, WARNING: 4 };
const CLASS = { DOWN: 'DOWN', UNREACHABLE: 'UNREACHABLE', CRITICAL: 'DOWN', WARNING: 'UNKNOWN', UNKNOWN: 'UNKNOWN' };
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

// "8 min", "3 h 5 min", "2 d 4 h": how long a problem has lasted.
function lasted(since, now = Date.now()) {
  return span(Math.max(0, Math.floor((now - since) / 1000)));
}

const number = (v) => (typeof v === 'number' ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : v);

// Every problem as one row's facts: hosts first, then alerts.
function problems() {
  const all = [];
  for (const [name, h] of hosts) {
    all.push({ severity: h.state, host: name, what: '', since: h.since, value: '—', threshold: '—', reminders: '', ack: hostAcks.get(name) });
  }
  for (const a of alerts.values()) {
    if (a.level === 'OK') continue;
    all.push({
      severity: a.level, host: a.host, what: a.path, since: a.since,
      value: number(a.value ?? a.detail ?? '—'),
      threshold: a.threshold == null ? '—' : `${a.operator ?? ''} ${number(a.threshold)}`.trim(),
      reminders: String(a.reminders), held: a.held, ack: a.ack,
    });
  }
  return all;
}

function draw() {
  pending = false;
  const counts = { CRITICAL: 0, WARNING: 0, UNKNOWN: 0, DOWN: 0, UNREACHABLE: 0 };
  const shown = [];
  const now = Date.now();
  for (const p of problems()) {
    counts[p.severity] = (counts[p.severity] ?? 0) + 1;
    if (filter.severity && p.severity !== filter.severity.toUpperCase()) continue;
    if (filter.host && !p.host.toLowerCase().includes(filter.host.toLowerCase())) continue;
    const plugin = p.what.split('.')[0];
    if (filter.plugin && !plugin.toLowerCase().includes(filter.plugin.toLowerCase())) continue;
    shown.push(p);
  }
  shown.sort((a, b) => (RANK[a.severity] - RANK[b.severity]) || (a.since - b.since));
  $('summary').textContent =
    `${counts.CRITICAL} critical · ${counts.WARNING} warning · ${counts.UNKNOWN} unknown · ${counts.DOWN} down · ${counts.UNREACHABLE} unreachable · ${shown.length} shown`;
  const rows = shown.slice(0, 2000).map((p) => {
    const tr = document.createElement('tr');
    tr.className = `level-${p.severity}`;
    tr.dataset.host = p.host;
    tr.dataset.what = p.what;
    // A check run from several vantage points alerts as `check:NAME`: it has no host
    // page, its answers are on /checks.
    const check = p.host.startsWith('check:') ? `/checks#${encodeURIComponent(p.host.slice(6))}` : null;
    const host = check ?? `/hosts/${encodeURIComponent(p.host)}`;
    const since = cell(lasted(p.since, now));
    since.title = new Date(p.since).toLocaleString();
    tr.append(
      cell(p.severity, `state state-${CLASS[p.severity] ?? 'UNKNOWN'}`),
      link(p.host, host),
      p.what ? link(p.what, check ?? `${host}?path=${encodeURIComponent(p.what)}#history-title`) : cell('host', 'muted'),
      since, cell(p.value), cell(p.threshold),
      cell(p.held ? `held: ${p.held.reason}` : '', 'held'), cell(p.reminders),
      check ? cell('') : ackCell(p),
    );
    return tr;
  });
  $('alerts').replaceChildren(...rows);
  $('none').hidden = shown.length > 0;
}

// The acknowledgement of a problem, or a button to make one (a comment is asked for in
// the row; the API says no to those who may not).
let editing = null; // {key, td}: the row whose acknowledgement form is open, kept across redraws

function ackCell(p) {
  const key = `${p.host}\n${p.what}`;
  if (p.ack && editing?.key === key) editing = null;
  if (editing?.key === key) return editing.td;
  const td = document.createElement('td');
  td.className = 'ack';
  if (p.ack) {
    showAck(td, p.ack);
    return td;
  }
  td.append(ackButton(td, p.host, p.what, { opened: () => { editing = { key, td }; } }));
  return td;
}

async function loadAcks() {
  hostAcks.clear();
  for (const a of await api('/api/0/acks')) if (!a.path) hostAcks.set(a.host, a);
  schedule();
}

function schedule() {
  if (!pending) {
    pending = true;
    requestAnimationFrame(draw);
  }
}

function setHost(name, state, since) {
  if (state === 'DOWN' || state === 'UNREACHABLE') hosts.set(name, { state, since });
  else hosts.delete(name);
}

// What holds notifications now: active silences (the caller sees those over their
// hosts) and, for administrators, the maintenance windows open now.
async function loadHeld(admin) {
  const now = Date.now();
  const { silences } = await api('/api/0/silences');
  const windows = admin ? await api('/api/0/maintenance') : [];
  const items = [];
  for (const s of silences.filter((s) => s.state === 'active')) {
    const li = document.createElement('li');
    li.dataset.silence = s.id;
    const scope = s.paths ? `${s.hosts} (${s.paths})` : s.hosts;
    li.textContent = `Silence ${scope} by ${s.author}, ${lasted(now, Date.parse(s.ends))} left: ${s.comment}`;
    items.push(li);
  }
  for (const w of windows.filter((w) => w.open_until)) {
    const li = document.createElement('li');
    li.dataset.window = w.name;
    li.textContent = `Maintenance window ${w.name} (${w.hosts.concat(w.profiles).join(', ')}), ${lasted(now, Date.parse(w.open_until))} left`;
    items.push(li);
  }
  $('held').replaceChildren(...items);
  $('held-section').hidden = items.length === 0;
}

// Who the daemon turns away (administrators only: it names any sender).
async function loadRejects() {
  const list = await api('/api/0/rejects');
  const now = Date.now();
  $('rejects').replaceChildren(...list.map((r) => {
    const tr = document.createElement('tr');
    tr.dataset.keyId = r.key_id ?? '';
    const last = cell(`${lasted(Date.parse(r.last), now)} ago`);
    last.title = new Date(r.last).toLocaleString();
    tr.append(cell(r.source), cell(r.key_id ?? '—'), cell(r.name ?? '—'), cell(r.reason.replaceAll('_', ' ')),
      cell(r.hint), cell(String(r.count)), last);
    return tr;
  }));
  $('rejects-section').hidden = list.length === 0;
}

// Where notifications go (administrators): each channel and target, with a button that
// sends a sample through it now and shows what the service answered.
async function loadChannels() {
  const list = await api('/api/0/notify/channels');
  $('channels').replaceChildren(...list.map((c) => {
    const tr = document.createElement('tr');
    tr.dataset.channel = c.name;
    const result = cell('', 'test-result');
    const action = document.createElement('td');
    const button = document.createElement('button');
    button.type = 'button';
    button.textContent = 'Send a test';
    button.addEventListener('click', async () => {
      button.disabled = true;
      result.textContent = 'sending…';
      try {
        const { tried } = await api('/api/0/notify/test', { method: 'POST', body: { channel: c.name } });
        result.textContent = tried.map((t) => `${t.ok ? 'ok' : 'failed'}${t.recipient ? ` (${t.recipient})` : ''}: ${t.answer}`).join('; ');
        result.dataset.ok = String(tried.every((t) => t.ok));
      } catch (e) {
        result.textContent = `failed: ${e.message}`;
        result.dataset.ok = 'false';
      } finally {
        button.disabled = false;
      }
    });
    action.append(button);
    tr.append(cell(c.name), cell(c.kind), action, result);
    return tr;
  }));
  $('channels-section').hidden = list.length === 0;
}

async function watchRejects() {
  const me = await api('/api/0/auth/me');
  const held = () => loadHeld(me.admin).catch(() => {});
  held();
  setInterval(held, 10000);
  if (me.admin || me.open) loadChannels().catch(() => {});
  if (!me.admin) return;
  const again = () => loadRejects().catch(() => {});
  again();
  setInterval(again, 10000);
}

readUrl();
watchRejects().catch(() => {});
for (const k of Object.keys(filter)) {
  $(k).addEventListener('input', () => { filter[k] = $(k).value; writeUrl(); schedule(); });
}
logoutButton();
slashFocuses($('host'));
// "for 8 min" moves on by itself.
setInterval(schedule, 30000);
connect({
  onSnapshot: (m) => {
    alerts.clear();
    hosts.clear();
    loadAcks().catch(() => {});
    for (const a of m.alerts) alerts.set(`${a.host}\n${a.path}`, a);
    const c = m.hosts;
    for (let i = 0; i < c.name.length; i++) setHost(c.name[i], c.state[i], c.state_since[i]);
    schedule();
  },
  onUpdates: (updates) => {
    for (const u of updates) {
      if (u.type === 'alert') {
        const key = `${u.host}\n${u.path}`;
        if (u.state) alerts.set(key, u.state);
        else alerts.delete(key);
      } else if (u.type === 'event') {
        if (u.record) setHost(u.host, u.record.state, u.record.state_since);
        else hosts.delete(u.host);
      } else if (u.type === 'ack' && !u.path) {
        if (u.ack) hostAcks.set(u.host, u.ack);
        else hostAcks.delete(u.host);
      }
    }
    schedule();
  },
  status: $('connection'),
});
