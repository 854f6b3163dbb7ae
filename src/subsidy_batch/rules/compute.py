"""The engine: from validated people and a county's rules to line items and payments, in fen."""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable
from datetime import date
from typing import Any

import polars as pl

from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.frames import take
from subsidy_batch.outputs.bank import account_stored_as_number, bank_account_ok
from subsidy_batch.period import Period
from subsidy_batch.roster.read import ACCOUNT_NUMBER_CELL
from subsidy_batch.rules.conditions import Target, expression
from subsidy_batch.rules.config import AGE, CountyConfig, Rule

STANDARD_NOT_SET = "standard_not_set"
NO_BANK_ACCOUNT = "no_bank_account"
ACCOUNT_STORED_AS_NUMBER = "account_stored_as_number"  # Excel lost its digits: store accounts as text
BANK_RETURNED = "bank_returned"  # the bank answered that the payment failed; the details are unchanged
# a bank answer refused the name and account the roster still gives, for a reason that does not pass by
# itself (ledger/arrears.py REFUSING): every later item to them is held too, until either changes
ACCOUNT_REFUSED = "account_refused"
# an accepted run already paid the (benefit, month) to the same name and account under another ID number
# (the ID was corrected since): never paid again (ledger/arrears.py paid_under_other_id)
PAID_UNDER_OTHER_ID = "paid_under_other_id"
# the same name and bank account are paid under two ID numbers in one run: one person listed twice, one ID
# mistyped (ledger/arrears.py duplicate_payees); held until the roster gives the pair under one ID
DUPLICATE_PAYEE = "duplicate_payee"
HOLD_REASONS = (  # first wins
    STANDARD_NOT_SET,
    ACCOUNT_STORED_AS_NUMBER,
    NO_BANK_ACCOUNT,
    BANK_RETURNED,
    ACCOUNT_REFUSED,
    PAID_UNDER_OTHER_ID,
    DUPLICATE_PAYEE,
)
PERSON_KEYS = ("id_number", "name", "township")
# carried by line items for payments(), after the contract's columns
PAYEE = {"pos": pl.UInt32, "id_key": pl.UInt64, "bank_name": pl.String, "bank_account": pl.String}
LINE_ITEM_SCHEMA = {
    "id_number": pl.String,
    "name": pl.String,
    "township": pl.String,
    "benefit": pl.String,
    "amount_fen": pl.Int64,
    "status": pl.String,
    "hold_reason": pl.String,
    "rule": pl.String,
    "citation": pl.String,
    "row": pl.Int64,
    "age": pl.Int32,
}


def reference_date(period: Period, age_basis: str) -> date:
    """The day on which age is counted (RULES.md "Age"): end of the previous month, or of the month."""
    return period.previous().last_day if age_basis == "month_after_birthday" else period.last_day


def age_on(birth: pl.Expr, ref: date) -> pl.Expr:
    """Full years (周岁) reached on or before `ref`; 29 February birthdays fall on 1 March in common years."""
    not_yet = (birth.dt.month() > ref.month) | ((birth.dt.month() == ref.month) & (birth.dt.day() > ref.day))
    return (pl.lit(ref.year) - birth.dt.year().cast(pl.Int32) - not_yet.cast(pl.Int32)).cast(pl.Int32)


def at_least(years: int, ref: date) -> pl.Expr:
    """age_on(birth_date, ref) >= years, as one comparison of dates (no date parts per person).

    Someone is `years` old on `ref` exactly when born on or before the same day `years` earlier; where
    that day does not exist (29 February of a common year) the last day of that month stands for it.
    """
    year = ref.year - years
    if year < 1:  # beyond Python's dates: the arithmetic itself
        return age_on(pl.col("birth_date"), ref) >= years
    return pl.col("birth_date") <= date(year, ref.month, min(ref.day, monthrange(year, ref.month)[1]))


def targets(ref: date) -> Callable[[str], Target]:
    """What a condition on each field tests: the roster column, or for age the date of birth against
    `ref` (one date comparison per rule, never the age of every person)."""

    def target(name: str) -> Target:
        if name == AGE.name:
            return Target(age_on(pl.col("birth_date"), ref), at_least=lambda n: at_least(n, ref))
        return Target(pl.col(name))

    return target


def monthly_fen(rule: Rule, config: CountyConfig, residence: str) -> int | None:
    """The amount one matching person gets for one month; None when the standard is not set."""
    amount = rule.amount
    if amount.kind == "percent":
        assert amount.of is not None and amount.basis_points is not None
        standard = config.standards[amount.of][residence].fen
        if standard is None:
            return None
        # percentages round half up to the fen (RULES.md "Money"); basis points: 15% = 1500 / 10000
        return round_half_up_int(standard * amount.basis_points, 10000)
    if amount.fen is None:
        return None
    if amount.kind == "yearly" and amount.payment_month is None:
        return round_half_up_int(amount.fen, 12)  # RULES.md: amount / 12 for each eligible month
    return amount.fen


def round_half_up_int(numerator: int, denominator: int) -> int:
    """Exact integer division rounding half up, for non-negative fen amounts."""
    return (numerator * 2 + denominator) // (2 * denominator)


def payable_rules(config: CountyConfig, period: Period) -> list[Rule]:
    """Rules in force for the period that pay in this month (yearly amounts may pay in one month only)."""
    rules = [
        r
        for r in config.rules_in_force(period)
        if r.amount.kind != "yearly" or r.amount.payment_month in (None, period.month)
    ]
    if not config.rules_in_force(period):
        raise NoRuleInForceError(
            f"no rule of {config.county} is in force for {period}; check the period, or the effective "
            f"dates in config/counties/{config.county}.yaml"
        )
    return rules


def alive_in(period: Period, config: CountyConfig, death: pl.Expr) -> pl.Expr:
    """Paid for the period as far as a death date goes (RULES.md Death): no date, or, with the county's
    pay_death_month, a death in the period or later; without it, a death after the period."""
    if config.ledger.pay_death_month:
        return death.is_null() | (death >= period.first_day)
    return death.is_null() | (death > period.last_day)


def entitled_in(period: Period, config: CountyConfig, columns: list[str]) -> pl.Expr:
    """Alive for the period (RULES.md Death: with the county's pay_death_month, the month of death is
    paid and payment stops from the next month) and, where the roster says so, entitled from a month no
    later than this one (享受起始月份, eligible_from)."""
    alive = alive_in(period, config, pl.col("death_date"))
    if "eligible_from" in columns:
        alive = alive & (pl.col("eligible_from").is_null() | (pl.col("eligible_from") <= period.last_day))
    return alive


def rules_table(rules: list[Rule], config: CountyConfig) -> pl.DataFrame:
    """One row per rule, in the order of `rules`: its benefit, name, citation and monthly fen."""
    return pl.DataFrame(
        {
            "benefit": [r.benefit for r in rules],
            "rule": [r.name for r in rules],
            "citation": [r.citation for r in rules],
            "fen_urban": [monthly_fen(r, config, "urban") for r in rules],
            "fen_rural": [monthly_fen(r, config, "rural") for r in rules],
        },
        schema={
            "benefit": pl.String,
            "rule": pl.String,
            "citation": pl.String,
            "fen_urban": pl.Int64,
            "fen_rural": pl.Int64,
        },
    )


def line_items(people: pl.DataFrame, config: CountyConfig, period: Period) -> pl.DataFrame:
    """One row per person x benefit matched, with amount in fen (null when not set), status and reason.

    The rules are matched on integers only (each person's position and, per benefit, the index of the
    rule that applies) and the items ordered by ID number (its integer key orders exactly as its text)
    and benefit; the people's text and the rules' text are then taken by position.
    """
    rules = payable_rules(config, period)
    benefits = sorted({r.benefit for r in rules})
    if not benefits:  # e.g. only yearly rules whose payment month is another month
        return pl.DataFrame(schema=LINE_ITEM_SCHEMA | PAYEE)
    ref = reference_date(period, config.age_basis)
    target = targets(ref)
    alive = entitled_in(period, config, people.columns)
    applies = {}  # per benefit: the index of the rule that applies to the person, or null
    for rank, benefit in enumerate(benefits):
        cases = [
            (expression(r.when, target, config.fields), index)
            for index, r in enumerate(rules)
            if r.benefit == benefit
        ]
        chain: Any = pl.when(cases[0][0]).then(pl.lit(cases[0][1], pl.UInt32))
        for cond, index in cases[1:]:
            chain = chain.when(cond).then(pl.lit(index, pl.UInt32))
        applies[f"rule_{rank}"] = pl.when(alive).then(chain)
    matched = (
        people.lazy()
        .select(
            pl.int_range(pl.len(), dtype=pl.UInt32).alias("pos"),
            "id_key",
            "birth_date",
            urban=pl.col("residence") == "urban",  # a flag, not text to take for every item
            **applies,
        )
        .collect()
        .lazy()
    )
    items = (
        pl.concat(  # in benefit order, which the stable sort by ID number keeps within each person
            matched.select(
                "pos",
                "id_key",
                "birth_date",
                "urban",
                pl.col(name).alias("rule"),
            ).filter(pl.col("rule").is_not_null())
            for name in applies
        )
        .sort("id_key", maintain_order=True)
        .with_columns(age=age_on(pl.col("birth_date"), ref))  # of the matched people only
        .collect()
    )
    # the account is checked here, on the matched people only, not on every row of the roster
    if ACCOUNT_NUMBER_CELL not in people.columns:  # people not read from a file (tests)
        people = people.with_columns(pl.lit(False).alias(ACCOUNT_NUMBER_CELL))
    person = take(
        people,
        (*PERSON_KEYS, "row", "bank_name", "bank_account", ACCOUNT_NUMBER_CELL),
        items.get_column("pos"),
    )
    rule = rules_table(rules, config).select(pl.all().gather(items.get_column("rule")))
    amount = pl.when(pl.col("urban")).then(pl.col("fen_urban")).otherwise(pl.col("fen_rural"))
    return (
        pl.concat([items.drop("rule"), person, rule], how="horizontal")
        .lazy()
        .with_columns(amount_fen=amount, bank_account_ok=bank_account_ok(config.account_digits))
        .with_columns(hold_reason=hold_reason())
        .with_columns(status=status())
        .select(*LINE_ITEM_SCHEMA, *PAYEE)
        .collect()
    )


def hold_reason() -> pl.Expr:
    """Why an item is not paid (the first reason of HOLD_REASONS that applies), or null: paid."""
    return (
        pl.when(pl.col("amount_fen").is_null())
        .then(pl.lit(STANDARD_NOT_SET))
        .when(pl.col(ACCOUNT_NUMBER_CELL) | account_stored_as_number())
        .then(pl.lit(ACCOUNT_STORED_AS_NUMBER))
        .when(~pl.col("bank_account_ok"))
        .then(pl.lit(NO_BANK_ACCOUNT))
    )


def status() -> pl.Expr:
    return pl.when(pl.col("hold_reason").is_null()).then(pl.lit("paid")).otherwise(pl.lit("held"))


def payments(items: pl.DataFrame) -> pl.DataFrame:
    """One row per person with at least one paid item: the sum of the paid items, ordered by ID number.

    The payee's details come from their first item (line_items() orders items by ID number and carries
    the bank columns for this), not from the roster again.
    """
    paid = (
        items.lazy()
        .with_row_index("at")
        .filter(pl.col("status") == "paid")
        .group_by("id_key", maintain_order=True)
        .agg(pl.col("at").first(), amount_fen=pl.col("amount_fen").sum(), items=pl.len().cast(pl.Int32))
        .collect()
    )
    person = items.select(pl.col(*PERSON_KEYS, "bank_name", "bank_account").gather(paid.get_column("at")))
    return pl.concat([person, paid.select("amount_fen", "items")], how="horizontal")
