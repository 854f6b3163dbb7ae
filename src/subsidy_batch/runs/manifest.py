"""The run's manifest, typed: what it read, what it wrote, its totals, and how it was made.

Version 2 adds to version 1 (CONTRACT.md is extended only by adding): `kind` (monthly / facilities),
a `role` on every input (roster, and later prior runs, death lists, bank returns) and `schemas`, the list
of every schema read (`schema` stays, naming the first). `Manifest.from_json` reads both versions, so
runs stored before version 2 still verify.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from subsidy_batch import __version__
from subsidy_batch.errors import VerifyError
from subsidy_batch.runs.records import DAMAGED, MANIFEST, damaged, kind_name, kind_of, read_record

MANIFEST_VERSION = 2
READABLE_VERSIONS = (1, 2)
KIND_MONTHLY = "monthly"  # version 1 monthly runs carry no kind
INPUT = "input"  # the run's own copy of every input, config and schema

# China has kept +08:00 all year since 1991: a fixed offset is exact and needs no time-zone database.
SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")


def now_local() -> str:
    """The clock time a clerk reads: Asia/Shanghai, with its offset (2024-05-03T09:15:00+08:00)."""
    return datetime.now(SHANGHAI).isoformat(timespec="seconds")


@dataclass(frozen=True)
class InputRecord:
    """One input snapshotted into the run: its role, its copy, the clerk's file name, checksum, facts."""

    role: str
    file: str  # relative to the run folder, e.g. input/roster.csv
    original_name: str
    sha256: str
    facts: dict[str, Any] = field(default_factory=dict)  # rows, encoding, ignored columns, skipped rows

    def to_json(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "file": self.file,
            "original_name": self.original_name,
            "sha256": self.sha256,
        } | (self.facts)

    @classmethod
    def from_json(cls, data: dict[str, Any], role: str | None = None) -> InputRecord:
        known = ("role", "file", "original_name", "sha256")
        return cls(
            role=str(data.get("role") or role),
            file=str(data["file"]),
            original_name=str(data["original_name"]),
            sha256=str(data["sha256"]),
            facts={k: v for k, v in data.items() if k not in known},
        )


@dataclass(frozen=True)
class FileRecord:
    """A config file or schema the run read: path (relative to its folder in input/), checksum, version."""

    file: str
    sha256: str
    version: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"file": self.file, "sha256": self.sha256}
        return out if self.version is None else out | {"version": self.version}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> FileRecord:
        version = data.get("version")
        return cls(str(data["file"]), str(data["sha256"]), None if version is None else int(version))


# keys every version writes at the top level; anything else is a fact of the run's kind
_CORE = (
    "manifest_version",
    "kind",
    "tool",
    "tool_version",
    "run_id",
    "revision",
    "county",
    "county_name",
    "period",
    "status",
    "created_at",
    "inputs",
    "schema",
    "schemas",
    "config",
    "outputs",
    "totals",
    "stages",
    "arguments",
    "supersedes",
)


@dataclass
class Manifest:
    kind: str
    run_id: str
    revision: int
    county: str
    county_name: str
    period: str  # the run's period key: 2024-05, or facilities-2024 for a yearly facility run
    inputs: list[InputRecord]
    schemas: list[FileRecord]
    config: list[FileRecord]
    outputs: list[dict[str, Any]]
    totals: dict[str, Any]
    stages: list[dict[str, Any]]
    facts: dict[str, Any] = field(default_factory=dict)  # the kind's own: config_gaps, year, rating_factors
    created_at: str = ""
    tool_version: str = __version__
    status: str = "accepted"
    arguments: dict[str, Any] | None = None
    supersedes: dict[str, Any] | None = None
    manifest_version: int = MANIFEST_VERSION

    def read_runs(self) -> list[str]:
        """The run ids of the accepted runs this run read (its prior_run inputs)."""
        return [i.original_name for i in self.inputs if i.role == "prior_run"]

    def input(self, role: str) -> InputRecord:
        (found,) = [i for i in self.inputs if i.role == role]
        return found

    def checksums(self) -> dict[str, str]:
        """file -> sha256 of every output the run made."""
        return {str(o["file"]): str(o["sha256"]) for o in self.outputs}

    def bank_outputs(self) -> list[dict[str, Any]]:
        """The outputs that are bank files (bank/...), in the manifest's order."""
        return [o for o in self.outputs if str(o["file"]).startswith("bank/")]

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "manifest_version": self.manifest_version,
            "kind": self.kind,
            "tool": "subsidy-batch",
            "tool_version": self.tool_version,
            "run_id": self.run_id,
            "revision": self.revision,
            "county": self.county,
            "county_name": self.county_name,
            "period": self.period,
            "status": self.status,
            "created_at": self.created_at,
            "inputs": [i.to_json() for i in self.inputs],
            "schemas": [s.to_json() for s in self.schemas],
            "config": [c.to_json() for c in self.config],
            "outputs": self.outputs,
            "totals": self.totals,
            "stages": self.stages,
            **self.facts,
        }
        if self.schemas:  # version 1's one schema: the first (the roster's, or the facility roster's)
            out["schema"] = self.schemas[0].to_json()
        if self.arguments is not None:
            out["arguments"] = self.arguments
        if self.supersedes is not None:
            out["supersedes"] = self.supersedes
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any], where: str = MANIFEST) -> Manifest:
        check_shape(data, where)
        version = data["manifest_version"]
        try:
            schemas = data["schemas"] if "schemas" in data else [data["schema"]]
            return cls(
                kind=str(data.get("kind") or KIND_MONTHLY),
                run_id=str(data["run_id"]),
                revision=int(data.get("revision", 1)),
                county=str(data["county"]),
                county_name=str(data.get("county_name", "")),
                period=str(data["period"]),
                # version 1 runs read one input, the roster
                inputs=[InputRecord.from_json(i, role="roster") for i in data["inputs"]],
                schemas=[FileRecord.from_json(s) for s in schemas],
                config=[FileRecord.from_json(c) for c in data["config"]],
                outputs=list(data["outputs"]),
                totals=dict(data["totals"]),
                stages=list(data.get("stages", [])),
                facts={k: v for k, v in data.items() if k not in _CORE},
                created_at=str(data.get("created_at", "")),
                tool_version=str(data.get("tool_version", "")),
                status=str(data.get("status", "accepted")),
                arguments=data.get("arguments"),
                supersedes=data.get("supersedes"),
                manifest_version=int(version),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise VerifyError(f"{where}: the manifest lacks or mangles {exc}; it cannot be read") from exc

    def reproducible_facts(self) -> dict[str, Any]:
        """What a reproduction must give again, in a form the same for version 1 and 2 manifests."""
        return {
            "run_id": self.run_id,
            "revision": self.revision,
            "county": self.county,
            "period": self.period,
            "kind": self.kind,
            "inputs": [i.to_json() for i in self.inputs],
            "schemas": [s.to_json() for s in self.schemas],
            "config": [c.to_json() for c in self.config],
            "outputs": self.outputs,
            "totals": self.totals,
            "facts": self.facts,
        }


# The shape versions 1 and 2 write, checked once when a manifest is read: a field that a hand edit (or a
# damaged disk) removed or changed in kind is named here, not met as a crash by whichever command reads
# the run next (verify, release, explain, history, synth-returns, the county's next run).
_REQUIRED: dict[str, type] = {
    "run_id": str,
    "county": str,
    "period": str,
    "inputs": list,
    "config": list,
    "outputs": list,
    "totals": dict,
}
_OPTIONAL: dict[str, tuple[type, ...]] = {
    "kind": (str,),
    "tool_version": (str,),
    "revision": (int,),
    "county_name": (str,),
    "status": (str,),
    "created_at": (str,),
    "schema": (dict,),  # version 1's one schema; version 2 lists them in "schemas" too
    "schemas": (list,),
    "stages": (list,),
    "arguments": (dict, type(None)),
    "supersedes": (dict, type(None)),
}
# the text every entry of a list holds (an output also has its rows, a bank file its total)
_ENTRIES = {
    "inputs": ("file", "original_name", "sha256"),
    "schemas": ("file", "sha256"),
    "config": ("file", "sha256"),
    "outputs": ("file", "sha256"),
}
_PERIODS = {  # the period keys a kind's runs stand under; a kind not listed here (a test's) is not checked
    KIND_MONTHLY: re.compile(r"\d{4}-(0[1-9]|1[0-2])(-s[1-9]\d*)?"),
    "facilities": re.compile(r"facilities-\d{4}"),
}


def check_shape(data: object, where: str) -> None:
    """Refuse a manifest that is not what version 1 or 2 writes, naming the first field that is wrong."""
    if not isinstance(data, dict):
        raise damaged(where, f"it holds {kind_of(data)}, not an object", DAMAGED)
    version = data.get("manifest_version")
    if type(version) is not int or version not in READABLE_VERSIONS:
        raise VerifyError(
            f"{where}: manifest_version {version!r} is not one this tool reads "
            f"({', '.join(map(str, READABLE_VERSIONS))}); use the subsidy-batch version that made it"
        )
    for key, wanted in _REQUIRED.items():
        if key not in data:
            raise damaged(where, f'"{key}" is missing', DAMAGED)
        _check_kind(data[key], (wanted,), f'"{key}"', where)
    for key, allowed in _OPTIONAL.items():
        if key in data:
            _check_kind(data[key], allowed, f'"{key}"', where)
    if "schemas" not in data and "schema" not in data:
        raise damaged(where, '"schemas" is missing', DAMAGED)
    for key in ("run_id", "county", "period"):
        if not data[key].strip():
            raise damaged(where, f'"{key}" is empty', DAMAGED)
    pattern = _PERIODS.get(data.get("kind") or KIND_MONTHLY)
    if pattern is not None and not pattern.fullmatch(data["period"]):
        raise damaged(where, f'"period" is {data["period"]!r}, not a period key of its kind of run', DAMAGED)
    if not data["inputs"]:
        raise damaged(where, '"inputs" is empty', DAMAGED)
    _check_entries(data, where)


def _check_entries(data: dict[str, Any], where: str) -> None:
    """Every entry of inputs, schemas, config and outputs is an object with its text fields."""
    lists = {key: data[key] for key in _ENTRIES if key in data} | (
        {"schema": [data["schema"]]} if "schema" in data else {}
    )
    for key, entries in lists.items():
        for n, entry in enumerate(entries):
            name = f'"{key}"' if key == "schema" else f'"{key}" entry {n + 1}'
            _check_kind(entry, (dict,), name, where)
            needed = _ENTRIES.get(key, _ENTRIES["schemas"])
            if key == "outputs" and str(entry.get("file")).startswith("bank/"):
                needed += ("bank_name",)  # which layout the bank file is in (returns, synth-returns)
            for field_name in needed:
                if field_name not in entry:
                    raise damaged(where, f'{name} lacks "{field_name}"', DAMAGED)
                _check_kind(entry[field_name], (str,), f'{name}: "{field_name}"', where)


def _check_kind(value: object, allowed: tuple[type, ...], name: str, where: str) -> None:
    if type(value) not in allowed:  # json gives exact types: True is not taken for a whole number
        wanted = " or ".join(kind_name(t) for t in allowed)
        raise damaged(where, f"{name} is {kind_of(value)}, not {wanted}", DAMAGED)


def load(run_dir: Path) -> Manifest:
    """The manifest of a stored run, version 1 or 2; VerifyError naming the file and field if damaged."""
    path = run_dir / MANIFEST
    return Manifest.from_json(read_record(path, DAMAGED), str(path))
