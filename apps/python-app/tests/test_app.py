"""Endpoint contracts, through Flask's test client."""

import datetime as dt
import json
import re
from zoneinfo import ZoneInfo

import pytest

from visits import create_app

from .conftest import POD, TOKEN, VERSION

AUTH = {"Authorization": f"Bearer {TOKEN}"}
IDENT = {"pod": POD, "version": VERSION}


def visits_of(client) -> int:
    resp = client.get("/visits")
    assert resp.status_code == 200
    return resp.get_json()["visits"]


def page_count(resp) -> int:
    return int(re.search(rb'id="visits">(\d+)<', resp.data).group(1))


def test_index_counts_visits_and_shows_pod_and_moscow_time(client):
    for expected in (1, 2, 3):
        resp = client.get("/")
        assert resp.status_code == 200
        assert resp.mimetype == "text/html"
        assert resp.headers["Cache-Control"] == "no-store"
        assert page_count(resp) == expected
    body = resp.get_data(as_text=True)
    assert f'id="pod">{POD}<' in body
    assert f'id="version">{VERSION}<' in body
    shown = re.search(r'id="time">(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) MSK \(UTC\+03:00\)', body)
    assert shown, body
    moscow = dt.datetime.strptime(shown.group(1), "%Y-%m-%d %H:%M:%S").replace(
        tzinfo=ZoneInfo("Europe/Moscow"))
    assert abs((moscow - dt.datetime.now(dt.timezone.utc)).total_seconds()) < 120


def test_visits_is_json_and_does_not_count(client):
    client.get("/")
    for _ in range(5):
        resp = client.get("/visits")
        assert resp.status_code == 200
        assert resp.get_json() == {"visits": 1, **IDENT}


def test_probes_metrics_and_head_do_not_count(client):
    client.get("/")
    for path in ("/healthz", "/readyz", "/metrics", "/visits", "/nope"):
        client.get(path)
    assert client.head("/").status_code == 200
    assert visits_of(client) == 1


def test_healthz(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", **IDENT}


def test_readyz_ready(client):
    client.get("/")
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ready", "visits": 1, **IDENT}


def test_metrics_prometheus_text(client):
    client.get("/")
    client.get("/")
    client.get("/visits")
    client.get("/nope")
    client.put("/visits")
    resp = client.get("/metrics")
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = resp.get_data(as_text=True)
    assert "# TYPE http_requests_total counter" in text
    assert 'http_requests_total{method="GET",route="/",status="200"} 2.0' in text
    assert 'http_requests_total{method="GET",route="/visits",status="200"} 1.0' in text
    assert 'http_requests_total{method="GET",route="unmatched",status="404"} 1.0' in text
    assert 'http_requests_total{method="PUT",route="/visits",status="405"} 1.0' in text
    assert f'app_visits{{pod="{POD}"}} 2.0' in text
    assert f'app_visits_file_ok{{pod="{POD}"}} 1.0' in text


def test_pod_name_from_env(data_dir, monkeypatch):
    monkeypatch.delenv("POD_NAME", raising=False)
    monkeypatch.setenv("HOSTNAME", "from-hostname-1")
    app = create_app({"DATA_DIR": str(data_dir)})
    assert app.test_client().get("/visits").get_json()["pod"] == "from-hostname-1"
    monkeypatch.setenv("POD_NAME", "from-downward-api-2")
    app = create_app({"DATA_DIR": str(data_dir)})
    assert app.test_client().get("/visits").get_json()["pod"] == "from-downward-api-2"


def test_post_visits_counts_and_answers_json(client, data_dir):
    client.get("/")
    for expected in (2, 3):
        resp = client.post("/visits")
        assert resp.status_code == 200
        assert resp.mimetype == "application/json"
        assert resp.get_json() == {"visits": expected, **IDENT}
    assert page_count(client.get("/")) == 4
    assert (data_dir / "visits").read_text() == "4\n"
    assert client.put("/visits").status_code == 405


def test_every_answer_names_pod_and_version(client, data_dir):
    for method, path in [("GET", "/"), ("HEAD", "/"), ("GET", "/visits"), ("POST", "/visits"),
                         ("GET", "/healthz"), ("GET", "/readyz"), ("GET", "/metrics"),
                         ("GET", "/nope"), ("POST", "/visits/reset")]:
        resp = client.open(path, method=method)
        assert resp.headers["X-Pod-Name"] == POD, path
        assert resp.headers["X-App-Version"] == VERSION, path
        if resp.mimetype == "application/json":
            body = resp.get_json()
            assert (body["pod"], body["version"]) == (POD, VERSION), (method, path, body)
    # Error answers too, JSON and HTML.
    (data_dir / "visits").write_text("x")
    body = client.get("/readyz").get_json()
    assert (body["status"], body["pod"], body["version"]) == ("error", POD, VERSION)
    page = client.get("/").get_data(as_text=True)
    assert f'id="pod">{POD}<' in page and f'id="version">{VERSION}<' in page


def test_version_from_env_default_dev(data_dir, monkeypatch):
    monkeypatch.delenv("APP_VERSION", raising=False)
    client = create_app({"DATA_DIR": str(data_dir), "POD_NAME": POD}).test_client()
    assert client.get("/visits").get_json()["version"] == "dev"
    assert b'id="version">dev<' in client.get("/").data
    monkeypatch.setenv("APP_VERSION", "0.2.0")
    client = create_app({"DATA_DIR": str(data_dir), "POD_NAME": POD}).test_client()
    assert client.get("/visits").get_json() == {"visits": 1, "pod": POD, "version": "0.2.0"}
    assert b'id="version">0.2.0<' in client.get("/").data
    assert client.get("/healthz").headers["X-App-Version"] == "0.2.0"


def test_pod_name_is_html_escaped(data_dir):
    app = create_app({"DATA_DIR": str(data_dir), "POD_NAME": "<b>x</b>"})
    body = app.test_client().get("/").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in body and "<b>x</b>" not in body


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"},
                                     {"Authorization": TOKEN},
                                     {"Authorization": f"Basic {TOKEN}"}])
def test_reset_requires_valid_bearer_token(client, headers):
    client.get("/")
    resp = client.post("/visits/reset", headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    assert visits_of(client) == 1


def test_reset_with_token(client, data_dir):
    client.get("/")
    client.get("/")
    resp = client.post("/visits/reset", headers=AUTH)
    assert resp.status_code == 200
    assert resp.get_json() == {"visits": 0, "previous": 2, **IDENT}
    assert visits_of(client) == 0
    assert (data_dir / "visits").read_text() == "0\n"
    assert client.get("/visits/reset").status_code == 405


def test_reset_disabled_without_admin_token(data_dir, monkeypatch):
    monkeypatch.delenv("ADMIN_TOKEN", raising=False)
    client = create_app({"DATA_DIR": str(data_dir)}).test_client()
    client.get("/")
    for headers in ({}, {"Authorization": "Bearer "}):
        assert client.post("/visits/reset", headers=headers).status_code == 403
    assert visits_of(client) == 1


def test_missing_visits_file_starts_at_zero(client, data_dir):
    assert not (data_dir / "visits").exists()
    assert visits_of(client) == 0
    assert page_count(client.get("/")) == 1


def test_corrupt_file_reported_not_reset(client, data_dir, capsys):
    path = data_dir / "visits"
    path.write_bytes(b"12ab\n")

    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert body["error"] == "corrupt visits file"
    assert body["file"] == str(path)
    assert "'12ab'" in body["detail"]

    resp = client.get("/")
    assert resp.status_code == 500
    assert b"corrupt visits file" in resp.data
    resp = client.get("/visits")
    assert resp.status_code == 500
    assert resp.get_json()["file"] == str(path)
    assert client.get("/healthz").status_code == 200
    metrics = client.get("/metrics").get_data(as_text=True)
    assert f'app_visits_file_ok{{pod="{POD}"}} 0.0' in metrics

    assert path.read_bytes() == b"12ab\n"
    errors = [json.loads(line) for line in capsys.readouterr().out.splitlines()
              if '"level": "error"' in line]
    assert errors and all(e["file"] == str(path) for e in errors)
    assert any("corrupt visits file" in e["msg"] and "'12ab'" in e["msg"] for e in errors)

    # The admin reset is the explicit way out: it needs the token, and then
    # the pod is ready again at 0 and counts on.
    assert client.post("/visits/reset").status_code == 401
    assert client.get("/readyz").status_code == 503
    resp = client.post("/visits/reset", headers=AUTH)
    assert resp.status_code == 200
    assert resp.get_json() == {"visits": 0, "previous": None, **IDENT}
    assert path.read_bytes() == b"0\n"
    assert client.get("/readyz").get_json() == {"status": "ready", "visits": 0, **IDENT}
    assert page_count(client.get("/")) == 1


def test_one_log_line_per_request(client, capsys):
    capsys.readouterr()
    client.get("/")
    client.get("/healthz")
    client.get("/missing")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    requests = [(e["method"], e["path"], e["status"]) for e in lines if e["msg"] == "request"]
    assert requests == [("GET", "/", 200), ("GET", "/healthz", 200), ("GET", "/missing", 404)]
    assert all(e["pod"] == POD and "duration_ms" in e for e in lines)


def test_full_volume_readyz_503_visits_507_file_intact_then_recovers(client, data_dir,
                                                                     monkeypatch):
    """ENOSPC: an empty file can still be created on a full volume, so readiness
    must write real bytes to notice; visits answer 507 and leave the file as it was."""
    import errno
    import os

    for _ in range(3):
        assert client.post("/visits").status_code == 200
    before = (data_dir / "visits").read_bytes()
    assert before == b"3\n"

    def full(*_args):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    # Every data write fails, as on a full volume (creating files and renaming still work).
    monkeypatch.setattr(os, "write", full)
    monkeypatch.setattr(os, "pwrite", full)

    resp = client.get("/readyz")
    assert resp.status_code == 503
    body = resp.get_json()
    assert "space" in body["error"]
    assert body["dir"] == str(data_dir) and "No space left" in body["detail"]
    assert client.get("/healthz").status_code == 200  # liveness: no restart loop
    resp = client.post("/visits")
    assert resp.status_code == 507
    assert "space" in resp.get_json()["error"]
    resp = client.get("/")
    assert resp.status_code == 507
    assert b"no space left" in resp.data
    assert (data_dir / "visits").read_bytes() == before  # not truncated, not replaced
    assert client.get("/visits").get_json()["visits"] == 3  # reads still work
    assert client.get("/healthz").status_code == 200
    # No partial temp file or readiness probe left behind.
    assert [n for n in os.listdir(data_dir) if n.startswith(".")] == []

    monkeypatch.undo()  # space freed
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json()["visits"] == 3
    assert client.post("/visits").get_json()["visits"] == 4
    assert (data_dir / "visits").read_bytes() == b"4\n"
    assert client.get("/healthz").status_code == 200
