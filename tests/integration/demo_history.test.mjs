// The demo city's past weeks (sql/seed/demo_history.sql, written by `mitan seed --demo`):
// it is there, spread over the zones, services and fortnights; it is consistent with the
// rest of the system (the capacity ledger, each booking's status and its events, the SMS
// outbox, grievances); the committee's default report shows it; and seeding again adds
// nothing. Read-only: the idempotency check runs the file again inside a rolled-back
// transaction.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { api, DATA, ledgerMismatches, sql, sqlValue, staffLogin } from './lib.mjs';

// The bookings of the history: their `created` event carries the note.
const HISTORY = `SELECT e.booking_id FROM booking_event e JOIN district d ON d.id = e.district_id
                  WHERE d.code = 'RPR' AND e.action = 'created' AND e.note = 'demo history'`;
const count = (q) => Number(sqlValue(q));

test('the history covers the weeks before today, all zones, many services, every outcome', () => {
  const [row] = sql(`SELECT count(*), count(DISTINCT b.zone_id), count(DISTINCT b.service_code),
                            count(DISTINCT (b.created_at AT TIME ZONE 'Asia/Kolkata')::date),
                            min(b.window_start) < now() - interval '30 days', max(b.window_start) < date_trunc('day', now() AT TIME ZONE 'Asia/Kolkata') AT TIME ZONE 'Asia/Kolkata'
                       FROM booking b WHERE b.id IN (${HISTORY})`);
  const [n, zones, services, days, old, past] = row;
  assert.ok(Number(n) >= 300, `${n} history bookings`);
  assert.equal(Number(zones), 6, 'all six zones');
  assert.ok(Number(services) >= 20, `${services} services`);
  assert.ok(Number(days) >= 30, `bookings made on ${days} days`);
  assert.equal(old, 't', 'visits more than 30 days back');
  assert.equal(past, 't', 'every history visit is before today (today and later are left to the demo visits and the tests)');
  const statuses = sql(`SELECT DISTINCT e.to_status FROM booking_event e WHERE e.booking_id IN (${HISTORY})`).map((r) => r[0]);
  for (const s of ['booked', 'assigned', 'en_route', 'arrived', 'documents_collected', 'completed', 'submitted',
    'certificate_ready', 'delivered', 'cancelled', 'no_show', 'failed', 'rejected'])
    assert.ok(statuses.includes(s), `some history booking went to ${s}`);
  assert.ok(count(`SELECT count(*) FROM booking_event e WHERE e.action = 'rescheduled' AND e.booking_id IN (${HISTORY})`) > 0,
    'some were rescheduled');
  assert.equal(count(`SELECT count(*) FROM person p WHERE p.id IN (SELECT b.beneficiary_id FROM booking b WHERE b.id IN (${HISTORY}))
                        AND p.phone !~ '^\\+9190000[0-9]{5}$'`), 0, 'made-up phones only');
});

test('the capacity ledger agrees, and every history booking holds the unit of a real window', () => {
  assert.equal(ledgerMismatches(), 0);
  assert.equal(count(`SELECT count(*) FROM agent_window WHERE booked > capacity OR booked < 0`), 0);
  assert.equal(count(`SELECT count(*) FROM booking b WHERE b.id IN (${HISTORY})
                        AND NOT EXISTS (SELECT 1 FROM agent_window w WHERE w.agent_id = b.agent_id AND w.starts_at = b.window_start)`), 0);
});

test("each history booking's status is its last event's, and its events follow one another", () => {
  assert.equal(count(`SELECT count(*) FROM booking b
     WHERE b.id IN (${HISTORY})
       AND b.status <> (SELECT e.to_status FROM booking_event e WHERE e.booking_id = b.id ORDER BY e.at DESC, e.id DESC LIMIT 1)`), 0);
  // Each event starts from where the one before left the booking, and time runs forward.
  assert.equal(count(`SELECT count(*) FROM (
       SELECT e.from_status, e.at, e.action, lag(e.to_status) OVER w AS prev_status, lag(e.at) OVER w AS prev_at
         FROM booking_event e WHERE e.booking_id IN (${HISTORY}) WINDOW w AS (PARTITION BY e.booking_id ORDER BY e.id)) x
     WHERE (x.action = 'created') <> (x.prev_status IS NULL)
        OR (x.prev_status IS NOT NULL AND (x.from_status IS DISTINCT FROM x.prev_status OR x.at < x.prev_at))`), 0);
  assert.equal(count(`SELECT count(*) FROM booking_event e WHERE e.booking_id IN (${HISTORY}) AND e.at > now()`), 0,
    'nothing in the future');
});

test('the history left no message to send: delivered, failed or sent, never queued', () => {
  assert.equal(count(`SELECT count(*) FROM sms_outbox o WHERE o.status IN ('queued', 'sending')
                        AND o.created_at < now() - interval '1 day' AND o.booking_id IN (${HISTORY})`), 0);
  const [row] = sql(`SELECT count(*) FILTER (WHERE o.status = 'delivered'), count(*) FILTER (WHERE o.status = 'failed'),
                            count(*) FILTER (WHERE o.status = 'sent')
                       FROM sms_outbox o WHERE o.booking_id IN (${HISTORY}) AND o.created_at < now() - interval '1 day'`);
  const [delivered, failed, sent] = row.map(Number);
  assert.ok(delivered > 10 * failed && failed > 0 && sent > 0, `delivered ${delivered}, failed ${failed}, sent ${sent}`);
  assert.equal(count(`SELECT count(*) FROM sms_outbox o WHERE o.booking_id IN (${HISTORY}) AND o.template = 'visit_day'
                        AND (o.body <> '' OR o.variables ? 'code')`), 0, 'no visit code is kept');
});

test('the committee default report shows the history: this fortnight, the previous one, grievances', async () => {
  const r = await api('GET', '/api/v1/reports/fortnightly', { token: await staffLogin('committee') });
  assert.equal(r.status, 200, r.text);
  const { totals, previous, grievances, sms, overdue } = r.json;
  assert.equal(r.json.period.complete, true);
  for (const k of ['booked', 'visited', 'completed', 'cancelled']) assert.ok(totals[k] > 0, `${k}: ${totals[k]}`);
  assert.ok(totals.sla_met_pct > 0 && totals.sla_met_pct < 100, `sla_met_pct ${totals.sla_met_pct}`);
  assert.ok(previous.totals.booked > 0 && previous.totals.completed > 0, JSON.stringify(previous.totals));
  assert.ok(grievances.raised > 0 && grievances.answered > 0, JSON.stringify(grievances));
  assert.ok(sms.delivered > 0 && sms.failed > 0, JSON.stringify(sms));
  assert.ok(r.json.by_zone.every((z) => z.booked > 0), 'every zone booked something');
  assert.ok(r.json.by_service.length >= 10, `${r.json.by_service.length} services`);
  assert.ok(Array.isArray(overdue));
});

test('the officer has open cases, some overdue, and grievances at every tier', () => {
  assert.ok(count(`SELECT count(*) FROM sla_cases((SELECT id FROM district WHERE code = 'RPR')) c
                    WHERE c.booking_id IN (${HISTORY}) AND c.due_at < now()`) > 0, 'overdue cases');
  assert.ok(count(`SELECT count(*) FROM sla_alert a WHERE a.booking_id IN (${HISTORY}) AND a.kind = 'escalation'`) > 0,
    'escalations were recorded');
  const tiers = sql(`SELECT DISTINCT g.tier FROM grievance g WHERE g.booking_id IN (${HISTORY})`).map((r) => Number(r[0]));
  assert.deepEqual(tiers.sort(), [1, 2, 3]);
  const actions = sql(`SELECT DISTINCT e.action FROM grievance_event e JOIN grievance g ON g.id = e.grievance_id
                        WHERE g.booking_id IN (${HISTORY})`).map((r) => r[0]);
  for (const a of ['raised', 'answered', 'appealed', 'escalated', 'reminder', 'closed']) assert.ok(actions.includes(a), a);
  // An open grievance of tier 1 or 2 is never past its due time (the scan would have moved it on).
  assert.equal(count(`SELECT count(*) FROM grievance g WHERE g.booking_id IN (${HISTORY}) AND g.status = 'open'
                        AND g.tier < 3 AND g.due_at < now() - interval '1 hour'`), 0);
});

test('seeding again writes no second history', () => {
  const before = count(`SELECT count(*) FROM (${HISTORY}) h`);
  const conninfo = readFileSync(`${DATA}/pg/conninfo`, 'utf8').trim();
  const out = execFileSync('psql', [conninfo, '-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
    '-c', 'BEGIN', '-c', "SELECT set_config('mitan.seed_now', now()::text, true)",
    '-f', 'sql/seed/demo_history.sql',
    '-c', `SELECT current_setting('mitan.seed_history') || '/' || (SELECT count(*) FROM (${HISTORY}) h)`,
    '-c', 'ROLLBACK'], { encoding: 'utf8' }).trim().split('\n');
  assert.equal(out[out.length - 1], `0/${before}`);
});
