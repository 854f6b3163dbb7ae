"""Workbooks a clerk opens in Excel or WPS: rejected.xlsx, and (later) report.xlsx and 公示 lists.

Each sheet has a title row, a bold header row that stays in view (frozen) with an autofilter, set column
widths and one row per record. Every cell is written as what it is (text stays text: an ID is never
turned into a number, a value starting "=" never into a formula). The same rows give the same bytes: the
workbook's created time is fixed and xlsxwriter dates every part of the file 1980-01-01.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import xlsxwriter.exceptions

from subsidy_batch.errors import StorageError
from subsidy_batch.outputs import xlsxbulk as bulk
from subsidy_batch.outputs import xlsxzip
from subsidy_batch.roster import idnumber
from subsidy_batch.roster.read import split_source

# the workbook's created time, fixed so that writing the same rows twice gives the same bytes
CREATED = datetime(2000, 1, 1)
CELL_LIMIT = 32_767  # characters Excel holds in a cell
ROW_LIMIT = 1_048_576  # rows an Excel sheet holds
SHOWN = 60  # characters of a rejected row's name shown (a 100,000-character name is not)
# the signature block that ends a sheet a clerk prints and signs (report.xlsx, returned-funds)
SIGNATURE = (("经办人：", "", "审核人：", "", "负责人：", ""), ("日期：", "    年    月    日"))
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Cell = str | int | Decimal | None


@dataclass(frozen=True)
class Column:
    header: str
    width: float = 12  # in Excel's units: about one digit or half a Chinese character each
    wrap: bool = False  # long text (a message) wraps within its width


@dataclass(frozen=True)
class Table:
    """A further table on a sheet, below the first after a blank row: its title, columns and rows."""

    title: str
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[Cell]] | pl.DataFrame


@dataclass(frozen=True)
class Sheet:
    """One sheet: name (at most 31 characters, none of []:*?/\\), its title row, columns and rows.

    `more` tables follow the first (then the sheet has no autofilter: a filter spans one table), and the
    `footer` lines end the sheet, one row each (a signature block: 经办人 / 审核人 / 负责人, 日期). `printed`
    sets the page up for printing: A4 landscape, one page wide, the header row repeated on every page.
    """

    name: str
    title: str
    columns: tuple[Column, ...]
    rows: Iterable[Sequence[Cell]] | pl.DataFrame  # a frame: String, integer and Decimal columns
    more: tuple[Table, ...] = ()
    footer: tuple[tuple[str, ...], ...] = ()
    printed: bool = False


def _text(value: str) -> str:
    """Text as a cell holds it: control characters as U+FFFD (XML cannot hold most of them), cut to the
    characters a cell holds."""
    value = _CONTROL.sub("\ufffd", value)
    return value if len(value) <= CELL_LIMIT else value[: CELL_LIMIT - 1] + "…"


def write_sheets(path: Path, sheets: Sequence[Sheet], created: datetime = CREATED) -> None:
    """Write the sheets to an .xlsx workbook at path, in order.

    Text is written as text, int as a number, Decimal as a number shown with two decimals (Excel holds a
    double: exact for amounts below 10^13 yuan), None as an empty cell.
    """
    options = {
        "constant_memory": True,  # rows go to disk as they are written: a sheet of millions of rows fits
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    try:
        book = xlsxzip.workbook(path, options)
        book.set_properties({"created": created})
        bold = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7", "text_wrap": True})
        title_format = book.add_format({"bold": True, "font_size": 14})
        money = book.add_format({"num_format": "#,##0.00"})
        wrapped = book.add_format({"text_wrap": True, "valign": "top"})
        for sheet in sheets:
            ws = book.add_worksheet(sheet.name)
            widths: dict[int, float] = {}
            tables: tuple[Sheet | Table, ...] = (sheet, *sheet.more)
            for table in tables:
                for c, column in enumerate(table.columns):
                    widths[c] = max(widths.get(c, 0), column.width)
            for c, width in widths.items():
                ws.set_column(c, c, width)
            if sheet.printed:
                ws.set_paper(9)  # A4
                ws.set_landscape()
                ws.fit_to_pages(1, 0)
                ws.repeat_rows(1)
            ws.write_string(0, 0, _text(sheet.title), title_format)
            first_last = last = _table(ws, sheet.name, sheet, 1, bold, money, wrapped)
            for table in sheet.more:
                ws.write_string(last + 2, 0, _text(table.title), title_format)
                last = _table(ws, sheet.name, table, last + 3, bold, money, wrapped)
            for r, line in enumerate(sheet.footer, start=last + 2):
                for c, text in enumerate(line):
                    if text:
                        ws.write_string(r, c, _text(text))
            ws.freeze_panes(2, 0)
            if not sheet.more:
                ws.autofilter(1, 0, first_last, max(len(sheet.columns) - 1, 0))
        book.close()
    except xlsxwriter.exceptions.FileCreateError as exc:
        raise StorageError(f"cannot write {path}: {exc}") from exc


def _table(
    ws: Any, sheet: str, table: Sheet | Table, header: int, bold: Any, money: Any, wrapped: Any
) -> int:
    """The header row at `header` and the rows below it; returns the last row written."""
    for c, column in enumerate(table.columns):
        ws.write_string(header, c, _text(column.header), bold)
    rows = table.rows
    if isinstance(rows, pl.DataFrame):
        if header + rows.height >= ROW_LIMIT:
            raise StorageError(
                f"sheet {sheet!r} would have {rows.height:,} rows, more than an Excel sheet holds ({ROW_LIMIT:,})"
            )
        formats = [
            money if dtype.is_decimal() else wrapped if column.wrap else None
            for dtype, column in zip(rows.dtypes, table.columns, strict=True)
        ]
        if bulk.write_rows(ws, header + 1, rows, formats):
            return header + rows.height
        rows = rows.iter_rows()
    last = header
    for r, row in enumerate(rows, start=header + 1):
        last = r
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                ws.write_string(r, c, _text(value), wrapped if table.columns[c].wrap else None)
            elif isinstance(value, Decimal):
                ws.write_number(r, c, float(value), money)
            elif isinstance(value, int) and not isinstance(value, bool):
                ws.write_number(r, c, value)
            else:
                raise TypeError(f"cell {value!r} of sheet {sheet!r} is not text, int or Decimal")
    return last


REJECTED_SHEET = "问题行"
REJECTED_XLSX = "rejected.xlsx"  # its file name in every run folder


def write_rejected_xlsx(
    rejected: pl.DataFrame,
    path: Path,
    title: str,
    column_names: Mapping[str, str] | None = None,
    created: datetime = CREATED,
) -> None:
    """rejected.xlsx: the sheet of rejected_sheet() alone."""
    write_sheets(path, [rejected_sheet(rejected, title, column_names)], created)


def rejected_sheet(
    rejected: pl.DataFrame,
    title: str,
    column_names: Mapping[str, str] | None = None,
    name: str = REJECTED_SHEET,
) -> Sheet:
    """The rejected rows (the frame written as rejected.parquet, emit.REJECTED) as a sheet for the clerk:
    one row per problem, in the frame's order.

    Columns: 工作表 (only when the roster was read from several sheets), 行号 (the row as Excel shows it in
    the roster file: file_row), 数据行 (row: 1 = first data row), 姓名, 身份证号 (masked: first 6 +
    ******** + last 4; no full ID number is written), 列, 问题代码, 问题说明. column_names gives the
    roster's Chinese header for each English column name (schema zh), shown in 列; without it the
    English name is shown. Any long digit run left in a name or message is masked too (idnumber.scrub).
    """
    names = column_names or {}
    frame = rejected.select(
        pl.col("source"),
        pl.col("file_row"),
        pl.col("row"),
        pl.col("name"),
        idnumber.mask(pl.col("id_number")).alias("id_masked"),
        pl.col("column"),
        pl.col("problem"),
        pl.col("message"),
    )
    sheets = [split_source(s)[1] for s in frame.get_column("source").to_list()]
    by_sheet = any(s is not None for s in sheets)

    def rows() -> Iterable[list[Cell]]:
        for sheet, (_, file_row, row, name, id_masked, column, problem, message) in zip(
            sheets, frame.iter_rows(), strict=True
        ):
            shown = (
                None if name is None else idnumber.scrub(name if len(name) <= SHOWN else name[:SHOWN] + "…")
            )
            cells: list[Cell] = [
                file_row,
                row,
                shown,
                id_masked,
                names.get(column, column) if column is not None else None,
                problem,
                None if message is None else idnumber.scrub(message),
            ]
            yield [sheet, *cells] if by_sheet else cells

    columns: tuple[Column, ...] = (
        Column("行号", 8),
        Column("数据行", 8),
        Column("姓名", 14),
        Column("身份证号", 22),
        Column("列", 16),
        Column("问题代码", 22),
        Column("问题说明", 80, wrap=True),
    )
    if by_sheet:
        columns = (Column("工作表", 14), *columns)
    return Sheet(name, title, columns, rows())
