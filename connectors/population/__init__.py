"""Population registry (人口库): does this name belong to this resident ID number, and is
the person alive and the number in force? Domain code depends on this interface only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

__all__ = ["MatchResult", "PersonRecordMatch", "PopulationRegistry"]

MatchResult = Literal["match", "no_match", "deceased", "cancelled"]
MATCH_RESULTS: tuple[MatchResult, ...] = ("match", "no_match", "deceased", "cancelled")


@dataclass(frozen=True)
class PersonRecordMatch:
    """The registry's answer. `photo_template_id` names the registry photo a face check
    compares against; it is given only for a `match`."""

    result: MatchResult
    photo_template_id: str | None = None

    @property
    def matched(self) -> bool:
        return self.result == "match"


class PopulationRegistry(Protocol):
    def verify(self, name: str, id_number: str) -> PersonRecordMatch:
        """Check name + ID number. A wrong name and an unknown number both give `no_match`
        (the registry does not say which). Raises ConnectorRejected for a malformed
        number, ConnectorUnavailable when no usable answer came."""
        ...

    def ping(self) -> None:
        """Return when the registry is reachable and accepts our key; raise
        ConnectorUnavailable otherwise. For health checks, never per request."""
        ...
