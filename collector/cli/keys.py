"""`collector keys`: make the key of an encrypted form, and unlock it to decrypt the form's submissions.

The passphrase is prompted (hidden) or read from a file; it is never printed, logged or stored, and the
plain private key lives only in this process's memory.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from collector.cli.base import fail, find_form, main, print_problems
from collector.db import get_session, get_store
from collector.jobs import request_person_match
from forms.compiler import FormError
from ingest import audit, scope
from ingest.access import SYSTEM
from ingest.crypto import DEFAULT_KDF, Argon2Parameters, WrongPassphrase
from ingest.encryption.keys import create_key, unlock, unlock_keys
from ingest.errors import IngestError
from ingest.persons.identities import names_person
from ingest.publishing.versions import current_version

#: Cheapest argon2id settings, used only when the KEY_KDF_FAST setting is on (the test suite).
FAST_KDF = Argon2Parameters(time_cost=1, memory_cost=8, parallelism=1)

_form_option = click.option("--form", "xml_form_id", required=True, metavar="ID", help="The form's form ID.")
_project_option = click.option("--project", "project_id", default=1, show_default=True)
_passphrase_option = click.option(
    "--passphrase-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read the passphrase from this file (its first line) instead of asking for it.",
)


@main.group()
def keys():
    """Make and unlock the keys of encrypted forms."""


def _passphrase(path: Path | None, *, confirm: bool) -> str:
    """Return the passphrase from the file's first line, else asked for (hidden; twice when `confirm`)."""
    if path is None:
        return click.prompt("Passphrase", hide_input=True, confirmation_prompt=confirm)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        fail(f"{path} cannot be read as a UTF-8 text file.")
    lines = text.splitlines()
    if not lines or not lines[0]:
        fail(f"{path} holds no passphrase on its first line.")
    return lines[0]


@keys.command("create")
@_form_option
@_project_option
@_passphrase_option
@with_appcontext
def keys_create(xml_form_id, project_id, passphrase_file):
    """Make an RSA key pair for a form and publish its next version with the public key.

    Tablets then encrypt every submission of the form; only `collector keys unlock` with the same
    passphrase can read them. A lost passphrase cannot be recovered.
    """

    session = get_session()
    form = find_form(session, project_id, xml_form_id)
    passphrase = _passphrase(passphrase_file, confirm=True)
    kdf = FAST_KDF if current_app.config["KEY_KDF_FAST"] else DEFAULT_KDF
    try:
        created = create_key(
            session, get_store(), form, passphrase, validate=current_app.config["VALIDATE_FORMS"], kdf=kdf
        )
        audit.record(
            session,
            "key.create",
            f"form:{xml_form_id}",
            key_id=created.key.id,
            version=created.version.version,
            via="cli",
        )
        session.commit()
    except ValueError as exc:
        session.rollback()
        fail(str(exc))
    except FormError as exc:
        session.rollback()
        click.secho(f"{xml_form_id}: the XLSForm with the public key was refused: {exc.summary}", fg="red", err=True)
        print_problems(exc.problems)
        sys.exit(1)
    except IngestError as exc:
        session.rollback()
        fail(exc.message)
    click.echo(
        f"Made key {created.key.id} for {xml_form_id} and published version {created.version.version} "
        "with its public key. Keep the passphrase safe: without it no submission can be read."
    )


@keys.command("unlock")
@_form_option
@_project_option
@_passphrase_option
@with_appcontext
def keys_unlock(xml_form_id, project_id, passphrase_file):
    """Decrypt every sealed submission of a form with its private key; exit 1 if any was left sealed."""

    session = get_session()
    scope.use(session, SYSTEM)
    form = find_form(session, project_id, xml_form_id)
    passphrase = _passphrase(passphrase_file, confirm=False)
    try:
        private_keys = unlock_keys(session, form, passphrase)
    except WrongPassphrase as exc:
        session.rollback()
        audit.record(session, "key.unlock", f"form:{xml_form_id}", refused="wrong passphrase", via="cli")
        session.commit()
        fail(f"{exc} Nothing was decrypted.")
    except (ValueError, IngestError) as exc:
        session.rollback()
        fail(f"{getattr(exc, 'message', exc)} Nothing was decrypted.")
    report = unlock(session, get_store(), form, private_keys)
    audit.record(
        session, "key.unlock", f"form:{xml_form_id}", decrypted=report.decrypted, failed=len(report.failed), via="cli"
    )
    session.commit()
    for instance_id, reason in report.failed:
        click.secho(f"  {instance_id}: {reason}", fg="red", err=True)
    click.echo(f"{xml_form_id}: decrypted {report.decrypted}, failed {len(report.failed)}.")
    if report.decrypted and _names_person(session, form):
        _match_after_unlock(project_id)
    sys.exit(1 if report.failed else 0)


def _names_person(session, form) -> bool:

    version = current_version(session, form)
    return version is not None and names_person(version.fields)


def _match_after_unlock(project_id: int) -> None:
    """The opened records name persons: queue a match (on Redis), or say how to run one (this process ends now,
    so a thread of it would not finish)."""

    if current_app.config.get("REDIS_URL") and current_app.config["PERSON_MATCH_ON_SUBMIT"]:
        request_person_match(project_id)
        click.echo("A person match of the project is queued for `collector worker`.")
    else:
        click.echo("Run `collector persons match` to look for these persons in the other records.")
