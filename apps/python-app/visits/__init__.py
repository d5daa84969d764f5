"""Visit counter: a Flask app that counts visits per pod in $DATA_DIR/visits."""

from __future__ import annotations

import datetime as dt
import hmac
import json
import logging
import os
import socket
import sys
import time
from typing import Any, Mapping, Optional

from flask import Flask, Response, g, jsonify, render_template, request
from werkzeug.exceptions import MethodNotAllowed

from .metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from .metrics import Metrics
from .store import CorruptVisitsFile, VisitStore, is_out_of_space

try:
    from zoneinfo import ZoneInfo

    MOSCOW: dt.tzinfo = ZoneInfo("Europe/Moscow")
except Exception:  # pragma: no cover - no tz database at all
    # Moscow has been UTC+3 all year round since 2014.
    MOSCOW = dt.timezone(dt.timedelta(hours=3), "MSK")

log = logging.getLogger("visits")


class JsonLineFormatter(logging.Formatter):
    """One JSON object per line; extra fields come from ``extra={"fields": {...}}``."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "msg": record.getMessage(),
            "pid": record.process,
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


class _StdoutHandler(logging.StreamHandler):
    """Writes to whatever sys.stdout is at the time (so test capture works)."""

    def __init__(self) -> None:
        super().__init__(sys.stdout)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stdout

    @stream.setter
    def stream(self, _value) -> None:
        pass


def _setup_logging() -> None:
    """All app logs go to stdout as JSON lines (idempotent)."""
    if any(isinstance(h, _StdoutHandler) for h in log.handlers):
        return
    handler = _StdoutHandler()
    handler.setFormatter(JsonLineFormatter())
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False


def moscow_now() -> dt.datetime:
    return dt.datetime.now(MOSCOW)


_time_cache: tuple[int, str] = (-1, "")


def moscow_time_text() -> str:
    """``format_time(moscow_now())``, formatted once per second (the page
    shows whole seconds; formatting is a visible part of a page's CPU)."""
    global _time_cache
    second = int(time.time())
    cached = _time_cache
    if cached[0] != second:
        cached = _time_cache = (second, format_time(moscow_now()))
    return cached[1]


def format_time(now: dt.datetime) -> str:
    """``2024-05-01 12:00:00 MSK (UTC+03:00)``"""
    offset = now.utcoffset() or dt.timedelta(0)
    sign = "-" if offset < dt.timedelta(0) else "+"
    minutes = abs(int(offset.total_seconds())) // 60
    return (f"{now:%Y-%m-%d %H:%M:%S} {now.tzname()} "
            f"(UTC{sign}{minutes // 60:02d}:{minutes % 60:02d})")


DEFAULT_VERSION = "dev"  # outside an image; the Dockerfile sets APP_VERSION (default 0.1.0)


def create_app(config: Optional[Mapping[str, Any]] = None) -> Flask:
    """Build the app. Settings come from the environment unless given in
    ``config`` (used by the tests): DATA_DIR, ADMIN_TOKEN, POD_NAME, APP_VERSION."""
    _setup_logging()
    cfg = dict(config or {})
    env = os.environ
    data_dir = cfg.get("DATA_DIR") or env.get("DATA_DIR") or "/data"
    admin_token = cfg.get("ADMIN_TOKEN", env.get("ADMIN_TOKEN")) or None
    pod = (
        cfg.get("POD_NAME") or env.get("POD_NAME") or env.get("HOSTNAME") or socket.gethostname()
    )
    version = cfg.get("APP_VERSION") or env.get("APP_VERSION") or DEFAULT_VERSION

    app = Flask(__name__)
    app.json.sort_keys = False  # type: ignore[attr-defined]
    store = VisitStore(data_dir)
    index_page = app.jinja_env.get_template("index.html")
    metrics = Metrics(store, pod)
    app.extensions["visits"] = {"store": store, "metrics": metrics, "pod": pod, "version": version}
    # Every JSON answer names the pod that gave it and the app version.
    ident = {"pod": pod, "version": version}

    try:
        removed = store.remove_stale_temp_files()
        if removed:
            log.warning("removed %d stale temp file(s) from an interrupted write", removed,
                        extra={"fields": {"dir": store.data_dir}})
    except OSError as exc:
        log.error("data directory not usable at startup: %s", exc,
                  extra={"fields": {"dir": store.data_dir}})

    def error(status: int, message: str, **details: Any) -> Response:
        resp = jsonify({"status": "error", "error": message, **details, **ident})
        resp.status_code = status
        return resp

    def corrupt(exc: CorruptVisitsFile) -> Response:
        log.error("%s", exc, extra={"fields": {"file": exc.path, "problem": exc.problem}})
        return error(500, "corrupt visits file", file=exc.path, detail=exc.problem)

    def storage_failed(exc: OSError) -> Response:
        log.error("cannot persist visit: %s", exc, extra={"fields": {"file": store.path}})
        if is_out_of_space(exc):
            # 507, not 500: the request was fine, the volume is full (the
            # visits file is left as it was; /readyz is 503 meanwhile).
            return error(507, "no space left on the data volume", file=store.path,
                         detail=str(exc))
        return error(500, "cannot write visits file", file=store.path, detail=str(exc))

    # -- logging + metrics for every request --------------------------------
    @app.before_request
    def _start_timer() -> None:
        g.start = time.perf_counter()

    @app.after_request
    def _log_request(resp: Response) -> Response:
        if request.url_rule is not None:
            route = request.url_rule.rule
        elif isinstance(request.routing_exception, MethodNotAllowed):
            route = request.path  # a known path, wrong method
        else:
            route = "unmatched"
        metrics.requests.labels(request.method, route, str(resp.status_code)).inc()
        resp.headers["X-Pod-Name"] = pod
        resp.headers["X-App-Version"] = version
        elapsed = time.perf_counter() - g.get("start", time.perf_counter())
        log.info("request", extra={"fields": {
            "method": request.method,
            "path": request.path,
            "status": resp.status_code,
            "duration_ms": round(elapsed * 1000, 2),
            "remote": request.remote_addr,
            "pod": pod,
        }})
        return resp

    # -- endpoints -------------------------------------------------------------
    @app.get("/")
    def index():
        # HEAD is served by the GET view in Flask; it must not count a visit.
        try:
            count = store.read() if request.method == "HEAD" else store.increment()
        except CorruptVisitsFile as exc:
            log.error("%s", exc, extra={"fields": {"file": exc.path, "problem": exc.problem}})
            return render_template("error.html", message=str(exc), **ident), 500
        except OSError as exc:
            log.error("cannot persist visit: %s", exc, extra={"fields": {"file": store.path}})
            if is_out_of_space(exc):
                return render_template(
                    "error.html", message=f"no space left on the data volume: {exc}",
                    **ident), 507
            return render_template("error.html", message=f"cannot write visits file: {exc}",
                                   **ident), 500
        # The template object directly: Flask's render_template adds context
        # processors and signals this page doesn't use.
        resp = Response(index_page.render(visits=count, time=moscow_time_text(), **ident))
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.get("/visits")
    def visits():
        try:
            return jsonify({"visits": store.read(), **ident})
        except CorruptVisitsFile as exc:
            return corrupt(exc)
        except OSError as exc:
            return storage_failed(exc)

    @app.post("/visits")
    def record_visit():
        """Counts a visit like ``GET /``, answered in JSON: ``visits`` is the new count."""
        try:
            return jsonify({"visits": store.increment(), **ident})
        except CorruptVisitsFile as exc:
            return corrupt(exc)
        except OSError as exc:
            return storage_failed(exc)

    @app.post("/visits/reset")
    def reset():
        if admin_token is None:
            return error(403, "reset is disabled: ADMIN_TOKEN is not set")
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            token.strip().encode(), admin_token.encode()
        ):
            resp = error(401, "a valid bearer token is required")
            resp.headers["WWW-Authenticate"] = 'Bearer realm="visits"'
            return resp
        try:
            previous = store.reset()
        except OSError as exc:
            return storage_failed(exc)
        log.warning("visits reset", extra={"fields": {"previous": previous, "pod": pod}})
        return jsonify({"visits": 0, "previous": previous, **ident})

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok", **ident})

    @app.get("/readyz")
    def readyz():
        try:
            store.check_writable()
        except OSError as exc:
            if is_out_of_space(exc):
                # Visits would fail (507) until space is freed: leave the Service.
                log.error("not ready: no space left on the data volume: %s", exc,
                          extra={"fields": {"dir": store.data_dir}})
                return error(503, "no space left on the data volume", dir=store.data_dir,
                             detail=str(exc))
            log.error("not ready: data directory not writable: %s", exc,
                      extra={"fields": {"dir": store.data_dir}})
            return error(503, "data directory not writable", dir=store.data_dir, detail=str(exc))
        try:
            count = store.read()
        except CorruptVisitsFile as exc:
            log.error("not ready: %s", exc,
                      extra={"fields": {"file": exc.path, "problem": exc.problem}})
            return error(503, "corrupt visits file", file=exc.path, detail=exc.problem)
        except OSError as exc:
            log.error("not ready: visits file not readable: %s", exc,
                      extra={"fields": {"file": store.path}})
            return error(503, "visits file not readable", file=store.path, detail=str(exc))
        return jsonify({"status": "ready", "visits": count, **ident})

    @app.get("/metrics")
    def prometheus_metrics():
        return Response(metrics.render(), content_type=METRICS_CONTENT_TYPE)

    return app
