"""Probabilistic customer models: purchase counts (BG/NBD family) and spend (Gamma-Gamma).

Transaction models derive from :class:`BaseTransactionModel`; fit them on a customer
table (``frequency``, ``recency``, ``T``), then predict expected purchases, the
probability of being alive, purchase probabilities, or simulate customers.
"""

from ._base import BaseTransactionModel, periods_per_year
from ._bgnbd import BetaGeo
from ._gammagamma import GammaGamma
from ._mbgnbd import ModifiedBetaGeo

__all__ = [
    "BaseTransactionModel",
    "BetaGeo",
    "GammaGamma",
    "ModifiedBetaGeo",
    "periods_per_year",
]
