"""The kinds the app stores and shows, each value written once with its label beside it.

Every member equals its string ("green" == Colour.GREEN), so stored rows, token bytes and JSON
stay what they were. A label is an untranslated message id marked with ``N_`` for extraction;
the web layer translates it where it is shown, since the core knows no Babel.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum


def N_(message: str) -> str:
    """Mark a message id for extraction and return it untranslated."""
    return message


class Labelled(StrEnum):
    """A stored value with the message id that names it: ``MEMBER = "value", N_("Label")``."""

    label: str

    def __new__(cls, value: str, label: str = ""):
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label or value
        return member

    @classmethod
    def labels(cls) -> dict[str, str]:
        """Return each value with its (untranslated) label, in the order of definition."""
        return {member.value: member.label for member in cls}


class Colour(Labelled):
    """A health code's colour, from the best to the worst."""

    GREEN = "green", N_("Green code")
    YELLOW = "yellow", N_("Yellow code")
    RED = "red", N_("Red code")

    @property
    def rank(self) -> int:
        """0 for green, 1 for yellow, 2 for red: a higher rank is a worse colour."""
        return _COLOUR_RANKS[self]

    @classmethod
    def worst(cls, colours: Iterable[str]) -> Colour:
        """Return the worst of ``colours``; green when there are none."""
        return max(
            (cls(colour) for colour in colours), key=lambda colour: colour.rank, default=cls.GREEN
        )


_COLOUR_RANKS = {colour: rank for rank, colour in enumerate(Colour)}


class Decision(Labelled):
    """What the volunteer decided at the checkpoint."""

    PASS = "pass", N_("Pass")
    REFER = "refer", N_("Refer to medical staff")
    DENY = "deny", N_("Deny entry")


class CheckMethod(Labelled):
    """How a checkpoint read the person's code (or found them without one)."""

    CAMERA = "camera", N_("camera")
    PHOTO = "photo", N_("photo")
    NUMBER = "number", N_("dynamic number")
    NO_CODE = "no_code", N_("document, no code")
    API = "api", N_("checkpoint device (API)")
    PAPER = "paper", N_("paper code")


class PointMode(Labelled):
    """What staff do at an information point with each code."""

    RECORD = "record", N_("Record: temperature and decision for each person")
    VERIFY = "verify", N_("Verify only: a full-screen verdict per scan, nothing to type")


class ApplicationState(Labelled):
    """Where a transcoding application stands."""

    PENDING = "pending", N_("Pending")
    APPROVED = "approved", N_("Approved")
    REJECTED = "rejected", N_("Rejected")
    WITHDRAWN = "withdrawn", N_("Withdrawn")


class ClaimState(Labelled):
    """Where a claim that a fact was wrong stands."""

    PENDING = "pending", N_("Pending")
    ACCEPTED = "accepted", N_("Accepted")
    REJECTED = "rejected", N_("Rejected")
    WITHDRAWN = "withdrawn", N_("Withdrawn")


class OfficialRecordState(Labelled):
    """Where an official case record stands: awaiting a second officer, in force or rejected."""

    PENDING = "pending", N_("Pending")
    IN_FORCE = "in_force", N_("In force")
    REJECTED = "rejected", N_("Rejected")


class AuditAction(Labelled):
    """What an audit event records; the value is the stable id that filters and exports use."""

    ACCOUNT_CREATE = "account.create", N_("account created")
    ACCOUNT_UPDATE = "account.update", N_("account changed")
    ACCOUNT_DEACTIVATE = "account.deactivate", N_("account deactivated")
    ACCOUNT_REACTIVATE = "account.reactivate", N_("account reactivated")
    ACCOUNT_PASSWORD_CHANGE = "account.password_change", N_("password changed")
    ACCOUNT_PASSWORD_RESET = "account.password_reset", N_("password reset")
    ACCOUNT_PASSWORD_RESET_BLOCKED = (
        "account.password_reset_blocked",
        N_("password reset blocked after wrong codes"),
    )
    ACCOUNT_CHANGE_CONFIRM = (
        "account.change_confirm",
        N_("account change confirmed by a second administrator"),
    )
    ACCOUNT_CHANGE_REJECT = (
        "account.change_reject",
        N_("account change rejected by a second administrator"),
    )
    CODE_ISSUE = "code.issue", N_("code issued")
    HOTLINE_SET = "hotline.set", N_("district hotline set")
    APPLICATION_CREATE = "application.create", N_("application filed")
    APPLICATION_WITHDRAW = "application.withdraw", N_("application withdrawn")
    APPLICATION_APPROVE = "application.approve", N_("application approved")
    APPLICATION_REJECT = "application.reject", N_("application rejected")
    CLAIM_CREATE = "claim.create", N_("claim filed")
    CLAIM_WITHDRAW = "claim.withdraw", N_("claim withdrawn")
    CLAIM_ACCEPT = "claim.accept", N_("claim accepted")
    CLAIM_REJECT = "claim.reject", N_("claim rejected")
    CHECKPOINT_VOID = "checkpoint.void", N_("checkpoint record voided")
    CHECKPOINT_NO_CODE_LOOKUP = "checkpoint.no_code_lookup", N_("looked up a person without a code")
    COLOUR_CHANGE = "colour.change", N_("code colour changed")
    EXPORT_VERIFICATION_RECORDS = "export.verification_records", N_("verification records exported")
    EXPORT_APPLICATIONS = "export.applications", N_("applications exported")
    HOLDER_CREATE = "holder.create", N_("person added")
    ISSUER_ADD = "issuer.add", N_("trusted issuer added")
    ISSUER_UPDATE = "issuer.update", N_("trusted issuer changed")
    ISSUER_ACTIVATE = "issuer.activate", N_("trusted issuer put back in use")
    ISSUER_DEACTIVATE = "issuer.deactivate", N_("trusted issuer taken out of use")
    KEY_ROTATE = "key.rotate", N_("signing key rotated")
    KEY_PREPARE = "key.prepare", N_("next signing key published")
    KEY_RETIRE = "key.retire", N_("signing key retired")
    OFFICIAL_RECORD = "official.record", N_("official record entered")
    OFFICIAL_APPROVE = "official.approve", N_("official record approved")
    OFFICIAL_REJECT = "official.reject", N_("official record rejected")
    PAPER_ISSUE = "paper.issue", N_("paper code issued")
    PAPER_REVOKE = "paper.revoke", N_("paper code revoked")
    IDENTITY_CHECK = "identity.check", N_("identity checked in person")
    IDENTITY_CONFIRM = "identity.confirm", N_("identity check confirmed by a second officer")
    IDENTITY_REJECT = "identity.reject", N_("identity check rejected")
    DECLARATION_VOID = "declaration.void", N_("declaration voided")
    HOLDER_MOVE = "holder.move", N_("code moved to the person's own account")
    ACCOUNT_FLAG = "account.flag", N_("account flagged")
    DEVICE_REGISTER = "device.register", N_("phone registered for the code")
    DEVICE_REMOVE = "device.remove", N_("phone removed")
    POINT_CREATE = "point.create", N_("information point added")
    POINT_UPDATE = "point.update", N_("information point changed")
    POINT_DEACTIVATE = "point.deactivate", N_("information point taken out of use")
    POINT_REACTIVATE = "point.reactivate", N_("information point put back in use")
    POINT_API_TOKEN_CREATE = "point.api_token.create", N_("API token made")
    POINT_API_TOKEN_REVOKE = "point.api_token.revoke", N_("API token revoked")
    LAB_CREATE = "lab.create", N_("lab added")
    LAB_API_TOKEN_CREATE = "lab.api_token.create", N_("lab API token made")
    LAB_API_TOKEN_REVOKE = "lab.api_token.revoke", N_("lab API token revoked")
    LAB_RESULTS_POST = "lab.results_post", N_("lab results received")
    DCC_SIGNER_ADD = "dcc_signer.add", N_("EU DCC signer added")
    DCC_SIGNER_ACTIVATE = "dcc_signer.activate", N_("EU DCC signer put back in use")
    DCC_SIGNER_DEACTIVATE = "dcc_signer.deactivate", N_("EU DCC signer taken out of use")
    SHC_ISSUER_ADD = "shc_issuer.add", N_("SMART Health Card issuer added")
    SHC_ISSUER_REFRESH = "shc_issuer.refresh", N_("SMART Health Card issuer's keys fetched")
    SHC_ISSUER_ACTIVATE = "shc_issuer.activate", N_("SMART Health Card issuer put back in use")
    SHC_ISSUER_DEACTIVATE = "shc_issuer.deactivate", N_("SMART Health Card issuer taken out of use")
    PREENTRY_CERTIFICATE = "preentry.certificate", N_("international certificate attached")
    PREENTRY_REGISTER = "preentry.register", N_("pre-entry registration")
    PREENTRY_ARRIVAL = "preentry.arrival", N_("arrival noted")
    RETENTION_PURGE = "retention.purge", N_("expired records purged")
    RISK_AREA_CREATE = "risk_area.create", N_("key area added")
    RISK_AREA_UPDATE = "risk_area.update", N_("key area changed")
    VENUE_CREATE = "venue.create", N_("venue added")
    VENUE_CODE = "venue.code", N_("venue code issued")
    VENUE_CODE_REVOKE = "venue.code_revoke", N_("venue code revoked")
    VENUE_TRACE = "venue.trace", N_("venue visitors traced")
    VENUE_TRACE_CASE = "venue.trace_case", N_("a case's venues looked up")
    VENUE_FILE_CONTACTS = "venue.file_contacts", N_("venue visitors filed as contacts")
    VENUE_RISK = "venue.risk", N_("venue marked a risk area for a window")
    VENUE_RISK_END = "venue.risk_end", N_("venue risk window taken back")
