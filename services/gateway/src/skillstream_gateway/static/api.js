// HTTP and server-sent events against the gateway's contract (services/gateway/README.md).
//
// Authentication is the HttpOnly `skillstream_session` cookie; a pasted token is sent once, in the
// Authorization header of POST /auth/session, and never kept in JavaScript storage. Every unsafe request
// carries the CSRF header. URLs are relative to the page so the dashboard also works under a path prefix.

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
export const CSRF_HEADER = 'X-Skillstream-CSRF';

/** An RFC 9457 problem (or a network failure, status 0) as an Error. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.title || `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
  }
}

let unauthorizedHandler = null;

/** Called when a data route answers 401 (the session expired or was revoked). */
export function onUnauthorized(handler) {
  unauthorizedHandler = handler;
}

function normalizeProblem(status, statusText, data, text) {
  if (data && typeof data === 'object' && !Array.isArray(data)) {
    const problem = { ...data };
    // FastAPI's default validation payload is {"detail": [{loc, msg, type}]}
    if (Array.isArray(problem.detail)) {
      problem.errors = problem.errors || problem.detail;
      problem.detail = undefined;
    }
    if (problem.detail != null && typeof problem.detail !== 'string') problem.detail = JSON.stringify(problem.detail);
    problem.title = problem.title || statusText || `HTTP ${status}`;
    problem.status = problem.status || status;
    problem.errors = Array.isArray(problem.errors) ? problem.errors : [];
    return problem;
  }
  const snippet = (text || '').trim().slice(0, 300);
  return { title: statusText || `HTTP ${status}`, status, detail: snippet || undefined, errors: [] };
}

/**
 * Call the gateway. Returns `{status, data}`; throws ApiError for non-2xx answers and network failures.
 * `options.auth`: do not treat a 401 as an expired session (the sign-in routes themselves).
 */
export async function api(method, path, options = {}) {
  const headers = { Accept: 'application/json, application/problem+json', ...(options.headers || {}) };
  if (UNSAFE.has(method)) headers[CSRF_HEADER] = '1';
  const init = { method, headers, credentials: 'same-origin', cache: 'no-store' };
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(options.body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch {
    throw new ApiError(0, {
      title: 'Cannot reach the gateway',
      detail: 'The request did not get an answer. Check your connection and that the gateway is running.',
      errors: [],
    });
  }
  let data = null;
  let text = '';
  if (response.status !== 204 && response.status !== 205) {
    text = await response.text();
    if ((response.headers.get('content-type') || '').includes('json') && text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
  }
  if (!response.ok) {
    const error = new ApiError(response.status, normalizeProblem(response.status, response.statusText, data, text));
    if (response.status === 401 && !options.auth && unauthorizedHandler) unauthorizedHandler(error);
    throw error;
  }
  return { status: response.status, data };
}

/**
 * One job from a reply that carries it: `JobAccepted` ({job, created}) and `JobDetail` ({job, progress}) wrap
 * the `Job`; `Job` itself (cancel, list items) is returned as is. The detail's progress stays on `progress`.
 */
export function jobOf(data) {
  if (data && typeof data === 'object' && data.job && typeof data.job === 'object') {
    return data.progress ? { ...data.job, progress: data.progress } : data.job;
  }
  return data;
}

/**
 * One EventSource with the page's lifetime. The browser reconnects by itself (sending Last-Event-ID) after
 * a dropped connection; when the server refuses the stream (an HTTP error) the EventSource closes for good,
 * so we check the session and open a new one with a capped backoff — still one connection at a time.
 * The server ends a stream when its session expires or is signed out (`: session expired` / `: session
 * revoked`): the reconnect then answers 401, the session check answers 401 too, and `onSignedOut` sends the
 * user to sign-in; a session renewed meanwhile simply resumes from Last-Event-ID.
 */
export class LiveStream {
  constructor(url, { onProgress, onState, onSignedOut }) {
    this.url = url;
    this.onProgress = onProgress;
    this.onState = onState || (() => {});
    this.onSignedOut = onSignedOut || (() => {});
    this.source = null;
    this.timer = null;
    this.delay = 1000;
    this.closed = false;
  }

  open() {
    if (this.closed) return;
    const source = new EventSource(this.url);
    this.source = source;
    this.onState('connecting');
    source.addEventListener('open', () => {
      this.delay = 1000;
      this.onState('live');
    });
    source.addEventListener('progress', (event) => {
      let data;
      try {
        data = JSON.parse(event.data);
      } catch {
        return;
      }
      if (data && typeof data === 'object' && data.job_id) this.onProgress(data);
    });
    source.addEventListener('error', () => {
      if (this.closed || source !== this.source) return;
      if (source.readyState === EventSource.CONNECTING) {
        this.onState('reconnecting');
        return;
      }
      source.close();
      this.source = null;
      this.onState('offline');
      this.timer = setTimeout(() => this.recover(), this.delay);
      this.delay = Math.min(this.delay * 2, 30000);
    });
  }

  async recover() {
    if (this.closed) return;
    try {
      await api('GET', 'auth/session', { auth: true });
    } catch (error) {
      if (error.status === 401) {
        this.onSignedOut(error);
        return;
      }
    }
    this.open();
  }

  close() {
    this.closed = true;
    clearTimeout(this.timer);
    if (this.source) this.source.close();
    this.source = null;
  }
}
