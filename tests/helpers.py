"""Builders for hand-made rosters and a short path through validate -> compute for rule tests."""

from __future__ import annotations

import itertools
import struct
import zipfile
import zlib
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import polars as pl
from typer.testing import CliRunner, Result

from subsidy_batch.cli import app
from subsidy_batch.period import Period
from subsidy_batch.roster.read import ROW, RawRoster
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import line_items
from subsidy_batch.rules.config import load_county

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_seq = itertools.count(1)


def make_id(birth: str, area: str = "370829", seq: int | None = None) -> str:
    """A valid 18-character ID for a birth date YYYY-MM-DD (GB 11643 check character computed here)."""
    seq = next(_seq) % 1000 if seq is None else seq
    first17 = f"{area}{birth.replace('-', '')}{seq:03d}"
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return first17 + "10X98765432"[total % 11]


def person(
    birth: str,
    *,
    hukou: str = "370829",
    income: str = "none",
    grade: str = "",
    fp: str = "",
    residence: str = "rural",
    death: str = "",
    account: str | None = None,
    bank: str = "中国农业银行",
    area: str | None = None,
    name: str = "测试",
    support_mode: str = "",
    disability_grade: str = "",
    disability_category: str = "",
    long_term_care: str = "",
    eligible_from: str = "",
) -> dict[str, str]:
    """One roster row; the optional columns (能力评估等级, 供养方式, 残疾等级, …) are empty unless given.

    Each person has an account of their own unless one is given (62284 and the ID's birth date and
    sequence number): one name and account under two IDs is held as one person listed twice."""
    id_number = make_id(birth, area or hukou)
    return {
        "id_number": id_number,
        "name": name,
        "hukou_code": hukou,
        "township": "纸坊镇",
        "residence": residence,
        "income_status": income,
        "ability_grade": grade,
        "family_planning": fp,
        "death_date": death,
        "bank_name": bank,
        "bank_account": f"62284{id_number[6:17]}" if account is None else account,
        "tekun_support_mode": support_mode,
        "disability_grade": disability_grade,
        "disability_category": disability_category,
        "long_term_care": long_term_care,
        "eligible_from": eligible_from,
    }


def raw_roster(rows: list[dict[str, str]], source: str = "test.csv") -> RawRoster:
    columns = list(load_schema().columns)
    frame = pl.DataFrame(
        [{c: (r.get(c) or None) for c in columns} for r in rows], schema={c: pl.String for c in columns}
    ).with_row_index(ROW, offset=1)
    return RawRoster(frame.with_columns(pl.col(ROW).cast(pl.Int64)), Path(source), "utf-8", ())


@dataclass(frozen=True)
class Item:
    amount: Decimal | None
    status: str
    hold_reason: str | None
    rule: str


def entitlements(
    county: str, period: str, rows: list[dict[str, str]], config: Path = CONFIG
) -> dict[tuple[str, str], Item]:
    """(id_number, benefit) -> what the engine decides, for people that pass validation."""
    schema = load_schema()
    checked = validate(raw_roster(rows), schema, period, county)
    assert checked.rejected.height == 0, checked.rejected.to_dicts()
    items = line_items(checked.accepted, load_county(config, county), Period.parse(period))
    return {
        (r["id_number"], r["benefit"]): Item(
            None if r["amount_fen"] is None else Decimal(r["amount_fen"]) / 100,
            r["status"],
            r["hold_reason"],
            r["rule"],
        )
        for r in items.iter_rows(named=True)
    }


def benefits_of(county: str, period: str, row: dict[str, str], config: Path = CONFIG) -> dict[str, Item]:
    """The benefits one person gets: benefit -> Item (config: another config folder, e.g. an edited copy)."""
    found = entitlements(county, period, [row], config)
    return {benefit: item for (_, benefit), item in found.items()}


def stored_parts(path: Path) -> dict[str, tuple[bytes, bytes]]:
    """Each part of a zip (a workbook): (its bytes as stored in the zip, its contents)."""
    found: dict[str, tuple[bytes, bytes]] = {}
    with zipfile.ZipFile(path) as archive, path.open("rb") as raw:
        for info in archive.infolist():
            raw.seek(info.header_offset)
            header = raw.read(30)  # the local file header; the part follows its name and extra field
            name_length, extra_length = struct.unpack("<HH", header[26:30])
            raw.seek(info.header_offset + 30 + name_length + extra_length)
            found[info.filename] = (raw.read(info.compress_size), archive.read(info))
    return found


def deflate_levels(path: Path) -> dict[str, set[int]]:
    """Each part of a zip (a workbook) and the zlib levels (of 1-9) whose deflate gives its stored bytes
    exactly: a small part may come out the same at several levels."""
    found: dict[str, set[int]] = {}
    for name, (stored, data) in stored_parts(path).items():
        found[name] = set()
        for level in range(1, 10):
            deflate = zlib.compressobj(level, zlib.DEFLATED, -15)
            if deflate.compress(data) + deflate.flush() == stored:
                found[name].add(level)
    return found


def cli(*args: str) -> Result:
    """The CLI run in this process (typer's runner), stdout and stderr apart."""
    return CliRunner().invoke(app, list(args))


def no_traceback(result: Result) -> None:
    assert "Traceback" not in result.output and "Traceback" not in (result.stderr or "")
    assert result.exception is None or isinstance(result.exception, SystemExit)


def only_error(result: Result, code: int, message: str) -> None:
    """Exit `code`, and stderr is exactly `message` on one line."""
    no_traceback(result)
    assert result.exit_code == code, result.output
    assert result.stderr == f"error: {message}\n"


CHECKER, APPROVER = "李审核", "张局长"  # the two people who check and approve a run in tests


def approved(run_dir: Path) -> Path:
    """The run checked (审核) and approved (审批) by two people, as `release` requires; the steps already
    recorded are left as they are. Returns run_dir."""
    from subsidy_batch.runs.approval import approvals, approve

    done = approvals(run_dir)
    for step, by in (("check", CHECKER), ("approve", APPROVER)):
        if done[step] is None:
            approve(run_dir, step, by)
    return run_dir
