"""Person matching over the JSON API: candidate pairs, reviewed links and persons (issue 10)."""
from __future__ import annotations

from collector.api.common import api_blueprint

bp = api_blueprint("persons", __name__)
