"""SMS gateway contract: the same assertions for the reference gateway (a separate
process, over signed HTTP) and for the fake, outbox included."""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.sms import SmsOutbox
from connectors.sms.fake import FakeSmsGateway
from connectors.sms.govjson import GovJsonSmsGateway
from tests.integration.connectors.conftest import (
    KEY,
    ReferenceProcess,
    Subject,
    fake_subject,
    reference_subject,
)


@pytest.fixture(params=["reference", "fake"])
def subject(
    request: pytest.FixtureRequest, reference: Callable[[str], ReferenceProcess]
) -> Subject:
    if request.param == "fake":
        return fake_subject(FakeSmsGateway())
    process = reference("sms")
    return reference_subject(process, GovJsonSmsGateway(process.url, KEY))


@pytest.fixture
def phone() -> str:
    """A phone no other test uses: the reference gateway's outbox lives for the session."""
    return "170" + "".join(secrets.choice("0123456789") for _ in range(8))


def code_params(code: str = "042917") -> dict[str, str]:
    return {"code": code, "minutes": "5"}


def test_a_sent_code_reaches_the_outbox_of_that_phone_only(subject: Subject, phone: str) -> None:
    receipt = subject.impl.send(phone, "verification_code", code_params())
    assert receipt.message_id
    [message] = subject.impl.outbox(phone)
    assert message.message_id == receipt.message_id
    assert (message.phone, message.template) == (phone, "verification_code")
    assert dict(message.params) == code_params()
    assert "042917" in message.text and "5分钟" in message.text
    other = "171" + phone[3:]
    assert all(m.message_id != receipt.message_id for m in subject.impl.outbox(other))


def test_messages_are_kept_oldest_first_with_distinct_ids(subject: Subject, phone: str) -> None:
    first = subject.impl.send(phone, "verification_code", code_params("111111"))
    second = subject.impl.send(phone, "agent_authorised", {"org_name": "演示甲科技有限公司"})
    outbox = subject.impl.outbox(phone)
    assert [m.message_id for m in outbox] == [first.message_id, second.message_id]
    assert "演示甲科技有限公司" in outbox[1].text
    assert outbox[0].sent_at <= outbox[1].sent_at


def test_the_outbox_of_no_phone_lists_every_phone_oldest_first(
    subject: Subject, phone: str
) -> None:
    other = "171" + phone[3:]
    first = subject.impl.send(phone, "verification_code", code_params("222222"))
    second = subject.impl.send(other, "verification_code", code_params("333333"))
    every = subject.impl.outbox("")
    ids = [m.message_id for m in every]
    assert ids.index(first.message_id) < ids.index(second.message_id)
    assert [m.sent_at for m in every] == sorted(m.sent_at for m in every)


def test_an_unused_phone_has_an_empty_outbox(subject: Subject, phone: str) -> None:
    assert subject.impl.outbox(phone) == []


def test_both_implementations_offer_the_outbox(subject: Subject) -> None:
    assert isinstance(subject.impl, SmsOutbox)


@pytest.mark.parametrize("bad", ["", "1700000010", "27000000101", "+8617000000101", "1700000010a"])
def test_a_malformed_phone_is_rejected(subject: Subject, bad: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.send(bad, "verification_code", code_params())
    assert caught.value.code == "malformed_request"


def test_an_unknown_template_is_rejected(subject: Subject, phone: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.send(phone, "free_text", {"text": "hello"})
    assert caught.value.code == "unknown_template"
    assert subject.impl.outbox(phone) == []


@pytest.mark.parametrize(
    "params",
    [{"code": "1"}, {"code": "1", "minutes": "5", "extra": "x"}, {"code": "", "minutes": "5"}],
)
def test_wrong_params_are_rejected_and_nothing_is_sent(
    subject: Subject, phone: str, params: dict[str, str]
) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.send(phone, "verification_code", params)
    assert caught.value.code == "bad_params"
    assert subject.impl.outbox(phone) == []


def test_an_outage_is_unavailable(subject: Subject, phone: str) -> None:
    with subject.outage(), pytest.raises(ConnectorUnavailable):
        subject.impl.send(phone, "verification_code", code_params())
    assert subject.impl.outbox(phone) == []
