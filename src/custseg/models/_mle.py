"""Maximum-likelihood machinery shared by the probabilistic customer models.

* :class:`CustomerArrays` holds the float64 columns of a customer table with their
  distinct values computed once, and :func:`compress_rows` groups identical rows with
  summed weights: a likelihood is evaluated on distinct rows, and terms that depend on
  one column once per distinct value of that column.
* :func:`fit_mle` minimises the weighted mean negative log-likelihood in log-parameter
  space with L-BFGS-B from several starting points (:func:`start_grid`), uses the
  model's analytic gradient and Hessian when there are some (finite differences
  otherwise), adds an optional L2 penalty, rescales time for conditioning, and returns
  observed-information covariances (:class:`MLEResult`). Fits that do not converge, or
  that end on the edge of the search space because the data do not identify a
  parameter, warn :class:`~custseg.exceptions.ConvergenceWarning` and return the best
  finite optimum.

:class:`~custseg.models.BaseTransactionModel` (``_base.py``) and the Gamma-Gamma spend
model fit through these functions.
"""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize
from sklearn.utils import check_random_state

from ..exceptions import ConvergenceWarning

__all__ = [
    "LOG_BOUNDS",
    "SUBSAMPLE_ROWS",
    "CustomerArrays",
    "compress_rows",
    "dot1d",
    "MLEResult",
    "fit_mle",
    "start_grid",
]

#: Bounds of the search in log-parameter space (after time rescaling).
LOG_BOUNDS = (-18.0, 18.0)

#: Above this many distinct rows, starting points are searched on a weighted subsample
#: and only the final optimisation runs on the whole table.
SUBSAMPLE_ROWS = 10_000


def dot1d(a: np.ndarray, b: np.ndarray) -> float:
    """``sum(a * b)`` of two 1-d arrays without BLAS (whose threads make ``np.dot`` of
    long vectors much slower on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


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
