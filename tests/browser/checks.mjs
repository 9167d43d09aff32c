// Opens /checks of a running hbd (no users) in Debian's Chromium (playwright-core) and
// prints what a person sees: each check's name and state, and its vantage points' rows
// (host, answer, counted, latency). tests/tests/e2e/vantage.rs asserts on it.
//   node checks.mjs BASE_URL
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { inPage } from './session.mjs';

const base = process.argv[2];
await inPage(async (page, out) => {
  await page.goto(`${base}/checks`);
  await page.waitForSelector('#checks section tbody tr');
  out.checks = await page.$$eval('#checks section', (sections) => sections.map((s) => ({
    name: s.id,
    level: s.dataset.level,
    rows: [...s.querySelectorAll('tbody tr')].filter((r) => r.checkVisibility())
      .map((r) => [...r.cells].map((c) => c.textContent)).map((c) => [c[0], c[2], c[3], c[4]]),
  })));
});
