"""OpenID CIBA Core 1.0 ping mode (section 10.2): when the person answers a request (in
the app, or by an SMS code read back on the call), the agent desk is told at once at its
client_notification_endpoint, and then fetches the tokens (or the error) at /token.

    approval answered --announce (idp/authn/approvals.py)--> on_answer (app.py listens)
        -> the CIBA request behind it (through its transaction), if its desk is in ping mode
        -> queued: whoever answered does not wait
        -> worker: POST {"auth_req_id": ...} with Authorization: Bearer <the request's
           client_notification_token>; 200 or 204 is delivered, else up to ATTEMPTS tries
        -> audit row rp:ciba_ping:delivered | failed
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, cast

import requests
from flask import Flask, current_app

from idp.audit import record_event
from idp.audit.events import Event
from idp.authn.approvals import Approval
from idp.authn.transaction import Transactions
from idp.db import db
from idp.oidc.ciba_requests import CibaRequests
from idp.oidc.runtime import oidc

log = logging.getLogger(__name__)

TIMEOUT = 3.0  # seconds per attempt
ATTEMPTS = 3
BACKOFF_SECONDS = 1.0  # before the second attempt; doubled before each further one
WORKERS = 2  # per process
MAX_PENDING = 500  # queued or running per process; beyond it a ping fails at once
ACTOR = "idp:ciba_ping"


@dataclass(frozen=True)
class Ping:
    client_id: str
    uri: str
    auth_req_id: str
    token: str
    person_id: str


def on_answer(approval: Approval) -> None:
    """Listener for a CIBA approval's answer: queue the ping if the desk wants one. Never
    fails the request that answered: a lost ping leaves the desk polling, as it may."""
    try:
        ping = _ping_for(approval)
    except Exception:
        log.exception("CIBA ping not queued")
        return
    if ping is None:
        return
    app = cast(Any, current_app)._get_current_object()
    if not _worker.submit(_deliver, app, ping):
        _record(ping, attempts=0, status=None, error="queue full")


def _ping_for(approval: Approval) -> Ping | None:
    runtime = oidc()
    txn = Transactions(runtime.artifacts.store).find(approval.txn_id)
    if txn is None:
        return None
    found = CibaRequests(runtime.artifacts.store).find(txn.reference.get("auth_req_id"))
    if found is None or found.mode != "ping" or not found.notification_token:
        return None
    client = runtime.clients.get(found.client_id)
    if client is None or not client.backchannel_client_notification_endpoint:
        return None
    uri = client.backchannel_client_notification_endpoint
    return Ping(client.client_id, uri, found.id, found.notification_token, found.person_id)


def _deliver(app: Flask, ping: Ping) -> None:
    """In a worker thread: POST until taken, then the audit row."""
    attempt, status, error = 0, None, None
    while attempt < ATTEMPTS:
        if attempt:
            time.sleep(BACKOFF_SECONDS * 2 ** (attempt - 1))
        attempt += 1
        status, error = _post_once(ping)
        if status in (200, 204) or (status is not None and 400 <= status < 500):
            break  # taken, or refused: sending it again changes nothing
    with app.app_context():
        _record(ping, attempts=attempt, status=status, error=error)


def _post_once(ping: Ping) -> tuple[int | None, str | None]:
    # No cookies, no redirects followed, the body never read: the status says it all.
    try:
        response = requests.post(
            ping.uri,
            json={"auth_req_id": ping.auth_req_id},
            headers={"Authorization": f"Bearer {ping.token}", "Cache-Control": "no-store"},
            timeout=TIMEOUT,
            allow_redirects=False,
            stream=True,
        )
        response.close()
    except requests.RequestException as exc:
        return None, type(exc).__name__
    return response.status_code, None


def _record(ping: Ping, *, attempts: int, status: int | None, error: str | None) -> None:
    delivered = status in (200, 204)
    detail: dict[str, Any] = {"client_id": ping.client_id, "attempts": attempts}
    if status is not None:
        detail["status"] = status
    if error is not None:
        detail["error"] = error
    if not delivered:
        log.warning(
            "CIBA ping to client %s failed after %d attempt(s): %s",
            ping.client_id,
            attempts,
            error or f"HTTP {status}",
        )
    event = Event.ciba_ping_delivered if delivered else Event.ciba_ping_failed
    with db.transaction() as session:
        record_event(session, event, person_id=ping.person_id, actor=ACTOR, detail=detail)


class _Worker:
    """A few threads per process, started on first use (servers fork their workers after
    importing the app, and threads do not survive a fork)."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._idle = threading.Condition()
        self._pool: ThreadPoolExecutor | None = None
        self._pending = 0

    def submit(self, task: Any, *args: Any) -> bool:
        with self._idle:
            if self._pending >= MAX_PENDING:
                return False
            if self._pool is None:
                self._pool = ThreadPoolExecutor(WORKERS, thread_name_prefix="ciba-ping")
            self._pending += 1
            pool = self._pool
        pool.submit(self._run, task, *args)
        return True

    def wait_idle(self, timeout: float) -> bool:
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def _run(self, task: Any, *args: Any) -> None:
        try:
            task(*args)
        except Exception:
            log.exception("CIBA ping delivery failed")
        finally:
            with self._idle:
                self._pending -= 1
                self._idle.notify_all()


_worker = _Worker()
os.register_at_fork(after_in_child=_worker._reset)


def wait_idle(timeout: float) -> bool:
    """Wait until every queued ping has ended; False if `timeout` seconds pass first."""
    return _worker.wait_idle(timeout)
