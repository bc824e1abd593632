"""The one place that decides which records a query may see: province scope, consent, drafts.

Every ORM query on submissions, their versions, files, rows and comments, the case register and tasks, that runs
in a *guarded* session passes through `_scope_query`: it adds the caller's criteria (`with_loader_criteria`), or
refuses the query when no caller was named. Web requests always use guarded sessions (collector.db), so a view
that forgets to say whom it reads for fails loudly instead of reading everything. Code that works for the server
itself (the write path, replay, retention) says so with `acting_as(session, SYSTEM)`.

A record outside the scope is simply not found, so the API answers 404 exactly as for a record that does not
exist.
"""

from __future__ import annotations

import functools
from contextlib import contextmanager
from typing import cast

from sqlalchemy import ClauseElement, ColumnElement, Table, event, exists, false, or_, select, true
from sqlalchemy.orm import ORMExecuteState, Session, aliased, with_loader_criteria
from sqlalchemy.sql import visitors
from sqlalchemy.sql.util import ClauseAdapter

from ingest.access import Caller
from ingest.entity_models import Entity, EntityVersion
from ingest.models import (
    Case,
    Submission,
    SubmissionAttachment,
    SubmissionComment,
    SubmissionRow,
    SubmissionVersion,
)
from ingest.person_models import CaseIdentity, PersonCandidate, PersonLink, PersonMember
from ingest.task_models import Task

#: session.info keys.
_CALLER, _GUARDED = "scope.caller", "scope.guarded"
_ENTITIES = (
    Submission,
    SubmissionVersion,
    SubmissionAttachment,
    SubmissionRow,
    SubmissionComment,
    Case,
    Task,
    CaseIdentity,
    PersonCandidate,
    PersonLink,
    PersonMember,
    Entity,
    EntityVersion,
)


class ScopeMissing(RuntimeError):
    """A guarded session ran a query on records, or a read service ran, without naming whom it reads for
    (a programming error)."""


def guard(session: Session) -> Session:
    """Mark a session as one whose record queries must name a caller; return it."""
    session.info[_GUARDED] = True
    return session


def use(session: Session, caller: Caller) -> None:
    """Make every later record query of `session` read for `caller`."""
    session.info[_CALLER] = caller


def caller_of(session: Session) -> Caller | None:
    """Return the caller the session reads for (None if none was named)."""
    return session.info.get(_CALLER)


def require_caller(session: Session) -> Caller:
    """Return the caller the session reads for: every read service starts here, guarded session or not.

    :raise ScopeMissing: no caller was named (a read with no caller is refused, never answered unredacted).
    """
    caller = session.info.get(_CALLER)
    if caller is None:
        raise ScopeMissing("a read service ran without a caller: call ingest.scope.use() first")
    return caller


@contextmanager
def acting_as(session: Session, caller: Caller):
    """Run a block with `caller` (SYSTEM for the server's own work), then restore the previous caller."""
    before = session.info.get(_CALLER)
    session.info[_CALLER] = caller
    try:
        yield
    finally:
        if before is None:
            session.info.pop(_CALLER, None)
        else:
            session.info[_CALLER] = before


def sees_everything(caller: Caller) -> bool:
    """Say whether no record is outside the caller's scope (the server, an administrator)."""
    return caller.is_system or (
        caller.provinces is None and all(caller.may(r) for r in ("records", "withheld", "forms"))
    )


def visible(caller: Caller, submissions=None):
    """Return the SQL condition on the submissions table (or an alias of it) for the records `caller` may see,
    draft test data included."""
    t = Submission.__table__ if submissions is None else submissions
    if sees_everything(caller):
        return true()
    real: ColumnElement[bool] = false()
    draft: ColumnElement[bool] = false()
    if caller.may("records"):
        real = t.c.draft.is_(False)
        if not caller.may("withheld"):
            real = real & t.c.consent_withheld.is_(False)
    if caller.may("forms"):
        # Trainers test their drafts: the test data of drafts is theirs to read.
        draft = t.c.draft.is_(True)
    condition: ColumnElement[bool] = or_(real, draft)
    if caller.provinces is not None:
        condition = condition & t.c.province_code.in_(sorted(caller.provinces))
    return condition


#: Aliases the criteria's subqueries read, so those subqueries are not themselves scoped again.
_S = Submission.__table__.alias("scope_s")
_V = SubmissionVersion.__table__.alias("scope_v")


@functools.lru_cache(maxsize=1024)
def cases_visible(caller: Caller):
    """Return the SQL condition on the case register for the cases `caller` may count or read.

    Roles with records or statistics see cases of their provinces; a case whose consent to share was
    refused only by those who see such records.
    """
    if sees_everything(caller):
        return true()
    if not (caller.may("records") or caller.may("stats")):
        return false()
    condition: ColumnElement[bool] = true()
    if not caller.may("withheld"):
        condition = Case.consent_sharing.is_not(False)
    if caller.provinces is not None:
        condition = condition & Case.province_code.in_(sorted(caller.provinces))
    return condition


@functools.lru_cache(maxsize=1024)
def tasks_visible(caller: Caller):
    """Return the SQL condition on hand-off tasks (ingest.cases.tasks) for those `caller` may read.

    A task belongs to the home province that owes the follow-up: its provincial officers and its devices
    (for the tablets' list) see it, national officers with identities see all. A case whose consent to share
    was refused is not handed on: its task is seen only by administrators and the provincial officers of the
    province that identified the person. Analysts and statisticians see none (they have statistics).
    """
    if sees_everything(caller):
        return true()
    is_device = caller.device_id is not None
    if not caller.may("submit") or not (is_device or caller.may("identities")):
        return false()
    if is_device and caller.provinces is None:
        return false()  # a device without a province owes no province's follow-ups
    condition: ColumnElement[bool] = Task.consent_sharing.is_not(False)
    if caller.provinces is not None:
        condition = condition & Task.home_province.in_(sorted(caller.provinces))
    if caller.may("withheld") and caller.provinces is not None:
        condition = condition | (Task.consent_sharing.is_(False) & Task.origin_province.in_(sorted(caller.provinces)))
    return condition


@functools.lru_cache(maxsize=1024)
def entities_visible(caller: Caller):
    """Return the SQL condition on entities (ingest.entity_models) for those `caller` may read.

    An entity belongs to the province of the case it follows. Devices read their province's entities (the
    list a tablet downloads for its follow-up forms), a national device all; users with the records right
    read those of their provinces. An entity whose case refused consent to share stays in its province: seen
    there (by its devices and officers) and by national callers with the withheld right, by no one else.
    """
    if sees_everything(caller):
        return true()
    is_device = caller.device_id is not None
    if not (caller.may("records") or (is_device and caller.may("submit"))):
        return false()
    shared: ColumnElement[bool] = Entity.consent_sharing.is_not(False)
    if caller.provinces is None:
        return true() if caller.may("withheld") else shared
    return Entity.province_code.in_(sorted(caller.provinces))


#: The alias entity-version criteria read, so their subquery is not itself scoped again.
_E = Entity.__table__.alias("scope_e")


def cases_visible_on(caller: Caller, cases, consent: bool = True, counting: bool = False):
    """Return the condition on `cases` (the case register or an alias of it) for the cases whose records
    `caller` may read (person matching: statistics alone give no access, unless `counting`); with `consent`,
    also leave out cases that refused sharing unless the caller sees such cases (see `consent_allows`)."""
    if sees_everything(caller):
        return true()
    if not (caller.may("records") or (counting and caller.may("stats"))):
        return false()
    condition = consent_allows(caller, cases) if consent else true()
    if caller.provinces is not None:
        condition = condition & cases.province_code.in_(sorted(caller.provinces))
    return condition


def consent_allows(caller: Caller, cases):
    """Return the condition on `cases` that leaves out, for callers without the withheld right, the cases
    whose consent to share was refused."""
    if caller.may("withheld"):
        return true()
    return cases.consent_sharing.is_not(False)


#: The alias person criteria read, so their subqueries are not themselves scoped again.
_C = aliased(Case, name="scope_c")


def _person_criteria(caller: Caller) -> tuple:
    """Loader criteria of the person-matching tables: a row whose case (either case of a pair) the caller
    may read; identities only for roles with the identities right. ingest.persons.reads reads as the server
    and applies the same rules side by side; these criteria keep any other read path in scope."""
    c = _C

    def case_in_scope(project, *codes, counting=False):
        return exists(
            select(1)
            .where(c.project_id == project, c.case_code.in_(codes), cases_visible_on(caller, c, counting=counting))
            .correlate_except(c)
        )

    identities = case_in_scope(CaseIdentity.project_id, CaseIdentity.case_code) if caller.may("identities") else false()
    return (
        with_loader_criteria(CaseIdentity, identities, propagate_to_loaders=False),
        with_loader_criteria(
            PersonCandidate,
            case_in_scope(PersonCandidate.project_id, PersonCandidate.case_a, PersonCandidate.case_b),
            propagate_to_loaders=False,
        ),
        with_loader_criteria(
            PersonLink,
            case_in_scope(PersonLink.project_id, PersonLink.case_a, PersonLink.case_b),
            propagate_to_loaders=False,
        ),
        # A person key identifies no one: statistics count persons with it.
        with_loader_criteria(
            PersonMember,
            case_in_scope(PersonMember.project_id, PersonMember.case_code, counting=True),
            propagate_to_loaders=False,
        ),
    )


def _criteria(caller: Caller) -> tuple:
    """Return the loader criteria of each record entity (built once per caller: building them costs more
    than running the query).

    Versions, files and rows are checked by a correlated EXISTS on their submission, which the databases
    answer by primary key row by row.
    """
    s, v = _S, _V

    def via_submission(column):
        return exists(select(1).select_from(s).where(s.c.id == column, visible(caller, s)).correlate_except(s))

    def via_version(column):
        return exists(
            select(1)
            .select_from(v.join(s, s.c.id == v.c.submission_id))
            .where(v.c.id == column, visible(caller, s))
            .correlate_except(v, s)
        )

    def via_entity(column):
        condition = entities_visible(caller)
        # entities_visible names the entities table; read it through the alias here.
        e = _E
        return exists(
            select(1).select_from(e).where(e.c.id == column, ClauseAdapter(e).traverse(condition)).correlate_except(e)
        )

    # Not propagated to relationship loads: the versions or files of a record loaded in scope are in scope.
    return (
        with_loader_criteria(Submission, visible(caller), propagate_to_loaders=False),
        with_loader_criteria(
            SubmissionVersion, via_submission(SubmissionVersion.__table__.c.submission_id), propagate_to_loaders=False
        ),
        with_loader_criteria(
            SubmissionAttachment,
            via_version(SubmissionAttachment.__table__.c.submission_version_id),
            propagate_to_loaders=False,
        ),
        with_loader_criteria(
            SubmissionRow, via_version(SubmissionRow.__table__.c.submission_version_id), propagate_to_loaders=False
        ),
        with_loader_criteria(
            SubmissionComment, via_submission(SubmissionComment.__table__.c.submission_id), propagate_to_loaders=False
        ),
        with_loader_criteria(Case, cases_visible(caller), propagate_to_loaders=False),
        with_loader_criteria(Task, tasks_visible(caller), propagate_to_loaders=False),
        with_loader_criteria(Entity, entities_visible(caller), propagate_to_loaders=False),
        with_loader_criteria(
            EntityVersion, via_entity(EntityVersion.__table__.c.entity_id), propagate_to_loaders=False
        ),
        *_person_criteria(caller),
    )


#: The tables of the scoped entities: a statement that reads one anywhere (a count over a subquery, a bare
#: `select_from`) is scoped, not only one whose result names the entity.
_TABLES = frozenset(entity.__table__ for entity in _ENTITIES)


def _touches_records(state: ORMExecuteState) -> bool:
    if state.is_update or state.is_delete:
        mapper = state.bind_mapper
        return mapper is not None and mapper.class_ in _ENTITIES
    if any(m.class_ in _ENTITIES for m in state.all_mappers):
        return True
    # ORM statements carry annotated copies of the tables: compare the tables they were made from.
    statement = cast(ClauseElement, state.statement)
    return any(
        isinstance(element, Table) and element._deannotate() in _TABLES for element in visitors.iterate(statement)
    )


@event.listens_for(Session, "do_orm_execute")
def _scope_query(state: ORMExecuteState) -> None:
    if state.is_column_load or state.is_relationship_load:
        return  # loads of an object already in scope; its relationships carry the criteria along
    if not (state.is_select or state.is_update or state.is_delete):
        return
    caller = state.session.info.get(_CALLER)
    if caller is not None and sees_everything(caller):
        return  # nothing to add (the write path's case): the statement need not even be searched
    if not _touches_records(state):
        return
    if caller is None:
        if state.session.info.get(_GUARDED):
            raise ScopeMissing("a query on records ran without a caller: call ingest.scope.use() first")
        return  # an unguarded session without a caller reads as the server
    state.statement = state.statement.options(*_criteria(caller))
