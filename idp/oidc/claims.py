"""OpenID Connect's side of claims: the `claims` request parameter, what a token of a
scope releases, and the claims' values. The release rules are idp/authn/release.py."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from sqlalchemy.orm import Session

from idp.accounts.models import Person
from idp.accounts.services import Accounts
from idp.authn.release import (  # the release rules, shared by every protocol
    ACR_VALUES,
    LOA_PREFIX,
    RESTRICTED_CLAIMS,
    SCOPE_CLAIMS,
    claims_by_name,
    loa_number,
    scope_claims,
)
from realname.agents import org_claim
from realname.proofing import REAL_NAME_LOA

SCOPES_SUPPORTED = list(SCOPE_CLAIMS)
CLAIMS_SUPPORTED = sorted(
    {c for claims in SCOPE_CLAIMS.values() for c in claims}
    | {"iss", "aud", "exp", "iat", "auth_time", "nonce", "acr", "amr", "sid", "azp"}
)


__all__ = [
    "ACR_VALUES",
    "CLAIMS_SUPPORTED",
    "LOA_PREFIX",
    "RESTRICTED_CLAIMS",
    "SCOPES_SUPPORTED",
    "SCOPE_CLAIMS",
    "claims_by_name",
    "loa_number",
    "scope_claims",
]


class ClaimsRequestError(ValueError):
    pass


# Far more than any real request (every supported claim with values, in both members),
# and small enough that parsing stays cheap and shallow.
MAX_CLAIMS_PARAMETER = 4096
_SPEC_KEYS = {"essential": bool, "value": str, "values": list}


def parse_claims_parameter(raw: str | None) -> dict[str, dict[str, Any]]:
    """OIDC Core 5.5: a JSON object with `userinfo` and/or `id_token` members, each an
    object of claim name -> null or {"essential": bool, "value": str, "values": [str]}.
    Anything else is a ClaimsRequestError (the RP gets invalid_request), never a crash."""
    if not raw:
        return {}
    if len(raw) > MAX_CLAIMS_PARAMETER:
        raise ClaimsRequestError("the claims parameter is too long")
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # RecursionError: "[[[[…" nested past the stack
        raise ClaimsRequestError("the claims parameter is not valid JSON") from None
    if not isinstance(value, dict):
        raise ClaimsRequestError("the claims parameter must be a JSON object")
    parsed: dict[str, dict[str, Any]] = {}
    for target in ("userinfo", "id_token"):
        members = value.get(target)
        if members is None:
            members = {}
        if not isinstance(members, dict):
            raise ClaimsRequestError(f"claims.{target} must be a JSON object")
        for name, spec in members.items():
            _check_spec(f"claims.{target}.{name}", spec)
        parsed[target] = members
    return parsed


def _check_spec(where: str, spec: Any) -> None:
    if spec is None:
        return
    if not isinstance(spec, dict):
        raise ClaimsRequestError(f"{where} must be null or an object")
    for key, kind in _SPEC_KEYS.items():
        if key in spec and not isinstance(spec[key], kind):
            raise ClaimsRequestError(f"{where}.{key} must be a {kind.__name__}")
    if not all(isinstance(v, str) for v in spec.get("values", [])):
        raise ClaimsRequestError(f"{where}.values must be a list of strings")


def essential_acr(claims: dict[str, dict[str, Any]]) -> list[str]:
    """acr values the RP marked essential in the claims parameter, if any."""
    spec = (claims.get("id_token") or {}).get("acr") or {}
    if spec.get("essential") is not True:
        return []
    values = spec.get("values") or ([spec["value"]] if "value" in spec else [])
    return [v for v in values if isinstance(v, str)]


def released_claims(
    scope: str, claims_request: dict[str, Any] | None, client_scopes: Iterable[str]
) -> set[str]:
    """What a token of `scope` releases: the claims of those of its scopes the client is
    registered for, plus the claims asked for by name that the client may have. The
    authorization step has already cut `claims_request` down to what the person
    consented to (`consented_request`)."""
    registered = set(client_scopes)
    names = scope_claims(s for s in scope.split() if s in registered)
    return names | claims_by_name(claims_request, registered)


def requested_names(claims: dict[str, dict[str, Any]]) -> set[str]:
    """Every claim named in a parsed `claims` parameter, in either member."""
    return set(claims.get("userinfo") or {}) | set(claims.get("id_token") or {})


def consented_request(
    claims: dict[str, dict[str, Any]], released: Iterable[str]
) -> dict[str, dict[str, Any]]:
    """The `claims` parameter cut down to the claims that will be released, for the code
    and the grant to carry: what was not consented to is never looked at again."""
    released = set(released)
    return {
        target: {n: spec for n, spec in members.items() if n in released}
        for target, members in claims.items()
    }


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
    if {"phone_number", "phone_number_verified"} & names:
        phone = accounts.phone(person)
        if phone and "phone_number" in names:
            values["phone_number"] = f"+86{phone}"
        if phone and "phone_number_verified" in names:
            values["phone_number_verified"] = bool(person.phone_verified)
    return values
