// Helpers shared by the admin pages.
import { el } from '../dom.js';

// rows: arrays of cells (strings or nodes). opts.num: indexes of numeric columns; opts.empty.
export function table(headers, rows, opts = {}) {
  const num = new Set(opts.num || []);
  if (!rows.length && opts.empty) return el('p', { class: 'empty' }, opts.empty);
  return el('div', { class: 'table-wrap' }, el('table',
    opts.caption ? el('caption', { class: 'visually-hidden' }, opts.caption) : null,
    el('thead', el('tr', headers.map((h, i) => el('th', { scope: 'col', class: num.has(i) ? 'num' : null }, h)))),
    el('tbody', rows.map((r) => el('tr', r.map((c, i) => el('td', { class: num.has(i) ? 'num' : null }, c)))))));
}

export function userLink(name) {
  return el('a', { href: `/ui/admin/users/${encodeURIComponent(name)}` }, name);
}

export const GiB = 1024 ** 3;

// "1.5" GiB → bytes; '' → null.
export function gibToBytes(text) {
  const s = String(text ?? '').trim();
  if (!s) return null;
  const v = Number(s);
  if (!Number.isFinite(v) || v < 0) throw new Error('Enter a number of GiB (0 or more).');
  return Math.round(v * GiB);
}

export function bytesToGib(n) {
  if (n === null || n === undefined) return '';
  return String(Math.round((n / GiB) * 1000) / 1000);
}

// A confirmation dialog (<dialog>, keyboard accessible); resolves true when confirmed.
export function confirmDialog(title, text, confirmLabel = 'Delete') {
  return new Promise((resolve) => {
    const ok = el('button', { type: 'button', class: 'danger' }, confirmLabel);
    const cancel = el('button', { type: 'button', class: 'secondary' }, 'Cancel');
    const dlg = el('dialog', { 'aria-labelledby': 'confirm-title', class: 'card' },
      el('h2', { id: 'confirm-title' }, title), el('p', text), el('div', { class: 'actions' }, ok, cancel));
    const done = (v) => { dlg.close(); dlg.remove(); resolve(v); };
    ok.addEventListener('click', () => done(true));
    cancel.addEventListener('click', () => done(false));
    dlg.addEventListener('cancel', (ev) => { ev.preventDefault(); done(false); });
    document.body.append(dlg);
    dlg.showModal();
    cancel.focus();
  });
}
