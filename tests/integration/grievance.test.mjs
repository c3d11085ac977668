// Grievances and their three-tier appeal (issue 6): a resident raises a grievance on their own
// booking (404 on anyone else's), links earlier ones; the tier's authority (or an admin) answers
// and nobody else (403); the resident appeals 1 → 2 → 3 (then 409) or closes it; the worker
// reminds the authority at 80 % of the tier's limit and escalates at 100 % (tier 3 stays, flagged
// once), on the injectable clock (MITAN_NOW). Every step is an event, an audit entry and SMS;
// refused requests change nothing.
// Bookings: zone RPR-Z3, day +12. The grievances live 150 days in the past of the server clock,
// so that the worker's runs touch no other test's bookings, jobs or messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import {
  api, ZONES, bookingBody, demoAccounts, isError, lit, randomPhone, residentLogin, setClock, setWindowFree, sql,
  sqlValue, uniqueKey, windowStart,
} from './lib.mjs';
import { workerOnce } from './fake_gateway.mjs';

const ZONE = 'RPR-Z3';
const START = windowStart(12, 16);
const HOUR = 3600e3;
const DAY = 24 * HOUR;
const T0 = Date.parse(`${new Date(Date.now() + 5.5 * HOUR - 150 * DAY).toISOString().slice(0, 10)}T10:00:00+05:30`);
const iso = (ms) => new Date(ms).toISOString();
// The server's and the worker's clocks run on from the instant they are set: a time they
// record is that instant or a moment later (RFC 3339 replies have whole seconds).
const near = (ms, want) => assert.ok(ms >= want - 1000 && ms < want + 60e3, `${iso(ms)} is not ${iso(want)}`);
const REF = /^GV-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/;

// Residents: A books for Sunita (Hindi) and for Ramesh; B books for himself.
const A = { phone: randomPhone(), lang: 'en' };
const B = { phone: randomPhone(), lang: 'hi' };
const SUNITA = { phone: randomPhone(), lang: 'hi' };
const RAMESH_PHONE = randomPhone();
const book = {};
const g = {}; // grievance references by name
let clock = Date.now();
let officerPhone; let appellatePhone; let committeePhone;

// ---- the clock, sign-ins ----

async function at(ms) {
  await setClock(iso(ms));
  clock = ms;
}
async function tok(p) {
  if (!p.token || clock < p.at || clock - p.at > 25 * DAY) {
    p.token = (await residentLogin(p.phone, p.lang)).token;
    p.at = clock;
  }
  return p.token;
}
const staffTokens = new Map();
async function staff(login) {
  const c = staffTokens.get(login);
  if (c && clock >= c.at && clock - c.at < 11 * HOUR) return c.token;
  const a = demoAccounts().find((x) => x.login === login);
  const r = await api('POST', '/api/v1/auth/login', { body: { login: a.login, password: a.password } });
  assert.equal(r.status, 200, r.text);
  staffTokens.set(login, { token: r.json.token, at: clock });
  return r.json.token;
}
// An officer of another district (GVT, made here), signed in by a session made directly.
function otherDistrictOfficer() {
  const hash = `pbkdf2-sha256$600000$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;
  sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('GVT', 'Grievance test', 'शिकायत परीक्षण') ON CONFLICT DO NOTHING;
       INSERT INTO staff (login, password_hash, role, name, district_id)
       SELECT 'gvt-officer', ${lit(hash)}, 'officer', 'GVT officer', id FROM district WHERE code = 'GVT'
       ON CONFLICT DO NOTHING`);
  const token = randomBytes(32).toString('base64url');
  sql(`INSERT INTO session (token_hash, role, staff_id, district_id, created_at, expires_at)
       SELECT decode(${lit(createHash('sha256').update(token).digest('hex'))}, 'hex'), 'officer', s.id, s.district_id,
              now() - interval '1000 days', now() + interval '30 days'
         FROM staff s WHERE s.login = 'gvt-officer'`);
  return token;
}
let OTHER;

// ---- what the database holds ----

const events = (ref) => sql(`SELECT e.action, e.tier, coalesce(e.to_tier::text, ''), e.actor_role, coalesce(e.decision, '')
    FROM grievance_event e JOIN grievance g ON g.id = e.grievance_id WHERE g.reference = ${lit(ref)} ORDER BY e.id`)
  .map((r) => r.filter((x, i) => i < 2 || x !== '').join(' '));
const sms = (ref, template) => sql(`SELECT to_phone, language, body FROM sms_outbox
    WHERE variables->>'ref' = ${lit(ref)} AND template = ${lit(template)} ORDER BY id`);
const recipients = (ref, template) => sms(ref, template).map(([phone, lang]) => `${phone} ${lang}`).sort();
// Row counts a refused request must leave unchanged.
const snapshot = () => sql(`SELECT (SELECT count(*) FROM grievance), (SELECT count(*) FROM grievance_event),
    (SELECT count(*) FROM grievance_link), (SELECT count(*) FROM sms_outbox), (SELECT count(*) FROM audit_log),
    (SELECT count(*) FROM idempotency), (SELECT string_agg(status || tier || coalesce(decision, ''), ',' ORDER BY id) FROM grievance)`)[0].join('|');

async function raise(who, body, headers = {}) {
  return api('POST', '/api/v1/grievances', { token: await tok(who), body, headers });
}
async function post(who, ref, action, body) {
  const token = typeof who === 'string' ? await staff(who) : await tok(who);
  return api('POST', `/api/v1/grievances/${ref}/${action}`, { token, body });
}
async function get(who, ref, query = '') {
  const token = typeof who === 'string' ? (who === 'other' ? OTHER : await staff(who)) : await tok(who);
  return api('GET', `/api/v1/grievances${ref ? `/${ref}` : ''}${query}`, { token });
}

before(async () => {
  setWindowFree(ZONE, START, [3, 3, 3, 3]);
  const bookFor = async (who, beneficiary) => {
    const r = await api('POST', '/api/v1/bookings', { token: await tok(who), body: bookingBody(START, {
      location: ZONES[ZONE], address: 'House 7, Shankar Nagar, Raipur', beneficiary, booker: { language: who.lang } }) });
    assert.equal(r.status, 201, r.text);
    return r.json.reference;
  };
  book.a1 = await bookFor(A, { name: 'Sunita Bai', phone: SUNITA.phone, language: 'hi' });
  book.a2 = await bookFor(A, { name: 'Ramesh Sahu', phone: RAMESH_PHONE, language: 'en' });
  book.b = await bookFor(B, { name: 'Hemlata', phone: B.phone, language: 'hi' });
  OTHER = otherDistrictOfficer();
  [officerPhone, appellatePhone, committeePhone] = ['officer', 'appellate', 'committee']
    .map((l) => sqlValue(`SELECT phone FROM staff WHERE login = ${lit(l)}`));
  assert.ok(officerPhone && appellatePhone && committeePhone, 'the demo authorities have phones');
  await at(T0);
});

after(async () => {
  await setClock(new Date().toISOString());
});

test('the demo district has an authority for each tier; the tiers and their limits', () => {
  assert.deepEqual(sql(`SELECT a.tier, t.code, t.limit_hours, s.login FROM grievance_authority a
      JOIN grievance_tier t ON t.tier = a.tier JOIN staff s ON s.id = a.staff_id JOIN district d ON d.id = a.district_id
     WHERE d.code = 'RPR' ORDER BY a.tier`), [
    ['1', 'grievance_officer', '72', 'officer'],
    ['2', 'appellate_authority', '168', 'appellate'],
    ['3', 'final_appellate_authority', '360', 'committee'],
  ]);
});

test('a resident raises a grievance on their own booking: tier 1, due in 72 hours, told by SMS', async () => {
  const key = uniqueKey();
  const body = { booking: book.a1, kind: 'missed_visit',
    description: 'Nobody came in the 16:00–18:00 window.\nWe waited all evening; कोई नहीं आया।' };
  const r = await raise(A, body, { 'Idempotency-Key': key });
  assert.equal(r.status, 201, r.text);
  g.one = r.json.reference;
  assert.match(g.one, REF);
  assert.equal(r.json.booking, book.a1);
  assert.equal(r.json.kind, 'missed_visit');
  assert.equal(r.json.description, body.description);
  assert.equal(r.json.tier, 1);
  assert.equal(r.json.tier_code, 'grievance_officer');
  assert.equal(r.json.tier_name, 'Grievance officer');
  assert.equal(r.json.status, 'open');
  near(Date.parse(r.json.due_at), T0 + 72 * HOUR);
  assert.match(r.json.due_at, /\+05:30$/);
  near(Date.parse(r.json.created_at), T0);
  assert.equal(r.json.handler.name, sqlValue(`SELECT name FROM staff WHERE login = 'officer'`));
  assert.equal(r.json.overdue, false);
  assert.equal(r.json.can_appeal, false);
  assert.deepEqual(r.json.links, []);
  assert.deepEqual(r.json.events.map((e) => [e.action, e.tier, e.by]), [['raised', 1, 'resident']]);
  // A repeat with the same key replays the reply; the key with another body is refused.
  const again = await raise(A, body, { 'Idempotency-Key': key });
  assert.equal(again.status, 201);
  assert.equal(again.text, r.text);
  isError(await raise(A, { ...body, kind: 'delay' }, { 'Idempotency-Key': key }), 422, 'idempotency_key_reused');
  assert.equal(sqlValue(`SELECT count(*) FROM grievance WHERE booking_id = (SELECT id FROM booking WHERE reference = ${lit(book.a1)})`), '1');
  // Recorded: the event (by the resident) and its audit entry.
  assert.deepEqual(events(g.one), ['raised 1 resident']);
  assert.equal(sqlValue(`SELECT e.actor_id = p.id FROM grievance_event e JOIN grievance g ON g.id = e.grievance_id
      JOIN person p ON p.phone = ${lit(A.phone)} WHERE g.reference = ${lit(g.one)}`), 't');
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_type = 'grievance' AND object_ref = ${lit(g.one)}
      AND action = 'grievance.raised' AND actor_role = 'resident'`), '1');
  // Told: the booker in English, the beneficiary in Hindi; the grievance officer (Hindi).
  assert.deepEqual(recipients(g.one, 'grievance_raised'), [`${A.phone} en`, `${SUNITA.phone} hi`].sort());
  const [en] = sms(g.one, 'grievance_raised').filter((m) => m[1] === 'en');
  assert.match(en[2], new RegExp(`grievance ${g.one} about visit ${book.a1} is registered with the grievance officer\\. An answer is due by \\d+ \\w+, 10:0\\d IST`));
  const [hi] = sms(g.one, 'grievance_raised').filter((m) => m[1] === 'hi');
  assert.match(hi[2], /शिकायत अधिकारी के पास दर्ज/);
  assert.deepEqual(recipients(g.one, 'grievance_assigned'), [`${officerPhone} hi`]);
  // The log driver's view shows the resident's message.
  const dev = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(A.phone)}`);
  assert.ok(dev.json.some((m) => m.template === 'grievance_raised' && m.body.includes(g.one)), dev.text.slice(0, 300));
});

test("someone else's booking is 404; bad input is 400 naming the field; nothing changes", async () => {
  const rb = await raise(B, { booking: book.b, kind: 'delay', description: 'Certificate not given after 20 days.' });
  assert.equal(rb.status, 201, rb.text);
  g.b = rb.json.reference;
  const before_ = snapshot();
  const valid = { booking: book.a1, kind: 'delay', description: 'Still waiting.' };
  isError(await raise(B, valid), 404, 'not_found');
  isError(await raise(A, { ...valid, booking: 'MT-0000-0000-0000' }), 404, 'not_found');
  const field = async (body, name) => {
    const r = await raise(A, body);
    isError(r, 400, 'invalid_field');
    assert.equal(r.json.error.field, name, r.text);
  };
  await field({ ...valid, kind: 'rudeness' }, 'kind');
  await field({ ...valid, kind: 7 }, 'kind');
  await field({ ...valid, description: 'x'.repeat(1001) }, 'description');
  await field({ ...valid, description: 'अ'.repeat(1001) }, 'description');
  await field({ ...valid, description: ' \n\t ' }, 'description');
  await field({ ...valid, description: 'bell \u0007' }, 'description');
  await field({ ...valid, priority: 'high' }, 'priority');
  await field({ kind: 'delay', description: 'x' }, 'booking');
  await field({ ...valid, booking: 42 }, 'booking');
  await field({ ...valid, links: g.one }, 'links');
  await field({ ...valid, links: ['GV-1'] }, 'links');
  await field({ ...valid, links: Array(21).fill(g.one) }, 'links');
  // Links only to the caller's own grievances.
  await field({ ...valid, links: [g.b] }, 'links');
  await field({ ...valid, links: [g.one, 'GV-0000-0000-0000'] }, 'links');
  // Staff cannot raise one; nobody without a token.
  isError(await api('POST', '/api/v1/grievances', { token: await staff('officer'), body: valid }), 403, 'forbidden');
  isError(await api('POST', '/api/v1/grievances', { body: valid }), 401, 'unauthenticated');
  assert.equal(snapshot(), before_);
  // 1000 characters (in Hindi) are fine.
  const long = await raise(A, { ...valid, booking: book.a2, description: 'अ'.repeat(1000) });
  assert.equal(long.status, 201, long.text);
  g.long = long.json.reference;
});

test('the owner (booker or beneficiary) and the district\'s staff see a grievance; nobody else', async () => {
  for (const who of [A, SUNITA, 'officer', 'committee', 'admin', 'appellate']) {
    const r = await get(who, g.one);
    assert.equal(r.status, 200, `${who.phone || who}: ${r.text}`);
    assert.equal(r.json.reference, g.one);
  }
  isError(await get(B, g.one), 404, 'not_found');
  isError(await get('other', g.one), 404, 'not_found');
  isError(await get('operator', g.one), 403, 'forbidden');
  isError(await get(A, 'GV-0000-0000-0000'), 404, 'not_found');
  const hi = await get(SUNITA, g.one, '?lang=hi');
  assert.equal(hi.json.tier_name, 'शिकायत अधिकारी');
  assert.equal(hi.json.service.name, hi.json.service.name_hi);
  // Lists: a resident's own, staff their district's, with filters.
  const refs = async (who, q = '') => (await get(who, '', q)).json.map((x) => x.reference);
  assert.deepEqual((await refs(A)).sort(), [g.one, g.long].sort());
  assert.deepEqual(await refs(SUNITA), [g.one]);
  assert.deepEqual(await refs(B), [g.b]);
  assert.deepEqual(await refs(A, `?booking=${book.a1}`), [g.one]);
  const office = await refs('officer', '?status=open&tier=1');
  for (const ref of [g.one, g.b, g.long]) assert.ok(office.includes(ref), ref);
  // The filters: only closed tier-1 grievances (the demo district's history has some), none of these.
  const closed = (await get('officer', '', '?status=closed&tier=1')).json;
  assert.ok(closed.every((x) => x.status === 'closed' && x.tier === 1), JSON.stringify(closed.map((x) => [x.status, x.tier])));
  assert.ok(!closed.some((x) => [g.one, g.b, g.long].includes(x.reference)));
  assert.ok(!(await refs('other')).some((ref) => [g.one, g.b, g.long].includes(ref)));
  isError(await get(A, '', '?status=late'), 400, 'invalid_field');
  isError(await get('officer', '', '?tier=4'), 400, 'invalid_field');
  isError(await get('officer', '', '?tier=one'), 400, 'invalid_field');
});

test('only the tier\'s authority (or an admin) answers; a refused answer changes nothing', async () => {
  await at(T0 + 2 * HOUR);
  const before_ = snapshot();
  const answer = { decision: 'rejected', note: 'The agent came at 17:40 and nobody answered the door.' };
  for (const login of ['committee', 'appellate']) isError(await post(login, g.one, 'answer', answer), 403, 'forbidden');
  isError(await post('operator', g.one, 'answer', answer), 403, 'forbidden');
  isError(await post(A, g.one, 'answer', answer), 403, 'forbidden');
  isError(await api('POST', `/api/v1/grievances/${g.one}/answer`, { token: OTHER, body: answer }), 404, 'not_found');
  for (const [body, name] of [[{ ...answer, decision: 'maybe' }, 'decision'], [{ decision: 'upheld' }, 'note'],
    [{ ...answer, note: 'y'.repeat(1001) }, 'note'], [{ ...answer, by: 'me' }, 'by']]) {
    const r = await post('officer', g.one, 'answer', body);
    isError(r, 400, 'invalid_field');
    assert.equal(r.json.error.field, name);
  }
  assert.equal(snapshot(), before_);
  const r = await post('officer', g.one, 'answer', answer);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'answered');
  assert.equal(r.json.decision, 'rejected');
  assert.equal(r.json.answer, answer.note);
  assert.equal(r.json.can_appeal, true);
  const last = r.json.events.at(-1);
  assert.deepEqual([last.action, last.tier, last.decision, last.by, last.by_name],
    ['answered', 1, 'rejected', 'officer', sqlValue(`SELECT name FROM staff WHERE login = 'officer'`)]);
  near(Date.parse(last.at), T0 + 2 * HOUR);
  isError(await post('officer', g.one, 'answer', answer), 409, 'wrong_state');
  assert.deepEqual(recipients(g.one, 'grievance_answered'), [`${A.phone} en`, `${SUNITA.phone} hi`].sort());
  assert.match(sms(g.one, 'grievance_answered').find((m) => m[1] === 'en')[2], /the grievance officer answered your grievance .*: not upheld\./);
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(g.one)} AND action = 'grievance.answered'
      AND actor_role = 'officer'`), '1');
});

test('appeals go 1 → 2 → 3 to the next authority, then 409 no_further_appeal', async () => {
  await at(T0 + 3 * HOUR);
  isError(await post(B, g.one, 'appeal', {}), 404, 'not_found');
  isError(await post('officer', g.one, 'appeal', {}), 403, 'forbidden');
  const bad = await post(A, g.one, 'appeal', { note: 7 });
  isError(bad, 400, 'invalid_field');
  assert.equal(bad.json.error.field, 'note');
  const r = await post(A, g.one, 'appeal', { note: 'The agent did not come; my neighbour saw nobody.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.tier, 2);
  assert.equal(r.json.tier_name, 'Appellate authority');
  assert.equal(r.json.status, 'open');
  assert.equal(r.json.decision, null);
  near(Date.parse(r.json.due_at), T0 + 3 * HOUR + 168 * HOUR);
  assert.equal(r.json.handler.name, sqlValue(`SELECT name FROM staff WHERE login = 'appellate'`));
  // Tier 2 has a week to answer: no appeal before that.
  isError(await post(A, g.one, 'appeal', {}), 409, 'wrong_state');
  isError(await post('officer', g.one, 'answer', { decision: 'upheld', note: 'Agreed.' }), 403, 'forbidden');
  const a2 = await post('appellate', g.one, 'answer', { decision: 'upheld', note: 'The visit was missed; a new one is arranged.' });
  assert.equal(a2.status, 200, a2.text);
  // The beneficiary appeals too (either owner may).
  await at(T0 + 4 * HOUR);
  const r3 = await api('POST', `/api/v1/grievances/${g.one}/appeal`, { token: await tok(SUNITA) });
  assert.equal(r3.status, 200, r3.text);
  assert.equal(r3.json.tier, 3);
  assert.equal(r3.json.tier_code, 'final_appellate_authority');
  near(Date.parse(r3.json.due_at), T0 + 4 * HOUR + 360 * HOUR);
  isError(await post('appellate', g.one, 'answer', { decision: 'upheld', note: 'x' }), 403, 'forbidden');
  const a3 = await post('committee', g.one, 'answer', { decision: 'upheld', note: 'Upheld; the agent is cautioned.' });
  assert.equal(a3.status, 200, a3.text);
  assert.equal(a3.json.can_appeal, false);
  const before_ = snapshot();
  isError(await post(A, g.one, 'appeal', {}), 409, 'no_further_appeal');
  assert.equal(snapshot(), before_);
  assert.deepEqual(events(g.one), ['raised 1 resident', 'answered 1 officer rejected', 'appealed 1 2 resident',
    'answered 2 officer upheld', 'appealed 2 3 resident', 'answered 3 committee upheld']);
  // Each step told the resident, and each new authority was told of the grievance.
  assert.equal(sms(g.one, 'grievance_appealed').length, 4);
  assert.equal(sms(g.one, 'grievance_answered').length, 4);
  assert.deepEqual(recipients(g.one, 'grievance_answered_final'), [`${A.phone} en`, `${SUNITA.phone} hi`].sort());
  assert.match(sms(g.one, 'grievance_answered_final').find((m) => m[1] === 'en')[2], /final appellate authority answered .*: upheld\. This is the final answer\./);
  assert.deepEqual(recipients(g.one, 'grievance_assigned'), [`${officerPhone} hi`, `${appellatePhone} en`, `${committeePhone} hi`].sort());
});

test('the resident closes a grievance; after that nothing more happens to it', async () => {
  await at(T0 + 5 * HOUR);
  isError(await post(B, g.one, 'close', {}), 404, 'not_found');
  isError(await post('admin', g.one, 'close', {}), 403, 'forbidden');
  const r = await api('POST', `/api/v1/grievances/${g.one}/close`, { token: await tok(A) });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'closed');
  near(Date.parse(r.json.closed_at), T0 + 5 * HOUR);
  const before_ = snapshot();
  isError(await post(A, g.one, 'close', {}), 409, 'wrong_state');
  isError(await post(A, g.one, 'appeal', {}), 409, 'wrong_state');
  isError(await post('admin', g.one, 'answer', { decision: 'upheld', note: 'Late.' }), 409, 'wrong_state');
  assert.equal(snapshot(), before_);
  assert.equal(events(g.one).at(-1), 'closed 3 resident');
  assert.deepEqual(recipients(g.one, 'grievance_closed'), [`${A.phone} en`, `${SUNITA.phone} hi`].sort());
});

test('a grievance links the resident\'s earlier ones, at raising or later', async () => {
  const r = await raise(A, { booking: book.a2, kind: 'delay', description: 'Same problem as before.', links: [g.one, g.one] });
  assert.equal(r.status, 201, r.text);
  g.two = r.json.reference;
  assert.deepEqual(r.json.links.map((l) => [l.reference, l.booking, l.status]), [[g.one, book.a1, 'closed']]);
  assert.deepEqual(events(g.two), ['raised 1 resident', 'linked 1 resident']);
  assert.deepEqual((await get(A, g.one)).json.linked_by.map((l) => l.reference), [g.two]);
  const before_ = snapshot();
  for (const [who, body, status, name] of [[A, { grievance: g.b }, 400, 'grievance'], [A, { grievance: g.two }, 400, 'grievance'],
    [A, { grievance: 'GV-1' }, 400, 'grievance'], [A, {}, 400, 'grievance'], [A, { grievance: g.one, also: 1 }, 400, 'also'],
    [B, { grievance: g.b }, 404]]) {
    const res = await post(who, g.two, 'links', body);
    isError(res, status);
    if (name) assert.equal(res.json.error.field, name);
  }
  isError(await post('officer', g.two, 'links', { grievance: g.one }), 403, 'forbidden');
  assert.equal(snapshot(), before_);
  const r3 = await raise(A, { booking: book.a1, kind: 'conduct', description: 'The agent was rude on the phone.' });
  assert.equal(r3.status, 201, r3.text);
  g.three = r3.json.reference;
  const l = await post(A, g.three, 'links', { grievance: g.two });
  assert.equal(l.status, 200, l.text);
  assert.deepEqual(l.json.links.map((x) => x.reference), [g.two]);
  const n = events(g.three).length;
  const again = await post(A, g.three, 'links', { grievance: g.two });
  assert.equal(again.status, 200);
  assert.equal(events(g.three).length, n, 'a link made twice is recorded once');
  assert.deepEqual(events(g.three), ['raised 1 resident', 'linked 1 resident']);
  assert.equal(sqlValue(`SELECT count(*) FROM grievance_link l JOIN grievance g ON g.id = l.grievance_id
      WHERE g.reference = ${lit(g.three)}`), '1');
});

test('the worker reminds at 80 % of each tier, escalates at 100 %, and flags tier 3 once', async () => {
  const T1 = T0 + 10 * DAY;
  await at(T1);
  const rw = await raise(A, { booking: book.a2, kind: 'missed_visit', description: 'The agent never came.' });
  assert.equal(rw.status, 201, rw.text);
  const w = g.worker = rw.json.reference;
  const rp = await raise(B, { booking: book.b, kind: 'rejection', description: 'Rejected without a reason.' });
  assert.equal(rp.status, 201, rp.text);
  const p = rp.json.reference;
  isError(await post(B, p, 'appeal', {}), 409, 'wrong_state');
  const worker = (ms) => workerOnce({ MITAN_NOW: iso(ms) });
  const reminders = (ref, phone) => sms(ref, 'grievance_reminder').filter((m) => m[0] === phone).length;

  worker(T1 + 50 * HOUR); // 69 %
  assert.deepEqual(events(w), ['raised 1 resident']);
  worker(T1 + 58 * HOUR); // 80.6 %
  worker(T1 + 60 * HOUR);
  assert.deepEqual(events(w), ['raised 1 resident', 'reminder 1 system']);
  assert.equal(reminders(w, officerPhone), 1);
  assert.match(sms(w, 'grievance_reminder')[0][2], new RegExp(`शिकायत ${w} \\(भेंट नहीं हुई\\) का उत्तर`));

  // Open past its due time and not yet escalated: the resident may appeal already.
  await at(T1 + 72 * HOUR + 2 * 60e3);
  const ap = await post(B, p, 'appeal', { note: 'No answer in three days.' });
  assert.equal(ap.status, 200, ap.text);
  assert.equal(ap.json.tier, 2);

  const E2 = T1 + 72 * HOUR + 5 * 60e3;
  worker(E2);
  worker(E2 + HOUR);
  assert.deepEqual(events(w), ['raised 1 resident', 'reminder 1 system', 'escalated 1 2 system']);
  assert.deepEqual(events(p), ['raised 1 resident', 'reminder 1 system', 'appealed 1 2 resident'], 'appealed, not escalated');
  await at(E2 + HOUR);
  let v = (await get(A, w)).json;
  assert.deepEqual([v.tier, v.status, v.overdue, v.flagged], [2, 'open', false, false]);
  near(Date.parse(v.due_at), E2 + 168 * HOUR);
  assert.equal(v.handler.name, sqlValue(`SELECT name FROM staff WHERE login = 'appellate'`));
  assert.deepEqual(recipients(w, 'grievance_escalated'), [`${A.phone} en`, `${RAMESH_PHONE} en`].sort());
  assert.match(sms(w, 'grievance_escalated')[0][2], /was not answered in time and has gone to the appellate authority/);
  assert.deepEqual(recipients(w, 'grievance_assigned'), [`${officerPhone} hi`, `${appellatePhone} en`].sort());

  worker(E2 + 0.81 * 168 * HOUR);
  assert.equal(events(w).at(-1), 'reminder 2 system');
  assert.equal(reminders(w, appellatePhone), 1);
  const E3 = E2 + 168 * HOUR + 5 * 60e3;
  worker(E3);
  assert.equal(events(w).at(-1), 'escalated 2 3 system');
  near(Date.parse(sqlValue(`SELECT to_json(due_at) #>> '{}' FROM grievance WHERE reference = ${lit(w)}`)), E3 + 360 * HOUR);
  worker(E3 + 0.81 * 360 * HOUR);
  assert.equal(events(w).at(-1), 'reminder 3 system');
  assert.equal(reminders(w, committeePhone), 1);
  worker(E3 + 360 * HOUR + 5 * 60e3);
  worker(E3 + 400 * HOUR);
  assert.deepEqual(events(w), ['raised 1 resident', 'reminder 1 system', 'escalated 1 2 system', 'reminder 2 system',
    'escalated 2 3 system', 'reminder 3 system', 'escalated 3 system']);
  assert.deepEqual(recipients(w, 'grievance_flagged'), [`${A.phone} en`, `${RAMESH_PHONE} en`].sort());
  assert.deepEqual(recipients(w, 'grievance_overdue'), [`${committeePhone} hi`]);
  assert.equal(sms(w, 'grievance_escalated').length, 4);
  await at(E3 + 400 * HOUR);
  v = (await get('committee', w)).json;
  assert.deepEqual([v.tier, v.status, v.overdue, v.flagged, v.can_appeal], [3, 'open', true, true, false]);
  isError(await post(A, w, 'appeal', {}), 409, 'no_further_appeal');
  // The final authority still answers a flagged grievance.
  const late = await post('committee', w, 'answer', { decision: 'upheld', note: 'Upheld, late: the visit is rebooked.' });
  assert.equal(late.status, 200, late.text);
  // The closed grievance got no reminder; every scheduler step is audited as the system's.
  assert.ok(!events(g.one).some((e) => /reminder|escalated/.test(e)));
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(w)} AND actor_role = 'system'`), '6');
});

test('every grievance message renders its registered text with each variable at most 30 characters', () => {
  const rows = sql(`SELECT m.template, m.language, m.variables::text, m.body, t.body FROM sms_outbox m
      JOIN sms_template t ON t.code = m.template AND t.language = m.language WHERE m.template LIKE 'grievance%'`);
  const seen = new Set();
  for (const [template, language, varsText, body, text] of rows) {
    const vars = JSON.parse(varsText);
    const rendered = text.replace(/\{#([a-z_]+)#\}/g, (_, k) => {
      assert.equal(typeof vars[k], 'string', `${template}:${language} {#${k}#}`);
      assert.ok(vars[k].length > 0 && [...vars[k]].length <= 30, `${template}:${language} {#${k}#} = ${vars[k]}`);
      return vars[k];
    });
    assert.equal(body, rendered);
    seen.add(`${template}:${language}`);
  }
  for (const t of ['raised', 'answered', 'answered_final', 'appealed', 'escalated', 'flagged', 'closed'])
    for (const l of ['en', 'hi']) assert.ok(seen.has(`grievance_${t}:${l}`), `grievance_${t}:${l} was sent`);
  for (const t of ['assigned', 'reminder', 'overdue']) assert.ok([...seen].some((k) => k.startsWith(`grievance_${t}:`)), t);
});
