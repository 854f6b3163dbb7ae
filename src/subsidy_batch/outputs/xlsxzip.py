"""How every workbook this program writes is put together (two optimisations of xlsxwriter's last step).

1. The zip is deflated at zlib level 3.

xlsxwriter zips a workbook's parts with zipfile at zlib's default level, 6. The parts are XML, and at
level 6 their compression is most of a workbook's cost: at 1M people the run's workbooks hold 39 MB of
XML, 0.49 s of one core at level 6 and 0.18 s at level 3, for 12 % more bytes (3.82 MB against 3.40 MB).
Level 3 is the smallest of zlib's greedy levels (1-3), within 10 % of the fastest of them (2); from
level 4 zlib searches lazily, and pays for it (level 4: 0.27 s).

xlsxwriter takes no compression level: its `_store_workbook` makes `ZipFile(filename, "w",
compression=ZIP_DEFLATED, ...)` from its own module's name and adds each part with `ZipFile.write`, which
takes the archive's level. That name is bound, once, to a ZipFile whose level is 3: every workbook is the
same bytes for the same rows, as before, at another level. Every workbook is made by workbook() below,
so that the binding is in place whichever module writes first; none is made in xlsxwriter's in_memory
mode, whose `writestr` would take zlib's default. tests/test_workbook.py checks each part of a written
workbook, of report.xlsx and of a bank's workbook: its stored bytes are what zlib deflates at level 3.

2. A sheet's rows are copied into its XML as bytes. In constant_memory mode xlsxwriter writes the rows to
a temporary UTF-8 file and, when the workbook is closed, copies that file into the sheet's XML file in
text mode: every character decoded and encoded again, holding the interpreter (0.2 s at 1M people,
most of it the 公示 lists). Decoding UTF-8 and encoding it again gives the same bytes, so Sheet copies
them as they are. tests/test_workbook.py writes the same workbooks with xlsxwriter's own copy and with
this one and asserts identical files, for any text (a hypothesis property).

3. A part goes into the zip in pieces of a megabyte. zipfile's `write` copies a file in pieces of 8 KiB,
and each piece lets go of the interpreter and takes it back three times (reading, the checksum, deflate):
while another thread runs Python (the documents are written two at a time) each taking back waits for it,
and the 公示 lists' 26 MB of XML at 1M people waited in 3,200 pieces. Deflate gives the same bytes however
its input is cut (no flush between pieces), so the zip is the same; tests/test_workbook.py checks it.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.workbook
import xlsxwriter.worksheet

LEVEL = 3
PIECE = 1 << 20  # bytes of a part read, checksummed and deflated at a time


class LevelZip(zipfile.ZipFile):
    """zipfile.ZipFile at LEVEL unless a level is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", LEVEL)
        super().__init__(*args, **kwargs)

    def write(
        self,
        filename: Any,
        arcname: Any = None,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """ZipFile.write of a file, copied in pieces of PIECE bytes rather than 8 KiB."""
        strict = self._strict_timestamps  # type: ignore[attr-defined]
        zinfo = zipfile.ZipInfo.from_file(filename, arcname, strict_timestamps=strict)
        if zinfo.is_dir():
            super().write(filename, arcname, compress_type, compresslevel)
            return
        zinfo.compress_type = self.compression if compress_type is None else compress_type
        zinfo._compresslevel = self.compresslevel if compresslevel is None else compresslevel  # type: ignore[attr-defined]
        with open(filename, "rb") as src, self.open(zinfo, "w") as dest:
            shutil.copyfileobj(src, dest, PIECE)


xlsxwriter.workbook.ZipFile = LevelZip  # type: ignore[misc]


class Sheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, whose rows (constant_memory) go into the sheet's XML as bytes."""

    def _write_optimized_sheet_data(self) -> None:
        rows, xml = self.row_data_fh, self.fh
        if self.dim_rowmin is None or not (_utf8(rows) and _utf8(xml)):
            super()._write_optimized_sheet_data()  # no rows, or files this copy does not know
            return
        self._xml_start_tag("sheetData")
        rows.close()  # flushed: every row is in the file
        xml.flush()  # what is written of the sheet's XML before its rows goes first
        with open(self.row_data_filename, "rb") as written:
            shutil.copyfileobj(written, xml.buffer, 1 << 20)
        os.unlink(self.row_data_filename)
        self._xml_end_tag("sheetData")


def _utf8(fh: Any) -> bool:
    """A text file of UTF-8 on disk (with a byte buffer under it), as xlsxwriter opens both files."""
    encoding = str(getattr(fh, "encoding", "")).lower().replace("-", "").replace("_", "")
    return encoding == "utf8" and hasattr(fh, "buffer")


def workbook(path: Path, options: dict[str, Any]) -> xlsxwriter.Workbook:
    """xlsxwriter.Workbook(str(path), options), whose sheets are Sheet, zipped at LEVEL when it is closed."""
    book = xlsxwriter.Workbook(str(path), options)
    book.worksheet_class = Sheet
    return book
