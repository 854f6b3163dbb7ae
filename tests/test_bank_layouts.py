"""Bank file layouts as data: each shipped layout writes a file and parses it back by the same declaration;
the csv layout is byte for byte what the stored runs hold; a county maps its banks to layouts."""

from __future__ import annotations

import shutil
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import polars as pl
import pytest
import yaml

from subsidy_batch.errors import BankFileError, ConfigError
from subsidy_batch.outputs import xlsxzip
from subsidy_batch.outputs.bank import read_bank_file, write_bank_files
from subsidy_batch.period import Period
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.rules.config import load_county
from subsidy_batch.rules.facilities import load_facility_config
from subsidy_batch.rules.layouts import BUILTIN, BUILTIN_CSV, BankLayouts, load_layout
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT, stored_parts

BANKS = CONFIG / "banks"
LAYOUTS = ("csv", "fixed", "xlsx")


def _payees() -> pl.DataFrame:
    """Three payees of one bank: a formula-like name, a name with a 4-byte GB18030 character, a plain one."""
    return pl.DataFrame(
        {
            "id_number": ["370829194001010011", "370829193905050022", "37082919450707003X"],
            "name": ["=张三", "王𠀀", "李四"],
            "bank_name": ["嘉祥农村商业银行"] * 3,
            "bank_account": ["6228400000000001", "6228400000000002", "622840000000000000000000000003"],
            "amount_fen": [8000, 99050, 1],
        }
    )


@pytest.mark.parametrize("name", LAYOUTS)
def test_each_layout_writes_a_file_and_parses_it_back_by_the_same_declaration(
    tmp_path: Path, name: str
) -> None:
    layout = load_layout(BANKS / f"{name}.yaml")
    (written,) = write_bank_files(
        _payees(),
        tmp_path,
        "jiaxiang-2024-05-1-0123456789",
        "2024-05",
        "2024-05 嘉祥县 养老补贴",
        "gb18030",
        layouts=BankLayouts(layout),
    )
    assert (
        written.path.name
        == f"bank_01_嘉祥农村商业银行.{ {'csv': 'csv', 'fixed': 'txt', 'xlsx': 'xlsx'}[name] }"
    )
    assert (written.items, written.total_fen) == (3, 107051)  # 80.00 + 990.50 + 0.01 yuan
    control, details = read_bank_file(written.path, "gb18030", layout=layout)
    assert control["batch_id"] == "jiaxiang-2024-05-1-0123456789"
    assert (control["period"], control["bank_name"]) == ("2024-05", "嘉祥农村商业银行")
    assert (control["items"], control["total"]) == (3, Decimal("1070.51"))
    # sorted by ID number; references number the lines from 1 whether written or derived from 序号
    assert details.get_column("reference").to_list() == [
        f"jiaxiang-2024-05-1-0123456789-00000{i}" for i in (1, 2, 3)
    ]
    assert details.get_column("id_number").to_list() == [
        "370829193905050022",
        "370829194001010011",
        "37082919450707003X",
    ]
    assert details.get_column("amount_fen").to_list() == [99050, 8000, 1]
    assert details.get_column("account").to_list()[2] == "622840000000000000000000000003"  # 30 digits kept
    # the csv layout neutralises a formula-like name (a spreadsheet opens it); fixed text and a text cell need not
    expected_name = "'=张三" if name == "csv" else "=张三"
    assert details.get_column("name").to_list() == ["王𠀀", expected_name, "李四"]
    # the same rows give the same bytes (the workbook's times are fixed)
    first = written.path.read_bytes()
    write_bank_files(
        _payees(),
        tmp_path,
        "jiaxiang-2024-05-1-0123456789",
        "2024-05",
        "2024-05 嘉祥县 养老补贴",
        "gb18030",
        layouts=BankLayouts(layout),
    )
    assert written.path.read_bytes() == first


def test_the_fixed_layout_counts_widths_in_gb18030_bytes_and_ends_with_a_trailer(tmp_path: Path) -> None:
    layout = load_layout(BANKS / "fixed.yaml")
    (written,) = write_bank_files(
        _payees(), tmp_path, "b-1", "2024-05", "memo", "utf-8", layouts=BankLayouts(layout)
    )
    lines = written.path.read_bytes().split(b"\r\n")
    assert lines[-1] == b""  # every record ends with CRLF
    header, details, trailer = lines[0], lines[1:-2], lines[-2]
    assert len(header) == layout.records.header.width  # type: ignore[union-attr]
    # 王𠀀 is 2 + 4 bytes in GB18030, whatever the county's encoding for CSV: every record has one width
    assert {len(line) for line in details} == {layout.records.detail.width}
    assert "王𠀀".encode("gb18030") in details[0]
    assert trailer == b"T" + b"0000000003" + b"000000000000107051"


def test_a_value_wider_than_its_fixed_field_stops_the_file_with_a_clear_error(tmp_path: Path) -> None:
    layout = load_layout(BANKS / "fixed.yaml")
    payees = _payees().with_columns(name=pl.lit("长" * 101))  # 202 bytes in a 200-byte field
    with pytest.raises(BankFileError, match=r"a name of 202 bytes does not fit its field of 200 bytes"):
        write_bank_files(payees, tmp_path, "b-1", "2024-05", "memo", "gb18030", layouts=BankLayouts(layout))


def test_the_csv_declaration_is_the_built_in_layout() -> None:
    loaded = load_layout(BANKS / "csv.yaml")
    assert replace(loaded, source=None) == BUILTIN_CSV


@pytest.mark.parametrize(
    "run", ["jiaxiang/2024-03", "jiaxiang/2024-04", "youyi/2024-04", "anqiu/facilities-2024"]
)
def test_the_csv_layout_writes_the_stored_runs_bank_files_byte_for_byte(tmp_path: Path, run: str) -> None:
    run_dir = ROOT / "runs" / run
    manifest = yaml.safe_load((run_dir / "manifest.json").read_text(encoding="utf-8"))  # JSON is YAML
    payments = pl.read_parquet(run_dir / "payments.parquet")
    if "facility_id" in payments.columns:
        payments = payments.rename({"facility_id": "id_number"})
    payments = payments.with_columns(amount_fen=(pl.col("amount") * 100).cast(pl.Int64))
    config = load_county(
        run_dir / "input" / "config",
        manifest["county"],
        load_schema(schema_dir=run_dir / "input" / "schemas"),
    )
    assert config.bank_layouts is BUILTIN  # a stored run names no layout
    if manifest["kind"] == "monthly":
        memo = config.memo(Period.parse(manifest["period"]))
        period = manifest["period"]
    else:
        period = str(manifest["year"])
        facilities = load_facility_config(
            run_dir / "input" / "config",
            manifest["county"],
            load_schema("facility", run_dir / "input" / "schemas"),
        )
        memo = facilities.memo(manifest["year"])
    written = write_bank_files(
        payments,
        tmp_path,
        manifest["run_id"],
        period,
        memo,
        config.bank_file_encoding,
        layouts=BankLayouts(load_layout(BANKS / "csv.yaml")),
    )
    stored = sorted((run_dir / "bank").iterdir())
    assert [w.path.name for w in written] == [p.name for p in stored]
    for w, p in zip(written, stored, strict=True):
        assert w.path.read_bytes() == p.read_bytes(), p.name


def test_a_county_without_bank_layouts_reads_no_layout_file() -> None:
    config = load_county(CONFIG, "jiaxiang")
    assert config.bank_layouts is BUILTIN
    assert not any("banks" in p.parts for p in config.files)


def test_cao_county_maps_two_banks_to_the_fixed_and_xlsx_layouts_and_its_run_verifies(tmp_path: Path) -> None:
    config = load_county(CONFIG, "caoxian")
    assert config.bank_layouts.for_bank("曹县农村商业银行").name == "fixed"
    assert config.bank_layouts.for_bank("中国邮政储蓄银行曹县支行").name == "xlsx"
    assert config.bank_layouts.for_bank("any other bank").name == "csv"
    result = run_month(
        RunRequest(
            Period(2024, 5), "caoxian", runs_dir=tmp_path, config_dir=CONFIG, rosters_dir=ROOT / "rosters"
        )
    )
    names = sorted(p.name for p in (result.run_dir / "bank").iterdir())
    assert [n.rsplit(".", 1)[1] for n in names] == ["csv", "xlsx", "txt", "csv"]
    # the bank's workbook and the report, like every workbook, are deflated by ISA-L (outputs/xlsxzip.py)
    for workbook in (result.run_dir / "bank" / names[1], result.run_dir / "report.xlsx"):
        for part, (stored, data) in stored_parts(workbook).items():
            assert stored == xlsxzip.deflate(data), (workbook.name, part)
    # the layout files are part of the run's snapshot and fingerprint
    assert {c["file"] for c in result.manifest["config"]} >= {
        "banks/csv.yaml",
        "banks/fixed.yaml",
        "banks/xlsx.yaml",
    }
    assert (result.run_dir / "input" / "config" / "banks" / "fixed.yaml").is_file()
    bank_total = sum(Decimal(o["total"]) for o in result.manifest["outputs"] if o["file"].startswith("bank/"))
    assert bank_total == Decimal(result.manifest["totals"]["paid_amount"])
    verdict = verify_run(result.run_dir)
    assert verdict.identical, verdict.differing


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    shutil.copytree(CONFIG, tmp_path / "config")
    return tmp_path / "config"


def _edit(path: Path, edit: object) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    edit(data)  # type: ignore[operator]
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


def test_a_width_written_as_text_is_a_load_error_naming_file_and_key(config_dir: Path) -> None:
    path = config_dir / "banks" / "fixed.yaml"
    _edit(path, lambda d: d["records"]["detail"]["fields"][2].update(width="200"))
    with pytest.raises(
        ConfigError, match=r"fixed\.yaml: records\.detail\.fields\[2\]\.width: expected a whole number"
    ):
        load_layout(path)


def test_a_layout_without_a_batch_id_is_refused(config_dir: Path) -> None:
    path = config_dir / "banks" / "csv.yaml"
    _edit(path, lambda d: d["records"]["header"]["fields"].remove("batch_id"))
    with pytest.raises(ConfigError, match=r"csv\.yaml: records: no header or trailer field holds 'batch_id'"):
        load_layout(path)


def test_a_field_given_twice_in_a_record_is_a_load_error(config_dir: Path) -> None:
    """amount twice in the detail record (memo overwritten by a slip) would make two columns of one name
    at the run's bank-file stage; only blank and text fields may repeat (a layout may pad with several)."""
    path = config_dir / "banks" / "csv.yaml"
    _edit(path, lambda d: d["records"]["detail"]["fields"].__setitem__(-1, "amount"))
    with pytest.raises(
        ConfigError,
        match=r"csv\.yaml: records\.detail\.fields: 'amount' is given twice; a record holds each field once",
    ):
        load_layout(path)


def test_a_bank_file_name_without_its_index_is_a_load_error(config_dir: Path) -> None:
    """A name such as same.csv would give every bank of the layout one file, each overwriting the last."""
    path = config_dir / "banks" / "csv.yaml"
    _edit(path, lambda d: d.update(file_name="bank_{bank}.csv"))
    with pytest.raises(ConfigError, match=r"csv\.yaml: file_name: a bank file's name holds \{index\}"):
        load_layout(path)


def test_a_county_naming_an_unknown_layout_is_a_load_error(config_dir: Path) -> None:
    path = config_dir / "counties" / "jiaxiang.yaml"
    _edit(path, lambda d: d.update(bank_layouts={"default": "csv", "by_bank": {"嘉祥农村商业银行": "swift"}}))
    with pytest.raises(
        ConfigError, match=r"jiaxiang\.yaml: bank_layouts\.by_bank\.嘉祥农村商业银行: no layout 'swift'"
    ):
        load_county(config_dir, "jiaxiang")


def test_a_tampered_trailer_fails_the_read_back(tmp_path: Path) -> None:
    layout = load_layout(BANKS / "fixed.yaml")
    (written,) = write_bank_files(
        _payees(), tmp_path, "b-1", "2024-05", "memo", "gb18030", layouts=BankLayouts(layout)
    )
    data = written.path.read_bytes().replace(b"T0000000003", b"T0000000004")
    written.path.write_bytes(data)
    control, details = read_bank_file(written.path, "gb18030", layout=layout)
    assert control["items"] == 4 != details.height  # the reconciliation compares the two and refuses the run
    written.path.write_bytes(data.replace(b"T0000000004", b"X0000000004"))
    with pytest.raises(BankFileError, match="the last record is not the layout's trailer record"):
        read_bank_file(written.path, "gb18030", layout=layout)
