// Audit log entries as table rows, for /audit and a host's page: when, who, from
// where, what (method and path), the host, the answer and what was asked. Everything
// goes in through textContent only: a request body is the asker's text.
import { relative } from './time.js';

function cell(text, className) {
  const td = document.createElement('td');
  td.textContent = text;
  if (className) td.className = className;
  return td;
}

// One row per entry, newest first as the API gives them.
export function auditRows(entries, { withHost = true } = {}) {
  return entries.map((e) => {
    const tr = document.createElement('tr');
    tr.dataset.id = e.id;
    tr.className = e.status >= 400 ? 'muted' : '';
    const when = cell(relative(Date.parse(e.at) - Date.now()));
    when.title = new Date(e.at).toLocaleString();
    const request = cell(e.request === null ? '' : JSON.stringify(e.request), 'request');
    tr.append(
      when,
      cell(e.user),
      cell(e.address),
      cell(`${e.method} ${e.path}`, 'path'),
      ...(withHost ? [cell(e.host ?? '')] : []),
      cell(String(e.status), e.status >= 400 ? 'state state-DOWN' : 'state state-UP'),
      request,
    );
    return tr;
  });
}
