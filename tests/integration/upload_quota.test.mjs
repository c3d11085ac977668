// Upload quotas and the cleanup of expired uploads. Per agent at most upload_open_max (20)
// open uploads and upload_open_bytes_max (200 MB) declared across them — the defaults, which
// tests/run.sh does not change; over either → 429 with Retry-After and nothing written, also
// when ten creations race for the last slot. The worker's upload_cleanup job removes an
// expired upload's file and row (audited as 'system') and never a recorded document.
// Agents RPR-A19 … RPR-A22.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, unlinkSync } from 'node:fs';
import { BASE, DATA, isError, lit, sql, sqlValue } from './lib.mjs';
import { workerOnce } from './fake_gateway.mjs';
import { agentLogin, fakePdf, makeVisit, mandatoryDocs, tusCreate, tusHead, tusPatch, tusUpload } from './agent_fixtures.mjs';

const OPEN_MAX = 20;
const BYTES_MAX = 200 * 1024 * 1024;
const FILE_MAX = 20 * 1024 * 1024; // upload_max_bytes
const DOC = mandatoryDocs()[0];
const tokens = {};
const visits = {};

const sha = () => randomBytes(32).toString('hex');
const create = (agent, length = 1000) =>
  tusCreate(tokens[agent], { reference: visits[agent].reference, document: DOC, sha256: sha(), length });
const idOf = (r) => r.headers.get('location').split('/').pop();
const agentId = (agent) => sqlValue(`SELECT id FROM agent WHERE code = ${lit(agent)}`);
const openUploads = (agent) => Number(sqlValue(`SELECT count(*) FROM upload WHERE agent_id = ${agentId(agent)} AND status = 'open'`));
const rows = (agent) => Number(sqlValue(`SELECT count(*) FROM upload WHERE agent_id = ${agentId(agent)}`));
const files = () => readdirSync(`${DATA}/uploads`).length;
const fileOf = (id) => `${DATA}/uploads/${id}.enc`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(async () => {
  for (const a of ['RPR-A19', 'RPR-A20', 'RPR-A21', 'RPR-A22']) {
    tokens[a] = await agentLogin(a);
    visits[a] = makeVisit(a, { hour: 11, status: 'arrived' });
  }
});

test('over the open-upload quota: 429 with Retry-After until the oldest expires, nothing written', async () => {
  const A = 'RPR-A19';
  const ids = [];
  for (let i = 0; i < OPEN_MAX; i++) {
    const r = await create(A);
    assert.equal(r.status, 201, r.text);
    ids.push(idOf(r));
  }
  // The oldest expires in 90 s: that is when a slot frees.
  sql(`UPDATE upload SET expires_at = now() + interval '90 seconds' WHERE id = ${lit(ids[0])}`);
  const before = [rows(A), files()];
  const r = await create(A);
  isError(r, 429, 'upload_quota');
  assert.match(r.json.error.message, /upload_open_max/);
  assert.match(r.json.error.message, /20 open uploads/);
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(retry >= 80 && retry <= 91, `Retry-After ${r.headers.get('retry-after')}`);
  assert.deepEqual([rows(A), files()], before, 'no row and no file for a refused creation');

  // An expired upload no longer counts; terminating one frees a slot at once.
  sql(`UPDATE upload SET expires_at = now() - interval '1 minute' WHERE id = ${lit(ids[0])}`);
  assert.equal((await create(A)).status, 201);
  isError(await create(A), 429, 'upload_quota');
  const del = await fetch(`${BASE}/api/v1/agent/uploads/${ids[1]}`, {
    method: 'DELETE', headers: { Authorization: `Bearer ${tokens[A]}`, 'Tus-Resumable': '1.0.0' } });
  assert.equal(del.status, 204);
  assert.equal((await create(A)).status, 201);
  assert.equal(openUploads(A), OPEN_MAX + 1, 'twenty unexpired and the expired one');
});

test('over the bytes quota: 429 naming upload_open_bytes_max; a file over the per-file limit stays 413', async () => {
  const A = 'RPR-A20';
  for (let i = 0; i < BYTES_MAX / FILE_MAX; i++) assert.equal((await create(A, FILE_MAX)).status, 201);
  const before = [rows(A), files()];
  const r = await create(A, 1);
  isError(r, 429, 'upload_quota');
  assert.match(r.json.error.message, /upload_open_bytes_max/);
  assert.match(r.json.error.message, new RegExp(`${BYTES_MAX} bytes`));
  const retry = Number(r.headers.get('retry-after'));
  assert.ok(retry > 47 * 3600 && retry <= 48 * 3600, `Retry-After ${retry}: the oldest expires in 48 h`);
  isError(await create(A, FILE_MAX + 1), 413, 'too_large');
  assert.deepEqual([rows(A), files()], before, 'nothing written');
});

// Holds back every INSERT into upload (reads go on) for `ms`, in a psql of its own; resolves
// once the lock is granted, with a promise of the psql's end.
async function holdUploadInserts(ms) {
  const conninfo = readFileSync(`${DATA}/pg/conninfo`, 'utf8').trim();
  const p = spawn('psql', [conninfo, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-c',
    `BEGIN; LOCK TABLE upload IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(${ms / 1000}); COMMIT;`], { stdio: 'ignore' });
  const done = once(p, 'exit');
  for (let i = 0; i < 100; i++) {
    if (sqlValue(`SELECT count(*) FROM pg_locks WHERE relation = 'upload'::regclass AND mode = 'ShareRowExclusiveLock' AND granted`) === '1')
      return done;
    await sleep(20);
  }
  throw new Error('the table lock was not granted');
}

test('ten creations at once for the last slot: exactly one succeeds', async () => {
  const A = 'RPR-A21';
  const ids = [];
  for (let i = 0; i < OPEN_MAX - 1; i++) {
    const r = await create(A);
    assert.equal(r.status, 201);
    ids.push(idOf(r));
  }
  // The first round makes the race certain: with inserts held back, all ten would have
  // counted the same free slot before any inserts, were the count not serialised. The
  // others race freely.
  for (let round = 0; round < 3; round++) {
    const before = files();
    const held = round === 0 ? await holdUploadInserts(1000) : null;
    const replies = await Promise.all(Array.from({ length: 10 }, () => create(A)));
    if (held) await held;
    const statuses = replies.map((r) => r.status).sort();
    assert.deepEqual(statuses, [201, ...Array(9).fill(429)], `round ${round}: ${statuses.join(',')}`);
    for (const r of replies.filter((x) => x.status === 429)) assert.ok(Number(r.headers.get('retry-after')) > 0);
    assert.equal(openUploads(A), OPEN_MAX);
    assert.equal(files(), before + 1);
    // Free one slot again for the next round (its file is left: files() compares counts).
    sql(`DELETE FROM upload WHERE id = ${lit(ids.pop())}`);
  }
});

test('the worker removes expired uploads, file and row, audited; a recorded document and a live upload stay', async () => {
  const A = 'RPR-A22';
  const token = tokens[A];
  // A: half sent, then expired.
  const bytes = fakePdf(100 * 1024);
  const a = await create(A, bytes.length);
  const aId = idOf(a);
  assert.equal((await tusPatch(token, a.headers.get('location'), 0, bytes.subarray(0, 50 * 1024), { checksum: true })).status, 204);
  // B: expired, and its file already gone (a crash between the cleanup's two steps).
  const bId = idOf(await create(A));
  unlinkSync(fileOf(bId));
  // C: a finished document whose upload row is past its expiry.
  const done = await tusUpload(token, { reference: visits[A].reference, document: DOC, bytes: fakePdf(30 * 1024) });
  assert.equal(done.last.status, 204, done.last.text);
  const cId = done.path.split('/').pop();
  // D: open and not expired.
  const dId = idOf(await create(A));
  sql(`UPDATE upload SET expires_at = now() - interval '1 hour' WHERE id IN (${[aId, bId, cId].map(lit).join(',')})`);
  assert.equal((await tusHead(token, a.headers.get('location'))).status, 410);

  // The job is planned once an hour; earlier tests' workers may have run this hour's.
  sql(`DELETE FROM job WHERE kind = 'upload_cleanup'`);
  workerOnce();
  assert.equal(sqlValue(`SELECT status FROM job WHERE kind = 'upload_cleanup'`), 'done');

  const left = sql(`SELECT id FROM upload WHERE id IN (${[aId, bId, cId, dId].map(lit).join(',')}) ORDER BY id`).map((x) => x[0]);
  assert.deepEqual(left, [cId, dId].sort(), 'the expired open uploads are gone, the finished and the live one stay');
  assert.ok(!existsSync(fileOf(aId)), 'the expired upload\'s file is removed');
  assert.ok(existsSync(fileOf(cId)), 'the document\'s file is kept');
  assert.ok(existsSync(fileOf(dId)));
  assert.equal(sqlValue(`SELECT count(*) FROM document WHERE storage_key = ${lit(cId)}`), '1');
  assert.equal((await tusHead(token, a.headers.get('location'))).status, 404);
  const audit = sql(`SELECT object_ref, actor_role, detail->>'booking', detail->>'offset' FROM audit_log
                      WHERE action = 'upload.expired' AND object_ref IN (${[aId, bId].map(lit).join(',')}) ORDER BY object_ref`);
  assert.deepEqual(audit, [[aId, 'system', visits[A].reference, String(50 * 1024)], [bId, 'system', visits[A].reference, '0']]
    .sort((x, y) => (x[0] < y[0] ? -1 : 1)));

  // Once more in the same hour: nothing left to do, nothing else removed.
  workerOnce();
  assert.ok(existsSync(fileOf(cId)) && existsSync(fileOf(dId)));
});
