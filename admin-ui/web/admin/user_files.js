// An administrator's read-only look at one account's files: /ui/admin/users/NAME/files/BUCKET/PREFIX.
// The files API answers with ?user=NAME (admins only, read-only operations).
import { el, heading, card, formatBytes, timeEl } from '../dom.js';
import { table } from './common.js';

const enc = encodeURIComponent;
const pageUrl = (user, bucket, prefix = '') =>
  `/ui/admin/users/${enc(user)}/files` + (bucket ? `/${enc(bucket)}/` + prefix.split('/').map(enc).join('/') : '');

async function render(root, params, app) {
  const user = params.name;
  const rest = (params.rest || '').replace(/^\/+/, '');
  const slash = rest.indexOf('/');
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  // The router drops the trailing slash of the URL: a folder prefix always ends with one.
  let prefix = slash < 0 ? '' : rest.slice(slash + 1);
  if (prefix && !prefix.endsWith('/')) prefix += '/';
  root.append(heading(`Files of ${user}`, el('a', { href: `/ui/admin/users/${enc(user)}` }, `Back to ${user}`)));

  // Breadcrumbs: the account, the bucket, then each folder.
  const crumbs = [el('a', { href: pageUrl(user) }, 'Buckets')];
  if (bucket) {
    crumbs.push(' / ', el('a', { href: pageUrl(user, bucket) }, bucket));
    let acc = '';
    for (const part of prefix.split('/').filter(Boolean)) {
      acc += `${part}/`;
      crumbs.push(' / ', el('a', { href: pageUrl(user, bucket, acc) }, part));
    }
  }
  const nav = el('nav', { 'aria-label': 'Breadcrumbs', class: 'breadcrumbs' }, crumbs);
  const box = el('div', { class: 'loading' }, 'Loading…');
  const more = el('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more');
  root.append(card(null, nav, box, more));

  try {
    if (!bucket) {
      const r = await app.api.get(`/files?user=${enc(user)}`);
      box.replaceChildren(table(['Bucket', 'Created'], r.items.map((b) =>
        [el('a', { href: pageUrl(user, b.name) }, b.name), timeEl(b.created)]), { empty: 'No buckets.', caption: `Buckets of ${user}` }));
      return;
    }
    const rows = [];
    let after = '';
    const load = async () => {
      const q = new URLSearchParams({ user, prefix, delimiter: '/', limit: '200' });
      if (after) q.set('after', after);
      const r = await app.api.get(`/files/${enc(bucket)}?${q}`);
      for (const it of r.items) {
        const name = it.type === 'folder' ? `${it.name}/` : it.name;
        rows.push(it.type === 'folder'
          ? [el('a', { href: pageUrl(user, bucket, it.key) }, name), '—', '—', '']
          : [name, formatBytes(it.size), timeEl(it.modified),
            el('a', { href: `/api/v1/files/${enc(bucket)}/object?${new URLSearchParams({ user, key: it.key })}`, download: it.name,
              'aria-label': `Download ${it.name}` }, 'Download')]);
      }
      after = r.next || '';
      more.hidden = !after;
      box.replaceChildren(table(['Name', 'Size', 'Modified', ''], rows, { num: [1], empty: 'This folder is empty.', caption: `Files of ${user}` }));
    };
    more.addEventListener('click', () => load().catch((e) => app.showError(e)));
    await load();
  } catch (err) {
    box.replaceChildren(el('p', { class: 'alert alert-error', role: 'alert' }, app.errorMessage(err)));
  } finally {
    box.classList.remove('loading');
  }
}

export default [
  { path: '/ui/admin/users/:name/files/*', title: 'User files', access: 'admin', render },
  { path: '/ui/admin/users/:name/files', title: 'User files', access: 'admin', render },
];
