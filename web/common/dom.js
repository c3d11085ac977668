// What the three front ends (web/resident, web/agent, web/office) share: finding and building
// elements, the texts in Hindi or English, storage that never throws, dates in IST, the API
// call with a time limit and signing out. An ES module served as it is: no framework, no
// build step.

export const IST = 'Asia/Kolkata';
export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

// ---- elements: h('p', {class: 'x'}, 'text', child…); text is never parsed as HTML ----
// Attributes: null/false leave it out, true is an empty attribute, onX adds a listener for X.
function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.setAttribute('class', v);
    // Through the CSSOM: the Content-Security-Policy refuses style="" attributes, not this.
    else if (k === 'style') el.style.cssText = v;
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, v);
  }
}
// Appends the children (arrays at any depth; null and false are skipped, the rest is text).
function append(el, kids) {
  for (const kid of kids.flat(Infinity)) if (kid != null && kid !== false) el.append(kid instanceof Node ? kid : String(kid));
  return el;
}
export function h(tag, attrs, ...kids) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  return append(el, kids);
}
const SVGNS = 'http://www.w3.org/2000/svg';
// The same for SVG elements.
export function s(tag, attrs, ...kids) {
  const el = document.createElementNS(SVGNS, tag);
  setAttrs(el, attrs);
  return append(el, kids);
}
// Replaces an element's children.
export function fill(el, ...kids) { el.replaceChildren(); return append(el, kids); }

// ---- texts ----
// t(key, vars) over dictionaries by language ({hi: {...}, en: {...}}; they may be filled in
// later): the current language's text, else the fallback language's (when one is given), else
// the key itself; {name} is replaced by vars.name when vars has it. t.has(key) says whether a
// text exists for the key.
export function makeT(dicts, getLang, fallback) {
  const within = (l, key) => l != null && dicts[l] != null && key in dicts[l];
  function t(key, vars) {
    let text = dicts[getLang()]?.[key] ?? (fallback == null ? undefined : dicts[fallback]?.[key]) ?? key;
    if (vars) text = text.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
    return text;
  }
  t.has = (key) => within(getLang(), key) || within(fallback, key);
  return t;
}
export const localeOf = (lang) => (lang === 'hi' ? 'hi-IN' : 'en-IN');

// The page in a language: <html lang>, the texts of [data-i18n], the aria-labels of
// [data-i18n-label], the placeholders of [data-i18n-placeholder]; the language button (#lang)
// is marked as being in the other language.
export function applyTexts(t, lang) {
  document.documentElement.lang = lang;
  for (const el of $$('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const el of $$('[data-i18n-label]')) el.setAttribute('aria-label', t(el.dataset.i18nLabel));
  for (const el of $$('[data-i18n-placeholder]')) el.setAttribute('placeholder', t(el.dataset.i18nPlaceholder));
  const b = $('#lang');
  if (b) b.lang = lang === 'hi' ? 'en' : 'hi';
}

// ---- messages (one live region per page, #msg) ----
export function say(text, kind = 'info') {
  const m = $('#msg');
  if (!m) return;
  m.setAttribute('aria-live', kind === 'error' ? 'assertive' : 'polite'); // before the text changes
  m.className = `msg ${kind}`;
  m.textContent = text || '';
  if (kind === 'error' && text) m.scrollIntoView({ block: 'nearest' });
}

// ---- storage of JSON values (never fatal: private modes may refuse it) ----
export const store = {
  get(area, key) { try { return JSON.parse(area.getItem(key)); } catch { return null; } },
  set(area, key, v) { try { v == null ? area.removeItem(key) : area.setItem(key, JSON.stringify(v)); } catch { /* ignore */ } },
};
// A stored session {token, expires_at, …}, or null (and forgotten) once it has expired.
export function storedSession(area, key) {
  const v = store.get(area, key);
  if (!v || !v.token) return null;
  if (v.expires_at && Date.parse(v.expires_at) <= Date.now()) { store.set(area, key, null); return null; }
  return v;
}

// ---- dates ----
const fmtCache = new Map();
// An Intl.DateTimeFormat, made once for each locale, zone and options.
export function dateFormat(locale, tz, opts) {
  const key = `${locale}|${tz}|${JSON.stringify(opts)}`;
  if (!fmtCache.has(key)) fmtCache.set(key, new Intl.DateTimeFormat(locale, { timeZone: tz, ...opts }));
  return fmtCache.get(key);
}
// The date in India (YYYY-MM-DD) `days` days after `from`.
export const istDate = (days = 0, from = Date.now()) => new Date(from + 5.5 * 3600e3 + days * 86400e3).toISOString().slice(0, 10);

// ---- the API ----
// fetch with a time limit, a JSON body (a string is sent as it is) and a JSON or blob reply.
// Returns { ok: true, status, data, headers } or { ok: false, status, error: {code, message,
// field, status, retryAfter} }; never throws: status 0 and code 'network' when no reply came.
export async function request(method, url, { body, headers = {}, timeout = 30000, as = 'json' } = {}) {
  const hs = { Accept: as === 'json' ? 'application/json' : '*/*', ...headers };
  if (body !== undefined) hs['Content-Type'] = 'application/json';
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), timeout);
  try {
    const res = await fetch(url, {
      method, headers: hs, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)),
      signal: ctl.signal, cache: 'no-store',
    });
    if (res.ok) {
      const data = as === 'blob' ? await res.blob() : res.status === 204 ? null : await res.json();
      return { ok: true, status: res.status, data, headers: res.headers };
    }
    let error = { code: `http_${res.status}`, message: `HTTP ${res.status}` };
    try { error = (await res.json()).error || error; } catch { /* not JSON */ }
    error.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    error.status = res.status;
    return { ok: false, status: res.status, error };
  } catch {
    return { ok: false, status: 0, error: { code: 'network' } };
  } finally {
    clearTimeout(timer);
  }
}

// ---- signing out: the session ends on the server, even when the network is gone ----
// The caller forgets its token at once; the token goes to a small list in `area` under `key`
// and POST /auth/logout is sent for each token of the list now, and again by sendLogouts()
// on the next load and when the network returns, until the server has answered. A 4xx
// (401: the session had already ended) is an answer as well; no reply or a 5xx is not.
const LOGOUT_PENDING_MAX = 20; // tokens kept to send (a handset signing in and out offline)
const LOGOUT_TIMEOUT_MS = 5000;
// One pass: each token of the list is sent once; those the server answered are dropped.
async function sendLogoutsOnce(api, area, key) {
  const pending = store.get(area, key) || [];
  if (!pending.length) return;
  const done = [];
  for (const token of pending) {
    const r = await request('POST', `${api}/auth/logout`, { headers: { Authorization: `Bearer ${token}` }, timeout: LOGOUT_TIMEOUT_MS });
    if (r.ok || (r.status >= 400 && r.status < 500)) done.push(token);
  }
  // Read again: a sign-out may have been added while these were sent.
  const left = (store.get(area, key) || []).filter((tk) => !done.includes(tk));
  store.set(area, key, left.length ? left : null);
}
// Passes run one after the other, so that a token is not sent twice at once and a call made
// while a pass runs still gets a pass of its own.
let logoutsSending = Promise.resolve();
export function sendLogouts(api, area, key) {
  logoutsSending = logoutsSending.then(() => sendLogoutsOnce(api, area, key)).catch(() => {});
  return logoutsSending;
}
export function logout(api, token, area, key) {
  if (token) store.set(area, key, [...(store.get(area, key) || []), token].slice(-LOGOUT_PENDING_MAX));
  return sendLogouts(api, area, key);
}
