"""Enterprise registry (企业登记库): what the registry holds for a unified social credit
code (name, status, legal representative). Domain code depends on this interface only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ENTERPRISE_STATUSES", "EnterpriseRecord", "EnterpriseRegistry"]

# 存续 / 吊销 / 注销 / 迁出. Only "active" may register as a legal person.
ENTERPRISE_STATUSES = ("active", "revoked", "cancelled", "moved_out")


@dataclass(frozen=True)
class EnterpriseRecord:
    uscc: str
    name: str
    status: str  # one of ENTERPRISE_STATUSES
    legal_rep_name: str
    legal_rep_id_number: str

    @property
    def active(self) -> bool:
        return self.status == "active"


class EnterpriseRegistry(Protocol):
    def lookup(self, uscc: str) -> EnterpriseRecord | None:
        """The record for `uscc`, or None when the registry has no such code. Raises
        ConnectorRejected for a malformed code, ConnectorUnavailable when no usable
        answer came."""
        ...

    def ping(self) -> None:
        """Return when the registry is reachable and accepts our key; raise
        ConnectorUnavailable otherwise."""
        ...
