"""Picking an implementation by the vendor name configuration gives."""

from __future__ import annotations

import pytest

from connectors import factory
from connectors.enterprise.fake import FakeEnterpriseRegistry
from connectors.face.fake import FakeFaceVerifier
from connectors.http import DEFAULT_TIMEOUT
from connectors.population.fake import FakePopulationRegistry
from connectors.population.govjson import GovJsonPopulationRegistry
from connectors.sms import SmsOutbox
from connectors.sms.fake import FakeSmsGateway
from connectors.sms.govjson import GovJsonSmsGateway

ENDPOINT = factory.Endpoint("http://127.0.0.1:8101", bytes(32))


def test_govjson_builds_the_http_adapter_with_a_three_second_default_timeout() -> None:
    assert DEFAULT_TIMEOUT == 3.0
    registry = factory.population_registry("govjson", ENDPOINT)
    assert isinstance(registry, GovJsonPopulationRegistry)
    assert registry._client.timeout == 3.0


def test_fake_builds_in_memory_implementations_over_synthetic_data() -> None:
    assert isinstance(factory.population_registry("fake"), FakePopulationRegistry)
    assert isinstance(factory.enterprise_registry("fake"), FakeEnterpriseRegistry)
    assert isinstance(factory.face_verifier("fake"), FakeFaceVerifier)
    assert isinstance(factory.sms_gateway("fake"), FakeSmsGateway)


def test_both_sms_gateways_offer_an_outbox() -> None:
    assert isinstance(factory.sms_gateway("fake"), SmsOutbox)
    gateway = factory.sms_gateway("govjson", ENDPOINT)
    assert isinstance(gateway, GovJsonSmsGateway) and isinstance(gateway, SmsOutbox)


def test_an_unknown_vendor_or_missing_endpoint_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown connector vendor 'acme'"):
        factory.population_registry("acme", ENDPOINT)
    with pytest.raises(ValueError, match="needs an endpoint"):
        factory.sms_gateway("govjson")


@pytest.mark.parametrize(
    ("url", "key", "timeout", "message"),
    [
        ("ftp://x", bytes(32), 3.0, "absolute http"),
        ("127.0.0.1:8101", bytes(32), 3.0, "absolute http"),
        ("http://127.0.0.1:8101", bytes(8), 3.0, "at least 16 bytes"),
        ("http://127.0.0.1:8101", bytes(32), 0, "timeout must be positive"),
    ],
)
def test_bad_endpoints_are_refused_at_construction(
    url: str, key: bytes, timeout: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        factory.population_registry("govjson", factory.Endpoint(url, key, timeout))


def test_the_key_stays_out_of_repr() -> None:
    assert "key" not in repr(ENDPOINT)
