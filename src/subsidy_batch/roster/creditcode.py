"""Unified social credit codes (统一社会信用代码, GB 32100-2015): the check character, vectorized."""

from __future__ import annotations

import polars as pl

CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # 31 characters: no I, O, S, V, Z
_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
_SHAPE = r"^[0-9A-HJ-NP-RTUW-Y]{18}$"


def check_character(first17: pl.Expr) -> pl.Expr:
    """The 18th character: C18 = 31 - (sum of value x weight mod 31), with 31 written as 0."""
    values = [
        first17.str.slice(i, 1).replace_strict(list(CHARS), list(range(31)), default=None) for i in range(17)
    ]
    total = pl.sum_horizontal(v * w for v, w in zip(values, _WEIGHTS, strict=True))
    return ((31 - total % 31) % 31).replace_strict(list(range(31)), list(CHARS), return_dtype=pl.String)


def check_character_ok(col: pl.Expr) -> pl.Expr:
    """True where the last character is right; null where the shape is wrong (another check says so)."""
    return pl.when(col.str.contains(_SHAPE)).then(
        col.str.slice(17, 1) == check_character(col.str.slice(0, 17))
    )
