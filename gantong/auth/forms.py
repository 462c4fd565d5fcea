"""Login, registration and password forms."""

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from gantong.web.fields import PhoneField


class LoginForm(FlaskForm):
    phone = PhoneField(
        _l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class RegisterForm(FlaskForm):
    phone = PhoneField(
        _l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))]
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(min=8, max=128, message=_l("A password has at least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Password again"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class NewPasswordForm(FlaskForm):
    """A new password, typed twice (changing it, or resetting it with a texted code)."""

    password = PasswordField(
        _l("New password"),
        validators=[
            DataRequired(_l("Choose a password.")),
            Length(min=8, max=128, message=_l("A password has at least 8 characters.")),
        ],
    )
    confirm = PasswordField(
        _l("New password again"),
        validators=[
            DataRequired(_l("Type the password again.")),
            EqualTo("password", message=_l("The two passwords differ.")),
        ],
    )


class PasswordChangeForm(NewPasswordForm):
    current = PasswordField(
        _l("Current password"),
        validators=[DataRequired(_l("Enter the password you logged in with."))],
    )


class ResetRequestForm(FlaskForm):
    phone = PhoneField(
        _l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))]
    )


class ResetForm(NewPasswordForm):
    phone = PhoneField(
        _l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))]
    )
    code = StringField(
        _l("Code from the text message"),
        validators=[DataRequired(_l("Enter the 6-digit code.")), Length(min=6, max=8)],
    )
