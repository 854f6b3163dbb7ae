"""The rows of a large table written into an xlsxwriter worksheet in one piece (an optimisation).

xlsxwriter is pure Python: each cell costs about 10 microseconds, and a county's 公示 lists hold hundreds
of thousands of cells (76,766 paid items at 1M people: 460,000 cells, 6 s). This helper builds the XML of
all the rows of a polars frame with polars string expressions and hands it to the worksheet exactly where
xlsxwriter would have written it cell by cell, in its constant_memory mode: the same characters, the same
style indexes in the same order, the same dimensions. Everything else of the workbook (formats, title,
header, footer, page set-up, the zip) is still xlsxwriter's.

Equivalence: tests/test_workbook.py writes the same sheets both ways and asserts byte-identical files,
including a hypothesis property over arbitrary text. It relies on xlsxwriter internals (the worksheet's
row file, previous_row, _check_dimensions, Format._get_xf_index) of the version pinned in uv.lock; a
test fails loudly if they change. A frame this helper cannot reproduce exactly (a text longer than half a
cell's limit, integers of 16 digits or more, other column types) is declined, and the
caller writes it cell by cell.
"""

from __future__ import annotations

import io
from typing import Any

import polars as pl
from xlsxwriter.utility import xl_col_to_name

_LONGEST = 16_383  # characters: beyond, xlsxwriter counts UTF-16 units and may cut a text
_LARGEST_INT = 10**15  # xlsxwriter prints numbers with 16 significant digits ({:.16G})
_CONTROL = r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}]"  # as workbook._text: shown as U+FFFD


# any character or sequence _text_value rewrites, and text with space at either end: a column without any
# is written as it is (names, IDs and 乡镇 seldom hold one), sparing seven rewrites of every cell
_SPECIAL = (
    r"[\x00-\x1f\x7f-\x9f\x{2028}\x{2029}&<>\x{fffe}\x{ffff}]|_x[0-9a-fA-F]{4}_|^\s|\s$"  # _CONTROL and more
)


def _cell(ref: str, style: int | None, value: str, text: bool) -> str:
    """One cell's XML as a pl.format template, as xlsxwriter's _write_cell writes it: <c r=".." s=".."
    t="inlineStr"><is><t>..</t></is></c> for text, <c r=".." s=".."><v>..</v></c> for a number. Its
    places are the row number, then those of `value` (_text_value's for text: the <t> element's attribute
    where the text needs one, then the text). The reference and style are part of the template."""
    s = f' s="{style}"' if style is not None else ""
    if text:
        return f'<c r="{ref}{{}}"{s} t="inlineStr"><is><t{value}</t></is></c>'
    return f'<c r="{ref}{{}}"{s}><v>{value}</v></c>'


def _text_value(column: pl.Expr, plain: bool) -> tuple[str, list[pl.Expr]]:
    """The template of a text cell's <t ...>value part and its places (after the row number's).

    plain: no value of the column matches _SPECIAL, so that every rewrite below would leave it as it is.
    """
    if plain:
        return ">{}", [column]
    text = (
        column.str.replace_all(_CONTROL, "\ufffd")
        .str.replace_all(r"(_x[0-9a-fA-F]{4}_)", "_x005F${1}")  # Excel's escape of its own escape
        .str.replace_all("\ufffe", "_xFFFE_", literal=True)
        .str.replace_all("\uffff", "_xFFFF_", literal=True)
    )
    preserve = (
        pl.when(text.str.contains(r"^\s|\s$")).then(pl.lit(' xml:space="preserve"')).otherwise(pl.lit(""))
    )
    escaped = (
        text.str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )
    return "{}>{}", [preserve, escaped]


_ROW = pl.col("__xlsx_row")  # the row number, cast to text once per row before the cells use it


def _number_texts(frame: pl.DataFrame, name: str) -> pl.Expr:
    """Each amount as xlsxwriter prints it: the float of the Decimal with {:.16G} (66299.21 is printed
    66299.21000000001). Worked out once per distinct amount, of which a list has few."""
    distinct = frame.get_column(name).drop_nulls().unique()
    texts = [f"{float(v):.16G}" for v in distinct.to_list()]
    return pl.col(name).replace_strict(distinct, pl.Series(texts, dtype=pl.String), default=None)


def write_rows(ws: Any, first_row: int, frame: pl.DataFrame, formats: list[Any]) -> bool:
    """Write frame's rows from `first_row` (0-based) into ws as xlsxwriter would, cell by cell; False when
    the frame holds something this cannot reproduce exactly (then nothing was written)."""
    if not ws.constant_memory or not frame.width:
        return False
    if frame.height == 0:
        return True
    fits: list[pl.Expr] = []
    for name, dtype in frame.schema.items():
        col = pl.col(name)
        if dtype == pl.String:
            fits.append(col.str.len_chars().max().fill_null(0) <= _LONGEST)
        elif dtype.is_integer():
            fits.append(col.abs().max().fill_null(0) < _LARGEST_INT)
        elif dtype.is_decimal():
            fits.append(pl.lit(True))
        else:
            return False
    names = frame.columns
    present = [
        (pl.col(n).is_not_null() & (pl.col(n) != ""))
        if frame.schema[n] == pl.String
        else pl.col(n).is_not_null()
        for n in names
    ]
    filled = pl.any_horizontal(present)
    texts = [n for n in names if frame.schema[n] == pl.String]
    # what the rows hold, in one query (a query each cost a county's 16 workbooks about 60 ms): whether
    # each column fits, the first row with a value, whether every row has one, the last row with any
    # value, and which text columns hold a character to rewrite
    facts = frame.select(
        *(fit.alias(f"fits{c}") for c, fit in enumerate(fits)),
        *(p.arg_true().first().alias(f"first{c}") for c, p in enumerate(present)),
        *(p.all().alias(f"full{c}") for c, p in enumerate(present)),
        filled.arg_true().last().alias("last"),
        *(pl.col(n).str.contains(_SPECIAL).any().alias(f"special{t}") for t, n in enumerate(texts)),
    ).row(0, named=True)
    if not all(facts[f"fits{c}"] for c in range(len(names))):
        return False
    firsts = [facts[f"first{c}"] for c in range(len(names))]
    full = [facts[f"full{c}"] for c in range(len(names))]
    last = facts["last"]
    special = [facts[f"special{t}"] for t in range(len(texts))]
    if last is None:  # no cell to write: xlsxwriter writes nothing either
        return True
    # styles get their index when first written, row by row and then column by column, as xlsxwriter does
    used = sorted((row, c) for c, row in enumerate(firsts) if row is not None and formats[c] is not None)
    ws._write_single_row(first_row)  # the header row out, as the first data cell would have it
    styles: list[int | None] = [None] * len(formats)  # a column with no cell never uses its format
    for _, c in used:
        styles[c] = formats[c]._get_xf_index()
    plain = {n for n, found in zip(texts, special, strict=True) if not found}
    # a row is one pl.format: the cells of columns that hold a value in every row are part of its
    # template; any other column's cell is a place of it, empty where the value is (at 10M people the
    # 公示 rows took 0.9 s instead of 1.5-2 s as cells joined with concat_str)
    template, places = ['<row r="{}">'], [_ROW]
    for c, name in enumerate(names):
        ref, dtype, col = xl_col_to_name(c), frame.schema[name], pl.col(name)
        if dtype == pl.String:
            value, args = _text_value(col, plain=name in plain)
        elif dtype.is_decimal():
            value, args = "{}", [_number_texts(frame, name)]
        else:
            value, args = "{}", [col.cast(pl.String)]
        cell = _cell(ref, styles[c], value, text=dtype == pl.String)
        if full[c]:
            template.append(cell)
            places += [_ROW, *args]
        else:
            template.append("{}")
            places.append(pl.when(present[c]).then(pl.format(cell, _ROW, *args)).otherwise(pl.lit("")))
    template.append("</row>")
    row = pl.format("".join(template), *places)
    rows = (
        frame.with_row_index("__xlsx_row", offset=first_row + 1)
        .with_columns(_ROW.cast(pl.String))
        .select(row if any(full) else pl.when(filled).then(row))  # null: a row with no cell, not written
    )
    _write_utf8(ws, rows)
    ws._check_dimensions(first_row + last, 0)
    ws.previous_row = first_row + last
    return True


def _write_utf8(ws: Any, rows: pl.DataFrame) -> None:
    """The rows' XML (one text per row, null for none) into the worksheet's rows: its UTF-8 bytes as polars
    writes them (utf8_lines), rather than a Python str of hundreds of megabytes (at 10M people) being made
    of them and encoded back. A sheet of xlsxzip keeps them in memory where they go among its rows
    (Sheet.keep_rows); otherwise they go to the byte stream of xlsxwriter's row file, a UTF-8 text file.
    Anything else gets the text."""
    fh = ws.fh
    buffer = getattr(fh, "buffer", None)
    if buffer is None or str(getattr(fh, "encoding", "")).lower().replace("-", "") != "utf8":
        fh.write(rows.select(pl.first().str.join("")).item())
        return
    data = utf8_lines(rows, "")
    keep = getattr(ws, "keep_rows", None)
    if keep is not None:
        keep(data)
        return
    fh.flush()  # what xlsxwriter wrote before (the header row) goes first
    buffer.write(data)


def utf8_lines(texts: pl.DataFrame, end: str) -> memoryview:
    """The values of the one text column of `texts`, each followed by `end`, as UTF-8 bytes; a null is
    left out, its `end` too. With end="" the same bytes as str.join("") of the column, encoded.

    polars' CSV writer, with no header and quoting nothing, writes the values as they are, in one pass
    on its threads. It replaced str.join into one value, then a cast to Binary and .item(), which copied
    the 200 MB of a county's 公示 rows at 10M people three times (0.26-0.7 s; this 0.14-0.17 s).
    tests/test_workbook.py compares the two on arbitrary text.
    """
    out = io.BytesIO()
    texts.drop_nulls().write_csv(out, include_header=False, quote_style="never", line_terminator=end)
    return out.getbuffer()
