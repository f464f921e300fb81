"""OpenID Connect Back-Channel Logout 1.0: when an SSO session ends, every RP that got
tokens in it is sent a signed Logout Token, from a background worker.

sign-out (idp/flows/logout.py)
    -> recipients(sid): the clients of the session's grants (offline_access ones too:
       their tokens survive, the RP's session does not) with a backchannel_logout_uri,
       read before the grants are revoked
    -> the sign-out commits
    -> notify(recipients): one delivery per client queued; the person does not wait
    -> worker: a Logout Token (typ logout+jwt, the client's ID token algorithm),
       POSTed as logout_token=...; 200 or 204 is delivered, else up to ATTEMPTS tries
    -> audit row rp:backchannel_logout:delivered | failed
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import requests
from flask import Flask, current_app

from idp.audit import record_event
from idp.audit.events import Event
from idp.db import db
from idp.keys import NoActiveKeyError
from idp.oidc.models import Client
from idp.oidc.runtime import oidc
from idp.oidc.tokens import TokenIssuer

log = logging.getLogger(__name__)

LOGOUT_TOKEN_TYP = "logout+jwt"
LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# OpenID RISC: the account is gone for good (a closure); rides in the same Security Event
# Token as the logout event (RFC 8417 allows several events about one subject).
ACCOUNT_PURGED_EVENT = "https://schemas.openid.net/secevent/risc/event-type/account-purged"
LOGOUT_TOKEN_TTL = 120  # seconds; covers every attempt of one delivery
TIMEOUT = 3.0  # seconds per attempt
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0  # before the second attempt; doubled before each further one
WORKERS = 4  # per process
MAX_PENDING = 1000  # deliveries queued or running per process; beyond it they fail at once
ACTOR = "idp:backchannel_logout"


@dataclass(frozen=True)
class Recipient:
    """One RP to tell that session `sid` of `person_id` has ended (no `sid`: every session
    of the person; `closed`: and the account itself is gone)."""

    client: Client
    uri: str
    person_id: str
    sid: str | None
    closed: bool = False


def recipients(sid: str) -> list[Recipient]:
    """The RPs that received tokens in session `sid` and want to hear of its end, one per
    client. Call before the session's grants are revoked."""
    runtime = oidc()
    found: dict[str, Recipient] = {}
    for grant in runtime.artifacts.session_grants(sid):
        if grant["client_id"] in found:
            continue
        client = runtime.clients.get(grant["client_id"])
        if client is not None and client.backchannel_logout_uri:
            uri = client.backchannel_logout_uri
            found[client.client_id] = Recipient(client, uri, grant["person_id"], sid)
    return list(found.values())


def notify(found: list[Recipient]) -> None:
    """Queue a delivery to each recipient. Call once the sign-out has committed."""
    if not found:
        return
    app = cast(Any, current_app)._get_current_object()
    for recipient in found:
        if not _worker.submit(_deliver, app, recipient):
            _record(recipient, Outcome(attempts=0, error="queue full"))


# -- the Logout Token (section 2.4) ---------------------------------------------------------
def logout_token(
    tokens: TokenIssuer, client: Client, *, person_id: str, sid: str | None, closed: bool = False
) -> str:
    """Signed like the client's ID tokens, so the RP checks both with the same key."""
    now = int(time.time())
    subject = tokens.subject(person_id, client)
    events: dict[str, Any] = {LOGOUT_EVENT: {}}
    if closed:
        events[ACCOUNT_PURGED_EVENT] = {
            "subject": {"format": "iss_sub", "iss": tokens.issuer, "sub": subject}
        }
    claims = {
        "iss": tokens.issuer,
        "aud": client.client_id,
        "iat": now,
        "exp": now + LOGOUT_TOKEN_TTL,
        "jti": secrets.token_urlsafe(16),
        "sub": subject,
        "events": events,
    }  # never a nonce (section 2.4): a Logout Token must not pass for an ID token
    if sid is not None:
        claims["sid"] = tokens.session_id(sid, client)  # as in this client's ID tokens
    return tokens.keys.sign(claims, alg=client.id_token_signed_response_alg, typ=LOGOUT_TOKEN_TYP)


# -- delivery (section 2.5) -----------------------------------------------------------------
@dataclass(frozen=True)
class Outcome:
    attempts: int
    status: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status in (200, 204)

    @property
    def worth_retrying(self) -> bool:
        # A 4xx says the RP refused this token (section 2.8); sending it again changes nothing.
        return self.status is None or self.status >= 500 or self.status in (408, 429)


def _deliver(app: Flask, recipient: Recipient) -> None:
    """In a worker thread: build the token, send it until it is taken, record the end."""
    with app.app_context():
        try:
            token = logout_token(
                oidc().tokens,
                recipient.client,
                person_id=recipient.person_id,
                sid=recipient.sid,
                closed=recipient.closed,
            )
        except NoActiveKeyError as exc:
            outcome = Outcome(attempts=0, error=str(exc))
        else:
            outcome = _send(recipient.uri, token)
        _record(recipient, outcome)


def _send(uri: str, token: str) -> Outcome:
    """POST the token, retrying with backoff; the same token each time (same jti), so an
    RP that got it already can tell."""
    attempt = 1
    outcome = _post_once(uri, token, attempt)
    while not outcome.delivered and outcome.worth_retrying and attempt < ATTEMPTS:
        time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        attempt += 1
        outcome = _post_once(uri, token, attempt)
    return outcome


def _post_once(uri: str, token: str, attempt: int) -> Outcome:
    # No session, so no cookies; redirects are not followed; the body is never read, since
    # nothing in it is trusted: the status code alone says delivered or not.
    try:
        response = requests.post(
            uri,
            data={"logout_token": token},
            headers={"Cache-Control": "no-store"},
            timeout=TIMEOUT,
            allow_redirects=False,
            stream=True,
        )
        response.close()
    except requests.RequestException as exc:
        return Outcome(attempts=attempt, error=type(exc).__name__)
    return Outcome(attempts=attempt, status=response.status_code)


def _record(recipient: Recipient, outcome: Outcome) -> None:
    """An audit row for the outcome, in a transaction of its own (the sign-out's has
    committed long ago, or is another thread's)."""
    client_id = recipient.client.client_id
    detail: dict[str, Any] = {"client_id": client_id, "attempts": outcome.attempts}
    if outcome.status is not None:
        detail["status"] = outcome.status
    if outcome.error is not None:
        detail["error"] = outcome.error
    if not outcome.delivered:
        log.warning(
            "back-channel logout to client %s failed after %d attempt(s): %s",
            client_id,
            outcome.attempts,
            outcome.error or f"HTTP {outcome.status}",
        )
    event = (
        Event.backchannel_logout_delivered if outcome.delivered else Event.backchannel_logout_failed
    )
    with db.transaction() as session:
        record_event(
            session,
            event,
            person_id=recipient.person_id,
            actor=ACTOR,
            session_id=recipient.sid,
            detail=detail,
        )


class _Worker:
    """A few threads per process, started on first use: servers fork their workers after
    importing the app, and threads do not survive a fork."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._idle = threading.Condition()
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0

    def submit(self, task: Callable[..., None], *args: Any) -> bool:
        """Run `task(*args)` on a worker thread; False when too much is queued already."""
        with self._idle:
            if self._pending >= MAX_PENDING:
                return False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="backchannel-logout")
            self._pending += 1
            pool = self._pool
        pool.submit(self._run, task, *args)
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing is queued or running (shutdown, tests); False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self, task: Callable[..., None], *args: Any) -> None:
        try:
            task(*args)
        except Exception:
            log.exception("back-channel logout delivery failed")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


_worker = _Worker()
os.register_at_fork(after_in_child=_worker._reset)


def wait_idle(timeout: float) -> bool:
    """Wait until every queued delivery has ended; False if `timeout` seconds pass first."""
    return _worker.wait_idle(timeout)
