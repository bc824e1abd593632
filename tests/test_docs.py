"""The README documents every setting and the two set-up commands."""
from __future__ import annotations

from pathlib import Path

import collector.config

README = (Path(__file__).resolve().parent.parent / "README.md").read_text()


def test_every_setting_is_documented():
    settings = [name for name in vars(collector.config) if name.isupper()]
    assert settings
    missing = [name for name in settings if f"`{name}`" not in README]
    assert missing == []


def test_the_two_commands_are_make_serve_and_make_test():
    assert "make serve" in README and "make test" in README


def test_ci_runs_the_readme_test_command():
    ci = (Path(__file__).resolve().parent.parent / ".ci" / "run").read_text()
    assert "make test" in ci
