"""Who may send and edit what, the scope mechanism itself, and redaction details (issue 8)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from ingest.models import Submission
from tests.conftest import make_instance
from tests.support.openrosa import JPEG, openrosa_message, post
from tests.support.scope import PASSWORD, basic


def user_post(client, email: str, xml: bytes, project: int = 1):
    import io

    return client.post(
        f"/v1/projects/{project}/submission",
        headers={"X-OpenRosa-Version": "1.0", **basic(email)},
        data={"xml_submission_file": (io.BytesIO(xml), "x.xml", "text/xml")},
        content_type="multipart/form-data",
    )


def test_an_analyst_may_not_send_or_replace_records(client, device, users, db_session):
    assert post(client, device, make_instance("uuid:orig")).status_code == 201
    new = user_post(client, "analyst@example.la", make_instance("uuid:new"))
    assert new.status_code == 403 and "may not send" in openrosa_message(new)
    edit = user_post(client, "analyst@example.la", make_instance("uuid:edit", deprecated_id="uuid:orig"))
    assert edit.status_code == 403
    rest = client.post(
        "/v1/projects/1/forms/sample_case/submissions",
        data=make_instance("uuid:rest"),
        headers=basic("analyst@example.la"),
        content_type="application/xml",
    )
    assert rest.status_code == 403
    assert db_session.scalars(select(Submission.instance_id)).all() == ["uuid:orig"]


def test_a_device_may_edit_only_what_it_sent(client, device, other_device, db_session):
    assert post(client, device, make_instance("uuid:mine")).status_code == 201
    stolen = post(client, other_device, make_instance("uuid:stolen-edit", deprecated_id="uuid:mine"))
    assert stolen.status_code == 403
    assert "another device" in openrosa_message(stolen)
    own = post(client, device, make_instance("uuid:my-edit", deprecated_id="uuid:mine", name="Corrected"))
    assert own.status_code == 201
    assert db_session.scalars(select(Submission.instance_id)).all() == ["uuid:mine"]


def test_a_provincial_officer_sends_and_edits_only_in_their_provinces(client, device, users, db_session):
    for_05 = make_instance("uuid:p05").replace(b"<province>01</province>", b"<province>05</province>")
    assert user_post(client, "officer05@example.la", for_05).status_code == 201
    # A record for another province is kept in the officer's own, its claim flagged (as a device's is).
    kept = user_post(client, "officer05@example.la", make_instance("uuid:p01"))
    assert kept.status_code == 201 and "kept in province 05" in openrosa_message(kept)
    placed = db_session.execute(
        select(Submission.province_code, Submission.claimed_province).where(Submission.instance_id == "uuid:p01")
    ).one()
    assert tuple(placed) == ("05", "01")
    assert post(client, device, make_instance("uuid:dev01")).status_code == 201
    edit = make_instance("uuid:dev01-edit", deprecated_id="uuid:dev01").replace(
        b"<province>01</province>", b"<province>05</province>"
    )
    assert user_post(client, "officer05@example.la", edit).status_code == 403  # the original is province 01
    national = user_post(client, "national@example.la", make_instance("uuid:dev01-fix", deprecated_id="uuid:dev01"))
    assert national.status_code == 201


def test_the_record_province_comes_from_the_tagged_answer_else_the_device(
    client, device, db_session, app, runner, admin
):
    from ingest.accounts.users import assign_forms, create_device

    national = create_device(db_session, 1, "Ministry tablet", None)
    assign_forms(db_session, national, None)
    db_session.commit()
    assert (
        post(
            client,
            national,
            make_instance("uuid:tagged").replace(b"<province>01</province>", b"<province>07</province>"),
        ).status_code
        == 201
    )
    assert (
        post(
            client,
            device,
            make_instance("uuid:untagged").replace(b"<province>01</province>", b"<province>99</province>"),
        ).status_code
        == 201
    )
    # A province-01 tablet's record naming province 07 stays in 01, the 07 kept as its claim.
    assert (
        post(
            client,
            device,
            make_instance("uuid:claims-07").replace(b"<province>01</province>", b"<province>07</province>"),
        ).status_code
        == 201
    )
    expected = {
        "uuid:tagged": ("07", None, False),
        "uuid:untagged": ("01", None, False),
        "uuid:claims-07": ("01", "07", False),
    }
    query = select(
        Submission.instance_id, Submission.province_code, Submission.claimed_province, Submission.consent_withheld
    )
    assert {r[0]: tuple(r[1:]) for r in db_session.execute(query)} == expected
    # A stale province is put right by replay (for example after a form gained its scope_province tag), from
    # what is stored with each record: its sender's provinces when it arrived, not the device's today.
    db_session.execute(
        Submission.__table__.update().values(province_code=None, claimed_province=None, consent_withheld=True)
    )
    db_session.get(type(device), device.id).province_code = "07"
    db_session.commit()
    result = runner.invoke(["ingest", "replay"])
    assert result.exit_code == 0, result.output
    db_session.expire_all()
    assert {r[0]: tuple(r[1:]) for r in db_session.execute(query)} == expected
    listed = client.get("/v1/projects/1/forms/sample_case/submissions?claimedProvince=any", auth=admin).get_json()
    assert [(r["instanceId"], r["province"], r["claimedProvince"]) for r in listed] == [("uuid:claims-07", "01", "07")]
    assert client.get("/v1/projects/1/forms/sample_case/submissions?claimedProvince=05", auth=admin).get_json() == []
    assert client.get("/v1/projects/1/forms/sample_case/submissions?claimedProvince=x", auth=admin).status_code == 400


def test_formlist_of_a_project_that_does_not_exist_is_404(client, admin, published_form):
    response = client.get("/v1/projects/42/formList", headers={"X-OpenRosa-Version": "1.0"}, auth=admin)
    assert response.status_code == 404


def test_a_device_of_another_project_is_refused(client, device, published_form):
    response = client.get(f"/v1/key/{device.token}/projects/2/formList", headers={"X-OpenRosa-Version": "1.0"})
    assert response.status_code == 403


def test_a_file_a_tablet_sent_is_never_replaced(client, device, admin):
    assert post(client, device, make_instance("uuid:photo"), {"photo.jpg": JPEG}).status_code == 201
    url = "/v1/projects/1/forms/sample_case/submissions/uuid:photo/attachments/photo.jpg"
    replaced = client.post(url, data=b"other bytes", auth=admin, content_type="image/jpeg")
    assert replaced.status_code == 409
    with client.get(url, auth=admin) as kept:
        assert kept.get_data() == JPEG
    assert client.post(url, data=JPEG, auth=admin, content_type="image/jpeg").status_code == 200  # same bytes


def test_a_provincial_trainer_manages_only_their_province_devices(client, device, other_device, users):
    listed = client.get("/v1/projects/1/app-users", headers=basic("trainer05@example.la"))
    assert [d["id"] for d in listed.get_json()] == [other_device.id]
    assert (
        client.delete(f"/v1/projects/1/app-users/{device.id}", headers=basic("trainer05@example.la")).status_code == 404
    )
    made = client.post(
        "/v1/projects/1/app-users", json={"displayName": "New tablet"}, headers=basic("trainer05@example.la")
    )
    assert made.status_code == 201 and made.get_json()["province"] == "05"
    other = client.post(
        "/v1/projects/1/app-users", json={"displayName": "X", "province": "01"}, headers=basic("trainer05@example.la")
    )
    assert other.status_code == 403


def test_a_guarded_session_without_a_caller_refuses_record_queries(app):
    """The mechanism itself: a read path that forgets to name its caller fails instead of reading everything."""
    from ingest import scope
    from ingest.access import SYSTEM

    with app.app_context():
        from collector.db import get_session

        session = get_session()
        with pytest.raises(scope.ScopeMissing):
            session.scalars(select(Submission)).all()
        with scope.acting_as(session, SYSTEM):
            assert session.scalars(select(Submission)).all() == []


def test_a_count_or_subquery_over_records_is_scoped_like_a_plain_read(app):
    """A count with a bare select_from, over a subquery, or in an IN (...) reads only the caller's provinces, and
    without a caller is refused: the scope looks for record tables anywhere in a statement, not only in its
    result columns (an OData count over a subquery once counted every province)."""
    from sqlalchemy import func

    from ingest import scope
    from ingest.access import SYSTEM, Caller
    from ingest.models import Case
    from ingest.publishing.versions import ensure_project

    with app.app_context():
        from collector.db import get_session

        session = get_session()
        with scope.acting_as(session, SYSTEM):
            ensure_project(session, 1)
            session.add_all(
                Case(project_id=1, case_code=f"C{i}", province_code=p) for i, p in enumerate(["01", "05", "05"])
            )
            session.commit()
        counts = (
            select(func.count()).select_from(Case),
            select(func.count()).select_from(select(Case).subquery()),
            select(func.count()).select_from(select(Case.id).where(Case.records >= 0).subquery()),
            select(func.count(Submission.id))
            .where(Submission.id.in_(select(Case.id)))
            .add_columns(select(func.count(Case.id)).scalar_subquery()),
        )
        with pytest.raises(scope.ScopeMissing):
            session.scalar(counts[0])
        officer = Caller(role="provincial-officer", provinces=frozenset({"01"}), rights=frozenset({"records", "stats"}))
        with scope.acting_as(session, officer):
            assert [session.scalar(q) for q in counts[:3]] == [1, 1, 1]
            assert session.execute(counts[3]).one()[1] == 1
        with scope.acting_as(session, SYSTEM):
            assert session.scalar(counts[0]) == 3


def test_geopoints_are_rounded_and_xml_emptied_for_redacted_roles():
    from ingest.redaction import redact_rows, redact_xml, round_geo

    assert round_geo("17.966234 102.613421 170.5 4.9") == "17.97 102.61 170.50 4.90"
    assert round_geo("17.1 102.2;17.3 102.4") == "17.10 102.20;17.30 102.40"
    fields = [
        {"path": "/data/name", "kind": "question", "sensitive": True, "xml_type": "string", "repeat": None},
        {"path": "/data/home", "kind": "question", "sensitive": True, "xml_type": "geopoint", "repeat": None},
        {"path": "/data/r/note", "kind": "question", "sensitive": True, "xml_type": "string", "repeat": "/data/r"},
        {"path": "/data/age", "kind": "question", "sensitive": False, "xml_type": "int", "repeat": None},
    ]
    rows = [
        {"path": "/data", "data": {"name": "Noy", "home": "17.966 102.613 0 5", "age": 30}},
        {"path": "/data/r", "data": {"note": "secret"}},
    ]
    assert redact_rows(rows, fields) == ["name", "home", "r/note"]
    assert rows[0]["data"] == {"name": None, "home": "17.97 102.61 0.00 5.00", "age": 30}
    assert rows[1]["data"] == {"note": None}
    xml = redact_xml(
        b"<data><name>Noy</name><home>17.966 102.613 0 5</home><age>30</age>"
        b"<r><note>secret</note></r><r><note>more</note></r></data>",
        fields,
    )
    assert b"Noy" not in xml and b"secret" not in xml and b"more" not in xml
    assert b"<age>30</age>" in xml and b"17.97 102.61" in xml


def test_one_province_rule_for_officers_of_several_provinces_national_users_and_edits(
    client, device, users, db_session
):
    """Issue 16: an officer of several provinces sends for any of them, and what names another lands in the
    first of theirs; a national user sends for any province; a tablet's edit naming another province stays in
    the tablet's, claim kept. Nothing is refused."""
    from ingest.accounts.users import create_user

    create_user(db_session, "officer0103@example.la", PASSWORD, "provincial-officer", provinces=("03", "01"))
    db_session.commit()

    def province(answer: str) -> bytes:
        return b"<province>" + answer.encode() + b"</province>"

    sends = (
        ("officer0103@example.la", "uuid:m03", "03"),
        ("officer0103@example.la", "uuid:m05", "05"),
        ("national@example.la", "uuid:n05", "05"),
    )
    for email, iid, answer in sends:
        response = user_post(client, email, make_instance(iid).replace(province("01"), province(answer)))
        assert response.status_code == 201, response.data
    assert post(client, device, make_instance("uuid:d01")).status_code == 201
    edit = make_instance("uuid:d01-edit", deprecated_id="uuid:d01").replace(province("01"), province("09"))
    assert post(client, device, edit).status_code == 201
    db_session.rollback()
    placed = {
        r[0]: (r[1], r[2])
        for r in db_session.execute(
            select(Submission.instance_id, Submission.province_code, Submission.claimed_province)
        )
    }
    assert placed == {
        "uuid:m03": ("03", None),
        "uuid:m05": ("01", "05"),
        "uuid:n05": ("05", None),
        "uuid:d01": ("01", "09"),
    }
