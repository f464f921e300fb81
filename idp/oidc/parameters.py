"""Request parameters Authlib must not see as they came.

RFC 6749 3.1 and 3.2: request parameters MUST NOT be included more than once. Authlib
reads the first of several values (or any of them, depending on where it looks), so a
second `redirect_uri` or `grant_type` would otherwise be ignored by one check and used by
another. A parameter in the query string and again in the body counts twice too: Authlib
reads both as one set of parameters. The authorization endpoint refuses repeats in
idp/flows/authorize.py; the token, introspection and revocation endpoints here.

Authlib quotes some parameters in its error descriptions, and refuses (ValueError, a 500)
to build one holding a character RFC 6749 5.2 forbids there. Those parameters are ASCII
by their own grammar (a response type, a URI), so anything else is refused first.
"""

from __future__ import annotations

import re

from authlib.oauth2.rfc6749 import InvalidRequestError, OAuth2Request

# RFC 6749 5.2: the characters an error_description may hold (ASCII but '"' and '\\')
DESCRIPTION_CHARS = r"\x20\x21\x23-\x5b\x5d-\x7e"
DESCRIBABLE = re.compile(f"[{DESCRIPTION_CHARS}]*")
# what Authlib's authorization endpoint quotes in its errors
QUOTED_AT_AUTHORIZE = ("response_type", "redirect_uri")


def refuse_repeated_parameters(request: OAuth2Request) -> None:
    """Raise `invalid_request` naming the first parameter sent more than once."""
    for name, values in request.payload.datalist.items():
        if len(values) > 1:
            raise InvalidRequestError(description=f"parameter {name} sent more than once")


def refuse_unquotable_parameters(request: OAuth2Request) -> None:
    """Raise `invalid_request` for a parameter Authlib would quote in an error that holds
    a character no error may (a NUL, a quote, a non-ASCII character)."""
    for name in QUOTED_AT_AUTHORIZE:
        value = request.payload.data.get(name)
        if value is not None and not DESCRIBABLE.fullmatch(value):
            raise InvalidRequestError(
                description=f"parameter {name} holds a character not allowed in it"
            )
