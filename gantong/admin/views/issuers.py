"""The trust list: issuers whose codes our checkpoints accept."""

from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.codes import trust_list

from ..forms import ActiveForm, IssuerEditForm, IssuerForm
from .blueprint import bp, toggle_active


@bp.get("/issuers")
def issuers_list():
    """The trust list: issuers whose codes our checkpoints accept."""
    return render_template(
        "admin/issuers.html", issuers=trust_list.list_issuers(), state=trust_list.state
    )


def _issuer_error(form, error: trust_list.IssuerError) -> None:
    field = getattr(form, error.field or "name", None) or form.name
    field.errors.append(_(str(error)))


@bp.route("/issuers/new", methods=["GET", "POST"])
def new_issuer():
    """Put an issuer on the trust list."""
    form = IssuerForm()
    if form.validate_on_submit():
        try:
            issuer = trust_list.add_issuer(**form.details(), actor=current_user)
        except trust_list.IssuerError as error:
            _issuer_error(form, error)
        else:
            flash(_("Issuer added: %(name)s.", name=issuer.name))
            return redirect(url_for(".issuer", issuer_id=issuer.id), code=303)
    return render_template("admin/issuer_new.html", form=form)


def _issuer_or_404(issuer_id: int):
    """Return the issuer.

    :raise 404: if there is none with this id.
    """
    issuer = trust_list.get(issuer_id)
    if issuer is None:
        abort(404)
    return issuer


def _render_issuer(issuer, form=None, active_form=None):
    if form is None:
        form = IssuerEditForm.for_issuer(issuer)
    return render_template(
        "admin/issuer.html",
        issuer=issuer,
        form=form,
        state=trust_list.state,
        active_form=active_form or ActiveForm(),
    )


@bp.route("/issuers/<int:issuer_id>", methods=["GET", "POST"])
def issuer(issuer_id: int):
    """Show an issuer; change its name, region or validity (its key never changes)."""
    issuer = _issuer_or_404(issuer_id)
    form = IssuerEditForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        try:
            trust_list.update_issuer(issuer.id, **form.details(), actor=current_user)
        except trust_list.IssuerError as error:  # refused before anything was changed
            _issuer_error(form, error)
        else:
            flash(_("Issuer saved."))
            return redirect(url_for(".issuer", issuer_id=issuer.id), code=303)
    return _render_issuer(issuer, form)


@bp.post("/issuers/<int:issuer_id>/active")
def issuer_active(issuer_id: int):
    """Stop or resume trusting an issuer's codes, with a reason."""
    issuer = _issuer_or_404(issuer_id)
    said = _("Issuer trusted again."), _("Issuer no longer trusted: its codes are refused.")
    return toggle_active(
        issuer,
        partial(trust_list.set_active, issuer.id, actor=current_user),
        partial(_render_issuer, issuer),
        url_for(".issuer", issuer_id=issuer.id),
        said,
    )
