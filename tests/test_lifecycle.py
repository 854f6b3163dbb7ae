"""One lifecycle for every kind of run: manifest v2 (and v1 still read), several inputs, stage statuses."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from subsidy_batch.errors import InternalError, ReconciliationError, RunExistsError, VerifyError
from subsidy_batch.period import Period
from subsidy_batch.runs import lifecycle, verify
from subsidy_batch.runs.lifecycle import Context, Kind, Loaded, Outcome, Plan, Reading, Source, Stages
from subsidy_batch.runs.manifest import Manifest, load
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.store import RunPaths
from subsidy_batch.runs.verify import find_runs, verify_run
from tests.helpers import ROOT


def test_a_new_monthly_run_writes_manifest_version_2_with_roles_schemas_and_china_time(workdir: Path) -> None:
    result = run_month(
        RunRequest(
            Period(2024, 5), "jiaxiang", None, workdir / "runs", workdir / "config", workdir / "rosters"
        )
    )
    data = json.loads((result.run_dir / "manifest.json").read_text(encoding="utf-8"))
    assert data["manifest_version"] == 2
    assert data["kind"] == "monthly"
    (roster,) = data["inputs"]
    assert roster["role"] == "roster" and roster["file"] == "input/roster.csv"
    assert (
        roster["original_name"] == "2024-05.csv" and roster["rows"] == 401
    )  # 400 people, the last one twice (with_broken_rows)
    # v1 readers keep their "schema"; v2 lists every schema read
    assert data["schema"]["file"] == "roster.yaml" and [s["file"] for s in data["schemas"]] == ["roster.yaml"]
    assert data["created_at"].endswith("+08:00")  # Asia/Shanghai, what the clerk's clock says
    assert {s["status"] for s in data["stages"]} == {"ok"}
    assert [s["stage"] for s in data["stages"]] == [
        "read",
        "validate",
        "compute",
        "ledger",
        "write",
        "bank_files",
        "documents",
        "reconcile",
    ]
    assert verify_run(result.run_dir).identical


V1 = ROOT / "tests" / "fixtures" / "v1_manifests"  # manifests of runs made before version 2 existed


def _v1(name: str) -> dict[str, Any]:
    return json.loads((V1 / f"{name}.json").read_text(encoding="utf-8"))


def test_version_1_manifests_are_read_as_monthly_and_facility_runs_with_one_roster() -> None:
    jiaxiang = Manifest.from_json(_v1("jiaxiang-2024-04"))
    assert jiaxiang.manifest_version == 1
    assert jiaxiang.kind == "monthly" and jiaxiang.input("roster").file == "input/roster.csv"
    assert jiaxiang.input("roster").facts["rows"] == 601
    assert [s.file for s in jiaxiang.schemas] == ["roster.yaml"]
    assert "config_gaps" in jiaxiang.facts
    anqiu = Manifest.from_json(_v1("anqiu-facilities-2024"))
    assert anqiu.kind == "facilities" and anqiu.facts["year"] == 2024
    assert [s.file for s in anqiu.schemas] == ["facility.yaml", "roster.yaml"]


def test_every_stored_run_is_read_whatever_its_version() -> None:
    for run_dir in find_runs(ROOT / "runs"):
        manifest = load(run_dir)
        assert manifest.manifest_version in (1, 2) and manifest.inputs[0].role == "roster"


def test_a_manifest_of_an_unknown_version_is_refused_by_verify_with_a_sentence(tmp_path: Path) -> None:
    run_dir = tmp_path / "jiaxiang" / "2024-04"
    shutil.copytree(ROOT / "runs" / "jiaxiang" / "2024-04", run_dir)
    data = json.loads((run_dir / "manifest.json").read_text(encoding="utf-8"))
    data["manifest_version"] = 7
    (run_dir / "manifest.json").write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(VerifyError, match=r"manifest_version 7 is not one this tool reads \(1, 2\)"):
        verify_run(run_dir)


def test_a_v1_manifest_round_trips_through_the_typed_manifest_without_losing_a_fact() -> None:
    raw = _v1("anqiu-facilities-2024")
    again = Manifest.from_json(raw).to_json()
    # version 2 only adds: every key and value of the version 1 manifest is still there
    for key, value in raw.items():
        if key == "inputs":
            assert [{k: v for k, v in i.items() if k != "role"} for i in again["inputs"]] == value
        elif key not in ("manifest_version",):
            assert again[key] == value, key


def test_a_stage_that_raises_is_recorded_as_failed(caplog: pytest.LogCaptureFixture) -> None:
    stages = Stages(lambda _: None)
    with pytest.raises(ZeroDivisionError), stages.stage("compute", "computing"):
        _ = 1 / 0
    assert [(s["stage"], s["status"]) for s in stages.done] == [("compute", "failed")]
    with pytest.raises(AssertionError):
        stages.record("write", 0.1, status="half-done")  # the set of statuses is closed


# A kind of run declared in a test: two inputs (a list of payees and a list of amounts), one output.
# It proves that snapshot, fingerprint, manifest and verify take any number of inputs.


def _load(ctx: Context) -> tuple[None, Loaded]:
    return None, Loaded("测试县", (ctx.config_dir / "rules.txt",), ())


def _read(ctx: Context, _: None) -> Reading[dict[str, list[str]]]:
    lines = {role: ctx.path(role).read_text(encoding="utf-8").split() for role in ("payees", "amounts")}
    return Reading(lines, {role: {"rows": len(v)} for role, v in lines.items()}, {})


def _compute(ctx: Context, _: None, lines: dict[str, list[str]]) -> Outcome:
    rows = [f"{p},{a}" for p, a in zip(lines["payees"], lines["amounts"], strict=True)]
    (ctx.staging / "paid.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    total = sum(int(a) for a in lines["amounts"])
    written = lambda: sum(int(r.split(",")[1]) for r in (ctx.staging / "paid.csv").read_text().split())  # noqa: E731
    return Outcome(
        outputs=[{"file": "paid.csv", "rows": len(rows)}],
        totals={"paid_fen": total},
        facts={},
        reconcile=lambda: [] if written() == total else [f"paid.csv holds {written()} fen, computed {total}"],
        summary={"paid_fen": total},
    )


TOY = Kind("toy", _load, _read, _compute, roles=("payees", "amounts"))


def _toy_plan(tmp_path: Path, amounts: str = "100 250", **kw: Any) -> Plan:
    office = tmp_path / "office"
    (office / "config").mkdir(parents=True, exist_ok=True)
    (office / "config" / "rules.txt").write_text("pay what the list says\n", encoding="utf-8")
    (office / "payees.txt").write_text("张三 李四\n", encoding="utf-8")
    (office / "amounts.txt").write_text(amounts + "\n", encoding="utf-8")
    return Plan(
        TOY,
        RunPaths(tmp_path / "runs", "test", "2024-05"),
        kw.pop(
            "sources",
            (
                Source("payees", office / "payees.txt", "payees.txt"),
                Source("amounts", office / "amounts.txt", "amounts.txt"),
            ),
        ),
        office / "config",
        (office / "config" / "rules.txt",),
        (),
        {"note": "test"},
        **kw,
    )


def test_a_run_of_two_inputs_snapshots_and_fingerprints_both_and_verifies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = lifecycle.run(_toy_plan(tmp_path))
    manifest = load(result.run_dir)
    assert [(i.role, i.file, i.original_name, i.facts) for i in manifest.inputs] == [
        ("payees", "input/payees.txt", "payees.txt", {"rows": 2}),
        ("amounts", "input/amounts.txt", "amounts.txt", {"rows": 2}),
    ]
    assert (result.run_dir / "paid.csv").read_text(encoding="utf-8") == "张三,100\n李四,250\n"
    assert manifest.totals == {"paid_fen": 350}  # 100 + 250
    monkeypatch.setitem(verify.KINDS, "toy", TOY)
    assert verify_run(result.run_dir).identical
    # the second input is part of the run id: another amount list is another run (and bank batch)
    other = lifecycle.run(_toy_plan(tmp_path / "b", amounts="100 251"))
    assert other.manifest["run_id"] != result.manifest["run_id"]
    assert other.manifest["run_id"].startswith("test-2024-05-1-")
    # changing a snapshotted input afterwards is found by verify
    (result.run_dir / "input" / "amounts.txt").write_text("100 999\n", encoding="utf-8")
    differing = verify_run(result.run_dir).differing
    assert "input/amounts.txt (stored file does not match its manifest checksum)" in differing
    assert "paid.csv" in differing
    with pytest.raises(RunExistsError):
        lifecycle.run(_toy_plan(tmp_path))


def test_a_kind_reads_only_its_declared_inputs_once_each_in_order(tmp_path: Path) -> None:
    office = tmp_path / "office"
    plan = _toy_plan(tmp_path)
    for sources in (
        (
            Source("amounts", office / "amounts.txt", "a.txt"),
            Source("payees", office / "payees.txt", "p.txt"),
        ),
        (Source("payees", office / "payees.txt", "p.txt"), Source("deaths", office / "amounts.txt", "d.txt")),
        (Source("payees", office / "payees.txt", "p.txt"), Source("payees", office / "payees.txt", "q.txt")),
    ):
        with pytest.raises(InternalError, match="a toy run reads"):
            lifecycle.run(_toy_plan(tmp_path, sources=sources))
    assert plan.kind.roles == ("payees", "amounts")
    assert not (tmp_path / "runs").exists()  # refused before any lock or folder


def test_a_failed_reconciliation_accepts_nothing_and_leaves_no_staging_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(ctx: Context, setup: None, lines: dict[str, list[str]]) -> Outcome:
        outcome = _compute(ctx, setup, lines)
        (ctx.staging / "paid.csv").write_text("张三,100\n", encoding="utf-8")  # a file cut short
        return outcome

    plan = _toy_plan(tmp_path)
    plan = Plan(**{**plan.__dict__, "kind": Kind("toy", _load, _read, broken, roles=("payees", "amounts"))})
    with pytest.raises(ReconciliationError, match=r"paid\.csv holds 100 fen, computed 350"):
        lifecycle.run(plan)
    county = tmp_path / "runs" / "test"
    assert sorted(p.name for p in county.iterdir()) == []  # no run, no staging folder, no lock
