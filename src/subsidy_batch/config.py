"""Load county configs strictly: decision tables with citations, inheritance, overlap and gap checks."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from itertools import combinations, pairwise
from pathlib import Path
from typing import Any

import yaml

from subsidy_batch.errors import ConfigError
from subsidy_batch.money import yuan_to_fen
from subsidy_batch.period import Period

# libyaml's C loader when present (same safe subset of YAML, ~10x faster), else the pure-Python one
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
NOT_SET = "not set"
SLUG = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
AGE_BASES = ("month_after_birthday", "birthday_month")
ENCODINGS = ("gb18030", "utf-8")
RESIDENCES = ("urban", "rural")
CATEGORICAL = ("income_status", "family_planning", "residence")

_COUNTY_KEYS = {
    "county",
    "name",
    "division_code",
    "document",
    "age_basis",
    "bank_file_encoding",
    "inherit",
    "benefits",
    "ability_terms",
    "standards",
    "facility_benefits",  # yearly facility subsidies: read by facilities.py
    "min_home_hukou_share",  # below this share of home 户籍 codes a roster is refused as another county's
}
DEFAULT_MIN_HOME_HUKOU_SHARE = Decimal("0.5")
_SHARED_KEYS = {"title", "benefits"}
_INHERIT_KEYS = {"from", "benefits", "effective", "note"}
_BENEFIT_KEYS = {"title", "rows"}
_ROW_KEYS = {"id", "description", "when", "amount", "effective", "citation"}
_WHEN_KEYS = {"age", "income_status", "ability_grade", "ability", "family_planning", "residence", "hukou"}
_AMOUNT_KEYS = {"monthly", "yearly", "disbursement", "reason", "percent", "of"}
_EFFECTIVE_KEYS = {"from", "to"}


@dataclass(frozen=True)
class Condition:
    """Who a row applies to; a None field matches everyone (including an empty optional cell)."""

    age_min: int | None = None
    age_max: int | None = None
    income_status: frozenset[str] | None = None
    family_planning: frozenset[str] | None = None
    residence: frozenset[str] | None = None
    ability_grade: frozenset[int] | None = None
    hukou_code: str | None = None
    hukou_prefix: str | None = None

    def overlaps(self, other: Condition) -> bool:
        lo = max(self.age_min or 0, other.age_min or 0)
        hi = min(
            self.age_max if self.age_max is not None else 999,
            other.age_max if other.age_max is not None else 999,
        )
        if lo > hi:
            return False
        for name in (*CATEGORICAL, "ability_grade"):
            mine, theirs = getattr(self, name), getattr(other, name)
            if mine is not None and theirs is not None and not mine & theirs:
                return False
        return _hukou_meets(self, other)

    def without_age(self) -> Condition:
        return replace(self, age_min=None, age_max=None)


def _hukou_meets(a: Condition, b: Condition) -> bool:
    prefixes = [p for p in (a.hukou_code, a.hukou_prefix, b.hukou_code, b.hukou_prefix) if p]
    return all(x.startswith(y) or y.startswith(x) for x, y in combinations(prefixes, 2))


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
    # accepted rows whose hukou_code is division_code, at least: else the roster is another county's
    min_home_hukou_share: Decimal = DEFAULT_MIN_HOME_HUKOU_SHARE

    def rules_in_force(self, period: Period) -> list[Rule]:
        return [r for r in self.rules if r.in_force(period)]

    @property
    def benefits(self) -> list[str]:
        return sorted({r.benefit for r in self.rules})


def _keys(where: str, data: Any, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping, found {type(data).__name__}")
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(sorted(allowed))})")
    return data


def _need(where: str, data: dict[str, Any], key: str) -> Any:
    if data.get(key) in (None, ""):
        raise ConfigError(f"{where}: missing {key!r}")
    return data[key]


def _period(where: str, value: Any) -> Period:
    try:
        return Period.parse(str(value))
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}") from exc


def _money(where: str, value: Any) -> int:
    try:
        return yuan_to_fen(str(value))
    except ValueError as exc:
        raise ConfigError(f'{where}: {exc}; write it as a quoted string like "85.00"') from exc


def _effective(where: str, raw: Any) -> tuple[Period | None, Period | None]:
    if raw is None:
        return None, None
    eff = _keys(where, raw, _EFFECTIVE_KEYS)
    start = _period(f"{where}.from", eff["from"]) if "from" in eff else None
    end = _period(f"{where}.to", eff["to"]) if "to" in eff else None
    if start and end and end < start:
        raise ConfigError(f"{where}: 'to' {end} is before 'from' {start}")
    return start, end


def _amount(where: str, raw: Any, standards: dict[str, dict[str, Standard]]) -> Amount:
    amt = _keys(where, raw, _AMOUNT_KEYS)
    kinds = [k for k in ("monthly", "yearly", "percent") if k in amt]
    if len(kinds) != 1:
        raise ConfigError(f"{where}: give exactly one of monthly, yearly or percent")
    kind = kinds[0]
    if kind == "percent":
        of = _need(where, amt, "of")
        if of not in standards:
            raise ConfigError(f"{where}: 'of: {of}' names no entry under 'standards'")
        try:
            bp = Decimal(str(amt["percent"])) * 100
        except InvalidOperation as exc:
            raise ConfigError(f"{where}: percent {amt['percent']!r} is not a number") from exc
        if bp != bp.to_integral_value() or not 0 < bp <= 10000:
            raise ConfigError(f"{where}: percent must be between 0 and 100 with at most 2 decimals")
        return Amount(kind, basis_points=int(bp), of=of)
    value = amt[kind]
    payment_month = None
    if kind == "yearly":
        disbursement = amt.get("disbursement", "monthly")
        if disbursement != "monthly":
            if not isinstance(disbursement, dict) or set(disbursement) != {"month"}:
                raise ConfigError(f"{where}.disbursement: write 'monthly' or {{month: N}}")
            payment_month = int(disbursement["month"])
            if not 1 <= payment_month <= 12:
                raise ConfigError(f"{where}.disbursement.month must be 1-12")
    elif "disbursement" in amt:
        raise ConfigError(f"{where}: 'disbursement' applies to yearly amounts only")
    if value == NOT_SET:
        return Amount(kind, None, _need(where, amt, "reason"), payment_month)
    if "reason" in amt:
        raise ConfigError(f"{where}: 'reason' is only for amounts that are {NOT_SET!r}")
    return Amount(kind, _money(f"{where}.{kind}", value), None, payment_month)


def _condition(where: str, raw: Any, ability_terms: dict[str, frozenset[int]]) -> Condition:
    when = _keys(where, raw or {}, _WHEN_KEYS)
    out: dict[str, Any] = {}
    if "age" in when:
        age = _keys(f"{where}.age", when["age"], {"min", "max"})
        out["age_min"], out["age_max"] = age.get("min"), age.get("max")
    for name in CATEGORICAL:
        if name in when:
            out[name] = frozenset(str(v) for v in when[name])
    if "ability_grade" in when and "ability" in when:
        raise ConfigError(f"{where}: use either ability_grade or ability, not both")
    if "ability_grade" in when:
        out["ability_grade"] = frozenset(int(v) for v in when["ability_grade"])
    if "ability" in when:
        term = str(when["ability"])
        if term not in ability_terms:
            raise ConfigError(f"{where}.ability: {term!r} is not defined under 'ability_terms'")
        out["ability_grade"] = ability_terms[term]
    if "hukou" in when:
        hukou = _keys(f"{where}.hukou", when["hukou"], {"code", "province"})
        if len(hukou) != 1:
            raise ConfigError(f"{where}.hukou: give exactly one of code or province")
        out["hukou_code"] = str(hukou["code"]) if "code" in hukou else None
        out["hukou_prefix"] = str(hukou["province"]) if "province" in hukou else None
    return Condition(**out)


def _rules(
    where: str,
    benefits: Any,
    source: str,
    ability_terms: dict[str, frozenset[int]],
    standards: dict[str, dict[str, Standard]],
) -> list[Rule]:
    rules: list[Rule] = []
    for benefit, spec in (benefits or {}).items():
        if not SLUG.match(str(benefit)):
            raise ConfigError(f"{where}: benefit code {benefit!r} must be lower_snake_case")
        bwhere = f"{where}: benefits.{benefit}"
        spec = _keys(bwhere, spec, _BENEFIT_KEYS)
        for i, row in enumerate(_need(bwhere, spec, "rows")):
            rwhere = f"{bwhere}.rows[{i}]"
            row = _keys(rwhere, row, _ROW_KEYS)
            start, end = _effective(f"{rwhere}.effective", row.get("effective"))
            rules.append(
                Rule(
                    benefit=benefit,
                    id=str(_need(rwhere, row, "id")),
                    description=str(_need(rwhere, row, "description")),
                    when=_condition(f"{rwhere}.when", row.get("when"), ability_terms),
                    amount=_amount(f"{rwhere}.amount", _need(rwhere, row, "amount"), standards),
                    start=start,
                    end=end,
                    citation=str(_need(rwhere, row, "citation")),
                    source=source,
                )
            )
    return rules


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=SAFE_LOADER)
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"config {path} must be a mapping at the top level")
    return data


def _standards(where: str, raw: Any) -> dict[str, dict[str, Standard]]:
    out: dict[str, dict[str, Standard]] = {}
    for name, by_residence in (raw or {}).items():
        swhere = f"{where}: standards.{name}"
        _keys(swhere, by_residence, set(RESIDENCES))
        out[name] = {}
        for residence in RESIDENCES:
            value = _keys(
                f"{swhere}.{residence}", _need(swhere, by_residence, residence), {"monthly", "reason"}
            )
            if value.get("monthly") == NOT_SET:
                out[name][residence] = Standard(None, _need(f"{swhere}.{residence}", value, "reason"))
            else:
                out[name][residence] = Standard(_money(f"{swhere}.{residence}", value.get("monthly")), None)
    return out


def _check_overlaps(rules: list[Rule]) -> None:
    for a, b in combinations(rules, 2):
        if a.benefit != b.benefit:
            continue
        periods_meet = (a.end is None or b.start is None or b.start <= a.end) and (
            b.end is None or a.start is None or a.start <= b.end
        )
        if periods_meet and a.when.overlaps(b.when):
            raise ConfigError(
                f"benefit {a.benefit}: rows {a.name} and {b.name} can both match one person in the same "
                "period (decision tables are UNIQUE); narrow their conditions or effective dates"
            )


def _gaps(rules: list[Rule]) -> list[str]:
    """Age bands missing between rows that differ only in age (reported, not an error)."""
    out: list[str] = []
    groups: dict[tuple[str, Condition, Period | None, Period | None], list[Rule]] = {}
    for r in rules:
        groups.setdefault((r.benefit, r.when.without_age(), r.start, r.end), []).append(r)
    for (benefit, _, _, _), members in sorted(groups.items(), key=lambda kv: kv[1][0].name):
        members.sort(key=lambda r: r.when.age_min or 0)
        for lower, upper in pairwise(members):
            if lower.when.age_max is not None and (upper.when.age_min or 0) > lower.when.age_max + 1:
                out.append(
                    f"{benefit}: no row for ages {lower.when.age_max + 1}-{(upper.when.age_min or 0) - 1} "
                    f"between {lower.id} and {upper.id}"
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
    if not SLUG.match(county):
        raise ConfigError(f"{county!r} is not a county name; use a slug like jiaxiang")
    path = config_dir / "counties" / f"{county}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (config_dir / "counties").glob("*.yaml"))
        raise ConfigError(f"no county {county!r} in {config_dir / 'counties'}; known: {', '.join(known)}")
    return path


def load_county(config_dir: Path, county: str) -> CountyConfig:
    """Load config/counties/<county>.yaml with everything it inherits; any defect raises ConfigError."""
    path = county_path(config_dir, county)
    where = str(path)
    raw = _keys(where, _read_yaml(path), _COUNTY_KEYS)
    if raw.get("county") != county:
        raise ConfigError(f"{where}: 'county' must be {county!r}, the file's name")
    age_basis = raw.get("age_basis", AGE_BASES[0])
    if age_basis not in AGE_BASES:
        raise ConfigError(f"{where}: age_basis must be one of {', '.join(AGE_BASES)}")
    encoding = raw.get("bank_file_encoding", ENCODINGS[0])
    if encoding not in ENCODINGS:
        raise ConfigError(f"{where}: bank_file_encoding must be one of {', '.join(ENCODINGS)}")
    division = str(_need(where, raw, "division_code"))
    if not re.fullmatch(r"\d{6}", division):
        raise ConfigError(f"{where}: division_code must be 6 digits")
    home_share = _share(where, raw.get("min_home_hukou_share"))
    ability_terms = {
        str(k): frozenset(int(g) for g in v) for k, v in (raw.get("ability_terms") or {}).items()
    }
    standards = _standards(where, raw.get("standards"))
    files = [path]
    rules = _rules(where, raw.get("benefits"), f"counties/{county}.yaml", ability_terms, standards)
    for i, inh in enumerate(raw.get("inherit") or []):
        iwhere = f"{where}: inherit[{i}]"
        inh = _keys(iwhere, inh, _INHERIT_KEYS)
        rel = str(_need(iwhere, inh, "from"))
        if not re.fullmatch(r"(shared|counties)/[a-z][a-z0-9_]*", rel):
            raise ConfigError(f"{iwhere}: 'from' must be shared/<name> or counties/<name>")
        src = config_dir / f"{rel}.yaml"
        data = _read_yaml(src)
        _keys(str(src), data, _SHARED_KEYS if rel.startswith("shared/") else _COUNTY_KEYS)
        wanted = list(_need(iwhere, inh, "benefits"))
        missing = [b for b in wanted if b not in (data.get("benefits") or {})]
        if missing:
            raise ConfigError(f"{iwhere}: {src} has no benefit {missing[0]!r}")
        src_terms = {
            str(k): frozenset(int(g) for g in v) for k, v in (data.get("ability_terms") or {}).items()
        }
        inherited = _rules(str(src), {b: data["benefits"][b] for b in wanted}, f"{rel}.yaml", src_terms, {})
        start, end = _effective(f"{iwhere}.effective", inh.get("effective"))
        note = inh.get("note")
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
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"{where}: rule {dupes[0]} is defined twice")
    _check_overlaps(rules)
    rules.sort(key=lambda r: (r.benefit, r.name))
    return CountyConfig(
        county=county,
        name=str(_need(where, raw, "name")),
        division_code=division,
        document=str(_need(where, raw, "document")),
        age_basis=age_basis,
        bank_file_encoding=encoding,
        rules=tuple(rules),
        standards=standards,
        files=tuple(files),
        gaps=tuple(_gaps(rules)),
        min_home_hukou_share=home_share,
    )


def _share(where: str, value: object) -> Decimal:
    """min_home_hukou_share: a quoted decimal from 0 to 1 ("0.5"); absent means 0.5."""
    if value is None:
        return DEFAULT_MIN_HOME_HUKOU_SHARE
    try:
        if not isinstance(value, str):
            raise InvalidOperation
        share = Decimal(value)
    except InvalidOperation:
        share = None
    if share is None or not share.is_finite() or not Decimal(0) <= share <= Decimal(1):
        raise ConfigError(
            f'{where}: min_home_hukou_share must be a quoted decimal from 0 to 1, e.g. "0.5" (found {value!r})'
        )
    return share
