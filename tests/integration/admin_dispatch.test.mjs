// The nodal officer's API (issue 3): agents, shifts, zones, nearest-agent assignment,
// an agent's unavailability and reassignment, planning a day, district scoping.
// Everything happens in a district of its own (PLT, made here with SQL), so that the
// demo city's capacity stays untouched; the demo officer (Raipur) plays "another district".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { api, sql, sqlValue, lit, staffLogin, residentLogin, isError, ledgerMismatches, randomPhone, DATA } from './lib.mjs';
import { visitCodeHash } from './agent_fixtures.mjs';

const DAY_OFFSET = 10;
const istDay = (d) => new Date(Date.now() + 5.5 * 3600e3 + d * 86400e3).toISOString().slice(0, 10);
const DAY = istDay(DAY_OFFSET);
const W1 = `${DAY}T09:00:00+05:30`;

// District PLT with zone PLT-Z1 (lat 22.00-22.10, lon 82.00-82.10), two windows a day.
sql(`INSERT INTO district (code, name_en, name_hi) VALUES ('PLT', 'Plan test', 'योजना') ON CONFLICT DO NOTHING;
     INSERT INTO zone (district_id, code, name_en, name_hi, area)
       SELECT id, 'PLT-Z1', 'Plan zone', 'योजना ज़ोन', ST_Multi(ST_MakeEnvelope(82.00, 22.00, 82.10, 22.10, 4326))
         FROM district WHERE code = 'PLT' ON CONFLICT DO NOTHING;
     INSERT INTO slot_template (zone_id, window_no, start_local, end_local)
       SELECT z.id, w.no, w.s, w.e FROM zone z, (VALUES (1, time '09:00', time '11:00'), (2, '11:00', '13:00')) w(no, s, e)
        WHERE z.code = 'PLT-Z1' ON CONFLICT DO NOTHING;
     INSERT INTO staff (login, password_hash, role, name, district_id)
       SELECT 'plt-officer', ${lit(unusableHash())}, 'officer', 'PLT officer', id FROM district WHERE code = 'PLT'
       ON CONFLICT DO NOTHING;`);

// A well-formed PBKDF2 entry that no password matches (the officer signs in by session below).
function unusableHash() {
  return `pbkdf2-sha256$600000$${randomBytes(16).toString('base64url')}$${randomBytes(32).toString('base64url')}`;
}

// A session for the PLT officer, made directly (a login would cost a PBKDF2).
function session(role, staffLogin) {
  const token = randomBytes(32).toString('base64url');
  const hash = createHash('sha256').update(token).digest('hex');
  sql(`INSERT INTO session (token_hash, role, staff_id, district_id, created_at, expires_at)
       SELECT decode(${lit(hash)}, 'hex'), ${lit(role)}, s.id, s.district_id, now() - interval '1 day', now() + interval '30 days'
         FROM staff s WHERE s.login = ${lit(staffLogin)}`);
  return token;
}
const OFFICER = session('officer', 'plt-officer');

// Agents at known places (lat, lon), made by SQL so that positions are exact.
function agent(code, lat, lon, skills = '{*}') {
  sql(`INSERT INTO agent (code, password_hash, name, phone, district_id, zone_id, base, skills)
       SELECT ${lit(code)}, '!', ${lit('Agent ' + code)}, '+919900000001', z.district_id, z.id,
              ST_SetSRID(ST_MakePoint(${lon}, ${lat}), 4326)::geography, ${lit(skills)}::text[]
         FROM zone z WHERE z.code = 'PLT-Z1' ON CONFLICT (code) DO NOTHING`);
}
const units = (code) => sql(`SELECT w.capacity, w.booked FROM agent_window w JOIN agent a ON a.id = w.agent_id
                              WHERE a.code = ${lit(code)} AND w.starts_at = ${lit(W1)}::timestamptz`)[0]?.map(Number);
const agentOf = (ref) => sqlValue(`SELECT a.code FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(ref)}`);

async function book(resident, lat, lon, service = 'income_certificate') {
  const r = await api('POST', '/api/v1/bookings', { token: resident.token, body: {
    service, start: W1, location: { lat, lon }, address: 'Plot 4, test colony',
    beneficiary: { name: 'Test Person', phone: randomPhone(), language: 'en' } } });
  assert.equal(r.status, 201, r.text);
  return r.json.reference;
}

test('officer API: create an agent (password once), list, change skills, district scoping', async () => {
  const r = await api('POST', '/api/v1/admin/agents', { token: OFFICER, body: {
    name: 'Nirmala Test', phone: '+919811100000', zone: 'PLT-Z1', base: { lat: 22.09, lon: 82.09 }, skills: ['revenue'] } });
  assert.equal(r.status, 201, r.text);
  assert.match(r.json.code, /^PLT-A\d+$/);
  assert.equal(typeof r.json.password, 'string');
  assert.ok(r.json.password.length >= 12);
  assert.deepEqual(r.json.skills, ['revenue']);
  const login = await api('POST', '/api/v1/auth/login', { body: { login: r.json.code, password: r.json.password } });
  assert.equal(login.status, 200, login.text);
  assert.equal(login.json.role, 'agent');

  const list = await api('GET', '/api/v1/admin/agents', { token: OFFICER });
  assert.equal(list.status, 200);
  assert.ok(list.json.some((a) => a.code === r.json.code));
  assert.ok(list.json.every((a) => a.zone === 'PLT-Z1'), 'only the officer district');
  assert.ok(list.json.every((a) => !('password' in a)));

  const upd = await api('PATCH', `/api/v1/admin/agents/${r.json.code}`, { token: OFFICER, body: { skills: ['*'], base: { lat: 22.095, lon: 82.095 } } });
  assert.equal(upd.status, 200, upd.text);
  assert.deepEqual(upd.json.skills, ['*']);
  isError(await api('PATCH', `/api/v1/admin/agents/${r.json.code}`, { token: OFFICER, body: { skills: ['no_such_thing'] } }), 400);
  isError(await api('POST', '/api/v1/admin/agents', { token: OFFICER, body: { name: 'x', phone: '+919811100001', zone: 'RPR-Z1', base: { lat: 21.2, lon: 81.6 } } }), 400);

  const rpr = await staffLogin('officer');
  isError(await api('PATCH', `/api/v1/admin/agents/${r.json.code}`, { token: rpr, body: { active: false } }), 404);
  const resident = await residentLogin();
  isError(await api('GET', '/api/v1/admin/agents', { token: resident.token }), 403);
  // Deactivate: no visits held, so allowed.
  const off = await api('PATCH', `/api/v1/admin/agents/${r.json.code}`, { token: OFFICER, body: { active: false } });
  assert.equal(off.status, 200, off.text);
  assert.equal(off.json.active, false);
  assert.ok(Number(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(r.json.code)}`)) >= 3);
});

test('zones: GeoJSON out, a valid polygon in, an invalid one refused with 422', async () => {
  const fc = await api('GET', '/api/v1/admin/zones', { token: OFFICER });
  assert.equal(fc.status, 200);
  assert.equal(fc.json.type, 'FeatureCollection');
  assert.deepEqual(fc.json.features.map((f) => f.id), ['PLT-Z1']);
  assert.equal(fc.json.features[0].geometry.type, 'MultiPolygon');
  const square = { type: 'Polygon', coordinates: [[[82.0, 22.0], [82.1, 22.0], [82.1, 22.1], [82.0, 22.1], [82.0, 22.0]]] };
  const put = await api('PUT', '/api/v1/admin/zones/PLT-Z1', { token: OFFICER, body: { type: 'Feature', geometry: square, properties: {} } });
  assert.equal(put.status, 200, put.text);
  assert.equal(put.json.geometry.type, 'MultiPolygon');
  const bowtie = { type: 'Polygon', coordinates: [[[82.0, 22.0], [82.1, 22.1], [82.1, 22.0], [82.0, 22.1], [82.0, 22.0]]] };
  isError(await api('PUT', '/api/v1/admin/zones/PLT-Z1', { token: OFFICER, body: bowtie }), 422, 'invalid_geometry');
  isError(await api('PUT', '/api/v1/admin/zones/PLT-Z1', { token: OFFICER, body: { type: 'Point', coordinates: [82, 22] } }), 400);
  const rpr = await staffLogin('officer');
  isError(await api('PUT', '/api/v1/admin/zones/PLT-Z1', { token: rpr, body: square }), 404);
  const rprZones = await api('GET', '/api/v1/admin/zones', { token: rpr });
  assert.ok(!rprZones.json.features.some((f) => f.id === 'PLT-Z1'));
});

test('shifts: put a shift, windows materialised; capacity never below what is booked', async () => {
  // Agents at known places around the point (22.05, 82.05): P-NEAR cannot do income
  // certificates, P-MID and P-FAR can.
  agent('P-NEAR', 22.051, 82.051, '{health}');
  agent('P-MID', 22.06, 82.06);
  agent('P-FAR', 22.09, 82.09);
  agent('P-OTHER', 22.02, 82.02);
  for (const code of ['P-NEAR', 'P-MID', 'P-FAR', 'P-OTHER']) {
    const r = await api('PUT', `/api/v1/admin/agents/${code}/shifts/${DAY}`, { token: OFFICER, body: { start: '09:00', end: '13:00', per_window: 1 } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json.windows.length, 2);
    assert.deepEqual(r.json.windows.map((w) => w.capacity), [1, 1]);
  }
  isError(await api('PUT', `/api/v1/admin/agents/P-MID/shifts/${DAY}`, { token: OFFICER, body: { start: '13:00', end: '09:00', per_window: 1 } }), 400);
});

test('booking takes the nearest capable agent with a unit left; unavailability reassigns, flags and notifies', async () => {
  const resident = await residentLogin();
  const first = await book(resident, 22.05, 82.05);
  assert.equal(agentOf(first), 'P-MID', 'the nearest agent cannot do it; the next nearest can');
  const second = await book(resident, 22.05, 82.05);
  assert.equal(agentOf(second), 'P-OTHER', 'P-MID is full; P-OTHER (4.5 km away) is nearer than P-FAR (6 km)');
  const shrink = await api('PUT', `/api/v1/admin/agents/P-MID/shifts/${DAY}`, { token: OFFICER, body: { start: '09:00', end: '13:00', per_window: 0 } });
  isError(shrink, 409, 'capacity_below_booked');
  assert.deepEqual(units('P-MID'), [1, 1]);

  // P-MID falls ill: its visit moves to the nearest capable agent with a unit (P-FAR).
  const off = await api('POST', '/api/v1/admin/agents/P-MID/unavailable', { token: OFFICER, body: { date: DAY, reason: 'fever' } });
  assert.equal(off.status, 200, off.text);
  assert.deepEqual(off.json.moved, [{ reference: first, from: 'P-MID', to: 'P-FAR' }]);
  assert.equal(agentOf(first), 'P-FAR');
  assert.equal(sqlValue(`SELECT window_start = ${lit(W1)}::timestamptz FROM booking WHERE reference = ${lit(first)}`), 't');
  assert.deepEqual(units('P-MID'), [0, 0], 'the unit went back and no new booking can land there');
  assert.deepEqual(units('P-FAR'), [1, 1]);
  assert.equal(sqlValue(`SELECT count(*) FROM sms_outbox o JOIN booking b ON b.id = o.booking_id
                          WHERE b.reference = ${lit(first)} AND o.template = 'reassigned'`) >= '1', true);
  assert.match(sqlValue(`SELECT o.body FROM sms_outbox o JOIN booking b ON b.id = o.booking_id
                          WHERE b.reference = ${lit(first)} AND o.template = 'reassigned' LIMIT 1`), /Agent P-FAR/);
  assert.equal(sqlValue(`SELECT count(*) FROM booking_event e JOIN booking b ON b.id = e.booking_id
                          WHERE b.reference = ${lit(first)} AND e.action = 'reassigned'`), '1');
  assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE object_ref = ${lit(first)} AND action = 'booking.reassigned'`), '1');

  // P-OTHER falls ill too: every capable agent is full in that window -> flagged, not dropped.
  const off2 = await api('POST', '/api/v1/admin/agents/P-OTHER/unavailable', { token: OFFICER, body: { date: DAY, reason: 'leave' } });
  assert.equal(off2.status, 200, off2.text);
  assert.deepEqual(off2.json.unplaced, [second]);
  assert.equal(agentOf(second), 'P-OTHER', 'keeps its unit until the officer acts');
  const listed = await api('GET', '/api/v1/admin/agents?zone=PLT-Z1', { token: OFFICER });
  assert.deepEqual(listed.json.find((a) => a.code === 'P-OTHER').unavailable, [{ date: DAY, reason: 'leave' }]);
  const flagged = await api('GET', `/api/v1/admin/unplaced?date=${DAY}`, { token: OFFICER });
  assert.equal(flagged.status, 200);
  assert.deepEqual(flagged.json.map((b) => [b.reference, b.needs_attention]), [[second, 'agent_unavailable']]);
  const rpr = await staffLogin('officer');
  const rprFlagged = await api('GET', `/api/v1/admin/unplaced?date=${DAY}`, { token: rpr });
  assert.ok(!rprFlagged.json.some((b) => b.reference === second), 'another district does not see it');

  // A frozen (announced) visit is flagged, and moves only on the officer's explicit word.
  sql(`UPDATE agent_window w SET capacity = 2 FROM agent a WHERE a.id = w.agent_id AND a.code = 'P-FAR' AND w.starts_at = ${lit(W1)}::timestamptz`);
  const oldCode = '123456';
  sql(`UPDATE booking SET status = 'assigned', visit_code_hash = decode(${lit(visitCodeHash(second, oldCode))}, 'hex')
        WHERE reference = ${lit(second)}`);
  const moved = await api('POST', `/api/v1/admin/bookings/${second}/reassign`, { token: OFFICER, body: { agent: 'P-FAR' } });
  assert.equal(moved.status, 200, moved.text);
  assert.equal(moved.json.status, 'assigned');
  assert.equal(moved.json.agent.code, 'P-FAR');
  assert.equal(moved.json.needs_attention, null);
  // The resident is told the new agent and a new visit code; the announced code no longer opens the door.
  const [newCode, agentName, body] = sql(`SELECT o.variables->>'code', o.variables->>'agent', o.body FROM sms_outbox o
                          JOIN booking b ON b.id = o.booking_id
                          WHERE b.reference = ${lit(second)} AND o.template = 'booking_reassigned' ORDER BY o.id DESC LIMIT 1`)[0];
  assert.match(newCode, /^\d{6}$/);
  assert.match(agentName, /P-FAR/);
  assert.ok(body.includes(newCode));
  const stored = sqlValue(`SELECT encode(visit_code_hash, 'hex') FROM booking WHERE reference = ${lit(second)}`);
  assert.equal(stored, visitCodeHash(second, newCode));
  assert.notEqual(stored, visitCodeHash(second, oldCode));
  isError(await api('POST', `/api/v1/admin/bookings/${second}/reassign`, { token: OFFICER, body: { agent: 'P-MID' } }), 409, 'agent_full');
  isError(await api('POST', `/api/v1/admin/bookings/${second}/reassign`, { token: rpr, body: {} }), 404);
  assert.equal(ledgerMismatches(), 0);
});

test('planning a day keeps every window and every per-window capacity (random bookings)', async () => {
  // A second day with 8 agents and 60 random bookings, taken nearest-first like bookings.
  const day = istDay(DAY_OFFSET + 1);
  for (let i = 0; i < 8; i++) {
    const code = `P-R${i}`;
    agent(code, 22.0 + 0.1 * ((i * 37) % 10) / 10 + 0.005, 82.0 + 0.1 * ((i * 53) % 10) / 10 + 0.005, i % 4 === 3 ? '{revenue,municipal}' : '{*}');
    const r = await api('PUT', `/api/v1/admin/agents/${code}/shifts/${day}`, { token: OFFICER, body: { start: '09:00', end: '13:00', per_window: 5 } });
    assert.equal(r.status, 200, r.text);
  }
  const conninfo = readFileSync(`${DATA}/pg/conninfo`, 'utf8').trim();
  execFileSync('psql', [conninfo, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-v', 'zone=PLT-Z1', '-v', `day=${day}`,
                        '-v', 'n=60', '-v', 'seed=0.25', '-f', 'tests/bench/book_random.sql'], { stdio: 'pipe' });
  const n = Number(sqlValue(`SELECT count(*) FROM booking b WHERE b.zone_id = (SELECT id FROM zone WHERE code = 'PLT-Z1')
                              AND (b.window_start AT TIME ZONE 'Asia/Kolkata')::date = ${lit(day)} AND status = 'booked'`));
  assert.ok(n >= 50, `only ${n} bookings`);

  for (let run = 0; run < 2; run++) { // re-planning the same day is fine
    const r = await api('POST', '/api/v1/admin/plans', { token: OFFICER, body: { date: day, zone: 'PLT-Z1' } });
    assert.equal(r.status, 200, r.text);
    assert.equal(r.json[0].visits, n);
    assert.equal(r.json[0].routed + r.json[0].unroutable, n);
    const rows = sql(`SELECT b.reference, b.route_order IS NOT NULL, b.planned_arrival >= b.window_start AND b.planned_arrival <= b.window_end,
                             b.needs_attention FROM booking b JOIN zone z ON z.id = b.zone_id
                       WHERE z.code = 'PLT-Z1' AND (b.window_start AT TIME ZONE 'Asia/Kolkata')::date = ${lit(day)}`);
    for (const [ref, routed, inWindow, attention] of rows) {
      if (routed === 't') assert.equal(inWindow, 't', `${ref} planned outside its window`);
      else assert.equal(attention, 'unroutable', `${ref} neither routed nor flagged`);
    }
    assert.equal(sqlValue(`SELECT count(*) FROM agent_window WHERE booked > capacity`), '0');
    assert.equal(ledgerMismatches(), 0, 'agent_window.booked == bookings holding it');
    // Route orders are 1..k per agent, arrivals increase along the route.
    const bad = sqlValue(`SELECT count(*) FROM (SELECT agent_id, route_order, planned_arrival,
                             lag(planned_arrival) OVER (PARTITION BY agent_id ORDER BY route_order) AS prev,
                             row_number() OVER (PARTITION BY agent_id ORDER BY route_order) AS k
                            FROM booking b WHERE route_order IS NOT NULL AND zone_id = (SELECT id FROM zone WHERE code = 'PLT-Z1')
                             AND (b.window_start AT TIME ZONE 'Asia/Kolkata')::date = ${lit(day)}) x
                          WHERE route_order <> k OR planned_arrival < prev`);
    assert.equal(bad, '0');
  }
  const view = await api('GET', `/api/v1/admin/plans?date=${day}&zone=PLT-Z1`, { token: OFFICER });
  assert.equal(view.status, 200, view.text);
  const agents = view.json[0].agents;
  assert.ok(agents.length >= 1);
  for (const a of agents) {
    const orders = a.visits.filter((v) => v.route_order !== null).map((v) => v.route_order);
    assert.deepEqual(orders, orders.map((_, i) => i + 1), `${a.code} visits in route order`);
  }
  const rpr = await staffLogin('officer');
  isError(await api('GET', `/api/v1/admin/plans?date=${day}&zone=PLT-Z1`, { token: rpr }), 404);
  isError(await api('POST', '/api/v1/admin/plans', { token: rpr, body: { date: day, zone: 'PLT-Z1' } }), 404);
  isError(await api('POST', '/api/v1/admin/plans', { token: OFFICER, body: { date: 'tomorrow' } }), 400);
});
