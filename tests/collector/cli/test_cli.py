"""The collector command line: publishing, users, devices, submissions and the quick-start set-up."""

from __future__ import annotations

import json
import os
import stat

from sqlalchemy import func, select

from collector.devices import collect_settings, save_qr
from ingest.models import Device, FormVersion, User
from tests.conftest import DATA, make_instance
from tests.support.openrosa import post


def test_forms_publish_publishes_with_media_from_beside_the_form(runner, db_session):
    result = runner.invoke(args=["forms", "publish", str(DATA / "sample_case.xlsx")])
    assert result.exit_code == 0, result.output
    assert "sample_case version 2026112901 published" in result.output
    version = db_session.scalar(select(FormVersion))
    assert [(a.name, a.blob is not None) for a in version.attachments] == [("provinces.csv", True)]
    assert any(f["sensitive"] for f in version.fields if f["name"] == "full_name")


def test_forms_publish_twice_is_a_no_op(runner, db_session):
    runner.invoke(args=["forms", "publish", str(DATA / "sample_case.xlsx")])
    result = runner.invoke(args=["forms", "publish", str(DATA / "sample_case.xlsx")])
    assert result.exit_code == 0 and "already published" in result.output
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 1


def test_forms_publish_refuses_broken_form_with_pyxform_message(runner, db_session):
    result = runner.invoke(args=["forms", "publish", str(DATA / "broken.xlsx")])
    assert result.exit_code == 1
    assert "pyxform could not convert the form" in result.output
    assert "choices sheet" in result.output
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 0


def _workbook(path, survey_rows, settings=(("form_id", "version"), ("media_test", "1"))):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "survey"
    for row in survey_rows:
        ws.append(list(row))
    settings_sheet = wb.create_sheet("settings")
    for row in settings:
        settings_sheet.append(list(row))
    wb.save(path)
    return path


def test_forms_publish_refuses_missing_media_unless_forced(runner, tmp_path, db_session):
    path = _workbook(
        tmp_path / "media_test.xlsx",
        [("type", "name", "label"), ("select_one_from_file nowhere.csv", "place", "Place")],
    )
    result = runner.invoke(args=["forms", "publish", str(path)])
    assert result.exit_code == 1
    assert "needs media files that were not given: nowhere.csv" in result.output
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 0
    result = runner.invoke(args=["forms", "publish", str(path), "--force"])
    assert result.exit_code == 0, result.output
    assert "missing media: nowhere.csv" in result.output


def test_forms_publish_takes_media_option(runner, tmp_path, db_session):
    path = _workbook(
        tmp_path / "media_test.xlsx", [("type", "name", "label"), ("select_one_from_file places.csv", "place", "Place")]
    )
    media = tmp_path / "elsewhere" / "places.csv"
    media.parent.mkdir()
    media.write_text("name,label\na,A\n")
    result = runner.invoke(args=["forms", "publish", str(path), "--media", str(media)])
    assert result.exit_code == 0, result.output
    assert db_session.scalar(select(FormVersion)).attachments[0].blob.size == len("name,label\na,A\n")


def test_forms_check_reports_row_and_exit_status(runner, tmp_path):
    path = _workbook(
        tmp_path / "bad_row.xlsx", [("type", "name", "label", "constraint"), ("integer", "age", "Age", ". > ${nowhere")]
    )
    result = runner.invoke(args=["forms", "check", str(path), str(DATA / "sample_case.xlsx")])
    assert result.exit_code == 1
    assert "row 2" in result.output and "sheet 'survey'" in result.output
    assert "sample_case.xlsx: OK" in result.output


def test_users_create_reads_password_from_env_and_file(runner, db_session, tmp_path, monkeypatch):
    monkeypatch.setenv("COLLECTOR_PASSWORD", "a long enough password")
    result = runner.invoke(args=["users", "create", "Trainer@Example.la", "--role", "trainer"])
    assert result.exit_code == 0, result.output
    monkeypatch.delenv("COLLECTOR_PASSWORD")
    secret = tmp_path / "pw"
    secret.write_text("another long password\n")
    result = runner.invoke(args=["users", "create", "staff@example.la", "--password-file", str(secret)])
    assert result.exit_code == 0, result.output
    users = {u.email: u.role for u in db_session.scalars(select(User))}
    assert users == {"trainer@example.la": "trainer", "staff@example.la": "analyst"}
    assert "another long password" not in "".join(u.password_hash for u in db_session.scalars(select(User)))


def test_users_create_refuses_short_password_and_duplicates(runner, monkeypatch):
    monkeypatch.setenv("COLLECTOR_PASSWORD", "short")
    assert runner.invoke(args=["users", "create", "a@b.la"]).exit_code == 1
    monkeypatch.setenv("COLLECTOR_PASSWORD", "long enough password")
    assert runner.invoke(args=["users", "create", "a@b.la"]).exit_code == 0
    result = runner.invoke(args=["users", "create", "a@b.la"])
    assert result.exit_code == 1 and "already exists" in result.output


def test_devices_create_prints_url_and_writes_qr(runner, db_session, instance_path):
    result = runner.invoke(args=["devices", "create", "Bokeo tablet 1", "--province", "05"])
    assert result.exit_code == 0, result.output
    device = db_session.scalar(select(Device))
    url = f"http://collect.test/v1/key/{device.token}/projects/1"
    assert url in result.output
    png = instance_path / "qr" / f"device-{device.id}.png"
    assert png.read_bytes().startswith(b"\x89PNG")
    assert (instance_path / "qr" / f"device-{device.id}.svg").read_text().startswith("<?xml")
    assert "\u2588" in result.output  # the QR code drawn in the terminal


def test_devices_qr_files_are_readable_by_their_owner_only(runner, db_session, instance_path, tmp_path):
    # The code holds the device token: 0600 in a 0700 folder whatever the umask, and files left readable by
    # an older version are tightened when written again.
    old = os.umask(0o022)
    try:
        assert runner.invoke(args=["devices", "create", "Bokeo tablet 1"]).exit_code == 0
        folder = tmp_path / "qr"
        folder.mkdir(mode=0o755)
        for name in ("again.png", "again.svg"):
            (folder / name).write_bytes(b"old")
            os.chmod(folder / name, 0o644)
        again = save_qr(collect_settings("http://collect.test/v1/key/t/projects/1", "P"), folder, "again")
    finally:
        os.umask(old)
    device = db_session.scalar(select(Device))
    made = [instance_path / "qr" / f"device-{device.id}.{suffix}" for suffix in ("png", "svg")]
    for path in (*made, *again):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes()[:4] in (b"\x89PNG", b"<?xm")
    for folder in (instance_path / "qr", tmp_path / "qr"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_devices_revoke_blocks_the_token(runner, client, db_session):
    runner.invoke(args=["devices", "create", "Lost tablet"])
    device = db_session.scalar(select(Device))
    assert runner.invoke(args=["devices", "revoke", str(device.id)]).exit_code == 0
    assert client.get(f"/v1/key/{device.token}/projects/1/formList").status_code == 403
    assert "revoked" in runner.invoke(args=["devices", "list"]).output


def test_submissions_list_prints_normalised_values(runner, client, device, published_form):
    post(client, device, make_instance("uuid:cli"))
    result = runner.invoke(args=["submissions", "list", "sample_case"])
    assert result.exit_code == 0, result.output
    record = json.loads(result.output.splitlines()[0])
    assert record["instanceId"] == "uuid:cli"
    assert record["data"]["route"][1] == {"place": "Bangkok", "days": 10, "place_photo": None}
    assert runner.invoke(args=["submissions", "list", "nothing"]).exit_code == 1


def test_replay_rebuilds_rows_from_raw(runner, client, device, published_form, db_session):
    from ingest.models import SubmissionRow

    post(client, device, make_instance("uuid:replay"))
    db_session.query(SubmissionRow).delete()
    db_session.commit()
    result = runner.invoke(args=["ingest", "replay"])
    assert result.exit_code == 0, result.output
    assert "Replayed 1 submission version(s) into 3 row(s)." in result.output


def test_setup_is_idempotent_and_reuses_the_device(runner, db_session):
    first = runner.invoke(args=["setup"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(args=["setup"])
    assert second.exit_code == 0, second.output
    assert "already published" in second.output
    [device] = db_session.scalars(select(Device)).all()
    assert f"/v1/key/{device.token}/projects/1" in first.output and device.token in second.output
    from ingest.models import Form

    assert db_session.scalar(select(func.count()).select_from(Form)) >= 5
    assert "QR code image" in second.output


def test_instance_secret_is_created_once_under_concurrent_starts(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from collector import _instance_secret

    with ThreadPoolExecutor(8) as pool:
        keys = set(pool.map(lambda _: _instance_secret(tmp_path), range(32)))
    assert len(keys) == 1 and len(keys.pop()) == 64
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    assert [p.name for p in tmp_path.iterdir()] == ["secret_key"]


def test_forms_state_closes_and_reopens_a_form(runner, client, device, db_session):
    assert runner.invoke(args=["forms", "state", "sample_case", "closing"]).exit_code == 0
    assert b"<xform>" not in client.get(f"/v1/key/{device.token}/projects/1/formList").data
    assert runner.invoke(args=["forms", "state", "sample_case", "open"]).output == "sample_case is now open.\n"
    assert b"<formID>sample_case</formID>" in client.get(f"/v1/key/{device.token}/projects/1/formList").data
    assert runner.invoke(args=["forms", "state", "nothing", "closed"]).exit_code == 1
    assert runner.invoke(args=["forms", "state", "sample_case", "archived"]).exit_code == 2


def test_forms_check_and_publish_refuse_what_tablets_would_reject_with_rows(runner, tmp_path, db_session):
    from tests.support.forms import BAD_EXPRESSIONS

    path = _workbook(tmp_path / "bad_expressions.xlsx", BAD_EXPRESSIONS)
    for command in ("check", "publish"):
        result = runner.invoke(args=["forms", command, str(path)])
        assert result.exit_code == 1, result.output
        assert "Tablets would refuse expressions of the form." in result.output
        for row, words in (
            (2, "“regexp()” is not a function"),
            (3, "“isblank()” is not a function"),
            (4, "“ten” is text, not a number"),
        ):
            line = next(line for line in result.output.splitlines() if words in line)
            assert f"(sheet 'survey', row {row})" in line
    assert db_session.scalar(select(func.count()).select_from(FormVersion)) == 0
