"""`subsidy explain`: why one person got what they got in one stored run (issue 14 item 1).

Everything comes from the run itself: the amounts, statuses, hold reasons and citations from its
line_items.parquet (so the answer never drifts from what was paid), and the roster row, rules and
schema from its input/ snapshot, on which each table row's conditions are tested again to show which
held and which failed. No full ID number is shown: the ID is masked and only the birth month is given.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import RosterError, UsageError
from subsidy_batch.ledger.record import OUTPUT_DAMAGED, Prior
from subsidy_batch.masking import mask_text, normalise_id, typed_id
from subsidy_batch.outputs import emit
from subsidy_batch.outputs.labels import AGE_BASES_ZH, STATUS_ZH, benefit_titles, benefit_zh, hold_reason_zh
from subsidy_batch.period import Period
from subsidy_batch.roster.read import read_roster
from subsidy_batch.roster.schema import load_schema
from subsidy_batch.roster.validate import validate
from subsidy_batch.rules.compute import LINE_ITEM_SCHEMA, age_on, line_items, reference_date, targets
from subsidy_batch.rules.conditions import failure_message, test_expression
from subsidy_batch.rules.config import AGE, CountyConfig, Rule, load_county
from subsidy_batch.runs.manifest import INPUT, KIND_MONTHLY, load
from subsidy_batch.runs.records import damaged
from subsidy_batch.runs.store import MANIFEST

SENSITIVE = ("id_number", "bank_account")


class PersonNotFoundError(RosterError):
    """The ID number is in neither the accepted nor the rejected rows of the stored run's roster."""


class RunNotFoundError(UsageError):
    """No stored run where the arguments point."""


def run_folder(runs_dir: Path, county: str, period: Period) -> Path:
    """The accepted run of a county and period, or RunNotFoundError saying how to make or find it."""
    folder = runs_dir / county / str(period)
    if not (folder / MANIFEST).is_file():
        raise RunNotFoundError(
            f"no accepted run of {county} {period} in {runs_dir} ({folder} has no {MANIFEST}); "
            f"run subsidy run {period} --county {county} first, or give the run folder"
        )
    return folder


def _label(config: CountyConfig, column: str, value: Any) -> str | None:
    """The roster's own word for a coded value (dibao -> 低保), when the column has one."""
    field = config.fields.get(column)
    if field is None or value is None:
        return None
    return _word(field.aliases, value)


def _word(aliases: dict[str, str] | Any, value: Any) -> str | None:
    words = {str(code): word for word, code in aliases.items()}
    return words.get(str(value))


def _shown(column: str, value: Any) -> Any:
    if value is None:
        return None
    if column in SENSITIVE:
        return mask_text(str(value))
    return value if isinstance(value, int | str | bool) else str(value)


def _rule_row(
    rule: Rule, person: pl.DataFrame, config: CountyConfig, period: Period, alive: bool
) -> dict[str, Any]:
    """One table row considered: in force, paying this month, each condition held or not, matched."""
    target = targets(reference_date(period, config.age_basis))
    conditions = []
    for clause in rule.when.tests:
        column = config.fields[clause.field]
        passed = bool(
            person.select(test_expression(clause, target(clause.field), column).fill_null(False)).item()
        )
        conditions.append(
            {
                "field": clause.field,
                "zh": column.zh,
                "op": clause.op,
                "values": []
                if clause.op == "empty"
                else [_word(column.aliases, v) or str(v) for v in clause.values],
                "passed": passed,
                "message": None if passed else str(person.select(failure_message(clause, column)).item()),
            }
        )
    in_force = rule.in_force(period)
    pays_now = rule.amount.kind != "yearly" or rule.amount.payment_month in (None, period.month)
    return {
        "rule": rule.name,
        "id": rule.id,
        "description": rule.description,
        "effective": {
            "from": None if rule.start is None else str(rule.start),
            "to": None if rule.end is None else str(rule.end),
        },
        "in_force": in_force,
        "pays_this_month": pays_now,
        "conditions": conditions,
        "matched": in_force and pays_now and alive and all(c["passed"] for c in conditions),
        "citation": rule.citation,
    }


def explain(run_dir: Path, id_number: str) -> dict[str, Any]:
    """Everything that decided one person's items in a stored monthly run, as one JSON-ready dict."""
    manifest = load(run_dir)
    if manifest.kind != KIND_MONTHLY:
        raise UsageError(f"{run_dir} is a {manifest.kind} run; explain works on monthly runs of people")
    period = Period.parse(manifest.period[:7])  # a supplement's key is 2024-03-s1
    wanted = typed_id(id_number)
    masked = mask_text(wanted)
    snapshot = run_dir / INPUT
    schema = load_schema(schema_dir=snapshot / "schemas")
    config = load_county(snapshot / "config", manifest.county, schema)
    roster_input = manifest.input("roster")
    # what the run read and paid, each checked against its manifest first: an edited file is never
    # explained as what the month paid (exit 9, as for the next run)
    stored = Prior(manifest.run_id, manifest.period, run_dir, manifest.checksums())
    paid_items = stored.path("line_items.parquet")
    roster_path = run_dir / roster_input.file
    if not roster_path.is_file() or emit.sha256_file(roster_path) != roster_input.sha256:
        raise damaged(roster_path, "it differs from the checksum its run's manifest holds", OUTPUT_DAMAGED)
    raw = read_roster(roster_path, schema, roster_input.original_name)
    checked = validate(raw, schema, str(period), manifest.county)
    found = checked.accepted.filter(pl.col("id_number") == wanted)
    # this month's items (a later month may have paid arrears for it; those are in that month's run)
    items = pl.read_parquet(paid_items).filter(
        pl.col("id_number") == wanted,
        pl.col("kind").fill_null("regular") == "regular"
        if "kind" in pl.read_parquet_schema(paid_items)
        else pl.lit(True),
    )
    head: dict[str, Any] = {
        "run_dir": str(run_dir),
        "run_id": manifest.run_id,
        "county": manifest.county,
        "county_name": manifest.county_name,
        "period": manifest.period,
        "tool_version": manifest.tool_version,
        "id_number": masked,
        "roster": roster_input.original_name,
    }
    return _explained(head, wanted, period, schema, config, checked, found, items, roster_input.original_name)


def explain_roster(
    config_dir: Path, county: str, period: Period, roster: Path, id_number: str
) -> dict[str, Any]:
    """What if: the same explanation for a roster that has not been run (nothing is written). The items
    are computed here with today's config; the ledger (arrears, reissues) is not consulted."""
    wanted = typed_id(id_number)
    schema = load_schema()
    config = load_county(config_dir, county, schema)
    raw = read_roster(roster, schema, roster.name)
    checked = validate(raw, schema, str(period), county)
    found = checked.accepted.filter(pl.col("id_number") == wanted)
    computed = line_items(found, config, period) if found.height else pl.DataFrame(schema=LINE_ITEM_SCHEMA)
    items = emit.to_output(
        computed.with_columns(kind=pl.lit("regular"), for_period=pl.lit(str(period))),
        emit.LINE_ITEMS,
        str(period),
        county,
    )
    head: dict[str, Any] = {
        "what_if": True,
        "run_dir": None,
        "run_id": None,
        "county": county,
        "county_name": config.name,
        "period": str(period),
        "id_number": mask_text(wanted),
        "roster": roster.name,
    }
    return _explained(head, wanted, period, schema, config, checked, found, items, roster.name)


def _explained(
    head: dict[str, Any],
    wanted: str,
    period: Period,
    schema: Any,
    config: CountyConfig,
    checked: Any,
    found: pl.DataFrame,
    items: pl.DataFrame,
    roster_name: str,
) -> dict[str, Any]:
    masked = str(head["id_number"])
    titles = benefit_titles(config.files)
    if found.height == 0:
        rejected = checked.rejected.filter(
            pl.col("id_number").map_elements(normalise_id, return_dtype=pl.String) == wanted
        )
        if rejected.height == 0:
            raise PersonNotFoundError(
                f"ID {masked} is not in the roster of {head['county']} {head['period']} "
                f"({roster_name}{', run ' + str(head['run_id']) if head.get('run_id') else ''}); check the number, "
                "or the county and period"
            )
        return head | {
            "status": "rejected",
            "name": rejected.item(0, "name"),
            "roster_row": int(rejected.item(0, "row")),
            "problems": [
                {
                    "column": r["column"],
                    "problem": r["problem"],
                    "message": r["message"],
                    "file_row": r["file_row"],
                }
                for r in rejected.iter_rows(named=True)
            ],
            "benefits": [],
        }
    ref = reference_date(period, config.age_basis)
    person = found.head(1).with_columns(age_on(pl.col("birth_date"), ref).alias(AGE.name))
    row = person.row(0, named=True)
    death = row.get("death_date")
    alive = death is None or death >= period.first_day
    values = [
        {
            "column": name,
            "zh": spec.zh,
            "value": _shown(name, row.get(name)),
            "label": None if name in SENSITIVE else _label(config, name, row.get(name)),
        }
        for name, spec in schema.columns.items()
    ]
    benefits = []
    stored = {r["benefit"]: r for r in items.iter_rows(named=True)}
    for benefit in sorted({r.benefit for r in config.rules} | set(stored)):
        rows = [_rule_row(r, person, config, period, alive) for r in config.rules if r.benefit == benefit]
        item = stored.get(benefit)
        matched = [r["rule"] for r in rows if r["matched"]]
        benefits.append(
            {
                "benefit": benefit,
                "title": benefit_zh(benefit, titles),
                "rows": rows,
                "item": None
                if item is None
                else {
                    "rule": item["rule"],
                    "amount": None if item["amount"] is None else f"{item['amount']:.2f}",
                    "status": item["status"],
                    "hold_reason": item["hold_reason"],
                    "kind": item.get("kind") or "regular",
                    "for_period": item.get("for_period") or str(period),
                    "citation": item["citation"],
                },
                # the stored run against the rules tested again here: they agree unless the tool changed
                "agrees_with_stored_run": matched == ([] if item is None else [item["rule"]]),
            }
        )
    return head | {
        "status": "accepted",
        "name": row["name"],
        "roster_row": int(row["row"]),
        "values": values,
        "age": {
            "years": int(row[AGE.name]),
            "birth_month": f"{row['birth_date']:%Y-%m}",
            "age_basis": config.age_basis,
            "reference_day": ref.isoformat(),
        },
        "alive": {
            "alive": alive,
            "death_date": None if death is None else death.isoformat(),
            "period_starts": period.first_day.isoformat(),
        },
        "benefits": benefits,
    }


_OPS_ZH = {
    "one_of": "属于",
    "equals": "等于",
    "not_one_of": "不属于",
    "prefix": "开头为",
    "empty": "为空",
    "min": "不小于",
    "max": "不大于",
}


def render(found: dict[str, Any]) -> str:
    """The explanation as a clerk reads it: Chinese labels, the codes beside them."""
    lines = [
        f"{found['county_name']} ({found['county']}) {found['period']}  发放批次 run {found['run_id']}",
        f"人员 person  {found['name']}  {found['id_number']}  (花名册 roster {found['roster']} 第 {found['roster_row']} 行 row)",
    ]
    if found["status"] == "rejected":
        lines.append("结果 result: 问题数据 rejected — 此行未通过校验，未计算任何项目 (no line items):")
        for p in found["problems"]:
            lines.append(f"  - {p['column']}: {p['problem']} — {p['message']}")
        return "\n".join(lines)
    lines.append("花名册数据 roster values:")
    for v in found["values"]:
        if v["value"] is None:
            shown = "（空 empty）"
        else:
            shown = f"{v['label']} ({v['value']})" if v["label"] else str(v["value"])
        lines.append(f"  {v['zh']} {v['column']}: {shown}")
    age = found["age"]
    lines.append(
        f"年龄 age: {age['years']} 周岁 (出生年月 born {age['birth_month']}; 计龄基准 age basis "
        f"{AGE_BASES_ZH.get(age['age_basis'], age['age_basis'])} ({age['age_basis']}); 计龄日 counted on {age['reference_day']})"
    )
    alive = found["alive"]
    if alive["alive"]:
        note = (
            ""
            if alive["death_date"] is None
            else f" (死亡日期 died {alive['death_date']}, 当月照发 the month of death is paid)"
        )
        lines.append(f"在世 alive: 是 yes{note}")
    else:
        lines.append(
            f"在世 alive: 否 no — 死亡日期 died {alive['death_date']}, 早于 before {alive['period_starts']}: 本月不发 nothing is paid"
        )
    for b in found["benefits"]:
        lines.append("")
        lines.append(f"项目 benefit: {b['title']} ({b['benefit']})")
        for r in b["rows"]:
            mark = "✓ 符合 matched" if r["matched"] else "✗ 不符合 not matched"
            lines.append(f"  {mark}  {r['rule']}")
            if not r["in_force"]:
                span = f"{r['effective']['from'] or '…'} – {r['effective']['to'] or '…'}"
                lines.append(f"      本月不在有效期 not in force this month (effective {span})")
            elif not r["pays_this_month"]:
                lines.append(
                    "      本月不是发放月 not paid in this month (a yearly amount paid in another month)"
                )
            for c in r["conditions"]:
                values = " / ".join(str(v) for v in c["values"])
                test = f"{c['zh']} ({c['field']}) {_OPS_ZH.get(c['op'], c['op'])} ({c['op']}) {values}"
                lines.append(
                    f"      {'✓' if c['passed'] else '✗'} {test}"
                    + ("" if c["passed"] else f" — {c['message']}")
                )
        item = b["item"]
        if item is None:
            lines.append("  结果 result: 无此项目 not entitled (no line item)")
        else:
            amount = "未定 not set" if item["amount"] is None else f"{item['amount']} 元"
            status = f"{STATUS_ZH.get(item['status'], item['status'])} {item['status']}"
            reason = (
                ""
                if item["hold_reason"] is None
                else f"; 暂缓原因 {hold_reason_zh(item['hold_reason'])} ({item['hold_reason']})"
            )
            lines.append(
                f"  结果 result: {status}, 金额 amount {amount}{reason}; 类别 kind {item['kind']}, 规则 rule {item['rule']}"
            )
            lines.append(f"  依据 citation: {item['citation']}")
        if not b["agrees_with_stored_run"]:
            lines.append(
                "  注意 note: 按快照重新检验的结果与已存批次不一致 the rules tested again here disagree with the stored run"
            )
    return "\n".join(lines)
