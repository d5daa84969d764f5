"""The real thing: gunicorn with several workers, as in the container."""

import http.client
import json
import os
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from .conftest import POD, SUMMARY, TOKEN, VERSION, read_only_root, without_dac_override

REQUESTS = 1000
CONCURRENCY = 50
WORKERS = 2


def request_log(server):
    return [json.loads(line) for line in server.logs().splitlines()
            if line.startswith("{") and '"msg": "request"' in line]


def test_load_then_restart_keeps_exact_count(server_factory, data_dir):
    server = server_factory(data_dir, workers=WORKERS).start()

    def visit(_):
        status, body = server.get("/", timeout=30)
        assert status == 200, body
        return int(re.search(rb'id="visits">(\d+)<', body).group(1))

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        seen = list(pool.map(visit, range(REQUESTS)))
    elapsed = time.monotonic() - started

    # Every visit got its own number: no lost or duplicated increment.
    assert sorted(seen) == list(range(1, REQUESTS + 1))
    assert json.loads(server.get("/visits")[1]) == {"visits": REQUESTS, "pod": POD,
                                                    "version": VERSION}
    assert (data_dir / "visits").read_text() == f"{REQUESTS}\n"
    metrics = server.get("/metrics")[1].decode()
    commits = float(re.search(r'^app_visit_commits_total\{pod="[^"]*"\} (\S+)$', metrics,
                              re.M).group(1))
    assert 1 <= commits < REQUESTS  # group commit: visits shared writes
    SUMMARY.append(f"python-app load test: {REQUESTS} requests, concurrency {CONCURRENCY}, "
                   f"{WORKERS} gunicorn workers, final count {REQUESTS}, {elapsed:.1f}s "
                   f"({REQUESTS / elapsed:.0f} req/s), {REQUESTS / commits:.1f} visits per commit")
    # Both workers really served (and so contended for the lock).
    pids = {e["pid"] for e in request_log(server) if e["path"] == "/"}
    assert len(pids) == WORKERS, pids
    # /metrics aggregates the request counter over all workers.
    metrics = server.get("/metrics")[1].decode()
    assert f'http_requests_total{{method="GET",route="/",status="200"}} {REQUESTS}.0' in metrics
    assert f'app_visits{{pod="{POD}"}} {REQUESTS}.0' in metrics

    assert server.stop() == 0  # graceful SIGTERM
    assert "Shutting down" in server.logs()
    assert sorted(os.listdir(data_dir)) == ["visits", "visits.lock"]  # no temp file left

    server = server_factory(data_dir, workers=WORKERS).start()
    assert json.loads(server.get("/visits")[1])["visits"] == REQUESTS
    assert server.get("/readyz")[0] == 200
    assert server.get("/")[0] == 200
    assert json.loads(server.get("/visits")[1])["visits"] == REQUESTS + 1
    assert server.stop() == 0


def test_read_only_data_dir(server_factory, data_dir):
    (data_dir / "visits").write_text("7\n")
    os.chmod(data_dir, 0o555)
    try:
        server = server_factory(data_dir, prefix=without_dac_override()).start()
        assert server.get("/healthz")[0] == 200
        status, body = server.get("/readyz")
        assert status == 503
        body = json.loads(body)
        assert body["error"] == "data directory not writable"
        assert body["dir"] == str(data_dir)
        assert "Permission denied" in body["detail"]
        status, body = server.get("/")
        assert status == 500
        assert b"cannot write visits file" in body
        # Reading still works and nothing changed.
        assert json.loads(server.get("/visits")[1])["visits"] == 7
        assert server.stop() == 0
    finally:
        os.chmod(data_dir, 0o755)
    assert (data_dir / "visits").read_text() == "7\n"
    assert "not ready: data directory not writable" in server.logs()


def test_corrupt_file_real_process(server_factory, data_dir):
    """Issue 8 scenario 4: a corrupt file fails readiness (every worker), not
    liveness; the admin reset makes the pod ready again."""
    server = server_factory(data_dir, workers=WORKERS).start()
    for _ in range(3):
        assert server.get("/")[0] == 200
    (data_dir / "visits").write_text("not-a-number\n")  # as `kubectl exec ... sh -c 'echo ...'`
    for _ in range(6):  # whichever worker answers
        status, body = server.get("/readyz")
        assert status == 503
        body = json.loads(body)
        assert (body["error"], body["file"]) == ("corrupt visits file", str(data_dir / "visits"))
        assert server.get("/healthz")[0] == 200
    assert server.get("/")[0] == 500
    assert server.request("POST", "/visits")[0] == 500
    assert server.request("POST", "/visits/reset")[0] == 401
    assert (data_dir / "visits").read_text() == "not-a-number\n"

    status, body = server.request("POST", "/visits/reset",
                                  headers={"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    assert json.loads(body) == {"visits": 0, "previous": None, "pod": POD, "version": VERSION}
    assert (data_dir / "visits").read_text() == "0\n"
    for _ in range(6):
        assert server.get("/readyz")[0] == 200
    assert json.loads(server.request("POST", "/visits")[1])["visits"] == 1
    assert server.stop() == 0
    assert "corrupt visits file" in server.logs()
    assert "reset replaces corrupt visits file" in server.logs()


def test_kill_9_under_load_every_answered_visit_is_on_disk(server_factory, data_dir):
    """SIGKILL of the master and all workers at once (as when the pod's PID 1
    is killed) in the middle of a load: the file is intact, and every visit
    that was answered is in it; a restart counts on from the file."""
    server = server_factory(data_dir, workers=WORKERS, env={"GRACEFUL_TIMEOUT": "1"}).start()
    answered: list[int] = []
    attempted = 0
    killed = threading.Event()

    def visit(_):
        nonlocal attempted
        if killed.is_set():
            return
        attempted += 1
        try:
            status, body = server.get("/", timeout=10)
        except (OSError, http.client.HTTPException):
            return  # cut by the kill
        if status == 200:
            answered.append(int(re.search(rb'id="visits">(\d+)<', body).group(1)))
            if len(answered) == 300 and not killed.is_set():
                killed.set()
                server.kill_all()

    with ThreadPoolExecutor(CONCURRENCY) as pool:
        list(pool.map(visit, range(3000)))
    assert killed.is_set()
    on_disk = int((data_dir / "visits").read_text())  # parses: not torn
    assert len(answered) >= 300
    assert len(set(answered)) == len(answered)
    # Counts are handed out 1, 2, 3, ... so "the highest answered count is on
    # disk" means every answered visit is. Visits cut before their answer may
    # be on disk too, but no more than were sent.
    assert max(answered) <= on_disk <= attempted, (max(answered), on_disk, attempted)
    assert len(answered) <= on_disk
    SUMMARY.append(f"python-app kill -9 test: {len(answered)} visits answered, {on_disk} on disk, "
                   f"{attempted} sent")

    server = server_factory(data_dir, workers=WORKERS).start()
    assert server.get("/readyz")[0] == 200
    assert json.loads(server.request("POST", "/visits")[1])["visits"] == on_disk + 1
    assert server.stop() == 0
    # The killed workers' prepared temp files were swept at the start, the new
    # workers' own deleted when they exited.
    assert sorted(os.listdir(data_dir)) == ["visits", "visits.lock"]


def test_read_only_root_filesystem(server_factory, data_dir):
    """As in the pod: only the data dir and /tmp are writable."""
    prefix, env = read_only_root(data_dir)
    env["DATA_DIR"] = "/mnt"
    server = server_factory(data_dir, prefix=prefix, env=env).start()
    with ThreadPoolExecutor(10) as pool:
        statuses = list(pool.map(lambda _: server.get("/")[0], range(100)))
    assert statuses == [200] * 100
    assert server.get("/readyz")[0] == 200
    metrics = server.get("/metrics")[1].decode()
    assert 'http_requests_total{method="GET",route="/",status="200"} 100.0' in metrics
    assert server.stop() == 0
    assert (data_dir / "visits").read_text() == "100\n"
    logs = server.logs()
    assert "Read-only file system" not in logs and "Traceback" not in logs, logs
