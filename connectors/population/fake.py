"""In-memory population registry over synthetic persons; the reference service serves
this same object over HTTP, so the two answer alike by construction."""

from __future__ import annotations

import re
from collections.abc import Iterable

from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.population import PersonRecordMatch
from connectors.synthetic import SyntheticPerson

__all__ = ["FakePopulationRegistry"]

ID_NUMBER = re.compile(r"[0-9]{17}[0-9X]")
MAX_NAME = 64


class FakePopulationRegistry:
    """Set `available = False` to make every call raise ConnectorUnavailable."""

    def __init__(self, persons: Iterable[SyntheticPerson]) -> None:
        self._by_number = {p.id_number: p for p in persons}
        self.available = True

    def verify(self, name: str, id_number: str) -> PersonRecordMatch:
        self._check_available()
        if not ID_NUMBER.fullmatch(id_number):
            raise ConnectorRejected("malformed_request", "id_number must be 17 digits and 0-9 or X")
        if not name or len(name) > MAX_NAME:
            raise ConnectorRejected("malformed_request", f"name must be 1-{MAX_NAME} characters")
        person = self._by_number.get(id_number)
        if person is None or person.name != name:
            return PersonRecordMatch("no_match")
        if person.status == "deceased":
            return PersonRecordMatch("deceased")
        if person.status == "cancelled":
            return PersonRecordMatch("cancelled")
        return PersonRecordMatch("match", person.photo_template_id)

    def ping(self) -> None:
        self._check_available()

    def _check_available(self) -> None:
        if not self.available:
            raise ConnectorUnavailable("population registry is down (fake)")
