"""Static files under content-hashed URLs, cached for a year; the code page's inline CSS."""
from __future__ import annotations

import base64
import hashlib
import os

from flask import Flask, abort, current_app, send_from_directory, url_for
from markupsafe import Markup

YEAR = 365 * 24 * 3600
# The code card greys out this many seconds after it was drawn, rounded down to a step.
EXPIRY_STEP = 5


def _digest(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    digests: dict[str, str] = {}

    def asset_url(filename: str) -> str:
        """Return the hashed URL of a file under static/."""
        if filename not in digests or app.debug:
            digests[filename] = _digest(os.path.join(app.static_folder, filename))
        return url_for("asset", digest=digests[filename], filename=filename)

    @app.get("/a/<digest>/<path:filename>")
    def asset(digest: str, filename: str):
        """Serve a static file; immutable when the digest is the file's own."""
        if filename.endswith(".map"):
            abort(404)
        response = send_from_directory(app.static_folder, filename)
        current = digests.get(filename) or _digest(os.path.join(app.static_folder, filename))
        if digest == current:
            response.cache_control.max_age = YEAR
            response.cache_control.public = True
            response.cache_control.immutable = True
        else:
            response.cache_control.max_age = 60
        return response

    with open(os.path.join(app.static_folder, "app.css"), encoding="utf-8") as handle:
        css = handle.read()
    # The QR and the number grey out once the token or the number has expired without a
    # refresh: pure CSS, so it works without JavaScript and when the network is gone. The card
    # carries the class of its seconds left (rounded down to a step); no class: the token's TTL.
    ttl = app.config["TOKEN_TTL"]
    css += f".qr-svg,.expired,.card .number{{animation-delay:{ttl}s}}\n"
    for seconds in range(0, ttl, EXPIRY_STEP):
        css += f".e{seconds} .qr-svg,.e{seconds} .expired,.e{seconds} .number{{animation-delay:{seconds}s}}\n"
    app.config["INLINE_CSS"] = css
    app.config["INLINE_CSS_HASH"] = "sha256-" + base64.b64encode(
        hashlib.sha256(css.encode("utf-8")).digest()
    ).decode()
    app.jinja_env.globals["asset_url"] = asset_url


def inline_css() -> Markup:
    """Return the CSS for a <style> element; unescaped, or the CSP hash would not match."""
    return Markup(current_app.config["INLINE_CSS"])
