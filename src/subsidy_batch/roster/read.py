"""Read a roster file (CSV, XLSX, Parquet) into an all-text frame with canonical English headers."""

from __future__ import annotations

import csv
import io
import re
import threading
from concurrent.futures import Future
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import RosterError
from subsidy_batch.filekind import HEAD, OLE, ZIP, not_a_workbook
from subsidy_batch.frames import cut_like
from subsidy_batch.roster.idnumber import scrub
from subsidy_batch.roster.schema import RosterSchema, header_key

ROW = "row"  # 1-based data row number, as a clerk counts rows below the header
# True where the roster's bank account cell was a number (an XLSX number cell, a numeric Parquet column):
# a number cannot hold a 16-19 digit account exactly, so such an account is never paid
ACCOUNT_NUMBER_CELL = "bank_account_number_cell"
ACCOUNT = "bank_account"
SMALL_FILE = 1 << 20  # a file this small is read whole to see whether it has data rows
_LONE_CR = re.compile(rb"\r(?!\n)")
SUFFIXES = (".parquet", ".xlsx", ".csv", ".xls", ".ods")
# workbooks polars reads through calamine: Excel 2007+, Excel 97-2003, OpenDocument (WPS, LibreOffice)
WORKBOOKS = (".xlsx", ".xls", ".ods")


@dataclass(frozen=True)
class SheetRead:
    """One sheet of a workbook whose roster rows stand on several sheets (one per 乡镇 is common)."""

    name: str
    first_row: int  # the ROW of its first data row in the roster as a whole (rows run on across sheets)
    rows: int  # the rows read from it, blank and 合计 rows set aside not counted
    title_rows: int  # rows above its header
    blank_rows: int
    total_rows: int

    def facts(self) -> dict[str, str | int]:
        """For the manifest and the audit log."""
        return asdict(self)


@dataclass
class RawRoster:
    """A roster as read: every cell text, its rows numbered. `rows` stays the count read after a check
    that was told it may (check_rows(hand_over=True)) has let go of the frame."""

    frame: pl.DataFrame
    source: Path
    encoding: str
    ignored_columns: tuple[str, ...]  # masked (idnumber.scrub): a header may be a stray ID or account
    # title_rows, blank_rows and total_rows; for a roster on several sheets, summed over its sheets
    skipped: dict[str, int] = field(
        default_factory=lambda: {"title_rows": 0, "blank_rows": 0, "total_rows": 0}
    )
    # the sheets read, in order, when the rows stand on more than one sheet; () for one sheet, CSV, Parquet
    sheets: tuple[SheetRead, ...] = ()
    # the workbook's sheets passed over because they are empty or hold no roster header (说明, 汇总 ...)
    skipped_sheets: tuple[str, ...] = ()
    rows: int = field(init=False)  # rows read

    def __post_init__(self) -> None:
        self.rows = self.frame.height

    def hand_over(self) -> pl.DataFrame:
        """The frame, which this roster then no longer holds (an empty frame of its columns stays)."""
        frame, self.frame = self.frame, self.frame.clear()
        return frame

    def sheet_facts(self) -> dict[str, Any]:
        """The sheets of a roster read from several sheets, for the manifest (nothing for one sheet or CSV)."""
        facts: dict[str, Any] = {}
        if self.sheets:
            facts["sheets"] = [s.facts() for s in self.sheets]
        if self.skipped_sheets:
            facts["skipped_sheets"] = list(self.skipped_sheets)
        return facts


def sheet_source(file: str, sheet: str) -> str:
    """Where a row of a roster on several sheets comes from, as Excel writes a reference to another
    workbook's sheet: [花名册.xlsx]纸坊镇. A sheet name cannot hold "]", so the last "]" ends the file name."""
    return f"[{file}]{sheet}"


def split_source(source: str) -> tuple[str, str | None]:
    """(file, sheet) of a rejected row's `source`; sheet is None for a roster read from one sheet or a
    CSV or Parquet file (whose source is the file name alone, never starting "[" and ending in "]")."""
    if source.startswith("[") and "]" in source:
        file, _, sheet = source[1:].rpartition("]")
        if sheet and file.lower().endswith(WORKBOOKS):
            return file, sheet
    return source, None


def _line_ends(data: bytes) -> bytes:
    """Old-Mac line ends (CR alone) become LF; polars would otherwise read the file as one header line."""
    first_cr, first_lf = data.find(b"\r"), data.find(b"\n")
    if first_cr < 0 or (0 <= first_lf < first_cr) or data[first_cr + 1 : first_cr + 2] == b"\n":
        return data  # LF or CRLF line ends, the usual case: the bytes are left as they are
    return _LONE_CR.sub(b"\n", data)


def _separator(data: bytes) -> str:
    """Comma, or tab or semicolon where the header line holds more of those (Excel's "Unicode text" is
    tab-separated, a European-locale CSV semicolon-separated)."""
    header = data[: data.find(b"\n")] if b"\n" in data else data
    counts = {sep: header.count(sep.encode()) for sep in (",", "\t", ";")}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] > counts[","] else ","


def _decode_csv(path: Path, name: str) -> tuple[bytes, str]:
    """Return UTF-8 bytes and the encoding found; never decodes lossily."""
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Excel's "Unicode text" export: UTF-16 with a BOM
        try:
            return _line_ends(data.decode("utf-16").encode("utf-8")), "utf-16"
        except UnicodeDecodeError as exc:
            raise RosterError(f"cannot read {name}: it starts as UTF-16 but is not valid UTF-16") from exc
    bom = 3 if data.startswith(b"\xef\xbb\xbf") else 0
    data, encoding = data[bom:], ("utf-8-sig" if bom else "utf-8")
    try:
        data.decode("utf-8")
        return _line_ends(data), encoding
    except UnicodeDecodeError as exc:
        not_utf8 = exc.start
    try:
        return _line_ends(data.decode("gb18030").encode("utf-8")), "gb18030"
    except UnicodeDecodeError as exc:
        # the bad byte of the reading that gets further (a UTF-8 file with one bad byte fails as GB18030
        # near its start), counted in the file as it is (its BOM included) and by line
        reading, offset = ("UTF-8", not_utf8) if bom or not_utf8 >= exc.start else ("GB18030", exc.start)
        line = data[:offset].count(b"\n") + 1
        raise RosterError(
            f"cannot read {name}: it is neither UTF-8 nor GB18030 (read as {reading}, byte {offset + bom} on "
            f"line {line} is bad); save it from Excel as 'CSV UTF-8' and run again"
        ) from exc


def _read_any(
    path: Path, name: str | None = None, header_row: int = 0, sheet: int = 0
) -> tuple[pl.DataFrame, str, frozenset[str]]:
    """The roster as text, its encoding, and the columns whose every cell is a number (Parquet).

    header_row: how many rows (a title, 填报单位 and 日期 lines) stand above the header.
    sheet: which sheet of a workbook (0 = the first).
    """
    name = name or path.name
    suffix = path.suffix.lower()
    try:
        if suffix == ".csv":
            data, encoding = _decode_csv(path, name)
            separator = _separator(_lines_from(data, header_row))
            try:
                frame = pl.read_csv(
                    io.BytesIO(data),
                    infer_schema=False,
                    truncate_ragged_lines=False,
                    separator=separator,
                    skip_rows=header_row,
                )
            except pl.exceptions.ComputeError as exc:
                ragged = _ragged_line(data, separator, header_row)
                if ragged is None:
                    raise
                raise RosterError(f"cannot read roster {name}: {ragged}") from exc
            return frame, encoding, frozenset()
        if suffix in WORKBOOKS:
            # empty rows are dropped by read_roster, after it has lined up the number cells of the
            # account column (read separately, row for row) with these rows
            frame = pl.read_excel(
                path,
                sheet_id=sheet + 1,
                infer_schema_length=0,
                drop_empty_rows=False,
                read_options={"header_row": header_row},
            )
            return frame, suffix[1:], frozenset()
        if suffix == ".parquet":
            refuse_not_parquet(path, name)
            frame = pl.read_parquet(path)
            numeric = frozenset(c for c, t in frame.schema.items() if t != pl.String and t != pl.Null)
            return frame.with_columns(pl.exclude(pl.String).cast(pl.String)), "parquet", numeric
    except RosterError:
        raise
    except Exception as exc:  # any reader failure means the file cannot be used; say which and why
        trouble = not_a_workbook(path) if suffix in WORKBOOKS else None
        if trouble is not None:
            raise RosterError(f"cannot read roster {name}: {trouble}") from exc
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = detail.replace(str(path), name)
        raise RosterError(
            f"cannot read roster {name}: {detail}; check that it opens in Excel or WPS, save it again "
            "as .xlsx or CSV UTF-8 and run again"
        ) from exc
    raise RosterError(f"roster {name} is not .csv, .xlsx, .xls, .ods or .parquet; save it as one of those")


def _ragged_line(data: bytes, separator: str, skip: int) -> str | None:
    """The first row with more cells than the header, said with its line number; None if there is none
    (the reader failed for another reason). Read with Python's csv module, which quotes as polars does."""
    rows = csv.reader(io.StringIO(data.decode("utf-8"), newline=""), delimiter=separator)
    for _ in range(skip):
        next(rows, None)
    header = next(rows, None)
    if header is None:
        return None
    for row in rows:
        if len(row) > len(header):
            return (
                f"line {rows.line_num} has {len(row)} cells, the header {len(header)} (a cell holding "
                f"the separator {separator!r} without quotes, or cells typed right of the last column); fix that "
                "line in Excel or WPS, save it again as CSV UTF-8 and run again"
            )
    return None


PARQUET = b"PAR1"  # a Parquet file starts and ends with it


def refuse_not_parquet(path: Path, name: str) -> None:
    """A file under a .parquet name that is not one (a CSV or workbook renamed, a copy cut off): said in
    a clerk's words, instead of the reader's "File out of specification"."""
    try:
        with path.open("rb") as file:
            head = file.read(HEAD)
            file.seek(max(path.stat().st_size - 4, 0))
            tail = file.read(4)
    except OSError:
        return  # the reader says why the file cannot be opened
    if head.startswith(PARQUET) and tail == PARQUET:
        return
    if not head:
        trouble = "the file is empty (0 bytes); export it again and run again"
    elif head.startswith(PARQUET):
        trouble = (
            "the Parquet file is incomplete (its end is missing, as when a copy or a download is cut off); "
            "copy or export it again and run again"
        )
    else:
        kind = "a workbook (.xlsx or .xls)" if head.startswith((ZIP, OLE)) else "text (a CSV export)"
        trouble = (
            f"the file is {kind} under a .parquet name, not a Parquet file; give it its own extension "
            "(.xlsx, .xls or .csv) and run again"
        )
    raise RosterError(f"cannot read roster {name}: {trouble}")


def _lines_from(data: bytes, skip: int) -> bytes:
    for _ in range(skip):
        data = data[data.find(b"\n") + 1 :] if b"\n" in data else b""
    return data


TITLE_ROWS = 10  # how far down a header is looked for, below a title and 填报单位 / 日期 lines


def _header_row(path: Path, name: str, schema: RosterSchema, sheet: int = 0) -> int | None:
    """The row holding the headers when title rows stand above it: the first of the top rows in which
    every required column's header is found; None when there is none."""
    header_map = schema.header_map()
    try:
        if path.suffix.lower() == ".csv":
            data, _ = _decode_csv(path, name)
            top = pl.read_csv(
                io.BytesIO(data),
                has_header=False,
                infer_schema=False,
                n_rows=TITLE_ROWS + 1,
                truncate_ragged_lines=True,
                separator=_separator(_lines_from(data, 1)),
            )
        elif path.suffix.lower() in WORKBOOKS:
            top = pl.read_excel(
                path,
                sheet_id=sheet + 1,
                infer_schema_length=0,
                read_options={"header_row": None, "n_rows": TITLE_ROWS + 1},
            )
        else:
            return None
    except Exception:  # the first read already succeeded; a failure here only means no header was found
        return None
    for index, row in enumerate(top.iter_rows()):
        found = {header_map.get(header_key(str(cell))) for cell in row if cell is not None}
        if index and all(column in found for column in schema.required):
            return index
    return None


def _roster_sheets(path: Path, schema: RosterSchema) -> tuple[list[str], list[tuple[int, int]], list[str]]:
    """(every sheet name, (index, header row) of each sheet that holds a roster, the names of the sheets
    that hold none) of a workbook.

    A sheet holds a roster when one of its top rows holds two or more of the roster's headers, so that a
    sheet lacking a required column is compared with the others rather than passed over; an empty sheet
    and a 说明 or 汇总 sheet hold none. Its header is the first top row holding every required column's
    header, else the first holding the most headers.
    """
    import fastexcel

    header_map = schema.header_map()
    try:
        book = fastexcel.read_excel(path)
        names = list(book.sheet_names)
    except Exception:  # the reader says why when the sheet is read
        return [], [], []
    roster: list[tuple[int, int]] = []
    other: list[str] = []
    for index, sheet_name in enumerate(names):
        try:
            top = pl.DataFrame(book.load_sheet(index, header_row=None, n_rows=TITLE_ROWS + 1).to_polars())
        except Exception:  # a sheet that cannot be looked at holds no roster
            other.append(sheet_name)
            continue
        found = [
            {header_map.get(header_key(str(cell))) for cell in row if cell is not None} - {None}
            for row in top.iter_rows()
        ]
        complete = [i for i, row in enumerate(found) if all(c in row for c in schema.required)]
        most = max((len(row) for row in found), default=0)
        if most >= 2:
            roster.append((index, complete[0] if complete else [len(row) for row in found].index(most)))
        else:
            other.append(sheet_name)
    return names, roster, other


def _xlsx_number_cells(
    path: Path, header: str, height: int, name: str, header_row: int = 0, sheet: int = 0
) -> pl.Series:
    """True for each data row whose cell in this column is a number (or boolean) cell, not text.

    fastexcel (calamine) reads a column asked for as "boolean" from number and boolean cells only; a
    text cell, even "6228480012345678", gives null. So non-null here means the cell was not text.
    """
    try:
        cells = _cell_kinds(path, sheet, header_row, header).to_series(0)
    except Exception as exc:
        raise RosterError(f"cannot read roster {name}: column {header!r}: {exc}") from exc
    if cells.len() != height:
        raise RosterError(
            f"cannot read roster {name}: column {header!r} has {cells.len()} cells for {height} rows"
        )
    return cells.is_not_null()


def _cell_kinds(path: Path, sheet: int, header_row: int, column: str | None = None) -> pl.DataFrame:
    """The sheet's columns (or one column) read as "boolean": calamine gives a value for number and
    boolean cells only, null for a text or empty cell."""
    import fastexcel

    columns = {"use_columns": [column], "dtypes": {column: "boolean"}} if column else {"dtypes": "boolean"}
    return pl.DataFrame(
        fastexcel.read_excel(path).load_sheet(sheet, header_row=header_row, **columns).to_polars()
    )


@dataclass(frozen=True)
class _Ahead:
    """Cell types read ahead (_number_cells_ahead): the header row they were read below, and the read."""

    header_row: int
    cells: Future[pl.DataFrame]


def _number_cells_ahead(paths: list[tuple[Path, int, int]]) -> list[_Ahead]:
    """Every column of each (workbook, sheet, header row) as _xlsx_number_cells reads one (number or
    boolean cell: not null), read one sheet after another on a second thread while the rows are read as
    text.

    calamine parses the whole sheet for each read, and lets go of the interpreter while it does: a
    300,000-row sheet took 2.2 s for the rows and 1.5 s more for the account column's cell types, one
    after the other, and takes 2.5 s for both side by side. _as_roster uses a read only where its header
    row is the one the rows were read below; otherwise (title rows found later) it reads the column
    itself, as before.
    """
    done = [_Ahead(header_row, Future()) for _, _, header_row in paths]

    def read() -> None:
        for (path, sheet, header_row), ahead in zip(paths, done, strict=True):
            try:
                ahead.cells.set_result(_cell_kinds(path, sheet, header_row))
            except BaseException as exc:  # the read of the rows says what is wrong with the file
                ahead.cells.set_exception(exc)

    threading.Thread(target=read, name="number-cells", daemon=True).start()
    return done


def _read_ahead(ahead: _Ahead | None, header: str, height: int, title_rows: int) -> pl.Series | None:
    """The account column's number cells from _number_cells_ahead, when they answer these rows."""
    if ahead is None or ahead.header_row != title_rows:
        return None
    try:
        cells = ahead.cells.result()
    except Exception:
        return None
    if header not in cells.columns or cells.height != height:
        return None
    return cells.get_column(header).is_not_null()


def _empty_rows_dropped(path: Path, frame: pl.DataFrame) -> pl.DataFrame:
    """What polars.read_excel does by default: rows with no value at all are not rows of the roster."""
    if path.suffix.lower() not in WORKBOOKS or not frame.width:
        return frame
    return frame.filter(~pl.all_horizontal(pl.all().is_null()))


def refuse_missing(path: Path) -> None:
    """A roster path that names no file: missing, or a folder given where the month's file is wanted."""
    if path.is_dir():
        raise RosterError(
            f"roster {path} is a folder, not a file; give the path of the month's roster file in it"
        )
    if not path.is_file():
        raise RosterError(f"roster file {path} does not exist")


def refuse_empty(path: Path) -> None:
    """A roster with a header but no data row has nothing to pay: refuse it before a run is started.

    Parquet says its row count in its footer; a CSV or XLSX file this small is read whole. A larger one
    has rows (a header alone is never a megabyte), and the run checks what it read again.
    """
    name = path.name
    refuse_missing(path)
    if path.suffix.lower() == ".parquet":
        refuse_not_parquet(path, name)
        try:
            rows = pl.scan_parquet(path).select(pl.len()).collect().item()
        except Exception as exc:
            raise RosterError(f"cannot read roster {name}: {exc}") from exc
    elif path.stat().st_size <= SMALL_FILE and path.suffix.lower() in WORKBOOKS and _sheet_count(path) > 1:
        rows = _workbook_rows(path)  # the roster may stand on any of the sheets, or on several
    elif path.stat().st_size <= SMALL_FILE:
        try:
            frame, _, _ = _read_any(path)
        except RosterError:  # e.g. title rows above the header: the run's own read looks closer
            return
        rows = _empty_rows_dropped(path, frame).height
    else:
        return
    if rows == 0:
        raise_empty(name)


def _sheet_count(path: Path) -> int:
    import fastexcel

    try:
        return len(fastexcel.read_excel(path).sheet_names)
    except Exception:  # the run's own read says why the workbook cannot be read
        return 0


def _workbook_rows(path: Path) -> int:
    """The rows below the first row of every sheet, empty rows not counted; 1 when the workbook cannot be
    read here (the run's own read says why)."""
    try:
        frames = pl.read_excel(path, sheet_id=0, infer_schema_length=0, raise_if_empty=False)
    except Exception:
        return 1
    return sum(frame.height for frame in frames.values())


def raise_empty(name: str) -> None:
    raise RosterError(
        f"roster {name} has no data rows (only a header), so there is nothing to pay; "
        "export the roster again with its rows and run again"
    )


def _headers(frame: pl.DataFrame, schema: RosterSchema, name: str) -> tuple[dict[str, str], list[str]]:
    """header -> column for the headers the schema knows, and the headers it does not (ignored)."""
    header_map = schema.header_map()
    renames: dict[str, str] = {}
    ignored: list[str] = []
    for header in frame.columns:
        # polars names a repeated CSV header "<header>_duplicated_<n>": the same column twice
        written = re.sub(r"_duplicated_\d+$", "", header)
        canonical = header_map.get(header_key(written))
        if canonical is not None and canonical in renames.values():
            first = next(src for src, dst in renames.items() if dst == canonical)

            def shown(h: str) -> str:  # as the clerk sees it: the column's letter and its header
                from xlsxwriter.utility import xl_col_to_name

                text = re.sub(r"_duplicated_\d+$", "", h)
                return f"column {xl_col_to_name(frame.columns.index(h))} {scrub(text)!r}"

            raise RosterError(
                f"roster {name} has two columns for {canonical} ({schema.columns[canonical].zh}): "
                f"{shown(first)} and {shown(header)}; it is not clear which to use, so keep one and run again"
            )
        if canonical is None:
            ignored.append(header)
        else:
            renames[header] = canonical
    return renames, ignored


@dataclass(frozen=True)
class _Headed:
    """One sheet (or the file) read as text below its header, before its columns are renamed."""

    frame: pl.DataFrame
    encoding: str
    numeric: frozenset[str]
    renames: dict[str, str]
    ignored: list[str]
    title_rows: int


def _headed(path: Path, schema: RosterSchema, name: str, sheet: int = 0) -> _Headed:
    """Read below the header: the first row, or the row below a title and 填报单位 / 日期 lines."""
    title_rows = 0
    try:
        frame, encoding, numeric = _read_any(path, name, sheet=sheet)
        renames, ignored = _headers(frame, schema, name)
        complete = all(c in renames.values() for c in schema.required)
    except RosterError:  # e.g. a CSV whose title line has fewer fields than its rows
        found = _header_row(path, name, schema, sheet)
        if found is None:
            raise
        complete = False
    if not complete:
        found = _header_row(path, name, schema, sheet)  # a title and 填报单位 lines above the header?
        if found is not None:
            title_rows = found
            frame, encoding, numeric = _read_any(path, name, title_rows, sheet)
            renames, ignored = _headers(frame, schema, name)
    return _Headed(frame, encoding, numeric, renames, ignored, title_rows)


def _as_roster(
    path: Path,
    schema: RosterSchema,
    name: str,
    headed: _Headed,
    sheet: int = 0,
    ahead: _Ahead | None = None,
) -> pl.DataFrame:
    """The roster's columns under their English names, all text, and ACCOUNT_NUMBER_CELL (from `ahead`,
    _number_cells_ahead, where it answers these rows)."""
    renames, frame = headed.renames, headed.frame
    missing = [c for c in schema.required if c not in renames.values()]
    if missing:
        named = ", ".join(f"{c} ({schema.columns[c].zh})" for c in missing)
        raise RosterError(
            f"roster {name} lacks required column(s) {named}; add them with these English or "
            "Chinese headers and run again"
        )
    account = next((src for src, dst in renames.items() if dst == ACCOUNT), None)
    if account is not None and path.suffix.lower() in WORKBOOKS:
        number_cell = _read_ahead(ahead, account, frame.height, headed.title_rows)
        if number_cell is None:
            number_cell = _xlsx_number_cells(path, account, frame.height, name, headed.title_rows, sheet)
    else:
        number_cell = pl.repeat(account in headed.numeric, frame.height, dtype=pl.Boolean, eager=True)
    if account is not None:
        number_cell = number_cell & frame.get_column(account).is_not_null()
    frame = frame.select(pl.col(src).cast(pl.String).alias(dst) for src, dst in renames.items())
    # every added column in the chunks of the others: beside columns of several chunks, one of a single
    # chunk makes polars cut every column again for each query on the frame (at 10M rows: 0.8 s and
    # 1.8 GB for the first check of the validation, 0.2-0.9 s for each one after)
    absent = pl.repeat(None, frame.height, dtype=pl.String, eager=True)
    return frame.with_columns(
        *(cut_like(absent.alias(c), frame.to_series(0)) for c in schema.columns if c not in renames.values()),
        cut_like(number_cell.alias(ACCOUNT_NUMBER_CELL), frame.to_series(0)),
    )


def _numbered(frame: pl.DataFrame, first: int = 1) -> pl.DataFrame:
    """ROW in front: rows are numbered as the clerk counts them, before blank and total rows are set aside."""
    rows = pl.int_range(first, first + frame.height, dtype=pl.Int64, eager=True).alias(ROW)
    return frame.insert_column(0, cut_like(rows, frame.to_series(0)) if frame.width else rows)


_SAID_OF_ROSTER = ("roster file ", "roster ", "cannot read roster ")


def said_of(message: str, what: str) -> str:
    """A message of this reader about a file that is not a roster (a death list, a population list): the
    word that names the file at the start of the message becomes `what`; the rest (the clerk's file name,
    the reader's own words) is left as it is."""
    for prefix in _SAID_OF_ROSTER:
        if message.startswith(prefix):
            return prefix.replace("roster", what) + message[len(prefix) :]
    return message


def read_roster(path: Path, schema: RosterSchema, name: str | None = None) -> RawRoster:
    """Read every column as text, map English or Chinese headers, and number the data rows from 1.

    A workbook whose roster rows stand on several sheets is read as one roster (read_sheets)."""
    refuse_missing(path)
    name = name or path.name  # the clerk's own file name, in every message
    sheet, skipped_sheets = 0, tuple[str, ...]()
    # a workbook of several sheets: which hold roster rows; one sheet is simply read (calamine parses a
    # whole sheet even for its top rows: 2 s for 300,000 rows, saved here)
    if path.suffix.lower() in WORKBOOKS and _sheet_count(path) > 1:
        names, roster_sheets, others = _roster_sheets(path, schema)
        if len(roster_sheets) > 1:  # one sheet per 乡镇 is common: every sheet's people are paid
            return read_sheets(
                path, schema, name, [(i, h, names[i]) for i, h in roster_sheets], tuple(others)
            )
        if roster_sheets:
            sheet = roster_sheets[0][0]
            skipped_sheets = tuple(others)
    ahead = _number_cells_ahead([(path, sheet, 0)])[0] if path.suffix.lower() in WORKBOOKS else None
    headed = _headed(path, schema, name, sheet)
    frame = _as_roster(path, schema, name, headed, sheet, ahead)
    frame, skipped = _not_people(_numbered(frame), list(schema.columns))
    skipped = {"title_rows": headed.title_rows, **skipped}
    ignored = tuple(scrub(h) for h in headed.ignored)
    return RawRoster(frame, path, headed.encoding, ignored, skipped, skipped_sheets=skipped_sheets)


def _column_keys(headed: _Headed) -> dict[str, str]:
    """A sheet's columns as compared with another sheet's: key -> how a message names it. A header the
    schema knows is its English name; another header is its header_key. Unnamed columns are not counted."""
    keys = {dst: dst for dst in headed.renames.values()}
    for header in headed.ignored:
        if not header.startswith("__UNNAMED__") and header_key(header):
            keys[header_key(header)] = repr(scrub(header))
    return keys


def read_sheets(
    path: Path,
    schema: RosterSchema,
    name: str,
    sheets: list[tuple[int, int, str]],
    skipped_sheets: tuple[str, ...] = (),
) -> RawRoster:
    """The roster rows of several sheets of a workbook (index, header row, name), as one roster in sheet
    order.

    Every sheet must have the same columns (in any order, under any of their headers); each may have its
    own title rows, and its blank and 合计 rows are set aside. ROW runs on from one sheet to the next, so
    that every row of the roster has a number of its own; RawRoster.sheets says where each sheet starts.
    """
    aheads = _number_cells_ahead([(path, index, header_row) for index, header_row, _ in sheets])
    headed = []
    for index, header_row, _ in sheets:
        frame, encoding, numeric = _read_any(path, name, header_row, index)
        headed.append(_Headed(frame, encoding, numeric, *_headers(frame, schema, name), header_row))
    keys = [_column_keys(h) for h in headed]
    first_name, first_keys = sheets[0][2], keys[0]
    differences = []
    for (_, _, sheet_name), sheet_keys in zip(sheets[1:], keys[1:], strict=True):
        lacks = [first_keys[k] for k in first_keys if k not in sheet_keys]
        extra = [sheet_keys[k] for k in sheet_keys if k not in first_keys]
        if lacks or extra:
            what = [f"lacks {', '.join(_named(c, schema) for c in lacks)}"] if lacks else []
            what += [f"has {', '.join(_named(c, schema) for c in extra)}"] if extra else []
            differences.append(f"{sheet_name!r} {' and '.join(what)}")
    if differences:
        raise RosterError(
            f"roster {name} holds roster rows on {len(sheets)} sheets whose columns differ from those of "
            f"sheet {first_name!r}: {'; '.join(differences)}; give every sheet the same columns (or each "
            "sheet as a file of its own) and run again"
        )
    frames: list[pl.DataFrame] = []
    read: list[SheetRead] = []
    offset = 0
    skipped = {"title_rows": 0, "blank_rows": 0, "total_rows": 0}
    for (index, _, sheet_name), sheet, ahead in zip(sheets, headed, aheads, strict=True):
        frame = _as_roster(path, schema, name, sheet, index, ahead)
        frame = _numbered(frame.select(frames[0].columns[1:]) if frames else frame, offset + 1)
        height = frame.height
        frame, counts = _not_people(frame, list(schema.columns))
        frames.append(frame)
        read.append(SheetRead(sheet_name, offset + 1, frame.height, sheet.title_rows, **counts))
        skipped = {
            "title_rows": skipped["title_rows"] + sheet.title_rows,
            "blank_rows": skipped["blank_rows"] + counts["blank_rows"],
            "total_rows": skipped["total_rows"] + counts["total_rows"],
        }
        offset += height
    ignored = tuple(scrub(h) for h in headed[0].ignored)
    return RawRoster(
        pl.concat(frames, how="vertical", rechunk=False),
        path,
        headed[0].encoding,
        ignored,
        skipped,
        sheets=tuple(read),
        skipped_sheets=skipped_sheets,
    )


def _named(column: str, schema: RosterSchema) -> str:
    """A column in a message: its English and Chinese name, or the header as the sheet gives it."""
    return f"{column} ({schema.columns[column].zh})" if column in schema.columns else column


TOTAL_ROW = r"^\s*(合计|小计|总计|共计)"


def _not_people(frame: pl.DataFrame, columns: list[str]) -> tuple[pl.DataFrame, dict[str, int]]:
    """Set aside rows that are no person: blank rows (no value in any roster column) and 合计 / 小计 rows
    (no ID number or credit code, or 合计 in its place, and a cell starting 合计, 小计, 总计 or 共计). They are counted, never silently lost."""
    empty = [pl.col(c).is_null() | (pl.col(c) == "") for c in columns]
    key = pl.col(columns[0])  # the schema's first column identifies a row (ID number, credit code)
    no_id_expr = empty[0] | key.str.contains(TOTAL_ROW).fill_null(False)  # 合计 often stands in it
    no_id = frame.select(no_id_expr.alias("no_id")).to_series()
    if not no_id.any():  # the usual case: every row has an ID, so no row is looked at again
        return frame, {"blank_rows": 0, "total_rows": 0}
    blank = pl.all_horizontal(empty)
    total = (
        ~blank
        & no_id_expr
        & pl.any_horizontal([pl.col(c).str.contains(TOTAL_ROW).fill_null(False) for c in columns])
    )
    marks = frame.select(blank.alias("blank"), total.alias("total"))
    counts = {"blank_rows": int(marks["blank"].sum()), "total_rows": int(marks["total"].sum())}
    if not counts["blank_rows"] and not counts["total_rows"]:
        return frame, counts
    keep = ~(marks["blank"] | marks["total"])
    # select(all().filter()) rather than filter(): it keeps the chunks of text columns as they are
    return frame.select(pl.all().filter(keep)), counts


def default_roster(rosters_dir: Path, county: str, period: str) -> Path:
    """rosters/<county>/<period>.parquet|.xlsx|.csv (CONTRACT.md), or .xls|.ods: exactly one must exist."""
    found = [rosters_dir / county / f"{period}{s}" for s in SUFFIXES]
    found = [p for p in found if p.is_file()]
    if len(found) != 1:
        what = "no roster" if not found else f"{len(found)} rosters ({', '.join(p.name for p in found)})"
        raise RosterError(
            f"found {what} for {county} {period} in {rosters_dir / county}; exactly one of "
            f"{period}.parquet, {period}.xlsx, {period}.csv, {period}.xls or {period}.ods must exist, or "
            "pass --roster PATH"
        )
    return found[0]
