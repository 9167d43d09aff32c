// /hosts/NAME: one host: state and facts (live from the stream), its alerts, plugins,
// commands, history (events and alert notices; `?path=` narrows it to one alert) and
// access, with the actions the user's role allows (the host's `may` list). Agent text
// goes in through textContent only.
import { api, enc, mayView } from './api.js';
import { auditRows } from './audit-rows.js';
import { ackButton, showAck } from './ack.js';
import { relative, span } from './time.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const host = $('page').dataset.host;
const base = `/api/0/hosts/${enc(host)}`;
const LEVEL_CLASS = { CRITICAL: 'DOWN', WARNING: 'UNKNOWN', UNKNOWN: 'UNKNOWN', OK: 'UP' };
let record = null;
let may = [];
let oldest = null; // id of the oldest history entry shown
const path = new URLSearchParams(location.search).get('path') ?? '';

const el = (tag, text, className) => {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (className) e.className = className;
  return e;
};
const number = (v) => (typeof v === 'number' ? v.toLocaleString(undefined, { maximumFractionDigits: 2 }) : v);
// A time as the browser's locale writes it, and how long ago (or until) it is.
const when = (t) => (t ? `${new Date(t).toLocaleString()} (${relative(new Date(t).getTime() - Date.now())})` : '—');
const seconds = span;

function facts() {
  const r = record;
  $('state').textContent = r.state;
  $('state').className = `state state-${r.state}`;
  const rows = [
    ['State since', when(r.state_since)],
    ['Last seen', when(r.last_seen)],
    ['Round trip', r.last_rtt_ms == null ? '—' : `${r.last_rtt_ms.toFixed(2)} ms`],
    ['Address', r.address ?? '—'],
    ['Version', r.version ?? '—'],
    ['Platform', r.arch ?? '—'],
    ['Uptime', seconds(r.uptime_s)],
    ['Interval', `${r.interval_s} s`],
    ['Boots', r.boots],
  ];
  $('facts').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
}

// A button that asks again before it acts (no browser dialog).
function twoStep(label, confirmText, act) {
  const b = el('button', label);
  b.type = 'button';
  let armed = false;
  b.addEventListener('click', async () => {
    if (!armed) {
      armed = true;
      b.textContent = confirmText;
      b.classList.add('danger');
      return;
    }
    b.disabled = true;
    try {
      await act();
    } catch (e) {
      b.textContent = e.message;
    }
  });
  b.addEventListener('blur', () => { if (armed && !b.disabled) { armed = false; b.textContent = label; b.classList.remove('danger'); } });
  return b;
}

function dns() {
  const d = record.dns;
  $('dns-section').hidden = !d;
  if (!d) return;
  const rows = [
    ['Name', d.name],
    ['Address', d.applied === d.address ? d.address : `${d.address} (written: ${d.applied ?? 'not yet'})`],
    ['State', d.failures ? `${d.state}, ${d.failures} failed tries` : d.state],
    ['Last written', when(d.last_ok)],
  ];
  if (d.last_error) rows.push(['Last error', d.last_error]);
  $('dns').replaceChildren(...rows.flatMap(([k, v]) => [el('dt', k), el('dd', v)]));
}

function actions() {
  const list = [];
  if (may.includes('trigger_dns') && record.dns) {
    const b = el('button', 'Write DNS record');
    b.type = 'button';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api(`${base}/dns`, { method: 'POST' });
        setTimeout(() => loadHost().catch(() => {}), 1500);
      } catch (e) {
        b.textContent = e.message;
      }
    });
    list.push(b);
  }
  if (may.includes('silence') && !silenced) list.push(silenceForm());
  const problem = record.state === 'DOWN' || record.state === 'UNREACHABLE';
  if (problem && (hostAck || may.includes('acknowledge'))) {
    // The host's own problem (DOWN, UNREACHABLE): who is on it, or a way to say so.
    const box = el('span', undefined, 'ack');
    box.id = 'host-ack';
    if (hostAck) showAck(box, hostAck);
    else box.append(ackButton(box, host, null, { done: loadHostAck }));
    list.push(box);
  }
  if (may.includes('drop_host')) {
    list.push(twoStep('Forget host', `Really forget ${host}?`, async () => {
      await api(base, { method: 'DELETE' });
      location.assign('/live');
    }));
  }
  $('actions').replaceChildren(...list);
}

// Silencing takes a duration and a reason, as a person states them.
function silenceForm() {
  const form = el('form', undefined, 'silence-form');
  form.id = 'silence-form';
  const duration = el('select');
  duration.id = 'silence-duration';
  duration.setAttribute('aria-label', 'for how long');
  for (const [value, text] of [['30m', '30 min'], ['2h', '2 hours'], ['8h', '8 hours'], ['24h', '1 day'], ['7d', '1 week']]) {
    const o = el('option', text);
    o.value = value;
    if (value === '2h') o.selected = true;
    duration.append(o);
  }
  const comment = el('input');
  comment.id = 'silence-comment';
  comment.placeholder = 'why (required)';
  comment.required = true;
  comment.setAttribute('aria-label', 'why');
  const go = el('button', 'Silence');
  go.type = 'submit';
  const error = el('span', '', 'error');
  form.append(duration, ' ', comment, ' ', go, ' ', error);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    go.disabled = true;
    try {
      // Host names hold no glob characters: the name is a glob matching only this host.
      await api('/api/0/silences', {
        method: 'POST',
        body: { hosts: host, duration: duration.value, comment: comment.value.trim() },
      });
      await loadHolds();
      loadAlerts();
    } catch (err) {
      error.textContent = err.message;
      go.disabled = false;
    }
  });
  return form;
}

// The acknowledgement of the host's own DOWN or UNREACHABLE, if any.
let hostAck = null;
async function loadHostAck() {
  const acks = await api('/api/0/acks');
  hostAck = acks.find((a) => a.host === host && !a.path) ?? null;
  actions();
}

// What holds this host's notifications now: active silences (who, why, until, end now)
// and the maintenance windows that cover it.
let silenced = false;
async function loadHolds() {
  const h = await api(`${base}/holds`);
  silenced = h.silences.length > 0;
  const items = [];
  for (const s of h.silences) {
    const li = el('li', undefined, 'hold');
    li.dataset.silence = s.id;
    li.append(el('span', `Silenced by ${s.author} until ${when(s.ends)}: ${s.comment}`));
    if (may.includes('silence')) {
      li.append(' ', twoStep('End now', 'Really end it?', async () => {
        await api(`/api/0/silences/${enc(s.id)}`, { method: 'DELETE' });
        await loadHolds();
        loadAlerts();
      }));
    }
    items.push(li);
  }
  for (const w of h.windows) {
    const days = w.days.length ? w.days.join(' ') : 'every day';
    const text = w.open_until
      ? `Maintenance window ${w.name}: open until ${when(w.open_until)}`
      : `Maintenance window ${w.name}: ${days} from ${w.start} for ${seconds(w.duration_s)}`;
    const li = el('li', undefined, w.open_until ? 'hold open' : 'hold');
    li.dataset.window = w.name;
    li.append(el('span', text));
    items.push(li);
  }
  $('holds').replaceChildren(...items);
  $('holds-section').hidden = items.length === 0;
  actions();
}

async function loadHost() {
  record = await api(base);
  may = record.may ?? [];
  $('state').hidden = false;
  facts();
  dns();
  actions();
}

async function loadAlerts() {
  const list = await api(`${base}/alerts`);
  const rows = list.map((a) => {
    const tr = el('tr');
    tr.dataset.path = a.path;
    const history = el('a', 'history');
    history.href = `?path=${enc(a.path)}#history-title`;
    const cell = el('td');
    cell.append(history);
    if (may.includes('clear_alert')) {
      cell.append(' ', twoStep('Clear', 'Really clear?', async () => {
        await api(`${base}/alerts?path=${enc(a.path)}`, { method: 'DELETE' });
        loadAlerts();
      }));
    }
    const level = a.held ? `${a.level} (held: ${a.held.reason})` : a.level;
    const ack = el('td', undefined, 'ack');
    if (a.ack) showAck(ack, a.ack);
    else if (a.level !== 'OK' && may.includes('acknowledge')) ack.append(ackButton(ack, host, a.path, { done: loadAlerts }));
    tr.append(
      el('td', level, `state state-${LEVEL_CLASS[a.level] ?? 'UNKNOWN'}`), el('td', a.path),
      el('td', when(a.since)), el('td', number(a.value ?? a.detail ?? '—')), el('td', number(a.threshold ?? '—')),
      el('td', a.reminders), ack, cell,
    );
    return tr;
  });
  $('alerts').replaceChildren(...rows);
  $('no-alerts').hidden = rows.length > 0;
  // The header says the worst of them, so an UP host with a CRITICAL alert does not
  // read as fine.
  const open = list.filter((a) => a.level !== 'OK');
  const order = ['CRITICAL', 'WARNING', 'UNKNOWN'];
  const worst = order.find((l) => open.some((a) => a.level === l));
  $('worst').hidden = !worst;
  $('worst').textContent = worst ? `${open.length} alert${open.length > 1 ? 's' : ''}, ${worst}` : '';
  $('worst').className = worst ? `alerts level-${worst}` : 'alerts';
  $('page').dataset.worst = worst ?? '';
}

async function loadPlugins() {
  const p = await api(`${base}/plugins`);
  $('plugins').replaceChildren(...Object.entries(p.plugins).map(([name, latest]) => {
    const li = el('li');
    const a = el('a', name);
    a.href = `/plugins?host=${enc(host)}&plugin=${enc(name)}`;
    li.append(a, ' ', el('span', latest.status ?? latest.kind, 'counts'), ' ', el('time', when(latest.received), 'counts'));
    return li;
  }));
}

// What the daemon wants this host to run against what its agent says it runs, per
// plugin (version, the artifact's SHA-256 and the contract it speaks), with each
// plugin's latest status and error (agents' text as text).
// An artifact's SHA-256: its first 12 hex digits, the whole in the title.
function digestCell(sha256) {
  const td = el('td', sha256 ? sha256.slice(0, 12) : '—', 'digest');
  if (sha256) td.title = sha256;
  return td;
}

async function loadManaged() {
  const [desired, plugins] = await Promise.all([api(`${base}/plugins/desired`), api(`${base}/plugins`)]);
  const report = plugins.plugins.managed_plugins;
  const running = report?.data?.plugins ?? {};
  const names = [...new Set([...desired.plugins.map((p) => p.name), ...Object.keys(running)])].sort();
  $('managed-section').hidden = names.length === 0 && desired.applied == null;
  $('managed-sync').textContent = desired.applied == null
    ? '(its agent does not manage plugins)'
    : (desired.in_sync ? '(in sync)' : '(not yet what it should run)');
  $('managed').replaceChildren(...names.map((name) => {
    const want = desired.plugins.find((p) => p.name === name);
    const latest = plugins.plugins[name];
    const tr = el('tr');
    tr.dataset.plugin = name;
    tr.append(
      el('td', name),
      el('td', want ? want.version : 'not here'),
      el('td', running[name]?.version ?? '—', 'runs'),
      digestCell(running[name]?.sha256),
      el('td', running[name]?.contract ?? '—', 'contract'),
      el('td', latest?.status ?? '—'),
      el('td', latest?.data?.error ?? '', 'error'),
    );
    return tr;
  }));
  const refused = (report?.data?.refused ?? []).map((r) => `${r.artifact}: ${r.detail} (${r.reason})`);
  $('managed-refused').hidden = refused.length === 0;
  $('managed-refused').textContent = refused.length ? `Refused: ${refused.join('; ')}` : '';
}

async function loadCommands() {
  const list = await api(`${base}/commands`);
  const mayQueue = may.includes('queue_command');
  const mayUpgrade = may.includes('queue_upgrade');
  $('commands-section').hidden = !mayQueue && !mayUpgrade && list.commands.length === 0;
  // Offered only where they can work: a signed host that is UP, whose agent runs
  // commands (or takes upgrades), as its heartbeats say (an agent not heard from since
  // the daemon started, or too old to say, is given the benefit of the doubt).
  const acc = record.accepts;
  const up = record.state === 'UP';
  const runs = !acc || acc.allow.length > 0;
  const upgrades = !acc || acc.upgrade;
  $('command-form').hidden = !mayQueue || !record.signed || !up || !runs;
  $('upgrade-form').hidden = !mayUpgrade || !record.signed || !up || !upgrades;
  $('no-key').hidden = !(mayQueue || mayUpgrade) || record.signed;
  $('allowed').hidden = $('command-form').hidden || !acc;
  $('allowed').textContent = acc ? `Its agent runs: ${acc.allow.join(', ')}` : '';
  let why = '';
  if ((mayQueue || mayUpgrade) && record.signed) {
    if (!up) why = `${host} is ${record.state}: no command reaches it until it is back.`;
    else if (mayQueue && !runs) why = "Its agent runs no commands: its commands.allow lists none.";
    if (up && mayUpgrade && !upgrades) why += `${why ? ' ' : ''}Its agent takes no upgrades (commands.upgrade is off).`;
  }
  $('no-commands').hidden = !why;
  $('no-commands').textContent = why;
  $('commands').replaceChildren(...list.commands.map((c) => {
    const li = el('li', undefined, `command command-${c.state}`);
    li.dataset.id = c.id;
    li.dataset.state = c.state;
    let status = c.state;
    if (c.state === 'done') status = `exit ${c.exit_code}`;
    if (c.state === 'sent') status = `sent ×${c.sent_times}`;
    const what = c.upgrade ? `upgrade to hbc ${c.upgrade.version} (${c.upgrade.file})` : c.argv.join(' ');
    li.append(el('time', when(c.queued)), el('code', what), ' ', el('span', status, 'counts'));
    if (c.by) li.append(' ', el('span', `by ${c.by}`, 'counts'));
    if (c.output) li.append(el('pre', c.output, 'output'));
    return li;
  }));
}

async function queueCommand(e) {
  e.preventDefault();
  const argv = $('argv').value.split('\n').map((a) => a.trim()).filter((a) => a !== '');
  $('command-error').textContent = '';
  try {
    await api(`${base}/commands`, { method: 'POST', body: { argv, timeout: Number($('timeout').value) } });
    $('argv').value = '';
    await loadCommands();
  } catch (err) {
    $('command-error').textContent = err.message;
  }
}

async function queueUpgrade() {
  $('upgrade-error').textContent = '';
  try {
    await api(`${base}/upgrade`, { method: 'POST', body: {} });
    await loadCommands();
  } catch (err) {
    $('upgrade-error').textContent = err.message;
  }
}

function describe(e) {
  if (e.alert) return e.text || `${e.path}: ${e.from} → ${e.to}`;
  if (e.policy) {
    const about = e.path ? `${e.what} of ${e.path}` : e.what;
    switch (e.policy) {
      case 'held': return `${about}: not told (${e.reason}${e.silence ? ` ${e.silence}` : ''}${e.window ? ` ${e.window}` : ''}${e.parent ? ` behind ${e.parent}` : ''})`;
      case 'released': return `${about}: told after the hold ended`;
      case 'unchanged': return `${about}: nothing to tell (as last told)`;
      case 'grouped': return `${about}: sent in grouped message ${e.storm}`;
      default: return `${about}: ${e.policy}`;
    }
  }
  // The daemon words an event as its notifications do (render.rs); the cases below
  // read journals written before it did.
  if (e.event && e.summary) return e.summary;
  switch (e.event) {
    case 'DOWN': return `DOWN: silent for ${seconds(e.silent_for_s)}`;
    case 'UP': return e.down_for_s === undefined ? 'UP' : `UP again after ${seconds(e.down_for_s)}`;
    case 'MESSAGE': return `Message: ${e.text}`;
    case 'BOOT': return `Booted (uptime ${seconds(e.uptime_s)})`;
    case 'ADDRESS_CHANGED': return `Address changed: ${e.from} → ${e.to}`;
    case 'NEW_HOST': return 'First heard from';
    case 'UNREACHABLE': return `UNREACHABLE: silent while ${e.parent} is down`;
    default: return e.event ?? JSON.stringify(e);
  }
}

async function loadHistory(more = false) {
  let query = `limit=50${path ? `&path=${enc(path)}` : ''}`;
  if (more && oldest !== null) query += `&before=${oldest}`;
  const h = await api(`${base}/history?${query}`);
  const items = h.entries.map((e) => {
    const li = el('li', undefined, e.alert ? `alert alert-${e.to}` : e.policy ? `policy policy-${e.policy}` : `event event-${e.event}`);
    li.dataset.kind = e.alert ?? e.policy ?? e.event;
    li.append(el('time', when(e.at)), el('span', describe(e)));
    return li;
  });
  if (more) $('history').append(...items);
  else $('history').replaceChildren(...items);
  if (h.entries.length) oldest = h.entries[h.entries.length - 1].id;
  $('older').hidden = h.entries.length < 50;
}

// The changes asked of the API about this host, for its managers and owner.
async function loadAudit() {
  if (!may.includes('queue_command')) return;
  const page = await api(`${base}/audit?limit=20`);
  $('audit').replaceChildren(...auditRows(page.entries, { withHost: false }));
  $('audit-all').href = `/audit?host=${enc(host)}`;
  $('audit-section').hidden = page.entries.length === 0;
}

async function loadAll() {
  try {
    await mayView(host);
  } catch (e) {
    $('missing').textContent = e.message;
    $('missing').hidden = false;
    for (const s of document.querySelectorAll('main.host section:not(.summary)')) s.hidden = true;
    return false;
  }
  await loadHost();
  await Promise.all([loadHolds(), loadHostAck(), loadAlerts(), loadPlugins(), loadManaged(), loadHistory(), loadCommands(), loadAudit(), api(`${base}/access`).then(showAccess)]);
  return true;
}

function showAccess(a) {
  const names = (list) => (list.length ? list.join(', ') : '—');
  $('access').replaceChildren(
    el('dt', 'Owner'), el('dd', a.owner ?? '—'), el('dt', 'Managers'), el('dd', names(a.managers)),
    el('dt', 'Monitors'), el('dd', names(a.monitors)), el('dt', 'Declared in'), el('dd', a.source),
  );
}

// Coalesces reloads the stream asks for into one per kind per 500 ms.
const later = new Map();
function soon(kind, load) {
  if (later.has(kind)) return;
  later.set(kind, setTimeout(() => { later.delete(kind); load().catch(() => {}); }, 500));
}

if (path) $('history-filter').textContent = `of ${path} only (`;
if (path) {
  const all = el('a', 'all');
  all.href = location.pathname;
  $('history-filter').append(all, ')');
}
logoutButton();
$('older').addEventListener('click', () => loadHistory(true));
$('command-form').addEventListener('submit', queueCommand);
$('upgrade').addEventListener('click', queueUpgrade);
connect({
  onSnapshot: () => {
    // What happened in the second before the page opened is stored with the next store
    // batch (every second), after the first load: look once more when it surely is.
    loadAll().then((shown) => {
      if (shown) setTimeout(() => soon('history', () => loadHistory()), 1600);
    }).catch(() => {});
  },
  onUpdates: (updates) => {
    for (const u of updates) {
      if (u.host !== host) continue;
      if (u.type === 'heartbeat' && record) {
        record.last_seen = u.last_seen;
        record.last_rtt_ms = u.rtt_ms;
        facts();
      } else if (u.type === 'event') {
        // The history is written with the next store batch, about a second later.
        soon('host', () => loadHost().then(loadCommands));
        setTimeout(() => soon('history', () => loadHistory()), 1200);
      } else if (u.type === 'alert') {
        soon('alerts', loadAlerts);
        setTimeout(() => soon('history', () => loadHistory()), 1200);
      } else if (u.type === 'policy') {
        soon('alerts', loadAlerts);
        soon('holds', loadHolds);
        setTimeout(() => soon('history', () => loadHistory()), 1200);
      } else if (u.type === 'plugin') {
        soon('plugins', loadPlugins);
        soon('managed', loadManaged);
      } else if (u.type === 'command') {
        soon('commands', loadCommands);
      } else if (u.type === 'ack') {
        soon('alerts', loadAlerts);
        soon('ack', loadHostAck);
        setTimeout(() => soon('history', () => loadHistory()), 1200);
      }
    }
  },
  status: $('connection'),
});
