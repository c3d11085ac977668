// SMS delivery with the http driver to a fake gateway on 127.0.0.1, by this file's own
// `bin/mitan worker` processes: one send per dedupe key with 4 workers, a worker killed with
// kill -9 after claiming, the gateway down for a while, DLT errors as dead letters.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { api, sql, sqlValue, staffLogin } from './lib.mjs';
import { startFakeGateway, startWorker, stopWorker, waitFor, sleep, workerOnce } from './fake_gateway.mjs';

let gw;
const workers = [];
const RUN = randomInt(1e5, 1e6);
let seq = 0;

const httpEnv = (extra = {}) => ({
  MITAN_SMS_DRIVER: 'http', MITAN_SMS_URL: gw.url, MITAN_SMS_TIMEOUT_MS: '1000', MITAN_SMS_API_KEY: 'test-key',
  MITAN_SMS_SENDER: 'MITANS', MITAN_SMS_DLT_ENTITY_ID: '1101000000000001',
  MITAN_SMS_DLT_TEMPLATES: 'booking_status=1107000000000042, visit_day=1107000000000043', MITAN_LOG_LEVEL: 'info',
  ...extra,
});

// A worker that has its LISTEN connection up.
async function worker(extra = {}) {
  const w = startWorker(httpEnv(extra));
  workers.push(w);
  assert.ok(await waitFor(() => /worker \S+: started \(sms driver http, listening/.test(w.log), 10000), w.log);
  return w;
}

// Queues n messages (each to its own phone) and returns their ids as strings.
function queue(n, { template = 'booking_status', body = (i) => `मितान: परीक्षण संदेश ${i} / test message ${i}`, vars = {} } = {}) {
  const rows = [];
  for (let i = 0; i < n; i++) {
    seq++;
    rows.push(`((SELECT id FROM district WHERE code = 'RPR'), 'test:${RUN}:${seq}', '+9195${String(RUN % 1e4).padStart(4, '0')}${String(seq).padStart(4, '0')}',
               '${template}', 'hi', '${JSON.stringify(vars)}'::jsonb, '${body(seq).replace(/'/g, "''")}', now(), now(), now())`);
  }
  return sql(`WITH i AS (INSERT INTO sms_outbox (district_id, dedupe_key, to_phone, template, language, variables, body,
                                                next_attempt_at, created_at, updated_at)
                         VALUES ${rows.join(', ')} RETURNING id) SELECT id FROM i ORDER BY id`).map((r) => r[0]);
}
const rowsOf = (ids) => sql(`SELECT id, status, attempts, coalesce(gateway_id, ''), coalesce(last_error, ''), body
    FROM sms_outbox WHERE id IN (${ids.join(', ')}) ORDER BY id`)
  .map(([id, status, attempts, gatewayId, error, body]) => ({ id, status, attempts: Number(attempts), gatewayId, error, body }));
const allSent = (ids) => rowsOf(ids).every((r) => r.status === 'sent');
const requestsFor = (id) => gw.requests.filter((m) => m.body?.client_ref === id);

before(async () => {
  gw = await startFakeGateway({ apiKey: 'test-key' });
  workerOnce(); // what earlier tests queued goes out with the log driver first
});

after(async () => {
  for (const w of workers) await stopWorker(w).catch(() => {});
  await gw.stop();
});

test('4 workers together: every message sent exactly once, with the DLT fields and Unicode', async () => {
  const ws = await Promise.all([1, 2, 3, 4].map(() => worker({ MITAN_WORKER_POLL_MS: '30000' })));
  const ids = queue(300);
  // Woken by NOTIFY (they would otherwise look only every 30 s).
  assert.ok(await waitFor(() => allSent(ids), 15000), JSON.stringify(rowsOf(ids).filter((r) => r.status !== 'sent').slice(0, 3)));
  for (const w of ws) await stopWorker(w);
  for (const id of ids) assert.equal(requestsFor(id).length, 1, `message ${id} was sent ${requestsFor(id).length} times`);
  const rows = rowsOf(ids);
  for (const r of rows) {
    assert.equal(r.attempts, 1);
    assert.equal(r.gatewayId, gw.delivered.get(`mitan-sms-${r.id}`).id, 'the gateway id is recorded');
  }
  const m = requestsFor(ids[0])[0];
  assert.equal(m.key, `mitan-sms-${ids[0]}`);
  assert.match(m.contentType, /^application\/json/);
  assert.equal(m.headers['x-api-key'], 'test-key');
  assert.equal(m.body.sender, 'MITANS');
  assert.equal(m.body.entity_id, '1101000000000001');
  assert.equal(m.body.template_id, '1107000000000042');
  assert.equal(m.body.template, 'booking_status');
  assert.equal(m.body.unicode, true);
  assert.match(m.body.text, /^मितान: परीक्षण संदेश/);
  assert.match(m.body.to, /^\+9195\d{8}$/);
});

test('a worker killed with kill -9 after claiming: another worker sends it, the gateway delivers it once', async () => {
  const [id] = queue(1);
  let hung = false;
  gw.plan = (m) => (m.body.client_ref === id && !hung ? ((hung = true), 'hang') : undefined);
  try {
    const a = await worker({ MITAN_SMS_TIMEOUT_MS: '3000' }); // its lease: 3 s + 1 s
    assert.ok(await waitFor(() => requestsFor(id).length === 1, 10000), 'the first worker sent it');
    a.kill('SIGKILL');
    await a.done;
    assert.deepEqual(rowsOf([id]).map((r) => [r.status, r.attempts]), [['sending', 1]]);
    const b = await worker();
    assert.ok(await waitFor(() => allSent([id]), 15000), JSON.stringify(rowsOf([id])));
    await stopWorker(b);
  } finally {
    gw.plan = null;
  }
  const reqs = requestsFor(id);
  assert.equal(reqs.length, 2, 'sent again after the lease ran out');
  assert.deepEqual(reqs.map((m) => m.mode), ['hang', 'ok']);
  assert.equal(reqs[0].key, reqs[1].key, 'with the same Idempotency-Key');
  assert.equal(gw.deliveredWhere((b) => b.client_ref === id).length, 1);
  assert.deepEqual(rowsOf([id]).map((r) => [r.status, r.attempts]), [['sent', 2]]);
});

test('the gateway failing (5xx), then down (connection refused): delivered once it is back, nothing lost', async () => {
  gw.mode = '5xx';
  const w = await worker();
  const ids = queue(3);
  try {
    assert.ok(await waitFor(() => rowsOf(ids).every((r) => r.attempts >= 1 && /gateway 503/.test(r.error)), 10000),
      JSON.stringify(rowsOf(ids)));
    // Waiting for a retry (or in one at this moment): neither dropped nor given up.
    assert.ok(rowsOf(ids).every((r) => r.status === 'queued' || r.status === 'sending'), 'retried later, not dropped');
    await gw.down();
    assert.ok(await waitFor(() => rowsOf(ids).every((r) => /^transport:/.test(r.error)), 10000), JSON.stringify(rowsOf(ids)));
    assert.ok(rowsOf(ids).every((r) => r.status === 'queued' || r.status === 'sending'));
  } finally {
    gw.mode = 'ok';
    if (!gw.server?.listening) await gw.up();
  }
  assert.ok(await waitFor(() => allSent(ids), 20000), JSON.stringify(rowsOf(ids)));
  await stopWorker(w);
  for (const id of ids) {
    assert.equal(gw.deliveredWhere((b) => b.client_ref === id).length, 1);
    assert.equal(requestsFor(id).filter((m) => m.mode === 'ok').length, 1);
  }
  assert.ok(rowsOf(ids).every((r) => r.attempts >= 3 && r.error === ''));
});

test('a DLT error is a dead letter at once (no retry), visible to officers; a connection closed mid-request is retried', async () => {
  const [dlt, closed] = queue(2);
  let closedOnce = false;
  gw.plan = (m) => {
    if (m.body.client_ref === dlt) return 'dlt';
    if (m.body.client_ref === closed && !closedOnce) { closedOnce = true; return 'close'; }
    return undefined;
  };
  const w = await worker();
  try {
    assert.ok(await waitFor(() => rowsOf([dlt])[0].status === 'failed' && allSent([closed]), 15000),
      JSON.stringify(rowsOf([dlt, closed])));
    await sleep(2500); // more than the first backoff: a retry would have come by now
  } finally {
    gw.plan = null;
    await stopWorker(w);
  }
  const [d] = rowsOf([dlt]);
  assert.equal(d.attempts, 1);
  assert.match(d.error, /DLT_TEMPLATE_MISMATCH/);
  assert.equal(requestsFor(dlt).length, 1, 'never retried');
  assert.deepEqual(requestsFor(closed).map((m) => m.mode), ['close', 'ok']);
  // Officers see dead letters; residents do not.
  const officer = await staffLogin('officer');
  const r = await api('GET', '/api/v1/admin/sms/dead-letters', { token: officer });
  assert.equal(r.status, 200, r.text);
  const letter = r.json.find((x) => String(x.id) === dlt);
  assert.ok(letter, r.text.slice(0, 300));
  assert.equal(letter.template, 'booking_status');
  assert.equal(letter.attempts, 1);
  assert.match(letter.error, /DLT_TEMPLATE_MISMATCH/);
  assert.equal('body' in letter, false, 'no message text in the view');
  assert.equal((await api('GET', '/api/v1/admin/sms/dead-letters')).status, 401);
});

test('secrets leave the row once the gateway has the message (http driver)', async () => {
  const [id] = queue(1, { template: 'visit_day', body: () => 'Mitan: today Ramesh Sahu will visit. Visit code 482913.',
    vars: { code: '482913', agent: 'Ramesh Sahu' } });
  const w = await worker();
  assert.ok(await waitFor(() => allSent([id]), 10000));
  await stopWorker(w);
  assert.equal(requestsFor(id)[0].body.text, 'Mitan: today Ramesh Sahu will visit. Visit code 482913.');
  assert.equal(requestsFor(id)[0].body.template_id, '1107000000000043');
  assert.equal(requestsFor(id)[0].body.unicode, false);
  assert.equal(rowsOf([id])[0].body, '');
  assert.equal(sqlValue(`SELECT variables ? 'code' FROM sms_outbox WHERE id = ${id}`), 'f');
});
