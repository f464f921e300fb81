"""The adapters against a service that answers badly on purpose: an in-test HTTP server
that signs (or does not sign) whatever each test tells it to. Nothing it says is
believed unless it is signed, fresh, bound to our nonce and shaped as the protocol says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask, Response, request
from werkzeug.serving import make_server

from connectors import signing
from connectors.enterprise.govjson import GovJsonEnterpriseRegistry
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.face.govjson import GovJsonFaceVerifier
from connectors.http import MAX_ANSWER_BYTES
from connectors.population import PersonRecordMatch
from connectors.population.govjson import GovJsonPopulationRegistry

KEY = bytes(range(32))


class Script:
    """What the next answer looks like."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.status = 200
        self.body: bytes | list[bytes] = b"{}"
        self.signed = True
        self.age = 0
        self.nonce: str | None = None  # None: the request's own
        self.headers: dict[str, str] = {}
        self.pause = 0.0

    def answer(self, body: Any, status: int = 200) -> None:
        self.body, self.status = json.dumps(body).encode(), status


def hostile_app(script: Script) -> Flask:
    app = Flask(__name__)

    @app.route("/<path:_>", methods=["GET", "POST"])
    def anything(_: str) -> Response:
        nonce = script.nonce if script.nonce is not None else request.headers["X-Nonce"]
        stamp = str(int(time.time()) - script.age)
        headers = dict(script.headers)
        if isinstance(script.body, list):  # trickle: chunks a moment apart, never signed
            chunks, pause = script.body, script.pause

            def trickle() -> Iterator[bytes]:
                for chunk in chunks:
                    time.sleep(pause)
                    yield chunk

            return Response(trickle(), status=script.status, headers=headers)
        if script.signed:
            message = signing.response_message(script.status, nonce, stamp, script.body)
            headers |= {"X-Timestamp": stamp, "X-Signature": signing.sign(KEY, message)}
        return Response(script.body, status=script.status, headers=headers)

    return app


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Script]]:
    script = Script()
    httpd = make_server("127.0.0.1", 0, hostile_app(script), threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", script
    httpd.shutdown()


@pytest.fixture
def script(server: tuple[str, Script]) -> Iterator[Script]:
    yield server[1]
    server[1].reset()


@pytest.fixture
def population(server: tuple[str, Script]) -> GovJsonPopulationRegistry:
    return GovJsonPopulationRegistry(server[0], KEY, timeout=0.5)


def ask(population: GovJsonPopulationRegistry) -> PersonRecordMatch:
    return population.verify("测试甲", "110101196009089959")


def test_a_well_signed_answer_is_believed(script: Script, population: Any) -> None:
    script.answer({"result": "match", "photo_template_id": "ph-1"})
    assert ask(population) == PersonRecordMatch("match", "ph-1")


def test_a_photo_on_anything_but_a_match_is_dropped(script: Script, population: Any) -> None:
    script.answer({"result": "no_match", "photo_template_id": "ph-1"})
    assert ask(population) == PersonRecordMatch("no_match", None)


@pytest.mark.parametrize(
    "body",
    [
        {"result": "maybe"},
        {"result": "match", "photo_template_id": 7},
        {},
    ],
)
def test_an_answer_outside_the_protocol_is_unavailable(
    script: Script, population: Any, body: Any
) -> None:
    script.answer(body)
    with pytest.raises(ConnectorUnavailable, match="do not understand"):
        ask(population)


@pytest.mark.parametrize("raw", [b"[1, 2]", b"<html>busy</html>", b""])
def test_a_body_that_is_no_json_object_is_unavailable(
    script: Script, population: Any, raw: bytes
) -> None:
    script.body = raw
    with pytest.raises(ConnectorUnavailable, match="not a JSON object"):
        ask(population)


def test_a_signed_4xx_is_a_rejection_with_its_code(script: Script, population: Any) -> None:
    script.answer({"error": "quota_exceeded", "message": "daily quota"}, status=422)
    with pytest.raises(ConnectorRejected) as caught:
        ask(population)
    assert (caught.value.code, caught.value.message) == ("quota_exceeded", "daily quota")


def test_an_unsigned_4xx_is_not_believed(script: Script, population: Any) -> None:
    script.answer({"error": "no_such_person"}, status=404)
    script.signed = False
    with pytest.raises(ConnectorUnavailable, match="no valid signature"):
        ask(population)


def test_an_answer_signed_for_another_request_is_refused(script: Script, population: Any) -> None:
    script.answer({"result": "match", "photo_template_id": "ph-1"})
    script.nonce = signing.new_nonce()
    with pytest.raises(ConnectorUnavailable, match="no valid signature"):
        ask(population)


def test_a_stale_answer_is_refused(script: Script, population: Any) -> None:
    script.answer({"result": "match", "photo_template_id": "ph-1"})
    script.age = 400
    with pytest.raises(ConnectorUnavailable, match="stale"):
        ask(population)


def test_a_redirect_is_not_followed(script: Script, population: Any) -> None:
    script.status, script.headers = 302, {"Location": "http://127.0.0.1:9/elsewhere"}
    with pytest.raises(ConnectorUnavailable, match="answered 302"):
        ask(population)


def test_too_many_requests_is_unavailable_with_the_hint(script: Script, population: Any) -> None:
    script.status, script.headers = 429, {"Retry-After": "12"}
    with pytest.raises(ConnectorUnavailable) as caught:
        ask(population)
    assert caught.value.retry_after == 12.0


def test_a_huge_answer_is_refused(script: Script, population: Any) -> None:
    script.body = b"[" + b"0," * MAX_ANSWER_BYTES + b"0]"
    with pytest.raises(ConnectorUnavailable, match="too large"):
        ask(population)


def test_an_answer_trickling_past_the_timeout_is_cut_off(script: Script, population: Any) -> None:
    script.body, script.pause = [b"{"] + [b" "] * 20 + [b"}"], 0.1
    started = time.monotonic()
    with pytest.raises(ConnectorUnavailable, match="did not answer within"):
        ask(population)
    assert time.monotonic() - started < 1.0


def test_an_enterprise_record_for_another_code_is_refused(
    server: tuple[str, Script], script: Script
) -> None:
    record = {
        "uscc": "91110101999900001X",
        "name": "演示甲科技有限公司",
        "status": "active",
        "legal_rep_name": "测试甲",
        "legal_rep_id_number": "110101196009089959",
    }
    script.answer({"record": record})
    registry = GovJsonEnterpriseRegistry(server[0], KEY)
    assert registry.lookup(record["uscc"]) is not None
    script.answer({"record": record})
    with pytest.raises(ConnectorUnavailable, match="do not understand"):
        registry.lookup("91110101999900002X")


@pytest.mark.parametrize(
    "body",
    [
        {"liveness": True, "score": 1.5},
        {"liveness": 1, "score": 0.9},
        {"liveness": True, "score": True},
    ],
)
def test_a_face_answer_out_of_range_is_refused(
    server: tuple[str, Script], script: Script, body: Any
) -> None:
    script.answer(body)
    with pytest.raises(ConnectorUnavailable, match="do not understand"):
        GovJsonFaceVerifier(server[0], KEY).verify("ph-1", "aGk=", "live-0")
