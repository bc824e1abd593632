"""Scale-out (issue 20, item 4): two app hosts behind nginx, exercised together under a mixed load.

The shape of a deployment past one machine (docs/operators/scale-out.md), every part real and in its own
process: two gunicorn servers (each its own instance folder, as on two machines) in the upstream of
deploy/nginx.conf, one PostgreSQL database, one bucket of object storage (moto's S3 server), one Redis queue with
two `collector worker` processes. Tablets (the ODK Collect emulator, over TLS, retrying as Collect does, and
sending some records again as Collect does when an answer was lost) send records with photos, some of them
at the same moment to both hosts; staff read through the API and OData, download an export, and the intake
records queue person matches for the workers.

Afterwards: every acknowledged record is stored exactly once (its instanceID once, "received" answered once, its
photo's sha256 in the database and in the bucket equal to the bytes sent), both hosts served submissions, every
job ran exactly once (the run count RQ's worker records per job id), the matcher found the pair it should,
and the export holds every record.

Small by default (a few seconds of load); COLLECTOR_SCALE_FULL=1 sends more and also measures the same load
through one host, printing submissions per second for both (docs/operators/scale-out.md#what-was-measured).
"""

from __future__ import annotations

import csv
import hashlib
import io
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import uuid
import zipfile
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests
from sqlalchemy import text

from forms import BUNDLED_FORMS_DIR
from ingest.db import make_engine
from tests.conftest import make_instance
from tests.support.collect import Collect
from tests.support.jobs import RECORDS
from tests.support.live import ROOT, LiveServer, free_port
from tests.support.nginx import render, self_signed, start_nginx
from tests.support.retention import intake_instance
from tests.support.tasks import compiled

FULL = os.environ.get("COLLECTOR_SCALE_FULL") == "1"
#: Tablets sending at once, records each, bytes of each photo.
TABLETS, EACH, PHOTO = (8, 40, 200_000) if FULL else (3, 4, 20_000)
#: Records sent at the same moment to both hosts directly (the same instanceID twice).
RACES = 6 if FULL else 2
#: Rounds of the full run's measurement (two hosts, then one, in turn).
ROUNDS = 3
REDIS = "redis://127.0.0.1:6379/15"
STAFF = ("national@example.la", "a long enough password")
RECEIVED = "Your record was received."


@dataclass
class Cluster:
    hosts: list[LiveServer]
    public: str
    cert: str
    tablet_url: str
    queue: str
    bucket: str
    s3: object
    database_url: str
    folder: object
    token: str = ""
    nginx: list[subprocess.Popen] = field(default_factory=list)
    workers: list[subprocess.Popen] = field(default_factory=list)

    def staff(self) -> requests.Session:
        http = requests.Session()
        http.trust_env = False
        http.verify = self.cert
        http.headers["Authorization"] = f"Bearer {self.token}"
        return http

    def tablet(self, url: str | None = None) -> Collect:
        tablet = Collect(url or self.tablet_url, device_id=f"collect:{uuid.uuid4().hex[:16]}")
        tablet.http.trust_env = False
        tablet.http.verify = self.cert
        return tablet

    def proxy(self, ports: list[int], name: str, https_port: int | None = None) -> str:
        """Start nginx (deploy/nginx.conf) in front of gunicorn on `ports`; return its https address."""
        folder = self.folder / name
        folder.mkdir()
        http_port, https_port = free_port(), https_port or free_port()
        key = self.cert.replace("cert.pem", "key.pem")
        # Every tablet of the test shares 127.0.0.1: the per-address limits are raised as for a large office
        # behind NAT (the config's own advice), or nginx would refuse the load with 429.
        conf = render(
            folder,
            http_port,
            https_port,
            ports,
            self.cert,
            key,
            (r"rate=2r/s", "rate=10000r/s"),
            (r"limit_conn collector_conn 40;", "limit_conn collector_conn 1000;"),
        )
        (folder / "nginx.conf").write_text(conf)
        self.nginx.append(start_nginx(folder, https_port))
        return f"https://127.0.0.1:{https_port}"


@pytest.fixture
def cluster(request, clean_db, tmp_path):
    if clean_db.startswith("sqlite"):
        pytest.skip(
            "scale-out runs on PostgreSQL only: several app hosts share one database server, and a SQLite file "
            "belongs to one machine (set TEST_DATABASE_URL to run it)"
        )
    from redis import Redis

    s3_server = request.getfixturevalue("s3_server")
    bucket = s3_server.new_bucket()
    queue = f"test-scale-{uuid.uuid4().hex[:12]}"
    folder = tmp_path / "nginx"
    folder.mkdir()
    cert, _key = self_signed(folder)  # key.pem beside cert.pem, for every nginx of the test
    https_port = free_port()
    public = f"https://127.0.0.1:{https_port}"
    # What the hosts share: the database, the bucket, Redis and its queue, the secret key, the public address.
    shared = {
        "SECRET_KEY": secrets.token_hex(32),
        "REDIS_URL": REDIS,
        "JOB_QUEUE": queue,
        "PERSON_MATCH_ON_SUBMIT": "true",
        "VALIDATE_FORMS": "false",
        "TRUSTED_PROXIES": "127.0.0.1,::1",
        "PUBLIC_URL": public,
        **s3_server.settings(bucket),
    }
    hosts = [LiveServer(clean_db, tmp_path / f"host{n}", workers=1, **shared) for n in (1, 2)]
    cluster = Cluster(hosts, public, cert, "", queue, bucket, s3_server.client(), clean_db, folder)
    try:
        # Migrations and set-up run once, from one host's settings, for both (the schema is current: upgrade
        # finds nothing), while the hosts start.
        first = hosts[0]
        forms = [str(ROOT / "tests" / "data" / "sample_case.xlsx"), str(BUNDLED_FORMS_DIR / "case_intake.xlsx")]

        def set_up():
            first.cli("db", "upgrade")
            first.cli("forms", "publish", *forms)

        with ThreadPoolExecutor(4) as pool:
            started = [pool.submit(host.start) for host in hosts]
            configured = pool.submit(set_up)
            user = pool.submit(
                first.cli, "users", "create", STAFF[0], "--role", "case-officer", COLLECTOR_PASSWORD=STAFF[1]
            )
            for future in [*started, configured, user]:
                future.result()
        # The nginx of the deployment, on the port the hosts name as their public address.
        cluster.proxy([host.port for host in hosts], "both", https_port)
        cluster.tablet_url = first.device_url(first.cli("devices", "create", "Field tablets").stdout)
        assert cluster.tablet_url.startswith(public)
        signed_in = requests.post(
            f"{public}/v1/sessions", json={"email": STAFF[0], "password": STAFF[1]}, verify=cert, timeout=30
        )
        assert signed_in.status_code == 200, signed_in.text
        cluster.token = signed_in.json()["token"]
        # Two workers on the one queue, each its own process (as on two machines).
        for n, host in enumerate(hosts, 1):
            with (tmp_path / f"worker{n}.log").open("wb") as log:  # the process keeps its own copy
                cluster.workers.append(
                    subprocess.Popen(
                        [sys.executable, "-m", "collector.cli", "worker"],
                        cwd=ROOT,
                        env=host.env,
                        stdout=log,
                        stderr=subprocess.STDOUT,
                    )
                )
        yield cluster
    finally:
        for process in cluster.workers + cluster.nginx:
            process.terminate()
        for process in cluster.workers + cluster.nginx:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        for host in hosts:
            host.stop()
        redis = Redis.from_url(REDIS)
        for key in redis.scan_iter(f"*{queue}*"):
            redis.delete(key)


@dataclass
class Load:
    """What the tablets sent and what the server answered."""

    photos: dict[str, str] = field(default_factory=dict)  # instanceID -> sha256 of its photo
    answers: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)
    errors: list[BaseException] = field(default_factory=list)
    retried: Counter = field(default_factory=Counter)  # why a send was tried again: a status, an exception

    def note(self, instance_id: str, photo: bytes | None, message: str) -> None:
        with self.lock:
            if photo is not None:
                self.photos[instance_id] = hashlib.sha256(photo).hexdigest()
            self.answers[instance_id].append(message)

    def count_retry(self, why: str) -> None:
        with self.lock:
            self.retried[why] += 1


def deliver(tablet: Collect, load: Load, xml: bytes, files: dict[str, bytes] | None = None) -> str:
    """Send a record until the server acknowledges it, as Collect does: a dropped connection, a 429 or a 5xx
    is tried again after a pause (each counted in `load.retried`). Return the server's message."""
    for attempt in range(10):
        try:
            response = tablet.submit(xml, files)
        except requests.RequestException as exc:
            load.count_retry(type(exc).__name__)
            time.sleep(0.2 * (attempt + 1))
            continue
        if response.status_code == 201:
            found = re.search(r"<message nature=\"\w+\">(.*?)</message>", response.text, re.S)
            assert found, response.text
            return found.group(1)
        assert response.status_code in (429, 502, 503, 504), (response.status_code, response.text)
        load.count_retry(str(response.status_code))
        time.sleep(0.2 * (attempt + 1))
    raise AssertionError("a record was never acknowledged")


def guarded(target, load: Load):
    """Wrap `target` for a thread: what it raises is kept in `load.errors`, for the test's thread to report."""

    def run():
        try:
            target()
        except BaseException as exc:
            load.errors.append(exc)

    return run


def run_threads(targets, load: Load) -> None:
    threads = [threading.Thread(target=guarded(target, load)) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)


def photo_record(tablet: Collect, load: Load, repeat: bool) -> None:
    instance_id = f"uuid:{uuid.uuid4()}"
    photo = b"\xff\xd8\xff\xe0" + os.urandom(PHOTO)
    xml = make_instance(instance_id, name="Test Person")
    load.note(instance_id, photo, deliver(tablet, load, xml, {"photo.jpg": photo}))
    if repeat:  # the answer was lost on the way back: Collect sends the whole record again
        load.note(instance_id, None, deliver(tablet, load, xml, {"photo.jpg": photo}))


def tablets_send(cluster: Cluster, load: Load, public: str | None = None) -> None:
    url = cluster.tablet_url.replace(cluster.public, public) if public else cluster.tablet_url

    def one_tablet():
        tablet = cluster.tablet(url)
        for n in range(EACH):
            photo_record(tablet, load, repeat=n % 3 == 2)

    run_threads([one_tablet] * TABLETS, load)


def test_two_hosts_behind_nginx_store_every_record_once_and_run_every_job_once(cluster):
    load = Load()
    stop = threading.Event()
    reads = Counter()
    intake = compiled(BUNDLED_FORMS_DIR / "case_intake.xlsx").fields

    def staff_reads():
        staff = cluster.staff()
        form = f"{cluster.public}/v1/projects/1/forms/sample_case"
        while not stop.is_set():
            for url in (f"{form}/submissions", f"{form}.svc/Submissions?$top=5&$count=true", f"{form}.svc"):
                response = staff.get(url, timeout=60)
                assert response.status_code == 200, (url, response.status_code, response.text[:300])
                reads[url.split("?")[0].rsplit("/", 1)[1]] += 1
            zipped = staff.get(f"{form}/submissions.csv.zip", timeout=120)
            assert zipped.status_code == 200
            reads["export"] += 1

    def intake_records():
        tablet = cluster.tablet()
        for instance_id, values in RECORDS:
            xml = intake_instance(intake, instance_id, status="Active", values=values)
            load.note(instance_id, None, deliver(tablet, load, xml))

    def race(n: int):
        """One record sent at the same moment to both hosts directly (bypassing nginx), each send retried."""
        instance_id = f"uuid:{uuid.uuid4()}"
        photo = b"\xff\xd8\xff\xe0" + os.urandom(PHOTO) + bytes([n])
        xml = make_instance(instance_id)
        start = threading.Barrier(2)

        def send(host):
            tablet = cluster.tablet(cluster.tablet_url.replace(cluster.public, host.url))
            start.wait()
            load.note(instance_id, photo, deliver(tablet, load, xml, {"photo.jpg": photo}))

        run_threads([lambda h=host: send(h) for host in cluster.hosts], load)

    reader = threading.Thread(target=guarded(staff_reads, load))
    reader.start()
    began = time.monotonic()
    try:
        run_threads(
            [lambda: tablets_send(cluster, load), intake_records, *[lambda n=n: race(n) for n in range(RACES)]], load
        )
        seconds = time.monotonic() - began
    finally:
        stop.set()
        reader.join(timeout=300)
    assert not load.errors, load.errors[0]
    sent = TABLETS * EACH + RACES
    print(f"\n{sent} records with photos through 2 hosts in {seconds:.1f} s: {sent / seconds:.1f} submissions/s")
    print(f"sends tried again: {dict(load.retried) or 'none'}")
    assert len(load.photos) == sent
    assert reads["Submissions"] and reads["export"], reads

    # Each record stored exactly once: one row per instanceID, one "received" among its answers.
    engine = make_engine(cluster.database_url)
    try:
        with engine.connect() as conn:
            stored = Counter(row.instance_id for row in conn.execute(text("SELECT instance_id FROM submissions")))
            photos = {
                row.instance_id: row.sha256
                for row in conn.execute(
                    text(
                        "SELECT v.instance_id, b.sha256 FROM submission_attachments a "
                        "JOIN submission_versions v ON v.id = a.submission_version_id JOIN blobs b ON b.id = a.blob_id "
                        "WHERE a.name = 'photo.jpg'"
                    )
                )
            }
    finally:
        engine.dispose()
    assert set(stored) == set(load.answers) and set(stored.values()) == {1}
    for instance_id, answers in load.answers.items():
        assert sum(a.startswith(RECEIVED) for a in answers) == 1, (instance_id, answers)
        assert all(a.startswith((RECEIVED, "Your record was already received")) for a in answers), answers
    assert photos == load.photos
    # ... and its photo in the bucket, byte for byte.
    for sha256 in load.photos.values():
        body = cluster.s3.get_object(Bucket=cluster.bucket, Key=f"{sha256[:2]}/{sha256}")["Body"]
        digest = hashlib.sha256()
        for piece in iter(lambda b=body: b.read(64 * 1024), b""):
            digest.update(piece)
        assert digest.hexdigest() == sha256

    # Both hosts served submissions (their own access logs; the paths are redacted there, the method is not).
    posts = [
        sum("POST" in line for line in Path(host.env["COLLECTOR_ACCESS_LOG"]).read_text().splitlines())
        for host in cluster.hosts
    ]
    assert all(count > 0 for count in posts), posts

    # Every job ran, each exactly once, and the matcher found the one pair of the intake records.
    from redis import Redis
    from rq import Queue
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    from collector.jobs import runs_key

    redis = Redis.from_url(REDIS)
    queue = Queue(cluster.queue, connection=redis)
    deadline = time.monotonic() + 300
    while queue.count or StartedJobRegistry(queue=queue).count or redis.keys(f"collector:{cluster.queue}:match-*"):
        assert time.monotonic() < deadline, "the workers did not finish the queued jobs"
        time.sleep(0.5)
    assert FailedJobRegistry(queue=queue).count == 0
    finished = set(FinishedJobRegistry(queue=queue).get_job_ids())
    runs = {key.decode(): int(value) for key, value in redis.hgetall(runs_key(cluster.queue)).items()}
    assert finished and set(runs) == finished and set(runs.values()) == {1}, runs
    staff = cluster.staff()
    body = staff.get(f"{cluster.public}/v1/projects/1/persons/candidates", timeout=60).json()
    assert [(c["a"]["caseCode"], c["b"]["caseCode"]) for c in body["candidates"]] == [("01-aaaa1111", "13-bbbb2222")]

    # The export, once the load is over, holds every record of the form.
    zipped = staff.get(f"{cluster.public}/v1/projects/1/forms/sample_case/submissions.csv.zip", timeout=120)
    assert zipped.status_code == 200
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        rows = list(csv.DictReader(io.TextIOWrapper(archive.open("sample_case.csv"), encoding="utf-8-sig")))
    assert {row["KEY"] for row in rows} == set(load.photos)

    if FULL:  # the tablets' load alone, through two hosts and through one: docs/operators/scale-out.md
        count = TABLETS * EACH
        routes = {2: cluster.public, 1: cluster.proxy([cluster.hosts[0].port], "one-host")}
        figures: dict[int, list[float]] = {2: [], 1: []}
        for round_ in range(ROUNDS):  # in turn, so that a neighbour's load on the machine falls on both
            for hosts in (2, 1) if round_ % 2 == 0 else (1, 2):
                alone = Load()
                began = time.monotonic()
                tablets_send(cluster, alone, routes[hosts])
                figures[hosts].append(count / (time.monotonic() - began))
                assert not alone.errors, alone.errors[0]
                print(f"{hosts} host(s), round {round_ + 1}: sends tried again: {dict(alone.retried) or 'none'}")
        for hosts, rates in figures.items():
            print(
                f"{count} records ({PHOTO} B photos, {TABLETS} tablets) through {hosts} host(s): median "
                f"{statistics.median(rates):.1f} submissions/s (runs: {', '.join(f'{r:.1f}' for r in rates)})"
            )
        print(f"two hosts / one host: {statistics.median(figures[2]) / statistics.median(figures[1]):.2f}")
