"""Error pages in the user's language."""

from flask import Flask, render_template
from flask_wtf.csrf import CSRFError


def init_app(app: Flask) -> None:
    @app.errorhandler(403)
    def forbidden(error):
        return render_template("errors/error.html", status=403), 403

    @app.errorhandler(404)
    def not_found(error):
        return render_template("errors/error.html", status=404), 404

    @app.errorhandler(429)
    def too_many(error):
        # A view that answers its own refusals (the sign-up form, kept as typed) made it already.
        if getattr(error, "response", None) is not None:
            return error.response
        return render_template("errors/error.html", status=429), 429

    @app.errorhandler(CSRFError)
    def csrf_failed(error):
        return render_template("errors/error.html", status=400), 400
