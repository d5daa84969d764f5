import assert from 'node:assert/strict';
import fs from 'node:fs';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';

import { CorruptVisitsFile, MAX_VISITS, VisitStore, parseCount } from '../src/store.js';
import { APP_DIR, tempDataDir } from './helpers.js';

let tmp;
let store;
const tmpFiles = async () => (await readdir(tmp.dataDir)).filter((n) => n.endsWith('.tmp'));
beforeEach(async () => {
  tmp = await tempDataDir();
  store = new VisitStore(tmp.dataDir);
});
afterEach(() => tmp.cleanup());

test('a missing file starts at 0', async () => {
  assert.equal(await store.read(), 0);
  assert.deepEqual(await readdir(tmp.dataDir), []);
});

test('increment writes "N\\n"; one prepared temp file remains, close() deletes it', async () => {
  assert.deepEqual([await store.increment(), await store.increment(), await store.increment()], [1, 2, 3]);
  assert.equal(await readFile(store.file, 'utf8'), '3\n');
  const [spare, ...more] = await tmpFiles();
  assert.deepEqual(more, []);
  assert.match(spare, new RegExp(`^\\.visits\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
  assert.equal(await readFile(path.join(tmp.dataDir, spare), 'utf8'), '0\n'); // placeholder of the next length
  await store.close();
  assert.deepEqual(await tmpFiles(), []);
});

describe('parseCount', () => {
  for (const [raw, count] of [['0', 0], ['5\n', 5], ['  7 \n', 7], [String(MAX_VISITS), MAX_VISITS]]) {
    test(`valid ${JSON.stringify(raw)}`, () => assert.equal(parseCount(Buffer.from(raw), '/x/visits'), count));
  }
  for (const [raw, problem] of [
    ['', 'empty'], ['\n', 'empty'], ['abc', "'abc'"], ['-1', "'-1'"], ['1.5', "'1.5'"],
    ['12abc\n', "'12abc'"], ['1 2', "'1 2'"], [Buffer.from([0xff, 0xfe]), 'not ASCII'],
    [String(MAX_VISITS + 2), 'exceeds the maximum'],
  ]) {
    test(`corrupt ${JSON.stringify(String(raw))}`, () => {
      assert.throws(() => parseCount(Buffer.from(raw), '/x/visits'), (err) => {
        assert.ok(err instanceof CorruptVisitsFile);
        assert.equal(err.file, '/x/visits');
        assert.ok(err.problem.includes(problem), err.problem);
        assert.ok(err.message.includes('/x/visits'));
        return true;
      });
    });
  }
});

test('an oversized file is corrupt', async () => {
  await writeFile(store.file, `5${' '.repeat(5000)}`);
  await assert.rejects(store.read(), /larger than 4096 bytes/);
});

test('a corrupt file is not overwritten by increment', async () => {
  await writeFile(store.file, 'garbage\n');
  await assert.rejects(store.increment(), CorruptVisitsFile);
  assert.equal(await readFile(store.file, 'utf8'), 'garbage\n');
  assert.equal((await tmpFiles()).length, 1); // the prepared one, kept for the next commit
  // ...and the mutex is not wedged by the failure.
  await writeFile(store.file, '4\n');
  assert.equal(await store.increment(), 5);
});

test('reset returns the previous count and recovers a corrupt file', async () => {
  assert.equal(await store.reset(), 0);
  await store.increment();
  await store.increment();
  assert.equal(await store.reset(), 2);
  assert.equal(await store.read(), 0);
  await writeFile(store.file, '???');
  const seen = [];
  assert.equal(await store.reset((err) => seen.push(err)), null);
  assert.equal(seen.length, 1);
  assert.equal(await readFile(store.file, 'utf8'), '0\n');
});

test('300 concurrent increments in one process: none lost, every value once', async () => {
  const results = await Promise.all(Array.from({ length: 300 }, () => store.increment()));
  assert.deepEqual([...results].sort((a, b) => a - b), Array.from({ length: 300 }, (_, i) => i + 1));
  assert.equal(await store.read(), 300);
  assert.equal((await tmpFiles()).length, 1);
  // Group commit: they were all waiting at once, so they shared one write.
  assert.deepEqual(store.stats, { commits: 1, increments: 300 });
});

test('group commit: increments arriving while a write holds the mutex share the next commit', async () => {
  assert.equal(await store.increment(), 1);
  const blocker = store.reset(); // holds the mutex: read, write, fsync, rename, directory fsync
  const batch = Array.from({ length: 20 }, () => store.increment());
  let answered = 0;
  batch.forEach((p) => p.then(() => answered++));
  assert.equal(await blocker, 1);
  assert.equal(answered, 0); // none answered before its own commit
  assert.deepEqual((await Promise.all(batch)).sort((a, b) => a - b), Array.from({ length: 20 }, (_, i) => i + 1));
  assert.deepEqual(store.stats, { commits: 2, increments: 21 });
  assert.equal(await readFile(store.file, 'utf8'), '20\n');
  // Steady load: the number of writes stays far below the number of visits.
  const loops = Array.from({ length: 50 }, async () => {
    for (let i = 0; i < 20; i++) await store.increment();
  });
  await Promise.all(loops);
  assert.equal(await store.read(), 1020);
  assert.equal(store.stats.increments, 1021);
  assert.ok(store.stats.commits < 1000 / 5, `${store.stats.commits} commits for 1000 increments`);
});

test('a failed batch fails each of its members, and the next batch works', async () => {
  await writeFile(store.file, 'bad');
  const results = await Promise.allSettled(Array.from({ length: 5 }, () => store.increment()));
  assert.ok(results.every((r) => r.status === 'rejected' && r.reason instanceof CorruptVisitsFile));
  assert.equal(await readFile(store.file, 'utf8'), 'bad');
  assert.equal(await store.reset(), null);
  assert.deepEqual(await Promise.all([store.increment(), store.increment()]), [1, 2]);
});

test('at the maximum only the overflowing members of a batch fail', async () => {
  await writeFile(store.file, `${MAX_VISITS - 2}\n`);
  const results = await Promise.allSettled(Array.from({ length: 4 }, () => store.increment()));
  assert.deepEqual(results.slice(0, 2).map((r) => r.value), [MAX_VISITS - 1, MAX_VISITS]);
  assert.ok(results.slice(2).every((r) => r.status === 'rejected' && /exceed the maximum/.test(r.reason.problem)));
  assert.equal(await store.read(), MAX_VISITS);
});

test('idle() waits for the directory fsync of the last batch', async () => {
  const pending = Array.from({ length: 10 }, () => store.increment());
  await store.idle();
  // Everything was answered by the time idle() resolved.
  const settled = await Promise.race([Promise.all(pending), new Promise((r) => setImmediate(() => r('pending')))]);
  assert.deepEqual(settled, Array.from({ length: 10 }, (_, i) => i + 1));
});

test('stale temp files from a crash are removed', async () => {
  await writeFile(path.join(tmp.dataDir, '.visits.123.abc.tmp'), '9');
  await store.increment();
  assert.equal(await store.removeStaleTempFiles(), 1); // not the store's own prepared file
  assert.equal((await tmpFiles()).length, 1);
  assert.equal(await store.increment(), 2);
  assert.equal(await store.read(), 2);
});

test('checkWritable passes on a writable dir, leaves nothing, fails on a missing one', async () => {
  await store.checkWritable();
  assert.deepEqual(await readdir(tmp.dataDir), []);
  await assert.rejects(new VisitStore(path.join(tmp.dataDir, 'missing')).checkWritable(), { code: 'ENOENT' });
});

test('on a full volume (ENOSPC) checkWritable rejects, a commit keeps the old file and leaves no temp file', async (t) => {
  assert.equal(await store.increment(), 1);
  const { writeSync } = fs;
  const full = t.mock.method(fs, 'writeSync', (fd, ...rest) => {
    if (fd > 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return writeSync(fd, ...rest);
  });
  await assert.rejects(store.checkWritable(), { code: 'ENOSPC' });
  // With the prepared temp file, then with a new one.
  await assert.rejects(store.increment(), { code: 'ENOSPC' });
  await assert.rejects(store.increment(), { code: 'ENOSPC' });
  assert.equal(await readFile(store.file, 'utf8'), '1\n');
  assert.deepEqual(await readdir(tmp.dataDir), ['visits']);
  full.mock.restore();
  await store.checkWritable();
  assert.equal(await store.increment(), 2);
});

test('SIGKILL mid-write never leaves a torn file', async () => {
  const code = `import { VisitStore } from './src/store.js';
    const s = new VisitStore(process.argv[1]);
    await s.increment();
    console.log('go');
    for (;;) await s.increment();`;
  let last = 0;
  for (const delay of [11, 37, 53, 101]) {
    const child = spawn(process.execPath, ['--input-type=module', '-e', code, tmp.dataDir], { cwd: APP_DIR });
    const [first] = await once(child.stdout, 'data');
    assert.equal(String(first), 'go\n');
    await sleep(delay);
    child.kill('SIGKILL');
    await once(child, 'exit');
    const count = await store.read(); // rejects if torn
    assert.ok(count > last, `${count} > ${last}`);
    last = count;
    await store.removeStaleTempFiles();
    assert.deepEqual(await tmpFiles(), []);
  }
});

test('durability order: a visit is answered only after its temp file is synced, renamed, and the directory fsynced', async (t) => {
  const events = [];
  const { fsync, fdatasync, renameSync } = fs;
  const observe = (name, real) => (fd, cb) => {
    const what = fs.fstatSync(fd).isDirectory() ? 'dir' : 'file';
    real(fd, (err) => {
      events.push(`${name} ${what}`);
      cb(err);
    });
  };
  t.mock.method(fs, 'fsync', observe('fsync', fsync));
  t.mock.method(fs, 'fdatasync', observe('fdatasync', fdatasync));
  t.mock.method(fs, 'renameSync', (from, to) => {
    renameSync(from, to);
    events.push(`rename ${path.basename(to)}`);
  });
  const answer = () => store.increment().then((n) => events.push(`answered ${n}`));
  await Promise.all(Array.from({ length: 5 }, answer));
  // The first commit prepares its temp file first ("0\n": the length of "5\n").
  // ("fsync file" later on: the next commit's temp file being prepared, at any time.)
  const commit = events.filter((e, i) => e !== 'fsync file' || i === 0);
  assert.deepEqual(commit, ['fsync file', 'fdatasync file', 'rename visits', 'fsync dir',
    'answered 1', 'answered 2', 'answered 3', 'answered 4', 'answered 5']);
  assert.equal(await readFile(store.file, 'utf8'), '5\n');

  // The next commit uses the temp file prepared meanwhile (fsync'ed before it was used);
  // "10\n" is one byte longer than "5\n", so this one is resized and fully fsync'ed.
  events.length = 0;
  await Promise.all(Array.from({ length: 5 }, answer));
  assert.deepEqual(events.filter((e) => e !== 'fsync file'), ['rename visits', 'fsync dir',
    'answered 6', 'answered 7', 'answered 8', 'answered 9', 'answered 10']);
  assert.ok(events.indexOf('fsync file') < events.indexOf('rename visits'), events.join(', '));
  assert.equal(await readFile(store.file, 'utf8'), '10\n');
});

test('a temp file that could not be prepared ahead is prepared again by the next commit', async (t) => {
  const { openSync } = fs;
  let opens = 0;
  t.mock.method(fs, 'openSync', (file, ...rest) => {
    if (String(file).includes('/.visits.') && ++opens === 2) {
      throw Object.assign(new Error('EMFILE: too many open files (simulated)'), { code: 'EMFILE' });
    }
    return openSync(file, ...rest);
  });
  assert.equal(await store.increment(), 1); // its temp file: open 1; the next one: open 2, fails
  assert.equal(await store.increment(), 2); // prepares its own: open 3
  assert.equal(opens, 4); // and the next one again
  assert.equal(await readFile(store.file, 'utf8'), '2\n');
});
