// Opens /alerts (or, with PAGE `host`, the host's page) of a running hbd (no users)
// in Debian's Chromium (playwright-core), acknowledges the alert HOST PATH from its row
// with a comment, and prints what the row shows then. tests/tests/e2e/acks.rs asserts
// on it.
//   node ack.mjs BASE_URL HOST PATH COMMENT [PAGE]
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import(process.env.PLAYWRIGHT);
const [base, host, path, comment, where = 'alerts'] = process.argv.slice(2);
const out = { problems: [] };
const profile = mkdtempSync(join(tmpdir(), 'hbd-chromium-'));
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
  timeout: 60000,
});
try {
  const page = await browser.newPage();
  page.setDefaultTimeout(10000);
  page.on('console', (m) => { if (m.type() === 'error') out.problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => out.problems.push(`page error: ${e.message}`));
  const onHost = where === 'host';
  await page.goto(onHost ? `${base}/hosts/${encodeURIComponent(host)}` : `${base}/alerts`);
  const row = onHost ? `#alerts tr[data-path="${path}"]` : `#alerts tr[data-host="${host}"][data-what="${path}"]`;
  await page.waitForSelector(`${row} .ack button`);
  await page.click(`${row} .ack button`);
  await page.fill(`${row} .ack input`, comment);
  await page.click(`${row} .ack form button`);
  await page.waitForFunction((r) => !document.querySelector(`${r} .ack form`)
    && document.querySelector(`${r} .ack`)?.textContent.includes(':'), row);
  out.shown = await page.textContent(`${row} .ack`);
} catch (e) {
  out.problems.push(String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
