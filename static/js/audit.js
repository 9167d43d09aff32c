// /audit: the audit log (administrators): every change asked of the API, newest first,
// filtered by user, host, kind and time through the page's address (?user=...), a page
// of 100 at a time with "Older". Others are told where their part is.
import { api } from './api.js';
import { auditRows } from './audit-rows.js';
import { connect, logoutButton } from './stream.js';

const $ = (id) => document.getElementById(id);
const FILTERS = ['user', 'host', 'kind', 'since', 'until'];
let oldest = null;

function query(before) {
  const params = new URLSearchParams(location.search);
  const q = new URLSearchParams();
  for (const f of FILTERS) if (params.get(f)) q.set(f, params.get(f));
  q.set('limit', '100');
  if (before) q.set('before', before);
  return q.toString();
}

async function load(older = false) {
  let page;
  try {
    page = await api(`/api/0/audit?${query(older ? oldest : null)}`);
  } catch (e) {
    $('audit-error').textContent = e.message;
    $('audit-error').hidden = false;
    return;
  }
  $('audit-error').hidden = true;
  const rows = auditRows(page.entries);
  if (older) $('entries').append(...rows);
  else $('entries').replaceChildren(...rows);
  if (page.entries.length) oldest = page.entries[page.entries.length - 1].id;
  $('older').hidden = page.entries.length < 100;
  $('empty').hidden = $('entries').rows.length > 0;
}

// The form fills the address, so a filtered view can be bookmarked and shared.
const params = new URLSearchParams(location.search);
for (const f of FILTERS) $(`filter-${f}`).value = params.get(f) ?? '';
$('filters').addEventListener('submit', (event) => {
  event.preventDefault();
  const q = new URLSearchParams();
  for (const f of FILTERS) {
    const v = $(`filter-${f}`).value.trim();
    if (v) q.set(f, v);
  }
  history.replaceState(null, '', `${location.pathname}${q.size ? `?${q}` : ''}`);
  load();
});
$('older').addEventListener('click', () => load(true));
logoutButton();
await load();
connect({ onSnapshot: () => {}, onUpdates: () => {}, status: $('connection') });
