"""Prometheus metrics.

Under gunicorn every worker is a separate process, so per-process counters
would make ``/metrics`` depend on which worker answered the scrape.
``gunicorn.conf.py`` therefore sets ``PROMETHEUS_MULTIPROC_DIR`` (in /tmp) and
prometheus_client aggregates all workers' counters from there. Without that
variable (tests, ``flask run``) the counters live in a per-app registry.

The visit count is not a process metric: it is read from the visits file at
scrape time, so it is the same whichever worker answers.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, disable_created_metrics, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from .store import CorruptVisitsFile, VisitStore

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# No *_created series: keeps the output identical in shape to the JS app's.
disable_created_metrics()


class VisitsCollector:
    """Exports the count from the visits file and whether it is readable."""

    def __init__(self, store: VisitStore, pod: str):
        self.store = store
        self.pod = pod

    def collect(self):
        ok = GaugeMetricFamily(
            "app_visits_file_ok",
            "1 if the visits file is readable and valid (or absent), 0 otherwise.",
            labels=["pod"],
        )
        visits = GaugeMetricFamily(
            "app_visits", "Visits recorded in this pod's visits file.", labels=["pod"]
        )
        try:
            count = self.store.read()
        except (CorruptVisitsFile, OSError):
            ok.add_metric([self.pod], 0)
        else:
            ok.add_metric([self.pod], 1)
            visits.add_metric([self.pod], count)
        yield ok
        yield visits


class Metrics:
    def __init__(self, store: VisitStore, pod: str):
        self.multiprocess = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self._registry = CollectorRegistry()
        self.requests = Counter(
            "http_requests",
            "HTTP requests served, by method, route and status code.",
            ["method", "route", "status"],
            registry=self._registry,
        )
        # One per durable write of visits (group commit: several visits can share one).
        self.commits = Counter(
            "app_visit_commits",
            "Durable writes of the visits file (write, fsync, rename, directory fsync) for "
            "visits; concurrent visits share one (group commit).",
            ["pod"],
            registry=self._registry,
        )
        self._commits = self.commits.labels(pod)
        store.on_commit = lambda n: self._commits.inc()
        self._visits = VisitsCollector(store, pod)
        if not self.multiprocess:
            self._registry.register(self._visits)

    def render(self) -> bytes:
        if self.multiprocess:
            registry = CollectorRegistry()
            MultiProcessCollector(registry)
            registry.register(self._visits)
            return generate_latest(registry)
        return generate_latest(self._registry)
