// The booking flow of the resident app: a. the service, b. its documents and fee, c. the place
// (address, plus an area, a pin on the map, the current location or typed coordinates), d. the
// window (IST, and the booker's own zone when booking from abroad), the people, f. review and
// book, and the confirmation. app.js loads it for those steps (My bookings and the grievance
// screens do without it); c is app.js's toolbox.
export function setup(c) {
  const { $, h, t, call, say, sayNext, errorText, go, render, store, local, session, draft, saveDraft, sessionInfo,
    money, facts, windowLines, zoneName, IST, isIst, browserTz, displayTz, normalizePhone, uuid,
    slotChooser, fetchSlots, showReceipt } = c;
  const L = c.lang;

  // The areas served, for the area list and the pin map: the zones of the district as the
  // server has them (GET /zones, GeoJSON MultiPolygons), kept like the catalogue.
  const DISTRICT = 'RPR';
  const COMMON_ZONES = ['America/New_York', 'America/Chicago', 'America/Los_Angeles', 'America/Toronto',
    'Europe/London', 'Europe/Berlin', 'Asia/Dubai', 'Asia/Riyadh', 'Asia/Qatar', 'Asia/Singapore',
    'Australia/Sydney', 'Pacific/Auckland', 'Asia/Kolkata'];

  const services = {}; // lang -> array

  // The catalogue as a list: names, fees and departments only (`brief=1`; a server without it
  // sends everything, documents too). Kept an hour in localStorage, so a return visit on a slow
  // network draws at once. The documents of one service come with it (loadService).
  const BRIEF = ['code', 'department', 'name', 'name_en', 'name_hi', 'fee_paise', 'sla_days'];
  const SVC_TTL = 3600e3;
  async function loadServices() {
    if (services[L()]) return services[L()];
    const key = `mitan.services.${L()}`;
    const cached = store.get(local, key);
    if (cached?.list && Date.now() - cached.at < SVC_TTL) return (services[L()] = cached.list);
    const r = await call('GET', `/services?lang=${L()}&brief=1`);
    if (!r.ok) {
      if (cached?.list) return (services[L()] = cached.list); // stale, but usable offline
      throw r.error;
    }
    for (const s of r.data) if (s.documents) full.set(`${L()}|${s.code}`, s);
    services[L()] = r.data.map((s) => Object.fromEntries(BRIEF.map((k) => [k, s[k]])));
    store.set(local, key, { at: Date.now(), list: services[L()] });
    return services[L()];
  }
  const findService = (code) => (services[L()] || []).find((s) => s.code === code);
  const full = new Map(); // `${lang}|${code}` -> the service with its documents
  async function loadService(code) {
    const k = `${L()}|${code}`;
    if (full.has(k)) return full.get(k);
    const r = await call('GET', `/services/${encodeURIComponent(code)}?lang=${L()}`);
    if (r.status === 404) return null;
    if (!r.ok) throw r.error;
    full.set(k, r.data);
    return r.data;
  }

  // Each zone as { code, name_en, name_hi, polys: [[ring of [lon, lat]]], lat, lon, span }:
  // lat/lon is a point inside it (the middle of the widest run across it at mid-height; a
  // centroid can fall outside an L-shaped zone), span that run's width in degrees.
  let zones = null;
  function readZones(fc) {
    const out = [];
    for (const f of fc?.features || []) {
      const g = f.geometry || {}, p = f.properties || {};
      const polys = g.type === 'Polygon' ? [g.coordinates] : g.type === 'MultiPolygon' ? g.coordinates : null;
      if (!polys?.length || !(p.code || f.id)) continue;
      let best = null;
      for (const poly of polys) {
        const [lo, hi] = poly[0].reduce(([a, b], q) => [Math.min(a, q[1]), Math.max(b, q[1])], [90, -90]);
        const y = (lo + hi) / 2, xs = [];
        for (const ring of poly) ring.forEach((a, i) => { const b = ring[(i + 1) % ring.length]; if ((a[1] > y) !== (b[1] > y)) xs.push(a[0] + (y - a[1]) / (b[1] - a[1]) * (b[0] - a[0])); });
        xs.sort((a, b) => a - b);
        for (let i = 0; i + 1 < xs.length; i += 2) if (!best || xs[i + 1] - xs[i] > best.span) best = { lat: y, lon: (xs[i] + xs[i + 1]) / 2, span: xs[i + 1] - xs[i] };
      }
      if (best) out.push({ code: p.code || f.id, name_en: p.name_en, name_hi: p.name_hi, polys, ...best, lat: +best.lat.toFixed(5), lon: +best.lon.toFixed(5) });
    }
    return out;
  }
  async function loadZones() {
    if (zones) return zones;
    const key = 'mitan.zones';
    const cached = store.get(local, key);
    if (cached?.fc && Date.now() - cached.at < SVC_TTL) return (zones = readZones(cached.fc));
    const r = await call('GET', `/zones?district=${DISTRICT}`);
    if (!r.ok) {
      if (cached?.fc) return (zones = readZones(cached.fc));
      throw r.error;
    }
    store.set(local, key, { at: Date.now(), fc: r.data });
    return (zones = readZones(r.data));
  }
  // A zone's name, even before the zones are loaded again (from the cache), else its code.
  function zoneLabel(code) {
    const z = (zones || readZones(store.get(local, 'mitan.zones')?.fc)).find((x) => x.code === code);
    return z ? z[`name_${L()}`] || z.name_en || code : code || '';
  }
  // Even-odd over a polygon's rings: inside the outline and not in a hole.
  const inPoly = (lat, lon, poly) => poly.reduce((n, ring) => ring.reduce((m, a, i) => {
    const b = ring[(i + 1) % ring.length];
    return (a[1] > lat) !== (b[1] > lat) && lon < a[0] + (lat - a[1]) / (b[1] - a[1]) * (b[0] - a[0]) ? !m : m;
  }, n), false);
  const areaAt = (lat, lon) => (zones || []).find((z) => z.polys.some((p) => inPoly(lat, lon, p)))?.code ?? null;

  // ---- a. services ----
  function renderServiceList() {
    const q = $('#q').value.trim().toLowerCase();
    const list = services[L()] || [];
    const groups = new Map();
    let n = 0;
    for (const s of list) {
      const dept = c.has(`dept_${s.department}`) ? s.department : 'other';
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
    const where = draft.via === 'area' ? zoneLabel(draft.area) : draft.via === 'geo' ? t('myLocation')
      : draft.via === 'pin' ? t('pinned', { area: draft.area ? zoneLabel(draft.area) : '' }).replace(/ ?\(\)/, '') : t('typed');
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

  // The pin map: the zones drawn to scale within their bounding box, 112 units wide (no map
  // tiles: nothing to download). A tap puts the pin there; with the keyboard, the arrow keys
  // move it ~200 m (with Shift ~50 m). The chosen place is read out from #loc-chosen.
  let M = null; // { w, s, e, n, kx: a degree of longitude is shorter here, u: units a degree, h }
  const toXY = (lat, lon) => [(lon - M.w) * M.kx * M.u, (M.n - lat) * M.u];
  const onMap = (lat, lon) => M && lat >= M.s && lat <= M.n && lon >= M.w && lon <= M.e;
  function svg(tag, attrs, ...kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    el.append(...kids);
    return el;
  }
  // A ring as path data, leaving out points less than ~1 px from the last one kept.
  function ringPath(ring) {
    let d = '', last = null;
    for (const [lon, lat] of ring) {
      const [x, y] = toXY(lat, lon);
      if (last && Math.abs(x - last[0]) + Math.abs(y - last[1]) < 0.4) continue;
      d += `${d ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
      last = [x, y];
    }
    return `${d}Z`;
  }
  // A name in lines that fit the zone's width (~0.5 em a letter, marks not counted).
  function nameLines(name, width) {
    const max = Math.max(5, Math.floor(width / 2.6)), lines = [];
    for (const w of name.split(/\s+/)) {
      const last = lines.length - 1, len = (x) => x.replace(/\p{M}/gu, '').length;
      if (last >= 0 && len(lines[last]) + 1 + len(w) <= max) lines[last] += ` ${w}`; else lines.push(w);
    }
    return lines;
  }
  function drawMap() {
    M = { w: 180, e: -180, s: 90, n: -90 };
    for (const z of zones) for (const p of z.polys) for (const [lon, lat] of p[0]) {
      M.w = Math.min(M.w, lon); M.e = Math.max(M.e, lon); M.s = Math.min(M.s, lat); M.n = Math.max(M.n, lat);
    }
    M.kx = Math.cos(((M.s + M.n) / 2) * Math.PI / 180);
    M.u = 112 / ((M.e - M.w) * M.kx || 1);
    M.h = (M.n - M.s) * M.u;
    const map = svg('svg', { viewBox: `0 0 112 ${M.h.toFixed(1)}`, 'aria-hidden': 'true', focusable: 'false' });
    for (const z of zones) map.append(svg('path', { d: z.polys.flatMap((p) => p.map(ringPath)).join(''), class: 'zone', 'data-code': z.code }));
    for (const z of zones) {
      const [x, y] = toXY(z.lat, z.lon);
      const lines = nameLines(zoneLabel(z.code), z.span * M.kx * M.u * 0.9);
      map.append(svg('text', { x: x.toFixed(1), y: y.toFixed(1), 'text-anchor': 'middle', class: 'zname' },
        ...lines.map((w, i) => svg('tspan', { x: x.toFixed(1), dy: i ? '1.2em' : `${-(lines.length - 1) * 0.6}em` }, w))));
    }
    map.append(svg('g', { id: 'pin', class: 'pin' }, svg('g', { transform: 'scale(.4)' },
      svg('path', { d: 'M0 0C-5-9-12-14-12-22a12 12 0 1 1 24 0c0 8-7 13-12 22z' }), svg('circle', { cx: 0, cy: -22, r: 4.5 }))));
    map.addEventListener('click', (e) => {
      const r = map.getBoundingClientRect();
      pinAt(M.n - ((e.clientY - r.top) / r.height) * (M.n - M.s), M.w + ((e.clientX - r.left) / r.width) * (M.e - M.w));
    });
    $('#pin-map').replaceChildren(map);
    placePin();
  }
  function placePin() {
    const pin = $('#pin');
    if (!pin) return;
    const inside = draft.lat != null && onMap(+draft.lat, +draft.lon);
    pin.style.display = inside ? '' : 'none';
    if (inside) pin.setAttribute('transform', `translate(${toXY(+draft.lat, +draft.lon).map((v) => v.toFixed(2)).join(' ')})`);
  }
  function pinAt(lat, lon) {
    const clamp = (v, lo, hi) => Math.min(hi - 1e-5, Math.max(lo, v));
    lat = +clamp(lat, M.s, M.n).toFixed(5); lon = +clamp(lon, M.w, M.e).toFixed(5);
    setLocation(lat, lon, 'pin', areaAt(lat, lon));
  }
  function pinKey(e) {
    const d = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] }[e.key];
    if (!d || !M) return;
    e.preventDefault();
    const step = e.shiftKey ? 0.0005 : 0.002;
    if (draft.lat == null || !onMap(+draft.lat, +draft.lon)) pinAt((M.s + M.n) / 2, (M.w + M.e) / 2);
    else pinAt(+draft.lat + d[0] * step, +draft.lon + d[1] * step / M.kx);
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

    async place() {
      $('#address').value = draft.address;
      $('#lat').value = draft.lat ?? ''; $('#lon').value = draft.lon ?? '';
      if (draft.via === 'typed') $('#coords').open = true;
      $('#loc-chosen').textContent = locationText();
      $('#abroad-hint').hidden = isIst(browserTz);
      // the areas and the map come from the server; without them the rest of the step still works
      const box = $('#area-list');
      if (!zones) box.replaceChildren(h('p', { class: 'loading' }, t('loading')));
      try { await loadZones(); } catch (err) {
        box.replaceChildren(h('p', { class: 'msg error' }, t('zonesFailed'), ' ', errorText(err)),
          h('button', { type: 'button', class: 'secondary', onclick: render }, t('retry')));
        $('.pinbox').hidden = true;
        return;
      }
      box.closest('fieldset').hidden = $('.pinbox').hidden = !zones.length;
      box.replaceChildren(...zones.map((z) => h('label', { class: 'choice' },
        h('input', { type: 'radio', name: 'area', value: z.code, checked: draft.area === z.code, onchange: () => setLocation(z.lat, z.lon, 'area', z.code) }),
        ` ${zoneLabel(z.code)}`)));
      $('#loc-chosen').textContent = locationText();
      if (zones.length) drawMap();
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
      $('#ben-lang').value = draft.ben.language || L();
      $('#bk-name').value = draft.bookerName || s?.name || '';
    },

    async review() {
      const [s] = await Promise.all([loadService(draft.service), draft.area && loadZones().catch(() => null)]);
      $('#review-list').replaceChildren(...facts([
        [t('service'), s ? s.name : draft.service],
        [t('window'), windowLines(draft.start, draft.end, displayTz())],
        [t('addressShort'), [draft.address, locationText()]],
        [t('personAtDoor'), [draft.ben.name, normalizePhone(draft.ben.phone),
          draft.abroad ? `${t('smsLang')}: ${t(`lang_${draft.ben.language || L()}`)}` : null]],
        draft.abroad ? [t('booker'), [draft.bookerName, sessionInfo()?.phone, zoneName(draft.tz)]] : null,
        [t('fee'), s ? money(s.fee_paise) : ''],
      ]));
    },

    done() {
      const b = store.get(session, 'mitan.last');
      if (!b) { go('service', { replace: true }); return; }
      $('#done-ref').textContent = b.reference;
      const tz = b.window_local?.booker?.time_zone;
      const svc = b.service || {};
      $('#done-facts').replaceChildren(...facts([
        [t('service'), svc[`name_${L()}`] || svc.name],
        [t('window'), windowLines(b.window.start, b.window.end, tz && !isIst(tz) ? tz : displayTz())],
        [t('addressShort'), b.address],
        [t('personAtDoor'), b.beneficiary?.name],
        [t('fee'), money(b.fee_paise)],
        [t('status'), t(`status_${b.status}`)],
      ]));
      const docs = (b.documents || []).map((d) => ({ ...d, name: d[`name_${L()}`] || d.name, notes: b.lang === L() ? d.notes : null }));
      $('#done-docs').replaceChildren(...docItems(docs));
      $('#done-track').href = b.tracking_url;
      showReceipt(b.reference);
    },

  };

  // ---- f. book ----
  function bookingBody() {
    const s = sessionInfo();
    const body = {
      service: draft.service,
      start: draft.start,
      location: { lat: +draft.lat, lon: +draft.lon },
      address: draft.address.trim(),
      beneficiary: { name: draft.ben.name.trim(), phone: normalizePhone(draft.ben.phone), language: draft.abroad ? (draft.ben.language || L()) : L() },
    };
    // The booker is the signed-in resident; a resident's booker.phone must be their own, so it is left out.
    if (draft.abroad) body.booker = { name: draft.bookerName.trim() || undefined, time_zone: draft.tz, language: L() };
    else body.booker = { name: body.beneficiary.phone === s?.phone ? body.beneficiary.name : undefined, language: L() };
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
    const r = await call('POST', `/bookings?lang=${L()}`, { auth: true, body: text, headers: { 'Idempotency-Key': draft.idem.key }, timeout: 45000 });
    booking = false;
    btn.disabled = false; btn.removeAttribute('aria-busy'); btn.textContent = t('confirmBooking');
    if (r.ok) {
      store.set(session, 'mitan.last', { ...r.data, lang: L() });
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
    // no reply: it may or may not have been booked; the same key makes a retry safe
    say(r.status === 0 ? t('errBookNetwork') : errorText(r.error), 'error');
  }

  // ---- events ----
  function wire() {
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

    $('#book').addEventListener('click', book);
    $('#book-another').addEventListener('click', () => { draft.service = null; draft.start = null; saveDraft(); });
  }

  function refreshSlotTimes() {
    tzNote();
    const box = $('#slot-list');
    if (box.lastSlots?.length) box.replaceChildren(slotChooser(box.lastSlots, { name: 'slot' }));
  }

  wire();
  return VIEWS;
}
