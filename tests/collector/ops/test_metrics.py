"""/metrics in one process: who may read it, and what it counts (parsed as Prometheus parses it)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from collector import create_app
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, post


def samples(response) -> dict[tuple[str, tuple], float]:
    """Parse an exposition into {(sample name, sorted labels): value}."""
    assert response.status_code == 200, response.data
    found = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def test_metrics_count_requests_by_route_and_status_and_submissions(client, device):
    route = "/v1/key/<token>/projects/<int:project_id>/submission"
    before = samples(client.get("/metrics"))
    assert post(client, device, make_instance("uuid:m-1"), {"photo.jpg": JPEG}).status_code == 201
    assert post(client, device, make_instance("uuid:m-1"), {"photo.jpg": JPEG}).status_code == 201  # a retry
    assert client.get("/v1/no/such/path").status_code == 404
    after = samples(client.get("/metrics"))

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("collector_http_requests_total", method="POST", route=route, status="201") == 2
    assert grew("collector_http_request_duration_seconds_count", method="POST", route=route) == 2
    assert grew("collector_http_requests_total", method="GET", route="<unmatched>", status="404") == 1
    assert grew("collector_submissions_stored_total", outcome="new") == 1
    assert grew("collector_submissions_stored_total", outcome="repeat") == 1
    assert value(after, "collector_queue_up") == 1 and value(after, "collector_queue_depth") == 0
    # A device token is never a label: routes are rules, and the rest are numbers.
    assert device.token not in client.get("/metrics").get_data(as_text=True)


def test_export_durations_are_measured_when_an_export_ends(client, device, admin):
    import base64

    assert post(client, device, make_instance("uuid:m-2"), {"photo.jpg": JPEG}).status_code == 201
    auth = {"Authorization": "Basic " + base64.b64encode(":".join(admin).encode()).decode()}
    before = value(samples(client.get("/metrics")), "collector_export_duration_seconds_count", format="csv")
    export = client.get("/v1/projects/1/forms/sample_case/submissions.csv.zip", headers=auth)
    assert export.status_code == 200 and export.data[:2] == b"PK"
    after = value(samples(client.get("/metrics")), "collector_export_duration_seconds_count", format="csv")
    assert after - before == 1


@pytest.mark.parametrize(
    ("environ", "headers", "token", "status"),
    [
        ({"REMOTE_ADDR": "127.0.0.1"}, {}, None, 200),
        ({"REMOTE_ADDR": "::1"}, {}, None, 200),
        ({"REMOTE_ADDR": "192.0.2.7"}, {}, None, 403),
        # Through nginx on this machine (a trusted proxy): the client is not local.
        ({"REMOTE_ADDR": "127.0.0.1"}, {"X-Forwarded-For": "127.0.0.1"}, None, 403),
        ({"REMOTE_ADDR": "192.0.2.7"}, {"Authorization": "Bearer s3cret-metrics"}, "s3cret-metrics", 200),
        ({"REMOTE_ADDR": "192.0.2.7"}, {"Authorization": "Bearer wrong"}, "s3cret-metrics", 403),
        ({"REMOTE_ADDR": "127.0.0.1"}, {"Authorization": "Bearer wrong"}, "s3cret-metrics", 403),
    ],
)
def test_who_may_read_metrics(app, client, environ, headers, token, status):
    app.config["METRICS_TOKEN"] = token
    assert client.get("/metrics", environ_base=environ, headers=headers).status_code == status


def test_untrusted_forwarded_headers_make_a_client_not_local(app):
    untrusting = create_app({**app.config, "TRUSTED_PROXIES": ""})
    response = untrusting.test_client().get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})
    assert response.status_code == 403
    untrusting.extensions["collector.engine"].dispose()


def test_metrics_loopback_can_be_switched_off(app, client):
    app.config["METRICS_LOOPBACK"] = False
    assert client.get("/metrics").status_code == 403
