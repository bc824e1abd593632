"""The audit's actions are declared once (ingest.audit.ACTIONS), documented on one page, and written by name."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from ingest import audit, scope
from ingest.access import Caller
from ingest.accounts.users import create_user
from ingest.models import AuditEvent

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "operators" / "audit.md"


def documented() -> dict[str, str]:
    """Return the page's table of actions: {action: meaning}."""
    return dict(re.findall(r"^\| `([a-z_]+(?:\.[a-z_]+)+)` \| (.+?) \|$", PAGE.read_text(encoding="utf-8"), re.M))


def test_the_page_lists_every_action_with_its_meaning():
    assert documented() == audit.ACTIONS


def _audit_calls(tree: ast.AST):
    """Yield (line, action node) of every call of ingest.audit.record, however imported."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = getattr(func.value, "id", "") if isinstance(func, ast.Attribute) else ""
        if name == "record" and owner in ("audit", "audit_log") and len(node.args) >= 2:
            yield node.lineno, node.args[1]


def test_every_action_the_code_writes_is_declared():
    seen, unknown = set(), []
    for path in sorted([*ROOT.glob("ingest/**/*.py"), *ROOT.glob("collector/**/*.py")]):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for line, action in _audit_calls(tree):
            where = f"{path.relative_to(ROOT)}:{line}"
            if isinstance(action, ast.JoinedStr):
                unknown.append(f"{where}: an action built at run time (name it in ingest.audit.ACTIONS)")
            elif isinstance(action, ast.Constant):
                seen.add(action.value)
                if action.value not in audit.ACTIONS:
                    unknown.append(f"{where}: {action.value}")
        # Actions chosen from a table (persons' decisions) are string constants of the module: declared too.
        for node in ast.walk(tree):
            if isinstance(node, ast.Dict) and any(
                isinstance(v, ast.Constant) and isinstance(v.value, str) and v.value in audit.ACTIONS
                for v in node.values
            ):
                for v in node.values:
                    if isinstance(v, ast.Constant) and v.value not in audit.ACTIONS:
                        unknown.append(f"{path.relative_to(ROOT)}:{v.lineno}: {v.value}")
    assert unknown == []
    assert len(seen) > 30  # the scan found the calls


def test_no_route_writes_the_audit_through_a_helper_of_its_own():
    # One way in: ingest.audit.record, called by the services (and the few routes that act before a caller).
    offenders = [
        str(p.relative_to(ROOT))
        for p in ROOT.glob("collector/**/*.py")
        if "audit_request" in p.read_text(encoding="utf-8")
    ]
    assert offenders == []


def test_an_undeclared_action_is_refused(app, db_session):
    with pytest.raises(ValueError, match="unknown audit action"):
        audit.record(db_session, "submission.peek", "submission:1")


def test_the_event_names_the_sessions_caller_and_address(app, db_session):
    admin = create_user(db_session, "admin@example.la", "a long enough password", "admin").id
    db_session.commit()
    audit.use_address(db_session, "192.0.2.7")
    scope.use(db_session, Caller(role="admin", user_id=admin))
    audit.record(db_session, "stats.read", "project:1", by=["province"])
    scope.use(db_session, Caller(role="device", device_id=None))
    audit.record(db_session, "task.media", "project:1", address="cli", user_id=admin)
    db_session.commit()
    first, second = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert (first.user_id, first.device_id, first.address, first.details) == (
        admin,
        None,
        "192.0.2.7",
        {"by": ["province"]},
    )
    assert (second.user_id, second.address) == (admin, "cli")  # given explicitly: kept
