"""Legal persons in the account centre (/account/organizations): register an enterprise by
its USCC, approve or reject registrations waiting for the legal representative, authorise
agents and revoke their authorisations. The rules live in realname/legal_persons.py and
realname/agents.py; these pages call them, commit on success and roll back on a refusal.

The page holds several forms. Every POST answers with a redirect to the section of the
form that was sent, and that section says what happened: a refusal at the top of the
form and next to the field it is about (idp/web/forms.py, what was typed kept), or the
success in its own words."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from idp import context
from idp.accounts.models import Person
from idp.db import db, utcnow
from idp.web import forms
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
from realname.identifiers import RULE_MESSAGES
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
PAGE_FORM = "organizations"  # one kept state for the page; `form_of` says which form
# The field of the register form each refusal is about (the rest are the form's).
REGISTER_FIELDS = {
    **dict.fromkeys(("not_found", "not_active", "already_registered", "pending_approval"), "uscc"),
    **dict.fromkeys(("name", "name_mismatch"), "org-name"),
}
# ... and of an authorise form (suffixed with the organisation's id on the page).
AUTHORISE_FIELDS = {
    **dict.fromkeys(("agent_not_found", "agent_not_real_named", "role_conflict"), "agent"),
    **dict.fromkeys(("no_scopes", "unknown_scope"), "scopes"),
    **dict.fromkeys(("expiry_date", "expiry_past", "expiry_too_far"), "expires"),
}
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
    waiting = _waiting_for_rep(session, person)
    shown = {"mine", "register", *(f"org-{org.organization.id}" for org in managed)}
    shown |= {name for name, there in (("pending", pending), ("waiting", waiting)) if there}
    kept = forms.refused(PAGE_FORM)
    # A message for a section no longer on the page (nothing left pending, or no rights
    # over that organisation) is said at the top, in "mine".
    said_in = kept.value("form_of") if kept.value("form_of") in shown else "mine"
    return render_template(
        "organizations.html",
        form_of=lambda section: kept if section == said_in else forms.EMPTY,
        person=person,
        choices=choices,
        managed=managed,
        pending=pending,
        registrants=registrants,
        waiting=waiting,
        scopes=list(AGENT_SCOPES),
        expiry_first=first.isoformat(),
        expiry_suggested=suggested.isoformat(),
        expiry_last=last.isoformat(),
        real_named=person.id_number_index is not None and person.loa >= 3,
    )


# -- actions ------------------------------------------------------------------------------
def _back(section: str) -> Response:
    return redirect(url_for("organizations.overview") + f"#{section}", 303)


def _said(section: str, text: str) -> Response:
    """Done: say so in the section of the form that was sent."""
    forms.refuse(PAGE_FORM, {}, {"form_of": section, "notice": text})
    return _back(section)


def _refused(
    error: LegalPersonError,
    section: str,
    field: str = forms.WHOLE_FORM,
    typed: dict[str, str] | None = None,
) -> Response:
    """Refused: nothing changes; the section says why, next to `field` (its id on the
    page), with what was typed."""
    db.session.rollback()
    forms.refuse(PAGE_FORM, {field: error_text(error)}, {**(typed or {}), "form_of": section})
    return _back(section)


def _organization(organization_id: str) -> Organization | None:
    return db.session.get(Organization, organization_id)


@bp.post("")
@login_required
def register() -> Response:
    person = _current_person()
    uscc = request.form.get("uscc", "")[:32]
    name = request.form.get("name", "")[:MAX_FIELD]
    # Both are public (printed on the business licence): the form keeps them.
    typed = {"uscc": uscc.strip(), "org-name": name.strip(), "agreement": "no"}
    if request.form.get("agreement") != "yes":
        forms.refuse(
            PAGE_FORM,
            {"org-agreement": _("Please read and accept the registration agreement.")},
            {**typed, "form_of": "register"},
        )
        return _back("register")
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
        field = "uscc" if error.code in RULE_MESSAGES else REGISTER_FIELDS.get(error.code, "")
        return _refused(error, "register", field, {**typed, "agreement": "yes"})
    agreements.accept(db.session, person.id, CURRENT[AgreementKind.organization], g.sso.channel)
    db.session.commit()
    if organization.pending_approval:
        return _said(
            "waiting",
            _(
                "%(name)s is registered. Its legal representative must approve the "
                "registration before anyone can act for it.",
                name=organization.name,
            ),
        )
    return _said(
        "mine",
        _("%(name)s is registered. You are its legal representative.", name=organization.name),
    )


@bp.post("/<organization_id>/approve")
@login_required
def approve(organization_id: str) -> Response:
    person = _current_person()
    organization = _organization(organization_id)
    if organization is None:
        return _refused(LegalPersonError("not_pending"), "pending")
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
        return _refused(error, "pending")
    db.session.commit()
    return _said("mine", _("You approved the registration of %(name)s.", name=organization.name))


@bp.post("/<organization_id>/reject")
@login_required
def reject(organization_id: str) -> Response:
    person = _current_person()
    organization = _organization(organization_id)
    if organization is None:
        return _refused(LegalPersonError("not_pending"), "pending")
    name = organization.name
    try:
        reject_registration(db.session, person, organization, channel=g.sso.channel)
    except LegalPersonError as error:
        return _refused(error, "pending")
    db.session.commit()
    # The section goes when nothing is left to approve: say it at the top of the page.
    return _said("mine", _("You rejected the registration of %(name)s.", name=name))


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
    section = f"org-{organization_id}"
    typed = {
        f"agent-{organization_id}": request.form.get("agent", "")[:MAX_FIELD],
        f"expires-{organization_id}": request.form.get("expires_on", "")[:32],
        "scopes": ",".join(request.form.getlist("scopes"))[:MAX_FIELD],
    }
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
        field = AUTHORISE_FIELDS.get(error.code)
        return _refused(error, section, f"{field}-{organization_id}" if field else "", typed)
    db.session.commit()
    return _said(
        section,
        _(
            "The agent may now act for %(name)s until %(until)s.",
            name=organization.name,
            until=expires_at.strftime("%Y-%m-%d %H:%M"),
        ),
    )


@bp.post("/authorisations/<authorisation_id>/revoke")
@login_required
def revoke(authorisation_id: str) -> Response:
    person = _current_person()
    authorisation = db.session.get(AgentAuthorisation, authorisation_id)
    if authorisation is None:
        return _refused(LegalPersonError("not_permitted"), "mine")
    organization = authorisation.membership.organization
    giving_up = authorisation.membership.person_id == person.id
    try:
        revoke_agent(db.session, person, authorisation, channel=g.sso.channel)
    except LegalPersonError as error:
        return _refused(error, "mine")
    db.session.commit()
    if giving_up:
        return _said("mine", _("You no longer act for %(name)s.", name=organization.name))
    return _said(f"org-{organization.id}", _("The authorisation has been revoked."))
