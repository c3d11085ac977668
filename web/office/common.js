// What every office page shares: the language, the staff session (sessionStorage), the API
// call, the header and the formats. Elements, texts, storage and the fetch come from
// ../common/dom.js, shared with the resident and agent apps. No framework, no build step.
import { STRINGS } from './i18n.js';
import {
  $, $$, h, s, fill, say, makeT, localeOf, applyTexts, store, storedSession, dateFormat, istDate, request, IST,
} from '../common/dom.js';

export { $, $$, h, s, fill, say, istDate, IST };
export const API = '/api/v1';

const LANG_KEY = 'mitan.office.lang';
const SESSION_KEY = 'mitan.office.session';

// ---- language ----
export let lang = store.get(localStorage, LANG_KEY) === 'en' ? 'en' : 'hi';
const langListeners = [];
export const onLang = (fn) => langListeners.push(fn);

export const t = makeT(STRINGS, () => lang, 'en');
export const has = t.has;
export const locale = () => localeOf(lang);
// A name from the API in the page's language: {name_hi, name_en} objects.
export const nameOf = (o) => (o ? (lang === 'hi' ? o.name_hi || o.name_en : o.name_en || o.name_hi) || o.name || o.code || '' : '');

export function applyLang() {
  applyTexts(t, lang);
  const title = $('h1[data-i18n]');
  if (title) document.title = `${title.textContent} · ${t('appName')}`;
}
export function setLang(l) {
  lang = l;
  store.set(localStorage, LANG_KEY, l);
  applyLang();
  for (const fn of langListeners) fn();
}

// ---- messages: say(text, kind) in the page's live region (from ../common/dom.js) ----
export function errorText(err) {
  if (!err) return t('err_generic');
  if (err.code === 'network') return lang === 'hi' ? 'सर्वर से संपर्क नहीं हो सका। नेटवर्क जाँचें और फिर कोशिश करें।' : 'The server could not be reached. Check the network and try again.';
  if (err.code === 'invalid_credentials') return lang === 'hi' ? 'लॉग इन नाम या पासवर्ड ग़लत है।' : 'The login name or the password is wrong.';
  if (err.code === 'forbidden') return lang === 'hi' ? 'आपको यह करने की अनुमति नहीं है।' : 'You are not allowed to do this.';
  const field = err.field ? ` (${err.field})` : '';
  return (err.message || err.code || 'error') + field;
}

// ---- the session ----
export const session = () => storedSession(sessionStorage, SESSION_KEY);
export const saveSession = (v) => store.set(sessionStorage, SESSION_KEY, v);
export const OFFICE_ROLES = ['officer', 'admin', 'committee'];
export const homeOf = (role) => (role === 'committee' ? 'report.html' : 'day.html');

// Sends to the login page (remembering where to come back) unless the session has one of the roles.
export function requireRole(roles) {
  const me = session();
  if (me && roles.includes(me.role)) return me;
  if (me && OFFICE_ROLES.includes(me.role)) { location.replace(homeOf(me.role)); return null; }
  const next = location.pathname.split('/').pop() + location.search;
  location.replace(`./?next=${encodeURIComponent(next)}`);
  return null;
}
// Ends the session on the server (POST /auth/logout), then forgets the token here. Offline or
// on any error the token is forgotten all the same (it then expires on its own).
export async function logout(e) {
  const button = e?.currentTarget;
  if (button?.disabled) return;
  busy(button, true, t('loggingOut'));
  if (session()) await call('POST', '/auth/logout', { timeout: 5000 });
  saveSession(null);
  location.replace('./?bye=1');
}

// ---- the API ----
// Returns { ok, status, data, error: {code, message, field} }; never throws. A 401 ends the
// session and goes back to the login page.
export async function call(method, path, { body, as = 'json', timeout = 30000, query } = {}) {
  const headers = {};
  const me = session();
  if (me) headers.Authorization = `Bearer ${me.token}`;
  let url = API + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v != null && v !== '') q.set(k, v);
    if ([...q].length) url += `?${q}`;
  }
  const r = await request(method, url, { body, headers, timeout, as });
  if (r.status === 401 && me && !path.startsWith('/auth/')) {
    saveSession(null);
    const next = location.pathname.split('/').pop() + location.search;
    location.replace(`./?expired=1&next=${encodeURIComponent(next)}`);
  }
  return r;
}

// ---- the header: navigation by role, who is signed in, language, log out ----
export function setupHeader(active) {
  const me = session();
  const nav = $('#nav');
  if (nav) {
    const links = [];
    if (me && (me.role === 'officer' || me.role === 'admin')) links.push(['day.html', 'navDay', 'day']);
    if (me && OFFICE_ROLES.includes(me.role)) links.push(['report.html', 'navReport', 'report']);
    fill(nav, links.map(([href, key, id]) => h('a', { href, 'data-i18n': key, 'aria-current': id === active ? 'page' : null }, t(key))));
  }
  const who = $('#who');
  if (who) who.textContent = me ? t('signedInAs', { name: me.name || me.login || '', role: t(`role_${me.role}`) }) : '';
  const out = $('#logout');
  if (out) { out.hidden = !me; out.onclick = logout; }
  $('#lang').addEventListener('click', () => setLang(lang === 'hi' ? 'en' : 'hi'));
  onLang(() => { if (who && me) who.textContent = t('signedInAs', { name: me.name || me.login || '', role: t(`role_${me.role}`) }); });
  applyLang();
}

// ---- formats (times always in IST, the district's zone) ----
const fmt = (opts) => dateFormat(locale(), IST, opts);
const asDate = (v) => (v instanceof Date ? v : new Date(v));
export const clock = (v) => (v ? fmt({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
export const dayText = (v) => (v ? fmt({ weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(asDate(v)) : t('none'));
export const dateTime = (v) => (v ? fmt({ day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
export const shortDateTime = (v) => (v ? fmt({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
// A local date YYYY-MM-DD as text (noon IST keeps it on the same day everywhere).
export const localDay = (ymd, opts = { day: 'numeric', month: 'long', year: 'numeric' }) =>
  (ymd ? fmt(opts).format(new Date(`${ymd}T12:00:00+05:30`)) : t('none'));
export const windowText = (w) => (w ? `${clock(w.start)}–${clock(w.end)}` : t('none'));
const nf = new Map();
export function num(n, digits = 0) {
  if (n == null || Number.isNaN(Number(n))) return t('none');
  const key = `${locale()}|${digits}`;
  if (!nf.has(key)) nf.set(key, new Intl.NumberFormat(locale(), { minimumFractionDigits: digits, maximumFractionDigits: digits }));
  return nf.get(key).format(Number(n));
}
export const pct = (n) => (n == null ? t('none') : `${num(n, 1)} %`);
export const statusText = (st) => (st ? t(`st_${st}`) : t('none'));
export function statusBadge(st) { return h('span', { class: `status st-${st}` }, statusText(st)); }

export function busy(button, on, label) {
  if (!button) return;
  if (on) { button.dataset.label = button.textContent; button.disabled = true; if (label) button.textContent = label; }
  else { button.disabled = false; if (button.dataset.label) button.textContent = button.dataset.label; }
}

// Saves a response body fetched with the bearer token as a file (CSV, PDF).
export async function download(path, query, filename, button) {
  busy(button, true, t('downloading'));
  const r = await call('GET', path, { query, as: 'blob', timeout: 120000 });
  busy(button, false);
  if (!r.ok) { say(r.status === 404 ? t('reportNotAvailable') : errorText(r.error), 'error'); return false; }
  const url = URL.createObjectURL(r.data);
  const a = h('a', { href: url, download: filename, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
  return true;
}
