// pidcast aggregator page: polls the JSON API (docs/PROTOCOL.md §9) and renders hosts, processes, one process's charts and the starts/exits feed.
'use strict';

/* ---------- formatting ---------- */

const DASH = '–';
const countFmt = new Intl.NumberFormat('en-US'); // "1,234" whatever the browser's locale
const fmtCount = (n) => (n == null ? DASH : countFmt.format(n));
const fmtPct = (v) => (v == null ? DASH : v.toFixed(1));
const pad2 = (n) => String(n).padStart(2, '0');

// Bytes in binary units with three significant digits ("512 B", "1.50 MiB", "123 MiB");
// trim drops trailing zeros, for axis labels ("1 GiB").
function fmtBytes(n, trim) {
  if (n == null || !Number.isFinite(n)) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = Math.abs(n);
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  let s = i === 0 ? String(Math.round(v)) : v.toFixed(v < 10 ? 2 : v < 100 ? 1 : 0);
  if (trim && s.includes('.')) s = s.replace(/\.?0+$/, '');
  return (n < 0 ? '-' : '') + s + ' ' + units[i];
}

// Local wall-clock times.
function fmtClock(ms) {
  const d = new Date(ms);
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
}
function fmtDate(ms) {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
}
const fmtDateTime = (ms) => (ms ? `${fmtDate(ms)} ${fmtClock(ms)}` : DASH);

// A start time, as short as it can be: the time if today, else the date.
function fmtStart(ms) {
  if (!ms) return DASH;
  const d = new Date(ms);
  const now = new Date();
  if (d.toDateString() === now.toDateString()) return fmtClock(ms);
  if (d.getFullYear() === now.getFullYear()) return `${pad2(d.getMonth() + 1)}-${pad2(d.getDate())} ${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
  return fmtDate(ms);
}

// A length of time: "50 ms", "1.2 s", "3 m 4 s", "2 h 5 m", "3 d 4 h".
function fmtDuration(ms) {
  if (ms == null) return DASH;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} m ${Math.floor(s % 60)} s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h} h ${m % 60} m`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function fmtAgo(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.floor(s / 60)} min ago`;
  if (s < 172800) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/* ---------- DOM helpers (text only: nothing from the server goes through innerHTML) ---------- */

const $ = (sel) => document.querySelector(sel);

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = text;
  return e;
}

// Writes only on change, so a poll that changes nothing leaves the DOM (and a text selection) alone.
function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}
function setAttr(node, name, value) {
  if (value == null) node.removeAttribute(name);
  else if (node.getAttribute(name) !== String(value)) node.setAttribute(name, value);
}

// Makes tbody's rows match items, in order, reusing the row of each key.
function syncRows(tbody, items, keyOf, make, update) {
  const old = new Map();
  for (const tr of tbody.rows) old.set(tr.dataset.key, tr);
  items.forEach((item, i) => {
    const key = keyOf(item);
    let tr = old.get(key);
    if (tr) old.delete(key);
    else { tr = make(); tr.dataset.key = key; }
    update(tr, item);
    if (tbody.rows[i] !== tr) tbody.insertBefore(tr, tbody.rows[i] || null);
  });
  for (const tr of old.values()) tr.remove();
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const cls of cells) tr.appendChild(el('td', cls));
  return tr;
}

/* ---------- fetching, status line ---------- */

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

// GET path as text. cache 'no-cache' makes the browser revalidate with If-None-Match,
// so an unchanged answer costs a 304 (fetch still hands us the cached body).
async function fetchText(path) {
  let res;
  let text;
  try {
    res = await fetch(path, { cache: 'no-cache', signal: AbortSignal.timeout(10000) });
    text = await res.text();
  } catch (e) {
    throw new ApiError(0, e.name === 'TimeoutError' ? 'the aggregator does not answer' : 'cannot reach the aggregator');
  }
  if (!res.ok) {
    let msg = res.statusText;
    try { msg = JSON.parse(text).error || msg; } catch { /* not JSON: keep the status text */ }
    throw new ApiError(res.status, `${res.status} ${msg}`);
  }
  return text;
}

const failures = new Map(); // source -> {message, since}

// Each poll reports here: err null when it worked. #status says "live" while nothing fails.
function report(source, err) {
  if (err) {
    const f = failures.get(source);
    failures.delete(source); // re-inserted last: the newest failure is the one shown
    failures.set(source, { message: err.message, since: f ? f.since : Date.now() });
  } else {
    failures.delete(source);
  }
  const status = $('#status');
  if (failures.size === 0) {
    setText(status, 'live');
    status.className = 'live';
    status.removeAttribute('title');
    return;
  }
  const [name, f] = [...failures].pop();
  setText(status, `${f.message}; retrying`);
  status.className = 'error';
  setAttr(status, 'title', `${name}: failing since ${fmtClock(f.since)}`);
}

/* ---------- polling ---------- */

const pollers = new Set();

// Runs fn every ms milliseconds, counted from the end of the previous run (never two at once);
// stops while the tab is hidden.
class Poller {
  constructor(ms, fn) { this.ms = ms; this.fn = fn; this.timer = 0; this.busy = false; this.again = false; this.on = false; }
  start() { this.on = true; pollers.add(this); this.kick(); return this; }
  stop() { this.on = false; this.again = false; pollers.delete(this); clearTimeout(this.timer); }
  // Runs now, or right after the run in flight (whose answer may be for an old query).
  kick() {
    clearTimeout(this.timer);
    if (this.busy) this.again = true;
    else this.run();
  }
  async run() {
    if (!this.on || document.visibilityState === 'hidden') return;
    this.busy = true;
    try { await this.fn(); } catch (e) { console.error(e); }
    this.busy = false;
    if (!this.on) return;
    if (this.again) { this.again = false; this.run(); return; }
    if (document.visibilityState !== 'hidden') this.timer = setTimeout(() => this.run(), this.ms);
  }
}

document.addEventListener('visibilitychange', () => {
  const hidden = document.visibilityState === 'hidden';
  for (const p of pollers) {
    if (hidden) clearTimeout(p.timer);
    else if (!p.busy) p.kick();
  }
});

/* ---------- hosts ---------- */

let hostsText = '';
let hostNames = [];

async function pollHosts() {
  let text;
  try {
    text = await fetchText('/api/hosts');
    report('hosts');
  } catch (e) {
    report('hosts', e);
    return;
  }
  if (text === hostsText) return;
  hostsText = text;
  const data = JSON.parse(text);
  renderHosts(data);
  renderHistoryStatus(data.history);
  updateHostFilter(data.hosts.map((h) => h.host));
}

function renderHosts(data) {
  syncRows($('#hosts tbody'), data.hosts, (h) => h.host,
    () => row(['host', 'state', 'num', 'num', 'num', 'num']),
    (tr, h) => {
      const c = tr.cells;
      tr.dataset.host = h.host;
      tr.classList.toggle('up', !!h.up);
      tr.classList.toggle('down', !h.up);
      setText(c[0], h.host);
      setAttr(c[0], 'title', h.host);
      setText(c[1], !h.up ? 'down' : h.synced ? 'up' : 'up, syncing');
      setAttr(c[1], 'title', `reports every ${h.interval_ms} ms; ${h.gaps} gap${h.gaps === 1 ? '' : 's'}`);
      setText(c[2], fmtCount(h.processes));
      setText(c[3], fmtPct(h.cpu_pct));
      setText(c[4], fmtBytes(h.rss_bytes));
      // An up host was heard within its liveness limit: "now". A down one
      // says for how long it has been silent, by the server's clock, so a
      // skewed browser clock does not matter.
      setText(c[5], h.up ? 'now' : h.silent_ms != null ? fmtAgo(h.silent_ms) : 'never');
      setAttr(c[5], 'title', !h.up && h.last_update_ms ? fmtDateTime(h.last_update_ms) : null);
    });
}

function renderHistoryStatus(h) {
  const p = $('#history-status');
  if (!h) {
    setText(p, 'history: no store');
    p.className = 'dim';
    return;
  }
  let text = `history: ${h.store} ${h.up ? 'up' : 'DOWN'} · ${fmtCount(h.rows_written)} rows written, ` +
    `${fmtCount(h.rows_queued)} queued, ${fmtCount(h.rows_dropped)} dropped`;
  if (h.last_error) text += ` · last error: ${h.last_error}`;
  setText(p, text);
  p.className = h.up && !h.rows_dropped ? 'dim' : 'warn';
}

// The select keeps the chosen host even when that host is gone from the list.
function updateHostFilter(names) {
  if (names.join('\n') === hostNames.join('\n')) return;
  hostNames = names;
  const sel = $('#host-filter');
  const keep = sel.value;
  const opts = [new Option('all hosts', '')];
  for (const n of names) opts.push(new Option(n, n));
  if (keep && !names.includes(keep)) opts.push(new Option(keep, keep));
  sel.replaceChildren(...opts);
  sel.value = keep;
}

/* ---------- the process table ---------- */

const DEFAULT_ORDER = { cpu: 'desc', rss: 'desc', io: 'desc', start: 'desc', name: 'asc', pid: 'asc', host: 'asc' };
const query = { q: '', host: '', sort: 'cpu', order: 'desc', offset: 0, limit: 50 };
const CMD_MAX = 200; // characters of command line in the cell; the title has it all

let procsText = '';
let shown = new Map(); // "host pid" -> record of the rows on screen, to fill the detail at once

const procsUrl = () => '/api/processes?' + new URLSearchParams(query);
const keyOf = (host, pid) => `${host} ${pid}`;

async function pollProcs() {
  const url = procsUrl();
  let text;
  try {
    text = await fetchText(url);
    report('processes');
  } catch (e) {
    report('processes', e);
    return;
  }
  if (url !== procsUrl()) return; // the query changed while this was in flight; a new poll follows
  if (text === procsText) return;
  procsText = text;
  const data = JSON.parse(text);
  // Processes exited and this page is past the end now: go to the last page.
  if (data.total > 0 && query.offset >= data.total) {
    query.offset = Math.floor((data.total - 1) / query.limit) * query.limit;
    procPoller.kick();
  }
  renderProcs(data);
}

function renderProcs(data) {
  const list = data.processes;
  shown = new Map(list.map((p) => [keyOf(p.host, p.pid), p]));
  syncRows($('#procs tbody'), list, (p) => keyOf(p.host, p.pid),
    () => {
      const tr = row(['host', 'num', 'name', 'col-user', 'num', 'num', 'num col-io', 'col-start', 'col-cmd']);
      tr.tabIndex = 0;
      return tr;
    },
    (tr, p) => {
      const c = tr.cells;
      tr.dataset.host = p.host;
      tr.dataset.pid = p.pid;
      tr.classList.toggle('selected', isDetail(p.host, p.pid));
      setText(c[0], p.host);
      setAttr(c[0], 'title', p.host);
      setText(c[1], String(p.pid));
      setText(c[2], p.name ?? DASH);
      setAttr(c[2], 'title', p.exe);
      setText(c[3], p.user ?? DASH);
      setText(c[4], fmtPct(p.cpu_pct));
      setText(c[5], fmtBytes(p.rss_bytes));
      setText(c[6], fmtBytes(p.io_bps));
      setText(c[7], fmtStart(p.create_time_ms));
      setAttr(c[7], 'title', p.create_time_ms ? fmtDateTime(p.create_time_ms) : null);
      // No command line (kernel threads, or not readable): the name in brackets, as ps does.
      const cmd = p.cmdline || (p.name ? `[${p.name}]` : '');
      setText(c[8], cmd.length > CMD_MAX ? cmd.slice(0, CMD_MAX - 1) + '…' : cmd);
      setAttr(c[8], 'title', cmd);
    });

  const total = data.total;
  const first = list.length ? data.offset + 1 : 0;
  const last = data.offset + list.length;
  setText($('#total'), `${fmtCount(total)} process${total === 1 ? '' : 'es'}`);
  setText($('#page'), list.length ? `${fmtCount(first)}-${fmtCount(last)} of ${fmtCount(total)}` : `0 of ${fmtCount(total)}`);
  $('#prev').disabled = query.offset <= 0;
  $('#next').disabled = last >= total;
  $('#procs-empty').hidden = total > 0;
}

function markSort() {
  for (const th of document.querySelectorAll('#procs th[data-sort]')) {
    const on = th.dataset.sort === query.sort;
    th.classList.toggle('sorted', on);
    if (on) th.dataset.order = query.order;
    else delete th.dataset.order;
    th.setAttribute('aria-sort', on ? (query.order === 'asc' ? 'ascending' : 'descending') : 'none');
  }
}

// A new query: back to the first page, ask now.
function requery(changes) {
  Object.assign(query, { offset: 0 }, changes);
  markSort();
  procPoller.kick();
}

function setupProcs() {
  let debounce = 0;
  $('#search').addEventListener('input', (e) => {
    clearTimeout(debounce);
    const value = e.target.value.trim();
    debounce = setTimeout(() => { if (value !== query.q) requery({ q: value }); }, 200);
  });
  $('#host-filter').addEventListener('change', (e) => requery({ host: e.target.value }));

  for (const th of document.querySelectorAll('#procs th[data-sort]')) {
    th.tabIndex = 0;
    const sort = () => {
      const key = th.dataset.sort;
      if (key === query.sort) requery({ order: query.order === 'asc' ? 'desc' : 'asc' });
      else requery({ sort: key, order: DEFAULT_ORDER[key] });
    };
    th.addEventListener('click', sort);
    th.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); sort(); } });
  }

  $('#prev').addEventListener('click', () => {
    query.offset = Math.max(0, query.offset - query.limit);
    procPoller.kick();
  });
  $('#next').addEventListener('click', () => {
    query.offset += query.limit;
    procPoller.kick();
  });

  const tbody = $('#procs tbody');
  const open = (tr) => {
    const pid = Number(tr.dataset.pid);
    const rec = shown.get(keyOf(tr.dataset.host, pid));
    openDetail(tr.dataset.host, pid, rec, rec ? rec.create_time_ms : null);
  };
  tbody.addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-pid]');
    if (tr && !window.getSelection().toString()) open(tr); // a drag to copy text is not a click
  });
  tbody.addEventListener('keydown', (e) => {
    const tr = e.target.closest('tr[data-pid]');
    if (tr && e.key === 'Enter') open(tr);
  });

  // Hosts table: a click filters the processes to that host.
  $('#hosts tbody').addEventListener('click', (e) => {
    const tr = e.target.closest('tr[data-host]');
    if (!tr) return;
    $('#host-filter').value = tr.dataset.host;
    if ($('#host-filter').value !== tr.dataset.host) return; // not in the select yet
    requery({ host: tr.dataset.host });
  });
}

/* ---------- the detail panel ---------- */

// The process shown: create is its start time, which tells it from a later process with the same pid.
const detail = { host: null, pid: 0, create: null, gone: false, histText: '' };
const isDetail = (host, pid) => detail.host === host && detail.pid === pid;

// dt label, value from the record (null: the line is left out).
const FIELDS = [
  ['host', (r) => r.host],
  ['pid', (r) => String(r.pid)],
  ['parent', (r) => (r.ppid ? String(r.ppid) : null)],
  ['name', (r) => r.name ?? DASH],
  ['user', (r) => r.user ?? DASH],
  ['state', (r) => r.state ?? DASH],
  ['started', (r) => fmtDateTime(r.create_time_ms)],
  ['CPU', (r) => `${fmtPct(r.cpu_pct)} % · user ${fmtDuration(r.cpu_user_us / 1000)}, system ${fmtDuration(r.cpu_system_us / 1000)}`],
  ['threads', (r) => fmtCount(r.threads)],
  ['handles', (r) => (r.handles == null ? null : fmtCount(r.handles))],
  ['memory', (r) => `${fmtBytes(r.rss_bytes)} · peak ${fmtBytes(r.peak_rss_bytes)} · private ${fmtBytes(r.private_bytes)}`],
  ['page faults', (r) => fmtCount(r.page_faults)],
  ['I/O now', (r) => `${fmtBytes(r.io_bps)}/s`],
  ['read', (r) => `${fmtBytes(r.io_read_bytes)} in ${fmtCount(r.io_read_ops)} ops`],
  ['written', (r) => `${fmtBytes(r.io_write_bytes)} in ${fmtCount(r.io_write_ops)} ops`],
  ['other I/O', (r) => (r.io_other_ops || r.io_other_bytes ? `${fmtBytes(r.io_other_bytes)} in ${fmtCount(r.io_other_ops)} ops` : null)],
  ['exe', (r) => r.exe ?? DASH],
  ['command', (r) => r.cmdline ?? DASH],
  ['service', (r) => r.service],
  ['cgroup', (r) => r.cgroup],
  ['container', (r) => r.container_id],
  ['pod', (r) => r.pod_uid],
  ['flags', (r) => [r.kernel && 'kernel thread', r.partial && 'partial (not every counter was readable)'].filter(Boolean).join(', ') || null],
];

function buildFields() {
  const dl = $('#detail-fields');
  for (const [label] of FIELDS) {
    const dd = el('dd', label === 'command' ? 'long' : null);
    if (label === 'parent') {
      // The parent's pid opens the parent.
      const b = el('button', 'link');
      b.type = 'button';
      b.addEventListener('click', () => openDetail(detail.host, Number(b.textContent), null, null));
      dd.appendChild(b);
    }
    dl.append(el('dt', null, label), dd);
  }
}

function renderRecord(r) {
  const dds = $('#detail-fields').querySelectorAll('dd');
  FIELDS.forEach(([label, value], i) => {
    const v = r ? value(r) : DASH;
    const dd = dds[i];
    dd.hidden = dd.previousElementSibling.hidden = v == null;
    setText(label === 'parent' ? dd.firstChild : dd, v ?? '');
  });
  setText($('#detail-title'), r ? `${r.name ?? '?'} (${r.pid}) on ${r.host}` : `${detail.pid} on ${detail.host}`);
}

function openDetail(host, pid, rec, create) {
  closeDetail();
  Object.assign(detail, { host, pid, create: create ?? null, gone: false, histText: '' });
  const box = $('#detail');
  box.dataset.host = host;
  box.dataset.pid = pid;
  box.classList.remove('gone');
  $('#detail-gone').hidden = true;
  box.hidden = false;
  renderRecord(rec);
  chartsMessage('loading…');
  setText($('#charts-note'), '');
  for (const tr of $('#procs tbody').rows) tr.classList.toggle('selected', isDetail(tr.dataset.host, Number(tr.dataset.pid)));
  recordPoller.start();
  historyPoller.start();
}

function closeDetail() {
  recordPoller.stop();
  historyPoller.stop();
  report('detail'); // a failure of the closed panel's polls is no longer news
  destroyCharts();
  detail.host = null;
  const box = $('#detail');
  box.hidden = true;
  delete box.dataset.host;
  delete box.dataset.pid;
  for (const tr of $('#procs tbody').rows) tr.classList.remove('selected');
}

const detailUrl = (api) => `/api/${api}?` + new URLSearchParams({ host: detail.host, pid: detail.pid });

async function pollRecord() {
  const { host, pid } = detail;
  let text;
  try {
    text = await fetchText(detailUrl('process'));
    report('detail');
  } catch (e) {
    if (!isDetail(host, pid)) return;
    if (e.status === 404) { report('detail'); markGone(null); } else report('detail', e);
    return;
  }
  if (!isDetail(host, pid)) return;
  const rec = JSON.parse(text).process;
  if (detail.create != null && rec.create_time_ms != null && rec.create_time_ms !== detail.create) {
    markGone('has exited; its pid now belongs to a newer process');
    return;
  }
  detail.create = rec.create_time_ms ?? detail.create;
  renderRecord(rec);
}

// The process exited (seen from the feed's exit event, or a 404): say so, stop asking for it.
function markGone(how) {
  if (detail.gone) return;
  detail.gone = true;
  $('#detail').classList.add('gone');
  const p = $('#detail-gone');
  setText(p, `This process ${how || 'has exited'}.`);
  p.hidden = false;
  recordPoller.stop();
  historyPoller.stop();
  pollHistory(); // its last samples
}

/* ---------- charts ---------- */

// Byte axes tick at 1, 2, 5, 10, 20... KiB / MiB / GiB rather than at powers of ten.
const BYTE_INCRS = [];
for (let p = 1; p <= 1024 ** 5; p *= 1024) for (const m of [1, 2, 5, 10, 20, 50, 100, 200, 500]) BYTE_INCRS.push(p * m);

// fmt: a value in the legend; tick: on the y axis (shorter).
const CHARTS = [
  { id: 'chart-cpu', fmt: (v) => v.toFixed(1), tick: (v) => String(+v.toFixed(1)), pick: (s) => [s.cpu_pct],
    series: [{ label: 'CPU %', stroke: '#1f5fbf', fill: 'rgba(31,95,191,0.12)' }] },
  { id: 'chart-rss', fmt: (v) => fmtBytes(v), tick: (v) => fmtBytes(v, true), pick: (s) => [s.rss_bytes], incrs: BYTE_INCRS,
    series: [{ label: 'memory', stroke: '#7b3fb5', fill: 'rgba(123,63,181,0.12)' }] },
  { id: 'chart-io', fmt: (v) => fmtBytes(v) + '/s', tick: (v) => fmtBytes(v, true) + '/s', pick: (s) => [s.io_read_bps, s.io_write_bps],
    incrs: BYTE_INCRS, series: [{ label: 'read', stroke: '#1a7f37' }, { label: 'write', stroke: '#c2571a' }] },
];
const AXIS = { stroke: '#555', font: '11px ui-monospace, Menlo, Consolas, "DejaVu Sans Mono", monospace',
  grid: { stroke: '#ececec', width: 1 }, ticks: { stroke: '#d8d8d8', width: 1, size: 4 } };
const CHART_HEIGHT = 140;

// Time ticks as local 24-hour HH:MM (HH:MM:SS when they are less than a minute apart).
function timeTicks(u, ticks) {
  const secs = ticks.length > 1 && ticks[1] - ticks[0] < 60;
  return ticks.map((t) => (secs ? fmtClock(t * 1000) : fmtClock(t * 1000).slice(0, 5)));
}

function chartOptions(c, box) {
  const value = (u, v) => (v == null ? DASH : c.fmt(v));
  return {
    width: Math.max(box.clientWidth, 200),
    height: CHART_HEIGHT,
    cursor: { drag: { x: true, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, max > 0 ? max * 1.1 : 1] } },
    axes: [
      { ...AXIS, size: 26, values: timeTicks },
      { ...AXIS, size: 70, incrs: c.incrs, values: (u, ticks) => ticks.map(c.tick) },
    ],
    series: [
      { label: 'time', value: (u, v) => (v == null ? DASH : fmtClock(v * 1000)) },
      ...c.series.map((s) => ({ ...s, width: 1.5, value })),
    ],
    // data-points tells the browser test how many samples the chart has drawn.
    hooks: { draw: [() => { box.dataset.points = c.points; }] },
  };
}

function destroyCharts() {
  for (const c of CHARTS) {
    if (c.plot) { c.plot.destroy(); c.plot = null; }
  }
}

// Replaces every chart by a line of text ("no history store", "loading…").
function chartsMessage(text) {
  destroyCharts();
  for (const c of CHARTS) {
    const box = document.getElementById(c.id);
    delete box.dataset.points;
    box.replaceChildren(el('p', 'chart-msg', text));
  }
}

async function pollHistory() {
  const { host, pid } = detail;
  let text;
  try {
    text = await fetchText(detailUrl('history') + '&since=1h');
  } catch (e) {
    if (!isDetail(host, pid)) return;
    detail.histText = '';
    if (e.status === 503) chartsMessage('no history store');
    else if (e.status === 404) chartsMessage('no history of this process');
    else if (CHARTS[0].plot) setText($('#charts-note'), `history: ${e.message}; retrying`); // keep what is drawn
    else chartsMessage(`history: ${e.message}`);
    return;
  }
  if (!isDetail(host, pid) || text === detail.histText) return;
  detail.histText = text;
  if (typeof uPlot === 'undefined') { chartsMessage('charts unavailable: /uplot.js did not load'); return; }

  const h = JSON.parse(text);
  let samples = h.samples || [];
  // A pid can be reused within the hour: draw only this process's samples when they can be told apart.
  if (detail.create != null && samples.some((s) => s.create_time_ms === detail.create)) {
    samples = samples.filter((s) => s.create_time_ms === detail.create);
  }
  setText($('#charts-note'), `last hour: ${fmtCount(samples.length)} samples${h.truncated ? ' (truncated by the server)' : ''}`);
  if (samples.length === 0) {
    chartsMessage('no samples in the last hour');
    for (const c of CHARTS) document.getElementById(c.id).dataset.points = '0';
    return;
  }
  const xs = samples.map((s) => s.time_ms / 1000); // uPlot's time scale is in seconds
  for (const c of CHARTS) {
    const data = [xs, ...c.series.map((_, i) => samples.map((s) => c.pick(s)[i] ?? null))];
    const box = document.getElementById(c.id);
    c.points = samples.length;
    if (c.plot) c.plot.setData(data);
    else {
      box.replaceChildren();
      c.plot = new uPlot(chartOptions(c, box), data, box);
    }
  }
}

// Charts follow their box's width (the panel changes width with the window).
let resizeTimer = 0;
window.addEventListener('resize', () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    for (const c of CHARTS) {
      if (c.plot) c.plot.setSize({ width: Math.max(document.getElementById(c.id).clientWidth, 200), height: CHART_HEIGHT });
    }
  }, 100);
});

/* ---------- the starts/exits feed ---------- */

const FEED_MAX = 200;
let eventsAfter = 0;
let eventsEpoch = null; // the aggregator's start: another one counts from 1 again

async function pollEvents() {
  let text;
  try {
    text = await fetchText(`/api/events?after=${eventsAfter}&limit=${FEED_MAX}`);
    report('events');
  } catch (e) {
    report('events', e);
    return;
  }
  const data = JSON.parse(text);
  const ul = $('#events');
  if ((eventsEpoch !== null && data.started_ms !== eventsEpoch) || data.last < eventsAfter) {
    // The aggregator restarted and counts from 1 again: start the feed over.
    eventsEpoch = data.started_ms;
    eventsAfter = 0;
    ul.replaceChildren();
    eventsPoller.kick();
    return;
  }
  eventsEpoch = data.started_ms;
  const fresh = data.events.filter((ev) => ev.id > eventsAfter);
  eventsAfter = Math.max(eventsAfter, data.last);
  if (!fresh.length) return;
  const frag = document.createDocumentFragment();
  for (let i = fresh.length - 1; i >= 0; i--) frag.appendChild(eventItem(fresh[i])); // newest on top
  ul.prepend(frag);
  while (ul.children.length > FEED_MAX) ul.lastElementChild.remove();
  for (const ev of fresh) {
    if (ev.kind === 'exit' && isDetail(ev.host, ev.pid) && (detail.create == null || ev.create_time_ms === detail.create)) {
      markGone(ev.exit_signal != null ? `was ${endText(ev)}` : endText(ev).replace(/^exited (-?\d+)/, 'exited with code $1'));
    }
  }
}

// "exited 3 after 50 ms", "killed by signal 9 after 2.0 s".
function endText(ev) {
  let s = ev.exit_signal != null ? `killed by signal ${ev.exit_signal}` : ev.exit_code != null ? `exited ${ev.exit_code}` : 'exited';
  if (ev.lifetime_ms != null) s += ` after ${fmtDuration(ev.lifetime_ms)}`;
  return s;
}

// "12:03:04 web1 sh (1234) exited 3 after 50 ms"
function eventItem(ev) {
  const li = el('li', ev.kind);
  li.dataset.host = ev.host;
  li.dataset.pid = ev.pid;
  li.dataset.kind = ev.kind;
  li.dataset.create = ev.create_time_ms ?? '';
  const what = ev.kind === 'start' ? 'started' : ev.kind === 'exit' ? endText(ev) : ev.kind;
  if (ev.kind === 'exit' && (ev.exit_signal != null || (ev.exit_code != null && ev.exit_code !== 0))) li.classList.add('bad');
  li.append(el('time', null, fmtClock(ev.time_ms)), ' ', el('span', 'ev-host', ev.host), ' ',
    el('span', 'ev-name', `${ev.name ?? '?'} (${ev.pid})`), ' ', el('span', 'ev-what', what));
  li.title = [ev.cmdline, ev.user && `user ${ev.user}`, ev.ppid && `parent ${ev.ppid}`].filter(Boolean).join(' · ');
  return li;
}

function setupEvents() {
  $('#events').addEventListener('click', (e) => {
    const li = e.target.closest('li[data-pid]');
    if (li) openDetail(li.dataset.host, Number(li.dataset.pid), null, li.dataset.create ? Number(li.dataset.create) : null);
  });
}

/* ---------- start ---------- */

// The table every 750 ms: with the server's 250 ms cache, a change shows
// within one second of its tick, so within two ticks of an agent's 1 s.
const procPoller = new Poller(750, pollProcs);
const hostsPoller = new Poller(2000, pollHosts);
const eventsPoller = new Poller(2000, pollEvents);
const recordPoller = new Poller(2000, pollRecord);
const historyPoller = new Poller(10000, pollHistory);

buildFields();
setupProcs();
setupEvents();
markSort();
$('#detail-close').addEventListener('click', closeDetail);
document.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' && !$('#detail').hidden) closeDetail();
});
procPoller.start();
hostsPoller.start();
eventsPoller.start();
