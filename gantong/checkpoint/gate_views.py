"""The verify-only page (gantong/checkpoint/gate.py): the camera and a full-screen verdict per
code, and the typed-number, photo and document lanes answered with the same verdict by the server.

views.py routes to these; they render, and know nothing of the blueprint's checks.
"""

from __future__ import annotations

from flask import render_template, url_for
from flask_login import current_user

from gantong.checkpoint import gate, verification
from gantong.checkpoint.labels import refusal_advice, refusal_texts, refusal_title
from gantong.core.kinds import Colour
from gantong.web.labels import colour_word

from .forms import NoCodeForm, NumberForm, PhotoForm, TokenForm


def render_gate(verdict: dict | None = None, **forms):
    """The verify-only page; with `verdict`, the server's verdict over it (no script needed)."""
    point = current_user.point
    context = {
        "token_form": TokenForm(),
        "photo_form": PhotoForm(),
        "number_form": NumberForm(),
        "no_code_form": NoCodeForm(),
        "refusal_texts": refusal_texts(),
        "colour_words": {colour.value: colour_word(colour) for colour in Colour},
        "point": point,
        "verdict": verdict,
        "gate_url": url_for(".gate_page"),
    }
    context.update(forms)
    return render_template("checkpoint/gate.html", **context), 200


def show_verdict(method: str, now, find_holder):
    """The server's verdict for the holder `find_holder()` returns, recorded where the point
    keeps records; a refusal shows its own verdict."""
    try:
        holder, token = find_holder()
    except verification.Refused as refusal:
        return show_refusal(refusal)
    verdict = gate.verdict_for(
        holder, current_user.point, current_user._get_current_object(), method, token, now
    )
    return render_gate(
        {
            "colour": verdict.colour,
            "who": verdict.who,
            "issuer": verdict.issuer,
            "recorded": verdict.record_id is not None,
        }
    )


def show_refusal(refusal: verification.Refused):
    return render_gate(
        {
            "colour": "refused",
            "reason": refusal.reason,
            "title": refusal_title(refusal.reason),
            "advice": refusal_advice(refusal.reason),
        }
    )
