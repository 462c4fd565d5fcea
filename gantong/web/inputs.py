"""What every request's input must be before a view sees it (fuzzed inputs once answered 500).

Found by fuzzing, each of these used to be a 500: an id beyond the database's integer, a JSON
body that is not a flat object, a NUL byte (PostgreSQL refuses it in text), a number that is
not finite, a date the datetime arithmetic cannot move.
"""

from __future__ import annotations

import json
import math
from datetime import date
from decimal import Decimal, InvalidOperation

from flask import Flask, abort, request
from flask_babel import lazy_gettext as _l
from werkzeug.routing import IntegerConverter
from wtforms import DateField, DecimalField

# The smallest integer column we have (PostgreSQL INTEGER); SQLite's is 2^63 - 1.
MAX_ID = 2**31 - 1
# Dates far from today are never meant; the arithmetic on them (a day more, UTC+8) can overflow.
FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2099, 12, 31)


class IdConverter(IntegerConverter):
    """`<int:...>` in every route: an id the database cannot hold is simply not found."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def db_id(text) -> int | None:
    """Return `text` as a database id (ASCII digits, 1..MAX_ID), else None."""
    text = text.strip() if isinstance(text, str) else ""
    if not (text.isascii() and text.isdigit()) or len(text) > 10:
        return None
    number = int(text)
    return number if 1 <= number <= MAX_ID else None


def query_int(name: str, low: int = 1, high: int = MAX_ID) -> int | None:
    """Return the ?name= integer if it is one within [low, high], else None."""
    number = db_id(request.args.get(name, ""))
    return number if number is not None and low <= number <= high else None


class BadJson(Exception):
    """The body is not a flat JSON object of strings and numbers."""


def json_fields() -> dict[str, str]:
    """Return the request's JSON body as form fields: a flat object of strings and numbers.

    Numbers become their text, null is left out; anything else (not an object, a nested value,
    a boolean, a NUL byte, nesting too deep to parse) raises BadJson.
    """
    try:
        body = json.loads(request.get_data(cache=True) or b"null")
    except (ValueError, RecursionError) as error:
        raise BadJson() from error
    if not isinstance(body, dict):
        raise BadJson()
    fields = {}
    for key, value in body.items():
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise BadJson()
        if isinstance(value, float) and not math.isfinite(value):
            raise BadJson()
        text = value if isinstance(value, str) else repr(value)
        if "\x00" in key or "\x00" in text:
            raise BadJson()
        fields[key] = text
    return fields


def _has_nul(values) -> bool:
    return any(
        "\x00" in key or any("\x00" in value for value in values.getlist(key)) for key in values
    )


class FiniteDecimalField(DecimalField):
    """A decimal that is a number: NaN, sNaN and infinities are refused as not a number."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None:
            try:
                finite = self.data.is_finite() and abs(self.data) < Decimal("1e12")
            except InvalidOperation:
                finite = False
            if not finite:
                self.data = None
                raise ValueError(_l("Not a valid decimal value."))


class BoundedDateField(DateField):
    """A date between 1900 and 2099: no day we mean is outside, and datetime maths stays safe."""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and not FIRST_DAY <= self.data <= LAST_DAY:
            self.data = None
            raise ValueError(_l("Enter a date between 1900 and 2099."))


def init_app(app: Flask) -> None:
    @app.before_request
    def refuse_nul_bytes():
        """A NUL byte is never text we keep (PostgreSQL refuses it): 400 before any view."""
        if "\x00" in request.path:
            abort(404)
        if _has_nul(request.args) or (request.form and _has_nul(request.form)):
            abort(400)
        return None
