"""The strings of the users and audit pages (administrators)."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    # Users
    "users_title": {"lo": "ຜູ້ໃຊ້", "en": "Users"},
    "users_help": {
        "lo": "ຜູ້ໃຊ້ແຕ່ລະຄົນມີບົດບາດໜຶ່ງ; ເຈົ້າໜ້າທີ່ແຂວງ ແລະ ຄູຝຶກຂອງແຂວງເຫັນສະເພາະແຂວງຂອງຕົນ. ທຸກການປ່ຽນແປງຖືກບັນທຶກໄວ້ໃນບັນທຶກການກວດສອບ.",
        "en": "Each user has one role; provincial officers and provincial trainers see their provinces only. "
        "Every change is kept in the audit log.",
    },
    "user_email": {"lo": "ອີເມວ", "en": "Email"},
    "user_name": {"lo": "ຊື່", "en": "Name"},
    "user_role": {"lo": "ບົດບາດ", "en": "Role"},
    "user_provinces": {"lo": "ແຂວງ", "en": "Provinces"},
    "user_provinces_help": {
        "lo": "ລະຫັດແຂວງສອງຕົວເລກ, ແຍກດ້ວຍເຄື່ອງໝາຍ (,) ເຊັ່ນ 05, 06. ຈຳເປັນສຳລັບເຈົ້າໜ້າທີ່ແຂວງ; "
        "ຄູຝຶກອາດມີ ຫຼື ບໍ່ມີ; ບົດບາດອື່ນເຮັດວຽກທົ່ວປະເທດ.",
        "en": "Two-digit province codes separated by commas, such as 05, 06. Needed for a provincial officer; "
        "a trainer may have some; other roles work nationally.",
    },
    "user_state": {"lo": "ສະຖານະ", "en": "State"},
    "user_active": {"lo": "ໃຊ້ງານໄດ້", "en": "active"},
    "user_disabled": {"lo": "ປິດການໃຊ້ງານ", "en": "disabled"},
    "user_created": {"lo": "ສ້າງເມື່ອ", "en": "Created"},
    "user_new": {"lo": "ສ້າງຜູ້ໃຊ້ໃໝ່", "en": "New user"},
    "user_create": {"lo": "ສ້າງຜູ້ໃຊ້", "en": "Create the user"},
    "user_password_new": {"lo": "ລະຫັດຜ່ານ (ຢ່າງໜ້ອຍ 12 ຕົວອັກສອນ)", "en": "Password (at least 12 characters)"},
    "user_created_flash": {"lo": "ສ້າງຜູ້ໃຊ້ {email} ແລ້ວ.", "en": "User {email} created."},
    "user_email_taken": {"lo": "ມີຜູ້ໃຊ້ທີ່ໃຊ້ອີເມວນີ້ແລ້ວ.", "en": "A user with this email already exists."},
    "user_not_email": {"lo": "ນີ້ບໍ່ແມ່ນທີ່ຢູ່ອີເມວ.", "en": "That is not an email address."},
    "user_bad_role": {"lo": "ກະລຸນາເລືອກບົດບາດໜຶ່ງໃນລາຍການ.", "en": "Choose one of the roles in the list."},
    "user_bad_province": {
        "lo": "ບໍ່ມີແຂວງທີ່ມີລະຫັດ {code}: ໃຊ້ລະຫັດສອງຕົວເລກແຕ່ 01 ຫາ 18.",
        "en": "There is no province with the code {code}: use a two-digit code from 01 to 18.",
    },
    "user_role_provinces": {
        "lo": "ບົດບາດ ແລະ ແຂວງບໍ່ເຂົ້າກັນ: ເຈົ້າໜ້າທີ່ແຂວງຕ້ອງມີແຂວງຢ່າງໜ້ອຍໜຶ່ງແຂວງ, ແລະ ບົດບາດທົ່ວປະເທດບໍ່ມີແຂວງ.",
        "en": "The role and provinces do not fit: a provincial officer needs at least one province, "
        "and a national role takes none.",
    },
    "user_password_short": {
        "lo": "ລະຫັດຜ່ານຕ້ອງມີຢ່າງໜ້ອຍ {min} ຕົວອັກສອນ.",
        "en": "The password must be at least {min} characters long.",
    },
    "user_password_weak": {
        "lo": "ລະຫັດຜ່ານນີ້ເດົາງ່າຍເກີນໄປ (ເປັນລະຫັດທີ່ໃຊ້ກັນຫຼາຍ, ຄຳສັບ, ຊື່, ລຳດັບ, ວັນທີ ຫຼື ອີເມວ): ໃຊ້ຫຼາຍຄຳທີ່ບໍ່ກ່ຽວຂ້ອງກັນ ຫຼື ປະໂຫຍກທີ່ຍາວກວ່ານີ້.",
        "en": "This password is too easy to guess (a common password, word, name, sequence, date or the "
        "email): use a few unrelated words, or a longer phrase.",
    },
    "user_refused": {"lo": "ຂໍ້ມູນຜູ້ໃຊ້ບໍ່ຖືກຮັບ.", "en": "The user's details were refused."},
    "user_not_yourself": {
        "lo": "ທ່ານບໍ່ສາມາດປ່ຽນບົດບາດ, ແຂວງ ຫຼື ສິດເຂົ້າໃຊ້ຂອງຕົນເອງໄດ້: ກະລຸນາຂໍໃຫ້ຜູ້ດູແລລະບົບຄົນອື່ນ.",
        "en": "You cannot change your own role, provinces or access: ask another administrator.",
    },
    "user_actions": {"lo": "ຈັດການຜູ້ໃຊ້", "en": "Manage the user"},
    "user_disable": {"lo": "ປິດການໃຊ້ງານ", "en": "Disable"},
    "user_enable": {"lo": "ເປີດການໃຊ້ງານຄືນ", "en": "Enable again"},
    "user_disable_help": {
        "lo": "ຜູ້ໃຊ້ທີ່ຖືກປິດເຂົ້າສູ່ລະບົບບໍ່ໄດ້, ການເຂົ້າສູ່ລະບົບຂອງເຂົາສິ້ນສຸດທັນທີ ແລະ API token ຂອງເຂົາຖືກປະຕິເສດ.",
        "en": "A disabled user cannot sign in, their sessions end at once and their API tokens are refused.",
    },
    "user_disabled_flash": {"lo": "ປິດການໃຊ້ງານ {email} ແລ້ວ.", "en": "{email} is disabled."},
    "user_enabled_flash": {"lo": "ເປີດການໃຊ້ງານ {email} ຄືນແລ້ວ.", "en": "{email} is enabled again."},
    "user_reset_password": {"lo": "ຕັ້ງລະຫັດຜ່ານໃໝ່", "en": "Reset the password"},
    "user_reset_help": {
        "lo": "ການເຂົ້າສູ່ລະບົບທັງໝົດຂອງຜູ້ໃຊ້ນີ້ຈະສິ້ນສຸດ. ແຈ້ງລະຫັດຜ່ານໃໝ່ໃຫ້ເຂົາແບບສ່ວນຕົວ.",
        "en": "Every session of this user ends. Give them the new password in person.",
    },
    "user_password_flash": {"lo": "ຕັ້ງລະຫັດຜ່ານໃໝ່ຂອງ {email} ແລ້ວ.", "en": "The password of {email} was reset."},
    "user_end_access": {"lo": "ອອກຈາກລະບົບທຸກບ່ອນ ແລະ ຍົກເລີກ token", "en": "Sign out everywhere and revoke tokens"},
    "user_end_access_help": {
        "lo": "ສຳລັບອຸປະກອນທີ່ເສຍ ຫຼື token ທີ່ຮົ່ວໄຫຼ: ຜູ້ໃຊ້ຍັງເຂົ້າສູ່ລະບົບໃໝ່ໄດ້ດ້ວຍລະຫັດຜ່ານຂອງຕົນ.",
        "en": "For a lost computer or a leaked token: the user can still sign in again with their password.",
    },
    "user_access_ended_flash": {
        "lo": "ສິ້ນສຸດການເຂົ້າສູ່ລະບົບ {sessions} ບ່ອນ ແລະ ຍົກເລີກ {tokens} token ຂອງ {email} ແລ້ວ.",
        "en": "Ended {sessions} session(s) and revoked {tokens} token(s) of {email}.",
    },
    "user_audit_link": {"lo": "ເບິ່ງບັນທຶກການກວດສອບຂອງຜູ້ໃຊ້ນີ້", "en": "See this user's audit log"},
    # Audit
    "audit_title": {"lo": "ບັນທຶກການກວດສອບ", "en": "Audit log"},
    "audit_help": {
        "lo": "ໃຜອ່ານ ຫຼື ປ່ຽນຫຍັງ, ເມື່ອໃດ ແລະ ຈາກໃສ. ບັນທຶກນີ້ແກ້ໄຂ ຫຼື ລຶບບໍ່ໄດ້; ການອ່ານມັນກໍ່ຖືກບັນທຶກໄວ້ເຊັ່ນກັນ.",
        "en": "Who read or changed what, when and from where. The log cannot be changed or erased; reading it "
        "is recorded too.",
    },
    "audit_who": {"lo": "ຜູ້ໃຊ້", "en": "Who"},
    "audit_anyone": {"lo": "ທຸກຄົນ", "en": "anyone"},
    "audit_action": {"lo": "ການກະທຳ", "en": "Action"},
    "audit_any_action": {"lo": "ທຸກການກະທຳ", "en": "any action"},
    "audit_category": {"lo": "ທັງໝົດຂອງ {name}", "en": "every {name} action"},
    "audit_from": {"lo": "ແຕ່ວັນທີ", "en": "From"},
    "audit_to": {"lo": "ຫາວັນທີ", "en": "To"},
    "audit_resource": {"lo": "ລາຍການທີ່ແຕະຕ້ອງ", "en": "Record touched"},
    "audit_resource_help": {
        "lo": "ເຊັ່ນ user:12, device:3, submission:uuid:…; ລົງທ້າຍດ້ວຍ : ເພື່ອເອົາທຸກລາຍການຂອງປະເພດນັ້ນ (device:)",
        "en": "such as user:12, device:3, submission:uuid:…; end with : for every one of a kind (device:)",
    },
    "audit_show": {"lo": "ສະແດງ", "en": "Show"},
    "audit_csv": {"lo": "ດາວໂຫຼດ CSV", "en": "Download CSV"},
    "audit_csv_help": {
        "lo": "CSV ມີເຫດການທີ່ກັ່ນຕອງໄວ້ ສູງສຸດ {max} ລາຍການ, ໃໝ່ສຸດກ່ອນ: ຈຳກັດວັນທີເພື່ອເອົາເຫດການທີ່ເກົ່າກວ່າ.",
        "en": "The CSV holds the filtered events, at most {max}, newest first: narrow the dates for older ones.",
    },
    "audit_when": {"lo": "ເວລາ", "en": "When"},
    "audit_address": {"lo": "ຈາກ", "en": "From where"},
    "audit_details": {"lo": "ລາຍລະອຽດ", "en": "Details"},
    "audit_server": {"lo": "ເຊີບເວີ", "en": "the server"},
    "audit_none": {"lo": "ບໍ່ມີເຫດການທີ່ກົງກັບຕົວກັ່ນຕອງນີ້.", "en": "No event matches these filters."},
    "audit_older": {"lo": "ເກົ່າກວ່າ →", "en": "Older →"},
    "audit_first_page": {"lo": "ໜ້າທຳອິດ", "en": "First page"},
    "audit_bad_date": {
        "lo": "ວັນທີບໍ່ຖືກຕ້ອງ: ໃຊ້ຮູບແບບ 2026-12-01.",
        "en": "That date is not valid: use the form 2026-12-01.",
    },
    "audit_bad_filter": {
        "lo": "ຕົວກັ່ນຕອງບໍ່ຖືກຕ້ອງ: ກະລຸນາເລືອກຈາກລາຍການ.",
        "en": "That filter is not valid: choose from the list.",
    },
    "audit_bad_page": {
        "lo": "ລິ້ງໜ້ານີ້ບໍ່ຖືກຕ້ອງ: ກັບໄປໜ້າທຳອິດ.",
        "en": "This page link is not valid: go back to the first page.",
    },
}
