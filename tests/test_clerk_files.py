"""Files real clerks made: accounts typed as numbers, old-Mac line ends, empty rosters, another county's
roster, control characters and absurd lengths. Each is run through the command line as a clerk would."""

from __future__ import annotations

import json
import zipfile
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter
from typer.testing import CliRunner, Result

from subsidy_batch.cli import app
from subsidy_batch.period import Period
from subsidy_batch.roster import read
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.verify import verify_run
from tests.helpers import ROOT, make_id, person

runner = CliRunner()
ZH = {spec.name: spec.zh for spec in load_schema().columns.values()}
COLUMNS = list(ZH)
TEXT_ACCOUNT = "6228480012345678"


def _run(*args: str):
    return runner.invoke(app, list(args))


def _dibao(account: str | None = None, **kw: str) -> dict[str, str]:
    """Born 1940-03-01, 低保, Jiaxiang: in 2024-05 aged 84, so low_income_living 100 yuan (Shandong
    dibao_80_89) is paid, and high_age_allowance is held (standard_not_set). An account of the person's
    own unless one is given (one name and account under two IDs is held: duplicate_payee)."""
    return person("1940-03-01", income="dibao", account=account, **kw)


def _csv_text(rows: list[dict[str, str]], line_end: str = "\r\n") -> str:
    header = ",".join(ZH[c] for c in COLUMNS)
    return line_end.join([header] + [",".join(r[c] for c in COLUMNS) for r in rows]) + line_end


def _run_roster(workdir: Path, path: Path, *extra: str):
    return _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(path), "--quiet", *extra)


def _run_dir(workdir: Path) -> Path:
    return workdir / "runs" / "jiaxiang" / "2024-05"


def _items(workdir: Path) -> dict[tuple[str, str], tuple[str, str | None, Decimal | None]]:
    frame = pl.read_parquet(_run_dir(workdir) / "line_items.parquet")
    return {
        (r["id_number"], r["benefit"]): (r["status"], r["hold_reason"], r["amount"])
        for r in frame.iter_rows(named=True)
    }


def _manifest(workdir: Path) -> dict:
    return json.loads((_run_dir(workdir) / "manifest.json").read_text(encoding="utf-8"))


# 1. bank accounts typed as numbers ---------------------------------------------------------------


def test_xlsx_account_number_cells_are_held_never_paid(workdir: Path) -> None:
    text, exact, long = _dibao(account=TEXT_ACCOUNT), _dibao(), _dibao()
    path = workdir / "花名册.xlsx"
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, [ZH[c] for c in COLUMNS])
    for r, row in enumerate([text, exact, long], start=1):
        for c, col in enumerate(COLUMNS):
            if row[col]:
                sheet.write_string(r, c, row[col])
    account = COLUMNS.index("bank_account")
    sheet.write_number(2, account, 6228480012345678)  # 16 digits: a double holds it, but it is a number cell
    sheet.write_number(3, account, 6228480012345678901)  # 19 digits: stored as 6228480012345678848
    book.close()
    result = _run_roster(workdir, path)
    assert result.exit_code == 0, result.output
    items = _items(workdir)
    assert items[(text["id_number"], "low_income_living")] == ("paid", None, Decimal("100.00"))
    for row in (exact, long):
        assert items[(row["id_number"], "low_income_living")] == (
            "held",
            "account_stored_as_number",
            Decimal("100.00"),
        )
        # standard_not_set comes first: the allowance has no amount either way
        assert items[(row["id_number"], "high_age_allowance")] == ("held", "standard_not_set", None)
    pays = pl.read_parquet(_run_dir(workdir) / "payments.parquet")
    assert pays.get_column("id_number").to_list() == [text["id_number"]]
    totals = _manifest(workdir)["totals"]
    # paid: 1 person x 100.00; held: 2 low_income_living (numbers) + 3 high_age_allowance (not set)
    assert totals["paid_amount"] == "100.00"
    assert totals["held_items_by_reason"] == {
        "standard_not_set": 3,
        "no_bank_account": 0,
        "account_stored_as_number": 2,
        "bank_returned": 0,  # no bank has answered
        "account_refused": 0,
        "paid_under_other_id": 0,
        "duplicate_payee": 0,
    }
    # the amounts held: 2 x 100.00 stored as numbers; the allowance's standard is not set, so no amount
    assert totals["held_amount_by_reason"]["account_stored_as_number"] == "200.00"
    assert totals["held_amount_by_reason"]["standard_not_set"] is None
    assert totals["held_amount_by_reason"]["no_bank_account"] == "0.00"
    assert "held amount     standard_not_set not set, account_stored_as_number 200.00 yuan" in result.stdout
    assert "store accounts as text" in result.stdout
    bank_text = "".join(p.read_text(encoding="gb18030") for p in (_run_dir(workdir) / "bank").glob("*.csv"))
    assert "6228480012345678848" not in bank_text and bank_text.count(TEXT_ACCOUNT) == 1


@pytest.mark.parametrize("given", ["6.22848E+18", "6228480012345678000", "6228480012345678.0", "6.22848e18"])
def test_csv_accounts_in_excel_number_notation_are_held(workdir: Path, given: str) -> None:
    good, bad = _dibao(), _dibao(account=given)
    path = workdir / "r.csv"
    path.write_text(_csv_text([good, bad]), encoding="utf-8")
    result = _run_roster(workdir, path)
    assert result.exit_code == 0, result.output
    items = _items(workdir)
    assert items[(good["id_number"], "low_income_living")] == ("paid", None, Decimal("100.00"))
    assert items[(bad["id_number"], "low_income_living")] == (
        "held",
        "account_stored_as_number",
        Decimal("100.00"),
    )
    assert _manifest(workdir)["totals"]["held_items_by_reason"]["account_stored_as_number"] == 1
    assert given not in (_run_dir(workdir) / "manifest.json").read_text(encoding="utf-8")


def test_a_19_digit_text_account_that_excel_did_not_touch_is_paid(workdir: Path) -> None:
    # 6228480012345678901 is not a float64 value (the nearest is ...848) and does not end in 000
    row = _dibao(account="6228480012345678901")
    path = workdir / "r.csv"
    path.write_text(_csv_text([row]), encoding="utf-8")
    assert _run_roster(workdir, path).exit_code == 0
    assert _items(workdir)[(row["id_number"], "low_income_living")] == ("paid", None, Decimal("100.00"))


def test_parquet_with_a_numeric_account_column_holds_every_account(workdir: Path) -> None:
    rows = [_dibao(), _dibao()]
    frame = pl.DataFrame(rows).rename(ZH).with_columns(pl.col("银行账号").cast(pl.Int64))
    path = workdir / "r.parquet"
    frame.write_parquet(path)
    assert _run_roster(workdir, path).exit_code == 0
    items = _items(workdir)
    for row in rows:
        assert items[(row["id_number"], "low_income_living")] == (
            "held",
            "account_stored_as_number",
            Decimal("100.00"),
        )
    assert not (_run_dir(workdir) / "bank").exists() or not list((_run_dir(workdir) / "bank").glob("*.csv"))
    assert _manifest(workdir)["totals"]["paid_amount"] == "0.00"


# 2. old-Mac line ends, and headers that are data -------------------------------------------------


def test_a_csv_with_cr_only_line_ends_is_read_row_by_row(workdir: Path) -> None:
    rows = [_dibao(name="张秀英"), _dibao(name="李桂兰")]
    path = workdir / "mac.csv"
    path.write_bytes(_csv_text(rows, line_end="\r").encode("gb18030"))
    result = _run_roster(workdir, path)
    assert result.exit_code == 0, result.output
    assert "people read     2" in result.stdout
    # 2 people x 100.00 (dibao_80_89)
    assert "total paid      200.00 yuan in 2 items" in result.stdout
    assert _manifest(workdir)["inputs"][0]["ignored_columns"] == []


def test_ignored_headers_that_look_like_ids_or_accounts_are_masked_everywhere(workdir: Path) -> None:
    row = _dibao()
    stray_id, stray_account = "370829194001011234", "6228480099998888"
    lines = _csv_text([row]).split("\r\n")
    lines[0] += f",{stray_id},{stray_account}"
    lines[1] += ",x,y"
    path = workdir / "r.csv"
    path.write_text("\r\n".join(lines), encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(path))
    assert result.exit_code == 0, result.output
    assert _manifest(workdir)["inputs"][0]["ignored_columns"] == ["370829********1234", "622848********8888"]
    audit = (_run_dir(workdir) / "audit.jsonl").read_text(encoding="utf-8")
    assert "370829********1234" in audit
    for text in (
        result.stderr,
        result.stdout,
        audit,
        (_run_dir(workdir) / "manifest.json").read_text("utf-8"),
    ):
        assert stray_id not in text and stray_account not in text


# 3. empty rosters ---------------------------------------------------------------------------------


def _header_only(workdir: Path, suffix: str) -> Path:
    path = workdir / f"empty{suffix}"
    if suffix == ".csv":
        path.write_text(",".join(ZH[c] for c in COLUMNS) + "\r\n", encoding="utf-8")
    elif suffix == ".parquet":
        pl.DataFrame(schema={ZH[c]: pl.String for c in COLUMNS}).write_parquet(path)
    else:
        book = xlsxwriter.Workbook(path)
        book.add_worksheet().write_row(0, 0, [ZH[c] for c in COLUMNS])
        book.close()
    return path


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_a_header_only_roster_is_refused_before_any_run_folder(workdir: Path, suffix: str) -> None:
    path = _header_only(workdir, suffix)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(path))
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: roster empty{suffix} has no data rows (only a header), so there is nothing to pay; "
        "export the roster again with its rows and run again\n"
    )
    assert not (workdir / "runs" / "jiaxiang").exists()
    # the month is not locked: the real roster runs afterwards
    assert _run("run", "2024-05", "--county", "jiaxiang", "--quiet").exit_code == 0


def test_a_big_empty_roster_is_refused_by_the_run_itself(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(read, "SMALL_FILE", 0)  # as if the file were too big to read ahead
    result = _run_roster(workdir, _header_only(workdir, ".csv"))
    assert result.exit_code == 3
    assert "has no data rows (only a header)" in result.stderr
    assert not _run_dir(workdir).exists()
    assert [p.name for p in (workdir / "runs" / "jiaxiang").iterdir()] == []


def test_a_roster_whose_every_row_is_rejected_still_runs(workdir: Path) -> None:
    rows = [_dibao() | {"id_number": "3.70829E+17"}, _dibao() | {"id_number": "12345"}]
    path = workdir / "r.csv"
    path.write_text(_csv_text(rows), encoding="utf-8")
    result = _run_roster(workdir, path)
    assert result.exit_code == 0, result.output
    assert "people read     2" in result.stdout and "rejected rows   2" in result.stdout
    assert "total paid      0.00 yuan in 0 items" in result.stdout


# 4. another county's roster -------------------------------------------------------------------------


def test_yanzhous_roster_under_jiaxiang_is_refused_naming_yanzhou(workdir: Path) -> None:
    roster = ROOT / "rosters" / "yanzhou" / "2024-05.xlsx"
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 3
    # 2990 rows accepted, 53 of them with 370829: 53 / 2990 = 1.77% -> 1.8%, below 0.5
    assert result.stderr == (
        "error: roster 2024-05.xlsx looks like another county's: only 53 of its 2990 accepted rows (1.8%) "
        "have 嘉祥县's 户籍 code 370829, below min_home_hukou_share 0.5, and the most common code is "
        "370812 (兖州区 (yanzhou)); check --county and --roster, or pass --accept-foreign-roster to pay "
        "this roster for jiaxiang deliberately\n"
    )
    assert not _run_dir(workdir).exists()


def test_accept_foreign_roster_pays_it_records_it_and_verifies(workdir: Path) -> None:
    roster = ROOT / "rosters" / "yanzhou" / "2024-05.xlsx"
    result = _run(
        "run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--accept-foreign-roster"
    )
    assert result.exit_code == 0, result.output
    assert _manifest(workdir)["arguments"]["accept_foreign_roster"] is True
    verdict = verify_run(_run_dir(workdir))
    assert verdict.identical, verdict.differing


@pytest.mark.parametrize("county", ["jiaxiang", "yanzhou", "youyi", "anqiu", "caoxian"])
def test_every_sample_roster_runs_for_its_own_county(tmp_path: Path, county: str) -> None:
    request = RunRequest(
        Period(2024, 5), county, runs_dir=tmp_path, config_dir=ROOT / "config", rosters_dir=ROOT / "rosters"
    )
    manifest = run_month(request).manifest
    assert "accept_foreign_roster" not in manifest["arguments"]


def _set_share(workdir: Path, line: str) -> None:
    path = workdir / "config" / "counties" / "jiaxiang.yaml"
    path.write_text(path.read_text(encoding="utf-8") + line + "\n", encoding="utf-8")


def test_the_threshold_is_county_config(workdir: Path) -> None:
    # the workdir roster: 400 synthetic Jiaxiang people plus broken rows; a share of 1 refuses it
    _set_share(workdir, 'min_home_hukou_share: "1"')
    result = _run("run", "2024-05", "--county", "jiaxiang")
    assert result.exit_code == 3 and "below min_home_hukou_share 1" in result.stderr


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ('"1.5"', 'must be a quoted decimal from 0 to 1, e.g. "0.5" (found 1.5)'),
        ('"-0.1"', 'must be a quoted decimal from 0 to 1, e.g. "0.5" (found -0.1)'),
        ("0.5", 'expected a number written as quoted text like "0.80", found the number 0.5'),
        ('"half"', "'half' is not a number"),
        ('"NaN"', "'NaN' is not a number"),
    ],
)
def test_an_invalid_threshold_is_a_config_error_naming_file_and_key(
    workdir: Path, value: str, why: str
) -> None:
    _set_share(workdir, f"min_home_hukou_share: {value}")
    result = _run("run", "2024-05", "--county", "jiaxiang")
    assert result.exit_code == 4
    assert f"jiaxiang.yaml: min_home_hukou_share: {why}" in result.stderr


# 5. control characters and absurd lengths ---------------------------------------------------------


def _run_rows(workdir: Path, rows: list[dict[str, str]]) -> tuple[Result, pl.DataFrame]:
    """Run 2024-05 on these rows, written as Parquet (which carries every character exactly as a clerk's
    tool wrote it): the result and rejected.parquet."""
    path = workdir / "r.parquet"
    pl.DataFrame(rows).rename(ZH).write_parquet(path)
    result = _run_roster(workdir, path)
    assert result.exit_code == 0, result.output
    return result, pl.read_parquet(_run_dir(workdir) / "rejected.parquet")


def test_control_characters_and_absurd_lengths_reject_the_row(workdir: Path) -> None:
    good = _dibao(name="张秀英")
    long_name = _dibao(name="王" * 100_000)
    nul_name = _dibao(name="张\x00三")
    split_bank = _dibao(bank="中国农业\r\n银行")
    long_township = _dibao() | {"township": "纸" * 51}
    tab_account = _dibao(account="62284800\t12345678")
    just_fits = _dibao(name="李" * 50)
    rows = [good, long_name, nul_name, split_bank, long_township, tab_account, just_fits]
    result, rejected = _run_rows(workdir, rows)
    assert rejected.select("row", "column", "problem").rows() == [
        (2, "name", "too_long"),
        (3, "name", "control_character"),
        (4, "bank_name", "control_character"),
        (5, "township", "too_long"),
        # tab_account (row 6): a tab is whitespace, which the account's remove_spaces takes out: paid
    ]
    messages = rejected.get_column("message").to_list()
    assert messages[0] == (
        "姓名 is longer than 50 characters; check that the cell holds only this value. (found: "
        + "王" * 60
        + "…)"
    )
    assert messages[1] == (
        "姓名 contains a control character (a line break, tab or NUL byte); retype the cell as plain "
        "text. (found: 张\ufffd三)"
    )
    assert messages[2].endswith("(found: 中国农业\ufffd\ufffd银行)")
    # paid: good, tab_account and just_fits, 100.00 each (dibao_80_89) = 300.00
    assert "total paid      300.00 yuan in 3 items" in result.stdout
    bank_files = sorted(p.name for p in (_run_dir(workdir) / "bank").glob("*.csv"))
    assert bank_files == ["bank_01_中国农业银行.csv"]
    raw = (_run_dir(workdir) / "bank" / bank_files[0]).read_bytes()
    assert b"\x00" not in raw and raw.count(b"\r\n") == 4  # the control record and 3 payees


def test_an_account_with_a_nul_byte_or_absurd_length_rejects_the_row(workdir: Path) -> None:
    rows = [_dibao(account="6228480012\x00345678"), _dibao(account="6" * 41), _dibao(account="6" * 40)]
    path = workdir / "r.parquet"
    pl.DataFrame(rows).rename(ZH).write_parquet(path)
    assert _run_roster(workdir, path).exit_code == 0
    rejected = pl.read_parquet(_run_dir(workdir) / "rejected.parquet")
    assert rejected.select("row", "column", "problem").rows() == [
        (1, "bank_account", "control_character"),
        (2, "bank_account", "too_long"),
    ]
    # masked as always, and the NUL byte shown as U+FFFD, never written
    assert rejected.get_column("message").to_list()[0].endswith("(found: 622848********5678)")
    # 40 digits is malformed for a bank (8-30 digits) but not absurd: held, as before
    items = _items(workdir)
    assert items[(rows[2]["id_number"], "low_income_living")] == (
        "held",
        "no_bank_account",
        Decimal("100.00"),
    )


def _text_of(path: Path) -> str:
    """Every character a file holds, as a reader sees it: Parquet cells, a workbook's XML, else the bytes."""
    if path.suffix == ".parquet":
        frame = pl.read_parquet(path)
        return "\n".join(str(v) for column in frame.get_columns() for v in column.to_list())
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "\n".join(book.read(n).decode("utf-8") for n in book.namelist())
    return path.read_bytes().decode("utf-8", errors="replace")


def test_an_id_number_typed_into_the_township_rejects_the_row_and_never_reaches_the_public_list(
    workdir: Path,
) -> None:
    """The township names the 公示 list and its file, which are posted: a run of 12 or more digits (an ID
    or an account pasted into the cell) rejects the row, and the message masks it like masking.scrub."""
    leaked = make_id("1952-09-21")
    rows = [
        _dibao() | {"township": "纸坊镇"},
        _dibao() | {"township": f"纸坊镇 {leaked}"},
        _dibao() | {"township": "第123456789012村"},  # 12 digits: the shortest run scrub masks
        _dibao() | {"township": "第12345678901村"},  # 11 digits: a long number, but no ID or account
    ]
    result, rejected = _run_rows(workdir, rows)
    assert rejected.select("row", "column", "problem").rows() == [
        (2, "township", "digits_in_text"),
        (3, "township", "digits_in_text"),
    ]
    assert rejected.get_column("message")[0].endswith(f"(found: 纸坊镇 {leaked[:6]}********{leaked[-4:]})")
    # rows 1 and 4 paid, 100.00 each (dibao_80_89)
    assert "total paid      200.00 yuan in 2 items" in result.stdout
    gongshi = sorted(p.name for p in (_run_dir(workdir) / "gongshi").iterdir())
    assert gongshi == ["第12345678901村.html", "第12345678901村.xlsx", "纸坊镇.html", "纸坊镇.xlsx"]
    for made in _run_dir(workdir).rglob("*"):  # only the run's copy of the roster holds the ID
        if made.is_file() and "input" not in made.relative_to(_run_dir(workdir)).parts:
            assert leaked not in _text_of(made), made


def test_pandera_over_every_row_agrees_with_the_one_pass_check_on_the_new_kinds() -> None:
    import pandera.errors

    from subsidy_batch.roster.read import ROW
    from subsidy_batch.roster.schema import normalise_frame, pandera_schema, with_checks
    from subsidy_batch.roster.validate import check_rows
    from tests.helpers import raw_roster

    schema = load_schema()
    rows = [_dibao(), _dibao(name="x" * 51), _dibao(bank="a\nb"), _dibao(account="1\x002"), _dibao()]
    raw = raw_roster(rows)
    checked = check_rows(raw, schema, "2024-05", "jiaxiang", key="id_number")
    everything = with_checks(normalise_frame(raw.frame, schema), schema)
    with pytest.raises(pandera.errors.SchemaErrors) as exc:
        pandera_schema(schema).validate(everything.drop(ROW), lazy=True)
    cases = pl.DataFrame(exc.value.failure_cases).select(
        (pl.col("index").cast(pl.Int64) + 1).alias("row"), "column", pl.col("check").alias("problem")
    )
    expected = [
        (2, "name", "too_long"),
        (3, "bank_name", "control_character"),
        (4, "bank_account", "control_character"),
    ]
    assert sorted(cases.unique().rows()) == expected
    assert sorted(checked.rejected.select("row", "column", "problem").rows()) == expected


@pytest.mark.parametrize(
    ("check", "error"),
    [
        ({"kind": "max_length"}, "'limit' (a whole number above 0) is needed by max_length"),
        ({"kind": "max_length", "limit": 0}, "limit: 0 is outside 1-…"),
        (
            {"kind": "max_length", "limit": "50"},
            "limit: expected a whole number (unquoted, e.g. 60), found text '50'",
        ),
        ({"kind": "not_empty", "limit": 5}, "and only by it"),
    ],
)
def test_a_max_length_without_a_whole_limit_is_a_schema_error(
    tmp_path: Path, check: dict, error: str
) -> None:
    import yaml

    from subsidy_batch.errors import ConfigError

    raw = yaml.safe_load((ROOT / "schemas" / "roster.yaml").read_text(encoding="utf-8"))
    raw["columns"]["name"]["checks"].append(check | {"problem": "p", "message": "m"})
    (tmp_path / "roster.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"columns\.name\.checks\[3\]") as err:
        load_schema(schema_dir=tmp_path)
    assert error in str(err.value)


def test_facility_accounts_stored_as_numbers_are_held_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copytree(ROOT / "config", tmp_path / "config")
    monkeypatch.chdir(tmp_path)
    sample = pl.read_csv(ROOT / "rosters" / "anqiu" / "facilities-2024.csv", infer_schema=False)
    path = tmp_path / "facilities.parquet"
    sample.with_columns(pl.col("银行账号").cast(pl.Int64, strict=False)).write_parquet(path)  # "" -> null
    result = runner.invoke(
        app, ["run-facilities", "2024", "--county", "anqiu", "--roster", str(path), "--quiet"]
    )
    assert result.exit_code == 0, result.output
    manifest = json.loads(
        (tmp_path / "runs" / "anqiu" / "facilities-2024" / "manifest.json").read_text("utf-8")
    )
    # the 6 canteens the sample pays (155,833.33 yuan) are held; the 5 items without a factor stay
    # standard_not_set (the first reason wins)
    assert manifest["totals"]["paid_amount"] == "0.00"
    assert manifest["totals"]["held_items_by_reason"] == {
        "standard_not_set": 5,
        "no_bank_account": 0,
        "account_stored_as_number": 6,
        "bank_returned": 0,  # no bank has answered
        "account_refused": 0,
        "paid_under_other_id": 0,
        "duplicate_payee": 0,
    }


# --- header variants a clerk writes, and a column given twice ----------------------------------------


def _header_roster(path: Path, headers: list[str]) -> None:
    from tests.helpers import person

    row = person("1940-03-01", income="dibao", bank="中国农业银行嘉祥县支行")
    values = [
        row["id_number"],
        row["name"],
        row["hukou_code"],
        row["township"],
        "农村",
        "低保",
        row["bank_name"],
        row["bank_account"],
    ]
    lines = [",".join(f'"{h}"' for h in headers), ",".join(values)]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")


@pytest.mark.parametrize(
    "headers",
    [
        ["身份证号码", "姓　名", "户籍地", "乡镇(街道)", "城乡类别", "经济状况", "开户行", "银行卡号"],
        [
            "公民身份证号码",
            " 姓名 ",
            "户籍地区划代码",
            "乡镇（街道）",
            "城乡\n类别",
            "经济 状况",
            "开户银行",
            "银行账号",
        ],
        ["身份证号", "NAME", "Hukou_Code", "乡镇", "residence", "income_status", "bank_name", "账号"],
    ],
)
def test_header_variants_find_their_columns(workdir: Path, headers: list[str]) -> None:
    roster = workdir / "variants.csv"
    _header_roster(roster, headers)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 0, result.output
    # one 低保 elder aged 84 (born 1940-03) in Jiaxiang: 100.00 living subsidy, paid; high-age allowance held
    assert "total paid      100.00 yuan in 1 items" in result.stdout
    manifest = (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_text(encoding="utf-8")
    assert '"ignored_columns": []' in manifest


def test_a_column_given_twice_is_refused_as_ambiguous(workdir: Path) -> None:
    roster = workdir / "twice.csv"
    _header_roster(
        roster,
        [
            "身份证号码",
            "姓名",
            "户籍地区划代码",
            "乡镇（街道）",
            "城乡类别",
            "经济状况",
            "开户银行",
            "开户行",
        ],
    )
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: roster twice.csv has two columns for bank_name (开户银行): column G '开户银行' and column H "
        "'开户行'; it is not clear which to use, so keep one and run again\n"
    )
    assert not (workdir / "runs" / "jiaxiang" / "2024-05").exists()


def test_the_same_header_twice_is_refused_too(workdir: Path) -> None:
    roster = workdir / "same.csv"
    _header_roster(
        roster,
        ["身份证号码", "姓名", "户籍地区划代码", "乡镇（街道）", "城乡类别", "经济状况", "姓名", "银行账号"],
    )
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    # as the clerk wrote them, by column letter (polars' own name for the second is 姓名_duplicated_0)
    assert result.exit_code == 3 and result.stderr == (
        "error: roster same.csv has two columns for name (姓名): column B '姓名' and column G '姓名'; it is "
        "not clear which to use, so keep one and run again\n"
    )


def test_a_csv_row_with_more_cells_than_the_header_is_named_by_its_line(workdir: Path) -> None:
    header = "身份证号码,姓名,户籍地区划代码,乡镇（街道）,城乡类别,经济状况,银行账号"
    row = "370829194001010010,张三,370829,纸坊镇,农村,低保,6228480012345678"
    (workdir / "ragged.csv").write_text(f"{header}\n{row}\n{row},多余\n", encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", "ragged.csv", "--quiet")
    assert result.exit_code == 3 and result.stderr == (
        "error: cannot read roster ragged.csv: line 3 has 8 cells, the header 7 (a cell holding the separator "
        "',' without quotes, or cells typed right of the last column); fix that line in Excel or WPS, save it "
        "again as CSV UTF-8 and run again\n"
    )


@pytest.mark.parametrize(
    ("content", "said"),
    [
        (b"a,b\n1,2\n", "the file is text (a CSV export) under a .parquet name, not a Parquet file; give it its own extension (.xlsx, .xls or .csv) and run again"),
        (b"PK\x03\x04rest", "the file is a workbook (.xlsx or .xls) under a .parquet name, not a Parquet file; give it its own extension (.xlsx, .xls or .csv) and run again"),
        (b"PAR1\x00\x00cut", "the Parquet file is incomplete (its end is missing, as when a copy or a download is cut off); copy or export it again and run again"),
        (b"", "the file is empty (0 bytes); export it again and run again"),
    ],
)  # fmt: skip
def test_a_file_under_a_parquet_name_that_is_not_one_is_said_in_a_clerks_words(
    workdir: Path, content: bytes, said: str
) -> None:
    (workdir / "roster.parquet").write_bytes(content)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", "roster.parquet", "--quiet")
    assert (result.exit_code, result.stderr) == (3, f"error: cannot read roster roster.parquet: {said}\n")


def test_a_bad_byte_of_a_utf8_roster_with_a_bom_is_placed_in_the_file_as_it_is(workdir: Path) -> None:
    header = "身份证号码,姓名,户籍地区划代码,乡镇（街道）,城乡类别,经济状况,银行账号\n".encode()
    bad = b"370829194001010010,\xff,370829\n"  # \xff is never UTF-8, and not GB18030 before a comma
    (workdir / "bom.csv").write_bytes(b"\xef\xbb\xbf" + header + bad)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", "bom.csv", "--quiet")
    offset = 3 + len(header) + len(b"370829194001010010,")  # the BOM, the header line, the first cell
    assert (result.exit_code, result.stderr) == (
        3,
        f"error: cannot read bom.csv: it is neither UTF-8 nor GB18030 (read as UTF-8, byte {offset} on line 2 "
        "is bad); save it from Excel as 'CSV UTF-8' and run again\n",
    )


def test_blank_rows_and_total_rows_are_set_aside_counted_and_rows_keep_their_numbers(workdir: Path) -> None:
    from tests.helpers import person

    good = person("1940-03-01", income="dibao", bank="中国农业银行嘉祥县支行")
    bad = person("1950-03-01") | {"income_status": "低保户"}  # an unknown 经济状况 value
    headers = [
        "公民身份号码",
        "姓名",
        "户籍地区划代码",
        "乡镇（街道）",
        "城乡类别",
        "经济状况",
        "开户银行",
        "银行账号",
    ]

    def line(p: dict[str, str]) -> str:
        return ",".join(
            [
                p["id_number"],
                p["name"],
                p["hukou_code"],
                p["township"],
                "农村",
                p["income_status"],
                p["bank_name"],
                p["bank_account"],
            ]
        )

    lines = [",".join(headers), line(good), ",,,,,,,", line(bad), "合计,2人,,,,,,", ",,,,,,,", ""]
    roster = workdir / "blanks.csv"
    roster.write_text("\r\n".join(lines), encoding="utf-8")
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster))
    assert result.exit_code == 0, result.output
    assert "set aside 2 blank row(s) and 1 合计/小计 row(s)" in result.stderr
    assert "people read     2" in result.stdout and "rejected rows   1" in result.stdout
    run_dir = workdir / "runs" / "jiaxiang" / "2024-05"
    rejected = pl.read_parquet(run_dir / "rejected.parquet")
    # the bad person is the 3rd data row in the file (the blank row above it still counts)
    assert rejected.select("row", "problem").rows() == [(3, "invalid_value")]
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["inputs"][0]["skipped_rows"] == {"title_rows": 0, "blank_rows": 2, "total_rows": 1}


# --- Excel's other exports, and values typed to stay text -----------------------------------------------

_HEADERS = [
    "公民身份号码",
    "姓名",
    "户籍地区划代码",
    "乡镇（街道）",
    "城乡类别",
    "经济状况",
    "死亡日期",
    "开户银行",
    "银行账号",
]


def _rows(**change: str) -> list[list[str]]:
    from tests.helpers import person

    p = person("1940-03-01", income="dibao", bank="中国农业银行嘉祥县支行")
    row = [
        p["id_number"],
        p["name"],
        p["hukou_code"],
        p["township"],
        "农村",
        "低保",
        "",
        p["bank_name"],
        p["bank_account"],
    ]
    for key, value in change.items():
        row[_HEADERS.index(key)] = value.format(id=p["id_number"], account=p["bank_account"])
    return [_HEADERS, row]


def _paid(workdir: Path, roster: Path) -> str:
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize(("separator", "encoding"), [("\t", "utf-16"), (";", "utf-8"), ("\t", "utf-8-sig")])
def test_tab_and_semicolon_separated_and_utf16_text_are_read(
    workdir: Path, separator: str, encoding: str
) -> None:
    roster = workdir / "unicode.csv"
    text = "\r\n".join(separator.join(r) for r in _rows()) + "\r\n"
    roster.write_bytes(text.encode(encoding))  # Python's utf-16 writes the BOM Excel writes
    # one 低保 elder aged 84 (born 1940-03): 100.00 living subsidy
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)


@pytest.mark.parametrize(
    "id_text",
    ["'{id}", '="{id}"', "\u200b{id}", "{id}\u200b", "\ufeff'{id}"],
)
def test_ids_typed_to_stay_text_are_read_as_the_id(workdir: Path, id_text: str) -> None:
    roster = workdir / "quoted.csv"
    rows = _rows(公民身份号码=id_text, 银行账号="'{account}")
    pl.DataFrame([rows[1]], schema=rows[0], orient="row").write_csv(roster)
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)
    payments = pl.read_parquet(workdir / "runs" / "jiaxiang" / "2024-05" / "payments.parquet")
    assert payments.get_column("id_number").str.len_chars().to_list() == [18]
    assert not payments.get_column("bank_account").str.starts_with("'").any()


@pytest.mark.parametrize("death", ["2024年4月30日", "2024.4.30", "2024-04-30 08:15:00", "2024/4/30 0:00"])
def test_death_dates_as_clerks_write_them(workdir: Path, death: str) -> None:
    # died in April 2024: nothing is paid for May (次月停发)
    roster = workdir / "dates.csv"
    rows = _rows(死亡日期=death)
    pl.DataFrame([rows[1]], schema=rows[0], orient="row").write_csv(roster)
    out = _paid(workdir, roster)
    assert "rejected rows   0" in out and "total paid      0.00 yuan in 0 items" in out


def test_a_death_on_the_first_of_the_month_written_in_chinese_is_paid_that_month(workdir: Path) -> None:
    roster = workdir / "first.csv"
    rows = _rows(死亡日期="2024年5月1日")
    pl.DataFrame([rows[1]], schema=rows[0], orient="row").write_csv(roster)
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)  # the month of death is paid


def _ods(path: Path, rows: list[list[object]]) -> None:
    """A minimal OpenDocument spreadsheet as WPS and LibreOffice write it (text and float cells)."""
    import zipfile
    from xml.sax.saxutils import escape

    def cell(v: object) -> str:
        if isinstance(v, float | int):
            return f'<table:table-cell office:value-type="float" office:value="{v}"><text:p>{v}</text:p></table:table-cell>'
        return f'<table:table-cell office:value-type="string"><text:p>{escape(str(v))}</text:p></table:table-cell>'

    body = "".join("<table:table-row>" + "".join(cell(v) for v in r) + "</table:table-row>" for r in rows)
    content = (
        '<?xml version="1.0" encoding="UTF-8"?><office:document-content '
        'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        f'<office:body><office:spreadsheet><table:table table:name="花名册">{body}</table:table>'
        "</office:spreadsheet></office:body></office:document-content>"
    )
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>'
    )
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", manifest)
        z.writestr("content.xml", content)


def _xls(path: Path, rows: list[list[object]]) -> None:
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    sheet = book.add_sheet("花名册")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            sheet.write(r, c, value)
    book.save(str(path))


@pytest.mark.parametrize(("suffix", "writer"), [(".ods", _ods), (".xls", _xls)])
def test_excel_97_2003_and_opendocument_workbooks_are_read(workdir: Path, suffix: str, writer) -> None:
    roster = workdir / f"roster{suffix}"
    writer(roster, _rows())  # every cell text, as a careful clerk types it
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)


@pytest.mark.parametrize(("suffix", "writer"), [(".ods", _ods), (".xls", _xls)])
def test_an_account_in_a_number_cell_of_any_workbook_is_held(workdir: Path, suffix: str, writer) -> None:
    rows: list[list[object]] = [list(r) for r in _rows()]
    rows[1][_HEADERS.index("银行账号")] = 6228480012345678.0  # a number cell: its digits cannot be trusted
    roster = workdir / f"numbers{suffix}"
    writer(roster, rows)
    out = _paid(workdir, roster)
    assert "total paid      0.00 yuan in 0 items" in out and "account_stored_as_number 1" in out


def _with_title(rows: list[list[object]]) -> list[list[object]]:
    width = len(rows[0])
    return [
        ["嘉祥县2024年5月经济困难老年人补贴发放花名册"] + [""] * (width - 1),
        ["填报单位：纸坊镇民政办", "", "", "", "日期：2024年5月6日"] + [""] * (width - 5),
        ["序号", *rows[0]],
        *[[str(i), *r] for i, r in enumerate(rows[1:], start=1)],
    ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".ods"])
def test_title_rows_above_the_header_are_passed_over(workdir: Path, suffix: str) -> None:
    rows = _with_title([list(r) for r in _rows()])
    roster = workdir / f"titled{suffix}"
    if suffix == ".csv":
        roster.write_text("\r\n".join(",".join(map(str, r)) for r in rows) + "\r\n", encoding="utf-8-sig")
    elif suffix == ".ods":
        _ods(roster, rows)
    else:
        import xlsxwriter

        with xlsxwriter.Workbook(roster) as book:
            sheet = book.add_worksheet("花名册")
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    sheet.write_string(r, c, str(value))
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster))
    assert result.exit_code == 0, result.output
    assert "found the header below 2 title row(s)" in result.stderr
    assert "total paid      100.00 yuan in 1 items" in result.stdout
    manifest = json.loads(
        (workdir / "runs" / "jiaxiang" / "2024-05" / "manifest.json").read_text(encoding="utf-8")
    )
    assert manifest["inputs"][0]["skipped_rows"]["title_rows"] == 2
    assert manifest["inputs"][0]["ignored_columns"] == ["序号"]


def test_a_rejected_row_names_its_line_in_the_file_and_the_person(workdir: Path) -> None:
    rows = _with_title([list(r) for r in _rows(经济状况="低保户")])  # an unknown 经济状况 value
    roster = workdir / "titled.csv"
    roster.write_text("\r\n".join(",".join(map(str, r)) for r in rows) + "\r\n", encoding="utf-8")
    assert _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet").exit_code == 0
    rejected = pl.read_parquet(workdir / "runs" / "jiaxiang" / "2024-05" / "rejected.parquet")
    # data row 1 stands on line 4: two title lines and the header above it
    assert rejected.select("row", "file_row", "name", "problem").rows() == [(1, 4, "测试", "invalid_value")]
    assert rejected.columns[:8] == [
        "period",
        "county",
        "source",
        "row",
        "id_number",
        "column",
        "problem",
        "message",
    ]


def _workbook(path: Path, sheets: dict[str, list[list[object]]]) -> None:
    """A workbook with these sheets, every cell text (a float is written as a number cell)."""
    if path.suffix == ".xls":
        import xlwt

        book = xlwt.Workbook(encoding="utf-8")
        for sheet_name, rows in sheets.items():
            sheet = book.add_sheet(sheet_name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    sheet.write(r, c, value)
        book.save(str(path))
        return
    import xlsxwriter

    with xlsxwriter.Workbook(path) as xbook:
        for sheet_name, rows in sheets.items():
            xsheet = xbook.add_worksheet(sheet_name)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    if isinstance(value, float):
                        xsheet.write_number(r, c, value)
                    elif value != "":
                        xsheet.write_string(r, c, str(value))


def _townships(**second: str) -> dict[str, list[list[object]]]:
    """纸坊镇 with one 低保 elder, 红运镇 (title rows above its header, columns in another order, a blank
    row, a 合计 row) with two, one of them `second` changed; and a 说明 sheet and an empty sheet."""
    first = [list(r) for r in _rows()]
    header, good, changed = _HEADERS, _rows()[1], _rows(**second)[1]
    order = [8, 0, 1, 2, 3, 4, 5, 6, 7]  # 银行账号 first
    other = [
        ["红运镇2024年5月花名册"] + [""] * 8,
        ["填报单位：红运镇民政办"] + [""] * 8,
        [header[i] for i in order],
        [good[i] for i in order],
        [""] * 9,
        [changed[i] for i in order],
        ["合计", "", "2人"] + [""] * 6,  # 合计 in the first column, here 银行账号; no ID
    ]
    return {"纸坊镇": first, "说明": [["每个乡镇一个工作表"]], "红运镇": other, "空表": []}


@pytest.mark.parametrize("suffix", [".xlsx", ".xls"])
def test_a_workbook_with_roster_rows_on_several_sheets_is_read_as_one_roster(
    workdir: Path, suffix: str
) -> None:
    roster = workdir / f"townships{suffix}"
    _workbook(roster, _townships())
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster))
    assert result.exit_code == 0, result.output
    # three 低保 elders aged 84 (born 1940-03), 100.00 each, from two sheets
    assert "people read     3" in result.stdout and "rejected rows   0" in result.stdout
    assert "total paid      300.00 yuan in 3 items" in result.stdout
    raw = read.read_roster(roster, load_schema())
    assert [(s.name, s.first_row, s.rows, s.title_rows, s.blank_rows, s.total_rows) for s in raw.sheets] == [
        ("纸坊镇", 1, 1, 0, 0, 0),
        ("红运镇", 2, 2, 2, 1, 1),  # its rows are roster rows 2-5: a blank row and a 合计 row set aside
    ]
    assert raw.sheets[1].facts() == {
        "name": "红运镇",
        "first_row": 2,
        "rows": 2,
        "title_rows": 2,
        "blank_rows": 1,
        "total_rows": 1,
    }
    assert raw.skipped_sheets == ("说明", "空表")
    assert raw.skipped == {"title_rows": 2, "blank_rows": 1, "total_rows": 1}
    assert raw.frame.get_column(read.ROW).to_list() == [1, 2, 4]
    assert raw.ignored_columns == ()


def test_a_rejected_row_on_another_sheet_names_the_sheet_and_its_row_there(workdir: Path) -> None:
    roster = workdir / "townships.xlsx"
    _workbook(roster, _townships(经济状况="低保户"))  # an unknown 经济状况 value
    assert _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet").exit_code == 0
    rejected = pl.read_parquet(workdir / "runs" / "jiaxiang" / "2024-05" / "rejected.parquet")
    # roster row 4 is 红运镇's 3rd data row (the blank row counts), on its line 6: two title lines, the
    # header and two rows above it
    assert rejected.select("source", "row", "file_row", "name", "problem").rows() == [
        ("[townships.xlsx]红运镇", 4, 6, "测试", "invalid_value")
    ]
    assert read.split_source("[townships.xlsx]红运镇") == ("townships.xlsx", "红运镇")
    assert read.split_source("townships.xlsx") == ("townships.xlsx", None)
    assert read.split_source("[a]b.csv") == ("[a]b.csv", None)


def test_a_rejected_row_of_a_one_sheet_workbook_keeps_the_file_as_its_source(workdir: Path) -> None:
    roster = workdir / "one.xlsx"
    _workbook(
        roster, {"说明": [["填写说明"]], "花名册": _with_title([list(r) for r in _rows(经济状况="低保户")])}
    )
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 0, result.output
    rejected = pl.read_parquet(workdir / "runs" / "jiaxiang" / "2024-05" / "rejected.parquet")
    assert rejected.select("source", "row", "file_row").rows() == [("one.xlsx", 1, 4)]
    raw = read.read_roster(roster, load_schema())
    assert raw.sheets == () and raw.skipped_sheets == ("说明",)


def test_sheets_with_different_columns_are_refused_naming_sheets_and_columns(workdir: Path) -> None:
    sheets = _townships()
    sheets["红运镇"] = [[c for c in row if c != "测试"] for row in sheets["红运镇"]]  # 姓名 left out
    sheets["红运镇"][2] = [h for h in sheets["红运镇"][2] if h != "姓名"]
    sheets["马村镇"] = [[*r, "备注"] if i == 0 else [*r, ""] for i, r in enumerate(_rows())]
    roster = workdir / "townships.xlsx"
    _workbook(roster, sheets)
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster), "--quiet")
    assert result.exit_code == 3
    assert result.stderr == (
        "error: roster townships.xlsx holds roster rows on 3 sheets whose columns differ from those of sheet "
        "'纸坊镇': '红运镇' lacks name (姓名); '马村镇' has '备注'; give every sheet the same columns (or each "
        "sheet as a file of its own) and run again\n"
    )
    assert not (workdir / "runs" / "jiaxiang" / "2024-05").exists()


def test_the_same_columns_under_other_headers_are_the_same_columns(workdir: Path) -> None:
    sheets = _townships()
    sheets["红运镇"][2] = [
        {"公民身份号码": "身份证号码", "开户银行": "开户行", "银行账号": "银行卡号"}.get(h, h)
        for h in sheets["红运镇"][2]
    ]
    roster = workdir / "townships.xlsx"
    _workbook(roster, sheets)
    assert "total paid      300.00 yuan in 3 items" in _paid(workdir, roster)


def test_account_number_cells_are_found_on_every_sheet(workdir: Path) -> None:
    sheets = _townships()
    sheets["红运镇"][5][0] = 6228480012345678.0  # 银行账号 stands first on this sheet: a number cell
    roster = workdir / "townships.xlsx"
    _workbook(roster, sheets)
    out = _paid(workdir, roster)
    assert "total paid      200.00 yuan in 2 items" in out and "account_stored_as_number 1" in out


def test_a_roster_on_a_later_sheet_alone_is_read(workdir: Path) -> None:
    roster = workdir / "later.xlsx"
    _workbook(roster, {"说明": [["每个乡镇一个工作表"]], "花名册": [list(r) for r in _rows()]})
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)


def test_a_workbook_of_header_only_sheets_is_refused_before_any_run_folder(workdir: Path) -> None:
    roster = workdir / "empty.xlsx"
    _workbook(roster, {"纸坊镇": [_HEADERS], "红运镇": [_HEADERS], "说明": [["每个乡镇一个工作表"]]})
    result = _run("run", "2024-05", "--county", "jiaxiang", "--roster", str(roster))
    assert result.exit_code == 3
    assert "roster empty.xlsx has no data rows (only a header)" in result.stderr
    assert not (workdir / "runs" / "jiaxiang").exists()


def test_a_header_only_first_sheet_does_not_hide_the_rows_of_the_next(workdir: Path) -> None:
    roster = workdir / "townships.xlsx"
    _workbook(roster, {"纸坊镇": [_HEADERS], "红运镇": [list(r) for r in _rows()]})
    assert "total paid      100.00 yuan in 1 items" in _paid(workdir, roster)


def _xlsx(path: Path, rows: list[list[object]]) -> None:
    book = xlsxwriter.Workbook(path)
    sheet = book.add_worksheet("花名册")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, float | int):
                sheet.write_number(r, c, value)
            elif value:
                sheet.write_string(r, c, str(value))
    book.close()


@pytest.mark.parametrize(("suffix", "writer"), [(".xlsx", _xlsx), (".ods", _ods), (".xls", _xls)])
def test_number_cells_read_beside_the_rows_are_those_read_after_them(
    workdir: Path, suffix: str, writer
) -> None:
    # read.py reads every column's cell types on a second thread while the rows are read: for a header on
    # the first row they must be exactly what reading the account column afterwards gives, row for row
    from subsidy_batch.roster.read import _number_cells_ahead, _read_ahead, _xlsx_number_cells

    account = _HEADERS.index("银行账号")
    rows: list[list[object]] = [list(r) for r in _rows()]
    body = [list(rows[1]) for _ in range(6)]
    body[1][account] = 6228480012345678.0  # a number cell
    body[2] = [""] * len(body[2])  # an empty row in between
    body[4][account] = 6228480012345678901.0
    body[5][account] = ""  # an empty account cell
    roster = workdir / f"cells{suffix}"
    writer(roster, [rows[0], *body])
    after = _xlsx_number_cells(roster, "银行账号", len(body), roster.name)
    ahead = _read_ahead(_number_cells_ahead([(roster, 0, 0)])[0], "银行账号", len(body), 0)
    assert ahead is not None and ahead.to_list() == after.to_list()
    assert after.to_list() == [False, True, False, False, True, False]
    # title rows above the header: the cells read ahead (header on the first row) are not used
    assert _read_ahead(_number_cells_ahead([(roster, 0, 0)])[0], "银行账号", len(body), 2) is None


def test_every_sheets_number_cells_are_read_beside_its_rows_even_below_title_rows(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a workbook of one sheet per 乡镇 (红运镇 with two title rows above its header): each sheet's cell
    # types come from the reads made beside the rows, never from reading the column again afterwards
    def again(*args: object, **kwargs: object) -> None:
        raise AssertionError("the account column was read again after the rows")

    sheets = _townships()
    sheets["红运镇"][5][0] = 6228480012345678.0  # 银行账号 stands first on this sheet: a number cell
    roster = workdir / "townships.xlsx"
    _workbook(roster, sheets)
    monkeypatch.setattr(read, "_xlsx_number_cells", again)
    raw = read.read_roster(roster, load_schema())
    cells = raw.frame.filter(pl.col(read.ACCOUNT_NUMBER_CELL)).get_column("row").to_list()
    assert len(raw.sheets) == 2 and len(cells) == 1  # the one number cell, on 红运镇's second data row
