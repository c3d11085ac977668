// The office's steps after the visit (issue 6): submitted → certificate_ready → delivered or
// rejected, by an officer of the booking's district; each step recorded, texted to the
// resident; wrong states, other districts and bad input change nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, sql, sqlValue, lit, staffLogin, residentLogin, isError } from './lib.mjs';
import { makeVisit } from './agent_fixtures.mjs';
import { workerOnce } from './fake_gateway.mjs';

const status = (ref) => sqlValue(`SELECT status FROM booking WHERE reference = ${lit(ref)}`);
const events = (ref) => sql(`SELECT e.from_status, e.to_status, e.actor_role FROM booking_event e JOIN booking b ON b.id = e.booking_id
                             WHERE b.reference = ${lit(ref)} ORDER BY e.id`);
const post = (token, ref, body) => api('POST', `/api/v1/admin/bookings/${ref}/status`, { token, body });

test('an officer moves a collected case to certificate_ready and delivered; each step texts the resident', async () => {
  const officer = await staffLogin('officer');
  const v = makeVisit('RPR-A03', { status: 'documents_collected', hour: 11 });
  let r = await post(officer, v.reference, { status: 'submitted', note: 'sent to the tehsil' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.status, 'submitted');
  r = await post(officer, v.reference, { status: 'certificate_ready' });
  assert.equal(r.status, 200, r.text);
  r = await post(officer, v.reference, { status: 'certificate_ready' }); // a repeat changes nothing
  assert.equal(r.status, 200);
  r = await post(officer, v.reference, { status: 'delivered' });
  assert.equal(r.status, 200, r.text);
  assert.equal(status(v.reference), 'delivered');
  assert.deepEqual(events(v.reference), [
    ['documents_collected', 'submitted', 'officer'],
    ['submitted', 'certificate_ready', 'officer'],
    ['certificate_ready', 'delivered', 'officer'],
  ]);
  const texts = sql(`SELECT variables->>'status' FROM sms_outbox WHERE to_phone = ${lit(v.phone)} AND template = 'booking_status' ORDER BY id`)
    .map((x) => x[0]);
  assert.deepEqual(texts, ['submitted', 'certificate_ready', 'delivered'].map((s) => sqlValue(`SELECT status_label(${lit(s)}, 'en')`)));
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(v.reference)} AND action = 'booking.status'`), '3');
});

test('wrong states, bad input, residents and other districts change nothing', async () => {
  const officer = await staffLogin('officer');
  const v = makeVisit('RPR-A04', { status: 'assigned', hour: 14 });
  isError(await post(officer, v.reference, { status: 'certificate_ready' }), 409, 'wrong_state');
  isError(await post(officer, v.reference, { status: 'arrived' }), 400);
  isError(await post(officer, v.reference, { status: 'submitted', extra: 1 }), 400);
  isError(await post(officer, v.reference, { note: 'x' }), 400);
  isError(await post(officer, 'MT-0000-0000-0000', { status: 'submitted' }), 404);
  const { token: resident } = await residentLogin();
  assert.equal((await post(resident, v.reference, { status: 'submitted' })).status, 403);
  assert.equal((await post(null, v.reference, { status: 'submitted' })).status, 401);
  // An officer of another district does not see the booking.
  sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('OST', 'Other', 'अन्य') ON CONFLICT DO NOTHING`);
  const other = sqlValue(`SELECT id FROM district WHERE code = 'OST'`);
  const rpr = sqlValue(`SELECT id FROM district WHERE code = 'RPR'`);
  sql(`UPDATE session SET district_id = ${other} WHERE token_hash = sha256(convert_to(${lit(officer)}, 'UTF8'))`);
  try {
    isError(await post(officer, v.reference, { status: 'submitted' }), 404);
  } finally {
    sql(`UPDATE session SET district_id = ${rpr} WHERE token_hash = sha256(convert_to(${lit(officer)}, 'UTF8'))`);
  }
  assert.equal(status(v.reference), 'assigned');
  assert.deepEqual(events(v.reference), []);
});

test('a dead letter sent again goes out once more, audited; signing out ends the token', async () => {
  const officer = await staffLogin('officer');
  const phone = '+919000000998';
  const id = sqlValue(`INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, status,
                         attempts, next_attempt_at, last_error, created_at, updated_at)
                       SELECT id, 'test-office-dead-' || gen_random_uuid(), ${lit(phone)}, 'otp', 'en', '{}', 'Mitan test', 'failed', 5,
                              now(), 'DLT template rejected', now(), now() FROM district WHERE code = 'RPR' RETURNING id`);
  const r = await api('POST', `/api/v1/admin/sms/dead-letters/${id}/retry`, { token: officer });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { id: Number(id), status: 'queued' });
  workerOnce();
  assert.equal(sqlValue(`SELECT status FROM sms_outbox WHERE id = ${id}`), 'sent');
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE action = 'sms.retry' AND object_ref = ${lit(id)}`), '1');
  isError(await api('POST', `/api/v1/admin/sms/dead-letters/${id}/retry`, { token: officer }), 409, 'wrong_state');

  // Sign out: the token stops working at once.
  const { token } = await residentLogin();
  assert.equal((await api('GET', '/api/v1/bookings', { token })).status, 200);
  assert.equal((await api('POST', '/api/v1/auth/logout', { token })).status, 204);
  isError(await api('GET', '/api/v1/bookings', { token }), 401);
});

test('staff list the bookings in one status, e.g. certificates to deliver', async () => {
  const officer = await staffLogin('officer');
  const v = makeVisit('RPR-A05', { status: 'certificate_ready', hour: 16 });
  const r = await api('GET', '/api/v1/bookings?status=certificate_ready', { token: officer });
  assert.equal(r.status, 200, r.text);
  assert.ok(r.json.length >= 1 && r.json.every((b) => b.status === 'certificate_ready'));
  assert.ok(r.json.some((b) => b.reference === v.reference));
  isError(await api('GET', '/api/v1/bookings?status=lost', { token: officer }), 400, 'invalid_field');
});
