"""Format rules for the numbers people and organisations register with.

`check(id_type, raw)` normalises what was typed and names the first rule it breaks. It
consults no registry and never raises on bad input: a number that passes here is
well-formed, not necessarily issued (the registry connectors answer that).

Rules, in the order each type checks them (the first one broken is reported):

=============  ===================================================================
resident       length, alphabet, region, date, check_digit
uscc           length, alphabet, registration_authority, region, check_digit,
               organization_code_check
passport       length, format
hk_macao       length, format
taiwan         length, format
foreign_pr     length, format, check_digit (18-character numbers only)
=============  ===================================================================

An `id_type` that is not one of `IdType` is reported as rule `type`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from enum import StrEnum

from stdnum.cn import ric, uscc

from idp.crypto.pii import mask_id_number

__all__ = ["RULE_MESSAGES", "IdType", "Rule", "Verdict", "check", "mask", "normalise"]

CHINA_TIME = timezone(timedelta(hours=8))


class IdType(StrEnum):
    RESIDENT = "resident"  # 居民身份证 (GB 11643)
    USCC = "uscc"  # 统一社会信用代码 (GB 32100)
    PASSPORT = "passport"  # 中国普通护照
    HK_MACAO = "hk_macao"  # 港澳居民来往内地通行证 (回乡证)
    TAIWAN = "taiwan"  # 台湾居民来往大陆通行证 (台胞证)
    FOREIGN_PR = "foreign_pr"  # 外国人永久居留身份证


class Rule(StrEnum):
    TYPE = "type"
    LENGTH = "length"
    ALPHABET = "alphabet"
    FORMAT = "format"
    REGION = "region"
    DATE = "date"
    CHECK_DIGIT = "check_digit"
    REGISTRATION_AUTHORITY = "registration_authority"
    ORGANIZATION_CODE_CHECK = "organization_code_check"


# (zh, en). Plain strings: the web layer wraps them for Flask-Babel.
RULE_MESSAGES: dict[str, tuple[str, str]] = {
    Rule.TYPE: ("不支持该证件类型", "this type of document is not supported"),
    Rule.LENGTH: ("号码位数不正确", "the number has the wrong length"),
    Rule.ALPHABET: ("号码含有不允许的字符", "the number contains characters that are not allowed"),
    Rule.FORMAT: ("号码格式与该证件不符", "the number does not have the format of this document"),
    Rule.REGION: ("地区代码不正确", "the region code is not a known one"),
    Rule.DATE: (
        "出生日期不是有效日期（或晚于今天、早于1900年）",
        "the date of birth is not a real date, is in the future or is before 1900",
    ),
    Rule.CHECK_DIGIT: ("校验码不正确", "the check digit is wrong"),
    Rule.REGISTRATION_AUTHORITY: (
        "登记管理部门代码（第1位）不正确",
        "the registration authority code (first character) is not a known one",
    ),
    Rule.ORGANIZATION_CODE_CHECK: (
        "组织机构代码（第9至17位）的校验码不正确",
        "the check character of the organisation code (characters 9 to 17) is wrong",
    ),
}


@dataclass(frozen=True)
class Verdict:
    """What `check` found. `normalised` is set only when the number is valid."""

    valid: bool
    rule: str | None
    normalised: str | None
    masked: str
    details: dict[str, str] = field(default_factory=dict)


Outcome = tuple[Rule | None, dict[str, str]]


def normalise(raw: str) -> str:
    """Full-width to half-width (NFKC), no whitespace anywhere, upper case (`x` -> `X`)."""
    text = unicodedata.normalize("NFKC", raw if isinstance(raw, str) else "")
    return "".join(text.split()).upper()


def mask(id_type: IdType | str, value: str) -> str:
    """The number as logs, pages and admin output may show it.

    Every type masks by length alone: 18 characters keep the first and last four
    (`1101**********123X`), 8 to 17 or more than 18 keep two at each end, shorter
    values are all stars (two at each end would give most of them away). `id_type` is
    taken so that a type may one day mask its own way without changing callers.
    """
    number = normalise(value)
    if len(number) == 18:
        return mask_id_number(number)
    if len(number) >= 8:
        return number[:2] + "*" * (len(number) - 4) + number[-2:]
    return "*" * len(number)


def check(id_type: IdType | str, raw: str, *, today: date | None = None) -> Verdict:
    """Apply the format rules of `id_type` to `raw`; `today` defaults to the date in China."""
    number = normalise(raw)
    masked = mask(id_type, number)
    try:
        kind = IdType(id_type)
    except ValueError:
        return Verdict(False, Rule.TYPE, None, masked)
    rule, details = _CHECKS[kind](number, today or datetime.now(CHINA_TIME).date())
    if rule is not None:
        return Verdict(False, rule, None, masked, details)
    return Verdict(True, None, number, masked, details)


# -- resident ID (GB 11643-1999) ---------------------------------------------------------
# Province-level codes of GB/T 2260, where 71 is Taiwan's. 81, 82 and 83 are the codes on the
# residence permits for Hong Kong, Macao and Taiwan residents (港澳台居民居住证, since
# 2018): their numbers follow GB 11643 with address code 810000, 820000 or 830000, and
# those permit holders register with them as their resident ID number.
PROVINCES = frozenset(
    f"{code}"
    for low, high in ((11, 15), (21, 23), (31, 37), (41, 46), (50, 54), (61, 65))
    for code in range(low, high + 1)
) | {"71", "81", "82", "83"}
_RESIDENT = re.compile(r"[0-9]{17}[0-9X]")  # [0-9], not \d: \d admits other scripts' digits
EARLIEST_BIRTH = date(1900, 1, 1)


def _birth_date(digits: str) -> date | None:
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:8]))
    except ValueError:
        return None


def _mod11_2(number: str) -> str:
    """ISO 7064 MOD 11-2 over the first 17 digits of an 18-character number.

    stdnum's check-digit function alone: `stdnum.cn.ric.validate` also demands that the
    county code existed in the birth year, which rejects everyone born before their county
    got its code (most people born before the 1980s code tables) and every 83xxxx permit.
    """
    return str(ric.calc_check_digit(number))


def _resident(number: str, today: date) -> Outcome:
    """18 characters only: 15-digit first-generation cards stopped being valid in 2013."""
    if len(number) != 18:
        return Rule.LENGTH, {"expected": "18"}
    if not _RESIDENT.fullmatch(number):
        return Rule.ALPHABET, {}
    if number[:2] not in PROVINCES:
        return Rule.REGION, {}
    born = _birth_date(number[6:14])
    if born is None or not EARLIEST_BIRTH <= born <= today:
        return Rule.DATE, {}
    if _mod11_2(number) != number[17]:
        return Rule.CHECK_DIGIT, {}
    return None, {"province": number[:2], "birth_date": born.isoformat()}


# -- unified social credit code (GB 32100-2015) -------------------------------------------
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # no I, O, Z, S, V
# 1-8 机构编制, 外交, 司法行政, 文化, 民政, 旅游, 宗教, 工会; 9 市场监管 (工商);
# A 中央军委改革和编制办公室; N 农业 (农村集体经济组织); Y 其他.
# stdnum.cn.uscc.validate demands a digit here and so rejects A, N and Y codes; its
# check-character function handles letters correctly and is what we use.
REGISTRATION_AUTHORITIES = frozenset("123456789ANY")
_SIX_DIGITS = re.compile(r"[0-9]{6}")
_GB11714_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def organization_code_check(body: str) -> str:
    """GB 11714 check character for the 8-character body of an organisation code.

    Digits count as themselves and letters A-Z as 10-35; weights 3 7 9 10 5 8 4 2;
    the check is 11 - (sum mod 11), written `X` for 10 and `0` for 11. stdnum has no
    module for it.
    """
    total = sum(int(char, 36) * weight for char, weight in zip(body, _GB11714_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def _uscc(number: str, today: date) -> Outcome:
    """Characters 9-17 are the organisation code (GB 11714), whose own check character is
    the 17th; it is checked after the whole code's check character, so a typing slip
    reports `check_digit` and `organization_code_check` only fires on a code that was made
    up consistently except for its organisation code."""
    if len(number) != 18:
        return Rule.LENGTH, {"expected": "18"}
    if any(char not in USCC_ALPHABET for char in number):
        return Rule.ALPHABET, {}
    if number[0] not in REGISTRATION_AUTHORITIES:
        return Rule.REGISTRATION_AUTHORITY, {}
    # The registering authority's division code: any 6 digits, since the national level
    # registers under 100000, which is no GB/T 2260 province.
    if not _SIX_DIGITS.fullmatch(number[2:8]):
        return Rule.REGION, {}
    if uscc.calc_check_digit(number[:17]) != number[17]:
        return Rule.CHECK_DIGIT, {}
    if organization_code_check(number[8:16]) != number[16]:
        return Rule.ORGANIZATION_CODE_CHECK, {}
    return None, {"registration_authority": number[0], "region": number[2:8]}


# -- travel documents and permits ---------------------------------------------------------
# Ordinary PRC passports only: G + 8 digits (2006-2012 e-passports, now expired but kept
# for records), E + 8 digits and E + a letter other than I/O + 7 digits (2012 onward).
# Diplomatic and service passports and foreign passports are not this type.
_PASSPORT = re.compile(r"E[0-9]{8}|E[A-HJ-NP-Z][0-9]{7}|G[0-9]{8}")
# 港澳居民来往内地通行证, card issued since 2013: H (Hong Kong) or M (Macao) + the 8-digit
# lifetime number. The 1999 card carried 2 more digits (times renewed, 11 characters in
# all); the last of those were issued in 2012 for at most 10 years, so they have expired.
_HK_MACAO = re.compile(r"[HM][0-9]{8}")
# 台湾居民来往大陆通行证: the 8-digit lifetime number ("一人一号", since 2008-09-25). The
# older issue count and authority suffix are printed apart from the number now.
_TAIWAN = re.compile(r"[0-9]{8}")
# 外国人永久居留身份证: the 2004 and 2017 editions have 3 letters (nationality) + 12 digits; the
# card issued since 2023-12-01 has 18 characters shaped like GB 11643, starting with 9 and
# ending with a MOD 11-2 check digit (National Immigration Administration, 2023).
_FOREIGN_PR_2004 = re.compile(r"[A-Z]{3}[0-9]{12}")
_FOREIGN_PR_2023 = re.compile(r"9[0-9]{16}[0-9X]")


def _fixed(length: int, pattern: re.Pattern[str]) -> Callable[[str, date], Outcome]:
    def rules(number: str, today: date) -> Outcome:
        if len(number) != length:
            return Rule.LENGTH, {"expected": str(length)}
        if not pattern.fullmatch(number):
            return Rule.FORMAT, {}
        return None, {}

    return rules


def _foreign_pr(number: str, today: date) -> Outcome:
    if len(number) == 15:
        if not _FOREIGN_PR_2004.fullmatch(number):
            return Rule.FORMAT, {"edition": "2004"}
        return None, {"edition": "2004"}
    if len(number) != 18:
        return Rule.LENGTH, {"expected": "15 or 18"}
    if not _FOREIGN_PR_2023.fullmatch(number):
        return Rule.FORMAT, {"edition": "2023"}
    if _mod11_2(number) != number[17]:
        return Rule.CHECK_DIGIT, {"edition": "2023"}
    return None, {"edition": "2023"}


_CHECKS: dict[IdType, Callable[[str, date], Outcome]] = {
    IdType.RESIDENT: _resident,
    IdType.USCC: _uscc,
    IdType.PASSPORT: _fixed(9, _PASSPORT),
    IdType.HK_MACAO: _fixed(9, _HK_MACAO),
    IdType.TAIWAN: _fixed(8, _TAIWAN),
    IdType.FOREIGN_PR: _foreign_pr,
}
