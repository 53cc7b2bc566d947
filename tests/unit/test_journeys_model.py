"""Pure parts of journeys: conditions, durations, validation, marketing pressure, calendar."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bestnext.clock import ROME
from bestnext.journeys.bankcal import BankCalendar
from bestnext.journeys.model import Condition, Journey, holds, parse_duration
from bestnext.journeys.pressure import fits


@pytest.mark.parametrize(("op", "value", "have", "expected"), [
    ("==", "a", "a", True), ("!=", "a", None, True), ("in", ["a", "b"], "b", True),
    ("not_in", ["a"], "a", False), ("exists", None, "", False), ("missing", None, None, True),
    ("contains", "x", ["x", "y"], True), (">=", 3, 3, True), ("<", 3, None, False),
])
def test_conditions(op: str, value: object, have: object, expected: bool) -> None:
    assert holds([Condition(field="f", op=op, value=value)], {"f": have}) is expected  # type: ignore[arg-type]


def test_durations() -> None:
    assert parse_duration("2h") == timedelta(hours=2)
    assert parse_duration("1w") == timedelta(days=7)
    with pytest.raises(ValueError):
        parse_duration("2 hours")


def test_a_step_may_only_go_to_a_known_step() -> None:
    with pytest.raises(ValidationError, match="unknown step"):
        Journey.model_validate({"id": "j", "entry": [{"event": "X"}],
                                "steps": [{"id": "a", "do": "count", "var": "n", "max": 1, "on_max": "nowhere"}]})
    with pytest.raises(ValidationError, match="event name, a message type or a segment"):
        Journey.model_validate({"id": "j", "entry": [{}], "steps": [{"id": "a", "do": "end"}]})


def _within(times: list[datetime], limit: int, window: timedelta) -> bool:
    """Every window of length ``window`` holds at most ``limit`` of ``times`` (the check's rule)."""
    ordered = sorted(times)
    return all(len([y for y in ordered[i:] if y - x < window]) <= limit for i, x in enumerate(ordered))


@given(st.lists(st.integers(min_value=0, max_value=30 * 24), max_size=6), st.integers(min_value=0, max_value=30 * 24))
def test_fits_agrees_with_every_window(hours: list[int], new: int) -> None:
    base, week = datetime(2025, 3, 1), timedelta(days=7)
    scheduled = [base + timedelta(hours=h) for h in hours]
    if _within(scheduled, 3, week):  # a schedule that keeps the budget stays within it
        at = base + timedelta(hours=new)
        assert fits(at, scheduled, 3, week) == _within([*scheduled, at], 3, week)


def test_bank_calendar_hours_and_closures() -> None:
    cal = BankCalendar.parse({"extra_closures": ["2025-03-10"], "branches": {"MI01": {"mon-fri": "08:30-16:30"}}})
    monday = datetime(2025, 3, 10, 10, 0, tzinfo=ROME)
    assert cal.next_open("call_center", monday).isoformat() == "2025-03-11T09:00:00+01:00"
    assert cal.next_open("branch:MI01", datetime(2025, 3, 11, 17, 0, tzinfo=ROME)).isoformat() \
        == "2025-03-12T08:30:00+01:00"
    assert cal.next_open("sms", datetime(2025, 3, 16, 10, 0, tzinfo=ROME)).isoformat() == "2025-03-17T09:00:00+01:00"
