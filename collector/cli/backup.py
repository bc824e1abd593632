"""`collector backup` and `collector restore`: the whole installation in one archive, and back."""

from __future__ import annotations

import os
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import fail, main
from collector.db import get_session
from collector.ops.backup import BackupError, backup, restore
from ingest import audit

PASSPHRASE_ENV = "COLLECTOR_BACKUP_PASSPHRASE"

passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help=f"Encrypt (backup) or decrypt (restore) with the passphrase in this file; or set {PASSPHRASE_ENV}.",
)


def _passphrase(path: Path | None) -> str | None:
    """The passphrase from the file (its first line) or the environment; None when neither gives one."""
    if path is not None:
        lines = path.read_text(encoding="utf-8").splitlines()
        phrase = lines[0] if lines else ""
        if not phrase:
            fail(f"The passphrase file {path} is empty.")
        return phrase
    return os.environ.get(PASSPHRASE_ENV) or None


@main.command("backup")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the archive (a .tar, or encrypted when a passphrase is given).",
)
@passphrase_option
@with_appcontext
def backup_command(output, passphrase_file):
    """Back up the database, the forms and the media store into one archive, while the server runs."""
    passphrase = _passphrase(passphrase_file)
    try:
        manifest = backup(
            current_app.extensions["collector.engine"], current_app.extensions["collector.store"], output, passphrase
        )
    except (BackupError, OSError) as exc:
        fail(f"Backup failed: {exc}")
    rows = sum(manifest["rows"].values())
    _audit("backup.create", manifest)
    click.echo(
        f"Wrote {output}: {rows} database rows, {manifest['media_files']} media files"
        f"{', encrypted' if passphrase else ' (not encrypted)'}."
    )
    if manifest["missing_media"]:
        click.secho(
            f"warning: {len(manifest['missing_media'])} media file(s) the database refers to are missing or "
            "damaged in the store and are not in the archive; run `collector doctor --deep`.",
            fg="yellow",
            err=True,
        )


@main.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@passphrase_option
@with_appcontext
def restore_command(archive, passphrase_file):
    """Restore an archive made by `collector backup` into an empty, migrated database and an empty media store."""
    store = current_app.extensions["collector.store"]
    try:
        manifest = restore(current_app.extensions["collector.engine"], store, archive, _passphrase(passphrase_file))
    except BackupError as exc:
        fail(f"Restore failed: {exc}")
    _audit("backup.restore", manifest)
    click.echo(
        f"Restored {sum(manifest['rows'].values())} database rows and {manifest['media_files']} media files "
        f"from a backup of {manifest['created_at']}."
    )


def _audit(action: str, manifest: dict) -> None:
    """Record the backup or restore (after it, in its own transaction: a backup's snapshot never holds its own
    event, and a restore's event follows the restored log)."""
    session = get_session()
    audit.record(
        session,
        action,
        "backup",
        encrypted=manifest["encrypted"],
        rows=sum(manifest["rows"].values()),
        media_files=manifest["media_files"],
        made_at=manifest["created_at"],
    )
    session.commit()
