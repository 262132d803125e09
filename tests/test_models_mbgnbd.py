"""MBG/NBD: lifetimes parity, identities, gradients, extremes, recovery."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special

from custseg.models import BetaGeo, ModifiedBetaGeo
from custseg.models._mbgnbd import (
    mbgnbd_expected_purchases,
    mbgnbd_loglik,
    mbgnbd_loglik_grad,
    mbgnbd_purchase_probability,
)
from custseg.models._mle import CustomerArrays

COLS = ["frequency", "recency", "T"]


@pytest.fixture(scope="module")
def model(cdnow_summary):
    return ModifiedBetaGeo().fit(cdnow_summary)


@pytest.fixture(scope="module")
def lt_model(lifetimes, cdnow_summary):
    t = cdnow_summary
    return lifetimes.ModifiedBetaGeoFitter().fit(t["frequency"], t["recency"], t["T"])


def test_cdnow_estimates(model):
    # lifetimes 0.11.3 on the CDNOW calibration sample: r 0.5248, alpha 6.1830,
    # a 0.8914, b 1.6140
    assert model.params_.round(4).to_dict() == {"r": 0.5248, "alpha": 6.183,
                                                "a": 0.8914, "b": 1.614}
    assert model.converged_


@pytest.mark.parity
def test_parameters_and_loglik_match_lifetimes(model, lt_model, lifetimes, cdnow_summary):
    ours = model.params_
    theirs = lt_model.params_[ours.index]
    x, t_x, T = (cdnow_summary[c].to_numpy(float) for c in COLS)
    their_ll = -len(x) * lifetimes.ModifiedBetaGeoFitter._negative_log_likelihood(
        np.log(theirs.to_numpy()), x, t_x, T, np.ones_like(x), 0.0)
    assert model.loglik_ >= their_ll - 1e-6
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    np.testing.assert_allclose(model.loglik_, their_ll, rtol=1e-4)
    np.testing.assert_allclose(mbgnbd_loglik(theirs.to_numpy(), x, t_x, T).sum(), their_ll,
                               rtol=1e-12)
    np.testing.assert_allclose(model.stderr_, lt_model.standard_errors_[ours.index],
                               rtol=1e-3)


@pytest.mark.parity
def test_predictions_match_lifetimes_at_our_parameters(model, lt_model, cdnow_summary):
    lt_model.params_ = model.params_.copy()
    x, t_x, T = (cdnow_summary[c] for c in COLS)
    for t in (1.0, 10.0, 39.0, 200.0):
        np.testing.assert_allclose(
            model.expected_purchases(cdnow_summary, t=t),
            lt_model.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, T),
            rtol=1e-6)
        np.testing.assert_allclose(model.expected_purchases_new_customer(t),
                                   lt_model.expected_number_of_purchases_up_to_time(t),
                                   rtol=1e-6)
        for n in range(6):
            np.testing.assert_allclose(
                model.purchase_probability_new_customer(n, t),
                lt_model.probability_of_n_purchases_up_to_time(t, n), rtol=1e-6)
    np.testing.assert_allclose(model.probability_alive(cdnow_summary),
                               lt_model.conditional_probability_alive(x, t_x, T), rtol=1e-6)


def test_customers_without_repeat_purchase_may_be_gone(model, cdnow_summary):
    none = cdnow_summary[cdnow_summary["frequency"] == 0].head(20)
    p = model.probability_alive(none)
    assert np.all((p > 0) & (p < 1))
    # at T = 0 only the drop-out at the first purchase counts: b / (a + b)
    a, b = model.params_["a"], model.params_["b"]
    zero = pd.DataFrame({"frequency": [0], "recency": [0], "T": [0]})
    np.testing.assert_allclose(model.probability_alive(zero), b / (a + b), rtol=1e-12)


params_st = st.tuples(st.floats(0.05, 5), st.floats(0.1, 50), st.floats(0.05, 5),
                      st.floats(0.05, 10))


@given(params_st, st.integers(0, 30), st.floats(0, 1), st.floats(0.5, 100),
       st.floats(0.5, 60))
def test_purchase_probability_is_a_distribution_with_the_right_mean(params, x, frac, T, t):
    t_x = frac * T if x > 0 else 0.0
    n = np.arange(0, 2000)
    p = mbgnbd_purchase_probability(params, n, t, float(x), t_x, T)
    assert np.all((p >= 0) & (p <= 1 + 1e-12))
    r, alpha = params[:2]
    bound = special.betainc(len(n), r + x, t / (alpha + T + t))  # see the BG/NBD test
    assert -1e-10 <= 1 - p.sum() <= bound + 1e-10
    if bound < 1e-15:
        np.testing.assert_allclose((n * p).sum(),
                                   mbgnbd_expected_purchases(params, t, float(x), t_x, T),
                                   rtol=1e-6, atol=1e-10)


def test_gradient_matches_finite_differences(cdnow_summary):
    data = CustomerArrays({c: cdnow_summary[c].to_numpy(dtype=float) for c in COLS})
    w = np.ones(len(cdnow_summary))
    p = np.array([0.52, 6.2, 0.89, 1.6])
    _, grad = mbgnbd_loglik_grad(p, data, w)
    num = np.empty(4)
    for j in range(4):
        e = np.zeros(4)
        e[j] = 1e-6 * p[j]
        num[j] = (mbgnbd_loglik(p + e, *(data[c] for c in COLS)).sum()
                  - mbgnbd_loglik(p - e, *(data[c] for c in COLS)).sum()) / (2 * e[j])
    np.testing.assert_allclose(grad, num, rtol=1e-5)


def test_no_nan_or_inf_at_extreme_histories(model):
    X = pd.DataFrame({"frequency": [0, 0, 1e4, 1e4, 3], "recency": [0, 0, 1e5, 10, 5],
                      "T": [0, 1e5, 1e5, 1e5, 5]})
    outputs = [model.score_samples(X), model.probability_alive(X), model.transform(X)]
    for t in (1.0, 1e4):
        outputs += [model.expected_purchases(X, t=t), model.purchase_probability(X, 2, t)]
    for out in outputs:
        assert np.all(np.isfinite(out))


def test_recovers_the_parameters_of_its_simulator(model):
    sim = model.sample(30_000, T=np.linspace(20, 40, 30_000), random_state=3)
    refit = ModifiedBetaGeo().fit(sim)
    d = refit.params_.to_numpy() - model.params_.to_numpy()
    assert d @ np.linalg.solve(refit.covariance_.to_numpy(), d) < 9.49
    assert sim["alive"].mean() < 1


def test_fits_at_least_as_well_as_bgnbd_only_where_it_should(cdnow_summary, model):
    # both have four parameters; on CDNOW the MBG/NBD likelihood is slightly higher
    assert model.loglik_ > BetaGeo().fit(cdnow_summary).loglik_
