// The sealed fortnightly report (sql/007): when a fortnight closes, the worker stores the
// district's report as it stood, with its SHA-256 in the audit log; later changes do not touch
// it; the seal itself can never be changed. District SEA, made here, in January 2024.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { api, sql, sqlValue, sqlError, lit, isError, randomPhone } from './lib.mjs';
import { workerOnce } from './fake_gateway.mjs';

sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('SEA', 'Seal test', 'मुहर') ON CONFLICT DO NOTHING;
     INSERT INTO zone (district_id, code, name_en, name_hi, area)
       SELECT id, 'SEA-Z1', 'Seal zone', 'मुहर ज़ोन', ST_Multi(ST_MakeEnvelope(83.00, 23.00, 83.10, 23.10, 4326))
         FROM district WHERE code = 'SEA' ON CONFLICT DO NOTHING;
     INSERT INTO staff (login, password_hash, role, name, district_id)
       SELECT 'sea-committee', '!', 'committee', 'SEA committee', id FROM district WHERE code = 'SEA' ON CONFLICT DO NOTHING;`);

function session(login) {
  const token = randomBytes(32).toString('base64url');
  sql(`INSERT INTO session (token_hash, role, staff_id, district_id, created_at, expires_at)
       SELECT decode(${lit(createHash('sha256').update(token).digest('hex'))}, 'hex'), s.role, s.id, s.district_id,
              now() - interval '1 day', now() + interval '1 day' FROM staff s WHERE s.login = ${lit(login)}`);
  return token;
}

// A booking created at `at` (no agent: the report counts creations from the events).
function booked(at) {
  const phone = randomPhone();
  sql(`WITH p AS (INSERT INTO person (phone, name, created_at) VALUES (${lit(phone)}, 'Seal Resident', ${lit(at)}) RETURNING id),
       b AS (INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, beneficiary_id, beneficiary_name,
                                  beneficiary_language, address, location, zone_id, window_start, window_end, status, fee_paise,
                                  created_by_role, created_by_id, created_at, updated_at)
             SELECT z.district_id, ${lit('MT-SEAL-' + randomBytes(4).toString('hex').toUpperCase().slice(0, 4) + '-' + randomBytes(2).toString('hex').toUpperCase())},
                    decode(${lit(randomBytes(32).toString('hex'))}, 'hex'), 'income_certificate', p.id, p.id, 'Seal Resident', 'hi',
                    'House 1, Seal Lane', ST_SetSRID(ST_MakePoint(83.05, 23.05), 4326), z.id,
                    ${lit(at)}::timestamptz + interval '2 days', ${lit(at)}::timestamptz + interval '2 days 2 hours', 'booked', 3000,
                    'test', 0, ${lit(at)}, ${lit(at)}
               FROM zone z, p WHERE z.code = 'SEA-Z1' RETURNING id, district_id)
       INSERT INTO booking_event (booking_id, district_id, action, to_status, actor_role, at)
       SELECT id, district_id, 'created', 'booked', 'resident', ${lit(at)} FROM b`);
}

test('a closed fortnight is sealed once, served byte for byte with its digest, and never changes', async () => {
  const committee = session('sea-committee');
  booked('2024-01-05T10:00:00+05:30');
  const path = '/api/v1/reports/fortnightly/sealed?period=2024-01-1';
  isError(await api('GET', path, { token: committee }), 404, 'not_sealed');

  // The worker's scan just after the fortnight closed seals it; a second scan seals nothing more.
  workerOnce({ MITAN_NOW: '2024-01-16T00:20:00+05:30' });
  workerOnce({ MITAN_NOW: '2024-01-16T00:40:00+05:30' });
  assert.equal(sqlValue(`SELECT count(*) FROM report_seal s JOIN district d ON d.id = s.district_id WHERE d.code = 'SEA'`), '1');
  const audit = sql(`SELECT detail->>'sha256' FROM audit_log WHERE action = 'report.sealed' AND object_ref = 'SEA:2024-01-1'`);
  assert.equal(audit.length, 1);

  const r = await fetch(`${process.env.MITAN_URL}${path}`, { headers: { Authorization: `Bearer ${committee}` } });
  assert.equal(r.status, 200);
  const bytes = Buffer.from(await r.arrayBuffer());
  const digest = createHash('sha256').update(bytes).digest('hex');
  assert.equal(r.headers.get('x-mitan-sha256'), digest);
  assert.equal(audit[0][0], digest);
  assert.match(r.headers.get('x-mitan-sealed-at'), /^2024-01-16T00:[24]0:00\+05:30$/);
  const sealed = JSON.parse(bytes.toString('utf8'));
  assert.equal(sealed.period.code, '2024-01-1');
  assert.equal(sealed.period.complete, true);
  assert.equal(sealed.totals.booked, 1);

  // A booking recorded later in that fortnight changes the live report, not the sealed one.
  booked('2024-01-10T10:00:00+05:30');
  const live = await api('GET', '/api/v1/reports/fortnightly?period=2024-01-1', { token: committee });
  assert.equal(live.json.totals.booked, 2);
  const again = await fetch(`${process.env.MITAN_URL}${path}`, { headers: { Authorization: `Bearer ${committee}` } });
  assert.equal(createHash('sha256').update(Buffer.from(await again.arrayBuffer())).digest('hex'), digest);
  assert.match(sqlError(`UPDATE report_seal SET body = '{}' WHERE period = '2024-01-1'`), /never changed/);
  assert.match(sqlError(`DELETE FROM report_seal WHERE period = '2024-01-1'`), /never changed/);

  // A worker whose clock is past the end of the fortnight now running does not seal it: it has
  // not ended by the wall clock.
  const ist = new Date(Date.now() + 5.5 * 3600e3);
  const [y, m, first] = [ist.getUTCFullYear(), ist.getUTCMonth(), ist.getUTCDate() <= 15];
  const nowPeriod = `${ist.toISOString().slice(0, 7)}-${first ? 1 : 2}`;
  const ends = Date.UTC(y, first ? m : m + 1, first ? 16 : 1) - 5.5 * 3600e3; // local midnight after its last day
  booked(new Date(Date.now() - 3600e3).toISOString());
  workerOnce({ MITAN_NOW: new Date(ends + 20 * 60e3).toISOString() }); // its last complete fortnight: this one
  assert.equal(sqlValue(`SELECT count(*) FROM report_seal s JOIN district d ON d.id = s.district_id
                          WHERE d.code = 'SEA' AND s.period = ${lit(nowPeriod)}`), '0');

  // A fortnight with nothing booked is not sealed; other districts are not the caller's.
  isError(await api('GET', '/api/v1/reports/fortnightly/sealed?period=2023-12-2', { token: committee }), 404, 'not_sealed');
  isError(await api('GET', `${path}&district=RPR`, { token: committee }), 403);
  isError(await api('GET', '/api/v1/reports/fortnightly/sealed?period=2024-13-1', { token: committee }), 400, 'invalid_field');
});
