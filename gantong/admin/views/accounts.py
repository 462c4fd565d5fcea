"""Staff, officer and admin accounts, and the changes a second administrator confirms."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.admin import staff_accounts
from gantong.auth.accounts import PhoneTaken
from gantong.extensions import db
from gantong.models import AccountChange, User
from gantong.web.fragments import page_or_fragment
from gantong.web.paging import page_number

from ..forms import AccountForm, ActiveForm, BindingForm, ConfirmForm
from .blueprint import bp


def _account_or_404(user_id: int):
    """Return a staff, officer or admin account.

    :raise 404: if there is none with this id (residents' accounts are not managed here).
    """
    user = staff_accounts.managed_account(user_id)
    if user is None:
        abort(404)
    return user


@bp.get("/accounts")
def accounts():
    """List staff, officers and admins, filtered by role and number."""
    role, phone = request.args.get("role", ""), request.args.get("phone", "").strip()
    listing = staff_accounts.list_accounts(role, phone, page_number())
    return page_or_fragment(
        "admin/accounts.html",
        "admin/_accounts.html",
        "results",
        listing=listing,
        role=role,
        phone=phone,
    )


@bp.route("/accounts/new", methods=["GET", "POST"])
def new_account():
    """Create a staff account, or ask for an officer or admin account (a second admin confirms).

    The one-time password goes by text message to the account's own number: no administrator
    ever sees it.
    """
    form = AccountForm()
    if not form.is_submitted():
        form.role.data = request.args.get("role", "staff")
        form.point.data = request.args.get("point", "")
        form.lab.data = request.args.get("lab", "")
    if form.validate_on_submit():
        try:
            made = staff_accounts.create_account(
                form.role.data,
                form.phone.e164,
                form.binding(),
                actor=current_user._get_current_object(),
            )
        except PhoneTaken:
            form.phone.errors.append(_("This number has an account already."))
        else:
            if isinstance(made, AccountChange):
                flash(
                    _(
                        "Asked: a second administrator must confirm this account. The one-time "
                        "password then goes by text message to its number."
                    )
                )
                return redirect(url_for(".account_changes"), code=303)
            flash(_("Account created. Its one-time password went by text message to its number."))
            return redirect(url_for(".account", user_id=made.id), code=303)
    return render_template("admin/account_new.html", form=form)


@bp.get("/accounts/changes")
def account_changes():
    """The account changes waiting for a second administrator."""
    changes = staff_accounts.pending_changes()
    admin = current_user._get_current_object()
    # Who asked for whose account, up the chain from each requester: the confirming
    # administrator sees whether a request comes from an account they (or theirs) asked for.
    chains = {
        requester: staff_accounts.asked_for_by(requester)
        for requester in {change.requested_by for change in changes}
    }
    users = {
        user.id: user
        for user in db.session.scalars(
            db.select(User).where(
                User.id.in_(
                    {change.user_id for change in changes}
                    | {change.requested_by for change in changes}
                )
            )
        )
    }
    return render_template(
        "admin/account_changes.html",
        changes=changes,
        users=users,
        details=staff_accounts.change_details,
        chains=chains,
        confirmable={change.id for change in changes if staff_accounts.can_confirm(change, admin)},
        confirm_form=ConfirmForm(),
    )


@bp.post("/accounts/changes/<int:change_id>/confirm")
def confirm_account_change(change_id: int):
    """A second, different administrator confirms a pending account change."""
    return _decide_account_change(change_id, "confirm")


@bp.post("/accounts/changes/<int:change_id>/reject")
def reject_account_change(change_id: int):
    """Reject a pending account change."""
    return _decide_account_change(change_id, "reject")


def _decide_account_change(change_id: int, decision: str):
    change = db.session.get(AccountChange, change_id)
    if change is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".account_changes"), code=303)
    admin = current_user._get_current_object()
    try:
        if decision == "confirm":
            staff_accounts.confirm(change, admin)
            flash(
                _("Confirmed. Any one-time password went by text message to the account's number.")
            )
        else:
            staff_accounts.reject(change, admin)
            flash(_("Rejected."))
    except staff_accounts.Related:
        flash(
            _(
                "Your account and the requester's were asked for one by the other: an "
                "administrator outside that chain must confirm this."
            )
        )
    except staff_accounts.OwnRequest:
        flash(_("A second, different administrator must confirm this."))
    except staff_accounts.NotPending:
        flash(_("This change was decided already."))
    except PhoneTaken:
        flash(_("This number has an account already."))
    return redirect(url_for(".account_changes"), code=303)


def _render_account(user, form: BindingForm | None = None, active_form: ActiveForm | None = None):
    return render_template(
        "admin/account.html",
        user=user,
        form=form or BindingForm.for_account(user),
        active_form=active_form or ActiveForm(),
        confirm_form=ConfirmForm(),
    )


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
def account(user_id: int):
    """Show an account: its point or district, deactivation, a new one-time password."""
    user = _account_or_404(user_id)
    form = BindingForm(role=user.role) if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        pending = staff_accounts.update_binding(
            user, form.binding(), actor=current_user._get_current_object()
        )
        if pending is not None:
            flash(_("Asked: a second administrator must confirm the move to another district."))
            return redirect(url_for(".account_changes"), code=303)
        flash(_("Account saved."))
        return redirect(url_for(".account", user_id=user.id), code=303)
    return _render_account(user, form)


@bp.post("/accounts/<int:user_id>/active")
def account_active(user_id: int):
    """Deactivate an account (its sessions end at once) or reactivate it, with a reason (an
    officer or an administrator only once a second administrator confirms)."""
    user = _account_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        return _render_account(user, active_form=form)
    try:
        pending = staff_accounts.set_active(
            user,
            not user.active,
            actor=current_user._get_current_object(),
            reason=form.reason_text(),
        )
    except staff_accounts.OwnAccount:
        form.reason.errors.append(_("You cannot deactivate your own account."))
        return _render_account(user, active_form=form)
    if pending is not None:
        flash(_("Asked: a second administrator must confirm the reactivation."))
        return redirect(url_for(".account_changes"), code=303)
    flash(
        _("Account reactivated.")
        if user.active
        else _("Account deactivated: its sessions have ended.")
    )
    return redirect(url_for(".account", user_id=user.id), code=303)


@bp.post("/accounts/<int:user_id>/password")
def reset_password(user_id: int):
    """A new one-time password, sent by text message to the account's own number (an officer's
    or an administrator's once a second administrator confirms)."""
    user = _account_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".account", user_id=user.id), code=303)
    if staff_accounts.reset_password(user, actor=current_user._get_current_object()) is not None:
        flash(_("Asked: a second administrator must confirm the new password."))
        return redirect(url_for(".account_changes"), code=303)
    flash(_("A new one-time password went by text message to the account's number."))
    return redirect(url_for(".account", user_id=user.id), code=303)
