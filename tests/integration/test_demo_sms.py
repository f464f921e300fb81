"""`idp demo sms`: the texts the demo gateway "delivered", newest first (the code just asked
for is on top), for every number or for one (PHONE or --phone NUMBER)."""

from __future__ import annotations

from idp import context


def send(app, phone: str, code: str) -> None:
    with app.app_context():
        context.connectors().sms.send(phone, "verification_code", {"code": code, "minutes": "10"})


def invoke(app, *args: str):
    with app.app_context():  # as the `idp` command runs its commands
        return app.test_cli_runner().invoke(args=["demo", "sms", *args])


def demo_sms(app, *args: str) -> list[str]:
    result = invoke(app, *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


def code_in(line: str) -> str:
    return line[line.index("验证码") + 3 :][:6]


def test_one_number_newest_first_in_the_old_format(app):
    for code in ("111111", "222222", "333333"):
        send(app, "17000000661", code)
    send(app, "17000000662", "999999")
    lines = demo_sms(app, "--phone", "17000000661")
    assert [code_in(line) for line in lines] == ["333333", "222222", "111111"]
    assert all(line.startswith("【统一身份认证平台】") for line in lines)  # the text, as before
    assert demo_sms(app, "17000000661") == lines  # PHONE as an argument still works
    assert not any("999999" in line for line in lines)


def test_every_number_newest_first_each_line_naming_its_number(app):
    send(app, "17000000663", "444444")
    send(app, "17000000664", "555555")
    send(app, "17000000663", "666666")
    lines = demo_sms(app)
    assert [line.split()[0] for line in lines] == ["17000000663", "17000000664", "17000000663"]
    assert "666666" in lines[0] and "444444" in lines[-1]


def test_no_messages_and_a_number_given_twice_differently(app):
    assert demo_sms(app, "--phone", "17000000665") == ["no messages"]
    result = invoke(app, "17000000665", "--phone", "17000000666")
    assert result.exit_code == 2 and "give the number once" in result.output
