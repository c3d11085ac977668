// Production means production: with MITAN_ENV=prod, `mitan serve` and `mitan worker` refuse
// to start on development or unsafe settings, naming each on a line of its own; `mitan
// check-config` shows the effective configuration (secrets masked) and exits 1 on an unsafe
// one; a production server that does start has no /api/v1/dev/* at all.
// The binaries run as children against the test cluster (MITAN_DATA), on ports of their own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DATA } from './lib.mjs';

const MITAN = new URL('../../bin/mitan', import.meta.url).pathname;
const ROOT = new URL('../..', import.meta.url).pathname;
const SANITIZER_REPORT = /runtime error|AddressSanitizer|LeakSanitizer/;
const RUN_LIMIT_MS = 15000; // a refusal is immediate; a server that starts instead is killed here
const DLR_SECRET = 'dlr-0123456789abcdef0123456789abcdef';
const API_KEY = 'gateway-key-0123456789-zq';

// Settings of a safe production installation (the gateway is never called: no worker runs).
const SAFE = {
  MITAN_ENV: 'prod',
  MITAN_SMS_DRIVER: 'http',
  MITAN_SMS_URL: 'https://sms.example.invalid/send',
  MITAN_SMS_API_KEY: API_KEY,
  MITAN_SMS_DLR_SECRET: DLR_SECRET,
  MITAN_PUBLIC_URL: 'https://mitan.example.gov.in',
  MITAN_TRUST_PROXY: '1',
  MITAN_LISTEN: '127.0.0.1',
  MITAN_LOG_LEVEL: 'warn',
  MITAN_WORKER_IN_PROCESS: '0',
};

// The test run's own environment, without any MITAN_* setting, plus `env`.
function envWith(env) {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MITAN_')));
  return { ...base, MITAN_DATA: DATA, ...env };
}

function run(args, env) {
  const r = spawnSync(MITAN, args, { cwd: ROOT, env: envWith(env), encoding: 'utf8', timeout: RUN_LIMIT_MS });
  assert.doesNotMatch(r.stderr, SANITIZER_REPORT);
  return r;
}

const unsafeLines = (stderr) => stderr.split('\n').filter((l) => l.startsWith('mitan: unsafe in prod: '));

async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  srv.close();
  await once(srv, 'close');
  return port;
}

test('a prod server with no settings refuses to start, naming the log SMS driver, the public URL and the proxy', () => {
  const r = run(['serve'], { MITAN_ENV: 'prod', MITAN_PORT: '1' });
  assert.equal(r.signal, null, 'it must exit by itself, not serve');
  assert.equal(r.status, 1, r.stderr);
  const lines = unsafeLines(r.stderr);
  assert.ok(lines.some((l) => /MITAN_SMS_DRIVER is log/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /MITAN_PUBLIC_URL is not set/.test(l)), r.stderr);
  assert.ok(lines.some((l) => /MITAN_TRUST_PROXY is 0/.test(l)), r.stderr);
  assert.match(r.stderr, new RegExp(`refusing to start with ${lines.length} unsafe settings`));
});

// Each unsafe setting on top of the safe ones: exactly one line, naming it.
const UNSAFE = [
  [{ MITAN_SMS_DRIVER: 'log' }, /MITAN_SMS_DRIVER is log/],
  [{ MITAN_PUBLIC_URL: '' }, /MITAN_PUBLIC_URL is not set/],
  [{ MITAN_PUBLIC_URL: 'http://mitan.example.gov.in' }, /MITAN_PUBLIC_URL must start with https:\/\//],
  [{ MITAN_SMS_URL: 'http://sms.example.invalid/send' }, /MITAN_SMS_URL must be the gateway's https:\/\/ URL/],
  [{ MITAN_SMS_API_KEY: '' }, /MITAN_SMS_API_KEY is not set/],
  [{ MITAN_SMS_DLR_SECRET: '' }, /MITAN_SMS_DLR_SECRET is not set/],
  [{ MITAN_SMS_DLR_SECRET: 'test-dlr-secret' }, /MITAN_SMS_DLR_SECRET is too short/],
  [{ MITAN_NOW: '2026-01-05T09:00:00+05:30' }, /MITAN_NOW is set/],
  [{ MITAN_LISTEN: '0.0.0.0' }, /MITAN_LISTEN is 0\.0\.0\.0/],
  [{ MITAN_TRUST_PROXY: '0' }, /MITAN_TRUST_PROXY is 0/],
  [{ MITAN_LOG_LEVEL: 'debug' }, /MITAN_LOG_LEVEL is debug/],
  [{ MITAN_UPLOAD_KEY: 'abc123' }, /MITAN_UPLOAD_KEY must be 64 hexadecimal characters/],
];

for (const [env, why] of UNSAFE) {
  test(`prod serve refuses ${JSON.stringify(env)} on one line of its own`, () => {
    const r = run(['serve'], { ...SAFE, MITAN_PORT: '1', ...env });
    assert.equal(r.status, 1, r.stderr);
    const lines = unsafeLines(r.stderr);
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], why);
  });
}

test('prod refuses a missing installation secret rather than making a new one (serve and worker)', () => {
  const empty = mkdtempSync(join(tmpdir(), 'mitan-prod-'));
  try {
    for (const cmd of ['serve', 'worker']) {
      const r = run([cmd], { ...SAFE, MITAN_PORT: '1', MITAN_DATA: empty });
      assert.equal(r.status, 1, r.stderr);
      const lines = unsafeLines(r.stderr);
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /installation secret .*secret\.key is missing/);
    }
    assert.equal(spawnSync('ls', [empty], { encoding: 'utf8' }).stdout, '', 'no secret was made');
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('a prod worker refuses the log driver too', () => {
  const r = run(['worker', '--once'], { ...SAFE, MITAN_SMS_DRIVER: 'log' });
  assert.equal(r.status, 1, r.stderr);
  assert.match(unsafeLines(r.stderr).join('\n'), /MITAN_SMS_DRIVER is log/);
});

test('check-config prints every setting with its value and origin, secrets masked, and exits 0 when safe', () => {
  const help = spawnSync(MITAN, ['--help'], { encoding: 'utf8' }).stderr;
  const names = [...help.matchAll(/^ {2}([a-z_]+) {2,}.*\(default "/gm)].map((m) => m[1]);
  assert.ok(names.length > 30, help);
  const r = run(['check-config'], { ...SAFE, MITAN_UPLOAD_KEY: 'ab'.repeat(32), MITAN_DATABASE_URL: '' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  for (const n of names) assert.ok(r.stdout.match(new RegExp(`^${n} `, 'm')), `check-config lacks ${n}`);
  const line = (n) => r.stdout.split('\n').find((l) => l.startsWith(`${n} `));
  assert.match(line('sms_driver'), /"http"\s+MITAN_SMS_DRIVER$/);
  assert.match(line('otp_ttl_seconds'), /600\s+default$/);
  assert.match(line('sms_api_key'), /\*\*\*\*zq\s+MITAN_SMS_API_KEY$/);
  assert.match(line('sms_dlr_secret'), /\*\*\*\*ef\s+MITAN_SMS_DLR_SECRET$/);
  assert.match(line('upload_key'), /\*\*\*\*ab\s+MITAN_UPLOAD_KEY$/);
  for (const secret of [API_KEY, DLR_SECRET, 'ab'.repeat(32)]) assert.ok(!r.stdout.includes(secret), 'a secret was printed');
  assert.match(r.stdout, /env prod: no unsafe setting/);
});

test('check-config in prod with the defaults lists each unsafe setting and exits 1; in dev it exits 0', () => {
  const prod = run(['check-config'], { MITAN_ENV: 'prod' });
  assert.equal(prod.status, 1, prod.stdout + prod.stderr);
  const unsafe = prod.stdout.split('\n').filter((l) => l.startsWith('unsafe: '));
  assert.ok(unsafe.some((l) => /MITAN_SMS_DRIVER is log/.test(l)), prod.stdout);
  assert.ok(unsafe.some((l) => /MITAN_PUBLIC_URL is not set/.test(l)), prod.stdout);
  assert.match(prod.stdout, /^public_url\s+"http:\/\/127\.0\.0\.1:8080"\s+derived from listen and port$/m);
  assert.match(prod.stdout, new RegExp(`env prod: ${unsafe.length} unsafe settings`));
  const dev = run(['check-config'], { MITAN_ENV: 'dev', MITAN_NOW: '2026-01-05T09:00:00+05:30' });
  assert.equal(dev.status, 0, dev.stdout + dev.stderr);
  assert.match(dev.stdout, /^not for prod: MITAN_NOW is set/m);
  assert.match(dev.stdout, /^now\s+"2026-01-05T09:00:00\+05:30"\s+MITAN_NOW$/m);
});

test('a safe prod server starts, and has no development endpoints: /api/v1/dev/* are 404', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const p = spawn(MITAN, ['serve'], { cwd: ROOT, env: envWith({ ...SAFE, MITAN_PORT: String(port) }), stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  p.stderr.on('data', (d) => { log += d; });
  const exited = once(p, 'exit');
  try {
    let up = false;
    for (let i = 0; i < 100 && !up && p.exitCode === null; i++) {
      up = await fetch(`${url}/readyz`).then((res) => res.ok, () => false);
      if (!up) await new Promise((res) => setTimeout(res, 100));
    }
    assert.ok(up, `the prod server did not start:\n${log}`);
    const sms = await fetch(`${url}/api/v1/dev/sms?phone=%2B919876543210`);
    assert.equal(sms.status, 404);
    assert.equal((await sms.json()).error.code, 'not_found');
    const clock = await fetch(`${url}/api/v1/dev/clock`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ now: '2026-01-05T09:00:00+05:30' }) });
    assert.equal(clock.status, 404);
    assert.equal((await clock.json()).error.code, 'not_found');
    // the same as a path that never existed, so nothing tells the two apart
    const nothing = await fetch(`${url}/api/v1/dev/nothing`);
    assert.equal(nothing.status, 404);
    // and the rest of the API is there
    assert.equal((await fetch(`${url}/api/v1/services?brief=1`)).status, 200);
  } finally {
    if (p.exitCode === null) p.kill('SIGTERM');
    const [code] = await Promise.race([exited, new Promise((res) => setTimeout(() => { p.kill('SIGKILL'); res([null]); }, 10000))]);
    assert.equal(code, 0, `the prod server did not stop cleanly:\n${log}`);
    assert.doesNotMatch(log, SANITIZER_REPORT);
  }
});
