"""The officer's forms: queue filters, person search, decisions and official records."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import IntegerField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from gantong.core import date_windows
from gantong.holders.labels import CASE_STATUSES
from gantong.models import today
from gantong.review import official_records
from gantong.web.fields import CONTACT_WINDOW, not_in_future, refuse_outside, strip
from gantong.web.inputs import BoundedDateField


class QueueFilterForm(FlaskForm):
    """Read from the query string: a GET filter changes nothing, so it carries no CSRF token."""

    class Meta:
        csrf = False

    kind = SelectField(
        _l("Kind"),
        validators=[Optional()],
        choices=[
            ("", _l("All kinds")),
            ("application", _l("Transcoding applications")),
            ("claim", _l("Claims")),
            ("official", _l("Official records to approve")),
        ],
    )
    age = SelectField(
        _l("Waiting"),
        validators=[Optional()],
        choices=[
            ("", _l("Any time")),
            ("1", _l("1 day or more")),
            ("3", _l("3 days or more")),
            ("7", _l("7 days or more")),
        ],
    )
    page = IntegerField(validators=[Optional()], default=1)


class SearchForm(FlaskForm):
    class Meta:
        csrf = False

    q = StringField(
        _l("Name, or the last 4 or more characters of the document number"),
        validators=[Optional(), Length(max=100)],
        filters=[strip],
    )


DECISIONS = {
    "application": [("approve", _l("Approve")), ("reject", _l("Reject"))],
    "claim": [("accept", _l("Accept")), ("reject", _l("Reject"))],
    "official": [("approve", _l("Approve")), ("reject", _l("Reject"))],
}


class DecisionForm(FlaskForm):
    """Approve or reject, always with a reason; the decision comes from the button pressed."""

    decision = SelectField(_l("Decision"), validators=[DataRequired(_l("Choose a decision."))])
    reason = TextAreaField(
        _l("Reason"),
        filters=[strip],
        validators=[DataRequired(_l("Give the reason for the decision.")), Length(max=1000)],
    )

    def __init__(self, kind: str, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.decision.choices = DECISIONS[kind]


class ClaimDecisionForm(DecisionForm):
    basis = StringField(
        _l("Legal basis (case or notice number)"),
        filters=[strip],
        validators=[Optional(), Length(max=100)],
    )

    def __init__(self, *args, needs_basis: bool = False, **kwargs):
        super().__init__("claim", *args, **kwargs)
        self.needs_basis = needs_basis

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        if self.needs_basis and self.decision.data == "accept" and not self.basis.data:
            self.basis.errors.append(_l("Correcting an official record needs its legal basis."))
            valid = False
        return valid


class OfficialRecordForm(FlaskForm):
    # Starts on the blank choice: a status is a serious record, so nothing is preselected.
    status = SelectField(
        _l("Case status"),
        choices=[SelectChoice("", _l("Choose…"))]
        + [SelectChoice(key, CASE_STATUSES[key]) for key in official_records.STATUSES],
        default="",
        validators=[DataRequired(_l("Choose the case status."))],
    )
    contact_date = BoundedDateField(
        _l("Date of the contact (close contacts)"), validators=[Optional()]
    )
    basis = StringField(
        _l("Legal basis (case or notice number)"),
        filters=[strip],
        validators=[DataRequired(_l("Give the case or notice number.")), Length(max=100)],
    )

    def validate_contact_date(self, field):
        # The same look-back as a declared contact: the rules count both the same way.
        if self.status.data != "close_contact":
            not_in_future(self, field)
            return
        refuse_outside(
            date_windows.recent(today()),
            field.data,
            CONTACT_WINDOW,
            days=date_windows.LOOK_BACK_DAYS,
        )

    def validate(self, extra_validators=None):
        valid = super().validate(extra_validators)
        # Optional() ends the field's own checks when it is empty, so this one lives here.
        if (
            self.status.data == "close_contact"
            and not self.contact_date.data
            and not self.contact_date.errors
        ):
            self.contact_date.errors.append(_l("Give the date of the contact."))
            valid = False
        return valid
