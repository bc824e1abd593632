"""The case register in the variables of CTDC's global data set, k-anonymised before it leaves the server.

The Counter Trafficking Data Collaborative combines case data from many agencies under one codebook
(`shared/reference/ctdc_variables.md`): one row per case, demographic attributes and 1-or-empty flags. Most
variables come from the case register's columns (ingest.cases.register); the rest (means of control, sectors, types
of sexual exploitation, recruiter relation, duration) are read from the case's records by their XLSForm
tags at export time, never by field name. A variable whose tag no published form carries stays empty.

Privacy: a published row must not single out a person. Over the quasi-identifiers (what someone who knows
the person could know: gender, age, citizenship, country, year, duration, type and sector of exploitation)
every combination published is shared by at least k real cases (k = STATS_THRESHOLD, CTDC's 11). Rarer rows
are generalised CTDC's way, by blanking their rarest attribute one at a time; a row still too rare once
nothing is left to blank is left out. The three type-of-exploitation flags are never blanked: an empty flag
counts the case as another type, which would publish a falsehood. Cases whose consent to share was refused
are never exported, whoever asks.
"""

from __future__ import annotations

import csv
import functools
import io
import logging
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import TextIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from forms import BUNDLED_MEDIA_DIR
from ingest import scope
from ingest.access import SYSTEM
from ingest.cases.register import INTAKE
from ingest.csv_safe import BOM, Writer, neutralise
from ingest.models import Case, Form, FormVersion, Submission, SubmissionRow, SubmissionVersion
from ingest.normalise import Row
from ingest.stats.counts import DEFAULT_THRESHOLD
from ingest.tags import root_answer, tagged

logger = logging.getLogger(__name__)

MEANS = (
    "meansDebtBondageEarnings",
    "meansThreats",
    "meansAbusePsyPhySex",
    "meansFalsePromises",
    "meansDrugsAlcohol",
    "meansDenyBasicNeeds",
    "meansExcessiveWorkHours",
    "meansWithholdDocs",
)
IS_TYPE = ("isForcedLabour", "isSexualExploit", "isOtherExploit")
LABOUR = ("typeOfLabourAgriculture", "typeOfLabourConstruction", "typeOfLabourDomesticWork", "typeOfLabourHospitality")
SEX = ("typeOfSexProstitution", "typeOfSexPornography")
RECRUITER = (
    "recruiterRelationIntimatePartner",
    "recruiterRelationFriend",
    "recruiterRelationFamily",
    "recruiterRelationOther",
)
#: The CSV header: CTDC's codebook order.
VARIABLES = (
    "yearOfRegistration",
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "traffickMonths",
    *MEANS,
    *IS_TYPE,
    *LABOUR,
    *SEX,
    *RECRUITER,
)
#: The quasi-identifiers that may be blanked: what a neighbour, an employer or a recruiter could know of a
#: person (how long they were away, the sector they worked in included).
GENERALISABLE = (
    "gender",
    "ageBroad",
    "citizenship",
    "CountryOfExploitation",
    "yearOfRegistration",
    "traffickMonths",
    *LABOUR,
    *SEX,
)
#: Attributes that together must be shared by at least k published cases. The type-of-exploitation flags are
#: among them but never blanked: they are what the data set is for, and a blank would count the case as
#: another type.
QUASI_IDENTIFIERS = (*GENERALISABLE, *IS_TYPE)

#: prs_Gender (HTCDS) -> CTDC gender; NonSpecifiedUnknown and anything else -> empty.
GENDER = {
    "Feminine": "Woman",
    "Masculine": "Man",
    "TransgenderFeminine": "Trans/Transgender/NonConforming",
    "TransgenderMasculine": "Trans/Transgender/NonConforming",
    "NonConforming": "Trans/Transgender/NonConforming",
}
#: CTDC ageBroad bands, as (lowest age, highest age or None, label).
AGE_BANDS = (
    (0, 8, "0--8"),
    (9, 17, "9--17"),
    (18, 20, "18--20"),
    (21, 23, "21--23"),
    (24, 26, "24--26"),
    (27, 29, "27--29"),
    (30, 38, "30--38"),
    (39, 47, "39--47"),
    (48, None, "48+"),
)
#: The forms' duration bands (traffick_months_band) -> CTDC traffickMonths.
TRAFFICK_MONTHS = {
    "months_0_12": "0--12 (0-1 yr)",
    "months_13_24": "13--24 (1-2 yrs)",
    "months_25_plus": "25+ (2+ yrs)",
}
#: vic_TypeOfExploitation (HTCDS) -> CTDC flag. Child labour and forced begging are forced labour;
#: servitude is among CTDC's "slavery and similar practices", which its 2024 codebook counts as other.
EXPLOITATION = {
    "ForcedLabour": "isForcedLabour",
    "ChildLabour": "isForcedLabour",
    "ForcedBegging": "isForcedLabour",
    "SexualExploitation": "isSexualExploit",
    "ForcedMarriage": "isOtherExploit",
    "Servitude": "isOtherExploit",
    "ForcedMilitaryByNonStateActors": "isOtherExploit",
    "OrganRemoval": "isOtherExploit",
    "ForcedAdoption": "isOtherExploit",
    "Surrogacy": "isOtherExploit",
    "Other": "isOtherExploit",
}
#: vic_MethodsOfControl (HTCDS) -> CTDC means flag; RestrictsMovement, UsesChildren and Other have none.
#: The screening's Palermo indicators that say the same thing map too, should a form tag them.
METHODS = {
    "DebtBondage": "meansDebtBondageEarnings",
    "TakesEarnings": "meansDebtBondageEarnings",
    "RestrictsFinancialAccess": "meansDebtBondageEarnings",
    "PhysicalThreats": "meansThreats",
    "ThreatsLawEnforcement": "meansThreats",
    "ThreatensChildrenFamily": "meansThreats",
    "PhysicalAbuse": "meansAbusePsyPhySex",
    "SexualAbuse": "meansAbusePsyPhySex",
    "PsychologicalAbuse": "meansAbusePsyPhySex",
    "FalsePromises": "meansFalsePromises",
    "PsychoactiveSubstance": "meansDrugsAlcohol",
    "WithholdsNecessities": "meansDenyBasicNeeds",
    "RestrictsMedicalCare": "meansDenyBasicNeeds",
    "ExcessiveWorkingHours": "meansExcessiveWorkHours",
    "WithholdsDocuments": "meansWithholdDocs",
    "debt": "meansDebtBondageEarnings",
    "fraud_deception": "meansFalsePromises",
    "documents_withheld": "meansWithholdDocs",
}
#: vic_ForcedLabourIndustry (ISIC section, kept with its letter) -> CTDC sector flag; other sections have none.
INDUSTRIES = {
    "A": "typeOfLabourAgriculture",
    "F": "typeOfLabourConstruction",
    "T": "typeOfLabourDomesticWork",
    "I": "typeOfLabourHospitality",
}
#: vic_TypeOfSexExploitation (HTCDS) -> CTDC flag; remote and private sexual services have none.
SEX_TYPES = {"Prostitution": "typeOfSexProstitution", "Pornography": "typeOfSexPornography"}
#: vic_RelationshipToTrafficker (HTCDS), refined by the ministry's detail for acquaintances -> CTDC flag.
RELATIONS = {
    "Familial": "recruiterRelationFamily",
    "Acquainted": "recruiterRelationOther",
    "Unaquainted": "recruiterRelationOther",
}
RELATION_DETAILS = {"intimate_partner": "recruiterRelationIntimatePartner", "friend": "recruiterRelationFriend"}

#: Tags of the answers read from the records (not register columns). None of the bundled forms carries them
#: yet; the variables they feed stay empty until a form does.
RECORD_TAGS = (
    "methods_of_control",
    "forced_labour_industry",
    "sex_exploitation_type",
    "recruiter_relation",
    "recruiter_relation_detail",
    "traffick_months_band",
    "age_years",
)


@functools.cache
def alpha3_codes() -> dict[str, str]:
    """Return ISO 3166 alpha-2 -> alpha-3 for every country the forms offer (the bundled countries.csv)."""
    with (BUNDLED_MEDIA_DIR / "countries.csv").open(encoding="utf-8") as handle:
        return {row["name"]: row["alpha3"] for row in csv.DictReader(handle) if row.get("alpha3")}


def alpha3(code: str | None) -> str:
    """Return a country's alpha-3 code, or empty for none, unknown (`ZZ`), an other country never named (`XX`)
    or a code that is no country."""
    return alpha3_codes().get((code or "").strip().upper(), "")


def age_broad(band: str | None, years=None) -> str:
    """Return the CTDC ageBroad band of a form's age band (`age_18_20`, `18-20`, `age_48_plus`), else of an age."""
    numbers = re.findall(r"\d+", band or "")
    for low, high, label in AGE_BANDS:
        if numbers == ([str(low), str(high)] if high is not None else [str(low)]):
            return label
    try:
        age = int(float(str(years).strip())) if years not in (None, "") else None
    except (ValueError, OverflowError):
        age = None
    if age is None or not 0 <= age <= 130:
        return ""
    return next(label for low, high, label in AGE_BANDS if high is None or age <= high)


def _words(value) -> list[str]:
    if value is None:
        return []
    return [w for w in (value if isinstance(value, list) else str(value).split()) if w]


def ctdc_row(case: dict, answers: dict | None = None) -> dict[str, str]:
    """Map one case to CTDC's variables (every value a string, flags "1" or empty).

    `case` holds the register's columns (ingest.models.Case) and `first_date` (the first screening, else the
    intake); `answers` the case's answers to RECORD_TAGS, by tag.
    """
    answers = answers or {}
    row = dict.fromkeys(VARIABLES, "")
    first = case.get("first_date")
    row["yearOfRegistration"] = str(first)[:4] if first else ""
    row["gender"] = GENDER.get(str(case.get("gender") or "").strip(), "")
    row["ageBroad"] = age_broad(case.get("age_band"), answers.get("age_years"))
    # CTDC has one citizenship: the first listed that is a country (the forms list Laos first).
    row["citizenship"] = next((c for c in map(alpha3, _words(case.get("citizenship"))) if c), "")
    row["CountryOfExploitation"] = alpha3(case.get("country_of_exploitation"))
    row["traffickMonths"] = TRAFFICK_MONTHS.get(str(answers.get("traffick_months_band") or "").strip(), "")
    flags = [EXPLOITATION.get(v) for v in _words(case.get("exploitation_types"))]
    flags += [METHODS.get(v) for v in _words(answers.get("methods_of_control"))]
    flags += [INDUSTRIES.get(v.split("_", 1)[0]) for v in _words(answers.get("forced_labour_industry"))]
    flags += [SEX_TYPES.get(v) for v in _words(answers.get("sex_exploitation_type"))]
    relation = str(answers.get("recruiter_relation") or "").strip()
    detail = str(answers.get("recruiter_relation_detail") or "").strip()
    if relation == "Acquainted" and detail in RELATION_DETAILS:
        flags.append(RELATION_DETAILS[detail])
    else:
        flags.append(RELATIONS.get(relation))
    for flag in flags:
        if flag:
            row[flag] = "1"
    return row


@dataclass
class Anonymised:
    """Rows ready to publish, and what it took: cells blanked in published rows, rows left out."""

    rows: list[dict[str, str]]
    blanked: int
    dropped: int
    threshold: int


def _key(row: dict, quasi: tuple[str, ...]) -> tuple:
    return tuple(row[q] for q in quasi)


def anonymise(
    rows: Iterable[dict[str, str]],
    k: int = DEFAULT_THRESHOLD,
    quasi: tuple[str, ...] = QUASI_IDENTIFIERS,
    generalisable: tuple[str, ...] = GENERALISABLE,
) -> Anonymised:
    """Generalise rows until every combination of quasi-identifiers left is shared by at least k of them.

    Each round, every row whose combination is rarer than k blanks its rarest generalisable attribute (the
    value fewest rows hold; ties by column order). Rows only ever leave rare combinations, so a combination
    with k rows keeps them, and the rounds end. Rows still rare once nothing is left to blank are dropped.
    The rows are returned sorted, so their order says nothing of when a case was registered.
    """
    order = [quasi.index(g) for g in generalisable]  # positions in a combination that may be blanked
    original = [dict(r) for r in rows]
    keys = [_key(r, quasi) for r in original]
    # Rows of one combination fare alike, so the rounds work on combinations and their counts.
    sizes = Counter(keys)
    final = {key: key for key in sizes}  # each original combination -> where its rows are now
    while True:
        rare = [key for key, n in sizes.items() if n < k and any(key[i] for i in order)]
        if not rare:
            break
        frequency: dict[int, Counter] = {i: Counter() for i in order}
        for key, n in sizes.items():
            for i in order:
                frequency[i][key[i]] += n
        moves = {}
        for key in rare:
            rarest = min((i for i in order if key[i]), key=lambda i: (frequency[i][key[i]], order.index(i)))
            moves[key] = key[:rarest] + ("",) + key[rarest + 1 :]
        merged: Counter = Counter()
        for key, n in sizes.items():
            merged[moves.get(key, key)] += n
        sizes = merged
        final = {start: moves.get(now, now) for start, now in final.items()}
    published, blanked = [], 0
    for row, key in zip(original, keys):
        now = final[key]
        if sizes[now] >= k:
            published.append({**row, **dict(zip(quasi, now))})
            blanked += sum(1 for before, after in zip(key, now) if before != after)
    names = sorted(set().union(*published)) if published else []
    published.sort(key=lambda r: tuple(r.get(v, "") for v in names))
    return Anonymised(rows=published, blanked=blanked, dropped=len(original) - len(published), threshold=k)


def _record_answers(session: Session, project_id: int, case_codes: set[str]) -> dict[str, dict]:
    """Return each case's answers to RECORD_TAGS, by case code, folded as the register folds its columns.

    Reads the current version's root row of each live record whose form version carries one of the tags; the
    intake's answer counts over others', otherwise the latest. Records whose consent to share was refused are
    not read. Only tagged, non-identifying answers leave this function.
    """
    with scope.acting_as(session, SYSTEM):
        # The caller's scope already chose the cases; their records are read for the server, because a
        # statistician (who may export) reads no records, and only flags derived from them leave.
        versions = session.execute(
            select(FormVersion.id, FormVersion.fields).join(Form).where(Form.project_id == project_id)
        ).all()
        fields_of = {vid: fields for vid, fields in versions if any(tagged(fields or [], tag) for tag in RECORD_TAGS)}
        if not fields_of or not case_codes:
            return {}
        query = (
            select(
                Submission.case_code,
                Form.xml_form_id,
                SubmissionVersion.form_version_id,
                SubmissionRow.data,
                Submission.created_at,
            )
            .join(Form, Form.id == Submission.form_id)
            .join(
                SubmissionVersion,
                (SubmissionVersion.submission_id == Submission.id) & SubmissionVersion.current.is_(True),
            )
            .join(
                SubmissionRow,
                (SubmissionRow.submission_version_id == SubmissionVersion.id) & SubmissionRow.parent_id.is_(None),
            )
            .where(
                Form.project_id == project_id,
                Submission.case_code.is_not(None),
                Submission.deleted_at.is_(None),
                Submission.draft.is_(False),
                Submission.consent_withheld.is_(False),
                Submission.foreign_case.is_(False),
                SubmissionVersion.form_version_id.in_(sorted(fields_of)),
            )
            .order_by(Submission.case_code, Submission.id)
            .execution_options(yield_per=500)
        )
        found: dict[str, list] = {}
        for code, form_id, version_id, data, created_at in session.execute(query):
            if code not in case_codes:
                continue
            fields = fields_of[version_id]
            rows = [Row(path="", position=1, parent=None, data=data or {})]
            event = _day(root_answer(rows, fields, "event_date")) or created_at.date()
            values = {tag: root_answer(rows, fields, tag) for tag in RECORD_TAGS}
            found.setdefault(code, []).append((form_id == INTAKE, event, values))
    answers: dict[str, dict] = {}
    for code, records in found.items():
        folded: dict = {}
        for _intake, _event, values in sorted(records, key=lambda r: (r[0], r[1])):
            folded.update({tag: v for tag, v in values.items() if v not in (None, "", [])})
        answers[code] = folded
    return answers


def _day(value) -> date | None:
    try:
        return date.fromisoformat(str(value)[:10]) if value else None
    except ValueError:
        return None


def case_rows(session: Session, project_id: int) -> list[dict[str, str]]:
    """Return the CTDC rows of the project's cases that the session's caller may see (ingest.scope), before
    anonymisation; cases whose consent to share was refused are left out for every caller."""
    columns = ("case_code", "gender", "age_band", "citizenship", "exploitation_types", "country_of_exploitation")
    query = (
        select(
            *(getattr(Case, c) for c in columns),
            func.coalesce(Case.first_screening_date, Case.intake_date).label("first_date"),
        )
        .where(Case.project_id == project_id, Case.consent_sharing.is_not(False))
        .order_by(Case.id)
    )
    cases = [dict(row) for row in session.execute(query).mappings()]
    answers = _record_answers(session, project_id, {c["case_code"] for c in cases})
    return [ctdc_row(case, answers.get(case["case_code"])) for case in cases]


def export(session: Session, project_id: int, k: int = DEFAULT_THRESHOLD) -> Anonymised:
    """Return the project's cases the caller may see as CTDC rows, k-anonymised (nothing is audited here)."""
    result = anonymise(case_rows(session, project_id), k)
    logger.info(
        "CTDC export of project %s: %d row(s), %d cell(s) blanked, %d row(s) left out, k=%d",
        project_id,
        len(result.rows),
        result.blanked,
        result.dropped,
        k,
    )
    return result


def write_csv(rows: Iterable[dict[str, str]], out: TextIO) -> None:
    """Write CTDC rows as CSV with the codebook's header (`out` opened with newline="").

    Every value comes from a closed list (codes, bands, flags), never free text; each is neutralised all the
    same (`ingest.csv_safe`), so that a value which could start a spreadsheet formula never leaves as one.
    """
    writer = Writer(out)
    writer.writerow(VARIABLES)
    for row in rows:
        writer.writerow([neutralise(str(row.get(v) or "")) for v in VARIABLES])


def csv_bytes(rows: Iterable[dict[str, str]], *, bom: bool = False) -> bytes:
    """Return CTDC rows as the bytes of a UTF-8 CSV (`write_csv`), with the byte order mark first if `bom`."""
    out = io.StringIO(newline="")
    write_csv(rows, out)
    return (BOM if bom else b"") + out.getvalue().encode()
