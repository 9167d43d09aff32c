// Single sign-on as a person does it: on hbd's sign-in page, the provider's button;
// at the provider (tests/services/oidc_provider.mjs), its sign-in form; back at hbd.
// Prints where the browser ended, the error shown, who hbd says is signed in, and,
// with `replay`, what opening the same callback link again (the same state and code)
// gives.
//
// Usage: node oidc.mjs HBD_URL LOGIN [replay]
import { inPage } from './session.mjs';

const [hbd, login, replay] = process.argv.slice(2);

await inPage(async (page, out) => {
  // hbd's pages only (the provider's development pages fetch what this closed
  // network cannot reach); refusals are answered 403 on purpose.
  page.removeAllListeners('console');
  page.on('console', (m) => {
    const fromHbd = (m.location().url ?? '').startsWith(hbd);
    if (fromHbd && m.type() === 'error' && !/status of 40[13]/.test(m.text())) {
      out.problems.push(`console: ${m.text()}`);
    }
  });
  let callback = null;
  page.on('request', (r) => { if (r.url().includes('/login/oidc/callback')) callback = r.url(); });
  await page.goto(`${hbd}/login?next=/alerts`);
  out.button = await page.textContent('#sso');
  await page.click('#sso');
  await page.waitForSelector('input[name=login]');
  await page.fill('input[name=login]', login);
  await page.fill('input[name=password]', 'anything');
  await Promise.all([page.waitForURL((u) => u.href.startsWith(hbd)), page.click('button[type=submit]')]);
  // Signed in, hbd's page steps on to where the browser was going (same-site, so the
  // session cookie goes with it); refused, it shows why.
  const quiet = (p) => p.then(() => true, () => false);
  await Promise.race([
    quiet(page.waitForURL((u) => u.href.startsWith(hbd) && !u.pathname.startsWith('/login/oidc'))),
    quiet(page.waitForSelector('#error')),
  ]);
  await page.waitForLoadState('load');
  out.path = new URL(page.url()).pathname;
  out.error = await page.$eval('#error', (e) => e.textContent).catch(() => null);
  out.me = await page.evaluate(async () => {
    const r = await fetch('/api/0/auth/me');
    return r.ok ? r.json() : { status: r.status };
  });
  out.callback = callback !== null;
  if (replay && callback) {
    const again = await page.goto(callback);
    out.replay = {
      status: again.status(),
      error: await page.$eval('#error', (e) => e.textContent).catch(() => null),
    };
  }
});
