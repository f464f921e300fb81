"""The OpenID provider tests' registered clients, for the pages that name them."""

from tests.integration.oidc.conftest import register  # noqa: F401 (a fixture)
