"""Gantong Code: a provincial personal health code."""

from __future__ import annotations

import os
import secrets

import click
from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from gantong import unit_of_work
from gantong.config import Config, database_url, public_url
from gantong.extensions import babel, compress, csrf, db, htmx, limiter, login_manager, migrate


def create_app(test_config: dict | None = None) -> Flask:
    """Create and configure the app."""
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder="../templates",
        static_folder="../static",
    )
    from gantong.web.inputs import IdConverter

    # Before any route is added: every <int:id> is bounded to what the database holds.
    app.url_map.converters["int"] = IdConverter
    app.config.from_object(Config)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config["SQLALCHEMY_DATABASE_URI"] = database_url(app.instance_path)
    if test_config:
        app.config.update(test_config)
    # A server refuses to start without it; a command of the flask CLI (built inside click's
    # context) starts, and refuses only when it would send a text message.
    app.config["PUBLIC_URL"] = public_url(
        app.config.get("PUBLIC_URL", ""),
        app.debug or app.testing,
        deferred=click.get_current_context(silent=True) is not None,
    )
    if not app.config["SECRET_KEY"]:
        app.config["SECRET_KEY"] = _instance_secret(app.instance_path)
    if os.environ.get("PROXY_COUNT"):
        # Behind an HTTPS proxy (see README): trust its X-Forwarded-* headers.
        count = int(os.environ["PROXY_COUNT"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)

    db.init_app(app)
    from gantong.web import replicas

    # Before the unit of work: a request a replica failed is handed to its retry of a request
    # whose connection dropped (it rolls back and runs it again, now on the primary).
    replicas.init_app(app)
    unit_of_work.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(app.root_path, "..", "migrations"))
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=_select_locale, timezone_selector=lambda: "Asia/Shanghai")
    htmx.init_app(app)
    compress.init_app(app)
    from gantong.web import rate_limits  # registers the database:// storage

    if app.config.get("RATELIMIT_STORAGE_URI") == "database://":
        # The app's own database, carried in the URI (Flask-Limiter merges storage options
        # across apps, and Redis would refuse an option it does not know).
        app.config["RATELIMIT_STORAGE_URI"] = rate_limits.storage_uri(
            app.config["SQLALCHEMY_DATABASE_URI"]
        )
    limiter.init_app(app)

    from gantong.web import (
        assets,
        certificate_labels,
        display,
        errors,
        i18n,
        inputs,
        labels,
        security,
    )

    assets.init_app(app)
    labels.init_app(app)
    certificate_labels.init_app(app)
    # Each domain registers the labels its pages show (its labels.py, beside its views).
    from gantong.admin import labels as admin_labels
    from gantong.checkpoint import labels as checkpoint_labels
    from gantong.holders import labels as holder_labels
    from gantong.review import labels as review_labels

    for domain_labels in (checkpoint_labels, holder_labels, review_labels, admin_labels):
        domain_labels.init_app(app)
    i18n.init_app(app)
    display.init_app(app)
    security.init_app(app)
    inputs.init_app(app)

    from gantong.admin.views import bp as admin_bp
    from gantong.api.views import bp as api_bp
    from gantong.auth.views import bp as auth_bp
    from gantong.checkpoint.views import bp as checkpoint_bp
    from gantong.entry.views import bp as entry_bp
    from gantong.labs.views import bp as labs_bp
    from gantong.public.views import bp as public_bp
    from gantong.resident.views import bp as resident_bp
    from gantong.review.views import bp as review_bp
    from gantong.stats.views import bp as stats_bp
    from gantong.venues.views import bp as venues_bp
    from gantong.venues.views import visit_bp

    for blueprint in (
        public_bp,
        auth_bp,
        resident_bp,
        checkpoint_bp,
        api_bp,
        review_bp,
        entry_bp,
        admin_bp,
        stats_bp,
        labs_bp,
        venues_bp,
        visit_bp,
    ):
        app.register_blueprint(blueprint)
    errors.init_app(app)

    from gantong.cli import register_commands

    register_commands(app)
    return app


def _select_locale() -> str:
    if "locale" in g:
        return g.locale
    chosen = request.cookies.get("lang")
    languages = Config.LANGUAGES
    g.locale = (
        chosen
        if chosen in languages
        else request.accept_languages.best_match(languages, default="zh")
    )
    return g.locale


def _instance_secret(instance_path: str) -> str:
    """Keep one generated secret per instance, so sessions and stored keys survive restarts."""
    path = os.path.join(instance_path, "secret_key")
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    with open(path) as handle:
        return handle.read().strip()
