"""Large-text mode (长辈模式): one switch, remembered in a cookie, no JavaScript needed."""

from __future__ import annotations

from flask import Flask, redirect, request

from gantong.web.i18n import safe_next

COOKIE = "text"
LARGE = "large"


def large_text() -> bool:
    """Whether this browser chose large text: the page's <html> then carries class="large"."""
    return request.cookies.get(COOKIE) == LARGE


def init_app(app: Flask) -> None:
    @app.get("/text-size/<size>")
    def set_text_size(size: str):
        """Remember large or standard text in a cookie and go back (a plain link: works without JS)."""
        response = redirect(safe_next(request.args.get("next")))
        if size == LARGE:
            response.set_cookie(COOKIE, LARGE, max_age=365 * 24 * 3600, samesite="Lax")
        else:
            response.delete_cookie(COOKIE, samesite="Lax")
        return response

    app.jinja_env.globals["large_text"] = large_text
