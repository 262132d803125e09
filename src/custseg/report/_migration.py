"""Migration of customers between the tiers (or segments) of two snapshots."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .._validation import raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError

__all__ = ["migration_matrix", "NEW_LABEL", "GONE_LABEL"]

#: Row of the customers present only in the later snapshot.
NEW_LABEL = "(new)"
#: Column of the customers present only in the earlier snapshot.
GONE_LABEL = "(gone)"


def _as_categorical(labels, what: str) -> tuple[pd.Series, pd.Categorical]:
    if not isinstance(labels, pd.Series):
        raise InvalidDataError(
            f"{what} must be a pandas Series of labels indexed by customer id, "
            f"got {type(labels).__name__}. Build one with "
            "pd.Series(labels, index=table.index)."
        )
    frame = labels.to_frame(labels.name if labels.name is not None else "label")
    raise_bad_rows(frame, labels.index.duplicated(keep=False), "customer_id",
                   f"of {what} have a duplicated customer id (one label per customer "
                   "is expected)")
    values = labels.array
    cat = values if isinstance(values, pd.Categorical) else pd.Categorical(values)
    raise_bad_rows(frame, np.asarray(cat.codes) < 0, str(frame.columns[0]),
                   f"of {what} have no label (NaN)",
                   hint="Give these customers a label of their own or drop them first.")
    for reserved in (NEW_LABEL, GONE_LABEL):
        if reserved in cat.categories:
            raise InvalidDataError(
                f"{what} uses the label {reserved!r}, which migration_matrix reserves for "
                "customers present in one snapshot only; rename that label."
            )
    return labels, cat


def migration_matrix(labels_before: pd.Series, labels_after: pd.Series,
                     normalize: bool | str = False) -> pd.DataFrame:
    """Count the customers moving between the labels of two snapshots.

    Parameters
    ----------
    labels_before : Series
        Tier or segment of each customer at the earlier snapshot, indexed by customer id.
    labels_after : Series
        Tier or segment of each customer at the later snapshot, indexed by customer id.
        The two Series are aligned on their index, not on their position.
    normalize : {False, "index"}, default=False
        ``False`` returns customer counts; ``"index"`` divides each row by its total, so
        that a row gives where the customers of a tier went (rows without customers are
        NaN).

    Returns
    -------
    DataFrame
        Rows: the earlier labels, then ``"(new)"`` for customers present only in the
        later snapshot. Columns: the later labels, then ``"(gone)"`` for customers
        present only in the earlier snapshot. Labels keep their category order when they
        are categorical (every category appears, even without customers) and are sorted
        otherwise. The index is named ``"before"`` and the columns ``"after"``.

    Notes
    -----
    Entry :math:`(i, j)` of the count matrix is

    .. math::

        N_{ij} = \\#\\{c : \\ell_0(c) = i,\\ \\ell_1(c) = j\\},

    where :math:`\\ell_0` and :math:`\\ell_1` are the labels of customer :math:`c` in the
    two snapshots and a customer missing from a snapshot has the label ``"(new)"`` or
    ``"(gone)"`` there. With ``normalize="index"`` the entries are
    :math:`N_{ij} / \\sum_j N_{ij}`: the empirical one-period transition probabilities of
    the Markov-chain view of customer relationships [1]_. The cell
    (``"(new)"``, ``"(gone)"``) is always 0.

    References
    ----------
    .. [1] Pfeifer, P. E. and Carraway, R. L. (2000). "Modeling Customer Relationships
       as Markov Chains". Journal of Interactive Marketing 14(2), 43-55 (the transition
       matrix P between recency states).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.report import migration_matrix
    >>> tiers = ["gold", "silver", "bronze"]
    >>> before = pd.Series(pd.Categorical(["gold", "silver", "silver", "bronze"],
    ...                                   categories=tiers), index=[1, 2, 3, 4])
    >>> after = pd.Series(pd.Categorical(["gold", "gold", "bronze", "bronze"],
    ...                                  categories=tiers), index=[1, 2, 4, 5])
    >>> migration_matrix(before, after)  # doctest: +NORMALIZE_WHITESPACE
    after   gold  silver  bronze  (gone)
    before
    gold       1       0       0       0
    silver     1       0       0       1
    bronze     0       0       1       0
    (new)      0       0       1       0
    """
    if normalize not in (False, "index"):
        raise InvalidParameterError(
            f"normalize must be False (counts) or 'index' (row shares), got {normalize!r}."
        )
    before, cat_b = _as_categorical(labels_before, "labels_before")
    after, cat_a = _as_categorical(labels_after, "labels_after")
    codes_b = np.asarray(cat_b.codes, dtype=np.int64)
    codes_a = np.asarray(cat_a.codes, dtype=np.int64)
    k_b, k_a = len(cat_b.categories), len(cat_a.categories)

    where_after = after.index.get_indexer(before.index)  # -1: not in the later snapshot
    col_of_before = np.append(codes_a, k_a)[where_after]  # position -1 reads "(gone)"
    is_new = ~after.index.isin(before.index)
    rows = np.concatenate([codes_b, np.full(int(is_new.sum()), k_b, dtype=np.int64)])
    cols = np.concatenate([col_of_before, codes_a[is_new]])
    counts = np.bincount(rows * (k_a + 1) + cols, minlength=(k_b + 1) * (k_a + 1))
    counts = counts.reshape(k_b + 1, k_a + 1).astype(np.int64)

    index = pd.Index(list(cat_b.categories) + [NEW_LABEL], name="before", dtype=object)
    columns = pd.Index(list(cat_a.categories) + [GONE_LABEL], name="after", dtype=object)
    if normalize == "index":
        totals = counts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(totals > 0, counts / np.maximum(totals, 1), np.nan)
        return pd.DataFrame(shares, index=index, columns=columns)
    return pd.DataFrame(counts, index=index, columns=columns)
