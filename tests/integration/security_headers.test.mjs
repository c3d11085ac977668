// Browser-facing headers from the one reply path and civetweb's static files alike: a
// Content-Security-Policy, Permissions-Policy, nosniff and Referrer-Policy on pages, API
// replies and errors; the manifest's own type; Allow on a 405 from the route table; Tus-Version
// on a tus 412; HSTS from nginx, not from the plain-HTTP server.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { BASE, api, isError } from './lib.mjs';
import { agentLogin } from './agent_fixtures.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;

function assertBrowserHeaders(res, what) {
  const csp = res.headers.get('content-security-policy') || '';
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'self'"], `${what}: ${csp}`);
  assert.deepEqual(directives['frame-ancestors'], ["'none'"], `${what}: ${csp}`);
  assert.deepEqual(directives['object-src'], ["'none'"], `${what}: ${csp}`);
  assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), `${what}: ${csp}`);
  const pp = res.headers.get('permissions-policy') || '';
  assert.match(pp, /(^|, )geolocation=\(self\)(,|$)/, `${what}: ${pp}`);
  assert.match(pp, /(^|, )camera=\(self\)(,|$)/, `${what}: ${pp}`);
  assert.match(pp, /(^|, )microphone=\(\)(,|$)/, `${what}: ${pp}`);
  assert.match(pp, /(^|, )payment=\(\)(,|$)/, `${what}: ${pp}`);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff', what);
  assert.equal(res.headers.get('referrer-policy'), 'no-referrer', what);
  // HSTS belongs to nginx (TLS); the plain-HTTP server must not send it
  assert.equal(res.headers.get('strict-transport-security'), null, what);
}

for (const page of ['/', '/resident/', '/agent/', '/office/', '/office/day.html', '/office/report.html', '/agent/app.js']) {
  test(`the static file ${page} carries the browser-facing headers`, async () => {
    const res = await fetch(BASE + page);
    assert.equal(res.status, 200);
    assertBrowserHeaders(res, page);
  });
}

test('API replies and API errors carry the same headers', async () => {
  const ok = await fetch(`${BASE}/api/v1/services?brief=1`);
  assert.equal(ok.status, 200);
  assertBrowserHeaders(ok, 'GET /api/v1/services');
  const missing = await fetch(`${BASE}/api/v1/services/no_such_service`);
  assert.equal(missing.status, 404);
  assertBrowserHeaders(missing, 'a 404');
  const tracking = await fetch(`${BASE}/t/not-a-token`);
  assertBrowserHeaders(tracking, 'the tracking page');
});

test('the inline script and style the policy allows are exactly those of the pages (by hash)', async () => {
  const csp = (await fetch(`${BASE}/resident/`)).headers.get('content-security-policy');
  const hashOf = (text) => `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
  const inline = (file, tag) => [...readFileSync(`${ROOT}/web/${file}`, 'utf8').matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]);
  const scripts = ['resident/index.html', 'agent/index.html', 'office/index.html', 'office/day.html', 'office/report.html', 'index.html']
    .flatMap((f) => inline(f, 'script'));
  const styles = ['resident/index.html', 'agent/index.html', 'office/index.html', 'office/day.html', 'office/report.html', 'index.html']
    .flatMap((f) => inline(f, 'style'));
  const directive = (name) => csp.split(';').map((d) => d.trim()).find((d) => d.startsWith(`${name} `)).split(/\s+/).slice(1);
  assert.deepEqual(directive('script-src').filter((s) => s.startsWith("'sha256-")).sort(), scripts.map(hashOf).sort());
  assert.deepEqual(directive('style-src').filter((s) => s.startsWith("'sha256-")).sort(), styles.map(hashOf).sort());
});

test('the web app manifest is served as application/manifest+json', async () => {
  const res = await fetch(`${BASE}/agent/manifest.webmanifest`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/manifest+json');
  assertBrowserHeaders(res, 'the manifest');
  assert.equal(typeof (await res.json()).name, 'string');
});

test('a 405 carries Allow with the methods the route table has for the path', async () => {
  const cases = [
    ['DELETE', '/api/v1/bookings', ['GET', 'HEAD', 'POST']],
    ['PUT', '/api/v1/agent/uploads/0123456789abcdef', ['DELETE', 'GET', 'HEAD', 'PATCH']],
    ['GET', '/api/v1/auth/login', ['POST']],
  ];
  for (const [method, path, allowed] of cases) {
    const res = await fetch(BASE + path, { method });
    const text = await res.text();
    assert.equal(res.status, 405, `${method} ${path}`);
    assert.equal(JSON.parse(text).error.code, 'method_not_allowed');
    assert.deepEqual(res.headers.get('allow').split(/,\s*/).sort(), allowed, `${method} ${path}`);
    assertBrowserHeaders(res, `405 ${path}`);
  }
});

test('a tus request with another protocol version is 412 with Tus-Version: 1.0.0', async () => {
  const token = await agentLogin('RPR-A07');
  const r = await api('POST', '/api/v1/agent/uploads', { token, headers: { 'Tus-Resumable': '0.2.2', 'Upload-Length': '10' } });
  isError(r, 412, 'tus_version');
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assertBrowserHeaders(r, 'the tus 412');
});

test('HSTS is set by nginx for every reply, with a year and subdomains', () => {
  const conf = readFileSync(`${ROOT}/ops/nginx.conf`, 'utf8');
  assert.match(conf, /add_header\s+Strict-Transport-Security\s+"max-age=(\d+); includeSubDomains"\s+always;/);
  assert.ok(Number(conf.match(/max-age=(\d+)/)[1]) >= 31536000);
});
