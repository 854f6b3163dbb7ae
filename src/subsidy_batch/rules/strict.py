"""The one strict loading kit for every declaration file (county configs, facility rules, schemas).

A YAML value is wrapped in a Node that knows where it stands (file, then the key path, with a rule's id
once known), so that every mistake is a ConfigError saying which file, which rule, which key, and what
is allowed. Nothing is coerced: text where a number belongs, a number where text belongs, a bare word
where a list belongs, or a key nobody reads is refused rather than guessed at.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

from subsidy_batch.errors import ConfigError
from subsidy_batch.money import yuan_to_fen
from subsidy_batch.period import Period

# libyaml's C loader when present (same safe subset of YAML, ~10x faster), else the pure-Python one
_SAFE_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SAFE_LOADER(_SAFE_BASE):  # type: ignore[misc,valid-type]
    """The safe loader, refusing a key given twice in one mapping (YAML keeps the last, silently: a second
    `amount:` pasted under a rule would change what is paid without a word)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *defaults` then overrides, on purpose
                continue
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, (str, int, float, bool)) and key is not None:
                continue  # an unhashable key is refused where the mapping is read
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"the key {key!r} is given twice (first at line {seen[key] + 1}); keep one",
                    key_node.start_mark,
                )
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _kind(value: Any) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return f"yes/no ({value})"
    if isinstance(value, str):
        return f"text {value!r}"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


@dataclass(frozen=True)
class Node:
    """A value read from a declaration file, with where it stands there."""

    value: Any
    where: str  # "config/counties/jiaxiang.yaml: benefits.low_income_care.rows[0] (id dibao_grade_2_3)"

    def error(self, message: str) -> ConfigError:
        at_top = self.where.endswith(": ")  # the file itself: "path: message"
        return ConfigError(f"{self.where}{message}" if at_top else f"{self.where}: {message}")

    def at(self, key: str) -> str:
        separator = "" if self.where.endswith(": ") else "."
        return f"{self.where}{separator}{key}"

    def child(self, key: str, value: Any) -> Node:
        return Node(value, self.at(key))

    def named(self, label: str) -> Node:
        """The same node, its place now also naming what it is (e.g. a rule's id)."""
        return Node(self.value, f"{self.where} ({label})")

    # ---- shapes --------------------------------------------------------------------------------------

    def mapping(self, allowed: Iterable[str], required: Iterable[str] = ()) -> dict[str, Node]:
        """Its keys, each checked to be known; every required key present and not empty."""
        allowed = set(allowed)
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping of {', '.join(sorted(allowed))}, found {_kind(self.value)}")
        for key in self.value:
            if not isinstance(key, str):
                raise self.error(f"key {key!r} must be text")
        unknown = sorted(set(self.value) - allowed)
        if unknown:
            raise self.error(f"unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
        for key in required:
            if self.value.get(key) in (None, ""):
                raise self.error(f"missing {key!r}")
        return {key: self.child(key, value) for key, value in self.value.items()}

    def entries(self) -> dict[str, Node]:
        """A mapping whose keys are names chosen by the writer (benefit codes, columns)."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, found {_kind(self.value)}")
        return {str(key): self.child(str(key), value) for key, value in self.value.items()}

    def items(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(
                f"expected a list (write it in brackets, e.g. [a, b]), found {_kind(self.value)}"
            )
        return [Node(v, f"{self.where}[{i}]") for i, v in enumerate(self.value)]

    # ---- scalars -------------------------------------------------------------------------------------

    def text(self) -> str:
        if not isinstance(self.value, str) or not self.value.strip():
            raise self.error(f"expected text, found {_kind(self.value)}")
        return self.value

    def integer(self, low: int | None = None, high: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"expected a whole number (unquoted, e.g. 60), found {_kind(self.value)}")
        if (low is not None and self.value < low) or (high is not None and self.value > high):
            raise self.error(
                f"{self.value} is outside {low if low is not None else '…'}-{high if high is not None else '…'}"
            )
        return self.value

    def boolean(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, found {_kind(self.value)}")
        return self.value

    def decimal(self) -> Decimal:
        """An exact number written as quoted text ("0.80") or a whole number; never a YAML float."""
        if isinstance(self.value, bool) or not isinstance(self.value, str | int):
            raise self.error(
                f'expected a number written as quoted text like "0.80", found {_kind(self.value)}'
            )
        try:
            number = Decimal(str(self.value).strip())
        except InvalidOperation as exc:
            raise self.error(f"{self.value!r} is not a number") from exc
        if not number.is_finite():
            raise self.error(f"{self.value!r} is not a number")
        return number

    def money(self) -> int:
        """Yuan as quoted text ("85.00") or a whole number, into integer fen; finer than a fen is refused."""
        if isinstance(self.value, bool) or not isinstance(self.value, str | int):
            raise self.error(
                f'expected an amount in yuan written as quoted text like "85.00", found {_kind(self.value)}'
            )
        try:
            return yuan_to_fen(str(self.value))
        except ValueError as exc:
            raise self.error(f'{exc}; write it as a quoted string like "85.00"') from exc

    def period(self) -> Period:
        if not isinstance(self.value, str):
            raise self.error(f'expected a month written as quoted text "YYYY-MM", found {_kind(self.value)}')
        try:
            return Period.parse(self.value)
        except ValueError as exc:
            raise self.error(str(exc)) from exc

    def template(self, **example: str) -> str:
        """Text with {placeholders}, only those named (e.g. period, county_name); refused otherwise."""
        text = self.text()
        try:
            text.format(**example)
        except (KeyError, IndexError, ValueError) as exc:
            raise self.error(
                f"{text!r} may use only the placeholders {', '.join('{' + k + '}' for k in example)}"
            ) from exc
        return text

    def choice(self, options: Iterable[str]) -> str:
        options = tuple(options)
        if self.value not in options:
            raise self.error(f"{_kind(self.value)} is not one of {', '.join(options)}")
        return str(self.value)


def read_yaml(path: Path, what: str = "config") -> Node:
    """The top-level mapping of a YAML file; an unreadable or malformed file is a ConfigError naming it."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except FileNotFoundError as exc:
        raise ConfigError(f"{what} file {path} does not exist") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read {what} file {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what} file {path} is not UTF-8 text; save it as UTF-8") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "malformed YAML"
        raise ConfigError(f"{what} file {path} is not valid YAML{line}: {problem}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{what} file {path} must hold a mapping (key: value lines) at the top level")
    return Node(data, f"{path}: ")
