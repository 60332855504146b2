// Account: email, password, two-factor sign-in, sessions, sign out everywhere, delete account.
import { el, field, heading, card, timeEl, codeBlock, clear, formatRelative } from '../dom.js';
import { userPath } from '../api.js';

function emailCard(app, base) {
  const email = field('New email address', { name: 'email', type: 'email', required: true, autocomplete: 'email' });
  const password = field('Your password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const form = el('form', {'aria-label': 'Change email'}, email.row, password.row, el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Change email')));
  const status = el('div');
  app.onSubmit(form, async () => {
    const res = await app.api.patch(base, { email: email.input.value.trim(), password: password.input.value });
    form.reset();
    if (res && res.email_change_pending) {
      clear(status).append(el('div', {class: 'alert alert-info', role: 'status'},
        `We sent a confirmation link to ${res.email_change_pending}. Your address changes once you open it.`));
    } else {
      await app.refreshMe();
      clear(status).append(el('div', {class: 'alert alert-ok', role: 'status'}, 'Your email address was changed.'));
    }
  });
  return card('Email', el('p', 'Current address: ', el('strong', app.me.email), app.me.email_verified ? '' : ' (not confirmed yet)'), status, form);
}

function passwordCard(app, base) {
  const current = field('Current password', { name: 'current_password', type: 'password', required: true, autocomplete: 'current-password' });
  const next = field('New password', { name: 'new_password', type: 'password', required: true, autocomplete: 'new-password', minlength: 10, help: 'At least 10 characters. Your other sessions are signed out.' });
  const again = field('Repeat the new password', { name: 'again', type: 'password', required: true, autocomplete: 'new-password' });
  const form = el('form', {'aria-label': 'Change password'}, current.row, next.row, again.row, el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Change password')));
  app.onSubmit(form, async () => {
    if (next.input.value !== again.input.value) throw new Error('The two new passwords are not the same.');
    await app.api.post(`${base}/password`, { current_password: current.input.value, new_password: next.input.value });
    form.reset();
    app.toast('Your password was changed. Other sessions were signed out.', 'ok');
  });
  return card('Password', form);
}

function totpCard(app, base, reload) {
  const body = el('div');
  const section = card('Two-factor sign-in', body);
  if (app.me.totp_enabled) {
    const pw = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password', help: 'Confirm with your password to turn two-factor sign-in off.' });
    const form = el('form', {'aria-label': 'Disable two-factor sign-in'}, pw.row, el('div', {class: 'actions'}, el('button', {type: 'submit', class: 'danger'}, 'Turn off two-factor sign-in')));
    app.onSubmit(form, async () => {
      await app.api.post(`${base}/totp/disable`, { password: pw.input.value });
      app.toast('Two-factor sign-in is off.', 'ok');
      await reload();
    });
    body.append(el('p', el('strong', 'On. '), 'Signing in asks for a code from your authenticator app.'), form);
    return section;
  }
  const start = el('button', {type: 'button'}, 'Set up two-factor sign-in');
  body.append(el('p', 'Off. With two-factor sign-in, signing in also needs a code from an authenticator app (any TOTP app).'),
    el('div', {class: 'actions'}, start));
  start.addEventListener('click', async () => {
    start.disabled = true;
    try {
      const s = await app.api.post(`${base}/totp/setup`);
      const code = field('Code from the app', { name: 'code', required: true, inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9 ]{6,8}' });
      const form = el('form', {'aria-label': 'Enable two-factor sign-in'}, code.row, el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Turn on')));
      clear(body).append(
        el('ol', {class: 'steps'},
          el('li', 'In your authenticator app, add an account with this setup key:', codeBlock(s.secret, app.toast, 'Copy key'),
            'or open this link on a device that has the app:', codeBlock(s.otpauth_uri, app.toast, 'Copy link'),
            el('p', el('a', {href: s.otpauth_uri}, 'Open in authenticator app'))),
          el('li', 'Enter the 6-digit code it shows:')),
        form);
      code.input.focus();
      app.onSubmit(form, async () => {
        const r = await app.api.post(`${base}/totp/enable`, { code: code.input.value.replace(/\s+/g, '') });
        app.me.totp_enabled = true;
        const done = el('button', {type: 'button'}, 'I saved them');
        const box = el('div', {class: 'secret', role: 'status', tabindex: '-1'},
          el('h3', 'Two-factor sign-in is on'),
          el('p', el('strong', 'Save these recovery codes now: '), 'each one signs you in once if you lose your phone. They are shown only once.'),
          codeBlock((r.recovery_codes || []).join('\n'), app.toast, 'Copy codes'),
          el('div', {class: 'actions'}, done));
        done.addEventListener('click', reload);
        clear(body).append(box);
        box.focus();
      });
    } catch (err) {
      app.showError(err);
      start.disabled = false;
    }
  });
  return section;
}

function sessionsCard(app, base) {
  const list = el('div');
  async function load() {
    const res = await app.api.get(`${base}/sessions`);
    const items = res.items || [];
    if (!items.length) { clear(list).append(el('p', {class: 'empty'}, 'No sessions.')); return; }
    const rows = items.map((s) => el('tr',
      el('td', s.user_agent ? shortAgent(s.user_agent) : 'Unknown browser', s.current ? el('span', {class: 'badge'}, 'this one') : null),
      el('td', {class: 'hide-narrow'}, s.remote_addr || '—'),
      el('td', el('span', {title: s.last_seen}, formatRelative(s.last_seen))),
      el('td', {class: 'hide-narrow'}, timeEl(s.expires)),
      el('td', s.current ? null : el('button', {type: 'button', class: 'secondary small', 'aria-label': `End session ${s.id}`, onclick: async () => {
        try {
          await app.api.del(`${base}/sessions/${encodeURIComponent(s.id)}`);
          app.toast('The session was ended.', 'ok');
          await load();
        } catch (err) { app.showError(err); }
      }}, 'End'))));
    clear(list).append(el('div', {class: 'table-wrap'}, el('table',
      el('thead', el('tr', el('th', {scope: 'col'}, 'Browser'), el('th', {scope: 'col', class: 'hide-narrow'}, 'Address'),
        el('th', {scope: 'col'}, 'Last active'), el('th', {scope: 'col', class: 'hide-narrow'}, 'Expires'), el('th', {scope: 'col'}, 'Actions'))),
      el('tbody', rows))));
  }
  const everywhere = el('button', {type: 'button', class: 'secondary', onclick: async () => {
    if (!window.confirm('Sign out of every browser and revoke every API token?')) return;
    await app.signOut(true);
  }}, 'Sign out everywhere');
  return { section: card('Sessions', list, el('div', {class: 'actions'}, everywhere)), load };
}

function shortAgent(ua) {
  const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrom(e|ium)\//.test(ua) ? 'Chrome' : /Safari\//.test(ua) ? 'Safari' : null;
  const os = /Windows/.test(ua) ? 'Windows' : /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS' : /Linux/.test(ua) ? 'Linux' : null;
  if (browser || os) return [browser, os].filter(Boolean).join(' on ');
  return ua.length > 60 ? `${ua.slice(0, 60)}…` : ua;
}

function deleteCard(app, base) {
  const pw = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
  const confirmName = field(`Type your user name (${app.me.name}) to confirm`, { name: 'confirm', required: true, autocomplete: 'off' });
  const form = el('form', {'aria-label': 'Delete account'},
    el('p', 'This deletes your account, every bucket and every file in it, your keys and app passwords. It cannot be undone.'),
    pw.row, confirmName.row, el('div', {class: 'actions'}, el('button', {type: 'submit', class: 'danger'}, 'Delete my account')));
  app.onSubmit(form, async () => {
    if (confirmName.input.value.trim() !== app.me.name) throw new Error('Type your user name exactly to confirm.');
    await app.api.del(base, { password: pw.input.value });
    app.me = null;
    app.api.setCsrf('');
    await app.refreshMe();
    app.navigate('/ui/login', { replace: true });
    app.toast('Your account was deleted.', 'ok');
  });
  return card('Delete account', form);
}

async function render(root, params, app) {
  const base = userPath(app.me.name);
  const body = el('div');
  root.append(heading('Account'), body);
  async function reload() {
    await app.refreshMe();
    const sessions = sessionsCard(app, base);
    clear(body).append(
      card('Profile', el('dl', {class: 'facts'},
        el('dt', 'User name'), el('dd', app.me.name),
        el('dt', 'Plan'), el('dd', app.me.plan),
        el('dt', 'Member since'), el('dd', timeEl(app.me.created)))),
      emailCard(app, base), passwordCard(app, base), totpCard(app, base, reload), sessions.section,
      app.me.is_admin ? card('Delete account', el('p', {class: 'muted'}, 'Administrators cannot delete their own account here.')) : deleteCard(app, base));
    await sessions.load();
  }
  await reload();
}

export default [{ path: '/ui/account', title: 'Account', render }];
