"""Special functions with guards for the parameter ranges of customer-base models, and the
log-space quadrature they share.

:func:`scipy.special.hyp2f1` is accurate for moderate parameters but overflows or loses
accuracy when ``a`` and ``b`` are large (a customer with thousands of purchases) and ``z``
approaches 1. :func:`log_hyp2f1` evaluates ``log 2F1(a, b; c; z)`` through the
transformations of Abramowitz & Stegun 15.3.3-15.3.5 where the direct value is not
finite, and otherwise, for positive parameters, by Gauss-Legendre quadrature of Euler's
integral (A&S 15.3.1) in log space, which converges for every ``z < 1`` however close to 1
(the Gauss series needs of the order of ``1 / (1 - z)`` terms there).

The quadrature rules place their panels at level sets of the log-integrand (where it has
dropped by 2, 8, 18, 32 and 50 below its maximum), so that each panel sees a bounded
change, and around the points where the integrand bends; the Pareto/NBD likelihood and
purchase probabilities use the same rules.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["log_hyp2f1", "hyp2f1", "log_beta_expected_count"]

#: Gauss-Legendre nodes per panel of the quadrature.
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(12)
#: Drops of the log-integrand (below its maximum) at which panels are cut.
_LEVELS = np.array([2.0, 8.0, 18.0, 32.0, 50.0])
#: Rows evaluated at once by the quadrature (bounds memory: rows x nodes).
_QUAD_CHUNK = 4096
#: Newton steps allowed beyond ``n_newton`` to find the level points of a concave
#: log-integrand (see :func:`_log_concave_rule`).
_MAX_EXTRA_NEWTON = 120


# ---------------------------------------------------------------------------------------
# Log-space Gauss-Legendre quadrature of unimodal integrands
# ---------------------------------------------------------------------------------------

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
        ``end``, which for a concave function approaches the crossing monotonically.
        After ``n_newton`` steps it goes on while a point is still more than 0.5 below
        its level: far from the mode ``h`` may fall like ``-e^u`` (a huge drop-out
        rate), where each step only gains about 1 in ``u``."""
        end2 = end[:, None] * ones
        lo_, hi_ = np.minimum(end2, mode[:, None]), np.maximum(end2, mode[:, None])
        u = end2
        for k in range(n_newton + _MAX_EXTRA_NEWTON):
            h_u = h(u)
            if k >= n_newton and not np.any(h_u < target - 0.5):
                break
            slope = dh(u)
            with np.errstate(divide="ignore", invalid="ignore"):
                step = (target - h_u) / slope
            u = np.clip(np.where(np.isfinite(step), u + step, u), lo_, hi_)
        return np.where(h(end2) < target, u, end2)

    klo = np.clip(knee_lo, start, hi)
    khi = np.maximum(np.clip(knee_hi, start, hi), klo)
    grid = klo[:, None] + (khi - klo)[:, None] * np.linspace(0.0, 1.0, n_grid)[None, :]
    knots = np.concatenate([start[:, None], hi[:, None], mode[:, None],
                            level_points(start), level_points(hi), grid], axis=1)
    return _gl_panels(np.sort(knots, axis=1))



#: Offsets (from a point where the log-integrand bends on a unit scale) of the extra knots
#: of :func:`_unimodal_rule`: panels grow with the distance from the bend, where the
#: integrand approaches its asymptote exponentially fast.
_BEND_OFFSETS = np.array([-38.0, -16.0, -8.0, -4.0, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0,
                          4.0, 8.0, 16.0, 38.0])


def _unimodal_rule(h, dh, bends, n_iter=64):
    """Quadrature rule for ``int_{-inf}^{inf} exp(h(u)) du`` where ``h`` is unimodal.

    ``dh`` must be positive left of the mode and negative right of it, and ``h`` must fall
    without bound on both sides. The mode is found by bisection on ``dh``; the range is
    cut where ``h`` has dropped by each of ``_LEVELS`` below the mode on either side (found
    by bisection, which needs no concavity) and around each point of ``bends`` (shape
    (m, k)), where ``h`` bends on a unit scale. ``h`` and ``dh`` take arrays of shape
    (m, k). Returns nodes and log-weights of shape (m, n_nodes): the integral is
    ``sum(exp(logw + h(nodes)))``.
    """
    m = len(bends)

    def h1(u):
        return h(u[:, None])[:, 0]

    def dh1(u):
        return dh(u[:, None])[:, 0]

    def walk(start, outside, sign):
        """From ``start``, doubling steps in direction ``sign`` until ``outside``."""
        u, step = start.copy(), np.ones(m)
        for _ in range(1100):
            todo = ~outside(u)
            if not todo.any():
                break
            u = np.where(todo, u + sign * step, u)
            step = np.where(todo, 2.0 * step, step)
        return u

    left = walk(bends.min(axis=1) - 1.0, lambda u: dh1(u) > 0, -1.0)
    right = walk(bends.max(axis=1) + 1.0, lambda u: dh1(u) < 0, 1.0)
    mode = _bisect(dh1, left, right, n_iter + 36)
    h_mode = h1(mode)
    floor = h_mode - _LEVELS[-1] - 4.0
    start = walk(mode - 1.0, lambda u: h1(u) < floor, -1.0)
    end = walk(mode + 1.0, lambda u: h1(u) < floor, 1.0)

    target = h_mode[:, None] - _LEVELS[None, :]
    ones = np.ones_like(target)

    def level_points(outer):
        """Where ``h`` crosses each level between ``outer`` and the mode (bisection)."""
        far, near = outer[:, None] * ones, mode[:, None] * ones
        for _ in range(n_iter):
            mid = 0.5 * (far + near)
            above = h(mid) >= target
            near = np.where(above, mid, near)
            far = np.where(above, far, mid)
        return 0.5 * (far + near)

    extra = (bends[:, :, None] + _BEND_OFFSETS).reshape(m, -1)
    extra = np.clip(extra, start[:, None], end[:, None])
    knots = np.concatenate([start[:, None], end[:, None], mode[:, None],
                            level_points(start), level_points(end), extra], axis=1)
    return _gl_panels(np.sort(knots, axis=1))


# ---------------------------------------------------------------------------------------
# The Gauss hypergeometric function
# ---------------------------------------------------------------------------------------

#: Default number of terms of the last-resort Gauss series.
SERIES_MAX_TERMS = 20_000
#: Most contiguous steps ``c -> c + 1`` taken to reach Euler's integral when
#: ``c <= min(a, b)`` (each step adds one quadrature per value).
_MAX_C_STEPS = 64


def _log_series(a, b, c, z, max_terms: int = SERIES_MAX_TERMS):
    """``log 2F1`` by summing the Gauss series in log space (all terms positive:
    a, b, c > 0 and 0 <= z < 1); NaN where it has not converged within ``max_terms``.

    The sum stops at a decreasing term below ``e^-40`` times the sum. Entries whose term
    ``max_terms`` is still growing, or not negligible against the largest of a few terms
    spread over the range (a lower bound of the sum), cannot converge in time: they are
    found from log-gamma values before the loop and are NaN without being summed.
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    out = np.full(z.shape, np.nan)

    def log_term(k):
        return (special.gammaln(a[..., None] + k) - special.gammaln(a[..., None])
                + special.gammaln(b[..., None] + k) - special.gammaln(b[..., None])
                - special.gammaln(c[..., None] + k) + special.gammaln(c[..., None])
                - special.gammaln(k + 1.0) + k * np.log(z)[..., None])

    with np.errstate(divide="ignore", invalid="ignore"):
        K = float(max_terms)
        log_last = log_term(np.array([K]))[..., 0]
        probes = np.unique(np.round(np.geomspace(1.0, K, 48)))
        log_some = np.maximum(np.max(log_term(probes), axis=-1), 0.0)  # term 0 is 1
        last_ratio = (np.log(a + K) + np.log(b + K) - np.log(c + K) - np.log(K + 1.0)
                      + np.log(z))
        hopeful = (last_ratio < 0) & (log_last < log_some - 40.0)
        log_z = np.log(z)
    out[z == 0] = 0.0
    idx = np.flatnonzero(hopeful & (z > 0))
    if not idx.size:
        return out
    a, b, c, log_z = a.ravel()[idx], b.ravel()[idx], c.ravel()[idx], log_z.ravel()[idx]
    log_term = np.zeros(idx.size)
    log_sum = np.zeros(idx.size)
    active = np.ones(idx.size, dtype=bool)
    for k in range(max_terms):
        if not active.any():
            break
        ratio = (np.log(a + k) + np.log(b + k) - np.log(c + k) - np.log(k + 1.0) + log_z)
        log_term = np.where(active, log_term + ratio, log_term)
        log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
        # stop once terms decrease and are negligible against the sum
        active &= ~((ratio < 0) & (log_term < log_sum - 40.0))
    flat = out.ravel()
    flat[idx] = np.where(active, np.nan, log_sum)
    return flat.reshape(out.shape)


def _log_euler_integral(e, beta, c, z):
    r"""``log 2F1(e, beta; c; z)`` by quadrature of Euler's integral, for
    ``0 < beta < c``, ``e > 0`` and ``z < 1``.

    With ``t = 1 / (1 + e^{-u})`` and ``L = log(1 - z)``, Euler's integral (A&S 15.3.1)

    .. math::
        {}_2F_1(e, \beta; c; z) = \frac{1}{B(\beta, c - \beta)}
            \int_0^1 t^{\beta-1} (1-t)^{c-\beta-1} (1 - zt)^{-e}\, dt
          = \frac{1}{B(\beta, c - \beta)} \int_{-\infty}^{\infty} e^{h(u)} du,

    .. math:: h(u) = \beta u + (e - c)\,\mathrm{sp}(u) - e\,\mathrm{sp}(u + L),

    with ``sp(u) = log(1 + e^u)``. ``h`` rises with slope ``beta`` on the left, falls with
    slope ``beta - c`` on the right and bends at ``u = 0`` and ``u = -L``; it is unimodal
    (``h'`` times ``1 - z t`` is a quadratic in ``t``, positive at ``t = 0`` and negative
    at ``t = 1``), concave when ``e <= c``. Beyond both bends it is evaluated as
    ``(beta - c) u - e L + (e - c) sp(-u) - e sp(-u - L)`` (the same function), which
    avoids the cancellation of ``(e - c) u`` against ``-e u``.
    """
    e, beta, c, z = (np.asarray(v, dtype=np.float64).ravel()
                     for v in np.broadcast_arrays(e, beta, c, z))
    out = np.empty(z.size)
    chunk = max(1, _QUAD_CHUNK // 4)
    for first in range(0, z.size, chunk):
        sl = slice(first, first + chunk)
        E, B, C = e[sl][:, None], beta[sl][:, None], c[sl][:, None]
        L = np.log1p(-z[sl])[:, None]
        beyond_at = np.maximum(0.0, -L)

        def h(u, E=E, B=B, C=C, L=L, beyond_at=beyond_at):
            inner = B * u + (E - C) * _softplus(u) - E * _softplus(u + L)
            outer = ((B - C) * u - E * L + (E - C) * _softplus(-u)
                     - E * _softplus(-u - L))
            return np.where(u > beyond_at, outer, inner)

        def dh(u, E=E, B=B, C=C, L=L, beyond_at=beyond_at):
            inner = B + (E - C) * _expit(u) - E * _expit(u + L)
            outer = (B - C) - (E - C) * _expit(-u) + E * _expit(-u - L)
            return np.where(u > beyond_at, outer, inner)

        bends = np.concatenate([np.zeros_like(L), -L], axis=1)
        nodes, logw = _unimodal_rule(h, dh, bends)
        out[sl] = _logsumexp_rows(logw + h(nodes))
    return out - special.betaln(beta, c - beta)


def _log_hyp2f1_positive(a, b, c, z):
    """``log 2F1(a, b; c; z)`` for ``a, b, c > 0`` and ``0 <= z < 1`` by quadrature.

    Where ``c > min(a, b)`` this is Euler's integral (:func:`_log_euler_integral`).
    Otherwise ``N`` contiguous steps (the smallest with ``c + N > min(a, b)``) give a sum
    of positive terms, each an Euler integral:

    .. math::
        {}_2F_1(a, b; c; z) = \\sum_{j=0}^{N} \\binom{N}{j}
            \\frac{(a)_j (b)_j\\, \\Gamma(c)\\Gamma(c+N)}{\\Gamma(c+j)\\Gamma(c+N+j)} z^j\\,
            {}_2F_1(a+j, b+j; c+N+j; z),

    which follows from ``2F1(a, b; c) = 2F1(a, b; c+1) + ab z / (c (c+1))
    2F1(a+1, b+1; c+2)`` (compare the coefficients of ``z^k``). NaN where more than
    ``_MAX_C_STEPS`` steps would be needed.
    """
    a, b, c, z = (np.asarray(v, dtype=np.float64).ravel()
                  for v in np.broadcast_arrays(a, b, c, z))
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    out = np.full(z.size, np.nan)
    out[z == 0] = 0.0
    direct = (c > lo) & (z != 0)
    if direct.any():
        out[direct] = _log_euler_integral(hi[direct], lo[direct], c[direct], z[direct])
    steps = np.floor(lo - c) + 1.0
    raised = ~direct & (z > 0) & (steps <= _MAX_C_STEPS)
    if raised.any():
        i = np.flatnonzero(raised)
        n_max = int(steps[i].max())
        j = np.arange(n_max + 1, dtype=np.float64)[None, :]
        A, B, C, Z, N = (v[i][:, None] for v in (a, b, c, z, steps))
        with np.errstate(invalid="ignore", divide="ignore"):
            log_coef = (special.gammaln(N + 1.0) - special.gammaln(j + 1.0)
                        - special.gammaln(N - j + 1.0)
                        + special.gammaln(A + j) - special.gammaln(A)
                        + special.gammaln(B + j) - special.gammaln(B)
                        + special.gammaln(C) + special.gammaln(C + N)
                        - special.gammaln(C + j) - special.gammaln(C + N + j)
                        + j * np.log(Z))
        valid = j <= N
        rows, cols = np.nonzero(valid)
        log_f = np.full(valid.shape, -np.inf)
        jj = j[0, cols]
        log_f[rows, cols] = _log_euler_integral(
            np.maximum(a, b)[i][rows] + jj, np.minimum(a, b)[i][rows] + jj,
            c[i][rows] + steps[i][rows] + jj, z[i][rows])
        terms = np.where(valid, log_coef + log_f, -np.inf)
        out[i] = _logsumexp_rows(terms)
    return out


def log_hyp2f1(a, b, c, z):
    r"""Logarithm of the Gauss hypergeometric function, for values where it is positive.

    Parameters
    ----------
    a, b, c : array-like
        Parameters, broadcast together with ``z``; ``c`` must not be a non-positive
        integer.
    z : array-like
        Argument, ``z < 1`` (the models need ``-1 < z < 1``).

    Returns
    -------
    ndarray
        ``log 2F1(a, b; c; z)``; NaN where the function is not positive or no route
        below gives a reliable value.

    Notes
    -----
    Tries, in order: the direct value; Euler's transformation (A&S 15.3.3)

    .. math:: {}_2F_1(a, b; c; z) = (1 - z)^{c - a - b}\, {}_2F_1(c - a, c - b; c; z),

    which tames large ``a`` and ``b`` (the transformed parameters stay small); Pfaff's
    transformation (A&S 15.3.5) for ``z < 0``,
    ``(1 - z)^{-a} 2F1(a, c - b; c; z / (z - 1))``. For positive parameters the rest is
    Euler's integral representation (A&S 15.3.1)

    .. math::
        {}_2F_1(a, b; c; z) = \frac{\Gamma(c)}{\Gamma(b)\Gamma(c-b)}
            \int_0^1 t^{b-1} (1-t)^{c-b-1} (1 - zt)^{-a}\, dt \qquad (c > b > 0),

    integrated by Gauss-Legendre quadrature in log space on panels placed at level sets
    of the integrand (relative accuracy about 1e-12 on ``2F1``, however close ``z`` is
    to 1); where ``c <= min(a, b)`` a few contiguous relations (A&S 15.2) first raise
    ``c``. Only what none of these cover is summed as the Gauss series in log space,
    and is NaN unless the series converges.

    References
    ----------
    Abramowitz, M. and Stegun, I. A. (1964), Handbook of Mathematical Functions,
    equations 15.1.1, 15.2.10-15.2.25, 15.3.1 and 15.3.3-15.3.5.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(log_hyp2f1(1.0, 1.0, 2.0, 0.5), np.log(-np.log(0.5) / 0.5)))
    True
    >>> bool(np.isfinite(log_hyp2f1(1e4, 1e4, 2e4, 0.9)))
    True

    Close to ``z = 1`` with large parameters, where :func:`scipy.special.hyp2f1` gives
    NaN and the Gauss series would need millions of terms:

    >>> round(float(log_hyp2f1(100.0, 1e5, 1e5 - 0.5, 52.0 / 52.01)), 6)
    856.572019
    """
    a, b, c, z = (np.asarray(v, dtype=np.float64) for v in (a, b, c, z))
    a, b, c, z = np.broadcast_arrays(a, b, c, z)
    shape = z.shape
    a, b, c, z = (v.ravel() for v in (a, b, c, z))
    out = np.full(z.shape, np.nan)
    with np.errstate(all="ignore"):
        v = special.hyp2f1(a, b, c, z)
        ok = np.isfinite(v) & (v > 0)
        out[ok] = np.log(v[ok])
        todo = ~ok
        if todo.any():  # Euler
            i = np.flatnonzero(todo)
            v2 = special.hyp2f1(c[i] - a[i], c[i] - b[i], c[i], z[i])
            good = np.isfinite(v2) & (v2 > 0)
            out[i[good]] = ((c[i] - a[i] - b[i]) * np.log1p(-z[i]) + np.log(v2))[good]
            todo[i[good]] = False
        if todo.any():  # Pfaff, for negative arguments
            i = np.flatnonzero(todo & (z < 0))
            if i.size:
                w = z[i] / (z[i] - 1.0)
                v3 = special.hyp2f1(a[i], c[i] - b[i], c[i], w)
                good = np.isfinite(v3) & (v3 > 0)
                out[i[good]] = (-a[i] * np.log1p(-z[i]) + np.log(v3))[good]
                todo[i[good]] = False
        positive = todo & (a > 0) & (b > 0) & (c > 0) & (z < 1)
        if positive.any():  # Euler's integral (any z < 1 when c > min(a, b))
            i = np.flatnonzero(positive)
            res = _log_hyp2f1_positive(a[i], b[i], c[i], z[i])
            good = np.isfinite(res)
            out[i[good]] = res[good]
            todo[i[good]] = False
        if todo.any():  # the Gauss series, NaN unless it converges
            i = np.flatnonzero(todo & (a > 0) & (b > 0) & (c > 0) & (z >= 0) & (z < 1))
            if i.size:
                out[i] = _log_series(a[i], b[i], c[i], z[i])
    return out.reshape(shape)


def hyp2f1(a, b, c, z):
    """The Gauss hypergeometric function with the guards of :func:`log_hyp2f1`.

    Parameters
    ----------
    a, b, c, z : array-like
        As in :func:`scipy.special.hyp2f1`.

    Returns
    -------
    ndarray
        The direct value where it is finite, else ``exp(log_hyp2f1(...))`` (possibly
        ``inf`` when the value itself overflows).

    Examples
    --------
    >>> float(hyp2f1(1.0, 1.0, 2.0, 0.0))
    1.0
    """
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (a, b, c, z)))
    with np.errstate(all="ignore"):
        v = np.asarray(special.hyp2f1(a, b, c, z), dtype=np.float64)
        bad = ~np.isfinite(v)
        if bad.any():
            v = v.copy()
            v[bad] = np.exp(log_hyp2f1(a[bad], b[bad], c[bad], z[bad]))
    return v


# ---------------------------------------------------------------------------------------
# The conditional expected count of beta-geometric drop-out models
# ---------------------------------------------------------------------------------------


def log_beta_expected_count(A, a, b, s):
    r"""Logarithm of ``E[(1 - (1 + p s)^{-A}) / p]`` for ``p ~ Beta(a, b)``, by quadrature.

    This is ``1 - 2F1`` of the BG/NBD conditional expectation, computed without the
    Gauss hypergeometric function, which is negative (and so out of reach of
    :func:`log_hyp2f1`) when ``a + b + x - 1 < 0``.

    Parameters
    ----------
    A : array-like
        Shape of the gamma law of the purchase rate, ``A > 0``.
    a, b : array-like
        Parameters of the beta law of the drop-out probability, ``a, b > 0``.
    s : array-like
        Scaled horizon, ``s > 0``. All four are broadcast together.

    Returns
    -------
    ndarray
        The logarithm of the expectation (finite for valid parameters).

    Notes
    -----
    A customer alive with rate ``lambda`` and drop-out probability ``p`` makes
    ``(1 - e^{-lambda p t}) / p`` purchases on average in the next ``t`` periods;
    averaged over ``lambda ~ Gamma(A, beta)`` this is ``(1 - (1 + p s)^{-A}) / p`` with
    ``s = t / beta``, and over ``p ~ Beta(a, b)``

    .. math::
        \frac{1}{B(a, b)} \int_0^1 p^{a-2} (1-p)^{b-1}
            \left[1 - (1 + p s)^{-A}\right] dp
        = \frac{a + b - 1}{a - 1}
          \left[1 - (1 + s)^{-A}\, {}_2F_1\!\left(A, b; a + b - 1; \frac{s}{1+s}\right)
          \right],

    the closed form of Fader, Hardie & Lee (2005, eq. 10) with ``A = r + x``,
    ``b -> b + x`` and ``s = t / (alpha + T)``. The integrand is positive and the
    integral converges for every ``a > 0`` (the bracket is about ``A p s`` near
    ``p = 0``). With ``p = 1 / (1 + e^{-u})`` the log-integrand

    .. math:: h(u) = (a - 1)\log p + b \log(1 - p) + \log\left(1 - (1 + p s)^{-A}\right)

    rises with slope ``a`` on the left and falls with slope ``-b`` on the right, with a
    single mode; it bends at ``u = 0``, near ``p s = 1`` and near ``A p s = 1``. It is
    integrated by Gauss-Legendre quadrature in log space on panels at its level sets.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the easy
    way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    equation 10.

    Examples
    --------
    With ``b = 1`` and ``s`` small the expectation is close to ``A s``:

    >>> import numpy as np
    >>> v = np.exp(log_beta_expected_count(2.0, 0.5, 1.0, 1e-6))
    >>> bool(np.isclose(v, 2e-6, rtol=1e-5))
    True
    """
    A, a, b, s = (np.asarray(v, dtype=np.float64) for v in (A, a, b, s))
    A, a, b, s = np.broadcast_arrays(A, a, b, s)
    shape = s.shape
    A, a, b, s = (v.ravel() for v in (A, a, b, s))
    out = np.empty(s.size)
    chunk = max(1, _QUAD_CHUNK // 4)
    with np.errstate(all="ignore"):  # both branches of each np.where are evaluated
        for first in range(0, s.size, chunk):
            _beta_expected_count_chunk(A, a, b, s, out, slice(first, first + chunk))
        out -= special.betaln(a, b)
    return out.reshape(shape)


def _beta_expected_count_chunk(A, a, b, s, out, sl):
    """One chunk of rows of :func:`log_beta_expected_count` (before the beta norm)."""
    aa, bb = a[sl][:, None], b[sl][:, None]
    log_A, log_s = np.log(A[sl][:, None]), np.log(s[sl])[:, None]

    def parts(u, log_A=log_A, log_s=log_s):
        log_p = -_softplus(-u)
        log_ps = log_p + log_s
        ps = np.exp(log_ps)
        log1p_ps = np.log1p(ps)
        # log(log(1 + ps)), exact also where ps underflows
        log_l = np.where(log_ps < -30.0, log_ps, np.log(np.maximum(log1p_ps, 1e-300)))
        log_q = log_A + log_l
        q = np.exp(log_q)
        # log(1 - e^-q) and log(e^q - 1)
        log_f = np.where(q < 1e-8, log_q - 0.5 * q, np.log(-np.expm1(-np.maximum(q, 1e-300))))
        log_em1 = np.where(q > 30.0, q + np.log1p(-np.exp(-np.minimum(q, 700.0))),
                           np.where(q < 1e-8, log_q + 0.5 * q,
                                    np.log(np.expm1(np.clip(q, 1e-300, 700.0)))))
        return log_p, log_ps, log1p_ps, log_f, log_em1

    def h(u, aa=aa, bb=bb):
        log_p, _, _, log_f, _ = parts(u)
        return (aa - 1.0) * log_p - bb * _softplus(u) + log_f

    def dh(u, aa=aa, bb=bb, log_A=log_A):
        log_p, log_ps, log1p_ps, _, log_em1 = parts(u)
        p, one_p = _expit(u), _expit(-u)
        # d log f / du = (1 - p) A p s / ((1 + p s)(e^q - 1))
        k = np.exp(np.minimum(log_A + log_ps - log1p_ps - log_em1, 700.0))
        return (aa - 1.0 + k) * one_p - bb * p

    ls = log_s[:, 0]
    bends = np.stack([np.zeros_like(ls), -ls, -ls - log_A[:, 0]], axis=1)
    bends = np.clip(bends, -650.0, 650.0)
    nodes, logw = _unimodal_rule(h, dh, bends)
    out[sl] = _logsumexp_rows(logw + h(nodes))
