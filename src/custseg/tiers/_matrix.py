"""Two-way value matrix: 2 x 2 (or n x n) cells of two value columns."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._base import BaseTierer, _check_labels, _labels_array, as_sequence, quantile_edges
from ._expr import Columns
from ._value import check_increasing, numeric_column

__all__ = ["ValueMatrix", "DEFAULT_MATRIX_NAMES"]

_COLUMN = [str, Interval(numbers.Integral, None, None, closed="neither")]

#: Default names of the 2 x 2 matrix: rows y high / low, columns x high / low.
DEFAULT_MATRIX_NAMES = (("strategic", "develop"), ("maintain", "monitor"))


def _level_names(n: int) -> list:
    if n == 2:
        return ["high", "low"]
    if n == 3:
        return ["high", "mid", "low"]
    return [f"level {k}" for k in range(n, 0, -1)]


class ValueMatrix(BaseTierer):
    """Cells of a two-way matrix of two value columns (2 x 2 by default).

    Parameters
    ----------
    x : str or int, default="frequency"
        Column across the matrix (engagement: frequency, orders ...).
    y : str or int, default="monetary_value"
        Column down the matrix (value: monetary value, CLV, margin ...).
    n_bins : int, default=2
        Tiers per axis: 2 gives a 2 x 2 matrix, 3 a 3 x 3 one.
    mode : {"quantile", "threshold"}, default="quantile"
        ``"quantile"`` learns the cut points of each axis at the fractions
        ``k / n_bins`` (the medians for 2 x 2); ``"threshold"`` takes ``thresholds``.
    thresholds : dict, optional
        ``{"x": [...], "y": [...]}``, ``n_bins - 1`` increasing cut points per axis.
    names : sequence of sequences, optional
        Cell names, one row per ``y`` tier from the top down, one column per ``x`` tier
        from the top down (all distinct). Default for 2 x 2 (:data:`DEFAULT_MATRIX_NAMES`)::

                         x high       x low
              y high     strategic    develop
              y low      maintain     monitor

        and otherwise ``"<level> <y> / <level> <x>"``, such as
        ``"high monetary_value / low frequency"``.

    Attributes
    ----------
    x_thresholds_, y_thresholds_ : ndarray of shape (n_bins - 1,)
        Cut points of each axis, increasing.
    classes_ : ndarray
        Cell names from the last cell (lowest ``y``, lowest ``x``) to the first,
        row by row.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    ValueTiers : Tiers along one column.
    RuleTierer : The rule engine of the cells.

    Notes
    -----
    With cut points :math:`t^x_1 \\le \\dots` and :math:`t^y_1 \\le \\dots`, a customer
    lies in row :math:`i = n - 1 - \\#\\{k : y \\ge t^y_k\\}` and column
    :math:`j = n - 1 - \\#\\{k : x \\ge t^x_k\\}` (0 = top). The cells are evaluated as
    ordered rules (``y >= t^y_{n-1} and x >= t^x_{n-1}`` first ...) by
    :class:`RuleTierer`'s engine. The default 2 x 2 names read the matrix as importance
    (frequency) against value: ``strategic`` customers buy often and much, ``develop``
    much but rarely (grow their frequency), ``maintain`` often but little (serve them
    efficiently), ``monitor`` rarely and little.

    With an array the columns are read in the order x, y.

    References
    ----------
    .. [1] Kumar, V. and Reinartz, W. (2018). *Customer Relationship Management:
       Concept, Strategy, and Tools*, 3rd ed., Springer (two-dimensional customer
       value matrices).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import ValueMatrix
    >>> table = pd.DataFrame({"frequency": [1, 8, 2, 9, 3, 7],
    ...                       "monetary_value": [300.0, 250.0, 20.0, 15.0, 40.0, 500.0]})
    >>> matrix = ValueMatrix().fit(table)
    >>> matrix.predict(table)
    array(['develop', 'strategic', 'monitor', 'maintain', 'monitor',
           'strategic'], dtype=object)
    >>> cells = matrix.cell_table(table, value="monetary_value")
    >>> cells[["customers", "value_share"]]  # doctest: +NORMALIZE_WHITESPACE
               customers  value_share
    cell
    strategic          2     0.666667
    develop            1     0.266667
    maintain           1     0.013333
    monitor            2     0.053333
    """

    _parameter_constraints: dict = {
        "x": _COLUMN,
        "y": _COLUMN,
        "n_bins": [Interval(numbers.Integral, 2, 10, closed="both")],
        "mode": [StrOptions({"quantile", "threshold"})],
        "thresholds": [dict, None],
        "names": ["array-like", None],
    }

    def __init__(self, x="frequency", y="monetary_value", n_bins=2, mode="quantile",
                 thresholds=None, names=None):
        self.x = x
        self.y = y
        self.n_bins = n_bins
        self.mode = mode
        self.thresholds = thresholds
        self.names = names

    def _input_columns(self) -> list:
        return [self.x, self.y]

    def _names(self) -> list:
        n = self.n_bins
        if self.names is None:
            if n == 2:
                return [list(row) for row in DEFAULT_MATRIX_NAMES]
            lev = _level_names(n)
            return [[f"{lev[i]} {self.y} / {lev[j]} {self.x}" for j in range(n)]
                    for i in range(n)]
        rows = [list(row) for row in self.names]
        if len(rows) != n or any(len(r) != n for r in rows):
            raise InvalidParameterError(
                f"names must be {n} rows of {n} cell names (n_bins={n}), got "
                f"{[len(r) for r in rows]} names per row.")
        return rows

    def _fit(self, cols: Columns) -> None:
        names = self._names()
        flat = _check_labels([c for row in names for c in row], "cell names")
        self.classes_ = _labels_array(flat[::-1])
        xv = numeric_column(cols, self.x, "ValueMatrix")
        yv = numeric_column(cols, self.y, "ValueMatrix")
        if self.mode == "quantile":
            fractions = np.arange(1, self.n_bins) / self.n_bins
            self.x_thresholds_ = quantile_edges(xv, fractions)
            self.y_thresholds_ = quantile_edges(yv, fractions)
        else:
            th = self.thresholds
            if th is None or set(th) != {"x", "y"}:
                raise InvalidParameterError(
                    "mode='threshold' needs thresholds={'x': [...], 'y': [...]}.")
            for axis in ("x", "y"):
                cuts = check_increasing(as_sequence(th[axis], f"thresholds['{axis}']"),
                                        f"thresholds['{axis}']")
                if len(cuts) != self.n_bins - 1:
                    raise InvalidParameterError(
                        f"thresholds['{axis}'] needs {self.n_bins - 1} cut points for "
                        f"n_bins={self.n_bins}, got {len(cuts)}.")
                setattr(self, f"{axis}_thresholds_", cuts)

    def _cell_index(self) -> dict:
        return {lab: i for i, lab in enumerate(self.classes_.tolist())}

    def _rules(self):
        n = self.n_bins
        names = self._names()
        index = self._cell_index()
        rules = []
        for i in range(n):
            for j in range(n):
                parts = []
                if i < n - 1:
                    parts.append(("cmp", ">=", ("col", self.y),
                                  ("const", float(self.y_thresholds_[n - 2 - i]))))
                if j < n - 1:
                    parts.append(("cmp", ">=", ("col", self.x),
                                  ("const", float(self.x_thresholds_[n - 2 - j]))))
                if not parts:
                    continue  # the last cell is the default
                node = parts[0] if len(parts) == 1 else ("and", tuple(parts))
                rules.append((index[names[i][j]], node))
        return rules, index[names[n - 1][n - 1]]

    def _codes(self, cols: Columns):
        numeric_column(cols, self.x, "ValueMatrix")
        numeric_column(cols, self.y, "ValueMatrix")
        return super()._codes(cols)

    def cell_table(self, X, value=None) -> pd.DataFrame:
        """Customers and value per cell.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.
        value : str, int or array-like of shape (n_customers,), optional
            Value to share out between the cells: a column of ``X`` or one number per
            customer.

        Returns
        -------
        DataFrame
            One row per cell (index ``cell``, rows in matrix order, top left first):
            ``y_level``, ``x_level``, ``customers``, ``customer_share`` and, with
            ``value``, ``value`` and ``value_share``.
        """
        check_is_fitted(self)
        cols = self._prepare(X, reset=False)
        codes = self._codes(cols).astype(np.intp)
        k = len(self.classes_)
        counts = np.bincount(codes, minlength=k)
        n, lev = self.n_bins, _level_names(self.n_bins)
        names = self._names()
        index = self._cell_index()
        order = [index[names[i][j]] for i in range(n) for j in range(n)]
        table = pd.DataFrame({
            "y_level": [lev[i] for i in range(n) for _ in range(n)],
            "x_level": [lev[j] for _ in range(n) for j in range(n)],
            "customers": counts[order],
            "customer_share": counts[order] / cols.n,
        }, index=pd.Index([names[i][j] for i in range(n) for j in range(n)], name="cell"))
        if value is not None:
            v = self._value_array(cols, value)
            sums = np.bincount(codes, weights=v, minlength=k)
            total = v.sum()
            table["value"] = sums[order]
            table["value_share"] = sums[order] / total if total != 0 else np.nan
        return table

    def _value_array(self, cols: Columns, value) -> np.ndarray:
        if isinstance(value, (str, numbers.Integral)) and not isinstance(value, bool):
            if isinstance(value, str) and value not in cols.names:
                from .._validation import check_columns

                check_columns(cols.frame_for_columns(), [value], what="input of cell_table")
            return numeric_column(cols, value, "cell_table")
        v = np.asarray(value, dtype=np.float64).ravel()
        if v.shape[0] != cols.n:
            raise InvalidDataError(
                f"value holds {v.shape[0]} numbers for {cols.n} customers.")
        raise_bad_rows(pd.DataFrame({"value": v}), ~np.isfinite(v), "value",
                       "are NaN or infinite")
        return v

    def _output_name(self) -> str:
        return "value_matrix"
