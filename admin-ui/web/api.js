// The console API client. Every call goes to /api/v1; non-GET calls carry X-CSRF-Token (the
// session's token from login or GET /me). Failures throw ApiError with the server's code and
// message ({"error": {code, message}}), so a page can show them.

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || `request failed (${status})`);
    this.status = status;
    this.code = code || 'http_' + status;
  }
}

let csrfToken = '';
const unauthorizedHandlers = [];

export const api = {
  base: '/api/v1',
  setCsrf(token) { csrfToken = token || ''; },
  get csrf() { return csrfToken; },
  // fn(err) is called when a call answers 401 unauthenticated (session ended elsewhere).
  onUnauthorized(fn) { unauthorizedHandlers.push(fn); },

  get(path, opts) { return this.request('GET', path, undefined, opts); },
  post(path, body, opts) { return this.request('POST', path, body, opts); },
  put(path, body, opts) { return this.request('PUT', path, body, opts); },
  patch(path, body, opts) { return this.request('PATCH', path, body, opts); },
  del(path, body, opts) { return this.request('DELETE', path, body, opts); },

  // Path is relative to /api/v1 (starts with '/'), or absolute ('/...' outside it with opts.raw).
  async request(method, path, body, opts = {}) {
    const headers = Object.assign({ Accept: 'application/json' }, opts.headers || {});
    if (method !== 'GET' && method !== 'HEAD' && csrfToken) headers['X-CSRF-Token'] = csrfToken;
    let payload;
    if (body !== undefined && body !== null) {
      if (body instanceof Blob || body instanceof FormData || typeof body === 'string') payload = body;
      else { payload = JSON.stringify(body); headers['Content-Type'] = 'application/json'; }
    }
    let res;
    try {
      res = await fetch(opts.raw ? path : this.base + path, {
        method, headers, body: payload, credentials: 'same-origin', signal: opts.signal,
      });
    } catch (e) {
      if (e.name === 'AbortError') throw e;
      throw new ApiError(0, 'network_error', 'The server cannot be reached. Check your connection and try again.');
    }
    if (res.status === 204) return null;
    const type = res.headers.get('Content-Type') || '';
    const data = type.includes('json') ? await res.json().catch(() => null) : await res.text();
    if (!res.ok) {
      const err = data && data.error ? new ApiError(res.status, data.error.code, data.error.message)
        : new ApiError(res.status, 'http_' + res.status, typeof data === 'string' && data && data.length < 300 ? data : `The server answered ${res.status}.`);
      if (res.status === 401 && err.code === 'unauthenticated' && !opts.quiet401) unauthorizedHandlers.forEach((fn) => fn(err));
      throw err;
    }
    return data;
  },
};

// "/users/<name>/keys" with the name encoded.
export function userPath(name, rest = '') {
  return `/users/${encodeURIComponent(name)}${rest}`;
}
