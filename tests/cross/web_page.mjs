// web_page.mjs: drives the aggregator's web page in Debian's chromium, headless,
// through playwright-core (no browser of its own): hosts, search, sort, a
// process's charts, a process started and killed, the feed, a phone's width.
// usage: node web_page.mjs PAGE-URL OUT-DIR HOST:PID...
//   PAGE-URL  the aggregator's page (http://127.0.0.1:PORT/)
//   OUT-DIR   where the screenshots go (the build tree)
//   HOST:PID  an agent the test started, and its pid, one a host
// Exits 0 when every check passed; prints what it measured.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const web = path.join(here, '..', '..', 'clients', 'aggregator', 'web');
const { chromium } = createRequire(path.join(web, 'package.json'))('playwright-core');

const [url, out, ...agents] = process.argv.slice(2);
const hosts = agents.map((a) => ({ host: a.split(':')[0], pid: Number(a.split(':')[1]) }));
const WAIT = 20000; // ms: generous, for a loaded machine; conditions are waited on, not slept for

let browser;
let child;

function fail(msg) {
  console.log(`FAIL: ${msg}`);
  process.exitCode = 1;
  throw new Error(msg);
}

async function check(what, fn) {
  try {
    await fn();
    console.log(`ok: ${what}`);
  } catch (e) {
    fail(`${what}: ${e.message.split('\n')[0]}`);
  }
}

// The page's rows as [host, pid] pairs, in order.
function rows(page) {
  return page.$$eval('#procs tbody tr[data-pid]', (trs) =>
    trs.map((tr) => [tr.dataset.host, Number(tr.dataset.pid)]));
}

async function search(page, text) {
  await page.fill('#search', text);
  // The table answers the query typed: every row matches it.
  await page.waitForFunction((q) => {
    const trs = [...document.querySelectorAll('#procs tbody tr[data-pid]')];
    return trs.length > 0 && trs.every((tr) => tr.textContent.toLowerCase().includes(q) ||
                                       (tr.title || '').toLowerCase().includes(q) ||
                                       [...tr.querySelectorAll('[title]')].some((c) => c.title.toLowerCase().includes(q)));
  }, text.toLowerCase(), { timeout: WAIT });
}

async function main() {
  browser = await chromium.launch({
    executablePath: process.env.PC_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url, { timeout: WAIT });

  await check('every host is up on the page', async () => {
    for (const h of hosts) {
      await page.waitForSelector(`#hosts tr[data-host="${h.host}"].up`, { timeout: WAIT });
    }
  });

  await check("the agents' own processes are in the fleet's table", async () => {
    await search(page, 'pidcast-agent');
    for (const h of hosts) {
      await page.waitForSelector(`#procs tr[data-host="${h.host}"][data-pid="${h.pid}"]`,
                                 { timeout: WAIT });
    }
  });

  await check('sorting by memory orders the rows as the API does', async () => {
    await page.click('#procs th[data-sort="rss"]');
    await page.waitForSelector('#procs th[data-sort="rss"].sorted', { timeout: WAIT });
    const order = await page.$eval('#procs th[data-sort="rss"]', (th) => th.dataset.order);
    // The API's answer to the same query, fetched by the page itself.
    await page.waitForFunction(async (order) => {
      const r = await fetch(`/api/processes?q=pidcast-agent&sort=rss&order=${order}&limit=50`);
      const want = (await r.json()).processes.map((p) => `${p.host}:${p.pid}`).join(' ');
      const got = [...document.querySelectorAll('#procs tbody tr[data-pid]')]
        .map((tr) => `${tr.dataset.host}:${tr.dataset.pid}`).join(' ');
      return got === want;
    }, order, { timeout: WAIT });
    await page.click('#procs th[data-sort="rss"]');
    await page.waitForFunction((o) => document.querySelector('#procs th[data-sort="rss"]').dataset.order !== o,
                               order, { timeout: WAIT });
  });

  const first = hosts[0];
  await check(`a process's details and its charts (${first.host} pid ${first.pid})`, async () => {
    await page.click(`#procs tr[data-host="${first.host}"][data-pid="${first.pid}"]`);
    await page.waitForSelector(`#detail[data-host="${first.host}"][data-pid="${first.pid}"]`,
                               { state: 'visible', timeout: WAIT });
    for (const c of ['cpu', 'rss', 'io']) {
      // Drawn from the history store: two samples at least make a line.
      await page.waitForFunction((id) => {
        const el = document.querySelector(id);
        return el && Number(el.dataset.points) >= 2 && el.querySelector('canvas');
      }, `#chart-${c}`, { timeout: 60000 });
    }
    const pts = await page.$eval('#chart-cpu', (el) => el.dataset.points);
    console.log(`chart: ${pts} samples drawn`);
    await page.screenshot({ path: path.join(out, 'web-detail.png') });
    await page.click('#detail-close');
  });

  // A process of the test's own, with a command line no other has.
  const mark = `${process.pid}${Date.now() % 100000}`;
  child = spawn('sleep', [`${mark}.5`], { stdio: 'ignore' });
  const started = Date.now();
  await check(`a process started (sleep, pid ${child.pid}) appears without a reload`, async () => {
    await search(page, mark);
    await page.waitForSelector(`#procs tr[data-pid="${child.pid}"]`, { timeout: WAIT });
    console.log(`appeared after ${Date.now() - started} ms`);
  });

  await page.screenshot({ path: path.join(out, 'web.png') });
  await page.fill('#search', '');

  await check(`killed, it leaves the table and the feed says how it ended`, async () => {
    await search(page, mark);
    const killed = Date.now();
    process.kill(child.pid, 'SIGKILL');
    await page.waitForSelector(`#procs tr[data-pid="${child.pid}"]`, { state: 'detached', timeout: WAIT });
    console.log(`left after ${Date.now() - killed} ms`);
    await page.waitForSelector(`#events li[data-pid="${child.pid}"][data-kind="start"]`, { timeout: WAIT });
    await page.waitForSelector(`#events li[data-pid="${child.pid}"][data-kind="exit"]`, { timeout: WAIT });
    const text = await page.$eval(`#events li[data-pid="${child.pid}"][data-kind="exit"]`, (li) => li.textContent);
    if (!/signal 9|SIGKILL|killed/i.test(text)) throw new Error(`exit line says: ${text}`);
    child = null;
  });

  await check("at a phone's width nothing spills sideways", async () => {
    await page.fill('#search', 'pidcast');
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector('#procs tbody tr[data-pid]', { timeout: WAIT });
    const w = await page.evaluate(() => document.documentElement.scrollWidth);
    if (w > 392) throw new Error(`the page is ${w} px wide at 390`);
    await page.screenshot({ path: path.join(out, 'web-phone.png') });
  });

  if (errors.length) fail(`the page threw: ${errors.join('; ')}`);
}

try {
  await main();
  if (!process.exitCode) console.log('PASS');
} catch (e) {
  if (!process.exitCode) {
    console.log(`FAIL: ${e.message}`);
    process.exitCode = 1;
  }
} finally {
  if (child) process.kill(child.pid, 'SIGKILL');
  if (browser) await browser.close();
}
