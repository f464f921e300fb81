"""The CIBA grant (OpenID CIBA Core 1.0, sections 10 and 11): the agent desk redeems its
auth_req_id at the token endpoint, by polling (poll mode) or once told (ping mode, which
may poll too, section 10.2).

    auth_req_id --> unknown, or another client's ............ invalid_grant
                --> ended without tokens before ............. access_denied (why, again)
                --> past its expiry ......................... expired_token
                --> the approval still open: polled too soon  slow_down (interval + 5 s)
                                             else ........... authorization_pending
                --> denied in the app (or SMS read-back failed) access_denied
                --> tokens issued already ................... invalid_grant
                --> approved: finished once, then the same checks as every sign-in
                    (idp/authn/approved.py: a session on the client's channel, passive)
                    --> Ready: tokens (ID token with the acr and amr reached)
                    --> Refused: access_denied, saying why
"""

from __future__ import annotations

from typing import Any, NoReturn

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    BaseGrant,
    InvalidGrantError,
    InvalidRequestError,
    TokenEndpointMixin,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628 import AuthorizationPendingError, ExpiredTokenError, SlowDownError

from idp.audit import record_event
from idp.audit.events import Event
from idp.authn import Ready, Refused
from idp.authn.approvals import OPEN, Approval, ApprovalRefusedError, Approvals, ApprovalState
from idp.oidc.ciba_requests import UNKNOWN_REQUEST, CibaRequest, CibaRequests
from idp.oidc.features import CIBA_GRANT, FEATURES
from idp.oidc.grants.signed_in import authorization_for, settle_on_the_app
from idp.oidc.models import Client
from idp.oidc.tokens import Authorization


class CibaGrant(BaseGrant, TokenEndpointMixin):
    GRANT_TYPE = CIBA_GRANT
    TOKEN_ENDPOINT_AUTH_METHODS = list(FEATURES.confidential_auth_methods)

    def validate_token_request(self) -> None:
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(description=f"this client may not use {CIBA_GRANT}")
        self.request.client = client
        auth_req_id = self.request.payload.data.get("auth_req_id")
        if not auth_req_id:
            raise InvalidRequestError(description="auth_req_id is required")
        requests = CibaRequests(self.server.artifacts.store)
        found = requests.find(auth_req_id)
        if found is None or found.client_id != client.client_id:
            raise InvalidGrantError(description=UNKNOWN_REQUEST)
        self.found = found
        self.request.user, self._scope = self._answer(requests, found, client)

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], list[Any]]:
        """The tokens (the OpenIDConnect extension adds the ID token: request.user)."""
        client, user = self.request.client, self.request.user
        token = self.generate_token(
            user=user,
            scope=self._scope,
            include_refresh_token=client.check_grant_type("refresh_token"),
        )
        self._record(
            Event.ciba_tokens_issued,
            {"scope": token["scope"], "acr": user.acr, "amr": user.amr},
            session_id=user.sid,
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER

    # -- where the request stands ------------------------------------------------------------
    def _answer(
        self, requests: CibaRequests, found: CibaRequest, client: Client
    ) -> tuple[Authorization, str]:
        if found.refusal is not None:
            raise AccessDeniedError(description=found.refusal)
        approvals = Approvals(self.server.artifacts.store)
        approval = approvals.find(found.approval_id)
        if found.expired or approval is None:
            raise ExpiredTokenError(description="the request has expired; start a new one")
        if approval.state in OPEN:
            too_soon, interval = requests.poll(found.id, client.client_id)
            if too_soon:
                raise SlowDownError(description=f"poll at most every {interval} s")
            raise AuthorizationPendingError(description="the person has not answered yet")
        if approval.state is ApprovalState.denied:
            self._refuse(requests, found, "the person denied the request")
        if approval.state is ApprovalState.consumed:
            raise InvalidGrantError(description="tokens were issued for this request already")
        return self._settle(requests, found, approval, client)

    def _settle(
        self, requests: CibaRequests, found: CibaRequest, approval: Approval, client: Client
    ) -> tuple[Authorization, str]:
        """An approved request: used once, then the checks every sign-in goes through."""
        try:
            Approvals(self.server.artifacts.store).finish(approval.id)
        except ApprovalRefusedError:  # another poll finished it a moment before
            raise InvalidGrantError(
                description="tokens were issued for this request already"
            ) from None
        outcome = settle_on_the_app(self.server, self.request, approval, found.txn_id)
        if outcome is None:
            self._refuse(requests, found, "the approval does not prove who the person is")
        if isinstance(outcome, Ready):
            return authorization_for(self.server, outcome, client)
        if isinstance(outcome, Refused):
            self._refuse(
                requests, found, f"the approval does not meet the request: {outcome.reason}"
            )
        raise ExpiredTokenError(description="the request has expired; start a new one")

    def _refuse(self, requests: CibaRequests, found: CibaRequest, reason: str) -> NoReturn:
        """End the request without tokens: said now, and to every later poll."""
        if requests.set(found.id, first=True, refusal=reason):
            self._record(Event.ciba_denied, {"reason": reason})
        raise AccessDeniedError(description=reason)

    def _record(self, event: Event, detail: dict[str, Any], session_id: str | None = None) -> None:
        client_id = self.found.client_id
        record_event(
            self.request.db,
            event,
            person_id=self.found.person_id,
            actor=f"client:{client_id}",
            session_id=session_id,
            detail={"client_id": client_id, **detail},
            ip=self.request.remote_addr,
            user_agent=self.request.user_agent,
        )
        self.request.db.commit()
