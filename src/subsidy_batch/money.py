"""Money: integer fen inside the engine, Decimal(18,2) yuan at the edges."""

from __future__ import annotations

import re
from decimal import Decimal

import pyarrow as pa
import pyarrow.compute as pc

DECIMAL = pa.decimal128(18, 2)
_YUAN = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


def yuan_to_fen(text: str) -> int:
    """Parse a config amount like "85" or "85.00" into fen; refuse anything finer than a fen."""
    text = str(text).strip()
    if not _YUAN.match(text):
        raise ValueError(f"{text!r} is not an amount in yuan with at most 2 decimals")
    return int(Decimal(text) * 100)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def fen_array_to_decimal(values: pa.Array) -> pa.Array:
    """Convert an int64 fen array to decimal128(18,2) yuan exactly (multiplying by 0.01 is exact in decimal)."""
    scaled = pc.multiply(values.cast(pa.decimal128(19, 0)), pa.scalar(Decimal("0.01"), pa.decimal128(3, 2)))
    return scaled.cast(DECIMAL)  # raises if an amount exceeds 18 digits, never truncates
