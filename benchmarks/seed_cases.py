"""Fast seeding of case_intake records for the read-side benchmarks: real instance XML, real normaliser, bulk inserts.

Posting 100,000 instances through the HTTP write path would take most of an hour on 2 cores, so each record
is written here as ODK Collect would write it (one realistic instance per record, answers varied by a seeded
random generator), parsed and normalised by `ingest.normalise`, and its province, consent and case code are
taken by the same tag functions the write path calls. Submissions, their current version with its raw XML,
the normalised rows, expected files and the case register (`ingest.cases.register._summary`, what `rebuild_case`
writes) are then inserted in bulk, a chunk of records per transaction, with ids given here.
"""

from __future__ import annotations

import csv
import io
import os
import random
import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from hashlib import sha256

from sqlalchemy import func, insert, select, text

from forms import BUNDLED_MEDIA_DIR
from ingest.cases.register import _summary, case_code_of
from ingest.db import utcnow
from ingest.models import Blob, Case, Submission, SubmissionAttachment, SubmissionRow, SubmissionVersion
from ingest.normalise import normalise
from ingest.tags import consent_withheld, record_province
from ingest.xmlsafe import parse

FORM_ID = "case_intake"

_GIVEN = ["ແສງດາວ", "ບຸນມີ", "ນ້ອຍ", "ພອນ", "ຄຳ", "ສົມສະໄໝ", "ວັນນາ", "ມະນີ", "ທອງ", "ແກ້ວ", "Noy", "Lar"]
_FAMILY = ["ພົມມະວົງ", "ສີສຸວັນ", "ແກ້ວມະນີ", "ວົງສາ", "ຈັນທະລາ", "ສຸລິຍະ", "Inthavong", "Keomany"]
_LATIN = {
    "ແສງດາວ": "Saengdao",
    "ບຸນມີ": "Bounmy",
    "ນ້ອຍ": "Noy",
    "ພອນ": "Phone",
    "ຄຳ": "Kham",
    "ສົມສະໄໝ": "Somsamai",
    "ວັນນາ": "Vanna",
    "ມະນີ": "Manee",
    "ທອງ": "Thong",
    "ແກ້ວ": "Keo",
}
_EXPLOITATION = ["ForcedLabour", "SexualExploitation", "ForcedMarriage", "ChildLabour", "ForcedBegging", "Servitude"]
_INDUSTRY = [
    "A_AgricultureForestryAndFishing",
    "C_Manufacturing",
    "F_Construction",
    "I_AccommodationAndFoodServiceActivities",
    "T_ActivitiesOfHouseholdsAsEmployers",
]
_CONTROL = [
    "DebtBondage",
    "WithholdsDocuments",
    "TakesEarnings",
    "ExcessiveWorkingHours",
    "RestrictsMovement",
    "PhysicalThreats",
    "FalsePromises",
    "PsychologicalAbuse",
]
_RECRUIT = ["ThroughOnlineSocialNetworks", "ThroughFriendsOrSocialEvents", "ThroughFamilyOrFamilyEvents", "AtWork"]
_APPS = ["Facebook", "Line", "WhatsApp", "TikTok", "WeChat"]
_COUNTRIES = ["TH", "TH", "TH", "CN", "MY", "VN", "KR"]
_BANDS = (
    (8, "age_0_8"),
    (17, "age_9_17"),
    (20, "age_18_20"),
    (23, "age_21_23"),
    (26, "age_24_26"),
    (29, "age_27_29"),
    (38, "age_30_38"),
    (47, "age_39_47"),
)


def _districts() -> dict[str, list[str]]:
    by_province: dict[str, list[str]] = {}
    with (BUNDLED_MEDIA_DIR / "districts.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            by_province.setdefault(row["province"], []).append(row["name"])
    return by_province


DISTRICTS = _districts()
PROVINCES = sorted(DISTRICTS)


def answers_of(n: int, photo: str | None = None) -> tuple[dict, list[dict], list[dict], datetime]:
    """Return a record's answers by field name, its route legs and persons involved, and when it arrived."""
    rnd = random.Random(n)
    province = PROVINCES[rnd.randrange(len(PROVINCES))] if rnd.random() < 0.6 else rnd.choice(["01", "13", "16"])
    district = rnd.choice(DISTRICTS[province])
    day = date(2022, 1, 1) + timedelta(days=rnd.randrange(5 * 365 - 60))
    age = rnd.choice([rnd.randint(9, 17), rnd.randint(18, 29), rnd.randint(18, 45)])
    born = day - timedelta(days=int(age * 365.25) + rnd.randrange(300))
    band = next((b for limit, b in _BANDS if age <= limit), "age_48_plus")
    given, family = rnd.choice(_GIVEN), rnd.choice(_FAMILY)
    types = rnd.sample(_EXPLOITATION, rnd.choice([1, 1, 1, 2]))
    abroad = rnd.choice(_COUNTRIES)
    citizenship = "LA" if rnd.random() < 0.9 else rnd.choice(["VN", "MM", "XX"])
    case_code = f"{province}-{uuid.UUID(int=rnd.getrandbits(128)).hex[:8]}-{n}"
    months = rnd.randint(1, 40)
    answers = {
        "start": f"{day}T09:{rnd.randrange(60):02d}:00.000+07:00",
        "end": f"{day}T10:{rnd.randrange(60):02d}:00.000+07:00",
        "today": str(day),
        "deviceid": f"collect:{rnd.getrandbits(48):012x}",
        "username": "",
        "interview_date": str(day),
        "interview_province": province,
        "interview_district": district,
        "case_code_known": "yes",
        "case_code_entered": case_code,
        "case_code_new": "",
        "case_code": case_code,
        "consent_informed": "purpose data_use anonymised_research access_right retention withdrawal",
        "con_Consent": "yes",
        "consent_data_sharing": "no" if rnd.random() < 0.05 else "yes",
        "prs_FirstName": given,
        "prs_SecondName": family,
        "first_name_latin": _LATIN.get(given, given),
        "second_name_latin": family if family.isascii() else "",
        "prs_Gender": rnd.choices(["Feminine", "Masculine", "TransgenderFeminine"], [70, 28, 2])[0],
        "birthdate_precision": "exact_date",
        "prs_Birthdate": str(born),
        "prs_Citizenship": citizenship,
        "citizenship_other_country": "CN" if citizenship == "XX" else "",
        "prs_IdentityNumber": f"{province}{rnd.randrange(10**10):010d}",
        "prs_MobilePhone": f"+85620{rnd.randrange(10**8):08d}",
        "prs_MaritalStatus": rnd.choice(["Single", "Married", "Divorced"]),
        "prs_HighestLevelOfEducation": rnd.choice(
            ["PrimaryEducation", "LowerSecondaryEducation", "UpperSecondaryEducation", "NoFormalEducation"]
        ),
        "birth_date_estimated": "no",
        "age_years": str(age),
        "age_band": band,
        "prs_MailingCountry": "LA",
        "prs_MailingState": province,
        "prs_MailingCity": district,
        "prs_MailingStreet": f"ບ້ານ {rnd.randint(1, 200)}",
        "vic_AgeWhenTrafficked": str(max(age - 1, 8)),
        "vic_MethodOfRecruitment": " ".join(rnd.sample(_RECRUIT, 2)),
        "vic_RecruitmentWebsitesAndApps": " ".join(rnd.sample(_APPS, rnd.randint(1, 2))),
        "vic_RelationshipToTrafficker": rnd.choice(["Acquainted", "Familial", "Unaquainted"]),
        "recruiter_relation_detail": "friend",
        "promised_work": f"Work in a restaurant in {abroad}, {rnd.randint(5, 15)},000 baht a month",
        "vic_TypeOfExploitation": " ".join(types),
        "vic_ForcedLabourIndustry": rnd.choice(_INDUSTRY) if "ForcedLabour" in types else "",
        "vic_TypeOfSexExploitation": "Prostitution" if "SexualExploitation" in types else "",
        "vic_ExploitationWebsitesAndApps": rnd.choice(_APPS),
        "vic_MethodsOfControl": " ".join(rnd.sample(_CONTROL, rnd.randint(1, 4))),
        "exploitation_duration_months": str(months),
        "exploitation_details": "Long hours, wages withheld for a travel debt, not allowed to leave.",
        "traffick_months_band": "months_0_12" if months <= 12 else "months_13_24" if months <= 24 else "months_25_plus",
        "vic_TraffickingStatus": rnd.choice(["ActualVictimOfTrafficking", "PossibleVictimOfTrafficking"]),
        "vic_TraffickingStatusDecisionMakingOrg": rnd.choice(["Police", "NGO"]),
        "cas_Status": rnd.choice(["Active", "Active", "FollowUp", "Closed"]),
        "has_documents": "yes" if photo else "no",
        "document_types": "id_card family_book" if photo else "",
        "document_photo": photo or "",
        "cco_CaseComment": "Referred to the provincial shelter for health and psychosocial care.",
        "instanceID": f"uuid:{uuid.UUID(int=rnd.getrandbits(128))}",
        "instanceName": case_code,
    }
    route = [
        {
            "hte_Type": "Recruitment",
            "hte_Country": "LA",
            "hte_State": province,
            "hte_City": district,
            "hte_Date": str(day - timedelta(days=30 * months + 3)),
            "hte_Description": "Left by bus",
        },
        {
            "hte_Type": "Exploitation",
            "hte_Country": abroad,
            "hte_Date": str(day - timedelta(days=30 * months)),
            "hte_Description": "Taken across the Friendship Bridge",
        },
    ]
    persons = []
    arrived = datetime.combine(day, datetime.min.time(), UTC) + timedelta(hours=3, seconds=rnd.randrange(30000))
    return answers, route, persons, arrived


def instance_xml(fields: list[dict], version: str, answers: dict, repeats: dict[str, list[dict]]) -> bytes:
    """Write an instance of the form as ODK Collect does: every question present, unanswered ones empty."""
    children: dict[str, list[dict]] = {}
    for f in fields:
        children.setdefault(f["path"].rsplit("/", 1)[0], []).append(f)

    def write(path: str, values: dict) -> str:
        out = []
        for f in children.get(path, []):
            name = f["name"]
            if f["kind"] == "repeat":
                out.extend(f"<{name}>{write(f['path'], row)}</{name}>" for row in repeats.get(name, []))
            elif f["kind"] == "group":
                out.append(f"<{name}>{write(f['path'], values)}</{name}>")
            else:
                value = values.get(name, "")
                out.append(f"<{name}>{_escape(value)}</{name}>" if value else f"<{name} />")
        return "".join(out)

    return (
        f'<?xml version="1.0"?><data id="{FORM_ID}" version="{version}" xmlns:jr="http://openrosa.org/javarosa" '
        f'xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms">'
        f"{write('/data', answers)}</data>"
    ).encode()


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _next_ids(conn) -> dict:
    tables = (Submission, SubmissionVersion, SubmissionRow, SubmissionAttachment, Blob, Case)
    return {t: (conn.scalar(select(func.max(t.__table__.c.id))) or 0) + 1 for t in tables}


def seed(
    engine,
    *,
    form_id: int,
    form_version_id: int,
    version: str,
    fields: list[dict],
    project_id: int,
    device_id: int | None,
    first: int,
    count: int,
    photos: int = 0,
    store=None,
    chunk: int = 2000,
    on_chunk: Callable[[int], None] | None = None,
) -> None:
    """Insert `count` records (numbered from `first`) of case_intake into `project_id`; the first `photos`
    of them carry a 50 KB photo, written to the media `store`."""
    with engine.connect() as conn:
        ids = _next_ids(conn)
    done = 0
    while done < count:
        batch = {t: [] for t in ids}
        for n in range(first + done, first + min(done + chunk, count)):
            photo = f"{n}.jpg" if n - first < photos else None
            answers, route, persons, arrived = answers_of(n, photo)
            xml = instance_xml(fields, version, answers, {"route": route, "persons_involved": persons})
            rows = normalise(parse(xml), fields)
            sid, vid = ids[Submission], ids[SubmissionVersion]
            ids[Submission] += 1
            ids[SubmissionVersion] += 1
            code = case_code_of(rows, fields)
            province = record_province(rows, fields, None)
            batch[Submission].append(
                {
                    "id": sid,
                    "form_id": form_id,
                    "instance_id": answers["instanceID"],
                    "device_id": device_id,
                    "province_code": province,
                    "consent_withheld": consent_withheld(rows, fields),
                    "case_code": code,
                    "draft": False,
                    "created_at": arrived,
                }
            )
            batch[SubmissionVersion].append(
                {
                    "id": vid,
                    "submission_id": sid,
                    "form_id": form_id,
                    "instance_id": answers["instanceID"],
                    "form_version_id": form_version_id,
                    "version_string": version,
                    "unknown_version": False,
                    "current": True,
                    "xml": xml,
                    "xml_sha256": sha256(xml).hexdigest(),
                    "device_id": device_id,
                    "encrypted": False,
                    "device_ident": answers["deviceid"],
                    "created_at": arrived,
                }
            )
            row_ids = {}
            for row in rows:
                row_ids[id(row)] = ids[SubmissionRow]
                batch[SubmissionRow].append(
                    {
                        "id": ids[SubmissionRow],
                        "submission_version_id": vid,
                        "path": row.path,
                        "position": row.position,
                        "parent_id": row_ids[id(row.parent)] if row.parent is not None else None,
                        "data": row.data,
                    }
                )
                ids[SubmissionRow] += 1
            if photo:
                body = os.urandom(50 * 1024)
                stored = store.put_stream(io.BytesIO(body))
                batch[Blob].append(
                    {
                        "id": ids[Blob],
                        "sha256": stored.sha256,
                        "md5": stored.md5,
                        "size": stored.size,
                        "content_type": "image/jpeg",
                        "created_at": arrived,
                    }
                )
                batch[SubmissionAttachment].append(
                    {
                        "id": ids[SubmissionAttachment],
                        "submission_version_id": vid,
                        "name": photo,
                        "blob_id": ids[Blob],
                        "received_at": arrived,
                    }
                )
                ids[Blob] += 1
                ids[SubmissionAttachment] += 1
            if code:
                # The record's province is the case's (what place_record gives a ministry tablet's record).
                case = _summary([(FORM_ID, fields, rows[0].data, arrived, province)])
                batch[Case].append(
                    {"id": ids[Case], "project_id": project_id, "case_code": code, **case, "updated_at": utcnow()}
                )
                ids[Case] += 1
        with engine.begin() as conn:
            for table in (Submission, SubmissionVersion, Blob, SubmissionAttachment, SubmissionRow, Case):
                if batch[table]:
                    conn.execute(insert(table.__table__), batch[table])
        done += len(batch[Submission])
        if on_chunk is not None:
            on_chunk(len(batch[Submission]))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            for table in ids:
                name = table.__tablename__
                conn.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                        f"(SELECT coalesce(max(id), 1) FROM {name}))"
                    )
                )
            conn.execute(text("ANALYZE"))
