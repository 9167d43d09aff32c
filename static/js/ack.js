// Acknowledging a problem, on /alerts and on the host page: who acknowledged it and
// why, or a button that asks what is being done and for how long it holds. The API
// says no to those who may not. Agent and operator text goes in through textContent.
import { api } from './api.js';

// "alice: swapping the disk", and when it was made and until when as its title.
export function showAck(td, ack) {
  td.textContent = `${ack.by}: ${ack.comment}`;
  td.title = `since ${new Date(ack.at).toLocaleString()}${ack.until ? `, until ${new Date(ack.until).toLocaleString()}` : ''}`;
}

// A button that opens the form in `td`; `opened` is called with the form, `done` after
// the acknowledgement is made.
export function ackButton(td, host, path, { opened = () => {}, done = () => {} } = {}) {
  const button = document.createElement('button');
  button.type = 'button';
  button.textContent = 'Acknowledge';
  button.addEventListener('click', () => {
    const form = ackForm(host, path, done);
    td.replaceChildren(form);
    opened(form);
    form.querySelector('input').focus();
  });
  return button;
}

function ackForm(host, path, done) {
  const form = document.createElement('form');
  const input = document.createElement('input');
  input.name = 'comment';
  input.required = true;
  input.placeholder = 'what is being done';
  input.setAttribute('aria-label', 'What is being done about it');
  const until = document.createElement('select');
  until.setAttribute('aria-label', 'how long it holds');
  for (const [value, text] of [['', 'until it changes'], ['1h', 'at most 1 hour'], ['4h', 'at most 4 hours'], ['24h', 'at most 1 day']]) {
    const o = document.createElement('option');
    o.value = value;
    o.textContent = text;
    until.append(o);
  }
  const go = document.createElement('button');
  go.textContent = 'Acknowledge';
  const said = document.createElement('span');
  said.className = 'error';
  form.append(input, ' ', until, ' ', go, ' ', said);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { comment: input.value };
    if (path) body.path = path;
    if (until.value) body.duration = until.value;
    try {
      await api(`/api/0/hosts/${encodeURIComponent(host)}/ack`, { method: 'POST', body });
      said.textContent = '';
      done();
    } catch (err) {
      said.textContent = err.message;
    }
  });
  return form;
}
