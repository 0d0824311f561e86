'use strict';
// What every console page shares: UI strings in English and German, the
// session and its CSRF token, API requests, and rendering a timeline.
// Everything a customer or another system wrote is put on the page with
// textContent (never as HTML).
const Omni = (() => {
  const STRINGS = {
    en: {
      'app.title': 'Omnigate console', 'lang.label': 'Language', 'skip': 'Skip to content',
      'login.agent': 'Agents', 'login.agent.hint': 'Your agent name and the password of your phone.',
      'login.name': 'Agent name', 'login.password': 'Password', 'login.submit': 'Log in',
      'login.supervisor': 'Supervisors and admins', 'login.token.hint': 'Your API token (omnigate token new).', 'login.token': 'API token',
      'logout': 'Log out', 'state': 'State', 'state.available': 'Available', 'state.paused': 'Paused', 'state.logged_out': 'Logged out',
      'state.ringing': 'Ringing', 'state.on_call': 'On a call', 'state.wrap_up': 'Wrap-up',
      'action.available': 'Go available', 'action.pause': 'Pause', 'action.logout_queues': 'Log out of queues',
      'pause.reason': 'Reason', 'reason.break': 'Break', 'reason.lunch': 'Lunch', 'reason.training': 'Training', 'reason.backoffice': 'Back office',
      'calls': 'Calls', 'calls.none': 'No call right now. The caller appears here as the phone rings.',
      'pop.ringing': 'Ringing', 'pop.on_call': 'On the call', 'pop.ended': 'Call ended: wrap up', 'pop.unknown': 'Unknown caller',
      'pop.number': 'Number', 'pop.tier': 'Tier', 'pop.company': 'Company', 'pop.last': 'Last interaction', 'pop.open': 'Open items',
      'pop.queue': 'Queue', 'pop.missing': 'Not looked up in time', 'pop.withdrawn': 'The call went to another agent.',
      'pop.arrived': 'Call from {who}',
      'timeline': 'Timeline', 'timeline.none': 'No interactions yet.', 'timeline.filter': 'Channels', 'timeline.more': 'Show older',
      'channel.voice': 'Call', 'channel.sms': 'SMS', 'channel.chat': 'Chat', 'channel.email': 'Email', 'channel.social': 'Social',
      'channel.note': 'Note', 'channel.voicemail': 'Voicemail',
      'dir.inbound': 'in', 'dir.outbound': 'out', 'dir.internal': 'internal', 'status.open': 'open', 'by': 'by {agent}',
      'wrapup': 'Wrap-up', 'wrapup.call': 'Call', 'wrapup.none': 'No call to wrap up.', 'wrapup.disposition': 'Outcome',
      'disp.resolved': 'Resolved', 'disp.follow_up': 'Needs follow-up', 'disp.escalated': 'Escalated', 'disp.wrong_number': 'Wrong number',
      'disp.other': 'Other', 'wrapup.note': 'Note', 'wrapup.follow_up': 'Follow up by', 'wrapup.submit': 'Save and end wrap-up',
      'wrapup.saved': 'Wrap-up saved on the timeline.',
      'dial': 'Call a customer', 'dial.number': 'Number', 'dial.submit': 'Call', 'dial.placing': 'Your phone rings first; answer it to call {number}.',
      'dial.connecting': 'Connecting to {number}.',
      'sms': 'SMS conversation', 'sms.number': 'Customer number', 'sms.open': 'Open', 'sms.text': 'Message', 'sms.send': 'Send',
      'sms.sent': 'Sent.', 'sms.none': 'No messages with this number yet.', 'sms.chars': '{count} characters',
      'contact': 'Customer', 'contact.open': 'Open customer page',
      'sup.title': 'Supervisor', 'sup.queues': 'Queues', 'sup.agents': 'Agents', 'sup.kpis': 'Customer journeys',
      'sup.queue': 'Queue', 'sup.waiting': 'Waiting', 'sup.longest': 'Longest wait', 'sup.members': 'Agents by state', 'sup.strategy': 'Strategy',
      'sup.agent': 'Agent', 'sup.since': 'Since', 'sup.queues_of': 'Queues', 'sup.reason': 'Reason',
      'kpi.from': 'From', 'kpi.to': 'To', 'kpi.window': 'Repeat window (days)', 'kpi.service_level': 'Service level (seconds)',
      'kpi.show': 'Show', 'kpi.csv': 'Download CSV', 'kpi.fcr': 'First-contact resolution', 'kpi.repeat': 'Repeat contacts',
      'kpi.switches': 'Channel switches per journey', 'kpi.journeys': 'Journeys', 'kpi.contacts': 'Contacts',
      'kpi.by_channel': 'Repeat contacts by first channel', 'kpi.channel': 'First channel', 'kpi.rate': 'Rate',
      'kpi.repeated': 'Repeated', 'kpi.per_queue': 'Service level and abandon rate per queue and day', 'kpi.day': 'Day',
      'kpi.offered': 'Offered', 'kpi.answered': 'Answered', 'kpi.in_time': 'In time', 'kpi.abandoned': 'Abandoned',
      'kpi.sl': 'Service level', 'kpi.abandon': 'Abandon rate', 'kpi.no_chart': 'Charts need Chart.js (Debian libjs-chart.js); the figures are in the tables.',
      'error': 'Error: {message}', 'live.lost': 'Live updates interrupted; reconnecting…', 'live.ok': 'Live',
    },
    de: {
      'app.title': 'Omnigate-Konsole', 'lang.label': 'Sprache', 'skip': 'Zum Inhalt springen',
      'login.agent': 'Agenten', 'login.agent.hint': 'Ihr Agentenname und das Passwort Ihres Telefons.',
      'login.name': 'Agentenname', 'login.password': 'Passwort', 'login.submit': 'Anmelden',
      'login.supervisor': 'Supervisoren und Admins', 'login.token.hint': 'Ihr API-Token (omnigate token new).', 'login.token': 'API-Token',
      'logout': 'Abmelden', 'state': 'Status', 'state.available': 'Verfügbar', 'state.paused': 'Pause', 'state.logged_out': 'Abgemeldet',
      'state.ringing': 'Klingelt', 'state.on_call': 'Im Gespräch', 'state.wrap_up': 'Nachbearbeitung',
      'action.available': 'Verfügbar werden', 'action.pause': 'Pause', 'action.logout_queues': 'Aus Warteschlangen abmelden',
      'pause.reason': 'Grund', 'reason.break': 'Kurze Pause', 'reason.lunch': 'Mittagspause', 'reason.training': 'Schulung', 'reason.backoffice': 'Backoffice',
      'calls': 'Anrufe', 'calls.none': 'Gerade kein Anruf. Der Anrufer erscheint hier, sobald das Telefon klingelt.',
      'pop.ringing': 'Klingelt', 'pop.on_call': 'Im Gespräch', 'pop.ended': 'Anruf beendet: nachbearbeiten', 'pop.unknown': 'Unbekannter Anrufer',
      'pop.number': 'Nummer', 'pop.tier': 'Kundenstufe', 'pop.company': 'Firma', 'pop.last': 'Letzter Kontakt', 'pop.open': 'Offene Vorgänge',
      'pop.queue': 'Warteschlange', 'pop.missing': 'Nicht rechtzeitig gefunden', 'pop.withdrawn': 'Der Anruf ging an einen anderen Agenten.',
      'pop.arrived': 'Anruf von {who}',
      'timeline': 'Verlauf', 'timeline.none': 'Noch keine Kontakte.', 'timeline.filter': 'Kanäle', 'timeline.more': 'Ältere zeigen',
      'channel.voice': 'Anruf', 'channel.sms': 'SMS', 'channel.chat': 'Chat', 'channel.email': 'E-Mail', 'channel.social': 'Social Media',
      'channel.note': 'Notiz', 'channel.voicemail': 'Sprachnachricht',
      'dir.inbound': 'eingehend', 'dir.outbound': 'ausgehend', 'dir.internal': 'intern', 'status.open': 'offen', 'by': 'von {agent}',
      'wrapup': 'Nachbearbeitung', 'wrapup.call': 'Anruf', 'wrapup.none': 'Kein Anruf nachzubearbeiten.', 'wrapup.disposition': 'Ergebnis',
      'disp.resolved': 'Gelöst', 'disp.follow_up': 'Wiedervorlage', 'disp.escalated': 'Eskaliert', 'disp.wrong_number': 'Falsch verbunden',
      'disp.other': 'Sonstiges', 'wrapup.note': 'Notiz', 'wrapup.follow_up': 'Wiedervorlage am', 'wrapup.submit': 'Speichern und abschließen',
      'wrapup.saved': 'Nachbearbeitung im Verlauf gespeichert.',
      'dial': 'Kunden anrufen', 'dial.number': 'Nummer', 'dial.submit': 'Anrufen', 'dial.placing': 'Ihr Telefon klingelt zuerst; nehmen Sie ab, um {number} anzurufen.',
      'dial.connecting': 'Verbinde mit {number}.',
      'sms': 'SMS-Unterhaltung', 'sms.number': 'Kundennummer', 'sms.open': 'Öffnen', 'sms.text': 'Nachricht', 'sms.send': 'Senden',
      'sms.sent': 'Gesendet.', 'sms.none': 'Noch keine Nachrichten mit dieser Nummer.', 'sms.chars': '{count} Zeichen',
      'contact': 'Kunde', 'contact.open': 'Kundenseite öffnen',
      'sup.title': 'Supervisor', 'sup.queues': 'Warteschlangen', 'sup.agents': 'Agenten', 'sup.kpis': 'Kundenreisen',
      'sup.queue': 'Warteschlange', 'sup.waiting': 'Wartend', 'sup.longest': 'Längste Wartezeit', 'sup.members': 'Agenten nach Status', 'sup.strategy': 'Strategie',
      'sup.agent': 'Agent', 'sup.since': 'Seit', 'sup.queues_of': 'Warteschlangen', 'sup.reason': 'Grund',
      'kpi.from': 'Von', 'kpi.to': 'Bis', 'kpi.window': 'Wiederholungsfenster (Tage)', 'kpi.service_level': 'Servicelevel (Sekunden)',
      'kpi.show': 'Anzeigen', 'kpi.csv': 'CSV herunterladen', 'kpi.fcr': 'Erstlösungsquote', 'kpi.repeat': 'Wiederholte Kontakte',
      'kpi.switches': 'Kanalwechsel je Kundenreise', 'kpi.journeys': 'Kundenreisen', 'kpi.contacts': 'Kontakte',
      'kpi.by_channel': 'Wiederholte Kontakte nach erstem Kanal', 'kpi.channel': 'Erster Kanal', 'kpi.rate': 'Quote',
      'kpi.repeated': 'Wiederholt', 'kpi.per_queue': 'Servicelevel und Abbruchquote je Warteschlange und Tag', 'kpi.day': 'Tag',
      'kpi.offered': 'Angeboten', 'kpi.answered': 'Angenommen', 'kpi.in_time': 'Rechtzeitig', 'kpi.abandoned': 'Abgebrochen',
      'kpi.sl': 'Servicelevel', 'kpi.abandon': 'Abbruchquote', 'kpi.no_chart': 'Diagramme brauchen Chart.js (Debian libjs-chart.js); die Zahlen stehen in den Tabellen.',
      'error': 'Fehler: {message}', 'live.lost': 'Live-Aktualisierung unterbrochen; verbinde neu…', 'live.ok': 'Live',
    },
  };

  const stored = localStorage.getItem('omnigate.lang');
  let lang = stored === 'de' || stored === 'en' ? stored : ((navigator.language || 'en').toLowerCase().startsWith('de') ? 'de' : 'en');
  let session = null;

  function t(key, vars) {
    let text = (STRINGS[lang] && STRINGS[lang][key]) || STRINGS.en[key] || key;
    for (const [name, value] of Object.entries(vars || {})) text = text.split('{' + name + '}').join(String(value));
    return text;
  }

  /** Puts the UI strings of the current language into every element marked with data-i18n. */
  function applyStrings(root) {
    document.documentElement.lang = lang;
    (root || document).querySelectorAll('[data-i18n]').forEach((node) => { node.textContent = t(node.dataset.i18n); });
    (root || document).querySelectorAll('[data-i18n-label]').forEach((node) => { node.setAttribute('aria-label', t(node.dataset.i18nLabel)); });
    (root || document).querySelectorAll('[data-i18n-placeholder]').forEach((node) => { node.placeholder = t(node.dataset.i18nPlaceholder); });
  }

  const listeners = [];
  function setup() {
    applyStrings();
    const select = document.getElementById('lang');
    if (select) {
      select.value = lang;
      select.addEventListener('change', () => {
        lang = select.value;
        localStorage.setItem('omnigate.lang', lang);
        applyStrings();
        listeners.forEach((listener) => listener());
      });
    }
  }
  function onLanguage(listener) { listeners.push(listener); }

  const dateTime = () => new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short' });
  function formatTime(iso) { const date = new Date(iso); return isNaN(date) ? '' : dateTime().format(date); }
  function formatNumber(value, digits) {
    return new Intl.NumberFormat(lang === 'de' ? 'de-DE' : 'en-GB', { maximumFractionDigits: digits ?? 2 }).format(value);
  }
  function formatPercent(value) {
    if (value === null || value === undefined) return '–';
    return new Intl.NumberFormat(lang === 'de' ? 'de-DE' : 'en-GB', { style: 'percent', maximumFractionDigits: 1 }).format(value);
  }
  function formatSeconds(seconds) {
    const s = Math.round(seconds);
    return s < 60 ? formatNumber(s, 0) + ' s' : formatNumber(Math.floor(s / 60), 0) + ':' + String(s % 60).padStart(2, '0') + ' min';
  }

  class Problem extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  /** An API request with the session cookie; a change carries the session's CSRF token. */
  async function request(method, path, body, options) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (method !== 'GET' && session) headers['X-CSRF-Token'] = session.csrf_token;
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'same-origin' });
    if (response.status === 204) return null;
    const text = await response.text();
    let document = null;
    try { document = text ? JSON.parse(text) : null; } catch (_) { document = null; }
    if (!response.ok) {
      if (response.status === 401 && !(options && options.login)) { toLogin(); }
      throw new Problem(response.status, (document && (document.detail || document.title)) || ('HTTP ' + response.status));
    }
    if (options && options.login) session = document;
    return document;
  }

  async function currentSession() {
    const response = await fetch('/api/v1/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    session = await response.json();
    return session;
  }

  function toLogin() {
    const here = location.pathname + location.search;
    location.assign('index.html' + (here.endsWith('index.html') ? '' : '?next=' + encodeURIComponent(here)));
  }

  /** The session, or off to the login page (and back here afterwards). */
  async function requireSession(roles) {
    const current = await currentSession();
    if (!current) { toLogin(); return new Promise(() => {}); }
    if (roles && !roles.includes(current.role)) {
      location.assign(current.role === 'agent' ? 'agent.html' : 'supervisor.html');
      return new Promise(() => {});
    }
    return current;
  }

  async function logout() {
    try { await request('DELETE', '/api/v1/session'); } catch (_) { /* the session is gone either way */ }
    session = null;
    location.assign('index.html');
  }

  /** An element with attributes and children (strings become text nodes: never HTML). */
  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === 'class') node.className = value;
      else if (name === 'text') node.textContent = value;
      else node.setAttribute(name, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined) continue;
      node.append(typeof child === 'string' ? document.createTextNode(child) : child);
    }
    return node;
  }

  function announce(text) {
    const region = document.getElementById('announcer');
    if (region) { region.textContent = ''; setTimeout(() => { region.textContent = text; }, 20); }
  }

  function isVoicemail(event) { return event.channel === 'voice' && (event.external_ref || '').startsWith('voicemail:'); }
  function channelOf(event) { return isVoicemail(event) ? 'voicemail' : event.channel; }

  /** One timeline entry: channel, time, direction, what it was about, who handled it; a voicemail plays. */
  function timelineItem(event) {
    const channel = channelOf(event);
    const item = el('li', { class: 'event channel-' + channel, 'data-channel': channel, 'data-event-id': event.id });
    const head = el('div', { class: 'event-head' },
      el('span', { class: 'badge badge-' + channel, text: t('channel.' + channel) }),
      el('time', { datetime: event.time, text: formatTime(event.time) }),
      el('span', { class: 'dir', text: t('dir.' + event.direction) }),
      event.agent ? el('span', { class: 'agent', text: t('by', { agent: event.agent }) }) : null,
      event.status === 'open' ? el('span', { class: 'open', text: t('status.open') }) : null);
    item.append(head);
    if (event.subject) item.append(el('p', { class: 'subject', text: event.subject }));
    if (event.summary && event.summary !== event.subject) item.append(el('p', { class: 'summary', text: event.summary }));
    if (event.body && channel !== 'voice' && event.body !== event.summary) item.append(el('p', { class: 'body', text: event.body }));
    if (event.media_path !== undefined && event.media_path !== null && event.id) {
      item.append(el('audio', { controls: true, preload: 'none', src: '/api/v1/events/' + encodeURIComponent(event.id) + '/recording',
        'aria-label': t('channel.voicemail') }));
    }
    return item;
  }

  const CHANNELS = ['voice', 'voicemail', 'sms', 'chat', 'email', 'social', 'note'];

  /** A timeline with channel filters, newest first, into `container` (emptied first). `older(beforeID)`, when given,
   *  fetches the page before an event: a button shows it. */
  function renderTimeline(container, events, idPrefix, older) {
    container.replaceChildren();
    const filters = el('fieldset', { class: 'filters' }, el('legend', { text: t('timeline.filter') }));
    const list = el('ol', { class: 'timeline', 'aria-live': 'polite' });
    const shown = new Set(CHANNELS);
    for (const channel of CHANNELS) {
      const id = (idPrefix || 'tl') + '-filter-' + channel;
      const box = el('input', { type: 'checkbox', id, checked: true, 'data-channel': channel });
      box.addEventListener('change', () => {
        if (box.checked) shown.add(channel); else shown.delete(channel);
        list.querySelectorAll('li.event').forEach((item) => { item.hidden = !shown.has(item.dataset.channel); });
      });
      filters.append(el('span', { class: 'filter' }, box, el('label', { for: id, text: t('channel.' + channel) })));
    }
    const newestFirst = (a, b) => (a.time < b.time ? 1 : a.time > b.time ? -1 : (b.id || 0) - (a.id || 0));
    let oldest = null;
    function add(items) {
      for (const event of [...items].sort(newestFirst)) {
        const item = timelineItem(event);
        item.hidden = !shown.has(item.dataset.channel);
        list.append(item);
        oldest = event.id || oldest;
      }
    }
    add(events);
    if (!events.length) list.append(el('li', { class: 'empty', text: t('timeline.none') }));
    container.append(filters, list);
    if (older && events.length) {
      const button = el('button', { type: 'button', class: 'older', id: (idPrefix || 'tl') + '-older', text: t('timeline.more') });
      button.addEventListener('click', async () => {
        button.disabled = true;
        const page = await older(oldest);
        add(page);
        button.disabled = false;
        if (!page.length) button.remove();
      });
      container.append(button);
    }
  }

  /** A lookup's events come with the store's Swift names (externalRef); the timeline's in snake_case. */
  function snakeEvent(event) {
    const names = { contactID: 'contact_id', externalRef: 'external_ref', threadID: 'thread_id', mediaPath: 'media_path',
      mediaDurationMilliseconds: 'media_duration_milliseconds' };
    const out = {};
    for (const [key, value] of Object.entries(event)) out[names[key] || key] = value;
    return out;
  }

  /** A customer by contact id (the whole timeline, a page of 100) or by number (one request: the screen pop's contact,
   *  open items and latest events; `older` pages back through the contact's timeline). An unknown number: its own history. */
  async function customer(which) {
    if (which.id) {
      const contact = await request('GET', '/api/v1/contacts/' + encodeURIComponent(which.id));
      const page = await request('GET', '/api/v1/contacts/' + encodeURIComponent(which.id) + '/timeline?limit=100');
      return { pop: { known: true, contact, identities: contact.identities || [], open: page.events.filter((item) => item.status === 'open') },
        events: page.events, older: olderOf(which.id) };
    }
    const pop = await request('GET', '/api/v1/lookup?q=' + encodeURIComponent(which.number));
    pop.recent = (pop.recent || []).map(snakeEvent);
    pop.open = (pop.openItems || pop.open_items || []).map(snakeEvent);
    return { pop, events: pop.recent, older: pop.known && pop.contact && pop.contact.id ? olderOf(pop.contact.id) : null };
  }

  function olderOf(contactID) {
    return async (before) => {
      const page = await request('GET', '/api/v1/contacts/' + encodeURIComponent(contactID) + '/timeline?limit=50'
        + (before ? '&before=' + encodeURIComponent(before) : ''));
      return page.events;
    };
  }

  return {
    t, setup, onLanguage, applyStrings, request, currentSession, requireSession, logout, el, announce,
    formatTime, formatNumber, formatPercent, formatSeconds, renderTimeline, timelineItem, customer,
    get session() { return session; }, get lang() { return lang; }, CHANNELS,
  };
})();
