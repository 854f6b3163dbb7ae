"""Rule conditions as data: every mistake a clerk makes in a `when:` entry is a load error naming the
file, the rule and what is allowed; a new roster column and a rule on it need no Python."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import yaml

from subsidy_batch.errors import ConfigError
from subsidy_batch.outputs.gongshi import load_gongshi
from subsidy_batch.period import Period
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.rules.conditions import Clause, Field, satisfiable
from subsidy_batch.rules.config import load_county
from subsidy_batch.rules.facilities import load_facility_config
from subsidy_batch.rules.layouts import load_layout, load_reasons
from subsidy_batch.runs.monthly import RunRequest, run_month
from tests.helpers import CONFIG, ROOT, person

FIXTURE = Path(__file__).parent / "fixtures" / "new_column"


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


def _set_when(config_dir: Path, when: dict[str, Any], county: str = "jiaxiang") -> None:
    path = config_dir / "counties" / f"{county}.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["benefits"]["low_income_care"]["rows"][0]["when"] = when
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


RULE = r"jiaxiang\.yaml: benefits\.low_income_care\.rows\[0\] \(rule low_income_care/dibao_grade_2_3\)\.when"


@pytest.mark.parametrize(
    ("when", "message"),
    [
        # a bare word once loaded as the set of its letters: the rule never matched and nobody was paid
        (
            {"income_status": "dibao"},
            RULE + r"\.income_status: write a list in brackets \(e\.g\. income_status: \[none\]\) or an "
            r"operator mapping \(one of: one_of, equals, not_one_of, prefix, empty, min, max\), not 'dibao'",
        ),
        # a typo once loaded and never matched
        (
            {"income_status": ["dibaoo"]},
            RULE + r"\.income_status\.one_of\[0\]: 'dibaoo' is not a value of income_status \(经济状况\); "
            r"allowed: none \(一般\), dibao \(低保\), marginal \(低保边缘\), tekun \(特困\)",
        ),
        (
            {"age": {"min": "60"}},
            RULE + r"\.age\.min: expected a whole number \(unquoted, e\.g\. 60\), found text '60'",
        ),
        # once a raw ValueError
        (
            {"ability_grade": [2, "three"]},
            RULE
            + r"\.ability_grade\.one_of\[1\]: expected a whole number \(unquoted, e\.g\. 60\), found text 'three'",
        ),
        (
            {"ability_grade": [2, 5]},
            RULE + r"\.ability_grade\.one_of\[1\]: 5 is not a value of ability_grade",
        ),
        (
            {"abilty_grade": [2]},
            RULE + r"\.abilty_grade: 'abilty_grade' is not a roster column \(known: ability_grade, age, ",
        ),
        (
            {"age": {"minimum": 60}},
            RULE + r"\.age: unknown key 'minimum' \(allowed: empty, equals, max, min, ",
        ),
        ({"age": {"min": True}}, RULE + r"\.age\.min: expected a whole number .*found yes/no"),
        ({"hukou_code": {"prefix": 37}}, RULE + r"\.hukou_code\.prefix: expected text, found the number 37"),
        ({"age": {"prefix": "8"}}, RULE + r"\.age\.prefix: prefix does not apply to age, an integer column"),
        ({"income_status": []}, RULE + r"\.income_status\.one_of: the list is empty"),
        ({"age": {"min": 90, "max": 80}}, RULE + r": the conditions on age can never hold together"),
        # conditions deleted but `when: {}` left behind: the row would have paid everyone on the roster
        (
            {},
            RULE + r": names no condition, and a rule with none would match everyone; write at least one "
            r"test, a column and an operator \(columns: ability_grade, age, bank_account, ",
        ),
        # 600 for 60 would pay nobody, -5 for 65 everyone: neither is an age
        ({"age": {"min": 600}}, RULE + r"\.age\.min: 600 is not a possible age; it is from 0 to 150$"),
        ({"age": {"min": -5}}, RULE + r"\.age\.min: -5 is not a possible age; it is from 0 to 150$"),
        ({"age": {"max": 151}}, RULE + r"\.age\.max: 151 is not a possible age; it is from 0 to 150$"),
    ],
)
def test_a_config_mistake_in_a_condition_is_a_load_error(config_dir: Path, when: dict, message: str) -> None:
    _set_when(config_dir, when)
    with pytest.raises(ConfigError, match=message):
        load_county(config_dir, "jiaxiang")


def test_the_edges_of_a_possible_age_load(config_dir: Path) -> None:
    _set_when(config_dir, {"income_status": ["dibao"], "age": {"min": 0, "max": 150}})
    (rule,) = [r for r in load_county(config_dir, "jiaxiang").rules if r.benefit == "low_income_care"]
    assert rule.when.bounds("age") == (0, 150)


def test_a_row_without_when_is_a_load_error_not_a_rule_for_everyone(config_dir: Path) -> None:
    path = config_dir / "counties" / "jiaxiang.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["benefits"]["low_income_care"]["rows"][0]["when"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # it says what to write, not only that a key is missing
    with pytest.raises(
        ConfigError,
        match=RULE + r": names no condition, and a rule with none would match everyone; write at least "
        r"one test, a column and an operator \(columns: ability_grade, age, ",
    ):
        load_county(config_dir, "jiaxiang")


def test_the_rosters_own_words_may_be_used_in_conditions(config_dir: Path) -> None:
    _set_when(config_dir, {"income_status": ["低保"], "age": {"min": 60}, "ability_grade": [2, 3]})
    (rule,) = [r for r in load_county(config_dir, "jiaxiang").rules if r.benefit == "low_income_care"]
    assert [(t.field, t.op, t.values) for t in rule.when.tests] == [
        ("ability_grade", "one_of", (2, 3)),
        ("age", "min", (60,)),
        ("income_status", "one_of", ("dibao",)),
    ]


def test_overlap_is_found_across_operators(config_dir: Path) -> None:
    # hukou 370829 lies inside the prefix 37: both rows match one Jiaxiang person aged 100
    path = config_dir / "counties" / "jiaxiang.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    rows = data["benefits"]["high_age_allowance"]["rows"]
    rows.append(dict(rows[2], id="province_100", when={"hukou_code": {"prefix": "37"}, "age": {"min": 95}}))
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"county_90_99 and .*province_100 can both match one person"):
        load_county(config_dir, "jiaxiang")


def test_satisfiable_is_exact_on_listed_values_and_numbers() -> None:
    grade = Field("ability_grade", "能力评估等级", "integer", (0, 1, 2, 3))
    assert not satisfiable(
        grade, [Clause("ability_grade", "one_of", (2, 3)), Clause("ability_grade", "max", (1,))]
    )
    assert satisfiable(
        grade, [Clause("ability_grade", "not_one_of", (0, 1, 2)), Clause("ability_grade", "min", (1,))]
    )
    age = Field("age", "年龄", "integer")
    assert not satisfiable(age, [Clause("age", "min", (80,)), Clause("age", "max", (79,))])
    assert satisfiable(age, [Clause("age", "min", (80,)), Clause("age", "max", (80,))])
    # 80-81 minus both values leaves nobody
    assert not satisfiable(
        age, [Clause("age", "min", (80,)), Clause("age", "max", (81,)), Clause("age", "not_one_of", (80, 81))]
    )
    code = Field("hukou_code", "户籍地区划代码", "text")
    assert not satisfiable(
        code, [Clause("hukou_code", "prefix", ("23",)), Clause("hukou_code", "equals", ("370829",))]
    )
    assert satisfiable(
        code, [Clause("hukou_code", "prefix", ("23",)), Clause("hukou_code", "prefix", ("2305",))]
    )


def test_a_facility_condition_with_a_quoted_number_is_a_load_error(config_dir: Path) -> None:
    path = config_dir / "counties" / "anqiu.yaml"
    text = path.read_text(encoding="utf-8").replace("beds: {min: 20,", 'beds: {min: "20",')
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"anqiu\.yaml: facility_benefits\.benefits\.facility_operation\.when\.beds\.min: expected a "
        r"whole number \(unquoted, e\.g\. 60\), found text '20'",
    ):
        load_facility_config(config_dir, "anqiu")


def test_a_facility_benefit_missing_a_key_is_a_load_error(config_dir: Path) -> None:
    path = config_dir / "counties" / "anqiu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["facility_benefits"]["benefits"]["canteen_operation"]["citation"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"benefits\.canteen_operation: missing 'citation'"):
        load_facility_config(config_dir, "anqiu")


def test_a_facility_benefit_without_when_says_what_to_write(config_dir: Path) -> None:
    path = config_dir / "counties" / "anqiu.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    del data["facility_benefits"]["benefits"]["canteen_operation"]["when"]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"benefits\.canteen_operation\.when: names no condition, and a rule with none would match "
        r"everyone; write at least one test, a column and an operator \(columns: ",
    ):
        load_facility_config(config_dir, "anqiu")


def test_malformed_yaml_is_a_load_error_naming_the_file_and_line(config_dir: Path) -> None:
    path = config_dir / "counties" / "jiaxiang.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "benefits: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"jiaxiang\.yaml is not valid YAML at line \d+"):
        load_county(config_dir, "jiaxiang")


# --- every declaration file, walked: an unknown key anywhere is refused -----------------------------

FREE_FORM = {"aliases", "factors", "by_bank", "statuses"}  # mappings whose keys are the writer's own words


def _mappings(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = []
    if isinstance(data, dict):
        if not path or path[-1] not in FREE_FORM:
            found.append(path)
        for key, value in data.items():
            found += _mappings(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _mappings(value, (*path, i))
    return found


def _loaders(config_dir: Path, schema_dir: Path) -> dict[str, Any]:
    """Every file under config/ and schemas/, and what loads it (a file nothing loads is an error)."""
    loaders: dict[str, Any] = {}
    for county_file in sorted((config_dir / "counties").glob("*.yaml")):
        county = county_file.stem

        def load(county: str = county) -> None:
            load_county(config_dir, county, load_schema(schema_dir=schema_dir))
            if "facility_benefits" in (config_dir / "counties" / f"{county}.yaml").read_text(
                encoding="utf-8"
            ):
                load_facility_config(config_dir, county, load_schema("facility", schema_dir=schema_dir))

        loaders[f"config/counties/{county_file.name}"] = load
        for used in load_county(CONFIG, county).files[1:]:
            loaders.setdefault(f"config/{used.relative_to(CONFIG)}", load)
    loaders["config/shared/gongshi.yaml"] = lambda: load_gongshi(config_dir)
    for layout_file in sorted((config_dir / "banks").glob("*.yaml")):
        if layout_file.stem == "reasons":
            loaders["config/banks/reasons.yaml"] = lambda: load_reasons(config_dir)
        else:
            loaders[f"config/banks/{layout_file.name}"] = lambda path=layout_file: load_layout(path)
    for schema_file in sorted(schema_dir.glob("*.yaml")):
        loaders[f"schemas/{schema_file.name}"] = lambda name=schema_file.stem: load_schema(name, schema_dir)
    return loaders


def _every_mapping() -> list[tuple[str, tuple[Any, ...]]]:
    files = sorted(
        str(p.relative_to(ROOT))
        for p in [*(ROOT / "config").rglob("*.yaml"), *(ROOT / "schemas").glob("*.yaml")]
    )
    return [
        (name, path)
        for name in files
        for path in _mappings(yaml.safe_load((ROOT / name).read_text(encoding="utf-8")))
    ]


def test_every_declaration_file_is_loaded_by_something() -> None:
    on_disk = {
        str(p.relative_to(ROOT))
        for p in [*(ROOT / "config").rglob("*.yaml"), *(ROOT / "schemas").glob("*.yaml")]
    }
    assert on_disk == set(_loaders(CONFIG, ROOT / "schemas"))


@pytest.mark.parametrize(
    ("name", "path"), _every_mapping(), ids=lambda v: "/".join(map(str, v)) if isinstance(v, tuple) else v
)
def test_an_unknown_key_anywhere_in_any_declaration_file_is_refused(
    tmp_path: Path, name: str, path: tuple[Any, ...]
) -> None:
    shutil.copytree(ROOT / "config", tmp_path / "config")
    shutil.copytree(ROOT / "schemas", tmp_path / "schemas")
    target = tmp_path / name
    data = yaml.safe_load(target.read_text(encoding="utf-8"))
    node = data
    for key in path:
        node = node[key]
    node["zz_unknown_key"] = "x"
    target.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    load = _loaders(tmp_path / "config", tmp_path / "schemas")[name]
    with pytest.raises(ConfigError) as caught:
        load()
    assert Path(name).name in str(caught.value) and "zz_unknown_key" in str(caught.value)


# --- a new roster column, and a rule on it, with no Python change -----------------------------------


def test_a_rule_on_a_new_roster_column_needs_only_schema_and_config(tmp_path: Path) -> None:
    shutil.copytree(FIXTURE / "config", tmp_path / "config")
    rows = [
        person("1950-03-01", name="一级") | {"disability_grade": "一级"},
        person("1950-03-02", name="二级") | {"disability_grade": "2"},
        person("1950-03-03", name="三级") | {"disability_grade": "三级"},
        person("1970-03-04", name="年轻") | {"disability_grade": "一级"},  # aged 54: not 60+
        person("1950-03-05", name="无"),
    ]
    roster = tmp_path / "roster.csv"
    pl.DataFrame(rows).write_csv(roster)
    result = run_month(
        RunRequest(
            Period(2024, 5),
            "testshire",
            roster,
            tmp_path / "runs",
            tmp_path / "config",
            schema_dir=FIXTURE / "schemas",
        )
    )
    items = pl.read_parquet(result.run_dir / "line_items.parquet")
    # grades 一级 and 2 (written as a digit) at 74 are paid; 三级, the 54-year-old and the empty cell are not
    assert sorted(items.select("name", "amount", "status").rows()) == [
        ("一级", Decimal("90.00"), "paid"),
        ("二级", Decimal("90.00"), "paid"),
    ]
    assert result.manifest["totals"]["paid_amount"] == "180.00"  # two people x 90.00
    # the shipped schema has had the same column since issue 18 (added the same way, no Python): the same
    # config loads against it too; a schema without the column refuses it
    assert load_county(tmp_path / "config", "testshire").rules
    schema_dir = tmp_path / "schemas"
    schema_dir.mkdir()
    text = (FIXTURE / "schemas" / "roster.yaml").read_text(encoding="utf-8")
    (schema_dir / "roster.yaml").write_text(text.split("\n  disability_grade:")[0] + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"'disability_grade' is not a roster column"):
        load_county(tmp_path / "config", "testshire", load_schema(schema_dir=schema_dir))


def test_the_bank_memo_is_config_and_a_wrong_placeholder_is_a_load_error(config_dir: Path) -> None:
    config = load_county(config_dir, "jiaxiang")
    assert config.memo(Period(2024, 5)) == "2024-05 嘉祥县 养老补贴"
    path = config_dir / "counties" / "jiaxiang.yaml"
    text = path.read_text(encoding="utf-8").replace("{county_name} 养老补贴", "{county} 养老补贴")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(
        ConfigError,
        match=r"jiaxiang\.yaml: bank_memo: .* may use only the placeholders \{period\}, \{county_name\}",
    ):
        load_county(config_dir, "jiaxiang")


def test_empty_true_matches_only_a_blank_cell_and_never_overlaps_a_value_test() -> None:
    mode = Field("tekun_support_mode", "供养方式", "text", ("dispersed", "centralised"))
    assert not satisfiable(
        mode,
        [
            Clause("tekun_support_mode", "empty", (True,)),
            Clause("tekun_support_mode", "one_of", ("dispersed",)),
        ],
    )
    assert satisfiable(mode, [Clause("tekun_support_mode", "empty", (True,))])


def test_empty_must_be_written_true(config_dir: Path) -> None:
    _set_when(config_dir, {"income_status": ["dibao"], "family_planning": {"empty": False}})
    with pytest.raises(ConfigError, match=r"family_planning\.empty: write empty: true"):
        load_county(config_dir, "jiaxiang")


@pytest.mark.parametrize("county", ["jiaxiang", "yanzhou", "anqiu", "caoxian"])
def test_a_tekun_elder_whose_support_mode_is_blank_is_counted_and_held(county: str) -> None:
    from tests.helpers import benefits_of

    code = {"jiaxiang": "370829", "yanzhou": "370812", "anqiu": "370784", "caoxian": "371721"}[county]
    # aged 74 in 2024-05, 特困, 供养方式 left blank: neither 分散 nor 集中 applies, so the third row holds it
    row = person("1950-03-01", hukou=code, income="tekun")
    item = benefits_of(county, "2024-05", row)["tekun_support"]
    assert (item.amount, item.status, item.hold_reason) == (None, "held", "standard_not_set")
    assert item.rule.endswith("#tekun_support/mode_not_recorded")
    recorded = benefits_of(county, "2024-05", row | {"tekun_support_mode": "分散供养"})["tekun_support"]
    assert recorded.rule.endswith("#tekun_support/dispersed")
