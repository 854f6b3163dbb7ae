"""structlog set-up: JSON lines into the run's audit.jsonl, run context bound through contextvars."""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from subsidy_batch import imports
from subsidy_batch.roster.idnumber import scrub
from subsidy_batch.runs.manifest import SHANGHAI

# structlog is imported on first use, without rich's traceback module (imports.structlog): a run starts
# importing it on the thread that loads pandera (schema.start_loading_pandera), before its audit log opens


class _Log:
    """structlog's logger, imported (imports.structlog) when the first event is logged."""

    def __getattr__(self, name: str) -> Any:
        return getattr(imports.structlog().get_logger(), name)


log = _Log()


class _Sink:
    """A file-like target that the current run points at its own audit.jsonl (or nowhere)."""

    def __init__(self) -> None:
        self.target: IO[str] | None = None

    def write(self, text: str) -> None:
        if self.target is not None:
            self.target.write(text)

    def flush(self) -> None:
        if self.target is not None:
            self.target.flush()


SINK = _Sink()


def _scrub_values(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Last line of defence: mask any ID-number- or account-like digit run before it is written."""
    return {k: scrub(v) if isinstance(v, str) else v for k, v in event.items()}


def _clock_time(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """The time a clerk reads, as the manifest's created_at: Asia/Shanghai, with its offset."""
    event["timestamp"] = datetime.now(SHANGHAI).isoformat(timespec="microseconds")
    return event


def configure() -> None:
    structlog = imports.structlog()

    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _clock_time,
            _scrub_values,
            structlog.processors.JSONRenderer(ensure_ascii=False, sort_keys=True),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=SINK),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )


@contextmanager
def audit_to(path: Path, **context: Any) -> Iterator[None]:
    """Send every log event to `path` while the block runs, bound to the run's context."""
    structlog = imports.structlog()

    configure()
    with (
        path.open("w", encoding="utf-8", newline="\n") as fh,
        structlog.contextvars.bound_contextvars(**context),
    ):
        previous, SINK.target = SINK.target, fh
        try:
            yield
        finally:
            SINK.target = previous
