"""Is Java there for ODK Validate? One line that says what is missing and how to get it."""

from __future__ import annotations

import re
import shutil
import subprocess

#: What to run to get Java on the Debian and Ubuntu servers the ministry uses.
JAVA_INSTALL = "apt-get install default-jre-headless"
#: Oldest Java that ODK Validate runs on.
JAVA_MINIMUM = 8

_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def java_version() -> int | None:
    """Return the major version of the `java` on PATH (8 for "1.8.0_392", 17 for "17.0.15"), None if none runs."""
    java = shutil.which("java")
    if java is None:
        return None
    try:
        # `java -version` writes to stderr; a broken installation may hang or fail, hence the timeout.
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(done.stderr + done.stdout)
    if done.returncode != 0 or match is None:
        return None
    major, minor = int(match.group(1)), int(match.group(2) or 0)
    return minor if major == 1 else major  # Java 8 and older call themselves 1.x


def java_problem() -> str | None:
    """Return one line saying why ODK Validate cannot run and how to fix it, or None when Java 8+ is there."""
    version = java_version()
    if version is not None and version >= JAVA_MINIMUM:
        return None
    found = "no working `java` was found on PATH" if version is None else f"Java {version} is too old"
    return (
        f"ODK Validate needs Java {JAVA_MINIMUM} or newer, and {found}: install it with `{JAVA_INSTALL}` "
        "(as root), or set COLLECTOR_VALIDATE_FORMS=false to publish forms without ODK Validate."
    )
