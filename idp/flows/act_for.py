"""Act for: a person who may act for organisations says whom they act for this time.

CHOOSING --myself | one of my organisations (re-checked now)--> the checks go on
         '--anything else--> halted (nothing recorded)
"""

from __future__ import annotations

from idp import context
from idp.accounts.models import Person
from idp.accounts.sessions import SsoSession
from idp.authn import Halted, Outcome, Transactions, advance, waiting
from idp.authn.transaction import State
from idp.db import db
from realname.agents import memberships_for

MYSELF = "self"


def choose(txn_id: str, sso: SsoSession | None, choice: str) -> Outcome:
    txns = Transactions(context.store())
    txn = waiting(txns, txn_id, State.choosing, sso)
    if isinstance(txn, Halted):
        return txn
    assert sso is not None
    person = db.session.get(Person, sso.person_id)
    allowed = {m.organization.id for m in memberships_for(db.session, person)} if person else set()
    if choice != MYSELF and choice not in allowed:
        return Halted("invalid_request", "you cannot act for that organisation")
    txn.act_for = None if choice == MYSELF else choice
    txn.act_for_chosen = True
    return advance(txns, txn, sso, db.session)
