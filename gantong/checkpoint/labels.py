"""What the checkpoint shows in words: decisions, check methods, and why a code was refused."""

from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from gantong.core import rules
from gantong.core.kinds import CheckMethod, Colour, Decision
from gantong.web.labels import colour_word, kind_choices, kind_label

# What each refusal means, and what the volunteer should do about it.
REFUSALS = {
    "expired": (
        _l("Expired code"),
        _l(
            "The code is older than its time to live: it may be a screenshot. Ask the person to refresh the code page and scan again."
        ),
    ),
    "bad_signature": (
        _l("Forged or altered code"),
        _l(
            "The signature does not match: this code was not issued as shown. Do not accept it; check the person's document in the no-code lane and tell the officer on duty."
        ),
    ),
    "unknown_key": (
        _l("Code from an unknown issuer"),
        _l(
            "The code was signed by a key we do not trust. Ask for their Gantong code, or check their document in the no-code lane."
        ),
    ),
    "not_yet_valid": (
        _l("Code from the future"),
        _l(
            "The code's time is ahead of ours: the phone's clock may be wrong. Ask the person to correct the clock and refresh the code."
        ),
    ),
    "malformed": (
        _l("Unreadable code"),
        _l(
            "This is not a health code we can read. Scan again, type the 8-digit number, or check the document in the no-code lane."
        ),
    ),
    "certificate_unreadable": (
        _l("Unreadable certificate"),
        _l(
            "This is an international certificate (HC1: or shc:/) that cannot be read: damaged, cut short, or too large to be genuine. Scan it again, or ask for the paper certificate."
        ),
    ),
    "unknown_holder": (
        _l("Code no longer in use"),
        _l("The code is genuine but has been replaced. Ask the person to open their current code."),
    ),
    "photo_unreadable": (
        _l("Not a picture"),
        _l("The file could not be opened as a picture. Take the photo again."),
    ),
    "photo_no_code": (
        _l("No code in the photo"),
        _l(
            "No QR code was found in the photo. Take it again closer and sharper, or type the number."
        ),
    ),
    "number_format": (
        _l("Not an 8-digit number"),
        _l("The number under the code has 8 digits. Type it again."),
    ),
    "number_unknown": (
        _l("Number not found"),
        _l("No code shows this number now. Check the digits: the number changes every 10 minutes."),
    ),
    "number_ambiguous": (
        _l("Number shown by more than one code"),
        _l(
            "This number is on two codes this minute. Scan the QR instead, or wait a minute for a new number."
        ),
    ),
    "no_code": (
        _l("No code yet"),
        _l(
            "This person has registered but has not made a health declaration, so there is no code. Ask them to declare on their phone first."
        ),
    ),
    "no_match": (
        _l("No holder found"),
        _l(
            "No holder has this document number with this name. Check both; the person may need to register."
        ),
    ),
    "key_retired": (
        _l("Code signed by a retired key"),
        _l(
            "This code was signed by a key that is no longer in use. Ask the person to refresh their code; a paper code must be printed again."
        ),
    ),
    "key_not_yet_signing": (
        _l("Code dated before its key"),
        _l(
            "This code claims a time before the key that signed it was in use: it was back-dated. Do not accept it: ask for the current code, or check the document in the no-code lane."
        ),
    ),
    "bad_device_signature": (
        _l("Code copied to another phone"),
        _l(
            "This code was not made on the phone it was issued to: it may be a copy. Do not accept it; ask the person to open their own code, or check the document in the no-code lane."
        ),
    ),
    "stale_presentation": (
        _l("Old code: a screenshot?"),
        _l(
            "The phone made this code more than two minutes ago: it may be a screenshot. Ask the person to show the code live on their phone and scan again."
        ),
    ),
    "future_presentation": (
        _l("Code from the future"),
        _l(
            "The phone dated this code ahead of our clock. Ask the person to correct the phone's clock and show the code again."
        ),
    ),
    "revoked": (
        _l("Code withdrawn"),
        _l(
            "This code was withdrawn: a paper code reported lost, or a code kept on a phone before the person's colour changed or the phone was removed. Ask for the current code (online), or check the document in the no-code lane."
        ),
    ),
    "paper_revoked": (
        _l("Paper code reported lost"),
        _l(
            "This paper code was reported lost and replaced by a new one. Do not accept it: ask for the current code, or check the document in the no-code lane."
        ),
    ),
    "paper_unknown": (
        _l("Unknown paper code"),
        _l(
            "No paper code with this serial was issued here. Ask for the current code, or check the document in the no-code lane."
        ),
    ),
    "issuer_inactive": (
        _l("Issuer no longer recognised"),
        _l(
            "This code comes from an issuer that is no longer on our trust list. Ask for a Gantong code, or check the document in the no-code lane."
        ),
    ),
    "issuer_expired": (
        _l("Issuer's recognition has ended"),
        _l(
            "This code comes from an issuer whose recognition period has ended. Ask for a Gantong code, or check the document in the no-code lane."
        ),
    ),
    "issuer_not_yet_valid": (
        _l("Issuer not recognised yet"),
        _l(
            "This code comes from an issuer whose recognition has not started yet. Ask for a Gantong code, or check the document in the no-code lane."
        ),
    ),
    "over_partner_cap": (
        _l("Partner code too old"),
        _l(
            "Codes of other issuers are accepted for a short time only after they are made: this one is older. Ask the person to refresh their code."
        ),
    ),
    "bundle_stale": (
        _l("Verifier keys too old"),
        _l(
            "This phone's copy of the keys is more than a day old, so it cannot check codes on its own. Connect to the network to refresh it, or use the typed number when the server is back."
        ),
    ),
    "needs_server": (
        _l("Needs the server"),
        _l(
            "The typed number and the no-code lane need the server, which cannot be reached now. Scan the QR code instead."
        ),
    ),
    "partner_paper": (
        _l("Paper code of another issuer"),
        _l(
            "A paper code from another issuer carries no colour, and we hold no record of its holder. Ask for their electronic code or a Gantong code."
        ),
    ),
}

# Where a record's position came from (the stored value of position_source).
POSITION_SOURCES = {"gps": _l("the phone's GPS"), "point": _l("the point's own position")}


def decision_label(decision: str | None) -> str:
    return kind_label(Decision, decision)


# What a temperature that will not do is told, on the server and by the page's own check.
TEMPERATURE_REQUIRED = _l("Enter the temperature.")
TEMPERATURE_RANGE = _l("A temperature is between 34.0 and 43.0 °C.")
TEMPERATURE_NOT_A_NUMBER = _l("Type the temperature as a number, such as 36.5.")


def temperature_checks() -> dict:
    """The bounds and the messages of the temperature, for the page's own check (queue.js)."""
    return {
        "min": rules.TEMPERATURE_MIN,
        "max": rules.TEMPERATURE_MAX,
        "required": str(TEMPERATURE_REQUIRED),
        "range": str(TEMPERATURE_RANGE),
        "number": str(TEMPERATURE_NOT_A_NUMBER),
    }


def record_decision(record) -> str:
    """The decision a record stores, in words; a pass that overrode a yellow or red code names
    that colour, so no page shows it as an ordinary pass."""
    if not record.pass_override:
        return decision_label(record.decision)
    overridden = Colour.worst(c for c in (record.token_colour, record.colour) if c)
    return _("Pass despite %(colour)s (override)", colour=colour_word(overridden))


def pass_needs_override() -> str:
    """What a pass for a yellow or red code without the override is told."""
    return _(
        "The code is yellow or red: to let the person through, tick “Let the person through "
        "despite the yellow or red code”; otherwise refer or deny."
    )


def decision_choices() -> list[tuple[str, str]]:
    return kind_choices(Decision)


def check_method(method: str | None) -> str:
    return kind_label(CheckMethod, method)


def position_source(source: str | None) -> str:
    return str(POSITION_SOURCES.get(source, source or ""))


def refusal_title(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[0])


def refusal_advice(reason: str) -> str:
    return str(REFUSALS.get(reason, REFUSALS["malformed"])[1])


def refusal_texts() -> dict:
    """The title and advice of every refusal, for a page's own verifier (by its reasons)."""
    texts = {reason: [refusal_title(reason), refusal_advice(reason)] for reason in REFUSALS}
    texts["bundle_invalid"] = texts["bundle_stale"]
    return texts


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(
        decision_label=decision_label,
        record_decision=record_decision,
        pass_needs_override=pass_needs_override,
        temperature_checks=temperature_checks,
        refusal_title=refusal_title,
        refusal_advice=refusal_advice,
        Decision=Decision,
        CheckMethod=CheckMethod,
        REFER_COLOURS=sorted(rules.REFER_COLOURS),
    )
