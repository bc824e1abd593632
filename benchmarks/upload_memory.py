"""Peak memory of a gunicorn worker receiving large submissions (streamed to disk, never held whole).

Run: .venv/bin/python -m benchmarks.upload_memory [--sizes 1,50,200]
Prints, per upload size, the worker's resident memory before, its peak (VmHWM) after, the growth, and
the growth relative to the 1 MB baseline measured in the same worker.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import make_instance  # noqa: E402
from tests.support.collect import USER_AGENT  # noqa: E402
from tests.support.live import LiveServer  # noqa: E402

MB = 1024 * 1024


def status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)


def worker_pid(master: int) -> int:
    out = subprocess.run(["pgrep", "-P", str(master)], capture_output=True, text=True).stdout.split()
    if len(out) != 1:
        raise RuntimeError(f"expected one worker, found {out}")
    return int(out[0])


def write_body(path: Path, size: int) -> tuple[str, int]:
    """Write a multipart body with an instance and a `size`-byte video to `path`, chunk by chunk."""
    boundary = uuid.uuid4().hex
    xml = make_instance(f"uuid:{uuid.uuid4()}", photo="video.mp4")
    with path.open("wb") as out:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="xml_submission_file"; '
            f'filename="instance.xml"\r\nContent-Type: text/xml\r\nContent-Length: {len(xml)}\r\n\r\n'.encode()
        )
        out.write(xml + b"\r\n")
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="video.mp4"; filename="video.mp4"\r\n'
            f"Content-Type: video/mp4\r\nContent-Length: {size}\r\n\r\n".encode()
        )
        chunk = os.urandom(MB)
        for _ in range(size // MB):
            out.write(chunk)
        out.write(chunk[: size % MB])
        out.write(f"\r\n--{boundary}--\r\n".encode())
    return boundary, path.stat().st_size


def measure(server: LiveServer, url: str, size: int, scratch: Path) -> dict:
    """Upload one submission of `size` bytes and return the worker's memory figures (KB)."""
    pid = worker_pid(server.process.pid)
    # Reset the kernel's peak-RSS mark so VmHWM covers this upload alone (Linux: clear_refs "5").
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    before = status_kb(pid, "VmRSS")
    body = scratch / f"body-{size}"
    boundary, length = write_body(body, size)
    start = time.perf_counter()
    with body.open("rb") as stream:
        response = requests.post(
            f"{url}/submission",
            data=stream,
            timeout=600,
            headers={
                "Content-Type": f"multipart/form-data; boundary={boundary}",
                "Content-Length": str(length),
                "X-OpenRosa-Version": "1.0",
                "User-Agent": USER_AGENT,
            },
        )
    seconds = time.perf_counter() - start
    body.unlink()
    if response.status_code != 201:
        raise RuntimeError(f"upload of {size} bytes answered {response.status_code}: {response.text[:300]}")
    peak = status_kb(pid, "VmHWM")
    return {
        "size_mb": size / MB,
        "rss_before_kb": before,
        "peak_kb": peak,
        "growth_kb": peak - before,
        "seconds": seconds,
    }


def run(sizes_mb: list[int], database_url: str | None = None) -> list[dict]:
    """Start a one-worker server and measure each upload size in order (smallest first)."""
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        url = database_url or f"sqlite:///{scratch / 'bench.sqlite3'}"
        server = (
            LiveServer(url, scratch / "instance", workers=1, MAX_SUBMISSION_BYTES=(max(sizes_mb) + 10) * MB)
            .migrate()
            .start()
        )
        try:
            base = server.sample_device()
            measure(server, base, 64 * 1024, scratch)  # warm-up: imports, first connection, first query
            return [measure(server, base, size * MB, scratch) for size in sizes_mb]
        finally:
            server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1,50,200", help="upload sizes in MB, comma-separated")
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    results = run(sizes)
    base = results[0]["growth_kb"] or 1
    print(f"{'upload':>8} {'RSS before':>11} {'peak RSS':>10} {'growth':>9} {'x baseline':>10} {'MB/s':>7}")
    for r in results:
        print(
            f"{r['size_mb']:>6.0f}MB {r['rss_before_kb'] / 1024:>9.1f}MB {r['peak_kb'] / 1024:>8.1f}MB "
            f"{r['growth_kb'] / 1024:>7.1f}MB {r['growth_kb'] / base:>10.2f} {r['size_mb'] / r['seconds']:>7.1f}"
        )


if __name__ == "__main__":
    main()
