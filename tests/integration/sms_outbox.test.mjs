// The outbox with the log driver (`bin/mitan worker --once`): the per-phone hourly limit
// defers rather than drops (OTPs excepted), and delivery reports (HMAC-signed, idempotent,
// forward only).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomInt } from 'node:crypto';
import { api, isError, lit, randomPhone, sql, sqlValue } from './lib.mjs';
import { workerOnce } from './fake_gateway.mjs';

const SECRET = process.env.MITAN_SMS_DLR_SECRET || 'test-dlr-secret';
const RUN = randomInt(1e5, 1e6);
let seq = 0;

function queue(phone, template = 'booking_status', n = 1) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    seq++;
    rows.push(`((SELECT id FROM district WHERE code = 'RPR'), 'test-outbox:${RUN}:${seq}', ${lit(phone)}, ${lit(template)},
                'en', '{}'::jsonb, 'Mitan: test ${seq}', now() + ${i} * interval '1 millisecond', now(), now())`);
  }
  return sql(`WITH i AS (INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body,
                                                next_attempt_at, created_at, updated_at)
                         VALUES ${rows.join(', ')} RETURNING id) SELECT id FROM i ORDER BY id`).map((r) => r[0]);
}
const row = (id) => {
  const [r] = sql(`SELECT status, attempts, coalesce(last_error, ''), extract(epoch FROM next_attempt_at),
                          extract(epoch FROM sent_at), delivered_at IS NOT NULL FROM sms_outbox WHERE id = ${id}`);
  return { status: r[0], attempts: Number(r[1]), error: r[2], next: Number(r[3]), sentAt: Number(r[4]), delivered: r[5] === 't' };
};

function dlr(body, { signature, raw } = {}) {
  const text = raw ?? JSON.stringify(body);
  const sig = signature ?? createHmac('sha256', SECRET).update(text).digest('hex');
  return api('POST', '/api/v1/sms/dlr', { raw: text, headers: { 'Content-Type': 'application/json', 'X-Signature': sig } });
}

before(() => {
  workerOnce(); // earlier tests' messages go out first
});

test('the per-phone limit defers messages past the hourly count (OTPs excepted), and sends them later', () => {
  const phone = randomPhone();
  const ids = queue(phone, 'booking_status', 5);
  const [otp] = queue(phone, 'otp');
  workerOnce({ MITAN_SMS_PER_PHONE_PER_HOUR: '3' });
  workerOnce({ MITAN_SMS_PER_PHONE_PER_HOUR: '3' });
  const rows = ids.map(row);
  assert.deepEqual(rows.map((r) => r.status), ['sent', 'sent', 'sent', 'queued', 'queued']);
  assert.equal(row(otp).status, 'sent', 'an OTP is never held back by this limit');
  const firstSent = rows[0].sentAt;
  for (const r of rows.slice(3)) {
    assert.equal(r.attempts, 0, 'deferring is not an attempt');
    assert.match(r.error, /per-phone hourly limit/);
    assert.ok(Math.abs(r.next - (firstSent + 3600)) < 5, `deferred to when the hour frees: ${r.next} vs ${firstSent + 3600}`);
  }
  // An hour later they go.
  workerOnce({ MITAN_SMS_PER_PHONE_PER_HOUR: '3', MITAN_NOW: new Date(Date.now() + 3605e3).toISOString() });
  assert.deepEqual(ids.map(row).map((r) => r.status), ['sent', 'sent', 'sent', 'sent', 'sent']);
});

test('a delivery report needs the HMAC of its body', async () => {
  const [id] = queue(randomPhone());
  workerOnce();
  const body = { client_ref: id, status: 'delivered' };
  isError(await api('POST', '/api/v1/sms/dlr', { body }), 401, 'invalid_signature');
  isError(await dlr(body, { signature: 'ab'.repeat(32) }), 401, 'invalid_signature');
  const forged = createHmac('sha256', 'not-the-secret').update(JSON.stringify(body)).digest('hex');
  isError(await dlr(body, { signature: forged }), 401, 'invalid_signature');
  // Signed over other bytes than those sent.
  const other = createHmac('sha256', SECRET).update(JSON.stringify({ ...body, status: 'failed' })).digest('hex');
  isError(await dlr(body, { signature: other }), 401, 'invalid_signature');
  assert.equal(row(id).status, 'sent');
});

test('delivery reports are idempotent and only move a message forward', async () => {
  const [a, b, c] = queue(randomPhone(), 'booking_status', 3);
  workerOnce();
  const gatewayId = sqlValue(`SELECT gateway_id FROM sms_outbox WHERE id = ${a}`);
  let r = await dlr({ gateway_id: gatewayId, status: 'DELIVRD', at: new Date().toISOString() });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.json, { status: 'delivered', changed: true });
  assert.ok(row(a).delivered);
  r = await dlr({ client_ref: a, status: 'delivered' });
  assert.deepEqual(r.json, { status: 'delivered', changed: false }, 'a repeat changes nothing');
  r = await dlr({ client_ref: a, status: 'sent' });
  assert.deepEqual(r.json, { status: 'delivered', changed: false }, 'never backwards');
  r = await dlr({ client_ref: a, status: 'failed', error: 'late report' });
  assert.deepEqual(r.json, { status: 'delivered', changed: false });
  // failed is terminal.
  r = await dlr({ client_ref: b, status: 'undelivered', error: 'handset off for 72 h' });
  assert.deepEqual(r.json, { status: 'failed', changed: true });
  r = await dlr({ client_ref: b, status: 'delivered' });
  assert.deepEqual(r.json, { status: 'failed', changed: false });
  assert.equal(sqlValue(`SELECT last_error FROM sms_outbox WHERE id = ${b}`), 'handset off for 72 h');
  // A report may overtake the worker's own record; the message then stays delivered.
  const [q] = queue(randomPhone());
  r = await dlr({ client_ref: q, status: 'delivered' });
  assert.deepEqual(r.json, { status: 'delivered', changed: true });
  workerOnce();
  assert.equal(row(q).status, 'delivered');
  assert.equal(row(q).attempts, 0, 'not sent again');
  // Bad reports.
  isError(await dlr({ client_ref: '999999999', status: 'delivered' }), 404, 'not_found');
  isError(await dlr({ client_ref: c, status: 'teleported' }), 400, 'invalid_field');
  isError(await dlr({ status: 'delivered' }), 400, 'invalid_field');
  isError(await dlr({ client_ref: c, status: 'delivered', extra: 1 }), 400, 'invalid_field');
  isError(await dlr(null, { raw: '{"client_ref": ' }), 400, 'invalid_json');
  assert.equal(row(c).status, 'sent');
});

test('the log driver shows what would have been sent; other drivers hide the view', async () => {
  const phone = randomPhone();
  queue(phone);
  workerOnce();
  const r = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(phone)}`);
  assert.equal(r.status, 200);
  assert.equal(r.json[0].status, 'sent');
  assert.equal(sqlValue(`SELECT gateway_id LIKE 'log-%' FROM sms_outbox WHERE to_phone = ${lit(phone)}`), 't');
});
