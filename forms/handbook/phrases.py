"""The handbook's fixed wording in Lao and English, and where each form's purpose comes from."""

from __future__ import annotations

import io
import logging
import re

logger = logging.getLogger(__name__)

#: pyxform type -> key of TYPES.
TYPE_KEYS = {
    "select one": "choose_one",
    "select all that apply": "choose_any",
    "select one external": "choose_one",
    "rank": "rank",
    "text": "text",
    "integer": "integer",
    "decimal": "decimal",
    "range": "decimal",
    "date": "date",
    "time": "time",
    "dateTime": "datetime",
    "photo": "photo",
    "image": "photo",
    "audio": "audio",
    "video": "video",
    "file": "file",
    "signature": "photo",
    "geopoint": "geopoint",
    "geotrace": "geotrace",
    "geoshape": "geoshape",
    "barcode": "barcode",
    "acknowledge": "acknowledge",
    "note": "note",
}

#: A question's type in plain words.
TYPES = {
    "choose_one": {"en": "choose one", "lo": "ເລືອກຄຳຕອບດຽວ"},
    "choose_any": {"en": "choose any", "lo": "ເລືອກໄດ້ຫຼາຍຄຳຕອບ"},
    "choose_one_file": {"en": "choose one from the list in {file}", "lo": "ເລືອກຄຳຕອບດຽວຈາກລາຍຊື່ໃນ {file}"},
    "rank": {"en": "put the choices in order", "lo": "ລຽງລຳດັບຕົວເລືອກ"},
    "text": {"en": "text", "lo": "ຂໍ້ຄວາມ"},
    "multiline": {"en": "text, several lines", "lo": "ຂໍ້ຄວາມ, ຫຼາຍແຖວ"},
    "integer": {"en": "a whole number", "lo": "ຕົວເລກຈຳນວນຖ້ວນ"},
    "decimal": {"en": "a number", "lo": "ຕົວເລກ"},
    "date": {"en": "a date", "lo": "ວັນທີ"},
    "date_not_future": {"en": "a date not after today", "lo": "ວັນທີທີ່ບໍ່ເກີນມື້ນີ້"},
    "date_past": {"en": "a date before today", "lo": "ວັນທີກ່ອນມື້ນີ້"},
    "date_not_past": {"en": "a date not before today", "lo": "ວັນທີທີ່ບໍ່ກ່ອນມື້ນີ້"},
    "date_future": {"en": "a date after today", "lo": "ວັນທີຫຼັງມື້ນີ້"},
    "month_year": {"en": "a month and year", "lo": "ເດືອນ ແລະ ປີ"},
    "time": {"en": "a time of day", "lo": "ເວລາ"},
    "datetime": {"en": "a date and time", "lo": "ວັນທີ ແລະ ເວລາ"},
    "photo": {"en": "a photo", "lo": "ຮູບຖ່າຍ"},
    "audio": {"en": "a sound recording", "lo": "ສຽງບັນທຶກ"},
    "video": {"en": "a video", "lo": "ວິດີໂອ"},
    "file": {"en": "a file", "lo": "ໄຟລ໌"},
    "geopoint": {"en": "a GPS location", "lo": "ຈຸດພິກັດ GPS"},
    "geotrace": {"en": "a line on the map", "lo": "ເສັ້ນໃນແຜນທີ່"},
    "geoshape": {"en": "an area on the map", "lo": "ພື້ນທີ່ໃນແຜນທີ່"},
    "barcode": {"en": "a scanned barcode", "lo": "ບາໂຄດ"},
    "acknowledge": {"en": "a tick to confirm", "lo": "ໝາຍຢືນຢັນ"},
    "note": {"en": "note: read it, nothing to answer", "lo": "ໝາຍເຫດ: ອ່ານ, ບໍ່ຕ້ອງຕອບ"},
    "other": {"en": "an answer", "lo": "ຄຳຕອບ"},
}

#: Other fixed wording of the handbook and the paper forms.
WORDS = {
    "en": {
        "range": "{t} from {a} to {b}",
        "required": "Required",
        "optional": "Optional",
        "type": "Type",
        "choices": "Choices",
        "hint": "Hint",
        "message": "If not accepted",
        "skip": "Skip logic",
        "check": "Check",
        "version": "Version",
        "hash": "Content hash (md5 of the XForm served to tablets)",
        "purpose": "Purpose",
        "draft": "DRAFT: not yet published, for review only",
        "sensitive": "Sensitive",
        "sensitive_note": (
            "Identifies a person: ask in private, write it only here, never in notes, messages or photos."
        ),
        "repeat": "Repeat for each: {a}",
        "section": "Section",
        "contents": "Contents",
        "skip_section": "If not, skip to section {n}.",
        "skip_question": "If not, skip to question {n}.",
        "skip_end_of": "If not, skip to the end of section {n}.",
        "skip_end": "If not, skip to the end of the form.",
        "questions": "{n} questions",
        "file_count": "{n} entries in {file}; the first {k}:",
        "file_missing": "The list {file} was not uploaded with this version.",
        "no_english": "This form has no English labels: its questions are shown in Lao only.",
        "no_lao": "This form has no Lao labels: its questions are shown in English only.",
        "case_code": "Case code",
        "date": "Date",
        "page": "Page",
        "tick_one": "Tick one",
        "tick_any": "Tick any",
        "write_code": "Write the code from the list",
        "write_code_in": "Write the code from list {a} at the end of this form",
        "appendix": "List {a}",
        "handbook": "Data-collection handbook",
        "paper": "Paper form",
        "printed": "Printed",
        "kit": "Training course kit",
        "province": "Province",
        "tablets": "Tablets",
        "forms": "Forms",
        "tablet": "Tablet",
        "scan": "In ODK Collect: Configure with QR code, then scan this code.",
        "keep_safe": "This code lets a tablet send data to the ministry. Keep this page safe and destroy it "
        "once the tablet is set up.",
        "country": "Lao People's Democratic Republic",
        "ministry": "Ministry of Public Security",
        "department": "Anti-Human Trafficking Department",
        "centre": "National Trafficking Database Centre",
        "edition": "Guideline version",
        "edition_date": "Date of the guidelines",
        "course": "Course",
        "page_of": "Page {n} of {m}",
        "back": "Forms in this document",
        "md5": "Content hash (md5)",
        "course_sheet": "Tablets of the course",
        "code": "Code",
        "name": "Name",
        "number": "No.",
    },
    "lo": {
        "range": "{t} ແຕ່ {a} ຫາ {b}",
        "required": "ຈຳເປັນຕ້ອງຕອບ",
        "optional": "ບໍ່ບັງຄັບ",
        "type": "ປະເພດ",
        "choices": "ຕົວເລືອກ",
        "hint": "ຄຳແນະນຳ",
        "message": "ຖ້າບໍ່ຖືກຕ້ອງ",
        "skip": "ເງື່ອນໄຂການຖາມ",
        "check": "ການກວດສອບ",
        "version": "ສະບັບ",
        "hash": "ລະຫັດກວດສອບເນື້ອໃນ (md5 ຂອງ XForm)",
        "purpose": "ຈຸດປະສົງ",
        "draft": "ຮ່າງ: ຍັງບໍ່ໄດ້ເຜີຍແຜ່, ສຳລັບກວດກາເທົ່ານັ້ນ",
        "sensitive": "ຂໍ້ມູນອ່ອນໄຫວ",
        "sensitive_note": "ລະບຸຕົວບຸກຄົນ: ຖາມເປັນສ່ວນຕົວ, ຂຽນສະເພາະບ່ອນນີ້, ຫ້າມຂຽນໃນບັນທຶກ, ຂໍ້ຄວາມ ຫຼື ຮູບຖ່າຍ.",
        "repeat": "ເຮັດຊ້ຳສຳລັບແຕ່ລະ: {a}",
        "section": "ພາກ",
        "contents": "ສາລະບານ",
        "skip_section": "ຖ້າບໍ່, ໃຫ້ຂ້າມໄປພາກ {n}.",
        "skip_question": "ຖ້າບໍ່, ໃຫ້ຂ້າມໄປຄຳຖາມ {n}.",
        "skip_end_of": "ຖ້າບໍ່, ໃຫ້ຂ້າມໄປທ້າຍພາກ {n}.",
        "skip_end": "ຖ້າບໍ່, ໃຫ້ຂ້າມໄປທ້າຍແບບຟອມ.",
        "questions": "{n} ຄຳຖາມ",
        "file_count": "{n} ລາຍການໃນ {file}; {k} ລາຍການທຳອິດ:",
        "file_missing": "ບໍ່ໄດ້ອັບໂຫຼດລາຍຊື່ {file} ກັບສະບັບນີ້.",
        "no_english": "ແບບຟອມນີ້ບໍ່ມີພາສາອັງກິດ: ຄຳຖາມສະແດງເປັນພາສາລາວເທົ່ານັ້ນ.",
        "no_lao": "ແບບຟອມນີ້ບໍ່ມີພາສາລາວ: ຄຳຖາມສະແດງເປັນພາສາອັງກິດເທົ່ານັ້ນ.",
        "case_code": "ລະຫັດກໍລະນີ",
        "date": "ວັນທີ",
        "page": "ໜ້າ",
        "tick_one": "ໝາຍອັນດຽວ",
        "tick_any": "ໝາຍໄດ້ຫຼາຍອັນ",
        "write_code": "ຂຽນລະຫັດຈາກລາຍຊື່",
        "write_code_in": "ຂຽນລະຫັດຈາກລາຍຊື່ {a} ທ້າຍແບບຟອມນີ້",
        "appendix": "ລາຍຊື່ {a}",
        "handbook": "ຄູ່ມືການເກັບກຳຂໍ້ມູນ",
        "paper": "ແບບຟອມເຈ້ຍ",
        "printed": "ພິມວັນທີ",
        "kit": "ຊຸດເອກະສານຝຶກອົບຮົມ",
        "province": "ແຂວງ",
        "tablets": "ແທັບເລັດ",
        "forms": "ແບບຟອມ",
        "tablet": "ແທັບເລັດ",
        "scan": "ໃນ ODK Collect: ເລືອກ Configure with QR code ແລ້ວສະແກນລະຫັດນີ້.",
        "keep_safe": "ລະຫັດນີ້ໃຫ້ແທັບເລັດສົ່ງຂໍ້ມູນເຖິງກະຊວງ. ເກັບຮັກສາໜ້ານີ້ໃຫ້ດີ ແລະ ທຳລາຍຖິ້ມເມື່ອຕັ້ງຄ່າແທັບເລັດແລ້ວ.",
        "country": "ສາທາລະນະລັດ ປະຊາທິປະໄຕ ປະຊາຊົນລາວ",
        "ministry": "ກະຊວງປ້ອງກັນຄວາມສະຫງົບ",
        "department": "ກົມຕ້ານການຄ້າມະນຸດ",
        "centre": "ສູນຖານຂໍ້ມູນການຄ້າມະນຸດແຫ່ງຊາດ",
        "edition": "ສະບັບຂອງຄູ່ມື",
        "edition_date": "ວັນທີຂອງຄູ່ມື",
        "course": "ຫຼັກສູດ",
        "page_of": "ໜ້າ {n} ຈາກ {m}",
        "back": "ແບບຟອມໃນເອກະສານນີ້",
        "md5": "ລະຫັດກວດສອບເນື້ອໃນ (md5)",
        "course_sheet": "ແທັບເລັດຂອງຫຼັກສູດ",
        "code": "ລະຫັດ",
        "name": "ຊື່",
        "number": "ລຳດັບ",
    },
}

#: The purpose of each bundled form, used when the XLSForm's settings sheet has no `purpose` column.
PURPOSES = {
    "screening": {
        "en": "First contact with a person who may have been trafficked, at a border, transit centre, village or "
        "police post: record consent, the signs of trafficking and the help needed, without names.",
        "lo": "ການພົບຄັ້ງທຳອິດກັບບຸກຄົນທີ່ອາດຖືກຄ້າມະນຸດ ຢູ່ດ່ານຊາຍແດນ, ສູນພັກເຊົາ, ບ້ານ ຫຼື ປ້ອມຕຳຫຼວດ: "
        "ບັນທຶກການຍິນຍອມ, ສັນຍານຂອງການຄ້າມະນຸດ ແລະ ການຊ່ວຍເຫຼືອທີ່ຕ້ອງການ ໂດຍບໍ່ບັນທຶກຊື່.",
    },
    "case_intake": {
        "en": "The full interview of a victim: identity, home, recruitment, route, exploitation, the people "
        "involved and the status of the case.",
        "lo": "ການສຳພາດຜູ້ຖືກເຄາະຮ້າຍຢ່າງລະອຽດ: ຂໍ້ມູນບຸກຄົນ, ບ້ານເກີດ, ການຊັກຊວນ, ເສັ້ນທາງ, ການຂູດຮີດ, ຜູ້ກ່ຽວຂ້ອງ ແລະ ສະຖານະຂອງກໍລະນີ.",
    },
    "referral": {
        "en": "Record the referral of a victim to another organisation for assistance.",
        "lo": "ບັນທຶກການສົ່ງຕໍ່ຜູ້ຖືກເຄາະຮ້າຍໄປຫາອົງການອື່ນ ເພື່ອຮັບການຊ່ວຍເຫຼືອ.",
    },
    "followup": {
        "en": "Record a follow-up visit to a victim: the services received, the legal case and the case status.",
        "lo": "ບັນທຶກການໄປຢ້ຽມຢາມຕິດຕາມຜູ້ຖືກເຄາະຮ້າຍ: ການຊ່ວຍເຫຼືອທີ່ໄດ້ຮັບ, ຄະດີ ແລະ ສະຖານະຂອງກໍລະນີ.",
    },
    "monthly_summary": {
        "en": "A province's monthly counts of victims and cases for the national statistics, with no names.",
        "lo": "ຈຳນວນຜູ້ຖືກເຄາະຮ້າຍ ແລະ ກໍລະນີປະຈຳເດືອນຂອງແຂວງ ສຳລັບສະຖິຕິແຫ່ງຊາດ, ບໍ່ມີຊື່.",
    },
}

_PURPOSE_COL = re.compile(r"^purpose(?:::.*\((lo|en)\))?$")


def purpose(form_id: str, xlsx: bytes) -> dict[str, str]:
    """Return a form's purpose: the settings sheet's `purpose` columns, else the bundled text, else nothing."""
    from openpyxl import load_workbook  # heavy: openpyxl only when a workbook is read

    found: dict[str, str] = {}
    try:
        workbook = load_workbook(io.BytesIO(xlsx), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - pyxform already read it; a purpose is not worth failing for
        logger.warning("could not reread the settings sheet of %s", form_id)
        return PURPOSES.get(form_id, {})
    try:
        if "settings" in workbook.sheetnames:
            rows = list(workbook["settings"].iter_rows(min_row=1, max_row=2, values_only=True))
            if len(rows) == 2:
                for head, value in zip(rows[0], rows[1], strict=False):
                    match = _PURPOSE_COL.match(str(head or "").strip())
                    if match and value:
                        found[match.group(1) or "en"] = str(value).strip()
    finally:
        workbook.close()
    return found or PURPOSES.get(form_id, {})
