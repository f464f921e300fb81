"""Legal persons in the account centre (/account/organizations): register an enterprise by
its USCC, approve or reject registrations waiting for the legal representative, authorise
agents and revoke their authorisations. The rules live in realname/legal_persons.py and
realname/agents.py; these pages call them, commit on success and roll back on a refusal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from urllib.parse import urlencode

from flask import Blueprint, flash, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.db import db, utcnow
from idp.web.account import _current_person
from idp.web.org_words import error_text, list_of, role_label, scope_label
from idp.web.security import login_required
from realname import agreements
from realname.agents import (
    MANAGERS,
    MAX_AUTHORISATION_YEARS,
    authorise_agent,
    memberships_for,
    revoke_agent,
)
from realname.agreements import CURRENT, AgreementKind
from realname.legal_persons import (
    LegalPersonError,
    approve_registration,
    pending_approvals,
    register_organization,
    reject_registration,
)
from realname.organizations import (
    AGENT,
    AGENT_SCOPES,
    AgentAuthorisation,
    Membership,
    Organization,
)

bp = Blueprint("organizations", __name__, url_prefix="/account/organizations")

MAX_FIELD = 200  # longer input is cut before it reaches the rules (they refuse it anyway)
DEFAULT_TERM = timedelta(days=365)  # the expiry date the form suggests
CHINA_TIME = timezone(timedelta(hours=8), "CST")


# -- words on the pages ------------------------------------------------------------------
@bp.app_template_global()
def org_role_label(role: str) -> str:
    return role_label(role)


@bp.app_template_global()
def agent_scope_label(scope: str) -> str:
    return scope_label(scope)


@bp.app_template_filter("scope_labels")
def scope_labels(scopes: list[str]) -> str:
    return list_of([scope_label(scope) for scope in scopes])


# -- what the page shows ------------------------------------------------------------------
@dataclass(frozen=True)
class AgentRow:
    membership: Membership
    person: Person
    phone: str | None
    authorisation: AgentAuthorisation | None  # the newest one, active or not
    active: bool


@dataclass(frozen=True)
class ManagedOrg:
    organization: Organization
    role: str
    agents: list[AgentRow]


def _agents(session: Session, organization: Organization, now: datetime) -> list[AgentRow]:
    rows = session.execute(
        select(Membership, Person)
        .join(Person, Person.id == Membership.person_id)
        .where(Membership.organization_id == organization.id, Membership.role == AGENT)
        .order_by(Membership.created_at)
    ).all()
    accounts = context.accounts()
    agents = []
    for membership, person in rows:
        newest = max(membership.authorisations, key=lambda a: a.created_at, default=None)
        agents.append(
            AgentRow(
                membership=membership,
                person=person,
                phone=accounts.masked_phone(person),
                authorisation=newest,
                active=newest is not None and newest.active_at(now),
            )
        )
    return agents


def _waiting_for_rep(session: Session, person: Person) -> list[Organization]:
    """Registrations this person made that the legal representative has not approved."""
    return list(
        session.scalars(
            select(Organization)
            .join(Membership, Membership.organization_id == Organization.id)
            .where(Membership.person_id == person.id, Organization.approved_at.is_(None))
            .order_by(Organization.created_at)
        )
    )


def _expiry_bounds(now: datetime) -> tuple[date, date, date]:
    """The dates the expiry field offers (China time): first, suggested, last. The last is
    the day before the day three years on, so that its end is within the limit."""
    today = now.astimezone(CHINA_TIME).date()
    try:
        limit = today.replace(year=today.year + MAX_AUTHORISATION_YEARS)
    except ValueError:  # 29 February
        limit = today.replace(year=today.year + MAX_AUTHORISATION_YEARS, day=28)
    return today, min(today + DEFAULT_TERM, limit), limit - timedelta(days=1)


def end_of_day(day: date) -> datetime:
    """The last second of `day` in China, the moment an authorisation "until" it ends."""
    return datetime.combine(day, time(23, 59, 59), CHINA_TIME)


@bp.get("")
@login_required
def overview() -> str:
    person = _current_person()
    session, now = db.session, utcnow()
    choices = memberships_for(session, person, now=now)
    managed = [
        ManagedOrg(choice.organization, choice.role, _agents(session, choice.organization, now))
        for choice in choices
        if choice.role in MANAGERS
    ]
    first, suggested, last = _expiry_bounds(now)
    registrants = {}
    pending = pending_approvals(session, person, now=now)
    for organization in pending:
        if organization.registered_by is not None:
            registrant = session.get(Person, organization.registered_by)
            if registrant is not None:
                registrants[organization.id] = registrant
    return render_template(
        "organizations.html",
        person=person,
        choices=choices,
        managed=managed,
        pending=pending,
        registrants=registrants,
        waiting=_waiting_for_rep(session, person),
        scopes=list(AGENT_SCOPES),
        expiry_first=first.isoformat(),
        expiry_suggested=suggested.isoformat(),
        expiry_last=last.isoformat(),
        uscc=request.args.get("uscc", "")[:32],
        name=request.args.get("name", "")[:MAX_FIELD],
        real_named=person.id_number_index is not None and person.loa >= 3,
    )


# -- actions ------------------------------------------------------------------------------
def _back(anchor: str = "", **args: str) -> Response:
    query = f"?{urlencode(args)}" if args else ""
    return redirect(url_for("organizations.overview") + query + anchor, 303)


def _refused(error: LegalPersonError, anchor: str = "", **args: str) -> Response:
    db.session.rollback()
    flash(error_text(error), "error")
    return _back(anchor, **args)


def _organization(organization_id: str) -> Organization | None:
    return db.session.get(Organization, organization_id)


@bp.post("")
@login_required
def register() -> Response:
    person = _current_person()
    uscc = request.form.get("uscc", "")[:32]
    name = request.form.get("name", "")[:MAX_FIELD]
    if request.form.get("agreement") != "yes":
        flash(_("Please read and accept the registration agreement."), "error")
        return _back("#register")
    try:
        organization = register_organization(
            db.session,
            context.accounts(),
            context.connectors().enterprise,
            person,
            uscc,
            name,
            channel=g.sso.channel,
        )
    except LegalPersonError as error:
        # Both are public (printed on the business licence): the form keeps them.
        return _refused(error, "#register", uscc=uscc.strip(), name=name.strip())
    agreements.accept(db.session, person.id, CURRENT[AgreementKind.organization], g.sso.channel)
    db.session.commit()
    if organization.pending_approval:
        flash(
            _(
                "%(name)s is registered. Its legal representative must approve the "
                "registration before anyone can act for it.",
                name=organization.name,
            ),
            "info",
        )
        return _back("#waiting")
    flash(
        _("%(name)s is registered. You are its legal representative.", name=organization.name),
        "info",
    )
    return _back("#mine")


@bp.post("/<organization_id>/approve")
@login_required
def approve(organization_id: str) -> Response:
    person = _current_person()
    organization = _organization(organization_id)
    if organization is None:
        return _refused(LegalPersonError("not_pending"), "#pending")
    try:
        approve_registration(
            db.session,
            context.accounts(),
            context.connectors().enterprise,
            person,
            organization,
            channel=g.sso.channel,
        )
    except LegalPersonError as error:
        return _refused(error, "#pending")
    db.session.commit()
    flash(
        _("You approved the registration of %(name)s.", name=organization.name),
        "info",
    )
    return _back("#mine")


@bp.post("/<organization_id>/reject")
@login_required
def reject(organization_id: str) -> Response:
    person = _current_person()
    organization = _organization(organization_id)
    if organization is None:
        return _refused(LegalPersonError("not_pending"), "#pending")
    name = organization.name
    try:
        reject_registration(db.session, person, organization, channel=g.sso.channel)
    except LegalPersonError as error:
        return _refused(error, "#pending")
    db.session.commit()
    flash(_("You rejected the registration of %(name)s.", name=name), "info")
    return _back("#pending")


def _manages(person: Person, organization: Organization | None) -> Organization:
    """The organisation, if `person` may authorise agents for it; else not_permitted (asked
    before the agent is looked up, so that no one else learns who has an account)."""
    if organization is None:
        raise LegalPersonError("not_permitted")
    membership = db.session.scalar(
        select(Membership).where(
            Membership.organization_id == organization.id, Membership.person_id == person.id
        )
    )
    if membership is None or membership.role not in MANAGERS:
        raise LegalPersonError("not_permitted")
    return organization


def _expiry(raw: str) -> datetime:
    try:
        return end_of_day(date.fromisoformat(raw.strip()))
    except ValueError as exc:
        raise LegalPersonError("expiry_date") from exc


@bp.post("/<organization_id>/agents")
@login_required
def authorise(organization_id: str) -> Response:
    person = _current_person()
    anchor = f"#org-{organization_id}"
    try:
        organization = _manages(person, _organization(organization_id))
        expires_at = _expiry(request.form.get("expires_on", "")[:32])
        identifier = request.form.get("agent", "")[:MAX_FIELD].strip()
        agent = context.accounts().find_by_login(db.session, identifier) if identifier else None
        if agent is None:
            raise LegalPersonError("agent_not_found")
        authorise_agent(
            db.session,
            person,
            organization,
            agent,
            request.form.getlist("scopes"),
            expires_at,
            channel=g.sso.channel,
        )
    except LegalPersonError as error:
        return _refused(error, anchor)
    db.session.commit()
    flash(
        _(
            # Never the agent's name: a flash message travels in the readable cookie.
            "The agent may now act for %(name)s until %(until)s.",
            name=organization.name,
            until=expires_at.strftime("%Y-%m-%d %H:%M"),
        ),
        "info",
    )
    return _back(anchor)


@bp.post("/authorisations/<authorisation_id>/revoke")
@login_required
def revoke(authorisation_id: str) -> Response:
    person = _current_person()
    authorisation = db.session.get(AgentAuthorisation, authorisation_id)
    if authorisation is None:
        return _refused(LegalPersonError("not_permitted"), "#mine")
    organization = authorisation.membership.organization
    giving_up = authorisation.membership.person_id == person.id
    try:
        revoke_agent(db.session, person, authorisation, channel=g.sso.channel)
    except LegalPersonError as error:
        return _refused(error, "#mine")
    db.session.commit()
    if giving_up:
        flash(_("You no longer act for %(name)s.", name=organization.name), "info")
        return _back("#mine")
    flash(_("The authorisation has been revoked."), "info")
    return _back(f"#org-{organization.id}")
