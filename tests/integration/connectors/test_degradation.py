"""What the adapters do when a reference service (a real separate process) misbehaves:
every failure is ConnectorUnavailable, quickly, and never a half-believed answer.

Mapping under test: slow → timeout → unavailable; 503 → unavailable with Retry-After;
nothing listening → unavailable; our key or clock refused (401) → unavailable; an
answer altered after signing → unavailable. Requests without a valid, fresh, unused
signature are refused by the service.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests

from connectors import signing, synthetic
from connectors.enterprise.govjson import GovJsonEnterpriseRegistry
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face.govjson import GovJsonFaceVerifier
from connectors.http import set_mode
from connectors.population.govjson import GovJsonPopulationRegistry
from connectors.sms.govjson import GovJsonSmsGateway
from tests.integration.connectors.conftest import DATASET, KEY, ReferenceProcess
from tests.servers import free_port

PERSON = DATASET.persons_with("alive")[0]
IMAGE = synthetic.face_image(PERSON.photo_template_id)
ADAPTERS: dict[str, Any] = {
    "population": GovJsonPopulationRegistry,
    "enterprise": GovJsonEnterpriseRegistry,
    "sms": GovJsonSmsGateway,
    "face": GovJsonFaceVerifier,
}
# One real question per kind, so each adapter's main method is shown to degrade cleanly.
ASK: dict[str, Callable[[Any], object]] = {
    "population": lambda a: a.verify(PERSON.name, PERSON.id_number),
    "enterprise": lambda a: a.lookup(DATASET.enterprises[0].uscc),
    "sms": lambda a: a.send("17000000101", "verification_code", {"code": "1", "minutes": "5"}),
    "face": lambda a: a.verify(PERSON.photo_template_id, IMAGE, synthetic.liveness_token(IMAGE)),
}
KINDS = list(ADAPTERS)


@pytest.mark.parametrize("kind", KINDS)
def test_a_slow_service_is_unavailable_within_the_timeout(
    kind: str, reference: Callable[[str], ReferenceProcess]
) -> None:
    process = reference(kind)
    process.set_mode("slow", delay=2.0)
    adapter = ADAPTERS[kind](process.url, KEY, timeout=0.4)
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match=r"did not answer within 0\.4s"):
        ASK[kind](adapter)
    assert time.monotonic() - started < 1.2


@pytest.mark.parametrize("kind", KINDS)
def test_a_failing_service_is_unavailable_with_a_retry_hint(
    kind: str, reference: Callable[[str], ReferenceProcess]
) -> None:
    process = reference(kind)
    process.set_mode("fail")
    with pytest.raises(ConnectorUnavailable, match="answered 503") as caught:
        ASK[kind](ADAPTERS[kind](process.url, KEY))
    assert caught.value.retry_after == 30.0


@pytest.mark.parametrize("kind", KINDS)
def test_a_tampered_answer_is_refused(
    kind: str, reference: Callable[[str], ReferenceProcess]
) -> None:
    process = reference(kind)
    process.set_mode("tamper")
    with pytest.raises(ConnectorUnavailable, match="no valid signature"):
        ASK[kind](ADAPTERS[kind](process.url, KEY))


@pytest.mark.parametrize("kind", KINDS)
def test_a_wrong_key_is_refused_by_the_service(
    kind: str, reference: Callable[[str], ReferenceProcess]
) -> None:
    adapter = ADAPTERS[kind](reference(kind).url, bytes(32))
    with pytest.raises(ConnectorUnavailable, match="refused our signature"):
        ASK[kind](adapter)


def test_service_recovers_when_put_back_to_normal(
    reference: Callable[[str], ReferenceProcess],
) -> None:
    process = reference("population")
    adapter = GovJsonPopulationRegistry(process.url, KEY)
    process.set_mode("fail")
    with pytest.raises(ConnectorUnavailable):
        adapter.ping()
    process.set_mode("normal")
    assert adapter.verify(PERSON.name, PERSON.id_number).matched


def test_nothing_listening_is_unavailable_quickly() -> None:
    adapter = GovJsonPopulationRegistry(f"http://127.0.0.1:{free_port()}", KEY, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="unreachable"):
        adapter.verify(PERSON.name, PERSON.id_number)
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize("skew", [-301, 301])
def test_a_skewed_clock_is_refused(skew: int, reference: Callable[[str], ReferenceProcess]) -> None:
    process = reference("population")
    adapter = GovJsonPopulationRegistry(process.url, KEY, clock=lambda: time.time() + skew)
    with pytest.raises(ConnectorUnavailable, match="refused our signature"):
        adapter.ping()


def test_a_small_skew_is_tolerated(reference: Callable[[str], ReferenceProcess]) -> None:
    process = reference("population")
    GovJsonPopulationRegistry(process.url, KEY, clock=lambda: time.time() - 250).ping()


def _signed_headers(method: str, target: str, body: bytes, nonce: str) -> dict[str, str]:
    timestamp = str(int(time.time()))
    message = signing.request_message(method, target, timestamp, nonce, body)
    return {
        signing.TIMESTAMP_HEADER: timestamp,
        signing.NONCE_HEADER: nonce,
        signing.SIGNATURE_HEADER: signing.sign(KEY, message),
        "Content-Type": "application/json",
    }


def test_unsigned_altered_and_replayed_requests_are_refused(
    reference: Callable[[str], ReferenceProcess],
) -> None:
    url = reference("population").url + "/v1/persons/verify"
    person = {"name": PERSON.name, "id_number": PERSON.id_number}
    body = json.dumps(person, ensure_ascii=False).encode()
    assert requests.post(url, data=body, timeout=5).status_code == 401

    headers = _signed_headers("POST", "/v1/persons/verify", body, signing.new_nonce())
    altered = body.replace(PERSON.name.encode(), "测试乙".encode())
    refused = requests.post(url, data=altered, headers=headers, timeout=5)
    assert (refused.status_code, refused.json()["error"]) == (401, "bad_signature")

    headers = _signed_headers("POST", "/v1/persons/verify", body, signing.new_nonce())
    first = requests.post(url, data=body, headers=headers, timeout=5)
    assert first.json()["result"] == "match"
    again = requests.post(url, data=body, headers=headers, timeout=5)
    assert (again.status_code, again.json()["error"]) == (401, "replayed_request")


def test_the_answer_is_signed_over_our_nonce(
    reference: Callable[[str], ReferenceProcess],
) -> None:
    url = reference("population").url + "/v1/health"
    nonce = signing.new_nonce()
    answer = requests.get(url, headers=_signed_headers("GET", "/v1/health", b"", nonce), timeout=5)
    stamp, signature = answer.headers["X-Timestamp"], answer.headers["X-Signature"]
    mine = signing.response_message(200, nonce, stamp, answer.content)
    assert signing.verify(KEY, mine, signature)
    someone_elses = signing.response_message(200, signing.new_nonce(), stamp, answer.content)
    assert not signing.verify(KEY, someone_elses, signature)


def test_the_fault_switch_refuses_an_unknown_mode(
    reference: Callable[[str], ReferenceProcess],
) -> None:
    with pytest.raises(ConnectorRejected, match="malformed_request"):
        set_mode(reference("sms").url, KEY, "explode")
