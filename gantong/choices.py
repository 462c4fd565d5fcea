"""Translated choice lists shared by forms and pages."""
from __future__ import annotations

from functools import lru_cache

from babel import Locale
from flask_babel import lazy_gettext as _l

from . import identity, rules

SYMPTOM_LABELS = {
    "fever": _l("Fever"),
    "dry_cough": _l("Dry cough"),
    "fatigue": _l("Fatigue"),
    "sore_throat": _l("Sore throat"),
    "short_breath": _l("Shortness of breath"),
    "taste_smell_loss": _l("Loss of taste or smell"),
}

COLOUR_WORDS = {
    rules.GREEN: _l("Green code"),
    rules.YELLOW: _l("Yellow code"),
    rules.RED: _l("Red code"),
}

DOCUMENT_LABELS = {
    identity.DOC_RESIDENT_ID: _l("Resident identity card"),
    identity.DOC_PASSPORT: _l("Passport"),
    identity.DOC_PERMIT: _l("Hong Kong/Macao/Taiwan permit"),
}


def symptom_choices():
    return [(key, SYMPTOM_LABELS[key]) for key in rules.SYMPTOMS]


def document_types():
    return list(DOCUMENT_LABELS.items())


# Babel lists regions and groupings too (001, EU, UN...): keep two-letter country codes.
_NOT_COUNTRIES = {"EU", "EZ", "UN", "QO", "XA", "XB", "ZZ"}


@lru_cache(maxsize=4)
def countries(language: str) -> list[tuple[str, str]]:
    """Return (ISO code, name) for every country, China first, then by name."""
    names = Locale.parse("zh_Hans_CN" if language == "zh" else "en").territories
    codes = [c for c in names if len(c) == 2 and c.isalpha() and c not in _NOT_COUNTRIES]
    rest = sorted((c for c in codes if c != "CN"), key=lambda c: names[c])
    return [("CN", names["CN"])] + [(c, names[c]) for c in rest]


def country_name(code: str, language: str) -> str:
    return dict(countries(language)).get(code, code)
