"""What changed between two versions of a form (ingest.publishing.diff): questions added, removed,
relabelled and retyped, choices added, removed and relabelled, in the page's language."""

from __future__ import annotations

import pytest

from forms.compiler import compile_xlsform
from ingest.publishing.diff import compare_forms, label_in
from tests.conftest import DATA
from tests.support.xlsforms import changed_sample


@pytest.fixture(scope="module")
def versions():
    old = compile_xlsform(DATA / "sample_case.xlsx", validate=False)
    new = compile_xlsform(changed_sample(), validate=False)
    return old, new


def test_the_same_form_has_no_changes(versions):
    old, _ = versions
    assert compare_forms(old.fields, old.xml, old.fields, old.xml, "lo").empty


def test_questions_added_removed_and_relabelled_with_labels_in_the_language_asked(versions):
    old, new = versions
    english = compare_forms(old.fields, old.xml, new.fields, new.xml, "en")
    assert [(q.name, q.type, q.label) for q in english.added] == [("phone", "text", "Phone number")]
    assert [(q.name, q.label) for q in english.removed] == [("photo", "Photo")]
    assert [(r.name, r.old, r.new) for r in english.relabelled] == [("age", "Age", "Age in years")]
    assert not english.retyped
    lao = compare_forms(old.fields, old.xml, new.fields, new.xml, "lo")
    assert [q.label for q in lao.added] == ["ເບີໂທ"] and [q.label for q in lao.removed] == ["ຮູບພາບ"]
    # Only the English label changed: the Lao page shows that change rather than two equal Lao labels.
    assert [(r.old, r.new) for r in lao.relabelled] == [("Age", "Age in years")]


def test_choices_added_and_relabelled(versions):
    old, new = versions
    diff = compare_forms(old.fields, old.xml, new.fields, new.xml, "en")
    by_name = {c.name: c for c in diff.choices}
    assert set(by_name) == {"consent", "indicators"}
    assert by_name["indicators"].added == [("forced_labour", "Forced labour")]
    assert by_name["indicators"].removed == [] and by_name["indicators"].relabelled == []
    assert by_name["consent"].relabelled == [("no", "No", "No, not given")]
    assert by_name["consent"].label == "Consent given?"
    # Backwards, the added choice is a removed one and the added question a removed one.
    back = compare_forms(new.fields, new.xml, old.fields, old.xml, "lo")
    assert {c.name: c.removed for c in back.choices}["indicators"] == [("forced_labour", "ບັງຄັບອອກແຮງງານ")]
    assert [q.name for q in back.removed] == ["phone"] and [q.name for q in back.added] == ["photo"]


def test_a_changed_type_is_reported():
    old = [{"path": "/data/age", "name": "age", "type": "integer", "kind": "question", "label": {"default": "Age"}}]
    new = [{**old[0], "type": "decimal"}]
    xml = "<h:html xmlns:h='http://www.w3.org/1999/xhtml'/>"
    diff = compare_forms(old, xml, new, xml, "en")
    assert [(r.name, r.old, r.new) for r in diff.retyped] == [("age", "integer", "decimal")]
    assert not diff.relabelled and not diff.added and not diff.removed


def test_metadata_is_not_a_question():
    meta = {"path": "/data/meta/instanceID", "name": "instanceID", "type": "calculate", "kind": "question"}
    xml = "<h:html xmlns:h='http://www.w3.org/1999/xhtml'/>"
    assert compare_forms([], xml, [meta], xml, "en").empty


def test_label_in_picks_the_language_by_its_code_then_the_default():
    label = {"Lao (lo)": "ອາຍຸ", "English (en)": "Age"}
    assert label_in(label, "lo") == "ອາຍຸ" and label_in(label, "en") == "Age"
    assert label_in({"default": "Age"}, "lo") == "Age"
    assert label_in({"fr": "Âge"}, "lo") == "Âge" and label_in({}, "en") == ""
