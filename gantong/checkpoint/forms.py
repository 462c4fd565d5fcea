"""Forms of the checkpoint: the ways to read a code, and the verification record."""

import json
import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    Form,
    HiddenField,
    IntegerField,
    RadioField,
    StringField,
)
from wtforms.validators import AnyOf, DataRequired, InputRequired, Length, NumberRange, Optional
from wtforms.widgets import TextInput

from gantong.checkpoint import gate, verification
from gantong.checkpoint.labels import (
    TEMPERATURE_NOT_A_NUMBER,
    TEMPERATURE_RANGE,
    TEMPERATURE_REQUIRED,
    decision_choices,
)
from gantong.core import rules
from gantong.core.kinds import CheckMethod, Colour
from gantong.web.fields import TranslatedForm
from gantong.web.inputs import FiniteDecimalField


class TokenForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    method = HiddenField(default=CheckMethod.CAMERA)

    def method_name(self) -> str:
        """How the token was read: by the camera, or by the page from a photo."""
        return CheckMethod.PHOTO if self.method.data == CheckMethod.PHOTO else CheckMethod.CAMERA


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo of the code"), validators=[DataRequired(_l("Choose a photo."))])


class NumberForm(FlaskForm):
    number = StringField(
        _l("8-digit number under the code"),
        validators=[DataRequired(_l("Type the 8 digits.")), Length(min=8, max=12)],
    )


class NoCodeForm(FlaskForm):
    doc_number = StringField(
        _l("Document number"), validators=[DataRequired(_l("Enter the document number."))]
    )
    name = StringField(
        _l("Full name"), validators=[DataRequired(_l("Enter the name on the document."))]
    )


class PlainTextInput(TextInput):
    """A text input without the validators' required, min, max or step: the browser's own
    bubbles would speak its language, not the page's; the server and the page check instead."""

    validation_attrs = ["disabled", "readonly"]


class TemperatureField(FiniteDecimalField):
    """A temperature as typed on a phone: a decimal comma is a point ("37,5" is 37.5), and what
    is not a number gets one message of its own (not also the range's). A text field, so a
    re-rendered form keeps what was typed (a number field drops "abc" and "37,5")."""

    widget = PlainTextInput()

    def process_formdata(self, valuelist):
        if valuelist and isinstance(valuelist[0], str):
            text = valuelist[0].strip()
            if text.count(",") == 1 and "." not in text:
                text = text.replace(",", ".")
            valuelist = [text]
        try:
            super().process_formdata(valuelist)
        except ValueError:
            self.data = None
            raise ValueError(TEMPERATURE_NOT_A_NUMBER) from None

    def validate(self, form, extra_validators=()):
        if self.process_errors:
            self.errors = list(self.process_errors)
            return False
        return super().validate(form, extra_validators)


class RecordForm(TranslatedForm):
    """Posted by the page (plain form) or by the offline queue (JSON); no CSRF token: the
    signed reference is the proof, and a queued record must outlive a session's token."""

    record_id = HiddenField(validators=[DataRequired()])
    reference = HiddenField(validators=[DataRequired()])
    temperature = TemperatureField(
        _l("Temperature (°C)"),
        places=1,
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
        validators=[
            InputRequired(TEMPERATURE_REQUIRED),
            NumberRange(rules.TEMPERATURE_MIN, rules.TEMPERATURE_MAX, TEMPERATURE_RANGE),
        ],
    )
    # Left unchosen, the decision follows the temperature and the colour (rules.decision_for):
    # a pass only for a green code without a fever. A pass for a yellow or red code needs the
    # override ticked too, and the record then names it (rules.record_decision).
    decision = RadioField(_l("Decision"), choices=decision_choices(), validators=[Optional()])
    pass_override = BooleanField(_l("Let the person through despite the yellow or red code"))
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    latitude = FiniteDecimalField(validators=[Optional(), NumberRange(-90, 90)])
    longitude = FiniteDecimalField(validators=[Optional(), NumberRange(-180, 180)])
    accuracy = FiniteDecimalField(validators=[Optional(), NumberRange(0, 100000)])

    def body(self) -> verification.RecordBody:
        """The record as filled in, for verification.submit_record and scan_records.submit
        (which settle an unchosen decision for the code's colour)."""
        return verification.RecordBody(
            temperature=float(self.temperature.data),
            decision=self.decision.data or "",
            note=(self.note.data or "").strip(),
            latitude=_float(self.latitude.data),
            longitude=_float(self.longitude.data),
            accuracy=_float(self.accuracy.data),
            override=bool(self.pass_override.data),
        )


def _float(value) -> float | None:
    return float(value) if value is not None else None


class ScanRecordForm(Form):
    """A record the scan page verified itself, posted as JSON by its queue (staff session).

    The body fields are the verification record's; token, scan time and the colour shown
    replace the server's reference, since the page verified the code without the server.
    """

    record_id = StringField(validators=[DataRequired(), Length(min=36, max=36)])
    token = StringField(validators=[DataRequired(), Length(max=400)])
    scanned_at = IntegerField(validators=[InputRequired()])
    shown_colour = StringField(validators=[Optional(), AnyOf(list(Colour))])
    offline = BooleanField()
    temperature = RecordForm.temperature
    decision = RecordForm.decision
    pass_override = RecordForm.pass_override
    note = RecordForm.note
    latitude = RecordForm.latitude
    longitude = RecordForm.longitude
    accuracy = RecordForm.accuracy
    body = RecordForm.body


class GateRecordForm(Form):
    """A scan at a verify-only point that keeps records, posted as JSON by its queue: no
    temperature, and the decision follows the colour the gate showed."""

    record_id = ScanRecordForm.record_id
    token = ScanRecordForm.token
    scanned_at = ScanRecordForm.scanned_at
    shown_colour = ScanRecordForm.shown_colour
    offline = ScanRecordForm.offline

    def body(self) -> verification.RecordBody:
        return gate.body_for(self.shown_colour.data or None)


class VoidForm(FlaskForm):
    reason = StringField(
        _l("Reason for voiding"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=200)],
    )


# A scan record's fields and the JSON types each may have (None: the field may be null).
_TEXT, _NUMBER, _FLAG = (str,), (str, int, float), (bool, str)
SCAN_RECORD_TYPES = {
    "record_id": _TEXT,
    "token": _TEXT,
    "scanned_at": (int,),
    "shown_colour": _TEXT,
    "offline": _FLAG,
    "temperature": _NUMBER,
    "decision": _TEXT,
    "pass_override": _FLAG,
    "note": _TEXT,
    "latitude": _NUMBER,
    "longitude": _NUMBER,
    "accuracy": _NUMBER,
}
# Unix seconds up to 9999-12-31: every datetime the platform holds (the scan time's range is
# checked after, scan_records.TooOld).
LAST_SCAN_SECOND = 253402300799


class BadScanRecord(Exception):
    """The body is not one JSON object whose fields have their types; `errors` says which."""

    def __init__(self, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.errors = errors


def scan_record_body(data: bytes) -> object:
    """Parse a scan-records body: one record (a JSON object) or a batch (a JSON array of them).

    Raises BadScanRecord for a body that is not JSON or nests too deep to parse.
    """
    try:
        return json.loads(data or b"null")
    except (ValueError, RecursionError):
        raise BadScanRecord({"body": ["not JSON"]}) from None


def scan_record_fields(body: object) -> MultiDict:
    """Return one scan record (a parsed JSON value) as the form's input, each field of its own
    JSON type.

    Raises BadScanRecord for a record that is not one object, a field of another type (a
    boolean is no number), a scan time that is not a whole number of seconds within the
    platform's dates, or a NUL byte (PostgreSQL refuses it in text). Other fields are ignored.
    """
    if not isinstance(body, dict):
        raise BadScanRecord({"body": ["not one JSON object"]})
    fields, errors = MultiDict(), {}
    for name, types in SCAN_RECORD_TYPES.items():
        value = body.get(name)
        if value is None:
            continue
        wrong = not isinstance(value, types) or (isinstance(value, bool) and bool not in types)
        if isinstance(value, float) and not math.isfinite(value):
            wrong = True
        if isinstance(value, str) and "\x00" in value:
            wrong = True
        if name == "scanned_at" and not wrong and not 0 <= value <= LAST_SCAN_SECOND:
            wrong = True
        if wrong:
            errors[name] = ["not a valid value"]
        else:
            fields[name] = value
    if errors:
        raise BadScanRecord(errors)
    return fields
