"""Identifier rules at their edges: every province code and its neighbours, every check value,
every registration authority, the first and last admitted dates, and exact masks.

The expectations are written here, not read from `realname.identifiers`: the province table,
China's time zone and both check-digit algorithms are restated from GB/T 2260, GB 11643,
GB 32100 and GB 11714 so that a slip in the module cannot agree with itself.

Every number is SYNTHETIC: resident numbers have sequence code 999 and a check digit
computed for that made-up base; credit codes carry made-up organisation codes of 9s.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Self

import pytest

import realname.identifiers as identifiers
from realname.identifiers import IdType, check, mask, organization_code_check

CHINA = timezone(timedelta(hours=8))  # China Standard Time, no daylight saving
TODAY = date(2026, 6, 1)

# GB/T 2260 province-level codes, with 71 for Taiwan, and 81-83 on the residence permits
# of Hong Kong, Macao and Taiwan residents (港澳台居民居住证).
PROVINCES = [
    *(11, 12, 13, 14, 15),  # 北京 天津 河北 山西 内蒙古
    *(21, 22, 23),  # 辽宁 吉林 黑龙江
    *(31, 32, 33, 34, 35, 36, 37),  # 上海 江苏 浙江 安徽 福建 江西 山东
    *(41, 42, 43, 44, 45, 46),  # 河南 湖北 湖南 广东 广西 海南
    *(50, 51, 52, 53, 54),  # 重庆 四川 贵州 云南 西藏
    *(61, 62, 63, 64, 65),  # 陕西 甘肃 青海 宁夏 新疆
    *(71, 81, 82, 83),  # 台湾; 香港 澳门 台湾 居民居住证
]
NOT_PROVINCES = [code for code in range(100) if code not in PROVINCES]

RESIDENT_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]  # 2^(17-i) mod 11
USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
USCC_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]  # 3^i mod 31


def resident(prefix: str, born: date | str, sequence: str = "999") -> str:
    """A synthetic 18-character number with its MOD 11-2 check digit."""
    birth = born if isinstance(born, str) else f"{born:%Y%m%d}"
    base = f"{prefix}{birth}{sequence}"
    assert len(base) == 17
    total = sum(int(d) * w for d, w in zip(base, RESIDENT_WEIGHTS, strict=True))
    return base + "10X98765432"[total % 11]


def credit_code(authority: str, org_body: str = "99999990", division: str = "110000") -> str:
    """A synthetic USCC: authority, category 1, division, organisation code, MOD 31 check."""
    org = org_body + gb11714(org_body)
    base = f"{authority}1{division}{org}"
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(base, USCC_WEIGHTS, strict=True))
    return base + USCC_ALPHABET[-total % 31]


def gb11714(body: str) -> str:
    values = [int(c) if c.isdigit() else ord(c) - ord("A") + 10 for c in body]
    check_value = (
        11 - sum(v * w for v, w in zip(values, [3, 7, 9, 10, 5, 8, 4, 2], strict=True)) % 11
    )
    return {10: "X", 11: "0"}.get(check_value, str(check_value))


def rule(kind: IdType, number: str, today: date | None = TODAY) -> str | None:
    verdict = check(kind, number, today=today)
    assert verdict.valid is (verdict.rule is None)
    assert (verdict.normalised is not None) is verdict.valid
    return verdict.rule


# -- region -----------------------------------------------------------------------------


def test_the_province_table_is_the_one_in_gb_t_2260() -> None:
    assert len(PROVINCES) == 35 and len(NOT_PROVINCES) == 65


@pytest.mark.parametrize("code", PROVINCES, ids=str)
def test_every_province_is_admitted(code: int) -> None:
    number = resident(f"{code:02d}0000", date(1990, 1, 1))
    verdict = check(IdType.RESIDENT, number, today=TODAY)
    assert (verdict.valid, verdict.rule, verdict.normalised) == (True, None, number)
    assert verdict.details == {"province": f"{code:02d}", "birth_date": "1990-01-01"}


@pytest.mark.parametrize("code", NOT_PROVINCES, ids=lambda code: f"{code:02d}")
def test_every_other_two_digit_code_is_refused_as_region(code: int) -> None:
    number = resident(f"{code:02d}0101", date(1990, 1, 1))
    verdict = check(IdType.RESIDENT, number, today=TODAY)
    assert (verdict.valid, verdict.rule, verdict.normalised) == (False, "region", None)
    assert verdict.details == {}


def test_the_codes_just_outside_each_range_are_among_those_refused() -> None:
    edges = {10, 16, 20, 24, 30, 38, 40, 47, 49, 55, 60, 66, 70, 72, 80, 84, 91, 99}
    assert edges <= set(NOT_PROVINCES)
    for code in edges:
        assert rule(IdType.RESIDENT, resident(f"{code}0000", date(1990, 1, 1))) == "region"


# -- date of birth ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "admitted"),
    [
        ("19000101", True),  # the earliest date admitted
        ("18991231", False),  # the day before it
        ("19001231", True),
        ("19000229", False),  # 1900: divisible by 100, not by 400, not leap
        ("19040229", True),
        ("19960229", True),
        ("19970229", False),
        ("20000229", True),  # 2000: divisible by 400, leap
        ("20230229", False),
        ("20240229", True),
        ("20240230", False),
        ("19900131", True),
        ("19900132", False),
        ("19900430", True),
        ("19900431", False),  # April has 30 days
        ("19901231", True),
        ("19901301", False),
        ("19900001", False),  # month 00
        ("19900100", False),  # day 00
        ("00000101", False),
        ("20260531", True),  # yesterday
        ("20260601", True),  # today
        ("20260602", False),  # tomorrow
        ("20270101", False),
    ],
)
def test_dates_of_birth(birth: str, admitted: bool) -> None:
    verdict = check(IdType.RESIDENT, resident("110101", birth), today=TODAY)
    assert verdict.rule == (None if admitted else "date")
    if admitted:
        assert verdict.details["birth_date"] == f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"


class _FixedClock(datetime):
    """`datetime` whose `now` is one fixed instant, seen from whichever zone is asked."""

    instant = datetime(2026, 5, 31, 16, 0, tzinfo=UTC)

    @classmethod
    def now(cls, tz: tzinfo | None = None) -> Self:
        return cls.fromtimestamp(cls.instant.timestamp(), tz)


@pytest.mark.parametrize(
    ("utc", "admitted"),
    [
        (datetime(2026, 5, 31, 16, 0, 0, tzinfo=UTC), True),  # 00:00 on 1 June in China
        (datetime(2026, 5, 31, 15, 59, 59, tzinfo=UTC), False),  # 23:59:59 on 31 May
        (datetime(2026, 6, 1, 15, 59, 59, tzinfo=UTC), True),  # 23:59:59 on 1 June
    ],
)
def test_born_today_is_judged_by_the_clock_in_china(
    monkeypatch: pytest.MonkeyPatch, utc: datetime, admitted: bool
) -> None:
    assert utc.astimezone(CHINA).date() == (TODAY if admitted else TODAY - timedelta(days=1))
    monkeypatch.setattr(_FixedClock, "instant", utc)
    monkeypatch.setattr(identifiers, "datetime", _FixedClock)
    assert rule(IdType.RESIDENT, resident("110101", TODAY), today=None) == (
        None if admitted else "date"
    )


def test_tomorrow_in_china_is_refused_by_default_and_today_in_china_admitted() -> None:
    today_in_china = datetime.now(CHINA).date()
    assert rule(IdType.RESIDENT, resident("110101", today_in_china), today=None) is None
    tomorrow = today_in_china + timedelta(days=1)
    assert rule(IdType.RESIDENT, resident("110101", tomorrow), today=None) == "date"


# -- check digit ------------------------------------------------------------------------


def with_check(value: str) -> str:
    """The first synthetic number born in 1990 whose check character is `value`."""
    return next(
        number
        for day in range(365)
        if (number := resident("110101", date(1990, 1, 1) + timedelta(days=day)))[-1] == value
    )


@pytest.mark.parametrize("value", list("0123456789X"))
def test_every_check_value_and_only_it_is_admitted(value: str) -> None:
    number = with_check(value)
    assert rule(IdType.RESIDENT, number) is None
    for wrong in "0123456789X":
        if wrong != value:
            assert rule(IdType.RESIDENT, number[:-1] + wrong) == "check_digit", wrong


def test_check_digit_x_is_admitted_in_either_case() -> None:
    number = with_check("X")
    assert check(IdType.RESIDENT, number.lower(), today=TODAY).normalised == number


def test_the_first_rule_broken_is_the_one_reported() -> None:
    bad_date_and_check = resident("110101", "19901301")[:-1] + "0"
    assert rule(IdType.RESIDENT, bad_date_and_check) == "date"
    bad_region_and_date = resident("100101", "19901301")
    assert rule(IdType.RESIDENT, bad_region_and_date) == "region"
    assert rule(IdType.RESIDENT, "1001011990130199X9") == "alphabet"
    assert rule(IdType.RESIDENT, "10010119901301999") == "length"


def test_a_verdict_cannot_be_changed_after_the_check() -> None:
    verdict = check(IdType.RESIDENT, "1" * 17, today=TODAY)
    with pytest.raises(dataclasses.FrozenInstanceError):
        verdict.valid = True  # type: ignore[misc]


def test_today_is_only_taken_by_name() -> None:
    with pytest.raises(TypeError):
        check(IdType.RESIDENT, resident("110101", TODAY), TODAY)  # type: ignore[call-arg]


def test_a_refusal_says_how_long_a_number_must_be() -> None:
    assert check(IdType.RESIDENT, "1" * 17, today=TODAY).details == {"expected": "18"}
    assert check(IdType.USCC, "1" * 19, today=TODAY).details == {"expected": "18"}
    assert check(IdType.PASSPORT, "E999", today=TODAY).details == {"expected": "9"}
    assert check(IdType.TAIWAN, "999", today=TODAY).details == {"expected": "8"}
    for length in (3, 14, 16, 17, 19, 30):
        details = check(IdType.FOREIGN_PR, "9" * length, today=TODAY).details
        assert details == {"expected": "15 or 18"}, length


# -- unified social credit code -------------------------------------------------------------


@pytest.mark.parametrize("authority", list("123456789ANY"))
def test_every_registration_authority_is_admitted(authority: str) -> None:
    code = credit_code(authority)
    verdict = check(IdType.USCC, code, today=TODAY)
    assert (verdict.valid, verdict.normalised) == (True, code)
    assert verdict.details == {"registration_authority": authority, "region": "110000"}


@pytest.mark.parametrize("authority", [c for c in USCC_ALPHABET if c not in "123456789ANY"])
def test_every_other_first_character_is_refused_as_registration_authority(authority: str) -> None:
    assert rule(IdType.USCC, credit_code(authority)) == "registration_authority"


@pytest.mark.parametrize("division", ["100000", "110000", "999999", "000000"])
def test_any_six_digit_division_is_admitted(division: str) -> None:
    assert rule(IdType.USCC, credit_code("9", division=division)) is None


def test_a_credit_code_check_character_is_checked_over_the_whole_alphabet() -> None:
    code = credit_code("9")
    for wrong in USCC_ALPHABET:
        if wrong != code[-1]:
            assert rule(IdType.USCC, code[:-1] + wrong) == "check_digit", wrong


def test_the_organisation_code_check_character_is_checked_over_the_whole_alphabet() -> None:
    code = credit_code("9")
    for wrong in USCC_ALPHABET:
        if wrong != code[16]:
            # Consistent except for the organisation code: the whole code's check is redone.
            made_up = code[:16] + wrong
            total = sum(
                USCC_ALPHABET.index(c) * w for c, w in zip(made_up, USCC_WEIGHTS, strict=True)
            )
            made_up += USCC_ALPHABET[-total % 31]
            assert rule(IdType.USCC, made_up) == "organization_code_check", wrong


@pytest.mark.parametrize("body", ["", "9999999", "999999999"])
def test_an_organisation_code_body_must_have_eight_characters(body: str) -> None:
    with pytest.raises(ValueError):
        organization_code_check(body)


@pytest.mark.parametrize(
    "body",
    [f"{letter}9999999" for letter in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"] + ["99999990", "MA999999"],
)
def test_organisation_code_check_counts_letters_a_to_z_as_10_to_35(body: str) -> None:
    assert organization_code_check(body) == gb11714(body)


def test_organisation_code_check_weights_each_position() -> None:
    for position in range(8):
        body = "".join("1" if i == position else "0" for i in range(8))
        assert organization_code_check(body) == gb11714(body), position


# -- foreign permanent resident ID, 2023 edition ------------------------------------------------


def test_a_2023_permanent_residence_number_admits_its_check_value_only() -> None:
    number = resident("911840", date(1990, 1, 1))  # same shape as GB 11643, starting with 9
    verdict = check(IdType.FOREIGN_PR, number, today=TODAY)
    assert (verdict.valid, verdict.details) == (True, {"edition": "2023"})
    for wrong in "0123456789X":
        if wrong != number[-1]:
            assert rule(IdType.FOREIGN_PR, number[:-1] + wrong) == "check_digit", wrong


# -- masks ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("11010119900101123x", "1101**********123X"),  # 18: four and four
        ("1101011990010112345", "11***************45"),  # 19: two and two
        ("11010119900101123", "11*************23"),  # 17: two and two
        ("99999999", "99****99"),  # 8: two and two
        ("9999999", "*******"),  # 7: nothing shown
        ("9", "*"),
        ("", ""),
    ],
)
def test_masks_exactly(raw: str, masked: str) -> None:
    assert mask(IdType.RESIDENT, raw) == masked
    assert check(IdType.RESIDENT, raw, today=TODAY).masked == masked
