"""The device code grant (RFC 8628 3.4, 3.5): the kiosk or TV polls the token endpoint
with its device code until the person has answered, on the app or in a browser.

    poll (client authenticated, the code its own)
        unknown code, or another client's ---------------------------> invalid_grant
        past expires_in ----------------------------------------------> expired_token
        sooner than the interval after the last poll -> the interval + 5 s, slow_down
        the approval still open (pending, scanned) -------------------> authorization_pending
        denied (on the app, or in the browser: "not me", consent refused) -> access_denied
        used already -------------------------------------------------> invalid_grant
        approved: used up now (once), then
          on the app:     settle(): a session for the person on the client's channel,
                          the same checks as every sign-in, passively (idp/authn/approved.py)
          in a browser:   the browser's finished transaction and its session
          -> Ready: tokens, as a code would give (ID token with acr and amr, a refresh
             token with offline_access) | Refused: access_denied, saying why

The person's side of the browser path is idp/flows/device.py; the codes and their polls
are idp/oidc/device.py.
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import (
    AccessDeniedError,
    InvalidGrantError,
    InvalidRequestError,
    UnauthorizedClientError,
)
from authlib.oauth2.rfc6749.hooks import hooked
from authlib.oauth2.rfc8628 import (
    AuthorizationPendingError,
    ExpiredTokenError,
    SlowDownError,
)
from authlib.oauth2.rfc8628 import DeviceCodeGrant as _DeviceCodeGrant

from idp.audit.events import Event
from idp.authn import Halted, Outcome, Ready, Refused
from idp.authn.approvals import OPEN, Approval, ApprovalRefusedError, Approvals, ApprovalState
from idp.authn.release import release_for
from idp.authn.transaction import State, Transactions
from idp.flows.device import refusal_of, signed_in_on_the_web
from idp.oidc.device import DeviceCode, DeviceCodes
from idp.oidc.features import FEATURES
from idp.oidc.grants.signed_in import authorization_for, settle_on_the_app
from idp.oidc.models import Client

USED = "this device code has been used already"


class DeviceCodeGrant(_DeviceCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(FEATURES.client_auth_methods)

    def validate_token_request(self) -> None:
        device_code = self.request.payload.data.get("device_code")
        if not device_code:
            raise InvalidRequestError(description="device_code is required")
        client: Client = self.authenticate_token_endpoint_client()
        if not client.check_grant_type(self.GRANT_TYPE):
            raise UnauthorizedClientError(
                description="this client is not registered for the device code grant"
            )
        self.request.client = client
        store = self.server.artifacts.store
        verdict, code = DeviceCodes(store).poll(device_code, client.client_id)
        if code is None:  # the same answer for a code of another client's
            raise InvalidGrantError(description="unknown device_code")
        if code.expired:
            raise ExpiredTokenError(description="the device code has expired; start again")
        if verdict == "slow":
            raise SlowDownError(description=f"poll at most every {code.interval} seconds")
        approvals = Approvals(store)
        approval = approvals.find(code.approval_id)
        if approval is None:
            raise ExpiredTokenError(description="the request has expired; start again")
        if approval.state in OPEN:
            raise AuthorizationPendingError()
        if approval.state is ApprovalState.denied:
            found = Transactions(store).find(code.txn_id)
            reason = refusal_of(found) if found else None
            raise AccessDeniedError(description=reason or "the person declined the request")
        try:
            approvals.finish(approval.id)  # approved -> consumed: one poll gets the tokens
        except ApprovalRefusedError:
            raise InvalidGrantError(description=USED) from None
        ready = self._ready(approval, code)
        self.request.user, self._scope = authorization_for(self.server, ready, client)

    @hooked
    def create_token_response(self) -> tuple[int, dict[str, Any], Any]:
        client: Client = self.request.client
        user = self.request.user
        token = self.generate_token(
            user=user,
            scope=self._scope,
            include_refresh_token=client.check_grant_type("refresh_token"),
        )
        self.server.record(
            self.request,
            Event.device_tokens_issued,
            actor=f"client:{client.client_id}",
            detail={"client_id": client.client_id, "scope": token["scope"], "amr": user.amr},
        )
        return 200, token, self.TOKEN_RESPONSE_HEADER

    # -- what the approval turns into ------------------------------------------------------
    def _ready(self, approval: Approval, code: DeviceCode) -> Ready:
        web_txn = signed_in_on_the_web(approval)
        outcome = (
            self._from_the_browser(approval, web_txn, code)
            if web_txn is not None
            else self._from_the_app(approval, code)
        )
        if isinstance(outcome, Ready):
            return outcome
        if isinstance(outcome, Refused):
            self.server.record(
                self.request,
                Event.device_authorization_denied,
                actor=f"client:{code.client_id}",
                detail={"client_id": code.client_id, "reason": outcome.reason},
            )
            why = f"{outcome.refusal.value}: {outcome.reason}"
            raise AccessDeniedError(
                description=f"the approval does not satisfy the request ({why})"
            )
        if isinstance(outcome, Halted):  # gone meanwhile (expired, answered)
            raise InvalidGrantError(description=outcome.description)
        # Asked: never, the transaction is passive; no page can answer it here anyway
        raise AccessDeniedError(description="the request cannot be answered without a page")

    def _from_the_app(self, approval: Approval, code: DeviceCode) -> Outcome:
        """Approved with a device key: a session for the person at the kiosk, decided by
        the same checks as every sign-in."""
        outcome = settle_on_the_app(self.server, self.request, approval, code.txn_id)
        if outcome is None:
            raise AccessDeniedError(description="the approval proves no way of signing in")
        return outcome

    def _from_the_browser(self, approval: Approval, web_txn: str, code: DeviceCode) -> Outcome:
        """Approved in a browser: its transaction went through the checks there and is
        ready; the tokens belong to that browser's session, while it lasts."""
        store = self.server.artifacts.store
        txns = Transactions(store)
        txn = txns.find(web_txn)
        sessions = self.server.sessions
        sso = sessions.get(txn.session_id) if txn is not None and txn.session_id else None
        if txn is None or txn.state is not State.ready or sso is None:
            return Halted("invalid_grant", "the sign-in that approved this request has ended")
        active = self.server.accounts.is_active(self.server.database.engine, sso.person_id)
        if sso.person_id != approval.person_id or not active:
            return Halted("invalid_grant", "the sign-in that approved this request has ended")
        txns.consume(code.txn_id)  # the device's own transaction: answered in the browser
        return Ready(txn, sso, release_for(txn.requester, txn.scopes, txn.claims))
