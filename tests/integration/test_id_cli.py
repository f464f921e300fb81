"""`idp id check` as an operator runs it: exit status, the JSON shape, and never the
unmasked number, not even for input too long or too short to be one.

All numbers are synthetic (sequence codes 99x, made-up organisation codes of 9s).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from admin.id_cli import id_group
from app import create_app


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    flask_app = create_app({"instance_dir": str(tmp_path / "instance")})
    if "id" not in flask_app.cli.commands:
        flask_app.cli.add_command(id_group)
    yield flask_app
    flask_app.extensions["idp.db"].engine.dispose()


def run(app: Flask, *args: str, stdin: str | None = None) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["id", "check", *args], input=stdin)
    return result.exit_code, result.output  # stdout and stderr, as a terminal shows them


def pieces(number: str, size: int = 5) -> set[str]:
    """Every run of `size` characters: the mask shows at most four in a row."""
    return {number[i : i + size] for i in range(len(number) - size + 1)}


@pytest.mark.parametrize(
    ("kind", "number", "masked"),
    [
        ("resident", "110101199001019992", "1101**********9992"),
        ("uscc", "N21101059999999124", "N211**********9124"),
        ("passport", "E99999999", "E9*****99"),
        ("hk_macao", "H99999999", "H9*****99"),
        ("taiwan", "99999999", "99****99"),
        ("foreign_pr", "911840199001019995", "9118**********9995"),
    ],
)
def test_valid_numbers_exit_0_with_exactly_the_documented_keys(
    app: Flask, kind: str, number: str, masked: str
) -> None:
    code, out = run(app, "--type", kind, number, "--json")
    assert code == 0
    assert json.loads(out) == {"type": kind, "valid": True, "rule": None, "masked": masked}


@pytest.mark.parametrize(
    ("kind", "number", "rule"),
    [
        ("resident", "110101199001019993", "check_digit"),
        ("resident", "110101190002299999", "date"),
        ("resident", "160101199001019992", "region"),
        ("resident", "11010119900101A992", "alphabet"),
        ("resident", "11010119900101999", "length"),
        ("uscc", "91110000MI99999966", "alphabet"),
        ("uscc", "01110000999999904C", "registration_authority"),
        ("uscc", "91110000999999905F", "organization_code_check"),
        ("passport", "D99999999", "format"),
        ("foreign_pr", "911840199001019996", "check_digit"),
    ],
)
def test_invalid_numbers_exit_1_naming_the_rule(
    app: Flask, kind: str, number: str, rule: str
) -> None:
    code, out = run(app, "--type", kind, number, "--json")
    body = json.loads(out)
    assert code == 1
    assert set(body) == {"type", "valid", "rule", "masked"}
    assert (body["type"], body["valid"], body["rule"]) == (kind, False, rule)

    code, out = run(app, "--type", kind, number)
    assert code == 1
    assert len(out.splitlines()) == 1 and f"(rule: {rule})" in out


def test_human_output_says_what_is_wrong_in_words(app: Flask) -> None:
    code, out = run(app, "--type", "resident", "110101199001019993")
    assert code == 1
    assert out == (
        "invalid resident ID number 1101**********9993: the check digit is wrong"
        " (rule: check_digit)\n"
    )
    code, out = run(app, "--type", "resident", "11010119900101995x")
    assert (code, out) == (0, "valid resident ID number: 1101**********995X\n")


@pytest.mark.parametrize(
    ("kind", "number"),
    [
        ("resident", "110101199001019992"),  # valid
        ("resident", "110101199001019993"),  # bad check digit
        ("resident", "11010119900101999"),  # one short
        ("resident", "1101011990010199920"),  # one long
        ("resident", "110101199001019992110101199001019992"),  # pasted twice
        ("resident", "99999999999999999999999999999999999999999"),
        ("uscc", "91110000999999904C91110000999999904C"),
        ("passport", "E99999999E99999999"),
        ("taiwan", "999999999999"),
        ("foreign_pr", "USA999999999999USA"),
    ],
)
@pytest.mark.parametrize("as_json", [True, False])
def test_the_unmasked_number_never_appears(
    app: Flask, kind: str, number: str, as_json: bool
) -> None:
    code, out = run(app, "--type", kind, number, *(["--json"] if as_json else []))
    assert code in (0, 1)
    assert number not in out
    assert not any(piece in out for piece in pieces(number)), out


def test_a_number_read_from_standard_input_stays_out_of_the_arguments(app: Flask) -> None:
    code, out = run(app, "--type", "uscc", "-", "--json", stdin="91110000999999904C\n")
    assert code == 0 and json.loads(out)["masked"] == "9111**********904C"


def test_a_number_typed_in_groups_is_one_number(app: Flask) -> None:
    code, out = run(app, "--type", "resident", "110101", "19900101", "9992", "--json")
    assert code == 0 and json.loads(out)["valid"] is True


def test_a_number_that_looks_like_an_option_is_not_echoed_by_click(app: Flask) -> None:
    number = "-110101199001019992"
    code, out = run(app, "--type", "resident", number)
    assert code == 1 and "(rule: length)" in out
    assert not any(piece in out for piece in pieces(number))


def test_usage_errors_exit_2(app: Flask) -> None:
    code, out = run(app, "--type", "driving_licence", "110101199001019992")
    assert code == 2 and "1101011990" not in out
    assert run(app, "110101199001019992")[0] == 2
    code, out = run(app, "--type", "resident")
    assert code == 2 and "Missing argument" in out
