// web_api.mjs: the aggregator's JSON API under /api/ and its page's assets,
// asked over real HTTP of a real aggregator fed by a real agent, about
// processes this test started (known pids, memory, CPU, how they end).
// usage: node web_api.mjs AGGREGATOR AGENT PC_CHILD
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';

const [aggPath, agentPath, childPath] = process.argv.slice(2);
const tmp = mkdtempSync(path.join(tmpdir(), 'pidcast-web-api-'));
const procs = []; // every process started, stopped by pid at the end
const WAIT = 20000;
let failed = 0;

function start(cmd, args, opts = {}) {
  const p = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
  procs.push(p);
  p.stderrText = '';
  p.stderr.on('data', (d) => { p.stderrText += d; });
  return p;
}

function check(what, cond, detail = '') {
  if (cond) {
    console.log(`ok: ${what}`);
  } else {
    console.log(`FAIL: ${what} ${detail}`);
    failed++;
  }
}

async function until(what, fn, ms = WAIT) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// pc_child's lines, whole: a line may come in more than one chunk (under
// ASan its printf writes the newline apart).
function lines(child) {
  child.pending = [];
  child.waiting = [];
  let part = '';
  child.stdout.on('data', (d) => {
    const all = (part + d).split('\n');
    part = all.pop();
    for (const l of all) {
      const w = child.waiting.shift();
      if (w) w(l);
      else child.pending.push(l);
    }
  });
}

function nextLine(child) {
  return child.pending.length ? Promise.resolve(child.pending.shift())
    : new Promise((resolve) => child.waiting.push(resolve));
}

// Sends pc_child a command and waits for its answer line.
async function command(child, line) {
  child.stdin.write(`${line}\n`);
  const d = await nextLine(child);
  if (d !== 'ok') throw new Error(`pc_child ${line}: ${d}`);
}

async function aggregator(name, extra) {
  const bound = path.join(tmp, `${name}.bound`);
  const p = start(aggPath, ['--listen', `ipc://${tmp}/${name}.in`, '--rpc', `ipc://${tmp}/${name}.rpc`,
    '--publish', 'none', '--metrics', 'http://127.0.0.1:0/metrics', '--bound-file', bound, ...extra]);
  const lines = await until(`${name} to listen`, async () => {
    const t = readFileSync(bound, 'utf8');
    return /^metrics /m.test(t) ? t : undefined;
  });
  const url = (key) => (lines.match(new RegExp(`^${key} (\\S+)`, 'm')) || [])[1];
  return { p, metrics: url('metrics'), web: url('web'), listen: `ipc://${tmp}/${name}.in` };
}

async function get(base, p, headers = {}) {
  const r = await fetch(new URL(p, base), { headers });
  const text = await r.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: r.status, type: r.headers.get('content-type'), etag: r.headers.get('etag'), text, json };
}

async function main() {
  const agg = await aggregator('main', ['--history', `sqlite:${tmp}/history.db`, '--history-every', '1s']);
  const web = agg.web;
  check('the bound file names the page', web && web.endsWith('/'), web);
  const agent = start(agentPath, ['--host', 'api-one', '--interval', '250ms', '--publish', `ipc://${tmp}/agent.pub`,
    '--rpc', `ipc://${tmp}/agent.rpc`, '--aggregator', agg.listen]);

  // Two children with a command line no other process has.
  const token = `${tmp}/web-api-token`;
  const big = start(childPath, [token]);
  const small = start(childPath, [token]);
  lines(big);
  lines(small);
  await Promise.all([nextLine(big), nextLine(small)]); // "ready"
  await command(big, 'alloc 64');

  const hosts = await until('api-one up', async () => {
    const r = await get(web, '/api/hosts');
    const h = r.json.hosts.find((x) => x.host === 'api-one');
    return h && h.up ? r : undefined;
  });
  const h1 = hosts.json.hosts[0];
  check('/api/hosts: the host, up, with its processes, CPU and memory',
    h1.host === 'api-one' && h1.processes > 3 && h1.rss_bytes > 64 * 1048576 && typeof h1.cpu_pct === 'number' &&
    h1.interval_ms === 250, JSON.stringify(h1));
  check('/api/hosts: the history store', hosts.json.history && hosts.json.history.store === `sqlite:${tmp}/history.db`);

  const q = encodeURIComponent(token);
  const both = await until('both children listed', async () => {
    const r = await get(web, `/api/processes?q=${q}&sort=rss`);
    return r.json.total === 2 ? r : undefined;
  });
  const [first, second] = both.json.processes;
  check('search by command line finds exactly the two children', both.json.total === 2 &&
    new Set([first.pid, second.pid]).size === 2 && [first.pid, second.pid].every((p) => p === big.pid || p === small.pid));
  check('sorted by memory, the child holding 64 MiB first', first.pid === big.pid && first.rss_bytes >= 64 * 1048576 &&
    second.rss_bytes < first.rss_bytes, `${first.pid} ${first.rss_bytes} ${second.rss_bytes}`);
  check('a record has its host, user, threads and rates', first.host === 'api-one' && first.user === 'root' &&
    first.threads === 1 && first.ppid === process.pid && typeof first.cpu_pct === 'number' && first.cmdline.includes(token));
  const asc = await get(web, `/api/processes?q=${q}&sort=rss&order=asc`);
  check('order=asc reverses it', asc.json.processes[0].pid === small.pid && asc.json.order === 'asc');
  const page2 = await get(web, `/api/processes?q=${q}&sort=rss&limit=1&offset=1`);
  check('paging: the second page of one is the second process, the total unchanged',
    page2.json.total === 2 && page2.json.processes.length === 1 && page2.json.processes[0].pid === small.pid);
  const byPid = await get(web, `/api/processes?q=${big.pid}`);
  check('a q of digits finds the pid', byPid.json.processes.some((p) => p.pid === big.pid));
  const upper = await get(web, `/api/processes?q=${encodeURIComponent(token.toUpperCase())}`);
  check('search is case-insensitive', upper.json.total === 2);
  const byHost = await get(web, '/api/processes?q=API-ONE&limit=1');
  check('search covers the host name', byHost.json.total > 3 && byHost.json.processes.length === 1);

  // A page that is not a search is merged from each host's kept rows; a
  // search passes over every table: the same order either way (by pid,
  // whose first twenty are the machine's oldest processes, which stay).
  const ids = (r) => r.json.processes.map((p) => `${p.host}:${p.pid}`).join(' ');
  const merged = await get(web, '/api/processes?sort=pid&order=asc&limit=20');
  const scanned = await get(web, '/api/processes?q=api-one&sort=pid&order=asc&limit=20');
  check('merged and scanned pages agree', ids(merged) === ids(scanned) && merged.json.processes.length === 20,
    `${ids(merged)} | ${ids(scanned)}`);
  const p1 = await get(web, '/api/processes?sort=pid&order=asc&limit=10');
  const p2 = await get(web, '/api/processes?sort=pid&order=asc&limit=10&offset=10');
  check('two pages of ten are the page of twenty', `${ids(p1)} ${ids(p2)}` === ids(merged));
  const top = await get(web, '/api/processes?sort=rss&limit=500');
  const rss = top.json.processes.map((p) => p.rss_bytes);
  check('every process, by memory, most first', top.json.total > 3 && rss.every((v, i) => i === 0 || v <= rss[i - 1]) &&
    top.json.processes.some((p) => p.pid === big.pid));

  // CPU over the last update: a child spinning for 3 s shows near one core.
  const spun = command(big, 'spin 3000');
  const busy = await until('the spinning child at > 50% of a core', async () => {
    const r = await get(web, `/api/process?host=api-one&pid=${big.pid}`);
    return r.json.process.cpu_pct > 50 ? r : undefined;
  });
  check('/api/process: one process, with its CPU rate', busy.json.host === 'api-one' &&
    busy.json.process.pid === big.pid, busy.text.slice(0, 200));
  await spun; // the spin's "ok"

  // Clear errors for what does not exist or is malformed.
  const bad = [
    ['/api/processes?sort=bogus', 400, /sort/],
    ['/api/processes?order=up', 400, /order/],
    ['/api/processes?limit=0', 400, /limit/],
    ['/api/processes?limit=501', 400, /limit/],
    ['/api/processes?offset=-1', 400, /offset/],
    ['/api/processes?q=%zz', 400, /escaped/],
    [`/api/processes?q=${'x'.repeat(300)}`, 400, /longer/],
    ['/api/processes?host=nope', 404, /nope/],
    ['/api/process?host=api-one&pid=4000000000', 404, /4000000000/],
    ['/api/process?host=api-one&pid=abc', 400, /pid/],
    ['/api/process?pid=1', 400, /host/],
    ['/api/process?host=api-one', 400, /pid/],
    ['/api/history?host=api-one', 400, /pid/],
    ['/api/history?host=api-one&pid=1&since=yesterday', 400, /since/],
    ['/api/events?limit=5000', 400, /limit/],
    ['/api/nope', 404, /hosts, processes/],
  ];
  for (const [p, status, msg] of bad) {
    const r = await get(web, p);
    check(`${p.slice(0, 60)}: ${status} and a message`, r.status === status && r.json && msg.test(r.json.error),
      `${r.status} ${r.text.slice(0, 120)}`);
  }
  // A flood of distinct searches (no two share a cached answer; fewer than
  // the 32 connections the server takes at once): each is
  // answered, 200 or 503 "busy", and /metrics is served meanwhile.
  const flood = await Promise.all([...Array(24).keys()].map((i) =>
    get(web, `/api/processes?q=flood-${i}&offset=${i}`)));
  const scrape = await get(agg.metrics, '');
  check('a flood of 24 searches: each 200 or 503 busy, /metrics served', flood.every((r) =>
    r.status === 200 || (r.status === 503 && /busy/.test(r.json.error))) && scrape.status === 200,
    flood.map((r) => r.status).join(','));
  const post = await fetch(new URL('/api/hosts', web), { method: 'POST' });
  check('POST: 405', post.status === 405);

  // The feed: a short-lived process that exits 3, and a child killed.
  const sh = start('sh', ['-c', `sleep 0.5; exit 3 # ${token}`]);
  await once(sh, 'exit');
  const ended = await until('the exit of sh in the feed', async () => {
    const r = await get(web, '/api/events?limit=1000');
    const ev = r.json.events.filter((e) => e.pid === sh.pid);
    return ev.some((e) => e.kind === 'start') && ev.some((e) => e.kind === 'exit') ? ev : undefined;
  });
  const shExit = ended.find((e) => e.kind === 'exit');
  check('a start and an exit, with its exit code and how long it lived', shExit.exit_code === 3 &&
    shExit.lifetime_ms >= 400 && shExit.host === 'api-one' && shExit.cmdline.includes('exit 3'), JSON.stringify(shExit));
  const last = (await get(web, '/api/events?limit=1')).json.last;
  process.kill(small.pid, 'SIGKILL');
  const killed = await until('the killed child in the feed', async () => {
    const r = await get(web, `/api/events?after=${last}`);
    return r.json.events.find((e) => e.pid === small.pid && e.kind === 'exit');
  });
  check('a process killed: exit_signal 9', killed.exit_signal === 9 && killed.exit_code === undefined, JSON.stringify(killed));
  const after = await get(web, `/api/events?after=${killed.id}`);
  check('after=ID gives only newer events', after.json.events.every((e) => e.id > killed.id) &&
    typeof after.json.started_ms === 'number');
  const far = await get(web, '/api/events?after=18446744073709551615');
  check('after= the largest id gives nothing (no wrap)', far.status === 200 && far.json.events.length === 0);
  // A deep page of a search costs what it matches, not what it asks room for.
  const deep = await get(web, `/api/processes?q=${q}&offset=9999990&limit=10`);
  check('a page past every match is empty, with the total', deep.status === 200 &&
    deep.json.total === 1 && deep.json.processes.length === 0, deep.text.slice(0, 200));
  const wrap = await get(web, '/api/processes?q=4294967297&limit=500');
  check('a pid search past 32 bits matches no pid 1', !wrap.json.processes.some((p) => p.pid === 1 && !p.cmdline?.includes('4294967297')));
  await until('the killed child gone from the table', async () =>
    (await get(web, `/api/process?host=api-one&pid=${small.pid}`)).status === 404);

  // History, from the store, with its rates.
  const hist = await until('two samples of the big child', async () => {
    const r = await get(web, `/api/history?host=api-one&pid=${big.pid}&since=5m`);
    return r.status === 200 && r.json.samples.length >= 2 ? r : undefined;
  }, 30000);
  const s = hist.json.samples;
  check('/api/history: samples by time, with memory and rates', s.every((x, i) => i === 0 || x.time_ms > s[i - 1].time_ms) &&
    s[s.length - 1].rss_bytes >= 64 * 1048576 && typeof s[s.length - 1].cpu_pct === 'number' &&
    hist.json.name === 'pc_child', hist.text.slice(0, 300));

  // The page's files, from the binary; an unchanged one revalidates to 304.
  const index = await get(web, '/');
  check('/: the page', index.status === 200 && /text\/html/.test(index.type) && /<html/i.test(index.text));
  for (const [p, type] of [['/app.js', /javascript/], ['/app.css', /css/], ['/uplot.js', /javascript/], ['/uplot.css', /css/]]) {
    const r = await get(web, p);
    check(`${p}: served`, r.status === 200 && type.test(r.type) && r.text.length > 100);
  }
  const again = await get(web, '/', { 'If-None-Match': index.etag });
  check('If-None-Match with its ETag: 304, no body', again.status === 304 && again.text === '');
  const metrics = await get(agg.metrics, '');
  check('/metrics beside the page', metrics.status === 200 && metrics.text.includes('pidcast_host_up{host="api-one"} 1'));

  // Without a store, history says so; with --no-web, only /metrics.
  const bare = await aggregator('bare', ['--history', 'none']);
  const none = await get(bare.web, '/api/history?host=x&pid=1');
  check('no store: /api/history is 503 with a reason', none.status === 503 && /history/.test(none.json.error));
  const noweb = await aggregator('noweb', ['--history', 'none', '--no-web']);
  check('--no-web: no page in the bound file', noweb.web === undefined);
  const gone = await get(noweb.metrics, '/');
  const gapi = await get(noweb.metrics, '/api/hosts');
  check('--no-web: / and /api/ are 404, /metrics served', gone.status === 404 && gapi.status === 404 &&
    (await get(noweb.metrics, '')).status === 200);
  void agent;
}

try {
  await main();
} catch (e) {
  console.log(`FAIL: ${e.message}`);
  failed++;
} finally {
  for (const p of procs) {
    if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  }
  await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? once(p, 'exit') : null)));
  for (const p of procs) {
    if (p.stderrText && /ERROR|AddressSanitizer|runtime error/.test(p.stderrText)) {
      console.log(`FAIL: ${p.spawnargs[0]} said:\n${p.stderrText.slice(-2000)}`);
      failed++;
    }
  }
  rmSync(tmp, { recursive: true, force: true });
}
console.log(failed ? `${failed} FAILED` : 'PASS');
process.exitCode = failed ? 1 : 0;
