"""Build the implementation configuration names, so domain code never imports one.

Vendors: `govjson` speaks our signed-JSON protocol (the reference services speak it
too) and needs an `Endpoint`; `fake` answers in memory from synthetic data, for unit
tests and offline demos.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from connectors import synthetic
from connectors.enterprise import EnterpriseRegistry
from connectors.face import FaceVerifier
from connectors.http import DEFAULT_TIMEOUT
from connectors.population import PopulationRegistry
from connectors.sms import SmsGateway

__all__ = [
    "VENDORS",
    "Endpoint",
    "enterprise_registry",
    "face_verifier",
    "population_registry",
    "sms_gateway",
]

VENDORS = ("govjson", "fake")


@dataclass(frozen=True)
class Endpoint:
    url: str
    key: bytes = field(repr=False)
    timeout: float = DEFAULT_TIMEOUT


def _endpoint(vendor: str, endpoint: Endpoint | None) -> Endpoint | None:
    if vendor not in VENDORS:
        raise ValueError(f"unknown connector vendor {vendor!r} (known: {', '.join(VENDORS)})")
    if vendor == "govjson" and endpoint is None:
        raise ValueError("the govjson vendor needs an endpoint (URL and key)")
    return endpoint if vendor == "govjson" else None


def population_registry(
    vendor: str, endpoint: Endpoint | None = None, data: synthetic.Dataset | None = None
) -> PopulationRegistry:
    if ep := _endpoint(vendor, endpoint):
        from connectors.population.govjson import GovJsonPopulationRegistry

        return GovJsonPopulationRegistry(ep.url, ep.key, ep.timeout)
    from connectors.population.fake import FakePopulationRegistry

    return FakePopulationRegistry((data or synthetic.generate()).persons)


def enterprise_registry(
    vendor: str, endpoint: Endpoint | None = None, data: synthetic.Dataset | None = None
) -> EnterpriseRegistry:
    if ep := _endpoint(vendor, endpoint):
        from connectors.enterprise.govjson import GovJsonEnterpriseRegistry

        return GovJsonEnterpriseRegistry(ep.url, ep.key, ep.timeout)
    from connectors.enterprise.fake import FakeEnterpriseRegistry

    return FakeEnterpriseRegistry((data or synthetic.generate()).enterprises)


def sms_gateway(vendor: str, endpoint: Endpoint | None = None) -> SmsGateway:
    """Both implementations also satisfy `SmsOutbox` (check with isinstance)."""
    if ep := _endpoint(vendor, endpoint):
        from connectors.sms.govjson import GovJsonSmsGateway

        return GovJsonSmsGateway(ep.url, ep.key, ep.timeout)
    from connectors.sms.fake import FakeSmsGateway

    return FakeSmsGateway()


def face_verifier(
    vendor: str, endpoint: Endpoint | None = None, data: synthetic.Dataset | None = None
) -> FaceVerifier:
    if ep := _endpoint(vendor, endpoint):
        from connectors.face.govjson import GovJsonFaceVerifier

        return GovJsonFaceVerifier(ep.url, ep.key, ep.timeout)
    from connectors.face.fake import FakeFaceVerifier

    return FakeFaceVerifier(p.photo_template_id for p in (data or synthetic.generate()).persons)
