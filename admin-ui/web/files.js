// The file browser: /ui/files (buckets) and /ui/files/<bucket>/<folder>/... over the files API
// (/api/v1/files, admin-ui/API.md "Files"). Same namespace as S3 and WebDAV: buckets are the
// top-level folders, keys ending in '/' are folders.
//
// Controls, for tests and assistive technology (accessible names; row buttons add the file name,
// e.g. "Rename report.txt", so `getByRole('button', {name: 'Rename'})` matches them):
//   Bucket list:  button "New bucket" → dialog field "Bucket name", button "Create".
//                 links with the bucket names; button "Delete bucket <name>".
//   Folder view:  nav "Breadcrumb" (link "All buckets", then the bucket and folders);
//                 button "Upload" (opens the file picker; the input itself is labelled "Files to upload"),
//                 drop zone region "Drop files here to upload"; button "New folder" → field
//                 "Folder name", button "Create"; search field "Search by name" + button "Search"
//                 ("Clear search" to leave the results); select "Sort by" (Name, Size, Date) and
//                 button "Sort direction"; buttons "List view" / "Grid view" (aria-pressed).
//   Each entry:   folders are links with their name; files show their name as text.
//                 buttons "Download <name>" (a link), "Rename <name>", "Move <name>", "Copy <name>",
//                 "Delete <name>".
//   Dialogs:      <dialog> with fields "New name" (rename), "Destination folder" and
//                 "Destination bucket" (move, copy); buttons "Rename" / "Move" / "Copy" / "Delete"
//                 and "Cancel". Delete asks for confirmation.
//   Uploads:      region "Uploads": one item per file with its name, a role=progressbar
//                 labelled "Upload progress of <name>", a status text, and button "Cancel upload of <name>".
//                 An upload refused for quota shows (role=alert) "Not enough space: …" in its row
//                 and in a page alert with class "quota-error".
import { el, clear, field, formatBytes, timeEl, usageBar } from './dom.js';

const PART_THRESHOLD = 16 * 1024 * 1024;  // larger files go in parts
const MIN_PART = 8 * 1024 * 1024;
const MAX_PARTS = 9000;
const PARTS_IN_FLIGHT = 3;
const PAGE = 200;

function ensureStyles() {
  if (document.querySelector('link[data-files-css]')) return;
  document.head.append(el('link', {rel: 'stylesheet', href: '/ui/files.css', 'data-files-css': true}));
}

const enc = encodeURIComponent;
const bucketApi = (bucket) => `/files/${enc(bucket)}`;

// /ui/files/<bucket>/<a>/<b>/ for folder "a/b/".
function folderUrl(bucket, prefix = '', query = '') {
  if (!bucket) return '/ui/files';
  const segs = prefix.split('/').filter((s) => s !== '');
  return `/ui/files/${enc(bucket)}/` + segs.map((s) => enc(s) + '/').join('') + (query ? `?${query}` : '');
}

function leafName(key) {
  const k = key.endsWith('/') ? key.slice(0, -1) : key;
  return k.slice(k.lastIndexOf('/') + 1);
}

function parentOf(key) {
  const k = key.endsWith('/') ? key.slice(0, -1) : key;
  const i = k.lastIndexOf('/');
  return i < 0 ? '' : k.slice(0, i + 1);
}

function prefs() {
  try { return JSON.parse(localStorage.getItem('depot.files') || '{}'); } catch { return {}; }
}
function savePrefs(p) {
  try { localStorage.setItem('depot.files', JSON.stringify(p)); } catch { /* private mode */ }
}

function quotaMessage(err) {
  return err && err.code === 'quota_exceeded' ? `Not enough space: ${err.message}` : null;
}

// ---------------------------------------------------------------- dialogs

// A modal form. fields: [{label, name, value, type, options, help}]. Resolves to the values, or null.
function askForm(title, fields, submitLabel, opts = {}) {
  return new Promise((resolve) => {
    const inputs = {};
    const form = el('form', {method: 'dialog', class: 'files-dialog-form'});
    form.append(el('h2', title));
    if (opts.text) form.append(el('p', opts.text));
    for (const f of fields) {
      const made = field(f.label, {name: f.name, value: f.value, type: f.type, options: f.options, help: f.help, required: f.required !== false});
      inputs[f.name] = made.input;
      form.append(made.row);
    }
    const error = el('p', {class: 'alert alert-error', role: 'alert', hidden: true});
    const cancel = el('button', {type: 'button', class: 'secondary'}, 'Cancel');
    const submit = el('button', {type: 'submit', class: opts.danger ? 'danger' : ''}, submitLabel);
    form.append(error, el('div', {class: 'actions'}, submit, cancel));
    const dialog = el('dialog', {class: 'files-dialog', 'aria-label': title}, form);
    document.body.append(dialog);
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    cancel.addEventListener('click', () => finish(null));
    dialog.addEventListener('cancel', (ev) => { ev.preventDefault(); finish(null); });
    form.addEventListener('submit', async (ev) => {
      ev.preventDefault();
      const values = {};
      for (const [k, input] of Object.entries(inputs)) values[k] = input.value;
      if (!opts.check) return finish(values);
      submit.disabled = true;
      try {
        await opts.check(values);
        finish(values);
      } catch (e) {
        error.textContent = (e && e.message) || String(e);
        error.hidden = false;
        submit.disabled = false;
      }
    });
    dialog.showModal();
    const first = Object.values(inputs)[0];
    if (first) { first.focus(); if (first.select) first.select(); } else submit.focus();
  });
}

// ---------------------------------------------------------------- uploads

// The uploads panel and the folder view on screen, shared by every render of the page.
const shared = {region: null, list: null, view: null, running: 0};

// Leaving the console while files are still being sent asks first.
function warnUnload(ev) {
  ev.preventDefault();
  ev.returnValue = '';
}

function clearFinished() {
  for (const li of [...shared.list.children]) {
    if (!li.classList.contains('files-upload-running')) li.remove();
  }
  if (!shared.list.children.length) shared.region.hidden = true;
}

// One file's upload: a row in the Uploads region, an XHR (or several, in parts), cancel.
class Upload {
  constructor(view, file, bucket, key) {
    this.view = view;
    this.app = view.app;
    this.file = file;
    this.bucket = bucket;
    this.key = key;
    this.xhrs = new Set();
    this.cancelled = false;
    this.loaded = new Map();  // part number (0 for a single PUT) → bytes sent
    const name = file.name;
    this.bar = el('div', {class: 'files-progress-fill'});
    this.progress = el('div', {class: 'files-progress', role: 'progressbar', 'aria-label': `Upload progress of ${name}`,
      'aria-valuemin': 0, 'aria-valuemax': 100, 'aria-valuenow': 0}, this.bar);
    this.status = el('span', {class: 'files-upload-status'}, 'Waiting…');
    this.cancelButton = el('button', {type: 'button', class: 'secondary small', 'aria-label': `Cancel upload of ${name}`,
      onclick: () => this.cancel()}, 'Cancel');
    this.row = el('li', {class: 'files-upload files-upload-running'},
      el('span', {class: 'files-upload-name'}, name), this.progress,
      el('span', {class: 'files-upload-size muted'}, formatBytes(file.size)), this.status, this.cancelButton);
  }

  setProgress() {
    let sent = 0;
    for (const v of this.loaded.values()) sent += v;
    const pct = this.file.size > 0 ? Math.min(100, Math.floor((sent / this.file.size) * 100)) : 100;
    this.bar.style.width = `${pct}%`;
    this.progress.setAttribute('aria-valuenow', String(pct));
    this.progress.setAttribute('aria-valuetext', `${pct}% (${formatBytes(sent)} of ${formatBytes(this.file.size)})`);
    this.status.textContent = `${pct}%`;
  }

  finish(kind, text) {
    this.row.classList.remove('files-upload-running');
    this.row.classList.add(`files-upload-${kind}`);
    this.status.textContent = text;
    if (kind === 'error') this.status.setAttribute('role', 'alert');
    this.cancelButton.remove();
  }

  // PUT body to url with progress; resolves to the parsed JSON; rejects with {status, code, message}.
  send(method, url, body, part, headers = {}) {
    return new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      this.xhrs.add(xhr);
      xhr.open(method, '/api/v1' + url);
      xhr.setRequestHeader('X-CSRF-Token', this.app.api.csrf);
      xhr.setRequestHeader('Accept', 'application/json');
      for (const [k, v] of Object.entries(headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (ev) => { this.loaded.set(part, ev.loaded); this.setProgress(); };
      xhr.onload = () => {
        this.xhrs.delete(xhr);
        let data = null;
        try { data = JSON.parse(xhr.responseText || 'null'); } catch { data = null; }
        if (xhr.status >= 200 && xhr.status < 300) return resolve(data);
        const e = data && data.error ? data.error : {code: `http_${xhr.status}`, message: `The server answered ${xhr.status}.`};
        reject(Object.assign(new Error(e.message), {status: xhr.status, code: e.code, detail: e}));
      };
      xhr.onerror = () => { this.xhrs.delete(xhr); reject(Object.assign(new Error('The upload was interrupted (network error).'), {code: 'network_error'})); };
      xhr.onabort = () => { this.xhrs.delete(xhr); reject(Object.assign(new Error('Cancelled'), {code: 'cancelled'})); };
      xhr.send(body);
    });
  }

  async run() {
    this.row.classList.add('files-upload-running');
    shared.running += 1;
    if (shared.running === 1) window.addEventListener('beforeunload', warnUnload);
    try {
      return await this.runInner();
    } finally {
      shared.running -= 1;
      if (shared.running === 0) window.removeEventListener('beforeunload', warnUnload);
    }
  }

  async runInner() {
    this.setProgress();
    try {
      if (this.file.size > PART_THRESHOLD) await this.runParts();
      else {
        const type = this.file.type || 'application/octet-stream';
        await this.send('PUT', `${bucketApi(this.bucket)}/object?key=${enc(this.key)}`, this.file, 0, {'Content-Type': type});
      }
      this.loaded.clear();
      this.loaded.set(0, this.file.size);
      this.setProgress();
      this.finish('done', 'Uploaded');
      return true;
    } catch (e) {
      if (this.cancelled || e.code === 'cancelled') { this.finish('cancelled', 'Cancelled'); return false; }
      let quota = quotaMessage(e);
      if (!quota && e.code === 'network_error') {
        // A refused upload may reach the browser as a cut connection: ask whether it could fit.
        try {
          const u = (await this.app.api.get('/files')).usage;
          if (u && this.file.size > u.bytes_limit - u.bytes_used) {
            quota = `Not enough space: ${this.file.name} needs ${formatBytes(this.file.size)} but only ${formatBytes(Math.max(0, u.bytes_limit - u.bytes_used))} are free.`;
          }
        } catch { /* keep the network error */ }
      }
      this.finish('error', quota || `Failed: ${e.message}`);
      if (quota) (shared.view || this.view).showQuota(quota);
      return false;
    }
  }

  async runParts() {
    const size = this.file.size;
    const partSize = Math.max(MIN_PART, Math.ceil(size / MAX_PARTS / (1024 * 1024)) * 1024 * 1024);
    const count = Math.ceil(size / partSize);
    const created = await this.app.api.post(`${bucketApi(this.bucket)}/uploads`,
      {key: this.key, content_type: this.file.type || 'application/octet-stream', size});
    this.uploadId = created.upload_id;
    if (this.cancelled) throw Object.assign(new Error('Cancelled'), {code: 'cancelled'});
    const base = `${bucketApi(this.bucket)}/uploads/${enc(this.uploadId)}`;
    const keyQuery = `?key=${enc(this.key)}`;
    const parts = new Array(count);
    let next = 0;
    const worker = async () => {
      while (next < count && !this.cancelled) {
        const i = next++;
        const blob = this.file.slice(i * partSize, Math.min(size, (i + 1) * partSize));
        let attempt = 0;
        for (;;) {
          try {
            const r = await this.send('PUT', `${base}/parts/${i + 1}${keyQuery}`, blob, i + 1);
            parts[i] = {number: i + 1, etag: r.etag};
            break;
          } catch (e) {
            attempt += 1;
            // Quota and cancel are final; a network hiccup gets two more tries.
            if (this.cancelled || e.code !== 'network_error' || attempt > 2) throw e;
            this.loaded.set(i + 1, 0);
          }
        }
      }
    };
    const workers = [];
    for (let w = 0; w < Math.min(PARTS_IN_FLIGHT, count); w += 1) workers.push(worker());
    try {
      await Promise.all(workers);
      if (this.cancelled) throw Object.assign(new Error('Cancelled'), {code: 'cancelled'});
    } catch (e) {
      this.cancelled = this.cancelled || e.code === 'cancelled';
      for (const x of this.xhrs) x.abort();
      this.abortRemote();
      throw e;
    }
    this.status.textContent = 'Finishing…';
    // With the ETags the server checks that no part changed; a very long list (files of many
    // GiB) would pass the API's JSON body limit, and then the server takes every uploaded part.
    await this.app.api.post(`${base}/complete${keyQuery}`, count <= 500 ? {parts} : {});
  }

  abortRemote() {
    if (!this.uploadId) return;
    const url = `${bucketApi(this.bucket)}/uploads/${enc(this.uploadId)}?key=${enc(this.key)}`;
    this.uploadId = null;
    this.app.api.del(url).catch(() => { /* swept later if this fails */ });
  }

  cancel() {
    this.cancelled = true;
    for (const x of this.xhrs) x.abort();
    this.abortRemote();
  }
}

// ---------------------------------------------------------------- the views

class FilesView {
  constructor(root, params, app) {
    this.root = root;
    this.app = app;
    const rest = (params.rest || '').split('/').filter((s) => s !== '');
    this.bucket = rest[0] || '';
    this.prefix = rest.length > 1 ? rest.slice(1).join('/') + '/' : '';
    this.query = params.query ? (params.query.get('q') || '') : '';
    const p = prefs();
    this.view = p.view === 'grid' ? 'grid' : 'list';
    this.sort = ['name', 'size', 'date'].includes(p.sort) ? p.sort : 'name';
    this.desc = Boolean(p.desc);
    this.items = [];
    this.next = null;
    this.uploads = [];
    this.buckets = [];
  }

  go(url) { this.app.navigate(url); }

  async render() {
    ensureStyles();
    const title = this.bucket ? leafName(this.prefix) || this.bucket : 'Files';
    this.quotaAlert = el('div', {class: 'alert alert-error quota-error', role: 'alert', hidden: true});
    this.root.append(el('div', {class: 'page-head'}, el('h1', title)), this.breadcrumbs(), this.quotaAlert);
    if (!this.bucket) return this.renderBuckets();
    return this.renderFolder();
  }

  breadcrumbs() {
    const list = el('ol', {class: 'files-crumbs'});
    const add = (label, url, current) => list.append(el('li', current
      ? el('span', {'aria-current': 'page'}, label)
      : el('a', {href: url}, label)));
    add('All buckets', '/ui/files', !this.bucket);
    if (this.bucket) {
      add(this.bucket, folderUrl(this.bucket), !this.prefix && !this.query);
      const segs = this.prefix.split('/').filter((s) => s !== '');
      segs.forEach((s, i) => {
        const pre = segs.slice(0, i + 1).join('/') + '/';
        add(s, folderUrl(this.bucket, pre), i === segs.length - 1 && !this.query);
      });
      if (this.query) add(`Search: ${this.query}`, '', true);
    }
    return el('nav', {'aria-label': 'Breadcrumb'}, list);
  }

  showQuota(message) {
    this.quotaAlert.textContent = message;
    this.quotaAlert.hidden = false;
    this.app.toast(message, 'error');
  }

  // ---- buckets

  async renderBuckets() {
    const box = el('div', {class: 'card'});
    const newButton = el('button', {type: 'button', onclick: () => this.newBucket()}, 'New bucket');
    this.root.append(el('div', {class: 'files-toolbar'}, newButton), box);
    box.append(el('p', {class: 'loading'}, 'Loading…'));
    const data = await this.app.api.get('/files');
    clear(box);
    if (data.usage) box.append(usageBar(data.usage.bytes_used, data.usage.bytes_limit));
    this.buckets = data.items.map((b) => b.name);
    if (!data.items.length) {
      box.append(el('p', {class: 'empty'}, 'No buckets yet. A bucket is a top-level folder: create one to upload files.'));
      return;
    }
    const tbody = el('tbody');
    for (const b of data.items) {
      tbody.append(el('tr', {},
        el('td', {}, el('a', {href: folderUrl(b.name), class: 'files-folder-link'}, el('span', {class: 'files-icon files-icon-bucket', 'aria-hidden': 'true'}), b.name)),
        el('td', {class: 'hide-narrow'}, timeEl(b.created)),
        el('td', {class: 'files-actions'}, el('button', {type: 'button', class: 'danger small', 'aria-label': `Delete bucket ${b.name}`,
          onclick: () => this.deleteBucket(b.name)}, 'Delete'))));
    }
    box.append(el('div', {class: 'table-wrap'}, el('table', {class: 'files-table'},
      el('thead', {}, el('tr', {}, el('th', {scope: 'col'}, 'Bucket'), el('th', {scope: 'col', class: 'hide-narrow'}, 'Created'),
        el('th', {scope: 'col'}, el('span', {class: 'visually-hidden'}, 'Actions')))), tbody)));
  }

  async newBucket() {
    const v = await askForm('New bucket', [{label: 'Bucket name', name: 'name', value: '',
      help: '3–63 characters: lower-case letters, digits, "-" and "."'}], 'Create', {
      check: (values) => this.app.api.post('/files', {name: values.name.trim()}),
    });
    if (v) { this.app.toast(`Bucket ${v.name.trim()} created`, 'ok'); this.go(folderUrl(v.name.trim())); }
  }

  async deleteBucket(name) {
    const v = await askForm(`Delete bucket ${name}?`, [], 'Delete', {danger: true,
      text: 'The bucket and every file in it are deleted. This cannot be undone.',
      check: () => this.app.api.del(`${bucketApi(name)}?force=true`)});
    if (v) { this.app.toast(`Bucket ${name} deleted`, 'ok'); this.refreshRoot(); }
  }

  refreshRoot() { clear(this.root); this.render().catch((e) => this.app.showError(e)); }

  // ---- a folder

  async renderFolder() {
    const picker = el('input', {type: 'file', multiple: true, class: 'visually-hidden', 'aria-label': 'Files to upload', tabindex: '-1',
      onchange: () => { this.startUploads([...picker.files]); picker.value = ''; }});
    const uploadButton = el('button', {type: 'button', onclick: () => picker.click()}, 'Upload');
    const folderButton = el('button', {type: 'button', class: 'secondary', onclick: () => this.newFolder()}, 'New folder');

    const search = field('Search by name', {type: 'search', name: 'q', value: this.query, required: false});
    const searchForm = el('form', {class: 'files-search', role: 'search'}, search.row,
      el('button', {type: 'submit', class: 'secondary'}, 'Search'),
      this.query ? el('a', {href: folderUrl(this.bucket, this.prefix), class: 'files-clear'}, 'Clear search') : null);
    searchForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      const q = search.input.value.trim();
      this.go(folderUrl(this.bucket, this.prefix, q ? `q=${enc(q)}` : ''));
    });

    const sortField = field('Sort by', {type: 'select', name: 'sort', value: this.sort, required: false,
      options: [{value: 'name', label: 'Name'}, {value: 'size', label: 'Size'}, {value: 'date', label: 'Date'}]});
    sortField.input.addEventListener('change', () => { this.sort = sortField.input.value; this.persist(); this.draw(); });
    const dirButton = el('button', {type: 'button', class: 'secondary small', 'aria-label': 'Sort direction',
      onclick: () => { this.desc = !this.desc; this.persist(); this.updateDir(dirButton); this.draw(); }});
    this.updateDir(dirButton);
    const listButton = el('button', {type: 'button', class: 'secondary small', 'aria-pressed': String(this.view === 'list'),
      onclick: () => this.setView('list')}, 'List view');
    const gridButton = el('button', {type: 'button', class: 'secondary small', 'aria-pressed': String(this.view === 'grid'),
      onclick: () => this.setView('grid')}, 'Grid view');
    this.viewButtons = {list: listButton, grid: gridButton};

    // The uploads panel outlives the page: uploads go on while the user browses other folders.
    if (!shared.region) {
      shared.list = el('ul', {class: 'files-uploads'});
      shared.region = el('section', {class: 'card files-upload-card', 'aria-label': 'Uploads', hidden: true},
        el('div', {class: 'files-upload-head'}, el('h2', 'Uploads'),
          el('button', {type: 'button', class: 'secondary small', onclick: () => clearFinished()}, 'Clear finished')),
        shared.list);
    }
    this.uploadRegion = shared.region;
    this.uploadList = shared.list;
    shared.view = this;
    this.listBox = el('div', {class: 'files-listing'});
    this.moreBox = el('div', {class: 'files-more'});
    const drop = el('section', {class: 'card files-drop', 'aria-label': 'Drop files here to upload'},
      el('p', {class: 'files-drop-hint muted'}, 'Drop files here to upload, or use the Upload button.'),
      this.listBox, this.moreBox);
    this.wireDrop(drop);

    this.root.append(
      el('div', {class: 'files-toolbar'}, uploadButton, picker, folderButton, searchForm),
      el('div', {class: 'files-toolbar files-toolbar-view'}, sortField.row, dirButton, listButton, gridButton),
      this.uploadRegion, drop);
    await this.load(true);
    return () => { if (shared.view === this) shared.view = null; };
  }

  updateDir(button) {
    button.textContent = this.desc ? '↓ Descending' : '↑ Ascending';
    button.setAttribute('aria-pressed', String(this.desc));
  }

  persist() { savePrefs({view: this.view, sort: this.sort, desc: this.desc}); }

  setView(v) {
    this.view = v;
    this.persist();
    for (const [k, b] of Object.entries(this.viewButtons)) b.setAttribute('aria-pressed', String(k === v));
    this.draw();
  }

  wireDrop(zone) {
    let depth = 0;
    zone.addEventListener('dragenter', (ev) => { ev.preventDefault(); depth += 1; zone.classList.add('files-dragging'); });
    zone.addEventListener('dragover', (ev) => { ev.preventDefault(); if (ev.dataTransfer) ev.dataTransfer.dropEffect = 'copy'; });
    zone.addEventListener('dragleave', () => { depth = Math.max(0, depth - 1); if (!depth) zone.classList.remove('files-dragging'); });
    zone.addEventListener('drop', (ev) => {
      ev.preventDefault();
      depth = 0;
      zone.classList.remove('files-dragging');
      const files = ev.dataTransfer ? [...ev.dataTransfer.files] : [];
      if (files.length) this.startUploads(files);
    });
  }

  async load(first) {
    if (first) { this.items = []; this.next = null; clear(this.listBox).append(el('p', {class: 'loading'}, 'Loading…')); }
    const params = new URLSearchParams({prefix: this.prefix, limit: String(PAGE)});
    if (this.next) params.set('after', this.next);
    let data;
    if (this.query) {
      params.set('q', this.query);
      data = await this.app.api.get(`${bucketApi(this.bucket)}/search?${params}`);
    } else {
      params.set('delimiter', '/');
      data = await this.app.api.get(`${bucketApi(this.bucket)}?${params}`);
    }
    this.items.push(...data.items);
    this.next = data.next;
    this.draw();
  }

  sorted() {
    const dir = this.desc ? -1 : 1;
    const by = {
      name: (a, b) => a.name.localeCompare(b.name, undefined, {numeric: true, sensitivity: 'base'}),
      size: (a, b) => (a.size || 0) - (b.size || 0),
      date: (a, b) => String(a.modified || '').localeCompare(String(b.modified || '')),
    }[this.sort];
    const folders = this.items.filter((i) => i.type === 'folder');
    const files = this.items.filter((i) => i.type !== 'folder');
    const cmp = (a, b) => dir * (by(a, b) || a.name.localeCompare(b.name));
    return [...folders.sort(this.sort === 'name' ? cmp : (a, b) => a.name.localeCompare(b.name)), ...files.sort(cmp)];
  }

  draw() {
    clear(this.listBox);
    clear(this.moreBox);
    const items = this.sorted();
    if (!items.length) {
      this.listBox.append(el('p', {class: 'empty'}, this.query ? 'No file name matches this search.' : 'This folder is empty.'));
    } else if (this.view === 'grid') {
      this.listBox.append(el('ul', {class: 'files-grid'}, items.map((it) => this.gridItem(it))));
    } else {
      const tbody = el('tbody', {}, items.map((it) => this.row(it)));
      this.listBox.append(el('div', {class: 'table-wrap'}, el('table', {class: 'files-table'},
        el('thead', {}, el('tr', {},
          el('th', {scope: 'col'}, 'Name'), el('th', {scope: 'col'}, 'Size'),
          el('th', {scope: 'col', class: 'hide-narrow'}, 'Modified'),
          el('th', {scope: 'col'}, el('span', {class: 'visually-hidden'}, 'Actions')))),
        tbody)));
    }
    if (this.next) {
      this.moreBox.append(el('button', {type: 'button', class: 'secondary', onclick: (ev) => {
        ev.target.disabled = true;
        this.load(false).catch((e) => { ev.target.disabled = false; this.app.showError(e); });
      }}, this.query ? 'More results' : 'Load more'));
    }
  }

  displayName(it) {
    // In search results show the path below the current folder.
    if (!this.query) return it.name;
    const k = it.key.startsWith(this.prefix) ? it.key.slice(this.prefix.length) : it.key;
    return it.type === 'folder' && k.endsWith('/') ? k.slice(0, -1) : k;
  }

  nameEl(it) {
    const name = this.displayName(it);
    if (it.type === 'folder') {
      return el('a', {href: folderUrl(this.bucket, it.key), class: 'files-folder-link'},
        el('span', {class: 'files-icon files-icon-folder', 'aria-hidden': 'true'}), el('span', {class: 'files-name'}, name));
    }
    return el('span', {class: 'files-file'}, el('span', {class: 'files-icon files-icon-file', 'aria-hidden': 'true'}),
      el('span', {class: 'files-name', title: it.key}, name));
  }

  actions(it) {
    const name = leafName(it.key);
    const box = el('div', {class: 'files-actions'});
    if (it.type !== 'folder') {
      box.append(el('a', {class: 'button secondary small', href: `/api/v1${bucketApi(this.bucket)}/object?key=${enc(it.key)}`,
        download: name, 'aria-label': `Download ${name}`}, 'Download'));
    }
    const b = (label, fn, cls = 'secondary small') =>
      el('button', {type: 'button', class: cls, 'aria-label': `${label} ${name}`, onclick: () => fn.call(this, it)}, label);
    box.append(b('Rename', this.rename), b('Move', this.move), b('Copy', this.copy), b('Delete', this.remove, 'danger small'));
    return box;
  }

  row(it) {
    return el('tr', {},
      el('td', {class: 'files-name-cell'}, this.nameEl(it)),
      el('td', {}, it.type === 'folder' ? '—' : formatBytes(it.size)),
      el('td', {class: 'hide-narrow'}, it.modified ? timeEl(it.modified) : '—'),
      el('td', {}, this.actions(it)));
  }

  gridItem(it) {
    return el('li', {class: ['files-tile', it.type === 'folder' ? 'files-tile-folder' : '']},
      this.nameEl(it),
      el('p', {class: 'muted files-tile-meta'}, it.type === 'folder' ? 'Folder' : formatBytes(it.size)),
      this.actions(it));
  }

  // ---- operations

  async newFolder() {
    const v = await askForm('New folder', [{label: 'Folder name', name: 'name', value: ''}], 'Create', {
      check: (values) => {
        const n = values.name.trim().replace(/\/+$/, '');
        if (!n) throw new Error('Give the folder a name.');
        return this.app.api.post(`${bucketApi(this.bucket)}/folders`, {key: `${this.prefix}${n}/`});
      },
    });
    if (v) { this.app.toast('Folder created', 'ok'); await this.load(true); }
  }

  async rename(it) {
    const folder = it.type === 'folder';
    const old = leafName(it.key);
    const v = await askForm(`Rename ${old}`, [{label: 'New name', name: 'name', value: old}], 'Rename', {
      check: (values) => {
        const n = values.name.trim().replace(/\/+$/, '');
        if (!n || n.includes('/')) throw new Error('A name cannot be empty or contain "/".');
        return this.app.api.post(`${bucketApi(this.bucket)}/move`, {key: it.key, to: parentOf(it.key) + n + (folder ? '/' : '')});
      },
    });
    if (v) { this.app.toast(`Renamed to ${v.name.trim()}`, 'ok'); await this.load(true); }
  }

  async moveOrCopy(it, move) {
    const verb = move ? 'Move' : 'Copy';
    const name = leafName(it.key);
    const folder = it.type === 'folder';
    if (!this.buckets.length) {
      try { this.buckets = (await this.app.api.get('/files')).items.map((b) => b.name); } catch { this.buckets = [this.bucket]; }
    }
    const v = await askForm(`${verb} ${name}`, [
      {label: 'Destination bucket', name: 'bucket', type: 'select', value: this.bucket, options: this.buckets},
      {label: 'Destination folder', name: 'folder', value: parentOf(it.key), required: false,
        help: 'A path inside the bucket such as "photos/2024/"; empty for the top level. Missing folders are created.'},
    ], verb, {
      check: (values) => {
        let dir = values.folder.trim().replace(/^\/+/, '');
        if (dir && !dir.endsWith('/')) dir += '/';
        return this.app.api.post(`${bucketApi(this.bucket)}/${move ? 'move' : 'copy'}`,
          {key: it.key, to: dir + name + (folder ? '/' : ''), bucket: values.bucket});
      },
    });
    if (v) { this.app.toast(move ? `Moved ${name}` : `Copied ${name}`, 'ok'); await this.load(true); }
  }

  move(it) { return this.moveOrCopy(it, true); }
  copy(it) { return this.moveOrCopy(it, false); }

  async remove(it) {
    const name = leafName(it.key);
    const folder = it.type === 'folder';
    const v = await askForm(`Delete ${name}?`, [], 'Delete', {danger: true,
      text: folder ? 'The folder and everything in it are deleted. This cannot be undone.' : 'The file is deleted. This cannot be undone.',
      check: () => this.app.api.del(`${bucketApi(this.bucket)}/object?key=${enc(it.key)}`)});
    if (v) { this.app.toast(`Deleted ${name}`, 'ok'); await this.load(true); }
  }

  async startUploads(files) {
    if (!files.length) return;
    this.uploadRegion.hidden = false;
    this.quotaAlert.hidden = true;
    // A file that cannot fit is refused here already; the server checks again.
    let free = Infinity;
    try {
      const u = (await this.app.api.get('/files')).usage;
      if (u) free = u.bytes_limit - u.bytes_used;
    } catch { /* the server decides */ }
    const uploads = files.map((f) => new Upload(this, f, this.bucket, this.prefix + f.name));
    for (const u of uploads) { this.uploads.push(u); this.uploadList.append(u.row); }
    let changed = false;
    const queue = [...uploads];
    const runOne = async () => {
      while (queue.length) {
        const u = queue.shift();
        if (u.cancelled) { u.finish('cancelled', 'Cancelled'); continue; }
        if (u.file.size > free) {
          const msg = `Not enough space: ${u.file.name} needs ${formatBytes(u.file.size)} but only ${formatBytes(Math.max(0, free))} are free.`;
          u.finish('error', msg);
          (shared.view || this).showQuota(msg);
          continue;
        }
        if (await u.run()) { changed = true; free -= u.file.size; }
      }
    };
    await Promise.all([runOne(), runOne()]);
    if (changed) {
      // Refresh whatever folder is on screen now, if it is the one the files went to.
      const v = shared.view;
      if (v && v.bucket === this.bucket && v.prefix === this.prefix && !v.query) await v.load(true).catch((e) => this.app.showError(e));
      if (this.app.refreshMe) this.app.refreshMe().catch(() => {});
    }
  }
}

async function renderFiles(root, params, app) {
  const view = new FilesView(root, params, app);
  return view.render();
}

export default [
  {path: '/ui/files', title: 'Files', access: 'user', render: renderFiles},
  {path: '/ui/files/*', title: 'Files', access: 'user', render: renderFiles},
];
