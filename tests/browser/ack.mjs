// Opens /alerts (or, with PAGE `host`, the host's page) of a running hbd (no users)
// in Debian's Chromium (playwright-core), acknowledges the alert HOST PATH from its row
// with a comment, and prints what the row shows then. tests/tests/e2e/acks.rs asserts
// on it.
//   node ack.mjs BASE_URL HOST PATH COMMENT [PAGE]
// PLAYWRIGHT: path of playwright-core's index.mjs.
import { inPage } from './session.mjs';

const [base, host, path, comment, where = 'alerts'] = process.argv.slice(2);
await inPage(async (page, out) => {
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
});
