"""Pre-entry registration, officers' arrivals and people without a phone, paper codes."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from gantong.auth import session, signup_limits
from gantong.auth.forms import RegisterForm
from gantong.codes import paper
from gantong.core import identity, qr
from gantong.entry import preentry
from gantong.extensions import db
from gantong.models import Holder, PreEntry
from gantong.web import certificate_labels, i18n
from gantong.web.guards import require_role
from gantong.web.i18n import current_language, day
from gantong.web.labels import country_name
from gantong.web.paging import page_number

from .forms import CATEGORY_LABELS, ArrivalForm, LostForm, NewHolderForm, PaperForm, PreEntryForm

bp = Blueprint("entry", __name__, url_prefix="/entry")

PUBLIC_ENDPOINTS = {"entry.start", "entry.register"}
ARRIVAL_VIEWS = {"expected": False, "arrived": True, "all": None}


@bp.before_request
def require_login():
    """Everything but the start and account pages needs a logged-in account."""
    if request.endpoint not in PUBLIC_ENDPOINTS and not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def holder_in_reach(holder_id: int) -> Holder:
    """Return a holder the user may print paper codes for: their own people, or their district's.

    :raise 403: for staff and administrators.
    :raise 404: if the holder does not exist, belongs to another account or another district.
    """
    require_role("resident", "officer")
    holder = db.session.get(Holder, holder_id)
    if holder is None:
        abort(404)
    if current_user.role == "resident" and holder.account_id != current_user.id:
        abort(404)
    if current_user.role == "officer" and holder.district_code != current_user.district_code:
        abort(404)
    return holder


@bp.get("/")
def start():
    """Explain registration before arrival, and where to begin."""
    return render_template("entry/start.html")


@bp.route("/register", methods=["GET", "POST"])
@signup_limits.limited_per_address("entry/register.html")
def register():
    """Create an account with any phone number, mainland or international, before arrival."""
    if current_user.is_authenticated:
        return redirect(url_for(".trip"))
    form = RegisterForm()
    if form.validate_on_submit():
        # A typo is told next to its field and costs nothing; a try past the checks counts.
        if not signup_limits.spend_number_try():
            return signup_limits.refused("entry/register.html")
        if session.open_account(form):
            flash(_("Your account is ready. Now tell us who you are and how you are coming."))
            return redirect(url_for(".trip"), code=303)
    return render_template("entry/register.html", form=form)


@bp.route("/trip", methods=["GET", "POST"])
def trip():
    """Register a person and their journey before arrival; their code starts yellow."""
    require_role("resident")
    form = PreEntryForm()
    if not form.is_submitted():
        form.contact_phone.data = current_user.phone
    if form.validate_on_submit():
        registration = form.registered(lambda: preentry.register(current_user, *form.details()))
        if registration is not None and form.certificate_check is not None:
            preentry.attach_certificate(
                registration, form.certificate.data, form.certificate_check, current_user
            )
        if registration is not None:
            flash(
                _(
                    "Registered. Your code counts the quarantine from your arrival; show it at the first checkpoint when you arrive."
                )
            )
            return redirect(url_for("resident.code", holder_id=registration.holder_id), code=303)
    return render_template("entry/trip.html", form=form)


@bp.get("/arrivals")
def arrivals():
    """The officer's district: people registered before arrival, with their colour."""
    require_role("officer")
    return _render_arrivals()


def _render_arrivals(failed_form: ArrivalForm | None = None, failed_id: int | None = None):
    show = request.args.get("show", "expected")
    if show not in ARRIVAL_VIEWS:
        show = "expected"
    listing = preentry.arrivals(current_user.district_code, ARRIVAL_VIEWS[show], page_number())
    rows, more, page = listing.rows, listing.has_next, listing.number
    # One form per row, each with its own field ids; a failed one keeps what was typed.
    forms = {row.id: ArrivalForm.of(row, formdata=None) for row in rows}
    if failed_form is not None:
        forms[failed_id] = failed_form
    language = current_language()
    attached = preentry.certificates_for([row.id for row in rows])
    return render_template(
        "entry/arrivals.html",
        certificates={
            pre_entry_id: [certificate_labels.of_stored(c) for c in found]
            for pre_entry_id, found in attached.items()
        },
        rows=rows,
        more=more,
        page=page,
        show=show,
        forms=forms,
        categories=CATEGORY_LABELS,
        country_name=lambda code: country_name(code, language),
    )


@bp.post("/arrivals/<int:pre_entry_id>")
def confirm_arrival(pre_entry_id: int):
    """An officer confirms or corrects the day a registered person arrived."""
    require_role("officer")
    pre_entry = db.session.get(PreEntry, pre_entry_id)
    if pre_entry is None or pre_entry.destination_district != current_user.district_code:
        abort(404)
    form = ArrivalForm.of(pre_entry)
    if not form.validate_on_submit():
        return _render_arrivals(form, pre_entry.id)
    preentry.confirm_arrival(pre_entry, form.arrived_on.data, current_user._get_current_object())
    flash(
        _(
            "Arrival recorded: the quarantine now counts from %(date)s.",
            date=day(form.arrived_on.data),
        )
    )
    return redirect(url_for(".arrivals", show=request.args.get("show", "expected")), code=303)


@bp.get("/holders")
def people_without_phone():
    """The officer's district: people registered without an account, to print paper codes for."""
    require_role("officer")
    return render_template(
        "entry/holders.html", people=preentry.people_without_phone(current_user.district_code)
    )


@bp.route("/holders/new", methods=["GET", "POST"])
def new_holder():
    """An officer registers a person with no phone and no account, and prints their paper code."""
    require_role("officer")
    form = NewHolderForm()
    if form.validate_on_submit():
        registered = form.registered(
            lambda: paper.register_for_paper(
                form.details(current_user.district_code), current_user._get_current_object()
            ),
            taken=_(
                "This document is registered already. Find the person's code; if someone else "
                "registered it, check the document in person under Review, Identity check in "
                "person, and move the code to the person."
            ),
        )
        if registered is not None:
            holder, _paper = registered
            flash(_("Registered. Print the paper code and give it to the person."))
            return redirect(url_for(".paper_code", holder_id=holder.id), code=303)
    return render_template("entry/new_holder.html", form=form)


@bp.get("/people/<int:holder_id>/paper")
def paper_code(holder_id: int):
    """The printable paper code (one page, A6 fits), or the button to make one."""
    return _render_paper(holder_in_reach(holder_id), LostForm())


def _render_paper(holder: Holder, lost_form: LostForm):
    live = paper.live_paper(holder)
    return render_template(
        "entry/paper.html",
        holder=holder,
        paper_code=live,
        qr_svg=qr.svg(paper.token_text(live)) if live else None,
        document_tail=identity.document_tail(holder.doc_number),
        papers=paper.papers_of(holder),
        is_live=paper.is_live,
        paper_form=PaperForm(),
        lost_form=lost_form,
    )


@bp.post("/people/<int:holder_id>/paper")
def print_paper(holder_id: int):
    """Make the holder's paper code if none works now; a working one is shown again."""
    holder = holder_in_reach(holder_id)
    if PaperForm().validate_on_submit():
        paper.issue(holder, current_user._get_current_object())
    return redirect(url_for(".paper_code", holder_id=holder.id), code=303)


@bp.post("/people/<int:holder_id>/paper/lost")
def report_lost(holder_id: int):
    """Report the paper code lost: its serial is revoked and a new one printed."""
    holder = holder_in_reach(holder_id)
    form = LostForm()
    if not form.validate_on_submit():
        return _render_paper(holder, form)
    actor = current_user._get_current_object()
    try:
        # An officer at a desk sees the person and their document: not limited.
        paper.report_lost(holder, actor, limited=actor.role != "officer")
    except paper.TooManyReplacements as refused:
        form.confirm.errors.append(
            _(
                "This paper code was replaced as often as allowed for now. Go to a service desk "
                "with your identity document, or report it lost again after %(when)s.",
                when=i18n.moment(refused.again_at),
            )
        )
        return _render_paper(holder, form), 429
    flash(_("The old paper code no longer works. Print this new one."))
    return redirect(url_for(".paper_code", holder_id=holder.id), code=303)
