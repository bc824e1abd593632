"""The strings every page shares: the frame, signing in and out, roles, errors, and the forms list."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    "app_name": {"lo": "ສູນຂໍ້ມູນຕ້ານການຄ້າມະນຸດ", "en": "Anti-trafficking data centre"},
    "language_name": {"lo": "ພາສາລາວ", "en": "English"},
    "switch_language": {"lo": "ປ່ຽນພາສາ", "en": "Change language"},
    # The menu, on every page
    "menu": {"lo": "ເມນູ", "en": "Menu"},
    "skip_to_content": {"lo": "ໄປຫາເນື້ອໃນ", "en": "Skip to the content"},
    "nav_dashboard": {"lo": "ພາບລວມ", "en": "Dashboard"},
    "nav_forms": {"lo": "ແບບຟອມ", "en": "Forms"},
    "nav_records": {"lo": "ຂໍ້ມູນທີ່ສົ່ງມາ", "en": "Submissions"},
    "nav_cases": {"lo": "ທະບຽນຄະດີ", "en": "Cases"},
    "nav_tasks": {"lo": "ວຽກທີ່ສົ່ງຕໍ່", "en": "Hand-offs"},
    "nav_persons": {"lo": "ບຸກຄົນຊ້ຳກັນ", "en": "Duplicate persons"},
    "nav_exports": {"lo": "ດາວໂຫຼດຂໍ້ມູນ", "en": "Exports"},
    "nav_fill": {"lo": "ປ້ອນແບບຟອມ", "en": "Fill in a form"},
    "nav_devices": {"lo": "ແທັບເລັດ", "en": "Tablets"},
    "nav_desks": {"lo": "ລິ້ງໂຕະບໍລິການ", "en": "Desk links"},
    "nav_users": {"lo": "ຜູ້ໃຊ້", "en": "Users"},
    "nav_audit": {"lo": "ບັນທຶກການກວດສອບ", "en": "Audit log"},
    "provinces_all": {"lo": "ທຸກແຂວງ", "en": "all provinces"},
    "provinces_some": {"lo": "ແຂວງ {codes}", "en": "province(s) {codes}"},
    "back_to_start": {"lo": "ກັບໄປໜ້າທຳອິດ", "en": "Back to the start"},
    # Signing in and out
    "sign_in": {"lo": "ເຂົ້າສູ່ລະບົບ", "en": "Sign in"},
    "sign_out": {"lo": "ອອກຈາກລະບົບ", "en": "Sign out"},
    "email": {"lo": "ອີເມວ", "en": "Email"},
    "password": {"lo": "ລະຫັດຜ່ານ", "en": "Password"},
    "sign_in_intro": {
        "lo": "ສຳລັບພະນັກງານຂອງກົມຕ້ານການຄ້າມະນຸດ. ເຂົ້າສູ່ລະບົບດ້ວຍອີເມວ ແລະ ລະຫັດຜ່ານຂອງທ່ານ.",
        "en": "For staff of the anti-trafficking department. Sign in with your email and password.",
    },
    "signed_in_as": {"lo": "ເຂົ້າສູ່ລະບົບເປັນ {name} ({role})", "en": "Signed in as {name} ({role})"},
    "signed_out": {"lo": "ທ່ານໄດ້ອອກຈາກລະບົບແລ້ວ.", "en": "You have signed out."},
    "please_sign_in": {"lo": "ກະລຸນາເຂົ້າສູ່ລະບົບກ່ອນ.", "en": "Please sign in first."},
    "missing_credentials": {"lo": "ກະລຸນາໃສ່ອີເມວ ແລະ ລະຫັດຜ່ານ.", "en": "Enter your email and your password."},
    "wrong_password": {"lo": "ອີເມວ ຫຼື ລະຫັດຜ່ານບໍ່ຖືກຕ້ອງ.", "en": "The email or password is wrong."},
    "too_many": {
        "lo": "ເຂົ້າສູ່ລະບົບຜິດຫຼາຍເທື່ອເກີນໄປ. ກະລຸນາລອງໃໝ່ໃນອີກ {minutes} ນາທີ.",
        "en": "Too many failed sign-ins. Try again in {minutes} minute(s).",
    },
    "https_only": {
        "lo": "ລະຫັດຜ່ານຮັບສະເພາະຜ່ານ https ເທົ່ານັ້ນ: ກະລຸນາໃຊ້ທີ່ຢູ່ https:// ຂອງເຊີບເວີນີ້.",
        "en": "Passwords are accepted over https only: use this server's https:// address.",
    },
    # Projects and forms
    "projects": {"lo": "ໂຄງການ", "en": "Projects"},
    "no_projects": {"lo": "ຍັງບໍ່ມີໂຄງການໃນເຊີບເວີນີ້.", "en": "There is no project on this server yet."},
    "forms": {"lo": "ແບບຟອມ", "en": "Forms"},
    "forms_of": {"lo": "ແບບຟອມຂອງໂຄງການ {project}", "en": "Forms of {project}"},
    "no_forms": {"lo": "ໂຄງການນີ້ຍັງບໍ່ມີແບບຟອມ.", "en": "This project has no forms yet."},
    "title": {"lo": "ຊື່ແບບຟອມ", "en": "Title"},
    "form_id": {"lo": "ລະຫັດແບບຟອມ", "en": "Form ID"},
    "state": {"lo": "ສະຖານະ", "en": "State"},
    "version": {"lo": "ສະບັບ", "en": "Version"},
    "hash": {"lo": "ລະຫັດກວດສອບເນື້ອໃນ", "en": "Content hash"},
    "published": {"lo": "ວັນທີເຜີຍແຜ່", "en": "Published"},
    "not_published": {"lo": "ຍັງບໍ່ໄດ້ເຜີຍແຜ່", "en": "Not published"},
    "state_open": {"lo": "ເປີດ", "en": "open"},
    "state_closing": {"lo": "ກຳລັງປິດ", "en": "closing"},
    "state_closed": {"lo": "ປິດແລ້ວ", "en": "closed"},
    "hash_help": {
        "lo": "ແທັບເລັດກວດສອບແບບຟອມດ້ວຍລະຫັດນີ້, ແລະ ລະຫັດດຽວກັນພິມຢູ່ທ້າຍທຸກໜ້າຂອງຄູ່ມື. "
        "ຖ້າລະຫັດໃນສະບັບພິມບໍ່ຄືກັບລະຫັດຢູ່ນີ້, ສະບັບພິມນັ້ນບໍ່ແມ່ນສະບັບປັດຈຸບັນ.",
        "en": "Tablets check a form by this hash, and the same hash is printed at the foot of every "
        "handbook page. If a printed copy shows another hash, it is not the current version.",
    },
    "hash_per_tablet": {
        "lo": "ແບບຟອມນີ້ມີລາຍການຕິດຕາມທີ່ສ້າງໃຫ້ແຕ່ລະແຂວງ: ແທັບເລັດເຫັນລະຫັດຂອງຕົນເອງ.",
        "en": "This form carries a follow-up list made for each province: tablets see a hash of their own.",
    },
    "handbook": {"lo": "ຄູ່ມື", "en": "Handbook"},
    "handbook_lo": {"lo": "ພາສາລາວ", "en": "Lao"},
    "handbook_en": {"lo": "ພາສາອັງກິດ", "en": "English"},
    "handbook_both": {"lo": "ສອງພາສາ", "en": "Both"},
    "paper_form": {"lo": "ແບບຟອມເຈ້ຍ", "en": "Paper form"},
    "draft_handbook": {"lo": "ຄູ່ມືສະບັບຮ່າງ {version}", "en": "Draft {version} handbook"},
    "print_for_trainers": {
        "lo": "ການພິມຄູ່ມືແມ່ນສຳລັບຄູຝຶກ ແລະ ຜູ້ບໍລິຫານລະບົບ.",
        "en": "Printing the handbook is for trainers and administrators.",
    },
    # Roles
    "role_admin": {"lo": "ຜູ້ບໍລິຫານລະບົບ", "en": "administrator"},
    "role_trainer": {"lo": "ຄູຝຶກ", "en": "trainer"},
    "role_case-officer": {"lo": "ເຈົ້າໜ້າທີ່ຄະດີ", "en": "case officer"},
    "role_provincial-officer": {"lo": "ເຈົ້າໜ້າທີ່ແຂວງ", "en": "provincial officer"},
    "role_analyst": {"lo": "ນັກວິເຄາະ", "en": "analyst"},
    "role_statistician": {"lo": "ນັກສະຖິຕິ", "en": "statistician"},
    # Errors
    "error": {"lo": "ຂໍ້ຜິດພາດ", "en": "Error"},
    "error_400": {"lo": "ຄຳຮ້ອງຂໍນີ້ບໍ່ຖືກຕ້ອງ.", "en": "This request is not valid."},
    "error_csrf": {
        "lo": "ໜ້ານີ້ໝົດອາຍຸແລ້ວ ຫຼື ຖືກສົ່ງມາຈາກບ່ອນອື່ນ: ບໍ່ມີຫຍັງຖືກປ່ຽນແປງ. ກະລຸນາເປີດໜ້າໃໝ່ແລ້ວລອງອີກຄັ້ງ.",
        "en": "This page has expired or was sent from elsewhere: nothing was changed. Open the page again and retry.",
    },
    "error_bad_language": {
        "lo": "ພາສາຂອງຄູ່ມືຕ້ອງແມ່ນ lo, en ຫຼື both.",
        "en": "The handbook's language must be lo, en or both.",
    },
    "error_403": {"lo": "ບົດບາດຂອງທ່ານບໍ່ອະນຸຍາດໃຫ້ເຮັດສິ່ງນີ້.", "en": "Your role may not do that."},
    "error_404": {"lo": "ບໍ່ພົບສິ່ງທີ່ທ່ານຊອກຫາ.", "en": "Not found."},
    "error_405": {"lo": "ບໍ່ອະນຸຍາດວິທີນີ້ຢູ່ບ່ອນນີ້.", "en": "That method is not allowed here."},
    "error_413": {"lo": "ຂໍ້ມູນທີ່ສົ່ງມາໃຫຍ່ເກີນໄປ.", "en": "What was sent is too large."},
    "error_500": {
        "lo": "ເຊີບເວີເກີດຂໍ້ຜິດພາດທີ່ບໍ່ຄາດຄິດ. ກະລຸນາລອງໃໝ່.",
        "en": "The server hit an unexpected error. Please try again.",
    },
    "error_503": {
        "lo": "ຖານຂໍ້ມູນບໍ່ພ້ອມໃຊ້ງານຊົ່ວຄາວ: ບໍ່ມີຫຍັງຖືກບັນທຶກ. ກະລຸນາລອງໃໝ່ໃນອີກບໍ່ເທົ່າໃດວິນາທີ.",
        "en": "The database is unavailable for a moment: nothing was saved. Please try again in a few seconds.",
    },
    "error_other": {"lo": "ບໍ່ສາມາດເຮັດສິ່ງນີ້ໄດ້ (ລະຫັດ {status}).", "en": "This could not be done (status {status})."},
    "no_such_version": {"lo": "ແບບຟອມນີ້ບໍ່ມີສະບັບທີ່ຈະພິມ.", "en": "This form has no version to print."},
    "back_to_forms": {"lo": "ກັບໄປໜ້າແບບຟອມ", "en": "Back to the forms"},
}
