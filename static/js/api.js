// The REST API for the pages: JSON in and out, the CSRF token on writes, the API's own
// error message on failure, and back to /login when the session has ended.

const token = () => document.querySelector('meta[name="csrf-token"]')?.content ?? '';

export async function api(path, { method = 'GET', body } = {}) {
  const headers = { Accept: 'application/json' };
  if (method !== 'GET') headers['X-CSRF-Token'] = token();
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (r.status === 401) {
    location.assign(`/login?next=${encodeURIComponent(location.pathname + location.search)}`);
    throw new Error('signed out');
  }
  if (!r.ok) {
    const answer = await r.json().catch(() => null);
    throw new Error(answer?.error?.message ?? `${r.status} ${r.statusText}`);
  }
  if (r.status === 204) return null;
  return r.json();
}

export const enc = encodeURIComponent;

// Whether the user may see the host, asked through the list (which answers 200 either
// way), so a bookmarked host that is not theirs costs no failed request. Throws the
// same text the API gives for an unknown host.
const visible = new Map();
export async function mayView(host) {
  if (!visible.has(host)) {
    const page = await api(`/api/0/hosts?limit=10000&name=${enc(host)}`);
    visible.set(host, page.hosts.some((h) => h.name === host));
  }
  if (!visible.get(host)) throw new Error(`no host named "${host}"`);
}
