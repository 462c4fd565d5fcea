"""Forms of the checkpoint: the ways to read a code, and the verification record."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import DecimalField, HiddenField, RadioField, StringField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from gantong.web.fields import TranslatedForm
from gantong.web.labels import DECISION_LABELS


class TokenForm(FlaskForm):
    token = HiddenField(validators=[DataRequired()])
    method = HiddenField(default="camera")


class PhotoForm(FlaskForm):
    photo = FileField(_l("Photo of the code"), validators=[DataRequired(_l("Choose a photo."))])


class NumberForm(FlaskForm):
    number = StringField(
        _l("8-digit number under the code"),
        validators=[DataRequired(_l("Type the 8 digits.")), Length(min=8, max=12)],
    )


class NoCodeForm(FlaskForm):
    doc_number = StringField(_l("Document number"), validators=[DataRequired(_l("Enter the document number."))])
    name = StringField(_l("Full name"), validators=[DataRequired(_l("Enter the name on the document."))])


class RecordForm(TranslatedForm):
    """Posted by the page (plain form) or by the offline queue (JSON); no CSRF token: the
    signed reference is the proof, and a queued record must outlive a session's token."""

    record_id = HiddenField(validators=[DataRequired()])
    reference = HiddenField(validators=[DataRequired()])
    temperature = DecimalField(
        _l("Temperature (°C)"), places=1,
        validators=[
            InputRequired(_l("Enter the temperature.")),
            NumberRange(34.0, 43.0, _l("A temperature is between 34.0 and 43.0 °C.")),
        ],
    )
    decision = RadioField(
        _l("Decision"), choices=list(DECISION_LABELS.items()),
        validators=[InputRequired(_l("Choose a decision."))],
    )
    note = StringField(_l("Note"), validators=[Optional(), Length(max=200)])
    latitude = DecimalField(validators=[Optional(), NumberRange(-90, 90)])
    longitude = DecimalField(validators=[Optional(), NumberRange(-180, 180)])
    accuracy = DecimalField(validators=[Optional(), NumberRange(0, 100000)])


class VoidForm(FlaskForm):
    reason = StringField(
        _l("Reason for voiding"),
        validators=[DataRequired(_l("Give the reason.")), Length(max=200)],
    )
