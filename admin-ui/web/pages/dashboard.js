// The dashboard: usage with the plan, upgrades (checkout), the over-quota notice, and the
// checkout return page (/ui/billing?checkout=success|cancel).
import { el, heading, card, usageBar, formatBytes } from '../dom.js';

function planLimits(p) {
  return `${formatBytes(p.bytes_limit)}${p.objects_limit ? `, up to ${p.objects_limit.toLocaleString()} objects` : ''}`;
}

async function render(root, params, app) {
  await app.refreshMe();
  const me = app.me;
  const usage = app.usage || { bytes_used: 0, objects_used: 0, bytes_limit: 0, read_only: false };
  root.append(heading(`Welcome, ${me.name}`));

  const checkout = params.query.get('checkout');
  if (checkout === 'success') {
    root.append(el('div', {class: 'alert alert-ok', role: 'status'},
      'Thank you! Your payment went through. The new plan applies as soon as the payment provider confirms it (usually within a minute).'));
  } else if (checkout === 'cancel') {
    root.append(el('div', {class: 'alert alert-info', role: 'status'}, 'The checkout was cancelled; nothing was charged.'));
  }
  if (usage.read_only) {
    root.append(el('div', {class: 'alert alert-warn', role: 'alert'},
      el('strong', 'Your storage is over its quota. '),
      'You can still read, download, move and delete files, but uploads are refused until you free some space or upgrade your plan.'));
  }
  if (me.status === 'pending' || me.email_verified === false) {
    root.append(el('div', {class: 'alert alert-info', role: 'status'}, `Please confirm your email address (${me.email}) with the link we sent you.`));
  }

  const stats = el('div', {class: 'grid stats'},
    el('div', el('p', {class: 'stat-label'}, 'Plan'), el('p', {class: 'stat', 'data-testid': 'plan-name'}, me.plan)),
    el('div', el('p', {class: 'stat-label'}, 'Stored'), el('p', {class: 'stat', 'data-testid': 'bytes-used'}, formatBytes(usage.bytes_used))),
    el('div', el('p', {class: 'stat-label'}, 'Objects'), el('p', {class: 'stat'}, Number(usage.objects_used || 0).toLocaleString())));
  root.append(card('Storage', stats, usageBar(usage.bytes_used, usage.bytes_limit),
    el('div', {class: 'actions'}, el('a', {href: '/ui/files', class: 'button'}, 'Open files'),
      el('a', {href: '/ui/connect', class: 'button secondary'}, 'Connect a drive or S3 client'))));

  let plans = [];
  try {
    const list = await app.api.get('/plans');
    plans = (list.items || list || []).filter((p) => p.public !== false || p.name === me.plan);
  } catch (err) {
    root.append(el('div', {class: 'alert alert-error', role: 'alert'}, app.errorMessage(err)));
  }
  if (plans.length) {
    const items = plans.sort((a, b) => a.bytes_limit - b.bytes_limit).map((p) => {
      const current = p.name === me.plan;
      const paid = Boolean(p.price_id);
      let action = null;
      if (current) action = el('p', {class: 'muted'}, 'Your plan');
      else if (paid && p.bytes_limit > usage.bytes_limit) {
        action = el('button', {type: 'button', 'aria-label': `Upgrade to ${p.name}`, onclick: async (ev) => {
          ev.target.disabled = true;
          try {
            const res = await app.api.post('/billing/checkout', { plan: p.name });
            window.location.assign(res.url);
          } catch (err) {
            app.showError(err);
            ev.target.disabled = false;
          }
        }}, 'Upgrade');
      } else if (paid) action = el('p', {class: 'muted'}, 'Available');
      else action = el('p', {class: 'muted'}, p.name === 'free' ? 'Free' : 'Ask an administrator');
      return el('div', {class: ['plan', current ? 'current' : '']}, el('h3', p.name), el('p', planLimits(p)), action);
    });
    const portal = el('button', {type: 'button', class: 'secondary', onclick: async (ev) => {
      ev.target.disabled = true;
      try {
        const res = await app.api.post('/billing/portal');
        window.location.assign(res.url);
      } catch (err) {
        app.showError(err);
        ev.target.disabled = false;
      }
    }}, 'Manage subscription');
    root.append(card('Plans', el('div', {class: 'plans'}, items), el('div', {class: 'actions'}, portal)));
  }
}

export default [
  { path: '/ui/', title: 'Dashboard', render },
  { path: '/ui/billing', title: 'Billing', render },
];
