// The availability cache of GET /slots: a server of its own with the cache on (the shared
// test server runs without it, because tests change capacities with SQL behind its back).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { DATA, ZONES, windowStart, setWindowFree, residentLogin, bookingBody } from './lib.mjs';

const ZONE = 'RPR-Z4';
const START = windowStart(13, 14);
let server;
let base;

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

async function remaining() {
  const { lat, lon } = ZONES[ZONE];
  const r = await fetch(`${base}/api/v1/slots?service=income_certificate&lat=${lat}&lon=${lon}&days=14`);
  assert.equal(r.status, 200);
  const w = (await r.json()).find((s) => Date.parse(s.start) === Date.parse(START));
  return w.remaining;
}

before(async () => {
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  server = spawn('bin/mitan', ['serve'], {
    env: { ...process.env, MITAN_PORT: String(port), MITAN_SLOTS_CACHE_MS: '60000', MITAN_WORKER_IN_PROCESS: '0', MITAN_DATA: DATA },
    stdio: 'ignore',
  });
  for (let i = 0; i < 100; i++) {
    try { if ((await fetch(`${base}/readyz`)).ok) return; } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the second server did not start');
});

after(() => server?.kill('SIGTERM'));

test('availability is served from memory, and a booking through the server refreshes it', async () => {
  setWindowFree(ZONE, START, [2, 2, 0, 0]);
  assert.equal(await remaining(), 4);
  setWindowFree(ZONE, START, [3, 3, 0, 0]); // behind the server's back: still the cached 4
  assert.equal(await remaining(), 4);
  const { token } = await residentLogin();
  const r = await fetch(`${base}/api/v1/bookings`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify(bookingBody(START, { location: ZONES[ZONE] })),
  });
  assert.equal(r.status, 201, await r.text());
  assert.equal(await remaining(), 5); // the booking dropped the zone's entry: 6 free, 1 taken
});
