"""The vectorized GB 11643 arithmetic agrees with the standard's weighted sum, digit by digit."""

from __future__ import annotations

import random

import polars as pl

from subsidy_batch.roster import idnumber
from tests.helpers import WEIGHTS


def reference_check_character(first17: str) -> str:
    """GB 11643-1999 as written: sum of digit x weight, mod 11, looked up in 1 0 X 9 8 7 6 5 4 3 2."""
    total = sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return "10X98765432"[total % 11]


def test_the_check_character_equals_the_standard_weighted_sum_for_20000_numbers_and_the_extremes() -> None:
    rng = random.Random(11643)
    numbers = ["0" * 17, "9" * 17, "11010519491231002", "37082919440229001"]
    numbers += ["".join(rng.choice("0123456789") for _ in range(17)) for _ in range(20_000)]
    got = pl.Series(numbers).to_frame("n").select(idnumber.check_character(pl.col("n"))).to_series()
    assert got.to_list() == [reference_check_character(n) for n in numbers]
    assert got[2] == "X"  # the standard's own example: 11010519491231002X
    assert set(got) == set("0123456789X")


def test_the_check_value_is_null_unless_there_are_exactly_17_digits() -> None:
    texts = [
        "1101051949123100",
        "110105194912310021",
        "1101051949123100A",
        "1101051949123100b",
        "+1101051949123100",
    ]
    got = pl.Series(texts).to_frame("n").select(idnumber.check_character(pl.col("n"))).to_series()
    assert got.to_list() == [None] * len(texts)


def test_check_character_ok_accepts_the_right_last_character_only() -> None:
    right = "11010519491231002X"
    wrong = [right[:-1] + c for c in "0123456789"] + [right.lower()]
    got = (
        pl.Series([right, *wrong])
        .to_frame("id")
        .select(idnumber.check_character_ok(pl.col("id")))
        .to_series()
        .to_list()
    )
    assert got == [True] + [False] * 10 + [None]


def test_from_15_digits_inserts_the_century_and_computes_the_check_character() -> None:
    from subsidy_batch.roster.idnumber import check_character_ok, from_15_digits

    # 370829 450101 123 -> 370829 19 450101 123 + check. Weights 7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2 over
    # 3 7 0 8 2 9 1 9 4 5 0 1 0 1 1 2 3: 21+63+0+40+16+36+2+9+24+15+0+9+0+5+8+8+6 = 262; 262 mod 11 = 9;
    # check = (12 - 9) mod 11 = 3.
    frame = pl.DataFrame({"id": ["370829450101123", "37082919450101123X", "3708291945", None]})
    out = frame.select(new=from_15_digits(pl.col("id")))
    assert out["new"].to_list() == ["370829194501011233", "37082919450101123X", None, None]
    assert frame.select(check_character_ok(pl.lit("370829194501011233"))).item() is True
