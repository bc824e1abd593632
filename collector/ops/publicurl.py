"""The public URL that tablets reach this server at, stored in the instance folder the first time it is given.

`make serve` runs in one shell with `COLLECTOR_PUBLIC_URL`; a trainer creates a device in another shell
without it. So the URL given to `collector setup` (or to gunicorn) is written to `<instance>/public_url`, and
every later command and worker of that instance reads it from there. A URL given as a setting always wins
over the stored one (and replaces it when setup or the server start with it).
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask

#: Where QR codes point when no public URL is known at all: this machine only, which no tablet reaches.
LOOPBACK_URL = "http://127.0.0.1:8080"
#: The file in the instance folder that holds the stored URL.
STORED_FILE = "public_url"
_ORIGIN = "collector.public_url_origin"


def resolve(app: Flask) -> None:
    """Set PUBLIC_URL from the setting, else the stored file, else LOOPBACK_URL; remember which it was."""
    given = (app.config.get("PUBLIC_URL") or "").strip().rstrip("/")
    stored = read_stored(app)
    if given:
        app.config["PUBLIC_URL"], origin = given, "setting"
    elif stored:
        app.config["PUBLIC_URL"], origin = stored, "stored"
    else:
        app.config["PUBLIC_URL"], origin = LOOPBACK_URL, "default"
    app.extensions[_ORIGIN] = origin


def read_stored(app: Flask) -> str | None:
    """Return the URL stored in the instance folder, or None."""
    try:
        return (Path(app.instance_path) / STORED_FILE).read_text(encoding="utf-8").strip() or None
    except (FileNotFoundError, NotADirectoryError):
        return None


def remember(app: Flask) -> bool:
    """Store a PUBLIC_URL given as a setting, when it is not the one stored yet; say whether it was written.

    Written to a temporary file and renamed into place: gunicorn's workers may start at the same moment.
    """
    if app.extensions.get(_ORIGIN) != "setting" or read_stored(app) == app.config["PUBLIC_URL"]:
        return False
    folder = Path(app.instance_path)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".public_url-")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(app.config["PUBLIC_URL"] + "\n")
        os.chmod(tmp, 0o644)  # not a secret: every command of the instance reads it
        os.replace(tmp, folder / STORED_FILE)
    except BaseException:
        os.unlink(tmp)
        raise
    return True


def is_loopback(url: str) -> bool:
    """Say whether a URL names this machine only (localhost, 127.0.0.0/8, ::1)."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def warnings(app: Flask) -> list[str]:
    """Return what an operator must hear before handing out a QR code made with PUBLIC_URL (one line each)."""
    url = app.config["PUBLIC_URL"]
    env = (os.environ.get("COLLECTOR_PUBLIC_URL") or "").strip().rstrip("/")
    fix = "set COLLECTOR_PUBLIC_URL=http://<this server's address>:8080 and run `collector setup` once"
    if env and env != url:
        return [f"Warning: this QR code points at {url}, but COLLECTOR_PUBLIC_URL says {env}."]
    if app.extensions.get(_ORIGIN) == "default":
        return [f"Warning: no public URL is known, so this QR code points at {url}, which no tablet reaches: {fix}."]
    if is_loopback(url):
        return [f"Warning: this QR code points at {url}, which only this machine reaches (no tablet does): {fix}."]
    return []
