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


# full-width digits and X as an input method types them, folded (a lower-case x too, by upper())
_FULLWIDTH_ID = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "X"})


def normalise_id(text: str) -> str:
    """An ID as a clerk types it: full-width digits, spaces and a lower-case x are folded."""
    return "".join(text.translate(_FULLWIDTH_ID).split()).upper()


def typed_id(text: str) -> str:
    """An ID number given on the command line (explain, history), folded as normalise_id does; a
    UsageError (exit 2) where it is not 18 characters, before any run is read."""
    from subsidy_batch.errors import UsageError

    wanted = normalise_id(text)
    if len(wanted) != 18:
        raise UsageError(f"an ID number (公民身份号码) has 18 characters; {len(wanted)} were given")
    return wanted
