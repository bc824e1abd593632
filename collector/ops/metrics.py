"""`/metrics` for Prometheus: the counts of collector.ops.counters, and the job queue read at scrape time.

Under gunicorn every worker writes its counts to files in PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py
points it at `<instance>/metrics/<master pid>`), and whichever worker answers a scrape adds them all up.
Without it (the CLI, the tests, one process) the counts live in the process.

Who may read it: a client on this machine that came straight to gunicorn (a loopback peer, and no proxy
in between: a request nginx forwarded carries X-Forwarded-For), while METRICS_LOOPBACK is on; and anyone
sending `Authorization: Bearer <METRICS_TOKEN>` when that is set. Everyone else gets 403.
"""

from __future__ import annotations

import hmac
import ipaddress
import os

from flask import Blueprint, Flask, Response, abort, current_app, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

from collector.jobs import queue_state
from collector.transport.proxies import FORWARDED_HEADERS

bp = Blueprint("metrics", __name__)


class _QueueCollector:
    """Read the job queue at scrape time: waiting jobs, and the failed jobs RQ keeps (Redis only)."""

    def __init__(self, app: Flask):
        self.app = app

    def collect(self):
        waiting, failed = queue_state(self.app)
        up = GaugeMetricFamily("collector_queue_up", "1 when the job queue could be read, else 0.")
        up.add_metric([], 0 if waiting is None else 1)
        yield up
        if waiting is not None:
            depth = GaugeMetricFamily("collector_queue_depth", "Background jobs waiting to run.")
            depth.add_metric([], waiting)
            yield depth
        if failed is not None:
            kept = GaugeMetricFamily("collector_queue_failed_jobs", "Failed jobs kept in RQ's failed job registry.")
            kept.add_metric([], failed)
            yield kept


class _Default:
    """This process's own metrics (no multi-process folder)."""

    def collect(self):
        return REGISTRY.collect()


def may_read() -> bool:
    """Say whether this request may read /metrics (see the module's docstring)."""
    token = current_app.config.get("METRICS_TOKEN")
    header = request.headers.get("Authorization", "")
    if token and header.lower().startswith("bearer "):
        return hmac.compare_digest(header[7:].strip().encode(), str(token).encode())
    if not current_app.config["METRICS_LOOPBACK"]:
        return False
    # A request a proxy forwarded is not local: a trusted proxy's headers are still there (ProxyFix applies
    # them and keeps them), an untrusted one's were dropped and noted (collector.transport.proxies).
    environ = request.environ
    if environ.get("collector.forwarded") or any(key in environ for key in FORWARDED_HEADERS):
        return False
    try:
        peer = ipaddress.ip_address((request.remote_addr or "").split("%", 1)[0])
    except ValueError:
        return False
    mapped = getattr(peer, "ipv4_mapped", None)
    return (mapped or peer).is_loopback


@bp.get("/metrics")
def metrics():
    """Answer Prometheus's scrape in its text format.

    :raise 403: not a direct client on this machine, and no valid METRICS_TOKEN.
    """
    if not may_read():
        abort(403, "Metrics are readable from this machine, or with the metrics token.")
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Default())
    registry.register(_QueueCollector(current_app._get_current_object()))
    return Response(generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})
