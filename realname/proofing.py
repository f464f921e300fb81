"""Real-name proofing (实名核验): name + ID number, checked against the population registry,
raises a person to loa:3. Nothing is written unless the registry says "match".

The check must not be an oracle on the registry or on our accounts, since any level-2
account (one phone number) can ask it. So each account, source address and ID number may
ask only a few times a day (`Attempts`, counted before the registry is asked), and every
negative outcome - no match, deceased, cancelled, held by another account - is one answer
to the person (`NOT_MATCHED`); only the audit trail tells them apart. An identity held by
another account never shows that account's phone, even masked: name and number pairs
leak in bulk, and the holder can sign in with the ID number or recover by SMS.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face import FaceVerifier
from connectors.population import PopulationRegistry
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.audit import record_event
from idp.audit.events import Event
from idp.store import ArtifactStore
from realname.identifiers import IdType, check, mask

REAL_NAME_LOA = 3
MAX_NAME = 64
ATTEMPT_WINDOW = 86400  # the limits are per day, from the first attempt


class Outcome(StrEnum):
    verified = "verified"
    format_rejected = "format_rejected"  # `rule` says which rule
    unsupported_type = "unsupported_type"  # no registry route for this certificate yet
    no_match = "no_match"
    deceased = "deceased"
    cancelled = "cancelled"
    identity_taken = "identity_taken"  # another account holds this number
    unavailable = "unavailable"  # registry did not answer: try later, nothing changed
    too_many_attempts = "too_many_attempts"  # a daily limit: the registry was not asked


# What the person is told as one answer, "does not match the registry".
NOT_MATCHED = frozenset(
    {Outcome.no_match, Outcome.deceased, Outcome.cancelled, Outcome.identity_taken}
)


@dataclass(frozen=True)
class ProofingResult:
    outcome: Outcome
    rule: str | None = None
    masked_number: str | None = None


@dataclass(frozen=True)
class Attempts:
    """Who asks and how often each may ask a day (IDP_REALNAME_TRIES_*), counted in the
    store. Web and app pass one; the counter (staff with the person and the card) none."""

    store: ArtifactStore
    address: str | None
    per_account: int
    per_address: int
    per_id_number: int
    face_per_account: int

    def over_limit(self, counters: list[tuple[str, str, int]]) -> tuple[str, int] | None:
        """Count one attempt on each (kind, id, limit) in turn. The first counter over its
        limit stops the count (so an account or address at its limit cannot use up an ID
        number's tries): its kind and how far over it is; None when all allow it."""
        for kind, ident, limit in counters:
            counted = self.store.incr(kind, ident, ATTEMPT_WINDOW)
            if counted > limit:
                return kind, counted - limit
        return None


def id_index(accounts: Accounts, id_type: IdType, number: str) -> str:
    return accounts.sealer.blind_index(f"id:{id_type.value}", number)


def _refused_for_now(
    session: Session,
    attempts: Attempts,
    counters: list[tuple[str, str, int]],
    event: Event,
    person: Person,
    channel: str,
    detail: dict[str, Any],
) -> bool:
    """True when a daily limit refuses this attempt. Audited when the limit is first
    passed only: a blocked attacker's retries must not fill the audit trail."""
    over = attempts.over_limit(counters)
    if over is None:
        return False
    if over[1] == 1:
        record_event(
            session,
            event,
            person_id=person.id,
            channel=channel,
            ip=attempts.address,
            detail={**detail, "limit": over[0]},
        )
    return True


def prove_real_name(
    session: Session,
    accounts: Accounts,
    registry: PopulationRegistry,
    person: Person,
    *,
    name: str,
    id_type: str,
    id_number: str,
    channel: str,
    attempts: Attempts | None = None,
) -> ProofingResult:
    """Check and, on a match, record the person's real name. The caller commits."""
    try:
        kind = IdType(id_type)
    except ValueError:
        return ProofingResult(Outcome.format_rejected, rule="type")
    verdict = check(kind, id_number)
    if not verdict.valid or verdict.normalised is None:
        return ProofingResult(Outcome.format_rejected, rule=str(verdict.rule))
    number = verdict.normalised
    masked = mask(kind, number)
    name = unicodedata.normalize("NFKC", name).strip()
    if not name or len(name) > MAX_NAME:
        return ProofingResult(Outcome.format_rejected, rule="name", masked_number=masked)
    if kind is not IdType.RESIDENT:
        return ProofingResult(Outcome.unsupported_type, masked_number=masked)
    if attempts is not None and _refused_for_now(
        session,
        attempts,
        [
            ("realname-account", person.id, attempts.per_account),
            ("realname-address", attempts.address or "-", attempts.per_address),
            (
                "realname-id",
                accounts.sealer.blind_index("attempts:id:resident", number),
                attempts.per_id_number,
            ),
        ],
        Event.realname_throttled,
        person,
        channel,
        {"id_number": masked},
    ):
        return ProofingResult(Outcome.too_many_attempts, masked_number=masked)

    try:
        answer = registry.verify(name, number)
    except ConnectorUnavailable:
        return ProofingResult(Outcome.unavailable, masked_number=masked)
    except ConnectorRejected:
        return ProofingResult(Outcome.format_rejected, rule="registry", masked_number=masked)
    if not answer.matched:
        record_event(
            session,
            Event.realname_refused,
            person_id=person.id,
            channel=channel,
            detail={"result": answer.result, "id_number": masked},
        )
        return ProofingResult(Outcome(answer.result), masked_number=masked)

    index = id_index(accounts, kind, number)
    holder = session.scalar(select(Person).where(Person.id_number_index == index))
    if holder is not None and holder.id != person.id:
        record_event(
            session,
            Event.realname_identity_taken,
            person_id=person.id,
            channel=channel,
            detail={"id_number": masked, "holder": holder.id},
        )
        return ProofingResult(Outcome.identity_taken, masked_number=masked)

    person.name = name
    person.id_type = kind.value
    person.id_number_index = index
    person.id_number_sealed = accounts.sealer.seal(number, f"persons|id_number|{person.id}")
    person.loa = max(person.loa, REAL_NAME_LOA)
    record_event(
        session,
        Event.realname_verified,
        person_id=person.id,
        channel=channel,
        detail={"id_type": kind.value, "id_number": masked, "loa": person.loa},
    )
    return ProofingResult(Outcome.verified, masked_number=masked)


# -- real person (实人): a live face matched against the registry photo -------------------
REAL_PERSON_LOA = 4
FACE_MATCH_THRESHOLD = 0.80  # the face service's similarity score, 0.0-1.0


class FaceOutcome(StrEnum):
    verified = "verified"
    needs_real_name = "needs_real_name"  # loa:3 first: the photo comes with the identity
    not_live = "not_live"
    mismatch = "mismatch"
    unavailable = "unavailable"
    too_many_attempts = "too_many_attempts"  # a daily limit: nothing was asked


# the audit event of each outcome a face check reaches after asking the face service
REALPERSON_EVENTS = {
    FaceOutcome.verified: Event.realperson_verified,
    FaceOutcome.not_live: Event.realperson_not_live,
    FaceOutcome.mismatch: Event.realperson_mismatch,
}


def prove_real_person(
    session: Session,
    accounts: Accounts,
    registry: PopulationRegistry,
    face: FaceVerifier,
    person: Person,
    *,
    image_b64: str,
    liveness_token: str,
    channel: str,
    attempts: Attempts | None = None,
) -> FaceOutcome:
    """Compare a live face with the registry photo; on a match the person reaches loa:4.
    The caller commits. Nothing is written unless the face matches. Each try counts
    against the daily limits first: whoever holds the account must not get unlimited
    tries at passing for its owner."""
    if person.loa < REAL_NAME_LOA or not (person.id_number_sealed and person.name):
        return FaceOutcome.needs_real_name
    if attempts is not None and _refused_for_now(
        session,
        attempts,
        [
            ("realperson-account", person.id, attempts.face_per_account),
            ("realperson-address", attempts.address or "-", attempts.per_address),
        ],
        Event.realperson_throttled,
        person,
        channel,
        {},
    ):
        return FaceOutcome.too_many_attempts
    number = accounts.sealer.open(person.id_number_sealed, f"persons|id_number|{person.id}")
    try:
        record = registry.verify(person.name, number)
        if not record.matched or record.photo_template_id is None:
            return FaceOutcome.mismatch
        result = face.verify(record.photo_template_id, image_b64, liveness_token)
    except ConnectorUnavailable:
        return FaceOutcome.unavailable
    except ConnectorRejected:
        return FaceOutcome.mismatch
    if not result.liveness:
        outcome = FaceOutcome.not_live
    elif result.score < FACE_MATCH_THRESHOLD:
        outcome = FaceOutcome.mismatch
    else:
        outcome = FaceOutcome.verified
        person.loa = max(person.loa, REAL_PERSON_LOA)
    record_event(
        session,
        REALPERSON_EVENTS[outcome],
        person_id=person.id,
        channel=channel,
        detail={"score": round(result.score, 2), "loa": person.loa},
    )
    return outcome


# -- a card and a face, no account session yet (a kiosk's ID card reader and camera) -------
class CardOutcome(StrEnum):
    verified = "verified"
    format_rejected = "format_rejected"  # not a resident ID number, or no usable name
    no_account = "no_account"  # nobody here holds this ID number, or that account is closed
    no_match = "no_match"  # the registry does not have this name with this number, alive
    not_live = "not_live"
    mismatch = "mismatch"  # the face is not the registry photo's
    unavailable = "unavailable"  # the registry or the face service did not answer


@dataclass(frozen=True)
class CardCheck:
    outcome: CardOutcome
    person: Person | None = None  # the account holding the number, once found
    masked_number: str | None = None


def prove_card_and_face(
    session: Session,
    accounts: Accounts,
    registry: PopulationRegistry,
    face: FaceVerifier,
    *,
    name: str,
    id_number: str,
    image_b64: str,
    liveness_token: str,
    channel: str,
) -> CardCheck:
    """Who an ID card names, when the registry knows the card's name with its number and a
    live face matches the registry photo: the account holding that number (found by its
    blind index, never by the name), raised to loa:4 as `prove_real_person` raises it.

    Nobody is signed in yet: the card is the claim of identity and the face its proof,
    so the account is looked up first and the registry asked only for one that exists.
    The caller commits and limits the tries (per reader and per number, before asking).
    Nothing is written unless the face was compared: then as `prove_real_person` does."""
    verdict = check(IdType.RESIDENT, id_number)
    name = unicodedata.normalize("NFKC", name).strip()
    if not verdict.valid or verdict.normalised is None or not name or len(name) > MAX_NAME:
        return CardCheck(CardOutcome.format_rejected)
    number = verdict.normalised
    masked = mask(IdType.RESIDENT, number)
    index = id_index(accounts, IdType.RESIDENT, number)
    person = session.scalar(select(Person).where(Person.id_number_index == index))
    if person is None or not person.active:
        return CardCheck(CardOutcome.no_account, masked_number=masked)
    try:
        record = registry.verify(name, number)
    except ConnectorUnavailable:
        return CardCheck(CardOutcome.unavailable, person, masked)
    except ConnectorRejected:  # a name the registry cannot take
        return CardCheck(CardOutcome.format_rejected, person, masked)
    if not record.matched or record.photo_template_id is None:
        return CardCheck(CardOutcome.no_match, person, masked)
    try:
        result = face.verify(record.photo_template_id, image_b64, liveness_token)
    except ConnectorUnavailable:
        return CardCheck(CardOutcome.unavailable, person, masked)
    except ConnectorRejected:  # a frame the face service cannot read
        return CardCheck(CardOutcome.mismatch, person, masked)
    if not result.liveness:
        outcome = CardOutcome.not_live
    elif result.score < FACE_MATCH_THRESHOLD:
        outcome = CardOutcome.mismatch
    else:
        outcome = CardOutcome.verified
        person.loa = max(person.loa, REAL_PERSON_LOA)
    record_event(
        session,
        REALPERSON_EVENTS[FaceOutcome(outcome.value)],
        person_id=person.id,
        channel=channel,
        detail={"score": round(result.score, 2), "loa": person.loa, "method": "id_card"},
    )
    return CardCheck(outcome, person, masked)
