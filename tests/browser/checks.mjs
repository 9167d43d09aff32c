// Opens /checks of a running hbd (no users) in Debian's Chromium (playwright-core) and
// prints what a person sees: each check's name and state, and its vantage points' rows
// (host, answer, counted, latency). tests/tests/e2e/vantage.rs asserts on it.
//   node checks.mjs BASE_URL
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const { chromium } = await import(process.env.PLAYWRIGHT);
const base = process.argv[2];
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
  await page.goto(`${base}/checks`);
  await page.waitForSelector('#checks section tbody tr');
  out.checks = await page.$$eval('#checks section', (sections) => sections.map((s) => ({
    name: s.id,
    level: s.dataset.level,
    rows: [...s.querySelectorAll('tbody tr')].filter((r) => r.checkVisibility())
      .map((r) => [...r.cells].map((c) => c.textContent)).map((c) => [c[0], c[2], c[3], c[4]]),
  })));
} catch (e) {
  out.problems.push(String(e));
} finally {
  await browser.close();
  rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify(out));
