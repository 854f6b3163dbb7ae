"""Load a roster schema declared as data under schemas/ and turn it into pandera checks."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandera.polars as pa
import polars as pl
import yaml
from pandera.api.polars.types import PolarsData

from subsidy_batch import dates, idnumber
from subsidy_batch.errors import ConfigError

SCHEMA_DIR = Path(os.environ.get("SUBSIDY_SCHEMA_DIR", Path(__file__).resolve().parents[2] / "schemas"))

_COLUMN_KEYS = {"zh", "required", "normalise", "aliases", "checks"}
_CHECK_KEYS = {"kind", "problem", "message", "pattern", "values"}
_TOP_KEYS = {"schema", "schema_version", "columns"}
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "x", "－": "-", "／": "/"}


@dataclass(frozen=True)
class CheckSpec:
    column: str
    kind: str
    problem: str
    message: str
    pattern: str | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    zh: str
    required: bool
    normalise: tuple[str, ...]
    aliases: dict[str, str]
    checks: tuple[CheckSpec, ...]


@dataclass(frozen=True)
class RosterSchema:
    name: str
    version: int
    path: Path
    columns: dict[str, ColumnSpec] = field(default_factory=dict)

    def header_map(self) -> dict[str, str]:
        """Both the English and the Chinese header of every column, mapped to the English name."""
        out: dict[str, str] = {}
        for spec in self.columns.values():
            out[spec.name] = spec.name
            out[spec.zh] = spec.name
        return out

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]


def _strict_keys(where: str, data: dict[str, Any], allowed: set[str]) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")


def load_schema(name: str = "roster", schema_dir: Path = SCHEMA_DIR) -> RosterSchema:
    """Read schemas/<name>.yaml strictly: an unknown key or check kind is an error naming the file."""
    path = schema_dir / f"{name}.yaml"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read schema {path}: {exc}") from exc
    _strict_keys(str(path), raw, _TOP_KEYS)
    columns: dict[str, ColumnSpec] = {}
    for col_name, col in raw["columns"].items():
        where = f"{path}: columns.{col_name}"
        _strict_keys(where, col, _COLUMN_KEYS)
        checks = []
        for i, chk in enumerate(col.get("checks") or []):
            _strict_keys(f"{where}.checks[{i}]", chk, _CHECK_KEYS)
            if chk["kind"] not in CHECK_KINDS:
                raise ConfigError(f"{where}.checks[{i}]: unknown check kind {chk['kind']!r}")
            checks.append(
                CheckSpec(
                    column=col_name,
                    kind=chk["kind"],
                    problem=chk["problem"],
                    message=chk["message"],
                    pattern=chk.get("pattern"),
                    values=tuple(str(v) for v in chk.get("values") or ()),
                )
            )
        unknown_norm = set(col.get("normalise") or ()) - set(NORMALISERS)
        if unknown_norm:
            raise ConfigError(f"{where}: unknown normalise step {sorted(unknown_norm)[0]!r}")
        columns[col_name] = ColumnSpec(
            name=col_name,
            zh=col["zh"],
            required=bool(col["required"]),
            normalise=tuple(col.get("normalise") or ()),
            aliases={str(k): str(v) for k, v in (col.get("aliases") or {}).items()},
            checks=tuple(checks),
        )
    return RosterSchema(raw["schema"], int(raw["schema_version"]), path, columns)


def _fullwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))


NORMALISERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "strip": lambda e: e.str.strip_chars(),
    "remove_spaces": lambda e: e.str.replace_all(r"[\s\u3000]+", ""),
    "fullwidth": _fullwidth,
    "upper": lambda e: e.str.to_uppercase(),
    "lower": lambda e: e.str.to_lowercase(),
}


def normalise_expr(spec: ColumnSpec) -> pl.Expr:
    """Text normalisation of one column; empty text becomes null, Chinese labels become codes."""
    expr = pl.col(spec.name).str.strip_chars()
    for step in spec.normalise:
        expr = NORMALISERS[step](expr)
    if spec.aliases:
        expr = expr.replace(spec.aliases)
    return pl.when(expr.str.len_chars() > 0).then(expr).alias(spec.name)


# Each check kind: column expression -> Boolean expression that is True (or null) where the value passes.
def _not_before_birth(col: pl.Expr) -> pl.Expr:
    return dates.parse_date(col) >= idnumber.birth_date(pl.col("id_number"))


CHECK_KINDS: dict[str, Callable[[pl.Expr, CheckSpec], pl.Expr]] = {
    "not_empty": lambda c, s: c.is_not_null(),
    "matches": lambda c, s: c.str.contains(s.pattern or ""),
    "one_of": lambda c, s: c.is_in(list(s.values)),
    "unique": lambda c, s: ~c.is_duplicated() | c.is_null(),
    "not_stored_as_number": lambda c, s: ~idnumber.looks_stored_as_number(c),
    "gb11643_check_character": lambda c, s: (
        idnumber.check_character_ok(c) | idnumber.looks_stored_as_number(c)
    ),
    "gb11643_birth_date": lambda c, s: pl.when(c.str.contains(r"^[0-9]{17}[0-9X]$")).then(
        idnumber.birth_date(c).is_not_null()
    ),
    "date": lambda c, s: dates.parse_date(c).is_not_null() | c.is_null(),
    "not_before_birth": lambda c, s: _not_before_birth(c),
}


def _pandera_check(spec: CheckSpec) -> pa.Check:
    build = CHECK_KINDS[spec.kind]

    def check(data: PolarsData) -> pl.LazyFrame:
        # null means "not applicable" (an empty optional cell, or a value another check already rejects)
        return data.lazyframe.select(build(pl.col(data.key), spec).fill_null(True))

    return pa.Check(check, name=spec.problem)


def pandera_schema(schema: RosterSchema) -> pa.DataFrameSchema:
    """All columns stay text here, so no failed type conversion can hide another problem of the row."""
    return pa.DataFrameSchema(
        {
            spec.name: pa.Column(
                str,
                nullable=True,
                required=False,
                checks=[_pandera_check(chk) for chk in spec.checks],
            )
            for spec in schema.columns.values()
        },
        strict=False,
        name=schema.name,
    )
