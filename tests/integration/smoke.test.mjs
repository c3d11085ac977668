import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, residentLogin, slots, bookingBody, sqlValue } from './lib.mjs';

test('a resident signs in by OTP and books a visit', async () => {
  const { token } = await residentLogin();
  const open = (await slots()).filter((s) => s.remaining > 0);
  assert.ok(open.length > 0);
  const r = await api('POST', '/api/v1/bookings', { token, body: bookingBody(open[0].start) });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.reference, /^MT-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  assert.equal(r.json.status, 'booked');
  assert.equal(sqlValue(`SELECT status FROM booking WHERE reference = '${r.json.reference}'`), 'booked');
});
