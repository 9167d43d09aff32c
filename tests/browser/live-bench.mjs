// Measures /live in headless Chromium against a running hbd that already knows many
// hosts, while heartbeats stream in at a given rate: time to the first rows, DOM size,
// frames per second and long tasks while updates stream, and how long a new host's
// first heartbeat takes to show; then the API requests each page makes at this size
// (the most in any one second, and any answered 429 by the rate limits). Prints one
// JSON object (hb-live-bench reads it).
//   node live-bench.mjs BASE_URL UDP_PORT HOSTS RATE SECONDS
import dgram from 'node:dgram';

const { chromium } = await import(process.env.PLAYWRIGHT);
const [base, udpPort, hosts, rate, seconds] = [process.argv[2], ...process.argv.slice(3).map(Number)];
const udp = dgram.createSocket('udp4');
const send = (json) => udp.send(JSON.stringify(json), udpPort, '127.0.0.1');
const out = {};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
let pump;
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.setDefaultTimeout(30000);
  // Every API request the pages make (and the WebSocket's handshake), with when.
  const api = [];
  page.on('response', (r) => {
    const path = new URL(r.url()).pathname;
    if (path.startsWith('/api/') || path === '/ws') api.push({ at: Date.now(), status: r.status() });
  });
  const started = Date.now();
  await page.goto(`${base}/live`);
  await page.waitForSelector('#rows .row:not([hidden])');
  out.first_rows_ms = Date.now() - started;
  await page.waitForFunction((n) => document.querySelector('#counts').textContent.startsWith(`${n} hosts`), hosts);
  out.all_rows_known_ms = Date.now() - started;

  // Heartbeats at `rate` per second, round robin over the hosts, in 10 ms slices.
  let next = 0;
  let sent = 0;
  const t0 = Date.now();
  pump = setInterval(() => {
    const due = Math.floor(((Date.now() - t0) / 1000) * rate);
    for (; sent < due; sent++) {
      send({ ID: 'HTB', name: `bench-${String(next).padStart(5, '0')}`, interval: 60 });
      next = (next + 1) % hosts;
    }
  }, 10);

  // Frames, long tasks and DOM size over the run, measured in the page.
  const inPage = await page.evaluate(async (ms) => {
    let frames = 0;
    let longest = 0;
    let longTasks = 0;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        longTasks += 1;
        longest = Math.max(longest, e.duration);
      }
    }).observe({ type: 'longtask', buffered: false });
    const end = performance.now() + ms;
    await new Promise((done) => {
      const tick = () => { frames += 1; if (performance.now() < end) requestAnimationFrame(tick); else done(); };
      requestAnimationFrame(tick);
    });
    return { fps: frames / (ms / 1000), long_tasks: longTasks, longest_task_ms: longest,
             dom_nodes: document.getElementsByTagName('*').length };
  }, seconds * 1000);
  Object.assign(out, inPage);

  // A new host's first heartbeat on screen (it sorts first), ten times, under load.
  const shown = [];
  for (let i = 0; i < 10; i++) {
    const name = `aaa-${i}`;
    const t = Date.now();
    send({ ID: 'HTB', name, interval: 60 });
    await page.waitForSelector(`#rows .row[data-host="${name}"]`, { timeout: 10000 });
    shown.push(Date.now() - t);
  }
  out.heartbeat_on_screen_ms = { max: Math.max(...shown), all: shown };
  out.heartbeats_sent = sent;
  out.rate_sent = sent / ((Date.now() - t0) / 1000);
  clearInterval(pump);

  // Each page, loaded and left to settle: how many API requests it made.
  out.api_requests = { live: api.length };
  for (const path of ['/plugins', '/alerts', '/fleet', '/checks', '/hosts/bench-00000']) {
    const before = api.length;
    await page.goto(`${base}${path}`, { waitUntil: 'networkidle' });
    out.api_requests[path.split('/')[1]] = api.length - before;
  }
  let peak = 0;
  for (const r of api) peak = Math.max(peak, api.filter((o) => o.at >= r.at && o.at < r.at + 1000).length);
  out.api_peak_per_second = peak;
  out.api_throttled = api.filter((r) => r.status === 429).length;
} finally {
  clearInterval(pump);
  await browser.close();
  udp.close();
}
console.log(JSON.stringify(out));
