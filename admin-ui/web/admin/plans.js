// Plans editor: list, add ("New plan"), edit, delete (a plan no user is on).
import { el, clear, heading, card, field, formatBytes } from '../dom.js';
import { gibToBytes, bytesToGib, confirmDialog } from './common.js';

function planForm(app, plan, onDone, onCancel) {
  const editing = Boolean(plan);
  const name = field('Name', { name: 'name', required: true, value: plan ? plan.name : '', readonly: editing,
    help: editing ? null : 'Lower-case letters, digits, - and _.' });
  const quota = field('Quota (GiB)', { name: 'quota', type: 'number', min: 0, step: 'any', required: true, value: plan ? bytesToGib(plan.bytes_limit) : '' });
  const objects = field('Object limit', { name: 'objects', type: 'number', min: 0, step: 1, value: plan && plan.objects_limit !== null ? plan.objects_limit : '', help: 'Empty: no limit.' });
  const price = field('Price ID', { name: 'price', value: plan && plan.price_id ? plan.price_id : '', help: 'The billing provider\'s price, for online upgrades. Empty: not for sale.' });
  const pubId = `plan-public-${editing ? plan.name : 'new'}`;
  const pub = el('input', { type: 'checkbox', id: pubId, checked: plan ? plan.public : true });
  const form = el('form', { 'aria-label': editing ? `Edit plan ${plan.name}` : 'New plan' }, name.row, quota.row, objects.row, price.row,
    el('div', { class: 'field' }, el('label', { for: pubId }, pub, ' Public (users can choose it)')),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, editing ? 'Save plan' : 'Create plan'),
      el('button', { type: 'button', class: 'secondary', onclick: onCancel }, 'Cancel')));
  app.onSubmit(form, async (fd) => {
    const objectsText = String(fd.get('objects') || '').trim();
    const body = {
      bytes_limit: gibToBytes(fd.get('quota')),
      objects_limit: objectsText === '' ? null : Number(objectsText),
      price_id: String(fd.get('price') || '').trim() || null,
      public: pub.checked,
    };
    if (body.bytes_limit === null) throw new Error('Enter the quota in GiB.');
    if (editing) await app.api.patch(`/plans/${encodeURIComponent(plan.name)}`, body);
    else await app.api.post('/plans', { name: String(fd.get('name')).trim(), ...body });
    app.toast(editing ? `Plan ${plan.name} saved` : 'Plan created', 'ok');
    onDone();
  });
  return form;
}

async function render(root, params, app) {
  const list = el('div');
  const formBox = el('div');
  const newBtn = el('button', { type: 'button', onclick: () => showForm(null) }, 'New plan');
  root.append(heading('Plans', newBtn), formBox, card(null, list));

  function showForm(plan) {
    clear(formBox).append(card(plan ? `Edit plan ${plan.name}` : 'New plan', planForm(app, plan, () => { clear(formBox); load(); }, () => { clear(formBox); newBtn.focus(); })));
    const first = formBox.querySelector(plan ? 'input[name=quota]' : 'input[name=name]');
    if (first) first.focus();
  }

  async function load() {
    const [plans, overview] = await Promise.all([app.api.get('/plans'), app.api.get('/admin/overview').catch(() => null)]);
    const users = new Map((overview ? overview.plans : []).map((p) => [p.plan, p.users]));
    const rows = plans.items.map((p) => el('tr',
      el('td', p.name),
      el('td', { class: 'num' }, formatBytes(p.bytes_limit)),
      el('td', { class: 'num hide-narrow' }, p.objects_limit === null ? 'no limit' : p.objects_limit.toLocaleString()),
      el('td', { class: 'hide-narrow' }, p.price_id || '—'),
      el('td', p.public ? 'Public' : 'Hidden'),
      el('td', { class: 'num' }, users.has(p.name) ? String(users.get(p.name)) : '—'),
      el('td', el('div', { class: 'actions' },
        el('button', { type: 'button', class: 'secondary small', 'aria-label': `Edit ${p.name}`, onclick: () => showForm(p) }, 'Edit'),
        el('button', { type: 'button', class: 'danger small', 'aria-label': `Delete ${p.name}`, onclick: async () => {
          if (!await confirmDialog(`Delete plan ${p.name}?`, 'Only a plan no user is on can be deleted.', 'Delete plan')) return;
          try { await app.api.del(`/plans/${encodeURIComponent(p.name)}`); app.toast(`Plan ${p.name} deleted`, 'ok'); load(); } catch (e) { app.showError(e); }
        } }, 'Delete')))));
    clear(list).append(el('div', { class: 'table-wrap' }, el('table',
      el('thead', el('tr', el('th', { scope: 'col' }, 'Name'), el('th', { scope: 'col', class: 'num' }, 'Quota'),
        el('th', { scope: 'col', class: 'num hide-narrow' }, 'Objects'), el('th', { scope: 'col', class: 'hide-narrow' }, 'Price ID'),
        el('th', { scope: 'col' }, 'Visibility'), el('th', { scope: 'col', class: 'num' }, 'Users'), el('th', { scope: 'col' }, el('span', { class: 'visually-hidden' }, 'Actions')))),
      el('tbody', rows))));
  }
  await load();
}

export default { path: '/ui/admin/plans', title: 'Plans', access: 'admin', render };
