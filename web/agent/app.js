// Mitan field agent app: today's route, status at the door with the visit code, documents
// from the camera or a file. Everything the agent does goes through a queue in IndexedDB
// that survives reloads: status changes are sent in order, uploads use tus and resume from
// HEAD's Upload-Offset when the network returns. No framework, no build step.
import { STRINGS } from './i18n.js';
import { $, h, makeT, applyTexts, istDate, logout, sendLogouts } from '../common/dom.js';

const API = '/api/v1';
const LOGOUTS = 'mitan.agent.logouts'; // sign-outs still to send (../common/dom.js logout)
const CHUNK = 256 * 1024;
let lang = localStorage.getItem('mitan.agent.lang') === 'en' ? 'en' : 'hi';
let day = 0; // 0 today, 1 tomorrow
let visits = [];
const progress = new Map(); // queue id -> percent
let busy = false;

const t = makeT(STRINGS, () => lang, 'en');
function say(text, kind = 'info') { const m = $('#msg'); m.textContent = text; m.className = `msg ${kind}`; }
const token = () => localStorage.getItem('mitan.agent.token');

// ---- IndexedDB queue ----
let dbp;
function db() {
  dbp ??= new Promise((res, rej) => {
    const r = indexedDB.open('mitan-agent', 1);
    r.onupgradeneeded = () => r.result.createObjectStore('queue', { keyPath: 'id', autoIncrement: true });
    r.onsuccess = () => res(r.result);
    r.onerror = () => rej(r.error);
  });
  return dbp;
}
async function store(mode, fn) {
  const d = await db();
  return new Promise((res, rej) => {
    const tx = d.transaction('queue', mode);
    const out = fn(tx.objectStore('queue'));
    tx.oncomplete = () => res(out?.result);
    tx.onerror = () => rej(tx.error);
  });
}
const queueAll = () => store('readonly', (s) => s.getAll());
const queuePut = (op) => store('readwrite', (s) => s.put(op));
const queueDel = (id) => store('readwrite', (s) => s.delete(id));

async function enqueue(op) {
  await queuePut(op);
  await render();
  drain();
}

// ---- network ----
class Offline extends Error {}
async function call(method, path, { body, headers = {}, raw } = {}) {
  let res;
  try {
    res = await fetch(API + path, {
      method, body: raw ?? (body ? JSON.stringify(body) : undefined),
      headers: { Authorization: `Bearer ${token()}`, ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    });
  } catch { throw new Offline(); }
  if (res.status === 401) { localStorage.removeItem('mitan.agent.token'); show(); say(t('signInAgain'), 'error'); throw new Offline(); }
  if (res.status >= 500 && res.status !== 507) throw new Offline(); // try again later
  let json = null;
  try { json = await res.json(); } catch { /* no body */ }
  return { status: res.status, headers: res.headers, json };
}

const b64 = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf)));
const hex = (buf) => [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
const utf8b64 = (s) => b64(new TextEncoder().encode(s));

// One upload, resumed wherever it stopped.
async function sendUpload(op) {
  if (!op.url) {
    const meta = [['reference', op.ref], ['document', op.document], ['filename', op.filename], ['sha256', op.sha256]]
      .map(([k, v]) => `${k} ${utf8b64(v)}`).join(',');
    const r = await call('POST', '/agent/uploads', { headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': String(op.size), 'Upload-Metadata': meta } });
    if (r.status !== 201) return r;
    op.url = r.headers.get('Location').replace(API, '');
    await queuePut(op);
  }
  for (;;) {
    const head = await call('HEAD', op.url, { headers: { 'Tus-Resumable': '1.0.0' } });
    if (head.status === 404 || head.status === 410) { op.url = null; await queuePut(op); return sendUpload(op); }
    let offset = Number(head.headers.get('Upload-Offset'));
    while (offset < op.size) {
      progress.set(op.id, Math.floor((100 * offset) / op.size));
      renderProgress();
      const chunk = op.blob.slice(offset, Math.min(offset + CHUNK, op.size));
      const bytes = await chunk.arrayBuffer();
      const sum = b64(await crypto.subtle.digest('SHA-256', bytes));
      const r = await call('PATCH', op.url, {
        raw: bytes,
        headers: { 'Tus-Resumable': '1.0.0', 'Content-Type': 'application/offset+octet-stream', 'Upload-Offset': String(offset), 'Upload-Checksum': `sha256 ${sum}` },
      });
      if (r.status === 409 || r.status === 423 || r.status === 460) break; // ask HEAD again
      if (r.status !== 204) return r;
      offset = Number(r.headers.get('Upload-Offset'));
    }
    if (offset >= op.size) return { status: 204 };
    await new Promise((res) => setTimeout(res, 300));
  }
}

let again = false; // something was queued while the queue was being sent
async function drain() {
  if (!token()) return;
  if (busy) { again = true; return; }
  busy = true;
  try {
    do {
      again = false;
      for (const op of await queueAll()) {
        const r = op.kind === 'upload' ? await sendUpload(op) : await call('POST', `/agent/visits/${op.ref}/status`, { body: op.body });
        progress.delete(op.id);
        await queueDel(op.id);
        if (r.status >= 400) say(t('refused', { m: r.json?.error?.message ?? r.status }), 'error');
        else if (op.kind === 'upload') say(t('saved'));
      }
      await load();
    } while (again);
  } catch (e) {
    if (!(e instanceof Offline)) say(String(e), 'error');
  } finally {
    busy = false;
    await render();
  }
}

// ---- screens ----
function show() {
  $('#login').hidden = !!token();
  $('#route').hidden = !token();
}

async function load() {
  const key = `mitan.agent.visits.${istDate(day)}`;
  try {
    const r = await call('GET', `/agent/visits?date=${istDate(day)}&lang=${lang}`);
    if (r.status === 200) { visits = r.json; localStorage.setItem(key, JSON.stringify(visits)); }
  } catch {
    visits = JSON.parse(localStorage.getItem(key) || '[]');
  }
  await render();
}

function setStatus(v, status, extra = {}) {
  return enqueue({ kind: 'status', ref: v.reference, body: { status, ...extra } });
}
function askReason(v, status) {
  const note = prompt(t('reasonPrompt'));
  if (note && note.trim()) setStatus(v, status, { note: note.trim().slice(0, 500) });
}

async function addFile(v, doc, file) {
  if (!file) return;
  const sha256 = hex(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
  const clean = (file.name || 'scan').replace(/[\\/:"*?<>|]/g, '_').replace(/^\.+/, '').replace(/\.\.+/g, '.').slice(-100) || 'scan';
  await enqueue({ kind: 'upload', ref: v.reference, document: doc.code, filename: clean, blob: file, size: file.size, sha256 });
}

function renderProgress() {
  for (const [id, p] of progress) {
    const el = document.querySelector(`[data-op="${id}"]`);
    if (el) el.textContent = t('queued', { p });
  }
}

async function render() {
  $('#net').textContent = navigator.onLine ? t('online') : t('offline');
  $('#net').className = navigator.onLine ? 'net' : 'net off';
  if (!token()) return;
  const queue = await queueAll().catch(() => []);
  $('#queue').textContent = queue.length ? t('queueCount', { n: queue.length }) : '';
  $('#route-title').textContent = t('routeTitle', { day: day ? t('tomorrow') : t('today'), n: visits.length });
  $('#day-today').setAttribute('aria-pressed', String(day === 0));
  $('#day-tomorrow').setAttribute('aria-pressed', String(day === 1));
  // A card is drawn again only when what it shows changed, and in place: the visit code or
  // a file being picked is not pulled from under the agent's fingers when the queue moves.
  const list = $('#visits');
  const active = document.activeElement?.id;
  const old = new Map([...list.children].map((li) => [li.dataset.ref, li]));
  const cards = visits.length ? visits.map((v) => {
    const sig = cardSignature(v, queue);
    const card = old.get(v.reference);
    return card && card.dataset.sig === sig ? card : visitCard(v, queue, sig);
  }) : [h('li', null, t('noVisits'))];
  cards.forEach((card, i) => { if (list.children[i] !== card) list.insertBefore(card, list.children[i] ?? null); });
  while (list.children.length > cards.length) list.lastElementChild.remove();
  if (active && document.activeElement?.id !== active) document.getElementById(active)?.focus();
  renderProgress();
}

// The status a card shows: the last one queued for it, else the server's.
const shownStatus = (v, queue) => queue.filter((o) => o.kind === 'status' && o.ref === v.reference).map((o) => o.body.status).at(-1) || v.status;

// Everything a card is drawn from (upload progress is updated in place by renderProgress).
function cardSignature(v, queue) {
  const ops = queue.filter((o) => o.ref === v.reference).map((o) => [o.id, o.kind, o.document ?? null]);
  return JSON.stringify([lang, { ...v, status: shownStatus(v, queue), booked: v.status === 'booked' }, ops]);
}

const codeDrafts = new Map(); // visit reference -> visit code being typed

function visitCard(v, queue, sig) {
  const st = shownStatus(v, queue);
  const buttons = [];
  const btn = (label, fn, cls) => h('button', { type: 'button', class: cls, onclick: fn, 'data-action': label }, t(label));
  if (st === 'assigned') buttons.push(btn('enRoute', () => setStatus(v, 'en_route')));
  if (st === 'en_route') {
    // The list is redrawn whenever the queue moves: keep what the agent has typed so far.
    const input = h('input', { id: `code-${v.reference}`, inputmode: 'numeric', pattern: '[0-9]{6}', maxlength: '6', autocomplete: 'one-time-code',
      value: codeDrafts.get(v.reference), oninput: (e) => codeDrafts.set(v.reference, e.target.value) });
    buttons.push(h('form', { class: 'codeform', onsubmit: (e) => {
      e.preventDefault();
      if (!/^\d{6}$/.test(input.value)) { say(t('codeNeeded'), 'error'); return; }
      setStatus(v, 'arrived', { visit_code: input.value });
    } }, h('span', null, h('label', { for: input.id }, t('visitCode')), input), h('button', { type: 'submit', 'data-action': 'arrived' }, t('arrived'))));
  }
  if (st === 'arrived') buttons.push(btn('collected', () => {
    const missing = v.documents.filter((d) => d.mandatory && !d.uploaded && !queue.some((o) => o.kind === 'upload' && o.ref === v.reference && o.document === d.code));
    if (!missing.length) return setStatus(v, 'documents_collected');
    const note = prompt(t('missingPrompt', { list: missing.map((d) => d.name).join(', ') }));
    if (note && note.trim()) setStatus(v, 'documents_collected', { note: note.trim().slice(0, 500) });
  }));
  if (st === 'documents_collected') buttons.push(btn('completed', () => setStatus(v, 'completed')));
  if (st === 'assigned' || st === 'en_route') buttons.push(btn('noShow', () => askReason(v, 'no_show'), 'secondary'));
  if (st === 'assigned' || st === 'en_route' || st === 'arrived') buttons.push(btn('failed', () => askReason(v, 'failed'), 'warn'));
  const docs = v.documents.map((d) => {
    const op = queue.find((o) => o.kind === 'upload' && o.ref === v.reference && o.document === d.code);
    const state = d.uploaded ? h('span', { class: 'done' }, ` ✓ ${t('uploaded')}`)
      : op ? h('span', { class: 'pending', 'data-op': op.id }, ` ${t('queued', { p: progress.get(op.id) ?? 0 })}`) : null;
    const inputs = (st === 'arrived' || st === 'documents_collected') ? [
      h('label', { class: 'pick' }, t('camera'), h('input', { type: 'file', accept: 'image/*', capture: 'environment', hidden: true,
        'data-doc': d.code, onchange: (e) => addFile(v, d, e.target.files[0]) })),
      ' · ',
      h('label', { class: 'pick' }, t('file'), h('input', { type: 'file', accept: 'image/jpeg,image/png,application/pdf', class: 'file',
        'data-doc': d.code, onchange: (e) => addFile(v, d, e.target.files[0]) })),
    ] : [];
    return h('li', { 'data-code': d.code }, d.name, d.mandatory ? ` (${t('mandatory')})` : '', state, h('br'), inputs);
  });
  return h('li', { class: 'visit', 'data-ref': v.reference, 'data-sig': sig },
    h('h2', null, `${v.route_order ?? ''} ${v.beneficiary.name} — ${v.service.name}`),
    h('span', { class: 'status' }, t(`status_${st}`)),
    h('p', { class: 'meta' }, `${t('window')}: ${v.window.label}`, h('br'), v.address, h('br'),
      h('a', { href: `tel:${v.beneficiary.phone}` }, `${t('call')} ${v.beneficiary.phone}`), ' · ',
      h('a', { href: `geo:${v.location.lat},${v.location.lon}` }, t('map'))),
    v.status === 'booked' ? h('p', null, t('waitingNotice')) : null,
    h('details', { open: st === 'arrived' || st === 'documents_collected' }, h('summary', null, t('docs')), h('ul', { class: 'docs' }, docs)),
    h('div', { class: 'actions' }, buttons));
}

function applyLang() {
  applyTexts(t, lang);
  $('#lang').textContent = t('otherLang');
}

$('#lang').addEventListener('click', () => { lang = lang === 'hi' ? 'en' : 'hi'; localStorage.setItem('mitan.agent.lang', lang); applyLang(); load(); });
$('#day-today').addEventListener('click', () => { day = 0; load(); });
$('#day-tomorrow').addEventListener('click', () => { day = 1; load(); });
// Signing out ends the session on the server; offline, the handset forgets the token at once
// and the sign-out is sent when the network returns.
$('#logout').addEventListener('click', () => {
  const old = token();
  localStorage.removeItem('mitan.agent.token');
  show();
  logout(API, old, localStorage, LOGOUTS);
});
$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  try {
    const res = await fetch(`${API}/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ login: $('#login-code').value.trim().toUpperCase(), password: $('#login-password').value }) });
    const j = await res.json();
    if (res.status !== 200 || j.role !== 'agent') { say(t('badLogin'), 'error'); return; }
    localStorage.setItem('mitan.agent.token', j.token);
    say('');
    show();
    await load();
    drain();
  } catch { say(t('offline'), 'error'); }
});
addEventListener('online', () => { sendLogouts(API, localStorage, LOGOUTS); render(); drain(); });
addEventListener('offline', () => render());
setInterval(() => { sendLogouts(API, localStorage, LOGOUTS); queueAll().then((q) => { if (q.length) drain(); }).catch(() => {}); }, 4000);
if ('serviceWorker' in navigator) navigator.serviceWorker.register('/agent/sw.js', { scope: '/agent/' }).catch(() => {});

applyLang();
show();
sendLogouts(API, localStorage, LOGOUTS);
if (token()) load().then(drain);
