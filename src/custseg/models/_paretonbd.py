"""Pareto/NBD model (Schmittlein, Morrison & Colombo 1987): likelihood, predictions and the
estimator.

Each customer buys at the times of a Poisson process of rate ``lambda ~ Gamma(r, alpha)``
while alive, and dies at an exponential time of rate ``mu ~ Gamma(s, beta)``; both
``alpha`` and ``beta`` are rates in the table's time unit. All parameters are
``params = (r, alpha, s, beta)``.

Numerics
--------
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

from ._base import BaseTransactionModel, CustomerArrays, compress_rows

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

#: Terms of the series of ``S`` tried before switching to quadrature.
SERIES_TERMS = 400
#: Relative truncation error of the series.
_SERIES_EPS = 1e-17
#: Gauss-Legendre nodes per panel of the quadrature.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)
#: Drops of the log-integrand (below its maximum) at which panels are cut.
_LEVELS = np.array([2.0, 8.0, 18.0, 32.0, 50.0])
#: Rows evaluated at once by the quadrature (bounds memory: rows x nodes).
_QUAD_CHUNK = 4096


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


#: Exponents below this are treated as this: exp() of it is still a normal float (values
#: in the subnormal range are slow to compute with and negligible here).
_FLOOR = -600.0


def _softplus(u):
    """``log(1 + e^u)`` without subnormal intermediates."""
    return np.logaddexp(0.0, np.maximum(u, _FLOOR))


def _expit(u):
    return special.expit(np.maximum(u, _FLOOR))


def _logsumexp_rows(a):
    """``log(sum(exp(a), axis=1))`` for rows holding at least one finite value."""
    top = np.max(a, axis=1)
    return top + np.log(np.sum(np.exp(np.maximum(a - top[:, None], _FLOOR)), axis=1))


def _gl_panels(knots):
    """Nodes and log-weights of composite Gauss-Legendre rules on the panels between
    sorted ``knots`` (shape (m, K)); empty panels are dropped (padded with weight 0)."""
    a, b = knots[:, :-1], knots[:, 1:]
    empty = ~(b > a)
    order = np.argsort(empty, axis=1, kind="stable")  # non-empty panels first
    n_keep = max(int((~empty).sum(axis=1).max()), 1)
    order = order[:, :n_keep]
    a = np.take_along_axis(a, order, axis=1)[:, :, None]
    b = np.take_along_axis(b, order, axis=1)[:, :, None]
    half = 0.5 * (b - a)
    nodes = (a + half * (_GL_NODES + 1.0)).reshape(len(knots), -1)
    with np.errstate(divide="ignore"):
        logw = (np.log(half) + np.log(_GL_WEIGHTS)).reshape(len(knots), -1)
    return nodes, logw


def _bisect(fun, lo, hi, n_iter):
    """Vectorised bisection for the sign change of ``fun`` (positive at ``lo``)."""
    for _ in range(n_iter):
        mid = 0.5 * (lo + hi)
        pos = fun(mid) > 0
        lo = np.where(pos, mid, lo)
        hi = np.where(pos, hi, mid)
    return 0.5 * (lo + hi)


def _log_concave_rule(h, dh, lo, hi, knee_lo, knee_hi, n_grid=8, n_newton=6):
    """Quadrature rule for ``int_lo^hi exp(h(u)) du`` where ``h`` is concave.

    ``lo`` is finite or ``-inf`` (then ``h`` must increase far to the left). The mode is
    found by bisection on ``dh``; the range is cut where ``h`` has dropped by each of
    ``_LEVELS`` below the mode on either side (so that each panel sees a bounded drop),
    and on a uniform grid of ``n_grid`` points over ``[knee_lo, knee_hi]``, where ``h``
    bends. ``h`` and ``dh`` take arrays of shape (m, k). Returns nodes and log-weights of
    shape (m, n_nodes): the integral is ``sum(exp(logw + h(nodes)))``.
    """
    m = len(hi)

    def h1(u):
        return h(u[:, None])[:, 0]

    def dh1(u):
        return dh(u[:, None])[:, 0]

    finite_lo = np.isfinite(lo)
    # a point left of the mode (dh > 0), walking left with doubling steps
    left = np.where(finite_lo, lo, hi - 1.0)
    step = np.ones(m)
    for _ in range(90):
        bad = (dh1(left) <= 0) & ~finite_lo
        if not bad.any():
            break
        left = np.where(bad, left - step, left)
        step = np.where(bad, 2.0 * step, step)
    inc_hi = dh1(hi) >= 0
    dec_left = dh1(left) <= 0
    mode = _bisect(dh1, left, hi, 48)
    mode = np.where(inc_hi, hi, np.where(dec_left, left, mode))
    h_mode = h1(mode)

    # left end of the range: lo, or where h has dropped well below the last level
    width = np.ones(m)
    for _ in range(90):
        far = h1(mode - width) < h_mode - _LEVELS[-1] - 4.0
        if (far | finite_lo).all():
            break
        width = np.where(far | finite_lo, width, 2.0 * width)
    start = np.where(finite_lo, lo, mode - width)

    target = h_mode[:, None] - _LEVELS[None, :]
    ones = np.ones_like(target)

    def level_points(end):
        """Where h crosses each level between ``end`` and the mode: Newton's method from
        ``end``, which for a concave function approaches the crossing monotonically."""
        end2 = end[:, None] * ones
        lo_, hi_ = np.minimum(end2, mode[:, None]), np.maximum(end2, mode[:, None])
        u = end2
        for _ in range(n_newton):
            slope = dh(u)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (target - h(u)) / slope
            u = np.clip(np.where(np.isfinite(step), u + step, u), lo_, hi_)
        return np.where(h(end2) < target, u, end2)

    klo = np.clip(knee_lo, start, hi)
    khi = np.maximum(np.clip(knee_hi, start, hi), klo)
    grid = klo[:, None] + (khi - klo)[:, None] * np.linspace(0.0, 1.0, n_grid)[None, :]
    knots = np.concatenate([start[:, None], hi[:, None], mode[:, None],
                            level_points(start), level_points(hi), grid], axis=1)
    return _gl_panels(np.sort(knots, axis=1))


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
    with the series (sums of ``t_k H_k``), or carried through the continued fraction and
    the quadrature, so every route gives value and gradient together. The hypergeometric
    terms are evaluated once per distinct ``(frequency, t)`` pair and the one-column terms
    once per distinct value of their column.
    """
    parts = _loglik_parts(params, data["frequency"], data["recency"], data["T"], grad=True,
                          data=data)
    w = np.asarray(weights, dtype=np.float64)
    return float(np.dot(w, parts["ll"])), w @ parts["dll"]


# ---------------------------------------------------------------------------------------
# Predictions
# ---------------------------------------------------------------------------------------

def _one_minus_ratio_power(c, y):
    """``(1 - exp(-c y)) / c`` (``y`` at ``c = 0``): ``[1 - (b/(b+t))^c] / c`` with
    ``y = log(1 + t/b)``."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(c == 0.0, y, -np.expm1(-c * y) / np.where(c == 0.0, 1.0, c))


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
    """``log int_0^t tau^n (a_T+tau)^-(rx+n) (b_T+tau)^-(s+1) dtau`` by quadrature in
    ``u = log tau``, where the integrand is log-concave."""
    out = np.empty(len(rx))
    for start in range(0, len(rx), _QUAD_CHUNK):
        sl = slice(start, start + _QUAD_CHUNK)
        N, RX, LA, LB = (v[sl][:, None] for v in (n, rx, np.log(a_T), np.log(b_T)))

        def h(u, N=N, RX=RX, LA=LA, LB=LB):
            return ((N + 1.0) * u - (RX + N) * (LA + _softplus(u - LA))
                    - (s + 1.0) * (LB + _softplus(u - LB)))

        def dh(u, N=N, RX=RX, LA=LA, LB=LB):
            return ((N + 1.0) - (RX + N) * _expit(u - LA) - (s + 1.0) * _expit(u - LB))

        la, lb = LA[:, 0], LB[:, 0]
        bend = np.log(np.maximum(np.maximum(RX[:, 0] + N[:, 0], s + 1.0), 1.0)) + 36.0
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
    accuracy about 1e-12). At ``x = t_x = T = 0`` it is the probability for a new customer.

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
        log_alive_all = (s * (np.log(bi) - np.log(bi + ti)) + log_nb_coef
                         + rxi * (np.log(ai) - np.log(ai + ti))
                         + special.xlogy(ni, ti) - ni * np.log(ai + ti))
        # the integral depends on (n, t, x, T) only: once per distinct combination
        (un, ut, urx, ua, ub), _, inv = _distinct_rows([ni, ti, rxi, ai, bi])
        log_int = _log_death_integral(un, ut, urx, ua, ub, s)[inv]
        log_dead = np.log(s) + s * np.log(bi) + log_nb_coef + rxi * np.log(ai) + log_int
        future = np.exp(np.logaddexp(log_alive_all, log_dead))
        out[i] = np.where(ni == 0, 1.0 - p_alive[i], 0.0) + p_alive[i] * future
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
    ``alpha - beta``; see the module docstring for the stable evaluation.
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
