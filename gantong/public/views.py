"""Pages for everyone: the landing page and our public keys."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask_login import current_user

from gantong import audit_heads
from gantong.auth import session
from gantong.codes import bundle, keys
from gantong.web import health
from gantong.web.replicas import lag_tolerant

bp = Blueprint("public", __name__)

# The documents a partner's verifier page on another site reads: keys, bundle, audit head.
CROSS_SITE_READABLE = {"public.jwks", "public.verifier_bundle", "public.audit_head"}


@bp.after_request
def allow_cross_site_reads(response):
    """Let any site's page GET the public documents (and revalidate them with If-None-Match).

    A wildcard origin and no Allow-Credentials: browsers then send no cookies, and these
    documents are the same for everyone, so nothing of a session can leak through them.
    """
    if request.endpoint in CROSS_SITE_READABLE:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Date"
        if request.method == "OPTIONS":
            response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
            response.headers["Access-Control-Allow-Headers"] = "If-None-Match"
            response.headers["Access-Control-Max-Age"] = "86400"
    return response


@bp.get("/")
def index():
    """Show the landing page, or send a logged-in user to their home."""
    if current_user.is_authenticated:
        return redirect(session.home_for(current_user))
    return render_template("public/index.html")


@bp.get("/healthz")
def healthz():
    """Tell the load balancer whether this host serves: 200 when its database answers, else 503.

    HAProxy asks every second (deploy/haproxy.cfg) and stops sending to a host after two
    failures, so this costs one SELECT 1 and nothing else: no session, no template, no Redis
    (a Redis outage would take every host out at once, while the app itself only counts limits
    there).
    """
    healthy = health.database_answers()
    response = current_app.response_class(
        "ok\n" if healthy else "database unavailable\n",
        status=200 if healthy else 503,
        mimetype="text/plain",
    )
    response.cache_control.no_store = True
    return response


@bp.get("/.well-known/jwks.json")
@lag_tolerant
def jwks():
    """Publish our verification keys (RFC 8037 OKP) so that other systems can trust our codes."""
    response = jsonify(keys.jwks())
    response.cache_control.max_age = current_app.config["JWKS_MAX_AGE"]
    response.cache_control.public = True
    return response


@bp.get("/.well-known/gantong-verifier.json")
@lag_tolerant
def verifier_bundle():
    """The public verifier bundle: keys with their windows, partners and caps, revocations."""
    return bundle.response(staff=False)


@bp.get("/audit/head.json")
def audit_head():
    """The latest signed head of the audit trail, for anyone to keep a copy (signed anew once
    the interval has passed and the trail has grown)."""
    response = jsonify(audit_heads.as_json(audit_heads.latest_or_fresh()))
    response.cache_control.max_age = 60
    response.cache_control.public = True
    return response
