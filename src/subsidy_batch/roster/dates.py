"""Dates as clerks write them: YYYY-MM-DD, YYYY/M/D, YYYY.M.D, YYYY年M月D日, YYYYMMDD (with or without a
time of day), or an Excel serial day number."""

from __future__ import annotations

from datetime import date

import polars as pl

_EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 in the 1900 system (it counts the fictitious 1900-02-29)
# a time of day after the date (a date-time cell) is allowed and dropped
_TIME = r"(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
_SEPARATED = r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + "$"
_CHINESE = r"^(\d{4})年(\d{1,2})月(\d{1,2})日?" + _TIME + "$"
_COMPACT = r"^(\d{4})(\d{2})(\d{2})$"
_SERIAL = r"^(\d{4,5})(?:\.0+)?$"


def _ymd(col: pl.Expr, pattern: str) -> pl.Expr:
    parts = [col.str.extract(pattern, i).str.zfill(2) for i in (1, 2, 3)]
    return pl.concat_str(parts, separator="-").str.to_date("%Y-%m-%d", strict=False)


def parse_date(col: pl.Expr) -> pl.Expr:
    """The date a text cell means, or null when it is empty or not a real date (30 February is null)."""
    serial = col.str.extract(_SERIAL, 1).cast(pl.Int64, strict=False)
    from_serial = pl.lit(_EXCEL_EPOCH) + pl.duration(days=serial)
    return pl.coalesce(
        _ymd(col, _SEPARATED), _ymd(col, _COMPACT), _ymd(col, _CHINESE), from_serial.cast(pl.Date)
    )


def iso_date(col: pl.Expr) -> pl.Expr:
    """parse_date of text written exactly YYYY-MM-DD (ASCII digits), without its regular expressions; null
    for any other text. For such text parse_date's first form reads the same string the same way."""
    return pl.when(col.str.contains(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")).then(
        col.str.to_date("%Y-%m-%d", strict=False)
    )
