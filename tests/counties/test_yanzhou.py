"""Yanzhou (370812): high-age allowance held (附件2 missing), care and family planning inferred from Jining."""

from decimal import Decimal

import pytest

from tests.helpers import benefits_of, person

C = "yanzhou"
HERE = "370812"


@pytest.mark.parametrize("birth", ["1940-01-01", "1930-01-01", "1920-01-01"])  # 84, 94, 104
def test_every_high_age_band_is_held_because_the_amounts_are_in_the_missing_annex(birth: str) -> None:
    got = benefits_of(C, "2024-05", person(birth, hukou=HERE))
    assert got["high_age_allowance"].hold_reason == "standard_not_set"


def test_high_age_allowance_needs_yanzhou_hukou_and_starts_in_2024_01() -> None:
    assert "high_age_allowance" not in benefits_of(C, "2024-05", person("1940-01-01", hukou="370829"))
    assert "high_age_allowance" not in benefits_of(C, "2023-12", person("1940-01-01", hukou=HERE))
    assert "high_age_allowance" in benefits_of(C, "2024-01", person("1940-01-01", hukou=HERE))


def test_care_and_family_planning_are_inferred_from_the_jining_counterpart_and_say_so() -> None:
    # dibao aged 70, grade 2, only child disabled: living 80 + care 85 + support 810
    got = benefits_of(
        C, "2024-05", person("1954-01-01", hukou=HERE, income="dibao", grade="2", fp="child_disabled")
    )
    assert got["low_income_living"].amount == Decimal("80.00")
    assert got["low_income_care"].amount == Decimal("85.00")
    assert got["family_planning_support"].amount == Decimal("810.00")
    assert got["low_income_care"].rule == "counties/jiaxiang.yaml#low_income_care/dibao_grade_2_3"


def test_inherited_rows_carry_the_inference_note_in_their_citation() -> None:
    from subsidy_batch.rules.config import load_county
    from tests.helpers import CONFIG

    care = [r for r in load_county(CONFIG, C).rules if r.benefit == "low_income_care"]
    assert care and all(r.citation.startswith("inferred from the Jining counterpart") for r in care)
    assert all("000_c329969b9c6b764e.txt 清单 17" in r.citation for r in care)


@pytest.mark.parametrize(
    ("mode", "rule"),
    [
        ("分散供养", "counties/yanzhou.yaml#tekun_support/dispersed"),
        ("集中供养", "counties/yanzhou.yaml#tekun_support/centralised"),
    ],
)
def test_a_tekun_elder_is_held_for_tekun_support_in_either_mode_because_no_standard_is_set(
    mode: str, rule: str
) -> None:
    # 002 item 2 commits Yanzhou to 特困供养; 分散: 130% of Yanzhou's own 低保 standard (not set); 集中: paid to
    # the 区特困人员供养中心 (county decision), always held
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income="特困", support_mode=mode))
    item = got["tekun_support"]
    assert (item.amount, item.status, item.hold_reason, item.rule) == (None, "held", "standard_not_set", rule)
