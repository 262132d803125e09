"""Special functions with guards for the parameter ranges of customer-base models.

:func:`scipy.special.hyp2f1` is accurate for moderate parameters but overflows or loses
accuracy when ``a`` and ``b`` are large (a customer with thousands of purchases) and ``z``
approaches 1. :func:`log_hyp2f1` evaluates ``log 2F1(a, b; c; z)`` through the
transformations of Abramowitz & Stegun 15.3.3-15.3.5 where the direct value is not
finite, and falls back to a log-space summation of the series.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["log_hyp2f1", "hyp2f1"]


def _log_series(a, b, c, z, max_terms: int = 200_000):
    """``log 2F1`` by summing the Gauss series in log space (all terms positive:
    a, b, c > 0 and 0 <= z < 1)."""
    log_z = np.log(z)
    log_term = np.zeros_like(z)
    log_sum = np.zeros_like(z)
    active = np.ones(z.shape, dtype=bool)
    for k in range(max_terms):
        if not active.any():
            break
        ratio = (np.log(a + k) + np.log(b + k) - np.log(c + k) - np.log(k + 1.0) + log_z)
        log_term = np.where(active, log_term + ratio, log_term)
        log_sum = np.where(active, np.logaddexp(log_sum, log_term), log_sum)
        # stop once terms decrease and are negligible against the sum
        active &= ~((ratio < 0) & (log_term < log_sum - 40.0))
    return log_sum


def log_hyp2f1(a, b, c, z):
    r"""Logarithm of the Gauss hypergeometric function, for values where it is positive.

    Parameters
    ----------
    a, b, c : array-like
        Parameters, broadcast together with ``z``; ``c`` must not be a non-positive
        integer.
    z : array-like
        Argument, ``-1 < z < 1`` (the models only need this range).

    Returns
    -------
    ndarray
        ``log 2F1(a, b; c; z)``; NaN where the function is not positive.

    Notes
    -----
    Tries, in order: the direct value; Euler's transformation (A&S 15.3.3)

    .. math:: {}_2F_1(a, b; c; z) = (1 - z)^{c - a - b}\, {}_2F_1(c - a, c - b; c; z),

    which tames large ``a`` and ``b`` (the transformed parameters stay small); Pfaff's
    transformation (A&S 15.3.5) for ``z < 0``,
    ``(1 - z)^{-a} 2F1(a, c - b; c; z / (z - 1))``; and, for positive parameters and
    ``0 <= z < 1``, the Gauss series summed in log space.

    References
    ----------
    Abramowitz, M. and Stegun, I. A. (1964), Handbook of Mathematical Functions,
    equations 15.1.1 and 15.3.3-15.3.5.

    Examples
    --------
    >>> import numpy as np
    >>> bool(np.isclose(log_hyp2f1(1.0, 1.0, 2.0, 0.5), np.log(-np.log(0.5) / 0.5)))
    True
    >>> bool(np.isfinite(log_hyp2f1(1e4, 1e4, 2e4, 0.9)))
    True
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
        if todo.any():  # series in log space
            i = np.flatnonzero(todo & (a > 0) & (b > 0) & (c > 0) & (z >= 0) & (z < 1))
            if i.size:
                zi = z[i]
                res = np.zeros(i.size)
                pos = zi > 0
                if pos.any():
                    res[pos] = _log_series(a[i][pos], b[i][pos], c[i][pos], zi[pos])
                out[i] = res
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
