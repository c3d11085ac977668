// Mitan resident app: book a doorstep visit, in Hindi or English. No framework, no build.
// Steps are sections of index.html shown by the URL hash, so the back button works.
// This is the core: state, strings, the API, navigation, the OTP login and My bookings.
// The rest comes only when needed, so that every page stays small: the chosen language's
// strings (i18n.hi.js or i18n.en.js), the booking flow (book.js) and the grievance screens
// (grievance.js, with grievance.hi.js or grievance.en.js). Elements, texts, storage and the
// fetch come from ../common/dom.js, shared with the agent and office apps.
import {
  $, h, makeT, localeOf, applyTexts, say, store, storedSession, dateFormat, request, IST, logout, sendLogouts,
} from '../common/dom.js';

const API = '/api/v1';
const FLOW = ['service', 'docs', 'place', 'window', 'details', 'login', 'review'];

// ---- storage: store.get/set never throw (private modes may refuse it) ----
const local = globalThis.localStorage, session = globalThis.sessionStorage;

const browserTz = (() => { try { return Intl.DateTimeFormat().resolvedOptions().timeZone || IST; } catch { return IST; } })();
const isIst = (tz) => tz === IST || tz === 'Asia/Calcutta';

// ---- state ----
let lang = store.get(local, 'mitan.lang') === 'en' ? 'en' : 'hi';
const draft = Object.assign({
  service: null, address: '', lat: null, lon: null, area: null, via: null,
  abroad: !isIst(browserTz), tz: browserTz, start: null, end: null,
  ben: { name: '', phone: '', language: null }, bookerName: '', idem: null, after: null,
}, store.get(session, 'mitan.draft') || {});
let otp = null; // { request_id, phone }

const saveDraft = () => store.set(session, 'mitan.draft', draft);

const sessionInfo = () => storedSession(local, 'mitan.session');
const LOGOUTS = 'mitan.logouts'; // sign-outs still to send (../common/dom.js logout)

// ---- text ----
const STR = {}; // lang -> strings, loaded on demand
const PARTS = new Set(['i18n']); // string files: i18n.hi.js, and grievance.hi.js once those screens are used
const loaded = new Set();
async function loadLang(l) {
  STR[l] ??= {};
  await Promise.all([...PARTS].filter((p) => !loaded.has(`${p}.${l}`)).map(async (p) => {
    Object.assign(STR[l], (await import(`./${p}.${l}.js`)).default);
    loaded.add(`${p}.${l}`);
  }));
  return STR[l];
}
const t = makeT(STR, () => lang); // only the chosen language's strings are loaded: no fallback
const locale = () => localeOf(lang);
const applyLang = () => applyTexts(t, lang);

// ---- messages: say(text, kind) in the one live region ----
let pendingMsg = null; // shown after the next step change
const sayNext = (text, kind) => { pendingMsg = [text, kind]; };

// An API error in the chosen language: by its code when the app knows it, else by its status
// (the server's English message is shown only in English).
function errorText(err, status) {
  if (!err) return t('err_generic');
  const key = `err_${err.code}`;
  if (STR[lang][key]) {
    const wait = err.retryAfter ? t('minutes', { n: Math.max(1, Math.ceil(err.retryAfter / 60)) }) : t('minutes', { n: 10 });
    return t(key, { wait });
  }
  if (lang === 'en' && err.message && !/^HTTP \d+$/.test(err.message)) return err.message;
  const st = status || err.status || 0;
  if (st === 400 || st === 422) return t('err_bad_input', { field: err.field ? t(`field_${err.field}`) : '' }).replace(/ ?\(\)/, '');
  if (st === 403) return t('err_forbidden');
  if (st === 409) return t('err_wrong_state');
  if (st >= 500) return t('err_unavailable');
  return t('err_generic');
}

// ---- formatting ----
const fmt = (tz, opts) => dateFormat(locale(), tz, opts);
const dayText = (d, tz) => fmt(tz, { weekday: 'long', day: 'numeric', month: 'long' }).format(d);
const shortDay = (d, tz) => fmt(tz, { weekday: 'short', day: 'numeric', month: 'short' }).format(d);
const clock = (d, tz) => fmt(tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
const dayKey = (d, tz) => dateFormat('en-CA', tz, { year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

function zoneName(tz, d = new Date()) {
  let off = '';
  try {
    off = new Intl.DateTimeFormat('en-US', { timeZone: tz, timeZoneName: 'shortOffset' }).formatToParts(d)
      .find((p) => p.type === 'timeZoneName')?.value || '';
  } catch { /* old browsers */ }
  return off ? `${city(tz)} (${off})` : city(tz);
}
const istRange = (s, e) => `${clock(s, IST)}–${clock(e, IST)} IST`;
const city = (tz) => tz.split('/').pop().replace(/_/g, ' ');
// The window in another zone: the slot list names the zone (its offset is in the note above).
const zoneRange = (s, e, tz) => `${shortDay(s, tz)}, ${clock(s, tz)}–${clock(e, tz)} · ${city(tz)}`;
const zoneLine = (s, e, tz) => `${zoneName(tz, s)}: ${shortDay(s, tz)}, ${clock(s, tz)}–${clock(e, tz)}`;
// A window as text: the day and hours in IST, and in the other zone when asked.
function windowLines(start, end, tz) {
  const s = new Date(start), e = new Date(end);
  const lines = [`${dayText(s, IST)}, ${istRange(s, e)}`];
  if (tz && !isIst(tz)) lines.push(zoneLine(s, e, tz));
  return lines;
}
const money = (paise) => new Intl.NumberFormat(locale(), {
  style: 'currency', currency: 'INR', minimumFractionDigits: paise % 100 ? 2 : 0,
}).format(paise / 100);
const displayTz = () => (draft.abroad ? draft.tz : browserTz);

// A phone as typed → E.164; 10 digits are Indian numbers. null when unusable.
export function normalizePhone(text) {
  let d = String(text || '').replace(/[\s\-().]/g, '');
  if (/^\d{10}$/.test(d)) return `+91${d}`;
  if (/^0\d{10}$/.test(d)) return `+91${d.slice(1)}`;
  if (/^91\d{10}$/.test(d)) return `+${d}`;
  if (/^00[1-9]\d+$/.test(d)) d = `+${d.slice(2)}`;
  return /^\+[1-9]\d{7,14}$/.test(d) ? d : null;
}

function uuid() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
  b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// ---- the API ----
// Returns { ok, status, data, error: {code, message, field, retryAfter} }; never throws.
async function call(method, path, { body, auth, headers = {}, timeout = 30000, as = 'json' } = {}) {
  const s = sessionInfo();
  if (auth && !s) return { ok: false, status: 401, error: { code: 'unauthenticated' } };
  const r = await request(method, API + path, { body, headers: auth ? { ...headers, Authorization: `Bearer ${s.token}` } : headers, timeout, as });
  if (r.status === 401 && auth) store.set(local, 'mitan.session', null);
  return r;
}

// ---- navigation ----
const stepOf = () => (location.hash.slice(1).split('/')[0] || 'service');
function go(step, { replace = false } = {}) {
  const url = `#${step}`;
  if (location.hash === url) { render(); return; }
  if (replace) { history.replaceState(null, '', url); render(); } else location.hash = url;
}

// The first step of the booking flow whose inputs are missing, or null.
function missingBefore(step) {
  const need = {
    docs: () => draft.service,
    place: () => draft.service,
    window: () => draft.address.trim().length >= 5 && draft.lat != null && draft.lon != null,
    details: () => draft.start,
    login: () => draft.after || (draft.ben.name.trim() && normalizePhone(draft.ben.phone)),
    review: () => sessionInfo(),
  };
  const upto = FLOW.indexOf(step);
  for (let i = 1; i <= upto; i++) {
    const f = need[FLOW[i]];
    if (f && !f()) return FLOW[i - 1] === 'docs' && !draft.service ? 'service' : FLOW[i - 1];
  }
  return null;
}

// The pages of a signed-in resident: without a session they go to the OTP login, then back.
const ACCOUNT = ['mine', 'grievances', 'gnew', 'grievance'];
function needLogin(err) {
  if (err) sayNext(errorText(err), 'error');
  draft.after = location.hash.slice(1) || 'mine';
  saveDraft();
  go('login', { replace: true });
}
let stepArg = ''; // what follows the step in the hash: #grievance/GV-… gives GV-…

let renderSeq = 0;
async function render() {
  const seq = ++renderSeq;
  let step = stepOf();
  if (!document.querySelector(`section[data-step="${step}"]`)) step = 'service';
  if (ACCOUNT.includes(step) && !sessionInfo()) { needLogin(); return; }
  if (FLOW.includes(step)) {
    const miss = step === 'login' && draft.after ? null : missingBefore(step);
    if (miss) { go(miss, { replace: true }); return; }
    if (step === 'login' && sessionInfo()) { go(draft.after || 'review', { replace: true }); return; }
  }
  for (const sec of document.querySelectorAll('section[data-step]')) sec.hidden = sec.dataset.step !== step;
  $('#boot')?.remove();
  const i = FLOW.indexOf(step);
  $('#progress').textContent = i >= 0 && !draft.after ? t('stepOf', { n: i + 1, total: FLOW.length }) : '';
  if (pendingMsg) { say(...pendingMsg); pendingMsg = null; } else say('');
  $('#nav-mine').toggleAttribute('aria-current', step === 'mine');
  try { stepArg = decodeURIComponent(location.hash.slice(1).split('/').slice(1).join('/')); } catch { stepArg = ''; }
  const heading = document.querySelector(`section[data-step="${step}"] h1`);
  try {
    await VIEWS[step]?.();
  } catch (err) {
    if (seq === renderSeq) {
      say(errorText(err), 'error');
      $('#msg').append(' ', h('button', { type: 'button', class: 'secondary', onclick: render }, t('retry')));
    }
  }
  if (seq !== renderSeq) return;
  document.title = `${heading.textContent} · ${t('appName')}`;
  if (moved) { heading.focus(); moved = false; }
}
let moved = false; // focus the heading on navigation, not on the first load

// The windows as radio buttons grouped by day in IST; full ones disabled.
function slotChooser(slots, { name, current = null, tz = displayTz() }) {
  const days = new Map();
  for (const s of slots) {
    const k = dayKey(new Date(s.start), IST);
    if (!days.has(k)) days.set(k, []);
    days.get(k).push(s);
  }
  const frag = document.createDocumentFragment();
  for (const [, list] of days) {
    frag.append(h('fieldset', { class: 'day' }, h('legend', null, dayText(new Date(list[0].start), IST)),
      list.map((s) => {
        const st = new Date(s.start), en = new Date(s.end);
        const full = s.remaining <= 0;
        const isCurrent = current && Date.parse(current) === st.getTime();
        return h('label', { class: `slot${full ? ' full' : ''}` },
          h('input', { type: 'radio', name, value: s.start, 'data-end': s.end, disabled: full || isCurrent, checked: !full && draft.start === s.start && name === 'slot' }),
          h('span', { class: 'when' }, h('strong', null, istRange(st, en)),
            !isIst(tz) ? h('span', { class: 'other' }, zoneRange(st, en, tz)) : null),
          h('span', { class: 'left' }, isCurrent ? t('current') : full ? t('full') : t('left', { n: s.remaining })));
      })));
  }
  return frag;
}
async function fetchSlots(service, lat, lon) {
  const q = new URLSearchParams({ service, lat, lon, days: 7 });
  return call('GET', `/slots?${q}`);
}

// ---- the views ----
const VIEWS = {
  login() {
    const ab = draft.abroad && !draft.after;
    $('#login-intro').textContent = ab ? t('loginIntroAbroad') : t('loginIntro');
    if (!$('#phone').value) $('#phone').value = ab || draft.after ? '' : draft.ben.phone;
    $('#verify-form').hidden = !otp;
    $('#send-wrap').hidden = !!otp;
  },

  async mine() {
    $('#who').textContent = t('loggedIn', { phone: sessionInfo()?.phone || '' });
    const box = $('#mine-list');
    box.replaceChildren(h('p', { class: 'loading' }, t('loading')));
    const r = await call('GET', `/bookings?lang=${lang}`, { auth: true });
    if (!r.ok) {
      if (r.status === 401) { needLogin(r.error); return; }
      box.replaceChildren(h('p', { class: 'msg error' }, errorText(r.error)), h('button', { type: 'button', class: 'secondary', onclick: render }, t('retry')));
      return;
    }
    if (!r.data.length) {
      box.replaceChildren(h('p', null, t('noBookings')), h('p', null, h('a', { class: 'button', href: '#service' }, t('bookAnother'))));
      return;
    }
    box.replaceChildren(h('ul', { class: 'plain bookings' }, r.data.map((b) => h('li', null, bookingCard(b)))));
  },
};

function facts(rows) {
  const out = [];
  for (const row of rows) {
    if (!row) continue;
    const [k, v] = row;
    const vals = (Array.isArray(v) ? v : [v]).filter((x) => x != null && x !== '');
    out.push(h('dt', null, k), h('dd', null, vals.map((x, i) => [i ? h('br') : null, x])));
  }
  return out;
}

// ---- the receipt: needs the bearer token, so it is fetched and shown from a blob URL ----
const receiptUrls = new Map(); // reference -> blob URL
async function showReceipt(ref, box = $('#receipt-box')) {
  box.replaceChildren(h('p', { class: 'loading' }, t('loading')));
  const r = await call('GET', `/bookings/${encodeURIComponent(ref)}/receipt.svg`, { auth: true, as: 'blob' });
  if (!r.ok) {
    box.replaceChildren(h('p', { role: 'alert' }, t('receiptFailed'), ' ', errorText(r.error), ' ',
      h('button', { type: 'button', class: 'secondary', onclick: () => showReceipt(ref, box) }, t('retry'))));
    return;
  }
  if (receiptUrls.has(ref)) URL.revokeObjectURL(receiptUrls.get(ref));
  const url = URL.createObjectURL(r.data);
  receiptUrls.set(ref, url);
  const confirmation = box.id === 'receipt-box'; // printing is offered there (the page is the receipt)
  box.replaceChildren(h('img', { class: 'receipt-img', id: confirmation ? 'receipt' : null, src: url, alt: t('receiptAlt', { ref }), width: 360 }),
    h('p', { class: 'actions noprint' },
      h('a', { class: 'button secondary', href: url, download: `mitan-${ref}.svg` }, t('downloadReceipt')),
      confirmation ? h('button', { type: 'button', class: 'secondary', onclick: () => print() }, t('print')) : null));
}

// ---- g. my bookings ----
const CHANGEABLE = ['booked', 'assigned'];
function bookingCard(b) {
  const own = sessionInfo()?.phone;
  const bkTz = b.booker?.phone === own ? b.booker?.time_zone : null;
  const started = Date.parse(b.window.start) <= Date.now();
  const card = h('article', { class: `booking st-${b.status}`, 'data-ref': b.reference },
    h('h2', { class: 'ref-small' }, b.reference),
    h('p', { class: 'svc' }, b.service?.name),
    h('p', { class: 'when' }, windowLines(b.window.start, b.window.end, bkTz).map((x, i) => [i ? h('br') : null, x])),
    h('p', null, `${t('status')}: `, h('strong', { class: 'status' }, t(`status_${b.status}`))),
    b.beneficiary?.name ? h('p', { class: 'hint' }, `${t('for')}: ${b.beneficiary.name}`) : null,
    b.agent?.name ? h('p', { class: 'hint' }, `${t('agent')}: ${b.agent.name}`) : null);
  if (CHANGEABLE.includes(b.status) && !started) {
    const panel = h('div', { class: 'resched', hidden: true });
    card.append(h('p', { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', 'aria-expanded': 'false', onclick: (e) => toggleReschedule(b, panel, e.currentTarget) }, t('reschedule')),
      ' ', h('button', { type: 'button', class: 'danger', onclick: () => cancelBooking(b) }, t('cancel'))), panel);
  }
  // Tracking: the status history, the public tracking page, and the receipt with its QR
  // code (fetched when opened).
  const receipt = h('div', { class: 'receipt-box' });
  card.append(h('details', { class: 'history', ontoggle: (e) => { if (e.target.open && !receipt.firstChild) showReceipt(b.reference, receipt); } },
    h('summary', null, t('history')),
    h('ol', { class: 'timeline' }, (b.events || []).map((ev) => h('li', null,
      h('time', { datetime: ev.at }, `${shortDay(new Date(ev.at), displayTz())}, ${clock(new Date(ev.at), displayTz())}`), ' ',
      h('span', null, t(ev.action === 'rescheduled' ? 'status_rescheduled' : `status_${ev.status}`)),
      ev.note ? h('span', { class: 'note' }, ev.note) : null))),
    b.tracking_url ? h('p', { class: 'track' }, h('a', { href: b.tracking_url, rel: 'noopener' }, t('track'))) : null,
    receipt),
  h('p', { class: 'gv-link' }, h('a', { href: `#gnew/${encodeURIComponent(b.reference)}` }, t('gRaise'))));
  return card;
}

async function cancelBooking(b) {
  if (!confirm(t('confirmCancel', { ref: b.reference }))) return;
  const r = await call('POST', `/bookings/${encodeURIComponent(b.reference)}/cancel?lang=${lang}`, { auth: true });
  if (r.ok) { sayNext(t('cancelled', { ref: b.reference }), 'ok'); moved = true; render(); } else say(errorText(r.error), 'error');
}

async function toggleReschedule(b, panel, btn) {
  if (!panel.hidden) { panel.hidden = true; btn.setAttribute('aria-expanded', 'false'); return; }
  panel.hidden = false;
  btn.setAttribute('aria-expanded', 'true');
  panel.replaceChildren(h('p', { class: 'loading' }, t('loading')));
  const r = await fetchSlots(b.service.code, b.location.lat, b.location.lon);
  if (!r.ok) { panel.replaceChildren(h('p', { class: 'msg error' }, errorText(r.error))); return; }
  const name = `re-${b.reference}`;
  const form = h('form', { novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    const pick = form.querySelector(`input[name="${name}"]:checked`);
    if (!pick) { say(t('errWindow'), 'error'); return; }
    const sub = form.querySelector('button[type=submit]');
    sub.disabled = true;
    const res = await call('POST', `/bookings/${encodeURIComponent(b.reference)}/reschedule?lang=${lang}`, { auth: true, body: { start: pick.value } });
    sub.disabled = false;
    if (res.ok) { sayNext(t('rescheduled', { ref: b.reference }), 'ok'); moved = true; render(); } else say(errorText(res.error), 'error');
  } }, slotChooser(r.data, { name, current: b.window.start, tz: b.booker?.phone === sessionInfo()?.phone ? b.booker?.time_zone : IST }),
  h('p', { class: 'actions sticky' }, h('button', { type: 'submit' }, t('moveHere'))));
  panel.replaceChildren(form);
  form.querySelector('input:not(:disabled)')?.focus();
}

// ---- e. OTP ----
async function sendCode(phone) {
  const btn = $('#send-code');
  btn.disabled = true;
  say(t('sending'));
  const r = await call('POST', '/auth/otp', { body: { phone, language: lang } });
  btn.disabled = false;
  if (!r.ok) { say(errorText(r.error), 'error'); return; }
  otp = { request_id: r.data.request_id, phone };
  $('#verify-form').hidden = false;
  $('#send-wrap').hidden = true;
  $('#code').value = '';
  say(t('codeSent', { phone }), 'ok');
  $('#code').focus();
}

// ---- events ----
function wire() {
  $('#lang').addEventListener('click', async () => {
    const next = lang === 'hi' ? 'en' : 'hi';
    try { await loadLang(next); } catch { say(t('err_network'), 'error'); return; }
    lang = next;
    store.set(local, 'mitan.lang', lang);
    applyLang();
    render();
  });
  // The session ends on the server too; offline, this browser forgets it at once and the
  // sign-out is sent on the next load or when the network returns.
  $('#logout').addEventListener('click', () => {
    const token = sessionInfo()?.token;
    store.set(local, 'mitan.session', null);
    logout(API, token, local, LOGOUTS);
    otp = null;
    sayNext(t('loggedOut'), 'ok');
    go('service');
  });
  $('#otp-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const phone = normalizePhone($('#phone').value);
    if (!phone) { say(t('errPhone'), 'error'); $('#phone').focus(); return; }
    $('#phone').value = phone;
    sendCode(phone);
  });
  $('#resend').addEventListener('click', () => otp && sendCode(otp.phone));
  $('#phone').addEventListener('input', () => { // another number: back to sending a code
    if (otp) { otp = null; $('#verify-form').hidden = true; $('#send-wrap').hidden = false; }
  });
  $('#verify-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const code = $('#code').value.replace(/\D/g, '');
    if (code.length !== 6) { say(t('errCode'), 'error'); $('#code').focus(); return; }
    const btn = e.target.querySelector('button[type=submit]');
    btn.disabled = true;
    const r = await call('POST', '/auth/otp/verify', { body: { request_id: otp.request_id, code } });
    btn.disabled = false;
    if (!r.ok) { say(errorText(r.error), 'error'); $('#code').select(); return; }
    store.set(local, 'mitan.session', { token: r.data.token, expires_at: r.data.expires_at, phone: r.data.person?.phone || otp.phone, name: r.data.person?.name || '' });
    otp = null;
    $('#verify-form').hidden = true;
    $('#send-wrap').hidden = false;
    sayNext(t('loggedIn', { phone: sessionInfo().phone }), 'ok');
    const next = draft.after || 'review';
    draft.after = null; saveDraft();
    go(next);
  });

  window.addEventListener('hashchange', () => { moved = true; render(); });
  window.addEventListener('online', () => sendLogouts(API, local, LOGOUTS));
}

// ---- the parts loaded on demand: each gets this toolbox ----
const C = {
  $, h, t, call, say, sayNext, errorText, go, render, needLogin, store, local, session, draft, saveDraft, sessionInfo,
  money, facts, windowLines, zoneName, shortDay, clock, dayText, IST, isIst, browserTz, displayTz,
  normalizePhone, uuid, slotChooser, fetchSlots, showReceipt,
  lang: () => lang, has: t.has, tz: () => browserTz,
  refresh: () => { moved = true; return render(); },
};
const parts = {}; // name -> promise of its screens
function part(name, strings) {
  if (strings) PARTS.add(name);
  parts[name] ??= Promise.all([import(`./${name}.js`), strings ? loadLang(lang) : null])
    .then(([m]) => m.setup(C))
    .catch((e) => { delete parts[name]; throw e?.code ? e : { code: 'network' }; });
  return parts[name];
}
for (const step of ['service', 'docs', 'place', 'window', 'details', 'review', 'done']) VIEWS[step] = async () => (await part('book'))[step]();
VIEWS.grievances = async () => (await part('grievance', true)).list();
VIEWS.gnew = async () => (await part('grievance', true)).raise(stepArg);
VIEWS.grievance = async () => (await part('grievance', true)).one(stepArg);

if (await loadLang(lang).then(() => true, () => false)) {
  applyLang();
  wire();
  render();
  sendLogouts(API, local, LOGOUTS);
} else { // without its strings the app cannot speak: say so in both languages
  $('#boot')?.remove();
  $('#msg').className = 'msg error';
  $('#msg').textContent = 'पेज पूरा नहीं खुल सका। इंटरनेट जाँचें और पेज फिर खोलें। · The page could not load. Check the connection and reload.';
}
