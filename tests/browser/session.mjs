// One page of Debian's headless Chromium (playwright-core at $PLAYWRIGHT; $CHROMIUM,
// default /usr/bin/chromium) for the e2e scripts: runs `work(page, out)`, collects
// console errors, page errors and a thrown error in `out.problems`, and prints `out` as
// one JSON line for the Rust test to assert on.
export async function inPage(work) {
  const out = { problems: [] };
  const browser = await launch();
  try {
    const page = await browser.newPage();
    // Deadlines, not waits: generous, since the machine may be busy.
    page.setDefaultTimeout(30000);
    page.on('console', (m) => { if (m.type() === 'error') out.problems.push(`console: ${m.text()}`); });
    page.on('pageerror', (e) => out.problems.push(`page error: ${e.message}`));
    await work(page, out);
  } catch (e) {
    out.problems.push(String(e));
  } finally {
    await browser.close();
  }
  console.log(JSON.stringify(out));
}

// Debian's headless Chromium, with the flags this closed network needs (no background
// connections, no component updates).
export async function launch() {
  const { chromium } = await import(process.env.PLAYWRIGHT);
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync'],
    timeout: 60000,
  });
}
