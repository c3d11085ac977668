// Browser tests of the resident app (web/resident/), driving Debian's Chromium against the
// real server at MITAN_URL and reading the real database of MITAN_DATA. They assert what
// the user sees, and check it against the API and the database. Every test runs on a cheap
// phone's screen (390×844). Screenshots of each step go to tests/browser/screenshots/
// (gitignored), with weights.txt, the page weights measured by the last test.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import {
  BASE, api, sql, sqlValue, lit, randomPhone, randomAddr, residentLogin, staffLogin, slots, bookingBody, uniqueKey,
  PANDRI, ZONES,
} from '../integration/lib.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const WEB = fileURLToPath(new URL('../../web/resident/', import.meta.url));
const DEVANAGARI = /[\u0900-\u097F]/;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  browser = await chromium.launch({
    headless: true,
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
});
after(async () => { await browser?.close(); });

// A fresh phone-sized browser. The OTP send limit is per client address and the test
// server trusts X-Forwarded-For, so each context claims its own address: repeated runs
// against one server do not run into the limit.
async function phone({ timezoneId = 'Asia/Kolkata', locale = 'hi-IN' } = {}) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    locale, timezoneId, extraHTTPHeaders: { 'X-Forwarded-For': randomAddr() },
  });
  // A Content-Security-Policy the page breaks counts as a script error (the policy allows only
  // what the pages need; a new inline script or style attribute would be refused in the field).
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI || 'inline'}`)));
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy|CSP violation|Permissions-Policy/i.test(m.text())) errors.push(m.text()); });
  return { context, page, errors };
}
const shot = (page, name) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
const text = (page, sel) => page.locator(sel).innerText();
const signIn = (page, token, number) => page.evaluate(([t, p]) => localStorage.setItem('mitan.session', JSON.stringify({ token: t, phone: p })), [token, number]);

// What a screen reader and a keyboard user need on the visible screen: every control has a
// name, the page says its language, ids are unique. Returns the problems found.
async function a11yProblems(page, lang) {
  return page.evaluate((want) => {
    const out = [];
    if (document.documentElement.lang !== want) out.push(`html lang is ${document.documentElement.lang}, not ${want}`);
    const seen = new Set();
    for (const el of document.querySelectorAll('[id]')) {
      if (seen.has(el.id)) out.push(`duplicate id ${el.id}`);
      seen.add(el.id);
    }
    const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length) && !el.closest('[hidden]');
    for (const el of document.querySelectorAll('input, select, textarea, button, a[href], [tabindex="0"]')) {
      if (!visible(el)) continue;
      const name = el.getAttribute('aria-label') || (el.getAttribute('aria-labelledby') || '').split(' ').map((id) => document.getElementById(id)?.textContent).join('').trim()
        || [...(el.labels || [])].map((l) => l.textContent).join('').trim() || (el.matches('button, a') ? el.textContent.trim() : '');
      if (!name) out.push(`no accessible name: ${el.outerHTML.slice(0, 80)}`);
    }
    return out;
  }, lang);
}

// The newest OTP sent to a phone, read from the log SMS driver's view.
async function otpFor(phoneNumber) {
  for (let i = 0; i < 50; i++) {
    const r = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(phoneNumber)}`);
    const m = r.json?.find((x) => x.template === 'otp');
    if (m) return m.body.match(/\d{6}/)[0];
    await new Promise((res) => setTimeout(res, 100)); // polling the server, not waiting on the page
  }
  throw new Error(`no OTP SMS to ${phoneNumber}`);
}

// Logs in on the OTP step (the phone field is already filled or is filled here).
async function otpLogin(page, phoneNumber, name, { wrongFirst } = {}) {
  if (phoneNumber) await page.fill('#phone', phoneNumber);
  await page.click('#send-code');
  await page.locator('#code').waitFor({ state: 'visible' });
  const typed = await page.inputValue('#phone');
  const code = await otpFor(typed);
  if (wrongFirst) {
    await page.fill('#code', String((Number(code) + 1) % 1e6).padStart(6, '0'));
    await page.click('#verify-form button[type=submit]');
    await page.locator('#msg.error').waitFor();
    assert.match(await page.locator('#msg').innerText(), wrongFirst);
    assert.equal(await page.getAttribute('#msg', 'aria-live'), 'assertive', 'errors are announced at once');
  }
  await page.fill('#code', code);
  await shot(page, name);
  await page.click('#verify-form button[type=submit]');
  return typed;
}

// A clock time as the app shows it (24-hour), in a given zone.
const zoneClock = (iso, tz) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));

// A booking made through the API for a resident signed in through the API.
async function bookedVisit(where = ZONES['RPR-Z5'], service = 'income_certificate') {
  const { token, phone: mine } = await residentLogin(randomPhone(), 'hi');
  const open = (await slots(service, where)).filter((s) => s.remaining > 0);
  const made = await api('POST', '/api/v1/bookings', {
    token, headers: { 'Idempotency-Key': uniqueKey() },
    body: bookingBody(open.at(-1).start, { service, location: where, beneficiary: { name: 'कमला देवी', phone: mine, language: 'hi' } }),
  });
  assert.equal(made.status, 201, made.text);
  return { token, phone: mine, ref: made.json.reference, start: made.json.window.start };
}

test('the Hindi and English strings have the same keys', async () => {
  for (const part of ['i18n', 'grievance']) {
    const hi = Object.keys((await import(`${WEB}${part}.hi.js`)).default).sort();
    const en = Object.keys((await import(`${WEB}${part}.en.js`)).default).sort();
    assert.deepEqual(hi, en, `${part}.hi.js and ${part}.en.js`);
  }
});

test('a resident books a doorstep visit end to end in Hindi on a 390×844 phone, then tracks it', async () => {
  const { context, page, errors } = await phone();
  try {
    const serviceHi = sqlValue("SELECT name_hi FROM service WHERE code = 'income_certificate'");
    const mandatory = sql("SELECT name_hi FROM service_document WHERE service_code = 'income_certificate' AND mandatory").map((r) => r[0]);

    // a. the service, searched for in Hindi; the list comes in brief (names and fees only)
    const list = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/v1/services');
    await page.goto(`${BASE}/resident/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'hi', 'Hindi is the default');
    await page.locator('a.service').first().waitFor();
    const listed = await list;
    assert.equal(new URL(listed.url()).searchParams.get('brief'), '1');
    const listBytes = (await listed.body()).length;
    assert.ok(listBytes < 20_000, `the service list is ${listBytes} bytes of API data`);
    assert.equal(Object.hasOwn((await listed.json())[0], 'documents'), false, 'no documents in the list');
    assert.equal(await text(page, 'section[data-step=service] h1'), 'कौन-सी सेवा चाहिए?');
    assert.ok((await page.locator('h2.group').count()) >= 5, 'services are grouped by department');
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'hi-01-services');
    await page.fill('#q', 'आय प्रमाण');
    assert.match(await text(page, '#service-list'), new RegExp(serviceHi));
    await page.click('a.service[data-code="income_certificate"]');

    // b. documents to keep ready, and the fee
    await page.waitForURL(/#docs$/);
    await page.locator('#docs-list .badge.req').first().waitFor();
    assert.equal(await text(page, '#docs-name'), serviceHi);
    const docsText = await text(page, '#docs-list');
    for (const d of mandatory) assert.ok(docsText.includes(d), `document "${d}" is listed`);
    assert.equal(await page.locator('#docs-list .badge.req').count(), mandatory.length, 'each mandatory document is marked');
    assert.match(docsText, /ज़रूरी/);
    assert.match(await text(page, '#docs-fee'), /₹\s?50/);
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'hi-02-documents');
    await page.click('section[data-step=docs] a[href="#place"]');

    // c. the place: the areas and the map are the zones the server has (GET /zones); an
    // address and the Pandri area, whose point is inside it; the pin goes there on the map
    await page.waitForURL(/#place$/);
    const zones = (await api('GET', '/api/v1/zones?district=RPR')).json.features;
    assert.ok(zones.length >= 6, 'the demo city has its zones');
    await page.locator('#pin-map path.zone').first().waitFor();
    assert.equal(await page.locator('#pin-map path.zone').count(), zones.length, 'a shape on the map for each zone');
    assert.deepEqual(await page.locator('#pin-map path.zone').evaluateAll((els) => els.map((e) => e.dataset.code)), zones.map((f) => f.properties.code));
    assert.deepEqual((await page.locator('#area-list label').allInnerTexts()).map((x) => x.trim()), zones.map((f) => f.properties.name_hi), 'an area to choose for each zone, by its Hindi name');
    assert.ok(await page.locator('#abroad-hint').isHidden(), 'no hint for bookers abroad on an Indian phone');
    await page.fill('#address', 'मकान 12, वार्ड 21, पंडरी, रायपुर');
    await page.getByLabel('पंडरी').check();
    assert.match(await text(page, '#loc-chosen'), /पंडरी.*21\.2800, 81\.6300/);
    assert.equal(sqlValue(`SELECT code FROM zone WHERE ST_Covers(area, ST_SetSRID(ST_MakePoint(81.63, 21.28), 4326))`), 'RPR-Z2');
    assert.ok(await page.locator('#pin').isVisible(), 'the pin is on the map');
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'hi-03-place');
    await page.click('#place-form button[type=submit]');

    // d. the first open window, as the API offers it, in IST
    await page.waitForURL(/#window$/);
    const offered = (await slots('income_certificate', PANDRI)).find((s) => s.remaining > 0);
    const first = page.locator('input[name=slot]:not(:disabled)').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('value'), offered.start);
    assert.match(await text(page, '#slot-list'), new RegExp(`${zoneClock(offered.start, 'Asia/Kolkata')}–${zoneClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(await text(page, '#tz-note'), /भारतीय समय/);
    assert.equal(await page.isChecked('#abroad'), false, 'a phone in India is not booking from abroad');
    await first.check();
    await page.screenshot({ path: `${SHOTS}hi-04-window.png` }); // the screen as seen, with the sticky buttons
    await page.click('#window-form button[type=submit]');

    // the person at the door: a 10-digit number gets +91
    await page.waitForURL(/#details$/);
    const mobile = randomPhone();
    await page.fill('#ben-name', 'कमला देवी');
    await page.fill('#ben-phone', mobile.slice(3));
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'hi-05-details');
    await page.click('#details-form button[type=submit]');

    // e. OTP login, read from the SMS log; a wrong code first is refused in Hindi
    await page.waitForURL(/#login$/);
    assert.equal(await page.inputValue('#phone'), mobile, 'the phone is carried over with +91');
    await otpLogin(page, null, 'hi-06-login', { wrongFirst: /कोड गलत है/ });

    // f. review and book
    await page.waitForURL(/#review$/);
    const review = await text(page, '#review-list');
    assert.match(review, new RegExp(serviceHi));
    assert.match(review, /कमला देवी/);
    await shot(page, 'hi-07-review');
    await page.click('#book');

    // the confirmation: the reference and the QR receipt
    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    assert.match(ref, /^MT-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const [row] = sql(`SELECT b.status, b.service_code, bn.phone, b.beneficiary_name, bk.phone, b.window_start = ${lit(offered.start)}::timestamptz
                         FROM booking b JOIN person bn ON bn.id = b.beneficiary_id JOIN person bk ON bk.id = b.booker_id
                        WHERE b.reference = ${lit(ref)}`);
    assert.deepEqual(row, ['booked', 'income_certificate', mobile, 'कमला देवी', mobile, 't'], 'the booking on screen is the one in the database');
    assert.equal(await text(page, 'section[data-step=done] h1'), 'आपकी भेंट बुक हो गई');
    const facts = await text(page, '#done-facts');
    assert.match(facts, /IST/);
    assert.match(facts, /₹\s?50/);
    for (const d of mandatory) assert.ok((await text(page, '#done-docs')).includes(d));
    const track = await page.getAttribute('#done-track', 'href');
    assert.match(track, /\/t\/[A-Za-z0-9_-]{22}$/);
    // the receipt came through the bearer token and is drawn
    await page.waitForFunction(() => document.querySelector('#receipt')?.complete && document.querySelector('#receipt').naturalWidth > 0);
    assert.match(await page.getAttribute('#receipt', 'src'), /^blob:/);
    await page.locator('#receipt').scrollIntoViewIfNeeded();
    assert.ok(await page.locator('#receipt').isVisible(), 'the QR receipt is on screen');
    await page.screenshot({ path: `${SHOTS}hi-08b-receipt.png` });
    await shot(page, 'hi-08-confirmation');

    // g. tracking: the page the QR code leads to
    const trackPage = await context.newPage();
    await trackPage.goto(track);
    assert.equal(await trackPage.locator('p.ref').innerText(), ref);
    assert.match(await trackPage.locator('dd.status').innerText(), DEVANAGARI);
    await trackPage.screenshot({ path: `${SHOTS}hi-09-tracking.png`, fullPage: true });
    await trackPage.close();

    // … and in My bookings: the card, its status history and its receipt
    await page.click('section[data-step=done] a[href="#mine"]');
    await page.waitForURL(/#mine$/);
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), new RegExp(serviceHi));
    assert.equal(await card.locator('.status').innerText(), 'बुक है');
    assert.match(await text(page, 'section[data-step=mine] h1'), DEVANAGARI);
    await card.locator('details.history summary').click();
    await card.locator('.timeline li', { hasText: 'बुक है' }).waitFor();
    await page.waitForFunction((r) => document.querySelector(`article[data-ref="${r}"] img.receipt-img`)?.naturalWidth > 0, ref);
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'hi-10-my-bookings');

    // next to the receipt, a link to the public tracking page, which shows the status
    const trackLink = card.getByRole('link', { name: 'भेंट की स्थिति देखें' });
    assert.equal(await trackLink.getAttribute('href'), track, 'the same page as the QR code');
    await trackLink.click();
    await page.waitForURL(/\/t\/[A-Za-z0-9_-]{22}$/);
    assert.equal(await page.locator('p.ref').innerText(), ref);
    assert.equal(await page.locator('dd.status').innerText(),
      sqlValue(`SELECT status_label(status, 'hi') || ' / ' || status_label(status, 'en') FROM booking WHERE reference = ${lit(ref)}`));
    assert.match(await page.locator('dd.status').innerText(), /\/ Visit booked$/, 'the status of the card: booked');
    await page.goBack();
    await page.waitForURL(/#mine$/);
    await page.locator(`article.booking[data-ref="${ref}"]`).waitFor();

    // the back button walks the steps back
    await page.goBack();
    await page.waitForURL(/#done$/);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('a son in New York books for his mother in Raipur: IST and New York times are both shown', async () => {
  const { context, page, errors } = await phone({ timezoneId: 'America/New_York', locale: 'en-US' });
  try {
    await page.goto(`${BASE}/resident/`);
    await page.locator('a.service').first().waitFor();
    // switch to English: the lang attribute follows, and the choice is remembered across a reload
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await page.locator('section[data-step=service] h1', { hasText: 'Which service do you need?' }).waitFor();
    await page.reload();
    await page.locator('a.service').first().waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await text(page, 'section[data-step=service] h1'), 'Which service do you need?');
    assert.equal(await text(page, '#lang'), 'हिन्दी');
    assert.equal(await page.getAttribute('#lang', 'lang'), 'hi', 'the button to Hindi is marked as Hindi');
    await page.fill('#q', 'residence');
    await page.click('a.service[data-code="residence_certificate"]');
    await page.waitForURL(/#docs$/);
    await page.click('section[data-step=docs] a[href="#place"]');

    // the place: from abroad, a hint not to use the current location; his mother's home is
    // pinned on the map, in Shankar Nagar
    await page.waitForURL(/#place$/);
    assert.ok(await page.locator('#abroad-hint').isVisible(), 'a booker abroad is told to pick the family\'s place');
    await page.fill('#address', 'House 7, Sector 2, Shankar Nagar, Raipur');
    const map = await page.locator('#pin-map svg').boundingBox();
    await page.locator('#pin-map svg').click({ position: { x: map.width * 0.8, y: map.height * 0.3 } });
    assert.match(await text(page, '#loc-chosen'), /the pin on the map \(Zone 3 Shankar Nagar\)/);
    const place = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mitan.draft')));
    assert.equal(place.via, 'pin');
    assert.ok(place.lat > 21.25 && place.lat < 21.31 && place.lon > 81.65 && place.lon < 81.69, `the pin is in Shankar Nagar: ${place.lat}, ${place.lon}`);
    // the arrow keys move the pin too (north: the latitude grows)
    await page.focus('#pin-map');
    await page.keyboard.press('ArrowUp');
    const moved = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mitan.draft')));
    assert.ok(Math.abs(moved.lat - place.lat - 0.002) < 1e-6, `the pin moved ~200 m north: ${place.lat} → ${moved.lat}`);
    assert.deepEqual(await a11yProblems(page, 'en'), []);
    await shot(page, 'nri-01-place');
    await page.click('#place-form button[type=submit]');

    // the window: booking from abroad is already ticked (the phone is in New York)
    await page.waitForURL(/#window$/);
    await page.locator('input[name=slot]').first().waitFor();
    assert.ok(await page.getByLabel('I am booking from abroad for a family member').isChecked());
    assert.equal(await page.inputValue('#tz'), 'America/New_York', 'the booker\'s zone defaults to the browser\'s');
    const offered = (await slots('residence_certificate', { lat: moved.lat, lon: moved.lon })).find((s) => s.remaining > 0);
    const label = page.locator('label.slot', { has: page.locator(`input[value="${offered.start}"]`) });
    const shown = await label.innerText();
    assert.match(shown, new RegExp(`${zoneClock(offered.start, 'Asia/Kolkata')}–${zoneClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(shown, new RegExp(`${zoneClock(offered.start, 'America/New_York')}–${zoneClock(offered.end, 'America/New_York')} · New York`));
    assert.match(await text(page, '#tz-note'), /New York \(GMT-[45]\)/);
    await label.locator('input').check();
    await page.screenshot({ path: `${SHOTS}nri-02-window.png` });
    await page.click('#window-form button[type=submit]');

    // the people: his mother at the door (SMS in Hindi), and himself
    await page.waitForURL(/#details$/);
    const mother = randomPhone();
    const son = `+1212555${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
    await page.fill('#ben-name', 'Shanti Devi');
    await page.fill('#ben-phone', mother);
    await page.selectOption('#ben-lang', 'hi');
    await page.fill('#bk-name', 'Arjun Verma');
    assert.deepEqual(await a11yProblems(page, 'en'), []);
    await shot(page, 'nri-03-details');
    await page.click('#details-form button[type=submit]');

    // his own +1 phone gets the OTP
    await page.waitForURL(/#login$/);
    assert.equal(await page.inputValue('#phone'), '', 'the booker types his own number');
    assert.match(await text(page, '#login-intro'), /country code/);
    await otpLogin(page, son, 'nri-04-login');

    await page.waitForURL(/#review$/);
    const review = await text(page, '#review-list');
    assert.match(review, /IST/);
    assert.match(review, /New York/);
    assert.match(review, /Arjun Verma/);
    assert.match(review, /the pin on the map/);
    await shot(page, 'nri-05-review');
    await page.click('#book');

    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    const facts = await text(page, '#done-facts');
    assert.match(facts, new RegExp(`${zoneClock(offered.start, 'Asia/Kolkata')}–${zoneClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(facts, new RegExp(`New York.*${zoneClock(offered.start, 'America/New_York')}–${zoneClock(offered.end, 'America/New_York')}`));
    await page.waitForFunction(() => document.querySelector('#receipt')?.naturalWidth > 0);
    await shot(page, 'nri-06-confirmation');

    const [row] = sql(`SELECT bn.phone, bn.language, b.beneficiary_name, bk.phone, bk.time_zone, bk.name
                         FROM booking b JOIN person bn ON bn.id = b.beneficiary_id JOIN person bk ON bk.id = b.booker_id
                        WHERE b.reference = ${lit(ref)}`);
    assert.deepEqual(row, [mother, 'hi', 'Shanti Devi', son, 'America/New_York', 'Arjun Verma']);

    // My bookings: the visit for his mother, in both zones
    await page.click('section[data-step=done] a[href="#mine"]');
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.waitFor();
    const when = await card.locator('.when').innerText();
    assert.match(when, /IST/);
    assert.match(when, /New York/);
    assert.match(await card.innerText(), /For: Shanti Devi/);
    await shot(page, 'nri-07-my-bookings');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('My bookings: reschedule to another window, then cancel', async () => {
  const { token, phone: mine } = await residentLogin(randomPhone(), 'hi');
  const open = (await slots()).filter((s) => s.remaining > 0);
  const made = await api('POST', '/api/v1/bookings', { token, body: bookingBody(open[0].start), headers: { 'Idempotency-Key': uniqueKey() } });
  assert.equal(made.status, 201, made.text);
  const ref = made.json.reference;

  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/resident/`);
    await signIn(page, token, mine);
    await page.goto(`${BASE}/resident/#mine`);
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.waitFor();
    await card.getByRole('button', { name: 'समय बदलें' }).click();
    const choice = card.locator(`input[name="re-${ref}"]:not(:disabled)`).first();
    await choice.waitFor();
    const to = await choice.getAttribute('value');
    assert.notEqual(Date.parse(to), Date.parse(open[0].start), 'the current window is not offered');
    await choice.check();
    await shot(page, 'mine-01-reschedule');
    await card.getByRole('button', { name: 'इस समय पर बदलें' }).click();
    await page.locator('#msg', { hasText: 'समय बदल दिया गया' }).waitFor();
    assert.equal(sqlValue(`SELECT window_start = ${lit(to)}::timestamptz FROM booking WHERE reference = ${lit(ref)}`), 't');
    // the history tells the move
    const moved = page.locator(`article.booking[data-ref="${ref}"]`);
    await moved.locator('details.history summary').click();
    await moved.locator('.timeline li', { hasText: 'समय बदला' }).waitFor();
    await shot(page, 'mine-02-rescheduled');

    page.once('dialog', (d) => d.accept());
    await moved.getByRole('button', { name: 'भेंट रद्द करें' }).click();
    await page.locator('#msg', { hasText: 'रद्द कर दी गई' }).waitFor();
    assert.equal(await page.locator(`article.booking[data-ref="${ref}"] .status`).innerText(), 'रद्द');
    assert.equal(sqlValue(`SELECT status FROM booking WHERE reference = ${lit(ref)}`), 'cancelled');
    assert.equal(await page.locator(`article.booking[data-ref="${ref}"] p.actions button`).count(), 0, 'a cancelled visit cannot be moved or cancelled');
    await shot(page, 'mine-03-cancelled');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

// The session row of a token (sessions keep only the token's SHA-256).
const sessionRows = (token) => Number(sqlValue(`SELECT count(*) FROM session WHERE token_hash = sha256(convert_to(${lit(token)}, 'UTF8'))`));
const until = async (fn, ms = 10000) => {
  for (const end = Date.now() + ms; !(await fn());) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('log out ends the session on the server; offline, it is forgotten at once and sent when back online or on the next load', async () => {
  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/resident/`);
    // Online: the session row goes, and the token is refused.
    const a = await residentLogin(randomPhone(), 'hi');
    await signIn(page, a.token, a.phone);
    await page.goto(`${BASE}/resident/#mine`);
    await page.click('#logout');
    await until(() => sessionRows(a.token) === 0);
    assert.equal((await api('GET', '/api/v1/bookings', { token: a.token })).status, 401);
    assert.equal(await page.evaluate(() => localStorage.getItem('mitan.session')), null);

    // Offline: forgotten at once, kept to send; sent when the network returns.
    const b = await residentLogin(randomPhone(), 'hi');
    await signIn(page, b.token, b.phone);
    await page.goto(`${BASE}/resident/#mine`);
    await page.locator('#logout').waitFor();
    await context.setOffline(true);
    await page.click('#logout');
    assert.equal(await page.evaluate(() => localStorage.getItem('mitan.session')), null);
    assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('mitan.logouts'))), [b.token]);
    assert.equal(sessionRows(b.token), 1, 'nothing reached the server yet');
    await context.setOffline(false);
    await until(() => sessionRows(b.token) === 0);
    assert.equal((await api('GET', '/api/v1/bookings', { token: b.token })).status, 401);
    await until(() => page.evaluate(() => localStorage.getItem('mitan.logouts') === null));

    // A sign-out left from a page closed offline is sent on the next load.
    const c = await residentLogin(randomPhone(), 'hi');
    await page.evaluate((tk) => localStorage.setItem('mitan.logouts', JSON.stringify([tk])), c.token);
    await page.reload();
    await until(() => sessionRows(c.token) === 0);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('windows: a full one is shown disabled; a place outside every zone gets a clear message', async () => {
  const TELIBANDHA = ZONES['RPR-Z6'];
  const target = (await slots('income_certificate', TELIBANDHA)).filter((s) => s.remaining > 0).at(-1);
  const where = `zone_id = (SELECT id FROM zone WHERE code = 'RPR-Z6') AND starts_at = ${lit(target.start)}::timestamptz`;
  // Fill that window in the ledger for the test, and give the units back afterwards.
  const held = sql(`SELECT agent_id, booked FROM agent_window WHERE ${where}`);
  sql(`UPDATE agent_window SET booked = capacity WHERE ${where}`);
  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/`);
    await shot(page, 'landing');
    await page.click('a[href="/resident/"]');
    await page.click('a.service[data-code="income_certificate"]');
    await page.click('section[data-step=docs] a[href="#place"]');
    await page.fill('#address', 'मकान 3, तेलीबांधा, रायपुर');
    await page.getByLabel('तेलीबांधा').check();
    await page.click('#place-form button[type=submit]');
    const full = page.locator(`input[name=slot][value="${target.start}"]`);
    await full.waitFor({ state: 'attached' });
    assert.ok(await full.isDisabled(), 'a full window cannot be chosen');
    assert.match(await page.locator('label.slot', { has: full }).innerText(), /भर गया/);
    await page.locator('label.slot', { has: full }).scrollIntoViewIfNeeded();
    await page.screenshot({ path: `${SHOTS}win-01-full.png` });

    // typed coordinates in Mumbai: outside every zone
    await page.goBack();
    await page.waitForURL(/#place$/);
    await page.click('#coords summary');
    await page.fill('#lat', '19.07');
    await page.fill('#lon', '72.87');
    assert.ok(await page.locator('#pin').isHidden(), 'no pin for a place off the map');
    await page.click('#place-form button[type=submit]');
    const alert = page.locator('#slot-list [role=alert]');
    await alert.waitFor();
    assert.match(await alert.innerText(), /सेवा क्षेत्र से बाहर/);
    assert.equal(await page.locator('#slot-list a[href="#place"]').innerText(), 'स्थान बदलें');
    await shot(page, 'win-02-outside-area');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    for (const [agent, booked] of held) sql(`UPDATE agent_window SET booked = ${Number(booked)} WHERE ${where} AND agent_id = ${Number(agent)}`);
    await context.close();
  }
});

// The areas and the map are whatever zones the server sends: here two made-up ones, an L
// (its centroid is outside it) and a square with a hole, through a failed first load.
test('the map follows the zones the server has: any outline, loaded once, a failure said plainly', async () => {
  const prop = (code, en, hi) => ({ code, name_en: en, name_hi: hi, district: 'RPR' });
  const fc = { type: 'FeatureCollection', features: [
    { type: 'Feature', id: 'T-L', properties: prop('T-L', 'L Ward', 'एल वार्ड'), geometry: { type: 'MultiPolygon', coordinates: [[[
      [81.60, 21.20], [81.66, 21.20], [81.66, 21.22], [81.62, 21.22], [81.62, 21.30], [81.60, 21.30], [81.60, 21.20]]]] } },
    { type: 'Feature', id: 'T-O', properties: prop('T-O', 'Ring Ward', 'घेरा वार्ड'), geometry: { type: 'MultiPolygon', coordinates: [[
      [[81.64, 21.24], [81.70, 21.24], [81.70, 21.30], [81.64, 21.30], [81.64, 21.24]],
      [[81.66, 21.26], [81.68, 21.26], [81.68, 21.28], [81.66, 21.28], [81.66, 21.26]]]] } },
  ] };
  let hits = 0, up = false;
  const { context, page, errors } = await phone();
  try {
    await context.route('**/api/v1/zones?*', (route) => {
      hits++;
      assert.equal(new URL(route.request().url()).searchParams.get('district'), 'RPR');
      return up ? route.fulfill({ json: fc })
        : route.fulfill({ status: 503, contentType: 'application/json', body: '{"error":{"code":"unavailable","message":"try later"}}' });
    });
    await context.addInitScript(() => sessionStorage.setItem('mitan.draft', sessionStorage.getItem('mitan.draft') || JSON.stringify({ service: 'income_certificate' })));
    await page.goto(`${BASE}/resident/#place`);

    // the server cannot send them: the step says so, and the address and coordinates still work
    const failed = page.locator('#area-list .msg.error');
    await failed.waitFor();
    assert.match(await failed.innerText(), /क्षेत्र और नक्शा लोड नहीं हो सके/);
    assert.ok(await page.locator('.pinbox').isHidden(), 'no empty map');
    assert.ok(await page.locator('#address').isEditable());
    up = true;
    await page.locator('#area-list').getByRole('button', { name: 'फिर से कोशिश करें' }).click();

    // two zones, two shapes, two areas
    await page.locator('#pin-map path.zone').first().waitFor();
    assert.equal(await page.locator('#pin-map path.zone').count(), 2);
    assert.deepEqual((await page.locator('#area-list label').allInnerTexts()).map((x) => x.trim()), ['एल वार्ड', 'घेरा वार्ड']);
    // an area's point is inside it: in the L's upright, beside the hole
    await page.getByLabel('एल वार्ड').check();
    assert.match(await text(page, '#loc-chosen'), /एल वार्ड \(21\.2500, 81\.6100\)/);
    await page.getByLabel('घेरा वार्ड').check();
    assert.match(await text(page, '#loc-chosen'), /घेरा वार्ड \(21\.2700, 81\.6500\)/);
    // a tap in the hole is in no zone; beside it, in the ring
    const box = await page.locator('#pin-map svg').boundingBox();
    assert.ok(Math.abs(box.height - box.width * 0.1 / (0.1 * Math.cos(21.25 * Math.PI / 180))) < 2, 'drawn to scale');
    const draftNow = () => page.evaluate(() => JSON.parse(sessionStorage.getItem('mitan.draft')));
    await page.locator('#pin-map svg').click({ position: { x: box.width * 0.7, y: box.height * 0.3 } });
    const inHole = await draftNow();
    assert.equal(inHole.area, null, `no zone at ${inHole.lat}, ${inHole.lon}`);
    assert.ok(Math.abs(inHole.lat - 21.27) < 0.002 && Math.abs(inHole.lon - 81.67) < 0.002, `the pin is in the hole: ${inHole.lat}, ${inHole.lon}`);
    assert.match(await text(page, '#loc-chosen'), /नक्शे पर पिन \(21\.\d{4}, 81\.\d{4}\)/);
    await page.locator('#pin-map svg').click({ position: { x: box.width * 0.9, y: box.height * 0.5 } });
    assert.match(await text(page, '#loc-chosen'), /नक्शे पर पिन \(घेरा वार्ड\)/);
    await page.focus('#pin-map');
    await page.keyboard.press('ArrowLeft');
    assert.equal((await draftNow()).area, 'T-O', 'the arrow keys move the pin within the ring');
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'map-01-any-zones');

    // fetched once: not again on the way back, nor after a reload (kept like the catalogue)
    assert.equal(hits, 2, 'the failed load and the retry');
    await page.goto(`${BASE}/resident/#docs`);
    await page.locator('#docs-list .badge').first().waitFor();
    await page.goto(`${BASE}/resident/#place`);
    await page.locator('#pin-map path.zone').first().waitFor();
    await page.reload();
    await page.locator('#pin-map path.zone').first().waitFor();
    assert.equal(hits, 2, 'the zones are not fetched again');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('a window that fills up while the resident confirms: back to the windows, then booked in another', async () => {
  const { token, phone: mine } = await residentLogin(randomPhone(), 'hi');
  const { context, page, errors } = await phone();
  let where, held = [];
  try {
    await page.goto(`${BASE}/resident/`);
    await signIn(page, token, mine);
    await page.reload();
    await page.click('a.service[data-code="birth_certificate"]');
    await page.click('section[data-step=docs] a[href="#place"]');
    await page.fill('#address', 'मकान 40, गुढ़ियारी, रायपुर');
    await page.getByLabel('गुढ़ियारी').check();
    await page.click('#place-form button[type=submit]');
    const first = page.locator('input[name=slot]:not(:disabled)').first();
    await first.waitFor();
    const start = await first.getAttribute('value');
    await first.check();
    await page.click('#window-form button[type=submit]');
    await page.fill('#ben-name', 'रामू यादव');
    assert.equal(await page.inputValue('#ben-phone'), mine, 'a signed-in resident\'s own number is offered');
    await page.click('#details-form button[type=submit]');
    await page.waitForURL(/#review$/);

    // someone else takes the last unit meanwhile
    where = `zone_id = (SELECT id FROM zone WHERE code = 'RPR-Z1') AND starts_at = ${lit(start)}::timestamptz`;
    held = sql(`SELECT agent_id, booked FROM agent_window WHERE ${where}`);
    sql(`UPDATE agent_window SET booked = capacity WHERE ${where}`);
    await page.click('#book');
    await page.waitForURL(/#window$/);
    await page.locator('#msg', { hasText: 'यह समय अभी-अभी भर गया' }).waitFor();
    await page.locator(`input[name=slot][value="${start}"]`).waitFor({ state: 'attached' });
    assert.ok(await page.locator(`input[name=slot][value="${start}"]`).isDisabled(), 'the full window is now disabled');
    await shot(page, 'full-01-slot-taken');

    const next = page.locator('input[name=slot]:not(:disabled)').first();
    const other = await next.getAttribute('value');
    await next.check();
    await page.click('#window-form button[type=submit]');
    await page.click('#details-form button[type=submit]');
    await page.click('#book');
    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    assert.equal(sqlValue(`SELECT window_start = ${lit(other)}::timestamptz FROM booking WHERE reference = ${lit(ref)}`), 't');
    assert.equal(sqlValue(`SELECT count(*) FROM booking b JOIN person p ON p.id = b.booker_id WHERE p.phone = ${lit(mine)}`), '1', 'booked once');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    for (const [agent, booked] of held) sql(`UPDATE agent_window SET booked = ${Number(booked)} WHERE ${where} AND agent_id = ${Number(agent)}`);
    await context.close();
  }
});

test('a slow and broken network: loading shown, the error said in Hindi, nothing lost, booked once', async () => {
  const { token, phone: mine } = await residentLogin(randomPhone(), 'hi');
  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/resident/`);
    await signIn(page, token, mine);
    await page.reload();
    await page.click('a.service[data-code="income_certificate"]');
    await page.click('section[data-step=docs] a[href="#place"]');
    await page.fill('#address', 'मकान 9, टाटीबंध, रायपुर');
    await page.getByLabel('टाटीबंध').check();

    // the windows come slowly: the list says it is loading until they arrive
    let release;
    const held = new Promise((r) => { release = r; });
    await page.route('**/api/v1/slots?*', async (route) => { await held; await route.continue(); });
    await page.click('#place-form button[type=submit]');
    await page.locator('#slot-list .loading', { hasText: 'लोड हो रहा है' }).waitFor();
    assert.ok(await page.locator('#window-form .actions').isHidden(), 'no button to go on before there is anything to choose');
    await page.screenshot({ path: `${SHOTS}net-01-loading.png` });
    release();
    const first = page.locator('input[name=slot]:not(:disabled)').first();
    await first.waitFor();
    await page.unroute('**/api/v1/slots?*');
    const start = await first.getAttribute('value');
    await first.check();
    await page.click('#window-form button[type=submit]');
    await page.fill('#ben-name', 'सीता बाई');
    await page.click('#details-form button[type=submit]');
    await page.waitForURL(/#review$/);

    // the booking reaches the server but its reply is lost on the way back
    const keys = [];
    await page.route('**/api/v1/bookings?*', async (route) => {
      keys.push(route.request().headers()['idempotency-key']);
      await route.fetch();
      await route.abort('internetdisconnected');
    }, { times: 1 });
    await page.click('#book');
    const msg = page.locator('#msg.error');
    await msg.waitFor();
    assert.match(await msg.innerText(), /सर्वर से जवाब नहीं आया.*दो बार नहीं होगी/, 'the error is plain, in Hindi, and says a retry is safe');
    assert.match(page.url(), /#review$/, 'the resident stays where they were');
    assert.ok(await page.locator('#book').isEnabled());
    await shot(page, 'net-02-reply-lost');

    // a reload loses nothing: the same review, and the same booking when sent again
    await page.reload();
    await page.waitForURL(/#review$/);
    await page.locator('#review-list', { hasText: 'सीता बाई' }).waitFor();
    page.on('request', (r) => { if (r.method() === 'POST' && r.url().includes('/api/v1/bookings')) keys.push(r.headers()['idempotency-key']); });
    await page.click('#book');
    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    assert.equal(keys.length, 2);
    assert.equal(keys[0], keys[1], 'the retry carries the same Idempotency-Key');
    assert.equal(sqlValue(`SELECT count(*) FROM booking b JOIN person p ON p.id = b.booker_id WHERE p.phone = ${lit(mine)}`), '1', 'booked once');
    assert.equal(sqlValue(`SELECT window_start = ${lit(start)}::timestamptz FROM booking WHERE reference = ${lit(ref)}`), 't');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

// Presses Tab until the focused element matches, as a keyboard user would; returns the count.
async function tabTo(page, selector, max = 60) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s), selector)) return i;
  }
  throw new Error(`Tab never reached ${selector}`);
}
const focusRing = (page) => page.evaluate(() => {
  const el = document.activeElement, cs = getComputedStyle(el);
  return (cs.outlineStyle !== 'none' && parseFloat(cs.outlineWidth) >= 2) || cs.boxShadow !== 'none'
    || (el.closest('label') && getComputedStyle(el.closest('label')).outlineStyle !== 'none');
});

test('keyboard only: from the service list to the people, with the focus always visible', async () => {
  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/resident/`);
    await page.locator('a.service').first().waitFor();
    await tabTo(page, 'a.skip');
    assert.ok(await focusRing(page), 'the skip link shows the focus');
    assert.ok(await page.locator('a.skip').isVisible(), 'the skip link appears when focused');
    await tabTo(page, '#q');
    await page.keyboard.type('जन्म');
    await tabTo(page, 'a.service[data-code="birth_certificate"]');
    assert.ok(await focusRing(page));
    await page.keyboard.press('Enter');
    await page.waitForURL(/#docs$/);
    await page.locator('#docs-list .badge').first().waitFor();
    assert.equal(await page.evaluate(() => document.activeElement.id), 'docs-name', 'the new step\'s heading has the focus');
    await tabTo(page, 'section[data-step=docs] a[href="#place"]');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#place$/);
    await tabTo(page, '#address');
    await page.keyboard.type('मकान 5, सिविल लाइन्स, रायपुर');
    await tabTo(page, 'input[name=area]');
    // arrow keys walk the area radios; the last one is Telibandha, then the pin map
    await page.keyboard.press('Space');
    assert.match(await text(page, '#loc-chosen'), /गुढ़ियारी/);
    await tabTo(page, '#pin-map');
    assert.ok(await focusRing(page), 'the map shows the focus');
    await page.keyboard.press('ArrowDown');
    assert.match(await text(page, '#loc-chosen'), /नक्शे पर पिन \([^)]*गुढ़ियारी\)/);
    await page.screenshot({ path: `${SHOTS}kbd-01-place.png` });
    await tabTo(page, '#place-form button[type=submit]');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#window$/);
    await page.locator('input[name=slot]:not(:disabled)').first().waitFor();
    await tabTo(page, 'input[name=slot]:not(:disabled)');
    await page.keyboard.press('Space');
    assert.ok(await focusRing(page), 'the window being chosen shows the focus');
    await page.screenshot({ path: `${SHOTS}kbd-02-window.png` });
    await tabTo(page, '#window-form button[type=submit]');
    await page.keyboard.press('Enter');
    await page.waitForURL(/#details$/);
    await tabTo(page, '#ben-name');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

// ---- grievances (contract B of issue 6) ----

// Whether the server has the grievance API yet (it lands on main from its own branch).
async function grievancesLive() {
  const { token } = await residentLogin(randomPhone(), 'hi');
  return (await api('GET', '/api/v1/grievances', { token })).status !== 404;
}

test('grievances: while the server has no grievance API, the screens say so plainly', async () => {
  const { token, phone: mine, ref } = await bookedVisit();
  const { context, page, errors } = await phone();
  try {
    await page.route('**/api/v1/grievances*', (route) => route.fulfill({
      status: 404, contentType: 'application/json', body: '{"error":{"code":"not_found","message":"no such resource"}}',
    }));
    await page.goto(`${BASE}/resident/`);
    await signIn(page, token, mine);
    await page.goto(`${BASE}/resident/#mine`);
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.getByRole('link', { name: 'इस भेंट के बारे में शिकायत करें' }).click();
    await page.waitForURL(/#gnew\//);
    const note = page.locator('#g-unavailable');
    await note.waitFor();
    assert.match(await note.innerText(), /अभी शुरू नहीं हुई/);
    assert.equal(await page.locator('#g-form').count(), 0, 'no form that cannot be sent');
    await shot(page, 'gv-00-unavailable');
    await page.goto(`${BASE}/resident/#grievances`);
    await page.locator('#g-list #g-unavailable').waitFor();
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('grievances: raise one on a visit, see it in the list, appeal to the next tier, link and close', async (t) => {
  if (!(await grievancesLive())) { t.skip('the grievance API is not on this server yet'); return; }
  const { token, phone: mine, ref } = await bookedVisit();
  const { context, page, errors } = await phone();
  try {
    await page.goto(`${BASE}/resident/`);
    await signIn(page, token, mine);
    await page.goto(`${BASE}/resident/#mine`);
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.getByRole('link', { name: 'इस भेंट के बारे में शिकायत करें' }).click();

    // raise: the kind, what happened; nothing typed is lost to a reload
    await page.waitForURL(/#gnew\//);
    await page.locator('#g-form').waitFor();
    assert.match(await text(page, '#g-form .facts'), new RegExp(ref));
    await page.getByLabel('मितान नहीं आए').check();
    await page.fill('#g-desc', 'बुक किए समय पर मितान नहीं आए। पूरा दिन घर पर इंतज़ार किया।');
    await page.reload();
    await page.locator('#g-form').waitFor();
    assert.ok(await page.getByLabel('मितान नहीं आए').isChecked(), 'the kind is kept');
    assert.match(await page.inputValue('#g-desc'), /पूरा दिन/, 'the description is kept');
    assert.deepEqual(await a11yProblems(page, 'hi'), []);
    await shot(page, 'gv-01-raise');
    await page.click('#g-form button[type=submit]');

    await page.waitForURL(/#grievance\/GV-/);
    await page.locator('#g-ref').waitFor();
    const gv = (await text(page, '#g-ref')).trim();
    assert.match(gv, /^GV-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    assert.match(await text(page, '#msg'), new RegExp(`शिकायत ${gv} दर्ज हो गई`));
    assert.equal(await page.locator('.tiers li[aria-current=step]').evaluate((e) => e.textContent), 'शिकायत अधिकारी', 'tier 1 of 3');
    assert.match(await text(page, '#g-one .facts'), /उत्तर की प्रतीक्षा/);
    assert.match(await text(page, '#g-one .facts'), /उत्तर की अंतिम तिथि[\s\S]*IST/);
    assert.deepEqual(sql(`SELECT g.kind, g.tier, g.status, b.reference FROM grievance g JOIN booking b ON b.id = g.booking_id WHERE g.reference = ${lit(gv)}`),
      [['missed_visit', '1', 'open', ref]]);
    await shot(page, 'gv-02-raised');

    // the list: tier, status, due date
    await page.goto(`${BASE}/resident/#grievances`);
    const item = page.locator(`article.grievance[data-ref="${gv}"]`);
    await item.waitFor();
    const itemText = await item.innerText();
    assert.match(itemText, /शिकायत अधिकारी · स्तर 1 \/ 3/);
    assert.match(itemText, /उत्तर की प्रतीक्षा/);
    assert.match(itemText, /उत्तर की अंतिम तिथि: .*IST/);
    await shot(page, 'gv-03-list');

    // the grievance officer answers (through the API); the resident is not satisfied and appeals
    const answered = await api('POST', `/api/v1/grievances/${gv}/answer`, {
      token: await staffLogin('admin'), body: { decision: 'rejected', note: 'मितान 10:40 पर पहुँचे थे, घर बंद था।' },
    });
    assert.equal(answered.status, 200, answered.text);
    await item.getByRole('link', { name: 'शिकायत देखें' }).click();
    await page.locator('#g-answer').waitFor();
    assert.match(await text(page, '#g-answer'), /घर बंद था/);
    await page.click('#g-appeal-open');
    await page.fill('#g-appeal-note', 'उस दिन घर पर पूरे समय कोई न कोई था।');
    await shot(page, 'gv-04-appeal');
    await page.click('#g-appeal button[type=submit]');
    await page.locator('#msg.ok', { hasText: 'अपीलीय प्राधिकारी' }).waitFor();
    await page.locator('.tiers li.now', { hasText: 'अपीलीय प्राधिकारी' }).waitFor();
    assert.match(await text(page, '#g-one .facts'), /अपीलीय प्राधिकारी · स्तर 2 \/ 3/);
    assert.match(await text(page, '#g-events'), /अपील की गई/);
    assert.deepEqual(sql(`SELECT tier, status FROM grievance WHERE reference = ${lit(gv)}`), [['2', 'open']]);
    await shot(page, 'gv-05-appealed');

    // a second grievance on the same visit, linked to the first; closed when satisfied
    await page.goto(`${BASE}/resident/#gnew/${ref}`);
    await page.locator('#g-form').waitFor();
    await page.getByLabel('काम में देरी').check();
    await page.fill('#g-desc', 'प्रमाण पत्र अब तक नहीं मिला, समय सीमा बीत गई।');
    await page.locator(`input[name=glink][value="${gv}"]`).check();
    await page.click('#g-form button[type=submit]');
    await page.locator('#g-linked').waitFor();
    assert.match(await text(page, '#g-linked'), new RegExp(gv));
    const second = (await text(page, '#g-ref')).trim();
    page.once('dialog', (d) => d.accept());
    await page.click('#g-close');
    await page.locator('#msg.ok', { hasText: 'बंद कर दी गई' }).waitFor();
    await page.locator('#g-one .facts .gstatus', { hasText: 'बंद' }).waitFor();
    assert.equal(sqlValue(`SELECT status FROM grievance WHERE reference = ${lit(second)}`), 'closed');
    await shot(page, 'gv-06-linked-closed');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

// ---- weight: every page, loaded cold, is under 100 KB before images ----

test('each page is under 100 KB before images (html, js, css and strings, as loaded)', async (t) => {
  const { token, phone: mine, ref } = await bookedVisit();
  const live = await grievancesLive();
  let gv = null;
  if (live) {
    const r = await api('POST', '/api/v1/grievances', { token, headers: { 'Idempotency-Key': uniqueKey() },
      body: { booking: ref, kind: 'delay', description: 'प्रमाण पत्र में देरी हो रही है।' } });
    gv = r.json?.reference;
  }
  const draft = { service: 'income_certificate', address: 'मकान 1, सिविल लाइन्स', lat: 21.22, lon: 81.63, via: 'area', area: 'RPR-Z5',
    abroad: false, tz: 'Asia/Kolkata', start: null, end: null, ben: { name: '', phone: '', language: null }, bookerName: '', idem: null, after: null };
  const pages = [
    ['service', 'a.service'], ['docs', '#docs-list .badge'], ['place', '#pin-map svg'], ['window', 'input[name=slot]'],
    ['mine', 'article.booking'], ['grievances', '#g-list > :not(.loading)'], [`gnew/${ref}`, '#g-new > :not(.loading)'],
    ...(gv ? [[`grievance/${gv}`, '#g-ref']] : []),
  ];
  const rows = [];
  for (const lang of ['hi', 'en']) {
    for (const [route, ready] of pages) {
      const { context, page, errors } = await phone();
      try {
        await context.addInitScript(([l, s, d]) => {
          localStorage.setItem('mitan.lang', JSON.stringify(l));
          localStorage.setItem('mitan.session', JSON.stringify(s));
          sessionStorage.setItem('mitan.draft', JSON.stringify(d));
        }, [lang, { token, phone: mine }, draft]);
        const responses = [];
        page.on('response', (r) => responses.push(r));
        await page.goto(`${BASE}/resident/#${route}`);
        await page.locator(ready).first().waitFor();
        await page.waitForLoadState('networkidle');
        let app = 0, gz = 0, data = 0, services = 0;
        const files = [];
        for (const r of responses) {
          const path = new URL(r.url()).pathname;
          if (r.request().resourceType() === 'image' || path.endsWith('.svg')) continue;
          const body = await r.body().catch(() => Buffer.alloc(0));
          if (path === '/api/v1/services') services += body.length;
          if (path.startsWith('/api/')) { data += body.length; continue; }
          app += body.length;
          gz += gzipSync(body).length;
          files.push(path.replace('/resident/', '') || 'index.html');
        }
        rows.push({ lang, route: route.replace(/\/.*/, '/…'), app, gz, data, services, files: files.join(' ') });
        assert.deepEqual(errors, [], `no script errors on #${route}`);
      } finally {
        await context.close();
      }
    }
  }
  const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
  const report = rows.map((r) => `${r.lang} #${r.route.padEnd(12)} ${kb(r.app).padStart(9)} (gzip ${kb(r.gz).padStart(8)})  API data ${kb(r.data).padStart(9)}${r.services ? ` (/services ${r.services} B)` : ''}  ${r.files}`).join('\n');
  writeFileSync(`${SHOTS}weights.txt`, `${report}\n`);
  for (const line of report.split('\n')) t.diagnostic(line);
  for (const r of rows) assert.ok(r.app < 100_000, `#${r.route} (${r.lang}) loads ${r.app} bytes of html, js and css`);
  // the service list on 2G: names and fees only (brief=1), the documents come with the chosen one
  for (const r of rows.filter((x) => x.route === 'service')) {
    assert.ok(r.services > 0, `#service (${r.lang}) loads the catalogue`);
    assert.ok(r.data < 20_000, `#service (${r.lang}) loads ${r.data} bytes of API data (/services: ${r.services})`);
  }
});

// The tracking page links /track.css: the API's "/t/" prefix must not capture it.
test('the public tracking page gets its stylesheet', async () => {
  const r = await fetch(`${BASE}/track.css`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/css/);
});
