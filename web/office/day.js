// The nodal officer's day: visits per zone and agent with their status and planned arrival,
// unplaced visits, marking an agent unavailable (their visits are reassigned and the outcome
// shown; the days off come from the server), SMS dead letters (sent again from here), SLA
// breaches, certificates to deliver, re-planning the day and answering grievances.
// The date and zone are in the URL (day.html?date=YYYY-MM-DD&zone=RPR-Z1).
import {
  $, t, h, fill, say, call, busy, nameOf, onLang, setupHeader, requireRole, errorText, statusBadge,
  clock, windowText, dayText, shortDateTime, istDate, num, localDay,
} from './common.js';

const me = requireRole(['officer', 'admin']);
const data = { zones: [], services: {}, agents: null, plans: null, unplaced: null, sla: null, dead: null, certs: null, grievances: null };
const moves = new Map();   // reference -> agent code it was moved to in this session
let lastOutcome = null;    // what the outcome panel shows, re-rendered on a language change
const REASONS = { hi: ['बीमार', 'छुट्टी', 'वाहन ख़राब', 'प्रशिक्षण'], en: ['Sick', 'On leave', 'Vehicle broken down', 'Training'] };

const zoneName = (code) => { const z = data.zones.find((x) => x.code === code); return z ? nameOf(z) : code; };
const serviceName = (x) => { const code = x?.code || x; return data.services[code] ? nameOf(data.services[code]) : code; };
const agentOf = (code) => data.agents?.find((a) => a.code === code);
const agentLabel = (code) => { const a = agentOf(code); return a ? `${a.name} (${a.code})` : code; };
const selected = () => ({ date: $('#date').value, zone: $('#zone').value });
// The agent's day off on `date` as the server has it (GET /admin/agents: days from today).
const offOn = (a, date) => a?.unavailable?.find((u) => u.date === date);
const offBadge = (off) => h('span', { class: 'badge unavail', 'data-off': off.date },
  `${t('offOn', { date: localDay(off.date, { day: 'numeric', month: 'short' }) })}: ${off.reason}`);
const failed = (r) => h('p', { class: 'msg error' }, errorText(r.error));
const cell = (v, cls) => h('td', { class: cls }, v);
const table = (cls, heads, rows, label) => h('div', { class: 'table-wrap' },
  h('table', { class: cls, 'aria-label': label },
    h('thead', {}, h('tr', {}, heads.map(([k, c]) => h('th', { scope: 'col', class: c }, t(k))))), rows));

// ---- loading ----
async function loadOnce() {
  const [z, s] = await Promise.all([call('GET', '/admin/zones'), call('GET', '/services')]);
  if (z.ok) data.zones = z.data.features.map((f) => f.properties).sort((a, b) => a.code.localeCompare(b.code));
  if (s.ok) for (const x of s.data) data.services[x.code] = x;
  renderZoneSelect();
}

async function loadGrievances() {
  data.grievances = await call('GET', '/grievances', { query: { status: $('#g-filter').value } });
}

let loading = 0; // only the newest load draws
async function load() {
  const seq = ++loading;
  const { date, zone } = selected();
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) { say(t('errDate'), 'error'); $('#date').focus(); return; }
  const q = new URLSearchParams({ date });
  if (zone) q.set('zone', zone);
  history.replaceState(null, '', `?${q}`);
  $('#print-head').textContent = `${dayText(`${date}T12:00:00+05:30`)} · ${zone ? zoneName(zone) : t('allZones')}`;
  const all = $('#unplaced-all').checked;
  const [plans, agents, unplaced, sla, dead, certs] = await Promise.all([
    call('GET', '/admin/plans', { query: { date, zone } }),
    call('GET', '/admin/agents'),
    call('GET', '/admin/unplaced', { query: { date: all ? null : date } }),
    call('GET', '/admin/sla'),
    call('GET', '/admin/sms/dead-letters'),
    call('GET', '/bookings', { query: { status: 'certificate_ready' } }),
    loadGrievances(),
  ]);
  if (seq !== loading) return;
  Object.assign(data, { plans, unplaced, sla, dead, certs });
  if (agents.ok) data.agents = agents.data;
  renderAll();
}

// ---- rendering ----
function renderAll() {
  renderSummary();
  renderVisits();
  renderUnplaced();
  renderSla();
  renderDead();
  renderCerts();
  renderGrievances();
  renderAgents();
  if (lastOutcome) lastOutcome();
}

function renderZoneSelect() {
  const sel = $('#zone');
  const keep = sel.value || new URLSearchParams(location.search).get('zone') || '';
  fill(sel, h('option', { value: '' }, t('allZones')),
    data.zones.map((z) => h('option', { value: z.code }, `${nameOf(z)} (${z.code})`)));
  sel.value = keep;
}

const inZone = (code) => !selected().zone || code === selected().zone;
const planVisits = () => (data.plans?.ok ? data.plans.data.flatMap((z) => z.agents.flatMap((a) => a.visits.map((v) => ({ ...v, agent: a.code, zone: z.zone })))) : []);
const slaBreaches = () => (data.sla?.ok ? data.sla.data.filter((c) => inZone(c.zone) && (c.state !== 'on_time' || c.elapsed_percent >= 100)) : []);

function renderSummary() {
  const visits = planVisits();
  const live = visits.filter((v) => !['cancelled', 'rescheduled'].includes(v.status));
  const agentsActive = (data.agents || []).filter((a) => a.active && inZone(a.zone)).length;
  const busyAgents = new Set(live.map((v) => v.agent)).size;
  const unplaced = data.unplaced?.ok ? data.unplaced.data.filter((u) => inZone(u.zone)).length : null;
  const dead = data.dead?.ok ? data.dead.data.length : null;
  const g = data.grievances?.ok ? data.grievances.data.length : null;
  const cards = [
    ['sumVisits', live.length, false, 'visits'],
    ['sumAgents', `${busyAgents} / ${agentsActive}`, false, 'agents'],
    ['sumUnplaced', unplaced, unplaced > 0, 'unplaced'],
    ['sumSla', data.sla?.ok ? slaBreaches().length : null, slaBreaches().length > 0, 'sla'],
    ['sumDead', dead, dead > 0, 'dead'],
    [$('#g-filter').value === 'open' ? 'sumGrievances' : 'grievancesTitle', g, g > 0 && $('#g-filter').value === 'open', 'grievances'],
  ];
  fill($('#summary'), cards.map(([k, n, alert, id]) =>
    h('li', { class: alert ? 'alert' : null, 'data-card': id },
      h('span', { class: 'n' }, n == null ? t('none') : typeof n === 'number' ? num(n) : n), h('span', { class: 'l' }, t(k)))));
}

function visitRow(v, agentCode) {
  const movable = ['booked', 'assigned'].includes(v.status);
  const moved = moves.get(v.reference);
  return h('tr', { 'data-ref': v.reference, 'data-status': v.status, class: moved ? 'moved' : null },
    cell(v.route_order == null ? t('none') : num(v.route_order), 'n'),
    h('td', {}, h('span', { class: 'ref' }, v.reference), moved ? [' ', h('span', { class: 'badge moved' }, t('movedBadge'))] : null),
    cell(serviceName(v.service)),
    cell(windowText(v.window), 'n'),
    h('td', { class: 'n', 'data-arrival': v.planned_arrival || '' }, v.planned_arrival ? clock(v.planned_arrival) : t('none')),
    h('td', {}, statusBadge(v.status)),
    h('td', {}, v.needs_attention ? h('span', { class: 'badge attn' }, t(`st_${v.needs_attention}`)) : ''),
    h('td', { class: 'noprint' }, movable
      ? h('button', { type: 'button', class: 'secondary small', onclick: (e) => openReassign({ ...v, agent: agentCode }, e.currentTarget),
        'aria-label': `${t('reassign')} ${v.reference}` }, t('reassign'))
      : ''));
}

function agentBlock(code, visits, date) {
  const a = agentOf(code) || { code, name: code, active: true };
  const off = offOn(a, date);
  const live = visits.filter((v) => !['cancelled', 'rescheduled'].includes(v.status));
  return h('tbody', { 'data-agent': code },
    h('tr', { class: 'agent-row' }, h('th', { colspan: 8, scope: 'rowgroup' },
      h('div', { class: 'agent-head' },
        h('span', { class: 'who' }, a.name), h('span', { class: 'code' }, code),
        h('span', { class: 'muted', 'data-count': live.length }, t('agentVisits', { n: num(live.length) })),
        a.active ? null : h('span', { class: 'badge unavail' }, t('inactive')),
        off ? offBadge(off) : null,
        a.active ? h('button', { type: 'button', class: 'danger small noprint', 'data-unavailable': code,
          onclick: (e) => openUnavailable(a, e.currentTarget) }, t('markUnavailable')) : null))),
    visits.length ? visits.map((v) => visitRow(v, code))
      : h('tr', {}, h('td', { colspan: 8, class: 'muted' }, t('noVisits'))));
}

function renderVisits() {
  const box = $('#visits');
  const r = data.plans;
  if (!r) return;
  if (!r.ok) { fill(box, failed(r)); $('#visits-count').textContent = ''; return; }
  const { date } = selected();
  let total = 0;
  const heads = [['order', 'n'], ['reference'], ['service'], ['window', 'n'], ['arrival', 'n'], ['status'], ['attention'], ['actions', 'noprint']];
  fill(box, r.data.map((z) => {
    const byCode = new Map(z.agents.map((a) => [a.code, a.visits]));
    for (const a of data.agents || []) if (a.zone === z.zone && !byCode.has(a.code)) byCode.set(a.code, []);
    const codes = [...byCode.keys()].sort();
    total += z.agents.reduce((n, a) => n + a.visits.filter((v) => !['cancelled', 'rescheduled'].includes(v.status)).length, 0);
    const id = `zone-${z.zone}`;
    return h('div', { class: 'zone', 'data-zone': z.zone },
      h('h3', { id }, `${zoneName(z.zone)} (${z.zone})`,
        h('small', {}, z.last_run ? t('lastRun', { at: shortDateTime(z.last_run.at), km: num(z.last_run.travel_km, 1) }) : t('notPlanned'))),
      h('div', { class: 'table-wrap' }, h('table', { 'aria-labelledby': id },
        h('thead', {}, h('tr', {}, heads.map(([k, c]) => h('th', { scope: 'col', class: c }, t(k))))),
        codes.map((c) => agentBlock(c, byCode.get(c), date)))));
  }));
  if (!r.data.length) fill(box, h('p', { class: 'hint' }, t('noVisits')));
  $('#visits-count').textContent = t('agentVisits', { n: num(total) });
}

function renderUnplaced() {
  const r = data.unplaced;
  if (!r) return;
  const box = $('#unplaced');
  if (!r.ok) { fill(box, failed(r)); return; }
  const rows = r.data.filter((u) => inZone(u.zone));
  $('#unplaced-count').textContent = num(rows.length);
  if (!rows.length) { fill(box, h('p', { class: 'hint' }, t('noUnplaced'))); return; }
  const all = $('#unplaced-all').checked;
  fill(box, table('unplaced', [['reference'], ['service'], ['window'], ['agent'], ['attention'], ['actions', 'noprint']],
    h('tbody', {}, rows.map((u) => h('tr', { 'data-ref': u.reference },
      h('td', {}, h('span', { class: 'ref' }, u.reference)),
      h('td', {}, serviceName(u.service), h('div', { class: 'muted' }, zoneName(u.zone))),
      h('td', {}, all ? h('div', {}, dayText(u.window.start)) : null, windowText(u.window)),
      cell(u.agent ? agentLabel(u.agent) : t('none')),
      h('td', {}, h('span', { class: 'badge attn' }, t(`st_${u.needs_attention}`)), u.since ? h('div', { class: 'muted' }, `${t('since')} ${shortDateTime(u.since)}`) : null),
      h('td', { class: 'noprint' }, h('button', { type: 'button', class: 'secondary small', 'aria-label': `${t('reassign')} ${u.reference}`,
        onclick: (e) => openReassign(u, e.currentTarget) }, t('reassign')))))), t('unplacedTitle')));
}

function renderSla() {
  const r = data.sla;
  if (!r) return;
  const box = $('#sla');
  if (!r.ok) { fill(box, failed(r)); return; }
  const rows = $('#sla-filter').value === 'all' ? r.data.filter((c) => inZone(c.zone)) : slaBreaches();
  $('#sla-count').textContent = num(rows.length);
  if (!rows.length) { fill(box, h('p', { class: 'hint' }, t('noSla'))); return; }
  fill(box, table('sla', [['reference'], ['service'], ['status'], ['due'], ['officer'], ['actions', 'noprint']],
    h('tbody', {}, rows.map((c) => {
      const late = c.elapsed_percent >= 100;
      return h('tr', { 'data-ref': c.reference, 'data-state': c.state },
        h('td', {}, h('span', { class: 'ref' }, c.reference)),
        h('td', {}, serviceName(c.service), h('div', { class: 'muted' }, zoneName(c.zone))),
        h('td', {}, statusBadge(c.status)),
        h('td', {}, shortDateTime(c.due_at), h('div', { class: 'nowrap' }, h('span', { class: `meter${late ? ' late' : ''}`, 'aria-hidden': 'true' },
          h('span', { style: `width:${Math.min(100, Math.max(0, c.elapsed_percent))}%` })), `${num(c.elapsed_percent, 0)} %`)),
        h('td', {}, c.state !== 'on_time' ? h('span', { class: `badge ${c.state}` }, t(`slaState_${c.state}`)) : null,
          late ? [' ', h('span', { class: 'badge overdue' }, t('overdueBadge'))] : null,
          h('div', { class: 'muted' }, c.officer ? c.officer.name : t('none'))),
        h('td', { class: 'noprint' }, NEXT[c.status] ? h('button', { type: 'button', class: 'secondary small', 'aria-label': `${t('nextStep')} ${c.reference}`,
          onclick: (e) => openStatus(c, e.currentTarget) }, t('nextStep')) : ''));
    })), t('slaTitle')));
}

function renderDead() {
  const r = data.dead;
  if (!r) return;
  const box = $('#dead');
  if (!r.ok) { fill(box, failed(r)); return; }
  $('#dead-count').textContent = num(r.data.length);
  if (!r.data.length) { fill(box, h('p', { class: 'hint' }, t('noDead'))); return; }
  fill(box, table('dead', [['failedAt'], ['to'], ['attempts', 'n'], ['error'], ['actions', 'noprint']],
    h('tbody', {}, r.data.map((m) => h('tr', { 'data-id': m.id },
      cell(shortDateTime(m.failed_at)),
      h('td', {}, h('span', { class: 'nowrap' }, m.to), h('div', { class: 'muted' }, `${m.template} · ${m.language}`)),
      cell(num(m.attempts), 'n'),
      h('td', {}, m.error || t('none'), m.reference ? h('div', {}, h('span', { class: 'ref' }, m.reference)) : null),
      h('td', { class: 'noprint' }, h('button', { type: 'button', class: 'secondary small', 'data-retry': m.id,
        'aria-label': t('sendAgainTo', { to: m.to }), onclick: (e) => retryDead(m, e.currentTarget) }, t('sendAgain')))))), t('deadTitle')));
}

// POST /admin/sms/dead-letters/{id}/retry: queued again (200), or no longer a dead letter (409),
// then the list is fetched again either way.
async function retryDead(m, button) {
  busy(button, true, t('sendingAgain'));
  const r = await call('POST', `/admin/sms/dead-letters/${encodeURIComponent(m.id)}/retry`);
  if (r.ok) say(t('deadRetried', { to: m.to }), 'ok');
  else if (r.error?.code === 'wrong_state') say(t('deadWrongState', { to: m.to }), 'error');
  else if (r.status === 404) say(t('deadNotFound'), 'error');
  else { busy(button, false); say(errorText(r.error), 'error'); return; }
  const dead = await call('GET', '/admin/sms/dead-letters');
  if (dead.ok || !data.dead?.ok) data.dead = dead;
  renderDead();
  renderSummary();
  $('#dead-title').focus();
}

function renderCerts() {
  const r = data.certs;
  if (!r) return;
  const box = $('#certs');
  if (!r.ok) { $('#certs-count').textContent = ''; fill(box, failed(r)); return; }
  const rows = r.data.filter((b) => inZone(b.zone));
  $('#certs-count').textContent = num(rows.length);
  if (!rows.length) { fill(box, h('p', { class: 'hint' }, t('noCerts'))); return; }
  fill(box, table('certs', [['reference'], ['service'], ['window'], ['actions', 'noprint']],
    h('tbody', {}, rows.map((b) => h('tr', { 'data-ref': b.reference },
      h('td', {}, h('span', { class: 'ref' }, b.reference)),
      h('td', {}, serviceName(b.service), h('div', { class: 'muted' }, zoneName(b.zone))),
      h('td', {}, h('div', {}, dayText(b.window.start)), windowText(b.window)),
      h('td', { class: 'noprint' }, h('button', { type: 'button', class: 'secondary small', 'aria-label': `${t('nextStep')} ${b.reference}`,
        onclick: (e) => openStatus(b, e.currentTarget) }, t('nextStep')))))), t('certsTitle')));
}

function renderAgents() {
  const box = $('#agents');
  if (!data.agents) { fill(box, h('p', { class: 'msg error' }, errorText({ code: 'network' }))); return; }
  const counts = new Map();
  for (const v of planVisits()) if (!['cancelled', 'rescheduled'].includes(v.status)) counts.set(v.agent, (counts.get(v.agent) || 0) + 1);
  const rows = data.agents.filter((a) => inZone(a.zone));
  $('#agents-count').textContent = num(rows.length);
  const { date } = selected();
  fill(box, table('agents', [['code'], ['name'], ['zone'], ['phone'], ['skills'], ['visitsOnDay', 'n'], ['actions', 'noprint']],
    h('tbody', {}, rows.map((a) => h('tr', { 'data-agent': a.code },
      h('td', {}, h('span', { class: 'ref' }, a.code)),
      h('td', {}, a.name, a.active ? null : [' ', h('span', { class: 'badge unavail' }, t('inactive'))],
        offOn(a, date) ? [' ', offBadge(offOn(a, date))] : null),
      cell(zoneName(a.zone)),
      cell(a.phone || t('none')),
      cell(a.skills?.includes('*') ? t('allSkills') : (a.skills || []).map(serviceName).join(', ')),
      cell(num(counts.get(a.code) || 0), 'n'),
      h('td', { class: 'noprint' }, a.active ? h('button', { type: 'button', class: 'danger small', 'aria-label': t('markUnavailableOf', { agent: a.name }),
        onclick: (e) => openUnavailable(a, e.currentTarget) }, t('markUnavailable')) : '')))), t('agentsTitle')));
}

// ---- grievances (contract B; a server without them answers 404) ----
const gKind = (k) => t(`kind_${k}`);
const tierName = (g) => (g.tier_name_en || g.tier_name_hi ? nameOf({ name_en: g.tier_name_en, name_hi: g.tier_name_hi }) : g.tier_name || '');

function renderGrievances() {
  const r = data.grievances;
  if (!r) return;
  const box = $('#grievances');
  if (!r.ok) {
    $('#grievances-count').textContent = '';
    fill(box, r.status === 404 ? h('p', { class: 'notice', id: 'grievances-unavailable' }, t('grievancesUnavailable')) : failed(r));
    return;
  }
  $('#grievances-count').textContent = num(r.data.length);
  if (!r.data.length) { fill(box, h('p', { class: 'hint' }, t('noGrievances'))); return; }
  fill(box, r.data.map((g) => {
    const late = g.overdue ?? (g.status === 'open' && g.due_at && Date.parse(g.due_at) < Date.now());
    const form = g.status === 'open' ? answerForm(g) : null;
    const facts = [`${t('booking')}: ${typeof g.booking === 'object' ? g.booking?.reference : g.booking}`, g.service ? serviceName(g.service) : null, g.zone ? zoneName(g.zone) : null,
      g.handler?.name ? `${t('handler')}: ${g.handler.name}` : null].filter(Boolean).join(' · ');
    return h('article', { class: 'grievance', 'data-ref': g.reference, 'data-status': g.status },
      h('header', {}, h('strong', { class: 'ref' }, g.reference), h('span', { class: 'badge' }, gKind(g.kind)),
        h('span', {}, `${t('tier')} ${g.tier}: ${tierName(g)}`), h('span', { class: 'badge' }, t(`gStatus_${g.status}`)),
        g.flagged ? h('span', { class: 'badge overdue' }, t('flagged')) : null,
        g.due_at && g.status === 'open' ? h('span', { class: late ? 'badge overdue' : 'muted' }, `${t('due')}: ${shortDateTime(g.due_at)}`) : null),
      h('p', { class: 'muted' }, facts),
      g.description ? h('p', { class: 'desc' }, g.description) : null,
      g.answer ? h('p', { class: 'desc' }, h('strong', {}, `${t(g.decision === 'upheld' ? 'upheld' : 'rejectedDecision')}: `), g.answer) : null,
      g.links?.length ? h('p', { class: 'muted' }, `${t('links')}: ${g.links.map((l) => (typeof l === 'object' ? l.reference : l)).join(', ')}`) : null,
      g.events?.length ? h('details', {}, h('summary', {}, t('history')), h('ul', {}, g.events.map((e) =>
        h('li', {}, `${shortDateTime(e.at)} · ${t(`gEvent_${e.action}`)}${e.tier ? ` (${t('tier')} ${e.tier}${e.to_tier ? ` → ${e.to_tier}` : ''})` : ''}`
          + `${e.by_name ? ` · ${e.by_name}` : ''}${e.note ? `: ${e.note}` : ''}`)))) : null,
      form);
  }));
}

function answerForm(g) {
  const id = `ans-${g.reference}`;
  const msg = h('div', { class: 'msg', role: 'alert' });
  const note = h('textarea', { id: `${id}-note`, rows: 2, maxlength: 1000, required: true });
  const button = h('button', { type: 'submit', class: 'small' }, t('sendAnswer'));
  const form = h('form', { class: 'stack', novalidate: true, 'aria-label': `${t('answer')} ${g.reference}` },
    h('fieldset', {}, h('legend', {}, t('decision')),
      h('label', { class: 'inline-label' }, h('input', { type: 'radio', name: `${id}-d`, value: 'upheld' }), t('upheld')),
      h('label', { class: 'inline-label' }, h('input', { type: 'radio', name: `${id}-d`, value: 'rejected' }), t('rejectedDecision'))),
    h('label', { for: note.id }, t('note')), note, msg, h('p', { class: 'actions' }, button));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const decision = form.querySelector('input[type=radio]:checked')?.value;
    const text = note.value.trim();
    if (!decision || !text) { msg.className = 'msg error'; msg.textContent = t('errDecision'); return; }
    busy(button, true);
    const r = await call('POST', `/grievances/${encodeURIComponent(g.reference)}/answer`, { body: { decision, note: text } });
    busy(button, false);
    if (!r.ok) { msg.className = 'msg error'; msg.textContent = errorText(r.error); return; }
    say(t('answered', { ref: g.reference }), 'ok');
    await loadGrievances();
    renderGrievances();
    renderSummary();
  });
  return h('details', { class: 'noprint' }, h('summary', {}, t('answer')), form);
}

// ---- marking an agent unavailable ----
let unavailFor = null, returnFocus = null;
function openUnavailable(agent, from) {
  unavailFor = agent;
  returnFocus = from;
  $('#unavail-title').textContent = t('markUnavailableOf', { agent: `${agent.name} (${agent.code})` });
  $('#unavail-intro').textContent = t('unavailableIntro', { agent: agent.name });
  $('#unavail-date').value = selected().date;
  $('#unavail-reason').value = '';
  fill($('#reasons'), REASONS[document.documentElement.lang === 'en' ? 'en' : 'hi'].map((x) => h('option', { value: x })));
  say2('#unavail-msg', '');
  $('#unavail-dlg').showModal();
  $('#unavail-reason').focus();
}
function say2(sel, text) { const m = $(sel); m.className = text ? 'msg error' : 'msg'; m.textContent = text; }

$('#unavail-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const agent = unavailFor;
  const date = $('#unavail-date').value;
  const reason = $('#unavail-reason').value.trim();
  if (!reason) { say2('#unavail-msg', t('errReason')); $('#unavail-reason').focus(); return; }
  if (!/^\d{4}-\d{2}-\d{2}$/.test(date)) { say2('#unavail-msg', t('errDate')); return; }
  const button = $('#unavail-ok');
  busy(button, true, t('loading'));
  const r = await call('POST', `/admin/agents/${encodeURIComponent(agent.code)}/unavailable`, { body: { date, reason }, timeout: 120000 });
  busy(button, false);
  if (!r.ok) { say2('#unavail-msg', errorText(r.error)); return; }
  $('#unavail-dlg').close();
  for (const m of r.data.moved) moves.set(m.reference, m.to);
  lastOutcome = () => showUnavailableOutcome(r.data);
  lastOutcome();
  await load();
  $('#outcome').focus();
});
$('#unavail-cancel').addEventListener('click', () => $('#unavail-dlg').close());
$('#unavail-dlg').addEventListener('close', () => returnFocus?.isConnected && returnFocus.focus());

function showUnavailableOutcome(o) {
  const refItem = (ref, zone) => h('li', { 'data-ref': ref }, h('span', { class: 'ref' }, ref), ' ',
    h('button', { type: 'button', class: 'secondary small', onclick: (e) => openReassign({ reference: ref, agent: o.agent, zone: zone || agentOf(o.agent)?.zone }, e.currentTarget) }, t('reassign')));
  $('#outcome-title').textContent = t('outcomeTitle', { agent: agentLabel(o.agent), date: localDay(o.date) });
  const parts = [h('p', { class: 'muted' }, `${t('reason')}: ${o.reason}`)];
  if (!o.moved.length && !o.unplaced.length && !o.frozen.length) parts.push(h('p', { id: 'outcome-none' }, t('outcomeNone')));
  if (o.moved.length) parts.push(h('h3', {}, t('outcomeMoved', { n: num(o.moved.length) })),
    h('ul', { id: 'outcome-moved' }, o.moved.map((m) => h('li', { 'data-ref': m.reference, 'data-to': m.to },
      h('span', { class: 'ref' }, m.reference), ` → ${agentLabel(m.to)}`))));
  if (o.unplaced.length) parts.push(h('h3', {}, t('outcomeUnplaced', { n: num(o.unplaced.length) })), h('ul', { id: 'outcome-unplaced' }, o.unplaced.map((x) => refItem(x))));
  if (o.frozen.length) parts.push(h('h3', {}, t('outcomeFrozen', { n: num(o.frozen.length) })), h('ul', { id: 'outcome-frozen' }, o.frozen.map((x) => refItem(x))));
  fill($('#outcome-body'), parts);
  $('#outcome').dataset.kind = 'unavailable';
  $('#outcome').hidden = false;
}

// ---- reassigning one visit ----
let reassignFor = null;
function openReassign(v, from) {
  reassignFor = v;
  returnFocus = from;
  $('#reassign-title').textContent = t('reassignTitle', { ref: v.reference });
  $('#reassign-info').textContent = [v.zone ? zoneName(v.zone) : null, v.service ? serviceName(v.service) : null,
    v.window ? `${dayText(v.window.start)} ${windowText(v.window)}` : null, v.agent ? `${t('agent')}: ${agentLabel(v.agent)}` : null]
    .filter(Boolean).join(' · ');
  const choices = (data.agents || []).filter((a) => a.active && a.code !== v.agent && (!v.zone || a.zone === v.zone));
  fill($('#reassign-agent'), h('option', { value: '' }, t('bestAvailable')), choices.map((a) => h('option', { value: a.code }, `${a.name} (${a.code})`)));
  say2('#reassign-msg', '');
  $('#reassign-dlg').showModal();
  $('#reassign-agent').focus();
}
$('#reassign-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const ref = reassignFor.reference;
  const agent = $('#reassign-agent').value;
  const button = $('#reassign-ok');
  busy(button, true, t('loading'));
  const r = await call('POST', `/admin/bookings/${encodeURIComponent(ref)}/reassign`, { body: agent ? { agent } : {} });
  busy(button, false);
  if (!r.ok) { say2('#reassign-msg', errorText(r.error)); return; }
  $('#reassign-dlg').close();
  const to = r.data.agent?.code || agent;
  moves.set(ref, to);
  say(t('reassignDone', { ref, agent: agentLabel(to) }), 'ok');
  await load();
});
$('#reassign-cancel').addEventListener('click', () => $('#reassign-dlg').close());
$('#reassign-dlg').addEventListener('close', () => returnFocus?.isConnected && returnFocus.focus());

// ---- the office's steps after the visit (POST /admin/bookings/{ref}/status) ----
const NEXT = { documents_collected: ['submitted'], completed: ['submitted'], submitted: ['certificate_ready', 'rejected'], certificate_ready: ['delivered'] };
let statusFor = null;
function openStatus(b, from) {
  statusFor = b;
  returnFocus = from;
  const choices = NEXT[b.status] || [];
  $('#status-title').textContent = t('statusTitle', { ref: b.reference });
  $('#status-info').textContent = [t('currentStatus', { status: t(`st_${b.status}`) }), b.service ? serviceName(b.service) : null,
    b.zone ? zoneName(b.zone) : null].filter(Boolean).join(' · ');
  fill($('#status-choices'), h('legend', {}, t('newStatus')), choices.length
    ? choices.map((st, i) => h('label', { class: 'inline-label' }, h('input', { type: 'radio', name: 'status', value: st, checked: choices.length === 1 && i === 0 }), t(`st_${st}`)))
    : h('p', { class: 'hint' }, t('noNextStep')));
  $('#status-ok').disabled = !choices.length;
  $('#status-note').value = '';
  say2('#status-msg', '');
  $('#status-dlg').showModal();
  ($('#status-choices input') || $('#status-cancel')).focus();
}
$('#status-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const ref = statusFor.reference;
  const status = $('#status-choices input:checked')?.value;
  if (!status) { say2('#status-msg', t('errStatus')); return; }
  const note = $('#status-note').value.trim();
  const button = $('#status-ok');
  busy(button, true, t('loading'));
  const r = await call('POST', `/admin/bookings/${encodeURIComponent(ref)}/status`, { body: note ? { status, note } : { status } });
  busy(button, false);
  if (!r.ok) { say2('#status-msg', errorText(r.error)); return; }
  $('#status-dlg').close();
  say(t('statusDone', { ref, status: t(`st_${r.data.status}`) }), 'ok');
  await load();
});
$('#status-cancel').addEventListener('click', () => $('#status-dlg').close());
$('#status-dlg').addEventListener('close', () => returnFocus?.isConnected && returnFocus.focus());

async function findBooking(e) {
  const ref = $('#find-ref').value.trim().toUpperCase();
  if (!/^MT-[A-Z0-9]{4}-[A-Z0-9]{4}-[A-Z0-9]{4}$/.test(ref)) { say(t('errFind'), 'error'); $('#find-ref').focus(); return; }
  const r = await call('GET', `/bookings/${encodeURIComponent(ref)}`);
  if (!r.ok) { say(errorText(r.error), 'error'); return; }
  say('');
  if (['booked', 'assigned'].includes(r.data.status)) openReassign({ ...r.data, agent: r.data.agent?.code }, e?.currentTarget);
  else openStatus(r.data, $('#find'));
}

// ---- re-planning the day ----
$('#replan').addEventListener('click', async (e) => {
  const { date, zone } = selected();
  const button = e.currentTarget;
  busy(button, true, t('replanning'));
  say(t('replanning'));
  const r = await call('POST', '/admin/plans', { body: zone ? { date, zone } : { date }, timeout: 15 * 60000 });
  busy(button, false);
  if (!r.ok) { say(errorText(r.error), 'error'); return; }
  say(t('replanDone'), 'ok');
  lastOutcome = () => showReplan(r.data, date);
  lastOutcome();
  await load();
});
function showReplan(rows, date) {
  $('#outcome-title').textContent = `${t('replanTable')} · ${localDay(date)}`;
  fill($('#outcome-body'), h('div', { class: 'table-wrap' }, h('table', { id: 'replan-table' },
    h('thead', {}, h('tr', {}, [['zone'], ['sumVisits', 'n'], ['sumAgents', 'n'], ['planRouted', 'n'], ['planMoved', 'n'],
      ['planUnroutable', 'n'], ['planKm', 'n'], ['planSeconds', 'n']].map(([k, c]) => h('th', { scope: 'col', class: c }, t(k))))),
    h('tbody', {}, rows.map((p) => h('tr', { 'data-zone': p.zone },
      cell(`${zoneName(p.zone)} (${p.zone})`), cell(num(p.visits), 'n'), cell(num(p.agents), 'n'), cell(num(p.routed), 'n'),
      cell(num(p.moved), 'n'), cell(num(p.unroutable), 'n'), cell(num(p.travel_km, 1), 'n'), cell(num(p.seconds, 1), 'n')))))));
  $('#outcome').dataset.kind = 'replan';
  $('#outcome').hidden = false;
}

$('#outcome-close').addEventListener('click', () => { $('#outcome').hidden = true; lastOutcome = null; $('#main').focus(); });

// ---- start ----
if (me) {
  setupHeader('day');
  const params = new URLSearchParams(location.search);
  $('#date').value = /^\d{4}-\d{2}-\d{2}$/.test(params.get('date') || '') ? params.get('date') : istDate(0);
  $('#day-form').addEventListener('submit', (e) => { e.preventDefault(); load(); });
  $('#zone').addEventListener('change', () => load());
  $('#date').addEventListener('change', () => { if ($('#date').value) load(); });
  $('#unplaced-all').addEventListener('change', () => load());
  $('#sla-filter').addEventListener('change', () => { renderSla(); renderSummary(); });
  $('#g-filter').addEventListener('change', async () => { await loadGrievances(); renderGrievances(); renderSummary(); });
  $('#print').addEventListener('click', () => window.print());
  $('#find').addEventListener('click', findBooking);
  $('#find-ref').addEventListener('keydown', (e) => { if (e.key === 'Enter') { e.preventDefault(); findBooking(); } });
  onLang(() => { renderZoneSelect(); renderAll(); });
  loadOnce().then(load);
}
