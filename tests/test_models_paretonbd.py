"""Pareto/NBD: published estimates, parity with lifetimes, numerics at the extremes,
gradient, predictions, simulation and the estimator contract."""

import json
import math
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import integrate, special
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

from custseg.exceptions import CustsegError, InvalidDataError, MissingColumnError
from custseg.models._mle import CustomerArrays
from custseg.models._paretonbd import (
    ParetoNBD,
    paretonbd_expected_purchases,
    paretonbd_expected_purchases_new_customer,
    paretonbd_loglik,
    paretonbd_loglik_grad,
    paretonbd_probability_alive,
    paretonbd_purchase_probability,
    paretonbd_sample,
)
from custseg.models._paretonbd_likelihood import _log_s_quad, _log_s_series, log_s

#: Fader & Hardie's estimates on the CDNOW calibration period, in weeks (note 009/008)
PAPER = {"r": 0.5533, "alpha": 10.5775, "s": 0.6062, "beta": 11.6677}
PARAMS = tuple(PAPER.values())


def _cols(table):
    return (table["frequency"].to_numpy(float), table["recency"].to_numpy(float),
            table["T"].to_numpy(float))


@pytest.fixture(scope="module")
def fitted(cdnow_summary):
    return ParetoNBD().fit(cdnow_summary)


# ---- published values -----------------------------------------------------------------

def test_cdnow_estimates_match_the_note(fitted):
    assert fitted.params_.round(2).to_dict() == {"r": 0.55, "alpha": 10.58, "s": 0.61,
                                                 "beta": 11.67}
    np.testing.assert_allclose(fitted.params_.to_numpy(), PARAMS, rtol=2e-4)
    assert fitted.converged_
    # the bundled table rounds recency and T to 1/100 week
    assert fitted.loglik_ == pytest.approx(-9594.974, abs=1e-3)
    assert np.all(np.isfinite(fitted.stderr_)) and np.all(fitted.stderr_ > 0)


def test_cdnow_loglik_of_the_note_with_day_precision(cdnow_transactions):
    from custseg.features import rfm_summary

    log = cdnow_transactions[cdnow_transactions["date"] <= "1997-09-30"]
    table = rfm_summary(log, observation_period_end="1997-09-30", freq="D",
                        freq_multiplier=7)
    model = ParetoNBD().fit(table)
    assert round(model.loglik_, 2) == -9594.98  # the note's value
    np.testing.assert_allclose(model.params_.to_numpy(), PARAMS, rtol=5e-4)


def test_fit_is_deterministic(cdnow_summary, fitted):
    again = ParetoNBD().fit(cdnow_summary)
    np.testing.assert_array_equal(again.params_.to_numpy(), fitted.params_.to_numpy())


def test_fit_on_compressed_rows_equals_fit_on_customers(cdnow_summary, fitted):
    counts = cdnow_summary.groupby(["frequency", "recency", "T"]).size().reset_index(
        name="n")
    model = ParetoNBD().fit(counts, sample_weight=counts["n"])
    assert len(counts) < len(cdnow_summary)
    np.testing.assert_allclose(model.params_.to_numpy(), fitted.params_.to_numpy(),
                               rtol=1e-6)
    assert model.loglik_ == pytest.approx(fitted.loglik_, rel=1e-10)


# ---- parity with lifetimes ---------------------------------------------------------------

def _lifetimes_at(lifetimes, params):
    peer = lifetimes.ParetoNBDFitter()
    peer.params_ = pd.Series(params, index=["r", "alpha", "s", "beta"])
    return peer


@pytest.mark.parity
def test_fit_agrees_with_lifetimes(lifetimes, cdnow_summary, fitted):
    x, t_x, T = _cols(cdnow_summary)
    np.random.seed(42)  # noqa: NPY002 - lifetimes draws its start from the global RNG
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = lifetimes.ParetoNBDFitter().fit(x, t_x, T)
    theirs = peer.params_[["r", "alpha", "s", "beta"]].to_numpy()
    ours = fitted.params_.to_numpy()
    ll_theirs = paretonbd_loglik(theirs, x, t_x, T).sum()
    # lifetimes' Nelder-Mead stops within 1e-4; where it differs more, ours is better
    assert np.all(np.abs(theirs / ours - 1) < 1e-4) or fitted.loglik_ >= ll_theirs
    assert fitted.loglik_ >= ll_theirs - 1e-9
    assert fitted.loglik_ == pytest.approx(ll_theirs, rel=1e-4)


@pytest.mark.parity
@pytest.mark.parametrize("params", [PARAMS, (0.5533, 12.5775, 0.6062, 11.6677),
                                    (2.0, 3.0, 0.3, 40.0), (0.1, 50.0, 3.0, 1.0)],
                         ids=["paper", "alpha>beta", "alpha<beta", "s>1"])
def test_predictions_agree_with_lifetimes(lifetimes, cdnow_summary, params):
    x, t_x, T = _cols(cdnow_summary)
    peer = _lifetimes_at(lifetimes, params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(
            paretonbd_loglik(params, x, t_x, T),
            peer._conditional_log_likelihood(params, x, t_x, T), rtol=1e-10)
        np.testing.assert_allclose(paretonbd_probability_alive(params, x, t_x, T),
                                   peer.conditional_probability_alive(x, t_x, T), rtol=1e-6)
        np.testing.assert_allclose(
            paretonbd_expected_purchases(params, 39.0, x, t_x, T),
            peer.conditional_expected_number_of_purchases_up_to_time(39.0, x, t_x, T),
            rtol=1e-6)
        np.testing.assert_allclose(paretonbd_expected_purchases_new_customer(params, 39.0),
                                   peer.expected_number_of_purchases_up_to_time(39.0),
                                   rtol=1e-6)


@pytest.mark.parity
def test_purchase_probability_agrees_with_lifetimes(lifetimes, cdnow_summary):
    table = cdnow_summary.iloc[::25]
    x, t_x, T = _cols(table)
    peer = _lifetimes_at(lifetimes, PARAMS)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for n in (0, 1, 3, 8):
            theirs = peer.conditional_probability_of_n_purchases_up_to_time(n, 39.0, x,
                                                                             t_x, T)
            ours = paretonbd_purchase_probability(PARAMS, n, 39.0, x, t_x, T)
            np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-14)


# ---- the special function S = 2F1(1, p; q; z) -----------------------------------------------

def _log_s_reference(p, q, z):
    """The Gauss series summed directly, with enough terms for z**k to reach e^-60."""
    k = np.arange(int(min(3e6, 60.0 / (1.0 - z))), dtype=float)
    log_t = np.concatenate(([0.0], np.cumsum(np.log((p + k[:-1]) / (q + k[:-1])))))
    log_t += k * np.log(z)
    return special.logsumexp(log_t)


@pytest.mark.parametrize("p, q, z", [
    (0.55, 1.6, 0.9), (0.55, 1.6, 0.999), (1e4, 1e4 + 1.6, 0.9999), (0.3, 5000.0, 0.9999),
    (1.5, 2.5, 0.9999), (0.02, 1.03, 0.9999), (1.001, 1.002, 0.9999), (3.0, 50.0, 0.95)])
def test_log_s_matches_the_long_series(p, q, z):
    ref = _log_s_reference(p, q, z)
    got = log_s(p, q, z)[0][0]
    assert got == pytest.approx(ref, rel=1e-10, abs=1e-13)


@pytest.mark.parametrize("p, q, z", [(0.55, 1.6, 0.3), (7.0, 9.5, 0.6), (1.6, 40.0, 0.8)])
def test_log_s_matches_scipy_where_scipy_is_accurate(p, q, z):
    assert log_s(p, q, z)[0][0] == pytest.approx(np.log(special.hyp2f1(1.0, p, q, z)),
                                                 rel=1e-13)


@pytest.mark.parametrize("p, q, z", [(0.55, 1.6, 0.9), (1e4, 1e4 + 1.6, 0.99),
                                     (3.0, 4.5, 0.95), (1e3, 1e3 + 0.1, 0.99)])
def test_quadrature_and_series_agree(p, q, z):
    P, Q, Z = (np.array([v]) for v in (p, q, z))
    series = _log_s_series(P, Q, Z, max_terms=200_000)
    assert series[4].all()
    quad = _log_s_quad(P, Q, Z, 1.0 - Z)
    for a, b in zip(quad, series[:4]):
        assert a[0] == pytest.approx(b[0], rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("p, q, z", [(0.55, 1.6, 0.5), (0.55, 1.6, 0.999), (50.0, 52.0, 0.99),
                                     (1e4, 1e4 + 1.6, 0.9999)])
def test_log_s_derivatives_match_finite_differences(p, q, z):
    _, d_p, d_q, d_z = log_s(p, q, z)
    h = 1e-6
    fd_p = (log_s(p * (1 + h), q, z)[0] - log_s(p * (1 - h), q, z)[0]) / (2 * h * p)
    fd_q = (log_s(p, q * (1 + h), z)[0] - log_s(p, q * (1 - h), z)[0]) / (2 * h * q)
    hz = (1 - z) * 1e-5
    fd_z = (log_s(p, q, z + hz)[0] - log_s(p, q, z - hz)[0]) / (2 * hz)
    np.testing.assert_allclose([d_p[0], d_q[0], d_z[0]], [fd_p[0], fd_q[0], fd_z[0]],
                               rtol=1e-5)


# ---- the likelihood -------------------------------------------------------------------------

def _loglik_by_quadrature(params, x, t_x, T):
    """The likelihood's integral over the death time computed by scipy's adaptive
    quadrature (independent of the 2F1 route)."""
    r, alpha, s, beta = params

    def integrand(u):  # u = log(beta + tau), which spreads the mass near tau = 0
        tau = np.exp(u) - beta
        return np.exp(-(r + x) * np.log((alpha + tau) / (alpha + T))
                      - s * (u - np.log(beta + T)))

    integral = integrate.quad(integrand, np.log(beta + t_x), np.log(beta + T), epsabs=0,
                              epsrel=1e-12, limit=200)[0]
    return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
            + s * np.log(beta) - (r + x) * np.log(alpha + T) - s * np.log(beta + T)
            + np.log1p(s * integral))


@pytest.mark.parametrize("params", [PARAMS, (0.01, 1e-3, 0.5, 10.0), (3.0, 100.0, 0.1, 1e-3),
                                    (1.0, 1e3, 2.0, 1e-4), (0.2, 5.0, 5.0, 5.0)])
@pytest.mark.parametrize("row", [(0, 0, 40), (3, 20, 40), (100, 39, 40), (2, 0.5, 1e5),
                                 (5, 40, 40)])
def test_loglik_matches_direct_integration(params, row):
    ours = paretonbd_loglik(params, *row)
    assert ours == pytest.approx(_loglik_by_quadrature(params, *row), rel=1e-9, abs=1e-11)


def test_vectorised_equals_one_row_at_a_time(cdnow_summary):
    x, t_x, T = _cols(cdnow_summary.iloc[:60])
    whole = paretonbd_loglik(PARAMS, x, t_x, T)
    single = [paretonbd_loglik(PARAMS, a, b, c) for a, b, c in zip(x, t_x, T)]
    np.testing.assert_allclose(whole, single, rtol=1e-13)


def test_branches_meet_at_alpha_equal_beta(cdnow_summary):
    x, t_x, T = _cols(cdnow_summary)
    at = paretonbd_loglik((0.55, 11.0, 0.61, 11.0), x, t_x, T)
    for eps in (1e-9, -1e-9):
        near = paretonbd_loglik((0.55, 11.0 + eps, 0.61, 11.0), x, t_x, T)
        np.testing.assert_allclose(near, at, rtol=1e-8)


@pytest.mark.parametrize("params", [PARAMS, (0.5533, 12.5775, 0.6062, 11.6677),
                                    (0.5, 1e-3, 0.6, 10.0), (2.0, 50.0, 0.3, 1e-3)],
                         ids=["alpha<beta", "alpha>beta", "z near 1 (a<b)", "z near 1 (a>b)"])
def test_gradient_matches_finite_differences(cdnow_summary, params):
    table = cdnow_summary.iloc[::7]
    x, t_x, T = _cols(table)
    data = CustomerArrays({"frequency": x, "recency": t_x, "T": T})
    w = np.linspace(0.5, 2.0, len(x))
    total, grad = paretonbd_loglik_grad(np.array(params), data, w)
    assert total == pytest.approx(np.dot(w, paretonbd_loglik(params, x, t_x, T)), rel=1e-12)
    fd = np.empty(4)
    for k in range(4):  # central differences in log-parameter space
        up, down = np.array(params, float), np.array(params, float)
        up[k] *= np.exp(1e-6)
        down[k] *= np.exp(-1e-6)
        fd[k] = (np.dot(w, paretonbd_loglik(up, x, t_x, T))
                 - np.dot(w, paretonbd_loglik(down, x, t_x, T))) / 2e-6
    np.testing.assert_allclose(grad * np.array(params), fd, rtol=1e-5,
                               atol=1e-6 * np.abs(fd).max())


EXTREME_ROWS = np.array([(0, 0, 1e-3), (0, 0, 40.0), (0, 0, 1e5), (1, 1e-3, 1e-3),
                         (10, 40.0, 40.0), (1e4, 1e5, 1e5), (1e4, 50.0, 1e5),
                         (1e4, 1.0, 1e5), (3, 2.0, 1e5)])


@given(st.tuples(*[st.floats(-12.0, 12.0) for _ in range(4)]))
def test_no_nan_or_inf_at_the_extremes(log_params):
    params = np.exp(np.array(log_params))
    x, t_x, T = EXTREME_ROWS.T
    ll = paretonbd_loglik(params, x, t_x, T)
    data = CustomerArrays({"frequency": x, "recency": t_x, "T": T})
    _, grad = paretonbd_loglik_grad(params, data, np.ones(len(x)))
    alive = paretonbd_probability_alive(params, x, t_x, T)
    expected = paretonbd_expected_purchases(params, 52.0, x, t_x, T)
    assert np.all(np.isfinite(ll)) and np.all(np.isfinite(grad))
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(expected)) and np.all(expected >= 0)
    n = np.arange(4)[:, None]
    probs = paretonbd_purchase_probability(params, n, 52.0, x, t_x, T)
    assert np.all((probs >= 0) & (probs <= 1))
    assert np.all(probs.sum(axis=0) <= 1.0 + 1e-12)


def test_extreme_histories_have_sensible_values():
    x = np.array([0.0, 1e4, 1e4])
    t_x = np.array([0.0, 1e5, 10.0])
    T = np.array([1e5, 1e5, 1e5])
    alive = paretonbd_probability_alive(PARAMS, x, t_x, T)
    # silent for 1e5 weeks: dead; 1e4 purchases up to the end: alive; stopped early: dead
    assert alive[0] < 1e-3 and alive[1] == pytest.approx(1.0) and alive[2] < 1e-300
    # an active heavy buyer's rate is about x / T per week
    assert paretonbd_expected_purchases(PARAMS, 10.0, x, t_x, T)[1] == pytest.approx(
        1.0, rel=0.01)


# ---- predictions --------------------------------------------------------------------------

def test_purchase_probability_is_a_distribution_with_the_right_mean(cdnow_summary):
    x, t_x, T = _cols(cdnow_summary.iloc[[0, 1, 2, 10, 150]])
    n = np.arange(80)[:, None]
    probs = paretonbd_purchase_probability(PARAMS, n, 26.0, x, t_x, T)
    assert np.all(probs >= 0)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-10)
    np.testing.assert_allclose((n * probs).sum(axis=0),
                               paretonbd_expected_purchases(PARAMS, 26.0, x, t_x, T),
                               rtol=1e-8)


@pytest.mark.parametrize("params, row, t", [
    (PARAMS, (2.0, 30.4, 38.9), 5.0),
    (PARAMS, (0.0, 0.0, 38.9), 26.0),
    ((1.0, 1.0, np.exp(13.0), np.e), (1.0, 1e-3, 1e-3), 52.0),  # dies within days
    ((0.5, 2.0, 50.0, 1.0), (5.0, 10.0, 10.0), 26.0),
])
def test_no_purchase_probability_is_the_complement_of_the_others(params, row, t):
    """P(0) is computed from the probability of at least one purchase where it is the
    likely outcome; that small complement must equal the sum of P(n >= 1), each from its
    own integral, to the accuracy of the quadrature, and P(0) must not exceed 1."""
    n = np.arange(400)
    probs = paretonbd_purchase_probability(params, n, t, *row)
    assert probs[0] > 0.5 and probs[0] <= 1.0
    tail = math.fsum(probs[1:])
    assert probs[-1] < 1e-20 * tail  # the sum over n < 400 holds all the mass
    np.testing.assert_allclose(1.0 - probs[0], tail, rtol=1e-9)


def test_new_customer_probability_and_expectation_agree():
    n = np.arange(150)
    probs = paretonbd_purchase_probability(PARAMS, n, 39.0, 0.0, 0.0, 0.0)
    assert probs.sum() == pytest.approx(1.0, abs=1e-10)
    assert np.dot(n, probs) == pytest.approx(
        float(paretonbd_expected_purchases_new_customer(PARAMS, 39.0)), rel=1e-8)
    assert paretonbd_purchase_probability(PARAMS, [0, 2], 0.0, 0.0, 0.0, 0.0).tolist() == [
        1.0, 0.0]


def test_expected_purchases_at_s_equal_one_is_the_limit():
    row = (2.0, 30.0, 38.0)
    at = paretonbd_expected_purchases((0.5, 10.0, 1.0, 12.0), 20.0, *row)
    for eps in (1e-7, -1e-7):
        near = paretonbd_expected_purchases((0.5, 10.0, 1.0 + eps, 12.0), 20.0, *row)
        assert near == pytest.approx(at, rel=1e-6)


# ---- simulation -----------------------------------------------------------------------------

def test_sample_is_a_valid_table_consistent_with_the_model():
    rng = np.random.default_rng(3)
    T = np.full(40_000, 30.0)
    sim = paretonbd_sample(PARAMS, T, rng)
    x, t_x = sim["frequency"], sim["recency"]
    assert np.all(x == np.round(x)) and np.all((t_x >= 0) & (t_x <= T))
    assert np.all(t_x[x == 0] == 0)
    # the share without repeat purchase and the mean frequency follow the model
    p0 = paretonbd_purchase_probability(PARAMS, 0, 30.0, 0.0, 0.0, 0.0)
    assert np.mean(x == 0) == pytest.approx(float(p0), abs=4 * np.sqrt(p0 * (1 - p0) / 4e4))
    mean = float(paretonbd_expected_purchases_new_customer(PARAMS, 30.0))
    assert x.mean() == pytest.approx(mean, abs=4 * x.std() / np.sqrt(4e4))
    # P(alive) is calibrated among customers without a purchase
    silent = x == 0
    p_alive = paretonbd_probability_alive(PARAMS, 0.0, 0.0, 30.0)
    share = sim["alive"][silent].mean()
    assert share == pytest.approx(float(p_alive), abs=4 * np.sqrt(0.25 / silent.sum()))


def test_parameters_are_recovered_from_simulated_data():
    true = np.array([0.8, 6.0, 0.9, 15.0])
    rng = np.random.default_rng(1)
    T = rng.integers(20, 80, 20_000).astype(float)  # whole weeks, recency to the day
    table = pd.DataFrame(paretonbd_sample(true, T, rng))[["frequency", "recency", "T"]]
    table["recency"] = np.floor(table["recency"] * 7.0) / 7.0
    model = ParetoNBD().fit(table)
    assert model.converged_
    z = (model.params_.to_numpy() - true) / model.stderr_.to_numpy()
    assert np.all(np.abs(z) < 2), z
    # likelihood-ratio statistic against the truth: chi-square with 4 degrees of freedom
    ll_true = paretonbd_loglik(true, *_cols(table)).sum()
    assert 0.0 <= 2.0 * (model.loglik_ - ll_true) < 18.47  # 99.9% quantile


# ---- the estimator --------------------------------------------------------------------------

def test_estimator_methods(fitted, cdnow_summary):
    table = cdnow_summary.head(50)
    x, t_x, T = _cols(table)
    params = fitted.params_.to_numpy()
    np.testing.assert_allclose(fitted.predict(table),
                               paretonbd_expected_purchases(params, 52.0, x, t_x, T))
    np.testing.assert_allclose(fitted.probability_alive(table),
                               paretonbd_probability_alive(params, x, t_x, T))
    np.testing.assert_allclose(fitted.probability_alive(table, t=10.0),
                               paretonbd_probability_alive(params, x, t_x, T + 10.0))
    np.testing.assert_allclose(fitted.score_samples(table),
                               paretonbd_loglik(params, x, t_x, T))
    assert fitted.score(table) == pytest.approx(fitted.score_samples(table).mean())
    np.testing.assert_allclose(fitted.purchase_probability(table.head(5), 1, 10.0),
                               paretonbd_purchase_probability(params, 1, 10.0, x[:5],
                                                              t_x[:5], T[:5]))
    assert list(fitted.get_feature_names_out()) == ["expected_purchases", "p_alive"]
    out = clone(fitted).set_output(transform="pandas").fit(cdnow_summary).transform(table)
    assert list(out.columns) == ["expected_purchases", "p_alive"]
    sim = fitted.sample(100, T=39.0, random_state=0)
    assert {"frequency", "recency", "T", "lambda_", "mu_", "alive"} <= set(sim.columns)
    assert list(fitted.summary().index) == ["r", "alpha", "s", "beta"]


def test_clone_pickle_and_dict_round_trip(fitted, cdnow_summary):
    table = cdnow_summary.head(20)
    assert clone(fitted).get_params() == fitted.get_params()
    for restored in (pickle.loads(pickle.dumps(fitted)),
                     ParetoNBD.from_dict(json.loads(json.dumps(fitted.to_dict())))):
        assert isinstance(restored, ParetoNBD)
        pd.testing.assert_series_equal(restored.params_, fitted.params_)
        np.testing.assert_array_equal(restored.predict(table), fitted.predict(table))


def test_invalid_tables_are_rejected(cdnow_summary):
    bad = cdnow_summary.head(10).copy()
    bad.loc[bad.index[2], "recency"] = 50.0
    with pytest.raises(InvalidDataError, match="Column 'recency': 1 of 10 rows"):
        ParetoNBD().fit(bad)
    frac = cdnow_summary.head(10).astype({"frequency": float})
    frac.loc[frac.index[0], "frequency"] = 1.5
    with pytest.raises(CustsegError, match="Column 'frequency'.*whole numbers"):
        ParetoNBD().fit(frac)
    with pytest.raises(MissingColumnError, match="missing column.*'T'"):
        ParetoNBD().fit(cdnow_summary.drop(columns="T"))
    with pytest.raises(NotFittedError, match="not fitted"):
        ParetoNBD().predict(cdnow_summary)
