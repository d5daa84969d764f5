from __future__ import annotations

import contextlib
import http.client
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pytest

APP_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(APP_DIR))

from visits import create_app  # noqa: E402

TOKEN = "test-admin-token"
VERSION = "9.8.7-test"

# Lines shown in pytest's terminal summary (load-test numbers).
SUMMARY: list[str] = []


def pytest_terminal_summary(terminalreporter):
    for line in SUMMARY:
        terminalreporter.write_line(line)
POD = "python-app-0"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    d = tmp_path / "data"
    d.mkdir()
    return d


@pytest.fixture
def app(data_dir: Path):
    return create_app({"DATA_DIR": str(data_dir), "ADMIN_TOKEN": TOKEN, "POD_NAME": POD,
                       "APP_VERSION": VERSION})


@pytest.fixture
def client(app):
    return app.test_client()


# -- real processes ------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_request(port: int, method: str, path: str, headers: Optional[dict] = None,
                 timeout: float = 10) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def without_dac_override() -> list[str]:
    """Command prefix under which a root process obeys file permissions.

    As root, chmod 0555 does not stop writes (CAP_DAC_OVERRIDE). Dropping that
    capability makes a read-only data dir really read-only for the child. As
    a normal user no prefix is needed.
    """
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if not setpriv:
        pytest.skip("running as root without setpriv: cannot make a directory read-only")
    caps = "-dac_override,-dac_read_search"
    return [setpriv, f"--inh-caps={caps}", f"--bounding-set={caps}"]


# Runs a command in a private mount namespace that mimics the pod: the root
# filesystem read-only, a fresh tmpfs on /tmp, and the data dir (given in
# $RO_ROOT_DATA) bind-mounted read-write at /mnt, the only other writable place.
_READ_ONLY_ROOT = """set -e
mount --bind "$RO_ROOT_DATA" /mnt
# A fresh tmpfs on /tmp would hide a checkout that itself lives under /tmp (as CI's may):
# then keep the host's /tmp, made a separate (still writable) mount by binding it to itself.
case "$APP_SRC" in
  /tmp/*) mount --bind /tmp /tmp ;;
  *) mount -t tmpfs -o size=64m,mode=1777 tmpfs /tmp ;;
esac
mount -o remount,bind,ro /
exec "$@"
"""


def read_only_root(data_dir: Path) -> tuple[list[str], dict]:
    """(command prefix, env) for read_only_root; skips where not permitted."""
    unshare = shutil.which("unshare")
    if not unshare or os.geteuid() != 0:
        pytest.skip("needs root and unshare to build a read-only root filesystem")
    probe = subprocess.run([unshare, "--mount", "--propagation", "private", "sh", "-c",
                            "mount -t tmpfs tmpfs /mnt && mount -o remount,bind,ro /"],
                           capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"mount namespaces not permitted here: {probe.stderr.decode().strip()}")
    prefix = [unshare, "--mount", "--propagation", "private", "sh", "-c", _READ_ONLY_ROOT, "sh"]
    return prefix, {"RO_ROOT_DATA": str(data_dir), "APP_SRC": str(Path(__file__).resolve().parent.parent)}


@dataclass
class Server:
    data_dir: Path
    log_path: Path
    env: dict = field(default_factory=dict)
    workers: int = 2
    prefix: list = field(default_factory=list)
    port: int = 0
    proc: Optional[subprocess.Popen] = None

    def start(self, timeout: float = 15) -> "Server":
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        env.update({
            "PORT": str(self.port),
            "DATA_DIR": str(self.data_dir),
            "POD_NAME": POD,
            "APP_VERSION": VERSION,
            "ADMIN_TOKEN": TOKEN,
            "WEB_CONCURRENCY": str(self.workers),
            "PYTHONDONTWRITEBYTECODE": "1",
        })
        env.update(self.env)
        cmd = self.prefix + [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
                             "visits.wsgi:app"]
        self._log = open(self.log_path, "ab")
        # Own process group: kill_all() takes the master and its workers at once,
        # as the kernel does to a container whose PID 1 dies.
        self.proc = subprocess.Popen(cmd, cwd=APP_DIR, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.logs()}")
            try:
                if http_request(self.port, "GET", "/healthz", timeout=1)[0] == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError(f"server did not become healthy:\n{self.logs()}")

    def get(self, path: str, **kw) -> tuple[int, bytes]:
        return http_request(self.port, "GET", path, **kw)

    def request(self, method: str, path: str, **kw) -> tuple[int, bytes]:
        return http_request(self.port, method, path, **kw)

    def kill_all(self) -> None:
        """SIGKILL the master and every worker at the same instant (kill -9 of the pod)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        self._log.close()

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait: returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        finally:
            self._log.close()

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        if hasattr(self, "_log"):
            self._log.close()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def server_factory(tmp_path: Path):
    servers: list[Server] = []

    def make(data_dir: Path, **kw) -> Server:
        s = Server(data_dir=data_dir, log_path=tmp_path / f"server-{len(servers)}.log", **kw)
        servers.append(s)
        return s

    yield make
    for s in servers:
        s.kill()
