"""Latin name folding across romanisation styles, Lao-script romanisation, and phone numbers."""

import pytest

from ingest.persons.matching.phone import normalise_phone
from ingest.persons.matching.romanise import fold_latin, name_key, romanise_lao


@pytest.mark.parametrize(
    "spellings",
    [
        ("Souk", "Suk", "SOUK"),
        ("Vongsavanh", "Wongsawan", "Vongssavan"),
        ("Phonethip", "Phonthip", "Ponthib"),
        ("Keomany", "Keomanee", "Kaeomani", "Keowmany"),
        ("Saiyasone", "Xaiyasone", "Sayasone"),
        ("Douangmany", "Duangmany"),
        ("Viengkham", "Viangkham"),
        ("Sombath", "Sombat", "Sombad"),
        ("Pommasorn", "Phommasone"),
        ("Chanthala", "Janthala", "Chantha La"),
        ("Souvannasi", "Souvanna Si", "Suvannasy"),
        ("Deuane", "Duean"),
    ],
)
def test_romanisations_of_one_name_fold_alike(spellings):
    assert len({fold_latin(s) for s in spellings}) == 1


@pytest.mark.parametrize("a, b", [("Bouavanh", "Bouasy"), ("Somchanh", "Somphone"), ("Keo", "Kham")])
def test_different_names_stay_apart(a, b):
    assert fold_latin(a) != fold_latin(b)


def test_titles_and_accents_are_dropped():
    assert fold_latin("Nang Kéomany") == fold_latin("Mr. Keomany") == fold_latin("keomany")
    assert fold_latin("Nang") == "nang"


@pytest.mark.parametrize(
    "lao, latin",
    [
        ("ສົມພອນ", "Somphone"),
        ("ວົງສະຫວັນ", "Vongsavanh"),
        ("ແກ້ວມະນີ", "Keomany"),
        ("ດວງຈັນ", "Douangchanh"),
        ("ໄຊຍະສອນ", "Xaiyasone"),
        ("ເດືອນ", "Deuane"),
        ("ຫຼວງລາດ", "Luanglath"),
        ("ມະນີວອນ", "Manivone"),
        ("ບົວສີ", "Bouasy"),
        ("ເພັດ", "Phet"),
        ("ວຽງຄຳ", "Viengkham"),
        ("ຈັນທະລາ", "Chanthala"),
    ],
)
def test_lao_script_romanises_to_the_key_of_its_latin_spelling(lao, latin):
    assert fold_latin(romanise_lao(lao)) == fold_latin(latin)


def test_name_key_prefers_lao_script_and_falls_back_to_latin():
    assert name_key("ນາງ ສົມພອນ", "whatever") == fold_latin("Somphone")
    assert name_key("", "Somphone") == fold_latin("Somphone")


@pytest.mark.parametrize(
    "typed",
    [
        "+856 20 2968 4577",
        "020 2968 4577",
        "02029684577",
        "2029684577",
        "8562029684577",
        "020-2968-4577",
        "00856 20 29684577",
        "໐໒໐ ໒໙໖໘ ໔໕໗໗",
    ],
)
def test_phone_formats_normalise_to_the_national_number(typed):
    assert normalise_phone(typed) == "2029684577"


def test_phone_without_enough_digits_is_empty():
    assert normalise_phone("020 12") == "" and normalise_phone(None) == ""
    assert normalise_phone("+856 30 556 5500") == "305565500"


def test_names_in_neither_lao_nor_latin_script_give_no_key():
    assert fold_latin("สมพร") == "" and name_key("", "สมพร") == ""
