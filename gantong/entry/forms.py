"""Forms of pre-entry registration, officers' arrivals and paper codes."""

from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, ValidationError

from gantong.checkpoint import verification
from gantong.core import date_windows, divisions, identity, intl_certs, rules
from gantong.core.date_windows import Refusal
from gantong.entry import preentry
from gantong.holders import registry
from gantong.holders.forms import PersonForm
from gantong.models import today
from gantong.web.fields import PhoneField, refuse_outside, strip
from gantong.web.i18n import current_language
from gantong.web.inputs import BoundedDateField
from gantong.web.labels import countries

CATEGORY_LABELS = {
    preentry.OVERSEAS_RETURNEE: _l("Returning from overseas"),
    preentry.FOREIGNER: _l("Foreigner entering the province"),
    preentry.HUBEI: _l("Coming from Hubei"),
}

CERTIFICATE_PHOTO_UNREAD = _l(
    "No code could be read from the photo. Take it again, closer and sharper, or paste the certificate's text."
)
CERTIFICATE_REFUSED = {
    "unreadable": _l(
        "This is not a certificate we can read. Paste the whole text, starting with HC1: or shc:/."
    ),
    "bad_signature": _l(
        "This certificate's signature does not match what it says: it was altered or forged. It was not attached."
    ),
}

_TRANSPORT_NUMBER = re.compile(r"[A-Z0-9]{2,10}")

# Each window's own message; %(date)s is the first day the window takes.
PLANNED_ARRIVAL_WINDOW = {
    Refusal.PASSED: _l(
        "This date has passed. Registration is for arrivals to come; if you have arrived, make a declaration instead."
    ),
    Refusal.TOO_FAR_AHEAD: _l("Register no more than 90 days before you arrive."),
}
ARRIVAL_WINDOW = {
    Refusal.BEFORE_PLANNED: _l(
        "Too early for this registration (planned arrival %(planned)s): give a date on or after %(date)s."
    ),
    Refusal.BEFORE_REGISTRATION: _l(
        "Too early for this registration, made on %(registered)s: give a date on or after %(date)s."
    ),
}


class PreEntryForm(PersonForm):
    """Registration before arrival: the person and the journey."""

    category = RadioField(
        _l("Who is registering"),
        choices=list(CATEGORY_LABELS.items()),
        validators=[DataRequired(_l("Choose how you are coming."))],
    )
    origin_country = SelectField(_l("Coming from (country or region)"), validate_choice=False)
    origin_division = SelectField(_l("Coming from (place in Hubei)"), validate_choice=False)
    # No Optional(): it would stop the checks below, which depend on the category.
    entry_port = StringField(_l("Port of entry"), validators=[Length(max=100)], filters=[strip])
    transport_number = StringField(
        _l("Flight or train number"),
        validators=[Length(max=20)],
        filters=[lambda value: "".join(value.split()).upper() if isinstance(value, str) else value],
    )
    planned_arrival = BoundedDateField(
        _l("Planned arrival date"),
        validators=[DataRequired(_l("Give the date you plan to arrive."))],
    )
    destination = SelectField(_l("Destination district in Jiangxi"), validate_choice=False)
    contact_phone = PhoneField(
        _l("Contact phone"),
        validators=[DataRequired(_l("Give a phone number we can reach you on."))],
    )
    acknowledge = BooleanField(
        _l("I declare that the information above is true and complete."),
        validators=[DataRequired(_l("You must confirm that the declaration is true."))],
    )
    # An international certificate (EU DCC HC1:, SMART Health Card shc:/): pasted, or a photo.
    certificate = TextAreaField(
        _l("International certificate (optional)"),
        validators=[Length(max=intl_certs.MAX_INPUT_CHARS)],
        filters=[strip],
    )
    certificate_photo = FileField(_l("Or a photo of its QR code"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.certificate_check: intl_certs.Verification | None = None
        language = current_language()
        self.origin_country.choices = [("", _l("— choose —"))] + [
            choice for choice in countries(language) if choice[0] != "CN"
        ]
        self.origin_division.choices = [("", _l("— choose —"))] + [
            choice
            for choice in divisions.travel_choices(language)
            if choice[0].startswith(preentry.HUBEI_CODE)
        ]
        self.destination.choices = [("", _l("— choose —"))] + divisions.district_choices(language)
        # Who registers before arrival mostly carries a passport, and a foreigner's nationality
        # is theirs to pick: nothing is chosen for them (PersonForm's "China" fits residents).
        self.nationality.choices = [("", _l("— choose —"))] + self.nationality.choices
        if not self.is_submitted():
            self.doc_type.data = identity.DOC_PASSPORT
            self.nationality.data = ""

    @property
    def overseas(self) -> bool:
        return self.category.data in preentry.OVERSEAS

    def details(self) -> tuple[registry.Identity, preentry.Trip]:
        """The person and the journey as typed, for preentry.register."""
        journey = preentry.Trip(
            category=self.category.data,
            planned_arrival=self.planned_arrival.data,
            destination_district=self.destination.data,
            contact_phone=self.contact_phone.e164,
            origin_country=self.origin_country.data or None,
            origin_division=self.origin_division.data or None,
            entry_port=self.entry_port.data or "",
            transport_number=self.transport_number.data or "",
        )
        return self.identity_in(self.destination.data), journey

    def validate_certificate(self, field):
        """Read and verify the certificate now: an unreadable or altered one is refused here,
        before anything is written."""
        photo = self.certificate_photo.data
        if not field.data and photo:
            try:
                field.data = verification.read_photo(photo.read())
            except verification.Refused as refused:
                raise ValidationError(CERTIFICATE_PHOTO_UNREAD) from refused
        if not field.data:
            return
        try:
            self.certificate_check = preentry.check_certificate(field.data)
        except preentry.CertificateRefused as refused:
            raise ValidationError(CERTIFICATE_REFUSED[refused.reason]) from refused

    def validate_doc_number(self, field):
        super().validate_doc_number(field)
        if self.category.data == preentry.FOREIGNER and self.doc_type.data != identity.DOC_PASSPORT:
            raise ValidationError(_l("Foreigners register with their passport."))

    def validate_nationality(self, field):
        if not field.data:
            raise ValidationError(_l("Choose your nationality."))
        if self.category.data == preentry.FOREIGNER and field.data == "CN":
            raise ValidationError(_l("Choose your nationality: a foreigner's is not China."))

    def validate_origin_country(self, field):
        if self.overseas and not (field.data and field.data in dict(field.choices)):
            raise ValidationError(_l("Choose the country or region you are coming from."))

    def validate_origin_division(self, field):
        if self.category.data == preentry.HUBEI and not (
            field.data and field.data in dict(field.choices)
        ):
            raise ValidationError(_l("Choose where in Hubei you are coming from."))

    def validate_entry_port(self, field):
        if self.overseas and not field.data:
            raise ValidationError(_l("Give the port where you will enter China."))

    def validate_transport_number(self, field):
        if self.overseas and not field.data:
            raise ValidationError(_l("Give your flight or train number."))
        if field.data and not _TRANSPORT_NUMBER.fullmatch(field.data):
            raise ValidationError(
                _l("A flight or train number has 2 to 10 letters and digits, like MU5043 or G1234.")
            )

    def validate_planned_arrival(self, field):
        refuse_outside(date_windows.planned_arrival(today()), field.data, PLANNED_ARRIVAL_WINDOW)

    def validate_destination(self, field):
        if field.data not in divisions.jiangxi_district_codes():
            raise ValidationError(_l("Choose the district you are going to."))


class ArrivalForm(FlaskForm):
    """An officer confirms the day a registered person actually arrived."""

    arrived_on = BoundedDateField(
        _l("Arrived on"), validators=[DataRequired(_l("Give the arrival date."))]
    )

    def __init__(self, *args, planned: date, registered_on: date, **kwargs):
        super().__init__(*args, **kwargs)
        self.planned, self.registered_on = planned, registered_on

    @classmethod
    def of(cls, pre_entry, **kwargs) -> ArrivalForm:
        """The form for one registration, whose planned day and own day bound the arrival."""
        return cls(
            planned=pre_entry.planned_arrival,
            registered_on=rules.local_date(pre_entry.created_at),
            prefix=f"arrival{pre_entry.id}",
            **kwargs,
        )

    def validate_arrived_on(self, field):
        refuse_outside(
            date_windows.arrival(self.planned, self.registered_on, today()),
            field.data,
            ARRIVAL_WINDOW,
            planned=self.planned,
            registered=self.registered_on,
        )


class NewHolderForm(PersonForm):
    """An officer registers a person who has no phone, in the officer's district."""

    address = StringField(
        _l("Address"),
        validators=[DataRequired(_l("Enter the address.")), Length(max=200)],
        filters=[strip],
    )

    def details(self, district_code: str) -> registry.Identity:
        """The person as typed, living in the officer's district, for paper.register_for_paper."""
        return self.identity_in(district_code, self.address.data)


class LostForm(FlaskForm):
    """Reporting a paper code lost, confirmed: the old one stops working at once."""

    confirm = BooleanField(
        _l("The old paper code is lost: stop it working and print a new one."),
        validators=[DataRequired(_l("Tick the box to confirm that the old paper code is lost."))],
    )


class PaperForm(FlaskForm):
    """Make a paper code (a button: only the CSRF token)."""
