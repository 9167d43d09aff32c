// /tokens: the signed-in user's API tokens: what each may do, when it was made and
// last used and when it expires; making one (its secret shown once) and revoking one.
import { api, enc } from './api.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);

function cell(text) {
  const td = document.createElement('td');
  td.textContent = text;
  return td;
}

function limits(t) {
  const parts = [t.read_only ? 'read only' : 'read and change'];
  if (t.hosts.length) parts.push(`hosts ${t.hosts.join(', ')}`);
  if (t.groups.length) parts.push(`groups ${t.groups.join(', ')}`);
  if (!t.hosts.length && !t.groups.length) parts.push('every host you see');
  return parts.join('; ');
}

const when = (iso) => (iso ? new Date(iso).toLocaleString() : 'never');

function row(t) {
  const tr = document.createElement('tr');
  tr.dataset.id = t.id;
  const revoke = document.createElement('button');
  revoke.type = 'button';
  revoke.textContent = 'Revoke';
  revoke.addEventListener('click', async () => {
    try {
      await api(`/api/0/auth/tokens/${enc(t.id)}`, { method: 'DELETE' });
      await load();
    } catch (e) {
      shout(e.message);
    }
  });
  const action = document.createElement('td');
  action.append(revoke);
  tr.append(cell(t.name), cell(limits(t)), cell(when(t.created)), cell(when(t.last_used)),
    cell(t.expires_at ? when(t.expires_at) : 'never'), action);
  return tr;
}

function shout(message) {
  $('tokens-error').textContent = message;
  $('tokens-error').hidden = !message;
}

async function load() {
  let tokens;
  try {
    tokens = await api('/api/0/auth/tokens');
  } catch (e) {
    shout(e.message);
    return;
  }
  $('tokens').replaceChildren(...tokens.map(row));
  $('none').hidden = tokens.length > 0;
}

const list = (id) => $(id).value.split(',').map((s) => s.trim()).filter(Boolean);

$('make').addEventListener('submit', async (event) => {
  event.preventDefault();
  const body = {
    name: $('token-name').value.trim(),
    read_only: $('token-read-only').checked,
    hosts: list('token-hosts'),
    groups: list('token-groups'),
  };
  if ($('token-days').value) body.expires_in_days = Number($('token-days').value);
  try {
    const made = await api('/api/0/auth/tokens', { method: 'POST', body });
    shout('');
    $('made-secret').textContent = made.token;
    $('made').hidden = false;
    $('make').reset();
    await load();
  } catch (e) {
    shout(e.message);
  }
});
logoutButton();
await load();
connect({ onSnapshot: () => {}, onUpdates: () => {}, status: $('connection') });
