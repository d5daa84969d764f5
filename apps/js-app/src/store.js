// Durable visit counter stored in $DATA_DIR/visits.
//
// File format (shared with the Python app): the count in ASCII decimal digits
// and a newline, "42\n". Surrounding whitespace is tolerated when reading;
// anything else is *corrupt* and is reported, never silently replaced.
//
// Guarantees:
// - No lost increments within this process: every read-modify-write runs
//   through one promise chain (an async mutex), so writes are strictly
//   serialised even with thousands of requests in flight. Node has no flock()
//   in core, so there is NO lock between processes: run one Node process per
//   data directory (one pod per PersistentVolumeClaim, as the StatefulSet does).
// - No torn file after a crash: the visits file is only ever replaced whole.
//   The new value goes to a temp file in the same directory whose content is
//   on disk before it is renamed over "visits"; the directory is fsync'ed
//   afterwards so the rename itself is durable. Readers see the old or the new
//   complete value, so plain reads don't wait for the mutex.
// - Group commit: increments that arrive while a write is in progress join one
//   pending batch; when the mutex frees, the batch is closed and committed with
//   ONE read, ONE temp-file write + sync + rename and ONE directory fsync, and
//   its members get the consecutive counts base+1 .. base+n. Each increment
//   resolves only after the directory fsync that made its batch durable, so an
//   answered visit is on disk.
// - A prepared temp file: the temp file for the next commit is created,
//   filled with a placeholder of the expected length ("000\n") and fsync'ed
//   ahead of time, outside the commit. Its inode, size and blocks are then on
//   disk, so the commit overwrites the bytes in place and needs only an
//   fdatasync (a data write; no journal commit, ~0.6 ms instead of ~2.5 ms
//   for a new file's fsync on the test machine) before the rename. If the
//   length differs (the count gained a digit, or after a reset) the commit
//   resizes it and uses a full fsync. At most one such file exists (named like
//   every temp file, ".visits.<pid>.<random>.tmp"); shutdown deletes it, and a
//   crash leaves it to the start-up sweep.
// - Pipelining: the directory fsync of batch k runs outside the mutex, while
//   batch k+1 is already writing its temp file. That is safe: batch k+1 read
//   the count batch k renamed into place, its temp file is synced before its
//   rename, so whichever of the two entries the directory holds after batch
//   k's directory fsync, its count includes all of batch k.

import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { readdir, stat, unlink } from 'node:fs/promises';
import { promisify } from 'node:util';
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

// fs.fsync looked up at each call, so a test can observe the order of the steps.
const fsync = (fd) => promisify(fs.fsync)(fd);
const fdatasync = (fd) => promisify(fs.fdatasync)(fd);

const tmpName = (prefix) => `${prefix}${process.pid}.${randomBytes(6).toString('hex')}${TMP_SUFFIX}`;

export class VisitStore {
  #tail = Promise.resolve();
  /** The batch gathering increments until the mutex frees: {size, result}. */
  #batch = null;
  /** Directory fsyncs still running (outside the mutex); idle() waits for them. */
  #syncing = new Set();
  /** A temp file made ready ahead of the next commit: Promise<{fd, tmp, length}>, or null. */
  #spare = null;
  /** Length of the last value written: the prepared file's length. */
  #nextLength = 2;
  /** Batches and writes committed so far (for tests and the bench). */
  stats = { commits: 0, increments: 0 };

  constructor(dataDir) {
    this.dataDir = path.resolve(dataDir);
    this.file = path.join(this.dataDir, VISITS_FILE);
  }

  /**
   * Current count; 0 if the file does not exist yet. Read synchronously, as inside a commit:
   * the file is at most MAX_FILE_BYTES, a single read from the page cache.
   */
  async read() {
    return this.#readSync();
  }

  /** Run fn() after every previously queued fn() has settled. */
  #exclusive(fn) {
    const run = this.#tail.then(fn);
    this.#tail = run.catch(() => {});
    return run;
  }

  /** Resolves once every queued write and its directory fsync has finished (used on shutdown). */
  async idle() {
    await this.#tail;
    await Promise.allSettled([...this.#syncing]);
  }

  /** idle(), then delete the prepared temp file (used on shutdown). */
  async close() {
    await this.idle();
    const spare = this.#spare;
    this.#spare = null;
    const prepared = await spare?.catch(() => null);
    if (prepared) {
      try {
        fs.closeSync(prepared.fd);
        fs.unlinkSync(prepared.tmp);
      } catch {
        // gone with its directory: nothing to clean up
      }
    }
  }

  /**
   * Create a temp file of `length` bytes ("000…\n"), fsync it: its inode, size
   * and blocks are then on disk, so a commit only overwrites the bytes in place
   * and needs an fdatasync (one data write, no journal commit) before the rename.
   */
  #prepareSpare(length) {
    const spare = (async () => {
      const tmp = path.join(this.dataDir, tmpName(TMP_PREFIX));
      const fd = fs.openSync(tmp, 'wx', FILE_MODE);
      try {
        fs.fchmodSync(fd, FILE_MODE); // the umask may have removed group write
        fs.writeSync(fd, `${'0'.repeat(length - 1)}\n`, 0);
        await fsync(fd);
        return { fd, tmp, length };
      } catch (err) {
        fs.closeSync(fd);
        try {
          fs.unlinkSync(tmp);
        } catch {
          // already gone
        }
        throw err;
      }
    })();
    spare.catch(() => {}); // reported by the commit that uses it
    return spare;
  }

  /** Atomically replace the file (new temp file, fsync, rename) and fsync the directory (reset). */
  async #write(count) {
    await this.#replace(count);
    await this.#syncDir();
  }

  /** Run the directory fsync outside the mutex (see "Pipelining" above). */
  #syncDirTracked() {
    const p = this.#syncDir();
    this.#syncing.add(p);
    const forget = () => this.#syncing.delete(p);
    p.then(forget, forget);
    return p;
  }

  // The write path makes only the fsyncs asynchronous (thread pool); the
  // other steps (open, read or write of a few bytes in the page cache, rename,
  // close) are synchronous calls of microseconds on the pod's volume. Each
  // asynchronous step costs a thread-pool round trip and a turn of the event
  // loop, which under load is busy with many requests: with all twelve steps
  // asynchronous a commit cost twice the CPU (~1.3 ms vs ~0.65 ms measured)
  // and waited for the loop at every step. Plain reads (GET /visits, probes,
  // metrics) stay fully asynchronous.

  async #syncDir() {
    const fd = fs.openSync(this.dataDir, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY);
    try {
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** The count in the file (used by read() and inside a commit). */
  #readSync() {
    let fd;
    try {
      fd = fs.openSync(this.file, 'r');
    } catch (err) {
      if (err.code === 'ENOENT') return 0;
      throw err;
    }
    try {
      const buf = Buffer.alloc(MAX_FILE_BYTES + 1);
      let length = 0;
      while (length < buf.length) {
        const bytesRead = fs.readSync(fd, buf, length, buf.length - length, null);
        if (bytesRead === 0) break;
        length += bytesRead;
      }
      if (length > MAX_FILE_BYTES) {
        throw new CorruptVisitsFile(this.file, `file is larger than ${MAX_FILE_BYTES} bytes`);
      }
      return parseCount(buf.subarray(0, length), this.file);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Temp file, fsync, rename over the visits file; durable after the directory fsync. */
  async #replace(count) {
    const tmp = path.join(this.dataDir, tmpName(TMP_PREFIX));
    try {
      const fd = fs.openSync(tmp, 'wx', FILE_MODE);
      try {
        fs.fchmodSync(fd, FILE_MODE); // the umask may have removed group write
        fs.writeFileSync(fd, `${count}\n`);
        await fsync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, this.file);
    } catch (err) {
      try {
        fs.unlinkSync(tmp);
      } catch {
        // not created, or already renamed
      }
      throw err;
    }
  }

  /**
   * Add one visit; resolves to the new count once it is durable. Rejects with
   * CorruptVisitsFile (the file is left untouched) or a filesystem error
   * (nothing written, or not known to be durable). Concurrent calls share one
   * write (group commit); each still gets its own distinct count.
   */
  increment() {
    let batch = this.#batch;
    if (!batch) {
      batch = { size: 0, result: null };
      this.#batch = batch;
      const committed = this.#exclusive(async () => {
        let spare;
        let base;
        try {
          // The one prepared after the previous commit or, if that failed (or none), a new one.
          const ready = this.#spare;
          this.#spare = null;
          spare = (ready && (await ready.catch(() => null))) || (await this.#prepareSpare(this.#nextLength));
          base = this.#readSync(); // the file, not a cached value: an outside change (corruption) is seen
        } catch (err) {
          if (spare) this.#spare = Promise.resolve(spare); // unused: keep it for the next batch
          else this.#spare = null; // preparing failed: the next batch tries again
          throw err;
        } finally {
          if (this.#batch === batch) this.#batch = null; // closed: later increments form the next batch
        }
        const granted = Math.min(batch.size, MAX_VISITS - base);
        if (granted === 0) {
          this.#spare = Promise.resolve(spare);
          return { base, granted };
        }
        const text = `${base + granted}\n`;
        try {
          if (text.length === spare.length) {
            fs.writeSync(spare.fd, text, 0);
            await fdatasync(spare.fd); // same size: the data is all there is to sync
          } else { // the count gained a digit (or was reset): resize, full fsync
            fs.ftruncateSync(spare.fd, 0);
            fs.writeSync(spare.fd, text, 0);
            await fsync(spare.fd);
          }
          fs.closeSync(spare.fd);
          fs.renameSync(spare.tmp, this.file);
        } catch (err) {
          try {
            fs.closeSync(spare.fd);
          } catch {
            // already closed
          }
          try {
            fs.unlinkSync(spare.tmp);
          } catch {
            // renamed or gone
          }
          throw err;
        }
        this.#nextLength = text.length;
        this.#spare = this.#prepareSpare(text.length); // ready long before the next batch's turn
        this.stats.commits++;
        this.stats.increments += granted;
        return { base, granted };
      });
      batch.result = committed.then(async (r) => {
        if (r.granted > 0) await this.#syncDirTracked();
        return r;
      });
    }
    const index = batch.size++;
    return batch.result.then(({ base, granted }) => {
      if (index >= granted) {
        throw new CorruptVisitsFile(this.file, `count would exceed the maximum ${MAX_VISITS}`);
      }
      return base + index + 1;
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
        previous = this.#readSync();
      } catch (err) {
        if (!(err instanceof CorruptVisitsFile)) throw err;
        onCorrupt(err);
        previous = null;
      }
      await this.#write(0);
      return previous;
    });
  }

  /** Delete temp files left by a crash (not this store's prepared one); resolves to how many. */
  removeStaleTempFiles() {
    return this.#exclusive(async () => {
      let removed = 0;
      const spare = this.#spare ? (await this.#spare.catch(() => null))?.tmp : undefined;
      for (const name of await readdir(this.dataDir)) {
        if (name.startsWith(TMP_PREFIX) && name.endsWith(TMP_SUFFIX) && path.join(this.dataDir, name) !== spare) {
          await unlink(path.join(this.dataDir, name)).then(() => removed++, () => {});
        }
      }
      return removed;
    });
  }

  /**
   * Rejects unless an increment could write: the directory exists and a file
   * with content can be written and synced. Creating an empty file is not
   * enough: it needs no data block, so it still succeeds on a full volume
   * (ENOSPC) where every commit fails; a few bytes written and fsync'ed make
   * that surface (delayed allocation may report it only at the fsync). The
   * probe is removed whether that worked or not.
   */
  async checkWritable() {
    const st = await stat(this.dataDir);
    if (!st.isDirectory()) {
      throw Object.assign(new Error(`${this.dataDir} is not a directory`), { code: 'ENOTDIR' });
    }
    const probe = path.join(this.dataDir, tmpName('.readyz.'));
    const fd = fs.openSync(probe, 'wx', FILE_MODE);
    try {
      fs.writeSync(fd, 'ready\n', 0); // written as a commit writes: a few bytes
      await fsync(fd);
    } finally {
      fs.closeSync(fd);
      await unlink(probe);
    }
  }
}

/** Whether a write failed because the volume (or the quota) is full. */
export const isOutOfSpace = (err) => err?.code === 'ENOSPC' || err?.code === 'EDQUOT';
