"""Static files under content-hashed URLs, cached for a year; the code page's inline CSS."""

from __future__ import annotations

import base64
import gzip
import hashlib
import os
import zlib

from flask import Flask, Response, abort, current_app, request, send_from_directory, url_for
from markupsafe import Markup
from werkzeug.security import safe_join

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

    packed: dict[tuple[str, str], tuple[bytes, bytes | None, str]] = {}

    def pack(path: str, filename: str, digest: str) -> tuple[bytes, bytes | None, str]:
        """The file's bytes, gzipped once per process if it is text, and its type."""
        key = (filename, digest)
        if key not in packed or app.debug:
            with open(path, "rb") as handle:
                body = handle.read()
            mimetype = send_from_directory(app.static_folder, filename).mimetype
            compressible = mimetype in app.config["COMPRESS_MIMETYPES"] and len(body) >= 256
            packed[key] = (
                body,
                gzip.compress(body, 9, mtime=0) if compressible else None,
                mimetype,
            )
        return packed[key]

    @app.get("/a/<digest>/<path:filename>")
    def asset(digest: str, filename: str):
        """Serve a static file; cached for a year, unrevalidated, when the digest is its own."""
        path = safe_join(app.static_folder, filename)
        if filename.endswith(".map") or path is None or not os.path.isfile(path):
            abort(404)
        current = digests.get(filename) or _digest(path)
        if digest != current:
            return send_from_directory(app.static_folder, filename, max_age=60)
        body, gzipped, mimetype = pack(path, filename, digest)
        response = Response(body, mimetype=mimetype)
        if gzipped is not None:
            # Compressed once, not per request, and for clients that accept gzip and nothing else.
            response.vary.add("Accept-Encoding")
            if "gzip" in request.accept_encodings:
                response.set_data(gzipped)
                response.headers["Content-Encoding"] = "gzip"
        response.set_etag(digest)
        response.cache_control.max_age = YEAR
        response.cache_control.public = True
        response.cache_control.immutable = True
        return response.make_conditional(request)

    set_code_card_css(app, app.config["TOKEN_TTL"])
    app.jinja_env.globals["asset_url"] = asset_url


def set_code_card_css(app: Flask, longest: int) -> None:
    """Make the code page's inline CSS: app.css and the card's expiry rules, for a card that
    lives at most `longest` seconds (and at most TOKEN_TTL); and its hash for the CSP."""
    with open(os.path.join(app.static_folder, "app.css"), encoding="utf-8") as handle:
        css = handle.read()
    # The QR and the number grey out once the token or the number has expired without a
    # refresh: pure CSS, so it works without JavaScript and when the network is gone. The card
    # carries the class of its seconds left (rounded down to a step); no class: the longest.
    # No rule past what a card can carry: an hour's TTL made 720 rules (59 KB on every page)
    # where the number's slot lets 133 apply.
    longest = min(app.config["TOKEN_TTL"], longest)
    rules = [f".qr-svg,.expired,.card .number{{animation-delay:{longest}s}}\n"]
    for seconds in range(0, longest + 1, EXPIRY_STEP):
        rules.append(
            f".e{seconds} .qr-svg,.e{seconds} .expired,.e{seconds} .number"
            f"{{animation-delay:{seconds}s}}\n"
        )
    css += "".join(rules)
    app.config["INLINE_CSS"] = css
    app.config["INLINE_CSS_HASH"] = (
        "sha256-" + base64.b64encode(hashlib.sha256(css.encode("utf-8")).digest()).decode()
    )


def inline_css() -> Markup:
    """Return the CSS for a <style> element; unescaped, or the CSP hash would not match."""
    return Markup(current_app.config["INLINE_CSS"])


class HeadStartGzip:
    """gzip for a page whose beginning repeats from request to request (the code page's head,
    with its 12 KB of inline CSS): the compressor's state after each beginning seen is kept,
    so a page costs only the compression of what follows it. The bytes are the same as
    compressing the whole page in one go at the same level (zlib's copy of a compressor)."""

    def __init__(self, level: int, capacity: int = 32):
        self.level = level
        # Beginnings kept: 2 languages x 2 text sizes x 4 titles (3 colours, no code) = 16;
        # a kept compressor at level 6 holds about 270 KB, so at most about 9 MB a process.
        self.capacity = capacity
        self._started: dict[bytes, tuple[object, bytes]] = {}

    def compress(self, body: bytes, split: int) -> bytes:
        """Return `body` gzipped, its first `split` bytes from a kept compressor if seen."""
        head = body[:split]
        started = self._started.get(head)
        if started is None:
            compressor = zlib.compressobj(self.level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
            started = (compressor, compressor.compress(head))
            if len(self._started) >= self.capacity:
                self._started.clear()  # a new CSS or a flood of beginnings: start again
            self._started[head] = started
        compressor, output = started
        rest = compressor.copy()
        return output + rest.compress(body[split:]) + rest.flush()


def gzipped_page(html: str, after: str) -> Response:
    """The HTML page as a response, gzipped (when the client takes gzip) with its beginning up
    to the end of `after` compressed once per process (HeadStartGzip); otherwise plain, and
    Flask-Compress does as for any page."""
    response = Response(html, mimetype="text/html")
    if (
        request.accept_encodings["gzip"] <= 0
        or "gzip" not in current_app.config["COMPRESS_ALGORITHM"]
    ):
        return response
    body = response.get_data()
    split = body.find(after.encode("utf-8"))
    if split < 0:
        return response
    gzip_of = current_app.extensions.setdefault(
        "gantong_head_start_gzip", HeadStartGzip(current_app.config["COMPRESS_LEVEL"])
    )
    response.set_data(gzip_of.compress(body, split + len(after.encode("utf-8"))))
    # Flask-Compress leaves an encoded response alone (and adds Vary: Accept-Encoding).
    response.headers["Content-Encoding"] = "gzip"
    response.vary.add("Accept-Encoding")
    return response
