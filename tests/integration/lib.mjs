// Shared helpers of the integration tests: the real server at MITAN_URL and the real
// database of the test cluster (read through psql, never mocked).
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { randomBytes, randomInt } from 'node:crypto';
import http from 'node:http';

export const BASE = process.env.MITAN_URL || 'http://127.0.0.1:8080';
export const DATA = process.env.MITAN_DATA || './var';

// Every fetch of the tests on a connection of its own. The tests block the event loop in
// psql (execFileSync); a kept-alive socket the server closed meanwhile (keep_alive_ms) would be
// picked before its close is seen, and the request fail with "fetch failed". Browsers retry on
// such a socket; fetch does not, so the tests do not reuse one.
const fetchReusing = globalThis.fetch;
globalThis.fetch = (url, init = {}) => {
  const headers = new Headers(init.headers);
  if (!headers.has('connection')) headers.set('connection', 'close');
  return fetchReusing(url, { ...init, headers });
};

// One request. Returns { status, headers, json, text }.
export async function api(method, path, { token, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  let payload;
  if (raw !== undefined) payload = raw;
  else if (body !== undefined) { payload = JSON.stringify(body); h['Content-Type'] ??= 'application/json'; }
  if (payload !== undefined && h['Content-Type'] === undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(BASE + path, { method, headers: h, body: payload });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, json, text };
}

// Runs SQL against the test database and returns rows as arrays of strings.
export function sql(query) {
  const conninfo = readFileSync(`${DATA}/pg/conninfo`, 'utf8').trim();
  // Large replies are fine (the demo district's weeks of history are thousands of rows).
  const out = execFileSync('psql', [conninfo, '-X', '-A', '-t', '-F', '\t', '-v', 'ON_ERROR_STOP=1', '-c', query],
                           { encoding: 'utf8', maxBuffer: 256 << 20 });
  return out.split('\n').filter((l) => l.length > 0).map((l) => l.split('\t'));
}
export const sqlValue = (q) => sql(q)[0]?.[0];

// A SQL string literal (for values the tests made themselves).
export const lit = (s) => `'${String(s).replace(/'/g, "''")}'`;

// Runs SQL that is expected to fail; returns psql's error text ('' if it succeeded).
export function sqlError(query) {
  const conninfo = readFileSync(`${DATA}/pg/conninfo`, 'utf8').trim();
  const r = spawnSync('psql', [conninfo, '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', query], { encoding: 'utf8' });
  return r.status === 0 ? '' : r.stderr || `psql exit ${r.status}`;
}

// Row counts and the ledger total: what a refused request must leave unchanged.
export function stateSnapshot() {
  const [row] = sql(`SELECT (SELECT count(*) FROM booking), (SELECT count(*) FROM person),
                            (SELECT count(*) FROM booking_event), (SELECT count(*) FROM sms_outbox),
                            (SELECT coalesce(sum(booked), 0) FROM agent_window), (SELECT count(*) FROM idempotency),
                            (SELECT count(*) FROM audit_log)`);
  const [booking, person, booking_event, sms_outbox, booked, idempotency, audit_log] = row.map(Number);
  return { booking, person, booking_event, sms_outbox, booked, idempotency, audit_log };
}

// Units of the ledger that no live booking explains (or bookings without their unit):
// 0 when every agent_window.booked equals the bookings holding it.
export function ledgerMismatches() {
  return Number(sqlValue(`SELECT count(*) FROM agent_window w
     WHERE w.booked <> (SELECT count(*) FROM booking b WHERE b.agent_id = w.agent_id
                          AND b.window_start = w.starts_at AND b.status NOT IN ('cancelled', 'rescheduled'))`));
}

// A random Indian mobile number in E.164.
export const randomPhone = () => `+9197${String(randomInt(0, 1e8)).padStart(8, '0')}`;
// A random client address (the test server trusts X-Forwarded-For), so rate limits per
// address do not spill between tests.
export const randomAddr = () => `10.${randomInt(0, 255)}.${randomInt(0, 255)}.${randomInt(1, 254)}`;

// Reads the newest SMS to a phone from the log driver's view.
export async function lastSms(phone, template) {
  const r = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(phone)}`);
  return r.json.find((m) => !template || m.template === template);
}

// Signs a resident in by OTP; returns { token, phone }.
export async function residentLogin(phone = randomPhone(), language = 'en') {
  const addr = { 'X-Forwarded-For': randomAddr() };
  const req = await api('POST', '/api/v1/auth/otp', { body: { phone, language }, headers: addr });
  if (req.status !== 202) throw new Error(`otp request: ${req.status} ${req.text}`);
  const sms = await lastSms(phone, 'otp');
  const code = sms.body.match(/\d{6}/)[0];
  const ver = await api('POST', '/api/v1/auth/otp/verify', { body: { request_id: req.json.request_id, code }, headers: addr });
  if (ver.status !== 200) throw new Error(`otp verify: ${ver.status} ${ver.text}`);
  return { token: ver.json.token, phone };
}

// The demo accounts written by `mitan seed --demo`.
export function demoAccounts() {
  return JSON.parse(readFileSync(`${DATA}/demo-accounts.json`, 'utf8'));
}

// Signs a staff member or agent in; `role` picks the first demo account with it. Tokens
// are kept for the rest of the file (each login costs a PBKDF2 of 600,000 rounds).
const staffTokens = new Map();
export async function staffLogin(role) {
  if (staffTokens.has(role)) return staffTokens.get(role);
  const a = demoAccounts().find((x) => x.role === role);
  const r = await api('POST', '/api/v1/auth/login', { body: { login: a.login, password: a.password } });
  if (r.status !== 200) throw new Error(`login ${role}: ${r.status} ${r.text}`);
  staffTokens.set(role, r.json.token);
  return r.json.token;
}

// Moves the server's clock (env test only); returns the server's new now.
export async function setClock(now) {
  const r = await api('POST', '/api/v1/dev/clock', { body: { now } });
  if (r.status !== 200) throw new Error(`clock: ${r.status} ${r.text}`);
  return r.json.now;
}

// A point inside zone RPR-Z2 (Pandri) and one outside every zone.
export const PANDRI = { lat: 21.27, lon: 81.63 };
export const OUTSIDE = { lat: 19.07, lon: 72.87 }; // Mumbai
// A point inside each demo zone. Test files that book pick their own zone (and day) so
// that they do not use up each other's capacity: Z2 belongs to the smoke test.
export const ZONES = {
  'RPR-Z1': { lat: 21.28, lon: 81.59 },
  'RPR-Z2': PANDRI,
  'RPR-Z3': { lat: 21.28, lon: 81.67 },
  'RPR-Z4': { lat: 21.22, lon: 81.59 },
  'RPR-Z5': { lat: 21.22, lon: 81.63 },
  'RPR-Z6': { lat: 21.22, lon: 81.67 },
};

// The local (IST) date `days` after today, YYYY-MM-DD.
export const istDate = (days = 0) => new Date(Date.now() + 5.5 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
// The start of the demo window at `hour` IST, `days` after today (09, 11, 14 or 16).
export const windowStart = (days, hour) => `${istDate(days)}T${String(hour).padStart(2, '0')}:00:00+05:30`;

// The ledger of one zone's window: { capacity, booked } summed over its agents.
export function windowLedger(zone, start) {
  const [row] = sql(`SELECT coalesce(sum(w.capacity), 0), coalesce(sum(w.booked), 0), count(*)
                       FROM agent_window w JOIN zone z ON z.id = w.zone_id
                      WHERE z.code = ${lit(zone)} AND w.starts_at = ${lit(start)}::timestamptz`);
  return { capacity: Number(row[0]), booked: Number(row[1]), rows: Number(row[2]) };
}

// Sets the free units of a zone's window: agent i of the zone (by code) gets free[i] more
// units than it has booked (agents beyond the list get none).
export function setWindowFree(zone, start, free) {
  const values = free.map((f, i) => `(${i + 1}, ${Number(f)})`).join(', ') || '(0, 0)';
  sql(`UPDATE agent_window w SET capacity = w.booked + coalesce(v.free, 0)
         FROM (SELECT a.id, row_number() OVER (ORDER BY a.code) AS n FROM agent a JOIN zone z ON z.id = a.zone_id
                WHERE z.code = ${lit(zone)}) x
         LEFT JOIN (VALUES ${values}) AS v(n, free) ON v.n = x.n
        WHERE w.agent_id = x.id AND w.starts_at = ${lit(start)}::timestamptz`);
}

// The open windows of a service at a place.
export async function slots(service = 'income_certificate', where = PANDRI, days = 7) {
  const r = await api('GET', `/api/v1/slots?service=${service}&lat=${where.lat}&lon=${where.lon}&days=${days}`);
  if (r.status !== 200) throw new Error(`slots: ${r.status} ${r.text}`);
  return r.json;
}

export function bookingBody(start, overrides = {}) {
  return {
    service: 'income_certificate',
    start,
    location: PANDRI,
    address: 'House 12, Ward 21, Pandri, Raipur',
    beneficiary: { name: 'Kamla Devi', phone: randomPhone(), language: 'hi' },
    ...overrides,
  };
}

export const uniqueKey = () => randomBytes(12).toString('hex');

// Requests through a node:http agent, to control the number of connections (fetch's
// global dispatcher cannot be changed without undici). Same reply shape as api().
export function httpAgent(maxSockets) {
  return new http.Agent({ keepAlive: true, maxSockets });
}
export function request(agent, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  if (payload) { h['Content-Type'] ??= 'application/json'; h['Content-Length'] = payload.length; }
  return new Promise((resolve, reject) => {
    const req = http.request(BASE + path, { method, agent, headers: h }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json;
        try { json = JSON.parse(text); } catch { json = undefined; }
        resolve({ status: res.statusCode, headers: res.headers, json, text });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

// Asserts an error reply: the status, the JSON error shape, and the code when given.
export function isError(r, status, code) {
  const where = `${r.status} ${r.text.slice(0, 300)}`;
  if (r.status !== status) throw new Error(`expected ${status}, got ${where}`);
  if (!r.json || typeof r.json.error !== 'object' || typeof r.json.error.code !== 'string' ||
      typeof r.json.error.message !== 'string' || !/^[a-z_]+$/.test(r.json.error.code))
    throw new Error(`not an error object: ${where}`);
  if (code && r.json.error.code !== code) throw new Error(`expected error ${code}, got ${where}`);
  const ct = r.headers.get ? r.headers.get('content-type') : r.headers['content-type'];
  if (!/^application\/json/.test(ct || '')) throw new Error(`error reply as ${ct}`);
}
