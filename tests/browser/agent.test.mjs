// Browser test of the agent app (web/agent/): a demo agent signs in, walks a visit with the
// visit code, captures a document, loses the network in the middle of its upload, reloads
// the page while offline (the queue lives in IndexedDB), and the upload completes when the
// network returns. An officer then opens the scan through its signed link. Agent RPR-A09.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BASE, api, demoAccounts, lit, sql, sqlValue, staffLogin } from '../integration/lib.mjs';
import { fakePdf, makeVisit, mandatoryDocs, sha256hex } from '../integration/agent_fixtures.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const AGENT = 'RPR-A09';
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
const shot = (page, name) => page.screenshot({ path: `${SHOTS}agent-${name}.png`, fullPage: true });
const waitFor = async (fn, ms = 15000) => {
  const end = Date.now() + ms;
  for (;;) {
    if (await fn()) return;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
};

test('an agent walks a visit, the upload survives losing the network and a reload, and completes', async () => {
  const visit = makeVisit(AGENT, { hour: 11 });
  const docs = mandatoryDocs();
  const pdf = fakePdf(900 * 1024); // four chunks of 256 KB
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'hi-IN' });
  // A Content-Security-Policy the page breaks counts as a script error (the policy allows only
  // what the pages need; a new inline script or style attribute would be refused in the field).
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI || 'inline'}`)));
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy|CSP violation|Permissions-Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('dialog', (d) => d.accept('resident will bring the rest to the office'));
  try {
    await page.goto(`${BASE}/agent/`);
    assert.equal(await page.getAttribute('html', 'lang'), 'hi');
    const account = demoAccounts().find((a) => a.login === AGENT);
    await page.fill('#login-code', account.login);
    await page.fill('#login-password', account.password);
    await page.click('#login-form button[type=submit]');
    const card = page.locator(`li.visit[data-ref="${visit.reference}"]`);
    await card.waitFor();
    assert.match(await page.locator('#route-title').innerText(), /आज की भेंटें/);
    await shot(page, '01-route');

    await card.locator('[data-action=enRoute]').click();
    await card.locator(`#code-${visit.reference}`).waitFor();
    await card.locator(`#code-${visit.reference}`).fill(visit.code);
    await card.locator('button[data-action=arrived]').click();
    await card.locator('input.file').first().waitFor(); // shown as soon as the change is queued
    await waitFor(() => sqlValue(`SELECT status FROM booking WHERE reference = ${lit(visit.reference)}`) === 'arrived');
    await shot(page, '02-arrived');

    // The second PATCH takes the network down with it.
    let patches = 0;
    await page.route('**/api/v1/agent/uploads/*', async (route) => {
      if (route.request().method() === 'PATCH' && ++patches === 2) {
        await context.setOffline(true);
        return route.abort('internetdisconnected');
      }
      return route.continue();
    });
    await card.locator(`input.file[data-doc="${docs[0]}"]`).setInputFiles({ name: 'aadhaar.pdf', mimeType: 'application/pdf', buffer: pdf });
    await waitFor(async () => patches >= 2);
    await page.locator('#net.off').waitFor();
    await page.locator('#queue').filter({ hasText: /1/ }).waitFor();
    const offset = Number(sqlValue(`SELECT "offset" FROM upload u JOIN booking b ON b.id = u.booking_id WHERE b.reference = ${lit(visit.reference)}`));
    assert.ok(offset > 0 && offset < pdf.length, `partly uploaded (${offset})`);
    assert.equal(sqlValue(`SELECT count(*) FROM document d JOIN booking b ON b.id = d.booking_id WHERE b.reference = ${lit(visit.reference)}`), '0');
    await shot(page, '03-offline');

    // Reload while offline: the shell comes from the service worker, the queue from IndexedDB.
    await page.reload();
    await page.locator('#queue').filter({ hasText: /1/ }).waitFor();
    await page.unroute('**/api/v1/agent/uploads/*');
    await context.setOffline(false);
    await page.evaluate(() => window.dispatchEvent(new Event('online')));
    await waitFor(() => sqlValue(`SELECT count(*) FROM document d JOIN booking b ON b.id = d.booking_id WHERE b.reference = ${lit(visit.reference)}`) === '1', 20000);
    assert.equal(sqlValue(`SELECT encode(d.sha256, 'hex') FROM document d JOIN booking b ON b.id = d.booking_id WHERE b.reference = ${lit(visit.reference)}`),
      sha256hex(pdf));
    await card.locator(`li[data-code="${docs[0]}"] .done`).waitFor();
    await shot(page, '04-uploaded');

    // Documents collected (a reason for the rest), then complete.
    await card.locator('[data-action=collected]').click();
    await card.locator('[data-action=completed]').click();
    await waitFor(() => sqlValue(`SELECT status FROM booking WHERE reference = ${lit(visit.reference)}`) === 'completed');
    await page.locator('#queue:empty').waitFor({ state: 'attached' });
    await shot(page, '05-completed');
    assert.deepEqual(errors, []);

    // The officer opens the scan through its signed link.
    const officer = await staffLogin('officer');
    const link = await api('GET', `/api/v1/bookings/${visit.reference}/documents/${docs[0]}/link`, { token: officer });
    assert.equal(link.status, 200, link.text);
    const got = Buffer.from(await (await fetch(link.json.url)).arrayBuffer());
    assert.equal(sha256hex(got), sha256hex(pdf));
  } catch (e) {
    // What the agent would have seen, for the log of a failed run.
    await shot(page, 'failure').catch(() => {});
    const seen = await page.evaluate(() => ({ msg: document.querySelector('#msg')?.textContent, queue: document.querySelector('#queue')?.textContent })).catch(() => ({}));
    console.log('agent app at failure:', JSON.stringify(seen), 'status in db:',
      sqlValue(`SELECT status FROM booking WHERE reference = ${lit(visit.reference)}`), 'page errors:', JSON.stringify(errors));
    throw e;
  } finally {
    await context.close();
  }
});

test('the app is installable: manifest, icon and service worker are served', async () => {
  const m = await fetch(`${BASE}/agent/manifest.webmanifest`);
  assert.equal(m.status, 200);
  const manifest = JSON.parse(await m.text());
  assert.equal(manifest.start_url, '/agent/');
  assert.equal(manifest.display, 'standalone');
  for (const path of ['/agent/sw.js', '/agent/icon.svg', '/agent/app.js', '/agent/i18n.js', '/common/dom.js'])
    assert.equal((await fetch(BASE + path)).status, 200, path);
  assert.ok(sql('SELECT 1').length === 1);
});

// The session row of a token (sessions keep only the token's SHA-256).
const sessionRows = (token) => Number(sqlValue(`SELECT count(*) FROM session WHERE token_hash = sha256(convert_to(${lit(token)}, 'UTF8'))`));

test('signing out ends the session on the server; offline, the handset forgets it at once and sends it when back online', async () => {
  const account = demoAccounts().find((a) => a.login === AGENT);
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-IN' });
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  const signIn = async () => {
    await page.fill('#login-code', account.login);
    await page.fill('#login-password', account.password);
    await page.click('#login-form button[type=submit]');
    await page.locator('#route').waitFor();
    return page.evaluate(() => localStorage.getItem('mitan.agent.token'));
  };
  try {
    await page.goto(`${BASE}/agent/`);
    // Online: the session row goes, and the token is refused.
    const first = await signIn();
    assert.equal(sessionRows(first), 1);
    await page.click('#logout');
    await page.locator('#login').waitFor();
    await waitFor(() => sessionRows(first) === 0);
    assert.equal((await api('GET', '/api/v1/agent/visits', { token: first })).status, 401);

    // Offline: forgotten here at once, kept to send; sent when the network returns.
    const second = await signIn();
    await context.setOffline(true);
    await page.click('#logout');
    await page.locator('#login').waitFor();
    assert.equal(await page.evaluate(() => localStorage.getItem('mitan.agent.token')), null);
    assert.deepEqual(await page.evaluate(() => JSON.parse(localStorage.getItem('mitan.agent.logouts'))), [second]);
    assert.equal(sessionRows(second), 1, 'nothing reached the server yet');
    await context.setOffline(false);
    await waitFor(() => sessionRows(second) === 0);
    assert.equal((await api('GET', '/api/v1/agent/visits', { token: second })).status, 401);
    await waitFor(() => page.evaluate(() => localStorage.getItem('mitan.agent.logouts') === null));
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});
