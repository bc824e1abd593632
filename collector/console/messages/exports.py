"""The strings of the exports pages: the choice of form, format, language and dates, and a job's progress."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    "exports_title": {"lo": "ດາວໂຫຼດຂໍ້ມູນ", "en": "Exports"},
    "exports_of": {"lo": "ດາວໂຫຼດຂໍ້ມູນຂອງໂຄງການ {project}", "en": "Export the records of {project}"},
    "exports_intro": {
        "lo": "ໄຟລ໌ມີສະເພາະຂໍ້ມູນທີ່ທ່ານມີສິດເບິ່ງ, ຂໍ້ມູນອ່ອນໄຫວຖືກປິດບັງຕາມບົດບາດຂອງທ່ານ, ແລະ ທຸກການດາວໂຫຼດຖືກບັນທຶກໄວ້ໃນບັນທຶກການກວດສອບ.",
        "en": "The file holds only the records you may see, with sensitive fields hidden as your role requires, "
        "and every download is recorded in the audit log.",
    },
    "export_form": {"lo": "ແບບຟອມ", "en": "Form"},
    "export_format": {"lo": "ຮູບແບບໄຟລ໌", "en": "Format"},
    "format_csv": {"lo": "CSV (ໄຟລ໌ zip, ໜຶ່ງຕາຕະລາງຕໍ່ໜຶ່ງໄຟລ໌)", "en": "CSV (a zip, one file per table)"},
    "format_xlsx": {"lo": "ຕາຕະລາງ Excel (XLSX)", "en": "Excel (XLSX)"},
    "format_geojson": {"lo": "GeoJSON (ຈຸດທີ່ຕັ້ງ ສຳລັບແຜນທີ່)", "en": "GeoJSON (locations, for maps)"},
    "format_ctdc": {
        "lo": "CTDC (ທະບຽນຄະດີ ຕາມມາດຕະຖານສາກົນ, ບໍ່ລະບຸຕົວຕົນ)",
        "en": "CTDC (the case register in the global standard, anonymised)",
    },
    "export_format_help": {
        "lo": "CTDC ແມ່ນທະບຽນຄະດີທັງໝົດທີ່ທ່ານມີສິດນັບ: ບໍ່ຂຶ້ນກັບແບບຟອມ, ພາສາ ຫຼື ວັນທີ.",
        "en": "CTDC is the whole case register you may count: the form, language and dates do not apply.",
    },
    "export_lang": {"lo": "ຄຳຕອບທີ່ເປັນຕົວເລືອກ", "en": "Choice answers"},
    "lang_names": {"lo": "ຊື່ຕົວເລືອກ (ຕາມແບບຟອມ)", "en": "Choice names (as in the form)"},
    "lang_lo": {"lo": "ປ້າຍພາສາລາວ", "en": "Lao labels"},
    "lang_en": {"lo": "ປ້າຍພາສາອັງກິດ", "en": "English labels"},
    "export_lang_help": {
        "lo": "ປ້າຍມີໃນ CSV ແລະ Excel ເທົ່ານັ້ນ.",
        "en": "Labels are written in CSV and Excel only.",
    },
    "export_start": {"lo": "ສົ່ງມາແຕ່ວັນທີ", "en": "Submitted from"},
    "export_end": {"lo": "ຫາວັນທີ (ລວມມື້ນັ້ນ)", "en": "Until (that day included)"},
    "export_dates_help": {
        "lo": "ປ່ອຍວ່າງໄວ້ ເພື່ອເອົາທຸກວັນທີ. ວັນທີນັບຕາມເວລາ UTC.",
        "en": "Leave empty for every date. Days are counted in UTC.",
    },
    "export_bom": {
        "lo": "ໃຫ້ Excel ໃນ Windows ອ່ານພາສາລາວໄດ້ຖືກຕ້ອງ (UTF-8 BOM, ສຳລັບ CSV)",
        "en": "Let Excel on Windows read Lao correctly (UTF-8 BOM, for CSV)",
    },
    "export_download": {"lo": "ດາວໂຫຼດ", "en": "Download"},
    "export_no_forms": {
        "lo": "ໂຄງການນີ້ຍັງບໍ່ມີແບບຟອມທີ່ເຜີຍແຜ່ແລ້ວ.",
        "en": "This project has no published form yet.",
    },
    "export_building": {
        "lo": "ກຳລັງສ້າງໄຟລ໌... ໄດ້ຮັບແລ້ວ {size}.",
        "en": "Building the file... {size} received.",
    },
    "export_done": {"lo": "ດາວໂຫຼດສຳເລັດ: {name}", "en": "Downloaded: {name}"},
    "export_failed": {
        "lo": "ການດາວໂຫຼດບໍ່ສຳເລັດ. ກະລຸນາລອງໃໝ່.",
        "en": "The download failed. Please try again.",
    },
    # Refusals
    "export_bad_format": {
        "lo": "ກະລຸນາເລືອກຮູບແບບໄຟລ໌ຈາກລາຍການ.",
        "en": "Choose a format from the list.",
    },
    "export_bad_form": {
        "lo": "ບໍ່ມີແບບຟອມນີ້ທີ່ເຜີຍແຜ່ແລ້ວໃນໂຄງການນີ້.",
        "en": "There is no such published form in this project.",
    },
    "export_bad_language": {
        "lo": "ກະລຸນາເລືອກພາສາຈາກລາຍການ.",
        "en": "Choose a language from the list.",
    },
    "export_bad_date": {
        "lo": "ວັນທີບໍ່ຖືກຕ້ອງ: ກະລຸນາໃຊ້ຮູບແບບ ປີ-ເດືອນ-ວັນ, ເຊັ່ນ 2026-12-01.",
        "en": "That is not a date: use year-month-day, such as 2026-12-01.",
    },
    "export_bad_range": {
        "lo": "ວັນທີສິ້ນສຸດຢູ່ກ່ອນວັນທີເລີ່ມຕົ້ນ.",
        "en": "The end date is before the start date.",
    },
    "export_no_job": {
        "lo": "ບໍ່ພົບການດາວໂຫຼດນີ້: ມັນອາດໝົດອາຍຸແລ້ວ ຫຼື ເປັນຂອງຜູ້ໃຊ້ອື່ນ.",
        "en": "No such export: it may have expired, or be another user's.",
    },
    "export_not_ready": {
        "lo": "ໄຟລ໌ນີ້ຍັງບໍ່ພ້ອມ ຫຼື ໝົດອາຍຸແລ້ວ.",
        "en": "This file is not ready, or has expired.",
    },
    # A background job's page
    "export_job_title": {"lo": "ດາວໂຫຼດ: {name}", "en": "Export: {name}"},
    "export_state_queued": {"lo": "ລໍຖ້າຄິວ...", "en": "Waiting in the queue..."},
    "export_state_started": {"lo": "ກຳລັງສ້າງ...", "en": "Building..."},
    "export_state_finished": {"lo": "ພ້ອມແລ້ວ.", "en": "Ready."},
    "export_state_failed": {
        "lo": "ການສ້າງໄຟລ໌ບໍ່ສຳເລັດ. ກະລຸນາລອງໃໝ່ ຫຼື ແຈ້ງຜູ້ເບິ່ງແຍງລະບົບ.",
        "en": "The export failed. Try again, or tell the administrator.",
    },
    "export_state_expired": {
        "lo": "ໄຟລ໌ນີ້ໝົດອາຍຸແລ້ວ (ເກັບໄວ້ 1 ຊົ່ວໂມງ). ກະລຸນາສ້າງໃໝ່.",
        "en": "This file has expired (kept for one hour). Please export again.",
    },
    "export_progress": {"lo": "{done} ຈາກ {total} ບັນທຶກ", "en": "{done} of {total} records"},
    "export_progress_unknown": {"lo": "{done} ບັນທຶກ", "en": "{done} records"},
    "export_refresh": {"lo": "ກວດເບິ່ງອີກຄັ້ງ", "en": "Check again"},
    "export_again": {"lo": "ດາວໂຫຼດອື່ນ", "en": "Another export"},
}
