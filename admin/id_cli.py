"""`idp id check`: the format rules for an identifier, without asking any registry."""

from __future__ import annotations

import json
import sys

import click

from admin.cli import READ_STDIN
from realname.identifiers import RULE_MESSAGES, IdType, check

NAMES = {
    IdType.RESIDENT: "resident ID number",
    IdType.USCC: "unified social credit code",
    IdType.PASSPORT: "passport number",
    IdType.HK_MACAO: "Hong Kong/Macao residents' permit number",
    IdType.TAIWAN: "Taiwan residents' permit number",
    IdType.FOREIGN_PR: "foreign permanent resident ID number",
}


@click.group("id", help="Identifier rules: resident ID, credit code, passports and permits.")
def id_group() -> None:
    pass


# Unknown options become part of NUMBER: click's "no such option: -1101…" would echo it.
@id_group.command("check", context_settings={"ignore_unknown_options": True})
@click.option(
    "--type", "id_type", required=True, type=click.Choice([kind.value for kind in IdType])
)
# Several words are joined, so `110101 19900307 123X` is one number; an unexpected extra
# argument would otherwise be echoed back by click, unmasked.
@click.argument("number", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True)
def id_check(id_type: str, number: tuple[str, ...], as_json: bool) -> None:
    """Check NUMBER against the rules of its type; exit 0 if valid, 1 if not.

    NUMBER `-` reads it from standard input, keeping it out of shell history and the
    process list. Only the masked number is ever printed.
    """
    raw = sys.stdin.readline() if number == (READ_STDIN,) else "".join(number)
    kind = IdType(id_type)
    verdict = check(kind, raw)
    if as_json:
        body = {
            "type": kind.value,
            "valid": verdict.valid,
            "rule": None if verdict.rule is None else str(verdict.rule),
            "masked": verdict.masked,
        }
        click.echo(json.dumps(body, ensure_ascii=False))
    elif verdict.rule is None:
        click.echo(f"valid {NAMES[kind]}: {verdict.masked}")
    else:
        reason = RULE_MESSAGES[verdict.rule][1]
        click.echo(f"invalid {NAMES[kind]} {verdict.masked}: {reason} (rule: {verdict.rule})")
    sys.exit(0 if verdict.valid else 1)
