"""Probabilistic customer models: purchase counts (BG/NBD family) and spend (Gamma-Gamma).

Transaction models derive from :class:`BaseTransactionModel`; fit them on a customer
table (``frequency``, ``recency``, ``T``), then predict expected purchases, the
probability of being alive, purchase probabilities, or simulate customers.
:class:`CLVEstimator` combines a transaction model and a spend model into a discounted
customer lifetime value; :class:`ChurnEstimator` and :class:`HoldoutChurnClassifier`
turn them into churn classifiers; the diagnostics check a fit on a holdout period.
"""

from ._base import BaseTransactionModel, periods_per_year
from ._bgbb import BetaGeoBetaBinom
from ._bgnbd import BetaGeo
from ._churn import ChurnEstimator, HoldoutChurnClassifier
from ._clv import CLVEstimator
from ._diagnostics import (
    calibration_table,
    expected_vs_actual_by_frequency,
    holdout_errors,
    simulated_vs_actual_repeat_counts,
)
from ._gammagamma import GammaGamma
from ._mbgnbd import ModifiedBetaGeo
from ._paretonbd import ParetoNBD

__all__ = [
    "BaseTransactionModel",
    "BetaGeo",
    "BetaGeoBetaBinom",
    "CLVEstimator",
    "ChurnEstimator",
    "GammaGamma",
    "HoldoutChurnClassifier",
    "ModifiedBetaGeo",
    "ParetoNBD",
    "calibration_table",
    "expected_vs_actual_by_frequency",
    "holdout_errors",
    "periods_per_year",
    "simulated_vs_actual_repeat_counts",
]
