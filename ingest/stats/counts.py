"""Counts of cases from the case register, with small cells suppressed so that no person is singled out.

A table counts cases by one or more dimensions, with a total along each dimension and a grand total.
Primary suppression hides every count from 1 to THRESHOLD - 1 (CTDC publishes nothing below 11). Secondary
suppression then hides more cells until no hidden cell can be recomputed from what is shown: along every
line of the table whose total is the sum of its cells, either no cell is hidden or at least two are. A
dimension where one case may count in several values (types of exploitation, citizenship) usually has no such
sum, so its lines need no secondary suppression; but a line of it where no case counts twice does add up to
its total (every case of one type), and is suppressed like any other.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import String, cast, func, select

from ingest.models import Case
from ingest.person_models import PersonMember

#: Smallest count shown (CTDC's rule).
DEFAULT_THRESHOLD = 11
#: The label of a dimension's total.
TOTAL = "Total"


@dataclass(frozen=True)
class Dimension:
    """A way to count cases: the register column it reads, and whether a case may count in several values."""

    name: str
    column: str
    multiple: bool = False
    #: characters of the column kept (year and month of a date).
    part: str | None = None


DIMENSIONS = {
    d.name: d
    for d in (
        Dimension("province", "province_code"),
        Dimension("district", "district_code"),
        Dimension("year", "first_date", part="year"),
        Dimension("month", "first_date", part="month"),
        Dimension("gender", "gender"),
        Dimension("age_band", "age_band"),
        Dimension("citizenship", "citizenship", multiple=True),
        Dimension("exploitation_type", "exploitation_types", multiple=True),
        Dimension("country_of_exploitation", "country_of_exploitation"),
        Dimension("trafficking_status", "trafficking_status"),
    )
}


@dataclass
class Table:
    """A suppressed table: counts by cell key (one value per dimension, TOTAL for a total), and what is hidden."""

    by: list[str]
    counts: dict[tuple, int]
    #: hidden cells with their reason: "primary" (below the threshold) or "secondary" (protects another).
    hidden: dict[tuple, str] = field(default_factory=dict)
    #: the same cells counting persons (the cases of one person, by confirmed links, count once), suppressed
    #: on their own; None where persons were not counted.
    persons: Table | None = None
    #: persons screened again after a follow-up (re-trafficked), None when hidden (1 to threshold - 1).
    retrafficked: int | None = None

    def shown(self, key: tuple) -> int | None:
        """Return a cell's count, or None when it is hidden."""
        return None if key in self.hidden else self.counts.get(key, 0)


def values_of(dimension: Dimension, row: dict) -> list[str]:
    """Return the values a case takes in a dimension ("Unknown" when the register has none)."""
    value = row.get(dimension.column)
    if value is None or value == "":
        return ["Unknown"]
    if dimension.part == "year":
        return [str(value)[:4]]
    if dimension.part == "month":
        return [str(value)[:7]]
    return sorted(set(str(value).split())) if dimension.multiple else [str(value)]


def count(rows: list[dict], by: list[str], unit: str | None = None) -> Table:
    """Count cases (register rows as dicts; a row with `n` stands for n cases alike) by the named
    dimensions, with every total; with `unit`, count the distinct values of that key instead (persons: the
    rows' person keys).

    :raise KeyError: an unknown dimension (callers check names first).
    """
    dims = [DIMENSIONS[name] for name in by]
    counts: dict[tuple, int] = {}
    seen: dict[tuple, set] = {}
    for row in rows:
        per_dimension = [values_of(d, row) + [TOTAL] for d in dims]
        n = row.get("n", 1)
        for key in set(itertools.product(*per_dimension)):
            if unit is None:
                counts[key] = counts.get(key, 0) + n
            else:
                seen.setdefault(key, set()).add(row[unit])
    if unit is not None:
        counts = {key: len(units) for key, units in seen.items()}
    return Table(by=list(by), counts=counts)


def retrafficked(rows: list[dict]) -> int:
    """Count the persons screened again after a follow-up: one of their cases (rows with a `person` key) was
    first screened after the (last) follow-up of another of their cases."""
    first_followup: dict[object, date] = {}
    last_screening: dict[object, date] = {}
    for row in rows:
        person = row["person"]
        followup, screening = row.get("last_followup_date"), row.get("first_screening_date")
        if followup is not None and (person not in first_followup or followup < first_followup[person]):
            first_followup[person] = followup
        if screening is not None and (person not in last_screening or screening > last_screening[person]):
            last_screening[person] = screening
    return sum(1 for person, day in first_followup.items() if person in last_screening and last_screening[person] > day)


def suppress(table: Table, threshold: int = DEFAULT_THRESHOLD) -> Table:
    """Hide small cells (primary) and then enough others (secondary) that none can be recomputed; in place."""
    for key, n in table.counts.items():
        if 0 < n < threshold:
            table.hidden[key] = "primary"
    dims = [DIMENSIONS[name] for name in table.by]
    axes = [sorted({key[i] for key in table.counts}) for i in range(len(dims))]
    changed = True
    while changed:
        changed = False
        for i, dimension in enumerate(dims):
            for others in itertools.product(*(axes[:i] + axes[i + 1 :])):
                line = [others[:i] + (value,) + others[i:] for value in axes[i]]
                if dimension.multiple and not _adds_up(table, line, i):
                    continue  # a case counts in several values: the total does not give a hidden cell away
                if sum(1 for key in line if key in table.hidden) != 1:
                    continue
                candidates = [key for key in line if key not in table.hidden and table.counts.get(key, 0) > 0]
                # The smallest count shown in the line; it exists, for the line's total exceeds the hidden cell.
                chosen = min(candidates, key=lambda key: (table.counts[key], TOTAL in key, key))
                table.hidden[chosen] = "secondary"
                changed = True
    return table


def suppress_together(
    tables: list[tuple[Table, Callable[[tuple], object]]], threshold: int = DEFAULT_THRESHOLD
) -> None:
    """Make suppressed tables that share cells agree, in place: a shared cell that one hides, every one hides,
    and each is suppressed again, until none changes.

    Tables counted by different dimensions share their totals (the cases of a year and a province are the
    same in a table by gender and in one by month). Suppressed apart, one may hide such a total to protect a
    cell while another shows it, and gives the cell back. `shared(key)` names what a table's cell shares with
    the others (e.g. `(year, province)`), or None for a cell of its own.
    """
    while True:
        hidden = {shared(key) for table, shared in tables for key in table.hidden} - {None}
        changed = False
        for table, shared in tables:
            for key in table.counts:
                if key not in table.hidden and shared(key) in hidden:
                    table.hidden[key] = "secondary"
                    changed = True
        if not changed:
            return
        for table, _shared in tables:
            suppress(table, threshold)


def _adds_up(table: Table, line: list[tuple], i: int) -> bool:
    """Say whether a line's cells add up to its total (along dimension `i`): then the total and all but one
    cell give that one away."""
    total = sum(table.counts.get(key, 0) for key in line if key[i] == TOTAL)
    return total == sum(table.counts.get(key, 0) for key in line if key[i] != TOTAL)


def as_json(table: Table) -> dict:
    """Describe a suppressed table: every cell with its count (and persons, where counted) or null, which
    are hidden and why, and the re-trafficked persons."""

    def cell(key):
        out = {**dict(zip(table.by, key)), "count": table.shown(key)}
        if table.persons is not None:
            out["persons"] = table.persons.shown(key)
        return out

    out: dict[str, object] = {
        "by": table.by,
        "cells": [cell(key) for key in sorted(table.counts)],
        "hidden": [{**dict(zip(table.by, key)), "reason": reason} for key, reason in sorted(table.hidden.items())],
    }
    if table.persons is not None:
        out["personsHidden"] = [
            {**dict(zip(table.by, key)), "reason": reason} for key, reason in sorted(table.persons.hidden.items())
        ]
        out["retrafficked"] = table.retrafficked
    return out


class UnknownDimension(ValueError):
    """A dimension or filter name that the register does not have."""


def check_dimensions(names: list[str]) -> None:
    """:raise UnknownDimension: a name that is not one of DIMENSIONS (named in the message)."""
    for name in names:
        if name not in DIMENSIONS:
            raise UnknownDimension(f"There is no dimension {name!r}; use {', '.join(DIMENSIONS)}.")


def case_table(
    session,
    project_id: int,
    by: list[str],
    filters: dict[str, list[str]] | None = None,
    threshold: int = DEFAULT_THRESHOLD,
) -> Table:
    """Count the project's cases that the session's caller may see (ingest.scope) by `by`, suppressed.

    `filters` keeps only cases taking one of the given values in a dimension (e.g. {"province": ["05"]}).

    The database does the counting: cases that are persons of their own (no confirmed link) arrive grouped
    by the values the table needs, with how many share them, so Python sees a few hundred rows rather than
    every case. Only the cases of linked persons (ingest.persons.decisions) are read one by one: they count once per
    person, and only they can be re-trafficked (screened again after a follow-up of another of their cases).

    :raise UnknownDimension: an unknown dimension in `by` or `filters`.
    """
    filters = filters or {}
    check_dimensions(list(by) + list(filters))
    first_date = func.coalesce(Case.first_screening_date, Case.intake_date)
    needed = {DIMENSIONS[name] for name in [*by, *filters]}
    # Rows keyed by register column, as `values_of` reads them; the first date cut to the part needed.
    columns = [getattr(Case, column).label(column) for column in sorted({d.column for d in needed if not d.part})]
    parts = {d.part for d in needed if d.part}
    if parts:
        columns.append(func.substr(cast(first_date, String), 1, 7 if "month" in parts else 4).label("first_date"))
    linked = (PersonMember.project_id == Case.project_id) & (PersonMember.case_code == Case.case_code)
    alone = (
        select(*columns, func.count().label("n"))
        .outerjoin(PersonMember, linked)
        .where(Case.project_id == project_id, PersonMember.case_code.is_(None))
        .group_by(*columns)
    )
    together = (
        select(*columns, Case.first_screening_date, Case.last_followup_date, PersonMember.person_key.label("person"))
        .join(PersonMember, linked)
        .where(Case.project_id == project_id)
    )

    def wanted(row: dict) -> bool:
        return all(set(values_of(DIMENSIONS[name], row)) & set(values) for name, values in filters.items())

    singles = [row for row in map(dict, session.execute(alone).mappings()) if wanted(row)]
    persons = [row for row in map(dict, session.execute(together).mappings()) if wanted(row)]
    table = suppress(count(singles + persons, list(by)), threshold)
    counted = count(singles, list(by)).counts
    for key, n in count(persons, list(by), unit="person").counts.items():
        counted[key] = counted.get(key, 0) + n
    table.persons = suppress(Table(by=list(by), counts=counted), threshold)
    n = retrafficked(persons)
    table.retrafficked = None if 0 < n < threshold else n
    return table
