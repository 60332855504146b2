// Audit log: every admin action (who, what, target, when, from where), filter by actor/action.
import { el, clear, heading, card, field, timeEl } from '../dom.js';

async function render(root, params, app) {
  const q = params.query;
  const actor = field('Actor', { name: 'actor', value: q.get('actor') || '', placeholder: 'admin name' });
  const action = field('Action', { name: 'action', value: q.get('action') || '', placeholder: 'e.g. SuspendUser' });
  const form = el('form', { class: 'inline-form', 'aria-label': 'Filter the audit log' }, actor.row, action.row, el('button', { type: 'submit' }, 'Filter'));
  const tbody = el('tbody');
  const status = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  let next = null;

  async function load(append) {
    const sp = new URLSearchParams({ limit: '100' });
    if (actor.input.value.trim()) sp.set('actor', actor.input.value.trim());
    if (action.input.value.trim()) sp.set('action', action.input.value.trim());
    if (append && next !== null) sp.set('before', String(next));
    const page = await app.api.get(`/audit?${sp}`);
    if (!append) clear(tbody);
    for (const e of page.items) {
      tbody.append(el('tr',
        el('td', timeEl(e.at)),
        el('td', e.actor),
        el('td', e.action),
        el('td', e.target || '—'),
        el('td', { class: 'hide-narrow' }, e.actor_addr),
        el('td', { class: 'hide-narrow' }, el('code', JSON.stringify(e.details)))));
    }
    next = page.next;
    more.hidden = next === null;
    status.textContent = tbody.children.length ? `${tbody.children.length} entries shown.` : 'No entries match.';
  }
  app.onSubmit(form, async () => load(false));
  more.addEventListener('click', () => load(true).catch((e) => app.showError(e)));
  root.append(heading('Audit log'), card(null, form, status, el('div', { class: 'table-wrap' }, el('table',
    el('thead', el('tr', ['When', 'Who', 'Action', 'Target'].map((h) => el('th', { scope: 'col' }, h)),
      el('th', { scope: 'col', class: 'hide-narrow' }, 'From'), el('th', { scope: 'col', class: 'hide-narrow' }, 'Details'))),
    tbody)), el('div', { class: 'actions' }, more)));
  await load(false);
}

export default { path: '/ui/admin/audit', title: 'Audit log', access: 'admin', render };
