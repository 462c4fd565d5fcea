"""Opening a session: where each role lands, and opening an account from the registration form
(shared by resident and pre-entry registration)."""

from __future__ import annotations

from flask import url_for
from flask_babel import gettext as _
from flask_login import login_user

from gantong.auth import accounts
from gantong.auth.forms import RegisterForm
from gantong.web.i18n import current_language


def home_for(user) -> str:
    """Return where a user lands after logging in."""
    if user.must_change_password:
        # An account made by an admin replaces its one-time password first.
        return url_for("auth.change_password")
    homes = {
        "staff": "checkpoint.station",
        "officer": "review.queue",
        "admin": "admin.index",
        "lab": "labs.home",
    }
    return url_for(homes.get(user.role, "resident.own_code"))


def open_account(form: RegisterForm) -> bool:
    """Create the account of a valid registration form and log it in; False if the number is taken."""
    try:
        # Its text messages go in the language the page was read in.
        user = accounts.register(form.phone.e164, form.password.data, language=current_language())
    except accounts.PhoneTaken:
        form.phone.errors.append(
            _("This number has an account already. Log in, or reset the password.")
        )
        return False
    login_user(user)
    return True
