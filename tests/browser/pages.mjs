// Drives Debian's Chromium (playwright-core) through the pages of a running hbd, as a
// user would: sign in, watch /live, and break nothing when agents send HTML. Prints one
// JSON object of findings; tests/tests/e2e/pages.rs asserts on it.
//   node pages.mjs BASE_URL UDP_PORT
// PLAYWRIGHT: path of playwright-core's index.mjs (ES modules do not use NODE_PATH).
import { createHmac } from 'node:crypto';
import dgram from 'node:dgram';

import { launch } from './session.mjs';

const [base, udpPort] = [process.argv[2], Number(process.argv[3])];
const password = process.env.HBD_PASSWORD;
const out = { problems: [] };

const udp = dgram.createSocket('udp4');
const send = (json) => new Promise((ok) => udp.send(JSON.stringify(json), udpPort, '127.0.0.1', ok));

const browser = await launch();

async function signedIn(user, viewport) {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // Deadlines, not waits: generous, since the machine may be busy (a passing run
  // takes no longer for them).
  page.setDefaultTimeout(30000);
  page.on('console', (m) => { if (m.type() === 'error') out.problems.push(`${user} console: ${m.text()}`); });
  page.on('pageerror', (e) => out.problems.push(`${user} page error: ${e.message}`));
  page.on('dialog', async (d) => { out.problems.push(`${user} dialog: ${d.message()}`); await d.dismiss(); });
  return { context, page };
}

// The rows a person sees (not merely those without `hidden`: CSS decides).
const rows = (page) => page.$$eval('#rows .row', (rs) => rs.filter((r) => r.checkVisibility()).map((r) => r.querySelector('.name').textContent));

try {
  // Signing in: /live sends a stranger to /login; a wrong password says so.
  const { context, page } = await signedIn('ada', { width: 1200, height: 800 });
  await page.goto(`${base}/live`);
  out.redirected_to = new URL(page.url()).pathname;
  await page.fill('#username', 'ada');
  await page.fill('#password', 'wrong password');
  await Promise.all([page.waitForLoadState(), page.click('#go')]);
  out.wrong_password = (await page.textContent('#error'))?.trim();
  await page.fill('#password', password);
  await Promise.all([page.waitForURL(`${base}/live`), page.click('#go')]);
  out.landed_on = new URL(page.url()).pathname;
  const cookie = (await context.cookies(base)).find((c) => c.name === 'hbd_session');
  out.cookie = cookie && { httpOnly: cookie.httpOnly, sameSite: cookie.sameSite };
  out.script_sees_cookie = await page.evaluate(() => document.cookie.includes('hbd_session'));

  // The snapshot draws the rows; a new host's first heartbeat comes on screen (how
  // soon is hb-live-bench's figure).
  await page.waitForFunction(() => document.querySelector('#connection').textContent === 'live');
  await page.waitForSelector('#rows .row[data-host="web1"]');
  const sent = Date.now();
  await send({ ID: 'HTB', name: 'fresh1', interval: 60, arch: 'x86_64-windows' });
  await page.waitForSelector('#rows .row[data-host="fresh1"]');
  out.new_host_ms = Date.now() - sent;
  // Each host's processor and system, as its agent says it.
  out.fresh1_platform = await page.textContent('#rows .row[data-host="fresh1"] .platform');

  // A host that stops sending turns DOWN on the page (interval 1 s, grace 1 s).
  await send({ ID: 'HTB', name: 'brief1', interval: 1 });
  await page.waitForSelector('#rows .row[data-host="brief1"]');
  await page.waitForFunction(() => document.querySelector('#rows .row[data-host="brief1"] .state')?.textContent === 'DOWN');
  out.brief1_state = await page.textContent('#rows .row[data-host="brief1"] .state');

  // Problems first by default: the DOWN host, then by the worst alert (web1 CRITICAL,
  // web2 WARNING), then the rest; an UP host with alerts says so in its row.
  await page.waitForFunction(() => document.querySelector('#rows .row')?.dataset.host === 'brief1');
  out.problem_order = await rows(page);
  out.live_alerts = await page.$$eval('#rows .row', (rs) => Object.fromEntries(rs.filter((r) => r.checkVisibility())
    .map((r) => [r.dataset.host, [r.querySelector('.state').textContent, r.querySelector('.alerts').textContent]])));

  // Agent text is text: a message with markup shows as written and runs nothing.
  const evil = '<img src=x onerror="window.__xss=1">';
  await send({ ID: 'MSG', name: 'web1', text: evil });
  await page.waitForFunction((t) => [...document.querySelectorAll('#events li')].some((li) => li.textContent.includes(t)), evil);
  out.events_img = await page.locator('#events img').count();
  out.xss = await page.evaluate(() => window.__xss ?? null);

  // Filters live in the URL and survive a reload.
  await page.fill('#q', 'fresh');
  await page.waitForFunction(() => [...document.querySelectorAll('#rows .row')].filter((r) => r.checkVisibility()).length === 1);
  out.filtered_rows = await rows(page);
  out.url_query = new URL(page.url()).search;
  // Once the message is stored (the next store batch), a reload opens with it in the
  // Events pane, as text.
  for (const until = Date.now() + 10000; Date.now() < until;) {
    const stored = await (await page.request.get(`${base}/api/0/events`)).json();
    if (stored.events.some((e) => e.text === evil)) break;
    await page.waitForTimeout(100);
  }
  await page.reload();
  await page.waitForSelector('#rows .row[data-host="fresh1"]');
  out.after_reload_rows = await rows(page);
  await page.waitForFunction((t) => [...document.querySelectorAll('#events li')].some((li) => li.textContent.includes(t)), evil)
    .catch(() => {});
  out.preloaded_events = await page.$$eval('#events li', (lis) => lis.map((li) => li.textContent));
  out.preloaded_img = await page.locator('#events img').count();
  out.csp = (await page.request.get(`${base}/live`)).headers()['content-security-policy'];

  // By keyboard alone: `/` focuses the filter, Tab reaches the host's link, Enter opens
  // its page.
  await page.locator('body').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('/');
  out.slash_focuses = await page.evaluate(() => document.activeElement.id);
  let tabs = 0;
  while (tabs < 15 && !(await page.evaluate(() => document.activeElement.matches('#rows a.name')))) {
    await page.keyboard.press('Tab');
    tabs++;
  }
  out.tab_reaches_host = await page.evaluate(() => document.activeElement.textContent);
  await Promise.all([page.waitForURL(/\/hosts\//), page.keyboard.press('Enter')]);
  out.enter_opens = new URL(page.url()).pathname;

  // A datagram signed under a key id the daemon does not know: its sender is listed
  // under "Turned away" on the Problems view, for an administrator.
  const frame = Buffer.concat([Buffer.from('HB1S'), Buffer.from([4]), Buffer.from('lost'),
    Buffer.alloc(32, 7), Buffer.from(JSON.stringify({ ID: 'HTB', name: 'lost1', interval: 60 }))]);
  await new Promise((ok) => udp.send(frame, udpPort, '127.0.0.1', ok));

  // /alerts?severity=critical shows only the critical ones; the summary counts all.
  await page.goto(`${base}/alerts?severity=critical`);
  await page.waitForSelector('#alerts tr');
  out.critical_alerts = await page.$$eval('#alerts tr', (trs) => trs.map((tr) => [tr.dataset.host, tr.cells[0].textContent]));
  out.alert_summary = await page.textContent('#summary');
  await page.selectOption('#severity', '');
  // Unfiltered, the Problems view holds the DOWN host too, first, with its duration.
  await page.waitForFunction(() => document.querySelectorAll('#alerts tr').length === 3);
  out.alerts_url = new URL(page.url()).search;
  out.problem_rows = await page.$$eval('#alerts tr', (trs) => trs.map((tr) => [...tr.cells].slice(0, 6).map((c) => c.textContent)));
  await page.waitForSelector('#rejects tr[data-key-id="lost"]');
  out.turned_away = await page.$$eval('#rejects tr[data-key-id="lost"] td', (tds) => tds.slice(0, 4).map((td) => td.textContent));

  // /plugins draws a chart of web1's cpu_percent, with ink on its canvas; the choice
  // is in the URL.
  await page.goto(`${base}/plugins`);
  await page.fill('#q', 'web1');
  await page.click('#hosts button:text-is("web1")');
  // Picked alone, the host shows each plugin's status and message at once.
  await page.waitForSelector('#summary tbody tr');
  out.host_plugin_summary = await page.$$eval('#summary tbody tr', (trs) => trs.map((tr) => tr.cells[0].textContent));
  await page.click('#plugins button:text-is("cpu_monitor")');
  await page.waitForSelector('figure.chart canvas');
  await page.waitForFunction(() => {
    const c = document.querySelector('figure.chart canvas');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    let ink = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) ink++;
    return ink > 500;
  });
  out.plugins_url = new URL(page.url()).search;
  out.chart_labels = await page.$$eval('figure.chart', (fs) => fs.map((f) => f.getAttribute('aria-label')));
  out.chart_reports = await page.textContent('#info');
  out.chart_span = await page.$eval('#charts', (c) => ({ since: Number(c.dataset.since), start: Number(c.dataset.start), until: Number(c.dataset.until) }));
  // Zoom by dragging across the chart; a refresh (a new report arrives) keeps the zoom
  // and the page's scroll.
  const charts = () => page.$eval('#charts', (c) => ({ ...c.dataset }));
  const before = await charts();
  const over = await page.locator('figure.chart .u-over').first().boundingBox();
  await page.mouse.move(over.x + over.width * 0.3, over.y + over.height / 2);
  await page.mouse.down();
  await page.mouse.move(over.x + over.width * 0.6, over.y + over.height / 2, { steps: 5 });
  await page.mouse.up();
  await page.waitForFunction((n) => Number(document.querySelector('#charts').dataset.refreshes) > n, Number(before.refreshes));
  const zoomed = await charts();
  out.zoom_narrowed = Number(zoomed.until) - Number(zoomed.since) < Number(before.until) - Number(before.since);
  out.unzoom_shown = await page.isVisible('#unzoom');
  await page.evaluate(() => window.scrollTo(0, 40));
  const scrolled = await page.evaluate(() => window.scrollY);
  await send({ ID: 'PLG', name: 'web1', plugin: 'cpu_monitor', kind: 'monitor', data: { cpu_percent: 96 } }); // still CRITICAL
  await page.waitForFunction((n) => Number(document.querySelector('#charts').dataset.refreshes) > n, Number(zoomed.refreshes), { timeout: 20000 });
  const refreshed = await charts();
  out.zoom_kept = refreshed.since === zoomed.since && refreshed.until === zoomed.until;
  out.scroll_kept = (await page.evaluate(() => window.scrollY)) === scrolled;
  // Across hosts: the ones with the highest cpu_percent now.
  await page.click('#summary tr[data-path="cpu_percent"] button');
  await page.waitForSelector('#top tr[data-host]');
  out.top_hosts = await page.$$eval('#top tbody tr', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));

  // A Nagios host: the checks' statuses and output first; its perfdata charted by
  // label, with the check's own warn and crit as lines, and no bounds as charts.
  const check = (pct) => ({
    status: pct > 95 ? 'CRITICAL' : pct > 85 ? 'WARNING' : 'OK',
    exit_code: pct > 95 ? 2 : pct > 85 ? 1 : 0,
    text: `DISK ${pct > 85 ? 'WARNING' : 'OK'} - ${100 - pct}% free`,
    perfdata: [{ label: '/', value: pct, uom: '%', warn: { start: 0, end: 85, inside: false, text: '85' },
      crit: { start: 0, end: 95, inside: false, text: '95' }, min: 0, max: 100 }],
    duration_ms: 12.5,
  });
  for (const pct of [80, 88, 91]) {
    await send({ ID: 'PLG', name: 'nag1', plugin: 'nagios_runner', kind: 'monitor', status: 'WARNING',
      data: { root: check(pct), ping: { status: 'OK', exit_code: 0, text: 'PING OK - rta 0.1 ms', perfdata: [], duration_ms: 3 } } });
  }
  await page.goto(`${base}/plugins?host=nag1&plugin=nagios_runner`);
  await page.waitForSelector('#summary tr[data-check="root"]');
  out.nagios_checks = await page.$$eval('#summary tr[data-check]', (trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)));
  await page.waitForFunction(() => document.querySelector('#info').textContent.startsWith('3 reports'));
  await page.waitForSelector('figure.chart');
  out.nagios_charts = await page.$$eval('figure.chart', (fs) => fs.map((f) => f.getAttribute('aria-label')));
  out.nagios_legend = await page.$$eval('figure.chart[data-path="root.perfdata.0.value"] .u-legend .u-label',
    (ls) => ls.map((l) => l.textContent));

  // The host page: state, the alert, the plugin, the history (agent text as text) and
  // access; the owner may forget the host. Its alert's history link narrows the history.
  await page.goto(`${base}/hosts/web1`);
  await page.waitForFunction(() => document.querySelector('#state').textContent === 'UP');
  await page.waitForSelector('#alerts tr[data-path="cpu_monitor.cpu_percent"]');
  await page.waitForSelector('#history li[data-kind="raised"]');
  await page.waitForSelector('#history li[data-kind="MESSAGE"]');
  out.host_page = {
    alert_level: await page.textContent('#alerts tr[data-path="cpu_monitor.cpu_percent"] td'),
    worst: await page.textContent('#worst'),
    worst_marked: await page.getAttribute('#page', 'data-worst'),
    history_kinds: await page.$$eval('#history li', (lis) => lis.map((li) => li.dataset.kind)),
    message: await page.textContent('#history li[data-kind="MESSAGE"] span'),
    history_img: await page.locator('#history img').count(),
    plugin_link: await page.getAttribute('#plugins a', 'href'),
    access: await page.$$eval('#access dd', (dds) => dds.map((d) => d.textContent)),
    actions: await page.$$eval('#actions button, #alerts button', (bs) => bs.map((b) => b.textContent)),
  };
  // The owner may queue commands, but web1 has no key: the page says what that means
  // instead of offering a form that cannot work.
  await page.waitForSelector('#no-key', { state: 'visible' });
  out.command_form = await page.isVisible('#command-form');
  out.upgrade_form = await page.isVisible('#upgrade-form');
  out.command_refusal = await page.textContent('#no-key');

  await page.click('#alerts tr[data-path="cpu_monitor.cpu_percent"] a');
  await page.waitForFunction(() => location.search.includes('path=') && document.querySelector('#history li'));
  await page.waitForFunction(() => ![...document.querySelectorAll('#history li')].some((li) => li.dataset.kind === 'MESSAGE'));
  out.host_alert_history = await page.$$eval('#history li', (lis) => lis.map((li) => li.dataset.kind));

  // Something that happens the moment before the page opens is in its history soon,
  // without waiting for the next event.
  await send({ ID: 'MSG', name: 'web1', text: 'just before the page opened' });
  await page.goto(`${base}/hosts/web1`);
  out.history_caught_up = await page.waitForFunction(
    () => [...document.querySelectorAll('#history li')].some((li) => li.textContent.includes('just before the page opened')),
    null, { timeout: 30000 }).then(() => true, () => false);

  // web3 has a key, and its agent (a signed heartbeat, as hbc signs it) says it runs
  // no commands and takes no upgrades: the page offers neither and says why.
  const payload = Buffer.from(JSON.stringify({ ID: 'HTB', name: 'web3', ts: Date.now() / 1000, run: 7, seq: 1,
    interval: 60, accepts: { allow: [], upgrade: false } }));
  const header = Buffer.concat([Buffer.from('HB1S'), Buffer.from([4]), Buffer.from('web3')]);
  const tag = createHmac('sha256', 'pages-web3-key-0123456789').update(header).update(payload).digest();
  await new Promise((ok) => udp.send(Buffer.concat([header, tag, payload]), udpPort, '127.0.0.1', ok));
  await page.goto(`${base}/hosts/web3`);
  await page.waitForSelector('#no-commands', { state: 'visible' });
  out.web3_controls = {
    command_form: await page.isVisible('#command-form'),
    upgrade_form: await page.isVisible('#upgrade-form'),
    why: await page.textContent('#no-commands'),
  };

  // A monitor sees only their hosts, on a phone-sized screen.
  const moe = await signedIn('moe', { width: 390, height: 844 });
  await moe.page.goto(`${base}/login?next=/live`);
  await moe.page.fill('#username', 'moe');
  await moe.page.fill('#password', password);
  await Promise.all([moe.page.waitForURL(`${base}/live`), moe.page.click('#go')]);
  await moe.page.waitForSelector('#rows .row[data-host="web1"]');
  await moe.page.waitForTimeout(300); // let any stray row arrive (there must be none)
  out.monitor_rows = await rows(moe.page);
  out.monitor_wide_columns_visible = await moe.page.locator('.row.head .wide').first().isVisible();
  // Every RTT on the phone is shown whole, not cut off.
  await moe.page.waitForFunction(() => document.querySelector('#rows .row[data-host="web1"] .rtt')?.textContent !== '');
  out.monitor_rtt_cut = await moe.page.$$eval('#rows .row .rtt, .row.head [data-sort="rtt_ms"]',
    (cells) => cells.filter((c) => c.checkVisibility() && c.scrollWidth > c.clientWidth).map((c) => c.textContent));
  // ... and on every other page: /alerts lists web1's alert only, /plugins finds web1 only.
  await moe.page.goto(`${base}/alerts`);
  await moe.page.waitForSelector('#alerts tr');
  await moe.page.waitForTimeout(300);
  out.monitor_alerts = await moe.page.$$eval('#alerts tr', (trs) => trs.map((tr) => tr.dataset.host));
  // On a phone, no cell breaks a word in two: each word of each cell on one line.
  out.monitor_split_words = await moe.page.$$eval('#alerts td', (tds) => {
    const split = [];
    for (const td of tds) {
      const text = td.firstChild?.nodeType === 3 ? td.firstChild : td.querySelector('a')?.firstChild;
      if (!text) continue;
      let at = 0;
      for (const word of text.textContent.split(' ')) {
        const r = document.createRange();
        r.setStart(text, at);
        r.setEnd(text, at + word.length);
        const tops = new Set([...r.getClientRects()].map((q) => Math.round(q.top)));
        if (word && tops.size > 1) split.push(word);
        at += word.length + 1;
      }
    }
    return split;
  });
  out.monitor_sees_rejects = await moe.page.isVisible('#rejects-section');
  const moeTop = await moe.page.request.get(`${base}/api/0/plugins/cpu_monitor/top?path=cpu_percent`);
  out.monitor_top = (await moeTop.json()).map((e) => e.host);
  await moe.page.goto(`${base}/plugins?host=web2&plugin=cpu_monitor`);
  await moe.page.waitForSelector('#hosts li');
  out.monitor_plugin_hosts = await moe.page.$$eval('#hosts button', (bs) => bs.map((b) => b.textContent));
  await moe.page.waitForFunction(() => document.querySelector('#info').textContent !== '');
  out.monitor_foreign_chart = await moe.page.textContent('#info');
  out.monitor_foreign_charts = await moe.page.locator('figure.chart').count();
  // The host page offers a monitor nothing to do, and hides other hosts.
  await moe.page.goto(`${base}/hosts/web1`);
  await moe.page.waitForSelector('#alerts tr');
  await moe.page.waitForSelector('#access dd');
  out.monitor_host_actions = await moe.page.$$eval('#actions button, #alerts button', (bs) => bs.map((b) => b.textContent));
  out.monitor_command_form = await moe.page.isVisible('#command-form');
  out.monitor_upgrade_form = await moe.page.isVisible('#upgrade-form');
  await moe.page.goto(`${base}/hosts/web2`);
  await moe.page.waitForFunction(() => !document.querySelector('#missing').hidden);
  out.monitor_foreign_host = await moe.page.textContent('#missing');

  // The owner silences web1 from its page: its recovery is then held, and the page
  // says why instead of pretending someone was told.
  await page.goto(`${base}/hosts/web1`);
  await page.waitForSelector('#alerts tr[data-path="cpu_monitor.cpu_percent"]');
  await page.selectOption('#silence-duration', '2h');
  await page.fill('#silence-comment', 'kernel update');
  await page.click('#silence-form button[type="submit"]');
  // The button disables itself before its request ends: wait for the silence itself.
  out.silences = [];
  for (const until = Date.now() + 20000; out.silences.length === 0 && Date.now() < until;) {
    const made = await page.request.get(`${base}/api/0/silences`);
    out.silences = (await made.json()).silences.map((s) => [s.hosts, s.state, s.author]);
    if (out.silences.length === 0) await page.waitForTimeout(100);
  }
  // The page lists the silence (who, why) and offers no second one while it lasts.
  await page.waitForSelector('#holds li[data-silence]');
  out.holds = await page.textContent('#holds li[data-silence] span');
  out.silence_form_after = await page.isVisible('#silence-form');
  // Already told CRITICAL, it shows as held at once: the silence holds its reminders.
  await page.reload();
  await page.waitForFunction(
    () => document.querySelector('#alerts tr[data-path="cpu_monitor.cpu_percent"] td')?.textContent.includes('held'),
    null, { timeout: 20000 });
  out.silenced_before = await page.textContent('#alerts tr[data-path="cpu_monitor.cpu_percent"] td');
  await send({ ID: 'PLG', name: 'web1', plugin: 'cpu_monitor', kind: 'monitor', data: { cpu_percent: 10 } });
  await page.waitForFunction(
    () => document.querySelector('#alerts tr[data-path="cpu_monitor.cpu_percent"] td')?.textContent.startsWith('OK'),
    null, { timeout: 20000 });
  out.silenced_level = await page.textContent('#alerts tr[data-path="cpu_monitor.cpu_percent"] td');
  await page.waitForSelector('#history li[data-kind="held"]', { timeout: 20000 });
  out.held_history = await page.textContent('#history li[data-kind="held"] span');
  // The Problems view lists the silence too, under "Held now".
  await page.goto(`${base}/alerts`);
  await page.waitForSelector('#held li[data-silence]');
  out.problems_held = await page.textContent('#held li[data-silence]');

  // The Fleet page: an agent that refused an artifact is listed with its reason, as
  // text; a new report shows up without a reload.
  const refusal = '<img src=x onerror="window.__xss_fleet=1">';
  await send({ ID: 'PLG', name: 'web1', plugin: 'managed_plugins', kind: 'monitor', status: 'WARNING',
    data: { digest: 'a'.repeat(64), plugins: { log_freshness: { version: '1.2.0', sha256: 'b'.repeat(64), contract: 'hbd:plugin@0.2.0' } },
      refused: [{ artifact: 'log_freshness 1.3.0', reason: 'unknown_publisher', detail: refusal }],
      message: `refused log_freshness 1.3.0: ${refusal}` } });
  await page.goto(`${base}/fleet`);
  await page.waitForSelector('#behind tr[data-host="web1"]');
  out.fleet_message = await page.textContent('#behind tr[data-host="web1"] .message');
  out.fleet_refused = await page.textContent('#behind tr[data-host="web1"] .refused');
  out.fleet_versions = await page.$$eval('#versions tr', (rs) => rs.map((r) => [...r.children].map((c) => c.textContent)));
  out.fleet_rollouts = await page.textContent('#no-rollouts');
  await send({ ID: 'PLG', name: 'web2', plugin: 'managed_plugins', kind: 'monitor', status: 'WARNING',
    data: { digest: 'c'.repeat(64), plugins: {}, refused: [], message: 'cannot ask the daemon what to run' } });
  await page.waitForSelector('#behind tr[data-host="web2"]');
  out.fleet_live = await page.textContent('#behind tr[data-host="web2"] .message');
  // The administrator approves the key an agent enrolled.
  await page.waitForSelector('#keys tr[data-host="web9"]');
  out.key_before = await page.textContent('#keys tr[data-host="web9"] .standing');
  await page.click('#keys tr[data-host="web9"] button[data-action="approve"]');
  await page.waitForFunction(() => document.querySelector('#keys tr[data-host="web9"] .standing')?.textContent === 'active');
  out.key_after = await page.textContent('#keys tr[data-host="web9"] .standing');
  out.fleet_img = await page.locator('main img').count();
  out.fleet_xss = await page.evaluate(() => window.__xss_fleet ?? null);
  // Its host page: what it should run against what it runs, and what it refused.
  await page.goto(`${base}/hosts/web1`);
  await page.waitForSelector('#managed tr[data-plugin="log_freshness"]');
  out.host_managed = await page.$eval('#managed tr[data-plugin="log_freshness"]', (r) => [...r.children].map((c) => c.textContent));
  out.host_managed_digest = await page.$eval('#managed tr[data-plugin="log_freshness"] .digest', (c) => c.title);
  out.host_managed_sync = await page.textContent('#managed-sync');
  out.host_managed_refused = await page.textContent('#managed-refused');
  out.host_img = await page.locator('main img').count();

  // Signing out ends the session and goes back to /login.
  await Promise.all([page.waitForURL(/\/login/), page.click('#logout')]);
  out.after_logout = new URL(page.url()).pathname;
  const again = await page.request.get(`${base}/api/0/auth/me`);
  out.me_after_logout = again.status();
} catch (e) {
  out.problems.push(`script: ${e.stack ?? e}`);
} finally {
  await browser.close();
  udp.close();
}
console.log(JSON.stringify(out));
