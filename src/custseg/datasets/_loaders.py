"""Loaders for the real data shipped with custseg (see ``data/PROVENANCE.md``)."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = [
    "load_cdnow_transactions",
    "load_cdnow_summary",
    "load_donations",
    "data_path",
]


def data_path(name: str):
    """Path of a bundled data file (a ``pathlib.Path`` inside the installed package)."""
    return resources.files("custseg.datasets") / "data" / name


def load_cdnow_transactions(sample: bool = True) -> pd.DataFrame:
    """CDNOW purchases as a tidy transaction log.

    Parameters
    ----------
    sample : bool, default=True
        ``True`` loads the 1/10 sample of 2,357 customers and 6,919 purchases used in the
        papers (Fader, Hardie & Lee 2005); ``False`` loads the master file of 23,570
        customers and 69,659 purchases.

    Returns
    -------
    DataFrame
        Columns ``customer_id`` (int), ``date`` (datetime64), ``quantity`` (number of
        CDs, int) and ``amount`` (dollars, float), in file order.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_transactions
    >>> log = load_cdnow_transactions()
    >>> log.shape
    (6919, 4)
    >>> int(log["customer_id"].nunique())
    2357
    """
    if sample:
        raw = pd.read_csv(
            data_path("CDNOW_sample.txt"), sep=r"\s+", header=None,
            names=["master_id", "customer_id", "date", "quantity", "amount"],
            dtype={"date": str},
        ).drop(columns="master_id")
    else:
        raw = pd.read_csv(
            data_path("CDNOW_master.txt"), sep=r"\s+", header=0,
            names=["customer_id", "date", "quantity", "amount"], dtype={"date": str},
        )
    raw["date"] = pd.to_datetime(raw["date"], format="%Y%m%d")
    raw["customer_id"] = raw["customer_id"].astype("int64")
    raw["quantity"] = raw["quantity"].astype("int64")
    raw["amount"] = raw["amount"].astype("float64")
    return raw[["customer_id", "date", "quantity", "amount"]]


def load_cdnow_summary(with_monetary_value: bool = True) -> pd.DataFrame:
    """The CDNOW sample summarised over the 39-week calibration period, in weeks.

    Returns
    -------
    DataFrame
        Indexed by ``customer_id`` (1..2357) with columns ``frequency`` (repeat
        purchases), ``recency`` and ``T`` in weeks, and, by default, ``monetary_value``
        (mean value of the repeat purchases, 0 for customers without one).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> table = load_cdnow_summary()
    >>> list(table.columns)
    ['frequency', 'recency', 'T', 'monetary_value']
    >>> len(table)
    2357
    """
    raw = pd.read_csv(data_path("cdnow_customers_summary_with_transactions.csv"))
    table = raw.rename(columns={"ID": "customer_id", "x": "frequency", "t_x": "recency",
                                "zbar": "monetary_value"}).set_index("customer_id")
    table = table.astype({"frequency": "int64", "recency": "float64", "T": "float64",
                          "monetary_value": "float64"})
    cols = ["frequency", "recency", "T"] + (["monetary_value"] if with_monetary_value else [])
    return table[cols]


def load_donations() -> pd.DataFrame:
    """Donations of 11,104 first-time supporters over 6 annual opportunities (BG/BB).

    Returns
    -------
    DataFrame
        The 22 distinct patterns: ``frequency`` (repeat donations), ``recency`` (the
        opportunity of the last donation), ``periods`` (opportunities, 6) and ``weights``
        (number of supporters with that pattern).

    Examples
    --------
    >>> from custseg.datasets import load_donations
    >>> d = load_donations()
    >>> int(d["weights"].sum())
    11104
    """
    return pd.read_csv(data_path("donations.csv")).astype("int64")
