"""A runs folder damaged by a hand edit, a crash or a disk: every command that meets it says which file is
wrong and what to do, in one sentence with the exit code of its row in the README's table, and no
traceback. A damaged record is refused, never skipped: a skipped refund or run would pay a month again."""

from __future__ import annotations

import json
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from subsidy_batch.period import Period
from subsidy_batch.returns.record import import_returns
from subsidy_batch.returns.synth import synth_returns
from subsidy_batch.runs.manifest import MANIFEST
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.synth import roster, with_broken_rows
from tests.helpers import CONFIG, approved, cli, make_id, no_traceback, only_error

RUN = Path("runs") / "jiaxiang" / "2024-05"
NEXT_RUN = ("run", "2024-06", "--county", "jiaxiang", "--roster", "rosters/jiaxiang/2024-05.csv", "--quiet")
MANIFEST_DAMAGED = (
    "the manifest was damaged or edited, so this run cannot be read: restore its folder from a backup"
)
REFUND_DAMAGED = (
    "it is an accepted refund, which every run reads so as not to pay the refunded month again: restore it "
    "from a backup (never delete it), then run again"
)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """runs/ holding jiaxiang's accepted 2024-05, made once for the module (the workdir fixture's roster)."""
    office = tmp_path_factory.mktemp("office")
    (office / "rosters" / "jiaxiang").mkdir(parents=True)
    frame = with_broken_rows(roster("jiaxiang", 400, Period(2024, 5), seed=11))
    (office / "rosters" / "jiaxiang" / "2024-05.csv").write_bytes(frame.write_csv().encode("utf-8"))
    run_month(RunRequest(Period(2024, 5), "jiaxiang", None, office / "runs", CONFIG, office / "rosters"))
    return office / "runs"


@pytest.fixture
def runs(workdir: Path, stored: Path) -> Path:
    """The workdir with a copy of the stored runs/ (cwd: the workdir); its files may be edited."""
    shutil.copytree(stored, workdir / "runs", dirs_exist_ok=True)
    for path in (workdir / "runs").rglob("*"):
        path.chmod(path.stat().st_mode | stat.S_IWUSR)
    return workdir / "runs"


def _run_id() -> str:
    return json.loads((RUN / "manifest.json").read_text(encoding="utf-8"))["run_id"]


# --- 1. refund records ------------------------------------------------------------------------------------


def test_a_refund_record_that_is_not_json_stops_the_next_run_naming_the_file(runs: Path) -> None:
    record = runs / "jiaxiang" / "refunds" / "0123456789abcdef.json"
    record.parent.mkdir()
    record.write_text('{"id_number": ', encoding="utf-8")  # cut short by a crash
    only_error(
        cli(*NEXT_RUN),
        9,
        f"{record.relative_to(runs.parent)}: it is not valid JSON (Expecting value: line 1 column 15 "
        f"(char 14)); {REFUND_DAMAGED}",
    )
    assert not (runs / "jiaxiang" / "2024-06").exists()  # nothing accepted


def test_a_refund_record_missing_a_key_stops_the_next_run_naming_the_key(runs: Path) -> None:
    record = runs / "jiaxiang" / "refunds" / "0123456789abcdef.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"id_number": make_id("1940-01-01"), "for_period": "2024-04"}), "utf-8")
    only_error(
        cli(*NEXT_RUN), 9, f'{record.relative_to(runs.parent)}: "benefit" is missing; {REFUND_DAMAGED}'
    )
    assert not (runs / "jiaxiang" / "2024-06").exists()


def test_an_account_confirmation_missing_a_key_stops_the_next_run_naming_the_key(runs: Path) -> None:
    """A confirmation skipped would hold again what the clerk confirmed: refused, naming the file and key."""
    record = runs / "jiaxiang" / "confirmed" / "0123456789abcdef.json"
    record.parent.mkdir()
    record.write_text(json.dumps({"id_number": make_id("1940-01-01"), "sent_name": "甲"}), "utf-8")
    only_error(
        cli(*NEXT_RUN),
        9,
        f'{record.relative_to(runs.parent)}: "sent_account" is missing; it is an accepted account '
        "confirmation, which every run reads to reissue the months the bank returned: restore it from a "
        "backup (never delete it), then run again",
    )
    assert not (runs / "jiaxiang" / "2024-06").exists()


# --- 2. release records -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("release", str(RUN), "--by", "王会计"),
        ("run", "2024-05", "--county", "jiaxiang", "--supplement", "3 people approved late", "--quiet"),
        ("run", "2024-05", "--county", "jiaxiang", "--supersede", "corrected accounts", "--quiet"),
    ],
    ids=["release-again", "supplement", "supersede"],
)
def test_a_release_record_that_is_not_json_is_named_not_taken_as_released_or_not(
    runs: Path, args: tuple[str, ...]
) -> None:
    approved(RUN)  # checked and approved by two people, as release requires
    assert cli("release", str(RUN), "--by", "王会计").exit_code == 0
    run_id = _run_id()
    record = Path("runs") / "jiaxiang" / "released" / f"{run_id}.json"
    record.chmod(0o644)
    record.write_text("{", encoding="utf-8")
    only_error(
        cli(*args),
        9,
        f"{record}: it is not valid JSON (Expecting property name enclosed in double quotes: line 1 column 2 "
        f"(char 1)); it records that the bank files of {run_id} went to the bank: restore it from a backup "
        "(never delete it), then run again",
    )
    assert not (runs / "jiaxiang" / "supplements").exists()
    assert not (runs / "jiaxiang" / "superseded").exists()


# --- 2b. a bank's accepted answer (returns.json and returns.parquet beside the run) ----------------------

ANSWER_DAMAGED = (
    "it is a bank's accepted answer, which every later run reads to hold and reissue the lines that failed: "
    "restore its folder from a backup (never delete it), then run again"
)


def _answered(runs: Path) -> Path:
    """Import a synthetic answer (every line failed) to the first bank file of 2024-05; its record folder."""
    (result, *_) = synth_returns(RUN, 1.0, 3, runs.parent / "from-bank")
    return import_returns(RUN, result.path, config_dir=CONFIG).record_dir


def _edit_lines(folder: Path) -> None:  # every failed line turned into a success: nothing would be held
    path = folder / "returns.parquet"
    pl.read_parquet(path).with_columns(
        status=pl.lit("succeeded"), reason=pl.lit(None, pl.String)
    ).write_parquet(path)


def _rewrite_lines(folder: Path, data: bytes) -> None:
    """returns.parquet replaced by `data` and its checksum in returns.json rewritten to match: an edit
    the checksum alone cannot catch."""
    import hashlib

    (folder / "returns.parquet").write_bytes(data)
    record = json.loads((folder / "returns.json").read_text("utf-8"))
    record["outputs"][0]["sha256"] = hashlib.sha256(data).hexdigest()
    (folder / "returns.json").write_text(json.dumps(record), "utf-8")


def _drop_a_column(folder: Path) -> None:
    import io

    buffer = io.BytesIO()
    pl.read_parquet(folder / "returns.parquet").drop("status").write_parquet(buffer)
    _rewrite_lines(folder, buffer.getvalue())


def _moved_from_another_run(folder: Path) -> None:
    record = json.loads((folder / "returns.json").read_text("utf-8"))
    record["run_id"] = "2024-05-r0000000000"  # an answer to another run, copied into this one's folder
    (folder / "returns.json").write_text(json.dumps(record), "utf-8")


@pytest.mark.parametrize(
    ("damage", "file", "problem"),
    [
        (
            lambda f: (f / "returns.json").write_text('{"kind": ', "utf-8"),
            "returns.json",
            "it is not valid JSON (Expecting value: line 1 column 10 (char 9))",
        ),
        (lambda f: (f / "returns.json").unlink(), "returns.json", "it is missing"),
        (lambda f: (f / "returns.parquet").unlink(), "returns.parquet", "it is missing"),
        (_edit_lines, "returns.parquet", "it does not match its checksum in returns.json"),
        (
            lambda f: (f / "returns.json").write_text(json.dumps({"kind": "bank_returns"}), "utf-8"),
            "returns.json",
            '"run_id" is missing',
        ),
        (
            lambda f: _rewrite_lines(f, b"PAR1 not really"),
            "returns.parquet",
            "it is not a Parquet file this program can read",
        ),
        (_drop_a_column, "returns.parquet", "its columns are not those of a recorded answer"),
        (
            _moved_from_another_run,
            "returns.json",
            "it records an answer to run 2024-05-r0000000000, but it is kept under run {run_id}",
        ),
    ],
    ids=[
        "not-json",
        "record-gone",
        "lines-gone",
        "lines-edited",
        "fields-gone",
        "lines-not-parquet",
        "lines-lost-a-column",
        "another-runs-answer",
    ],
)
def test_a_damaged_bank_answer_stops_the_next_run_naming_the_file_never_read_or_skipped(
    runs: Path, damage: Callable[[Path], object], file: str, problem: str
) -> None:
    folder = _answered(runs)
    damage(folder)
    problem = problem.format(run_id=_run_id())
    # read or skipped, the failed lines would be paid again without a reissue check, or held for nothing
    only_error(cli(*NEXT_RUN), 9, f"{folder / file}: {problem}; {ANSWER_DAMAGED}")
    assert not (runs / "jiaxiang" / "2024-06").exists()


def test_an_answer_folder_turned_into_a_file_stops_the_next_run(runs: Path) -> None:
    """A restore that made a file of an answer's folder: skipped, its failed lines would go unheld."""
    folder = _answered(runs)
    shutil.rmtree(folder)
    folder.write_bytes(b"PK\x03\x04")  # e.g. the zip a backup tool gave back
    only_error(
        cli(*NEXT_RUN),
        9,
        f"{folder}: it is a file where the bank's answers are kept as folders; {ANSWER_DAMAGED}",
    )
    assert not (runs / "jiaxiang" / "2024-06").exists()


def test_a_run_folder_that_lost_its_manifest_is_damaged_for_the_bank_answers_too(runs: Path) -> None:
    (RUN / "manifest.json").unlink()
    only_error(
        cli("synth-returns", str(RUN), "--out", "returns"),
        9,
        f"{RUN} holds files but no manifest.json, so it is not a finished run (a copy or restore cut short?): "
        f"restore it from a backup, or move it out of {RUN.parent} if it is not a run, then run again",
    )


def test_an_answer_folder_deleted_whole_after_a_run_read_it_stops_the_next_run(runs: Path) -> None:
    """Gone without a trace, its failed lines would be neither held nor reissued: the run that read it
    recorded it among its inputs, and the next run finds it missing."""
    folder = _answered(runs)
    assert cli(*NEXT_RUN).exit_code == 0  # 2024-06 reads the answer (and holds its failed lines)
    june = json.loads((runs / "jiaxiang" / "2024-06" / "manifest.json").read_text("utf-8"))
    shutil.rmtree(folder)
    july = ("run", "2024-07", *NEXT_RUN[2:])
    only_error(
        cli(*july),
        9,
        f"{RUN.parent / '2024-05.returns' / _run_id() / folder.name / 'returns.json'}: it is missing, "
        f"but {june['run_id']} read it ({RUN.parent / '2024-06' / 'manifest.json'}); {ANSWER_DAMAGED}",
    )
    assert not (runs / "jiaxiang" / "2024-07").exists()


def test_a_damaged_bank_answer_stops_the_import_of_the_next_one(runs: Path) -> None:
    """The duplicate checks read every recorded answer: a damaged one is named, not taken as absent."""
    folder = _answered(runs)
    (folder / "returns.json").write_text("[]", "utf-8")
    (_, second, *_) = synth_returns(RUN, 0.5, 3, runs.parent / "from-bank")
    only_error(
        cli("returns", str(RUN), str(second.path)),
        9,
        f"{folder / 'returns.json'}: it holds a list, not an object; {ANSWER_DAMAGED}",
    )
    assert len(list(folder.parent.iterdir())) == 1  # the second answer was not recorded


def test_an_intact_bank_answer_is_read_by_the_next_run(runs: Path) -> None:
    """The control for the test above: the same answer, undamaged, is read and holds its failed lines."""
    folder = _answered(runs)
    failed = pl.read_parquet(folder / "returns.parquet").get_column("id_number")  # fail rate 1.0: all lines
    items = pl.read_parquet(RUN / "line_items.parquet")
    # the same roster again: each failed person's 2024-05 paid items come back held, as sent, in 2024-06
    owed = items.filter(pl.col("status") == "paid", pl.col("id_number").is_in(failed.implode())).height
    assert cli(*NEXT_RUN).exit_code == 0
    summary = json.loads((runs / "jiaxiang" / "2024-06" / "manifest.json").read_text("utf-8"))
    assert failed.len() > 0 and summary["totals"]["held_items_by_reason"]["bank_returned"] == owed > 0


# --- 2c. a disk that fills while a record is written -------------------------------------------------------


def test_a_release_cut_off_by_a_full_disk_leaves_no_record_and_can_be_made_again(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A half-written release record would stop every later command on a damaged file (exit 9); written
    whole or not at all, the clerk frees space and releases again."""
    approved(RUN)  # checked and approved by two people, as release requires
    import errno

    from subsidy_batch.runs import records

    real = os.fsync

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(records.os, "fsync", full)
    result = cli("release", str(RUN), "--by", "王会计")
    only_error(
        result,
        10,
        f"cannot write the release record {RUN.parent / 'released' / _run_id()}.json: No space left on device; "
        "check that the runs folder is writable and has free space, then release again",
    )
    assert list((RUN.parent / "released").iterdir()) == []  # neither the record nor its hidden draft
    monkeypatch.setattr(records.os, "fsync", real)
    assert cli("release", str(RUN), "--by", "王会计").exit_code == 0
    record = json.loads((RUN.parent / "released" / f"{_run_id()}.json").read_text("utf-8"))
    assert record["released_by"] == "王会计"


def test_a_file_system_without_hard_links_is_named_and_nothing_is_left(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    approved(RUN)  # checked and approved by two people, as release requires
    import errno

    from subsidy_batch.runs import records

    def no_links(src: object, dst: object) -> None:  # what FAT/exFAT and some network shares answer
        raise OSError(errno.EPERM, os.strerror(errno.EPERM))

    monkeypatch.setattr(records.os, "link", no_links)
    only_error(
        cli("release", str(RUN), "--by", "王会计"),
        10,
        f"cannot write the release record {RUN.parent / 'released' / _run_id()}.json: the file system of "
        f"{RUN.parent / 'released'} has no hard links, which records written once need; keep the runs folder "
        "on a local disk (ext4, NTFS, APFS)",
    )
    assert list((RUN.parent / "released").iterdir()) == []


def test_a_folder_that_cannot_be_fsynced_after_the_link_still_has_its_record(
    runs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once linked the record is written: saying otherwise would send the clerk to release again."""
    approved(RUN)  # checked and approved by two people, as release requires
    import errno

    from subsidy_batch.runs import records

    real = os.fsync
    calls: list[int] = []

    def file_only(fd: int) -> None:  # the draft's fsync works, the folder's fails (Windows opens none)
        calls.append(fd)
        if len(calls) > 1:
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL))
        real(fd)

    monkeypatch.setattr(records.os, "fsync", file_only)
    assert cli("release", str(RUN), "--by", "王会计").exit_code == 0
    assert len(calls) == 2
    names = [p.name for p in (RUN.parent / "released").iterdir()]
    assert names == [f"{_run_id()}.json"]  # the record, and no draft beside it


# --- 3. a lock that holds no process id -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("held", "shown"), [("99999999999999999999", "'99999999999…'"), ("-1", "'-1'"), ("0x1f", "'0x1f'")]
)
def test_a_lock_holding_what_cannot_be_a_process_id_is_removed_as_stale_and_said_so(
    runs: Path, held: str, shown: str
) -> None:
    (runs / "jiaxiang" / ".lock").write_text(f"{held}\n", encoding="utf-8")
    result = cli(*NEXT_RUN[:-1])  # not --quiet: the note is a progress line
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert (
        f"removed a stale lock .lock holding {shown}, which is not a process id (the file was damaged or "
        "edited); the partial files of an interrupted run were discarded"
    ) in result.stderr.splitlines()
    assert sorted(p.name for p in (runs / "jiaxiang").iterdir()) == ["2024-05", "2024-06"]


def test_a_stale_lock_taken_over_is_said_also_with_quiet(runs: Path) -> None:
    """--quiet hides progress, not that an earlier run was cut off: the note comes once, on stderr."""
    (runs / "jiaxiang" / ".lock").write_text("not-a-pid\n", encoding="utf-8")
    result = cli(*NEXT_RUN)
    no_traceback(result)
    assert result.exit_code == 0, result.output
    assert result.stderr == (
        "note: removed a stale lock .lock holding 'not-a-pid', which is not a process id (the file was "
        "damaged or edited); the partial files of an interrupted run were discarded\n"
    )


def test_a_folder_that_is_not_a_run_is_named_as_such_for_the_bank_answers(runs: Path) -> None:
    only_error(
        cli("synth-returns", str(RUN.parent), "--out", "returns"),
        12,
        f"{RUN.parent} is not a stored run (it holds no manifest.json); name a run's folder, "
        "runs/<county>/<period>",
    )


# --- 4. hand-edited manifests -----------------------------------------------------------------------------

ID = make_id("1940-01-01")
# every command that reads a stored run: each says exit 9 and the manifest's error (synth-returns and
# returns once said exit 12, "not a stored run", for a run that is one but is damaged)
READERS: list[tuple[tuple[str, ...], int, str]] = [
    (("verify", str(RUN)), 9, ""),
    (("release", str(RUN), "--by", "王会计"), 9, ""),
    (("explain", ID, "--county", "jiaxiang", "--period", "2024-05"), 9, ""),
    (("history", ID, "--county", "jiaxiang"), 9, ""),
    (("synth-returns", str(RUN), "--out", "returns"), 9, ""),
    (("returns", str(RUN), str(RUN / "manifest.json")), 9, ""),  # the answer file is never reached
    (NEXT_RUN, 9, ""),
]


def _del(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.pop(key)


def _set(key: str, value: object) -> Callable[[dict[str, Any]], None]:
    return lambda data: data.__setitem__(key, value)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        (_del("period"), '"period" is missing'),
        (_set("run_id", 20240501), '"run_id" is a whole number, not text'),
        (_set("totals", "5000.00"), '"totals" is text, not an object'),
        (_set("outputs", {"file": "line_items.parquet"}), '"outputs" is an object, not a list'),
        (lambda data: data["outputs"][0].pop("sha256"), '"outputs" entry 1 lacks "sha256"'),
        (_set("period", "2024-5"), "\"period\" is '2024-5', not a period key of its kind of run"),
    ],
    ids=[
        "period-deleted",
        "run_id-a-number",
        "totals-text",
        "outputs-not-a-list",
        "output-sha-gone",
        "period",
    ],
)
def test_a_hand_edited_manifest_is_named_with_its_field_by_every_command_that_reads_the_run(
    runs: Path, edit: Callable[[dict[str, Any]], None], problem: str
) -> None:
    path = RUN / "manifest.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    edit(data)
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    for args, code, prefix in READERS:
        only_error(cli(*args), code, f"{prefix}{path}: {problem}; {MANIFEST_DAMAGED}")
    assert not (runs / "jiaxiang" / "released").exists() and not (runs / "jiaxiang" / "2024-06").exists()


def test_a_manifest_that_is_not_json_is_named_by_the_next_run(runs: Path) -> None:
    path = RUN / "manifest.json"
    path.write_text(path.read_text(encoding="utf-8")[:40], encoding="utf-8")  # a disk that lost its tail
    result = cli(*NEXT_RUN)
    no_traceback(result)
    assert result.exit_code == 9
    assert result.stderr.startswith(f"error: {path}: it is not valid JSON (")
    assert result.stderr.endswith(f"); {MANIFEST_DAMAGED}\n")


def test_the_stored_runs_of_the_checkout_all_still_read_and_verify_through_the_checked_manifest() -> None:
    runs = Path(__file__).resolve().parents[1] / "runs"
    result = cli("verify", str(runs))
    no_traceback(result)
    assert result.exit_code == 0, result.output
    # the 12 runs committed under runs/, and any the README's quick start added to this checkout
    stored = [
        m for m in runs.rglob(MANIFEST) if not any(p.startswith(".") for p in m.relative_to(runs).parts)
    ]
    assert len(stored) >= 12
    assert result.stdout.count("byte-identical") == len(stored)


# --- 4b. a run's own outputs, which every later run reads as what was paid ----------------------------------

OUTPUT_DAMAGED = (
    "a stored run's output was edited or damaged, so what it paid cannot be known: restore the run's "
    "folder from a backup (subsidy verify lists what differs)"
)


def _one_paid_person_cut_out(path: Path) -> None:
    """line_items.parquet rewritten without the first paid person: read as it is, the ledger would take
    that person's 2024-05 as never paid, and a supplement or the arrears would pay it a second time."""
    items = pl.read_parquet(path)
    first = items.filter(pl.col("status") == "paid").get_column("id_number")[0]
    items.filter(pl.col("id_number") != first).write_parquet(path)


@pytest.mark.parametrize(
    ("damage", "problem"),
    [
        (_one_paid_person_cut_out, "it differs from the checksum its run's manifest holds"),
        (
            lambda p: p.write_bytes(b"PAR1 not really"),
            "it differs from the checksum its run's manifest holds",
        ),
        (lambda p: p.unlink(), "the run's output is missing"),
    ],
    ids=["a-paid-person-cut-out", "not-parquet", "gone"],
)
@pytest.mark.parametrize(
    "args",
    [
        NEXT_RUN,
        ("run", "2024-05", "--county", "jiaxiang", "--supplement", "3 people approved late", "--quiet"),
        ("history", make_id("1940-01-01"), "--county", "jiaxiang"),
        ("explain", make_id("1940-01-01"), str(RUN)),
    ],
    ids=["next-month", "supplement", "history", "explain"],
)
def test_an_edited_line_items_of_a_stored_run_stops_every_command_that_reads_it(
    runs: Path, damage: Callable[[Path], object], problem: str, args: tuple[str, ...]
) -> None:
    """Every command that reads the ledger checks each run's line items against the manifest first: an
    edited file is refused with exit 9 naming it, never read as what the month paid."""
    approved(RUN)  # checked and approved by two people, as release requires
    if args[0] == "run" and "--supplement" in args:
        assert cli("release", str(RUN), "--by", "王会计").exit_code == 0
    path = RUN / "line_items.parquet"
    path.chmod(0o644)
    damage(path)
    result = cli(*args)
    no_traceback(result)
    assert result.exit_code == 9, result.output
    assert result.stderr.startswith("error: "), result.stderr
    assert result.stderr.endswith(f"{path}: {problem}; {OUTPUT_DAMAGED}\n"), result.stderr
    assert not (runs / "jiaxiang" / "2024-06").exists()
    assert not (runs / "jiaxiang" / "supplements").exists()


def test_explain_of_a_run_whose_roster_copy_was_edited_stops_naming_it(runs: Path) -> None:
    """explain re-reads the run's own roster copy: an edited one would explain another month than was paid."""
    path = RUN / "input" / "roster.csv"
    path.chmod(0o644)
    path.write_bytes(
        path.read_bytes().replace(b"\xe5\x86\x9c\xe6\x9d\x91", b"\xe5\x9f\x8e\xe9\x95\x87", 1)
    )  # 农村 -> 城镇
    result = cli("explain", make_id("1940-01-01"), str(RUN))
    no_traceback(result)
    assert result.exit_code == 9, result.output
    assert result.stderr.endswith(
        f"{path}: it differs from the checksum its run's manifest holds; {OUTPUT_DAMAGED}\n"
    ), result.stderr


# --- 5. a run folder that lost its input/ -----------------------------------------------------------------


@pytest.mark.parametrize("lost", ["input", "input/roster.csv", "input/config/counties/jiaxiang.yaml"])
def test_verify_of_a_run_that_lost_an_input_names_the_file_with_exit_9(runs: Path, lost: str) -> None:
    target = RUN / lost
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    only_error(
        cli("verify", str(RUN)),
        9,
        f"{target} is missing, so the run cannot be re-run from its own copy of what it read: restore the "
        "run folder from a backup",
    )


# --- 6. a period folder with no run in it -----------------------------------------------------------------


def test_an_empty_period_folder_is_named_as_empty_not_as_an_accepted_run(runs: Path) -> None:
    (runs / "jiaxiang" / "2024-06").mkdir()
    only_error(
        cli(*NEXT_RUN),
        9,
        "runs/jiaxiang/2024-06 is an empty folder, not an accepted run (no manifest.json): remove it, then run again",
    )


def test_a_period_folder_with_files_but_no_manifest_stops_every_later_run(runs: Path) -> None:
    # a run folder without its manifest cannot be left out of the ledger: its months would be paid again
    (runs / "jiaxiang" / "2024-06").mkdir()
    (runs / "jiaxiang" / "2024-06" / "line_items.parquet").write_bytes(b"")
    message = (
        "runs/jiaxiang/2024-06 holds files but no manifest.json, so it is not a finished run (a copy or "
        "restore cut short?): restore it from a backup, or move it out of runs/jiaxiang if it is not a run, "
        "then run again"
    )
    only_error(cli(*NEXT_RUN), 9, message)
    later = ("run", "2024-07", "--county", "jiaxiang", "--roster", "rosters/jiaxiang/2024-05.csv", "--quiet")
    only_error(cli(*later), 9, message)
    assert sorted(os.listdir(runs / "jiaxiang")) == ["2024-05", "2024-06"]  # nothing accepted, no lock
