"""A real ODK client: the ODK XForms engine (Node) fills each bundled form from the running server and submits it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests

from forms import BUNDLED_FORMS_DIR
from tests.support.live import LiveServer

SCRIPT = Path(__file__).parent / "js" / "fill_and_submit.mjs"
STAFF = ("staff@example.la", "staff password 123")
FORMS = sorted(p.stem for p in BUNDLED_FORMS_DIR.glob("*.xlsx"))

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")


@pytest.fixture(scope="module")
def server(database_url, tmp_path_factory):
    """A live server set up as `make serve` does (bundled forms, a device), plus a staff user."""
    from tests.conftest import truncate

    if not (SCRIPT.parent / "node_modules").is_dir():
        pytest.fail("tests/js/node_modules is missing: run `make test`, which installs it")
    truncate(database_url)
    live = LiveServer(database_url, tmp_path_factory.mktemp("odk") / "instance").start()
    live.base = live.device_url(live.cli("setup").stdout)
    live.cli("users", "create", STAFF[0], "--role", "case-officer", COLLECTOR_PASSWORD=STAFF[1])
    yield live
    live.stop()
    truncate(database_url)


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


@pytest.mark.parametrize("form_id", FORMS)
def test_xforms_engine_fills_submits_and_values_are_stored(server, form_id):
    run = subprocess.run(
        ["node", str(SCRIPT), server.base, "--form", form_id], capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    [result] = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert result["formId"] == form_id and result["status"] == 201, result
    assert len(result["values"]) >= 10
    if form_id == "case_intake":  # the interview form has repeats and an optional document photo
        assert result["repeats"] and result["attachments"]
    url = f"{server.url}/v1/projects/1/forms/{form_id}/submissions/{result['instanceID']}"
    record = requests.get(url, auth=STAFF, timeout=10).json()
    assert record["currentVersion"]["unknownVersion"] is False
    wrong = {
        path: (lookup(record["data"], path), value)
        for path, value in result["values"].items()
        if not same(lookup(record["data"], path), value)
    }
    assert wrong == {}, "stored values differ from those entered"
    for repeat, count in result.get("repeats", {}).items():
        assert len(record["data"][repeat.split("/", 2)[2]]) == count
    assert record["attachmentsPresent"] == len(result.get("attachments", [])) == record["attachmentsExpected"]


def test_every_bundled_form_has_a_scenario():
    assert sorted(p.stem for p in (SCRIPT.parent / "answers").glob("*.json")) == FORMS
