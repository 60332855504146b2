// Billing events: filter by type and outcome, "Load more", and one event's raw payload.
import { el, clear, heading, card, field, timeEl } from '../dom.js';
import { userLink } from './common.js';

async function renderList(root, params, app) {
  const q = params.query;
  const type = field('Type', { name: 'type', type: 'select', options: [{ value: '', label: 'All types' }], value: '' });
  const outcome = field('Outcome', { name: 'outcome', type: 'select', value: q.get('outcome') || '',
    options: [{ value: '', label: 'All' }, { value: 'applied', label: 'Applied' }, { value: 'ignored', label: 'Ignored' }] });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Filter billing events' }, type.row, outcome.row, el('button', { type: 'submit' }, 'Filter'));
  const tbody = el('tbody');
  const status = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  let next = null;
  let typesLoaded = false;

  async function load(append) {
    const sp = new URLSearchParams({ limit: '50' });
    if (type.input.value) sp.set('type', type.input.value);
    if (outcome.input.value) sp.set('outcome', outcome.input.value);
    if (append && next !== null) sp.set('before', String(next));
    const page = await app.api.get(`/billing/events?${sp}`);
    if (!typesLoaded) {
      typesLoaded = true;
      const want = q.get('type') || '';
      for (const t of page.types) type.input.append(el('option', { value: t, selected: t === want }, t));
      if (want && type.input.value === want && !append) return load(false);
    }
    if (!append) clear(tbody);
    for (const e of page.items) {
      tbody.append(el('tr',
        el('td', timeEl(e.received)),
        el('td', el('a', { href: `/ui/admin/billing/${encodeURIComponent(e.id)}` }, e.type)),
        el('td', e.user ? userLink(e.user) : '—'),
        el('td', el('span', { class: ['badge', e.outcome === 'applied' ? 'badge-ok' : 'badge-bad'] }, e.outcome)),
        el('td', { class: 'hide-narrow' }, e.effect)));
    }
    next = page.next;
    more.hidden = next === null;
    status.textContent = tbody.children.length ? `${tbody.children.length} events shown.` : 'No events match.';
    return undefined;
  }
  app.onSubmit(form, async () => load(false));
  more.addEventListener('click', () => load(true).catch((e) => app.showError(e)));
  root.append(heading('Billing events'), card(null, form, status,
    el('div', { class: 'table-wrap' }, el('table',
      el('thead', el('tr', ['Received', 'Type', 'User', 'Outcome'].map((h) => el('th', { scope: 'col' }, h)), el('th', { scope: 'col', class: 'hide-narrow' }, 'Effect'))),
      tbody)), el('div', { class: 'actions' }, more)));
  await load(false);
}

async function renderEvent(root, params, app) {
  const e = await app.api.get(`/billing/events/${encodeURIComponent(params.id)}`);
  root.append(heading(e.type, el('a', { href: '/ui/admin/billing' }, 'All billing events')),
    card('Event', el('dl', { class: 'facts' },
      el('dt', 'ID'), el('dd', el('code', e.id)),
      el('dt', 'Received'), el('dd', timeEl(e.received)),
      el('dt', 'Created (provider)'), el('dd', new Date(e.created * 1000).toISOString()),
      el('dt', 'User'), el('dd', e.user ? userLink(e.user) : '—'),
      el('dt', 'Outcome'), el('dd', e.outcome),
      el('dt', 'Effect'), el('dd', e.effect))),
    card('Raw payload', el('pre', { class: 'payload', tabindex: 0, 'aria-label': 'Raw payload (JSON)' }, JSON.stringify(e.payload, null, 2))));
}

export default [
  { path: '/ui/admin/billing', title: 'Billing events', access: 'admin', render: renderList },
  { path: '/ui/admin/billing/:id', title: 'Billing event', access: 'admin', render: renderEvent },
];
