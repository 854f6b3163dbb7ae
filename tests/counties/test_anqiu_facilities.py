"""Anqiu's yearly operating subsidies to facilities (003 (十四)1): each kind, tier, condition and year edge."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from subsidy_batch.errors import ConfigError, NoRuleInForceError
from subsidy_batch.outputs.bank import bank_account_ok
from subsidy_batch.roster.read import ROW, RawRoster
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import check_rows, typed_accepted
from subsidy_batch.rules.facilities import facility_items, load_facility_config
from tests.helpers import CONFIG

WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_n = iter(range(1, 10_000))


def credit_code(first17: str | None = None) -> str:
    """A valid unified social credit code (GB 32100), check character computed here independently."""
    first17 = first17 or f"52370784MJ{next(_n):07d}"
    total = sum(CHARS.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + CHARS[(31 - total % 31) % 31]


def facility(kind: str, **fields: str) -> dict[str, str]:
    row = {
        "facility_id": credit_code(),
        "name": "测试机构",
        "kind": kind,
        "ownership": "民办",
        "location": "城市社区",
        "beds": "",
        "floor_area": "",
        "opening_date": "2020-01-01",
        "rating": "",
        "months_operated": "12",
        "daily_users": "",
        "residents_moderate": "",
        "residents_severe": "",
        "bank_name": "安丘农村商业银行",
        "bank_account": "1560000000001234",
    }
    return row | fields


def run(
    rows: list[dict[str, str]], year: int = 2024, config_dir: Path = CONFIG
) -> tuple[pl.DataFrame, pl.DataFrame]:
    schema = load_schema("facility")
    frame = pl.DataFrame(rows, schema={c: pl.String for c in schema.columns}).with_row_index(ROW, offset=1)
    raw = RawRoster(frame.with_columns(pl.col(ROW).cast(pl.Int64)), Path("f.csv"), "utf-8", ())
    checked = check_rows(raw, schema, str(year), "anqiu", key="facility_id")
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    return facility_items(
        typed_accepted(checked, schema, bank_account_ok(schema.account_digits).alias("bank_account_ok")),
        load_facility_config(config_dir, "anqiu", schema),
        year,
    )


def paid(rows: list[dict[str, str]], **kw) -> list[Decimal | None]:
    items, _ = run(rows, **kw)
    return [
        None if f is None else Decimal(f) / 100 for f in items.sort(ROW).get_column("amount_fen").to_list()
    ]


def failed(row: dict[str, str], **kw) -> list[str]:
    _, ineligible = run([row], **kw)
    return sorted(ineligible.get_column("condition").to_list()) if ineligible.height else []


@pytest.fixture
def decided(tmp_path: Path) -> Path:
    """Anqiu's config with a rating-factor mapping a county might decide (hypothetical, for tests only)."""
    shutil.copytree(CONFIG, tmp_path / "config")
    path = tmp_path / "config" / "counties" / "anqiu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    factors = data["facility_benefits"]["rating_factors"]
    factors["institution"] = {
        "factors": {"一级": "0.8", "二级": "0.9", "三级": "1.0", "四级": "1.1", "五级": "1.2"},
        "decided_by": "hypothetical test decision",
    }
    factors["daycare"] = {
        "factors": {"一星级": "0.8", "二星级": "1.0", "三星级": "1.2"},
        "decided_by": "hypothetical",
    }
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return tmp_path / "config"


# --- canteens: tiers by average daily users, pro-rated by months --------------------------------------


@pytest.mark.parametrize(
    ("users", "amount"),
    [
        ("10", "20000.00"),
        ("30", "20000.00"),
        ("31", "30000.00"),
        ("60", "30000.00"),
        ("61", "40000.00"),
        ("200", "40000.00"),
    ],
)
def test_a_canteen_gets_the_tier_of_its_daily_users(users: str, amount: str) -> None:
    assert paid([facility("助老食堂", daily_users=users)]) == [Decimal(amount)]


def test_a_canteen_with_9_daily_users_is_listed_as_not_eligible() -> None:
    assert failed(facility("助老食堂", daily_users="9")) == ["too_few_daily_users"]


@pytest.mark.parametrize(
    ("months", "users", "amount"),
    [
        ("9", "45", "22500.00"),  # 30,000 x 9/12
        ("7", "85", "23333.33"),  # 40,000 x 7/12 = 23,333.333... -> 23,333.33
        ("6", "10", "10000.00"),  # 20,000 x 6/12: six months is enough (半年以上)
    ],
)
def test_a_canteen_is_paid_for_the_months_it_operated(months: str, users: str, amount: str) -> None:
    assert paid([facility("助老食堂", daily_users=users, months_operated=months)]) == [Decimal(amount)]


def test_a_canteen_operating_5_months_is_not_eligible() -> None:
    assert failed(facility("助老食堂", daily_users="40", months_operated="5")) == ["operating_too_short"]


# --- institutions: per resident-year x rating factor ----------------------------------------------------


def test_an_eligible_institution_is_held_while_the_county_has_not_set_the_rating_factors() -> None:
    items, _ = run(
        [facility("养老机构", beds="120", rating="三级", residents_moderate="40", residents_severe="25")]
    )
    row = items.row(0, named=True)
    assert (row["amount_fen"], row["status"], row["hold_reason"]) == (None, "held", "standard_not_set")
    assert row["base_amount_fen"] == 2_940_000  # 40 x 360 + 25 x 600 = 29,400 yuan before the factor


@pytest.mark.parametrize(
    ("rating", "amount"), [("三级", "29400.00"), ("五级", "35280.00"), ("一级", "23520.00")]
)
def test_an_institution_gets_360_and_600_per_resident_times_its_factor(
    decided: Path, rating: str, amount: str
) -> None:
    # (40 x 360 + 25 x 600) = 29,400; x 1.0 / 1.2 / 0.8
    row = facility("养老机构", beds="120", rating=rating, residents_moderate="40", residents_severe="25")
    assert paid([row], config_dir=decided) == [Decimal(amount)]


@pytest.mark.parametrize("ownership", ["民办", "公建民营"])
def test_an_institution_with_exactly_20_beds_qualifies(decided: Path, ownership: str) -> None:
    # 8 x 360 + 3 x 600 = 4,680 x 0.9
    row = facility(
        "养老机构",
        ownership=ownership,
        beds="20",
        rating="二级",
        residents_moderate="8",
        residents_severe="3",
    )
    assert paid([row], config_dir=decided) == [Decimal("4212.00")]


def test_an_institution_that_fails_several_conditions_lists_every_one() -> None:
    row = facility(
        "养老机构", ownership="公办", beds="19", rating="", residents_moderate="", residents_severe=""
    )
    assert failed(row) == ["no_resident_counts", "not_rated", "ownership_not_eligible", "too_few_beds"]


def test_a_rating_the_county_gave_no_factor_is_held_not_guessed(decided: Path) -> None:
    items, _ = run(
        [facility("养老机构", beds="50", rating="特级", residents_moderate="5")], config_dir=decided
    )
    assert items.item(0, "hold_reason") == "standard_not_set"


# --- day-care centres ------------------------------------------------------------------------------------


def test_an_urban_day_care_centre_of_300_m2_operating_6_months_gets_20000_times_its_factor(
    decided: Path,
) -> None:
    row = facility("日间照料中心", floor_area="300", months_operated="6", rating="一星级")
    assert paid([row], config_dir=decided) == [Decimal("16000.00")]  # 20,000 x 0.8, not pro-rated by months


@pytest.mark.parametrize(
    ("fields", "condition"),
    [
        ({"floor_area": "299.5"}, "floor_area_too_small"),
        ({"months_operated": "5"}, "operating_too_short"),
        ({"location": "农村"}, "location_not_eligible"),
        ({"rating": "未评定"}, "not_rated"),
    ],
)
def test_a_day_care_centre_failing_a_condition_is_listed_with_it(
    fields: dict[str, str], condition: str
) -> None:
    row = facility("日间照料中心", floor_area="350", rating="二星级") | fields
    assert failed(row) == [condition]


# --- the policy's validity: 2023-03-01 to 2026-02-28 -----------------------------------------------------


@pytest.mark.parametrize("year", [2022, 2027])
def test_a_year_outside_the_policy_validity_has_no_rule_in_force(year: int) -> None:
    with pytest.raises(NoRuleInForceError, match="2023-03 to 2026-02"):
        run([facility("助老食堂", daily_users="20")], year=year)


@pytest.mark.parametrize(("year", "amount"), [(2023, "16666.67"), (2026, "3333.33")])
def test_a_year_partly_in_force_is_paid_for_its_months_in_force(year: int, amount: str) -> None:
    # 2023: March-December = 10 months, 20,000 x 10/12; 2026: January-February, 20,000 x 2/12
    assert paid([facility("助老食堂", daily_users="20")], year=year) == [Decimal(amount)]


# --- config strictness ------------------------------------------------------------------------------------


def test_a_factor_outside_0_8_to_1_2_is_refused(decided: Path) -> None:
    path = decided / "counties" / "anqiu.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("'1.2'", "'1.3'"), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"factor 1.3 must lie in 0.80-1.20"):
        load_facility_config(decided, "anqiu")


def test_a_factor_mapping_without_the_deciding_document_is_refused(decided: Path) -> None:
    path = decided / "counties" / "anqiu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["facility_benefits"]["rating_factors"]["daycare"].pop("decided_by")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match="needs 'decided_by'"):
        load_facility_config(decided, "anqiu")


def test_a_county_without_facility_subsidies_has_no_facility_run() -> None:
    with pytest.raises(ConfigError, match="jiaxiang has no facility_benefits"):
        load_facility_config(CONFIG, "jiaxiang")


# --- the roster's own checks -------------------------------------------------------------------------------


def test_a_wrong_credit_code_check_character_and_a_duplicate_are_rejected() -> None:
    schema = load_schema("facility")
    good = credit_code()
    typo = good[:17] + ("0" if good[17] != "0" else "1")
    twin = credit_code()
    rows = [
        facility("助老食堂", daily_users="20", facility_id=typo),
        facility("助老食堂", daily_users="20", facility_id=twin),
        facility("助老食堂", daily_users="20", facility_id=twin),
    ]
    frame = pl.DataFrame(rows, schema={c: pl.String for c in schema.columns}).with_row_index(ROW, offset=1)
    raw = RawRoster(frame.with_columns(pl.col(ROW).cast(pl.Int64)), Path("f.csv"), "utf-8", ())
    checked = check_rows(raw, schema, "2024", "anqiu", key="facility_id")
    assert checked.rejected.select("row", "problem").rows() == [
        (1, "credit_code_check_character"),
        (2, "duplicate_id"),
        (3, "duplicate_id"),
    ]
