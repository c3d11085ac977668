// OTP sign-in: hashed codes, 10-minute expiry (through the injectable clock), single use,
// five tries per code, and send limits per phone and per client address.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, isError, lastSms, lit, randomAddr, randomPhone, residentLogin, setClock, sql, sqlValue } from './lib.mjs';

after(async () => {
  await setClock(new Date().toISOString());
});

// Requests a code; returns { request_id, code, reply }.
async function requestCode(phone, addr = randomAddr(), language = 'en') {
  const reply = await api('POST', '/api/v1/auth/otp', { body: { phone, language }, headers: { 'X-Forwarded-For': addr } });
  assert.equal(reply.status, 202, reply.text);
  const sms = await lastSms(phone, 'otp');
  const code = sms.body.match(/\b\d{6}\b/)[0];
  return { request_id: reply.json.request_id, code, reply };
}

const verify = (request_id, code, addr = randomAddr()) =>
  api('POST', '/api/v1/auth/otp/verify', { body: { request_id, code }, headers: { 'X-Forwarded-For': addr } });
const otherCode = (code) => String((Number(code) + 1) % 1e6).padStart(6, '0');

test('the reply to /auth/otp has the same shape for a known and an unknown phone', async () => {
  const known = (await residentLogin()).phone;
  assert.equal(sqlValue(`SELECT count(*) FROM person WHERE phone = ${lit(known)}`), '1');
  const unknown = randomPhone();
  assert.equal(sqlValue(`SELECT count(*) FROM person WHERE phone = ${lit(unknown)}`), '0');
  const a = (await requestCode(known)).reply;
  const b = (await requestCode(unknown)).reply;
  assert.equal(a.status, b.status);
  assert.deepEqual(Object.keys(a.json).sort(), ['expires_at', 'request_id']);
  assert.deepEqual(Object.keys(b.json).sort(), Object.keys(a.json).sort());
  for (const r of [a, b]) {
    assert.match(r.json.request_id, /^[0-9a-f]{32}$/);
    assert.ok(Date.parse(r.json.expires_at) > Date.now());
    assert.ok(Date.parse(r.json.expires_at) <= Date.now() + 10 * 60e3 + 5e3, 'a code lives at most 10 minutes');
  }
  assert.equal(a.headers.get('content-type'), b.headers.get('content-type'));
  // Asking for a code does not create a person.
  assert.equal(sqlValue(`SELECT count(*) FROM person WHERE phone = ${lit(unknown)}`), '0');
});

test('codes are stored hashed: the code appears nowhere in otp_request', async () => {
  const phone = randomPhone();
  const { request_id, code } = await requestCode(phone);
  const [row] = sql(`SELECT row_to_json(o)::text, length(code_hash),
                            code_hash = sha256(convert_to(${lit(code)}, 'UTF8')),
                            code_hash = sha256(convert_to(${lit(`${request_id}:${code}`)}, 'UTF8'))
                       FROM otp_request o WHERE id = ${lit(request_id)}`);
  assert.ok(row, 'the request is recorded');
  const [text, hashLen, plainSha, idSha] = row;
  assert.ok(!text.includes(code), `the code ${code} is in ${text}`);
  assert.equal(hashLen, '32');
  assert.equal(plainSha, 'f', 'not an unsalted SHA-256 of the code');
  assert.equal(idSha, 'f', 'not an unkeyed SHA-256 either');
  const total = sqlValue(`SELECT count(*) FROM otp_request o WHERE o::text LIKE ${lit(`%${code}%`)} AND id = ${lit(request_id)}`);
  assert.equal(total, '0');
});

test('a code works once: the second verify is 401', async () => {
  const phone = randomPhone();
  const { request_id, code } = await requestCode(phone);
  const first = await verify(request_id, code);
  assert.equal(first.status, 200, first.text);
  assert.match(first.json.token, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(first.json.role, 'resident');
  assert.equal(first.json.person.phone, phone);
  const mine = await api('GET', '/api/v1/bookings', { token: first.json.token });
  assert.equal(mine.status, 200);
  const second = await verify(request_id, code);
  isError(second, 401, 'otp_used');
  assert.ok(!second.json.token);
  assert.equal(sqlValue(`SELECT count(*) FROM session s JOIN person p ON p.id = s.person_id WHERE p.phone = ${lit(phone)}`), '1');
  // The token is stored as a hash only.
  assert.equal(sqlValue(`SELECT count(*) FROM session WHERE token_hash = convert_to(${lit(first.json.token)}, 'UTF8')
                           OR encode(token_hash, 'escape') LIKE ${lit(`%${first.json.token}%`)}`), '0');
  // An unknown request id is refused the same way.
  isError(await verify('0'.repeat(32), code), 401);
});

test('a code expires after 10 minutes (injectable clock)', async () => {
  try {
    const phone = randomPhone();
    const late = await requestCode(phone);
    await setClock(new Date(Date.now() + 11 * 60e3).toISOString());
    const r = await verify(late.request_id, late.code);
    isError(r, 401, 'otp_expired');
    assert.ok(!r.json.token);
    await setClock(new Date().toISOString());
    // Still valid at 9 minutes: the expiry above is the clock's doing.
    const inTime = await requestCode(randomPhone());
    await setClock(new Date(Date.now() + 9 * 60e3).toISOString());
    const ok = await verify(inTime.request_id, inTime.code);
    assert.equal(ok.status, 200, ok.text);
  } finally {
    await setClock(new Date().toISOString());
  }
});

test('five wrong codes lock the request: then even the right code is 429 otp_locked', async () => {
  const { request_id, code } = await requestCode(randomPhone());
  for (let i = 0; i < 5; i++) isError(await verify(request_id, otherCode(code)), 401, 'otp_invalid');
  assert.equal(sqlValue(`SELECT attempts FROM otp_request WHERE id = ${lit(request_id)}`), '5');
  const r = await verify(request_id, code);
  isError(r, 429, 'otp_locked');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.ok(!r.json.token);
  // Four wrong codes are not enough to lock.
  const other = await requestCode(randomPhone());
  for (let i = 0; i < 4; i++) isError(await verify(other.request_id, otherCode(other.code)), 401, 'otp_invalid');
  assert.equal((await verify(other.request_id, other.code)).status, 200);
});

test('the sixth code for one phone within an hour is 429 with Retry-After', async () => {
  const phone = randomPhone();
  for (let i = 0; i < 5; i++) await requestCode(phone);
  const sixth = await api('POST', '/api/v1/auth/otp', { body: { phone }, headers: { 'X-Forwarded-For': randomAddr() } });
  isError(sixth, 429, 'too_many_requests');
  const wait = Number(sixth.headers.get('retry-after'));
  assert.ok(Number.isInteger(wait) && wait > 0 && wait <= 3600, `Retry-After: ${sixth.headers.get('retry-after')}`);
  assert.equal(sqlValue(`SELECT count(*) FROM otp_request WHERE phone = ${lit(phone)}`), '5');
  assert.equal(sqlValue(`SELECT count(*) FROM sms_outbox WHERE to_phone = ${lit(phone)} AND template = 'otp'`), '5');
  // Another phone is not affected; and an hour later this one may ask again.
  await requestCode(randomPhone());
  try {
    await setClock(new Date(Date.now() + 61 * 60e3).toISOString());
    const later = await api('POST', '/api/v1/auth/otp', { body: { phone }, headers: { 'X-Forwarded-For': randomAddr() } });
    assert.equal(later.status, 202, later.text);
  } finally {
    await setClock(new Date().toISOString());
  }
});

test('the 31st code from one client address within an hour is 429 with Retry-After', async () => {
  const addr = randomAddr();
  for (let i = 0; i < 30; i++) {
    const r = await api('POST', '/api/v1/auth/otp', { body: { phone: randomPhone() }, headers: { 'X-Forwarded-For': addr } });
    assert.equal(r.status, 202, `request ${i + 1}: ${r.text}`);
  }
  const phone = randomPhone();
  const r = await api('POST', '/api/v1/auth/otp', { body: { phone }, headers: { 'X-Forwarded-For': addr } });
  isError(r, 429, 'too_many_requests');
  assert.ok(Number(r.headers.get('retry-after')) > 0);
  assert.equal(sqlValue(`SELECT count(*) FROM otp_request WHERE client_addr = ${lit(addr)}`), '30');
  assert.equal(sqlValue(`SELECT count(*) FROM otp_request WHERE phone = ${lit(phone)}`), '0');
  // The limit follows the last (proxy-appended) address, not one the client made up in front.
  const spoofed = await api('POST', '/api/v1/auth/otp', {
    body: { phone: randomPhone() }, headers: { 'X-Forwarded-For': `${randomAddr()}, ${addr}` } });
  isError(spoofed, 429, 'too_many_requests');
  const fresh = await api('POST', '/api/v1/auth/otp', {
    body: { phone: randomPhone() }, headers: { 'X-Forwarded-For': `${addr}, ${randomAddr()}` } });
  assert.equal(fresh.status, 202);
});

test('malformed OTP requests are 400', async () => {
  for (const phone of ['12345', '+91 9876543210', '', '+919876543210x'])
    isError(await api('POST', '/api/v1/auth/otp', { body: { phone } }), 400, 'invalid_field');
  isError(await api('POST', '/api/v1/auth/otp', { body: { phone: randomPhone(), language: 'fr' } }), 400, 'invalid_field');
  isError(await api('POST', '/api/v1/auth/otp', { body: { phone: randomPhone(), extra: 1 } }), 400, 'invalid_field');
  isError(await verify('not-hex', '123456'), 400, 'invalid_field');
  isError(await verify('0'.repeat(32), '12345a'), 400, 'invalid_field');
});
