"""Form fields and validators shared by the blueprints' forms."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.i18n import translations as wtforms_translations
from wtforms import Form, SelectMultipleField, StringField, ValidationError, widgets

from gantong.core import identity
from gantong.models import today


class TranslatedForm(Form):
    """A form without a CSRF token (a sub-form, a JSON body) whose own WTForms messages ("Not a
    valid choice", "Not a valid decimal value") come in the user's language, as a FlaskForm's do."""

    class Meta:
        def get_translations(self, form):
            return wtforms_translations


def not_in_future(form, field):
    if field.data and field.data > today():
        raise ValidationError(_l("This date is in the future."))


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
