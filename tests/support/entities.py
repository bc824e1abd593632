"""Shared test helpers of entities: the registration and follow-up forms published, devices, and instances."""

from __future__ import annotations

import csv
import functools
import hashlib
import io
import xml.etree.ElementTree as ET
from types import SimpleNamespace
from xml.sax.saxutils import escape, quoteattr

from forms import find_media
from forms.compiler import compile_xlsform
from tests.conftest import DATA
from tests.support.openrosa import post

REGISTRATION, FOLLOWUP = DATA / "entities_registration.xlsx", DATA / "entities_followup.xlsx"
HEADERS = {"X-OpenRosa-Version": "1.0"}
MANIFEST = "{http://openrosa.org/xforms/xformsManifest}"
LIST = "{http://openrosa.org/xforms/xformsList}"
#: A name a registration carries: it must never reach an entity, a list or the audit.
NAME = "Noy Phommachanh"


@functools.cache
def compiled(path):
    """Compile an XLSForm once per run (ODK Validate runs in the end-to-end test)."""
    return compile_xlsform(path, validate=False)


def publish_entity_forms(app, db_session) -> SimpleNamespace:
    """Publish both forms into project 1, with a tablet of province 05, one of 06 and a national one."""
    from ingest.accounts.users import create_device
    from ingest.publishing.versions import ensure_project, publish

    ensure_project(db_session, 1)
    for path in (REGISTRATION, FOLLOWUP):
        form = compiled(path)
        publish(db_session, app.extensions["collector.store"], 1, form, find_media(path, form.media))
    db_session.commit()
    devices = {p: create_device(db_session, 1, f"Tablet {p}", p or None) for p in ("05", "06", "")}
    db_session.commit()
    return SimpleNamespace(devices=devices, national=devices[""])


def registration(iid: str, entity_id: str, code: str, province: str, consent: str = "yes", gender="Female") -> bytes:
    """A registration record creating entity `entity_id` (label `<code> (<gender>)`)."""
    return (
        f'<data id="entity_registration" version="2026120601"><case_code>{code}</case_code>'
        f"<province>{province}</province><consent_data_sharing>{consent}</consent_data_sharing>"
        f"<full_name>{NAME}</full_name><gender>{gender}</gender><age_band>age_18_20</age_band>"
        f'<meta><entity dataset="cases" create="1" id={quoteattr(entity_id)}><label>{escape(code)} ({gender})</label>'
        f"</entity><instanceID>uuid:{iid}</instanceID></meta></data>"
    ).encode()


def followup(iid: str, entity_id: str, status: str, base, trunk="", branch="", age_band="") -> bytes:
    """A follow-up record updating entity `entity_id` from version `base` (an offline branch if `branch`)."""
    return (
        f'<data id="entity_followup" version="2026120601"><case>{escape(entity_id)}</case><status>{status}</status>'
        f"<age_band>{age_band}</age_band>"
        f'<meta><entity dataset="cases" update="1" baseVersion="{base}" trunkVersion="{trunk}" '
        f'branchId="{branch}" id={quoteattr(entity_id)}/><instanceID>uuid:{iid}</instanceID></meta></data>'
    ).encode()


def send(client, device, xml: bytes, status: int = 201):
    response = post(client, device, xml)
    assert response.status_code == status, response.data
    return response


def base(device) -> str:
    return f"/v1/key/{device.token}/projects/1"


def manifest(client, device, form_id: str = "entity_followup") -> dict[str, tuple[str, str]]:
    """A device's manifest of a form: file name -> (hash, download URL)."""
    response = client.get(f"{base(device)}/forms/{form_id}/manifest", headers=HEADERS)
    assert response.status_code == 200
    return {
        f.findtext(f"{MANIFEST}filename"): (f.findtext(f"{MANIFEST}hash"), f.findtext(f"{MANIFEST}downloadUrl"))
        for f in ET.fromstring(response.data).iter(f"{MANIFEST}mediaFile")
    }


def entity_list(client, device) -> tuple[bytes, list[dict]]:
    """Download a device's cases.csv as Collect does (from the manifest's URL) and check its hash."""
    md5, url = manifest(client, device)["cases.csv"]
    response = client.get(url.removeprefix("http://localhost"), headers=HEADERS)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert md5 == f"md5:{hashlib.md5(response.data).hexdigest()}"
    return response.data, list(csv.DictReader(io.StringIO(response.data.decode("utf-8"))))


def form_hash(client, device, form_id: str = "entity_followup") -> str:
    response = client.get(f"{base(device)}/formList", headers=HEADERS)
    for xform in ET.fromstring(response.data).iter(f"{LIST}xform"):
        entry = {child.tag.removeprefix(LIST): child.text for child in xform}
        if entry["formID"] == form_id:
            return entry["hash"]
    raise AssertionError(f"no {form_id} in the list")
