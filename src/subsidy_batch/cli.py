"""`subsidy`: a thin command line over the library; only here do errors become exit codes.

Importing this module loads typer and the error types only: each command imports the library (polars,
pandera, structlog) inside its function, so that `subsidy --help`, `--version` and a refused re-run
answer at once. Rich is imported only to draw progress on a terminal.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from subsidy_batch import __version__
from subsidy_batch.errors import (
    BankFileError,
    ConfigError,
    DeathListError,
    InternalError,
    NoRuleInForceError,
    ReconciliationError,
    ReturnsError,
    RosterError,
    RunExistsError,
    RunLockedError,
    StorageError,
    SubsidyError,
    UsageError,
    VerifyError,
)
from subsidy_batch.masking import scrub

if TYPE_CHECKING:
    from subsidy_batch.period import Period


def _light_typer_coercion() -> None:
    """Coerce plain str, bool and Path values without pydantic, which typer would import for them.

    typer 0.29 validates every parameter through a pydantic TypeAdapter; importing pydantic costs 0.2-0.3
    s, more than the rest of a refused re-run. For a str, a bool or a Path whose value is already a str or
    Path (every value from the command line, every default here) the result is the same: the value itself,
    or the Path, still checked by typer's own coerce_cli_path (exists, file_okay, ...). Anything else goes
    to typer's own coercion. If typer's internals are not the ones this was written for, nothing is changed.
    """
    import inspect
    from dataclasses import dataclass

    try:
        from typer import core as typer_core
        from typer._coercion import RuntimeParam
        from typer._param_types import coerce_cli_path
    except ImportError:
        return
    found = getattr(typer_core, "build_runtime_param", None)
    expected = ["self", "value", "param", "ctx"]
    if found is None or list(inspect.signature(RuntimeParam._coerce_value).parameters) != expected:
        return
    typer_build: Callable[[Any], Any] = found

    @dataclass(frozen=True)
    class PlainParam(RuntimeParam):
        descriptor: Any = None

        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            kind = self.annotation
            if kind is str and isinstance(value, str):
                return value
            if kind is bool and isinstance(value, bool):
                return value
            if kind is Path and isinstance(value, str | Path):
                return coerce_cli_path(Path(value), self.parameter_info, path_type=Path, param=param, ctx=ctx)
            return typer_build(self.descriptor)._coerce_value(value, param=param, ctx=ctx)

    def build(descriptor: Any) -> Any:
        info = descriptor.parameter_info
        plain = (
            descriptor.annotation in (str, bool, Path)
            and descriptor.file_annotation is None
            and getattr(info, "parser", None) is None
            and getattr(info, "path_type", None) is None
            and getattr(info, "click_type", None) is None
        )
        if plain:
            try:
                return PlainParam(
                    parameter_info=info, annotation=descriptor.annotation, descriptor=descriptor
                )
            except TypeError:
                pass
        return typer_build(descriptor)

    typer_core.build_runtime_param = build


_light_typer_coercion()

app = typer.Typer(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120},
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: formatting it with rich would cost 0.2 s of imports per --help
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
RostersDirOpt = Annotated[
    Path,
    typer.Option(
        "--rosters-dir", help="Folder of <county>/<period>.* rosters, used when --roster is not given."
    ),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", help="Print no progress, only the summary and errors.")]
JsonOpt = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one JSON object on stdout (the result, or error, exit_code and message) and no other stdout text.",
    ),
]
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
    ReturnsError: 12,
    DeathListError: 13,
    InternalError: 70,
}
UNEXPECTED = 70  # an exception the library did not raise on purpose (a bug)
# what --json calls each code: the table's class, in snake case without "Error"
CODE_NAMES = {
    code: re.sub(r"(?<!^)(?=[A-Z])", "_", cls.__name__.removesuffix("Error")).lower()
    for cls, code in EXIT_CODES.items()
}
CODE_NAMES[EXIT_CODES[SubsidyError]] = "error"
CODE_NAMES[130] = "interrupted"


def exit_code(error: SubsidyError) -> int:
    return next(EXIT_CODES[c] for c in type(error).__mro__ if c in EXIT_CODES)


class _Output:
    """Whether the running command answers in JSON (--json): then stdout carries one JSON object only."""

    json = False


def _emit_json(payload: dict[str, Any]) -> None:
    typer.echo(json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str))


@contextlib.contextmanager
def _guard() -> Iterator[None]:
    """Turn the library's errors into one sentence on stderr and the exit code of the table above."""
    try:
        yield
    except SubsidyError as exc:
        raise _fail(str(exc), exit_code(exc)) from exc


def _fail(message: str, code: int) -> typer.Exit:
    """The one sentence on stderr (and, with --json, the error object on stdout); returns the exit to raise."""
    shown = _human(message)
    typer.echo(f"error: {shown}", err=True)
    if _Output.json:
        _emit_json({"error": CODE_NAMES.get(code, "error"), "exit_code": code, "message": shown})
    return typer.Exit(code)


# --- times for people: Asia/Shanghai with its offset (manifests keep what the library wrote) --------------

_ISO_TIME = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")


def _shanghai() -> Any:
    """UTC+8, as runs.manifest writes times: China has kept it without summer time since 1991, and every
    time shown is a run's (zoneinfo's database, 2.5 ms to import, would say the same of each)."""
    from datetime import timedelta, timezone

    return timezone(timedelta(hours=8), "CST")


def local_time(text: str) -> str:
    """An ISO 8601 time with an offset, as Asia/Shanghai local time with its offset (+08:00)."""
    from datetime import datetime

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text
    return moment.astimezone(_shanghai()).isoformat(timespec="seconds")


def _human(text: str) -> str:
    """What a person reads: IDs and accounts masked, clock times in Shanghai local time."""
    text = scrub(text)
    return _ISO_TIME.sub(lambda m: local_time(m.group(0)), text) if "T" in text else text


# --- progress: a live line per stage on a terminal, plain lines otherwise, nothing with --quiet ----------


class _PlainProgress:
    """Stage lines on stderr (masked, like everything shown)."""

    def __call__(self, message: str) -> None:
        typer.echo(_human(message), err=True)

    def close(self, ok: bool) -> None:
        pass


class _LiveProgress:
    """A spinner with the elapsed seconds for the stage in progress; a finished stage keeps its time.

    A message ending in "…" starts a stage (the library's stage labels); any other is a note printed above.
    """

    def __init__(self) -> None:
        from rich.console import Console
        from rich.progress import Progress, ProgressColumn, SpinnerColumn, Task, TextColumn
        from rich.text import Text

        class Seconds(ProgressColumn):
            def render(self, task: Task) -> Text:
                return Text(f"{task.elapsed or 0:6.1f} s", style="progress.elapsed")

        class Mark(SpinnerColumn):
            def render(self, task: Task) -> Any:
                return Text("✗", style="red") if task.fields.get("failed") else super().render(task)

        self._bar = Progress(
            Mark(finished_text="[green]✓[/]"),
            TextColumn("{task.description}"),
            Seconds(),
            console=Console(stderr=True, highlight=False),
            transient=False,
        )
        self._bar.start()
        self._current: Any = None

    def _finish(self, ok: bool) -> None:
        if self._current is not None:
            self._bar.update(self._current, total=1, completed=1 if ok else 0, failed=not ok)
            self._bar.stop_task(self._current)
            self._current = None

    def __call__(self, message: str) -> None:
        from rich.markup import escape

        text = escape(_human(message))
        if not message.endswith("…"):
            self._bar.console.print(f"  {text}")
            return
        self._finish(True)
        self._current = self._bar.add_task(text.removesuffix("…"), total=None)

    def close(self, ok: bool) -> None:
        self._finish(ok)
        self._bar.stop()


class _NoProgress:
    def __call__(self, message: str) -> None:
        pass

    def close(self, ok: bool) -> None:
        pass


@contextlib.contextmanager
def _progress(quiet: bool) -> Iterator[Callable[[str], None]]:
    """The progress callback the library calls with each stage's label, shown as it suits stderr."""
    shown: _PlainProgress | _LiveProgress | _NoProgress
    if quiet:
        shown = _NoProgress()
    elif sys.stderr.isatty() and os.environ.get("TERM") != "dumb":
        shown = _LiveProgress()
    else:
        shown = _PlainProgress()
    ok = False
    try:
        yield shown
        ok = True
    finally:
        shown.close(ok)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"subsidy-batch {__version__}")
        raise typer.Exit()


def _help(ctx: typer.Context, value: bool) -> None:
    if value:
        typer.echo(ctx.get_help())
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the tool version and exit."),
    ] = False,
    # declared here rather than left to typer, whose own help flag is unset (None) when not given and so
    # makes typer load pydantic to coerce it: 0.2 s on `subsidy run --help`. A bool default costs nothing.
    show_help: Annotated[
        bool,
        typer.Option("-h", "--help", callback=_help, is_eager=True, help="Show this message and exit."),
    ] = False,
) -> None:
    """Pay elderly-care subsidies for a county, month by month, from its roster (花名册) and policy config."""


def _reason(text: str | None, option: str = "--supersede") -> str | None:
    """A --supersede (or --supplement) reason is text for a financial record, never the next option
    taken by mistake."""
    if text is not None and text.strip().startswith("-"):
        raise UsageError(
            f'{option} needs a reason as its value, not {text!r}; write e.g. {option} "corrected bank accounts"'
        )
    return text


def _counties_dir(config_dir: Path) -> Path:
    """config/counties, or a ConfigError saying where it was looked for and how to point at it."""
    counties = config_dir / "counties"
    if not counties.is_dir():
        raise ConfigError(
            f"no county configs: {counties.absolute()} is not a folder; run subsidy from the project folder "
            "(the one holding config/, rosters/ and runs/), or pass --config-dir PATH to the folder that holds "
            "counties/ and shared/"
        )
    return counties


def resolve_county(county: str | None, config_dir: Path = Path("config")) -> str:
    from subsidy_batch.rules.config import find_county

    given = _given_county(county)
    # a slug is found by its file name; a Chinese name or a division code needs every county's file read
    return _plain_slug(given, config_dir) or find_county(config_dir, given)


def _plain_slug(given: str, config_dir: Path) -> str | None:
    """The slug when the county was given as one (any case), found by file name alone; else None."""
    wanted = given.strip().casefold()
    return next(
        (p.stem for p in sorted(_counties_dir(config_dir).glob("*.yaml")) if p.stem.casefold() == wanted),
        None,
    )


def _refuse_early(given: str, config_dir: Path, runs_dir: Path, label: str) -> None:
    """Refuse a re-run of an accepted period before the engine is imported (run_month checks again)."""
    slug = _plain_slug(given, config_dir)
    if slug is not None:
        from subsidy_batch.runs.accepted import refuse_if_accepted

        refuse_if_accepted(runs_dir, slug, label)


def _given_county(county: str | None) -> str:
    """--county, else $SUBSIDY_COUNTY, else county = "..." in ./subsidy.toml (CONTRACT.md)."""
    if county:
        return county
    if os.environ.get("SUBSIDY_COUNTY"):
        return os.environ["SUBSIDY_COUNTY"]
    value = _settings_county(Path("subsidy.toml"))
    if value:
        return value
    raise ConfigError(
        'no county given; pass --county SLUG, set SUBSIDY_COUNTY, or write county = "SLUG" in subsidy.toml'
    )


def _settings_county(settings: Path) -> str | None:
    """county = "..." of ./subsidy.toml; None when there is no such file or it names no county."""
    if not settings.exists():
        return None
    if settings.is_dir():
        raise ConfigError(
            'subsidy.toml is a folder; it must be a file with a line county = "SLUG", or absent'
        )
    import tomllib

    try:
        text = settings.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            'subsidy.toml is not UTF-8 text; save it as UTF-8 with a line county = "SLUG"'
        ) from exc
    except OSError as exc:
        raise ConfigError(
            f'subsidy.toml cannot be read ({exc.strerror or exc}); make it a file with a line county = "SLUG"'
        ) from exc
    try:
        value = tomllib.loads(text).get("county")
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"subsidy.toml is not valid TOML: {exc}") from exc
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise ConfigError(
            f'subsidy.toml: county must be a county\'s name in quotes, like county = "jiaxiang", '
            f"not {_toml_kind(value)}"
        )
    return value


def _toml_kind(value: object) -> str:
    """A TOML value as the message names it (TOML's own words: boolean, table)."""
    if isinstance(value, str):
        return "empty text"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return f"a {type(value).__name__}"


def _period(text: str) -> Period:
    from subsidy_batch.period import Period

    try:
        return Period.parse_loose(text)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc


def _roster_folder_hint(
    exc: RosterError, roster: Path | None, rosters_dir: Path, slug: str, label: str
) -> RosterError:
    """A missing default roster whose whole folder is missing: say where it was looked for, absolutely."""
    folder = rosters_dir / slug
    if roster is not None or folder.is_dir():
        return exc
    return RosterError(
        f"found no roster for {slug} {label}: the folder {folder.absolute()} does not exist; run subsidy from "
        "the project folder, pass --rosters-dir PATH to the folder holding <county>/ rosters, or pass "
        "--roster FILE"
    )


def _held_amounts(t: dict[str, Any], label: str = "  held amount     ") -> list[str]:
    """The amount held back per reason that holds any item (none in runs made before it was counted),
    under `label`, which is padded to the width of the summary it goes in."""
    amounts = t.get("held_amount_by_reason") or {}
    shown = [
        f"{k} {'not set' if v is None else v}" for k, v in amounts.items() if t["held_items_by_reason"].get(k)
    ]
    return [f"{label}{', '.join(shown)} yuan (not paid, not in the total)"] if shown else []


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
        *_held_amounts(t),
        "  per benefit:",
    ]
    for benefit, b in t["by_benefit"].items():
        lines.append(
            f"    {benefit:<26} paid {b['paid_items']:>7} items {b['paid_amount']:>14} yuan, held {b['held_items']}"
        )
    if "changes" in t:
        counted = ", ".join(f"{k} {v}" for k, v in t["changes"].items())
        against = t.get("previous_period") or "none: the first run in the record, every item is new"
        lines.append(f"  changes         {counted} (against {against}; changes.parquet)")
        lines.append(
            f"  arrears (补发)   {t['arrears_items']} items, {t['arrears_amount']} yuan (in the total above)"
        )
        lines.append(
            f"  recoveries      {t['recoveries_outstanding']} months paid after death, {t['recoveries_amount']} "
            "yuan outstanding (recoveries.parquet)"
        )
    deaths = t.get("deaths")
    if deaths:
        lines.append(
            f"  death list      {deaths['rows_read']} rows: {deaths['rows_applied']} applied, "
            f"{deaths['rows_rejected']} rejected (deaths_rejected.parquet); {deaths['people']} people, "
            f"{deaths['conflicts']} in conflict with the roster (deaths.parquet)"
        )
        lines.append(
            f"  stop now        {deaths['stop_this_month']} people listed dead this month, "
            f"{deaths.get('stop_with_payment', deaths['stop_this_month'])} of them with a payment due "
            f"({deaths['stopped_amount']} yuan not paid); {deaths['with_recoveries']} paid after death, "
            f"{deaths['recovery_amount']} yuan to recover"
        )
    answers = t.get("bank_returns")
    if answers:
        reasons = ", ".join(f"{k} {v}" for k, v in answers["by_reason"].items())
        lines.append(
            f"  bank answers    {answers['failed_lines_read']} failed lines read ({reasons}); reissued "
            f"{answers['reissued_items']} items, {answers['reissued_amount']} yuan; still held {answers['held_items']} "
            "(bank_returned: name and account as sent)"
            + (
                f"; {answers['confirmed_lines']} confirmed by a clerk"
                if answers.get("confirmed_lines")
                else ""
            )
            + (
                f"; {answers['paid_since_lines']} to an account a bank has paid since"
                if answers.get("paid_since_lines")
                else ""
            )
        )
        if answers["held_items"]:
            lines.append(
                "  bank_returned: correct the name or account on the roster, or, where they were right (an "
                "account unfrozen), record it with subsidy confirm-account; the next run reissues the months"
            )
        for bank_answer in answers.get("by_bank", []):
            lines.append(
                f"    {bank_answer['bank_name']} ({bank_answer['run_id']}): succeeded {bank_answer['succeeded']} "
                f"{bank_answer['succeeded_amount']} yuan, failed {bank_answer['failed']} {bank_answer['failed_amount']} yuan "
                + " ".join(f"{k} {v}" for k, v in bank_answer["failed_by_reason"].items())
            )
        if answers["by_reason"].get("holder_deceased"):
            lines.append(
                f"  holder_deceased: the bank says {answers['by_reason']['holder_deceased']} account holder(s) died; "
                "their returned months stay held, and later months are held as account_refused. Check each "
                "against the death records (run --deaths, subsidy crosscheck) and record the death on the "
                "roster: later months are then stopped and any paid after the death recovered"
            )
    lines.append(f"  bank files      {sum(1 for o in manifest['outputs'] if o['file'].startswith('bank/'))}")
    refused = t["held_items_by_reason"].get("account_refused")
    if refused:
        lines.append(
            f"  account_refused: {refused} items held, not sent: a bank refused the name and account the "
            "roster still gives (closed, no such account, name or ID not the holder's, holder died); correct "
            "them on the roster, or confirm them with subsidy confirm-account where they were right, and the "
            "held months are paid as arrears (report.xlsx 暂缓发放 lists them)"
        )
    twice = t["held_items_by_reason"].get("duplicate_payee")
    if twice:
        lines.append(
            f"  duplicate_payee: {twice} items held, not sent: one name and bank account stand under two ID "
            "numbers (one person listed twice, one ID mistyped); keep the right row and the held months are "
            "paid as arrears (report.xlsx 暂缓发放 lists them)"
        )
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
    rosters_dir: RostersDirOpt = Path("rosters"),
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
    supplement: Annotated[
        str | None,
        typer.Option(
            "--supplement",
            help="Pay what a released period still owes (people added or corrected since), as a "
            "supplementary run with its own batch; the reason is recorded.",
            show_default=False,
        ),
    ] = None,
    deaths: Annotated[
        Path | None,
        typer.Option(
            "--deaths",
            help="The month's death list (.csv, .xlsx, .xls, .ods, .parquet: 身份证号码, 姓名, 死亡日期, 来源), checked "
            "with schemas/deaths.yaml and applied before paying: the earlier of its and the roster's "
            "date is used; kept in the run and listed in deaths.parquet.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute and write the accepted payment run of one county for one month."""
    _Output.json = as_json
    with _guard():
        given = _given_county(county)
        _counties_dir(config_dir)
        month = _period(period)
        reason = _reason(supersede)
        extra = None if supplement is None else _reason(supplement, "--supplement")
        if reason is None and extra is None:
            _refuse_early(given, config_dir, runs_dir, str(month))
        from subsidy_batch.runs.monthly import RunRequest, run_month

        slug = resolve_county(given, config_dir)
        request = RunRequest(
            month,
            slug,
            roster,
            runs_dir,
            config_dir,
            rosters_dir=rosters_dir,
            supersede_reason=reason,
            accept_foreign_roster=accept_foreign_roster,
            supplement_reason=extra,
            deaths=deaths,
        )
        try:
            with _progress(quiet) as progress:
                result = run_month(request, progress)
        except RosterError as exc:
            raise _roster_folder_hint(exc, roster, rosters_dir, slug, str(month)) from exc
    _say_stale_lock(result.stale_lock, quiet or as_json)
    m = result.manifest
    if as_json:
        _emit_json(
            {
                "run_dir": str(result.run_dir),
                "run_id": m["run_id"],
                "county": m["county"],
                "period": m["period"],
                "totals": m["totals"],
                "supersedes": m.get("supersedes"),
            }
        )
        return
    typer.echo(_summary(m))
    replaced = m.get("supersedes")
    if replaced:
        typer.echo(
            f"  supersedes      {replaced['run_id']} (kept at {replaced['path']}): {replaced['reason']}"
        )
    typer.echo(f"  written to      {result.run_dir}")


def _say_stale_lock(note: str | None, hidden: bool) -> None:
    """A lock left by an ended process was removed (an earlier run was cut off): a clerk hears of it even
    where progress is not shown (--quiet, --json), on stderr; the audit log has it too."""
    if note and hidden:
        typer.echo(f"note: {note}", err=True)


def _facility_year(year: int) -> None:
    """A facility run's year, within the years a monthly period may have (period.FIRST_YEAR-LAST_YEAR)."""
    from subsidy_batch.period import FIRST_YEAR, LAST_YEAR

    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise UsageError(
            f"year {year} is out of range ({FIRST_YEAR}-{LAST_YEAR}); give the year to pay, e.g. 2024"
        )


@app.command("run-facilities")
def run_facilities_command(
    year: Annotated[int, typer.Argument(help="The year to pay, e.g. 2024.", show_default=False)],
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
    rosters_dir: RostersDirOpt = Path("rosters"),
    quiet: QuietOpt = False,
    supersede: SupersedeOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compute and write the yearly operating subsidies of a county's institutions, day-care centres and canteens."""
    _Output.json = as_json
    with _guard():
        _facility_year(year)
        reason = _reason(supersede)
        given = _given_county(county)
        _counties_dir(config_dir)
        if reason is None:
            _refuse_early(given, config_dir, runs_dir, f"facilities-{year}")
        from subsidy_batch.runs.facility import FacilityRunRequest, run_facilities

        slug = resolve_county(given, config_dir)
        request = FacilityRunRequest(
            year, slug, roster, runs_dir, config_dir, rosters_dir=rosters_dir, supersede_reason=reason
        )
        try:
            with _progress(quiet) as progress:
                result = run_facilities(request, progress)
        except RosterError as exc:
            raise _roster_folder_hint(exc, roster, rosters_dir, slug, f"facilities-{year}") from exc
    _say_stale_lock(result.stale_lock, quiet or as_json)
    m, t = result.manifest, result.manifest["totals"]
    if as_json:
        _emit_json(
            {
                "run_dir": str(result.run_dir),
                "run_id": m["run_id"],
                "county": m["county"],
                "year": m["year"],
                "months_in_force": m["months_in_force"],
                "rating_factors": m["rating_factors"],
                "totals": t,
                "supersedes": m.get("supersedes"),
            }
        )
        return
    held = ", ".join(f"{k} {v}" for k, v in t["held_items_by_reason"].items())
    lines = [
        f"{m['county_name']} ({m['county']}) facilities {m['year']}  run {m['run_id']}  ({m['months_in_force']} months in force)",
        f"  facilities read   {t['facilities_read']}",
        f"  rejected rows     {t['facilities_rejected']} (see rejected.parquet)",
        f"  not eligible      {t['facilities_ineligible']} (each failed condition in ineligible.parquet)",
        f"  paid facilities   {t['paid_facilities']}",
        f"  total paid        {t['paid_amount']} yuan",
        f"  held items        {t['held_items']} ({held})",
        *_held_amounts(t, "  held amount       "),
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
    as_json: JsonOpt = False,
) -> None:
    """Re-run stored runs from what they recorded and report byte-identical or the files that differ."""
    _Output.json = as_json
    from subsidy_batch.runs.verify import find_runs, verify_run

    failed = 0
    with _guard():
        runs = [run for path in paths for run in find_runs(path)]
    reports: list[dict[str, Any]] = []
    for run_dir in runs:
        with _guard():
            verdict = verify_run(run_dir)
        reports.append(
            {
                "run_dir": str(run_dir),
                "identical": verdict.identical,
                "files": verdict.files,
                "differing": list(verdict.differing),
                "recorded_version": verdict.recorded_version,
            }
        )
        if as_json:
            failed += not verdict.identical
            continue
        if verdict.identical:
            typer.echo(f"{run_dir}: byte-identical ({verdict.files} files)")
            continue
        failed += 1
        typer.echo(
            f"{run_dir}: DIFFERS in {len(verdict.differing)} file(s) (made by version {verdict.recorded_version}, now {__version__})"
        )
        for name in verdict.differing:
            typer.echo(f"    {name}")
    if not failed:
        if as_json:
            _emit_json({"runs": reports, "version": __version__})
        return
    message = f"{failed} of {len(runs)} stored run(s) do not reproduce; see the files listed above"
    code = EXIT_CODES[VerifyError]
    if not as_json:
        raise _fail(message, code)
    message = f"{failed} of {len(runs)} stored run(s) do not reproduce; see the differing files of each run"
    typer.echo(f"error: {message}", err=True)
    _emit_json(
        {
            "runs": reports,
            "version": __version__,
            "error": CODE_NAMES[code],
            "exit_code": code,
            "message": message,
        }
    )
    raise typer.Exit(code)


@app.command()
def approve(
    run_dir: Annotated[
        Path, typer.Argument(help="The accepted run whose bank files are approved.", show_default=False)
    ],
    step: Annotated[
        str,
        typer.Option(
            "--step", help="check (审核), then approve (审批) by another person.", show_default=False
        ),
    ],
    by: Annotated[str, typer.Option("--by", help="Who takes the step.", show_default=False)],
    note: Annotated[
        str | None, typer.Option("--note", help="A note for the record.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record the 审核 (--step check) or, by a second person, the 审批 (--step approve) of a run's bank
    files; subsidy release refuses a run without both."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.runs.approval import STEPS
        from subsidy_batch.runs.approval import approve as record_approval

        record = record_approval(run_dir, step, by, note)
    if as_json:
        _emit_json(record)
        return
    after = (
        f"next: its 审批 by another person (subsidy approve {run_dir} --step approve --by NAME)"
        if record["step"] == "check"
        else f"it may be released to the bank (subsidy release {run_dir} --by NAME)"
    )
    typer.echo(
        f"recorded the {STEPS[record['step']]} ({record['step']}) of {record['run_id']} ({record['period']}, "
        f"{record['paid_amount']} yuan in {len(record['bank_files'])} bank files) by {record['by']} at "
        f"{record['at']}; {after}"
    )


@app.command()
def release(
    run_dir: Annotated[
        Path, typer.Argument(help="The accepted run whose bank files go to the bank.", show_default=False)
    ],
    by: Annotated[str, typer.Option("--by", help="Who hands the files to the bank.", show_default=False)],
    note: Annotated[
        str | None, typer.Option("--note", help="A note for the record.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a run's bank files were handed to the bank, once it is checked and approved (subsidy
    approve); it can then no longer be superseded."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.runs.release import release as record_release

        record = record_release(run_dir, by, note)
    if as_json:
        _emit_json(record)
        return
    typer.echo(
        f"released {record['run_id']} ({record['period']}, {record['paid_amount']} yuan in "
        f"{len(record['bank_files'])} bank files) by {record['released_by']} at {record['released_at']}, "
        f"checked by {record['checked_by']} and approved by {record['approved_by']}"
    )


def _yuan(fen: int) -> str:
    """Integer fen as yuan text with 2 decimals, exactly (no float)."""
    return f"{fen // 100}.{fen % 100:02d}"


@app.command()
def recovered(
    run_dir: Annotated[
        Path, typer.Argument(help="The run whose recoveries.parquet lists the month.", show_default=False)
    ],
    id_number: Annotated[str, typer.Option("--id", help="The person's ID number.", show_default=False)],
    benefit: Annotated[
        str, typer.Option("--benefit", help="The benefit, e.g. low_income_living.", show_default=False)
    ],
    for_period: Annotated[
        str, typer.Option("--for-period", help="The month refunded, YYYY-MM.", show_default=False)
    ],
    by: Annotated[str, typer.Option("--by", help="Who records the refund.", show_default=False)],
    note: Annotated[
        str | None, typer.Option("--note", help="A note, e.g. the receipt number.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that a family refunded a month paid after a death (a recovery); the next run reports it."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.ledger.refunds import record_refund
        from subsidy_batch.masking import mask_text

        record = record_refund(run_dir, id_number, benefit, str(_period(for_period)), by, note)
    shown = record | {"id_number": mask_text(record["id_number"])}
    if as_json:
        _emit_json(shown)
        return
    typer.echo(
        f"recorded the refund of {record['benefit']} for {record['for_period']} ({record['amount']} yuan) of "
        f"{shown['id_number']} by {record['recorded_by']}; the next run reports it as refunded"
    )


@app.command("confirm-account")
def confirm_account_command(
    run_dir: Annotated[
        Path,
        typer.Argument(help="The run whose bank answer failed the person's line.", show_default=False),
    ],
    id_number: Annotated[str, typer.Option("--id", help="The person's ID number.", show_default=False)],
    by: Annotated[str, typer.Option("--by", help="Who confirmed the account.", show_default=False)],
    note: Annotated[
        str | None,
        typer.Option("--note", help="How it was confirmed, e.g. 银行回复已解冻.", show_default=False),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the name and account a bank's answer refused were confirmed (核实) and may be paid
    again, e.g. a frozen account unfrozen; the next run reissues the months the bank returned to them."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.masking import mask_text
        from subsidy_batch.returns.confirm import confirm_account

        record = confirm_account(run_dir, id_number, by, note)
    shown = record | {
        "id_number": mask_text(record["id_number"]),
        "sent_account": mask_text(record["sent_account"]),
    }
    if as_json:
        _emit_json(shown)
        return
    typer.echo(
        f"recorded that the account {shown['sent_account']} of {shown['id_number']}, which the bank's answer "
        f"to {record['run_id']} refused ({record['reason']}), was confirmed by {record['recorded_by']}; the "
        "next run reissues the months the bank returned to it"
    )


@app.command()
def remitted(
    run_dir: Annotated[
        Path,
        typer.Argument(help="The run whose bank answers returned the money.", show_default=False),
    ],
    voucher: Annotated[
        str,
        typer.Option(
            "--voucher", help="The 缴款书 (or other voucher) number that handed it back.", show_default=False
        ),
    ],
    on: Annotated[
        str, typer.Option("--on", help="The day it was handed back, YYYY-MM-DD.", show_default=False)
    ],
    by: Annotated[str, typer.Option("--by", help="Who records it.", show_default=False)],
    note: Annotated[
        str | None, typer.Option("--note", help="A note for the record.", show_default=False)
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record that the money a run's bank answers returned (failed lines) was handed back to the treasury
    (上缴); the months stay owed and are reissued as before. subsidy returned-funds lists it."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.returns.remit import record_remittance

        records = record_remittance(run_dir, voucher, on, by, note)
    if as_json:
        _emit_json({"records": records})
        return
    for r in records:
        typer.echo(
            f"recorded that the {r['amount']} yuan of {r['failed_lines']} failed line(s) in the answer "
            f"{r['answer']} ({r['bank_name']}) to {r['run_id']} was handed back on {r['remitted_on']} by "
            f"voucher {r['voucher']} ({r['recorded_by']})"
        )


@app.command("withdraw-remittance")
def withdraw_remittance_command(
    run_dir: Annotated[
        Path,
        typer.Argument(help="The run whose returned money the record covers.", show_default=False),
    ],
    voucher: Annotated[
        str, typer.Option("--voucher", help="The voucher number the record names.", show_default=False)
    ],
    reason: Annotated[
        str,
        typer.Option("--reason", help="Why it is withdrawn, e.g. 凭证号录错.", show_default=False),
    ],
    by: Annotated[str, typer.Option("--by", help="Who withdraws it.", show_default=False)],
    as_json: JsonOpt = False,
) -> None:
    """Withdraw a record made in error that a voucher handed back a run's returned money (a number
    mistyped, a 缴款书 sent back): the record stays, and the money is still to hand back until recorded again."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.returns.remit import withdraw_remittance

        records = withdraw_remittance(run_dir, voucher, by, reason)
    if as_json:
        _emit_json({"records": records})
        return
    for r in records:
        typer.echo(
            f"withdrew the record that voucher {r['voucher']} of {r['remitted_on']} handed back the {r['amount']} "
            f"yuan of the answer {r['answer']} to {r['run_id']} ({r['recorded_by']}: {r['reason']}); it is "
            "still to hand back (subsidy remitted records it again)"
        )


@app.command()
def status(
    county: CountyOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    as_json: JsonOpt = False,
) -> None:
    """Where each accepted run stands (审核, 审批, release, the banks' answers, money to hand back) and the
    next step for it; writes nothing."""
    _Output.json = as_json
    with _guard():
        slug = resolve_county(county, config_dir)
        from subsidy_batch.rules.config import county_path
        from subsidy_batch.runs.status import county_status

        county_path(config_dir, slug)  # a county not configured is refused, never shown as having no runs
        rows = county_status(runs_dir / slug)
    if as_json:
        _emit_json({"county": slug, "runs": rows})
        return
    waiting = sum(1 for r in rows if not r["next"].startswith("done"))
    typer.echo(f"{slug}: {len(rows)} accepted run(s), {waiting} with a step left")

    def who(by: str | None, at: str | None) -> str:
        return "-" if by is None else f"{by} {str(at)[:10]}"

    for r in rows:
        typer.echo(
            f"  {r['period']:<16} {r['run_id']}  {r['paid_amount']} yuan in {r['bank_files']} bank files"
        )
        typer.echo(
            f"      审核 {who(r['checked_by'], r['checked_at'])}  审批 {who(r['approved_by'], r['approved_at'])}  "
            f"released {who(r['released_by'], r['released_at'])}  answered {r['answered_files']} of "
            f"{r['bank_files']}  to hand back {r['to_hand_back']}"
        )
        typer.echo(f"      next: {r['next']}")


@app.command("returned-funds")
def returned_funds_command(
    county: CountyOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Also write the statement to print, sign and file with the 缴款书 "
            "(returned-funds-<county>-<day>-<digest>.xlsx) to this folder, never under a runs folder.",
            show_default=False,
        ),
    ] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    as_json: JsonOpt = False,
) -> None:
    """The money the banks' answers returned, per answer: handed back to the treasury (which voucher) or
    still to be handed back. A month returned is reissued with new money, so every returned yuan goes back."""
    _Output.json = as_json
    with _guard():
        slug = resolve_county(county, config_dir)
        from subsidy_batch.masking import scrub as mask_scrub
        from subsidy_batch.returns.remit import returned_funds
        from subsidy_batch.rules.config import county_directory, county_path

        county_path(config_dir, slug)  # a county not configured is refused, never listed as owing nothing
        if out is not None:
            from subsidy_batch.outputs.folders import refuse_runs_folder

            refuse_runs_folder(out, "a returned-funds statement", runs_dir)  # before the records are read
        listed = returned_funds(runs_dir / slug)
        rows, totals = listed.rows, listed.totals
        written: list[str] = []
        if out is not None:
            from datetime import datetime

            from subsidy_batch.outputs.returned import write_statement
            from subsidy_batch.runs.manifest import SHANGHAI

            name = next((n for s, n, _ in county_directory(config_dir) if s == slug), "") or slug
            made_on = datetime.now(SHANGHAI).date()
            written.append(str(write_statement(slug, name, listed, out, made_on, runs_dir)))
    if as_json:
        _emit_json({"county": slug, "answers": rows, "totals": totals, "written": written})
        return
    typer.echo(
        f"{slug}: {totals['answers']} bank answer(s) returned {totals['returned']} yuan; handed back "
        f"{totals['remitted']}, still to hand back {totals['not_remitted']}"
    )
    for r in rows:
        where = (
            f"handed back {r['remitted_on']} voucher {r['voucher']} ({r['recorded_by']})"
            if r["voucher"] is not None
            else "still to hand back (subsidy remitted RUN_DIR --voucher NO --on DATE --by NAME)"
        )
        typer.echo(
            f"  {r['period']}  {r['run_id']}  {r['bank_name']}  {r['failed_lines']} line(s) "
            f"{r['returned']:>12} yuan  {where}"
        )
        for w in r["withdrawn"]:
            typer.echo(
                f"      withdrawn {w['withdrawn_at'][:10]} by {w['withdrawn_by']}: voucher {w['voucher']} of "
                f"{w['remitted_on']} ({w['recorded_by']}), {mask_scrub(w['reason'])}"
            )
    for path in written:
        typer.echo(f"  written to {path}")


@app.command()
def history(
    id_number: Annotated[str, typer.Argument(help="The person's ID number (身份证号).", show_default=False)],
    county: CountyOpt = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    as_json: JsonOpt = False,
) -> None:
    """One person's months across the county's accepted runs: amounts, kinds, runs and recoveries."""
    _Output.json = as_json
    with _guard():
        given = _given_county(county)
        slug = resolve_county(given, config_dir)
        from subsidy_batch.ledger.history import history as person_history
        from subsidy_batch.masking import mask_text, typed_id

        items, owed = person_history(runs_dir / slug, id_number)
    shown = mask_text(typed_id(id_number))
    rows = [
        {k: (str(v) if v is not None else None) for k, v in r.items()}
        for r in items.select(
            "for_period",
            "benefit",
            "kind",
            "status",
            "hold_reason",
            "bank_reason",
            "amount_fen",
            "rule",
            "run_id",
            "label",
        ).iter_rows(named=True)
    ]
    if as_json:
        _emit_json({"id_number": shown, "items": rows, "recoveries": owed.height})
        return
    typer.echo(f"{shown} in {slug}: {len(rows)} line items")
    for r in rows:
        amount = "not set" if r["amount_fen"] is None else f"{_yuan(int(str(r['amount_fen'])))} yuan"
        held = f" held ({r['hold_reason']})" if r["status"] == "held" else ""
        if r["status"] == "returned":  # the bank's answer failed the line: confirm-account names this run
            held = f" returned by the bank ({r['bank_reason']})"
        typer.echo(
            f"  {r['for_period']}  {r['benefit']:<26} {r['kind']:<8} {amount:>14}{held}  run {r['label']} {r['run_id']}"
        )
    for o in owed.iter_rows(named=True):
        typer.echo(
            f"  recovery: {o['benefit']} for {o['for_period']}, {_yuan(int(o['amount_fen']))} yuan paid by "
            f"{o['paid_by_run']} after death on {o['death_date']} ({o['status']})"
        )


def _left(text: str, width: int) -> str:
    """Text padded to `width` terminal columns, a Chinese character taking two (乡镇 names line up)."""
    import unicodedata

    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(width - shown, 0)


@app.command()
def simulate(
    period: PeriodArg,
    county: CountyOpt = None,
    change: Annotated[
        list[str],
        typer.Option(
            "--set",
            help="A change the scenario makes: BENEFIT/RULE=AMOUNT (monthly yuan), e.g. "
            "high_age_allowance/county_80_89=50. Repeat for several.",
            show_default=False,
        ),
    ] = [],  # noqa: B006 (typer reads the default)
    roster: Annotated[
        Path | None,
        typer.Option(help="Roster file. Defaults to rosters/<county>/<period>.*", show_default=False),
    ] = None,
    scenario: Annotated[
        Path | None,
        typer.Option(
            "--scenario",
            help="A scenario file: named scenarios (set, change, add, remove rows) compared side by side, "
            "and optional mortality rates with their source (instead of --set).",
            show_default=False,
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder for the scenario's .json, .xlsx (and .html for --scenario), never under a runs "
            "folder (any folder named runs, or --runs-dir).",
            show_default=False,
        ),
    ] = None,
    config_dir: ConfigDirOpt = Path("config"),
    rosters_dir: RostersDirOpt = Path("rosters"),
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
) -> None:
    """What would it cost? The month and the next 12 under changed rules, against the rules as they stand."""
    _Output.json = as_json
    with _guard():
        given = _given_county(county)
        month = _period(period)
        slug = resolve_county(given, config_dir)
        from subsidy_batch.outputs.folders import refuse_runs_folder
        from subsidy_batch.roster.read import default_roster
        from subsidy_batch.simulate import (
            compare,
            load_scenarios,
            parse_set,
            write_comparison,
            write_scenario,
        )
        from subsidy_batch.simulate import simulate as run_scenario

        if out is not None:
            refuse_runs_folder(out, "a scenario", runs_dir)  # before the roster is read; made when written
        given_roster = roster or default_roster(rosters_dir, slug, str(month))
        if scenario is not None:
            if change:
                raise UsageError("give the changes either with --set or in --scenario FILE, not both")
            compared = compare(config_dir, slug, month, given_roster, load_scenarios(scenario))
            shown = write_comparison(compared, out, runs_dir) if out is not None else []
        else:
            changes = [parse_set(c) for c in change]
            result = run_scenario(config_dir, slug, month, given_roster, changes)
            written = write_scenario(result, out, runs_dir) if out is not None else []
    if scenario is not None:
        if as_json:
            _emit_json(compared | {"written": [str(p) for p in shown]})
            return
        twelve = "next 12 months (expected)" if compared["expected"] else "next 12 months"
        typer.echo(f"SCENARIOS (not policy) for {compared['county_name']} ({slug}) {compared['period']}")
        typer.echo(f"  {compared['assumptions']}")
        typer.echo(f"  {'scenario':<24} {'month':>14} {twelve:>26} {'difference':>16}")
        for s in compared["summary"]:
            typer.echo(
                f"  {s['scenario']:<24} {s['month_scenario']:>14} {s['next_12_months_scenario']:>26} "
                f"{s['next_12_months_difference']:>16}"
            )
        typer.echo(
            f"  as the rules stand: {compared['summary'][0]['next_12_months_baseline']} yuan in the {twelve}"
        )
        names = [s["scenario"] for s in compared["summary"]]
        typer.echo(f"  by 乡镇, yuan this month / {twelve}:")
        typer.echo(
            f"  {_left('乡镇', 14)}{'as the rules stand':>26}" + "".join(f"{n[:25]:>26}" for n in names)
        )
        for t in compared["by_township"]:
            cells = [(t["month_baseline"], t["next_12_months_baseline"])] + [
                (t["scenarios"][n]["month"], t["scenarios"][n]["next_12_months"]) for n in names
            ]
            typer.echo(f"  {_left(t['township'], 14)}" + "".join(f"{m:>12} / {y:>11}" for m, y in cells))
        for path in shown:
            typer.echo(f"  written to {path}")
        return
    if as_json:
        _emit_json(result | {"written": [str(p) for p in written]})
        return
    typer.echo(
        f"SCENARIO (not policy) for {result['county_name']} ({slug}) {result['period']}: {', '.join(result['scenario'])}"
    )
    typer.echo(f"  {result['assumptions']}")
    typer.echo(
        f"  {'benefit':<26} {'people now':>10} {'yuan now':>14} {'people':>8} {'yuan':>14} {'difference':>14}"
    )
    for r in result["by_benefit"]:
        typer.echo(
            f"  {r['benefit']:<26} {r['baseline_people']:>10} {r['baseline']:>14} {r['scenario_people']:>8} "
            f"{r['scenario']:>14} {r['difference']:>14}"
        )
    nxt = result["next_12_months"]
    typer.echo(
        f"  next 12 months: {nxt['baseline']} yuan as the rules stand, {nxt['scenario']} yuan under the scenario"
    )
    typer.echo(f"  {_left('乡镇', 14)} {'now':>12} {'scenario':>12} {'next 12 now':>14} {'next 12':>14}")
    later = {r["township"]: r for r in result["next_12_months_by_township"]}
    for t in sorted({r["township"] for r in result["by_township"]} | set(later)):
        now = next((r for r in result["by_township"] if r["township"] == t), None)
        year = later.get(t)
        typer.echo(
            f"  {_left(t, 14)} {now['baseline'] if now else '0.00':>12} {now['scenario'] if now else '0.00':>12} "
            f"{year['baseline'] if year else '0.00':>14} {year['scenario'] if year else '0.00':>14}"
        )
    for path in written:
        typer.echo(f"  written to {path}")


@app.command()
def crosscheck(
    period: PeriodArg,
    population: Annotated[
        Path,
        typer.Option(
            "--population",
            help="The 户籍 extract (CSV, XLSX, XLS, ODS or Parquet): 公民身份号码, 姓名, 户籍区划代码, 出生日期, optional 乡镇 and 人员状态.",
            show_default=False,
        ),
    ],
    county: CountyOpt = None,
    roster: Annotated[
        Path | None,
        typer.Option(help="Roster file. Defaults to rosters/<county>/<period>.*", show_default=False),
    ] = None,
    within: Annotated[
        int,
        typer.Option(
            "--within", min=0, max=24, help="Also list people who meet the conditions within N months."
        ),
    ] = 3,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="Folder for crosscheck-<county>-<period>.* and one .xlsx per 乡镇 (never under runs/).",
        ),
    ] = Path("crosscheck"),
    config_dir: ConfigDirOpt = Path("config"),
    rosters_dir: RostersDirOpt = Path("rosters"),
    runs_dir: RunsDirOpt = Path("runs"),
    as_json: JsonOpt = False,
) -> None:
    """Who is missing? A 户籍 population list against the roster (免申即享); pays nobody, writes only to --out."""
    _Output.json = as_json
    with _guard():
        given = _given_county(county)
        month = _period(period)
        slug = resolve_county(given, config_dir)
        from subsidy_batch.crosscheck import FINDINGS
        from subsidy_batch.crosscheck import crosscheck as run_crosscheck
        from subsidy_batch.outputs.crosscheck import write_crosscheck
        from subsidy_batch.outputs.folders import refuse_runs_folder
        from subsidy_batch.roster.read import default_roster

        refuse_runs_folder(out, "a crosscheck", runs_dir)  # before the lists are read; made when written
        try:
            given_roster = roster or default_roster(rosters_dir, slug, str(month))
        except RosterError as exc:
            raise _roster_folder_hint(exc, roster, rosters_dir, slug, str(month)) from exc
        result = run_crosscheck(config_dir, slug, month, population, given_roster, within)
        written = write_crosscheck(result, out, runs_dir)
    summary = result.summary
    if as_json:
        _emit_json(summary | {"written": [str(p) for p in written]})
        return
    listed, checked = summary["population_list"], summary["roster"]
    typer.echo(f"CROSSCHECK for {summary['county_name']} ({slug}) {summary['period']}: {summary['paid']}")
    typer.echo(
        f"  population list  {listed['file']}: {listed['rows_read']} rows, {listed['rows_used']} used, "
        f"{listed['rows_rejected']} rejected; {listed['birth_date_mismatches']} dates of birth differ from the "
        f"ID's; {listed['ids_converted_from_15_digits']} 15-digit IDs converted"
    )
    typer.echo(
        f"  roster           {checked['file']}: {checked['rows_read']} rows, {checked['rows_accepted']} accepted, "
        f"{checked['rows_rejected']} rejected"
    )
    elsewhere = checked["not_compared_by_hukou_code"]
    if elsewhere:
        codes = ", ".join(f"{code} {count}" for code, count in elsewhere.items())
        typer.echo(
            f"  not compared     {sum(elsewhere.values())} roster people of 户籍 codes the list holds nobody of ({codes})"
        )
    typer.echo(f"  months checked   {', '.join(summary['months_checked'])}")
    for b in summary["benefits"]:
        why = f": {b['reason']}" if b["reason"] else ""
        typer.echo(f"  {b['benefit']:<26} {b['status']}{why}")
    for finding in FINDINGS:
        typer.echo(f"  {finding:<26} {summary['findings'][finding]:>8}")
    for path in written:
        typer.echo(f"  written to {path}")


@app.command("check-config")
def check_config(
    county: CountyOpt = None,
    config_dir: ConfigDirOpt = Path("config"),
    as_json: JsonOpt = False,
) -> None:
    """Load a county config strictly and list its rules, held standards and gaps."""
    _Output.json = as_json
    with _guard():
        slug = resolve_county(county, config_dir)
        from subsidy_batch.rules.config import load_county

        config = load_county(config_dir, slug)
        _check_shared_config(config_dir)
    listed = []
    for rule in config.rules:
        amount = "not set" if rule.amount.fen is None and rule.amount.kind != "percent" else rule.amount.kind
        listed.append((rule, f"{rule.start or '…'} to {rule.end or '…'}", amount))
    if as_json:
        _emit_json(
            {
                "county": config.county,
                "name": config.name,
                "division_code": config.division_code,
                "rules": [
                    {
                        "rule": rule.name,
                        "benefit": rule.benefit,
                        "start": None if rule.start is None else str(rule.start),
                        "end": None if rule.end is None else str(rule.end),
                        "amount": amount,
                        "citation": rule.citation,
                    }
                    for rule, _, amount in listed
                ],
                "gaps": list(config.gaps),
            }
        )
        return
    typer.echo(
        f"{config.name} ({config.county}, {config.division_code}): {len(config.rules)} rules, no overlaps"
    )
    for rule, span, amount in listed:
        typer.echo(f"  {rule.name:<70} {span:<20} {amount}")
    for gap in config.gaps:
        typer.echo(f"  gap: {gap}")


def _check_shared_config(config_dir: Path) -> None:
    """The shared files besides the county's: the 公示 masking (every monthly run), the death list's
    schema (a run with --deaths) and the bank reason texts (every `returns`), so that check-config finds a
    mistake in them before a run or an import does."""
    from subsidy_batch.outputs.gongshi import load_gongshi
    from subsidy_batch.roster.deaths import load_death_schema
    from subsidy_batch.roster.schema import SCHEMA_DIR
    from subsidy_batch.rules.layouts import load_reasons

    load_gongshi(config_dir)
    load_reasons(config_dir)
    load_death_schema(SCHEMA_DIR)


@app.command()
def explain(
    id_number: Annotated[
        str,
        typer.Argument(
            metavar="ID_NUMBER", help="The person's 公民身份号码 (18 characters).", show_default=False
        ),
    ],
    run_dir: Annotated[
        Path | None,
        typer.Argument(
            help="A stored run folder (runs/<county>/<period>); instead of --county and --period.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    county: CountyOpt = None,
    period: Annotated[
        str | None, typer.Option("--period", help="The month of the stored run, YYYY-MM.", show_default=False)
    ] = None,
    runs_dir: RunsDirOpt = Path("runs"),
    config_dir: ConfigDirOpt = Path("config"),
    roster: Annotated[
        Path | None,
        typer.Option(
            "--roster",
            help="What if: explain the person on this roster (not run, nothing written), with --county and --period.",
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Explain one person's month from the stored run: roster values, age, every rule row tested, the result."""
    _Output.json = as_json
    with _guard():
        if roster is not None:
            if period is None or run_dir is not None:
                raise UsageError(
                    "--roster explains a roster that was not run: give --county and --period, no run folder"
                )
            if not roster.is_file():
                raise RosterError(f"roster {roster} does not exist; give the file's path")
            from subsidy_batch.explain import explain_roster, render

            found = explain_roster(
                config_dir, resolve_county(county, config_dir), _period(period), roster, id_number
            )
            if as_json:
                _emit_json(found)
            else:
                typer.echo(
                    _human(
                        "（假设：此花名册未发放，仅作说明 — what if, nothing was paid or written）\n"
                        + render(found)
                    )
                )
            return
        if run_dir is None:
            if period is None:
                raise UsageError("give the month with --period YYYY-MM (and --county), or a run folder")
            month = _period(period)
            slug = resolve_county(county, config_dir)
            from subsidy_batch.explain import run_folder

            run_dir = run_folder(runs_dir, slug, month)
        elif not (run_dir / "manifest.json").is_file():
            raise UsageError(
                f"{run_dir} is not a run folder (it has no manifest.json); give runs/<county>/<period>"
            )
        from subsidy_batch.explain import explain as explain_person
        from subsidy_batch.explain import render

        found = explain_person(run_dir, id_number)
    if as_json:
        _emit_json(found)
        return
    typer.echo(_human(render(found)))


@app.command()
def synth(
    county: Annotated[str, typer.Option("--county", help="County whose townships, banks and codes to use.")],
    people: Annotated[int, typer.Option("--people", min=1, help="How many people the roster holds.")],
    period: Annotated[str, typer.Option("--period", help="Month the roster is for, YYYY-MM.")],
    out: Annotated[
        Path, typer.Option("--out", help="File to write: .parquet or .csv (UTF-8).", dir_okay=False)
    ],
    seed: Annotated[
        int,
        typer.Option("--seed", help="Random seed, 0 to 4294967295; the same seed gives the same roster."),
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
    with _guard():
        try:
            out.parent.mkdir(parents=True, exist_ok=True)  # as every --out does
            if out.suffix.lower() == ".parquet":
                frame.write_parquet(out, compression="zstd")
            else:
                frame.write_csv(out)
        except OSError as exc:
            raise StorageError(f"cannot write the roster to {out}: {exc.strerror or exc}") from exc
    typer.echo(f"{out}: {frame.height} people")


def _returns_summary(record: dict[str, Any], record_dir: Path) -> str:
    s = record["summary"]
    lines = [
        f"{record['bank_name']} ({record['bank_file']}, layout {record['layout']}) answers run {record['run_id']}",
        f"  succeeded  {s['succeeded']['count']:>7} lines {s['succeeded']['amount']:>14} yuan",
        f"  failed     {s['failed']['count']:>7} lines {s['failed']['amount']:>14} yuan",
    ]
    for reason, part in s["failed"]["by_reason"].items():
        if part["count"]:
            lines.append(f"    {reason:<17} {part['count']:>7} lines {part['amount']:>14} yuan")
    lines.append(f"  recorded in {record_dir}")
    return "\n".join(lines)


@app.command()
def returns(
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="The run the result answers (runs/<county>/<period>).",
            exists=True,
            file_okay=False,
            show_default=False,
        ),
    ],
    file: Annotated[
        Path,
        typer.Argument(
            help="The bank's result file (回盘), in the layout of the bank file it answers.",
            exists=True,
            dir_okay=False,
            show_default=False,
        ),
    ],
    bank: Annotated[
        str | None,
        typer.Option(
            "--bank",
            metavar="NAME",
            help="The bank (or bank file) it answers, when the file does not say.",
            show_default=False,
        ),
    ] = None,
    config_dir: ConfigDirOpt = Path("config"),
    as_json: JsonOpt = False,
) -> None:
    """Check a bank's result file against the batch it answers and record it beside the run."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.returns.record import import_returns

        imported = import_returns(run_dir, file, bank, config_dir)
    if as_json:
        _emit_json({"record_dir": str(imported.record_dir), **imported.record})
        return
    typer.echo(_human(_returns_summary(imported.record, imported.record_dir)))


@app.command("synth-returns")
def synth_returns_command(
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="The run whose bank files to answer (runs/<county>/<period>).",
            exists=True,
            file_okay=False,
            show_default=False,
        ),
    ],
    fail_rate: Annotated[
        float,
        typer.Option("--fail-rate", help="Share of lines that fail, from 0 to 1 (0.01: one in a hundred)."),
    ] = 0.01,
    seed: Annotated[int, typer.Option("--seed", help="Random seed; the same seed gives the same files.")] = 1,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Folder to write the result files to. Defaults to returns/<run id>/.",
            file_okay=False,
            show_default=False,
        ),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Write a synthetic bank result file (no real bank) for each bank file of a run, in its layout."""
    _Output.json = as_json
    with _guard():
        from subsidy_batch.returns.synth import synth_returns

        written = synth_returns(run_dir, fail_rate, seed, out)
    if as_json:
        _emit_json(
            {
                "files": [
                    {"file": str(w.path), "bank_name": w.bank_name, "lines": w.lines, "failed": w.failed}
                    for w in written
                ]
            }
        )
        return
    for w in written:
        typer.echo(f"{w.path}: {w.lines} lines, {w.failed} failed ({w.bank_name})")


@app.command()
def version() -> None:
    """Print the tool version."""
    typer.echo(__version__)


def _last_words(message: str, code: int) -> None:
    """An error no command caught, as one sentence on stderr (and the error object with --json)."""
    with contextlib.suppress(OSError):
        print(f"error: {message}", file=sys.stderr)
        if _Output.json:
            print(
                json.dumps(
                    {"error": CODE_NAMES[code], "exit_code": code, "message": message},
                    ensure_ascii=False,
                    sort_keys=True,
                )
            )


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
        code = 130
        _last_words("interrupted; nothing was accepted (an unfinished run leaves no accepted run)", code)
    except Exception as exc:  # the last line of defence: a bug must not show a user a traceback
        if os.environ.get("SUBSIDY_DEBUG"):
            raise
        code = UNEXPECTED
        _last_words(
            f"internal error ({type(exc).__name__}: {scrub(str(exc))[:300]}); nothing was accepted. "
            "This is a bug: run again with SUBSIDY_DEBUG=1 for the details and report them",
            code,
        )
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError):  # e.g. `subsidy ... | head` closed the pipe
            stream.flush()
    os._exit(code)
