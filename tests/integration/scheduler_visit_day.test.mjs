// The visit-day notice and the evening-before reminder, driven by `bin/mitan worker --once`
// with the injectable clock (MITAN_NOW). Zone RPR-Z4, day +11 (no other test books it).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, DATA, ZONES, bookingBody, istDate, lit, randomPhone, residentLogin, setWindowFree, sql, sqlValue, staffLogin,
  windowStart,
} from './lib.mjs';
import { visitCodeHash, workerOnce, workersOnceTogether } from './fake_gateway.mjs';

const ZONE = 'RPR-Z4';
const DAY = istDate(11);
const W09 = windowStart(11, 9);
const W14 = windowStart(11, 14);
const at = (day, hhmm) => `${day}T${hhmm}:00+05:30`;
const DEVANAGARI = /[\u0900-\u097F]/;
let resident;
const b = {};

const messages = (reference, template) => sql(`SELECT m.to_phone, m.language, m.body, m.status, m.variables::text
    FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
   WHERE b.reference = ${lit(reference)} AND m.template = ${lit(template)} ORDER BY m.to_phone`)
  .map(([to, language, body, status, vars]) => ({ to, language, body, status, vars: JSON.parse(vars) }));
const status = (reference) => sqlValue(`SELECT status FROM booking WHERE reference = ${lit(reference)}`);

before(async () => {
  for (const start of [W09, W14]) setWindowFree(ZONE, start, [2, 2, 2]);
  resident = await residentLogin();
  // A son in New York books for his mother (Hindi); an operator books for a caller; a
  // third booking is cancelled before the day.
  const r1 = await api('POST', '/api/v1/bookings', { token: resident.token, body: bookingBody(W09, {
    location: ZONES[ZONE], address: 'House 4, Tatibandh, Raipur',
    beneficiary: { name: 'Shanti Bai Sahu', phone: randomPhone(), language: 'hi' },
    booker: { name: 'Arjun Sahu', time_zone: 'America/New_York', language: 'en' } }) });
  assert.equal(r1.status, 201, r1.text);
  b.nri = r1.json;
  const operator = await staffLogin('operator');
  const r2 = await api('POST', '/api/v1/bookings', { token: operator, body: bookingBody(W14, {
    location: ZONES[ZONE], service: 'residence_certificate', address: 'House 9, Tatibandh, Raipur' }) });
  assert.equal(r2.status, 201, r2.text);
  b.local = r2.json;
  const r3 = await api('POST', '/api/v1/bookings', { token: resident.token, body: bookingBody(W14, {
    location: ZONES[ZONE], address: 'House 5, Tatibandh, Raipur' }) });
  assert.equal(r3.status, 201, r3.text);
  b.cancelled = r3.json;
  const c = await api('POST', `/api/v1/bookings/${b.cancelled.reference}/cancel`, { token: resident.token });
  assert.equal(c.status, 200, c.text);
});

test('the evening before, each recipient gets one reminder in their own language and time zone', () => {
  const dayBefore = istDate(10);
  workerOnce({ MITAN_NOW: at(dayBefore, '17:55') });
  assert.equal(messages(b.nri.reference, 'visit_reminder').length, 0, 'not before 18:00');
  workerOnce({ MITAN_NOW: at(dayBefore, '18:05') });
  workerOnce({ MITAN_NOW: at(dayBefore, '18:06') });
  const sms = messages(b.nri.reference, 'visit_reminder');
  assert.equal(sms.length, 2, JSON.stringify(sms));
  const toBen = sms.find((m) => m.to === b.nri.beneficiary.phone);
  const toBooker = sms.find((m) => m.to === resident.phone);
  assert.equal(toBen.language, 'hi');
  assert.match(toBen.body, DEVANAGARI);
  assert.match(toBen.vars.window, /09:00–11:00 IST$/);
  assert.equal(toBooker.language, 'en');
  assert.match(toBooker.vars.window, /22:30–00:30 UTC-05:00$/); // New York, the evening before
  for (const m of sms) assert.equal(m.status, 'sent');
  assert.equal(messages(b.local.reference, 'visit_reminder').length, 1);
  assert.equal(messages(b.cancelled.reference, 'visit_reminder').length, 0);
  assert.equal(status(b.nri.reference), 'booked');
});

test('nothing is announced before the notice hour', () => {
  workerOnce({ MITAN_NOW: at(DAY, '06:55') });
  assert.equal(messages(b.nri.reference, 'visit_day').length, 0);
  assert.equal(status(b.nri.reference), 'booked');
  assert.equal(sqlValue(`SELECT visit_code_hash IS NULL FROM booking WHERE reference = ${lit(b.nri.reference)}`), 't');
});

test('at 07:00 IST each visit gets one notice with the agent and a visit code, even when run twice', async () => {
  // Two workers at once, then a third run: SKIP LOCKED and the state check keep it to one.
  await workersOnceTogether(2, { MITAN_NOW: at(DAY, '07:05') });
  workerOnce({ MITAN_NOW: at(DAY, '07:05') });
  for (const booking of [b.nri, b.local]) {
    const ref = booking.reference;
    assert.equal(status(ref), 'assigned');
    const sms = messages(ref, 'visit_day');
    const recipients = booking === b.nri ? [b.nri.beneficiary.phone, resident.phone] : [b.local.beneficiary.phone];
    assert.deepEqual(sms.map((m) => m.to).sort(), recipients.sort(), JSON.stringify(sms));
    const agent = sqlValue(`SELECT a.name FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(ref)}`);
    const stored = sqlValue(`SELECT encode(visit_code_hash, 'hex') FROM booking WHERE reference = ${lit(ref)}`);
    const codes = new Set();
    for (const m of sms) {
      assert.ok(m.body.includes(agent), `agent ${agent} missing: ${m.body}`);
      assert.ok(m.body.includes(ref), m.body);
      const code = m.body.match(/(?<!\d)(\d{6})(?!\d)/)?.[1];
      assert.ok(code, m.body);
      assert.equal(m.vars.code, code);
      assert.equal(visitCodeHash(DATA, ref, code), stored, 'the code in the SMS is the one whose hash is stored');
      assert.equal(m.status, 'sent');
      codes.add(code);
    }
    assert.equal(codes.size, 1, 'one code per visit, to every recipient');
    // One event and one audit entry, by the system.
    assert.deepEqual(sql(`SELECT e.action, e.from_status, e.to_status, e.actor_role FROM booking_event e
        JOIN booking b ON b.id = e.booking_id WHERE b.reference = ${lit(ref)} AND e.action = 'assigned'`),
    [['assigned', 'booked', 'assigned', 'system']]);
    assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(ref)} AND action = 'booking.assigned'`), '1');
  }
  const nri = messages(b.nri.reference, 'visit_day');
  assert.equal(nri.find((m) => m.to === resident.phone).language, 'en');
  assert.match(nri.find((m) => m.to === b.nri.beneficiary.phone).body, DEVANAGARI);
  assert.equal(messages(b.cancelled.reference, 'visit_day').length, 0);
  assert.equal(status(b.cancelled.reference), 'cancelled');
  // The resident sees the agent on the booking and the notice in the log driver's view.
  const mine = await api('GET', `/api/v1/bookings/${b.nri.reference}`, { token: resident.token });
  assert.equal(mine.status, 200);
  assert.equal(mine.json.agent.name,
    sqlValue(`SELECT a.name FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(b.nri.reference)}`));
  const dev = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(b.nri.beneficiary.phone)}`);
  assert.ok(dev.json.some((m) => m.template === 'visit_day' && m.body.includes(mine.json.agent.name)));
});

test('a visit-day job run again (another job for the same day) sends nothing more', () => {
  const before = sqlValue(`SELECT count(*) FROM sms_outbox WHERE template = 'visit_day'`);
  const events = sqlValue(`SELECT count(*) FROM booking_event WHERE action = 'assigned'`);
  sql(`INSERT INTO job (kind, payload, dedupe_key, run_at, created_at)
       SELECT 'visit_day', jsonb_build_object('district_id', id, 'date', ${lit(DAY)}), 'test-again:' || md5(random()::text),
              ${lit(at(DAY, '07:00'))}, now() FROM district WHERE code = 'RPR'`);
  workerOnce({ MITAN_NOW: at(DAY, '07:06') });
  assert.equal(sqlValue(`SELECT count(*) FROM sms_outbox WHERE template = 'visit_day'`), before);
  assert.equal(sqlValue(`SELECT count(*) FROM booking_event WHERE action = 'assigned'`), events);
  assert.equal(sqlValue(`SELECT count(*) FROM job WHERE dedupe_key LIKE 'test-again:%' AND status = 'done'`), '1');
});

test('a visit booked after the notice hour is announced by the next sweep', async () => {
  // Booked at 07:10 for 14:00 the same day (the server's clock moves there and back).
  const { setClock } = await import('./lib.mjs');
  await setClock(at(DAY, '07:10'));
  try {
    const r = await api('POST', '/api/v1/bookings', { token: resident.token,
      body: bookingBody(W14, { location: ZONES[ZONE], address: 'House 6, Tatibandh, Raipur' }) });
    assert.equal(r.status, 201, r.text);
    workerOnce({ MITAN_NOW: at(DAY, '07:12') }); // same 15-minute sweep as before: already done
    assert.equal(status(r.json.reference), 'booked');
    workerOnce({ MITAN_NOW: at(DAY, '07:16') });
    assert.equal(status(r.json.reference), 'assigned');
    assert.equal(messages(r.json.reference, 'visit_day').length, 2);
  } finally {
    await setClock(new Date().toISOString());
  }
});
