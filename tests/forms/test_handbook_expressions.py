"""The skip-logic translator: one test per construct, in English and Lao, and its quoting fallback."""

from __future__ import annotations

import pytest

from forms.handbook.expressions import FieldInfo, Untranslatable, parse, translate

FIELDS = {
    "consent": FieldInfo(
        "consent",
        "select one",
        {"lo": "ຍິນຍອມບໍ?", "en": "Consent given?"},
        {"yes": {"lo": "ແມ່ນ", "en": "Yes"}, "no": {"lo": "ບໍ່", "en": "No"}},
    ),
    "age_known": FieldInfo(
        "age_known",
        "select one",
        {"lo": "ຮູ້ອາຍຸບໍ?", "en": "Age known?"},
        {"exact": {"lo": "ຮູ້ແນ່ນອນ", "en": "Exact"}, "estimated": {"lo": "ປະມານ", "en": "Estimated"}},
    ),
    "citizenship": FieldInfo(
        "citizenship",
        "select all that apply",
        {"lo": "ສັນຊາດ", "en": "Citizenship"},
        {"XX": {"lo": "ປະເທດອື່ນ", "en": "Other country"}, "ZZ": {"lo": "ບໍ່ຮູ້", "en": "Unknown"}},
    ),
    "age": FieldInfo("age", "integer", {"lo": "ອາຍຸ", "en": "Age"}),
    "visit_date": FieldInfo("visit_date", "date", {"lo": "ວັນທີຢ້ຽມ", "en": "Date of visit"}),
}


def say(expression: str, lang: str = "en", subject: str | None = None):
    result = translate(expression, FIELDS.get, subject=FIELDS.get(subject) if subject else None)
    return result.text[lang], result.exact


def test_equals_names_the_field_and_the_choice_by_their_labels():
    assert say("${consent} = 'yes'") == ("“Consent given?” is “Yes”", True)
    assert say("${consent} = 'yes'", "lo") == ("“ຍິນຍອມບໍ?” ແມ່ນ “ແມ່ນ”", True)


def test_not_equals():
    assert say("${consent} != 'no'") == ("“Consent given?” is not “No”", True)
    assert say("${consent} != 'no'", "lo")[0] == "“ຍິນຍອມບໍ?” ບໍ່ແມ່ນ “ບໍ່”"


def test_selected_says_includes():
    assert say("selected(${citizenship}, 'XX')") == ("“Citizenship” includes “Other country”", True)
    assert say("selected(${citizenship}, 'XX')", "lo")[0] == "“ສັນຊາດ” ມີການເລືອກ “ປະເທດອື່ນ”"


def test_and_joins_conditions():
    assert say("${consent} = 'yes' and ${age} >= 18")[0] == "“Consent given?” is “Yes” and “Age” is at least 18"


def test_or_of_one_field_lists_its_choices_once():
    assert say("${age_known} = 'exact' or ${age_known} = 'estimated'")[0] == "“Age known?” is “Exact” or “Estimated”"
    assert (
        say("selected(${citizenship}, 'XX') or selected(${citizenship}, 'ZZ')")[0]
        == "“Citizenship” includes “Other country” or “Unknown”"
    )


def test_or_of_different_fields_and_nested_and_keep_their_grouping():
    text, exact = say("${consent} = 'yes' or (${age} > 17 and selected(${citizenship}, 'ZZ'))")
    assert text == "“Consent given?” is “Yes” or (“Age” is more than 17 and “Citizenship” includes “Unknown”)"
    assert exact


def test_not_of_equals_and_of_selected():
    assert say("not(${consent} = 'yes')")[0] == "“Consent given?” is not “Yes”"
    assert say("not(selected(${citizenship}, 'ZZ'))")[0] == "“Citizenship” does not include “Unknown”"


def test_not_of_a_choice_list_says_neither_nor():
    assert (
        say("not(${age_known} = 'exact' or ${age_known} = 'estimated')")[0]
        == "“Age known?” is neither “Exact” nor “Estimated”"
    )


def test_not_of_anything_else_is_spelled_out():
    assert (
        say("not(${age} > 1 and ${consent} = 'yes')")[0]
        == "it is not so that (“Age” is more than 1 and “Consent given?” is “Yes”)"
    )


@pytest.mark.parametrize(
    "op, words", [("<", "is less than"), ("<=", "is at most"), (">", "is more than"), (">=", "is at least")]
)
def test_comparisons_of_numbers(op, words):
    assert say(f"${{age}} {op} 18")[0] == f"“Age” {words} 18"


def test_comparison_with_the_number_first_is_turned_round():
    assert say("18 <= ${age}")[0] == "“Age” is at least 18"


def test_comparisons_of_dates_say_before_and_after():
    assert say(". <= today()", subject="visit_date")[0] == "the answer is not after today"
    assert say(". > ${visit_date}", subject="visit_date")[0] == "the answer is after “Date of visit”"
    assert say(". <= today()", "lo", subject="visit_date")[0] == "ຄຳຕອບ ບໍ່ເກີນ ມື້ນີ້"


def test_count_selected():
    assert (
        say("count-selected(${citizenship}) > 1")[0] == "the number of answers chosen in “Citizenship” is more than 1"
    )
    text, exact = say("not(selected(., 'ZZ') and count-selected(.) > 1)", subject="citizenship")
    assert text == "it is not so that (the answer includes “Unknown” and the number of answers chosen is more than 1)"
    assert exact


def test_empty_string_means_not_answered():
    assert say("${age} = ''")[0] == "“Age” is not answered"
    assert say("${age} != ''")[0] == "“Age” is answered"


def test_field_without_label_or_unknown_field_is_named_by_its_name():
    assert say("${nowhere} = 'x'")[0] == "“nowhere” is [x]"


def test_unknown_choice_value_is_shown_as_its_code():
    assert say("${consent} = 'maybe'")[0] == "“Consent given?” is [maybe]"


def test_unknown_function_is_quoted_in_a_footnote_the_sentence_points_to():
    result = translate(". >= 1900 and . <= pulldata('years', 'max', 'key', 'now')", FIELDS.get, subject=FIELDS["age"])
    assert result.text["en"] == "the answer is at least 1900 and the answer is at most the value in note 1"
    assert result.text["lo"] == "ຄຳຕອບ ບໍ່ຕ່ຳກວ່າ 1900 ແລະ ຄຳຕອບ ບໍ່ເກີນ ຄ່າໃນໝາຍເຫດ 1"
    assert result.notes == [(1, "pulldata('years', 'max', 'key', 'now')")] and not result.exact


def test_this_year_and_the_year_of_a_date_are_said_in_words():
    assert say(". <= int(format-date(today(), '%Y'))", subject="age") == ("the answer is at most this year", True)
    assert say("int(format-date(${visit_date}, '%Y')) > 2000")[0] == "the year of “Date of visit” is more than 2000"


def test_expression_that_does_not_parse_is_quoted_whole_in_a_footnote():
    result = translate("${age} = = 3", FIELDS.get)
    assert (result.text["en"], result.notes, result.exact) == ("the rule in note 1 holds", [(1, "${age} = = 3")], False)
    assert result.text["lo"] == "ກົດໃນໝາຍເຫດ 1 ຖືກຕ້ອງ"
    with pytest.raises(Untranslatable):
        parse("${age} = = 3")


def test_regex_is_said_by_what_it_accepts():
    assert say("regex(., '^[0-9]{2}$')", subject="age") == ("the answer is two digits", True)


def test_calculations_choice_filters_and_list_counts():
    calc = translate("if(${age} < 18, 'minor', if(${age} = '', '', 'adult'))", FIELDS.get, frame="calc")
    assert calc.text["en"] == (
        "Worked out by the tablet: if “Age” is less than 18: [minor]; if “Age” is not "
        "answered: nothing; otherwise [adult]."
    )
    assert calc.exact and calc.text["lo"].startswith("ແທັບເລັດຄິດໄລ່ເອງ: ຖ້າ “ອາຍຸ” ໜ້ອຍກວ່າ 18")
    code = translate("concat(${age}, '-', substr(uuid(), 0, 8))", FIELDS.get, frame="calc")
    assert code.text["en"] == (
        "Worked out by the tablet: “Age”, a dash (-), 8 random letters and digits (0-9, a-f) "
        "written one after the other."
    )
    both = translate("coalesce(${age}, ${visit_date})", FIELDS.get, frame="calc")
    assert both.text["en"] == "Worked out by the tablet: “Age”, or when that is not answered, “Date of visit”."
    years = translate(
        "int((decimal-date-time(${visit_date}) - decimal-date-time(${age})) div 365.25)", FIELDS.get, frame="calc"
    )
    assert years.text["en"] == "Worked out by the tablet: the whole years from “Age” to “Date of visit”."
    month = translate("format-date(${visit_date}, '%Y-%m')", FIELDS.get, frame="calc")
    assert month.text["en"] == "Worked out by the tablet: “Date of visit” written as YYYY-MM."
    where = translate("province = ${age} and short_list = 'no'", FIELDS.get, frame="filter")
    assert where.text["en"] == (
        "The list shows only the entries where the entry's province is the answer to “Age” "
        "and the entry's short-list mark is “no”."
    )
    assert where.text["lo"] == (
        "ລາຍຊື່ສະແດງສະເພາະລາຍການທີ່ ແຂວງ ຂອງລາຍການ ແມ່ນ ຄຳຕອບຂອງ “ອາຍຸ” ແລະ ເຄື່ອງໝາຍລາຍຊື່ສັ້ນ ຂອງລາຍການ ແມ່ນ “ບໍ່”."
    )
    pending = translate("count(instance('pending_followups')/root/item) > 0", FIELDS.get)
    assert pending.text["en"] == "the number of entries in the list pending_followups.csv is more than 0"
    assert pending.exact


def test_frame_wraps_the_condition_in_a_sentence():
    result = translate("${consent} = 'yes'", FIELDS.get, frame="ask_if")
    assert result.text == {"en": "Ask only if “Consent given?” is “Yes”.", "lo": "ຖາມສະເພາະເມື່ອ “ຍິນຍອມບໍ?” ແມ່ນ “ແມ່ນ”."}
    assert result.source == "${consent} = 'yes'"


def test_arithmetic_is_kept_with_labels():
    assert say(". + ${age} = 10", subject="age")[0] == "the answer + “Age” is 10"


def test_field_references_are_named_by_their_labels_in_each_language():
    text, exact = say("${visit_date} > ${age} and ${consent} != ''")
    assert text == "“Date of visit” is after “Age” and “Consent given?” is answered" and exact
    assert say("${visit_date} > ${age}", "lo")[0] == "“ວັນທີຢ້ຽມ” ຫຼັງ “ອາຍຸ”"
    assert "${" not in text and "visit_date" not in text
