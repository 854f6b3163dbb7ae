"""Engine pieces that no county exercises yet: age bases, rounding, yearly payment months."""

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from subsidy_batch.errors import ConfigError
from subsidy_batch.money import fen_to_decimal, yuan_to_fen
from subsidy_batch.period import Period
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import age_on, at_least, line_items, reference_date, round_half_up_int
from subsidy_batch.rules.config import load_county
from tests.helpers import CONFIG, ROOT, benefits_of, person, raw_roster


def _age(birth: str, ref: date) -> int:
    return pl.select(age_on(pl.lit(date.fromisoformat(birth)), ref)).item()


@pytest.mark.parametrize(
    ("birth", "ref", "age"),
    [
        ("1944-05-10", date(2024, 4, 30), 79),
        ("1944-05-10", date(2024, 5, 31), 80),
        ("1944-02-29", date(2023, 2, 28), 78),  # common year: not yet 79 on 28 February
        ("1944-02-29", date(2023, 3, 31), 79),  # ... reached on 1 March
        ("1944-02-29", date(2024, 2, 29), 80),  # leap year: reached on the day
    ],
)
def test_age_in_full_years(birth: str, ref: date, age: int) -> None:
    assert _age(birth, ref) == age


@pytest.mark.parametrize(
    "ref",
    [
        date(2024, 2, 29),  # leap day: 124 years before is 1900, which has no 29 February
        date(2024, 2, 28),
        date(2023, 2, 28),
        date(2023, 3, 1),
        date(2024, 4, 30),
        date(2023, 12, 31),
        date(2100, 2, 28),
    ],
)
def test_age_conditions_as_date_comparisons_agree_with_age_in_full_years_on_every_birthday(ref: date) -> None:
    births = pl.date_range(date(ref.year - 126, 1, 1), ref, eager=True).alias("birth_date").to_frame()
    for years in (0, 1, 59, 60, 80, 99, 100, 124, 125):
        got = births.select(fast=at_least(years, ref), exact=age_on(pl.col("birth_date"), ref) >= years)
        differ = births.filter(got.get_column("fast") != got.get_column("exact"))
        assert differ.height == 0, (years, differ.head(3))
        assert got.get_column("exact").any() and (years == 0 or not got.get_column("exact").all())
    # the rule engine's own way in: age 80-89 on 29 February 2024
    window = births.filter(at_least(80, ref) & ~at_least(90, ref)).get_column("birth_date")
    if ref == date(2024, 2, 29):
        assert (window.min(), window.max()) == (date(1934, 3, 1), date(1944, 2, 29))


def test_the_reference_day_is_the_end_of_the_previous_month_or_of_the_month() -> None:
    assert reference_date(Period(2024, 5), "month_after_birthday") == date(2024, 4, 30)
    assert reference_date(Period(2024, 1), "month_after_birthday") == date(2023, 12, 31)
    assert reference_date(Period(2024, 2), "birthday_month") == date(2024, 2, 29)


@pytest.mark.parametrize(
    ("num", "den", "out"), [(30000, 12, 2500), (100, 12, 8), (6, 12, 1), (5, 12, 0), (795495, 100, 7955)]
)
def test_round_half_up(num: int, den: int, out: int) -> None:
    assert round_half_up_int(num, den) == out


def test_money_conversions_are_exact() -> None:
    assert yuan_to_fen("85") == 8500 and yuan_to_fen("0.01") == 1
    fen = pl.Series("fen", [8500, 1, None, 99999999999, 999999999999999999], dtype=pl.Int64)
    got = fen.to_frame().select(fen_to_decimal(pl.col("fen")))
    assert got.dtypes == [pl.Decimal(18, 2)]
    assert got.to_series().to_list() == [
        Decimal("85.00"),
        Decimal("0.01"),
        None,
        Decimal("999999999.99"),
        Decimal("9999999999999999.99"),
    ]


def test_an_amount_beyond_18_digits_raises_instead_of_being_cut() -> None:
    with pytest.raises(pl.exceptions.InvalidOperationError):
        pl.DataFrame({"fen": [10**18]}).select(fen_to_decimal(pl.col("fen")))


@pytest.fixture
def youyi_with_standards(tmp_path: Path) -> Path:
    shutil.copytree(CONFIG, tmp_path / "config")
    path = tmp_path / "config" / "counties" / "youyi.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    # hypothetical standards for this test only: 700.00 urban, 530.33 rural
    data["standards"]["dibao_standard"] = {"urban": {"monthly": "700.00"}, "rural": {"monthly": "530.33"}}
    data["age_basis"] = "birthday_month"
    rows = data["benefits"]["high_age_allowance"]["rows"]
    rows[0]["amount"] = {"yearly": "300.00", "disbursement": {"month": 12}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path / "config"


def _items(config_dir: Path, period: str, rows: list[dict[str, str]]) -> dict[str, Decimal | None]:
    checked = validate(raw_roster(rows), load_schema(), period, "youyi")
    items = line_items(checked.accepted, load_county(config_dir, "youyi"), Period.parse(period))
    return {r["benefit"]: r["amount_fen"] for r in items.iter_rows(named=True)}


@pytest.mark.parametrize(("residence", "fen"), [("urban", 10500), ("rural", 7955)])
def test_a_percentage_of_a_standard_rounds_half_up_to_the_fen(
    youyi_with_standards: Path, residence: str, fen: int
) -> None:
    # urban: 700.00 x 15% = 105.00; rural: 530.33 x 15% = 79.5495 -> 79.55 (half up)
    got = _items(
        youyi_with_standards,
        "2024-05",
        [person("1954-01-01", hukou="230522", income="dibao", residence=residence)],
    )
    assert got["dibao_supplement"] == fen


def test_a_yearly_amount_with_one_payment_month_pays_the_whole_year_in_that_month_only(
    youyi_with_standards: Path,
) -> None:
    row = person("1939-01-01", hukou="230522", income="none")
    assert "high_age_allowance" not in _items(youyi_with_standards, "2024-05", [row])
    assert _items(youyi_with_standards, "2024-12", [row])["high_age_allowance"] == 30000


def test_the_birthday_month_basis_counts_the_new_age_in_the_birthday_month(
    youyi_with_standards: Path,
) -> None:
    # born 1934-05-10: 90 on 2024-05-10; with birthday_month basis May already counts as 90 -> 1200/12 = 100.00
    row = person("1934-05-10", hukou="230522", income="none")
    assert _items(youyi_with_standards, "2024-05", [row])["high_age_allowance"] == 10000


@pytest.mark.parametrize(
    ("account", "paid"),
    [
        ("1234567", False),  # 7 digits: below the schema's min_digits 8
        ("12345678", True),  # 8: the shortest payable account
        ("1" * 30, True),  # 30: the longest
        ("1" * 31, False),  # 31: longer than max_digits
        ("6228 4800 1234 5678", True),  # the spaces are removed by normalisation (remove_spaces)
        ("62284800123456X8", False),  # not only digits
    ],
)
def test_an_account_is_payable_only_with_the_schema_s_8_to_30_digits(account: str, paid: bool) -> None:
    # born 1922-02-02: aged 102 in May 2024, Jiaxiang pays 300.00 to a centenarian
    item = benefits_of("jiaxiang", "2024-05", person("1922-02-02", account=account))["high_age_allowance"]
    assert (item.status, item.hold_reason) == (("paid", None) if paid else ("held", "no_bank_account"))
    assert item.amount == Decimal("300.00")


def test_the_payable_account_length_is_the_schema_s_not_python_s(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    text = (schemas / "roster.yaml").read_text(encoding="utf-8")
    (schemas / "roster.yaml").write_text(
        text.replace("payable: {min_digits: 8, max_digits: 30}", "payable: {min_digits: 10, max_digits: 30}"),
        encoding="utf-8",
    )
    schema = load_schema(schema_dir=schemas)
    checked = validate(raw_roster([person("1922-02-02", account="12345678")]), schema, "2024-05", "jiaxiang")
    items = line_items(checked.accepted, load_county(CONFIG, "jiaxiang", schema), Period(2024, 5))
    assert items.get_column("hold_reason").to_list() == ["no_bank_account"]  # 8 digits < 10
    (schemas / "roster.yaml").write_text(
        text.replace("    payable: {min_digits: 8, max_digits: 30}\n", ""), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"columns\.bank_account needs payable"):
        load_county(CONFIG, "jiaxiang", load_schema(schema_dir=schemas))
