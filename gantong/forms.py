"""Form fields and validators shared by the blueprints' forms."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectMultipleField, StringField, ValidationError, widgets

from . import identity


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
