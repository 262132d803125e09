"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): predictions, simulation and the
estimator.

Each customer buys at the times of a Poisson process of rate ``lambda ~ Gamma(r, alpha)``
while alive, and dies at an exponential time of rate ``mu ~ Gamma(s, beta)``; both
``alpha`` and ``beta`` are rates in the table's time unit. All parameters are
``params = (r, alpha, s, beta)``. The likelihood, its gradient and ``P(alive)`` live in
:mod:`._paretonbd_likelihood`; the purchase probabilities integrate over the death time
with the log-space quadrature of :mod:`._special`.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import BaseTransactionModel
from ._mle import compress_rows
from ._paretonbd_likelihood import (
    paretonbd_loglik,
    paretonbd_loglik_grad,
    paretonbd_probability_alive,
)
from ._special import _QUAD_CHUNK, _expit, _log_concave_rule, _logsumexp_rows, _softplus

__all__ = [
    "ParetoNBD",
    "paretonbd_loglik",
    "paretonbd_loglik_grad",
    "paretonbd_probability_alive",
    "paretonbd_expected_purchases",
    "paretonbd_expected_purchases_new_customer",
    "paretonbd_purchase_probability",
    "paretonbd_sample",
]


# ---------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------

def _one_minus_ratio_power(c, y):
    """``(1 - exp(-c y)) / c`` (``y`` at ``c = 0``): ``[1 - (b/(b+t))^c] / c`` with
    ``y = log(1 + t/b)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c == 0.0, y, -np.expm1(-c * y) / np.where(c == 0.0, 1.0, c))


def paretonbd_expected_purchases(params, t, x, t_x, T):
    r"""E[X(T, T+t] | x, t_x, T], expected purchases in the next ``t`` periods.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    t : float or array-like
        Length of the window.
    x, t_x, T : array-like
        Frequency, recency and age, broadcast together with ``t``.

    Returns
    -------
    ndarray

    Notes
    -----
    .. math::
        \frac{(r+x)(\beta+T)}{(\alpha+T)(s-1)}
        \left[1 - \left(\frac{\beta+T}{\beta+T+t}\right)^{s-1}\right] P(\text{alive}),

    with the limit ``(r+x)(beta+T)/(alpha+T) log(1 + t/(beta+T))`` at ``s = 1``.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2005), "A note on deriving the Pareto/NBD model and
    related expressions", eq. 22.

    Examples
    --------
    >>> e = paretonbd_expected_purchases((0.55, 10.58, 0.61, 11.67), 39.0, [0, 5],
    ...                                  [0.0, 38.0], [38.9, 38.9])
    >>> [round(float(v), 3) for v in e]
    [0.106, 3.591]
    """
    r, alpha, s, beta = (float(v) for v in params)
    x, t, T = (np.asarray(v, dtype=np.float64) for v in (x, t, T))
    g = _one_minus_ratio_power(s - 1.0, np.log1p(t / (beta + T)))
    return (paretonbd_probability_alive(params, x, t_x, T) * (r + x) * (beta + T)
            / (alpha + T) * g)


def paretonbd_expected_purchases_new_customer(params, t):
    r"""E[X(t)], expected repeat purchases of a customer just acquired.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    t : float or array-like
        Length of the window.

    Returns
    -------
    ndarray

    Notes
    -----
    .. math:: \frac{r\beta}{\alpha(s-1)}\left[1 - \left(\frac{\beta}{\beta+t}\right)^{s-1}
              \right]

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2005), "A note on deriving the Pareto/NBD model and
    related expressions", eq. 17.

    Examples
    --------
    >>> round(float(paretonbd_expected_purchases_new_customer((0.55, 10.58, 0.61, 11.67),
    ...                                                       39.0)), 4)
    1.2024
    """
    r, alpha, s, beta = (float(v) for v in params)
    t = np.asarray(t, dtype=np.float64)
    return r * beta / alpha * _one_minus_ratio_power(s - 1.0, np.log1p(t / beta))


def _log_death_integral(n, t, rx, a_T, b_T, s):
    """``log int_0^t tau^n (1 + tau/a_T)^-(rx+n) (1 + tau/b_T)^-(s+1) dtau`` by quadrature
    in ``u = log tau``, where the integrand is log-concave.

    The powers of ``a_T`` and ``b_T`` are divided out of the integrand: with a huge
    ``s`` they would be large terms cancelling in the logarithm of the result.
    """
    out = np.empty(len(rx))
    for start in range(0, len(rx), _QUAD_CHUNK):
        sl = slice(start, start + _QUAD_CHUNK)
        N, RX, LA, LB = (v[sl][:, None] for v in (n, rx, np.log(a_T), np.log(b_T)))

        def h(u, N=N, RX=RX, LA=LA, LB=LB):
            return (N + 1.0) * u - (RX + N) * _softplus(u - LA) - (s + 1.0) * _softplus(u - LB)

        def dh(u, N=N, RX=RX, LA=LA, LB=LB):
            return ((N + 1.0) - (RX + N) * _expit(u - LA) - (s + 1.0) * _expit(u - LB))

        la, lb = LA[:, 0], LB[:, 0]
        bend = np.log(np.maximum(np.maximum(RX[:, 0] + N[:, 0], s + 1.0), 1.0)) + 36.0
        nodes, logw = _log_concave_rule(h, dh, np.full(la.shape, -np.inf),
                                        np.log(t[sl]), np.minimum(la, lb) - bend,
                                        np.maximum(la, lb) + bend)
        out[sl] = _logsumexp_rows(logw + h(nodes))
    return out


def _log1mexp(y):
    """``log(1 - e^-y)`` for ``y >= 0`` (Maechler 2012: ``log(-expm1(-y))`` for small
    ``y``, ``log1p(-exp(-y))`` for large)."""
    with np.errstate(divide="ignore"):
        small = y < np.log(2.0)
        return np.where(small, np.log(-np.expm1(-np.where(small, y, 1.0))),
                        np.log1p(-np.exp(-np.where(small, 1.0, y))))


def _log_purchase_integral(t, rx, a_T, b_T, s):
    r"""``log int_0^t (s/b_T) (1 + tau/b_T)^-(s+1) [1 - (1 + tau/a_T)^-rx] dtau``: the
    probability of dying at ``tau < t`` after at least one purchase, by quadrature in
    ``u = log tau``.

    The integrand is log-concave in ``u``: ``log(1 - (1 + e^v)^-rx)`` is the log of the
    distribution function of a log-concave density (``rx e^v (1+e^v)^-(rx+1)``), hence
    concave, and the other factors are ``u - (s+1) log(1 + e^u / b_T)``.
    """
    out = np.empty(len(rx))
    log_s = np.log(s)
    for start in range(0, len(rx), _QUAD_CHUNK):
        sl = slice(start, start + _QUAD_CHUNK)
        RX, LA, LB = (v[sl][:, None] for v in (rx, np.log(a_T), np.log(b_T)))

        def h(u, RX=RX, LA=LA, LB=LB):
            return (u + log_s - LB - (s + 1.0) * _softplus(u - LB)
                    + _log1mexp(RX * _softplus(u - LA)))

        def dh(u, RX=RX, LA=LA, LB=LB):
            with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
                bought = RX * _expit(u - LA) / np.expm1(RX * _softplus(u - LA))
            return 1.0 - (s + 1.0) * _expit(u - LB) + np.where(np.isfinite(bought),
                                                                 bought, 1.0)

        la, lb = LA[:, 0], LB[:, 0]
        bend = np.log(np.maximum(np.maximum(RX[:, 0], s + 1.0), 1.0)) + 36.0
        nodes, logw = _log_concave_rule(h, dh, np.full(la.shape, -np.inf),
                                        np.log(t[sl]), np.minimum(la, lb) - bend,
                                        np.maximum(la, lb) + bend)
        out[sl] = _logsumexp_rows(logw + h(nodes))
    return out


def paretonbd_purchase_probability(params, n, t, x, t_x, T):
    r"""P(X(T, T+t] = n | x, t_x, T): exactly ``n`` purchases in the next ``t`` periods.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    n : int or array-like of int
        Number of purchases.
    t : float or array-like
        Length of the window.
    x, t_x, T : array-like
        Frequency, recency and age; all arguments broadcast together.

    Returns
    -------
    ndarray
        Probabilities in ``[0, 1]``; over ``n = 0, 1, ...`` they sum to 1.

    Notes
    -----
    Given alive at ``T``, the posterior rates are ``lambda ~ Gamma(r+x, alpha+T)`` and
    ``mu ~ Gamma(s, beta+T)``. Alive throughout the window the count is negative
    binomial; dying at ``T + tau`` (``tau < t``) it is Poisson with mean ``lambda tau``:

    .. math::
        P(n) = 1_{n=0}(1 - P_a) + P_a \Big[
          \Big(\frac{\beta_T}{\beta_T+t}\Big)^s \mathrm{NB}(n; r+x, \tfrac{\alpha_T}
          {\alpha_T+t}) + \frac{s\beta_T^s\,\Gamma(r+x+n)\,\alpha_T^{r+x}}{\Gamma(r+x)\,n!}
          \int_0^t \frac{\tau^n\, d\tau}{(\alpha_T+\tau)^{r+x+n}(\beta_T+\tau)^{s+1}}\Big]

    with ``alpha_T = alpha + T``, ``beta_T = beta + T`` and ``P_a = P(alive)``. This is
    the quantity of Fader & Hardie's note on the conditional pmf (2006, eq. 16), whose
    closed form subtracts nearly equal sums; the integral is computed instead by
    Gauss-Legendre quadrature on level-set panels of its log-concave integrand (relative
    accuracy about 1e-12), with the powers of ``alpha_T`` and ``beta_T`` divided into it
    so that no large terms cancel in the logarithm. Where no purchase is the likely
    outcome, ``P(0)`` is computed from its complement,

    .. math::
        1 - P(0) = P_a \Big[\Big(\frac{\beta_T}{\beta_T+t}\Big)^s
            \Big(1 - \Big(\frac{\alpha_T}{\alpha_T+t}\Big)^{r+x}\Big)
          + \int_0^t \frac{s\,\beta_T^s}{(\beta_T+\tau)^{s+1}}
            \Big(1 - \Big(\frac{\alpha_T}{\alpha_T+\tau}\Big)^{r+x}\Big) d\tau\Big],

    the probability of at least one purchase (alive throughout, or dying after ``tau``),
    also a log-concave integrand; so ``P(0)`` never exceeds 1 even when ``1 - P(0)`` is
    tiny (a huge drop-out rate). At ``x = t_x = T = 0`` it is the probability for a new
    customer.

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2006), "Deriving an expression for P(X(t) = x) under
    the Pareto/NBD model", note 012; and the conditional version, note 028, eq. 16.

    Examples
    --------
    >>> import numpy as np
    >>> params = (0.55, 10.58, 0.61, 11.67)
    >>> p = [paretonbd_purchase_probability(params, k, 39.0, 2, 30.4, 38.9) for k in range(60)]
    >>> round(float(np.sum(p)), 8)
    1.0
    """
    r, alpha, s, beta = (float(v) for v in params)
    n, t, x, t_x, T = np.broadcast_arrays(
        *(np.asarray(v, dtype=np.float64) for v in (n, t, x, t_x, T)))
    shape = x.shape
    n, t, x, t_x, T = (v.ravel() for v in (n, t, x, t_x, T))
    p_alive = paretonbd_probability_alive(params, x, t_x, T)
    rx, a_T, b_T = r + x, alpha + T, beta + T
    out = np.where(n == 0, 1.0, 0.0)
    pos = t > 0
    if pos.any():
        i = np.flatnonzero(pos)
        ni, ti, rxi, ai, bi = n[i], t[i], rx[i], a_T[i], b_T[i]
        log_nb_coef = (special.gammaln(rxi + ni) - special.gammaln(rxi)
                       - special.gammaln(ni + 1.0))
        with np.errstate(divide="ignore"):
            log_stay_a = -rxi * np.log1p(ti / ai)  # log (a_T / (a_T + t))^(r+x)
            log_stay_b = -s * np.log1p(ti / bi)    # log (b_T / (b_T + t))^s
            log_alive_all = (log_stay_b + log_nb_coef + log_stay_a
                             - ni * np.log1p(ai / ti))
        # the integral depends on (n, t, x, T) only: once per distinct combination
        (un, ut, urx, ua, ub), _, inv = _distinct_rows([ni, ti, rxi, ai, bi])
        log_int = _log_death_integral(un, ut, urx, ua, ub, s)[inv]
        log_dead = np.log(s) - np.log(bi) - ni * np.log(ai) + log_nb_coef + log_int
        future = np.exp(np.logaddexp(log_alive_all, log_dead))
        out[i] = np.where(ni == 0, 1.0 - p_alive[i], 0.0) + p_alive[i] * future
        # P(0) close to 1: from the probability of at least one purchase instead
        likely = (ni == 0) & (future > 0.5)
        if likely.any():
            j = np.flatnonzero(likely)
            (ut, urx, ua, ub), _, inv = _distinct_rows([ti[j], rxi[j], ai[j], bi[j]])
            log_bought = np.logaddexp(
                _log_purchase_integral(ut, urx, ua, ub, s)[inv],
                log_stay_b[j] + _log1mexp(-log_stay_a[j]))
            out[i[j]] = 1.0 - p_alive[i[j]] * np.minimum(np.exp(log_bought), 1.0)
    return out.reshape(shape)


def _distinct_rows(columns):
    distinct, _, inverse = compress_rows(columns)
    return distinct, None, inverse


def paretonbd_sample(params, T, rng):
    """Simulate Pareto/NBD customers of ages ``T``.

    Rates ``lambda ~ Gamma(r, alpha)`` and ``mu ~ Gamma(s, beta)``; the customer dies at
    an exponential time of rate ``mu`` and, while alive and observed, buys at the times of
    a Poisson process of rate ``lambda``. The number of purchases in the active window
    ``w = min(death, T)`` is ``Poisson(lambda w)`` and, given ``x > 0`` of them, the last
    one is at ``w`` times the maximum of ``x`` uniforms, ``w * Beta(x, 1)``.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    T : ndarray
        Age of each customer.
    rng : numpy.random.Generator

    Returns
    -------
    dict
        ``frequency``, ``recency``, ``T``, ``lambda_``, ``mu_``, ``alive`` (alive at ``T``).
    """
    r, alpha, s, beta = (float(v) for v in params)
    T = np.asarray(T, dtype=np.float64)
    size = T.shape
    lam = rng.gamma(r, 1.0 / alpha, size=size)
    mu = rng.gamma(s, 1.0 / beta, size=size)
    with np.errstate(divide="ignore"):
        death = rng.exponential(1.0, size=size) / mu
    window = np.minimum(death, T)
    x = rng.poisson(lam * window).astype(np.float64)
    last = window * rng.beta(np.maximum(x, 1.0), 1.0)
    recency = np.where(x > 0, last, 0.0)
    return {"frequency": x, "recency": recency, "T": T, "lambda_": lam, "mu_": mu,
            "alive": death > T}


# ---------------------------------------------------------------------------------------
# Estimator
# ---------------------------------------------------------------------------------------

class ParetoNBD(BaseTransactionModel):
    r"""Pareto/NBD model of repeat purchases (Schmittlein, Morrison & Colombo 1987).

    While alive, a customer buys at the times of a Poisson process of rate
    ``lambda ~ Gamma(r, alpha)``; the customer dies at an unobserved exponential time of
    rate ``mu ~ Gamma(s, beta)``. Fitted by maximum likelihood on the customer table
    (frequency ``x``, recency ``t_x``, age ``T``), with the analytic gradient.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood (parameters in the table's time unit). ``score`` is the mean
        log-likelihood, so ``GridSearchCV`` can tune it.
    horizon : float or None, default=None
        Window of :meth:`predict` and :meth:`transform` in the table's time unit; None is
        one year when the time unit is known, else 52 periods.
    time_unit : {"h", "D", "W", "M", "Q", "Y"} or None, default=None
        Unit of ``recency`` and ``T`` (None: the table's ``attrs["time_unit"]`` if any).
    n_init : int, default=2
        Optimiser runs from the best points of a fixed grid of starting values (the fit
        is deterministic: no random start unless ``n_init`` exceeds the grid).
    max_iter : int, default=1000
        Iteration limit of each L-BFGS-B run.
    tol : float, default=1e-7
        Tolerance on the projected gradient of the mean negative log-likelihood.
    random_state : int, RandomState instance or None, default=None
        Seeds extra starts and the subsample used to search for starts on large tables.

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha``, ``s``, ``beta`` (``alpha`` and ``beta`` in the table's time
        unit).
    stderr_ : Series
        Standard errors from the observed information (delta method).
    covariance_ : DataFrame
        Covariance matrix of the estimates.
    loglik_ : float
        Total log-likelihood of the training table at ``params_``.
    converged_ : bool
        Whether the optimiser converged to an interior optimum.
    n_iter_ : int
        Optimiser iterations.
    time_unit_ : str or None
        The resolved time unit of the table.
    data_summary_ : dict
        ``n_customers``, ``n_distinct_rows``, ``max_frequency``, ``max_age``,
        ``mean_age`` of the training table.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    See Also
    --------
    BetaGeo : the BG/NBD, where customers can only drop out right after a purchase.
    BetaGeoBetaBinom : discrete transaction opportunities.

    Notes
    -----
    The likelihood of a customer (Fader & Hardie 2005, eq. 18-20) is

    .. math::
        L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}\left[
            \frac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + s\int_{t_x}^{T}
            \frac{d\tau}{(\alpha+\tau)^{r+x}(\beta+\tau)^{s+1}}\right],

    whose integral the note writes with ``2F1`` terms (its ``A_0``), split by the sign of
    ``alpha - beta``; see :mod:`._paretonbd_likelihood` for the stable evaluation.
    ``probability_alive`` is eq. 11, ``expected_purchases`` eq. 22,
    ``expected_purchases_new_customer`` eq. 17; ``purchase_probability`` is the
    conditional pmf of Fader & Hardie's 2006 note, computed by quadrature.

    References
    ----------
    Schmittlein, D. C., Morrison, D. G. and Colombo, R. (1987), "Counting your customers:
    who are they and what will they do next?", Management Science 33(1), 1-24.

    Fader, P. S. and Hardie, B. G. S. (2005), "A note on deriving the Pareto/NBD model and
    related expressions", http://brucehardie.com/notes/009/, equations 11, 17, 18-20, 22.

    Fader, P. S. and Hardie, B. G. S. (2006), "Deriving an expression for P(X(t) = x)
    under the Pareto/NBD model", http://brucehardie.com/notes/012/.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import ParetoNBD
    >>> table = load_cdnow_summary()
    >>> model = ParetoNBD().fit(table)
    >>> model.params_.round(2).to_dict()
    {'r': 0.55, 'alpha': 10.58, 's': 0.61, 'beta': 11.67}
    >>> round(model.loglik_, 2)
    -9594.97

    (The bundled table rounds recency and T to 1/100 week; summarised to the day, as in
    the note, the log-likelihood is -9594.98.)
    """

    _param_names = ("r", "alpha", "s", "beta")
    _time_exponents = (0.0, 1.0, 0.0, 1.0)
    # in units of the median customer age (the fit rescales time so that it is 1); equal
    # alpha and beta make the hypergeometric terms trivial (z = 0) at half the points
    _start_grid = {"r": (0.25, 1.0), "alpha": (0.25, 1.0), "s": (0.25, 1.0),
                   "beta": (0.25, 1.0)}

    def _loglik(self, params, data):
        return paretonbd_loglik(params, data["frequency"], data["recency"], data["T"])

    def _loglik_grad(self, params, data, weights):
        return paretonbd_loglik_grad(params, data, weights)

    def _expected_purchases(self, params, t, x, t_x, T):
        return paretonbd_expected_purchases(params, t, x, t_x, T)

    def _probability_alive(self, params, x, t_x, T):
        return paretonbd_probability_alive(params, x, t_x, T)

    def _purchase_probability(self, params, n, t, x, t_x, T):
        return paretonbd_purchase_probability(params, n, t, x, t_x, T)

    def _expected_purchases_new_customer(self, params, t):
        return paretonbd_expected_purchases_new_customer(params, t)

    def _purchase_probability_new_customer(self, params, n, t):
        return paretonbd_purchase_probability(params, n, t, 0.0, 0.0, 0.0)

    def _sample(self, params, T, rng):
        return paretonbd_sample(params, T, rng)
