"""The strings of the tablets and courses pages."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    "devices_title": {"lo": "ແທັບເລັດ", "en": "Tablets"},
    "devices_help": {
        "lo": "ແທັບເລັດແຕ່ລະໜ່ວຍສົ່ງຂໍ້ມູນດ້ວຍລະຫັດຂອງຕົນເອງ ແລະ ເຫັນສະເພາະແບບຟອມທີ່ມອບໃຫ້. ແທັບເລັດທີ່ເສຍ ຫຼື ຖືກລັກ: ຍົກເລີກມັນທັນທີ.",
        "en": "Each tablet sends records with a token of its own and sees only the forms given to it. "
        "A lost or stolen tablet: revoke it at once.",
    },
    "no_devices": {"lo": "ຍັງບໍ່ມີແທັບເລັດ.", "en": "There are no tablets yet."},
    "device_name": {"lo": "ຊື່ແທັບເລັດ", "en": "Tablet name"},
    "device_province": {"lo": "ແຂວງ", "en": "Province"},
    "device_forms": {"lo": "ແບບຟອມ", "en": "Forms"},
    "device_forms_pick": {
        "lo": "ແບບຟອມທີ່ແທັບເລັດນີ້ໃຊ້ໄດ້ (ບໍ່ເລືອກ: ທຸກແບບຟອມ)",
        "en": "Forms this tablet may fill (none ticked: every form)",
    },
    "device_no_forms": {"lo": "ບໍ່ມີແບບຟອມ", "en": "no form"},
    "device_state": {"lo": "ສະຖານະ", "en": "State"},
    "device_active": {"lo": "ໃຊ້ງານໄດ້", "en": "active"},
    "device_revoked": {"lo": "ຍົກເລີກແລ້ວ", "en": "revoked"},
    "device_created": {"lo": "ສ້າງເມື່ອ", "en": "Created"},
    "device_last_seen": {"lo": "ເຫັນຄັ້ງສຸດທ້າຍ", "en": "Last seen"},
    "device_last_submission": {"lo": "ສົ່ງຂໍ້ມູນຄັ້ງສຸດທ້າຍ", "en": "Last submission"},
    "never": {"lo": "ບໍ່ເຄີຍ", "en": "never"},
    "device_new": {"lo": "ສ້າງແທັບເລັດໃໝ່", "en": "New tablet"},
    "device_create": {"lo": "ສ້າງແທັບເລັດ", "en": "Create the tablet"},
    "device_qr": {"lo": "ລະຫັດ QR ສຳລັບ ODK Collect", "en": "QR code for ODK Collect"},
    "device_qr_help": {
        "lo": 'ໃນ ODK Collect ເລືອກ "ຕັ້ງຄ່າດ້ວຍລະຫັດ QR" ແລ້ວສະແກນລະຫັດນີ້. ລະຫັດນີ້ເປັນຄືລະຫັດຜ່ານຂອງແທັບເລັດ: '
        "ສະແດງມັນສະເພາະໃນຫ້ອງຝຶກອົບຮົມ.",
        "en": 'In ODK Collect choose "Configure with QR code" and scan this code. The code is as good as the '
        "tablet's password: show it in the training room only.",
    },
    "device_qr_alt": {"lo": "ລະຫັດ QR ຂອງ {name}", "en": "QR code of {name}"},
    "device_server_url": {"lo": "ທີ່ຢູ່ເຊີບເວີ", "en": "Server URL"},
    "device_revoke": {"lo": "ຍົກເລີກແທັບເລັດນີ້", "en": "Revoke this tablet"},
    "device_revoke_confirm": {
        "lo": "ຂ້ອຍເຂົ້າໃຈວ່າແທັບເລັດນີ້ຈະສົ່ງຂໍ້ມູນບໍ່ໄດ້ອີກ.",
        "en": "I understand that this tablet will not be able to send records any more.",
    },
    "device_confirm_needed": {
        "lo": "ກະລຸນາໝາຍຖືກຢືນຢັນກ່ອນຍົກເລີກແທັບເລັດ.",
        "en": "Tick the confirmation before revoking the tablet.",
    },
    "device_revoked_no_qr": {
        "lo": "ແທັບເລັດນີ້ຖືກຍົກເລີກແລ້ວ: ລະຫັດ QR ຂອງມັນໃຊ້ບໍ່ໄດ້ອີກ.",
        "en": "This tablet was revoked: its QR code no longer works.",
    },
    "device_bad_name": {
        "lo": "ກະລຸນາໃສ່ຊື່ແທັບເລັດ (ບໍ່ເກີນ {max} ຕົວອັກສອນ).",
        "en": "Enter the tablet's name (at most {max} characters).",
    },
    "device_bad_province": {
        "lo": "ກະລຸນາເລືອກແຂວງໜຶ່ງໃນ 18 ແຂວງ.",
        "en": "Choose one of the 18 provinces.",
    },
    "device_bad_form": {
        "lo": "ແບບຟອມທີ່ເລືອກບໍ່ມີຢູ່ໃນໂຄງການນີ້.",
        "en": "A form you ticked is not in this project.",
    },
    "device_other_province": {
        "lo": "ທ່ານສ້າງແທັບເລັດໄດ້ສະເພາະແຂວງຂອງທ່ານເທົ່ານັ້ນ.",
        "en": "You may create tablets for your own provinces only.",
    },
    # Courses
    "course_link": {"lo": "ກຽມແທັບເລັດສຳລັບຫຼັກສູດຝຶກອົບຮົມ", "en": "Set up the tablets of a training course"},
    "course_title": {"lo": "ຫຼັກສູດຝຶກອົບຮົມ", "en": "Training course"},
    "course_help": {
        "lo": "ສ້າງແທັບເລັດທັງໝົດຂອງຫຼັກສູດໃນຄັ້ງດຽວ ແລະ ດາວໂຫຼດຊຸດເອກະສານ PDF: ໜ້າປົກ, ລາຍຊື່ແທັບເລັດ, ຄູ່ມື "
        "ແລະ ໜຶ່ງໜ້າ A4 ຕໍ່ແທັບເລັດໜຶ່ງໜ່ວຍພ້ອມລະຫັດ QR ຂອງມັນ.",
        "en": "Create every tablet of a course at once and download its kit as a PDF: cover, list of tablets, "
        "handbook, and one A4 page per tablet with its QR code.",
    },
    "course_name": {"lo": "ຊື່ຫຼັກສູດ", "en": "Course name"},
    "course_count": {"lo": "ຈຳນວນແທັບເລັດ (1 ຫາ {max})", "en": "Number of tablets (1 to {max})"},
    "course_language": {"lo": "ພາສາຂອງຄູ່ມື", "en": "Language of the handbook"},
    "course_make": {"lo": "ສ້າງແທັບເລັດ ແລະ ດາວໂຫຼດ PDF", "en": "Create the tablets and download the PDF"},
    "course_bad_count": {
        "lo": "ຈຳນວນແທັບເລັດຕ້ອງເປັນຕົວເລກແຕ່ 1 ຫາ {max}.",
        "en": "The number of tablets must be a whole number from 1 to {max}.",
    },
    "course_bad_language": {
        "lo": "ພາສາຂອງຄູ່ມືຕ້ອງເປັນ ລາວ, ອັງກິດ ຫຼື ສອງພາສາ.",
        "en": "The handbook's language must be Lao, English or both.",
    },
    "course_bad_emblem": {
        "lo": "ໄຟລ໌ຕາສັນຍາລັກທີ່ຕັ້ງໄວ້ໃນເຊີບເວີໃຊ້ບໍ່ໄດ້: ກະລຸນາແຈ້ງຜູ້ດູແລລະບົບ.",
        "en": "The emblem file set on the server is unusable: tell the administrator.",
    },
}
