// The real thing: `node src/server.js` as a separate process, as in the container.

import assert from 'node:assert/strict';
import { chmod, chown, readdir, readFile, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { afterEach, beforeEach, test } from 'node:test';

import {
  POD, TOKEN, VERSION, pageCount, pool, readOnlyRoot, startServer, tempDataDir, withoutDacOverride,
} from './helpers.js';

const REQUESTS = 1000;
const CONCURRENCY = 50;

let tmp;
const servers = [];
const start = async (opts) => {
  const s = await startServer({ dataDir: tmp.dataDir, ...opts });
  servers.push(s);
  return s;
};
beforeEach(async () => {
  tmp = await tempDataDir();
});
afterEach(async () => {
  for (const s of servers.splice(0)) s.kill();
  await chmod(tmp.dataDir, 0o755).catch(() => {});
  await tmp.cleanup();
});

test(`${REQUESTS} requests at concurrency ${CONCURRENCY}, then a restart: the count is exact and survives`, async (t) => {
  let server = await start();
  const started = performance.now();
  const seen = await pool(REQUESTS, CONCURRENCY, async () => {
    const res = await server.get('/');
    assert.equal(res.status, 200, res.body);
    return pageCount(res.body);
  });
  const seconds = (performance.now() - started) / 1000;

  // Every visit got its own number: no lost or duplicated increment.
  assert.deepEqual(seen.sort((a, b) => a - b), Array.from({ length: REQUESTS }, (_, i) => i + 1));
  assert.deepEqual(JSON.parse((await server.get('/visits')).body), { visits: REQUESTS, pod: POD, version: VERSION });
  assert.equal(await readFile(`${tmp.dataDir}/visits`, 'utf8'), `${REQUESTS}\n`);
  const metrics = (await server.get('/metrics')).body;
  assert.ok(metrics.includes(`http_requests_total{method="GET",route="/",status="200"} ${REQUESTS}\n`));
  assert.ok(metrics.includes(`app_visits{pod="${POD}"} ${REQUESTS}\n`));
  const commits = Number(/^app_visit_commits_total\{[^}]*\} (\d+)$/m.exec(metrics)[1]);
  assert.ok(commits >= 1 && commits < REQUESTS, `${commits} commits: group commit makes visits share writes`);
  assert.equal(server.requestLog().filter((l) => l.path === '/').length, REQUESTS);
  t.diagnostic(`js-app load test: ${REQUESTS} requests, concurrency ${CONCURRENCY}, final count ${REQUESTS}, ` +
    `${seconds.toFixed(1)}s (${Math.round(REQUESTS / seconds)} req/s), ${(REQUESTS / commits).toFixed(1)} visits per commit`);

  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.match(server.logs(), /"msg":"shutdown complete"/);
  assert.deepEqual(await readdir(tmp.dataDir), ['visits']); // the prepared temp file is deleted

  server = await start();
  assert.equal(JSON.parse((await server.get('/visits')).body).visits, REQUESTS);
  assert.equal((await server.get('/readyz')).status, 200);
  assert.equal(pageCount((await server.get('/')).body), REQUESTS + 1);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
});

test('SIGTERM during load: in-flight requests finish, every acknowledged visit is on disk', async () => {
  const server = await start();
  let ok = 0;
  let failed = 0;
  let stopping;
  await pool(300, CONCURRENCY, async () => {
    try {
      const res = await server.get('/');
      if (res.status === 200) ok++;
      else failed++;
    } catch {
      failed++; // connection refused or reset once the listener is closed
    }
    if (ok === 50 && !stopping) stopping = server.stop();
  });
  assert.deepEqual(await stopping, { code: 0, signal: null });
  assert.ok(ok >= 50);
  assert.equal(ok + failed, 300);
  assert.equal(Number(await readFile(`${tmp.dataDir}/visits`, 'utf8')), ok);
});

test('kill -9 under load: the file is intact and every answered visit is in it', async (t) => {
  let server = await start();
  const answered = [];
  let attempted = 0;
  let killed = false;
  await pool(3000, CONCURRENCY, async () => {
    if (killed) return;
    attempted++;
    let res;
    try {
      res = await server.get('/', { timeout: 10_000 });
    } catch {
      return; // cut by the kill
    }
    if (res.status !== 200) return;
    answered.push(pageCount(res.body));
    if (answered.length === 300 && !killed) {
      killed = true;
      server.kill();
    }
  });
  assert.deepEqual(await server.exited, { code: null, signal: 'SIGKILL' });
  const onDisk = Number(await readFile(`${tmp.dataDir}/visits`, 'utf8')); // a complete value, not torn
  assert.equal(new Set(answered).size, answered.length);
  // Counts are handed out 1, 2, 3, ... so "the highest answered count is on disk"
  // means every answered visit is. Visits cut before their answer may be on disk
  // too, but no more than were sent.
  const highest = Math.max(...answered);
  assert.ok(highest <= onDisk && onDisk <= attempted, `answered up to ${highest}, ${onDisk} on disk, ${attempted} sent`);
  assert.ok(answered.length <= onDisk);
  t.diagnostic(`js-app kill -9 test: ${answered.length} visits answered, ${onDisk} on disk, ${attempted} sent`);

  server = await start();
  assert.equal((await server.get('/readyz')).status, 200);
  assert.equal(JSON.parse((await server.request('POST', '/visits')).body).visits, onDisk + 1);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.deepEqual(await readdir(tmp.dataDir), ['visits']); // the killed process's prepared temp file was swept
});

test('SIGTERM with an idle keep-alive connection open: prompt, clean exit', async () => {
  const server = await start();
  const agent = new http.Agent({ keepAlive: true });
  const res = await new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port: server.port, path: '/healthz', agent }, (r) => {
      r.resume();
      r.on('end', () => resolve(r));
    }).on('error', reject);
  });
  assert.equal(res.headers.connection, 'keep-alive');
  const t0 = performance.now();
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.ok(performance.now() - t0 < 5000);
  agent.destroy();
});

test('a read-only data dir: /readyz 503, / 500, /visits still reads, nothing changes', async (t) => {
  const prefix = withoutDacOverride();
  if (prefix === null) return t.skip('root without setpriv: cannot make a directory read-only');
  await writeFile(`${tmp.dataDir}/visits`, '7\n');
  await chmod(tmp.dataDir, 0o555);
  const server = await start({ prefix });
  assert.equal((await server.get('/healthz')).status, 200);
  let res = await server.get('/readyz');
  assert.equal(res.status, 503);
  const body = JSON.parse(res.body);
  assert.equal(body.error, 'data directory not writable');
  assert.equal(body.dir, tmp.dataDir);
  assert.match(body.detail, /EACCES|permission denied/i);
  res = await server.get('/');
  assert.equal(res.status, 500);
  assert.ok(res.body.includes('cannot write visits file'));
  assert.equal(JSON.parse((await server.get('/visits')).body).visits, 7);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.equal(await readFile(`${tmp.dataDir}/visits`, 'utf8'), '7\n');
  assert.ok(server.logs().includes('not ready: data directory not writable'));
});

test('a corrupt visits file, real process: not ready but alive, not overwritten, until the admin reset', async () => {
  const file = `${tmp.dataDir}/visits`;
  const server = await start();
  for (let i = 0; i < 3; i++) assert.equal((await server.get('/')).status, 200);
  await writeFile(file, 'not-a-number\n'); // as `kubectl exec ... sh -c 'echo ...'`
  let res = await server.get('/readyz');
  assert.equal(res.status, 503);
  assert.deepEqual([JSON.parse(res.body).error, JSON.parse(res.body).file], ['corrupt visits file', file]);
  assert.equal((await server.get('/healthz')).status, 200);
  assert.equal((await server.get('/')).status, 500);
  assert.equal((await server.request('POST', '/visits')).status, 500);
  assert.equal((await server.request('POST', '/visits/reset')).status, 401);
  assert.equal(await readFile(file, 'utf8'), 'not-a-number\n');

  res = await server.request('POST', '/visits/reset', { headers: { authorization: `Bearer ${TOKEN}` } });
  assert.equal(res.status, 200);
  assert.deepEqual(JSON.parse(res.body), { visits: 0, previous: null, pod: POD, version: VERSION });
  assert.equal(await readFile(file, 'utf8'), '0\n');
  assert.equal((await server.get('/readyz')).status, 200);
  assert.equal(JSON.parse((await server.request('POST', '/visits')).body).visits, 1);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.ok(server.logs().includes('corrupt visits file'));
  assert.ok(server.logs().includes('reset replaces corrupt visits file'));
});

test('as UID 10001 on a read-only root filesystem (as in the pod)', async (t) => {
  const ro = readOnlyRoot(tmp.dataDir);
  if (ro.skip) return t.skip(ro.skip);
  await chown(tmp.dataDir, 10001, 10001);
  const asPodUser = ['setpriv', '--reuid=10001', '--regid=10001', '--clear-groups'];
  const server = await start({ prefix: [...ro.prefix, ...asPodUser], env: ro.env });
  const statuses = await pool(100, 10, async () => (await server.get('/')).status);
  assert.deepEqual(statuses, Array(100).fill(200));
  assert.equal((await server.get('/readyz')).status, 200);
  assert.deepEqual(await server.stop(), { code: 0, signal: null });
  assert.equal(await readFile(`${tmp.dataDir}/visits`, 'utf8'), '100\n');
  assert.doesNotMatch(server.logs(), /EROFS|EACCES|"level":"error"/);
});
