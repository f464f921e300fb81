"""The SMS-code step every code flow shares (idp/accounts/code_flows.py), on a real
(embedded) Redis: what its page shows, a new code, another number."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from connectors.sms.fake import FakeSmsGateway
from idp.accounts import code_flows, sms_codes
from idp.store import ArtifactStore, connect, embedded

PHONE = "17012345678"
KIND = "unit-code"


@pytest.fixture
def store(short_tmp) -> Iterator[ArtifactStore]:
    url = embedded.ensure_running(short_tmp)
    yield connect(url)
    embedded.stop(short_tmp)


@pytest.fixture
def sms() -> FakeSmsGateway:
    return FakeSmsGateway()


def _code(sms: FakeSmsGateway, phone: str = PHONE) -> str:
    return sms.outbox(phone)[-1].params["code"]


def _begin(store: ArtifactStore, sms: FakeSmsGateway, **kwargs) -> code_flows.CodeFlow:
    flow = code_flows.begin(store, sms, KIND, PHONE, "192.0.2.1", {"who": "p1"}, **kwargs)
    assert isinstance(flow, code_flows.CodeFlow)
    return flow


def test_a_new_step_shows_the_masked_number_a_live_code_and_the_wait(store, sms):
    flow = _begin(store, sms)
    assert flow.sent == code_flows.Sent(flow.id, "170****5678")
    shown = code_flows.progress(store, flow)
    assert shown.masked_phone == "170****5678"
    assert not shown.done and shown.code_alive
    assert 0 < shown.resend_wait <= sms_codes.PHONE_RESEND_AFTER


def test_a_code_out_of_tries_is_shown_dead_while_the_step_waits(store, sms):
    flow = _begin(store, sms)
    wrong = "000000" if _code(sms) != "000000" else "111111"
    for _ in range(sms_codes.MAX_TRIES):
        assert isinstance(code_flows.check(store, flow, wrong), sms_codes.CodeRefused)
    shown = code_flows.progress(store, flow)
    assert not shown.done and not shown.code_alive


def test_a_finished_step_is_shown_done(store, sms):
    flow = _begin(store, sms)
    record = code_flows.check(store, flow, _code(sms))
    assert isinstance(record, dict) and record["who"] == "p1"
    assert code_flows.finish(store, flow)
    again = code_flows.load(store, KIND, flow.id)
    assert again is not None
    shown = code_flows.progress(store, again)
    assert shown.done and not shown.code_alive


def test_no_new_code_for_a_step_gone_or_done_and_none_within_the_minute(store, sms):
    flow = _begin(store, sms)
    gone = code_flows.resend(store, sms, None, "192.0.2.1")
    assert gone == sms_codes.CodeRefused(sms_codes.CodeProblem.expired)
    soon = code_flows.resend(store, sms, flow, "192.0.2.1")
    assert isinstance(soon, sms_codes.CodeRefused)
    assert soon.problem is sms_codes.CodeProblem.too_many_codes and soon.wait
    assert code_flows.finish(store, flow)
    done = code_flows.load(store, KIND, flow.id)
    # expired, not the minute's wait: a finished step is never sent another code
    refused = code_flows.resend(store, sms, done, "192.0.2.1")
    assert refused == sms_codes.CodeRefused(sms_codes.CodeProblem.expired)
    assert len(sms.outbox(PHONE)) == 1


def test_a_new_code_after_the_wait_replaces_the_old_one(store, sms):
    flow = _begin(store, sms)
    old = _code(sms)
    store.client.delete(*store.client.keys("idp:sms-recent:*"))  # the minute has passed
    renewed = code_flows.resend(store, sms, flow, "192.0.2.1")
    assert isinstance(renewed, code_flows.CodeFlow)
    assert renewed.sent == flow.sent  # the same step, the same number
    assert len(sms.outbox(PHONE)) == 2
    assert isinstance(code_flows.check(store, renewed, old), sms_codes.CodeRefused)
    record = code_flows.check(store, renewed, _code(sms))
    assert isinstance(record, dict) and record["phone"] == PHONE


def test_a_decoys_new_code_is_not_sent_either(store, sms):
    flow = _begin(store, sms, deliver=False)
    store.client.delete(*store.client.keys("idp:sms-recent:*"))
    renewed = code_flows.resend(store, sms, flow, "192.0.2.1")
    assert isinstance(renewed, code_flows.CodeFlow)
    assert sms.outbox(PHONE) == []
    assert code_flows.progress(store, renewed).code_alive  # its page looks the same


def test_changing_the_number_ends_the_step_and_gives_the_number_back(store, sms):
    flow = _begin(store, sms)
    assert code_flows.change_number(store, flow) == PHONE
    assert code_flows.load(store, KIND, flow.id) is None
    refused = code_flows.check(store, flow, _code(sms))
    assert refused == sms_codes.CodeRefused(sms_codes.CodeProblem.expired)
    assert code_flows.change_number(store, None) is None


def test_a_finished_step_keeps_its_number_and_stays_done(store, sms):
    flow = _begin(store, sms)
    assert code_flows.finish(store, flow)
    done = code_flows.load(store, KIND, flow.id)
    assert code_flows.change_number(store, done) is None
    again = code_flows.load(store, KIND, flow.id)
    assert again is not None and again.done  # Back to it still says it is done
