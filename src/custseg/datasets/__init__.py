"""Real data shipped with custseg and a simulator of transaction logs."""

from ._loaders import (
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
)
from ._simulate import CDNOW_PARAMS, make_transactions

__all__ = [
    "CDNOW_PARAMS",
    "load_cdnow_summary",
    "load_cdnow_transactions",
    "load_donations",
    "make_transactions",
]
