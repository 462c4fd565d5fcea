"""Administrators: districts, points, accounts, risk areas, issuers, exports, the audit trail."""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from gantong import audit, audit_heads, unit_of_work
from gantong.admin import audit_search, exports, retention, risk_areas, staff_accounts
from gantong.auth.accounts import PhoneTaken
from gantong.checkpoint import points
from gantong.codes import trust_list
from gantong.extensions import db
from gantong.holders import hotlines
from gantong.models import AccountChange, InformationPoint, PointApiToken, RiskArea, User, today
from gantong.stats import figures
from gantong.web.fragments import page_or_fragment
from gantong.web.guards import require_role
from gantong.web.i18n import current_language
from gantong.web.inputs import db_id, query_int
from gantong.web.paging import page_number

from .forms import (
    ROLE_LABELS,
    AccountForm,
    ActiveForm,
    AuditFilterForm,
    BindingForm,
    ConfirmForm,
    DistrictFilterForm,
    ExportForm,
    HotlineForm,
    IssuerEditForm,
    IssuerForm,
    KeptHeadForm,
    PointForm,
    RetentionForm,
    RiskAreaForm,
    TokenForm,
)

bp = Blueprint("admin", __name__, url_prefix="/admin")
NEW_TOKEN_KEY = "admin_new_api_token"


@bp.before_request
@login_required
def require_admin():
    """Admins only."""
    require_role("admin")


@bp.context_processor
def labels():
    return {"role_labels": ROLE_LABELS}


def _shown_once(html: str):
    """A page carrying a secret shown once: no cache may keep it."""
    response = Response(html)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/")
def index():
    """The admin home."""
    return render_template("admin/index.html")


@bp.get("/districts")
def districts():
    """List Jiangxi's districts with their points and holders."""
    return render_template("admin/districts.html", rows=figures.districts_overview())


# Information points


def _point_or_404(point_id: int) -> InformationPoint:
    """Return the point.

    :raise 404: if there is none with this id.
    """
    return db.get_or_404(InformationPoint, point_id)


@bp.get("/points")
def list_points():
    """List information points, filtered by district."""
    district = request.args.get("district", "")
    listing = points.list_points(district, page_number())
    return page_or_fragment("admin/points.html", "admin/_points.html", "results", rows=listing.rows,
                            has_next=listing.has_next, page=listing.number, district=district,
                            filter_form=DistrictFilterForm(request.args))


def _point_details(form: PointForm) -> points.PointDetails:
    return points.PointDetails(
        name=form.name.data.strip(), district_code=form.district.data,
        address=(form.address.data or "").strip(), latitude=form.latitude.number,
        longitude=form.longitude.number)


@bp.route("/points/new", methods=["GET", "POST"])
def new_point():
    """Add an information point."""
    form = PointForm()
    if form.validate_on_submit():
        details = _point_details(form)
        point = points.add_point(details.name, details.district_code, details.address,
                                 details.latitude, details.longitude, actor=current_user)
        flash(_("Point added: %(name)s.", name=point.name))
        return redirect(url_for(".point", point_id=point.id), code=303)
    return render_template("admin/point_new.html", form=form)


def _render_point(point: InformationPoint, form: PointForm | None = None, new_token: str | None = None,
                  token_form: TokenForm | None = None, active_form: ActiveForm | None = None):
    if form is None:
        form = PointForm(formdata=None, data={
            "name": point.name, "district": point.district_code, "address": point.address,
            "latitude": "" if point.latitude is None else str(point.latitude),
            "longitude": "" if point.longitude is None else str(point.longitude)})
    return render_template(
        "admin/point.html", point=point, form=form, tokens=points.api_tokens(point),
        staff=points.staff_at(point), new_token=new_token, token_form=token_form or TokenForm(),
        active_form=active_form or ActiveForm(), confirm_form=ConfirmForm())


@bp.route("/points/<int:point_id>", methods=["GET", "POST"])
def point(point_id: int):
    """Show a point: edit its details and position, its API tokens, its staff."""
    point = _point_or_404(point_id)
    form = PointForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        points.update_point(point, _point_details(form), actor=current_user)
        flash(_("Point saved."))
        return redirect(url_for(".point", point_id=point.id), code=303)
    shown = session.get(NEW_TOKEN_KEY)
    if request.method == "GET" and shown and shown.get("point") == point.id:
        # The token just made, shown this once: taken out of the session as it is shown.
        session.pop(NEW_TOKEN_KEY)
        return _shown_once(_render_point(point, new_token=shown["token"]))
    return _render_point(point, form)


@bp.post("/points/<int:point_id>/active")
def point_active(point_id: int):
    """Take a point out of use, or back into use, with a reason."""
    point = _point_or_404(point_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        return _render_point(point, active_form=form)
    points.set_point_active(point, not point.active, actor=current_user, reason=form.reason.data.strip())
    flash(_("Point back in use.") if point.active else _("Point out of use: its staff and API tokens can no longer verify."))
    return redirect(url_for(".point", point_id=point.id), code=303)


@bp.post("/points/<int:point_id>/tokens")
def new_token(point_id: int):
    """Make an API token for the point and show it once."""
    point = _point_or_404(point_id)
    form = TokenForm()
    if not form.validate_on_submit():
        return _render_point(point, token_form=form)
    token = points.new_api_token(point.id, (form.label.data or "").strip(), actor=current_user)
    # Post, then redirect: a reload of the page shows the point, it makes no second token.
    session[NEW_TOKEN_KEY] = {"point": point.id, "token": token}
    return redirect(url_for(".point", point_id=point.id), code=303)


@bp.post("/points/<int:point_id>/tokens/<int:token_id>/revoke")
def revoke_token(point_id: int, token_id: int):
    """Revoke one of the point's API tokens."""
    point = _point_or_404(point_id)
    token = db.session.get(PointApiToken, token_id)
    if token is None or token.point_id != point.id:
        abort(404)
    if ConfirmForm().validate_on_submit():
        points.revoke_api_token(token.id, actor=current_user)
        flash(_("Token revoked."))
    return redirect(url_for(".point", point_id=point.id), code=303)


# Accounts


def _account_or_404(user_id: int):
    """Return a staff, officer or admin account.

    :raise 404: if there is none with this id (residents' accounts are not managed here).
    """
    user = staff_accounts.managed_account(user_id)
    if user is None:
        abort(404)
    return user


def _binding(form) -> staff_accounts.Binding:
    return staff_accounts.Binding(
        point_id=db_id(form.point.data),
        district_code=form.district.data or None,
        badge_number=(form.badge_number.data or "").strip() or None,
        department=(form.department.data or "").strip() or None)


@bp.get("/accounts")
def accounts():
    """List staff, officers and admins, filtered by role and number."""
    role, phone = request.args.get("role", ""), request.args.get("phone", "").strip()
    listing = staff_accounts.list_accounts(role, phone, page_number())
    return page_or_fragment("admin/accounts.html", "admin/_accounts.html", "results", listing=listing,
                            role=role, phone=phone)


@bp.route("/accounts/new", methods=["GET", "POST"])
def new_account():
    """Create a staff account, or ask for an officer or admin account (a second admin confirms).

    The one-time password goes by text message to the account's own number: no administrator
    ever sees it.
    """
    form = AccountForm()
    if not form.is_submitted():
        form.role.data = request.args.get("role", "staff")
        form.point.data = request.args.get("point", "")
    if form.validate_on_submit():
        try:
            made = staff_accounts.create_account(form.role.data, form.phone.e164, _binding(form),
                                                 actor=current_user._get_current_object())
        except PhoneTaken:
            form.phone.errors.append(_("This number has an account already."))
        else:
            if isinstance(made, AccountChange):
                flash(_("Asked: a second administrator must confirm this account. The one-time "
                        "password then goes by text message to its number."))
                return redirect(url_for(".account_changes"), code=303)
            flash(_("Account created. Its one-time password went by text message to its number."))
            return redirect(url_for(".account", user_id=made.id), code=303)
    return render_template("admin/account_new.html", form=form)


@bp.get("/accounts/changes")
def account_changes():
    """The account changes waiting for a second administrator."""
    changes = staff_accounts.pending_changes()
    users = {user.id: user for user in db.session.scalars(db.select(User).where(User.id.in_(
        {change.user_id for change in changes} | {change.requested_by for change in changes})))}
    return render_template("admin/account_changes.html", changes=changes, users=users,
                           details=staff_accounts.change_details, confirm_form=ConfirmForm())


@bp.post("/accounts/changes/<int:change_id>/confirm")
def confirm_account_change(change_id: int):
    """A second, different administrator confirms a pending account change."""
    return _decide_account_change(change_id, "confirm")


@bp.post("/accounts/changes/<int:change_id>/reject")
def reject_account_change(change_id: int):
    """Reject a pending account change."""
    return _decide_account_change(change_id, "reject")


def _decide_account_change(change_id: int, decision: str):
    change = db.session.get(AccountChange, change_id)
    if change is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".account_changes"), code=303)
    admin = current_user._get_current_object()
    try:
        if decision == "confirm":
            staff_accounts.confirm(change, admin)
            flash(_("Confirmed. Any one-time password went by text message to the account's number."))
        else:
            staff_accounts.reject(change, admin)
            flash(_("Rejected."))
    except staff_accounts.OwnRequest:
        flash(_("A second, different administrator must confirm this."))
    except staff_accounts.NotPending:
        flash(_("This change was decided already."))
    except PhoneTaken:
        flash(_("This number has an account already."))
    return redirect(url_for(".account_changes"), code=303)


def _render_account(user, form: BindingForm | None = None, active_form: ActiveForm | None = None):
    if form is None:
        form = BindingForm(formdata=None, role=user.role, data={
            "point": str(user.point_id or ""), "district": user.district_code or "",
            "badge_number": user.badge_number or "", "department": user.department or ""})
    return render_template("admin/account.html", user=user, form=form,
                           active_form=active_form or ActiveForm(), confirm_form=ConfirmForm())


@bp.route("/accounts/<int:user_id>", methods=["GET", "POST"])
def account(user_id: int):
    """Show an account: its point or district, deactivation, a new one-time password."""
    user = _account_or_404(user_id)
    form = BindingForm(role=user.role) if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        pending = staff_accounts.update_binding(user, _binding(form), actor=current_user._get_current_object())
        if pending is not None:
            flash(_("Asked: a second administrator must confirm the move to another district."))
            return redirect(url_for(".account_changes"), code=303)
        flash(_("Account saved."))
        return redirect(url_for(".account", user_id=user.id), code=303)
    return _render_account(user, form)


@bp.post("/accounts/<int:user_id>/active")
def account_active(user_id: int):
    """Deactivate an account (its sessions end at once) or reactivate it, with a reason."""
    user = _account_or_404(user_id)
    form = ActiveForm()
    if not form.validate_on_submit():
        return _render_account(user, active_form=form)
    try:
        staff_accounts.set_active(user, not user.active, actor=current_user, reason=form.reason.data.strip())
    except staff_accounts.OwnAccount:
        form.reason.errors.append(_("You cannot deactivate your own account."))
        return _render_account(user, active_form=form)
    flash(_("Account reactivated.") if user.active else _("Account deactivated: its sessions have ended."))
    return redirect(url_for(".account", user_id=user.id), code=303)


@bp.post("/accounts/<int:user_id>/password")
def reset_password(user_id: int):
    """A new one-time password, sent by text message to the account's own number (an officer's
    or an administrator's once a second administrator confirms)."""
    user = _account_or_404(user_id)
    if not ConfirmForm().validate_on_submit():
        return redirect(url_for(".account", user_id=user.id), code=303)
    if staff_accounts.reset_password(user, actor=current_user._get_current_object()) is not None:
        flash(_("Asked: a second administrator must confirm the new password."))
        return redirect(url_for(".account_changes"), code=303)
    flash(_("A new one-time password went by text message to the account's number."))
    return redirect(url_for(".account", user_id=user.id), code=303)


# Risk areas


def _area_details(form: RiskAreaForm) -> risk_areas.AreaDetails:
    return risk_areas.AreaDetails(
        code=form.code.data, name=(form.name.data or "").strip() or risk_areas.default_name(form.code.data),
        days=form.days.data, active_from=form.active_from.data, active_to=form.active_to.data,
        active=form.active.data)


def _area_saved(area: RiskArea, changed: int):
    flash(_("Key area saved: %(name)s. Stored colours changed: %(count)s.", name=area.name, count=changed))
    return redirect(url_for(".risk_areas_list"), code=303)


@bp.get("/risk-areas")
def risk_areas_list():
    """List the key areas and their quarantine days."""
    return render_template("admin/risk_areas.html", areas=risk_areas.list_areas())


@bp.route("/risk-areas/new", methods=["GET", "POST"])
def new_risk_area():
    """Add a key area."""
    form = RiskAreaForm()
    if form.validate_on_submit():
        return _area_saved(*risk_areas.save_area(None, _area_details(form), actor=current_user))
    return render_template("admin/risk_area.html", form=form, area=None)


@bp.route("/risk-areas/<int:area_id>", methods=["GET", "POST"])
def risk_area(area_id: int):
    """Change a key area: its code, days, dates, or whether it is in force."""
    area = db.get_or_404(RiskArea, area_id)
    form = RiskAreaForm(obj=area if request.method == "GET" else None)
    if form.validate_on_submit():
        return _area_saved(*risk_areas.save_area(area, _area_details(form), actor=current_user))
    return render_template("admin/risk_area.html", form=form, area=area)


# District hotlines


@bp.route("/hotlines", methods=["GET", "POST"])
def hotlines_page():
    """Each district's hotline, shown beside "what you can do" on its residents' code pages."""
    form = HotlineForm()
    if form.validate_on_submit():
        hotlines.set_hotline(form.district.data, (form.phone.data or "").strip(), current_user)
        flash(_("Hotline saved."))
        return redirect(url_for(".hotlines_page"), code=303)
    return render_template("admin/hotlines.html", form=form, rows=hotlines.all_set(),
                           default=hotlines.DEFAULT_HOTLINE)


# Trusted issuers


@bp.get("/issuers")
def issuers_list():
    """The trust list: issuers whose codes our checkpoints accept."""
    return render_template("admin/issuers.html", issuers=trust_list.list_issuers(), state=trust_list.state)


def _issuer_error(form, error: trust_list.IssuerError) -> None:
    field = getattr(form, error.field or "name", None) or form.name
    field.errors.append(_(str(error)))


@bp.route("/issuers/new", methods=["GET", "POST"])
def new_issuer():
    """Put an issuer on the trust list."""
    form = IssuerForm()
    if form.validate_on_submit():
        try:
            issuer = trust_list.add_issuer(
                form.name.data, form.region.data or "", form.jwk.data, form.valid_from_moment(),
                form.valid_to_moment(), actor=current_user, kid=(form.kid.data or "").strip() or None)
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
    return render_template("admin/issuer.html", issuer=issuer, form=form, state=trust_list.state,
                           active_form=active_form or ActiveForm())


@bp.route("/issuers/<int:issuer_id>", methods=["GET", "POST"])
def issuer(issuer_id: int):
    """Show an issuer; change its name, region or validity (its key never changes)."""
    issuer = _issuer_or_404(issuer_id)
    form = IssuerEditForm() if request.method == "POST" else None
    if form is not None and form.validate_on_submit():
        try:
            trust_list.update_issuer(issuer.id, form.name.data, form.region.data or "", form.valid_from_moment(),
                                  form.valid_to_moment(), actor=current_user)
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
    form = ActiveForm()
    if not form.validate_on_submit():
        return _render_issuer(issuer, active_form=form)
    trust_list.set_active(issuer.id, not issuer.active, actor=current_user, reason=form.reason.data.strip())
    flash(_("Issuer trusted again.") if issuer.active else _("Issuer no longer trusted: its codes are refused."))
    return redirect(url_for(".issuer", issuer_id=issuer.id), code=303)


# Exports


@bp.route("/exports", methods=["GET", "POST"])
@unit_of_work.reads  # the rows stream after the audit event's commit, without SQLite's write lock
def export():
    """Download verification records or applications as CSV, by district and days."""
    form = ExportForm()
    if not form.is_submitted():
        form.start.data, form.end.data = figures.default_range(today(), days=28)
    if form.validate_on_submit():
        selection = exports.ExportFilter(form.district.data or "", form.start.data, form.end.data)
        # ?columns=codes (or the form's choice) keeps the stable codes; else the page's language.
        language = "" if (request.args.get("columns") or form.columns.data) == "codes" else current_language()
        header, rows = exports.start_export(form.kind.data, selection, actor=current_user, language=language)
        response = Response(stream_with_context(exports.csv_chunks(header, rows)),
                            mimetype="text/csv")
        response.headers["Content-Disposition"] = (
            f'attachment; filename="{exports.filename(form.kind.data, selection)}"')
        response.headers["Cache-Control"] = "no-store"
        return response
    return render_template("admin/export.html", form=form)


# The audit trail


@bp.get("/audit")
def audit_trail():
    """The audit trail, newest first, with filters and the chain check."""
    form = AuditFilterForm(request.args)
    selection = audit_search.AuditFilter()
    if request.args and form.validate():
        selection = audit_search.AuditFilter(
            action=(form.action.data or "").strip(), subject=(form.subject.data or "").strip(),
            actor_id=db_id(form.actor.data),
            start=form.start.data, end=form.end.data)
    before = query_int("before")
    listing = audit_search.search(selection, before)
    next_args = {**request.args.to_dict(), "before": listing.next_before}
    return page_or_fragment("admin/audit.html", "admin/_audit.html", "results", form=form, listing=listing,
                            next_args=next_args)


@bp.get("/audit/check")
def audit_check():
    """Check the whole hash chain and show the result."""
    check = audit.verify_chain()
    return page_or_fragment("admin/audit_check.html", "admin/_chain.html", "chain", check=check,
                            kept_form=KeptHeadForm(formdata=None), head=audit_heads.latest())


@bp.post("/audit/check")
def audit_check_kept():
    """Check the chain against a head kept elsewhere (a signed head, or a bare head hash)."""
    form = KeptHeadForm()
    result = None
    if form.validate_on_submit():
        text = form.kept.data
        try:
            if text.startswith("{"):
                kept = audit_heads.read_kept(text)
                result = audit_heads.check_against(kept.head_hash, kept.seq)
            else:
                result = audit_heads.check_against(text)
        except audit_heads.BadHead as refusal:
            form.kept.errors.append(_("This is not a signed head of ours: %(why)s", why=str(refusal)))
    return render_template("admin/audit_check.html", check=audit.verify_chain(), kept_form=form,
                           kept_result=result, head=audit_heads.latest())


@bp.post("/audit/head")
def audit_sign_head():
    """Sign the trail's head now (it is signed at a set interval too) and publish it."""
    if ConfirmForm().validate_on_submit():
        audit_heads.sign_head()
        flash(_("The head is signed and published at /audit/head.json."))
    return redirect(url_for(".audit_check"), code=303)


# Retention


@bp.route("/retention", methods=["GET", "POST"])
def retention_page():
    """The retention setting, what is kept, and the purge: one batch per request, with progress."""
    days = retention.retention_days()
    form = RetentionForm()
    if request.method == "POST" and form.validate_on_submit():
        total = form.total.data if form.total.data is not None else retention.status(days).expired
        result = retention.purge_one_batch(days, current_user,
                                           batch=current_app.config.get("RETENTION_BATCH_SIZE", retention.BATCH_SIZE))
        deleted = (form.deleted.data or 0) + result.deleted
        left = retention.status(days).expired
        if result.deleted and left:
            total = max(total, deleted + left)
            progress = RetentionForm(formdata=None, data={"confirm": True, "total": total, "deleted": deleted})
            return render_template("admin/retention_progress.html", form=progress, deleted=deleted, total=total,
                                   left=left)
        flash(_("%(count)s expired verification records deleted.", count=deleted))
        return redirect(url_for(".retention_page"), code=303)
    return render_template("admin/retention.html", status=retention.status(days), form=form)
