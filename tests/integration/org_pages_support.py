"""Shared set-up for the account centre's organisation pages (/account/organizations):
accounts that sign in, a browser that posts forms with CSRF tokens, and lookups."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import date, timedelta
from itertools import count
from typing import Any

from sqlalchemy import func, select

from connectors import synthetic
from idp import context
from idp.db import db
from realname.agents import memberships_for
from realname.organizations import AgentAuthorisation, Membership, Organization
from tests.helpers import csrf_token, sign_in
from tests.integration.org_support import create_person

PAGE = "/account/organizations"
PASSWORD = "willow-ferry-2026"
_phones = count(17000000700)


@dataclass(frozen=True)
class Account:
    id: str
    phone: str
    username: str | None
    who: synthetic.SyntheticPerson | None


def new_account(app, who: synthetic.SyntheticPerson | None = None, username=None) -> Account:
    """A person who can sign in; real-named (loa 3) as `who` when given."""
    phone = str(next(_phones))
    with app.app_context():
        person = create_person(db.session, phone, PASSWORD, who, username=username)
        db.session.commit()
        return Account(person.id, phone, username, who)


def browser(app, account: Account, **headers: str) -> Any:
    client = app.test_client()
    if headers:
        client.environ_base.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    assert sign_in(client, account.phone, PASSWORD).headers["Location"] == "/account"
    return client


def post(client, path: str, **data: Any):
    return client.post(path, data={"csrf_token": csrf_token(client, PAGE), **data})


def said(page: str) -> str:
    """What a page says after a form: its notices, and the messages of a refused form (at
    its top and next to the field)."""
    notices = re.findall(r'class="notice[^"]*"[^>]*>([^<]*)<', page)
    summary = re.findall(r'<li><a href="#[^"]*">([^<]*)</a></li>', page)
    whole = re.findall(r'class="error-summary".*?<li>([^<]+)</li>', page, re.S)
    fields = re.findall(r'class="field-error"[^>]*>.*?</span> ([^<]*)<', page)
    return " ".join(html.unescape(m) for m in (*notices, *summary, *whole, *fields))


def flashed(client) -> str:
    """The page after a redirect: what it says (see `said`)."""
    return said(client.get(PAGE).get_data(as_text=True))


def section(page: str, section_id: str) -> str:
    """One <section> of the page, by its id."""
    start = page.index(f'id="{section_id}"')
    return page[start : page.index("</section>", start)]


def register(
    client,
    enterprise: synthetic.SyntheticEnterprise,
    name: str | None = None,
    agreement: str = "yes",
):
    return post(
        client,
        PAGE,
        uscc=enterprise.uscc,
        name=enterprise.name if name is None else name,
        agreement=agreement,
    )


def organization(app, uscc: str) -> Organization | None:
    with app.app_context():
        return db.session.scalar(select(Organization).where(Organization.uscc == uscc))


def count_rows(app, model) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(model))


def role_of(app, account: Account, uscc: str) -> str | None:
    with app.app_context():
        return db.session.scalar(
            select(Membership.role)
            .join(Membership.organization)
            .where(Membership.person_id == account.id, Organization.uscc == uscc)
        )


def authorisations(app, account: Account) -> list[AgentAuthorisation]:
    with app.app_context():
        return list(
            db.session.scalars(
                select(AgentAuthorisation)
                .join(AgentAuthorisation.membership)
                .where(Membership.person_id == account.id)
                .order_by(AgentAuthorisation.created_at)
            )
        )


def acts_for(app, account: Account) -> list[tuple[str, str]]:
    with app.app_context():
        person = context.accounts().find_by_login(db.session, account.phone)
        return [(c.organization.uscc, c.role) for c in memberships_for(db.session, person)]


def in_a_month() -> str:
    return (date.today() + timedelta(days=30)).isoformat()


def authorise(client, org_id: str, agent: str, scopes=("tax",), expires_on=None):
    return post(
        client,
        f"{PAGE}/{org_id}/agents",
        agent=agent,
        scopes=list(scopes),
        expires_on=expires_on or in_a_month(),
    )
