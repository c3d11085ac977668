// The district committee's fortnightly report (issue 6): a known history is built in a test
// district of its own (TKP: two zones, three agents, officers and a committee member made
// with SQL, isolated from the demo city) and driven through the API with the injectable
// clock across two fortnights of March 2025 (bookings, cancellation, the agents' visits with
// visit codes, the office's steps, delivery reports; grievances in SQL). Then every figure of
// the JSON is checked against the history written out by hand below, the CSV against the
// JSON, the PDF's text, and the 400/401/403/404 cases. The clock is put back afterwards.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import {
  api, bookingBody, demoAccounts, isError, lit, randomPhone, residentLogin, setClock, sql, sqlValue, staffLogin,
} from './lib.mjs';
import { randomCode, visitCodeHash } from './agent_fixtures.mjs';

const D = 'TKP';
const NAME = 'Tikrapara Test';
const NAME_HI = 'टिकरापारा परीक्षण';
const P1 = '2025-03-1'; // 1–15 March 2025
const P2 = '2025-03-2'; // 16–31 March 2025
const ist = (t) => `${t}:00+05:30`; // '2025-03-05T09:10' → RFC 3339 in IST
// Places: near agent A01 and A02 (zone Z1), near A03 (zone Z2). Each booking takes the nearest agent.
const NEAR = { A01: { lat: 22.352, lon: 82.612 }, A02: { lat: 22.352, lon: 82.668 }, A03: { lat: 22.352, lon: 82.722 } };
const SECRET = process.env.MITAN_SMS_DLR_SECRET || 'test-dlr-secret';

const tok = {};   // tokens: officer, committee, admin (no district), agents A01..A03, resident
const b = {};     // B1..B8: { reference, code }
let districtId;
let midP2; // the second fortnight as read on 17 March at 15:00

// ---- the history's steps ----

async function at(t) {
  await setClock(ist(t));
}

async function book(key, t, service, agent, windowStart) {
  await at(t);
  const r = await api('POST', '/api/v1/bookings', { token: tok.resident, body: bookingBody(ist(windowStart), {
    service, location: NEAR[agent], address: `House ${key}, Tikrapara`,
    beneficiary: { name: `Beneficiary ${key}`, phone: randomPhone(), language: 'hi' } }) });
  assert.equal(r.status, 201, `${key}: ${r.text}`);
  b[key] = { reference: r.json.reference };
  assert.equal(sqlValue(`SELECT a.code FROM booking x JOIN agent a ON a.id = x.agent_id WHERE x.reference = ${lit(r.json.reference)}`),
    `TKP-${agent}`, `${key} goes to the nearest agent`);
}

// The visit-day notice as the worker's job leaves it (sched_visit_day): assigned, with a
// visit code whose hash only is kept, and its event.
function assign(key, t) {
  const code = randomCode();
  b[key].code = code;
  sql(`UPDATE booking SET status = 'assigned', visit_code_hash = decode(${lit(visitCodeHash(b[key].reference, code))}, 'hex'),
              updated_at = ${lit(ist(t))} WHERE reference = ${lit(b[key].reference)};
       INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, at)
       SELECT id, district_id, 'assigned', 'booked', 'assigned', 'system', ${lit(ist(t))} FROM booking
        WHERE reference = ${lit(b[key].reference)}`);
}

async function agent(key, who, status, t, extra = {}) {
  await at(t);
  const body = { status, ...extra };
  if (status === 'arrived') body.visit_code = b[key].code;
  if (['no_show', 'failed', 'documents_collected'].includes(status)) body.note ??= `test: ${status}`;
  const r = await api('POST', `/api/v1/agent/visits/${b[key].reference}/status`, { token: tok[who], body });
  assert.equal(r.status, 200, `${key} ${status}: ${r.text}`);
}

async function office(key, status, t) {
  await at(t);
  const r = await api('POST', `/api/v1/admin/bookings/${b[key].reference}/status`, { token: tok.officer, body: { status } });
  assert.equal(r.status, 200, `${key} ${status}: ${r.text}`);
}

async function cancel(key, t) {
  await at(t);
  const r = await api('POST', `/api/v1/bookings/${b[key].reference}/cancel`, { token: tok.resident, body: { reason: 'test' } });
  assert.equal(r.status, 200, r.text);
}

// Delivery reports for the first n messages of the district queued in [from, to) (IST days).
async function dlr(from, to, status, n, skip = 0) {
  const ids = sql(`SELECT id FROM sms_outbox WHERE district_id = ${districtId}
                     AND created_at >= ${lit(ist(`${from}T00:00`))} AND created_at < ${lit(ist(`${to}T00:00`))}
                   ORDER BY id OFFSET ${skip} LIMIT ${n}`).map((r) => r[0]);
  assert.equal(ids.length, n, 'enough messages for the delivery reports');
  for (const id of ids) {
    const text = JSON.stringify({ client_ref: id, status });
    const sig = createHmac('sha256', SECRET).update(text).digest('hex');
    const r = await api('POST', '/api/v1/sms/dlr', { raw: text, headers: { 'Content-Type': 'application/json', 'X-Signature': sig } });
    assert.equal(r.status, 200, r.text);
  }
}
const smsCount = (from, to) => Number(sqlValue(`SELECT count(*) FROM sms_outbox WHERE district_id = ${districtId}
    AND created_at >= ${lit(ist(`${from}T00:00`))} AND created_at < ${lit(ist(`${to}T00:00`))}`));

// A grievance and its events, as sql/005's functions record them: an event's tier is the
// tier it happened at (an appeal or escalation leaves that tier for the next).
function grievance(key, booking, events) {
  const ref = `GV-${randomBytes(6).toString('hex').toUpperCase().match(/.{4}/g).join('-')}`;
  const [action, tier, t] = events[events.length - 1];
  const current = ['appealed', 'escalated'].includes(action) && tier < 3 ? tier + 1 : tier;
  const status = { answered: 'answered', closed: 'closed' }[action] || 'open';
  const since = ist(events.filter(([a, x]) => a === 'raised' || (['appealed', 'escalated'].includes(a) && x < 3)).pop()[2]);
  const id = sqlValue(`INSERT INTO grievance (reference, district_id, booking_id, raised_by, kind, description, tier, status,
                                              tier_started_at, due_at, created_at, updated_at, closed_at)
    SELECT ${lit(ref)}, x.district_id, x.id, x.booker_id, 'delay', 'test grievance ${key}', ${current}, ${lit(status)}, ${lit(since)},
           ${lit(since)}::timestamptz + (SELECT limit_hours FROM grievance_tier WHERE tier = ${current}) * interval '1 hour',
           ${lit(ist(events[0][2]))}, ${lit(ist(t))}, ${status === 'closed' ? lit(ist(t)) : 'NULL'}
      FROM booking x WHERE x.reference = ${lit(booking)} RETURNING id`);
  const values = events.map(([a, x, at]) => `(${id}, (SELECT district_id FROM grievance WHERE id = ${id}), ${lit(a)}, ${x},
      ${a === 'answered' ? "'officer'" : a === 'escalated' || a === 'reminder' ? "'system'" : "'resident'"}, ${lit(ist(at))})`);
  sql(`INSERT INTO grievance_event (grievance_id, district_id, action, tier, actor_role, at) VALUES ${values.join(', ')}`);
  return id;
}

// ---- reading the report ----

const path = (ext, q) => `/api/v1/reports/fortnightly${ext}${q ? `?${new URLSearchParams(q)}` : ''}`;
async function report(q = { period: P2 }, token = tok.committee) {
  const r = await api('GET', path('', q), { token });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  return r.json;
}
const fig = (booked, visited, completed, cancelled, no_show, failed, sla_met_pct) =>
  ({ booked, visited, completed, cancelled, no_show, failed, sla_met_pct });
const ZERO = fig(0, 0, 0, 0, 0, 0, null);

// RFC 4180: quoted fields with doubled quotes, CRLF line ends.
function parseCsv(text) {
  const rows = [];
  let row = [], field = '', i = 0, quoted = false;
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"') { quoted = true; i++; continue; }
    if (c === ',') { row.push(field); field = ''; i++; continue; }
    if (c === '\r' && text[i + 1] === '\n') { row.push(field); rows.push(row); row = []; field = ''; i += 2; continue; }
    assert.notEqual(c, '\n', 'a bare LF outside quotes');
    field += c; i++;
  }
  assert.equal(field, '', 'the last line ends with CRLF');
  return rows;
}
// A JSON value as the CSV writes it: percentages, hours and days with one decimal.
const DECIMAL = /_pct$|^booking_to_visit$|^collection_to_certificate$|^days_overdue$/;
const cell = (key, v) => (v === null || v === undefined ? '' : DECIMAL.test(key) ? v.toFixed(1) : String(v));

before(async () => {
  // Logins first, at the real time (sessions then outlive the clock's trip to 2025).
  const accounts = demoAccounts();
  const pw = (login) => accounts.find((a) => a.login === login).password;
  sql(`INSERT INTO district (code, name_en, name_hi, time_zone) VALUES (${lit(D)}, ${lit(NAME)}, ${lit(NAME_HI)}, 'Asia/Kolkata');
       INSERT INTO zone (district_id, code, name_en, name_hi, area)
       SELECT d.id, z.code, z.en, z.hi, ST_Multi(ST_MakeEnvelope(z.x0, 22.30, z.x1, 22.40, 4326))
         FROM district d, (VALUES ('TKP-Z1', 'North ward', 'उत्तर वार्ड', 82.60, 82.68),
                                  ('TKP-Z2', 'South ward', 'दक्षिण वार्ड', 82.68, 82.76)) z(code, en, hi, x0, x1)
        WHERE d.code = ${lit(D)};
       INSERT INTO slot_template (zone_id, window_no, start_local, end_local)
       SELECT z.id, w.n, w.s, w.e FROM zone z, (VALUES (1, time '09:00', time '11:00'), (2, time '11:00', time '13:00')) w(n, s, e)
        WHERE z.code LIKE 'TKP-Z_';
       INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base)
       SELECT a.code, (SELECT password_hash FROM agent WHERE code = 'RPR-A01'), a.name, ${lit(randomPhone())}, z.district_id, z.id,
              ST_SetSRID(ST_MakePoint(a.lon, a.lat), 4326)::geography
         FROM (VALUES ('TKP-A01', 'Phool Singh', 'TKP-Z1', 22.35, 82.61), ('TKP-A02', 'Janki Bai', 'TKP-Z1', 22.35, 82.67),
                      ('TKP-A03', 'Chandu Lal', 'TKP-Z2', 22.35, 82.72)) a(code, name, zone, lat, lon)
         JOIN zone z ON z.code = a.zone;
       INSERT INTO agent_shift (agent_id, day, start_local, end_local, per_window)
       SELECT a.id, d::date, '09:00', '13:00', 3 FROM agent a, generate_series(date '2025-02-25', date '2025-04-05', interval '1 day') d
        WHERE a.code LIKE 'TKP-A%';
       SELECT agent_windows_materialize('2025-02-25', '2025-04-05');
       INSERT INTO staff (login, password_hash, role, name, district_id, zone_id)
       SELECT s.login, (SELECT password_hash FROM staff WHERE login = s.hash_of), s.role, s.name,
              CASE WHEN s.login = 'tkp-admin' THEN NULL ELSE (SELECT id FROM district WHERE code = ${lit(D)}) END,
              (SELECT id FROM zone WHERE code = s.zone)
         FROM (VALUES ('tkp-officer', 'officer', 'officer', 'Savitri Dhruw', NULL),
                      ('tkp-z2-officer', 'officer', 'officer', 'Bhagat Ram Sahu', 'TKP-Z2'),
                      ('tkp-committee', 'committee', 'committee', 'Committee Chair', NULL),
                      ('tkp-admin', 'admin', 'admin', 'State Admin', NULL)) s(login, hash_of, role, name, zone);`);
  districtId = sqlValue(`SELECT id FROM district WHERE code = ${lit(D)}`);
  const login = async (name, password) => {
    const r = await api('POST', '/api/v1/auth/login', { body: { login: name, password } });
    assert.equal(r.status, 200, `${name}: ${r.text}`);
    return r.json.token;
  };
  tok.officer = await login('tkp-officer', pw('officer'));
  tok.z2officer = await login('tkp-z2-officer', pw('officer'));
  tok.committee = await login('tkp-committee', pw('committee'));
  tok.admin = await login('tkp-admin', pw('admin'));
  for (const a of ['A01', 'A02', 'A03']) tok[a] = await login(`TKP-${a}`, pw('RPR-A01'));
  tok.resident = (await residentLogin()).token;

  // ---- fortnight 1: 1–15 March 2025 ----
  await book('B8', '2025-03-01T10:00', 'residence_certificate', 'A03', '2025-03-03T11:00');
  await book('B1', '2025-03-03T10:00', 'birth_certificate', 'A01', '2025-03-05T09:00');
  await book('B2', '2025-03-03T10:05', 'residence_certificate', 'A03', '2025-03-05T11:00');
  await book('B3', '2025-03-03T10:10', 'income_certificate', 'A02', '2025-03-06T09:00');
  assign('B8', '2025-03-03T07:00');
  await agent('B8', 'A03', 'en_route', '2025-03-03T11:00');
  await agent('B8', 'A03', 'arrived', '2025-03-03T11:10');
  await agent('B8', 'A03', 'documents_collected', '2025-03-03T11:30'); // limit 15 days: due 18 Mar 11:30
  await agent('B8', 'A03', 'completed', '2025-03-03T11:40');
  await cancel('B3', '2025-03-04T12:00');
  assign('B1', '2025-03-05T07:00');
  assign('B2', '2025-03-05T07:00');
  await agent('B1', 'A01', 'en_route', '2025-03-05T09:00');
  await agent('B1', 'A01', 'arrived', '2025-03-05T09:10');
  await agent('B1', 'A01', 'documents_collected', '2025-03-05T09:20'); // limit 7 days: due 12 Mar 09:20
  await agent('B1', 'A01', 'completed', '2025-03-05T09:40');
  await agent('B2', 'A03', 'en_route', '2025-03-05T11:00');
  await agent('B2', 'A03', 'no_show', '2025-03-05T11:15');

  // ---- fortnight 2: 16–31 March 2025 ----
  await book('B4', '2025-03-16T10:00', 'birth_certificate', 'A01', '2025-03-18T09:00');
  await book('B5', '2025-03-16T10:00', 'residence_certificate', 'A03', '2025-03-18T11:00');
  await book('B6', '2025-03-16T10:00', 'birth_certificate', 'A02', '2025-03-19T09:00');
  await book('B7', '2025-03-16T10:00', 'income_certificate', 'A03', '2025-03-19T11:00');
  await office('B1', 'submitted', '2025-03-17T09:00');
  await office('B1', 'certificate_ready', '2025-03-17T15:00'); // 12 days after collection: late
  midP2 = await report({ period: P2 }); // the fortnight in progress, as of 17 Mar 15:00
  assign('B4', '2025-03-18T07:00');
  assign('B5', '2025-03-18T07:00');
  await agent('B4', 'A01', 'en_route', '2025-03-18T08:50');
  await agent('B4', 'A01', 'arrived', '2025-03-18T09:00');
  await agent('B4', 'A01', 'documents_collected', '2025-03-18T09:30'); // due 25 Mar 09:30
  await agent('B4', 'A01', 'completed', '2025-03-18T09:45');
  await agent('B5', 'A03', 'en_route', '2025-03-18T11:10');
  await agent('B5', 'A03', 'arrived', '2025-03-18T11:30');
  await agent('B5', 'A03', 'failed', '2025-03-18T11:45');
  assign('B6', '2025-03-19T07:00');
  assign('B7', '2025-03-19T07:00');
  await agent('B6', 'A02', 'en_route', '2025-03-19T09:05');
  await agent('B6', 'A02', 'arrived', '2025-03-19T09:20');
  await agent('B6', 'A02', 'documents_collected', '2025-03-19T09:40'); // due 26 Mar 09:40
  await agent('B6', 'A02', 'completed', '2025-03-19T09:50');
  await agent('B7', 'A03', 'en_route', '2025-03-19T11:05');
  await agent('B7', 'A03', 'no_show', '2025-03-19T11:20');
  await office('B4', 'submitted', '2025-03-20T10:00');
  await office('B6', 'submitted', '2025-03-20T11:00');
  await office('B4', 'certificate_ready', '2025-03-21T12:00'); // in time
  await office('B4', 'delivered', '2025-03-22T10:00');

  // ---- SMS delivery reports: P1 3 delivered + 1 failed; P2 4 delivered, 2 with the gateway, 1 failed ----
  await at('2025-04-02T10:00');
  await dlr('2025-03-01', '2025-03-16', 'delivered', 3);
  await dlr('2025-03-01', '2025-03-16', 'failed', 1, 3);
  await dlr('2025-03-16', '2025-04-01', 'delivered', 4);
  await dlr('2025-03-16', '2025-04-01', 'accepted', 2, 4);
  await dlr('2025-03-16', '2025-04-01', 'undelivered', 1, 6);

  // ---- grievances (each event at the tier it happened at) ----
  grievance('G1', b.B2.reference, [['raised', 1, '2025-03-06T10:00'], ['answered', 1, '2025-03-07T10:00'],
    ['closed', 1, '2025-03-08T10:00']]);
  grievance('G2', b.B3.reference, [['raised', 1, '2025-03-10T10:00'], ['reminder', 1, '2025-03-12T18:00'],
    ['escalated', 1, '2025-03-13T10:00'], ['answered', 2, '2025-03-18T10:00'], ['appealed', 2, '2025-03-19T10:00']]);
  grievance('G3', b.B7.reference, [['raised', 1, '2025-03-17T10:00'], ['escalated', 1, '2025-03-20T10:00']]);
  // G6 goes up both tiers by escalation and is flagged at tier 3 (12 Mar + 360 h = 27 Mar 10:00).
  grievance('G6', b.B1.reference, [['raised', 1, '2025-03-02T10:00'], ['escalated', 1, '2025-03-05T10:00'],
    ['escalated', 2, '2025-03-12T10:00'], ['escalated', 3, '2025-03-27T10:00']]);
  grievance('G4', b.B5.reference, [['raised', 1, '2025-03-25T10:00'], ['linked', 1, '2025-03-25T10:05'],
    ['closed', 1, '2025-03-26T10:00']]);
  // Another district's grievance in the same days is not counted.
  const rprBooking = sqlValue(`SELECT reference FROM booking WHERE district_id = (SELECT id FROM district WHERE code = 'RPR') ORDER BY id LIMIT 1`);
  grievance('G5', rprBooking, [['raised', 1, '2025-03-20T10:00']]);
});

after(async () => {
  await setClock(new Date().toISOString());
});

// ---- the figures, written out from the history above ----
const P1_TOTALS = fig(4, 2, 0, 1, 1, 0, 0.0);  // B1 missed its limit (due 12 Mar)
const P2_TOTALS = fig(4, 3, 2, 0, 1, 1, 33.3); // B4 met; B6 (due 26 Mar) and B8 (due 18 Mar) missed
// P1: G1 raised, answered, closed; G2 raised, escalated 1→2; G6 raised, escalated 1→2, 2→3.
// P2: G3 raised, escalated 1→2 (then past its tier-2 limit, 27 Mar); G2 answered at 2, appealed
// 2→3; G6 flagged at tier 3 (past its limit); G4 raised and closed.
const P1_GRIEVANCES = { raised: 3, answered: 1, appealed: 0, escalated: 3, closed: 1, open_overdue: 0 };
const P2_GRIEVANCES = { raised: 2, answered: 1, appealed: 1, escalated: 2, closed: 1, open_overdue: 2 };

test('the fortnight in progress counts what happened up to now', () => {
  const r = midP2;
  assert.deepEqual(r.period, { code: P2, from: '2025-03-16', to: '2025-03-31', complete: false });
  assert.equal(r.generated_at.slice(0, 16), '2025-03-17T15:00');
  assert.deepEqual(r.totals, fig(4, 0, 1, 0, 0, 0, null)); // B1's certificate; no limit decided yet
  assert.deepEqual(r.overdue, []); // B1 completed at 15:00, B8 is due tomorrow
  assert.deepEqual(r.median_hours, { booking_to_visit: null, collection_to_certificate: 293.7 });
});

test('the fortnight: totals, groups, medians, overdue with officer, SMS, grievances, previous', async () => {
  await at('2025-04-02T10:00');
  const r = await report({ period: P2 });
  assert.deepEqual(r.district, { code: D, name_en: NAME, name_hi: NAME_HI, time_zone: 'Asia/Kolkata' });
  assert.deepEqual(r.period, { code: P2, from: '2025-03-16', to: '2025-03-31', complete: true });
  assert.match(r.generated_at, /^2025-04-02T10:00:\d\d(\.\d+)?\+05:30$/);
  assert.deepEqual(r.totals, P2_TOTALS);
  assert.deepEqual(r.by_service, [
    { code: 'birth_certificate', name_en: sqlValue(`SELECT name_en FROM service WHERE code = 'birth_certificate'`),
      name_hi: sqlValue(`SELECT name_hi FROM service WHERE code = 'birth_certificate'`), ...fig(2, 2, 2, 0, 0, 0, 50.0) },
    { code: 'income_certificate', name_en: sqlValue(`SELECT name_en FROM service WHERE code = 'income_certificate'`),
      name_hi: sqlValue(`SELECT name_hi FROM service WHERE code = 'income_certificate'`), ...fig(1, 0, 0, 0, 1, 0, null) },
    { code: 'residence_certificate', name_en: sqlValue(`SELECT name_en FROM service WHERE code = 'residence_certificate'`),
      name_hi: sqlValue(`SELECT name_hi FROM service WHERE code = 'residence_certificate'`), ...fig(1, 1, 0, 0, 0, 1, 0.0) },
  ]);
  assert.deepEqual(r.by_zone, [
    { code: 'TKP-Z1', name_en: 'North ward', name_hi: 'उत्तर वार्ड', ...fig(2, 2, 2, 0, 0, 0, 50.0) },
    { code: 'TKP-Z2', name_en: 'South ward', name_hi: 'दक्षिण वार्ड', ...fig(2, 1, 0, 0, 1, 1, 0.0) },
  ]);
  assert.deepEqual(r.by_agent, [
    { code: 'TKP-A01', name: 'Phool Singh', zone: 'TKP-Z1', ...fig(1, 1, 2, 0, 0, 0, 100.0) },
    { code: 'TKP-A02', name: 'Janki Bai', zone: 'TKP-Z1', ...fig(1, 1, 0, 0, 0, 0, 0.0) },
    { code: 'TKP-A03', name: 'Chandu Lal', zone: 'TKP-Z2', ...fig(2, 1, 0, 0, 1, 1, 0.0) },
  ]);
  // booking → arrival: B4 47.0 h, B5 49.5 h, B6 71.3 h; collection → certificate: B1 293.7 h, B4 74.5 h
  assert.deepEqual(r.median_hours, { booking_to_visit: 49.5, collection_to_certificate: 184.1 });
  // At the end of the fortnight (1 Apr 00:00): B8 due 18 Mar 11:30, B6 due 26 Mar 09:40.
  assert.deepEqual(r.overdue, [
    { reference: b.B8.reference, service: 'residence_certificate', zone: 'TKP-Z2', status: 'completed',
      due_at: r.overdue[0].due_at, days_overdue: 13.5, officer: { name: 'Bhagat Ram Sahu', login: 'tkp-z2-officer' } },
    { reference: b.B6.reference, service: 'birth_certificate', zone: 'TKP-Z1', status: 'submitted',
      due_at: r.overdue[1].due_at, days_overdue: 5.6, officer: { name: 'Savitri Dhruw', login: 'tkp-officer' } },
  ]);
  assert.match(r.overdue[0].due_at, /^2025-03-18T11:30:\d\d\+05:30$/);
  assert.match(r.overdue[1].due_at, /^2025-03-26T09:40:\d\d\+05:30$/);
  const total2 = smsCount('2025-03-16', '2025-04-01');
  assert.ok(total2 > 7, `messages of the fortnight: ${total2}`);
  assert.deepEqual(r.sms, { total: total2, delivered: 4, sent: 2, failed: 1, pending: total2 - 7, delivery_rate_pct: 57.1 });
  assert.deepEqual(r.grievances, { ...P2_GRIEVANCES, by_tier: [
    { tier: 1, name_en: 'Grievance officer', name_hi: 'शिकायत अधिकारी', raised: 2, answered: 0, escalated: 1, within_limit_pct: 0.0 },
    { tier: 2, name_en: 'Appellate authority', name_hi: 'अपीलीय प्राधिकारी', raised: 1, answered: 1, escalated: 0, within_limit_pct: 100.0 },
    { tier: 3, name_en: 'Final appellate authority', name_hi: 'अंतिम अपीलीय प्राधिकारी', raised: 1, answered: 0, escalated: 1, within_limit_pct: 0.0 },
  ] });
  const total1 = smsCount('2025-03-01', '2025-03-16');
  assert.deepEqual(r.previous, {
    period: { code: P1, from: '2025-03-01', to: '2025-03-15' },
    totals: P1_TOTALS,
    // booking → arrival: B8 49.2 h, B1 47.2 h
    median_hours: { booking_to_visit: 48.2, collection_to_certificate: null },
    sms: { total: total1, delivered: 3, sent: 0, failed: 1, pending: total1 - 4, delivery_rate_pct: 75.0 },
    grievances: P1_GRIEVANCES,
  });
  assert.doesNotMatch(JSON.stringify(r), /\+91\d{10}/, 'no phone number in the report');
});

test('the first fortnight on its own: its groups, its overdue case, February before it', async () => {
  const r = await report({ period: P1, district: D });
  assert.deepEqual(r.period, { code: P1, from: '2025-03-01', to: '2025-03-15', complete: true });
  assert.deepEqual(r.totals, P1_TOTALS);
  assert.deepEqual(r.by_service.map((s) => [s.code, s.booked, s.visited, s.cancelled, s.no_show, s.sla_met_pct]), [
    ['birth_certificate', 1, 1, 0, 0, 0.0], ['income_certificate', 1, 0, 1, 0, null], ['residence_certificate', 2, 1, 0, 1, null]]);
  assert.deepEqual(r.by_agent.map((a) => [a.code, a.booked, a.visited, a.cancelled, a.no_show, a.sla_met_pct]), [
    ['TKP-A01', 1, 1, 0, 0, 0.0], ['TKP-A02', 1, 0, 1, 0, null], ['TKP-A03', 2, 1, 0, 1, null]]);
  // At 16 Mar 00:00, B1 (due 12 Mar 09:20) had no certificate yet; B8 was not due.
  assert.deepEqual(r.overdue.map((o) => [o.reference, o.status, o.days_overdue, o.officer?.login]),
    [[b.B1.reference, 'completed', 3.6, 'tkp-officer']]);
  assert.deepEqual(r.grievances.by_tier.map((t) => [t.raised, t.answered, t.escalated, t.within_limit_pct]),
    [[3, 1, 2, 33.3], [2, 0, 1, 0.0], [1, 0, 0, null]]);
  assert.deepEqual(r.previous.period, { code: '2025-02-2', from: '2025-02-16', to: '2025-02-28' });
  assert.deepEqual(r.previous.totals, ZERO);
  assert.deepEqual(r.previous.sms, { total: 0, delivered: 0, sent: 0, failed: 0, pending: 0, delivery_rate_pct: null });
});

test('without a period: the last complete fortnight; the officer of the district reads it too', async () => {
  await at('2025-04-02T10:00');
  const r = await report({}, tok.officer);
  assert.equal(r.period.code, P2);
  assert.deepEqual(r.totals, P2_TOTALS);
  await at('2025-04-16T00:30');
  assert.equal((await report({}, tok.z2officer)).period.code, '2025-04-1');
  await at('2025-04-02T10:00');
});

test('the CSV is the JSON: figures per group, overdue cases, the other figures beside the previous ones', async () => {
  await at('2025-04-02T10:00');
  const json = await report({ period: P2 });
  const res = await api('GET', path('.csv', { period: P2 }), { token: tok.committee });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
  assert.match(res.headers.get('content-disposition'), /attachment; filename="mitan-report-TKP-2025-03-2\.csv"/);
  const rows = parseCsv(res.text);
  const blank = rows.map((x, i) => (x.length === 1 && x[0] === '' ? i : -1)).filter((i) => i >= 0);
  assert.equal(blank.length, 2, 'three tables, two blank lines');
  const [t1, t2, t3] = [rows.slice(0, blank[0]), rows.slice(blank[0] + 1, blank[1]), rows.slice(blank[1] + 1)];

  const keys = ['booked', 'visited', 'completed', 'cancelled', 'no_show', 'failed', 'sla_met_pct'];
  assert.deepEqual(t1[0], ['section', 'code', 'name', ...keys]);
  const want1 = [
    ['total', P2, NAME, ...keys.map((k) => cell(k, json.totals[k]))],
    ['previous_total', P1, NAME, ...keys.map((k) => cell(k, json.previous.totals[k]))],
    ...json.by_service.map((s) => ['service', s.code, s.name_en, ...keys.map((k) => cell(k, s[k]))]),
    ...json.by_zone.map((z) => ['zone', z.code, z.name_en, ...keys.map((k) => cell(k, z[k]))]),
    ...json.by_agent.map((a) => ['agent', a.code, a.name, ...keys.map((k) => cell(k, a[k]))]),
  ];
  assert.deepEqual(t1.slice(1), want1);
  assert.deepEqual(t1[1], ['total', P2, NAME, '4', '3', '2', '0', '1', '1', '33.3']);

  assert.deepEqual(t2, [
    ['section', 'reference', 'service', 'zone', 'status', 'due_at', 'days_overdue', 'officer_name', 'officer_login'],
    ...json.overdue.map((o) => ['overdue', o.reference, o.service, o.zone, o.status, o.due_at, cell('days_overdue', o.days_overdue),
      o.officer.name, o.officer.login]),
  ]);

  assert.deepEqual(t3[0], ['section', 'figure', 'current', 'previous']);
  const get = (section, figure) => t3.find((x) => x[0] === section && x[1] === figure)?.slice(2);
  assert.deepEqual(get('district', 'name_hi'), [NAME_HI, '']);
  assert.deepEqual(get('period', 'code'), [P2, P1]);
  assert.deepEqual(get('period', 'to'), ['2025-03-31', '2025-03-15']);
  assert.deepEqual(get('report', 'generated_at'), [json.generated_at, '']);
  for (const k of Object.keys(json.median_hours))
    assert.deepEqual(get('median_hours', k), [cell(k, json.median_hours[k]), cell(k, json.previous.median_hours[k])], k);
  for (const k of Object.keys(json.sms)) assert.deepEqual(get('sms', k), [cell(k, json.sms[k]), cell(k, json.previous.sms[k])], k);
  for (const k of Object.keys(json.previous.grievances))
    assert.deepEqual(get('grievances', k), [cell(k, json.grievances[k]), cell(k, json.previous.grievances[k])], k);
  for (const t of json.grievances.by_tier)
    for (const k of ['raised', 'answered', 'escalated', 'within_limit_pct'])
      assert.deepEqual(get(`grievance_tier_${t.tier}`, k), [cell(k, t[k]), ''], `tier ${t.tier} ${k}`);
  assert.equal(t3.length, 1 + 4 + 4 + 1 + 2 + 6 + 6 + 3 * 4);
});

test('the CSV quotes fields with commas and quotes (RFC 4180)', async () => {
  sql(`UPDATE agent SET name = 'Janki "Didi" Bai, senior' WHERE code = 'TKP-A02'`);
  try {
    const res = await api('GET', path('.csv', { period: P2 }), { token: tok.committee });
    assert.equal(res.status, 200);
    assert.match(res.text, /\r\nagent,TKP-A02,"Janki ""Didi"" Bai, senior",1,1,0,0,0,0,0\.0\r\n/);
    assert.equal(parseCsv(res.text).find((x) => x[1] === 'TKP-A02')[2], 'Janki "Didi" Bai, senior');
    // A name that a spreadsheet would run as a formula is written as text.
    sql(`UPDATE agent SET name = '=HYPERLINK("http://x","y")' WHERE code = 'TKP-A02'`);
    const formula = await api('GET', path('.csv', { period: P2 }), { token: tok.committee });
    assert.match(formula.text, /\r\nagent,TKP-A02,"'=HYPERLINK\(""http:\/\/x"",""y""\)",1,/);
    sql(`UPDATE agent SET name = '@SUM(A1)' WHERE code = 'TKP-A02'`);
    assert.match((await api('GET', path('.csv', { period: P2 }), { token: tok.committee })).text, /\r\nagent,TKP-A02,'@SUM\(A1\),1,/);
  } finally {
    sql(`UPDATE agent SET name = 'Janki Bai' WHERE code = 'TKP-A02'`);
  }
});

test('the PDF: A4 from the same figures, with the district, the totals and Hindi', async () => {
  await at('2025-04-02T10:00');
  const res = await fetch(`${process.env.MITAN_URL || 'http://127.0.0.1:8080'}${path('.pdf', { period: P2 })}`,
    { headers: { Authorization: `Bearer ${tok.committee}` } });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/pdf');
  assert.match(res.headers.get('content-disposition'), /filename="mitan-report-TKP-2025-03-2\.pdf"/);
  const pdf = Buffer.from(await res.arrayBuffer());
  assert.equal(pdf.subarray(0, 5).toString('latin1'), '%PDF-');
  const text = execFileSync('pdftotext', ['-layout', '-', '-'], { input: pdf, encoding: 'utf8' });
  assert.match(text, new RegExp(`Fortnightly report — ${NAME} \\(${D}\\)`));
  assert.match(text, /Period 2025-03-2: 2025-03-16 to 2025-03-31/);
  assert.match(text, /^Booked\s+4\s+4\s+0\s*$/m);
  assert.match(text, /^Completed \(certificate ready\)\s+2\s+0\s+\+2\s*$/m);
  assert.match(text, /^Time limit met, %\s+33\.3\s+0\.0\s+\+33\.3\s*$/m);
  assert.match(text, /^SMS delivery rate, %\s+57\.1\s+75\.0\s+-17\.9\s*$/m);
  for (const s of [b.B8.reference, b.B6.reference, 'Bhagat Ram Sahu', 'tkp-z2-officer', 'Savitri Dhruw'])
    assert.ok(text.includes(s), `overdue cases with their officer: ${s}`);
  assert.ok(text.includes('Phool Singh') && text.includes('North ward'), 'agents and zones');
  assert.ok(text.includes(NAME_HI), 'the Hindi name of the district');
  const pages = execFileSync('pdfinfo', ['-'], { input: pdf, encoding: 'utf8' });
  assert.match(pages, /Page size:\s+595\.\d+ x 841\.\d+ pts \(A4\)/);
});

test('bad periods and districts are 400 with the field; no district for an admin without one', async () => {
  for (const period of ['2025-13-1', '2025-03-3', '2025-3-1', '2025-03-01', '1999-12-2', 'x', '2025-03-1x'])
    assert.equal((await api('GET', path('', { period }), { token: tok.committee })).json?.error?.field, 'period', period);
  isError(await api('GET', path('.csv', { period: '2025-00-1' }), { token: tok.committee }), 400, 'invalid_field');
  isError(await api('GET', path('.pdf', { period: '2025-02-3' }), { token: tok.committee }), 400, 'invalid_field');
  const future = await api('GET', path('', { period: '2025-04-2' }), { token: tok.committee }); // clock: 2 Apr 2025
  isError(future, 400, 'invalid_field');
  assert.equal(future.json.error.field, 'period');
  const lower = await api('GET', path('', { district: 'tkp' }), { token: tok.committee });
  isError(lower, 400, 'invalid_field');
  assert.equal(lower.json.error.field, 'district');
  const none = await api('GET', path('', { period: P2 }), { token: tok.admin });
  isError(none, 400, 'invalid_field');
  assert.equal(none.json.error.field, 'district');
  isError(await api('GET', path('', { period: P2, district: 'NOSUCH' }), { token: tok.admin }), 404, 'not_found');
  const asAdmin = await report({ period: P2, district: D }, tok.admin);
  assert.deepEqual(asAdmin.totals, P2_TOTALS);
});

test('another district is 403; other roles are 403; no token is 401', async () => {
  const rprCommittee = await staffLogin('committee');
  for (const ext of ['', '.csv', '.pdf']) {
    isError(await api('GET', path(ext, { district: D, period: P2 }), { token: rprCommittee }), 403, 'forbidden');
    isError(await api('GET', path(ext, { district: 'RPR', period: P2 }), { token: tok.committee }), 403, 'forbidden');
    isError(await api('GET', path(ext, { district: 'NOSUCH' }), { token: tok.officer }), 403, 'forbidden');
    isError(await api('GET', path(ext, { period: P2 })), 401);
    isError(await api('GET', path(ext, { period: P2 }), { token: tok.A01 }), 403, 'forbidden');
    isError(await api('GET', path(ext, { period: P2 }), { token: tok.resident }), 403, 'forbidden');
    isError(await api('GET', path(ext, { period: P2 }), { token: await staffLogin('operator') }), 403, 'forbidden');
  }
  // The demo admin belongs to RPR: its own district by default, not TKP.
  isError(await api('GET', path('', { district: D, period: P2 }), { token: await staffLogin('admin') }), 403, 'forbidden');
});
