"""Case hand-off over the JSON API: follow-up tasks owed by a person's home province (issue 10)."""
from __future__ import annotations

from collector.api.common import api_blueprint

bp = api_blueprint("tasks", __name__)
