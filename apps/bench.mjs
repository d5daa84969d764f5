#!/usr/bin/env node
// Write-path benchmark of the two apps (issue 11 §4): durable visits vs /healthz.
//
//   bash apps/bench.sh                     # both apps, 6 rounds of 2 s per path (installs what they need first)
//   node apps/bench.mjs --apps js --duration 3 --rounds 5
//   node apps/bench.mjs --src /tmp/old/apps # bench another checkout's apps/ (e.g. `git archive`)
//
// Each app runs locally exactly as in the image (python: gunicorn -c gunicorn.conf.py with its
// default workers and threads; js: node src/server.js) on 127.0.0.1, with a fresh temporary
// DATA_DIR, its stdout going to a log file. The same client (this script: node:http with a
// keep-alive agent, one connection per in-flight request) drives both paths at the same
// concurrency for the same time, interleaved round by round so background load affects both
// alike: GET /healthz (no storage) and GET / (one durable visit each: the page is sent only
// after the increment is on disk). Reported: median req/s (min–max over rounds), latency
// p50/p99, and the ratio visits/healthz of the medians. The visit runs are also checked for
// exactness: every page shows a distinct count, and the file and /visits hold exactly the
// number of 200s. No network other than localhost.

import { spawn } from 'node:child_process';
import fsSync, { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = path.dirname(fileURLToPath(import.meta.url));

const { values: opt } = parseArgs({
  options: {
    apps: { type: 'string', default: 'python,js' },
    duration: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '6' },
    concurrency: { type: 'string', default: '50' },
    warmup: { type: 'string', default: '1' },
    src: { type: 'string', default: HERE },
    'data-root': { type: 'string', default: os.tmpdir() },
    'keep-alive': { type: 'boolean', default: true },
    'no-keep-alive': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help) {
  console.log(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n\n')[0]);
  process.exit(0);
}
const DURATION = Number(opt.duration) * 1000;
const ROUNDS = Number(opt.rounds);
const CONCURRENCY = Number(opt.concurrency);
const WARMUP = Number(opt.warmup) * 1000;
const KEEP_ALIVE = opt['keep-alive'] && !opt['no-keep-alive'];
const SRC = path.resolve(opt.src);
const PYTHON = path.join(HERE, 'python-app', '.venv', 'bin', 'python');

/** The pids of a process and its descendants, with their /proc/<pid>/stat fields. */
function processTree(rootPid) {
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const text = readFileSync(`/proc/${name}/stat`, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      stats.set(Number(name), { ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]), rssPages: Number(f[21]) });
    } catch { /* gone */ }
  }
  const tree = [];
  const todo = [rootPid];
  while (todo.length) {
    const pid = todo.pop();
    if (stats.has(pid)) tree.push(stats.get(pid));
    for (const [child, st] of stats) if (st.ppid === pid) todo.push(child);
  }
  return tree;
}

/** CPU seconds (user + system) used so far by a process and its descendants. */
const cpuSeconds = (rootPid) => processTree(rootPid).reduce((s, p) => s + p.ticks, 0) / 100; // USER_HZ
/** Resident memory of a process and its descendants, MiB. */
const rssMiB = (rootPid) => (processTree(rootPid).reduce((s, p) => s + p.rssPages, 0) * 4096) / 2 ** 20;

/**
 * The storage floor: milliseconds of one durable atomic replace done alone, as the apps do it
 * (temp file, write, fsync, rename, directory fsync), median of `n`. A commit of visits can't be
 * faster; with concurrency C, visits/s ≤ C × visits-per-commit / (commit latency).
 */
function durableReplaceMs(dir, n = 40) {
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const tmp = path.join(dir, `.probe.${i}.tmp`);
    const fd = fsSync.openSync(tmp, 'wx', 0o660);
    fsSync.writeSync(fd, `${i}\n`);
    fsSync.fsyncSync(fd);
    fsSync.closeSync(fd);
    fsSync.renameSync(tmp, path.join(dir, 'probe'));
    const dfd = fsSync.openSync(dir, 'r');
    fsSync.fsyncSync(dfd);
    fsSync.closeSync(dfd);
    times.push(performance.now() - t0);
  }
  fsSync.unlinkSync(path.join(dir, 'probe'));
  return median(times);
}

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function request(agent, port, urlPath) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`timeout: GET ${urlPath}`)));
    req.on('error', reject);
    req.end();
  });
}

const APPS = {
  python: {
    dir: path.join(SRC, 'python-app'),
    cmd: () => [PYTHON, '-m', 'gunicorn', '-c', 'gunicorn.conf.py', 'visits.wsgi:app'],
    // Same settings as in the pod: the image's defaults (gunicorn.conf.py), unless
    // WEB_CONCURRENCY / GUNICORN_THREADS are set in the environment.
    env: { PYTHONDONTWRITEBYTECODE: '1' },
  },
  js: {
    dir: path.join(SRC, 'js-app'),
    cmd: () => [process.execPath, 'src/server.js'],
    env: { HOST: '127.0.0.1', NODE_ENV: 'production' },
  },
};

async function startApp(name, dataDir, logFile) {
  const app = APPS[name];
  const port = await freePort();
  const env = { ...process.env, ...app.env, PORT: String(port), DATA_DIR: dataDir, POD_NAME: `${name}-app-bench` };
  delete env.PROMETHEUS_MULTIPROC_DIR;
  const out = openSync(logFile, 'a');
  const [cmd, ...args] = app.cmd();
  const child = spawn(cmd, args, { cwd: app.dir, env, stdio: ['ignore', out, out] });
  closeSync(out);
  let exited = null;
  child.on('exit', (code, signal) => { exited = code ?? signal; });
  const agent = new http.Agent({ keepAlive: false });
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (exited !== null) throw new Error(`${name}-app exited (${exited}):\n${readFileSync(logFile, 'utf8')}`);
    try {
      if ((await request(agent, port, '/healthz')).status === 200) {
        return {
          port, child,
          stop: () => new Promise((resolve) => {
            if (exited !== null) return resolve(exited);
            child.once('exit', (code, signal) => resolve(code ?? signal));
            child.kill('SIGTERM');
          }),
        };
      }
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill('SIGKILL');
  throw new Error(`${name}-app did not become healthy:\n${readFileSync(logFile, 'utf8')}`);
}

/** CONCURRENCY loops, each one request at a time, for `ms`; the same client for every path. */
async function load(port, urlPath, ms, onBody, serverPid) {
  const agent = new http.Agent({ keepAlive: KEEP_ALIVE, maxSockets: CONCURRENCY });
  const latencies = [];
  let ok = 0;
  let failed = 0;
  const cpu0 = serverPid ? cpuSeconds(serverPid) : 0;
  const started = performance.now();
  const end = started + ms;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    while (performance.now() < end) {
      const t0 = performance.now();
      try {
        const res = await request(agent, port, urlPath);
        latencies.push(performance.now() - t0);
        if (res.status === 200) {
          ok++;
          onBody?.(res.body);
        } else failed++;
      } catch {
        failed++;
      }
    }
  }));
  const seconds = (performance.now() - started) / 1000;
  const cpu = serverPid ? cpuSeconds(serverPid) - cpu0 : NaN;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  // cpuUs: the server's CPU time per answered request (all its processes), less noisy than req/s
  // when other jobs share the machine.
  return { ok, failed, rps: ok / seconds, p50: pct(0.5), p99: pct(0.99), cpuUs: (cpu / ok) * 1e6 };
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
const fmt = (x) => Math.round(x).toString();
const range = (xs) => `${fmt(Math.min(...xs))}–${fmt(Math.max(...xs))}`;

async function commitsOf(port) {
  const res = await request(new http.Agent({ keepAlive: false }), port, '/metrics');
  const m = /^app_visit_commits_total\{[^}]*\} ([0-9.e+]+)$/m.exec(res.body);
  return m ? Number(m[1]) : NaN; // NaN: an app version without the metric
}

async function visitsOf(port) {
  const res = await request(new http.Agent({ keepAlive: false }), port, '/visits');
  if (res.status !== 200) throw new Error(`/visits answered ${res.status}: ${res.body}`);
  return JSON.parse(res.body).visits;
}

async function benchApp(name) {
  const root = mkdtempSync(path.join(opt['data-root'], `bench-${name}-`));
  const dataDir = path.join(root, 'data');
  const logFile = path.join(root, 'app.log');
  mkdirSync(dataDir);
  const server = await startApp(name, dataDir, logFile);
  const problems = [];
  const health = [];
  const visits = [];
  const floors = [durableReplaceMs(root)];
  let rss = NaN;
  try {
    // Warm-up (JIT, connection pools, worker processes), not measured.
    await load(server.port, '/healthz', WARMUP);
    await load(server.port, '/', WARMUP);
    for (let round = 1; round <= ROUNDS; round++) {
      const h = await load(server.port, '/healthz', DURATION, undefined, server.child.pid);
      health.push(h);
      const before = await visitsOf(server.port);
      const commitsBefore = await commitsOf(server.port);
      const seen = [];
      const v = await load(server.port, '/', DURATION, (body) => {
        const m = /id="visits">(\d+)</.exec(body);
        seen.push(m ? Number(m[1]) : NaN);
      }, server.child.pid);
      visits.push(v);
      const after = await visitsOf(server.port);
      v.batch = (after - before) / ((await commitsOf(server.port)) - commitsBefore);
      const file = readFileSync(path.join(dataDir, 'visits'), 'utf8');
      seen.sort((a, b) => a - b);
      const exact = seen.length === v.ok && seen.every((c, i) => c === before + i + 1);
      if (after - before !== v.ok || file !== `${after}\n` || !exact || v.failed || h.failed) {
        problems.push(`round ${round}: ${v.ok} visits answered 200, count ${before} → ${after}, ` +
          `file ${JSON.stringify(file)}, pages distinct and consecutive: ${exact}, ` +
          `failed: healthz ${h.failed}, visits ${v.failed}`);
      }
      floors.push(durableReplaceMs(root, 10));
      log(`${name}-app round ${round}/${ROUNDS}: /healthz ${fmt(h.rps)} req/s, / ${fmt(v.rps)} req/s ` +
        `(${(v.rps / h.rps * 100).toFixed(0)}%), visits ${before} → ${after}, ${v.batch.toFixed(1)} visits per commit, ` +
        `server CPU per request ${fmt(h.cpuUs)} / ${fmt(v.cpuUs)} µs`);
    }
    rss = rssMiB(server.child.pid);
  } finally {
    const code = await server.stop();
    if (code !== 0) problems.push(`exit code after SIGTERM: ${code}`);
    if (!problems.length) rmSync(root, { recursive: true, force: true });
    else problems.push(`data dir and log kept in ${root}`);
  }
  const hMed = median(health.map((r) => r.rps));
  const vMed = median(visits.map((r) => r.rps));
  // Each round's two runs are back to back, so their ratio is what background load disturbs least.
  const ratios = visits.map((v, i) => v.rps / health[i].rps);
  const pct = (x) => `${(x * 100).toFixed(0)}%`;
  const batch = median(visits.map((r) => r.batch));
  return {
    name,
    row: `| ${name}-app | ${fmt(hMed)} (${range(health.map((r) => r.rps))}) | ` +
      `${fmt(vMed)} (${range(visits.map((r) => r.rps))}) | **${pct(median(ratios))}** ` +
      `(${pct(Math.min(...ratios))}–${pct(Math.max(...ratios))}) | ` +
      `${median(health.map((r) => r.p50)).toFixed(1)} / ${median(health.map((r) => r.p99)).toFixed(1)} | ` +
      `${median(visits.map((r) => r.p50)).toFixed(1)} / ${median(visits.map((r) => r.p99)).toFixed(1)} | ` +
      `${Number.isNaN(batch) ? '– (no metric)' : batch.toFixed(1)} | ${fmt(median(health.map((r) => r.cpuUs)))} / ` +
      `${fmt(median(visits.map((r) => r.cpuUs)))} | ${median(floors).toFixed(1)} | ${fmt(rss)} | ` +
      `${visits.reduce((s, r) => s + r.ok, 0)} |`,
    problems,
  };
}

const names = opt.apps.split(',').map((s) => s.trim()).filter(Boolean);
for (const n of names) {
  if (!APPS[n]) {
    console.error(`unknown app ${n}; use --apps python,js`);
    process.exit(2);
  }
}
if (names.includes('python') && !existsSync(PYTHON)) {
  console.error(`${PYTHON} is missing: run \`bash apps/bench.sh\` (or \`bash apps/test.sh setup\`) first`);
  process.exit(2);
}

log(`${os.cpus().length} CPUs, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}, ` +
  `node ${process.version}, src ${SRC}, data under ${opt['data-root']}`);
const results = [];
for (const n of names) results.push(await benchApp(n));

console.log(`\nconcurrency ${CONCURRENCY}, ${KEEP_ALIVE ? 'keep-alive' : 'one connection per request'}, ` +
  `${ROUNDS} interleaved rounds of ${DURATION / 1000} s per path; median req/s (min–max)\n`);
console.log('| app | GET /healthz req/s | GET / (durable visit) req/s | visits / healthz, per round: median (min–max) | healthz p50 / p99 ms | visit p50 / p99 ms | visits per commit | server CPU µs per request, healthz / visit | durable replace alone, ms | server RSS MiB | visits checked |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of results) console.log(r.row);
let failed = false;
for (const r of results) {
  for (const p of r.problems) {
    failed = true;
    console.log(`\n${r.name}-app PROBLEM: ${p}`);
  }
}
if (!failed) console.log('\nexactness: every visit answered 200 showed a distinct consecutive count; file and /visits matched');
process.exit(failed ? 1 : 0);
