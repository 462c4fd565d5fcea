"""Form fields and validators shared by the blueprints' forms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import Form, SelectMultipleField, StringField, ValidationError, widgets

from gantong.core import date_windows, identity
from gantong.models import today
from gantong.web import i18n


class TranslatedForm(Form):
    """A form without a CSRF token (a sub-form, a JSON body) whose own WTForms messages ("Not a
    valid choice", "Not a valid decimal value") come in the user's language, as a FlaskForm's do."""

    class Meta:
        def get_translations(self, form):
            return wtforms_translations


def not_in_future(form, field):
    if field.data and field.data > today():
        raise ValidationError(IN_FUTURE)


IN_FUTURE = _l("This date is in the future.")
# A close contact, declared or recorded by an officer: the rules count both the same way.
CONTACT_WINDOW = {
    date_windows.Refusal.LOOK_BACK: _l(
        "Only contacts in the last %(days)s days are asked for: give a date on or after %(date)s."
    )
}


def refuse_outside(
    window: date_windows.Window, day: date | None, messages: Mapping, **params
) -> None:
    """Raise the window's own message when `day` is outside it (the form never moves a date in).

    `messages` maps each refusal the window can give to its text; the text may name the first
    day the window takes (%(date)s) and any of `params`. A date in the future has a shared text.
    """
    if day is None:
        return
    refusal = window.refusal(day)
    if refusal is None:
        return
    text = messages.get(refusal) or IN_FUTURE
    shown = {
        name: i18n.day(value) if isinstance(value, date) else value
        for name, value in params.items()
    }
    raise ValidationError(str(text) % {"date": i18n.day(window.earliest), **shown})


class PhoneField(StringField):
    """A phone number, normalised to E.164 on validation (kept as typed on errors)."""

    def pre_validate(self, form):
        try:
            self.e164 = identity.normalise_phone(self.data or "")
        except identity.InvalidPhone as error:
            self.e164 = None
            raise ValidationError(_l(str(error))) from error


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


def strip(value):
    return value.strip() if isinstance(value, str) else value
