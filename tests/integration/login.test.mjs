// Password sign-in of staff and agents: the right password gives a token with the role,
// a wrong one 401; no reply carries a password hash.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, demoAccounts, isError, lit, sql, sqlValue } from './lib.mjs';

const login = (body) => api('POST', '/api/v1/auth/login', { body });

// No password hash, salt or iteration count in a reply.
function assertNoHashes(text) {
  assert.doesNotMatch(text, /pbkdf2|argon2|\$600000\$|password_hash|"password"/i, text);
  for (const [hash] of sql("SELECT password_hash FROM staff UNION ALL SELECT password_hash FROM agent WHERE code LIKE 'RPR-A0%'"))
    for (const part of hash.split('$').filter((p) => p.length >= 16)) assert.ok(!text.includes(part));
}

test('each staff role and an agent sign in with their password and get a token with their role', async () => {
  const accounts = demoAccounts();
  for (const role of ['operator', 'officer', 'committee', 'admin', 'agent']) {
    const a = accounts.find((x) => x.role === role);
    assert.ok(a, role);
    const r = await login({ login: a.login, password: a.password });
    assert.equal(r.status, 200, `${role}: ${r.text}`);
    assert.equal(r.json.role, role);
    assert.match(r.json.token, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(Date.parse(r.json.expires_at) > Date.now());
    assertNoHashes(r.text);
    // The token is what it says: staff may list bookings, an agent may not (403, not 401).
    const list = await api('GET', '/api/v1/bookings', { token: r.json.token });
    assert.equal(list.status, role === 'agent' ? 403 : 200, `${role}: ${list.text}`);
    const [row] = sql(`SELECT role, coalesce(staff_id, agent_id) IS NOT NULL, person_id IS NULL FROM session
                        WHERE token_hash = sha256(convert_to(${lit(r.json.token)}, 'UTF8'))`);
    assert.deepEqual(row, [role, 't', 't']);
  }
});

test('a wrong password or an unknown login is 401 invalid_credentials, the same for both', async () => {
  const a = demoAccounts().find((x) => x.role === 'admin');
  const sessions = sqlValue('SELECT count(*) FROM session');
  const wrong = await login({ login: a.login, password: `${a.password}x` });
  isError(wrong, 401, 'invalid_credentials');
  assert.equal(wrong.json.token, undefined);
  assertNoHashes(wrong.text);
  const unknown = await login({ login: 'nobody-here', password: a.password });
  isError(unknown, 401, 'invalid_credentials');
  assert.equal(unknown.json.error.message, wrong.json.error.message);
  const agent = demoAccounts().find((x) => x.role === 'agent');
  isError(await login({ login: agent.login, password: a.password }), 401, 'invalid_credentials');
  isError(await login({ login: a.login, password: '' }), 400, 'invalid_field');
  isError(await login({ login: a.login }), 400, 'invalid_field');
  isError(await login({ login: a.login, password: a.password, role: 'admin' }), 400, 'invalid_field');
  isError(await login({ login: ["admin"], password: a.password }), 400, 'invalid_field');
  assert.equal(sqlValue('SELECT count(*) FROM session'), sessions, 'no session for a refused sign-in');
});

test('passwords are stored as PBKDF2-SHA256 with at least 600,000 iterations, never in clear', async () => {
  const accounts = demoAccounts();
  const rows = sql("SELECT login, password_hash FROM staff UNION ALL SELECT code, password_hash FROM agent WHERE code LIKE 'RPR-A%'");
  assert.ok(rows.length >= 28);
  for (const [who, hash] of rows) {
    const m = hash.match(/^pbkdf2-sha256\$(\d+)\$([A-Za-z0-9_-]+)\$([A-Za-z0-9_-]+)$/);
    assert.ok(m, `${who}: ${hash.slice(0, 20)}`);
    assert.ok(Number(m[1]) >= 600000);
    const pw = accounts.find((a) => a.login === who)?.password;
    if (pw) assert.ok(!hash.includes(pw));
  }
  assert.equal(new Set(rows.map((r) => r[1].split('$')[2])).size, rows.length, 'every salt is different');
});
