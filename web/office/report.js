// The district committee's fortnightly report (GET /reports/fortnightly, contract C):
// totals beside the previous fortnight with the change, SVG charts, the tables by service,
// zone and agent, medians, overdue cases with their officer, the CSV and the PDF (fetched
// with the bearer token), and a print layout. report.html?district=RPR&period=2026-11-1
// Every figure shown carries data-v (its path in the JSON) and data-raw (the JSON value).
import {
  $, t, h, fill, say, call, nameOf, onLang, setupHeader, requireRole, errorText, statusBadge,
  num, pct, localDay, dateTime, istDate, download, lang,
} from './common.js';
import { columns, rows, stacked, legend } from './charts.js';

const me = requireRole(['committee', 'officer', 'admin']);
const FIGURES = ['booked', 'visited', 'completed', 'cancelled', 'no_show', 'failed', 'sla_met_pct'];
let report = null;
let sealed = null; // {at, sha, blob, totals} or 'none' (404) or null (unknown)
let query = {};
let loads = 0;

// ---- the fortnights offered: the current one and the 23 before it ----
const pad = (n) => String(n).padStart(2, '0');
function fortnight(y, m, half) {
  const last = new Date(Date.UTC(y, m, 0)).getUTCDate();
  return { code: `${y}-${pad(m)}-${half}`, from: `${y}-${pad(m)}-${half === 1 ? '01' : '16'}`, to: `${y}-${pad(m)}-${half === 1 ? '15' : last}` };
}
function fortnights(n = 24) {
  const [y0, m0, d0] = istDate(0).split('-').map(Number);
  let y = y0, m = m0, half = d0 <= 15 ? 1 : 2;
  const out = [];
  for (let i = 0; i < n; i++) {
    out.push({ ...fortnight(y, m, half), current: i === 0 });
    if (--half === 0) { half = 2; if (--m === 0) { m = 12; y--; } }
  }
  return out;
}
const rangeText = (p) => (p ? t('periodRange', { from: localDay(p.from), to: localDay(p.to) }) : t('none'));
const shortRange = (p) => `${localDay(p.from, { day: 'numeric', month: 'short' })} – ${localDay(p.to, { day: 'numeric', month: 'short', year: 'numeric' })}`;

function renderPeriodSelect() {
  const sel = $('#period');
  const list = fortnights();
  const want = query.period || '';
  if (want && !list.some((p) => p.code === want)) {
    const m = /^(\d{4})-(\d{2})-([12])$/.exec(want);
    if (m) list.push(fortnight(Number(m[1]), Number(m[2]), Number(m[3])));
  }
  fill(sel, h('option', { value: '' }, t('periodDefault')),
    list.map((p) => h('option', { value: p.code }, `${shortRange(p)}${p.current ? ` ${t('inProgress')}` : ''}`)));
  sel.value = want;
}

// ---- figures ----
const raw = (v) => JSON.stringify(v ?? null);
const hours = (v) => (v == null ? t('none') : t('hours', { n: num(v, 1) }));
const FMT = { count: (v) => num(v), pct, hours, days: (v) => num(v, Number.isInteger(v) ? 0 : 1) };
function fig(path, value, kind = 'count', tag = 'td') {
  return h(tag, { class: 'n', 'data-v': path, 'data-raw': raw(value) }, FMT[kind](value));
}
function change(cur, prev, kind, better) {
  if (cur == null || prev == null) return h('td', { class: 'n muted' }, t('none'));
  const d = Math.round((cur - prev) * 10) / 10;
  const sign = d > 0 ? '+' : d < 0 ? '−' : '±';
  let text;
  if (kind === 'count') text = `${sign}${num(Math.abs(d))}${prev ? ` (${sign}${num((Math.abs(d) / prev) * 100, 1)} %)` : ''}`;
  else if (kind === 'pct') text = `${sign}${num(Math.abs(d), 1)} ${lang === 'hi' ? 'प्रतिशत अंक' : 'points'}`;
  else text = `${sign}${t('hours', { n: num(Math.abs(d), 1) })}`;
  const good = !better || !d ? null : (d > 0) === (better === 'up');
  return h('td', { class: `n ${good == null ? '' : good ? 'up' : 'down'}`.trim() }, text);
}

// [label key, path, kind, better] grouped under a heading each.
const COMPARE = [
  ['visitsGroup', [
    ['m_booked', 'totals.booked', 'count'], ['m_visited', 'totals.visited', 'count', 'up'], ['m_completed', 'totals.completed', 'count', 'up'],
    ['m_cancelled', 'totals.cancelled', 'count', 'down'], ['m_no_show', 'totals.no_show', 'count', 'down'],
    ['m_failed', 'totals.failed', 'count', 'down'], ['m_sla_met_pct', 'totals.sla_met_pct', 'pct', 'up']]],
  ['mediansTitle', [
    ['m_booking_to_visit', 'median_hours.booking_to_visit', 'hours', 'down'],
    ['m_collection_to_certificate', 'median_hours.collection_to_certificate', 'hours', 'down']]],
  ['smsTitle', [
    ['m_total', 'sms.total', 'count'], ['m_delivered', 'sms.delivered', 'count', 'up'], ['m_sms_failed', 'sms.failed', 'count', 'down'],
    ['m_pending', 'sms.pending', 'count'], ['m_delivery_rate_pct', 'sms.delivery_rate_pct', 'pct', 'up']]],
  ['grievanceReportTitle', [
    ['m_raised', 'grievances.raised', 'count', 'down'], ['m_answered', 'grievances.answered', 'count', 'up'],
    ['m_appealed', 'grievances.appealed', 'count', 'down'], ['m_escalated', 'grievances.escalated', 'count', 'down'],
    ['m_closed', 'grievances.closed', 'count', 'up'], ['m_open_overdue', 'grievances.open_overdue', 'count', 'down']]],
];
const get = (o, path) => path.split('.').reduce((x, k) => (x == null ? undefined : x[k]), o);

// ---- sections ----
function section(id, titleKey, ...kids) {
  return h('section', { id, 'aria-labelledby': `${id}-h` }, h('h2', { id: `${id}-h` }, t(titleKey)), kids);
}
const wrap = (table) => h('div', { class: 'table-wrap' }, table);
const thead = (cols) => h('thead', {}, h('tr', {}, cols.map(([k, c]) => h('th', { scope: 'col', class: c }, t(k)))));

function summarySection(r) {
  const p = r.previous || {};
  const kpi = (key, path, kind) => h('li', {}, fig(path, get(r, path), kind, 'span'), h('span', { class: 'l' }, t(key)),
    h('span', { class: 'p' }, t('vsPrevious', { v: FMT[kind](get(p, path)) })));
  const head = h('div', { class: 'report-head' },
    h('span', { class: 'period', id: 'report-period', 'data-period': r.period.code }, `${nameOf(r.district)} (${r.district.code}) · ${rangeText(r.period)}`),
    r.period.complete === false ? h('span', { class: 'badge reminded' }, t('inProgress').replace(/[()]/g, '')) : null,
    h('span', { class: 'muted' }, t('generatedAt', { at: dateTime(r.generated_at) })));
  const kpis = h('ul', { class: 'kpis' }, kpi('m_booked', 'totals.booked', 'count'), kpi('m_completed', 'totals.completed', 'count'),
    kpi('m_sla_met_pct', 'totals.sla_met_pct', 'pct'), kpi('m_booking_to_visit', 'median_hours.booking_to_visit', 'hours'),
    kpi('m_delivery_rate_pct', 'sms.delivery_rate_pct', 'pct'), kpi('m_raised', 'grievances.raised', 'count'));
  const compare = COMPARE.map(([group, list]) => [group, group === 'smsTitle' && r.sms && 'sent' in r.sms
    ? [...list.slice(0, 2), ['m_sent', 'sms.sent', 'count'], ...list.slice(2)] : list]);
  const body = compare.flatMap(([group, list]) => [
    h('tr', { class: 'agent-row' }, h('th', { colspan: 4, scope: 'rowgroup' }, t(group))),
    list.map(([key, path, kind, better]) => h('tr', { 'data-measure': path },
      h('th', { scope: 'row' }, t(key)), fig(path, get(r, path), kind), fig(`previous.${path}`, get(p, path), kind),
      change(get(r, path), get(p, path), kind, better)))]);
  const table = h('table', { id: 'compare' },
    h('caption', {}, t('totalsTitle')),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, t('measure')),
      h('th', { scope: 'col', class: 'n' }, t('thisPeriod'), h('br'), h('small', {}, shortRange(r.period))),
      h('th', { scope: 'col', class: 'n' }, t('previousPeriod'), h('br'), h('small', {}, p.period ? shortRange(p.period) : '')),
      h('th', { scope: 'col', class: 'n' }, t('change')))),
    h('tbody', {}, body));
  return h('section', { id: 'summary', class: 'first', 'aria-labelledby': 'report-period' }, head, sealedLine(r), kpis, wrap(table));
}

// The copy sealed when the fortnight closed (GET /reports/fortnightly/sealed): its digest, a download, and
// whether the live totals still equal the sealed ones.
function sealedLine(r) {
  if (sealed === 'none') return h('p', { id: 'sealed', class: 'hint', 'data-sealed': 'no' }, t('notSealed'));
  if (!sealed) return null;
  const changed = FIGURES.some((k) => (sealed.totals?.[k] ?? null) !== (r.totals?.[k] ?? null));
  return h('div', { id: 'sealed', class: 'sealed', 'data-sealed': 'yes', 'data-sha256': sealed.sha },
    h('span', { id: 'sealed-text' }, t('sealedOn', { at: dateTime(sealed.at), sha: sealed.sha.slice(0, 16) })), ' ',
    h('button', { type: 'button', id: 'sealed-download', class: 'secondary noprint', onclick: saveSealed }, t('downloadSealed')),
    changed ? h('p', { id: 'sealed-changed', class: 'notice' }, t('sealedChanged')) : null);
}
function saveSealed() {
  if (!sealed?.blob) return;
  const url = URL.createObjectURL(sealed.blob);
  const a = h('a', { href: url, download: fileName('json').replace(/\.json$/, '-sealed.json'), hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
async function loadSealed(n) {
  const r = await call('GET', '/reports/fortnightly/sealed', { query: fileQuery(), as: 'blob', timeout: 60000 });
  if (n !== loads) return;
  if (r.ok) {
    let totals = null;
    try { totals = JSON.parse(await r.data.text()).totals; } catch { /* not JSON: no comparison */ }
    if (n !== loads) return;
    sealed = { at: r.headers.get('X-Mitan-Sealed-At'), sha: r.headers.get('X-Mitan-Sha256') || '', blob: r.data, totals };
  } else if (r.status === 404 && r.error?.code === 'not_sealed') sealed = 'none';
  else return;
  render();
}

function chart(id, titleKey, svg, series, cls = '') {
  const drawn = svg instanceof SVGElement;
  return h('figure', { class: `chart ${cls}`.trim(), 'data-chart': id }, h('figcaption', {}, t(titleKey)), svg, drawn && series ? legend(series) : null);
}

function chartsSection(r) {
  const p = r.previous || {};
  const cur = t('thisPeriod'), prev = t('previousPeriod');
  const totals = columns({ title: t('chartTotals'), cats: FIGURES.slice(0, 6).map((k) => ({ key: k, label: t(`m_${k}`) })),
    series: [{ key: 'current', label: cur, color: 0 }, { key: 'previous', label: prev, color: 2 }],
    value: (c, s) => (s.key === 'current' ? r.totals?.[c.key] : p.totals?.[c.key]) });
  const bc = [{ key: 'booked', label: t('m_booked'), color: 0 }, { key: 'completed', label: t('m_completed'), color: 1 }];
  const zones = r.by_zone?.length ? columns({ title: t('chartZones'), cats: r.by_zone.map((z) => ({ key: z.code, label: nameOf(z) })),
    series: bc, value: (c, s) => r.by_zone.find((z) => z.code === c.key)[s.key] }) : h('p', { class: 'hint' }, t('noData'));
  const top = [...(r.by_service || [])].sort((a, b) => b.booked - a.booked || nameOf(a).localeCompare(nameOf(b))).slice(0, 10);
  const services = top.length ? rows({ title: t('chartServices'), cats: top.map((x) => ({ key: x.code, label: nameOf(x) })),
    series: bc, value: (c, s) => top.find((x) => x.code === c.key)[s.key] }) : h('p', { class: 'hint' }, t('noData'));
  const smsParts = [{ key: 'delivered', label: t('m_delivered'), color: 0 }, { key: 'sent', label: t('m_sent'), color: 2 },
    { key: 'failed', label: t('m_sms_failed'), color: 1 }, { key: 'pending', label: t('m_pending'), color: 3 }];
  const smsRow = (key, label, m) => ({ key, label, headline: m ? pct(m.delivery_rate_pct) : t('none'),
    parts: m ? { ...m, sent: m.sent ?? Math.max(0, (m.total || 0) - (m.delivered || 0) - (m.failed || 0) - (m.pending || 0)) } : {} });
  const sms = stacked({ title: t('chartSms'), parts: smsParts, rowsIn: [smsRow('current', cur, r.sms), smsRow('previous', prev, p.sms)] });
  const tiers = r.grievances?.by_tier || [];
  const gSeries = [{ key: 'raised', label: t('m_raised'), color: 0 }, { key: 'answered', label: t('m_answered'), color: 1 }, { key: 'escalated', label: t('m_escalated'), color: 2 }];
  const griev = tiers.length ? columns({ title: t('chartGrievances'), cats: tiers.map((x) => ({ key: String(x.tier), label: `${x.tier}. ${nameOf(x)}` })),
    series: gSeries, value: (c, s) => tiers.find((x) => String(x.tier) === c.key)[s.key], height: 260 }) : h('p', { class: 'hint' }, t('noData'));
  return section('charts', 'chartsTitle', h('div', { class: 'charts' },
    chart('totals', 'chartTotals', totals, [{ label: `${cur} (${shortRange(r.period)})`, color: 0 }, { label: `${prev}${p.period ? ` (${shortRange(p.period)})` : ''}`, color: 2 }]),
    chart('zones', 'chartZones', zones, bc),
    chart('services', 'chartServices', services, bc),
    chart('grievances', 'chartGrievances', griev, gSeries),
    chart('sms', 'chartSms', sms, smsParts)));
}

const figureCells = (base, row) => FIGURES.map((k) => fig(`${base}.${k}`, row[k], k === 'sla_met_pct' ? 'pct' : 'count'));
const figureHeads = FIGURES.map((k) => [`m_${k}`, 'n']);

function serviceSection(r) {
  const list = [...(r.by_service || [])].sort((a, b) => b.booked - a.booked || nameOf(a).localeCompare(nameOf(b)));
  return section('by-service', 'byServiceTitle', list.length ? wrap(h('table', { id: 'by-service-table' }, thead([['service'], ...figureHeads]),
    h('tbody', {}, list.map((x) => h('tr', { 'data-code': x.code }, h('th', { scope: 'row' }, nameOf(x)), figureCells(`by_service.${x.code}`, x))))))
    : h('p', { class: 'hint' }, t('noData')));
}

function zoneAgentSection(r) {
  const zoneName = (code) => { const z = (r.by_zone || []).find((x) => x.code === code); return z ? nameOf(z) : code; };
  const zones = r.by_zone || [];
  const agents = [...(r.by_agent || [])].sort((a, b) => a.zone.localeCompare(b.zone) || a.code.localeCompare(b.code));
  return section('by-zone', 'byZoneTitle',
    zones.length ? wrap(h('table', { id: 'by-zone-table' }, thead([['zone'], ...figureHeads]),
      h('tbody', {}, zones.map((z) => h('tr', { 'data-code': z.code }, h('th', { scope: 'row' }, `${nameOf(z)} (${z.code})`), figureCells(`by_zone.${z.code}`, z))))))
      : h('p', { class: 'hint' }, t('noData')),
    h('h2', { id: 'by-agent-h' }, t('byAgentTitle')),
    agents.length ? wrap(h('table', { id: 'by-agent-table', 'aria-labelledby': 'by-agent-h' }, thead([['code'], ['name'], ['zone'], ...figureHeads]),
      h('tbody', {}, agents.map((a) => h('tr', { 'data-code': a.code }, h('td', { class: 'ref' }, a.code), h('th', { scope: 'row' }, a.name),
        h('td', {}, zoneName(a.zone)), figureCells(`by_agent.${a.code}`, a))))))
      : h('p', { class: 'hint' }, t('noData')));
}

function overdueSection(r) {
  const svc = (code) => { const x = (r.by_service || []).find((s) => s.code === code); return x ? nameOf(x) : code; };
  const zone = (code) => { const x = (r.by_zone || []).find((s) => s.code === code); return x ? nameOf(x) : code; };
  const list = r.overdue || [];
  return section('overdue', 'overdueTitle', list.length ? wrap(h('table', { id: 'overdue-table' },
    thead([['reference'], ['service'], ['zone'], ['status'], ['due'], ['daysOverdue', 'n'], ['officer']]),
    h('tbody', {}, list.map((o) => h('tr', { 'data-ref': o.reference },
      h('td', { class: 'ref' }, o.reference), h('td', {}, svc(o.service)), h('td', {}, zone(o.zone)), h('td', {}, statusBadge(o.status)),
      h('td', {}, dateTime(o.due_at)), fig(`overdue.${o.reference}.days_overdue`, o.days_overdue, 'days'),
      h('td', { 'data-officer': o.officer?.login || '' }, o.officer ? `${o.officer.name} (${o.officer.login})` : h('span', { class: 'badge attn' }, t('noOfficer'))))))))
    : h('p', { class: 'hint' }, t('noOverdue')));
}

function grievanceSection(r) {
  const tiers = r.grievances?.by_tier || [];
  const cols = ['raised', 'answered', 'escalated'];
  return section('grievance-report', 'grievanceReportTitle', tiers.length ? wrap(h('table', { id: 'tier-table' },
    thead([['tier'], ['name'], ...cols.map((k) => [`m_${k}`, 'n']), ['m_within_limit_pct', 'n']]),
    h('tbody', {}, tiers.map((x) => h('tr', { 'data-tier': x.tier }, h('td', {}, num(x.tier)), h('th', { scope: 'row' }, nameOf(x)),
      cols.map((k) => fig(`grievances.by_tier.${x.tier}.${k}`, x[k])), fig(`grievances.by_tier.${x.tier}.within_limit_pct`, x.within_limit_pct, 'pct'))))))
    : h('p', { class: 'hint' }, t('noData')));
}

function render() {
  const box = $('#report');
  if (!report) return;
  fill(box, summarySection(report), chartsSection(report), serviceSection(report), zoneAgentSection(report),
    overdueSection(report), grievanceSection(report));
  box.setAttribute('aria-busy', 'false');
  box.dataset.period = report.period.code;
  document.title = `${t('reportTitle')} · ${report.district.code} ${report.period.code}`;
}

// ---- loading ----
async function load() {
  const box = $('#report');
  box.setAttribute('aria-busy', 'true');
  for (const b of ['#csv', '#pdf', '#print']) $(b).disabled = true;
  say('');
  const n = ++loads;
  sealed = null;
  const r = await call('GET', '/reports/fortnightly', { query, timeout: 120000 });
  if (n !== loads) return;
  if (!r.ok) {
    report = null;
    box.setAttribute('aria-busy', 'false');
    if (r.status === 404 && r.error?.code === 'not_found' && !query.district) fill(box, h('p', { class: 'notice', id: 'report-unavailable' }, t('reportNotAvailable')));
    else { fill(box); say(errorText(r.error), 'error'); }
    return;
  }
  report = r.data;
  render();
  for (const b of ['#csv', '#pdf', '#print']) $(b).disabled = false;
  loadSealed(n);
}

function readForm() {
  query = {};
  const period = $('#period').value;
  const district = $('#district').value.trim().toUpperCase();
  if (district) query.district = district;
  if (period) query.period = period;
  const q = new URLSearchParams(query);
  history.replaceState(null, '', [...q].length ? `?${q}` : location.pathname);
}

const fileQuery = () => ({ district: report.district.code, period: report.period.code });
const fileName = (ext) => `mitan-report-${report.district.code}-${report.period.code}.${ext}`;

if (me) {
  setupHeader('report');
  const params = new URLSearchParams(location.search);
  if (/^\d{4}-\d{2}-[12]$/.test(params.get('period') || '')) query.period = params.get('period');
  if (params.get('district')) query.district = params.get('district').toUpperCase();
  $('#district').value = query.district || '';
  $('#district-field').hidden = !(me.role === 'admin' || query.district);
  renderPeriodSelect();
  $('#report-form').addEventListener('submit', (e) => { e.preventDefault(); readForm(); load(); });
  $('#period').addEventListener('change', () => { readForm(); load(); });
  $('#csv').addEventListener('click', (e) => report && download('/reports/fortnightly.csv', fileQuery(), fileName('csv'), e.currentTarget));
  $('#pdf').addEventListener('click', (e) => report && download('/reports/fortnightly.pdf', fileQuery(), fileName('pdf'), e.currentTarget));
  $('#print').addEventListener('click', () => window.print());
  onLang(() => { renderPeriodSelect(); render(); });
  load();
}
