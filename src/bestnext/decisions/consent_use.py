"""The consent policy (``bestnext.consent.policy.may``) bound to one person's consent state."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bestnext.consent import policy
from bestnext.consent.model import ConsentState
from bestnext.decisions.model import ConsentCheck, ConsentUse


def bind(state: ConsentState) -> ConsentCheck:
    """A :class:`ConsentCheck` that asks the consent policy (answers cached per decision).

    >>> from datetime import UTC, datetime
    >>> check = bind(ConsentState("p"))
    >>> use = check("marketing", ["declared"], "email", datetime(2025, 1, 1, tzinfo=UTC))
    >>> use.allowed, use.channel
    (False, 'email')
    """
    cache: dict[tuple[str, tuple[str, ...], str | None], ConsentUse] = {}

    def check(purpose_of_use: str, data_categories: Sequence[str], channel: str | None,
              at: datetime) -> ConsentUse:
        key = (purpose_of_use, tuple(data_categories), channel)
        found = cache.get(key)
        if found is None:
            d = policy.may(state, purpose_of_use, data_categories, channel, at)
            found = cache[key] = ConsentUse(purpose_of_use, channel, d.allowed,
                                            tuple(r.code for r in d.reasons), d.may_promote)
        return found

    return check


__all__ = ["bind"]
