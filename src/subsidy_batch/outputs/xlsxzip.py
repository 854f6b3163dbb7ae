"""How every workbook this program writes is put together (two optimisations of xlsxwriter's last step).

1. The zip is deflated by ISA-L (the `isal` package) at its level 2, not by zlib.

xlsxwriter zips a workbook's parts with zipfile at zlib's default level, 6. The parts are XML, and their
compression is most of a workbook's cost: at 10M people the 公示 lists alone hold 261 MB of sheet XML,
which zlib deflates in 1.76 s of one core at level 3 (28.4 MB) and 1.01 s at level 1 (30.2 MB), and
ISA-L in 0.24 s at its level 2 (28.3 MB, as small as zlib's level 3). Its level 1 is as fast and 0.7 %
larger; its level 3 searches lazily and takes 0.75 s. ISA-L lets go of the interpreter while it deflates,
as zlib does. The stored bytes are ISA-L's, as the wheel pinned in uv.lock makes them: any deflate reader
(Excel, WPS, LibreOffice, zipfile) reads them; another version of ISA-L may make other bytes, as
another zlib may (Python's zlib module is the system's library, ISA-L is inside the wheel). ISA-L picks
its code for the processor at run time. By its dispatch table (igzip/igzip_multibinary.asm) its level 2
finds matches by one hash on every processor with SSE4.2 (a CRC32C instruction; the SSE, AVX and AVX2
bodies are one source assembled three times) and by another, in C, below it; AVX-512 only writes the
chosen codes faster. So a run is the same bytes on any x86-64 processor with SSE4.2 (Intel since 2008,
AMD since 2011); one without would write other, equally valid, bytes.

xlsxwriter takes no compressor: its `_store_workbook` makes `ZipFile(filename, "w",
compression=ZIP_DEFLATED, ...)` from its own module's name and adds each part with `ZipFile.writestr`
(or `ZipFile.write` in its file mode). That name is bound, once, to LevelZip, whose entries opened for
writing deflate what they are given with ISA-L in one piece when they are closed (_Deflater): the same
bytes however the part arrives (zipfile's file mode hands it over in pieces of 8 KiB, and ISA-L's
streaming gives other bytes for other pieces). Every workbook is made by workbook() below, so that the
binding is in place whichever module writes first. tests/test_workbook.py checks each part of a written
workbook, of report.xlsx and of a bank's workbook: its stored bytes are ISA-L's deflate of it at LEVEL.

2. A sheet's rows are copied into its XML as bytes. In constant_memory mode xlsxwriter writes the rows to
a temporary UTF-8 file and, when the workbook is closed, copies that file into the sheet's XML file in
text mode: every character decoded and encoded again, holding the interpreter (0.2 s at 1M people,
most of it the 公示 lists). Decoding UTF-8 and encoding it again gives the same bytes, so Sheet copies
them as they are. tests/test_workbook.py writes the same workbooks with xlsxwriter's own copy and with
this one and asserts identical files, for any text (a hypothesis property).

3. A workbook's parts are put together in memory. In its file mode xlsxwriter writes each part (nine for
a one-sheet workbook: the sheet, styles, theme, workbook, relations, properties) to a temporary file, has
zipfile copy it into the zip in pieces of 8 KiB and deletes it: at 100k people the run's 19 workbooks made
and deleted about 170 such files, each costing about 0.7 ms of file system work (most of it the delete),
and the copy in small pieces let go of the interpreter and took it back thousands of times while another
thread ran Python. Book keeps each part in memory as UTF-8 bytes (a sheet's rows go in as the bytes of
2., only its rows' own file is still on disk, as constant_memory needs) and puts it into the zip in one
piece, with the entry a file would have had: the date xlsxwriter sets on its files (31 January 1980),
a file's permissions (-rw-------) and ISA-L's deflate. The zip is the same bytes as xlsxwriter's file mode gives:
tests/test_workbook.py checks it on a workbook of bulk, cell-by-cell and empty sheets and for any text (a
hypothesis property), and `subsidy verify runs` on every stored run's report, lists and bank workbooks.
Part stands in for the StringIO of xlsxwriter's in_memory mode, which only ever writes to it.

4. A sheet's bulk rows stay in memory. The rows xlsxbulk makes in one piece (all the rows of a 公示 list or
of a detail sheet) are bytes already; written into the row file, they were read back whole when the
workbook closed, and the file of tens of megabytes deleted (at 10M people the 公示 lists' 260 MB: 0.35 s
of writing, reading and deleting). Sheet.keep_rows keeps them with the place in the row file they would
have had, and the sheet's XML gets the row file's bytes with them put back there: the same bytes in
the same order (tests/test_workbook.py, as for 3.). The rows written cell by cell (titles, headers,
footers) still go through the row file.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.packager
import xlsxwriter.workbook
import xlsxwriter.worksheet
from isal import isal_zlib

from subsidy_batch.errors import InternalError

LEVEL = 2  # ISA-L's (0-3), see 1. above
# the entry of a part as xlsxwriter's file mode makes it: its temporary file dated 31 January 1980 (local
# time, read back as local time) and created by tempfile.mkstemp (a regular file, -rw-------)
PART_DATE = (1980, 1, 31, 0, 0, 0)
PART_ATTRIBUTES = (stat.S_IFREG | 0o600) << 16


def deflate(data: bytes) -> bytes:
    """A part's stored bytes: raw deflate (no zlib header, as a zip holds it) by ISA-L at LEVEL."""
    return isal_zlib.compress(data, LEVEL, -15)


class _Deflater:
    """What zipfile asks of a compressor, deflating everything it was given in one piece at the end."""

    def __init__(self) -> None:
        self._pieces: list[bytes] = []

    def compress(self, data: bytes) -> bytes:
        self._pieces.append(data)  # zipfile hands over bytes it made and never changes: kept, not copied
        return b""

    def flush(self) -> bytes:
        data = b"".join(self._pieces)
        self._pieces = []
        return deflate(data)


class LevelZip(zipfile.ZipFile):
    """zipfile.ZipFile whose deflated entries are deflated by ISA-L (1. above); a part given as bytes gets
    a file's entry."""

    def open(self, name: Any, mode: Any = "r", pwd: Any = None, *, force_zip64: bool = False) -> Any:
        handle: Any = super().open(name, mode, pwd, force_zip64=force_zip64)
        if mode == "w" and handle._zinfo.compress_type == zipfile.ZIP_DEFLATED:
            if not hasattr(handle, "_compressor"):  # zipfile of another Python: found by the tests
                raise InternalError("zipfile's entry writer has no _compressor to replace")
            handle._compressor = _Deflater()
        return handle

    def writestr(
        self,
        zinfo_or_arcname: str | zipfile.ZipInfo,
        data: Any,
        compress_type: int | None = None,
        compresslevel: int | None = None,
    ) -> None:
        """A part of Book (in memory) with the entry ZipFile.write gives xlsxwriter's temporary file of it."""
        name = (
            zinfo_or_arcname.filename if isinstance(zinfo_or_arcname, zipfile.ZipInfo) else zinfo_or_arcname
        )
        zinfo = zipfile.ZipInfo(name, PART_DATE)
        zinfo.external_attr = PART_ATTRIBUTES
        zinfo.compress_type = self.compression if compress_type is None else compress_type
        super().writestr(zinfo, data, compresslevel=compresslevel)


xlsxwriter.workbook.ZipFile = LevelZip  # type: ignore[misc]


class Sheet(xlsxwriter.worksheet.Worksheet):
    """xlsxwriter's worksheet, whose rows (constant_memory) go into the sheet's XML as bytes, and whose
    bulk rows (xlsxbulk) stay in memory until then instead of going through its row file (4. above)."""

    def __init__(self) -> None:
        super().__init__()
        self._kept: list[tuple[int, bytes | memoryview]] = []  # (where in the row file, the rows' UTF-8)

    def keep_rows(self, data: bytes | memoryview) -> None:
        """Rows as xlsxwriter would have written them to the row file, kept in memory at its present end."""
        self.fh.flush()  # what xlsxwriter wrote before (the header row) goes first
        self._kept.append((self.fh.buffer.tell(), data))

    def _write_optimized_sheet_data(self) -> None:
        rows, xml = self.row_data_fh, self.fh
        if self.dim_rowmin is None or not (_utf8(rows) and _utf8(xml)):
            if self._kept:  # xlsxwriter's own copy would leave out the kept rows (never so under Book)
                raise InternalError(f"sheet {self.name}: rows kept in memory, but its files are not UTF-8")
            super()._write_optimized_sheet_data()  # no rows, or files this copy does not know
            return
        self._xml_start_tag("sheetData")
        rows.close()  # flushed: every row is in the file
        with open(self.row_data_filename, "rb") as written:
            pieces = self._pieces(written.read())
        if isinstance(xml, Part):
            for piece in pieces:
                xml.write_bytes(piece)
        else:
            xml.flush()  # what is written of the sheet's XML before its rows goes first
            xml.buffer.write(b"".join(pieces))
        os.unlink(self.row_data_filename)
        self._kept = []
        self._xml_end_tag("sheetData")

    def _pieces(self, written: bytes) -> list[bytes | memoryview]:
        """The row file's bytes with the kept rows put back where they were kept, in order."""
        pieces: list[bytes | memoryview] = []
        start = 0
        for at, data in self._kept:
            pieces += [written[start:at], data]
            start = at
        return [*pieces, written[start:]]


def _utf8(fh: Any) -> bool:
    """A Part, or a text file of UTF-8 on disk with a byte buffer under it, as xlsxwriter opens its files."""
    encoding = str(getattr(fh, "encoding", "")).lower().replace("-", "").replace("_", "")
    return isinstance(fh, Part) or (encoding == "utf8" and hasattr(fh, "buffer"))


class Part(io.StringIO):
    """One part of a workbook, in memory as UTF-8 bytes: xlsxwriter writes its XML here as text, as into
    the StringIO of its in_memory mode; Sheet adds its rows as the bytes they are."""

    def __init__(self) -> None:
        super().__init__()
        self._pieces: list[bytes | memoryview] = []

    def write(self, text: str) -> int:
        self._pieces.append(text.encode("utf-8"))
        return len(text)

    def write_bytes(self, data: bytes | memoryview) -> None:
        self._pieces.append(data)

    def getvalue(self) -> _Utf8:  # type: ignore[override]
        return _Utf8(b"".join(self._pieces))


class _Utf8:
    """What Part.getvalue gives xlsxwriter, which encodes it to UTF-8 for the zip: the bytes, as they are."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def encode(self, encoding: str = "utf-8") -> bytes:
        if encoding.lower().replace("-", "") != "utf8":
            raise ValueError(f"a workbook part is UTF-8, not {encoding}")
        return self.data


class _Packager(xlsxwriter.packager.Packager):
    """xlsxwriter's packager, each part a Part in memory rather than a temporary file."""

    def _filename(self, xml_filename: str) -> Part:
        part = Part()
        self.filenames.append((part, xml_filename, False))
        return part


class Book(xlsxwriter.Workbook):
    """xlsxwriter's workbook, whose sheets keep constant_memory (their rows on disk as they are written)
    and whose parts are put together in memory when it is closed (3. above)."""

    def _get_packager(self) -> _Packager:
        return _Packager()

    def _store_workbook(self) -> None:
        # in_memory from here on only: set when the workbook is made, it would turn constant_memory off
        self.in_memory = True
        super()._store_workbook()


def workbook(path: Path, options: dict[str, Any]) -> xlsxwriter.Workbook:
    """Book(str(path), options): its sheets are Sheet, its parts zipped from memory by ISA-L when closed."""
    book = Book(str(path), options)
    book.worksheet_class = Sheet
    return book
