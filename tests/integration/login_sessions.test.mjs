// Sessions end when their account does: deactivating an agent (officer's API) or a staff
// account (SQL) ends their sessions at once, reactivation does not bring them back, and no
// request is served to an account that is no longer active. Everything happens in a
// district of its own (SES, no slot templates: its agents hold no visits).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { api, sql, sqlValue, lit, isError } from './lib.mjs';

sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('SES', 'Session test', 'सत्र') ON CONFLICT DO NOTHING;
     INSERT INTO zone (district_id, code, name_en, name_hi, area)
       SELECT id, 'SES-Z1', 'Session zone', 'सत्र ज़ोन', ST_Multi(ST_MakeEnvelope(83.00, 23.00, 83.10, 23.10, 4326))
         FROM district WHERE code = 'SES' ON CONFLICT DO NOTHING;
     INSERT INTO staff (login, password_hash, role, name, district_id)
       SELECT login, '!', role, name, id FROM district,
              (VALUES ('ses-officer', 'officer', 'SES officer'), ('ses-operator', 'operator', 'SES operator')) s(login, role, name)
        WHERE code = 'SES' ON CONFLICT DO NOTHING;`);

// A session made directly (a login would cost a PBKDF2): for staff (by login) or an agent (by code).
function session(role, who) {
  const token = randomBytes(32).toString('base64url');
  const hash = createHash('sha256').update(token).digest('hex');
  const [table, column, key] = role === 'agent' ? ['agent', 'agent_id', 'code'] : ['staff', 'staff_id', 'login'];
  sql(`INSERT INTO session (token_hash, role, ${column}, district_id, created_at, expires_at)
       SELECT decode(${lit(hash)}, 'hex'), ${lit(role)}, x.id, x.district_id, now(), now() + interval '1 day'
         FROM ${table} x WHERE x.${key} = ${lit(who)}`);
  return token;
}
const sessions = (column, table, key, who) =>
  Number(sqlValue(`SELECT count(*) FROM session WHERE ${column} = (SELECT id FROM ${table} WHERE ${key} = ${lit(who)})`));
const me = (token) => api('GET', '/api/v1/agent/visits', { token });

test('an agent deactivated by an officer loses every session at once; reactivated, it must sign in again', async () => {
  const officer = session('officer', 'ses-officer');
  const made = await api('POST', '/api/v1/admin/agents', { token: officer, body: {
    name: 'Session Test', phone: '+919811100077', zone: 'SES-Z1', base: { lat: 23.05, lon: 83.05 } } });
  assert.equal(made.status, 201, made.text);
  const { code, password } = made.json;
  const login = await api('POST', '/api/v1/auth/login', { body: { login: code, password } });
  assert.equal(login.status, 200, login.text);
  const token = login.json.token;
  const second = session('agent', code); // a second handset
  assert.equal((await me(token)).status, 200);
  assert.equal((await me(second)).status, 200);

  const off = await api('PATCH', `/api/v1/admin/agents/${code}`, { token: officer, body: { active: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(sessions('agent_id', 'agent', 'code', code), 0, 'the session rows are gone');
  isError(await me(token), 401, 'unauthenticated');
  isError(await me(second), 401, 'unauthenticated');
  isError(await api('POST', '/api/v1/auth/login', { body: { login: code, password } }), 401);

  const on = await api('PATCH', `/api/v1/admin/agents/${code}`, { token: officer, body: { active: true } });
  assert.equal(on.status, 200, on.text);
  isError(await me(token), 401, 'unauthenticated');
  const again = await api('POST', '/api/v1/auth/login', { body: { login: code, password } });
  assert.equal(again.status, 200, again.text);
  assert.equal((await me(again.json.token)).status, 200);
});

test('a staff account deactivated in SQL loses its sessions; a session left behind is refused anyway', async () => {
  const operator = session('operator', 'ses-operator');
  const list = () => api('GET', '/api/v1/bookings', { token: operator });
  assert.equal((await list()).status, 200);
  sql(`UPDATE staff SET active = false WHERE login = 'ses-operator'`);
  try {
    assert.equal(sessions('staff_id', 'staff', 'login', 'ses-operator'), 0);
    isError(await list(), 401, 'unauthenticated');
    // A session of an inactive account, however it came to be, serves nothing.
    const stray = session('operator', 'ses-operator');
    isError(await api('GET', '/api/v1/bookings', { token: stray }), 401, 'unauthenticated');
  } finally {
    sql(`UPDATE staff SET active = true WHERE login = 'ses-operator'`);
  }
  isError(await list(), 401, 'unauthenticated');
});

test('an agent session left behind for an inactive agent is refused', async () => {
  sql(`INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, active)
       SELECT 'SES-X01', '!', 'Inactive agent', '+919900000002', z.district_id, z.id,
              ST_SetSRID(ST_MakePoint(83.05, 23.05), 4326)::geography, false
         FROM zone z WHERE z.code = 'SES-Z1' ON CONFLICT (code) DO NOTHING`);
  isError(await me(session('agent', 'SES-X01')), 401, 'unauthenticated');
});
