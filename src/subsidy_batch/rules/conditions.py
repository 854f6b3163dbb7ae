"""Rule conditions as data: a roster column (or a value derived from it, such as age), an operator, values.

A `when:` entry in a county config reads `column: {operator: values}` (a bare list is short for one_of):

    when: {income_status: [低保], age: {min: 60, max: 79}, hukou_code: {equals: "370829"}}

Every operator lives in OPERATORS below, which gives both the polars expression the engine applies and
the test the loader uses to find rows that could match the same person (decision tables are UNIQUE).
The loader checks each condition against the roster schema: the column exists, values are of the
column's type, and coded values are among the column's allowed values (its aliases, the roster's own
words such as 低保, are translated first). An empty cell never satisfies a condition on its column,
except `empty: true`, which only an empty cell satisfies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import combinations
from typing import Any

import polars as pl

from subsidy_batch.rules.strict import Node

TYPES = ("text", "integer", "decimal", "date")
NUMERIC = ("integer", "decimal")


@dataclass(frozen=True)
class Field:
    """Something a condition can test: a roster column, or a value derived from the roster (age)."""

    name: str
    zh: str
    type: str  # one of TYPES
    allowed: tuple[Any, ...] | None = None  # the column's only values (codes, typed), when it has a list
    aliases: Mapping[str, str] = field(default_factory=dict)  # roster word -> code (低保 -> dibao)
    terms: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)  # a county's words for several values
    span: tuple[int, int] | None = None  # the lowest and highest value a number of this field can be

    def value(self, node: Node) -> Any:
        """One value of a condition, typed for this field and checked against its allowed values."""
        if self.type == "integer":
            word = node.value if isinstance(node.value, str) else ""
            found: Any = int(self.aliases[word]) if word in self.aliases else node.integer()
        elif self.type == "decimal":
            found = node.decimal()
        elif self.type == "text":
            text = node.text()
            found = self.aliases.get(text, text)
        else:
            raise node.error(f"{self.name} is a {self.type} column; conditions on it are not supported")
        if self.span is not None and not self.span[0] <= found <= self.span[1]:
            raise node.error(
                f"{found} is not a possible {self.name}; it is from {self.span[0]} to {self.span[1]}"
            )
        if self.allowed is not None and found not in self.allowed:
            raise node.error(
                f"{found!r} is not a value of {self.name} ({self.zh}); allowed: {self.choices()}"
            )
        return found

    def choices(self) -> str:
        assert self.allowed is not None
        words = {code: word for word, code in self.aliases.items()}
        return ", ".join(f"{v} ({words[v]})" if v in words else str(v) for v in self.allowed)

    def label(self, value: Any) -> str:
        """A value as the roster writes it (民办 rather than private), for messages."""
        words = {code: word for word, code in self.aliases.items()}
        return words.get(value, str(value))


@dataclass(frozen=True)
class Target:
    """What the engine tests: the column's value, and for age a faster "at least n" than computing it."""

    value: pl.Expr
    at_least: Callable[[Any], pl.Expr] | None = None

    def ge(self, n: Any) -> pl.Expr:
        return self.at_least(n) if self.at_least is not None else self.value >= n


def _exactly(target: Target, values: tuple[Any, ...], integer: bool) -> pl.Expr:
    if target.at_least is not None and integer:  # age: born inside the year of each value
        return pl.any_horizontal([target.ge(v) & ~target.ge(v + 1) for v in values])
    return target.value.is_in(list(values))


@dataclass(frozen=True)
class Operator:
    """How one operator reads its values, tests a person (polars) and tests one value (overlaps)."""

    name: str
    many: bool  # takes a list of values (one_of) or one value (min)
    types: tuple[str, ...]  # field types it applies to
    lists_values: bool  # the values it accepts are exactly those listed (one_of, equals)
    expr: Callable[[Target, tuple[Any, ...], bool], pl.Expr]
    holds: Callable[[Any, tuple[Any, ...]], bool]
    message: str  # why a value fails, for ineligibility reports: {zh}, {value}, {values}


def _at_most(target: Target, values: tuple[Any, ...], integer: bool) -> pl.Expr:
    return ~target.ge(values[0] + 1) if integer else target.value <= values[0]


OPERATORS: dict[str, Operator] = {
    op.name: op
    for op in (
        Operator(
            "one_of",
            True,
            ("text", "integer"),
            True,
            _exactly,
            lambda v, vs: v in vs,
            "{zh} is {value}; only {values} qualify",
        ),
        Operator(
            "equals",
            False,
            ("text", "integer", "decimal"),
            True,
            _exactly,
            lambda v, vs: v in vs,
            "{zh} is {value}; only {values} qualifies",
        ),
        Operator(
            "not_one_of",
            True,
            ("text", "integer"),
            False,
            lambda t, vs, i: ~_exactly(t, vs, i),
            lambda v, vs: v not in vs,
            "{zh} is {value}; a value other than {values} is needed",
        ),
        Operator(
            "prefix",
            False,
            ("text",),
            False,
            lambda t, vs, i: t.value.str.starts_with(vs[0]),
            lambda v, vs: str(v).startswith(vs[0]),
            "{zh} is {value}; only values starting with {values} qualify",
        ),
        # the one test an empty cell passes: `empty: true` (a column the roster leaves blank)
        Operator(
            "empty",
            False,
            TYPES,
            False,
            lambda t, vs, i: t.value.is_null(),
            lambda v, vs: v is None,
            "{zh} is {value}; only an empty cell qualifies",
        ),
        Operator(
            "min",
            False,
            NUMERIC,
            False,
            lambda t, vs, i: t.ge(vs[0]),
            lambda v, vs: v >= vs[0],
            "{zh} is {value}; at least {values} needed",
        ),
        Operator(
            "max",
            False,
            NUMERIC,
            False,
            _at_most,
            lambda v, vs: v <= vs[0],
            "{zh} is {value}; at most {values} allowed",
        ),
    )
}


@dataclass(frozen=True, order=True)
class Clause:
    """One condition of a rule: field, operator, typed values (and, for facilities, a failure code)."""

    field: str
    op: str
    values: tuple[Any, ...]
    failure: str | None = None

    def holds(self, value: Any) -> bool:
        return OPERATORS[self.op].holds(value, self.values)


@dataclass(frozen=True)
class Condition:
    """Every test a rule sets; all must hold. No tests: everyone matches."""

    tests: tuple[Clause, ...] = ()

    def on(self, name: str) -> list[Clause]:
        return [t for t in self.tests if t.field == name]

    def without(self, name: str) -> Condition:
        return Condition(tuple(t for t in self.tests if t.field != name))

    def bounds(self, name: str) -> tuple[Any, Any]:
        """(min, max) that the rule sets on a numeric field (None where open)."""
        lows = [t.values[0] for t in self.on(name) if t.op == "min"]
        highs = [t.values[0] for t in self.on(name) if t.op == "max"]
        return (max(lows) if lows else None, min(highs) if highs else None)

    def fields(self) -> list[str]:
        return sorted({t.field for t in self.tests})


def parse_condition(node: Node, fields: Mapping[str, Field], failure_codes: bool = False) -> Condition:
    """A `when:` mapping into a Condition; any mistake is a ConfigError naming the place and what is allowed.
    It names at least one test: an empty `when:` (its conditions deleted, or never written) would match
    everyone."""
    entries = node.entries() if node.value is not None else {}
    if not entries:
        raise node.error(
            "names no condition, and a rule with none would match everyone; write at least one test, "
            f"a column and an operator (columns: {', '.join(sorted(fields))})"
        )
    tests: list[Clause] = []
    for name, spec in entries.items():
        if name not in fields:
            raise spec.error(f"{name!r} is not a roster column (known: {', '.join(sorted(fields))})")
        column = fields[name]
        if isinstance(spec.value, list):  # [a, b] is short for {one_of: [a, b]}
            spec = Node({"one_of": spec.value}, spec.where)
        if not isinstance(spec.value, dict):
            raise spec.error(
                f"write a list in brackets (e.g. {name}: [{column.allowed[0] if column.allowed else 'value'}]) "
                f"or an operator mapping (one of: {', '.join(OPERATORS)}), not {_shown(spec.value)}"
            )
        keys = {*OPERATORS, *(("failure",) if failure_codes else ())}
        parts = spec.mapping(keys)
        failure = parts.pop("failure").text() if "failure" in parts else None
        if not parts:
            raise spec.error(f"give an operator (one of: {', '.join(OPERATORS)})")
        for op_name, operand in parts.items():
            op = OPERATORS[op_name]
            if column.type not in op.types:
                raise operand.error(f"{op_name} does not apply to {name}, {_a(column.type)} column")
            if op.many:
                values = tuple(
                    found
                    for v in operand.items()
                    for found in (
                        column.terms[v.value]
                        if isinstance(v.value, str) and v.value in column.terms
                        else (column.value(v),)
                    )
                )
                if not values:
                    raise operand.error("the list is empty; name at least one value")
            else:
                if isinstance(operand.value, list):
                    raise operand.error(f"{op_name} takes one value, not a list")
                if op_name == "empty" and operand.boolean() is not True:
                    raise operand.error(
                        "write empty: true (the cell is blank); a filled cell is any other test"
                    )
                values = (True,) if op_name == "empty" else (column.value(operand),)
            tests.append(Clause(name, op_name, values, failure))
    condition = Condition(tuple(sorted(tests, key=lambda t: (t.field, t.op))))
    for name in condition.fields():
        if not satisfiable(fields[name], condition.on(name)):
            raise node.error(f"the conditions on {name} can never hold together; nobody would match")
    return condition


def _shown(value: Any) -> str:
    return f"{value!r}" if isinstance(value, str) else str(value)


def satisfiable(column: Field, tests: Iterable[Clause]) -> bool:
    """Whether some value of the column passes every test: exact for listed values and for numbers."""
    tests = list(tests)
    if not tests:
        return True
    if any(t.op == "empty" for t in tests):  # every other test needs a value in the cell
        return all(t.op == "empty" for t in tests)
    candidates: set[Any] | None = set(column.allowed) if column.allowed is not None else None
    for t in tests:
        if OPERATORS[t.op].lists_values:
            candidates = set(t.values) if candidates is None else candidates & set(t.values)
    if candidates is not None:
        return any(all(t.holds(v) for t in tests) for v in candidates)
    if column.type in NUMERIC:
        lows = [t.values[0] for t in tests if t.op == "min"]
        highs = [t.values[0] for t in tests if t.op == "max"]
        low, high = (max(lows) if lows else None), (min(highs) if highs else None)
        if low is not None and high is not None:
            if low > high:
                return False
            if column.type == "integer" and high - low < 100_000:  # few enough to look at each
                return any(all(t.holds(v) for t in tests) for v in range(low, high + 1))
        return True
    prefixes = [t.values[0] for t in tests if t.op == "prefix"]
    return all(a.startswith(b) or b.startswith(a) for a, b in combinations(prefixes, 2))


def overlap(a: Condition, b: Condition, fields: Mapping[str, Field]) -> bool:
    """Whether one person could meet both conditions (the UNIQUE check of a decision table)."""
    return all(satisfiable(fields[name], a.on(name) + b.on(name)) for name in {*a.fields(), *b.fields()})


def expression(
    condition: Condition, targets: Callable[[str], Target], fields: Mapping[str, Field]
) -> pl.Expr:
    """True where every test holds; an empty cell never satisfies a test on its column."""
    parts = [test_expression(t, targets(t.field), fields[t.field]) for t in condition.tests]
    return pl.all_horizontal([pl.lit(True), *parts]).fill_null(False)


def test_expression(test: Clause, target: Target, column: Field) -> pl.Expr:
    values = tuple(Decimal(v) if isinstance(v, Decimal) else v for v in test.values)
    return OPERATORS[test.op].expr(target, values, column.type == "integer")


def failure_message(test: Clause, column: Field) -> pl.Expr:
    """Why a row fails the test, in the roster's words (for ineligibility reports)."""
    words = {code: word for word, code in column.aliases.items()}
    shown = pl.col(test.field).cast(pl.String)
    if words:
        shown = shown.replace(words)
    template = OPERATORS[test.op].message
    head, _, tail = template.partition("{value}")
    values = " / ".join(column.label(v) for v in test.values)
    return pl.format(
        head.replace("{zh}", column.zh) + "{}" + tail.replace("{values}", values),
        shown.fill_null("empty"),
    )


def _a(word: str) -> str:
    return f"an {word}" if word[0] in "aeiou" else f"a {word}"
