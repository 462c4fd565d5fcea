"""Information Point Management: the station page, Scan Code Verification, the records."""

from __future__ import annotations

from math import ceil

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
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from gantong import unit_of_work
from gantong.checkpoint import gate_views, record_limits, scan_records, verification
from gantong.checkpoint.labels import (
    decision_label,
    pass_needs_override,
    refusal_texts,
    refusal_title,
)
from gantong.codes import bundle, intl_trust
from gantong.core import identity, intl_certs, rules
from gantong.core.kinds import CheckMethod, Colour, Decision
from gantong.extensions import csrf, limiter
from gantong.holders import registry
from gantong.models import VerificationRecord, utcnow
from gantong.web import certificate_labels, rate_limits
from gantong.web.inputs import BadJson, json_fields
from gantong.web.labels import colour_word
from gantong.web.replicas import lag_tolerant

from .forms import (
    BadScanRecord,
    GateRecordForm,
    NoCodeForm,
    NumberForm,
    PhotoForm,
    RecordForm,
    ScanRecordForm,
    TokenForm,
    VoidForm,
    scan_record_body,
    scan_record_fields,
)

bp = Blueprint("checkpoint", __name__, url_prefix="/checkpoint")

# Who may open what; the record submission is authorised by its signed reference instead.
OPEN_ENDPOINTS = {"checkpoint.submit_record", "checkpoint.service_worker"}
OFFICER_ENDPOINTS = {"checkpoint.void"}


@bp.before_request
def require_staff():
    """Staff of an active point only (officers may void); everyone else gets 403."""
    if request.endpoint in OPEN_ENDPOINTS:
        return None
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    if current_user.role == "officer" and request.endpoint in OFFICER_ENDPOINTS:
        return None
    if current_user.role != "staff" or current_user.point is None or not current_user.point.active:
        abort(403)
    return None


def staff_key() -> str:
    return f"staff:{current_user.id}"


def own_record(record_id: str) -> VerificationRecord:
    """Return a record of this staff member's point.

    :raise 404: if it does not exist or belongs to another point.
    """
    record = verification.record_by_id(record_id)
    if record is None or record.point_id != current_user.point_id:
        abort(404)
    return record


@bp.get("/")
def station():
    """Show the point, today's count and the latest records."""
    point = current_user.point
    return render_template(
        "checkpoint/station.html",
        point=point,
        today_count=verification.count_today(point, utcnow()),
        latest=verification.latest_records(point),
    )


@bp.get("/scan")
def scan():
    """Scan Code Verification: the camera, with a photo, a number and a no-code lane beside it."""
    if current_user.point.verify_only:
        return redirect(url_for(".gate_page"), code=303)  # a page cached before the mode changed
    return render_template("checkpoint/scan.html", **_lane_forms())


@bp.get("/gate")
def gate_page():
    """Verify only: the camera, a full-screen verdict per code, the next person at once."""
    if not current_user.point.verify_only:
        abort(403)  # a record-mode point records a temperature: its page is the scan page
    return gate_views.render_gate()


def _lane_forms(**overrides):
    forms = {
        "token_form": TokenForm(),
        "photo_form": PhotoForm(),
        "number_form": NumberForm(),
        "no_code_form": NoCodeForm(),
        "refusal_texts": refusal_texts(),
        "decision_labels": {decision.value: decision_label(decision) for decision in Decision},
        "colour_words": {colour.value: colour_word(colour) for colour in Colour},
    }
    forms.update(overrides)
    return forms


# One limit over every way of verifying: a staff member verifies so many people, however read.
verify_limit = limiter.shared_limit(
    lambda: current_app.config["VERIFY_LIMIT_PER_STAFF"],
    scope="checkpoint.verify",
    key_func=staff_key,
)
LANE_ENDPOINTS = {
    "token": ".verify_token",
    "photo": ".verify_photo",
    "number": ".verify_number",
    "no_code": ".verify_document",
}


@bp.post("/verify")
def verify():
    """The one address the scan page's forms posted to before each way had its own (a page still
    cached offline): the same post again, body and all, to its way's address (307)."""
    endpoint = LANE_ENDPOINTS.get(request.form.get("lane", "token"))
    if endpoint is None:
        abort(400)
    return redirect(url_for(endpoint), code=307)


@bp.post("/verify/token")
@verify_limit
@unit_of_work.reads  # the code is read first; the record's lock or insert takes the write lock
def verify_token():
    """Verify a code the camera read (or the page read from a photo)."""
    form = TokenForm()
    now = utcnow()
    if not form.validate_on_submit():
        return _refused(verification.Refused("malformed"))
    if intl_certs.is_certificate(form.token.data):
        return _certificate(form.token.data, now)
    return _open_record(
        form.method_name(), now, lambda: verification.holder_for_token(form.token.data, now)
    )


@bp.post("/verify/photo")
@verify_limit
@unit_of_work.reads  # the code is read first; the record's lock or insert takes the write lock
def verify_photo():
    """Verify the code in an uploaded photo, read here (the page without scripts)."""
    form = PhotoForm()
    if not form.validate_on_submit():
        return _lanes_page(photo_form=form)
    now = utcnow()
    try:
        text = verification.read_photo(form.photo.data.read())
    except verification.Refused as refusal:
        return _refused(refusal)
    if intl_certs.is_certificate(text):
        return _certificate(text, now)
    return _open_record(CheckMethod.PHOTO, now, lambda: verification.holder_for_token(text, now))


def _certificate(text: str, now):
    """An international certificate: what it is and what its verification found; no record,
    for it carries no colour (verified on the server: the phone's verifier knows only ours)."""
    try:
        result = intl_trust.verify_text(text, now)
    except intl_certs.CertificateError:
        return _refused(verification.Refused("certificate_unreadable"))
    return render_template(
        "checkpoint/certificate.html", cert=certificate_labels.of_verification(result)
    )


@bp.post("/verify/number")
@verify_limit
@unit_of_work.reads  # the code is read first; the record's lock or insert takes the write lock
def verify_number():
    """Verify the code whose 8-digit number was typed."""
    form = NumberForm()
    if not form.validate_on_submit():
        return _lanes_page(number_form=form)
    now = utcnow()
    return _open_record(
        CheckMethod.NUMBER,
        now,
        lambda: (verification.holder_for_number(form.number.data, now), None),
    )


@bp.post("/verify/document")
@verify_limit
@limiter.limit(lambda: current_app.config["NO_CODE_LIMIT_PER_STAFF"], key_func=staff_key)
@unit_of_work.reads  # the code is read first; the record's lock or insert takes the write lock
def verify_document():
    """The no-code lane: find the person by their document and name (each lookup audited)."""
    form = NoCodeForm()
    if not form.validate_on_submit():
        return _lanes_page(no_code_form=form)
    point, staff = current_user.point, current_user._get_current_object()
    return _open_record(
        CheckMethod.NO_CODE,
        utcnow(),
        lambda: (
            verification.holder_for_document(form.doc_number.data, form.name.data, staff, point),
            None,
        ),
    )


def _lanes_page(**forms):
    """The page of the lanes again, with a form's errors: the verify-only page at such a point."""
    if current_user.point.verify_only:
        return gate_views.render_gate(**forms)
    return render_template("checkpoint/scan.html", **_lane_forms(**forms)), 200


def _open_record(method: str, now, find_holder):
    """Open a record for the holder `find_holder()` returns (with the token read, if any) and
    go to it; a refusal shows its page. A verify-only point shows its verdict instead."""
    if current_user.point.verify_only:
        return gate_views.show_verdict(method, now, find_holder)
    try:
        holder, token = find_holder()
    except verification.Refused as refusal:
        return _refused(refusal)
    record, _result = verification.open_record(
        holder, current_user.point, current_user._get_current_object(), method, token, now
    )
    return redirect(url_for(".record", record_id=record.record_id), code=303)


def _refused(refusal: verification.Refused):
    if current_user.point.verify_only:
        return gate_views.show_refusal(refusal)
    return render_template("checkpoint/refused.html", reason=refusal.reason), 200


@bp.get("/records/<record_id>")
def record(record_id: str):
    """The Verification Record: colour, masked identity, reasons, and the form to fill in."""
    if current_user.point.verify_only:
        return redirect(url_for(".gate_page"), code=303)  # no form to fill in at the gate
    record = own_record(record_id)
    form = RecordForm(
        data={"record_id": record.record_id, "reference": verification.reference_for(record)}
    )
    return _render_record(record, form)


def _render_record(record: VerificationRecord, form: RecordForm):
    holder = record.holder
    return render_template(
        "checkpoint/record.html",
        record=record,
        holder=holder,
        form=form,
        result=registry.colour_of(holder, utcnow()) if holder else None,
        masked_document=identity.mask_document(holder.doc_number) if holder else "",
        void_form=VoidForm(),
        can_void=verification.can_void(record, current_user),
    )


@bp.post("/records")
@csrf.exempt
@unit_of_work.reads  # the reference is checked first; the record's row lock takes the write lock
def submit_record():
    """Store a record once; a repeat gets the stored one, a different body with the same id 409."""
    as_json = request.is_json
    if as_json:
        try:
            fields = json_fields()
        except BadJson:
            return jsonify(
                error="malformed", message="Send a JSON object of strings and numbers."
            ), 400
    form = RecordForm(MultiDict(fields) if as_json else request.form)
    if not form.validate():
        if as_json:
            return jsonify(
                errors={name: [str(e) for e in errs] for name, errs in form.errors.items()}
            ), 422
        if not current_user.is_authenticated or current_user.role != "staff":
            abort(403)
        return _render_record(own_record(form.record_id.data or ""), form), 200
    wait = _record_wait(form.reference.data, form.record_id.data)
    if wait:
        if as_json:
            return _too_many_records(wait)
        if not current_user.is_authenticated or current_user.role != "staff":
            abort(429)
        flash(_wait_text(wait))
        response = make_response(_render_record(own_record(form.record_id.data), form), 429)
        response.headers["Retry-After"] = str(ceil(wait))
        return response
    try:
        stored, created = verification.submit_record(
            form.reference.data, form.record_id.data, form.body()
        )
    except verification.InvalidReference:
        if as_json:
            return jsonify(error="invalid_reference"), 403
        abort(403)
    except verification.Conflict:
        if as_json:
            return jsonify(error="conflict", record_id=form.record_id.data), 409
        abort(409)
    except rules.PassNeedsOverride:
        # Never stored as an ordinary pass: the volunteer says it overrides the colour, or
        # chooses another decision.
        if as_json:
            return jsonify(
                error="override_required",
                title=pass_needs_override(),
                errors={"decision": [pass_needs_override()]},
            ), 422
        if not current_user.is_authenticated or current_user.role != "staff":
            abort(403)
        form.decision.errors = [*form.decision.errors, pass_needs_override()]
        return _render_record(own_record(form.record_id.data), form), 200
    if as_json:
        return jsonify(
            record_id=stored.record_id,
            stored=created,
            fever=stored.is_fever,
            colour=stored.holder.colour if stored.holder else None,
        ), (201 if created else 200)
    if stored.is_fever:
        flash(_("Fever recorded: the code is now yellow. Refer the person to medical staff."))
    else:
        flash(_("Record saved."))
    # Straight back to the camera: the next person is waiting.
    return redirect(url_for(".scan"), code=303)


def _record_wait(reference: str, record_id: str) -> float:
    """Count a record against its staff account's and point's budgets (those its signed
    reference names: it may come without a session); 0 if it may go on. An invalid reference
    counts nothing: it is refused with 403 and stores nothing."""
    try:
        data = verification.read_reference(reference, record_id)
    except verification.InvalidReference:
        return 0.0
    return record_limits.spend(data.get("s"), data.get("p"))


def _wait_text(wait: float) -> str:
    minutes = rate_limits.minutes(wait)
    return ngettext(
        "Too many records from this account or point. The record is kept: send it again in %(num)d minute.",
        "Too many records from this account or point. The record is kept: send it again in %(num)d minutes.",
        minutes,
    )


def _too_many_records(wait: float):
    """429 with the wait: the scan page's queue keeps the record and sends it again after it."""
    seconds = ceil(wait)
    response = jsonify(error="rate_limited", retry_after=seconds, message=_wait_text(wait))
    response.status_code = 429
    response.headers["Retry-After"] = str(seconds)
    return response


@bp.post("/scan-records")
@csrf.exempt
@unit_of_work.reads  # the checks read; the records' insert takes the write lock
# With replicas, the checks (the scanned holders' colours, the keys, the ids already stored) may
# read seconds-old rows while the INSERT goes to the primary, where ON CONFLICT DO NOTHING keeps
# an id stored once even when the replica has not seen it yet. The volunteer never reads their
# records back from a replica: no read-your-writes pin.
@lag_tolerant(read_your_writes=False)
def scan_record():
    """Take records the scan page verified itself: re-verify each token, store each record once.

    JSON only (a cross-site form cannot send it), with the staff session. One record (a JSON
    object): 201 stored, 200 the same body again, 409 another body with this id, 422 refused
    (with the reason) or invalid. A batch (a JSON array of such objects, at most
    SCAN_RECORD_BATCH_MAX): 200 with each record's own answer and status, in order, after one
    INSERT and one commit; 413 for a longer one (docs/openapi.yaml).
    """
    if not request.is_json:
        abort(415)
    try:
        body, unreadable = scan_record_body(request.get_data(cache=True)), None
    except BadScanRecord as bad:
        body, unreadable = None, bad
    if isinstance(body, list):
        return _scan_record_batch(body)
    point = current_user.point
    wait = record_limits.spend(current_user.id, point.id)
    if wait:
        return _too_many_records(wait)
    if point.verify_only and not point.keeps_records:
        return jsonify(error="not_kept", message="This point keeps no records."), 403
    try:
        if unreadable is not None:
            raise unreadable
        scan = _scan_of(body, point)
    except BadScanRecord as bad:
        return jsonify(error="invalid", errors=bad.errors), 422
    answer = scan_records.submit_many([scan], point, current_user._get_current_object())[0]
    fields, status = _scan_answer(answer, scan.record_id)
    return jsonify(fields), status


def _scan_of(body: object, point) -> scan_records.ScanRecord:
    """One record of a scan-records body, validated; raise BadScanRecord with its errors."""
    # At a verify-only point the record has no temperature; its decision follows the colour.
    form_class = GateRecordForm if point.verify_only else ScanRecordForm
    form = form_class(scan_record_fields(body))
    if not form.validate() or not scan_records.valid_record_id(form.record_id.data):
        raise BadScanRecord(
            {name: [str(e) for e in errs] for name, errs in form.errors.items()}
            or {"record_id": ["not a UUID"]}
        )
    return scan_records.ScanRecord(
        record_id=form.record_id.data,
        token=form.token.data,
        scanned_at=form.scanned_at.data,
        shown_colour=form.shown_colour.data or None,
        offline=bool(form.offline.data),
        body=form.body(),
    )


def _scan_answer(answer, record_id: str) -> tuple[dict, int]:
    """A record's answer and its status: its Stored, or the refusal it got (REFUSALS)."""
    if isinstance(answer, verification.Refused):
        fields = dict(
            error="refused",
            reason=answer.reason,
            title=refusal_title(answer.reason),
            record_id=record_id,
        )
        return fields, 422
    if isinstance(answer, scan_records.TooOld):
        return dict(error="scan_time", record_id=record_id), 422
    if isinstance(answer, verification.Conflict):
        return dict(error="conflict", record_id=record_id), 409
    if isinstance(answer, rules.PassNeedsOverride):
        fields = dict(
            error="override_required",
            title=pass_needs_override(),
            errors={"decision": [pass_needs_override()]},
            record_id=record_id,
        )
        return fields, 422
    # The holder's colour now, after this record (a fever's hit included): the volunteer is told
    # when it is worse than the colour the page showed.
    colour = answer.colour
    fields = dict(
        record_id=answer.record_id,
        stored=answer.created,
        colour=colour,
        colour_word=colour_word(colour),
        token_colour=answer.token_colour,
        stale_colour=answer.stale_colour,
        late=answer.late,
        revoked_paper=answer.revoked_paper,
        fever=answer.fever,
        worse=scan_records.is_worse(colour, answer.token_colour),
    )
    return fields, (201 if answer.created else 200)


def _scan_record_batch(items: list):
    """A batch of scan records: each counted against the limits, checked and answered as if
    sent alone, the new ones stored with one INSERT; the request commits them once."""
    if not items:
        return jsonify(error="invalid", errors={"body": ["an empty batch"]}), 422
    most = int(current_app.config["SCAN_RECORD_BATCH_MAX"])
    if len(items) > most:
        message = f"At most {most} records a batch."
        return jsonify(error="too_many_records", most=most, message=message), 413
    point = current_user.point
    if point.verify_only and not point.keeps_records:
        return jsonify(error="not_kept", message="This point keeps no records."), 403
    counted, wait = record_limits.spend_many(current_user.id, point.id, len(items))
    if not counted:
        return _too_many_records(wait)
    results: list[dict | None] = [None] * len(items)
    scans, places = [], []
    for index, item in enumerate(items):
        record_id = item.get("record_id") if isinstance(item, dict) else None
        record_id = record_id if isinstance(record_id, str) else None
        if index >= counted:
            # Not counted, nothing stored: the queue sends it again after the wait.
            seconds = ceil(wait)
            results[index] = dict(
                status=429, error="rate_limited", retry_after=seconds, record_id=record_id
            )
            continue
        try:
            scans.append(_scan_of(item, point))
            places.append(index)
        except BadScanRecord as bad:
            results[index] = dict(
                status=422, error="invalid", errors=bad.errors, record_id=record_id
            )
    if scans:
        answers = scan_records.submit_many(scans, point, current_user._get_current_object())
        for index, scan, answer in zip(places, scans, answers, strict=True):
            fields, status = _scan_answer(answer, scan.record_id)
            results[index] = {"status": status, **fields}
    response = jsonify(results=results)
    if wait:
        response.headers["Retry-After"] = str(ceil(wait))
    return response


@bp.post("/records/<record_id>/void")
def void(record_id: str):
    """Void a mistaken record with a reason; the author or an officer of the district may."""
    record = verification.record_by_id(record_id)
    if record is None or not verification.can_void(record, current_user):
        abort(404)
    form = VoidForm()
    if not form.validate_on_submit():
        flash(_("Give the reason for voiding."))
        return redirect(
            url_for(".record", record_id=record_id)
            if current_user.role == "staff"
            else url_for("public.index"),
            code=303,
        )
    verification.void_record(record, current_user._get_current_object(), form.reason.data.strip())
    flash(_("Record voided."))
    return redirect(
        url_for(".station") if current_user.role == "staff" else url_for("public.index"), code=303
    )


@bp.get("/bundle.json")
@lag_tolerant
def verifier_bundle():
    """The staff verifier bundle: the public one plus the yellow and red paper serials."""
    return bundle.response(staff=True)


@bp.get("/sw.js")
def service_worker():
    """The service worker that keeps the checkpoint pages usable offline."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response
