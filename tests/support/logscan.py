"""Catch every log line a test produces, to prove that no personal value reaches a log.

Use the `log_scan` fixture (import it into a test module, as `from tests.support.logscan import log_scan`): it lowers
the root logger to DEBUG for the test, so that every logger of the app and of its libraries that propagates
is heard, and `log_scan.leaks(values)` lists each value found in a line (message, arguments and traceback).
"""

from __future__ import annotations

import logging

import pytest

from collector.ops.logs import OWN_LOGGERS, RequestIdFilter, json_formatter


class LogScan(logging.Handler):
    """A handler keeping every formatted line, traceback included, of every level."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []
        self._json = json_formatter()

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
        # As the server writes it too: a JSON line carries the record's extra fields (route, ids, query names).
        RequestIdFilter().filter(record)
        self.lines.append(self._json.format(record))

    def leaks(self, values) -> list[tuple[str, str]]:
        """Return (value, line) for each value that appears in a captured line."""
        return [(value, line) for value in values for line in self.lines if value in line]


@pytest.fixture
def log_scan():
    """Capture every log line of the test at DEBUG (root logger and all that propagate to it)."""
    root = logging.getLogger()
    handler, level = LogScan(), root.level
    # An app configured earlier in this process (collector.ops.logs.configure, by an in-process `collector
    # worker`) leaves the project's loggers at LOG_LEVEL: lowered too, or their DEBUG lines would go unheard.
    own = {name: logging.getLogger(name).level for name in OWN_LOGGERS}
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    for name in own:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        for name, was in own.items():
            logging.getLogger(name).setLevel(was)
