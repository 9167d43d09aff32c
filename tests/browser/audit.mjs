// Opens /audit of a running hbd (no users: everyone may read it) in Debian's Chromium
// (playwright-core) and prints what a person sees: the rows (who, what, host, answer,
// what was asked), the rows once filtered by host through the page's form, and the
// "Changes asked" rows on the host's own page. tests/tests/e2e/audit.rs asserts on it.
//   node audit.mjs BASE_URL HOST
import { inPage } from './session.mjs';

const [base, host] = process.argv.slice(2);
const rows = (page, selector) => page.$$eval(`${selector} tr`, (trs) =>
  trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
await inPage(async (page, out) => {
  await page.goto(`${base}/audit`);
  await page.waitForSelector('#entries tr');
  out.rows = await rows(page, '#entries');
  // Script a request body wrote never runs: it is text.
  out.injected = await page.evaluate(() => window.hbdInjected ?? false);
  await page.fill('#filter-host', host);
  await page.click('#filters button[type=submit]');
  await page.waitForFunction((h) => [...document.querySelectorAll('#entries tr')]
    .every((tr) => tr.cells[4].textContent === h), host);
  out.filtered = await rows(page, '#entries');
  out.filtered_url = new URL(page.url()).search;
  await page.goto(`${base}/hosts/${encodeURIComponent(host)}`);
  await page.waitForSelector('#audit tr');
  out.host_rows = await rows(page, '#audit');
  out.host_all = await page.getAttribute('#audit-all', 'href');
});
