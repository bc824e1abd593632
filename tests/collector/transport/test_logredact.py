"""collector.transport.logredact: what of a request a log may keep (live scan: tests/system/test_log_canaries.py)."""

from __future__ import annotations

import re
from pathlib import Path

from collector.transport.logredact import KNOWN_PARAMETERS, agent, query_names, target, text

ROOT = Path(__file__).resolve().parents[3]


def test_a_query_string_keeps_known_parameter_names_only():
    query = "$filter=contains(grp_identity/prs_SecondName,'Canaryfive') or x eq '+8562012345678'&$top=5&Khamla=1"
    assert query_names(query) == "?$filter&$top&?"
    assert (
        target(
            "/v1/projects/<int:project_id>/forms/<xml_form_id>.svc/<path:resource>",
            f"/v1/projects/1/forms/f.svc/Submissions?{query}",
        )
        == "/v1/projects/<int:project_id>/forms/<xml_form_id>.svc/<path:resource>?$filter&$top&?"
    )
    assert target(None, "/v1/TOKENtokenTOKENtoken123/Khamla?q=x") == "/*/*/*?q"
    assert target(None, "https://atip.example.la/console/search/Khamla?q=Khamla") == "/*/*/*?q"


def test_free_text_keeps_nothing_quoted_no_path_no_query_and_no_token():
    assert text("Invalid HTTP Version: \"eq 'Khamla' HTTP/1.1\"") == "Invalid HTTP Version: '***'"
    assert text("GET /console/search/Khamla") == "GET /*/*/*"
    assert text("token abcdefghijklmnopqrstuvwxyz0123456789AB seen") == "token *** seen"
    assert text("Listening at: http://127.0.0.1:8080 (12)") == "Listening at: http://127.0.0.1:8080 (12)"
    assert text(None) is None


def test_user_agents_are_kept_only_for_known_clients():
    assert (
        agent("org.odk.collect.android/v2024.3.1 Dalvik/2.1.0 (Linux; Android 13)")
        == "org.odk.collect.android/v2024.3.1"
    )
    assert agent("Khamla/1.0") == agent("probe Khamla") == "other"
    assert agent(None) == "-"


def test_every_parameter_the_app_reads_is_a_known_name():
    read = set()
    for path in (ROOT / "collector").rglob("*.py"):
        read |= set(re.findall(r"""args\.get(?:list)?\(\s*["']([^"']+)["']""", path.read_text()))
        read |= set(re.findall(r"""args\[["']([^"']+)["']\]""", path.read_text()))
        read |= set(re.findall(r"""\bflag\(\s*["']([^"']+)["']""", path.read_text()))
    assert read and read <= KNOWN_PARAMETERS, sorted(read - KNOWN_PARAMETERS)
