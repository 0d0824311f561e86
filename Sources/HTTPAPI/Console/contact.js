'use strict';
// A customer's page, as the screen pop's Call-Info URL opens it:
// contact.html?id=CONTACT&number=NUMBER (an unknown caller: the number's own history).
(async () => {
  Omni.setup();
  const t = Omni.t, el = Omni.el;
  const $ = (id) => document.getElementById(id);
  const session = await Omni.requireSession();
  $('back').href = session.role === 'agent' ? 'agent.html' : 'supervisor.html';
  $('logout').addEventListener('click', () => Omni.logout());
  const parameters = new URLSearchParams(location.search);
  const id = parameters.get('id');
  const number = parameters.get('number');
  let loaded = null;
  function render() {
    if (!loaded) return;
    const { pop, events } = loaded;
    const contact = pop.known ? pop.contact : null;
    $('contact-name').textContent = contact ? contact.name : t('pop.unknown') + (number ? ' · ' + number : '');
    $('contact-identities').textContent = (pop.identities || []).map((identity) => identity.value).join(', ') || number || '–';
    $('contact-tier').textContent = (contact && contact.tier) || '–';
    $('contact-company').textContent = (contact && contact.company) || '–';
    const open = pop.open || [];
    $('contact-open').replaceChildren(open.length ? el('ul', {}, ...open.map((item) => el('li', { text: item.subject || item.summary || '' }))) : '–');
    Omni.renderTimeline($('contact-timeline'), events, 'contact', loaded.older);
    document.title = t('app.title') + ': ' + $('contact-name').textContent;
  }
  try {
    const known = id && id !== 'unknown' ? id : null;
    if (!known && !number) throw new Error('contact.html?id=CONTACT or ?number=NUMBER');
    loaded = await Omni.customer({ id: known, number });
    render();
  } catch (problem) {
    $('error').textContent = t('error', { message: problem.message });
  }
  Omni.onLanguage(render);
  document.body.dataset.ready = 'true';
})();
