"""The digit-shape tests without the regex engine agree with the regular expressions they replace."""

from __future__ import annotations

import random

import polars as pl
import pytest

from subsidy_batch.roster import digits, idnumber
from tests.helpers import WEIGHTS

# characters an integer reading might let through: signs, spaces, separators, non-ASCII digits, letters
HOSTILE = list("0123456789") * 6 + list("+-Xx .,_eE\t\n") + ["０", "٣", "é", "一", "\u3000", "\x00"]
PATTERNS = ["^[0-9]{6}$", "^[0-9]{17}[0-9X]$", "^[0-9]{1}$", "^[0-9]{19}$", "^[0-9]{5}[0-9X]$"]


def hostile_texts(lengths: range, n: int, seed: int) -> list[str | None]:
    rng = random.Random(seed)
    texts: list[str | None] = [None, "", "+", "-", "X", "+12345", "-12345", "1234567", "12345", "123456"]
    texts += ["+" + "1" * 16 + "X", "1" * 17 + "X", "1" * 17 + "x", "1" * 17 + "+", " " + "1" * 17, "1" * 18]
    texts += ["1" * 19, "9" * 19, "9" * 20, "+" + "9" * 18, "0" * 19, "00000X"]
    for _ in range(n):
        texts.append("".join(rng.choice(HOSTILE) for _ in range(rng.choice(lengths))))
        # mostly digits with one hostile character somewhere: the case a shortcut would miss
        length = rng.choice(lengths)
        chars = [rng.choice("0123456789") for _ in range(length)]
        if chars:
            chars[rng.randrange(length)] = rng.choice(HOSTILE)
        texts.append("".join(chars))
    return texts


@pytest.mark.parametrize("pattern", PATTERNS)
def test_fixed_digit_patterns_agree_with_the_regex_on_hostile_text(pattern: str) -> None:
    frame = pl.DataFrame(
        {"t": hostile_texts(range(0, 22), 20_000, seed=len(pattern))}, schema={"t": pl.String}
    )
    got = frame.select(fast=digits.matches(pl.col("t"), pattern), regex=pl.col("t").str.contains(pattern))
    differ = frame.filter(got.get_column("fast").ne_missing(got.get_column("regex")))
    assert differ.height == 0, differ.head(5)
    assert got.get_column("fast").sum() > 0  # the sample holds matches too


def test_other_patterns_still_use_the_regex_engine() -> None:
    frame = pl.DataFrame({"t": ["370829", "37082", "abcdef", "123456789012345678901"]})
    for pattern in ["^[0-9]{20}$", "^[0-9]{21}$", "^[0-9]{6,8}$", "^[A-Z]{6}$", "[0-9]{6}"]:
        got = frame.select(digits.matches(pl.col("t"), pattern)).to_series()
        assert got.to_list() == frame.select(pl.col("t").str.contains(pattern)).to_series().to_list()


def test_fixed_digits_refuses_more_than_an_unsigned_64_bit_integer_holds() -> None:
    with pytest.raises(ValueError, match="1-19 digits"):
        digits.fixed_digits(pl.col("t"), 20)


def test_id_shape_key_and_check_agree_with_the_regex_and_the_text() -> None:
    texts = hostile_texts(range(16, 20), 20_000, seed=11643)
    rng = random.Random(7)
    texts += [
        "".join(rng.choice("0123456789") for _ in range(17)) + rng.choice("0123456789X") for _ in range(5000)
    ]
    frame = pl.DataFrame({"t": texts}, schema={"t": pl.String})
    got = frame.select(
        shape=idnumber.has_shape(pl.col("t")),
        regex=pl.col("t").str.contains(r"^[0-9]{17}[0-9X]$"),
        key=idnumber.exact_key(pl.col("t")),
        ok=idnumber.check_character_ok(pl.col("t")),
    )
    assert got.get_column("shape").eq_missing(got.get_column("regex")).all()
    for text, shaped, key, ok in zip(texts, got["regex"], got["key"], got["ok"], strict=True):
        if not shaped:
            assert key is None and ok is None
            continue
        assert text is not None
        assert key == int(text[:17]) * 11 + (10 if text[17] == "X" else int(text[17]))
        total = sum(int(c) * w for c, w in zip(text[:17], WEIGHTS, strict=True))
        assert ok == ("10X98765432"[total % 11] == text[17])
    assert got.get_column("ok").sum() > 100  # right check characters are in the sample too


def test_only_digits_is_true_only_for_digits_and_always_for_up_to_19() -> None:
    frame = pl.DataFrame({"t": hostile_texts(range(0, 24), 20_000, seed=19)}, schema={"t": pl.String})
    got = frame.select(
        fast=digits.only_digits(pl.col("t")),
        digits=pl.col("t").str.contains("^[0-9]+$").fill_null(False),
        short=pl.col("t").str.len_chars().fill_null(0) <= 19,
    )
    fast, all_digits, short = (got.get_column(c) for c in ("fast", "digits", "short"))
    assert not (fast & ~all_digits).any()  # never says digits of anything else
    assert (fast == all_digits).filter(short).all()  # and never misses up to 19 digits
    assert fast.sum() > 0
