"""What a file named as a workbook (.xlsx, .xls, .ods) really holds, told from its first bytes.

County systems and web portals often export a CSV, a tab-separated text or an HTML table under an .xls
name, and a workbook cut off in copying or downloading keeps its name. The spreadsheet reader's own words
for these ("Zip error: invalid Zip archive: Could not find EOCD", "Invalid OLE") tell a clerk nothing, so
the readers call `not_a_workbook` once a read has failed and say this instead.
"""

from __future__ import annotations

import codecs
import zipfile
from pathlib import Path

ZIP = b"PK\x03\x04"  # .xlsx and .ods are zip files
EMPTY_ZIP = b"PK\x05\x06"
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .xls (Excel 97-2003) is an OLE compound file
HEAD = 4096
# an .xlsx saved with a password is an OLE file holding this stream (its directory names are UTF-16LE)
ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
SAVE_AS = "open it in Excel or WPS and save it as .xlsx (Excel 工作簿), then run again"


def not_a_workbook(path: Path) -> str | None:
    """Why `path` cannot be a workbook, in a clerk's words, ending in what to do; None when its bytes
    start as a workbook's and are whole (the reader's own message is then the best there is)."""
    try:
        with path.open("rb") as file:
            head = file.read(HEAD)
    except OSError:
        return None  # the reader says why the file cannot be opened
    if not head:
        return "the file is empty (0 bytes); export it again and run again"
    suffix = path.suffix.lower()
    if head.startswith(ZIP):
        kind = _zip_kind(path)
        if kind is None:
            return (
                "the workbook is incomplete or damaged (its end is missing, as when a copy or a download is "
                "cut off); copy or download it again, check that it opens in Excel or WPS, and run again"
            )
        if not kind:
            return (
                "the file is a zip archive, not a workbook; if the file meant is inside it, unpack it and give "
                "that file, then run again"
            )
        return None if kind == suffix else _misnamed(kind, suffix)
    if head.startswith(EMPTY_ZIP):
        return "the file is an empty zip archive, not a workbook; export it again and run again"
    if head.startswith(OLE):
        if ENCRYPTED in path.read_bytes():  # the failure path only: the whole file is looked through
            return (
                "the workbook is protected by a password (加密), so it cannot be read; open it in Excel or "
                "WPS, remove the password, save it and run again"
            )
        return None if suffix == ".xls" else _misnamed(".xls", suffix)
    text = _text(head)
    if text is None:
        return f"the file is not a workbook (its first bytes are neither a workbook's nor text); {SAVE_AS}"
    start = text.lstrip("\ufeff \t\r\n").lower()
    if start.startswith("<") and ("urn:schemas-microsoft-com:office:spreadsheet" in start):
        return f"the file is an Excel 2003 XML spreadsheet, which this reader cannot read; {SAVE_AS}"
    if start.startswith("<") and any(tag in start for tag in ("<html", "<table", "<!doctype html")):
        return (
            "the file is a web page (an HTML table, as some online systems export under an .xls name), "
            f"not a workbook; {SAVE_AS}"
        )
    return (
        "the file is text (a CSV or tab-separated export under a workbook's name), not a workbook; "
        f"rename it to .csv, or {SAVE_AS}"
    )


KINDS = {
    ".xlsx": "an Excel workbook (.xlsx, Excel 2007 or later)",
    ".xls": "an Excel 97-2003 workbook (.xls)",
    ".ods": "an OpenDocument spreadsheet (.ods)",
}


def _misnamed(kind: str, suffix: str) -> str:
    return f"the file is {KINDS[kind]} under an {suffix} name; rename it to {kind} and run again"


def _zip_kind(path: Path) -> str | None:
    """ ".xlsx" or ".ods" by what the zip holds, "" for some other zip, None for a zip cut off or damaged."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "mimetype" in names and b"opendocument.spreadsheet" in archive.read("mimetype"):
                return ".ods"
    except (zipfile.BadZipFile, OSError, EOFError):
        return None
    return ".xlsx" if "[Content_Types].xml" in names else ""


def _text(head: bytes) -> str | None:
    """The first bytes as text (UTF-16 with its BOM, UTF-8 or GB18030; a character cut at the end of the
    bytes read is allowed), or None when they hold control bytes or decode as none of these."""
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        encodings: tuple[str, ...] = ("utf-16",)
    else:
        encodings = ("utf-8", "gb18030")
    for encoding in encodings:
        try:
            text = codecs.getincrementaldecoder(encoding)().decode(head, final=False)
        except UnicodeDecodeError:
            continue
        if all(ch >= " " or ch in "\t\r\n\f" for ch in text):
            return text
    return None
