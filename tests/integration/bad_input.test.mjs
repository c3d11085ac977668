// Bad requests get a 4xx with a JSON error {"error": {"code", "message"}} and change
// nothing: the row counts of bookings, persons, events, messages, idempotency keys and the
// audit log, and the units taken in the ledger, are the same before and after.
// Bookings that do go through use zone RPR-Z5, day +3.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, BASE, ZONES, OUTSIDE, bookingBody, isError, istDate, lit, randomPhone, residentLogin, sql, sqlValue,
  setWindowFree, stateSnapshot, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z5';
const START = windowStart(3, 9);
let token;
let myPhone;

before(async () => {
  setWindowFree(ZONE, START, [5, 5, 5, 5]);
  ({ token, phone: myPhone } = await residentLogin());
});

const valid = (overrides = {}) => bookingBody(START, { location: ZONES[ZONE], ...overrides });
const post = (opts) => api('POST', '/api/v1/bookings', { token, ...opts });

// Sends the request and checks the error reply.
async function refused(send, status, code, field) {
  const r = await send();
  isError(r, status, code);
  if (field) assert.equal(r.json.error.field, field, r.text);
  return r;
}

// A test whose requests must all leave the database as it was.
function unchanged(name, fn) {
  test(name, async () => {
    const snap = stateSnapshot();
    await fn();
    assert.deepEqual(stateSnapshot(), snap, 'a refused request changed the database');
  });
}

test('a valid body is accepted (the bad ones below differ from it in one point)', async () => {
  // Proves the baseline: without it every refusal below could come from something else.
  const r = await post({ body: valid() });
  assert.equal(r.status, 201, r.text);
});

unchanged('malformed, empty, non-object and duplicate-key JSON are 400 invalid_json', async () => {
  const body = JSON.stringify(valid());
  await refused(() => post({ raw: body.slice(0, -5) }), 400, 'invalid_json');
  await refused(() => post({ raw: '{"service": "income_certificate",}' }), 400, 'invalid_json');
  await refused(() => post({ raw: '' }), 400, 'invalid_json');
  await refused(() => post({ raw: '[1, 2, 3]' }), 400, 'invalid_json');
  await refused(() => post({ raw: '"just a string"' }), 400, 'invalid_json');
  await refused(() => post({ raw: '{"service":"a","service":"b"}' }), 400, 'invalid_json');
  // The duplicate hidden in an otherwise valid booking, in the first and in a nested object.
  await refused(() => post({ raw: `{"service":"birth_certificate",${body.slice(1)}` }), 400, 'invalid_json');
  const dupNested = body.replace('"location":{', '"location":{"lat":21.0,');
  assert.notEqual(dupNested, body);
  await refused(() => post({ raw: dupNested }), 400, 'invalid_json');
  // Invalid UTF-8.
  await refused(() => post({ raw: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]) }), 400, 'invalid_json');
});

test('deeply nested JSON is refused and the server keeps serving', async () => {
  // 100000 levels: larger than the route's 8 KB limit.
  await refused(() => post({ raw: '['.repeat(100000) }), 413, 'body_too_large');
  // Small enough to be read, deep enough to exhaust a worker thread's stack if parsed
  // recursively: one request like this must not take the server down.
  const snap = stateSnapshot();
  for (const depth of [1000, 3000]) {
    const raw = `{"service":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    assert.ok(raw.length < 8192);
    await refused(() => post({ raw }), 400, 'invalid_json');
  }
  const objects = `{"service":${'{"a":'.repeat(1000)}1${'}'.repeat(1000)}}`;
  assert.ok(objects.length < 8192);
  await refused(() => post({ raw: objects }), 400, 'invalid_json');
  assert.deepEqual(stateSnapshot(), snap);
  const health = await api('GET', '/healthz');
  assert.equal(health.status, 200);
  // Brackets inside strings are not nesting.
  const ok = await post({ body: valid({ address: `[[[{{{ House 2, Civil Lines ${'['.repeat(100)}` }) });
  assert.equal(ok.status, 201, ok.text);
});

unchanged('unknown fields, at the top and nested, are 400 naming the field', async () => {
  await refused(() => post({ body: { ...valid(), extra: 1 } }), 400, 'invalid_field', 'extra');
  await refused(() => post({ body: valid({ location: { ...ZONES[ZONE], alt: 300 } }) }), 400, 'invalid_field',
    'location.alt');
  await refused(() => post({ body: valid({ beneficiary: { name: 'A', phone: randomPhone(), aadhaar: '1234' } }) }),
    400, 'invalid_field', 'beneficiary.aadhaar');
  await refused(() => post({ body: valid({ booker: { name: 'B', role: 'admin' } }) }), 400, 'invalid_field',
    'booker.role');
});

unchanged('wrong types and missing fields are 400 naming the field', async () => {
  const cases = [
    [valid({ location: { lat: String(ZONES[ZONE].lat), lon: ZONES[ZONE].lon } }), 'location.lat'],
    [valid({ location: { lat: ZONES[ZONE].lat, lon: null } }), 'location.lon'],
    [valid({ location: [ZONES[ZONE].lat, ZONES[ZONE].lon] }), 'location'],
    [valid({ beneficiary: [{ name: 'A', phone: randomPhone() }] }), 'beneficiary'],
    [valid({ beneficiary: { name: 42, phone: randomPhone() } }), 'beneficiary.name'],
    [valid({ service: 7 }), 'service'],
    [valid({ address: { line1: 'House 3' } }), 'address'],
    [valid({ start: 1767000000 }), 'start'],
    [valid({ booker: 'me' }), 'booker'],
    [(({ service, ...rest }) => rest)(valid()), 'service'],
    [(({ beneficiary, ...rest }) => rest)(valid()), 'beneficiary'],
    [(({ location, ...rest }) => rest)(valid()), 'location'],
    [valid({ beneficiary: { name: 'A' } }), 'beneficiary.phone'],
  ];
  for (const [body, field] of cases) await refused(() => post({ body }), 400, 'invalid_field', field);
});

unchanged('out-of-range coordinates are 400; a place outside every zone is 422', async () => {
  await refused(() => post({ body: valid({ location: { lat: 91, lon: 81.63 } }) }), 400, 'invalid_field', 'location.lat');
  await refused(() => post({ body: valid({ location: { lat: 21.2, lon: -181 } }) }), 400, 'invalid_field', 'location.lon');
  await refused(() => post({ body: valid({ location: { lat: -90.0001, lon: 0 } }) }), 400, 'invalid_field', 'location.lat');
  await refused(() => post({ body: valid({ location: OUTSIDE }) }), 422, 'outside_service_area');
  await refused(() => post({ body: valid({ location: { lat: 0, lon: 0 } }) }), 422, 'outside_service_area');
});

unchanged('an oversized body is 413, whether its length is announced or not', async () => {
  const big = valid({ address: 'x'.repeat(9000) });
  await refused(() => post({ body: big }), 413, 'body_too_large');
  // Chunked, without Content-Length: the server must stop reading at the limit.
  await refused(async () => {
    const chunk = new TextEncoder().encode(' '.repeat(1024));
    const stream = new ReadableStream({
      start(c) { for (let i = 0; i < 12; i++) c.enqueue(chunk); c.enqueue(new TextEncoder().encode(JSON.stringify(valid()))); c.close(); },
    });
    const res = await fetch(`${BASE}/api/v1/bookings`, {
      method: 'POST', body: stream, duplex: 'half',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, json: JSON.parse(text) };
  }, 413, 'body_too_large');
  // The OTP route's limit is 1 KB.
  await refused(() => api('POST', '/api/v1/auth/otp', { body: { phone: randomPhone(), language: 'x'.repeat(2000) } }),
    413, 'body_too_large');
});

unchanged('a body that is not application/json is 415', async () => {
  const raw = JSON.stringify(valid());
  await refused(() => post({ raw, headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type');
  await refused(() => post({ raw, headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415,
    'unsupported_media_type');
  await refused(() => post({ raw, headers: { 'Content-Type': 'multipart/form-data; boundary=x' } }), 415,
    'unsupported_media_type');
});

test('SQL metacharacters in strings are stored verbatim and the tables survive', async () => {
  const name = "Robert'); DROP TABLE booking;--";
  const address = "1' OR '1'='1; DELETE FROM person; -- \\ \"quoted\" $1 %s";
  const before = Number(sqlValue('SELECT count(*) FROM booking'));
  const r = await post({ body: valid({ address, beneficiary: { name, phone: randomPhone(), language: 'en' } }) });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.json.beneficiary.name, name);
  assert.equal(r.json.address, address);
  const [row] = sql(`SELECT beneficiary_name, address FROM booking WHERE reference = ${lit(r.json.reference)}`);
  assert.deepEqual(row, [name, address]);
  assert.equal(Number(sqlValue('SELECT count(*) FROM booking')), before + 1);
  assert.ok(Number(sqlValue('SELECT count(*) FROM person')) > 0);
  const got = await api('GET', `/api/v1/bookings/${r.json.reference}`, { token });
  assert.equal(got.json.beneficiary.name, name);
  // A service code with metacharacters is just an unknown service.
  await refused(() => post({ body: valid({ service: "x' OR '1'='1" }) }), 400, 'invalid_field', 'service');
});

unchanged('an unknown service is 400', async () => {
  await refused(() => post({ body: valid({ service: 'no_such_service' }) }), 400, 'invalid_field', 'service');
});

unchanged('a start that is no window, in the past, too far ahead or malformed is refused', async () => {
  // 10:00 IST is inside the 09–11 window but is not a window start.
  await refused(() => post({ body: valid({ start: windowStart(3, 10) }) }), 422, 'invalid_window');
  // A window start of another day at a time no zone uses.
  await refused(() => post({ body: valid({ start: `${istDate(3)}T13:00:00+05:30` }) }), 422, 'invalid_window');
  await refused(() => post({ body: valid({ start: windowStart(-1, 9) }) }), 422, 'window_closed');
  await refused(() => post({ body: valid({ start: '2020-01-01T09:00:00+05:30' }) }), 422, 'window_closed');
  await refused(() => post({ body: valid({ start: windowStart(40, 9) }) }), 422, 'window_too_far');
  for (const start of ['tomorrow 9am', `${istDate(3)} 09:00`, `${istDate(3)}T09:00:00`, '2026-02-31T09:00:00+05:30',
    `${istDate(3)}T25:00:00+05:30`])
    await refused(() => post({ body: valid({ start }) }), 400, 'invalid_field', 'start');
});

test('bad phones, languages, names and time zones are 400', async () => {
  const snap = stateSnapshot();
  for (const phone of ['9876543210', '+91 98765 43210', '+0123456789', '+91abc456789', '+1234567890123456', '+12'])
    await refused(() => post({ body: valid({ beneficiary: { name: 'A', phone } }) }), 400, 'invalid_field',
      'beneficiary.phone');
  await refused(() => post({ body: valid({ beneficiary: { name: 'A', phone: randomPhone(), language: 'fr' } }) }), 400,
    'invalid_field', 'beneficiary.language');
  for (const name of ['', 'x'.repeat(101), 'Kamla\nDevi', 'bell\u0007', ' '.repeat(101)])
    await refused(() => post({ body: valid({ beneficiary: { name, phone: randomPhone() } }) }), 400, 'invalid_field',
      'beneficiary.name');
  // NUL is refused by the parser itself.
  await refused(() => post({ body: valid({ beneficiary: { name: 'Kamla\u0000Devi', phone: randomPhone() } }) }), 400);
  for (const tz of ['Mars/Olympus_Mons', 'EST', 'Asia/Kolkata; DROP TABLE person', '../../etc/passwd', 'x'.repeat(41)])
    await refused(() => post({ body: valid({ booker: { time_zone: tz } }) }), 400, 'invalid_field', 'booker.time_zone');
  // A resident is the booker: another person's phone as the booker's is refused.
  await refused(() => post({ body: valid({ booker: { name: 'Someone', phone: randomPhone() } }) }), 400,
    'invalid_field', 'booker.phone');
  assert.deepEqual(stateSnapshot(), snap, 'a refused request changed the database');
  // ... while the own phone is fine (the baseline for the case above).
  const ok = await post({ body: valid({ booker: { phone: myPhone, time_zone: 'Asia/Kolkata' } }) });
  assert.equal(ok.status, 201, ok.text);
});

unchanged('invisible and direction-changing characters in any string are 400 naming the field', async () => {
  const message = /must not contain invisible or direction-changing characters/;
  // A right-to-left override makes "Kamla \u202Eived" display as "Kamla devi".
  const cases = [
    [{ beneficiary: { name: 'Kamla \u202Eived', phone: randomPhone() } }, 'beneficiary.name'],
    [{ beneficiary: { name: 'Kamla\u2066 Devi\u2069', phone: randomPhone() } }, 'beneficiary.name'],
    [{ beneficiary: { name: 'Kam\u200Bla', phone: randomPhone() } }, 'beneficiary.name'],
    [{ beneficiary: { name: '\uFEFFKamla', phone: randomPhone() } }, 'beneficiary.name'],
    [{ beneficiary: { name: 'Kamla\u200FDevi', phone: randomPhone() } }, 'beneficiary.name'],
    [{ beneficiary: { name: 'Ka\u200Dmla', phone: randomPhone() } }, 'beneficiary.name'],
    [{ address: 'House 12, \u202BWard 21\u202C, Pandri' }, 'address'],
    [{ booker: { name: 'Ravi\u2060', time_zone: 'Asia/Kolkata' } }, 'booker.name'],
  ];
  for (const [over, field] of cases) {
    const r = await refused(() => post({ body: valid(over) }), 400, 'invalid_field', field);
    assert.match(r.json.error.message, message, r.text);
  }
});

test('Hindi and Punjabi names keep the joiners their spelling needs', async () => {
  for (const name of ['\u0930\u0915\u094D\u200D\u0937\u093E \u0926\u0947\u0935\u0940', '\u0A15\u0A4D\u200D\u0A30\u0A3F\u0A2A\u0A3E \u0A38\u0A4D\u200C\u0A35\u0A30']) {
    const r = await post({ body: valid({ beneficiary: { name, phone: randomPhone() } }) });
    assert.equal(r.status, 201, r.text);
    assert.equal(sqlValue(`SELECT p.name FROM booking b JOIN person p ON p.id = b.beneficiary_id WHERE b.reference = ${lit(r.json.reference)}`), name);
  }
});

unchanged('an invalid Idempotency-Key is 400', async () => {
  for (const key of ['has spaces', 'x'.repeat(129), 'semi;colon', 'caf\u00e9'])
    await refused(() => post({ body: valid(), headers: { 'Idempotency-Key': key } }), 400, 'invalid_idempotency_key');
});

unchanged('GET /slots with bad parameters is 400, outside every zone 422', async () => {
  const q = (params) => api('GET', `/api/v1/slots?${new URLSearchParams(params)}`);
  const good = { service: 'income_certificate', lat: ZONES[ZONE].lat, lon: ZONES[ZONE].lon, days: 3 };
  const ok = await q(good);
  assert.equal(ok.status, 200, ok.text);
  assert.ok(Array.isArray(ok.json) && ok.json.length > 0);
  const cases = [
    [(({ lat, ...rest }) => rest)(good), 'lat'],
    [{ ...good, lat: 'abc' }, 'lat'],
    [{ ...good, lat: '91' }, 'lat'],
    [{ ...good, lon: '81.6x' }, 'lon'],
    [{ ...good, days: 0 }, 'days'],
    [{ ...good, days: -1 }, 'days'],
    [{ ...good, days: 'two' }, 'days'],
    [{ ...good, days: 1000 }, 'days'],
    [{ ...good, from: '2026-02-31' }, 'from'],
    [{ ...good, from: '31-12-2026' }, 'from'],
    [{ ...good, from: "2026-12-01'; --" }, 'from'],
    [(({ service, ...rest }) => rest)(good), 'service'],
    [{ ...good, service: 'no_such_service' }, 'service'],
  ];
  for (const [params, field] of cases) {
    const r = await q(params);
    isError(r, 400, 'invalid_field');
    assert.equal(r.json.error.field, field, `${new URLSearchParams(params)}: ${r.text}`);
  }
  isError(await q({ ...good, lat: OUTSIDE.lat, lon: OUTSIDE.lon }), 422, 'outside_service_area');
});

unchanged('an unknown route is 404 JSON, a wrong method 405 JSON, a bad token 401', async () => {
  for (const path of ['/api/v1/nope', '/api/v2/services', '/api/v1/services/income_certificate/extra', '/api/',
    '/api/v1/bookings/MT-AAAA-BBBB-CCCC/nope'])
    isError(await api('GET', path), 404, 'not_found');
  isError(await api('DELETE', '/api/v1/bookings'), 405, 'method_not_allowed');
  isError(await api('PUT', '/api/v1/services', { body: {} }), 405, 'method_not_allowed');
  isError(await api('GET', '/api/v1/auth/otp'), 405, 'method_not_allowed');
  isError(await api('PATCH', '/api/v1/bookings/MT-AAAA-BBBB-CCCC/cancel', { body: {} }), 405, 'method_not_allowed');
  await refused(() => api('POST', '/api/v1/bookings', { body: valid(), token: 'x'.repeat(43) }), 401, 'unauthenticated');
  await refused(() => api('POST', '/api/v1/bookings', { body: valid(), headers: { Authorization: 'Basic YTpi' } }), 401,
    'unauthenticated');
});
