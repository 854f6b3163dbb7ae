"""The files a costing scenario writes (issue 16): never under runs/, "scenario" in every name and title.

`scenario-<county>-<period>.json` / `.xlsx` for one scenario; `...-comparison.json` / `.xlsx` / `.html`
for several side by side. Amounts arrive as yuan text (exact, from integer fen) and are written as
Decimal; with mortality, people are expected counts (text with two decimals) and every title says
"expected".
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from html import escape
from pathlib import Path
from typing import Any

from subsidy_batch.outputs.folders import side_folder
from subsidy_batch.outputs.html_report import _CSS, bar_chart
from subsidy_batch.outputs.workbook import Cell, Column, Sheet, Table, write_sheets

NOT_POLICY = "情景测算 scenario（非政策 not policy）"


def _scenario_folder(out: Path, runs_dir: Path | None) -> None:
    """Make the --out folder; never one under a runs folder (any named runs, or `runs_dir`), where
    accepted runs are."""
    side_folder(out, "a scenario", runs_dir)


def _json(result: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _number(value: int | str) -> Cell:
    """A count (int) or an expected count or amount (text) as a cell."""
    return value if isinstance(value, int) else Decimal(value)


def _first_day(period: str) -> datetime:
    year, month = (int(x) for x in period.split("-"))
    return datetime(year, month, 1)


def _assumptions(result: dict[str, Any], changes: list[str]) -> Sheet:
    rows: list[list[Cell]] = [[result["assumptions"]]]
    rows += [[f"改动 change: {c}"] for c in changes]
    mortality = result.get("mortality")
    if mortality:
        rows.append([f"死亡率来源 mortality source: {mortality['source']}"])
        rows += [[f"年龄 age {r['age']}: 年死亡率 annual {r['annual']}"] for r in mortality["rates"]]
    rows += [[f"缺口 gap the scenario leaves: {g}"] for g in result.get("gaps", [])]
    return Sheet("假设", "情景测算的假设 assumptions", (Column("假设 assumption", 120, wrap=True),), rows)


def _columns(key: str, people: str, expected: bool) -> tuple[Column, ...]:
    word = "预期" if expected else ""
    english = "expected " if expected else ""
    unit = {"people": ("人数", "people"), "person_months": ("人月", "person-months")}[people]
    return (
        Column(key, 16),
        Column(f"现行{word}{unit[0]} baseline {english}{unit[1]}", 14),
        Column(f"现行{word}金额 baseline {english}yuan", 16),
        Column(f"情景{word}{unit[0]} scenario {english}{unit[1]}", 14),
        Column(f"情景{word}金额 scenario {english}yuan", 16),
        Column("差额 difference", 16),
    )


def _body(rows: list[dict[str, Any]], key: str, people: str) -> list[list[Cell]]:
    return [
        [
            r[key],
            _number(r[f"baseline_{people}"]),
            Decimal(r["baseline"]),
            _number(r[f"scenario_{people}"]),
            Decimal(r["scenario"]),
            Decimal(r["difference"]),
        ]
        for r in rows
    ]


def write_scenario(result: dict[str, Any], out: Path, runs_dir: Path | None = None) -> list[Path]:
    """scenario-<county>-<period>.json and .xlsx in `out` (never under runs/ or `runs_dir`)."""
    _scenario_folder(out, runs_dir)
    stem = f"scenario-{result['county']}-{result['period']}"
    paths = [out / f"{stem}.json", out / f"{stem}.xlsx"]
    _json(result, paths[0])
    expected = bool(result.get("expected"))
    title = f"{NOT_POLICY}{', '.join(result['scenario'])}"

    def sheet(name: str, key: str, rows: list[dict[str, Any]], later: str | None = None) -> Sheet:
        more: tuple[Table, ...] = ()
        if later is not None:
            more = (
                Table(
                    f"未来12个月{'（预期 expected）' if expected else ''} next 12 months",
                    _columns(key, "person_months", expected),
                    _body(result[later], key, "person_months"),
                ),
            )
        return Sheet(
            name, f"{title} — {name}", _columns(key, "people", False), _body(rows, key, "people"), more
        )

    sheets = [
        sheet("按项目", "benefit", result["by_benefit"], "next_12_months_by_benefit"),
        sheet("按乡镇", "township", result["by_township"], "next_12_months_by_township"),
        sheet("按年龄段", "band", result["by_age_band"]),
        Sheet(
            "逐月预测",
            f"{title} — 逐月预测{'（预期 expected）' if expected else ''}",
            _columns("period", "people", expected),
            _body(result["by_month"], "period", "people"),
        ),
        _assumptions(result, result["scenario"]),
    ]
    write_sheets(paths[1], sheets, _first_day(result["period"]))
    return paths


def write_comparison(result: dict[str, Any], out: Path, runs_dir: Path | None = None) -> list[Path]:
    """scenario-<county>-<period>-comparison .json, .xlsx (汇总 with the 乡镇 table, and a sheet per
    scenario) and .html (charts and the 乡镇 table, offline), in `out` (never under runs/ or `runs_dir`)."""
    _scenario_folder(out, runs_dir)
    stem = out / f"scenario-{result['county']}-{result['period']}-comparison"
    paths = [stem.with_suffix(".json"), stem.with_suffix(".xlsx"), stem.with_suffix(".html")]
    _json(result, paths[0])
    money = Decimal
    expected = bool(result.get("expected"))
    twelve = "未来12个月预期 expected next 12" if expected else "未来12个月 next 12"
    names = [s["scenario"] for s in result["summary"]]
    townships = Table(
        "按乡镇 by 乡镇: 本月 this month / " + twelve,
        (
            Column("乡镇 township", 16),
            Column("现行本月 month now", 14),
            Column(f"现行{twelve} now", 18),
            *(c for n in names for c in (Column(f"{n} 本月 month", 16), Column(f"{n} {twelve}", 20))),
        ),
        [
            [
                t["township"],
                money(t["month_baseline"]),
                money(t["next_12_months_baseline"]),
                *(money(t["scenarios"][n][k]) for n in names for k in ("month", "next_12_months")),
            ]
            for t in result["by_township"]
        ],
    )
    summary = Sheet(
        "汇总",
        f"情景比较 scenarios（非政策 not policy）{result['county_name']} {result['period']}",
        (
            Column("情景 scenario", 24),
            Column("改动 changes", 48, wrap=True),
            Column("本月现行 month now", 16),
            Column("本月情景 month", 16),
            Column(f"{twelve}现行 now", 18),
            Column(f"{twelve}情景", 18),
            Column("差额 difference", 16),
        ),
        [
            [
                s["scenario"],
                "; ".join(s["changes"]),
                money(s["month_baseline"]),
                money(s["month_scenario"]),
                money(s["next_12_months_baseline"]),
                money(s["next_12_months_scenario"]),
                money(s["next_12_months_difference"]),
            ]
            for s in result["summary"]
        ],
        more=(townships,),
    )
    sheets = [summary]
    for index, (name, one) in enumerate(result["scenarios"].items(), start=1):
        sheets.append(
            Sheet(
                f"情景{index}",
                f"情景 scenario「{name}」（非政策 not policy）: {', '.join(one['scenario'])}",
                _columns("benefit", "people", False),
                _body(one["by_benefit"], "benefit", "people"),
                more=(
                    Table(
                        "按乡镇 本月 by 乡镇, this month",
                        _columns("township", "people", False),
                        _body(one["by_township"], "township", "people"),
                    ),
                    Table(
                        f"按乡镇 {twelve}",
                        _columns("township", "person_months", expected),
                        _body(one["next_12_months_by_township"], "township", "person_months"),
                    ),
                    Table(
                        "逐月 by month",
                        _columns("period", "people", expected),
                        _body(one["by_month"], "period", "people"),
                    ),
                ),
            )
        )
    sheets.append(
        _assumptions(
            result,
            [f"{n}: {c}" for s in result["summary"] for n, c in [(s["scenario"], "; ".join(s["changes"]))]],
        )
    )
    write_sheets(paths[1], sheets, _first_day(result["period"]))
    paths[2].write_text(_comparison_html(result, names, twelve), encoding="utf-8")
    return paths


def _comparison_html(result: dict[str, Any], names: list[str], twelve: str) -> str:
    money = Decimal
    charts = [
        bar_chart(
            "scenario-next-12-months",
            f"{twelve}费用（元）yuan",
            [(s["scenario"], money(s["next_12_months_scenario"])) for s in result["summary"]],
        ),
        bar_chart(
            "scenario-this-month",
            "本月费用（元）this month, yuan",
            [(s["scenario"], money(s["month_scenario"])) for s in result["summary"]],
        ),
    ]
    head = "".join(f"<th>{escape(n)} 本月</th><th>{escape(n)} {escape(twelve)}</th>" for n in names)
    body = "".join(
        f'<tr><td>{escape(t["township"])}</td><td class="v">{t["month_baseline"]}</td>'
        f'<td class="v">{t["next_12_months_baseline"]}</td>'
        + "".join(
            f'<td class="v">{t["scenarios"][n]["month"]}</td><td class="v">{t["scenarios"][n]["next_12_months"]}</td>'
            for n in names
        )
        + "</tr>"
        for t in result["by_township"]
    )
    table = (
        f'<h2>按乡镇 by 乡镇（元 yuan）</h2><table id="scenario-by-township"><tr><th>乡镇</th><th>现行本月 now</th>'
        f"<th>现行 {escape(twelve)}</th>{head}</tr>{body}</table>"
    )
    title = f"情景比较 SCENARIOS (not policy) {result['county_name']} {result['period']}"
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n<style>\n{_CSS}\n</style>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        f'<p>{escape(result["assumptions"])}</p>\n<div class="grid">{"".join(charts)}</div>\n{table}\n</body>\n</html>\n'
    )
