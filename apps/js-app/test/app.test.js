// Endpoint contracts, against an in-process server on an ephemeral port.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { afterEach, beforeEach, test } from 'node:test';

import { createApp, moscowTime } from '../src/app.js';
import { POD, TOKEN, VERSION, pageCount, request, tempDataDir } from './helpers.js';

let tmp;
let app;
let port;
let logs;

async function boot(opts = {}) {
  logs = [];
  const log = Object.fromEntries(['info', 'warn', 'error'].map((level) =>
    [level, (msg, fields = {}) => logs.push({ level, msg, ...fields })]));
  app = createApp({ dataDir: tmp.dataDir, pod: POD, adminToken: TOKEN, version: VERSION, log, ...opts });
  port = await app.start(0, '127.0.0.1');
}
const get = (p, opts) => request(port, 'GET', p, opts);
const visits = async () => JSON.parse((await get('/visits')).body).visits;
const AUTH = { authorization: `Bearer ${TOKEN}` };
const IDENT = { pod: POD, version: VERSION };

beforeEach(async () => {
  tmp = await tempDataDir();
  await boot();
});
afterEach(async () => {
  await app.shutdown(1000);
  await tmp.cleanup();
});

test('GET / counts visits and shows the pod and Moscow time', async () => {
  let res;
  for (const expected of [1, 2, 3]) {
    res = await get('/');
    assert.equal(res.status, 200);
    assert.equal(res.headers['content-type'], 'text/html; charset=utf-8');
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.equal(pageCount(res.body), expected);
  }
  assert.ok(res.body.includes(`id="pod">${POD}<`));
  assert.ok(res.body.includes(`id="version">${VERSION}<`));
  const m = /id="time">(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d) MSK \(UTC\+03:00\)</.exec(res.body);
  assert.ok(m, res.body);
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  const shownUtc = Date.UTC(y, mo - 1, d, h - 3, mi, s);
  assert.ok(Math.abs(shownUtc - Date.now()) < 120_000, `${m[0]} is not Moscow time now`);
});

test('moscowTime formats a fixed instant as UTC+3', () => {
  assert.equal(moscowTime(new Date('2024-01-15T21:30:05Z')), '2024-01-16 00:30:05 MSK (UTC+03:00)');
  assert.equal(moscowTime(new Date('2024-07-01T00:00:00Z')), '2024-07-01 03:00:00 MSK (UTC+03:00)');
});

test('GET /visits is JSON and does not count', async () => {
  await get('/');
  for (let i = 0; i < 5; i++) {
    const res = await get('/visits');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { visits: 1, ...IDENT });
  }
});

test('probes, metrics, unknown paths and HEAD / do not count', async () => {
  await get('/');
  for (const p of ['/healthz', '/readyz', '/metrics', '/visits', '/nope', '/favicon.ico']) await get(p);
  const head = await request(port, 'HEAD', '/');
  assert.equal(head.status, 200);
  assert.equal(head.body, '');
  assert.equal(await visits(), 1);
});

test('GET /healthz', async () => {
  const res = await get('/healthz');
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ok', ...IDENT });
});

test('GET /readyz when ready', async () => {
  await get('/');
  const res = await get('/readyz');
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { status: 'ready', visits: 1, ...IDENT });
});

test('GET /metrics is Prometheus text with requests and visits', async () => {
  await get('/');
  await get('/');
  await get('/visits');
  await get('/nope');
  await request(port, 'PUT', '/visits');
  const res = await get('/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers['content-type'], /^text\/plain; version=0\.0\.4/);
  assert.ok(res.body.includes('# TYPE http_requests_total counter'));
  assert.ok(res.body.includes('http_requests_total{method="GET",route="/",status="200"} 2\n'));
  assert.ok(res.body.includes('http_requests_total{method="GET",route="/visits",status="200"} 1\n'));
  assert.ok(res.body.includes('http_requests_total{method="GET",route="unmatched",status="404"} 1\n'));
  assert.ok(res.body.includes('http_requests_total{method="PUT",route="/visits",status="405"} 1\n'));
  assert.ok(res.body.includes(`app_visits{pod="${POD}"} 2\n`));
  assert.ok(res.body.includes(`app_visits_file_ok{pod="${POD}"} 1\n`));
  assert.ok(res.body.includes(`app_visit_commits_total{pod="${POD}"} 2\n`));
  // Every sample line is "name{labels} number".
  for (const line of res.body.trim().split('\n').filter((l) => !l.startsWith('#'))) {
    assert.match(line, /^[a-z_]+\{[^}]*\} \d+$/);
  }
});

test('POST /visits counts a visit and answers JSON', async () => {
  await get('/');
  for (const expected of [2, 3]) {
    const res = await request(port, 'POST', '/visits');
    assert.equal(res.status, 200);
    assert.match(res.headers['content-type'], /^application\/json/);
    assert.deepEqual(JSON.parse(res.body), { visits: expected, ...IDENT });
  }
  assert.equal(pageCount((await get('/')).body), 4);
  assert.equal(await readFile(`${tmp.dataDir}/visits`, 'utf8'), '4\n');
  assert.equal((await request(port, 'PUT', '/visits')).status, 405);
});

test('every answer names the pod and the version (headers, JSON, HTML)', async () => {
  for (const [method, p] of [['GET', '/'], ['HEAD', '/'], ['GET', '/visits'], ['POST', '/visits'],
    ['GET', '/healthz'], ['GET', '/readyz'], ['GET', '/metrics'], ['GET', '/nope'], ['POST', '/visits/reset']]) {
    const res = await request(port, method, p);
    assert.equal(res.headers['x-pod-name'], POD, p);
    assert.equal(res.headers['x-app-version'], VERSION, p);
    if (res.headers['content-type'].startsWith('application/json')) {
      const body = JSON.parse(res.body);
      assert.deepEqual([body.pod, body.version], [POD, VERSION], `${method} ${p}`);
    }
  }
  await writeFile(`${tmp.dataDir}/visits`, 'x');
  const body = JSON.parse((await get('/readyz')).body);
  assert.deepEqual([body.status, body.pod, body.version], ['error', POD, VERSION]);
  const page = (await get('/')).body;
  assert.ok(page.includes(`id="pod">${POD}<`) && page.includes(`id="version">${VERSION}<`));
});

test('the version defaults to "dev"', async () => {
  await app.shutdown(1000);
  await boot({ version: undefined });
  assert.equal(JSON.parse((await get('/visits')).body).version, 'dev');
  assert.ok((await get('/')).body.includes('id="version">dev<'));
});

test('the pod name is HTML-escaped', async () => {
  await app.shutdown(1000);
  await boot({ pod: '<b>x</b>' });
  const res = await get('/');
  assert.ok(res.body.includes('&lt;b&gt;x&lt;/b&gt;'));
  assert.ok(!res.body.includes('<b>x</b>'));
});

for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN },
  { authorization: `Basic ${TOKEN}` }, { authorization: `Bearer ${TOKEN}x` }]) {
  test(`POST /visits/reset without a valid token is 401 (${JSON.stringify(headers)})`, async () => {
    await get('/');
    const res = await request(port, 'POST', '/visits/reset', { headers });
    assert.equal(res.status, 401);
    assert.match(res.headers['www-authenticate'], /^Bearer/);
    assert.equal(await visits(), 1);
  });
}

test('POST /visits/reset with the token', async () => {
  await get('/');
  await get('/');
  const res = await request(port, 'POST', '/visits/reset', { headers: AUTH });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { visits: 0, previous: 2, ...IDENT });
  assert.equal(await visits(), 0);
  assert.equal(await readFile(`${tmp.dataDir}/visits`, 'utf8'), '0\n');
  const wrongMethod = await get('/visits/reset');
  assert.equal(wrongMethod.status, 405);
  assert.equal(wrongMethod.headers.allow, 'POST');
});

test('reset is disabled (403) when ADMIN_TOKEN is not set', async () => {
  await app.shutdown(1000);
  await boot({ adminToken: undefined });
  await get('/');
  for (const headers of [{}, { authorization: 'Bearer ' }]) {
    assert.equal((await request(port, 'POST', '/visits/reset', { headers })).status, 403);
  }
  assert.equal(await visits(), 1);
});

test('a corrupt file is reported on /readyz, / and /visits, and never reset', async () => {
  const file = `${tmp.dataDir}/visits`;
  await writeFile(file, '12ab\n');

  let res = await get('/readyz');
  assert.equal(res.status, 503);
  const body = JSON.parse(res.body);
  assert.equal(body.error, 'corrupt visits file');
  assert.equal(body.file, file);
  assert.ok(body.detail.includes("'12ab'"), body.detail);

  res = await get('/');
  assert.equal(res.status, 500);
  assert.ok(res.body.includes('corrupt visits file'));
  res = await get('/visits');
  assert.equal(res.status, 500);
  assert.equal(JSON.parse(res.body).file, file);
  assert.equal((await get('/healthz')).status, 200);
  assert.ok((await get('/metrics')).body.includes(`app_visits_file_ok{pod="${POD}"} 0\n`));

  assert.equal(await readFile(file, 'utf8'), '12ab\n');
  const errors = logs.filter((l) => l.level === 'error');
  assert.ok(errors.length >= 3);
  assert.ok(errors.every((e) => e.file === file));
  assert.ok(errors.some((e) => e.msg.includes('corrupt visits file') && e.msg.includes("'12ab'")));

  // The admin reset is the explicit way out: it needs the token, and then
  // the pod is ready again at 0 and counts on.
  assert.equal((await request(port, 'POST', '/visits/reset')).status, 401);
  assert.equal((await get('/readyz')).status, 503);
  res = await request(port, 'POST', '/visits/reset', { headers: AUTH });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { visits: 0, previous: null, ...IDENT });
  assert.equal(await readFile(file, 'utf8'), '0\n');
  assert.deepEqual(JSON.parse((await get('/readyz')).body), { status: 'ready', visits: 0, ...IDENT });
  assert.equal(pageCount((await get('/')).body), 1);
});

test('a full volume (ENOSPC): /readyz 503, visits 507, the file intact, then it recovers', async (t) => {
  const file = `${tmp.dataDir}/visits`;
  for (let i = 0; i < 3; i++) assert.equal((await request(port, 'POST', '/visits')).status, 200);
  assert.equal(await readFile(file, 'utf8'), '3\n');
  // Every data write fails, as on a full volume (creating files and renaming
  // still work: an empty file needs no data block). Not stdout/stderr.
  const { writeSync } = fs;
  const full = t.mock.method(fs, 'writeSync', (fd, ...rest) => {
    if (fd > 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28 });
    return writeSync(fd, ...rest);
  });

  let res = await get('/readyz');
  assert.equal(res.status, 503);
  let body = JSON.parse(res.body);
  assert.match(body.error, /space/);
  assert.equal(body.dir, tmp.dataDir);
  assert.match(body.detail, /ENOSPC/);
  assert.equal((await get('/healthz')).status, 200); // liveness: no restart loop
  res = await request(port, 'POST', '/visits');
  assert.equal(res.status, 507);
  body = JSON.parse(res.body);
  assert.match(body.error, /space/);
  assert.equal(body.file, file);
  res = await get('/');
  assert.equal(res.status, 507);
  assert.ok(res.body.includes('no space left'), res.body);
  assert.equal(await readFile(file, 'utf8'), '3\n'); // not truncated, not replaced
  assert.equal(await visits(), 3); // reads still work
  assert.equal((await get('/healthz')).status, 200);
  // No partial temp file or readiness probe left behind.
  assert.deepEqual(await readdir(tmp.dataDir), ['visits']);
  assert.ok(logs.some((l) => l.level === 'error' && l.msg.includes('no space left')));

  full.mock.restore(); // space freed
  res = await get('/readyz');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).visits, 3);
  assert.equal(JSON.parse((await request(port, 'POST', '/visits')).body).visits, 4);
  assert.equal(await readFile(file, 'utf8'), '4\n');
  assert.equal((await get('/healthz')).status, 200);
});

test('one log line per request', async () => {
  await get('/');
  await get('/healthz');
  await get('/missing');
  const lines = logs.filter((l) => l.msg === 'request');
  assert.deepEqual(lines.map((l) => [l.method, l.path, l.status]),
    [['GET', '/', 200], ['GET', '/healthz', 200], ['GET', '/missing', 404]]);
  assert.ok(lines.every((l) => l.pod === POD && typeof l.duration_ms === 'number'));
});
