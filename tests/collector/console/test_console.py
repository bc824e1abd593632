"""The web console (issue 11): sign-in with the API's limits and audit, CSRF, the forms table with the hash
that formList advertises, handbook links and PDFs for trainers only, Lao and English, headers and logs."""

from __future__ import annotations

import re
import string
from xml.etree import ElementTree

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from collector.console.messages import LANGUAGES, MESSAGES
from collector.console.web import CONSOLE_CSP
from forms.lao import WJ, ZWSP, mark_breaks, strip_marks
from ingest.models import AuditEvent, SignInLimit, UserSession
from tests.conftest import ADMIN_EMAIL, ADMIN_PASSWORD
from tests.support.console import ANALYST, OFFICER, PASSWORD, TRAINER, console_sign_in, csrf_of, routed
from tests.support.fuzzing import FUZZ, encode, hostile, path_param
from tests.support.handbook import pdf_text, squash
from tests.support.openrosa import base

FORMS = "/console/projects/1/forms"
HANDBOOK = f"{FORMS}/referral/handbook.pdf"
LAO = re.compile("[\u0e80-\u0eff]")

#: The handbook tests' fixtures: the bundled referral form (titled "ການສົ່ງຕໍ່ / Referral") published with its media.


def session_cookie(client, domain="localhost"):
    cookie = client.get_cookie("session", domain=domain, path="/console")
    assert cookie is not None
    return cookie


def count(db_session, table) -> int:
    """Count a table's rows as they are now (a new transaction: SQLite keeps a snapshot until it ends)."""
    db_session.rollback()
    return db_session.scalar(select(func.count()).select_from(table))


def page(response) -> str:
    """The page's HTML without the Lao word-break marks (tested on their own below)."""
    assert response.mimetype == "text/html"
    return strip_marks(response.get_data(as_text=True))


def handbook_links(html: str) -> list[str]:
    return re.findall(r'href="([^"]*handbook\.pdf[^"]*)"', html)


def test_signed_out_visitors_and_api_credentials_are_sent_to_the_sign_in_page(client, admin, published_form):
    for path in ("/console/", FORMS, f"{FORMS}/sample_case/handbook.pdf?lang=en"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/console/login?next=/console/")
    # The console takes its cookie only: the API's Basic auth opens no page (and so needs no CSRF token).
    assert client.get(FORMS, auth=admin).status_code == 302
    login = client.get("/console/login?next=/console/projects/1/forms")
    html = page(login)
    assert login.status_code == 200 and '<html lang="lo">' in html
    assert "ເຂົ້າສູ່ລະບົບ" in html and "ກະລຸນາເຂົ້າສູ່ລະບົບກ່ອນ." in html
    assert 'name="next" value="/console/projects/1/forms"' in html


def failures(db_session) -> dict[str, int]:
    """Return the failures counted per kind of key (account, address)."""
    db_session.rollback()
    return {row.key.split(":")[0]: row.failures for row in db_session.scalars(select(SignInLimit))}


def test_wrong_password_says_so_counts_toward_the_limit_then_429(client, staff, db_session):
    for n in range(10):
        response = console_sign_in(client, ANALYST, "wrong password")
        assert response.status_code == 401, n
        html = page(response)
        assert "ອີເມວ ຫຼື ລະຫັດຜ່ານບໍ່ຖືກຕ້ອງ." in html
        assert 'value="analyst@example.la"' in html  # the email stays in the form; the password never does
        assert "wrong password" not in html
    assert failures(db_session) == {"account": 10, "address": 10}
    actions = db_session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("session.failed") == 10 and actions[-1] == "session.limited"
    # The right password is refused now, before it is checked, in the page's language.
    response = console_sign_in(client, ANALYST, PASSWORD, query_string={"lang": "en"})
    assert response.status_code == 429 and 25 <= int(response.headers["Retry-After"]) <= 30
    assert "Too many failed sign-ins. Try again in 1 minute(s)." in page(response)
    assert count(db_session, UserSession) == 0
    # The limit is the API's own: POST /v1/sessions is refused too.
    assert client.post("/v1/sessions", json={"email": ANALYST, "password": PASSWORD}).status_code == 429


def test_empty_form_and_password_over_plain_http_are_refused_without_counting(client, staff, db_session):
    token = csrf_of(client.get("/console/login?lang=en"))
    response = client.post("/console/login", data={"csrf_token": token, "email": ANALYST, "password": ""})
    assert response.status_code == 400 and "Enter your email and your password." in page(response)
    remote = {"environ_base": {"REMOTE_ADDR": "10.0.0.9"}}
    response = console_sign_in(client, ANALYST, **remote)
    assert response.status_code == 403 and "https only" in page(response)
    assert console_sign_in(client, ANALYST, base_url="https://collect.test", **remote).status_code == 302
    assert set(failures(db_session).values()) <= {0}


def test_post_without_the_csrf_token_is_refused_and_changes_nothing(client, staff, published_form, db_session):
    client.get("/console/login")
    for data in (
        {"email": ANALYST, "password": PASSWORD},
        {"email": ANALYST, "password": PASSWORD, "csrf_token": "not the token"},
    ):
        response = client.post("/console/login", data=data)
        assert response.status_code == 400 and "ບໍ່ມີຫຍັງຖືກປ່ຽນແປງ" in page(response)
    # A browser that never opened the page (another site's form) has no token at all.
    assert app_client(client).post("/console/login", data={"email": ANALYST, "password": PASSWORD}).status_code == 400
    for table in (UserSession, SignInLimit, AuditEvent):
        assert count(db_session, table) == 0, table
    # Signed in, a sign-out without the token does not sign out.
    assert console_sign_in(client, ANALYST).status_code == 302
    assert client.post("/console/logout").status_code == 400
    assert client.get(FORMS).status_code == 200  # still signed in
    assert count(db_session, UserSession) == 1


def app_client(client):
    """Return a fresh client of the same app: a browser with no cookie."""
    return client.application.test_client()


def test_sign_in_then_sign_out_revokes_the_session(client, app, staff, published_form, db_session):
    response = console_sign_in(client, TRAINER)
    assert response.status_code == 302 and response.headers["Location"] == FORMS
    set_cookie = next(v for v in response.headers.getlist("Set-Cookie") if v.startswith("session="))
    assert "HttpOnly" in set_cookie and "SameSite=Lax" in set_cookie and "Path=/console" in set_cookie
    assert "Secure" not in set_cookie  # plain http from this machine
    old = session_cookie(client).value
    # The cookie holds an opaque console session id, which the API refuses as a bearer token.
    sid = app.session_interface.get_signing_serializer(app).loads(old)["sid"]
    assert client.get("/v1/users/current", headers={"Authorization": f"Bearer {sid}"}).status_code == 401
    assert client.get(FORMS).status_code == 200
    forms = page(client.get(FORMS))
    response = client.post("/console/logout", data={"csrf_token": csrf_of(client.get(FORMS))})
    assert response.status_code == 302 and response.headers["Location"] == "/console/login?out=1"
    assert "ທ່ານໄດ້ອອກຈາກລະບົບແລ້ວ." in page(client.get(response.headers["Location"]))
    assert count(db_session, UserSession) == 0
    assert "ຄູ ບົວພັນ Trainer" in forms  # whoever is signed in is named on every page
    # The old cookie, replayed by another browser, opens nothing: the session it names was revoked.
    thief = app_client(client)
    thief.set_cookie("session", old, path="/console")
    assert thief.get(FORMS).status_code == 302
    events = db_session.execute(select(AuditEvent.action, AuditEvent.details).order_by(AuditEvent.id)).all()
    assert [(a, d.get("via")) for a, d in events] == [("session.create", "console"), ("session.delete", "console")]


def test_a_disabled_user_is_signed_out_at_once(client, staff, published_form, db_session):
    from ingest.accounts.users import set_disabled
    from ingest.models import User

    assert console_sign_in(client, ANALYST).status_code == 302
    assert client.get(FORMS).status_code == 200
    set_disabled(db_session, db_session.scalar(select(User).where(User.email == ANALYST)), True)
    db_session.commit()
    response = client.get(FORMS)
    assert response.status_code == 302 and response.headers["Location"].startswith("/console/login")
    assert console_sign_in(client, ANALYST).status_code == 401


def test_with_no_key_configured_every_worker_signs_with_the_instance_key(app, staff, published_form, instance_path):
    """As under `make serve`: no SECRET_KEY set, so each gunicorn worker reads the one generated into the
    instance folder, and a cookie one worker signed opens the pages of another."""
    from collector import create_app

    config = {name: app.config[name] for name in ("TESTING", "DATABASE_URL", "MEDIA_DIR")}
    workers = [create_app(dict(config)) for _ in range(2)]
    try:
        key = (instance_path / "secret_key").read_text().strip()
        assert workers[0].secret_key == workers[1].secret_key == key and len(key) == 64
        assert oct((instance_path / "secret_key").stat().st_mode & 0o777) == "0o600"
        first, second = (w.test_client() for w in workers)
        assert console_sign_in(first, ANALYST).status_code == 302
        second.set_cookie("session", session_cookie(first).value, path="/console")
        assert second.get(FORMS).status_code == 200
    finally:
        for worker in workers:
            worker.extensions["collector.engine"].dispose()


def test_the_cookie_is_secure_over_https(client, staff):
    response = console_sign_in(client, ANALYST, base_url="https://collect.test")
    assert response.status_code == 302 and "Secure" in response.headers["Set-Cookie"]
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000"


def test_sign_in_returns_to_a_console_page_only(client, staff, published_form):
    assert console_sign_in(client, ANALYST, next_page=FORMS).headers["Location"] == FORMS
    client.post("/console/logout", data={"csrf_token": csrf_of(client.get(FORMS))})
    for elsewhere in (
        "https://evil.example/",
        "//evil.example/console/",
        "/v1/projects",
        "/console/\\evil",
        "/console/\r\nSet-Cookie: x=1",
    ):
        response = console_sign_in(client, ANALYST, next_page=elsewhere)
        assert response.headers["Location"] == FORMS, elsewhere
        client.post("/console/logout", data={"csrf_token": csrf_of(client.get(FORMS))})


def formlist_entries(client, device) -> dict[str, dict[str, str]]:
    """Return formID -> {version, hash} from the OpenRosa formList a device gets."""
    ns = {"x": "http://openrosa.org/xforms/xformsList"}
    root = ElementTree.fromstring(client.get(f"{base(device)}/formList").data)
    return {
        x.findtext("x:formID", namespaces=ns): {
            "version": x.findtext("x:version", namespaces=ns),
            "hash": x.findtext("x:hash", namespaces=ns),
        }
        for x in root.findall("x:xform", ns)
    }


def test_forms_page_shows_each_version_and_the_formlist_hash_in_lao_and_english(
    client, staff, device, referral, published_form, db_session
):
    from ingest.accounts.users import assign_forms

    assign_forms(db_session, device, None)
    db_session.commit()
    listed = formlist_entries(client, device)
    assert set(listed) == {"referral", "sample_case"}
    console_sign_in(client, ANALYST)
    lao = page(client.get(FORMS))
    assert '<html lang="lo">' in lao
    for heading in ("ຊື່ແບບຟອມ", "ລະຫັດແບບຟອມ", "ສະບັບ", "ລະຫັດກວດສອບເນື້ອໃນ", "ວັນທີເຜີຍແຜ່", "ເປີດ"):
        assert f"{heading}<" in lao, heading
    assert ">ການສົ່ງຕໍ່<" in lao  # the Lao half of "ການສົ່ງຕໍ່ / Referral"
    english = client.get(f"{FORMS}?lang=en")
    html = page(english)
    assert '<html lang="en">' in html
    for heading in ("Title", "Form ID", "State", "Version", "Content hash", "Published", "open"):
        assert f">{heading}<" in html, heading
    assert ">Referral<" in html and 'href="/console/projects/1/forms?lang=lo"' in html and ">ພາສາລາວ<" in html
    for text in (lao, html):
        for form_id, entry in listed.items():
            row = re.search(rf"<code>{form_id}</code>.*?</tr>", text, re.S).group(0)
            assert f'<code class="version">{entry["version"]}</code>' in row
            assert f'<code class="hash">{entry["hash"]}</code>' in row  # formList's "md5:...", character for character
    assert published_form.published_at.strftime("%Y-%m-%d") in html
    # The language is remembered for the next page.
    assert '<html lang="en">' in page(client.get(FORMS))


def test_trainer_gets_the_links_and_a_real_pdf_with_version_and_hash(client, staff, referral):
    console_sign_in(client, TRAINER)
    links = handbook_links(page(client.get(FORMS)))
    assert links == [
        f"{HANDBOOK}?lang=lo",
        f"{HANDBOOK}?lang=en",
        f"{HANDBOOK}?lang=both",
        f"{HANDBOOK}?lang=lo&amp;paper=true",
    ]
    response = client.get(f"{HANDBOOK}?lang=en")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF")
    assert f"referral-{referral.version}-handbook-en.pdf" in response.headers["Content-Disposition"]
    text = pdf_text(response.data)
    assert squash(f"referral · {referral.version} · md5 {referral.xml_md5}") in text
    # The page's language stays Lao: the PDF's ?lang= is the handbook's.
    assert '<html lang="lo">' in page(client.get(FORMS))
    paper = client.get(f"{HANDBOOK}?lang=lo&paper=true")
    assert paper.status_code == 200 and "-paper-lo.pdf" in paper.headers["Content-Disposition"]
    bad = client.get(f"{HANDBOOK}?lang=fr")
    assert bad.status_code == 400 and "lo, en ຫຼື both" in page(bad)
    missing = client.get(f"{FORMS}/nope/handbook.pdf")
    assert missing.status_code == 404 and "ບໍ່ພົບ" in page(missing)
    draft = client.get(f"{HANDBOOK}?draft=true")
    assert draft.status_code == 404 and "ບໍ່ມີສະບັບ" in page(draft)


def test_admin_gets_the_links_of_a_draft_too(client, admin, referral, app, db_session, compiled_referral):
    from ingest.publishing.versions import create_draft

    create_draft(
        db_session, app.extensions["collector.store"], 1, compiled_referral, new_form=False, xml_form_id="referral"
    )
    db_session.commit()
    console_sign_in(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    html = page(client.get(f"{FORMS}?lang=en"))
    assert f"{HANDBOOK}?lang=both&amp;draft=true" in handbook_links(html)
    assert f"Draft {referral.version} handbook" in html
    draft = client.get(f"{HANDBOOK}?lang=both&draft=true")
    assert (
        draft.status_code == 200
        and f"referral-{referral.version}-draft-handbook-both.pdf" in draft.headers["Content-Disposition"]
    )


@pytest.mark.parametrize("email", [ANALYST, OFFICER])
def test_other_staff_see_the_table_without_links_and_get_403_on_the_pdf(client, staff, referral, email):
    from tests.support.access import _basic

    console_sign_in(client, email)
    html = page(client.get(f"{FORMS}?lang=en"))
    assert "<code>referral</code>" in html and handbook_links(html) == []
    assert "Printing the handbook is for trainers and administrators." in html
    # Forms are national guidelines: the page lists what the API lists for the same user (records are scoped,
    # forms are not).
    api = client.get("/v1/projects/1/forms", headers=_basic(email, PASSWORD)).get_json()
    assert sorted(re.findall(r"<td><code>([^<]+)</code></td>", html)) == sorted(f["xmlFormId"] for f in api)
    refused = client.get(f"{HANDBOOK}?lang=en")
    assert refused.status_code == 403 and refused.mimetype == "text/html"
    assert "Your role may not do that." in page(refused)


def test_index_goes_to_the_only_project_or_lists_them(client, staff, published_form, db_session):
    from ingest.publishing.versions import ensure_project

    console_sign_in(client, ANALYST)
    assert client.get("/console/").headers["Location"] == FORMS
    ensure_project(db_session, 2)
    db_session.commit()
    html = page(client.get("/console/"))
    assert 'href="/console/projects/1/forms"' in html and 'href="/console/projects/2/forms"' in html
    unknown = client.get("/console/projects/99/forms")
    assert unknown.status_code == 404 and "ບໍ່ພົບສິ່ງທີ່ທ່ານຊອກຫາ." in page(unknown)
    # Paths and methods the console does not have are answered by the console too, not in the API's JSON.
    assert client.get("/console/nope?lang=en").status_code == 404
    wrong = client.get("/console/logout")
    assert wrong.status_code == 405 and wrong.headers["Allow"] == "POST" and "not allowed" in page(wrong)
    token = csrf_of(client.get(FORMS))
    assert client.delete("/console/login").status_code == 400  # the CSRF check comes first
    assert client.put(FORMS, data={"csrf_token": token}).headers["Allow"] == "GET"


def test_pages_allow_only_their_own_style_sheet(client, staff, referral):
    console_sign_in(client, TRAINER)
    for path in ("/console/login", FORMS, f"{FORMS}?lang=en", "/console/projects/99/forms"):
        response = client.get(path)
        html = page(response)
        assert response.headers["Content-Security-Policy"] == CONSOLE_CSP, path
        assert response.headers["X-Frame-Options"] == "DENY" and response.headers["Cache-Control"] == "no-store"
        # Scripts only as files of this server, never inline; no inline style either.
        assert not re.search(r"<script(?![^>]*\ssrc=\"/console/static/)", html), path
        assert " style=" not in html and "<style" not in html and " on" not in re.sub(r">[^<]*<", "><", html), path
        assert not re.search(r'(?:href|src|action)="(?!/console/|#)', html), path  # nothing from elsewhere
    assert "script-src 'self'" in CONSOLE_CSP and "unsafe-inline" not in CONSOLE_CSP
    assert "default-src 'none'" in CONSOLE_CSP
    css = client.get("/console/static/console.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    text = css.get_data(as_text=True)
    css.close()
    assert "Phetsarath OT" in text and "Noto Sans Lao" in text
    assert "url(" not in text and "@import" not in text and "@font-face" not in text
    # The PDF keeps the API's policy, and the API keeps its own.
    for other in (f"{HANDBOOK}?lang=en", "/v1/openapi.json"):
        assert client.get(other).headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"


def test_every_message_is_in_lao_and_english_with_the_same_placeholders():
    fields = string.Formatter()
    for key, texts in MESSAGES.items():
        assert set(texts) == set(LANGUAGES), key
        names = [{f for _, f, _, _ in fields.parse(texts[lang]) if f} for lang in LANGUAGES]
        assert names[0] == names[1], key
        assert LAO.search(texts["lo"]), key


def test_no_personal_data_or_password_reaches_the_log(client, app, staff, referral, log_scan):
    assert console_sign_in(client, TRAINER, "wrong password").status_code == 401
    assert console_sign_in(client, TRAINER).status_code == 302
    token = app.session_interface.get_signing_serializer(app).loads(session_cookie(client).value)["sid"]
    assert client.get(f"{FORMS}?lang=en").status_code == 200
    assert client.get(f"{HANDBOOK}?lang=lo").status_code == 200
    assert client.post("/console/logout", data={"csrf_token": csrf_of(client.get(FORMS))}).status_code == 302
    assert any("printed the handbook of form referral" in line for line in log_scan.lines)
    secrets = [TRAINER, "trainer@", PASSWORD, "wrong password", "ຄູ ບົວພັນ", token, session_cookie(client).value]
    assert log_scan.leaks(secrets) == []


def test_json_api_and_openrosa_need_no_csrf_token_with_a_console_cookie(client, staff, device, published_form):
    console_sign_in(client, ANALYST)
    assert client.post("/v1/sessions", json={"email": ANALYST, "password": PASSWORD}).status_code == 200
    assert client.get(f"{base(device)}/formList").status_code == 200


@pytest.fixture
def fuzz_world(app, client, staff, published_form):
    """A trainer signed in on `client` (its CSRF token kept), and no sign-in limit to run into."""
    app.config["SIGNIN_MAX_FAILURES"] = 1_000_000
    assert console_sign_in(client, TRAINER).status_code == 302
    return {"signed_in": client, "csrf": csrf_of(client.get(FORMS)), "app": app}


@FUZZ
@given(data=st.data())
def test_hostile_console_requests_never_5xx_and_answer_in_html(fuzz_world, data):
    """Any console page, method, id, query and form field (NULs, lone surrogates, huge ids): below 500, and
    every error a page, never the API's JSON."""
    signed_in = data.draw(st.booleans(), "signed in")
    client = fuzz_world["signed_in"] if signed_in else fuzz_world["app"].test_client()
    rule = data.draw(
        st.sampled_from(
            [
                "/console/",
                "/console/login",
                "/console/logout",
                "/console/projects/{p}/forms",
                "/console/projects/{p}/forms/{f}/handbook.pdf",
                "/console/static/{f}",
            ]
        ),
        "page",
    )
    project = data.draw(path_param("int", ["1"]), "project")
    form = data.draw(path_param(None, ["sample_case", "console.css"]), "form")
    path = rule.format(p=encode(project), f=encode(form))
    query = data.draw(
        st.dictionaries(
            st.sampled_from(["lang", "next", "paper", "draft", "out"]),
            st.one_of(st.sampled_from(["lo", "en", "both", "true", "/console/", "/console/\n"]), hostile),
            max_size=3,
        ),
        "query",
    )
    method = data.draw(st.sampled_from(["GET", "POST"]), "method")
    fields = data.draw(
        st.dictionaries(
            st.sampled_from(["email", "password", "next", "csrf_token"]),
            st.one_of(st.sampled_from([TRAINER, PASSWORD, fuzz_world["csrf"], "/console/\r\n"]), hostile),
            max_size=4,
        ),
        "form fields",
    )
    body = "&".join(f"{encode(k)}={encode(v)}" for k, v in fields.items())
    response = client.open(
        path + "?" + "&".join(f"{encode(k)}={encode(v)}" for k, v in query.items()),
        method=method,
        data=body,
        content_type="application/x-www-form-urlencoded",
    )
    response.close()
    assert response.status_code < 500, (method, path, query, response.status_code)
    if response.status_code >= 400 and routed(fuzz_world["app"], path, method):
        assert response.mimetype == "text/html", (method, path, response.status_code, response.mimetype)


def test_lao_text_wraps_between_words_only(client, staff, referral):
    """Every text node of a Lao page carries ICU's word breaks: a break opportunity between words, a word
    joiner inside them, so a narrow screen never splits a word (ສະຖານະ "state" stays whole)."""
    console_sign_in(client, TRAINER)
    html = client.get(FORMS).get_data(as_text=True)
    state = mark_breaks("ສະຖານະ")
    assert state in html and ZWSP not in state and WJ in state  # one word, no break inside
    hash_label = mark_breaks("ລະຫັດກວດສອບເນື້ອໃນ")  # ລະຫັດ|ກວດສອບ|ເນື້ອໃນ: breaks between the three words
    assert hash_label in html and hash_label.count(ZWSP) == 2
    # Attributes, tags and URLs are left alone.
    assert WJ not in "".join(re.findall(r"<[^>]*>", html))
