"""The resident's pages: people, identity, declarations and the code."""
from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from .. import holders, qr, rules, verification
from ..extensions import db, htmx
from ..models import Holder, utcnow
from . import bp
from .forms import DeclarationForm, IdentityForm, today


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a logged-in account."""


def own_holder(holder_id: int) -> Holder:
    """Return one of the account's people.

    :raise 404: if the person does not exist or belongs to another account.
    """
    holder = db.session.get(Holder, holder_id)
    if holder is None or holder.account_id != current_user.id:
        abort(404)
    return holder


@bp.get("")
def people():
    """List the account's people, or ask for the first one."""
    if not current_user.holders:
        return redirect(url_for(".add_person"))
    if len(current_user.holders) == 1:
        return redirect(url_for(".code", holder_id=current_user.holders[0].id))
    return render_template("resident/people.html", people=current_user.holders)


@bp.route("/people/new", methods=["GET", "POST"])
def add_person():
    """Add the account holder or a family member as a code holder."""
    has_self = any(holder.is_self for holder in current_user.holders)
    form = IdentityForm()
    if not form.is_submitted() and not has_self:
        form.is_self.data = True
    if form.validate_on_submit():
        person = holders.Identity(
            name=form.name.data,
            doc_type=form.doc_type.data,
            doc_number=form.doc_number.normalised,
            doc_country=form.doc_country.data or "",
            nationality=form.nationality.data,
            district_code=form.district.data,
            address=form.address.data.strip(),
        )
        try:
            holder = holders.add_holder(current_user, person, is_self=form.is_self.data and not has_self)
        except holders.DocumentTaken:
            form.doc_number.errors.append(
                _(
                    "This document is registered already. If it is yours, take it to the "
                    "epidemic-prevention office of your district and file a claim: they will "
                    "move it to your account."
                )
            )
        else:
            return redirect(url_for(".declare", holder_id=holder.id), code=303)
    return render_template("resident/add_person.html", form=form, has_self=has_self)


@bp.route("/people/<int:holder_id>/declare", methods=["GET", "POST"])
def declare(holder_id: int):
    """Add a health and travel declaration."""
    holder = own_holder(holder_id)
    form = DeclarationForm()
    if form.validate_on_submit():
        facts = holders.DeclarationFacts(
            symptoms=form.symptoms.data or [],
            close_contact=form.close_contact.data,
            contact_date=form.contact_date.data,
            stays=[
                (stay.place.data, stay.start.data, stay.end.data)
                for stay in form.stays
                if stay.place.data
            ],
            entry_date=form.entry_date.data,
            entry_port=(form.entry_port.data or "").strip(),
        )
        holders.declare(holder, facts, author=current_user)
        flash(_("Declaration saved."))
        return redirect(url_for(".code", holder_id=holder.id), code=303)
    return render_template("resident/declare.html", form=form, holder=holder, today=today())


@bp.get("/people/<int:holder_id>")
def code(holder_id: int):
    """Show the person's code; to htmx's poll, just the refreshed card."""
    holder = own_holder(holder_id)
    now = utcnow()
    result = holders.refresh_colour(holder, now)
    context = code_card_context(holder, result, now)
    if htmx and htmx.target == "code-card":
        return render_template("resident/_code_card.html", **context)
    return render_template(
        "resident/code.html",
        **context,
        people=current_user.holders,
        history=holders.colour_history(holder, limit=3),
    )


def code_card_context(holder: Holder, result: rules.Result, now) -> dict:
    from .. import keys

    token, text = keys.signed_screen_token(holder, now)
    number = holders.dynamic_number(holder, now)
    # Drawing the QR is the slow part (segno's mask search): let other requests in first.
    db.session.commit()
    return {
        "holder": holder,
        "result": result,
        "token": token,
        "qr_svg": qr.svg(text),
        "number": number,
        "now": now,
        "refresh": current_app.config["QR_REFRESH_SECONDS"],
    }


@bp.get("/people/<int:holder_id>/history")
def history(holder_id: int):
    """Show every change of the person's colour and every declaration."""
    holder = own_holder(holder_id)
    return render_template(
        "resident/history.html",
        holder=holder,
        changes=holders.colour_history(holder),
        declarations=list(reversed(holder.declarations)),
    )


@bp.get("/people/<int:holder_id>/checks")
def checks(holder_id: int):
    """Where the person's code was checked: date, point, result (never the volunteer)."""
    holder = own_holder(holder_id)
    return render_template("resident/checks.html", holder=holder,
                           records=verification.checks_for_holder(holder))
