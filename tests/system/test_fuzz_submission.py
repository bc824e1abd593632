"""Fuzz the submission path (issue 7): hostile instance XML and multipart envelopes never get a 5xx.

Instances are built from the field tree of every bundled form and of the sample form, then mutated
(truncated, flipped bytes, odd encodings, BOMs, deep nesting, huge text and attributes, namespaces, CDATA,
NULs, lone surrogates, long instanceID and version strings, many unknown repeated leaves); multipart
envelopes vary boundaries, part counts and names, Content-Length and the closing boundary. Each case is
POSTed to a device's /submission URL through the Flask test client, and:

- the answer is never a 5xx (and no exception escapes the app);
- a 4xx is OpenRosaResponse XML with a message Collect can show;
- a refused submission stores nothing (submissions, versions, rows, attachments, blobs, media files);
- an accepted one can be read back through the JSON API.

`COLLECTOR_FUZZ_EXAMPLES` sets the number of cases per test (default 100; the issue's full size is
`COLLECTOR_FUZZ_EXAMPLES=100000`). The minimal reproducers of what issue 7 and the fuzzers found stay below
as regression cases (REPRODUCERS); findings not yet fixed would be strict xfails, and cases
failing only through them are set aside by tests.support.fuzzing (see there).
"""

from __future__ import annotations

import base64
import codecs
import io
import re
import uuid
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from sqlalchemy import text

from forms import BUNDLED_FORMS_DIR, find_media
from forms.compiler import compile_xlsform
from ingest.errors import CODES
from tests.conftest import make_instance
from tests.support.collect import multipart
from tests.support.fuzzing import CONVERTER, FUZZ, encode, hostile, path_param, tolerating_open_findings

ORX = "http://openrosa.org/http/response"
COUNTED = ("submissions", "submission_versions", "submission_rows", "submission_attachments", "blobs")
BUNDLED = sorted(p.stem for p in BUNDLED_FORMS_DIR.glob("*.xlsx"))
FORM_IDS = ["sample_case", *BUNDLED]


# --- the world: every bundled form published, one device assigned to all of them, an admin ----------------


@pytest.fixture(scope="module")
def compiled_bundled():
    """Compile the bundled XLSForms once (without ODK Validate: the forms are checked elsewhere)."""
    return [(path, compile_xlsform(path, validate=False)) for path in sorted(BUNDLED_FORMS_DIR.glob("*.xlsx"))]


@pytest.fixture
def world(server_errors, app, db_session, device, admin, compiled_bundled):
    """Publish the bundled forms beside the sample form, assign them all to the device; return a helper."""
    from ingest.accounts.users import assign_forms
    from ingest.publishing.versions import publish

    store = app.extensions["collector.store"]
    for path, compiled in compiled_bundled:
        publish(db_session, store, 1, compiled, find_media(path, compiled.media))
    db_session.commit()
    assign_forms(db_session, device, None)
    db_session.commit()
    fields = {"sample_case": published_fields(db_session, "sample_case")}
    fields.update({c.form_id: c.fields for _p, c in compiled_bundled})
    return World(app, device.token, admin, fields, server_errors)


def published_fields(session, form_id: str) -> list[dict]:
    from sqlalchemy import select

    from ingest.models import Form
    from ingest.publishing.versions import current_version

    return current_version(session, session.scalar(select(Form).where(Form.xml_form_id == form_id))).fields


class World:
    """The app under test, with a device token and admin credentials, and the checks every case runs."""

    def __init__(self, app, token: str, admin: tuple[str, str], fields: dict[str, list[dict]], errors):
        self.app = app
        self.client = app.test_client()
        self.token = token
        self.url = f"/v1/key/{token}/projects/1/submission"
        self.auth = {"Authorization": "Basic " + base64.b64encode(":".join(admin).encode()).decode()}
        self.fields = fields
        self.media = Path(app.config["MEDIA_DIR"])
        self.errors = errors

    def counts(self) -> dict:
        engine = self.app.extensions["collector.engine"]
        with engine.connect() as conn:
            counts = {t: conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one() for t in COUNTED}
            counts.update(
                {f"max_{t}": conn.execute(text(f"SELECT coalesce(max(id), 0) FROM {t}")).scalar_one() for t in COUNTED}
            )
        counts["media_files"] = sum(1 for p in self.media.rglob("*") if p.is_file()) if self.media.exists() else 0
        return counts

    def new_submissions(self, after_id: int) -> list[tuple[str, str, bool]]:
        engine = self.app.extensions["collector.engine"]
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.execute(
                    text(
                        "SELECT f.xml_form_id, s.instance_id, s.draft FROM submissions s "
                        "JOIN forms f ON f.id = s.form_id "
                        "WHERE s.id > :after ORDER BY s.id"
                    ),
                    {"after": after_id},
                )
            ]

    def post(self, body: bytes, content_type: str, url: str | None = None, **kwargs):
        """POST a body to the device's submission URL (or `url`) as Collect would (headers and deviceID)."""
        headers = {"X-OpenRosa-Version": "1.0", "User-Agent": "org.odk.collect.android/v2024.3.1 fuzz"}
        return self.client.post(
            (url or self.url) + "?deviceID=collect%3Afuzz",
            data=body if "input_stream" not in kwargs else None,
            content_type=content_type,
            headers=headers,
            **kwargs,
        )

    def check(self, send, answer: str = "openrosa") -> int:
        """Run `send()` (one POST) and check the answer and what it stored; return the status.

        `answer` is "openrosa" (XML, the Collect paths) or "json" (Central's REST submission).
        """
        before = self.counts()
        self.errors.lines.clear()
        response = send()
        status = response.status_code
        assert status < 500, f"{status}: {self.errors.lines}"
        refusal = openrosa_answer(response) if answer == "openrosa" else json_answer(response)
        after = self.counts()
        if status >= 400:
            assert after == before, f"refused with {status} ({refusal}) but stored: {before} -> {after}"
            return status
        for form_id, instance_id, draft in self.new_submissions(before["max_submissions"]):
            self.read_back(form_id, instance_id, draft)
        assert self.overlong(before) == [], "stored a value longer than its column"
        return status

    def read_back(self, form_id: str, instance_id: str, draft: bool) -> None:
        """Read an accepted record through the JSON API: the record itself, or a draft's test list."""
        form = f"/v1/projects/1/forms/{quote(form_id, safe='')}"
        if draft:
            listed = self.client.get(f"{form}/draft/submissions", headers=self.auth)
            assert listed.status_code == 200, listed.get_data()[:200]
            assert instance_id in [s["instanceId"] for s in listed.get_json()]
            return
        read = self.client.get(f"{form}/submissions/{quote(instance_id, safe='')}", headers=self.auth)
        assert read.status_code == 200, (
            f"accepted {instance_id[:80]!r} of {form_id!r} but reading it back "
            f"gave {read.status_code}: {read.get_data()[:200]!r}"
        )
        assert read.get_json()["instanceId"] == instance_id

    def overlong(self, before: dict) -> list[str]:
        """Name the text columns of new rows holding more than the column declares (PostgreSQL refuses that)."""
        from sqlalchemy import String

        from ingest.db import Base

        found = []
        engine = self.app.extensions["collector.engine"]
        with engine.connect() as conn:
            for table in COUNTED:
                for column in Base.metadata.tables[table].columns:
                    if isinstance(column.type, String) and column.type.length:
                        query = f"SELECT max(length({column.name})) FROM {table} WHERE id > :after"
                        longest = conn.execute(text(query), {"after": before[f"max_{table}"]}).scalar()
                        if longest and longest > column.type.length:
                            found.append(f"{table}.{column.name}: {longest} > {column.type.length}")
        return found


def openrosa_answer(response) -> str:
    """Check an OpenRosa answer (OpenRosaResponse XML with a message Collect can show); return the message."""
    status = response.status_code
    assert response.headers.get("X-OpenRosa-Version") == "1.0"
    assert response.mimetype == "text/xml", response.headers
    root = ElementTree.fromstring(response.get_data())
    message = root.find(f"{{{ORX}}}message")
    assert root.tag == f"{{{ORX}}}OpenRosaResponse" and message is not None and (message.text or "").strip()
    if status >= 400:
        assert message.get("nature") == "error"
    else:
        assert status in (201, 202) and message.get("nature") == "submit_success", status
    return message.text


def json_answer(response) -> str:
    """Check a JSON API answer: a submission, or the one error shape; return the error."""
    status = response.status_code
    assert response.mimetype == "application/json", response.headers
    payload = response.get_json()
    if status >= 400:
        assert set(payload) == {"ok", "status", "code", "message", "error", "errors", "fields"}, payload
        assert payload["status"] == status and CODES[str(payload["code"])].status == status, payload
        assert payload["ok"] is False and isinstance(payload["error"], str) and payload["error"].strip()
        assert payload["message"] == payload["error"]
        return payload["error"]
    assert status in (200, 201) and payload["instanceId"], payload
    return ""


# --- plausible instances from a form's field tree --------------------------------------------------------

_VALUES = {
    "integer": "7",
    "decimal": "1.5",
    "range": "3",
    "date": "2026-11-29",
    "today": "2026-11-29",
    "time": "10:15:00.000+07:00",
    "dateTime": "2026-11-29T10:15:00.000+07:00",
    "start": "2026-11-29T10:15:00.000+07:00",
    "end": "2026-11-29T10:42:00.000+07:00",
    "deviceid": "collect:Xa1b2C3d4E5f6G7h",
    "username": "officer01",
    "select one": "01",
    "select all that apply": "deception debt",
    "select one external": "01",
    "geopoint": "17.97 102.6 170 5",
    "text": "ທ້າວ ສົມສັກ & Somsak <x>",
    "calculate": "13-3f9a2c1b",
    "note": "",
    "photo": "photo_1.jpg",
    "image": "photo_1.jpg",
    "audio": "voice.m4a",
    "file": "scan.pdf",
}


def build_instance(
    form_id: str, fields: list[dict], instance_id: str, *, version: str = "2026112901", repeats: int = 2
) -> bytes:
    """Write an instance of a form as JavaRosa does: every node of the field tree, repeats `repeats` times."""
    children: dict[str, list[dict]] = {}
    for f in fields:
        children.setdefault(f["path"].rsplit("/", 1)[0], []).append(f)
    root = fields[0]["path"].split("/")[1] if fields else "data"

    def write(path: str) -> str:
        out = []
        for f in children.get(path, []):
            name = f["name"]
            if f["kind"] in ("group", "repeat"):
                if name == "meta":
                    continue
                inner = write(f["path"])
                out.append(f"<{name}>{inner}</{name}>" * (repeats if f["kind"] == "repeat" else 1))
                continue
            value = _VALUES.get(f["type"], "x")
            value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            out.append(f"<{name}>{value}</{name}>" if value else f"<{name} />")
        return "".join(out)

    return (
        f'<?xml version=\'1.0\' ?><{root} id="{form_id}" version="{version}" '
        'xmlns:h="http://www.w3.org/1999/xhtml" xmlns:jr="http://openrosa.org/javarosa" '
        'xmlns:orx="http://openrosa.org/xforms" xmlns:odk="http://www.opendatakit.org/xforms">'
        f"{write('/' + root)}<meta><instanceID>{instance_id}</instanceID>"
        f"<instanceName>fuzz</instanceName></meta></{root}>"
    ).encode()


def base_instance(world: World, form_id: str, instance_id: str) -> bytes:
    if form_id == "sample_case":
        return make_instance(instance_id)
    return build_instance(form_id, world.fields[form_id], instance_id)


# --- mutations ---------------------------------------------------------------------------------------------

ENCODINGS = [
    "Shift_JIS",
    "UTF-16",
    "UTF-16LE",
    "UTF-32",
    "foo",
    "EUC-JP",
    "ISO-2022-JP",
    "Big5",
    "GB18030",
    "cp037",
    "latin-1",
    "ISO-8859-1",
    "US-ASCII",
    "utf-8",
    "UTF8",
    "",
    "x" * 300,
    "utf-7",
    "TIS-620",
]
BOMS = [
    codecs.BOM_UTF8,
    codecs.BOM_UTF16_LE,
    codecs.BOM_UTF16_BE,
    codecs.BOM_UTF32_LE,
    codecs.BOM_UTF32_BE,
    codecs.BOM_UTF8 * 2,
]
SIZES = [0, 1, 63, 64, 65, 254, 255, 256, 300, 4096, 70_000]
hostile_text = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "\x00",
            "\ud800",
            "\udfff",
            "a\ud800b",
            "&#0;",
            "&#xD800;",
            "&#x1F600;",
            "]]>",
            "<",
            "&",
            "&foo;",
            "&amp;",
            "\r\n",
            " padded ",
            "\u0661\u0662",
            "\ufeff",
            "\uffff",
            "\U0010ffff",
        ]
    ),
    st.builds(lambda c, n: c * n, st.sampled_from("a<&\x00\u0e81\ud800 "), st.sampled_from(SIZES)),
)
position = st.floats(min_value=0, max_value=1, allow_nan=False)

mutation = st.one_of(
    st.tuples(st.just("truncate"), position),
    st.tuples(st.just("flip"), position, st.integers(1, 255)),
    st.tuples(st.just("insert"), position, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), position, st.integers(1, 64)),
    st.tuples(st.just("declare"), st.sampled_from(ENCODINGS), st.booleans()),
    st.tuples(st.just("bom"), st.sampled_from(BOMS)),
    st.tuples(st.just("nest"), st.integers(0, 99), st.sampled_from([2, 63, 64, 65, 200, 5000])),
    st.tuples(st.just("text"), st.integers(0, 99), hostile_text, st.booleans()),
    st.tuples(
        st.just("attr"),
        st.integers(0, 99),
        st.sampled_from(["a", "xmlns:x", "id", "jr:x", "a b", "1"]),
        hostile_text,
        st.sampled_from([1, 2, 300]),
    ),
    st.tuples(st.just("namespace"), st.sampled_from(["default", "prefixed", "undeclared", "meta", "xml"])),
    st.tuples(st.just("cdata"), st.integers(0, 99), hostile_text),
    st.tuples(st.just("instance_id"), hostile_text),
    st.tuples(st.just("version"), hostile_text),
    st.tuples(st.just("form_id"), st.one_of(st.sampled_from(FORM_IDS + ["", " ", "nope"]), hostile_text)),
    st.tuples(
        st.just("unknown_leaves"),
        st.sampled_from(["a", "meta", "instanceID", "route", "age"]),
        st.sampled_from([2, 50, 1000, 5000]),
    ),
    st.tuples(st.just("deprecated"), hostile_text),
    st.tuples(
        st.just("prolog"),
        st.sampled_from(
            [
                "<!DOCTYPE data [<!ENTITY e 'x'>]>",
                "<!-- c -->",
                "<?pi x?>",
                "<!DOCTYPE data SYSTEM 'http://x/'>",
                "\n\n",
                "<?xml version='1.0'?>",
                "<?xml version='1.1'?>",
                "<?xml version='1.0' standalone='yes'?>",
            ]
        ),
    ),
)

_LEAF = re.compile(rb"<([A-Za-z_][\w.:-]*)(?: [^<>]*)?>([^<>]*)</\1>|<([A-Za-z_][\w.:-]*) ?/>")
_START = re.compile(rb"<([A-Za-z_][\w.:-]*)")


def _enc(value: str) -> bytes:
    return value.encode("utf-8", "surrogatepass")


def _escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _set_meta(xml: bytes, name: bytes, value: bytes) -> bytes:
    pattern = re.compile(rb"(<(?:\w+:)?" + name + rb">)[^<]*(</(?:\w+:)?" + name + rb">)")
    if pattern.search(xml):
        return pattern.sub(lambda m: m.group(1) + value + m.group(2), xml, count=1)
    return re.sub(
        rb"(<(?:\w+:)?meta>)", lambda m: m.group(1) + b"<" + name + b">" + value + b"</" + name + b">", xml, count=1
    )


def _set_root_attr(xml: bytes, name: bytes, value: bytes) -> bytes:
    return re.sub(rb"(\s" + name + rb')="[^"]*"', lambda m: m.group(1) + b'="' + value + b'"', xml, count=1)


def _root_end(xml: bytes) -> int:
    start = xml.find(b"<", xml.find(b"?>") + 2 if xml.startswith(b"<?xml") else 0)
    end = xml.find(b">", start)
    return end if end >= 0 else len(xml)


def mutate(xml: bytes, op: tuple) -> bytes:
    """Apply one mutation to an instance's bytes."""
    kind, args = op[0], op[1:]

    def at(frac: float) -> int:
        return int(frac * len(xml))

    if kind == "truncate":
        return xml[: at(args[0])]
    if kind == "flip":
        if not xml:
            return xml
        i = min(at(args[0]), len(xml) - 1)
        return xml[:i] + bytes([xml[i] ^ args[1]]) + xml[i + 1 :]
    if kind == "insert":
        return xml[: at(args[0])] + args[1] + xml[at(args[0]) :]
    if kind == "delete":
        return xml[: at(args[0])] + xml[at(args[0]) + args[1] :]
    if kind == "declare":
        encoding, reencode = args
        body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", xml)
        declared = f"<?xml version='1.0' encoding='{encoding}'?>"
        if reencode:
            try:
                return (declared + body.decode("utf-8", "surrogateescape")).encode(encoding, "xmlcharrefreplace")
            except (LookupError, UnicodeError):
                pass
        return declared.encode() + body
    if kind == "bom":
        return args[0] + xml
    if kind == "nest":
        leaves = list(_LEAF.finditer(xml))
        if not leaves:
            return xml
        leaf = leaves[args[0] % len(leaves)]
        depth = args[1]
        return xml[: leaf.start()] + b"<n>" * depth + leaf.group(0) + b"</n>" * depth + xml[leaf.end() :]
    if kind == "text":
        leaves = [m for m in _LEAF.finditer(xml) if m.group(1)]
        if not leaves:
            return xml
        leaf = leaves[args[0] % len(leaves)]
        value = _enc(_escape(args[1]) if args[2] else args[1])
        return xml[: leaf.start(2)] + value + xml[leaf.end(2) :]
    if kind == "attr":
        starts = list(_START.finditer(xml))
        if not starts:
            return xml
        where = starts[args[0] % len(starts)].end()
        attrs = b"".join(
            b" " + _enc(args[1] if n == 0 else f"{args[1]}{n}") + b'="' + _enc(_escape(args[2])) + b'"'
            for n in range(args[3])
        )
        return xml[:where] + attrs + xml[where:]
    if kind == "namespace":
        end = _root_end(xml)
        if args[0] == "default":
            return xml[:end] + b' xmlns="http://opendatakit.org/submissions"' + xml[end:]
        if args[0] == "prefixed":
            return re.sub(rb"<(/?)(meta|instanceID)>", rb"<\1orx:\2>", xml)
        if args[0] == "undeclared":
            return re.sub(rb"<(/?)(meta)>", rb"<\1zz:\2>", xml)
        if args[0] == "meta":
            return xml[:end] + b' xmlns:m="http://openrosa.org/xforms"' + xml[end:].replace(b"<meta>", b"<m:meta>")
        return xml[:end] + b' xml:lang="lo"' + xml[end:]
    if kind == "cdata":
        leaves = [m for m in _LEAF.finditer(xml) if m.group(1)]
        if not leaves:
            return xml
        leaf = leaves[args[0] % len(leaves)]
        return xml[: leaf.start(2)] + b"<![CDATA[" + _enc(args[1]) + b"]]>" + xml[leaf.end(2) :]
    if kind == "instance_id":
        return _set_meta(xml, b"instanceID", _enc(_escape(args[0])))
    if kind == "version":
        return _set_root_attr(xml, b"version", _enc(_escape(args[0])))
    if kind == "form_id":
        return _set_root_attr(xml, b"id", _enc(_escape(args[0])))
    if kind == "unknown_leaves":
        end = _root_end(xml) + 1
        name = args[0].encode()
        return xml[:end] + (b"<" + name + b">v</" + name + b">") * args[1] + xml[end:]
    if kind == "deprecated":
        return _set_meta(xml, b"deprecatedID", _enc(_escape(args[0])))
    if kind == "prolog":
        body = re.sub(rb"^\s*<\?xml[^>]*\?>", b"", xml)
        return (
            b"<?xml version='1.0'?>" + args[0].encode() + body
            if not args[0].startswith("<?xml")
            else args[0].encode() + body
        )
    raise AssertionError(f"unknown mutation {kind}")


def send_instance(world: World, xml: bytes, files: dict[str, bytes] | None = None):
    parts = [("xml_submission_file", "fuzz.xml", "text/xml", xml)]
    parts += [(name, name, "image/jpeg", body) for name, body in (files or {}).items()]
    boundary, body = multipart(parts)
    return world.post(body, f"multipart/form-data; boundary={boundary}")


def run_instance_case(world: World, form_id: str, mutations: list[tuple]) -> int:
    xml = base_instance(world, form_id, f"uuid:{uuid.uuid4()}")
    for op in mutations:
        xml = mutate(xml, op)
    return world.check(lambda: send_instance(world, xml, {"photo.jpg": b"\xff\xd8\xff\xe0 fuzz"}))


# The 5xx of issue 7 item 4 on the submission path, as (form, mutations): 4xx now, on both databases.
REPRODUCERS = [
    pytest.param("sample_case", [("declare", "Shift_JIS", False)], id="encoding-Shift_JIS-500"),
    pytest.param("sample_case", [("declare", "foo", False)], id="encoding-unknown-500"),
    pytest.param("sample_case", [("declare", "UTF-32", False)], id="encoding-UTF-32-500"),
    pytest.param("sample_case", [("instance_id", "uuid:" + "a" * 251)], id="instanceID-256-chars"),
    pytest.param("sample_case", [("version", "9" * 65)], id="version-65-chars"),
    pytest.param("sample_case", [("text", 5, "p" * 300 + ".jpg", False)], id="file-name-304-chars"),
    # Found by the fuzzer: accepted with 201, but .../submissions/uuid:a%2Fb answered 404 (unreachable).
    pytest.param("sample_case", [("instance_id", "uuid:a/b")], id="instanceID-with-slash-unreadable"),
]


@pytest.mark.slow
@FUZZ
@given(form_id=st.sampled_from(FORM_IDS), mutations=st.lists(mutation, min_size=0, max_size=4))
@example(form_id="sample_case", mutations=[])
@example(form_id="case_intake", mutations=[])
@example(form_id="sample_case", mutations=[("declare", "UTF-16", False)])
@example(form_id="sample_case", mutations=[("bom", codecs.BOM_UTF8)])
@example(form_id="referral", mutations=[("namespace", "prefixed")])
@example(form_id="sample_case", mutations=[("nest", 0, 65)])
@example(form_id="screening", mutations=[("prolog", "<!DOCTYPE data [<!ENTITY e 'x'>]>")])
@example(form_id="sample_case", mutations=[("text", 1, "\x00", False)])
@example(form_id="sample_case", mutations=[("instance_id", "uuid:" + "a" * 250)])
@example(form_id="followup", mutations=[("unknown_leaves", "a", 5000)])
def test_mutated_instances_never_5xx_and_store_nothing_when_refused(world, form_id, mutations):
    """Mutated instances of every form: never a 5xx, refusals in OpenRosa XML, nothing stored for them."""
    tolerating_open_findings(run_instance_case, world, form_id, mutations)


@pytest.mark.parametrize("form_id, mutations", REPRODUCERS)
def test_hostile_instances_of_issue_7_are_refused_cleanly(world, form_id, mutations):
    """Each reproducer is refused with a 4xx in OpenRosa XML, and nothing is stored."""
    assert run_instance_case(world, form_id, mutations) in (400, 413)


# --- the same instances through a draft's test URL and Central's REST submission ------------------------


@pytest.fixture
def draft_world(world):
    """Upload the sample form again as a draft of itself; keep its test URL on the world."""
    from tests.conftest import DATA

    world.app.config["VALIDATE_FORMS"] = False  # ODK Validate (Java) is not what is fuzzed
    response = world.client.post(
        "/v1/projects/1/forms/sample_case/draft", headers=world.auth, data=(DATA / "sample_case.xlsx").read_bytes()
    )
    assert response.status_code == 201, response.get_data()[:300]
    world.draft_url = "/v1/test/" + response.get_json()["testUrl"].split("/v1/test/", 1)[1] + "/submission"
    return world


def send_elsewhere(world: World, target: str, xml: bytes):
    if target == "draft":
        boundary, body = multipart(
            [
                ("xml_submission_file", "fuzz.xml", "text/xml", xml),
                ("photo.jpg", "photo.jpg", "image/jpeg", b"\xff\xd8\xff\xe0 fuzz"),
            ]
        )
        return world.post(body, f"multipart/form-data; boundary={boundary}", url=world.draft_url)
    # Central's REST submission (pyodk): the raw XML as the body, a web user's credentials.
    return world.client.post(
        "/v1/projects/1/forms/sample_case/submissions?deviceID=fuzz",
        data=xml,
        content_type="application/xml",
        headers=world.auth,
    )


def run_elsewhere(world: World, target: str, mutations: list[tuple]) -> int:
    xml = make_instance(f"uuid:{uuid.uuid4()}")
    for op in mutations:
        xml = mutate(xml, op)
    return world.check(lambda: send_elsewhere(world, target, xml), "openrosa" if target == "draft" else "json")


@pytest.mark.slow
@FUZZ
@given(target=st.sampled_from(["draft", "rest"]), mutations=st.lists(mutation, min_size=0, max_size=4))
@example(target="draft", mutations=[])
@example(target="rest", mutations=[])
@example(target="rest", mutations=[("form_id", "case_intake")])
def test_mutated_instances_to_a_draft_or_the_rest_route_never_5xx(draft_world, target, mutations):
    """The draft's test URL (XML answers) and POST .../submissions (JSON answers) hold to the same rules."""
    tolerating_open_findings(run_elsewhere, draft_world, target, mutations)


# --- the OpenRosa reads: form list, form, manifest, media, submission probe --------------------------------


def openrosa_reads(app) -> list[tuple[str, str]]:
    """Return (method, rule) of every OpenRosa GET/HEAD route (device, user and draft test URLs)."""
    from collector.errors import OPENROSA_BLUEPRINTS

    return [
        (method, rule.rule)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.rsplit(".", 1)[0] in OPENROSA_BLUEPRINTS
        for method in sorted(rule.methods & {"GET", "HEAD"})
    ]


@pytest.mark.slow
@FUZZ
@given(data=st.data())
@example(data=None)
def test_openrosa_reads_never_5xx(draft_world, data):
    """Any OpenRosa read with hostile ids, names, tokens and ?formID=: below 500, errors in OpenRosa XML."""
    world = draft_world
    if data is None:  # the explicit example: ?formID=%00 on the form list (issue 7 item 4)
        method, rule, params, query = "GET", "/v1/key/<token>/projects/<int:project_id>/formList", {}, "formID=%00"
    else:
        method, rule = data.draw(st.sampled_from(openrosa_reads(world.app)))
        valid = {
            "project_id": ["1"],
            "xml_form_id": ["sample_case", "case_intake"],
            "token": [world.token],
            "draft_token": [world.draft_url.split("/")[3]],
            "name": ["provinces.csv", "districts.csv"],
        }
        params = {
            name: data.draw(path_param(converter, valid.get(name, ["x"])))
            for converter, name in CONVERTER.findall(rule)
        }
        query = data.draw(st.lists(st.tuples(st.sampled_from(["formID", "deviceID", "x"]), hostile), max_size=2))
        query = "&".join(f"{encode(k)}={encode(v)}" for k, v in query)
    params.setdefault("token", world.token)
    params.setdefault("project_id", "1")
    path = CONVERTER.sub(lambda m: encode(params.get(m.group(2), "x")), rule)
    auth = world.auth if "/key/" not in rule and "/test/" not in rule else {}
    world.errors.lines.clear()
    # Buffered, so that a media file served with send_file is closed as a WSGI server would close it.
    response = world.client.open(
        f"{path}?{query}", method=method, headers={"X-OpenRosa-Version": "1.0", **auth}, buffered=True
    )
    status = response.status_code
    tolerating_open_findings(_check_read, world, response, f"{method} {path[:200]}")
    if status >= 400 and method == "GET":
        tolerating_open_findings(_check_error_body, response, f"{method} {path[:200]}")


def _check_error_body(response, what: str) -> None:
    try:
        root = ElementTree.fromstring(response.get_data())
    except ElementTree.ParseError as exc:
        raise AssertionError(f"{what} -> {response.status_code}: error body is not well-formed XML ({exc})") from None
    assert root.tag == f"{{{ORX}}}OpenRosaResponse" and (root.findtext(f"{{{ORX}}}message") or "").strip()


def _check_read(world: World, response, what: str) -> None:
    assert response.status_code < 500, f"{what} -> {response.status_code}: {world.errors.lines}"
    assert response.mimetype != "application/json", f"{what} -> {response.status_code} answered as JSON, not XML"
    assert response.headers.get("X-OpenRosa-Version") == "1.0", what


@pytest.mark.parametrize(
    "path",
    [
        # Found by the fuzzer: the id converter refuses ids past 2**31 and non-ASCII digits, so no OpenRosa route
        # matched and the app-wide 404 answered in JSON, which Collect cannot show.
        pytest.param("/v1/key/{token}/projects/2147483648/formList", id="project-id-2**31-formList-404-in-JSON"),
        pytest.param("/v1/key/{token}/projects/\u0661/formList", id="project-id-arabic-digit-formList-404-in-JSON"),
        pytest.param("/v1/key/{token}/projects/1%00/formList", id="NUL-in-path-formList-400-in-JSON"),
        # The 404 message quotes the form ID, and a control character is not allowed in XML 1.0 even escaped.
        pytest.param("/v1/key/{token}/projects/1/forms/%1F.xml", id="control-char-form-id-404-not-well-formed-XML"),
    ],
)
def test_openrosa_errors_refused_before_routing_are_well_formed_openrosa_xml(draft_world, path):
    """Errors on device URLs are OpenRosaResponse XML that parses, whatever the URL held."""
    response = draft_world.client.get(path.format(token=draft_world.token), headers={"X-OpenRosa-Version": "1.0"})
    _check_read(draft_world, response, path)
    _check_error_body(response, path)


# --- multipart envelopes ---------------------------------------------------------------------------------

part_name = st.one_of(
    st.sampled_from(
        [
            "xml_submission_file",
            "photo.jpg",
            "*isIncomplete*",
            "",
            "a\x00b",
            "x" * 300,
            "xml_submission_file\r\nX: y",
            "ພາບ.jpg",
            '"q"',
        ]
    ),
    st.text(max_size=20),
)
filename = st.one_of(
    st.none(),
    part_name,
    st.sampled_from(["../../etc/passwd", "C:\\x\\photo.jpg", ".hidden", "photo.jpg\x00.exe", "p" * 300 + ".jpg"]),
)
part = st.tuples(
    part_name,
    filename,
    st.sampled_from([None, "text/xml", "image/jpeg", "", "multipart/mixed", "text/xml; charset=Shift_JIS"]),
    st.sampled_from(["instance", "photo", "empty", "junk"]),
)
envelope = st.fixed_dictionaries(
    {
        "parts": st.lists(part, min_size=0, max_size=6),
        "instance_first": st.booleans(),
        "boundary": st.one_of(
            st.none(),
            st.sampled_from(["", "a", "x" * 71, "x" * 200, "b d", '"q"', "é", "--", "a\x00b"]),
            # (a client cannot put a line break in a header, so boundaries never hold one)
            st.text(st.characters(exclude_characters="\r\n"), min_size=1, max_size=30),
        ),
        "newline": st.sampled_from(["\r\n", "\n"]),
        "ending": st.sampled_from(["close", "missing", "no-crlf", "mangled", "epilogue"]),
        "preamble": st.sampled_from(["", "preamble\r\n", "\r\n"]),
        "content_type": st.sampled_from(
            [
                "multipart/form-data; boundary={b}",
                'multipart/form-data; boundary="{b}"',
                "Multipart/Form-Data; BOUNDARY={b}",
                "multipart/form-data",
                "multipart/form-data; boundary={b}; charset=utf-8",
                "multipart/mixed; boundary={b}",
                "text/xml",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=",
                "multipart/form-data; boundary={b}; boundary=other",
            ]
        ),
        "length": st.sampled_from(["exact", "none", "longer", "shorter", "zero", "huge"]),
    }
)


def encode_envelope(world: World, env: dict) -> tuple[str, bytes, int | None]:
    """Build (content type, body, declared Content-Length or None) from an envelope description."""
    instance = make_instance(f"uuid:{uuid.uuid4()}")
    bodies = {
        "instance": instance,
        "photo": b"\xff\xd8\xff\xe0" + b"\x01" * 2000,
        "empty": b"",
        "junk": b"--\r\n\r\n\x00\xff",
    }
    parts = list(env["parts"])
    if env["instance_first"]:
        parts.insert(0, ("xml_submission_file", "fuzz.xml", "text/xml", "instance"))
    boundary = env["boundary"] if env["boundary"] is not None else str(uuid.uuid4())
    nl = env["newline"].encode()
    b = boundary.encode("utf-8", "surrogatepass")
    out = bytearray(env["preamble"].encode())
    for name, fname, ctype, which in parts:
        out += b"--" + b + nl
        disposition = f'Content-Disposition: form-data; name="{name}"'
        if fname is not None:
            disposition += f'; filename="{fname}"'
        out += disposition.encode("utf-8", "surrogatepass") + nl
        if ctype is not None:
            out += f"Content-Type: {ctype}".encode() + nl
        out += nl + bodies[which] + nl
    ending = {
        "close": b"--" + b + b"--" + nl,
        "missing": b"",
        "no-crlf": b"--" + b + b"--",
        "mangled": b"--" + b + b"-",
        "epilogue": b"--" + b + b"--" + nl + b"epilogue --" + b + nl,
    }
    out += ending[env["ending"]]
    body = bytes(out)
    ctype = env["content_type"].replace("{b}", boundary)
    length = {
        "exact": len(body),
        "none": None,
        "longer": len(body) + 17,
        "shorter": max(len(body) - 17, 0),
        "zero": 0,
        "huge": 10**12,
    }[env["length"]]
    return ctype, body, length


def send_envelope(world: World, env: dict):
    ctype, body, length = encode_envelope(world, env)
    if length is None:
        # No Content-Length: a chunked upload, which the WSGI server has already de-chunked.
        return world.post(
            b"",
            ctype,
            input_stream=io.BytesIO(body),
            environ_overrides={"wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"},
        )
    return world.post(b"", ctype, input_stream=io.BytesIO(body), content_length=length)


@pytest.mark.slow
@FUZZ
@given(env=envelope)
@example(
    env={
        "parts": [("photo.jpg", "photo.jpg", "image/jpeg", "photo")],
        "instance_first": True,
        "boundary": None,
        "newline": "\r\n",
        "ending": "close",
        "preamble": "",
        "content_type": "multipart/form-data; boundary={b}",
        "length": "exact",
    }
)
@example(
    env={
        "parts": [],
        "instance_first": True,
        "boundary": None,
        "newline": "\r\n",
        "ending": "missing",
        "preamble": "",
        "content_type": "multipart/form-data; boundary={b}",
        "length": "exact",
    }
)
@example(
    env={
        "parts": [("photo.jpg", "photo.jpg", "image/jpeg", "photo")],
        "instance_first": True,
        "boundary": None,
        "newline": "\r\n",
        "ending": "close",
        "preamble": "",
        "content_type": "multipart/form-data; boundary={b}",
        "length": "none",
    }
)
@example(
    env={
        "parts": [],
        "instance_first": False,
        "boundary": "x" * 200,
        "newline": "\n",
        "ending": "close",
        "preamble": "",
        "content_type": "multipart/form-data; boundary={b}",
        "length": "huge",
    }
)
def test_multipart_envelopes_never_5xx_and_store_nothing_when_refused(world, env):
    """Odd multipart envelopes around a real instance: never a 5xx, nothing stored when refused."""
    tolerating_open_findings(world.check, lambda: send_envelope(world, env))
