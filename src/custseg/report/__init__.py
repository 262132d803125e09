"""Reports on segments and tiers: profiles, migration between snapshots, plots and a
self-contained HTML report."""

from ._html import build_report
from ._migration import migration_matrix
from ._plots import (
    plot_calibration_purchases_vs_holdout_purchases,
    plot_frequency_recency_matrix,
    plot_migration,
    plot_period_transactions,
    plot_probability_alive_matrix,
    plot_segments,
    plot_tier_sizes,
    plot_value_matrix,
)
from ._profile import segment_profile

__all__ = [
    "build_report",
    "migration_matrix",
    "plot_calibration_purchases_vs_holdout_purchases",
    "plot_frequency_recency_matrix",
    "plot_migration",
    "plot_period_transactions",
    "plot_probability_alive_matrix",
    "plot_segments",
    "plot_tier_sizes",
    "plot_value_matrix",
    "segment_profile",
]
