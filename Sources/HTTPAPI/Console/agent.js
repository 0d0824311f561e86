'use strict';
// The agent's view: its state, the screen pop as the phone rings (from the
// live event stream), the caller's timeline, the wrap-up form, click-to-call
// and an SMS conversation.
(async () => {
  Omni.setup();
  const t = Omni.t, el = Omni.el;
  const $ = (id) => document.getElementById(id);
  const session = await Omni.requireSession(['agent']);
  const me = session.agent;
  $('agent-name').textContent = session.display_name || me;
  // When each pop was on screen (ms since 1970) and when each was taken away: read by the browser tests and the benchmark.
  window.omnigate = { popRendered: {}, popWithdrawn: {}, events: 0 };

  function showError(problem) { $('error').textContent = problem ? t('error', { message: problem.message }) : ''; }

  // ---- State
  let status = null;
  function showState(next) {
    status = next;
    const node = $('agent-state');
    node.textContent = t('state.' + next.state);
    node.dataset.state = next.state;
    $('agent-reason').textContent = next.state === 'paused' && next.reason ? '(' + next.reason + ')' : '';
    $('go-available').disabled = next.state === 'available';
  }
  async function setState(state, reason) {
    showError(null);
    try { showState(await Omni.request('PUT', '/api/v1/agents/' + encodeURIComponent(me) + '/state', { state, reason })); }
    catch (problem) { showError(problem); }
  }
  $('go-available').addEventListener('click', () => setState('available'));
  $('go-paused').addEventListener('click', () => setState('paused', $('pause-reason').value));
  $('go-logged-out').addEventListener('click', () => setState('logged_out'));
  $('logout').addEventListener('click', () => Omni.logout());
  try { showState(await Omni.request('GET', '/api/v1/agents/' + encodeURIComponent(me))); } catch (problem) { showError(problem); }

  // ---- Pops and calls
  const calls = new Map();   // call id → { card, pop, phase, number }
  let wrapTarget = null;     // the call the wrap-up form is for

  function refreshEmpty() { $('no-calls').hidden = calls.size > 0; }

  function field(label, value, className) {
    return el('div', { class: 'field ' + (className || '') }, el('dt', { text: label }), el('dd', { text: value || '–' }));
  }

  /** Draws the pop at once from what the stream carries; the rest of the customer follows from the store. */
  function showPop(pop) {
    const context = pop.context || {};
    const known = context.known === true;
    const name = known ? (context.name || pop.caller_name) : t('pop.unknown');
    const card = el('section', { class: 'card pop ' + (known ? 'known' : 'unknown'), id: 'pop-' + pop.call_id, 'data-call-id': pop.call_id,
      'data-phase': 'ringing', tabindex: '-1', 'aria-labelledby': 'pop-name-' + pop.call_id });
    const phase = el('p', { class: 'phase', text: t('pop.ringing') });
    const details = el('dl', { class: 'pop-fields' },
      field(t('pop.number'), pop.caller_number, 'number'),
      field(t('pop.tier'), context.tier || (known ? '' : '–'), 'tier'),
      field(t('pop.company'), '…', 'company'),
      field(t('pop.last'), context.last_interaction || '', 'last'),
      field(t('pop.open'), '…', 'open'),
      pop.queue ? field(t('pop.queue'), pop.queue, 'queue') : null,
      pop.missing && pop.missing.length ? field(t('pop.missing'), pop.missing.join('; '), 'missing') : null);
    card.append(phase, el('h3', { id: 'pop-name-' + pop.call_id, class: 'caller', text: name }), details);
    const pops = $('pops');
    pops.prepend(card);
    calls.set(pop.call_id, { card, pop, phase: 'ringing', number: pop.caller_number });
    refreshEmpty();
    const shown = performance.timeOrigin + performance.now();
    window.omnigate.popRendered[pop.call_id] = shown;
    card.dataset.renderedAt = String(shown);
    // The phone rings once the gateway hears the pop is on screen (or its console_wait is over).
    if (pop.sequence !== undefined) {
      Omni.request('POST', '/api/v1/pops/' + encodeURIComponent(String(pop.sequence)) + '/shown').catch(() => {});
    }
    Omni.announce(t('pop.arrived', { who: name }));
    loadCustomer(pop.caller_number, card, known ? context.contact_id : null);
  }

  async function loadCustomer(number, card, contactID) {
    try {
      // One request while the phone rings: the pop's contact, open items and latest events; older ones on demand.
      const { pop, events, older } = await Omni.customer(number ? { number } : { id: contactID });
      if (card) {
        const company = card.querySelector('.company dd');
        if (company) company.textContent = (pop.contact && pop.contact.company) || '–';
        const open = card.querySelector('.open dd');
        if (open) {
          open.replaceChildren();
          const items = pop.open || [];
          if (!items.length) open.textContent = '–';
          else open.append(el('ul', {}, ...items.slice(0, 5).map((item) => el('li', { text: (item.subject || item.summary || t('channel.' + item.channel)) }))));
        }
      }
      $('customer').hidden = false;
      $('customer-heading').textContent = t('timeline') + ': ' + ((pop.known && pop.contact && pop.contact.name) || number || t('pop.unknown'));
      Omni.renderTimeline($('customer-timeline'), events, 'customer', older);
    } catch (problem) { showError(problem); }
  }

  function setPhase(callID, phase) {
    const call = calls.get(callID);
    if (!call) return;
    call.phase = phase;
    call.card.dataset.phase = phase;
    call.card.querySelector('.phase').textContent = t(phase === 'on_call' ? 'pop.on_call' : phase === 'ended' ? 'pop.ended' : 'pop.ringing');
    if (phase === 'ended') {
      // Calls ended and not wrapped up: the newest three stay on screen, besides the one the wrap-up form is for.
      const ended = [...calls.entries()].filter(([id, item]) => item.phase === 'ended' && id !== wrapTarget);
      for (const [id] of ended.slice(0, Math.max(0, ended.length - 3))) removeCall(id);
    }
  }

  function removeCall(callID) {
    const call = calls.get(callID);
    if (!call) return;
    call.card.remove();
    calls.delete(callID);
    refreshEmpty();
  }

  function setWrapTarget(callID) {
    wrapTarget = callID;
    const call = calls.get(callID);
    $('wrapup-call').textContent = callID ? t('wrapup.call') + ': ' + ((call && call.number) || '') + ' · ' + callID : t('wrapup.none');
    $('wrapup-submit').disabled = !callID;
    $('wrapup').dataset.callId = callID || '';
  }

  // ---- The live stream (the session cookie goes with it: same origin)
  let stream = null;
  function connect() {
    stream = new EventSource('/api/v1/stream?topics=pops,agents,calls,messages&shown=pops');
    stream.addEventListener('open', () => {
      $('live').textContent = t('live.ok');
      $('live').dataset.state = 'ok';
      loadThread();  // whatever came while the stream was away
    });
    stream.addEventListener('error', async () => {
      $('live').textContent = t('live.lost');
      $('live').dataset.state = 'lost';
      if (stream.readyState === EventSource.CLOSED) {
        // Refused (the session ended?): look, then try again.
        if (!(await Omni.currentSession())) { location.assign('index.html'); return; }
        setTimeout(connect, 2000);
      }
    });
    stream.addEventListener('pop.published', (message) => {
      window.omnigate.events += 1;
      const pop = JSON.parse(message.data);
      if (pop.agent !== me || calls.has(pop.call_id)) return;
      showPop(pop);
    });
    stream.addEventListener('pop.withdrawn', (message) => {
      const data = JSON.parse(message.data);
      const call = calls.get(data.call_id);
      if (!call || call.phase !== 'ringing') return;
      window.omnigate.popWithdrawn[data.call_id] = performance.timeOrigin + performance.now();
      removeCall(data.call_id);
      Omni.announce(t('pop.withdrawn'));
    });
    stream.addEventListener('call.answered', (message) => {
      const data = JSON.parse(message.data);
      if (data.agent !== me) return;
      if (!calls.has(data.uniqueid)) {
        // A call without a pop (click-to-call): a card for it all the same.
        const number = data.direction === 'outbound' ? data.to : data.from;
        showPop({ call_id: data.uniqueid, agent: me, caller_number: number, caller_name: '', context: null, missing: [] });
      }
      setPhase(data.uniqueid, 'on_call');
      setWrapTarget(data.uniqueid);
    });
    // An SMS in this agent's conversations, in or out: the open thread reads the timeline again.
    for (const name of ['sms.received', 'sms.sent']) stream.addEventListener(name, () => loadThread());
    stream.addEventListener('call.ended', (message) => {
      const data = JSON.parse(message.data);
      const call = calls.get(data.uniqueid);
      if (!call) return;
      if (call.phase === 'ringing') removeCall(data.uniqueid);
      else setPhase(data.uniqueid, 'ended');
    });
    stream.addEventListener('agent.state_changed', (message) => {
      const data = JSON.parse(message.data);
      if (data.agent === me) showState(data);
    });
  }
  connect();
  refreshEmpty();

  // ---- Wrap-up
  $('wrapup').addEventListener('submit', async (event) => {
    event.preventDefault();
    if (!wrapTarget) return;
    showError(null);
    const callID = wrapTarget;
    const body = { disposition: $('wrapup-disposition').value, note: $('wrapup-note').value };
    if ($('wrapup-follow-up').value) body.follow_up = $('wrapup-follow-up').value;
    try {
      await Omni.request('POST', '/api/v1/calls/' + encodeURIComponent(callID) + '/wrapup', body);
      const call = calls.get(callID);
      removeCall(callID);
      setWrapTarget(null);
      $('wrapup-note').value = '';
      $('wrapup-follow-up').value = '';
      Omni.announce(t('wrapup.saved'));
      $('wrapup-call').textContent = t('wrapup.saved');
      if (call) loadCustomer(call.number, null, call.pop.context && call.pop.context.known ? call.pop.context.contact_id : null);
    } catch (problem) { showError(problem); }
  });

  // ---- Click-to-call
  $('dial').addEventListener('submit', async (event) => {
    event.preventDefault();
    const number = $('dial-number').value.trim();
    if (!number) return;
    showError(null);
    $('dial-status').textContent = t('dial.placing', { number });
    $('dial-status').dataset.state = 'placing';
    $('dial-submit').disabled = true;
    try {
      await Omni.request('POST', '/api/v1/calls', { to: number });
      $('dial-status').textContent = t('dial.connecting', { number });
      $('dial-status').dataset.state = 'connecting';
    } catch (problem) {
      $('dial-status').textContent = '';
      $('dial-status').dataset.state = 'failed';
      showError(problem);
    } finally {
      $('dial-submit').disabled = false;
    }
  });

  // ---- SMS conversation: sent from here, received live (the stream's sms.* events), read from the timeline
  let smsNumber = null;
  async function loadThread() {
    if (!smsNumber) return;
    try {
      const { events } = await Omni.customer({ number: smsNumber });
      const messages = events.filter((item) => item.channel === 'sms').sort((a, b) => (a.time < b.time ? -1 : a.time > b.time ? 1 : (a.id || 0) - (b.id || 0)));
      const thread = $('sms-thread');
      const known = new Set([...thread.querySelectorAll('li[data-event-id]')].map((item) => item.dataset.eventId));
      if (!messages.length && !thread.children.length) thread.append(el('li', { class: 'empty', text: t('sms.none') }));
      for (const message of messages) {
        if (known.has(String(message.id))) continue;
        thread.querySelector('li.empty')?.remove();
        thread.append(el('li', { class: 'sms sms-' + message.direction, 'data-event-id': message.id, 'data-direction': message.direction },
          el('time', { datetime: message.time, text: Omni.formatTime(message.time) }),
          el('span', { class: 'dir', text: t('dir.' + message.direction) }),
          el('p', { class: 'text', text: message.body || message.summary || message.subject || '' })));
      }
    } catch (problem) { showError(problem); }
  }
  $('sms-open').addEventListener('submit', (event) => {
    event.preventDefault();
    const number = $('sms-number').value.trim();
    if (!number) return;
    smsNumber = number;
    $('sms-thread').replaceChildren();
    loadThread();
  });
  $('sms-send').addEventListener('submit', async (event) => {
    event.preventDefault();
    const text = $('sms-text').value;
    const number = smsNumber || $('sms-number').value.trim();
    if (!text.trim() || !number) return;
    if (!smsNumber) smsNumber = number;
    showError(null);
    try {
      await Omni.request('POST', '/api/v1/messages', { to: number, body: text });
      $('sms-text').value = '';
      $('sms-status').textContent = t('sms.sent');
      loadThread();
    } catch (problem) { showError(problem); }
  });

  Omni.onLanguage(() => { if (status) showState(status); setWrapTarget(wrapTarget); });
  document.body.dataset.ready = 'true';
})();
