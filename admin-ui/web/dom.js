// Small DOM helpers. Everything is built with DOM APIs and textContent: never innerHTML with data,
// so user-supplied names always show as text.

// el('button', {class: 'primary', onclick: fn, 'aria-label': 'x'}, 'text', childNode, [more])
// attrs: class, text, dataset {..}, on<event> functions, boolean true → empty attribute,
// false/null/undefined → left out, anything else → setAttribute(String(value)).
export function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key === 'class') node.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key === 'value' && 'value' in node) node.value = value;
    else if (key === 'checked' || key === 'disabled' || key === 'selected') node[key] = Boolean(value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

export function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.firstChild.remove();
  return node;
}

let idCounter = 0;
export function uid(prefix = 'f') {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

// A labelled form field: returns {row, input}. opts: type, name, value, required, autocomplete,
// help, inputmode, minlength, placeholder, options (for select: [{value, label}] or strings).
export function field(label, opts = {}) {
  const id = uid('in');
  const helpId = opts.help ? `${id}-help` : null;
  let input;
  if (opts.type === 'select') {
    input = el('select', {id, name: opts.name, required: opts.required});
    for (const o of opts.options || []) {
      const { value, label: text } = typeof o === 'string' ? { value: o, label: o } : o;
      input.append(el('option', {value, selected: value === opts.value}, text));
    }
  } else if (opts.type === 'textarea') {
    input = el('textarea', {id, name: opts.name, required: opts.required, rows: opts.rows || 4});
    input.value = opts.value || '';
  } else {
    input = el('input', {
      id, name: opts.name, type: opts.type || 'text', required: opts.required, autocomplete: opts.autocomplete,
      inputmode: opts.inputmode, minlength: opts.minlength, maxlength: opts.maxlength, placeholder: opts.placeholder,
      pattern: opts.pattern, min: opts.min, step: opts.step, readonly: opts.readonly,
      'aria-describedby': helpId,
    });
    if (opts.value !== undefined && opts.value !== null) input.value = opts.value;
  }
  const row = el('div', {class: 'field'},
    el('label', {for: id}, label),
    input,
    opts.help ? el('p', {id: helpId, class: 'help'}, opts.help) : null);
  return { row, input };
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
export function formatBytes(n) {
  if (n === null || n === undefined || Number.isNaN(Number(n))) return '—';
  let v = Number(n);
  let i = 0;
  while (Math.abs(v) >= 1024 && i < UNITS.length - 1) { v /= 1024; i += 1; }
  const digits = i === 0 ? 0 : v < 10 ? 2 : v < 100 ? 1 : 0;
  return `${v.toFixed(digits)} ${UNITS[i]}`;
}

export function formatDate(iso) {
  if (!iso) return '—';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatRelative(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '—';
  const s = Math.round((Date.now() - d.getTime()) / 1000);
  const abs = Math.abs(s);
  const rtf = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });
  if (abs < 60) return rtf.format(-s, 'second');
  if (abs < 3600) return rtf.format(-Math.round(s / 60), 'minute');
  if (abs < 86400) return rtf.format(-Math.round(s / 3600), 'hour');
  return rtf.format(-Math.round(s / 86400), 'day');
}

// <time> showing a local date with the ISO value in datetime and title.
export function timeEl(iso) {
  return el('time', {datetime: iso || '', title: iso || ''}, formatDate(iso));
}

// A usage meter: used of limit, with text for screen readers.
export function usageBar(used, limit, label = 'Storage used') {
  const pct = limit > 0 ? Math.min(100, (used / limit) * 100) : 0;
  const over = limit > 0 && used > limit;
  const fill = el('div', {class: ['meter-fill', over ? 'over' : pct > 90 ? 'warn' : '']});
  fill.style.width = `${pct.toFixed(1)}%`;  // CSSOM, allowed by the CSP (no style= attribute)
  return el('div', {class: 'meter-wrap'},
    el('div', {class: 'meter', role: 'meter', 'aria-label': label, 'aria-valuemin': 0, 'aria-valuemax': limit || 0,
      'aria-valuenow': Math.min(used, limit || used), 'aria-valuetext': `${formatBytes(used)} of ${formatBytes(limit)}`}, fill),
    el('p', {class: 'meter-text'}, `${formatBytes(used)} of ${formatBytes(limit)} used (${pct.toFixed(pct < 10 ? 1 : 0)}%)`));
}

// A button that copies text to the clipboard (falls back to selecting it).
export function copyButton(getText, label = 'Copy', toast) {
  return el('button', {type: 'button', class: 'secondary small', onclick: async (ev) => {
    const text = typeof getText === 'function' ? getText() : getText;
    try {
      await navigator.clipboard.writeText(text);
      if (toast) toast('Copied to the clipboard');
      ev.target.textContent = 'Copied';
      setTimeout(() => { ev.target.textContent = label; }, 1500);
    } catch {
      if (toast) toast('Copying is not allowed here: select the text and copy it', 'error');
    }
  }}, label);
}

// A read-only code block with a copy button.
export function codeBlock(text, toast, label = 'Copy') {
  return el('div', {class: 'code-block'}, el('pre', el('code', text)), copyButton(text, label, toast));
}

// Sets the page's <h1> and document title.
export function heading(title, ...extra) {
  return el('div', {class: 'page-head'}, el('h1', title), ...extra);
}

// A section card with a heading.
export function card(title, ...children) {
  const id = uid('sec');
  return el('section', {class: 'card', 'aria-labelledby': id}, title ? el('h2', {id}, title) : null, ...children);
}
