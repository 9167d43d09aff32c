// Opens /alerts of a running hbd (no users) in Debian's Chromium (playwright-core),
// lists the notification channels an administrator sees, presses "Send a test" on one
// and prints the answer shown. tests/tests/e2e/targets.rs asserts on it.
//   node test_send.mjs BASE_URL CHANNEL
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { inPage } from './session.mjs';

const [base, channel] = [process.argv[2], process.argv[3]];
await inPage(async (page, out) => {
  await page.goto(`${base}/alerts`);
  await page.waitForSelector('#channels tr');
  out.channels = await page.$$eval('#channels tr', (rs) => rs.map((r) => r.dataset.channel));
  const row = `#channels tr[data-channel="${channel}"]`;
  await page.click(`${row} button`);
  await page.waitForFunction((r) => document.querySelector(`${r} .test-result`)?.dataset.ok !== undefined, row);
  out.result = await page.textContent(`${row} .test-result`);
});
