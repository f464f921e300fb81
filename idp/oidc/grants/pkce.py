"""PKCE (RFC 7636), S256 only: required for public clients, enforced when sent by others."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749 import InvalidRequestError
from authlib.oauth2.rfc7636 import CodeChallenge


class S256CodeChallenge(CodeChallenge):
    DEFAULT_CODE_CHALLENGE_METHOD = "S256"
    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        payload = grant.request.payload.data
        challenge, method = payload.get("code_challenge"), payload.get("code_challenge_method")
        if grant.request.client.public and not challenge:
            raise InvalidRequestError("PKCE is required: send code_challenge with method S256")
        if challenge and method != "S256":
            raise InvalidRequestError("code_challenge_method must be S256")
        super().validate_code_challenge(grant, redirect_uri)

    def get_authorization_code_challenge(self, authorization_code: Any) -> str | None:
        return authorization_code.data.get("code_challenge")

    def get_authorization_code_challenge_method(self, authorization_code: Any) -> str | None:
        return authorization_code.data.get("code_challenge_method")
