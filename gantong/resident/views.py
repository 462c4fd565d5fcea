"""The resident's pages: people, identity, declarations and the code."""

from __future__ import annotations

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required

from gantong.admin import staff_accounts
from gantong.checkpoint import verification
from gantong.core import qr, rules
from gantong.extensions import csrf, db, htmx
from gantong.holders import notifications, registry
from gantong.labs import results as lab_results
from gantong.models import Application, Claim, Holder, User, today, utcnow
from gantong.resident import devices, services
from gantong.review import applications, claims, official_records, queries
from gantong.venues import services as venue_services
from gantong.web import assets
from gantong.web.assets import EXPIRY_STEP
from gantong.web.guards import require_role
from gantong.web.inputs import BadJson, json_fields, query_int
from gantong.web.replicas import lag_tolerant

from .forms import (
    ApplicationForm,
    ClaimForm,
    DeclarationForm,
    IdentityForm,
    RemoveDeviceForm,
    WithdrawForm,
)

bp = Blueprint("resident", __name__, url_prefix="/me")


@bp.record_once
def bound_code_card_css(state) -> None:
    """The card greys out when its token or its number expires, whichever is first: no
    expiry rule in the page's CSS past the longest a number lives (a long TOKEN_TTL)."""
    assets.set_code_card_css(state.app, registry.NUMBER_STEP + registry.NUMBER_GRACE)


@bp.before_request
@login_required
def require_login():
    """Every page here belongs to a logged-in resident account.

    Staff, officer and administrator accounts are work accounts: they hold no people of their
    own (an officer must not register a stranger's document under their work account and
    declare for it).
    """
    require_role("resident")


def own_holder(holder_id: int) -> Holder:
    """Return one of the account's people.

    :raise 404: if the person does not exist or belongs to another account.
    """
    # From the account's people (one query, and the code page lists them anyway).
    holder = next((person for person in current_user.holders if person.id == holder_id), None)
    if holder is None:
        abort(404)
    return holder


@bp.get("")
def people():
    """List the account's people, or ask for the first one."""
    if not current_user.holders:
        return redirect(url_for(".add_person"))
    if len(current_user.holders) == 1:
        return redirect(url_for(".code", holder_id=current_user.holders[0].id))
    return render_template(
        "resident/people.html",
        people=current_user.holders,
        coded=registry.coded_ids(current_user.holders),
    )


@bp.get("/code")
def own_code():
    """Open the account holder's own code (where a resident lands); without one, the people."""
    own = next((holder for holder in current_user.holders if holder.is_self), None)
    if own is None:
        return redirect(url_for(".people"))
    return redirect(url_for(".code", holder_id=own.id))


@bp.route("/people/new", methods=["GET", "POST"])
def add_person():
    """Add the account holder or a family member as a code holder."""
    has_self = any(holder.is_self for holder in current_user.holders)
    form = IdentityForm()
    if not form.is_submitted() and not has_self:
        form.is_self.data = True
    if not form.is_submitted() and current_user.flagged_at is not None:
        flash(FLAGGED)
    if form.validate_on_submit() and _not_flagged(form.doc_number):
        holder = form.registered(
            lambda: registry.add_holder(
                current_user,
                form.details(),
                is_self=form.is_self.data and not has_self,
                relation=form.relation_of(has_self),
            )
        )
        if holder is not None:
            return redirect(url_for(".declare", holder_id=holder.id), code=303)
    return render_template("resident/add_person.html", form=form, has_self=has_self)


FLAGGED = _l(
    "Officers found that this account registered someone else's document: it cannot add "
    "people or declare for them until an officer of your district has reviewed it."
)


def _not_flagged(field) -> bool:
    """Whether the account may add people; if flagged, say why beside the field."""
    try:
        registry.check_not_flagged(current_user)
    except registry.AccountFlagged:
        field.errors.append(FLAGGED)
        return False
    return True


@bp.route("/people/<int:holder_id>/declare", methods=["GET", "POST"])
def declare(holder_id: int):
    """Add a health and travel declaration."""
    holder = own_holder(holder_id)
    form = DeclarationForm()
    if request.method == "POST" and "refine" in request.form:
        # A place step was chosen (the button without JavaScript, htmx on change): show the
        # next step's choices, keep everything typed, save nothing.
        return render_template("resident/declare.html", form=form, holder=holder, today=today())
    if form.validate_on_submit():
        try:
            registry.declare(holder, form.details(), author=current_user)
        except registry.AccountFlagged:
            flash(FLAGGED)
            return redirect(url_for(".code", holder_id=holder.id), code=303)
        flash(_("Declaration saved."))
        return redirect(url_for(".code", holder_id=holder.id), code=303)
    return render_template("resident/declare.html", form=form, holder=holder, today=today())


@bp.get("/sw.js")
def service_worker():
    """The service worker that opens the code page with no network, from a cold start."""
    response = send_from_directory(current_app.static_folder, "js/holder-sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@bp.get("/people/<int:holder_id>")
@lag_tolerant
def code(holder_id: int):
    """Show the person's code; to htmx's poll, just the refreshed card."""
    holder = own_holder(holder_id)
    # Everything the page shows beside the account's people (read with the account) in one
    # statement; the dynamic number may add its own.
    page = services.page_reads(holder, current_user)
    context = code_card_context(holder, utcnow(), page)
    if htmx and htmx.target == "code-card":
        return render_template("resident/_code_card.html", **context)
    result = context["result"]
    html = render_template(
        "resident/code.html",
        **context,
        people=current_user.holders,
        unread=page.unread,
        transcoding=services.transcoding(holder, result, page) if result is not None else None,
        can_claim=result is not None and services.can_claim(holder, result, page),
        hotline=page.hotline,
    )
    # The page's head with its inline CSS is most of its bytes and the same every time.
    return assets.gzipped_page(html, after="</style>")


def code_card_context(holder: Holder, now, page: services.PageReads | None = None) -> dict:
    """What the code card shows: the screen code of now, and its QR drawn; or no code yet."""
    code = services.screen_code(holder, now, page)
    if code is None:
        return {"holder": holder, "result": None, "now": now, "history": []}
    seconds = int((code.expires_at - now).total_seconds())
    return {
        "holder": holder,
        "result": code.result,
        "token": code.token,
        "qr_svg": qr.svg(code.text),
        "number": code.number,
        "history": code.recent_changes,
        "now": now,
        "refresh": current_app.config["QR_REFRESH_SECONDS"],
        "expires_in": max(0, seconds // EXPIRY_STEP * EXPIRY_STEP),
    }


@bp.get("/people/<int:holder_id>/history")
def history(holder_id: int):
    """Show every change of the person's colour and every declaration."""
    holder = own_holder(holder_id)
    # Who is behind each official record in force: both officers, and the administrators who
    # last set up their accounts (so one person acting alone would show).
    records = [
        entry
        for entry in official_records.for_holder(holder)
        if entry.state == official_records.IN_FORCE
    ]
    return render_template(
        "resident/history.html",
        holder=holder,
        changes=registry.colour_history(holder),
        declarations=list(reversed(holder.declarations)),
        officers=official_records.officers_among(
            [declaration.author_id for declaration in holder.declarations]
            + [user_id for entry in records for user_id in (entry.recorded_by, entry.approved_by)]
        ),
        records=records,
        # Every account that declared for the person, so the page says who (masked).
        authors=queries.users_by_id(declaration.author_id for declaration in holder.declarations),
        set_up=staff_accounts.set_up_by(
            user_id for entry in records for user_id in (entry.recorded_by, entry.approved_by)
        ),
    )


@bp.get("/people/<int:holder_id>/checks")
def checks(holder_id: int):
    """Where the person's code was checked: date, point, result (never the volunteer)."""
    holder = own_holder(holder_id)
    return render_template(
        "resident/checks.html",
        holder=holder,
        records=verification.checks_for_holder(holder),
        visits=venue_services.visits_of(holder),
    )


@bp.get("/people/<int:holder_id>/tests")
def tests(holder_id: int):
    """The person's verified test results (labs, verified certificates), the latest first."""
    holder = own_holder(holder_id)
    return render_template(
        "resident/tests.html", holder=holder, results=lab_results.for_holder(holder), now=utcnow()
    )


def own_request(model, item_id: int):
    """Return an application or claim about one of the account's people.

    :raise 404: if it does not exist or is about someone else's person.
    """
    item = db.session.get(model, item_id)
    if item is None or item.holder.account_id != current_user.id:
        abort(404)
    return item


@bp.route("/people/<int:holder_id>/apply", methods=["GET", "POST"])
def apply(holder_id: int):
    """Apply for transcoding: name the reasons to clear and give the evidence."""
    holder = own_holder(holder_id)
    hits = applications.open_hits(holder)
    now = utcnow()
    # Verified negatives sampled after the earliest open reason began: the form offers them,
    # and the service checks the one cited against the reasons actually named.
    began = min((rules.day_start(hit.since) for hit in hits), default=None)
    citable = lab_results.citable(holder, now, after=began) if hits else []
    form = ApplicationForm({hit.key: hit.since for hit in hits}, citable=citable)
    if hits and form.validate_on_submit():
        try:
            item = applications.apply(holder, form.hits.data, form.details(), current_user)
        except applications.HitsUnavailable:
            form.hits.errors.append(
                _("A reason you chose has an application pending already, or has ended.")
            )
        except applications.ResultNotCitable:
            form.lab_result.errors.append(
                _("This result was sampled before a reason you chose began: choose another.")
            )
        else:
            flash(
                _(
                    "Application sent. An officer of your district will decide; you will be notified."
                )
            )
            return redirect(url_for(".application", application_id=item.id), code=303)
    return render_template(
        "resident/apply.html",
        now=now,
        holder=holder,
        form=form,
        hits=hits,
        pending=applications.pending_keys(holder),
        # Nothing to apply for because an approval covers it: say so, and when it ends.
        transcoding=services.transcoding(holder, registry.colour_of(holder)),
        today=today(),
    )


@bp.route("/people/<int:holder_id>/claim", methods=["GET", "POST"])
def file_claim(holder_id: int):
    """My Claim: say which fact behind the code is wrong, and what is right."""
    holder = own_holder(holder_id)
    hits = claims.open_hits(holder)
    form = ClaimForm([hit.key for hit in hits])
    if form.validate_on_submit():
        try:
            item = claims.file(
                holder,
                form.hit_key,
                form.wrong_fact.data,
                form.correct_fact.data,
                form.explanation.data or "",
                current_user,
            )
        except claims.FactUnavailable:
            form.fact.errors.append(
                _("This fact has a claim pending already, or is no longer behind the code.")
            )
        else:
            flash(_("Claim sent. An officer of your district will decide; you will be notified."))
            return redirect(url_for(".claim", claim_id=item.id), code=303)
    return render_template("resident/claim.html", holder=holder, form=form, hits=hits)


@bp.get("/people/<int:holder_id>/requests")
def requests(holder_id: int):
    """The person's transcoding applications and claims, and where each stands."""
    holder = own_holder(holder_id)
    return render_template(
        "resident/requests.html",
        holder=holder,
        applications=applications.for_holder(holder),
        claims=claims.for_holder(holder),
    )


@bp.get("/applications/<int:application_id>")
def application(application_id: int):
    """One transcoding application: what it asks, its evidence and the decision."""
    item = own_request(Application, application_id)
    return _render_request(
        item, "resident/application.html", url_for(".withdraw_application", application_id=item.id)
    )


@bp.post("/applications/<int:application_id>/withdraw")
def withdraw_application(application_id: int):
    """Withdraw a pending application."""
    item = own_request(Application, application_id)
    return _withdraw(
        item,
        applications,
        _("Application withdrawn."),
        url_for(".application", application_id=item.id),
    )


@bp.get("/claims/<int:claim_id>")
def claim(claim_id: int):
    """One claim: the fact it names, the correct fact and the decision."""
    item = own_request(Claim, claim_id)
    return _render_request(
        item, "resident/claim_detail.html", url_for(".withdraw_claim", claim_id=item.id)
    )


@bp.post("/claims/<int:claim_id>/withdraw")
def withdraw_claim(claim_id: int):
    """Withdraw a pending claim."""
    item = own_request(Claim, claim_id)
    return _withdraw(item, claims, _("Claim withdrawn."), url_for(".claim", claim_id=item.id))


def _render_request(item, template: str, withdraw_url: str):
    """An application's or a claim's page, with who decided it and the button to withdraw it."""
    return render_template(
        template,
        item=item,
        holder=item.holder,
        form=WithdrawForm(),
        withdraw_url=withdraw_url,
        decider=db.session.get(User, item.decided_by) if item.decided_by else None,
    )


def _withdraw(item, requests_service, withdrawn: str, back_to: str):
    """Withdraw a pending application or claim through its service (applications or claims),
    then go back to its page."""
    if WithdrawForm().validate_on_submit():
        try:
            requests_service.withdraw(item, current_user)
        except requests_service.NotPending:
            flash(_("This was decided already."))
        else:
            flash(withdrawn)
    return redirect(back_to, code=303)


@bp.get("/notifications")
def notices():
    """The account's notifications, newest first; opening the list marks them read."""
    items = notifications.for_account(current_user)
    unread = {item.id for item in items if item.read_at is None}
    notifications.mark_read(current_user)
    return render_template("resident/notifications.html", items=items, unread=unread)


@bp.post("/devices")
@csrf.exempt
def register_device():
    """Register this phone's public key (JSON only: a cross-site form cannot send it)."""
    if not request.is_json:
        abort(415)
    try:
        fields = json_fields()
    except BadJson:
        return jsonify(error="malformed", message="Send a JSON object of strings."), 400
    try:
        device, created = devices.register(
            current_user, fields.get("public_key", ""), fields.get("label", "")
        )
    except devices.InvalidKey:
        message = _("This is not a P-256 public key (base64url, 33 or 65 bytes).")
        return jsonify(error="invalid", errors={"public_key": [message]}), 422
    except devices.DeviceRemoved:
        message = _("This phone was removed from your account: it cannot be added again.")
        return jsonify(error="removed", message=message), 409
    except devices.TooManyDevices:
        message = _("Your account holds the most phones it may: remove one on “My phones” first.")
        return jsonify(error="too_many_devices", message=message), 409
    return jsonify(
        id=device.id, label=device.label, created_at=device.created_at.isoformat()
    ), 201 if created else 200


@bp.get("/devices")
def device_list():
    """The account's phones that hold codes: each may be removed."""
    return render_template(
        "resident/devices.html", devices=devices.for_account(current_user), form=RemoveDeviceForm()
    )


@bp.post("/devices/<int:device_id>/remove")
def remove_device(device_id: int):
    """Remove a phone: the codes kept on it stop verifying."""
    if RemoveDeviceForm().validate_on_submit():
        if not devices.remove(current_user, device_id):
            abort(404)
        flash(_("Phone removed: the codes kept on it are no longer accepted."))
    return redirect(url_for(".device_list"), code=303)


@bp.get("/people/<int:holder_id>/credential")
@lag_tolerant
def credential(holder_id: int):
    """The holder's credential for one of the account's phones (JSON, with an ETag)."""
    device_id = query_int("device")
    if device_id is None:
        abort(404)
    now = utcnow()
    holder, device, row = devices.current(current_user, holder_id, device_id, now)
    if holder is None:
        abort(404)
    if row is not None and row.id in request.if_none_match:
        reply = make_response("", 304)
    else:
        if row is None:
            try:
                row = devices.issue(holder, device, now)
            except devices.NoCode:
                return jsonify(error="no_code"), 409
        reply = jsonify(devices.document(devices.Issued(row, holder, device), now))
    reply.set_etag(row.id)
    reply.cache_control.private = True
    reply.cache_control.no_cache = True
    return reply
