"""Masking of IDs and bank accounts in free text, in plain Python (no polars), for terminal and log text.

roster.idnumber re-exports these beside its vectorized mask; the command line imports them from here so
that an error or a refusal is masked without loading the engine.
"""

from __future__ import annotations

import re

_LONG_DIGITS = re.compile(r"\d{12,}[0-9Xx]?")


def mask_text(value: str | None) -> str:
    """The same mask for one value in Python (log lines, messages)."""
    if not value:
        return ""
    return f"{value[:6]}********{value[-4:]}" if len(value) >= 10 else "********"


def scrub(text: str) -> str:
    """Mask every long digit run (ID or account) inside free text before it reaches a log or terminal."""
    return _LONG_DIGITS.sub(lambda m: mask_text(m.group(0)), text)
