"""The device authorization endpoint (RFC 8628 3.1, 3.2): a kiosk or a TV asks to sign a
person in, and is given a code to poll with and a code for the person.

    POST /device_authorization (client authenticated as at /token; public clients too)
        -> an authentication transaction (kind device, the client's channel, the level
           from acr_values, the scopes asked for), an approval on the app for it, found by
           the user code (idp/authn/approvals.py), and a device code record, stored by its
           SHA-256 only (`DeviceCodes`)
        <- device_code, user_code (XXXX-XXXX), verification_uri ({issuer}/device),
           verification_uri_complete (the same with ?user_code=, shown as a QR the app
           scans), expires_in, interval

The person answers on the app (it scans the QR) or in any browser (idp/flows/device.py);
the kiosk's polls are the grant's (idp/oidc/grants/device_code.py), which counts them
here, in one step per poll (`DeviceCodes.poll`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass
from typing import Any

from authlib.consts import default_json_headers
from authlib.oauth2.rfc6749 import InvalidScopeError, UnauthorizedClientError
from authlib.oauth2.rfc6749.endpoint import Endpoint
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint as _DeviceAuthorization

from idp.audit.events import Event
from idp.authn.approvals import Approval, ApprovalKind, Approvals, user_code_alias
from idp.authn.release import loa_number
from idp.authn.transaction import TTL, Kind, Requester, Transaction, Transactions
from idp.oidc.features import DEVICE_CODE_GRANT, FEATURES
from idp.oidc.models import Client
from idp.oidc.parameters import refuse_repeated_parameters
from idp.store import ArtifactStore, key

PROTOCOL = "device"  # the transactions this grant answers (idp/web/transactions.py)
VERIFICATION_PATH = "/device"  # the page a person types the user code into
# RFC 8628 6.1: 20 consonants, no vowels (no words), nothing that looks like a digit;
# 8 of them are 34.6 bits, and a page stops taking codes after a few wrong ones.
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"
USER_CODE_LENGTH = 8
KIND = "device-code"
# A device code's record outlives its codes a little, so that a late poll hears
# expired_token rather than invalid_grant.
AFTERLIFE = 300
SLOW_DOWN_STEP = 5  # RFC 8628 3.5: seconds added to the interval at each slow_down


def user_code() -> str:
    """A new user code as shown to the person: XXXX-XXXX."""
    half = USER_CODE_LENGTH // 2
    letters = [secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH)]
    return "".join(letters[:half]) + "-" + "".join(letters[half:])


def device_code_id(device_code: str) -> str:
    """What a device code is stored under: its SHA-256 (the code itself is never stored)."""
    return hashlib.sha256(device_code.encode()).hexdigest()


@dataclass
class DeviceCode:
    """What the provider keeps about a device code, under its digest."""

    client_id: str
    approval_id: str
    txn_id: str
    expires_at: int
    interval: int  # seconds the client must leave between polls; grows with slow_down
    last_poll_ms: int = 0  # 0: never polled

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


# One poll (KEYS[1] the device code's record). ARGV: 1 the polling client, 2 now (ms),
# 3 the interval's step. Another client's poll changes nothing; a poll sooner than the
# interval after the last one grows the interval (RFC 8628 3.5). Returns false when the
# record is gone, {'other'} for another client, else {'ok' | 'slow', the record}.
_POLL = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local d = cjson.decode(raw)
if d.client_id ~= ARGV[1] then return {'other'} end
local now = tonumber(ARGV[2])
local verdict = 'ok'
if d.last_poll_ms > 0 and now - d.last_poll_ms < d.interval * 1000 then
  d.interval = d.interval + tonumber(ARGV[3])
  verdict = 'slow'
end
d.last_poll_ms = now
raw = cjson.encode(d)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return {verdict, raw}
"""


class DeviceCodes:
    """The device codes handed out (Redis, each with its TTL)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def add(self, device_code: str, record: DeviceCode) -> None:
        ttl = record.expires_at - int(time.time()) + AFTERLIFE
        self.store.upsert(KIND, device_code_id(device_code), asdict(record), ttl)

    def poll(self, device_code: str, client_id: str) -> tuple[str, DeviceCode | None]:
        """('ok' | 'slow', the record) for the client the code was issued to, counted as
        a poll; ('unknown', None) for a code that does not exist or is another client's."""
        found = self.store.run(
            _POLL,
            [key(KIND, device_code_id(device_code))],
            [client_id, int(time.time() * 1000), SLOW_DOWN_STEP],
        )
        if not found or len(found) < 2:
            return "unknown", None
        verdict = found[0].decode() if isinstance(found[0], bytes) else str(found[0])
        return verdict, _record(found[1])


def _record(raw: bytes | str) -> DeviceCode:
    return DeviceCode(**json.loads(raw))


class DeviceAuthorizationEndpoint(_DeviceAuthorization, Endpoint):
    """RFC 8628 3.1: Authlib's endpoint (an Endpoint the server registers, as every other
    one), answered with our transaction and approval."""

    CLIENT_AUTH_METHODS = list(FEATURES.client_auth_methods)
    EXPIRES_IN = TTL  # the transaction's lifetime: the codes never outlive it
    INTERVAL = 5

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], Any]:
        refuse_repeated_parameters(request)
        client: Client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_CODE_GRANT):
            raise UnauthorizedClientError(
                description="this client is not registered for the device authorization grant"
            )
        scopes = _scopes(request.payload.scope, client)
        now = int(time.time())
        txn = Transaction(
            kind=Kind.device,
            requester=requester_for(client),
            protocol=PROTOCOL,
            reference={"client_id": client.client_id},
            channel=client.channel,
            level=_level(request.payload.data.get("acr_values")),
            scopes=scopes,
            created_at=now,
        )
        device_code, typed = self.generate_device_code(), self.generate_user_code()
        approval = Approval(
            kind=ApprovalKind.device,
            txn_id=txn.id,
            client_name=client.name,
            expires_at=now + self.EXPIRES_IN,
            scopes=scopes,
            level=txn.level,
        )
        store = self.server.artifacts.store
        Transactions(store).save(txn)
        Approvals(store).create(approval, alias=user_code_alias(typed))
        DeviceCodes(store).add(
            device_code,
            DeviceCode(client.client_id, approval.id, txn.id, approval.expires_at, self.INTERVAL),
        )
        self.server.record(
            request,
            Event.device_authorization_requested,
            actor=f"client:{client.client_id}",
            detail={"client_id": client.client_id, "scope": " ".join(scopes), "level": txn.level},
        )
        verification_uri = self.get_verification_uri()
        return (
            200,
            {
                "device_code": device_code,
                "user_code": typed,
                "verification_uri": verification_uri,
                "verification_uri_complete": f"{verification_uri}?user_code={typed}",
                "expires_in": self.EXPIRES_IN,
                "interval": self.INTERVAL,
            },
            default_json_headers,
        )

    def generate_device_code(self) -> str:
        return secrets.token_urlsafe(32)  # 256 bits from the OS in one call

    def generate_user_code(self) -> str:
        return user_code()

    def get_verification_uri(self) -> str:
        return f"{self.server.issuer}{VERIFICATION_PATH}"


def requester_for(client: Client) -> Requester:
    """Who asks, as the transaction knows it (as idp/oidc/authorize.py builds it)."""
    return Requester(
        id=client.client_id,
        name=client.name,
        sector=client.sector_identifier,
        first_party=client.first_party,
        scopes=tuple(client.scopes),
    )


def _scopes(asked: str | None, client: Client) -> list[str]:
    """The scopes asked for: at least one, every one registered for the client (a scope
    left out silently would change what the person is shown on the app)."""
    scopes = list(dict.fromkeys((asked or "").split()))
    if not scopes:
        raise InvalidScopeError(description="ask for the scopes the device needs")
    if not set(scopes) <= set(client.scopes):
        raise InvalidScopeError(description="a scope asked for is not registered for this client")
    return scopes


def _level(acr_values: str | None) -> int:
    """The lowest level among acr_values (any of them satisfies the client); 0: any."""
    wanted = [n for n in (loa_number(v) for v in (acr_values or "").split()) if n > 0]
    return min(wanted) if wanted else 0
