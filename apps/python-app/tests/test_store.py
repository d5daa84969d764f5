import multiprocessing
import os
import signal
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
    threads = [threading.Thread(target=lambda: [store.increment() for _ in range(25)])
               for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.read() == 200


def _hammer(path, n):
    s = VisitStore(path)
    for _ in range(n):
        s.increment()


def test_processes_do_not_lose_increments(data_dir):
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_hammer, args=(str(data_dir), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    assert VisitStore(str(data_dir)).read() == 200


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
