// Every SMS template, in both languages, rendered by the real code paths, checked against
// its registered text: every {#var#} filled, none left over, each variable at most 30
// characters (DLT; the tracking link {#url#} is DLT's URL type, at most 100). Runs after the
// scheduler tests (visit-day, reminders, SLA), whose messages it checks too.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, ZONES, bookingBody, lit, randomAddr, randomPhone, residentLogin, setWindowFree, sql, windowStart,
} from './lib.mjs';

const OURS = ['otp', 'booking_confirmed', 'booking_rescheduled', 'booking_cancelled', 'visit_day', 'booking_reassigned',
  'booking_status', 'visit_reminder', 'sla_reminder', 'sla_escalated', 'sla_resident_reminder', 'reminder_ack'];
const chars = (s) => [...s].length;
const placeholders = (text) => [...text.matchAll(/\{#([a-z_]+)#\}/g)].map((m) => m[1]);
const render = (text, vars) => text.replace(/\{#([a-z_]+)#\}/g, (_, k) => vars[k] ?? `{#${k}#}`);

before(async () => {
  // OTP in Hindi, and a booking by a son abroad for his mother: confirmed, moved, cancelled.
  const phone = randomPhone();
  const otp = await api('POST', '/api/v1/auth/otp', { body: { phone, language: 'hi' }, headers: { 'X-Forwarded-For': randomAddr() } });
  assert.equal(otp.status, 202, otp.text);
  const zone = 'RPR-Z6';
  const [w1, w2] = [windowStart(8, 9), windowStart(8, 14)];
  for (const w of [w1, w2]) setWindowFree(zone, w, [2, 2, 2]);
  const resident = await residentLogin();
  const r = await api('POST', '/api/v1/bookings', { token: resident.token, body: bookingBody(w1, {
    service: 'caste_certificate_sc', location: ZONES[zone], address: 'House 1, Telibandha, Raipur',
    beneficiary: { name: 'Sukhmati Bai Dhruw', phone: randomPhone(), language: 'hi' },
    booker: { language: 'en', time_zone: 'Asia/Dubai' } }) });
  assert.equal(r.status, 201, r.text);
  const ref = r.json.reference;
  assert.equal((await api('POST', `/api/v1/bookings/${ref}/reschedule`, { token: resident.token, body: { start: w2 } })).status, 200);
  // An officer's reassignment after the visit-day notice (the officers' API calls this).
  sql(`SELECT booking_notify_ex(id, 'booking_reassigned', now(), NULL, 'test', jsonb_build_object('code', '804215'))
         FROM booking WHERE reference = ${lit(ref)}`);
  assert.equal((await api('POST', `/api/v1/bookings/${ref}/cancel`, { token: resident.token })).status, 200);
});

test('the documents to keep ready fit in 30 characters as whole names', () => {
  const [fit, list, whole, empty] = sql(`SELECT
      sms_fit('Certified copy of land records (khasra, B-1)', 30),
      sms_fit_list(ARRAY['Aadhaar card', 'Ration card', 'Passport size photograph', 'Affidavit'], 30),
      sms_fit_list(ARRAY['Aadhaar card', 'Ration card'], 30),
      sms_fit_list(ARRAY[]::text[], 30)`)[0];
  assert.equal(fit, 'Certified copy of land…');
  assert.equal(list, 'Aadhaar card, Ration card, …');
  assert.equal(whole, 'Aadhaar card, Ration card');
  assert.equal(empty, '');
  // In every confirmation and reminder: whole names of the service's documents, in order.
  const rows = sql(`SELECT m.language, m.variables->>'docs',
        (SELECT json_agg(CASE WHEN m.language = 'hi' THEN d.name_hi ELSE d.name_en END ORDER BY d.position, d.code)
           FROM service_document d WHERE d.service_code = b.service_code AND d.mandatory)::text
      FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
     WHERE m.template IN ('booking_confirmed', 'visit_reminder') AND m.dedupe_key NOT LIKE 'test%'`);
  assert.ok(rows.length > 0);
  let cut = 0;
  for (const [lang, docs, namesJson] of rows) {
    const names = JSON.parse(namesJson) || [];
    assert.ok(chars(docs) <= 30, `${lang}: ${docs}`);
    if (docs === names.join(', ')) continue;
    if (docs.endsWith(', …')) {
      const shown = docs.slice(0, -3).split(', ');
      assert.deepEqual(shown, names.slice(0, shown.length), `${lang}: whole names in order: ${docs}`);
      assert.ok(chars(names.slice(0, shown.length + 1).join(', ') + ', …') > 30, `one more would have fitted: ${docs}`);
      cut++;
    } else {
      assert.ok(docs.endsWith('…') && chars(names[0]) > 27, `only a first name too long is cut: ${docs}`);
    }
  }
  assert.ok(cut > 0, 'some list was long enough to be cut');
});

test('every template in both languages renders from its registered text with every variable filled', () => {
  const registered = new Map(sql(`SELECT code || ':' || language, body FROM sms_template`).map(([k, b]) => [k, b]));
  for (const code of OURS) for (const lang of ['en', 'hi']) assert.ok(registered.has(`${code}:${lang}`), `${code}:${lang} registered`);
  const seen = new Set();
  const rows = sql(`SELECT template, language, variables::text, body FROM sms_outbox
                     WHERE dedupe_key NOT LIKE 'test%' AND body <> ''`);
  for (const [template, language, varsText, body] of rows) {
    const text = registered.get(`${template}:${language}`);
    assert.ok(text, `${template}:${language} has no registered text`);
    const vars = JSON.parse(varsText);
    for (const name of placeholders(text)) {
      const v = vars[name];
      assert.equal(typeof v, 'string', `${template}:${language}: {#${name}#} has no value`);
      assert.ok(v.length > 0, `${template}:${language}: {#${name}#} is empty`);
      const max = name === 'url' ? 100 : 30;
      assert.ok(chars(v) <= max, `${template}:${language}: {#${name}#} is ${chars(v)} characters: ${v}`);
    }
    assert.doesNotMatch(body, /\{#|#\}/, `${template}:${language}: ${body}`);
    assert.equal(body, render(text, vars), `${template}:${language}: the body is the registered text filled in`);
    seen.add(`${template}:${language}`);
  }
  const missing = OURS.flatMap((c) => ['en', 'hi'].map((l) => `${c}:${l}`)).filter((k) => !seen.has(k));
  assert.deepEqual(missing, [], 'every template was sent in both languages by the suite');
});
