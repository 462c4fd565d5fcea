"""District officers: review queues, decisions, official records."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gantong.auth import accounts
from gantong.checkpoint import scan_records
from gantong.extensions import db
from gantong.models import Application, Claim, Holder, IdentityCheck, OfficialRecord, User
from gantong.review import applications, claims, identity_checks, official_records, queries
from gantong.web.fragments import page_or_fragment
from gantong.web.guards import in_district, require_role
from gantong.web.paging import page_number

from .forms import ClaimDecisionForm, DecisionForm, OfficialRecordForm, QueueFilterForm, SearchForm
from .identity_forms import FindByDocumentForm, IdentityCheckForm, IdentityDecisionForm

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.before_request
@login_required
def require_officer():
    """Officers only, each scoped to their own district."""
    require_role("officer")


def district_holder(holder_id: int) -> Holder:
    """Return a holder of the officer's district.

    :raise 404: if the holder does not exist or lives in another district.
    """
    return in_district(db.session.get(Holder, holder_id), current_user.district_code)


def district_item(model, item_id: int):
    """Return an application, claim or official record about a holder of the officer's district.

    :raise 404: if it does not exist or its holder lives in another district.
    """
    item = db.session.get(model, item_id)
    in_district(item.holder if item is not None else None, current_user.district_code)
    return item


def officer():
    return current_user._get_current_object()


@bp.get("/")
def queue():
    """The district's pending applications, claims and records, oldest first; htmx gets the list."""
    filters = QueueFilterForm(formdata=request.args)
    filters.validate()
    kind = "" if filters.kind.errors else filters.kind.data or ""
    # Optional() lets a blank (" ") through without checking the choices: only a listed age counts.
    ages = {value for value, _label in filters.age.choices if value}
    age = int(filters.age.data) if not filters.age.errors and filters.age.data in ages else 0
    page_number = filters.page.data if not filters.page.errors and filters.page.data else 1
    context = {
        "filters": filters,
        "queue": queries.pending_queue(
            current_user.district_code,
            kind,
            age,
            page_number,
            per_page=current_app.config.get("REVIEW_PAGE_SIZE", queries.PER_PAGE),
        ),
        "kind": kind,
        "age": filters.age.data if age else "",
        "search": SearchForm(formdata=None),
        "stale": scan_records.stale_records(current_user.district_code),
        "late_minutes": scan_records.LATE_AFTER // 60,
    }
    return page_or_fragment("review/queue.html", "review/_queue_list.html", "queue-list", **context)


@bp.get("/people")
def people():
    """Find the district's people by the start of the name or the tail of the document number;
    htmx gets the list."""
    search = SearchForm(formdata=request.args)
    found = queries.find_people(
        current_user.district_code,
        search.q.data or "" if search.validate() else "",
        page_number(),
        per_page=current_app.config.get("REVIEW_PAGE_SIZE", queries.PER_PAGE),
    )
    return page_or_fragment(
        "review/people.html", "review/_people_list.html", "people-list", search=search, found=found
    )


def _render_person(holder: Holder, record_form: OfficialRecordForm):
    return render_template(
        "review/person.html", record_form=record_form, **queries.person_file(holder)
    )


@bp.get("/people/<int:holder_id>")
def person(holder_id: int):
    """A person's file: identity, declarations, hits, checks, history, records and requests."""
    return _render_person(district_holder(holder_id), OfficialRecordForm())


@bp.post("/people/<int:holder_id>/records")
def add_record(holder_id: int):
    """Record an official case status with its legal basis."""
    holder = district_holder(holder_id)
    form = OfficialRecordForm()
    if not form.validate_on_submit():
        return _render_person(holder, form)
    entry = official_records.record(
        holder, officer(), form.status.data, form.basis.data, form.contact_date.data
    )
    if entry.state == official_records.PENDING:
        flash(_("Recorded. It takes effect when a second officer of the district approves it."))
    else:
        flash(_("Recorded. It is in force."))
    return redirect(url_for(".record", record_id=entry.id), code=303)


def _render_request(template: str, item, form, **extra):
    """Render an application or claim above the holder's whole file, which the decision weighs."""
    person_file = queries.person_file(item.holder)
    hits = {hit.key: hit for hit in person_file["result"].hits}
    return render_template(template, item=item, form=form, hits=hits, **person_file, **extra)


@bp.route("/applications/<int:application_id>", methods=["GET", "POST"])
def application(application_id: int):
    """A transcoding application and its evidence; approve or reject it with a reason."""
    item = district_item(Application, application_id)
    form = DecisionForm("application")
    if form.validate_on_submit():
        try:
            applications.decide(item, officer(), form.decision.data == "approve", form.reason.data)
        except applications.NotPending:
            flash(_("This was decided already."))
        else:
            flash(
                _("Application approved.")
                if item.status == applications.APPROVED
                else _("Application rejected.")
            )
        return redirect(url_for(".application", application_id=item.id), code=303)
    return _render_request("review/application.html", item, form)


@bp.route("/claims/<int:claim_id>", methods=["GET", "POST"])
def claim(claim_id: int):
    """A claim and the fact it names; accept (writing the correction) or reject it with a reason."""
    item = district_item(Claim, claim_id)
    needs_basis = claims.hit_source(item.hit_key) == "official"
    form = ClaimDecisionForm(needs_basis=needs_basis)
    if form.validate_on_submit():
        try:
            claims.decide(
                item, officer(), form.decision.data == "accept", form.reason.data, form.basis.data
            )
        except claims.NotPending:
            flash(_("This was decided already."))
        else:
            flash(_("Claim accepted.") if item.status == claims.ACCEPTED else _("Claim rejected."))
        return redirect(url_for(".claim", claim_id=item.id), code=303)
    return _render_request("review/claim.html", item, form, needs_basis=needs_basis)


@bp.route("/records/<int:record_id>", methods=["GET", "POST"])
def record(record_id: int):
    """An official record; a second officer approves it, anyone of the district may reject it."""
    item = district_item(OfficialRecord, record_id)
    form = DecisionForm("official")
    if form.validate_on_submit():
        try:
            if form.decision.data == "approve":
                official_records.approve(item, officer(), form.reason.data)
                flash(_("Approved: the record is in force."))
            else:
                official_records.reject(item, officer(), form.reason.data)
                flash(_("Rejected: the record has no effect."))
        except official_records.SelfApproval:
            abort(403)
        except official_records.NotPending:
            flash(_("This was decided already."))
        return redirect(url_for(".record", record_id=item.id), code=303)
    # Nobody approves their own record: its author is offered only the withdrawal.
    own = item.recorded_by == current_user.id
    return render_template(
        "review/record.html",
        item=item,
        form=form,
        own=own,
        holder=item.holder,
        users=queries.users_by_id({item.recorded_by, item.approved_by}),
    )


# Identity check in person: the remedy when someone else registered a person's document.


@bp.get("/identity")
def identity_desk():
    """The service desk: find a person of the district by the document they hand over; the
    checks waiting for a second officer."""
    find = FindByDocumentForm(formdata=request.args if request.args else None)
    found, searched = None, False
    if request.args and find.validate():
        searched = True
        found = identity_checks.find_by_document(
            current_user.district_code, find.doc_type.data, find.doc_number.normalised
        )
    return render_template(
        "review/identity_desk.html",
        find=find,
        found=found,
        searched=searched,
        pending=identity_checks.for_district(current_user.district_code),
    )


def _render_identity_check(holder: Holder, form: IdentityCheckForm, voidable):
    authors = queries.users_by_id({declaration.author_id for declaration in voidable})
    return render_template(
        "review/identity_check.html",
        holder=holder,
        form=form,
        voidable=voidable,
        authors=authors,
        account=db.session.get(User, holder.account_id) if holder.account_id else None,
        pending=identity_checks.pending_for(holder),
        checks=identity_checks.for_holder(holder),
    )


@bp.route("/people/<int:holder_id>/identity", methods=["GET", "POST"])
def identity_check(holder_id: int):
    """Record that the person's physical document was checked in person, and ask for the move
    to their own account and the voiding of what others declared for them."""
    holder = district_holder(holder_id)
    voidable = identity_checks.voidable(holder)
    form = IdentityCheckForm(voidable=voidable)
    if not form.is_submitted():
        form.void.data = [declaration.id for declaration in voidable]
    if form.validate_on_submit():
        try:
            check = identity_checks.record(
                holder,
                officer(),
                form.doc_type.data,
                form.doc_number.normalised,
                form.phone.e164,
                form.void.data or [],
            )
        except identity_checks.DocumentMismatch:
            form.doc_number.errors.append(
                _("This is not the document the code was registered with.")
            )
        except identity_checks.WorkAccount:
            form.phone.errors.append(
                _("This number belongs to a work account, which holds no people.")
            )
        except identity_checks.CheckPending:
            form.doc_number.errors.append(
                _("A check of this person waits for a second officer already.")
            )
        except identity_checks.NotVoidable:
            form.void.errors.append(_("A declaration chosen cannot be voided any more."))
        else:
            flash(
                _(
                    "Recorded. Nothing moves until a second officer of the district confirms "
                    "the check."
                )
            )
            return redirect(url_for(".identity_decision", check_id=check.id), code=303)
    return _render_identity_check(holder, form, voidable)


@bp.route("/identity/<int:check_id>", methods=["GET", "POST"])
def identity_decision(check_id: int):
    """An identity check; a second officer confirms it (it then takes effect), anyone of the
    district may reject it."""
    item = district_item(IdentityCheck, check_id)
    form = IdentityDecisionForm()
    if form.validate_on_submit():
        try:
            if form.decision.data == "approve":
                identity_checks.confirm(item, officer(), form.reason.data)
                flash(_("Confirmed: the person's code is on their own account."))
            else:
                identity_checks.reject(item, officer(), form.reason.data)
                flash(_("Rejected: nothing was changed."))
        except identity_checks.SelfConfirmation:
            abort(403)
        except identity_checks.WorkAccount:
            flash(_("This number belongs to a work account, which holds no people."))
        except identity_checks.NotPending:
            flash(_("This was decided already."))
        return redirect(url_for(".identity_decision", check_id=item.id), code=303)
    declarations = [d for d in item.holder.declarations if d.id in set(item.declaration_ids)]
    named = {item.checked_by, item.decided_by, item.from_account_id, item.to_account_id}
    named |= {declaration.author_id for declaration in declarations}
    return render_template(
        "review/identity_decision.html",
        item=item,
        form=form,
        own=item.checked_by == current_user.id,
        holder=item.holder,
        declarations=declarations,
        users=queries.users_by_id(named),
        target=accounts.find_by_phone(item.to_phone),
    )
