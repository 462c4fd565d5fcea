"""Pages for everyone: the landing page and our public keys."""

from flask import Blueprint, current_app, jsonify, redirect, render_template, request
from flask_login import current_user

from gantong import audit_heads
from gantong.auth import session
from gantong.codes import bundle, keys

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


@bp.get("/.well-known/jwks.json")
def jwks():
    """Publish our verification keys (RFC 8037 OKP) so that other systems can trust our codes."""
    response = jsonify(keys.jwks())
    response.cache_control.max_age = current_app.config["JWKS_MAX_AGE"]
    response.cache_control.public = True
    return response


@bp.get("/.well-known/gantong-verifier.json")
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
