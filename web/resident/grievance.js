// Grievances and appeals, as on Delhi's portal: three tiers (grievance officer → appellate
// authority → final appellate authority), each with its own time limit. A resident raises one
// on a booking, links earlier ones, sees each with its tier, status and due date, appeals to
// the next tier, and closes it when satisfied. app.js loads this module the first time one of
// these screens opens (#grievances, #gnew/{booking}, #grievance/{reference}), so the booking
// pages never fetch it. c is app.js's toolbox (t, h, call, …).
const KINDS = ['missed_visit', 'delay', 'rejection', 'conduct', 'other'];
const MAX = 1000; // characters of a description (the API's limit)
const MIN = 10;

export function setup(c) {
  const { $, h, t, call } = c;
  const enc = encodeURIComponent;
  const q = () => `?lang=${c.lang()}`;
  const items = (d) => (Array.isArray(d) ? d : d?.grievances || d?.items || []);
  const refOf = (x) => (typeof x === 'string' ? x : x?.reference || '');
  const loading = () => h('p', { class: 'loading' }, t('loading'));
  // The server says (by its own clock) whether it is overdue and can be appealed.
  const overdue = (g) => g.overdue ?? (g.status === 'open' && g.due_at && Date.parse(g.due_at) < Date.now());
  const canAppeal = (g) => g.can_appeal ?? (g.tier < 3 && (g.status === 'answered' || overdue(g)));
  const tierText = (n) => `${t(`gTier${n}`)} · ${t('gLevel', { n })}`;
  const status = (g) => h('strong', { class: `gstatus gs-${g.status}` }, t(`gStatus_${g.status}`));

  // A time as IST, and also in the resident's own zone when it is not India's.
  function when(iso) {
    const d = new Date(iso), tz = c.tz();
    const lines = [`${c.shortDay(d, c.IST)}, ${c.clock(d, c.IST)} IST`];
    if (!c.isIst(tz)) lines.push(`${c.zoneName(tz, d)}: ${c.shortDay(d, tz)}, ${c.clock(d, tz)}`);
    return lines;
  }
  const lines = (xs) => xs.map((x, i) => [i ? h('br') : null, x]);

  // Before the grievance API is deployed the server answers 404 to the list: say so plainly.
  const unavailable = () => h('div', null,
    h('p', { class: 'msg warn', role: 'alert', id: 'g-unavailable' }, t('gUnavailable')),
    h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: '#mine' }, t('myBookings'))));
  const failed = (r) => h('div', null,
    h('p', { class: 'msg error', role: 'alert' }, c.errorText(r.error, r.status)),
    h('p', { class: 'actions' }, h('button', { type: 'button', class: 'secondary', onclick: c.refresh }, t('retry')),
      h('a', { class: 'button secondary', href: '#mine' }, t('myBookings'))));
  // The common answers of every screen: false when the screen has been replaced.
  function usable(r, box) {
    if (r.ok) return true;
    if (r.status === 401) c.needLogin(r.error);
    else box.replaceChildren(failed(r));
    return false;
  }

  // ---- the list ----
  function card(g) {
    return h('article', { class: `grievance gs-${g.status}`, 'data-ref': g.reference },
      h('h2', { class: 'ref-small' }, h('a', { href: `#grievance/${enc(g.reference)}` }, g.reference)),
      h('p', { class: 'svc' }, t(`gKind_${g.kind}`)),
      h('p', null, `${t('gBooking')}: ${refOf(g.booking)}`, g.service?.name ? ` · ${g.service.name}` : ''),
      h('p', null, `${t('gTierLabel')}: `, h('span', { class: 'tier' }, tierText(g.tier))),
      h('p', null, `${t('status')}: `, status(g)),
      g.status === 'open' && g.due_at
        ? h('p', { class: overdue(g) ? 'due late' : 'due' }, `${t(overdue(g) ? 'gOverdue' : 'gDue')}: `, lines(when(g.due_at))) : null,
      h('p', { class: 'open' }, h('a', { class: 'button secondary', href: `#grievance/${enc(g.reference)}` }, t('gOpen'))));
  }

  async function list() {
    const box = $('#g-list');
    box.replaceChildren(loading());
    const r = await call('GET', `/grievances${q()}`, { auth: true });
    if (r.status === 404) { box.replaceChildren(unavailable()); return; }
    if (!usable(r, box)) return;
    const gs = items(r.data);
    box.replaceChildren(
      gs.length ? h('ul', { class: 'plain grievances' }, gs.map((g) => h('li', null, card(g))))
        : h('p', { class: 'empty' }, t('gNone')),
      h('p', { class: 'hint' }, t('gHowTo')),
      h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: '#mine' }, t('myBookings'))));
  }

  // ---- raising one on a booking; what is typed is kept until it is sent ----
  const DRAFT = 'mitan.gdraft';
  function draftFor(booking) {
    const d = c.store.get(sessionStorage, DRAFT);
    return d?.booking === booking ? d : { booking, kind: null, description: '', links: [], idem: null };
  }
  const keep = (d) => c.store.set(sessionStorage, DRAFT, d);

  async function raise(ref) {
    const box = $('#g-new');
    box.replaceChildren(loading());
    const [b, gl] = await Promise.all([call('GET', `/bookings/${enc(ref)}${q()}`, { auth: true }),
      call('GET', `/grievances${q()}`, { auth: true })]);
    if (gl.status === 404) { box.replaceChildren(unavailable()); return; }
    if (!usable(b, box) || !usable(gl, box)) return;
    const bk = b.data, earlier = items(gl.data), d = draftFor(bk.reference);
    const kindField = h('fieldset', { id: 'g-kind' }, h('legend', null, t('gKindQ')),
      KINDS.map((k) => h('label', { class: 'choice wide' },
        h('input', { type: 'radio', name: 'gkind', value: k, checked: d.kind === k }),
        h('span', null, h('span', { class: 'kind' }, t(`gKind_${k}`)), h('span', { class: 'hint block' }, t(`gKindHint_${k}`))))));
    const desc = h('textarea', { id: 'g-desc', rows: 5, maxlength: MAX, 'aria-describedby': 'g-desc-hint g-count', required: true });
    desc.value = d.description;
    const count = h('span', { id: 'g-count' });
    const counted = () => { count.textContent = t('gCount', { n: desc.value.length, max: MAX }); };
    counted();
    const linkField = earlier.length ? h('fieldset', { id: 'g-links' }, h('legend', null, t('gLinkQ')),
      h('p', { class: 'hint' }, t('gLinkHint')),
      earlier.map((g) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'glink', value: g.reference, checked: d.links.includes(g.reference) }),
        h('span', null, h('span', { class: 'mono' }, g.reference), ` · ${t(`gKind_${g.kind}`)} · ${refOf(g.booking)}`)))) : null;
    const send = h('button', { type: 'submit' }, t('gSubmit'));
    const form = h('form', { id: 'g-form', novalidate: true },
      h('dl', { class: 'facts' }, c.facts([
        [t('gBooking'), h('span', { class: 'mono' }, bk.reference)],
        [t('service'), bk.service?.name],
        [t('window'), `${c.shortDay(new Date(bk.window.start), c.IST)}, ${c.clock(new Date(bk.window.start), c.IST)}–${c.clock(new Date(bk.window.end), c.IST)} IST`],
        [t('status'), t(`status_${bk.status}`)],
      ])),
      kindField,
      h('label', { for: 'g-desc' }, t('gDesc')), desc,
      h('p', { class: 'hint' }, h('span', { id: 'g-desc-hint' }, t('gDescHint')), ' · ', count),
      linkField,
      h('p', { class: 'hint' }, t('gWhatNext')),
      h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: '#mine' }, t('back')), send));
    const read = () => {
      d.kind = form.querySelector('input[name=gkind]:checked')?.value || null;
      d.description = desc.value;
      d.links = [...form.querySelectorAll('input[name=glink]:checked')].map((x) => x.value);
      keep(d);
    };
    form.addEventListener('input', () => { read(); counted(); });
    form.addEventListener('change', read);
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      read();
      if (!d.kind) { c.say(t('gErrKind'), 'error'); form.querySelector('input[name=gkind]').focus(); return; }
      if (d.description.trim().length < MIN) { c.say(t('gErrDesc', { n: MIN }), 'error'); desc.focus(); return; }
      const body = { booking: bk.reference, kind: d.kind, description: d.description.trim() };
      if (d.links.length) body.links = d.links;
      const text = JSON.stringify(body);
      // One key per submission, kept across retries: a lost reply cannot make a second grievance.
      if (!d.idem || d.idem.body !== text) { d.idem = { key: c.uuid(), body: text }; keep(d); }
      send.disabled = true; send.setAttribute('aria-busy', 'true'); send.textContent = t('gSending');
      c.say(t('gSending'));
      const r = await call('POST', `/grievances${q()}`, { auth: true, body: text, headers: { 'Idempotency-Key': d.idem.key }, timeout: 45000 });
      send.disabled = false; send.removeAttribute('aria-busy'); send.textContent = t('gSubmit');
      if (r.ok) {
        c.store.set(sessionStorage, DRAFT, null);
        c.sayNext(t('gRaised', { ref: r.data.reference }), 'ok');
        c.go(`grievance/${enc(r.data.reference)}`);
        return;
      }
      if (r.status === 401) { c.needLogin(r.error); return; }
      c.say(c.errorText(r.error, r.status), 'error');
      const field = { description: desc, kind: form.querySelector('input[name=gkind]'), links: form.querySelector('input[name=glink]') }[r.error.field];
      field?.focus();
    });
    box.replaceChildren(form);
  }

  // ---- one grievance: its tiers, its history, and what the resident can do next ----
  async function one(ref) {
    const box = $('#g-one');
    box.replaceChildren(loading());
    const [r, gl] = await Promise.all([call('GET', `/grievances/${enc(ref)}${q()}`, { auth: true }),
      call('GET', `/grievances${q()}`, { auth: true })]);
    if (gl.status === 404) { box.replaceChildren(unavailable()); return; }
    if (!usable(r, box)) return;
    const g = r.data;
    const linked = (g.links || []).map(refOf);
    const others = gl.ok ? items(gl.data).filter((x) => x.reference !== g.reference && !linked.includes(x.reference)) : [];
    const events = g.events || [];
    const answer = [...events].reverse().find((e) => e.action === 'answered');
    const decision = g.decision || answer?.decision, answerText = g.answer || answer?.note;

    const out = [
      h('p', { class: 'ref', id: 'g-ref' }, g.reference),
      h('ol', { class: 'tiers', 'aria-label': t('gTierLabel') }, [1, 2, 3].map((n) => h('li', {
        class: n < g.tier ? 'done' : n === g.tier ? 'now' : '', 'aria-current': n === g.tier ? 'step' : null,
      }, t(`gTier${n}`)))),
      h('dl', { class: 'facts' }, c.facts([
        [t('gKind'), t(`gKind_${g.kind}`)],
        [t('gBooking'), [h('span', { class: 'mono' }, refOf(g.booking)), g.service?.name]],
        [t('gTierLabel'), h('span', { class: 'tier' }, tierText(g.tier))],
        [t('status'), status(g)],
        g.status === 'open' && g.due_at ? [t(overdue(g) ? 'gOverdue' : 'gDue'), h('span', { class: 'due' }, lines(when(g.due_at)))] : null,
        g.handler?.name && g.status === 'open' ? [t('gHandler'), g.handler.name] : null,
        g.created_at ? [t('gRaisedAt'), when(g.created_at)] : null,
      ])),
      g.description ? h('blockquote', { class: 'gdesc' }, g.description) : null,
    ];
    if (answer || answerText) {
      out.push(h('div', { class: 'answer', id: 'g-answer' }, h('h2', null, t('gAnswer')),
        decision ? h('p', null, h('strong', null, t(`gDecision_${decision}`))) : null,
        answerText ? h('p', { class: 'gtext' }, answerText) : null,
        answer?.by_name ? h('p', { class: 'hint' }, `— ${answer.by_name}, ${t(`gTier${answer.tier || g.tier}`)}`) : null));
    }
    if (linked.length) {
      out.push(h('h2', null, t('gLinked')), h('ul', { class: 'links', id: 'g-linked' },
        linked.map((x) => h('li', null, h('a', { href: `#grievance/${enc(x)}`, class: 'mono' }, x)))));
    }
    out.push(h('h2', null, t('gHistory')), h('ol', { class: 'timeline', id: 'g-events' }, events.map((e) => {
      const tier = e.to_tier || e.tier;
      return h('li', null,
        h('time', { datetime: e.at }, when(e.at)[0]), ' ',
        h('span', null, t(`gEvent_${e.action}`)),
        tier && ['raised', 'appealed', 'escalated'].includes(e.action) ? h('span', { class: 'note' }, `→ ${t(`gTier${tier}`)}`) : null,
        e.note && e.action !== 'answered' ? h('span', { class: 'note' }, e.note) : null);
    })));

    if (g.status !== 'closed') out.push(actions(g, others));
    else out.push(h('p', { class: 'msg ok' }, t('gClosedNote')));
    out.push(h('p', { class: 'actions' }, h('a', { class: 'button secondary', href: '#grievances' }, t('gListTitle')),
      h('a', { class: 'button secondary', href: '#mine' }, t('myBookings'))));
    box.replaceChildren(...out.filter(Boolean));
  }

  function actions(g, others) {
    const wrap = h('div', { class: 'gactions' }, h('h2', null, t('gNext')));
    const post = async (path, body, done, btn) => {
      btn.disabled = true; btn.setAttribute('aria-busy', 'true');
      const r = await call('POST', `/grievances/${enc(g.reference)}/${path}${q()}`, { auth: true, body: body ?? {} });
      btn.disabled = false; btn.removeAttribute('aria-busy');
      if (r.ok) { c.sayNext(done, 'ok'); c.refresh(); return; }
      if (r.status === 401) { c.needLogin(r.error); return; }
      // wrong_state here means: not yet appealable, or closed meanwhile
      c.say(r.error.code === 'wrong_state' ? t(path === 'appeal' ? 'err_appeal_not_allowed' : 'gErrClosed') : c.errorText(r.error, r.status), 'error');
    };
    // Appeal to the next tier: once answered, or when the answer is overdue.
    if (canAppeal(g)) {
      const note = h('textarea', { id: 'g-appeal-note', rows: 3, maxlength: MAX });
      const panel = h('form', { class: 'panel', id: 'g-appeal', hidden: true, novalidate: true },
        h('label', { for: 'g-appeal-note' }, t('gAppealWhy')), note,
        h('p', { class: 'actions' }, h('button', { type: 'submit' }, t('gAppealSend'))));
      panel.addEventListener('submit', (e) => {
        e.preventDefault();
        post('appeal', note.value.trim() ? { note: note.value.trim() } : {}, t('gAppealed', { tier: t(`gTier${g.tier + 1}`) }), panel.querySelector('button'));
      });
      const open = h('button', { type: 'button', id: 'g-appeal-open', 'aria-expanded': 'false', 'aria-controls': 'g-appeal', onclick: () => {
        panel.hidden = !panel.hidden;
        open.setAttribute('aria-expanded', String(!panel.hidden));
        if (!panel.hidden) note.focus();
      } }, t('gAppealTo', { tier: t(`gTier${g.tier + 1}`) }));
      wrap.append(h('p', { class: 'hint' }, t(g.status === 'answered' ? 'gAppealIfNot' : 'gAppealOverdue')), h('p', { class: 'actions' }, open), panel);
    } else if (g.tier >= 3) {
      wrap.append(h('p', { class: 'hint' }, t('gFinal')));
    } else if (g.due_at) {
      wrap.append(h('p', { class: 'hint' }, t('gAppealLater', { due: when(g.due_at)[0] })));
    }
    // Link an earlier grievance of the same resident.
    if (others.length) {
      const sel = h('select', { id: 'g-link-pick' }, others.map((x) => h('option', { value: x.reference }, `${x.reference} · ${t(`gKind_${x.kind}`)}`)));
      const btn = h('button', { type: 'submit', class: 'secondary' }, t('gLinkAdd'));
      const f = h('form', { class: 'linkform', novalidate: true }, h('label', { for: 'g-link-pick' }, t('gLinkQ')), sel, h('p', { class: 'actions' }, btn));
      f.addEventListener('submit', (e) => { e.preventDefault(); post('links', { grievance: sel.value }, t('gLinkedOk', { ref: sel.value }), btn); });
      wrap.append(f);
    }
    // Close it when satisfied.
    const close = h('button', { type: 'button', class: 'secondary', id: 'g-close' }, t('gCloseBtn'));
    close.addEventListener('click', () => { if (confirm(t('gConfirmClose', { ref: g.reference }))) post('close', {}, t('gClosed', { ref: g.reference }), close); });
    wrap.append(h('p', { class: 'hint' }, t('gCloseHint')), h('p', { class: 'actions' }, close));
    return wrap;
  }

  return { list, raise, one };
}
