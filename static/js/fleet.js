// /fleet: the managed plugins across the hosts the user sees: each group's staged
// rollout (with pause, resume and abort for administrators), how many hosts run each
// version, the hosts that are behind or refused something and why, the record of
// changes, and for administrators the keys agents enrolled (approve, revoke). Read
// from the API; read again when the live stream says a rollout moved or an agent's
// managed_plugins report came in (and once a minute besides). Agent text goes in
// through textContent only.
import { api, enc } from './api.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
let me = { admin: false, open: false };
let pending = null;

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text ?? '';
  if (className) td.className = className;
  return td;
}

function hostLink(host) {
  const td = document.createElement('td');
  const a = document.createElement('a');
  a.href = `/hosts/${enc(host)}`;
  a.textContent = host;
  td.append(a);
  return td;
}

const when = (t) => (typeof t === 'number' ? new Date(t).toISOString().replace('.000Z', 'Z') : t ?? '');

function steer(group, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = action;
  b.dataset.action = action;
  b.addEventListener('click', async () => {
    $('rollout-error').hidden = true;
    try {
      await api(`/api/0/rollouts/${enc(group)}/${action}`, { method: 'POST' });
      refresh();
    } catch (e) {
      $('rollout-error').textContent = e.message;
      $('rollout-error').hidden = false;
    }
  });
  return b;
}

function drawRollouts(rollouts) {
  const body = $('rollouts');
  body.replaceChildren();
  $('no-rollouts').hidden = rollouts.length > 0;
  $('rollouts-table').hidden = rollouts.length === 0;
  for (const r of rollouts) {
    const tr = document.createElement('tr');
    tr.dataset.group = r.group;
    const state = r.split.state;
    tr.append(
      cell(r.group),
      cell(state.replace('_', ' '), 'state'),
      cell(r.stage === 0 ? 'canaries' : `wave ${r.stage}`),
      cell(String(r.split.on_new.length)),
      cell(r.note ?? '', 'note'),
      cell(when(r.started)),
    );
    const actions = document.createElement('td');
    if (me.admin || me.open) {
      if (state === 'running') actions.append(steer(r.group, 'pause'));
      if (state === 'paused') actions.append(steer(r.group, 'resume'));
      if (state === 'running' || state === 'paused') actions.append(steer(r.group, 'abort'));
    }
    tr.append(actions);
    body.append(tr);
  }
}

function drawFleet(fleet) {
  const body = $('versions');
  body.replaceChildren();
  for (const [plugin, versions] of Object.entries(fleet.versions)) {
    for (const [version, hosts] of Object.entries(versions)) {
      const tr = document.createElement('tr');
      tr.append(cell(plugin), cell(version), cell(String(hosts)));
      body.append(tr);
    }
  }
  $('summary').textContent = `${fleet.in_sync} in sync, ${fleet.behind.length} behind or refusing`;
  const behind = $('behind');
  behind.replaceChildren();
  $('none-behind').hidden = fleet.behind.length > 0;
  $('behind-table').hidden = fleet.behind.length === 0;
  for (const b of fleet.behind) {
    const tr = document.createElement('tr');
    tr.dataset.host = b.host;
    const refused = b.refused.map((r) => `${r.artifact}: ${r.reason}`).join('; ');
    tr.append(hostLink(b.host), cell(b.status ?? 'not reported'), cell(b.message ?? '', 'message'), cell(refused, 'refused'), cell(b.received));
    behind.append(tr);
  }
}

function drawChanges(changes) {
  const list = $('changes');
  list.replaceChildren();
  for (const c of changes) {
    const li = document.createElement('li');
    li.textContent = `${c.at} ${c.by}: ${c.change}`;
    list.append(li);
  }
}

// Administrators approve the keys agents enrolled with a token that asks for it, and
// revoke keys.
function keyAction(host, action) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = action;
  b.dataset.action = action;
  b.addEventListener('click', async () => {
    $('keys-error').hidden = true;
    try {
      await api(`/api/0/enrolment/keys/${enc(host)}/${action}`, { method: 'POST' });
      refresh();
    } catch (e) {
      $('keys-error').textContent = e.message;
      $('keys-error').hidden = false;
    }
  });
  return b;
}

function drawKeys(keys) {
  $('keys-section').hidden = false;
  const waiting = keys.filter((k) => k.standing === 'pending').length;
  $('keys-pending').textContent = waiting ? `${waiting} waiting for approval` : 'None waiting for approval.';
  $('keys').replaceChildren(...keys.map((k) => {
    const tr = document.createElement('tr');
    tr.dataset.host = k.host;
    const actions = document.createElement('td');
    if (k.standing === 'pending') actions.append(keyAction(k.host, 'approve'));
    if (k.standing !== 'revoked') actions.append(keyAction(k.host, 'revoke'));
    tr.append(hostLink(k.host), cell(k.standing, 'standing'), cell(k.since), cell(k.by), actions);
    return tr;
  }));
}

async function refresh() {
  pending = null;
  const [fleet, rollouts, changes] = await Promise.all([
    api('/api/0/managed'),
    api('/api/0/rollouts'),
    api('/api/0/managed/changes?limit=30'),
  ]);
  drawRollouts(rollouts.rollouts);
  drawFleet(fleet);
  drawChanges(changes.changes);
  if (me.admin || me.open) drawKeys((await api('/api/0/enrolment/keys')).keys);
}

function soon() {
  if (!pending) pending = setTimeout(refresh, 300);
}

me = await api('/api/0/auth/me');
logoutButton();
await refresh();
setInterval(soon, 60000);
connect({
  status: $('connection'),
  onSnapshot: soon,
  onUpdates: (updates) => {
    const moved = (u) => u.type === 'rollout'
      || (u.type === 'plugin' && u.plugin === 'managed_plugins');
    if (updates.some(moved)) soon();
  },
});
