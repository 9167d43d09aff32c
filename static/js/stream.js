// The live stream (docs/WEBSOCKET.md) for the pages: connects to /ws, resumes from
// the last number seen after a drop, backs off while the daemon is away, and sends the
// browser to /login when the session ends.

// Set while this page signs out: the session's end closes the live stream at once
// (1008), and that close must not start a second navigation racing the sign-out's.
let signingOut = false;

export function connect({ onSnapshot, onUpdates, status }) {
  let run = null;
  let seq = 0;
  let retry = 500;
  const open = () => {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const resume = run ? `?run=${encodeURIComponent(run)}&seq=${seq}` : '';
    const ws = new WebSocket(`${scheme}://${location.host}/ws${resume}`);
    ws.addEventListener('open', () => {
      retry = 500;
      status.textContent = 'live';
      status.classList.add('live');
    });
    let parts = null;
    ws.addEventListener('message', (e) => {
      const m = JSON.parse(e.data);
      if (m.type === 'snapshot') {
        // A snapshot comes in parts of at most 1,000 hosts: join them, then show it.
        if (m.part === 0) parts = m;
        else joinPart(parts, m);
        if (m.part + 1 < m.parts) return;
        run = m.run;
        seq = m.seq;
        onSnapshot(parts);
        parts = null;
      } else if (m.type === 'updates') {
        seq = m.seq;
        onUpdates(m.updates);
      }
    });
    ws.addEventListener('close', (e) => {
      status.classList.remove('live');
      if (signingOut) return;
      if (e.code === 1008) {
        location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
        return;
      }
      status.textContent = 'reconnecting…';
      setTimeout(open, retry);
      retry = Math.min(retry * 2, 15000);
    });
  };
  open();
}

function joinPart(into, part) {
  for (const [column, values] of Object.entries(part.hosts)) {
    for (const v of values) into.hosts[column].push(v);
  }
  for (const a of part.alerts) into.alerts.push(a);
}

// The sign-out button, where there is one.
export function logoutButton() {
  const button = document.getElementById('logout');
  if (!button) return;
  button.addEventListener('click', async () => {
    const token = document.querySelector('meta[name="csrf-token"]').content;
    signingOut = true;
    await fetch('/api/0/auth/logout', { method: 'POST', headers: { 'X-CSRF-Token': token } });
    location.assign('/login');
  });
}
