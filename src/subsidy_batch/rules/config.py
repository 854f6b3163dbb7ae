"""Load county configs strictly: decision tables with citations, inheritance, overlap and gap checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

from subsidy_batch.errors import ConfigError
from subsidy_batch.period import Period
from subsidy_batch.roster.schema import SCHEMA_DIR, RosterSchema, load_schema
from subsidy_batch.rules.conditions import Condition, Field, overlap, parse_condition
from subsidy_batch.rules.layouts import BUILTIN, BankLayouts, load_bank_layouts
from subsidy_batch.rules.strict import Node, read_yaml

NOT_SET = "not set"
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
AGE_BASES = ("month_after_birthday", "birthday_month")
ENCODINGS = ("gb18030", "utf-8")
RESIDENCES = ("urban", "rural")
# Age is not a roster column: it is counted from the date of birth in the ID number, on the day the
# county's age basis names (compute.reference_date).
AGE = Field("age", "年龄（周岁）", "integer", span=(0, 150))  # a typo (600 for 60) would pay nobody

_COUNTY_KEYS = {
    "county",
    "name",
    "division_code",
    "document",
    "age_basis",
    "bank_file_encoding",
    "bank_memo",
    "inherit",
    "benefits",
    "terms",
    "standards",
    "facility_benefits",  # yearly facility subsidies: read by facilities.py
    "min_home_hukou_share",  # below this share of home 户籍 codes a roster is refused as another county's
    "ledger",  # how months connect: the arrears window, the death month, netting recoveries
    "bank_layouts",  # bank name -> layout under config/banks/, with a default; absent: today's CSV
}
_LEDGER_KEYS = ("arrears_window_months", "pay_death_month", "net_recoveries_against_arrears")
_POLICY_KEYS = {"value", "citation", "decided_by", "reason"}
DEFAULT_MIN_HOME_HUKOU_SHARE = Decimal("0.5")
_SHARED_KEYS = {"title", "benefits", "terms"}
_INHERIT_KEYS = {"from", "benefits", "effective", "note"}
_BENEFIT_KEYS = {"title", "rows"}
_ROW_KEYS = {"id", "description", "when", "amount", "effective", "citation"}
_AMOUNT_KEYS = {"monthly", "yearly", "disbursement", "reason", "percent", "of"}
_EFFECTIVE_KEYS = {"from", "to"}


@dataclass(frozen=True)
class Amount:
    """How much a matching row pays; fen is None when the standard is not set."""

    kind: str  # monthly | yearly | percent
    fen: int | None = None  # monthly fen, or yearly fen for kind=yearly
    reason: str | None = None  # why the standard is not set
    payment_month: int | None = None  # yearly amounts: None = amount/12 every month
    basis_points: int | None = None  # percent amounts: 15% = 1500
    of: str | None = None  # percent amounts: name of a county standard


@dataclass(frozen=True)
class Rule:
    benefit: str
    id: str
    description: str
    when: Condition
    amount: Amount
    start: Period | None
    end: Period | None
    citation: str
    source: str  # config file the row was written in, relative to the config dir

    @property
    def name(self) -> str:
        return f"{self.source}#{self.benefit}/{self.id}"

    def in_force(self, period: Period) -> bool:
        return (self.start is None or self.start <= period) and (self.end is None or period <= self.end)


@dataclass(frozen=True)
class Standard:
    fen: int | None
    reason: str | None


@dataclass(frozen=True)
class LedgerPolicy:
    """How a county's months connect (issue 12), each value cited or marked as the county's decision."""

    arrears_window_months: int | None  # None: not set, so arrears are held (standard_not_set)
    pay_death_month: bool  # the month of death is paid; payment stops from the next month (次月停发)
    net_recoveries_against_arrears: bool
    notes: tuple[tuple[str, str], ...] = ()  # (key, citation or decision), for the manifest and check-config


def _ledger(node: Node) -> LedgerPolicy:
    """ledger: each key is {value, citation | decided_by} (or {value: not set, reason} for the window)."""
    keys = node.mapping(_LEDGER_KEYS, required=_LEDGER_KEYS)
    notes = []
    values: dict[str, Any] = {}
    for key in _LEDGER_KEYS:
        item = keys[key].mapping(_POLICY_KEYS, required=("value",))
        said = [k for k in ("citation", "decided_by", "reason") if k in item]
        if item["value"].value == NOT_SET and key == "arrears_window_months":
            if said != ["reason"]:
                raise keys[key].error(f"a value that is {NOT_SET!r} needs 'reason' (and only that)")
            values[key] = None
        else:
            if len(said) != 1 or said == ["reason"]:
                raise keys[key].error(
                    "needs exactly one of 'citation' (a source) or 'decided_by' (a county decision)"
                )
            values[key] = (
                item["value"].integer(low=0, high=120)
                if key == "arrears_window_months"
                else item["value"].boolean()
            )
        notes.append((key, f"{said[0]}: {item[said[0]].text()}"))
    if values["net_recoveries_against_arrears"]:
        raise keys["net_recoveries_against_arrears"].error(
            "netting recoveries against the same person's arrears is not supported by this version; "
            "set value: false (recoveries are then collected from the family, as the sources describe)"
        )
    return LedgerPolicy(
        values["arrears_window_months"],
        values["pay_death_month"],
        values["net_recoveries_against_arrears"],
        tuple(notes),
    )


@dataclass(frozen=True)
class CountyConfig:
    county: str
    name: str
    division_code: str
    document: str
    age_basis: str
    bank_file_encoding: str
    rules: tuple[Rule, ...]
    standards: dict[str, dict[str, Standard]] = field(default_factory=dict)
    files: tuple[Path, ...] = ()
    gaps: tuple[str, ...] = ()
    fields: dict[str, Field] = field(default_factory=dict)  # what conditions test (roster schema + age)
    # accepted rows whose hukou_code is division_code, at least: else the roster is another county's
    min_home_hukou_share: Decimal = DEFAULT_MIN_HOME_HUKOU_SHARE
    bank_memo: str = ""  # the memo of every bank record, a template of {period} and {county_name}
    account_digits: tuple[int, int] = (8, 30)  # from the schema's bank_account payable: (min, max) digits
    ledger: LedgerPolicy = LedgerPolicy(None, True, False)
    bank_layouts: BankLayouts = BUILTIN  # the layout of each bank's file (rules/layouts.py)
    # what the county file's own rows may test: `fields` with the file's `terms` (e.g. 失能 = grade 3)
    row_fields: dict[str, Field] = field(default_factory=dict)

    def memo(self, period: Period) -> str:
        return self.bank_memo.format(period=period, county_name=self.name)

    def rules_in_force(self, period: Period) -> list[Rule]:
        return [r for r in self.rules if r.in_force(period)]

    @property
    def benefits(self) -> list[str]:
        return sorted({r.benefit for r in self.rules})


def _effective(node: Node | None) -> tuple[Period | None, Period | None]:
    if node is None or node.value is None:
        return None, None
    eff = node.mapping(_EFFECTIVE_KEYS)
    start = eff["from"].period() if "from" in eff else None
    end = eff["to"].period() if "to" in eff else None
    if start and end and end < start:
        raise node.error(f"'to' {end} is before 'from' {start}")
    return start, end


def _amount(node: Node, standards: dict[str, dict[str, Standard]]) -> Amount:
    amt = node.mapping(_AMOUNT_KEYS)
    kinds = [k for k in ("monthly", "yearly", "percent") if k in amt]
    if len(kinds) != 1:
        raise node.error("give exactly one of monthly, yearly or percent")
    kind = kinds[0]
    if kind == "percent":
        if "of" not in amt:
            raise node.error("missing 'of' (the county standard the percentage is taken of)")
        of = amt["of"].text()
        if of not in standards:
            raise amt["of"].error(f"'of: {of}' names no entry under 'standards'")
        bp = amt["percent"].decimal() * 100
        # above 100 is allowed: a standard may be a multiple of another (特困 >= 130% of the 低保 standard)
        if bp != bp.to_integral_value() or not 0 < bp <= 100000:
            raise amt["percent"].error("percent must be above 0 and at most 1000, with at most 2 decimals")
        return Amount(kind, basis_points=int(bp), of=of)
    payment_month = None
    if kind == "yearly":
        disbursement = amt.get("disbursement")
        if disbursement is not None and disbursement.value != "monthly":
            month = disbursement.mapping({"month"}, required={"month"})["month"]
            payment_month = month.integer(1, 12)
    elif "disbursement" in amt:
        raise amt["disbursement"].error("'disbursement' applies to yearly amounts only")
    if amt[kind].value == NOT_SET:
        if "reason" not in amt:
            raise node.error(f"missing 'reason' (why the amount is {NOT_SET!r})")
        return Amount(kind, None, amt["reason"].text(), payment_month)
    if "reason" in amt:
        raise amt["reason"].error(f"'reason' is only for amounts that are {NOT_SET!r}")
    return Amount(kind, amt[kind].money(), None, payment_month)


def _terms(node: Node | None, fields: dict[str, Field]) -> dict[str, Field]:
    """The fields with a file's `terms` (e.g. 失能 = ability grade 3) added to theirs."""
    if node is None:
        return fields
    out = dict(fields)
    for column, words in node.entries().items():
        if column not in fields:
            raise words.error(f"{column!r} is not a roster column (known: {', '.join(sorted(fields))})")
        base = fields[column]
        terms = {
            word: tuple(base.value(v) for v in values.items()) for word, values in words.entries().items()
        }
        out[column] = replace(base, terms=terms)
    return out


def _rules(
    benefits: Node | None,
    source: str,
    fields: dict[str, Field],
    standards: dict[str, dict[str, Standard]],
    wanted: list[str] | None = None,
) -> list[Rule]:
    rules: list[Rule] = []
    if benefits is None:
        return rules
    for benefit, spec_node in benefits.entries().items():
        if not SLUG.match(benefit):
            raise spec_node.error(f"benefit code {benefit!r} must be lower_snake_case")
        spec = spec_node.mapping(_BENEFIT_KEYS, required=("rows",))
        # every row is checked strictly, also those of benefits that an inheriting county leaves out
        rows = [_rule(row_node, benefit, source, fields, standards) for row_node in spec["rows"].items()]
        if wanted is None or benefit in wanted:
            rules.extend(rows)
    return rules


def _rule(
    row_node: Node,
    benefit: str,
    source: str,
    fields: dict[str, Field],
    standards: dict[str, dict[str, Standard]],
) -> Rule:
    given = row_node.value.get("id") if isinstance(row_node.value, dict) else None
    if isinstance(given, str):
        row_node = row_node.named(f"rule {benefit}/{given}")
    # `when` left out is refused by parse_condition, which says what to write (not just "missing 'when'")
    row = row_node.mapping(_ROW_KEYS, required=("id", "description", "amount", "citation"))
    start, end = _effective(row.get("effective"))
    return Rule(
        benefit=benefit,
        id=row["id"].text(),
        description=row["description"].text(),
        when=parse_condition(row.get("when", row_node.child("when", None)), fields),
        amount=_amount(row["amount"], standards),
        start=start,
        end=end,
        citation=row["citation"].text(),
        source=source,
    )


def _standards(node: Node | None) -> dict[str, dict[str, Standard]]:
    out: dict[str, dict[str, Standard]] = {}
    if node is None:
        return out
    for name, by_residence in node.entries().items():
        parts = by_residence.mapping(RESIDENCES, required=RESIDENCES)
        out[name] = {}
        for residence in RESIDENCES:
            value = parts[residence].mapping({"monthly", "reason"}, required={"monthly"})
            if value["monthly"].value == NOT_SET:
                if "reason" not in value:
                    raise parts[residence].error(f"missing 'reason' (why the standard is {NOT_SET!r})")
                out[name][residence] = Standard(None, value["reason"].text())
            else:
                out[name][residence] = Standard(value["monthly"].money(), None)
    return out


def overlaps(rules: list[Rule], fields: dict[str, Field]) -> list[tuple[Rule, Rule]]:
    """Pairs of rows of one benefit that can both match one person in the same period (UNIQUE broken)."""
    found = []
    for a, b in combinations(rules, 2):
        if a.benefit != b.benefit:
            continue
        periods_meet = (a.end is None or b.start is None or b.start <= a.end) and (
            b.end is None or a.start is None or a.start <= b.end
        )
        if periods_meet and overlap(a.when, b.when, fields):
            found.append((a, b))
    return found


def _check_overlaps(rules: list[Rule], fields: dict[str, Field]) -> None:
    for a, b in overlaps(rules, fields)[:1]:
        raise ConfigError(
            f"benefit {a.benefit}: rows {a.name} and {b.name} can both match one person in the same "
            "period (decision tables are UNIQUE); narrow their conditions or effective dates"
        )


def gaps(rules: list[Rule]) -> list[str]:
    """Age bands missing between rows that differ only in age (reported, not an error)."""
    out: list[str] = []
    groups: dict[tuple[str, Condition, Period | None, Period | None], list[Rule]] = {}
    for r in rules:
        groups.setdefault((r.benefit, r.when.without(AGE.name), r.start, r.end), []).append(r)
    for (benefit, _, _, _), members in sorted(groups.items(), key=lambda kv: kv[1][0].name):
        members.sort(key=lambda r: r.when.bounds(AGE.name)[0] or 0)
        for lower, upper in pairwise(members):
            below, above = lower.when.bounds(AGE.name)[1], upper.when.bounds(AGE.name)[0] or 0
            if below is not None and above > below + 1:
                out.append(
                    f"{benefit}: no row for ages {below + 1}-{above - 1} between {lower.id} and {upper.id}"
                )
    by_benefit: dict[str, list[Rule]] = {}
    for r in rules:
        by_benefit.setdefault(r.benefit, []).append(r)
    for benefit, members in sorted(by_benefit.items()):
        starts = sorted({r.start for r in members if r.start})
        for s in starts[1:]:
            if not any(r.in_force(s.previous()) for r in members):
                out.append(f"{benefit}: no row in force in {s.previous()}, between earlier rows and {s}")
    return out


def county_path(config_dir: Path, county: str) -> Path:
    """The config file of a county slug; refuses anything that is not a plain slug (no path tricks)."""
    path = config_dir / "counties" / f"{county}.yaml"
    if not SLUG.match(county) or not path.is_file():
        known = ", ".join(
            f"{slug} ({', '.join(filter(None, (name, code)))})" if name or code else slug
            for slug, name, code in county_directory(config_dir)
        )
        raise ConfigError(
            f"no county {county!r} in {config_dir / 'counties'}; give a county's slug, Chinese name or "
            f"division code: {known or 'none is configured'}"
        )
    return path


def county_directory(config_dir: Path) -> list[tuple[str, str, str]]:
    """(slug, Chinese name, division code) of every county config that can be read; a broken one is
    left out here (its own load reports it)."""
    found = []
    for path in sorted((config_dir / "counties").glob("*.yaml")):
        try:
            raw = read_yaml(path).value
        except ConfigError:
            continue
        name, code = raw.get("name"), raw.get("division_code")
        found.append(
            (path.stem, name if isinstance(name, str) else "", code if isinstance(code, str) else "")
        )
    return found


def find_county(config_dir: Path, given: str) -> str:
    """The slug for what a clerk typed: the slug, the Chinese name (嘉祥县) or the division code (370829),
    in any case; anything else is returned as it is (and refused by load_county)."""
    wanted = given.strip().casefold()
    directory = county_directory(config_dir)
    for slug, _, _ in directory:
        if wanted == slug.casefold():
            return slug
    for slug, name, code in directory:
        if wanted in (name.casefold(), code):
            return slug
    return given


def condition_fields(schema: RosterSchema) -> dict[str, Field]:
    """What the rows of a county config may test: every roster column, and age."""
    return {**schema.fields(), AGE.name: AGE}


def load_county(config_dir: Path, county: str, schema: RosterSchema | None = None) -> CountyConfig:
    """Load config/counties/<county>.yaml with everything it inherits; any defect raises ConfigError.

    Conditions are checked against the roster schema (by default schemas/roster.yaml).
    """
    path = county_path(config_dir, county)
    schema = schema or load_schema(schema_dir=SCHEMA_DIR)
    fields = condition_fields(schema)
    top = read_yaml(path)
    raw = top.mapping(
        _COUNTY_KEYS, required=("county", "name", "division_code", "document", "bank_memo", "ledger")
    )
    if raw["county"].value != county:
        raise raw["county"].error(f"must be {county!r}, the file's name")
    age_basis = raw["age_basis"].choice(AGE_BASES) if "age_basis" in raw else AGE_BASES[0]
    encoding = raw["bank_file_encoding"].choice(ENCODINGS) if "bank_file_encoding" in raw else ENCODINGS[0]
    division = raw["division_code"].text()
    if not re.fullmatch(r"\d{6}", division):
        raise raw["division_code"].error('must be 6 digits written as quoted text, e.g. "370829"')
    home_share = (
        _share(raw["min_home_hukou_share"]) if "min_home_hukou_share" in raw else DEFAULT_MIN_HOME_HUKOU_SHARE
    )
    standards = _standards(raw.get("standards"))
    files = [path]
    own_fields = _terms(raw.get("terms"), fields)
    rules = _rules(raw.get("benefits"), f"counties/{county}.yaml", own_fields, standards)
    for inh_node in raw["inherit"].items() if "inherit" in raw else []:
        inh = inh_node.mapping(_INHERIT_KEYS, required=("from", "benefits"))
        rel = inh["from"].text()
        if not re.fullmatch(r"(shared|counties)/[a-z][a-z0-9_]*", rel):
            raise inh["from"].error("must be shared/<name> or counties/<name>")
        src = config_dir / f"{rel}.yaml"
        data = read_yaml(src).mapping(_SHARED_KEYS if rel.startswith("shared/") else _COUNTY_KEYS)
        wanted = [b.text() for b in inh["benefits"].items()]
        offered = data["benefits"].entries() if "benefits" in data else {}
        missing = [b for b in wanted if b not in offered]
        if missing:
            raise inh["benefits"].error(f"{src} has no benefit {missing[0]!r}")
        src_fields = _terms(data.get("terms"), fields)
        inherited = _rules(
            data["benefits"], f"{rel}.yaml", src_fields, _standards(data.get("standards")), wanted
        )
        start, end = _effective(inh.get("effective"))
        note = inh["note"].text() if "note" in inh else None
        for r in inherited:
            rules.append(
                replace(
                    r,
                    start=start or r.start,
                    end=end or r.end,
                    citation=f"{note}: {r.citation}" if note else r.citation,
                )
            )
        files.append(src)
    # a county that names no layout reads no layout file: its snapshot and run id stay as they were
    layouts = load_bank_layouts(raw["bank_layouts"], config_dir) if "bank_layouts" in raw else BUILTIN
    files += [p for p in layouts.files if p not in files]
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{path}: rule {dupes[0]} is defined twice")
    _check_overlaps(rules, fields)
    rules.sort(key=lambda r: (r.benefit, r.name))
    return CountyConfig(
        county=county,
        name=raw["name"].text(),
        division_code=division,
        document=raw["document"].text(),
        age_basis=age_basis,
        bank_file_encoding=encoding,
        rules=tuple(rules),
        standards=standards,
        files=tuple(files),
        gaps=tuple(gaps(rules)),
        fields=fields,
        min_home_hukou_share=home_share,
        bank_memo=raw["bank_memo"].template(period="2024-05", county_name="县"),
        account_digits=schema.account_digits,
        ledger=_ledger(raw["ledger"]),
        bank_layouts=layouts,
        row_fields=own_fields,
    )


def _share(node: Node) -> Decimal:
    """min_home_hukou_share: a quoted decimal from 0 to 1 ("0.5")."""
    share = node.decimal()
    if not Decimal(0) <= share <= Decimal(1):
        raise node.error(f'must be a quoted decimal from 0 to 1, e.g. "0.5" (found {share})')
    return share


# ---- rows written elsewhere (a costing scenario), read by the same parsers as a county's rows ----------

CHANGEABLE = ("description", "when", "amount", "effective")


def parse_row(node: Node, benefit: str, source: str, config: CountyConfig) -> Rule:
    """A row written as a county config writes one (id, description, when, amount, effective, citation),
    checked against the county's roster fields, terms and standards; `source` names where it was written."""
    if not SLUG.match(benefit):
        raise node.error(f"benefit code {benefit!r} must be lower_snake_case")
    return _rule(node, benefit, source, config.row_fields or config.fields, config.standards)


def amend_row(rule: Rule, node: Node, config: CountyConfig, citation: str) -> Rule:
    """The row with the keys `node` gives replaced, each read by the county rows' own parsers. `when`
    replaces the tests of the fields it names and keeps the others (hukou_code stays when only age moves)."""
    given = node.mapping(CHANGEABLE)
    changed = replace(rule, citation=citation)
    if "description" in given:
        changed = replace(changed, description=given["description"].text())
    if "when" in given:
        new = parse_condition(given["when"], config.row_fields or config.fields)
        kept = rule.when
        for name in new.fields():
            kept = kept.without(name)
        tests = tuple(sorted((*kept.tests, *new.tests), key=lambda t: (t.field, t.op)))
        changed = replace(changed, when=Condition(tests))
    if "amount" in given:
        changed = replace(changed, amount=_amount(given["amount"], config.standards))
    if "effective" in given:
        start, end = _effective(given["effective"])
        changed = replace(changed, start=start, end=end)
    return changed
