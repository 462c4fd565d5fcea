"""Log in, register, log out; the account's own password: change, forgotten, reset."""

import functools

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user

from gantong.auth import accounts, password_reset, session, signup_limits
from gantong.core import identity
from gantong.extensions import htmx, limiter, login_manager
from gantong.web.i18n import safe_next

from .forms import LoginForm, PasswordChangeForm, RegisterForm, ResetForm, ResetRequestForm

bp = Blueprint("auth", __name__)


@functools.cache
def _account_of_session():
    """The account by id, with its point and its people: built once, the same object every
    request (SQLAlchemy then reuses its cache key and compiled form instead of making both
    again from new loader options, about a third of the load's CPU)."""
    from sqlalchemy import bindparam, select
    from sqlalchemy.orm import joinedload

    from gantong.models import User

    return (
        select(User)
        .options(joinedload(User.point), joinedload(User.holders))
        .where(User.id == bindparam("user_id"))
    )


@login_manager.user_loader
def load_user(session_id: str):
    """The account of a live session: "<user id>.<session generation>" (User.get_id).

    Sessions are revocable by a generation number on the account rather than by a table of
    server-side sessions: the account's row is read on every request anyway, so checking costs
    no statement more, and ending sessions is one UPDATE. The price is that ending one session
    ends all of the account's sessions (see logout).
    """
    from gantong.extensions import db

    user_id, _, generation = session_id.partition(".")
    if not user_id.isdigit() or not generation.isdigit():
        return None  # a cookie from before generations (or a forged one): log in again
    # A volunteer's point comes in the same query: every checkpoint request checks it; so do a
    # resident's people (every resident page lists or checks them: the code page reads the rest
    # in one more statement). An account already in the session is the one returned, as
    # Session.get does.
    user = (
        db.session.execute(_account_of_session(), {"user_id": int(user_id)})
        .unique()
        .scalar_one_or_none()
    )
    if user is None or not user.active or user.session_generation != int(generation):
        # Deactivated, or the session was ended (logout, new password, reset, role change).
        return None
    return user


login_manager.login_view = "auth.login"
login_manager.login_message = None


def _account_key() -> str:
    """Rate-limit key for one account: the normalised number, whatever way it was typed."""
    raw = request.form.get("phone", "")
    try:
        return "login:" + identity.normalise_phone(raw)
    except identity.InvalidPhone:
        return "login:" + raw.strip()


def _pair_key() -> str:
    """Rate-limit key for one address trying one account."""
    return f"{_account_key()}@{request.remote_addr or ''}"


def _tell_owner(_limit) -> None:
    """The account's logins are held back: tell its owner by SMS (once per 15 minutes)."""
    accounts.tell_owner_of_failed_logins(_account_key().removeprefix("login:"))


def _failed(response) -> bool:
    return request.method == "POST" and response.status_code != 303


# Failed logins count three ways (figures in gantong/config.py): per address and account pair
# (slows one attacker on one account, never the owner elsewhere), per address (slows one
# address spraying many accounts: it only), per account (many addresses at once; the owner then
# gets in with the SMS reset code, which logs them in). Successful logins never count.
@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
    methods=["POST"],
    deduct_when=_failed,
    scope="login-address",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_PAIR"],
    methods=["POST"],
    key_func=_pair_key,
    deduct_when=_failed,
    scope="login-pair",
)
@limiter.limit(
    lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    methods=["POST"],
    key_func=_account_key,
    deduct_when=_failed,
    scope="login-account",
    on_breach=_tell_owner,
)
def login():
    """Log in with a mobile number and a password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.phone.e164, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(
                safe_next(request.args.get("next"))
                if request.args.get("next")
                else session.home_for(user),
                code=303,
            )
        form.password.errors.append(_("Wrong mobile number or password."))
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@signup_limits.limited_per_address("auth/register.html")
def register():
    """Create an account with a mobile number and a password."""
    form = RegisterForm()
    if form.validate_on_submit():
        # A typo is told next to its field and costs nothing; a try past the checks counts.
        if not signup_limits.spend_number_try():
            return signup_limits.refused("auth/register.html")
        if session.open_account(form):
            flash(_("Your account is ready. Now add your identity."))
            return redirect(url_for("resident.add_person"), code=303)
    return render_template("auth/register.html", form=form)


@bp.post("/logout")
@login_required
def logout():
    """Log out: end every session of the account, on this device and any other.

    A copied cookie must die with the logout, and with one generation per account that means
    all of its sessions: a resident logged in on a second phone logs in there again.
    """
    current_user.end_sessions()
    logout_user()
    return redirect(url_for("public.index"), code=303)


# What an account that must change its password may still reach. The API and the queued
# record submission are authorised by their own tokens, not by the session.
ALLOWED_ENDPOINTS = {
    "auth.change_password",
    "auth.forgot_password",
    "auth.reset_password",
    "auth.logout",
    "auth.login",
    "set_language",
    "asset",
    "static",
    "checkpoint.submit_record",
    "checkpoint.service_worker",
}
ALLOWED_BLUEPRINTS = {"api"}


@bp.before_app_request
def require_password_change():
    """Send an account with a one-time password to change it before any other page."""
    # The endpoint first: static files need no account loaded from the database.
    if request.endpoint in ALLOWED_ENDPOINTS or request.blueprint in ALLOWED_BLUEPRINTS:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    target = url_for("auth.change_password")
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the account's password (at first login: replace the one-time password)."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_own_password(current_user, form.current.data, form.password.data)
        except accounts.WrongPassword:
            form.current.errors.append(_("This is not your current password."))
        except accounts.SamePassword:
            form.password.errors.append(
                _("Choose a password of your own, not the one you were given.")
            )
        else:
            # The change ended every session (copied cookies too); this one goes on.
            login_user(current_user._get_current_object())
            flash(_("Password changed."))
            return redirect(session.home_for(current_user), code=303)
    return render_template(
        "auth/password.html", form=form, first_login=current_user.must_change_password
    )


@bp.route("/account/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    """Text a one-time code to the account's number (never saying whether it has an account)."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        password_reset.send_code(form.phone.e164)
        flash(_("If this number has an account, a code is on its way by text message."))
        return redirect(url_for(".reset_password", phone=form.phone.data), code=303)
    return render_template("auth/forgot.html", form=form)


@bp.route("/account/password/reset", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password():
    """Set a new password with the code from the text message."""
    form = ResetForm()
    if not form.is_submitted() and request.args.get("phone"):
        form.phone.data = request.args["phone"]
    if form.validate_on_submit():
        if password_reset.reset(form.phone.e164, form.code.data, form.password.data):
            # The texted code proves the phone: the owner is in, even while password logins to
            # the account are held back by an attack (the reset ended every older session).
            user = accounts.find_by_phone(form.phone.e164)
            login_user(user)
            flash(_("Password changed."))
            return redirect(session.home_for(user), code=303)
        form.code.errors.append(_("This code is wrong or has expired. Ask for a new one."))
    return render_template("auth/reset.html", form=form)
