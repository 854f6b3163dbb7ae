"""Chinese labels of the codes the outputs show a clerk (hold reasons, statuses, age bands, benefits).

Labels are presentation, not policy: the codes stay beside them in every report, so a label can be
reworded without changing what was paid.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import ConfigError
from subsidy_batch.rules.strict import read_yaml

HOLD_REASONS_ZH = {
    "standard_not_set": "标准未定（政策未给出金额）",
    "account_stored_as_number": "银行账号被存为数字，位数可能已丢失",
    "no_bank_account": "无有效银行账号",
    "bank_returned": "银行退回",
    "account_refused": "银行已拒收此户名账号，待更正",
    "paid_under_other_id": "该月已按另一身份证号发放至同一户名账号",
    "duplicate_payee": "同一姓名和银行账号出现在两个身份证号下，待核实",
}
# the reason codes of a failed bank line (config/banks/reasons.yaml, rules.layouts.REASON_CODES)
BANK_REASONS_ZH = {
    "holder_deceased": "户主已死亡",
    "name_mismatch": "户名不符",
    "no_such_account": "无此账号",
    "account_closed": "账户已销户",
    "account_frozen": "账户冻结或状态异常",
    "id_mismatch": "证件号不符",
    "other": "其他原因",
}
STATUS_ZH = {"paid": "发放", "held": "暂缓"}
AGE_BASES_ZH = {
    "month_after_birthday": "满周岁次月起算（上月末计龄）",
    "birthday_month": "满周岁当月起算（本月末计龄）",
}
# (label, lowest age, highest age): the bands of the 乡镇 × age table and charts (issue 14)
AGE_BANDS: tuple[tuple[str, int | None, int | None], ...] = (
    ("60岁以下", None, 59),
    ("60-79岁", 60, 79),
    ("80-89岁", 80, 89),
    ("90-99岁", 90, 99),
    ("100岁及以上", 100, None),
)
ALWAYS_SHOWN_BANDS = ("80-89岁", "90-99岁", "100岁及以上")  # the others only where someone is in them


def person_column(items: pl.DataFrame) -> str:
    """Who an item is for, to count and order people: the run's id_key (UInt64, equal exactly when the ID
    text is equal and ordered as it: idnumber.exact_key) where the frame carries it, else the ID text.
    Both give the same counts and order; the key is several times faster on a province's millions of
    items (tests/test_reports.py)."""
    return "id_key" if "id_key" in items.columns else "id_number"


def person(items: pl.DataFrame) -> pl.Expr:
    """person_column as an expression."""
    return pl.col(person_column(items))


def hold_reason_zh(code: str | None) -> str:
    return "" if code is None else HOLD_REASONS_ZH.get(code, code)


def age_band(age: pl.Expr) -> pl.Expr:
    """The band label of an age (null age: null)."""
    chain: Any = None
    for label, low, high in AGE_BANDS:
        test = pl.lit(True)
        if low is not None:
            test = test & (age >= low)
        if high is not None:
            test = test & (age <= high)
        chain = pl.when(test).then(pl.lit(label)) if chain is None else chain.when(test).then(pl.lit(label))
    assert chain is not None
    return chain.otherwise(None)


def bands_shown(present: Iterable[str | None]) -> list[str]:
    """The bands a table shows, in order: the high-age bands always, the others where someone is."""
    found = set(present)
    return [label for label, _, _ in AGE_BANDS if label in ALWAYS_SHOWN_BANDS or label in found]


def benefit_titles(config_files: Iterable[Path], fallback: Mapping[str, str] | None = None) -> dict[str, str]:
    """benefit code -> Chinese name: each benefit's `title` in the county's config files (the county
    file and what it inherits, CountyConfig.files), else `fallback` (config/shared/gongshi.yaml)."""
    titles = dict(fallback or {})
    for path in reversed(list(config_files)):  # the county's own file, listed first, wins
        top = read_yaml(path)
        benefits = top.value.get("benefits")
        if not isinstance(benefits, dict):
            continue
        for code, spec in benefits.items():
            title = spec.get("title") if isinstance(spec, dict) else None
            if title is not None and (not isinstance(title, str) or not title.strip()):
                raise ConfigError(f"{path}: benefits.{code}.title: expected text")
            if title:
                titles[str(code)] = title.strip()
    return titles


def benefit_zh(code: str, titles: Mapping[str, str]) -> str:
    return titles.get(code, code)


def mapped(column: pl.Expr, shown: Callable[[str], str]) -> pl.Expr:
    """Each text value as `shown` writes it, worked out once per distinct value (statuses, benefits)."""
    return column.map_batches(
        lambda s: s.replace_strict(
            (distinct := s.drop_nulls().unique()), [shown(v) for v in distinct.to_list()], default=None
        ),
        return_dtype=pl.String,
    )
