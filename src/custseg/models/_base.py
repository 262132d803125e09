"""Maximum-likelihood core shared by the probabilistic customer models.

Two pieces live here:

* :func:`fit_mle`, a maximum-likelihood helper: it minimises the weighted mean negative
  log-likelihood in log-parameter space with L-BFGS-B from several starting points, uses
  the model's analytic gradient when there is one (finite differences otherwise), adds an
  optional L2 penalty, rescales time for conditioning, and returns observed-information
  standard errors. Fits that do not converge, or that end on the edge of the search space
  because the data do not identify a parameter, warn
  :class:`~custseg.exceptions.ConvergenceWarning` and return the best finite optimum.
* :class:`BaseTransactionModel`, the scikit-learn estimator that every transaction model
  (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB) derives from. It holds the whole public contract
  (``fit``, ``score_samples``, ``predict``, ``transform``, ``expected_purchases``,
  ``probability_alive``, ``purchase_probability``, matrices, ``sample``, ``summary``);
  a model only supplies pure functions of its parameters.

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

import itertools
import numbers
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    as_customer_frame,
    check_customer_table,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import ConvergenceWarning, InvalidDataError, InvalidParameterError

__all__ = [
    "TIME_UNITS",
    "periods_per_year",
    "CustomerArrays",
    "compress_rows",
    "dot1d",
    "MLEResult",
    "fit_mle",
    "BaseTransactionModel",
    "select_columns",
    "check_nonnegative_columns",
    "check_fit_weights",
]

#: Length of each supported time unit, in days.
TIME_UNITS = {"h": 1.0 / 24.0, "D": 1.0, "W": 7.0, "M": 365.25 / 12.0,
              "Q": 365.25 / 4.0, "Y": 365.25}

#: Bounds of the search in log-parameter space (after time rescaling).
LOG_BOUNDS = (-18.0, 18.0)

#: Above this many distinct rows, starting points are searched on a weighted subsample
#: and only the final optimisation runs on the whole table.
SUBSAMPLE_ROWS = 10_000

#: Rows evaluated at once by the scoring methods (bounds their memory).
CHUNK_ROWS = 1 << 17


def dot1d(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` of two 1-d arrays without BLAS (whose threads make ``np.dot`` of
    long vectors much slower on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


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
# Column arrays with cached distinct values
# ---------------------------------------------------------------------------------------

def _factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct values (first-seen order) and int64 codes such that uniques[codes] == values."""
    codes, uniques = pd.factorize(values, sort=False)
    return np.asarray(uniques), codes.astype(np.int64, copy=False)


class CustomerArrays:
    """Float64 column arrays of a customer table, with cached distinct values per column.

    Parameters
    ----------
    columns : mapping of str to ndarray
        Equal-length 1-d arrays.

    Examples
    --------
    >>> import numpy as np
    >>> data = CustomerArrays({"frequency": np.array([0.0, 2.0, 0.0])})
    >>> values, codes = data.distinct("frequency")
    >>> values[codes].tolist()
    [0.0, 2.0, 0.0]
    """

    __slots__ = ("_columns", "_distinct", "_cache", "_parents")

    def __init__(self, columns: Mapping[str, np.ndarray]):
        self._columns = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
        self._distinct: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._cache: dict = {}
        # column -> (arrays it was derived from, factor): distinct values are shared
        self._parents: dict[str, tuple[CustomerArrays, float]] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        return self._columns[name]

    def __len__(self) -> int:
        return len(next(iter(self._columns.values()))) if self._columns else 0

    def keys(self):
        return self._columns.keys()

    def distinct(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(values, codes)`` with ``values[codes] == self[name]``; computed once."""
        if name not in self._distinct:
            if name in self._parents:
                parent, factor = self._parents[name]
                values, codes = parent.distinct(name)
                self._distinct[name] = (values * factor if factor != 1.0 else values, codes)
            else:
                self._distinct[name] = _factorize(self._columns[name])
        return self._distinct[name]

    def cached(self, key, weights: np.ndarray, build: Callable[[], object]):
        """``build()``, computed once per ``key`` and ``weights`` array: where a model
        keeps structures derived from the rows and their weights (for example the sums of
        the weights per distinct value) that do not depend on the parameters."""
        hit = self._cache.get(key)
        if hit is not None and hit[0] is weights:
            return hit[1]
        value = build()
        self._cache[key] = (weights, value)
        return value

    def take(self, index: np.ndarray) -> CustomerArrays:
        """The rows ``index`` as a new :class:`CustomerArrays`."""
        return CustomerArrays({k: v[index] for k, v in self._columns.items()})

    def with_columns(self, **columns: np.ndarray) -> CustomerArrays:
        """A copy with some columns replaced."""
        new = dict(self._columns)
        new.update(columns)
        out = CustomerArrays(new)
        out._parents = {k: (self, 1.0) for k in self._columns if k not in columns}
        return out

    def rescaled(self, names: Sequence[str], factor: float) -> CustomerArrays:
        """A copy with the columns ``names`` multiplied by ``factor``; the distinct values
        of every column are computed once for both copies."""
        out = self.with_columns(**{c: self._columns[c] * factor for c in names})
        for c in names:
            out._parents[c] = (self, float(factor))
        return out


def _as_codes(col: np.ndarray):
    """``(codes - offset, span)`` for a column of whole numbers, else None."""
    if col.dtype.kind in "iu":
        ci = col.astype(np.int64, copy=False)
    elif col.dtype.kind == "f" and col.size and np.array_equal(col, np.floor(col)) \
            and np.abs(col).max() < 2**52:
        ci = col.astype(np.int64)
    else:
        return None
    lo = int(ci.min())
    return ci - lo, int(ci.max()) - lo + 1, lo


#: Largest key range for which identical rows are grouped by a direct count table.
_DIRECT_KEYS = 1 << 23


def compress_rows(columns: Sequence[np.ndarray], sample_weight: np.ndarray | None = None,
                  *, return_inverse: bool = True):
    """Group identical rows of a table and sum their weights.

    The distinct rows come back sorted (first column first), so that everything
    computed from them, a fit included, does not depend on the order of the input rows.
    See :func:`_compress_rows_unordered` for the grouping itself.
    """
    out = _compress_rows_unordered(columns, sample_weight, return_inverse=return_inverse)
    distinct, weights = out[0], out[1]
    inverse = out[2] if return_inverse else None
    if len(weights) > 1:
        order = np.lexsort([np.asarray(c) for c in distinct[::-1]])
        if not np.array_equal(order, np.arange(len(order))):
            distinct = [c[order] for c in distinct]
            weights = weights[order]
            if return_inverse:
                rank = np.empty_like(order)
                rank[order] = np.arange(len(order))
                inverse = rank[inverse]
    return (distinct, weights, inverse) if return_inverse else (distinct, weights)


def _compress_rows_unordered(columns: Sequence[np.ndarray],
                             sample_weight: np.ndarray | None = None,
                             *, return_inverse: bool = True):
    """Group identical rows of a table and sum their weights (rows in any order).

    Linear in the number of rows: whole-number columns (counts, whole periods) are
    combined into one integer key counted in a direct table; other columns go through
    ``pandas.factorize`` (hashing). When a column has no repeated value every row is
    distinct and the table is returned as is.

    Parameters
    ----------
    columns : sequence of ndarray
        Equal-length 1-d arrays, the columns of the table.
    sample_weight : ndarray or None
        Weight of each row (1 when None).
    return_inverse : bool, default=True
        Also return, for each input row, the index of its distinct row.

    Returns
    -------
    distinct : list of ndarray
        The columns of the distinct rows (in an unspecified order).
    weights : ndarray
        Sum of the weights of the rows of each distinct row.
    inverse : ndarray of int64
        Only with ``return_inverse``: the index of each input row's distinct row.

    Examples
    --------
    >>> import numpy as np
    >>> distinct, weights, inverse = compress_rows([np.array([1, 0, 1]), np.array([2, 0, 2])])
    >>> sorted(zip(*[c.tolist() for c in distinct], weights.tolist()))
    [(0, 0, 1.0), (1, 2, 2.0)]
    >>> distinct[0][inverse].tolist()
    [1, 0, 1]
    """
    columns = [np.asarray(c) for c in columns]
    n = len(columns[0])
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=np.float64)

    def result(distinct, weights, inverse):
        weights = np.asarray(weights, dtype=np.float64)
        return (distinct, weights, inverse) if return_inverse else (distinct, weights)

    if n == 0:
        return result([c[:0] for c in columns], np.zeros(0), np.zeros(0, dtype=np.int64))
    coded = [_as_codes(c) for c in columns]
    if all(c is not None for c in coded):
        size = 1
        for _, span, _ in coded:
            size *= span
        if size < 2**62:
            key = np.zeros(n, dtype=np.int64)
            for codes, span, _ in coded:
                key *= span
                key += codes

            def decode(present):
                out, rest = [], present
                for (_, span, lo), col in reversed(list(zip(coded, columns))):
                    out.append((rest % span + lo).astype(col.dtype))
                    rest = rest // span
                return out[::-1]

            if size <= min(_DIRECT_KEYS, 8 * n + 4096):  # direct count table
                counts = np.bincount(key, minlength=size)
                present = np.flatnonzero(counts)
                weights = (counts[present] if sw is None
                           else np.bincount(key, weights=sw, minlength=size)[present])
                inverse = None
                if return_inverse:
                    rank = np.zeros(size, dtype=np.int64)
                    rank[present] = np.arange(len(present))
                    inverse = rank[key]
                return result(decode(present), weights, inverse)
            if not return_inverse:  # sort the keys: no hashing, no inverse needed
                if sw is None:
                    skey = np.sort(key)
                    weights_of = None
                else:
                    order = np.argsort(key, kind="stable")
                    skey, weights_of = key[order], sw[order]
                starts = np.flatnonzero(np.concatenate(([True], skey[1:] != skey[:-1])))
                weights = (np.diff(np.append(starts, n)) if weights_of is None
                           else np.add.reduceat(weights_of, starts))
                return result(decode(skey[starts]), weights, None)
            uniques, inverse = _factorize(key)
            weights = np.bincount(inverse, weights=sw, minlength=len(uniques))
            return result(decode(uniques), weights, inverse)
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for col in columns:
        uniques, codes = _factorize(col)
        if len(uniques) == n:  # no repeated value: every row is distinct
            return result(list(columns), np.ones(n) if sw is None else sw,
                          np.arange(n, dtype=np.int64))
        if size * len(uniques) >= 2**62:  # compact the key before it could overflow
            _, key = _factorize(key)
            size = int(key.max()) + 1
        key = key * len(uniques) + codes
        size *= max(len(uniques), 1)
    _, inverse = _factorize(key)
    n_distinct = int(inverse.max()) + 1
    first = np.empty(n_distinct, dtype=np.int64)
    first[inverse[::-1]] = np.arange(n - 1, -1, -1)
    weights = np.bincount(inverse, weights=sw, minlength=n_distinct)
    return result([c[first] for c in columns], weights, inverse)


# ---------------------------------------------------------------------------------------
# Maximum likelihood
# ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MLEResult:
    """Outcome of :func:`fit_mle`; parameters in the units of the unscaled data.

    Attributes
    ----------
    params : ndarray
        Maximum-likelihood (or penalised) estimates.
    cov : ndarray
        Their covariance, ``diag(params) @ cov_log @ diag(params)`` (delta method);
        ``inf`` on the diagonal where the data do not identify a parameter.
    cov_log : ndarray
        Covariance of the log-parameters: the inverse of the Hessian of the total
        (weighted, penalised) negative log-likelihood in log-parameter space.
    objective : float
        Penalised weighted mean negative log-likelihood at the optimum (scaled data).
    converged : bool
        Whether the optimiser reported success with a finite, positive-definite Hessian
        and no parameter on the edge of the search space.
    n_iter : int
        Optimiser iterations of the retained run, polishing included.
    message : str
        The optimiser's message.
    """

    params: np.ndarray
    cov: np.ndarray
    cov_log: np.ndarray
    objective: float
    converged: bool
    n_iter: int
    message: str


class _Objective:
    """Penalised weighted mean negative log-likelihood as a function of log-parameters."""

    def __init__(self, loglik, loglik_grad, loglik_hess, data, weights, shift, penalizer):
        self.loglik = loglik
        self.loglik_grad = loglik_grad
        self.loglik_hess = loglik_hess
        self.data = data
        self.weights = weights
        self.total = float(weights.sum())
        self.shift = shift  # log of the factor turning unscaled into scaled parameters
        self.penalizer = penalizer
        self._last = None  # (u, f, g, H) of the last Hessian evaluation

    def _penalty(self, u):
        if not self.penalizer:
            return 0.0, 0.0, 0.0
        theta2 = np.exp(2.0 * (u - self.shift))  # squared parameters in the table's units
        return (self.penalizer * np.sum(theta2), 2.0 * self.penalizer * theta2,
                4.0 * self.penalizer * theta2)

    def value(self, u) -> float:
        if self.loglik_grad is not None:  # usually cheaper: it can use cached structures
            return self.value_and_grad(u)[0]
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            ll = self.loglik(theta, self.data)
            total = dot1d(self.weights, ll)
        f = -total / self.total + self._penalty(u)[0]
        return f if np.isfinite(f) else np.inf

    def value_and_grad(self, u) -> tuple[float, np.ndarray]:
        if self.loglik_grad is None:
            return self.value(u), _central_gradient(self.value, u)
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            total, grad = self.loglik_grad(theta, self.data, self.weights)
        pen, dpen, _ = self._penalty(u)
        f = -float(total) / self.total + pen
        g = -np.asarray(grad, dtype=np.float64) * theta / self.total + dpen  # chain rule
        if not (np.isfinite(f) and np.all(np.isfinite(g))):
            return np.inf, np.zeros_like(u)
        return f, g

    def gradient(self, u) -> np.ndarray:
        return self.value_and_grad(u)[1]

    def value_grad_hess(self, u):
        """Value, gradient and Hessian in log space from the model's analytic Hessian."""
        if self._last is not None and np.array_equal(self._last[0], u):
            return self._last[1:]
        theta = np.exp(u)
        with np.errstate(all="ignore"):
            total, grad, hess = self.loglik_hess(theta, self.data, self.weights)
        grad = np.asarray(grad, dtype=np.float64)
        pen, dpen, d2pen = self._penalty(u)
        f = -float(total) / self.total + pen
        g = -grad * theta / self.total + dpen
        H = (-(np.outer(theta, theta) * np.asarray(hess, dtype=np.float64)
               + np.diag(theta * grad)) / self.total + np.diag(d2pen * np.ones_like(u)))
        if not (np.isfinite(f) and np.all(np.isfinite(g)) and np.all(np.isfinite(H))):
            f, g, H = np.inf, np.zeros_like(u), np.eye(len(u))
        self._last = (np.array(u, copy=True), f, g, H)
        return f, g, H

    def newton_fun(self, u):
        f, g, _ = self.value_grad_hess(u)
        return f, g

    def newton_hess(self, u):
        return self.value_grad_hess(u)[2]


def _central_gradient(fun: Callable[[np.ndarray], float], u: np.ndarray,
                      h: float = 1e-6) -> np.ndarray:
    g = np.empty_like(u)
    for j in range(len(u)):
        e = np.zeros_like(u)
        e[j] = h
        g[j] = (fun(u + e) - fun(u - e)) / (2.0 * h)
    return g


def _hessian(obj: _Objective, u: np.ndarray, h: float = 1e-4) -> np.ndarray:
    """Hessian of the mean objective in log space: analytic when the model gives it,
    else central differences of the gradient (analytic when available), else second
    differences of the value."""
    k = len(u)
    if obj.loglik_hess is not None:
        return obj.value_grad_hess(u)[2]
    H = np.empty((k, k))
    if obj.loglik_grad is not None:
        for j in range(k):
            e = np.zeros(k)
            e[j] = h
            H[:, j] = (obj.gradient(u + e) - obj.gradient(u - e)) / (2.0 * h)
    else:
        h = 1e-3
        f0 = obj.value(u)
        for i in range(k):
            for j in range(i, k):
                ei, ej = np.zeros(k), np.zeros(k)
                ei[i], ej[j] = h, h
                if i == j:
                    H[i, i] = (obj.value(u + ei) - 2 * f0 + obj.value(u - ei)) / h**2
                else:
                    H[i, j] = H[j, i] = (obj.value(u + ei + ej) - obj.value(u + ei - ej)
                                         - obj.value(u - ei + ej)
                                         + obj.value(u - ei - ej)) / (4 * h * h)
    return 0.5 * (H + H.T)


def _weighted_subsample(n_rows: int, weights: np.ndarray, size: int, rng):
    """Rows drawn with probability proportional to their weight, grouped with counts."""
    p = weights / weights.sum()
    draws = rng.choice(n_rows, size=size, replace=True, p=p)
    rows, counts = np.unique(draws, return_counts=True)
    return rows, counts.astype(np.float64)


def _lbfgsb(obj: _Objective, u0, max_iter, tol, bounds):
    return optimize.minimize(obj.value_and_grad, u0, jac=True, method="L-BFGS-B",
                             bounds=bounds,
                             options={"maxiter": max_iter, "gtol": tol, "ftol": 1e-15})


def _trust_newton(obj: _Objective, u0, max_iter, tol):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return optimize.minimize(obj.newton_fun, u0, jac=True, hess=obj.newton_hess,
                                 method="trust-exact",
                                 options={"maxiter": max_iter, "gtol": tol})


_THREADPOOLS = None


def _single_threaded_blas():
    """Context limiting BLAS to one thread: the optimisers work on vectors of a few
    parameters, for which OpenBLAS threads only add contention (L-BFGS-B runs up to 50
    times slower on a busy machine without this)."""
    global _THREADPOOLS
    if _THREADPOOLS is None:
        from threadpoolctl import ThreadpoolController

        _THREADPOOLS = ThreadpoolController()
    return _THREADPOOLS.limit(limits=1, user_api="blas")


def fit_mle(loglik: Callable, data: CustomerArrays, weights: np.ndarray,
            starts: np.ndarray, *, loglik_grad: Callable | None = None,
            loglik_hess: Callable | None = None,
            param_names: Sequence[str], scale_exponents: Sequence[float] | None = None,
            log_scale: float = 0.0, penalizer: float = 0.0, n_init: int = 1,
            max_iter: int = 1000, tol: float = 1e-7, random_state=None,
            estimator_name: str = "model", subsample_rows: int = SUBSAMPLE_ROWS,
            warn: bool = True) -> MLEResult:
    r"""Maximise a weighted log-likelihood in log-parameter space.

    Parameters
    ----------
    loglik : callable
        ``loglik(params, data) -> ndarray``: log-likelihood of each row of ``data`` at
        the natural parameters ``params`` (1-d array).
    data : CustomerArrays
        The (distinct) rows, already rescaled (see ``log_scale``).
    weights : ndarray
        Weight of each row (counts of identical customers times sample weights).
    starts : ndarray of shape (n_starts, n_params)
        Candidate starting points, natural parameters in the rescaled units. The
        objective is evaluated at each; the optimiser runs from the best ``n_init``.
    loglik_grad : callable or None
        ``loglik_grad(params, data, weights) -> (float, ndarray)``: the weighted sum of
        the log-likelihood and its gradient with respect to the natural parameters.
        Without it, central finite differences in log space are used.
    loglik_hess : callable or None
        ``loglik_hess(params, data, weights) -> (float, ndarray, ndarray)``: as
        ``loglik_grad`` plus the Hessian with respect to the natural parameters. With it,
        the final optimisation on all rows is a trust-region Newton method and the
        standard errors use the exact Hessian.
    param_names : sequence of str
        Names used in warnings.
    scale_exponents : sequence of float or None
        For each parameter, the power of the data scale it carries: with data rescaled by
        a factor ``s`` (``log_scale = log(s)``), the parameter in the rescaled units is
        ``theta * s**e``. Rates measured in time units (BG/NBD's ``alpha``) have ``e=1``.
    log_scale : float, default=0.0
        Log of the rescaling factor applied to the data.
    penalizer : float, default=0.0
        Coefficient of the L2 penalty ``penalizer * sum(theta**2)`` added to the mean
        negative log-likelihood, ``theta`` in the units of the unscaled data.
    n_init : int, default=1
        Number of optimiser runs (from the best starting points, then from random
        perturbations of the best one drawn with ``random_state``).
    max_iter, tol : int, float
        Iteration limit and gradient tolerance (on the mean objective, in log space).
    random_state : int, RandomState or None
        Seeds the perturbed starts and the subsample used to search for starts.
    estimator_name : str
        Name used in warnings.
    subsample_rows : int
        When ``data`` has more rows, the starts are searched on a weighted subsample of
        this many customers and only the final run uses all rows.
    warn : bool, default=True
        Emit :class:`~custseg.exceptions.ConvergenceWarning` when the fit fails.

    Returns
    -------
    MLEResult

    Notes
    -----
    With ``u = log(theta_scaled)`` the optimiser minimises

    .. math:: f(u) = -\frac{\sum_i w_i \ell_i(e^u)}{\sum_i w_i}
              + \lambda \sum_k \theta_k^2,

    whose gradient is ``df/du = (df/dtheta) * theta`` (chain rule) and Hessian
    ``diag(theta) H_theta diag(theta) + diag(theta * df/dtheta)``. L-BFGS-B (bounded to
    ``|u| <= 18``) runs from the best starting points; the covariance of ``u`` is the
    inverse observed information, the inverse Hessian of ``sum_i w_i * f(u)`` (analytic,
    or central differences of the gradient), and the covariance of ``theta`` follows by
    the delta method. A final Newton step is kept when it lowers the objective.
    """
    with _single_threaded_blas():
        return _fit_mle(loglik, data, weights, starts, loglik_grad=loglik_grad,
                        loglik_hess=loglik_hess, param_names=param_names,
                        scale_exponents=scale_exponents, log_scale=log_scale,
                        penalizer=penalizer, n_init=n_init, max_iter=max_iter, tol=tol,
                        random_state=random_state, estimator_name=estimator_name,
                        subsample_rows=subsample_rows, warn=warn)


def _fit_mle(loglik, data, weights, starts, *, loglik_grad, loglik_hess, param_names,
             scale_exponents, log_scale, penalizer, n_init, max_iter, tol, random_state,
             estimator_name, subsample_rows, warn) -> MLEResult:
    """Body of :func:`fit_mle`."""
    k = len(param_names)
    exps = np.zeros(k) if scale_exponents is None else np.asarray(scale_exponents, float)
    shift = exps * log_scale
    rng = check_random_state(random_state)
    bounds = [LOG_BOUNDS] * k
    weights = np.asarray(weights, dtype=np.float64)
    full = _Objective(loglik, loglik_grad, loglik_hess, data, weights, shift, penalizer)

    # 1. search from the best starting points (on a subsample of a large table)
    n_rows = len(data)
    subsampled = n_rows > subsample_rows
    if subsampled:
        rows, counts = _weighted_subsample(n_rows, weights, subsample_rows, rng)
        search = _Objective(loglik, loglik_grad, loglik_hess, data.take(rows), counts,
                            shift, penalizer)
    else:
        search = full
    u_starts = np.log(np.clip(np.asarray(starts, dtype=float), 1e-300, None))
    u_starts = np.clip(u_starts, *LOG_BOUNDS)
    values = np.array([search.value(u) for u in u_starts])
    order = np.argsort(values, kind="stable")
    runs = [u_starts[i] for i in order[: min(n_init, len(order))]]
    while len(runs) < n_init:
        runs.append(np.clip(u_starts[order[0]] + rng.normal(0.0, 1.0, size=k), *LOG_BOUNDS))
    best = None
    # a trust-region Newton polish follows on all rows when the model has a Hessian, so
    # the search only needs to land in the basin of the optimum
    search_tol = max(tol, 1e-4 if loglik_hess is not None else 1e-5) if (
        subsampled or loglik_hess is not None) else tol
    for u0 in runs:
        res = _lbfgsb(search, u0, max_iter, search_tol, bounds)
        if best is None or (np.isfinite(res.fun) and res.fun < best.fun):
            best = res
    n_iter = int(best.nit)
    u = np.asarray(best.x, dtype=float)
    message, success = str(best.message), bool(best.success)

    # 2. on every row: trust-region Newton with the analytic Hessian, else L-BFGS-B
    if subsampled or loglik_hess is not None:
        done = False
        if loglik_hess is not None and np.all(np.abs(u) < LOG_BOUNDS[1] - 1e-3):
            res = _trust_newton(full, u, max_iter, tol)
            x = np.asarray(res.x, dtype=float)
            if (np.isfinite(res.fun) and np.all(np.abs(x) < LOG_BOUNDS[1])
                    and np.max(np.abs(full.newton_fun(x)[1])) < max(10 * tol, 1e-6)):
                u, done = x, True
                n_iter += int(res.nit)
                message, success = str(res.message), True
        if not done and subsampled:
            res = _lbfgsb(full, u, max_iter, tol, bounds)
            u = np.asarray(res.x, dtype=float)
            n_iter += int(res.nit)
            message, success = str(res.message), bool(res.success)
    # 3. observed information, and a Newton step to polish the optimum (with an analytic
    # Hessian, value, gradient and Hessian come from one evaluation per point)
    def evaluate(point):
        if loglik_hess is not None:
            return full.value_grad_hess(point)
        fp, gp = full.value_and_grad(point) if loglik_grad is not None else (
            full.value(point), None)
        return fp, gp, None

    f, g, H = evaluate(u)
    at_bound = np.abs(np.abs(u) - LOG_BOUNDS[1]) < 1e-3
    if H is None:
        H = _hessian(full, u) if np.isfinite(f) else np.full((k, k), np.nan)
    if g is None:
        g = full.gradient(u)
    if not at_bound.any() and np.isfinite(f) and np.all(np.isfinite(H)):
        try:
            step = np.linalg.solve(H, g)
            u_new = u - step
            if np.all(np.abs(u_new) < LOG_BOUNDS[1]) and np.all(np.abs(step) < 1.0):
                f_new, g_new, H_new = evaluate(u_new)
                if f_new <= f:
                    u, f, g = u_new, f_new, g_new if g_new is not None else full.gradient(
                        u_new)
                    H = H_new if H_new is not None else H
                    n_iter += 1
        except np.linalg.LinAlgError:
            pass
    grad_norm = float(np.max(np.abs(g))) if np.isfinite(f) else np.inf
    if not success and grad_norm < max(10 * tol, 1e-6):
        success = True  # stopped by the line search at a stationary point

    n_total = full.total
    free = ~at_bound
    cov_log = np.full((k, k), np.inf)
    pd_ok = False
    if np.all(np.isfinite(H)) and free.any():
        Hf = H[np.ix_(free, free)] * n_total
        try:
            np.linalg.cholesky(Hf)
            inv = np.linalg.inv(Hf)
            pd_ok = True
            cov_log = np.zeros((k, k))
            cov_log[np.ix_(free, free)] = inv
            cov_log[~free, :] = np.inf
            cov_log[:, ~free] = np.inf
        except np.linalg.LinAlgError:
            pd_ok = False
    theta = np.exp(u - shift)
    with np.errstate(invalid="ignore"):
        cov = theta[:, None] * cov_log * theta[None, :]
    cov = np.where(np.isnan(cov), np.inf, cov)
    converged = success and pd_ok and not at_bound.any() and np.isfinite(f)

    if warn and not converged:
        if not np.isfinite(f):
            reason = ("the log-likelihood is not finite at any starting point; check the "
                      "table (time unit, recency <= T)")
        elif at_bound.any():
            names = ", ".join(f"{n}={v:.3g}" for n, v, b in zip(param_names, theta, at_bound)
                              if b)
            reason = (f"parameter(s) {names} reached the edge of the search space: the "
                      "data do not identify them (for example when no customer made a "
                      "repeat purchase); their standard errors are set to inf")
        elif not success:
            reason = (f"the optimiser stopped after {n_iter} iterations: {message}. Try a "
                      "larger max_iter, a small penalizer (for example 1e-4) or more "
                      "starting points (n_init)")
        else:
            reason = ("the Hessian of the log-likelihood is not positive definite at the "
                      "optimum, so the parameters are poorly identified; try a small "
                      "penalizer (for example 1e-4); standard errors are set to inf")
        warnings.warn(f"{estimator_name} did not converge: {reason}.", ConvergenceWarning,
                      stacklevel=4)
    return MLEResult(params=theta, cov=cov, cov_log=cov_log, objective=float(f),
                     converged=bool(converged), n_iter=n_iter, message=message)


def start_grid(grid: Mapping[str, Sequence[float]], param_names: Sequence[str]) -> np.ndarray:
    """Cartesian product of per-parameter starting values, shape (n_starts, n_params)."""
    return np.array(list(itertools.product(*[grid[name] for name in param_names])),
                    dtype=float)


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


class BaseTransactionModel(SerializableMixin, TransformerMixin, BaseEstimator):
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
    def _loglik(self, params: np.ndarray, data: CustomerArrays) -> np.ndarray:
        raise NotImplementedError

    def _loglik_grad(self, params: np.ndarray, data: CustomerArrays, weights: np.ndarray):
        raise NotImplementedError

    def _loglik_hess(self, params: np.ndarray, data: CustomerArrays, weights: np.ndarray):
        raise NotImplementedError

    def _expected_purchases(self, params, t, *columns):
        raise NotImplementedError

    def _probability_alive(self, params, *columns):
        raise NotImplementedError

    def _purchase_probability(self, params, n, t, *columns):
        raise NotImplementedError

    def _expected_purchases_new_customer(self, params, t):
        raise NotImplementedError

    def _purchase_probability_new_customer(self, params, n, t):
        raise NotImplementedError

    def _sample(self, params, T, rng) -> dict:
        raise NotImplementedError

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

        cls = type(self)
        has_grad = cls._loglik_grad is not BaseTransactionModel._loglik_grad
        has_hess = cls._loglik_hess is not BaseTransactionModel._loglik_hess
        result = fit_mle(
            self._loglik, scaled, weights, self._start_points(scaled),
            loglik_grad=self._loglik_grad if has_grad else None,
            loglik_hess=self._loglik_hess if has_hess else None,
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
