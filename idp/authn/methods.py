"""Authentication methods: each says what it proves (its RFC 8176 `amr`) and the highest
level it can give (its cap), and turns a proof into evidence. Sessions are opened and
raised from evidence here, in one place.

The level a session reaches is the person's level capped by the method: a loa:4 person
who signed in with a password alone is at loa:3 in that session."""

from __future__ import annotations

from dataclasses import dataclass

from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.accounts.sessions import SessionStore, SsoSession
from idp.authn.release import acr_for_level, loa_number


@dataclass(frozen=True)
class Method:
    name: str
    amr: str  # RFC 8176
    cap: int  # the highest loa this method can give


PASSWORD = Method("password", "pwd", 3)  # something known: never more than real-name
SMS_CODE = Method("sms_code", "sms", 3)  # something held: the phone
FACE = Method("face", "face", 4)  # a live face matched to the registry photo (实人)
APP_KEY = Method("app_key", "swk", 3)  # an approval signed by an enrolled device's key
ID_CARD = Method("id_card", "sc", 3)  # the ID card's chip, read at a kiosk
PHONE_CALL = Method("phone_call", "tel", 3)  # the hotline: a caller, by their number
METHODS = {m.name: m for m in (PASSWORD, SMS_CODE, FACE, APP_KEY, ID_CARD, PHONE_CALL)}


@dataclass(frozen=True)
class Evidence:
    """A method succeeded for a person: what a session may record about it."""

    person_id: str
    method: Method
    level: int  # the person's level, capped by the strongest method used
    also: tuple[Method, ...] = ()  # further methods used in the same proof

    @property
    def acr(self) -> str:
        return acr_for_level(self.level)

    @property
    def amr(self) -> list[str]:
        return [self.method.amr, *(m.amr for m in self.also)]


def evidence(person: Person, method: Method, *also: Method) -> Evidence:
    """What `method` (with `also`, used together: a card read and a face) proves about
    `person`: the person's level, capped by the strongest of them."""
    cap = max(m.cap for m in (method, *also))
    return Evidence(person.id, method, min(person.loa, cap), tuple(also))


def evidence_for_amr(person: Person, amr: list[str]) -> Evidence | None:
    """What an approval that proved `amr` (["swk"], ["swk", "face"]) proves about `person`;
    None when it names no method of ours."""
    by_amr = {m.amr: m for m in METHODS.values()}
    used = [by_amr[a] for a in amr if a in by_amr]
    if not used or len(used) != len(amr):
        return None
    return evidence(person, used[0], *used[1:])


def password(accounts: Accounts, person: Person | None, given: str) -> Evidence | None:
    """The password method: evidence when `given` is the person's password."""
    if person is None or not accounts.check_password(person, given):
        return None
    return evidence(person, PASSWORD)


def reachable(person: Person, method: Method) -> int:
    """The level this person could reach with this method."""
    return min(person.loa, method.cap)


def open_session(
    sessions: SessionStore,
    proof: Evidence,
    *,
    channel: str,
    ip: str | None,
    user_agent: str | None,
    device: str | None = None,
) -> tuple[str, SsoSession]:
    """A new SSO session from a sign-in: (cookie token, session). `device` names what the
    person used when it is not the browser itself (the app that approved it)."""
    return sessions.create(
        person_id=proof.person_id,
        channel=channel,
        amr=proof.amr,
        acr=proof.acr,
        ip=ip,
        user_agent=user_agent,
        device=device,
    )


def raise_session(sessions: SessionStore, sso: SsoSession, proof: Evidence) -> SsoSession | None:
    """A further method in a live session (a step-up): its amr is added and its level
    becomes the higher of the two, in one atomic step in the store. None if the session
    ended meanwhile (it is never brought back)."""
    if proof.person_id != sso.person_id:
        raise ValueError("evidence for another person cannot raise this session")
    acr = acr_for_level(max(loa_number(sso.acr), proof.level))
    raised: SsoSession | None = sso
    for amr in proof.amr:
        raised = sessions.add_method(sso.id, amr, acr)
        if raised is None:
            return None
    return raised
