"""Profiles: one per person, folded from the log (traits, lifecycle, holdings, interests).
Public surface: :mod:`bestnext.profiles.services`."""

from bestnext.profiles.processor import ProfilesProcessor

__all__ = ["ProfilesProcessor"]
