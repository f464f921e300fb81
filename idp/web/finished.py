"""Finished sign-ins, told apart from expired ones.

When a transaction is answered (a code sent to the service, a refusal, the account
centre's own sign-in), a short-lived record says so: who asked, and where "continue"
leads (the service's own site, the account centre, the device's done page; never the
answer itself, whose code is used once). Back or Refresh on a page of that transaction
then says in plain words that the step is done, instead of "expired".

The record is shown only to the browser that finished the transaction: it holds a random
mark that this browser's signed session cookie carries too. Another browser (or this one
after signing out, which clears the cookie) hears no more than "expired".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import render_template, session

from idp import context
from idp.authn.transaction import Transaction

KIND = "signin-finished"
TTL = 1800  # half an hour of Back and Refresh after a sign-in
BROWSER_MARK = "browser_mark"


@dataclass(frozen=True)
class Finished:
    service: str  # who asked, by its registered name
    continue_to: str
    declined: bool


def _mark() -> str:
    mark = session.get(BROWSER_MARK)
    if not isinstance(mark, str):
        mark = session[BROWSER_MARK] = secrets.token_urlsafe(16)
    return mark


def remember(txn: Transaction, *, declined: bool = False) -> None:
    """Transaction `txn` was answered in this browser."""
    record = {
        "browser": _mark(),
        "service": txn.requester.name,
        "first_party": txn.requester.first_party,
        "continue": continue_target(txn),
        "declined": declined,
    }
    context.store().upsert(KIND, txn.id, record, TTL)


def recall(txn_id: str | None) -> Finished | None:
    """Transaction `txn_id`, if this browser finished it lately."""
    if not txn_id:
        return None
    record = context.store().find(KIND, txn_id)
    mark = session.get(BROWSER_MARK)
    if record is None or not isinstance(mark, str) or record.get("browser") != mark:
        return None
    service = "" if record.get("first_party") else str(record.get("service", ""))
    return Finished(service, str(record["continue"]), bool(record.get("declined")))


def continue_target(txn: Transaction) -> str:
    """Where "continue to the service" leads: the site of the service's registered
    redirect (checked when the request came: never an address of someone else's), the
    page the account centre's sign-in was for, or our account centre."""
    reference = txn.reference
    if txn.protocol == "account":
        return str(reference.get("next") or "/account")
    if txn.protocol == "device":
        return "/device/done"
    redirect_uri = str(reference.get("redirect_uri", ""))
    parts = urlsplit(redirect_uri)
    if parts.scheme in ("http", "https") and parts.netloc:
        return f"{parts.scheme}://{parts.netloc}/"
    return "/account"


def page(done: Finished) -> tuple[str, int]:
    """The "this step is done" page: 200, it is not an error."""
    return render_template("signin_done.html", done=done), 200
