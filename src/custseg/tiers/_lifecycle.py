"""Lifecycle stages: prospect, new, active, reactivated, dormant, churned."""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils import metadata_routing
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._validation import raise_bad_rows
from ..exceptions import EmptyDataError, InvalidDataError, InvalidParameterError
from ._base import BaseTierer, _check_labels, _labels_array, as_sequence
from ._expr import Columns
from ._rfm import check_recency_le_T
from ._value import numeric_column

__all__ = ["LifecycleStages", "STAGES"]

#: Stage names in lifecycle order (the order of ``classes_``).
STAGES = ("prospect", "new", "active", "reactivated", "dormant", "churned")
_P, _NEW, _ACTIVE, _REACTIVATED, _DORMANT, _CHURNED = range(6)

_COLUMN = [str, Interval(numbers.Integral, None, None, closed="neither")]
_POSITIVE = [Interval(numbers.Real, 0, None, closed="left"), None]

#: Quantiles used for thresholds left to ``None``.
NEW_QUANTILE, ACTIVE_QUANTILE, DORMANT_QUANTILE = 0.1, 0.5, 0.8


class LifecycleStages(BaseTierer):
    """Lifecycle stage of each customer from purchase timing or from P(alive).

    Parameters
    ----------
    new_within : float, optional
        A customer whose first purchase is at most this old (``T <= new_within``, in
        the table's time unit) is ``new``. ``None`` learns it in ``fit``: the 10%
        quantile of ``T`` (the youngest tenth of the customers is new).
    active_within : float, optional
        ``active`` when the time since the last purchase is at most this. ``None``
        learns the median time since the last purchase.
    dormant_within : float, optional
        ``dormant`` (at risk) when the time since the last purchase is at most this and
        more than ``active_within``; beyond it ``churned``. ``None`` learns the 80%
        quantile of the time since the last purchase.
    p_alive_thresholds : (float, float), optional
        ``(active_min, dormant_min)`` with ``1 >= active_min > dormant_min >= 0``:
        stages from the probability of being alive of a transaction model instead of
        purchase timing: ``active`` when ``p_alive >= active_min``, ``dormant`` when
        ``p_alive >= dormant_min``, else ``churned``.
    recency_col : str or int, default="recency"
        Recency column (see ``recency_is``); not read with ``p_alive_thresholds``.
    T_col : str or int or None, default="T"
        Age of the customer (time since the first purchase). ``NaN`` marks a prospect
        (no purchase yet). ``None`` (only with ``recency_is="days_since_last"`` or
        ``p_alive_thresholds``) drops the ``new`` stage.
    p_alive_col : str or int, default="p_alive"
        Column of P(alive), read with ``p_alive_thresholds``.
    prospect_col : str or int, optional
        Boolean (or 0/1) column flagging prospects, in addition to a missing ``T``.
    recency_is : {"lifetimes", "days_since_last"}, default="lifetimes"
        ``"lifetimes"``: recency is the age at the last purchase, and the time since the
        last purchase is ``T - recency``; ``"days_since_last"``: recency is the time
        since the last purchase itself (any unit).
    labels : dict, optional
        Other names for the stages, ``{"churned": "lapsed", ...}``; stages left out
        keep their names.

    Attributes
    ----------
    new_within_, active_within_, dormant_within_ : float or None
        Thresholds used (given or learned; ``None`` where not used).
    classes_ : ndarray
        Stage labels in lifecycle order: prospect, new, active, reactivated, dormant,
        churned.
    n_features_in_ : int
        Number of columns seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Column names seen in :meth:`fit`, when they were all strings.

    See Also
    --------
    RuleTierer : The rule engine of the stages.

    Notes
    -----
    Writing :math:`s = T - \\text{recency}` for the time since the last purchase, the
    rules, first match wins, are

    .. math::

        \\text{prospect} &: T \\text{ missing (or flagged)}\\\\
        \\text{new} &: T \\le \\text{new\\_within}\\\\
        \\text{active} &: s \\le \\text{active\\_within}
                         \\quad (\\text{or } P(\\text{alive}) \\ge a)\\\\
        \\text{dormant} &: s \\le \\text{dormant\\_within}
                          \\quad (\\text{or } P(\\text{alive}) \\ge d)\\\\
        \\text{churned} &: \\text{otherwise.}

    ``predict(X, previous=labels_before)`` also marks as ``reactivated`` the customers
    who were ``dormant`` or ``churned`` in the previous snapshot and are ``active``
    now. Thresholds are in the time unit of the table (days, weeks ...).

    With an array the columns are read in the order recency (without
    ``p_alive_thresholds``), T (unless ``T_col=None``), p_alive (with
    ``p_alive_thresholds``), prospect flag (with ``prospect_col``).

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
       customers" the easy way: an alternative to the Pareto/NBD model. *Marketing
       Science* 24(2), 275-284 (P(alive) of the BG/NBD model, the model-based stage).
    .. [2] Kumar, V. and Reinartz, W. (2018). *Customer Relationship Management:
       Concept, Strategy, and Tools*, 3rd ed., Springer, ch. 2 (customer lifecycle:
       acquisition, retention, win-back).

    Examples
    --------
    >>> import numpy as np
    >>> import pandas as pd
    >>> from custseg.tiers import LifecycleStages
    >>> table = pd.DataFrame({
    ...     "recency": [0.0, 50.0, 80.0, 10.0, 0.0, np.nan],
    ...     "T": [5.0, 60.0, 100.0, 100.0, 200.0, np.nan],
    ... })
    >>> stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120)
    >>> stages.fit_predict(table)
    array(['new', 'active', 'active', 'dormant', 'churned', 'prospect'],
          dtype=object)
    >>> later = table.assign(T=table["T"] + 20,
    ...                      recency=[20.0, 75.0, 80.0, 115.0, 0.0, np.nan])
    >>> stages.predict(later, previous=stages.predict(table))
    array(['active', 'active', 'dormant', 'reactivated', 'churned',
           'prospect'], dtype=object)
    """

    _parameter_constraints: dict = {
        "new_within": _POSITIVE,
        "active_within": _POSITIVE,
        "dormant_within": _POSITIVE,
        "p_alive_thresholds": ["array-like", None],
        "recency_col": _COLUMN,
        "T_col": [*_COLUMN, None],
        "p_alive_col": _COLUMN,
        "prospect_col": [*_COLUMN, None],
        "recency_is": [StrOptions({"lifetimes", "days_since_last"})],
        "labels": [dict, None],
    }

    _missing_policy = "no_match"
    # ``previous`` is an argument of predict / transform, not metadata to route
    __metadata_request__predict = {"previous": metadata_routing.UNUSED}
    __metadata_request__transform = {"previous": metadata_routing.UNUSED}

    def __init__(self, new_within=None, active_within=None, dormant_within=None,
                 p_alive_thresholds=None, recency_col="recency", T_col="T",
                 p_alive_col="p_alive", prospect_col=None, recency_is="lifetimes",
                 labels=None):
        self.new_within = new_within
        self.active_within = active_within
        self.dormant_within = dormant_within
        self.p_alive_thresholds = p_alive_thresholds
        self.recency_col = recency_col
        self.T_col = T_col
        self.p_alive_col = p_alive_col
        self.prospect_col = prospect_col
        self.recency_is = recency_is
        self.labels = labels

    # -- columns
    def _uses_timing(self) -> bool:
        return self.p_alive_thresholds is None

    def _input_columns(self) -> list:
        cols = []
        if self._uses_timing():
            cols.append(self.recency_col)
        if self.T_col is not None:
            cols.append(self.T_col)
        if not self._uses_timing():
            cols.append(self.p_alive_col)
        if self.prospect_col is not None:
            cols.append(self.prospect_col)
        return cols

    def _first_purchase_col(self):
        if self.T_col is not None:
            return self.T_col
        return self.recency_col if self._uses_timing() else None

    def _check_params(self) -> None:
        if self.T_col is None and self._uses_timing() and self.recency_is == "lifetimes":
            raise InvalidParameterError(
                "T_col=None needs recency_is='days_since_last' (with recency_is="
                "'lifetimes' the time since the last purchase is T - recency).")
        if self.T_col is None and self.new_within is not None:
            raise InvalidParameterError("new_within needs the age column T (T_col).")
        if not self._uses_timing():
            if self.active_within is not None or self.dormant_within is not None:
                raise InvalidParameterError(
                    "active_within / dormant_within are not used with p_alive_thresholds;"
                    " leave them to None.")
            pa = as_sequence(self.p_alive_thresholds, "p_alive_thresholds")
            if len(pa) != 2 or not 1 >= pa[0] > pa[1] >= 0:
                raise InvalidParameterError(
                    "p_alive_thresholds must be (active_min, dormant_min) with 1 >= "
                    f"active_min > dormant_min >= 0 (decreasing), got {list(pa)}.")
        elif (self.active_within is not None and self.dormant_within is not None
              and not self.active_within < self.dormant_within):
            raise InvalidParameterError(
                "The thresholds must increase: active_within < dormant_within, got "
                f"active_within={self.active_within}, dormant_within={self.dormant_within}.")

    def _arrays(self, cols: Columns, *, since: bool = True) -> dict:
        """Validated arrays and the prospect mask (values of prospects are not checked).

        ``since=False`` only checks (no time since the last purchase is computed).
        """
        name = type(self).__name__
        prospect = np.zeros(cols.n, dtype=bool)
        if self.prospect_col is not None:
            flag = cols.series(self.prospect_col)
            ok = flag.isin([True, False, 0, 1]).to_numpy(dtype=bool)
            raise_bad_rows(cols.frame, ~ok, str(self.prospect_col),
                           "are not True/False (or 1/0)")
            prospect |= flag.to_numpy(dtype=bool)
        first = self._first_purchase_col()
        out = {}
        for key, col in (("T", self.T_col), ("recency", self.recency_col if
                                             self._uses_timing() else None)):
            if col is None:
                continue
            arr = numeric_column(cols, col, name, allow_nan=True)
            if arr.dtype.kind == "f":
                nan = cols.missing(col)
                if col == first:
                    prospect |= nan
                elif nan.any():
                    raise_bad_rows(cols.frame, nan & ~prospect, str(col),
                                   "are missing for customers who are not prospects",
                                   hint="A missing T marks a prospect (no purchase yet).",
                                   error=InvalidDataError)
            with np.errstate(invalid="ignore"):
                negative = arr < 0
            if negative.any():
                raise_bad_rows(cols.frame, negative & ~prospect, str(col), "are negative",
                               hint="Negative values in data are not valid ages or times.")
            out[key] = arr
        if "recency" in out:
            if self.recency_is == "lifetimes":
                check_recency_le_T(cols, out["recency"], out["T"], self.recency_col,
                                   rows=~prospect)
                if since:
                    out["since"] = out["T"] - out["recency"]
            elif since:
                out["since"] = out["recency"]
        if not self._uses_timing():
            p = numeric_column(cols, self.p_alive_col, name, allow_nan=True)
            with np.errstate(invalid="ignore"):
                bad = ~((p >= 0) & (p <= 1)) & ~prospect
            raise_bad_rows(cols.frame, bad, str(self.p_alive_col),
                           "are not probabilities in [0, 1] (or are missing for customers "
                           "who are not prospects)")
            out["p_alive"] = p
        out["prospect"] = prospect
        return out

    # -- fit / rules
    def _fit(self, cols: Columns) -> None:
        self._check_params()
        names = list(STAGES)
        if self.labels is not None:
            unknown = sorted(set(self.labels) - set(STAGES))
            if unknown:
                raise InvalidParameterError(
                    f"labels names unknown stages {unknown}; stages are {list(STAGES)}.")
            names = [self.labels.get(s, s) for s in STAGES]
        self.classes_ = _labels_array(_check_labels(names))
        data = self._arrays(cols)
        buyers = ~data["prospect"]
        if not buyers.any():
            raise EmptyDataError(
                "Every customer is a prospect (no first purchase): there is nothing to "
                "learn the stage thresholds from.")

        sorted_values: dict = {}

        def learned(value, key, q):
            """The given value, or the q-quantile of the buyers (inverse of the ECDF)."""
            if value is not None:
                return float(value)
            if key not in sorted_values:
                values = data[key] if buyers.all() else data[key][buyers]
                sorted_values[key] = np.sort(values)
            a = sorted_values[key]
            return float(a[max(int(np.ceil(q * a.size)) - 1, 0)])

        self.new_within_ = (learned(self.new_within, "T", NEW_QUANTILE)
                            if self.T_col is not None else None)
        if self._uses_timing():
            self.active_within_ = learned(self.active_within, "since", ACTIVE_QUANTILE)
            self.dormant_within_ = learned(self.dormant_within, "since", DORMANT_QUANTILE)
            if self.dormant_within_ < self.active_within_:
                raise InvalidParameterError(
                    f"The thresholds must increase: active_within={self.active_within_:g}"
                    f" and dormant_within={self.dormant_within_:g} (one of them learned); "
                    "give both.")
        else:
            self.active_within_ = self.dormant_within_ = None

    def _rules(self):
        first = self._first_purchase_col()
        prospect = []
        if first is not None:
            prospect.append(("call", "isna", ("col", first)))
        if self.prospect_col is not None:
            prospect.append(("cmp", "==", ("col", self.prospect_col), ("const", True)))
        rules = []
        if prospect:
            rules.append((_P, prospect[0] if len(prospect) == 1 else ("or", tuple(prospect))))
        if self.new_within_ is not None:
            rules.append((_NEW, ("cmp", "<=", ("col", self.T_col),
                                 ("const", self.new_within_))))
        if self._uses_timing():
            since = (("arith", "-", ("col", self.T_col), ("col", self.recency_col))
                     if self.recency_is == "lifetimes" else ("col", self.recency_col))
            rules.append((_ACTIVE, ("cmp", "<=", since, ("const", self.active_within_))))
            rules.append((_DORMANT, ("cmp", "<=", since, ("const", self.dormant_within_))))
        else:
            a, d = (float(v) for v in self.p_alive_thresholds)
            p = ("col", self.p_alive_col)
            rules.append((_ACTIVE, ("cmp", ">=", p, ("const", a))))
            rules.append((_DORMANT, ("cmp", ">=", p, ("const", d))))
        return rules, _CHURNED

    # -- predict with a previous snapshot
    def _stage_codes(self, X, previous):
        cols = self._prepare(X, reset=False)
        self._arrays(cols, since=False)
        codes = self._codes(cols)
        if previous is not None:
            prev = self._previous_codes(previous, X, cols.n)
            back = ((prev == _DORMANT) | (prev == _CHURNED)) & (codes == _ACTIVE)
            np.copyto(codes, _REACTIVATED, where=back)
        return codes

    def _previous_codes(self, previous, X, n) -> np.ndarray:
        if isinstance(previous, pd.Series) and isinstance(X, pd.DataFrame):
            if not previous.index.is_unique:
                raise InvalidDataError(
                    "previous: the index of the previous labels has repeated customers.")
            previous = previous.reindex(X.index)
        if isinstance(previous, pd.DataFrame):
            previous = previous.iloc[:, 0]
        values = previous.array if isinstance(previous, pd.Series) else np.asarray(
            previous, dtype=object).ravel()
        if len(values) != n:
            raise InvalidDataError(
                f"previous holds {len(values)} labels for {n} customers; pass one per "
                "row of X (or a Series indexed by customer id).")
        values = np.asarray(values, dtype=object)
        codes = pd.Index(self.classes_.tolist(), dtype=object).get_indexer(values)
        unknown = (codes < 0) & ~np.asarray(pd.isna(values), dtype=bool)
        if unknown.any():
            shown = pd.unique(values[unknown])[:5]
            raise InvalidDataError(
                f"previous: {int(unknown.sum())} labels are not stages of this estimator, "
                f"for example {list(shown)}; stages are {self.classes_.tolist()}.")
        return codes

    def predict(self, X, previous=None):
        """Stage of each customer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, n_features)
            A customer table.
        previous : array-like or Series, optional
            Stages of the same customers in a previous snapshot (a Series is aligned on
            the index of ``X``; customers absent from it count as unknown). Customers
            ``dormant`` or ``churned`` before and ``active`` now become ``reactivated``.

        Returns
        -------
        stages : ndarray of shape (n_customers,)
            Labels among :attr:`classes_`.
        """
        check_is_fitted(self)
        return self.classes_.take(self._stage_codes(X, previous))

    def transform(self, X, previous=None):
        """The stage column (see :meth:`predict` and :meth:`BaseTierer.transform`)."""
        check_is_fitted(self)
        return self._wrap_codes({self._output_name(): self._stage_codes(X, previous)}, X)

    def _output_name(self) -> str:
        return "lifecycle"

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True  # a missing T marks a prospect
        tags.input_tags.positive_only = True
        return tags

