"""`collector forms push`: a trainer's laptop uploads and publishes a form over HTTP."""

from __future__ import annotations

import pytest
import requests
from click.testing import CliRunner

from collector.cli import main
from tests.conftest import DATA
from tests.support.forms import workbook_bytes
from tests.support.live import LiveServer

TRAINER = ("trainer@example.la", "trainer password 1")


@pytest.fixture
def live(clean_db, tmp_path):
    server = LiveServer(clean_db, tmp_path / "instance").start()
    server.cli("devices", "create", "Makes project 1")
    server.cli("users", "create", TRAINER[0], "--role", "trainer", COLLECTOR_PASSWORD=TRAINER[1])
    yield server
    server.stop()


def push(live, *args: str, password: str = TRAINER[1]):
    return CliRunner().invoke(
        main,
        ["forms", "push", *args, "--server", live.url, "--email", TRAINER[0]],
        env={"COLLECTOR_PASSWORD": password},
    )


def test_push_uploads_draft_with_media_then_publishes_a_new_version(live):
    first = push(live, str(DATA / "sample_case.xlsx"))
    assert first.exit_code == 0, first.output
    assert "uploaded as draft of 'sample_case' version 2026112901" in first.output
    assert "media uploaded: provinces.csv" in first.output and "/v1/test/" in first.output
    published = push(live, str(DATA / "sample_case.xlsx"), "--publish")
    assert published.exit_code == 0, published.output
    assert "Published 'sample_case' version 2026112901." in published.output
    second = push(live, str(DATA / "sample_case_v2.xlsx"), "--publish")
    assert second.exit_code == 0, second.output
    versions = requests.get(f"{live.url}/v1/projects/1/forms/sample_case/versions", auth=TRAINER, timeout=10).json()
    assert [v["version"] for v in versions] == ["2026120101", "2026112901"]
    again = push(live, str(DATA / "sample_case_v2.xlsx"), "--publish")
    assert again.exit_code == 1 and "already published" in again.output


def test_push_shows_the_same_errors_locally_and_exits_1(live, tmp_path):
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(workbook_bytes([("type", "name", "label", "relevant"), ("text", "a", "A", "${gone} = 1")]))
    result = push(live, str(broken))
    assert result.exit_code == 1
    assert "pyxform could not convert the form" in result.output and "row 2" in result.output


def test_push_with_wrong_password_exits_1(live):
    result = push(live, str(DATA / "sample_case.xlsx"), password="not the password")
    assert result.exit_code == 1 and "Sign-in: The email or password is wrong." in result.output


def test_push_to_unreachable_server_exits_1():
    result = CliRunner().invoke(
        main,
        [
            "forms",
            "push",
            str(DATA / "sample_case.xlsx"),
            "--server",
            "http://127.0.0.1:9",
            "--token",
            "x",
            "--no-validate",
        ],
    )
    assert result.exit_code == 1 and "Could not reach" in result.output
