"""Printed Lao breaks between words only: checked on the PDFs' text with the printer's own word breaker."""

from __future__ import annotations

import unicodedata

import pytest

from forms import BUNDLED_FORMS_DIR
from forms.handbook.model import FormSource, build_book
from forms.handbook.render import Tablet, render_html, write_pdf
from forms.lao import WJ, ZWSP, mark_breaks, mark_html, strip_marks, words
from tests.support.handbook import MEDIA, xlsform
from tests.support.laolines import lao_breaks

#: Lao as it is often written: a long sentence with no space at all (wider than a column of the page).
UNSPACED = (
    "ຈຸດປະສົງຂອງການສົນທະນານີ້ແມ່ນເພື່ອຊອກຫາວ່າທ່ານຕ້ອງການການຊ່ວຍເຫຼືອຫຼືການປົກປ້ອງບໍ"
    "ຂໍ້ມູນຈະຖືກເກັບຮັກສາເປັນຄວາມລັບແລະໃຊ້ເພື່ອໃຫ້ການຊ່ວຍເຫຼືອແລະສະຖິຕິທີ່ບໍ່ລະບຸຕົວບຸກຄົນເທົ່ານັ້ນ"
)


def test_word_breaker_splits_lao_into_dictionary_words():
    assert words("ທ່ານຕ້ອງການການຊ່ວຍເຫຼືອບໍ") == ("ທ່ານ", "ຕ້ອງການ", "ການຊ່ວຍເຫຼືອ", "ບໍ")


def test_marks_go_between_words_and_clusters_never_before_a_mark():
    text = "ທ່ານຕ້ອງການການຊ່ວຍເຫຼືອບໍ? Yes ແມ່ນ"
    marked = mark_breaks(text)
    assert strip_marks(marked) == text and mark_breaks(marked) == marked
    assert marked.count(ZWSP) == 3
    for i, char in enumerate(marked):
        if char in (ZWSP, WJ):
            # a joiner or a break before a combining mark would split a syllable cluster
            assert not unicodedata.combining(marked[i + 1]) and unicodedata.category(marked[i + 1]) != "Mn"
    assert mark_html('<p title="ທ່ານຕ້ອງການ">ທ່ານຕ້ອງການ</p>') == f'<p title="ທ່ານຕ້ອງການ">{mark_breaks("ທ່ານຕ້ອງການ")}</p>'


def _check(html: str) -> tuple[int, list[str]]:
    return lao_breaks(write_pdf(html), html)


def test_a_long_unspaced_lao_label_breaks_between_words():
    data = xlsform(
        [
            ["type", "name", "label::Lao (lo)", "label::English (en)", "hint::Lao (lo)"],
            ["text", "q1", UNSPACED, "Purpose", UNSPACED + UNSPACED],
        ]
    )
    book = build_book(FormSource(data))
    for paper in (False, True):
        breaks, inside = _check(render_html([book], lang="both", paper=paper))
        assert breaks >= 4
        assert inside == []


@pytest.mark.parametrize("what", ["handbook-lo", "handbook-both", "paper", "kit"])
def test_bundled_print_has_no_line_break_inside_a_lao_word(what):
    books = [build_book(FormSource(p.read_bytes(), media=MEDIA)) for p in sorted(BUNDLED_FORMS_DIR.glob("*.xlsx"))]
    if what == "handbook-lo":
        html = render_html(books, lang="lo")
    elif what == "handbook-both":
        html = render_html(books, lang="both")
    elif what == "paper":
        html = render_html(books, lang="both", paper=True)
    else:
        html = render_html(books[-1:], lang="both", tablets=[Tablet("Course tablet 05-01", "x" * 200)], province="05")
    breaks, inside = _check(html)
    assert breaks > 10
    assert inside == []
