"""Run the OpenFisca model of Jiaxiang (jiaxiang_model.py) on a roster for one month: the benchmark peer.

    bench/openfisca/.venv/bin/python bench/openfisca/run_peer.py ROSTER.parquet OUT.parquet --period 2024-05

Reads the roster (Parquet, Chinese headers as the synthetic roster writes them, or the English names of
schemas/roster.yaml; text columns, or typed: 能力评估等级 as integers, 死亡日期 as dates), turns each
column into one numpy input array (the roster's words mapped to codes as the aliases of
schemas/roster.yaml do), builds one OpenFisca simulation with SimulationBuilder, calculates every
benefit for the month and writes OUT.parquet: one row per person with at least one item (a benefit row
that applies, paid or held), with ``row`` (1-based, as the project counts roster rows), ``id_number``
and per benefit ``<benefit>_fen`` (int64 fen paid for the month; 0 when the item is held, null when the
person has no item of that benefit) and ``<benefit>_held``.
It prints {"people", "paid_items", "paid_fen", "held_items"} as JSON on stdout.

No validation: a row the project would reject (a bad ID number, an unknown 经济状况, a 30 February) is
read as best the model can (a date that is not one is empty, an unknown code matches no row) and
computed like any other; check_equal.py leaves the project's rejected rows out of the comparison.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

import numpy as np
import polars as pl
import yaml
from openfisca_core.errors import ParameterNotFoundError
from openfisca_core.simulations import SimulationBuilder

sys.path.insert(0, str(Path(__file__).resolve().parent))
import jiaxiang_model as model

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "schemas" / "roster.yaml"
PERIOD = re.compile(r"^\d{4}-\d{2}$")

# the roster's words -> enum index (schemas/roster.yaml aliases; the English codes are accepted too)
INCOME = {"一般": 0, "none": 0, "低保": 1, "dibao": 1, "低保边缘": 2, "marginal": 2, "特困": 3, "tekun": 3}
RESIDENCE = {"城镇": 0, "urban": 0, "农村": 1, "rural": 1}
FAMILY_PLANNING = {
    "无": 0,
    "none": 0,
    "独生子女死亡": 1,
    "child_deceased": 1,
    "独生子女伤残": 2,
    "child_disabled": 2,
}
SUPPORT_MODE = {"分散供养": 1, "分散": 1, "dispersed": 1, "集中供养": 2, "集中": 2, "centralised": 2}
DISABILITY = {"一级": 1, "二级": 2, "三级": 3, "四级": 4, "1": 1, "2": 2, "3": 3, "4": 4}
YES = {"是": True, "yes": True}


def columns_of(schema: dict) -> dict[str, list[str]]:
    """English name -> the headers it may have (English, zh, synonyms), from schemas/roster.yaml."""
    return {name: [name, spec["zh"], *spec.get("synonyms", [])] for name, spec in schema["columns"].items()}


def payable_digits(schema: dict) -> tuple[int, int]:
    payable = schema["columns"]["bank_account"]["payable"]
    return int(payable["min_digits"]), int(payable["max_digits"])


def read_roster(path: Path, schema: dict) -> tuple[pl.DataFrame, set[str]]:
    """The roster's columns under their English names; also which English names are numeric columns."""
    frame = pl.read_parquet(path)
    wanted = columns_of(schema)
    renames = {}
    for name, headers in wanted.items():
        found = next((h for h in headers if h in frame.columns), None)
        if found is not None:
            renames[found] = name
    frame = frame.select(list(renames)).rename(renames)
    numeric = {c for c, t in frame.schema.items() if t.is_numeric()}
    return frame, numeric


def _text(name: str) -> pl.Expr:
    """The column as text, an empty cell as null."""
    col = pl.col(name).cast(pl.String)
    return pl.when(col.str.len_bytes() > 0).then(col)


def _codes(frame: pl.DataFrame, name: str, mapping: dict, default: int, dtype=pl.Int16) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(default, dtype)
    return _text(name).replace_strict(mapping, default=default, return_dtype=dtype)


def _integer(frame: pl.DataFrame, name: str, default: int, mapping: dict | None = None) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(default, pl.Int32)
    if frame.schema[name].is_integer():
        return pl.col(name).cast(pl.Int32).fill_null(default)
    text = _text(name)
    if mapping:
        text = text.replace(mapping)
    return text.cast(pl.Int32, strict=False).fill_null(default)


def _date(frame: pl.DataFrame, name: str, default) -> pl.Expr:
    if name not in frame.columns:
        return pl.lit(default, pl.Date)
    if frame.schema[name] == pl.Date:
        return pl.col(name).fill_null(default)
    if frame.schema[name] == pl.Datetime:
        return pl.col(name).dt.date().fill_null(default)
    return _text(name).str.to_date("%Y-%m-%d", strict=False).fill_null(default)


def _month_start(frame: pl.DataFrame, name: str) -> pl.Expr:
    """享受起始月份: a date, or a month alone (2024-05) read as its first day; empty is ALWAYS."""
    if name not in frame.columns or frame.schema[name] in (pl.Date, pl.Datetime):
        return _date(frame, name, model.ALWAYS)
    text = _text(name)
    return pl.coalesce(
        text.str.to_date("%Y-%m-%d", strict=False), (text + "-01").str.to_date("%Y-%m-%d", strict=False)
    ).fill_null(model.ALWAYS)


def inputs(frame: pl.DataFrame, numeric: set[str], digits: tuple[int, int]) -> pl.DataFrame:
    """One column per model input, typed as the model's variables want them."""
    low, high = digits
    ident = pl.col("id_number").cast(pl.String)
    account = _text("bank_account") if "bank_account" in frame.columns else pl.lit(None, pl.String)
    bank = _text("bank_name") if "bank_name" in frame.columns else pl.lit(None, pl.String)
    # schemas/roster.yaml bank_account payable, and the engine's account_stored_as_number: a number cell
    # (a numeric Parquet column) or text showing an Excel number is never paid
    value = account.cast(pl.UInt64, strict=False)
    float_exact = value.cast(pl.Float64).cast(pl.UInt64, strict=False) == value
    excel = account.str.contains(r"^[0-9]+(\.[0-9]*)?([eE]\+?[0-9]+|\.[0-9]*)$") | (
        account.str.contains(r"^[0-9]{18,19}$") & (account.str.ends_with("000") | float_exact)
    )
    payable = (
        account.str.contains(rf"^[0-9]{{{low},{high}}}$").fill_null(False)
        & bank.is_not_null()
        & ~excel.fill_null(False)
        & pl.lit("bank_account" not in numeric)
    )
    hukou = _text("hukou_code")
    return frame.select(
        birth_date=ident.str.slice(6, 8).str.to_date("%Y%m%d", strict=False).fill_null(model.NO_DEATH),
        hukou_code=pl.when(hukou.str.contains(r"^[0-9]{6}$"))
        .then(hukou.cast(pl.Int32, strict=False))
        .otherwise(-1)
        .fill_null(-1),
        residence=_codes(frame, "residence", RESIDENCE, 1),
        income_status=_codes(frame, "income_status", INCOME, model.IncomeStatus.unknown.index),
        ability_grade=_integer(frame, "ability_grade", -1),
        family_planning=_codes(frame, "family_planning", FAMILY_PLANNING, 0),
        tekun_support_mode=_codes(frame, "tekun_support_mode", SUPPORT_MODE, 0),
        disability_grade=_integer(frame, "disability_grade", 0, DISABILITY),
        long_term_care=_codes(frame, "long_term_care", YES, False, pl.Boolean),
        death_date=_date(frame, "death_date", model.NO_DEATH),
        eligible_from=_month_start(frame, "eligible_from"),
        bank_account_payable=payable,
    )


def simulate(columns: pl.DataFrame, period: str):
    """One simulation, every input set as a whole numpy array."""
    tbs = model.JiaxiangTaxBenefitSystem()
    builder = SimulationBuilder()
    builder.create_entities(tbs)
    builder.declare_person_entity("person", np.arange(columns.height))
    simulation = builder.build(tbs)
    enums = {
        "residence": model.Residence,
        "income_status": model.IncomeStatus,
        "family_planning": model.FamilyPlanning,
        "tekun_support_mode": model.TekunSupportMode,
    }
    for name in columns.columns:
        array = columns.get_column(name).to_numpy()
        if name in enums:
            array = enums[name].encode(array.astype(np.int16))
        elif array.dtype.kind == "M":
            array = array.astype("datetime64[D]")
        simulation.set_input(name, period, array)
    return simulation


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("roster", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--period", required=True, help="YYYY-MM, e.g. 2024-05")
    parser.add_argument("--timings", action="store_true", help="also print seconds per stage on stderr")
    args = parser.parse_args(argv)
    if not PERIOD.match(args.period):
        parser.error("--period must be YYYY-MM")
    clock = [time.perf_counter()]

    def lap(stage: str) -> None:
        clock.append(time.perf_counter())
        if args.timings:
            print(f"{stage}: {clock[-1] - clock[-2]:.2f} s", file=sys.stderr)

    schema = yaml.safe_load(SCHEMA.read_text(encoding="utf-8"))
    frame, numeric = read_roster(args.roster, schema)
    ids = frame.get_column("id_number").cast(pl.String)
    columns = inputs(frame, numeric, payable_digits(schema))
    del frame
    lap("read")
    try:
        simulation = simulate(columns, args.period)
        simulation.calculate("alive_in_month", args.period)
    except ParameterNotFoundError as error:  # before 2023-08: as the engine's NoRuleInForceError
        print(f"error: no rule of jiaxiang is in force for {args.period}: {error}", file=sys.stderr)
        return 6
    people = columns.height
    del columns
    lap("inputs")
    out: dict[str, np.ndarray] = {}
    any_item = np.zeros(people, dtype=bool)
    paid_items = 0
    for benefit in model.BENEFITS:
        paid = simulation.calculate(benefit, args.period)
        held = simulation.calculate(f"{benefit}_held", args.period)
        item = simulation.calculate(f"{benefit}_row", args.period) >= 0
        # null: no item; 0: held; else the amount paid
        out[f"{benefit}_fen"] = np.where(item, paid, -1).astype(np.int64)
        out[f"{benefit}_held"] = held
        paid_items += int(np.count_nonzero(item & ~held))
        any_item |= item
    lap("calculate")
    where = np.flatnonzero(any_item)
    table = pl.DataFrame(
        {
            "row": (where + 1).astype(np.int64),
            "id_number": ids.gather(where),
            **{name: values[where] for name, values in out.items()},
        }
    ).with_columns(pl.col(f"{b}_fen").replace(-1, None) for b in model.BENEFITS)
    table.write_parquet(args.out, compression="zstd")
    lap("write")
    fen_columns = [f"{b}_fen" for b in model.BENEFITS]
    totals = {
        "people": people,
        "paid_items": paid_items,
        "paid_fen": int(sum(int(out[c][out[c] > 0].sum()) for c in fen_columns)),
        "held_items": int(sum(int(np.count_nonzero(out[f"{b}_held"])) for b in model.BENEFITS)),
    }
    print(json.dumps(totals))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
