// docs/openapi.yaml against the running server and the route table.
//
// Static: the set of method + path in cmd/routes.c equals the spec's (operations marked
// x-mitan-pending are built on other branches and must not be in the table yet); each
// operation's x-mitan-roles, security and request body agree with the table's roles, body
// limit and flags; every error response uses the shared error schema.
// Live: every documented operation gets real requests — at least one success, and the error
// cases that are cheap to make (no token, a wrong role, a bad or unknown field, an unknown
// reference, a wrong method, a wrong content type, a body too large …) — and each reply's
// status must be documented for that operation, its Content-Type documented for that status,
// its documented headers present, and its body valid against the documented schema
// (JSON Schema 2020-12 with formats, through ajv).
// Data: zone RPR-Z3 on day +12 and +13 (bookings through the API), agent RPR-A10 (visits made
// with SQL for today), one agent created through the API and removed afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import {
  api, demoAccounts, istDate, lastSms, lit, randomAddr, randomPhone, setWindowFree, sql, sqlValue, staffLogin, windowStart,
  ZONES, OUTSIDE,
} from './lib.mjs';
import { agentLogin, fakePdf, makeVisit, mandatoryDocs, secretHmac, sha256hex } from './agent_fixtures.mjs';

const ROOT = new URL('../../', import.meta.url);
const SPEC_TEXT = readFileSync(new URL('docs/openapi.yaml', ROOT), 'utf8');
const ROUTES_TEXT = readFileSync(new URL('cmd/routes.c', ROOT), 'utf8');
const spec = YAML.parse(SPEC_TEXT);

const ZONE = 'RPR-Z3';
const WHERE = ZONES[ZONE];
const DAY = 12; // the bookings' day, from today (IST)
const AGENT = 'RPR-A10'; // of zone RPR-Z3; its visits of today are made with SQL
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ROLES = ['resident', 'operator', 'agent', 'officer', 'committee', 'admin'];

// ---------------------------------------------------------------- the spec

// Follows a local $ref of the OpenAPI document (responses, parameters, headers).
function deref(node) {
  let n = node;
  for (let i = 0; n && n.$ref && i < 10; i++) {
    assert.match(n.$ref, /^#\//, `only local $refs: ${n.$ref}`);
    n = n.$ref.slice(2).split('/').reduce((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
    assert.ok(n, `dangling $ref ${node.$ref}`);
  }
  return n;
}

// Every operation: key "METHOD /path".
const ops = new Map();
for (const [path, item] of Object.entries(spec.paths)) {
  for (const m of METHODS) {
    if (item[m]) ops.set(`${m.toUpperCase()} ${path}`, { method: m.toUpperCase(), path, op: item[m] });
  }
}
const isPending = (key) => ops.get(key)?.op['x-mitan-pending'] === true;

// JSON Schema: the components' schemas become one schema document with $defs; every
// "#/components/schemas/X" becomes a reference into it.
const SPEC_ID = 'https://mitan.invalid/openapi.json';
function rewriteRefs(node) {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (!node || typeof node !== 'object') return node;
  const out = {};
  for (const [k, v] of Object.entries(node)) {
    if (k === '$ref' && typeof v === 'string' && v.startsWith('#/components/schemas/')) {
      out.$ref = `${SPEC_ID}#/$defs/${v.slice('#/components/schemas/'.length)}`;
    } else {
      out[k] = rewriteRefs(v);
    }
  }
  return out;
}
const ajv = new Ajv2020({ strict: true, strictTypes: false, strictRequired: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ $id: SPEC_ID, $defs: rewriteRefs(spec.components.schemas) });
const validators = new WeakMap();
function validatorFor(schema) {
  if (!validators.has(schema)) validators.set(schema, ajv.compile(rewriteRefs(schema)));
  return validators.get(schema);
}
const isErrorSchema = (s) => ['#/components/schemas/Error', '#/components/schemas/FieldError'].includes(s?.$ref);

// ---------------------------------------------------------------- the route table

const ROLE_BITS = {
  ROLE_RESIDENT: ['resident'], ROLE_OPERATOR: ['operator'], ROLE_AGENT: ['agent'], ROLE_OFFICER: ['officer'],
  ROLE_COMMITTEE: ['committee'], ROLE_ADMIN: ['admin'], ROLE_STAFF: ['operator', 'officer', 'committee', 'admin'],
  ROLE_ANYONE_SIGNED_IN: ['resident', 'agent', 'operator', 'officer', 'committee', 'admin'],
};
function parseRoutes(text) {
  const start = text.indexOf('routes[] = {');
  assert.ok(start >= 0, 'cmd/routes.c: the routes[] table');
  const body = text.slice(start, text.indexOf('\n};', start)).replace(/\/\*[\s\S]*?\*\//g, '');
  const routes = [];
  const re = /\{\s*"([A-Z]+)",\s*"([^"]+)",\s*(\w+),\s*([^,]+),\s*([^,]+),\s*([^}]+?)\s*\}/g;
  for (let m; (m = re.exec(body));) {
    const [, method, path, handler, rolesExpr, maxExpr, flagsExpr] = m;
    const roles = new Set();
    for (const t of rolesExpr.split('|').map((s) => s.trim())) {
      if (t === '0') continue;
      assert.ok(ROLE_BITS[t], `cmd/routes.c: unknown role ${t} of ${method} ${path}`);
      ROLE_BITS[t].forEach((r) => roles.add(r));
    }
    const maxBody = maxExpr.trim() === '0' ? 0 : Number(maxExpr.replace(/KB/g, '1024').split('*').reduce((a, b) => a * Number(b), 1));
    assert.ok(Number.isFinite(maxBody), `cmd/routes.c: max_body ${maxExpr} of ${method} ${path}`);
    const flags = new Set(flagsExpr.split('|').map((s) => s.trim()).filter((s) => s !== '0'));
    routes.push({ method, path, handler, roles: [...roles].sort(), maxBody, flags });
  }
  assert.ok(routes.length > 30, `cmd/routes.c: only ${routes.length} routes parsed`);
  return routes;
}
const ROUTES = parseRoutes(ROUTES_TEXT);
const routeOf = new Map(ROUTES.map((r) => [`${r.method} ${r.path}`, r]));
// A spec HEAD operation is served by the GET route of its path.
const routeFor = (key) => routeOf.get(key.startsWith('HEAD ') ? `GET ${key.slice(5)}` : key);
const jsonFlag = (route) => route.flags.has('JSON') || route.flags.has('HTTP_JSON');
const jsonOptional = (route) => route.flags.has('HTTP_JSON_OPTIONAL');

// ---------------------------------------------------------------- checking replies

const seen = new Map(); // operation key -> Set of statuses checked
const tokens = {}; // role -> token

function fill(path, params = {}) {
  return path.replace(/\{(\w+)\}/g, (_, k) => {
    assert.ok(params[k] !== undefined, `no value for {${k}} of ${path}`);
    return encodeURIComponent(params[k]);
  });
}

function headerValueOk(schema, value) {
  const s = deref(schema);
  let v = value;
  if (s.type === 'integer' || typeof s.const === 'number') {
    if (!/^-?[0-9]+$/.test(value)) return false;
    v = Number(value);
  }
  return validatorFor(s)(v);
}

// Checks a reply against what the spec documents for `key` (or for `responseOverride`).
function check(key, r, responseOverride) {
  const where = `${key} -> ${r.status} ${(r.text || '').slice(0, 400)}`;
  const entry = ops.get(key);
  assert.ok(entry, `${key} is not in docs/openapi.yaml`);
  const documented = responseOverride ?? entry.op.responses[String(r.status)];
  assert.ok(documented, `status ${r.status} is not documented for ${where}`);
  const resp = deref(documented);
  assert.match(r.headers.get('x-request-id') || '', /^[0-9a-f]{16}$/, `X-Request-Id of ${where}`);
  for (const [name, h0] of Object.entries(resp.headers || {})) {
    const h = deref(h0);
    const value = r.headers.get(name);
    if (h.required) assert.ok(value !== null, `header ${name} missing in ${where}`);
    if (value !== null && h.schema) assert.ok(headerValueOk(h.schema, value), `header ${name}: ${value} in ${where}`);
  }
  if (!responseOverride) {
    if (!seen.has(key)) seen.set(key, new Set());
    seen.get(key).add(r.status);
  }
  if (!resp.content) {
    assert.equal(r.text, '', `no body is documented for ${where}`);
    return;
  }
  const ctype = r.headers.get('content-type') || '';
  const media = ctype.split(';')[0].trim().toLowerCase();
  const content = resp.content[media];
  assert.ok(content, `Content-Type ${ctype} is not documented for ${where} (documented: ${Object.keys(resp.content)})`);
  if (/^(application\/json|text\/html|text\/csv|image\/svg)/.test(media)) assert.match(ctype, /charset=utf-8/i, `charset of ${where}`);
  if (!content.schema) return;
  let value = r.text;
  if (media === 'application/json') {
    try { value = JSON.parse(r.text); } catch { assert.fail(`not JSON: ${where}`); }
  } else if (r.method === 'HEAD') {
    return;
  }
  const validate = validatorFor(content.schema);
  if (!validate(value)) {
    assert.fail(`${where}\ndoes not match the documented schema:\n${ajv.errorsText(validate.errors, { separator: '\n' })}`);
  }
}

// One request to an operation; the reply is checked against the spec.
async function call(key, { params, query, token, body, raw, headers } = {}) {
  const [method, path] = key.split(' ');
  const q = query ? `?${new URLSearchParams(query)}` : '';
  const r = await api(method, fill(path, params) + q, { token, body, raw, headers });
  r.method = method;
  check(key, r);
  return r;
}

function expect(r, status, code, field) {
  const where = `${r.status} ${(r.text || '').slice(0, 300)}`;
  assert.equal(r.status, status, where);
  if (code) assert.equal(r.json?.error?.code, code, where);
  if (field) assert.equal(r.json?.error?.field, field, where);
  return r;
}

// Sample values for path parameters that name nothing.
const UNKNOWN = {
  reference: 'MT-0000-0000-0000', token: 'AAAAAAAAAAAAAAAAAAAAAA', code: 'nothing', id: '00000000000000000000000000000000',
  date: '2030-01-01',
};

// ---------------------------------------------------------------- shared state

const state = {};
let createdAgent = null;

before(async () => {
  for (const role of ['officer', 'operator', 'committee', 'admin']) tokens[role] = await staffLogin(role);
  tokens.agent = await agentLogin(AGENT);
  for (const hour of [9, 11, 14, 16]) setWindowFree(ZONE, windowStart(DAY, hour), [2, 2, 2, 2]);
});

after(() => {
  if (createdAgent) {
    sql(`WITH a AS (SELECT id FROM agent WHERE code = ${lit(createdAgent)}),
              u AS (DELETE FROM agent_unavailable WHERE agent_id IN (SELECT id FROM a) RETURNING 1),
              w AS (DELETE FROM agent_window WHERE agent_id IN (SELECT id FROM a) RETURNING 1),
              s AS (DELETE FROM agent_shift WHERE agent_id IN (SELECT id FROM a) RETURNING 1)
         SELECT (SELECT count(*) FROM u), (SELECT count(*) FROM w), (SELECT count(*) FROM s)`);
    sql(`DELETE FROM agent WHERE code = ${lit(createdAgent)}`);
  }
});

// ---------------------------------------------------------------- static checks

test('the route table and the spec have the same operations; pending ones are not in the table yet', () => {
  const table = new Set(ROUTES.map((r) => `${r.method} ${r.path}`));
  assert.equal(table.size, ROUTES.length, 'cmd/routes.c has a duplicate entry');
  const documented = new Set();
  const pendingInTable = [];
  for (const key of ops.keys()) {
    const served = key.startsWith('HEAD ') ? `GET ${key.slice(5)}` : key;
    if (isPending(key)) {
      if (table.has(served)) pendingInTable.push(key);
      continue;
    }
    documented.add(served);
  }
  assert.deepEqual(pendingInTable, [], `in cmd/routes.c now: remove x-mitan-pending from ${pendingInTable.join(', ')} in docs/openapi.yaml`);
  const missing = [...table].filter((k) => !documented.has(k));
  const extra = [...documented].filter((k) => !table.has(k));
  assert.deepEqual(missing, [], `in cmd/routes.c but not documented in docs/openapi.yaml: ${missing.join(', ')}`);
  assert.deepEqual(extra, [], `documented but not in cmd/routes.c (mark them x-mitan-pending?): ${extra.join(', ')}`);
});

test('roles, security and request bodies agree with the route table', () => {
  for (const [key, { op }] of ops) {
    const roles = op['x-mitan-roles'];
    assert.ok(Array.isArray(roles) && roles.every((r) => ROLES.includes(r)), `${key}: x-mitan-roles`);
    assert.ok(Array.isArray(op.security), `${key}: security`);
    if (roles.length) {
      assert.deepEqual(op.security, [{ bearer: [] }], `${key}: security must be bearer`);
      // 403 needs a role that may not call it; an operation open to every signed-in role has none.
      for (const s of roles.length < ROLES.length ? ['401', '403'] : ['401']) assert.ok(op.responses[s], `${key}: ${s} is not documented`);
      for (const r of roles) assert.ok(op.description.includes(r), `${key}: the description names the role ${r}`);
    } else {
      assert.deepEqual(op.security, [], `${key}: a public operation has security: []`);
      assert.ok(!op.responses['401'] || key === 'POST /api/v1/auth/otp/verify' || key === 'POST /api/v1/auth/login' ||
                key === 'POST /api/v1/sms/dlr', `${key}: 401 on a public operation`);
    }
    assert.ok(!op.responses['405'], `${key}: 405 is path-level (components/responses/MethodNotAllowed)`);
    const route = routeFor(key);
    if (isPending(key) || !route) continue; // a missing route is the first test's failure
    assert.deepEqual([...roles].sort(), route.roles, `${key}: x-mitan-roles differ from cmd/routes.c`);
    const body = op.requestBody;
    if (jsonFlag(route) || jsonOptional(route)) {
      assert.ok(body?.content?.['application/json'], `${key}: a JSON request body`);
      assert.equal(body.required, jsonFlag(route), `${key}: requestBody.required must be ${jsonFlag(route)}`);
      for (const s of ['400', '413', '415']) assert.ok(op.responses[s], `${key}: ${s} is not documented`);
      const schema = body.content['application/json'].schema;
      const top = schema.$ref ? deref(schema) : schema;
      assert.ok(top.additionalProperties === false || top.oneOf, `${key}: the server refuses unknown fields`);
    } else if (route.flags.has('HTTP_STREAM')) {
      assert.ok(body && !body.content['application/json'], `${key}: a streamed body`);
    } else if (route.maxBody > 0) {
      assert.ok(body, `${key}: takes a body of up to ${route.maxBody} bytes`);
      assert.ok(op.responses['413'], `${key}: 413 is not documented`);
    } else {
      assert.ok(!body, `${key}: takes no body (max_body 0)`);
      if (['POST', 'PUT', 'PATCH'].includes(route.method)) assert.ok(op.responses['413'], `${key}: 413`);
    }
  }
});

test('every error response is the shared error object', () => {
  for (const [key, { method, op }] of ops) {
    for (const [status, r0] of Object.entries(op.responses)) {
      if (Number(status) < 400) continue;
      const r = deref(r0);
      if (method === 'HEAD') {
        assert.ok(!r.content, `${key} ${status}: a HEAD reply has no body`);
        continue;
      }
      const content = r.content || {};
      assert.deepEqual(Object.keys(content), ['application/json'], `${key} ${status}: an error is JSON`);
      assert.ok(isErrorSchema(content['application/json'].schema), `${key} ${status}: the Error schema`);
      if (status === '429' || status === '503') assert.ok(r.headers?.['Retry-After'], `${key} ${status}: Retry-After`);
    }
  }
  // Every schema compiles (ajv strict mode: no unknown keywords, no dangling references).
  for (const [key, { op }] of ops) {
    for (const r0 of Object.values(op.responses)) {
      for (const c of Object.values(deref(r0).content || {})) if (c.schema) assert.doesNotThrow(() => validatorFor(c.schema), key);
    }
    const b = op.requestBody?.content?.['application/json']?.schema;
    if (b) assert.doesNotThrow(() => validatorFor(b), key);
  }
});

// ---------------------------------------------------------------- ops, catalogue, auth

test('health, readiness and metrics', async () => {
  expect(await call('GET /healthz'), 200);
  expect(await call('GET /readyz'), 200);
  expect(await call('GET /metrics'), 200);
});

test('catalogue and slots', async () => {
  const all = expect(await call('GET /api/v1/services'), 200);
  assert.ok(all.json.length >= 30);
  expect(await call('GET /api/v1/services', { query: { lang: 'hi' } }), 200);
  const brief = expect(await call('GET /api/v1/services', { query: { lang: 'hi', brief: '1' } }), 200);
  assert.equal(brief.json.length, all.json.length);
  assert.ok(!('documents' in brief.json[0]) && brief.json[0].name === brief.json[0].name_hi);
  expect(await call('GET /api/v1/services', { query: { brief: 'yes' } }), 400, 'invalid_field', 'brief');
  const zones = expect(await call('GET /api/v1/zones', { query: { district: 'RPR' } }), 200);
  assert.ok(zones.json.features.length >= 6 && zones.json.features.every((f) => f.properties.district === 'RPR'));
  assert.equal(expect(await call('GET /api/v1/zones', { query: { district: 'NOPE' } }), 200).json.features.length, 0);
  expect(await call('GET /api/v1/zones', { query: { district: 'r p r' } }), 400, 'invalid_field', 'district');
  expect(await call('GET /api/v1/services/{code}', { params: { code: 'income_certificate' }, query: { lang: 'hi' } }), 200);
  expect(await call('GET /api/v1/services/{code}', { params: { code: 'no_such_service' } }), 404, 'not_found');

  const q = { service: 'income_certificate', lat: WHERE.lat, lon: WHERE.lon, from: istDate(DAY), days: 1 };
  const s = expect(await call('GET /api/v1/slots', { query: q }), 200);
  assert.ok(s.json.length >= 4, 'the day\'s windows');
  state.slots = s.json;
  expect(await call('GET /api/v1/slots', { query: { lat: WHERE.lat, lon: WHERE.lon } }), 400, 'invalid_field', 'service');
  expect(await call('GET /api/v1/slots', { query: { ...q, lat: 'north' } }), 400, 'invalid_field', 'lat');
  expect(await call('GET /api/v1/slots', { query: { ...q, days: 99 } }), 400, 'invalid_field', 'days');
  expect(await call('GET /api/v1/slots', { query: { ...q, service: 'no_such_service' } }), 400, 'invalid_field', 'service');
  expect(await call('GET /api/v1/slots', { query: { ...q, lat: OUTSIDE.lat, lon: OUTSIDE.lon } }), 422, 'outside_service_area');
});

test('OTP sign-in of a resident', async () => {
  const phone = randomPhone();
  const addr = { 'X-Forwarded-For': randomAddr() };
  const req = expect(await call('POST /api/v1/auth/otp', { body: { phone, language: 'en' }, headers: addr }), 202);
  const code = (await lastSms(phone, 'otp')).body.match(/\d{6}/)[0];
  const wrong = code === '000000' ? '111111' : '000000';
  const verify = (c, rid = req.json.request_id) => call('POST /api/v1/auth/otp/verify', { body: { request_id: rid, code: c }, headers: addr });
  expect(await verify(wrong), 401, 'otp_invalid');
  const ok = expect(await verify(code), 200);
  assert.equal(ok.json.person.phone, phone);
  tokens.resident = ok.json.token;
  state.residentPhone = phone;
  expect(await verify(code), 401, 'otp_used');
  expect(await verify('12ab56'), 400, 'invalid_field', 'code');
  expect(await call('POST /api/v1/auth/otp', { body: { phone: '98765' }, headers: addr }), 400, 'invalid_field', 'phone');

  // A code allows 5 wrong tries; then it is locked.
  const other = randomPhone();
  const r2 = expect(await call('POST /api/v1/auth/otp', { body: { phone: other }, headers: addr }), 202);
  const code2 = (await lastSms(other, 'otp')).body.match(/\d{6}/)[0];
  const bad = code2 === '000000' ? '111111' : '000000';
  for (let i = 0; i < 5; i++) expect(await verify(bad, r2.json.request_id), 401, 'otp_invalid');
  const locked = expect(await verify(code2, r2.json.request_id), 429, 'otp_locked');
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  // 5 sends an hour per phone.
  for (let i = 0; i < 4; i++) expect(await call('POST /api/v1/auth/otp', { body: { phone: other }, headers: { 'X-Forwarded-For': randomAddr() } }), 202);
  expect(await call('POST /api/v1/auth/otp', { body: { phone: other }, headers: { 'X-Forwarded-For': randomAddr() } }), 429, 'too_many_requests');
});

test('password login', async () => {
  const a = demoAccounts().find((x) => x.role === 'committee');
  const ok = expect(await call('POST /api/v1/auth/login', { body: { login: a.login, password: a.password } }), 200);
  assert.equal(ok.json.role, 'committee');
  expect(await call('POST /api/v1/auth/login', { body: { login: a.login, password: `${a.password}x` } }), 401, 'invalid_credentials');
  expect(await call('POST /api/v1/auth/login', { body: { login: a.login } }), 400, 'invalid_field', 'password');
  expect(await call('POST /api/v1/auth/logout', { token: ok.json.token }), 204);
  expect(await call('POST /api/v1/auth/logout', { token: ok.json.token }), 401, 'unauthenticated');
});

// ---------------------------------------------------------------- bookings

const startAt = (hour) => state.slots.find((s) => new Date(s.start).getTime() === new Date(windowStart(DAY, hour)).getTime()).start;
const bookingBody = (hour, extra = {}) => ({
  service: 'income_certificate', start: startAt(hour), location: WHERE, address: 'House 7, Shankar Nagar, Raipur',
  beneficiary: { name: 'Savitri Bai', phone: randomPhone(), language: 'hi' }, ...extra,
});

test('booking: create, replay, refusals', async () => {
  const key = `openapi-${Date.now()}`;
  const body = bookingBody(9, { booker: { name: 'Ravi Kumar', time_zone: 'Europe/London', language: 'en' } });
  const b1 = expect(await call('POST /api/v1/bookings', { token: tokens.resident, body, headers: { 'Idempotency-Key': key } }), 201);
  state.b1 = b1.json.reference;
  state.trackingPath = new URL(b1.json.tracking_url).pathname;
  const again = expect(await call('POST /api/v1/bookings', { token: tokens.resident, body, headers: { 'Idempotency-Key': key } }), 201);
  assert.equal(again.json.reference, state.b1);
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...body, address: 'House 8, Shankar Nagar' }, headers: { 'Idempotency-Key': key } }), 422, 'idempotency_key_reused');
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body, headers: { 'Idempotency-Key': 'no spaces' } }), 400, 'invalid_idempotency_key');
  const b2 = expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: bookingBody(14), query: { lang: 'hi' } }), 201);
  state.b2 = b2.json.reference;

  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...bookingBody(9), location: OUTSIDE } }), 422, 'outside_service_area');
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...bookingBody(9), start: windowStart(-1, 9) } }), 422, 'window_closed');
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...bookingBody(9), start: windowStart(DAY, 10) } }), 422, 'invalid_window');
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...bookingBody(9), service: 'no_such_service' } }), 400, 'invalid_field', 'service');
  expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: { ...bookingBody(9), beneficiary: { name: 'X' } } }), 400, 'invalid_field', 'beneficiary.phone');
  expect(await call('POST /api/v1/bookings', { token: tokens.operator, body: { ...bookingBody(9), booker: { name: 'No phone' } } }), 400, 'invalid_field', 'booker.phone');
  setWindowFree(ZONE, windowStart(DAY, 16), [0, 0, 0, 0]);
  try {
    expect(await call('POST /api/v1/bookings', { token: tokens.resident, body: bookingBody(16) }), 409, 'slot_full');
  } finally {
    setWindowFree(ZONE, windowStart(DAY, 16), [2, 2, 2, 2]);
  }
});

test('booking: read, list, receipt, public tracking', async () => {
  expect(await call('GET /api/v1/bookings/{reference}', { token: tokens.resident, params: { reference: state.b1 } }), 200);
  expect(await call('GET /api/v1/bookings/{reference}', { token: tokens.committee, params: { reference: state.b1 }, query: { lang: 'hi' } }), 200);
  expect(await call('GET /api/v1/bookings/{reference}', { token: tokens.resident, params: { reference: UNKNOWN.reference } }), 404, 'not_found');
  const mine = expect(await call('GET /api/v1/bookings', { token: tokens.resident }), 200);
  assert.ok(mine.json.some((b) => b.reference === state.b1));
  const staff = expect(await call('GET /api/v1/bookings', { token: tokens.operator, query: { phone: state.residentPhone } }), 200);
  assert.ok(staff.json.some((b) => b.reference === state.b1));
  expect(await call('GET /api/v1/bookings', { token: tokens.admin }), 200);
  expect(await call('GET /api/v1/bookings', { token: tokens.operator, query: { phone: '12345' } }), 400, 'invalid_field', 'phone');
  expect(await call('GET /api/v1/bookings', { token: tokens.officer, query: { status: 'booked' } }), 200);
  expect(await call('GET /api/v1/bookings', { token: tokens.officer, query: { status: 'lost' } }), 400, 'invalid_field', 'status');

  expect(await call('GET /api/v1/bookings/{reference}/receipt.svg', { token: tokens.resident, params: { reference: state.b1 } }), 200);
  expect(await call('GET /api/v1/bookings/{reference}/receipt.svg', { token: tokens.resident, params: { reference: UNKNOWN.reference } }), 404);

  const token = state.trackingPath.split('/').pop();
  expect(await call('GET /t/{token}', { params: { token } }), 200);
  const j = expect(await call('GET /t/{token}', { params: { token }, headers: { Accept: 'application/json' } }), 200);
  assert.equal(j.json.reference, state.b1);
  expect(await call('GET /t/{token}', { params: { token: UNKNOWN.token } }), 404, 'not_found');
  expect(await call('GET /t/{token}', { params: { token: 'short' }, headers: { Accept: 'application/json' } }), 404, 'not_found');
});

test('booking: reschedule and cancel', async () => {
  const ref = { reference: state.b1 };
  const moved = expect(await call('POST /api/v1/bookings/{reference}/reschedule', { token: tokens.resident, params: ref, body: { start: startAt(11) } }), 200);
  assert.equal(new Date(moved.json.window.start).getTime(), new Date(windowStart(DAY, 11)).getTime());
  expect(await call('POST /api/v1/bookings/{reference}/reschedule', { token: tokens.resident, params: ref, body: { start: startAt(11) } }), 409, 'same_window');
  expect(await call('POST /api/v1/bookings/{reference}/reschedule', { token: tokens.resident, params: ref, body: { start: windowStart(-1, 9) } }), 422, 'window_closed');
  expect(await call('POST /api/v1/bookings/{reference}/reschedule', { token: tokens.resident, params: ref, body: { start: 'tomorrow' } }), 400, 'invalid_field', 'start');
  expect(await call('POST /api/v1/bookings/{reference}/reschedule', { token: tokens.resident, params: { reference: UNKNOWN.reference }, body: { start: startAt(16) } }), 404);

  const b2 = { reference: state.b2 };
  expect(await call('POST /api/v1/bookings/{reference}/cancel', { token: tokens.resident, params: b2, body: { reason: 'travelling' } }), 200);
  expect(await call('POST /api/v1/bookings/{reference}/cancel', { token: tokens.operator, params: b2 }), 409, 'wrong_state');
  expect(await call('POST /api/v1/bookings/{reference}/cancel', { token: tokens.resident, params: { reference: UNKNOWN.reference } }), 404);
  expect(await call('POST /api/v1/bookings/{reference}/cancel', { token: tokens.resident, params: b2, body: { reason: '' } }), 400, 'invalid_field', 'reason');
});

test('booking: the resident\'s reminder, and SMS', async () => {
  const ref = { reference: state.b1 };
  expect(await call('POST /api/v1/bookings/{reference}/remind', { token: tokens.resident, params: ref, body: { note: 'please hurry' } }), 202);
  const again = expect(await call('POST /api/v1/bookings/{reference}/remind', { token: tokens.resident, params: ref }), 429, 'too_many_requests');
  assert.ok(Number(again.headers.get('retry-after')) > 0);
  expect(await call('POST /api/v1/bookings/{reference}/remind', { token: tokens.resident, params: { reference: UNKNOWN.reference } }), 404);
  expect(await call('POST /api/v1/bookings/{reference}/remind', { token: tokens.resident, params: { reference: state.b2 } }), 409, 'wrong_state');

  const msgs = expect(await call('GET /api/v1/dev/sms', { query: { phone: state.residentPhone } }), 200);
  assert.ok(msgs.json.length > 0);
  expect(await call('GET /api/v1/dev/sms', { query: { phone: 'nobody' } }), 400, 'invalid_field', 'phone');

  const secret = process.env.MITAN_SMS_DLR_SECRET || 'test-dlr-secret';
  const dlr = (obj, sign = true) => {
    const raw = JSON.stringify(obj);
    const headers = { 'Content-Type': 'application/json' };
    if (sign) headers['X-Signature'] = createHmac('sha256', secret).update(raw).digest('hex');
    return call('POST /api/v1/sms/dlr', { raw, headers });
  };
  const r = expect(await dlr({ client_ref: String(msgs.json[0].id), status: 'DELIVRD' }), 200);
  assert.equal(r.json.status, 'delivered');
  expect(await dlr({ client_ref: String(msgs.json[0].id), status: 'DELIVRD' }, false), 401, 'invalid_signature');
  expect(await dlr({ client_ref: String(msgs.json[0].id), status: 'lost' }), 400, 'invalid_field', 'status');
  expect(await dlr({ client_ref: '999999999999', status: 'sent' }), 404, 'not_found');
});

// ---------------------------------------------------------------- field agents

test('agent: visits of the day, status at the door, position', async () => {
  const v = makeVisit(AGENT, { status: 'assigned', hour: 14 });
  state.visit = v;
  const ref = { reference: v.reference };
  const today = expect(await call('GET /api/v1/agent/visits', { token: tokens.agent }), 200);
  assert.ok(today.json.some((x) => x.reference === v.reference));
  expect(await call('GET /api/v1/agent/visits', { token: tokens.agent, query: { date: istDate(1), lang: 'hi' } }), 200);
  expect(await call('GET /api/v1/agent/visits', { token: tokens.agent, query: { date: 'today' } }), 400, 'invalid_field', 'date');

  const status = (body) => call('POST /api/v1/agent/visits/{reference}/status', { token: tokens.agent, params: ref, body });
  expect(await status({ status: 'documents_collected' }), 409, 'wrong_state');
  expect(await status({ status: 'en_route', lat: WHERE.lat, lon: WHERE.lon }), 200);
  const wrong = v.code === '000000' ? '111111' : '000000';
  expect(await status({ status: 'arrived', visit_code: wrong }), 422, 'wrong_visit_code');
  expect(await status({ status: 'arrived' }), 400, 'invalid_field', 'visit_code');
  expect(await status({ status: 'arrived', visit_code: v.code }), 200);
  expect(await status({ status: 'lunch' }), 400, 'invalid_field', 'status');
  expect(await call('POST /api/v1/agent/visits/{reference}/status', { token: tokens.agent, params: { reference: UNKNOWN.reference }, body: { status: 'en_route' } }), 404);

  expect(await call('POST /api/v1/agent/location', { token: tokens.agent, body: { lat: WHERE.lat, lon: WHERE.lon, accuracy: 12.5 } }), 204);
  expect(await call('POST /api/v1/agent/location', { token: tokens.agent, body: { lat: WHERE.lat } }), 400, 'invalid_field', 'lon');
});

test('tus uploads, the officer\'s signed link and the document', async () => {
  const tus = { 'Tus-Resumable': '1.0.0' };
  const opts = await call('OPTIONS /api/v1/agent/uploads');
  expect(opts, 204);
  const ref = state.visit.reference;
  const doc = mandatoryDocs()[0];
  const bytes = fakePdf(3000);
  const meta = (m) => Object.entries(m).map(([k, x]) => `${k} ${Buffer.from(x).toString('base64')}`).join(',');
  const create = (m, length = bytes.length, extra = {}) => call('POST /api/v1/agent/uploads', {
    token: tokens.agent, headers: { ...tus, 'Upload-Length': String(length), 'Upload-Metadata': meta(m), ...extra },
  });
  const good = { reference: ref, document: doc, filename: 'proof.pdf', sha256: sha256hex(bytes) };
  const c = expect(await create(good), 201);
  const id = c.headers.get('location').split('/').pop();
  const patch = (uid, offset, chunk, extra = {}) => call('PATCH /api/v1/agent/uploads/{id}', {
    token: tokens.agent, params: { id: uid }, raw: chunk,
    headers: { ...tus, 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...extra },
  });
  const sum = (b) => `sha256 ${createHash('sha256').update(b).digest('base64')}`;

  const h = expect(await call('HEAD /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id } }), 200);
  assert.equal(h.headers.get('upload-offset'), '0');
  expect(await call('GET /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id } }), 200);
  expect(await patch(id, 1000, bytes.subarray(1000, 2000)), 409, 'offset_mismatch');
  expect(await patch(id, 0, bytes.subarray(0, 1000), { 'Upload-Checksum': sum(bytes.subarray(1, 1001)) }), 460, 'checksum_mismatch');
  expect(await patch(id, 0, bytes.subarray(0, 1000), { 'Content-Type': 'application/pdf' }), 415, 'unsupported_media_type');
  expect(await patch(id, 0, bytes.subarray(0, 1000), { 'Tus-Resumable': '0.2.2' }), 412, 'tus_version');
  expect(await patch(id, 0, bytes.subarray(0, 1000), { 'Upload-Checksum': sum(bytes.subarray(0, 1000)) }), 204);
  const done = expect(await patch(id, 1000, bytes.subarray(1000)), 204);
  assert.equal(done.headers.get('upload-offset'), String(bytes.length));
  expect(await patch(id, 1000, bytes.subarray(1000)), 409, 'upload_complete');
  expect(await call('DELETE /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id }, headers: tus }), 409, 'upload_complete');

  // An upload terminated; refusals at creation.
  const t = expect(await create(good), 201);
  const tid = t.headers.get('location').split('/').pop();
  expect(await call('DELETE /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id: tid } }), 412, 'tus_version');
  expect(await call('DELETE /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id: tid }, headers: tus }), 204);
  expect(await call('DELETE /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id: tid }, headers: tus }), 404, 'not_found');
  expect(await call('HEAD /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id: tid } }), 404);
  expect(await call('GET /api/v1/agent/uploads/{id}', { token: tokens.agent, params: { id: 'not-an-id' } }), 404);
  expect(await patch(UNKNOWN.id, 0, bytes.subarray(0, 10)), 404, 'not_found');
  expect(await patch(id, 0, bytes.subarray(0, 10), { 'Upload-Offset': 'start' }), 400, 'invalid_field', 'Upload-Offset');
  expect(await create({ ...good, filename: '../etc/passwd' }), 400, 'invalid_field', 'filename');
  expect(await create({ ...good, document: 'no_such_document' }), 400, 'invalid_field', 'document');
  expect(await create({ ...good, reference: 'MT-0000-0000-0000' }), 404, 'not_found');
  expect(await create(good, 2 * 1024 * 1024 * 1024), 413, 'too_large');
  expect(await create(good, bytes.length, { 'Tus-Resumable': '' }), 412, 'tus_version');
  expect(await create(good, bytes.length, { 'Upload-Defer-Length': '1' }), 400, 'defer_length_unsupported');
  const early = makeVisit(AGENT, { status: 'assigned', hour: 16 });
  expect(await create({ ...good, reference: early.reference }), 409, 'wrong_state');
  // Over the quota of open uploads (20 by default): rows made with SQL, removed again.
  const filler = Array.from({ length: 20 }, () => randomBytes(16).toString('hex'));
  sql(`INSERT INTO upload (id, booking_id, district_id, agent_id, document_code, filename, length, sha256, created_at,
                           updated_at, expires_at)
       SELECT f, b.id, b.district_id, b.agent_id, ${lit(doc)}, 'filler.pdf', 1000, decode(repeat('00', 32), 'hex'), now(),
              now(), now() + interval '1 hour'
         FROM booking b, unnest(ARRAY[${filler.map(lit).join(',')}]) f WHERE b.reference = ${lit(ref)}`);
  const full = expect(await create(good), 429, 'upload_quota');
  assert.ok(Number(full.headers.get('retry-after')) > 0);
  sql(`DELETE FROM upload WHERE id IN (${filler.map(lit).join(',')})`);

  // The officer's link, and the document through it.
  const link = expect(await call('GET /api/v1/bookings/{reference}/documents/{code}/link', { token: tokens.officer, params: { reference: ref, code: doc } }), 200);
  assert.equal(link.json.document.sha256, sha256hex(bytes));
  expect(await call('GET /api/v1/bookings/{reference}/documents/{code}/link', { token: tokens.admin, params: { reference: ref, code: doc }, query: { id: link.json.document.id } }), 200);
  expect(await call('GET /api/v1/bookings/{reference}/documents/{code}/link', { token: tokens.officer, params: { reference: ref, code: 'no_such_document' } }), 404);
  expect(await call('GET /api/v1/bookings/{reference}/documents/{code}/link', { token: tokens.officer, params: { reference: ref, code: doc }, query: { id: 'first' } }), 400, 'invalid_field', 'id');
  const url = new URL(link.json.url);
  const q = Object.fromEntries(url.searchParams);
  const docId = url.pathname.split('/').pop();
  const view = expect(await call('GET /api/v1/documents/{id}', { params: { id: docId }, query: q }), 200);
  assert.equal(view.headers.get('content-type'), 'application/pdf');
  const badSig = q.sig.slice(0, -1) + (q.sig.endsWith('A') ? 'B' : 'A');
  expect(await call('GET /api/v1/documents/{id}', { params: { id: docId }, query: { ...q, sig: badSig } }), 403, 'link_invalid');
  expect(await call('GET /api/v1/documents/{id}', { params: { id: docId } }), 403, 'link_invalid');
  const sign = (d, u, exp) => secretHmac('document-link', `${d}.${u}.${exp}`).toString('base64url');
  const past = Math.floor(Date.now() / 1000) - 60;
  expect(await call('GET /api/v1/documents/{id}', { params: { id: docId }, query: { u: q.u, expires: past, sig: sign(docId, q.u, past) } }), 410, 'link_expired');
  const soon = Math.floor(Date.now() / 1000) + 60;
  expect(await call('GET /api/v1/documents/{id}', { params: { id: '99999999' }, query: { u: q.u, expires: soon, sig: sign('99999999', q.u, soon) } }), 404);

  // The rest of the checklist is missing: a note is needed to close the collection.
  const status = (body) => call('POST /api/v1/agent/visits/{reference}/status', { token: tokens.agent, params: { reference: ref }, body });
  expect(await status({ status: 'documents_collected' }), 422, 'documents_missing');
  const collected = expect(await status({ status: 'documents_collected', note: 'the rest will be posted' }), 200);
  assert.ok(collected.json.uploads.length === 1);
  expect(await status({ status: 'completed' }), 200);
});


// ---------------------------------------------------------------- nodal officers

test('officer: SLA, dead letters, unplaced, zones', async () => {
  expect(await call('GET /api/v1/admin/sla', { token: tokens.officer }), 200);
  expect(await call('GET /api/v1/admin/sla', { token: tokens.admin, query: { state: 'on_time' } }), 200);
  expect(await call('GET /api/v1/admin/sla', { token: tokens.officer, query: { state: 'late' } }), 400, 'invalid_field', 'state');
  expect(await call('GET /api/v1/admin/sms/dead-letters', { token: tokens.officer, query: { limit: 5 } }), 200);
  expect(await call('GET /api/v1/admin/sms/dead-letters', { token: tokens.officer, query: { limit: 0 } }), 400, 'invalid_field', 'limit');
  const dead = sqlValue(`INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, status,
                           attempts, next_attempt_at, last_error, created_at, updated_at)
                         SELECT id, 'test-openapi-dead-' || gen_random_uuid(), '+919000000999', 'otp', 'en', '{}', 'x', 'failed', 5, now(),
                                'DLT template rejected', now(), now() FROM district WHERE code = 'RPR' RETURNING id`);
  expect(await call('POST /api/v1/admin/sms/dead-letters/{id}/retry', { token: tokens.officer, params: { id: dead } }), 200);
  expect(await call('POST /api/v1/admin/sms/dead-letters/{id}/retry', { token: tokens.officer, params: { id: dead } }), 409, 'wrong_state');
  expect(await call('POST /api/v1/admin/sms/dead-letters/{id}/retry', { token: tokens.officer, params: { id: '999999999' } }), 404, 'not_found');
  sql(`DELETE FROM sms_outbox WHERE id = ${dead}`);
  expect(await call('GET /api/v1/admin/unplaced', { token: tokens.officer }), 200);
  expect(await call('GET /api/v1/admin/unplaced', { token: tokens.officer, query: { date: istDate(DAY) } }), 200);
  expect(await call('GET /api/v1/admin/unplaced', { token: tokens.officer, query: { date: 'monday' } }), 400, 'invalid_field', 'date');

  const zones = expect(await call('GET /api/v1/admin/zones', { token: tokens.officer }), 200);
  const z = zones.json.features.find((f) => f.id === ZONE);
  // The same area again: a Feature, then a bare geometry.
  const feature = { type: 'Feature', id: ZONE, geometry: z.geometry, properties: { code: ZONE } };
  expect(await call('PUT /api/v1/admin/zones/{code}', { token: tokens.officer, params: { code: ZONE }, body: feature }), 200);
  expect(await call('PUT /api/v1/admin/zones/{code}', { token: tokens.admin, params: { code: ZONE }, body: z.geometry }), 200);
  const bowtie = { type: 'Polygon', coordinates: [[[81.65, 21.25], [81.69, 21.31], [81.69, 21.25], [81.65, 21.31], [81.65, 21.25]]] };
  expect(await call('PUT /api/v1/admin/zones/{code}', { token: tokens.officer, params: { code: ZONE }, body: bowtie }), 422, 'invalid_geometry');
  expect(await call('PUT /api/v1/admin/zones/{code}', { token: tokens.officer, params: { code: 'RPR-Z99' }, body: z.geometry }), 404);
  expect(await call('PUT /api/v1/admin/zones/{code}', { token: tokens.officer, params: { code: ZONE }, body: { type: 'Point', coordinates: [81.6, 21.2] } }), 400, 'invalid_field', 'type');
  const after = expect(await call('GET /api/v1/admin/zones', { token: tokens.officer }), 200);
  assert.deepEqual(after.json.features.find((f) => f.id === ZONE).geometry, z.geometry, 'the area is unchanged');
});

test('officer: agents, shifts, days off', async () => {
  const list = expect(await call('GET /api/v1/admin/agents', { token: tokens.officer }), 200);
  assert.ok(list.json.length >= 24);
  expect(await call('GET /api/v1/admin/agents', { token: tokens.admin, query: { zone: ZONE } }), 200);
  expect(await call('GET /api/v1/admin/agents', { token: tokens.officer, query: { zone: 'Z'.repeat(40) } }), 400, 'invalid_field', 'zone');

  const body = { name: 'OpenAPI Test Agent', phone: randomPhone(), zone: ZONE, base: WHERE, skills: ['revenue'] };
  const made = expect(await call('POST /api/v1/admin/agents', { token: tokens.officer, body }), 201);
  createdAgent = made.json.code;
  const code = { code: createdAgent };
  expect(await call('POST /api/v1/admin/agents', { token: tokens.officer, body: { ...body, zone: 'RPR-Z99' } }), 400, 'invalid_field', 'zone');
  expect(await call('POST /api/v1/admin/agents', { token: tokens.officer, body: { ...body, skills: ['astrology'] } }), 400, 'invalid_field', 'skills');
  expect(await call('PATCH /api/v1/admin/agents/{code}', { token: tokens.officer, params: code, body: { name: 'OpenAPI Agent', skills: ['*'] } }), 200);
  expect(await call('PATCH /api/v1/admin/agents/{code}', { token: tokens.officer, params: { code: 'RPR-A99' }, body: { name: 'Nobody' } }), 404);
  expect(await call('PATCH /api/v1/admin/agents/{code}', { token: tokens.officer, params: code, body: { active: 'no' } }), 400, 'invalid_field', 'active');
  const holder = sqlValue(`SELECT a.code FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(state.b1)}`);
  expect(await call('PATCH /api/v1/admin/agents/{code}', { token: tokens.officer, params: { code: holder }, body: { active: false } }), 409, 'agent_has_visits');

  const day = istDate(DAY + 1);
  const shift = expect(await call('PUT /api/v1/admin/agents/{code}/shifts/{date}', { token: tokens.officer, params: { ...code, date: day }, body: { start: '09:00', end: '18:00', per_window: 2 } }), 200);
  assert.ok(shift.json.windows.length > 0);
  expect(await call('PUT /api/v1/admin/agents/{code}/shifts/{date}', { token: tokens.officer, params: { ...code, date: day }, body: { start: '18:00', end: '09:00', per_window: 2 } }), 400, 'invalid_field', 'end');
  expect(await call('PUT /api/v1/admin/agents/{code}/shifts/{date}', { token: tokens.officer, params: { ...code, date: 'someday' }, body: { start: '09:00', end: '18:00', per_window: 2 } }), 400, 'invalid_field', 'date');
  expect(await call('PUT /api/v1/admin/agents/{code}/shifts/{date}', { token: tokens.officer, params: { code: 'RPR-A99', date: day }, body: { start: '09:00', end: '18:00', per_window: 2 } }), 404);

  const off = expect(await call('POST /api/v1/admin/agents/{code}/unavailable', { token: tokens.officer, params: code, body: { date: day, reason: 'training' } }), 200);
  assert.deepEqual([off.json.moved, off.json.unplaced, off.json.frozen], [[], [], []]);
  expect(await call('POST /api/v1/admin/agents/{code}/unavailable', { token: tokens.officer, params: code, body: { date: day } }), 400, 'invalid_field', 'reason');
  expect(await call('POST /api/v1/admin/agents/{code}/unavailable', { token: tokens.officer, params: { code: 'RPR-A99' }, body: { date: day, reason: 'x' } }), 404);
});

test('officer: reassignment and plans', async () => {
  const holder = sqlValue(`SELECT a.code FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(state.b1)}`);
  const to = ['RPR-A09', 'RPR-A10', 'RPR-A11'].find((c) => c !== holder);
  const moved = expect(await call('POST /api/v1/admin/bookings/{reference}/reassign', { token: tokens.officer, params: { reference: state.b1 }, body: { agent: to } }), 200);
  assert.equal(moved.json.agent.code, to);
  expect(await call('POST /api/v1/admin/bookings/{reference}/reassign', { token: tokens.admin, params: { reference: state.b1 } }), 200);
  expect(await call('POST /api/v1/admin/bookings/{reference}/reassign', { token: tokens.officer, params: { reference: state.b2 } }), 409, 'wrong_state');
  expect(await call('POST /api/v1/admin/bookings/{reference}/reassign', { token: tokens.officer, params: { reference: state.b1 }, body: { agent: 'RPR-A99' } }), 409, 'agent_full');
  expect(await call('POST /api/v1/admin/bookings/{reference}/reassign', { token: tokens.officer, params: { reference: UNKNOWN.reference } }), 404);

  const day = istDate(DAY);
  const run = expect(await call('POST /api/v1/admin/plans', { token: tokens.officer, body: { date: day, zone: ZONE } }), 200);
  assert.equal(run.json.length, 1);
  expect(await call('POST /api/v1/admin/plans', { token: tokens.officer, body: { date: day, zone: 'RPR-Z99' } }), 404);
  expect(await call('POST /api/v1/admin/plans', { token: tokens.officer, body: { date: '12/31' } }), 400, 'invalid_field', 'date');
  const plan = expect(await call('GET /api/v1/admin/plans', { token: tokens.officer, query: { date: day, zone: ZONE } }), 200);
  assert.ok(plan.json[0].last_run, 'the run is recorded');
  expect(await call('GET /api/v1/admin/plans', { token: tokens.admin, query: { date: istDate(0) } }), 200);
  expect(await call('GET /api/v1/admin/plans', { token: tokens.officer }), 400, 'invalid_field', 'date');
  expect(await call('GET /api/v1/admin/plans', { token: tokens.officer, query: { date: day, zone: 'RPR-Z99' } }), 404);
});

test('office status of a booking after the visit', async () => {
  const key = 'POST /api/v1/admin/bookings/{reference}/status';
  const ref = { reference: state.visit.reference };
  expect(await call(key, { token: tokens.officer, params: ref, body: { status: 'submitted', note: 'sent to the tehsil' } }), 200);
  expect(await call(key, { token: tokens.admin, params: ref, body: { status: 'submitted' } }), 200);
  expect(await call(key, { token: tokens.officer, params: ref, body: { status: 'delivered' } }), 409, 'wrong_state');
  expect(await call(key, { token: tokens.officer, params: ref, body: { status: 'lost' } }), 400, 'invalid_field', 'status');
  expect(await call(key, { token: tokens.officer, params: { reference: UNKNOWN.reference }, body: { status: 'submitted' } }), 404);
});

const GRIEVANCES = 'POST /api/v1/grievances';
test('grievances: raise, list, link, answer, appeal, close', { skip: isPending(GRIEVANCES) && 'pending' }, async () => {
  const raise = (body, token = tokens.resident) => call(GRIEVANCES, { token, body });
  const g1 = expect(await raise({ booking: state.b1, kind: 'delay', description: 'Nobody told me\nwhat happens next.' }), 201);
  assert.equal(g1.json.tier, 1);
  const g2 = expect(await raise({ booking: state.b1, kind: 'other', description: 'Again', links: [g1.json.reference] }), 201);
  expect(await raise({ booking: state.b1, kind: 'delay', description: 'x', links: ['GV-0000-0000-0000'] }), 400, 'invalid_field', 'links');
  expect(await raise({ booking: state.b1, kind: 'weather', description: 'x' }), 400, 'invalid_field', 'kind');
  expect(await raise({ booking: UNKNOWN.reference, kind: 'delay', description: 'x' }), 404, 'not_found');

  const list = 'GET /api/v1/grievances';
  const mine = expect(await call(list, { token: tokens.resident }), 200);
  assert.ok(mine.json.some((g) => g.reference === g1.json.reference));
  expect(await call(list, { token: tokens.officer, query: { status: 'open', tier: 1, lang: 'hi' } }), 200);
  expect(await call(list, { token: tokens.officer, query: { tier: 5 } }), 400, 'invalid_field', 'tier');
  const one = 'GET /api/v1/grievances/{reference}';
  expect(await call(one, { token: tokens.committee, params: { reference: g1.json.reference } }), 200);
  expect(await call(one, { token: tokens.resident, params: { reference: 'GV-0000-0000-0000' } }), 404, 'not_found');

  const act = (what, reference, body, token = tokens.resident) =>
    call(`POST /api/v1/grievances/{reference}/${what}`, { token, params: { reference }, body });
  expect(await act('links', g1.json.reference, { grievance: g2.json.reference }), 200);
  expect(await act('links', g1.json.reference, { grievance: g1.json.reference }), 400, 'invalid_field', 'grievance');
  expect(await act('links', 'GV-0000-0000-0000', { grievance: g1.json.reference }), 404);
  const answer = { decision: 'upheld', note: 'The application was sent on; sorry for the wait.' };
  expect(await act('answer', g1.json.reference, answer, tokens.officer), 200);
  expect(await act('answer', g1.json.reference, answer, tokens.officer), 409, 'wrong_state');
  expect(await act('answer', g2.json.reference, { decision: 'maybe', note: 'x' }, tokens.officer), 400, 'invalid_field', 'decision');
  expect(await act('answer', 'GV-0000-0000-0000', answer, tokens.officer), 404);
  const appealed = expect(await act('appeal', g1.json.reference, { note: 'Still waiting' }), 200);
  assert.equal(appealed.json.tier, 2);
  expect(await act('appeal', g2.json.reference), 409, 'wrong_state');
  expect(await act('appeal', 'GV-0000-0000-0000'), 404);
  expect(await act('close', g2.json.reference), 200);
  expect(await act('close', g2.json.reference, { note: 'done' }), 409, 'wrong_state');
  expect(await act('close', 'GV-0000-0000-0000'), 404);
});

const REPORT = 'GET /api/v1/reports/fortnightly';
test('the fortnightly report: JSON, CSV, PDF', { skip: isPending(REPORT) && 'pending' }, async () => {
  const last = new Date(Date.now() + 5.5 * 3600e3 - 31 * 86400e3).toISOString().slice(0, 7);
  for (const key of [REPORT, `${REPORT.replace('fortnightly', 'fortnightly.csv')}`, `${REPORT.replace('fortnightly', 'fortnightly.pdf')}`]) {
    expect(await call(key, { token: tokens.committee }), 200);
    expect(await call(key, { token: tokens.officer, query: { district: 'RPR', period: `${last}-2` } }), 200);
    expect(await call(key, { token: tokens.committee, query: { period: `${last}-3` } }), 400, 'invalid_field', 'period');
    expect(await call(key, { token: tokens.committee, query: { district: 'ZZZ' } }), 403, 'forbidden');
  }
  const r = expect(await call(REPORT, { token: tokens.admin, query: { period: `${last}-1` } }), 200);
  assert.equal(r.json.period.code, `${last}-1`);
  // A sealed fortnight (sealed here directly; the worker's scan does it when a fortnight closes).
  sql(`INSERT INTO report_seal (district_id, period, sealed_at, sha256, body)
       SELECT id, '2001-01-1', now(), encode(sha256(convert_to(report_fortnightly(id, '2001-01-1', now())::text, 'UTF8')), 'hex'),
              report_fortnightly(id, '2001-01-1', now())::text FROM district WHERE code = 'RPR' ON CONFLICT DO NOTHING`);
  const SEALED = `${REPORT}/sealed`;
  expect(await call(SEALED, { token: tokens.committee, query: { period: '2001-01-1' } }), 200);
  expect(await call(SEALED, { token: tokens.committee, query: { period: '2001-01-2' } }), 404, 'not_sealed');
  expect(await call(SEALED, { token: tokens.committee, query: { period: '2001-13-1' } }), 400, 'invalid_field', 'period');
  expect(await call(SEALED, { token: tokens.committee, query: { district: 'ZZZ' } }), 403, 'forbidden');
});

test('dev clock', async () => {
  const r = expect(await call('POST /api/v1/dev/clock', { body: { now: new Date().toISOString() } }), 200);
  assert.ok(Math.abs(new Date(r.json.now) - Date.now()) < 60e3);
  expect(await call('POST /api/v1/dev/clock', { body: { now: '2026-02-30T10:00:00Z' } }), 400, 'invalid_field', 'now');
});

// ---------------------------------------------------------------- the same refusals everywhere

// A JSON body the dispatcher parses (so that the token is looked at next).
const someBody = (route) => (jsonFlag(route) ? { raw: '{}', headers: { 'Content-Type': 'application/json' } } : {});
const live = () => [...ops.keys()].filter((k) => !isPending(k) && routeFor(k));
const params = (key) => Object.fromEntries([...key.matchAll(/\{(\w+)\}/g)].map(([, k]) => [k, UNKNOWN[k]]));

test('every operation with roles: 401 without a token or with a bad one, 403 for another role', async () => {
  for (const key of live()) {
    const { op } = ops.get(key);
    const roles = op['x-mitan-roles'];
    if (!roles.length) continue;
    const route = routeFor(key);
    const p = params(key);
    expect(await call(key, { params: p, ...someBody(route) }), 401);
    expect(await call(key, { params: p, token: 'x'.repeat(43), ...someBody(route) }), 401);
    const outsider = ROLES.find((r) => !roles.includes(r));
    if (outsider) expect(await call(key, { params: p, token: tokens[outsider], ...someBody(route) }), 403, key.startsWith('HEAD') ? undefined : 'forbidden');
  }
});

test('every JSON body: 415 for another content type, 400 for bad JSON and for an unknown field, 413 when too large', async () => {
  for (const key of live()) {
    const route = routeFor(key);
    const p = params(key);
    const { op } = ops.get(key);
    if (jsonFlag(route) || jsonOptional(route)) {
      expect(await call(key, { params: p, raw: 'phone=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
      expect(await call(key, { params: p, raw: '{"a": 1,', headers: { 'Content-Type': 'application/json' } }), 400, 'invalid_json');
      expect(await call(key, { params: p, raw: '{"a": 1, "a": 2}', headers: { 'Content-Type': 'application/json; charset=utf-8' } }), 400, 'invalid_json');
      const role = op['x-mitan-roles'][0];
      const r = await call(key, { params: p, token: role ? tokens[role] : undefined, body: { zzz_unknown: 1 } });
      const oneOf = op.requestBody.content['application/json'].schema.oneOf;
      expect(r, 400, 'invalid_field', oneOf ? undefined : 'zzz_unknown');
    }
    if (route.maxBody > 0) {
      const raw = `{"a":"${'x'.repeat(route.maxBody)}"}`;
      expect(await call(key, { params: p, raw, headers: { 'Content-Type': 'application/json' } }), 413, 'body_too_large');
    } else if (['POST', 'PUT', 'PATCH'].includes(route.method) && !route.flags.has('HTTP_STREAM')) {
      expect(await call(key, { params: p, token: tokens.agent, raw: 'x', headers: { 'Content-Type': 'application/octet-stream', 'Tus-Resumable': '1.0.0' } }), 413, 'body_too_large');
    }
  }
});

test('every path: a method it does not have is 405', async () => {
  const MethodNotAllowed = spec.components.responses.MethodNotAllowed;
  for (const [path, item] of Object.entries(spec.paths)) {
    const have = METHODS.filter((m) => item[m] && !item[m]['x-mitan-pending'] && routeFor(`${m.toUpperCase()} ${path}`))
      .map((m) => m.toUpperCase());
    if (!have.length) continue;
    if (have.includes('GET')) have.push('HEAD');
    for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !have.includes(m)).slice(0, 2)) {
      const r = await api(method, fill(path, params(path)));
      r.method = method;
      assert.equal(r.status, 405, `${method} ${path}: ${r.status} ${r.text}`);
      check(`${have[0]} ${path}`, r, MethodNotAllowed);
      assert.equal(r.json.error.code, 'method_not_allowed');
    }
  }
  const r = await api('GET', '/api/v1/no/such/thing');
  assert.equal(r.status, 404);
});

test('every operation was exercised: a success and the refusals it documents that were cheap to make', () => {
  const missing = [];
  for (const key of live()) {
    const got = seen.get(key) || new Set();
    if (![...got].some((s) => s >= 200 && s < 300)) missing.push(`${key}: no success`);
    const { op } = ops.get(key);
    const roles = op['x-mitan-roles'];
    if (roles.length && !(got.has(401) && (got.has(403) || roles.length === ROLES.length))) missing.push(`${key}: 401/403`);
    if (op.responses['400'] && !got.has(400)) missing.push(`${key}: 400`);
    if (op.responses['404'] && key.includes('{') && !got.has(404)) missing.push(`${key}: 404`);
  }
  assert.deepEqual(missing, []);
});
