"""Log in, register, log out."""
from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import login_required, login_user, logout_user

from .. import accounts, identity
from ..extensions import limiter, login_manager
from ..i18n import safe_next
from . import bp
from .forms import LoginForm, RegisterForm


@login_manager.user_loader
def load_user(user_id: str):
    from ..extensions import db
    from ..models import User

    user = db.session.get(User, int(user_id))
    # A deactivated account loses its open sessions at once.
    return user if user is not None and user.active else None


login_manager.login_view = "auth.login"
login_manager.login_message = None


def home_for(user) -> str:
    """Return where a user lands after logging in."""
    if user.must_change_password:
        # An account made by an admin replaces its one-time password first.
        return url_for("account.change_password")
    homes = {"staff": "checkpoint.station", "officer": "review.queue", "admin": "admin.index"}
    return url_for(homes.get(user.role, "resident.people"))


def _account_key() -> str:
    """Rate-limit key for one account: the normalised number, whatever way it was typed."""
    raw = request.form.get("phone", "")
    try:
        return "login:" + identity.normalise_phone(raw)
    except identity.InvalidPhone:
        return "login:" + raw.strip()


def _failed(response) -> bool:
    return request.method == "POST" and response.status_code != 303


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"], methods=["POST"],
               deduct_when=_failed, scope="login-address")
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed, scope="login-account")
def login():
    """Log in with a mobile number and a password."""
    form = LoginForm()
    if form.validate_on_submit():
        user = accounts.authenticate(form.phone.e164, form.password.data)
        if user is not None:
            login_user(user)
            return redirect(safe_next(request.args.get("next")) if request.args.get("next")
                            else home_for(user), code=303)
        form.password.errors.append(_("Wrong mobile number or password."))
    return render_template("auth/login.html", form=form)


@bp.route("/register", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
def register():
    """Create an account with a mobile number and a password."""
    form = RegisterForm()
    if form.validate_on_submit() and open_account(form):
        flash(_("Your account is ready. Now add your identity."))
        return redirect(url_for("resident.add_person"), code=303)
    return render_template("auth/register.html", form=form)


def open_account(form: RegisterForm) -> bool:
    """Create the account of a valid registration form and log it in; False if the number is taken."""
    try:
        user = accounts.register(form.phone.e164, form.password.data)
    except accounts.PhoneTaken:
        form.phone.errors.append(
            _("This number has an account already. Log in, or reset the password.")
        )
        return False
    login_user(user)
    return True


@bp.post("/logout")
@login_required
def logout():
    """Log out."""
    logout_user()
    return redirect(url_for("public.index"), code=303)
