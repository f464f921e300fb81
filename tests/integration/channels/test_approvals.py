"""Approvals on the app (idp/authn/approvals.py) against real Redis (embedded and server):
answered once, by one device of one person, never after expiry; and app proofs
(idp/authn/devices.py) from the attacker's side: another key, a replay, a stale iat, a
proof for another request."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from joserfc import jws
from joserfc.jwk import ECKey

from idp.authn.approvals import (
    Approval,
    ApprovalKind,
    ApprovalRefusedError,
    Approvals,
    ApprovalState,
)
from idp.authn.devices import ProofError, access_token_hash, check_proof, read_proof
from idp.store import ArtifactStore, connect, embedded


@pytest.fixture(params=["embedded", "server"])
def store(request: pytest.FixtureRequest, short_tmp: Path) -> Iterator[ArtifactStore]:
    if request.param == "embedded":
        yield connect(embedded.ensure_running(short_tmp))
        embedded.stop(short_tmp)
    else:
        yield connect(request.getfixturevalue("redis_server").url)


@pytest.fixture(autouse=True)
def _fresh_people() -> None:
    """Person ids of each test's own (the server's Redis is shared with other tests)."""
    global P1, P2
    P1, P2 = f"p-{uuid.uuid4()}", f"p-{uuid.uuid4()}"


P1 = P2 = ""


def _approval(**fields: object) -> Approval:
    base: dict[str, object] = {
        "kind": ApprovalKind.qr,
        "txn_id": "txn-1",
        "client_name": "测试社保服务 (synthetic)",
        "expires_at": int(time.time()) + 60,
    }
    return Approval(**{**base, **fields})  # type: ignore[arg-type]


def test_a_scanned_approval_belongs_to_the_first_device(store: ArtifactStore) -> None:
    approvals = Approvals(store)
    made = approvals.create(_approval())
    scanned = approvals.scan(made.id, person_id=P1, device_id="d-1")
    assert (scanned.state, scanned.person_id, scanned.device_id) == ("scanned", P1, "d-1")
    with pytest.raises(ApprovalRefusedError):
        approvals.scan(made.id, person_id=P2, device_id="d-2")
    with pytest.raises(ApprovalRefusedError):
        approvals.answer(made.id, person_id=P1, device_id="d-9", approve=True)
    assert [a.id for a in approvals.pending_for(P1)] == [made.id]
    assert approvals.pending_for(P2) == []


def test_answered_once_then_finished_once(store: ArtifactStore) -> None:
    approvals = Approvals(store)
    made = approvals.create(_approval(kind=ApprovalKind.ciba, person_id=P1))
    assert [a.id for a in approvals.pending_for(P1)] == [made.id]
    with pytest.raises(ApprovalRefusedError):  # another person's device
        approvals.answer(made.id, person_id=P2, device_id="d-2", approve=True)
    done = approvals.answer(made.id, person_id=P1, device_id="d-1", approve=True, amr=["swk"])
    assert (done.state, done.amr, done.device_id) == (ApprovalState.approved, ["swk"], "d-1")
    with pytest.raises(ApprovalRefusedError):  # a second tap
        approvals.answer(made.id, person_id=P1, device_id="d-1", approve=False)
    assert approvals.pending_for(P1) == []
    assert approvals.finish(made.id).state == ApprovalState.consumed
    with pytest.raises(ApprovalRefusedError):
        approvals.finish(made.id)


def test_a_denied_approval_cannot_be_finished(store: ArtifactStore) -> None:
    approvals = Approvals(store)
    made = approvals.create(_approval(person_id=P1))
    assert approvals.answer(made.id, person_id=P1, device_id="d", approve=False).state == (
        ApprovalState.denied
    )
    with pytest.raises(ApprovalRefusedError):
        approvals.finish(made.id)


def test_an_expired_approval_cannot_be_answered(store: ArtifactStore) -> None:
    approvals = Approvals(store)
    made = approvals.create(_approval(person_id=P1, expires_at=int(time.time()) + 1))
    time.sleep(1.1)
    with pytest.raises(ApprovalRefusedError):
        approvals.answer(made.id, person_id=P1, device_id="d", approve=True)
    assert approvals.pending_for(P1) == []


def test_found_by_alias(store: ArtifactStore) -> None:
    approvals = Approvals(store)
    made = approvals.create(_approval(kind=ApprovalKind.device), alias="WDJB-MJHT")
    found = approvals.by_alias("WDJB-MJHT")
    assert found is not None and found.id == made.id
    assert approvals.by_alias("XXXX-XXXX") is None


# -- proofs ---------------------------------------------------------------------------------
URL = "http://127.0.0.1:8000/app/api/approvals"


def _proof(key: ECKey, *, kid: str | None = "dev-1", jwk: bool = False, **claims: object) -> str:
    header: dict[str, object] = {"typ": "dpop+jwt", "alg": "ES256"}
    if jwk:
        header["jwk"] = key.as_dict(private=False)
    elif kid:
        header["kid"] = kid
    body = {"htm": "GET", "htu": URL, "iat": int(time.time()), "jti": uuid.uuid4().hex, **claims}
    return jws.serialize_compact(header, json.dumps(body).encode(), key)


def test_a_proof_is_accepted_once(store: ArtifactStore) -> None:
    key = ECKey.generate_key("P-256")
    proof = _proof(key)
    assert check_proof(proof, key, method="GET", url=URL, seen=store)["htm"] == "GET"
    with pytest.raises(ProofError, match="used before"):
        check_proof(proof, key, method="GET", url=URL, seen=store)


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iat": int(time.time()) - 600}, "stale"),
        ({"iat": int(time.time()) + 600}, "stale"),
        ({"htm": "POST"}, "another request"),
        ({"htu": URL + "/x"}, "another request"),
        ({"jti": "short"}, "jti"),
    ],
)
def test_a_proof_for_another_time_or_request_is_refused(
    store: ArtifactStore, claims: dict[str, object], why: str
) -> None:
    key = ECKey.generate_key("P-256")
    with pytest.raises(ProofError, match=why):
        check_proof(_proof(key, **claims), key, method="GET", url=URL, seen=store)


def test_another_devices_key_is_refused(store: ArtifactStore) -> None:
    mine, theirs = ECKey.generate_key("P-256"), ECKey.generate_key("P-256")
    with pytest.raises(ProofError, match="signature"):
        check_proof(_proof(theirs), mine, method="GET", url=URL, seen=store)


def test_enrolment_proof_carries_the_key_and_the_token_hash(store: ArtifactStore) -> None:
    key = ECKey.generate_key("P-256")
    proof = _proof(key, jwk=True, ath=access_token_hash("token-A"))
    _, kid, found = read_proof(proof)
    assert kid is None and found is not None and found.thumbprint() == key.thumbprint()
    with pytest.raises(ProofError, match="ath"):
        check_proof(proof, found, method="GET", url=URL, seen=store, access_token="token-B")
    private = _proof(key, jwk=True)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.as_dict(private=True)}
    private = jws.serialize_compact(header, b"{}", key)
    with pytest.raises(ProofError, match="private"):
        read_proof(private)
    with pytest.raises(ProofError, match="typ"):
        read_proof(jws.serialize_compact({"alg": "ES256"}, b"{}", key))
