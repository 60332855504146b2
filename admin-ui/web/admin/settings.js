// Settings: sign-up mode, SMTP (+ "Send test mail"), billing status, branding, usage sampling.
// A stored setting wins over the server configuration; "Use the server's configuration" removes it.
import { el, clear, heading, card, field } from '../dom.js';

function resetButton(app, keys, s, onDone) {
  if (!keys.some((k) => s.stored.includes(k))) return null;
  return el('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      const body = Object.fromEntries(keys.map((k) => [k, null]));
      await app.api.patch('/settings', body);
      app.toast('Back to the server configuration', 'ok');
      onDone();
    } catch (e) { app.showError(e); }
  } }, 'Use the server\'s configuration');
}

async function render(root, params, app) {
  const body = el('div');
  root.append(heading('Settings'), body);

  async function load() {
    const s = await app.api.get('/settings');
    clear(body);
    const saved = (msg) => { app.toast(msg, 'ok'); load().catch((e) => app.showError(e)); };

    // Sign-up.
    const mode = field('Sign-up mode', { name: 'signup_mode', type: 'select', value: s.signup_mode, options: [
      { value: 'open', label: 'Open: anyone can sign up' }, { value: 'invite', label: 'Invite only' }, { value: 'closed', label: 'Closed' }] });
    const signupForm = el('form', { 'aria-label': 'Sign-up' }, mode.row,
      el('p', { class: 'help' }, s.require_email_verification ? 'New accounts verify their email address before using storage.' : 'Email verification is not required.'),
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save sign-up mode'), resetButton(app, ['signup_mode'], s, load)));
    app.onSubmit(signupForm, async (fd) => { await app.api.patch('/settings', { signup_mode: fd.get('signup_mode') }); saved('Sign-up mode saved'); });
    body.append(card('Sign-up', signupForm));

    // SMTP.
    const url = field('SMTP server URL', { name: 'smtp_url', value: s.smtp_url, placeholder: 'smtps://mail.example.com:465', help: 'smtp:// (STARTTLS when offered) or smtps://. Empty: mail waits in the outbox.' });
    const user = field('SMTP user', { name: 'smtp_user', value: s.smtp_user, autocomplete: 'off' });
    const pass = field('SMTP password', { name: 'smtp_password', type: 'password', autocomplete: 'new-password',
      help: s.smtp_password_set ? 'A password is set. Leave empty to keep it.' : 'No password set.' });
    const from = field('Sender address', { name: 'mail_from', type: 'email', value: s.mail_from, required: true });
    const smtpForm = el('form', { 'aria-label': 'SMTP' }, url.row, user.row, pass.row, from.row,
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save SMTP settings'),
        resetButton(app, ['smtp_url', 'smtp_user', 'smtp_password', 'mail_from'], s, load)));
    app.onSubmit(smtpForm, async (fd) => {
      const patch = { smtp_url: String(fd.get('smtp_url')).trim(), smtp_user: String(fd.get('smtp_user')).trim(), mail_from: String(fd.get('mail_from')).trim() };
      const pw = String(fd.get('smtp_password') || '');
      if (pw) patch.smtp_password = pw;
      await app.api.patch('/settings', patch);
      saved('SMTP settings saved');
    });
    const to = field('Send a test mail to', { name: 'to', type: 'email', required: true, value: app.me ? app.me.email : '' });
    const result = el('div', { role: 'status', 'aria-live': 'polite' });
    const testForm = el('form', { class: 'inline-form', 'aria-label': 'Test mail' }, to.row, el('button', { type: 'submit' }, 'Send test mail'));
    app.onSubmit(testForm, async (fd) => {
      clear(result).append(el('p', { class: 'muted' }, 'Sending… (up to 15 seconds)'));
      const r = await app.api.post('/settings/test-mail', { to: fd.get('to') });
      clear(result).append(r.sent ? el('p', { class: 'alert alert-ok' }, `Sent to ${fd.get('to')}.`)
        : el('p', { class: 'alert alert-error' }, `Not sent: ${r.error}`));
    });
    body.append(card('Email (SMTP)', smtpForm, el('h3', 'Test'), testForm, result));

    // Billing (status only: secrets are never shown).
    const yesNo = (b) => (b ? 'Yes' : 'No');
    body.append(card('Billing', el('dl', { class: 'facts' },
      el('dt', 'Provider configured'), el('dd', yesNo(s.billing_configured)),
      el('dt', 'Webhook secret set'), el('dd', yesNo(s.billing_webhook_secret_set)),
      el('dt', 'Provider API'), el('dd', s.stripe_api_base),
      el('dt', 'Payment grace period'), el('dd', `${Math.round(s.payment_grace_seconds / 86400)} days`)),
    el('p', { class: 'help' }, 'Billing is configured on the server (--stripe-secret-key, --stripe-webhook-secret).')));

    // Branding.
    const site = field('Site name', { name: 'site_name', value: s.site_name, required: true, maxlength: 100 });
    const logo = field('Logo URL', { name: 'logo_url', value: s.logo_url || '', help: 'A path on this server (/…) or a data:image/… URL. Empty: no logo.' });
    const color = field('Primary colour', { name: 'primary_color', value: s.primary_color, pattern: '#[0-9a-fA-F]{6}', help: 'As #rrggbb.' });
    const picker = el('input', { type: 'color', value: s.primary_color, 'aria-label': 'Pick the primary colour' });
    picker.addEventListener('input', () => { color.input.value = picker.value; });
    color.input.addEventListener('input', () => { if (/^#[0-9a-fA-F]{6}$/.test(color.input.value)) picker.value = color.input.value; });
    color.row.append(picker);
    const brandForm = el('form', { 'aria-label': 'Branding' }, site.row, logo.row, color.row,
      el('div', { class: 'actions' }, el('button', { type: 'submit' }, 'Save branding'), resetButton(app, ['site_name', 'logo_url', 'primary_color'], s, load)));
    app.onSubmit(brandForm, async (fd) => {
      await app.api.patch('/settings', { site_name: String(fd.get('site_name')).trim(), logo_url: String(fd.get('logo_url')).trim(), primary_color: fd.get('primary_color') });
      saved('Branding saved; reload the page to see it');
    });
    body.append(card('Branding', brandForm));

    // Usage samples.
    const every = field('Sample storage usage every (seconds)', { name: 'usage_sample_seconds', type: 'number', min: 1, step: 1, value: s.usage_sample_seconds });
    const sampleForm = el('form', { class: 'inline-form', 'aria-label': 'Usage samples' }, every.row, el('button', { type: 'submit' }, 'Save interval'));
    app.onSubmit(sampleForm, async (fd) => { await app.api.patch('/settings', { usage_sample_seconds: Number(fd.get('usage_sample_seconds')) }); saved('Interval saved'); });
    body.append(card('Usage chart', sampleForm));
  }
  await load();
}

export default { path: '/ui/admin/settings', title: 'Settings', access: 'admin', render };
