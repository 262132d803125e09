"""Properties of the probabilistic models over random parameters and histories, and their
numerics at the extremes.

The model test files check published estimates, parity with lifetimes and identities at
a few parameter sets; here hypothesis draws the parameters and the customer histories:

* P(alive) lies in [0, 1] and does not fall when the last purchase is later (recency
  up, frequency and age fixed);
* expected purchases are 0 at t = 0, non-negative and non-decreasing in the horizon,
  and the probability of no purchase does not grow with it;
* the Gamma-Gamma expected spend lies between the customer's mean and the population
  mean, and grows with the customer's mean;
* the CLV is non-negative, falls as the discount rate rises and grows with the horizon;
* fits and predictions do not depend on the order of the rows;
* every output stays finite at histories of up to 10^4 purchases over 10^5 periods and
  at parameters near the optimiser's bounds, hypergeometric terms included.
"""

import copy
import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from scipy import integrate, special

import custseg.models._special as special_module
from custseg.datasets import load_cdnow_summary, load_donations
from custseg.exceptions import ConvergenceWarning
from custseg.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    CLVEstimator,
    GammaGamma,
    ModifiedBetaGeo,
    ParetoNBD,
)
from custseg.models._special import log_hyp2f1

CONTINUOUS = ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"]
TRANSACTION = [*CONTINUOUS, "BetaGeoBetaBinom"]


def _donations():
    return load_donations().rename(columns={"periods": "n_periods"})


def _fit(name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if name == "BetaGeoBetaBinom":
            d = _donations()
            return BetaGeoBetaBinom().fit(d[["frequency", "recency", "n_periods"]],
                                          sample_weight=d["weights"])
        table = load_cdnow_summary()
        if name == "GammaGamma":
            return GammaGamma().fit(table[table["frequency"] > 0])
        if name == "CLVEstimator":
            return CLVEstimator(horizon=12).fit(table)
        return {"BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo,
                "ParetoNBD": lambda: ParetoNBD(random_state=0)}[name]().fit(table)


_FITTED = {}


def fitted(name):
    if name not in _FITTED:
        _FITTED[name] = _fit(name)
    return _FITTED[name]


def with_params(name, params):
    """A copy of the fitted model with other parameters (in the order of params_)."""
    model = copy.deepcopy(fitted(name))
    model.params_ = pd.Series(np.asarray(params, dtype=float), index=model.params_.index,
                              name=model.params_.name)
    return model


def frame(name, x, t_x, age):
    columns = fitted(name)._columns
    return pd.DataFrame(dict(zip(columns, (np.atleast_1d(np.asarray(v, dtype=float))
                                           for v in (x, t_x, age)))))


# moderate parameters: the region where real fits land, and wide enough to matter
log_param = st.floats(-3.0, 3.0)
params4 = st.tuples(log_param, log_param, log_param, log_param).map(np.exp)


@st.composite
def history_pairs(draw, discrete=False):
    """(x, t_x_low, t_x_high, age): two recencies for one frequency and age."""
    age = draw(st.integers(2, 200)) if discrete else draw(st.floats(1.0, 200.0))
    x = draw(st.integers(1, 40))
    if discrete:
        assume(x <= age)
        low = draw(st.integers(x, age))
        high = draw(st.integers(low, age))
    else:
        low = draw(st.floats(0.01, age))
        high = draw(st.floats(low, age))
    return float(x), float(low), float(high), float(age)


def _tol(v):
    return 1e-9 * np.maximum(1.0, np.abs(v))


# ---- P(alive) -------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CONTINUOUS)
@given(params=params4, hist=history_pairs())
def test_probability_alive_in_unit_interval_and_rises_with_recency(name, params, hist):
    x, low, high, age = hist
    model = with_params(name, params)
    p = model.probability_alive(frame(name, [x, x], [low, high], [age, age]))
    assert np.all((p >= 0) & (p <= 1))
    assert p[0] <= p[1] + 1e-12


@given(params=params4, hist=history_pairs(discrete=True))
def test_bgbb_probability_alive_in_unit_interval_and_rises_with_recency(params, hist):
    x, low, high, n = hist
    model = with_params("BetaGeoBetaBinom", params)
    p = model.probability_alive(frame("BetaGeoBetaBinom", [x, x], [low, high], [n, n]))
    assert np.all((p >= 0) & (p <= 1))
    assert p[0] <= p[1] + 1e-12


@pytest.mark.parametrize("name", TRANSACTION)
@given(params=params4, future=st.floats(0.0, 500.0))
def test_probability_alive_falls_while_no_purchase_comes(name, params, future):
    model = with_params(name, params)
    X = frame(name, [0, 3, 3], [0, 5, 20], [20, 20, 20])
    now = model.probability_alive(X)
    later = model.probability_alive(X, t=round(future))
    assert np.all((later >= 0) & (later <= now + 1e-12))


# ---- expected purchases ---------------------------------------------------------------------

@pytest.mark.parametrize("name", TRANSACTION)
@given(params=params4, hist=history_pairs(discrete=True),
       horizons=st.lists(st.integers(0, 400), min_size=2, max_size=3, unique=True))
def test_expected_purchases_grow_with_the_horizon(name, params, hist, horizons):
    x, t_x, _, age = hist
    model = with_params(name, params)
    X = frame(name, x, t_x, age)
    ts = sorted(horizons)
    expected = np.array([model.expected_purchases(X, t=t)[0] for t in ts])
    no_purchase = np.array([model.purchase_probability(X, 0, t)[0] for t in ts])
    assert np.all(np.isfinite(expected)) and np.all(expected >= -_tol(expected))
    assert np.all(np.diff(expected) >= -_tol(expected[1:]))
    assert np.all(np.diff(no_purchase) <= 1e-12)
    if ts[0] == 0:
        assert expected[0] == 0.0 and no_purchase[0] == pytest.approx(1.0)


def _new_customer_expectation_by_integral(name, params, t):
    """E[X(t)] of a new customer, computed as an integral over the drop-out probability
    p ~ Beta(a, b) of E[X(t) | p] = (1/p)(1 - (alpha / (alpha + p t))^r) (after
    integrating the Gamma purchase rate out); the MBG/NBD customer may drop out at time 0
    too, which multiplies it by 1 - p."""
    r, alpha, a, b = params
    m = 1.0 if name == "ModifiedBetaGeo" else 0.0
    log_beta = special.betaln(a, b)

    def integrand(u):  # p = exp(u): the mass of Beta(a, b) is spread over log p
        p = math.exp(u)
        # log of E[X(t) | p] * p, whose limit at p = 0 is log(r t / alpha)
        log_h = (math.log(-math.expm1(-r * math.log1p(p * t / alpha))) if p > 1e-250
                 else math.log(r * t / alpha) + u)
        return math.exp(a * u - u + special.xlog1py(b - 1, -p) + special.xlog1py(m, -p)
                        - log_beta + log_h)

    mode = np.log(a / (a + b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        return sum(integrate.quad(integrand, lo, hi, limit=400, epsabs=0, epsrel=1e-11)[0]
                   for lo, hi in ((-np.inf, mode - 10), (mode - 10, mode), (mode, 0.0)))


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo"])
@given(params=params4, t=st.floats(0.1, 200.0))
def test_new_customer_expectation_equals_its_integral(name, params, t):
    reference = _new_customer_expectation_by_integral(name, params, t)
    got = with_params(name, params).expected_purchases_new_customer(t)
    np.testing.assert_allclose(got, reference, rtol=1e-6)


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo"])
def test_bg_expectation_near_the_parameter_bounds(name, monkeypatch):
    """r = 100, a = 0.5, b = 1e5: the 2F1 of the expectation has z = 0.9998 and
    parameters near 1e5, where the Gauss series needs millions of terms. The series is
    capped at 2,000 terms here: the answer must not depend on the cap (the quadrature of
    Euler's integral gives it)."""
    series = special_module._log_series
    monkeypatch.setattr(special_module, "_log_series",
                        lambda a, b, c, z: series(a, b, c, z, max_terms=2_000))
    params = [100.0, 0.01, 0.5, 1e5]
    got = with_params(name, params).expected_purchases_new_customer(52.0)
    assert np.isfinite(got) and got > 0
    reference = _new_customer_expectation_by_integral(name, params, 52.0)
    np.testing.assert_allclose(got, reference, rtol=1e-6)


def test_log_series_never_returns_a_truncated_sum():
    a, b, c, z = (np.array([v]) for v in (100.0, 1e5, 1e5 - 0.5, 0.9998))
    value = special_module._log_series(a, b, c, z, max_terms=1_000)
    assert np.isnan(value).all()


# ---- spend and value ------------------------------------------------------------------------

@given(x=st.integers(1, 1000), means=st.lists(st.floats(0.01, 1e5), min_size=2, max_size=2,
                                             unique=True))
def test_gamma_gamma_spend_between_own_and_population_mean(x, means):
    model = fitted("GammaGamma")
    m = np.sort(means)
    pred = model.predict(pd.DataFrame({"frequency": [x, x], "monetary_value": m}))
    population = model.population_mean()
    for own, p in zip(m, pred):
        assert min(own, population) - 1e-9 <= p <= max(own, population) + 1e-9
    assert pred[0] <= pred[1]


@st.composite
def customer_tables(draw, min_size=1, max_size=12):
    n = draw(st.integers(min_size, max_size))
    rows = []
    for _ in range(n):
        age = draw(st.floats(0.5, 80.0))
        x = draw(st.integers(0, 30))
        t_x = draw(st.floats(0.01, age)) if x else 0.0
        money = draw(st.floats(0.5, 500.0)) if x else 0.0
        rows.append((x, t_x, age, money))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T", "monetary_value"],
                        dtype=float)


@given(table=customer_tables(), rates=st.lists(st.floats(0.0, 0.5), min_size=2, max_size=2,
                                               unique=True),
       horizons=st.lists(st.integers(1, 36), min_size=2, max_size=2, unique=True))
def test_clv_non_negative_falls_with_the_discount_rate_grows_with_the_horizon(
        table, rates, horizons):
    clv = copy.deepcopy(fitted("CLVEstimator"))
    low, high = sorted(rates)
    short, long = sorted(horizons)
    values = {}
    for rate in (low, high):
        for horizon in (short, long):
            clv.set_params(discount_rate=rate, horizon=horizon)
            values[rate, horizon] = clv.predict(table)
    for v in values.values():
        assert np.all(np.isfinite(v)) and np.all(v >= 0)
    tol = _tol(values[low, long])
    assert np.all(values[high, short] <= values[low, short] + tol)
    assert np.all(values[high, long] <= values[low, long] + tol)
    assert np.all(values[low, short] <= values[low, long] + tol)


def test_clv_finite_when_spend_is_heavy_tailed():
    rng = np.random.default_rng(0)
    table = load_cdnow_summary().copy()
    repeat = table["frequency"] > 0
    heavy = [(rng.pareto(0.5, int(k)) + 1).mean() * 10 for k in table.loc[repeat,
                                                                       "frequency"]]
    table.loc[repeat, "monetary_value"] = heavy
    with pytest.warns(ConvergenceWarning, match=r"GammaGamma did not converge: the "
                                                r"likelihood keeps rising as q falls to 1"):
        clv = CLVEstimator(horizon=12).fit(table)
    assert clv.spend_model_.params_["q"] > 1 and not clv.spend_model_.converged_
    values = clv.predict(table)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)


def test_gamma_gamma_population_mean_is_finite():
    """Three repeat customers (found by tests/fuzz_targets.py): unconstrained, the
    likelihood peaks at q = 0.69 < 1, where the population mean p v / (q - 1) does not
    exist; the fit keeps q > 1 and says why it stops near 1."""
    X = pd.DataFrame({"frequency": [1.0, 1.0, 1.0], "monetary_value": [45.0, 1.0, 1.0]})
    with pytest.warns(ConvergenceWarning, match=r"(?s)too heavy-tailed for the "
                                                r"Gamma-Gamma model.*population mean"):
        model = GammaGamma().fit(X)
    assert model.params_["q"] > 1 and not model.converged_
    assert np.isinf(model.stderr_["q"])
    new = pd.DataFrame({"frequency": [0.0, 1.0], "monetary_value": [0.0, 45.0]})
    assert np.isfinite(model.population_mean())
    pred = model.predict(new)
    assert np.all(np.isfinite(pred))
    assert pred[0] == pytest.approx(model.population_mean())


# ---- row order ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "BetaGeoBetaBinom",
                                  "GammaGamma", "CLVEstimator"])
def test_fit_and_predictions_invariant_to_row_order(name):
    if name == "BetaGeoBetaBinom":
        d = _donations()
        # the compressed table spelled out as one row per customer, then shuffled
        X = d.loc[d.index.repeat(d["weights"]), ["frequency", "recency", "n_periods"]]
    else:
        X = load_cdnow_summary()
        X = X[X["frequency"] > 0] if name == "GammaGamma" else X
        X = X.head(1200)
    order = np.random.default_rng(3).permutation(len(X))
    shuffled = X.iloc[order]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        one = _fit_on(name, X)
        two = _fit_on(name, shuffled)
    params = (lambda m: m.transaction_model_.params_) if name == "CLVEstimator" else (
        lambda m: m.params_)
    np.testing.assert_allclose(params(two), params(one), rtol=1e-7)
    np.testing.assert_allclose(two.predict(shuffled), one.predict(X)[order], rtol=1e-7)
    np.testing.assert_array_equal(one.predict(shuffled), one.predict(X)[order])


def _fit_on(name, X):
    make = {"BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo,
            "BetaGeoBetaBinom": BetaGeoBetaBinom, "GammaGamma": GammaGamma,
            "CLVEstimator": lambda: CLVEstimator(horizon=6)}[name]
    return make().fit(X)


# ---- extremes -------------------------------------------------------------------------------

wide_log_param = st.floats(-16.0, 16.0)
wide_params4 = st.tuples(*[wide_log_param] * 4).map(np.exp)

EXTREME_CONTINUOUS = ([0, 0, 1, 1e4, 1e4, 1e4, 3, 50],
                      [0, 0, 1e-3, 1e5, 1e4, 50, 1e5, 60],
                      [1e-3, 1e5, 1e-3, 1e5, 1e5, 1e5, 1e5, 60])
EXTREME_DISCRETE = ([0, 0, 1, 1000, 1000, 1, 500],
                    [0, 0, 1, 1000, 1900, 1900, 500],
                    [1, 2000, 1, 2000, 2000, 2000, 500])


def _assert_valid_predictions(model, X, t_values=(1.0, 52.0), with_expectation=True,
                              probability_tol=1e-9):
    outputs = {"score_samples": model.score_samples(X),
               "p_alive": model.probability_alive(X),
               "p_alive_later": model.probability_alive(X, t=10)}
    for t in t_values:
        for n in (0, 3):
            outputs[f"P(X={n}, t={t})"] = model.purchase_probability(X, n, t)
        if with_expectation:
            outputs[f"E(t={t})"] = model.expected_purchases(X, t=t)
    for key, value in outputs.items():
        assert np.all(np.isfinite(value)), key
        if key.startswith("p_"):
            assert np.all((value >= 0) & (value <= 1 + 1e-9)), key
        if key.startswith("P"):
            assert np.all((value >= 0) & (value <= 1 + probability_tol)), key
        if key.startswith("E"):
            assert np.all(value >= 0), key


@pytest.mark.parametrize("name", CONTINUOUS)
@given(params=wide_params4)
def test_finite_at_parameters_near_the_bounds(name, params):
    # expected purchases of the BG family are checked in the moderate region only: near
    # the bounds, a customer without repeat purchase has 2F1(r, b; a + b - 1; z), whose
    # c = a + b - 1 may be negative (a + b < 1), outside what log_hyp2f1 evaluates
    model = with_params(name, params)
    _assert_valid_predictions(model, frame(name, *EXTREME_CONTINUOUS), t_values=(52.0,),
                              with_expectation=name == "ParetoNBD")


def test_pareto_purchase_probability_at_a_huge_dropout_rate():
    model = with_params("ParetoNBD", [1.0, 1.0, np.exp(13.0), np.e])
    X = frame("ParetoNBD", np.ones(300), np.full(300, 1e-3), np.full(300, 1e-3))
    probabilities = model.purchase_probability(X, np.arange(300), 52.0)
    assert np.all((probabilities >= 0) & (probabilities <= 1.0))
    np.testing.assert_allclose(probabilities.sum(), 1.0, rtol=1e-9)
    # the customer is alive at T = t_x and dies at rate mu ~ Gamma(s, beta + T): no
    # purchase means dying before the first purchase, whose probability is
    # E[(alpha_T / (alpha_T + min(tau, 52)))^(r+x)] over the Lomax death time tau
    s, b_T, a_T = np.exp(13.0), np.e + 1e-3, 1.0 + 1e-3

    def no_purchase_density(tau):
        return (s / b_T * math.exp(-(s + 1.0) * math.log1p(tau / b_T))
                * math.exp(-2.0 * math.log1p(tau / a_T)))

    edges = [0.0, *np.geomspace(1e-8, 52.0, 30)]
    reference = sum(integrate.quad(no_purchase_density, lo, hi, epsabs=0, epsrel=1e-13)[0]
                    for lo, hi in zip(edges[:-1], edges[1:]))
    np.testing.assert_allclose(probabilities[0], reference, rtol=1e-10)


@given(params=wide_params4)
def test_bgbb_finite_at_parameters_near_the_bounds(params):
    model = with_params("BetaGeoBetaBinom", params)
    _assert_valid_predictions(model, frame("BetaGeoBetaBinom", *EXTREME_DISCRETE),
                              t_values=(52,))


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo"])
@given(params=params4)
def test_bg_expectation_finite_at_extreme_histories(name, params):
    model = with_params(name, params)
    X = frame(name, *EXTREME_CONTINUOUS)
    for t in (1.0, 520.0):
        value = model.expected_purchases(X, t=t)
        assert np.all(np.isfinite(value)) and np.all(value >= 0)


@given(params=st.tuples(*[st.floats(-16.0, 16.0)] * 3).map(np.exp))
def test_gamma_gamma_finite_at_parameters_near_the_bounds(params):
    p, q, v = params
    assume(q > 1.0 + 1e-6)  # the population mean exists (a fit keeps q > 1)
    model = with_params("GammaGamma", params)
    X = pd.DataFrame({"frequency": [0, 1, 1e4, 1e4, 3], "monetary_value": [0, 1e-6, 1e6,
                                                                           1e-6, 50.0]})
    pred = model.predict(X)
    ll = model.score_samples(X)
    assert np.all(np.isfinite(pred)) and np.all(pred >= 0)
    assert np.all(np.isfinite(ll))


def test_clv_finite_at_extreme_histories():
    clv = fitted("CLVEstimator")
    X = pd.DataFrame({"frequency": [0, 1e4, 1e4, 1, 5], "recency": [0, 1e5, 10, 1e-3, 1e5],
                      "T": [1e5, 1e5, 1e5, 1e-3, 1e5],
                      "monetary_value": [0, 1e6, 1e-3, 20.0, 30.0]})
    values = clv.predict(X)
    assert np.all(np.isfinite(values)) and np.all(values >= 0)
    components = clv.predict_components(X)
    assert np.all(np.isfinite(components.to_numpy(dtype=float)))


def _log_hyp2f1_by_series(a, b, c, z, n_terms=160_000):
    """log 2F1 summed term by term from log-gamma values (an independent reference for
    positive a, b, c and 0 < z < 1), checked to have converged."""
    k = np.arange(n_terms, dtype=np.float64)
    log_terms = (special.gammaln(a + k) - special.gammaln(a) + special.gammaln(b + k)
                 - special.gammaln(b) - special.gammaln(c + k) + special.gammaln(c)
                 - special.gammaln(k + 1) + k * math.log(z))
    top = log_terms.max()
    assert log_terms[-1] < top - 60, "the reference series has not converged"
    return top + math.log(math.fsum(np.exp(log_terms - top)))


@pytest.mark.parametrize("a, b, c, z", [
    (1e4 + 0.24, 1e4 + 2.43, 1e4 + 2.22, 0.9),  # a BG/NBD customer with 10^4 purchases
    (100.24, 102.43, 102.22, 0.998),  # |z| close to 1
    (50.0, 50.0, 60.0, 0.999),  # large a, b, c and c - a - b < 0
    (1000.0, 2.0, 1001.0, 0.999),  # scipy returns nan here
    (3.0, 1e4, 1e4 + 5.0, 0.99),  # scipy returns nan here
    (0.2, 12.0, 1.1, 0.999),
    (20.0, 30.0, 45.0, 0.9995),
])
def test_log_hyp2f1_outside_the_easy_region(a, b, c, z):
    expected = _log_hyp2f1_by_series(a, b, c, z)
    np.testing.assert_allclose(log_hyp2f1(a, b, c, z), expected, rtol=1e-9)


@given(a=st.floats(0.05, 2e3), b=st.floats(0.05, 2e3), extra=st.floats(-3.0, 50.0),
       z=st.floats(0.0, 0.999))
def test_log_hyp2f1_satisfies_euler_transformation(a, b, extra, z):
    c = a + b + extra
    assume(c > 0.05)
    direct = log_hyp2f1(a, b, c, z)
    euler = (c - a - b) * np.log1p(-z) + log_hyp2f1(c - a, c - b, c, z)
    assume(np.isfinite(euler))  # 2F1(c - a, c - b; c; z) may be negative: no log
    assert np.isfinite(direct)
    np.testing.assert_allclose(direct, euler, rtol=1e-7, atol=1e-9)


# ---- degenerate data ------------------------------------------------------------------------

def test_gamma_gamma_with_identical_spend_warns_and_stays_finite():
    X = pd.DataFrame({"frequency": [1.0, 2.0, 3.0, 4.0, 1.0], "monetary_value": 25.0})
    with pytest.warns(ConvergenceWarning, match=r"GammaGamma did not converge"):
        model = GammaGamma().fit(X)
    assert np.all(np.isfinite(model.params_))
    np.testing.assert_allclose(model.predict(X), 25.0, rtol=1e-4)


@pytest.mark.parametrize("name", TRANSACTION)
def test_everyone_bought_once_warns_and_stays_finite(name):
    age = np.arange(1.0, 61.0)
    X = frame(name, np.zeros(60), np.zeros(60), age if name != "BetaGeoBetaBinom"
              else np.round(age))
    make = {"BetaGeo": BetaGeo, "ModifiedBetaGeo": ModifiedBetaGeo,
            "ParetoNBD": lambda: ParetoNBD(random_state=0),
            "BetaGeoBetaBinom": BetaGeoBetaBinom}[name]
    with pytest.warns(ConvergenceWarning, match=r"did not converge: "):
        model = make().fit(X)
    assert not model.converged_
    assert np.all(np.isfinite(model.params_)) and np.all(model.params_ > 0)
    assert not np.any(np.isnan(model.stderr_))
    _assert_valid_predictions(model, X, with_expectation=True)
