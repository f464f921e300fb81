"""In-memory enterprise registry over synthetic enterprises; the reference service serves
this same object over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterable

from connectors.enterprise import EnterpriseRecord
from connectors.errors import ConnectorRejected, ConnectorUnavailable
from connectors.synthetic import SyntheticEnterprise

__all__ = ["FakeEnterpriseRegistry"]

USCC = re.compile(r"[0-9A-HJ-NPQRTUWXY]{18}")


class FakeEnterpriseRegistry:
    """Set `available = False` to make every call raise ConnectorUnavailable."""

    def __init__(self, enterprises: Iterable[SyntheticEnterprise]) -> None:
        self._by_uscc = {
            e.uscc: EnterpriseRecord(
                e.uscc, e.name, e.status, e.legal_rep_name, e.legal_rep_id_number
            )
            for e in enterprises
        }
        self.available = True

    def lookup(self, uscc: str) -> EnterpriseRecord | None:
        self._check_available()
        if not USCC.fullmatch(uscc):
            raise ConnectorRejected(
                "malformed_request", "uscc must be 18 characters of the GB 32100 alphabet"
            )
        return self._by_uscc.get(uscc)

    def ping(self) -> None:
        self._check_available()

    def _check_available(self) -> None:
        if not self.available:
            raise ConnectorUnavailable("enterprise registry is down (fake)")
