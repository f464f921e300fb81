"""Client credentials grant: a machine-to-machine token for the client itself.

The token carries only scopes registered for the client: asking for any other is
refused with `invalid_scope` (Authlib alone would put whatever was asked into the token).
Asking for none gets a token with an empty scope."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import InvalidScopeError, grants
from authlib.oauth2.rfc6749.util import scope_to_list

from idp.oidc.features import FEATURES


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(FEATURES.confidential_auth_methods)

    def validate_token_request(self) -> None:
        super().validate_token_request()  # authenticates the client, sets request.client
        asked = scope_to_list(self.request.payload.scope) or []
        unregistered = sorted(set(asked) - set(self.request.client.scopes))
        if unregistered:
            raise InvalidScopeError(
                description="not registered for this client: " + " ".join(unregistered)
            )
