"""Data subject rights (export, erasure with tombstones), the privacy registry, retention."""
