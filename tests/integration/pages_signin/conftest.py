"""Fixtures of the OpenID provider and channel tests, for the sign-in pages' Back and
Refresh tests."""

from tests.integration.channels.test_step_up_app import me  # noqa: F401
from tests.integration.oidc.conftest import browser, register, rp  # noqa: F401
