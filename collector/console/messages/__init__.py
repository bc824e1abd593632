"""Every string the web console shows, in Lao and English, and the `translate` that picks one for the page.

A table rather than Flask-Babel: the console has a few hundred strings in two fixed languages, the handbook
already keeps its wording this way (forms/handbook/phrases.py), and a table needs no catalog to compile,
no new dependency, and can be checked by a test (both languages, the same placeholders).

Each area of the console keeps its strings in a module of its own here; `MESSAGES` joins them and refuses a
key that two areas both define (one would silently hide the other).
"""

from __future__ import annotations

from collector.console.messages import admin, cases, common, dashboard, devices, exports, fill, forms, records

#: The page languages, the default first.
LANGUAGES = ("lo", "en")
DEFAULT_LANGUAGE = LANGUAGES[0]

#: The areas' tables, in the order of the console's menu.
AREAS = (
    common.MESSAGES,
    dashboard.MESSAGES,
    forms.MESSAGES,
    records.MESSAGES,
    cases.MESSAGES,
    exports.MESSAGES,
    devices.MESSAGES,
    fill.MESSAGES,
    admin.MESSAGES,
)


def _join(areas) -> dict[str, dict[str, str]]:
    joined: dict[str, dict[str, str]] = {}
    for area in areas:
        twice = joined.keys() & area.keys()
        if twice:
            raise ValueError(f"console strings defined twice: {sorted(twice)}")
        joined.update(area)
    return joined


#: key -> {language: text}; `{name}` placeholders are filled by `translate`.
MESSAGES: dict[str, dict[str, str]] = _join(AREAS)


def translate(key: str, lang: str, **values) -> str:
    """Return the text of `key` in `lang` (the default language for any other), with `values` filled in.

    :raise KeyError: no such key (a missing string should fail the tests, not show a key to a user).
    """
    texts = MESSAGES[key]
    text = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    return text.format(**values) if values else text
