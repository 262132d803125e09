"""BG/BB model (Fader, Hardie & Shang 2010): likelihood, predictions and the estimator.

Transactions happen at discrete opportunities (an annual fund drive, a weekly show ...).
At each opportunity an alive customer transacts with probability ``p ~ Beta(alpha,
beta)``; at the start of each opportunity after the first, the customer dies with
probability ``theta ~ Beta(gamma, delta)``. A customer's history is summarised by the
number of opportunities with a transaction after the first (``frequency``, ``x``), the
opportunity of the last one (``recency``, ``t_x``, 0 without any) and the number of
opportunities observed (``n_periods``, ``n``). All parameters are
``params = (alpha, beta, gamma, delta)``.

Sums over opportunities are vectorised over the opportunity index (never a loop over
customers); the fit groups identical histories, which are few: at most one per
``(x, t_x, n)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import _fit_context

from .._validation import check_columns, check_customer_table, raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._base import BaseTransactionModel, periods_per_year
from ._mle import CustomerArrays

__all__ = [
    "BetaGeoBetaBinom",
    "bgbb_loglik",
    "bgbb_loglik_grad",
    "bgbb_probability_alive",
    "bgbb_expected_purchases",
    "bgbb_purchase_probability",
    "bgbb_sample",
]

#: Cells (rows x opportunities) evaluated at once by the sums over opportunities.
_CELLS = 1 << 20


def _as_float(*arrays):
    out = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in arrays))
    return [v.ravel() for v in out], out[0].shape


def _col(v, sl):
    """Rows ``sl`` of a per-row array as a column (a scalar stays a scalar)."""
    return v[sl, None] if np.ndim(v) else v


def _chunks(n_rows, width):
    step = max(1, _CELLS // max(int(width), 1))
    return range(0, n_rows, step), step


def _loglik_terms(params, x, t_x, n, grad=False):
    """Log-likelihood of each row (and its gradient, shape (rows, 4)).

    ``params`` are four scalars, or (without ``grad``) four arrays of one value per row.
    """
    if grad:
        alpha, beta, gamma, delta = (float(v) for v in params)
    else:
        alpha, beta, gamma, delta = (np.asarray(v, dtype=np.float64) for v in params)
    lb_ab = special.betaln(alpha, beta)
    lb_gd = special.betaln(gamma, delta)
    # alive through all n opportunities
    first = (special.betaln(alpha + x, beta + n - x) - lb_ab
             + special.betaln(gamma, delta + n) - lb_gd)
    k = np.maximum(n - t_x, 0.0)            # opportunities after the last transaction
    width = int(k.max()) if len(k) else 0
    ll = np.array(first, copy=True)
    dll = np.zeros((len(x), 4)) if grad else None
    if grad:
        dg_ab, dg_gd = special.digamma(alpha + beta), special.digamma(gamma + delta)
        c_a, c_b = special.digamma(alpha) - dg_ab, special.digamma(beta) - dg_ab
        c_g, c_d = special.digamma(gamma) - dg_gd, special.digamma(delta) - dg_gd
        d_first = np.column_stack([
            special.digamma(alpha + x) - special.digamma(alpha + beta + n) - c_a,
            special.digamma(beta + n - x) - special.digamma(alpha + beta + n) - c_b,
            dg_gd - special.digamma(gamma + delta + n),
            special.digamma(delta + n) - special.digamma(gamma + delta + n) - c_d])
    if width == 0:
        if grad:
            dll[:] = d_first
        return ll, dll
    i = np.arange(width, dtype=np.float64)[None, :]
    starts, step = _chunks(len(x), width)
    for s0 in starts:
        sl = slice(s0, s0 + step)
        X, TX, K = x[sl, None], t_x[sl, None], k[sl, None]
        al, be, ga, de = (_col(v, sl) for v in (alpha, beta, gamma, delta))
        # died at the start of opportunity t_x + i + 1, i = 0 .. n - t_x - 1
        with np.errstate(invalid="ignore"):
            terms = (special.betaln(al + X, be + TX - X + i)
                     + special.betaln(ga + 1.0, de + TX + i) - _col(lb_ab, sl)
                     - _col(lb_gd, sl))
        terms = np.where(i < K, terms, -np.inf)
        lsum = special.logsumexp(terms, axis=1)
        ll[sl] = np.logaddexp(first[sl], lsum)
        if grad:
            w = np.exp(terms - ll[sl, None])
            w0 = np.exp(first[sl] - ll[sl])
            dg_abi = special.digamma(alpha + beta + TX + i)
            dg_gdi = special.digamma(gamma + delta + TX + i + 1.0)
            dterm = (special.digamma(alpha + X) - dg_abi - c_a,
                     special.digamma(beta + TX - X + i) - dg_abi - c_b,
                     special.digamma(gamma + 1.0) - dg_gdi - c_g,
                     special.digamma(delta + TX + i) - dg_gdi - c_d)
            for j in range(4):
                dll[sl, j] = w0 * d_first[sl, j] + np.sum(
                    np.where(i < K, w * dterm[j], 0.0), axis=1)
    return ll, dll


def bgbb_loglik(params, x, t_x, n):
    r"""Log-likelihood of each customer under the BG/BB (Fader, Hardie & Shang 2010, eq. 5).

    Parameters
    ----------
    params : sequence of float or of array-like
        ``(alpha, beta, gamma, delta)``; arrays broadcast against the columns (parameter
        draws of shape ``(n_draws, 1)`` against columns of shape ``(n,)`` give an
        ``(n_draws, n)`` result).
    x, t_x, n : array-like
        Frequency, recency and number of opportunities, broadcast together.

    Returns
    -------
    ndarray

    Notes
    -----
    .. math::
        L = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
          + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
            \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)},

    summed in log space (``logsumexp`` over ``i``).

    Examples
    --------
    >>> import numpy as np
    >>> ll = bgbb_loglik((1.204, 0.750, 0.657, 2.783), [0, 3, 6], [0, 4, 6], [6, 6, 6])
    >>> [round(float(v), 4) for v in np.exp(ll)]
    [0.3112, 0.0063, 0.1128]
    """
    (x, t_x, n, *params), shape = _as_float(x, t_x, n, *params)
    return _loglik_terms(params, x, t_x, n)[0].reshape(shape)


def bgbb_loglik_grad(params, data: CustomerArrays, weights):
    """Weighted sum of :func:`bgbb_loglik` over the rows of ``data`` and its analytic
    gradient with respect to ``(alpha, beta, gamma, delta)``.

    Parameters
    ----------
    params : sequence of float
        ``(alpha, beta, gamma, delta)``.
    data : CustomerArrays
        Columns ``frequency``, ``recency`` and ``n_periods``.
    weights : ndarray
        Weight (count of customers) of each row.

    Returns
    -------
    total : float
    grad : ndarray of shape (4,)

    Notes
    -----
    Each term of the likelihood is a product of beta functions, so its derivatives are
    differences of digamma functions, ``d log B(a, b) / da = psi(a) - psi(a + b)``; the
    gradient of the sum is the weighted average of the terms' gradients.
    """
    ll, dll = _loglik_terms(params, data["frequency"], data["recency"], data["n_periods"],
                            grad=True)
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(w, ll)), w @ dll


def bgbb_probability_alive(params, x, t_x, n, m=0):
    r"""P(alive at opportunity ``n + m`` | x, t_x, n) (Fader, Hardie & Shang 2010, eq. 11
    at ``m = 1``).

    .. math::
        \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
        \frac{B(\gamma, \delta+n+m)}{B(\gamma,\delta)} \Big/ L(\alpha,\beta,\gamma,\delta
        \mid x, t_x, n)

    ``m = 0`` is the probability of being alive at the last observed opportunity.

    Parameters
    ----------
    params : sequence of float or of array-like
        ``(alpha, beta, gamma, delta)``; arrays broadcast against the columns.
    x, t_x, n : array-like
        Frequency, recency and number of opportunities.
    m : int or array-like, default=0
        Opportunities after the last observed one.

    Returns
    -------
    ndarray

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-base analysis in a
    discrete-time noncontractual setting", Marketing Science 29(6), eq. 11.

    Examples
    --------
    >>> p = bgbb_probability_alive((1.204, 0.750, 0.657, 2.783), [0, 6], [0, 6], [6, 6])
    >>> [round(float(v), 3) for v in p]
    [0.116, 1.0]
    """
    (x, t_x, n, m, alpha, beta, gamma, delta), shape = _as_float(x, t_x, n, m, *params)
    ll = _loglik_terms((alpha, beta, gamma, delta), x, t_x, n)[0]
    log_alive = (special.betaln(alpha + x, beta + n - x) - special.betaln(alpha, beta)
                 + special.betaln(gamma, delta + n + m) - special.betaln(gamma, delta))
    return np.minimum(np.exp(log_alive - ll), 1.0).reshape(shape)


def _log_survival_sum(gamma, delta, n, t):
    """``log sum_{i=n+1}^{n+t} B(gamma, delta+i) / B(gamma, delta)``: the expected number
    of the next ``t`` opportunities at which a customer alive at ``n`` is still alive,
    times ``B(gamma, delta+n) / B(gamma, delta)``. Closed form by telescoping (Fader,
    Hardie & Shang 2010, eq. 13); a direct sum where ``|gamma - 1| <= 1e-4``, where the
    closed form is 0/0. All arguments broadcast together."""
    gamma, delta, n, t = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (gamma, delta, n, t)))
    out = np.empty(n.shape)
    far = np.abs(gamma - 1.0) > 1e-4
    with np.errstate(divide="ignore"):
        if np.any(far):
            g, d, nn, tt = gamma[far], delta[far], n[far], t[far]
            lg_n = special.gammaln(d + nn + 1.0) - special.gammaln(g + d + nn)
            lg_nt = (special.gammaln(d + nn + tt + 1.0)
                     - special.gammaln(g + d + nn + tt))
            out[far] = (special.gammaln(g + d) - special.gammaln(d) + lg_n
                        + np.log(np.abs(np.expm1(lg_nt - lg_n))) - np.log(np.abs(g - 1.0)))
        near = ~far
        if np.any(near):
            g, d, nn, tt = (v[near][:, None] for v in (gamma, delta, n, t))
            width = int(tt.max())
            if width:
                i = np.arange(1, width + 1, dtype=np.float64)
                terms = special.betaln(g, d + nn + i) - special.betaln(g, d)
                terms = np.where(i <= tt, terms, -np.inf)
                out[near] = special.logsumexp(terms, axis=-1)
            else:
                out[near] = -np.inf
    return out


def bgbb_expected_purchases(params, t, x, t_x, n):
    r"""E[X(n, n+t) | x, t_x, n], expected transactions in the next ``t`` opportunities
    (Fader, Hardie & Shang 2010, eq. 13).

    .. math::
        \frac{1}{L}\frac{B(\alpha+x+1, \beta+n-x)}{B(\alpha,\beta)}
        \frac{\delta}{\gamma-1}\frac{\Gamma(\gamma+\delta)}{\Gamma(1+\delta)}
        \left[\frac{\Gamma(1+\delta+n)}{\Gamma(\gamma+\delta+n)}
            - \frac{\Gamma(1+\delta+n+t)}{\Gamma(\gamma+\delta+n+t)}\right]

    At ``x = t_x = n = 0`` it is the expectation for a new customer (eq. 9).

    Parameters
    ----------
    params : sequence of float or of array-like
        ``(alpha, beta, gamma, delta)``; arrays broadcast against the columns.
    t : int or array-like
        Number of future opportunities.
    x, t_x, n : array-like
        Frequency, recency and number of opportunities observed.

    Returns
    -------
    ndarray

    References
    ----------
    Fader, Hardie & Shang (2010), eq. 9 and 13.

    Examples
    --------
    >>> e = bgbb_expected_purchases((1.204, 0.750, 0.657, 2.783), 5, [0, 6], [0, 6], [6, 6])
    >>> [round(float(v), 3) for v in e]
    [0.073, 3.752]
    """
    (t, x, t_x, n, alpha, beta, gamma, delta), shape = _as_float(t, x, t_x, n, *params)
    ll = _loglik_terms((alpha, beta, gamma, delta), x, t_x, n)[0]
    log_p = (special.betaln(alpha + x + 1.0, beta + n - x) - special.betaln(alpha, beta)
             - ll)
    return np.exp(log_p + _log_survival_sum(gamma, delta, n, t)).reshape(shape)


def bgbb_purchase_probability(params, k, t, x, t_x, n):
    r"""P(X(n, n+t) = k | x, t_x, n): exactly ``k`` transactions in the next ``t``
    opportunities.

    Given alive at ``n`` (probability ``P_a``), the posteriors are
    ``p ~ Beta(alpha+x, beta+n-x)`` and ``theta ~ Beta(gamma, delta+n)``; a customer who
    survives the ``t`` opportunities transacts a binomial number of times in ``t``, one
    who dies at the start of opportunity ``n + j`` in ``j - 1``:

    .. math::
        P(k) = 1_{k=0}(1-P_a) + P_a\Big[\frac{B(\gamma, \delta+n+t)}{B(\gamma,\delta+n)}
          \binom{t}{k} \frac{B(a_x+k, b_x+t-k)}{B(a_x, b_x)}
        + \sum_{j=k+1}^{t} \frac{B(\gamma+1, \delta+n+j-1)}{B(\gamma,\delta+n)}
          \binom{j-1}{k}\frac{B(a_x+k, b_x+j-1-k)}{B(a_x, b_x)}\Big]

    with ``a_x = alpha + x`` and ``b_x = beta + n - x``. At ``x = t_x = n = 0`` it is the
    distribution of transactions of a new customer (Fader, Hardie & Shang 2010, eq. 7).

    Parameters
    ----------
    params : sequence of float or of array-like
        ``(alpha, beta, gamma, delta)``; arrays broadcast against the columns.
    k : int or array-like of int
        Number of transactions.
    t : int or array-like
        Number of future opportunities.
    x, t_x, n : array-like
        Frequency, recency and number of opportunities observed; all broadcast together.

    Returns
    -------
    ndarray

    References
    ----------
    Fader, Hardie & Shang (2010), eq. 7 (new customer); the conditional version follows
    from the same posterior argument as their eq. 11 and 13.

    Examples
    --------
    >>> import numpy as np
    >>> p = [bgbb_purchase_probability((1.204, 0.750, 0.657, 2.783), k, 5, 0, 0, 0)
    ...      for k in range(6)]
    >>> round(float(np.sum(p)), 12)
    1.0
    """
    (k, t, x, t_x, n, alpha, beta, gamma, delta), shape = _as_float(k, t, x, t_x, n,
                                                                    *params)
    p_alive = bgbb_probability_alive((alpha, beta, gamma, delta), x, t_x, n)
    ax, bx = alpha + x, beta + n - x
    lb_x = special.betaln(ax, bx)
    lb_th = special.betaln(gamma, delta + n)

    def log_binom(a, b):
        return special.gammaln(a + 1.0) - special.gammaln(b + 1.0) - special.gammaln(a - b + 1.0)

    with np.errstate(invalid="ignore", divide="ignore"):
        survive = np.where(
            k <= t,
            special.betaln(gamma, delta + n + t) - lb_th + log_binom(t, k)
            + special.betaln(ax + k, bx + t - k) - lb_x,
            -np.inf)
    total = np.exp(survive)
    width = int(t.max()) if t.size else 0
    if width:
        j = np.arange(1, width + 1, dtype=np.float64)[None, :]
        starts, step = _chunks(len(k), width)
        for s0 in starts:
            sl = slice(s0, s0 + step)
            K, T_, N, AX, BX, G, D = (v[sl, None] for v in (k, t, n, ax, bx, gamma, delta))
            ok = (j <= T_) & (j - 1.0 >= K)
            with np.errstate(invalid="ignore", divide="ignore"):
                terms = (special.betaln(G + 1.0, D + N + j - 1.0) - lb_th[sl, None]
                         + log_binom(j - 1.0, K) + special.betaln(AX + K, BX + j - 1.0 - K)
                         - lb_x[sl, None])
            total[sl] += np.sum(np.where(ok, np.exp(np.where(ok, terms, 0.0)), 0.0), axis=1)
    out = np.where(k == 0, 1.0 - p_alive, 0.0) + p_alive * total
    return out.reshape(shape)


def bgbb_sample(params, n_periods, rng):
    """Simulate BG/BB customers observed over ``n_periods`` opportunities.

    ``p ~ Beta(alpha, beta)`` and ``theta ~ Beta(gamma, delta)``; the customer survives
    ``D = min(Geometric(theta) - 1, n)`` opportunities. Among them, the number of
    failures after the last transaction is ``G = Geometric(p) - 1``: without a
    transaction when ``G >= D``, else ``recency = D - G`` and
    ``frequency = 1 + Binomial(recency - 1, p)``. Every step is vectorised.

    Parameters
    ----------
    params : sequence of float
        ``(alpha, beta, gamma, delta)``.
    n_periods : ndarray
        Opportunities observed for each customer.
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``n_periods``, ``p_``, ``theta_``, ``alive`` (alive
        at the last opportunity).
    """
    alpha, beta, gamma, delta = (float(v) for v in params)
    n = np.asarray(n_periods, dtype=np.float64)
    size = n.shape
    p = rng.beta(alpha, beta, size=size)
    theta = rng.beta(gamma, delta, size=size)
    lifetime = rng.geometric(np.clip(theta, 1e-12, 1.0), size=size) - 1.0
    survived = np.minimum(lifetime, n)
    trailing = rng.geometric(np.clip(p, 1e-12, 1.0), size=size) - 1.0
    has = trailing < survived
    recency = np.where(has, survived - trailing, 0.0)
    extra = rng.binomial(np.maximum(recency - 1.0, 0.0).astype(np.int64), p)
    frequency = np.where(has, 1.0 + extra, 0.0)
    return {"frequency": frequency, "recency": recency, "n_periods": n, "p_": p,
            "theta_": theta, "alive": lifetime >= n}


# ---------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------

def _whole(values, name):
    arr = np.asarray(values, dtype=np.float64)
    if np.any(arr != np.round(arr)):
        raise InvalidParameterError(
            f"The BG/BB counts discrete transaction opportunities: {name} must be a whole "
            f"number of opportunities, got {values!r}.")
    return arr


class BetaGeoBetaBinom(BaseTransactionModel):
    r"""BG/BB model of transactions at discrete opportunities (Fader, Hardie & Shang 2010).

    At each opportunity (a yearly fund drive, a weekly issue ...) an alive customer
    transacts with probability ``p ~ Beta(alpha, beta)``, and at the start of each
    opportunity dies with probability ``theta ~ Beta(gamma, delta)``. Fitted by maximum
    likelihood, with the analytic gradient, on the table of ``frequency`` (opportunities
    with a repeat transaction), ``recency`` (the last of them, 0 without any) and
    ``n_periods`` (opportunities observed; a column named ``periods`` is accepted too).
    Tables are usually compressed to one row per pattern with a count of customers: pass
    the counts as ``sample_weight`` or name their column in ``weights_column``.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood.
    horizon : int or None, default=None
        Opportunities ahead for :meth:`predict` and :meth:`transform`; None is one year of
        opportunities when the time unit is known (``time_unit="Y"``: 1, ``"M"``: 12 ...,
        rounded), else 1.
    time_unit : {"h", "D", "W", "M", "Q", "Y"} or None, default=None
        Spacing of the opportunities (None: the table's ``attrs["time_unit"]`` if any).
    n_init : int, default=2
        Optimiser runs from the best points of a fixed grid of starting values.
    max_iter : int, default=1000
        Iteration limit of each L-BFGS-B run.
    tol : float, default=1e-7
        Tolerance on the projected gradient of the mean negative log-likelihood.
    random_state : int, RandomState instance or None, default=None
        Seeds extra starts and the subsample used to search for starts on large tables.
    weights_column : str or None, default=None
        Name of a column of the training table holding the number of customers of each
        row (the donations data's ``weights``); used as ``sample_weight`` by :meth:`fit`
        and :meth:`score`.

    Attributes
    ----------
    params_ : Series
        ``alpha``, ``beta``, ``gamma``, ``delta``.
    stderr_ : Series
        Standard errors from the observed information (delta method).
    covariance_ : DataFrame
        Covariance matrix of the estimates (delta method,
        ``diag(params_) @ covariance_log_ @ diag(params_)``).
    covariance_log_ : DataFrame
        Covariance matrix of the log-parameters, the space the optimiser works in: the
        inverse observed information (the Hessian of the total negative
        log-likelihood, penalised when ``penalizer > 0``, in ``log(params_)``). The
        asymptotic law of the estimates is log-normal with this covariance; ``inf`` rows
        and columns for parameters the data do not identify.
    loglik_ : float
        Total (weighted) log-likelihood of the training table at ``params_``.
    converged_ : bool
        Whether the optimiser converged to an interior optimum.
    n_iter_ : int
        Optimiser iterations.
    time_unit_ : str or None
        The resolved time unit of the table.
    data_summary_ : dict
        ``n_customers``, ``n_distinct_rows``, ``max_frequency``, ``max_age`` (the largest
        ``n_periods``), ``mean_age`` of the training table.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    See Also
    --------
    ParetoNBD, BetaGeo : continuous-time models.

    Notes
    -----
    The likelihood (eq. 5) is

    .. math::
        L = \frac{B(\alpha+x, \beta+n-x)}{B(\alpha,\beta)}
            \frac{B(\gamma, \delta+n)}{B(\gamma,\delta)}
          + \sum_{i=0}^{n-t_x-1} \frac{B(\alpha+x, \beta+t_x-x+i)}{B(\alpha,\beta)}
            \frac{B(\gamma+1, \delta+t_x+i)}{B(\gamma,\delta)}.

    ``expected_purchases(X, t)`` is eq. 13 over the next ``t`` opportunities,
    ``expected_purchases_new_customer`` eq. 9 and ``purchase_probability_new_customer``
    eq. 7. ``probability_alive(X, t)`` follows the convention of every transaction model
    here: the probability of being alive at the last observed opportunity given the
    history extended by ``t`` opportunities without a transaction;
    :func:`bgbb_probability_alive` with ``m = 1`` is the paper's eq. 11.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Shang, J. (2010), "Customer-base analysis in a
    discrete-time noncontractual setting", Marketing Science 29(6), 1086-1108, equations
    5, 7, 9, 11 and 13.

    Examples
    --------
    >>> from custseg.datasets import load_donations
    >>> from custseg.models import BetaGeoBetaBinom
    >>> donations = load_donations()
    >>> model = BetaGeoBetaBinom(weights_column="weights").fit(donations)
    >>> model.params_.round(3).to_dict()
    {'alpha': 1.204, 'beta': 0.75, 'gamma': 0.657, 'delta': 2.783}
    >>> round(model.loglik_, 1)
    -33225.6
    """

    _param_names = ("alpha", "beta", "gamma", "delta")
    _broadcasts_params = True
    _columns = ("frequency", "recency", "n_periods")
    _column_aliases = {"n_periods": ("periods",)}
    _age_column = "n_periods"
    _time_columns = ()
    _time_exponents = (0.0, 0.0, 0.0, 0.0)
    _start_grid = {"alpha": (0.5, 2.0), "beta": (0.5, 2.0), "gamma": (0.5, 2.0),
                   "delta": (0.5, 3.0)}

    _parameter_constraints: dict = {
        **BaseTransactionModel._parameter_constraints,
        "weights_column": [str, None],
    }

    def __init__(self, *, penalizer=0.0, horizon=None, time_unit=None, n_init=2,
                 max_iter=1000, tol=1e-7, random_state=None, weights_column=None):
        super().__init__(penalizer=penalizer, horizon=horizon, time_unit=time_unit,
                         n_init=n_init, max_iter=max_iter, tol=tol,
                         random_state=random_state)
        self.weights_column = weights_column

    # ---- weights taken from a column ---------------------------------------------------
    def _column_weights(self, X, sample_weight):
        if self.weights_column is None:
            return sample_weight
        if not isinstance(X, pd.DataFrame):
            raise InvalidDataError(
                f"weights_column={self.weights_column!r} needs a DataFrame with that "
                f"column, got {type(X).__name__}.")
        check_columns(X, [self.weights_column], what="customer table")
        if sample_weight is not None:
            raise InvalidParameterError(
                f"Pass either sample_weight or weights_column={self.weights_column!r}, "
                "not both.")
        frame = X[[self.weights_column]]
        values = pd.to_numeric(frame[self.weights_column], errors="coerce").to_numpy(float)
        raise_bad_rows(frame, ~np.isfinite(values) | (values < 0), self.weights_column,
                       "are not finite non-negative counts of customers")
        return values

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate the parameters by maximum likelihood.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, 3)
            ``frequency``, ``recency``, ``n_periods`` (or ``periods``): selected by name
            from a DataFrame (other columns are ignored), in this order from an array.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_rows,) or None
            Number (or weight) of customers of each row; or use ``weights_column``.

        Returns
        -------
        self
        """
        if self.horizon is not None:
            _whole(self.horizon, "horizon")
        return super().fit(X, y, sample_weight=self._column_weights(X, sample_weight))

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean log-likelihood per customer, weighted by ``sample_weight`` or by the
        ``weights_column`` of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_rows, 3)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_rows,) or None

        Returns
        -------
        float
        """
        weights = sample_weight
        if (sample_weight is None and self.weights_column is not None
                and isinstance(X, pd.DataFrame) and self.weights_column in X.columns):
            weights = self._column_weights(X, None)
        return super().score(X, y, sample_weight=weights)

    # ---- validation --------------------------------------------------------------------
    def _check_table(self, frame):
        arrays = check_customer_table(frame, columns=self._columns, recency_le_T=False)
        x, t_x, n = (arrays[c] for c in self._columns)
        for col, arr in (("recency", t_x), ("n_periods", n)):
            raise_bad_rows(frame, arr != np.round(arr), col,
                           "are not whole numbers (opportunities are counted)")
        raise_bad_rows(frame, t_x > n, "recency",
                       "are after the last opportunity (recency greater than n_periods)")
        raise_bad_rows(frame, x > t_x, "frequency",
                       "exceed recency (x transactions need at least x opportunities "
                       "up to the last one)")
        return arrays

    def _horizon(self):
        if self.horizon is not None:
            return float(_whole(self.horizon, "horizon"))
        unit = getattr(self, "time_unit_", None) or self.time_unit
        return float(max(1, round(periods_per_year(unit)))) if unit is not None else 1.0

    # ---- adapters ----------------------------------------------------------------------
    def _loglik(self, params, data):
        return bgbb_loglik(params, data["frequency"], data["recency"], data["n_periods"])

    def _loglik_grad(self, params, data, weights):
        return bgbb_loglik_grad(params, data, weights)

    def _expected_purchases(self, params, t, x, t_x, n):
        return bgbb_expected_purchases(params, _whole(t, "t"), x, t_x, n)

    def _probability_alive(self, params, x, t_x, n):
        return bgbb_probability_alive(params, x, t_x, _whole(n, "t"))

    def _purchase_probability(self, params, k, t, x, t_x, n):
        return bgbb_purchase_probability(params, k, _whole(t, "t"), x, t_x, n)

    def _expected_purchases_new_customer(self, params, t):
        return bgbb_expected_purchases(params, _whole(t, "t"), 0.0, 0.0, 0.0)

    def _purchase_probability_new_customer(self, params, k, t):
        return bgbb_purchase_probability(params, k, _whole(t, "t"), 0.0, 0.0, 0.0)

    def _sample(self, params, n_periods, rng):
        return bgbb_sample(params, _whole(n_periods, "n_periods"), rng)
