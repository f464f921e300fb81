"""A closed account, told to every relying party the person used: one Logout Token per
client with a back-channel logout URI, without `sid` (every session of the person, OpenID
Back-Channel Logout 1.0 section 2.4) and carrying the RISC account-purged event, so an RP
can delete its own record of the person. The RPs are those the person consented to, and
those holding a grant of the person (offline_access tokens outlive sessions)."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from sqlalchemy import select

from idp.authn.models import Consent
from idp.db import db
from idp.oidc import backchannel
from idp.oidc.artifacts import Artifacts
from idp.oidc.runtime import oidc


class OidcAccountClosed:
    def __init__(self, artifacts: Artifacts) -> None:
        self.artifacts = artifacts

    def account_closing(self, person_id: str) -> Callable[[], None]:
        return partial(backchannel.notify, self.recipients(person_id))

    def recipients(self, person_id: str) -> list[backchannel.Recipient]:
        consented = db.session.scalars(
            select(Consent.client_id).where(Consent.person_id == person_id)
        ).all()
        ids = self.artifacts.store.index_members("person-grants", person_id)
        granted = [g["client_id"] for g in self.artifacts.store.find_many("grant", ids) if g]
        found = []
        for client_id in sorted(set(consented) | set(granted)):
            client = oidc().clients.get(client_id)
            if client is not None and client.backchannel_logout_uri:
                uri = client.backchannel_logout_uri
                found.append(backchannel.Recipient(client, uri, person_id, None, closed=True))
        return found
