// Admin overview: cards (users, storage, plans), the storage-over-time chart, top users, recent
// billing events and server health.
import { el, heading, card, formatBytes, timeEl, formatRelative } from '../dom.js';
import { lineChart } from './chart.js';
import { table, userLink } from './common.js';

function stat(label, value, detail) {
  return el('div', { class: 'card' }, el('h2', label), el('p', { class: 'stat' }, value), detail ? el('p', { class: 'muted' }, detail) : null);
}

function health(h) {
  const db = h.database || {};
  const bs = h.blob_store || {};
  const sw = h.sweeper || {};
  const ok = (b) => el('span', { class: ['badge', b ? 'badge-ok' : 'badge-bad'] }, b ? 'OK' : 'Problem');
  return el('dl', { class: 'facts' },
    el('dt', 'Database'), el('dd', ok(db.ok), ` ${db.latency_ms} ms`),
    el('dt', 'Blob store'), el('dd', ok(bs.ok), bs.ok ? ` ${formatBytes(bs.free_bytes)} free of ${formatBytes(bs.total_bytes)}` : ' cannot read the data directory'),
    el('dt', 'Sweeper'), el('dd', ok(sw.runs > 0 && !sw.last_error),
      sw.last_run ? ` last run ${formatRelative(sw.last_run)} (every ${sw.interval_seconds} s)` : ' has not run yet',
      sw.last_error ? ` — ${sw.last_error}` : ''),
    el('dt', 'Servers alive'), el('dd', String(sw.nodes_alive)));
}

async function render(root, params, app) {
  root.append(heading('Overview'));
  const [o, hist] = await Promise.all([app.api.get('/admin/overview'), app.api.get('/admin/usage-history?days=30')]);
  const u = o.users;
  root.append(el('div', { class: 'grid' },
    stat('Users', String(u.total), `${u.active} active · ${u.suspended} suspended · ${u.pending} pending`),
    stat('Stored', formatBytes(o.storage.bytes), `${o.storage.objects.toLocaleString()} objects`),
    stat('Plans', String(o.plans.length), o.plans.map((p) => `${p.plan}: ${p.users}`).join(' · '))));
  const points = hist.items.map((s) => ({ t: new Date(s.at), v: s.bytes }));
  root.append(card('Storage used over time', lineChart(points, { title: 'Stored bytes, last 30 days', format: formatBytes }),
    el('p', { class: 'help' }, `One sample every ${hist.interval_seconds} s.`)));
  root.append(el('div', { class: 'grid' },
    card('Users per plan', table(['Plan', 'Users'], o.plans.map((p) => [p.plan, String(p.users)]), { num: [1] })),
    card('Health', health(o.health))));
  root.append(card('Top users by storage', table(['User', 'Plan', 'Stored', 'Objects'],
    o.top_users.map((t) => [userLink(t.name), t.plan, formatBytes(t.bytes), t.objects.toLocaleString()]), { num: [2, 3], empty: 'No users yet.' })));
  root.append(card('Recent billing events', table(['Received', 'Type', 'User', 'Effect'],
    o.recent_billing_events.map((e) => [timeEl(e.received), el('a', { href: `/ui/admin/billing/${encodeURIComponent(e.id)}` }, e.type),
      e.user ? userLink(e.user) : '—', e.effect]), { empty: 'No billing events received.' }),
    el('p', el('a', { href: '/ui/admin/billing' }, 'All billing events'))));
}

export default { path: '/ui/admin', title: 'Overview', access: 'admin', render };
