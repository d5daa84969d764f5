"""Durable, concurrency-safe visit counter stored in ``$DATA_DIR/visits``.

File format: the count as ASCII decimal digits followed by a newline
(``"42\\n"``). Surrounding whitespace is tolerated when reading; anything else
is *corrupt* and is reported, never silently replaced.

Guarantees:

* No lost increments between threads *and* processes (gunicorn workers):
  every read-modify-write runs under an exclusive ``flock`` on
  ``$DATA_DIR/visits.lock``. ``flock`` (not ``fcntl``/``lockf``) is used on
  purpose: its locks belong to the open file description, so two threads of
  one worker that each open the lock file exclude each other too (reset and
  the stale-file sweep rely on that).
* Group commit: threads of one process that increment while a commit is in
  progress join one pending batch. The first of them (the leader) waits for
  the process's commit slot, takes the ``flock``, closes the batch, and
  commits all of it with ONE read, ONE atomic replace and ONE directory fsync;
  the others sleep until it is done and get the consecutive counts
  ``base+1 .. base+n``. Across processes the ``flock`` serialises the
  batches: each one reads the count the previous one (of any worker) wrote.
  Every increment returns only after the directory fsync that made its batch
  durable, so an answered visit is on disk.
* No torn file after a crash: the visits file is only ever replaced whole.
  The new value goes to a temp file in the same directory whose content is
  on disk before it is ``rename``d over ``visits``; the directory is fsync'ed
  afterwards so the rename itself is durable. A reader therefore sees either
  the old or the new complete value, which is why plain reads do not take
  the lock.
* A prepared temp file: each commit's temp file is made ahead of time,
  outside the ``flock`` and the commit slot: created, filled with a
  placeholder of the expected length (``"000\\n"``) and fsync'ed, by the
  previous leader once its batch is answered (or by the leader itself if
  none is ready). Its inode, size and blocks are then on disk, so under the
  lock the new value is written in place and needs only an ``fdatasync`` (a
  data write, no journal commit: ~0.6 ms instead of ~2.5 ms for a new
  file's fsync on the test machine) before the rename. That is what shortens
  the time the lock is held, the limit when two workers take turns. If the
  length differs (the count gained a digit, or after a reset) the file is
  resized and fully fsync'ed. So each worker keeps about one
  ``.visits.<pid>.<random>.tmp`` (deleted at worker exit); the start-up sweep
  leaves those of live processes alone (another worker's).
* Pipelining: the directory fsync of a batch runs after the ``flock`` and the
  commit slot are released, while the next batch (of this or another worker)
  already writes. That is safe: the next batch read the count this one
  renamed into place, and its temp file is fsync'ed before its rename, so
  whichever entry the directory holds after this batch's directory fsync, its
  count includes all of this batch.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import re
import tempfile
import threading
from typing import Callable, Iterator, Optional

log = logging.getLogger("visits.store")

VISITS_FILE = "visits"
LOCK_FILE = "visits.lock"
TMP_PREFIX = ".visits."
TMP_SUFFIX = ".tmp"
# Same ceiling as the JS app (Number.MAX_SAFE_INTEGER) so the files are
# interchangeable between the two apps.
MAX_VISITS = 2**53 - 1
_DIGITS = re.compile(r"[0-9]+")
MAX_FILE_BYTES = 4096  # a valid file has at most 17 bytes; don't slurp garbage
FILE_MODE = 0o660  # group-writable: the pod's fsGroup owns the volume


class CorruptVisitsFile(Exception):
    """The visits file exists but does not hold a valid count."""

    def __init__(self, path: str, problem: str):
        super().__init__(f"corrupt visits file {path}: {problem}")
        self.path = path
        self.problem = problem


def parse_count(raw: bytes, path: str) -> int:
    """Parse the content of a visits file, raising CorruptVisitsFile."""
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError:
        raise CorruptVisitsFile(path, f"content is not ASCII text: {raw[:40]!r}") from None
    value = text.strip()
    if not value:
        raise CorruptVisitsFile(path, "file is empty (expected a non-negative integer)")
    if not _DIGITS.fullmatch(value):
        raise CorruptVisitsFile(path, f"expected a non-negative integer, found {value[:40]!r}")
    count = int(value)
    if count > MAX_VISITS:
        raise CorruptVisitsFile(path, f"count {value[:40]} exceeds the maximum {MAX_VISITS}")
    return count


def _owner_alive(temp_name: str) -> bool:
    """Whether the process named in ``.visits.<pid>.<random>.tmp`` is another live one."""
    pid_text = temp_name[len(TMP_PREFIX):].split(".", 1)[0]
    if not pid_text.isdigit() or int(pid_text) in (0, os.getpid()):
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    try:  # a killed worker not reaped yet is a zombie: dead too
        with open(f"/proc/{int(pid_text)}/stat", "rb") as f:
            state = f.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


class _Batch:
    """Increments of one process that share a commit."""

    __slots__ = ("size", "done", "base", "granted", "error")

    def __init__(self) -> None:
        self.size = 0  # members so far; final once the leader closes the batch
        self.done = threading.Event()
        self.base = 0  # the count before this batch
        self.granted = 0  # members that got a count (all, unless MAX_VISITS is hit)
        self.error: Optional[BaseException] = None


class VisitStore:
    def __init__(self, data_dir: str):
        self.data_dir = os.path.abspath(data_dir)
        self.path = os.path.join(self.data_dir, VISITS_FILE)
        self.lock_path = os.path.join(self.data_dir, LOCK_FILE)
        self._batch_lock = threading.Lock()  # guards _batch
        self._batch: Optional[_Batch] = None  # the batch still open to new members
        self._commit_slot = threading.Lock()  # one commit of this process at a time
        # Batches and increments committed by this process (tests, diagnostics).
        self.stats = {"commits": 0, "increments": 0}
        # Called with the batch size after each durable group commit (metrics).
        self.on_commit: Callable[[int], None] = lambda n: None
        # Prepared temp files ready for the next commit: (fd, path, length).
        self._spare_lock = threading.Lock()
        self._spares: list[tuple[int, str, int]] = []
        self._next_length = 0  # length of the last value written; 0: unknown

    # -- reading -----------------------------------------------------------
    def read(self) -> int:
        """Current count; 0 if the file does not exist yet. Takes no lock."""
        try:
            with open(self.path, "rb") as f:
                raw = f.read(MAX_FILE_BYTES + 1)
        except FileNotFoundError:
            return 0
        if len(raw) > MAX_FILE_BYTES:
            raise CorruptVisitsFile(self.path, f"file is larger than {MAX_FILE_BYTES} bytes")
        return parse_count(raw, self.path)

    # -- writing -----------------------------------------------------------
    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)  # closing the descriptor releases the flock

    def _write(self, count: int) -> None:
        """Atomically and durably replace the visits file. Caller holds the lock."""
        self._replace(count)
        self._fsync_dir()

    def _prepare(self, length: int) -> tuple[int, str, int]:
        """A temp file holding ``length`` placeholder bytes, fsync'ed: (fd, path, length)."""
        fd, tmp = tempfile.mkstemp(prefix=f"{TMP_PREFIX}{os.getpid()}.", suffix=TMP_SUFFIX,
                                   dir=self.data_dir)
        try:
            os.fchmod(fd, FILE_MODE)
            os.write(fd, b"0" * (length - 1) + b"\n")
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return fd, tmp, length

    def _expected_length(self) -> int:
        if not self._next_length:
            try:
                self._next_length = len(f"{self.read() + 1}\n")
            except (CorruptVisitsFile, OSError):
                self._next_length = 2
        return self._next_length

    def _replace_from(self, spare: tuple[int, str, int], count: int) -> None:
        """Write ``count`` into the prepared temp file, sync it, rename it over
        the visits file. Caller holds the lock. Durable only after the
        directory fsync that follows. The spare is used up either way."""
        fd, tmp, length = spare
        data = f"{count}\n".encode("ascii")
        try:
            try:
                if len(data) == length:
                    os.pwrite(fd, data, 0)
                    os.fdatasync(fd)  # same size: only the bytes are new
                else:
                    os.ftruncate(fd, 0)
                    os.pwrite(fd, data, 0)
                    os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._next_length = len(data)

    def _take_spare(self) -> Optional[tuple[int, str, int]]:
        with self._spare_lock:
            return self._spares.pop() if self._spares else None

    def _put_spare(self, spare: tuple[int, str, int]) -> None:
        with self._spare_lock:
            self._spares.append(spare)

    def _refill_spare(self) -> None:
        """Prepare the temp file of the next commit now, so that the next
        leader finds it ready (run by a leader once its batch is answered)."""
        with self._spare_lock:
            if self._spares:
                return
        try:
            self._put_spare(self._prepare(self._expected_length()))
        except OSError:
            pass  # e.g. a read-only volume: the next commit reports it

    def close(self) -> None:
        """Delete the prepared temp files (worker exit)."""
        with self._spare_lock:
            spares, self._spares = self._spares, []
        for fd, tmp, _ in spares:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)

    def _replace(self, count: int) -> None:
        """New temp file, fsync, rename over the visits file (reset): the commit
        path with a freshly prepared temp file. Caller holds the lock. Durable
        only after the directory fsync that follows."""
        self._replace_from(self._prepare(len(f"{count}\n")), count)

    def _fsync_dir(self) -> None:
        dfd = os.open(self.data_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)

    def increment(self) -> int:
        """Add one visit and return the new count, once it is durable.

        Concurrent calls share one commit (group commit, see the module doc);
        each still gets its own distinct count. Raises CorruptVisitsFile (the
        file is left untouched) or OSError (e.g. read-only data directory;
        nothing is written, or the write is not known to be durable).
        """
        with self._batch_lock:
            batch = self._batch
            leader = batch is None
            if leader:
                batch = self._batch = _Batch()
            index = batch.size
            batch.size += 1
        if leader:
            self._commit(batch)
            if batch.error is None:
                self._refill_spare()  # its members are answered already
        else:
            batch.done.wait()
        if batch.error is not None:
            raise batch.error
        if index >= batch.granted:
            raise CorruptVisitsFile(self.path, f"count would exceed the maximum {MAX_VISITS}")
        return batch.base + index + 1

    def _commit(self, batch: _Batch) -> None:
        """Run by the batch's leader: commit every member, then wake them."""
        try:
            with self._commit_slot:  # the previous batch of this process has renamed
                try:
                    # Outside the flock: overlaps another worker's commit.
                    spare = self._take_spare() or self._prepare(self._expected_length())
                    try:
                        with self._locked():  # ...and the other processes' batches too
                            try:
                                base = self.read()
                            finally:
                                with self._batch_lock:  # closed: later arrivals form the next batch
                                    if self._batch is batch:
                                        self._batch = None
                            granted = min(batch.size, MAX_VISITS - base)
                            if granted > 0:
                                used, spare = spare, None
                                self._replace_from(used, base + granted)
                    finally:
                        if spare is not None:  # not used (e.g. corrupt file): keep it
                            self._put_spare(spare)
                finally:
                    with self._batch_lock:  # never leave a failed batch open
                        if self._batch is batch:
                            self._batch = None
                batch.base, batch.granted = base, granted
                if granted > 0:
                    self.stats["commits"] += 1
                    self.stats["increments"] += granted
            if granted > 0:
                self._fsync_dir()  # outside the lock: see "Pipelining"
                with contextlib.suppress(Exception):
                    self.on_commit(granted)
        except BaseException as exc:  # every member gets the error (a 500)
            batch.error = exc
        finally:
            batch.done.set()

    def reset(self) -> Optional[int]:
        """Set the count to 0. Returns the previous count (0 if the file was
        missing), or None if it was corrupt: the corrupt content is logged
        first, so resetting is the explicit way to recover from corruption."""
        with self._locked():
            previous: Optional[int]
            try:
                previous = self.read()
            except CorruptVisitsFile as exc:
                log.warning("reset replaces corrupt visits file: %s", exc)
                previous = None
            self._write(0)
            self._next_length = 2
            return previous

    def remove_stale_temp_files(self) -> int:
        """Delete temp files left by a crash mid-write: those of processes that
        no longer exist (a live worker may be preparing one outside the lock).
        Returns how many were removed."""
        removed = 0
        with self._spare_lock:
            own = {os.path.basename(tmp) for _, tmp, _ in self._spares}
        with self._locked():
            for name in os.listdir(self.data_dir):
                if (name.startswith(TMP_PREFIX) and name.endswith(TMP_SUFFIX)
                        and name not in own and not _owner_alive(name)):
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(self.data_dir, name))
                        removed += 1
        return removed

    # -- readiness ---------------------------------------------------------
    def check_writable(self) -> None:
        """Raise OSError unless an increment could write here: the directory
        exists, the lock file opens for writing and a file with content can
        be written and synced. Creating an empty file is not enough: it needs
        no data block, so it still succeeds on a full volume (ENOSPC) where
        every commit fails; a few bytes written and fsync'ed make that surface
        (delayed allocation may report it only at the fsync)."""
        if not os.path.isdir(self.data_dir):
            raise NotADirectoryError(f"data directory {self.data_dir} does not exist")
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        os.close(fd)
        # Deleted on close, whether the write succeeded or not.
        with tempfile.NamedTemporaryFile(prefix=".readyz.", dir=self.data_dir) as probe:
            os.write(probe.fileno(), b"ready\n")  # what a commit writes: a few bytes
            os.fsync(probe.fileno())


def is_out_of_space(exc: BaseException) -> bool:
    """Whether a write failed because the volume (or the quota) is full."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)
