"""The account's own password; accounts made by an admin must change theirs before anything else."""
from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import admin_accounts, password_reset
from ..extensions import htmx, limiter
from . import bp
from .forms import PasswordChangeForm, ResetForm, ResetRequestForm

# What an account that must change its password may still reach. The API and the queued
# record submission are authorised by their own tokens, not by the session.
ALLOWED_ENDPOINTS = {"account.change_password", "account.forgot_password", "account.reset_password",
                     "auth.logout", "auth.login", "set_language", "asset",
                     "static", "checkpoint.submit_record", "checkpoint.service_worker"}
ALLOWED_BLUEPRINTS = {"api"}


@bp.before_app_request
def require_password_change():
    """Send an account with a one-time password to change it before any other page."""
    # The endpoint first: static files need no account loaded from the database.
    if request.endpoint in ALLOWED_ENDPOINTS or request.blueprint in ALLOWED_BLUEPRINTS:
        return None
    if not current_user.is_authenticated or not current_user.must_change_password:
        return None
    target = url_for("account.change_password")
    if htmx:
        return "", 204, {"HX-Redirect": target}
    return redirect(target, code=303)


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    """Change the account's password (at first login: replace the one-time password)."""
    from ..auth.views import home_for

    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            admin_accounts.change_own_password(current_user, form.current.data, form.password.data)
        except admin_accounts.WrongPassword:
            form.current.errors.append(_("This is not your current password."))
        except admin_accounts.SamePassword:
            form.password.errors.append(_("Choose a password of your own, not the one you were given."))
        else:
            flash(_("Password changed."))
            return redirect(home_for(current_user), code=303)
    return render_template("account/password.html", form=form,
                           first_login=current_user.must_change_password)


@bp.route("/password/forgot", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def forgot_password():
    """Text a one-time code to the account's number (never saying whether it has an account)."""
    form = ResetRequestForm()
    if form.validate_on_submit():
        password_reset.send_code(form.phone.e164)
        flash(_("If this number has an account, a code is on its way by text message."))
        return redirect(url_for(".reset_password", phone=form.phone.data), code=303)
    return render_template("account/forgot.html", form=form)


@bp.route("/password/reset", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"])
def reset_password():
    """Set a new password with the code from the text message."""
    form = ResetForm()
    if not form.is_submitted() and request.args.get("phone"):
        form.phone.data = request.args["phone"]
    if form.validate_on_submit():
        if password_reset.reset(form.phone.e164, form.code.data, form.password.data):
            flash(_("Password changed. Log in with the new one."))
            return redirect(url_for("auth.login"), code=303)
        form.code.errors.append(_("This code is wrong or has expired. Ask for a new one."))
    return render_template("account/reset.html", form=form)
