"""Login and registration forms."""
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from ..forms import PhoneField


class LoginForm(FlaskForm):
    phone = PhoneField(_l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class RegisterForm(FlaskForm):
    phone = PhoneField(_l("Mobile number"), validators=[DataRequired(_l("Enter your mobile number."))])
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
