// The staff login: POST /auth/login, the token in sessionStorage, then the page of the role
// (or the page asked for before the login).
import { $, t, say, call, busy, session, saveSession, setupHeader, errorText, homeOf, OFFICE_ROLES } from './common.js';

const params = new URLSearchParams(location.search);
// Only a page of this folder may be the way back.
const next = /^(day|report)\.html(\?[^#]*)?$/.test(params.get('next') || '') ? params.get('next') : null;

function go(role) {
  const want = next && !(role === 'committee' && next.startsWith('day.html')) ? next : homeOf(role);
  location.replace(want);
}

setupHeader('login');
const me = session();
if (me && OFFICE_ROLES.includes(me.role)) go(me.role);
if (params.has('expired')) say(t('sessionEnded'), 'error');
else if (params.has('bye')) say(t('loggedOut'), 'ok');

$('#login-form').addEventListener('submit', async (e) => {
  e.preventDefault();
  const login = $('#login').value.trim();
  const password = $('#password').value;
  $('#agent-hint').hidden = true;
  if (!login || !password) {
    say(t('errLoginEmpty'), 'error');
    (login ? $('#password') : $('#login')).focus();
    return;
  }
  const button = $('#sign-in');
  busy(button, true, t('signingIn'));
  const r = await call('POST', '/auth/login', { body: { login, password } });
  busy(button, false);
  if (!r.ok) {
    say(errorText(r.error), 'error');
    $('#password').select();
    return;
  }
  if (!OFFICE_ROLES.includes(r.data.role)) {
    say(t('noOfficeAccess'), 'error');
    $('#agent-hint').hidden = r.data.role !== 'agent';
    return;
  }
  saveSession({ token: r.data.token, role: r.data.role, name: r.data.name, login, expires_at: r.data.expires_at });
  go(r.data.role);
});
$('#login').focus();
