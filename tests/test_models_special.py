"""The guarded Gauss hypergeometric function of custseg.models._special: each route of
log_hyp2f1 against an independent reference, and the series that must not return a sum it
has not finished."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import special

import custseg.models._special as special_module
from custseg.models._special import _log_hyp2f1_positive, _log_series, hyp2f1, log_hyp2f1


def _log_hyp2f1_by_series(a, b, c, z, n_terms=200_000, chunk=10_000):
    """log 2F1 summed term by term from log-gamma values (positive terms: a, b, c > 0,
    0 < z < 1), a chunk of terms at a time; None when it has not converged within
    n_terms."""
    log_terms = []
    for start in range(0, n_terms, chunk):
        k = np.arange(start, start + chunk, dtype=np.float64)
        log_terms.append(special.gammaln(a + k) - special.gammaln(a) + special.gammaln(b + k)
                         - special.gammaln(b) - special.gammaln(c + k) + special.gammaln(c)
                         - special.gammaln(k + 1) + k * math.log(z))
        top = max(v.max() for v in log_terms)
        last = log_terms[-1]
        if last[-1] < top - 60 and last[-1] < last[-2]:
            every = np.concatenate(log_terms)
            return top + math.log(math.fsum(np.exp(every - top)))
    return None


log_parameter = st.floats(-3.0, 7.0).map(math.exp)  # 0.05 .. 1100
close_to_one = st.floats(-9.0, -0.05).map(lambda u: -math.expm1(u))  # 1 - z in e^-9 .. 0.95


@given(a=log_parameter, b=log_parameter, c=log_parameter, z=close_to_one)
def test_quadrature_matches_the_series(a, b, c, z):
    """Euler's integral (c > min(a, b)) and the contiguous steps (c <= min(a, b)) agree
    with the plain series wherever that converges, to about 1e-12 of 2F1."""
    assume(math.floor(min(a, b) - c) + 1 <= 64)
    # terms grow up to k where z (a + k)(b + k) = (c + k)(k + 1), then fall like z^k:
    # keep the draws whose reference series converges within 60,000 terms
    qa, qb, qc = 1.0 - z, c + 1.0 - z * (a + b), c - z * a * b
    peak = max(0.0, (-qb + math.sqrt(max(qb * qb - 4.0 * qa * qc, 0.0))) / (2.0 * qa))
    assume(peak + 80.0 / (1.0 - z) < 60_000)
    reference = _log_hyp2f1_by_series(a, b, c, z, n_terms=60_000)
    assume(reference is not None)
    got = _log_hyp2f1_positive(np.array([a]), np.array([b]), np.array([c]), np.array([z]))
    np.testing.assert_allclose(got[0], reference, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("a, b, c, z", [
    (2.5, 3.7, 1.3, 0.4),     # c below both a and b: one contiguous step
    (0.3, 0.2, 0.1, 0.9),     # two steps
    (10.0, 12.0, 0.5, 0.3),   # ten steps
    (0.5, 7.0, 3.0, 0.999),   # Euler's integral
    (4.0, 1.5, 2.0, -0.7),    # negative argument
    (4.0, 1.5, 2.0, -40.0),   # far on the negative axis
    (1.0, 1.0, 2.0, 0.0),     # 2F1 = 1
])
def test_quadrature_matches_scipy_where_scipy_is_accurate(a, b, c, z):
    got = _log_hyp2f1_positive(np.array([a]), np.array([b]), np.array([c]), np.array([z]))
    np.testing.assert_allclose(got[0], np.log(special.hyp2f1(a, b, c, z)), rtol=1e-12,
                               atol=1e-12)


def test_the_bg_nbd_case_near_the_bounds_does_not_need_the_series(monkeypatch):
    """BG/NBD with r = 100, a = 0.5, b = 1e5, a new customer over 52 periods with
    alpha = 0.01: scipy returns NaN, the series would need millions of terms, and the
    quadrature answers without it."""
    def no_series(*args, **kwargs):
        raise AssertionError("the series was called")

    monkeypatch.setattr(special_module, "_log_series", no_series)
    a, b, c, z = 100.0, 1e5, 1e5 - 0.5, 52.0 / 52.01
    got = log_hyp2f1(a, b, c, z)
    # the same value by Pfaff's transformation, 2F1(b, c - a; c; z / (z - 1)) (1 - z)^-b,
    # integrated independently on the negative axis
    w = z / (z - 1.0)
    pfaff = (-b * math.log1p(-z)
             + _log_hyp2f1_positive(np.array([b]), np.array([c - a]), np.array([c]),
                                    np.array([w]))[0])
    np.testing.assert_allclose(got, pfaff, rtol=1e-12)


def test_routes_mixed_in_one_array_equal_one_value_at_a_time():
    a = np.array([1.0, 1e4 + 0.24, 100.0, 2.5, 0.2, 3.0])
    b = np.array([1.0, 1e4 + 2.43, 1e5, 3.7, 12.0, 1e4])
    c = np.array([2.0, 1e4 + 2.22, 1e5 - 0.5, 1.3, 1.1, 1e4 + 5.0])
    z = np.array([0.5, 0.9, 0.99981, 0.4, 0.999, 0.99])
    together = log_hyp2f1(a, b, c, z)
    one_by_one = [float(log_hyp2f1(*v)) for v in zip(a, b, c, z)]
    np.testing.assert_array_equal(together, one_by_one)
    assert np.all(np.isfinite(together))
    assert log_hyp2f1(a.reshape(2, 3), b.reshape(2, 3), c.reshape(2, 3),
                      z.reshape(2, 3)).shape == (2, 3)
    np.testing.assert_allclose(hyp2f1(a[:1], b[:1], c[:1], z[:1]), np.exp(together[:1]))


def test_series_is_nan_unless_it_converges():
    a, b, c = (np.array([v, v]) for v in (100.0, 1e5, 1e5 - 0.5))
    z = np.array([0.9998, 1e-6])
    value = _log_series(a, b, c, z, max_terms=1_000)
    assert np.isnan(value[0])  # its terms are still growing after 1,000 of them
    reference = _log_hyp2f1_by_series(100.0, 1e5, 1e5 - 0.5, 1e-6, n_terms=1_000)
    np.testing.assert_allclose(value[1], reference, rtol=1e-12, atol=1e-13)
    assert _log_series(np.array([2.0]), np.array([3.0]), np.array([4.0]),
                       np.array([0.0]))[0] == 0.0


def test_far_below_both_parameters_only_a_converging_series_answers():
    """c more than 64 below min(a, b) is past the contiguous steps: the series answers
    where it converges, and the result is NaN (not a truncated sum) where it does not."""
    a, b, c = np.array([3000.0, 3000.0]), np.array([4000.0, 4000.0]), np.array([1.5, 1.5])
    z = np.array([0.5, 0.999])
    assert not np.any(np.isfinite(special.hyp2f1(a, b, c, z)))
    got = log_hyp2f1(a, b, c, z)
    # at z = 0.5 the terms peak near k = 8,500 (about e^8500) and vanish by k = 20,000
    reference = _log_hyp2f1_by_series(3000.0, 4000.0, 1.5, 0.5, n_terms=40_000)
    np.testing.assert_allclose(got[0], reference, rtol=1e-12)
    assert np.isnan(got[1])


def test_not_positive_is_nan():
    # 2F1(-1, 3; 1; z) = 1 - 3 z is negative at z = 0.5; c = -2 is a pole
    assert np.isnan(log_hyp2f1(-1.0, 3.0, 1.0, 0.5))
    assert np.isnan(log_hyp2f1(1.0, 1.0, -2.0, 0.5))
