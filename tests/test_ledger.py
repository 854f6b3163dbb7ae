"""The payment ledger across months: changes, arrears, recoveries, release, supplement, never paying twice.

The first half reads Jiaxiang's stored six-month sequence (runs/jiaxiang, made by
scripts/regenerate_runs.py from scripts/make_samples.py sequence()); the second half runs small hand-made
months in a private folder.
"""

from __future__ import annotations

import json
import os
import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from subsidy_batch.errors import ReconciliationError, ReturnsError, RunLockedError, UsageError
from subsidy_batch.ledger import arrears as arrears_module
from subsidy_batch.period import Period
from subsidy_batch.returns import record as returns_record
from subsidy_batch.returns.record import import_returns
from subsidy_batch.returns.synth import synth_returns
from subsidy_batch.runs import lifecycle
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.release import release as record_release
from subsidy_batch.runs.verify import verify_run
from tests.helpers import CONFIG, ROOT, approved, cli, make_id, only_error, person


def release(run_dir: Path, by: str) -> dict[str, Any]:
    """The run checked, approved (tests.helpers.approved) and released by `by`."""
    return record_release(approved(run_dir), by)


J = ROOT / "runs" / "jiaxiang"


def _changes(month: str, name: str) -> list[dict]:
    frame = pl.read_parquet(J / month / "changes.parquet").filter(pl.col("name") == name)
    return frame.select("benefit", "change", "reason", "detail", "old_amount", "new_amount").to_dicts()


def _items(folder: Path, name: str) -> list[tuple]:
    frame = pl.read_parquet(folder / "line_items.parquet").filter(
        pl.col("name") == name, pl.col("status") == "paid"
    )
    return frame.select("benefit", "kind", "for_period", "amount").rows()


def _accepted_items(county_dir: Path) -> pl.DataFrame:
    folders = [p for p in county_dir.iterdir() if p.name[:2] == "20"]
    folders += list((county_dir / "supplements").glob("*")) if (county_dir / "supplements").is_dir() else []
    return pl.concat(
        pl.read_parquet(
            f / "line_items.parquet", columns=["id_number", "benefit", "for_period", "status", "amount"]
        )
        for f in folders
        if (f / "manifest.json").is_file()
    )


# --- the stored sequence -------------------------------------------------------------------------


def test_turning_80_raises_the_living_subsidy_the_month_after() -> None:
    # 周八十, born 1944-01-15, 低保: Jiaxiang counts age at the end of the previous month, so 80 on
    # 2024-01-31 -> the 80-89 band (100.00) from 2024-02; 79 on 2023-12-31 -> 80.00 in January
    assert {
        "benefit": "low_income_living",
        "change": "amount_changed",
        "reason": None,
        "detail": None,
        "old_amount": Decimal("80.00"),
        "new_amount": Decimal("100.00"),
    } in _changes("2024-02", "周八十")
    assert _items(J / "2024-01", "周八十") == [("low_income_living", "regular", "2024-01", Decimal("80.00"))]


def test_a_death_reported_late_is_stopped_and_its_overpaid_month_becomes_a_recovery() -> None:
    # 郑迟报 died 2023-12-10; December (the month of death) is paid, January was paid by the 2024-01 run
    # before anyone knew: 80.00 to recover; the February roster reports the death
    assert _changes("2024-02", "郑迟报") == [
        {
            "benefit": "low_income_living",
            "change": "stopped",
            "reason": "died",
            "detail": "died on 2023-12-10",
            "old_amount": Decimal("80.00"),
            "new_amount": None,
        }
    ]
    january = json.loads((J / "2024-01" / "manifest.json").read_text(encoding="utf-8"))["run_id"]
    for month in ("2024-02", "2024-04"):  # carried forward after the person left the roster (2024-03)
        owed = pl.read_parquet(J / month / "recoveries.parquet")
        assert owed.select("name", "for_period", "amount", "paid_by_run", "found_in", "status").rows() == [
            ("郑迟报", "2024-01", Decimal("80.00"), january, "2024-02", "outstanding")
        ]
    assert _items(J / "2024-02", "郑迟报") == []


def test_a_back_dated_eligible_from_pays_the_months_since_as_arrears_once() -> None:
    # 王补发 first appears in 2024-02 with 享受起始月份 2023-12: 2023-12 and 2024-01 are paid now (80.00 each,
    # the amount of those months), February as the regular item; later months pay no arrears again
    assert sorted(_items(J / "2024-02", "王补发")) == [
        ("low_income_living", "arrears", "2023-12", Decimal("80.00")),
        ("low_income_living", "arrears", "2024-01", Decimal("80.00")),
        ("low_income_living", "regular", "2024-02", Decimal("80.00")),
    ]
    assert _items(J / "2024-03", "王补发") == [("low_income_living", "regular", "2024-03", Decimal("80.00"))]


def test_a_held_bank_account_fixed_later_pays_the_held_months_as_arrears() -> None:
    # 冯无账 had no account in 2023-11 and 2023-12 (held, no_bank_account), then one from 2024-01
    held = pl.read_parquet(J / "2023-12" / "line_items.parquet").filter(pl.col("name") == "冯无账")
    assert held.select("status", "hold_reason").rows() == [("held", "no_bank_account")]
    assert sorted(_items(J / "2024-01", "冯无账")) == [
        ("low_income_living", "arrears", "2023-11", Decimal("80.00")),
        ("low_income_living", "arrears", "2023-12", Decimal("80.00")),
        ("low_income_living", "regular", "2024-01", Decimal("80.00")),
    ]
    assert {
        "benefit": "low_income_living",
        "change": "hold_released",
        "reason": None,
        "detail": None,
        "old_amount": Decimal("80.00"),
        "new_amount": Decimal("80.00"),
    } in _changes("2024-01", "冯无账")


def test_no_longer_eligible_names_the_condition_that_stopped_matching() -> None:
    assert _changes("2024-04", "钱变更") == [
        {
            "benefit": "low_income_living",
            "change": "stopped",
            "reason": "no_longer_eligible",
            "detail": "经济状况 is 一般; only 低保 qualify",
            "old_amount": Decimal("80.00"),
            "new_amount": None,
        }
    ]


def test_the_supplement_pays_only_what_the_released_month_still_owed() -> None:
    supplement = J / "supplements" / "2024-03-s1"
    paid = pl.read_parquet(supplement / "line_items.parquet").filter(pl.col("status") == "paid")
    assert paid.select("name", "benefit", "kind", "for_period", "amount").rows() == [
        ("陈后批", "low_income_living", "regular", "2024-03", Decimal("80.00"))
    ]
    manifest = json.loads((supplement / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["period"] == "2024-03-s1" and manifest["arguments"]["supplement"]
    assert manifest["run_id"].startswith("jiaxiang-2024-03-s1-1-")  # its own bank batch
    # April pays April only: March was paid by the supplement
    assert _items(J / "2024-04", "陈后批") == [("low_income_living", "regular", "2024-04", Decimal("80.00"))]


def test_no_person_is_paid_the_same_benefit_for_the_same_month_twice_in_the_stored_record() -> None:
    paid = _accepted_items(J).filter(pl.col("status") == "paid")
    twice = paid.group_by("id_number", "benefit", "for_period").len().filter(pl.col("len") > 1)
    assert twice.height == 0, twice
    assert paid.height > 1000


def test_the_stored_release_stops_any_supersede_of_that_month(tmp_path: Path) -> None:
    office = _office(tmp_path)
    shutil.copytree(J, office / "runs" / "jiaxiang")
    shutil.copy(
        ROOT / "rosters" / "jiaxiang" / "2024-03-corrected.csv",
        office / "rosters" / "jiaxiang" / "2024-03.csv",
    )
    with pytest.raises(UsageError, match="months go forward"):
        _run(office, "2024-03", supersede_reason="again")  # 2024-04 exists after it
    record = json.loads(next((J / "released").glob("*.json")).read_text(encoding="utf-8"))
    assert record["period"] == "2024-03" and record["released_by"] == "王会计"
    assert all(len(f["sha256"]) == 64 for f in record["bank_files"])


# --- small months in a private folder ------------------------------------------------------------


def _office(tmp_path: Path) -> Path:
    office = tmp_path / "office"
    shutil.copytree(CONFIG, office / "config")
    (office / "rosters" / "jiaxiang").mkdir(parents=True)
    return office


def _roster(office: Path, month: str, rows: list[dict[str, str]]) -> Path:
    path = office / "rosters" / "jiaxiang" / f"{month}.csv"
    pl.DataFrame(rows, schema={c: pl.String for c in rows[0]}).write_csv(path)
    return path


def _run(office: Path, month: str, **kw):
    return run_month(
        RunRequest(
            Period.parse(month),
            "jiaxiang",
            None,
            office / "runs",
            office / "config",
            office / "rosters",
            **kw,
        )
    )


DIBAO = person("1950-03-03", income="dibao", name="甲") | {"id_number": make_id("1950-03-03", seq=11)}
# 甲: 73-74 in 2024, 低保: 80.00 a month. 乙: 85 in 2024: high-age 80-89, not set in Jiaxiang
EIGHTY_FIVE = person("1939-01-05", name="乙") | {"id_number": make_id("1939-01-05", seq=12)}


def test_a_standard_set_later_with_a_past_effective_date_pays_the_held_months(tmp_path: Path) -> None:
    office = _office(tmp_path)
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [DIBAO, EIGHTY_FIVE])
        result = _run(office, month)
        held = pl.read_parquet(result.run_dir / "line_items.parquet").filter(pl.col("name") == "乙")
        assert held.select("benefit", "status", "hold_reason").rows() == [
            ("high_age_allowance", "held", "standard_not_set")
        ]
    # the county decides 50.00 for ages 80-89 from 2024-01 (a test config, not policy)
    county = office / "config" / "counties" / "jiaxiang.yaml"
    text = county.read_text(encoding="utf-8")
    old = 'when: {hukou_code: {equals: "370829"}, age: {min: 80, max: 89}}\n        amount: {monthly: not set, reason: "具体标准另行制定 (item 3): no figure for ages 80-99 yet"}'
    assert old in text
    county.write_text(
        text.replace(old, old.split("\n")[0] + '\n        amount: {monthly: "50.00"}'), encoding="utf-8"
    )
    _roster(office, "2024-03", [DIBAO, EIGHTY_FIVE])
    march = _run(office, "2024-03")
    # 2024-01 and 2024-02 at 50.00 each as arrears, March as the regular item: 150.00 to 乙
    assert sorted(_items(march.run_dir, "乙")) == [
        ("high_age_allowance", "arrears", "2024-01", Decimal("50.00")),
        ("high_age_allowance", "arrears", "2024-02", Decimal("50.00")),
        ("high_age_allowance", "regular", "2024-03", Decimal("50.00")),
    ]
    assert march.manifest["totals"]["arrears_amount"] == "100.00"
    assert march.manifest["totals"]["changes"]["hold_released"] == 1
    assert verify_run(march.run_dir).identical  # reproduced from its snapshot and the two runs it read


def test_death_on_the_first_of_a_month_pays_that_month_and_a_late_report_recovers_the_next(
    tmp_path: Path,
) -> None:
    office = _office(tmp_path)
    for month in ("2024-01", "2024-02", "2024-03"):
        _roster(office, month, [DIBAO])
        _run(office, month)
    # reported in April: died 2024-02-01. February (the month of death) stays paid; March is owed back
    _roster(office, "2024-04", [DIBAO | {"death_date": "2024-02-01"}])
    april = _run(office, "2024-04")
    owed = pl.read_parquet(april.run_dir / "recoveries.parquet")
    assert owed.select("for_period", "amount", "status").rows() == [
        ("2024-03", Decimal("80.00"), "outstanding")
    ]
    assert _items(april.run_dir, "甲") == []
    assert april.manifest["totals"]["recoveries_amount"] == "80.00"


def test_months_go_forward_and_supplements_need_a_release(tmp_path: Path) -> None:
    office = _office(tmp_path)
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [DIBAO])
        _run(office, month)
    with pytest.raises(UsageError, match="already has an accepted run for 2024-02, after 2024-01"):
        _run(office, "2024-01", supersede_reason="redo")
    with pytest.raises(UsageError, match="has not been released to the bank"):
        _run(office, "2024-02", supplement_reason="late approvals")
    with pytest.raises(UsageError, match="2024-03 has no accepted run to supplement"):
        _roster(office, "2024-03", [DIBAO])
        _run(office, "2024-03", supplement_reason="late approvals")
    release(office / "runs" / "jiaxiang" / "2024-02", by="王会计")
    with pytest.raises(UsageError, match="a released run is never superseded"):
        _run(office, "2024-02", supersede_reason="redo")
    with pytest.raises(UsageError, match="already released by 王会计"):
        release(office / "runs" / "jiaxiang" / "2024-02", by="李会计")
    # a supplement of a released month with nothing new would pay nothing (甲 was paid for February):
    # refused, and nothing is written (no supplements/2024-02-s1 taking a number, no empty bank batch)
    with pytest.raises(UsageError, match="a supplement of jiaxiang 2024-02 would pay nothing"):
        _run(office, "2024-02", supplement_reason="nothing new")
    assert not (office / "runs" / "jiaxiang" / "supplements").exists()
    # 乙 approved late for February: 85 in 2024, only the high-age allowance, whose standard is not set in
    # Jiaxiang: the supplement would hold it and pay nothing, so it is refused too, saying so
    _roster(office, "2024-02", [DIBAO, EIGHTY_FIVE])
    with pytest.raises(UsageError, match=r"would pay nothing: .*; 1 item\(s\) it owes are still held"):
        _run(office, "2024-02", supplement_reason="乙 approved late")
    # 丙, a 低保 elder approved late: the supplement pays her February, 80.00, as supplements/2024-02-s1
    late = person("1952-07-07", income="dibao", name="丙") | {"id_number": make_id("1952-07-07", seq=13)}
    _roster(office, "2024-02", [DIBAO, late])
    extra = _run(office, "2024-02", supplement_reason="丙 approved late")
    assert extra.run_dir == office / "runs" / "jiaxiang" / "supplements" / "2024-02-s1"
    assert _items(extra.run_dir, "丙") == [("low_income_living", "regular", "2024-02", Decimal("80.00"))]
    assert (extra.manifest["totals"]["paid_items"], extra.manifest["totals"]["paid_amount"]) == (1, "80.00")
    assert verify_run(extra.run_dir).identical


def test_a_month_after_a_month_with_no_run_is_refused_so_that_none_goes_unpaid(tmp_path: Path) -> None:
    """Arrears pay lifted holds and 享受起始月份, never a month no run was made for; and once a later month
    is accepted, months go forward: skipping February would leave it unpaid for good. The next month
    after the latest (and the first month of the record) still run."""
    office = _office(tmp_path)
    for month in ("2024-01", "2024-03", "2024-05", "2024-02"):
        _roster(office, month, [DIBAO])
    _run(office, "2024-01")
    with pytest.raises(UsageError) as one:
        _run(office, "2024-03")
    assert str(one.value) == (
        "jiaxiang's latest accepted run is 2024-01, and 2024-02 has none: run 2024-02 first, so that no "
        "month goes unpaid (a month with no run is never paid as arrears)"
    )
    with pytest.raises(UsageError, match=r"and 2024-02 to 2024-04 have none: run 2024-02 first"):
        _run(office, "2024-05")
    assert sorted(p.name for p in (office / "runs" / "jiaxiang").iterdir()) == ["2024-01"]  # nothing made
    # February, the month after the latest, runs; then March does: 低保 80.00 each month
    assert _items(_run(office, "2024-02").run_dir, "甲") == [
        ("low_income_living", "regular", "2024-02", Decimal("80.00"))
    ]
    assert _run(office, "2024-03").manifest["totals"]["paid_amount"] == "80.00"


def test_a_month_after_next_month_is_refused_as_a_typo_before_anything_is_made(tmp_path: Path) -> None:
    """On 2024-05-31 (Asia/Shanghai) a county may run May or prepare June, never July: a mistyped month
    (2099-01 for 2024-01) would pay ages counted for it and, once accepted, block every real month."""
    office = _office(tmp_path)
    for month in ("2024-06", "2024-07"):
        _roster(office, month, [DIBAO])
    with pytest.raises(UsageError) as late:
        _run(office, "2024-07", today=date(2024, 5, 31))
    assert str(late.value) == (
        "2024-07 is later than 2024-06, the month after this one (today is 2024-05-31): a month is run in "
        "the month it pays or the month before; check the period you typed"
    )
    assert not (office / "runs").exists()  # refused before the lock and any folder
    # the month after today's: 2024-12-01 makes 2025-01 the latest (the year turns)
    with pytest.raises(UsageError, match=r"^2025-02 is later than 2025-01, .*today is 2024-12-01"):
        _run(office, "2025-02", today=date(2024, 12, 1))
    assert _run(office, "2024-06", today=date(2024, 5, 31)).manifest["totals"]["paid_amount"] == "80.00"


# 甲 again, her ID number corrected (sequence 21 for 11): the same name and bank account as DIBAO
CORRECTED = DIBAO | {"id_number": make_id("1950-03-03", seq=21)}


def test_a_month_paid_before_an_id_correction_is_not_paid_again_by_a_supplement(tmp_path: Path) -> None:
    """The guard is keyed on the ID: without this check, 甲's corrected ID would be paid January again, to
    the same account. 丙, approved late, is paid by the same supplement; February pays 甲 as usual."""
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    _run(office, "2024-01")
    release(office / "runs" / "jiaxiang" / "2024-01", by="王会计")
    _roster(office, "2024-01", [CORRECTED])
    with pytest.raises(UsageError) as nothing:
        _run(office, "2024-01", supplement_reason="甲's ID corrected")
    assert str(nothing.value) == (
        "a supplement of jiaxiang 2024-01 would pay nothing: everything the month owes was paid by the runs "
        "accepted for it; 1 item(s) were paid already to the same name and bank account under another ID "
        "number (the ID was corrected since: paid_under_other_id). No supplement was written"
    )
    late = person("1952-07-07", income="dibao", name="丙") | {"id_number": make_id("1952-07-07", seq=13)}
    _roster(office, "2024-01", [CORRECTED, late])
    extra = _run(office, "2024-01", supplement_reason="丙 approved late")
    items = pl.read_parquet(extra.run_dir / "line_items.parquet")
    assert items.select("name", "id_number", "status", "hold_reason", "amount").rows() == [
        ("甲", CORRECTED["id_number"], "held", "paid_under_other_id", Decimal("80.00")),
        ("丙", late["id_number"], "paid", None, Decimal("80.00")),
    ]
    totals = extra.manifest["totals"]
    assert (totals["paid_amount"], totals["held_items_by_reason"]["paid_under_other_id"]) == ("80.00", 1)
    # February: 甲 (corrected) and 丙, 80.00 each; January is owed to no one, so no arrears and no new hold
    _roster(office, "2024-02", [CORRECTED, late])
    february = _run(office, "2024-02")
    assert pl.read_parquet(february.run_dir / "line_items.parquet").select(
        "name", "kind", "for_period", "status"
    ).rows() == [("甲", "regular", "2024-02", "paid"), ("丙", "regular", "2024-02", "paid")]
    for run in (extra, february):
        assert verify_run(run.run_dir).identical


@pytest.mark.parametrize(("account", "paid"), [(DIBAO["bank_account"], False), ("6228480055555555", True)])
def test_arrears_from_eligible_from_skip_a_month_paid_to_the_same_name_and_account_under_another_id(
    tmp_path: Path, account: str, paid: bool
) -> None:
    """February's roster gives 甲 a corrected ID and 享受起始月份 2024-01. With January's account, January
    was paid to her already: held (paid_under_other_id) and never looked at again. With another account
    she may be a namesake: January is paid as arrears, 80.00."""
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    _run(office, "2024-01")
    for month in ("2024-02", "2024-03"):
        _roster(office, month, [CORRECTED | {"bank_account": account, "eligible_from": "2024-01"}])
        runs = _run(office, month)
        frame = pl.read_parquet(runs.run_dir / "line_items.parquet")
        if month == "2024-02":
            assert frame.select("kind", "for_period", "status", "hold_reason").rows() == [
                ("arrears", "2024-01", "paid" if paid else "held", None if paid else "paid_under_other_id"),
                ("regular", "2024-02", "paid", None),
            ]
            assert runs.manifest["totals"]["paid_amount"] == ("160.00" if paid else "80.00")
        else:  # March: the regular month only, either way
            assert frame.select("kind", "for_period", "status").rows() == [("regular", "2024-03", "paid")]
        assert verify_run(runs.run_dir).identical


def test_one_name_and_account_under_two_ids_in_one_roster_are_held_until_one_remains(tmp_path: Path) -> None:
    """甲 is listed twice, once with her ID mistyped (CORRECTED's number): both would be paid to one account
    for one month. Both are held (duplicate_payee) and sent to no bank; 乙's parent 丁, a different name on
    the same (guardian's) account, and 丙 are paid. Once March's roster lists 甲 once, January and February
    are paid as arrears: 80.00 x 3."""
    office = _office(tmp_path)
    late = person("1952-07-07", income="dibao", name="丙") | {"id_number": make_id("1952-07-07", seq=13)}
    guardian = person("1951-02-02", income="dibao", name="丁") | {"id_number": make_id("1951-02-02", seq=14)}
    _roster(office, "2024-01", [DIBAO, CORRECTED, late, guardian | {"bank_account": DIBAO["bank_account"]}])
    january = _run(office, "2024-01")
    items = pl.read_parquet(january.run_dir / "line_items.parquet")
    assert items.select("name", "id_number", "status", "hold_reason").sort("id_number").rows() == sorted(
        [
            ("甲", DIBAO["id_number"], "held", "duplicate_payee"),
            ("甲", CORRECTED["id_number"], "held", "duplicate_payee"),
            ("丙", late["id_number"], "paid", None),
            ("丁", guardian["id_number"], "paid", None),
        ],
        key=lambda r: r[1],
    )
    totals = january.manifest["totals"]
    # 丙 and 丁, 80.00 each
    assert (totals["paid_amount"], totals["held_items_by_reason"]["duplicate_payee"]) == ("160.00", 2)
    payees = pl.read_parquet(january.run_dir / "payments.parquet").get_column("name").sort().to_list()
    assert payees == ["丁", "丙"]
    from subsidy_batch.cli import _summary

    assert (
        "  duplicate_payee: 2 items held, not sent: one name and bank account stand under two ID numbers"
        in (_summary(january.manifest))
    )
    # February still lists 甲 twice: February is held for both IDs; January, held for the same reason,
    # stays held in January's run and is not listed again as arrears held each month
    _roster(office, "2024-02", [DIBAO, CORRECTED, late, guardian | {"bank_account": DIBAO["bank_account"]}])
    february = _run(office, "2024-02")
    held = pl.read_parquet(february.run_dir / "line_items.parquet").filter(pl.col("name") == "甲")
    assert (
        held.select("kind", "for_period", "status", "hold_reason").rows()
        == [("regular", "2024-02", "held", "duplicate_payee")] * 2
    )
    assert february.manifest["totals"]["held_items_by_reason"]["duplicate_payee"] == 2
    _roster(office, "2024-03", [DIBAO, late, guardian | {"bank_account": DIBAO["bank_account"]}])
    march = _run(office, "2024-03")
    assert sorted(_items(march.run_dir, "甲")) == [
        ("low_income_living", "arrears", "2024-01", Decimal("80.00")),
        ("low_income_living", "arrears", "2024-02", Decimal("80.00")),
        ("low_income_living", "regular", "2024-03", Decimal("80.00")),
    ]
    assert march.manifest["totals"]["paid_amount"] == "400.00"  # 甲 240.00, 丙 and 丁 80.00 each
    for run in (january, february, march):
        assert verify_run(run.run_dir).identical


def test_a_supplement_that_would_pay_only_a_person_listed_twice_is_refused(tmp_path: Path) -> None:
    """The supplement's check that it pays something comes after every hold: 甲 approved late, but
    listed twice (one ID mistyped), would make a bank batch of nothing."""
    office = _office(tmp_path)
    late = person("1952-07-07", income="dibao", name="丙") | {"id_number": make_id("1952-07-07", seq=13)}
    _roster(office, "2024-01", [late])
    _run(office, "2024-01")
    release(office / "runs" / "jiaxiang" / "2024-01", by="王会计")
    _roster(office, "2024-01", [late, DIBAO, CORRECTED])
    with pytest.raises(UsageError, match=r"would pay nothing: .*; 2 item\(s\) it owes are still held"):
        _run(office, "2024-01", supplement_reason="甲 approved late")
    assert not (office / "runs" / "jiaxiang" / "supplements").exists()


def test_the_double_payment_guard_refuses_a_month_already_paid_whatever_chose_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    _run(office, "2024-01")
    real = arrears_module.arrears

    def paying_january_again(people, config, period, ledger):  # a bug that chose a paid month
        from subsidy_batch.rules.compute import line_items

        assert real(people, config, period, ledger).height == 0  # nothing is really owed
        return line_items(people, config, Period(2024, 1)).with_columns(for_period=pl.lit("2024-01"))

    monkeypatch.setattr("subsidy_batch.runs.monthly.arrears", paying_january_again)
    _roster(office, "2024-02", [DIBAO])
    with pytest.raises(
        ReconciliationError, match=r"1 \(person, benefit, month\) already paid by an accepted run"
    ):
        _run(office, "2024-02")
    assert sorted(p.name for p in (office / "runs" / "jiaxiang").iterdir()) == ["2024-01"]  # nothing accepted


def test_the_county_lock_serialises_runs_of_different_periods(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    county = office / "runs" / "jiaxiang"
    county.mkdir(parents=True)
    (county / ".lock").write_text(f"{os.getppid()}\n")  # a live process holds the county
    with pytest.raises(RunLockedError, match="another run of jiaxiang is in progress"):
        _run(office, "2024-01")


# --- any sequence of runs, supersedes, releases and supplements never pays twice ----------------

OPS = st.lists(st.sampled_from(["next", "supersede", "release", "supplement"]), min_size=3, max_size=7)
PEOPLE = st.lists(
    st.fixed_dictionaries(
        {
            "dibao": st.booleans(),
            "account": st.booleans(),
            "eligible": st.sampled_from(["", "2024-01", "2024-02", "2024-03"]),
        }
    ),
    min_size=4,
    max_size=4,
)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=OPS, months=st.lists(PEOPLE, min_size=5, max_size=5))
def test_no_sequence_pays_a_person_twice_for_a_month_and_every_paid_month_is_owed(
    tmp_path_factory: pytest.TempPathFactory, ops: list[str], months: list[list[dict]]
) -> None:
    office = _office(tmp_path_factory.mktemp("seq"))
    done: list[str] = []
    for step, op in enumerate(ops):
        state = months[min(len(done), 4)]
        rows = [
            person(
                "1950-03-03",
                income="dibao" if p["dibao"] else "none",
                account="6228480012345678" if p["account"] else "",
                name=f"人{i}",
                eligible_from=p["eligible"],
            )
            | {"id_number": make_id("1950-03-03", seq=20 + i)}
            for i, p in enumerate(state)
        ]
        county = office / "runs" / "jiaxiang"
        try:
            if op == "next" and len(done) < 4:
                month = f"2024-0{len(done) + 1}"
                _roster(office, month, rows)
                _run(office, month)
                done.append(month)
            elif op == "supersede" and done:
                _roster(office, done[-1], rows)
                _run(office, done[-1], supersede_reason=f"step {step}")
            elif op == "release" and done:
                release(county / done[-1], by="王会计")
            elif op == "supplement" and done:
                _roster(office, done[-1], rows)
                _run(office, done[-1], supplement_reason=f"step {step}")
        except UsageError:
            pass  # refused on purpose (released, not released, nothing to supersede): nothing changed
        if county.is_dir() and any(p.name.startswith("20") for p in county.iterdir()):
            paid = _accepted_items(county).filter(pl.col("status") == "paid")
            assert (
                paid.group_by("id_number", "benefit", "for_period").len().filter(pl.col("len") > 1).height
                == 0
            )
            # every paid month is one the person is owed: 低保 (only they get the living subsidy), and not
            # before their 享受起始月份
            assert paid.get_column("for_period").is_in(done).all()


def test_a_returned_payment_is_held_while_unchanged_and_reissued_once_after_the_account_is_fixed(
    tmp_path: Path,
) -> None:
    from subsidy_batch.returns.record import import_returns
    from subsidy_batch.returns.synth import synth_returns

    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    january = _run(office, "2024-01")
    for written in synth_returns(january.run_dir, fail_rate=1.0, seed=3, out_dir=tmp_path / "answers"):
        import_returns(january.run_dir, written.path, config_dir=office / "config")  # the bank: 无此账号 etc.
    # February, same name and account: January's 80.00 is held (bank_returned), never resent blindly
    _roster(office, "2024-02", [DIBAO])
    february = _run(office, "2024-02")
    held = pl.read_parquet(february.run_dir / "line_items.parquet").filter(pl.col("kind") == "reissue")
    assert held.select("for_period", "status", "hold_reason", "amount").rows() == [
        ("2024-01", "held", "bank_returned", Decimal("80.00"))
    ]
    assert february.manifest["totals"]["bank_returns"]["failed_lines_read"] == 1
    (bank_answer,) = february.manifest["totals"]["bank_returns"]["by_bank"]  # one bank, one line, failed
    assert (bank_answer["succeeded"], bank_answer["failed"], bank_answer["failed_amount"]) == (0, 1, "80.00")
    assert [i["role"] for i in february.manifest["inputs"]] == ["roster", "prior_run", "bank_return"]
    # the answer refused the name and account for good (seed 3: 户名不符), so February is not sent either
    assert february.manifest["totals"]["held_items_by_reason"]["account_refused"] == 1
    # the money held back: January's returned 80.00 and February's 80.00 for the refused account
    held_amounts = february.manifest["totals"]["held_amount_by_reason"]
    assert (held_amounts["bank_returned"], held_amounts["account_refused"]) == ("80.00", "80.00")
    assert _items(february.run_dir, "甲") == []
    # March, a new account: January is paid again as a reissue for its own month, exactly once, and
    # February, held for the refused account, as arrears
    _roster(office, "2024-03", [DIBAO | {"bank_account": "6228480099999999"}])
    march = _run(office, "2024-03")
    assert sorted(_items(march.run_dir, "甲")) == [
        ("low_income_living", "arrears", "2024-02", Decimal("80.00")),
        ("low_income_living", "regular", "2024-03", Decimal("80.00")),
        ("low_income_living", "reissue", "2024-01", Decimal("80.00")),
    ]
    assert march.manifest["totals"]["bank_returns"]["reissued_amount"] == "80.00"
    _roster(office, "2024-04", [DIBAO | {"bank_account": "6228480099999999"}])
    april = _run(office, "2024-04")
    assert _items(april.run_dir, "甲") == [("low_income_living", "regular", "2024-04", Decimal("80.00"))]
    for run in (february, march, april):  # each reproduces from its snapshot, prior runs and bank answers
        assert verify_run(run.run_dir).identical


SECOND = person("1951-07-07", income="dibao", name="丙") | {"id_number": make_id("1951-07-07", seq=13)}


@pytest.mark.parametrize(
    ("code", "text", "refused"),
    [
        ("201", "无此帐号或存折", True),  # no_such_account
        ("E1022", "账户已销户", True),  # account_closed
        ("0130Z0100005", "户名不符", True),  # name_mismatch
        ("X9", "证件号码不符", True),  # id_mismatch
        ("X8", "客户已死亡", True),  # holder_deceased
        ("E1031", "账户冻结", False),  # account_frozen: may be unfrozen
        ("9999", "交易失败，请联系开户行", False),  # other: may be the bank's passing trouble
    ],
)
def test_a_name_and_account_the_bank_refused_for_good_are_sent_no_later_month_until_one_changes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, text: str, refused: bool
) -> None:
    """January's line to 甲 fails. Where the reason does not pass by itself, February and March are held
    (account_refused) and sent to no bank, then paid as arrears once April's roster gives a new account;
    a frozen account or an unnamed failure is sent again. 丙, added in February, is paid throughout."""
    from subsidy_batch.returns import synth as synth_module

    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", ((code, text, 1),))
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    _all_lines_failed(_run(office, "2024-01").run_dir, office, tmp_path / "answers")
    runs = {}
    for month in ("2024-02", "2024-03"):
        _roster(office, month, [DIBAO, SECOND])
        runs[month] = _run(office, month)
        line = pl.read_parquet(runs[month].run_dir / "line_items.parquet").filter(
            pl.col("name") == "甲", pl.col("kind") == "regular"
        )
        assert line.select("status", "hold_reason").row(0) == (
            ("held", "account_refused") if refused else ("paid", None)
        )
        totals = runs[month].manifest["totals"]
        assert totals["held_items_by_reason"]["account_refused"] == (1 if refused else 0)
        # 丙 80.00, and 甲 80.00 only where the account is not refused (January stays held: bank_returned)
        assert totals["paid_amount"] == ("80.00" if refused else "160.00")
        payees = pl.read_parquet(runs[month].run_dir / "payments.parquet").get_column("name").to_list()
        assert sorted(payees) == (["丙"] if refused else ["丙", "甲"])
    february = pl.read_parquet(runs["2024-02"].run_dir / "changes.parquet").filter(pl.col("name") == "甲")
    assert february.select("change", "new_status").rows() == ([("newly_held", "held")] if refused else [])
    _roster(office, "2024-04", [DIBAO | {"bank_account": "6228480099999999"}, SECOND])
    april = _run(office, "2024-04")
    # refused: 80.00 x 4 = 320.00 (January reissued, February and March as arrears, April); else 80.00 x 2
    expected = [("low_income_living", "reissue", "2024-01", Decimal("80.00"))]
    if refused:
        expected += [
            ("low_income_living", "arrears", "2024-02", Decimal("80.00")),
            ("low_income_living", "arrears", "2024-03", Decimal("80.00")),
        ]
    expected += [("low_income_living", "regular", "2024-04", Decimal("80.00"))]
    assert sorted(_items(april.run_dir, "甲"), key=lambda i: i[2]) == expected
    assert april.manifest["totals"]["paid_amount"] == ("400.00" if refused else "240.00")  # with 丙's 80.00
    assert april.manifest["totals"]["held_items_by_reason"]["account_refused"] == 0
    _roster(office, "2024-05", [DIBAO | {"bank_account": "6228480099999999"}, SECOND])
    may = _run(office, "2024-05")
    assert _items(may.run_dir, "甲") == [("low_income_living", "regular", "2024-05", Decimal("80.00"))]
    for run in (runs["2024-02"], runs["2024-03"], april, may):
        assert verify_run(run.run_dir).identical


def _frozen_january(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Any]:
    """An office whose January run pays 甲, is released, and whose bank answers her line as failed
    (账户冻结: a reason that may pass); (office, January's run)."""
    from subsidy_batch.returns import synth as synth_module

    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", (("E1031", "账户冻结", 1),))
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    january = _run(office, "2024-01")
    release(january.run_dir, by="王会计")
    _all_lines_failed(january.run_dir, office, tmp_path / "a1")
    return office, january


@pytest.mark.parametrize("new_account", [False, True])
def test_a_supplement_reissues_its_months_returned_payment_only_once_the_account_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_account: bool
) -> None:
    """January's line to 甲 fails (账户冻结: a reason that may pass, so the pair is not refused for good).
    Before, a supplement of January paid 甲's January again as a regular item, to the account that had
    just failed. Now it is the month's reissue: held (bank_returned) while the name and account are as
    sent, paid as kind = reissue once the roster gives another account, and paid once in all."""
    office, _ = _frozen_january(tmp_path, monkeypatch)
    fixed = DIBAO | {"bank_account": "6228480099999999"}
    if not new_account:  # a supplement for 甲 alone would resend the failed payment: it pays nothing
        with pytest.raises(UsageError) as nothing:
            _run(office, "2024-01", supplement_reason="甲 again")
        assert "; 1 item(s) it owes are still held (bank_returned 1), and are paid once" in str(nothing.value)
    late = person("1952-07-07", income="dibao", name="丁") | {"id_number": make_id("1952-07-07", seq=14)}
    _roster(office, "2024-01", [fixed if new_account else DIBAO, late])
    extra = _run(office, "2024-01", supplement_reason="丁 approved late")
    assert pl.read_parquet(extra.run_dir / "line_items.parquet").select(
        "name", "kind", "for_period", "status", "hold_reason", "amount"
    ).rows() == [
        ("甲", "reissue", "2024-01", "paid", None, Decimal("80.00"))
        if new_account
        else ("甲", "reissue", "2024-01", "held", "bank_returned", Decimal("80.00")),
        ("丁", "regular", "2024-01", "paid", None, Decimal("80.00")),
    ]
    # 丁 80.00, and 甲's January 80.00 where the account changed: 160.00 or 80.00
    assert extra.manifest["totals"]["paid_amount"] == ("160.00" if new_account else "80.00")
    # February, the new account: January is reissued here where the supplement held it, never twice
    _roster(office, "2024-02", [fixed, late])
    february = _run(office, "2024-02")
    expected = [] if new_account else [("low_income_living", "reissue", "2024-01", Decimal("80.00"))]
    expected += [("low_income_living", "regular", "2024-02", Decimal("80.00"))]
    assert sorted(_items(february.run_dir, "甲"), key=lambda i: i[2]) == expected
    for run in (extra, february):
        assert verify_run(run.run_dir).identical


@pytest.mark.parametrize(
    ("code", "text", "refused"),
    [("E1031", "账户冻结", False), ("0130Z0100005", "户名不符", True)],  # account_frozen, name_mismatch
)
def test_a_confirmed_account_is_paid_again_as_sent_and_a_later_failure_holds_it_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: str, text: str, refused: bool
) -> None:
    """January's line to 甲 fails. The roster keeps the name and account (they were right: the account is
    unfrozen, the bank's own record of the name was wrong), so January stays held as bank_returned, and
    where the reason is one that does not pass (户名不符) February is held too (account_refused). The clerk
    confirms the account (subsidy confirm-account): March reissues January to it, pays February as arrears
    where it was held, and sends March. March's line fails again: a failure of its own, held again."""
    from subsidy_batch.returns import synth as synth_module

    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", ((code, text, 1),))
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    january = _run(office, "2024-01")
    _all_lines_failed(january.run_dir, office, tmp_path / "answers")
    _roster(office, "2024-02", [DIBAO])
    february = _run(office, "2024-02")
    assert sorted(
        pl.read_parquet(february.run_dir / "line_items.parquet")
        .select("kind", "status", "hold_reason")
        .rows()
    ) == [
        ("regular", "held", "account_refused") if refused else ("regular", "paid", None),
        ("reissue", "held", "bank_returned"),
    ]
    # history names the run whose line failed, with the bank's reason: the run to confirm the account for
    reason = "name_mismatch" if refused else "account_frozen"
    shown = cli(
        "history",
        DIBAO["id_number"],
        "--county",
        "jiaxiang",
        "--runs-dir",
        str(office / "runs"),
        "--config-dir",
        str(office / "config"),
    )
    assert shown.exit_code == 0, shown.output
    assert (
        "  2024-01  low_income_living          regular      80.00 yuan returned by the bank "
        f"({reason})  run 2024-01 {january.manifest['run_id']}\n"
    ) in shown.stdout
    # the run the clerk names must have failed a line of the person; February's answer has none yet
    result = cli("confirm-account", str(february.run_dir), "--id", DIBAO["id_number"], "--by", "王会计")
    only_error(
        result,
        2,
        f"no bank answer recorded for {february.manifest['run_id']} ({february.run_dir}) failed a line of "
        "370829********0110: an account is confirmed for the run whose line failed (subsidy history shows which)",
    )
    result = cli(
        "confirm-account",
        str(january.run_dir),
        "--id",
        DIBAO["id_number"],
        "--by",
        "王会计",
        "--note",
        "已解冻",
    )
    assert result.exit_code == 0, result.output
    account = DIBAO["bank_account"]  # 6228 4195 0030 300x: its last digit depends on the tests run before
    assert result.stdout == (
        f"recorded that the account {account[:6]}********{account[-4:]} of 370829********0110, which the "
        "bank's answer to "
        f"{january.manifest['run_id']} refused ({'name_mismatch' if refused else 'account_frozen'}), was "
        "confirmed by 王会计; the next run reissues the months the bank returned to it\n"
    )
    again = cli("confirm-account", str(january.run_dir), "--id", DIBAO["id_number"], "--by", "王会计")
    only_error(
        again,
        2,
        "the account of 370829********0110 that the bank's answer to "
        f"{january.manifest['run_id']} refused is already confirmed",
    )
    _roster(office, "2024-03", [DIBAO])
    march = _run(office, "2024-03")
    # January reissued to the same account, February as arrears where it was held: 80.00 x 3 or x 2
    expected = [("low_income_living", "reissue", "2024-01", Decimal("80.00"))]
    if refused:
        expected += [("low_income_living", "arrears", "2024-02", Decimal("80.00"))]
    expected += [("low_income_living", "regular", "2024-03", Decimal("80.00"))]
    assert sorted(_items(march.run_dir, "甲"), key=lambda i: i[2]) == expected
    assert march.manifest["totals"]["paid_amount"] == ("240.00" if refused else "160.00")
    assert march.manifest["totals"]["bank_returns"]["confirmed_lines"] == 1
    assert [i["role"] for i in march.manifest["inputs"]][-1] == "account_confirmed"
    # the bank fails March's line too (the confirmation covers January's answer only): April holds it
    _all_lines_failed(march.run_dir, office, tmp_path / "answers-march")
    _roster(office, "2024-04", [DIBAO])
    april = _run(office, "2024-04")
    assert sorted(
        pl.read_parquet(april.run_dir / "line_items.parquet").select("kind", "for_period", "status").rows()
    ) == sorted(
        [("regular", "2024-04", "held" if refused else "paid")]
        # March's line carried three months where it paid January and February: each held as returned
        + [
            ("reissue", m, "held")
            for m in (["2024-01", "2024-02", "2024-03"] if refused else ["2024-01", "2024-03"])
        ]
    )
    for run in (march, april):
        assert verify_run(run.run_dir).identical


def test_a_returned_month_is_reissued_once_a_later_line_to_the_same_account_succeeded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """January's line to 甲 fails (账户冻结); February is sent to the same account as usual. While no
    answer to February is recorded, March holds January (bank_returned). Once the bank's answer says
    February's line succeeded, the account takes money again: April reissues January to it, once."""
    from subsidy_batch.returns import synth as synth_module

    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", (("E1031", "账户冻结", 1),))
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    _all_lines_failed(_run(office, "2024-01").run_dir, office, tmp_path / "answers")
    runs = {}
    for month in ("2024-02", "2024-03", "2024-04"):
        _roster(office, month, [DIBAO])
        runs[month] = _run(office, month)
        if month == "2024-03":  # February's answer arrives now: its one line succeeded
            for written in synth_returns(
                runs["2024-02"].run_dir, fail_rate=0.0, seed=3, out_dir=tmp_path / "ok"
            ):
                import_returns(runs["2024-02"].run_dir, written.path, config_dir=office / "config")
    reissue = pl.read_parquet(runs["2024-03"].run_dir / "line_items.parquet").filter(
        pl.col("kind") == "reissue"
    )
    assert reissue.select("for_period", "status", "hold_reason").rows() == [
        ("2024-01", "held", "bank_returned")
    ]
    # April: January reissued and April, 80.00 + 80.00 = 160.00
    assert sorted(_items(runs["2024-04"].run_dir, "甲"), key=lambda i: i[2]) == [
        ("low_income_living", "reissue", "2024-01", Decimal("80.00")),
        ("low_income_living", "regular", "2024-04", Decimal("80.00")),
    ]
    answers = runs["2024-04"].manifest["totals"]["bank_returns"]
    assert (answers["paid_since_lines"], answers["held_items"]) == (1, 0)
    assert "confirmed_lines" not in answers  # written only where a clerk confirmed one
    _roster(office, "2024-05", [DIBAO])
    may = _run(office, "2024-05")
    assert _items(may.run_dir, "甲") == [("low_income_living", "regular", "2024-05", Decimal("80.00"))]
    for run in (runs["2024-04"], may):
        assert verify_run(run.run_dir).identical


def _甲(run: Any) -> list[tuple]:
    return sorted(
        pl.read_parquet(run.run_dir / "line_items.parquet")
        .filter(pl.col("name") == "甲")
        .select("kind", "for_period", "status", "hold_reason")
        .rows()
    )


@pytest.mark.parametrize("cleared_by", ["confirmation", "paid_since"])
def test_a_line_that_fails_in_a_supplement_made_later_is_not_cleared_by_what_came_before_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cleared_by: str
) -> None:
    """Runs are ordered by what each read, not by label: a supplement of January made after February
    comes after it. January's line to 甲 fails (账户冻结); February's is confirmed by the clerk after it
    failed too, or succeeds. A January supplement made then reissues January to the account, and the bank
    now says the account is closed. That failure came after the confirmation (or February's success), so
    March sends the account nothing: January held (bank_returned), February held and March held
    (account_refused). Before, "2024-01-s1" sorted before "2024-02" and March paid 240.00 or 160.00."""
    from subsidy_batch.returns import synth as synth_module

    office, _ = _frozen_january(tmp_path, monkeypatch)
    _roster(office, "2024-02", [DIBAO])
    february = _run(office, "2024-02")
    release(february.run_dir, by="王会计")
    if cleared_by == "confirmation":
        _all_lines_failed(february.run_dir, office, tmp_path / "a2")
        confirmed = cli(
            "confirm-account", str(february.run_dir), "--id", DIBAO["id_number"], "--by", "王会计"
        )
        assert confirmed.exit_code == 0, confirmed.output
    else:
        for written in synth_returns(february.run_dir, fail_rate=0.0, seed=3, out_dir=tmp_path / "ok"):
            import_returns(february.run_dir, written.path, config_dir=office / "config")
    _roster(office, "2024-01", [DIBAO])
    supplement = _run(office, "2024-01", supplement_reason="甲's account confirmed")
    assert _甲(supplement) == [("reissue", "2024-01", "paid", None)]
    release(supplement.run_dir, by="王会计")
    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", (("E1022", "账户已销户", 1),))
    _all_lines_failed(supplement.run_dir, office, tmp_path / "a3")
    _roster(office, "2024-03", [DIBAO])
    march = _run(office, "2024-03")
    expected = [
        ("regular", "2024-03", "held", "account_refused"),
        ("reissue", "2024-01", "held", "bank_returned"),
    ]
    if cleared_by == "confirmation":  # February's failure is confirmed, but the pair is now refused
        expected.append(("reissue", "2024-02", "held", "account_refused"))
    assert _甲(march) == sorted(expected)
    assert march.manifest["totals"]["paid_amount"] == "0.00"
    for run in (supplement, march):
        assert verify_run(run.run_dir).identical


def test_a_reissue_that_failed_in_a_supplement_made_after_the_next_month_is_held_not_resent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """January fails at account X; February reissues it to Y, and fails; a January supplement made after
    February reissues it to Z, and fails. March's roster still gives Z: January's latest answer is the
    supplement's (made last), sent to Z, so January is held. Before, February's answer (sent to Y) was
    taken as the latest by label order, Z counted as changed, and January went to Z again. February,
    which failed at Y, goes to Z (账户冻结 may pass): 80.00 with March's 80.00."""
    from subsidy_batch.returns import synth as synth_module

    monkeypatch.setattr(synth_module, "SAMPLE_REASONS", (("E1031", "账户冻结", 1),))
    x, y, z = (
        DIBAO | {"bank_account": a} for a in ("6228480011111111", "6228480022222222", "6228480033333333")
    )
    office = _office(tmp_path)
    runs = []
    for month, row, reason in (("2024-01", x, None), ("2024-02", y, None), ("2024-01", z, "甲's account Z")):
        _roster(office, month, [row])
        runs.append(_run(office, month, supplement_reason=reason))
        release(runs[-1].run_dir, by="王会计")
        _all_lines_failed(runs[-1].run_dir, office, tmp_path / f"a{len(runs)}")
    assert _甲(runs[2]) == [("reissue", "2024-01", "paid", None)]
    _roster(office, "2024-03", [z])
    march = _run(office, "2024-03")
    assert _甲(march) == [
        ("regular", "2024-03", "paid", None),
        ("reissue", "2024-01", "held", "bank_returned"),
        ("reissue", "2024-02", "paid", None),
    ]
    assert march.manifest["totals"]["paid_amount"] == "160.00"
    assert verify_run(march.run_dir).identical


def test_a_confirmation_covers_the_runs_its_run_read_not_those_whose_label_sorts_before_it() -> None:
    """s10 was made after s2 (it read s2): a confirmation on s2 does not cover s10's failure, and s2's
    success is no evidence after it; a confirmation on s10 covers s2's. As text, "2024-02-s10" sorts
    before "2024-02-s2"."""
    from subsidy_batch.ledger.record import Prior
    from subsidy_batch.runs.monthly import cleared

    pair = {"id_number": DIBAO["id_number"], "sent_name": "甲", "sent_account": "6228480000000001"}
    prior = [
        Prior("r-s2", "2024-02-s2", Path("s2"), {}, frozenset({"r-1"})),
        Prior("r-s10", "2024-02-s10", Path("s10"), {}, frozenset({"r-1", "r-s2"})),
    ]
    failed = pl.DataFrame(
        [{"run_id": run, **pair, "reference": "1", "reason": "account_closed"} for run in ("r-s2", "r-s10")]
    )
    none = pl.DataFrame(schema={"run_id": pl.String, **{k: pl.String for k in pair}})
    on_s2 = pl.DataFrame([{**pair, "period": "2024-02-s2", "run_id": "r-s2"}])
    assert cleared(failed, prior, on_s2, none).get_column("confirmed").to_list() == [True, False]
    on_s10 = pl.DataFrame([{**pair, "period": "2024-02-s10", "run_id": "r-s10"}])
    assert cleared(failed, prior, on_s10, none).get_column("confirmed").to_list() == [True, True]
    paid_s2 = pl.DataFrame([{"run_id": "r-s2", **pair}])
    assert cleared(failed, prior, on_s2.clear(), paid_s2).get_column("paid_since").to_list() == [False, False]
    paid_s10 = pl.DataFrame([{"run_id": "r-s10", **pair}])
    assert cleared(failed, prior, on_s2.clear(), paid_s10).get_column("paid_since").to_list() == [True, False]


def test_recoveries_are_carried_from_the_latest_run_made_past_a_supplement_made_before_it(
    tmp_path: Path,
) -> None:
    """Recoveries are carried forward from the latest run made, a supplement of an earlier month among
    them. January is supplemented (丁 approved late) before February. March's roster reports that 甲 died
    on 2024-01-20, so February's 80.00 is owed back; April's roster no longer lists her, and April still
    carries the 80.00 (had it carried the January supplement's recoveries, it would be lost)."""
    office = _office(tmp_path)
    late = person("1952-07-07", income="dibao", name="丁") | {"id_number": make_id("1952-07-07", seq=14)}
    _roster(office, "2024-01", [DIBAO])
    release(_run(office, "2024-01").run_dir, by="王会计")
    _roster(office, "2024-01", [DIBAO, late])
    _run(office, "2024-01", supplement_reason="丁 approved late")
    _roster(office, "2024-02", [DIBAO, late])
    february = _run(office, "2024-02")
    _roster(office, "2024-03", [DIBAO | {"death_date": "2024-01-20"}, late])
    _run(office, "2024-03")
    _roster(office, "2024-04", [late])
    april = _run(office, "2024-04")
    owed = pl.read_parquet(april.run_dir / "recoveries.parquet")
    assert owed.select("name", "for_period", "amount", "paid_by_run", "found_in", "status").rows() == [
        ("甲", "2024-02", Decimal("80.00"), february.manifest["run_id"], "2024-03", "outstanding")
    ]
    assert april.manifest["totals"]["recoveries_amount"] == "80.00"
    assert verify_run(april.run_dir).identical


def _all_lines_failed(run_dir: Path, office: Path, answers: Path) -> None:
    """The bank answers every line of the run's bank files as failed, and the answer is imported."""
    for written in synth_returns(run_dir, fail_rate=1.0, seed=3, out_dir=answers):
        import_returns(run_dir, written.path, config_dir=office / "config")


def test_a_bank_answer_after_the_recovery_was_listed_ends_it_as_bank_returned(tmp_path: Path) -> None:
    office = _office(tmp_path)
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [DIBAO, EIGHTY_FIVE])
        february = _run(office, month)
    # March: died 2024-01-20, so February's 80.00 was paid after the death month and is owed back
    _roster(office, "2024-03", [DIBAO | {"death_date": "2024-01-20"}, EIGHTY_FIVE])
    march = _run(office, "2024-03")
    assert march.manifest["totals"]["recoveries_amount"] == "80.00"
    # then the bank's answer to February arrives: the line failed (the account was closed), so the 80.00
    # never reached the family. Nothing is owed back, and the month is not paid again either
    _all_lines_failed(february.run_dir, office, tmp_path / "answers")
    _roster(office, "2024-04", [DIBAO | {"death_date": "2024-01-20"}, EIGHTY_FIVE])
    april = _run(office, "2024-04")
    owed = pl.read_parquet(april.run_dir / "recoveries.parquet")
    assert owed.select("for_period", "amount", "paid_by_run", "status").rows() == [
        ("2024-02", Decimal("80.00"), february.manifest["run_id"], "bank_returned")
    ]
    totals = april.manifest["totals"]
    assert (totals["recoveries_outstanding"], totals["recoveries_amount"]) == (0, "0.00")
    items = pl.read_parquet(april.run_dir / "line_items.parquet").filter(pl.col("name") == "甲")
    assert items.height == 0  # no regular month (dead since January) and no reissue of February
    _roster(office, "2024-05", [DIBAO | {"death_date": "2024-01-20"}, EIGHTY_FIVE])
    may = _run(office, "2024-05")
    assert pl.read_parquet(may.run_dir / "recoveries.parquet").height == 0  # reported once, then not carried
    for run in (april, may):
        assert verify_run(run.run_dir).identical


def test_a_returned_month_after_the_death_is_never_reissued_but_the_death_month_is(tmp_path: Path) -> None:
    office = _office(tmp_path)
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [DIBAO])
        run = _run(office, month)
        _all_lines_failed(run.run_dir, office, tmp_path / "answers" / month)  # both months came back
    # March: died 2024-01-20, and the family gives the heir's account. January (the death month, paid in
    # Jiaxiang: pay_death_month) is still owed and is reissued to it: 80.00. February is after the death:
    # owed to no one, and as the bank returned it nothing is to recover either
    _roster(office, "2024-03", [DIBAO | {"death_date": "2024-01-20", "bank_account": "6228480099999999"}])
    march = _run(office, "2024-03")
    assert _items(march.run_dir, "甲") == [("low_income_living", "reissue", "2024-01", Decimal("80.00"))]
    assert march.manifest["totals"]["bank_returns"]["reissued_amount"] == "80.00"
    assert pl.read_parquet(march.run_dir / "recoveries.parquet").height == 0
    assert verify_run(march.run_dir).identical


def _answered_january(tmp_path: Path) -> tuple[Path, Any, Path]:
    """An office whose January run paid 甲 80.00, and the bank's answer to it (every line paid)."""
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    january = _run(office, "2024-01")
    (answer,) = synth_returns(january.run_dir, fail_rate=0.0, seed=3, out_dir=tmp_path / "answers")
    return office, january, answer.path


def test_a_run_the_bank_answered_is_never_superseded_even_without_a_release(tmp_path: Path) -> None:
    office, january, answer = _answered_january(tmp_path)
    # the clerk sent the files without `subsidy release`; the bank paid the line and answered
    import_returns(january.run_dir, answer, config_dir=office / "config")
    with pytest.raises(UsageError, match=r"jiaxiang 2024-01 was answered by the bank .* never superseded"):
        _run(office, "2024-01", supersede_reason="a corrected name")  # would send the 80.00 again
    assert (
        json.loads((january.run_dir / "manifest.json").read_text(encoding="utf-8"))["run_id"]
        == (january.manifest["run_id"])
    )
    assert not (office / "runs" / "jiaxiang" / "superseded").exists()
    # nor is it "not paid yet": the supplement asks for the release record, which then lets it run
    with pytest.raises(UsageError, match="answered by the bank but has no release record: record that"):
        _run(office, "2024-01", supplement_reason="丙 approved late")
    release(january.run_dir, by="王会计")
    late = person("1952-07-07", income="dibao", name="丙") | {"id_number": make_id("1952-07-07", seq=13)}
    _roster(office, "2024-01", [DIBAO, late])
    extra = _run(office, "2024-01", supplement_reason="丙 approved late")
    assert _items(extra.run_dir, "丙") == [("low_income_living", "regular", "2024-01", Decimal("80.00"))]


def test_an_answer_to_a_superseded_runs_bank_files_is_refused_and_not_recorded(tmp_path: Path) -> None:
    office, first, answer = _answered_january(tmp_path)
    old_id = first.manifest["run_id"]
    second = _run(office, "2024-01", supersede_reason="a corrected name")  # before any answer: allowed
    moved = office / "runs" / "jiaxiang" / "superseded" / "2024-01" / old_id
    with pytest.raises(ReturnsError, match=rf"{old_id} was superseded by {second.manifest['run_id']} on "):
        import_returns(moved, answer, config_dir=office / "config")  # the old files reached the bank
    assert not (office / "runs" / "jiaxiang" / "2024-01.returns" / old_id).exists()


def test_an_answer_imported_while_a_supersede_runs_stops_the_supersede(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office, january, answer = _answered_january(tmp_path)
    execute = lifecycle.execute

    def answered_meanwhile(*args, **kwargs):  # type: ignore[no-untyped-def]
        import_returns(january.run_dir, answer, config_dir=office / "config")  # another clerk
        return execute(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "execute", answered_meanwhile)
    with pytest.raises(UsageError, match="was answered by the bank"):
        _run(office, "2024-01", supersede_reason="a corrected name")
    county = office / "runs" / "jiaxiang"
    assert not (county / "superseded").exists()
    assert [p.name for p in county.iterdir() if p.name.startswith(".") and p.name != ".lock"] == []


def test_a_supersede_while_an_answer_is_imported_leaves_the_answer_unrecorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    office, first, answer = _answered_january(tmp_path)
    old_id = first.manifest["run_id"]
    now_local = returns_record.now_local

    def superseded_meanwhile() -> str:  # the record is being drafted when another clerk supersedes
        _run(office, "2024-01", supersede_reason="a corrected name")
        return now_local()

    monkeypatch.setattr(returns_record, "now_local", superseded_meanwhile)
    with pytest.raises(ReturnsError, match=rf"{old_id} was superseded by "):
        import_returns(first.run_dir, answer, config_dir=office / "config")
    answers = office / "runs" / "jiaxiang" / "2024-01.returns" / old_id
    assert not answers.exists()  # no record, no draft, and no folder left (a refused import leaves none)


def test_a_bank_answer_saying_the_holder_died_is_named_in_the_next_runs_summary(tmp_path: Path) -> None:
    office = _office(tmp_path)
    _roster(office, "2024-01", [DIBAO])
    january = _run(office, "2024-01")
    (answer,) = synth_returns(january.run_dir, fail_rate=1.0, seed=3, out_dir=tmp_path / "answers")
    text = answer.path.read_bytes().decode("gb18030")
    assert "户名不符" in text  # seed 3 fails 甲's line as a name mismatch: the bank says instead she died
    answer.path.write_bytes(text.replace("户名不符", "客户已死亡").encode("gb18030"))
    import_returns(january.run_dir, answer.path, config_dir=office / "config")
    roster = _roster(office, "2024-02", [DIBAO])
    shown = cli(
        "run", "2024-02", "--county", "jiaxiang", "--roster", str(roster), "--runs-dir", str(office / "runs"),
        "--config-dir", str(office / "config"),
    )  # fmt: skip
    assert shown.exit_code == 0, shown.output
    assert "failed lines read (holder_deceased 1)" in shown.stdout
    assert "holder_deceased: the bank says 1 account holder(s) died; their returned months stay held" in (
        shown.stdout
    )
    items = pl.read_parquet(office / "runs" / "jiaxiang" / "2024-02" / "line_items.parquet")
    assert items.filter(pl.col("kind") == "reissue").select("for_period", "status", "hold_reason").rows() == [
        ("2024-01", "held", "bank_returned")
    ]


def test_a_recorded_refund_is_reported_once_then_no_longer_carried(tmp_path: Path) -> None:
    from subsidy_batch.ledger.refunds import record_refund

    office = _office(tmp_path)
    for month in ("2024-01", "2024-02"):
        _roster(office, month, [DIBAO, EIGHTY_FIVE])
        _run(office, month)
    _roster(office, "2024-03", [DIBAO | {"death_date": "2024-01-20"}, EIGHTY_FIVE])  # February was overpaid
    march = _run(office, "2024-03")
    assert pl.read_parquet(march.run_dir / "recoveries.parquet").select("for_period", "status").rows() == [
        ("2024-02", "outstanding")
    ]
    with pytest.raises(UsageError, match="lists no outstanding low_income_living for 2024-01"):
        record_refund(march.run_dir, DIBAO["id_number"], "low_income_living", "2024-01", by="王会计")
    record_refund(
        march.run_dir,
        DIBAO["id_number"].lower(),
        "low_income_living",
        "2024-02",
        by="王会计",
        note="收据 001",
    )
    with pytest.raises(UsageError, match="already recorded"):
        record_refund(march.run_dir, DIBAO["id_number"], "low_income_living", "2024-02", by="王会计")
    _roster(office, "2024-04", [DIBAO | {"death_date": "2024-01-20"}, EIGHTY_FIVE])  # still on the roster
    april = _run(office, "2024-04")
    assert pl.read_parquet(april.run_dir / "recoveries.parquet").select("for_period", "status").rows() == [
        ("2024-02", "refunded")
    ]
    assert april.manifest["totals"]["recoveries_outstanding"] == 0
    assert "refund" in [i["role"] for i in april.manifest["inputs"]]
    _roster(office, "2024-05", [EIGHTY_FIVE])
    may = _run(office, "2024-05")
    assert pl.read_parquet(may.run_dir / "recoveries.parquet").height == 0
    assert verify_run(april.run_dir).identical


def test_history_of_a_number_too_short_to_be_an_id_says_so() -> None:
    from subsidy_batch.ledger.history import history

    with pytest.raises(UsageError, match=r"an ID number \(公民身份号码\) has 18 characters; 6 were given"):
        history(J, "370829")


def _guarded(
    rows: list[tuple[str, str, str, str]], paid_before: list[tuple[str, str, str]] = ()
) -> list[str]:
    """arrears.paid_twice over items of (id_number, benefit, for_period, status), against a ledger whose
    accepted runs paid `paid_before`."""
    from subsidy_batch.ledger.record import LEDGER_SCHEMA, RECOVERY_SCHEMA, Ledger

    items = pl.DataFrame(rows, schema=["id_number", "benefit", "for_period", "status"], orient="row")
    before = pl.DataFrame(
        [
            {"id_number": i, "benefit": b, "for_period": m, "status": "paid", "label": m, "run_id": "r"}
            for i, b, m in paid_before
        ],
        schema=LEDGER_SCHEMA,
    )
    ledger = Ledger(items=before, recoveries=pl.DataFrame(schema=RECOVERY_SCHEMA), first_period=None)
    return arrears_module.paid_twice(items, ledger)


def test_the_double_payment_guard_counts_each_key_paid_more_than_once_within_the_run() -> None:
    a, b = make_id("1940-03-01"), make_id("1944-02-29")
    rows = [
        (a, "high_age_allowance", "2024-05", "paid"),
        (a, "high_age_allowance", "2024-05", "paid"),  # twice
        (a, "high_age_allowance", "2024-05", "paid"),  # three times is still one key
        (a, "high_age_allowance", "2024-04", "paid"),  # another month (arrears): not the same key
        (a, "low_income_living", "2024-05", "paid"),  # another benefit
        (b, "high_age_allowance", "2024-05", "held"),  # a held item beside a paid one is not a payment
        (b, "high_age_allowance", "2024-05", "paid"),
        (b, "low_income_living", "2024-05", "paid"),
        (b, "low_income_living", "2024-05", "paid"),  # twice
    ]
    assert _guarded(rows) == ["2 (person, benefit, month) paid twice within this run"]
    assert _guarded([r for i, r in enumerate(rows) if i not in (1, 2, 8)]) == []  # each key once: none


def test_the_double_payment_guard_finds_a_month_an_accepted_run_already_paid() -> None:
    a = make_id("1950-12-31")
    rows = [(a, "high_age_allowance", "2024-05", "paid"), (a, "high_age_allowance", "2024-04", "paid")]
    problems = _guarded(rows, paid_before=[(a, "high_age_allowance", "2024-04")])
    assert problems == [
        "1 (person, benefit, month) already paid by an accepted run, e.g. high_age_allowance for 2024-04"
    ]
    assert _guarded(rows, paid_before=[(a, "high_age_allowance", "2024-03")]) == []
