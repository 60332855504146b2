// Public pages: sign in (with the two-factor step), sign up, e-mail verification, password reset.
import { el, field, heading } from '../dom.js';

// Only same-site console paths are followed after sign-in (no open redirect).
function safeNext(query) {
  const next = query.get('next');
  return next && next.startsWith('/ui') && !next.startsWith('//') && !next.startsWith('/ui/login') ? next : '/ui/';
}

const login = {
  path: '/ui/login',
  title: 'Sign in',
  access: 'guest',
  render(root, params, app) {
    const name = field('User name or email', { name: 'name', required: true, autocomplete: 'username' });
    const password = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'current-password' });
    const totp = field('Authentication code', {
      name: 'totp', autocomplete: 'one-time-code', inputmode: 'numeric',
      help: 'The 6-digit code from your authenticator app, or one of your recovery codes.',
    });
    totp.row.hidden = true;
    const submit = el('button', {type: 'submit'}, 'Sign in');
    const form = el('form', {class: 'card', 'aria-label': 'Sign in', novalidate: false},
      name.row, password.row, totp.row,
      el('div', {class: 'actions'}, submit, el('a', {href: '/ui/forgot-password'}, 'Forgot your password?')));
    root.append(heading(`Sign in to ${app.branding.site_name || 'depot'}`), form,
      el('p', 'No account yet? ', el('a', {href: '/ui/signup'}, 'Create one'), '.'));
    if (params.query.get('reset') === 'done') root.prepend(el('div', {class: 'alert alert-ok', role: 'status'}, 'Your password was changed. Sign in with it.'));
    const errors = app.onSubmit(form, async () => {
      const body = { password: password.input.value };
      const who = name.input.value.trim();
      if (who.includes('@')) body.email = who; else body.name = who;
      if (!totp.row.hidden && totp.input.value.trim()) body.totp = totp.input.value.trim().replace(/\s+/g, '');
      try {
        const res = await app.api.post('/auth/login', body, { quiet401: true });
        await app.signedIn(res);
        app.navigate(safeNext(params.query), { replace: true });
      } catch (err) {
        if (err.code === 'totp_required') {
          const first = totp.row.hidden;
          totp.row.hidden = false;
          totp.input.required = true;
          submit.textContent = 'Verify and sign in';
          totp.input.focus();
          if (first) return;  // the prompt itself is the message
        }
        throw err;
      }
    });
    name.input.addEventListener('input', () => errors.clear());
    name.input.focus();
  },
};

const signup = {
  path: '/ui/signup',
  title: 'Create an account',
  access: 'guest',
  render(root, params, app) {
    const name = field('User name', {
      name: 'name', required: true, autocomplete: 'username',
      help: 'Lower-case letters, digits, dots, dashes and underscores. It is also your S3 and WebDAV user name.',
    });
    const email = field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' });
    const password = field('Password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 10, help: 'At least 10 characters.' });
    const invite = field('Invite code', { name: 'invite', value: params.query.get('invite') || '', help: 'Needed when sign-up is by invitation only.' });
    const form = el('form', {class: 'card', 'aria-label': 'Create an account'},
      name.row, email.row, password.row, invite.row,
      el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Create account')));
    root.append(heading('Create an account'), form, el('p', 'Already have one? ', el('a', {href: '/ui/login'}, 'Sign in'), '.'));
    app.onSubmit(form, async () => {
      const body = { name: name.input.value.trim(), email: email.input.value.trim(), password: password.input.value };
      if (invite.input.value.trim()) body.invite = invite.input.value.trim();
      const res = await app.api.post('/auth/signup', body);
      form.replaceWith(el('div', {class: 'card', role: 'status'},
        el('h2', 'Check your email'),
        el('p', 'We sent a link to ', el('strong', res.user.email), '. Open it to confirm your address.'),
        res.user.status === 'active' ? el('p', 'You can already ', el('a', {href: '/ui/login'}, 'sign in'), '.')
          : el('p', 'Once it is confirmed you can ', el('a', {href: '/ui/login'}, 'sign in'), '.')));
    });
  },
};

// The landing pages of the links in mails: the token is sent by POST from the page (a GET that
// consumed it would let mail scanners that prefetch links use it up).
function confirmPage(path, title, endpoint, done) {
  return {
    path,
    title,
    access: 'public',
    async render(root, params, app) {
      root.append(heading(title));
      const token = params.query.get('token');
      const box = el('div', {class: 'card', role: 'status'}, 'Confirming…');
      root.append(box);
      if (!token) { box.textContent = 'This link has no token. Open the link from the email again.'; return; }
      try {
        await app.api.post(endpoint, { token });
        box.replaceChildren(el('p', done),
          el('p', el('a', {href: app.me ? '/ui/' : '/ui/login', class: 'button'}, app.me ? 'Go to the dashboard' : 'Sign in')));
        if (app.me) await app.refreshMe();
      } catch (err) {
        box.className = 'alert alert-error';
        box.setAttribute('role', 'alert');
        box.textContent = `${app.errorMessage(err)} The link may have expired: sign in and ask for a new one.`;
      }
    },
  };
}

const verifyEmail = confirmPage('/ui/verify-email', 'Confirm your email', '/auth/verify-email',
  'Your email address is confirmed.');
const confirmEmailChange = confirmPage('/ui/confirm-email-change', 'Confirm your new email address',
  '/auth/email-change/confirm', 'Your new email address is confirmed and now in use.');

const forgotPassword = {
  path: '/ui/forgot-password',
  title: 'Reset your password',
  access: 'public',
  render(root, params, app) {
    const email = field('Email', { name: 'email', type: 'email', required: true, autocomplete: 'email' });
    const form = el('form', {class: 'card', 'aria-label': 'Request a password reset'},
      el('p', 'Enter the address of your account. We will send you a link to choose a new password.'),
      email.row, el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Send reset link'), el('a', {href: '/ui/login'}, 'Back to sign in')));
    root.append(heading('Reset your password'), form);
    app.onSubmit(form, async () => {
      await app.api.post('/auth/password-reset', { email: email.input.value.trim() });
      form.replaceWith(el('div', {class: 'card', role: 'status'},
        el('p', 'If this address belongs to an account, a reset link is on its way. It is valid for a limited time.'),
        el('p', el('a', {href: '/ui/login'}, 'Back to sign in'))));
    });
  },
};

const resetPassword = {
  path: '/ui/reset-password',
  title: 'Choose a new password',
  access: 'public',
  render(root, params, app) {
    const token = params.query.get('token') || '';
    root.append(heading('Choose a new password'));
    if (!token) {
      root.append(el('div', {class: 'alert alert-error', role: 'alert'}, 'This link has no token. ', el('a', {href: '/ui/forgot-password'}, 'Ask for a new link'), '.'));
      return;
    }
    const pw = field('New password', { name: 'password', type: 'password', required: true, autocomplete: 'new-password', minlength: 10, help: 'At least 10 characters.' });
    const again = field('Repeat the new password', { name: 'again', type: 'password', required: true, autocomplete: 'new-password' });
    const form = el('form', {class: 'card', 'aria-label': 'Choose a new password'}, pw.row, again.row,
      el('div', {class: 'actions'}, el('button', {type: 'submit'}, 'Set password')));
    root.append(form);
    app.onSubmit(form, async () => {
      if (pw.input.value !== again.input.value) throw new Error('The two passwords are not the same.');
      await app.api.post('/auth/password-reset/confirm', { token, password: pw.input.value });
      if (app.me) await app.refreshMe();
      app.navigate('/ui/login?reset=done', { replace: true });
    });
  },
};

export default [login, signup, verifyEmail, confirmEmailChange, forgotPassword, resetPassword];
