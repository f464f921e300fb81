"""The record of one OpenID CIBA request (idp/oidc/ciba.py makes it, the CIBA grant at
/token reads it, idp/channels/hotline.py and idp/oidc/ciba_ping.py look it up): who
asked, for whom, which transaction and approval it waits on, its expiry, the polling
interval and when it was last polled, and why it ended without tokens, if it did.

Kept in Redis a while past its expiry, so that a late poll is told `expired_token`
rather than `invalid_grant`. A poll and every change are one Lua step each.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from idp.store import ArtifactStore, key

KIND = "ciba-request"
INTERVAL = 5  # seconds between polls (section 7.3), raised by SLOW_DOWN_STEP each slow_down
SLOW_DOWN_STEP = 5
POLL_GRACE_MS = 250  # network jitter: a poll this much early is not "too fast"
KEPT_AFTER_EXPIRY = 600  # a late poll is told expired_token, not invalid_grant
UNKNOWN_REQUEST = "unknown auth_req_id"
_AUTH_REQ_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass
class CibaRequest:
    client_id: str
    txn_id: str  # the authentication transaction (idp/authn)
    approval_id: str  # what the person answers in the app (or by SMS read-back)
    person_id: str
    expires_at: int
    mode: str  # poll | ping
    interval: int = INTERVAL
    notification_token: str | None = None  # ping mode: the desk's bearer for its endpoint
    id: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # auth_req_id
    polled_at: int = 0  # milliseconds, the last poll while it waited
    refusal: str | None = None  # why no tokens will come (access_denied's description)
    sms_flow: str | None = None  # the code sent for an SMS read-back (idp/channels/hotline.py)

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires_at


# One poll of a waiting request (KEYS[1]). ARGV: 1 the polling client, 2 now (ms), 3 the
# grace (ms), 4 the slow-down step (s). Too soon after the last poll: the interval grows
# and {2, interval}; else {1, interval}; another client's: {0, 0}, nothing changed.
_POLL = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local r = cjson.decode(raw)
if r.client_id ~= ARGV[1] then return {0, 0} end
local now, outcome = tonumber(ARGV[2]), 1
if r.polled_at > 0 and now - r.polled_at < r.interval * 1000 - tonumber(ARGV[3]) then
  r.interval = r.interval + tonumber(ARGV[4])
  outcome = 2
end
r.polled_at = now
redis.call('SET', KEYS[1], cjson.encode(r), 'KEEPTTL')
return {outcome, r.interval}
"""
# Set fields (ARGV[1], a JSON object) of a request (KEYS[1]) that has none of them set yet
# (ARGV[2]: '1' to require that); the record keeps its TTL. The record, or false.
_SET = """
local raw = redis.call('GET', KEYS[1])
if not raw then return false end
local r = cjson.decode(raw)
local fields = cjson.decode(ARGV[1])
if ARGV[2] == '1' then
  for k, _ in pairs(fields) do if r[k] ~= cjson.null then return {0, raw} end end
end
for k, v in pairs(fields) do r[k] = v end
raw = cjson.encode(r)
redis.call('SET', KEYS[1], raw, 'KEEPTTL')
return {1, raw}
"""


class CibaRequests:
    """The store of CIBA requests (Redis; each kept a while past its expiry)."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def create(self, request: CibaRequest) -> CibaRequest:
        ttl = request.expires_at - int(time.time()) + KEPT_AFTER_EXPIRY
        if not self.store.add_once(KIND, request.id, asdict(request), ttl):
            raise RuntimeError("an auth_req_id was drawn twice")  # 256 random bits: never
        return request

    def find(self, auth_req_id: str | None) -> CibaRequest | None:
        if not auth_req_id or not _AUTH_REQ_ID.fullmatch(auth_req_id):
            return None
        record = self.store.find(KIND, auth_req_id)
        return CibaRequest(**record) if record else None

    def poll(self, auth_req_id: str, client_id: str) -> tuple[bool, int]:
        """Count a poll of a waiting request: (too soon, the interval from now on)."""
        found = self.store.run(
            _POLL,
            [key(KIND, auth_req_id)],
            [client_id, int(time.time() * 1000), POLL_GRACE_MS, SLOW_DOWN_STEP],
        )
        if not found or int(found[0]) == 0:
            return False, INTERVAL
        return int(found[0]) == 2, int(found[1])

    def set(self, auth_req_id: str, *, first: bool = False, **fields: Any) -> bool:
        """Set `fields` on the request; with `first`, only if none of them is set yet
        (True: this call set them)."""
        found = self.store.run(
            _SET, [key(KIND, auth_req_id)], [json.dumps(fields), "1" if first else "0"]
        )
        return bool(found) and int(found[0]) == 1
