// A fake SMS gateway on 127.0.0.1 for the SMS tests and the benchmark. It can answer 200,
// answer 5xx, answer a DLT error, hang, close the connection mid-request, or be down
// (connection refused). Like a real gateway it deduplicates by Idempotency-Key: a repeated
// key gets the first answer again and is not delivered twice.
//
//   import { startFakeGateway } from './fake_gateway.mjs';
//   const gw = await startFakeGateway();        // gw.url = http://127.0.0.1:<port>/send
//   gw.mode = 'ok' | '5xx' | 'dlt' | 'hang' | 'close';   or gw.plan = (msg) => mode
//   await gw.down(); await gw.up();             // refuse connections for a while
//   gw.requests: every request seen; gw.delivered: Map key -> first accepted message
//
// Standalone (benchmark): node tests/integration/fake_gateway.mjs PORT
//   GET /_stats -> {"requests", "delivered", "duplicates", "times": [[client_ref, epoch_ms], …]}
import http from 'node:http';
import { performance } from 'node:perf_hooks';

const nowMs = () => performance.timeOrigin + performance.now();

export async function startFakeGateway({ port = 0, apiKeyHeader = 'x-api-key', apiKey } = {}) {
  const gw = {
    mode: 'ok',
    plan: null,
    requests: [],
    delivered: new Map(),
    duplicates: 0,
    hanging: new Set(),
    port: 0,
    url: '',
  };
  const sockets = new Set();
  let server;
  let seq = 0;

  function handle(req, res) {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const t = nowMs();
      const raw = Buffer.concat(chunks).toString('utf8');
      if (req.method === 'GET' && req.url === '/_stats') {
        const times = [...gw.delivered.values()].map((m) => [m.body.client_ref, m.t]);
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ requests: gw.requests.length, delivered: gw.delivered.size, duplicates: gw.duplicates, times }));
        return;
      }
      let body;
      try { body = JSON.parse(raw); } catch { body = undefined; }
      const key = req.headers['idempotency-key'];
      const msg = { t, key, body, headers: req.headers, contentType: req.headers['content-type'] };
      if (!body || !key || req.method !== 'POST') {
        gw.requests.push({ ...msg, mode: 'bad' });
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"BAD_REQUEST","message":"JSON body and Idempotency-Key required"}}');
        return;
      }
      if (apiKey && req.headers[apiKeyHeader] !== apiKey) {
        gw.requests.push({ ...msg, mode: 'unauthorized' });
        res.writeHead(401, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"UNAUTHORIZED","message":"bad API key"}}');
        return;
      }
      const mode = (gw.plan && gw.plan(msg)) || gw.mode;
      gw.requests.push({ ...msg, mode });
      if (mode === 'hang') {
        gw.hanging.add(res);
        return;
      }
      if (mode === 'close') {
        req.socket.destroy();
        return;
      }
      if (mode === '5xx') {
        res.writeHead(503, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"UNAVAILABLE","message":"try later"}}');
        return;
      }
      if (mode === 'dlt') {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end('{"error":{"code":"DLT_TEMPLATE_MISMATCH","message":"content does not match the registered template"}}');
        return;
      }
      let first = gw.delivered.get(key);
      if (first) gw.duplicates++;
      else {
        first = { ...msg, id: `gw-${++seq}` };
        gw.delivered.set(key, first);
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ id: first.id, status: 'accepted' }));
    });
  }

  gw.up = () => new Promise((resolve, reject) => {
    server = http.createServer({ keepAliveTimeout: 30000 }, handle);
    gw.server = server;
    server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
    server.once('error', reject);
    server.listen(gw.port || port, '127.0.0.1', () => {
      gw.port = server.address().port;
      gw.url = `http://127.0.0.1:${gw.port}/send`;
      resolve(gw);
    });
  });
  // Stops listening and drops every connection (hanging ones too): connection refused.
  gw.down = () => new Promise((resolve) => {
    for (const res of gw.hanging) res.socket?.destroy();
    gw.hanging.clear();
    for (const s of sockets) s.destroy();
    server.close(() => resolve());
  });
  gw.stop = gw.down;
  // Messages delivered (accepted once) whose body matches pred.
  gw.deliveredWhere = (pred) => [...gw.delivered.values()].filter((m) => pred(m.body));
  await gw.up();
  return gw;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const gw = await startFakeGateway({ port: Number(process.argv[2] || 0) });
  console.log(gw.url);
  process.on('SIGTERM', async () => { await gw.down(); process.exit(0); });
}

// ---- helpers of the SMS and scheduler tests: their own `bin/mitan worker` processes ----
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';

const MITAN = new URL('../../bin/mitan', import.meta.url).pathname;
const SANITIZER_REPORT = /runtime error|AddressSanitizer|LeakSanitizer/;

// `bin/mitan worker --once` with extra environment (e.g. MITAN_NOW); returns its stderr.
export function workerOnce(env = {}) {
  const r = spawnSync(MITAN, ['worker', '--once'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 25000 });
  if (r.status !== 0 || SANITIZER_REPORT.test(r.stderr)) throw new Error(`worker --once: exit ${r.status}\n${r.stderr}`);
  return r.stderr;
}

// Two or more `worker --once` at the same time.
export async function workersOnceTogether(n, env = {}) {
  const runs = Array.from({ length: n }, () => {
    const p = spawn(MITAN, ['worker', '--once'], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    return once(p, 'exit').then(([code]) => {
      if (code !== 0 || SANITIZER_REPORT.test(err)) throw new Error(`worker --once: exit ${code}\n${err}`);
    });
  });
  await Promise.all(runs);
}

// A long-running worker; stop it with stopWorker (SIGTERM: it must exit 0) or kill it.
export function startWorker(env = {}) {
  const p = spawn(MITAN, ['worker'], {
    env: { ...process.env, MITAN_WORKER_POLL_MS: '100', ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  p.log = '';
  p.stderr.on('data', (d) => { p.log += d; });
  p.done = once(p, 'exit');
  return p;
}
export async function stopWorker(p) {
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  const [code, signal] = await p.done;
  if (signal === 'SIGKILL') return;
  if (code !== 0 || SANITIZER_REPORT.test(p.log)) throw new Error(`worker: exit ${code} ${signal}\n${p.log}`);
}

// The keyed hash the server stores for a visit code (dispatch/booking/visit.c).
export function visitCodeHash(dataDir, reference, code) {
  const secret = readFileSync(`${dataDir}/secret.key`);
  const key = createHmac('sha256', secret).update('visit').digest();
  return createHmac('sha256', key).update(`${reference}:${code}`).digest('hex');
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Polls fn until it returns a truthy value or the time is up; returns the last value.
export async function waitFor(fn, ms = 10000, step = 100) {
  const end = Date.now() + ms;
  let v;
  while (!(v = await fn()) && Date.now() < end) await sleep(step);
  return v;
}
