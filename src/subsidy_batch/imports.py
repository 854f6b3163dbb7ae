"""Imports that leave out the parts of installed packages this program never uses (an optimisation).

A package may import more when another happens to be installed: pandera's built-in checks build
hypothesis strategies (data synthesis) when hypothesis is installed, as in a development install for the
property tests (0.14 s); structlog's console renderer, for a terminal, imports rich's traceback and
pretty-printer when rich is installed (0.1 s), while the audit log is JSON lines. Each costs a run that
time of the interpreter, holding it. tests/test_read_validate.py shows each left out, and the package
still doing what the run asks of it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from functools import cache
from types import ModuleType


@contextmanager
def without(package: str) -> Iterator[None]:
    """Imports inside act as if `package` were not installed, unless it is imported already.

    A test process has imported hypothesis already, and then nothing changes; the progress display has
    imported its parts of rich (never rich.traceback) before a run starts. Another thread that imports
    the package meanwhile gets the ImportError too: in a run no other thread imports either.
    """
    if package in sys.modules:
        yield
        return
    sys.modules[package] = None  # type: ignore[assignment]  # import then raises ImportError
    try:
        yield
    finally:
        if sys.modules.get(package, False) is None:
            del sys.modules[package]


def import_without(module: str, *left_out: str) -> ModuleType:
    """importlib.import_module(module), with each of `left_out` as if not installed while it imports."""
    with ExitStack() as stack:
        for package in left_out:
            stack.enter_context(without(package))
        return importlib.import_module(module)


@cache
def structlog() -> ModuleType:
    """The structlog module, imported without rich's traceback module (its console renderer's); the
    audit log asks for it at every event."""
    return import_without("structlog", "rich", "rich.traceback")
