// Idempotency-Key on POST /bookings: a repeat returns the first reply and books nothing
// more; the key with another body is 422; concurrent repeats book once. Zone RPR-Z4, day +2.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, ZONES, bookingBody, httpAgent, isError, lit, randomPhone, request, residentLogin, setWindowFree, sqlValue, stateSnapshot,
  uniqueKey, windowLedger, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z4';
const START = windowStart(2, 11);
let resident;

before(async () => {
  setWindowFree(ZONE, START, [5, 5, 5, 5]);
  resident = await residentLogin();
});

const body = () => bookingBody(START, {
  location: ZONES[ZONE],
  address: 'House 5, Tatibandh, Raipur',
  beneficiary: { name: 'Bhagwati Sahu', phone: randomPhone(), language: 'hi' },
});
const bookingsFor = (phone) => Number(sqlValue(`SELECT count(*) FROM booking b JOIN person p ON p.id = b.beneficiary_id
    WHERE p.phone = ${lit(phone)}`));

test('the same key and body return the first reply and book once', async () => {
  const key = uniqueKey();
  const b = body();
  const ledger = windowLedger(ZONE, START);
  const first = await api('POST', '/api/v1/bookings', { token: resident.token, body: b, headers: { 'Idempotency-Key': key } });
  assert.equal(first.status, 201, first.text);
  const snap = stateSnapshot();
  const again = await api('POST', '/api/v1/bookings', { token: resident.token, body: b, headers: { 'Idempotency-Key': key } });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.json.reference, first.json.reference);
  assert.equal(again.json.tracking_url, first.json.tracking_url);
  assert.deepEqual(again.json, first.json);
  assert.deepEqual(stateSnapshot(), snap, 'the repeat changed nothing');
  assert.equal(bookingsFor(b.beneficiary.phone), 1);
  assert.equal(windowLedger(ZONE, START).booked, ledger.booked + 1);
  // Without the key the same body is a new booking (the baseline for the above).
  const fresh = await api('POST', '/api/v1/bookings', { token: resident.token, body: b });
  assert.equal(fresh.status, 201);
  assert.notEqual(fresh.json.reference, first.json.reference);
  assert.equal(bookingsFor(b.beneficiary.phone), 2);
});

test('the same key with another body is 422 and changes nothing', async () => {
  const key = uniqueKey();
  const b = body();
  const first = await api('POST', '/api/v1/bookings', { token: resident.token, body: b, headers: { 'Idempotency-Key': key } });
  assert.equal(first.status, 201, first.text);
  const snap = stateSnapshot();
  const other = { ...b, address: 'House 6, Tatibandh, Raipur' };
  const r = await api('POST', '/api/v1/bookings', { token: resident.token, body: other, headers: { 'Idempotency-Key': key } });
  isError(r, 422, 'idempotency_key_reused');
  assert.deepEqual(stateSnapshot(), snap);
  assert.equal(sqlValue(`SELECT address FROM booking WHERE reference = ${lit(first.json.reference)}`), b.address);
});

test('concurrent repeats of one key book once and all get the same reference', async () => {
  const key = uniqueKey();
  const b = body();
  const ledger = windowLedger(ZONE, START);
  const snap = stateSnapshot();
  const agent = httpAgent(12);
  const replies = await Promise.all(Array.from({ length: 12 }, () =>
    request(agent, 'POST', '/api/v1/bookings', { token: resident.token, body: b, headers: { 'Idempotency-Key': key } })));
  agent.destroy();
  assert.deepEqual(replies.map((r) => r.status), Array(12).fill(201), replies.map((r) => r.text).join('\n'));
  assert.equal(new Set(replies.map((r) => r.json.reference)).size, 1);
  assert.equal(bookingsFor(b.beneficiary.phone), 1);
  assert.equal(windowLedger(ZONE, START).booked, ledger.booked + 1);
  const after = stateSnapshot();
  assert.equal(after.booking, snap.booking + 1);
  assert.equal(after.idempotency, snap.idempotency + 1);
  assert.equal(after.booked, snap.booked + 1);
});

test('keys belong to the caller: another resident with the same key books separately', async () => {
  const key = uniqueKey();
  const other = await residentLogin();
  const a = await api('POST', '/api/v1/bookings', { token: resident.token, body: body(), headers: { 'Idempotency-Key': key } });
  const b = await api('POST', '/api/v1/bookings', { token: other.token, body: body(), headers: { 'Idempotency-Key': key } });
  assert.equal(a.status, 201, a.text);
  assert.equal(b.status, 201, b.text);
  assert.notEqual(a.json.reference, b.json.reference);
  // The second caller does not get the first caller's reply.
  assert.notEqual(b.json.beneficiary.phone, a.json.beneficiary.phone);
});
