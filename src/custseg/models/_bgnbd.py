"""BG/NBD model (Fader, Hardie & Lee 2005): likelihood, predictions and the estimator.

The pure functions below serve both the BG/NBD and its modification MBG/NBD (Batislam,
Denizel & Filiztekin 2007), which differ only in whether a customer may drop out right
after the first purchase. The argument ``m`` is 0 for BG/NBD (drop-out only after repeat
purchases) and 1 for MBG/NBD (after every purchase, the first included); in the formulas
``b + x`` of the BG/NBD becomes ``b + x + m`` and the drop-out term exists for every
``x`` when ``m = 1`` but only for ``x > 0`` when ``m = 0``.

All parameters are ``params = (r, alpha, a, b)``: purchase rates
``lambda ~ Gamma(r, alpha)`` (``alpha`` a rate in the table's time unit) and drop-out
probabilities ``p ~ Beta(a, b)``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

from ._base import BaseTransactionModel, CustomerArrays
from ._special import log_hyp2f1

__all__ = [
    "BetaGeo",
    "bgnbd_loglik",
    "bgnbd_loglik_grad",
    "bgnbd_probability_alive",
    "bgnbd_expected_purchases",
    "bgnbd_purchase_probability",
    "bgnbd_sample",
]


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _sigmoid(z):
    return special.expit(z)


def _dropout_log_odds(params, x, t_x, T, m):
    """``D = log(a / (b + x + m - 1)) + (r + x) log((alpha + T) / (alpha + t_x))``: the log
    ratio of the likelihood of "dropped out after the last purchase" to "alive at T"; -inf
    where the drop-out branch does not exist (BG/NBD with x = 0)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (np.log(a) - np.log(b + x + m - 1.0)
             + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    if m == 0:
        d = np.where(x > 0, d, -np.inf)
    return d


def bg_family_loglik(params, x, t_x, T, m=0):
    r"""Log-likelihood of each customer under the BG/NBD (``m=0``) or MBG/NBD (``m=1``).

    .. math::
        \ell = \log\frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)}
             + \log\frac{B(a, b+x+m)}{B(a, b)} - (r+x)\log(\alpha+T)
             + \log\left(1 + e^{D}\right),
        \quad D = \log\frac{a}{b+x+m-1} + (r+x)\log\frac{\alpha+T}{\alpha+t_x}

    (the last term only for ``x > 0`` when ``m = 0``).
    """
    r, alpha, a, b = params
    x = np.asarray(x, dtype=np.float64)
    d = _dropout_log_odds(params, x, t_x, T, m)
    with np.errstate(invalid="ignore"):
        extra = np.where(np.isneginf(d), 0.0, _softplus(d))
    return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
            + special.betaln(a, b + x + m) - special.betaln(a, b)
            - (r + x) * np.log(alpha + T) + extra)


def bg_family_loglik_grad(params, data: CustomerArrays, weights, m=0):
    """Weighted sum of :func:`bg_family_loglik` and its gradient in ``(r, alpha, a, b)``.

    Terms that depend on one column are evaluated once per distinct value of that column
    and gathered, so the cost follows the number of distinct values.
    """
    r, alpha, a, b = params
    xv, xi = data.distinct("frequency")
    tv, ti = data.distinct("recency")
    Tv, Ti = data.distinct("T")
    x = data["frequency"]

    # per distinct value
    lr_x = special.gammaln(r + xv)
    dg_rx = special.digamma(r + xv)
    bl_x = special.betaln(a, b + xv + m)
    dg_abx = special.digamma(a + b + xv + m)
    dg_bx = special.digamma(b + xv + m)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_bx1 = np.where((xv > 0) | (m == 1), np.log(b + xv + m - 1.0), 0.0)
        inv_bx1 = np.where((xv > 0) | (m == 1), 1.0 / (b + xv + m - 1.0), 0.0)
    log_aT, inv_aT = np.log(alpha + Tv), 1.0 / (alpha + Tv)
    log_at, inv_at = np.log(alpha + tv), 1.0 / (alpha + tv)

    # per row
    L1, L2 = log_aT[Ti], log_at[ti]
    rx = r + x
    d = np.log(a) - log_bx1[xi] + rx * (L1 - L2)
    has = (x > 0) if m == 0 else np.ones(len(x), dtype=bool)
    sp = np.where(has, _softplus(d), 0.0)
    sg = np.where(has, _sigmoid(d), 0.0)

    w = weights
    W = w.sum()
    wsg = w * sg
    wx = np.bincount(xi, weights=w, minlength=len(xv))        # weight per distinct x
    wsg_x = np.bincount(xi, weights=wsg, minlength=len(xv))   # sum w*sigma per distinct x

    total = (np.dot(wx, lr_x + bl_x) + W * (r * np.log(alpha) - special.gammaln(r)
                                           - special.betaln(a, b))
             - np.dot(w * rx, L1) + np.dot(w, sp))
    g_r = (np.dot(wx, dg_rx) + W * (np.log(alpha) - special.digamma(r))
           - np.dot(w, L1) + np.dot(wsg, L1 - L2))
    ia_T, ia_t = inv_aT[Ti], inv_at[ti]
    g_alpha = W * r / alpha - np.dot(w * rx, ia_T) + np.dot(wsg * rx, ia_T - ia_t)
    dg_ab = special.digamma(a + b)
    g_a = W * dg_ab - np.dot(wx, dg_abx) + wsg.sum() / a
    g_b = (np.dot(wx, dg_bx - dg_abx) + W * (dg_ab - special.digamma(b))
           - np.dot(wsg_x, inv_bx1))
    return float(total), np.array([g_r, g_alpha, g_a, g_b])


def bg_family_probability_alive(params, x, t_x, T, m=0):
    r"""P(alive at T | x, t_x, T): ``1 / (1 + e^D)``, 1 where the drop-out branch does not
    exist (BG/NBD customers without repeat purchase)."""
    return _sigmoid(-_dropout_log_odds(params, x, t_x, T, m))


def _one_minus_G(params, t, x, T, m):
    """``1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+m; a+b+x+m-1; t/(alpha+T+t))``."""
    r, alpha, a, b = params
    z = t / (alpha + T + t)
    log_g = (r + x) * np.log1p(-z) + log_hyp2f1(r + x, b + x + m, a + b + x + m - 1.0, z)
    return -np.expm1(log_g)


def bg_family_expected_purchases(params, t, x, t_x, T, m=0):
    r"""E[X(T, T+t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10; Batislam et al. 2007).

    .. math::
        \frac{a+b+x+m-1}{a-1}
        \left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
        {}_2F_1\!\left(r+x, b+x+m; a+b+x+m-1; \frac{t}{\alpha+T+t}\right)\right]
        P(\text{alive} \mid x, t_x, T)

    At ``a = 1`` both factors vanish; the limit is taken as the mean of the values at
    ``a = 1 -/+ 1e-7``.
    """
    r, alpha, a, b = params
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    if abs(a - 1.0) < 1e-7:
        lo = bg_family_expected_purchases((r, alpha, 1.0 - 1e-7, b), t, x, t_x, T, m)
        hi = bg_family_expected_purchases((r, alpha, 1.0 + 1e-7, b), t, x, t_x, T, m)
        return 0.5 * (lo + hi)
    with np.errstate(divide="ignore", invalid="ignore"):
        one_minus_g = _one_minus_G(params, t, x, T, m)
        out = ((a + b + x + m - 1.0) / (a - 1.0) * one_minus_g
               * bg_family_probability_alive(params, x, t_x, T, m))
    return np.where(t == 0, 0.0, out)


def bg_family_purchase_probability(params, n, t, x, t_x, T, m=0):
    r"""P(X(T, T+t] = n | x, t_x, T), exactly ``n`` purchases in the next ``t`` periods.

    With ``q = t / (alpha + T + t)`` and ``I_q`` the regularised incomplete beta function,
    the posterior-weighted individual probabilities integrate to

    .. math::
        \frac{1}{L}\Big[\frac{B(a, b+x+m+n)}{B(a,b)}
            \frac{\Gamma(r+x+n)}{\Gamma(r+x)\,n!}
            \frac{t^n}{(\alpha+T+t)^{r+x+n}}
          + 1_{n>0} \frac{B(a+1, b+x+m+n-1)}{B(a,b)} \frac{I_q(n, r+x)}{(\alpha+T)^{r+x}}
          + 1_{n=0} \frac{B(a+1, b+x+m-1)}{B(a,b)} \frac{1_{\text{drop}}}{(\alpha+t_x)^{r+x}}
        \Big]

    where ``L`` is the likelihood of the history without its ``Gamma(r+x) alpha^r /
    Gamma(r)`` factor. The first term is "alive and n purchases", the second "n
    purchases then drop-out", the third "already dropped out". At ``x = t_x = T = 0`` it
    is the new-customer probability (Fader, Hardie & Lee 2005, eq. 8).
    """
    r, alpha, a, b = params
    n = np.asarray(n, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    x = np.asarray(x, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    t_x = np.asarray(t_x, dtype=np.float64)
    bab = special.betaln(a, b)
    rx = r + x
    with np.errstate(divide="ignore", invalid="ignore"):
        log_alive = special.betaln(a, b + x + m) - bab - rx * np.log(alpha + T)
        has_drop = (x > 0) if m == 0 else np.ones_like(x, dtype=bool)
        log_dead = np.where(
            has_drop,
            special.betaln(a + 1.0, b + x + m - 1.0) - bab - rx * np.log(alpha + t_x),
            -np.inf)
        log_L = np.logaddexp(log_alive, log_dead)
        term_a = (special.betaln(a, b + x + m + n) - bab + special.gammaln(rx + n)
                  - special.gammaln(rx) - special.gammaln(n + 1.0)
                  + special.xlogy(n, t) - (rx + n) * np.log(alpha + T + t))
        q = t / (alpha + T + t)
        tail = special.betainc(np.maximum(n, 1.0), rx, q)
        term_b = np.where(
            n > 0,
            special.betaln(a + 1.0, b + x + m + n - 1.0) - bab - rx * np.log(alpha + T)
            + np.log(tail),
            -np.inf)
        term_c = np.where(n == 0, log_dead, -np.inf)
        log_p = np.logaddexp(np.logaddexp(term_a, term_b), term_c) - log_L
    return np.exp(log_p)


def bg_family_sample(params, T, rng, m=0):
    """Simulate ``(frequency, recency)`` at ages ``T``, with the latent rates, drop-out
    probabilities and alive flags."""
    r, alpha, a, b = params
    n = len(T)
    lam = rng.gamma(r, 1.0 / alpha, size=n)
    p = rng.beta(a, b, size=n)
    n_events = rng.poisson(lam * T)
    # number of purchases survived before dropping out (the first one counts for m=1)
    survived = rng.geometric(np.clip(p, 1e-300, 1.0)) - m
    k = np.minimum(n_events, survived)
    alive = survived > n_events
    # the k-th of n_events uniform times on (0, T) is T * Beta(k, n_events - k + 1)
    kk = np.maximum(k, 1)
    recency = np.where(k > 0, T * rng.beta(kk, n_events - kk + 1.0), 0.0)
    return {"frequency": k.astype(np.float64), "recency": recency, "T": T,
            "lambda_": lam, "dropout_p": p, "alive": alive}


# public names of the BG/NBD (m = 0)
def bgnbd_loglik(params, x, t_x, T):
    """Log-likelihood of each customer under the BG/NBD (Fader, Hardie & Lee 2005, eq. 6)."""
    return bg_family_loglik(params, x, t_x, T, 0)


def bgnbd_loglik_grad(params, data, weights):
    """Weighted log-likelihood of the BG/NBD and its gradient in ``(r, alpha, a, b)``."""
    return bg_family_loglik_grad(params, data, weights, 0)


def bgnbd_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T) under the BG/NBD (Fader, Hardie & Lee 2008, note 021)."""
    return bg_family_probability_alive(params, x, t_x, T, 0)


def bgnbd_expected_purchases(params, t, x, t_x, T):
    """E[X(T, T+t] | x, t_x, T] under the BG/NBD (Fader, Hardie & Lee 2005, eq. 10)."""
    return bg_family_expected_purchases(params, t, x, t_x, T, 0)


def bgnbd_purchase_probability(params, n, t, x, t_x, T):
    """P(X(T, T+t] = n | x, t_x, T) under the BG/NBD."""
    return bg_family_purchase_probability(params, n, t, x, t_x, T, 0)


def bgnbd_sample(params, T, rng):
    """Simulate BG/NBD customers of ages ``T``."""
    return bg_family_sample(params, T, rng, 0)


class _BGFamily(BaseTransactionModel):
    """Shared adapters of :class:`BetaGeo` and :class:`ModifiedBetaGeo`."""

    _m = 0
    _param_names = ("r", "alpha", "a", "b")
    _time_exponents = (0.0, 1.0, 0.0, 0.0)
    # in units of the median customer age (the fit rescales time so that it is 1)
    _start_grid = {"r": (0.25, 1.0), "alpha": (0.1, 1.0), "a": (0.5, 1.5),
                   "b": (1.0, 4.0)}

    def _loglik(self, params, data):
        return bg_family_loglik(params, data["frequency"], data["recency"], data["T"],
                                self._m)

    def _loglik_grad(self, params, data, weights):
        return bg_family_loglik_grad(params, data, weights, self._m)

    def _expected_purchases(self, params, t, x, t_x, T):
        return bg_family_expected_purchases(params, t, x, t_x, T, self._m)

    def _probability_alive(self, params, x, t_x, T):
        return bg_family_probability_alive(params, x, t_x, T, self._m)

    def _purchase_probability(self, params, n, t, x, t_x, T):
        return bg_family_purchase_probability(params, n, t, x, t_x, T, self._m)

    def _expected_purchases_new_customer(self, params, t):
        return bg_family_expected_purchases(params, t, 0.0, 0.0, 0.0, self._m)

    def _purchase_probability_new_customer(self, params, n, t):
        return bg_family_purchase_probability(params, n, t, 0.0, 0.0, 0.0, self._m)

    def _sample(self, params, T, rng):
        return bg_family_sample(params, T, rng, self._m)


class BetaGeo(_BGFamily):
    r"""BG/NBD model of repeat purchases (beta-geometric / negative binomial).

    Each customer buys at the times of a Poisson process of rate
    ``lambda ~ Gamma(r, alpha)`` and, after each repeat purchase, drops out for good with
    probability ``p ~ Beta(a, b)``. Fitted by maximum likelihood on the customer table
    (frequency ``x``, recency ``t_x``, age ``T``).

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
        Optimiser runs from the best points of a fixed grid of starting values.
    max_iter : int, default=1000
        Iteration limit of each L-BFGS-B run.
    tol : float, default=1e-7
        Tolerance on the projected gradient of the mean negative log-likelihood.
    random_state : int, RandomState instance or None, default=None
        Seeds extra starts and the subsample used to search for starts on large tables.

    Attributes
    ----------
    params_ : Series
        ``r``, ``alpha`` (in the table's time unit), ``a``, ``b``.
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
        ``mean_age`` of the training table (defaults of the plot matrices).
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    See Also
    --------
    ModifiedBetaGeo : customers may also drop out right after their first purchase.

    Notes
    -----
    The likelihood of a customer (Fader, Hardie & Lee 2005, eq. 6) is

    .. math::
        L = \frac{B(a, b+x)}{B(a,b)} \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
          + 1_{x>0}\frac{B(a+1, b+x-1)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}},

    evaluated in log space. ``expected_purchases`` is eq. 10, ``probability_alive`` is
    ``1 / (1 + 1_{x>0} a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x))`` (Fader, Hardie & Lee
    2008), ``expected_purchases_new_customer`` eq. 9 and
    ``purchase_probability_new_customer`` eq. 8.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the easy
    way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    equations 6-10.

    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) using the
    BG/NBD model", http://brucehardie.com/notes/021/.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> table = load_cdnow_summary()
    >>> model = BetaGeo().fit(table)
    >>> model.params_.round(3).to_dict()
    {'r': 0.243, 'alpha': 4.414, 'a': 0.793, 'b': 2.426}
    >>> round(model.loglik_, 2)
    -9582.43
    >>> model.expected_purchases(table.head(3), t=39).round(3).tolist()
    [1.228, 0.2, 0.101]
    """

    _m = 0
