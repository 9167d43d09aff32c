// Opens /alerts of a running hbd (no users) in Debian's Chromium (playwright-core),
// lists the notification channels an administrator sees, presses "Send a test" on one
// and prints the answer shown. tests/tests/e2e/targets.rs asserts on it.
//   node test_send.mjs BASE_URL CHANNEL
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import(process.env.PLAYWRIGHT);
const [base, channel] = [process.argv[2], process.argv[3]];
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
  await page.goto(`${base}/alerts`);
  await page.waitForSelector('#channels tr');
  out.channels = await page.$$eval('#channels tr', (rs) => rs.map((r) => r.dataset.channel));
  const row = `#channels tr[data-channel="${channel}"]`;
  await page.click(`${row} button`);
  await page.waitForFunction((r) => document.querySelector(`${r} .test-result`)?.dataset.ok !== undefined, row);
  out.result = await page.textContent(`${row} .test-result`);
} catch (e) {
  out.problems.push(String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
