// Durable visit counter stored in $DATA_DIR/visits.
//
// File format (shared with the Python app): the count in ASCII decimal digits
// and a newline, "42\n". Surrounding whitespace is tolerated when reading;
// anything else is *corrupt* and is reported, never silently replaced.
//
// Guarantees:
// - No lost increments within this process: every read-modify-write runs
//   through one promise chain (an async mutex), so increments are strictly
//   serialised even with thousands of requests in flight. Node has no flock()
//   in core, so there is NO lock between processes: run one Node process per
//   data directory (one pod per PersistentVolumeClaim, as the StatefulSet does).
// - No torn file after a crash: the new value goes to a temp file in the same
//   directory, which is fsync'ed and then renamed over "visits"; the directory
//   is fsync'ed afterwards so the rename itself is durable. Readers see the old
//   or the new complete value, so plain reads don't wait for the mutex.

import { randomBytes } from 'node:crypto';
import { open, readdir, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';

export const VISITS_FILE = 'visits';
export const MAX_VISITS = Number.MAX_SAFE_INTEGER;
export const MAX_FILE_BYTES = 4096;
const TMP_PREFIX = '.visits.';
const TMP_SUFFIX = '.tmp';
const FILE_MODE = 0o660; // group-writable: the pod's fsGroup owns the volume

export class CorruptVisitsFile extends Error {
  constructor(file, problem) {
    super(`corrupt visits file ${file}: ${problem}`);
    this.name = 'CorruptVisitsFile';
    this.file = file;
    this.problem = problem;
  }
}

const show = (s) => JSON.stringify(s.length > 40 ? s.slice(0, 40) : s).replace(/^"|"$/g, "'");

/** Parse the content of a visits file (a Buffer); throws CorruptVisitsFile. */
export function parseCount(buf, file) {
  if (buf.some((b) => b > 0x7f)) {
    throw new CorruptVisitsFile(file, `content is not ASCII text: ${show(buf.toString('latin1'))}`);
  }
  const value = buf.toString('ascii').trim();
  if (value === '') {
    throw new CorruptVisitsFile(file, 'file is empty (expected a non-negative integer)');
  }
  if (!/^[0-9]+$/.test(value)) {
    throw new CorruptVisitsFile(file, `expected a non-negative integer, found ${show(value)}`);
  }
  const count = Number(value);
  if (!Number.isSafeInteger(count)) {
    throw new CorruptVisitsFile(file, `count ${value.slice(0, 40)} exceeds the maximum ${MAX_VISITS}`);
  }
  return count;
}

const tmpName = (prefix) => `${prefix}${process.pid}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;

export class VisitStore {
  #tail = Promise.resolve();

  constructor(dataDir) {
    this.dataDir = path.resolve(dataDir);
    this.file = path.join(this.dataDir, VISITS_FILE);
  }

  /** Current count; 0 if the file does not exist yet. */
  async read() {
    let fh;
    try {
      fh = await open(this.file, 'r');
    } catch (err) {
      if (err.code === 'ENOENT') return 0;
      throw err;
    }
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
      let length = 0;
      while (length < buf.length) {
        const { bytesRead } = await fh.read(buf, length, buf.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_FILE_BYTES) {
        throw new CorruptVisitsFile(this.file, `file is larger than ${MAX_FILE_BYTES} bytes`);
      }
      return parseCount(buf.subarray(0, length), this.file);
    } finally {
      await fh.close();
    }
  }

  /** Run fn() after every previously queued fn() has settled. */
  #exclusive(fn) {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every queued write has finished (used on shutdown). */
  idle() {
    return this.#tail;
  }

  async #write(count) {
    const tmp = path.join(this.dataDir, tmpName(TMP_PREFIX));
    try {
      const fh = await open(tmp, 'wx', FILE_MODE);
      try {
        await fh.chmod(FILE_MODE); // the umask may have removed group write
        await fh.writeFile(`${count}\n`);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
    const dir = await open(this.dataDir, 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  }

  /**
   * Add one visit; resolves to the new count. Rejects with CorruptVisitsFile
   * (the file is left untouched) or a filesystem error (nothing written).
   */
  increment() {
    return this.#exclusive(async () => {
      const count = (await this.read()) + 1;
      if (count > MAX_VISITS) {
        throw new CorruptVisitsFile(this.file, `count would exceed the maximum ${MAX_VISITS}`);
      }
      await this.#write(count);
      return count;
    });
  }

  /**
   * Set the count to 0. Resolves to the previous count (0 if the file was
   * missing) or null if it was corrupt; onCorrupt(err) is called first so the
   * lost content gets logged. Reset is the explicit way out of corruption.
   */
  reset(onCorrupt = () => {}) {
    return this.#exclusive(async () => {
      let previous;
      try {
        previous = await this.read();
      } catch (err) {
        if (!(err instanceof CorruptVisitsFile)) throw err;
        onCorrupt(err);
        previous = null;
      }
      await this.#write(0);
      return previous;
    });
  }

  /** Delete temp files left by a crash mid-write; resolves to how many. */
  removeStaleTempFiles() {
    return this.#exclusive(async () => {
      let removed = 0;
      for (const name of await readdir(this.dataDir)) {
        if (name.startsWith(TMP_PREFIX) && name.endsWith(TMP_SUFFIX)) {
          await unlink(path.join(this.dataDir, name)).then(() => removed++, () => {});
        }
      }
      return removed;
    });
  }

  /** Rejects unless an increment could write: the directory exists and a file can be created. */
  async checkWritable() {
    const st = await stat(this.dataDir);
    if (!st.isDirectory()) {
      throw Object.assign(new Error(`${this.dataDir} is not a directory`), { code: 'ENOTDIR' });
    }
    const probe = path.join(this.dataDir, tmpName('.readyz.'));
    const fh = await open(probe, 'wx', FILE_MODE);
    await fh.close();
    await unlink(probe);
  }
}
