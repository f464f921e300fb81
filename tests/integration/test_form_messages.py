"""A refused form says what went wrong where the person looks (idp/web/forms.py): at the
top of the form and next to the field, the field marked invalid and focused, what was
typed kept (never a password), shown once."""

from __future__ import annotations

import re

from flask import session

from idp import context
from idp.web import forms
from tests.helpers import csrf_token, sign_in
from tests.integration.test_account import change_password


def _section(html: str, section_id: str) -> str:
    start = html.index(f'id="{section_id}"')
    return html[start : html.index("</section>", start)]


def _input(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}"[^>]*>', html)
    assert found, f"no input {name}"
    return found.group(0)


def test_a_wrong_current_password_is_said_in_the_form_next_to_the_field(client, person):
    sign_in(client, person["username"], person["password"])
    response = change_password(client, "not-my-password", "lantern-river-9072")
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/account#password")

    form = _section(client.get("/account").get_data(as_text=True), "password")
    assert 'class="error-summary" role="alert"' in form
    assert form.count("当前密码不正确") == 2  # the summary and the field's own message
    current = _input(form, "current_password")
    assert 'aria-invalid="true"' in current
    assert 'aria-describedby="current_password-error"' in current
    assert "autofocus" in current
    for other in ("new_password", "confirm_password"):
        assert "aria-invalid" not in _input(form, other)
        assert "autofocus" not in _input(form, other)
    assert "not-my-password" not in form and "lantern-river-9072" not in form

    again = _section(client.get("/account").get_data(as_text=True), "password")
    assert "error-summary" not in again and "aria-invalid" not in again  # shown once


def test_the_field_in_error_is_the_one_that_caused_it(client, person):
    sign_in(client, person["username"], person["password"])
    change_password(client, person["password"], "lantern-river-9072", "lantern-river-9073")
    form = _section(client.get("/account").get_data(as_text=True), "password")
    assert 'aria-invalid="true"' in _input(form, "confirm_password")
    assert "aria-invalid" not in _input(form, "current_password")
    assert "两次输入的新密码不一致" in form


def test_what_was_typed_is_kept_but_never_a_secret(app, client, person):
    sign_in(client, person["username"], person["password"])
    with app.test_request_context("/"):
        forms.refuse(
            "example",
            {"phone": "bad number", forms.WHOLE_FORM: "about the whole form"},
            {
                "phone": "17000000199",
                "password": "p1",
                "new_password": "p2",
                "sms_code": "123456",
                "csrf_token": "t",
                "agreement": "yes",
            },
        )
        reference = session[forms.SESSION_KEY]
        kept = context.store().find(forms.KIND, reference)
        assert kept["values"] == {"phone": "17000000199", "agreement": "yes"}
        assert forms.refused("another-form") == forms.EMPTY  # left for another page: dropped
        assert context.store().find(forms.KIND, reference) is None


def test_a_refused_form_is_kept_once_for_its_own_page(app, person):
    with app.test_request_context("/"):
        forms.refuse("example", {"phone": "bad"}, {"phone": "17000000199"})
        state = forms.refused("example")
        assert state.error("phone") == "bad" and state.value("phone") == "17000000199"
        assert state.first_invalid == "phone"
        assert forms.refused("example") == forms.EMPTY


def test_the_form_still_needs_its_csrf_token(client, person):
    sign_in(client, person["username"], person["password"])
    csrf_token(client, "/account")
    refused = client.post(
        "/account/password",
        data={"current_password": "x", "new_password": "y", "confirm_password": "y"},
    )
    assert refused.status_code == 400
