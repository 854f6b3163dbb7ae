"""Import a bank's result file (回盘) for one bank file of a run, check it, and record it immutably.

A result is accepted only when it answers exactly the batch it claims to: the run's batch id, every line
of the bank file answered once with the same reference, ID number and amount, and control totals that add
up. It is then recorded as its own folder beside the run (SentRun.returns_dir): the file as the bank sent
it, returns.parquet, the reasons table used and returns.json with every checksum. The run's own folder,
and so its verify, never changes.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch import __version__
from subsidy_batch.errors import BankFileError, ReturnsError, RunLockedError, StorageError
from subsidy_batch.money import DECIMAL, fen_text, fen_to_decimal
from subsidy_batch.outputs import bank, bankformat, emit
from subsidy_batch.returns.sent import SentFile, SentRun, sent_run
from subsidy_batch.rules.layouts import REASON_CODES, Layout, Reasons, load_reasons
from subsidy_batch.runs.manifest import now_local
from subsidy_batch.runs.records import damaged, read_record, text_fields
from subsidy_batch.runs.store import county_dir_of, lock_holder, pid_alive, superseded_note

RECORD = "returns.json"  # not manifest.json: `verify runs` looks for runs by that name
PARQUET = "returns.parquet"
_COLUMNS: dict[str, Any] = {
    "period": pl.String,
    "county": pl.String,
    "run_id": pl.String,
    "bank_name": pl.String,
    "bank_file": pl.String,
    "reference": pl.String,
    "id_number": pl.String,
    "name": pl.String,
    "bank_account": pl.String,
    "amount": DECIMAL,
    "status": pl.String,  # succeeded / failed
    "reason": pl.String,  # null when succeeded; else one of REASON_CODES
    "bank_reason_code": pl.String,  # the bank's own code and text, as it wrote them
    "bank_reason_text": pl.String,
}
RETURNS = pl.Schema(_COLUMNS)


@dataclass(frozen=True)
class Imported:
    record_dir: Path
    record: dict[str, Any]


def parse_result(path: Path, layout: Layout, encoding: str) -> tuple[dict[str, object], pl.DataFrame]:
    """A result file read by the layout's return declaration: its control facts, and per line reference,
    id_number, account, amount_fen, status (succeeded/failed), bank_reason_code and bank_reason_text."""
    spec = layout.returns
    if layout.format == "xlsx":
        raw, lines = bankformat.read_xlsx(path, spec.sheet, spec.records, layout.amount)
    else:
        raw, lines = bankformat.read_text(
            path, layout, spec.records, layout.file_encoding(encoding), any_line_end=True
        )
    control = bank.control_facts(raw, layout, path)
    for key in ("succeeded_count", "failed_count"):
        if key in control and not str(control[key]).isdigit():
            raise BankFileError(f"{path.name}: the control record's {key} is not a whole number")
    for key in ("succeeded_total", "failed_total"):
        if key in control:
            if not re.fullmatch(bank.AMOUNT_PATTERNS[layout.amount], str(control[key])):
                raise BankFileError(f"{path.name}: the control record's {key} is not an amount")
            control[key] = bank.parse_fen(str(control[key]), layout)
    for key in ("succeeded_count", "failed_count"):
        if key in control:
            control[key] = int(str(control[key]))
    # a blank reason cell reads as null in some formats and "" in others
    lines = bank.detail_facts(lines.fill_null(""), layout, path, str(control["batch_id"]))
    words = spec.statuses
    unknown = lines.filter(~pl.col("status").is_in(list(words)))
    if unknown.height:
        raise BankFileError(
            f"{path.name}: line {unknown.item(0, 'reference')} has status {unknown.item(0, 'status')!r}, which "
            f"the layout {layout.name} does not declare (known: {', '.join(words)}); ask the bank what it "
            f"means: a word it uses for paid or failed belongs in returns.statuses of config/banks/"
            f"{layout.name}.yaml (a config change)"
        )
    for column in ("name", "id_number", "account", "reason_code"):
        if column not in lines.columns:
            lines = lines.with_columns(pl.lit(None, pl.String).alias(column))
    return control, lines.select(
        "reference",
        "name",
        "id_number",
        "account",
        "amount_fen",
        pl.col("status").replace_strict(words, return_dtype=pl.String),
        pl.col("reason_code").alias("bank_reason_code"),
        pl.col("reason_text").alias("bank_reason_text"),
    )


def _choose(
    run: SentRun, path: Path, bank_name: str | None
) -> tuple[SentFile, dict[str, object], pl.DataFrame]:
    """The bank file a result answers: the one named by --bank, else the one whose layout reads the
    result and whose bank the result names (or the only one in that layout)."""
    if not run.files:
        raise ReturnsError(f"{run.run_dir} sent no bank files; there is nothing a bank could answer")
    if bank_name is not None:
        chosen = [f for f in run.files if bank_name in (f.bank_name, Path(f.file).name, Path(f.file).stem)]
        if not chosen:
            known = "; ".join(f.bank_name for f in run.files)
            raise ReturnsError(f"--bank {bank_name!r} is not a bank of {run.run_dir} (its banks: {known})")
        control, lines = _parse(chosen[0], path)
        return chosen[0], control, lines
    problems = []
    for layout_name in sorted({f.layout.name for f in run.files}):
        candidates = [f for f in run.files if f.layout.name == layout_name]
        try:
            control, lines = parse_result(path, candidates[0].layout, candidates[0].encoding)
        except BankFileError as exc:
            problems.append(f"as {layout_name}: {exc}")
            continue
        if control["batch_id"] != run.manifest.run_id:
            _refuse_other_batch(run, control, path.name)
        named = [f for f in candidates if control["bank_name"] in (f.bank_name, bank.neutralise(f.bank_name))]
        if len(named) == 1 or (len(candidates) == 1 and not control["bank_name"]):
            return (named or candidates)[0], control, lines
        problems.append(
            f"as {layout_name}: it names bank {control['bank_name']!r}; say which bank with --bank"
        )
    raise ReturnsError(
        f"{path.name} is not a result file for any bank file of {run.run_dir} ({'; '.join(problems)})"
    )


def _parse(sent: SentFile, path: Path) -> tuple[dict[str, object], pl.DataFrame]:
    try:
        return parse_result(path, sent.layout, sent.encoding)
    except BankFileError as exc:
        raise ReturnsError(
            f"{path.name} is not a result file in the {sent.layout.name} layout of {sent.file}: {exc}"
        ) from exc


def _refuse_other_batch(run: SentRun, control: dict[str, object], name: str) -> None:
    raise ReturnsError(
        f"{name} answers batch {control['batch_id']!r}, not this run's batch {run.manifest.run_id} "
        f"({run.run_dir}); import it into the run it answers"
    )


def check(
    run: SentRun, sent: SentFile, control: dict[str, object], lines: pl.DataFrame, name: str
) -> pl.DataFrame:
    """Every check of a result against the bank file it answers; returns the sent lines joined with the
    answers. Raises ReturnsError with the first problem found."""
    if control["batch_id"] != run.manifest.run_id:
        _refuse_other_batch(run, control, name)
    if control["bank_name"] and control["bank_name"] not in (sent.bank_name, bank.neutralise(sent.bank_name)):
        raise ReturnsError(
            f"{name} is the result of bank {control['bank_name']!r}, not of {sent.bank_name} ({sent.file})"
        )
    twice = lines.filter(pl.col("reference").is_duplicated())
    if twice.height:
        raise ReturnsError(
            f"{name} answers reference {twice.item(0, 'reference')} twice; a bank answers each line once"
        )
    sent_lines = sent.lines()
    unknown = lines.join(sent_lines, on="reference", how="anti")
    if unknown.height:
        raise ReturnsError(
            f"{name} answers reference {unknown.item(0, 'reference')}, which {sent.file} never sent"
        )
    missing = sent_lines.join(lines, on="reference", how="anti")
    if missing.height:
        raise ReturnsError(
            f"{name} leaves {missing.height} line(s) of {sent.file} unanswered (first: {missing.item(0, 'reference')}); "
            "a result must answer every line, ask the bank for the complete file"
        )
    joined = sent_lines.join(lines, on="reference", how="inner", suffix="_returned").sort("reference")
    wrong = joined.filter(pl.col("amount_fen") != pl.col("amount_fen_returned"))
    if wrong.height:
        row = wrong.row(0, named=True)
        raise ReturnsError(
            f"{name}: reference {row['reference']} returns {fen_text(row['amount_fen_returned'])} yuan, but "
            f"{sent.file} sent {fen_text(row['amount_fen'])}"
        )
    other_id = joined.filter(
        pl.col("id_number_returned").is_not_null()
        & (pl.col("id_number_returned") != "")
        & (pl.col("id_number_returned") != pl.col("id_number"))
    )
    if other_id.height:
        raise ReturnsError(
            f"{name}: reference {other_id.item(0, 'reference')} returns another ID number than was sent"
        )
    other_account = joined.filter(
        pl.col("account_returned").is_not_null()
        & (pl.col("account_returned") != "")
        & (pl.col("account_returned") != pl.col("account"))
    )
    if other_account.height:
        raise ReturnsError(
            f"{name}: reference {other_account.item(0, 'reference')} returns another bank account than was "
            "sent; ask the bank which account it paid"
        )
    # a line the bank says it paid, to a holder by another name than was sent: whom did it pay? (a failed
    # line may well carry the holder's own name: that is what name_mismatch says)
    other_name = joined.filter(
        pl.col("status") == "succeeded",
        _name(pl.col("name_returned")) != "",
        _name(pl.col("name_returned")) != _name(pl.col("name")),
    )
    if other_name.height:
        raise ReturnsError(
            f"{name}: reference {other_name.item(0, 'reference')} says it paid a holder by another name than "
            "was sent; ask the bank whom it paid, and for the file again, before anything is recorded"
        )
    lines_fen = int(lines.get_column("amount_fen").sum())
    stated = (control["items"], Decimal(str(control["total"])))
    if stated != (lines.height, bank.fen_to_yuan(lines_fen)) or stated != (sent.items, sent.total):
        raise ReturnsError(
            f"{name}: its control record states {stated[0]} lines and {stated[1]} yuan, its lines hold "
            f"{lines.height} and {fen_text(lines_fen)}, the bank file sent {sent.items} and {sent.total}; "
            "the totals do not add up, so nothing was recorded (ask the bank for the file again)"
        )
    for status in ("succeeded", "failed"):
        of = lines.filter(pl.col("status") == status)
        count, fen = control.get(f"{status}_count"), control.get(f"{status}_total")
        if (count is not None and count != of.height) or (
            fen is not None and fen != int(of.get_column("amount_fen").sum())
        ):
            raise ReturnsError(
                f"{name}: its control record's {status} count or total disagrees with its {status} lines "
                f"({of.height}, {fen_text(int(of.get_column('amount_fen').sum()))} yuan); nothing was recorded"
            )
    no_reason = joined.filter(
        (pl.col("status") == "failed")
        & (pl.col("bank_reason_text") == "")
        & (pl.col("bank_reason_code").fill_null("") == "")
    )
    if no_reason.height:
        raise ReturnsError(f"{name}: failed line {no_reason.item(0, 'reference')} gives no reason")
    return joined


def _name(col: pl.Expr) -> pl.Expr:
    """A name as two files may write the same one: without spaces, a formula guard ('), or the middle
    dot's variants (阿卜杜·热合曼, 阿卜杜•热合曼)."""
    return (
        col.fill_null("").str.strip_prefix("'").str.replace_all(r"\s", "").str.replace_all("[•・‧．.]", "·")
    )


def _frame(run: SentRun, sent: SentFile, joined: pl.DataFrame, reasons: Reasons) -> pl.DataFrame:
    failed = pl.col("status") == "failed"
    codes = [
        reasons.code(code or "", text or "") if status == "failed" else None
        for status, code, text in joined.select("status", "bank_reason_code", "bank_reason_text").iter_rows()
    ]
    assert all(c is None or c in REASON_CODES for c in codes)
    m = run.manifest
    return joined.select(
        pl.lit(m.period).alias("period"),
        pl.lit(m.county).alias("county"),
        pl.lit(m.run_id).alias("run_id"),
        pl.lit(sent.bank_name).alias("bank_name"),
        pl.lit(sent.file).alias("bank_file"),
        "reference",
        "id_number",
        pl.col("name").str.strip_prefix("'") if sent.layout.neutralise_formulas else pl.col("name"),
        pl.col("account").alias("bank_account"),
        fen_to_decimal(pl.col("amount_fen")).alias("amount"),
        "status",
        pl.Series("reason", codes, pl.String),
        pl.when(failed & (pl.col("bank_reason_code") != ""))
        .then(pl.col("bank_reason_code"))
        .alias("bank_reason_code"),
        pl.when(failed & (pl.col("bank_reason_text") != ""))
        .then(pl.col("bank_reason_text"))
        .alias("bank_reason_text"),
    ).cast(RETURNS)


def summary(frame: pl.DataFrame) -> dict[str, Any]:
    """Succeeded count and amount; failed count and amount, in all and by reason code."""

    def part(rows: pl.DataFrame) -> dict[str, Any]:
        return {"count": rows.height, "amount": f"{rows.get_column('amount').sum() or Decimal(0):.2f}"}

    failed = frame.filter(pl.col("status") == "failed")
    return {
        "succeeded": part(frame.filter(pl.col("status") == "succeeded")),
        "failed": part(failed)
        | {"by_reason": {code: part(failed.filter(pl.col("reason") == code)) for code in REASON_CODES}},
    }


def records(run: SentRun) -> list[tuple[Path, dict[str, Any]]]:
    """Every accepted result of the run: its folder and returns.json, in folder name order."""
    run_id = run.manifest.run_id
    return [(path.parent, read_answer_record(path, run_id)) for path in record_paths(run.returns_dir)]


def record_paths(root: Path) -> list[Path]:
    """The returns.json of every answer recorded under root (one folder each, in name order), whether or
    not the file is still there; a folder being written (a dot name) is not an answer yet. Anything else
    where answers are kept (a file) is refused as damaged: it may be an answer a restore cut short."""
    if not root.exists():
        return []
    entries = sorted(root.iterdir()) if root.is_dir() else [root]
    for entry in entries:
        if not entry.is_dir() and not entry.name.startswith("."):
            raise damaged(entry, "it is a file where the bank's answers are kept as folders", DAMAGED)
    return [p / RECORD for p in entries if p.is_dir() and not p.name.startswith(".")]


# Refusing is right: an answer skipped would leave its failed lines neither held nor reissued.
DAMAGED = (
    "it is a bank's accepted answer, which every later run reads to hold and reissue the lines that failed: "
    "restore its folder from a backup (never delete it), then run again"
)
_RECORD_TEXT = ("run_id", "bank_file", "file", "file_sha256", "imported_at")


def read_answer_record(path: Path, run_id: str | None = None) -> dict[str, Any]:
    """A returns.json, checked for the fields the program reads; VerifyError naming the file and field
    when it cannot be read, is not JSON or has lost one (a missing record is named the same way), or, given
    `run_id` (the run whose folder it is kept under), when it records an answer to another run."""
    if not path.is_file():
        raise damaged(path, "it is missing", DAMAGED)
    record = text_fields(read_record(path, DAMAGED), path, _RECORD_TEXT, DAMAGED)
    outputs = record.get("outputs")
    if (
        not isinstance(outputs, list)
        or len(outputs) != 1
        or not isinstance(outputs[0], dict)
        or outputs[0].get("file") != PARQUET
        or not isinstance(outputs[0].get("sha256"), str)
    ):
        raise damaged(path, f'"outputs" is not the one entry for {PARQUET} with its sha256', DAMAGED)
    if run_id is not None and record["run_id"] != run_id:  # copied from another run's folder
        raise damaged(
            path,
            f"it records an answer to run {record['run_id']}, but it is kept under run {run_id}",
            DAMAGED,
        )
    return record


def read_answer(path: Path, run_id: str | None = None) -> pl.DataFrame:
    """The lines of one accepted answer (returns.parquet beside the returns.json at `path`), after checking
    it against the checksum its record holds: a damaged or edited answer is refused (VerifyError), never read.
    `run_id`: the run it is kept under (read_answer_record)."""
    record = read_answer_record(path, run_id)
    lines = path.parent / PARQUET
    if not lines.is_file():
        raise damaged(lines, "it is missing", DAMAGED)
    if emit.sha256_file(lines) != record["outputs"][0]["sha256"]:
        raise damaged(lines, f"it does not match its checksum in {RECORD}", DAMAGED)
    try:
        frame = pl.read_parquet(lines)
    except (pl.exceptions.PolarsError, OSError) as exc:  # its record was rewritten to match a bad file
        raise damaged(lines, "it is not a Parquet file this program can read", DAMAGED) from exc
    if frame.schema != RETURNS:
        raise damaged(lines, "its columns are not those of a recorded answer", DAMAGED)
    return frame


def import_returns(
    run_dir: Path, path: Path, bank_name: str | None = None, config_dir: Path = Path("config")
) -> Imported:
    """Check a bank's result file against the run's batch and record it; ReturnsError when it is refused."""
    run = sent_run(run_dir)
    if not path.is_file():
        raise ReturnsError(f"result file {path} does not exist")
    _refuse_superseded(run)
    digest = emit.sha256_file(path)
    reasons = load_reasons(config_dir)
    with _locked(run):
        for folder, done in records(run):
            if done["file_sha256"] == digest:
                raise ReturnsError(
                    f"{path.name} was already imported on {done['imported_at']} ({folder}); a result is recorded once"
                )
        _refuse_no_answer(run, path, digest)
        try:
            sent, control, lines = _choose(run, path, bank_name)
        except ReturnsError as exc:
            # only where the reading failed on its encoding, the one thing a re-save surely changes
            raise (_resaved(run, path) if "cannot be read as" in str(exc) else None) or exc from None
        joined = check(run, sent, control, lines, path.name)
        for folder, done in records(run):
            if done["bank_file"] == sent.file:
                raise ReturnsError(
                    f"{sent.file} already has an accepted result ({folder.name}, imported {done['imported_at']}); "
                    f"{path.name} answers the same lines again, so it was not recorded"
                )
        frame = _frame(run, sent, joined, reasons)
        return _write(run, sent, path, digest, frame, reasons)


def _refuse_no_answer(run: SentRun, path: Path, digest: str) -> None:
    """An empty file, or one of the run's own bank files given back: no answer, said as such."""
    if path.stat().st_size == 0:
        raise ReturnsError(
            f"{path.name} is empty (0 bytes), so it holds no answer; ask the bank to send its result file "
            f"(回盘) for batch {run.manifest.run_id} again, and import that"
        )
    for sent in run.files:
        if sent.sha256 == digest:
            raise ReturnsError(
                f"{path.name} is the bank file this run sent ({sent.file}), not the bank's answer to it; import "
                "the result file (回盘) the bank returned for it"
            )


def _resaved(run: SentRun, path: Path) -> ReturnsError | None:
    """A result file that is UTF-8 text where the run's bank files (and so their answers) are GB18030:
    opened and saved again in Excel or WPS, which may change more than the encoding."""
    if not any(sent.encoding.lower().replace("-", "") == "gb18030" for sent in run.files):
        return None
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    if text.isascii():
        return None  # the same bytes in both encodings: something else is wrong
    return ReturnsError(
        f"{path.name} is UTF-8 text, while this run's bank files and the banks' answers to them are GB18030: "
        "it was probably opened and saved again in Excel or WPS, which may change more than the encoding. "
        "Import the result file as the bank sent it (ask the bank for it again if it is lost)"
    )


def _refuse_superseded(run: SentRun) -> None:
    """A superseded run's bank files were replaced before they were released and are never to be paid:
    an answer to them means they reached the bank beside, or instead of, the accepted run's files."""
    m = run.manifest
    note = superseded_note(county_dir_of(run.run_dir), m.period, m.run_id)
    if note is not None:
        raise ReturnsError(
            f"{m.run_id} was superseded by {note['superseded_by']} on {note['superseded_at']}: its bank files "
            "were replaced and must never be paid, so this answer was not recorded. Ask the bank which batch "
            f"it paid, and do not send {note['superseded_by']}'s files for lines it already paid"
        )


def _write(
    run: SentRun, sent: SentFile, path: Path, digest: str, frame: pl.DataFrame, reasons: Reasons
) -> Imported:
    root = run.returns_dir
    target = root / f"{Path(sent.file).stem}-{digest[:10]}"
    staging = root / f".{target.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir(parents=True)
        shutil.copyfile(path, staging / path.name)
        shutil.copyfile(reasons.source, staging / reasons.source.name)
        emit.write_parquet(frame, staging / PARQUET)
        m = run.manifest
        record = {
            "kind": "bank_returns",
            "version": 1,
            "tool_version": __version__,
            "run_id": m.run_id,
            "county": m.county,
            "period": m.period,
            "run_dir": str(run.run_dir),
            "bank_name": sent.bank_name,
            "bank_file": sent.file,
            "bank_file_sha256": sent.sha256,
            "layout": sent.layout.name,
            "file": path.name,
            "file_sha256": digest,
            "reasons": {"file": reasons.source.name, "sha256": emit.sha256_file(reasons.source)},
            "outputs": [
                {"file": PARQUET, "rows": frame.height, "sha256": emit.sha256_file(staging / PARQUET)}
            ],
            "summary": summary(frame),
            "imported_at": now_local(),
        }
        emit.write_json(record, staging / RECORD)
        try:
            _refuse_superseded(run)  # again: the run may have been superseded while this was drafted
        except ReturnsError:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        os.rename(staging, target)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise ReturnsError(
                f"{path.name} was already imported ({target}); a result is recorded once"
            ) from exc
        raise StorageError(f"cannot record the result under {root}: {exc.strerror or exc}") from exc
    return Imported(target, record)


@contextmanager
def _locked(run: SentRun):  # type: ignore[no-untyped-def]
    """One import at a time per run: two clerks importing at once could both pass the duplicate check."""
    lock = run.returns_dir / ".lock"
    for _ in range(2):
        try:
            run.returns_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            try:
                holder = lock_holder(lock.read_text(errors="replace").strip())
            except FileNotFoundError:  # let go of between the open and the read
                continue
            except OSError as exc:
                raise StorageError(f"cannot read the import lock {lock}: {exc.strerror or exc}") from exc
            if not (holder and pid_alive(holder)):  # its process is gone, or it holds no process id
                lock.unlink(missing_ok=True)  # take it over
                continue
            raise RunLockedError(
                f"another import into {run.run_dir} is in progress (process {holder}); try again"
            ) from None
        except OSError as exc:  # a read-only or full runs folder: nothing was recorded
            raise StorageError(
                f"cannot record the result under {run.returns_dir}: {exc.strerror or exc}; check that the "
                "runs folder is writable and has free space, then import again"
            ) from exc
    else:
        raise RunLockedError(f"another import into {run.run_dir} is in progress; try again")
    try:
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        yield
    finally:
        lock.unlink(missing_ok=True)
        # a refused answer leaves no trace: the folders made for the lock go, where nothing else is in them
        for folder in (run.returns_dir, run.returns_dir.parent):
            try:
                folder.rmdir()
            except OSError:
                break  # not empty (an answer is recorded), or already gone


def returns_of(run_dir: Path) -> pl.DataFrame:
    """Every accepted bank result of a run, one row per answered line (the RETURNS columns, then `record`,
    the folder it is recorded in), sorted by bank file and reference; empty when none was imported.

    Each record's returns.parquet is checked against the checksum in its returns.json.
    """
    run = sent_run(run_dir)
    frames = []
    for folder, _ in records(run):
        frames.append(read_answer(folder / RECORD).with_columns(record=pl.lit(folder.name)))
    if not frames:
        return pl.DataFrame(schema=RETURNS | {"record": pl.String})
    return pl.concat(frames).sort("bank_file", "reference")


def returned_items(run_dir: Path) -> pl.DataFrame:
    """The paid line items behind every failed line (a bank line pays the sum of a person's paid items):
    the run's line_items.parquet rows, with the line's reference, reason and bank texts."""
    failed = returns_of(run_dir).filter(pl.col("status") == "failed")
    items = pl.read_parquet(run_dir / "line_items.parquet")
    key = "id_number" if "id_number" in items.columns else "facility_id"
    paid = items.filter(pl.col("status") == "paid")
    return paid.join(
        failed.select(
            pl.col("id_number").alias(key),
            "reference",
            "bank_name",
            "reason",
            "bank_reason_code",
            "bank_reason_text",
        ),
        on=key,
        how="inner",
    ).sort(key, *(["benefit"] if "benefit" in paid.columns else []))
