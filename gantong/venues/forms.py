"""The venue pages' forms: a venue, an entrance code, a trace, contacts to file, a risk window."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    DateTimeLocalField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from gantong.core import divisions, rules, venue_codes
from gantong.web.fields import MultiCheckboxField, strip
from gantong.web.i18n import current_language

CATEGORY_LABELS = {
    "shop": _l("Shop or market"),
    "transport": _l("Station or vehicle"),
    "school": _l("School"),
    "office": _l("Office or factory"),
    "health": _l("Hospital or clinic"),
    "public": _l("Public place"),
    "other": _l("Other"),
}
assert set(CATEGORY_LABELS) == set(venue_codes.CATEGORIES)


class VenueForm(FlaskForm):
    name = StringField(
        _l("Name"),
        validators=[DataRequired(_l("Enter the venue's name.")), Length(max=100)],
        filters=[strip],
    )
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)], filters=[strip])
    district = SelectField(_l("District"), validators=[DataRequired(_l("Choose the district."))])
    category = SelectField(_l("Category"), choices=list(CATEGORY_LABELS.items()), default="other")
    entrance = StringField(
        _l("Entrance (optional)"), validators=[Optional(), Length(max=100)], filters=[strip]
    )

    def __init__(self, *args, district_code: str | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if district_code is not None:
            # An officer adds venues to their own district only.
            self.district.choices = [
                SelectChoice(
                    district_code, divisions.display_name(district_code, current_language())
                )
            ]
            self.district.data = district_code
        else:
            self.district.choices = [
                SelectChoice(code, label)
                for code, label in [("", "—"), *divisions.district_choices(current_language())]
            ]


class EntranceForm(FlaskForm):
    entrance = StringField(
        _l("Entrance"),
        validators=[DataRequired(_l("Name the entrance, e.g. North gate.")), Length(max=100)],
        filters=[strip],
    )


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


def _local(value: datetime | None) -> datetime | None:
    # A time typed on the page is Asia/Shanghai's, as every time the app shows.
    return value.replace(tzinfo=rules.SHANGHAI) if value is not None else None


class WindowForm(FlaskForm):
    """A time window at a venue, and why it is looked at."""

    start = DateTimeLocalField(
        _l("From"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(_l("Give the start, e.g. 2026-12-07 09:00."))],
    )
    end = DateTimeLocalField(
        _l("To"),
        format="%Y-%m-%dT%H:%M",
        validators=[DataRequired(_l("Give the end, e.g. 2026-12-07 11:00."))],
    )
    reason = TextAreaField(
        _l("Why (required: it is kept in the audit trail)"),
        validators=[DataRequired(_l("Say why.")), Length(max=500)],
        filters=[strip],
    )

    def validate_end(self, field):
        if self.start.data and field.data and field.data <= self.start.data:
            raise ValidationError(_l("The end must be after the start."))
        if self.start.data and field.data and (field.data - self.start.data).days >= 14:
            raise ValidationError(_l("A window spans at most 14 days."))

    def window(self) -> tuple[datetime, datetime]:
        return _local(self.start.data), _local(self.end.data)


class TraceForm(WindowForm):
    class Meta:
        csrf = False


class FileContactsForm(WindowForm):
    """File the ticked visitors of a trace as close contacts, with the case or notice number."""

    reason = StringField(
        _l("Legal basis (case or notice number)"),
        validators=[DataRequired(_l("Give the case or notice number.")), Length(max=100)],
        filters=[strip],
    )
    people = MultiCheckboxField(_l("People to file"), coerce=int, choices=[])

    def validate_people(self, field):
        if not field.data:
            raise ValidationError(_l("Tick at least one person."))


class RiskWindowForm(WindowForm):
    days = IntegerField(
        _l("Days the visitors' codes stay yellow after their visit"),
        default=rules.QUARANTINE_DAYS,
        validators=[NumberRange(1, 28, _l("From 1 to 28 days."))],
    )


class CaseTraceForm(FlaskForm):
    class Meta:
        csrf = False

    reason = TextAreaField(
        _l("Why (required: it is kept in the audit trail)"),
        validators=[DataRequired(_l("Say why.")), Length(max=500)],
        filters=[strip],
    )
