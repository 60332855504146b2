// S3 access keys and WebDAV app passwords: create (the secret is shown once, with a copy
// button), list, revoke; and whether the account password works over WebDAV.
import { el, field, heading, card, timeEl, codeBlock, clear } from '../dom.js';
import { userPath } from '../api.js';

function secretBox(app, title, rows, note) {
  return el('div', {class: 'secret', role: 'status', tabindex: '-1'},
    el('h3', title),
    el('p', el('strong', 'Copy it now: it is shown only once. '), note || ''),
    rows.map(([label, value]) => [el('p', {class: 'muted'}, label), codeBlock(value, app.toast, `Copy ${label.toLowerCase()}`)]));
}

function table(headers, rows, emptyText) {
  if (!rows.length) return el('p', {class: 'empty'}, emptyText);
  return el('div', {class: 'table-wrap'}, el('table',
    el('thead', el('tr', headers.map((h) => el('th', {scope: 'col', class: h.cls || ''}, h.label || h)))),
    el('tbody', rows)));
}

async function confirmRevoke(app, what, fn) {
  if (!window.confirm(`Revoke ${what}? Clients using it stop working at once.`)) return;
  try {
    await fn();
    app.toast(`Revoked ${what}.`, 'ok');
  } catch (err) {
    app.showError(err);
  }
}

async function render(root, params, app) {
  const base = userPath(app.me.name);
  root.append(heading('Access keys and app passwords'),
    el('p', {class: 'muted'}, 'S3 clients (aws CLI, rclone, SDKs) sign in with an access key. Drives mounted over WebDAV can use an app password, so your account password stays in the browser.'));

  // ---- S3 access keys
  const keyList = el('div');
  const keyOut = el('div');
  const label = field('Label', { name: 'label', placeholder: 'e.g. laptop backup', maxlength: 200 });
  const keyForm = el('form', {class: 'inline-form', 'aria-label': 'Create an access key'}, label.row, el('button', {type: 'submit'}, 'Create access key'));
  root.append(card('S3 access keys', keyOut, keyForm, keyList));

  async function loadKeys() {
    const res = await app.api.get(`${base}/keys`);
    const rows = (res.items || []).map((k) => el('tr',
      el('td', el('code', k.id)), el('td', k.label || el('span', {class: 'muted'}, '—')), el('td', {class: 'hide-narrow'}, timeEl(k.created)),
      el('td', el('button', {type: 'button', class: 'danger small', 'aria-label': `Revoke access key ${k.id}`,
        onclick: () => confirmRevoke(app, `access key ${k.id}`, async () => {
          await app.api.del(`${base}/keys/${encodeURIComponent(k.id)}`);
          await loadKeys();
        })}, 'Revoke'))));
    clear(keyList).append(table(['Access key ID', 'Label', { label: 'Created', cls: 'hide-narrow' }, { label: 'Actions' }], rows, 'No access keys yet.'));
  }
  app.onSubmit(keyForm, async () => {
    const k = await app.api.post(`${base}/keys`, { label: label.input.value.trim() });
    label.input.value = '';
    const box = secretBox(app, 'New access key', [['Access key ID', k.id], ['Secret access key', k.secret]]);
    clear(keyOut).append(box);
    box.focus();
    await loadKeys();
  });

  // ---- WebDAV app passwords
  const apList = el('div');
  const apOut = el('div');
  const apName = field('Name', { name: 'name', required: true, placeholder: 'e.g. Windows desktop', maxlength: 200 });
  const apForm = el('form', {class: 'inline-form', 'aria-label': 'Create an app password'}, apName.row, el('button', {type: 'submit'}, 'Create app password'));
  const davToggle = el('input', {type: 'checkbox', id: 'dav-account-password', checked: app.me.webdav_account_password !== false});
  const davRow = el('div', {class: 'field'}, el('label', {for: 'dav-account-password'}, davToggle, ' Allow my account password for WebDAV too'),
    el('p', {class: 'help'}, 'Turn this off to accept only app passwords from WebDAV clients.'));
  davToggle.addEventListener('change', async () => {
    try {
      const r = await app.api.put(`${base}/webdav-password`, { enabled: davToggle.checked });
      app.me.webdav_account_password = r.webdav_account_password;
      app.toast(r.webdav_account_password ? 'WebDAV accepts your account password.' : 'WebDAV accepts only app passwords now.', 'ok');
    } catch (err) {
      davToggle.checked = !davToggle.checked;
      app.showError(err);
    }
  });
  root.append(card('WebDAV app passwords', apOut, apForm, apList, davRow));

  async function loadAppPasswords() {
    const res = await app.api.get(`${base}/app-passwords`);
    const rows = (res.items || []).map((a) => el('tr',
      el('td', a.name), el('td', {class: 'hide-narrow'}, el('code', `${a.prefix}…`)), el('td', {class: 'hide-narrow'}, timeEl(a.created)),
      el('td', el('button', {type: 'button', class: 'danger small', 'aria-label': `Revoke app password ${a.name}`,
        onclick: () => confirmRevoke(app, `app password "${a.name}"`, async () => {
          await app.api.del(`${base}/app-passwords/${encodeURIComponent(a.id)}`);
          await loadAppPasswords();
        })}, 'Revoke'))));
    clear(apList).append(table(['Name', { label: 'Starts with', cls: 'hide-narrow' }, { label: 'Created', cls: 'hide-narrow' }, 'Actions'], rows, 'No app passwords yet.'));
  }
  app.onSubmit(apForm, async () => {
    const a = await app.api.post(`${base}/app-passwords`, { name: apName.input.value.trim() });
    apName.input.value = '';
    const box = secretBox(app, `App password "${a.name}"`, [['User name', app.me.name], ['Password', a.password]],
      'Use it with your user name in the WebDAV client.');
    clear(apOut).append(box);
    box.focus();
    await loadAppPasswords();
  });

  await Promise.all([loadKeys(), loadAppPasswords()]);
}

export default [{ path: '/ui/keys', title: 'Access keys', render }];
