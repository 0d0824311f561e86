'use strict';
// The login page: an agent with its SIP login, a supervisor or admin with an API token.
(async () => {
  Omni.setup();
  const error = document.getElementById('login-error');
  const next = new URLSearchParams(location.search).get('next');
  // Only a page of this console may be the next one (never another site).
  const safeNext = next && /^\/console\/[a-z-]+\.html(\?[^#]*)?$/.test(next) ? next : null;
  function go(session) {
    if (safeNext) location.assign(safeNext);
    else location.assign(session.role === 'agent' ? 'agent.html' : 'supervisor.html');
  }
  const current = await Omni.currentSession();
  if (current) { go(current); return; }
  async function logIn(body) {
    error.textContent = '';
    try {
      const session = await Omni.request('POST', '/api/v1/session', body, { login: true });
      go(session);
    } catch (problem) {
      error.textContent = problem.message;
    }
  }
  document.getElementById('agent-login').addEventListener('submit', (event) => {
    event.preventDefault();
    logIn({ agent: document.getElementById('agent-name').value.trim(), password: document.getElementById('agent-password').value });
  });
  document.getElementById('token-login').addEventListener('submit', (event) => {
    event.preventDefault();
    logIn({ token: document.getElementById('token').value.trim() });
  });
})();
