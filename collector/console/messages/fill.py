"""The strings of the pages that fill forms in the browser (ODK Web Forms) and of the desk links."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    "fill_title": {"lo": "ປ້ອນແບບຟອມ", "en": "Fill in a form"},
    "fill_help": {
        "lo": "ເລືອກແບບຟອມເພື່ອປ້ອນຂໍ້ມູນໃນໂປຣແກຣມທ່ອງເວັບ. ຂໍ້ມູນຖືກສົ່ງຄືກັບຈາກແທັບເລັດ.",
        "en": "Choose a form to fill in this browser. The record is sent as a tablet sends it.",
    },
    "fill_link": {"lo": "ປ້ອນ", "en": "Fill in"},
    "fill_none": {"lo": "ບໍ່ມີແບບຟອມທີ່ເປີດຢູ່.", "en": "There is no open form to fill."},
    "fill_back": {"lo": "← ແບບຟອມທັງໝົດ", "en": "← All forms"},
    "fill_language_help": {
        "lo": "ປ່ຽນພາສາຂອງແບບຟອມ (ລາວ / English) ໃນເມນູພາສາຂອງແບບຟອມ.",
        "en": "Switch the form's language (Lao / English) in the form's language menu.",
    },
    "fill_offline_help": {
        "lo": "ຕ້ອງມີອິນເຕີເນັດເມື່ອກົດສົ່ງ. ຖ້າສົ່ງບໍ່ໄດ້, ຢ່າປິດໜ້ານີ້: ຄຳຕອບຍັງຢູ່, ກົດສົ່ງອີກຄັ້ງ.",
        "en": "Sending needs the connection. If it fails, keep this page open: the answers stay, press Send again.",
    },
    "fill_not_built": {
        "lo": "ODK Web Forms ຍັງບໍ່ໄດ້ຕິດຕັ້ງໃນເຊີບເວີນີ້: ຕິດຕັ້ງ Node.js 20 ແລ້ວແລ່ນ make webforms.",
        "en": "ODK Web Forms is not built on this server: install Node.js 20, then run make webforms.",
    },
    "fill_no_script": {"lo": "ໜ້ານີ້ຕ້ອງການ JavaScript.", "en": "This page needs JavaScript."},
    "fill_no_form": {
        "lo": "ບໍ່ມີແບບຟອມນີ້, ຫຼື ມັນຍັງບໍ່ໄດ້ເຜີຍແຜ່.",
        "en": "There is no such form, or it was never published.",
    },
    "fill_form_closed": {
        "lo": "ແບບຟອມນີ້ປິດແລ້ວ ແລະ ບໍ່ຮັບຂໍ້ມູນໃໝ່.",
        "en": "This form is closed and takes no new records.",
    },
    "fill_loading": {"lo": "ກຳລັງໂຫຼດແບບຟອມ…", "en": "Loading the form…"},
    "fill_sending": {"lo": "ກຳລັງສົ່ງ…", "en": "Sending…"},
    "fill_sent": {"lo": "ສົ່ງແລ້ວ.", "en": "Sent."},
    "fill_refused": {"lo": "ເຊີບເວີບໍ່ຮັບຂໍ້ມູນນີ້", "en": "The server did not take this record"},
    "fill_offline": {
        "lo": "ສົ່ງບໍ່ໄດ້: ບໍ່ມີການເຊື່ອມຕໍ່. ຢ່າປິດໜ້ານີ້; ກົດສົ່ງອີກຄັ້ງເມື່ອມີອິນເຕີເນັດ.",
        "en": "Not sent: no connection. Keep this page open and press Send again when you are back online.",
    },
    "fill_invalid": {
        "lo": "ບາງຄຳຕອບຍັງບໍ່ຄົບ ຫຼື ບໍ່ຖືກຕ້ອງ.",
        "en": "Some answers are missing or not valid.",
    },
    "fill_cannot_load": {
        "lo": "ໂຫຼດແບບຟອມບໍ່ໄດ້. ໂຫຼດໜ້ານີ້ຄືນໃໝ່.",
        "en": "The form could not be loaded. Reload this page.",
    },
    "desk_title": {"lo": "ໂຕະບໍລິການ: {name}", "en": "Desk: {name}"},
    "desk_province": {"lo": "ບັນທຶກຂອງແຂວງ {code}", "en": "Records of province {code}"},
    "desk_refused": {
        "lo": "ລິ້ງໂຕະບໍລິການນີ້ບໍ່ຖືກຕ້ອງ ຫຼື ຖືກຍົກເລີກແລ້ວ. ຂໍລິ້ງໃໝ່ຈາກຜູ້ບໍລິຫານລະບົບ.",
        "en": "This desk link is unknown or was revoked. Ask your administrator for a new one.",
    },
    "desks_title": {"lo": "ລິ້ງໂຕະບໍລິການ", "en": "Desk links"},
    "desks_help": {
        "lo": "ລິ້ງໂຕະບໍລິການໃຫ້ສູນພັກພິງ ຫຼື ຫ້ອງການປ້ອນແບບຟອມໃນໂປຣແກຣມທ່ອງເວັບ, ສຳລັບແຂວງດຽວ, ບໍ່ຕ້ອງມີບັນຊີ. "
        "ຜູ້ທີ່ມີລິ້ງສົ່ງຂໍ້ມູນໄດ້: ເກັບມັນໄວ້ຄືລະຫັດຜ່ານ ແລະ ຍົກເລີກມັນເມື່ອບໍ່ໃຊ້.",
        "en": "A desk link lets a shelter or office fill the forms in a browser, for one province, without an "
        "account. Whoever has the link can send records: keep it like a password and revoke it when it is "
        "no longer used.",
    },
    "desks_none": {"lo": "ຍັງບໍ່ມີລິ້ງໂຕະບໍລິການ.", "en": "There are no desk links yet."},
    "desk_name": {"lo": "ຊື່ໂຕະ", "en": "Desk name"},
    "desk_link": {"lo": "ລິ້ງ", "en": "Link"},
    "desk_new": {"lo": "ສ້າງລິ້ງໂຕະບໍລິການໃໝ່", "en": "New desk link"},
    "desk_create": {"lo": "ສ້າງລິ້ງ", "en": "Create the link"},
    "desk_revoke": {"lo": "ຍົກເລີກ", "en": "Revoke"},
    "desk_revoke_confirm": {"lo": "ແມ່ນ, ຍົກເລີກລິ້ງນີ້", "en": "Yes, revoke this link"},
}
