// Browser tests of the office pages (web/office/), driving Debian's Chromium against the real
// server at MITAN_URL and the real database of MITAN_DATA: a nodal officer runs the day
// (demo visits of tomorrow, zone RPR-Z4: no other test books it on day +1), marks an agent
// unavailable and sees the visits moved, re-plans the zone, takes a collected case to the
// department and on to delivery (a case of its own, agent RPR-A16), answers a grievance a
// resident raised; the committee opens the fortnightly report, whose figures and charts must
// equal the API's JSON, downloads the CSV and the PDF and prints it. The officer also sends
// SMS dead letters again, delivers a certificate from "certificates to deliver", sees an
// agent's day off from the server after a reload, and logging out ends the token (or, offline,
// at least forgets it). A contract-shaped report
// (contract C) is also drawn from a fixture, figure by figure, and a server without the
// grievance or report API gets a clear message. Screenshots and the printed report go to
// tests/browser/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { BASE, api, demoAccounts, istDate, lit, residentLogin, sql, sqlValue, staffLogin } from '../integration/lib.mjs';
import { makeVisit } from '../integration/agent_fixtures.mjs';

const SHOTS = fileURLToPath(new URL('./screenshots/', import.meta.url));
const ZONE = 'RPR-Z4';
const STEP_AGENT = 'RPR-A16'; // today's 09:00 window gets one more, collected, case
const DAY = istDate(1);
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

// A desk-sized browser in IST. Each visit of a page is weighed: the sizes of the page's own
// files (HTML, CSS, JS of /office/ and the shared /common/) it asked for, cached or not;
// weights() gives the heaviest visit of each page.
const fileSize = new Map(); // /office/ or /common/ path -> bytes as the server sends them
async function sizeOf(path) {
  if (!fileSize.has(path)) fileSize.set(path, (await (await fetch(`${BASE}${path}`)).arrayBuffer()).byteLength);
  return fileSize.get(path);
}
async function desk({ locale = 'hi-IN' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, deviceScaleFactor: 1, locale, timezoneId: 'Asia/Kolkata' });
  // A Content-Security-Policy the page breaks counts as a script error (the policy allows only
  // what the pages need; a new inline script or style attribute would be refused in the field).
  await context.addInitScript(() => document.addEventListener('securitypolicyviolation',
    (e) => console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI || 'inline'}`)));
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  const errors = [];
  const visits = []; // [page path, Set of /office/ and /common/ paths it loaded]
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => { if (/Content Security Policy|CSP violation|Permissions-Policy/i.test(m.text())) errors.push(m.text()); });
  page.on('request', (req) => {
    const { pathname } = new URL(req.url());
    if (!(pathname.startsWith('/office/') || pathname.startsWith('/common/')) || req.resourceType() === 'image') return;
    if (req.isNavigationRequest() && req.frame() === page.mainFrame()) visits.push([pathname, new Set()]);
    visits.at(-1)?.[1].add(pathname);
  });
  async function weights() {
    const most = new Map();
    for (const [doc, files] of visits) {
      let bytes = 0;
      for (const f of files) bytes += await sizeOf(f);
      most.set(doc, Math.max(most.get(doc) || 0, bytes));
    }
    return most;
  }
  return { context, page, errors, weights };
}
// The whole page, down to 16,000 px: the demo district's weeks of history make the officer's
// lists long (dead letters, SLA cases), and a taller capture takes Chromium longer than a test step.
// Even so, such a capture on a loaded 2-core machine can take longer than the 15 s a step is given
// (seen once in a full `make test`): a capture gets a minute.
async function shot(page, name) {
  const height = await page.evaluate(() => document.documentElement.scrollHeight);
  return page.screenshot({ path: `${SHOTS}office-${name}.png`, fullPage: true, timeout: 60000,
    ...(height > 16000 ? { clip: { x: 0, y: 0, width: page.viewportSize().width, height: 16000 } } : {}) });
}
const account = (role) => demoAccounts().find((a) => a.role === role);

async function logIn(page, role) {
  const a = account(role);
  await page.fill('#login', a.login);
  await page.fill('#password', a.password);
  await page.click('#sign-in');
}

// The page's figures: [path in the JSON, the JSON value as the page holds it, the text shown].
const figures = (page) => page.$$eval('#report [data-v]', (els) => els.map((e) => [e.dataset.v, e.dataset.raw, e.textContent]));

// A path of data-v in the report: arrays are entered by code, reference or tier.
function resolve(report, path) {
  let x = report;
  for (const k of path.split('.')) {
    if (Array.isArray(x)) x = x.find((e) => String(e.code ?? e.reference ?? e.tier) === k);
    else x = x?.[k];
  }
  return x;
}

// Every figure of the report JSON that the page must show.
function expectedPaths(r) {
  const seven = ['booked', 'visited', 'completed', 'cancelled', 'no_show', 'failed', 'sla_met_pct'];
  const out = [];
  for (const base of ['', 'previous.']) {
    for (const k of seven) out.push(`${base}totals.${k}`);
    for (const k of ['booking_to_visit', 'collection_to_certificate']) out.push(`${base}median_hours.${k}`);
    for (const k of ['total', 'delivered', 'failed', 'pending', 'delivery_rate_pct']) out.push(`${base}sms.${k}`);
    for (const k of ['raised', 'answered', 'appealed', 'escalated', 'closed', 'open_overdue']) out.push(`${base}grievances.${k}`);
  }
  for (const list of ['by_service', 'by_zone', 'by_agent']) for (const row of r[list]) for (const k of seven) out.push(`${list}.${row.code}.${k}`);
  for (const tier of r.grievances.by_tier) for (const k of ['raised', 'answered', 'escalated', 'within_limit_pct']) out.push(`grievances.by_tier.${tier.tier}.${k}`);
  for (const o of r.overdue) out.push(`overdue.${o.reference}.days_overdue`);
  return out;
}

// Each figure on the page equals the JSON, is written out as that number, and none is missing.
async function checkFigures(page, report) {
  const shown = await figures(page);
  assert.ok(shown.length > 40, `figures on the page: ${shown.length}`);
  for (const [path, raw, text] of shown) {
    const v = resolve(report, path);
    assert.notEqual(v, undefined, `${path} is in the JSON`);
    assert.equal(raw, JSON.stringify(v), `${path}: the page holds the JSON's value`);
    if (v === null) assert.equal(text.trim(), '—', `${path}: null is a dash`);
    else assert.equal(Number(text.replace(/[^0-9.]/g, '')), Math.round(v * 10) / 10, `${path}: "${text}" shows ${v}`); // figures have at most one decimal
  }
  const paths = new Set(shown.map((s) => s[0]));
  for (const p of expectedPaths(report)) assert.ok(paths.has(p), `${p} is shown`);
}

// The charts: SVG images whose bars carry the JSON's figures, in proportion.
async function checkCharts(page, r) {
  assert.deepEqual(await page.$$eval('figure.chart', (fs) => fs.map((f) => f.dataset.chart)), ['totals', 'zones', 'services', 'grievances', 'sms']);
  const drawn = 2 + [r.by_zone, r.by_service, r.grievances.by_tier].filter((l) => l.length).length;
  assert.equal(await page.locator('figure.chart svg[role=img]').count(), drawn, 'an SVG chart for each list with figures');
  const bars = async (chart) => page.$$eval(`figure[data-chart=${chart}] rect[data-series]`,
    (rs) => rs.map((x) => ({ series: x.dataset.series, cat: x.dataset.cat, value: x.dataset.value, size: Number(x.getAttribute('height')), width: Number(x.getAttribute('width')) })));
  const value = (list, cat, series) => list.find((b) => b.cat === cat && b.series === series)?.value;
  const totals = await bars('totals');
  for (const k of ['booked', 'visited', 'completed', 'cancelled', 'no_show', 'failed']) {
    assert.equal(value(totals, k, 'current'), String(r.totals[k]), `totals chart ${k}`);
    assert.equal(value(totals, k, 'previous'), String(r.previous.totals[k]), `totals chart previous ${k}`);
  }
  const zones = await bars('zones');
  for (const z of r.by_zone) for (const s of ['booked', 'completed']) assert.equal(value(zones, z.code, s), String(z[s]), `zone chart ${z.code} ${s}`);
  // the ten most booked services (ties in any order)
  const services = await bars('services');
  const top = r.by_service.map((x) => x.booked).sort((a, b) => b - a).slice(0, 10);
  assert.deepEqual(services.filter((b) => b.series === 'booked').map((b) => Number(b.value)).sort((a, b) => b - a), top);
  for (const b of services) assert.equal(b.value, String(r.by_service.find((x) => x.code === b.cat)[b.series]), `service chart ${b.cat} ${b.series}`);
  // bars in proportion: one scale per chart
  for (const [list, dim] of [[totals, 'size'], [zones, 'size'], [services, 'width']]) {
    const scaled = list.filter((b) => Number(b.value) > 0).map((b) => b[dim] / Number(b.value));
    if (scaled.length) assert.ok(Math.max(...scaled) - Math.min(...scaled) < 0.5, `bars in proportion: ${scaled}`);
  }
  const sms = await bars('sms');
  for (const k of ['delivered', 'failed', 'pending']) assert.equal(value(sms, 'current', k), String(r.sms[k]), `sms chart ${k}`);
  const rate = await page.locator('figure[data-chart=sms] [data-label="current|headline"]').textContent();
  assert.equal(rate === '—' ? null : Number(rate.replace(/[^0-9.]/g, '')), r.sms.delivery_rate_pct === null ? null : Number(r.sms.delivery_rate_pct.toFixed(1)));
  const tiers = await bars('grievances');
  for (const x of r.grievances.by_tier) for (const s of ['raised', 'answered', 'escalated']) assert.equal(value(tiers, String(x.tier), s), String(x[s]));
}

test('an officer sees the day, marks an agent unavailable, sees the visits moved, re-plans the zone and moves a case on', async (t) => {
  const token = await staffLogin('officer');
  // The agent of the zone with the most visits still to place tomorrow.
  const [agent, visitsBefore] = sql(`SELECT a.code, count(*) FROM booking b JOIN agent a ON a.id = b.agent_id JOIN zone z ON z.id = a.zone_id
      WHERE z.code = ${lit(ZONE)} AND b.status = 'booked' AND (b.window_start AT TIME ZONE 'Asia/Kolkata')::date = ${lit(DAY)}::date
        AND NOT EXISTS (SELECT 1 FROM agent_unavailable u WHERE u.agent_id = a.id AND u.day = ${lit(DAY)}::date)
      GROUP BY a.code ORDER BY count(*) DESC, a.code LIMIT 1`)[0] ?? [];
  assert.ok(Number(visitsBefore) > 0, `the demo seed gives an agent of ${ZONE} visits tomorrow`);
  // a collected case long past its SLA, and a text that could not be sent about it
  const visit = makeVisit(STEP_AGENT, { status: 'documents_collected', hour: 9 });
  sql(`INSERT INTO booking_event (booking_id, district_id, action, from_status, to_status, actor_role, actor_id, at)
       SELECT id, district_id, 'status', 'arrived', 'documents_collected', 'agent', agent_id, now() - interval '40 days'
         FROM booking WHERE id = ${visit.id}`);
  const deadError = `gateway: number unreachable ${visit.reference}`;
  sql(`INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body, booking_id, status, attempts,
                               next_attempt_at, last_error, created_at, updated_at)
       SELECT district_id, ${lit(`office-test:${visit.reference}`)}, ${lit(visit.phone)}, 'booking_status', 'en', '{}', 'test', id, 'failed', 5,
              now(), ${lit(deadError)}, now(), now() FROM booking WHERE id = ${visit.id}`);
  const { context, page, errors, weights } = await desk();
  try {
    // a deep link asks for the login first, then comes back
    await page.goto(`${BASE}/office/day.html?date=${DAY}`);
    await page.waitForURL(/\/office\/\?next=/);
    assert.equal(await page.getAttribute('html', 'lang'), 'hi');
    await page.fill('#login', account('officer').login);
    await page.fill('#password', 'not the password');
    await page.click('#sign-in');
    await page.locator('#msg.error').waitFor();
    assert.match(await page.locator('#msg').innerText(), /ग़लत/);
    await logIn(page, 'officer');
    await page.waitForURL(new RegExp(`/office/day\\.html\\?date=${DAY}$`));
    assert.equal(await page.locator('h1').innerText(), 'नोडल अधिकारी का दिन');
    assert.deepEqual(await page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href'))), ['day.html', 'report.html']);

    // the day as the API has it: every agent's visits, zone by zone
    const plans = (await api('GET', `/api/v1/admin/plans?date=${DAY}`, { token })).json;
    await page.locator(`.zone[data-zone="${ZONE}"] tbody[data-agent="${agent}"] tr[data-ref]`).first().waitFor();
    for (const z of plans) {
      for (const a of z.agents) {
        const refs = await page.$$eval(`.zone[data-zone="${z.zone}"] tbody[data-agent="${a.code}"] tr[data-ref]`, (rs) => rs.map((r) => r.dataset.ref));
        assert.deepEqual(refs, a.visits.map((v) => v.reference), `${z.zone} ${a.code}`);
      }
    }
    const live = Number(sqlValue(`SELECT count(*) FROM booking b WHERE b.status NOT IN ('cancelled', 'rescheduled')
        AND (b.window_start AT TIME ZONE 'Asia/Kolkata')::date = ${lit(DAY)}::date`));
    assert.equal(await page.locator('[data-card=visits] .n').innerText(), String(live));
    // the exceptions: the overdue case (reminded, escalated or past due are shown first) and the dead letter
    const slaRow = page.locator(`#sla tr[data-ref="${visit.reference}"]`);
    assert.match(await slaRow.innerText(), /समय सीमा पार/);
    assert.ok(Number(await page.locator('[data-card=sla] .n').innerText()) >= 1);
    assert.match(await page.locator('#dead tr', { hasText: deadError }).innerText(), new RegExp(visit.reference));
    const row = page.locator(`tbody[data-agent="${agent}"] tr[data-ref]`).first();
    assert.match(await row.innerText(), /बुक है/);
    await shot(page, 'day-hi');

    // English, remembered over a reload
    await page.click('#lang');
    assert.equal(await page.locator('h1').innerText(), 'The nodal officer’s day');
    await page.reload();
    await page.locator(`tbody[data-agent="${agent}"] tr[data-ref]`).first().waitFor();
    assert.equal(await page.getAttribute('html', 'lang'), 'en');
    assert.match(await page.locator(`tbody[data-agent="${agent}"] tr[data-ref]`).first().innerText(), /Booked/);
    await shot(page, 'day');

    // mark the agent unavailable, from the keyboard
    const before = await page.$$eval(`tbody[data-agent="${agent}"] tr[data-ref]`, (rs) => rs.map((r) => r.dataset.ref));
    await page.locator(`tbody[data-agent="${agent}"] button[data-unavailable]`).focus();
    await page.keyboard.press('Enter');
    await page.locator('#unavail-dlg[open]').waitFor();
    assert.equal(await page.inputValue('#unavail-date'), DAY);
    await page.keyboard.press('Enter'); // no reason yet: refused in the dialog
    assert.equal(await page.locator('#unavail-msg').innerText(), 'Type a reason.');
    await page.keyboard.type('Fever');
    await page.keyboard.press('Enter');
    await page.locator('#outcome:not([hidden])').waitFor();
    await page.locator('#unavail-dlg').waitFor({ state: 'hidden' });
    const moved = await page.$$eval('#outcome-moved li', (ls) => ls.map((l) => [l.dataset.ref, l.dataset.to]));
    const unplaced = await page.$$eval('#outcome-unplaced li, #outcome-frozen li', (ls) => ls.map((l) => l.dataset.ref));
    assert.deepEqual([...moved.map((m) => m[0]), ...unplaced].sort(), [...before].sort(), 'each visit of the agent is accounted for');
    assert.ok(moved.length > 0, 'the zone had room for some of them');
    for (const [ref, to] of moved) {
      assert.notEqual(to, agent);
      assert.equal(sqlValue(`SELECT a.code FROM booking b JOIN agent a ON a.id = b.agent_id WHERE b.reference = ${lit(ref)}`), to, `${ref} is with ${to}`);
      // the refreshed day shows it under its new agent, marked as moved
      await page.locator(`tbody[data-agent="${to}"] tr.moved[data-ref="${ref}"]`).waitFor();
    }
    assert.equal(await page.locator(`tbody[data-agent="${agent}"] tr[data-ref]`).count(), unplaced.length);
    assert.equal(sqlValue(`SELECT count(*) FROM agent_unavailable u JOIN agent a ON a.id = u.agent_id WHERE a.code = ${lit(agent)} AND u.day = ${lit(DAY)}::date AND u.reason = 'Fever'`), '1');
    // the day off is the server's (GET /admin/agents), so it is still there after a reload
    const offBadges = async () => page.$$eval(`[data-agent="${agent}"] [data-off="${DAY}"]`, (bs) => bs.map((b) => b.textContent));
    await page.waitForFunction((a) => document.querySelectorAll(`[data-agent="${a}"] [data-off]`).length === 2, agent);
    for (const text of await offBadges()) assert.match(text, /^off on \d+ \w+: Fever$/);
    await shot(page, 'day-unavailable');
    await page.reload();
    await page.locator(`#agents tr[data-agent="${agent}"] [data-off="${DAY}"]`).waitFor();
    assert.deepEqual((await offBadges()).map((x) => x.replace(/^off on \d+ \w+: /, '')), ['Fever', 'Fever'], 'in the day and in the agents table');
    const offAgents = sql(`SELECT a.code FROM agent_unavailable u JOIN agent a ON a.id = u.agent_id JOIN district d ON d.id = a.district_id
        WHERE d.code = 'RPR' AND u.day = ${lit(DAY)}::date ORDER BY a.code`).map((x) => x[0]).sort();
    assert.deepEqual(await page.$$eval('#agents tr[data-agent]:has([data-off])', (rs) => rs.map((r) => r.dataset.agent).sort()), offAgents,
      'the agents off that day, and only they');

    // the zone filter, then a re-plan of that zone: planned arrivals appear as the API has them
    await page.selectOption('#zone', ZONE);
    await page.waitForURL(new RegExp(`zone=${ZONE}`));
    await page.waitForFunction((z) => [...document.querySelectorAll('.zone')].every((e) => e.dataset.zone === z), ZONE);
    await page.click('#replan');
    await page.locator('#replan-table tr[data-zone]').waitFor();
    assert.deepEqual(await page.$$eval('#replan-table tr[data-zone]', (rs) => rs.map((r) => r.dataset.zone)), [ZONE]);
    await page.waitForFunction(() => document.querySelector('td[data-arrival]:not([data-arrival=""])'));
    const planned = (await api('GET', `/api/v1/admin/plans?date=${DAY}&zone=${ZONE}`, { token })).json[0];
    assert.ok(planned.last_run, 'the plan run is recorded');
    for (const a of planned.agents) {
      for (const v of a.visits) {
        const shown = await page.getAttribute(`tbody[data-agent="${a.code}"] tr[data-ref="${v.reference}"] td[data-arrival]`, 'data-arrival');
        assert.equal(shown, v.planned_arrival || '', `${v.reference} planned arrival`);
      }
    }
    await shot(page, 'day-replanned');

    // the office's steps after the visit: the overdue case goes to the department from the
    // SLA panel, then (found by its reference) the certificate is ready and delivered
    assert.match(await slaRow.innerText(), /Documents collected.*overdue/s);
    await slaRow.locator('button').click();
    await page.locator('#status-dlg[open]').waitFor();
    assert.deepEqual(await page.$$eval('#status-choices input', (is) => is.map((i) => [i.value, i.checked])), [['submitted', true]]);
    await page.fill('#status-note', 'sent to the tehsil');
    await page.click('#status-ok');
    await page.locator('#msg.ok', { hasText: `${visit.reference} is now: Sent to the department` }).waitFor();
    for (const [choice, shown] of [['certificate_ready', 'Certificate ready'], ['delivered', 'Delivered']]) {
      await page.fill('#find-ref', visit.reference.toLowerCase());
      await page.keyboard.press('Enter');
      await page.locator('#status-dlg[open]').waitFor();
      await page.check(`#status-choices input[value=${choice}]`);
      await page.click('#status-ok');
      await page.locator('#msg.ok', { hasText: `${visit.reference} is now: ${shown}` }).waitFor();
    }
    assert.deepEqual(sql(`SELECT e.from_status, e.to_status, e.actor_role, coalesce(e.note, '') FROM booking_event e
        WHERE e.booking_id = ${visit.id} AND e.actor_role = 'officer' ORDER BY e.id`), [
      ['documents_collected', 'submitted', 'officer', 'sent to the tehsil'],
      ['submitted', 'certificate_ready', 'officer', ''],
      ['certificate_ready', 'delivered', 'officer', '']]);

    // grievances: a resident raises one on a missed visit; the officer, the tier-1 authority of RPR, answers it here
    {
      const missed = makeVisit(STEP_AGENT, { status: 'no_show', hour: 11 });
      const resident = await residentLogin(missed.phone);
      const raised = await api('POST', '/api/v1/grievances', { token: resident.token,
        body: { booking: missed.reference, kind: 'missed_visit', description: 'Nobody came in the window.' } });
      assert.equal(raised.status, 201, raised.text);
      const ref = raised.json.reference;
      await page.click('#day-form button[type=submit]');
      const item = page.locator(`article.grievance[data-ref="${ref}"]`);
      await item.waitFor();
      const open = (await api('GET', '/api/v1/grievances?status=open', { token })).json;
      assert.deepEqual(await page.$$eval('article.grievance', (as) => as.map((a) => a.dataset.ref)), open.map((x) => x.reference));
      assert.match(await item.innerText(), /missed visit/);
      assert.match(await item.innerText(), /Nobody came in the window\./);
      await item.locator('summary', { hasText: 'Answer' }).click();
      await item.locator('input[value=upheld]').check();
      await item.locator('form button[type=submit]').click();
      assert.equal(await item.locator('[role=alert]').innerText(), 'Choose a decision and write the answer.');
      await item.locator('textarea').fill('The agent will come tomorrow at 11:00.');
      await item.locator('form button[type=submit]').click();
      await page.locator('#msg.ok', { hasText: `The answer to ${ref} was sent.` }).waitFor();
      await item.waitFor({ state: 'detached' }); // no longer open
      const after = (await api('GET', `/api/v1/grievances/${ref}`, { token })).json;
      assert.equal(after.status, 'answered');
      assert.equal(after.decision, 'upheld');
      await page.selectOption('#g-filter', 'answered');
      await page.locator(`article.grievance[data-ref="${ref}"][data-status=answered]`).waitFor();
      await shot(page, 'day-grievances');
    }

    const weight = await weights();
    assert.ok(weight.has('/office/day.html'), 'the day was weighed');
    for (const [doc, bytes] of weight) t.diagnostic(`${doc} weighs ${(bytes / 1024).toFixed(1)} KB`);
    for (const [doc, bytes] of weight) assert.ok(bytes < 100 * 1024, `${doc} weighs ${bytes} bytes`);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('the officer sends dead letters again, delivers a ready certificate from its panel, and logs out even offline', async (t) => {
  const token = await staffLogin('officer');
  const cert = makeVisit(STEP_AGENT, { status: 'certificate_ready', hour: 16 });
  const deadLetter = (phone, error) => sqlValue(`INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body,
        status, attempts, next_attempt_at, last_error, created_at, updated_at)
      SELECT id, 'office-browser-dead-' || gen_random_uuid(), ${lit(phone)}, 'otp', 'en', '{}', 'Mitan test', 'failed', 5,
             now(), ${lit(error)}, now(), now() FROM district WHERE code = 'RPR' RETURNING id`);
  const first = deadLetter('+919000000971', 'DLT template rejected (browser test)');
  const second = deadLetter('+919000000972', 'handset switched off (browser test)');
  const { context, page, errors, weights } = await desk();
  try {
    await page.goto(`${BASE}/office/`);
    await logIn(page, 'officer');
    await page.waitForURL(/\/office\/day\.html$/);
    const dead = (id) => page.locator(`#dead tr[data-id="${id}"]`);
    const certRow = page.locator(`#certs tr[data-ref="${cert.reference}"]`);
    await dead(first).waitFor();
    await certRow.waitFor();
    assert.equal(await dead(second).locator('button[data-retry]').innerText(), 'फिर से भेजें');
    assert.match(await certRow.innerText(), /प्रमाण पत्र/);
    await shot(page, 'day-certificates-dead-hi');

    // send again: queued (no worker runs in the tests, so it stays queued), gone from the list
    await dead(first).locator('button[data-retry]').click();
    await page.locator('#msg.ok', { hasText: '+919000000971 का SMS फिर से भेजने के लिए कतार में है।' }).waitFor();
    await dead(first).waitFor({ state: 'detached' });
    assert.equal(sqlValue(`SELECT status FROM sms_outbox WHERE id = ${first}`), 'queued');
    assert.equal(sqlValue(`SELECT count(*) FROM audit_log WHERE action = 'sms.retry' AND object_ref = ${lit(first)}`), '1');
    // one sent again behind the page's back (another officer): 409 wrong_state, said plainly, the list refreshed
    sql(`UPDATE sms_outbox SET status = 'queued' WHERE id = ${second}`);
    await dead(second).locator('button[data-retry]').click();
    await page.locator('#msg.error', { hasText: '+919000000972 का SMS अब अटका नहीं है' }).waitFor();
    await dead(second).waitFor({ state: 'detached' });
    const left = (await api('GET', '/api/v1/admin/sms/dead-letters', { token })).json;
    assert.deepEqual(await page.$$eval('#dead tr[data-id]', (rs) => rs.map((r) => Number(r.dataset.id))), left.map((m) => m.id));

    // certificates to deliver: the API's list, in English; the next step from the panel delivers one
    await page.click('#lang');
    const ready = (await api('GET', '/api/v1/bookings?status=certificate_ready', { token })).json;
    assert.ok(ready.some((b) => b.reference === cert.reference));
    assert.deepEqual(await page.$$eval('#certs tr[data-ref]', (rs) => rs.map((r) => r.dataset.ref)), ready.map((b) => b.reference));
    assert.equal(await page.locator('#certs-count').innerText(), String(ready.length));
    const text = await certRow.innerText();
    assert.match(text, /Income certificate/);
    assert.match(text, /16:00–\d\d:\d\d/);
    await shot(page, 'day-certificates');
    await certRow.locator('button').click();
    await page.locator('#status-dlg[open]').waitFor();
    assert.deepEqual(await page.$$eval('#status-choices input', (is) => is.map((i) => [i.value, i.checked])), [['delivered', true]]);
    await page.click('#status-ok');
    await page.locator('#msg.ok', { hasText: `${cert.reference} is now: Delivered` }).waitFor();
    await certRow.waitFor({ state: 'detached' });
    assert.equal(sqlValue(`SELECT status FROM booking WHERE id = ${cert.id}`), 'delivered');
    assert.equal(await page.locator('#certs-count').innerText(), String(ready.length - 1));

    // logging out with the server out of reach still forgets the token here
    const { token: mine } = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mitan.office.session')));
    await page.route(/\/api\/v1\/auth\/logout$/, (route) => route.abort('internetdisconnected'));
    await page.click('#logout');
    await page.waitForURL(/\/office\/\?bye=1$/);
    assert.equal(await page.locator('#msg').innerText(), 'You are logged out.');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mitan.office.session')), null);
    assert.equal((await api('GET', '/api/v1/admin/agents', { token: mine })).status, 200, 'the server never heard of it');
    assert.equal((await api('POST', '/api/v1/auth/logout', { token: mine })).status, 204);

    const weight = await weights();
    assert.ok(weight.size > 0, 'the pages were weighed');
    for (const [doc, bytes] of weight) t.diagnostic(`${doc} weighs ${(bytes / 1024).toFixed(1)} KB`);
    for (const [doc, bytes] of weight) assert.ok(bytes < 100 * 1024, `${doc} weighs ${bytes} bytes`);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('the committee member lands on the fortnightly report, its figures and charts are the API\'s, and it prints', async (t) => {
  const token = await staffLogin('committee');
  // the worker seals the last complete fortnight when it closes; the test server runs none
  sql('SELECT report_seal_due(now())');
  const { context, page, errors, weights } = await desk({ locale: 'en-IN' });
  try {
    await page.goto(`${BASE}/office/`);
    await page.click('#lang'); // English
    await logIn(page, 'committee');
    await page.waitForURL(/\/office\/report\.html$/);
    assert.deepEqual(await page.$$eval('#nav a', (as) => as.map((a) => a.getAttribute('href'))), ['report.html']);
    const probe = await api('GET', '/api/v1/reports/fortnightly', { token });
    assert.equal(probe.status, 200, probe.text);

    // the default fortnight (the last complete one)
    await page.locator('#summary').waitFor();
    assert.equal(await page.getAttribute('#report-period', 'data-period'), probe.json.period.code);

    // its sealed copy: the digest shown is the API's, the download is those very bytes
    const seal = await api('GET', `/api/v1/reports/fortnightly/sealed?period=${probe.json.period.code}`, { token });
    assert.equal(seal.status, 200, seal.text);
    const sha = seal.headers.get('x-mitan-sha256');
    assert.match(sha, /^[0-9a-f]{64}$/);
    assert.equal(createHash('sha256').update(seal.text).digest('hex'), sha);
    await page.locator('#sealed[data-sealed=yes]').waitFor();
    assert.match(await page.locator('#sealed-text').innerText(), new RegExp(`^Sealed on .+ — SHA-256 ${sha.slice(0, 16)}…$`));
    const changed = ['booked', 'visited', 'completed', 'cancelled', 'no_show', 'failed', 'sla_met_pct']
      .some((k) => seal.json.totals[k] !== probe.json.totals[k]);
    assert.equal(await page.locator('#sealed-changed').count(), changed ? 1 : 0, 'the note only when the figures changed');
    const [sealedFile] = await Promise.all([page.waitForEvent('download'), page.click('#sealed-download')]);
    assert.equal(sealedFile.suggestedFilename(), `mitan-report-${probe.json.district.code}-${probe.json.period.code}-sealed.json`);
    assert.equal(createHash('sha256').update(await readFile(await sealedFile.path())).digest('hex'), sha);
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('#sealed-text').isVisible(), true, 'the sealed line prints');
    assert.equal(await page.locator('#sealed-download').isVisible(), false, 'its button does not');
    await page.emulateMedia({ media: 'screen' });

    await checkFigures(page, probe.json);
    await checkCharts(page, probe.json);

    // the fortnight in progress (the demo visits were booked in it), from the picker
    const current = await page.$eval('#period option:nth-child(2)', (o) => o.value);
    await page.selectOption('#period', current);
    await page.waitForURL(new RegExp(`period=${current}$`));
    await page.waitForFunction((p) => document.querySelector('#report')?.dataset.period === p, current);
    // Never sealed while it runs, even after other tests' workers ran with later clocks.
    await page.locator('#sealed[data-sealed=no]').waitFor();
    assert.equal(await page.locator('#sealed').innerText(), 'Not sealed yet: a fortnight is sealed when it closes');
    assert.equal((await api('GET', `/api/v1/reports/fortnightly/sealed?period=${current}`, { token })).json?.error?.code, 'not_sealed');
    const r = (await api('GET', `/api/v1/reports/fortnightly?period=${current}`, { token })).json;
    assert.ok(r.totals.booked > 0, 'the demo visits are in the fortnight in progress');
    await checkFigures(page, r);
    await checkCharts(page, r);
    assert.ok(await page.locator('figure[data-chart=zones] rect[data-value]:not([data-value="0"])').count() > 0, 'bars drawn');
    await shot(page, 'report');

    // CSV and PDF with the bearer token, saved through a Blob link
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    assert.equal(csv.suggestedFilename(), `mitan-report-${r.district.code}-${current}.csv`);
    const csvText = await readFile(await csv.path(), 'utf8');
    const apiCsv = await api('GET', `/api/v1/reports/fortnightly.csv?district=${r.district.code}&period=${current}`, { token });
    // the same file as the API's (but for the moment it was generated)
    const same = (text) => text.split('\n').filter((l) => !/generated/i.test(l));
    assert.deepEqual(same(csvText), same(apiCsv.text));
    const [pdf] = await Promise.all([page.waitForEvent('download'), page.click('#pdf')]);
    assert.equal(pdf.suggestedFilename(), `mitan-report-${r.district.code}-${current}.pdf`);
    const pdfBytes = await readFile(await pdf.path());
    assert.equal(pdfBytes.subarray(0, 5).toString(), '%PDF-');

    // printed: A4, no navigation or buttons, each section on its own page
    await page.emulateMedia({ media: 'print' });
    assert.equal(await page.locator('header.top').isVisible(), false);
    assert.equal(await page.locator('#report-form').isVisible(), false);
    assert.equal(await page.locator('figure.chart svg').first().isVisible(), true);
    const printed = await page.pdf({ path: `${SHOTS}report.pdf`, format: 'A4', printBackground: true, preferCSSPageSize: true });
    const pages = (printed.toString('latin1').match(/\/Type\s*\/Page[^s]/g) || []).length;
    assert.ok(pages >= 4, `the printed report has a page per section: ${pages}`);
    assert.ok(statSync(`${SHOTS}report.pdf`).size > 10000);
    await page.setViewportSize({ width: 794, height: 1123 });
    await shot(page, 'report-print');
    await page.emulateMedia({ media: 'screen' });

    const weight = await weights();
    assert.ok(weight.size > 0, 'the pages were weighed');
    for (const [doc, bytes] of weight) t.diagnostic(`${doc} weighs ${(bytes / 1024).toFixed(1)} KB`);
    for (const [doc, bytes] of weight) assert.ok(bytes < 100 * 1024, `${doc} weighs ${bytes} bytes`);
    assert.deepEqual(errors, [], 'no script errors');
  } finally {
    await context.close();
  }
});

test('a committee member cannot open the day; an account without office access is refused', async () => {
  const { context, page, errors } = await desk();
  try {
    await page.goto(`${BASE}/office/`);
    await logIn(page, 'operator');
    await page.locator('#msg.error').waitFor();
    assert.equal(await page.locator('#msg').innerText(), 'इस खाते से कार्यालय के पेज नहीं खुलते।');
    assert.match(page.url(), /\/office\/$/);
    await logIn(page, 'committee');
    await page.waitForURL(/report\.html/);
    await page.goto(`${BASE}/office/day.html`);
    await page.waitForURL(/report\.html/);
    const { token } = await page.evaluate(() => JSON.parse(sessionStorage.getItem('mitan.office.session')));
    assert.equal((await api('GET', '/api/v1/reports/fortnightly', { token })).status, 200);
    await page.click('#logout');
    await page.waitForURL(/\/office\/\?bye=1$/);
    assert.equal(await page.locator('#msg').innerText(), 'आप लॉग आउट हो गए।');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('mitan.office.session')), null);
    assert.equal((await api('GET', '/api/v1/reports/fortnightly', { token })).status, 401, 'logging out ended the session on the server');
    await page.goto(`${BASE}/office/report.html`);
    await page.waitForURL(/\/office\/\?next=report\.html$/);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

test('a server without the grievance or report API gets a clear message, not a broken page', async () => {
  const { context, page, errors } = await desk({ locale: 'en-IN' });
  try {
    const missing = (route) => route.fulfill({ status: 404, json: { error: { code: 'not_found', message: 'no such resource' } } });
    await page.route(/\/api\/v1\/grievances(\?.*)?$/, missing);
    await page.route(/\/api\/v1\/reports\/fortnightly(\?.*)?$/, missing);
    await context.addInitScript((tok) => {
      sessionStorage.setItem('mitan.office.session', JSON.stringify({ token: tok, role: 'officer', name: 'Nodal officer' }));
      localStorage.setItem('mitan.office.lang', '"en"');
    }, await staffLogin('officer'));
    await page.goto(`${BASE}/office/day.html?date=${DAY}&zone=${ZONE}`);
    assert.equal(await page.locator('#grievances-unavailable').innerText(), 'Grievances are not available on this server yet.');
    await page.locator(`.zone[data-zone="${ZONE}"]`).waitFor(); // the rest of the day is there
    await page.click('#nav a[href="report.html"]');
    assert.equal(await page.locator('#report-unavailable').innerText(), 'The fortnightly report is not available on this server yet.');
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});

// ---- the page against contract C, from a fixture ----
const fig = (booked, visited, completed, cancelled, no_show, failed, sla_met_pct) => ({ booked, visited, completed, cancelled, no_show, failed, sla_met_pct });
const FIXTURE = {
  district: { code: 'RPR', name_en: 'Raipur', name_hi: 'रायपुर', time_zone: 'Asia/Kolkata' },
  period: { code: '2026-11-1', from: '2026-11-01', to: '2026-11-15' },
  generated_at: '2026-11-16T06:00:00+05:30',
  totals: fig(148, 121, 87, 14, 6, 3, 91.3),
  by_service: [
    ['income_certificate', 'Income certificate', 'आय प्रमाण पत्र', fig(40, 35, 30, 3, 1, 1, 96.7)],
    ['caste_certificate_sc', 'Caste certificate – Scheduled Caste', 'जाति प्रमाण पत्र – अनुसूचित जाति', fig(22, 18, 12, 2, 1, 0, 83.3)],
    ['residence_certificate', 'Residence (domicile) certificate', 'मूल निवास प्रमाण पत्र', fig(19, 15, 11, 2, 0, 1, 90.9)],
    ['ews_certificate', 'EWS certificate', 'ईडब्ल्यूएस प्रमाण पत्र', fig(12, 10, 8, 1, 1, 0, 87.5)],
    ['ration_card_new', 'New ration card', 'नया राशन कार्ड', fig(11, 9, 5, 1, 0, 0, null)],
    ['birth_certificate', 'Birth certificate', 'जन्म प्रमाण पत्र', fig(9, 8, 6, 1, 0, 0, 100)],
    ['death_certificate', 'Death certificate', 'मृत्यु प्रमाण पत्र', fig(8, 7, 5, 0, 1, 0, 100)],
    ['marriage_certificate', 'Marriage certificate', 'विवाह प्रमाण पत्र', fig(7, 6, 4, 1, 0, 0, 75)],
    ['electricity_bill', 'Electricity bill payment', 'बिजली बिल भुगतान', fig(6, 5, 2, 1, 0, 1, 50)],
    ['pension_old_age', 'Old-age pension', 'वृद्धावस्था पेंशन', fig(5, 4, 2, 1, 1, 0, 100)],
    ['land_record_copy', 'Copy of land records', 'भू-अभिलेख की प्रति', fig(5, 2, 1, 1, 1, 0, null)],
    ['aadhaar_update', 'Aadhaar update', 'आधार अद्यतन', fig(4, 2, 1, 0, 0, 0, 100)],
  ].map(([code, name_en, name_hi, f]) => ({ code, name_en, name_hi, ...f })),
  by_zone: [
    ['RPR-Z1', 'Zone 1 Gudhiyari', 'ज़ोन 1 गुढ़ियारी', fig(30, 25, 18, 3, 1, 1, 94.4)],
    ['RPR-Z2', 'Zone 2 Pandri', 'ज़ोन 2 पंडरी', fig(28, 22, 16, 3, 2, 0, 87.5)],
    ['RPR-Z3', 'Zone 3 Shankar Nagar', 'ज़ोन 3 शंकर नगर', fig(26, 21, 15, 2, 1, 1, 93.3)],
    ['RPR-Z4', 'Zone 4 Tatibandh', 'ज़ोन 4 टाटीबंध', fig(24, 20, 14, 2, 1, 0, 92.9)],
    ['RPR-Z5', 'Zone 5 Civil Lines', 'ज़ोन 5 सिविल लाइन्स', fig(22, 18, 13, 2, 0, 1, 84.6)],
    ['RPR-Z6', 'Zone 6 Telibandha', 'ज़ोन 6 तेलीबांधा', fig(18, 15, 11, 2, 1, 0, null)],
  ].map(([code, name_en, name_hi, f]) => ({ code, name_en, name_hi, ...f })),
  by_agent: [
    { code: 'RPR-A01', name: 'Ramesh Sahu', zone: 'RPR-Z1', ...fig(8, 7, 5, 1, 0, 0, 100) },
    { code: 'RPR-A02', name: 'Sunita Verma', zone: 'RPR-Z1', ...fig(7, 6, 4, 1, 0, 1, 75) },
    { code: 'RPR-A05', name: 'Dinesh Patel', zone: 'RPR-Z2', ...fig(9, 7, 5, 1, 1, 0, 80) },
    { code: 'RPR-A09', name: 'Suresh Nishad', zone: 'RPR-Z3', ...fig(6, 5, 4, 0, 1, 0, null) },
  ],
  median_hours: { booking_to_visit: 27.5, collection_to_certificate: 96.2 },
  overdue: [
    { reference: 'MT-ABCD-EFGH-JKLM', service: 'income_certificate', zone: 'RPR-Z2', status: 'submitted', due_at: '2026-11-10T14:00:00+05:30', days_overdue: 5, officer: { name: 'Nodal officer RPR-Z2', login: 'officer.z2' } },
    { reference: 'MT-NPQR-STUV-WXYZ', service: 'caste_certificate_sc', zone: 'RPR-Z5', status: 'documents_collected', due_at: '2026-11-13T11:00:00+05:30', days_overdue: 2.4, officer: null },
  ],
  sms: { total: 412, delivered: 389, failed: 9, pending: 4, delivery_rate_pct: 95.6 },
  grievances: {
    raised: 9, answered: 6, appealed: 2, escalated: 1, closed: 4, open_overdue: 1,
    by_tier: [
      { tier: 1, name_en: 'Grievance officer', name_hi: 'शिकायत अधिकारी', raised: 9, answered: 5, escalated: 1, within_limit_pct: 83.3 },
      { tier: 2, name_en: 'Appellate authority', name_hi: 'अपीलीय प्राधिकारी', raised: 2, answered: 1, escalated: 0, within_limit_pct: 100 },
      { tier: 3, name_en: 'Final appellate authority', name_hi: 'अंतिम अपीलीय प्राधिकारी', raised: 0, answered: 0, escalated: 0, within_limit_pct: null },
    ],
  },
  previous: {
    period: { code: '2026-10-2', from: '2026-10-16', to: '2026-10-31' },
    totals: fig(131, 110, 80, 11, 8, 2, 88.1),
    median_hours: { booking_to_visit: 31, collection_to_certificate: null },
    sms: { total: 380, delivered: 350, failed: 20, pending: 0, delivery_rate_pct: 92.1 },
    grievances: { raised: 5, answered: 5, appealed: 1, escalated: 0, closed: 5, open_overdue: 0 },
  },
};

test('the report page draws a contract-shaped report figure by figure, in Hindi, with the period picker and the CSV', async () => {
  const token = await staffLogin('committee');
  const { context, page, errors } = await desk();
  const asked = [];
  try {
    await page.route(/\/api\/v1\/reports\/fortnightly(\?.*)?$/, (route) => {
      asked.push([route.request().url(), route.request().headers().authorization]);
      route.fulfill({ json: FIXTURE });
    });
    await page.route(/\/api\/v1\/reports\/fortnightly\.csv\?/, (route) => {
      asked.push([route.request().url(), route.request().headers().authorization]);
      route.fulfill({ body: 'section,code,booked\ntotals,,148\n', contentType: 'text/csv; charset=utf-8' });
    });
    await context.addInitScript((tok) => sessionStorage.setItem('mitan.office.session', JSON.stringify({ token: tok, role: 'committee', name: 'District committee member (demo)' })), token);
    await page.goto(`${BASE}/office/report.html`);
    await page.locator('#summary').waitFor();
    assert.equal(new URL(asked[0][0]).search, '', 'no period: the server picks the last complete fortnight');
    assert.equal(asked[0][1], `Bearer ${token}`);
    await checkFigures(page, FIXTURE);
    await checkCharts(page, FIXTURE);
    assert.equal(await page.locator('#report-period').innerText(), 'रायपुर (RPR) · 1 नवंबर 2026 से 15 नवंबर 2026');
    const booked = page.locator('#compare tr[data-measure="totals.booked"]');
    assert.deepEqual(await booked.locator('td').allInnerTexts(), ['148', '131', '+17 (+13.0 %)']);
    assert.deepEqual(await page.locator('#compare tr[data-measure="median_hours.collection_to_certificate"] td').allInnerTexts(), ['96.2 घंटे', '—', '—']);
    assert.equal(await page.locator('#compare tr[data-measure="totals.cancelled"] td.down').count(), 1, 'more cancellations is worse');
    assert.equal(await page.locator('#by-zone-table tr[data-code="RPR-Z1"] th').innerText(), 'ज़ोन 1 गुढ़ियारी (RPR-Z1)');
    assert.equal(await page.locator('#overdue-table tr[data-ref="MT-ABCD-EFGH-JKLM"] [data-officer]').innerText(), 'Nodal officer RPR-Z2 (officer.z2)');
    assert.equal(await page.locator('#overdue-table tr[data-ref="MT-NPQR-STUV-WXYZ"] [data-officer]').innerText(), 'कोई अधिकारी तय नहीं');
    assert.equal(await page.locator('figure[data-chart=services] rect[data-series=booked]').count(), 10, 'the top 10 services');
    await shot(page, 'report-fixture-hi');

    // the picker: another fortnight goes to the URL and to the API
    const other = await page.$eval('#period option:nth-child(4)', (o) => o.value);
    await page.selectOption('#period', other);
    await page.waitForURL(new RegExp(`\\?period=${other}$`));
    for (let i = 0; asked.length < 2 && i < 100; i++) await new Promise((res) => setTimeout(res, 50));
    assert.equal(new URL(asked.at(-1)[0]).searchParams.get('period'), other);

    // the CSV is fetched with the token and saved under the report's name
    const [csv] = await Promise.all([page.waitForEvent('download'), page.click('#csv')]);
    assert.equal(csv.suggestedFilename(), 'mitan-report-RPR-2026-11-1.csv');
    const [url, auth] = asked.at(-1);
    assert.equal(new URL(url).search, '?district=RPR&period=2026-11-1');
    assert.equal(auth, `Bearer ${token}`);
    assert.deepEqual(errors, []);
  } finally {
    await context.close();
  }
});
