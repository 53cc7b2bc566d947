"""Consent: the append-only ledger, the one policy function, the consent processor."""

from bestnext.consent.model import (
    ConsentEntry,
    ConsentState,
    DataCategory,
    Decision,
    Purpose,
    Reason,
    Source,
    Use,
)
from bestnext.consent.policy import allowed_signals, filter_sensitive, may, signal_category

__all__ = [
    "ConsentEntry", "ConsentState", "DataCategory", "Decision", "Purpose", "Reason", "Source", "Use",
    "allowed_signals", "filter_sensitive", "may", "signal_category",
]
