"""Safe XML parsing of untrusted instances."""

from __future__ import annotations

import pytest

from ingest.xmlsafe import UnsafeXMLError, find_meta, parse


def test_namespaced_meta_is_found_by_local_name():
    root = parse(
        b'<d xmlns:orx="http://openrosa.org/xforms" id="f"><orx:meta><orx:instanceID> uuid:1 </orx:instanceID>'
        b"</orx:meta></d>"
    )
    assert find_meta(root, "instanceID") == "uuid:1"
    assert find_meta(root, "deprecatedID") is None


@pytest.mark.parametrize(
    "data, message",
    [
        (b"<a><b></a>", "not well-formed"),
        (b"<!DOCTYPE a [<!ENTITY e SYSTEM 'http://127.0.0.1:9/x'>]><a>&e;</a>", "DOCTYPE"),
        (b"<!DOCTYPE a SYSTEM 'http://127.0.0.1:9/a.dtd'><a/>", "DOCTYPE"),
        (b"<a>" * 70 + b"</a>" * 70, "nested deeper"),
    ],
)
def test_hostile_documents_are_refused(data, message):
    with pytest.raises(UnsafeXMLError, match=message):
        parse(data)


def test_size_limit():
    with pytest.raises(UnsafeXMLError, match="larger than"):
        parse(b"<a>" + b"x" * 2048 + b"</a>", max_bytes=1024)


def test_utf16_document_with_doctype_is_still_refused():
    data = "<?xml version='1.0' encoding='UTF-16'?><!DOCTYPE a [<!ENTITY e 'x'>]><a>&e;</a>".encode("utf-16")
    with pytest.raises(UnsafeXMLError, match="not UTF-8"):
        parse(data)


@pytest.mark.parametrize("encoding", ["Shift_JIS", "UTF-16", "foo", "ISO-8859-1"])
def test_declared_encoding_other_than_utf8_is_refused_with_its_name(encoding):
    with pytest.raises(UnsafeXMLError, match=f"declares the encoding '{encoding}'"):
        parse(f'<?xml version="1.0" encoding="{encoding}"?><data id="x"/>'.encode())


def test_utf8_with_bom_and_declaration_is_accepted():
    root = parse(b'\xef\xbb\xbf<?xml version="1.0" encoding="UTF-8"?><data id="x">\xe0\xba\xa5</data>')
    assert root.text == "\u0ea5"


def test_more_elements_than_the_cap_are_refused():
    parse(b"<a>" + b"<b/>" * 99 + b"</a>", max_elements=100)
    with pytest.raises(UnsafeXMLError, match="more than 100 elements"):
        parse(b"<a>" + b"<b/>" * 100 + b"</a>", max_elements=100)
