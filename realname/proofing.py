"""Real-name proofing (实名核验): name + ID number, checked against the population registry,
raises a person to loa:3. Nothing is written unless the registry says "match".

The registry is asked *before* we look for another account with the same number, so
that "this identity already has an account" is only ever said to someone who knows both
the name and the number: the check cannot be used to find out who is registered.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import select
from sqlalchemy.orm import Session

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face import FaceVerifier
from connectors.population import PopulationRegistry
from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.audit import record_event
from realname.identifiers import IdType, check, mask

REAL_NAME_LOA = 3
MAX_NAME = 64


class Outcome(StrEnum):
    verified = "verified"
    format_rejected = "format_rejected"  # `rule` says which rule
    unsupported_type = "unsupported_type"  # no registry route for this certificate yet
    no_match = "no_match"
    deceased = "deceased"
    cancelled = "cancelled"
    identity_taken = "identity_taken"  # another account holds this number: recovery
    unavailable = "unavailable"  # registry did not answer: try later, nothing changed


@dataclass(frozen=True)
class ProofingResult:
    outcome: Outcome
    rule: str | None = None
    masked_number: str | None = None
    other_account_phone: str | None = None  # masked, for the recovery hint


def id_index(accounts: Accounts, id_type: IdType, number: str) -> str:
    return accounts.sealer.blind_index(f"id:{id_type.value}", number)


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

    try:
        answer = registry.verify(name, number)
    except ConnectorUnavailable:
        return ProofingResult(Outcome.unavailable, masked_number=masked)
    except ConnectorRejected:
        return ProofingResult(Outcome.format_rejected, rule="registry", masked_number=masked)
    if not answer.matched:
        record_event(
            session,
            "person:realname:refused",
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
            "person:realname:identity_taken",
            person_id=person.id,
            channel=channel,
            detail={"id_number": masked},
        )
        return ProofingResult(
            Outcome.identity_taken,
            masked_number=masked,
            other_account_phone=accounts.masked_phone(holder),
        )

    person.name = name
    person.id_type = kind.value
    person.id_number_index = index
    person.id_number_sealed = accounts.sealer.seal(number, f"persons|id_number|{person.id}")
    person.loa = max(person.loa, REAL_NAME_LOA)
    record_event(
        session,
        "person:realname:verified",
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
) -> FaceOutcome:
    """Compare a live face with the registry photo; on a match the person reaches loa:4.
    The caller commits. Nothing is written unless the face matches."""
    if person.loa < REAL_NAME_LOA or not (person.id_number_sealed and person.name):
        return FaceOutcome.needs_real_name
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
        f"person:realperson:{outcome.value}",
        person_id=person.id,
        channel=channel,
        detail={"score": round(result.score, 2), "loa": person.loa},
    )
    return outcome
