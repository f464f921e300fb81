"""From a finished authentication transaction to what the token endpoint issues, for the
grants whose person signed in somewhere else than a browser redirect (the device grant,
CIBA, the kiosk's JWT bearer assertion): the transaction is consumed (a second poll finds
nothing), a grant is stored for the session (it dies with it), and the tokens carry the
release and nothing more, as a code would."""

from __future__ import annotations

from typing import Protocol

from authlib.oauth2.rfc6749 import InvalidGrantError

from idp.authn import Ready, Transactions
from idp.oidc.artifacts import Artifacts
from idp.oidc.models import Client
from idp.oidc.tokens import Authorization


class _Server(Protocol):
    """What of the server (idp/oidc/server.py, which registers the grants that call this:
    importing it here would be a cycle) is used here."""

    artifacts: Artifacts


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
