"""Consent values: purposes, uses of data, ledger entries, a person's state, decisions.

Plain frozen values, no I/O. ``ConsentState`` keeps the whole history, so that the state at
any instant (``as_of``) is known: replay on a virtual clock asks about the past.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Purpose(StrEnum):
    """The seven consents a person gives or refuses (levels 1-5 as in the bank's forms)."""

    PERSONAL_DATA = "personal_data"
    SENSITIVE_DATA = "sensitive_data"
    SATISFACTION_SURVEY = "satisfaction_survey"  # level 1
    OWN_MARKETING = "own_marketing"  # level 2
    THIRD_PARTY_MARKETING = "third_party_marketing"  # level 3
    TRANSFER_TO_THIRD_PARTIES = "transfer_to_third_parties"  # level 4
    PROFILING = "profiling"  # level 5


class Use(StrEnum):
    """What the bank wants to do with the person's data (``purpose_of_use``)."""

    SERVICE = "service"  # answering the person's own request, running their contracts
    MARKETING = "marketing"  # the bank's own promotions
    THIRD_PARTY_MARKETING = "third_party_marketing"
    SURVEY = "survey"
    EXPORT = "export"  # handing data to third parties
    PROFILING = "profiling"
    MODEL_TRAINING = "model_training"  # learning from the person's outcomes
    ENGAGEMENT_TRACKING = "engagement_tracking"  # opens and clicks of the bank's emails (profiling)


class DataCategory(StrEnum):
    """Kinds of data a use reads."""

    DECLARED = "declared"  # what the person told the bank (form, branch, contract data)
    REQUEST = "request"  # the person's own request (a question, a failed operation)
    CONTRACT = "contract"  # holdings and operations needed to run their contracts
    BEHAVIOURAL = "behavioural"  # browsing, third-party signals, text analysis, scores, outcomes
    SENSITIVE = "sensitive"  # health, beliefs, origin, opinions...


@dataclass(frozen=True, slots=True)
class Source:
    """Where a consent statement came from."""

    touchpoint: str
    message_id: str | None = None
    operator: str | None = None


@dataclass(frozen=True, slots=True)
class ConsentEntry:
    """One line of the append-only ledger: a purpose granted or refused at a time."""

    purpose: Purpose
    granted: bool
    source: Source
    at: datetime
    legal_version: str | None = None
    seq: int = 0  # ledger order among entries with the same ``at``

    def public(self) -> dict[str, Any]:
        return {"purpose": self.purpose.value, "granted": self.granted, "at": self.at.isoformat(),
                "touchpoint": self.source.touchpoint, "message_id": self.source.message_id,
                "operator": self.source.operator, "legal_version": self.legal_version}


@dataclass(frozen=True, slots=True)
class ConsentState:
    """A person's consent history; the current value of a purpose is its latest entry.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> t = datetime(2025, 1, 1, tzinfo=UTC)
    >>> s = ConsentState("p1", (ConsentEntry(Purpose.PROFILING, True, Source("web"), t),))
    >>> s.granted(Purpose.PROFILING), s.granted(Purpose.OWN_MARKETING)
    (True, False)
    """

    person_id: str | None
    history: tuple[ConsentEntry, ...] = ()

    @classmethod
    def of(cls, person_id: str | None, entries: Iterable[ConsentEntry]) -> ConsentState:
        return cls(person_id, tuple(sorted(entries, key=lambda e: (e.at, e.seq))))

    def as_of(self, at: datetime | None) -> ConsentState:
        """The state as it was known at ``at`` (later entries ignored)."""
        if at is None:
            return self
        return ConsentState(self.person_id, tuple(e for e in self.history if e.at <= at))

    def latest(self, purpose: Purpose) -> ConsentEntry | None:
        for entry in reversed(self.history):
            if entry.purpose is purpose:
                return entry
        return None

    def granted(self, purpose: Purpose) -> bool:
        """Absent means refused."""
        entry = self.latest(purpose)
        return entry is not None and entry.granted

    def current(self) -> dict[str, bool]:
        return {p.value: self.granted(p) for p in Purpose}


@dataclass(frozen=True, slots=True)
class Reason:
    """Why a use was allowed or blocked: machine-readable fields and a sentence."""

    code: str
    text: str
    purpose: str | None = None
    granted: bool | None = None
    source_message: str | None = None

    def public(self) -> dict[str, Any]:
        return {"code": self.code, "purpose": self.purpose, "granted": self.granted,
                "source_message": self.source_message, "text": self.text}


@dataclass(frozen=True, slots=True)
class Decision:
    """The answer of :func:`bestnext.consent.policy.may`.

    ``may_promote`` is true only when the use may carry a promotion of the bank's products:
    a service answer given without ``own_marketing`` must carry none.
    """

    allowed: bool
    reasons: tuple[Reason, ...] = field(default_factory=tuple)
    may_promote: bool = False

    def __bool__(self) -> bool:
        return self.allowed

    def public(self) -> dict[str, Any]:
        return {"allowed": self.allowed, "may_promote": self.may_promote,
                "reasons": [r.public() for r in self.reasons]}


def parse_changes(raw: Mapping[str, Any]) -> dict[Purpose, bool]:
    """Keep the known purposes whose value is a boolean.

    >>> parse_changes({"profiling": True, "own_marketing": "yes", "other": False})
    {<Purpose.PROFILING: 'profiling'>: True}
    """
    known = {p.value: p for p in Purpose}
    return {known[k]: v for k, v in raw.items() if k in known and isinstance(v, bool)}
