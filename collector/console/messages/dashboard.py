"""The dashboard's strings: the charts, their tables and downloads, the filters and their refusals."""

from __future__ import annotations

#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = {
    "dash_title": {"lo": "ພາບລວມຂອງຄະດີ", "en": "Cases at a glance"},
    "dash_intro": {
        "lo": "ຈຳນວນຄະດີທີ່ທ່ານມີສິດເບິ່ງ. ຈຳນວນທີ່ໜ້ອຍກວ່າ {threshold} ຖືກເຊື່ອງໄວ້ (ແລະ ຈຳນວນອື່ນທີ່ອາດຈະເປີດເຜີຍມັນ), ເພື່ອບໍ່ໃຫ້ລະບຸຕົວບຸກຄົນໃດໄດ້.",
        "en": "Counts of the cases you may see. Counts below {threshold} are hidden (and any other count "
        "that would give one away), so that no person can be singled out.",
    },
    "dash_filters": {"lo": "ເລືອກຂໍ້ມູນ", "en": "Filters"},
    "dash_year": {"lo": "ປີ", "en": "Year"},
    "dash_all_years": {"lo": "ທຸກປີ", "en": "All years"},
    "dash_province": {"lo": "ແຂວງ", "en": "Province"},
    "dash_all_provinces": {"lo": "ທຸກແຂວງ", "en": "All provinces"},
    "dash_show": {"lo": "ສະແດງ", "en": "Show"},
    "dash_by_month": {"lo": "ຄະດີຕາມເດືອນ", "en": "Cases by month"},
    "dash_by_province": {"lo": "ຄະດີຕາມແຂວງ", "en": "Cases by province"},
    "dash_by_exploitation": {"lo": "ຄະດີຕາມປະເພດການຂູດຮີດ", "en": "Cases by type of exploitation"},
    "dash_by_gender": {"lo": "ຄະດີຕາມເພດ", "en": "Cases by gender"},
    "dash_by_age": {"lo": "ຄະດີຕາມກຸ່ມອາຍຸ", "en": "Cases by age band"},
    "dash_by_country": {"lo": "ຄະດີຕາມປະເທດທີ່ຖືກຂູດຮີດ", "en": "Cases by country of exploitation"},
    "dash_value": {"lo": "ລາຍການ", "en": "Value"},
    "dash_count": {"lo": "ຈຳນວນຄະດີ", "en": "Cases"},
    "dash_total": {"lo": "ລວມ", "en": "Total"},
    "dash_hidden": {"lo": "ເຊື່ອງໄວ້", "en": "hidden"},
    "dash_unknown": {"lo": "ບໍ່ຮູ້", "en": "Unknown"},
    "dash_no_cases": {"lo": "ບໍ່ມີຄະດີ", "en": "No cases"},
    "dash_legend_zero": {"lo": "ບໍ່ມີ", "en": "none"},
    "dash_no_boundary": {"lo": "ບໍ່ມີເຂດແດນໃນແຜນທີ່ນີ້", "en": "no boundary in this map"},
    "dash_multiple": {
        "lo": "ຄະດີໜຶ່ງອາດມີຫຼາຍປະເພດ, ສະນັ້ນຜົນບວກອາດຫຼາຍກວ່າຍອດລວມ.",
        "en": "A case may have several types, so the rows may add up to more than the total.",
    },
    "dash_table_of": {"lo": "ຕາຕະລາງ: {title}", "en": "Table: {title}"},
    "dash_download_svg": {"lo": "ຮູບ SVG", "en": "SVG image"},
    "dash_download_png": {"lo": "ຮູບ PNG", "en": "PNG image"},
    "dash_download_csv": {"lo": "ຕາຕະລາງ CSV", "en": "CSV table"},
    "dash_downloads": {"lo": "ດາວໂຫຼດ", "en": "Download"},
    "dash_map_source": {
        "lo": "ເຂດແດນແຂວງ: Natural Earth (ສາທາລະນະສົມບັດ). ແຜນທີ່ນີ້ບໍ່ມີເຂດແດນຂອງແຂວງໄຊສົມບູນ.",
        "en": "Province boundaries: Natural Earth (public domain). This map has no boundary for Xaisomboun.",
    },
    "dash_bad_year": {
        "lo": "ປີບໍ່ຖືກຕ້ອງ: ໃຫ້ເລືອກປີຈາກລາຍການ.",
        "en": "That is not a year: choose a year from the list.",
    },
    "dash_bad_province": {
        "lo": "ບໍ່ມີແຂວງນີ້: ໃຫ້ເລືອກແຂວງຈາກລາຍການ.",
        "en": "There is no such province: choose one from the list.",
    },
    "dash_no_such_chart": {"lo": "ບໍ່ມີແຜນພູມນີ້.", "en": "There is no such chart."},
}
