"""From transaction logs to customer tables: counted cleaning and RFM features.

:func:`clean_transactions` repairs a raw log and accounts for every row it removes in a
:class:`CleaningReport`; :func:`rfm_summary` turns a log into one row per customer
(frequency, recency, T, monetary value) and :func:`calibration_holdout_split` does the
same over a calibration window with the purchases of the following holdout window.
"""

from ._clean import CleaningReport, clean_transactions
from ._rfm import calibration_holdout_split, rfm_summary

__all__ = [
    "CleaningReport",
    "calibration_holdout_split",
    "clean_transactions",
    "rfm_summary",
]
