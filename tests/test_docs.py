"""The documentation: the README is the front door, the MkDocs site in docs/ documents every setting, and
neither has a broken link or fetches anything from the network."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import yaml

import collector.config

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
DOCS = ROOT / "docs"
SETTINGS_PAGE = (DOCS / "operators" / "settings.md").read_text()
MKDOCS = yaml.safe_load((ROOT / "mkdocs.yml").read_text())
#: Markdown links and images: [text](target) and ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def nav_pages(nav) -> list[str]:
    """Return every page named in mkdocs.yml's nav, in order."""
    pages = []
    for entry in nav:
        value = next(iter(entry.values())) if isinstance(entry, dict) else entry
        pages.extend(nav_pages(value) if isinstance(value, list) else [value])
    return pages


def test_every_setting_is_documented_in_the_settings_page():
    settings = [name for name in vars(collector.config) if name.isupper()]
    assert settings
    missing = [name for name in settings if f"`{name}`" not in SETTINGS_PAGE]
    assert missing == []


def test_every_process_setting_is_documented_in_the_settings_page():
    """The environment variables deploy/gunicorn.conf.py reads are settings too."""
    conf = (ROOT / "deploy" / "gunicorn.conf.py").read_text()
    names = re.findall(r"os\.environ\.get\(\"([A-Z_]+)\"", conf)
    assert "COLLECTOR_BIND" in names and "WEB_CONCURRENCY" in names
    missing = [name for name in names if f"`{name}`" not in SETTINGS_PAGE]
    assert missing == []


def test_the_two_commands_are_make_serve_and_make_test():
    assert "make serve" in README and "make test" in README


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_readme_stays_the_front_door_under_200_lines():
    assert len(README.splitlines()) < 200
    assert "make docs" in README


def test_readme_links_resolve_to_files_and_pages_of_the_site():
    targets = LINK.findall(README)
    assert len(targets) > 20
    nav = set(nav_pages(MKDOCS["nav"]))
    broken = []
    for target in targets:
        if re.match(r"[a-z]+:", target):
            broken.append(f"{target}: the front door links to the repository's own pages only")
            continue
        path = target.split("#", 1)[0]
        if not (ROOT / path).is_file():
            broken.append(f"{target}: no such file")
        elif path.endswith(".md") and path.removeprefix("docs/") not in nav:
            broken.append(f"{target}: not a page of the site's nav")
    assert broken == []


def test_every_page_and_picture_of_docs_is_on_the_site():
    nav = nav_pages(MKDOCS["nav"])
    pages = sorted(p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md"))
    assert sorted(nav) == pages
    shown = {
        (page.parent / target).resolve() for page in DOCS.rglob("*.md") for target in LINK.findall(page.read_text())
    }
    hidden = [p.name for p in DOCS.glob("*.png") if p.resolve() not in shown]
    assert hidden == []


def test_make_test_builds_the_docs_strictly_before_pytest():
    dry_run = subprocess.run(["make", "-n", "test"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    commands = dry_run.splitlines()
    build = next(i for i, line in enumerate(commands) if "mkdocs build --strict" in line)
    tests = next(i for i, line in enumerate(commands) if "bin/pytest" in line)
    assert build < tests


def test_the_site_builds_strictly_and_fetches_nothing_from_the_network(tmp_path):
    assert MKDOCS["theme"]["font"] is False  # Material's default loads Google Fonts
    assert "google_analytics" not in str(MKDOCS) and "analytics" not in str(MKDOCS.get("extra", {}))
    build = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"NO_MKDOCS_2_WARNING": "1", "PATH": "/usr/bin:/bin"},
    )
    assert build.returncode == 0, build.stderr
    html = list(tmp_path.rglob("*.html"))
    assert len(html) > 20
    fetched = []
    for page in html:
        text = page.read_text()
        # What a browser loads by itself: scripts, style sheets, images, frames, fonts; links in text are fine.
        for tag in re.findall(r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*>", text):
            fetched += [
                f"{page.name}: {tag}"
                for url in re.findall(r"(?:src|href|data)=\"([^\"]*)\"", tag)
                if re.match(r"(?:[a-z]+:)?//", url)
            ]
        fetched += [f"{page.name}: {url}" for url in re.findall(r"url\(['\"]?((?:https?:)?//[^)'\"]+)", text)]
    for sheet in tmp_path.rglob("*.css"):
        fetched += [
            f"{sheet.name}: {url}"
            for url in re.findall(r"(?:url\(|@import\s+)['\"]?((?:https?:)?//[^)'\"\s]+)", sheet.read_text())
        ]
    assert fetched == []


def test_the_table_of_error_codes_lists_every_code_with_its_status():
    """docs/staff/api.md's table of error codes holds exactly the codes of ingest/errors.py, each with its status."""
    from ingest.errors import CODES

    page = (DOCS / "staff" / "api.md").read_text()
    rows = dict(re.findall(r"^\| `(\d{3}\.\d+)` \| (\d{3}) \|", page, re.MULTILINE))
    assert rows == {code: str(c.status) for code, c in CODES.items()}
