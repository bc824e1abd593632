"""Each class of Lao encoding variant folds to one spelling."""

from ingest.persons.matching.lao import is_lao, normalise_lao, normalise_name, normalise_village, spelling_key


def test_legacy_ho_no_folds_to_ligature():
    assert normalise_lao("ຫນູ") == "ໜູ"


def test_legacy_ho_mo_folds_to_ligature():
    assert normalise_lao("ສົມສະໄຫມ") == "ສົມສະໄໝ"


def test_legacy_ho_lo_folds_to_subscript_lo():
    assert normalise_lao("ໂສກປ່າຫລວງ") == "ໂສກປ່າຫຼວງ"


def test_decomposed_sara_am_is_composed():
    assert normalise_lao("ຄ\u0ecd\u0eb2ສິງ") == "ຄຳສິງ"


def test_decomposed_sara_am_with_tone_mark_is_composed_in_canonical_order():
    canonical = "ນ\u0ec9\u0eb3"
    assert normalise_lao("ນ\u0ec9\u0ecd\u0eb2") == canonical
    assert normalise_lao("ນ\u0ecd\u0ec9\u0eb2") == canonical
    assert normalise_lao("ນ\u0eb3\u0ec9") == canonical


def test_tone_mark_typed_before_vowel_sign_is_reordered():
    assert normalise_lao("ກ\u0ec8\u0eb4ງ") == normalise_lao("ກ\u0eb4\u0ec8ງ") == "ກິ່ງ"
    assert normalise_lao("ສ\u0ec9\u0eb9") == "ສູ້"


def test_zero_width_characters_are_removed():
    assert normalise_lao("ສຸພາ\u200bພອນ\u200c\ufeff") == "ສຸພາພອນ"


def test_no_break_and_repeated_spaces_collapse():
    assert normalise_lao("  ບ້ານ\u00a0 ດ່ານຊີ ") == "ບ້ານ ດ່ານຊີ"


def test_lao_digits_become_ascii():
    assert normalise_lao("໐໒໐ ໒໗໒໗") == "020 2727"


def test_honorific_is_stripped_from_names():
    assert normalise_name("ນາງ ຈັນທະລາ") == "ຈັນທະລາ"
    assert normalise_name("ທ້າວ ບຸນ ໄຊ") == "ບຸນໄຊ"


def test_village_word_is_stripped():
    assert normalise_village("ບ້ານ ໜອງໃສ") == normalise_village("ໜອງໃສ") == "ໜອງໃສ"


def test_spelling_key_drops_silent_letter_and_merges_confusable_letters():
    assert spelling_key(normalise_name("ຣາດສະວົງສ໌")) == spelling_key(normalise_name("ລາດສະວົງ"))
    assert spelling_key("ດວງດີ") == spelling_key("ດວງດິ")
    assert spelling_key("ສູພາວັນ") == spelling_key("ສຸພາວັນ")


def test_spelling_key_keeps_different_names_apart():
    assert spelling_key("ບົວວັນ") != spelling_key("ບົວສີ")


def test_is_lao_tells_scripts_apart():
    assert is_lao("ສົມ Som") and not is_lao("Somphone") and not is_lao("")
