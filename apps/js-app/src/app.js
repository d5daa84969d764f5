// The visit counter's HTTP server (node:http, no framework).

import { timingSafeEqual } from 'node:crypto';
import http from 'node:http';

import { CONTENT_TYPE as METRICS_CONTENT_TYPE, Metrics } from './metrics.js';
import { CorruptVisitsFile, VisitStore, isOutOfSpace } from './store.js';

/** One JSON object per line on stdout. */
export function jsonLogger(write = (line) => process.stdout.write(line)) {
  const emit = (level) => (msg, fields = {}) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), level, msg, pid: process.pid, ...fields })}\n`);
  return { info: emit('info'), warn: emit('warning'), error: emit('error') };
}

const MOSCOW = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Europe/Moscow',
  year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23',
  timeZoneName: 'longOffset',
});

/** "2024-05-01 12:00:00 MSK (UTC+03:00)" */
export function moscowTime(date = new Date()) {
  // The page shows whole seconds: format each second once (Intl formatting is
  // a noticeable part of a page's CPU under load).
  const second = Math.floor(date.getTime() / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastFormatted = formatMoscow(date);
  }
  return lastFormatted;
}
let lastSecond = NaN;
let lastFormatted = '';

function formatMoscow(date) {
  const p = Object.fromEntries(MOSCOW.formatToParts(date).map(({ type, value }) => [type, value]));
  const offset = p.timeZoneName.replace(/^GMT/, '') || '+00:00';
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second} MSK (UTC${offset})`;
}

const escapeHtml = (s) =>
  String(s).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const page = ({ pod, visits, time, version }) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Visits – ${escapeHtml(pod)}</title>
  <style>body { font-family: sans-serif; margin: 3em; } dt { font-weight: bold; }</style>
</head>
<body>
  <h1>JS visit counter</h1>
  <dl>
    <dt>Moscow time</dt><dd id="time">${escapeHtml(time)}</dd>
    <dt>Pod</dt><dd id="pod">${escapeHtml(pod)}</dd>
    <dt>Visits to this pod</dt><dd id="visits">${visits}</dd>
    <dt>Version</dt><dd id="version">${escapeHtml(version)}</dd>
  </dl>
</body>
</html>
`;

const errorPage = (message, { pod, version }) => `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Error</title></head>
<body>
  <h1>Visit not recorded</h1>
  <p id="error">${escapeHtml(message)}</p>
  <p>Pod <span id="pod">${escapeHtml(pod)}</span>, version <span id="version">${escapeHtml(version)}</span></p>
</body>
</html>
`;

function sameToken(given, expected) {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  // Compare equal-length buffers so the time taken does not leak the token.
  return a.length === b.length && timingSafeEqual(a, b);
}

/** APP_VERSION when it is not set: outside an image (the Dockerfile sets it, default 0.1.0). */
export const DEFAULT_VERSION = 'dev';

/**
 * @param {object} opts
 * @param {string} opts.dataDir     directory holding the visits file
 * @param {string} opts.pod         pod name shown on the page and in metrics
 * @param {string} [opts.adminToken] bearer token for POST /visits/reset (disabled if unset)
 * @param {string} [opts.version]   app version shown on the page and in every JSON answer
 * @param {object} [opts.log]       logger with info/warn/error(msg, fields)
 */
export function createApp({ dataDir, pod, adminToken, version = DEFAULT_VERSION, log = jsonLogger() }) {
  const store = new VisitStore(dataDir);
  // Every JSON answer names the pod that gave it and the app version.
  const ident = { pod, version };
  const metrics = new Metrics();
  let shuttingDown = false;

  const send = (res, status, body, type, headers = {}) => {
    // While shutting down, don't keep connections alive for another request.
    if (shuttingDown) res.setHeader('Connection', 'close');
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': Buffer.byteLength(body),
      'X-Pod-Name': pod,
      'X-App-Version': version,
      ...headers,
    });
    res.end(body);
  };
  const json = (res, status, obj, headers) =>
    send(res, status, `${JSON.stringify(obj)}\n`, 'application/json', headers);
  const html = (res, status, body) =>
    send(res, status, body, 'text/html; charset=utf-8', { 'Cache-Control': 'no-store' });
  const error = (res, status, message, details = {}, headers) =>
    json(res, status, { status: 'error', error: message, ...details, ...ident }, headers);

  const logCorrupt = (err, msg = err.message) => log.error(msg, { file: err.file, problem: err.problem });
  const logWriteFailure = (err) =>
    log.error(`cannot persist visit: ${err.message}`, { file: store.file });
  // 507, not 500, when the volume is full: the request was fine, there is no
  // room (the visits file is left as it was; /readyz is 503 meanwhile).
  const writeFailed = (res, err) => (isOutOfSpace(err)
    ? error(res, 507, 'no space left on the data volume', { file: store.file, detail: err.message })
    : error(res, 500, 'cannot write visits file', { file: store.file, detail: err.message }));

  // -- handlers: (req, res) -> Promise<void> -----------------------------------
  async function index(req, res) {
    let visits;
    try {
      // HEAD shows the page without counting a visit.
      visits = req.method === 'HEAD' ? await store.read() : await store.increment();
    } catch (err) {
      if (err instanceof CorruptVisitsFile) {
        logCorrupt(err);
        return html(res, 500, errorPage(err.message, ident));
      }
      logWriteFailure(err);
      if (isOutOfSpace(err)) return html(res, 507, errorPage(`no space left on the data volume: ${err.message}`, ident));
      return html(res, 500, errorPage(`cannot write visits file: ${err.message}`, ident));
    }
    html(res, 200, page({ pod, visits, version, time: moscowTime() }));
  }

  async function visits(req, res) {
    try {
      json(res, 200, { visits: await store.read(), ...ident });
    } catch (err) {
      if (err instanceof CorruptVisitsFile) {
        logCorrupt(err);
        return error(res, 500, 'corrupt visits file', { file: err.file, detail: err.problem });
      }
      log.error(`cannot read visits file: ${err.message}`, { file: store.file });
      error(res, 500, 'cannot read visits file', { file: store.file, detail: err.message });
    }
  }

  /** POST /visits: counts a visit like GET /, answered in JSON (`visits` is the new count). */
  async function recordVisit(req, res) {
    try {
      json(res, 200, { visits: await store.increment(), ...ident });
    } catch (err) {
      if (err instanceof CorruptVisitsFile) {
        logCorrupt(err);
        return error(res, 500, 'corrupt visits file', { file: err.file, detail: err.problem });
      }
      logWriteFailure(err);
      writeFailed(res, err);
    }
  }

  async function reset(req, res) {
    if (!adminToken) return error(res, 403, 'reset is disabled: ADMIN_TOKEN is not set');
    const [scheme, ...rest] = (req.headers.authorization ?? '').split(' ');
    if (scheme.toLowerCase() !== 'bearer' || !sameToken(rest.join(' ').trim(), adminToken)) {
      return error(res, 401, 'a valid bearer token is required', {}, {
        'WWW-Authenticate': 'Bearer realm="visits"',
      });
    }
    let previous;
    try {
      previous = await store.reset((err) => log.warn(`reset replaces corrupt visits file: ${err.message}`));
    } catch (err) {
      logWriteFailure(err);
      return writeFailed(res, err);
    }
    log.warn('visits reset', { previous, pod });
    json(res, 200, { visits: 0, previous, ...ident });
  }

  async function healthz(req, res) {
    json(res, 200, { status: 'ok', ...ident });
  }

  async function readyz(req, res) {
    if (shuttingDown) return error(res, 503, 'shutting down');
    try {
      await store.checkWritable();
    } catch (err) {
      if (isOutOfSpace(err)) {
        // Visits would fail (507) until space is freed: leave the Service.
        log.error(`not ready: no space left on the data volume: ${err.message}`, { dir: store.dataDir });
        return error(res, 503, 'no space left on the data volume', { dir: store.dataDir, detail: err.message });
      }
      log.error(`not ready: data directory not writable: ${err.message}`, { dir: store.dataDir });
      return error(res, 503, 'data directory not writable', { dir: store.dataDir, detail: err.message });
    }
    let count;
    try {
      count = await store.read();
    } catch (err) {
      if (err instanceof CorruptVisitsFile) {
        logCorrupt(err, `not ready: ${err.message}`);
        return error(res, 503, 'corrupt visits file', { file: err.file, detail: err.problem });
      }
      log.error(`not ready: visits file not readable: ${err.message}`, { file: store.file });
      return error(res, 503, 'visits file not readable', { file: store.file, detail: err.message });
    }
    json(res, 200, { status: 'ready', visits: count, ...ident });
  }

  async function prometheus(req, res) {
    let count = null;
    try {
      count = await store.read();
    } catch {
      // reported as app_visits_file_ok 0
    }
    send(res, 200, metrics.render({ pod, visits: count, commits: store.stats.commits }), METRICS_CONTENT_TYPE);
  }

  // GET routes also answer HEAD (as in Flask); only "/" treats HEAD specially.
  const routes = new Map([
    ['/', { GET: index }],
    ['/visits', { GET: visits, POST: recordVisit }],
    ['/visits/reset', { POST: reset }],
    ['/healthz', { GET: healthz }],
    ['/readyz', { GET: readyz }],
    ['/metrics', { GET: prometheus }],
  ]);

  const pathOf = (req) => (req.url ?? '/').split('?')[0];

  async function dispatch(req, res) {
    const pathname = pathOf(req);
    const methods = routes.get(pathname);
    if (!methods) {
      res.route = 'unmatched';
      return error(res, 404, 'not found');
    }
    res.route = pathname;
    const handler = methods[req.method] ?? (req.method === 'HEAD' ? methods.GET : undefined);
    if (!handler) {
      const allow = Object.keys(methods);
      if (methods.GET) allow.push('HEAD');
      return error(res, 405, 'method not allowed', {}, { Allow: allow.join(', ') });
    }
    return handler(req, res);
  }

  const server = http.createServer((req, res) => {
    const started = process.hrtime.bigint();
    req.resume(); // no endpoint reads a body; drain it so keep-alive works
    res.on('finish', () => {
      const route = res.route ?? 'unmatched';
      metrics.observe(req.method, route, res.statusCode);
      log.info('request', {
        method: req.method,
        path: pathOf(req),
        status: res.statusCode,
        duration_ms: Math.round(Number(process.hrtime.bigint() - started) / 1e4) / 100,
        remote: req.socket.remoteAddress,
        pod,
      });
    });
    dispatch(req, res).catch((err) => {
      log.error(`unhandled error: ${err.stack ?? err}`, { path: req.url });
      if (!res.headersSent) error(res, 500, 'internal error');
      else res.destroy();
    });
  });
  server.keepAliveTimeout = 5000;

  async function start(port, host) {
    try {
      const removed = await store.removeStaleTempFiles();
      if (removed) log.warn(`removed ${removed} stale temp file(s) from an interrupted write`, { dir: store.dataDir });
    } catch (err) {
      log.error(`data directory not usable at startup: ${err.message}`, { dir: store.dataDir });
    }
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return server.address().port;
  }

  /**
   * Graceful shutdown: /readyz turns 503, no new connections, in-flight
   * requests and queued writes finish. Resolves to true if that happened
   * within timeoutMs, false if connections had to be cut.
   */
  async function shutdown(timeoutMs = 10_000) {
    shuttingDown = true;
    const closed = new Promise((resolve) => server.close(() => resolve()));
    // Keep-alive connections that finish their last request become idle: close them too.
    server.closeIdleConnections();
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    let timer;
    const timedOut = new Promise((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const clean = await Promise.race([closed.then(() => store.close()).then(() => true), timedOut]);
    clearTimeout(timer);
    clearInterval(sweeper);
    if (!clean) {
      server.closeAllConnections();
      await store.close();
    }
    return clean;
  }

  return { server, store, metrics, version, start, shutdown };
}
