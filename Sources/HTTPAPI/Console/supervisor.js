'use strict';
// The supervisor's view: queues and agents live (the event stream, and the
// queues read again on every change), and journey figures from the timeline
// as tiles, charts (Chart.js, when installed) and tables, with a CSV download.
(async () => {
  Omni.setup();
  const t = Omni.t, el = Omni.el;
  const $ = (id) => document.getElementById(id);
  const session = await Omni.requireSession(['admin', 'supervisor']);
  $('who').textContent = session.name + ' (' + session.role + ')';
  $('logout').addEventListener('click', () => Omni.logout());
  function showError(problem) { $('error').textContent = problem ? t('error', { message: problem.message }) : ''; }

  // ---- Agents and queues
  const agents = new Map();
  let queues = [];
  function renderAgents() {
    const body = $('agents').querySelector('tbody');
    body.replaceChildren(...[...agents.values()].sort((a, b) => a.agent.localeCompare(b.agent)).map((agent) => el('tr', { 'data-agent': agent.agent },
      el('th', { scope: 'row', text: agent.agent }),
      el('td', { 'data-state': agent.state, text: t('state.' + agent.state) + (agent.state === 'paused' && agent.reason ? ' (' + agent.reason + ')' : '') }),
      el('td', {}, el('time', { datetime: agent.since, text: Omni.formatTime(agent.since) })),
      el('td', { text: (agent.queues || []).join(', ') }))));
  }
  function renderQueues() {
    const body = $('queues').querySelector('tbody');
    body.replaceChildren(...queues.map((queue) => {
      const counts = {};
      for (const agent of agents.values()) {
        if ((agent.queues || []).includes(queue.name)) counts[agent.state] = (counts[agent.state] || 0) + 1;
      }
      const states = Object.entries(counts).sort().map(([state, count]) => t('state.' + state) + ': ' + Omni.formatNumber(count, 0)).join(', ');
      return el('tr', { 'data-queue': queue.name },
        el('th', { scope: 'row', text: queue.name }),
        el('td', { class: 'num waiting', text: Omni.formatNumber(queue.waiting, 0) }),
        el('td', { class: 'num longest', text: Omni.formatSeconds(queue.longest_wait_seconds || 0) }),
        el('td', { text: states || '–' }));
    }));
  }
  async function loadLive() {
    try {
      const [agentList, queueList] = await Promise.all([Omni.request('GET', '/api/v1/agents'), Omni.request('GET', '/api/v1/queues')]);
      agents.clear();
      for (const agent of agentList.agents) agents.set(agent.agent, agent);
      queues = queueList.queues;
      renderAgents();
      renderQueues();
    } catch (problem) { showError(problem); }
  }
  let pending = null;
  function soon() { if (!pending) pending = setTimeout(() => { pending = null; loadLive(); }, 250); }
  await loadLive();
  // Waiting times grow without an event: read the queues again every 5 s as well.
  setInterval(loadLive, 5000);
  const stream = new EventSource('/api/v1/stream?topics=agents,calls');
  stream.addEventListener('open', () => { $('live').textContent = t('live.ok'); $('live').dataset.state = 'ok'; });
  stream.addEventListener('error', () => { $('live').textContent = t('live.lost'); $('live').dataset.state = 'lost'; });
  stream.addEventListener('agent.state_changed', (message) => {
    const agent = JSON.parse(message.data);
    agents.set(agent.agent, agent);
    renderAgents();
    renderQueues();
  });
  for (const name of ['call.started', 'call.answered', 'call.ended']) stream.addEventListener(name, soon);

  // ---- Journeys
  const today = new Date();
  const monthAgo = new Date(today.getTime() - 30 * 86400000);
  const day = (date) => date.toISOString().slice(0, 10);
  $('kpi-from').value = day(monthAgo);
  $('kpi-to').value = day(new Date(today.getTime() + 86400000));
  const charts = {};
  let report = null;

  function query(format) {
    const parameters = new URLSearchParams({ from: $('kpi-from').value, to: $('kpi-to').value,
      window_days: $('kpi-window').value || '7', service_level: $('kpi-sl').value || '20' });
    if (format) parameters.set('format', format);
    return '/api/v1/journeys?' + parameters.toString();
  }

  function renderReport() {
    if (!report) return;
    $('kpi-fcr').textContent = Omni.formatPercent(report.first_contact_resolution);
    $('kpi-repeat').textContent = Omni.formatPercent(report.repeat_contact_rate);
    $('kpi-switches').textContent = report.switches_per_journey === null || report.switches_per_journey === undefined
      ? '–' : Omni.formatNumber(report.switches_per_journey, 2);
    $('kpi-journeys').textContent = Omni.formatNumber(report.journeys, 0);
    $('kpi-contacts').textContent = Omni.formatNumber(report.contacts, 0);
    $('kpi-channels').querySelector('tbody').replaceChildren(...report.by_first_channel.map((row) => el('tr', { 'data-channel': row.channel },
      el('th', { scope: 'row', text: t('channel.' + row.channel) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.journeys, 0) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.repeated, 0) }),
      el('td', { class: 'num rate', text: Omni.formatPercent(row.repeat_rate) }))));
    $('kpi-queues').querySelector('tbody').replaceChildren(...report.queues.map((row) => el('tr', { 'data-queue': row.queue, 'data-day': row.day },
      el('th', { scope: 'row', text: row.queue }),
      el('td', { text: new Intl.DateTimeFormat(Omni.lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'medium', timeZone: 'UTC' }).format(new Date(row.day + 'T00:00:00Z')) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.offered, 0) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.answered, 0) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.answered_in_time, 0) }),
      el('td', { class: 'num', text: Omni.formatNumber(row.abandoned, 0) }),
      el('td', { class: 'num', text: Omni.formatPercent(row.service_level) }),
      el('td', { class: 'num', text: Omni.formatPercent(row.abandon_rate) }))));
    drawCharts();
  }

  function drawCharts() {
    if (typeof window.Chart !== 'function') { $('chart-notice').hidden = false; return; }
    const ink = '#1b1b1b';
    window.Chart.defaults.color = ink;
    window.Chart.defaults.font.family = 'DejaVu Sans, system-ui, sans-serif';
    const channelData = {
      labels: report.by_first_channel.map((row) => t('channel.' + row.channel)),
      datasets: [{ label: t('kpi.repeat'), data: report.by_first_channel.map((row) => Math.round((row.repeat_rate || 0) * 1000) / 10),
        backgroundColor: '#0a4fb8' }],
    };
    const labels = report.queues.map((row) => row.queue + ' ' + row.day);
    const queueData = {
      labels,
      datasets: [
        { label: t('kpi.sl'), data: report.queues.map((row) => Math.round((row.service_level || 0) * 1000) / 10), backgroundColor: '#1d6b35' },
        { label: t('kpi.abandon'), data: report.queues.map((row) => Math.round((row.abandon_rate || 0) * 1000) / 10), backgroundColor: '#a4161a' },
      ],
    };
    const options = { responsive: true, maintainAspectRatio: false, animation: false, locale: Omni.lang === 'de' ? 'de-DE' : 'en-GB',
      scales: { y: { beginAtZero: true, max: 100, title: { display: true, text: '%' } } } };
    for (const [id, data] of [['chart-channels', channelData], ['chart-queues', queueData]]) {
      if (charts[id]) charts[id].destroy();
      charts[id] = new window.Chart($(id), { type: 'bar', data, options });
    }
  }

  async function loadReport() {
    showError(null);
    $('kpi-csv').href = query('csv');
    try {
      report = await Omni.request('GET', query());
      renderReport();
      document.body.dataset.report = 'loaded';
    } catch (problem) { showError(problem); }
  }
  $('kpi-form').addEventListener('submit', (event) => { event.preventDefault(); loadReport(); });
  Omni.onLanguage(() => { renderAgents(); renderQueues(); renderReport(); });
  await loadReport();
  document.body.dataset.ready = 'true';
})();
