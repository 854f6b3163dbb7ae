"""Cao County (371721): Shandong base living subsidy from 2023-07; other commitments held."""

from decimal import Decimal

import pytest

from subsidy_batch.errors import NoRuleInForceError
from tests.helpers import benefits_of, entitlements, person

C = "caoxian"
HERE = "371721"


def test_a_dibao_elder_aged_82_gets_100_living_subsidy() -> None:
    assert benefits_of(C, "2024-05", person("1942-01-01", hukou=HERE, income="dibao"))[
        "low_income_living"
    ].amount == Decimal("100.00")


@pytest.mark.parametrize(
    ("row", "benefit"),
    [
        (person("1954-01-01", hukou=HERE, income="dibao", grade="2"), "low_income_care"),
        (person("1954-01-01", hukou=HERE, fp="child_deceased"), "family_planning_support"),
        (person("1940-01-01", hukou=HERE), "high_age_allowance"),
    ],
)
def test_commitments_without_figures_are_held(row: dict[str, str], benefit: str) -> None:
    assert benefits_of(C, "2024-05", row)[benefit].hold_reason == "standard_not_set"


def test_cao_county_starts_in_2023_07() -> None:
    row = person("1950-01-01", hukou=HERE, income="dibao")
    with pytest.raises(NoRuleInForceError):
        entitlements(C, "2023-06", [row])
    assert benefits_of(C, "2023-07", row)["low_income_living"].amount == Decimal("80.00")


@pytest.mark.parametrize("mode", ["dispersed", "centralised"])
def test_a_tekun_elder_in_either_support_mode_is_counted_and_held_because_no_standard_is_given(
    mode: str,
) -> None:
    # the document commits to 特困供养 without a standard; 集中供养 is paid to the institution (county decision)
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income="tekun", support_mode=mode))
    item = got["tekun_support"]
    assert (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")
    assert item.rule == f"counties/caoxian.yaml#tekun_support/{mode}"


def test_cao_county_has_no_disability_subsidy_rows_because_its_document_commits_to_none() -> None:
    row = person("1954-01-01", hukou=HERE, income="dibao", disability_grade="一级", long_term_care="是")
    got = benefits_of(C, "2024-05", row)
    assert "disability_living" not in got and "severe_disability_care" not in got
