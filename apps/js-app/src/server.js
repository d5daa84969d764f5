#!/usr/bin/env node
// Entry point: `node src/server.js`. Configuration comes from the environment.

import os from 'node:os';

import { createApp, jsonLogger } from './app.js';

const log = jsonLogger();
const env = process.env;
const port = Number.parseInt(env.PORT ?? '3000', 10);
const graceMs = Number.parseInt(env.GRACEFUL_TIMEOUT_MS ?? '20000', 10);

const app = createApp({
  dataDir: env.DATA_DIR || '/data',
  pod: env.POD_NAME || env.HOSTNAME || os.hostname(),
  adminToken: env.ADMIN_TOKEN || undefined,
  version: env.APP_VERSION || undefined,
  log,
});

let stopping = false;
async function stop(signal) {
  if (stopping) return;
  stopping = true;
  log.info(`received ${signal}, shutting down`, { grace_ms: graceMs });
  const clean = await app.shutdown(graceMs);
  log.info(clean ? 'shutdown complete' : 'shutdown timed out, connections cut');
  process.exit(clean ? 0 : 1);
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  const actual = await app.start(port, env.HOST || undefined);
  log.info('listening', { port: actual, data_dir: app.store.dataDir, version: app.version, node: process.version });
} catch (err) {
  log.error(`cannot listen on port ${port}: ${err.message}`);
  process.exit(1);
}
