"""The offline verifier: a token checked against a verifier bundle alone (docs/token-format.md).

This is the reference implementation of the contract's section "Verifying with a bundle";
static/js/verifier.js implements the same steps, and both are run against
docs/token-vectors.json. Pure: no Flask, no database.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from gantong.core import credentials, tokens

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
    # Presentations only (docs/token-format.md, 8.7).
    "bad_device_signature",
    "future_presentation",
    "stale_presentation",
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
    # A presentation's credential (token then None), with its id.
    credential: credentials.Credential | None = None
    credential_id: str | None = None


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
    age = bundle.get("max_presentation_age", credentials.DEFAULT_MAX_AGE)
    if not isinstance(age, int) or isinstance(age, bool) or age <= 0:
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


@lru_cache(maxsize=4)
def _revoked_values(count: object, p: object, text: object) -> tuple[int, ...] | None:
    """The decoded set, once per bundle content; None when the member is invalid."""
    try:
        return tuple(credentials.gcs_decode({"n": count, "p": p, "gcs": text}))
    except ValueError:
        return None


def _revocations(bundle: Mapping) -> tuple[Mapping, tuple[int, ...]] | None:
    member = bundle.get("revoked_credentials")
    if not isinstance(member, Mapping):
        return None
    key = (member.get("n"), member.get("p"), member.get("gcs"))
    try:
        values = _revoked_values(*key)
    except TypeError:  # an unhashable member: a list or an object
        return None
    return (member, values) if values is not None else None


def verify_presentation(text: str, bundle: Mapping, now: int) -> Verdict:
    """Check a presentation's text against the bundle at ``now`` (8.7); never raises."""
    revocations = _revocations(bundle) if check_bundle(bundle) else None
    if revocations is None:
        return _refuse("bundle_invalid")
    if now >= bundle["refuse_after"]:
        return _refuse("bundle_stale")
    try:
        presentation = credentials.decode(text)
    except credentials.CredentialError as error:
        return _refuse(error.reason)
    credential = presentation.credential
    entry = next((key for key in bundle["keys"] if key["kid"] == credential.kid), None)
    if entry is None:
        return _refuse("unknown_key")
    try:
        public = _public_key(entry)
    except ValueError:
        return _refuse("bundle_invalid")
    try:
        credentials.verify_credential(presentation.credential_bytes, public)
    except credentials.CredentialError as error:
        return _refuse(error.reason)
    skew = bundle.get("max_clock_skew", tokens.MAX_CLOCK_SKEW)
    if entry.get("not_after") is not None and now >= entry["not_after"]:
        return _refuse("key_retired")
    start = (
        entry.get("signs_from") if entry.get("signs_from") is not None else entry.get("not_before")
    )
    if start is not None and credential.valid_from < start - skew:
        return _refuse("key_not_yet_signing")
    if not credentials.device_signature_ok(presentation):
        return _refuse("bad_device_signature")
    try:
        credentials.check_time(
            presentation,
            now,
            skew,
            bundle.get("max_presentation_age", credentials.DEFAULT_MAX_AGE),
        )
    except credentials.CredentialError as error:
        return _refuse(error.reason)
    if credentials.revoked_in(presentation.credential_id, *revocations):
        return _refuse("revoked")
    return Verdict(
        ok=True,
        colour=credential.colour,
        credential=credential,
        credential_id=presentation.credential_id,
    )


def verify(text: str, bundle: Mapping, now: int) -> Verdict:
    """Check a token's or a presentation's text against the bundle at ``now`` (Unix seconds);
    never raises."""
    if credentials.is_presentation(text):
        return verify_presentation(text, bundle, now)
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
