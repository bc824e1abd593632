"""A real ODK client: the ODK XForms engine (Node) fills every bundled form from the running server and submits it."""
from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from forms import BUNDLED_FORMS_DIR
from tests.live import LiveServer

SCRIPT = Path(__file__).parent / "js" / "fill_and_submit.mjs"
STAFF = ("staff@example.la", "staff password 123")


def lookup(data: dict, path: str):
    """Find an engine reference such as /data/route[1]/grp/place in our nested record."""
    row, prefix = data, ""
    for segment in path.strip("/").split("/")[1:]:
        match = re.fullmatch(r"(.+)\[(\d+)\]", segment)
        if match:
            row, prefix = row[prefix + match.group(1)][int(match.group(2)) - 1], ""
        else:
            prefix += segment + "/"
    return row.get(prefix.rstrip("/"), "<missing>")


def same(stored, entered: str) -> bool:
    if stored is None:
        return entered == ""
    if isinstance(stored, list):
        return " ".join(stored) == entered
    if isinstance(stored, float):
        return stored == float(entered)
    return str(stored) == entered


@pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")
def test_xforms_engine_fills_and_submits_every_bundled_form(clean_db, tmp_path):
    if not (SCRIPT.parent / "node_modules").is_dir():
        pytest.fail("tests/js/node_modules is missing: run `make test`, which installs it")
    live = LiveServer(clean_db, tmp_path / "instance").start()
    try:
        base = live.device_url(live.cli("setup").stdout)
        live.cli("users", "create", STAFF[0], "--role", "viewer", COLLECTOR_PASSWORD=STAFF[1])
        run = subprocess.run(["node", str(SCRIPT), base], capture_output=True, text=True, timeout=300)
        results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        assert run.returncode == 0, run.stderr[-3000:]
        assert sorted(r["formId"] for r in results) == sorted(p.stem for p in BUNDLED_FORMS_DIR.glob("*.xlsx"))
        # The scenario exercises repeats and a photo, not only flat questions.
        assert any(r.get("repeats") for r in results) and any(r.get("attachments") for r in results)
        for result in results:
            assert result["status"] == 201, result
            assert len(result["values"]) >= 10
            url = f"{live.url}/v1/projects/1/forms/{result['formId']}/submissions/{result['instanceID']}"
            record = requests.get(url, auth=STAFF, timeout=10).json()
            assert record["currentVersion"]["unknownVersion"] is False
            wrong = {path: (lookup(record["data"], path), value) for path, value in result["values"].items()
                     if not same(lookup(record["data"], path), value)}
            assert wrong == {}, f"{result['formId']}: stored values differ from those entered"
            for repeat, count in result.get("repeats", {}).items():
                assert len(record["data"][repeat.split("/", 2)[2]]) == count
            assert record["attachmentsPresent"] == len(result.get("attachments", []))
    finally:
        live.stop()
