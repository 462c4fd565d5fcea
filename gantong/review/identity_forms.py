"""The officer's forms for an identity check in person: find by document, record the check,
confirm or reject it."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, ValidationError
from wtforms.validators import DataRequired, Length

from gantong.core import divisions, identity
from gantong.models import today
from gantong.review.forms import DecisionForm
from gantong.web.fields import MultiCheckboxField, PhoneField, strip
from gantong.web.labels import document_types


class _DocumentSeen:
    """A document type and number, the number checked and normalised as at registration."""

    def validate_doc_number(self, field):
        try:
            field.normalised = identity.validate_document(
                self.doc_type.data, field.data or "", today(), divisions.province_codes()
            )
        except identity.InvalidDocument as error:
            raise ValidationError(_l(str(error))) from error


class FindByDocumentForm(_DocumentSeen, FlaskForm):
    """Read from the query string: finding changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    doc_type = SelectField(_l("Document type"))
    doc_number = StringField(
        _l("Document number"),
        filters=[strip],
        validators=[DataRequired(_l("Enter the document number.")), Length(max=32)],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.doc_type.choices = document_types()


class IdentityCheckForm(_DocumentSeen, FlaskForm):
    """What the officer saw and what they ask for: the move and the declarations to void."""

    doc_type = SelectField(_l("Type of the document you hold"))
    doc_number = StringField(
        _l("Number on the document you hold"),
        filters=[strip],
        validators=[DataRequired(_l("Type the number from the document itself.")), Length(max=32)],
    )
    seen = BooleanField(
        _l(
            "I hold the person's physical document, it is genuine, and its photo is the person "
            "in front of me."
        ),
        validators=[DataRequired(_l("Only a document checked in person moves a code."))],
    )
    phone = PhoneField(
        _l("The person's own mobile number (their account, or a new one for it)"),
        validators=[DataRequired(_l("Enter the person's mobile number."))],
    )
    void = MultiCheckboxField(_l("Declarations to void"), coerce=int, choices=[])

    def __init__(self, *args, voidable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.doc_type.choices = document_types()
        self.void.choices = [(declaration.id, str(declaration.id)) for declaration in voidable]


class IdentityDecisionForm(DecisionForm):
    """Confirm (approve) or reject an identity check, with a reason."""

    def __init__(self, *args, **kwargs):
        super().__init__("official", *args, **kwargs)
