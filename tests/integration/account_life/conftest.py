"""The account-life tests use the OpenID provider tests' clients, browser and recording
relying parties (a closure must reach every RP)."""

from tests.integration.oidc.conftest import browser, register, rp
from tests.integration.oidc.test_backchannel_logout import rps

__all__ = ["browser", "register", "rp", "rps"]
