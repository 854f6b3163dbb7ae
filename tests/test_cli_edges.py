"""User actions at the edges that once ended in "internal error ... This is a bug" (exit 70): each is now
one sentence on stderr with the exit code of its row in the README's table, and no traceback."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from subsidy_batch.period import Period
from subsidy_batch.synth import MAX_SEED
from tests.helpers import ROOT, cli, no_traceback, only_error

# --- 1. periods at the calendar's edges -----------------------------------------------------------------

OUT_OF_RANGE = "year {year} is out of range (1900-2999); give a month like 2024-05"


@pytest.mark.parametrize(("period", "year"), [("9999-12", 9999), ("0000-01", 0), ("1899-12", 1899)])
def test_a_scenario_of_a_month_outside_1900_2999_is_refused_with_exit_2(
    workdir: Path, period: str, year: int
) -> None:
    result = cli(
        "simulate", period, "--county", "jiaxiang", "--roster", "rosters/jiaxiang/2024-05.csv",
        "--set", "high_age_allowance/county_80_89=50", "--out", str(workdir / "sim"),
    )  # fmt: skip
    only_error(result, 2, f"period {period!r}: " + OUT_OF_RANGE.format(year=year))
    assert not (workdir / "sim").exists()


def test_a_crosscheck_of_9999_12_is_refused_with_exit_2(workdir: Path) -> None:
    (workdir / "户籍.csv").write_text("公民身份号码,姓名\n", encoding="utf-8")
    result = cli(
        "crosscheck", "9999-12", "--county", "jiaxiang", "--roster", "rosters/jiaxiang/2024-05.csv",
        "--population", "户籍.csv", "--out", str(workdir / "cc"),
    )  # fmt: skip
    only_error(result, 2, "period '9999-12': " + OUT_OF_RANGE.format(year=9999))


def test_a_run_of_9999_12_is_refused_too_and_writes_nothing(workdir: Path) -> None:
    result = cli("run", "9999-12", "--county", "jiaxiang", "--quiet")
    only_error(result, 2, "period '9999-12': " + OUT_OF_RANGE.format(year=9999))
    assert not (workdir / "runs" / "jiaxiang").exists()


def test_a_run_of_a_far_future_month_is_refused_with_exit_2_and_writes_nothing(workdir: Path) -> None:
    """2099-01 typed for 2024-01: within 1900-2999, but later than the month after today's (the clock's)."""
    from datetime import datetime

    from subsidy_batch.runs.manifest import SHANGHAI

    today = datetime.now(SHANGHAI).date()
    result = cli("run", "2099-01", "--county", "jiaxiang", "--quiet")
    after = Period(today.year, today.month).next()
    only_error(
        result,
        2,
        f"2099-01 is later than {after}, the month after this one (today is {today.isoformat()}): a month is "
        "run in the month it pays or the month before; check the period you typed",
    )
    assert not (workdir / "runs" / "jiaxiang").exists()


@pytest.mark.parametrize("year", ["1899", "3000", "0"])
def test_a_facility_year_outside_1900_2999_is_refused_like_a_period(workdir: Path, year: str) -> None:
    """The same years as a monthly period (it was 2000-2100 in typer's own words before)."""
    result = cli("run-facilities", year, "--county", "anqiu", "--quiet")
    only_error(result, 2, f"year {int(year)} is out of range (1900-2999); give the year to pay, e.g. 2024")
    assert not (workdir / "runs" / "anqiu").exists()


def test_the_first_and_last_months_in_range_reach_every_month_a_command_computes_with() -> None:
    # the month before (age basis month_after_birthday) and 24 ahead (crosscheck --within 24) are dates
    first, last = Period.parse_loose("1900-01"), Period.parse_loose("2999年12月")
    assert first.previous().last_day.isoformat() == "1899-12-31"
    ahead = last
    for _ in range(24):
        ahead = ahead.next()
    assert ahead.last_day.isoformat() == "3001-12-31"
    with pytest.raises(ValueError, match=r"year 3000 is out of range \(1900-2999\)"):
        Period.parse("3000-01")  # config effective dates and stored manifests are held to the same range


# --- 2. subsidy.toml that is not a county setting -----------------------------------------------------

ONE_COUNTY = 'county = "SLUG"'


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"\xff\xfe\x00bad", f"subsidy.toml is not UTF-8 text; save it as UTF-8 with a line {ONE_COUNTY}"),
        (
            b"county = 5\n",
            'subsidy.toml: county must be a county\'s name in quotes, like county = "jiaxiang", not the number 5',
        ),
        (
            b'county = ["jiaxiang"]\n',
            'subsidy.toml: county must be a county\'s name in quotes, like county = "jiaxiang", not a list',
        ),
        (
            b'county = ""\n',
            'subsidy.toml: county must be a county\'s name in quotes, like county = "jiaxiang", not empty text',
        ),
        (
            b"county = true\n",
            'subsidy.toml: county must be a county\'s name in quotes, like county = "jiaxiang", '
            "not the boolean true",
        ),
    ],
)
def test_a_subsidy_toml_that_names_no_county_properly_is_a_config_error(
    workdir: Path, content: bytes, message: str
) -> None:
    (workdir / "subsidy.toml").write_bytes(content)
    only_error(cli("run", "2024-05", "--quiet"), 4, message)
    # --county is not held up by the file
    assert cli("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0


def test_a_folder_named_subsidy_toml_is_a_config_error(workdir: Path) -> None:
    (workdir / "subsidy.toml").mkdir()
    only_error(
        cli("run", "2024-05", "--quiet"),
        4,
        f"subsidy.toml is a folder; it must be a file with a line {ONE_COUNTY}, or absent",
    )


def test_a_subsidy_toml_without_a_county_key_still_says_no_county_given(workdir: Path) -> None:
    (workdir / "subsidy.toml").write_text("quiet = true\n", encoding="utf-8")
    only_error(
        cli("run", "2024-05"),
        4,
        'no county given; pass --county SLUG, set SUBSIDY_COUNTY, or write county = "SLUG" in subsidy.toml',
    )


# --- 3. synth: --out in a new folder, seeds out of range -----------------------------------------------


def test_synth_makes_the_folder_of_its_out_file_as_every_out_does(workdir: Path) -> None:
    out = workdir / "no" / "such" / "dir" / "x.csv"
    result = cli("synth", "--county", "anqiu", "--people", "5", "--period", "2024-05", "--out", str(out))
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{out}: 5 people\n"
    assert out.is_file()


def test_synth_to_a_folder_that_cannot_be_made_is_one_sentence_and_exit_10(workdir: Path) -> None:
    (workdir / "afile").write_text("a file where a folder should be\n", encoding="utf-8")
    out = workdir / "afile" / "x.parquet"
    result = cli("synth", "--county", "anqiu", "--people", "5", "--period", "2024-05", "--out", str(out))
    only_error(result, 10, f"cannot write the roster to {out}: File exists")


@pytest.mark.parametrize(
    ("seed", "shown"),
    [("-1", "-1"), (str(MAX_SEED + 1), "4294967296"), ("999999999999999999999999999", "999999********9999")],
)
def test_a_synth_seed_out_of_range_is_refused_with_exit_2(workdir: Path, seed: str, shown: str) -> None:
    result = cli(
        "synth", "--county", "anqiu", "--people", "5", "--period", "2024-05", "--out", "x.csv", "--seed", seed
    )
    only_error(result, 2, f"seed {shown} is out of range; give a --seed from 0 to 4294967295")
    assert not (workdir / "x.csv").exists()


def test_the_largest_synth_seed_works_and_the_help_gives_the_range(workdir: Path) -> None:
    ok = cli("synth", "--county", "anqiu", "--people", "5", "--period", "2024-05", "--out", "x.csv",
              "--seed", str(MAX_SEED))  # fmt: skip
    assert ok.exit_code == 0, ok.output
    assert f"0 to {MAX_SEED}" in " ".join(cli("synth", "--help").stdout.split())


# --- 4. schemas/roster.yaml edits that check-config must catch, not the run ----------------------------


def _subsidy(args: list[str], cwd: Path, schemas: Path) -> subprocess.CompletedProcess[str]:
    """The installed command (SUBSIDY_SCHEMA_DIR is read when the program starts)."""
    env = {k: v for k, v in os.environ.items() if k not in {"SUBSIDY_COUNTY", "SUBSIDY_DEBUG"}}
    env["SUBSIDY_SCHEMA_DIR"] = str(schemas)
    return subprocess.run(
        [sys.executable, "-m", "subsidy_batch", *args], cwd=cwd, env=env, capture_output=True, text=True
    )


def _edited_schemas(workdir: Path, edit) -> Path:
    schemas = workdir / "schemas"
    shutil.copytree(ROOT / "schemas", schemas)
    path = schemas / "roster.yaml"
    path.write_text(edit(path.read_text(encoding="utf-8")), encoding="utf-8")
    return schemas


def _without_column(column: str, following: str):
    def edit(text: str) -> str:
        start, end = text.index(f"\n  {column}:\n"), text.index(f"\n  {following}:\n")
        return text[:start] + text[end:]

    return edit


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            lambda text: text.replace("pattern: '^[0-9]{6}$'", "pattern: '([a-'"),
            "columns.hukou_code.checks[1].pattern: '([a-' is not a regular expression the checks can use "
            "(unclosed character class); write it in Rust regex syntax, e.g. '^[0-9]{6}$'",
        ),
        (  # Python's re takes a look-behind; polars' regex engine does not
            lambda text: text.replace("pattern: '^[0-9]{6}$'", "pattern: '(?<=3)[0-9]{5}'"),
            "columns.hukou_code.checks[1].pattern: '(?<=3)[0-9]{5}' is not a regular expression the checks "
            "can use (look-around, including look-ahead and look-behind, is not supported); write it in Rust "
            "regex syntax, e.g. '^[0-9]{6}$'",
        ),
        (
            _without_column("id_number", "name"),
            "columns: the column 'id_number' is missing; the program reads it by name, so declare it "
            "(type: text)",
        ),
        (
            _without_column("name", "hukou_code"),
            "columns: the column 'name' is missing; the program reads it by name, so declare it (type: text)",
        ),
    ],
)
def test_a_schema_edit_the_run_cannot_use_fails_check_config_and_run_with_exit_4(
    workdir: Path, edit, message: str
) -> None:
    schemas = _edited_schemas(workdir, edit)
    for command in (["check-config", "--county", "jiaxiang"], ["run", "2024-05", "--county", "jiaxiang"]):
        done = _subsidy(command, workdir, schemas)
        assert done.returncode == 4, done.stderr
        assert done.stderr.splitlines()[-1] == f"error: {schemas / 'roster.yaml'}: {message}"
        assert "Traceback" not in done.stderr
    assert not (workdir / "runs" / "jiaxiang").exists()


def _schema_text() -> str:
    return (ROOT / "schemas" / "roster.yaml").read_text(encoding="utf-8")


def _load_text(text: str, folder: Path):
    from subsidy_batch.roster.schema import load_schema

    (folder / "roster.yaml").write_text(text, encoding="utf-8")
    return load_schema(schema_dir=folder)


def test_a_schema_reading_death_date_as_text_is_refused(tmp_path: Path) -> None:
    from subsidy_batch.errors import ConfigError

    text = _schema_text()
    start = text.index("\n  death_date:\n")
    edited = text[:start] + text[start:].replace("    type: date\n", "", 1)
    with pytest.raises(ConfigError) as err:
        _load_text(edited, tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'roster.yaml'}: columns.death_date: type text is not allowed; the program reads "
        "death_date as date, so write type: date"
    )


def test_a_matches_check_without_a_pattern_is_refused(tmp_path: Path) -> None:
    from subsidy_batch.errors import ConfigError

    edited = _schema_text().replace("        pattern: '^[0-9]{6}$'\n", "", 1)
    with pytest.raises(ConfigError) as err:
        _load_text(edited, tmp_path)
    assert str(err.value) == (
        f"{tmp_path / 'roster.yaml'}: columns.hukou_code.checks[1]: 'pattern' (a regular expression) is "
        "needed by matches, and only by it"
    )


def test_the_program_computes_each_persons_id_key_and_birth_date_without_the_checks_that_need_them(
    tmp_path: Path,
) -> None:
    from subsidy_batch.roster.validate import validate
    from tests.helpers import person, raw_roster

    text = _schema_text()
    start, end = text.index("      - kind: not_stored_as_number"), text.index("\n  name:\n")
    schema = _load_text(text[:start] + text[end:], tmp_path)
    assert [c.kind for c in schema.columns["id_number"].checks] == ["not_empty"]
    accepted = validate(raw_roster([person("1922-02-02")]), schema, "2024-05", "jiaxiang").accepted
    assert accepted.get_column("birth_date").to_list()[0].isoformat() == "1922-02-02"
    assert accepted.get_column("id_key").null_count() == 0


def test_a_folder_given_as_the_roster_is_named_as_a_folder_not_as_missing(workdir: Path) -> None:
    """A clerk gives the county's roster folder instead of the month's file: it exists, so "does not
    exist" (the message before) sent the clerk looking for the wrong mistake."""
    result = cli("run", "2024-05", "--county", "jiaxiang", "--roster", "rosters/jiaxiang", "--quiet")
    only_error(
        result,
        3,
        "roster rosters/jiaxiang is a folder, not a file; give the path of the month's roster file in it",
    )
    assert not (workdir / "runs" / "jiaxiang").exists()  # refused before any run folder is made
