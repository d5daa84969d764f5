// Shared test helpers: temp data dirs, an HTTP client, and a real server process.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const APP_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const POD = 'js-app-0';
export const TOKEN = 'test-admin-token';
export const VERSION = '9.8.7-test';

/** A fresh directory with an empty "data" dir inside; removed by cleanup(). */
export async function tempDataDir() {
  const root = await mkdtemp(path.join(os.tmpdir(), 'js-app-test-'));
  const dataDir = path.join(root, 'data');
  await mkdir(dataDir);
  return { root, dataDir, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** One HTTP request on its own connection; resolves to {status, headers, body}. */
export function request(port, method, urlPath, { headers = {}, timeout = 30_000 } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, method, path: urlPath, headers, agent: false, timeout },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${method} ${urlPath}`)));
    req.on('error', reject);
    req.end();
  });
}

export const pageCount = (body) => Number(/id="visits">(\d+)</.exec(body)[1]);

/** Run `count` jobs with at most `concurrency` in flight; resolves to their results in order. */
export async function pool(count, concurrency, job) {
  const results = new Array(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      results[i] = await job(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/**
 * Command prefix under which root obeys file permissions (CAP_DAC_OVERRIDE
 * dropped), or null if that is impossible here. Not needed for non-root.
 */
export function withoutDacOverride() {
  if (process.getuid() !== 0) return [];
  if (spawnSync('setpriv', ['--version']).status !== 0) return null;
  const caps = '-dac_override,-dac_read_search';
  return ['setpriv', `--inh-caps=${caps}`, `--bounding-set=${caps}`];
}

// A private mount namespace that mimics the pod: read-only root filesystem,
// fresh tmpfs on /tmp, the data dir ($RO_ROOT_DATA) bind-mounted at /mnt.
const READ_ONLY_ROOT = `set -e
mount --bind "$RO_ROOT_DATA" /mnt
# A fresh tmpfs on /tmp would hide a checkout that itself lives under /tmp (as CI's may):
# then keep the host's /tmp, made a separate (still writable) mount by binding it to itself.
case "$APP_SRC" in
  /tmp/*) mount --bind /tmp /tmp ;;
  *) mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp ;;
esac
mount -o remount,bind,ro /
exec "$@"
`;

/** {prefix, env} for a read-only root fs, or {skip: reason}. */
export function readOnlyRoot(dataDir) {
  if (process.getuid() !== 0) return { skip: 'needs root to build a read-only root filesystem' };
  const probe = spawnSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    'mount -t tmpfs tmpfs /mnt && mount -o remount,bind,ro /']);
  if (probe.status !== 0) {
    return { skip: `mount namespaces not permitted here: ${String(probe.stderr ?? probe.error).trim()}` };
  }
  return {
    prefix: ['unshare', '--mount', '--propagation', 'private', 'sh', '-c', READ_ONLY_ROOT, 'sh'],
    env: { RO_ROOT_DATA: dataDir, DATA_DIR: '/mnt', APP_SRC: APP_DIR },
  };
}

/**
 * Start `node src/server.js` on a free port (PORT=0; the port is read from the
 * "listening" log line). Resolves to a handle with get(), stop(), logs().
 */
export function startServer({ dataDir, env = {}, prefix = [], timeoutMs = 10_000 }) {
  const cmd = [...prefix, process.execPath, 'src/server.js'];
  const child = spawn(cmd[0], cmd.slice(1), {
    cwd: APP_DIR,
    env: {
      ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, POD_NAME: POD,
      APP_VERSION: VERSION, ADMIN_TOKEN: TOKEN, ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, timeoutMs);
    const onData = (chunk) => {
      output += chunk;
      const m = /"msg":"listening"[^\n]*"port":(\d+)/.exec(output);
      if (m && timer) {
        clearTimeout(timer);
        const port = Number(m[1]);
        resolve({
          port,
          child,
          get: (p, opts) => request(port, 'GET', p, opts),
          request: (method, p, opts) => request(port, method, p, opts),
          logs: () => output,
          requestLog: () => output.split('\n').filter((l) => l.includes('"msg":"request"')).map((l) => JSON.parse(l)),
          async stop(signal = 'SIGTERM') {
            child.kill(signal);
            return exited;
          },
          kill: () => child.kill('SIGKILL'),
          exited,
        });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code ?? signal}):\n${output}`));
    });
  });
}
