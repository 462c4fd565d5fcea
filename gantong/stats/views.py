"""Statistics pages: officers see their own district, administrators the province and drill down."""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, abort, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms.validators import Optional, ValidationError

from gantong.core import charts, divisions
from gantong.models import today, utcnow
from gantong.stats import figures
from gantong.web.fragments import page_or_fragment
from gantong.web.guards import require_role
from gantong.web.i18n import current_language, short_day
from gantong.web.inputs import BoundedDateField

bp = Blueprint("stats", __name__, url_prefix="/stats")


MAX_DAYS = 366


class RangeForm(FlaskForm):
    """The days the per-day numbers cover, read from the query string."""

    class Meta:
        csrf = False

    start = BoundedDateField(_l("From"), validators=[Optional()])
    end = BoundedDateField(_l("To"), validators=[Optional()])

    def validate_end(self, field):
        if field.data and self.start.data:
            if field.data < self.start.data:
                raise ValidationError(_l("The last day is before the first."))
            if (field.data - self.start.data).days >= MAX_DAYS:
                raise ValidationError(_l("Choose at most 366 days."))


@bp.before_request
@login_required
def require_officer_or_admin():
    """Officers (of a district) and administrators only."""
    require_role("officer", "admin")


def scope_for_request() -> figures.Scope:
    """The area asked for: an officer only ever gets their own district.

    :raise 404: for another district than an officer's own, or a code that is no Jiangxi city
        or district.
    """
    code = request.args.get("area", "").strip()
    if current_user.role == "officer":
        if code and code != current_user.district_code:
            abort(404)
        return figures.Scope(current_user.district_code)
    if code and not (
        len(code) in (4, 6) and code.startswith(divisions.JIANGXI) and divisions.get(code)
    ):
        abort(404)
    return figures.Scope(code)


def _day_range(form: RangeForm):
    start, end = figures.default_range(today())
    if request.args and form.validate():
        end = form.end.data or (form.start.data + timedelta(days=13) if form.start.data else end)
        start = form.start.data or end - timedelta(days=13)
    form.start.data, form.end.data = start, end
    return start, end


def _age_label(bucket: figures.AgeCount) -> str:
    if bucket.high is None:
        return _("%(days)s days or more", days=bucket.low)
    if bucket.low == 0:
        return _("Under %(days)s day", days=bucket.high)
    return _("%(low)s to %(high)s days", low=bucket.low, high=bucket.high)


def _place(code: str) -> str:
    return divisions.display_name(code, current_language())


def _short_name(code: str) -> str:
    """The area's own name (东湖区, not 南昌市东湖区): the page says which city it is in."""
    division = divisions.get(code)
    return divisions.local_name(division, current_language()) if division else code


def build_panels(scope: figures.Scope, start, end) -> dict:
    """Count everything for the scope, and draw each count's chart."""
    colours = figures.colours_by_area(scope)
    per_day = figures.verifications_per_day(scope, start, end)
    per_point = figures.verifications_per_point(scope, start, end)
    fevers = figures.fevers_per_day(scope, start, end)
    pending = figures.pending_by_age(scope, utcnow())
    results = figures.results_per_day(scope, start, end)
    positives = figures.positives_by_area(scope, start, end)
    colour_series = [
        charts.Series(_("Green code"), charts.GREEN, "circle"),
        charts.Series(_("Yellow code"), charts.YELLOW, "triangle"),
        charts.Series(_("Red code"), charts.RED, "square"),
    ]
    day_labels = [short_day(day.day) for day in per_day]
    names = {row.code: _short_name(row.code) for row in colours}
    return {
        "colours": colours,
        "names": names,
        "per_day": per_day,
        "per_point": per_point,
        "fevers": fevers,
        "pending": [(bucket, _age_label(bucket)) for bucket in pending],
        "results": results,
        "positives": positives,
        "results_chart": charts.columns(
            "chart-results",
            _("Test results received per day"),
            day_labels,
            [day.count for day in results],
        ),
        "positives_chart": charts.horizontal_bars(
            "chart-positives",
            _("Positive results per district"),
            [_short_name(row.code) for row in positives],
            [charts.Series(_("Positives"), charts.RED, "square")],
            [[row.count] for row in positives],
        ),
        "colour_chart": charts.horizontal_bars(
            "chart-colours",
            _("Codes by colour"),
            [names[row.code] for row in colours],
            colour_series,
            [[row.green, row.yellow, row.red] for row in colours],
        ),
        "day_chart": charts.columns(
            "chart-days", _("Verifications per day"), day_labels, [day.count for day in per_day]
        ),
        "point_chart": charts.horizontal_bars(
            "chart-points",
            _("Verifications per point"),
            [row.name for row in per_point],
            [charts.Series(_("Verifications"), charts.BLUE)],
            [[row.count] for row in per_point],
        ),
        "fever_chart": charts.columns(
            "chart-fevers",
            _("Fevers found per day"),
            day_labels,
            [day.count for day in fevers],
            fill=charts.RED,
        ),
        "pending_chart": charts.horizontal_bars(
            "chart-pending",
            _("Pending applications and claims by age"),
            [_age_label(bucket) for bucket in pending],
            [
                charts.Series(_("Transcoding applications"), charts.BLUE),
                charts.Series(_("Claims"), charts.GREY, "triangle"),
            ],
            [[bucket.applications, bucket.claims] for bucket in pending],
        ),
    }


def _trail(scope: figures.Scope) -> list[tuple[str, str]]:
    """The areas above and including the scope, for the breadcrumb: (code, name)."""
    trail = [("", _("Jiangxi Province"))]
    if len(scope.code) >= 4:
        trail.append((scope.code[:4], _place(scope.code[:4])))
    if len(scope.code) == 6:
        trail.append((scope.code, _place(scope.code)))
    return trail


@bp.get("/")
def index():
    """Show codes by colour, verifications, fevers and pending cases for the scope."""
    scope = scope_for_request()
    form = RangeForm(request.args)
    start, end = _day_range(form)
    context = {
        "scope": scope,
        "form": form,
        "start": start,
        "end": end,
        "trail": _trail(scope),
        "can_drill": current_user.role == "admin" and scope.level != "district",
        **build_panels(scope, start, end),
    }
    return page_or_fragment("stats/index.html", "stats/_panels.html", "stats", **context)
