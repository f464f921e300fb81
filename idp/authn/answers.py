"""What a protocol gives back to the browser once it has answered a transaction: a
redirect (an OIDC code or error, the account centre's page) or an error page for the
person (the requester's redirect is not proven, or the transaction is gone). SAML's
auto-posted form will be a third."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SendTo:
    location: str


@dataclass(frozen=True)
class ShowError:
    error: str
    description: str


Answer = SendTo | ShowError
