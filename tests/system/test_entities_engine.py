"""Entities end to end with a real ODK engine (issue 19): XLSForms with an `entities` sheet compiled by pyxform and
validated by ODK Validate (`collector forms publish`), filled by ODK's own form engine (@getodk/xforms-engine, Node)
against gunicorn, the follow-up form loading the entity list from the manifest as Collect does."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from ingest import scope
from ingest.access import SYSTEM
from ingest.db import make_engine, make_session_factory
from ingest.entity_models import Entity, EntityVersion
from tests.support.entities import FOLLOWUP, NAME, REGISTRATION
from tests.support.live import LiveServer

SCRIPT = Path(__file__).parent / "js" / "fill_and_submit.mjs"

pytestmark = pytest.mark.skipif(shutil.which("node") is None, reason="Node is not installed")


@pytest.fixture
def live(clean_db, tmp_path):
    if not (SCRIPT.parent / "node_modules").is_dir():
        pytest.fail("tests/system/js/node_modules is missing: run `make js`")
    server = LiveServer(clean_db, tmp_path / "instance").start()
    yield server
    server.stop()


def fill(base: str, form_id: str, answers: dict, tmp_path, *extra: str) -> tuple[int, dict, str]:
    """Fill one form with the engine from a tablet's URL; return (exit status, its JSON line, its log)."""
    folder = tmp_path / f"answers-{abs(hash((base, form_id, json.dumps(answers, sort_keys=True))))}"
    folder.mkdir(exist_ok=True)
    (folder / f"{form_id}.json").write_text(json.dumps(answers))
    run = subprocess.run(
        ["node", str(SCRIPT), base, "--form", form_id, "--answers", str(folder), *extra],
        capture_output=True,
        text=True,
        timeout=300,
    )
    [result] = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    return run.returncode, result, run.stderr


def entity_rows(url: str) -> dict[str, tuple]:
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        with scope.acting_as(session, SYSTEM):
            entities = session.scalars(select(Entity)).all()
            return {
                e.data["case_code"]: (e.uuid, e.version, e.conflict, e.data.get("status"), e.province_code)
                for e in entities
            }
    finally:
        session.close()
        engine.dispose()


def last_version(url: str, entity_uuid: str) -> EntityVersion:
    engine = make_engine(url)
    session = make_session_factory(engine)()
    try:
        with scope.acting_as(session, SYSTEM):
            return session.scalars(
                select(EntityVersion)
                .join(Entity, Entity.id == EntityVersion.entity_id)
                .where(Entity.uuid == entity_uuid)
                .order_by(EntityVersion.version.desc())
            ).first()
    finally:
        session.close()
        engine.dispose()


def test_registration_then_offline_followups_with_the_xforms_engine(live, clean_db, tmp_path):
    for path in (REGISTRATION, FOLLOWUP):  # compiled by pyxform and checked by ODK Validate (Java)
        assert "published" in live.cli("forms", "publish", str(path)).stdout
    tablets = {
        p: live.device_url(
            live.cli("devices", "create", f"Tablet {p or 'national'}", *(["--province", p] if p else [])).stdout
        )
        for p in ("05", "06", "")
    }
    register = {"consent_data_sharing": "yes", "full_name": NAME, "gender": "Female", "age_band": "age_18_20"}
    for province in ("05", "06"):
        answers = {**register, "case_code": f"{province}-0001", "province": province}
        status, result, log = fill(tablets[province], "entity_registration", answers, tmp_path)
        assert status == 0 and result["status"] == 201, log[-3000:]
    rows = entity_rows(clean_db)
    (a, *_), (b, *_) = rows["05-0001"], rows["06-0001"]
    assert rows["05-0001"][1:] == (1, None, None, "05") and rows["06-0001"][4] == "06"

    # The national tablet downloads both, and finalises a follow-up of case 05 offline (from version 1).
    held = tmp_path / "held"
    held.mkdir()
    status, result, log = fill(
        tablets[""],
        "entity_followup",
        {"case": a, "status": "closed", "age_band": None},
        tmp_path,
        "--no-submit",
        "--save-xml",
        str(held),
    )
    assert status == 0, log[-3000:]
    assert sorted(result["choices"]["/data/case"]) == sorted([a, b])
    xml = (held / "entity_followup.xml").read_text()
    assert re.search(r'baseVersion="1"', xml) and f'id="{a}"' in xml

    # The tablet of province 05 is offered its own case only: the case of 06 is not among its choices.
    status, result, log = fill(tablets["05"], "entity_followup", {"case": b, "status": "referred"}, tmp_path)
    assert status == 1 and "not among the choices" in result["error"]
    assert result["choices"]["/data/case"] == [a]
    # Its follow-up of its case makes version 2 (the engine sent baseVersion 1 from the list's __version).
    status, result, log = fill(
        tablets["05"], "entity_followup", {"case": a, "status": "referred", "age_band": None}, tmp_path
    )
    assert status == 0 and result["status"] == 201, log[-3000:]
    assert entity_rows(clean_db)["05-0001"][1:4] == (2, None, "referred")
    # Back online, the national tablet sends the follow-up it made from version 1: a hard conflict on the status.
    sent = requests.post(
        f"{tablets['']}/submission",
        files={"xml_submission_file": ("xml_submission_file.xml", xml.encode(), "text/xml")},
        headers={"X-OpenRosa-Version": "1.0"},
        timeout=30,
    )
    assert sent.status_code == 201, sent.text
    assert entity_rows(clean_db)["05-0001"][1:4] == (3, "hard", "closed")
    last = last_version(clean_db, a)
    assert (last.base_version, last.conflict, last.conflicting_properties) == (1, "hard", ["status"])
