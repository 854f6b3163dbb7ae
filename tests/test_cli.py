"""The command line: every exit status, its one-sentence errors, and help on every command."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from subsidy_batch import __version__
from subsidy_batch.cli import EXIT_CODES, app, exit_code
from subsidy_batch.errors import RosterError

runner = CliRunner()


def _run(*args: str):
    return runner.invoke(app, list(args))


def test_a_run_completes_with_exit_0_and_prints_the_summary(workdir: Path) -> None:
    result = _run("run", "2024-05", "--county", "jiaxiang")
    assert result.exit_code == 0, result.output
    assert "people read     401" in result.stdout
    assert "rejected rows   11" in result.stdout
    assert (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").is_file()


def test_progress_goes_to_stderr_and_quiet_silences_it(workdir: Path) -> None:
    loud = _run("run", "2024-05", "--county", "jiaxiang", "--runs-dir", "a")
    quiet = _run("run", "2024-05", "--county", "jiaxiang", "--runs-dir", "b", "--quiet")
    assert "reading 2024-05.csv…" in loud.stderr
    assert quiet.stderr == ""
    assert quiet.exit_code == 0


def test_the_county_may_come_from_the_environment(workdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUBSIDY_COUNTY", "jiaxiang")
    assert _run("run", "2024-05", "--quiet").exit_code == 0


def test_the_county_may_come_from_subsidy_toml(workdir: Path) -> None:
    (workdir / "subsidy.toml").write_text('county = "jiaxiang"\n', encoding="utf-8")
    assert _run("run", "2024-05", "--quiet").exit_code == 0


def test_no_county_at_all_is_refused_with_how_to_set_it(workdir: Path) -> None:
    result = _run("run", "2024-05")
    assert result.exit_code == 4
    assert "pass --county SLUG, set SUBSIDY_COUNTY" in result.stderr


@pytest.mark.parametrize("period", ["2024-13", "2024-00", "May 2024", "24-05", "2024年13月"])
def test_a_malformed_period_exits_2(workdir: Path, period: str) -> None:
    result = _run("run", period, "--county", "jiaxiang")
    assert result.exit_code == 2
    assert "YYYY-MM" in result.stderr


def test_a_month_out_of_range_says_so(workdir: Path) -> None:
    result = _run("run", "2024-13", "--county", "jiaxiang")
    assert result.stderr == (
        "error: period '2024-13': month 13 is out of range (1-12); write it YYYY-MM, e.g. 2024-05\n"
    )


@pytest.mark.parametrize("period", ["2024-5", "202405", "2024年5月", "2024/05", " 2024-05 "])
def test_a_period_may_be_written_as_clerks_write_it(workdir: Path, period: str) -> None:
    result = _run("run", period, "--county", "jiaxiang", "--quiet")
    assert result.exit_code == 0, result.output
    assert (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").is_file()


@pytest.mark.parametrize("county", ["嘉祥县", "370829", "JiaXiang", " jiaxiang "])
def test_the_county_may_be_named_by_slug_chinese_name_or_division_code(workdir: Path, county: str) -> None:
    result = _run("run", "2024-05", "--county", county, "--quiet")
    assert result.exit_code == 0, result.output
    assert (workdir / "runs" / "jiaxiang" / "2024-05").is_dir()


def test_supersede_never_takes_the_next_option_as_its_reason(workdir: Path) -> None:
    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0
    result = _run("run", "2024-05", "--county", "jiaxiang", "--supersede", "--quiet")
    assert result.exit_code == 2
    assert "--supersede needs a reason as its value, not '--quiet'" in result.stderr
    assert not (workdir / "runs" / "jiaxiang" / "superseded").exists()


def test_version_and_short_help() -> None:
    assert _run("--version").stdout == f"subsidy-batch {__version__}\n"
    short = _run("-h")
    assert short.exit_code == 0 and "run" in short.stdout and "verify" in short.stdout


@pytest.mark.parametrize("county", ["../x", "nowhere", "济宁"])
def test_an_unknown_county_exits_4_listing_the_known_ones(workdir: Path, county: str) -> None:
    """济宁 is the city around Jiaxiang, not a county: the clerk is shown what can be typed."""
    result = _run("run", "2024-05", "--county", county)
    assert result.exit_code == 4
    assert result.stderr == (
        f"error: no county {county!r} in config/counties; give a county's slug, Chinese name or division code: "
        "anqiu (安丘市, 370784), caoxian (曹县, 371721), jiaxiang (嘉祥县, 370829), yanzhou (兖州区, 370812), "
        "youyi (友谊县, 230522)\n"
    )


def test_an_invalid_config_exits_4_naming_file_and_key(workdir: Path) -> None:
    path = workdir / "config" / "counties" / "jiaxiang.yaml"
    path.write_text(path.read_text(encoding="utf-8") + "colour: red\n", encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang")
    assert result.exit_code == 4
    assert "jiaxiang.yaml: unknown key 'colour'" in result.stderr


def test_a_missing_roster_exits_3_and_says_where_it_looked(workdir: Path) -> None:
    result = _run("run", "2024-06", "--county", "jiaxiang")
    assert result.exit_code == 3
    assert (
        "2024-06.parquet, 2024-06.xlsx, 2024-06.csv, 2024-06.xls or 2024-06.ods must exist, or pass --roster PATH"
        in result.stderr
    )


def test_a_roster_without_required_columns_exits_3(workdir: Path) -> None:
    bad = workdir / "bad.csv"
    bad.write_text("姓名\n张三\n", encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(bad))
    assert result.exit_code == 3
    assert "lacks required column(s) id_number (公民身份号码)" in result.stderr


def test_a_second_run_of_the_same_period_exits_5_and_changes_nothing(workdir: Path) -> None:
    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0
    manifest = (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_bytes()
    again = _run("run", "2024-05", "--county", "jiaxiang")
    assert again.exit_code == 5
    assert "already has an accepted run" in again.stderr and "--supersede" in again.stderr
    assert (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_bytes() == manifest


def test_a_period_with_no_rule_in_force_exits_6(workdir: Path) -> None:
    result = _run("run", "2023-07", "--county", "jiaxiang")
    assert result.exit_code == 6
    assert "no rule of jiaxiang is in force for 2023-07" in result.stderr


def test_check_config_lists_rules_and_exits_0() -> None:
    result = runner.invoke(
        app, ["check-config", "--county", "youyi", "--config-dir", str(Path(__file__).parents[1] / "config")]
    )
    assert result.exit_code == 0
    assert "counties/youyi.yaml#high_age_allowance/province_90_plus" in result.stdout


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("shared/gongshi.yaml", "keep_last: 1,", "keep_lst: 1,", r"gongshi.yaml: masking.name: unknown key 'keep_lst'"),
        ("banks/reasons.yaml", "codes:", "codez:", r"reasons.yaml.*unknown key 'codez'"),
    ],
)  # fmt: skip
def test_check_config_finds_a_mistake_in_the_shared_files_a_run_or_an_import_reads(
    tmp_path: Path, file: str, old: str, new: str, message: str
) -> None:
    """check-config said "no overlaps" (exit 0) while the 公示 masking or the bank reasons were broken: the
    run (or the import of the bank's answer) was the first to say so."""
    config = tmp_path / "config"
    shutil.copytree(Path(__file__).parents[1] / "config", config)
    text = (config / file).read_text(encoding="utf-8")
    assert old in text
    (config / file).write_text(text.replace(old, new, 1), encoding="utf-8")
    result = runner.invoke(app, ["check-config", "--county", "youyi", "--config-dir", str(config)])
    assert result.exit_code == 4, result.output
    assert re.search(message, result.stderr), result.stderr


def test_every_command_has_help() -> None:
    import typer.main

    group = typer.main.get_group(app)
    for name, command in group.commands.items():
        assert command.help, f"command {name} has no help"
        for param in command.params:
            if param.param_type_name == "option":
                assert getattr(param, "help", None), f"{name} {param.name} has no help"
        assert runner.invoke(app, [name, "--help"]).exit_code == 0


def test_the_installed_console_script_runs(workdir: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "subsidy_batch", "run", "2024-05", "--county", "jiaxiang", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "total paid" in done.stdout


def test_the_console_entry_keeps_exit_codes_and_flushes_its_output(workdir: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "subsidy_batch", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    assert run("version").stdout.strip() == __version__
    assert run("version").returncode == 0
    missing = run("run", "2024-05", "--county", "jiaxiang", "--roster", "no-such-file.csv")
    assert missing.returncode == EXIT_CODES[RosterError] == 3 and "no-such-file.csv" in missing.stderr
    usage = run("run", "2024-13", "--county", "jiaxiang")
    assert usage.returncode != 0 and usage.stderr
    assert run("no-such-command").returncode == 2  # click's usage error


def test_totals_that_do_not_reconcile_exit_7_and_accept_nothing(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from subsidy_batch.outputs import bank

    real = bank.write_bank_files
    monkeypatch.setattr(bank, "write_bank_files", lambda payments, *a, **k: real(payments.slice(1), *a, **k))
    result = _run("run", "2024-05", "--county", "jiaxiang")
    assert result.exit_code == 7
    assert "totals do not reconcile, nothing was accepted" in result.stderr
    assert not (workdir / "runs" / "jiaxiang" / "2024-05").exists()


# --- the closed error boundary: broken configs, rosters and folders give one sentence, no traceback ----


def _no_traceback(result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_every_library_error_has_an_exit_code_in_the_one_table() -> None:
    from subsidy_batch import errors

    raised = [c for c in vars(errors).values() if isinstance(c, type) and issubclass(c, errors.SubsidyError)]
    assert set(EXIT_CODES) <= set(raised)
    # a subclass (ForeignRosterError) takes its parent's code (RosterError: 3)
    assert exit_code(errors.ForeignRosterError("x")) == 3
    assert len(set(EXIT_CODES.values())) == len(EXIT_CODES)  # one meaning per code


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("benefits: [unclosed\n", "jiaxiang.yaml is not valid YAML at line"),
        ("division_code: 370829\n", "division_code: expected text, found the number 370829"),
    ],
)
def test_a_broken_config_is_one_sentence_and_exit_4(workdir: Path, text: str, message: str) -> None:
    path = workdir / "config" / "counties" / "jiaxiang.yaml"
    lines = [
        line for line in path.read_text(encoding="utf-8").splitlines() if not line.startswith("division_code")
    ]
    path.write_text("\n".join(lines) + "\n" + text, encoding="utf-8")
    for args in (["run", "2024-05", "--county", "jiaxiang"], ["check-config", "--county", "jiaxiang"]):
        result = _run(*args)
        _no_traceback(result)
        assert result.exit_code == 4, result.output
        assert message in result.stderr and result.stderr.count("\n") == 1


def test_a_broken_schema_is_a_config_error_naming_file_and_key(workdir: Path) -> None:
    schemas = workdir / "schemas"
    schemas.mkdir()
    (schemas / "roster.yaml").write_text(
        "schema: roster\nschema_version: one\ncolumns: {}\n", encoding="utf-8"
    )
    from subsidy_batch.errors import ConfigError
    from subsidy_batch.roster.schema import load_schema

    with pytest.raises(ConfigError, match=r"roster\.yaml: schema_version: expected a whole number"):
        load_schema(schema_dir=schemas)


def test_a_runs_folder_that_cannot_be_written_is_one_sentence_and_exit_10(workdir: Path) -> None:
    (workdir / "not-a-folder").write_text("a file where the runs folder should be\n", encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--runs-dir", "not-a-folder", "--quiet")
    _no_traceback(result)
    assert result.exit_code == 10
    assert result.stderr.startswith("error: cannot write the run of jiaxiang 2024-05 under not-a-folder")
    assert "check that the runs folder exists, is writable and has free space" in result.stderr


def test_a_roster_that_is_not_a_spreadsheet_is_one_sentence_and_exit_3(workdir: Path) -> None:
    bad = workdir / "roster.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(bad), "--quiet")
    _no_traceback(result)
    assert result.exit_code == 3 and result.stderr.startswith("error: cannot read roster roster.xlsx: ")
    assert result.stderr.count("\n") == 1 and "the workbook is incomplete or damaged" in result.stderr
    assert "Zip error" not in result.stderr  # the reader's own words tell a clerk nothing


@pytest.mark.parametrize(
    ("name", "content", "said"),
    [
        ("roster.xls", "姓名,身份证号码\n张三,1\n".encode("gb18030"), "the file is text (a CSV"),
        ("roster.xls", b"<html><body><table><tr><td>1</td></tr></table>", "the file is a web page"),
        ("roster.xlsx", b"", "the file is empty (0 bytes)"),
    ],
    ids=["GB18030 CSV as .xls", "HTML table as .xls", "empty"],
)
def test_a_file_under_a_workbooks_name_that_is_none_says_what_it_is(
    workdir: Path, name: str, content: bytes, said: str
) -> None:
    bad = workdir / name
    bad.write_bytes(content)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(bad), "--quiet")
    _no_traceback(result)
    assert result.exit_code == 3 and result.stderr.startswith(f"error: cannot read roster {name}: {said}")
    assert result.stderr.count("\n") == 1 and "calamine" not in result.stderr


def test_verify_of_a_folder_without_runs_is_one_sentence(workdir: Path) -> None:
    (workdir / "empty").mkdir()
    result = _run("verify", "empty")
    _no_traceback(result)
    assert result.exit_code == 9 and "holds no run" in result.stderr


def test_an_unexpected_error_is_one_sentence_not_a_traceback(workdir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.argv=['subsidy','run','2024-05','--county','jiaxiang'];"
            "import subsidy_batch.runs.monthly as p; p.run_month=lambda *a, **k: 1/0; import subsidy_batch.cli as c;"
            "c.run_month=p.run_month; c.main()",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 70
    assert "Traceback" not in done.stderr
    assert done.stderr.startswith(
        "error: internal error (ZeroDivisionError: division by zero); nothing was accepted"
    )


NEW_BENEFITS = {  # issue 18: entitled people counted and held until the counties set the standards
    "jiaxiang": ("tekun_support", "disability_living", "severe_disability_care"),
    "yanzhou": ("tekun_support",),
    "youyi": ("elderly_service_subsidy", "disability_living", "severe_disability_care"),
    "anqiu": ("tekun_support",),
    "caoxian": ("tekun_support",),
}


@pytest.mark.parametrize("county", sorted(NEW_BENEFITS))
def test_each_new_held_benefit_is_in_check_config_the_run_summary_and_the_manifest(
    workdir: Path, county: str
) -> None:
    import json
    import re

    from tests.helpers import ROOT

    listed = _run("check-config", "--county", county)
    assert listed.exit_code == 0, listed.output
    sample = next((ROOT / "rosters" / county).glob("2024-05.*"))
    result = _run("run", "2024-05", "--county", county, "--roster", str(sample), "--quiet")
    assert result.exit_code == 0, result.output
    manifest = json.loads(
        (workdir / "runs" / county / "2024-05" / "manifest.json").read_text(encoding="utf-8")
    )
    for benefit in NEW_BENEFITS[county]:
        assert f"#{benefit}/" in listed.stdout
        line = re.search(rf"^\s+{benefit}\s+paid\s+0 items\s+0\.00 yuan, held (\d+)$", result.stdout, re.M)
        assert line, result.stdout
        held = int(line.group(1))
        assert held > 0  # the 2024-05 samples carry the new columns for some people
        assert manifest["totals"]["by_benefit"][benefit] == {
            "held_items": held,
            "paid_amount": "0.00",
            "paid_items": 0,
        }


# --- issue 11/15: a quick command line, --json, running outside the checkout, local times ----------------


def _python(code: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=cwd)


def test_the_cli_module_imports_no_engine_and_no_rich() -> None:
    done = _python(
        "import subsidy_batch.cli, sys; "
        "heavy = [m for m in ('polars', 'pandera', 'pyarrow', 'structlog', 'rich', 'pydantic') if m in sys.modules]; "
        "assert not heavy, heavy"
    )
    assert done.returncode == 0, done.stderr


def test_help_loads_neither_the_engine_nor_pydantic() -> None:
    for args in (["--help"], ["run", "--help"], ["--version"]):
        done = _python(
            "import sys; from subsidy_batch.cli import app\n"
            f"sys.argv = ['subsidy', *{args!r}]\n"
            "try:\n    app(prog_name='subsidy')\nexcept SystemExit as done:\n    assert done.code in (0, None), done.code\n"
            "heavy = [m for m in ('polars', 'pandera', 'structlog', 'rich', 'pydantic') if m in sys.modules]\n"
            "assert not heavy, heavy"
        )
        assert done.returncode == 0, (args, done.stderr)
        assert "subsidy" in done.stdout


def test_the_command_line_leaves_polars_allocator_at_its_defaults() -> None:
    # POLARS_THP=1 (huge pages) made a 10M run 18 -> 21 s on the benchmark machine (bench/RESULTS.md,
    # ninth session): main() must not set it, nor jemalloc's own configuration, for the user
    done = _python(
        "import os, sys\n"
        "os.environ.pop('POLARS_THP', None); os.environ.pop('_RJEM_MALLOC_CONF', None)\n"
        "sys.argv = ['subsidy', '--version']\n"
        "leave = os._exit\n"
        "def seen(code):\n"
        "    print(os.environ.get('POLARS_THP'), os.environ.get('_RJEM_MALLOC_CONF'), code, flush=True)\n"
        "    leave(0)\n"
        "os._exit = seen\n"
        "from subsidy_batch.cli import main\n"
        "main()"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1] == "None None 0"


def test_a_refused_rerun_is_refused_before_the_engine_is_imported(workdir: Path) -> None:
    accepted = workdir / "runs" / "jiaxiang" / "2024-05"
    accepted.mkdir(parents=True)
    (accepted / "manifest.json").write_text('{"created_at": "2024-06-01T01:02:03+00:00"}', encoding="utf-8")
    done = _python(
        "import sys; from subsidy_batch.cli import app\n"
        "sys.argv = ['subsidy', 'run', '2024-05', '--county', 'JiaXiang']\n"
        "try:\n    app(prog_name='subsidy')\nexcept SystemExit as done:\n    assert done.code == 5, done.code\n"
        "heavy = [m for m in ('polars', 'pandera', 'structlog', 'rich', 'pydantic') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        # nor the runs folder's own modules: their dataclasses were about 5 ms of a 70 ms refusal
        "store = [m for m in ('subsidy_batch.runs.store', 'subsidy_batch.runs.manifest') if m in sys.modules]\n"
        "assert not store, store",
        cwd=workdir,
    )
    assert done.returncode == 0, done.stderr
    # the clock time of the accepted run is shown in Asia/Shanghai, with its offset
    assert "already has an accepted run" in done.stderr and "made 2024-06-01T09:02:03+08:00" in done.stderr


def test_a_refused_rerun_changes_nothing_whatever_the_county_is_called(workdir: Path) -> None:
    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0
    manifest = (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_bytes()
    for county in ("JiaXiang", "嘉祥县", "370829"):
        again = _run("run", "2024-05", "--county", county)
        assert again.exit_code == 5 and "already has an accepted run" in again.stderr
        assert "+08:00" in again.stderr and "+00:00" not in again.stderr
    assert (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_bytes() == manifest


def test_json_of_a_run_is_one_object_on_stdout(workdir: Path) -> None:
    import json

    result = _run("run", "2024-05", "--county", "jiaxiang", "--json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)  # the whole of stdout is the one object
    manifest = json.loads((workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_text("utf-8"))
    assert answer["run_dir"] == str(Path("runs") / "jiaxiang" / "2024-05")
    assert answer["run_id"] == manifest["run_id"]
    assert (answer["county"], answer["period"]) == ("jiaxiang", "2024-05")
    assert answer["totals"] == manifest["totals"]
    assert "reading 2024-05.csv…" in result.stderr  # progress stays on stderr


@pytest.mark.parametrize(
    ("args", "code", "name"),
    [
        (["run", "2024-13", "--county", "jiaxiang"], 2, "usage"),
        (["run", "2024-06", "--county", "jiaxiang"], 3, "roster"),
        (["run", "2024-05", "--county", "nowhere"], 4, "config"),
        (["run", "2023-07", "--county", "jiaxiang"], 6, "no_rule_in_force"),
        (["check-config", "--county", "nowhere"], 4, "config"),
        (["verify", "empty"], 9, "verify"),
    ],
)
def test_json_of_an_error_names_it_with_the_exit_code_and_the_sentence(
    workdir: Path, args: list[str], code: int, name: str
) -> None:
    import json

    (workdir / "empty").mkdir()
    result = _run(*args, "--json")
    assert result.exit_code == code
    answer = json.loads(result.stdout)
    assert answer == {"error": name, "exit_code": code, "message": answer["message"]}
    assert result.stderr == f"error: {answer['message']}\n"


def test_json_of_a_second_run_is_run_exists(workdir: Path) -> None:
    import json

    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0
    result = _run("run", "2024-05", "--county", "jiaxiang", "--json")
    assert result.exit_code == 5
    assert json.loads(result.stdout)["error"] == "run_exists"


def test_json_of_check_config_and_verify(workdir: Path) -> None:
    import json

    listed = _run("check-config", "--county", "youyi", "--json")
    assert listed.exit_code == 0, listed.output
    config = json.loads(listed.stdout)
    assert (config["county"], config["division_code"]) == ("youyi", "230522")
    assert "counties/youyi.yaml#high_age_allowance/province_90_plus" in [r["rule"] for r in config["rules"]]
    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0
    checked = _run("verify", "runs", "--json")
    assert checked.exit_code == 0, checked.output
    (run,) = json.loads(checked.stdout)["runs"]
    assert run["identical"] is True and run["run_dir"] == str(Path("runs") / "jiaxiang" / "2024-05")


def test_an_unexpected_error_with_json_is_an_internal_error_object(workdir: Path) -> None:
    import json

    done = _python(
        "import sys; sys.argv=['subsidy','run','2024-05','--county','jiaxiang','--json'];"
        "import subsidy_batch.runs.monthly as p; p.run_month=lambda *a, **k: 1/0; import subsidy_batch.cli as c;"
        "c.main()",
        cwd=workdir,
    )
    assert done.returncode == 70
    assert json.loads(done.stdout)["error"] == "internal" and "Traceback" not in done.stderr


def test_outside_the_checkout_the_error_says_where_config_was_looked_for(tmp_path: Path) -> None:
    from tests.helpers import ROOT

    def subsidy(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "subsidy_batch", *args]
        return subprocess.run(command, capture_output=True, text=True, check=False, cwd=tmp_path)

    for args in (["run", "2024-05", "--county", "jiaxiang"], ["check-config", "--county", "jiaxiang"]):
        lost = subsidy(*args)
        assert lost.returncode == 4
        assert str(tmp_path / "config" / "counties") in lost.stderr and "--config-dir" in lost.stderr
        assert "from the project folder" in lost.stderr and lost.stderr.count("\n") == 1
    config = str(ROOT / "config")
    no_rosters = subsidy("run", "2024-05", "--county", "jiaxiang", "--config-dir", config)
    assert no_rosters.returncode == 3
    assert (
        str(tmp_path / "rosters" / "jiaxiang") in no_rosters.stderr and "--rosters-dir" in no_rosters.stderr
    )
    found = subsidy(
        "run",
        "2024-05",
        "--county",
        "jiaxiang",
        "--config-dir",
        config,
        "--rosters-dir",
        str(ROOT / "rosters"),
        "--quiet",
    )
    assert found.returncode == 0, found.stderr
    assert (tmp_path / "runs" / "jiaxiang" / "2024-05" / "manifest.json").is_file()


def test_progress_off_a_terminal_is_plain_lines(workdir: Path) -> None:
    result = _run("run", "2024-05", "--county", "jiaxiang")
    lines = result.stderr.splitlines()
    assert lines[0] == "reading 2024-05.csv…" and "\x1b" not in result.stderr
    assert "computing entitlements…" in lines


def test_progress_on_a_terminal_shows_each_stage_with_its_time(monkeypatch: pytest.MonkeyPatch) -> None:
    import io

    from subsidy_batch import cli

    screen = io.StringIO()
    monkeypatch.setattr(cli.sys, "stderr", screen)
    monkeypatch.setattr(screen, "isatty", lambda: True, raising=False)
    monkeypatch.setenv("TERM", "xterm")
    with cli._progress(False) as progress:
        assert isinstance(progress, cli._LiveProgress)
        progress("reading 2024-05.csv…")
        progress("found the header below 2 title row(s)")
        progress("checking 400 rows…")
    shown = screen.getvalue()
    assert "reading 2024-05.csv" in shown and "checking 400 rows" in shown and " s" in shown
    assert "found the header below 2 title row(s)" in shown
    with cli._progress(True) as quiet:
        assert isinstance(quiet, cli._NoProgress)


def test_times_for_people_are_shanghai_local_with_offset() -> None:
    from subsidy_batch.cli import local_time

    assert local_time("2024-06-01T16:30:00+00:00") == "2024-06-02T00:30:00+08:00"
    assert local_time("2024-06-01T16:30:00Z") == "2024-06-02T00:30:00+08:00"
    assert local_time("2024-06-02T00:30:00+08:00") == "2024-06-02T00:30:00+08:00"
