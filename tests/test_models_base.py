"""The maximum-likelihood core and the contract of BaseTransactionModel."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse, special

from custseg.exceptions import (
    ConvergenceWarning,
    CustsegError,
    InvalidDataError,
    InvalidParameterError,
)
from custseg.models import BaseTransactionModel, BetaGeo, _base, periods_per_year
from custseg.models._mle import CustomerArrays, compress_rows, fit_mle

# ---- compress_rows ----------------------------------------------------------------------


def _check_compression(columns, weights=None):
    distinct, w, inverse = compress_rows(columns, weights)
    n = len(columns[0])
    for col, d in zip(columns, distinct):
        np.testing.assert_array_equal(d[inverse], col)
    rows = list(zip(*[d.tolist() for d in distinct]))
    assert len(set(rows)) == len(rows)  # distinct rows are distinct
    expected = np.ones(n) if weights is None else np.asarray(weights, float)
    np.testing.assert_allclose(w, np.bincount(inverse, weights=expected))
    d2, w2 = compress_rows(columns, weights, return_inverse=False)
    assert sorted(zip(*[c.tolist() for c in d2], w2.tolist())) == sorted(
        zip(*[c.tolist() for c in distinct], w.tolist()))


@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 30), st.integers(-3, 3)),
                min_size=1, max_size=60))
def test_compress_rows_whole_numbers(rows):
    cols = [np.array(c, dtype=float) for c in zip(*rows)]
    _check_compression(cols)
    _check_compression([c.astype(np.int64) for c in cols], np.arange(len(rows)) % 3)


@given(st.lists(st.tuples(st.sampled_from([0.0, 1.5, 2.25]), st.floats(0, 1, width=16)),
                min_size=1, max_size=60))
def test_compress_rows_fractional_values(rows):
    _check_compression([np.array(c, dtype=float) for c in zip(*rows)])


def test_compress_rows_all_distinct_and_large_key_range(rng):
    cont = rng.uniform(size=500)
    _check_compression([np.zeros(500), cont])
    distinct, w, inverse = compress_rows([cont])
    np.testing.assert_array_equal(distinct[0], np.sort(cont))  # canonical (sorted) order
    np.testing.assert_array_equal(distinct[0][inverse], cont)
    huge = np.array([0, 10**9, 0, 10**9]), np.array([0, 10**8, 0, 5])
    _check_compression(list(huge))


def test_compression_and_fit_do_not_depend_on_row_order(rng):
    x = rng.integers(0, 5, size=300).astype(float)
    m = rng.uniform(1, 50, size=300).round(1)
    order = rng.permutation(300)
    a, wa, ia = compress_rows([x, m])
    b, wb, ib = compress_rows([x[order], m[order]])
    for ca, cb in zip(a, b):
        np.testing.assert_array_equal(ca, cb)
    np.testing.assert_array_equal(wa, wb)
    np.testing.assert_array_equal(ia[order], ib)


def test_customer_arrays_distinct_and_cache():
    data = CustomerArrays({"x": np.array([3.0, 1.0, 3.0])})
    values, codes = data.distinct("x")
    assert data.distinct("x")[0] is values
    np.testing.assert_array_equal(values[codes], data["x"])
    w = np.ones(3)
    calls = []
    first = data.cached("k", w, lambda: calls.append(1) or "built")
    assert data.cached("k", w, lambda: calls.append(1) or "again") == first == "built"
    assert data.cached("k", np.ones(3), lambda: "rebuilt") == "rebuilt"  # other weights
    assert len(data.take(np.array([0, 2]))) == 2


# ---- fit_mle on an exponential model with closed-form answers --------------------------


def _exp_loglik(params, data):
    (lam,) = params
    return np.log(lam) - lam * data["y"]


def _exp_grad(params, data, w):
    (lam,) = params
    y = data["y"]
    return float(np.dot(w, np.log(lam) - lam * y)), np.array([np.dot(w, 1 / lam - y)])


def _exp_hess(params, data, w):
    (lam,) = params
    total, grad = _exp_grad(params, data, w)
    return total, grad, np.array([[-w.sum() / lam**2]])


@pytest.mark.parametrize("hooks", ["none", "grad", "hess"])
def test_fit_mle_exponential_closed_form(rng, hooks):
    y = rng.exponential(2.0, size=400)
    kw = {"grad": {"loglik_grad": _exp_grad},
          "hess": {"loglik_grad": _exp_grad, "loglik_hess": _exp_hess}}.get(hooks, {})
    res = fit_mle(_exp_loglik, CustomerArrays({"y": y}), np.ones(400), np.array([[1.0]]),
                  param_names=["lam"], tol=1e-10, **kw)
    lam = 1 / y.mean()  # MLE
    assert res.converged
    np.testing.assert_allclose(res.params, [lam], rtol=1e-6)
    # observed information n / lam^2: se = lam / sqrt(n)
    np.testing.assert_allclose(np.sqrt(res.cov[0, 0]), lam / np.sqrt(400), rtol=1e-4)
    np.testing.assert_allclose(res.cov_log[0, 0], 1 / 400, rtol=1e-4)


def test_fit_mle_penalizer_convention_and_time_rescaling(rng):
    # penalised mean objective: -(log lam - lam * ybar) + c * lam**2, lam in data units
    y = rng.exponential(3.0, size=300)
    c = 0.5
    ybar = y.mean()
    expected = (-ybar + np.sqrt(ybar**2 + 8 * c)) / (4 * c)
    for s in (1.0, 1e-3, 50.0):  # data rescaled by s: the rate carries the power -1
        res = fit_mle(_exp_loglik, CustomerArrays({"y": y * s}), np.ones(300),
                      np.array([[1.0]]), loglik_grad=_exp_grad, param_names=["lam"],
                      scale_exponents=[-1.0], log_scale=np.log(s), penalizer=c, tol=1e-10)
        np.testing.assert_allclose(res.params, [expected], rtol=1e-6)


def test_fit_mle_weights_equal_repetition(rng):
    y = rng.exponential(1.0, size=50)
    w = rng.integers(1, 5, 50).astype(float)
    a = fit_mle(_exp_loglik, CustomerArrays({"y": y}), w, np.array([[1.0]]),
                loglik_grad=_exp_grad, param_names=["lam"], tol=1e-10)
    b = fit_mle(_exp_loglik, CustomerArrays({"y": np.repeat(y, w.astype(int))}),
                np.ones(int(w.sum())), np.array([[1.0]]), loglik_grad=_exp_grad,
                param_names=["lam"], tol=1e-10)
    np.testing.assert_allclose(a.params, b.params, rtol=1e-8)
    np.testing.assert_allclose(a.cov, b.cov, rtol=1e-6)


def test_fit_mle_warns_with_the_optimiser_message(rng):
    y = rng.exponential(1.0, size=100)
    with pytest.warns(ConvergenceWarning, match=r"model did not converge: .*max_iter"):
        res = fit_mle(_exp_loglik, CustomerArrays({"y": y}), np.ones(100),
                      np.array([[1e-6]]), param_names=["lam"], max_iter=1, warn=True)
    assert not res.converged
    assert np.isfinite(res.params).all()


def test_fit_mle_unidentified_parameter_warns_and_stays_finite():
    # the likelihood increases without bound in lam: the optimum is on the edge
    def loglik(params, data):
        return np.log(params[0]) + 0 * data["y"]

    with pytest.warns(ConvergenceWarning, match="edge of the search space"):
        res = fit_mle(loglik, CustomerArrays({"y": np.ones(5)}), np.ones(5),
                      np.array([[1.0]]), param_names=["lam"])
    assert np.isfinite(res.params).all()
    assert np.isinf(res.cov[0, 0])


# ---- a toy model through the plug-in contract ---------------------------------------------


class NBDToy(BaseTransactionModel):
    """Poisson-gamma purchases without drop-out: the smallest model of the contract."""

    _param_names = ("r", "alpha")
    _time_exponents = (0.0, 1.0)
    _start_grid = {"r": (0.5, 2.0), "alpha": (0.5, 2.0)}

    def _loglik(self, params, data):
        r, alpha = params
        x, T = data["frequency"], data["T"]
        return (special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
                - (r + x) * np.log(alpha + T))

    def _expected_purchases(self, params, t, x, t_x, T):
        r, alpha = params
        return (r + x) / (alpha + T) * t

    def _probability_alive(self, params, x, t_x, T):
        return np.ones(np.shape(x))

    def _expected_purchases_new_customer(self, params, t):
        return params[0] / params[1] * t

    def _sample(self, params, T, rng):
        lam = rng.gamma(params[0], 1 / params[1], size=len(T))
        x = rng.poisson(lam * T).astype(float)
        return {"frequency": x, "recency": np.where(x > 0, T, 0.0), "T": T, "lambda_": lam}


class NBDToyGrad(NBDToy):
    def _loglik_grad(self, params, data, weights):
        r, alpha = params
        x, T = data["frequency"], data["T"]
        total = np.dot(weights, self._loglik(params, data))
        g_r = special.digamma(r + x) - special.digamma(r) + np.log(alpha) - np.log(alpha + T)
        g_a = r / alpha - (r + x) / (alpha + T)
        return float(total), np.array([np.dot(weights, g_r), np.dot(weights, g_a)])


def _toy_table(n=2000, seed=0):
    rng = np.random.default_rng(seed)
    T = rng.integers(10, 40, n).astype(float)
    lam = rng.gamma(0.8, 1 / 4.0, n)
    x = rng.poisson(lam * T).astype(float)
    return pd.DataFrame({"frequency": x, "recency": np.where(x > 0, T, 0.0), "T": T})


def test_plug_in_model_with_and_without_gradient():
    X = _toy_table()
    a = NBDToy().fit(X)
    b = NBDToyGrad().fit(X)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-5)
    np.testing.assert_allclose(a.stderr_, b.stderr_, rtol=1e-3)
    assert a.converged_ and b.converged_
    # closed-form NBD moments: E[x] = r T / alpha
    assert abs(b.params_["r"] / b.params_["alpha"] * X["T"].mean() - X["frequency"].mean()) < 0.1
    assert list(b.summary().columns) == ["coef", "se", "lower_95", "upper_95"]
    np.testing.assert_allclose(b.predict(X.head(3)),
                               b._expected_purchases(b.params_.to_numpy(), 52.0,
                                                     *X.head(3).to_numpy().T))
    # optional hooks the model does not implement: no such method (scikit-learn's
    # available_if), as for predict_proba of an estimator that cannot give one
    assert not hasattr(b, "purchase_probability")
    assert not hasattr(b, "purchase_probability_new_customer")
    with pytest.raises(AttributeError, match="has no attribute 'purchase_probability'"):
        b.purchase_probability(X.head(2), n=1, t=5)


def test_summary_intervals_are_log_scale():
    model = NBDToyGrad().fit(_toy_table())
    s = model.summary()
    half = 1.959963984540054 * s["se"] / s["coef"]
    np.testing.assert_allclose(s["lower_95"], s["coef"] * np.exp(-half))
    np.testing.assert_allclose(s["upper_95"], s["coef"] * np.exp(half))
    assert (s["lower_95"] > 0).all()


def test_time_unit_and_default_horizon():
    X = _toy_table(300)
    assert NBDToyGrad().fit(X)._horizon() == 52.0
    daily = NBDToyGrad(time_unit="D").fit(X)
    assert daily.time_unit_ == "D"
    assert daily._horizon() == pytest.approx(365.25)
    tagged = X.copy()
    tagged.attrs["time_unit"] = "W"
    model = NBDToyGrad().fit(tagged)
    assert model.time_unit_ == "W"
    assert model._horizon() == pytest.approx(periods_per_year("W"))
    assert NBDToyGrad(horizon=13).fit(tagged)._horizon() == 13
    with pytest.raises(InvalidParameterError, match=r"time unit 'W'.*time_unit='D'"):
        NBDToyGrad(time_unit="D").fit(tagged)
    with pytest.raises(InvalidParameterError, match="time_unit must be one of"):
        periods_per_year("fortnight")
    with pytest.raises(ValueError, match="time_unit"):
        NBDToyGrad(time_unit="fortnight").fit(X)


def test_chunked_scoring_matches(monkeypatch):
    X = _toy_table(1000)
    model = NBDToyGrad().fit(X)
    full = model.score_samples(X), model.predict(X)
    monkeypatch.setattr(_base, "CHUNK_ROWS", 64)
    chunked = model.score_samples(X), model.predict(X)
    for a, b in zip(full, chunked):
        np.testing.assert_array_equal(a, b)


def test_sample_shape_and_errors():
    model = NBDToyGrad().fit(_toy_table(500))
    sim = model.sample(200, T=30, random_state=1)
    assert list(sim.columns[:3]) == ["frequency", "recency", "T"]
    assert len(sim) == 200 and (sim["T"] == 30).all()
    pd.testing.assert_frame_equal(sim, model.sample(200, T=30, random_state=1))
    per_customer = model.sample(3, T=[1.0, 2.0, 3.0], random_state=0)
    assert per_customer["T"].tolist() == [1.0, 2.0, 3.0]
    with pytest.raises(InvalidParameterError, match="n_customers must be >= 1"):
        model.sample(0, T=10)
    with pytest.raises(InvalidParameterError, match="T must be finite and >= 0"):
        model.sample(5, T=-1)


# ---- validation of customer tables (through BetaGeo) ------------------------------------------


@pytest.fixture(scope="module")
def fitted_bg(cdnow_summary):
    return BetaGeo().fit(cdnow_summary)


def test_errors_name_column_count_and_examples(cdnow_summary, fitted_bg):
    bad = cdnow_summary.copy()
    bad.loc[bad.index[:7], "recency"] = bad["T"].iloc[:7] + 1
    with pytest.raises(CustsegError, match=r"(?s)Column 'recency': 7 of 2357 rows have "
                                           r"recency greater than T.*First 5 shown"):
        BetaGeo().fit(bad)
    frac = cdnow_summary.astype({"frequency": float})
    frac.loc[frac.index[3], "frequency"] = 1.5
    with pytest.raises(CustsegError, match=r"'frequency': 1 of 2357 rows are not whole"):
        fitted_bg.predict(frac)
    with pytest.raises(KeyError, match=r"missing column\(s\) 'recency' \(did you mean "
                                       r"'recence'"):
        BetaGeo().fit(cdnow_summary.rename(columns={"recency": "recence"}))
    with pytest.raises(CustsegError, match="no rows"):
        BetaGeo().fit(cdnow_summary.iloc[:0])
    with pytest.raises(InvalidParameterError, match="t must be finite and >= 0"):
        fitted_bg.expected_purchases(cdnow_summary, t=-1)
    with pytest.raises(InvalidParameterError, match="n must be a whole number"):
        fitted_bg.purchase_probability(cdnow_summary, n=1.5, t=2)
    with pytest.raises(InvalidParameterError, match=r"max_recency \(50\) must not exceed T"):
        fitted_bg.probability_alive_matrix(max_recency=50, T=40)
    with pytest.raises(ValueError, match="penalizer"):
        BetaGeo(penalizer=-1).fit(cdnow_summary)


def test_probability_alive_in_the_future_is_history_with_longer_window(cdnow_summary,
                                                                        fitted_bg):
    X = cdnow_summary.head(200)
    later = fitted_bg.probability_alive(X, t=10)
    longer = X.assign(T=X["T"] + 10)
    np.testing.assert_allclose(later, fitted_bg.probability_alive(longer), rtol=1e-14)
    now = fitted_bg.probability_alive(X)
    assert np.all(later <= now + 1e-15)


def test_matrices_match_pointwise(fitted_bg):
    pa = fitted_bg.probability_alive_matrix(max_frequency=5, max_recency=10, T=12)
    ep = fitted_bg.expected_purchases_matrix(t=4, max_frequency=5, max_recency=10, T=12)
    assert pa.shape == ep.shape == (11, 6)
    assert pa.index.name == "recency" and pa.columns.name == "frequency"
    params = fitted_bg.params_.to_numpy()
    for x, tx in [(0, 0), (3, 7), (5, 10)]:
        assert pa.loc[tx, x] == pytest.approx(
            float(fitted_bg._probability_alive(params, x, tx, 12.0)), rel=1e-14)
        assert ep.loc[tx, x] == pytest.approx(
            float(fitted_bg._expected_purchases(params, 4.0, x, tx, 12.0)), rel=1e-14)
    default = fitted_bg.probability_alive_matrix()
    assert default.shape == (int(np.ceil(fitted_bg.data_summary_["max_age"])) + 1,
                             int(fitted_bg.data_summary_["max_frequency"]) + 1)


def test_data_summary_and_no_training_data(cdnow_summary, fitted_bg):
    s = fitted_bg.data_summary_
    assert s["n_customers"] == len(cdnow_summary)
    assert s["max_frequency"] == cdnow_summary["frequency"].max()
    assert s["mean_age"] == pytest.approx(cdnow_summary["T"].mean())
    for value in vars(fitted_bg).values():
        assert not (hasattr(value, "__len__") and not isinstance(value, str | dict)
                    and len(value) >= len(cdnow_summary))


def test_degenerate_table_warns_and_returns_finite():
    X = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": np.arange(1.0, 41.0)})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model = BetaGeo().fit(X)
    assert any(issubclass(w.category, ConvergenceWarning)
               and "did not converge" in str(w.message) for w in caught)
    assert not model.converged_
    assert np.all(np.isfinite(model.params_))
    assert np.all(np.isfinite(model.predict(X)))
    assert np.all(np.isfinite(model.probability_alive(X)))
    assert not np.any(np.isnan(model.stderr_))
    assert not np.any(np.isnan(model.covariance_log_.to_numpy()))
    assert np.isinf(np.diag(model.covariance_log_)).any()  # unidentified: infinite
    restored = BetaGeo.from_dict(model.to_dict())
    pd.testing.assert_frame_equal(restored.covariance_log_, model.covariance_log_)


@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD",
                                   "BetaGeoBetaBinom"])
def test_wrong_shapes_raise_invalid_data_error(model, cdnow_summary):
    import custseg.models

    frame = cdnow_summary.head(300)[["frequency", "recency", "T"]]
    if model == "BetaGeoBetaBinom":  # whole opportunities, frequency <= recency
        frame = np.ceil(frame).rename(columns={"T": "n_periods"})
        frame["frequency"] = np.minimum(frame["frequency"], frame["recency"])
    X = frame.to_numpy(dtype=float)
    est = getattr(custseg.models, model)()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X)
    with pytest.raises(InvalidDataError, match=r"X has 4 features, but \w+ is expecting 3"):
        est.predict(np.hstack([X, X[:, :1]]))
    with pytest.raises(InvalidDataError, match=r"got an array of shape \(300,\)\. Reshape your "
                                               r"data: one customer is array\.reshape\(1, -1\)"):
        est.predict(X[:, 0])
    with pytest.raises(InvalidDataError, match="sparse input is not supported"):
        est.fit(sparse.csr_matrix(X))
    with pytest.raises(InvalidDataError, match=r"a minimum of 3 is required"):
        est.predict(X[:, :2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(frame)
    with pytest.raises(InvalidDataError, match="duplicate columns: 'recency' \\(2 times\\)"):
        est.predict(pd.concat([frame, frame[["recency"]]], axis=1))


@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "BetaGeoBetaBinom"])
def test_covariance_log_is_the_inverse_observed_information(model, cdnow_summary,
                                                            donations):
    """covariance_log_ is the inverse of the Hessian of the total negative
    log-likelihood in log-parameters (central differences of score_samples here), and
    covariance_ is its delta-method image; both round-trip through to_dict."""
    import json

    import custseg.models

    if model == "BetaGeoBetaBinom":
        est = custseg.models.BetaGeoBetaBinom(weights_column="weights").fit(donations)
        X, w = donations, donations["weights"].to_numpy(float)
    else:
        est = getattr(custseg.models, model)().fit(cdnow_summary)
        X, w = cdnow_summary, np.ones(len(cdnow_summary))
    u0 = np.log(est.params_.to_numpy())
    names = list(est.params_.index)
    probe = est.__class__.from_dict(est.to_dict())

    def nll(u):
        probe.params_ = pd.Series(np.exp(u), index=names, name="coef")
        return -float(np.dot(w, probe.score_samples(X)))

    k, h = len(u0), 1e-4
    H = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            H[i, j] = (nll(u0 + ei + ej) - nll(u0 + ei - ej) - nll(u0 - ei + ej)
                       + nll(u0 - ei - ej)) / (4 * h * h)
    cov_log = est.covariance_log_
    assert list(cov_log.index) == list(cov_log.columns) == names
    np.testing.assert_allclose(cov_log.to_numpy(), np.linalg.inv(H), rtol=2e-3, atol=1e-9)
    theta = est.params_.to_numpy()
    np.testing.assert_allclose(est.covariance_.to_numpy(),
                               cov_log.to_numpy() * np.outer(theta, theta), rtol=1e-12)
    restored = type(est).from_dict(json.loads(json.dumps(est.to_dict())))
    pd.testing.assert_frame_equal(restored.covariance_log_, cov_log)


@pytest.mark.parametrize("model", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD",
                                   "BetaGeoBetaBinom"])
def test_models_that_broadcast_parameters_say_so(model, cdnow_summary):
    """A model with ``_broadcasts_params`` evaluates parameter draws of shape
    (n_draws, 1) against customers (n,) at once, equal to a loop over the draws (the
    CLV intervals rely on it); the others must not claim it."""
    import custseg.models

    est = getattr(custseg.models, model)()
    expected = {"BetaGeo": True, "ModifiedBetaGeo": True, "ParetoNBD": False,
                "BetaGeoBetaBinom": True}[model]
    assert est._broadcasts_params is expected
    if not expected:
        return
    table = cdnow_summary.head(400)
    if model == "BetaGeoBetaBinom":
        cols = [np.ceil(table[c].to_numpy(float) / 6) for c in ("frequency", "recency", "T")]
        cols[0] = np.minimum(cols[0], cols[1])
        base = np.array([1.204, 0.750, 0.657, 2.783])
        near_one = 2  # gamma: the survival sum switches to a direct sum near 1
    else:
        cols = [table[c].to_numpy(float) for c in ("frequency", "recency", "T")]
        base = np.array([0.2426, 4.4135, 0.7929, 2.4258])
        near_one = 2  # a: the expectation is a limit at 1
    draws = base * np.exp(np.random.default_rng(2).normal(0, 0.2, (9, 4)))
    draws[4, near_one] = 1.0
    draws[5, near_one] = 1.0 + 5e-5
    params = draws.T[:, :, None]
    hooks = [lambda p: est._expected_purchases(p, 6.0, *cols),
             lambda p: est._probability_alive(p, *cols),
             lambda p: est._purchase_probability(p, 1.0, 6.0, *cols),
             lambda p: est._expected_purchases_new_customer(p, np.arange(4.0)),
             lambda p: est._purchase_probability_new_customer(p, 1.0, np.arange(4.0)),
             lambda p: est._loglik(p, CustomerArrays(dict(zip(est._columns, cols))))]
    for hook in hooks:
        together = np.asarray(hook(params))
        loop = np.array([hook(d) for d in draws])
        assert together.shape == loop.shape
        np.testing.assert_allclose(together, loop, rtol=1e-10, atol=1e-300)
