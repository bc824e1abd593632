"""Every read service refuses a session that names no caller: no caller means refusal, never unredacted data."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest
from sqlalchemy import func, select

import ingest
from ingest import audit, scope
from ingest.access import SYSTEM, Caller
from ingest.models import AuditEvent
from ingest.redaction import hides_identities, redaction_for

#: The read services by name, listed by hand: a service that disappears or is renamed fails here.
LISTED = {
    "ingest.records.service": {
        "find_record",
        "list_records",
        "list_newest",
        "count_records",
        "stream_records",
        "read_record",
        "read_versions",
        "read_xml",
        "read_file",
        "list_files",
        "list_comments",
        "review_record",
        "list_test_records",
        "comment_on",
        "may_filter_on",
        "identities_hidden",
        "search_condition",
    },
    "ingest.exports.service": {"export_records"},
    "ingest.stats.service": {"count_cases", "export_ctdc"},
    "ingest.cases.service": {"list_cases", "list_tasks", "note_task_media"},
    "ingest.persons.service": {"list_candidates", "list_persons", "note_unsure", "show_candidate", "write_pairs"},
    "ingest.odata.service": {"filter_compiler", "read_entities"},
    "ingest.audit": {"read_events"},
}


def discovered() -> dict[str, set[str]]:
    """Return every public function of every `service` module of ingest's feature packages, and the audit's read."""
    found = {"ingest.audit": {"read_events"}}
    for package in pkgutil.iter_modules(ingest.__path__, "ingest."):
        if not package.ispkg:
            continue
        try:
            module = importlib.import_module(f"{package.name}.service")
        except ModuleNotFoundError:
            continue
        found[module.__name__] = {
            name
            for name, member in inspect.getmembers(module, inspect.isfunction)
            if member.__module__ == module.__name__ and not name.startswith("_")
        }
    return found


def services():
    for module_name, names in sorted(discovered().items()):
        module = importlib.import_module(module_name)
        for name in sorted(names):
            yield f"{module_name}.{name}", getattr(module, name)


def call_without_caller(function, session):
    """Call a service with `session` and None for every other argument it requires."""
    args, kwargs = [], {}
    for i, parameter in enumerate(inspect.signature(function).parameters.values()):
        if i == 0 or parameter.default is not inspect.Parameter.empty:
            continue
        if parameter.kind in (parameter.POSITIONAL_ONLY, parameter.POSITIONAL_OR_KEYWORD):
            args.append(None)
        elif parameter.kind is parameter.KEYWORD_ONLY:
            kwargs[parameter.name] = None
    return function(session, *args, **kwargs)


def test_every_service_module_is_listed_and_every_listed_service_exists():
    assert discovered() == LISTED


@pytest.mark.parametrize("guarded", [True, False], ids=["guarded", "unguarded"])
def test_every_read_service_without_a_caller_is_refused(app, db_session, guarded):
    if guarded:
        scope.guard(db_session)
    audit.use_address(db_session, "192.0.2.1")
    refused = []
    for name, function in services():
        with pytest.raises(scope.ScopeMissing):
            call_without_caller(function, db_session)
        refused.append(name)
    db_session.commit()
    assert sorted(refused) == sorted(f"{m}.{n}" for m, names in LISTED.items() for n in names)
    # Refused before anything was read or recorded.
    assert db_session.scalar(select(func.count(AuditEvent.id))) == 0


def test_a_caller_named_then_dropped_is_refused_again(app, db_session):
    from ingest.stats.service import count_cases

    with scope.acting_as(db_session, SYSTEM):
        assert scope.require_caller(db_session) is SYSTEM
    with pytest.raises(scope.ScopeMissing):
        count_cases(db_session, 1, ["province"], {}, 3)


def test_redaction_without_a_caller_fails_closed():
    with pytest.raises(scope.ScopeMissing):
        hides_identities(None)
    with pytest.raises(scope.ScopeMissing):
        redaction_for(None)
    analyst = Caller(role="analyst", rights=frozenset({"records", "stats"}))
    assert hides_identities(analyst) and not hides_identities(analyst, draft=True)
    assert redaction_for(analyst).applies() and not redaction_for(analyst).applies(draft=True)
    assert not redaction_for(SYSTEM).applies()
