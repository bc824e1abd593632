"""The forms pages' strings: upload, draft, media, test QR code, changes, publish, state and history."""

MESSAGES = {
    # Upload
    "upload_xlsform": {"lo": "ອັບໂຫຼດແບບຟອມ XLSForm", "en": "Upload an XLSForm"},
    "upload_help": {
        "lo": "ເລືອກໄຟລ໌ .xlsx (ບໍ່ເກີນ {mb} MB). ຖ້າ form_id ຂອງມັນກົງກັບແບບຟອມທີ່ມີຢູ່ແລ້ວ, ມັນຈະເປັນສະບັບຮ່າງໃໝ່"
        "ຂອງແບບຟອມນັ້ນ; ຖ້າບໍ່ດັ່ງນັ້ນ ຈະເປັນແບບຟອມໃໝ່. ບໍ່ມີຫຍັງສົ່ງໄປຫາແທັບເລັດຈົນກວ່າທ່ານຈະເຜີຍແຜ່.",
        "en": "Choose an .xlsx file (at most {mb} MB). If its form_id names a form that exists, it becomes that "
        "form's new draft; otherwise a new form starts. Nothing reaches the tablets until you publish.",
    },
    "xlsform_file": {"lo": "ໄຟລ໌ XLSForm (.xlsx)", "en": "XLSForm file (.xlsx)"},
    "upload": {"lo": "ອັບໂຫຼດ", "en": "Upload"},
    "choose_a_file": {"lo": "ກະລຸນາເລືອກໄຟລ໌ກ່ອນອັບໂຫຼດ.", "en": "Choose a file before uploading."},
    "file_empty": {"lo": "ໄຟລ໌ນີ້ຫວ່າງເປົ່າ.", "en": "The file is empty."},
    "file_too_large": {
        "lo": "ໄຟລ໌ນີ້ໃຫຍ່ເກີນໄປ: ສູງສຸດ {mb} MB.",
        "en": "The file is too large: at most {mb} MB.",
    },
    "other_form_id": {
        "lo": "form_id ຂອງ XLSForm ນີ້ບໍ່ແມ່ນ '{form_id}'. ແກ້ form_id ໃນແຜ່ນ settings, ຫຼື ອັບໂຫຼດເປັນແບບຟອມໃໝ່.",
        "en": "This XLSForm's form_id is not '{form_id}'. Fix form_id in the settings sheet, or upload it as a "
        "new form.",
    },
    "draft_stored": {"lo": "ບັນທຶກສະບັບຮ່າງ {version} ແລ້ວ.", "en": "Draft {version} stored."},
    "no_such_form": {"lo": "ບໍ່ມີແບບຟອມ '{form_id}' ໃນໂຄງການນີ້.", "en": "There is no form '{form_id}' in this project."},
    # Problems
    "xlsform_refused": {"lo": "XLSForm ນີ້ຖືກປະຕິເສດ", "en": "This XLSForm was refused"},
    "problem_sheet": {"lo": "ແຜ່ນ", "en": "Sheet"},
    "problem_row": {"lo": "ແຖວ", "en": "Row"},
    "problem_level": {"lo": "ລະດັບ", "en": "Level"},
    "problem_message": {"lo": "ບັນຫາ", "en": "Problem"},
    "level_error": {"lo": "ຂໍ້ຜິດພາດ", "en": "error"},
    "level_warning": {"lo": "ຄຳເຕືອນ", "en": "warning"},
    "xlsform_not_xlsx": {"lo": "ໄຟລ໌ນີ້ບໍ່ແມ່ນຕາຕະລາງ .xlsx.", "en": "This file is not an .xlsx spreadsheet."},
    "xlsform_damaged": {
        "lo": "ໄຟລ໌ນີ້ບໍ່ແມ່ນຕາຕະລາງ .xlsx ທີ່ອ່ານໄດ້.",
        "en": "This file is not a readable .xlsx spreadsheet.",
    },
    "xlsform_too_large": {"lo": "ຕາຕະລາງນີ້ມີຂໍ້ມູນຫຼາຍເກີນໄປ.", "en": "The spreadsheet expands to too much data."},
    "xlsform_formulas": {"lo": "XLSForm ນີ້ມີສູດຄຳນວນຂອງຕາຕະລາງ.", "en": "The XLSForm holds spreadsheet formulas."},
    "xlsform_expressions": {
        "lo": "ແທັບເລັດຈະບໍ່ຮັບເອົາບາງສຳນວນ (expression) ຂອງແບບຟອມນີ້.",
        "en": "Tablets would refuse expressions of the form.",
    },
    "xlsform_validate": {"lo": "ODK Validate ພົບຂໍ້ຜິດພາດໃນແບບຟອມ.", "en": "ODK Validate found errors in the form."},
    "xlsform_pyxform": {"lo": "pyxform ປ່ຽນແບບຟອມນີ້ບໍ່ໄດ້.", "en": "pyxform could not convert the form."},
    "xlsform_strict": {
        "lo": "ແບບຟອມມີຄຳເຕືອນ ແລະ ເປີດໂໝດເຂັ້ມງວດຢູ່.",
        "en": "The form has warnings and strict mode is on.",
    },
    "xlsform_bad_form_id": {
        "lo": "ຄ່າ form_id ໃນແຜ່ນ settings ໃຊ້ເປັນລະຫັດແບບຟອມບໍ່ໄດ້.",
        "en": "The form_id setting is not a usable form ID.",
    },
    "xlsform_version_too_long": {
        "lo": "ຄ່າ version ໃນແຜ່ນ settings ຍາວເກີນໄປ.",
        "en": "The version setting is too long.",
    },
    "problem_save_as_xlsx": {
        "lo": "ບັນທຶກແບບຟອມໃນ Excel ຫຼື LibreOffice ເປັນ .xlsx ແລ້ວອັບໂຫຼດໄຟລ໌ນັ້ນ.",
        "en": "Save the form in Excel or LibreOffice as .xlsx and upload that file.",
    },
    "problem_no_workbook": {"lo": "ໄຟລ໌ນີ້ບໍ່ມີ workbook ຂອງ Excel.", "en": "The archive holds no Excel workbook."},
    "problem_too_large": {"lo": "ໄຟລ໌ໃຫຍ່ເກີນກວ່າຈະເປັນ XLSForm.", "en": "The file is too large to be an XLSForm."},
    "problem_damaged": {
        "lo": "workbook ໃນໄຟລ໌ນີ້ເສຍຫາຍ ({kind}). ບັນທຶກແບບຟອມອີກຄັ້ງໃນ Excel ຫຼື LibreOffice ເປັນ .xlsx.",
        "en": "The workbook inside the file is damaged ({kind}). Save the form again in Excel or LibreOffice as .xlsx.",
    },
    "problem_formula": {
        "lo": "ຊ່ອງ {cell} ມີສູດຄຳນວນ; ໃຫ້ພິມຄ່າລົງໄປໂດຍກົງ.",
        "en": "Cell {cell} holds a spreadsheet formula; type the value itself.",
    },
    "problem_form_id": {
        "lo": "form_id {value} ຕ້ອງເລີ່ມດ້ວຍຕົວອັກສອນ ແລະ ມີແຕ່ຕົວອັກສອນ, ຕົວເລກ, _ . -",
        "en": "form_id {value} must start with a letter and hold only letters, digits, _ . -",
    },
    "problem_version": {
        "lo": "version ຕ້ອງບໍ່ເກີນ {limit} ຕົວອັກສອນ, ເຊັ່ນ 2026120201.",
        "en": "version must be at most {limit} characters, e.g. 2026120201.",
    },
    # The form's page
    "published_version_heading": {"lo": "ສະບັບທີ່ເຜີຍແຜ່ຢູ່", "en": "Published version"},
    "set_state": {"lo": "ປ່ຽນສະຖານະ", "en": "Change state"},
    "state_help": {
        "lo": "ເປີດ: ແທັບເລັດເຫັນແບບຟອມ. ກຳລັງປິດ: ບໍ່ສະແດງໃນແທັບເລັດອີກ ແຕ່ຍັງຮັບຂໍ້ມູນ. ປິດແລ້ວ: ບໍ່ຮັບຂໍ້ມູນ.",
        "en": "Open: tablets list the form. Closing: off the tablets' list, still accepting data. Closed: "
        "refusing data.",
    },
    "state_set": {"lo": "ສະຖານະຂອງແບບຟອມດຽວນີ້ແມ່ນ: {state}.", "en": "The form is now {state}."},
    "bad_state": {
        "lo": "ສະຖານະຕ້ອງແມ່ນ ເປີດ, ກຳລັງປິດ ຫຼື ປິດແລ້ວ.",
        "en": "A form's state is open, closing or closed.",
    },
    "draft_heading": {"lo": "ສະບັບຮ່າງ", "en": "Draft"},
    "draft_of": {"lo": "ສະບັບຮ່າງ {version}, ອັບໂຫຼດເມື່ອ {created}", "en": "Draft {version}, uploaded {created}"},
    "no_draft_yet": {
        "lo": "ແບບຟອມນີ້ບໍ່ມີສະບັບຮ່າງ. ອັບໂຫຼດ XLSForm ທີ່ປ່ຽນແປງແລ້ວຂ້າງລຸ່ມນີ້.",
        "en": "This form has no draft. Upload a changed XLSForm below.",
    },
    "no_draft": {"lo": "ແບບຟອມ '{form_id}' ບໍ່ມີສະບັບຮ່າງ.", "en": "The form '{form_id}' has no draft."},
    "warnings_heading": {"lo": "ຄຳເຕືອນຂອງ pyxform", "en": "pyxform's warnings"},
    "media_heading": {"lo": "ໄຟລ໌ສື່ທີ່ແບບຟອມໃຊ້", "en": "Media files the form uses"},
    "media_name": {"lo": "ຊື່ໄຟລ໌", "en": "File name"},
    "media_state": {"lo": "ສະຖານະ", "en": "Status"},
    "media_upload": {"lo": "ອັບໂຫຼດ", "en": "Upload"},
    "media_missing": {"lo": "ຍັງຂາດ", "en": "missing"},
    "media_present": {"lo": "ມີແລ້ວ", "en": "uploaded"},
    "media_file_for": {"lo": "ໄຟລ໌ສຳລັບ {name}", "en": "File for {name}"},
    "no_media": {"lo": "ແບບຟອມນີ້ບໍ່ໃຊ້ໄຟລ໌ສື່.", "en": "This form uses no media files."},
    "media_stored": {"lo": "ບັນທຶກໄຟລ໌ {name} ແລ້ວ.", "en": "{name} stored."},
    "media_not_used": {
        "lo": "ແບບຟອມບໍ່ໄດ້ໃຊ້ໄຟລ໌ຊື່ '{name}'. ໄຟລ໌ທີ່ມັນໃຊ້: {names}.",
        "en": "The form uses no file named '{name}'. The files it uses: {names}.",
    },
    "test_heading": {"lo": "ທົດສອບສະບັບຮ່າງ", "en": "Test the draft"},
    "test_help": {
        "lo": "ສະແກນລະຫັດ QR ນີ້ດ້ວຍ ODK Collect ເທິງແທັບເລັດຝຶກອົບຮົມ ເພື່ອຕື່ມສະບັບຮ່າງໃນໂໝດທົດສອບ. ຂໍ້ມູນທົດສອບ"
        "ຖືກເກັບແຍກ ແລະ ຈະຖືກລຶບເມື່ອເຜີຍແຜ່.",
        "en": "Scan this QR code with ODK Collect on a training tablet to fill the draft in test mode. Test "
        "data is kept apart and discarded on publish.",
    },
    "test_qr_alt": {
        "lo": "ລະຫັດ QR ສຳລັບທົດສອບສະບັບຮ່າງຂອງ {form_id}",
        "en": "QR code to test the draft of {form_id}",
    },
    "test_url": {"lo": "ທີ່ຢູ່ເຊີບເວີສຳລັບທົດສອບ (ODK Collect)", "en": "Test server URL (ODK Collect)"},
    "test_link": {
        "lo": "ເປີດລາຍການແບບຟອມທົດສອບ (ຕາມທີ່ແທັບເລັດເຫັນ)",
        "en": "Open the test form list (as a tablet sees it)",
    },
    "test_submissions": {"lo": "ຂໍ້ມູນທົດສອບທີ່ສົ່ງມາ: {count}", "en": "Test submissions received: {count}"},
    "changes_heading": {"lo": "ສິ່ງທີ່ປ່ຽນແປງທຽບກັບສະບັບທີ່ເຜີຍແຜ່", "en": "What changed against the published version"},
    "changes_first_version": {
        "lo": "ແບບຟອມນີ້ຍັງບໍ່ເຄີຍເຜີຍແຜ່: ທຸກຄຳຖາມແມ່ນໃໝ່.",
        "en": "This form was never published: every question is new.",
    },
    "changes_none": {
        "lo": "ບໍ່ມີຄຳຖາມ ຫຼື ຕົວເລືອກໃດປ່ຽນແປງ.",
        "en": "No question or choice changed.",
    },
    "diff_added": {"lo": "ຄຳຖາມທີ່ເພີ່ມໃໝ່", "en": "Questions added"},
    "diff_removed": {"lo": "ຄຳຖາມທີ່ຖືກລຶບອອກ", "en": "Questions removed"},
    "diff_relabelled": {"lo": "ຄຳຖາມທີ່ປ່ຽນຂໍ້ຄວາມ ຫຼື ປະເພດ", "en": "Questions relabelled or retyped"},
    "diff_choices": {"lo": "ຕົວເລືອກທີ່ປ່ຽນແປງ", "en": "Choices changed"},
    "diff_question": {"lo": "ຄຳຖາມ", "en": "Question"},
    "diff_published": {"lo": "ສະບັບທີ່ເຜີຍແຜ່", "en": "Published"},
    "diff_draft": {"lo": "ສະບັບຮ່າງ", "en": "Draft"},
    "diff_type": {"lo": "ປະເພດ", "en": "type"},
    "publish_heading": {"lo": "ເຜີຍແຜ່", "en": "Publish"},
    "publish_confirm": {
        "lo": "ຂ້ອຍໄດ້ທົດສອບສະບັບຮ່າງ {version} ແລ້ວ ແລະ ຕ້ອງການສົ່ງມັນໄປຫາທຸກແທັບເລັດ.",
        "en": "I have tested draft {version} and want to send it to every tablet.",
    },
    "publish_missing": {
        "lo": "ສະບັບຮ່າງຍັງຂາດໄຟລ໌ສື່: {names}.",
        "en": "The draft still lacks media files: {names}.",
    },
    "publish_force": {"lo": "ເຜີຍແຜ່ເຖິງວ່າຍັງຂາດໄຟລ໌ສື່", "en": "Publish although media files are missing"},
    "publish": {"lo": "ເຜີຍແຜ່ສະບັບຮ່າງ", "en": "Publish the draft"},
    "publish_not_confirmed": {
        "lo": "ກະລຸນາໝາຍຢືນຢັນວ່າທ່ານໄດ້ທົດສອບສະບັບຮ່າງແລ້ວ ກ່ອນເຜີຍແຜ່.",
        "en": "Tick the box confirming you tested the draft before publishing.",
    },
    "published_version": {"lo": "ເຜີຍແຜ່ສະບັບ {version} ແລ້ວ.", "en": "Version {version} published."},
    "discard_draft": {"lo": "ຍົກເລີກສະບັບຮ່າງ", "en": "Discard the draft"},
    "draft_discarded": {
        "lo": "ຍົກເລີກສະບັບຮ່າງ ແລະ ຂໍ້ມູນທົດສອບຂອງມັນແລ້ວ.",
        "en": "The draft and its test data were discarded.",
    },
    "upload_new_version": {"lo": "ອັບໂຫຼດສະບັບໃໝ່ເປັນສະບັບຮ່າງ", "en": "Upload a new version as the draft"},
    "history_heading": {"lo": "ປະຫວັດສະບັບ", "en": "Version history"},
    "downloads": {"lo": "ດາວໂຫຼດ", "en": "Downloads"},
    "no_xlsform": {
        "lo": "ສະບັບນີ້ບໍ່ໄດ້ເຜີຍແຜ່ຈາກ XLSForm.",
        "en": "This version was not published from an XLSForm.",
    },
    # The ingest layer's refusals of a form change, in the page language.
    "ingest_409_6": {
        "lo": "ສະບັບນີ້ຂອງແບບຟອມໄດ້ເຜີຍແຜ່ແລ້ວ. ປ່ຽນ version ໃນແຜ່ນ settings, ອັບໂຫຼດສະບັບຮ່າງອີກຄັ້ງ ແລ້ວເຜີຍແຜ່.",
        "en": "This version of the form is already published. Change the version in the settings sheet, upload "
        "the draft again, and publish.",
    },
    "ingest_409_54": {
        "lo": "ແບບຟອມຍັງຂາດໄຟລ໌ສື່. ອັບໂຫຼດພວກມັນກ່ອນ, ຫຼື ໝາຍ 'ເຜີຍແຜ່ເຖິງວ່າຍັງຂາດໄຟລ໌ສື່'.",
        "en": "The form still lacks media files. Upload them first, or tick 'Publish although media files are "
        "missing'.",
    },
}
