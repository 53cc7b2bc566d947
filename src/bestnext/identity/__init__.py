"""Identity resolution: persons, identifiers, merges with provenance, reversible un-merges,
households. Public surface: :mod:`bestnext.identity.services` and :mod:`bestnext.identity.hooks`.
"""

from bestnext.identity.model import Identifier, Identity
from bestnext.identity.processor import IdentityProcessor

__all__ = ["Identifier", "Identity", "IdentityProcessor"]
