"""Read a roster file (CSV, XLSX, Parquet) into an all-text frame with canonical English headers."""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from subsidy_batch.errors import RosterError
from subsidy_batch.frames import cut_like
from subsidy_batch.schema import RosterSchema

ROW = "row"  # 1-based data row number, as a clerk counts rows below the header
SUFFIXES = (".parquet", ".xlsx", ".csv")


@dataclass(frozen=True)
class RawRoster:
    frame: pl.DataFrame
    source: Path
    encoding: str
    ignored_columns: tuple[str, ...]


def _decode_csv(path: Path) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding found; never decodes lossily."""
    data = path.read_bytes()
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
        encoding = "utf-8-sig"
    else:
        encoding = "utf-8"
    try:
        data.decode("utf-8")
        return data, encoding
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030").encode("utf-8"), "gb18030"
    except UnicodeDecodeError as exc:
        raise RosterError(
            f"cannot read {path.name}: it is neither UTF-8 nor GB18030 (bad byte at offset {exc.start}); "
            "save it from Excel as 'CSV UTF-8' and run again"
        ) from exc


def _read_any(path: Path) -> tuple[pl.DataFrame, str]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data, encoding = _decode_csv(path)
            frame = pl.read_csv(io.BytesIO(data), infer_schema=False, truncate_ragged_lines=False)
            return frame, encoding
        if suffix == ".xlsx":
            return pl.read_excel(path, sheet_id=1, infer_schema_length=0), "xlsx"
        if suffix == ".parquet":
            frame = pl.read_parquet(path)
            return frame.with_columns(pl.exclude(pl.String).cast(pl.String)), "parquet"
    except RosterError:
        raise
    except Exception as exc:  # any reader failure means the file cannot be used; say which and why
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.replace(str(path), path.name)
        raise RosterError(
            f"cannot read roster {path.name}: {detail}; check that it opens in Excel or WPS, save it again "
            "as .xlsx or CSV UTF-8 and run again"
        ) from exc
    raise RosterError(f"roster {path.name} is not .csv, .xlsx or .parquet")


def read_roster(path: Path, schema: RosterSchema) -> RawRoster:
    """Read every column as text, map English or Chinese headers, and number the data rows from 1."""
    if not path.is_file():
        raise RosterError(f"roster file {path} does not exist")
    frame, encoding = _read_any(path)
    header_map = schema.header_map()
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for header in frame.columns:
        canonical = header_map.get(header.strip().lstrip("\ufeff"))
        if canonical is None or canonical in renames.values():
            ignored.append(header)
        else:
            renames[header] = canonical
    missing = [c for c in schema.required if c not in renames.values()]
    if missing:
        named = ", ".join(f"{c} ({schema.columns[c].zh})" for c in missing)
        raise RosterError(
            f"roster {path.name} lacks required column(s) {named}; add them with these English or "
            "Chinese headers and run again"
        )
    frame = frame.select(
        [pl.col(src).cast(pl.String).alias(dst) for src, dst in renames.items()]
        + [pl.lit(None, pl.String).alias(c) for c in schema.columns if c not in renames.values()]
    )
    rows = pl.int_range(1, frame.height + 1, dtype=pl.Int64, eager=True).alias(ROW)
    frame = frame.insert_column(0, cut_like(rows, frame.to_series(0)) if frame.width else rows)
    return RawRoster(frame, path, encoding, tuple(ignored))


def default_roster(rosters_dir: Path, county: str, period: str) -> Path:
    """rosters/<county>/<period>.parquet|.xlsx|.csv: exactly one must exist (CONTRACT.md)."""
    found = [rosters_dir / county / f"{period}{s}" for s in SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) != 1:
        what = "no roster" if not found else f"{len(found)} rosters ({', '.join(p.name for p in found)})"
        raise RosterError(
            f"found {what} for {county} {period} in {rosters_dir / county}; exactly one of "
            f"{period}.parquet, {period}.xlsx or {period}.csv must exist, or pass --roster PATH"
        )
    return found[0]
