"""The one Alembic history of the central database, for SQLite and PostgreSQL alike."""

from pathlib import Path

#: The folder Alembic's script_location points at.
SCRIPT_LOCATION = str(Path(__file__).parent)
