// Many connections hammer one window: the capacity ledger never overbooks, every refusal
// is a clean 409, and the ledger in SQL agrees with the bookings. Zone RPR-Z6, day +6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api, ZONES, bookingBody, httpAgent, istDate, ledgerMismatches, randomPhone, request, residentLogin, setWindowFree, sql,
  sqlValue, lit, staffLogin, windowLedger, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z6';
const N = 37;
const ATTEMPTS = 200;

test(`${ATTEMPTS} concurrent bookings of one window with ${N} free units: exactly ${N} succeed`, async (t) => {
  const start = windowStart(6, 11);
  // 37 free units over the zone's four agents (income_certificate is revenue work, which
  // all four do).
  setWindowFree(ZONE, start, [10, 10, 10, 7]);
  const before = windowLedger(ZONE, start);
  assert.equal(before.rows, 4);
  assert.equal(before.capacity - before.booked, N);
  const bookingsBefore = Number(sqlValue(`SELECT count(*) FROM booking b JOIN zone z ON z.id = b.zone_id
      WHERE z.code = ${lit(ZONE)} AND b.window_start = ${lit(start)}::timestamptz AND b.status = 'booked'`));
  assert.equal(bookingsBefore, before.booked);
  // What /slots offers for the window is the ledger's free units.
  const offered = async () => {
    const { lat, lon } = ZONES[ZONE];
    const r = await api('GET', `/api/v1/slots?service=income_certificate&lat=${lat}&lon=${lon}&from=${istDate(6)}&days=1`);
    assert.equal(r.status, 200, r.text);
    return r.json.find((s) => Date.parse(s.start) === Date.parse(start))?.remaining;
  };
  assert.equal(await offered(), N);

  const tokens = [];
  for (let i = 0; i < 4; i++) tokens.push((await residentLogin()).token);
  tokens.push(await staffLogin('operator'));

  const agent = httpAgent(64);
  const t0 = performance.now();
  const replies = await Promise.all(Array.from({ length: ATTEMPTS }, (_, i) =>
    request(agent, 'POST', '/api/v1/bookings', {
      token: tokens[i % tokens.length],
      body: bookingBody(start, {
        location: ZONES[ZONE],
        address: `House ${i}, Telibandha, Raipur`,
        beneficiary: { name: `Beneficiary ${i}`, phone: randomPhone(), language: i % 2 ? 'hi' : 'en' },
      }),
    }).then((r) => ({ ...r, ms: performance.now() - t0 }))));
  agent.destroy();
  const slowest = Math.max(...replies.map((r) => r.ms));
  t.diagnostic(`${ATTEMPTS} bookings over 64 connections in ${slowest.toFixed(0)} ms`);

  const byStatus = {};
  for (const r of replies) byStatus[r.status] = (byStatus[r.status] || 0) + 1;
  const unexpected = replies.filter((r) => r.status !== 201 && r.status !== 409);
  assert.deepEqual(unexpected.map((r) => `${r.status} ${r.text}`), [], `statuses: ${JSON.stringify(byStatus)}`);
  assert.equal(byStatus[201], N, `statuses: ${JSON.stringify(byStatus)}`);
  assert.equal(byStatus[409], ATTEMPTS - N);
  for (const r of replies.filter((x) => x.status === 409)) {
    assert.equal(r.json?.error?.code, 'slot_full', r.text);
    assert.equal(typeof r.json.error.message, 'string');
  }
  const refs = replies.filter((r) => r.status === 201).map((r) => r.json.reference);
  assert.equal(new Set(refs).size, N, 'every success has its own reference');
  for (const r of replies.filter((x) => x.status === 201)) {
    assert.equal(r.json.status, 'booked');
    assert.equal(Date.parse(r.json.window.start), Date.parse(start));
  }

  // The ledger: full, and exactly the units the new bookings took.
  const after = windowLedger(ZONE, start);
  assert.equal(after.booked, before.booked + N);
  assert.equal(after.booked, after.capacity);
  const bookedRows = Number(sqlValue(`SELECT count(*) FROM booking b JOIN zone z ON z.id = b.zone_id
      WHERE z.code = ${lit(ZONE)} AND b.window_start = ${lit(start)}::timestamptz AND b.status = 'booked'`));
  assert.equal(bookedRows, after.booked);
  const created = Number(sqlValue(`SELECT count(*) FROM booking WHERE reference IN (${refs.map(lit).join(', ')})`));
  assert.equal(created, N);
  // Per agent: booked never above capacity, and equal to the bookings that hold its units.
  const perAgent = sql(`SELECT a.code, w.capacity, w.booked,
        (SELECT count(*) FROM booking b WHERE b.agent_id = w.agent_id AND b.window_start = w.starts_at
                                          AND b.status IN ('booked', 'assigned'))
      FROM agent_window w JOIN agent a ON a.id = w.agent_id JOIN zone z ON z.id = w.zone_id
     WHERE z.code = ${lit(ZONE)} AND w.starts_at = ${lit(start)}::timestamptz ORDER BY a.code`);
  assert.equal(perAgent.length, 4);
  for (const [code, capacity, booked, holding] of perAgent) {
    assert.ok(Number(booked) <= Number(capacity), `${code}: ${booked} > ${capacity}`);
    assert.equal(Number(booked), Number(holding), `${code}: ledger ${booked}, bookings ${holding}`);
  }
  assert.equal(Number(sqlValue('SELECT count(*) FROM agent_window WHERE booked > capacity')), 0);
  assert.equal(await offered(), 0);
  assert.equal(ledgerMismatches(), 0, 'every ledger row in the database matches its bookings');
  // Each created booking has its event and its confirmation.
  assert.equal(Number(sqlValue(`SELECT count(DISTINCT e.booking_id) FROM booking_event e JOIN booking b ON b.id = e.booking_id
      WHERE b.reference IN (${refs.map(lit).join(', ')}) AND e.action = 'created'`)), N);
});
