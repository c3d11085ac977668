// No slow client holds what others need (docs/SECURITY.md, "Slow and idle clients"). While 50
// tus PATCHes trickle in 3 bytes a second and 150 connections sit idle (75 connected and silent,
// 75 with half a request's headers), GET /readyz, GET /api/v1/slots and an operator's booking each
// answer within 1 s; a second PATCH or a DELETE of an upload being written is 423. Idle
// keep-alive connections are closed after keep_alive_ms, headers that never end after
// request_timeout_ms. Afterwards every socket is closed, the bytes the trickling PATCHes sent are
// kept (resume from HEAD), every upload is terminated and the server answers as before.
// Agents RPR-A13 … RPR-A22 (5 uploads each, under any per-agent quota of open uploads).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BASE, api, bookingBody, lit, slots, sqlValue, staffLogin } from './lib.mjs';
import { agentLogin, fakePdf, makeVisit, mandatoryDocs, sha256hex, tusCreate, tusHead, tusPatch } from './agent_fixtures.mjs';

const UPLOADERS = 50;
const SILENT = 75;
const PARTIAL = 75;
const KEEPALIVE = 10;
const BAR_MS = 1000; // the bar for every request while the slow clients are connected
const KEEP_ALIVE_MS = Number(process.env.MITAN_KEEP_ALIVE_MS || 2000);
const REQUEST_TIMEOUT_MS = Number(process.env.MITAN_REQUEST_TIMEOUT_MS || 10000);
const SLACK_MS = 2500; // civetweb looks at its timeouts in steps; a loaded machine adds more
const AGENTS = Array.from({ length: 10 }, (_, i) => `RPR-A${13 + i}`);
const FILE = fakePdf(1000);
const url = new URL(BASE);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const sockets = [];
const timers = [];
let uploads = []; // { token, path }

// A raw connection that records when the server closed it and what it said.
function open(onConnect) {
  return new Promise((resolve, reject) => {
    const s = net.connect(Number(url.port), url.hostname);
    const c = { s, opened: Date.now(), closedAt: null, reply: '' };
    sockets.push(c);
    s.setEncoding('latin1');
    s.on('data', (d) => { c.reply += d; });
    s.on('close', () => { c.closedAt = Date.now(); });
    s.on('error', () => {});
    s.once('connect', () => { onConnect?.(c); resolve(c); });
    s.once('error', reject);
  });
}

// A tus PATCH announcing the whole file and sending 3 bytes of it a second.
async function trickle({ token, path }) {
  const c = await open((conn) => {
    conn.s.write(`PATCH ${path} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
      `Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n` +
      `Content-Length: ${FILE.length}\r\n\r\n`);
  });
  let sent = 0;
  const send = () => {
    if (c.closedAt || sent >= FILE.length - 3) return;
    c.s.write(FILE.subarray(sent, sent + 3));
    sent += 3;
  };
  send();
  timers.push(setInterval(send, 1000));
  return c;
}

async function timed(name, fn) {
  const t0 = performance.now();
  const r = await fn();
  const ms = performance.now() - t0;
  console.log(`${name}: ${r.status} in ${ms.toFixed(0)} ms`);
  return { r, ms };
}

let operator, start;

before(async () => {
  operator = await staffLogin('operator');
  const free = (await slots()).filter((w) => w.remaining > 0);
  assert.ok(free.length > 0, 'a window with capacity to book');
  start = free[free.length - 1].start;
  const doc = mandatoryDocs()[0];
  for (const agent of AGENTS) {
    const token = await agentLogin(agent);
    let visit;
    try { visit = makeVisit(agent, { hour: 16, status: 'arrived' }); } catch { visit = makeVisit(agent, { hour: 14, status: 'arrived' }); }
    for (let i = 0; i < UPLOADERS / AGENTS.length; i++) {
      const c = await tusCreate(token, { reference: visit.reference, document: doc, sha256: sha256hex(FILE), length: FILE.length });
      assert.equal(c.status, 201, c.text);
      uploads.push({ token, path: c.headers.get('location') });
    }
  }
});

after(async () => {
  for (const t of timers) clearInterval(t);
  for (const c of sockets) c.s.destroy();
});

test('50 trickling uploads and 150 idle connections do not slow /readyz, /slots or a booking past 1 s', async () => {
  const trickling = await Promise.all(uploads.map(trickle));
  const silent = await Promise.all(Array.from({ length: SILENT }, () => open()));
  const partial = await Promise.all(Array.from({ length: PARTIAL }, () =>
    open((c) => c.s.write(`GET /readyz HTTP/1.1\r\nHost: ${url.host}\r\n`))));
  // Let every trickling PATCH get past its claim and into its body.
  await sleep(1500);
  assert.deepEqual(trickling.filter((c) => c.reply || c.closedAt).map((c) => c.reply.split('\r\n')[0]), [],
    'the trickling PATCHes are all still streaming');

  const signal = () => AbortSignal.timeout(10000);
  const ready = await timed('GET /readyz', async () => {
    const res = await fetch(`${BASE}/readyz`, { signal: signal() });
    return { status: res.status, text: await res.text() };
  });
  const where = `service=income_certificate&lat=21.27&lon=81.63&days=7`;
  const slot = await timed('GET /api/v1/slots', async () => {
    const res = await fetch(`${BASE}/api/v1/slots?${where}`, { signal: signal() });
    return { status: res.status, text: await res.text() };
  });
  const booking = await timed('POST /api/v1/bookings', async () => {
    const res = await fetch(`${BASE}/api/v1/bookings`, {
      method: 'POST', signal: signal(), body: JSON.stringify(bookingBody(start)),
      headers: { Authorization: `Bearer ${operator}`, 'Content-Type': 'application/json' },
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) };
  });
  assert.equal(ready.r.status, 200, ready.r.text);
  assert.equal(slot.r.status, 200, slot.r.text);
  assert.equal(booking.r.status, 201, booking.r.text);
  for (const [name, m] of [['readyz', ready], ['slots', slot], ['booking', booking]])
    assert.ok(m.ms < BAR_MS, `${name} took ${m.ms.toFixed(0)} ms`);
  const cancel = await api('POST', `/api/v1/bookings/${booking.r.json.reference}/cancel`,
    { token: operator, body: { reason: 'slow client test' } });
  assert.equal(cancel.status, 200, cancel.text);

  // An upload being written is claimed: another PATCH, or a DELETE, waits 2 s and gets 423.
  const busy = uploads[0];
  const [p, d] = await Promise.all([
    tusPatch(busy.token, busy.path, 0, FILE.subarray(0, 10)),
    api('DELETE', busy.path, { token: busy.token, headers: { 'Tus-Resumable': '1.0.0' } }),
  ]);
  assert.equal(p.status, 423, p.text);
  assert.equal(d.status, 423, d.text);

  // Headers that never end are cut by request_timeout_ms, counted from the connection.
  const deadline = Math.max(...partial.map((c) => c.opened)) + REQUEST_TIMEOUT_MS + SLACK_MS;
  while (Date.now() < deadline && [...silent, ...partial].some((c) => !c.closedAt)) await sleep(100);
  const late = [...silent, ...partial].filter((c) => !c.closedAt || c.closedAt - c.opened > REQUEST_TIMEOUT_MS + SLACK_MS);
  assert.equal(late.length, 0, `${late.length} connections without a whole request were not closed in time`);
  assert.ok(partial.every((c) => c.closedAt - c.opened >= REQUEST_TIMEOUT_MS - 500), 'not cut before request_timeout_ms');
  // The trickling PATCHes send data: they are not cut for being slow.
  assert.equal(trickling.filter((c) => c.closedAt).length, 0, 'trickling PATCHes stay open');
});

test('an idle keep-alive connection is closed after keep_alive_ms', async () => {
  const idle = await Promise.all(Array.from({ length: KEEPALIVE }, () =>
    open((c) => c.s.write(`GET /healthz HTTP/1.1\r\nHost: ${url.host}\r\n\r\n`))));
  const deadline = Date.now() + KEEP_ALIVE_MS + SLACK_MS;
  while (Date.now() < deadline && idle.some((c) => !c.closedAt)) await sleep(50);
  for (const c of idle) {
    assert.match(c.reply, /^HTTP\/1\.1 200/, 'the one request was answered');
    assert.ok(c.closedAt, 'closed by the server');
    assert.ok(c.closedAt - c.opened <= KEEP_ALIVE_MS + SLACK_MS, `closed after ${c.closedAt - c.opened} ms`);
  }
});

test('once the slow clients are gone, their bytes are kept, every upload is terminated, the server is healthy', async () => {
  for (const t of timers) clearInterval(t);
  for (const c of sockets) c.s.destroy();
  // Each cut PATCH stores what it received, records the offset, then clears its claim.
  const ids = uploads.map((u) => lit(u.path.split('/').pop())).join(',');
  const claimed = () => Number(sqlValue(`SELECT count(*) FROM upload WHERE id IN (${ids}) AND patch_claim IS NOT NULL`));
  for (let i = 0; i < 100 && claimed() > 0; i++) await sleep(100);
  assert.equal(claimed(), 0, 'every claim is cleared');
  const offsets = await Promise.all(uploads.map(async (u) => Number((await tusHead(u.token, u.path)).headers.get('upload-offset'))));
  console.log(`bytes kept of the cut PATCHes: ${Math.min(...offsets)} to ${Math.max(...offsets)}`);
  assert.ok(offsets.every((n) => n > 0 && n < FILE.length), `offsets ${offsets.join(' ')}`);
  for (const u of uploads) {
    const d = await api('DELETE', u.path, { token: u.token, headers: { 'Tus-Resumable': '1.0.0' } });
    assert.equal(d.status, 204, d.text);
  }
  assert.equal(sqlValue(`SELECT count(*) FROM upload WHERE id IN (${ids})`), '0');
  const r = await fetch(`${BASE}/readyz`, { signal: AbortSignal.timeout(3000) });
  assert.equal(r.status, 200);
});
