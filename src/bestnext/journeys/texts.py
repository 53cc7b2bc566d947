"""Texts of journey steps as the customer reads them: moments, amounts, filled templates."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import datetime
from typing import Any

from bestnext.clock import to_rome


def amount(value: float, lang: str) -> str:
    """Euro as the person reads them: ``2.500`` (it), ``2,500`` (en).

    >>> amount(2500, "it"), amount(1800.0, "en")
    ('2.500', '1,800')
    """
    text = f"{round(value):,}"
    return text if lang == "en" else text.replace(",", ".")


def spoken(at: datetime, now: datetime, lang: str = "it") -> str:
    """A moment as a customer reads it, in their language, relative to ``now`` (Europe/Rome).

    >>> from datetime import UTC
    >>> now = datetime(2025, 2, 26, 20, 11, tzinfo=UTC)
    >>> spoken(datetime(2025, 2, 27, 8, 0, tzinfo=UTC), now), spoken(now, now)
    ('domani alle 09:00', 'oggi alle 21:11')
    >>> spoken(datetime(2025, 3, 3, 8, 0, tzinfo=UTC), now), spoken(datetime(2025, 2, 27, 8, 0, tzinfo=UTC), now, "en")
    ('il 03/03 alle 09:00', 'tomorrow at 09:00')
    """
    local, today = to_rome(at), to_rome(now).date()
    if lang == "en":
        day = {0: "today", 1: "tomorrow"}.get((local.date() - today).days, f"on {local:%d/%m}")
        return f"{day} at {local:%H:%M}"
    day = {0: "oggi", 1: "domani"}.get((local.date() - today).days, f"il {local:%d/%m}")
    return f"{day} alle {local:%H:%M}"


def fill(template: str, variables: dict[str, Any]) -> str:
    return template.format_map(defaultdict(str, variables))


def tidy(text: str) -> str:
    """A filled text without the gaps an unknown value leaves (a person whose name we lack).

    >>> tidy("Ciao , grazie  per la domanda ."), tidy("Hi James, thanks.")
    ('Ciao, grazie per la domanda.', 'Hi James, thanks.')
    """
    return re.sub(r"\s+([,.!?:;])", r"\1", re.sub(r"[ \t]{2,}", " ", text)).strip()


__all__ = ["amount", "fill", "spoken", "tidy"]
