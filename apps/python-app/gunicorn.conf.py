"""Gunicorn settings for the visit counter (``gunicorn -c gunicorn.conf.py visits.wsgi:app``).

Works on a read-only root filesystem: everything gunicorn writes goes to /dev/shm
or $TMPDIR (/tmp), and the control socket is off.
"""

import os
import shutil
import tempfile

_tmp = tempfile.gettempdir()

bind = [f"0.0.0.0:{os.environ.get('PORT', '5000')}"]
# Several processes, each with several threads: the visits file lock (flock)
# serialises the commits of the processes. A thread that counts a visit spends
# much of its time asleep, waiting for the fsyncs of its group commit; the more
# visits wait at once, the more share one commit (see visits/store.py). Measured
# with apps/bench.sh at concurrency 50 (visits per commit, server CPU per
# /healthz request): 4 threads ~2.5, 360 µs; 8: ~4, 380 µs; 16: ~7, 440 µs;
# 32: ~11, 500 µs (more threads, more GIL contention for every request).
# Durable visits/s were best at 16.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
timeout = 30
# Kubernetes waits terminationGracePeriodSeconds (30 s by default) after SIGTERM.
graceful_timeout = int(os.environ.get("GRACEFUL_TIMEOUT", "20"))
keepalive = 5

# Heartbeat files: tmpfs if there is one (recommended by gunicorn), else /tmp.
worker_tmp_dir = "/dev/shm" if os.access("/dev/shm", os.W_OK) else _tmp
# Since gunicorn 25.1 the control socket is on by default and lives under $HOME
# or $XDG_RUNTIME_DIR, which is not writable in the pod. We don't use it.
control_socket_disable = True

# The app logs one JSON line per request itself; gunicorn's access log would
# double that. Gunicorn's own messages go to stderr.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")

# Metrics from all workers are aggregated through files in this directory
# (see visits/metrics.py). One directory per master, wiped at start.
os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(_tmp, f"visits-metrics-{os.getpid()}")
)


def on_starting(server):
    path = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    shutil.rmtree(os.environ["PROMETHEUS_MULTIPROC_DIR"], ignore_errors=True)


def worker_exit(server, worker):
    # Delete this worker's prepared temp file, if a failed commit left one.
    app = getattr(worker, "wsgi", None)
    visits = getattr(app, "extensions", {}).get("visits")
    if visits:
        visits["store"].close()
