"""Client credentials grant: a machine-to-machine token for the client itself."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import grants


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post", "private_key_jwt"]
