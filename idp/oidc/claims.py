"""Which claims a scope (or the `claims` request parameter) releases, and their values."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.services import Accounts
from realname.agents import org_claim

LOA_PREFIX = "urn:cn:gov:idp:loa:"
REAL_NAME_LOA = 3
ACR_VALUES = [f"{LOA_PREFIX}{n}" for n in (2, 3, 4, 5)]

SCOPE_CLAIMS: dict[str, tuple[str, ...]] = {
    "openid": ("sub",),
    "profile": ("name", "preferred_username", "updated_at"),
    "phone": ("phone_number", "phone_number_verified"),
    "realname": ("name", "real_name_verified", "loa"),
    # The organisation the person acts for (legal representative, admin or agent).
    "org": ("org",),
    # The ID number itself: only for clients an administrator registered with this scope.
    "idcard": ("id_type", "id_number"),
    "offline_access": (),
}
SCOPES_SUPPORTED = list(SCOPE_CLAIMS)
CLAIMS_SUPPORTED = sorted(
    {c for claims in SCOPE_CLAIMS.values() for c in claims}
    | {"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp"}
)


class ClaimsRequestError(ValueError):
    pass


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]]:
    """OIDC Core 5.5: a JSON object with `userinfo` and/or `id_token` members."""
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except ValueError:
        raise ClaimsRequestError("the claims parameter is not valid JSON") from None
    if not isinstance(value, dict):
        raise ClaimsRequestError("the claims parameter must be a JSON object")
    parsed: dict[str, dict[str, Any]] = {}
    for target in ("userinfo", "id_token"):
        members = value.get(target) or {}
        if not isinstance(members, dict):
            raise ClaimsRequestError(f"claims.{target} must be a JSON object")
        for name, spec in members.items():
            if spec is not None and not isinstance(spec, dict):
                raise ClaimsRequestError(f"claims.{target}.{name} must be null or an object")
        parsed[target] = members
    return parsed


def essential_acr(claims: dict[str, dict[str, Any]]) -> list[str]:
    """acr values the RP marked essential in the claims parameter, if any."""
    spec = (claims.get("id_token") or {}).get("acr") or {}
    if not spec.get("essential"):
        return []
    values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
    return [v for v in values if isinstance(v, str)]


def loa_number(acr: str) -> int:
    try:
        return int(acr.removeprefix(LOA_PREFIX)) if acr.startswith(LOA_PREFIX) else 0
    except ValueError:
        return 0


RESTRICTED_CLAIMS = frozenset(SCOPE_CLAIMS["idcard"])


def released_claims(scope: str, claims_request: dict[str, Any] | None) -> set[str]:
    """Claims for the granted scope, plus those asked for by name; restricted claims (the
    ID number) only ever come through their scope, never through the claims parameter."""
    names = {c for s in scope.split() for c in SCOPE_CLAIMS.get(s, ())}
    for name in claims_request or {}:
        if name in CLAIMS_SUPPORTED and name not in RESTRICTED_CLAIMS:
            names.add(name)
    return names


def org_claims(
    session: Session, person: Person, act_for: str | None, names: set[str]
) -> dict[str, Any]:
    """`org` for the organisation chosen at sign-in, re-checked now: a revoked or expired
    authorisation gives nothing."""
    if "org" not in names or not act_for:
        return {}
    claim = org_claim(session, person, act_for)
    return {"org": claim} if claim else {}


def person_claims(person: Person, accounts: Accounts, names: set[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    if "name" in names and person.name:
        values["name"] = person.name
    if "preferred_username" in names and person.username:
        values["preferred_username"] = person.username
    if "real_name_verified" in names:
        values["real_name_verified"] = person.loa >= REAL_NAME_LOA
    if "loa" in names:
        values["loa"] = person.loa
    if "updated_at" in names:
        values["updated_at"] = int(person.updated_at.timestamp())
    if "id_number" in names and person.id_number_sealed and person.id_type:
        values["id_type"] = person.id_type
        values["id_number"] = accounts.sealer.open(
            person.id_number_sealed, f"persons|id_number|{person.id}"
        )
    if "phone_number" in names:
        phone = accounts.phone(person)
        if phone:
            values["phone_number"] = f"+86{phone}"
            values["phone_number_verified"] = bool(person.phone_verified)
    return values
