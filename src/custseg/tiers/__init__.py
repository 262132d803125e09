"""Rule-based tiers: ordered rules and their presets.

Every tierer is a scikit-learn estimator that learns its cut points in ``fit`` and
applies the same ones to a later snapshot in ``predict``, so tiers stay comparable over
time. The presets (value tiers, RFM scores and segments, lifecycle stages, value matrix,
satisfaction tiers) build ordered rules from their cut points and evaluate them with
the one engine of :class:`RuleTierer`.
"""

from ._base import RuleTierer, pareto_edges, quantile_edges
from ._lifecycle import STAGES, LifecycleStages
from ._matrix import DEFAULT_MATRIX_NAMES, ValueMatrix
from ._rfm import DEFAULT_RFM_MAP, RFMScorer, RFMSegmenter
from ._satisfaction import SCHEMES, SatisfactionTiers
from ._value import ValueTiers

__all__ = [
    "DEFAULT_MATRIX_NAMES",
    "DEFAULT_RFM_MAP",
    "LifecycleStages",
    "RFMScorer",
    "RFMSegmenter",
    "RuleTierer",
    "SCHEMES",
    "STAGES",
    "SatisfactionTiers",
    "ValueMatrix",
    "ValueTiers",
    "pareto_edges",
    "quantile_edges",
]
