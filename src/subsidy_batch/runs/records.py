"""The JSON records a runs folder keeps (manifests, release and refund records), read so that a damaged
one is named with what to do: never a traceback, and never skipped (a skipped record can pay twice)."""

from __future__ import annotations

import errno
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from subsidy_batch.errors import StorageError, VerifyError

MANIFEST = "manifest.json"  # every run's manifest (runs.manifest)
DAMAGED = "the manifest was damaged or edited, so this run cannot be read: restore its folder from a backup"

_KINDS: dict[type, str] = {
    str: "text",
    int: "a whole number",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "an object",
    type(None): "null",
}


def kind_name(kind: type) -> str:
    """A JSON type in a clerk's words (text, a list, an object, null)."""
    return _KINDS.get(kind, "an object")


def kind_of(value: object) -> str:
    """What a JSON value is, in a clerk's words."""
    return kind_name(type(value))


def damaged(where: Path | str, problem: str, remedy: str) -> VerifyError:
    """The error for a stored record that is damaged: the file, what is wrong with it, what to do."""
    return VerifyError(f"{where}: {problem}; {remedy}")


def read_record(path: Path, remedy: str) -> Any:
    """The JSON a stored record holds; VerifyError naming the file when it cannot be read or parsed."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise VerifyError(
            f"{path} cannot be read ({exc.strerror or exc}); check that it is a file this user may read"
        ) from exc
    except UnicodeDecodeError as exc:
        raise damaged(path, "it is not UTF-8 text", remedy) from exc
    try:
        return json.loads(text)
    except ValueError as exc:
        raise damaged(path, f"it is not valid JSON ({exc})", remedy) from exc


def text_fields(record: object, where: Path | str, keys: tuple[str, ...], remedy: str) -> dict[str, Any]:
    """A record that must be a JSON object whose `keys` are text; VerifyError naming the first that is not."""
    if not isinstance(record, dict):
        raise damaged(where, f"it holds {kind_of(record)}, not an object", remedy)
    for key in keys:
        if key not in record:
            raise damaged(where, f'"{key}" is missing', remedy)
        if not isinstance(record[key], str):
            raise damaged(where, f'"{key}" is {kind_of(record[key])}, not text', remedy)
    return record


def write_once(path: Path, record: Mapping[str, Any], what: str, again: str) -> None:
    """Write a record that is written once and never changed, whole or not at all: into a hidden draft
    beside it (a name of its own, tempfile.mkstemp), fsynced and made read-only, then linked into place.
    The link refuses a record that exists (FileExistsError, for the caller to word); a folder that cannot
    be written or a disk that fills is a StorageError naming `what` and saying to `again`, and leaves no
    half-written record that every later run would stop on. Once linked, the record is written: the
    folder's own fsync is then a best effort (a file system without it does not undo the record)."""
    import tempfile  # here: a refused re-run reads records and never writes one (1 ms of its start-up)

    text = json.dumps(record, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
    draft: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.tmp-", dir=path.parent)
        draft = Path(name)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        draft.chmod(0o444)
        os.link(draft, path)
    except FileExistsError:
        if path.exists():
            raise
        raise StorageError(f"cannot write the {what} {path}: {path.parent} is not a folder") from None
    except OSError as exc:
        if (
            exc.errno in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP)
            and draft is not None
            and draft.exists()
        ):
            raise StorageError(
                f"cannot write the {what} {path}: the file system of {path.parent} has no hard links, which "
                "records written once need; keep the runs folder on a local disk (ext4, NTFS, APFS)"
            ) from exc
        raise StorageError(
            f"cannot write the {what} {path}: {exc.strerror or exc}; check that the runs folder is writable "
            f"and has free space, then {again}"
        ) from exc
    finally:
        if draft is not None:
            try:
                draft.unlink(missing_ok=True)
            except OSError:
                pass  # it stays as a hidden file, which no reader of the folder takes for a record
    try:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)  # the new name on the disk too
        finally:
            os.close(folder)
    except OSError:
        pass  # Windows opens no folder; the record is in place either way
