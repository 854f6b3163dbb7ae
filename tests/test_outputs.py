"""What a run leaves behind: contract columns, exact money, reconciled totals, bank files, privacy."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from pathlib import Path

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from subsidy_batch.outputs.bank import neutralise, read_bank_file, write_bank_files
from subsidy_batch.period import Period
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.synth import roster, with_broken_rows

CONTRACT = {
    "line_items.parquet": [
        "period",
        "county",
        "id_number",
        "name",
        "township",
        "benefit",
        "amount",
        "status",
        "hold_reason",
        "rule",
        "citation",
    ],
    "payments.parquet": [
        "period",
        "county",
        "id_number",
        "name",
        "township",
        "bank_name",
        "bank_account",
        "amount",
        "items",
    ],
    "rejected.parquet": ["period", "county", "source", "row", "id_number", "column", "problem", "message"],
}


def _run(workdir: Path, runs: str = "runs", county: str = "jiaxiang", roster_path: Path | None = None):
    return run_month(
        RunRequest(
            Period(2024, 5), county, roster_path, workdir / runs, workdir / "config", workdir / "rosters"
        )
    )


@pytest.fixture
def run_dir(workdir: Path) -> Path:
    return _run(workdir).run_dir


@pytest.mark.parametrize("name", list(CONTRACT))
def test_output_columns_follow_the_contract_in_order(run_dir: Path, name: str) -> None:
    schema = pq.read_schema(run_dir / name)
    assert schema.names[: len(CONTRACT[name])] == CONTRACT[name]
    if "amount" in schema.names:
        assert schema.field("amount").type == pa.decimal128(18, 2)


def test_rows_are_sorted_by_id_number_then_benefit(run_dir: Path) -> None:
    items = pl.read_parquet(run_dir / "line_items.parquet")
    assert items.select("id_number", "benefit").rows() == sorted(items.select("id_number", "benefit").rows())
    pays = pl.read_parquet(run_dir / "payments.parquet")
    assert pays.get_column("id_number").to_list() == sorted(pays.get_column("id_number").to_list())


def test_held_items_have_a_reason_and_only_unset_standards_lack_an_amount(run_dir: Path) -> None:
    items = pl.read_parquet(run_dir / "line_items.parquet")
    held = items.filter(pl.col("status") == "held")
    assert held.get_column("hold_reason").null_count() == 0
    assert (
        items.filter(pl.col("status") == "paid").get_column("hold_reason").null_count()
        == items.filter(pl.col("status") == "paid").height
    )
    assert items.filter(pl.col("amount").is_null()).get_column("hold_reason").unique().to_list() == [
        "standard_not_set"
    ]


def test_totals_reconcile_rows_items_payments_and_bank_files(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    t = manifest["totals"]
    assert t["people_read"] == 401 == t["people_accepted"] + t["people_rejected"]
    rejected = pl.read_parquet(run_dir / "rejected.parquet")
    assert rejected.get_column("row").n_unique() == t["people_rejected"] == 11
    items = pl.read_parquet(run_dir / "line_items.parquet")
    paid_items = items.filter(pl.col("status") == "paid").get_column("amount").sum()
    payments = pl.read_parquet(run_dir / "payments.parquet").get_column("amount").sum()
    bank_total, bank_items = Decimal(0), 0
    for path in sorted((run_dir / "bank").glob("*.csv")):
        control, details = read_bank_file(path, "gb18030")
        assert control["items"] == details.height
        # the control record recomputed from the detail lines through Decimal, not the tool's own code
        assert control["total"] == sum(Decimal(a) for a in details.get_column("amount").to_list())
        assert details.get_column("memo").unique().to_list() == ["2024-05 嘉祥县 养老补贴"]
        bank_total += control["total"]
        bank_items += control["items"]
    assert paid_items == payments == bank_total == Decimal(t["paid_amount"]) > 0
    assert bank_items == t["paid_people"]


def test_the_manifest_records_inputs_config_and_outputs_with_checksums(run_dir: Path) -> None:
    import hashlib

    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    for entry in manifest["outputs"] + manifest["inputs"]:
        assert entry["sha256"] == hashlib.sha256((run_dir / entry["file"]).read_bytes()).hexdigest()
    assert {c["file"] for c in manifest["config"]} == {
        "counties/jiaxiang.yaml",
        "shared/shandong_base.yaml",
        "shared/gongshi.yaml",  # the 公示 masking rules
    }
    assert manifest["status"] == "accepted" and manifest["tool_version"]
    assert [s["stage"] for s in manifest["stages"]] == [
        "read",
        "validate",
        "compute",
        "ledger",
        "write",
        "bank_files",
        "documents",
        "reconcile",
    ]


def test_a_formula_like_name_is_neutralised_in_the_bank_file(workdir: Path) -> None:
    path = workdir / "rosters" / "jiaxiang" / "2024-05.csv"
    frame = pl.read_csv(path, infer_schema=False)
    payee = frame.filter((pl.col("经济状况") == "低保") & (pl.col("银行账号") != "")).item(0, "公民身份号码")
    frame = frame.with_columns(
        pl.when(pl.col("公民身份号码") == payee)
        .then(pl.lit('=HYPERLINK("x")'))
        .otherwise(pl.col("姓名"))
        .alias("姓名")
    )
    path.write_text(frame.write_csv(), encoding="utf-8")
    run_dir = _run(workdir).run_dir
    names = [
        n
        for p in (run_dir / "bank").glob("*.csv")
        for n in read_bank_file(p, "gb18030")[1].get_column("name")
    ]
    assert '\'=HYPERLINK("x")' in names
    assert (
        neutralise("+86") == "'+86"
        and neutralise("-1") == "'-1"
        and neutralise("@a") == "'@a"
        and neutralise("张三") == "张三"
    )


def test_no_full_id_number_or_account_reaches_logs_manifest_or_terminal(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from typer.testing import CliRunner

    from subsidy_batch.cli import app

    result = CliRunner().invoke(app, ["run", "2024-05", "--county", "jiaxiang"])
    run_dir = workdir / "runs" / "jiaxiang" / "2024-05"
    source = pl.read_csv(workdir / "rosters" / "jiaxiang" / "2024-05.csv", infer_schema=False)
    secrets = {
        v
        for v in source.get_column("公民身份号码").to_list() + source.get_column("银行账号").to_list()
        if v and len(v) >= 8
    }
    texts = {
        "audit.jsonl": (run_dir / "audit.jsonl").read_text(encoding="utf-8"),
        "manifest.json": (run_dir / "manifest.json").read_text(encoding="utf-8"),
        "rejected messages": "\n".join(
            pl.read_parquet(run_dir / "rejected.parquet").get_column("message").to_list()
        ),
        "stdout": result.stdout,
        "stderr": result.stderr,
    }
    for where, text in texts.items():
        leaked = [s for s in secrets if s in text]
        assert not leaked, f"{where} shows {len(leaked)} full ID numbers or accounts"
    assert re.search(r"\d{6}\*{8}", texts["rejected messages"])  # masked form is what appears
    # the audit log's times are the clock a clerk reads, as the manifest's created_at: +08:00, not UTC
    stamps = [json.loads(line)["timestamp"] for line in texts["audit.jsonl"].splitlines()]
    assert len(stamps) > 3
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+08:00", t) for t in stamps), stamps[0]
    assert json.loads(texts["manifest.json"])["created_at"].endswith("+08:00")


def test_the_same_inputs_give_byte_identical_outputs(workdir: Path) -> None:
    first = _run(workdir, "runs_a").run_dir
    second = _run(workdir, "runs_b").run_dir
    files = sorted(
        p.relative_to(first)
        for p in first.rglob("*")
        if p.is_file() and p.name not in {"manifest.json", "audit.jsonl"}
    )
    assert len(files) >= 7
    for rel in files:
        assert (first / rel).read_bytes() == (second / rel).read_bytes(), rel


def test_a_roster_of_only_broken_rows_still_completes_and_pays_nothing(workdir: Path) -> None:
    frame = with_broken_rows(roster("jiaxiang", 10, Period(2024, 5), seed=3)).with_columns(
        pl.lit("").alias("姓名")
    )
    path = workdir / "all_bad.csv"
    path.write_text(frame.write_csv(), encoding="utf-8")
    result = _run(workdir, roster_path=path)
    assert result.manifest["totals"]["people_accepted"] == 0
    assert result.manifest["totals"]["paid_amount"] == "0.00"
    assert list((result.run_dir / "bank").glob("*.csv")) == []


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_reconciliation_reads_records_and_amounts_of_any_name_without_decoding_them(
    tmp_path: Path, encoding: str
) -> None:
    # four-byte GB18030 characters (whose bytes include ASCII digits), a comma, quotes, a line break
    names = ["𠮷𡈼", "王,五", '赵"六"', "钱\r\n七", "䶮", "Zoë", "=1+1", "李四"]
    payments = pl.DataFrame(
        {
            "id_number": [f"37082919440101{i:03d}X" for i in range(len(names))],
            "name": names,
            "township": "卧龙山街道",
            "bank_name": ["中国农业银行", "嘉祥农村商业银行"] * (len(names) // 2),
            "bank_account": [f"62284800{i:011d}" for i in range(len(names))],
            "amount_fen": [8000, 1, 99, 100, 123456, 0, 20000, 999999999],
        }
    )
    files = write_bank_files(payments, tmp_path, "batch-1", "2024-05", "2024-05 嘉祥县 养老补贴", encoding)
    assert len(files) == 2
    for bf in files:
        control, full = read_bank_file(bf.path, encoding)
        control_fast, fast = read_bank_file(bf.path, encoding, text_fields=False)
        assert control_fast == control and control["items"] == bf.items == fast.height
        assert fast.to_dict(as_series=False) == full.select(fast.columns).to_dict(as_series=False)
        assert int(fast.get_column("amount_fen").sum()) == bf.total_fen
        shown = [n.lstrip("'") for n in full.get_column("name")]
        assert set(shown) <= set(names)


def test_rejected_xlsx_holds_every_problem_with_chinese_headers_and_no_full_id(run_dir: Path) -> None:
    import fastexcel

    rejected = pl.read_parquet(run_dir / "rejected.parquet")
    book = fastexcel.read_excel(run_dir / "rejected.xlsx")
    assert book.sheet_names == ["问题行"]
    sheet = pl.DataFrame(book.load_sheet(0, header_row=1).to_polars())
    assert sheet.columns == ["行号", "数据行", "姓名", "身份证号", "列", "问题代码", "问题说明"]
    assert sheet.height == rejected.height > 0  # one line per problem
    assert sheet.get_column("问题代码").to_list() == rejected.get_column("problem").to_list()
    title = book.load_sheet(0, header_row=None, n_rows=1).to_polars().item(0, 0)
    rows = rejected.get_column("row").n_unique()
    assert title == f"嘉祥县2024年5月 花名册中有问题的行（{rows} 行，{rejected.height} 个问题）"
    # every cell of the sheet, as text: no 15- or 18-character ID number survives unmasked
    cells = " ".join(str(v) for row in sheet.iter_rows() for v in row if v is not None)
    assert not re.search(r"\d{15,}|\d{17}[0-9X]", cells)
    shown = sheet.get_column("身份证号").drop_nulls().to_list()
    assert shown and all(re.fullmatch(r".{6}\*{8}.{4}|.{0,10}", v) for v in shown), shown
    manifest = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    (entry,) = [o for o in manifest["outputs"] if o["file"] == "rejected.xlsx"]
    assert entry["rows"] == rejected.height


def test_every_parquet_output_describes_its_columns_in_its_metadata(run_dir: Path) -> None:
    for name in (
        "line_items.parquet",
        "payments.parquet",
        "rejected.parquet",
        "changes.parquet",
        "recoveries.parquet",
    ):
        meta = pq.read_metadata(run_dir / name).metadata
        described = json.loads(meta[b"subsidy_batch.columns"].decode("utf-8"))
        columns = pq.read_schema(run_dir / name).names
        assert list(described) == sorted(columns), name
        assert all(described.values()), (name, [c for c, d in described.items() if not d])
    items = json.loads(pq.read_metadata(run_dir / "line_items.parquet").metadata[b"subsidy_batch.columns"])
    assert items["kind"].startswith("regular / arrears")
