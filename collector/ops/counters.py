"""What the server counts for Prometheus: requests by route and status with latencies, submissions, jobs, exports.

The modules that do the work count here; collector.ops.metrics answers the scrape.
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

#: Latency buckets (seconds): a formList in milliseconds, a large upload over 3G in minutes.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300)

REQUESTS = Counter(
    "collector_http_requests", "HTTP requests answered, by method, route and status.", ["method", "route", "status"]
)
LATENCY = Histogram(
    "collector_http_request_duration_seconds",
    "Time to answer a request (to the first byte of a streamed answer), by method and route.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
SUBMISSIONS = Counter(
    "collector_submissions_stored",
    "Submissions answered 201: outcome=new stored a record or an edit, outcome=repeat was one already stored.",
    ["outcome"],
)
JOB_FAILURES = Counter("collector_job_failures", "Background jobs that failed in this server's processes.", ["job"])
EXPORT_DURATION = Histogram(
    "collector_export_duration_seconds",
    "Time to stream an export to its end, by format.",
    ["format"],
    buckets=(0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600),
)


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request."""
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


def submission_stored(created: bool) -> None:
    """Count one submission answered 201."""
    SUBMISSIONS.labels("new" if created else "repeat").inc()


def job_failed(job: str) -> None:
    """Count one background job that failed."""
    JOB_FAILURES.labels(job).inc()


def export_finished(fmt: str, seconds: float) -> None:
    """Record how long one export took to stream."""
    EXPORT_DURATION.labels(fmt).observe(seconds)
