"""`collector ingest replay` in pages (issue 9): the same rows and register as the write path made, every time."""

from __future__ import annotations

from sqlalchemy import delete, select, update

from ingest import scope
from ingest.access import SYSTEM
from ingest.models import Case, Submission, SubmissionRow, SubmissionVersion
from tests.support.cases import INTAKE, SCREENING, instance
from tests.support.openrosa import post


def intake(fields, instance_id: str, answers: dict, legs: int, deprecated: str | None = None) -> bytes:
    """Write a case_intake instance with `legs` rows of its route repeat and one person involved."""
    xml = instance("case_intake", fields, instance_id, answers, deprecated=deprecated)
    route = "".join(
        f"<route><hte_Type>Transportation</hte_Type><hte_Country>TH</hte_Country><route_other_country />"
        f"<hte_State /><hte_City /><hte_Date>2026-01-0{n + 1}</hte_Date>"
        f"<hte_Description>leg {n + 1}</hte_Description></route>"
        for n in range(legs)
    )
    person = (
        "<persons_involved><per_RoleInProcess>Transporter</per_RoleInProcess>"
        "<perpetrator_gender>Masculine</perpetrator_gender><perpetrator_citizenship>TH"
        "</perpetrator_citizenship><perpetrator_other_country /><perpetrator_name />"
        "<per_RoleDetails /></persons_involved>"
    )
    xml = xml.replace(b"<grp_exploitation>", route.encode() + b"<grp_exploitation>", 1)
    return xml.replace(b"<grp_status>", person.encode() + b"<grp_status>", 1)


def snapshot(session) -> tuple[list, list, list]:
    """Return every row (by instance, path and position, its parent's too), record and case, without ids."""
    session.rollback()
    with scope.acting_as(session, SYSTEM):
        versions = dict(session.execute(select(SubmissionVersion.id, SubmissionVersion.instance_id)).all())
        stored = session.execute(
            select(
                SubmissionRow.id,
                SubmissionRow.submission_version_id,
                SubmissionRow.path,
                SubmissionRow.position,
                SubmissionRow.parent_id,
                SubmissionRow.data,
            )
        ).all()
        place = {r.id: (r.path, r.position) for r in stored}
        rows = sorted(
            (versions[r.submission_version_id], r.path, r.position, place.get(r.parent_id), sorted(r.data.items()))
            for r in stored
        )
        records = sorted(
            session.execute(
                select(
                    Submission.instance_id, Submission.province_code, Submission.consent_withheld, Submission.case_code
                )
            ).all()
        )
        columns = [c.name for c in Case.__table__.columns if c.name not in ("id", "updated_at")]
        cases = sorted(tuple(getattr(c, n) for n in columns) for c in session.scalars(select(Case)))
    session.rollback()
    return rows, records, cases


def seed(client, device, forms):
    """Store 9 records of two forms through the write path: cases shared, an edit, repeats of 0 to 3 rows."""
    for n in range(8):
        answers = {
            **INTAKE,
            "case_code": f"C-{n % 3}",
            "scope_province": ("05", "13", "01")[n % 3],
            "consent_sharing": "no" if n == 4 else "yes",
        }
        assert post(client, device, intake(forms["case_intake"], f"uuid:i{n}", answers, n % 4)).status_code == 201
    assert post(client, device, instance("screening", forms["screening"], "uuid:s0", SCREENING)).status_code == 201
    # An edit moves record i1 to another case: its first version stays, no longer current.
    edited = intake(forms["case_intake"], "uuid:i1-edit", {**INTAKE, "case_code": "C-9"}, 2, deprecated="uuid:i1")
    assert post(client, device, edited).status_code == 201


def wipe(session) -> None:
    """Throw away everything replay derives: rows, the register, each record's province, consent and case."""
    with scope.acting_as(session, SYSTEM):
        session.execute(delete(SubmissionRow))
        session.execute(delete(Case))
        session.execute(update(Submission).values(province_code=None, consent_withheld=False, case_code=None))
    session.commit()


def test_replay_in_small_pages_rebuilds_what_the_write_path_stored_and_twice_is_the_same(
    client, device, forms, db_session, runner
):
    seed(client, device, forms)
    before = snapshot(db_session)
    assert len(before[0]) == 10 + 14 + 9  # 10 root rows, 14 route legs, a person in each intake version
    assert {c[1] for c in before[2]} == {"C-0", "C-1", "C-2", "C-9"}
    wipe(db_session)
    assert snapshot(db_session)[0] == []
    for _ in range(2):
        result = runner.invoke(["ingest", "replay", "--batch", "3"])  # 10 versions: four pages
        assert result.exit_code == 0, result.output
        assert "Replayed 10 submission version(s) into 33 row(s)." in result.output
        assert snapshot(db_session) == before


def test_replay_of_one_form_leaves_the_others_and_empties_the_identity_map_each_page(
    client, device, forms, db_session, runner
):
    from ingest.receiving.replay import replay_all

    seed(client, device, forms)
    before = snapshot(db_session)
    with scope.acting_as(db_session, SYSTEM):
        db_session.execute(delete(SubmissionRow))
    db_session.commit()
    result = runner.invoke(["ingest", "replay", "--form", "case_intake"])
    assert result.exit_code == 0, result.output
    assert "Replayed 9 submission version(s) into 32 row(s)." in result.output
    rows = snapshot(db_session)[0]
    assert rows == [r for r in before[0] if r[0] != "uuid:s0"]

    held = []
    versions, written = replay_all(
        db_session, batch=4, on_page=lambda n: held.append((n, len(db_session.identity_map)))
    )
    assert (versions, written, held) == (10, 33, [(4, 0), (4, 0), (2, 0)])
    assert snapshot(db_session) == before
