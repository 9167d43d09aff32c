// The /tokens page as a person uses it: signs in through the form, makes a read-only
// token limited to some hosts, reads its secret (shown once) and its row, uses it once
// and sees the last use, then revokes it. Prints what was seen; tests/tests/e2e/tokens.rs
// asserts on it (and that the secret works, then no longer does).
//   node tokens.mjs BASE_URL USER PASSWORD
import { inPage } from './session.mjs';

const [base, user, password] = process.argv.slice(2);
const rows = (page) => page.$$eval('#tokens tr', (trs) =>
  trs.map((tr) => [...tr.cells].slice(0, 5).map((c) => c.textContent)));
await inPage(async (page, out) => {
  await page.goto(`${base}/login?next=/tokens`);
  await page.fill('#username', user);
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/tokens`), page.click('#go')]);
  await page.waitForSelector('#none:not([hidden])');
  await page.fill('#token-name', 'deploy <b>script</b>');
  await page.check('#token-read-only');
  await page.fill('#token-hosts', 'web*, db1');
  await page.fill('#token-days', '30');
  await page.click('#token-make');
  await page.waitForSelector('#made:not([hidden])');
  out.secret = await page.textContent('#made-secret');
  await page.waitForSelector('#tokens tr');
  out.rows = await rows(page);
  out.me = await page.evaluate(async (secret) => {
    const r = await fetch('/api/0/auth/me', { headers: { Authorization: `Bearer ${secret}` } });
    return r.status;
  }, out.secret);
  await page.reload();
  await page.waitForSelector('#tokens tr');
  out.after_use = await rows(page);
  await page.click('#tokens tr button');
  await page.waitForSelector('#none:not([hidden])');
  out.after_revoke = await rows(page);
  out.error = await page.textContent('#tokens-error');
});
