"""From a finished authentication transaction to what the token endpoint issues, for the
grants whose person signed in somewhere else than a browser redirect (the device grant,
CIBA, the kiosk's JWT bearer assertion): the transaction is consumed (a second poll finds
nothing), a grant is stored for the session (it dies with it), and the tokens carry the
release and nothing more, as a code would."""

from __future__ import annotations

from typing import Any, Protocol

from authlib.oauth2.rfc6749 import InvalidGrantError
from authlib.oauth2.rfc8628 import ExpiredTokenError

from idp.accounts.models import Person
from idp.accounts.sessions import SessionStore
from idp.authn import Outcome, Ready, Transactions
from idp.authn.approvals import Approval
from idp.authn.approved import settle
from idp.authn.devices import Devices
from idp.authn.methods import evidence_for_amr
from idp.oidc.artifacts import Artifacts
from idp.oidc.models import Client
from idp.oidc.tokens import Authorization


class _Server(Protocol):
    """What of the server (idp/oidc/server.py, which registers the grants that call this:
    importing it here would be a cycle) is used here."""

    artifacts: Artifacts
    sessions: SessionStore


def settle_on_the_app(
    server: _Server, request: Any, approval: Approval, txn_id: str
) -> Outcome | None:
    """An approval answered on the app (device grant, CIBA), decided by the checks every
    sign-in goes through, for a session at the requester's channel named after the phone.
    None when it proves nothing of an active person; ExpiredTokenError when its
    transaction is gone."""
    db = request.db
    person = db.get(Person, approval.person_id) if approval.person_id else None
    active = person is not None and person.active
    proof = evidence_for_amr(person, approval.amr) if person is not None and active else None
    if proof is None:
        return None
    txns = Transactions(server.artifacts.store)
    txn = txns.find(txn_id)
    if txn is None:
        raise ExpiredTokenError(description="the request has expired; start a new one")
    device = Devices(db).get(approval.device_id)
    return settle(
        txns,
        txn,
        proof,
        sessions=server.sessions,
        db=db,
        consent_given=True,  # the app showed who asks and what it will read
        device=device.name if device is not None else None,
        ip=request.remote_addr,
        user_agent=request.user_agent,
    )


def authorization_for(server: _Server, ready: Ready, client: Client) -> tuple[Authorization, str]:
    """The Authorization the tokens are made from, and the scope they carry."""
    if Transactions(server.artifacts.store).consume(ready.txn.id) is None:
        raise InvalidGrantError(description="this request has been answered already")
    sso = ready.sso
    scope = " ".join(s for s in ready.release.scopes if s in client.scopes)
    grant = {
        "person_id": sso.person_id,
        "client_id": client.client_id,
        "scope": scope,
        "sid": sso.id,
        "auth_time": sso.auth_time,
        "acr": sso.acr,
        "amr": sso.amr,
        "claims": {},
        "act_for": ready.txn.act_for,
    }
    grant_id, grant_exp = server.artifacts.create_grant(grant)
    authorization = Authorization(
        person_id=sso.person_id,
        grant_id=grant_id,
        grant_exp=grant_exp,
        auth_time=sso.auth_time,
        acr=sso.acr,
        amr=sso.amr,
        sid=sso.id,
        act_for=ready.txn.act_for,
    )
    return authorization, scope
