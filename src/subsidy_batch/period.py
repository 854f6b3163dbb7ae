"""The subsidy period `YYYY-MM` and the dates that bound it."""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

_PERIOD = re.compile(r"^(\d{4})-(\d{2})$")
# How clerks also write a month: 2024-5, 2024/05, 2024.5, 202405, 2024年5月
_LOOSE = re.compile(r"^(\d{4})(?:[-/.](\d{1,2})|(\d{2})|年(\d{1,2})月?)$")
# The years a period may have: every month a command reaches from it (the month before for the age basis,
# up to 24 months ahead for crosscheck --within, 12 for simulate) stays a date Python can compute with.
FIRST_YEAR, LAST_YEAR = 1900, 2999


@dataclass(frozen=True, order=True)
class Period:
    """One calendar month for which entitlements are computed."""

    year: int
    month: int

    @classmethod
    def parse_loose(cls, text: str) -> Period:
        """A month as a clerk types it (2024-05, 2024-5, 202405, 2024年5月); the canonical form is YYYY-MM."""
        match = _LOOSE.match(text.strip())
        if not match:
            raise ValueError(
                f"period {text!r} is not a month; write it YYYY-MM, e.g. 2024-05 (2024-5, 202405 and 2024年5月 work too)"
            )
        month = int(next(g for g in match.groups()[1:] if g is not None))
        if not 1 <= month <= 12:
            raise ValueError(
                f"period {text!r}: month {month} is out of range (1-12); write it YYYY-MM, e.g. 2024-05"
            )
        return cls(_year(text, int(match.group(1))), month)

    @classmethod
    def parse(cls, text: str) -> Period:
        match = _PERIOD.match(text.strip())
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise ValueError(f"period {text!r} is not a month written YYYY-MM, e.g. 2024-05")
        return cls(_year(text, int(match.group(1))), int(match.group(2)))

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def last_day(self) -> date:
        return date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])

    def previous(self) -> Period:
        return Period(self.year - 1, 12) if self.month == 1 else Period(self.year, self.month - 1)

    def next(self) -> Period:
        return Period(self.year + 1, 1) if self.month == 12 else Period(self.year, self.month + 1)


def _year(text: str, year: int) -> int:
    """The period's year, refused outside FIRST_YEAR-LAST_YEAR (9999-12 has no next month to compute)."""
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ValueError(
            f"period {text!r}: year {year} is out of range ({FIRST_YEAR}-{LAST_YEAR}); give a month "
            "like 2024-05"
        )
    return year
