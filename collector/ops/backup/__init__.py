"""`collector backup` and `collector restore`: one archive of the database, the media store and the forms.

The archive is a tar stream (see `archive`), optionally encrypted with a passphrase (see `envelope`); the
database inside it is a consistent snapshot of every table (see `snapshot`). The format is described for
operators in docs/operators/backup.md.
"""

from collector.ops.backup.archive import BackupError, backup, restore

__all__ = ["BackupError", "backup", "restore"]
