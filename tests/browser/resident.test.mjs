// Browser tests of the resident app (web/resident/), driving Debian's Chromium against the
// real server at MITAN_URL and reading the real database of MITAN_DATA. They assert what
// the user sees, and check it against the API and the database. Screenshots of each step
// go to tests/browser/screenshots/ (gitignored).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BASE, api, sql, sqlValue, randomPhone, randomAddr, residentLogin, slots, bookingBody, uniqueKey, PANDRI } from '../integration/lib.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
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
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, errors };
}
const shot = (page, name) => page.screenshot({ path: `${SHOTS}${name}.png`, fullPage: true });
const text = (page, sel) => page.locator(sel).innerText();
const q = (s) => s.replace(/'/g, "''");

// The newest OTP sent to a phone, read from the log SMS driver's view.
async function otpFor(phoneNumber) {
  for (let i = 0; i < 20; i++) {
    const r = await api('GET', `/api/v1/dev/sms?phone=${encodeURIComponent(phoneNumber)}`);
    const m = r.json?.find((x) => x.template === 'otp');
    if (m) return m.body.match(/\d{6}/)[0];
    await new Promise((res) => setTimeout(res, 100));
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
  }
  await page.fill('#code', code);
  await shot(page, name);
  await page.click('#verify-form button[type=submit]');
  return typed;
}

// A clock time as the app shows it (24-hour), in a given zone.
const istClock = (iso, tz) => new Intl.DateTimeFormat('en-GB', { timeZone: tz, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(new Date(iso));

test('a resident books a doorstep visit end to end in Hindi, then sees it in My bookings', async () => {
  const { context, page, errors } = await phone();
  try {
    const serviceHi = sqlValue("SELECT name_hi FROM service WHERE code = 'income_certificate'");
    const mandatory = sql("SELECT name_hi FROM service_document WHERE service_code = 'income_certificate' AND mandatory").map((r) => r[0]);

    // a. the service, searched for in Hindi
    await page.goto(`${BASE}/resident/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'hi', 'Hindi is the default');
    await page.locator('a.service').first().waitFor();
    assert.equal(await text(page, 'section[data-step=service] h1'), 'कौन-सी सेवा चाहिए?');
    assert.ok((await page.locator('h2.group').count()) >= 5, 'services are grouped by department');
    await shot(page, 'hi-01-services');
    await page.fill('#q', 'आय प्रमाण');
    assert.match(await text(page, '#service-list'), new RegExp(serviceHi));
    await page.click('a.service[data-code="income_certificate"]');

    // b. documents to keep ready, and the fee
    await page.waitForURL(/#docs$/);
    assert.equal(await text(page, '#docs-name'), serviceHi);
    const docsText = await text(page, '#docs-list');
    for (const d of mandatory) assert.ok(docsText.includes(d), `document "${d}" is listed`);
    assert.equal(await page.locator('#docs-list .badge.req').count(), mandatory.length, 'each mandatory document is marked');
    assert.match(await text(page, '#docs-list'), /ज़रूरी/);
    assert.match(await text(page, '#docs-fee'), /₹\s?50/);
    await shot(page, 'hi-02-documents');
    await page.click('section[data-step=docs] a[href="#place"]');

    // c. the place: an address and the Pandri area
    await page.waitForURL(/#place$/);
    await page.fill('#address', 'मकान 12, वार्ड 21, पंडरी, रायपुर');
    await page.getByLabel('पंडरी').check();
    assert.match(await text(page, '#loc-chosen'), /पंडरी.*21\.2700, 81\.6300/);
    await shot(page, 'hi-03-place');
    await page.click('#place-form button[type=submit]');

    // d. the first open window, as the API offers it
    await page.waitForURL(/#window$/);
    const offered = (await slots('income_certificate', PANDRI)).find((s) => s.remaining > 0);
    const first = page.locator('input[name=slot]:not(:disabled)').first();
    await first.waitFor();
    assert.equal(await first.getAttribute('value'), offered.start);
    assert.match(await text(page, '#slot-list'), new RegExp(`${istClock(offered.start, 'Asia/Kolkata')}–${istClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(await text(page, '#tz-note'), /भारतीय समय/);
    await first.check();
    await shot(page, 'hi-04-window');
    await page.click('#window-form button[type=submit]');

    // the person at the door: a 10-digit number gets +91
    await page.waitForURL(/#details$/);
    const mobile = randomPhone();
    await page.fill('#ben-name', 'कमला देवी');
    await page.fill('#ben-phone', mobile.slice(3));
    await shot(page, 'hi-05-details');
    await page.click('#details-form button[type=submit]');

    // e. OTP login
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

    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    assert.match(ref, /^MT-[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
    const [row] = sql(`SELECT b.status, b.service_code, bn.phone, b.beneficiary_name, bk.phone, b.window_start = '${q(offered.start)}'::timestamptz
                         FROM booking b JOIN person bn ON bn.id = b.beneficiary_id JOIN person bk ON bk.id = b.booker_id
                        WHERE b.reference = '${q(ref)}'`);
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
    await shot(page, 'hi-08-confirmation');

    // the tracking page the QR code leads to
    const trackPage = await context.newPage();
    await trackPage.goto(track);
    assert.equal(await trackPage.locator('p.ref').innerText(), ref);
    await trackPage.screenshot({ path: `${SHOTS}hi-09-tracking.png`, fullPage: true });
    await trackPage.close();

    // g. My bookings lists it, in Hindi
    await page.click('section[data-step=done] a[href="#mine"]');
    await page.waitForURL(/#mine$/);
    const card = page.locator(`article.booking[data-ref="${ref}"]`);
    await card.waitFor();
    assert.match(await card.innerText(), new RegExp(serviceHi));
    assert.equal(await card.locator('.status').innerText(), 'बुक है');
    assert.match(await text(page, 'section[data-step=mine] h1'), DEVANAGARI);
    await shot(page, 'hi-10-my-bookings');

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
    // switch to English: remembered across a reload
    await page.click('#lang');
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    await page.reload();
    await page.locator('a.service').first().waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.equal(await text(page, 'section[data-step=service] h1'), 'Which service do you need?');
    await page.fill('#q', 'residence');
    await page.click('a.service[data-code="residence_certificate"]');
    await page.waitForURL(/#docs$/);
    await page.click('section[data-step=docs] a[href="#place"]');

    await page.fill('#address', 'House 7, Sector 2, Shankar Nagar, Raipur');
    await page.getByLabel('Shankar Nagar').check();
    await page.click('#place-form button[type=submit]');

    await page.waitForURL(/#window$/);
    await page.locator('input[name=slot]').first().waitFor();
    await page.getByLabel('I am booking from abroad for a family member').check();
    assert.equal(await page.inputValue('#tz'), 'America/New_York', 'the booker\'s zone defaults to the browser\'s');
    await page.selectOption('#tz', 'America/New_York');
    const offered = (await slots('residence_certificate', { lat: 21.27, lon: 81.67 })).find((s) => s.remaining > 0);
    const label = page.locator('label.slot', { has: page.locator(`input[value="${offered.start}"]`) });
    const shown = await label.innerText();
    assert.match(shown, new RegExp(`${istClock(offered.start, 'Asia/Kolkata')}–${istClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(shown, new RegExp(`${istClock(offered.start, 'America/New_York')}–${istClock(offered.end, 'America/New_York')} · New York`));
    assert.match(await text(page, '#tz-note'), /New York \(GMT-[45]\)/);
    await label.locator('input').check();
    await shot(page, 'nri-01-window');
    await page.click('#window-form button[type=submit]');

    await page.waitForURL(/#details$/);
    const mother = randomPhone();
    const son = `+1212555${String(Math.floor(Math.random() * 1e4)).padStart(4, '0')}`;
    await page.fill('#ben-name', 'Shanti Devi');
    await page.fill('#ben-phone', mother);
    await page.selectOption('#ben-lang', 'hi');
    await page.fill('#bk-name', 'Arjun Verma');
    await shot(page, 'nri-02-details');
    await page.click('#details-form button[type=submit]');

    await page.waitForURL(/#login$/);
    assert.equal(await page.inputValue('#phone'), '', 'the booker types his own number');
    await otpLogin(page, son, 'nri-03-login');

    await page.waitForURL(/#review$/);
    const review = await text(page, '#review-list');
    assert.match(review, /IST/);
    assert.match(review, /New York/);
    assert.match(review, /Arjun Verma/);
    await shot(page, 'nri-04-review');
    await page.click('#book');

    await page.waitForURL(/#done$/);
    const ref = (await text(page, '#done-ref')).trim();
    const facts = await text(page, '#done-facts');
    assert.match(facts, new RegExp(`${istClock(offered.start, 'Asia/Kolkata')}–${istClock(offered.end, 'Asia/Kolkata')} IST`));
    assert.match(facts, new RegExp(`New York.*${istClock(offered.start, 'America/New_York')}–${istClock(offered.end, 'America/New_York')}`));
    await page.waitForFunction(() => document.querySelector('#receipt')?.naturalWidth > 0);
    await shot(page, 'nri-05-confirmation');

    const [row] = sql(`SELECT bn.phone, bn.language, b.beneficiary_name, bk.phone, bk.time_zone, bk.name
                         FROM booking b JOIN person bn ON bn.id = b.beneficiary_id JOIN person bk ON bk.id = b.booker_id
                        WHERE b.reference = '${q(ref)}'`);
    assert.deepEqual(row, [mother, 'hi', 'Shanti Devi', son, 'America/New_York', 'Arjun Verma']);
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
    await page.evaluate(([t, p]) => localStorage.setItem('mitan.session', JSON.stringify({ token: t, phone: p })), [token, mine]);
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
    assert.equal(sqlValue(`SELECT window_start = '${q(to)}'::timestamptz FROM booking WHERE reference = '${q(ref)}'`), 't');

    page.once('dialog', (d) => d.accept());
    await page.locator(`article.booking[data-ref="${ref}"]`).getByRole('button', { name: 'भेंट रद्द करें' }).click();
    await page.locator('#msg', { hasText: 'रद्द कर दी गई' }).waitFor();
    assert.equal(await page.locator(`article.booking[data-ref="${ref}"] .status`).innerText(), 'रद्द');
    assert.equal(sqlValue(`SELECT status FROM booking WHERE reference = '${q(ref)}'`), 'cancelled');
    assert.equal(await page.locator(`article.booking[data-ref="${ref}"] button`).count(), 0, 'a cancelled visit has no actions');
    await shot(page, 'mine-02-cancelled');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('windows: a full one is shown disabled; a place outside every zone gets a clear message', async () => {
  const TELIBANDHA = { lat: 21.22, lon: 81.67 };
  const target = (await slots('income_certificate', TELIBANDHA)).filter((s) => s.remaining > 0).at(-1);
  const where = `zone_id = (SELECT id FROM zone WHERE code = 'RPR-Z6') AND starts_at = '${q(target.start)}'::timestamptz`;
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

test('a window that fills up while the resident confirms: back to the windows, then booked in another', async () => {
  const { token, phone: mine } = await residentLogin(randomPhone(), 'hi');
  const GUDHIYARI = { lat: 21.28, lon: 81.59 };
  const { context, page, errors } = await phone();
  let where, held = [];
  try {
    await page.goto(`${BASE}/resident/`);
    await page.evaluate(([t, p]) => localStorage.setItem('mitan.session', JSON.stringify({ token: t, phone: p })), [token, mine]);
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
    where = `zone_id = (SELECT id FROM zone WHERE code = 'RPR-Z1') AND starts_at = '${q(start)}'::timestamptz`;
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
    assert.equal(sqlValue(`SELECT window_start = '${q(other)}'::timestamptz FROM booking WHERE reference = '${q(ref)}'`), 't');
    assert.equal(sqlValue(`SELECT count(*) FROM booking b JOIN person p ON p.id = b.booker_id WHERE p.phone = '${mine}'`), '1', 'booked once');
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    for (const [agent, booked] of held) sql(`UPDATE agent_window SET booked = ${Number(booked)} WHERE ${where} AND agent_id = ${Number(agent)}`);
    await context.close();
  }
});

// The tracking page links /track.css: the API's "/t/" prefix must not capture it.
test('the public tracking page gets its stylesheet', async () => {
  const r = await fetch(`${BASE}/track.css`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') || '', /^text\/css/);
});
