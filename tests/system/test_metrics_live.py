"""Observability of the real server: gunicorn with three workers, scraped as Prometheus scrapes it.

Each worker counts in its own files (prometheus_client's multi-process mode); whichever worker answers
/metrics adds them all up, so every scrape sees every submission. The same server's JSON log lines name
routes and ids, never a token; `collector doctor` passes against it.
"""

from __future__ import annotations

import json
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import DATA, make_instance
from tests.support.collect import Collect
from tests.support.live import LiveServer

SUBMISSIONS = 12
ROUTE = "/v1/key/<token>/projects/<int:project_id>/submission"


def scrape(url: str) -> dict[tuple[str, tuple], float]:
    """GET /metrics on a new connection (so any worker may answer) and parse it with Prometheus's parser."""
    response = requests.get(f"{url}/metrics", headers={"Connection": "close"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_metrics_add_up_every_worker_and_logs_are_json(clean_db, tmp_path):
    instance = tmp_path / "instance"
    live = LiveServer(clean_db, instance, workers=3).start()
    try:
        live.cli("forms", "publish", str(DATA / "sample_case.xlsx"))
        device_url = live.device_url(live.cli("devices", "create", "Metrics tablet").stdout)
        token = device_url.split("/key/", 1)[1].split("/", 1)[0]
        for n in range(SUBMISSIONS):
            tablet = Collect(device_url)  # a new connection each: the workers share the load
            assert tablet.submit(make_instance(f"uuid:metrics-{n}"), {"photo.jpg": b"\xff\xd8jpeg"}).status_code == 201
        assert Collect(device_url).submit(make_instance("uuid:metrics-0"), {}).status_code == 201  # a retry

        for _ in range(4):  # whichever worker answers, the sums are the same
            found = scrape(live.url)
            assert found[("collector_submissions_stored_total", (("outcome", "new"),))] == SUBMISSIONS
            assert found[("collector_submissions_stored_total", (("outcome", "repeat"),))] == 1
            posts = (("method", "POST"), ("route", ROUTE), ("status", "201"))
            assert found[("collector_http_requests_total", posts)] == SUBMISSIONS + 1
            latency = (("method", "POST"), ("route", ROUTE))
            assert found[("collector_http_request_duration_seconds_count", latency)] == SUBMISSIONS + 1
            assert found[("collector_queue_up", ())] == 1
        files = list(Path(live.env["COLLECTOR_INSTANCE_PATH"], "metrics").glob("*/counter_*.db"))
        assert len(files) >= 2, "the submissions were all served by one worker"

        # Not from another machine, and not through a proxy.
        assert (
            requests.get(f"{live.url}/metrics", headers={"X-Forwarded-For": "192.0.2.1"}, timeout=10).status_code == 403
        )

        doctor = live.cli("doctor", "--deep", check=False)
        assert doctor.returncode == 0, doctor.stdout + doctor.stderr
        assert "ok    blobs:" in doctor.stdout and "ok    database:" in doctor.stdout
    finally:
        live.stop()

    lines = [json.loads(line) for line in live.log.read_text().splitlines() if line.startswith("{")]
    requests_logged = [line for line in lines if line.get("logger") == "collector.requests"]
    submitted = [line for line in requests_logged if line["route"] == ROUTE and line["method"] == "POST"]
    assert len(submitted) == SUBMISSIONS + 1
    assert all(line["status"] == 201 and line["device_id"] and line["request_id"] for line in submitted)
    assert token not in live.log.read_text()
