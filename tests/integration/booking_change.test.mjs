// The seams of the one write path: every audit row is written by audit_write() and every
// booking event by booking_change_record() (in the database and in the sources), each
// change's event and audit entry agree, and an agent's day off reports the true outcome
// of every visit even when one move fails after the day off was committed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { api, sql, sqlValue, lit, staffLogin, residentLogin, ledgerMismatches, isError } from './lib.mjs';
import { makeVisit } from './agent_fixtures.mjs';

const ROOT = new URL('../..', import.meta.url).pathname;

function sources(dir, out = []) {
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = join(dir, name);
    if (statSync(join(ROOT, path)).isDirectory()) sources(path, out);
    else if (/\.(c|h|sql)$/.test(name)) out.push(path);
  }
  return out;
}

const places = (needle) => ['core', 'dispatch', 'agent-api', 'scheduler', 'cmd', 'sql']
  .flatMap((d) => sources(d))
  .flatMap((f) => readFileSync(join(ROOT, f), 'utf8').split('\n')
    .map((line, i) => (line.toUpperCase().includes(needle) ? `${f}:${i + 1}` : null)).filter(Boolean));

test('one writer: INSERT INTO audit_log and INSERT INTO booking_event each appear once in the sources', () => {
  assert.deepEqual(places('INSERT INTO AUDIT_LOG').map((p) => p.split(':')[0]), ['sql/008_write_paths.sql']);
  assert.deepEqual(places('INSERT INTO BOOKING_EVENT').map((p) => p.split(':')[0]), ['sql/008_write_paths.sql']);
  assert.deepEqual(places("'ASIA/KOLKATA'").filter((p) => !p.startsWith('sql/')), [], 'the time zone is the district\'s');
});

test('one writer in the database: only audit_write and booking_change_record insert those rows; no trigger texts', () => {
  const writers = (table) => sql(`SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
                                   WHERE n.nspname = 'public' AND p.prosrc ILIKE '%insert into ${table}%' ORDER BY 1`)
    .map((r) => r[0]);
  assert.deepEqual(writers('audit_log'), ['audit_write']);
  assert.deepEqual(writers('booking_event'), ['booking_change_record']);
  assert.equal(sqlValue(`SELECT count(*) FROM pg_trigger WHERE tgrelid = 'booking_event'::regclass AND NOT tgisinternal`), '0');
});

test('audit_write: the entry as given, {} for no detail, and the log stays append-only', () => {
  const ref = `test-audit-${Date.now()}`;
  const id = sqlValue(`SELECT audit_write(NULL, now(), 'system', NULL, 'test.write', 'test', ${lit(ref)}, NULL)`);
  assert.deepEqual(sql(`SELECT actor_role, action, object_type, object_ref, detail::text FROM audit_log WHERE id = ${id}`)[0],
    ['system', 'test.write', 'test', ref, '{}']);
  const id2 = sqlValue(`SELECT audit_write(1, now(), 'officer', 7, 'test.write', 'test', ${lit(ref)}, '{"n": 1}')`);
  assert.equal(sqlValue(`SELECT detail->>'n' FROM audit_log WHERE id = ${id2}`), '1');
  assert.ok(Number(id2) > Number(id));
});

test('every change of a booking: its event and its audit entry agree, and the ledger holds', async () => {
  const officer = await staffLogin('officer');
  const v = makeVisit('RPR-A05', { status: 'documents_collected', hour: 11 });
  for (const status of ['submitted', 'certificate_ready', 'delivered']) {
    const r = await api('POST', `/api/v1/admin/bookings/${v.reference}/status`, { token: officer, body: { status } });
    assert.equal(r.status, 200, r.text);
  }
  const rows = sql(`SELECT e.action, e.from_status, e.to_status, e.actor_role, a.action, a.detail->>'from', a.detail->>'to',
                           a.actor_role, a.actor_id = e.actor_id
                      FROM booking_event e JOIN booking b ON b.id = e.booking_id
                      JOIN audit_log a ON a.object_ref = b.reference AND (a.detail->>'event')::bigint = e.id
                     WHERE b.reference = ${lit(v.reference)} ORDER BY e.id`);
  assert.deepEqual(rows, [
    ['status', 'documents_collected', 'submitted', 'officer', 'booking.status', 'documents_collected', 'submitted', 'officer', 't'],
    ['status', 'submitted', 'certificate_ready', 'officer', 'booking.status', 'submitted', 'certificate_ready', 'officer', 't'],
    ['status', 'certificate_ready', 'delivered', 'officer', 'booking.status', 'certificate_ready', 'delivered', 'officer', 't'],
  ]);
  // Each step's message is the one the transition table names, once per event.
  assert.equal(sqlValue(`SELECT count(DISTINCT o.dedupe_key) FROM sms_outbox o JOIN booking b ON b.id = o.booking_id
                          WHERE b.reference = ${lit(v.reference)} AND o.template = 'booking_status'`), '3');
  // A step the table does not have changes nothing.
  isError(await api('POST', `/api/v1/admin/bookings/${v.reference}/status`, { token: officer, body: { status: 'submitted' } }),
    409, 'wrong_state');
  assert.equal(sqlValue(`SELECT count(*) FROM booking_event e JOIN booking b ON b.id = e.booking_id
                          WHERE b.reference = ${lit(v.reference)}`), '3');
  assert.equal(ledgerMismatches(), 0);
});

test('a cancel gives the unit back even when the agent is off that day, and closes it to new bookings', async () => {
  const { token } = await residentLogin();
  const v = makeVisit('RPR-A06', { status: 'booked', hour: 16, days: 3 });
  sql(`UPDATE booking SET booker_id = (SELECT person_id FROM session WHERE token_hash = sha256(convert_to(${lit(token)}, 'UTF8')))
        WHERE reference = ${lit(v.reference)}`);
  const day = sqlValue(`SELECT (window_start AT TIME ZONE 'Asia/Kolkata')::date FROM booking WHERE reference = ${lit(v.reference)}`);
  sql(`INSERT INTO agent_unavailable (agent_id, day, district_id, reason, created_by, created_at)
       SELECT a.id, ${lit(day)}, a.district_id, 'test', 0, now() FROM agent a WHERE a.code = 'RPR-A06'
       ON CONFLICT DO NOTHING`);
  const unit = () => sql(`SELECT w.booked, w.capacity FROM agent_window w JOIN booking b ON b.agent_id = w.agent_id
                           AND b.window_start = w.starts_at WHERE b.reference = ${lit(v.reference)}`)[0].map(Number);
  const [booked, capacity] = unit();
  try {
    const r = await api('POST', `/api/v1/bookings/${v.reference}/cancel`, { token, body: {} });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(unit(), [booked - 1, capacity - 1]);
  } finally {
    sql(`DELETE FROM agent_unavailable u USING agent a WHERE a.id = u.agent_id AND a.code = 'RPR-A06' AND u.day = ${lit(day)}`);
  }
  assert.equal(ledgerMismatches(), 0);
});

test('an agent off for a day: a visit whose move fails is reported as not moved, the others move, no 5xx', async () => {
  const officer = await staffLogin('officer');
  // Two visits of RPR-A07 tomorrow; the move of the second is refused by the database.
  const day = sqlValue(`SELECT ((now() AT TIME ZONE 'Asia/Kolkata')::date + 2)::text`);
  const ok = makeVisit('RPR-A07', { status: 'booked', hour: 9, days: 2 });
  const bad = makeVisit('RPR-A07', { status: 'booked', hour: 11, days: 2 });
  sql(`CREATE OR REPLACE FUNCTION pg_temp_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN IF NEW.reference = ${lit(bad.reference)} AND NEW.agent_id IS DISTINCT FROM OLD.agent_id THEN
         RAISE EXCEPTION 'refused for the test'; END IF; RETURN NEW; END $$;
       CREATE TRIGGER test_refuse_move BEFORE UPDATE ON booking FOR EACH ROW EXECUTE FUNCTION pg_temp_refuse()`);
  let r;
  try {
    r = await api('POST', '/api/v1/admin/agents/RPR-A07/unavailable', { token: officer, body: { date: day, reason: 'test: fever' } });
  } finally {
    sql(`DROP TRIGGER test_refuse_move ON booking; DROP FUNCTION pg_temp_refuse()`);
    sql(`DELETE FROM agent_unavailable u USING agent a WHERE a.id = u.agent_id AND a.code = 'RPR-A07' AND u.day = ${lit(day)}`);
  }
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.complete, false);
  assert.deepEqual(r.json.not_moved, [bad.reference]);
  const agentOf = (ref) => sqlValue(`SELECT a.code FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(ref)}`);
  assert.equal(agentOf(bad.reference), 'RPR-A07', 'the failed move changed nothing');
  const movedOrFlagged = [...r.json.moved.map((m) => m.reference), ...r.json.unplaced];
  assert.ok(movedOrFlagged.includes(ok.reference), r.text);
  assert.equal(ledgerMismatches(), 0);
});
