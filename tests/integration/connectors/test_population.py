"""Population registry contract: the same assertions for the reference service (a
separate process, over signed HTTP) and for the fake."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.population import PersonRecordMatch
from connectors.population.fake import FakePopulationRegistry
from connectors.population.govjson import GovJsonPopulationRegistry
from connectors.synthetic import resident_id_check
from tests.integration.connectors.conftest import (
    DATASET,
    KEY,
    ReferenceProcess,
    Subject,
    fake_subject,
    reference_subject,
)

ALIVE = DATASET.persons_with("alive")[0]
DECEASED = DATASET.persons_with("deceased")[0]
CANCELLED = DATASET.persons_with("cancelled")[0]


@pytest.fixture(params=["reference", "fake"])
def subject(
    request: pytest.FixtureRequest, reference: Callable[[str], ReferenceProcess]
) -> Subject:
    if request.param == "fake":
        return fake_subject(FakePopulationRegistry(DATASET.persons))
    process = reference("population")
    return reference_subject(process, GovJsonPopulationRegistry(process.url, KEY))


def test_a_living_person_matches_and_gets_a_photo_template(subject: Subject) -> None:
    found = subject.impl.verify(ALIVE.name, ALIVE.id_number)
    assert found == PersonRecordMatch("match", ALIVE.photo_template_id)
    assert found.matched


def test_every_living_synthetic_person_matches(subject: Subject) -> None:
    for person in DATASET.persons_with("alive"):
        assert subject.impl.verify(person.name, person.id_number).result == "match"


def test_a_wrong_name_is_no_match_without_a_photo(subject: Subject) -> None:
    other = DATASET.persons_with("alive")[1].name
    assert subject.impl.verify(other, ALIVE.id_number) == PersonRecordMatch("no_match", None)


def test_an_unknown_number_is_no_match(subject: Subject) -> None:
    first17 = "11010119800101998"
    assert all(p.id_number[:17] != first17 for p in DATASET.persons)
    found = subject.impl.verify(ALIVE.name, first17 + resident_id_check(first17))
    assert found == PersonRecordMatch("no_match")


def test_a_deceased_person_is_reported_deceased(subject: Subject) -> None:
    found = subject.impl.verify(DECEASED.name, DECEASED.id_number)
    assert found == PersonRecordMatch("deceased", None)
    assert not found.matched


def test_a_cancelled_number_is_reported_cancelled(subject: Subject) -> None:
    assert subject.impl.verify(CANCELLED.name, CANCELLED.id_number).result == "cancelled"


def test_status_is_not_revealed_to_a_wrong_name(subject: Subject) -> None:
    assert subject.impl.verify(ALIVE.name, DECEASED.id_number).result == "no_match"


@pytest.mark.parametrize("number", ["", "11010119800101", "11010119800101998x", "A" * 18])
def test_a_malformed_number_is_rejected(subject: Subject, number: str) -> None:
    with pytest.raises(ConnectorRejected) as caught:
        subject.impl.verify(ALIVE.name, number)
    assert caught.value.code == "malformed_request"
    if number:  # messages get logged: they must not echo the number
        assert number not in str(caught.value)


def test_an_empty_name_is_rejected(subject: Subject) -> None:
    with pytest.raises(ConnectorRejected):
        subject.impl.verify("", ALIVE.id_number)


def test_the_answer_is_frozen(subject: Subject) -> None:
    found = subject.impl.verify(ALIVE.name, ALIVE.id_number)
    with pytest.raises(dataclasses.FrozenInstanceError):
        found.result = "no_match"


def test_an_outage_is_unavailable_not_a_verdict(subject: Subject) -> None:
    subject.impl.ping()
    with subject.outage():
        with pytest.raises(ConnectorUnavailable):
            subject.impl.verify(ALIVE.name, ALIVE.id_number)
        with pytest.raises(ConnectorUnavailable):
            subject.impl.ping()
    assert subject.impl.verify(ALIVE.name, ALIVE.id_number).matched
