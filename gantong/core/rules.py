"""The colour rules: a code holder's colour from their facts at a given time.

Pure functions over plain data, so that views, the recompute job and the tests all
get the same answer; nothing here knows Flask or the database.
"""

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from gantong.core.kinds import Colour, Decision

SHANGHAI = ZoneInfo("Asia/Shanghai")

GREEN, YELLOW, RED = Colour.GREEN, Colour.YELLOW, Colour.RED
COLOUR_ORDER = {colour: colour.rank for colour in Colour}

QUARANTINE_DAYS = 14
FEVER_THRESHOLD = 37.3
# The temperatures a checkpoint record takes (°C): outside them it is a typing mistake.
TEMPERATURE_MIN, TEMPERATURE_MAX = 34.0, 43.0

SYMPTOMS = (
    "fever",
    "dry_cough",
    "fatigue",
    "sore_throat",
    "short_breath",
    "taste_smell_loss",
)
CASE_STATUSES = frozenset({"confirmed", "suspected"})
OFFICIAL_STATUSES = ("confirmed", "suspected", "close_contact", "cleared")
# The record a fact came from, which a reason names as its source with the day it was made.
DECLARATION, REGISTRATION = "declaration", "registration"  # the holder's; a pre-entry's
OFFICIAL, CHECKPOINT_FEVER = "official", "checkpoint_fever"
CHECKPOINT_ARRIVAL, OFFICER_ARRIVAL = "checkpoint_arrival", "officer_arrival"
# How the actual arrival became known (PreEntry.arrival_source) and the record that names it.
ARRIVAL_RECORDS = {"checkpoint": CHECKPOINT_ARRIVAL, "officer": OFFICER_ARRIVAL}
# A lab's positive result, put in force by an officer (the lab is the source).
LAB_RESULT = "lab_result"
NEGATIVE, POSITIVE = "negative", "positive"
RULES = (
    "case",
    "close_contact",
    "symptoms",
    "checkpoint_fever",
    "risk_area",
    "overseas_entry",
)


@dataclass(frozen=True)
class Stay:
    """A declared stay in a province, city or county in the last 14 days."""

    place_code: str
    start: date
    end: date


@dataclass(frozen=True)
class Declaration:
    """One health declaration as the holder made it; never edited in place."""

    id: int
    made_at: datetime
    symptoms: frozenset[str]
    close_contact: bool
    contact_date: date | None
    stays: tuple[Stay, ...] = ()
    entry_date: date | None = None
    entry_port: str | None = None
    # DECLARATION, or REGISTRATION for the one a pre-entry registration wrote.
    record: str = DECLARATION


@dataclass(frozen=True)
class RiskArea:
    """A key area: a division code, its quarantine days and the dates it is one."""

    code: str
    name: str
    days: int = QUARANTINE_DAYS
    active_from: date | None = None
    active_to: date | None = None


@dataclass(frozen=True)
class CheckpointFever:
    """A temperature taken at a checkpoint."""

    id: int
    at: datetime
    point: str
    temperature: float
    voided: bool = False


@dataclass(frozen=True)
class OfficialRecord:
    """An approved official case status."""

    id: int
    status: str
    at: datetime
    contact_date: date | None = None
    basis: str = ""
    department: str = ""
    # Set when the record puts a lab's positive result in force: the lab is the source.
    lab: str = ""
    sampled_at: datetime | None = None


@dataclass(frozen=True)
class TestResult:
    """A verified test result: from a lab's post or a verified certificate (`source`)."""

    id: int
    source: str  # lab, certificate
    issuer: str  # the lab's name or the certificate's issuer
    test_type: str  # pcr, antigen
    result: str  # negative, positive
    sampled_at: datetime
    signed: bool = False


@dataclass(frozen=True)
class Policy:
    """What a province's rules make of test results (a deployment's settings).

    `citable_hours`: a negative sampled at most this many hours ago may back a transcoding
    application instead of typed test text. `release_test_hours`: when above 0, a pre-entry
    quarantine ends only with a negative sampled within this many hours before its end.
    """

    citable_hours: int = 72
    release_test_hours: int = 0


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class Facts:
    """Everything known about one holder that bears on the colour."""

    declarations: tuple[Declaration, ...] = ()
    fevers: tuple[CheckpointFever, ...] = ()
    official_records: tuple[OfficialRecord, ...] = ()
    cleared: frozenset[str] = frozenset()
    # Keys of hits whose fact an accepted claim found wrong: they never applied, so they end
    # at once, whatever their own end condition (a close contact that never happened).
    retracted: frozenset[str] = frozenset()
    arrival_date: date | None = None
    # How arrival_date became known: "checkpoint" (the first scan) or "officer" (confirmed),
    # and the day it was recorded.
    arrival_source: str | None = None
    arrival_noted_on: date | None = None
    test_results: tuple[TestResult, ...] = ()


@dataclass(frozen=True)
class Hit:
    """One reason for a colour, keyed by the rule and the fact it came from."""

    key: str
    rule: str
    colour: str
    params: dict
    source: str
    since: date
    until: date | None
    needs_transcoding: bool
    # The record the fact came from (DECLARATION, OFFICIAL...) and the day it was made, which
    # is not `since` (a contact on 30 Nov declared on 7 Dec starts on the 30th).
    record: str = ""
    recorded_on: date | None = None


@dataclass(frozen=True)
class Result:
    """The colour and the active hits behind it, worst first."""

    colour: str
    hits: tuple[Hit, ...]
    # The verified test result sampled last, which the code page shows with its age.
    latest_test: TestResult | None = None

    def turns_green_on(self) -> date | None:
        """Return the day the code turns green with no action, or None if it won't."""
        if not self.hits:
            return None
        if any(hit.until is None or hit.needs_transcoding for hit in self.hits):
            return None
        return max(hit.until for hit in self.hits)


def local_date(moment: datetime) -> date:
    """Return the Asia/Shanghai date of an aware datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive time would be read in the server's zone and could shift the day.
        raise ValueError("local_date needs an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def day_start(day: date) -> datetime:
    """Return the first instant of an Asia/Shanghai day."""
    return datetime.combine(day, time(), SHANGHAI)


def ends_after(start: date, days: int = QUARANTINE_DAYS) -> date:
    """Return the first day no longer inside the `days` days after `start`."""
    return start + timedelta(days=days)


def worst_colour(colours: Iterable[str]) -> Colour:
    """Return the worst of the colours, green when there are none."""
    return Colour.worst(colours)


# The colours that are not let through by default: the volunteer refers the person. A pass for
# one of them is the volunteer's explicit override of the colour, and the record names it.
REFER_COLOURS = frozenset({YELLOW, RED})


class PassNeedsOverride(ValueError):
    """A pass was chosen for a yellow or red code without saying that it overrides the colour."""


def decision_for(temperature: float, colour: str | None = None) -> Decision:
    """Return the decision when the volunteer chose none: a pass only for a green code (or one
    whose colour is unknown) without a fever, else refer to medical staff."""
    if temperature >= FEVER_THRESHOLD or colour in REFER_COLOURS:
        return Decision.REFER
    return Decision.PASS


def record_decision(
    chosen: str | None, temperature: float, colour: str | None, override: bool
) -> tuple[Decision, bool]:
    """Return the decision to store and whether it is a pass that overrides the code's colour.

    Unchosen, the decision follows decision_for, or is a pass when the override was ticked (the
    override is itself the choice). A pass for a yellow or red code without the override raises
    PassNeedsOverride: it is never stored as an ordinary pass. The override of any other
    decision, or of a green code, is no override.
    """
    if not chosen:
        chosen = Decision.PASS if override else decision_for(temperature, colour)
    decision = Decision(chosen)
    overrides = decision is Decision.PASS and colour in REFER_COLOURS
    if overrides and not override:
        raise PassNeedsOverride(colour)
    return decision, overrides


def decision_for_colour(colour: str | None) -> Decision:
    """Return the decision a verify-only point records for the colour it showed: only green
    passes; yellow, red or a colour the gate could not tell are referred to medical staff."""
    return Decision.PASS if colour == Colour.GREEN else Decision.REFER


def latest_result(results: Iterable[TestResult]) -> TestResult | None:
    """Return the result sampled last (the later id breaks a tie), or None."""
    return max(results, key=lambda result: (result.sampled_at, result.id), default=None)


def citable_results(
    results: Iterable[TestResult],
    now: datetime,
    policy: Policy = DEFAULT_POLICY,
    after: datetime | None = None,
) -> list[TestResult]:
    """Return the negatives that may back a transcoding application at `now`, newest first:
    sampled within the policy's hours, not in the future, and after `after` (the reasons to
    clear began) when given."""
    earliest = now - timedelta(hours=policy.citable_hours)
    if after is not None:
        earliest = max(earliest, after)
    chosen = [
        result
        for result in results
        if result.result == NEGATIVE and earliest <= result.sampled_at <= now
    ]
    return sorted(chosen, key=lambda result: (result.sampled_at, result.id), reverse=True)


def has_release_test(facts: Facts, release: date, policy: Policy) -> bool:
    """Whether a negative was sampled within the policy's hours before `release` (the first
    day out of quarantine) begins; always true when the policy asks for none."""
    if policy.release_test_hours <= 0:
        return True
    start = day_start(release)
    earliest = start - timedelta(hours=policy.release_test_hours)
    return any(
        result.result == NEGATIVE and earliest <= result.sampled_at for result in facts.test_results
    )


def evaluate(
    facts: Facts, risk_areas: Sequence[RiskArea], now: datetime, policy: Policy = DEFAULT_POLICY
) -> Result:
    """Return the holder's colour and active hits at `now`."""
    today = local_date(now)
    hits = [
        *_case_hits(facts),
        *_close_contact_hits(facts, today),
        *_symptom_hits(facts),
        *_fever_hits(facts),
        *_risk_area_hits(facts, risk_areas, today),
        *_overseas_entry_hits(facts, today, policy),
    ]
    hits = [hit for hit in hits if hit.key not in facts.retracted]
    hits.sort(key=lambda hit: (-Colour(hit.colour).rank, hit.since, hit.key))
    return Result(
        colour=worst_colour(hit.colour for hit in hits),
        hits=tuple(hits),
        latest_test=latest_result(facts.test_results),
    )


def _cleared_after(facts: Facts, moment: datetime) -> bool:
    # Strictly later: a "cleared" entered in the same instant is ambiguous, and the
    # safe reading keeps the code red until someone records it again.
    return any(
        record.status == "cleared" and record.at > moment for record in facts.official_records
    )


def _case_hits(facts: Facts) -> Iterator[Hit]:
    for record in facts.official_records:
        if record.status not in CASE_STATUSES or _cleared_after(facts, record.at):
            continue
        params = {"status": record.status, "basis": record.basis, "department": record.department}
        if record.lab:
            # A lab's positive, put in force by an officer: the lab and its sample are the source.
            params |= {"lab": record.lab, "sampled_at": record.sampled_at}
        yield Hit(
            key=f"case:official:{record.id}",
            rule="case",
            colour=RED,
            params=params,
            source="lab" if record.lab else "official",
            since=local_date(record.at),
            until=None,
            needs_transcoding=False,
            record=LAB_RESULT if record.lab else OFFICIAL,
            recorded_on=local_date(record.sampled_at if record.lab else record.at),
        )


def _close_contact_hit(
    key: str,
    contact: date,
    source: str,
    params: dict,
    facts: Facts,
    today: date,
    recorded: tuple[str, date],
) -> Hit | None:
    until = ends_after(contact)
    # Both must hold to end it: 14 days have passed and a negative test was approved.
    if today >= until and key in facts.cleared:
        return None
    return Hit(
        key=key,
        rule="close_contact",
        colour=RED,
        params={"contact_date": contact, **params},
        source=source,
        since=contact,
        until=until,
        needs_transcoding=True,
        record=recorded[0],
        recorded_on=recorded[1],
    )


def _close_contact_hits(facts: Facts, today: date) -> Iterator[Hit]:
    for declaration in facts.declarations:
        if not declaration.close_contact:
            continue
        # A contact declared without a date is taken as that day, not as long ago.
        contact = declaration.contact_date or local_date(declaration.made_at)
        hit = _close_contact_hit(
            f"close_contact:decl:{declaration.id}",
            contact,
            "declaration",
            {},
            facts,
            today,
            (declaration.record, local_date(declaration.made_at)),
        )
        if hit is not None:
            yield hit
    for record in facts.official_records:
        if record.status != "close_contact" or _cleared_after(facts, record.at):
            continue
        hit = _close_contact_hit(
            f"close_contact:official:{record.id}",
            record.contact_date or local_date(record.at),
            "official",
            {"basis": record.basis, "department": record.department},
            facts,
            today,
            (OFFICIAL, local_date(record.at)),
        )
        if hit is not None:
            yield hit


def _symptom_order(symptom: str) -> tuple[int, str]:
    known = symptom in SYMPTOMS
    return (SYMPTOMS.index(symptom) if known else len(SYMPTOMS), symptom)


def _symptom_hits(facts: Facts) -> Iterator[Hit]:
    # Each declaration keeps its own hit: leaving a symptom out later is not a cure.
    for declaration in facts.declarations:
        key = f"symptoms:decl:{declaration.id}"
        if not declaration.symptoms or key in facts.cleared:
            continue
        yield Hit(
            key=key,
            rule="symptoms",
            colour=YELLOW,
            params={"symptoms": sorted(declaration.symptoms, key=_symptom_order)},
            source="declaration",
            since=local_date(declaration.made_at),
            until=None,
            needs_transcoding=True,
            record=declaration.record,
            recorded_on=local_date(declaration.made_at),
        )


def _fever_hits(facts: Facts) -> Iterator[Hit]:
    for fever in facts.fevers:
        key = f"checkpoint_fever:fever:{fever.id}"
        if fever.temperature < FEVER_THRESHOLD or fever.voided or key in facts.cleared:
            continue
        yield Hit(
            key=key,
            rule="checkpoint_fever",
            colour=YELLOW,
            params={"point": fever.point, "temperature": fever.temperature},
            source="checkpoint",
            since=local_date(fever.at),
            until=None,
            needs_transcoding=True,
            record=CHECKPOINT_FEVER,
            recorded_on=local_date(fever.at),
        )


def _places_match(place_code: str, area_code: str) -> bool:
    if not place_code or not area_code:
        return False
    # Both ways: a stay given only as a province may have been in a risky county.
    return place_code.startswith(area_code) or area_code.startswith(place_code)


def _stay_span(stay: Stay) -> tuple[date, date]:
    # A stay typed with its dates backwards still happened.
    return min(stay.start, stay.end), max(stay.start, stay.end)


def _overlaps_window(stay: Stay, area: RiskArea) -> bool:
    first, last = _stay_span(stay)
    if area.active_from is not None and last < area.active_from:
        return False
    return area.active_to is None or first <= area.active_to


def _risk_area_rank(hit: Hit) -> tuple[date, int, str]:
    # Latest end wins; the finer area breaks a tie, so the table's order doesn't matter.
    return (hit.until, len(hit.params["area_code"]), hit.params["area_code"])


def _risk_area_hits(facts: Facts, risk_areas: Sequence[RiskArea], today: date) -> Iterator[Hit]:
    best: dict[str, Hit] = {}
    for declaration in facts.declarations:
        for stay in declaration.stays:
            first, last = _stay_span(stay)
            for area in risk_areas:
                if not _places_match(stay.place_code, area.code):
                    continue
                if not _overlaps_window(stay, area):
                    continue
                hit = Hit(
                    key=f"risk_area:decl:{declaration.id}:{stay.place_code}",
                    rule="risk_area",
                    colour=YELLOW,
                    params={
                        "place": stay.place_code,
                        "area": area.name,
                        "area_code": area.code,
                        "left": last,
                        "days": area.days,
                    },
                    source="declaration",
                    since=first,
                    until=ends_after(last, area.days),
                    needs_transcoding=False,
                    record=declaration.record,
                    recorded_on=local_date(declaration.made_at),
                )
                kept = best.get(hit.key)
                if kept is None or _risk_area_rank(hit) > _risk_area_rank(kept):
                    best[hit.key] = hit
    for hit in best.values():
        if today < hit.until and hit.key not in facts.cleared:
            yield hit


def _overseas_entry_hits(facts: Facts, today: date, policy: Policy) -> Iterator[Hit]:
    for declaration in facts.declarations:
        if declaration.entry_date is None and not declaration.entry_port:
            continue
        key = f"overseas_entry:decl:{declaration.id}"
        # Quarantine counts from the actual arrival once known, else the declared date.
        arrival = facts.arrival_date or declaration.entry_date or local_date(declaration.made_at)
        until = ends_after(arrival)
        if key in facts.cleared:
            continue
        # Where the province asks for it, the release waits for a recent negative test.
        awaiting_test = not has_release_test(facts, until, policy)
        if today >= until and not awaiting_test:
            continue
        # Once the arrival is known, that record is where the day comes from (a checkpoint's
        # first scan, an officer's confirmation), not the declaration that planned it.
        recorded = (declaration.record, local_date(declaration.made_at))
        if facts.arrival_date is not None:
            recorded = (
                ARRIVAL_RECORDS.get(facts.arrival_source or "", OFFICER_ARRIVAL),
                facts.arrival_noted_on or facts.arrival_date,
            )
        yield Hit(
            key=key,
            rule="overseas_entry",
            colour=YELLOW,
            params={
                "port": declaration.entry_port,
                "arrival": arrival,
                "arrival_confirmed": facts.arrival_date is not None,
                **({"release_test_hours": policy.release_test_hours} if awaiting_test else {}),
            },
            source="declaration",
            since=arrival,
            # Past its end without the test, it waits for one: no day to count down to.
            until=None if today >= until else until,
            needs_transcoding=False,
            record=recorded[0],
            recorded_on=recorded[1],
        )


def with_actual_arrival(
    declarations: tuple[Declaration, ...],
    origin_division: str | None,
    planned: date,
    actual: date,
) -> tuple[tuple[Declaration, ...], date | None]:
    """Move the planned arrival to the actual one in the facts (pure: no database)."""
    # Facts.arrival_date overrides every declared entry date; an entry declared after this
    # journey's dates is another journey, and must keep its own date.
    later_entry = any(
        d.entry_date is not None and d.entry_date > max(planned, actual) for d in declarations
    )
    arrival_date = None if later_entry else actual
    if not origin_division:
        return declarations, arrival_date

    def moved(stay: Stay) -> Stay:
        # The stay the registration declared: in the origin, ending on the planned day.
        if stay.place_code == origin_division and stay.end == planned:
            return replace(stay, end=actual, start=min(stay.start, actual))
        return stay

    adjusted = tuple(replace(d, stays=tuple(moved(stay) for stay in d.stays)) for d in declarations)
    return adjusted, arrival_date
