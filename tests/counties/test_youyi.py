"""Youyi (230522): yearly tiers paid monthly, care by 失能/半失能, the 15% 低保 supplement."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.rules.config import load_county
from tests.helpers import CONFIG, Item, benefits_of, entitlements, person

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


# 养老服务补贴 (清单 20), 困难残疾人生活补贴 (清单 22), 重度残疾人护理补贴 (清单 23): entitled, counted, held.


def _held(item: Item) -> bool:
    return (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")


@pytest.mark.parametrize("income", ["低保", "低保边缘", "特困"])
def test_an_elder_in_economic_hardship_is_held_for_the_elderly_service_subsidy(income: str) -> None:
    # 经济困难 = 低保 / 低保边缘 / 特困 is the county decision recorded in youyi.yaml terms
    got = benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE, income=income))
    assert _held(got["elderly_service_subsidy"])


def test_an_elder_with_normal_income_gets_no_elderly_service_subsidy() -> None:
    assert "elderly_service_subsidy" not in benefits_of(C, "2024-05", person("1954-01-01", hukou=HERE))


def test_the_elderly_service_subsidy_starts_with_the_youyi_rules_in_2024_01() -> None:
    assert _held(
        benefits_of(C, "2024-01", person("1954-01-01", hukou=HERE, income="dibao"))["elderly_service_subsidy"]
    )


def test_a_dibao_elder_with_a_disability_certificate_is_held_for_the_disability_living_subsidy() -> None:
    row = person("1954-01-01", hukou=HERE, income="低保", disability_grade="四级", disability_category="听力")
    assert _held(benefits_of(C, "2024-05", row)["disability_living"])


def test_the_disability_living_subsidy_is_not_extended_to_marginal_families_unless_the_county_decides() -> (
    None
):
    row = person(
        "1954-01-01", hukou=HERE, income="低保边缘", disability_grade="一级", disability_category="肢体"
    )
    assert "disability_living" not in benefits_of(C, "2024-05", row)


def test_an_elder_with_grade_2_disability_needing_long_term_care_is_held_for_the_care_subsidy() -> None:
    row = person(
        "1954-01-01", hukou=HERE, disability_grade="二级", disability_category="肢体", long_term_care="是"
    )
    assert _held(benefits_of(C, "2024-05", row)["severe_disability_care"])


@pytest.mark.parametrize("category", ["智力", "精神"])
def test_grade_3_intellectual_or_mental_disability_gets_no_care_subsidy_while_the_extension_is_off(
    category: str,
) -> None:
    # 有条件的地方可扩大至三、四级智力、精神残疾人: a county decision, not configured
    row = person(
        "1954-01-01", hukou=HERE, disability_grade="三级", disability_category=category, long_term_care="是"
    )
    assert "severe_disability_care" not in benefits_of(C, "2024-05", row)


def test_the_commented_extension_row_loads_and_matches_grade_3_or_4_intellectual_or_mental_once_configured(
    tmp_path: Path,
) -> None:
    config = shutil.copytree(CONFIG, tmp_path / "config")
    path = config / "counties" / "youyi.yaml"
    lines = path.read_text(encoding="utf-8").splitlines()
    start = next(i for i, line in enumerate(lines) if "# - id: grade_3_4_intellectual_mental" in line)
    row = [line.replace("# ", "", 1) for line in lines[start : start + 6]]
    row = [r.replace("<month the county decides>", "2024-05") for r in row]
    path.write_text("\n".join([*lines[:start], *row, *lines[start + 6 :]]) + "\n", encoding="utf-8")
    extended = load_county(config, C)
    assert "counties/youyi.yaml#severe_disability_care/grade_3_4_intellectual_mental" in {
        r.name for r in extended.rules
    }
    for grade, category, covered in [("三级", "智力", True), ("四级", "精神", True), ("三级", "肢体", False)]:
        row = person("1954-01-01", hukou=HERE, disability_grade=grade, disability_category=category)
        got = benefits_of(C, "2024-05", row, config)
        assert ("severe_disability_care" in got) is covered
        if covered:
            assert _held(got["severe_disability_care"])
