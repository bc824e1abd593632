"""A first run as a new operator makes it: from fresh shells, with and without Java, the public URL and QR codes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from collector.devices import decode_payload
from ingest.models import AuditEvent

ROOT = Path(__file__).resolve().parents[3]
PUBLIC = "http://192.0.2.10:8080"


def shell(instance: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    """Run `collector ARGS` as from a new shell: only PATH, HOME and the instance folder, plus `env`."""
    clean = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "COLLECTOR_INSTANCE_PATH": str(instance),
    }
    return subprocess.run(
        [sys.executable, "-m", "collector.cli", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_setup_without_java_says_in_one_line_what_is_missing_and_how_to_get_it(tmp_path):
    no_java = tmp_path / "bin"
    no_java.mkdir()
    result = shell(tmp_path / "instance", "setup", PATH=str(no_java))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "skip_validate" not in result.stderr
    [line] = result.stderr.strip().splitlines()
    assert "Java 8 or newer" in line and "apt-get install default-jre-headless" in line


def test_forms_check_without_java_gives_the_same_line_not_pyxforms_traceback(tmp_path):
    no_java = tmp_path / "bin"
    no_java.mkdir()
    form = ROOT / "forms" / "xlsforms" / "referral.xlsx"
    result = shell(tmp_path / "instance", "forms", "check", str(form), PATH=str(no_java))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and "apt-get install default-jre-headless" in result.stderr


def test_old_java_is_named_too(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    java = fake / "java"
    java.write_text("#!/bin/sh\necho 'java version \"1.7.0_80\"' >&2\n")
    java.chmod(0o755)
    result = shell(tmp_path / "instance", "setup", PATH=f"{fake}:{os.environ['PATH']}")
    assert result.returncode == 1 and "Java 7 is too old" in result.stderr


def test_device_created_from_a_second_shell_gets_the_stored_public_url(tmp_path):
    assert shutil.which("zbarimg"), "zbarimg is missing: `make test` installs zbar-tools"
    instance = tmp_path / "instance"
    first = shell(instance, "setup", COLLECTOR_PUBLIC_URL=PUBLIC, COLLECTOR_VALIDATE_FORMS="false")
    assert first.returncode == 0, first.stderr
    assert f"Server URL: {PUBLIC}" in first.stdout
    assert (instance / "public_url").read_text().strip() == PUBLIC

    # Another shell, without COLLECTOR_PUBLIC_URL: the trainer's.
    second = shell(instance, "devices", "create", "Savannakhet tablet 1", "--province", "13")
    assert second.returncode == 0, second.stderr
    assert f"ODK Collect server URL: {PUBLIC}/v1/key/" in second.stdout
    assert "Warning" not in second.stderr
    listed = json.loads(shell(instance, "devices", "list", "--json").stdout)
    device_id = next(d["id"] for d in listed if d["name"] == "Savannakhet tablet 1")

    png = tmp_path / "tablet.png"
    shown = shell(instance, "devices", "qr", str(device_id), "--png", str(png), "--svg", str(tmp_path / "tablet.svg"))
    assert shown.returncode == 0, shown.stderr
    assert png.stat().st_mode & 0o777 == 0o600
    payload = subprocess.run(["zbarimg", "--raw", "-q", str(png)], capture_output=True, text=True).stdout.strip()
    server_url = decode_payload(payload)["general"]["server_url"]
    assert server_url.startswith(f"{PUBLIC}/v1/key/") and server_url.endswith("/projects/1")
    assert server_url in second.stdout
    assert (tmp_path / "tablet.svg").read_text().lstrip().startswith("<?xml")


def test_a_qr_code_for_an_address_no_tablet_reaches_is_warned_about(tmp_path):
    instance = tmp_path / "instance"
    assert shell(instance, "db", "upgrade").returncode == 0
    unknown = shell(instance, "devices", "create", "Tablet A")
    assert unknown.returncode == 0 and "no public URL is known" in unknown.stderr
    loopback = shell(instance, "devices", "create", "Tablet B", COLLECTOR_PUBLIC_URL="http://127.0.0.1:8080")
    assert "only this machine reaches" in loopback.stderr
    # The server was started elsewhere with the real address; this shell says otherwise.
    (instance / "public_url").write_text(PUBLIC + "\n")
    stored = shell(instance, "devices", "qr", "1")
    assert stored.returncode == 0 and PUBLIC not in stored.stderr and "Warning" not in stored.stderr
    other = shell(instance, "devices", "qr", "1", COLLECTOR_PUBLIC_URL="http://127.0.0.1:8080")
    assert "Warning" in other.stderr


def test_help_shows_only_the_projects_own_commands(runner):
    result = runner.invoke(["--help"])
    assert result.exit_code == 0
    for flask_option in ("--env-file", "--app", "--debug", "python-dotenv", "routes", "shell"):
        assert flask_option not in result.output
    assert "setup" in result.output and "devices" in result.output


def test_setup_audits_only_the_publications_that_happened(runner, db_session):
    assert runner.invoke(["setup"]).exit_code == 0
    again = runner.invoke(["setup"])
    assert again.exit_code == 0 and "already published" in again.output
    publishes = select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "form.publish")
    assert db_session.scalar(publishes) == 5


def test_list_commands_have_a_header_and_json(runner, db_session):
    assert runner.invoke(["devices", "create", "Tablet 1", "--province", "13"]).exit_code == 0
    devices = runner.invoke(["devices", "list"]).stdout.splitlines()
    assert devices[0] == "id\tstate\tprovince\tname\tforms"
    assert devices[1].startswith("1\tactive\t13\tTablet 1\t")
    assert json.loads(runner.invoke(["devices", "list", "--json"]).stdout)[0]["province"] == "13"
    users = runner.invoke(["users", "list"]).stdout.splitlines()
    assert users == ["id\temail\trole\tprovinces\tstate"]
    assert json.loads(runner.invoke(["users", "list", "--json"]).stdout) == []


def test_devices_qr_refuses_unknown_and_revoked_devices(runner, db_session):
    assert runner.invoke(["devices", "qr", "99"]).exit_code == 1
    assert runner.invoke(["devices", "create", "Soon revoked"]).exit_code == 0
    assert runner.invoke(["devices", "revoke", "1"]).exit_code == 0
    result = runner.invoke(["devices", "qr", "1"])
    assert result.exit_code == 1 and "revoked" in result.output
