"""`subsidy`: a thin command line over the library; only here do errors become exit codes."""

from __future__ import annotations

import contextlib
import os
import sys
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer

from subsidy_batch import __version__
from subsidy_batch.errors import (
    BankFileError,
    ConfigError,
    InternalError,
    NoRuleInForceError,
    ReconciliationError,
    RosterError,
    RunExistsError,
    RunLockedError,
    StorageError,
    SubsidyError,
    UsageError,
    VerifyError,
)
from subsidy_batch.period import Period
from subsidy_batch.roster.idnumber import scrub
from subsidy_batch.rules.config import find_county, load_county
from subsidy_batch.runs.monthly import RunRequest, run_month
from subsidy_batch.runs.verify import find_runs, verify_run

app = typer.Typer(
    context_settings={"help_option_names": ["-h", "--help"]},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

PeriodArg = Annotated[
    str, typer.Argument(help="The month to pay, written YYYY-MM (e.g. 2024-05).", show_default=False)
]
CountyOpt = Annotated[
    str | None,
    typer.Option(
        "--county",
        help="County slug (a file name under config/counties/). Defaults to $SUBSIDY_COUNTY or "
        'county = "..." in ./subsidy.toml.',
        show_default=False,
    ),
]
ConfigDirOpt = Annotated[
    Path, typer.Option("--config-dir", help="Folder holding counties/ and shared/ configs.")
]
RunsDirOpt = Annotated[Path, typer.Option("--runs-dir", help="Where accepted runs are kept.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="Print no progress, only the summary and errors.")]
SupersedeOpt = Annotated[
    str | None,
    typer.Option(
        "--supersede",
        metavar="REASON",
        help="Replace the accepted run; the old one is kept under runs/<county>/superseded/ with this reason.",
        show_default=False,
    ),
]


# The one table of exit codes (README "exit"); an error class not listed takes its nearest listed parent's.
EXIT_CODES: dict[type[SubsidyError], int] = {
    SubsidyError: 1,
    UsageError: 2,
    RosterError: 3,
    ConfigError: 4,
    RunExistsError: 5,
    NoRuleInForceError: 6,
    ReconciliationError: 7,
    RunLockedError: 8,
    VerifyError: 9,
    StorageError: 10,
    BankFileError: 11,
    InternalError: 70,
}
UNEXPECTED = 70  # an exception the library did not raise on purpose (a bug)


def exit_code(error: SubsidyError) -> int:
    return next(EXIT_CODES[c] for c in type(error).__mro__ if c in EXIT_CODES)


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Turn the library's errors into one sentence on stderr and the exit code of the table above."""
    try:
        yield
    except SubsidyError as exc:
        raise _fail(str(exc), exit_code(exc)) from exc


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(f"error: {scrub(message)}", err=True)
    return typer.Exit(code)


def _progress(quiet: bool) -> Callable[[str], None]:
    """Stage lines on stderr (masked, like everything shown), or nothing with --quiet."""
    return (lambda _: None) if quiet else (lambda msg: typer.echo(scrub(msg), err=True))


def _version(value: bool) -> None:
    if value:
        typer.echo(f"subsidy-batch {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the tool version and exit."),
    ] = False,
) -> None:
    """Pay elderly-care subsidies for a county, month by month, from its roster (花名册) and policy config."""


def _reason(text: str | None) -> str | None:
    """A --supersede reason is text for a financial record, never the next option taken by mistake."""
    if text is not None and text.strip().startswith("-"):
        raise UsageError(
            f'--supersede needs a reason as its value, not {text!r}; write e.g. --supersede "corrected bank accounts"'
        )
    return text


def resolve_county(county: str | None, config_dir: Path = Path("config")) -> str:
    return find_county(config_dir, _given_county(county))


def _given_county(county: str | None) -> str:
    """--county, else $SUBSIDY_COUNTY, else county = "..." in ./subsidy.toml (CONTRACT.md)."""
    if county:
        return county
    if os.environ.get("SUBSIDY_COUNTY"):
        return os.environ["SUBSIDY_COUNTY"]
    settings = Path("subsidy.toml")
    if settings.is_file():
        try:
            value = tomllib.loads(settings.read_text(encoding="utf-8")).get("county")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"subsidy.toml is not valid TOML: {exc}") from exc
        if isinstance(value, str) and value:
            return value
    raise ConfigError(
        'no county given; pass --county SLUG, set SUBSIDY_COUNTY, or write county = "SLUG" in subsidy.toml'
    )


def _period(text: str) -> Period:
    try:
        return Period.parse_loose(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _summary(manifest: dict[str, Any]) -> str:
    t = manifest["totals"]
    held = ", ".join(f"{k} {v}" for k, v in t["held_items_by_reason"].items())
    lines = [
        f"{manifest['county_name']} ({manifest['county']}) {manifest['period']}  run {manifest['run_id']}",
        f"  people read     {t['people_read']}",
        f"  rejected rows   {t['people_rejected']} ({t['rejection_problems']} problems, see rejected.parquet)",
        f"  paid people     {t['paid_people']}",
        f"  total paid      {t['paid_amount']} yuan in {t['paid_items']} items",
        f"  held items      {t['held_items']} ({held})",
        "  per benefit:",
    ]
    for benefit, b in t["by_benefit"].items():
        lines.append(
            f"    {benefit:<26} paid {b['paid_items']:>7} items {b['paid_amount']:>14} yuan, held {b['held_items']}"
        )
    lines.append(f"  bank files      {sum(1 for o in manifest['outputs'] if o['file'].startswith('bank/'))}")
    if t["held_items_by_reason"].get("account_stored_as_number"):
        lines.append(
            "  account_stored_as_number: Excel stored these bank accounts as numbers and lost digits; "
            "store accounts as text, copy them again from the bank's records and supersede this run"
        )
    return "\n".join(lines)


@app.command()
def run(
    period: PeriodArg,
    county: CountyOpt = None,
    roster: Annotated[
        Path | None,
        typer.Option(
            help="Roster file (.csv, .xlsx, .parquet). Defaults to rosters/<county>/<period>.*",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    quiet: QuietOpt = False,
    supersede: SupersedeOpt = None,
    accept_foreign_roster: Annotated[
        bool,
        typer.Option(
            "--accept-foreign-roster",
            help="Pay the roster even though most of its 户籍 codes are not the county's own "
            "(min_home_hukou_share in the county config); recorded in the manifest.",
        ),
    ] = False,
) -> None:
    """Compute and write the accepted payment run of one county for one month."""
    with _guard():
        slug = resolve_county(county, config_dir)
        request = RunRequest(
            _period(period),
            slug,
            roster,
            runs_dir,
            config_dir,
            supersede_reason=_reason(supersede),
            accept_foreign_roster=accept_foreign_roster,
        )
        result = run_month(request, _progress(quiet))
    typer.echo(_summary(result.manifest))
    replaced = result.manifest.get("supersedes")
    if replaced:
        typer.echo(
            f"  supersedes      {replaced['run_id']} (kept at {replaced['path']}): {replaced['reason']}"
        )
    typer.echo(f"  written to      {result.run_dir}")


@app.command("run-facilities")
def run_facilities_command(
    year: Annotated[
        int, typer.Argument(help="The year to pay, e.g. 2024.", min=2000, max=2100, show_default=False)
    ],
    county: CountyOpt = None,
    roster: Annotated[
        Path | None,
        typer.Option(
            help="Facility roster (.csv, .xlsx, .parquet). Defaults to rosters/<county>/facilities-<year>.*",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    quiet: QuietOpt = False,
    supersede: SupersedeOpt = None,
) -> None:
    """Compute and write the yearly operating subsidies of a county's institutions, day-care centres and canteens."""
    from subsidy_batch.runs.facility import FacilityRunRequest, run_facilities

    with _guard():
        request = FacilityRunRequest(
            year, resolve_county(county, config_dir), roster, runs_dir, config_dir, supersede_reason=_reason(supersede)
        )
        result = run_facilities(request, _progress(quiet))
    m, t = result.manifest, result.manifest["totals"]
    held = ", ".join(f"{k} {v}" for k, v in t["held_items_by_reason"].items())
    lines = [
        f"{m['county_name']} ({m['county']}) facilities {m['year']}  run {m['run_id']}  ({m['months_in_force']} months in force)",
        f"  facilities read   {t['facilities_read']}",
        f"  rejected rows     {t['facilities_rejected']} (see rejected.parquet)",
        f"  not eligible      {t['facilities_ineligible']} (each failed condition in ineligible.parquet)",
        f"  paid facilities   {t['paid_facilities']}",
        f"  total paid        {t['paid_amount']} yuan",
        f"  held items        {t['held_items']} ({held})",
    ]
    for kind, state in m["rating_factors"].items():
        lines.append(f"  rating factor     {kind}: {state}")
    for benefit, b in t["by_benefit"].items():
        lines.append(
            f"    {benefit:<20} paid {b['paid_items']:>4} {b['paid_amount']:>14} yuan, held {b['held_items']}, "
            f"not eligible {b['ineligible_facilities']}"
        )
    replaced = m.get("supersedes")
    if replaced:
        lines.append(f"  supersedes        {replaced['run_id']}: {replaced['reason']}")
    lines.append(f"  written to        {result.run_dir}")
    typer.echo("\n".join(lines))


@app.command()
def verify(
    paths: Annotated[
        list[Path],
        typer.Argument(
            help="Run folders (runs/<county>/<period>), or a runs folder to verify every stored run in it.",
            exists=True,
            file_okay=False,
            show_default=False,
        ),
    ],
) -> None:
    """Re-run stored runs from what they recorded and report byte-identical or the files that differ."""
    failed = 0
    with _guard():
        runs = [run for path in paths for run in find_runs(path)]
    for run_dir in runs:
        with _guard():
            verdict = verify_run(run_dir)
        if verdict.identical:
            typer.echo(f"{run_dir}: byte-identical ({verdict.files} files)")
            continue
        failed += 1
        typer.echo(
            f"{run_dir}: DIFFERS in {len(verdict.differing)} file(s) (made by version {verdict.recorded_version}, now {__version__})"
        )
        for name in verdict.differing:
            typer.echo(f"    {name}")
    if failed:
        raise _fail(
            f"{failed} of {len(runs)} stored run(s) do not reproduce; see the files listed above",
            EXIT_CODES[VerifyError],
        )


@app.command("check-config")
def check_config(
    county: CountyOpt = None,
    config_dir: ConfigDirOpt = Path("config"),
) -> None:
    """Load a county config strictly and list its rules, held standards and gaps."""
    with _guard():
        config = load_county(config_dir, resolve_county(county, config_dir))
    typer.echo(
        f"{config.name} ({config.county}, {config.division_code}): {len(config.rules)} rules, no overlaps"
    )
    for rule in config.rules:
        span = f"{rule.start or '…'} to {rule.end or '…'}"
        amount = "not set" if rule.amount.fen is None and rule.amount.kind != "percent" else rule.amount.kind
        typer.echo(f"  {rule.name:<70} {span:<20} {amount}")
    for gap in config.gaps:
        typer.echo(f"  gap: {gap}")


@app.command()
def synth(
    county: Annotated[str, typer.Option("--county", help="County whose townships, banks and codes to use.")],
    people: Annotated[int, typer.Option("--people", min=1, help="How many people the roster holds.")],
    period: Annotated[str, typer.Option("--period", help="Month the roster is for, YYYY-MM.")],
    out: Annotated[
        Path, typer.Option("--out", help="File to write: .parquet or .csv (UTF-8).", dir_okay=False)
    ],
    seed: Annotated[
        int, typer.Option("--seed", help="Random seed; the same seed gives the same roster.")
    ] = 1,
    broken: Annotated[
        bool, typer.Option("--broken/--clean", help="Spoil a few rows the way real rosters are spoiled.")
    ] = False,
) -> None:
    """Write a synthetic roster (no real people) of any size, with realistic shares and boundary cases."""
    from subsidy_batch.synth import PLACES, roster, with_broken_rows

    if county not in PLACES:
        raise _fail(f"no synthetic places for {county!r}; choose one of {', '.join(sorted(PLACES))}", 2)
    if out.suffix.lower() not in (".parquet", ".csv"):
        raise _fail(f"{out.name}: write .parquet or .csv", 2)
    with _guard():
        try:
            frame = roster(county, people, _period(period), seed=seed)
        except ValueError as exc:
            raise UsageError(str(exc)) from exc
    if broken:
        frame = with_broken_rows(frame)
    if out.suffix.lower() == ".parquet":
        frame.write_parquet(out, compression="zstd")
    else:
        frame.write_csv(out)
    typer.echo(f"{out}: {frame.height} people")


@app.command()
def version() -> None:
    """Print the tool version."""
    typer.echo(__version__)


def main() -> NoReturn:
    """The console entry point (`subsidy`, `python -m subsidy_batch`).

    When the command is done, every file of the run is written, fsynced and closed, so the process ends
    here without the interpreter's own teardown, which took 0.5-0.7 s after a 10-million-person run
    (freeing what polars and pandera hold). Output streams are flushed first; the exit code is kept.
    """
    try:
        app(prog_name="subsidy")
        code = 0
    except SystemExit as done:
        if isinstance(done.code, str):  # sys.exit("message"): the interpreter would print it
            print(done.code, file=sys.stderr)
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except KeyboardInterrupt:
        print("error: interrupted; nothing was accepted (an unfinished run leaves no accepted run)", file=sys.stderr)
        code = 130
    except Exception as exc:  # the last line of defence: a bug must not show a user a traceback
        if os.environ.get("SUBSIDY_DEBUG"):
            raise
        print(
            f"error: internal error ({type(exc).__name__}: {scrub(str(exc))[:300]}); nothing was accepted. "
            "This is a bug: run again with SUBSIDY_DEBUG=1 for the details and report them",
            file=sys.stderr,
        )
        code = UNEXPECTED
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # e.g. `subsidy ... | head` closed the pipe
            stream.flush()
    os._exit(code)
