"""Language choice and the template helpers that depend on the locale."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from flask import Flask, redirect, request
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup

from gantong.core import divisions, rules


def current_language() -> str:
    return str(get_locale() or "zh")


# Every date and time people read is written here. English puts the day first and names the
# month ("7 Dec 2026": "12/7/26" reads as July to most of the world); Chinese keeps 年月日.
# Both read a 24-hour clock, in Asia/Shanghai (BABEL_DEFAULT_TIMEZONE).
DATE_PATTERNS = {
    "en": {"day": "d MMM y", "moment": "d MMM y, HH:mm", "short_day": "d MMM"},
    "zh": {"day": "y年M月d日", "moment": "y年M月d日 HH:mm", "short_day": "M月d日"},
}
# The code card's ticking clock: the same in every language, and as its script writes it.
SECONDS_PATTERN = "yyyy-MM-dd HH:mm:ss"


def _pattern(kind: str) -> str:
    return DATE_PATTERNS.get(current_language(), DATE_PATTERNS["zh"])[kind]


def day(value: date | None) -> str:
    """A day: "7 Dec 2026", "2026年12月7日"."""
    return format_date(value, _pattern("day")) if value else ""


def short_day(value: date | None) -> str:
    """A day of a chart's axis, without its year: "7 Dec", "12月7日"."""
    return format_date(value, _pattern("short_day")) if value else ""


def moment(value: datetime | None) -> str:
    """A time: "7 Dec 2026, 07:25", "2026年12月7日 07:25"."""
    return format_datetime(value, _pattern("moment")) if value else ""


def moment_seconds(value: datetime | None) -> str:
    """The code card's clock, "2026-12-07 07:25:09" in Asia/Shanghai: SECONDS_PATTERN, in digits
    and signs no language changes, so written without Babel's pattern machinery (a naive time
    is UTC, as Flask-Babel takes it)."""
    if not value:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(rules.SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def local_input(value: datetime) -> str:
    """A moment as a datetime-local field's value ("2026-12-07T09:00"), in Asia/Shanghai time."""
    return value.astimezone(rules.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def safe_next(target: str | None) -> str:
    """Return a same-site path to go back to; anything else goes home.

    Browsers drop tabs and line breaks inside a URL and treat a backslash as a slash, so
    `/%09/evil.example` is `//evil.example` to them: any control or space character, any
    backslash, and anything with a scheme or host is refused (a line break would also break
    the Location header).
    """
    if not target or not target.startswith("/") or "\\" in target:
        return "/"
    if any(unicodedata.category(ch)[0] in "CZ" for ch in target):
        return "/"
    parts = urlsplit(target)
    if target.startswith("//") or parts.scheme or parts.netloc:
        return "/"
    return target


# The page's translations, looked up once a render (a context processor) rather than once a
# string: Flask-Babel's own template gettext finds the request's domain, locale and catalogue
# through werkzeug's proxies for each of the ~30 strings of the code page (7 % of its CPU).
PAGE_TRANSLATIONS = "_page_translations"


def _translations_of(context: Context):
    # A macro imported from another template sees no render's variables: it looks them up.
    translations = context.get(PAGE_TRANSLATIONS)
    return get_translations() if translations is None else translations


@pass_context
def template_gettext(context: Context, string: str, **variables) -> str:
    """_() and gettext() in templates: Jinja's newstyle gettext (escaped, always formatted)."""
    text = _translations_of(context).ugettext(string)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


@pass_context
def template_ngettext(context: Context, singular: str, plural: str, num: int, **variables) -> str:
    """ngettext() in templates, as Jinja's newstyle ngettext (num is a variable too)."""
    variables.setdefault("num", num)
    text = _translations_of(context).ungettext(singular, plural, num)
    if context.eval_ctx.autoescape:
        text = Markup(text)
    return text % variables


def init_app(app: Flask) -> None:
    @app.get("/language/<code>")
    def set_language(code: str):
        """Remember the chosen language in a cookie, and as the account's language for its text
        messages when logged in; go back."""
        response = redirect(safe_next(request.args.get("next")))
        if code in app.config["LANGUAGES"]:
            response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax")
            if current_user.is_authenticated and current_user.language != code:
                current_user.language = code  # committed with the request
        return response

    def place(code: str | None) -> str:
        return divisions.display_name(code, current_language()) if code else ""

    app.jinja_env.globals.update(
        current_language=current_language, place=place, day=day, moment=moment
    )
    # In place of the callables Flask-Babel installed (babel.init_app runs before this).
    app.jinja_env.globals.update(_=template_gettext, gettext=template_gettext)
    app.jinja_env.globals.update(ngettext=template_ngettext)

    @app.context_processor
    def page_translations() -> dict:
        return {PAGE_TRANSLATIONS: get_translations()}

    app.jinja_env.filters.update(
        place=place, day=day, moment=moment, moment_seconds=moment_seconds, local_input=local_input
    )
