// Resumable document uploads (tus 1.0.0): interrupted at random points and resumed, the
// stored bytes are encrypted and decrypt to the same SHA-256 through the officer's signed
// link; a corrupt checksum, a wrong type, an oversize file, a path-like filename, another
// agent's visit are refused and record nothing. Agents RPR-A07 and RPR-A08.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { BASE, DATA, api, isError, lit, sql, sqlValue, staffLogin } from './lib.mjs';
import {
  agentLogin, fakePdf, fakePng, makeVisit, mandatoryDocs, secretHmac, sha256hex, tusCreate, tusHead, tusPatch,
  tusPatchCut, tusUpload,
} from './agent_fixtures.mjs';

const ME = 'RPR-A07';
const OTHER = 'RPR-A08';
let me, other, officer, visit;
const docCount = (ref) => Number(sqlValue(`SELECT count(*) FROM document d JOIN booking b ON b.id = d.booking_id
                                            WHERE b.reference = ${lit(ref)}`));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const DOC = mandatoryDocs()[0];

before(async () => {
  me = await agentLogin(ME);
  other = await agentLogin(OTHER);
  officer = await staffLogin('officer');
  visit = makeVisit(ME, { hour: 11, status: 'arrived' });
});

test('OPTIONS advertises tus 1.0.0 with creation, checksum (sha256) and termination', async () => {
  const r = await fetch(`${BASE}/api/v1/agent/uploads`, { method: 'OPTIONS' });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get('tus-version'), '1.0.0');
  assert.equal(r.headers.get('tus-resumable'), '1.0.0');
  assert.deepEqual(r.headers.get('tus-extension').split(',').sort(), ['checksum', 'creation', 'termination']);
  assert.equal(r.headers.get('tus-checksum-algorithm'), 'sha256');
  assert.ok(Number(r.headers.get('tus-max-size')) >= 1024 * 1024);
});

test('an upload cut at random points resumes from HEAD and is stored encrypted, whole and exact', async () => {
  const bytes = fakePdf(700 * 1024 + randomInt(0, 4096));
  const sha = sha256hex(bytes);
  const c = await tusCreate(me, { reference: visit.reference, document: DOC, filename: 'aadhaar front.pdf', sha256: sha, length: bytes.length });
  assert.equal(c.status, 201, c.text);
  const path = c.headers.get('location');
  assert.match(path, /^\/api\/v1\/agent\/uploads\/[0-9a-f]{32}$/);
  const id = path.split('/').pop();
  let offset = 0, cuts = 0;
  for (let round = 0; round < 40 && offset < bytes.length; round++) {
    const h = await tusHead(me, path);
    assert.equal(h.status, 200);
    assert.equal(h.headers.get('upload-length'), String(bytes.length));
    const at = Number(h.headers.get('upload-offset'));
    assert.ok(at >= offset, 'the offset never goes back');
    offset = at;
    if (offset >= bytes.length) break;
    const rest = bytes.subarray(offset);
    if (round < 6) {
      // Announce the rest, send a random part of it, drop the connection.
      await tusPatchCut(me, path, offset, rest, randomInt(1, Math.min(rest.length, 200 * 1024)));
      cuts++;
      continue;
    }
    const r = await tusPatch(me, path, offset, rest.subarray(0, Math.min(rest.length, 256 * 1024)), { checksum: true });
    if (r.status === 423 || r.status === 409) { await sleep(50); continue; } // the cut request still finishing
    assert.equal(r.status, 204, r.text);
    offset = Number(r.headers.get('upload-offset'));
  }
  assert.equal(cuts, 6);
  assert.equal(offset, bytes.length);
  assert.equal(docCount(visit.reference), 1);
  const [row] = sql(`SELECT encode(d.sha256, 'hex'), d.size, d.media_type, d.storage_key, d.filename FROM document d
                      JOIN booking b ON b.id = d.booking_id WHERE b.reference = ${lit(visit.reference)}`);
  assert.deepEqual(row, [sha, String(bytes.length), 'application/pdf', id, 'aadhaar front.pdf']);

  // On disk: not the plaintext.
  const file = readFileSync(`${DATA}/uploads/${id}.enc`);
  assert.equal(file.subarray(0, 8).toString('latin1'), 'MTNDOC1\n');
  assert.equal(file.indexOf(bytes.subarray(1000, 1064)), -1, 'no plaintext in the stored file');
  assert.equal(file.indexOf(Buffer.from('%PDF')), -1);

  // The booking's JSON lists the document with its SHA-256 …
  const b = await api('GET', `/api/v1/bookings/${visit.reference}`, { token: officer });
  assert.equal(b.status, 200, b.text);
  assert.equal(b.json.uploads.length, 1);
  assert.equal(b.json.uploads[0].sha256, sha);
  assert.equal(b.json.documents.find((d) => d.code === DOC).uploaded, true);
  // … and the agent's visit marks it uploaded.
  const mine = (await api('GET', '/api/v1/agent/visits', { token: me })).json.find((v) => v.reference === visit.reference);
  assert.equal(mine.documents.find((d) => d.code === DOC).uploaded, true);

  // The officer's signed link returns the decrypted bytes; the view is audited.
  const link = await api('GET', `/api/v1/bookings/${visit.reference}/documents/${DOC}/link`, { token: officer });
  assert.equal(link.status, 200, link.text);
  assert.equal(link.json.document.sha256, sha);
  const views = () => Number(sqlValue(`SELECT count(*) FROM audit_log WHERE action = 'document.view' AND object_ref = ${lit(link.json.document.id)}`));
  const v0 = views();
  const got = await fetch(link.json.url);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('content-type'), 'application/pdf');
  const body = Buffer.from(await got.arrayBuffer());
  assert.equal(sha256hex(body), sha, 'decrypted bytes have the same SHA-256');
  assert.equal(views(), v0 + 1);
  assert.equal(sqlValue(`SELECT actor_role FROM audit_log WHERE action = 'document.view' ORDER BY id DESC LIMIT 1`), 'officer');

  // A tampered, or expired, link is refused (links are signed with the installation secret).
  const u = new URL(link.json.url);
  u.searchParams.set('sig', u.searchParams.get('sig').replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A')));
  isError(await api('GET', u.pathname + u.search), 403, 'link_invalid');
  const past = Math.floor(Date.now() / 1000) - 5;
  const staff = u.searchParams.get('u');
  const sig = secretHmac('document-link', `${link.json.document.id}.${staff}.${past}`).toString('base64url');
  isError(await api('GET', `/api/v1/documents/${link.json.document.id}?u=${staff}&expires=${past}&sig=${sig}`), 410, 'link_expired');
  assert.equal(views(), v0 + 1, 'refused links are not views');
  // Agents and residents cannot mint links.
  isError(await api('GET', `/api/v1/bookings/${visit.reference}/documents/${DOC}/link`, { token: me }), 403);
  // The upload is complete: more bytes or a termination are refused.
  isError(await tusPatch(me, path, bytes.length, Buffer.from('x')), 409);
  isError(await api('DELETE', path, { token: me, headers: { 'Tus-Resumable': '1.0.0' } }), 409, 'upload_complete');
});

test('a corrupt chunk checksum is refused with 460 and nothing of it is kept', async () => {
  const bytes = fakePng(300 * 1024);
  const c = await tusCreate(me, { reference: visit.reference, document: DOC, filename: 'photo.png', sha256: sha256hex(bytes), length: bytes.length });
  assert.equal(c.status, 201);
  const path = c.headers.get('location');
  const first = bytes.subarray(0, 100 * 1024);
  assert.equal((await tusPatch(me, path, 0, first, { checksum: true })).status, 204);
  const second = bytes.subarray(100 * 1024, 200 * 1024);
  const wrong = `sha256 ${Buffer.from(randomBytes(32)).toString('base64')}`;
  const before = docCount(visit.reference);
  const r = await tusPatch(me, path, 100 * 1024, second, { checksum: wrong });
  isError(r, 460, 'checksum_mismatch');
  assert.equal((await tusHead(me, path)).headers.get('upload-offset'), String(100 * 1024));
  isError(await tusPatch(me, path, 0, first, { checksum: 'md5 AAAA' }), 400);
  // Resumed with the right bytes, it completes.
  assert.equal((await tusPatch(me, path, 100 * 1024, second, { checksum: true })).status, 204);
  const last = await tusPatch(me, path, 200 * 1024, bytes.subarray(200 * 1024), { checksum: true });
  assert.equal(last.status, 204, last.text);
  assert.equal(docCount(visit.reference), before + 1);
  assert.equal(sqlValue(`SELECT media_type FROM document ORDER BY id DESC LIMIT 1`), 'image/png');
});

test('a whole-file SHA-256 that does not match records nothing', async () => {
  const bytes = fakePdf(50 * 1024);
  const before = docCount(visit.reference);
  const c = await tusCreate(me, { reference: visit.reference, document: DOC, sha256: sha256hex(Buffer.from('other')), length: bytes.length });
  const path = c.headers.get('location');
  const r = await tusPatch(me, path, 0, bytes, { checksum: true });
  isError(r, 422, 'checksum_mismatch');
  assert.equal(docCount(visit.reference), before);
  assert.equal((await tusHead(me, path)).status, 404);
  assert.ok(!existsSync(`${DATA}/uploads/${path.split('/').pop()}.enc`), 'the file is removed');
});

test('a wrong type, an oversize file, a path-like filename, bad headers get a 4xx and record nothing', async () => {
  const before = docCount(visit.reference);
  const uploads = () => Number(sqlValue('SELECT count(*) FROM upload'));
  // Not JPEG, PNG or PDF: refused when the bytes are in.
  const text = Buffer.from('#!/bin/sh\necho this is not a scan\n'.repeat(100));
  const t = await tusUpload(me, { reference: visit.reference, document: DOC, filename: 'scan.pdf', bytes: text });
  isError(t.last, 415, 'unsupported_type');
  const u0 = uploads();
  const create = (over) => tusCreate(me, { reference: visit.reference, document: DOC, filename: 'a.pdf', sha256: 'a'.repeat(64), length: 1000, ...over });
  isError(await create({ length: 20971520 + 1 }), 413, 'too_large');
  for (const filename of ['../../etc/passwd', '/etc/passwd', 'a/b.pdf', '..\\windows.pdf', '.hidden', 'c:scan.pdf', '',
    'invoice\u202Efdp.exe', 'scan\u200B.pdf', 'bell\u0007.pdf']) {
    const r = await create({ filename });
    isError(r, 400);
    assert.equal(r.json.error.field, 'filename', filename);
  }
  isError(await create({ sha256: 'xyz' }), 400);
  isError(await create({ document: 'not_on_checklist' }), 400);
  isError(await create({ length: 0 }), 400);
  isError(await create({ headers: { 'Tus-Resumable': '0.2.2' } }), 412);
  isError(await create({ reference: undefined }), 400);
  assert.equal(uploads(), u0);
  // PATCH needs the tus content type and the right offset.
  const bytes = fakePdf(2048);
  const c = await tusCreate(me, { reference: visit.reference, document: DOC, sha256: sha256hex(bytes), length: bytes.length });
  const path = c.headers.get('location');
  isError(await tusPatch(me, path, 0, bytes, { headers: { 'Content-Type': 'application/json' } }), 415);
  isError(await tusPatch(me, path, 5, bytes.subarray(5)), 409, 'offset_mismatch');
  isError(await tusPatch(me, path, 0, Buffer.concat([bytes, bytes])), 413);
  // Termination removes the upload and its file.
  const del = await fetch(BASE + path, { method: 'DELETE', headers: { Authorization: `Bearer ${me}`, 'Tus-Resumable': '1.0.0' } });
  assert.equal(del.status, 204);
  assert.equal((await tusHead(me, path)).status, 404);
  assert.ok(!existsSync(`${DATA}/uploads/${path.split('/').pop()}.enc`));
  assert.equal(docCount(visit.reference), before);
});

test('an agent cannot upload to another agent\'s visit, nor touch their uploads', async () => {
  const bytes = fakePdf(4096);
  const c = await tusCreate(other, { reference: visit.reference, document: DOC, sha256: sha256hex(bytes), length: bytes.length });
  isError(c, 404, 'not_found');
  const mine = await tusCreate(me, { reference: visit.reference, document: DOC, sha256: sha256hex(bytes), length: bytes.length });
  const path = mine.headers.get('location');
  assert.equal((await tusHead(other, path)).status, 404);
  isError(await tusPatch(other, path, 0, bytes), 404);
  isError(await api('DELETE', path, { token: other, headers: { 'Tus-Resumable': '1.0.0' } }), 404);
  assert.equal((await tusHead(me, path)).headers.get('upload-offset'), '0');
  // Before arriving, nothing can be uploaded.
  const notyet = makeVisit(ME, { hour: 14 });
  isError(await tusCreate(me, { reference: notyet.reference, document: DOC, sha256: sha256hex(bytes), length: bytes.length }), 409, 'wrong_state');
  // An officer of the district gets a link only to documents that exist.
  const officer2 = await staffLogin('officer');
  isError(await api('GET', `/api/v1/bookings/${notyet.reference}/documents/${DOC}/link`, { token: officer2 }), 404);
});
