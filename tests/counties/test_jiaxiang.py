"""Jiaxiang (370829): every table row of RULES.md, and the boundary months."""

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from subsidy_batch.errors import NoRuleInForceError
from tests.helpers import CONFIG, Item, benefits_of, entitlements, person

C = "jiaxiang"


@pytest.mark.parametrize(
    ("birth", "amount"),
    [
        ("1960-01-15", Decimal("80.00")),  # aged 64 in 2024-05: band 60-79 -> 80
        ("1940-01-15", Decimal("100.00")),  # aged 84: band 80-89 -> 100
        ("1930-01-15", Decimal("200.00")),  # aged 94: band 90-99 -> 200
    ],
)
def test_a_dibao_elder_gets_the_shandong_living_subsidy_of_their_age_band(
    birth: str, amount: Decimal
) -> None:
    got = benefits_of(C, "2024-05", person(birth, income="dibao"))
    assert got["low_income_living"].amount == amount
    assert got["low_income_living"].status == "paid"
    assert (
        got["low_income_living"].rule
        == f"shared/shandong_base.yaml#low_income_living/dibao_{ {80: '60_79', 100: '80_89', 200: '90_99'}[int(amount)] }"
    )


def test_a_dibao_centenarian_living_subsidy_is_held_because_its_standard_is_not_in_the_sources() -> None:
    got = benefits_of(C, "2024-05", person("1920-01-15", income="dibao"))  # aged 104
    assert got["low_income_living"].amount is None
    assert got["low_income_living"].hold_reason == "standard_not_set"


def test_an_elder_who_is_not_dibao_gets_no_living_subsidy() -> None:
    assert "low_income_living" not in benefits_of(C, "2024-05", person("1950-01-15", income="marginal"))


def test_a_dibao_elder_at_grade_3_gets_85_care_on_top_of_80_living() -> None:
    # aged 70: living 80 (60-79) + care 85 (grade 2-3) = 165 yuan in two items
    got = benefits_of(C, "2024-05", person("1954-03-01", income="dibao", grade="3"))
    assert got["low_income_care"].amount == Decimal("85.00")
    assert got["low_income_living"].amount == Decimal("80.00")
    assert sum(i.amount for i in got.values() if i.amount) == Decimal("165.00")


@pytest.mark.parametrize(
    ("grade", "cared"), [("0", False), ("1", False), ("2", True), ("3", True), ("", False)]
)
def test_care_subsidy_needs_grade_2_or_3(grade: str, cared: bool) -> None:
    got = benefits_of(C, "2024-05", person("1954-03-01", income="dibao", grade=grade))
    assert ("low_income_care" in got) is cared


@pytest.mark.parametrize(("category", "amount"), [("child_deceased", "990.00"), ("child_disabled", "810.00")])
def test_a_family_planning_parent_aged_60_gets_the_special_support(category: str, amount: str) -> None:
    # born 1964-04-10: 60 on 2024-04-10, counted from May (次月) -> paid in 2024-05
    got = benefits_of(C, "2024-05", person("1964-04-10", fp=category))
    assert got["family_planning_support"].amount == Decimal(amount)


def test_a_family_planning_parent_turning_60_in_the_period_is_paid_from_the_next_month() -> None:
    row = person("1964-05-10", fp="child_deceased")  # 60 on 2024-05-10
    assert "family_planning_support" not in benefits_of(C, "2024-05", row)  # still 59 for May
    assert benefits_of(C, "2024-06", row)["family_planning_support"].amount == Decimal("990.00")


@pytest.mark.parametrize("birth", ["1940-01-15", "1930-01-15"])  # aged 84 and 94
def test_high_age_allowance_80_to_99_is_held_until_the_county_sets_it(birth: str) -> None:
    got = benefits_of(C, "2024-05", person(birth))
    assert got["high_age_allowance"].amount is None
    assert got["high_age_allowance"].hold_reason == "standard_not_set"


def test_a_jiaxiang_centenarian_gets_300_high_age_allowance() -> None:
    got = benefits_of(C, "2024-05", person("1922-02-02"))  # aged 102
    assert got["high_age_allowance"].amount == Decimal("300.00")
    assert got["high_age_allowance"].status == "paid"


def test_high_age_allowance_needs_jiaxiang_hukou_not_an_id_area_code() -> None:
    # ID issued under retired code 370882 but 户籍 in Jiaxiang: paid; 户籍 elsewhere: not paid
    assert "high_age_allowance" in benefits_of(C, "2024-05", person("1922-02-02", area="370882"))
    assert "high_age_allowance" not in benefits_of(C, "2024-05", person("1922-02-02", hukou="370811"))


def test_high_age_allowance_starts_in_2024_01_not_2023_12() -> None:
    row = person("1922-02-02")
    assert "high_age_allowance" not in benefits_of(C, "2023-12", row)
    assert benefits_of(C, "2024-01", row)["high_age_allowance"].amount == Decimal("300.00")


def test_nothing_is_in_force_before_the_document_took_effect_in_2023_08() -> None:
    with pytest.raises(NoRuleInForceError, match="no rule of jiaxiang is in force for 2023-07"):
        entitlements(C, "2023-07", [person("1950-01-01", income="dibao")])
    assert benefits_of(C, "2023-08", person("1950-01-01", income="dibao"))[
        "low_income_living"
    ].amount == Decimal("80.00")


def test_the_birthday_month_still_counts_the_old_age_and_the_month_after_the_new() -> None:
    row = person("1944-05-10", income="dibao")  # 80 on 2024-05-10
    assert benefits_of(C, "2024-05", row)["low_income_living"].amount == Decimal("80.00")  # still 79
    assert benefits_of(C, "2024-06", row)["low_income_living"].amount == Decimal("100.00")  # 80 from June


def test_a_birthday_on_the_last_day_of_the_previous_month_counts_for_this_month() -> None:
    row = person("1944-04-30", income="dibao")  # 80 on 2024-04-30, the last day of M-1
    assert benefits_of(C, "2024-05", row)["low_income_living"].amount == Decimal("100.00")


@pytest.mark.parametrize(
    ("death", "paid"),
    [
        ("2024-05-01", True),  # died on the 1st of the period: the month of death is paid
        ("2024-05-31", True),  # died on the last day of the period: paid
        ("2024-04-30", False),  # died the day before the period: 次月停发
        ("", True),
    ],
)
def test_death_stops_payment_from_the_month_after(death: str, paid: bool) -> None:
    got = benefits_of(C, "2024-05", person("1950-01-01", income="dibao", death=death))
    assert ("low_income_living" in got) is paid


def test_someone_who_died_in_may_is_not_paid_for_june() -> None:
    assert benefits_of(C, "2024-06", person("1950-01-01", income="dibao", death="2024-05-01")) == {}


@pytest.mark.parametrize("account", ["", "6228-48", "12345", "6228480012345678901234567890123"])
def test_a_missing_or_malformed_bank_account_holds_the_item_with_its_amount(account: str) -> None:
    got = benefits_of(C, "2024-05", person("1950-01-01", income="dibao", account=account))
    item = got["low_income_living"]
    assert (item.status, item.hold_reason, item.amount) == ("held", "no_bank_account", Decimal("80.00"))


def test_standard_not_set_wins_over_no_bank_account() -> None:
    got = benefits_of(C, "2024-05", person("1940-01-01", account=""))  # high-age 80-89, no account
    assert got["high_age_allowance"].hold_reason == "standard_not_set"


def test_benefits_stack_for_one_person() -> None:
    # aged 85, dibao, grade 3, only child died, Jiaxiang 户籍:
    # living 100 + care 85 + family planning 990 = 1175 paid; high-age 80-89 held (not set)
    got = benefits_of(C, "2024-05", person("1939-01-01", income="dibao", grade="3", fp="child_deceased"))
    paid = {b: i.amount for b, i in got.items() if i.status == "paid"}
    assert paid == {
        "low_income_living": Decimal("100.00"),
        "low_income_care": Decimal("85.00"),
        "family_planning_support": Decimal("990.00"),
    }
    assert got["high_age_allowance"].hold_reason == "standard_not_set"


# 特困 support (清单 13/14), 困难残疾人生活补贴 (清单 24), 重度残疾人护理补贴 (清单 25): entitled, counted, held.


def _held(item: Item) -> bool:
    return (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")


@pytest.mark.parametrize("residence", ["urban", "rural"])
def test_a_dispersed_tekun_elder_is_held_at_130_percent_of_a_local_dibao_standard_that_is_not_set(
    residence: str,
) -> None:
    # aged 70, 特困, 分散供养: 1.3 x the local 低保 standard for the residence; that standard is not in the sources
    got = benefits_of(
        C, "2024-05", person("1954-03-01", income="特困", support_mode="分散供养", residence=residence)
    )
    assert _held(got["tekun_support"])
    assert got["tekun_support"].rule == "counties/jiaxiang.yaml#tekun_support/dispersed"


def test_a_centralised_tekun_elder_is_counted_but_held_because_the_institution_is_paid() -> None:
    got = benefits_of(C, "2024-05", person("1954-03-01", income="特困", support_mode="集中供养"))
    assert _held(got["tekun_support"])
    assert got["tekun_support"].rule == "counties/jiaxiang.yaml#tekun_support/centralised"


def test_tekun_support_needs_the_tekun_status_and_age_60_and_a_blank_support_mode_is_held() -> None:
    assert "tekun_support" not in benefits_of(
        C, "2024-05", person("1954-03-01", income="dibao", support_mode="分散供养")
    )
    # 供养方式 blank: counted and held (mode_not_recorded, a county decision) rather than left out
    blank = benefits_of(C, "2024-05", person("1954-03-01", income="特困"))["tekun_support"]
    assert (blank.status, blank.rule) == ("held", "counties/jiaxiang.yaml#tekun_support/mode_not_recorded")
    assert "tekun_support" not in benefits_of(
        C, "2024-05", person("1970-03-01", income="特困", support_mode="分散供养")
    )


def test_the_dispersed_tekun_amount_is_130_percent_of_the_dibao_standard_once_the_county_sets_it(
    tmp_path: Path,
) -> None:
    # with a (hypothetical, test-only) rural standard of 800.00: 800 x 130% = 1040.00
    config = shutil.copytree(CONFIG, tmp_path / "config")
    path = config / "counties" / "jiaxiang.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["standards"]["dibao_standard"]["rural"] = {"monthly": "800.00"}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    row = person("1954-03-01", income="特困", support_mode="分散供养", residence="rural")
    tekun = benefits_of(C, "2024-05", row, config)["tekun_support"]
    assert (tekun.amount, tekun.status) == (Decimal("1040.00"), "paid")


@pytest.mark.parametrize("grade", ["一级", "二级", "三级", "四级"])
def test_a_dibao_elder_with_a_disability_certificate_of_any_grade_is_held_for_the_living_subsidy(
    grade: str,
) -> None:
    got = benefits_of(
        C, "2024-05", person("1954-03-01", income="低保", disability_grade=grade, disability_category="肢体")
    )
    assert _held(got["disability_living"])
    assert got["low_income_living"].amount == Decimal("80.00")  # stacks with the Shandong living subsidy


def test_the_disability_living_subsidy_needs_dibao_and_a_certificate() -> None:
    assert "disability_living" not in benefits_of(
        C, "2024-05", person("1954-03-01", income="marginal", disability_grade="一级")
    )
    assert "disability_living" not in benefits_of(C, "2024-05", person("1954-03-01", income="dibao"))


@pytest.mark.parametrize("grade", ["一级", "二级"])
def test_an_elder_with_grade_1_or_2_disability_needing_long_term_care_is_held_for_the_care_subsidy(
    grade: str,
) -> None:
    got = benefits_of(
        C,
        "2024-05",
        person("1954-03-01", disability_grade=grade, disability_category="视力", long_term_care="是"),
    )
    assert _held(got["severe_disability_care"])


@pytest.mark.parametrize(
    ("grade", "care"), [("三级", "是"), ("四级", "是"), ("一级", "否"), ("二级", ""), ("", "是")]
)
def test_the_severe_disability_care_subsidy_needs_grade_1_or_2_and_long_term_care(
    grade: str, care: str
) -> None:
    row = person("1954-03-01", disability_grade=grade, disability_category="智力", long_term_care=care)
    assert "severe_disability_care" not in benefits_of(C, "2024-05", row)
