// The console shell: branding, sign-in state (GET /api/v1/me), layout and navigation, a
// client-side router over the history API, toasts. Pages are modules; see README.md.
import { api, ApiError } from './api.js';
import { el, clear, append, formatBytes, formatDate, heading } from './dom.js';
import authPages from './pages/auth.js';
import dashboardPages from './pages/dashboard.js';
import keysPages from './pages/keys.js';
import connectPages from './pages/connect.js';
import accountPages from './pages/account.js';

// Modules of the other parts of the console, loaded if present (a missing one is skipped). Each
// default-exports a page or an array of pages.
const OPTIONAL_MODULES = ['./files.js', './admin/index.js'];

// The navigation.
const NAV = [
  { section: 'user', label: 'Dashboard', path: '/ui/' },
  { section: 'user', label: 'Files', path: '/ui/files' },
  { section: 'user', label: 'Access keys', path: '/ui/keys' },
  { section: 'user', label: 'Connect', path: '/ui/connect' },
  { section: 'user', label: 'Account', path: '/ui/account' },
  { section: 'admin', label: 'Overview', path: '/ui/admin' },
  { section: 'admin', label: 'Users', path: '/ui/admin/users' },
  { section: 'admin', label: 'Plans', path: '/ui/admin/plans' },
  { section: 'admin', label: 'Billing events', path: '/ui/admin/billing' },
  { section: 'admin', label: 'Settings', path: '/ui/admin/settings' },
  { section: 'admin', label: 'Audit log', path: '/ui/admin/audit' },
];

const pages = [];

// Registers pages: {path, title, access?: 'public'|'guest'|'user'|'admin' (default 'user'),
// render(root, params, app) → optional cleanup function}. Later registrations of a path win.
export function register(...list) {
  for (const p of list.flat()) {
    if (!p || !p.path || typeof p.render !== 'function') continue;
    const i = pages.findIndex((q) => q.path === p.path);
    if (i >= 0) pages.splice(i, 1);
    pages.push({ ...p, pattern: compile(p.path) });
  }
}

// '/ui/admin/users/:name' → one decoded segment; a trailing '*' → params.rest (decoded, '/' kept).
function compile(path) {
  const segs = path.replace(/\/+$/, '').split('/');
  return (urlPath) => {
    const parts = urlPath.replace(/\/+$/, '').split('/');
    const params = {};
    for (let i = 0; i < segs.length; i += 1) {
      const s = segs[i];
      if (s === '*') {
        params.rest = parts.slice(i).map(safeDecode).join('/');
        return params;
      }
      if (i >= parts.length) return null;
      if (s.startsWith(':')) {
        if (!parts[i]) return null;
        params[s.slice(1)] = safeDecode(parts[i]);
      } else if (s !== parts[i]) return null;
    }
    return parts.length === segs.length ? params : null;
  };
}

function safeDecode(s) {
  try { return decodeURIComponent(s); } catch { return s; }
}

// ---- toasts and errors --------------------------------------------------------------------

function toast(message, kind = 'info', timeout = kind === 'error' ? 8000 : 4000) {
  const region = document.getElementById('toasts');
  const close = el('button', {type: 'button', class: 'toast-close', 'aria-label': 'Dismiss'}, '×');
  const item = el('div', {class: ['toast', `toast-${kind}`]}, el('span', {class: 'toast-text'}, message), close);
  const remove = () => item.remove();
  close.addEventListener('click', remove);
  region.append(item);
  if (timeout) setTimeout(remove, timeout);
  if (kind === 'error') {
    // Errors are also announced assertively.
    const alerts = document.getElementById('alerts');
    alerts.textContent = message;
  }
  return item;
}

function errorMessage(err) {
  if (err instanceof ApiError) return err.message.charAt(0).toUpperCase() + err.message.slice(1);
  if (err && err.name === 'AbortError') return 'Cancelled.';
  return (err && err.message) || String(err);
}

function showError(err) {
  console.error(err);
  return toast(errorMessage(err), 'error');
}

// An inline alert for a form: shown above its buttons, announced to screen readers.
function formError(form) {
  let box = form.querySelector(':scope > .form-error');
  if (!box) {
    box = el('div', {class: 'form-error', role: 'alert', hidden: true});
    form.prepend(box);
  }
  return {
    show(err) { box.textContent = typeof err === 'string' ? err : errorMessage(err); box.hidden = false; },
    clear() { box.textContent = ''; box.hidden = true; },
  };
}

// Runs fn on submit with the submit buttons disabled, showing errors inline.
function onSubmit(form, fn) {
  const errors = formError(form);
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    errors.clear();
    const buttons = form.querySelectorAll('button[type=submit]');
    buttons.forEach((b) => { b.disabled = true; });
    try {
      await fn(new FormData(form), ev);
    } catch (err) {
      errors.show(err);
    } finally {
      buttons.forEach((b) => { b.disabled = false; });
    }
  });
  return errors;
}

// ---- app state --------------------------------------------------------------------------

const app = {
  api, el, toast, showError, errorMessage, onSubmit, formError, formatBytes, formatDate, register,
  me: null,          // the signed-in user object (GET /me → user), or null
  usage: null,       // GET /me → usage
  branding: { site_name: 'depot', logo_url: null, primary_color: null },
  get isAdmin() { return Boolean(this.me && this.me.is_admin); },
  get origin() { return window.location.origin; },
  navigate,
  async refreshMe() {
    try {
      const me = await api.get('/me', { quiet401: true });
      app.me = me.user;
      app.usage = me.usage || null;
      if (me.csrf_token) api.setCsrf(me.csrf_token);
    } catch (err) {
      if (!(err instanceof ApiError) || err.status !== 401) throw err;
      app.me = null;
      app.usage = null;
      api.setCsrf('');
    }
    renderChrome();
    return app.me;
  },
  // After a login answer ({user, csrf_token}).
  async signedIn(login) {
    api.setCsrf(login.csrf_token);
    await app.refreshMe();
  },
  async signOut(all = false) {
    try { await api.post(all ? '/auth/logout-all' : '/auth/logout'); } catch (err) { if (err.status !== 401) showError(err); }
    app.me = null;
    app.usage = null;
    api.setCsrf('');
    renderChrome();
    navigate('/ui/login', { replace: true });
  },
};
window.depotApp = app;  // for debugging from the console

api.onUnauthorized(() => {
  if (!app.me) return;
  app.me = null;
  renderChrome();
  toast('Your session ended. Please sign in again.', 'error');
  navigate(`/ui/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
});

// ---- branding ---------------------------------------------------------------------------

async function loadBranding() {
  try {
    const b = await api.get('/branding', { quiet401: true });
    if (b && typeof b === 'object') Object.assign(app.branding, b);
  } catch { /* not there yet: keep "depot" */ }
  if (!app.branding.site_name) app.branding.site_name = 'depot';
  applyBranding();
}

export function applyBranding() {
  const color = app.branding.primary_color;
  if (typeof color === 'string' && /^#[0-9a-fA-F]{6}$/.test(color)) {
    document.documentElement.style.setProperty('--primary', color);
    // Darker shade for hover and text on light backgrounds.
    const n = parseInt(color.slice(1), 16);
    const dark = [16, 8, 0].map((s) => Math.round(((n >> s) & 255) * 0.8).toString(16).padStart(2, '0')).join('');
    document.documentElement.style.setProperty('--primary-dark', `#${dark}`);
  }
  renderChrome();
}

// ---- layout -------------------------------------------------------------------------------

function isCurrent(path) {
  const here = location.pathname.replace(/\/+$/, '') || '/ui';
  const p = path.replace(/\/+$/, '');
  if (p === '/ui') return here === '/ui' || here === '/ui/billing';
  if (p === '/ui/admin') return here === '/ui/admin';
  return here === p || here.startsWith(p + '/');
}

function navLink(item) {
  const current = isCurrent(item.path);
  return el('li', el('a', {href: item.path, 'aria-current': current ? 'page' : false, class: current ? 'active' : ''}, item.label));
}

function renderChrome() {
  const header = document.querySelector('.topbar');
  const nav = document.querySelector('.sidenav');
  if (!header || !nav) return;
  const b = app.branding;
  clear(header);
  const logo = b.logo_url && /^(\/[^/]|data:image\/)/.test(b.logo_url) ? el('img', {src: b.logo_url, alt: '', class: 'logo'}) : el('span', {class: 'logo-mark', 'aria-hidden': 'true'});
  const menuBtn = el('button', {type: 'button', class: 'menu-toggle', 'aria-expanded': 'false', 'aria-controls': 'sidenav', hidden: !app.me}, 'Menu');
  menuBtn.addEventListener('click', () => {
    const open = document.body.classList.toggle('nav-open');
    menuBtn.setAttribute('aria-expanded', String(open));
  });
  append(header, [
    menuBtn,
    el('a', {href: app.me ? '/ui/' : '/ui/login', class: 'brand'}, logo, el('span', {class: 'site-name'}, b.site_name || 'depot')),
    el('div', {class: 'spacer'}),
    app.me ? el('div', {class: 'who'},
      el('span', {class: 'who-name', title: app.me.email}, app.me.name),
      app.me.is_admin ? el('span', {class: 'badge'}, 'admin') : null,
      el('button', {type: 'button', class: 'secondary small', onclick: () => app.signOut()}, 'Sign out'))
      : location.pathname.startsWith('/ui/login') ? null : el('a', {href: '/ui/login', class: 'button secondary small'}, 'Sign in'),
  ]);
  clear(nav);
  nav.id = 'sidenav';
  document.getElementById('app').classList.toggle('signed-out', !app.me);
  if (!app.me) return;
  nav.append(el('ul', {class: 'nav-list'}, NAV.filter((i) => i.section === 'user').map(navLink)));
  if (app.isAdmin) {
    nav.append(el('h2', {class: 'nav-heading', id: 'nav-admin'}, 'Administration'),
      el('ul', {class: 'nav-list', 'aria-labelledby': 'nav-admin'}, NAV.filter((i) => i.section === 'admin').map(navLink)));
  }
}

// ---- router -------------------------------------------------------------------------------

let cleanup = null;
let renderSeq = 0;

function navigate(url, opts = {}) {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  return route();
}
app.navigate = navigate;

function findPage(pathname) {
  for (let i = pages.length - 1; i >= 0; i -= 1) {
    const params = pages[i].pattern(pathname);
    if (params) return { page: pages[i], params };
  }
  return null;
}

async function route() {
  const seq = ++renderSeq;
  if (cleanup) { try { cleanup(); } catch (e) { console.error(e); } cleanup = null; }
  document.body.classList.remove('nav-open');
  let pathname = location.pathname;
  if (pathname === '/ui') pathname = '/ui/';
  const found = findPage(pathname);
  const main = document.getElementById('main');
  const params = found ? found.params : {};
  params.query = new URLSearchParams(location.search);
  const page = found ? found.page : { title: 'Not found', access: 'public', render(root) {
    root.append(heading('Page not found'), el('p', 'There is no page at this address. '), el('p', el('a', {href: '/ui/'}, 'Go to the dashboard')));
  } };
  const access = page.access || 'user';
  if ((access === 'user' || access === 'admin') && !app.me) {
    return navigate(`/ui/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
  }
  if (access === 'guest' && app.me) return navigate('/ui/', { replace: true });
  clear(main);
  renderChrome();
  document.title = `${page.title} · ${app.branding.site_name || 'depot'}`;
  if (access === 'admin' && !app.isAdmin) {
    main.append(heading('Not allowed'), el('p', 'Only administrators can open this page.'));
    return;
  }
  const root = el('div', {class: 'page'});
  main.append(root);
  try {
    const result = await page.render(root, params, app);
    if (seq !== renderSeq) { if (typeof result === 'function') result(); return; }
    if (typeof result === 'function') cleanup = result;
  } catch (err) {
    if (seq !== renderSeq) return;
    root.append(el('div', {class: 'alert alert-error', role: 'alert'}, errorMessage(err)));
    console.error(err);
  }
  if (focusOnRender) main.focus({ preventScroll: true });
}
let focusOnRender = false;  // the first render leaves focus where the browser put it

// Same-origin links under /ui/ navigate without a reload.
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest('a[href]');
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith('/ui')) return;
  ev.preventDefault();
  focusOnRender = true;
  navigate(url.pathname + url.search + url.hash);
});
window.addEventListener('popstate', () => { focusOnRender = true; route(); });

// ---- start --------------------------------------------------------------------------------

async function start() {
  register(authPages, dashboardPages, keysPages, connectPages, accountPages);
  const optional = OPTIONAL_MODULES.map((m) => import(m).then((mod) => register(mod.default), (err) => {
    if (!String(err).includes('Failed to fetch')) console.warn(`console module ${m}:`, err);
  }));
  await Promise.all([loadBranding(), app.refreshMe().catch(showError), ...optional]);
  await route();
}

start();

export default app;
