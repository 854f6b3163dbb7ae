"""The zip of every workbook this program writes, deflated at zlib level 3 (an optimisation).

xlsxwriter zips a workbook's parts with zipfile at zlib's default level, 6. The parts are XML, and at
level 6 their compression is most of a workbook's cost: at 1M people the run's workbooks hold 39 MB of
XML, 0.49 s of one core at level 6 and 0.18 s at level 3, for 12 % more bytes (3.82 MB against 3.40 MB).
Level 3 is the fastest of zlib's greedy levels (1-3) and the smallest of them; from level 4 zlib
searches lazily, and pays for it.

xlsxwriter takes no compression level: its `_store_workbook` makes `ZipFile(filename, "w",
compression=ZIP_DEFLATED, ...)` from its own module's name and adds each part with `ZipFile.write`, which
takes the archive's level. That name is bound, once, to a ZipFile whose level is 3: every workbook is the
same bytes for the same rows, as before, at another level. Every workbook is made by workbook() below,
so that the binding is in place whichever module writes first; none is made in xlsxwriter's in_memory
mode, whose `writestr` would take zlib's default. tests/test_workbook.py checks each part of a written
workbook, of report.xlsx and of a bank's workbook: its stored bytes are what zlib deflates at level 3.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import xlsxwriter
import xlsxwriter.workbook

LEVEL = 3


class LevelZip(zipfile.ZipFile):
    """zipfile.ZipFile at LEVEL unless a level is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("compresslevel", LEVEL)
        super().__init__(*args, **kwargs)


xlsxwriter.workbook.ZipFile = LevelZip  # type: ignore[misc]


def workbook(path: Path, options: dict[str, Any]) -> xlsxwriter.Workbook:
    """xlsxwriter.Workbook(str(path), options), zipped at LEVEL when it is closed."""
    return xlsxwriter.Workbook(str(path), options)
