"""Anqiu (370784): Shandong base living subsidy; the rest committed without figures; 2023-03 to 2026-02."""

from decimal import Decimal

import pytest

from subsidy_batch.errors import NoRuleInForceError
from tests.helpers import benefits_of, entitlements, person

C = "anqiu"
HERE = "370784"


def test_a_dibao_elder_aged_95_gets_200_living_subsidy() -> None:
    assert benefits_of(C, "2024-05", person("1929-01-01", hukou=HERE, income="dibao"))[
        "low_income_living"
    ].amount == Decimal("200.00")


@pytest.mark.parametrize(
    ("row", "benefit"),
    [
        (person("1954-01-01", hukou=HERE, income="dibao", grade="3"), "low_income_care"),
        (person("1954-01-01", hukou=HERE, fp="child_deceased"), "family_planning_support"),
        (person("1954-01-01", hukou=HERE, fp="child_disabled"), "family_planning_support"),
        (person("1940-01-01", hukou=HERE), "high_age_allowance"),
    ],
)
def test_benefits_committed_without_a_figure_are_held_not_paid_as_zero(
    row: dict[str, str], benefit: str
) -> None:
    item = benefits_of(C, "2024-05", row)[benefit]
    assert (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")


def test_anqiu_rules_are_in_force_from_2023_03_to_2026_02_only() -> None:
    row = person("1950-01-01", hukou=HERE, income="dibao")
    assert benefits_of(C, "2023-03", row)["low_income_living"].amount == Decimal("80.00")
    assert benefits_of(C, "2026-02", row)["low_income_living"].amount == Decimal("80.00")
    for outside in ("2023-02", "2026-03"):
        with pytest.raises(NoRuleInForceError):
            entitlements(C, outside, [row])


@pytest.mark.parametrize("mode", ["dispersed", "centralised"])
def test_a_tekun_elder_in_either_support_mode_is_counted_and_held_because_no_standard_is_given(
    mode: str,
) -> None:
    # the document commits to 特困供养 without a standard; 集中供养 is paid to the institution (county decision)
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income="tekun", support_mode=mode))
    item = got["tekun_support"]
    assert (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")
    assert item.rule == f"counties/anqiu.yaml#tekun_support/{mode}"


def test_anqiu_has_no_disability_subsidy_rows_because_its_document_commits_to_none() -> None:
    row = person("1954-01-01", hukou=HERE, income="dibao", disability_grade="一级", long_term_care="是")
    got = benefits_of(C, "2024-05", row)
    assert "disability_living" not in got and "severe_disability_care" not in got
