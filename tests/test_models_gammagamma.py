"""Gamma-Gamma spend model: published estimates, lifetimes parity, recovery, errors."""

import json
import pickle

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import CustsegError, EmptyDataError
from custseg.models import GammaGamma
from custseg.models._base import CustomerArrays
from custseg.models._gammagamma import gammagamma_loglik, gammagamma_loglik_grad


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
    out = model.set_output(transform="pandas").transform(cdnow_summary)
    assert list(out.columns) == ["expected_monetary_value"]
    pd.testing.assert_index_equal(out.index, cdnow_summary.index)
    model.set_output(transform="default")
    s = model.summary()
    assert list(s.index) == ["p", "q", "v"] and (s["lower_95"] < s["coef"]).all()
