// nginx in front of the server (ops/nginx.conf as tests/run.sh runs it, docs/SECURITY.md
// "nginx in front"): TLS 1.2+ only, HTTP/2, gzip, the security headers, the request id and the
// client address passed through and trusted only from the proxy, 429 on a burst of sign-in
// requests, the body limits, and the slow-client timeouts. Skipped when tests/run.sh could not
// start nginx (it counts that as a failure itself).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { BASE, randomAddr, randomPhone } from './lib.mjs';

const TLS_URL = process.env.MITAN_TLS_URL;
const skip = TLS_URL ? false : 'nginx is not running (MITAN_TLS_URL unset)';
const DIR = process.env.MITAN_NGINX_DIR;
const CA = DIR ? readFileSync(`${DIR}/cert.pem`) : undefined;
const TLS_PORT = TLS_URL ? Number(new URL(TLS_URL).port) : 0;
const ROOT = new URL('../..', import.meta.url).pathname;
const LIMIT_MS = 10000;

// One request over HTTPS (HTTP/1.1), the body as a Buffer; no connection reuse.
function get(path, { method = 'GET', headers = {}, body } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(`${TLS_URL}${path}`, { method, headers, ca: CA, agent: false, timeout: LIMIT_MS }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in ${LIMIT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

// One plain-HTTP request straight to the server, from a chosen loopback address.
function direct(path, { method = 'GET', headers = {}, body, from = '127.0.0.1' } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(`${BASE}${path}`, { method, headers, localAddress: from, agent: false, timeout: LIMIT_MS }, (res) => {
      const parts = [];
      res.on('data', (c) => parts.push(c));
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(parts).toString() }));
    });
    req.on('timeout', () => req.destroy(new Error(`${path}: no answer in ${LIMIT_MS} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

function handshake(version) {
  return new Promise((resolve) => {
    // SECLEVEL=0 lets this client offer 1.0/1.1 at all: the refusal must come from nginx.
    const s = tls.connect({ host: '127.0.0.1', port: TLS_PORT, ca: CA, minVersion: 'TLSv1', maxVersion: version,
      ciphers: 'DEFAULT@SECLEVEL=0', servername: 'localhost' });
    const timer = setTimeout(() => { s.destroy(); resolve({ error: 'timeout' }); }, LIMIT_MS);
    s.on('secureConnect', () => { clearTimeout(timer); const p = s.getProtocol(); s.end(); resolve({ protocol: p }); });
    s.on('error', (e) => { clearTimeout(timer); resolve({ error: `${e.code || ''} ${e.message}` }); });
  });
}

// The first line of a log file containing needle; logs are written just after the reply.
async function logLine(file, needle) {
  const deadline = Date.now() + 3000;
  for (;;) {
    const line = readFileSync(file, 'utf8').split('\n').find((l) => l.includes(needle));
    if (line || Date.now() > deadline) return line;
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('TLS 1.0 and 1.1 are refused at the handshake; 1.2 and 1.3 are spoken', { skip }, async () => {
  for (const v of ['TLSv1', 'TLSv1.1']) {
    const r = await handshake(v);
    assert.ok(r.error, `a ${v} handshake must fail, got ${r.protocol}`);
    assert.match(r.error, /protocol version|unsupported protocol|no protocols/i, `${v}: ${r.error}`);
  }
  const [v12, v13] = [await handshake('TLSv1.2'), await handshake('TLSv1.3')];
  assert.equal(v12.protocol, 'TLSv1.2', v12.error);
  assert.equal(v13.protocol, 'TLSv1.3', v13.error);
});

test('HTTP/2: a GET answers over h2 through nginx', { skip }, async () => {
  const session = http2.connect(TLS_URL, { ca: CA });
  try {
    const { status, body, alpn } = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no h2 answer')), LIMIT_MS);
      session.on('error', reject);
      const req = session.request({ ':path': '/api/v1/services', 'accept-encoding': 'identity' });
      let status;
      const parts = [];
      req.on('response', (h) => { status = h[':status']; });
      req.on('data', (c) => parts.push(c));
      req.on('end', () => { clearTimeout(timer); resolve({ status, body: Buffer.concat(parts), alpn: session.alpnProtocol }); });
      req.on('error', reject);
      req.end();
    });
    assert.equal(alpn, 'h2');
    assert.equal(status, 200);
    assert.ok(Array.isArray(JSON.parse(body).services ?? JSON.parse(body)), 'the catalogue over h2');
  } finally {
    session.close();
  }
});

test('gzip for JSON and JavaScript when asked; plain when not', { skip }, async () => {
  const json = await get('/api/v1/services', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(json.status, 200);
  assert.equal(json.headers['content-encoding'], 'gzip', 'the catalogue is gzipped');
  assert.ok(JSON.parse(gunzipSync(json.body)), 'and decodes to JSON');
  const js = await get('/common/dom.js', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-encoding'], 'gzip', `a web/ script is gzipped (${js.headers['content-type']})`);
  assert.equal(gunzipSync(js.body).toString(), readFileSync(`${ROOT}/web/common/dom.js`, 'utf8'));
  const plain = await get('/api/v1/services');
  assert.equal(plain.headers['content-encoding'], undefined);
});

test('the browser-facing headers: HSTS from nginx, the rest from the server passed through', { skip }, async () => {
  for (const path of ['/resident/', '/api/v1/services', '/api/v1/no-such-thing']) {
    const r = await get(path);
    assert.match(r.headers['strict-transport-security'] || '', /^max-age=31536000; includeSubDomains$/, `HSTS on ${path}`);
    assert.match(r.headers['content-security-policy'] || '', /default-src 'self'/, `CSP on ${path}`);
    assert.match(r.headers['permissions-policy'] || '', /geolocation=\(self\)/, `Permissions-Policy on ${path}`);
    assert.equal(r.headers['x-content-type-options'], 'nosniff', `nosniff on ${path}`);
    assert.equal(r.headers['strict-transport-security'].split(',').length, 1, 'one HSTS header');
  }
});

test('plain HTTP on the nginx port is redirected to https', { skip }, async () => {
  const r = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: Number(process.env.MITAN_TLS_HTTP_PORT), path: '/resident/', agent: false,
      headers: { Host: 'mitan.example.gov.in' }, timeout: LIMIT_MS }, resolve).on('error', reject);
  });
  r.resume();
  assert.equal(r.statusCode, 301);
  assert.equal(r.headers.location, 'https://mitan.example.gov.in/resident/');
});

test('the request id: the client\'s passes through nginx into the reply and the server\'s log line', { skip }, async () => {
  const id = `nginx-test-${randomBytes(8).toString('hex')}`;
  const path = `/api/v1/no-such-thing-${randomBytes(4).toString('hex')}`;
  const r = await get(path, { headers: { 'X-Request-Id': id } });
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-request-id'], id, 'the reply carries the id sent in');
  const line = await logLine(process.env.MITAN_SERVER_LOG, path);
  assert.ok(line, `the server logged ${path}`);
  assert.ok(line.includes(` ${id} `), `the server's log line carries the id: ${line}`);
  const access = await logLine(`${DIR}/mitan.access.log`, path);
  assert.ok(access && access.endsWith(`rid=${id}`), `nginx's access log carries it: ${access}`);

  // None sent, or a malformed one: nginx's own $request_id (32 hex digits) instead.
  for (const headers of [{}, { 'X-Request-Id': 'bad id; <script>' }, { 'X-Request-Id': 'x'.repeat(65) }]) {
    const made = await get('/api/v1/services', { headers });
    assert.match(made.headers['x-request-id'] || '', /^[0-9a-f]{32}$/, `nginx makes an id for ${JSON.stringify(headers)}`);
  }
});

test('the server takes X-Request-Id only from the trusted proxy, and only well formed', { skip }, async () => {
  const id = `direct-${randomBytes(8).toString('hex')}`;
  const trusted = await direct('/api/v1/services', { headers: { 'X-Request-Id': id } });
  assert.equal(trusted.headers['x-request-id'], id, 'from 127.0.0.1 (MITAN_TRUSTED_PROXY) it is taken');
  const bad = await direct('/api/v1/services', { headers: { 'X-Request-Id': 'short' } });
  assert.match(bad.headers['x-request-id'], /^[0-9a-f]{16}$/, 'a malformed one is replaced');
  const other = await direct('/api/v1/services', { headers: { 'X-Request-Id': id }, from: '127.0.0.2' });
  assert.match(other.headers['x-request-id'], /^[0-9a-f]{16}$/, 'from any other peer it is replaced');
});

test('a forged X-Forwarded-For from a peer that is not the trusted proxy does not change the client address', { skip }, async () => {
  // The server limits OTP sends per client address (MITAN_OTP_PER_ADDR_PER_HOUR, 30). From
  // 127.0.0.2, each request claiming another address, they all count against 127.0.0.2.
  const statuses = [];
  for (let i = 0; i < 32 && !statuses.includes(429); i++) {
    const r = await direct('/api/v1/auth/otp', {
      method: 'POST', from: '127.0.0.2', body: JSON.stringify({ phone: randomPhone() }),
      headers: { 'Content-Type': 'application/json', 'X-Forwarded-For': randomAddr(), 'X-Real-IP': randomAddr() },
    });
    statuses.push(r.status);
  }
  assert.equal(statuses.at(-1), 429, `the per-address limit applies to the real peer: ${statuses.join(' ')}`);
  assert.ok(statuses.length > 1 && statuses.slice(0, -1).every((s) => s === 202), statuses.join(' '));
});

test('bodies: over 1 MiB nginx refuses; an upload PATCH is streamed to the server', { skip }, async () => {
  const big = await get('/api/v1/grievances', { method: 'POST', body: Buffer.alloc(1100 * 1024, 'a'),
    headers: { 'Content-Type': 'application/json' } });
  assert.equal(big.status, 413, 'nginx\'s backstop');
  // 2 MiB to the tus location passes nginx (its limit there is 20 MiB) and the server answers
  // (no token: 401) without nginx spooling the body first.
  const patch = await get('/api/v1/agent/uploads/0123456789abcdef0123456789abcdef', { method: 'PATCH',
    body: Buffer.alloc(2 * 1024 * 1024), headers: { 'Content-Type': 'application/offset+octet-stream',
      'Upload-Offset': '0', 'Tus-Resumable': '1.0.0' } }).catch((e) => ({ error: e.message }));
  assert.equal(patch.status, 401, `the upload location takes more than 1 MiB: ${JSON.stringify(patch.error || patch.status)}`);
});

test('ops/nginx.conf bounds slow clients and streams only uploads', { skip }, () => {
  const conf = readFileSync(`${ROOT}/ops/nginx.conf`, 'utf8');
  for (const d of ['client_header_timeout', 'client_body_timeout', 'send_timeout', 'keepalive_timeout',
    'proxy_read_timeout', 'proxy_connect_timeout', 'limit_conn mitan_conn']) {
    assert.match(conf, new RegExp(`^\\s*${d}\\s+\\d+s?;`, 'm'), `${d} is set`);
  }
  const uploads = conf.match(/location \/api\/v1\/agent\/uploads \{([^}]*)\}/);
  assert.ok(uploads, 'a location for tus uploads');
  assert.match(uploads[1], /proxy_request_buffering off;/);
  assert.match(uploads[1], /client_max_body_size 20m;/, 'the server\'s MITAN_UPLOAD_MAX_BYTES (20 MiB)');
  assert.equal(conf.match(/proxy_request_buffering off/g).length, 1, 'only uploads are streamed');
});

// Last: it fills nginx's sign-in zone for 127.0.0.1 (the server's own limits are untouched,
// the requests are GETs that the server answers 405).
test('a burst of sign-in requests gets 429 from nginx', { skip }, async () => {
  const session = http2.connect(TLS_URL, { ca: CA });
  try {
    const one = () => new Promise((resolve, reject) => {
      const req = session.request({ ':path': '/api/v1/auth/otp' });
      req.on('response', (h) => { req.resume(); resolve(h[':status']); });
      req.on('error', reject);
      req.end();
    });
    const statuses = await Promise.all(Array.from({ length: 40 }, one));
    const limited = statuses.filter((s) => s === 429).length;
    assert.ok(limited >= 10, `most of 40 are refused: ${statuses.join(' ')}`);
    assert.ok(statuses.includes(405), `the first ones reach the server: ${statuses.join(' ')}`);
  } finally {
    session.close();
  }
});
