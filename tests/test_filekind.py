"""filekind.not_a_workbook: what a file named as a workbook really holds, from its first bytes."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import xlsxwriter

from subsidy_batch.filekind import HEAD, not_a_workbook


def _workbook(path: Path) -> Path:
    book = xlsxwriter.Workbook(str(path))
    book.add_worksheet().write_row(0, 0, ["姓名", "身份证号码"])
    book.close()
    return path


def test_a_whole_workbook_under_its_own_name_is_left_to_the_reader(tmp_path: Path) -> None:
    assert not_a_workbook(_workbook(tmp_path / "roster.xlsx")) is None


def test_an_xls_workbook_under_its_own_name_is_left_to_the_reader(tmp_path: Path) -> None:
    path = tmp_path / "roster.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # the OLE signature, then a header
    assert not_a_workbook(path) is None


def test_a_workbook_cut_off_in_copying_is_called_incomplete(tmp_path: Path) -> None:
    data = _workbook(tmp_path / "whole.xlsx").read_bytes()
    cut = tmp_path / "roster.xlsx"
    cut.write_bytes(data[: len(data) // 2])  # the zip's central directory, at its end, is gone
    said = not_a_workbook(cut)
    assert said is not None and said.startswith("the workbook is incomplete or damaged")


@pytest.mark.parametrize(
    ("kind", "name", "said"),
    [
        (
            "xlsx",
            "roster.xls",
            "an Excel workbook (.xlsx, Excel 2007 or later) under an .xls name; rename it to .xlsx",
        ),
        (
            "xlsx",
            "roster.ods",
            "an Excel workbook (.xlsx, Excel 2007 or later) under an .ods name; rename it to .xlsx",
        ),
        ("xls", "roster.xlsx", "an Excel 97-2003 workbook (.xls) under an .xlsx name; rename it to .xls"),
        ("ods", "roster.xlsx", "an OpenDocument spreadsheet (.ods) under an .xlsx name; rename it to .ods"),
    ],
)
def test_a_workbook_under_another_kinds_name_is_told_which_name_to_take(
    tmp_path: Path, kind: str, name: str, said: str
) -> None:
    path = tmp_path / name
    if kind == "xlsx":
        path.write_bytes(_workbook(tmp_path / "real.xlsx").read_bytes())
    elif kind == "xls":
        path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))
    else:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
            archive.writestr("content.xml", "<office:document-content/>")
    assert not_a_workbook(path) == f"the file is {said} and run again"


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("姓名,身份证号码\n张三,1\n".encode("gb18030"), "the file is text (a CSV or tab-separated export"),
        ("姓名\t身份证号码\n".encode("utf-16"), "the file is text (a CSV or tab-separated export"),
        ("\ufeff姓名,身份证号码\n".encode(), "the file is text (a CSV or tab-separated export"),
        (b"\r\n<html><head><meta charset=gbk></head><table>", "the file is a web page (an HTML table"),
        (
            b'<?xml version="1.0"?><Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet">',
            "the file is an Excel 2003 XML",
        ),
        (b"", "the file is empty (0 bytes)"),
        (b"PK\x05\x06" + bytes(18), "the file is an empty zip archive"),
        (b"\x00\x01\x02binary", "the file is not a workbook (its first bytes are neither"),
    ],
    ids=["GB18030 CSV", "UTF-16 text", "UTF-8 with BOM", "HTML", "XML 2003", "empty", "empty zip", "binary"],
)
def test_what_is_not_a_workbook_is_named(tmp_path: Path, content: bytes, said: str) -> None:
    path = tmp_path / "roster.xls"
    path.write_bytes(content)
    told = not_a_workbook(path)
    assert told is not None and told.startswith(said)


def test_a_chinese_character_cut_at_the_end_of_the_bytes_looked_at_is_still_text(tmp_path: Path) -> None:
    # 姓 is 3 bytes in UTF-8: after HEAD - 1 bytes of "a", only its first byte is among the HEAD read
    path = tmp_path / "roster.xls"
    path.write_bytes(b"a" * (HEAD - 1) + "姓名\n".encode())
    told = not_a_workbook(path)
    assert told is not None and told.startswith("the file is text")


def test_a_zip_holding_a_roster_is_told_to_be_unpacked(tmp_path: Path) -> None:
    path = tmp_path / "roster.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("花名册.csv", "姓名,身份证号码\n")
    told = not_a_workbook(path)
    assert told is not None and told.startswith(
        "the file is a zip archive, not a workbook; if the file meant is inside"
    )


def test_a_workbook_saved_with_a_password_is_told_so_not_called_an_xls(tmp_path: Path) -> None:
    """Excel and WPS save an .xlsx with a password as an OLE file holding an EncryptedPackage stream. This
    stand-in has the OLE signature and that stream's name in a directory entry (UTF-16LE), nothing more;
    a real one, encrypted by msoffcrypto-tool (not a dependency), got the same sentence from `subsidy run`."""
    path = tmp_path / "roster.xlsx"
    path.write_bytes(
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + "EncryptedPackage".encode("utf-16-le")
    )
    told = not_a_workbook(path)
    assert told is not None and told.startswith("the workbook is protected by a password")
