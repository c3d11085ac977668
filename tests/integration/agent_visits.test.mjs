// The agent's day: visits in route order with their checklist, only the agent's own; the
// status flow at the door with the visit code (wrong codes counted and limited); each
// change is an event, an audit entry and an SMS to the resident. Agents RPR-A05 and RPR-A06.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, isError, lit, sql, sqlValue } from './lib.mjs';
import { agentLogin, makeVisit, mandatoryDocs, randomCode } from './agent_fixtures.mjs';

const ME = 'RPR-A05';
const OTHER = 'RPR-A06';
let me, other;
const status = (ref, body, token = me) => api('POST', `/api/v1/agent/visits/${ref}/status`, { token, body });
const counts = (ref) => {
  const [row] = sql(`SELECT (SELECT count(*) FROM booking_event e WHERE e.booking_id = b.id),
                            (SELECT count(*) FROM sms_outbox m WHERE m.booking_id = b.id),
                            (SELECT count(*) FROM audit_log a WHERE a.object_ref = b.reference), b.status
                       FROM booking b WHERE b.reference = ${lit(ref)}`);
  return { events: Number(row[0]), sms: Number(row[1]), audit: Number(row[2]), status: row[3] };
};

before(async () => {
  me = await agentLogin(ME);
  other = await agentLogin(OTHER);
});

test('the day\'s visits: route order, window, beneficiary, checklist, only the agent\'s own', async () => {
  const a = makeVisit(ME, { hour: 14 });
  const b = makeVisit(ME, { hour: 9 });
  sql(`UPDATE booking SET route_order = 1 WHERE reference = ${lit(a.reference)}`);
  sql(`UPDATE booking SET route_order = 2 WHERE reference = ${lit(b.reference)}`);
  const theirs = makeVisit(OTHER, { hour: 9 });
  const r = await api('GET', '/api/v1/agent/visits', { token: me });
  assert.equal(r.status, 200, r.text);
  const refs = r.json.map((v) => v.reference);
  assert.ok(refs.indexOf(a.reference) >= 0 && refs.indexOf(a.reference) < refs.indexOf(b.reference), 'route order first');
  assert.ok(!refs.includes(theirs.reference), 'another agent\'s visit is not listed');
  const v = r.json.find((x) => x.reference === b.reference);
  assert.match(v.window.start, /T09:00:00\+05:30$/);
  assert.equal(v.beneficiary.name, 'Test Resident');
  assert.match(v.beneficiary.phone, /^\+91/);
  assert.equal(v.service.code, 'income_certificate');
  assert.equal(typeof v.location.lat, 'number');
  assert.deepEqual(v.documents.filter((d) => d.mandatory).map((d) => d.code), mandatoryDocs());
  assert.ok(v.documents.every((d) => d.uploaded === false && typeof d.name === 'string'));
  // Hindi names, another day, a bad date.
  const hi = await api('GET', '/api/v1/agent/visits?lang=hi', { token: me });
  assert.match(hi.json[0].service.name, /[\u0900-\u097F]/);
  const tomorrow = new Date(Date.now() + 5.5 * 3600e3 + 86400e3).toISOString().slice(0, 10);
  const t = await api('GET', `/api/v1/agent/visits?date=${tomorrow}`, { token: me });
  assert.equal(t.status, 200);
  assert.ok(!t.json.some((x) => x.reference === a.reference));
  isError(await api('GET', '/api/v1/agent/visits?date=2026-02-30', { token: me }), 400);
  isError(await api('GET', '/api/v1/agent/visits?date=tomorrow', { token: me }), 400);
  // Residents and anonymous callers are refused.
  isError(await api('GET', '/api/v1/agent/visits'), 401);
});

test('another agent can neither see nor change a visit (404), and nothing is recorded', async () => {
  const v = makeVisit(ME, { hour: 11 });
  const before = counts(v.reference);
  isError(await status(v.reference, { status: 'en_route' }, other), 404, 'not_found');
  isError(await status(v.reference, { status: 'arrived', visit_code: v.code }, other), 404, 'not_found');
  assert.deepEqual(counts(v.reference), before);
  assert.equal(sqlValue(`SELECT count(*) FROM visit_code_attempt a JOIN booking b ON b.id = a.booking_id
                          WHERE b.reference = ${lit(v.reference)}`), '0');
});

test('a visit walked to completed: each change is an event, an audit entry and an SMS', async () => {
  const v = makeVisit(ME, { hour: 11 });
  let c = counts(v.reference);
  // Bad input changes nothing.
  isError(await status(v.reference, { status: 'teleported' }), 400);
  isError(await status(v.reference, { status: 'en_route', extra: 1 }), 400);
  isError(await status(v.reference, { status: 'arrived', visit_code: v.code }), 409, 'wrong_state');
  isError(await status(v.reference, { status: 'completed' }), 409, 'wrong_state');
  assert.deepEqual(counts(v.reference), c);

  let r = await status(v.reference, { status: 'en_route', lat: 21.28, lon: 81.6 });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'en_route');
  const after = counts(v.reference);
  assert.deepEqual([after.events, after.sms, after.audit], [c.events + 1, c.sms + 1, c.audit + 1]);
  assert.equal(sqlValue(`SELECT template FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
                          WHERE b.reference = ${lit(v.reference)} ORDER BY m.id DESC LIMIT 1`), 'status_en_route');
  assert.equal(sqlValue(`SELECT ST_AsText(e.location) FROM booking_event e JOIN booking b ON b.id = e.booking_id
                          WHERE b.reference = ${lit(v.reference)} ORDER BY e.id DESC LIMIT 1`), 'POINT(81.6 21.28)');
  // The same status again (a handset's retry) is a no-op.
  r = await status(v.reference, { status: 'en_route' });
  assert.equal(r.status, 200);
  assert.deepEqual(counts(v.reference), after);

  isError(await status(v.reference, { status: 'arrived' }), 400); // no code
  r = await status(v.reference, { status: 'arrived', visit_code: v.code });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'arrived');

  // documents_collected needs the mandatory documents, or a reason.
  c = counts(v.reference);
  const missing = await status(v.reference, { status: 'documents_collected' });
  isError(missing, 422, 'documents_missing');
  for (const d of mandatoryDocs()) assert.ok(missing.json.error.message.includes(d), d);
  assert.deepEqual(counts(v.reference), c);
  r = await status(v.reference, { status: 'documents_collected', note: 'resident will bring the ration card to the office' });
  assert.equal(r.status, 200, r.text);
  assert.match(sqlValue(`SELECT e.note FROM booking_event e JOIN booking b ON b.id = e.booking_id
                          WHERE b.reference = ${lit(v.reference)} ORDER BY e.id DESC LIMIT 1`), /^missing: .*ration card/);
  r = await status(v.reference, { status: 'completed' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'completed');
  const end = counts(v.reference);
  assert.equal(end.status, 'completed');
  assert.equal(end.events, c.events + 2);
  const templates = sql(`SELECT DISTINCT template FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
                          WHERE b.reference = ${lit(v.reference)}`).map((x) => x[0]).sort();
  assert.deepEqual(templates, ['status_arrived', 'status_completed', 'status_documents_collected', 'status_en_route']);
  const body = sqlValue(`SELECT body FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
                          WHERE b.reference = ${lit(v.reference)} AND template = 'status_completed'`);
  assert.ok(body.includes(v.reference) && body.includes('/t/'), body);
  // The resident's view of the booking lists the events.
  const events = sql(`SELECT to_status FROM booking_event e JOIN booking b ON b.id = e.booking_id
                       WHERE b.reference = ${lit(v.reference)} ORDER BY e.id`).map((x) => x[0]);
  assert.deepEqual(events, ['en_route', 'arrived', 'documents_collected', 'completed']);
});

test('wrong visit codes are counted and limited; the right code then is refused too', async () => {
  const v = makeVisit(ME, { hour: 14, status: 'en_route' });
  const max = 5; // cfg.visit_code_max_attempts default
  for (let i = 0; i < max; i++) {
    let wrong = randomCode();
    if (wrong === v.code) wrong = String((Number(wrong) + 1) % 1e6).padStart(6, '0');
    const r = await status(v.reference, { status: 'arrived', visit_code: wrong });
    isError(r, 422, 'wrong_visit_code');
    assert.match(r.json.error.message, new RegExp(`${max - i - 1} tries left`));
  }
  const locked = await status(v.reference, { status: 'arrived', visit_code: v.code });
  isError(locked, 429, 'too_many_attempts');
  assert.ok(locked.headers.get('retry-after'));
  assert.equal(counts(v.reference).status, 'en_route');
  assert.equal(sqlValue(`SELECT count(*) FROM visit_code_attempt a JOIN booking b ON b.id = a.booking_id
                          WHERE b.reference = ${lit(v.reference)} AND NOT a.ok`), String(max));
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(v.reference)} AND action = 'visit.code_wrong'`),
    String(max));
  // A new code from the office (a new hash) starts the count afresh.
  const fresh = makeVisit(ME, { hour: 14, status: 'en_route' });
  sql(`UPDATE booking SET visit_code_hash = (SELECT visit_code_hash FROM booking WHERE reference = ${lit(fresh.reference)})
        WHERE reference = ${lit(v.reference)}`);
  // (the hash is bound to the reference, so the other booking's code does not open this door)
  isError(await status(v.reference, { status: 'arrived', visit_code: fresh.code }), 422, 'wrong_visit_code');
});

test('no visit code sent yet, another day, no_show and failed need a reason', async () => {
  const nocode = makeVisit(ME, { hour: 16, status: 'en_route', code: null });
  isError(await status(nocode.reference, { status: 'arrived', visit_code: '123456' }), 409, 'no_visit_code');
  const later = makeVisit(ME, { hour: 9, days: 1 });
  isError(await status(later.reference, { status: 'en_route' }), 409, 'not_visit_day');
  const v = makeVisit(ME, { hour: 16 });
  assert.equal((await status(v.reference, { status: 'en_route' })).status, 200);
  isError(await status(v.reference, { status: 'no_show' }), 400);
  const r = await status(v.reference, { status: 'no_show', note: 'house locked, neighbour says away' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'no_show');
  assert.equal(sqlValue(`SELECT count(*) FROM sms_outbox m JOIN booking b ON b.id = m.booking_id
                          WHERE b.reference = ${lit(v.reference)} AND template = 'status_no_show'`), '1');
  isError(await status(v.reference, { status: 'en_route' }), 409, 'wrong_state');
});

test('location pings are stored; bad ones are refused', async () => {
  const before = Number(sqlValue(`SELECT count(*) FROM agent_location l JOIN agent a ON a.id = l.agent_id WHERE a.code = ${lit(ME)}`));
  const r = await api('POST', '/api/v1/agent/location', { token: me, body: { lat: 21.25, lon: 81.62, accuracy: 12 } });
  assert.equal(r.status, 204, r.text);
  isError(await api('POST', '/api/v1/agent/location', { token: me, body: { lat: 121, lon: 81.6 } }), 400);
  isError(await api('POST', '/api/v1/agent/location', { token: me, body: { lat: 21 } }), 400);
  assert.equal(Number(sqlValue(`SELECT count(*) FROM agent_location l JOIN agent a ON a.id = l.agent_id WHERE a.code = ${lit(ME)}`)),
    before + 1);
});
