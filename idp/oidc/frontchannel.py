"""OpenID Connect Front-Channel Logout 1.0: when SSO sessions end in a browser, every RP
that got tokens in them and registered a `frontchannel_logout_uri` is loaded in a hidden
iframe of the page shown after sign-out, so that it ends its own session in that browser.

sign-out (/logout, /end_session, the account centre)
    -> targets(sids): the clients of the sessions' grants with a frontchannel_logout_uri,
       read before the grants are revoked; one per client and session
    -> the sign-out (idp/flows/logout.py)
    -> the signed-out page embeds each target's `url`: the registered URI with `iss` and
       `sid` (that client's sid, as in its ID tokens and Logout Tokens; always sent, since
       discovery says frontchannel_logout_session_supported), its CSP allowing only their
       origins as frames
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

from idp.oidc.runtime import oidc

# what an origin may be made of in a CSP source list: no space, quote, comma or semicolon
# can end the directive early (the URI was checked at registration; this is the second lock)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.\-\[\]:]+$")


@dataclass(frozen=True)
class Target:
    """One RP to load in an iframe: session `sid` of this browser has ended for it."""

    client_id: str
    client_name: str
    url: str

    @property
    def origin(self) -> str | None:
        parts = urlsplit(self.url)
        origin = f"{parts.scheme}://{parts.netloc}"
        return origin if _ORIGIN.match(origin) else None


def targets(session_ids: Iterable[str]) -> list[Target]:
    """The RPs to load for the end of these SSO sessions, one per client and session.
    Call before the sessions' grants are revoked."""
    runtime = oidc()
    found: dict[tuple[str, str], Target] = {}
    for sid in session_ids:
        for grant in runtime.artifacts.session_grants(sid):
            client_id = grant["client_id"]
            if (client_id, sid) in found:
                continue
            client = runtime.clients.get(client_id)
            if client is None or not client.frontchannel_logout_uri:
                continue
            query = urlencode(
                {"iss": runtime.issuer, "sid": runtime.tokens.session_id(sid, client)}
            )
            uri = client.frontchannel_logout_uri
            url = f"{uri}{'&' if '?' in uri else '?'}{query}"
            found[(client_id, sid)] = Target(client_id, client.name, url)
    return [target for target in found.values() if target.origin is not None]
