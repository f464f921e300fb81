"""Enterprise registry contract: the same assertions for the reference service (a
separate process, over signed HTTP) and for the fake."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from connectors.enterprise import EnterpriseRecord
from connectors.enterprise.fake import FakeEnterpriseRegistry
from connectors.enterprise.govjson import GovJsonEnterpriseRegistry
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.population.fake import FakePopulationRegistry
from connectors.synthetic import org_code_check, uscc_check
from tests.integration.connectors.conftest import (
    DATASET,
    KEY,
    ReferenceProcess,
    Subject,
    fake_subject,
    reference_subject,
)

ACTIVE = DATASET.enterprises_with("active")[0]


@pytest.fixture(params=["reference", "fake"])
def subject(
    request: pytest.FixtureRequest, reference: Callable[[str], ReferenceProcess]
) -> Subject:
    if request.param == "fake":
        return fake_subject(FakeEnterpriseRegistry(DATASET.enterprises))
    process = reference("enterprise")
    return reference_subject(process, GovJsonEnterpriseRegistry(process.url, KEY))


def test_an_active_enterprise_is_found_with_its_legal_representative(subject: Subject) -> None:
    record = subject.impl.lookup(ACTIVE.uscc)
    assert record == EnterpriseRecord(
        ACTIVE.uscc, ACTIVE.name, "active", ACTIVE.legal_rep_name, ACTIVE.legal_rep_id_number
    )
    assert record.active


@pytest.mark.parametrize("status", ["revoked", "cancelled"])
def test_a_revoked_or_cancelled_enterprise_is_found_with_that_status(
    subject: Subject, status: str
) -> None:
    expected = DATASET.enterprises_with(status)[0]
    record = subject.impl.lookup(expected.uscc)
    assert record is not None
    assert (record.status, record.name) == (status, expected.name)
    assert not record.active


def test_every_synthetic_enterprise_is_found(subject: Subject) -> None:
    for enterprise in DATASET.enterprises:
        assert subject.impl.lookup(enterprise.uscc).uscc == enterprise.uscc


def test_a_letter_registration_authority_is_looked_up_like_any_other(subject: Subject) -> None:
    cooperative = next(e for e in DATASET.enterprises if e.uscc.startswith("N"))
    assert subject.impl.lookup(cooperative.uscc).name == cooperative.name


def test_an_unknown_well_formed_code_is_none(subject: Subject) -> None:
    body = "99990000"
    first17 = f"91110101{body}{org_code_check(body)}"
    unknown = first17 + uscc_check(first17)
    assert all(e.uscc != unknown for e in DATASET.enterprises)
    assert subject.impl.lookup(unknown) is None


@pytest.mark.parametrize(
    "uscc", ["", "91110101", "91110101999900001I", "91110101999900001o", "9111010199990000123"]
)
def test_a_malformed_code_is_rejected(subject: Subject, uscc: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.lookup(uscc)
    assert caught.value.code == "malformed_request"


def test_legal_representatives_match_in_the_population_registry(subject: Subject) -> None:
    population = FakePopulationRegistry(DATASET.persons)
    for enterprise in DATASET.enterprises:
        record = subject.impl.lookup(enterprise.uscc)
        found = population.verify(record.legal_rep_name, record.legal_rep_id_number)
        assert found.matched


def test_an_outage_is_unavailable_not_unknown(subject: Subject) -> None:
    with subject.outage(), pytest.raises(ConnectorUnavailable):
        subject.impl.lookup(ACTIVE.uscc)
    assert subject.impl.lookup(ACTIVE.uscc) is not None
