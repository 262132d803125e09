"""BG/BB: published estimates on the donations data, parity with lifetimes, likelihood and
predictions against enumeration, gradient, simulation, recovery and the estimator."""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from sklearn.base import clone

from custseg.exceptions import (
    CustsegError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.models._bgbb import (
    BetaGeoBetaBinom,
    bgbb_expected_purchases,
    bgbb_loglik,
    bgbb_loglik_grad,
    bgbb_probability_alive,
    bgbb_purchase_probability,
    bgbb_sample,
)
from custseg.models._mle import CustomerArrays

#: Fader, Hardie & Shang (2010), Table 2: estimates on the donations data
PAPER = {"alpha": 1.204, "beta": 0.750, "gamma": 0.657, "delta": 2.783}
PARAMS = tuple(PAPER.values())


def _cols(table):
    n = table["n_periods"] if "n_periods" in table else table["periods"]
    return (table["frequency"].to_numpy(float), table["recency"].to_numpy(float),
            n.to_numpy(float))


@pytest.fixture(scope="module")
def fitted(donations):
    return BetaGeoBetaBinom(weights_column="weights").fit(donations)


# ---- published values -----------------------------------------------------------------

def test_donations_estimates_match_the_paper(fitted):
    assert fitted.params_.round(3).to_dict() == {"alpha": 1.204, "beta": 0.75,
                                                 "gamma": 0.657, "delta": 2.783}
    assert round(fitted.loglik_, 1) == -33225.6
    assert fitted.converged_
    assert fitted.data_summary_["n_customers"] == 11104
    assert np.all(np.isfinite(fitted.stderr_)) and np.all(fitted.stderr_ > 0)


def test_weights_by_column_sample_weight_or_expanded_rows_agree(donations, fitted):
    by_weight = BetaGeoBetaBinom().fit(donations, sample_weight=donations["weights"])
    expanded = donations.loc[donations.index.repeat(donations["weights"])]
    by_rows = BetaGeoBetaBinom().fit(expanded.drop(columns="weights"))
    for model in (by_weight, by_rows):
        np.testing.assert_allclose(model.params_.to_numpy(), fitted.params_.to_numpy(),
                                   rtol=1e-6)
        assert model.loglik_ == pytest.approx(fitted.loglik_, rel=1e-10)


def test_periods_and_n_periods_names_are_both_accepted(donations, fitted):
    renamed = donations.rename(columns={"periods": "n_periods"})
    model = BetaGeoBetaBinom(weights_column="weights").fit(renamed)
    pd.testing.assert_series_equal(model.params_, fitted.params_)
    np.testing.assert_array_equal(fitted.predict(renamed), fitted.predict(donations))


def test_score_uses_the_weights_column(donations, fitted):
    assert fitted.score(donations) == pytest.approx(fitted.loglik_ / 11104, rel=1e-12)
    plain = fitted.score(donations.drop(columns="weights"))
    assert plain == pytest.approx(fitted.score_samples(donations).mean())


# ---- parity with lifetimes ---------------------------------------------------------------

def _peer(lifetimes, donations):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.BetaGeoBetaBinomFitter().fit(
            donations["frequency"], donations["recency"], donations["periods"],
            weights=donations["weights"])


@pytest.mark.parity
def test_fit_agrees_with_lifetimes(lifetimes, donations, fitted):
    peer = _peer(lifetimes, donations)
    theirs = peer.params_[["alpha", "beta", "gamma", "delta"]].to_numpy()
    x, t_x, n = _cols(donations)
    w = donations["weights"].to_numpy(float)
    ll_theirs = np.dot(w, bgbb_loglik(theirs, x, t_x, n))
    assert np.all(np.abs(theirs / fitted.params_.to_numpy() - 1) < 1e-4)
    assert fitted.loglik_ >= ll_theirs - 1e-8
    assert fitted.loglik_ == pytest.approx(ll_theirs, rel=1e-4)
    np.testing.assert_allclose(fitted.stderr_.to_numpy(), peer.standard_errors_.to_numpy(),
                               rtol=1e-3)


@pytest.mark.parity
def test_predictions_agree_with_lifetimes(lifetimes, donations, fitted):
    peer = _peer(lifetimes, donations)
    params = fitted.params_.to_numpy()
    peer.params_ = pd.Series(params, index=peer.params_.index)
    x, t_x, n = _cols(donations)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(bgbb_loglik(params, x, t_x, n),
                                   peer._loglikelihood(params, x, t_x, n), rtol=1e-12)
        for m in (0, 1, 5):
            np.testing.assert_allclose(bgbb_probability_alive(params, x, t_x, n, m),
                                       peer.conditional_probability_alive(m, x, t_x, n),
                                       rtol=1e-6)
        for t in (1, 5, 10):
            np.testing.assert_allclose(
                bgbb_expected_purchases(params, t, x, t_x, n),
                peer.conditional_expected_number_of_purchases_up_to_time(t, x, t_x, n),
                rtol=1e-6)
        table = peer.expected_number_of_transactions_in_first_n_periods(6)
    k = table.index.to_numpy()
    ours = bgbb_purchase_probability(params, k, 6, 0, 0, 0) * 11104
    np.testing.assert_allclose(ours, table["model"].to_numpy(), rtol=1e-6)


# ---- likelihood and predictions against enumeration --------------------------------------

def _histories(n):
    """Every (x, t_x) summary of n opportunities with the number of binary strings
    (transaction or not at each opportunity) that have it."""
    rows = [(0, 0, 1)]
    for t_x in range(1, n + 1):
        for x in range(1, t_x + 1):
            rows.append((x, t_x, special.comb(t_x - 1, x - 1, exact=True)))
    return np.array(rows, dtype=float).T


@pytest.mark.parametrize("n", [1, 6, 15])
@pytest.mark.parametrize("params", [PARAMS, (0.3, 2.0, 1.5, 0.7), (5.0, 5.0, 0.05, 20.0)])
def test_likelihood_is_a_distribution_over_histories(n, params):
    x, t_x, count = _histories(n)
    L = np.exp(bgbb_loglik(params, x, t_x, n))
    assert np.dot(count, L) == pytest.approx(1.0, abs=1e-12)
    # and P(X(n) = k) of a new customer (eq. 7) is the sum over histories with x = k
    pmf = bgbb_purchase_probability(params, np.arange(n + 1), n, 0, 0, 0)
    by_x = np.bincount(x.astype(int), weights=count * L, minlength=n + 1)
    np.testing.assert_allclose(pmf, by_x, atol=1e-14)


def test_conditional_predictions_are_consistent():
    x, t_x, n = np.array([0.0, 2.0, 4.0, 6.0]), np.array([0.0, 3.0, 6.0, 6.0]), 6.0
    t = 7
    probs = bgbb_purchase_probability(PARAMS, np.arange(t + 1)[:, None], t, x, t_x, n)
    np.testing.assert_allclose(probs.sum(axis=0), 1.0, atol=1e-12)
    np.testing.assert_allclose((np.arange(t + 1)[:, None] * probs).sum(axis=0),
                               bgbb_expected_purchases(PARAMS, t, x, t_x, n), rtol=1e-10)
    # P(alive) at later opportunities, unconditionally on future transactions, decreases
    alive = [bgbb_probability_alive(PARAMS, x, t_x, n, m) for m in range(4)]
    assert np.all(np.diff(alive, axis=0) < 0)


def test_expected_purchases_at_gamma_equal_one_is_the_limit():
    at = bgbb_expected_purchases((1.2, 0.75, 1.0, 2.8), 5, 2.0, 4.0, 6.0)
    for eps in (1e-6, -1e-6):
        near = bgbb_expected_purchases((1.2, 0.75, 1.0 + eps, 2.8), 5, 2.0, 4.0, 6.0)
        assert near == pytest.approx(at, rel=1e-5)


@pytest.mark.parametrize("params", [PARAMS, (0.3, 2.0, 1.5, 0.7), (40.0, 1e-3, 1e-3, 50.0)])
def test_gradient_matches_finite_differences(donations, params):
    x, t_x, n = _cols(donations)
    w = donations["weights"].to_numpy(float)
    data = CustomerArrays({"frequency": x, "recency": t_x, "n_periods": n})
    total, grad = bgbb_loglik_grad(np.array(params), data, w)
    assert total == pytest.approx(np.dot(w, bgbb_loglik(params, x, t_x, n)), rel=1e-13)
    fd = np.empty(4)
    for k in range(4):
        up, down = np.array(params, float), np.array(params, float)
        up[k] *= np.exp(1e-6)
        down[k] *= np.exp(-1e-6)
        fd[k] = (np.dot(w, bgbb_loglik(up, x, t_x, n))
                 - np.dot(w, bgbb_loglik(down, x, t_x, n))) / 2e-6
    # central differences of a sum of ~3e4: rounding error about 1e-16 * 3e4 / 1e-6
    np.testing.assert_allclose(grad * np.array(params), fd, rtol=1e-6, atol=1e-4)


@given(st.tuples(*[st.floats(-10.0, 10.0) for _ in range(4)]))
def test_no_nan_or_inf_at_the_extremes(log_params):
    params = np.exp(np.array(log_params))
    x = np.array([0.0, 0.0, 1.0, 500.0, 3.0, 250.0])
    t_x = np.array([0.0, 0.0, 1.0, 500.0, 500.0, 260.0])
    n = np.array([0.0, 500.0, 1.0, 500.0, 500.0, 500.0])
    ll = bgbb_loglik(params, x, t_x, n)
    data = CustomerArrays({"frequency": x, "recency": t_x, "n_periods": n})
    _, grad = bgbb_loglik_grad(params, data, np.ones(len(x)))
    alive = bgbb_probability_alive(params, x, t_x, n)
    expected = bgbb_expected_purchases(params, 10, x, t_x, n)
    assert np.all(np.isfinite(ll)) and np.all(ll <= 1e-12) and np.all(np.isfinite(grad))
    assert np.all((alive >= 0) & (alive <= 1))
    assert np.all(np.isfinite(expected)) and np.all((expected >= 0) & (expected <= 10 + 1e-9))


# ---- simulation -----------------------------------------------------------------------------

def test_sample_is_a_valid_table_consistent_with_the_model():
    rng = np.random.default_rng(5)
    sim = bgbb_sample(PARAMS, np.full(50_000, 6.0), rng)
    x, t_x = sim["frequency"], sim["recency"]
    assert np.all((x <= t_x) & (t_x <= 6)) and np.all(t_x[x == 0] == 0)
    assert np.all(t_x[x > 0] >= 1)
    # distribution of repeat transactions (eq. 7) and P(alive) among the silent
    pmf = bgbb_purchase_probability(PARAMS, np.arange(7), 6, 0, 0, 0)
    observed = np.bincount(x.astype(int), minlength=7) / len(x)
    np.testing.assert_allclose(observed, pmf, atol=4 * np.sqrt(0.25 / len(x)))
    silent = x == 0
    p_alive = float(bgbb_probability_alive(PARAMS, 0.0, 0.0, 6.0))
    assert sim["alive"][silent].mean() == pytest.approx(p_alive,
                                                        abs=4 * np.sqrt(0.25 / silent.sum()))


def test_parameters_are_recovered_from_simulated_data():
    true = np.array([0.9, 1.4, 0.5, 3.0])
    rng = np.random.default_rng(0)
    table = pd.DataFrame(bgbb_sample(true, np.full(30_000, 8.0), rng))
    model = BetaGeoBetaBinom().fit(table)
    assert model.converged_
    z = (model.params_.to_numpy() - true) / model.stderr_.to_numpy()
    assert np.all(np.abs(z) < 2), z
    ll_true = bgbb_loglik(true, *_cols(table)).sum()
    assert 0.0 <= 2.0 * (model.loglik_ - ll_true) < 18.47  # chi-square(4), 99.9%


# ---- the estimator --------------------------------------------------------------------------

def test_estimator_methods(fitted, donations):
    x, t_x, n = _cols(donations)
    params = fitted.params_.to_numpy()
    np.testing.assert_allclose(fitted.predict(donations),
                               bgbb_expected_purchases(params, 1, x, t_x, n))
    yearly = clone(fitted).set_params(time_unit="Y").fit(donations)
    np.testing.assert_allclose(yearly.predict(donations), fitted.predict(donations))
    five = clone(fitted).set_params(horizon=5).fit(donations)
    np.testing.assert_allclose(five.predict(donations),
                               bgbb_expected_purchases(params, 5, x, t_x, n), rtol=1e-6)
    np.testing.assert_allclose(fitted.probability_alive(donations),
                               bgbb_probability_alive(params, x, t_x, n))
    np.testing.assert_allclose(fitted.probability_alive(donations, t=2),
                               bgbb_probability_alive(params, x, t_x, n + 2))
    np.testing.assert_allclose(fitted.purchase_probability(donations, 1, 3),
                               bgbb_purchase_probability(params, 1, 3, x, t_x, n))
    np.testing.assert_allclose(fitted.expected_purchases_new_customer([1, 6]),
                               bgbb_expected_purchases(params, [1, 6], 0, 0, 0))
    out = fitted.set_output(transform="pandas").transform(donations)
    assert list(out.columns) == ["expected_purchases", "p_alive"]
    sim = fitted.sample(200, 6, random_state=0)
    assert {"frequency", "recency", "n_periods", "p_", "theta_", "alive"} <= set(sim.columns)
    assert list(fitted.summary().index) == ["alpha", "beta", "gamma", "delta"]


def test_clone_pickle_and_dict_round_trip(fitted, donations):
    assert clone(fitted).get_params() == fitted.get_params()
    for restored in (pickle.loads(pickle.dumps(fitted)),
                     BetaGeoBetaBinom.from_dict(json.loads(json.dumps(fitted.to_dict())))):
        assert isinstance(restored, BetaGeoBetaBinom)
        assert restored.weights_column == "weights"
        pd.testing.assert_series_equal(restored.params_, fitted.params_)
        np.testing.assert_array_equal(restored.predict(donations), fitted.predict(donations))


def test_invalid_tables_and_arguments_are_rejected(donations, fitted):
    bad = donations.copy()
    bad.loc[3, "recency"] = 7
    with pytest.raises(InvalidDataError, match="Column 'recency': 1 of 22 rows.*after the last"):
        BetaGeoBetaBinom().fit(bad)
    bad = donations.copy()
    bad.loc[2, "frequency"] = 3  # three transactions by opportunity 2
    with pytest.raises(InvalidDataError, match="Column 'frequency': 1 of 22 rows exceed"):
        BetaGeoBetaBinom().fit(bad)
    bad = donations.astype({"recency": float})
    bad.loc[2, "recency"] = 2.5
    with pytest.raises(InvalidDataError, match="Column 'recency'.*whole numbers"):
        BetaGeoBetaBinom().fit(bad)
    with pytest.raises(MissingColumnError, match="missing column.*'counts'"):
        BetaGeoBetaBinom(weights_column="counts").fit(donations)
    with pytest.raises(InvalidParameterError, match="either sample_weight or weights_column"):
        BetaGeoBetaBinom(weights_column="weights").fit(donations,
                                                       sample_weight=donations["weights"])
    with pytest.raises(InvalidDataError, match="needs a DataFrame"):
        BetaGeoBetaBinom(weights_column="weights").fit(donations.to_numpy()[:, :3])
    negative = donations.copy()
    negative.loc[0, "weights"] = -1
    with pytest.raises(InvalidDataError, match="Column 'weights': 1 of 22 rows"):
        BetaGeoBetaBinom(weights_column="weights").fit(negative)
    with pytest.raises(InvalidParameterError, match="whole number of opportunities"):
        fitted.expected_purchases(donations, t=1.5)
    with pytest.raises(CustsegError, match="whole number of opportunities"):
        BetaGeoBetaBinom(horizon=2.5).fit(donations)
