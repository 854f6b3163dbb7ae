"""Strict config loading: unknown keys, overlaps, gaps, not-set amounts, citations, slugs."""

import shutil
from pathlib import Path

import pytest
import yaml

from subsidy_batch.errors import ConfigError
from subsidy_batch.rules.config import load_county
from tests.helpers import CONFIG


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


def _edit(config_dir: Path, county: str, change) -> None:
    path = config_dir / "counties" / f"{county}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize("county", ["jiaxiang", "yanzhou", "youyi", "anqiu", "caoxian"])
def test_every_shipped_county_loads_and_every_rule_has_a_citation(county: str) -> None:
    config = load_county(CONFIG, county)
    assert config.rules
    assert all(r.citation.strip() and r.description.strip() for r in config.rules)


def test_every_amount_that_is_not_set_says_why() -> None:
    for county in ["jiaxiang", "yanzhou", "youyi", "anqiu", "caoxian"]:
        for rule in load_county(CONFIG, county).rules:
            if rule.amount.kind != "percent" and rule.amount.fen is None:
                assert rule.amount.reason


def test_an_unknown_key_is_an_error_naming_file_and_key(config_dir: Path) -> None:
    _edit(config_dir, "jiaxiang", lambda d: d["benefits"]["low_income_care"]["rows"][0].update(amout="85"))
    with pytest.raises(
        ConfigError,
        match=r"jiaxiang\.yaml: benefits\.low_income_care\.rows\[0\] \(rule low_income_care/dibao_grade_2_3\): "
        r"unknown key 'amout' \(allowed: amount, citation, description, effective, id, when\)",
    ):
        load_county(config_dir, "jiaxiang")


def test_a_key_given_twice_is_an_error_not_the_last_one_winning(config_dir: Path) -> None:
    """A second amount pasted under the rule (a clerk trying a figure) would silently pay it: refused, with
    both lines named. The file is edited as text, as a clerk edits it."""
    path = config_dir / "counties" / "jiaxiang.yaml"
    text = path.read_text(encoding="utf-8")
    line = '        amount: {monthly: "85.00"}\n'
    assert text.count(line) == 1
    first = text[: text.index(line)].count("\n") + 1
    path.write_text(text.replace(line, line + '        amount: {monthly: "95.00"}\n'), encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=rf"jiaxiang\.yaml is not valid YAML at line {first + 1}: the key 'amount' is given twice "
        rf"\(first at line {first}\); keep one",
    ):
        load_county(config_dir, "jiaxiang")


def test_a_row_without_citation_is_an_error(config_dir: Path) -> None:
    _edit(config_dir, "jiaxiang", lambda d: d["benefits"]["low_income_care"]["rows"][0].pop("citation"))
    with pytest.raises(ConfigError, match="missing 'citation'"):
        load_county(config_dir, "jiaxiang")


def test_not_set_without_a_reason_is_an_error(config_dir: Path) -> None:
    _edit(
        config_dir,
        "jiaxiang",
        lambda d: d["benefits"]["high_age_allowance"]["rows"][0]["amount"].pop("reason"),
    )
    with pytest.raises(ConfigError, match="missing 'reason'"):
        load_county(config_dir, "jiaxiang")


def test_an_amount_finer_than_a_fen_is_an_error(config_dir: Path) -> None:
    _edit(
        config_dir,
        "jiaxiang",
        lambda d: d["benefits"]["low_income_care"]["rows"][0].update(amount={"monthly": "85.005"}),
    )
    with pytest.raises(ConfigError, match="at most 2 decimals"):
        load_county(config_dir, "jiaxiang")


def test_overlapping_rows_within_a_benefit_are_rejected(config_dir: Path) -> None:
    def widen(d):
        d["benefits"]["high_age_allowance"]["rows"][0]["when"]["age"] = {"min": 80, "max": 95}

    _edit(config_dir, "jiaxiang", widen)
    with pytest.raises(ConfigError, match=r"county_80_89 and .*county_90_99 can both match one person"):
        load_county(config_dir, "jiaxiang")


def test_rows_that_overlap_only_outside_each_others_dates_are_allowed(config_dir: Path) -> None:
    def split(d):
        rows = d["benefits"]["low_income_care"]["rows"]
        later = dict(rows[0], id="later", effective={"from": "2025-01"})
        rows[0]["effective"] = {"from": "2023-08", "to": "2024-12"}
        rows.append(later)

    _edit(config_dir, "jiaxiang", split)
    assert len([r for r in load_county(config_dir, "jiaxiang").rules if r.benefit == "low_income_care"]) == 2


def test_gaps_between_age_bands_and_dates_are_reported(config_dir: Path) -> None:
    def holes(d):
        rows = d["benefits"]["high_age_allowance"]["rows"]
        rows.pop(1)  # drop 90-99
        rows[0]["effective"] = {"from": "2024-01", "to": "2024-03"}
        rows[1]["effective"] = {"from": "2024-01", "to": "2024-03"}
        rows.append(dict(rows[0], id="again", effective={"from": "2024-06"}))

    _edit(config_dir, "jiaxiang", holes)
    gaps = load_county(config_dir, "jiaxiang").gaps
    assert "high_age_allowance: no row for ages 90-99 between county_80_89 and county_100_plus" in gaps
    assert "high_age_allowance: no row in force in 2024-05, between earlier rows and 2024-06" in gaps


@pytest.mark.parametrize("slug", ["../x", "jiaxiang/../youyi", "Jiaxiang", "", "nowhere"])
def test_a_county_must_be_a_known_slug(slug: str) -> None:
    with pytest.raises(ConfigError):
        load_county(CONFIG, slug)


def test_the_shandong_base_is_written_once_and_inherited() -> None:
    counties = ["jiaxiang", "yanzhou", "anqiu", "caoxian"]
    for county in counties:
        text = (CONFIG / "counties" / f"{county}.yaml").read_text(encoding="utf-8")
        assert '"80.00"' not in text and "from: shared/shandong_base" in text
        rules = load_county(CONFIG, county).rules
        assert [r.amount.fen for r in rules if r.benefit == "low_income_living"] == [None, 8000, 10000, 20000]


@pytest.mark.parametrize(
    ("percent", "loads"), [("130", True), ("1000", True), ("1000.01", False), ("0", False)]
)
def test_a_percentage_may_exceed_100_as_a_multiple_of_a_standard_but_not_1000(
    config_dir: Path, percent: str, loads: bool
) -> None:
    # Jiaxiang's 特困 standard is 130% of its 低保 standard (000 清单 13)
    def change(d: dict) -> None:
        d["benefits"]["tekun_support"]["rows"][0]["amount"]["percent"] = percent

    _edit(config_dir, "jiaxiang", change)
    if loads:
        assert load_county(config_dir, "jiaxiang")
    else:
        with pytest.raises(ConfigError, match="percent must be above 0 and at most 1000"):
            load_county(config_dir, "jiaxiang")
