"""BG/NBD: published estimates, parity with lifetimes, identities, recovery, extremes."""

import json
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import special
from sklearn.model_selection import GridSearchCV

from custseg.datasets import CDNOW_PARAMS, make_transactions
from custseg.models import BetaGeo
from custseg.models._bgnbd import (
    bgnbd_expected_purchases,
    bgnbd_loglik,
    bgnbd_loglik_grad,
    bgnbd_loglik_hess,
    bgnbd_probability_alive,
    bgnbd_purchase_probability,
)
from custseg.models._mle import CustomerArrays
from custseg.models._special import hyp2f1, log_hyp2f1

COLS = ["frequency", "recency", "T"]


@pytest.fixture(scope="module")
def model(cdnow_summary):
    return BetaGeo().fit(cdnow_summary)


@pytest.fixture(scope="module")
def lt_model(lifetimes, cdnow_summary):
    t = cdnow_summary
    return lifetimes.BetaGeoFitter().fit(t["frequency"], t["recency"], t["T"])


def _arrays(table):
    return [table[c].to_numpy(dtype=float) for c in COLS]


# ---- published values and lifetimes ----------------------------------------------------------

def test_cdnow_estimates_match_the_paper(model):
    # Fader, Hardie & Lee (2005): r = 0.243, alpha = 4.414, a = 0.793,
    # b = 2.426, LL = -9582.4 on the 39-week CDNOW calibration sample
    assert model.params_.round(3).to_dict() == {"r": 0.243, "alpha": 4.414, "a": 0.793,
                                                "b": 2.426}
    assert round(model.loglik_, 1) == -9582.4
    assert model.converged_


@pytest.mark.parity
def test_parameters_and_loglik_match_lifetimes(model, lt_model, lifetimes, cdnow_summary):
    ours = model.params_
    theirs = lt_model.params_[ours.index]
    x, t_x, T = _arrays(cdnow_summary)
    their_ll = -len(x) * lifetimes.BetaGeoFitter._negative_log_likelihood(
        np.log(theirs.to_numpy()), x, t_x, T, np.ones_like(x), 0.0)
    assert model.loglik_ >= their_ll - 1e-6  # never a worse optimum
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    np.testing.assert_allclose(model.loglik_, their_ll, rtol=1e-4)
    # same likelihood function: evaluated at the same parameters
    np.testing.assert_allclose(bgnbd_loglik(theirs.to_numpy(), x, t_x, T).sum(), their_ll,
                               rtol=1e-12)
    np.testing.assert_allclose(model.stderr_, lt_model.standard_errors_[ours.index],
                               rtol=1e-3)


@pytest.mark.parity
def test_predictions_match_lifetimes_at_our_parameters(model, lt_model, cdnow_summary):
    lt_model.params_ = model.params_.copy()  # evaluate lifetimes' formulas at our optimum
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
    np.testing.assert_allclose(
        model.probability_alive_matrix(max_frequency=10, max_recency=39).to_numpy(),
        lt_model.conditional_probability_alive_matrix(max_frequency=10, max_recency=39),
        rtol=1e-6)


# ---- identities ----------------------------------------------------------------------------

params_st = st.tuples(st.floats(0.05, 5), st.floats(0.1, 50), st.floats(0.05, 5),
                      st.floats(0.05, 10))
history_st = st.tuples(st.integers(0, 30), st.floats(0, 1), st.floats(0.5, 100))


@given(params_st, history_st, st.floats(0.5, 60))
def test_purchase_probability_is_a_distribution_with_the_right_mean(params, hist, t):
    x, frac, T = hist
    t_x = frac * T if x > 0 else 0.0
    n = np.arange(0, 2000)
    p = bgnbd_purchase_probability(params, n, t, float(x), t_x, T)
    assert np.all((p >= 0) & (p <= 1 + 1e-12))
    # counts >= N need N purchases while alive: P <= P(NB(r + x, q) >= N) = I_q(N, r + x)
    r, alpha = params[:2]
    bound = special.betainc(len(n), r + x, t / (alpha + T + t))
    assert -1e-10 <= 1 - p.sum() <= bound + 1e-10
    if bound < 1e-15:
        np.testing.assert_allclose((n * p).sum(),
                                   bgnbd_expected_purchases(params, t, float(x), t_x, T),
                                   rtol=1e-6, atol=1e-10)


@given(params_st, st.floats(0.1, 100), st.integers(0, 20))
def test_new_customer_is_the_conditional_at_zero_history(params, t, n):
    model = BetaGeo()
    model.params_ = pd.Series(params, index=["r", "alpha", "a", "b"])
    np.testing.assert_allclose(model.purchase_probability_new_customer(n, t),
                               bgnbd_purchase_probability(params, n, t, 0.0, 0.0, 0.0),
                               rtol=1e-12)
    # eq. 9 by hand: (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
    r, alpha, a, b = params
    if abs(a - 1) > 1e-3:
        eq9 = (a + b - 1) / (a - 1) * (
            1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
        np.testing.assert_allclose(model.expected_purchases_new_customer(t), eq9,
                                   rtol=1e-6, atol=1e-12)


def test_probability_alive_of_customers_without_repeat_purchase_is_one(model):
    X = pd.DataFrame({"frequency": [0, 0], "recency": [0, 0], "T": [1.0, 1e5]})
    np.testing.assert_array_equal(model.probability_alive(X), [1.0, 1.0])
    assert np.all(model.probability_alive(X, t=1e6) == 1.0)


def test_expected_purchases_continuous_in_a_through_one(cdnow_summary):
    x, t_x, T = _arrays(cdnow_summary.head(50))
    at_one = bgnbd_expected_purchases((0.3, 4.0, 1.0, 2.0), 20.0, x, t_x, T)
    near = bgnbd_expected_purchases((0.3, 4.0, 1.0 + 1e-4, 2.0), 20.0, x, t_x, T)
    np.testing.assert_allclose(at_one, near, rtol=1e-3)


@pytest.mark.parametrize("params", [(0.243, 4.414, 0.793, 2.426), (2.0, 0.5, 3.0, 0.4)])
def test_gradient_and_hessian_match_finite_differences(cdnow_summary, params):
    data = CustomerArrays({c: cdnow_summary[c].to_numpy(dtype=float) for c in COLS})
    w = np.random.default_rng(0).uniform(0.5, 2.0, len(cdnow_summary))
    p = np.array(params)
    total, grad, hess = bgnbd_loglik_hess(p, data, w)

    def f(q):
        return np.dot(w, bgnbd_loglik(q, data["frequency"], data["recency"], data["T"]))

    assert total == pytest.approx(f(p), rel=1e-12)
    num = np.empty(4)
    num_h = np.empty((4, 4))
    for j in range(4):
        e = np.zeros(4)
        e[j] = 1e-6 * p[j]
        num[j] = (f(p + e) - f(p - e)) / (2 * e[j])
        num_h[:, j] = (bgnbd_loglik_grad(p + e, data, w)[1]
                       - bgnbd_loglik_grad(p - e, data, w)[1]) / (2 * e[j])
    np.testing.assert_allclose(grad, num, rtol=1e-5)
    np.testing.assert_allclose(bgnbd_loglik_grad(p, data, w)[1], grad, rtol=1e-12)
    np.testing.assert_allclose(hess, num_h, rtol=1e-5, atol=1e-6 * np.abs(hess).max())


# ---- extremes ------------------------------------------------------------------------------

def test_no_nan_or_inf_at_extreme_histories(model):
    X = pd.DataFrame({"frequency": [0, 0, 5, 1e4, 1e4, 1e4, 1],
                      "recency": [0, 0, 30, 1e5, 50, 1e5 - 1, 1e5],
                      "T": [0, 1e5, 30, 1e5, 1e5, 1e5, 1e5]})
    for params in (model.params_.to_numpy(), np.array([20.0, 0.01, 0.02, 50.0]),
                   np.array([1e-3, 1e3, 30.0, 1e-3])):
        fitted = BetaGeo()
        fitted.params_ = pd.Series(params, index=["r", "alpha", "a", "b"])
        fitted.n_features_in_ = 3
        fitted.feature_names_in_ = np.array(COLS, dtype=object)
        fitted.data_summary_ = model.data_summary_
        outputs = [fitted.score_samples(X), fitted.probability_alive(X),
                   fitted.probability_alive(X, t=1e4), fitted.transform(X).ravel()]
        for t in (1.0, 52.0, 1e4):
            outputs.append(fitted.expected_purchases(X, t=t))
            for n in (0, 1, 100):
                outputs.append(fitted.purchase_probability(X, n=n, t=t))
        for out in outputs:
            assert np.all(np.isfinite(out)), params
        p = fitted.purchase_probability(X, n=0, t=52.0)
        assert np.all((p >= 0) & (p <= 1))
        grad = bgnbd_loglik_hess(params, CustomerArrays({c: X[c].to_numpy(float)
                                                         for c in COLS}), np.ones(len(X)))
        assert all(np.all(np.isfinite(g)) for g in grad)


def test_guarded_hyp2f1_where_scipy_overflows():
    # the 2F1 of the BG/NBD expectation for a customer with 10,000 purchases
    a, b, c, z = 1e4 + 0.24, 1e4 + 2.4, 1e4 + 2.2, 0.9
    assert not np.isfinite(__import__("scipy").special.hyp2f1(a, b, c, z))
    assert np.isfinite(log_hyp2f1(a, b, c, z))
    # Euler's transformation by hand: (1-z)^(c-a-b) 2F1(c-a, c-b; c; z)
    by_hand = (c - a - b) * np.log1p(-z) + np.log(hyp2f1(c - a, c - b, c, z))
    np.testing.assert_allclose(log_hyp2f1(a, b, c, z), by_hand, rtol=1e-10)
    # the series fallback agrees with scipy where scipy is accurate
    from custseg.models._special import _log_series
    np.testing.assert_allclose(_log_series(np.array([2.5]), np.array([1.5]),
                                           np.array([4.0]), np.array([0.7])),
                               np.log(hyp2f1(2.5, 1.5, 4.0, 0.7)), rtol=1e-12)
    # negative arguments go through Pfaff's transformation
    np.testing.assert_allclose(log_hyp2f1(1.0, 1.0, 2.0, -0.5), np.log(np.log(1.5) / 0.5),
                               rtol=1e-12)


# ---- recovery from simulated data ---------------------------------------------------------

TRUE = np.array([CDNOW_PARAMS[k] for k in ("r", "alpha", "a", "b")])


def assert_recovers(model, truth):
    """The truth lies in the 95% confidence ellipsoid of the estimates (Wald statistic
    below the chi-square(4) quantile 9.49, "within two standard errors" jointly: r and
    alpha are strongly correlated, so they stray together), and every parameter within
    three standard errors."""
    d = model.params_.to_numpy() - truth
    wald = d @ np.linalg.solve(model.covariance_.to_numpy(), d)
    z = d / model.stderr_.to_numpy()
    assert wald < 9.49, (wald, z)
    assert np.all(np.abs(z) < 3.0), z


@pytest.mark.parametrize("n", [20_000, 100_000])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_recovers_simulated_parameters(n, seed):
    customers = make_transactions(n, random_state=seed).customers
    model = BetaGeo(random_state=0).fit(customers[COLS])
    assert model.converged_
    assert_recovers(model, TRUE)


def test_recovers_parameters_from_an_rfm_summary_of_the_log():
    features = pytest.importorskip("custseg.features")
    sim = make_transactions(20_000, random_state=7)
    table = features.rfm_summary(sim.transactions, observation_period_end=sim.
                                 observation_period_end, freq="D", freq_multiplier=7)
    assert_recovers(BetaGeo().fit(table), TRUE)


def test_sample_reproduces_the_new_customer_distribution(model):
    sim = model.sample(40_000, T=39.0, random_state=0)
    counts = np.bincount(sim["frequency"].astype(int), minlength=6)[:6] / len(sim)
    expected = model.purchase_probability_new_customer(np.arange(6), 39.0)
    se = np.sqrt(expected * (1 - expected) / len(sim))
    assert np.all(np.abs(counts - expected) < 4 * se)
    assert sim["frequency"].mean() == pytest.approx(
        float(model.expected_purchases_new_customer(39.0)), rel=0.03)
    assert np.all(sim["recency"] <= sim["T"])
    assert_recovers(BetaGeo().fit(sim), model.params_.to_numpy())


def test_time_unit_changes_only_alpha(cdnow_summary, model):
    days = cdnow_summary.assign(recency=cdnow_summary["recency"] * 7,
                                T=cdnow_summary["T"] * 7)
    daily = BetaGeo(time_unit="D").fit(days)
    expected = model.params_ * np.array([1, 7, 1, 1])
    np.testing.assert_allclose(daily.params_, expected, rtol=1e-5)
    np.testing.assert_allclose(daily.expected_purchases(days, t=70),
                               model.expected_purchases(cdnow_summary, t=10), rtol=1e-5)
    # a year by default: 365.25 days = 52.18 weeks
    np.testing.assert_allclose(daily.predict(days),
                               model.expected_purchases(cdnow_summary, t=365.25 / 7),
                               rtol=1e-5)


# ---- model selection and persistence ------------------------------------------------------

def test_grid_search_over_penalizer(cdnow_summary):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        search = GridSearchCV(BetaGeo(), {"penalizer": [0.0, 0.01, 1.0]}, cv=3)
        search.fit(cdnow_summary)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert scores[2] < scores[0]  # a heavy penalty fits held-out customers worse
    assert search.best_params_["penalizer"] in (0.0, 0.01)
    assert isinstance(search.best_estimator_, BetaGeo)


def test_penalizer_shrinks_the_parameters(cdnow_summary, model):
    penalised = BetaGeo(penalizer=0.1).fit(cdnow_summary)
    assert np.sum(penalised.params_**2) < np.sum(model.params_**2)
    assert penalised.loglik_ < model.loglik_


def test_json_round_trip_keeps_predictions(model, cdnow_summary):
    restored = BetaGeo.from_dict(json.loads(json.dumps(model.to_dict())))
    for method in ("predict", "probability_alive", "score_samples"):
        np.testing.assert_array_equal(getattr(restored, method)(cdnow_summary),
                                      getattr(model, method)(cdnow_summary))
    pd.testing.assert_frame_equal(restored.summary(), model.summary())


def test_transform_feeds_a_pipeline(model, cdnow_summary):
    out = model.set_output(transform="pandas").transform(cdnow_summary)
    assert list(out.columns) == ["expected_purchases", "p_alive"]
    np.testing.assert_allclose(out["expected_purchases"], model.predict(cdnow_summary))
    np.testing.assert_allclose(out["p_alive"], bgnbd_probability_alive(
        model.params_.to_numpy(), *_arrays(cdnow_summary)))
    model.set_output(transform="default")


# ---- parameter arrays broadcast against the customers ------------------------------------------

@pytest.mark.parametrize("m", [0, 1])
def test_parameter_draws_broadcast_like_a_loop(cdnow_summary, m):
    """Parameters of shape (n_draws, 1) against customers (n,) give (n_draws, n), equal to
    one call per draw; the a = 1 limit is taken elementwise (draws with a exactly 1 or
    within 1e-7 of it next to ordinary ones). More than 2048 x n_draws values exercise
    the evaluation on distinct (x, T) pairs."""
    from custseg.models._bgnbd import (
        bg_family_expected_purchases,
        bg_family_loglik,
        bg_family_probability_alive,
        bg_family_purchase_probability,
    )

    x, t_x, T = (np.tile(v, 2) for v in _arrays(cdnow_summary))
    rng = np.random.default_rng(5)
    draws = np.array([0.2426, 4.4135, 0.7929, 2.4258]) * np.exp(rng.normal(0, 0.2, (12, 4)))
    draws[3, 2], draws[7, 2] = 1.0, 1.0 + 5e-8
    params = draws.T[:, :, None]
    functions = [
        lambda p: bg_family_expected_purchases(p, 39.0, x, t_x, T, m),
        lambda p: bg_family_expected_purchases(p, np.linspace(0, 40, len(x)), x, t_x, T, m),
        lambda p: bg_family_probability_alive(p, x, t_x, T, m),
        lambda p: bg_family_purchase_probability(p, 2, 39.0, x, t_x, T, m),
        lambda p: bg_family_loglik(p, x, t_x, T, m),
        lambda p: bg_family_expected_purchases(p, np.arange(5.0), 0.0, 0.0, 0.0, m)]
    for fn in functions:
        together = fn(params)
        loop = np.array([fn(d) for d in draws])
        assert together.shape == loop.shape == (len(draws), *np.shape(fn(draws[0])))
        np.testing.assert_allclose(together, loop, rtol=1e-10, atol=0)
    # the limit at a = 1 is the mean of the values at 1 -/+ 1e-6
    lo, hi = draws[3].copy(), draws[3].copy()
    lo[2], hi[2] = 1.0 - 1e-6, 1.0 + 1e-6
    np.testing.assert_allclose(
        functions[0](params)[3],
        0.5 * (bg_family_expected_purchases(lo, 39.0, x, t_x, T, m)
               + bg_family_expected_purchases(hi, 39.0, x, t_x, T, m)), rtol=1e-12)


# ---- degenerate fits: a + b < 1 (issue 3) ------------------------------------------------------
def _expected_count_by_series(A, a, b, s, n_terms=200):
    """E[(1 - (1 + p s)^-A) / p] for p ~ Beta(a, b) and s < 1 / 2 by the binomial series
    of (1 + p s)^-A, term by term: sum_k (-1)^(k+1) (A)_k s^k / k! B(a+k-1, b) / B(a, b)."""
    k = np.arange(1, n_terms + 1, dtype=np.float64)
    log_rising = np.cumsum(np.log(A + k - 1.0))  # log (A)_k, exact also for huge A
    log_terms = (log_rising - special.gammaln(k + 1.0)
                 + k * np.log(s) + special.betaln(a + k - 1.0, b) - special.betaln(a, b))
    signs = np.where(k % 2 == 1, 1.0, -1.0)
    return math.fsum(signs * np.exp(log_terms))


# the parameters of a BetaGeo fitted on two customers, and moderate ones with a + b < 1
DEGENERATE = [np.array([65616812.007232256, 614109984.1088002, 1.2807426099431166e-05,
                        3.287031510723265e-05]),
              np.array([2.0, 10.0, 0.3, 0.4]),
              np.array([0.5, 3.0, 0.05, 0.5])]


@pytest.mark.parametrize("params", DEGENERATE)
def test_expected_purchases_finite_when_a_plus_b_below_one(params):
    x = np.array([0.0, 0.0, 1.0, 4.0])
    t_x = np.array([0.0, 0.0, 2.0, 20.0])
    T = np.array([0.0, 5.0, 5.0, 30.0])
    r, alpha, a, b = params
    for t in (0.5, 2.0, 10.0):
        got = bgnbd_expected_purchases(params, t, x, t_x, T)
        assert np.all(np.isfinite(got)) and np.all(got >= 0)
        alive = bgnbd_probability_alive(params, x, t_x, T)
        assert np.all(np.isfinite(alive)) and np.all((alive > 0) & (alive <= 1))
        np.testing.assert_array_equal(alive[x == 0], 1.0)
        for i in range(len(x)):
            s = t / (alpha + T[i])
            if s < 0.5:  # the series converges quickly
                want = _expected_count_by_series(r + x[i], a, b + x[i], s) * alive[i]
                # x > 0 keeps the closed form, whose scipy 2F1 loses about 1e-7 at r ~ 1e8
                rtol = 1e-8 if a + b + x[i] - 1.0 <= 0 or r < 1e3 else 1e-6
                np.testing.assert_allclose(got[i], want, rtol=rtol)
            z = t / (alpha + T[i] + t)
            c = a + b + x[i] - 1.0
            closed = (c / (a - 1.0) * (1.0 - (1.0 - z) ** (r + x[i])
                                       * special.hyp2f1(r + x[i], b + x[i], c, z)))
            if np.isfinite(closed) and r < 1e3:  # scipy is accurate at moderate values
                np.testing.assert_allclose(got[i], closed * alive[i], rtol=1e-8)
        n = np.arange(400.0)[:, None]
        prob = bgnbd_purchase_probability(params, n, t, x, t_x, T)
        assert np.all(np.isfinite(prob)) and np.all(prob >= 0)
        np.testing.assert_allclose(prob.sum(axis=0), 1.0, rtol=1e-6)
        np.testing.assert_allclose((n * prob).sum(axis=0), got, rtol=1e-6, atol=1e-12)


def test_degenerate_fit_on_two_customers_predicts_finite_values():
    table = pd.DataFrame({"customer_id": [1, 2], "frequency": [1.0, 3.0],
                          "recency": [1.0191667837170608, 26.258407464520957],
                          "T": [12.130722083135606, 31.53617008961608]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = BetaGeo().fit(table)
    X = pd.DataFrame({"frequency": [0.0, 1.0, 0.0], "recency": [0.0, 1.0, 0.0],
                      "T": [5.0, 5.0, 0.0]})
    got = fitted.expected_purchases(X, t=10.0)
    assert np.all(np.isfinite(got)) and np.all(got >= 0)
    assert np.all(np.isfinite(fitted.predict(X)))
    p = fitted.params_.to_numpy()
    if p[2] + p[3] < 1:  # the fit is degenerate: compare with the series
        s = 10.0 / (p[1] + 5.0)
        want = _expected_count_by_series(p[0], p[2], p[3], s)
        np.testing.assert_allclose(got[0], want, rtol=1e-8)
