import multiprocessing
import os
import signal
import stat
import subprocess
import sys
import threading
import time

import pytest

from visits.store import MAX_VISITS, CorruptVisitsFile, VisitStore, parse_count

from .conftest import APP_DIR


def tmp_files(d):
    return [n for n in os.listdir(d) if n.endswith(".tmp")]


def test_missing_file_starts_at_zero(data_dir):
    store = VisitStore(str(data_dir))
    assert store.read() == 0
    assert not (data_dir / "visits").exists()


def test_increment_writes_count_atomically(data_dir):
    store = VisitStore(str(data_dir))
    assert [store.increment() for _ in range(3)] == [1, 2, 3]
    assert (data_dir / "visits").read_text() == "3\n"
    assert (data_dir / "visits.lock").exists()
    [spare] = tmp_files(data_dir)  # the next commit's temp file, prepared
    assert spare.startswith(f".visits.{os.getpid()}.")
    assert (data_dir / spare).read_text() == "0\n"
    assert store.remove_stale_temp_files() == 0  # this store's own: kept
    store.close()
    assert tmp_files(data_dir) == []


@pytest.mark.parametrize("raw,count", [(b"0", 0), (b"5\n", 5), (b"  7 \n", 7),
                                       (str(MAX_VISITS).encode(), MAX_VISITS)])
def test_parse_valid(raw, count):
    assert parse_count(raw, "/x/visits") == count


@pytest.mark.parametrize("raw,problem", [
    (b"", "empty"),
    (b"\n", "empty"),
    (b"abc", "'abc'"),
    (b"-1", "'-1'"),
    (b"1.5", "'1.5'"),
    (b"12abc\n", "'12abc'"),
    (b"1 2", "'1 2'"),
    (b"\xff\xfe", "not ASCII"),
    (str(MAX_VISITS + 1).encode(), "exceeds the maximum"),
])
def test_parse_corrupt(raw, problem):
    with pytest.raises(CorruptVisitsFile) as exc:
        parse_count(raw, "/x/visits")
    assert exc.value.path == "/x/visits"
    assert problem in exc.value.problem
    assert "/x/visits" in str(exc.value)


def test_corrupt_file_is_not_overwritten_by_increment(data_dir):
    (data_dir / "visits").write_bytes(b"garbage\n")
    store = VisitStore(str(data_dir))
    with pytest.raises(CorruptVisitsFile):
        store.increment()
    assert (data_dir / "visits").read_bytes() == b"garbage\n"
    assert len(tmp_files(data_dir)) == 1  # the prepared temp file, kept for the next commit
    store.close()
    assert tmp_files(data_dir) == []


def test_oversized_file_is_corrupt(data_dir):
    (data_dir / "visits").write_bytes(b"5" + b" " * 5000)
    with pytest.raises(CorruptVisitsFile, match="larger than 4096 bytes"):
        VisitStore(str(data_dir)).read()


def test_reset_returns_previous_and_recovers_corrupt_file(data_dir):
    store = VisitStore(str(data_dir))
    assert store.reset() == 0
    store.increment()
    store.increment()
    assert store.reset() == 2
    assert store.read() == 0
    (data_dir / "visits").write_text("???")
    assert store.reset() is None
    assert (data_dir / "visits").read_text() == "0\n"


def test_failed_rename_keeps_old_value_and_cleans_up(data_dir, monkeypatch):
    store = VisitStore(str(data_dir))
    store.increment()

    def boom(src, dst):
        raise OSError("simulated failure between write and rename")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        store.increment()
    monkeypatch.undo()
    assert (data_dir / "visits").read_text() == "1\n"
    assert tmp_files(data_dir) == []
    assert store.increment() == 2


def test_threads_do_not_lose_increments(data_dir):
    store = VisitStore(str(data_dir))
    results: list[int] = []

    def work():
        got = [store.increment() for _ in range(25)]
        results.extend(got)  # list.extend is atomic under the GIL

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.read() == 200
    assert sorted(results) == list(range(1, 201))  # every count handed out exactly once
    assert store.stats["increments"] == 200
    assert 1 <= store.stats["commits"] <= 200


def test_concurrent_increments_share_one_commit(data_dir):
    """Group commit, deterministically: while the commit slot is busy, ten
    threads gather in one batch, which is then written once."""
    store = VisitStore(str(data_dir))
    store.increment()
    commits = []
    store.on_commit = commits.append
    results: list[int] = []
    with store._commit_slot:  # as if a previous batch were still writing
        threads = [threading.Thread(target=lambda: results.append(store.increment()))
                   for _ in range(10)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while (store._batch is None or store._batch.size < 10) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert store._batch.size == 10
        assert (data_dir / "visits").read_text() == "1\n"  # nobody answered, nothing written
        assert results == []
    for t in threads:
        t.join(10)
    assert sorted(results) == list(range(2, 12))
    assert commits == [10]  # one write + fsync + rename + directory fsync for all ten
    assert store.stats == {"commits": 2, "increments": 11}
    assert (data_dir / "visits").read_text() == "11\n"
    assert len(tmp_files(data_dir)) == 1


def gather_one_batch(store, n, visit):
    """Starts n threads running visit() while the commit slot is held (as if a previous batch
    were still writing), waits until all n wait in one batch, then lets that batch commit."""
    with store._commit_slot:
        threads = [threading.Thread(target=visit) for _ in range(n)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 10
        while (store._batch is None or store._batch.size < n) and time.monotonic() < deadline:
            time.sleep(0.005)
        assert store._batch.size == n
    for t in threads:
        t.join(10)


def test_a_failed_batch_fails_every_member_and_the_next_one_works(data_dir):
    store = VisitStore(str(data_dir))
    (data_dir / "visits").write_text("bad")
    errors: list[BaseException] = []

    def visit():
        try:
            store.increment()
        except CorruptVisitsFile as exc:
            errors.append(exc)

    gather_one_batch(store, 5, visit)
    assert len(errors) == 5
    assert (data_dir / "visits").read_text() == "bad"
    assert store.reset() is None
    assert store.increment() == 1


def test_max_visits_only_the_overflowing_members_fail(data_dir):
    store = VisitStore(str(data_dir))
    (data_dir / "visits").write_text(f"{MAX_VISITS - 2}\n")
    results, errors = [], []

    def visit():
        try:
            results.append(store.increment())
        except CorruptVisitsFile as exc:
            errors.append(exc)

    gather_one_batch(store, 4, visit)
    assert sorted(results) == [MAX_VISITS - 1, MAX_VISITS]
    assert len(errors) == 2 and all("exceed the maximum" in e.problem for e in errors)
    assert store.read() == MAX_VISITS


def _hammer(path, n, threads, out):
    s = VisitStore(path)
    got: list[int] = []

    def work():
        got.extend(s.increment() for _ in range(n))

    ts = [threading.Thread(target=work) for _ in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    s.close()
    out.put((got, s.stats["commits"]))


def test_processes_with_threads_do_not_lose_increments(data_dir):
    """Like gunicorn: several processes, each with several threads; batches
    of different processes are serialised by the flock."""
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    procs = [ctx.Process(target=_hammer, args=(str(data_dir), 25, 4, out)) for _ in range(4)]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    counts = sorted(c for got, _ in results for c in got)
    assert counts == list(range(1, 401))  # distinct across processes, none lost
    assert VisitStore(str(data_dir)).read() == 400
    assert tmp_files(data_dir) == []


def test_sigkill_mid_write_never_leaves_a_torn_file(data_dir):
    """Kill a writer at random points: the file always parses, and the stale
    temp files a crash can leave are removed at the next start."""
    code = ("import sys; from visits.store import VisitStore\n"
            "s = VisitStore(sys.argv[1]); s.increment(); print('go', flush=True)\n"
            "while True: s.increment()\n")
    last = 0
    for delay in (0.011, 0.037, 0.053, 0.101):
        proc = subprocess.Popen([sys.executable, "-c", code, str(data_dir)], cwd=APP_DIR,
                                stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"go\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        store = VisitStore(str(data_dir))
        count = store.read()  # raises if torn
        assert count > last
        last = count
        store.remove_stale_temp_files()
        assert tmp_files(data_dir) == []
    assert last > 0


def test_check_writable(data_dir):
    store = VisitStore(str(data_dir))
    store.check_writable()
    assert [n for n in os.listdir(data_dir) if n.startswith(".readyz")] == []
    with pytest.raises(OSError):
        VisitStore(str(data_dir / "missing")).check_writable()


def test_check_writable_and_increment_on_a_full_volume(data_dir, monkeypatch):
    """ENOSPC: creating an empty file needs no data block, so check_writable
    must write (and sync) real bytes; a failed commit keeps the old file and
    removes its partial temp file."""
    import errno

    store = VisitStore(str(data_dir))
    assert store.increment() == 1

    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(os, "pwrite", full)
    with pytest.raises(OSError) as exc:
        store.check_writable()
    assert exc.value.errno == errno.ENOSPC
    for _ in range(2):  # with the prepared temp file, then with a new one
        with pytest.raises(OSError) as exc:
            store.increment()
        assert exc.value.errno == errno.ENOSPC
    assert (data_dir / "visits").read_text() == "1\n"
    assert tmp_files(data_dir) == []
    assert [n for n in os.listdir(data_dir) if n.startswith(".readyz")] == []
    monkeypatch.undo()
    store.check_writable()
    assert store.increment() == 2
    store.close()


def test_durability_order_answered_only_after_fsync_rename_and_directory_fsync(
        data_dir, monkeypatch):
    """What kill -9 cannot show (the page cache survives a killed process):
    each visit returns only after its temp file was fsync'ed, renamed into
    place and the directory fsync'ed."""
    events: list[str] = []
    real_fsync, real_fdatasync, real_replace = os.fsync, os.fdatasync, os.replace

    def fsync(fd):
        real_fsync(fd)
        events.append("fsync dir" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync file")

    def fdatasync(fd):
        real_fdatasync(fd)
        events.append("fdatasync file")

    def replace(src, dst):
        real_replace(src, dst)
        events.append(f"rename {os.path.basename(dst)}")

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "fdatasync", fdatasync)
    monkeypatch.setattr(os, "replace", replace)
    store = VisitStore(str(data_dir))

    def visit():
        n = store.increment()
        events.append(f"answered {n}")

    with store._commit_slot:  # five visits gather in one batch
        threads = [threading.Thread(target=visit) for _ in range(5)]
        for t in threads:
            t.start()
        while store._batch is None or store._batch.size < 5:
            time.sleep(0.005)
    for t in threads:
        t.join(10)
    # The temp file is prepared ("0\n", fsync'ed), then the value written in
    # place and fdatasync'ed, renamed, the directory fsync'ed; only then answers.
    # (The "fsync file" after that prepares the next commit's temp file.)
    assert events[:4] == ["fsync file", "fdatasync file", "rename visits", "fsync dir"]
    assert sorted(events[4:]) == sorted(["fsync file"] + [f"answered {n}" for n in range(1, 6)])
    assert (data_dir / "visits").read_text() == "5\n"
    # One digit more than the prepared file holds: resized and fully fsync'ed.
    (data_dir / "visits").write_text("9\n")
    events.clear()
    assert store.increment() == 10
    assert events == ["fsync file", "rename visits", "fsync dir", "fsync file"]
    assert (data_dir / "visits").read_text() == "10\n"
    events.clear()
    assert store.increment() == 11  # the prepared file has the right length again
    assert events == ["fdatasync file", "rename visits", "fsync dir", "fsync file"]
    store.close()
    assert tmp_files(data_dir) == []


def test_sweep_removes_dead_processes_temp_files_only(data_dir):
    store = VisitStore(str(data_dir))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    live = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        for name in (f".visits.{dead}.abc.tmp", f".visits.{live.pid}.def.tmp",
                     f".visits.{os.getpid()}.ghi.tmp", ".visits.old-style.tmp"):
            (data_dir / name).write_text("1")
        assert store.remove_stale_temp_files() == 3
        assert tmp_files(data_dir) == [f".visits.{live.pid}.def.tmp"]  # another live worker's
    finally:
        live.kill()
        live.wait()
    assert store.remove_stale_temp_files() == 1
    assert tmp_files(data_dir) == []
