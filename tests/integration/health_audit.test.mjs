// Health endpoints and metrics; the append-only, hash-chained audit log. Zone RPR-Z4, day +8.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, ZONES, bookingBody, lit, residentLogin, setWindowFree, sql, sqlError, sqlValue, windowStart } from './lib.mjs';

const metric = (text, name, labels = '') => text.split('\n')
  .filter((l) => l.startsWith(`${name}${labels}`) && (labels || l[name.length] === ' ' || l[name.length] === '{'))
  .reduce((sum, l) => sum + Number(l.trim().split(/\s+/).pop()), 0);

test('healthz and readyz answer 200', async () => {
  const h = await api('GET', '/healthz');
  assert.equal(h.status, 200);
  assert.equal(h.json.status, 'ok');
  const r = await api('GET', '/readyz');
  assert.equal(r.status, 200);
  assert.equal(r.json.status, 'ready');
  const head = await fetch(`${process.env.MITAN_URL || 'http://127.0.0.1:8080'}/healthz`, { method: 'HEAD' });
  assert.equal(head.status, 200);
});

test('/metrics is Prometheus text that counts requests and errors', async () => {
  const before = await api('GET', '/metrics');
  assert.equal(before.status, 200);
  assert.match(before.headers.get('content-type'), /^text\/plain/);
  assert.match(before.text, /^# TYPE mitan_http_requests_total counter$/m);
  assert.match(before.text, /^mitan_http_requests_total\{class="2xx"\} \d+$/m);
  for (let i = 0; i < 3; i++) assert.equal((await api('GET', '/healthz')).status, 200);
  assert.equal((await api('GET', '/api/v1/no-such-thing')).status, 404);
  const after = await api('GET', '/metrics');
  const ok = (t) => metric(t, 'mitan_http_requests_total', '{class="2xx"}');
  const client = (t) => metric(t, 'mitan_http_requests_total', '{class="4xx"}');
  assert.ok(ok(after.text) >= ok(before.text) + 4, `2xx ${ok(before.text)} -> ${ok(after.text)}`);
  assert.ok(client(after.text) >= client(before.text) + 1);
  assert.ok(metric(after.text, 'mitan_http_errors_total', '{code="not_found"}') >= 1);
});

test('a booking is audited; the log refuses UPDATE, DELETE and TRUNCATE; entries are sealed into a valid chain', async () => {
  setWindowFree('RPR-Z4', windowStart(8, 9), [2, 2, 2, 2]);
  const { token, phone } = await residentLogin();
  const r = await api('POST', '/api/v1/bookings', {
    token, body: bookingBody(windowStart(8, 9), { location: ZONES['RPR-Z4'] }) });
  assert.equal(r.status, 201, r.text);
  const ref = r.json.reference;
  const rows = sql(`SELECT a.id, a.action, a.actor_role, a.actor_id = p.id, a.object_type
                      FROM audit_log a, person p WHERE a.object_ref = ${lit(ref)} AND p.phone = ${lit(phone)}`);
  assert.equal(rows.length, 1, JSON.stringify(rows));
  const [id, action, role, byCaller, type] = rows[0];
  assert.deepEqual([action, role, byCaller, type], ['booking.created', 'resident', 't', 'booking']);

  const snapshot = () => sqlValue(`SELECT row_to_json(a)::text FROM audit_log a WHERE id = ${id}`);
  const original = snapshot();
  for (const statement of [
    `UPDATE audit_log SET action = 'booking.nothing' WHERE id = ${id}`,
    `UPDATE audit_log SET detail = '{}' WHERE object_ref = ${lit(ref)}`,
    `DELETE FROM audit_log WHERE id = ${id}`,
    'TRUNCATE audit_log',
  ]) {
    const err = sqlError(statement);
    assert.match(err, /append-only/, `${statement} was not refused: ${err || 'it succeeded'}`);
  }
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(ref)}`), '1');

  // The sealer chains it within a few seconds.
  let sealed = false;
  for (let i = 0; i < 100 && !sealed; i++) {
    sealed = sqlValue(`SELECT hash IS NOT NULL AND chain_no IS NOT NULL FROM audit_log WHERE id = ${id}`) === 't';
    if (!sealed) await new Promise((res) => setTimeout(res, 100));
  }
  assert.ok(sealed, 'the entry was sealed');
  assert.equal(sqlValue('SELECT audit_verify() IS NULL'), 't');
  // Sealed entries are as immutable as the others, the seal included.
  assert.match(sqlError(`UPDATE audit_log SET hash = sha256('x') WHERE id = ${id}`), /append-only/);
  assert.match(sqlError(`UPDATE audit_log SET hash = NULL, chain_no = NULL, prev_hash = NULL WHERE id = ${id}`), /append-only/);
  const [content] = sql(`SELECT action, object_ref, actor_role FROM audit_log WHERE id = ${id}`);
  assert.deepEqual(content, ['booking.created', ref, 'resident']);
  assert.equal(JSON.parse(snapshot()).detail.to, JSON.parse(original).detail.to);
});

test('audit_verify finds an entry changed behind the triggers back', async () => {
  // In a transaction that is rolled back: the triggers off, one sealed entry changed.
  const id = sqlValue('SELECT max(chain_no) FROM audit_log WHERE chain_no IS NOT NULL');
  assert.ok(Number(id) > 0, 'there is a sealed entry');
  const out = sql(`BEGIN;
    ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
    UPDATE audit_log SET actor_role = 'admin' WHERE chain_no = ${id};
    SELECT coalesce(audit_verify()::text, 'intact');
    ROLLBACK;`);
  assert.deepEqual(out.flat().filter((v) => /^\d+$|^intact$/.test(v)), [String(id)]);
  assert.equal(sqlValue('SELECT audit_verify() IS NULL'), 't');
});

test('an unsealed entry cannot be given a forged seal that drops it from the chain', async () => {
  // Only the sealer may seal, and only with the entry's true place in the chain: a made-up
  // hash would leave the entry outside the chain, where audit_verify never looks.
  const err = sqlError(`BEGIN;
    INSERT INTO audit_log (at, actor_role, action, object_type, object_ref) VALUES (now(), 'admin', 'test.forge', 'test', 'forge');
    UPDATE audit_log SET hash = sha256('forged') WHERE action = 'test.forge' AND hash IS NULL;
    ROLLBACK;`);
  assert.match(err, /append-only/, 'a forged seal was accepted');
  const err2 = sqlError(`BEGIN;
    INSERT INTO audit_log (at, actor_role, action, object_type, object_ref) VALUES (now(), 'admin', 'test.forge', 'test', 'forge');
    UPDATE audit_log SET chain_no = 999999999, prev_hash = NULL, hash = audit_entry_digest(NULL, audit_log)
     WHERE action = 'test.forge' AND hash IS NULL;
    ROLLBACK;`);
  assert.match(err2, /append-only/, 'a seal outside the chain was accepted');
  // The sealer itself still works (the test above saw entries sealed) and the chain is intact.
  assert.equal(sqlValue('SELECT audit_verify() IS NULL'), 't');
});
