"""The offline verifier: a token checked against a verifier bundle alone (docs/token-format.md).

This is the reference implementation of the contract's section "Verifying with a bundle";
static/js/verifier.js implements the same steps, and both are run against
docs/token-vectors.json. Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from gantong.core import tokens

BUNDLE_FORMAT = "gantong-verifier-bundle/1"

# Every reason a bundle verifier returns, in the order the checks run.
REASONS = (
    "bundle_invalid",
    "bundle_stale",
    "malformed",
    "unknown_key",
    "bad_signature",
    "key_retired",
    "key_not_yet_signing",
    "issuer_not_yet_valid",
    "issuer_expired",
    "partner_paper",
    "not_yet_valid",
    "expired",
    "over_partner_cap",
    "revoked",
)

_KID = re.compile(r"[0-9a-f]{8}")


@dataclass(frozen=True)
class Verdict:
    """What the verifier says: ok with the token, or the reason it refused."""

    ok: bool
    reason: str | None = None
    token: tokens.Token | None = None
    # The colour to show: the token's for a screen code, the bundle's for a paper code (None when
    # the bundle does not list paper colours, e.g. the public bundle), None when refused.
    colour: str | None = None
    issuer: str | None = None  # the partner's name, None for our own codes


def _refuse(reason: str, token: tokens.Token | None = None) -> Verdict:
    return Verdict(ok=False, reason=reason, token=token)


def _public_key(entry: Mapping):
    return tokens.public_key_from_jwk({"kty": "OKP", "crv": "Ed25519", "x": entry.get("x")})


def _int_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def check_bundle(bundle: object) -> bool:
    """Return whether the bundle has the members a verifier needs, of the right types."""
    if not isinstance(bundle, Mapping) or bundle.get("format") != BUNDLE_FORMAT:
        return False
    for name in ("issued_at", "refresh_after", "refuse_after"):
        if not isinstance(bundle.get(name), int):
            return False
    skew = bundle.get("max_clock_skew", tokens.MAX_CLOCK_SKEW)
    if not isinstance(skew, int) or isinstance(skew, bool) or skew < 0:
        return False
    for group in ("keys", "partners", "revoked"):
        if not isinstance(bundle.get(group), list):
            return False
    for entry in bundle["keys"] + bundle["partners"]:
        if not isinstance(entry, Mapping) or not _KID.fullmatch(str(entry.get("kid", ""))):
            return False
        if not isinstance(entry.get("x"), str):
            return False
        if not _int_or_none(entry.get("not_before")) or not _int_or_none(entry.get("not_after")):
            return False
    if not all(_int_or_none(entry.get("signs_from")) for entry in bundle["keys"]):
        return False
    for entry in bundle["partners"]:
        if not isinstance(entry.get("max_ttl"), int) or entry["max_ttl"] <= 0:
            return False
    for entry in bundle["revoked"]:
        if (
            not isinstance(entry, Mapping)
            or not isinstance(entry.get("id"), str)
            or not _int_or_none(entry.get("from"))
        ):
            return False
    colours = bundle.get("paper_colours")
    return colours is None or (
        isinstance(colours, Mapping)
        and all(value in (tokens.YELLOW, tokens.RED) for value in colours.values())
    )


def verify(text: str, bundle: Mapping, now: int) -> Verdict:
    """Check a token's text against the bundle at ``now`` (Unix seconds); never raises."""
    if not check_bundle(bundle):
        return _refuse("bundle_invalid")
    if now >= bundle["refuse_after"]:
        return _refuse("bundle_stale")
    try:
        claimed = tokens.decode(text)
    except tokens.TokenError as error:
        return _refuse(error.reason)
    own = next((entry for entry in bundle["keys"] if entry["kid"] == claimed.kid), None)
    partner = (
        None
        if own
        else next((entry for entry in bundle["partners"] if entry["kid"] == claimed.kid), None)
    )
    entry = own or partner
    if entry is None:
        return _refuse("unknown_key", claimed)
    try:
        public = _public_key(entry)
    except ValueError:
        return _refuse("bundle_invalid", claimed)
    try:
        token = tokens.verify_signature(text, public)
    except tokens.TokenError as error:
        return _refuse(error.reason, claimed)
    not_before, not_after = entry.get("not_before"), entry.get("not_after")
    skew = bundle.get("max_clock_skew", tokens.MAX_CLOCK_SKEW)
    if own:
        if not_after is not None and now >= not_after:
            return _refuse("key_retired", token)
        if tokens.issued_before_its_key(token, entry.get("signs_from"), not_before, skew):
            return _refuse("key_not_yet_signing", token)
    else:
        if not_before is not None and now < not_before:
            return _refuse("issuer_not_yet_valid", token)
        if not_after is not None and now >= not_after:
            return _refuse("issuer_expired", token)
        if token.type == tokens.PAPER:
            return _refuse("partner_paper", token)
    # A partner's cap counts from its stamp: it gets the narrower tolerance (max_ttl + 60 s at most).
    if token.issued_at - now > (min(skew, tokens.PARTNER_CLOCK_SKEW) if partner else skew):
        return _refuse("not_yet_valid", token)
    if now >= token.expires_at:
        return _refuse("expired", token)
    if partner and now >= token.issued_at + partner["max_ttl"]:
        return _refuse("over_partner_cap", token)
    for revoked in bundle["revoked"]:
        if revoked["id"] == token.subject and (
            revoked.get("from") is None or now >= revoked["from"]
        ):
            return _refuse("revoked", token)
    if token.type == tokens.SCREEN:
        colour = token.colour
    elif "paper_colours" in bundle and bundle["paper_colours"] is not None:
        colour = bundle["paper_colours"].get(token.subject, tokens.GREEN)
    else:
        colour = None
    return Verdict(
        ok=True, token=token, colour=colour, issuer=partner.get("name") if partner else None
    )
