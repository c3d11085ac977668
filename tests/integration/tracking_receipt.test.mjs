// The public tracking page /t/{token} (no personal data) and the receipt with its QR code
// (owner only). Zone RPR-Z5, day +7.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  api, BASE, ZONES, bookingBody, isError, lit, randomPhone, residentLogin, setWindowFree, sqlValue, staffLogin, windowStart,
} from './lib.mjs';

const ZONE = 'RPR-Z5';
const NAME = 'Zubeida Qureshi';
const ADDRESS = 'Plot 77, Qila Mohalla, Civil Lines, Raipur';
let owner;
let booking;
let phone;

before(async () => {
  for (const hour of [9, 11]) setWindowFree(ZONE, windowStart(7, hour), [2, 2, 2, 2]);
  owner = await residentLogin();
  phone = randomPhone();
  const r = await api('POST', '/api/v1/bookings', {
    token: owner.token,
    body: bookingBody(windowStart(7, 9), {
      location: ZONES[ZONE], address: ADDRESS, beneficiary: { name: NAME, phone, language: 'en' },
    }),
  });
  assert.equal(r.status, 201, r.text);
  booking = r.json;
});

const trackPath = (url) => new URL(url).pathname;

// Everything that would identify the beneficiary or the booker.
function assertNoPersonalData(text) {
  for (const secret of [NAME, 'Zubeida', 'Qureshi', ADDRESS, 'Qila Mohalla', phone, phone.slice(3), owner.phone,
    owner.phone.slice(3), String(ZONES[ZONE].lat), String(ZONES[ZONE].lon)])
    assert.ok(!text.includes(secret), `the public page shows ${secret}`);
}

test('the tracking page shows reference and status, and no personal data', async () => {
  assert.match(booking.tracking_url, /\/t\/[A-Za-z0-9_-]{22}$/);
  const res = await fetch(BASE + trackPath(booking.tracking_url));
  const html = await res.text();
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/html/);
  assert.ok(html.includes(booking.reference), 'reference on the page');
  assert.match(html, /class="status">[^<]*\bbooked\b[^<]*</i, 'the status, as its code or its label');
  assert.ok(html.includes(booking.service.name_en));
  assertNoPersonalData(html);
  // The JSON form of the same page.
  const json = await api('GET', trackPath(booking.tracking_url), { headers: { Accept: 'application/json' } });
  assert.equal(json.status, 200);
  assert.equal(json.json.reference, booking.reference);
  assert.equal(json.json.status, 'booked');
  assertNoPersonalData(json.text);
  assert.equal(json.json.beneficiary, undefined);
  assert.equal(json.json.address, undefined);
  // The database keeps only the token's hash.
  const token = trackPath(booking.tracking_url).slice(3);
  assert.equal(sqlValue(`SELECT count(*) FROM booking WHERE reference = ${lit(booking.reference)}
                           AND tracking_hash = sha256(convert_to(${lit(token)}, 'UTF8'))`), '1');
  assert.equal(sqlValue(`SELECT count(*) FROM booking b WHERE b::text LIKE ${lit(`%${token}%`)}`), '0');
});

test('the tracking page follows the status', async () => {
  const other = await api('POST', '/api/v1/bookings', {
    token: owner.token, body: bookingBody(windowStart(7, 11), { location: ZONES[ZONE] }) });
  assert.equal(other.status, 201, other.text);
  assert.notEqual(trackPath(other.json.tracking_url), trackPath(booking.tracking_url));
  const c = await api('POST', `/api/v1/bookings/${other.json.reference}/cancel`, { token: owner.token });
  assert.equal(c.status, 200, c.text);
  const page = await fetch(BASE + trackPath(other.json.tracking_url)).then((r) => r.text());
  assert.match(page, /class="status">[^<]*\bcancelled\b[^<]*</i);
  assert.ok(page.includes(other.json.reference));
  assert.ok(!page.includes(booking.reference));
});

test('a wrong or malformed tracking token is 404', async () => {
  const token = trackPath(booking.tracking_url).slice(3);
  const wrong = [
    randomBytes(17).toString('base64url').slice(0, 22),
    token.slice(0, 21) + (token[21] === 'A' ? 'B' : 'A'),
    token.slice(0, 21),
    `${token}A`,
    '..%2F..%2Fetc%2Fpasswd',
    "x' OR '1'='1",
    booking.reference,
  ];
  for (const t of wrong) {
    const r = await api('GET', `/t/${encodeURIComponent(t)}`);
    isError(r, 404, 'not_found');
    assert.ok(!r.text.includes(booking.reference));
  }
});

test('the receipt is an SVG with the QR code, for its owner only', async () => {
  const r = await api('GET', `/api/v1/bookings/${booking.reference}/receipt.svg`, { token: owner.token });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^image\/svg\+xml/);
  assert.match(r.text, /^<\?xml[^>]*\?>\s*<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  assert.ok(r.text.trim().endsWith('</svg>'));
  const modules = r.text.match(/M\d+ \d+h4v4h-4z/g) || [];
  assert.ok(modules.length > 200, `only ${modules.length} QR modules`);
  // The three finder patterns: the 7x7 corners are dark on their outer ring.
  const dark = new Set(modules.map((m) => m.match(/M(\d+) (\d+)/).slice(1).map((v) => v / 4 - 4).join(',')));
  const size = Math.max(...[...dark].map((k) => Number(k.split(',')[0]))) + 1;
  assert.ok(size >= 21 && (size - 17) % 4 === 0, `QR size ${size}`);
  for (const [x0, y0] of [[0, 0], [size - 7, 0], [0, size - 7]])
    for (let i = 0; i < 7; i++)
      for (const [x, y] of [[x0 + i, y0], [x0 + i, y0 + 6], [x0, y0 + i], [x0 + 6, y0 + i]])
        assert.ok(dark.has(`${x},${y}`), `finder module ${x},${y}`);
  assert.ok(r.text.includes(booking.reference));
  assert.ok(!r.text.includes(phone));

  const stranger = await residentLogin();
  const no = await api('GET', `/api/v1/bookings/${booking.reference}/receipt.svg`, { token: stranger.token });
  isError(no, 404, 'not_found');
  isError(await api('GET', `/api/v1/bookings/${booking.reference}/receipt.svg`), 401, 'unauthenticated');
  isError(await api('GET', '/api/v1/bookings/MT-0000-0000-0000/receipt.svg', { token: owner.token }), 404, 'not_found');
  // Staff of the district may print it for the caller.
  const op = await api('GET', `/api/v1/bookings/${booking.reference}/receipt.svg`, { token: await staffLogin('operator') });
  assert.equal(op.status, 200);
});
