"""Rate limits on opening an account; the resident and the pre-entry sign-up share them.

Two budgets, both shared by /register and /entry/register:

- per mobile number (SIGNUP_LIMIT_PER_NUMBER): only tries that pass the form's checks count,
  those that reach the accounts (the account opened, or "this number has an account
  already"). A typo (a short password, two passwords that differ, a malformed number) is
  answered next to its field and costs nothing: people retype, and refusing them for it
  helps nobody. What the budget stops is one number tried again and again from many places.
- per address (SIGNUP_LIMIT_PER_ADDRESS), every post counted, typos too: loose enough that a
  registration desk or a carrier's NAT does not reach it (the figure's reasoning is beside it
  in gantong/config.py); it stops one machine opening accounts by the thousand.

A refused sign-up is the form again (status 429), with what was typed (never the passwords)
and the true time left before a try passes, read from the limiter's own windows
(gantong.web.rate_limits.sliding_window_wait).
"""

from __future__ import annotations

from math import ceil

from flask import current_app, make_response, render_template, request
from flask_babel import ngettext

from gantong.auth.forms import RegisterForm
from gantong.core import identity
from gantong.extensions import limiter, remote_address
from gantong.web import rate_limits

ADDRESS_SCOPE, NUMBER_SCOPE = "signup-address", "signup-number"


def number_key() -> str:
    """The number as typed, normalised so that every way of typing it shares one budget."""
    raw = request.form.get("phone", "")
    try:
        return identity.normalise_phone(raw)
    except identity.InvalidPhone:
        return raw.strip() or "-"  # never counted: a malformed number is a typo


def spend_number_try() -> bool:
    """Count a try that passed the form's checks against its number; False if none is left."""
    limits_text = current_app.config["SIGNUP_LIMIT_PER_NUMBER"]
    return not rate_limits.spend(limits_text, number_key(), NUMBER_SCOPE)


def refused(template: str):
    """The sign-up form again, as typed, saying which budget is spent and for how long."""
    form = RegisterForm()  # bound to what was posted; the password fields never echo it
    config = current_app.config
    address_wait = rate_limits.wait_for(
        config["SIGNUP_LIMIT_PER_ADDRESS"], remote_address(), ADDRESS_SCOPE
    )
    number_wait = rate_limits.wait_for(
        config["SIGNUP_LIMIT_PER_NUMBER"], number_key(), NUMBER_SCOPE
    )
    network_message = None
    if address_wait:
        minutes = rate_limits.minutes(address_wait)
        network_message = ngettext(
            "Too many sign-ups from this network. Try again in %(num)d minute.",
            "Too many sign-ups from this network. Try again in %(num)d minutes.",
            minutes,
        )
    if number_wait:
        minutes = rate_limits.minutes(number_wait)
        form.phone.errors = [
            ngettext(
                "This number has been tried too many times. Try again in %(num)d minute.",
                "This number has been tried too many times. Try again in %(num)d minutes.",
                minutes,
            )
        ]
    response = make_response(
        render_template(template, form=form, network_message=network_message), 429
    )
    response.headers["Retry-After"] = str(ceil(max(address_wait, number_wait)))
    return response


def limited_per_address(template: str):
    """Decorate a sign-up view with the per-address budget; a refusal renders `template`."""
    return limiter.shared_limit(
        lambda: current_app.config["SIGNUP_LIMIT_PER_ADDRESS"],
        scope=ADDRESS_SCOPE,
        key_func=remote_address,
        methods=["POST"],
        on_breach=lambda _limit: refused(template),
    )
