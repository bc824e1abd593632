"""Push an XLSForm from a trainer's laptop to a server over the JSON API (`collector forms push`)."""

from __future__ import annotations

import os
from pathlib import Path

import click
import requests

from collector.cli.base import print_problems
from collector.devices import decode_payload, qr_code
from forms import find_media
from forms.compiler import FormError, compile_xlsform

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TIMEOUT = 120


class PushFailed(Exception):
    """The server refused a step; the message says which and why."""


def _check(response: requests.Response, step: str) -> dict:
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:300]}
    if response.status_code >= 400:
        click.secho(f"{step}: {body.get('error', response.reason)} (HTTP {response.status_code})", fg="red", err=True)
        print_problems(body.get("errors") or [])
        raise PushFailed(step)
    return body


def _session(server: str, email: str | None, token: str | None) -> requests.Session:
    http = requests.Session()
    if not token:
        email = email or click.prompt("Email")
        password = os.environ.get("COLLECTOR_PASSWORD") or click.prompt("Password", hide_input=True)
        token = _check(
            http.post(f"{server}/v1/sessions", json={"email": email, "password": password}, timeout=TIMEOUT), "Sign-in"
        )["token"]
    http.headers["Authorization"] = f"Bearer {token}"
    return http


def push(
    path: Path,
    server: str,
    project_id: int,
    *,
    email=None,
    token=None,
    media_files=(),
    publish=False,
    force=False,
    strict=False,
    validate=True,
) -> int:
    """Check the form locally, upload it as a draft with its media, optionally publish; return an exit status."""
    server = server.rstrip("/")
    try:
        compiled = compile_xlsform(path, validate=validate, strict=strict)
    except FormError as exc:
        click.secho(f"{path}: {exc.summary}", fg="red", err=True)
        print_problems(exc.problems)
        return 1
    print_problems(compiled.warnings)
    try:
        http = _session(server, email, token)
        forms_url = f"{server}/v1/projects/{project_id}/forms"
        exists = http.get(f"{forms_url}/{compiled.form_id}", timeout=TIMEOUT).status_code == 200
        target = f"{forms_url}/{compiled.form_id}/draft" if exists else forms_url
        draft = _check(
            http.post(
                target,
                data=path.read_bytes(),
                params={"strict": "true"} if strict else None,
                headers={"Content-Type": XLSX},
                timeout=TIMEOUT,
            ),
            "Upload",
        )
        click.echo(f"{path.name}: uploaded as draft of '{compiled.form_id}' version {draft['version']}")
        for name, content in find_media(path, compiled.media, media_files).items():
            _check(
                http.post(f"{forms_url}/{compiled.form_id}/draft/attachments/{name}", data=content, timeout=TIMEOUT),
                f"Media {name}",
            )
            click.echo(f"  media uploaded: {name}")
        draft = _check(http.get(f"{forms_url}/{compiled.form_id}/draft", timeout=TIMEOUT), "Draft")
        if draft["missingMedia"]:
            click.secho(f"  missing media: {', '.join(draft['missingMedia'])}", fg="yellow")
        if publish:
            done = _check(
                http.post(
                    f"{forms_url}/{compiled.form_id}/draft/publish",
                    params={"force": "true"} if force else None,
                    timeout=TIMEOUT,
                ),
                "Publish",
            )
            click.echo(f"Published '{compiled.form_id}' version {done['version']}.")
        else:
            click.echo(f"Test it on a training tablet: {draft['testUrl']}")
            click.echo("or scan this test QR code in ODK Collect (test data is discarded on publish):")
            qr_code(decode_payload(draft["testQrPayload"])).terminal(compact=True, border=2)
    except PushFailed:
        return 1
    except requests.RequestException as exc:
        click.secho(f"Could not reach {server}: {type(exc).__name__}", fg="red", err=True)
        return 1
    return 0
