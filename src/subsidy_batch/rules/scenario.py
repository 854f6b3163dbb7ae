"""Costing scenarios as data: what a scenario changes in a county's rules, and the mortality it assumes.

A scenario file is never policy (config/ holds policy; `run` never reads a scenario). It reads

    mortality: {source: "...", rates: [{age: {min: 80, max: 89}, annual: "0.05"}]}   # optional
    scenarios:
      - name: "80-84 at 60, 85-89 at 100"
        set: {high_age_allowance/county_80_89: "100.00"}          # a row's monthly amount
        change: [{row: high_age_allowance/county_80_89, when: {age: {min: 85, max: 89}}}]
        add: [{benefit: high_age_allowance, id: scenario_80_84, when: {...}, amount: {monthly: "60.00"}}]
        remove: [high_age_allowance/county_90_99]

Rows are read by the county loader's own parsers and checked as a county's rows are (the roster schema,
the county's terms and standards, the UNIQUE check): a scenario that makes two rows match one person is
refused, naming the file, the scenario and both rows.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from decimal import Decimal, localcontext
from itertools import pairwise
from pathlib import Path

from subsidy_batch.errors import ConfigError, UsageError
from subsidy_batch.money import fen_text, yuan_to_fen
from subsidy_batch.rules.config import (
    Amount,
    CountyConfig,
    amend_row,
    gaps,
    overlaps,
    parse_row,
)
from subsidy_batch.rules.strict import Node, read_yaml

_SET = re.compile(r"^(?P<benefit>[a-z_0-9]+)/(?P<rule>[a-z_0-9]+)=(?P<amount>\d{1,13}(\.\d{1,2})?)$")
_ROW = re.compile(r"^(?P<benefit>[a-z_0-9]+)/(?P<rule>[a-z_0-9]+)$")
_SCENARIO_KEYS = ("name", "set", "change", "add", "remove")
_ADD_KEYS = ("benefit", "id", "description", "when", "amount", "effective")
PRECISION = 40  # significant digits of the survival arithmetic (Decimal), far beyond a fen
MAX_RATE_BANDS = 12  # a person-month's survival key packs one count of months (0-12) per band


@dataclass(frozen=True)
class Change:
    benefit: str
    rule: str
    fen: int  # the monthly amount the scenario sets

    @property
    def text(self) -> str:
        return f"{self.benefit}/{self.rule}={fen_text(self.fen)}"


def parse_set(text: str) -> Change:
    """BENEFIT/RULE=AMOUNT, the amount in yuan (at most 2 decimals), e.g. high_age_allowance/county_80_89=50."""
    match = _SET.match(text.strip())
    if not match:
        raise UsageError(
            f"--set {text!r} is not BENEFIT/RULE=AMOUNT with the amount in yuan, e.g. "
            "--set high_age_allowance/county_80_89=50"
        )
    return Change(match["benefit"], match["rule"], yuan_to_fen(match["amount"]))


@dataclass(frozen=True)
class Rate:
    """An annual mortality rate for an age band (inclusive; high None: and above)."""

    low: int
    high: int | None
    annual: Decimal

    @property
    def band(self) -> str:
        return f"{self.low}+" if self.high is None else f"{self.low}-{self.high}"

    @property
    def monthly_survival(self) -> Decimal:
        """(1 - annual) ** (1/12), to PRECISION digits: twelve months of it compound to 1 - annual."""
        with localcontext() as ctx:
            ctx.prec = PRECISION
            return (1 - self.annual) ** (Decimal(1) / 12)


@dataclass(frozen=True)
class Mortality:
    source: str
    rates: tuple[Rate, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "source": self.source,
            "rates": [{"age": r.band, "annual": str(r.annual)} for r in self.rates],
        }

    def text(self) -> str:
        rates = ", ".join(f"ages {r.band}: {r.annual}" for r in self.rates)
        return f"annual mortality {rates} (source: {self.source}); no deaths assumed at other ages"


@dataclass(frozen=True)
class Scenario:
    """A named set of changes to a county's rules; `edits` are read against the county when applied."""

    name: str
    changes: tuple[Change, ...] = ()
    edits: tuple[tuple[str, Node], ...] = ()  # ("remove" | "change" | "add", node), in the file's order
    mortality: Mortality | None = None
    source: str = "--set"  # the file it was written in

    def describe(self) -> list[str]:
        """Each change as one line of text, for the outputs."""
        lines = [c.text for c in self.changes]
        for kind, node in self.edits:
            if kind == "remove":
                lines.append(f"remove {node.value}")
            elif kind == "change":
                rest = {k: v for k, v in node.value.items() if k != "row"}
                lines.append(f"change {node.value['row']}: {_flow(rest)}")
            else:
                rest = {k: v for k, v in node.value.items() if k not in ("benefit", "id", "description")}
                lines.append(f"add {node.value['benefit']}/{node.value['id']}: {_flow(rest)}")
        return lines

    def apply(self, config: CountyConfig) -> CountyConfig:
        """The county's rules with the scenario's changes; a mistake is an error naming the file and row."""
        note = f"scenario {self.name!r} (not policy)"
        rules = list(config.rules)
        named: set[tuple[str, str]] = set()
        touched: set[str] = set()  # names of rows the scenario wrote or changed

        def find(benefit: str, rule: str, node: Node | None, text: str) -> list[int]:
            if (benefit, rule) in named:
                message = f"{benefit}/{rule} is named twice in the scenario; name each row once"
                raise node.error(message) if node is not None else UsageError(f"--set {text}: {message}")
            named.add((benefit, rule))
            found = [i for i, r in enumerate(rules) if r.benefit == benefit and r.id == rule]
            if not found:
                rows = sorted(f"{r.benefit}/{r.id}" for r in rules if r.benefit == benefit) or sorted(
                    {r.benefit for r in rules}
                )
                message = f"{config.county} has no row {benefit}/{rule}; it has {', '.join(rows)}"
                raise node.error(message) if node is not None else UsageError(f"--set {text}: {message}")
            return found

        for kind, node in self.edits:
            if kind == "remove":
                benefit, rule = _row_name(node)
                gone = find(benefit, rule, node, "")
                rules = [r for i, r in enumerate(rules) if i not in gone]
            elif kind == "change":
                benefit, rule = _row_name(Node(node.value["row"], node.at("row")))
                for i in find(benefit, rule, node, ""):
                    body = Node({k: v for k, v in node.value.items() if k != "row"}, node.where)
                    rules[i] = amend_row(rules[i], body, config, f"{note}: changed {rules[i].citation}")
                    touched.add(rules[i].name)
        for change in self.changes:
            for i in find(change.benefit, change.rule, self._set_node(change), change.text):
                rules[i] = replace(
                    rules[i], amount=Amount("monthly", change.fen), citation=f"scenario: {change.text}"
                )
                touched.add(rules[i].name)
        for kind, node in self.edits:
            if kind != "add":
                continue
            fields = node.mapping(_ADD_KEYS, required=("benefit", "id", "amount"))
            benefit, rule = fields["benefit"].text(), fields["id"].text()
            if any(r.benefit == benefit and r.id == rule for r in rules):
                raise node.error(
                    f"{config.county} already has a row {benefit}/{rule}; change it with `change:` or give "
                    "the new row another id"
                )
            row = {k: v for k, v in node.value.items() if k != "benefit"}
            row.setdefault("description", f"a row the scenario {self.name!r} adds")
            added = parse_row(Node(row | {"citation": note}, node.where), benefit, self.source, config)
            rules.append(added)
            touched.add(added.name)
        for a, b in overlaps(rules, config.fields):
            if a.name in touched or b.name in touched:
                new, old = (a, b) if a.name in touched else (b, a)
                raise ConfigError(
                    f"{self.source}: scenario {self.name!r}: rows {new.name} and {old.name} can both match one "
                    f"person in the same period (decision tables are UNIQUE); change or remove {old.benefit}/"
                    f"{old.id} in the scenario too, or narrow {new.benefit}/{new.id}"
                )
        rules.sort(key=lambda r: (r.benefit, r.name))
        return replace(config, rules=tuple(rules), gaps=tuple(gaps(rules)))

    def _set_node(self, change: Change) -> Node | None:
        return (
            None
            if self.source == "--set"
            else Node(change.text, f"{self.source}: scenario {self.name!r}.set")
        )


def _row_name(node: Node) -> tuple[str, str]:
    match = _ROW.match(node.text().strip())
    if not match:
        raise node.error(f"{node.value!r} is not BENEFIT/RULE, e.g. high_age_allowance/county_90_99")
    return match["benefit"], match["rule"]


def _flow(value: object) -> str:
    """A YAML value in one line, as it was written ({age: {min: 85, max: 89}})."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str) else str(value)


def load_mortality(node: Node) -> Mortality:
    """mortality: {source, rates: [{age: {min, max}, annual: "0.05"}]}: bands apart, each rate in [0, 1)."""
    if isinstance(node.value, dict) and not node.value.get("source"):
        raise node.error(
            "missing 'source': a mortality assumption names where its rates come from (a life table, a "
            'yearbook), e.g. source: "中国人口和就业统计年鉴 2023, 表 2-31"'
        )
    top = node.mapping(("source", "rates"), required=("source", "rates"))
    rates = []
    for item in top["rates"].items():
        entry = item.mapping(("age", "annual"), required=("age", "annual"))
        age = entry["age"].mapping(("min", "max"), required=("min",))
        low = age["min"].integer(0, 150)
        high = age["max"].integer(low, 150) if "max" in age else None
        annual = entry["annual"].decimal()
        if not Decimal(0) <= annual < Decimal(1):
            raise entry["annual"].error(
                f'an annual rate is from 0 up to (not including) 1, e.g. "0.05"; found {annual}'
            )
        rates.append((item, Rate(low, high, annual)))
    if not rates:
        raise top["rates"].error('names no rate; write e.g. [{age: {min: 80, max: 89}, annual: "0.05"}]')
    if len(rates) > MAX_RATE_BANDS:
        raise top["rates"].error(f"at most {MAX_RATE_BANDS} age bands")
    rates.sort(key=lambda pair: pair[1].low)
    for (_, below), (node_above, above) in pairwise(rates):
        if below.high is None or below.high >= above.low:
            raise node_above.error(f"ages {above.band} overlap ages {below.band}; each age has one rate")
    return Mortality(top["source"].text(), tuple(r for _, r in rates))


def load_scenarios(path: Path) -> list[Scenario]:
    """A scenario file (see the module's docstring), read strictly; rows are checked when applied to the
    county's rules (they are read against its roster fields and standards)."""
    top = read_yaml(path, "scenario").mapping(("scenarios", "mortality"), required=("scenarios",))
    mortality = load_mortality(top["mortality"]) if "mortality" in top else None
    found = []
    for node in top["scenarios"].items():
        entry = node.mapping(_SCENARIO_KEYS, required=("name",))
        name = entry["name"].text()
        changes = []
        for key, value in (entry["set"].entries() if "set" in entry else {}).items():
            try:
                changes.append(parse_set(f"{key}={fen_text(value.money())}"))
            except UsageError as exc:
                raise value.error(str(exc).replace("--set ", "")) from None
        if "set" in entry and not changes:
            raise entry["set"].error('names no change; write e.g. {high_age_allowance/county_80_89: "50.00"}')
        edits: list[tuple[str, Node]] = []
        for kind in ("remove", "change", "add"):
            for item in entry[kind].items() if kind in entry else []:
                where = item.named(f"scenario {name!r}")
                if kind == "remove":
                    _row_name(where)
                elif kind == "change":
                    body = where.mapping(
                        ("row", "description", "when", "amount", "effective"), required=("row",)
                    )
                    _row_name(body["row"])
                    if len(body) == 1:
                        raise where.error("changes nothing; give when, amount, effective or description")
                else:
                    where.mapping(_ADD_KEYS, required=("benefit", "id", "amount"))
                edits.append((kind, where))
        if not changes and not edits:
            raise node.error("changes nothing; give set, change, add or remove")
        found.append(Scenario(name, tuple(changes), tuple(edits), mortality, str(path)))
    names = [s.name for s in found]
    if len(set(names)) != len(names) or not names:
        raise top["scenarios"].error("needs at least one scenario, each with its own name")
    return found
