// Who may see and change a booking: its booker and its beneficiary (each signed in by OTP
// with their own phone) and staff; nobody else, and nobody without a token. Zone RPR-Z1,
// day +4.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import {
  api, ZONES, bookingBody, isError, lastSms, lit, randomPhone, residentLogin, setWindowFree, sql, sqlValue, staffLogin,
  stateSnapshot, windowLedger, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z1';
const START = windowStart(4, 9);
const OTHER_START = windowStart(4, 14);
const usPhone = () => `+1212555${String(randomInt(0, 1e4)).padStart(4, '0')}`;

// The UTC offset of a zone at an instant, as "+05:30" / "-05:00".
function offsetAt(timeZone, instant) {
  const name = new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' })
    .formatToParts(new Date(instant)).find((p) => p.type === 'timeZoneName').value;
  return name === 'GMT' ? '+00:00' : name.slice(3);
}

let booker; // { token, phone }
let beneficiaryPhone;
let reference;

before(async () => {
  for (const hour of [9, 16]) setWindowFree(ZONE, windowStart(4, hour), [3, 3, 3, 3]);
  booker = await residentLogin();
  beneficiaryPhone = randomPhone();
  const r = await api('POST', '/api/v1/bookings', {
    token: booker.token,
    body: bookingBody(START, {
      location: ZONES[ZONE],
      address: 'Flat 4, Gudhiyari Road, Raipur',
      beneficiary: { name: 'Sushila Bai', phone: beneficiaryPhone, language: 'hi' },
    }),
  });
  assert.equal(r.status, 201, r.text);
  reference = r.json.reference;
});

test('the booker sees the booking, in the list and by reference', async () => {
  const one = await api('GET', `/api/v1/bookings/${reference}`, { token: booker.token });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.reference, reference);
  assert.equal(one.json.booker.phone, booker.phone);
  assert.equal(one.json.beneficiary.phone, beneficiaryPhone);
  const list = await api('GET', '/api/v1/bookings', { token: booker.token });
  assert.equal(list.status, 200);
  assert.ok(list.json.some((b) => b.reference === reference));
});

test('another resident gets 404 for GET, cancel, reschedule and the receipt, and nothing changes', async () => {
  const stranger = await residentLogin();
  const snap = stateSnapshot();
  const ledger = windowLedger(ZONE, START);
  const otherLedger = windowLedger(ZONE, OTHER_START);
  const [before] = sql(`SELECT status, window_start, agent_id, updated_at FROM booking WHERE reference = ${lit(reference)}`);

  isError(await api('GET', `/api/v1/bookings/${reference}`, { token: stranger.token }), 404, 'not_found');
  isError(await api('POST', `/api/v1/bookings/${reference}/cancel`, { token: stranger.token }), 404, 'not_found');
  isError(await api('POST', `/api/v1/bookings/${reference}/cancel`, { token: stranger.token, body: { reason: 'mine now' } }),
    404, 'not_found');
  isError(await api('POST', `/api/v1/bookings/${reference}/reschedule`, { token: stranger.token, body: { start: OTHER_START } }),
    404, 'not_found');
  const receipt = await api('GET', `/api/v1/bookings/${reference}/receipt.svg`, { token: stranger.token });
  isError(receipt, 404, 'not_found');
  assert.ok(!receipt.text.includes('<svg'));
  const list = await api('GET', '/api/v1/bookings', { token: stranger.token });
  assert.equal(list.status, 200);
  assert.deepEqual(list.json, []);
  // A resident cannot widen the list with ?phone=.
  const byPhone = await api('GET', `/api/v1/bookings?phone=${encodeURIComponent(beneficiaryPhone)}`, { token: stranger.token });
  assert.equal(byPhone.status, 200);
  assert.ok(!byPhone.json.some((b) => b.reference === reference));

  assert.deepEqual(sql(`SELECT status, window_start, agent_id, updated_at FROM booking WHERE reference = ${lit(reference)}`)[0], before);
  assert.deepEqual(windowLedger(ZONE, START), ledger);
  assert.deepEqual(windowLedger(ZONE, OTHER_START), otherLedger);
  assert.deepEqual(stateSnapshot(), snap);
});

test('the beneficiary, signing in with their own phone, can read the booking made for them', async () => {
  const ben = await residentLogin(beneficiaryPhone);
  const one = await api('GET', `/api/v1/bookings/${reference}`, { token: ben.token });
  assert.equal(one.status, 200, one.text);
  assert.equal(one.json.reference, reference);
  assert.equal(one.json.beneficiary.name, 'Sushila Bai');
  const list = await api('GET', '/api/v1/bookings', { token: ben.token });
  assert.ok(list.json.some((b) => b.reference === reference));
  const receipt = await api('GET', `/api/v1/bookings/${reference}/receipt.svg`, { token: ben.token });
  assert.equal(receipt.status, 200);
  // The beneficiary's sign-in did not make a second person for the phone.
  assert.equal(sqlValue(`SELECT count(*) FROM person WHERE phone = ${lit(beneficiaryPhone)}`), '1');
});

test('an operator books for a caller abroad: booker and beneficiary both see it, each in their time zone', async () => {
  const operator = await staffLogin('operator');
  const nri = usPhone();
  const mother = randomPhone();
  const start = windowStart(4, 16);
  const r = await api('POST', '/api/v1/bookings', {
    token: operator,
    body: bookingBody(start, {
      location: ZONES[ZONE],
      address: 'House 9, Gudhiyari, Raipur',
      beneficiary: { name: 'Savitri Sahu', phone: mother, language: 'hi' },
      booker: { name: 'Arjun Sahu', phone: nri, time_zone: 'America/New_York', language: 'en' },
    }),
  });
  assert.equal(r.status, 201, r.text);
  const b = r.json;
  assert.equal(b.booker.phone, nri);
  assert.equal(b.booker.time_zone, 'America/New_York');
  assert.equal(b.beneficiary.phone, mother);
  const instant = Date.parse(start);
  const nyOffset = offsetAt('America/New_York', instant);
  if (new Date(instant).getUTCMonth() === 10) assert.equal(nyOffset, '-05:00'); // November: EST
  assert.equal(b.window_local.booker.time_zone, 'America/New_York');
  assert.ok(b.window_local.booker.start.endsWith(nyOffset), b.window_local.booker.start);
  assert.ok(b.window_local.booker.end.endsWith(nyOffset), b.window_local.booker.end);
  assert.equal(Date.parse(b.window_local.booker.start), instant);
  assert.equal(b.window_local.ist.time_zone, 'Asia/Kolkata');
  assert.ok(b.window_local.ist.start.endsWith('+05:30'), b.window_local.ist.start);
  assert.equal(Date.parse(b.window_local.ist.start), instant);
  assert.equal(Date.parse(b.window_local.ist.end) - instant, 2 * 3600e3);
  // Created by the operator, booked by the caller.
  const [row] = sql(`SELECT b.created_by_role, bk.phone, bk.time_zone, bn.phone FROM booking b
      JOIN person bk ON bk.id = b.booker_id JOIN person bn ON bn.id = b.beneficiary_id WHERE b.reference = ${lit(b.reference)}`);
  assert.deepEqual(row, ['operator', nri, 'America/New_York', mother]);
  // The caller's confirmation is in English with the window in New York time.
  const sms = await lastSms(nri, 'booking_confirmed');
  assert.ok(sms, 'the booker got a confirmation');
  assert.equal(sms.language, 'en');
  assert.ok(sms.body.includes(b.reference));
  assert.ok(sms.body.includes(`UTC${nyOffset}`), sms.body);

  for (const phone of [nri, mother]) {
    const who = await residentLogin(phone);
    const one = await api('GET', `/api/v1/bookings/${b.reference}`, { token: who.token });
    assert.equal(one.status, 200, `${phone}: ${one.text}`);
    assert.equal(one.json.window_local.booker.time_zone, 'America/New_York');
    assert.ok(one.json.window_local.booker.start.endsWith(nyOffset));
    const list = await api('GET', '/api/v1/bookings', { token: who.token });
    assert.ok(list.json.some((x) => x.reference === b.reference), phone);
  }
  // The operator finds it by the caller's phone.
  const found = await api('GET', `/api/v1/bookings?phone=${encodeURIComponent(nri)}`, { token: operator });
  assert.equal(found.status, 200);
  assert.deepEqual(found.json.map((x) => x.reference), [b.reference]);
});

test('without a token every booking route is 401', async () => {
  const snap = stateSnapshot();
  isError(await api('POST', '/api/v1/bookings', { body: bookingBody(START, { location: ZONES[ZONE] }) }), 401, 'unauthenticated');
  isError(await api('GET', '/api/v1/bookings'), 401, 'unauthenticated');
  isError(await api('GET', `/api/v1/bookings/${reference}`), 401, 'unauthenticated');
  isError(await api('GET', `/api/v1/bookings/${reference}/receipt.svg`), 401, 'unauthenticated');
  isError(await api('POST', `/api/v1/bookings/${reference}/cancel`), 401, 'unauthenticated');
  isError(await api('POST', `/api/v1/bookings/${reference}/reschedule`, { body: { start: OTHER_START } }), 401, 'unauthenticated');
  assert.deepEqual(stateSnapshot(), snap);
  assert.equal(sqlValue(`SELECT status FROM booking WHERE reference = ${lit(reference)}`), 'booked');
});

test('agents and committee members cannot book (403), and nothing changes', async () => {
  const snap = stateSnapshot();
  for (const role of ['agent', 'committee']) {
    const token = await staffLogin(role);
    const r = await api('POST', '/api/v1/bookings', {
      token,
      body: bookingBody(START, { location: ZONES[ZONE], booker: { phone: randomPhone(), name: 'X' } }),
    });
    isError(r, 403, 'forbidden');
  }
  // An agent cannot list or cancel bookings either.
  const agent = await staffLogin('agent');
  isError(await api('GET', '/api/v1/bookings', { token: agent }), 403, 'forbidden');
  isError(await api('POST', `/api/v1/bookings/${reference}/cancel`, { token: agent }), 403, 'forbidden');
  assert.deepEqual(stateSnapshot(), snap);
});

test('an operator books only in their own district: a place in another district is 403, and nothing changes', async () => {
  const operator = await staffLogin('operator');
  sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('OST', 'Other', 'अन्य') ON CONFLICT DO NOTHING`);
  const other = sqlValue(`SELECT id FROM district WHERE code = 'OST'`);
  const own = sqlValue(`SELECT coalesce(district_id::text, 'NULL') FROM session
                         WHERE token_hash = sha256(convert_to(${lit(operator)}, 'UTF8'))`);
  const snap = stateSnapshot();
  const body = bookingBody(START, { location: ZONES[ZONE], booker: { name: 'Caller', phone: randomPhone() } });
  sql(`UPDATE session SET district_id = ${other} WHERE token_hash = sha256(convert_to(${lit(operator)}, 'UTF8'))`);
  try {
    const r = await api('POST', '/api/v1/bookings', { token: operator, body });
    isError(r, 403, 'other_district');
    assert.match(r.json.error.message, /own district/);
  } finally {
    sql(`UPDATE session SET district_id = ${own} WHERE token_hash = sha256(convert_to(${lit(operator)}, 'UTF8'))`);
  }
  assert.deepEqual(stateSnapshot(), snap);
});
