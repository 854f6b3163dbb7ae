"""Bank payment files: one per bank, a control record then one detail record per payee (docs/bank-file.md)."""

from __future__ import annotations

import csv
import io
import re
from concurrent.futures import Executor
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from pathlib import Path

import polars as pl

from subsidy_batch.errors import BankFileError
from subsidy_batch.money import fen_text, fen_text_expr

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
HEADER = "H"
DETAIL = "D"


@dataclass(frozen=True)
class BankFile:
    path: Path
    bank_name: str
    items: int
    total_fen: int


def bank_account_ok(digits: tuple[int, int]) -> pl.Expr:
    """An account can be paid into: only digits, as many as the schema's `payable` allows (8-30 in
    schemas/roster.yaml), at a named bank; no bank file could carry it otherwise."""
    low, high = digits
    account = pl.col("bank_account").str.contains(rf"^[0-9]{{{low},{high}}}$").fill_null(False)
    return account & pl.col("bank_name").is_not_null()


def account_stored_as_number() -> pl.Expr:
    """The account text shows it passed through an Excel number cell, which keeps 15 significant digits:
    Excel notation (6.22848E+18, or digits with a decimal point), or 18-19 digits that end in 000 or are
    exactly a float64 value (what a number cell stores). Such an account is never paid."""
    text = pl.col("bank_account")
    value = text.cast(pl.UInt64, strict=False)
    float_exact = value.cast(pl.Float64).cast(pl.UInt64, strict=False) == value
    long_digits = text.str.contains(r"^[0-9]{18,19}$")
    notation = text.str.contains(r"^[0-9]+(\.[0-9]*)?([eE]\+?[0-9]+|\.[0-9]*)$")  # 6.22848E+18, 6.2e18
    excel = notation | (long_digits & (text.str.ends_with("000") | float_exact))
    return excel.fill_null(False)


def neutralise(text: str) -> str:
    """Stop a spreadsheet from reading a cell as a formula (CSV injection): prefix it with a quote."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _neutralise(col: pl.Expr) -> pl.Expr:
    return pl.when(col.str.contains(r"^[=+\-@\t\r]")).then(pl.lit("'") + col).otherwise(col)


def file_name(index: int, bank_name: str) -> str:
    safe = re.sub(r'[\\/:*?"<>|\s]+', "_", bank_name).strip("._") or "bank"
    return f"bank_{index:02d}_{safe}.csv"


def write_bank_files(
    payments: pl.DataFrame,
    out_dir: Path,
    batch_id: str,
    period: str,
    memo_template: str,
    encoding: str,
    pool: Executor | None = None,
) -> list[BankFile]:
    """Write one CSV per bank_name, payees sorted by ID number (or credit code); returns what each holds.

    With a pool, the files are written as separate jobs on it (side by side with other jobs); the files,
    their names and the order of the list are the same either way.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    by_bank = payments.partition_by("bank_name", as_dict=True, maintain_order=True)  # one pass over all
    memo = neutralise(memo_template)
    jobs = [
        partial(
            _write_one,
            by_bank[(bank_name,)],
            out_dir / file_name(index, bank_name),
            bank_name,
            batch_id,
            period,
            memo,
            encoding,
        )
        for index, (bank_name,) in enumerate(sorted(by_bank), start=1)
    ]
    if pool is None:
        return [job() for job in jobs]
    return [done.result() for done in [pool.submit(job) for job in jobs]]


def _write_one(
    payees: pl.DataFrame, path: Path, bank_name: str, batch_id: str, period: str, memo: str, encoding: str
) -> BankFile:
    rows = payees.sort("id_number")
    total = int(rows.get_column("amount_fen").sum())
    control = io.StringIO()
    csv.writer(control, lineterminator="\r\n").writerow(
        [HEADER, batch_id, period, neutralise(bank_name), rows.height, fen_text(total)]
    )
    details = io.BytesIO()  # UTF-8 from polars, re-encoded below
    rows.select(
        pl.lit(DETAIL).alias("record"),
        pl.format(
            "{}-{}", pl.lit(batch_id), pl.int_range(1, pl.len() + 1).cast(pl.String).str.zfill(6)
        ).alias("reference"),
        _neutralise(pl.col("name")),
        pl.col("id_number"),
        pl.col("bank_account"),
        fen_text_expr(pl.col("amount_fen")).alias("amount"),
        pl.lit(memo).alias("memo"),
    ).write_csv(details, include_header=False, line_terminator="\r\n", quote_style="necessary")
    with path.open("wb") as out:
        out.write(control.getvalue().encode(encoding))
        out.write(details.getvalue().decode("utf-8").encode(encoding))
    return BankFile(path, bank_name, rows.height, total)


DETAIL_COLUMNS = ("record", "reference", "name", "id_number", "account", "amount", "memo")


def read_bank_file(
    path: Path, encoding: str, text_fields: bool = True
) -> tuple[dict[str, object], pl.DataFrame]:
    """Parse a bank file back: the control record, and the detail records with exact amount_fen.

    With text_fields=False (the run's reconciliation) the names and memos are not decoded, only the
    record types and amounts are read, straight from the bytes: in GB18030 and UTF-8 no byte of a
    character outside ASCII is a comma, a quote or a line break, so the records split the same. Decoding
    700,000 payees' names in Python took 0.5 s and checked nothing the totals need.
    """
    data = path.read_bytes()
    head_line, _, body = data.partition(b"\r\n")
    try:
        head = next(csv.reader([head_line.decode(encoding)]))
    except (UnicodeDecodeError, StopIteration) as exc:
        raise BankFileError(f"{path.name}: the control record cannot be read as {encoding}") from exc
    if len(head) != 6 or head[0] != HEADER or not head[4].isdigit() or not re.fullmatch(r"[0-9]+\.[0-9]{2}", head[5]):
        raise BankFileError(f"{path.name}: first record is not a control record")
    control = {
        "batch_id": head[1],
        "period": head[2],
        "bank_name": head[3],
        "items": int(head[4]),
        "total": Decimal(head[5]),
    }
    if not body:
        details = pl.DataFrame(schema={c: pl.String for c in DETAIL_COLUMNS})
    elif text_fields:
        text = body.decode(encoding).encode("utf-8")
        details = pl.read_csv(text, has_header=False, new_columns=list(DETAIL_COLUMNS), infer_schema=False)
    else:
        details = pl.read_csv(
            body,
            has_header=False,
            new_columns=list(DETAIL_COLUMNS),
            infer_schema=False,
            encoding="utf8-lossy",  # the text fields are not used; records and amounts are ASCII
        ).select("record", "amount")
    if not details.get_column("amount").str.contains(r"^[0-9]+\.[0-9]{2}$").all():
        raise BankFileError(f"{path.name}: an amount is not written as yuan with 2 decimals")
    if (details.get_column("record") != DETAIL).any():
        raise BankFileError(f"{path.name}: a record after the first is not a detail record")
    details = details.with_columns(
        amount_fen=pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64)
    )
    return control, details
