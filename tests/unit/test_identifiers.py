"""Identifier rules: every type, valid and invalid, each refusal naming the rule it breaks.

Every number here is SYNTHETIC. Resident and permit numbers use sequence codes 995-999
and check digits computed for made-up bases; credit codes use made-up organisation codes
of 9s (`99999990`, `MA999999` …) with their check characters computed; passports and
travel permits are runs of 9s. None is meant to be a real person's or body's number.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from realname.identifiers import (
    RULE_MESSAGES,
    IdType,
    Rule,
    check,
    mask,
    organization_code_check,
)

TODAY = date(2026, 6, 1)  # fixed, so "in the future" means the same thing every day
CHINA_TIME = timezone(timedelta(hours=8))  # stated here, not taken from the module under test

# (type, number as typed, rule it breaks or None when valid, why it is here)
CASES: list[tuple[IdType, str, str | None, str]] = [
    # -- resident ID, GB 11643 -----------------------------------------------------------
    (IdType.RESIDENT, "110101199001019992", None, "Beijing, born 1990-01-01, sequence 999"),
    (IdType.RESIDENT, "11010119900101995X", None, "check character X"),
    (IdType.RESIDENT, "11010119900101995x", None, "lower-case x is upper-cased"),
    (IdType.RESIDENT, "１１０１０１１９９００１０１９９９２", None, "full-width digits"),
    (IdType.RESIDENT, "110101 19900101 9992", None, "spaces between groups"),
    (IdType.RESIDENT, "  110101199001019984\n", None, "surrounding whitespace"),
    (IdType.RESIDENT, "310221195001019992", None, "上海县 code 1982-1992, born 1950"),
    (IdType.RESIDENT, "830000199001019981", None, "Taiwan residents' residence permit"),
    (IdType.RESIDENT, "810000199001019996", None, "Hong Kong residents' residence permit"),
    (IdType.RESIDENT, "820000199001019971", None, "Macao residents' residence permit"),
    (IdType.RESIDENT, "710000198001019998", None, "71: Taiwan in GB/T 2260"),
    (IdType.RESIDENT, "110101200002299987", None, "2000-02-29: 2000 is a leap year"),
    (IdType.RESIDENT, "110101190001019991", None, "1900-01-01, the earliest date"),
    (IdType.RESIDENT, "11010120260601999X", None, "born today"),
    (IdType.RESIDENT, "", Rule.LENGTH, "nothing typed"),
    (IdType.RESIDENT, "11010119900101999", Rule.LENGTH, "17 characters"),
    (IdType.RESIDENT, "1101011990010199920", Rule.LENGTH, "19 characters"),
    (IdType.RESIDENT, "110101900101999", Rule.LENGTH, "15-digit first-generation number"),
    (IdType.RESIDENT, "11010119900101A992", Rule.ALPHABET, "a letter among the digits"),
    (IdType.RESIDENT, "1101011990X1019992", Rule.ALPHABET, "X anywhere but last"),
    (IdType.RESIDENT, "11010119900101999Y", Rule.ALPHABET, "check character not 0-9 or X"),
    (IdType.RESIDENT, "١١٠١٠١199001019992", Rule.ALPHABET, "Arabic-Indic digits"),
    (IdType.RESIDENT, "000000199001019992", Rule.REGION, "province 00"),
    (IdType.RESIDENT, "160101199001019992", Rule.REGION, "province 16 does not exist"),
    (IdType.RESIDENT, "911840199001019995", Rule.REGION, "9: a foreign PR number, not ours"),
    (IdType.RESIDENT, "110101190002299999", Rule.DATE, "1900-02-29: 1900 was not leap"),
    (IdType.RESIDENT, "110101198913019990", Rule.DATE, "month 13"),
    (IdType.RESIDENT, "110101189912319997", Rule.DATE, "before 1900"),
    (IdType.RESIDENT, "110101202606029995", Rule.DATE, "born tomorrow"),
    (IdType.RESIDENT, "110101199001019993", Rule.CHECK_DIGIT, "last digit off by one"),
    (IdType.RESIDENT, "110101199001019929", Rule.CHECK_DIGIT, "last two digits swapped"),
    # -- unified social credit code, GB 32100 --------------------------------------------
    (IdType.USCC, "91110000999999904C", None, "9: market regulation, Beijing"),
    (IdType.USCC, "N21101059999999124", None, "N: agriculture (stdnum refuses it)"),
    (IdType.USCC, "Y1110000999999920C", None, "Y: other authorities (stdnum refuses it)"),
    (IdType.USCC, "A1110000999999939X", None, "A: CMC office (stdnum refuses it)"),
    (IdType.USCC, "12110000999999947Y", None, "1: public institution"),
    (IdType.USCC, "91100000999999955G", None, "registered at national level, 100000"),
    (IdType.USCC, "91110000ma99999966", None, "lower case, letters in the org code"),
    (IdType.USCC, "9211 0105 9999 9996 3R", None, "spaces"),
    (IdType.USCC, "91110000999999904", Rule.LENGTH, "17 characters"),
    (IdType.USCC, "91110000MI99999966", Rule.ALPHABET, "I is not in the alphabet"),
    (IdType.USCC, "91110000MO99999966", Rule.ALPHABET, "O is not in the alphabet"),
    (IdType.USCC, "91110000MZ99999966", Rule.ALPHABET, "Z is not in the alphabet"),
    (IdType.USCC, "91110000MS99999966", Rule.ALPHABET, "S is not in the alphabet"),
    (IdType.USCC, "91110000MV99999966", Rule.ALPHABET, "V is not in the alphabet"),
    (IdType.USCC, "01110000999999904C", Rule.REGISTRATION_AUTHORITY, "authority 0"),
    (IdType.USCC, "B1110000999999904C", Rule.REGISTRATION_AUTHORITY, "authority B"),
    (IdType.USCC, "91AB0000999999904C", Rule.REGION, "letters in the division code"),
    (IdType.USCC, "91110000999999904D", Rule.CHECK_DIGIT, "check character off by one"),
    (IdType.USCC, "91110000999999905F", Rule.ORGANIZATION_CODE_CHECK, "org code check 5≠4"),
    # -- ordinary PRC passport -------------------------------------------------------------
    (IdType.PASSPORT, "E99999999", None, "E + 8 digits"),
    (IdType.PASSPORT, "EA9999999", None, "E + letter + 7 digits"),
    (IdType.PASSPORT, "G99999999", None, "G + 8 digits"),
    (IdType.PASSPORT, "e99999998", None, "lower case"),
    (IdType.PASSPORT, "E9999999", Rule.LENGTH, "8 characters"),
    (IdType.PASSPORT, "E999999999", Rule.LENGTH, "10 characters"),
    (IdType.PASSPORT, "EI9999999", Rule.FORMAT, "I is not used after E"),
    (IdType.PASSPORT, "D99999999", Rule.FORMAT, "diplomatic passports are not this type"),
    (IdType.PASSPORT, "G9999999A", Rule.FORMAT, "letter at the end"),
    # -- Hong Kong / Macao residents' permit (回乡证) --------------------------------------
    (IdType.HK_MACAO, "H99999999", None, "Hong Kong"),
    (IdType.HK_MACAO, "M99999998", None, "Macao"),
    (IdType.HK_MACAO, "h99999997", None, "lower case"),
    (IdType.HK_MACAO, "H9999999900", Rule.LENGTH, "1999 card with renewal count, expired"),
    (IdType.HK_MACAO, "H9999999", Rule.LENGTH, "8 characters"),
    (IdType.HK_MACAO, "K99999999", Rule.FORMAT, "neither H nor M"),
    (IdType.HK_MACAO, "HA9999999", Rule.FORMAT, "letter among the digits"),
    # -- Taiwan residents' permit (台胞证) -------------------------------------------------
    (IdType.TAIWAN, "99999999", None, "8-digit lifetime number"),
    (IdType.TAIWAN, "9999 9998", None, "with a space"),
    (IdType.TAIWAN, "9999999", Rule.LENGTH, "7 digits"),
    (IdType.TAIWAN, "9999999901", Rule.LENGTH, "old number with issue count"),
    (IdType.TAIWAN, "9999999A", Rule.FORMAT, "a letter"),
    # -- foreign permanent resident ID ---------------------------------------------------
    (IdType.FOREIGN_PR, "USA999999999999", None, "2004/2017 edition: 3 letters + 12 digits"),
    (IdType.FOREIGN_PR, "usa999999999998", None, "lower case"),
    (IdType.FOREIGN_PR, "911840199001019995", None, "2023 edition, MOD 11-2 check"),
    (IdType.FOREIGN_PR, "USA99999999999", Rule.LENGTH, "14 characters"),
    (IdType.FOREIGN_PR, "US9999999999999", Rule.FORMAT, "only 2 letters"),
    (IdType.FOREIGN_PR, "811840199001019995", Rule.FORMAT, "18 characters not starting 9"),
    (IdType.FOREIGN_PR, "911840199001019996", Rule.CHECK_DIGIT, "2023 edition, bad check"),
]


def test_the_table_covers_every_type_both_ways_and_every_rule() -> None:
    assert len(CASES) >= 40
    for kind in IdType:
        rules = [rule for k, _, rule, _ in CASES if k is kind]
        assert None in rules and any(rule is not None for rule in rules), kind
    assert {rule for *_, rule, _ in CASES} >= set(Rule) - {Rule.TYPE}


@pytest.mark.parametrize(
    ("kind", "number", "rule", "why"), CASES, ids=[f"{c[0]}-{c[3]}" for c in CASES]
)
def test_identifier(kind: IdType, number: str, rule: str | None, why: str) -> None:
    verdict = check(kind, number, today=TODAY)
    assert (verdict.valid, verdict.rule) == (rule is None, rule), why
    if rule is None:
        assert verdict.normalised is not None
        assert verdict.normalised.isascii() and verdict.normalised == verdict.normalised.upper()
        assert not any(char.isspace() for char in verdict.normalised)
    else:
        assert verdict.normalised is None


@pytest.mark.parametrize(
    "number", [n for k, n, r, _ in CASES if k is IdType.RESIDENT and r is None]
)
def test_valid_resident_numbers_agree_with_an_independent_mod_11_2(number: str) -> None:
    # GB 11643 appendix: weights 2^(17-i) mod 11, remainder -> "10X98765432".
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    digits = check(IdType.RESIDENT, number, today=TODAY).normalised
    assert digits is not None
    total = sum(int(d) * w for d, w in zip(digits[:17], weights, strict=True))
    assert "10X98765432"[total % 11] == digits[17]


@pytest.mark.parametrize(
    "number",
    [
        "310221195001019992",  # county code from 1982, person born 1950
        "830000199001019981",  # Taiwan residents' permit: 830000 is not in stdnum's table
        "810000199001019996",  # 810000 listed by stdnum only from 1997 on
    ],
)
def test_numbers_stdnum_validate_refuses_are_admitted(number: str) -> None:
    with pytest.raises(ValidationError):
        ric.validate(number)
    assert ric.calc_check_digit(number) == number[-1]
    assert check(IdType.RESIDENT, number, today=TODAY).valid


@pytest.mark.parametrize(
    "number", ["N21101059999999124", "Y1110000999999920C", "A1110000999999939X"]
)
def test_letter_registration_authorities_are_admitted_where_stdnum_refuses(number: str) -> None:
    with pytest.raises(ValidationError):
        uscc.validate(number)
    assert check(IdType.USCC, number).valid


def test_organization_code_check_follows_gb_11714() -> None:
    # 10 -> X and 11 -> 0 are the two special cases.
    assert organization_code_check("99999998") == "X"
    assert organization_code_check("99999990") == "4"
    assert organization_code_check("MA999999") == "6"
    body = next(
        f"9999{n:04d}" for n in range(10000) if organization_code_check(f"9999{n:04d}") == "0"
    )
    total = sum(int(c) * w for c, w in zip(body, (3, 7, 9, 10, 5, 8, 4, 2), strict=True))
    assert total % 11 == 0


def test_future_is_judged_by_the_date_in_china_by_default() -> None:
    tomorrow = datetime.now(CHINA_TIME).date() + timedelta(days=1)
    base = f"110101{tomorrow:%Y%m%d}999"
    number = base + ric.calc_check_digit(base + "0")
    assert check(IdType.RESIDENT, number).rule == Rule.DATE
    yesterday = f"110101{tomorrow - timedelta(days=2):%Y%m%d}999"
    assert check(IdType.RESIDENT, yesterday + ric.calc_check_digit(yesterday + "0")).valid


def test_valid_resident_details_give_province_and_birth_date() -> None:
    verdict = check(IdType.RESIDENT, "11010120000229998７", today=TODAY)
    assert verdict.valid and verdict.normalised == "110101200002299987"
    assert verdict.details == {"province": "11", "birth_date": "2000-02-29"}
    assert check(IdType.FOREIGN_PR, "USA999999999999").details == {"edition": "2004"}


@pytest.mark.parametrize(
    "raw",
    ["", " ", "\x00", "身份证", "🙂" * 18, "1" * 10_000, "x" * 18, "-", "ＡＢＣ", "\u200b" * 18],
)
@pytest.mark.parametrize("kind", list(IdType))
def test_bad_input_is_a_verdict_never_an_exception(kind: IdType, raw: str) -> None:
    verdict = check(kind, raw)
    assert not verdict.valid and verdict.rule in RULE_MESSAGES


def test_an_unknown_type_is_the_rule_type() -> None:
    verdict = check("driving_licence", "110101199001019992")
    assert (verdict.valid, verdict.rule) == (False, "type")
    assert verdict.masked == "1101**********9992"


def test_masks_keep_four_and_four_of_eighteen_two_and_two_of_others() -> None:
    assert mask(IdType.RESIDENT, "11010119900101995x") == "1101**********995X"
    assert mask(IdType.USCC, "91110000999999904C") == "9111**********904C"
    assert mask(IdType.PASSPORT, "E99999999") == "E9*****99"
    assert mask(IdType.TAIWAN, "99999999") == "99****99"
    assert mask(IdType.HK_MACAO, "H999") == "****"
    assert mask(IdType.RESIDENT, "1" * 30) == "11" + "*" * 26 + "11"


@pytest.mark.parametrize(("kind", "number", "rule", "why"), CASES)
def test_the_mask_never_shows_the_whole_number(
    kind: IdType, number: str, rule: str | None, why: str
) -> None:
    verdict = check(kind, number, today=TODAY)
    visible = verdict.masked.replace("*", "")
    assert len(visible) <= 8
    assert len(visible) <= len(verdict.masked) // 2 or verdict.masked == ""


def test_every_rule_speaks_chinese_and_english() -> None:
    assert set(RULE_MESSAGES) == set(Rule)
    for zh, en in RULE_MESSAGES.values():
        assert zh and not zh.isascii()
        assert en and en.isascii()
    assert RULE_MESSAGES["check_digit"] == ("校验码不正确", "the check digit is wrong")
