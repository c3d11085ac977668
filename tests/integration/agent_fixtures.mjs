// Fixtures of the agent and upload tests: visits assigned to a demo agent, made with direct
// SQL like the dispatch would leave them, visit codes hashed with the installation secret
// (as dispatch/booking/visit.c does), and a small tus client.
import { createHash, createHmac, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { BASE, DATA, api, demoAccounts, lit, randomPhone, sql, sqlValue } from './lib.mjs';

// crypto_secret_hmac(purpose, msg): HMAC(key = HMAC(secret, purpose), msg).
export function secretHmac(purpose, msg) {
  const secret = readFileSync(`${DATA}/secret.key`);
  const key = createHmac('sha256', secret).update(purpose).digest();
  return createHmac('sha256', key).update(msg).digest();
}
export const visitCodeHash = (reference, code) => secretHmac('visit', `${reference}:${code}`).toString('hex');
export const sha256hex = (buf) => createHash('sha256').update(buf).digest('hex');

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const refPart = () => Array.from({ length: 4 }, () => CROCKFORD[randomInt(0, 32)]).join('');
export const randomReference = () => `MT-${refPart()}-${refPart()}-${refPart()}`;
export const randomCode = () => String(randomInt(0, 1e6)).padStart(6, '0');

// Signs a demo agent in by code (RPR-A01 …); tokens are kept for the file.
const tokens = new Map();
export async function agentLogin(code) {
  if (tokens.has(code)) return tokens.get(code);
  const a = demoAccounts().find((x) => x.login === code);
  const r = await api('POST', '/api/v1/auth/login', { body: { login: a.login, password: a.password } });
  if (r.status !== 200) throw new Error(`login ${code}: ${r.status} ${r.text}`);
  tokens.set(code, r.json.token);
  return r.json.token;
}

// A visit of `agent` today (IST) in the window starting at `hour`, in `status`, with a visit
// code when given; the unit is taken from the agent's window like a booking would.
// Returns { reference, code, id }.
export function makeVisit(agent, { status = 'assigned', code = randomCode(), hour = 9, service = 'income_certificate',
  days = 0 } = {}) {
  const reference = randomReference();
  const hash = code ? visitCodeHash(reference, code) : null;
  const phone = randomPhone();
  const id = sqlValue(`
    WITH a AS (SELECT a.id, a.zone_id, a.district_id, a.base FROM agent a WHERE a.code = ${lit(agent)}),
    w AS (UPDATE agent_window w SET capacity = greatest(w.capacity, w.booked + 1), booked = w.booked + 1
            FROM a WHERE w.agent_id = a.id
             AND w.starts_at = ((now() AT TIME ZONE 'Asia/Kolkata')::date + ${Number(days)} + make_time(${Number(hour)}, 0, 0))
                               AT TIME ZONE 'Asia/Kolkata'
          RETURNING w.agent_id, w.starts_at, w.ends_at),
    p AS (INSERT INTO person (phone, name, language, created_at) VALUES (${lit(phone)}, 'Test Resident', 'en', now())
          RETURNING id)
    INSERT INTO booking (district_id, reference, tracking_hash, service_code, booker_id, beneficiary_id, beneficiary_name,
                         beneficiary_language, address, location, zone_id, window_start, window_end, agent_id, status,
                         fee_paise, visit_code_hash, created_by_role, created_by_id, created_at, updated_at)
    SELECT a.district_id, ${lit(reference)}, decode(${lit(randomBytes(32).toString('hex'))}, 'hex'), ${lit(service)}, p.id, p.id,
           'Test Resident', 'en', 'House 1, Test Lane, Raipur', ST_SetSRID(a.base::geometry, 4326), a.zone_id, w.starts_at,
           w.ends_at, w.agent_id, ${lit(status)}, 5000, ${hash ? `decode(${lit(hash)}, 'hex')` : 'NULL'}, 'test', 0, now(), now()
      FROM a, w, p RETURNING id`);
  if (!id) throw new Error(`no window at ${hour}:00 for ${agent}`);
  return { reference, code, id, phone };
}

export const mandatoryDocs = (service = 'income_certificate') =>
  sql(`SELECT code FROM service_document WHERE service_code = ${lit(service)} AND mandatory ORDER BY position, code`).map((r) => r[0]);

// ---- tus ----
const b64 = (s) => Buffer.from(s).toString('base64');
export const metadata = (m) => Object.entries(m).map(([k, v]) => `${k} ${b64(v)}`).join(',');

export async function tusCreate(token, { reference, document, filename = 'scan.pdf', sha256, length, headers = {} }) {
  const meta = {};
  if (reference !== undefined) meta.reference = reference;
  if (document !== undefined) meta.document = document;
  if (filename !== undefined) meta.filename = filename;
  if (sha256 !== undefined) meta.sha256 = sha256;
  return fetchRaw('POST', '/api/v1/agent/uploads', token, {
    'Tus-Resumable': '1.0.0', 'Upload-Length': String(length), 'Upload-Metadata': metadata(meta), ...headers,
  });
}

export async function tusHead(token, path) {
  return fetchRaw('HEAD', path, token, { 'Tus-Resumable': '1.0.0' });
}

export async function tusPatch(token, path, offset, bytes, { checksum, headers = {} } = {}) {
  const h = { 'Tus-Resumable': '1.0.0', 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), ...headers };
  if (checksum === true) h['Upload-Checksum'] = `sha256 ${createHash('sha256').update(bytes).digest('base64')}`;
  else if (checksum) h['Upload-Checksum'] = checksum;
  return fetchRaw('PATCH', path, token, h, bytes);
}

async function fetchRaw(method, path, token, headers, body) {
  const res = await fetch(BASE + path, { method, headers: { Authorization: `Bearer ${token}`, ...headers }, body });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

// A PATCH whose connection is cut after `send` of the `bytes` it announced.
export function tusPatchCut(token, path, offset, bytes, send) {
  const url = new URL(BASE + path);
  return new Promise((resolve) => {
    const s = net.connect(Number(url.port), url.hostname, () => {
      s.write(`PATCH ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nAuthorization: Bearer ${token}\r\n` +
        `Tus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: ${offset}\r\n` +
        `Content-Length: ${bytes.length}\r\n\r\n`);
      s.write(bytes.subarray(0, send), () => setTimeout(() => { s.destroy(); resolve(); }, 30));
    });
    s.on('error', () => resolve());
  });
}

// Uploads `bytes` whole in chunks; returns the last PATCH reply and the upload's path.
export async function tusUpload(token, { reference, document, filename = 'scan.pdf', bytes, chunk = 256 * 1024, checksum = true }) {
  const c = await tusCreate(token, { reference, document, filename, sha256: sha256hex(bytes), length: bytes.length });
  if (c.status !== 201) return { create: c, last: c };
  const path = c.headers.get('location');
  let last;
  for (let off = 0; off < bytes.length; off += chunk) {
    last = await tusPatch(token, path, off, bytes.subarray(off, Math.min(off + chunk, bytes.length)), { checksum });
    if (last.status !== 204) break;
  }
  return { create: c, path, last };
}

// Test documents that libmagic types by their bytes.
export function fakePdf(size) {
  const head = Buffer.from('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n', 'latin1');
  const tail = Buffer.from('\n%%EOF\n');
  return Buffer.concat([head, randomBytes(Math.max(0, size - head.length - tail.length)), tail]).subarray(0, size);
}
export function fakePng(size) {
  const sig = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52,
    0, 0, 1, 0, 0, 0, 1, 0, 8, 2, 0, 0, 0, 0x90, 0x77, 0x53, 0xde]);
  return Buffer.concat([sig, randomBytes(Math.max(0, size - sig.length))]);
}

export { BASE, api, sql, sqlValue, lit };
