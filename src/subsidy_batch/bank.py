"""Bank payment files: one per bank, a control record then one detail record per payee (docs/bank-file.md)."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl

from subsidy_batch.money import fen_to_yuan

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER = "H"
DETAIL = "D"


@dataclass(frozen=True)
class BankFile:
    path: Path
    bank_name: str
    items: int
    total_fen: int


def neutralise(text: str) -> str:
    """Stop a spreadsheet from reading a cell as a formula (CSV injection): prefix it with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def file_name(index: int, bank_name: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", bank_name).strip("._") or "bank"
    return f"bank_{index:02d}_{safe}.csv"


def write_bank_files(
    payments: pl.DataFrame, out_dir: Path, batch_id: str, period: str, county_name: str, encoding: str
) -> list[BankFile]:
    """Write one CSV per bank_name, sorted by bank name then ID number; returns what each file holds."""
    out_dir.mkdir(parents=True, exist_ok=True)
    files = []
    banks = sorted(payments.get_column("bank_name").unique().to_list())
    for index, bank_name in enumerate(banks, start=1):
        rows = payments.filter(pl.col("bank_name") == bank_name).sort("id_number")
        total = int(rows.get_column("amount_fen").sum())
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow(
            [HEADER, batch_id, period, neutralise(bank_name), rows.height, f"{fen_to_yuan(total):.2f}"]
        )
        memo = neutralise(f"{period} {county_name} 养老补贴")
        for seq, row in enumerate(rows.iter_rows(named=True), start=1):
            writer.writerow(
                [
                    DETAIL,
                    f"{batch_id}-{seq:06d}",
                    neutralise(row["name"]),
                    row["id_number"],
                    row["bank_account"],
                    f"{fen_to_yuan(row['amount_fen']):.2f}",
                    memo,
                ]
            )
        path = out_dir / file_name(index, bank_name)
        path.write_bytes(buffer.getvalue().encode(encoding))
        files.append(BankFile(path, bank_name, rows.height, total))
    return files


def read_bank_file(path: Path, encoding: str) -> tuple[dict[str, object], list[dict[str, object]]]:
    """Parse a bank file back: the control record and the detail records (amounts as Decimal)."""
    records = list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))
    head = records[0]
    assert head[0] == HEADER, f"{path.name}: first record is not a control record"
    control = {
        "batch_id": head[1],
        "period": head[2],
        "bank_name": head[3],
        "items": int(head[4]),
        "total": Decimal(head[5]),
    }
    details = [
        {
            "reference": r[1],
            "name": r[2],
            "id_number": r[3],
            "account": r[4],
            "amount": Decimal(r[5]),
            "memo": r[6],
        }
        for r in records[1:]
    ]
    return control, details
