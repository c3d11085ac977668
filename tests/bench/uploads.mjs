// The client of tests/bench/uploads.sh: N agents' handsets upload one file each, at once.
import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { agentLogin, makeVisit, mandatoryDocs, sha256hex, tusCreate, tusHead, tusPatch } from '../integration/agent_fixtures.mjs';

const N = Number(process.env.BENCH_UPLOADS || 50);
const MB = Number(process.env.BENCH_FILE_MB || 2);
const CHUNK = 256 * 1024;
const pid = process.env.SERVER_PID;
const rss = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;

const agents = Array.from({ length: 24 }, (_, i) => `RPR-A${String(i + 1).padStart(2, '0')}`);
const doc = mandatoryDocs()[0];
const jobs = Array.from({ length: N }, (_, i) => {
  const a = i % agents.length;
  const visit = makeVisit(agents[a], { hour: [9, 11, 14, 16][Math.floor(i / agents.length) % 4], status: 'arrived' });
  const bytes = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(MB * 1024 * 1024 - 9)]);
  return { a, ref: visit.reference, bytes };
});
const tokens = [];
for (const a of agents) tokens.push(await agentLogin(a));
for (const j of jobs) j.token = tokens[j.a];
// A keep-alive socket the server closed while idle fails once; a handset would try again.
const again = async (fn) => { try { return await fn(); } catch { return fn(); } };

const before = rss();
let peak = before;
const samples = [];
const timer = setInterval(() => { const r = rss(); samples.push(r); peak = Math.max(peak, r); }, 50);
const t0 = process.hrtime.bigint();
await Promise.all(jobs.map(async (j) => {
  const c = await again(() => tusCreate(j.token, { reference: j.ref, document: doc, filename: 'scan.pdf', sha256: sha256hex(j.bytes), length: j.bytes.length }));
  if (c.status !== 201) throw new Error(`create ${c.status} ${c.text}`);
  const path = c.headers.get('location');
  for (let off = 0; off < j.bytes.length;) {
    const r = await again(() => tusPatch(j.token, path, off, j.bytes.subarray(off, off + CHUNK), { checksum: true }));
    if (r.status === 409 || r.status === 423) { // a retried chunk that had landed: ask HEAD
      await new Promise((res) => setTimeout(res, 20));
      off = Number((await tusHead(j.token, path)).headers.get('upload-offset'));
      continue;
    }
    if (r.status !== 204) throw new Error(`patch ${r.status} ${r.text}`);
    off = Number(r.headers.get('upload-offset'));
  }
}));
const secs = Number(process.hrtime.bigint() - t0) / 1e9;
clearInterval(timer);
const total = N * MB;
console.log(`${N} uploads of ${MB} MB in ${CHUNK / 1024} KB chunks: ${secs.toFixed(2)} s, ` +
  `${(total / secs).toFixed(1)} MB/s aggregate; server RSS ${before.toFixed(1)} MB before, ` +
  `peak ${peak.toFixed(1)} MB during (${samples.length} samples), ${rss().toFixed(1)} MB after`);
