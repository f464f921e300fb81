"""Ids in URL paths that no database column can hold (issue 11, item 12's class, found in
the paths): a NUL reached PostgreSQL, which refuses it with an error (an HTML 500). Each
is a plain 404 now. Over HTTP, against `idp serve` on PostgreSQL."""

from __future__ import annotations

import pytest

from tests.integration.attacks.conftest import Live

PATHS = [
    "/account/consents/{id}/withdraw",
    "/account/sessions/{id}/end",
    "/account/organizations/{id}/approve",
    "/account/organizations/{id}/reject",
    "/account/organizations/{id}/agents",
    "/account/organizations/authorisations/{id}/revoke",
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize(
    "bad", ["%00", "x%00y", "%01", "a" * 200], ids=["NUL", "inner NUL", "SOH", "long"]
)
def test_an_impossible_id_in_a_path_is_not_found(live: Live, path: str, bad: str) -> None:
    person = live.person()
    browser = live.browser(person)
    assert browser.sign_in().status_code == 303
    token = browser.csrf("/account")

    answer = browser.post(path.format(id=bad), {"csrf_token": token})

    assert answer.status_code == 404, (answer.status_code, answer.text[:200])
    assert "<html" in answer.text.lower()  # the provider's own page, in the person's language
