"""公示 lists: one list per 乡镇 of who is paid what this month, to post on the 村/社区 and 乡镇 boards.

Names and ID numbers are masked as config/shared/gongshi.yaml says (common practice, with its source);
the list shows nothing else about a person: no bank account, birth date, ability grade, income status
or family-planning category. Each 乡镇 gets gongshi/<乡镇>.xlsx and a printable gongshi/<乡镇>.html (A4).
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import polars as pl

from subsidy_batch.errors import StorageError
from subsidy_batch.outputs.labels import benefit_zh, mapped, person, person_column
from subsidy_batch.outputs.workbook import Column, Sheet, write_sheets
from subsidy_batch.outputs.xlsxbulk import utf8_lines
from subsidy_batch.period import Period
from subsidy_batch.rules.strict import Node, read_yaml

GONGSHI_DIR = "gongshi"
GONGSHI_CONFIG = "shared/gongshi.yaml"  # under the config folder
SHEET = "公示名单"
COLUMNS = ("序号", "姓名", "身份证号", "乡镇/村", "项目", "月发放金额（元）", "备注")
# 备注 of an item paid for an earlier month, so that a reader sees two rows of one person and benefit as
# two months, not a double payment: 补发2024年3月 (arrears), 重发2024年1月 (a month the bank returned)
REMARKS = {"arrears": "补发", "reissue": "重发"}
_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*]')


@dataclass(frozen=True)
class Mask:
    """Keep `keep_first` and `keep_last` characters, star the rest (`stars` of them, when fixed)."""

    keep_first: int
    keep_last: int
    mask: str = "*"
    stars: int | None = None  # a fixed count (ID numbers: 8), else one per hidden character

    def apply(self, value: str | None) -> str:
        if not value:
            return ""
        n = len(value)
        if self.stars is not None and n <= self.keep_first + self.keep_last:  # too short to show any of it
            return self.mask * self.stars
        first = min(self.keep_first, max(n - 1, 0))  # at least one character is always hidden
        last = min(self.keep_last, max(n - first - 1, 0))
        hidden = n - first - last
        stars = self.mask * (self.stars if self.stars is not None else hidden)
        return value[:first] + stars + (value[n - last :] if last else "")

    def expr(self, value: pl.Expr) -> pl.Expr:
        """apply() over a column in polars ("" for null or empty); tests/test_reports.py checks they agree."""
        n = value.str.len_chars()
        if self.stars is not None:
            # a fixed count (ID numbers): a value longer than what is kept shows its first keep_first and
            # last keep_last characters (then neither bound below applies), a shorter one stars alone; fixed
            # slices spare polars one slice per row (0.6 s -> 0.15 s for 770,000 IDs)
            stars_only = pl.lit(self.mask * self.stars)
            shown = value.str.head(self.keep_first) + stars_only + value.str.tail(self.keep_last)
            short = n <= self.keep_first + self.keep_last
            masked = pl.when(short).then(stars_only).otherwise(shown)
            return pl.when(value.is_null() | (value == "")).then(pl.lit("")).otherwise(masked)
        first = pl.min_horizontal(pl.lit(self.keep_first), pl.max_horizontal(n - 1, pl.lit(0)))
        last = pl.min_horizontal(pl.lit(self.keep_last), pl.max_horizontal(n - first - 1, pl.lit(0)))
        stars = pl.lit("").str.pad_end(n - first - last, self.mask)  # one per hidden character
        masked = value.str.slice(0, first) + stars + value.str.slice(n - last, last)
        return pl.when(value.is_null() | (value == "")).then(pl.lit("")).otherwise(masked)


@dataclass(frozen=True)
class GongshiRules:
    """config/shared/gongshi.yaml: the masks, the notice printed under a list, benefit names, the source."""

    name: Mask
    id_number: Mask
    notice: str
    source: str
    benefit_names: Mapping[str, str] = field(default_factory=dict)


def _mask(node: Node, fixed: bool) -> Mask:
    keys = {"keep_first", "keep_last", "mask", *(("stars",) if fixed else ())}
    parts = node.mapping(keys, required=("keep_first", "keep_last", *(("stars",) if fixed else ())))
    mask = parts["mask"].text() if "mask" in parts else "*"
    # a letter or digit would not read as hidden: 370829 + 77777777 + 1234 is an ID number of 18 digits
    if len(mask) != 1 or mask.isalnum():
        raise parts["mask"].error('mask must be one character that is not a letter or digit, e.g. "*"')
    return Mask(
        parts["keep_first"].integer(0, 17),
        parts["keep_last"].integer(0, 17),
        mask,
        parts["stars"].integer(1, 18) if fixed else None,
    )


def _chinese(node: Node) -> str:
    """A benefit's name as a 公示 list shows it: Chinese text (a stray key with a code-like value is refused)."""
    text = node.text()
    if not re.search(r"[\u4e00-\u9fff]", text):
        raise node.error(
            f"{text!r} is not a Chinese name; write the benefit's name as the list shows it, e.g. 高龄津贴"
        )
    return text


def load_gongshi(config_dir: Path) -> GongshiRules:
    """Read config/shared/gongshi.yaml strictly: an unknown key or a missing one is a ConfigError."""
    top = read_yaml(config_dir / GONGSHI_CONFIG).mapping(
        {"source", "masking", "notice", "benefit_names"}, required=("source", "masking", "notice")
    )
    masking = top["masking"].mapping({"name", "id_number"}, required=("name", "id_number"))
    id_mask = _mask(masking["id_number"], fixed=True)
    if id_mask.keep_first + id_mask.keep_last > 10:
        raise masking["id_number"].error("keep at most 10 of the 18 characters of an ID number")
    names = top["benefit_names"].entries() if "benefit_names" in top else {}
    return GongshiRules(
        name=_mask(masking["name"], fixed=False),
        id_number=id_mask,
        notice=top["notice"].text(),
        source=top["source"].text(),
        benefit_names={code: _chinese(node) for code, node in names.items()},
    )


def file_stem(township: str) -> str:
    """A 乡镇's name as a file name: characters no file system takes become _, at most 60 characters."""
    stem = _UNSAFE.sub("_", township.strip()).strip(". ") or "_"
    return stem[:60]


def gongshi_rows(items: pl.DataFrame, rules: GongshiRules, titles: Mapping[str, str]) -> pl.DataFrame:
    """The paid line items as the list shows them: township, masked name and ID, benefit name, amount,
    and for a month other than the period's (arrears, a reissue) a remark naming it.

    Only these columns leave this function: nothing else about a person reaches a 公示 file.
    """
    who = person_column(items)
    columns = ("township", who, "benefit", "name", "id_number", "amount", "kind", "for_period")
    paid = (
        items.lazy()  # lazy: only the columns used are filtered and sorted, not every column of the items
        .filter(pl.col("status") == "paid")
        .select(*dict.fromkeys(c for c in columns if c in items.columns))
        .sort("township", who, "benefit", maintain_order=True)  # ties (arrears): items' order
        .collect()
    )
    remark = pl.repeat(None, pl.len(), dtype=pl.String)  # no remark: the period's own month only
    if {"kind", "for_period"} <= set(paid.columns) and paid.get_column("kind").is_in(list(REMARKS)).any():
        month = pl.col("for_period")
        remark = pl.format(
            "{}{}年{}月",
            pl.col("kind").replace_strict(REMARKS, default=None, return_dtype=pl.String),
            month.str.slice(0, 4),
            month.str.slice(5, 2).str.strip_chars_start("0"),
        )  # null where the kind has no remark (regular)
    return pl.DataFrame(
        {
            "township": paid.get_column("township"),
            "name": paid.select(rules.name.expr(pl.col("name"))).to_series(),
            "id_number": paid.select(rules.id_number.expr(pl.col("id_number"))).to_series(),
            "benefit": paid.select(mapped(pl.col("benefit"), lambda b: benefit_zh(b, titles))).to_series(),
            "amount": paid.get_column("amount"),
            "remark": paid.select(remark.alias("remark")).to_series(),
        },
        schema={
            "township": pl.String,
            "name": pl.String,
            "id_number": pl.String,
            "benefit": pl.String,
            "amount": pl.Decimal(18, 2),
            "remark": pl.String,
        },
    )


def write_gongshi(
    folder: Path,
    items: pl.DataFrame,
    *,
    county_name: str,
    period: str,
    masking: GongshiRules,
    created: datetime,
    benefit_names: Mapping[str, str] | None = None,
    pool: Executor | None = None,
) -> list[str]:
    """Write gongshi/<乡镇>.xlsx and gongshi/<乡镇>.html under `folder` (a run folder) for every 乡镇 with a
    paid item; returns the files written, relative to `folder`, in order (for the manifest).

    items is line_items.parquet; benefit_names the county's titles (labels.benefit_titles), else the
    config's benefit_names. `created` dates the files (the same items give the same bytes). Each list is
    a job of `pool` (the caller's, shared with its other documents), else of a pool of two of its own.
    """
    titles = {**masking.benefit_names, **(benefit_names or {})}
    rows = gongshi_rows(items, masking, titles)
    month = Period.parse(period)
    out = folder / GONGSHI_DIR
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(f"cannot write {out}: {exc.strerror}") from exc
    # people per 乡镇 counted by their full ID: two people may share a masked one
    people = dict(
        items.lazy()  # lazy: the two columns counted are filtered, not every column of the items
        .filter(pl.col("status") == "paid")
        .group_by("township")
        .agg(person(items).n_unique())
        .collect()
        .iter_rows()
    )
    jobs: list[tuple[str, str, pl.DataFrame]] = []
    used: set[str] = set()
    # the rows cut per 乡镇 in one pass (one filter per 乡镇 took 0.25 s at 10M people, this 0.05 s)
    parts = rows.partition_by("township", maintain_order=True, as_dict=True)
    for (township,), part in parts.items():
        stem = file_stem(township)
        while stem in used:  # two 乡镇 names that differ only in characters a file name cannot hold
            stem += "_"
        used.add(stem)
        jobs.append((township, stem, part))

    def write_list(township: str, stem: str, part: pl.DataFrame) -> list[str]:
        title = f"{county_name}{township}{month.year}年{month.month}月养老补贴发放公示"
        body = part.select(
            pl.int_range(1, part.height + 1, dtype=pl.Int64).alias("i"),
            "name",
            "id_number",
            "township",
            "benefit",
            "amount",
            "remark",
        )
        total = part.get_column("amount").sum() or Decimal(0)
        summary = f"合计：{people[township]} 人，{part.height} 项，{total:.2f} 元"
        dated = f"公示日期：{created:%Y年%m月%d日}"
        sheet = Sheet(
            SHEET,
            title,
            tuple(Column(h, w) for h, w in zip(COLUMNS, (6, 12, 22, 16, 24, 16, 14), strict=True)),
            body,
            footer=((summary,), (masking.notice,), (dated,)),
            printed=True,
        )
        write_sheets(out / f"{stem}.xlsx", [sheet], created)
        page = _page(title, body, (summary, masking.notice, dated))
        (out / f"{stem}.html").write_bytes(page)
        return [f"{GONGSHI_DIR}/{stem}.xlsx", f"{GONGSHI_DIR}/{stem}.html"]

    def write_all(executor: Executor) -> list[str]:
        done = [executor.submit(write_list, *job) for job in jobs]
        return [name for job in done for name in job.result()]

    # two lists at a time: polars, deflate and file writes let go of the interpreter, so a second core helps
    if pool is not None:
        return write_all(pool)
    with ThreadPoolExecutor(max_workers=2) as own:
        return write_all(own)


_PRINT_CSS = """
@page { size: A4 portrait; margin: 15mm 12mm; }
body { font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", serif; font-size: 11pt; margin: 0 auto; max-width: 190mm; }
h1 { font-size: 16pt; text-align: center; margin: 0 0 6mm; }
table { width: 100%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #000; padding: 1.5mm 2mm; }
th { background: #eee; }
td.n, td.m { text-align: right; white-space: nowrap; }
td.id { font-family: monospace; white-space: nowrap; }
td.r { white-space: nowrap; }
p { margin: 2mm 0; }
@media print { th { background: none; } }
""".strip()


def _page(title: str, rows: pl.DataFrame, notes: tuple[str, ...]) -> bytes:
    """One printable page, as UTF-8: the title, the table (its header repeated on every printed page), the
    notes.

    The rows (序号, name, ID, 乡镇/村, benefit, amount, remark) become <tr> lines in one polars pass, escaped as
    html.escape does (tests/test_reports.py compares them with html.escape row by row), and are taken as
    the bytes polars writes (utf8_lines): no Python text of a 乡镇's tens of thousands of lines is made and
    encoded.
    """
    e = html.escape
    head = "".join(f"<th>{e(h)}</th>" for h in COLUMNS)
    classes = ("n", "", "id", "", "", "m", "r")
    texts = rows.select(pl.col(name).cast(pl.String).fill_null("") for name in rows.columns)
    # a column with none of & < > " ' needs no escaping (most have none): spared five rewrites a cell
    special = texts.select(pl.all().str.contains(r"[&<>\"']").any()).row(0)
    # a line is one pl.format with the tags in its template (not a format per cell joined by concat_str)
    template = "".join(f'<td class="{cls}">{{}}</td>' if cls else "<td>{}</td>" for cls in classes)
    places = [
        _escaped(pl.col(name)) if found else pl.col(name)
        for name, found in zip(texts.columns, special, strict=True)
    ]
    lines = utf8_lines(texts.select(pl.format(f"<tr>{template}</tr>", *places)), "\n")  # each line ends "\n"
    top = (
        "<!DOCTYPE html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{e(title)}</title>\n<style>\n{_PRINT_CSS}\n</style>\n</head>\n<body>\n"
        f"<h1>{e(title)}</h1>\n<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n"
    )
    # the line break after the last <tr> line, or alone where there is none
    bottom = ("" if len(lines) else "\n") + "</tbody>\n</table>\n"
    bottom += "".join(f"<p>{e(n)}</p>\n" for n in notes) + "</body>\n</html>\n"
    return b"".join((top.encode(), lines, bottom.encode()))


def _escaped(text: pl.Expr) -> pl.Expr:
    """html.escape(text): & < > " ' as entities."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;"), ("'", "&#x27;")):
        text = text.str.replace_all(char, entity, literal=True)
    return text
