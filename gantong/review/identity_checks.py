"""Identity check in person: the remedy when someone else registered a person's document.

Anyone can add a stranger's document (a valid check digit is all it takes) to their account and
declare for them. At the service desk an officer of the person's district holds the physical
document, records what they saw, and asks that the code move to the person's own account (one
they log into, or a new one for their phone) and that the declarations other accounts made for
them be voided. Nothing happens until a second, different officer of the district confirms:
the move hands the code to an account that can declare for it, so one officer alone could
otherwise move a person into an account they hold and make them red. On confirmation the
declarations are voided (kept, shown, never counted), the person is moved, the accounts that
held them or declared for them are flagged, and the colour is recomputed.
"""

from __future__ import annotations

from datetime import datetime

from gantong import audit
from gantong.admin.staff_accounts import one_time_password
from gantong.auth import accounts
from gantong.extensions import db
from gantong.holders import registry, sms
from gantong.models import Declaration, Holder, IdentityCheck, User, utcnow
from gantong.review import decisions
from gantong.review.decisions import NotPending, OutOfDistrict, ReasonRequired  # noqa: F401 (callers catch them from here)

PENDING, DONE, REJECTED = "pending", "done", "rejected"


class DocumentMismatch(Exception):
    """The document the officer holds is not the one the code was registered with."""


class WorkAccount(Exception):
    """The number belongs to a staff, officer or administrator account, which holds no people."""


class CheckPending(Exception):
    """The holder has an identity check waiting for a second officer already."""


class NotVoidable(Exception):
    """A declaration named is not the holder's, is voided already, or is an officer's."""


class SelfConfirmation(Exception):
    """The officer who checked the document may not confirm their own check."""


def voidable(holder: Holder) -> list[Declaration]:
    """The holder's declarations an identity check may void: those in force made by an account,
    not an officer's correction, newest first."""
    authors = {
        user.id: user
        for user in db.session.scalars(
            db.select(User).where(
                User.id.in_({d.author_id for d in holder.declarations if d.author_id})
            )
        )
    }
    return [
        declaration
        for declaration in reversed(holder.declarations)
        if declaration.voided_at is None
        and (
            declaration.author_id is None
            or authors.get(declaration.author_id) is None
            or authors[declaration.author_id].role == "resident"
        )
    ]


def pending_for(holder: Holder) -> IdentityCheck | None:
    query = db.select(IdentityCheck).where(
        IdentityCheck.holder_id == holder.id, IdentityCheck.state == PENDING
    )
    return db.session.scalar(query)


def record(
    holder: Holder,
    officer: User,
    doc_type_seen: str,
    doc_number_seen: str,
    to_phone: str,
    void_ids: list[int],
    now: datetime | None = None,
) -> IdentityCheck:
    """Record that `officer` checked the person's document in person, and ask for the move to
    the account of `to_phone` and the voiding of `void_ids`; pending until a second officer."""
    moment = now or utcnow()
    decisions.check_officer(officer, holder)
    if (doc_type_seen, doc_number_seen) != (holder.doc_type, holder.doc_number):
        raise DocumentMismatch()
    target = accounts.find_by_phone(to_phone)
    if target is not None and target.role != "resident":
        raise WorkAccount()
    registry.lock(holder)
    if pending_for(holder) is not None:
        raise CheckPending()
    allowed = {declaration.id for declaration in voidable(holder)}
    if not set(void_ids) <= allowed:
        raise NotVoidable()
    check = IdentityCheck(
        holder_id=holder.id,
        checked_by=officer.id,
        checked_at=moment,
        doc_type_seen=doc_type_seen,
        doc_number_seen=doc_number_seen,
        from_account_id=holder.account_id,
        to_phone=to_phone,
        void_ids=",".join(str(number) for number in sorted(set(void_ids))),
        state=PENDING,
    )
    db.session.add(check)
    db.session.flush()
    # Ids only: the document number and the declarations stay out of the trail.
    audit.append(
        "identity.check",
        "identity_check",
        check.id,
        actor=officer,
        after={"state": PENDING, "holder_id": holder.id, "doc_type": doc_type_seen},
        at=moment,
    )
    db.session.flush()
    return check


def confirm(
    check: IdentityCheck, officer: User, reason: str, now: datetime | None = None
) -> IdentityCheck:
    """A second officer of the district confirms: void, move, flag, recompute the colour."""
    moment = now or utcnow()
    reason = decisions.required_reason(reason)
    holder = check.holder
    decisions.check_officer(officer, holder)
    if officer.id == check.checked_by:
        raise SelfConfirmation()
    decisions.lock_pending(check, "state")
    target = _own_account(check.to_phone, officer, moment)
    before_account = holder.account_id
    voided = _void(check, target, officer, reason, moment)
    if before_account != target.id:
        _move(holder, target, officer, moment)
    suspects = {before_account} | {declaration.author_id for declaration in voided}
    for account_id in sorted(suspects - {None, target.id}):
        _flag(db.session.get(User, account_id), check, officer, moment)
    check.state = DONE
    check.to_account_id = target.id
    check.decided_by = officer.id
    check.decided_at = moment
    check.decision_reason = reason
    audit.append(
        "identity.confirm",
        "identity_check",
        check.id,
        actor=officer,
        before={"state": PENDING, "account_id": before_account},
        after={
            "state": DONE,
            "account_id": target.id,
            "voided": [declaration.id for declaration in voided],
        },
        reason=reason,
        at=moment,
    )
    db.session.flush()
    registry.store_colour(holder, moment, actor=officer, reason=reason)
    db.session.flush()
    return check


def reject(
    check: IdentityCheck, officer: User, reason: str, now: datetime | None = None
) -> IdentityCheck:
    """Reject a pending check (its author may too: withdrawing a mistake); nothing changes."""
    moment = now or utcnow()
    reason = decisions.required_reason(reason)
    decisions.check_officer(officer, check.holder)
    decisions.lock_pending(check, "state")
    check.state = REJECTED
    check.decided_by = officer.id
    check.decided_at = moment
    check.decision_reason = reason
    audit.append(
        "identity.reject",
        "identity_check",
        check.id,
        actor=officer,
        before={"state": PENDING},
        after={"state": REJECTED},
        reason=reason,
        at=moment,
    )
    db.session.flush()
    return check


def _own_account(phone: str, officer: User, moment: datetime) -> User:
    """The person's account: the one of this number, or a new one whose one-time password goes
    by SMS to the number itself (never to the officer's screen)."""
    target = accounts.find_by_phone(phone)
    if target is not None:
        if target.role != "resident":
            raise WorkAccount()
        return target
    password = one_time_password()
    target = accounts.register(phone, password)
    target.must_change_password = True
    db.session.flush()
    audit.append("account.create", "user", target.id, actor=officer, after={"role": "resident"})
    sms.send(
        phone,
        f"【赣通码】Gantong Code: {password} (one-time password of the account an officer opened "
        "for your code; change it at first login / 工作人员为您开设的账号一次性密码，首次登录须修改)",
    )
    return target


def _void(
    check: IdentityCheck, target: User, officer: User, reason: str, moment: datetime
) -> list[Declaration]:
    # What the first officer chose, and whatever another account declared for the person while
    # the check waited: no officer saw it, and the proxy must not keep the person red that way.
    wanted = set(check.declaration_ids)
    voided = [
        declaration
        for declaration in voidable(check.holder)
        if declaration.id in wanted
        or (declaration.made_at >= check.checked_at and declaration.author_id != target.id)
    ]
    for declaration in voided:
        declaration.voided_at = moment
        declaration.voided_by = officer.id
        declaration.void_reason = reason
        audit.append(
            "declaration.void",
            "declaration",
            declaration.id,
            actor=officer,
            after={"identity_check_id": check.id, "holder_id": check.holder_id},
            reason=reason,
            at=moment,
        )
    return voided


def _move(holder: Holder, target: User, officer: User, moment: datetime) -> None:
    source = db.session.get(User, holder.account_id) if holder.account_id else None
    has_self = any(person.is_self for person in target.holders)
    holder.account_id = target.id
    holder.is_self = not has_self
    holder.relation = registry.RELATION_SELF if not has_self else registry.RELATION_OTHER
    db.session.flush()
    for account in (source, target):
        if account is not None:
            db.session.expire(account, ["holders"])
    audit.append(
        "holder.move",
        "holder",
        holder.id,
        actor=officer,
        before={"account_id": source.id if source else None},
        after={"account_id": target.id},
        at=moment,
    )


def _flag(account: User | None, check: IdentityCheck, officer: User, moment: datetime) -> None:
    if account is None or account.role != "resident" or account.flagged_at is not None:
        return
    account.flagged_at = moment
    account.flag_reason = f"identity_check:{check.id}"
    audit.append(
        "account.flag",
        "user",
        account.id,
        actor=officer,
        after={"identity_check_id": check.id},
        at=moment,
    )


def for_district(district: str, state: str = PENDING) -> list[IdentityCheck]:
    """The district's identity checks in one state, oldest first (the second officer's list)."""
    query = (
        db.select(IdentityCheck)
        .join(Holder, Holder.id == IdentityCheck.holder_id)
        .where(Holder.district_code == district, IdentityCheck.state == state)
        .order_by(IdentityCheck.checked_at, IdentityCheck.id)
    )
    return list(db.session.scalars(query))


def for_holder(holder: Holder) -> list[IdentityCheck]:
    query = (
        db.select(IdentityCheck)
        .where(IdentityCheck.holder_id == holder.id)
        .order_by(IdentityCheck.id.desc())
    )
    return list(db.session.scalars(query))


def find_by_document(district: str, doc_type: str, doc_number: str) -> Holder | None:
    """The district's holder registered with this document, or None."""
    query = db.select(Holder).where(
        Holder.district_code == district,
        Holder.doc_type == doc_type,
        Holder.doc_number == doc_number,
    )
    return db.session.scalar(query)
