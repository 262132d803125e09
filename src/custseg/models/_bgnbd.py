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

from ._base import BaseTransactionModel
from ._mle import CustomerArrays, compress_rows, dot1d
from ._special import log_beta_expected_count, log_hyp2f1

__all__ = [
    "BetaGeo",
    "bgnbd_loglik",
    "bgnbd_loglik_grad",
    "bgnbd_loglik_hess",
    "bgnbd_probability_alive",
    "bgnbd_expected_purchases",
    "bgnbd_purchase_probability",
    "bgnbd_sample",
]


def _softplus(z):
    return np.maximum(z, 0.0) + np.log1p(np.exp(-np.abs(z)))


def _dropout_log_odds(params, x, t_x, T, m):
    """``D = log(a / (b + x + m - 1)) + (r + x) log((alpha + T) / (alpha + t_x))``: the log
    ratio of the likelihood of "dropped out after the last purchase" to "alive at T"; -inf
    where the drop-out branch does not exist (BG/NBD with x = 0)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = (np.log(a) - np.log(b + x + m - 1.0)
             + (r + x) * np.log((alpha + T) / (alpha + t_x)))
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


def _bg_prepare(data: CustomerArrays, weights, m):
    """Parameter-free structures of a fit: rows with a drop-out branch and the sums of
    weights per distinct value of each column."""
    def build():
        xv, xi = data.distinct("frequency")
        tv, ti = data.distinct("recency")
        Tv, Ti = data.distinct("T")
        x = data["frequency"]
        w = weights
        rows = np.flatnonzero(x > 0) if m == 0 else np.arange(len(x))
        return {
            "xv": xv, "tv": tv, "Tv": Tv,
            "W": float(w.sum()),
            "W_x": np.bincount(xi, weights=w, minlength=len(xv)),
            "W_T": np.bincount(Ti, weights=w, minlength=len(Tv)),
            "WX_T": np.bincount(Ti, weights=w * x, minlength=len(Tv)),
            "xi": xi[rows], "ti": ti[rows], "Ti": Ti[rows], "x": x[rows], "w": w[rows],
        }
    return data.cached(("bg-family", m), weights, build)


def bg_family_loglik_grad(params, data: CustomerArrays, weights, m=0, hessian=False):
    """Weighted sum of :func:`bg_family_loglik`, its gradient in ``(r, alpha, a, b)`` and,
    with ``hessian=True``, its Hessian.

    Terms that depend on one column are evaluated once per distinct value of that column
    (sums over rows become weighted sums over distinct values); only the drop-out term
    ``log(1 + e^D)`` is evaluated per row, and only on rows that have it.
    """
    r, alpha, a, b = params
    P = _bg_prepare(data, weights, m)
    xv, Tv, tv, W = P["xv"], P["Tv"], P["tv"], P["W"]
    W_x, W_T, WX_T = P["W_x"], P["W_T"], P["WX_T"]
    xi, ti, Ti, x, w = P["xi"], P["ti"], P["Ti"], P["x"], P["w"]

    # per distinct value
    log_aT, h1v = np.log(alpha + Tv), 1.0 / (alpha + Tv)
    log_at, h2v = np.log(alpha + tv), 1.0 / (alpha + tv)
    bxm = b + xv + m
    with np.errstate(divide="ignore", invalid="ignore"):
        qv = np.where(bxm - 1.0 > 0, 1.0 / (bxm - 1.0), 0.0)  # 1 / (b + x + m - 1)
        cv = np.log(a) + np.log(qv)
    RT = r * W_T + WX_T  # sum over rows of w * (r + x), per distinct T

    # per row with a drop-out branch
    g = log_aT[Ti] - log_at[ti]
    rx = r + x
    D = cv[xi] + rx * g
    e = np.exp(-np.abs(D))
    sp = np.maximum(D, 0.0) + np.log(1.0 + e)  # log1p is much slower here
    sg = np.where(D >= 0, 1.0, e) / (1.0 + e)
    ws = w * sg
    k = h1v[Ti] - h2v[ti]
    ws_x = np.bincount(xi, weights=ws, minlength=len(xv))
    sum_ws = ws_x.sum()

    log_alpha = np.log(alpha)
    total = (dot1d(W_x, special.gammaln(r + xv) + special.betaln(a, bxm))
             + W * (r * log_alpha - special.gammaln(r) - special.betaln(a, b))
             - dot1d(RT, log_aT) + dot1d(w, sp))
    dg_abx = special.digamma(a + bxm)
    dg_ab = special.digamma(a + b)
    wsrx = ws * rx
    grad = np.array([
        dot1d(W_x, special.digamma(r + xv)) + W * (log_alpha - special.digamma(r))
        - dot1d(W_T, log_aT) + dot1d(ws, g),
        W * r / alpha - dot1d(RT, h1v) + dot1d(wsrx, k),
        W * dg_ab - dot1d(W_x, dg_abx) + sum_ws / a,
        dot1d(W_x, special.digamma(bxm) - dg_abx) + W * (dg_ab - special.digamma(b))
        - dot1d(ws_x, qv),
    ])
    if not hessian:
        return float(total), grad

    # second derivatives: separable terms, then log(1 + e^D) = softplus(D) with
    # d2 softplus = sigma * d2D + sigma (1 - sigma) dD dD'
    tg_abx = special.polygamma(1, a + bxm)
    tg_ab = special.polygamma(1, a + b)
    H = np.zeros((4, 4))
    H[0, 0] = dot1d(W_x, special.polygamma(1, r + xv)) - W * special.polygamma(1, r)
    H[0, 1] = W / alpha - dot1d(W_T, h1v)
    H[1, 1] = -W * r / alpha**2 + dot1d(RT, h1v**2)
    H[2, 2] = W * tg_ab - dot1d(W_x, tg_abx)
    H[2, 3] = W * tg_ab - dot1d(W_x, tg_abx)
    H[3, 3] = dot1d(W_x, special.polygamma(1, bxm) - tg_abx) + W * (
        tg_ab - special.polygamma(1, b))
    ws2 = ws * (1.0 - sg)
    dr, dal = g, rx * k  # dD/dr, dD/dalpha; dD/da = 1/a, dD/db = -q(x)
    ws2_x = np.bincount(xi, weights=ws2, minlength=len(xv))
    ws2dr_x = np.bincount(xi, weights=ws2 * dr, minlength=len(xv))
    ws2dal_x = np.bincount(xi, weights=ws2 * dal, minlength=len(xv))
    sum_ws2 = ws2_x.sum()
    H[0, 0] += dot1d(ws2 * dr, dr)
    H[0, 1] += dot1d(ws, k) + dot1d(ws2 * dr, dal)
    H[0, 2] += ws2dr_x.sum() / a
    H[0, 3] += -dot1d(ws2dr_x, qv)
    H[1, 1] += -dot1d(wsrx, h1v[Ti] ** 2 - h2v[ti] ** 2) + dot1d(ws2 * dal, dal)
    H[1, 2] += ws2dal_x.sum() / a
    H[1, 3] += -dot1d(ws2dal_x, qv)
    H[2, 2] += (sum_ws2 - sum_ws) / a**2
    H[2, 3] += -dot1d(ws2_x, qv) / a
    H[3, 3] += dot1d(ws_x + ws2_x, qv**2)
    H = np.triu(H) + np.triu(H, 1).T
    return float(total), grad, H


def bg_family_probability_alive(params, x, t_x, T, m=0):
    r"""P(alive at T | x, t_x, T): ``1 / (1 + e^D)``, 1 where the drop-out branch does not
    exist (BG/NBD customers without repeat purchase)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(_dropout_log_odds(params, x, t_x, T, m)))


def _one_minus_G(params, t, x, T, m):
    """``1 - ((alpha+T)/(alpha+T+t))^(r+x) 2F1(r+x, b+x+m; a+b+x+m-1; t/(alpha+T+t))``.

    The parameters may be arrays broadcasting against the customer columns (draws on a
    leading axis, customers on the last one). For large 1-d customer columns, 2F1 (the
    costly part) is evaluated once per distinct ``(x, T)`` pair, for every draw.
    """
    r, alpha, a, b = params
    x, T, t = np.broadcast_arrays(np.asarray(x, dtype=np.float64),
                                  np.asarray(T, dtype=np.float64),
                                  np.asarray(t, dtype=np.float64))
    if x.ndim == 1 and x.size * np.size(r) > 2048 and np.all(t == t.flat[0]):
        (xd, Td), _, inverse = compress_rows([x, T])
        if len(xd) < 0.5 * x.size:
            return _one_minus_G(params, t.flat[0], xd, Td, m)[..., inverse]
    z = t / (alpha + T + t)
    A, B, C = r + x, b + x + m, a + b + x + m - 1.0
    A, B, C, z = np.broadcast_arrays(A, B, C, z)
    with np.errstate(all="ignore"):
        log_scale = A * np.log1p(-z)
        value = special.hyp2f1(A, B, C, z)
        g = np.exp(log_scale) * value
        # large histories: (1 - z)^(r+x) underflows while 2F1 overflows; work in logs
        bad = ~np.isfinite(g) | ~np.isfinite(value) | (log_scale < -700.0)
        if np.any(bad):
            g = np.array(g, dtype=np.float64, copy=True)
            g[bad] = np.exp(log_scale[bad] + log_hyp2f1(A[bad], B[bad], C[bad], z[bad]))
    return 1.0 - g


def bg_family_expected_purchases(params, t, x, t_x, T, m=0):
    r"""E[X(T, T+t] | x, t_x, T] (Fader, Hardie & Lee 2005, eq. 10; Batislam et al. 2007).

    .. math::
        \frac{a+b+x+m-1}{a-1}
        \left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
        {}_2F_1\!\left(r+x, b+x+m; a+b+x+m-1; \frac{t}{\alpha+T+t}\right)\right]
        P(\text{alive} \mid x, t_x, T)

    At ``a = 1`` both factors vanish; the limit is taken as the mean of the values at
    ``a = 1 -/+ 1e-6`` (for ``|a - 1| < 1e-7``, elementwise).

    ``params`` may hold arrays that broadcast against the customer columns, for example
    parameter draws of shape ``(n_draws, 1)`` against columns of shape ``(n,)``, which
    gives an ``(n_draws, n)`` result.
    """
    r, alpha, a, b = params
    a = np.asarray(a, dtype=np.float64)
    near = np.abs(a - 1.0) < 1e-7
    if np.any(near):
        lo = _expected_purchases_off_one(
            (r, alpha, np.where(near, 1.0 - 1e-6, a), b), t, x, t_x, T, m)
        hi = _expected_purchases_off_one(
            (r, alpha, np.where(near, 1.0 + 1e-6, a), b), t, x, t_x, T, m)
        return np.where(near, 0.5 * (lo + hi), lo)
    return _expected_purchases_off_one(params, t, x, t_x, T, m)


def _expected_purchases_off_one(params, t, x, t_x, T, m):
    """:func:`bg_family_expected_purchases` where no ``a`` is within 1e-7 of 1."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    T = np.asarray(T, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        one_minus_g = _one_minus_G(params, t, x, T, m)
        alive = bg_family_probability_alive(params, x, t_x, T, m)
        c = a + b + x + m - 1.0
        out = c / (a - 1.0) * one_minus_g * alive
    # Where c <= 0 the 2F1 above is negative or undefined (a + b < 1, BG/NBD customers
    # without repeat purchase) and where the closed form is not a finite non-negative
    # number it has lost its accuracy: there the expectation is integrated directly.
    shape = np.broadcast_shapes(np.shape(out), np.shape(r), np.shape(alpha), np.shape(a),
                                np.shape(b), np.shape(t), np.shape(x), np.shape(T))
    out = np.array(np.broadcast_to(out, shape), dtype=np.float64)
    redo = (np.broadcast_to(c, shape) <= 0) | ~(out >= 0) | ~np.isfinite(out)
    redo &= np.broadcast_to(t, shape) > 0
    if np.any(redo):
        A, aa, bb, s, p_alive = (np.broadcast_to(v, shape)[redo] for v in (
            r + x, a, b + x + m, t / (alpha + T), alive))
        out[redo] = np.exp(log_beta_expected_count(A, aa, bb, s)) * p_alive
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
    recency = np.where(k > 0, T * rng.beta(kk, np.maximum(n_events - kk + 1.0, 1.0)), 0.0)
    return {"frequency": k.astype(np.float64), "recency": recency, "T": T,
            "lambda_": lam, "dropout_p": p, "alive": alive}


# public names of the BG/NBD (m = 0)
def bgnbd_loglik(params, x, t_x, T):
    """Log-likelihood of each customer under the BG/NBD (Fader, Hardie & Lee 2005, eq. 6)."""
    return bg_family_loglik(params, x, t_x, T, 0)


def bgnbd_loglik_grad(params, data, weights):
    """Weighted log-likelihood of the BG/NBD and its gradient in ``(r, alpha, a, b)``."""
    return bg_family_loglik_grad(params, data, weights, 0)


def bgnbd_loglik_hess(params, data, weights):
    """Weighted log-likelihood of the BG/NBD, its gradient and Hessian."""
    return bg_family_loglik_grad(params, data, weights, 0, hessian=True)


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
    _broadcasts_params = True
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

    def _loglik_hess(self, params, data, weights):
        return bg_family_loglik_grad(params, data, weights, self._m, hessian=True)

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
        Covariance matrix of the estimates (delta method,
        ``diag(params_) @ covariance_log_ @ diag(params_)``).
    covariance_log_ : DataFrame
        Covariance matrix of the log-parameters, the space the optimiser works in: the
        inverse observed information (the Hessian of the total negative
        log-likelihood, penalised when ``penalizer > 0``, in ``log(params_)``). The
        asymptotic law of the estimates is log-normal with this covariance; ``inf`` rows
        and columns for parameters the data do not identify.
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
    [1.226, 0.203, 0.195]
    """

    _m = 0
