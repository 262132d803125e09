"""Gamma-Gamma spend model: published estimates, lifetimes parity, recovery, errors."""

import copy
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import ConvergenceWarning, CustsegError, EmptyDataError
from custseg.models import GammaGamma
from custseg.models._gammagamma import gammagamma_loglik, gammagamma_loglik_grad
from custseg.models._mle import CustomerArrays


@pytest.fixture(scope="module")
def repeat(cdnow_summary):
    return cdnow_summary[cdnow_summary["frequency"] > 0]


@pytest.fixture(scope="module")
def model(cdnow_summary):
    return GammaGamma().fit(cdnow_summary)


@pytest.fixture(scope="module")
def lt_model(lifetimes, repeat):
    return lifetimes.GammaGammaFitter().fit(repeat["frequency"], repeat["monetary_value"])


def test_cdnow_estimates_match_the_paper(model, repeat):
    # Fader, Hardie & Lee (2005, "RFM and CLV"): p = 6.25, q = 3.74, v = 15.44 on the
    # 946 repeat customers of the CDNOW calibration sample
    est = model.params_
    assert round(est["p"], 2) == 6.25 and round(est["q"], 2) == 3.74
    assert abs(est["v"] - 15.44) < 0.01  # 15.4477; the paper prints 15.44
    assert model.n_repeat_customers_ == len(repeat) == 946
    assert model.converged_


def test_customers_without_repeat_purchase_are_ignored_by_the_fit(model, repeat):
    only_repeat = GammaGamma().fit(repeat)
    np.testing.assert_allclose(only_repeat.params_, model.params_, rtol=1e-10)


@pytest.mark.parity
def test_parameters_loglik_and_predictions_match_lifetimes(model, lt_model, repeat,
                                                           cdnow_summary):
    ours = model.params_
    theirs = lt_model.params_[ours.index]
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)
    x, m = repeat["frequency"].to_numpy(float), repeat["monetary_value"].to_numpy(float)
    their_ll = gammagamma_loglik(theirs.to_numpy(), x, m).sum()
    assert model.loglik_ >= their_ll - 1e-6
    np.testing.assert_allclose(model.loglik_, their_ll, rtol=1e-4)
    np.testing.assert_allclose(model.stderr_, lt_model.standard_errors_[ours.index],
                               rtol=1e-3)
    lt_model.params_ = ours.copy()
    np.testing.assert_allclose(
        model.predict(cdnow_summary),
        lt_model.conditional_expected_average_profit(cdnow_summary["frequency"],
                                                     cdnow_summary["monetary_value"]),
        rtol=1e-6)


def test_prediction_shrinks_towards_the_population_mean(model):
    p, q, v = model.params_
    mean = p * v / (q - 1)
    assert model.population_mean() == pytest.approx(mean)
    X = pd.DataFrame({"frequency": [0, 1, 10, 1000], "monetary_value": [0, 100, 100, 100]})
    pred = model.predict(X)
    assert pred[0] == pytest.approx(mean)
    assert mean < pred[1] < pred[2] < pred[3] < 100  # more purchases, closer to own mean
    np.testing.assert_allclose(pred[1:], p * (v + X["frequency"][1:] * 100)
                               / (p * X["frequency"][1:] + q - 1))


def test_gradient_and_hessian_match_finite_differences(repeat):
    data = CustomerArrays({"frequency": repeat["frequency"].to_numpy(float),
                           "monetary_value": repeat["monetary_value"].to_numpy(float)})
    w = np.random.default_rng(0).uniform(0.5, 2, len(repeat))
    p = np.array([6.0, 3.5, 15.0])
    total, grad = gammagamma_loglik_grad(p, data, w)
    num = np.empty(3)
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-6 * p[j]
        num[j] = (np.dot(w, gammagamma_loglik(p + e, data["frequency"],
                                              data["monetary_value"]))
                  - np.dot(w, gammagamma_loglik(p - e, data["frequency"],
                                                data["monetary_value"]))) / (2 * e[j])
    np.testing.assert_allclose(grad, num, rtol=1e-5)
    _, grad2, hess = gammagamma_loglik_grad(p, data, w, hessian=True)
    np.testing.assert_array_equal(grad2, grad)
    num_h = np.empty((3, 3))
    for j in range(3):
        e = np.zeros(3)
        e[j] = 1e-5 * p[j]
        num_h[:, j] = (gammagamma_loglik_grad(p + e, data, w)[1]
                       - gammagamma_loglik_grad(p - e, data, w)[1]) / (2 * e[j])
    np.testing.assert_allclose(hess, num_h, rtol=1e-6)


def test_recovers_the_parameters_of_its_simulator(model):
    freq = np.random.default_rng(0).integers(1, 15, 20_000)
    sim = model.sample(freq, random_state=1)
    refit = GammaGamma().fit(sim)
    d = refit.params_.to_numpy() - model.params_.to_numpy()
    assert d @ np.linalg.solve(refit.covariance_.to_numpy(), d) < 7.81  # chi2(3), 95%
    zero = model.sample([0, 0], random_state=0)
    assert (zero["monetary_value"] == 0).all()


def test_score_samples(model, cdnow_summary):
    ll = model.score_samples(cdnow_summary)
    assert np.all(ll[cdnow_summary["frequency"].to_numpy() == 0] == 0)
    assert ll.sum() == pytest.approx(model.loglik_)
    assert model.score(cdnow_summary) == pytest.approx(ll.mean())


def test_errors(cdnow_summary, model):
    bad = cdnow_summary.copy()
    rows = bad.index[bad["frequency"] > 0][:3]
    bad.loc[rows, "monetary_value"] = 0.0
    with pytest.raises(CustsegError, match=r"(?s)'monetary_value': 3 of 2357 rows have "
                                           r"repeat purchases but a monetary_value of 0"):
        GammaGamma().fit(bad)
    with pytest.raises(EmptyDataError, match="no customer has a repeat purchase"):
        GammaGamma().fit(cdnow_summary[cdnow_summary["frequency"] == 0])
    with pytest.raises(KeyError, match=r"missing column\(s\) 'monetary_value'"):
        GammaGamma().fit(cdnow_summary[["frequency", "recency", "T"]])
    with pytest.raises(CustsegError, match="whole numbers"):
        model.predict(pd.DataFrame({"frequency": [1.5], "monetary_value": [3.0]}))
    with pytest.raises(CustsegError, match="frequency must hold whole numbers"):
        model.sample([1.5])


def test_persistence_and_transform(model, cdnow_summary):
    for restored in (pickle.loads(pickle.dumps(model)),
                     GammaGamma.from_dict(json.loads(json.dumps(model.to_dict())))):
        np.testing.assert_array_equal(restored.predict(cdnow_summary),
                                      model.predict(cdnow_summary))
        pd.testing.assert_frame_equal(restored.covariance_log_, model.covariance_log_)
    out = model.set_output(transform="pandas").transform(cdnow_summary)
    assert list(out.columns) == ["expected_monetary_value"]
    pd.testing.assert_index_equal(out.index, cdnow_summary.index)
    model.set_output(transform="default")
    s = model.summary()
    assert list(s.index) == ["p", "q", "v"] and (s["lower_95"] < s["coef"]).all()


# ---- q > 1: a finite population mean ---------------------------------------------------------

def _simulated(model, q, n=20_000, seed=0):
    """Repeat customers from the model at p = 2, v = 10 and the given q."""
    generator = copy.copy(model)
    generator.params_ = pd.Series([2.0, q, 10.0], index=["p", "q", "v"], name="coef")
    freq = np.random.default_rng(seed).integers(1, 10, n)
    return generator.sample(freq, random_state=seed + 1)[["frequency", "monetary_value"]]


def test_heavy_tailed_spend_keeps_q_above_one_and_warns(model):
    """Simulated with q = 0.6, the population mean does not exist: the likelihood keeps
    rising as q falls to 1, the fit stops just above 1, says why, and every prediction
    stays finite."""
    table = _simulated(model, 0.6)
    with pytest.warns(ConvergenceWarning, match=r"(?s)GammaGamma did not converge: the "
                                                r"likelihood keeps rising as q falls to 1"
                                                r".*too heavy-tailed"):
        heavy = GammaGamma(random_state=0).fit(table)
    assert 1.0 < heavy.params_["q"] < 1.0 + 1e-3
    assert not heavy.converged_ and np.isinf(heavy.stderr_["q"])
    assert np.isfinite(heavy.stderr_["p"]) and np.isfinite(heavy.stderr_["v"])
    X = pd.DataFrame({"frequency": [0.0, 1.0, 50.0], "monetary_value": [0.0, 5.0, 1e6]})
    pred = heavy.predict(X)
    assert np.all(np.isfinite(pred)) and np.all(pred > 0)
    assert pred[0] == pytest.approx(heavy.population_mean())


def test_q_close_to_one_is_an_interior_optimum(model):
    """Simulated with q = 1.3, the optimum is interior: no warning, q recovered."""
    table = _simulated(model, 1.3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        fitted = GammaGamma(random_state=0).fit(table)
    assert fitted.converged_
    assert abs(fitted.params_["q"] - 1.3) < 3 * fitted.stderr_["q"]


def test_penalty_applies_to_p_q_v(model, repeat):
    """The optimiser works on q - 1, but the penalty is penalizer * (p^2 + q^2 + v^2) as
    documented (and as in lifetimes): at the penalised optimum the gradient of the
    penalised log-likelihood in (p, q, v) vanishes."""
    penalizer = 1e-3
    fitted = GammaGamma(penalizer=penalizer).fit(repeat)
    assert fitted.converged_
    theta = fitted.params_.to_numpy()
    assert not np.allclose(theta, model.params_.to_numpy(), rtol=1e-2)  # it does shrink
    data = CustomerArrays({"frequency": repeat["frequency"].to_numpy(float),
                           "monetary_value": repeat["monetary_value"].to_numpy(float)})
    _, grad = gammagamma_loglik_grad(theta, data, np.ones(len(repeat)))
    penalised = grad / len(repeat) - 2.0 * penalizer * theta
    np.testing.assert_allclose(penalised * theta, 0.0, atol=1e-6)


def test_too_strong_a_penalty_is_named_as_the_cause(repeat):
    """A strong penalty pulls q below 1 (lifetimes returns q = 0.97 here, an infinite
    population mean): the fit stops at the edge and blames the penalty, not the data."""
    with pytest.warns(ConvergenceWarning, match=r"the penalty \(penalizer=0.01\) pulls q "
                                                r"to 1.*use a smaller penalizer"):
        fitted = GammaGamma(penalizer=0.01).fit(repeat)
    assert fitted.params_["q"] > 1 and np.isfinite(fitted.population_mean())


def test_covariance_log_is_in_the_space_of_the_fit(model):
    """covariance_log_ is the covariance of log(p, q - 1, v); the delta method maps it
    to covariance_ (the derivative of q = 1 + e^u is q - 1)."""
    cov_log = model.covariance_log_
    assert list(cov_log.index) == ["p", "q - 1", "v"] == list(cov_log.columns)
    p, q, v = model.params_
    scale = np.array([p, q - 1.0, v])
    np.testing.assert_allclose(scale[:, None] * cov_log.to_numpy() * scale[None, :],
                               model.covariance_.to_numpy(), rtol=1e-10)
    assert np.all(np.linalg.eigvalsh(cov_log.to_numpy()) > 0)


def test_covariance_log_marks_q_at_its_edge_as_not_identified(model):
    table = _simulated(model, 0.6)
    with pytest.warns(ConvergenceWarning, match="q falls to 1"):
        heavy = GammaGamma(random_state=0).fit(table)
    cov_log = heavy.covariance_log_.to_numpy()
    assert np.all(np.isinf(cov_log[1])) and np.all(np.isinf(cov_log[:, 1]))
    assert np.all(np.isfinite(cov_log[np.ix_([0, 2], [0, 2])]))
