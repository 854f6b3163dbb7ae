"""rejected.xlsx and the workbook helper behind it: what a clerk sees in Excel or WPS, byte for byte the
same each time, and never a full ID number."""

from __future__ import annotations

import re
import tempfile
import zipfile
import zlib
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl
import pytest
import xlsxwriter.worksheet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isal import isal_zlib

from subsidy_batch.errors import StorageError
from subsidy_batch.outputs import emit, xlsxbulk, xlsxzip
from subsidy_batch.outputs.workbook import Column, Sheet, write_rejected_xlsx, write_sheets
from subsidy_batch.roster.read import SheetRead
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from tests.helpers import deflate_levels, make_id, person, raw_roster, stored_parts

ZH = {spec.name: spec.zh for spec in load_schema().columns.values()}
FULL_ID = re.compile(r"\d{17}[\dXx]")


def _rejected(sheets: tuple[SheetRead, ...] = ()) -> tuple[pl.DataFrame, list[str]]:
    """A rejected frame as the run writes it (emit.REJECTED), and the full IDs of its people."""
    good = person("1940-03-01", income="dibao")
    bad_income = person("1950-03-01") | {"income_status": "低保户", "name": "张秀英"}
    # a fixed ID (not the helpers' running number): a typo of 0 in the check character of some IDs makes
    # 18 digits that end in 000 or are exactly a float64, which reads as id_stored_as_number instead
    ident = make_id("1945-06-01", seq=7)  # 37082919450601007X -> 370829194506010070
    bad_check = person("1945-06-01", name='=HYPERLINK("x")') | {"id_number": ident[:17] + "0"}
    long_name = person("1941-01-01", name="王" * 100_000)
    rows = [good, bad_income, bad_check, long_name]
    raw = raw_roster(rows, source="花名册.xlsx")
    if sheets:
        raw = replace(raw, sheets=sheets)
    rejected = validate(raw, load_schema(), "2024-05", "jiaxiang").rejected
    return emit.to_output(rejected, emit.REJECTED, "2024-05", "jiaxiang"), [r["id_number"] for r in rows]


def _cells(path: Path) -> list[list[object]]:
    sheet = fastexcel.read_excel(path).load_sheet(0, header_row=None)
    return [list(r) for r in pl.DataFrame(sheet.to_polars()).iter_rows()]


def _body(path: Path, sheet: int = 0) -> pl.DataFrame:
    """The rows below the header, typed as their cells are (a number cell reads as a number)."""
    return pl.DataFrame(fastexcel.read_excel(path).load_sheet(sheet, header_row=1).to_polars())


def _xml(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "".join(z.read(n).decode("utf-8") for n in z.namelist())


def test_rejected_xlsx_shows_one_row_per_problem_with_chinese_headers(tmp_path: Path) -> None:
    rejected, ids = _rejected()
    path = tmp_path / "rejected.xlsx"
    write_rejected_xlsx(rejected, path, "嘉祥县 2024-05 花名册中有问题的行", column_names=ZH)
    cells = _cells(path)
    assert cells[0][0] == "嘉祥县 2024-05 花名册中有问题的行"
    assert cells[1] == ["行号", "数据行", "姓名", "身份证号", "列", "问题代码", "问题说明"]
    body = cells[2:]
    assert len(body) == rejected.height == 3
    assert _body(path).select("行号", "数据行", "列", "问题代码").rows() == [
        (3, 2, "经济状况", "invalid_value"),  # file_row: the header is line 1
        (4, 3, "公民身份号码", "id_check_character"),
        (5, 4, "姓名", "too_long"),
    ]
    assert body[0][2] == "张秀英"
    assert body[0][3] == ids[1][:6] + "********" + ids[1][-4:]
    assert body[1][2] == '=HYPERLINK("x")'  # text, never a formula
    assert body[2][2] == "王" * 60 + "…"
    assert body[0][6] == rejected.get_column("message")[0]


def test_rejected_xlsx_never_holds_a_full_id_number(tmp_path: Path) -> None:
    rejected, ids = _rejected()
    assert set(rejected.get_column("id_number")) & set(ids)  # the frame itself has the IDs as given
    path = tmp_path / "rejected.xlsx"
    write_rejected_xlsx(rejected, path, "t", column_names=ZH)
    xml = _xml(path)
    assert not FULL_ID.search(xml)
    assert not any(i in xml for i in ids)
    assert not any(FULL_ID.search(str(c)) for row in _cells(path) for c in row)


def test_writing_twice_gives_the_same_bytes(tmp_path: Path) -> None:
    rejected, _ = _rejected()
    first, second = tmp_path / "a.xlsx", tmp_path / "b.xlsx"
    write_rejected_xlsx(rejected, first, "t", column_names=ZH)
    write_rejected_xlsx(rejected, second, "t", column_names=ZH)
    assert first.read_bytes() == second.read_bytes()
    assert "2000-01-01T00:00:00Z" in _xml(first)  # the fixed created time, not the clock's


def test_every_part_of_a_workbook_is_deflated_by_isal(tmp_path: Path) -> None:
    # outputs/xlsxzip.py: ISA-L's deflate at its level 2, not zipfile's zlib at xlsxwriter's default 6;
    # the rows go in by the bulk writer
    frame = pl.DataFrame({"name": [f"张{i}" for i in range(3000)], "amount": [Decimal("85.00")] * 3000})
    path = tmp_path / "list.xlsx"
    write_sheets(path, [Sheet("s", "t", (Column("姓名"), Column("金额")), frame)])
    parts = stored_parts(path)
    assert "xl/worksheets/sheet1.xml" in parts and "xl/styles.xml" in parts
    for name, (stored, data) in parts.items():
        assert stored == isal_zlib.compress(data, 2, -15), name
        assert zlib.decompress(stored, -15) == data, name  # zlib reads what ISA-L wrote
    # the sheet (3000 rows) is not what zlib makes of it at any level: the deflate really is ISA-L's
    assert deflate_levels(path)["xl/worksheets/sheet1.xml"] == set()


def test_isal_deflates_a_part_the_same_however_zipfile_hands_it_over(tmp_path: Path) -> None:
    # ZipFile.write gives an entry its file in pieces of 8 KiB, writestr in one: ISA-L's streaming would
    # make other bytes of the pieces, so LevelZip deflates the whole part when the entry is closed
    row = '<row r="{0}"><c r="B{0}" t="inlineStr"><is><t>张{1}</t></is></c><c><v>{2}.00</v></c></row>'
    data = "".join(row.format(i, i * 7919 % 10007, i * 31 % 997) for i in range(20_000)).encode()
    assert len(data) == 1_893_368  # 20,000 rows of 93-96 bytes: 231 pieces of 8 KiB
    source = tmp_path / "part.xml"
    source.write_bytes(data)
    for how in ("write", "writestr"):
        with xlsxzip.LevelZip(tmp_path / f"{how}.zip", "w", compression=zipfile.ZIP_DEFLATED) as archive:
            if how == "write":
                archive.write(source, "part.xml")
            else:
                archive.writestr("part.xml", data)
        stored, back = stored_parts(tmp_path / f"{how}.zip")["part.xml"]
        assert back == data and stored == xlsxzip.deflate(data), how
    pieces = isal_zlib.compressobj(2, isal_zlib.DEFLATED, -15)
    streamed = b"".join(pieces.compress(data[i : i + 8192]) for i in range(0, len(data), 8192))
    assert streamed + pieces.flush() != xlsxzip.deflate(data)  # why the whole part is deflated at once


def _in_memory_and_file_mode(tmp_path: Path, sheets: list[Sheet]) -> tuple[bytes, bytes, int, int]:
    """The workbook put together in memory (xlsxzip.Book) and by xlsxwriter's file mode, and how many
    temporary files each made."""
    made: list[int] = []
    original = tempfile.mkstemp

    def counted(*args: Any, **kwargs: Any) -> tuple[int, str]:
        made.append(1)
        return original(*args, **kwargs)

    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", counted)
        write_sheets(ours, sheets)
        in_memory = len(made)
        patch.setattr(xlsxzip, "Book", xlsxwriter.Workbook)  # xlsxwriter's own: a file per part
        write_sheets(theirs, sheets)
    return ours.read_bytes(), theirs.read_bytes(), in_memory, len(made) - in_memory


def test_a_workbook_put_together_in_memory_is_the_zip_of_xlsxwriters_file_mode(tmp_path: Path) -> None:
    # outputs/xlsxzip.py Book: each part in memory, entered with the date and permissions of the file
    # xlsxwriter would have made of it; not one byte of the archive may differ
    texts = ["plain", " lead", "line\nbreak", "😀", "王" * 300, "a&b<c>", None]
    sheets = [
        Sheet("表", "标题", BULK_COLUMNS, _bulk_frame(texts * 6_000), footer=(("合计",),), printed=True),
        Sheet("二", "cell by cell", (Column("a"), Column("b")), [["x\ny", 1], ["王\r五", Decimal("2.50")]]),
        Sheet("空", "no rows", (Column("a"),), []),
    ]
    ours, theirs, in_memory, file_mode = _in_memory_and_file_mode(tmp_path, sheets)
    assert ours == theirs
    with zipfile.ZipFile(tmp_path / "ours.xlsx") as z:
        assert z.getinfo("xl/worksheets/sheet1.xml").file_size > 2_000_000  # 42,000 rows went in
        assert all(i.date_time == (1980, 1, 31, 0, 0, 0) for i in z.infolist())
    # the rows' own file of each of the 3 sheets (constant_memory); file mode adds one per part:
    # [Content_Types].xml, 2 relations, 2 properties, workbook, styles, theme and the 3 sheets = 11
    assert (in_memory, file_mode) == (3, 3 + 11)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=10))
def test_in_memory_parts_match_xlsxwriters_file_mode_for_any_text(
    tmp_path: Path, texts: list[str | None]
) -> None:
    sheets = [
        Sheet("表", "标题", BULK_COLUMNS, _bulk_frame(texts)),
        Sheet("二", "t", (Column("a"), Column("n")), [[t, i] for i, t in enumerate(texts)]),
    ]
    ours, theirs, _, _ = _in_memory_and_file_mode(tmp_path, sheets)
    assert ours == theirs


def test_the_header_stays_in_view_with_an_autofilter_and_set_widths(tmp_path: Path) -> None:
    rejected, _ = _rejected()
    path = tmp_path / "rejected.xlsx"
    write_rejected_xlsx(rejected, path, "t")
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode("utf-8")
    assert 'ySplit="2"' in sheet and 'state="frozen"' in sheet
    assert '<autoFilter ref="A2:G5"/>' in sheet
    assert 'width="80.7109375"' in sheet  # 问题说明


def test_a_roster_read_from_several_sheets_shows_the_sheet(tmp_path: Path) -> None:
    sheets = (SheetRead("纸坊镇", 1, 2, 0, 0, 0), SheetRead("红运镇", 3, 2, 2, 0, 0))
    rejected, _ = _rejected(sheets)
    assert rejected.get_column("source").to_list() == [
        "[花名册.xlsx]纸坊镇",
        "[花名册.xlsx]红运镇",
        "[花名册.xlsx]红运镇",
    ]
    path = tmp_path / "rejected.xlsx"
    write_rejected_xlsx(rejected, path, "t", column_names=ZH)
    cells = _cells(path)
    assert cells[1][:3] == ["工作表", "行号", "数据行"]
    # roster row 3 is 红运镇's first data row, on its line 4 (two title lines and the header above)
    assert _body(path).select("工作表", "行号", "数据行").rows() == [
        ("纸坊镇", 3, 2),
        ("红运镇", 4, 3),
        ("红运镇", 5, 4),
    ]


def test_no_rejected_rows_is_a_sheet_with_its_header(tmp_path: Path) -> None:
    rejected, _ = _rejected()
    path = tmp_path / "rejected.xlsx"
    write_rejected_xlsx(rejected.clear(), path, "没有问题行")
    assert _cells(path) == [
        ["没有问题行", None, None, None, None, None, None],
        ["行号", "数据行", "姓名", "身份证号", "列", "问题代码", "问题说明"],
    ]


def test_write_sheets_writes_text_numbers_and_amounts_as_what_they_are(tmp_path: Path) -> None:
    path = tmp_path / "report.xlsx"
    columns = (Column("身份证号", 22), Column("人数"), Column("金额"), Column("备注", 30, wrap=True))
    rows = [
        ["370829194001011234", 3, Decimal("1234.50"), "=1+1"],
        ["0012", None, Decimal("0.01"), "换行\n与\x00控制字符"],
    ]
    write_sheets(path, [Sheet("汇总", "标题", columns, rows), Sheet("空", "空表", (Column("a"),), [])])
    book = fastexcel.read_excel(path)
    assert book.sheet_names == ["汇总", "空"]
    # the ID and the leading zeros stay text, the formula too; counts and amounts are numbers
    assert _body(path).rows() == [
        ("370829194001011234", 3, 1234.5, "=1+1"),
        ("0012", None, 0.01, "换行\ufffd与\ufffd控制字符"),
    ]
    with zipfile.ZipFile(path) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode("utf-8")


def test_a_cell_longer_than_excel_holds_is_cut(tmp_path: Path) -> None:
    path = tmp_path / "long.xlsx"
    write_sheets(path, [Sheet("s", "t", (Column("a"),), [["x" * 40_000]])])
    value = _cells(path)[2][0]
    assert isinstance(value, str) and len(value) == 32_767 and value.endswith("…")


def test_a_workbook_that_cannot_be_written_is_a_storage_error(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="cannot write"):
        write_sheets(tmp_path / "missing" / "r.xlsx", [Sheet("s", "t", (Column("a"),), [])])


# -- the bulk writer (outputs/xlsxbulk.py): a frame's rows give the same bytes as writing them cell by cell


def _both_ways(
    tmp_path: Path, frame: pl.DataFrame, columns: tuple[Column, ...], **sheet: object
) -> tuple[bytes, bytes]:
    """The workbook of one sheet written from the frame (bulk) and from its rows as Python values."""
    fast, slow = tmp_path / "fast.xlsx", tmp_path / "slow.xlsx"
    more = sheet.pop("more", ())
    write_sheets(fast, [Sheet("表", "标题", columns, frame, more=more, **sheet)])  # type: ignore[arg-type]
    write_sheets(slow, [Sheet("表", "标题", columns, list(frame.iter_rows()), more=more, **sheet)])  # type: ignore[arg-type]
    return fast.read_bytes(), slow.read_bytes()


BULK_COLUMNS = (Column("序号", 6), Column("姓名", 12), Column("说明", 30, wrap=True), Column("金额", 12))


def _bulk_frame(texts: list[str | None]) -> pl.DataFrame:
    n = len(texts)
    return pl.DataFrame(
        {
            "i": list(range(1, n + 1)),
            "name": [f"张{i}" if i % 3 else None for i in range(n)],
            "note": texts,
            "amount": [Decimal(f"{(i * 7919) % 100000}.{i % 100:02d}") if i % 5 else None for i in range(n)],
        },
        schema={"i": pl.Int64, "name": pl.String, "note": pl.String, "amount": pl.Decimal(18, 2)},
    )


def test_bulk_rows_are_byte_identical_to_cell_by_cell(tmp_path: Path) -> None:
    texts = [
        "plain",
        " leading space",
        "trailing\u3000",
        'a & b < c > d "q"',
        "_x0041_ escaped",
        "\x07bell",
        "line\nbreak",
        "",
        None,
        "\ufffe\uffff",
        "😀 outside the BMP",
        "王" * 200,
        '=HYPERLINK("x")',
        "0.10",
    ] * 3
    frame = _bulk_frame(texts)
    fast, slow = _both_ways(tmp_path, frame, BULK_COLUMNS, footer=(("合计",), ("经办人", "", "审核人")))
    assert fast == slow
    # the amounts are numbers shown with 2 decimals: 80.50 is the number 80.5, printed as xlsxwriter does
    assert frame.get_column("amount").drop_nulls().len() > 30


def test_bulk_rows_with_a_table_after_them_and_print_setup_are_identical(tmp_path: Path) -> None:
    from subsidy_batch.outputs.workbook import Table

    frame = _bulk_frame(["x", None, "y"] * 50)
    more = (Table("第二表", (Column("指标"), Column("数值")), pl.DataFrame({"k": ["a", "b"], "v": [1, 2]})),)
    fast, slow = _both_ways(tmp_path, frame, BULK_COLUMNS, more=more, printed=True)
    assert fast == slow


def test_bulk_rows_empty_frames_and_empty_trailing_rows_are_identical(tmp_path: Path) -> None:
    empty = _bulk_frame([]).clear()
    assert operator_eq(*_both_ways(tmp_path, empty, BULK_COLUMNS))
    nothing = pl.DataFrame(
        {"i": [None, None], "name": [None, ""], "note": ["", None], "amount": [None, None]},
        schema={"i": pl.Int64, "name": pl.String, "note": pl.String, "amount": pl.Decimal(18, 2)},
    )
    assert operator_eq(*_both_ways(tmp_path, nothing, BULK_COLUMNS, footer=(("合计",),)))
    trailing = pl.concat([_bulk_frame(["a", "b"]), nothing])  # the last rows have no cell
    assert operator_eq(*_both_ways(tmp_path, trailing, BULK_COLUMNS, footer=(("合计",),)))


def operator_eq(a: bytes, b: bytes) -> bool:
    return a == b


def test_bulk_rows_decline_what_they_cannot_reproduce_and_the_cells_still_match(tmp_path: Path) -> None:
    # a text of 20,000 characters (over half a cell's limit) and an amount of 10^12 yuan: written cell by cell
    frame = _bulk_frame(["王" * 20_000, "x"]).with_columns(
        amount=pl.Series([Decimal("1000000000000.00"), Decimal("1.00")], dtype=pl.Decimal(18, 2))
    )
    fast, slow = _both_ways(tmp_path, frame, BULK_COLUMNS)
    assert fast == slow


def test_a_sheet_of_more_rows_than_excel_holds_is_refused(tmp_path: Path) -> None:
    frame = pl.DataFrame({"i": pl.int_range(0, 1_048_576, eager=True)})
    with pytest.raises(StorageError, match="more than an Excel sheet holds"):
        write_sheets(tmp_path / "big.xlsx", [Sheet("表", "标题", (Column("序号"),), frame)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=12),
    cents=st.lists(st.integers(min_value=-(10**15), max_value=10**15), min_size=1, max_size=12),
)
def test_bulk_rows_match_cell_by_cell_for_any_text_and_amount(
    tmp_path: Path, texts: list[str | None], cents: list[int]
) -> None:
    n = min(len(texts), len(cents))
    frame = pl.DataFrame(
        {
            "i": list(range(n)),
            "name": texts[:n],
            "note": list(reversed(texts[:n])),
            "amount": [Decimal(c).scaleb(-2) for c in cents[:n]],
        },
        schema={"i": pl.Int64, "name": pl.String, "note": pl.String, "amount": pl.Decimal(18, 2)},
    )
    fast, slow = _both_ways(tmp_path, frame, BULK_COLUMNS)
    assert fast == slow


@pytest.mark.parametrize(
    "odd",
    [
        "&",
        "<",
        ">",
        "\x07",
        "\x1f",
        "\x85",
        "\u2028",
        "\ufffe",
        "\uffff",
        "_x0041_",
        " lead",
        "trail ",
        "\u3000x",
    ],
)
def test_a_column_with_one_character_to_rewrite_is_rewritten_like_cell_by_cell(
    tmp_path: Path, odd: str
) -> None:
    # a column none of whose values needs rewriting is written as it is (xlsxbulk._SPECIAL); one value
    # that needs it, among plain ones, must still be rewritten exactly as xlsxwriter does
    frame = _bulk_frame(["plain", f"a{odd}b" if odd.strip() == odd else odd, "王五"] * 4)
    fast, slow = _both_ways(tmp_path, frame, BULK_COLUMNS)
    assert fast == slow


# -- the rows copied as bytes (outputs/xlsxzip.py Sheet): the same files as xlsxwriter's own copy in text


def _both_copies(tmp_path: Path, sheets: list[Sheet]) -> tuple[bytes, bytes]:
    """The workbook written with Sheet's copy of the rows (bulk rows kept in memory), and with xlsxwriter's
    (every row through its row file, decoded and encoded)."""
    ours, theirs = tmp_path / "ours.xlsx", tmp_path / "theirs.xlsx"
    original = xlsxwriter.worksheet.Worksheet._write_optimized_sheet_data
    by_xlsxwriter: list[object] = []  # the first row of each sheet xlsxwriter copied: None, no rows

    def counted(self: xlsxwriter.worksheet.Worksheet) -> None:
        by_xlsxwriter.append(self.dim_rowmin)
        original(self)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsxwriter.worksheet.Worksheet, "_write_optimized_sheet_data", counted)
        write_sheets(ours, sheets)
    assert all(first is None for first in by_xlsxwriter), "a sheet with rows was not copied as bytes"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(xlsxzip.Sheet, "_write_optimized_sheet_data", original)
        patch.setattr(xlsxzip.Sheet, "keep_rows", None)  # xlsxbulk then writes the rows into the row file
        write_sheets(theirs, sheets)
    return ours.read_bytes(), theirs.read_bytes()


def test_rows_copied_as_bytes_give_the_same_workbook_as_xlsxwriters_copy(tmp_path: Path) -> None:
    texts = ["plain", " lead", "line\nbreak\r\n", "tab\there", "\x07bell", "😀", "王" * 300, "a&b<c>", None]
    frame = _bulk_frame(texts * 40)
    sheets = [
        Sheet("表", "标题", BULK_COLUMNS, frame, footer=(("合计",),)),  # bulk rows
        Sheet("二", "cell by cell", (Column("a"), Column("b")), [["x\ny", 1], ["王\r五", Decimal("2.50")]]),
        Sheet("空", "no rows", (Column("a"),), []),
    ]
    ours, theirs = _both_copies(tmp_path, sheets)
    assert ours == theirs
    assert len(ours) > 5_000  # 360 rows of text: the copy had something to copy


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(texts=st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=10))
def test_rows_copied_as_bytes_match_xlsxwriters_copy_for_any_text(
    tmp_path: Path, texts: list[str | None]
) -> None:
    rows = [[t, i] for i, t in enumerate(texts)]
    sheets = [
        Sheet("表", "标题", BULK_COLUMNS, _bulk_frame(texts)),
        Sheet("二", "t", (Column("a"), Column("n")), rows),
    ]
    ours, theirs = _both_copies(tmp_path, sheets)
    assert ours == theirs


@settings(max_examples=60, deadline=None)
@given(
    texts=st.lists(st.one_of(st.none(), st.text(max_size=20)), max_size=12),
    end=st.sampled_from(["", "\n", "\r\n"]),
)
def test_utf8_lines_are_the_values_joined_as_polars_would_join_them(
    texts: list[str | None], end: str
) -> None:
    # commas, quotes, line breaks, empty text: the CSV writer quoting nothing writes each value as it is
    # (["a", None, 'b,"c'] with end "\n" -> 'a\nb,"c\n'); a null is left out with its end
    frame = pl.DataFrame({"x": texts}, schema={"x": pl.String})
    expected = "".join(t + end for t in texts if t is not None).encode("utf-8")
    assert bytes(xlsxbulk.utf8_lines(frame, end)) == expected
    if end == "":
        assert (
            bytes(xlsxbulk.utf8_lines(frame, end)) == frame.select(pl.col("x").str.join("")).item().encode()
        )


def test_utf8_lines_of_text_with_csv_specials_and_of_no_rows() -> None:
    frame = pl.DataFrame({"x": ["a", None, 'b,"c', "", "王\r\n五"]})
    assert bytes(xlsxbulk.utf8_lines(frame, "\n")) == 'a\nb,"c\n\n王\r\n五\n'.encode()  # the "" is a line too
    assert bytes(xlsxbulk.utf8_lines(frame.clear(), "\n")) == b""
