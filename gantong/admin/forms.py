"""Administration forms: points, accounts, risk areas, tokens, exports, audit filters."""

from __future__ import annotations

import base64
import binascii
import re
from datetime import date, datetime, timedelta

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
    ValidationError,
)

from gantong.admin import audit_search, exports, risk_areas, staff_accounts
from gantong.checkpoint import points
from gantong.core import divisions, rules
from gantong.core.kinds import PointMode
from gantong.holders import hotlines
from gantong.labs import results as lab_results
from gantong.models import InformationPoint
from gantong.web.fields import PhoneField, strip
from gantong.web.i18n import current_language
from gantong.web.inputs import BoundedDateField, db_id
from gantong.web.labels import kind_choices


def district_choices(blank: str | None = None) -> list[SelectChoice]:
    """Jiangxi's districts, grouped under their city, in the UI language."""
    language = current_language()
    choices = [SelectChoice("", blank)] if blank is not None else []
    for code in divisions.jiangxi_district_codes():
        city = divisions.get(code[:4])
        choices.append(
            SelectChoice(
                code,
                divisions.local_name(divisions.get(code), language),
                optgroup=divisions.local_name(city, language) if city else None,
            )
        )
    return choices


class Coordinate:
    """A decimal number within bounds, kept as typed on errors; data becomes a float or None."""

    def __init__(self, low: float, high: float, message):
        self.low, self.high, self.message = low, high, message

    def __call__(self, form, field):
        text = (field.data or "").strip()
        if not text:
            field.number = None
            return
        try:
            number = float(text)
        except ValueError:
            number = None
        if number is None or not self.low <= number <= self.high:
            raise ValidationError(self.message)
        field.number = number


class PointForm(FlaskForm):
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the point's name.")), Length(max=100)]
    )
    district = SelectField(_l("District"), validators=[DataRequired(_l("Choose the district."))])
    address = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    latitude = StringField(
        _l("Latitude"),
        validators=[
            Coordinate(-90, 90, _l("A latitude is a number from -90 to 90, e.g. 28.6654."))
        ],
    )
    longitude = StringField(
        _l("Longitude"),
        validators=[
            Coordinate(-180, 180, _l("A longitude is a number from -180 to 180, e.g. 115.9096."))
        ],
    )

    mode = RadioField(
        _l("What staff do with each code"),
        choices=kind_choices(PointMode),
        default=PointMode.RECORD.value,
    )
    # Read at a verify-only point: a record of each scan (no temperature), or nothing stored.
    keeps_records = BooleanField(
        _l("Keep a record of each person verified (verify only)"), default=True
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(blank="—")

    def validate_longitude(self, field):
        # The position is used when a volunteer's phone gives none: half a position is none.
        if bool((self.latitude.data or "").strip()) != bool((field.data or "").strip()):
            raise ValidationError(_l("Give both latitude and longitude, or neither."))

    def details(self) -> points.PointDetails:
        """The point as typed, for points.add_point and points.update_point."""
        return points.PointDetails(
            name=self.name.data.strip(),
            district_code=self.district.data,
            address=(self.address.data or "").strip(),
            latitude=self.latitude.number,
            longitude=self.longitude.number,
            mode=self.mode.data,
            # A record-mode point records every person: the box is read at a verify-only one.
            keeps_records=self.mode.data != PointMode.VERIFY or bool(self.keeps_records.data),
        )

    @classmethod
    def for_point(cls, point: InformationPoint) -> PointForm:
        """The form filled in with the point's details as stored."""
        return cls(
            formdata=None,
            data={
                "name": point.name,
                "district": point.district_code,
                "address": point.address,
                "latitude": "" if point.latitude is None else str(point.latitude),
                "longitude": "" if point.longitude is None else str(point.longitude),
                "mode": point.mode,
                "keeps_records": point.keeps_records,
            },
        )


class ActiveForm(FlaskForm):
    reason = StringField(_l("Reason"), validators=[DataRequired(_l("Say why.")), Length(max=200)])

    def reason_text(self) -> str:
        return self.reason.data.strip()


class TokenForm(FlaskForm):
    label = StringField(_l("Label"), validators=[Optional(), Length(max=100)])

    def label_text(self) -> str:
        return (self.label.data or "").strip()


class ConfirmForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class RetentionForm(FlaskForm):
    """Run the purge: a confirmation, and the run's progress carried from one batch to the next."""

    confirm = BooleanField(
        _l("I understand: the expired verification records are deleted for good."),
        validators=[DataRequired(_l("Tick the box to confirm the deletion."))],
    )
    total = IntegerField(validators=[Optional(), NumberRange(min=0)])
    deleted = IntegerField(validators=[Optional(), NumberRange(min=0)])


ROLE_LABELS = {
    "staff": _l("Checkpoint staff"),
    "officer": _l("District officer"),
    "admin": _l("Administrator"),
    "lab": _l("Lab account"),
}


def lab_choices(blank: str) -> list[SelectChoice]:
    return [SelectChoice("", blank)] + [
        SelectChoice(str(lab.id), lab.name) for lab in lab_results.active_labs()
    ]


def point_choices(blank: str) -> list[SelectChoice]:
    language = current_language()
    return [SelectChoice("", blank)] + [
        SelectChoice(
            str(point.id),
            point.name,
            optgroup=divisions.display_name(point.district_code, language),
        )
        for point in points.active_points()
    ]


class BindingFields(FlaskForm):
    """Where the account works; which fields count depends on its role."""

    # No Optional(): it would stop the checks below, which decide by role what is required.
    point = SelectField(_l("Information point"), default="")
    district = SelectField(_l("District"), default="")
    badge_number = StringField(_l("Badge number"), validators=[Length(max=32)])
    department = StringField(_l("Department"), validators=[Optional(), Length(max=100)])
    lab = SelectField(_l("Lab"), default="")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.point.choices = point_choices(blank="—")
        self.district.choices = district_choices(blank="—")
        self.lab.choices = lab_choices(blank="—")

    def role_value(self) -> str:
        raise NotImplementedError

    def binding(self) -> staff_accounts.Binding:
        """Where the account works, as typed, for staff_accounts."""
        return staff_accounts.Binding(
            point_id=db_id(self.point.data),
            district_code=self.district.data or None,
            badge_number=(self.badge_number.data or "").strip() or None,
            department=(self.department.data or "").strip() or None,
            lab_id=db_id(self.lab.data),
        )

    def validate_lab(self, field):
        if self.role_value() == "lab" and db_id(field.data) is None:
            raise ValidationError(_l("A lab account works for one lab: choose it."))

    def validate_point(self, field):
        if self.role_value() == "staff":
            if not field.data:
                raise ValidationError(_l("Staff work at an information point: choose one."))
            from gantong.extensions import db

            point_id = db_id(field.data)
            point = db.session.get(InformationPoint, point_id) if point_id else None
            if point is None or not point.active:
                raise ValidationError(_l("Choose a point that is in use."))

    def validate_district(self, field):
        if self.role_value() == "officer" and not field.data:
            raise ValidationError(_l("Officers work for one district: choose it."))

    def validate_badge_number(self, field):
        if self.role_value() == "officer" and not (field.data or "").strip():
            raise ValidationError(_l("Enter the officer's badge number."))


class AccountForm(BindingFields):
    role = RadioField(
        _l("Role"),
        choices=[SelectChoice(key, label) for key, label in ROLE_LABELS.items()],
        validators=[InputRequired(_l("Choose a role."))],
    )
    phone = PhoneField(
        _l("Mobile number"), validators=[DataRequired(_l("Enter the mobile number."))]
    )

    def role_value(self) -> str:
        return self.role.data or ""


class BindingForm(BindingFields):
    def __init__(self, *args, role: str, **kwargs):
        self._role = role
        super().__init__(*args, **kwargs)

    def role_value(self) -> str:
        return self._role

    @classmethod
    def for_account(cls, user) -> BindingForm:
        """The form filled in with where the account works now."""
        return cls(
            formdata=None,
            role=user.role,
            data={
                "point": str(user.point_id or ""),
                "district": user.district_code or "",
                "badge_number": user.badge_number or "",
                "department": user.department or "",
                "lab": str(user.lab_id or ""),
            },
        )


class RiskAreaForm(FlaskForm):
    code = StringField(_l("Division code"), validators=[DataRequired(_l("Enter a division code."))])
    name = StringField(_l("Name"), validators=[Optional(), Length(max=100)])
    days = IntegerField(
        _l("Quarantine days"),
        default=14,
        validators=[
            InputRequired(_l("Enter the number of days.")),
            NumberRange(1, 60, _l("Between 1 and 60 days.")),
        ],
    )
    active_from = BoundedDateField(_l("Key area from"), validators=[Optional()])
    active_to = BoundedDateField(_l("Key area to"), validators=[Optional()])
    active = BooleanField(_l("In force"), default=True)

    def validate_code(self, field):
        field.data = (field.data or "").strip()
        if len(field.data) not in (2, 4, 6) or divisions.get(field.data) is None:
            raise ValidationError(_l("Not a province, city or county code (2, 4 or 6 digits)."))

    def validate_active_to(self, field):
        if field.data and self.active_from.data and field.data < self.active_from.data:
            raise ValidationError(_l("The end is before the start."))

    def details(self) -> risk_areas.AreaDetails:
        """The key area as typed (no name: the division's own), for risk_areas.save_area."""
        return risk_areas.AreaDetails(
            code=self.code.data,
            name=(self.name.data or "").strip() or risk_areas.default_name(self.code.data),
            days=self.days.data,
            active_from=self.active_from.data,
            active_to=self.active_to.data,
            active=self.active.data,
        )


class ExportForm(FlaskForm):
    kind = RadioField(
        _l("What"),
        default="verification_records",
        choices=[
            SelectChoice("verification_records", _l("Verification records")),
            SelectChoice("applications", _l("Transcoding applications")),
        ],
        validators=[InputRequired(_l("Choose what to export."))],
    )
    district = SelectField(_l("District"), validators=[Optional()])
    start = BoundedDateField(_l("From"), validators=[InputRequired(_l("Enter the first day."))])
    end = BoundedDateField(_l("To"), validators=[InputRequired(_l("Enter the last day."))])
    columns = RadioField(
        _l("Column names and values"),
        default="language",
        choices=[
            SelectChoice("language", _l("In the language of this page")),
            SelectChoice("codes", _l("Stable codes, for programs")),
        ],
        validators=[Optional()],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(blank=_l("All districts"))

    def validate_kind(self, field):
        if field.data not in exports.KINDS:
            raise ValidationError(_l("Choose what to export."))

    def validate_end(self, field):
        if field.data and self.start.data and field.data < self.start.data:
            raise ValidationError(_l("The last day is before the first."))

    def selection(self) -> exports.ExportFilter:
        """The district and days chosen, for exports.start_export."""
        return exports.ExportFilter(self.district.data or "", self.start.data, self.end.data)


class AuditFilterForm(FlaskForm):
    """Filters read from the query string: nothing changes, so no CSRF token."""

    class Meta:
        csrf = False

    action = StringField(_l("Action"), validators=[Optional(), Length(max=50)])
    subject = StringField(_l("Subject"), validators=[Optional(), Length(max=80)])
    actor = StringField(_l("Actor (account id)"), validators=[Optional(), Length(max=12)])
    start = BoundedDateField(_l("From"), validators=[Optional()])
    end = BoundedDateField(_l("To"), validators=[Optional()])

    def validate_actor(self, field):
        if field.data and db_id(field.data) is None:
            raise ValidationError(_l("An account id is a number."))

    def selection(self) -> audit_search.AuditFilter:
        """The filters as typed, for audit_search.search."""
        return audit_search.AuditFilter(
            action=(self.action.data or "").strip(),
            subject=(self.subject.data or "").strip(),
            actor_id=db_id(self.actor.data),
            start=self.start.data,
            end=self.end.data,
        )


class DistrictFilterForm(FlaskForm):
    """A district filter read from the query string."""

    class Meta:
        csrf = False

    district = SelectField(_l("District"), validators=[Optional()])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(blank=_l("All districts"))


def _start_of(day: date | None) -> datetime | None:
    return rules.day_start(day) if day else None


class IssuerEditForm(FlaskForm):
    name = StringField(
        _l("Issuer"), validators=[DataRequired(_l("Give the issuer's name.")), Length(max=100)]
    )
    region = StringField(_l("Region"), validators=[Optional(), Length(max=100)])
    valid_from = BoundedDateField(
        _l("Trusted from"), validators=[InputRequired(_l("Enter the first day."))]
    )
    valid_to = BoundedDateField(_l("Last day trusted"), validators=[Optional()])

    def validate_valid_to(self, field):
        if field.data and self.valid_from.data and field.data < self.valid_from.data:
            raise ValidationError(_l("The last day is before the first."))

    def valid_from_moment(self) -> datetime:
        return _start_of(self.valid_from.data)

    def valid_to_moment(self) -> datetime | None:
        # The last day counts whole: trust ends when the next day begins.
        return _start_of(self.valid_to.data + timedelta(days=1)) if self.valid_to.data else None

    def details(self) -> dict:
        """The issuer's name, region and validity, as trust_list.update_issuer takes them."""
        return {
            "name": self.name.data,
            "region": self.region.data or "",
            "valid_from": self.valid_from_moment(),
            "valid_to": self.valid_to_moment(),
        }

    @classmethod
    def for_issuer(cls, issuer):
        last_day = (
            rules.local_date(issuer.valid_to - timedelta(seconds=1)) if issuer.valid_to else None
        )
        return cls(
            formdata=None,
            data={
                "name": issuer.name,
                "region": issuer.region,
                "valid_from": rules.local_date(issuer.valid_from),
                "valid_to": last_day,
            },
        )


class IssuerForm(IssuerEditForm):
    kid = StringField(_l("Key id"), validators=[Optional(), Length(max=8)])
    jwk = TextAreaField(
        _l("Public key (JWK)"), validators=[DataRequired(_l("Paste the issuer's public key."))]
    )

    def details(self) -> dict:
        """The new issuer with its key, as trust_list.add_issuer takes it."""
        return {
            **super().details(),
            "jwk": self.jwk.data,
            "kid": (self.kid.data or "").strip() or None,
        }


class HotlineForm(FlaskForm):
    """A district's hotline, shown on its residents' code pages (empty: the national 12320)."""

    district = SelectField(_l("District"), validate_choice=False)
    phone = StringField(_l("Hotline"), validators=[Optional(), Length(max=20)])

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = [("", _l("— choose —"))] + divisions.district_choices(
            current_language()
        )

    def validate_district(self, field):
        if field.data not in divisions.jiangxi_district_codes():
            raise ValidationError(_l("Choose a district."))

    def validate_phone(self, field):
        if field.data and not hotlines.HOTLINE_FORMAT.fullmatch(field.data.strip()):
            raise ValidationError(_l("Digits only, with spaces or dashes: 12320, 0791-12345678."))

    def details(self) -> dict:
        """The district and its hotline (empty: back to 12320), as hotlines.set_hotline takes them."""
        return {"district_code": self.district.data, "phone": (self.phone.data or "").strip()}


HEAD_HASH = re.compile(r"[0-9a-f]{64}")


class KeptHeadForm(FlaskForm):
    """A head kept elsewhere: the JSON of /audit/head.json, or a bare head hash."""

    kept = TextAreaField(
        _l("Kept signed head (or head hash)"),
        filters=[strip],
        validators=[DataRequired(_l("Paste the kept signed head or head hash.")), Length(max=4000)],
    )

    def is_signed_head(self) -> bool:
        return (self.kept.data or "").startswith("{")

    def head_hash(self) -> str:
        """The bare head hash pasted, without the spaces or line breaks a copy may bring."""
        return "".join((self.kept.data or "").split()).lower()

    def validate_kept(self, field):
        # A signed head is read (and refused with its reason) by audit_heads; anything else must
        # be a hash, or a typo would be reported as a tampered trail.
        if not self.is_signed_head() and not HEAD_HASH.fullmatch(self.head_hash()):
            raise ValidationError(
                _l("Paste a head hash (64 characters, 0–9 and a–f) or the signed head's JSON.")
            )


class DscImportForm(FlaskForm):
    file = FileField(
        _l("Trust-list file (the DCC gateway's JSON)"),
        validators=[DataRequired(_l("Choose the file."))],
    )


class ShcIssuerForm(FlaskForm):
    iss = StringField(
        _l("Issuer address (iss)"),
        validators=[DataRequired(_l("Give the issuer's address.")), Length(max=300)],
    )
    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Give the issuer's name.")), Length(max=100)]
    )
    jwks = TextAreaField(
        _l("Keys (JWKS), if they cannot be fetched from the issuer"),
        validators=[Optional(), Length(max=20000)],
    )


class LabForm(FlaskForm):
    """A testing laboratory: its name, district and, if it signs, its Ed25519 public key."""

    name = StringField(
        _l("Name"), validators=[DataRequired(_l("Enter the lab's name.")), Length(max=100)]
    )
    district = SelectField(_l("District"), validators=[DataRequired(_l("Choose the district."))])
    public_key = StringField(
        _l("Ed25519 public key (base64url, optional)"),
        validators=[Optional(), Length(max=64)],
        filters=[strip],
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.district.choices = district_choices(blank="—")

    def validate_public_key(self, field):
        text = field.data or ""
        try:
            key = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        except (binascii.Error, ValueError):
            key = b""
        if len(key) != 32:
            raise ValidationError(_l("An Ed25519 public key is 32 bytes, written in base64url."))
        field.key = key
