"""Money: integer fen inside the engine, Decimal(18,2) yuan at the edges."""

from __future__ import annotations

import re
from decimal import Decimal

import polars as pl

DECIMAL = pl.Decimal(18, 2)
_YUAN = re.compile(r"^\d{1,13}(\.\d{1,2})?$")


def yuan_to_fen(text: str) -> int:
    """Parse a config amount like "85" or "85.00" into fen; refuse anything finer than a fen."""
    text = str(text).strip()
    if not _YUAN.match(text):
        raise ValueError(f"{text!r} is not an amount in yuan with at most 2 decimals")
    return int(Decimal(text) * 100)


def fen_to_yuan(fen: int) -> Decimal:
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def fen_text(fen: int) -> str:
    """Yuan with 2 decimals as text ("53870.00"), for manifests, summaries and bank control records."""
    return f"{fen_to_yuan(fen):.2f}"


def fen_text_expr(fen: pl.Expr) -> pl.Expr:
    """The same text from non-negative integer fen in polars (no float on the way)."""
    return (fen // 100).cast(pl.String) + pl.lit(".") + (fen % 100).cast(pl.String).str.zfill(2)


def fen_to_decimal(fen: pl.Expr) -> pl.Expr:
    """Integer fen as decimal(18,2) yuan, exactly: fen x 0.01 keeps the same integer with two decimals.

    Multiplying by 0.01 (stored as 1 with scale 2) never rounds, and is twice as fast as dividing by 100.
    Both casts are strict: more than 18 digits raises.
    """
    return (fen.cast(pl.Decimal(18, 0)) * pl.lit(Decimal("0.01"))).cast(DECIMAL)
