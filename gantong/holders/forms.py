"""The person form every registration shares: who the person is, by the document they carry."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from flask import current_app
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from gantong.core import divisions, identity
from gantong.holders import registry
from gantong.models import today
from gantong.web import rate_limits
from gantong.web.fields import strip
from gantong.web.i18n import current_language
from gantong.web.labels import countries, document_types

Registered = TypeVar("Registered")
DOCUMENT_SCOPE = "signup-document"
# Only the person, document in hand, can get a code back from an account that took it: an
# officer checks the document in person and moves the code (review/identity_checks.py).
DOCUMENT_TAKEN = _l(
    "This document is registered already. If it is yours and you did not register it, take the "
    "document itself to a service desk of your district's epidemic-prevention office: an "
    "officer checks it in person and moves the code to your account."
)


class PersonForm(FlaskForm):
    """Who the person is: the document they carry."""

    name = StringField(
        _l("Full name"),
        validators=[DataRequired(_l("Enter the name on the document.")), Length(max=100)],
        filters=[strip],
    )
    doc_type = SelectField(_l("Document type"))
    doc_number = StringField(
        _l("Document number"), validators=[DataRequired(_l("Enter the document number."))]
    )
    doc_country = SelectField(_l("Issuing country (passports)"))
    nationality = SelectField(_l("Nationality"), default="CN")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        country_list = countries(current_language())
        self.doc_type.choices = document_types()
        self.doc_country.choices = [("", _l("— choose —"))] + country_list
        self.nationality.choices = country_list

    def validate_name(self, field):
        # Every form that takes a legal name is this one (adding a person, pre-entry, the
        # officer's registration): the rule is identity.normalise_legal_name's.
        try:
            field.data = identity.normalise_legal_name(field.data or "")
        except identity.InvalidName as error:
            raise ValidationError(_l(str(error))) from error

    def validate_doc_number(self, field):
        try:
            field.normalised = identity.validate_document(
                self.doc_type.data, field.data or "", today(), divisions.province_codes()
            )
        except identity.InvalidDocument as error:
            raise ValidationError(_l(str(error))) from error

    def validate_doc_country(self, field):
        if self.doc_type.data == identity.DOC_PASSPORT and not field.data:
            raise ValidationError(_l("Choose the country that issued the passport."))

    def identity_in(self, district_code: str, address: str = "") -> registry.Identity:
        """The person as typed, living in (or going to) the district given."""
        return registry.Identity(
            name=self.name.data,
            doc_type=self.doc_type.data,
            doc_number=self.doc_number.normalised,
            doc_country=self.doc_country.data or "",
            nationality=self.nationality.data,
            district_code=district_code,
            address=address,
        )

    def registered(
        self, register: Callable[[], Registered], taken: str = DOCUMENT_TAKEN
    ) -> Registered | None:
        """What `register()` returns; None, with `taken` said by the document number, if the
        document is registered already (registry.DocumentTaken: nothing was written), or with
        the wait if the document's budget of tries is spent (SIGNUP_LIMIT_PER_DOCUMENT)."""
        # Tries past the form's checks count against the document (a typo costs nothing): one
        # document tried again and again is someone probing whose it is.
        wait = rate_limits.spend(
            current_app.config["SIGNUP_LIMIT_PER_DOCUMENT"],
            f"{self.doc_type.data}:{self.doc_number.normalised}",
            DOCUMENT_SCOPE,
        )
        if wait:
            minutes = rate_limits.minutes(wait)
            self.doc_number.errors.append(
                ngettext(
                    "This document has been tried too many times. Try again in %(num)d minute.",
                    "This document has been tried too many times. Try again in %(num)d minutes.",
                    minutes,
                )
            )
            return None
        try:
            return register()
        except registry.DocumentTaken:
            self.doc_number.errors.append(taken)
            return None
