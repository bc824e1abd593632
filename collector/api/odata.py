"""OData v4 over a form's records, as ODK Central names it (service document, $metadata, Submissions)."""
from __future__ import annotations

from collector.api.common import api_blueprint

bp = api_blueprint("odata", __name__)
