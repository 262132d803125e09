"""Probabilistic customer models: purchase counts (BG/NBD family) and spend (Gamma-Gamma)."""

from ._base import BaseTransactionModel, periods_per_year
from ._bgnbd import BetaGeo

__all__ = ["BaseTransactionModel", "BetaGeo", "periods_per_year"]
