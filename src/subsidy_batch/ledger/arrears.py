"""Arrears (补发), recoveries (追回) and the double-payment guard, against the ledger.

Arrears: a month the record shows as not paid is paid now, as a line item of its own (kind = arrears,
for_period = that month), with the rules, amount and age of that month, when
  - the ledger holds the (person, benefit, month) as held and the hold is lifted now (the standard was
    set with an effective date in the past, the bank account arrived), or
  - the roster's eligible_from (享受起始月份) lies before this month: every month from it.
Never before the county's first month in the record (months before it were paid outside this system),
nor before the window (ledger.arrears_window_months before this month), nor for a month already paid.

Recoveries: months paid after a person's death (the ledger's paid items for months after the death
month, or from it where the county does not pay the death month) are owed back by the family; they are
listed, carried forward by every later run, and never netted against another payment. A month whose bank
line failed (the bank's answer, however late) reached no one: it is never owed back, and never reissued.
"""

from __future__ import annotations

import polars as pl

from subsidy_batch.errors import NoRuleInForceError
from subsidy_batch.ledger.record import RECOVERY_SCHEMA, Ledger
from subsidy_batch.outputs.bank import account_stored_as_number, bank_account_ok
from subsidy_batch.period import Period
from subsidy_batch.rules.compute import (
    BANK_RETURNED,
    DUPLICATE_PAYEE,
    PAID_UNDER_OTHER_ID,
    STANDARD_NOT_SET,
    line_items,
    monthly_fen,
)
from subsidy_batch.rules.config import RESIDENCES, CountyConfig

KINDS = ("regular", "arrears", "reissue")  # line item kinds (CONTRACT.md)
# a bank's reasons for a failed line that do not pass by themselves: sent again to the same name and
# account, a payment would fail again (a frozen account may be unfrozen, and `other` may be the bank's
# own passing trouble: their later months are still sent)
REFUSING = ("holder_deceased", "name_mismatch", "no_such_account", "account_closed", "id_mismatch")


def months_between(first: Period, last: Period) -> list[Period]:
    """first .. last inclusive (empty when last is before first)."""
    out, month = [], first
    while month <= last:
        out.append(month)
        month = month.next()
    return out


def window_start(config: CountyConfig, period: Period, ledger: Ledger) -> Period | None:
    """The first month arrears may pay for: the later of the window's start and the record's start."""
    window = config.ledger.arrears_window_months
    if window is None or window == 0 or ledger.first_period is None:
        return None
    start = period
    for _ in range(window):
        start = start.previous()
    return max(start, ledger.first_period)


def arrears(people: pl.DataFrame, config: CountyConfig, period: Period, ledger: Ledger) -> pl.DataFrame:
    """Arrears line items (engine columns, plus for_period) payable now; empty when nothing is owed."""
    start = window_start(config, period, ledger)
    if start is None:
        return pl.DataFrame()
    refused = refused_payees(people, ledger)
    if refused.len():  # owed all the same, and paid as arrears once the roster's name or account changed
        people = people.filter(~pl.col("id_number").is_in(refused.implode()))
    months = months_between(start, period.previous())
    # paid, or returned by the bank (reissues() pays those), or paid under another ID: never arrears
    paid = pl.concat([ledger.paid_keys(), settled_keys(ledger)]).unique()
    held = (
        # a payment the bank returned is paid again only as a reissue (reissues()), never as arrears
        ledger.items.filter(
            pl.col("status") == "held",
            pl.col("for_period") >= str(start),
            ~pl.col("hold_reason").is_in([BANK_RETURNED, PAID_UNDER_OTHER_ID]).fill_null(False),
        )
        .select("id_number", "benefit", "for_period", "hold_reason", "rule")
        .unique(["id_number", "benefit", "for_period"], keep="first", maintain_order=True)
        .join(paid, on=["id_number", "benefit", "for_period"], how="anti")
    )
    # a month held for the account is owed only once the roster's account can be paid now
    account_holds = held.filter(pl.col("hold_reason").is_in(["no_bank_account", "account_stored_as_number"]))
    if account_holds.height:
        candidates = people.filter(
            pl.col("id_number").is_in(account_holds.get_column("id_number").unique().implode())
        )
        payable = candidates.filter(
            bank_account_ok(config.account_digits) & ~account_stored_as_number()
        ).get_column("id_number")
        fixed = pl.col("hold_reason").is_in(["no_bank_account", "account_stored_as_number"]).not_() | pl.col(
            "id_number"
        ).is_in(payable.implode())
        held = held.filter(fixed)
    late: pl.DataFrame | None = None
    if "eligible_from" in people.columns:
        late = people.filter(pl.col("eligible_from") < period.first_day).select("id_number", "eligible_from")
    found = []
    for month in months:
        # a month held for a standard that the same rule still leaves unset in that month cannot be owed:
        # look again only where the county has since set it or changed the rule (in steady state no one)
        unset = [
            r.name
            for r in config.rules
            if r.in_force(month) and all(monthly_fen(r, config, side) is None for side in RESIDENCES)
        ]
        still_held = (pl.col("hold_reason") == STANDARD_NOT_SET) & pl.col("rule").is_in(unset)
        held_now = held.filter(pl.col("for_period") == str(month), ~still_held).select("id_number", "benefit")
        ids = held_now.get_column("id_number")
        late_ids = (
            late.filter(pl.col("eligible_from") <= month.last_day).get_column("id_number")
            if late is not None
            else pl.Series("id_number", [], pl.String)
        )
        if ids.len() == 0 and late_ids.len() == 0:
            continue
        subset = people.filter(pl.col("id_number").is_in(pl.concat([ids, late_ids]).unique().implode()))
        try:
            items = line_items(subset, config, month)
        except NoRuleInForceError:
            continue  # nothing was in force that month: nothing is owed for it
        if items.height == 0:
            continue
        wanted = items.join(
            held_now.with_columns(was_held=pl.lit(True)), on=["id_number", "benefit"], how="left"
        )
        wanted = wanted.filter(
            pl.col("was_held").fill_null(False) | pl.col("id_number").is_in(late_ids.implode())
        )
        found.append(
            wanted.drop("was_held")
            .with_columns(for_period=pl.lit(str(month)))
            .join(paid, on=["id_number", "benefit", "for_period"], how="anti")
            .filter(pl.col("status") == "paid")  # a month still held stays held where the ledger has it
        )
    return pl.concat(found) if found else pl.DataFrame()


def recoveries(
    people: pl.DataFrame,
    config: CountyConfig,
    period: Period,
    ledger: Ledger,
    also_dead: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every month paid after a death (RECOVERY_SCHEMA), newly found from this roster's death dates or
    carried forward from the previous run, outstanding until recorded as refunded.

    `also_dead` (id_number, death_date): deaths known from elsewhere (a death list) of people who are not
    on this roster: months an accepted run paid them after death are owed back all the same.
    """
    deaths = people.filter(pl.col("death_date").is_not_null()).select("id_number", "death_date")
    if also_dead is not None and also_dead.height:
        deaths = (
            pl.concat([deaths, also_dead.select("id_number", pl.col("death_date").cast(pl.Date))])
            .group_by("id_number")
            .agg(pl.col("death_date").min())
        )
    paid = ledger.items.filter(pl.col("status") == "paid").join(deaths, on="id_number", how="inner")
    found = paid.filter(after_death(config)).select(
        "id_number",
        "name",
        "township",
        "benefit",
        "for_period",
        "amount_fen",
        pl.col("run_id").alias("paid_by_run"),
        "death_date",
        found_in=pl.lit(str(period)),
        status=pl.lit("outstanding"),
    )
    keys = ["id_number", "benefit", "for_period", "paid_by_run"]
    refunded = ledger.refunded.with_columns(refunded=pl.lit(True))
    carried = (
        ledger.recoveries.filter(pl.col("status") == "outstanding")
        .join(refunded, on=keys, how="left")
        # a refund recorded since the last run: reported once as refunded, then no longer carried
        .with_columns(status=pl.when(pl.col("refunded")).then(pl.lit("refunded")).otherwise(pl.col("status")))
        .drop("refunded")
    )
    # the bank's answer to the run that paid it came after the recovery was listed, and says the line
    # failed: nothing reached the family, nothing is owed back. Reported once as bank_returned, like a
    # refund, then no longer carried (a refund recorded before the answer stays refunded)
    returned = (
        ledger.items.filter(pl.col("status") == "returned")
        .select("id_number", "benefit", "for_period", paid_by_run="run_id")
        .unique()
        .with_columns(returned=pl.lit(True))
    )
    carried = (
        carried.join(returned, on=keys, how="left")
        .with_columns(
            status=pl.when(pl.col("returned") & (pl.col("status") == "outstanding"))
            .then(pl.lit(BANK_RETURNED))
            .otherwise(pl.col("status"))
        )
        .drop("returned")
    )
    fresh = found.join(carried, on=keys, how="anti").join(ledger.refunded, on=keys, how="anti")
    return pl.concat([carried, fresh.select(*RECOVERY_SCHEMA)]).sort("id_number", "benefit", "for_period")


def after_death(config: CountyConfig) -> pl.Expr:
    """A month (for_period) no longer owed to a person who died on death_date: after the death month, or
    from it where the county does not pay the death month (ledger.pay_death_month)."""
    death_month = pl.col("death_date").dt.strftime("%Y-%m")
    if config.ledger.pay_death_month:
        return pl.col("for_period") > death_month
    return pl.col("for_period") >= death_month


def paid_twice(items: pl.DataFrame, ledger: Ledger) -> list[str]:
    """Problems if any (person, benefit, month) would be paid twice: within this run, or again after an
    accepted run paid it (the guard runs independently of how the items were chosen)."""
    keys = ["id_number", "benefit", "for_period"]
    paid = items.filter(pl.col("status") == "paid").select(keys)
    problems = []
    # whether any key repeats is one pass over the keys (770 thousand paid items at 10M people: 0.1 s,
    # against 0.3 s for counting every key); they are counted only when one does, for the message
    if paid.select(pl.struct(keys).is_duplicated().any()).item():
        twice = paid.group_by(keys).len().filter(pl.col("len") > 1)
        problems.append(f"{twice.height} (person, benefit, month) paid twice within this run")
    again = paid.join(ledger.paid_keys(), on=keys, how="semi")
    if again.height:
        first = again.sort(keys).row(0, named=True)
        problems.append(
            f"{again.height} (person, benefit, month) already paid by an accepted run, e.g. {first['benefit']} "
            f"for {first['for_period']}"
        )
    return problems


def settled_keys(ledger: Ledger) -> pl.DataFrame:
    """(id_number, benefit, for_period) not paid and never owed again as arrears: returned by the bank
    (reissued instead), or held because another ID was paid it (paid_under_other_id)."""
    return ledger.items.filter(
        (pl.col("status") == "returned") | (pl.col("hold_reason") == PAID_UNDER_OTHER_ID)
    ).select("id_number", "benefit", "for_period")


def paid_under_other_id(items: pl.DataFrame, ledger: Ledger) -> pl.DataFrame:
    """The items held as paid_under_other_id: a (benefit, month) an accepted run already paid to the
    same name and bank account under another ID number, i.e. the roster's ID was corrected since. The
    double-payment guard is keyed on the ID, so arrears, a supplement or 享受起始月份 would pay the new
    ID the same month again, to the same account.

    Looked at only for IDs new to the ledger paid for a month the ledger paid someone (in a plain month:
    arrears of new people); their accounts are read from the few prior runs that paid a namesake."""
    if ledger.paid.height == 0:  # the first month of the record
        return items
    months = ledger.paid.get_column("for_period").unique()
    # worked out on two columns, then the few rows taken (a filter of the whole frame copies its text)
    wanted = items.select(
        (pl.col("status") == "paid") & pl.col("for_period").is_in(months.implode())
    ).to_series()
    if not wanted.any():  # a plain month with no arrears: nothing to look at
        return items
    candidates = (
        items.select("id_number", "name", "bank_account", "benefit", "for_period")
        .filter(wanted)
        .join(ledger.items.select("id_number"), on="id_number", how="anti")
    )
    if candidates.height == 0:
        return items
    namesakes = (
        ledger.items.filter(pl.col("status") == "paid")
        .select("run_id", pl.col("id_number").alias("other_id"), "name", "benefit", "for_period")
        .join(candidates, on=["name", "benefit", "for_period"])
    )
    if namesakes.height == 0:
        return items
    accounts = ledger.payees(namesakes.select("run_id", id_number="other_id").unique())
    hit = (
        namesakes.join(
            accounts.rename({"id_number": "other_id", "bank_account": "paid_account"}),
            on=["run_id", "other_id"],
        )
        .filter(pl.col("paid_account") == pl.col("bank_account"))
        .select("id_number", "benefit", "for_period")
        .unique()
        .with_columns(other=pl.lit(True))
    )
    if hit.height == 0:
        return items
    flagged = items.join(hit, on=["id_number", "benefit", "for_period"], how="left", maintain_order="left")
    held = pl.col("other").fill_null(False) & (pl.col("status") == "paid")
    return flagged.with_columns(
        hold_reason=pl.when(held).then(pl.lit(PAID_UNDER_OTHER_ID)).otherwise(pl.col("hold_reason")),
        status=pl.when(held).then(pl.lit("held")).otherwise(pl.col("status")),
    ).drop("other")


def duplicate_payees(pays: pl.DataFrame) -> pl.Series:
    """ID numbers of this run's payees (payments(): one row per ID) whose name and bank account another
    payee has too: the double-payment guard is keyed on the ID, and 一卡通 pays each person to an account
    in their own name, so this is one person listed twice with one ID mistyped (or an account that is not
    the payee's). Their items are held as duplicate_payee until the roster gives the pair under one ID;
    then the held months are arrears."""
    twice = pays.select(pl.struct("name", "bank_account").is_duplicated()).to_series()
    return pays.get_column("id_number").filter(twice) if twice.any() else pays.get_column("id_number").clear()


def hold_duplicate_payees(items: pl.DataFrame, pays: pl.DataFrame, ledger: Ledger) -> pl.DataFrame:
    """The items, every one of each duplicate payee (duplicate_payees) held as duplicate_payee: never paid
    twice to one account. A month an earlier run held for the same reason is still held and owed (the
    ledger has it): it is not listed again as a held arrears item each month while the roster lists the
    pair twice. `items` itself where no payee is listed twice (the caller recomputes nothing)."""
    twice = duplicate_payees(pays)
    if twice.len() == 0:
        return items
    items = hold(items, twice, DUPLICATE_PAYEE)
    keys = ["id_number", "benefit", "for_period"]
    before = ledger.items.filter(pl.col("hold_reason") == DUPLICATE_PAYEE).select(keys)
    relisted = (
        items.filter(pl.col("kind") == "arrears", pl.col("hold_reason") == DUPLICATE_PAYEE)
        .join(before, on=keys, how="semi")
        .select(keys)
    )
    # an arrears item's key is that item's alone among the run's items
    return items.join(relisted, on=keys, how="anti", maintain_order="left") if relisted.height else items


def refused_payees(people: pl.DataFrame, ledger: Ledger) -> pl.Series:
    """ID numbers of the people whose name and account on the roster now are a pair a bank refused in an
    answer the ledger holds, for a reason of REFUSING (the account is closed or does not exist, the name
    or ID is not the holder's, the holder died)."""
    refused = ledger.returned.filter(pl.col("reason").is_in(REFUSING), ~cleared())
    if refused.height == 0:
        return pl.Series("id_number", [], pl.String)
    pairs = refused.select("id_number", name="sent_name", bank_account="sent_account").unique()
    return (
        people.select("id_number", "name", "bank_account")
        .join(pairs, on=["id_number", "name", "bank_account"], how="semi")
        .get_column("id_number")
        .unique(maintain_order=True)
    )


def cleared() -> pl.Expr:
    """A failed line (ledger.returned) whose ID, name and account may be paid again as they were sent: a
    clerk confirmed them (subsidy confirm-account), or a bank paid a later run's line to them."""
    return pl.col("confirmed") | pl.col("paid_since")


def hold(items: pl.DataFrame, ids: pl.Series, reason: str) -> pl.DataFrame:
    """The items to `ids` that would be paid, held for `reason` (account_refused: a bank that refused the
    name and account for good is not sent the next month's money to them either; duplicate_payee)."""
    if ids.len() == 0:
        return items
    hit = (pl.col("status") == "paid") & pl.col("id_number").is_in(ids.implode())
    return items.with_columns(
        hold_reason=pl.when(hit).then(pl.lit(reason)).otherwise(pl.col("hold_reason")),
        status=pl.when(hit).then(pl.lit("held")).otherwise(pl.col("status")),
    )


def reissues(people: pl.DataFrame, config: CountyConfig, ledger: Ledger, columns: list[str]) -> pl.DataFrame:
    """Items a bank returned (its answer said the line failed), not paid since: paid again for their own
    month as kind = reissue once the roster's name or account for the person changed, or the name and
    account as sent were cleared (cleared(): a clerk confirmed them, a bank paid them since); held as
    bank_returned while both are as sent and not cleared (a payment is never resent blindly). A month after the person's
    death (after_death) is not owed and never reissued. Frame in `columns`."""
    returned = ledger.items.filter(pl.col("status") == "returned").join(
        ledger.paid_keys(), on=["id_number", "benefit", "for_period"], how="anti"
    )
    if returned.height == 0:
        return pl.DataFrame()
    sent = ledger.returned.select(
        "run_id", "id_number", "sent_name", "sent_account", cleared().alias("cleared")
    ).unique(["run_id", "id_number"])
    now = people.select(
        "id_number",
        "death_date",
        "id_key",
        "row",
        "bank_name",
        "bank_account",
        new_name=pl.col("name"),
        township_now=pl.col("township"),
    )
    joined = (
        returned.unique(["id_number", "benefit", "for_period"], keep="last", maintain_order=True)
        .join(sent, on=["run_id", "id_number"], how="left")
        .join(now, on="id_number", how="inner")  # someone no longer on the roster is not paid
        # a month after the death is owed to no one: the bank returned it, so nothing is to recover either
        .filter(~after_death(config).fill_null(False))
    )
    # either changed since, or the name and account as sent may be paid again (cleared())
    changed = (
        (pl.col("bank_account") != pl.col("sent_account"))
        | (pl.col("new_name") != pl.col("sent_name"))
        | pl.col("cleared")
    )
    return (
        joined.with_columns(
            name=pl.col("new_name"),
            township=pl.col("township_now"),
            hold_reason=pl.when(changed.fill_null(False))
            .then(pl.lit(None, pl.String))
            .otherwise(pl.lit(BANK_RETURNED)),
            pos=pl.lit(0, pl.UInt32),
            kind=pl.lit("reissue"),
            # the ledger does not carry the long citation texts: the rule's own, or where to find it
            citation=pl.col("rule")
            .replace_strict({r.name: r.citation for r in config.rules}, default=None, return_dtype=pl.String)
            .fill_null(pl.format("as cited in the line items of run {}", pl.col("run_id"))),
        )
        .with_columns(
            status=pl.when(pl.col("hold_reason").is_null()).then(pl.lit("paid")).otherwise(pl.lit("held"))
        )
        .select(columns)
    )
