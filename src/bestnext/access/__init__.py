"""Access control: API keys, roles, principals."""

from bestnext.access.model import Principal, Role, hash_secret, new_secret

__all__ = ["Principal", "Role", "hash_secret", "new_secret"]
