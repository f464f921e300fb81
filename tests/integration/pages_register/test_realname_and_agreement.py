"""The real-name form and the agreement step under Refresh and Back: a refusal is said next
to the field with what was typed kept; Back after accepting says the step is done."""

from __future__ import annotations

from connectors import synthetic
from tests.helpers import csrf_token, sign_in
from tests.integration.oidc.test_agreement import accepted_old_version
from tests.integration.pages_register.support import page_after, post, summary, tag

ALIVE = [p for p in synthetic.generate().persons if p.status == "alive"]


def test_a_refused_id_number_is_said_next_to_it_and_kept_once(client, person):
    sign_in(client, person["username"], person["password"])
    who = ALIVE[6]
    bad = who.id_number[:-1] + ("0" if who.id_number[-1] != "0" else "1")
    response = post(client, "/account/realname", name=who.name, id_type="resident", id_number=bad)
    assert response.headers["Location"] == "/account/realname"
    page = client.get("/account/realname").get_data(as_text=True)
    assert "校验码" in summary(page)
    field = tag(page, "id_number")
    assert 'aria-invalid="true"' in field and "autofocus" in field and f'value="{bad}"' in field
    assert 'aria-describedby="id_number-error"' in field
    assert f'value="{who.name}"' in tag(page, "name")
    assert "aria-invalid" not in tag(page, "name")
    again = client.get("/account/realname").get_data(as_text=True)  # Refresh
    assert "error-summary" not in again and bad not in again


def test_a_registry_no_match_is_said_at_the_top_of_the_form(client, person):
    sign_in(client, person["username"], person["password"])
    who = ALIVE[7]
    typed = {"name": "测试某某", "id_type": "resident", "id_number": who.id_number}
    page = page_after(client, post(client, "/account/realname", **typed))
    assert "未通过人口信息库核验" in summary(page)
    assert 'href="/recover"' in page and "login?switch=1" in page


def test_back_to_the_agreement_after_accepting_says_it_is_done(app, client, person):
    accepted_old_version(app, person["id"])
    location = sign_in(client, person["username"], person["password"]).headers["Location"]
    assert location.startswith("/agreement/accept")
    done = client.post(
        "/agreement/accept",
        data={"csrf_token": csrf_token(client, location), "decision": "accept"},
    )
    assert done.headers["Location"] == "/account"
    back = client.get(location).get_data(as_text=True)
    assert "此步骤已完成" in back and 'value="accept"' not in back
    again = client.post(
        "/agreement/accept",
        data={"csrf_token": csrf_token(client, "/account"), "decision": "accept"},
    )
    assert again.headers["Location"] == "/account"  # sent twice: nothing new


def test_the_agreement_form_without_a_decision_redirects_to_the_page(app, client, person):
    accepted_old_version(app, person["id"])
    location = sign_in(client, person["username"], person["password"]).headers["Location"]
    response = client.post(
        "/agreement/accept", data={"csrf_token": csrf_token(client, location), "txn": "T1"}
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/agreement/accept?txn=T1"
    assert client.post("/agreement/accept", data={"decision": "accept"}).status_code == 400
