// Cancel and reschedule: the unit goes back to (or moves in) the ledger with the change,
// events and messages are recorded, refused changes change nothing. Zone RPR-Z3, day +5.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, ZONES, bookingBody, isError, ledgerMismatches, lit, randomPhone, residentLogin, setWindowFree, sql, sqlValue,
  staffLogin, stateSnapshot, windowLedger, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z3';
const W = { h09: windowStart(5, 9), h11: windowStart(5, 11), h14: windowStart(5, 14), h16: windowStart(5, 16) };
const DEVANAGARI = /[\u0900-\u097F]/;
let resident;

before(async () => {
  for (const start of [W.h09, W.h11]) setWindowFree(ZONE, start, [5, 5, 5, 5]);
  resident = await residentLogin();
});

// A resident's booking for someone else: the booker reads English, the beneficiary Hindi.
async function book(start, token = resident.token) {
  const r = await api('POST', '/api/v1/bookings', {
    token,
    body: bookingBody(start, {
      location: ZONES[ZONE],
      address: 'House 31, Shankar Nagar, Raipur',
      beneficiary: { name: 'Ramvati Verma', phone: randomPhone(), language: 'hi' },
      booker: { language: 'en' },
    }),
  });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

const unit = (reference) => {
  const [row] = sql(`SELECT w.booked, w.capacity, a.code FROM booking b
      JOIN agent_window w ON w.agent_id = b.agent_id AND w.starts_at = b.window_start
      JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(reference)}`);
  return { booked: Number(row[0]), capacity: Number(row[1]), agent: row[2] };
};
const events = (reference) => sql(`SELECT e.action, coalesce(e.from_status, ''), e.to_status, e.actor_role, coalesce(e.note, '')
    FROM booking_event e JOIN booking b ON b.id = e.booking_id WHERE b.reference = ${lit(reference)} ORDER BY e.id`);
const messages = (reference, template) => sql(`SELECT m.to_phone, m.language, m.body FROM sms_outbox m
    JOIN booking b ON b.id = m.booking_id WHERE b.reference = ${lit(reference)} AND m.template = ${lit(template)} ORDER BY m.to_phone`);
const bookingRow = (reference) => sql(`SELECT status, window_start, window_end, agent_id, updated_at FROM booking
    WHERE reference = ${lit(reference)}`)[0];

test('a booking for someone else confirms to both, each in their own language', async () => {
  const b = await book(W.h09);
  const sms = messages(b.reference, 'booking_confirmed');
  assert.equal(sms.length, 2, JSON.stringify(sms));
  const toBen = sms.find((m) => m[0] === b.beneficiary.phone);
  const toBooker = sms.find((m) => m[0] === resident.phone);
  assert.ok(toBen && toBooker, JSON.stringify(sms));
  assert.equal(toBen[1], 'hi');
  assert.match(toBen[2], DEVANAGARI);
  assert.equal(toBooker[1], 'en');
  assert.doesNotMatch(toBooker[2], DEVANAGARI);
  for (const m of sms) assert.ok(m[2].includes(b.reference), m[2]);
  // Booked for oneself (an operator booking without a booker): one message.
  const operator = await staffLogin('operator');
  const own = await api('POST', '/api/v1/bookings', {
    token: operator, body: bookingBody(W.h09, { location: ZONES[ZONE] }) });
  assert.equal(own.status, 201, own.text);
  assert.equal(messages(own.json.reference, 'booking_confirmed').length, 1);
});

test('cancel gives the unit back, records the event and tells both; a second cancel is 409', async () => {
  const b = await book(W.h09);
  const held = unit(b.reference);
  const windowBefore = windowLedger(ZONE, W.h09);
  const r = await api('POST', `/api/v1/bookings/${b.reference}/cancel`, { token: resident.token, body: { reason: 'travelling' } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'cancelled');
  assert.equal(sqlValue(`SELECT status FROM booking WHERE reference = ${lit(b.reference)}`), 'cancelled');
  const [after] = sql(`SELECT w.booked FROM agent_window w JOIN agent a ON a.id = w.agent_id
      WHERE a.code = ${lit(held.agent)} AND w.starts_at = ${lit(W.h09)}::timestamptz`);
  assert.equal(Number(after[0]), held.booked - 1);
  assert.equal(windowLedger(ZONE, W.h09).booked, windowBefore.booked - 1);
  assert.equal(ledgerMismatches(), 0);
  assert.deepEqual(events(b.reference), [
    ['created', '', 'booked', 'resident', ''],
    ['cancelled', 'booked', 'cancelled', 'resident', 'travelling'],
  ]);
  assert.deepEqual(r.json.events.map((e) => e.status), ['booked', 'cancelled']);
  const sms = messages(b.reference, 'booking_cancelled');
  assert.equal(sms.length, 2, JSON.stringify(sms));
  assert.deepEqual(sms.map((m) => m[0]).sort(), [b.beneficiary.phone, resident.phone].sort());
  assert.equal(sms.find((m) => m[0] === b.beneficiary.phone)[1], 'hi');
  assert.match(sms.find((m) => m[0] === b.beneficiary.phone)[2], DEVANAGARI);
  assert.equal(sms.find((m) => m[0] === resident.phone)[1], 'en');
  // The cancellation, its event and its audit entry carry one instant.
  assert.equal(sqlValue(`SELECT count(DISTINCT t) FROM (
      SELECT updated_at AS t FROM booking WHERE reference = ${lit(b.reference)}
      UNION ALL SELECT e.at FROM booking_event e JOIN booking b ON b.id = e.booking_id
                 WHERE b.reference = ${lit(b.reference)} AND e.action = 'cancelled'
      UNION ALL SELECT at FROM audit_log WHERE object_ref = ${lit(b.reference)} AND action = 'booking.cancelled') x`), '1');

  const snap = stateSnapshot();
  const again = await api('POST', `/api/v1/bookings/${b.reference}/cancel`, { token: resident.token });
  isError(again, 409, 'wrong_state');
  assert.deepEqual(stateSnapshot(), snap);
  assert.equal(events(b.reference).length, 2);
  assert.equal(windowLedger(ZONE, W.h09).booked, windowBefore.booked - 1);
  // Nor can a cancelled booking be rescheduled.
  isError(await api('POST', `/api/v1/bookings/${b.reference}/reschedule`, { token: resident.token, body: { start: W.h11 } }),
    409, 'wrong_state');
  assert.deepEqual(stateSnapshot(), snap);
});

test('a cancelled unit can be booked again', async () => {
  setWindowFree(ZONE, W.h16, [1]);
  const first = await book(W.h16);
  const full = await api('POST', '/api/v1/bookings', {
    token: resident.token, body: bookingBody(W.h16, { location: ZONES[ZONE] }) });
  isError(full, 409, 'slot_full');
  const operator = await staffLogin('operator');
  const c = await api('POST', `/api/v1/bookings/${first.reference}/cancel`, { token: operator });
  assert.equal(c.status, 200, c.text);
  assert.equal(events(first.reference)[1][3], 'operator');
  const second = await book(W.h16);
  assert.equal(second.status, 'booked');
  const l = windowLedger(ZONE, W.h16);
  assert.equal(l.booked, l.capacity);
  assert.equal(ledgerMismatches(), 0);
});

test('reschedule moves the unit from the old window to the new one and tells both', async () => {
  const b = await book(W.h09);
  const oldWin = windowLedger(ZONE, W.h09);
  const newWin = windowLedger(ZONE, W.h11);
  const r = await api('POST', `/api/v1/bookings/${b.reference}/reschedule`, { token: resident.token, body: { start: W.h11 } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'booked');
  assert.equal(Date.parse(r.json.window.start), Date.parse(W.h11));
  assert.equal(Date.parse(r.json.window.end), Date.parse(W.h11) + 2 * 3600e3);
  assert.equal(windowLedger(ZONE, W.h09).booked, oldWin.booked - 1);
  assert.equal(windowLedger(ZONE, W.h11).booked, newWin.booked + 1);
  assert.equal(Date.parse(sqlValue(`SELECT rfc3339(window_start, 'UTC') FROM booking WHERE reference = ${lit(b.reference)}`)),
    Date.parse(W.h11));
  assert.equal(ledgerMismatches(), 0);
  assert.deepEqual(events(b.reference).map((e) => e.slice(0, 3)), [['created', '', 'booked'], ['rescheduled', 'booked', 'booked']]);
  const sms = messages(b.reference, 'booking_rescheduled');
  assert.equal(sms.length, 2);
  assert.deepEqual(sms.map((m) => m[1]).sort(), ['en', 'hi']);
});

test('reschedule to a full window is 409 slot_full and nothing changes', async () => {
  const b = await book(W.h09);
  setWindowFree(ZONE, W.h14, []); // every unit of 14:00 taken
  const row = bookingRow(b.reference);
  const held = unit(b.reference);
  const full = windowLedger(ZONE, W.h14);
  assert.equal(full.booked, full.capacity);
  const snap = stateSnapshot();
  const r = await api('POST', `/api/v1/bookings/${b.reference}/reschedule`, { token: resident.token, body: { start: W.h14 } });
  isError(r, 409, 'slot_full');
  assert.deepEqual(bookingRow(b.reference), row);
  assert.deepEqual(unit(b.reference), held);
  assert.deepEqual(windowLedger(ZONE, W.h14), full);
  assert.deepEqual(stateSnapshot(), snap);
  assert.equal(events(b.reference).length, 1);
});

test('reschedule to its own window, to no window or to the past is refused and nothing changes', async () => {
  const b = await book(W.h09);
  const row = bookingRow(b.reference);
  const snap = stateSnapshot();
  const ledger = windowLedger(ZONE, W.h09);
  const move = (start) => api('POST', `/api/v1/bookings/${b.reference}/reschedule`, { token: resident.token, body: { start } });
  isError(await move(W.h09), 409, 'same_window');
  isError(await move(W.h09.replace('T09:00:00+05:30', 'T03:30:00.000Z')), 409, 'same_window'); // the same instant
  isError(await move(windowStart(5, 10)), 422, 'invalid_window');
  isError(await move(windowStart(-1, 9)), 422, 'window_closed');
  isError(await move('soon'), 400, 'invalid_field');
  isError(await api('POST', `/api/v1/bookings/${b.reference}/reschedule`, { token: resident.token, body: { start: W.h11, x: 1 } }),
    400, 'invalid_field');
  assert.deepEqual(bookingRow(b.reference), row);
  assert.deepEqual(windowLedger(ZONE, W.h09), ledger);
  assert.deepEqual(stateSnapshot(), snap);
});
