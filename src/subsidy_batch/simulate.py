"""What would it cost? A scenario: the county's rules with some amounts changed, run on a roster for the
month and the next 12 months, against the rules as they stand (issue 16).

A scenario is never policy: nothing is accepted, nothing is written under runs/, every file it writes
has "scenario" in its name and title, and `run` never reads it. The projection ages the roster's people
month by month (the county's age basis decides the month someone enters a band) and assumes nobody dies,
moves or is added: it says so in every output.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import NoRuleInForceError, UsageError
from subsidy_batch.money import fen_text, yuan_to_fen
from subsidy_batch.outputs.folders import side_folder
from subsidy_batch.outputs.labels import age_band
from subsidy_batch.period import Period
from subsidy_batch.roster.read import read_roster
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import line_items
from subsidy_batch.rules.config import Amount, CountyConfig, load_county

ASSUMPTIONS = (
    "a projection, not a payment: the roster's people as they are this month, each month older; "
    "no deaths, moves or new people; rules and amounts as in force each month, with the scenario's changes"
)
_SET = re.compile(r"^(?P<benefit>[a-z_0-9]+)/(?P<rule>[a-z_0-9]+)=(?P<amount>\d{1,13}(\.\d{1,2})?)$")


@dataclass(frozen=True)
class Change:
    benefit: str
    rule: str
    fen: int  # the monthly amount the scenario sets

    @property
    def text(self) -> str:
        return f"{self.benefit}/{self.rule}={fen_text(self.fen)}"


def parse_set(text: str) -> Change:
    """BENEFIT/RULE=AMOUNT, the amount in yuan (at most 2 decimals), e.g. high_age_allowance/county_80_89=50."""
    match = _SET.match(text.strip())
    if not match:
        raise UsageError(
            f"--set {text!r} is not BENEFIT/RULE=AMOUNT with the amount in yuan, e.g. "
            "--set high_age_allowance/county_80_89=50"
        )
    return Change(match["benefit"], match["rule"], yuan_to_fen(match["amount"]))


def with_changes(config: CountyConfig, changes: list[Change]) -> CountyConfig:
    """The county's rules with each change's row paying its amount monthly; an unknown row is an error."""
    rules = list(config.rules)
    for change in changes:
        found = [i for i, r in enumerate(rules) if r.benefit == change.benefit and r.id == change.rule]
        if not found:
            rows = sorted(f"{r.benefit}/{r.id}" for r in rules if r.benefit == change.benefit) or sorted(
                {r.benefit for r in rules}
            )
            raise UsageError(
                f"--set {change.text}: {config.county} has no row {change.benefit}/{change.rule}; it has {', '.join(rows)}"
            )
        for i in found:
            rules[i] = replace(
                rules[i], amount=Amount("monthly", change.fen), citation=f"scenario: {change.text}"
            )
    return replace(config, rules=tuple(rules))


def month_cost(people: pl.DataFrame, config: CountyConfig, period: Period) -> pl.DataFrame:
    """Per benefit, 乡镇 and age band: people with an item, the amount payable (fen) and held items."""
    try:
        items = line_items(people, config, period)
    except NoRuleInForceError:
        items = pl.DataFrame(
            schema={
                "id_number": pl.String,
                "benefit": pl.String,
                "township": pl.String,
                "age": pl.Int32,
                "status": pl.String,
                "amount_fen": pl.Int64,
            }
        )
    paid = pl.col("status") == "paid"
    return (
        items.with_columns(band=age_band(pl.col("age")))
        .group_by("benefit", "township", "band")
        .agg(
            people=pl.col("id_number").filter(paid).n_unique(),
            fen=pl.col("amount_fen").filter(paid).sum(),
            held=(~paid).sum(),
        )
        .with_columns(period=pl.lit(str(period)))
        .sort("benefit", "township", "band")
    )


def simulate(
    config_dir: Path, county: str, period: Period, roster: Path, changes: list[Change], months: int = 12
) -> dict[str, Any]:
    """The month and the next `months` under the rules as they stand and under the scenario."""
    if not changes:
        raise UsageError("say what the scenario changes, e.g. --set high_age_allowance/county_80_89=50")
    schema = load_schema()
    baseline = load_county(config_dir, county, schema)
    scenario = with_changes(baseline, changes)
    raw = read_roster(roster, schema, roster.name)
    people = validate(raw, schema, str(period), county).accepted
    horizon = [period]
    for _ in range(months):
        horizon.append(horizon[-1].next())
    frames: dict[str, list[pl.DataFrame]] = {"baseline": [], "scenario": []}
    for month in horizon:
        frames["baseline"].append(month_cost(people, baseline, month))
        frames["scenario"].append(month_cost(people, scenario, month))
    base, scen = pl.concat(frames["baseline"]), pl.concat(frames["scenario"])
    by_month = _totals(base, scen, ["period"])
    first = str(period)
    return {
        "scenario": [c.text for c in changes],
        "county": county,
        "county_name": baseline.name,
        "period": first,
        "roster": roster.name,
        "people_on_roster": people.height,
        "assumptions": ASSUMPTIONS,
        "by_benefit": _rows(
            _totals(
                base.filter(pl.col("period") == first), scen.filter(pl.col("period") == first), ["benefit"]
            )
        ),
        "by_township": _rows(
            _totals(
                base.filter(pl.col("period") == first), scen.filter(pl.col("period") == first), ["township"]
            )
        ),
        "by_age_band": _rows(
            _totals(base.filter(pl.col("period") == first), scen.filter(pl.col("period") == first), ["band"])
        ),
        "by_month": _rows(by_month),
        "next_12_months": {
            "baseline": fen_text(
                int(by_month.filter(pl.col("period") != first).get_column("baseline_fen").sum() or 0)
            ),
            "scenario": fen_text(
                int(by_month.filter(pl.col("period") != first).get_column("scenario_fen").sum() or 0)
            ),
        },
    }


def _totals(base: pl.DataFrame, scen: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    def agg(frame: pl.DataFrame, side: str) -> pl.DataFrame:
        return frame.group_by(keys).agg(
            pl.col("people").sum().alias(f"{side}_people"), pl.col("fen").sum().alias(f"{side}_fen")
        )

    joined = (
        agg(base, "baseline").join(agg(scen, "scenario"), on=keys, how="full", coalesce=True).fill_null(0)
    )
    return joined.with_columns(difference_fen=pl.col("scenario_fen") - pl.col("baseline_fen")).sort(keys)


def _rows(frame: pl.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON: fen columns become yuan text (baseline_fen -> baseline), exact."""
    return [
        {
            (k.removesuffix("_fen") if k.endswith("_fen") else k): (fen_text(v) if k.endswith("_fen") else v)
            for k, v in r.items()
        }
        for r in frame.iter_rows(named=True)
    ]


def _scenario_folder(out: Path) -> None:
    """Make the --out folder; never one under a runs folder, where accepted runs are."""
    side_folder(out, "a scenario")


def write_scenario(result: dict[str, Any], out: Path) -> list[Path]:
    """scenario-<county>-<period>.json and .xlsx in `out` (never under runs/)."""
    _scenario_folder(out)
    stem = f"scenario-{result['county']}-{result['period']}"
    paths = [out / f"{stem}.json", out / f"{stem}.xlsx"]
    paths[0].write_text(
        json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    from datetime import datetime

    from subsidy_batch.outputs.workbook import Column, Sheet, write_sheets

    def sheet(name: str, key: str, rows: list[dict[str, Any]]) -> Sheet:
        columns = (
            Column(key, 16),
            Column("现行人数 baseline people"),
            Column("现行金额 baseline yuan", 16),
            Column("情景人数 scenario people"),
            Column("情景金额 scenario yuan", 16),
            Column("差额 difference", 16),
        )
        body = [
            [
                r[key],
                r["baseline_people"],
                Decimal(r["baseline"]),
                r["scenario_people"],
                Decimal(r["scenario"]),
                Decimal(r["difference"]),
            ]
            for r in rows
        ]
        return Sheet(
            name,
            f"情景测算 scenario（非政策 not policy）{', '.join(result['scenario'])} — {name}",
            columns,
            body,
        )

    sheets = [
        sheet("按项目", "benefit", result["by_benefit"]),
        sheet("按乡镇", "township", result["by_township"]),
        sheet("按年龄段", "band", result["by_age_band"]),
        sheet("逐月预测", "period", result["by_month"]),
        Sheet(
            "假设",
            "情景测算的假设 assumptions of this scenario",
            (Column("假设 assumption", 120, wrap=True),),
            [[ASSUMPTIONS]],
        ),
    ]
    year, month = (int(x) for x in result["period"].split("-"))
    write_sheets(paths[1], sheets, datetime(year, month, 1))
    return paths


@dataclass(frozen=True)
class Scenario:
    name: str
    changes: tuple[Change, ...]


def load_scenarios(path: Path) -> list[Scenario]:
    """A scenario file: `scenarios: [{name: ..., set: {BENEFIT/RULE: "AMOUNT", ...}}, ...]`, read strictly."""
    from subsidy_batch.rules.strict import read_yaml

    top = read_yaml(path, "scenario").mapping(("scenarios",), required=("scenarios",))
    found = []
    for node in top["scenarios"].items():
        entry = node.mapping(("name", "set"), required=("name", "set"))
        changes = []
        for key, value in entry["set"].entries().items():
            try:
                changes.append(parse_set(f"{key}={fen_text(value.money())}"))
            except UsageError as exc:
                raise value.error(str(exc).replace("--set ", "")) from None
        if not changes:
            raise entry["set"].error('names no change; write e.g. {high_age_allowance/county_80_89: "50.00"}')
        found.append(Scenario(entry["name"].text(), tuple(changes)))
    names = [s.name for s in found]
    if len(set(names)) != len(names) or not names:
        raise top["scenarios"].error("needs at least one scenario, each with its own name")
    return found


def compare(
    config_dir: Path, county: str, period: Period, roster: Path, scenarios: list[Scenario]
) -> dict[str, Any]:
    """Several scenarios side by side: each one's result, and a summary row per scenario."""
    results = {s.name: simulate(config_dir, county, period, roster, list(s.changes)) for s in scenarios}
    first = next(iter(results.values()))
    summary = []
    for name, result in results.items():
        month = next(r for r in result["by_month"] if r["period"] == result["period"])
        summary.append(
            {
                "scenario": name,
                "changes": result["scenario"],
                "month_baseline": month["baseline"],
                "month_scenario": month["scenario"],
                "next_12_months_baseline": result["next_12_months"]["baseline"],
                "next_12_months_scenario": result["next_12_months"]["scenario"],
                "next_12_months_difference": fen_text(
                    yuan_to_fen(result["next_12_months"]["scenario"])
                    - yuan_to_fen(result["next_12_months"]["baseline"])
                ),
            }
        )
    return {
        "county": county,
        "county_name": first["county_name"],
        "period": first["period"],
        "roster": first["roster"],
        "assumptions": ASSUMPTIONS,
        "summary": summary,
        "scenarios": results,
    }


def write_comparison(result: dict[str, Any], out: Path) -> list[Path]:
    """scenario-<county>-<period>-comparison .json, .xlsx (汇总 and a sheet per scenario) and .html (a chart)."""
    _scenario_folder(out)
    from datetime import datetime
    from html import escape

    from subsidy_batch.outputs.html_report import bar_chart
    from subsidy_batch.outputs.workbook import Column, Sheet, write_sheets

    stem = out / f"scenario-{result['county']}-{result['period']}-comparison"
    paths = [stem.with_suffix(".json"), stem.with_suffix(".xlsx"), stem.with_suffix(".html")]
    paths[0].write_text(
        json.dumps(result, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8"
    )
    money = lambda text: Decimal(text)  # noqa: E731
    summary = Sheet(
        "汇总",
        f"情景比较 scenarios（非政策 not policy）{result['county_name']} {result['period']}",
        (
            Column("情景 scenario", 24),
            Column("改动 changes", 48, wrap=True),
            Column("本月现行 month now", 16),
            Column("本月情景 month", 16),
            Column("未来12个月现行 next 12 now", 18),
            Column("未来12个月情景 next 12", 18),
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
    )
    sheets = [summary]
    for index, (name, one) in enumerate(result["scenarios"].items(), start=1):
        sheets.append(
            Sheet(
                f"情景{index}",
                f"情景 scenario「{name}」（非政策 not policy）: {', '.join(one['scenario'])}",
                (
                    Column("项目 benefit", 26),
                    Column("现行 now", 16),
                    Column("情景 scenario", 16),
                    Column("差额 difference", 16),
                ),
                [
                    [r["benefit"], money(r["baseline"]), money(r["scenario"]), money(r["difference"])]
                    for r in one["by_benefit"]
                ],
            )
        )
    sheets.append(
        Sheet(
            "假设",
            "情景测算的假设 assumptions",
            (Column("假设 assumption", 120, wrap=True),),
            [[ASSUMPTIONS]],
        )
    )
    year, month = (int(x) for x in result["period"].split("-"))
    write_sheets(paths[1], sheets, datetime(year, month, 1))
    chart = bar_chart(
        "scenario-next-12-months",
        "未来12个月费用（元）next 12 months, yuan",
        [(s["scenario"], money(s["next_12_months_scenario"])) for s in result["summary"]],
    )
    title = f"情景比较 SCENARIOS (not policy) {result['county_name']} {result['period']}"
    paths[2].write_text(
        '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{escape(title)}</title>\n</head>\n<body>\n<h1>{escape(title)}</h1>\n"
        f"<p>{escape(ASSUMPTIONS)}</p>\n{chart}\n</body>\n</html>\n",
        encoding="utf-8",
    )
    return paths
