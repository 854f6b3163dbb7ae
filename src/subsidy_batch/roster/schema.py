"""Load a roster schema declared as data under schemas/ and turn it into pandera checks."""

from __future__ import annotations

import importlib
import os
import re
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from subsidy_batch import imports
from subsidy_batch.errors import ConfigError
from subsidy_batch.frames import cut_like
from subsidy_batch.roster import creditcode, dates, digits, idnumber
from subsidy_batch.rules.conditions import TYPES, Field
from subsidy_batch.rules.strict import Node, read_yaml

if TYPE_CHECKING:
    import pandera.polars as pa
    from pandera.api.polars.types import PolarsData

SCHEMA_DIR = Path(os.environ.get("SUBSIDY_SCHEMA_DIR", Path(__file__).resolve().parents[3] / "schemas"))

_COLUMN_KEYS = {"zh", "synonyms", "required", "type", "normalise", "aliases", "checks", "payable"}
_CHECK_KEYS = {"kind", "problem", "message", "pattern", "values", "limit"}
_TOP_KEYS = {"schema", "schema_version", "columns"}
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)} | {"Ｘ": "X", "ｘ": "x", "－": "-", "／": "/"}

# The columns the program itself reads by name, per schema file, with the type it reads them as; the
# other columns serve the county rules' conditions, which are checked against the schema when a county
# file loads. Without one of these a run would stop half-way, so the schema is refused when it loads.
CODE_COLUMNS: dict[str, dict[str, str]] = {
    "roster": {
        "id_number": "text",
        "name": "text",
        "hukou_code": "text",
        "township": "text",
        "residence": "text",
        "death_date": "date",
        "bank_name": "text",
        "bank_account": "text",
    },
    "population": {
        "id_number": "text",
        "name": "text",
        "hukou_code": "text",
        "birth_date": "date",
        "township": "text",
        "status": "text",
    },
    "deaths": {"id_number": "text", "name": "text", "death_date": "date", "source": "text"},
    "facility": {
        "facility_id": "text",
        "name": "text",
        "kind": "text",
        "rating": "text",
        "months_operated": "integer",
        "daily_users": "integer",
        "residents_moderate": "integer",
        "residents_severe": "integer",
        "bank_name": "text",
        "bank_account": "text",
    },
}
# helper values the program reads after the checks (each person's ID key and date of birth), computed
# whether or not a check of the schema needs them
CODE_HELPERS: dict[str, tuple[tuple[str, str], ...]] = {
    "roster": (("id_number", "key"), ("id_number", "birth")),
    "population": (("id_number", "key"), ("id_number", "birth")),
}


@dataclass(frozen=True)
class CheckSpec:
    column: str
    kind: str
    problem: str
    message: str
    pattern: str | None = None
    values: tuple[str, ...] = ()
    limit: int | None = None  # max_length: the most characters a value may have


@dataclass(frozen=True)
class ColumnSpec:
    name: str
    zh: str
    required: bool
    normalise: tuple[str, ...]
    aliases: dict[str, str]
    checks: tuple[CheckSpec, ...]
    type: str = "text"  # what the engine sees once the row is accepted: text, integer, decimal, date
    synonyms: tuple[str, ...] = ()  # other headers clerks write for the column (身份证号码, 身份证号)
    payable: tuple[int, int] | None = None  # an account column: (min, max) digits a bank file can carry

    def allowed(self) -> tuple[str, ...] | None:
        """The only values the column may hold, as text, when a one_of check lists them."""
        lists = [set(c.values) for c in self.checks if c.kind == "one_of"]
        if not lists:
            return None
        common = set.intersection(*lists)
        return tuple(v for v in next(c.values for c in self.checks if c.kind == "one_of") if v in common)

    def field(self) -> Field:
        """The column as rule conditions see it: its type, and its allowed values typed."""
        allowed = self.allowed()
        if allowed is not None and self.type == "integer":
            typed: tuple[Any, ...] | None = tuple(int(v) for v in allowed)
        else:
            typed = allowed
        return Field(self.name, self.zh, self.type, typed, self.aliases)


@dataclass(frozen=True)
class RosterSchema:
    name: str
    version: int
    path: Path
    columns: dict[str, ColumnSpec] = field(default_factory=dict)
    helpers: tuple[tuple[str, str], ...] = ()  # (column, helper) the program reads itself: CODE_HELPERS

    def header_map(self) -> dict[str, str]:
        """Every header a column may have (English, Chinese, synonyms), as header_key, to its English name."""
        out: dict[str, str] = {}
        for spec in self.columns.values():
            for header in (spec.name, spec.zh, *spec.synonyms):
                out[header_key(header)] = spec.name
        return out

    @property
    def required(self) -> list[str]:
        return [c.name for c in self.columns.values() if c.required]

    @property
    def account_digits(self) -> tuple[int, int]:
        """The digits a payable bank account has (the bank_account column's `payable`)."""
        spec = self.columns.get("bank_account")
        if spec is None or spec.payable is None:
            raise ConfigError(
                f"{self.path}: columns.bank_account needs payable: {{min_digits: .., max_digits: ..}}, "
                "the account lengths a bank file can carry"
            )
        return spec.payable

    def fields(self) -> dict[str, Field]:
        return {name: spec.field() for name, spec in self.columns.items()}


def _payable(node: Node) -> tuple[int, int]:
    """payable: {min_digits: 8, max_digits: 30}: the accounts a bank file can carry (others are held)."""
    keys = ("min_digits", "max_digits")
    digits = node.mapping(keys, required=keys)
    low = digits["min_digits"].integer(low=1)
    high = digits["max_digits"].integer(low=low)
    return low, high


def load_schema(name: str = "roster", schema_dir: Path = SCHEMA_DIR) -> RosterSchema:
    """Read schemas/<name>.yaml strictly: an unknown key, check kind or type is an error naming the file."""
    path = schema_dir / f"{name}.yaml"
    top = read_yaml(path, "schema").mapping(_TOP_KEYS, required=_TOP_KEYS)
    columns: dict[str, ColumnSpec] = {}
    for col_name, col_node in top["columns"].entries().items():
        col = col_node.mapping(_COLUMN_KEYS, required=("zh", "required"))
        checks = []
        for chk_node in col["checks"].items() if "checks" in col and col["checks"].value else []:
            chk = chk_node.mapping(_CHECK_KEYS, required=("kind", "problem", "message"))
            kind = chk["kind"].choice(CHECK_KINDS)
            if (kind == "max_length") != ("limit" in chk):
                raise chk_node.error(
                    "'limit' (a whole number above 0) is needed by max_length, and only by it"
                )
            if (kind == "matches") != ("pattern" in chk):
                raise chk_node.error("'pattern' (a regular expression) is needed by matches, and only by it")
            checks.append(
                CheckSpec(
                    column=col_name,
                    kind=kind,
                    problem=chk["problem"].text(),
                    message=chk["message"].text(),
                    pattern=_pattern(chk["pattern"]) if "pattern" in chk else None,
                    values=tuple(_text_value(v) for v in chk["values"].items()) if "values" in chk else (),
                    limit=chk["limit"].integer(low=1) if "limit" in chk else None,
                )
            )
        normalise = [n.choice(NORMALISERS) for n in col["normalise"].items()] if "normalise" in col else []
        aliases = (
            {str(k): _text_value(v) for k, v in col["aliases"].entries().items()} if "aliases" in col else {}
        )
        column_type = col["type"].choice(TYPES) if "type" in col else "text"
        if column_type in ("integer", "decimal") and not any(c.kind in ("one_of", "matches") for c in checks):
            raise col_node.error(
                f"a {column_type} column needs a one_of or matches check that guarantees its values are numbers"
            )
        if column_type == "date" and not any(c.kind == "date" for c in checks):
            raise col_node.error("a date column needs a date check (it parses the dates the engine sees)")
        if column_type == "integer":
            for c in checks:
                if c.kind == "one_of" and not all(v.isdigit() for v in c.values):
                    raise col_node.error("an integer column's one_of values must be whole numbers")
        columns[col_name] = ColumnSpec(
            name=col_name,
            zh=col["zh"].text(),
            required=col["required"].boolean(),
            normalise=tuple(normalise),
            aliases=aliases,
            checks=tuple(checks),
            type=column_type,
            synonyms=tuple(n.text() for n in col["synonyms"].items()) if "synonyms" in col else (),
            payable=_payable(col["payable"]) if "payable" in col else None,
        )
    schema = RosterSchema(
        top["schema"].text(), top["schema_version"].integer(low=1), path, columns, CODE_HELPERS.get(name, ())
    )
    _code_columns(top["columns"], name, columns)
    return schema


def _pattern(node: Node) -> str:
    """A matches check's regular expression, compiled by polars as the checks will run it (Rust regex
    syntax: no look-around or backreferences, unlike Python's re)."""
    pattern = node.text()
    try:
        pl.DataFrame(schema={"value": pl.String}).select(digits.matches(pl.col("value"), pattern))
    except pl.exceptions.PolarsError as exc:
        why = re.search(r"^error: (.+)$", str(exc), re.MULTILINE)
        raise node.error(
            f"{pattern!r} is not a regular expression the checks can use "
            f"({why.group(1) if why else 'it does not compile'}); write it in Rust regex syntax, "
            "e.g. '^[0-9]{6}$'"
        ) from exc
    return pattern


def _code_columns(node: Node, name: str, columns: dict[str, ColumnSpec]) -> None:
    """Every column the program reads by name (CODE_COLUMNS) is declared, with the type it is read as."""
    for column, wanted in CODE_COLUMNS.get(name, {}).items():
        spec = columns.get(column)
        if spec is None:
            raise node.error(
                f"the column {column!r} is missing; the program reads it by name, so declare it "
                f"(type: {wanted})"
            )
        if spec.type != wanted:
            how = f"write type: {wanted}" if wanted != "text" else "leave out type (text is the default)"
            raise node.child(column, None).error(
                f"type {spec.type} is not allowed; the program reads {column} as {wanted}, so {how}"
            )


def header_key(header: str) -> str:
    """A header as compared: full-width forms folded (（）, 　), every space and line break removed, any
    case. So 姓　名, "乡镇(街道)" and a header with a line break in it find their column."""
    folded = unicodedata.normalize("NFKC", header.lstrip("\ufeff"))
    return "".join(folded.split()).casefold()


def _text_value(node: Node) -> str:
    """A value a text column may hold: written as text or as a whole number ('0' or 0)."""
    if isinstance(node.value, int) and not isinstance(node.value, bool):
        return str(node.value)
    return node.text()


def _fullwidth(e: pl.Expr) -> pl.Expr:
    return e.str.replace_many(list(_FULLWIDTH), list(_FULLWIDTH.values()))


_ZERO_WIDTH = "[\u200b\u200c\u200d\u2060\ufeff]"


def _excel_text(e: pl.Expr) -> pl.Expr:
    """What Excel users type to keep a number as text: '370829..., ="370829...", and zero-width spaces
    pasted from web pages; the value inside is kept."""
    e = e.str.replace_all(_ZERO_WIDTH, "")
    e = e.str.replace(r'^="(.*)"$', "$1")
    return e.str.replace(r"^'", "")


# a month alone (2024-05, 2024/5, 2024.5, 2024年5月, 202405) stands for its first day
_MONTH_ONLY = r"^(\d{4})(?:[-/.年]?)(0?[1-9]|1[0-2])月?$"


def _month_start(e: pl.Expr) -> pl.Expr:
    """A month written alone becomes the date of its first day (2024-05 -> 2024-05-01); dates stay."""
    month = e.str.extract(_MONTH_ONLY, 2).str.zfill(2)
    return (
        pl.when(e.str.contains(_MONTH_ONLY))
        .then(pl.format("{}-{}-01", e.str.extract(_MONTH_ONLY, 1), month))
        .otherwise(e)
    )


_FIFTEEN = r"^[0-9]{15}$"


def _id_15_to_18(e: pl.Expr) -> pl.Expr:
    """A first-generation 15-digit ID as its 18-character form (idnumber.from_15_digits); others unchanged,
    so that a malformed ID is still reported by the checks as written."""
    return pl.when(e.str.contains(_FIFTEEN)).then(idnumber.from_15_digits(e)).otherwise(e)


NORMALISERS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "id_15_to_18": _id_15_to_18,
    "excel_text": _excel_text,
    "month_start": _month_start,
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


# Cells that a normalise step would change; clean cells are left as they are (the common case).
_DIRTY = {
    "id_15_to_18": _FIFTEEN,
    "excel_text": "^'|^=\"|" + _ZERO_WIDTH,
    "month_start": _MONTH_ONLY,
    "strip": r"^\s|\s$",
    "remove_spaces": r"\s",
    "fullwidth": "[" + "".join(_FULLWIDTH) + "]",
    "upper": "[a-z]",
    "lower": "[A-Z]",
}


def _rewrite(column: str, old: pl.Series, new: pl.Series) -> pl.Expr:
    """Replace exactly these values; a short when/then chain is much faster than a hash lookup per cell."""
    if old.len() > 64:
        return pl.col(column).replace(old, new)
    expr = pl.col(column)
    for before, after in zip(old.to_list(), new.to_list(), strict=True):
        expr = pl.when(pl.col(column) == before).then(pl.lit(after, pl.String)).otherwise(expr)
    return expr


def normalise_frame(frame: pl.DataFrame, schema: RosterSchema) -> pl.DataFrame:
    """Normalise every schema column by rewriting only the values that change; same as normalise_expr."""
    return normalise_with_values(frame, schema)[0]


def normalise_with_values(
    frame: pl.DataFrame, schema: RosterSchema
) -> tuple[pl.DataFrame, dict[str, frozenset[str]]]:
    """normalise_frame, and every distinct normalised value of each repetitive column (township, 经济状况).

    The distinct values a normalise step would change are found by one lazy query per column, run in
    parallel (all distinct values of a repetitive column such as township or 经济状况; the distinct "dirty"
    values of any other), normalised once each, and rewritten in one more lazy query. Clean columns are
    not touched.
    """
    specs = list(schema.columns.values())
    sample = frame.head(10_000)
    scans, every_value = [], set()
    for spec in specs:
        values = pl.col(spec.name)
        if spec.aliases or sample.get_column(spec.name).n_unique() * 20 <= sample.height:
            candidates = values
            every_value.add(spec.name)
        else:
            dirty = "|".join(["^$", "^\\s|\\s$", *(_DIRTY[step] for step in spec.normalise)])
            digits_stay = "id_15_to_18" not in spec.normalise  # that step rewrites text of 15 digits
            if digits_stay and (sample.select(digits.only_digits(values).mean()).item() or 0) > 0.5:
                # ID numbers, accounts: text of ASCII digits only is left as it is by every step, and
                # telling it apart is cheaper than searching it; the regex searches the rest
                values = values.filter(~digits.only_digits(values).fill_null(False))
            candidates = values.filter(values.str.contains(dirty))
        scans.append(frame.lazy().select(candidates.drop_nulls().unique().sort().alias(spec.name)))
    # one query per column, run side by side: in a single select polars 2.1 ran them one after another
    found = {spec.name: part.to_series() for spec, part in zip(specs, pl.collect_all(scans), strict=True)}
    rewrites, distinct = [], {}
    for spec in specs:
        old = found[spec.name]
        new = old.to_frame().select(normalise_expr(spec)).to_series()
        if spec.name in every_value:
            distinct[spec.name] = frozenset(new.drop_nulls().to_list())
        changed = (old != new) | new.is_null()
        if changed.any():
            rewrites.append(_rewrite(spec.name, old.filter(changed), new.filter(changed)).alias(spec.name))
    return (frame.lazy().with_columns(rewrites).collect() if rewrites else frame), distinct


@dataclass(frozen=True)
class Helper:
    """A value that checks compare (ID key and checksum, dates), computed once per roster, not per check."""

    value: Callable[[str], pl.Expr]  # from the column's name
    # Only rows where `where` holds need the value; the others get `otherwise`. A rare case (a date given,
    # an Excel-mangled ID) is then worked out on a few rows instead of millions.
    where: Callable[[str], pl.Expr] | None = None
    otherwise: object = None
    uses: tuple[str, ...] = ()  # helpers of the same column that `where` reads (computed first)
    # A cheap expression giving the same value as `value` wherever it is not null, computed on every row;
    # `value` is then worked out only on the rows (of `where`) it leaves null, and `otherwise` is not used.
    quick: Callable[[pl.Expr], pl.Expr] | None = None  # of the column


HELPERS: dict[str, Helper] = {
    "key": Helper(lambda c: idnumber.exact_key(pl.col(c))),
    "check_ok": Helper(lambda c: idnumber.check_character_ok(pl.col(c))),
    "birth": Helper(lambda c: idnumber.checked_birth_date(pl.col(c))),
    "credit_ok": Helper(lambda c: creditcode.check_character_ok(pl.col(c))),
    # Excel notation never has an ID's shape, and check_ok is null exactly where the shape is wrong
    "scientific": Helper(
        lambda c: idnumber.scientific(pl.col(c)),
        where=lambda c: helper(c, "check_ok").is_null(),
        otherwise=False,
        uses=("check_ok",),
    ),
    # only an ID whose check character fails can be reported as rounded by Excel (see CHECK_KINDS)
    "rounded": Helper(
        lambda c: idnumber.rounded_digits(pl.col(c)),
        where=lambda c: ~helper(c, "check_ok").fill_null(False),
        otherwise=False,
        uses=("check_ok",),
    ),
    # a column of dates written YYYY-MM-DD (a 户籍 extract's 出生日期 for millions) skips the other forms
    "date": Helper(
        lambda c: dates.parse_date(pl.col(c)), where=lambda c: pl.col(c).is_not_null(), quick=dates.iso_date
    ),
}
OK = "__ok"  # every check of the row passes
# the last day of the period being paid, as a column check_rows adds for the checks that compare with it
PERIOD_END = "__period_end"


def _duplicated(frame: pl.DataFrame, column: str) -> pl.Series:
    """Another row has the same value (needs the whole roster at once).

    Well-formed IDs compare as exact integer keys (the "key" helper): sorting them and taking the values
    equal to a neighbour is ~10x faster than hashing every row. Empty or malformed values (and credit
    codes, which have no key) compare as text among themselves, taken by position.
    """
    text, key = frame.get_column(column), frame.get_column(f"__{column}.key")
    ordered = key.drop_nulls().sort()
    repeated = ordered.filter((ordered == ordered.shift(1)) | (ordered == ordered.shift(-1))).unique()
    flags = key.is_in(repeated.implode()).fill_null(False)
    odd = (key.is_null() & text.is_not_null()).arg_true()
    twice = odd.filter(text.gather(odd).is_duplicated())
    return (flags.scatter(twice, True) if twice.len() else flags).alias(f"__{column}.duplicated")


WHOLE_ROSTER_HELPERS: dict[str, Callable[[pl.DataFrame, str], pl.Series]] = {"duplicated": _duplicated}


def helper(column: str, name: str) -> pl.Expr:
    return pl.col(f"__{column}.{name}")


@dataclass(frozen=True)
class CheckKind:
    """What a check needs computed beforehand ((column or None for its own, helper)) and when a value passes."""

    needs: tuple[tuple[str | None, str], ...]
    passes: Callable[[str, CheckSpec], pl.Expr]  # True (or null: not applicable) where the value passes


def _stored_as_number(column: str) -> pl.Expr:
    """Excel notation, or a rounded 18-digit value whose check character fails (see idnumber)."""
    return helper(column, "scientific") | (
        helper(column, "rounded") & ~helper(column, "check_ok").fill_null(False)
    )


# C0 and C1 control characters (NUL, tab, line breaks, ...) and the Unicode line and paragraph separators:
# never part of a name or a bank's name, and a line break in a cell would split a bank file's record
CONTROL = r"[\x00-\x1F\x7F-\x9F\x{2028}\x{2029}]"
CONTROL_CHARACTERS = (
    *(chr(c) for c in range(0x00, 0x20)),
    *(chr(c) for c in range(0x7F, 0xA0)),
    "\u2028",
    "\u2029",
)


def has_control_character(col: pl.Expr) -> pl.Expr:
    """col.str.contains(CONTROL), as a search for the 67 characters (Aho-Corasick) rather than the regex
    engine: twice as fast on ten million names (0.48 s -> 0.21 s). tests/test_read_validate.py compares
    both on any text."""
    return col.str.contains_any(list(CONTROL_CHARACTERS))


CHECK_KINDS: dict[str, CheckKind] = {
    "not_empty": CheckKind((), lambda c, s: pl.col(c).is_not_null()),
    "no_control_characters": CheckKind((), lambda c, s: ~has_control_character(pl.col(c))),
    "max_length": CheckKind((), lambda c, s: pl.col(c).str.len_chars() <= (s.limit or 0)),
    "matches": CheckKind((), lambda c, s: digits.matches(pl.col(c), s.pattern or "")),
    "one_of": CheckKind((), lambda c, s: pl.col(c).is_in(list(s.values))),
    "unique": CheckKind(((None, "key"), (None, "duplicated")), lambda c, s: ~helper(c, "duplicated")),
    "not_stored_as_number": CheckKind(
        ((None, "scientific"), (None, "rounded"), (None, "check_ok")), lambda c, s: ~_stored_as_number(c)
    ),
    # ^[0-9]{17}[0-9X]$, read off the ID key (null exactly where that shape is wrong) instead of testing
    # the text again
    "gb11643_format": CheckKind(
        ((None, "key"),), lambda c, s: helper(c, "key").is_not_null() | pl.col(c).is_null()
    ),
    # a wrong check character on an Excel-rounded ID is reported once, as id_stored_as_number
    "gb11643_check_character": CheckKind(
        ((None, "check_ok"), (None, "rounded")), lambda c, s: helper(c, "check_ok") | helper(c, "rounded")
    ),
    "gb11643_birth_date": CheckKind(
        ((None, "key"), (None, "birth")),
        lambda c, s: pl.when(helper(c, "key").is_not_null()).then(helper(c, "birth").is_not_null()),
    ),
    "date": CheckKind(((None, "date"),), lambda c, s: helper(c, "date").is_not_null() | pl.col(c).is_null()),
    "gb32100_check_character": CheckKind(((None, "credit_ok"),), lambda c, s: helper(c, "credit_ok")),
    # a date no later than the period's last day (check_rows(period_end=...) gives it)
    "not_after_period_end": CheckKind(
        ((None, "date"),), lambda c, s: helper(c, "date") <= pl.col(PERIOD_END)
    ),
    "not_before_birth": CheckKind(
        ((None, "date"), ("id_number", "birth")),
        lambda c, s: helper(c, "date") >= helper("id_number", "birth"),
    ),
}


def _needed(schema: RosterSchema) -> dict[str, tuple[str, str]]:
    """alias -> (column, helper) for every helper the schema's checks need, each once, those used first."""
    wanted: dict[str, tuple[str, str]] = {}
    for spec in schema.columns.values():
        for chk in spec.checks:
            for column, name in CHECK_KINDS[chk.kind].needs:
                column = column or spec.name
                uses = HELPERS[name].uses if name in HELPERS else ()
                for used in (*uses, name):
                    wanted[f"__{column}.{used}"] = (column, used)
    for column, name in schema.helpers:  # last, so that a schema whose checks need them is as before
        wanted.setdefault(f"__{column}.{name}", (column, name))
    return wanted


def _with_helpers(frame: pl.DataFrame, schema: RosterSchema) -> pl.DataFrame:
    """Every helper the checks need: per-row ones in one parallel pass, rare ones on the rows that need
    them, then the ones that compare rows with each other."""
    needed = _needed(schema)
    every_row = [
        HELPERS[name].value(column).alias(alias)
        for alias, (column, name) in needed.items()
        if name in HELPERS and HELPERS[name].where is None
    ]
    frame = frame.lazy().with_columns(every_row).collect()
    for alias, (column, name) in needed.items():
        made = HELPERS.get(name)
        if made is None or made.where is None:
            continue
        needed_here = made.where(column).fill_null(False)
        quick = None
        if made.quick is not None:
            quick = frame.select(made.quick(pl.col(column)).alias(alias)).to_series()
            needed_here = needed_here & quick.is_null()
        rows = frame.select(needed_here).to_series().arg_true()
        found = frame.select(pl.col(column).gather(rows)).select(made.value(column).alias(alias)).to_series()
        if quick is not None:
            made_here = quick.scatter(rows, found) if rows.len() else quick
        else:
            default = pl.repeat(made.otherwise, frame.height, dtype=found.dtype, eager=True).alias(alias)
            made_here = default.scatter(rows, found) if rows.len() else default
        frame = frame.with_columns(cut_like(made_here, frame.get_column(column)))
    whole = [
        cut_like(WHOLE_ROSTER_HELPERS[name](frame, column), frame.get_column(column))
        for column, name in needed.values()
        if name not in HELPERS
    ]
    return frame.with_columns(whole)


def _passes(spec: CheckSpec) -> pl.Expr:
    """True where the value passes; null means "not applicable" (an empty optional cell, or a value another
    check already rejects), which passes too."""
    return CHECK_KINDS[spec.kind].passes(spec.column, spec).fill_null(True)


# checks that look at a cell's own value alone, and pass an empty cell: on a column whose every distinct
# value is known, they can be worked out once per distinct value
PER_VALUE = ("one_of", "no_control_characters", "max_length", "matches")


def _passes_given(spec: CheckSpec, values: dict[str, frozenset[str]]) -> pl.Expr:
    """_passes, for a column whose every distinct value is known (township, 开户银行, 经济状况): a check on a
    cell's own value is worked out on the distinct values, and the cells are only looked for the values
    that fail it (usually none, so no cell is looked at) instead of testing every cell. pandera still
    checks the failing rows with the full check; tests/test_read_validate.py compares both ways."""
    if spec.kind not in PER_VALUE or spec.column not in values:
        return _passes(spec)
    distinct = pl.DataFrame({spec.column: sorted(values[spec.column])}, schema={spec.column: pl.String})
    failing = distinct.filter(~_passes(spec)).get_column(spec.column).to_list()
    return ~pl.col(spec.column).is_in(failing).fill_null(False) if failing else pl.lit(True)


def with_checks(
    frame: pl.DataFrame, schema: RosterSchema, values: dict[str, frozenset[str]] | None = None
) -> pl.DataFrame:
    """The frame with every helper value and OK: whether every check of the schema passes on the row.

    `values` holds every distinct value of some columns (normalise_with_values), which lets a one_of
    check on them skip the cells; pandera still checks the failing rows with the full check.
    """
    checks = [_passes_given(chk, values or {}) for spec in schema.columns.values() for chk in spec.checks]
    return _with_helpers(frame, schema).with_columns(
        pl.all_horizontal(checks).alias(OK) if checks else pl.lit(True).alias(OK)
    )


def _import_pandera() -> None:
    # structlog first: the run's audit log starts before the roster is read (runs.audit)
    imports.structlog()
    importlib.import_module("pandera.polars")
    # imported by pandera's first validation, on the main thread, otherwise
    imports.import_without("pandera.backends.polars.builtin_checks", "hypothesis")


def start_loading_pandera() -> threading.Thread:
    """Import pandera (about 0.4 s) and structlog on a second thread while the run reads its roster.

    polars lets go of the interpreter while it reads and checks, so the import then costs no wall time.
    Python's import lock makes the later `import pandera.polars` wait for this one rather than import
    twice; if this import fails, that later import raises the error where it is used.
    """
    thread = threading.Thread(target=_import_pandera, name="load-pandera")
    thread.start()
    return thread


def _pandera_check(spec: CheckSpec) -> pa.Check:
    import pandera.polars as pa  # on first use: see start_loading_pandera

    def check(data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(_passes(spec))

    return pa.Check(check, name=spec.problem)


def failing_columns(frame: pl.DataFrame, schema: RosterSchema) -> list[str]:
    """The columns of `frame` (a roster with its helper values) that fail one of their checks on some row,
    in the schema's order: the only columns whose checks can report anything on these rows."""
    if frame.height == 0:
        return []
    fails = [
        pl.any_horizontal([~_passes(chk) for chk in spec.checks]).any().alias(spec.name)
        for spec in schema.columns.values()
        if spec.checks
    ]
    found = frame.select(fails).row(0, named=True) if fails else {}
    return [name for name, failed in found.items() if failed]


def pandera_schema(schema: RosterSchema, columns: Iterable[str] | None = None) -> pa.DataFrameSchema:
    """All columns stay text here, so no failed type conversion can hide another problem of the row.

    With `columns`, only those columns and their checks (every check of each): see failing_columns."""
    import pandera.polars as pa  # on first use: see start_loading_pandera

    wanted = set(schema.columns) if columns is None else set(columns)
    return pa.DataFrameSchema(
        {
            spec.name: pa.Column(
                str,
                nullable=True,
                required=False,
                checks=[_pandera_check(chk) for chk in spec.checks],
            )
            for spec in schema.columns.values()
            if spec.name in wanted
        },
        strict=False,
        name=schema.name,
    )
