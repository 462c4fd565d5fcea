"""Venue codes: the staff pages (administrators and the district's officers) under /venues, and
the resident's check-in under /v/<code>, the URL the printed poster's QR holds."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gantong import unit_of_work
from gantong.core import qr, rules, venue_codes
from gantong.extensions import csrf, db
from gantong.holders import hotlines
from gantong.models import Holder, Venue, VenueCode, VenueRiskWindow, utcnow
from gantong.venues import services
from gantong.web.guards import in_district, require_role
from gantong.web.inputs import BadJson, json_fields

from .forms import (
    CATEGORY_LABELS,
    CaseTraceForm,
    ConfirmForm,
    EntranceForm,
    FileContactsForm,
    RiskWindowForm,
    TraceForm,
    VenueForm,
)

bp = Blueprint("venues", __name__, url_prefix="/venues")
visit_bp = Blueprint("visit", __name__, url_prefix="/v")


@bp.before_request
@login_required
def require_staff():
    """Administrators, and officers for their own district's venues."""
    require_role("admin", "officer")


@bp.context_processor
def venue_labels():
    return {"category_labels": CATEGORY_LABELS}


def _officer() -> bool:
    return current_user.role == "officer"


def _scope() -> str | None:
    """The district the account sees, None for an administrator (every district)."""
    return current_user.district_code if _officer() else None


def _venue_or_404(venue_id: int) -> Venue:
    """:raise 404: if there is no such venue, or it is in another district than the officer's."""
    venue = db.session.get(Venue, venue_id)
    if venue is None:
        abort(404)
    if _officer():
        in_district(venue, current_user.district_code)
    return venue


def _officer_only() -> None:
    """Tracing, filing and risk windows are the district officers' (with a reason)."""
    if not _officer():
        abort(403)


def poster_url(code: VenueCode) -> str:
    """The URL the poster's QR holds: PUBLIC_URL + /v/ + the code."""
    return f"{current_app.config['PUBLIC_URL'] or request.host_url.rstrip('/')}/v/{code.code}"


@bp.get("/")
def index():
    """The venues of the officer's district (every venue for an administrator)."""
    return render_template("venues/index.html", venues=services.venues_in(_scope()))


@bp.route("/new", methods=["GET", "POST"])
def new():
    """Add a venue with its first code."""
    form = VenueForm(district_code=_scope())
    if form.validate_on_submit():
        venue = services.add_venue(
            form.name.data,
            form.address.data or "",
            form.district.data,
            form.category.data,
            current_user,
            entrance=form.entrance.data or "",
        )
        flash(_("Venue added: %(name)s. Print its poster.", name=venue.name))
        return redirect(url_for(".venue", venue_id=venue.id), code=303)
    return render_template("venues/new.html", form=form)


def _render_venue(venue: Venue, **forms):
    now = utcnow()
    # The form's fields hold Asia/Shanghai wall-clock times, as typed.
    local_now = now.astimezone(rules.SHANGHAI).replace(tzinfo=None, second=0, microsecond=0)
    # Up to the next minute, so the check-ins of this minute are in.
    default_window = {
        "start": local_now - timedelta(hours=2),
        "end": local_now + timedelta(minutes=1),
    }
    return render_template(
        "venues/venue.html",
        venue=venue,
        entrance_form=forms.get("entrance_form") or EntranceForm(),
        confirm_form=ConfirmForm(),
        trace_form=forms.get("trace_form") or TraceForm(formdata=None, data=default_window),
        risk_form=forms.get("risk_form") or RiskWindowForm(formdata=None),
        windows=services.risk_windows(venue),
        flagged=services.flagged_visits(venue, now - timedelta(hours=24)) if _officer() else [],
        officer=_officer(),
    )


@bp.get("/<int:venue_id>")
def venue(venue_id: int):
    """A venue: its codes and posters; to its officers, yellow and red check-ins, risk windows
    and the trace form."""
    return _render_venue(_venue_or_404(venue_id))


@bp.post("/<int:venue_id>/codes")
def new_code(venue_id: int):
    """Issue a code for another entrance (or to replace a revoked one)."""
    venue = _venue_or_404(venue_id)
    form = EntranceForm()
    if not form.validate_on_submit():
        return _render_venue(venue, entrance_form=form)
    services.add_code(venue, form.entrance.data, current_user)
    flash(_("New code issued: print its poster."))
    return redirect(url_for(".venue", venue_id=venue.id), code=303)


def _code_of(venue: Venue, code_id: int) -> VenueCode:
    code = db.session.get(VenueCode, code_id)
    if code is None or code.venue_id != venue.id:
        abort(404)
    return code


@bp.post("/<int:venue_id>/codes/<int:code_id>/revoke")
def revoke_code(venue_id: int, code_id: int):
    """Revoke a printed code: scanning it shows a clear page and stores nothing."""
    venue = _venue_or_404(venue_id)
    code = _code_of(venue, code_id)
    if ConfirmForm().validate_on_submit():
        services.revoke_code(code, current_user)
        flash(_("Code revoked: take its posters down."))
    return redirect(url_for(".venue", venue_id=venue.id), code=303)


@bp.get("/<int:venue_id>/codes/<int:code_id>/poster")
def poster(venue_id: int, code_id: int):
    """The printable poster: A4 (default) or an A6 sticker, with a large QR and a how-to in both
    languages."""
    venue = _venue_or_404(venue_id)
    code = _code_of(venue, code_id)
    if code.revoked_at is not None:
        abort(404)
    size = "a6" if request.args.get("size") == "a6" else "a4"
    url = poster_url(code)
    return render_template(
        "venues/poster.html", venue=venue, code=code, url=url, qr_svg=qr.svg(url), size=size
    )


def _trace_page(venue: Venue, form, file_form=None):
    start, end = form.window()
    try:
        found = services.trace(venue, start, end, current_user, form.reason.data)
    except services.WindowRefused:
        abort(400)
    file_form = file_form or FileContactsForm(
        formdata=None, data={"start": form.start.data, "end": form.end.data}
    )
    file_form.people.choices = [(v.holder.id, str(v.holder.id)) for v in found.visitors]
    return render_template(
        "venues/trace.html", venue=venue, trace=found, form=form, file_form=file_form
    )


@bp.get("/<int:venue_id>/trace")
@unit_of_work.writes  # the lookup is audited
def trace(venue_id: int):
    """Who checked in at the venue in a window, in the officer's district; a reason is required
    and the lookup is audited."""
    _officer_only()
    venue = _venue_or_404(venue_id)
    form = TraceForm(request.args)
    if not form.validate():
        return _render_venue(venue, trace_form=form), 200
    return _trace_page(venue, form)


@bp.post("/<int:venue_id>/contacts")
def file_contacts(venue_id: int):
    """File the ticked visitors of a trace as close contacts: each record waits for a second
    officer of the district, as every record that turns a code red does."""
    _officer_only()
    venue = _venue_or_404(venue_id)
    form = FileContactsForm()
    start, end = form.window() if form.start.data and form.end.data else (None, None)
    if start is None or end <= start or end - start > services.MAX_WINDOW:
        abort(400)  # the trace page's own hidden fields: only a forged form gets here
    # The choices are the people this window finds now: nobody else can be filed.
    found = services.trace(venue, start, end, current_user, "-", audited=False)
    form.people.choices = [(v.holder.id, str(v.holder.id)) for v in found.visitors]
    if not form.validate_on_submit():
        trace_form = TraceForm(formdata=None, data={"start": form.start.data, "end": form.end.data})
        return render_template(
            "venues/trace.html", venue=venue, trace=found, form=trace_form, file_form=form
        )
    filed = services.file_contacts(
        venue, start, end, form.people.data, form.reason.data, current_user
    )
    flash(
        _(
            "%(count)s official records filed: each is in force once a second officer of the "
            "district approves it.",
            count=len(filed),
        )
    )
    return redirect(url_for("review.queue", kind="official"), code=303)


@bp.post("/<int:venue_id>/risk")
def mark_risk(venue_id: int):
    """Mark the venue a risk area for a window: its visitors in the window turn yellow."""
    _officer_only()
    venue = _venue_or_404(venue_id)
    form = RiskWindowForm()
    if not form.validate_on_submit():
        return _render_venue(venue, risk_form=form)
    start, end = form.window()
    services.mark_risk(venue, start, end, form.days.data, form.reason.data, current_user)
    flash(_("Risk window set: its visitors' codes were refreshed."))
    return redirect(url_for(".venue", venue_id=venue.id), code=303)


@bp.post("/<int:venue_id>/risk/<int:window_id>/end")
def end_risk(venue_id: int, window_id: int):
    """Take a risk window back (a mistake): its hits end at once."""
    _officer_only()
    venue = _venue_or_404(venue_id)
    window = db.session.get(VenueRiskWindow, window_id)
    if window is None or window.venue_id != venue.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        services.end_risk(window, current_user, _("Risk window taken back"))
        flash(_("Risk window taken back."))
    return redirect(url_for(".venue", venue_id=venue.id), code=303)


@bp.get("/cases/<int:holder_id>")
@unit_of_work.writes  # the lookup is audited
def case(holder_id: int):
    """Where a case of the district was: their own check-ins and checkpoint records at venues,
    each with a link that traces it; a reason is required and the lookup is audited."""
    _officer_only()
    holder = in_district(db.session.get(Holder, holder_id), current_user.district_code)
    form = CaseTraceForm(request.args)
    places = None
    if request.args and form.validate():
        places = services.case_places(holder, current_user, form.reason.data)
    return render_template("venues/case.html", holder=holder, form=form, places=places)


# The resident's check-in: /v/<code>


def _repeat_minutes() -> int:
    return int(current_app.config.get("VENUE_CHECKIN_REPEAT_MINUTES", 30))


def _code_or_page(text: str):
    """Return the live code, or the clear page to answer with (unknown, or revoked)."""
    code = services.find_code(text)
    if code is None:
        return None, (render_template("venues/code_gone.html", known=False), 404)
    if code.revoked_at is not None or not code.venue.active:
        return None, (render_template("venues/code_gone.html", known=True, venue=code.venue), 410)
    return code, None


def _chosen_person(person_id: int | None) -> Holder | None:
    people = current_user.holders
    if person_id is not None:
        chosen = next((person for person in people if person.id == person_id), None)
        if chosen is None:
            abort(404)
        return chosen
    return next((p for p in people if p.is_self), people[0] if people else None)


@visit_bp.get("/<text>")
@unit_of_work.writes
def check_in(text: str):
    """Check in at the venue: the pass to show at the entrance, the visit stored once per
    VENUE_CHECKIN_REPEAT_MINUTES; not logged in, log in and come back."""
    code, gone = _code_or_page(text)
    if gone:
        return gone
    if not current_user.is_authenticated:
        return render_template("venues/login_first.html", venue=code.venue, code=code)
    if current_user.role != "resident":
        return render_template("venues/not_resident.html", venue=code.venue), 403
    holder = _chosen_person(request.args.get("person", type=int))
    if holder is None:
        return redirect(url_for("resident.add_person"))
    now = utcnow()
    done = services.check_in(code, holder, current_user, _repeat_minutes(), now)
    return render_template(
        "venues/pass.html",
        venue=code.venue,
        code=code,
        holder=holder,
        people=current_user.holders,
        result=done.result,
        has_code=done.has_code,
        visit=done.visit,
        stored=done.stored,
        repeat_minutes=_repeat_minutes(),
        now=now,
        hotline=hotlines.hotline(holder.district_code),
    )


@visit_bp.get("/offline")
def offline_shell():
    """The page the service worker keeps for a check-in without a network: it queues the visit
    on the phone with its time (static/js/visit-queue.js) and says so."""
    return render_template("venues/offline.html")


@visit_bp.post("/<text>/queued")
@csrf.exempt  # JSON only (a cross-site form cannot send it); the session says who
def queued(text: str):
    """Store a visit queued on the phone while offline, with the time it happened; once."""
    if not current_user.is_authenticated or current_user.role != "resident":
        return jsonify(error="login", message="Log in as a resident."), 401
    if not request.is_json:
        return jsonify(error="malformed", message="Send JSON."), 400
    code = services.find_code(text)
    if code is None:
        return jsonify(error="unknown", message="No such venue code."), 404
    if code.revoked_at is not None or not code.venue.active:
        return jsonify(error="revoked", message="This venue code is no longer in use."), 410
    try:
        fields = json_fields()
        claimed = datetime.fromisoformat(fields.get("at", "").replace("Z", "+00:00"))
        visit_id = fields.get("visit_id", "")
        if not 8 <= len(visit_id) <= 36:
            raise ValueError(visit_id)
        person = int(fields["person"]) if fields.get("person") else None
    except (BadJson, ValueError, KeyError):
        return jsonify(error="malformed", message="Send visit_id, at (ISO 8601) and person."), 400
    holder = _chosen_person(person)
    if holder is None:
        return jsonify(error="no_person", message="Add a person first."), 422
    now = utcnow()
    max_hours = int(current_app.config.get("VENUE_QUEUED_MAX_HOURS", 24))
    try:
        at = venue_codes.queued_time(claimed, now, max_hours)
    except venue_codes.TimeRefused as refused:
        return jsonify(error="time", message=f"The visit's time is refused: {refused}."), 422
    try:
        done = services.check_in(
            code, holder, current_user, _repeat_minutes(), now, at=at, visit_id=visit_id
        )
    except services.QueuedVisitRefused:
        return jsonify(error="conflict", message="This visit id is another visit's."), 409
    return jsonify(stored=done.stored, at=done.visit.at.isoformat(), colour=done.result.colour), (
        201 if done.stored else 200
    )


@visit_bp.get("/sw.js")
def service_worker():
    """The service worker of /v/: a check-in opened without a network is queued, not lost."""
    response = send_from_directory(current_app.static_folder, "js/visit-sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
