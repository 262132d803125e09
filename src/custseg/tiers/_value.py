"""Value tiers: top / middle / rest by learned quantiles, fixed thresholds or Pareto shares."""

from __future__ import annotations

import numbers

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from .._validation import raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._base import (
    BaseTierer,
    _check_labels,
    _labels_array,
    as_sequence,
    pareto_edges,
    quantile_edges,
)
from ._expr import Columns

__all__ = ["ValueTiers", "numeric_column", "check_increasing"]


def numeric_column(cols: Columns, name, what: str, *, nonnegative: bool = False,
                   allow_nan: bool = False) -> np.ndarray:
    """A numeric column (integers stay integers), raising (column, count, examples) on
    text, NaN or infinite values (NaN allowed with ``allow_nan``) and, with
    ``nonnegative``, negative values."""
    label = cols.label(name)
    value = cols.numeric(name, hint=f"{what} needs numbers in this column.")
    if value.dtype.kind == "f":
        finite = np.isfinite(value)
        if not finite.all():
            bad = ~finite if not allow_nan else np.isinf(value)
            raise_bad_rows(cols.frame, bad, label,
                           "are infinite" if allow_nan else "are NaN or infinite",
                           hint=f"{what} cannot score them; fill or drop them first.")
    if nonnegative and value.dtype.kind != "b" and (value < 0).any():
        raise_bad_rows(cols.frame, value < 0, label, "are negative",
                       hint=f"Negative values in data are not valid for {what} here.")
    return value


def check_increasing(values, what: str, *, strict: bool = True) -> np.ndarray:
    arr = np.asarray(values, dtype=np.float64)
    steps = np.diff(arr)
    if (steps <= 0).any() if strict else (steps < 0).any():
        raise InvalidParameterError(
            f"{what} must be {'strictly ' if strict else ''}increasing, got {list(values)}.")
    return arr


class ValueTiers(BaseTierer):
    """Tiers by any value column: top / middle / rest, learned in ``fit``.

    Parameters
    ----------
    column : str or int, default="monetary_value"
        The value column (``clv``, ``monetary_value``, revenue ...), by name or position.
        With an array (no column names) and a name, the first column is read.
    quantiles : sequence of float, default=(0.8, 0.5)
        Quantile mode: the lower quantile of each tier but the last, from the top tier
        down (strictly decreasing, in (0, 1)). The default makes the top 20% ``high``,
        the next 30% ``mid`` and the rest ``low``.
    thresholds : sequence of float, optional
        Threshold mode: fixed cut points in increasing order; a customer with
        ``value >= thresholds[-1]`` is in the top tier.
    labels : sequence of str or int, default=("high", "mid", "low")
        Tier names from the top tier down; one more than the cut points.
    mode : {"quantile", "threshold", "pareto"}, optional
        How the cut points are found. By default ``"threshold"`` when ``thresholds`` is
        given, else ``"quantile"``.
    pareto_shares : sequence of float, default=(0.8, 0.95)
        Pareto mode: increasing cumulative shares of the total value. The default puts
        the customers who make the first 80% of the value in ``high``, those who make
        the next 15% in ``mid``, the rest in ``low``.

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_tiers - 1,)
        Cut points in increasing order (learned or given): tier ``k`` from the bottom
        (``k = 0 ... n_tiers - 1``) holds ``thresholds_[k-1] <= value <
        thresholds_[k]``. An ``inf`` cut point leaves its tier empty.
    classes_ : ndarray
        Labels from the lowest tier to the highest (``labels`` reversed).
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    RuleTierer : The rule engine this preset builds on.
    quantile_edges, pareto_edges : The functions that learn the cut points.

    Notes
    -----
    With cut points :math:`t_1 \\le \\dots \\le t_{K-1}` the tier of a value :math:`v`
    is :math:`k(v) = \\#\\{j : v \\ge t_j\\}` (0 = lowest), a non-decreasing function of
    :math:`v`: a higher value never gets a lower tier. ``predict`` evaluates the rules
    ``labels[0] if v >= t_{K-1}``, ``labels[1] if v >= t_{K-2}`` ... default
    ``labels[-1]`` with :class:`RuleTierer`'s engine.

    Quantile cut points keep tied values together (each tied group goes to the tier
    of its mid-rank, see :func:`quantile_edges`). Pareto cut points follow the classic
    80/20 analysis [1]_: sort by decreasing value; the first tier holds the customers
    whose predecessors' value is below 80% of the total (see :func:`pareto_edges`).
    Values must then be non-negative.

    References
    ----------
    .. [1] Kumar, V. and Reinartz, W. (2018). *Customer Relationship Management:
       Concept, Strategy, and Tools*, 3rd ed., Springer (customer pyramid, tiers by
       share of value).
    .. [2] Zeithaml, V. A., Rust, R. T. and Lemon, K. N. (2001). The customer pyramid:
       creating and serving profitable customers. *California Management Review*
       43(4), 118-142.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import ValueTiers
    >>> table = pd.DataFrame({"clv": [5.0, 80.0, 12.0, 300.0, 45.0, 20.0, 9.0, 150.0,
    ...                               60.0, 30.0]})
    >>> tiers = ValueTiers(column="clv").fit(table)
    >>> tiers.thresholds_
    array([ 45., 150.])
    >>> tiers.predict(table)
    array(['low', 'mid', 'low', 'high', 'mid', 'low', 'low', 'high', 'mid',
           'low'], dtype=object)
    >>> ValueTiers(column="clv", mode="pareto", pareto_shares=[0.5],
    ...            labels=["top", "rest"]).fit(table).thresholds_
    array([150.])
    """

    _parameter_constraints: dict = {
        "column": [str, Interval(numbers.Integral, None, None, closed="neither")],
        "quantiles": ["array-like"],
        "thresholds": ["array-like", None],
        "labels": ["array-like"],
        "mode": [StrOptions({"quantile", "threshold", "pareto"}), None],
        "pareto_shares": ["array-like"],
    }

    def __init__(self, column="monetary_value", quantiles=(0.8, 0.5), thresholds=None,
                 labels=("high", "mid", "low"), mode=None, pareto_shares=(0.8, 0.95)):
        self.column = column
        self.quantiles = quantiles
        self.thresholds = thresholds
        self.labels = labels
        self.mode = mode
        self.pareto_shares = pareto_shares

    def _input_columns(self) -> list:
        return [self.column]

    def _mode(self) -> str:
        if self.mode is not None:
            return self.mode
        return "threshold" if self.thresholds is not None else "quantile"

    def _fit(self, cols: Columns) -> None:
        labels = _check_labels(self.labels)
        mode = self._mode()
        if mode == "threshold":
            if self.thresholds is None:
                raise InvalidParameterError("mode='threshold' needs thresholds=[...].")
            cuts = check_increasing(as_sequence(self.thresholds, "thresholds"),
                                    "thresholds")
            values = numeric_column(cols, self.column, "ValueTiers")
        elif mode == "quantile":
            qs = as_sequence(self.quantiles, "quantiles")
            if any(not 0 < q < 1 for q in qs):
                raise InvalidParameterError(f"quantiles must lie in (0, 1), got {qs}.")
            check_increasing(qs[::-1], "quantiles read from the last tier up (they must "
                             "be strictly decreasing from the top tier down)")
            values = numeric_column(cols, self.column, "ValueTiers")
            cuts = quantile_edges(values, qs[::-1])
        else:
            shares = as_sequence(self.pareto_shares, "pareto_shares")
            if any(not 0 < s < 1 for s in shares):
                raise InvalidParameterError(
                    f"pareto_shares must lie in (0, 1), got {shares}.")
            check_increasing(shares, "pareto_shares")
            values = numeric_column(cols, self.column, "ValueTiers(mode='pareto')",
                                    nonnegative=True)
            if not values.sum() > 0:
                raise InvalidDataError(
                    f"Column '{self.column}': the total value is 0, so there are no "
                    "shares of it to split (mode='pareto').")
            cuts = pareto_edges(values, shares)[::-1]
        if len(labels) != len(cuts) + 1:
            raise InvalidParameterError(
                f"labels has {len(labels)} names but the {mode} cut points define "
                f"{len(cuts) + 1} tiers; give {len(cuts) + 1} labels.")
        self.thresholds_ = np.asarray(cuts, dtype=np.float64)
        self.classes_ = _labels_array(labels[::-1])

    def _rules(self):
        col = ("col", self.column)
        k = len(self.thresholds_)
        # code k (top) if v >= t[k-1]; code k-1 if v >= t[k-2] ...; default code 0
        rules = [(code, ("cmp", ">=", col, ("const", float(self.thresholds_[code - 1]))))
                 for code in range(k, 0, -1)]
        return rules, 0

    def _codes(self, cols: Columns):
        numeric_column(cols, self.column, "ValueTiers")
        return super()._codes(cols)

    def _output_name(self) -> str:
        return "value_tier"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = self._mode() == "pareto"
        return tags
