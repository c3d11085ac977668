// What every office page shares: the language, the staff session (sessionStorage), the API
// call, element building, the header and the formats. No framework, no build step.
import { STRINGS } from './i18n.js';

export const API = '/api/v1';
export const IST = 'Asia/Kolkata';
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// ---- storage (never fatal: private modes may refuse it) ----
const store = {
  get(area, key) { try { return JSON.parse(area.getItem(key)); } catch { return null; } },
  set(area, key, v) { try { v == null ? area.removeItem(key) : area.setItem(key, JSON.stringify(v)); } catch { /* ignore */ } },
};
const LANG_KEY = 'mitan.office.lang';
const SESSION_KEY = 'mitan.office.session';

// ---- language ----
export let lang = store.get(localStorage, LANG_KEY) === 'en' ? 'en' : 'hi';
const langListeners = [];
export const onLang = (fn) => langListeners.push(fn);

export function t(key, vars) {
  let s = STRINGS[lang][key] ?? STRINGS.en[key] ?? key;
  if (vars) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
  return s;
}
export const has = (key) => key in STRINGS[lang] || key in STRINGS.en;
export const locale = () => (lang === 'hi' ? 'hi-IN' : 'en-IN');
// A name from the API in the page's language: {name_hi, name_en} objects.
export const nameOf = (o) => (o ? (lang === 'hi' ? o.name_hi || o.name_en : o.name_en || o.name_hi) || o.name || o.code || '' : '');

export function applyLang() {
  document.documentElement.lang = lang;
  for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of $$('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of $$('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  const b = $('#lang');
  if (b) b.lang = lang === 'hi' ? 'en' : 'hi';
  const title = $('h1[data-i18n]');
  if (title) document.title = `${title.textContent} · ${t('appName')}`;
}
export function setLang(l) {
  lang = l;
  store.set(localStorage, LANG_KEY, l);
  fmtCache.clear();
  applyLang();
  for (const fn of langListeners) fn();
}

// ---- elements: h('p', {class: 'x'}, 'text', child…); text is never parsed as HTML ----
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
}
const SVGNS = 'http://www.w3.org/2000/svg';
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
export function fill(el, ...kids) { el.replaceChildren(); for (const k of kids.flat(Infinity)) if (k != null && k !== false) el.append(k instanceof Node ? k : String(k)); return el; }

// ---- messages (one live region per page) ----
export function say(text, kind = 'info') {
  const m = $('#msg');
  if (!m) return;
  m.className = `msg ${kind}`;
  m.textContent = text || '';
  m.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite');
  if (kind === 'error' && text) m.scrollIntoView({ block: 'nearest' });
}
export function errorText(err) {
  if (!err) return t('err_generic');
  if (err.code === 'network') return lang === 'hi' ? 'सर्वर से संपर्क नहीं हो सका। नेटवर्क जाँचें और फिर कोशिश करें।' : 'The server could not be reached. Check the network and try again.';
  if (err.code === 'invalid_credentials') return lang === 'hi' ? 'लॉग इन नाम या पासवर्ड ग़लत है।' : 'The login name or the password is wrong.';
  if (err.code === 'forbidden') return lang === 'hi' ? 'आपको यह करने की अनुमति नहीं है।' : 'You are not allowed to do this.';
  const field = err.field ? ` (${err.field})` : '';
  return (err.message || err.code || 'error') + field;
}

// ---- the session ----
export function session() {
  const v = store.get(sessionStorage, SESSION_KEY);
  if (!v || !v.token) return null;
  if (v.expires_at && Date.parse(v.expires_at) <= Date.now()) { store.set(sessionStorage, SESSION_KEY, null); return null; }
  return v;
}
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
  const headers = { Accept: as === 'json' ? 'application/json' : '*/*' };
  const me = session();
  if (me) headers.Authorization = `Bearer ${me.token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let url = API + path;
  if (query) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v != null && v !== '') q.set(k, v);
    if ([...q].length) url += `?${q}`;
  }
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  try {
    const res = await fetch(url, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal: ctl.signal, cache: 'no-store',
    });
    if (res.ok) {
      const data = as === 'blob' ? await res.blob() : res.status === 204 ? null : await res.json();
      return { ok: true, status: res.status, data, headers: res.headers };
    }
    let error = { code: `http_${res.status}`, message: `HTTP ${res.status}` };
    try { error = (await res.json()).error || error; } catch { /* not JSON */ }
    if (res.status === 401 && me && !path.startsWith('/auth/')) {
      saveSession(null);
      const next = location.pathname.split('/').pop() + location.search;
      location.replace(`./?expired=1&next=${encodeURIComponent(next)}`);
    }
    return { ok: false, status: res.status, error };
  } catch {
    return { ok: false, status: 0, error: { code: 'network' } };
  } finally {
    clearTimeout(timer);
  }
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
const fmtCache = new Map();
function fmt(opts) {
  const key = `${locale()}|${JSON.stringify(opts)}`;
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(locale(), { timeZone: IST, ...opts }));
  return fmtCache.get(key);
}
const asDate = (v) => (v instanceof Date ? v : new Date(v));
export const clock = (v) => (v ? fmt({ hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
export const dayText = (v) => (v ? fmt({ weekday: 'short', day: 'numeric', month: 'short', year: 'numeric' }).format(asDate(v)) : t('none'));
export const dateTime = (v) => (v ? fmt({ day: 'numeric', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
export const shortDateTime = (v) => (v ? fmt({ day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(asDate(v)) : t('none'));
// A local date YYYY-MM-DD as text (noon IST keeps it on the same day everywhere).
export const localDay = (ymd, opts = { day: 'numeric', month: 'long', year: 'numeric' }) =>
  (ymd ? fmt(opts).format(new Date(`${ymd}T12:00:00+05:30`)) : t('none'));
export const windowText = (w) => (w ? `${clock(w.start)}–${clock(w.end)}` : t('none'));
export const istDate = (days = 0, from = Date.now()) => new Date(from + 5.5 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);
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
