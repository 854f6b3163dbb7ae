"""Synthetic bank result files for a stored run (no real bank): every line answered, a share failed with
the reasons banks give, in each bank file's own layout; the same seed gives the same files."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from subsidy_batch.errors import UsageError
from subsidy_batch.money import fen_text
from subsidy_batch.outputs import bank, bankformat
from subsidy_batch.returns.sent import SentFile, sent_run
from subsidy_batch.rules.layouts import Layout

# (the bank's code, its text, weight): texts as banks write them (see ../shared/research/disbursement.md)
SAMPLE_REASONS = (
    ("0130Z0100005", "户名不符", 40),
    ("201", "无此帐号或存折", 25),
    ("E1022", "账户已销户", 15),
    ("0130Z1101007", "账户状态异常", 10),
    ("E1031", "账户冻结", 5),
    ("9999", "交易失败，请联系开户行", 5),
)


@dataclass(frozen=True)
class Written:
    path: Path
    bank_name: str
    lines: int
    failed: int


def synth_returns(run_dir: Path, fail_rate: float, seed: int, out_dir: Path | None = None) -> list[Written]:
    """Write one result file per bank file of the run into out_dir (by default returns/<run id>/ in the
    working folder; never inside the run)."""
    if not 0 <= fail_rate <= 1:
        raise UsageError(f"--fail-rate must be from 0 to 1 (0.01 is one line in a hundred), not {fail_rate}")
    run = sent_run(run_dir)
    out_dir = out_dir or Path("returns") / run.manifest.run_id
    if out_dir.resolve().is_relative_to(run_dir.resolve()):
        raise UsageError(
            f"--out {out_dir} is inside the run folder, which is never written to; choose another"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    return [_one(sent, index, fail_rate, seed, out_dir) for index, sent in enumerate(run.files, start=1)]


def _one(sent: SentFile, index: int, fail_rate: float, seed: int, out_dir: Path) -> Written:
    layout = sent.layout
    control, _ = bank.read_bank_file(sent.path, sent.encoding, layout=layout)
    lines = sent.lines()
    rng = random.Random(f"{seed}|{sent.file}")  # str seeds are hashed with SHA-512: the same on every machine
    codes, texts, weights = zip(*SAMPLE_REASONS, strict=True)
    failed, reason_codes, reason_texts = [], [], []
    for _ in range(lines.height):
        fails = rng.random() < fail_rate
        pick = rng.choices(range(len(codes)), weights)[0]
        failed.append(fails)
        reason_codes.append(codes[pick] if fails else "")
        reason_texts.append(texts[pick] if fails else "")
    words = {value: word for word, value in reversed(list(layout.returns.statuses.items()))}
    frame = lines.with_columns(
        failed=pl.Series(failed, dtype=pl.Boolean),
        reason_code=pl.Series(reason_codes, dtype=pl.String),
        reason_text=pl.Series(reason_texts, dtype=pl.String),
    )
    record = layout.returns.records.detail
    values = {
        "record": pl.lit(record.code),
        "reference": pl.col("reference"),
        "sequence": pl.col("reference").str.split("-").list.last().str.strip_chars_start("0"),
        "name": pl.col("name"),
        "id_number": pl.col("id_number"),
        "account": pl.col("account"),
        "amount": bank.amount_expr(pl.col("amount_fen"), layout),
        "memo": pl.lit(""),
        "status": pl.when(pl.col("failed"))
        .then(pl.lit(words["failed"]))
        .otherwise(pl.lit(words["succeeded"])),
        "reason_code": pl.col("reason_code"),
        "reason_text": pl.col("reason_text"),
    }
    details = frame.select(bankformat.detail_exprs(record, values))
    failed_fen = int(frame.filter("failed").get_column("amount_fen").sum())
    total_fen = int(frame.get_column("amount_fen").sum())
    n_failed = int(frame.get_column("failed").sum())
    facts = {
        "batch_id": str(control["batch_id"]),
        "period": str(control["period"]),
        "bank_name": str(control["bank_name"]),
        "count": str(lines.height),
        "total": _amount(total_fen, layout),
        "succeeded_count": str(lines.height - n_failed),
        "succeeded_total": _amount(total_fen - failed_fen, layout),
        "failed_count": str(n_failed),
        "failed_total": _amount(failed_fen, layout),
    }
    stem = Path(sent.file).stem
    path = out_dir / layout.returns.file_name.format(
        stem=stem, index=f"{index:02d}", bank=bank.safe_name(sent.bank_name)
    )
    if layout.format == "xlsx":
        bankformat.write_xlsx(path, layout.returns.sheet, layout.returns.records, facts, details)
    else:
        bankformat.write_text(
            path, layout, layout.returns.records, layout.file_encoding(sent.encoding), facts, details
        )
    return Written(path, sent.bank_name, lines.height, n_failed)


def _amount(fen: int, layout: Layout) -> str:
    return fen_text(fen) if layout.amount == "yuan" else str(fen)
