"""The bank's business calendar from ``calendar.yaml``: call-center and branch hours, closures.

Examples
--------
>>> from datetime import datetime
>>> from bestnext.clock import ROME
>>> cal = BankCalendar.parse({"call_center": {"mon-fri": "09:00-20:00", "sat": "09:00-13:00"}})
>>> cal.next_open("call_center", datetime(2025, 4, 19, 22, 0, tzinfo=ROME)).isoformat()  # Easter follows
'2025-04-22T09:00:00+02:00'
>>> cal.deadline(datetime(2025, 2, 26, 21, 28, tzinfo=ROME)).isoformat()
'2025-02-27T10:00:00+01:00'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from bestnext.calendar import BusinessCalendar, WeeklyHours
from bestnext.errors import ConfigInvalid

DEFAULT_CALL_CENTER: dict[str, str | list[str]] = {"mon-fri": "09:00-20:00", "sat": "09:00-13:00"}
QUIET = WeeklyHours.parse({"mon-sat": "09:00-20:00"})


@dataclass(frozen=True)
class BankCalendar:
    calendar: BusinessCalendar
    call_center: WeeklyHours
    branches: dict[str, WeeklyHours] = field(default_factory=dict)
    answer_within: timedelta = timedelta(hours=1)

    @classmethod
    def parse(cls, data: dict[str, Any]) -> BankCalendar:
        closures = frozenset(date.fromisoformat(str(d)) for d in data.get("extra_closures") or [])
        return cls(BusinessCalendar(closures), WeeklyHours.parse(data.get("call_center") or DEFAULT_CALL_CENTER),
                   {b: WeeklyHours.parse(h) for b, h in (data.get("branches") or {}).items()},
                   timedelta(hours=float(data.get("answer_within_hours", 1))))

    def hours(self, where: str) -> WeeklyHours:
        """``call_center``, ``branch:MI01``, or a channel with quiet hours (``sms``)."""
        if where == "call_center":
            return self.call_center
        if where.startswith("branch:") and where[7:] in self.branches:
            return self.branches[where[7:]]
        return QUIET

    def next_open(self, where: str, at: datetime) -> datetime:
        return self.calendar.next_open(at, self.hours(where))

    def is_open(self, where: str, at: datetime) -> bool:
        return self.calendar.is_open(at, self.hours(where))

    def deadline(self, at: datetime) -> datetime:
        """When a request received at ``at`` must be answered (business hours of the call center)."""
        return self.calendar.add_business_time(at, self.answer_within, self.call_center)


@lru_cache(maxsize=8)
def load_bank_calendar(config_dir: Path) -> BankCalendar:
    path = config_dir / "calendar.yaml"
    if not path.exists():
        return BankCalendar.parse({})
    try:
        return BankCalendar.parse(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    except (ValueError, TypeError, yaml.YAMLError) as exc:
        raise ConfigInvalid(f"calendar.yaml: {exc}") from exc
