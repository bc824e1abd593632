"""setup.cfg declares every folder it ships as a package, so `pip install` prints no "Package would be ignored"."""

from __future__ import annotations

import configparser
from pathlib import Path

from setuptools import find_namespace_packages

ROOT = Path(__file__).resolve().parent.parent


def test_every_folder_of_the_packages_is_a_declared_package_with_its_data():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    assert config["options"]["packages"].strip() == "find_namespace:"
    find = config["options.packages.find"]
    declared = set(find_namespace_packages(str(ROOT), include=find["include"].split(), exclude=find["exclude"].split()))
    folders = {
        ".".join(path.relative_to(ROOT).parts)
        for top in ("forms", "ingest", "collector", "migrations")
        for path in [ROOT / top, *(ROOT / top).rglob("*")]
        if path.is_dir() and path.name != "__pycache__"
    }
    assert folders <= declared, folders - declared
    assert not any(name.endswith("__pycache__") for name in declared)
    data = config["options.package_data"]
    for package in ("forms.xlsforms", "forms.media", "forms.handbook.templates", "collector.console.static"):
        assert package in data, package
