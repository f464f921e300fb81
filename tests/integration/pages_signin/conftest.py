"""Fixtures of the OpenID provider tests, for the sign-in pages' Back and Refresh tests."""

from tests.integration.oidc.conftest import browser, register, rp  # noqa: F401
