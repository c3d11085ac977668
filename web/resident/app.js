// Mitan resident app: book a doorstep visit, in Hindi or English. No framework, no build.
// Steps are sections of index.html shown by the URL hash, so the back button works.
// Only the chosen language's strings are loaded (i18n.hi.js or i18n.en.js), and the
// grievance screens (grievance.js) only when one is opened: every page stays small.

const IST = 'Asia/Kolkata';
const API = '/api/v1';
const FLOW = ['service', 'docs', 'place', 'window', 'details', 'login', 'review'];
// The demo city's areas (Raipur municipal zones): a point inside each, and the zone's box
// [west, south, east, north] drawn on the pin map.
const AREAS = [
  ['gudhiyari', 21.28, 81.59, [81.57, 21.25, 81.61, 21.31]], ['pandri', 21.27, 81.63, [81.61, 21.25, 81.65, 21.31]],
  ['shankar_nagar', 21.27, 81.67, [81.65, 21.25, 81.69, 21.31]], ['tatibandh', 21.22, 81.59, [81.57, 21.19, 81.61, 21.25]],
  ['civil_lines', 21.22, 81.63, [81.61, 21.19, 81.65, 21.25]], ['telibandha', 21.22, 81.67, [81.65, 21.19, 81.69, 21.25]],
];
const MAP = [81.57, 21.19, 81.69, 21.31]; // the service area the pin map shows
const COMMON_ZONES = ['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'America/Toronto',
  'Europe/London', 'Europe/Berlin', 'Asia/Dubai', 'Asia/Riyadh', 'Asia/Qatar', 'Asia/Singapore',
  'Australia/Sydney', 'Pacific/Auckland', 'Asia/Kolkata'];

const $ = (sel) => document.querySelector(sel);

// ---- storage (never fatal: private modes may refuse it) ----
const store = {
  get(area, key) { try { return JSON.parse(area.getItem(key)); } catch { return null; } },
  set(area, key, v) { try { v == null ? area.removeItem(key) : area.setItem(key, JSON.stringify(v)); } catch { /* ignore */ } },
};
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
let last = store.get(session, 'mitan.last'); // the last booking made, for the confirmation page
let otp = null; // { request_id, phone }
const services = {}; // lang -> array

const saveDraft = () => store.set(session, 'mitan.draft', draft);

function sessionInfo() {
  const s = store.get(local, 'mitan.session');
  if (!s || !s.token) return null;
  if (s.expires_at && Date.parse(s.expires_at) <= Date.now()) { store.set(local, 'mitan.session', null); return null; }
  return s;
}

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
function t(key, vars) {
  let s = STR[lang]?.[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}
const locale = () => (lang === 'hi' ? 'hi-IN' : 'en-IN');

function applyLang() {
  document.documentElement.lang = lang;
  for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  $('#lang').lang = lang === 'hi' ? 'en' : 'hi';
}

// Builds an element: h('p', {class: 'x'}, 'text', child…). Text is never parsed as HTML.
function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}

// ---- messages (one live region) ----
function say(text, kind = 'info') {
  const m = $('#msg');
  m.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite'); // before the text changes
  m.className = `msg ${kind}`;
  m.textContent = text || '';
  if (kind === 'error' && text) m.scrollIntoView({ block: 'nearest' });
}
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
const fmtCache = new Map();
function fmt(tz, opts) {
  const key = `${locale()}|${tz}|${JSON.stringify(opts)}`;
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(locale(), { timeZone: tz, ...opts }));
  return fmtCache.get(key);
}
const dayText = (d, tz) => fmt(tz, { weekday: 'long', day: 'numeric', month: 'long' }).format(d);
const shortDay = (d, tz) => fmt(tz, { weekday: 'short', day: 'numeric', month: 'short' }).format(d);
const clock = (d, tz) => fmt(tz, { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
const dayKey = (d, tz) => new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' }).format(d);

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
  const h2 = { Accept: as === 'json' ? 'application/json' : '*/*', ...headers };
  const s = sessionInfo();
  if (auth) {
    if (!s) return { ok: false, status: 401, error: { code: 'unauthenticated' } };
    h2.Authorization = `Bearer ${s.token}`;
  }
  if (body !== undefined) h2['Content-Type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  try {
    const res = await fetch(API + path, {
      method, headers: h2, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      signal: ctl.signal, cache: 'no-store',
    });
    if (res.ok) return { ok: true, status: res.status, data: as === 'blob' ? await res.blob() : await res.json() };
    let error = { code: 'http_' + res.status, message: `HTTP ${res.status}` };
    try { error = (await res.json()).error || error; } catch { /* not JSON */ }
    error.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    error.status = res.status;
    if (res.status === 401 && auth) store.set(local, 'mitan.session', null);
    return { ok: false, status: res.status, error };
  } catch {
    return { ok: false, status: 0, error: { code: 'network' } };
  } finally {
    clearTimeout(timer);
  }
}

// The catalogue as a list: names, fees and departments only (`brief=1`; a server without it
// sends everything, documents too). Kept an hour in localStorage, so a return visit on a slow
// network draws at once. The documents of one service come with it (loadService).
const BRIEF = ['code', 'department', 'name', 'name_en', 'name_hi', 'fee_paise', 'sla_days'];
const SVC_TTL = 3600e3;
async function loadServices() {
  if (services[lang]) return services[lang];
  const key = `mitan.services.${lang}`;
  const cached = store.get(local, key);
  if (cached?.list && Date.now() - cached.at < SVC_TTL) return (services[lang] = cached.list);
  const r = await call('GET', `/services?lang=${lang}&brief=1`);
  if (!r.ok) {
    if (cached?.list) return (services[lang] = cached.list); // stale, but usable offline
    throw r.error;
  }
  for (const s of r.data) if (s.documents) full.set(`${lang}|${s.code}`, s);
  services[lang] = r.data.map((s) => Object.fromEntries(BRIEF.map((k) => [k, s[k]])));
  store.set(local, key, { at: Date.now(), list: services[lang] });
  return services[lang];
}
const findService = (code) => (services[lang] || []).find((s) => s.code === code);
const full = new Map(); // `${lang}|${code}` -> the service with its documents
async function loadService(code) {
  const k = `${lang}|${code}`;
  if (full.has(k)) return full.get(k);
  const r = await call('GET', `/services/${encodeURIComponent(code)}?lang=${lang}`);
  if (r.status === 404) return null;
  if (!r.ok) throw r.error;
  full.set(k, r.data);
  return r.data;
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
  if (step === 'done' && !last) { go('service', { replace: true }); return; }
  if (FLOW.includes(step)) {
    const miss = step === 'login' && draft.after ? null : missingBefore(step);
    if (miss) { go(miss, { replace: true }); return; }
    if (step === 'login' && sessionInfo()) { go(draft.after || 'review', { replace: true }); return; }
  }
  for (const sec of document.querySelectorAll('section[data-step]')) sec.hidden = sec.dataset.step !== step;
  const i = FLOW.indexOf(step);
  $('#progress').textContent = i >= 0 && !draft.after ? t('stepOf', { n: i + 1, total: FLOW.length }) : '';
  if (pendingMsg) { say(...pendingMsg); pendingMsg = null; } else say('');
  $('#nav-mine').toggleAttribute('aria-current', step === 'mine');
  stepArg = decodeURIComponent(location.hash.slice(1).split('/').slice(1).join('/'));
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

// ---- a. services ----
function renderServiceList() {
  const q = $('#q').value.trim().toLowerCase();
  const list = services[lang] || [];
  const groups = new Map();
  let n = 0;
  for (const s of list) {
    const dept = STR[lang][`dept_${s.department}`] ? s.department : 'other';
    const hay = `${s.name_hi} ${s.name_en} ${s.code} ${t(`dept_${dept}`)} ${s.department}`.toLowerCase();
    if (q && !q.split(/\s+/).every((w) => hay.includes(w))) continue;
    if (!groups.has(dept)) groups.set(dept, []);
    groups.get(dept).push(s);
    n++;
  }
  const box = $('#service-list');
  box.replaceChildren();
  for (const [dept, items] of groups) {
    const id = `dept-${dept}`;
    box.append(h('h2', { id, class: 'group' }, t(`dept_${dept}`)),
      h('ul', { 'aria-labelledby': id, class: 'plain' }, items.map((s) => h('li', null,
        h('a', {
          class: `service${s.code === draft.service ? ' selected' : ''}`, href: '#docs', 'data-code': s.code,
          onclick: () => { if (draft.service !== s.code) { draft.service = s.code; draft.start = null; draft.idem = null; } draft.after = null; saveDraft(); },
        }, h('span', { class: 'name' }, s.name), h('span', { class: 'meta' }, money(s.fee_paise)))))));
  }
  $('#q-count').textContent = n ? t('matches', { n }) : t('noMatch');
}

// ---- b. documents ----
function docItems(docs) {
  return docs.map((d) => h('li', { class: d.mandatory ? 'req' : 'opt' },
    h('span', { class: 'name' }, d.name),
    h('span', { class: `badge ${d.mandatory ? 'req' : 'opt'}` }, d.mandatory ? t('required') : t('optional')),
    d.notes ? h('span', { class: 'notes' }, d.notes) : null));
}

// ---- c. place ----
function locationText() {
  if (draft.lat == null) return t('noLocation');
  const where = draft.via === 'area' ? t(`area_${draft.area}`) : draft.via === 'geo' ? t('myLocation')
    : draft.via === 'pin' ? t('pinned', { area: draft.area ? t(`area_${draft.area}`) : '' }).replace(/ ?\(\)/, '') : t('typed');
  return t('chosen', { where: `${where} (${(+draft.lat).toFixed(4)}, ${(+draft.lon).toFixed(4)})` });
}
function setLocation(lat, lon, via, area = null) {
  draft.lat = lat; draft.lon = lon; draft.via = via; draft.area = area;
  saveDraft();
  $('#lat').value = lat ?? ''; $('#lon').value = lon ?? '';
  for (const r of document.querySelectorAll('input[name="area"]')) r.checked = r.value === area;
  $('#loc-chosen').textContent = locationText();
  placePin();
}

// The pin map: the service area and its zones drawn to scale (no map tiles: nothing to
// download). A tap puts the pin there; with the keyboard, the arrow keys move it ~200 m
// (with Shift ~50 m). The chosen place is read out from #loc-chosen.
const KX = Math.cos(((MAP[1] + MAP[3]) / 2) * Math.PI / 180); // a degree of longitude is shorter here
const MW = (MAP[2] - MAP[0]) * KX * 1000, MH = (MAP[3] - MAP[1]) * 1000; // viewBox units
const toXY = (lat, lon) => [(lon - MAP[0]) * KX * 1000, (MAP[3] - lat) * 1000];
const areaAt = (lat, lon) => AREAS.find(([, , , [w, so, e, n]]) => lon >= w && lon < e && lat >= so && lat < n)?.[0] ?? null;
function svg(tag, attrs, ...kids) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  el.append(...kids);
  return el;
}
function drawMap() {
  const map = svg('svg', { viewBox: `0 0 ${MW.toFixed(2)} ${MH}`, 'aria-hidden': 'true', focusable: 'false' });
  for (const [key, , , [w, so, e, n]] of AREAS) {
    const [x0, y0] = toXY(n, w), [x1, y1] = toXY(so, e);
    map.append(svg('rect', { x: x0, y: y0, width: x1 - x0, height: y1 - y0, class: 'zone' }),
      svg('text', { x: (x0 + x1) / 2, y: (y0 + y1) / 2, 'text-anchor': 'middle', class: 'zname' }, t(`area_${key}`)));
  }
  map.append(svg('g', { id: 'pin', class: 'pin' }, svg('g', { transform: 'scale(.4)' },
    svg('path', { d: 'M0 0C-5-9-12-14-12-22a12 12 0 1 1 24 0c0 8-7 13-12 22z' }), svg('circle', { cx: 0, cy: -22, r: 4.5 }))));
  map.addEventListener('click', (e) => {
    const r = map.getBoundingClientRect();
    pinAt(MAP[3] - ((e.clientY - r.top) / r.height) * MH / 1000, MAP[0] + ((e.clientX - r.left) / r.width) * MW / (KX * 1000));
  });
  $('#pin-map').replaceChildren(map);
  placePin();
}
function placePin() {
  const pin = $('#pin');
  if (!pin) return;
  const inside = draft.lat != null && +draft.lat >= MAP[1] && +draft.lat <= MAP[3] && +draft.lon >= MAP[0] && +draft.lon <= MAP[2];
  pin.style.display = inside ? '' : 'none';
  if (inside) pin.setAttribute('transform', `translate(${toXY(+draft.lat, +draft.lon).map((v) => v.toFixed(2)).join(' ')})`);
}
function pinAt(lat, lon) {
  const clamp = (v, lo, hi) => Math.min(hi - 1e-5, Math.max(lo, v));
  lat = +clamp(lat, MAP[1], MAP[3]).toFixed(5); lon = +clamp(lon, MAP[0], MAP[2]).toFixed(5);
  setLocation(lat, lon, 'pin', areaAt(lat, lon));
}
function pinKey(e) {
  const d = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
  if (!d) return;
  e.preventDefault();
  const step = e.shiftKey ? 0.0005 : 0.002;
  const inside = draft.lat != null && areaAt(+draft.lat, +draft.lon);
  if (!inside) pinAt((MAP[1] + MAP[3]) / 2, (MAP[0] + MAP[2]) / 2);
  else pinAt(+draft.lat + d[0] * step, +draft.lon + d[1] * step / KX);
}

// ---- d. windows ----
function fillZones() {
  const sel = $('#tz');
  if (sel.options.length) return;
  let all = [];
  try { all = Intl.supportedValuesOf('timeZone'); } catch { /* old browsers: the common list only */ }
  const common = COMMON_ZONES.filter((z) => z !== browserTz);
  const rest = all.filter((z) => !COMMON_ZONES.includes(z) && z !== browserTz);
  const opt = (z) => h('option', { value: z }, z.replace(/_/g, ' '));
  sel.append(opt(browserTz), h('optgroup', { label: t('commonZones'), id: 'tz-common' }, common.map(opt)));
  if (rest.length) sel.append(h('optgroup', { label: t('allZones'), id: 'tz-all' }, rest.map(opt)));
  if (![...sel.options].some((o) => o.value === draft.tz)) sel.append(opt(draft.tz));
}
function tzNote() {
  const tz = displayTz();
  $('#tz-note').textContent = isIst(tz) ? t('timesIst') : t('timesBoth', { zone: zoneName(tz) });
}

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
  async service() {
    $('#service-list').replaceChildren(h('p', { class: 'loading' }, t('loading')));
    await loadServices();
    renderServiceList();
  },

  async docs() {
    $('#docs-list').replaceChildren(h('li', { class: 'loading' }, t('loading')));
    const s = await loadService(draft.service);
    if (!s) { go('service', { replace: true }); return; }
    $('#docs-name').textContent = s.name;
    $('#docs-desc').textContent = s.description || '';
    $('#docs-list').replaceChildren(...docItems(s.documents));
    $('#docs-fee').textContent = money(s.fee_paise);
    $('#docs-sla').textContent = t('slaDays', { n: s.sla_days });
  },

  place() {
    const box = $('#area-list');
    box.replaceChildren(...AREAS.map(([key, lat, lon]) => h('label', { class: 'choice' },
      h('input', { type: 'radio', name: 'area', value: key, checked: draft.area === key, onchange: () => setLocation(lat, lon, 'area', key) }),
      ` ${t(`area_${key}`)}`)));
    $('#address').value = draft.address;
    $('#lat').value = draft.lat ?? ''; $('#lon').value = draft.lon ?? '';
    if (draft.via === 'typed') $('#coords').open = true;
    $('#loc-chosen').textContent = locationText();
    $('#abroad-hint').hidden = isIst(browserTz);
    drawMap();
  },

  async window() {
    fillZones();
    for (const [id, key] of [['#tz-common', 'commonZones'], ['#tz-all', 'allZones']]) if ($(id)) $(id).label = t(key);
    $('#abroad').checked = draft.abroad;
    $('#tz-wrap').hidden = !draft.abroad;
    $('#tz').value = draft.tz;
    tzNote();
    const box = $('#slot-list');
    const bar = $('#window-form .actions');
    bar.hidden = true;
    box.replaceChildren(h('p', { class: 'loading' }, t('loading')));
    const r = await fetchSlots(draft.service, draft.lat, draft.lon);
    if (!r.ok) {
      box.replaceChildren(h('p', { class: 'msg error', role: 'alert' }, errorText(r.error)),
        r.error.code === 'outside_service_area' ? h('p', null, h('a', { href: '#place', class: 'button secondary' }, t('changePlace')))
          : h('p', null, h('button', { type: 'button', class: 'secondary', onclick: render }, t('retry'))));
      return;
    }
    box.lastSlots = r.data;
    bar.hidden = !r.data.length;
    box.replaceChildren(r.data.length ? slotChooser(r.data, { name: 'slot' }) : h('p', null, t('noSlots')));
  },

  details() {
    const ab = draft.abroad;
    $('#details-intro').textContent = ab ? t('abroadIntro') : t('selfIntro');
    $('#ben-legend').textContent = ab ? t('benLegendAbroad') : t('benLegendSelf');
    $('#booker-set').hidden = !ab;
    $('#ben-lang-wrap').hidden = !ab;
    $('#bk-name').required = ab;
    const s = sessionInfo();
    $('#ben-name').value = draft.ben.name || (!ab && s?.name) || '';
    $('#ben-phone').value = draft.ben.phone || (!ab && s?.phone) || '';
    $('#ben-lang').value = draft.ben.language || lang;
    $('#bk-name').value = draft.bookerName || s?.name || '';
  },

  login() {
    const ab = draft.abroad && !draft.after;
    $('#login-intro').textContent = ab ? t('loginIntroAbroad') : t('loginIntro');
    if (!$('#phone').value) $('#phone').value = ab || draft.after ? '' : draft.ben.phone;
    $('#verify-form').hidden = !otp;
    $('#send-wrap').hidden = !!otp;
  },

  async review() {
    const s = await loadService(draft.service);
    $('#review-list').replaceChildren(...facts([
      [t('service'), s ? s.name : draft.service],
      [t('window'), windowLines(draft.start, draft.end, displayTz())],
      [t('addressShort'), [draft.address, locationText()]],
      [t('personAtDoor'), [draft.ben.name, normalizePhone(draft.ben.phone),
        draft.abroad ? `${t('smsLang')}: ${t(`lang_${draft.ben.language || lang}`)}` : null]],
      draft.abroad ? [t('booker'), [draft.bookerName, sessionInfo()?.phone, zoneName(draft.tz)]] : null,
      [t('fee'), s ? money(s.fee_paise) : ''],
    ]));
  },

  done() {
    const b = last;
    $('#done-ref').textContent = b.reference;
    const tz = b.window_local?.booker?.time_zone;
    const svc = b.service || {};
    $('#done-facts').replaceChildren(...facts([
      [t('service'), svc[`name_${lang}`] || svc.name],
      [t('window'), windowLines(b.window.start, b.window.end, tz && !isIst(tz) ? tz : displayTz())],
      [t('addressShort'), b.address],
      [t('personAtDoor'), b.beneficiary?.name],
      [t('fee'), money(b.fee_paise)],
      [t('status'), t(`status_${b.status}`)],
    ]));
    const docs = (b.documents || []).map((d) => ({ ...d, name: d[`name_${lang}`] || d.name, notes: b.lang === lang ? d.notes : null }));
    $('#done-docs').replaceChildren(...docItems(docs));
    $('#done-track').href = b.tracking_url;
    showReceipt(b.reference);
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
  box.replaceChildren(h('img', { class: 'receipt-img', src: url, alt: t('receiptAlt', { ref }), width: 360 }),
    h('p', { class: 'actions noprint' },
      h('a', { class: 'button secondary', href: url, download: `mitan-${ref}.svg` }, t('downloadReceipt')),
      ' ', h('button', { type: 'button', class: 'secondary', onclick: () => print() }, t('print'))));
  if (box.id === 'receipt-box') box.firstChild.id = 'receipt';
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
  // Tracking: the status history, and the receipt with its QR code (fetched when opened).
  const receipt = h('div', { class: 'receipt-box' });
  card.append(h('details', { class: 'history', ontoggle: (e) => { if (e.target.open && !receipt.firstChild) showReceipt(b.reference, receipt); } },
    h('summary', null, t('history')),
    h('ol', { class: 'timeline' }, (b.events || []).map((ev) => h('li', null,
      h('time', { datetime: ev.at }, `${shortDay(new Date(ev.at), displayTz())}, ${clock(new Date(ev.at), displayTz())}`), ' ',
      h('span', null, t(ev.action === 'rescheduled' ? 'status_rescheduled' : `status_${ev.status}`)),
      ev.note ? h('span', { class: 'note' }, ev.note) : null))),
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

// ---- f. book ----
function bookingBody() {
  const s = sessionInfo();
  const body = {
    service: draft.service,
    start: draft.start,
    location: { lat: +draft.lat, lon: +draft.lon },
    address: draft.address.trim(),
    beneficiary: { name: draft.ben.name.trim(), phone: normalizePhone(draft.ben.phone), language: draft.abroad ? (draft.ben.language || lang) : lang },
  };
  // The booker is the signed-in resident; a resident's booker.phone must be their own, so it is left out.
  if (draft.abroad) body.booker = { name: draft.bookerName.trim() || undefined, time_zone: draft.tz, language: lang };
  else body.booker = { name: body.beneficiary.phone === s?.phone ? body.beneficiary.name : undefined, language: lang };
  return body;
}

let booking = false;
async function book() {
  if (booking) return;
  const btn = $('#book');
  const text = JSON.stringify(bookingBody());
  // One key per submission, kept across retries of the same one (a lost reply is then
  // answered with the original booking instead of a second one).
  if (!draft.idem || draft.idem.body !== text) { draft.idem = { key: uuid(), body: text }; saveDraft(); }
  booking = true;
  btn.disabled = true; btn.setAttribute('aria-busy', 'true'); btn.textContent = t('booking');
  say(t('booking'));
  const r = await call('POST', `/bookings?lang=${lang}`, { auth: true, body: text, headers: { 'Idempotency-Key': draft.idem.key }, timeout: 45000 });
  booking = false;
  btn.disabled = false; btn.removeAttribute('aria-busy'); btn.textContent = t('confirmBooking');
  if (r.ok) {
    last = { ...r.data, lang };
    store.set(session, 'mitan.last', last);
    Object.assign(draft, { start: null, end: null, idem: null });
    saveDraft();
    go('done');
    return;
  }
  const code = r.error.code;
  if (r.status === 401) { sayNext(errorText(r.error), 'error'); go('login'); return; }
  if (['slot_full', 'window_closed', 'window_too_far', 'invalid_window'].includes(code)) {
    draft.start = null; saveDraft();
    sayNext(errorText(r.error), 'error'); go('window'); return;
  }
  if (code === 'outside_service_area') { sayNext(errorText(r.error), 'error'); go('place'); return; }
  say(errorText(r.error), 'error');
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
  $('#logout').addEventListener('click', () => {
    store.set(local, 'mitan.session', null);
    otp = null;
    sayNext(t('loggedOut'), 'ok');
    go('service');
  });
  $('#q').addEventListener('input', renderServiceList);

  $('#address').addEventListener('input', (e) => { draft.address = e.target.value; saveDraft(); });
  $('#geo').addEventListener('click', () => {
    if (!navigator.geolocation) { say(t('locationFailed'), 'error'); return; }
    say(t('locating'));
    navigator.geolocation.getCurrentPosition(
      (p) => { setLocation(+p.coords.latitude.toFixed(6), +p.coords.longitude.toFixed(6), 'geo'); say(t('locationFound'), 'ok'); },
      () => say(t('locationFailed'), 'error'),
      { enableHighAccuracy: false, timeout: 20000, maximumAge: 300000 });
  });
  const typed = () => {
    const lat = parseFloat($('#lat').value.replace(',', '.')), lon = parseFloat($('#lon').value.replace(',', '.'));
    const ok = Number.isFinite(lat) && Number.isFinite(lon) && Math.abs(lat) <= 90 && Math.abs(lon) <= 180;
    Object.assign(draft, ok ? { lat, lon, via: 'typed', area: null } : { lat: null, lon: null, via: null, area: null });
    for (const r of document.querySelectorAll('input[name="area"]')) r.checked = false;
    saveDraft();
    $('#loc-chosen').textContent = locationText();
    placePin();
  };
  $('#pin-map').addEventListener('keydown', pinKey);
  $('#lat').addEventListener('input', typed);
  $('#lon').addEventListener('input', typed);
  $('#place-form').addEventListener('submit', (e) => {
    e.preventDefault();
    draft.address = $('#address').value;
    if (draft.address.trim().length < 5) { say(t('errAddress'), 'error'); $('#address').focus(); return; }
    if (draft.lat == null || draft.lon == null) { say(t('errLocation'), 'error'); $('#geo').focus(); return; }
    draft.start = null; saveDraft();
    go('window');
  });

  $('#abroad').addEventListener('change', (e) => {
    draft.abroad = e.target.checked;
    if (draft.abroad && !draft.ben.language) draft.ben.language = 'hi';
    saveDraft();
    $('#tz-wrap').hidden = !draft.abroad;
    refreshSlotTimes();
  });
  $('#tz').addEventListener('change', (e) => { draft.tz = e.target.value; saveDraft(); refreshSlotTimes(); });
  $('#window-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const pick = document.querySelector('input[name="slot"]:checked');
    if (!pick) { say(t('errWindow'), 'error'); document.querySelector('input[name="slot"]:not(:disabled)')?.focus(); return; }
    draft.start = pick.value; draft.end = pick.dataset.end; saveDraft();
    go('details');
  });
  $('#slot-list').addEventListener('change', (e) => {
    if (e.target.name === 'slot') { draft.start = e.target.value; draft.end = e.target.dataset.end; saveDraft(); }
  });

  // What is typed is kept as it is typed, so a language switch or a reload loses nothing.
  const keep = (sel, f) => $(sel).addEventListener('input', (e) => { f(e.target.value); saveDraft(); });
  keep('#ben-name', (v) => { draft.ben.name = v; });
  keep('#ben-phone', (v) => { draft.ben.phone = v; });
  keep('#bk-name', (v) => { draft.bookerName = v; });
  $('#ben-lang').addEventListener('change', (e) => { draft.ben.language = e.target.value; saveDraft(); });
  $('#details-form').addEventListener('submit', (e) => {
    e.preventDefault();
    draft.ben = { name: $('#ben-name').value, phone: $('#ben-phone').value, language: draft.abroad ? $('#ben-lang').value : null };
    draft.bookerName = $('#bk-name').value;
    draft.after = null;
    saveDraft();
    if (!draft.ben.name.trim()) { say(t('errName'), 'error'); $('#ben-name').focus(); return; }
    if (!normalizePhone(draft.ben.phone)) { say(t('errPhone'), 'error'); $('#ben-phone').focus(); return; }
    if (draft.abroad && !draft.bookerName.trim()) { say(t('errName'), 'error'); $('#bk-name').focus(); return; }
    $('#ben-phone').value = draft.ben.phone = normalizePhone(draft.ben.phone);
    saveDraft();
    go(sessionInfo() ? 'review' : 'login');
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

  $('#book').addEventListener('click', book);
  $('#book-another').addEventListener('click', () => { draft.service = null; draft.start = null; saveDraft(); });
  window.addEventListener('hashchange', () => { moved = true; render(); });
}

function refreshSlotTimes() {
  tzNote();
  const box = $('#slot-list');
  if (box.lastSlots?.length) box.replaceChildren(slotChooser(box.lastSlots, { name: 'slot' }));
}

// ---- grievances: grievance.js, loaded the first time one of its screens is opened ----
let gmod = null;
function grievances() {
  PARTS.add('grievance');
  gmod ??= Promise.all([import('./grievance.js'), loadLang(lang)]).then(([m]) => m.screens({
    $, h, t, call, say, sayNext, errorText, go, needLogin, facts, store, uuid, shortDay, clock, dayText, zoneName,
    IST, isIst, lang: () => lang, locale, tz: () => browserTz, session: sessionInfo,
    refresh: () => { moved = true; return render(); },
  })).catch(() => { gmod = null; throw { code: 'network' }; });
  return gmod;
}
VIEWS.grievances = async () => (await grievances()).list();
VIEWS.gnew = async () => (await grievances()).raise(stepArg);
VIEWS.grievance = async () => (await grievances()).one(stepArg);

if (await loadLang(lang).then(() => true, () => false)) {
  applyLang();
  wire();
  render();
} else { // without its strings the app cannot speak: say so in both languages
  $('#msg').className = 'msg error';
  $('#msg').textContent = 'पेज पूरा नहीं खुल सका। इंटरनेट जाँचें और पेज फिर खोलें। · The page could not load. Check the connection and reload.';
}
