"""Identity and declaration forms."""

from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from gantong.core import date_windows, divisions
from gantong.core.date_windows import Refusal
from gantong.holders import registry
from gantong.holders.forms import PersonForm
from gantong.holders.labels import family_relation_choices
from gantong.models import today
from gantong.review import applications
from gantong.review.labels import GROUNDS_LABELS
from gantong.web.fields import (
    CONTACT_WINDOW,
    MultiCheckboxField,
    TranslatedForm,
    not_in_future,
    refuse_outside,
    strip,
)
from gantong.web.i18n import current_language
from gantong.web.inputs import BoundedDateField
from gantong.web.labels import symptom_choices

# Each window's own message; %(date)s is the first day the window takes.
ENTRY_WINDOW = {
    Refusal.LOOK_BACK: _l(
        "Only entries in the last %(days)s days are asked for: give a date on or after %(date)s."
    )
}
STAY_WINDOW = {Refusal.LOOK_BACK: _l("Only stays in the last 14 days are asked for.")}
TEST_WINDOW = {
    Refusal.EXPIRED: _l(
        "A negative test counts for %(days)s days: give a test taken on or after %(date)s."
    ),
    Refusal.BEFORE_REASONS: _l(
        "The test must be taken on or after %(date)s, when the reasons to clear began."
    ),
}
ISOLATION_WINDOW = {
    Refusal.BEFORE_REASONS: _l(
        "The isolation cannot end before the reasons to clear began (%(date)s)."
    )
}


class IdentityForm(PersonForm):
    """The person and where they live in Jiangxi."""

    district = SelectField(_l("Residence district"), validate_choice=False)
    address = StringField(
        _l("Address"),
        validators=[DataRequired(_l("Enter your address.")), Length(max=200)],
    )
    is_self = BooleanField(_l("This is me (the account holder)"))
    relation = SelectField(_l("Relation to you"), default="child")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = [("", _l("— choose —"))] + divisions.district_choices(
            current_language()
        )
        self.relation.choices = family_relation_choices()

    def details(self) -> registry.Identity:
        """The person as typed, for registry.add_holder."""
        return self.identity_in(self.district.data, self.address.data.strip())

    def relation_of(self, has_self: bool) -> str:
        """The relation to store: "self" for the account holder, else the one chosen."""
        return "self" if self.is_self.data and not has_self else self.relation.data

    def validate_district(self, field):
        if field.data not in divisions.jiangxi_district_codes():
            raise ValidationError(_l("Choose the district where you live."))


class StayForm(TranslatedForm):
    """One stay: the place picked province -> city -> county (each step optional), and dates."""

    province = SelectField(_l("Province"), validators=[Optional()], validate_choice=False)
    city = SelectField(_l("City"), validators=[Optional()], validate_choice=False)
    county = SelectField(_l("County or district"), validators=[Optional()], validate_choice=False)
    start = BoundedDateField(_l("From"), validators=[Optional(), not_in_future])
    end = BoundedDateField(_l("To"), validators=[Optional(), not_in_future])

    def set_choices(self, locale: str) -> None:
        """Offer the cities of the chosen province and the counties of the chosen city."""
        self.province.choices = [("", _l("— none —"))] + divisions.province_choices(locale)
        cities = divisions.child_choices(self.province.data or "", locale)
        self.city.choices = [
            ("", _l("— the whole province —") if cities else _l("— choose the province first —"))
        ] + cities
        counties = (
            divisions.child_choices(self.city.data or "", locale)
            if self.city.data in dict(cities)
            else []
        )
        self.county.choices = [
            ("", _l("— the whole city —") if counties else _l("— choose the city first —"))
        ] + counties

    @property
    def place(self) -> str:
        """The deepest level chosen: a county, else a city, else a province ("" for none)."""
        return self.county.data or self.city.data or self.province.data or ""

    def validate(self, extra_validators=None):
        if not super().validate(extra_validators):
            return False
        if self.province.data and not self._consistent():
            self.province.errors.append(
                _l("Choose the place again: the city is not in the province.")
            )
            return False
        filled = [bool(self.place), bool(self.start.data), bool(self.end.data)]
        if any(filled) and not all(filled):
            target = [self.province, self.start, self.end][filled.index(False)]
            target.errors.append(_l("Give the place and both dates, or leave the row empty."))
            return False
        if all(filled):
            if self.end.data < self.start.data:
                self.end.errors.append(_l("The stay ends before it starts."))
                return False
            try:
                refuse_outside(date_windows.recent(today()), self.end.data, STAY_WINDOW)
            except ValidationError as refusal:
                self.end.errors.append(refusal.args[0])
                return False
        return True

    def _consistent(self) -> bool:
        province, city, county = (
            self.province.data or "",
            self.city.data or "",
            self.county.data or "",
        )
        if divisions.get(province) is None or len(province) != 2:
            return False
        if city and city not in {code for code, _ in divisions.child_choices(province, "zh")}:
            return False
        return not county or county in {code for code, _ in divisions.child_choices(city, "zh")}


class DeclarationForm(FlaskForm):
    symptoms = MultiCheckboxField(_l("Symptoms now"), validators=[Optional()])
    close_contact = BooleanField(_l("I was in close contact with a confirmed or suspected case"))
    # The window checks of these dates (validate_<name>) refuse the future too.
    contact_date = BoundedDateField(_l("Date of the contact"), validators=[Optional()])
    stays = FieldList(FormField(StayForm), min_entries=3, max_entries=5)
    entry_date = BoundedDateField(_l("Date of entry from overseas"), validators=[Optional()])
    entry_port = StringField(_l("Port of entry"), validators=[Optional(), Length(max=100)])
    acknowledge = BooleanField(
        _l("I declare that the information above is true and complete."),
        validators=[DataRequired(_l("You must confirm that the declaration is true."))],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.symptoms.choices = symptom_choices()
        for stay in self.stays:
            stay.form.set_choices(current_language())

    def validate_contact_date(self, field):
        refuse_outside(
            date_windows.recent(today()),
            field.data,
            CONTACT_WINDOW,
            days=date_windows.LOOK_BACK_DAYS,
        )

    def validate_entry_date(self, field):
        refuse_outside(
            date_windows.recent(today()),
            field.data,
            ENTRY_WINDOW,
            days=date_windows.LOOK_BACK_DAYS,
        )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Optional() stops the field's own checks when it is empty, so these live here.
        if self.close_contact.data and not self.contact_date.data and not self.contact_date.errors:
            self.contact_date.errors.append(_l("Give the date of the contact."))
            valid = False
        if self.entry_date.data and not (self.entry_port.data or "").strip():
            self.entry_port.errors.append(_l("Give the port where you entered."))
            valid = False
        # The overseas rule counts from the entry date: without one it would count from today.
        if (
            (self.entry_port.data or "").strip()
            and not self.entry_date.data
            and not self.entry_date.errors
        ):
            self.entry_date.errors.append(_l("Give the date you entered China."))
            valid = False
        return valid

    def details(self) -> registry.DeclarationFacts:
        """The declaration as filled in (the stays with a place), for registry.declare."""
        return registry.DeclarationFacts(
            symptoms=self.symptoms.data or [],
            close_contact=self.close_contact.data,
            contact_date=self.contact_date.data,
            stays=[
                (stay.form.place, stay.start.data, stay.end.data)
                for stay in self.stays
                if stay.form.place
            ],
            entry_date=self.entry_date.data,
            entry_port=(self.entry_port.data or "").strip(),
        )


class ApplicationForm(FlaskForm):
    """Apply for transcoding: the reasons to clear, the grounds, and the evidence for them."""

    hits = MultiCheckboxField(
        _l("Reasons to clear"),
        validators=[DataRequired(_l("Choose at least one reason to clear."))],
    )
    grounds = RadioField(_l("Grounds"), validators=[DataRequired(_l("Choose the grounds."))])
    # The window checks of these dates (validate_<name>) refuse the future too.
    test_date = BoundedDateField(_l("Test date"), validators=[Optional()])
    institution = StringField(
        _l("Testing institution"), validators=[Optional(), Length(max=100)], filters=[strip]
    )
    report_number = StringField(
        _l("Report number"), validators=[Optional(), Length(max=64)], filters=[strip]
    )
    isolation_end = BoundedDateField(_l("Isolation end date"), validators=[Optional()])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=1000)], filters=[strip])
    # A verified negative (a lab's, a certificate's) cited instead of typing the test.
    lab_result = RadioField(_l("Verified test result"), default="", validators=[Optional()])

    def __init__(self, hits_since: dict[str, date], *args, citable=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.citable = list(citable)
        self.lab_result.choices = [("", _l("None: I type the test below"))] + [
            (str(row.id), str(row.id)) for row in self.citable
        ]
        # Each reason that may be named, with the day it began: the evidence must come after.
        self.hits_since = hits_since
        self.hits.choices = [(key, key) for key in hits_since]
        self.grounds.choices = list(GROUNDS_LABELS.items())

    def _named_since(self) -> list[date]:
        return [self.hits_since[key] for key in self.hits.data or [] if key in self.hits_since]

    def validate_test_date(self, field):
        refuse_outside(
            date_windows.negative_test(self._named_since(), today()),
            field.data,
            TEST_WINDOW,
            days=date_windows.NEGATIVE_TEST_VALID_DAYS,
        )

    def validate_isolation_end(self, field):
        refuse_outside(
            date_windows.isolation_end(self._named_since(), today()), field.data, ISOLATION_WINDOW
        )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # The evidence each ground needs; Optional() fields can't say so themselves.
        cites_result = self.grounds.data == "negative_test" and bool(self.lab_result.data)
        needed = (
            {}
            if cites_result
            else {
                "negative_test": [
                    (self.test_date, _l("Give the date of the test.")),
                    (self.institution, _l("Give the institution that did the test.")),
                    (self.report_number, _l("Give the number of the test report.")),
                ],
                "isolation_completed": [
                    (self.isolation_end, _l("Give the date the isolation ended."))
                ],
                "other": [(self.note, _l("Explain the grounds in the note."))],
            }.get(self.grounds.data, [])
        )
        for field, message in needed:
            if not field.data and not field.errors:
                field.errors.append(message)
                valid = False
        return valid

    def details(self) -> applications.Evidence:
        """The grounds and evidence as typed, for applications.apply."""
        return applications.Evidence(
            grounds=self.grounds.data,
            test_date=self.test_date.data,
            institution=self.institution.data or "",
            report_number=self.report_number.data or "",
            isolation_end=self.isolation_end.data,
            note=self.note.data or "",
            lab_result_id=int(self.lab_result.data)
            if self.grounds.data == "negative_test" and self.lab_result.data
            else None,
        )


OTHER_FACT = "other"


class ClaimForm(FlaskForm):
    """My Claim: which fact is wrong, the correct fact, why, and the truthfulness acknowledgement."""

    fact = RadioField(
        _l("Which fact is wrong"), validators=[DataRequired(_l("Choose the fact that is wrong."))]
    )
    wrong_fact = TextAreaField(
        _l("What is wrong"),
        filters=[strip],
        validators=[DataRequired(_l("Say what is wrong.")), Length(max=1000)],
    )
    correct_fact = TextAreaField(
        _l("The correct fact"),
        filters=[strip],
        validators=[DataRequired(_l("Give the correct fact.")), Length(max=1000)],
    )
    explanation = TextAreaField(
        _l("Explanation"), filters=[strip], validators=[Optional(), Length(max=2000)]
    )
    acknowledge = BooleanField(
        _l("I declare that this claim is true; I know that a false claim is against the law."),
        validators=[DataRequired(_l("You must confirm that the claim is true."))],
    )

    def __init__(self, hit_keys: list[str], *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fact.choices = [(key, key) for key in hit_keys] + [(OTHER_FACT, OTHER_FACT)]

    @property
    def hit_key(self) -> str:
        return "" if self.fact.data == OTHER_FACT else self.fact.data


class WithdrawForm(FlaskForm):
    """Withdraw a pending application or claim: a button, with its CSRF token."""


class RemoveDeviceForm(FlaskForm):
    """Remove a phone: a button, with its CSRF token."""
