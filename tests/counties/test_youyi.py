"""Youyi (230522): yearly tiers paid monthly, care by 失能/半失能, the 15% 低保 supplement."""

from decimal import Decimal

import pytest

from subsidy_batch.errors import NoRuleInForceError
from tests.helpers import benefits_of, entitlements, person

C = "youyi"
HERE = "230522"
OTHER_HLJ = "230521"  # another Heilongjiang county (集贤县)


def test_a_youyi_elder_aged_85_with_normal_income_gets_300_a_year_as_25_a_month() -> None:
    # 300 yuan / 12 = 25.00 yuan for May 2024
    got = benefits_of(C, "2024-05", person("1939-01-01", hukou=HERE, income="none"))
    assert got["high_age_allowance"].amount == Decimal("25.00")


def test_the_300_tier_needs_youyi_hukou_not_only_heilongjiang() -> None:
    assert "high_age_allowance" not in benefits_of(C, "2024-05", person("1939-01-01", hukou=OTHER_HLJ))


@pytest.mark.parametrize("income", ["dibao", "marginal"])
def test_a_heilongjiang_dibao_or_marginal_elder_aged_85_gets_1200_a_year_as_100_a_month(income: str) -> None:
    # 1200 / 12 = 100.00
    got = benefits_of(C, "2024-05", person("1939-01-01", hukou=OTHER_HLJ, income=income))
    assert got["high_age_allowance"].amount == Decimal("100.00")


@pytest.mark.parametrize("income", ["none", "dibao", "tekun"])
def test_a_heilongjiang_elder_aged_90_or_more_gets_100_a_month_whatever_the_income(income: str) -> None:
    got = benefits_of(C, "2024-05", person("1930-01-01", hukou=OTHER_HLJ, income=income))
    assert got["high_age_allowance"].amount == Decimal("100.00")


def test_an_elder_aged_90_without_heilongjiang_hukou_gets_no_high_age_allowance() -> None:
    assert "high_age_allowance" not in benefits_of(C, "2024-05", person("1930-01-01", hukou="370829"))


def test_a_tekun_elder_aged_85_is_held_because_the_source_names_no_tier_for_tekun() -> None:
    got = benefits_of(C, "2024-05", person("1939-01-01", hukou=HERE, income="tekun"))
    assert got["high_age_allowance"].hold_reason == "standard_not_set"


@pytest.mark.parametrize(
    ("income", "grade", "amount"),
    [
        ("dibao", "3", "150.00"),
        ("dibao", "2", "100.00"),
        ("marginal", "3", "100.00"),
        ("marginal", "2", "50.00"),
    ],
)
def test_care_subsidy_by_income_and_disability(income: str, grade: str, amount: str) -> None:
    # 失能 = grade 3, 半失能 = grade 2 (county mapping in config)
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income=income, grade=grade))
    assert got["low_income_care"].amount == Decimal(amount)


@pytest.mark.parametrize(("hukou", "grade"), [(OTHER_HLJ, "3"), (HERE, "1"), (HERE, "")])
def test_no_care_subsidy_without_youyi_hukou_or_disability(hukou: str, grade: str) -> None:
    assert "low_income_care" not in benefits_of(
        C, "2024-05", person("1954-01-01", hukou=hukou, income="dibao", grade=grade)
    )


@pytest.mark.parametrize("residence", ["urban", "rural"])
def test_the_dibao_supplement_is_held_while_the_local_dibao_standard_is_not_set(residence: str) -> None:
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income="dibao", residence=residence))
    assert got["dibao_supplement"].hold_reason == "standard_not_set"
    assert got["dibao_supplement"].amount is None


def test_youyi_pays_nothing_before_2024() -> None:
    with pytest.raises(NoRuleInForceError):
        entitlements(C, "2023-12", [person("1930-01-01", hukou=HERE)])
    assert benefits_of(C, "2024-01", person("1930-01-01", hukou=HERE))[
        "high_age_allowance"
    ].amount == Decimal("100.00")


def test_a_29_february_birthday_reaches_90_on_1_march_in_a_common_year() -> None:
    # born 1936-02-29; 2026 is a common year, so the 90th birthday is 2026-03-01.
    # month-after basis: March counts the age on 2026-02-28 (89 -> 25.00); April counts 2026-03-31 (90 -> 100.00)
    row = person("1936-02-29", hukou=HERE, income="none")
    assert benefits_of(C, "2026-03", row)["high_age_allowance"].amount == Decimal("25.00")
    assert benefits_of(C, "2026-04", row)["high_age_allowance"].amount == Decimal("100.00")
