"""Transactions no page can answer: a device grant or a CIBA request approved on the app,
a kiosk's ID card and face. The proof opens a session on the transaction's channel (it is
the person's session at the kiosk or on the call, listed in the account centre and ended
with the others), and then the same checks as for every sign-in decide (idp/authn/policy.py),
none of which may show a page:

    proof (an approval's amr, a card + face)
        -> a session for the person on the transaction's channel (device: what approved)
        -> advance(): the checks, passive; the sign-in counts as the fresh one asked for
        -> Ready (the protocol issues tokens) | Refused (its error) | Halted (gone)
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from idp.accounts.sessions import SessionStore
from idp.authn import Outcome, Transactions, advance
from idp.authn.methods import Evidence, open_session
from idp.authn.transaction import Transaction


def settle(
    txns: Transactions,
    txn: Transaction,
    proof: Evidence,
    *,
    sessions: SessionStore,
    db: Session,
    consent_given: bool,
    device: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> Outcome:
    """The outcome of `txn` for the person `proof` is about. `consent_given`: the person
    saw who asks and what it will read where they approved (the app shows both)."""
    # Always a fresh approval (DESIGN.md: CIBA / device): the session opened here is it.
    txn.forced, txn.passive, txn.consent_given = True, True, consent_given
    txn.sign_in_asked, txn.stale_session, txn.sign_in_asked_at = True, None, txn.created_at
    _, sso = open_session(
        sessions, proof, channel=txn.channel, ip=ip, user_agent=user_agent, device=device
    )
    return advance(txns, txn, sso, db)
