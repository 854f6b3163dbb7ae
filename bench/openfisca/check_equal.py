"""Check that the OpenFisca peer pays exactly what `subsidy run` pays, person by person and benefit by benefit.

    # the project's run first (from the repository root):
    uv run subsidy synth --county jiaxiang --people 100000 --period 2024-05 --out /tmp/of/jiaxiang-100000.parquet --seed 42 --broken
    uv run subsidy run 2024-05 --county jiaxiang --roster /tmp/of/jiaxiang-100000.parquet --runs-dir /tmp/of/runs --quiet
    # then the peer and the comparison (with the peer's own venv):
    bench/openfisca/.venv/bin/python bench/openfisca/check_equal.py /tmp/of/jiaxiang-100000.parquet \
        --run /tmp/of/runs/jiaxiang/2024-05 --period 2024-05

It first checks that parameters/ say what config/ says (every row, its start date, amount or
`not set`, citation, age band and grades), then runs run_peer.py on the roster (into --out, default a temporary file), reads the run's
line_items.parquet (status paid / held; amounts in Decimal yuan, made fen here) and rejected.parquet,
leaves out on both sides every roster row the run rejected (by roster row number, so that both copies
of a duplicated ID go), and compares:

- per benefit: items, paid items, paid fen and held items (a table);
- per person and benefit: the paid fen (and whether the item is held), as a full outer join on
  (roster row, benefit), so any single difference is listed.

Only the run's items of kind `regular` for the period are compared: the peer models one month's
entitlement, not the ledger's arrears (补发) of earlier months. Exit 0 when everything agrees, 1 if not.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl
import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import jiaxiang_model as model  # noqa: E402

ROOT = HERE.parents[1]
GRADES = {"一级": 1, "二级": 2, "三级": 3, "四级": 4}


def config_rows() -> dict[tuple[str, str], dict]:
    """Every row of config/counties/jiaxiang.yaml with its effective start (inherited ones included)."""
    county = yaml.safe_load((ROOT / "config/counties/jiaxiang.yaml").read_text(encoding="utf-8"))
    rows = {}
    for inherit in county.get("inherit", []):
        shared = yaml.safe_load((ROOT / "config" / f"{inherit['from']}.yaml").read_text(encoding="utf-8"))
        for benefit in inherit["benefits"]:
            for row in shared["benefits"][benefit]["rows"]:
                rows[benefit, row["id"]] = {**row, "effective": inherit["effective"]}
    for benefit, spec in county["benefits"].items():
        for row in spec["rows"]:
            rows[benefit, row["id"]] = row
    return rows


def check_parameters() -> list[str]:
    """The parameters/ say what config/ says: rows, start dates, amounts (or not set), citations, ages, grades."""
    model.check_parameters_against_rows()
    params = model.JiaxiangTaxBenefitSystem().parameters.benefits
    problems = []
    rows = config_rows()
    if sorted(rows) != sorted((b, r) for b, names in model.BENEFITS.items() for r in names):
        problems.append(f"rows differ: config {sorted(rows)}")
    for (benefit, name), row in rows.items():
        node = getattr(getattr(params, benefit), name)
        start = f"{row['effective']['from']}-01"
        amount = row["amount"]
        key = "monthly" if "monthly" in amount else "percent_of_dibao_standard"
        expected = amount.get("monthly", amount.get("percent"))
        values = getattr(node, key).values_list
        got = [(v.instant_str, v.value) for v in values]
        want = expected if expected == model.NOT_SET else float(expected)
        if got != [(start, want)]:
            problems.append(f"{benefit}.{name}.{key}: parameters {got}, config {[(start, want)]}")
        if node.metadata.get("citation") != row["citation"]:
            problems.append(f"{benefit}.{name}: citation differs")
        age = row["when"].get("age", {})
        for bound in ("min", "max"):
            child = node.children.get(f"age_{bound}")
            got_age = [(v.instant_str, v.value) for v in child.values_list] if child else []
            want_age = [(start, age[bound])] if bound in age else []
            if got_age != want_age:
                problems.append(f"{benefit}.{name}.age_{bound}: parameters {got_age}, config {want_age}")
        for column, child_name in (
            ("ability_grade", "ability_grades"),
            ("disability_grade", "disability_grades"),
        ):
            if column in row["when"]:
                want_grades = [GRADES.get(g, g) for g in row["when"][column]]
                got_grades = [(v.instant_str, v.value) for v in node.children[child_name].values_list]
                if got_grades != [(start, want_grades)]:
                    problems.append(f"{benefit}.{name}.{child_name}: {got_grades}, config {want_grades}")
    return problems


def run_side(run: Path, period: str, rejected: pl.Series) -> pl.DataFrame:
    items = pl.read_parquet(run / "line_items.parquet")
    return items.filter(
        (pl.col("kind") == "regular")
        & (pl.col("for_period") == period)
        & ~pl.col("roster_row").is_in(rejected.to_list())
    ).select(
        row=pl.col("roster_row"),
        id_number="id_number",
        benefit="benefit",
        held=pl.col("status") == "held",
        paid_fen=pl.when(pl.col("status") == "paid")
        .then((pl.col("amount") * 100).cast(pl.Int64))
        .otherwise(0),
    )


def peer_side(out: Path, rejected: pl.Series) -> pl.DataFrame:
    wide = pl.read_parquet(out).filter(~pl.col("row").is_in(rejected.to_list()))
    return pl.concat(
        wide.filter(pl.col(f"{b}_fen").is_not_null()).select(
            "row",
            "id_number",
            benefit=pl.lit(b),
            held=pl.col(f"{b}_held"),
            paid_fen=pl.col(f"{b}_fen"),
        )
        for b in model.BENEFITS
    )


def per_benefit(items: pl.DataFrame) -> pl.DataFrame:
    return (
        items.group_by("benefit")
        .agg(
            items=pl.len(),
            paid_items=(~pl.col("held")).sum(),
            paid_fen=pl.col("paid_fen").sum(),
            held_items=pl.col("held").sum(),
        )
        .sort("benefit")
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("roster", type=Path)
    parser.add_argument(
        "--run", type=Path, required=True, help="the run's folder, e.g. runs/jiaxiang/2024-05"
    )
    parser.add_argument("--period", required=True)
    parser.add_argument("--out", type=Path, help="where the peer writes (default: a temporary file)")
    args = parser.parse_args(argv)

    problems = check_parameters()
    print(f"parameters/ against config/: {'the same' if not problems else problems}")
    with tempfile.TemporaryDirectory(prefix="openfisca-peer-") as tmp:
        out = args.out or Path(tmp) / "peer.parquet"
        done = subprocess.run(
            [sys.executable, str(HERE / "run_peer.py"), str(args.roster), str(out), "--period", args.period],
            check=True,
            capture_output=True,
            text=True,
        )
        totals = json.loads(done.stdout)
        rejected_rows = pl.read_parquet(args.run / "rejected.parquet").get_column("row").unique()
        run = run_side(args.run, args.period, rejected_rows)
        peer = peer_side(out, rejected_rows)

    pl.Config.set_tbl_rows(50)
    pl.Config.set_tbl_width_chars(160)
    print(f"peer totals (whole roster, rejected rows included): {json.dumps(totals)}")
    print(f"rejected roster rows left out on both sides: {rejected_rows.len()}")
    table = per_benefit(run).join(per_benefit(peer), on="benefit", how="full", suffix="_peer", coalesce=True)
    print(table)
    keys = ["row", "benefit"]
    joined = run.join(peer, on=keys, how="full", suffix="_peer", coalesce=True)
    differ = joined.filter(
        pl.col("held").is_null()
        | pl.col("held_peer").is_null()
        | (pl.col("held") != pl.col("held_peer"))
        | (pl.col("paid_fen") != pl.col("paid_fen_peer"))
        | (pl.col("id_number") != pl.col("id_number_peer"))
    )
    sums = {
        "run": {
            "items": run.height,
            "paid_items": int((~run["held"]).sum()),
            "paid_fen": int(run["paid_fen"].sum()),
        },
        "peer": {
            "items": peer.height,
            "paid_items": int((~peer["held"]).sum()),
            "paid_fen": int(peer["paid_fen"].sum()),
        },
    }
    print(json.dumps(sums))
    if problems or differ.height or not per_benefit(run).equals(per_benefit(peer)):
        print(f"DIFFERENT: {differ.height} (row, benefit) items disagree")
        print(differ.head(30))
        return 1
    print(
        f"EQUAL: {run.height} items ({sums['run']['paid_items']} paid, {sums['run']['paid_fen']} fen) agree person by person"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
