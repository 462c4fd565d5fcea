"""Trust lists of international certificates: EU DCC signers and SMART Health Card issuers."""

from __future__ import annotations

from functools import partial

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.codes import intl_trust

from ..forms import ActiveForm, DscImportForm, ShcIssuerForm
from .blueprint import bp, toggle_active


def _render(import_form=None, issuer_form=None, active_form=None, status=200):
    return render_template(
        "admin/certificates.html",
        signers=intl_trust.list_signers(),
        shc_issuers=intl_trust.list_shc_issuers(),
        import_form=import_form or DscImportForm(),
        issuer_form=issuer_form or ShcIssuerForm(),
        active_form=active_form or ActiveForm(),
    ), status


@bp.get("/certificates")
def certificates():
    """The trust lists of international certificates."""
    return _render()


@bp.post("/certificates/dsc")
def import_dsc():
    """Import EU DCC signer certificates from a gateway trust-list file."""
    form = DscImportForm()
    if not form.validate_on_submit():
        return _render(import_form=form)
    try:
        result = intl_trust.import_dsc_file(form.file.data.read(), current_user)
    except intl_trust.TrustError as error:
        form.file.errors.append(_(str(error)))
        return _render(import_form=form)
    flash(
        _(
            "Signers added: %(added)d; already listed: %(unchanged)d; refused: %(refused)d.",
            added=len(result.added),
            unchanged=len(result.unchanged),
            refused=len(result.refused),
        )
    )
    for kid, reason in result.refused:
        flash(_("Refused %(kid)s: %(reason)s", kid=kid, reason=reason))
    return redirect(url_for(".certificates"), code=303)


@bp.post("/certificates/shc")
def add_shc_issuer():
    """Trust a SMART Health Card issuer (its keys fetched from it, or given)."""
    form = ShcIssuerForm()
    if not form.validate_on_submit():
        return _render(issuer_form=form)
    try:
        issuer = intl_trust.add_shc_issuer(
            form.iss.data, form.name.data, current_user, jwks_text=form.jwks.data or ""
        )
    except intl_trust.TrustError as error:
        field = getattr(form, error.field or "iss", form.iss)
        field.errors.append(_(str(error), detail=error.detail))
        return _render(issuer_form=form)
    flash(_("Issuer added: %(name)s.", name=issuer.name))
    return redirect(url_for(".certificates"), code=303)


@bp.post("/certificates/shc/<int:issuer_id>/refresh")
def refresh_shc_issuer(issuer_id: int):
    """Fetch an SHC issuer's keys and revocation lists again."""
    issuer = intl_trust.get_shc_issuer(issuer_id)
    if issuer is None:
        abort(404)
    if intl_trust.refresh_shc_issuer(issuer, current_user):
        flash(_("Keys and revocation lists fetched."))
    else:
        flash(
            _(
                "Fetching failed; the keys fetched before are kept: %(error)s",
                error=issuer.fetch_error,
            )
        )
    return redirect(url_for(".certificates"), code=303)


@bp.post("/certificates/dsc/<int:signer_id>/active")
def signer_active(signer_id: int):
    """Stop or resume trusting a DCC signer."""
    signer = intl_trust.get_signer(signer_id)
    if signer is None:
        abort(404)
    return toggle_active(
        signer,
        lambda active, reason: intl_trust.set_signer_active(signer, active, current_user, reason),
        partial(_render),
        url_for(".certificates"),
        (_("Signer trusted again."), _("Signer no longer trusted.")),
    )


@bp.post("/certificates/shc/<int:issuer_id>/active")
def shc_issuer_active(issuer_id: int):
    """Stop or resume trusting an SHC issuer."""
    issuer = intl_trust.get_shc_issuer(issuer_id)
    if issuer is None:
        abort(404)
    return toggle_active(
        issuer,
        lambda active, reason: intl_trust.set_shc_issuer_active(
            issuer, active, current_user, reason
        ),
        partial(_render),
        url_for(".certificates"),
        (_("Issuer trusted again."), _("Issuer no longer trusted.")),
    )
