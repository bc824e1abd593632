"""XForms uploaded as XML (as Central takes them), and the form ID of an XLSForm that gives none."""

from __future__ import annotations

import pytest

from forms.compiler import FormError, compile_xlsform
from forms.xform import compile_xform, is_xform
from tests.conftest import DATA
from tests.support.central import HTCDS_STYLE, without_form_id


@pytest.fixture(scope="module")
def sample():
    return compile_xlsform(DATA / "sample_case.xlsx", validate=False)


def test_an_xform_reads_as_the_xlsform_it_was_built_from(sample):
    uploaded = compile_xform(sample.xml_bytes, validate=True, earlier_fields=sample.fields)
    assert (uploaded.form_id, uploaded.version, uploaded.title) == ("sample_case", "2026112901", "Sample case")
    assert uploaded.fields == sample.fields and uploaded.media == ["provinces.csv"] and uploaded.xml == sample.xml
    assert is_xform(sample.xml_bytes) and not is_xform((DATA / "sample_case.xlsx").read_bytes())


def test_a_new_xforms_free_text_file_and_place_questions_are_sensitive_until_tagged(sample):
    fields = {f["path"]: f for f in compile_xform(sample.xml_bytes, validate=False).fields}
    assert fields["/data/full_name"]["sensitive"] and fields["/data/photo"]["sensitive"]
    assert fields["/data/route/place"]["sensitive"]  # a text no earlier version declared: fail closed
    assert not fields["/data/age"]["sensitive"] and not fields["/data/consent"]["sensitive"]
    assert not fields["/data/meta/instanceID"]["sensitive"]
    assert fields["/data/route"]["kind"] == "repeat" and fields["/data/route/days"]["repeat"] == "/data/route"


def test_an_xform_without_version_gets_a_timestamp(sample):
    bare = sample.xml.replace(' version="2026112901"', "", 1).encode()
    uploaded = compile_xform(bare, validate=False)
    assert len(uploaded.version) == 14 and f'version="{uploaded.version}"' in uploaded.xml


@pytest.mark.parametrize(
    "body, summary",
    [
        (b"<not xml", "The XForm is not well-formed XML."),
        (b'<!DOCTYPE x [<!ENTITY a "b">]><x xmlns="http://www.w3.org/2002/xforms"/>', "not well-formed"),
        (b'<h:html xmlns="http://www.w3.org/2002/xforms" xmlns:h="http://www.w3.org/1999/xhtml"/>', "not an XForm"),
    ],
)
def test_what_is_not_an_xform_is_refused(body, summary):
    with pytest.raises(FormError) as refused:
        compile_xform(body, validate=False)
    assert summary in refused.value.summary


def test_an_xform_whose_id_is_no_form_id_is_refused(sample):
    with pytest.raises(FormError, match="form ID"):
        compile_xform(sample.xml.replace('id="sample_case"', 'id="a b/c"', 1).encode(), validate=False)


def test_an_xlsform_without_form_id_takes_the_fallback(tmp_path):
    sheet = without_form_id(HTCDS_STYLE, tmp_path / "anything.xlsx").read_bytes()
    assert compile_xlsform(sheet, validate=False, form_id_fallback="htcds_case_form").form_id == "htcds_case_form"
    assert compile_xlsform(sheet, validate=False).form_id == "data"
    # A form that names its own form_id keeps it.
    assert compile_xlsform(HTCDS_STYLE, validate=False, form_id_fallback="other").form_id == "htcds_style"
    with pytest.raises(FormError, match="form_id"):
        compile_xlsform(sheet, validate=False, form_id_fallback="has space")
