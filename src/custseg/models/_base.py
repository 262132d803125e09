"""The scikit-learn estimator of the transaction models, and the checks of their input.

:class:`BaseTransactionModel` is the estimator that every transaction model (BG/NBD,
MBG/NBD, Pareto/NBD, BG/BB) derives from. It holds the whole public contract (``fit``,
``score_samples``, ``predict``, ``transform``, ``expected_purchases``,
``probability_alive``, ``purchase_probability``, matrices, ``sample``, ``summary``); a
model only supplies pure functions of its parameters. Its ``fit`` groups identical
customers and maximises the likelihood with :func:`~custseg.models._mle.fit_mle` (the
maximum-likelihood machinery lives in ``_mle.py``: :class:`CustomerArrays`,
:func:`compress_rows`, :func:`fit_mle`, :func:`start_grid`; they are importable from
here too).

How a model plugs in
--------------------
A subclass sets a few class attributes and implements small methods that are two-line
adapters around the module-level pure functions of its likelihood. All ``params`` are
1-d float arrays in the order of ``_param_names``, in the time unit of the customer table
(the base class handles the rescaling); column arrays are float64 in the order of
``_columns``::

    class BetaGeo(BaseTransactionModel):
        _param_names = ("r", "alpha", "a", "b")
        _time_exponents = (0, 1, 0, 0)      # alpha is measured in time units
        _start_grid = {"r": (0.2, 1.0), "alpha": (0.2, 2.0), "a": (0.5, 2.0),
                       "b": (1.0, 5.0)}     # in units of the median customer age

        def _loglik(self, params, data):                    # required
            return bgnbd_loglik(params, data["frequency"], data["recency"], data["T"])

        def _loglik_grad(self, params, data, weights):      # optional
            return bgnbd_loglik_grad(params, data, weights) # (sum_w_ll, d/dparams)

        def _loglik_hess(self, params, data, weights):      # optional
            return bgnbd_loglik_hess(params, data, weights) # (.., .., d2/dparams2)

        def _expected_purchases(self, params, t, x, t_x, T): ...  # E[X(T, T+t] | history]
        def _probability_alive(self, params, x, t_x, T): ...      # P(alive at T | history)
        def _purchase_probability(self, params, n, t, x, t_x, T): ...  # P(X(T, T+t]=n | ..)
        def _expected_purchases_new_customer(self, params, t): ...
        def _purchase_probability_new_customer(self, params, n, t): ...
        def _sample(self, params, T, rng): ...  # dict of arrays, one entry per column

Other class attributes a model may override:

``_columns``
    Names of the input columns, default ``("frequency", "recency", "T")``; BG/BB uses
    ``("frequency", "recency", "n_periods")``.
``_age_column``
    The column holding the customer's age (shifted by ``t`` in
    :meth:`~BaseTransactionModel.probability_alive`), default ``"T"``.
``_time_columns``
    Columns measured in time units (rescaled during the fit), default
    ``("recency", "T")``; an empty tuple for discrete-time models.
``_column_aliases``
    ``{"n_periods": ("periods",)}``: other accepted names of a column.
``_broadcasts_params``
    True when the model's functions accept parameters that are arrays broadcasting
    against the columns (each parameter of shape ``(n_draws, 1)`` against columns of
    shape ``(n,)``, giving ``(n_draws, n)``), so that
    :meth:`~custseg.models.CLVEstimator.predict_interval` evaluates every parameter draw
    at once; default False (one draw at a time).
``_check_table(frame)``
    Validation of the customer table; the default is
    :func:`custseg._validation.check_customer_table` (whole frequency, recency <= T).

Data passed to ``_loglik`` / ``_loglik_grad`` / ``_loglik_hess`` is a
:class:`CustomerArrays` holding the distinct rows of the table (their counts times the
sample weights are ``weights``), with time columns rescaled: index it by column name for
the arrays; ``data.distinct(name)`` gives the distinct values of a column and the codes
that gather them back, to evaluate costly terms such as ``gammaln(r + x)`` once per
distinct value; ``data.cached(key, weights, build)`` keeps any parameter-free structure
(sums of weights per distinct value ...) for the whole fit. Without ``_loglik_grad`` the
gradient is taken by finite differences; with ``_loglik_hess`` the final optimisation on
all rows is a trust-region Newton method (fewest passes over large tables).
"""

from __future__ import annotations

import numbers
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    as_customer_frame,
    check_customer_table,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import InvalidDataError, InvalidParameterError
from ._mle import CustomerArrays, compress_rows, dot1d, fit_mle, start_grid

__all__ = [
    "TIME_UNITS",
    "periods_per_year",
    "BaseTransactionModel",
    "select_columns",
    "check_nonnegative_columns",
    "check_fit_weights",
]

#: Length of each supported time unit, in days.
TIME_UNITS = {"h": 1.0 / 24.0, "D": 1.0, "W": 7.0, "M": 365.25 / 12.0,
              "Q": 365.25 / 4.0, "Y": 365.25}

#: Rows evaluated at once by the scoring methods (bounds their memory).
CHUNK_ROWS = 1 << 17


def periods_per_year(time_unit: str) -> float:
    """Number of periods of ``time_unit`` in one year of 365.25 days.

    Parameters
    ----------
    time_unit : {"h", "D", "W", "M", "Q", "Y"}
        A period: hour, day, week, month (a twelfth of a year), quarter or year.

    Returns
    -------
    float

    Examples
    --------
    >>> periods_per_year("W")
    52.17857142857143
    """
    if time_unit not in TIME_UNITS:
        raise InvalidParameterError(
            f"time_unit must be one of {sorted(TIME_UNITS)}, got {time_unit!r}.")
    return 365.25 / TIME_UNITS[time_unit]


# ---------------------------------------------------------------------------------------
# The estimator base class
# ---------------------------------------------------------------------------------------

def _check_t(t, name: str = "t") -> np.ndarray:
    arr = np.asarray(t, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0):
        raise InvalidParameterError(f"{name} must be finite and >= 0, got {t!r}.")
    return arr


def _check_n(n) -> np.ndarray:
    arr = np.asarray(n, dtype=np.float64)
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or np.any(arr != np.round(arr)):
        raise InvalidParameterError(f"n must be a whole number >= 0, got {n!r}.")
    return arr


def select_columns(X, columns: Sequence[str], owner: str,
                   aliases: Mapping[str, Sequence[str]] | None = None) -> pd.DataFrame:
    """The model's columns of ``X`` as a DataFrame: selected by name (or one of its
    ``aliases``) from a DataFrame, in order from a dense 2-d array."""
    if isinstance(X, pd.DataFrame):
        rename = {}
        for col, names in (aliases or {}).items():
            if col not in X.columns:
                found = [n for n in names if n in X.columns]
                if found:
                    rename[found[0]] = col
        return as_customer_frame(X.rename(columns=rename) if rename else X, columns)
    if hasattr(X, "toarray") or hasattr(X, "tocsr"):
        raise InvalidDataError(f"{owner} needs a dense customer table (a DataFrame or "
                               "array); sparse input is not supported.")
    arr = np.asarray(X)
    if arr.ndim == 1:
        raise InvalidDataError(
            f"{owner} needs a 2-d customer table with the columns {list(columns)}, got an "
            f"array of shape {arr.shape}. Reshape your data: one customer is "
            "array.reshape(1, -1).")
    if arr.dtype.kind == "c":
        raise InvalidDataError(f"Complex data not supported: {owner} needs a customer table "
                               f"with real columns {list(columns)}.")
    if arr.ndim == 2 and arr.shape[1] < len(columns):
        raise InvalidDataError(
            f"{owner} needs the columns {list(columns)}; got an array with "
            f"{arr.shape[1]} feature(s) (shape={arr.shape}) while a minimum of "
            f"{len(columns)} is required (n_features = {arr.shape[1]}).")
    return as_customer_frame(arr, columns)


def check_nonnegative_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise on negative values, naming the column, the count and examples."""
    for col in columns:
        values = frame[col]
        if pd.api.types.is_numeric_dtype(values.dtype) and not \
                pd.api.types.is_bool_dtype(values.dtype):
            arr = values.to_numpy()
            if arr.dtype.kind not in "iuf":
                arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
            with np.errstate(invalid="ignore"):
                mask = arr < 0
            raise_bad_rows(frame, mask, col, "are negative",
                           hint="Negative values in data are impossible for counts, "
                                "durations and amounts.")


def check_fit_weights(sample_weight, n_rows: int) -> np.ndarray:
    """Validate ``sample_weight`` of a fit: finite, non-negative, not all zero."""
    return _check_sample_weight(sample_weight, np.empty((n_rows, 0)), dtype=np.float64,
                                ensure_non_negative=True)


def _provides(hook: str) -> Callable[[object], bool]:
    """For ``available_if``: whether the model implements the optional ``hook``."""
    return lambda model: getattr(model, hook) is not None


class BaseTransactionModel(SerializableMixin, TransformerMixin, BaseEstimator, ABC):
    """Base class of the transaction (purchase-count) models; see the module docstring.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood, the parameters in the time unit of the table (as in
        ``params_``). Tune it with ``GridSearchCV``: :meth:`score` is the mean
        log-likelihood.
    horizon : float or None, default=None
        Length of the window of :meth:`predict` and :meth:`transform`, in the table's time
        unit. None means one year: 365.25 days in the time unit when it is known
        (``time_unit``, or the table's ``attrs["time_unit"]``), else 52 periods (the
        week of the papers).
    time_unit : {"h", "D", "W", "M", "Q", "Y"} or None, default=None
        Unit of ``recency``, ``T``, ``horizon`` and ``t``. None takes the table's
        ``attrs["time_unit"]`` when present (``rfm_summary`` sets it), else leaves the
        unit unspecified. A table whose ``attrs["time_unit"]`` differs raises.
    n_init : int, default=2
        Number of optimiser runs, from the best points of a fixed grid of starting
        values (then random perturbations of the best one).
    max_iter : int, default=1000
        Iteration limit of each L-BFGS-B run.
    tol : float, default=1e-7
        Tolerance on the projected gradient of the mean negative log-likelihood.
    random_state : int, RandomState instance or None, default=None
        Seeds the extra starts (``n_init`` beyond the grid) and the subsample on which
        starts are searched for tables of more than 10,000 distinct rows.
    """

    _param_names: tuple[str, ...] = ()
    _columns: tuple[str, ...] = ("frequency", "recency", "T")
    _column_aliases: dict[str, tuple[str, ...]] = {}
    _age_column: str = "T"
    _time_columns: tuple[str, ...] = ("recency", "T")
    _time_exponents: tuple[float, ...] = ()
    _start_grid: dict[str, tuple[float, ...]] = {}
    _feature_names_out = ("expected_purchases", "p_alive")
    _broadcasts_params: bool = False

    _parameter_constraints: dict = {
        "penalizer": [Interval(numbers.Real, 0, None, closed="left")],
        "horizon": [Interval(numbers.Real, 0, None, closed="neither"), None],
        "time_unit": [StrOptions(set(TIME_UNITS)), None],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, penalizer=0.0, horizon=None, time_unit=None, n_init=2,
                 max_iter=1000, tol=1e-7, random_state=None):
        self.penalizer = penalizer
        self.horizon = horizon
        self.time_unit = time_unit
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    # ---- hooks a model implements ------------------------------------------------------
    @abstractmethod
    def _loglik(self, params: np.ndarray, data: CustomerArrays) -> np.ndarray:
        """Log-likelihood of every row of ``data`` at ``params``."""

    @abstractmethod
    def _expected_purchases(self, params, t, *columns):
        """E[X(T, T + t] | history] of every customer."""

    @abstractmethod
    def _probability_alive(self, params, *columns):
        """P(alive at T | history) of every customer."""

    @abstractmethod
    def _expected_purchases_new_customer(self, params, t):
        """E[X(0, t]] of a customer just acquired."""

    @abstractmethod
    def _sample(self, params, T, rng) -> dict:
        """Simulated customer table for ages ``T``: a dict of arrays, one per column."""

    # optional hooks: None where the model does not provide them
    #: ``(params, data, weights) -> (sum of weighted log-likelihood, gradient)``
    _loglik_grad: Callable | None = None
    #: ``(params, data, weights) -> (value, gradient, Hessian)``
    _loglik_hess: Callable | None = None
    #: ``(params, n, t, *columns) -> P(X(T, T + t] = n | history)``
    _purchase_probability: Callable | None = None
    #: ``(params, n, t) -> P(X(0, t] = n)`` of a customer just acquired
    _purchase_probability_new_customer: Callable | None = None

    def _check_table(self, frame: pd.DataFrame) -> dict[str, np.ndarray]:
        """Validate the customer table; return float64 arrays by column name."""
        return check_customer_table(frame, columns=self._columns)

    def _start_points(self, data: CustomerArrays) -> np.ndarray:
        """Starting points (natural parameters, rescaled units), shape (m, n_params)."""
        return start_grid(self._start_grid, self._param_names)

    # ---- tags ------------------------------------------------------------------------
    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags

    # ---- input handling ----------------------------------------------------------------
    def _select(self, X) -> pd.DataFrame:
        return select_columns(X, self._columns, type(self).__name__, self._column_aliases)

    def _validate_X(self, X, reset: bool, sample_weight=None, fitting: bool = False):
        frame = self._select(X)
        check_not_empty(frame, what="customer table")
        sw = check_fit_weights(sample_weight, len(frame)) if fitting else None
        check_nonnegative_columns(frame, self._columns)
        arrays = self._check_table(frame)
        # feature bookkeeping: names of the selected columns, or the array's width
        validate_input(self, frame if isinstance(X, pd.DataFrame) else np.asarray(X),
                       reset=reset, skip_check_array=True)
        data = CustomerArrays({c: arrays[c] for c in self._columns})
        return (data, sw) if fitting else data

    def _resolve_time_unit(self, X) -> str | None:
        found = X.attrs.get("time_unit") if isinstance(X, pd.DataFrame) else None
        if found is not None and self.time_unit is not None and found != self.time_unit:
            raise InvalidParameterError(
                f"The customer table is in time unit {found!r} (attrs['time_unit']) but "
                f"the model was built with time_unit={self.time_unit!r}; summarise the "
                "transactions in the model's unit or change time_unit.")
        return self.time_unit if self.time_unit is not None else found

    def _params_array(self) -> np.ndarray:
        check_is_fitted(self, "params_")
        return self.params_.to_numpy(dtype=np.float64)

    def _horizon(self) -> float:
        if self.horizon is not None:
            return float(self.horizon)
        unit = getattr(self, "time_unit_", None) or self.time_unit
        return periods_per_year(unit) if unit is not None else 52.0

    # ---- fitting -----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
            The customer table: columns selected by name from a DataFrame (others are
            ignored), or taken in the order of ``_columns`` from an array.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None
            Weight of each customer (for example counts of identical customers).

        Returns
        -------
        self
        """
        time_unit = self._resolve_time_unit(X)
        data, sw = self._validate_X(X, reset=True, sample_weight=sample_weight, fitting=True)
        cols = [data[c] for c in self._columns]
        distinct, weights = compress_rows(cols, sw, return_inverse=False)
        keep = weights > 0
        fit_data = CustomerArrays({c: v[keep] for c, v in zip(self._columns, distinct)})
        weights = weights[keep]

        # rescale time so that the median customer age is 1
        log_scale = 0.0
        if self._time_columns:
            age = fit_data[self._age_column]
            med = float(np.median(age[age > 0])) if np.any(age > 0) else 1.0
            log_scale = -np.log(med)
        scale = np.exp(log_scale)
        scaled = fit_data.rescaled(self._time_columns, scale)
        exps = (np.asarray(self._time_exponents, float) if self._time_exponents
                else np.zeros(len(self._param_names)))

        has_grad = self._loglik_grad is not None
        result = fit_mle(
            self._loglik, scaled, weights, self._start_points(scaled),
            loglik_grad=self._loglik_grad, loglik_hess=self._loglik_hess,
            param_names=self._param_names, scale_exponents=exps, log_scale=log_scale,
            penalizer=self.penalizer, n_init=self.n_init, max_iter=self.max_iter,
            tol=self.tol, random_state=self.random_state,
            estimator_name=type(self).__name__)

        names = list(self._param_names)
        self.params_ = pd.Series(result.params, index=names, name="coef")
        self.stderr_ = pd.Series(np.sqrt(np.diag(result.cov)), index=names, name="se")
        self.covariance_ = pd.DataFrame(result.cov, index=names, columns=names)
        self.covariance_log_ = pd.DataFrame(result.cov_log, index=names, columns=names)
        if has_grad:  # usually cheaper than the per-row log-likelihood
            self.loglik_ = float(self._loglik_grad(result.params, fit_data, weights)[0])
        else:
            self.loglik_ = dot1d(weights, self._loglik(result.params, fit_data))
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.time_unit_ = time_unit
        age = fit_data[self._age_column]
        self.data_summary_ = {
            "n_customers": float(weights.sum()),
            "n_distinct_rows": int(len(fit_data)),
            "max_frequency": float(fit_data["frequency"].max()),
            "max_age": float(age.max()),
            "mean_age": dot1d(weights, age) / float(weights.sum()),
        }
        return self

    # ---- scoring -----------------------------------------------------------------------
    def _chunked(self, fn: Callable, data: CustomerArrays) -> np.ndarray:
        cols = [data[c] for c in self._columns]
        n = len(data)
        if n <= CHUNK_ROWS:
            return np.asarray(fn(*cols), dtype=np.float64) * np.ones(n)
        out = np.empty(n)
        for start in range(0, n, CHUNK_ROWS):
            sl = slice(start, start + CHUNK_ROWS)
            out[sl] = fn(*[c[sl] for c in cols])
        return out

    def score_samples(self, X) -> np.ndarray:
        """Log-likelihood of each customer's history under the fitted model.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        return self._chunked(
            lambda *cols: self._loglik(params, CustomerArrays(dict(zip(self._columns, cols)))),
            data)

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood per customer (weighted by ``sample_weight``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None

        Returns
        -------
        float
        """
        ll = self.score_samples(X)
        return float(np.average(ll, weights=sample_weight))

    def expected_purchases(self, X, t=None) -> np.ndarray:
        """Expected number of purchases of each customer in ``(T, T + t]``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
        t : float or None, default=None
            Length of the window in the table's time unit; None uses ``horizon``.

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        t = self._horizon() if t is None else _check_t(t)
        return self._chunked(lambda *cols: self._expected_purchases(params, t, *cols), data)

    def predict(self, X) -> np.ndarray:
        """Expected number of purchases over the next ``horizon`` periods.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        return self.expected_purchases(X, t=None)

    def probability_alive(self, X, t=0.0) -> np.ndarray:
        """Probability that each customer is alive ``t`` periods after the end of
        observation, given no purchase in between.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
        t : float, default=0.0
            Periods after the end of the observation window.

        Returns
        -------
        ndarray of shape (n_customers,)

        Notes
        -----
        ``P(alive at T + t | x, t_x, T, no purchase in (T, T + t])``. An observation
        window extended by ``t`` periods without purchases is exactly the history
        ``(x, t_x, T + t)``, so this is ``P(alive | x, t_x, T + t)``; at ``t = 0`` it is
        the usual probability of being alive at the end of observation.
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        t = _check_t(t)
        age_pos = self._columns.index(self._age_column)

        def fn(*cols):
            cols = list(cols)
            cols[age_pos] = cols[age_pos] + t
            return self._probability_alive(params, *cols)

        return self._chunked(fn, data)

    @available_if(_provides("_purchase_probability"))
    def purchase_probability(self, X, n, t) -> np.ndarray:
        """Probability that each customer makes exactly ``n`` purchases in ``(T, T + t]``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
        n : int
            Number of purchases.
        t : float
            Length of the window in the table's time unit.

        Returns
        -------
        ndarray of shape (n_customers,)

        See Also
        --------
        purchase_probability_new_customer : the same for a customer just acquired.
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        n, t = _check_n(n), _check_t(t)
        return self._chunked(lambda *cols: self._purchase_probability(params, n, t, *cols),
                             data)

    def expected_purchases_new_customer(self, t) -> np.ndarray:
        """Expected number of repeat purchases of a newly acquired customer in ``(0, t]``.

        Parameters
        ----------
        t : float or array-like
            Length of the window in the table's time unit.

        Returns
        -------
        ndarray (shape of ``t``)
        """
        params = self._params_array()
        return np.asarray(self._expected_purchases_new_customer(params, _check_t(t)))

    @available_if(_provides("_purchase_probability_new_customer"))
    def purchase_probability_new_customer(self, n, t) -> np.ndarray:
        """Probability that a newly acquired customer makes ``n`` repeat purchases in
        ``(0, t]``.

        Parameters
        ----------
        n : int or array-like of int
        t : float or array-like

        Returns
        -------
        ndarray (broadcast shape of ``n`` and ``t``)
        """
        params = self._params_array()
        return np.asarray(self._purchase_probability_new_customer(params, _check_n(n),
                                                                  _check_t(t)))

    def transform(self, X):
        """Expected purchases over ``horizon`` and probability alive, as two features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of shape (n_customers, 2)
            Columns ``get_feature_names_out()``: ``expected_purchases``, ``p_alive``
            (a DataFrame with ``set_output(transform="pandas")``).
        """
        return np.column_stack([self.expected_purchases(X), self.probability_alive(X)])

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "params_")
        return np.asarray(self._feature_names_out, dtype=object)

    # ---- tables for plots ------------------------------------------------------------
    def _grid(self, max_frequency, max_recency, T):
        check_is_fitted(self, "params_")
        max_frequency = int(self.data_summary_["max_frequency"] if max_frequency is None
                            else max_frequency)
        max_recency = int(np.ceil(self.data_summary_["max_age"]) if max_recency is None
                          else max_recency)
        T = float(max_recency if T is None else T)
        if max_recency > T:
            raise InvalidParameterError(
                f"max_recency ({max_recency}) must not exceed T ({T}).")
        freq = np.arange(max_frequency + 1, dtype=float)
        rec = np.arange(max_recency + 1, dtype=float)
        x, t_x = np.meshgrid(freq, rec)  # rows: recency, columns: frequency
        return freq, rec, x, t_x, np.full_like(x, T)

    def _matrix(self, values, freq, rec):
        return pd.DataFrame(values, index=pd.Index(rec, name="recency"),
                            columns=pd.Index(freq.astype(int), name="frequency"))

    def probability_alive_matrix(self, max_frequency=None, max_recency=None,
                                 T=None) -> pd.DataFrame:
        """P(alive) over a grid of frequency (columns) and recency (rows) at age ``T``.

        Parameters
        ----------
        max_frequency : int or None
            Largest frequency; None is the largest in the training table.
        max_recency : int or None
            Largest recency; None is the largest age in the training table.
        T : float or None
            Age of the customers; None is ``max_recency``.

        Returns
        -------
        DataFrame
            Index ``recency`` 0..max_recency, columns ``frequency`` 0..max_frequency.
            Cells with frequency 0 and recency > 0 are not histories a table can hold;
            they are evaluated with the formula all the same.
        """
        freq, rec, x, t_x, TT = self._grid(max_frequency, max_recency, T)
        params = self._params_array()
        vals = self._probability_alive(params, x.ravel(), t_x.ravel(), TT.ravel())
        return self._matrix(np.asarray(vals).reshape(x.shape), freq, rec)

    def expected_purchases_matrix(self, t=None, max_frequency=None, max_recency=None,
                                  T=None) -> pd.DataFrame:
        """Expected purchases in ``(T, T + t]`` over a grid of frequency and recency.

        Parameters
        ----------
        t : float or None
            Window length; None uses ``horizon``.
        max_frequency, max_recency, T
            As in :meth:`probability_alive_matrix`.

        Returns
        -------
        DataFrame
            Index ``recency``, columns ``frequency``.
        """
        freq, rec, x, t_x, TT = self._grid(max_frequency, max_recency, T)
        params = self._params_array()
        t = self._horizon() if t is None else float(_check_t(t))
        vals = self._expected_purchases(params, t, x.ravel(), t_x.ravel(), TT.ravel())
        return self._matrix(np.asarray(vals).reshape(x.shape), freq, rec)

    # ---- simulation and summaries -----------------------------------------------------
    def sample(self, n_customers: int, T, random_state=None) -> pd.DataFrame:
        """Simulate customer histories from the fitted model.

        Parameters
        ----------
        n_customers : int
            Number of customers.
        T : float or array-like of shape (n_customers,)
            Age of each customer (length of its observation window).
        random_state : int, numpy Generator or None
            Seed.

        Returns
        -------
        DataFrame
            The model's columns (``frequency``, ``recency``, ``T`` ...) and the simulated
            latent variables, one row per customer; fit the model on it, or compare its
            distribution of ``frequency`` with the observed one.
        """
        params = self._params_array()
        n = int(n_customers)
        if n < 1:
            raise InvalidParameterError(f"n_customers must be >= 1, got {n_customers}.")
        T = np.broadcast_to(_check_t(T, self._age_column), (n,)).astype(np.float64)
        rng = (random_state if isinstance(random_state, np.random.Generator)
               else np.random.default_rng(random_state))
        out = self._sample(params, T, rng)
        first = list(self._columns)
        rest = [c for c in out if c not in first]
        return pd.DataFrame({c: out[c] for c in first + rest})

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% confidence intervals.

        Returns
        -------
        DataFrame
            Index: the parameter names; columns ``coef``, ``se`` (delta method),
            ``lower_95`` and ``upper_95``. The intervals are computed on the log scale,
            ``exp(log(coef) -/+ 1.96 * se / coef)``, so they stay positive.
        """
        check_is_fitted(self, "params_")
        coef = self.params_.to_numpy()
        se = self.stderr_.to_numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            half = 1.959963984540054 * se / coef
            lower, upper = coef * np.exp(-half), coef * np.exp(half)
        return pd.DataFrame({"coef": coef, "se": se, "lower_95": lower, "upper_95": upper},
                            index=self.params_.index)
