"""The bank's business calendar, in Europe/Rome: opening hours, Italian public holidays, and
"next allowed moment" arithmetic used by the contact policy, journeys and call scheduling.

Examples
--------
>>> from datetime import datetime
>>> cal = BusinessCalendar()
>>> hours = WeeklyHours.parse({"mon-fri": "09:00-20:00", "sat": "09:00-13:00"})
>>> friday_night = datetime(2025, 2, 21, 21, 0, tzinfo=ROME)
>>> cal.next_open(friday_night, hours).isoformat()
'2025-02-22T09:00:00+01:00'
>>> cal.is_holiday(datetime(2025, 12, 25, 10, 0, tzinfo=ROME).date())
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import lru_cache

import holidays

from bestnext.clock import ROME, as_utc

DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]


@dataclass(frozen=True)
class WeeklyHours:
    """Opening windows per weekday (0 = Monday), each a list of (open, close) local times."""

    windows: dict[int, tuple[tuple[time, time], ...]] = field(default_factory=dict)

    @classmethod
    def parse(cls, spec: dict[str, str | list[str]]) -> WeeklyHours:
        """Parse ``{"mon-fri": "09:00-20:00", "sat": ["09:00-13:00"]}``."""
        windows: dict[int, list[tuple[time, time]]] = {}
        for days, ranges in spec.items():
            for day in _expand_days(days):
                for rng in [ranges] if isinstance(ranges, str) else ranges:
                    start, end = (time.fromisoformat(p.strip()) for p in rng.split("-"))
                    windows.setdefault(day, []).append((start, end))
        return cls({d: tuple(sorted(w)) for d, w in windows.items()})

    def on(self, day: date) -> tuple[tuple[time, time], ...]:
        return self.windows.get(day.weekday(), ())


def _expand_days(spec: str) -> list[int]:
    spec = spec.strip().lower()
    if "-" in spec:
        first, last = (DAYS.index(p.strip()[:3]) for p in spec.split("-"))
        return list(range(first, last + 1))
    return [DAYS.index(spec[:3])]


@lru_cache(maxsize=64)
def _italian_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays("IT", years=year)


@dataclass(frozen=True)
class BusinessCalendar:
    """Holidays of Italy (plus ``extra_closures``), reasoning in the bank's time zone."""

    extra_closures: frozenset[date] = frozenset()

    def is_holiday(self, day: date) -> bool:
        return day in self.extra_closures or day in _italian_holidays(day.year)

    def is_open(self, at: datetime, hours: WeeklyHours) -> bool:
        local = as_utc(at).astimezone(ROME)
        if self.is_holiday(local.date()):
            return False
        return any(start <= local.time() < end for start, end in hours.on(local.date()))

    def next_open(self, at: datetime, hours: WeeklyHours, horizon_days: int = 30) -> datetime:
        """``at`` itself when open, else the start of the next opening window (local time)."""
        local = as_utc(at).astimezone(ROME)
        for offset in range(horizon_days + 1):
            day = local.date() + timedelta(days=offset)
            if self.is_holiday(day):
                continue
            for start, end in hours.on(day):
                opens = datetime.combine(day, start, tzinfo=ROME)
                closes = datetime.combine(day, end, tzinfo=ROME)
                if local < closes:
                    return max(local, opens)
        raise ValueError("no opening within the horizon")

    def add_business_time(self, at: datetime, delta: timedelta, hours: WeeklyHours) -> datetime:
        """``at`` plus ``delta`` counted only while open ("within one business hour")."""
        remaining = delta
        cursor = self.next_open(at, hours)
        while True:
            local = cursor.astimezone(ROME)
            end = next(datetime.combine(local.date(), e, tzinfo=ROME)
                       for s, e in hours.on(local.date()) if s <= local.time() < e)
            if cursor + remaining <= end:
                return cursor + remaining
            remaining -= end - cursor
            cursor = self.next_open(end, hours)


__all__ = ["BusinessCalendar", "WeeklyHours"]
