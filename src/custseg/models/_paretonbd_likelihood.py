"""Pareto/NBD likelihood (Schmittlein, Morrison & Colombo 1987; Fader & Hardie 2005): the
hypergeometric terms, the log-likelihood with its analytic gradient, and P(alive).

With ``A = r + s + x``, ``m = min(alpha, beta)`` and ``M = max(alpha, beta)``, the
likelihood of Fader & Hardie (2005, eq. 18-20) is written here through the tail integral

.. math::
    F(t) = \\int_t^\\infty (\\alpha+\\tau)^{-(r+x)} (\\beta+\\tau)^{-(s+1)} d\\tau
         = \\frac{(\\alpha+t)^{-(r+x)} (\\beta+t)^{-(s+1)} (m+t)}{A}\\, S(p, A+1, z_t),

where ``z_t = |alpha - beta| / (M + t)``, ``S(p, q, z) = 2F1(1, p; q; z)`` and ``p = r + x``
when ``alpha >= beta``, ``p = s + 1`` otherwise. This is the note's
``2F1(A, b; A+1; z) / (M+t)^A / A`` after Euler's transformation (Abramowitz & Stegun
15.3.3), which turns the series into one of positive terms whose ratios stay below ``z``:
it cannot overflow, and converges geometrically for any frequency. Where ``z`` is close to
1 (parameters near their bounds) the series is slow, and ``log S`` is computed instead by
Gauss-Legendre quadrature of its (log-concave) integral representation on panels placed at
level sets of the integrand. Both routes also return the derivatives of ``log S``, which
give the analytic gradient of the log-likelihood.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import special

from ._mle import CustomerArrays
from ._special import (
    _FLOOR,
    _QUAD_CHUNK,
    _expit,
    _log_concave_rule,
    _logsumexp_rows,
    _softplus,
)

__all__ = [
    "log_s",
    "paretonbd_loglik",
    "paretonbd_loglik_grad",
    "paretonbd_probability_alive",
]

#: Terms of the series of ``S`` tried before switching to quadrature.
SERIES_TERMS = 400
#: Relative truncation error of the series.
_SERIES_EPS = 1e-17


# ---------------------------------------------------------------------------------------
# S(p, q, z) = 2F1(1, p; q; z) for 0 < p < q, 0 <= z < 1, with derivatives of its log
# ---------------------------------------------------------------------------------------

def _log_s_series(p, q, z, max_terms=SERIES_TERMS):
    """``log S`` and ``d log S / d(p, q, z)`` by the Gauss series; ``done`` flags the
    entries that converged within ``max_terms`` terms.

    The terms ``t_k = (p)_k / (q)_k z^k`` are positive and their ratios
    ``z (p + k) / (q + k)`` increase towards ``z``, so the remainder after ``t_k`` is at
    most ``t_k z / (1 - z)``. The loop runs over terms (not customers) on the entries that
    have not converged yet.
    """
    n = p.size
    S, dp, dq, dz = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    done = np.zeros(n, dtype=bool)
    idx = np.arange(n)
    pa, qa, za = p.astype(np.float64), q.astype(np.float64), z.astype(np.float64)
    tol = _SERIES_EPS * (1.0 - za)
    term, hp, hq = np.ones(n), np.zeros(n), np.zeros(n)   # hp = sum_{j<k} 1/(p+j)
    s_, sp_, sq_, sz_ = np.ones(n), np.zeros(n), np.zeros(n), np.zeros(n)
    fresh = np.ones(n, dtype=bool)                           # active and not yet recorded
    pk, qk, u, tmp = (np.empty(n) for _ in range(4))
    for k in range(max_terms):
        np.add(pa, k, out=pk)
        np.add(qa, k, out=qk)
        np.multiply(term, pk, out=u)
        np.divide(u, qk, out=u)                # t_{k+1} / z
        np.reciprocal(pk, out=pk)
        np.add(hp, pk, out=hp)
        np.reciprocal(qk, out=qk)
        np.add(hq, qk, out=hq)
        np.multiply(u, za, out=term)
        np.add(s_, term, out=s_)
        np.multiply(term, hp, out=tmp)
        np.add(sp_, tmp, out=sp_)
        np.multiply(term, hq, out=tmp)
        np.add(sq_, tmp, out=sq_)
        np.multiply(u, k + 1.0, out=tmp)
        np.add(sz_, tmp, out=sz_)
        if k % 4 != 3 and k != max_terms - 1:
            continue
        fin = fresh & (term * (k + 2.0) <= tol * s_)
        if fin.any():
            i = idx[fin]
            S[i], dp[i], dq[i], dz[i] = s_[fin], sp_[fin], sq_[fin], sz_[fin]
            done[i] = True
            fresh &= ~fin
            if not fresh.any():
                break
            if fresh.sum() < 0.75 * len(fresh):   # compact the working arrays
                keep = fresh
                idx, pa, qa, za, tol = idx[keep], pa[keep], qa[keep], za[keep], tol[keep]
                term, hp, hq = term[keep], hp[keep], hq[keep]
                s_, sp_, sq_, sz_ = s_[keep], sp_[keep], sq_[keep], sz_[keep]
                m = len(idx)
                fresh = np.ones(m, dtype=bool)
                pk, qk, u, tmp = (np.empty(m) for _ in range(4))
    return np.log(S), dp / S, -dq / S, dz / S, done


def _log_s_quad(p, q, z, eps):
    """``log S`` and its derivatives by quadrature, for ``z`` close to 1.

    With ``L = log(z / eps)`` (``eps = 1 - z``, passed separately to keep its precision),

    .. math::
        S = (q-1) \\left(\\frac{\\varepsilon}{z}\\right)^{q-1} \\varepsilon^{-p}
            \\int_{-\\infty}^{L} e^{(q-1)\\ell} (1 + e^{\\ell})^{-p} d\\ell,

    which follows from Euler's integral for ``2F1(p, 1; q; z)`` with
    ``1 - v = (eps/z) e^l``-type substitution; the integrand is log-concave.
    """
    out = [np.empty(p.size) for _ in range(4)]
    for start in range(0, p.size, _QUAD_CHUNK):
        sl = slice(start, start + _QUAD_CHUNK)
        res = _log_s_quad_chunk(p[sl], q[sl], z[sl], eps[sl])
        for o, r in zip(out, res):
            o[sl] = r
    return tuple(out)


def _log_s_quad_chunk(p, q, z, eps):
    P, Q = p[:, None], q[:, None]
    L = np.log(z) - np.log(eps)

    def h(u):
        return (Q - 1.0) * u - P * _softplus(u)

    def dh(u):
        return (Q - 1.0) - P * _expit(u)

    # (1 + e^u)^-p departs from its asymptotes by p e^-|u|: bends over |u| < log p + 36
    big = np.log(np.maximum(p, 1.0)) + 36.0
    nodes, logw = _log_concave_rule(h, dh, np.full(p.size, -np.inf), L, -big, big)
    lv = logw + h(nodes)
    lphi = _logsumexp_rows(lv)
    w = np.exp(np.maximum(lv - lphi[:, None], _FLOOR))
    e_sp = np.sum(w * _softplus(nodes), axis=1)
    e_u = np.sum(w * nodes, axis=1)
    hL = (q - 1.0) * L - p * _softplus(L)
    log_eps_z = np.log(eps) - np.log(z)
    log_s = np.log(q - 1.0) + (q - 1.0) * log_eps_z - p * np.log(eps) + lphi
    d_p = -np.log(eps) - e_sp
    d_q = 1.0 / (q - 1.0) + log_eps_z + e_u
    d_z = (p * z - (q - 1.0) + np.exp(hL - lphi)) / (z * eps)
    return log_s, d_p, d_q, d_z


def log_s(p, q, z, eps=None):
    """``log 2F1(1, p; q; z)`` and its partial derivatives in ``p``, ``q`` and ``z``.

    Parameters
    ----------
    p, q : ndarray
        ``0 < p < q`` and ``q > 1``.
    z : ndarray
        ``0 <= z < 1``.
    eps : ndarray or None
        ``1 - z`` computed without cancellation, when the caller has it.

    Returns
    -------
    log_s, d_p, d_q, d_z : ndarray
    """
    p, q, z = (np.asarray(v, dtype=np.float64).ravel() for v in np.broadcast_arrays(p, q, z))
    eps = 1.0 - z if eps is None else np.broadcast_to(np.asarray(eps, float), z.shape).ravel()
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        # skip the series where its last allowed term is still not negligible
        k = float(SERIES_TERMS)
        with np.errstate(divide="ignore"):
            log_last = (special.gammaln(p + k) - special.gammaln(p) - special.gammaln(q + k)
                        + special.gammaln(q) + k * np.log(z))
        slow = log_last - np.log1p(-z) > -36.0
        ls, d_p, d_q, d_z = (np.empty(p.size) for _ in range(4))
        done = ~slow
        if done.any():
            i = np.flatnonzero(done)
            ls[i], d_p[i], d_q[i], d_z[i], done[i] = _log_s_series(p[i], q[i], z[i])
        if not done.all():
            i = np.flatnonzero(~done)
            ls[i], d_p[i], d_q[i], d_z[i] = _log_s_quad(p[i], q[i], z[i], eps[i])
    return ls, d_p, d_q, d_z


# ---------------------------------------------------------------------------------------
# Log-likelihood and gradient
# ---------------------------------------------------------------------------------------

def _codes(values, data=None, name=None):
    """Distinct values and codes of a column (cached by ``data`` during a fit)."""
    if data is not None:
        return data.distinct(name)
    codes, uniques = pd.factorize(np.asarray(values, dtype=np.float64), sort=False)
    return np.asarray(uniques, dtype=np.float64), codes.astype(np.int64, copy=False)


def _pair_log_s(params, xv, xi, tv_list, ti_list):
    """``log S`` and its derivatives at each pair ``(x, t)`` of the rows, one evaluation
    per distinct pair. ``tv_list``/``ti_list`` hold the distinct values and codes of the
    time columns (recency, T); returns one tuple of arrays per time column."""
    r, alpha, s, beta = params
    ge = alpha >= beta
    m, M = min(alpha, beta), max(alpha, beta)
    offsets = np.cumsum([0] + [len(v) for v in tv_list])
    n_t = int(offsets[-1])
    keys = np.concatenate([xi * n_t + off + ti for off, ti in zip(offsets[:-1], ti_list)])
    kcodes, kuniq = pd.factorize(keys, sort=False)
    kuniq = np.asarray(kuniq)
    ux = xv[kuniq // n_t]
    ut = np.concatenate(tv_list)[kuniq % n_t]
    p = (r + ux) if ge else np.full(ux.shape, s + 1.0)
    q = r + s + ux + 1.0
    z = abs(alpha - beta) / (M + ut)
    eps = (m + ut) / (M + ut)
    ls, d_p, d_q, d_z = log_s(p, q, z, eps)
    if ge:  # z = (alpha - beta) / (alpha + t)
        dz_a, dz_b = (beta + ut) / (alpha + ut) ** 2, -1.0 / (alpha + ut)
    else:   # z = (beta - alpha) / (beta + t)
        dz_a, dz_b = -1.0 / (beta + ut), (alpha + ut) / (beta + ut) ** 2
    d_r = d_q + (d_p if ge else 0.0)
    d_s = d_q + (0.0 if ge else d_p)
    per_pair = (ls, d_r, d_z * dz_a, d_s, d_z * dz_b)
    out = []
    n = len(xi)
    for j in range(len(tv_list)):
        sel = kcodes[j * n:(j + 1) * n]
        out.append(tuple(v[sel] for v in per_pair))
    return out


def _log_ratio(num, den, diff):
    """``log(num / den)`` given ``diff = num - den``: ``log1p`` when the ratio is near 1,
    a difference of logarithms otherwise (each accurate to rounding)."""
    with np.errstate(divide="ignore"):
        near = np.abs(diff) < 0.5 * den
        return np.where(near, np.log1p(np.where(near, diff / den, 0.0)),
                        np.log(num) - np.log(den))


def _loglik_parts(params, x, t_x, T, grad=False, data=None):
    """Per-row log-likelihood pieces (and their gradients) shared by the likelihood, its
    gradient and ``P(alive)``."""
    r, alpha, s, beta = (float(v) for v in params)
    x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, t_x, T)))
    shape = x.shape
    x, t_x, T = x.ravel(), t_x.ravel(), T.ravel()
    ge = alpha >= beta
    m = min(alpha, beta)
    xv, xi = _codes(x, data, "frequency")
    tv, ti = _codes(t_x, data, "recency")
    Tv, Ti = _codes(T, data, "T")
    (ls_t, dr_t, da_t, ds_t, db_t), (ls_T, dr_T, da_T, ds_T, db_T) = _pair_log_s(
        (r, alpha, s, beta), xv, xi, [tv, Tv], [ti, Ti])

    # terms of one column, once per distinct value
    lbt, lmt = np.log(beta + tv)[ti], np.log(m + tv)[ti]
    laT, lbT, lmT = np.log(alpha + Tv)[Ti], np.log(beta + Tv)[Ti], np.log(m + Tv)[Ti]
    rx = r + x
    A = r + s + x
    lA = np.log(A)
    log_s_ = np.log(s)
    C = special.gammaln(r + xv)[xi] - special.gammaln(r) + r * np.log(alpha) + s * np.log(beta)
    a1 = -rx * laT - s * lbT
    lrho = log_s_ + lmT + ls_T - lbT - lA
    # delta = log(s F(t_x)) - a1, with the ratios (alpha+t_x)/(alpha+T) taken by log1p
    lr_a = _log_ratio(alpha + t_x, alpha + T, t_x - T)
    lr_b = _log_ratio(beta + t_x, beta + T, t_x - T)
    delta = log_s_ - rx * lr_a - s * lr_b - lbt + lmt + ls_t - lA
    with np.errstate(divide="ignore", invalid="ignore"):
        B = -np.expm1(np.minimum(lrho, 0.0))
        lsum = np.logaddexp(np.log(B), delta)  # log(L / first term), >= 0
    lsum = np.maximum(lsum, 0.0)
    out = {"ll": (C + a1 + lsum).reshape(shape), "log_alive": (-lsum).reshape(shape)}
    if not grad:
        return out
    v1 = np.exp(-lsum)
    w2 = np.exp(delta - lsum)
    rho = np.exp(lrho)
    inv_A = 1.0 / A
    it_a, it_b = 1.0 / (alpha + tv)[ti], 1.0 / (beta + tv)[ti]
    iT_a, iT_b = 1.0 / (alpha + Tv)[Ti], 1.0 / (beta + Tv)[Ti]
    g_ge, g_lt = float(ge), float(not ge)
    dC = (special.digamma(r + xv)[xi] - special.digamma(r) + np.log(alpha), r / alpha,
          np.log(beta), s / beta)
    da1 = (-laT, -rx * iT_a, -lbT, -s * iT_b)
    dlrho = (dr_T - inv_A, g_lt * iT_a + da_T, 1.0 / s + ds_T - inv_A,
             (g_ge - 1.0) * iT_b + db_T)
    # derivatives of delta = a2 - a1, a2 = log(s F(t_x))
    ddelta = (-lr_a + dr_t - inv_A,
              (g_lt - rx) * it_a + rx * iT_a + da_t,
              1.0 / s - lr_b + ds_t - inv_A,
              (g_ge - s - 1.0) * it_b + s * iT_b + db_t)
    dll = np.empty((len(x), 4))
    for k in range(4):
        dll[:, k] = dC[k] + da1[k] - v1 * rho * dlrho[k] + w2 * ddelta[k]
    out["dll"] = dll
    return out


def paretonbd_loglik(params, x, t_x, T):
    r"""Log-likelihood of each customer under the Pareto/NBD.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    x, t_x, T : array-like
        Frequency (repeat purchases), recency and age, broadcast together.

    Returns
    -------
    ndarray

    Notes
    -----
    Fader & Hardie (2005), eq. 18-20:

    .. math::
        L = \frac{\Gamma(r+x)\alpha^r\beta^s}{\Gamma(r)}\left[
            \frac{1}{(\alpha+T)^{r+x}(\beta+T)^s} + \frac{s}{r+s+x} A_0\right],
        \qquad \frac{A_0}{r+s+x} = F(t_x) - F(T),

    with the tail integral ``F`` of the module docstring. The sum is evaluated as
    ``(alpha+T)^-(r+x) (beta+T)^-s (1 - rho_T) + s F(t_x)`` with
    ``rho_T = s F(T) (alpha+T)^(r+x) (beta+T)^s < 1``, in log space.

    Examples
    --------
    >>> import numpy as np
    >>> ll = paretonbd_loglik((0.55, 10.58, 0.61, 11.67), [0, 2, 10], [0.0, 30.4, 38.0],
    ...                       [38.9, 38.9, 38.9])
    >>> bool(np.all(np.isfinite(ll)) and np.all(ll < 0))
    True
    """
    return _loglik_parts(params, x, t_x, T)["ll"]


def paretonbd_loglik_grad(params, data: CustomerArrays, weights):
    """Weighted sum of :func:`paretonbd_loglik` over the rows of ``data`` and its
    analytic gradient with respect to ``(r, alpha, s, beta)``.

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    data : CustomerArrays
        Columns ``frequency``, ``recency`` and ``T`` (distinct rows during a fit).
    weights : ndarray
        Weight (count of customers) of each row.

    Returns
    -------
    total : float
        ``sum(weights * loglik)``.
    grad : ndarray of shape (4,)
        Its derivatives with respect to ``r``, ``alpha``, ``s``, ``beta``.

    Notes
    -----
    The derivatives of ``log 2F1(1, p; q; z)`` in ``p``, ``q`` and ``z`` are accumulated
    with the series (sums of ``t_k H_k``), or carried through the quadrature, so both
    routes give value and gradient together. The hypergeometric terms are evaluated once
    per distinct ``(frequency, t)`` pair and the one-column terms once per distinct value
    of their column.
    """
    parts = _loglik_parts(params, data["frequency"], data["recency"], data["T"], grad=True,
                          data=data)
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(w, parts["ll"])), w @ parts["dll"]


def paretonbd_probability_alive(params, x, t_x, T):
    r"""P(alive at T | x, t_x, T) (Fader & Hardie 2005, eq. 11).

    Parameters
    ----------
    params : sequence of float
        ``(r, alpha, s, beta)``.
    x, t_x, T : array-like
        Frequency, recency and age, broadcast together.

    Returns
    -------
    ndarray

    Notes
    -----
    .. math::
        P(\text{alive}) = \frac{\Gamma(r+x)\alpha^r\beta^s}
            {\Gamma(r)(\alpha+T)^{r+x}(\beta+T)^s\, L(r, \alpha, s, \beta \mid x, t_x, T)}

    References
    ----------
    Fader, P. S. and Hardie, B. G. S. (2005), "A note on deriving the Pareto/NBD model and
    related expressions", eq. 11.

    Examples
    --------
    >>> p = paretonbd_probability_alive((0.55, 10.58, 0.61, 11.67), [0, 5], [0.0, 2.0],
    ...                                 [38.9, 38.9])
    >>> [round(float(v), 3) for v in p]
    [0.294, 0.002]
    """
    return np.exp(_loglik_parts(params, x, t_x, T)["log_alive"])

