"""Reports on segments and tiers: profiles and migration between snapshots."""

from ._migration import migration_matrix
from ._profile import segment_profile

__all__ = [
    "migration_matrix",
    "segment_profile",
]
