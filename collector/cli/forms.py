"""`collector forms`: check, publish, push, list XLSForms and set their state."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy import select

from collector.cli.base import fail, main, print_problems
from collector.cli.push import push
from collector.db import get_session, get_store
from forms import find_media
from forms.compiler import FormError, compile_xlsform
from forms.fields import input_questions
from ingest.errors import IngestError
from ingest.models import Form
from ingest.publishing.versions import FORM_STATES, current_version, ensure_project, note_published, publish, set_state


@main.group()
def forms():
    """Check and publish XLSForms."""


@forms.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
def forms_check(paths, strict):
    """Convert and validate XLSForms without publishing; exit 1 on any error."""

    failed = False
    for path in paths:
        try:
            compiled = compile_xlsform(path, strict=strict)
        except FormError as exc:
            failed = True
            click.secho(f"{path}: {exc.summary}", fg="red", err=True)
            print_problems(exc.problems)
            continue
        click.secho(
            f"{path}: OK ({compiled.form_id} version {compiled.version}, "
            f"{len(input_questions(compiled.fields))} questions, "
            f"{sum(1 for f in compiled.fields if f['sensitive'])} sensitive)",
            fg="green",
        )
        print_problems(compiled.warnings)
    sys.exit(1 if failed else 0)


@forms.command("publish")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", "project_id", default=1, show_default=True, help="Project to publish into.")
@click.option(
    "--media",
    "media_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A media file the form references (repeatable).",
)
@click.option("--force", is_flag=True, help="Publish even when referenced media are missing.")
@click.option("--strict", is_flag=True, help="Refuse forms with warnings.")
@with_appcontext
def forms_publish(paths, project_id, media_files, force, strict):
    """Convert, validate and publish XLSForms; exit 1 on the first refused form."""
    publish_paths(paths, project_id, media_files, force=force, strict=strict)


def publish_paths(paths, project_id: int, media_files=(), *, force=False, strict=False) -> None:
    """Publish each XLSForm, printing what happened; exit 1 when one is refused."""

    session = get_session()
    ensure_project(session, project_id, current_app.config["PROJECT_NAME"])
    session.commit()
    for path in paths:
        try:
            compiled = compile_xlsform(path, validate=current_app.config["VALIDATE_FORMS"], strict=strict)
        except FormError as exc:
            click.secho(f"{path}: {exc.summary}", fg="red", err=True)
            print_problems(exc.problems)
            sys.exit(1)
        try:
            result = publish(
                session, get_store(), project_id, compiled, find_media(path, compiled.media, media_files), force=force
            )
            if result.created:  # publishing the same form again changes nothing, and is not audited
                note_published(session, compiled.form_id, compiled.version)
            session.commit()
        except IngestError as exc:
            session.rollback()
            fail(f"{path}: {exc.message}")
        state = "published" if result.created else "already published"
        click.echo(f"{path.name}: {compiled.form_id} version {compiled.version} {state}")
        if result.missing_media:
            click.secho(f"  missing media: {', '.join(result.missing_media)}", fg="yellow")


@forms.command("push", with_appcontext=False)
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--server", required=True, help="Base URL of the server, e.g. https://atip.example.la")
@click.option("--project", "project_id", default=1, show_default=True)
@click.option("--email", default=None, help="Your web user email (asked for when missing).")
@click.option("--token", default=None, envvar="COLLECTOR_TOKEN", help="A bearer token instead of email and password.")
@click.option(
    "--media",
    "media_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A media file the form references (repeatable).",
)
@click.option("--publish", "do_publish", is_flag=True, help="Publish the draft after uploading it.")
@click.option("--force", is_flag=True, help="Publish even when media are missing.")
@click.option("--strict", is_flag=True, help="Refuse forms with warnings.")
@click.option("--no-validate", is_flag=True, help="Skip the local ODK Validate run (needs Java).")
def forms_push(path, server, project_id, email, token, media_files, do_publish, force, strict, no_validate):
    """Upload an XLSForm to a remote server as a draft (and publish it), over the JSON API."""

    sys.exit(
        push(
            path,
            server,
            project_id,
            email=email,
            token=token,
            media_files=media_files,
            publish=do_publish,
            force=force,
            strict=strict,
            validate=not no_validate,
        )
    )


@forms.command("state")
@click.argument("xml_form_id")
@click.argument("state", type=click.Choice(FORM_STATES))
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def forms_state(xml_form_id, state, project_id):
    """Open a form, or close it: closing hides it from tablets but still accepts data; closed refuses data."""

    session = get_session()
    form = session.scalar(select(Form).where(Form.project_id == project_id, Form.xml_form_id == xml_form_id))
    if form is None:
        fail(f"No form '{xml_form_id}' in project {project_id}.")
    set_state(session, form, state, via="cli")
    session.commit()
    click.echo(f"{xml_form_id} is now {state}.")


@forms.command("list")
@click.option("--project", "project_id", default=1, show_default=True)
@with_appcontext
def forms_list(project_id):
    """List forms with their current version and state."""

    session = get_session()
    for form in session.scalars(select(Form).where(Form.project_id == project_id).order_by(Form.xml_form_id)):
        version = current_version(session, form)
        number, title = (version.version, version.title) if version else ("-", "")
        click.echo(f"{form.xml_form_id}\t{number}\t{form.state}\t{title}")
