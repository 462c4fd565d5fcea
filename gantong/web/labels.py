"""Labels every domain shows: colours and their shapes, documents, symptoms, countries, times.

Each domain package keeps the labels only it shows in its own labels.py (checkpoint, holders,
review, admin); the kinds themselves and their untranslated labels are in gantong/core/kinds.py.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

from babel import Locale
from flask import Flask
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from pypinyin import Style, lazy_pinyin

from gantong.core import identity, rules
from gantong.core.kinds import Colour, Labelled
from gantong.models import today
from gantong.web.assets import inline_css

SYMPTOM_LABELS = {
    "fever": _l("Fever"),
    "dry_cough": _l("Dry cough"),
    "fatigue": _l("Fatigue"),
    "sore_throat": _l("Sore throat"),
    "short_breath": _l("Shortness of breath"),
    "taste_smell_loss": _l("Loss of taste or smell"),
}

DOCUMENT_LABELS = {
    identity.DOC_RESIDENT_ID: _l("Resident identity card"),
    identity.DOC_PASSPORT: _l("Passport"),
    identity.DOC_PERMIT: _l("Hong Kong/Macao/Taiwan permit"),
}


def kind_label(kind: type[Labelled], value: str | None) -> str:
    """Return the label of ``value`` as a ``kind`` in the user's language; an unknown value as is."""
    try:
        return _(kind(value).label)
    except ValueError:
        return value or ""


def kind_choices(kind: type[Labelled]) -> list[tuple[str, str]]:
    """Return (value, lazily translated label) for every member, for a form's choices."""
    return [(member.value, _l(member.label)) for member in kind]


def symptom_choices():
    return [(key, SYMPTOM_LABELS[key]) for key in rules.SYMPTOMS]


def document_types():
    return list(DOCUMENT_LABELS.items())


# Babel lists regions and groupings too (001, EU, UN...): keep two-letter country codes.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


# As a PRC government service names them (国务院客户端, 移民局): parts of China, not countries.
_CHINESE_NAMES = {"TW": "中国台湾", "HK": "中国香港", "MO": "中国澳门"}
_ENGLISH_NAMES = {"TW": "Taiwan, China", "HK": "Hong Kong, China", "MO": "Macao, China"}
# The commonest choices first (mainland, the three regions, then the commonest origins of
# travellers to Jiangxi); then every other country alphabetically (by pinyin in Chinese).
COMMONEST_COUNTRIES = (
    "CN",
    "HK",
    "MO",
    "TW",
    "US",
    "JP",
    "KR",
    "GB",
    "SG",
    "MY",
    "TH",
    "AU",
    "CA",
    "DE",
    "FR",
    "RU",
)


def _sort_key(name: str, language: str) -> str:
    if language == "zh":
        return " ".join(lazy_pinyin(name, style=Style.TONE3))
    # "Åland Islands" with the A's, "Côte d’Ivoire" with the C's.
    return "".join(
        c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)
    ).casefold()


@lru_cache(maxsize=4)
def countries(language: str) -> list[tuple[str, str]]:
    """Return (ISO code, name) for every country: the commonest first, then by name (pinyin)."""
    names = dict(Locale.parse("zh_Hans_CN" if language == "zh" else "en").territories)
    names.update(_CHINESE_NAMES if language == "zh" else _ENGLISH_NAMES)
    codes = [c for c in names if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES]
    rest = sorted(
        (c for c in codes if c not in COMMONEST_COUNTRIES),
        key=lambda c: _sort_key(names[c], language),
    )
    return [(c, names[c]) for c in COMMONEST_COUNTRIES] + [(c, names[c]) for c in rest]


def country_name(code: str, language: str) -> str:
    return dict(countries(language)).get(code, code)


# Never colour alone: each colour has its own shape too.
SHAPES = {
    Colour.GREEN: '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><circle cx="10" cy="10" r="9"/></svg>',
    Colour.YELLOW: '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><path d="M10 1 19 18H1z"/></svg>',
    Colour.RED: '<svg class="shape" viewBox="0 0 20 20" aria-hidden="true"><rect x="2" y="2" width="16" height="16"/></svg>',
}


def colour_word(colour: str | None) -> str:
    """Return "Green code" and so on in the user's language."""
    return kind_label(Colour, colour)


def shape(colour: str) -> Markup:
    return Markup(SHAPES[colour])


def document_label(doc_type: str) -> str:
    return str(DOCUMENT_LABELS.get(doc_type, doc_type))


def symptom_names(keys) -> str:
    # Chinese lists take the enumeration comma.
    separator = "、" if str(get_locale() or "zh").startswith("zh") else ", "
    return separator.join(str(SYMPTOM_LABELS.get(key, key)) for key in keys)


def nationality(code: str) -> str:
    """The country's name in the user's language (the stored value is its ISO code)."""
    language = "zh" if str(get_locale() or "zh").startswith("zh") else "en"
    return country_name(code, language) if code else ""


def init_app(app: Flask) -> None:
    """Register the shared labels, and the kinds that templates compare values with."""
    app.jinja_env.globals.update(
        colour_word=colour_word,
        shape=shape,
        document_label=document_label,
        symptom_names=symptom_names,
        inline_css=inline_css,
        local_today=today,
        Colour=Colour,
        fever_threshold=rules.FEVER_THRESHOLD,
    )
    app.jinja_env.filters.update(mask_name=identity.mask_name, nationality=nationality)
