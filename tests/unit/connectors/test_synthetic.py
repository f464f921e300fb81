"""The synthetic world: visibly made up, valid by the national standards, reproducible."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from stdnum.cn import ric, uscc

from connectors import synthetic

DATA = synthetic.generate(seed=11)


def test_the_same_seed_gives_the_same_world_and_another_seed_another() -> None:
    assert synthetic.generate(seed=11) == DATA
    other = synthetic.generate(seed=12)
    assert {p.id_number for p in other.persons} != {p.id_number for p in DATA.persons}


def test_names_are_visibly_synthetic() -> None:
    names = [p.name for p in synthetic.generate(persons=25).persons]
    assert names[:3] == ["测试甲", "测试乙", "测试丙"]
    assert names[10:13] == ["演示一号", "演示二号", "演示三号"]
    assert names[-1] == "演示十五号"
    assert all(e.name.startswith("演示") for e in DATA.enterprises)


def test_id_numbers_are_synthetic_region_and_sequence_with_valid_check_digits() -> None:
    numbers = [p.id_number for p in DATA.persons]
    assert len(set(numbers)) == len(numbers)
    for number in numbers:
        assert re.fullmatch(r"110101(19[5-9]\d|200[0-5])\d{4}99\d[\dX]", number)
        assert ric.calc_check_digit(number) == number[-1]
        assert ric.is_valid(number)


@pytest.mark.parametrize(
    ("first17", "check"),
    [("11010519491231002", "X"), ("44030819990101123", "4"), ("11010119900307123", "3")],
)
def test_resident_id_check_digit_matches_gb_11643(first17: str, check: str) -> None:
    assert synthetic.resident_id_check(first17) == check == ric.calc_check_digit(first17 + "?")


def test_usccs_have_valid_organisation_codes_and_check_characters() -> None:
    for enterprise in DATA.enterprises:
        code = enterprise.uscc
        assert code[2:8] == "110101" and code[8:12] == "9999"
        assert synthetic.org_code_check(code[8:16]) == code[16]
        assert uscc.calc_check_digit(code) == code[-1]
        if code[0].isdigit():  # stdnum wrongly refuses letter registration authorities
            assert uscc.is_valid(code)


def test_organisation_code_check_matches_gb_11714() -> None:
    assert synthetic.org_code_check("D2143569") == "X"
    assert synthetic.org_code_check("12345678") == "8"


def test_every_status_is_present() -> None:
    assert {p.status for p in DATA.persons} == {"alive", "deceased", "cancelled"}
    assert {e.status for e in DATA.enterprises} == {"active", "revoked", "cancelled"}
    assert any(e.uscc.startswith("N2") for e in DATA.enterprises)


def test_legal_representatives_are_living_synthetic_persons() -> None:
    alive = {(p.name, p.id_number) for p in DATA.persons_with("alive")}
    for enterprise in DATA.enterprises:
        assert (enterprise.legal_rep_name, enterprise.legal_rep_id_number) in alive


def test_the_data_file_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "registry.json"
    synthetic.main(["--seed", "11", "--out", str(path)])
    assert synthetic.load(path) == DATA
    assert "测试甲" in path.read_text(encoding="utf-8")
    assert set(json.loads(path.read_text())) == {"seed", "persons", "enterprises"}


def test_face_rule_scores_same_person_high_and_others_low() -> None:
    me, other = DATA.persons[0].photo_template_id, DATA.persons[1].photo_template_id
    for variant in range(20):
        mine = synthetic.decode_image(synthetic.face_image(me, variant))
        assert 0.90 <= synthetic.face_score(me, mine) <= 0.99
        assert synthetic.face_score(other, mine) < 0.40


def test_a_liveness_token_is_bound_to_its_frame() -> None:
    frame = synthetic.face_image("ph-1")
    token = synthetic.liveness_token(frame)
    assert synthetic.is_live(synthetic.decode_image(frame), token)
    assert not synthetic.is_live(synthetic.decode_image(synthetic.face_image("ph-1", 1)), token)
