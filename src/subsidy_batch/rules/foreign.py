"""A roster of another county: refused unless the clerk says so (issue 11)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import polars as pl

from subsidy_batch.errors import ForeignRosterError
from subsidy_batch.rules.config import CountyConfig, county_directory


def known_counties(config_dir: Path) -> dict[str, str]:
    """division_code -> "name (slug)" of every county config, to name the county a roster looks like."""
    found: dict[str, str] = {}
    for slug, name, code in county_directory(config_dir):
        if code and name:
            found.setdefault(code, f"{name} ({slug})")
    return found


def refuse_foreign_roster(
    accepted: pl.DataFrame,
    config: CountyConfig,
    source_name: str,
    config_dir: Path | None,
    accept: bool,
) -> dict[str, Any]:
    """Refuse a roster whose accepted rows mostly have another 户籍 code than the county's division code.

    A roster whose every row was rejected is not refused (it is reported). The county configs in
    `config_dir` (known_counties) are read only to name the county of a refused roster. Returns the facts
    for the audit log.
    """
    rows = accepted.height
    codes = accepted.get_column("hukou_code")
    home = int((codes == config.division_code).sum())
    facts: dict[str, Any] = {"home_hukou_rows": home, "accepted_rows": rows}
    if rows == 0 or Decimal(home) >= config.min_home_hukou_share * rows:
        return facts
    if accept:
        return facts | {"foreign_roster_accepted": True}
    counted = codes.value_counts(name="n").sort(["n", "hukou_code"], descending=[True, False])
    top = str(counted.item(0, "hukou_code"))
    known = known_counties(config_dir) if config_dir is not None else {}
    named = known.get(top, "not a county in config/counties")
    share = (Decimal(100 * home) / rows).quantize(Decimal("0.1"))
    raise ForeignRosterError(
        f"roster {source_name} looks like another county's: only {home} of its {rows} accepted rows "
        f"({share}%) have {config.name}'s 户籍 code {config.division_code}, below min_home_hukou_share "
        f"{config.min_home_hukou_share}, and the most common code is {top} ({named}); check --county and "
        f"--roster, or pass --accept-foreign-roster to pay this roster for {config.county} deliberately"
    )
