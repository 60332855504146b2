// Users: the table (server-side search, sort by clicking a header, paging) with a "Create user"
// form; and one user's detail page.
import { el, clear, heading, card, field, formatBytes, timeEl, usageBar } from '../dom.js';
import { table, userLink, gibToBytes, bytesToGib, confirmDialog } from './common.js';

const PAGE = 50;
const COLUMNS = [
  { key: 'name', label: 'Name' },
  { key: 'email', label: 'Email', narrow: true },
  { key: 'plan', label: 'Plan' },
  { key: 'used', label: 'Used', num: true },
  { key: 'created', label: 'Created', narrow: true },
];

async function planOptions(app) {
  const plans = await app.api.get('/plans');
  return plans.items.map((p) => ({ value: p.name, label: `${p.name} (${formatBytes(p.bytes_limit)})` }));
}

function createUserForm(app, plans, onCreated) {
  const name = field('Name', { name: 'name', required: true, autocomplete: 'off' });
  const email = field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'off' });
  const password = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 8 });
  const plan = field('Plan', { name: 'plan', type: 'select', options: plans, value: 'free' });
  const admin = el('input', { type: 'checkbox', name: 'is_admin', id: 'new-user-admin' });
  const form = el('form', { 'aria-label': 'Create user' }, name.row, email.row, password.row, plan.row,
    el('div', { class: 'field' }, el('label', { for: 'new-user-admin' }, admin, ' Administrator')),
    el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Create user')));
  app.onSubmit(form, async (fd) => {
    const u = await app.api.post('/users', {
      name: fd.get('name'), email: fd.get('email'), password: fd.get('password'), plan: fd.get('plan'), is_admin: admin.checked,
    });
    form.reset();
    app.toast(`User ${u.name} created`, 'ok');
    onCreated(u);
  });
  return form;
}

async function renderList(root, params, app) {
  const q = params.query;
  // Keyset paging: `after` is the server's cursor; `back` keeps the cursors of earlier pages.
  const state = { q: q.get('q') || '', sort: q.get('sort') || 'name', order: q.get('order') || 'asc', after: null, back: [], page: 0 };
  const restart = () => { state.after = null; state.back = []; state.page = 0; };
  const search = field('Search users', { name: 'q', type: 'search', value: state.q, placeholder: 'Name or email', help: 'Part of a name or an email address.' });
  const status = el('p', { class: 'muted', role: 'status', 'aria-live': 'polite' });
  const tableBox = el('div');
  const pager = el('div', { class: 'actions' });
  let seq = 0;

  const sync = () => {
    const sp = new URLSearchParams();
    if (state.q) sp.set('q', state.q);
    if (state.sort !== 'name') sp.set('sort', state.sort);
    if (state.order !== 'asc') sp.set('order', state.order);
    const qs = sp.toString();
    window.history.replaceState(window.history.state, '', `/ui/admin/users${qs ? `?${qs}` : ''}`);
  };

  const headerCell = (c) => {
    const active = state.sort === c.key;
    const btn = el('button', { type: 'button', class: 'link sort', onclick: () => {
      if (state.sort === c.key) state.order = state.order === 'asc' ? 'desc' : 'asc';
      else { state.sort = c.key; state.order = c.key === 'used' || c.key === 'created' ? 'desc' : 'asc'; }
      restart();
      load(c.key);
    } }, c.label, active ? (state.order === 'asc' ? ' ▲' : ' ▼') : '');
    return el('th', { scope: 'col', class: [c.num ? 'num' : '', c.narrow ? 'hide-narrow' : ''], 'aria-sort': active ? (state.order === 'asc' ? 'ascending' : 'descending') : 'none' }, btn);
  };

  async function load(focusKey) {
    const mine = ++seq;
    sync();
    const sp = new URLSearchParams({ sort: state.sort, order: state.order, limit: String(PAGE) });
    if (state.after !== null) sp.set('after', state.after);
    if (state.q) sp.set('q', state.q);
    status.textContent = 'Loading…';
    let page;
    try {
      page = await app.api.get(`/users?${sp}`);
    } catch (err) {
      if (mine === seq) status.textContent = app.errorMessage(err);
      return;
    }
    if (mine !== seq) return;  // a newer search answered first
    const first = state.page * PAGE;
    const from = page.items.length ? first + 1 : 0;
    const to = first + page.items.length;
    const total = `${page.total_exact ? '' : 'about '}${page.total.toLocaleString()}`;
    status.textContent = `Showing ${from}–${to} of ${total} users${state.q ? ` matching “${state.q}”` : ''}.`;
    const rows = page.items.map((u) => el('tr',
      el('td', userLink(u.name), u.is_admin ? el('span', { class: 'badge' }, 'admin') : null, u.status !== 'active' ? el('span', { class: 'badge badge-bad' }, u.status) : null),
      el('td', { class: 'hide-narrow' }, u.email),
      el('td', u.plan),
      el('td', { class: 'num' }, `${formatBytes(u.bytes_used)} of ${formatBytes(u.bytes_limit)}`),
      el('td', { class: 'hide-narrow' }, timeEl(u.created))));
    const t = el('table', el('caption', { class: 'visually-hidden' }, 'Users; activate a column header to sort'),
      el('thead', el('tr', COLUMNS.map(headerCell))),
      el('tbody', rows.length ? rows : el('tr', el('td', { colspan: COLUMNS.length, class: 'empty' }, 'No users match.'))));
    clear(tableBox).append(el('div', { class: 'table-wrap' }, t));
    if (focusKey) {
      const idx = COLUMNS.findIndex((c) => c.key === focusKey);
      const b = t.querySelectorAll('thead button')[idx];
      if (b) b.focus();
    }
    clear(pager).append(
      el('button', { type: 'button', class: 'secondary', disabled: state.page === 0, onclick: () => { state.after = state.back.pop() ?? null; state.page -= 1; load(); } }, 'Previous page'),
      el('button', { type: 'button', class: 'secondary', disabled: page.next === null, onclick: () => { state.back.push(state.after); state.after = page.next; state.page += 1; load(); } }, 'Next page'));
  }

  let timer = null;
  search.input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => { state.q = search.input.value.trim(); restart(); load(); }, 250);
  });
  const searchForm = el('form', { role: 'search', class: 'inline-form', onsubmit: (ev) => { ev.preventDefault(); clearTimeout(timer); state.q = search.input.value.trim(); restart(); load(); } }, search.row);
  const plans = await planOptions(app);
  root.append(heading('Users'), card(null, searchForm, status, tableBox, pager),
    card('Create user', createUserForm(app, plans, () => load())));
  await load();
  return () => clearTimeout(timer);
}

// ---- one user ------------------------------------------------------------------------------

async function renderDetail(root, params, app) {
  const name = params.name;
  const path = `/users/${encodeURIComponent(name)}`;
  const [user, plans] = await Promise.all([app.api.get(path), planOptions(app)]);
  root.append(heading(user.name, el('a', { href: '/ui/admin/users' }, 'All users')));
  const usage = user.usage || { bytes_used: 0, bytes_limit: 0, objects_used: 0 };
  const reload = () => app.navigate(`/ui/admin/users/${encodeURIComponent(name)}`, { replace: true });

  root.append(card('Account',
    el('dl', { class: 'facts' },
      el('dt', 'Email'), el('dd', user.email, user.email_verified ? '' : ' (not verified)'),
      el('dt', 'Status'), el('dd', user.status),
      el('dt', 'Role'), el('dd', user.is_admin ? 'Administrator' : 'User'),
      el('dt', 'Plan'), el('dd', user.plan),
      el('dt', 'Two-factor'), el('dd', user.totp_enabled ? 'On' : 'Off'),
      el('dt', 'Created'), el('dd', timeEl(user.created))),
    el('h3', 'Usage'),
    usageBar(usage.bytes_used, usage.bytes_limit),
    el('p', { class: 'muted' }, `${usage.objects_used.toLocaleString()} objects${usage.objects_limit ? ` of ${usage.objects_limit.toLocaleString()}` : ''}${usage.read_only ? ' — over quota: read and delete only' : ''}`)));

  // Plan and quota.
  const plan = field('Plan', { name: 'plan', type: 'select', options: plans, value: user.plan });
  const planForm = el('form', { class: 'inline-form', 'aria-label': 'Change plan' }, plan.row, el('button', { type: 'submit' }, 'Change plan'));
  app.onSubmit(planForm, async (fd) => { await app.api.patch(path, { plan: fd.get('plan') }); app.toast('Plan changed', 'ok'); reload(); });
  const quota = field('Quota override (GiB)', { name: 'quota', type: 'number', min: 0, step: 'any', value: bytesToGib(user.quota_bytes_override), help: 'Empty: the plan\'s limit.' });
  const quotaForm = el('form', { class: 'inline-form', 'aria-label': 'Quota override' }, quota.row, el('button', { type: 'submit' }, 'Save quota'));
  app.onSubmit(quotaForm, async (fd) => { await app.api.patch(path, { quota_bytes_override: gibToBytes(fd.get('quota')) }); app.toast('Quota saved', 'ok'); reload(); });

  const suspended = user.status === 'suspended';
  const actions = el('div', { class: 'actions' },
    el('button', { type: 'button', class: suspended ? '' : 'secondary', onclick: async () => {
      try { await app.api.post(`${path}/${suspended ? 'reactivate' : 'suspend'}`, {}); app.toast(suspended ? 'Reactivated' : 'Suspended', 'ok'); reload(); } catch (e) { app.showError(e); }
    } }, suspended ? 'Reactivate' : 'Suspend'),
    el('button', { type: 'button', class: 'secondary', onclick: async () => {
      try { const r = await app.api.post(`${path}/password-reset`, {}); app.toast(`Password reset sent to ${r.sent_to}`, 'ok'); } catch (e) { app.showError(e); }
    } }, 'Send password reset'),
    el('button', { type: 'button', class: 'danger', onclick: async () => {
      if (!await confirmDialog(`Delete ${user.name}?`, 'The account, its buckets and every file in them are deleted. This cannot be undone.', 'Delete user')) return;
      try { await app.api.del(path); app.toast(`${user.name} deleted`, 'ok'); app.navigate('/ui/admin/users'); } catch (e) { app.showError(e); }
    } }, 'Delete user'));
  root.append(card('Manage', planForm, quotaForm, actions));

  // Buckets, sessions, keys, bans, billing events (each loads on its own).
  const section = (title, loader) => {
    const box = el('div', { class: 'loading' }, 'Loading…');
    const c = card(title, box);
    root.append(c);
    loader().then((node) => clear(box).append(node), (err) => clear(box).append(el('p', { class: 'alert alert-error' }, app.errorMessage(err))))
      .finally(() => box.classList.remove('loading'));
  };
  const revoke = (url, label) => el('button', { type: 'button', class: 'secondary small', onclick: async () => {
    try { await app.api.del(url); app.toast(`${label} revoked`, 'ok'); reload(); } catch (e) { app.showError(e); }
  } }, 'Revoke');

  section('Buckets', async () => {
    const r = await app.api.get(`${path}/buckets`);
    return table(['Bucket', 'Objects', 'Stored', 'Created'], r.items.map((b) => [
      el('a', { href: `/ui/admin/users/${encodeURIComponent(user.name)}/files/${encodeURIComponent(b.name)}/` }, b.name),
      b.objects.toLocaleString(), formatBytes(b.bytes), timeEl(b.created)]), { num: [1, 2], empty: 'No buckets.' });
  });
  section('Sessions', async () => {
    const r = await app.api.get(`${path}/sessions`);
    return table(['From', 'Browser', 'Last seen', ''], r.items.map((s) => [s.remote_addr, s.user_agent, timeEl(s.last_seen),
      revoke(`${path}/sessions/${s.id}`, 'Session')]), { empty: 'No sessions.' });
  });
  section('Access keys', async () => {
    const r = await app.api.get(`${path}/keys`);
    return table(['Key', 'Label', 'Created', ''], r.items.map((k) => [el('code', k.id), k.label, timeEl(k.created),
      revoke(`${path}/keys/${encodeURIComponent(k.id)}`, 'Key')]), { empty: 'No access keys.' });
  });
  section('App passwords', async () => {
    const r = await app.api.get(`${path}/app-passwords`);
    return table(['Name', 'Created', 'Last used', ''], r.items.map((a) => [a.name, timeEl(a.created), a.last_used ? timeEl(a.last_used) : '—',
      revoke(`${path}/app-passwords/${a.id}`, 'App password')]), { empty: 'No app passwords.' });
  });
  section('Bans', async () => {
    const r = await app.api.get('/bans');
    const mine = r.items.filter((b) => b.scope === `user:${user.name}`);
    return table(['Scope', 'Failures', 'Banned until', ''], mine.map((b) => [b.scope, String(b.failures), timeEl(b.banned_until),
      el('button', { type: 'button', class: 'secondary small', onclick: async () => {
        try { await app.api.del(`/bans/${encodeURIComponent(b.scope)}`); app.toast('Ban lifted', 'ok'); reload(); } catch (e) { app.showError(e); }
      } }, 'Lift ban')]), { empty: 'Not banned.' });
  });
  section('Recent billing events', async () => {
    const r = await app.api.get(`${path}/billing-events?limit=10`);
    return table(['Received', 'Type', 'Effect'], r.items.map((e) => [timeEl(e.received),
      el('a', { href: `/ui/admin/billing/${encodeURIComponent(e.id)}` }, e.type), e.effect]), { empty: 'No billing events.' });
  });
}

export default [
  { path: '/ui/admin/users', title: 'Users', access: 'admin', render: renderList },
  { path: '/ui/admin/users/:name', title: 'User', access: 'admin', render: renderDetail },
];
