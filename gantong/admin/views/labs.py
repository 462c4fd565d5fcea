"""Labs: adding one (with its public key if it signs), its accounts, its API tokens."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.extensions import db
from gantong.labs import results
from gantong.models import Lab, LabApiToken

from ..forms import ConfirmForm, LabForm
from .blueprint import bp


@bp.route("/labs", methods=["GET", "POST"])
def labs_list():
    """List the labs; add one."""
    form = LabForm()
    if form.validate_on_submit():
        lab = results.add_lab(
            form.name.data.strip(),
            form.district.data,
            getattr(form.public_key, "key", None),
            actor=current_user._get_current_object(),
        )
        flash(_("Lab added. Ask for its accounts: a second administrator confirms each."))
        return redirect(url_for(".lab_page", lab_id=lab.id), code=303)
    return render_template("admin/labs.html", labs=results.all_labs(), form=form)


@bp.get("/labs/<int:lab_id>")
def lab_page(lab_id: int):
    """A lab: its accounts and their API tokens."""
    lab = db.get_or_404(Lab, lab_id)
    return render_template(
        "admin/lab.html",
        lab=lab,
        accounts=results.lab_accounts(lab),
        tokens=results.api_tokens(lab),
        confirm_form=ConfirmForm(),
    )


@bp.post("/labs/<int:lab_id>/tokens/<int:token_id>/revoke")
def revoke_lab_token(lab_id: int, token_id: int):
    """Revoke a lab's API token (a leaked one, a retired system)."""
    row = db.session.get(LabApiToken, token_id)
    if row is None or row.lab_id != lab_id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        results.revoke_api_token(row, current_user._get_current_object())
        flash(_("Token revoked."))
    return redirect(url_for(".lab_page", lab_id=lab_id), code=303)
