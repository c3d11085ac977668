// SLA: each service's limit runs from document collection; the zone's nodal officer is
// reminded at 80 %, the case escalates to the district at 100 % (the worker's clock is
// MITAN_NOW), both visible at GET /api/v1/admin/sla; a resident's reminder, once a day.
// Zones RPR-Z5 and RPR-Z6, day +7; document collection on day +30 (no other test's clock).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, demoAccounts, ZONES, bookingBody, isError, istDate, lit, randomPhone, residentLogin, setClock, setWindowFree, sql, sqlValue,
  staffLogin, windowStart,
} from './lib.mjs';
import { workerOnce } from './fake_gateway.mjs';

const START = windowStart(7, 16);
const T0 = Date.parse(`${istDate(30)}T10:00:00+05:30`);
const DAY = 86400e3;
const phones = { z5: randomPhone(), z6: randomPhone(), district: randomPhone() };
const cases = {};
let sla; // days of income_certificate
let officer;
const residents = {};

const iso = (ms) => new Date(ms).toISOString();
const alerts = (ref) => sql(`SELECT a.kind, a.level, s.login FROM sla_alert a JOIN booking b ON b.id = a.booking_id
    LEFT JOIN staff s ON s.id = a.staff_id WHERE b.reference = ${lit(ref)} ORDER BY a.id`);
// Messages to an officer about one case (other tests' open cases are scanned too).
const officerSms = (phone, template, ref) => sql(`SELECT m.language, m.body FROM sms_outbox m
    JOIN booking b ON b.id = m.booking_id
   WHERE m.to_phone = ${lit(phone)} AND m.template = ${lit(template)} AND b.reference = ${lit(ref)} ORDER BY m.id`);

async function book(zone, resident, booker) {
  const r = await api('POST', '/api/v1/bookings', { token: resident.token, body: bookingBody(START, {
    location: ZONES[zone], address: `House 2, ${zone}, Raipur`,
    beneficiary: { name: 'Phoolbasan Bai', phone: randomPhone(), language: 'hi' }, ...(booker ? { booker } : {}) }) });
  assert.equal(r.status, 201, r.text);
  return r.json;
}

// The agent collected the documents at `at` (the agent API's part, done here in SQL).
function collect(ref, at) {
  sql(`UPDATE booking SET status = 'documents_collected' WHERE reference = ${lit(ref)};
       INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, at)
       SELECT id, district_id, 'status', 'booked', 'documents_collected', 'agent', ${lit(iso(at))}
         FROM booking WHERE reference = ${lit(ref)}`);
}
// The office's step at `at`, through the API with the application clock moved there (and a
// session made then: one made today would have expired by that day).
async function moveTo(ref, status, at) {
  await setClock(iso(at));
  try {
    const a = demoAccounts().find((x) => x.role === 'officer');
    const login = await api('POST', '/api/v1/auth/login', { body: { login: a.login, password: a.password } });
    assert.equal(login.status, 200, login.text);
    const r = await api('POST', `/api/v1/admin/bookings/${ref}/status`, { token: login.json.token, body: { status } });
    assert.equal(r.status, 200, r.text);
  } finally {
    await setClock(new Date().toISOString());
  }
}

before(async () => {
  for (const z of ['RPR-Z5', 'RPR-Z6']) setWindowFree(z, START, [3, 3, 3]);
  sla = Number(sqlValue(`SELECT sla_days FROM service WHERE code = 'income_certificate'`));
  // A nodal officer per zone (Hindi in Z5, English in Z6); the district's officer (the demo
  // account, no zone) reads English first.
  sql(`INSERT INTO staff (login, password_hash, role, name, district_id, zone_id, phone, language)
       SELECT 'sla-' || z.code || '-' || ${lit(phones.z5.slice(-6))}, '!', 'officer', 'Nodal officer ' || z.code,
              z.district_id, z.id, CASE z.code WHEN 'RPR-Z5' THEN ${lit(phones.z5)} ELSE ${lit(phones.z6)} END,
              CASE z.code WHEN 'RPR-Z5' THEN 'hi' ELSE 'en' END
         FROM zone z WHERE z.code IN ('RPR-Z5', 'RPR-Z6');
       UPDATE staff SET phone = ${lit(phones.district)}, language = 'en' WHERE login = 'officer'`);
  officer = await staffLogin('officer');
  residents.en = await residentLogin();
  residents.hi = await residentLogin();
  cases.a = await book('RPR-Z5', residents.en, { language: 'en', time_zone: 'Europe/London' });
  cases.b = await book('RPR-Z6', residents.hi);
  collect(cases.a.reference, T0);
  collect(cases.b.reference, T0 + DAY); // a day later
});

after(async () => {
  await setClock(new Date().toISOString());
});

test('before 80 % nothing is sent; the case is on time in the officer view', async () => {
  workerOnce({ MITAN_NOW: iso(T0 + 0.5 * sla * DAY) });
  assert.deepEqual(alerts(cases.a.reference), []);
  const r = await api('GET', '/api/v1/admin/sla', { token: officer });
  assert.equal(r.status, 200, r.text);
  const c = r.json.find((x) => x.reference === cases.a.reference);
  assert.ok(c, r.text.slice(0, 300));
  assert.equal(c.state, 'on_time');
  assert.equal(c.status, 'documents_collected');
  assert.equal(Date.parse(c.due_at), T0 + sla * DAY);
  assert.equal(Date.parse(c.started_at), T0);
  assert.equal(c.officer.name, 'Nodal officer RPR-Z5');
});

test('at 80 % the zone officer is reminded, once', async () => {
  workerOnce({ MITAN_NOW: iso(T0 + 0.81 * sla * DAY) });
  workerOnce({ MITAN_NOW: iso(T0 + 0.85 * sla * DAY) });
  assert.deepEqual(alerts(cases.a.reference), [['reminder', 'zone', `sla-RPR-Z5-${phones.z5.slice(-6)}`]]);
  const sms = officerSms(phones.z5, 'sla_reminder', cases.a.reference);
  assert.equal(sms.length, 1, JSON.stringify(sms));
  assert.equal(sms[0][0], 'hi');
  assert.ok(sms[0][1].includes(cases.a.reference));
  assert.deepEqual(alerts(cases.b.reference), [], 'B started a day later');
  workerOnce({ MITAN_NOW: iso(T0 + DAY + 0.81 * sla * DAY) });
  assert.deepEqual(alerts(cases.b.reference).map((a) => a[0]), ['reminder']);
  assert.equal(officerSms(phones.z6, 'sla_reminder', cases.b.reference)[0][0], 'en');
  const r = await api('GET', '/api/v1/admin/sla?state=reminded', { token: officer });
  assert.ok(r.json.some((x) => x.reference === cases.a.reference));
  assert.ok(r.json.every((x) => x.state === 'reminded'));
});

test('a status change tells the resident, and keeps the limit running', async () => {
  await moveTo(cases.a.reference, 'submitted', T0 + 0.9 * sla * DAY);
  const sms = sql(`SELECT m.to_phone, m.language, m.body FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
      WHERE b.reference = ${lit(cases.a.reference)} AND m.template = 'booking_status' ORDER BY m.language`);
  assert.equal(sms.length, 2, JSON.stringify(sms));
  assert.deepEqual(sms.map((m) => m[1]), ['en', 'hi']);
  assert.match(sms[0][2], /Submitted to the department/);
  assert.equal(sqlValue(`SELECT count(*) FROM sla_cases(0) WHERE reference = ${lit(cases.a.reference)}`), '1');
});

test('at 100 % the case escalates to the district, once, and shows as escalated', async () => {
  workerOnce({ MITAN_NOW: iso(T0 + 1.01 * sla * DAY) });
  workerOnce({ MITAN_NOW: iso(T0 + 1.02 * sla * DAY) });
  assert.deepEqual(alerts(cases.a.reference).map((a) => a.slice(0, 2)), [['reminder', 'zone'], ['escalation', 'district']]);
  assert.equal(alerts(cases.a.reference)[1][2], 'officer');
  const esc = officerSms(phones.district, 'sla_escalated', cases.a.reference);
  assert.equal(esc.length, 1);
  assert.equal(esc[0][0], 'en');
  // The district officer now reads Hindi: B's escalation comes in Hindi.
  sql(`UPDATE staff SET language = 'hi' WHERE login = 'officer'`);
  workerOnce({ MITAN_NOW: iso(T0 + DAY + 1.01 * sla * DAY) });
  assert.deepEqual(officerSms(phones.district, 'sla_escalated', cases.b.reference).map((m) => m[0]), ['hi']);
  const r = await api('GET', '/api/v1/admin/sla?state=escalated', { token: officer });
  assert.equal(r.status, 200);
  const c = r.json.find((x) => x.reference === cases.a.reference);
  assert.ok(c, r.text.slice(0, 300));
  assert.deepEqual(c.alerts.map((a) => [a.kind, a.level]), [['reminder', 'zone'], ['escalation', 'district']]);
  isError(await api('GET', '/api/v1/admin/sla?state=late', { token: officer }), 400, 'invalid_field');
  isError(await api('GET', '/api/v1/admin/sla', { token: residents.en.token }), 403, 'forbidden');
});

test('a resident reminds the officer, at most once a day', async () => {
  const ref = cases.a.reference;
  const r = await api('POST', `/api/v1/bookings/${ref}/remind`, { token: residents.en.token, body: { note: 'Please hurry' } });
  assert.equal(r.status, 202, r.text);
  assert.equal(r.json.reference, ref);
  assert.equal(r.json.officer, 'Nodal officer RPR-Z5');
  assert.equal(Date.parse(r.json.next_reminder_at) - Date.parse(r.json.reminded_at), DAY);
  assert.equal(officerSms(phones.z5, 'sla_resident_reminder', ref).length, 1);
  const ack = sql(`SELECT language, body FROM sms_outbox WHERE to_phone = ${lit(residents.en.phone)} AND template = 'reminder_ack'`);
  assert.deepEqual(ack.map((m) => m[0]), ['en']);
  const again = await api('POST', `/api/v1/bookings/${ref}/remind`, { token: residents.en.token });
  isError(again, 429, 'too_many_requests');
  const wait = Number(again.headers.get('retry-after'));
  assert.ok(wait > 86000 && wait <= 86400, String(wait));
  // Not the owner: as if it did not exist. Staff cannot use the resident's button.
  isError(await api('POST', `/api/v1/bookings/${ref}/remind`, { token: residents.hi.token }), 404, 'not_found');
  isError(await api('POST', `/api/v1/bookings/${ref}/remind`, { token: officer }), 403, 'forbidden');
  // The other resident (Hindi) on their own case: acknowledged in Hindi, officer in English.
  const b = await api('POST', `/api/v1/bookings/${cases.b.reference}/remind`, { token: residents.hi.token });
  assert.equal(b.status, 202, b.text);
  assert.equal(sqlValue(`SELECT language FROM sms_outbox WHERE to_phone = ${lit(residents.hi.phone)} AND template = 'reminder_ack'`), 'hi');
  assert.equal(officerSms(phones.z6, 'sla_resident_reminder', cases.b.reference)[0][0], 'en');
  // The officer sees it with the case.
  const view = await api('GET', '/api/v1/admin/sla', { token: officer });
  const c = view.json.find((x) => x.reference === ref);
  assert.deepEqual(c.alerts.filter((a) => a.kind === 'resident').map((a) => a.note), ['Please hurry']);
  // A day later it is allowed again (the server's clock moves a day and back).
  await setClock(iso(Date.now() + DAY + 60e3));
  try {
    const later = await api('POST', `/api/v1/bookings/${ref}/remind`, { token: residents.en.token });
    assert.equal(later.status, 202, later.text);
  } finally {
    await setClock(new Date().toISOString());
  }
  assert.equal(sqlValue(`SELECT count(*) FROM sla_alert a JOIN booking b ON b.id = a.booking_id
      WHERE b.reference = ${lit(ref)} AND a.kind = 'resident'`), '2');
});

test('closed cases leave the officer view; a cancelled booking cannot be reminded about', async () => {
  await moveTo(cases.a.reference, 'certificate_ready', T0 + 1.1 * sla * DAY);
  const r = await api('GET', '/api/v1/admin/sla', { token: officer });
  assert.ok(!r.json.some((x) => x.reference === cases.a.reference));
  const fresh = await book('RPR-Z5', residents.en);
  const c = await api('POST', `/api/v1/bookings/${fresh.reference}/cancel`, { token: residents.en.token });
  assert.equal(c.status, 200, c.text);
  isError(await api('POST', `/api/v1/bookings/${fresh.reference}/remind`, { token: residents.en.token }), 409, 'wrong_state');
});
