"""Records in and out of a bank file's format, as its layout declares them (rules/layouts.py).

The same functions write and parse payment files and result files: a file is an optional header record,
one detail record per line and an optional trailer, each an ordered list of fields. Values travel as text
keyed by their source (batch_id, reference, amount, ...); amounts as the layout writes them (yuan or fen).
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from pathlib import Path

import polars as pl
import xlsxwriter.exceptions

from subsidy_batch.errors import BankFileError, StorageError
from subsidy_batch.filekind import not_a_workbook
from subsidy_batch.outputs import xlsxzip
from subsidy_batch.rules.layouts import FieldSpec, Layout, Record, Records

CRLF = b"\r\n"
NUMBERS = ("count", "sequence", "succeeded_count", "failed_count")
AMOUNTS = ("total", "amount", "succeeded_total", "failed_total")
CREATED = (2000, 1, 1)  # the workbook's created time, fixed: the same rows give the same bytes


def column(index: int, spec: FieldSpec) -> str:
    """The name of a field's column in a parsed frame: its source, or a name of its own for text/blank."""
    return f"_{index}" if spec.source in ("text", "blank") else spec.source


def columns(record: Record) -> list[str]:
    return [column(i, f) for i, f in enumerate(record.fields)]


def control_values(record: Record, values: dict[str, str]) -> list[str]:
    return [record.code if f.source == "record" else _value(f, values) for f in record.fields]


def _value(spec: FieldSpec, values: dict[str, str]) -> str:
    if spec.source == "text":
        return spec.text
    if spec.source == "blank":
        return ""
    return values[spec.source]


def detail_exprs(record: Record, values: dict[str, pl.Expr]) -> list[pl.Expr]:
    """The detail record's fields in order, as text expressions over the frame of one bank's lines."""
    out = []
    for i, spec in enumerate(record.fields):
        if spec.source == "text":
            expr = pl.lit(spec.text)
        elif spec.source == "blank":
            expr = pl.lit("")
        else:
            expr = values[spec.source]
        out.append(expr.alias(column(i, spec)))
    return out


# ---- text: delimited and fixed width ----------------------------------------------------------------------


def write_text(
    path: Path,
    layout: Layout,
    records: Records,
    encoding: str,
    control: dict[str, str],
    details: pl.DataFrame,
) -> None:
    """Write a text file: header, details (columns in the detail record's order), trailer; CRLF line ends."""
    with path.open("wb") as out:
        if records.header is not None:
            out.write(_line(layout, records.header, control_values(records.header, control), encoding, path))
        if layout.format == "delimited":
            body = io.BytesIO()  # UTF-8 from polars, re-encoded below
            if details.height:
                details.write_csv(
                    body,
                    include_header=False,
                    line_terminator="\r\n",
                    quote_style="necessary",
                    separator=layout.delimiter,
                )
            out.write(body.getvalue().decode("utf-8").encode(encoding))
        else:
            for row in details.iter_rows():
                out.write(_fixed(records.detail, list(row), encoding, path))
        if records.trailer is not None:
            out.write(
                _line(layout, records.trailer, control_values(records.trailer, control), encoding, path)
            )


def _line(layout: Layout, record: Record, values: list[str], encoding: str, path: Path) -> bytes:
    if layout.format == "fixed":
        return _fixed(record, values, encoding, path)
    text = io.StringIO()
    csv.writer(text, delimiter=layout.delimiter, lineterminator="\r\n").writerow(values)
    return text.getvalue().encode(encoding)


def _fixed(record: Record, values: list[str], encoding: str, path: Path) -> bytes:
    parts = []
    for spec, value in zip(record.fields, values, strict=True):
        data = (value or "").encode(encoding)
        if len(data) > spec.width:
            raise BankFileError(
                f"{path.name}: a {spec.source} of {len(data)} bytes does not fit its field of {spec.width} bytes "
                f"in the fixed-width layout; widen the field in the layout's declaration"
            )
        fill = spec.pad.encode() * (spec.width - len(data))
        parts.append(data + fill if spec.align == "left" else fill + data)
    return b"".join(parts) + CRLF


def read_text(
    path: Path,
    layout: Layout,
    records: Records,
    encoding: str,
    text_fields: bool = True,
    any_line_end: bool = False,
) -> tuple[dict[str, str], pl.DataFrame]:
    """Parse a text file by its records: the control values (header and trailer) and the detail lines.

    With text_fields=False the lines are split without decoding names and memos (in GB18030 and UTF-8 no
    byte of a character outside ASCII is a comma, a quote or a line break), for the run's read-back.
    With any_line_end (a bank's answer) lines may end CRLF, LF or CR, and blank lines at the end are dropped.
    """
    data = path.read_bytes()
    if any_line_end:
        data = crlf_lines(data)
    control: dict[str, str] = {}
    body = data
    try:
        if records.header is not None:
            head, _, body = data.partition(CRLF)
            control |= _parse_control(layout, records.header, head, encoding, path, "first")
        if records.trailer is not None:
            body, _, tail = body.removesuffix(CRLF).rpartition(CRLF)
            body = body + CRLF if body else b""
            control |= _parse_control(layout, records.trailer, tail, encoding, path, "last")
    except UnicodeDecodeError as exc:
        raise BankFileError(f"{path.name}: a control record cannot be read as {encoding}") from exc
    names = columns(records.detail)
    if not body.strip(b"\r\n"):
        return control, pl.DataFrame(schema={c: pl.String for c in names})
    if layout.format == "fixed":
        return control, _read_fixed(records.detail, body, encoding, path, text_fields)
    try:
        if text_fields:
            text = body.decode(encoding).encode("utf-8")
            details = pl.read_csv(
                text, has_header=False, new_columns=names, infer_schema=False, separator=layout.delimiter
            )
        else:
            details = pl.read_csv(
                body,
                has_header=False,
                new_columns=names,
                infer_schema=False,
                separator=layout.delimiter,
                encoding="utf8-lossy",  # the text fields are not used; records and amounts are ASCII
            )
    except UnicodeDecodeError as exc:
        raise BankFileError(f"{path.name}: the detail records cannot be read as {encoding}") from exc
    except pl.exceptions.PolarsError as exc:
        raise BankFileError(
            f"{path.name}: the detail records do not have the layout's {len(names)} fields"
        ) from exc
    if details.width != len(names):
        raise BankFileError(f"{path.name}: the detail records do not have the layout's {len(names)} fields")
    return control, details


def crlf_lines(data: bytes) -> bytes:
    """The lines of `data`, however they end (CRLF, LF, CR, mixed), ended CRLF as the layouts write them,
    without blank lines at the end. No byte of a character in GB18030 or UTF-8 (the layouts' encodings) is
    a CR or an LF, so no field is cut."""
    lines = data.replace(CRLF, b"\n").replace(b"\r", b"\n").rstrip(b"\n")
    return lines.replace(b"\n", CRLF) + CRLF if lines else b""


def _parse_control(
    layout: Layout, record: Record, line: bytes, encoding: str, path: Path, where: str
) -> dict[str, str]:
    if layout.format == "fixed":
        values = _split_fixed(record, line, encoding, path)
    else:
        try:
            values = next(csv.reader([line.decode(encoding)], delimiter=layout.delimiter), [])
        except csv.Error:  # a line break inside the record: the file's lines are not ended CRLF
            values = []
    if len(values) != len(record.fields) or (record.has("record") and values[0] != record.code):
        kind = "control record" if where == "first" else "trailer record"
        raise BankFileError(f"{path.name}: the {where} record is not the layout's {kind} ({layout.name})")
    return {
        f.source: v for f, v in zip(record.fields, values, strict=True) if f.source not in ("text", "blank")
    }


def _split_fixed(record: Record, line: bytes, encoding: str, path: Path) -> list[str]:
    if len(line) != record.width:
        return []
    out, at = [], 0
    for spec in record.fields:
        raw = line[at : at + spec.width]
        at += spec.width
        text = raw.decode(encoding)
        text = text.rstrip(spec.pad) if spec.align == "left" else text.lstrip(spec.pad)
        if spec.pad == "0" and not text:
            text = "0"
        out.append(text)
    return out


def _read_fixed(record: Record, body: bytes, encoding: str, path: Path, text_fields: bool) -> pl.DataFrame:
    lines = body.removesuffix(CRLF).split(CRLF)
    wanted = [
        True if text_fields else f.source in ("record", "amount", "reference", "id_number")
        for f in record.fields
    ]
    rows = []
    try:
        for number, line in enumerate(lines, start=1):
            values = _split_fixed(record, line, encoding, path)
            if not values or values[0] != record.code:
                raise BankFileError(
                    f"{path.name}: line {number + 1} is not a detail record of {record.width} bytes"
                )
            rows.append([v if keep else "" for v, keep in zip(values, wanted, strict=True)])
    except UnicodeDecodeError as exc:
        raise BankFileError(f"{path.name}: the detail records cannot be read as {encoding}") from exc
    return pl.DataFrame(rows, schema={c: pl.String for c in columns(record)}, orient="row")


# ---- an .xlsx sheet ---------------------------------------------------------------------------------------


def write_xlsx(
    path: Path, sheet: str, records: Records, control: dict[str, str], details: pl.DataFrame
) -> None:
    """Row 1: the header's label and value cells; row 2: the detail labels; one row per line; the trailer
    (合计) row. Text stays text (IDs and accounts never become numbers), amounts are numbers with 2
    decimals, counts and sequence numbers whole numbers."""
    from datetime import datetime

    options = {
        "constant_memory": True,
        "strings_to_numbers": False,
        "strings_to_formulas": False,
        "strings_to_urls": False,
    }
    try:
        book = xlsxzip.workbook(path, options)
        book.set_properties({"created": datetime(*CREATED)})
        bold = book.add_format({"bold": True, "border": 1, "bg_color": "#DDEBF7"})
        money = book.add_format({"num_format": "0.00"})
        ws = book.add_worksheet(sheet)
        row = 0
        if records.header is not None:
            c = 0
            for spec in records.header.fields:
                if spec.label:
                    ws.write_string(row, c, spec.label, bold)
                    c += 1
                _cell(
                    ws,
                    row,
                    c,
                    spec,
                    _value(spec, control) if spec.source != "record" else records.header.code,
                    money,
                )
                c += 1
            row += 1
        for c, spec in enumerate(records.detail.fields):
            ws.set_column(c, c, 22 if spec.source in ("id_number", "account", "reference") else 12)
            ws.write_string(row, c, spec.label or spec.text, bold)
        for values in details.iter_rows():
            row += 1
            for c, (spec, value) in enumerate(zip(records.detail.fields, values, strict=True)):
                _cell(ws, row, c, spec, value, money)
        if records.trailer is not None:
            row += 1
            for c, spec in enumerate(records.trailer.fields):
                value = records.trailer.code if spec.source == "record" else _value(spec, control)
                _cell(ws, row, c, spec, value, money)
        book.close()
    except xlsxwriter.exceptions.FileCreateError as exc:
        raise StorageError(f"cannot write {path}: {exc}") from exc


def _cell(ws: object, row: int, col: int, spec: FieldSpec, value: str | None, money: object) -> None:
    if value is None or value == "":
        return
    if spec.source in NUMBERS:
        ws.write_number(row, col, int(value))  # type: ignore[attr-defined]
    elif spec.source in AMOUNTS and "." in value:  # yuan: a number shown with 2 decimals
        ws.write_number(row, col, float(Decimal(value)), money)  # type: ignore[attr-defined]
    elif spec.source in AMOUNTS:  # integer fen
        ws.write_number(row, col, int(value))  # type: ignore[attr-defined]
    else:
        ws.write_string(row, col, value)  # type: ignore[attr-defined]


def read_xlsx(path: Path, sheet: str, records: Records, amount: str) -> tuple[dict[str, str], pl.DataFrame]:
    """Parse a sheet written by write_xlsx (or a bank's answer in the same shape); amounts come back as the
    layout writes them in text files ("85.00" or "8500")."""
    import fastexcel

    try:
        grid = fastexcel.read_excel(path).load_sheet(sheet, header_row=None, dtypes="string").to_polars()
    except fastexcel.FastExcelError as exc:
        trouble = not_a_workbook(path)
        if trouble is not None:
            raise BankFileError(f"{path.name}: {trouble}") from exc
        raise BankFileError(f"{path.name}: no sheet {sheet!r} can be read ({type(exc).__name__})") from exc
    except OSError as exc:
        raise BankFileError(f"{path.name}: cannot be read as a workbook ({exc})") from exc
    rows = [[("" if v is None else str(v)) for v in r] for r in grid.iter_rows()]
    control: dict[str, str] = {}
    at = 0
    if records.header is not None:
        cells = rows[0] if rows else []
        c = 0
        for spec in records.header.fields:
            if spec.label:
                if c >= len(cells) or cells[c] != spec.label:
                    raise BankFileError(
                        f"{path.name}: the first row is not the layout's header ({spec.label} missing)"
                    )
                c += 1
            if spec.source not in ("text", "blank", "record"):
                control[spec.source] = _from_cell(spec, cells[c] if c < len(cells) else "", amount, path)
            c += 1
        at = 1
    labels = [spec.label or spec.text for spec in records.detail.fields]
    if len(rows) <= at or rows[at][: len(labels)] != labels:
        raise BankFileError(
            f"{path.name}: row {at + 1} is not the layout's column headers ({', '.join(labels)})"
        )
    body = rows[at + 1 :]
    if records.trailer is not None:
        first = next((i for i, s in enumerate(records.trailer.fields) if s.source == "record"), None)
        if not body or first is None or body[-1][first] != records.trailer.code:
            raise BankFileError(f"{path.name}: the last row is not the {records.trailer.code} row")
        for spec, value in zip(records.trailer.fields, body[-1], strict=False):
            if spec.source not in ("text", "blank", "record"):
                control[spec.source] = _from_cell(spec, value, amount, path)
        body = body[:-1]
    names = columns(records.detail)
    lines = [
        [
            _from_cell(spec, r[c] if c < len(r) else "", amount, path)
            for c, spec in enumerate(records.detail.fields)
        ]
        for r in body
    ]
    return control, pl.DataFrame(lines, schema={n: pl.String for n in names}, orient="row")


def _from_cell(spec: FieldSpec, value: str, amount: str, path: Path) -> str:
    """A cell as text: whole numbers without ".0"; an amount exactly as a text file writes it."""
    if spec.source in AMOUNTS and value:
        try:
            number = Decimal(value)
        except InvalidOperation as exc:
            raise BankFileError(
                f"{path.name}: {spec.label or spec.source} {value!r} is not an amount"
            ) from exc
        if not number.is_finite():  # "inf", "nan" typed into the cell
            raise BankFileError(f"{path.name}: {spec.label or spec.source} {value!r} is not an amount")
        fen = int((number * 100).to_integral_value())
        if float(Decimal(fen) / 100) != float(number):
            raise BankFileError(f"{path.name}: {spec.label or spec.source} {value!r} is finer than a fen")
        return str(fen) if amount == "fen" else f"{Decimal(fen) / 100:.2f}"
    if spec.source in NUMBERS and value.endswith(".0"):
        return value[:-2]
    return value
