"""The audit trail: its search, the chain check, and its signed head."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from gantong import audit, audit_heads
from gantong.admin import audit_search
from gantong.admin.labels import kept_head_refusal
from gantong.web.fragments import page_or_fragment
from gantong.web.inputs import query_int

from ..forms import AuditFilterForm, ConfirmForm, KeptHeadForm
from .blueprint import bp


@bp.get("/audit")
def audit_trail():
    """The audit trail, newest first, with filters and the chain check."""
    form = AuditFilterForm(request.args)
    selection = form.selection() if request.args and form.validate() else audit_search.AuditFilter()
    before = query_int("before")
    listing = audit_search.search(selection, before)
    next_args = {**request.args.to_dict(), "before": listing.next_before}
    return page_or_fragment(
        "admin/audit.html",
        "admin/_audit.html",
        "results",
        form=form,
        listing=listing,
        next_args=next_args,
    )


@bp.get("/audit/check")
def audit_check():
    """Check the whole hash chain and show the result."""
    check = audit.verify_chain()
    return page_or_fragment(
        "admin/audit_check.html",
        "admin/_chain.html",
        "chain",
        check=check,
        kept_form=KeptHeadForm(formdata=None),
        head=audit_heads.latest(),
    )


@bp.post("/audit/check")
def audit_check_kept():
    """Check the chain against a head kept elsewhere (a signed head, or a bare head hash)."""
    form = KeptHeadForm()
    result = None
    if form.validate_on_submit():
        try:
            if form.is_signed_head():
                kept = audit_heads.read_kept(form.kept.data)
                result = audit_heads.check_against(kept.head_hash, kept.seq)
            else:
                result = audit_heads.check_against(form.head_hash())
        except audit_heads.BadHead as refusal:
            form.kept.errors.append(
                _("This is not a signed head of ours: %(why)s", why=kept_head_refusal(str(refusal)))
            )
    return render_template(
        "admin/audit_check.html",
        check=audit.verify_chain(),
        kept_form=form,
        kept_result=result,
        head=audit_heads.latest(),
    )


@bp.post("/audit/head")
def audit_sign_head():
    """Sign the trail's head now (it is signed at a set interval too) and publish it."""
    if ConfirmForm().validate_on_submit():
        audit_heads.sign_head()
        flash(_("The head is signed and published at /audit/head.json."))
    return redirect(url_for(".audit_check"), code=303)
