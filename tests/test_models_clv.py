"""Tests of custseg.models._clv: CLVEstimator, its time units, intervals and sklearn contract."""

import copy
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.models._bgnbd import BetaGeo
from custseg.models._clv import (
    CLVEstimator,
    discount_factors,
    discounted_expected_purchases,
    periods_per_horizon_unit,
    sample_log_normal_params,
)
from custseg.models._gammagamma import GammaGamma
from tests.test_models_estimator_checks import cheap, listed_checks_on_valid_tables

# ---------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def clv(cdnow_summary):
    """CLV of the CDNOW customers (weekly table), default models."""
    return CLVEstimator(BetaGeo(), GammaGamma(), time_unit="W").fit(cdnow_summary)


@pytest.fixture(scope="module")
def small(cdnow_summary):
    """A few hundred CDNOW customers of every kind (with and without repeat purchases)."""
    return cdnow_summary.iloc[::10]


def _refit_free(fitted, **params):
    """A copy of a fitted CLVEstimator with prediction-time parameters changed (horizon,
    horizon_unit, discount_rate, margin, lifetimes_compat need no refit)."""
    other = copy.deepcopy(fitted)
    return other.set_params(**params)


# ---------------------------------------------------------------------------------------
# the pure functions
# ---------------------------------------------------------------------------------------


def test_periods_per_horizon_unit_uses_calendar_lengths():
    assert periods_per_horizon_unit("D", "M") == pytest.approx(365.25 / 12)
    assert periods_per_horizon_unit("W", "M") == pytest.approx(365.25 / 12 / 7)
    assert periods_per_horizon_unit("D", "Y") == pytest.approx(365.25)
    assert periods_per_horizon_unit("W", "W") == 1.0
    # consistent: days per month = weeks per month * days per week
    assert periods_per_horizon_unit("D") == pytest.approx(7 * periods_per_horizon_unit("W"))


def test_periods_per_horizon_unit_lifetimes_factors_are_inconsistent():
    days = periods_per_horizon_unit("D", lifetimes_compat=True)
    weeks = periods_per_horizon_unit("W", lifetimes_compat=True)
    assert (days, weeks) == (30.0, 4.345)
    assert abs(days - 7 * weeks) > 0.4  # 30 days is not 4.345 weeks


def test_periods_per_horizon_unit_errors():
    with pytest.raises(InvalidParameterError, match="time_unit must be one of"):
        periods_per_horizon_unit("fortnight")
    with pytest.raises(InvalidParameterError, match="horizon_unit must be one of"):
        periods_per_horizon_unit("D", "decade")
    with pytest.raises(InvalidParameterError, match="lifetimes_compat=True reproduces"):
        periods_per_horizon_unit("D", "W", lifetimes_compat=True)
    with pytest.raises(InvalidParameterError, match="lifetimes_compat=True reproduces"):
        periods_per_horizon_unit("Y", "M", lifetimes_compat=True)


@given(horizon=st.integers(1, 40), rate=st.floats(0.0, 0.5))
def test_discount_factors_are_powers(horizon, rate):
    f = discount_factors(horizon, rate)
    k = np.arange(1, horizon + 1)
    np.testing.assert_allclose(f, (1.0 + rate) ** -k.astype(float), rtol=1e-12)


@given(horizon=st.integers(1, 30), step=st.floats(0.1, 50.0), rate=st.floats(0.0, 0.3),
       lam=st.lists(st.floats(0.0, 5.0), min_size=1, max_size=5))
def test_discounted_purchases_of_poisson_customers(horizon, step, rate, lam):
    # E[X(t)] = lambda t: every window holds lambda * step purchases
    lam = np.asarray(lam)
    got = discounted_expected_purchases(lambda t: lam * t, horizon, step, rate)
    expected = lam * step * discount_factors(horizon, rate).sum()
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


def test_sample_log_normal_params_moments():
    theta = np.array([0.5, 4.0, 2.0])
    cov_log = np.array([[0.04, 0.01, 0.0], [0.01, 0.09, -0.02], [0.0, -0.02, 0.01]])
    cov = cov_log * np.outer(theta, theta)
    draws = sample_log_normal_params(theta, cov, 20_000, random_state=0)
    u = np.log(draws)
    np.testing.assert_allclose(u.mean(axis=0), np.log(theta), atol=0.01)
    np.testing.assert_allclose(np.cov(u.T), cov_log, atol=0.004)
    again = sample_log_normal_params(theta, cov, 5, random_state=0)
    np.testing.assert_array_equal(again, draws[:5])


def test_sample_log_normal_params_rejects_infinite_covariance():
    cov = np.diag([0.1, np.inf])
    with pytest.raises(InvalidDataError, match="covariance is not finite"):
        sample_log_normal_params([1.0, 2.0], cov, 10)


# ---------------------------------------------------------------------------------------
# the CLV itself
# ---------------------------------------------------------------------------------------


@pytest.mark.parity
def test_matches_lifetimes_customer_lifetime_value(clv, cdnow_summary, lifetimes):
    """With lifetimes' month factors, the CLV is lifetimes' to 1e-6, evaluated at our
    parameters."""
    table = cdnow_summary
    compat = _refit_free(clv, lifetimes_compat=True)
    bgf = lifetimes.BetaGeoFitter()
    bgf.params_ = clv.transaction_model_.params_.copy()
    # lifetimes assigns predict in fit; we set the parameters instead of fitting
    bgf.predict = bgf.conditional_expected_number_of_purchases_up_to_time
    ggf = lifetimes.GammaGammaFitter()
    ggf.params_ = clv.spend_model_.params_.copy()
    for horizon, rate in [(12, 0.01), (6, 0.05)]:
        reference = ggf.customer_lifetime_value(
            bgf, table["frequency"], table["recency"], table["T"], table["monetary_value"],
            time=horizon, discount_rate=rate, freq="W").to_numpy()
        ours = compat.set_params(horizon=horizon, discount_rate=rate).predict(table)
        np.testing.assert_allclose(ours, reference, rtol=1e-6)


def test_same_customers_in_days_and_weeks_give_the_same_clv(clv, cdnow_summary):
    weekly = cdnow_summary
    daily = weekly.assign(recency=weekly["recency"] * 7, T=weekly["T"] * 7)
    by_day = CLVEstimator(BetaGeo(), GammaGamma(), time_unit="D").fit(daily)
    np.testing.assert_allclose(by_day.predict(daily), clv.predict(weekly), rtol=1e-6)
    np.testing.assert_allclose(by_day.transaction_model_.probability_alive(daily),
                               clv.transaction_model_.probability_alive(weekly),
                               rtol=1e-6, atol=1e-9)
    # the rate alpha is per period: 7 times larger per week than per day
    alpha_w = clv.transaction_model_.params_["alpha"]
    assert by_day.transaction_model_.params_["alpha"] == pytest.approx(7 * alpha_w, rel=1e-5)

    # lifetimes' factors (30 days, 4.345 weeks per month) break this equality
    compat_w = _refit_free(clv, lifetimes_compat=True).predict(weekly)
    compat_d = _refit_free(by_day, lifetimes_compat=True).predict(daily)
    gap = np.max(np.abs(compat_d / compat_w - 1.0))
    assert gap > 1e-3, f"lifetimes' factors unexpectedly agree (gap {gap:.2e})"


def test_predict_equals_step_by_step_public_predictions(clv, small):
    """The vectorised CLV equals a loop over months using the models' public methods."""
    step = periods_per_horizon_unit("W", "M")
    tm, sm = clv.transaction_model_, clv.spend_model_
    cal = small[["frequency", "recency", "T"]]
    spend = sm.predict(small[["frequency", "monetary_value"]])
    total = np.zeros(len(small))
    previous = np.zeros(len(small))
    for k in range(1, 13):
        current = tm.expected_purchases(cal, t=k * step)
        total += (current - previous) / 1.01**k
        previous = current
    np.testing.assert_allclose(clv.predict(small), spend * total, rtol=1e-10)


def test_predict_components_are_consistent(clv, small):
    parts = clv.predict_components(small)
    assert list(parts.columns) == ["expected_purchases", "discounted_purchases",
                                   "expected_spend", "p_alive", "clv"]
    assert parts.index.equals(small.index)
    np.testing.assert_allclose(parts["clv"], clv.predict(small))
    np.testing.assert_allclose(parts["clv"],
                               parts["expected_spend"] * parts["discounted_purchases"])
    np.testing.assert_allclose(parts["p_alive"],
                               clv.transaction_model_.probability_alive(small))
    t = 12 * periods_per_horizon_unit("W", "M")
    np.testing.assert_allclose(parts["expected_purchases"],
                               clv.transaction_model_.expected_purchases(small, t=t))
    # discounting only lowers the value
    assert np.all(parts["discounted_purchases"] <= parts["expected_purchases"] + 1e-12)
    undiscounted = _refit_free(clv, discount_rate=0.0).predict_components(small)
    np.testing.assert_allclose(undiscounted["discounted_purchases"],
                               undiscounted["expected_purchases"], rtol=1e-10)


@pytest.fixture(scope="module")
def movable(clv):
    """One copy of the fitted estimator whose prediction-time parameters tests change."""
    return copy.deepcopy(clv)


@settings(max_examples=15)  # each example refits nothing but predicts four times
@given(h1=st.integers(1, 24), dh=st.integers(1, 12), d1=st.floats(0.0, 0.2),
       dd=st.floats(0.001, 0.2), margin=st.floats(0.05, 3.0))
def test_clv_monotone_in_horizon_and_discount_and_linear_in_margin(movable, cdnow_summary,
                                                                   h1, dh, d1, dd, margin):
    table = cdnow_summary.iloc[:40]
    base = movable.set_params(horizon=h1, discount_rate=d1, margin=1.0).predict(table)
    longer = movable.set_params(horizon=h1 + dh).predict(table)
    steeper = movable.set_params(horizon=h1, discount_rate=d1 + dd).predict(table)
    scaled = movable.set_params(discount_rate=d1, margin=margin).predict(table)
    assert np.all(longer >= base - 1e-12)
    assert np.all(steeper <= base + 1e-12)
    np.testing.assert_allclose(scaled, margin * base, rtol=1e-12)


def test_horizon_unit_changes_the_step_not_the_value(clv, small):
    """12 months = 365.25 days = one year: the undiscounted value is the same."""
    months = _refit_free(clv, discount_rate=0.0).predict(small)
    year = _refit_free(clv, discount_rate=0.0, horizon=1, horizon_unit="Y").predict(small)
    days = _refit_free(clv, discount_rate=0.0, horizon=365, horizon_unit="D").predict(small)
    np.testing.assert_allclose(year, months, rtol=1e-9)
    assert np.all(days <= year + 1e-12)  # 365 days are a quarter day short of a year


def test_transaction_model_takes_the_time_unit(clv):
    assert clv.time_unit_ == "W"
    assert clv.transaction_model_.time_unit == "W"
    assert clv.transaction_model.time_unit is None  # the parameter is left untouched


def test_score_is_the_joint_log_likelihood(clv, small):
    expected = (clv.transaction_model_.score_samples(small)
                + clv.spend_model_.score_samples(small))
    np.testing.assert_allclose(clv.score_samples(small), expected)
    assert clv.score(small) == pytest.approx(expected.mean())


# ---------------------------------------------------------------------------------------
# intervals
# ---------------------------------------------------------------------------------------


def test_predict_interval_brackets_the_point_prediction(clv, small):
    small = small.iloc[:80]
    out = clv.predict_interval(small, n_draws=100, random_state=0)
    assert list(out.columns) == ["clv", "lower", "upper"]
    assert out.index.equals(small.index)
    np.testing.assert_allclose(out["clv"], clv.predict(small))
    assert np.all(out["lower"] <= out["upper"])
    inside = (out["lower"] <= out["clv"]) & (out["clv"] <= out["upper"])
    assert inside.mean() > 0.95, f"only {inside.mean():.2%} of points inside"
    narrower = clv.predict_interval(small, alpha=0.5, n_draws=100, random_state=0)
    assert np.all(narrower["upper"] - narrower["lower"] <= out["upper"] - out["lower"] + 1e-9)
    again = clv.predict_interval(small.iloc[:10], n_draws=100, random_state=0)
    pd.testing.assert_frame_equal(out.iloc[:10], again)


@pytest.fixture(scope="module", params=["BetaGeo", "ModifiedBetaGeo", "ParetoNBD"])
def clv_of_each_model(request, small):
    """CLV on the small table with each continuous-time transaction model."""
    import warnings

    import custseg.models

    model = getattr(custseg.models, request.param)()
    if request.param == "ParetoNBD":
        model.set_params(random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CLVEstimator(model, GammaGamma(), time_unit="W").fit(small)


def test_predict_interval_equals_a_loop_over_draws(clv_of_each_model, small):
    """The blocked computation equals refitting-free copies of the estimator, one per
    parameter draw, predicting through the public API."""
    clv = clv_of_each_model
    table = small.iloc[:30]
    n_draws = 12 if clv.transaction_model_._broadcasts_params else 6  # Pareto/NBD: slower
    out = clv.predict_interval(table, alpha=0.2, n_draws=n_draws, random_state=3)
    rng = np.random.RandomState(3)
    tm, sm = clv.transaction_model_, clv.spend_model_
    t_draws = sample_log_normal_params(tm.params_, tm.covariance_, n_draws, rng)
    s_draws = sample_log_normal_params(sm.params_, sm.covariance_log_, n_draws, rng,
                                       shift=[0.0, 1.0, 0.0], log_space=True)
    values = []
    for t_params, s_params in zip(t_draws, s_draws):
        other = copy.deepcopy(clv)
        other.transaction_model_.params_[:] = t_params
        other.spend_model_.params_[:] = s_params
        values.append(other.predict(table))
    lower, upper = np.quantile(np.array(values), [0.1, 0.9], axis=0)
    np.testing.assert_allclose(out["lower"], lower, rtol=1e-10)
    np.testing.assert_allclose(out["upper"], upper, rtol=1e-10)


def test_predict_interval_all_draws_at_once_equals_one_draw_at_a_time(
        clv_of_each_model, small, monkeypatch):
    """Models whose functions broadcast parameter arrays evaluate every draw at once;
    the result equals the draw-by-draw fallback (the path of the other models) to 1e-10,
    across blocks of rows that split the customers sharing a history, and with
    duplicated customers."""
    from custseg.models import _clv

    clv = clv_of_each_model
    table = pd.concat([small, small.iloc[::3]])
    table = table.assign(monetary_value=np.where(
        table["frequency"] > 0, table["monetary_value"] * np.linspace(0.9, 1.1, len(table)),
        0.0))
    broadcasts = clv.transaction_model_._broadcasts_params
    n_draws, rows = (20, 17) if broadcasts else (4, 90)  # Pareto/NBD: one draw at a time
    monkeypatch.setattr(_clv, "_DRAW_BLOCK", rows * n_draws)  # blocks of `rows` rows
    blocked = clv.predict_interval(table, n_draws=n_draws, random_state=4)
    if broadcasts:
        one_at_a_time = copy.deepcopy(clv)
        one_at_a_time.transaction_model_._broadcasts_params = False
        looped = one_at_a_time.predict_interval(table, n_draws=n_draws, random_state=4)
        pd.testing.assert_frame_equal(blocked, looped, check_exact=False, rtol=1e-10)
    monkeypatch.setattr(_clv, "_DRAW_BLOCK", 1 << 19)  # one block
    whole = clv.predict_interval(table, n_draws=n_draws, random_state=4)
    pd.testing.assert_frame_equal(blocked, whole, check_exact=False, rtol=1e-10)
    assert blocked.index.equals(table.index)
    np.testing.assert_allclose(blocked["clv"], clv.predict(table), rtol=1e-12)
    assert np.all(blocked["lower"] <= blocked["upper"])


def test_predict_interval_collapses_without_uncertainty(clv, small):
    exact = copy.deepcopy(clv)
    for model in (exact.transaction_model_, exact.spend_model_):
        model.covariance_ = model.covariance_ * 0.0
    exact.spend_model_.covariance_log_ = exact.spend_model_.covariance_log_ * 0.0
    out = exact.predict_interval(small, n_draws=3, random_state=0)
    np.testing.assert_allclose(out["lower"], out["clv"], rtol=1e-10)
    np.testing.assert_allclose(out["upper"], out["clv"], rtol=1e-10)


def test_predict_interval_generic_spend_model(clv, small, cdnow_summary):
    """A spend model other than GammaGamma is evaluated draw by draw through its public
    predict, and gives the same interval."""

    class MySpend(GammaGamma):
        pass

    other = copy.deepcopy(clv)
    spend = MySpend()
    spend.__dict__.update(clv.spend_model_.__dict__)
    other.spend_model_ = spend
    a = clv.predict_interval(small, n_draws=40, random_state=1)
    b = other.predict_interval(small, n_draws=40, random_state=1)
    pd.testing.assert_frame_equal(a, b, rtol=1e-10)


def test_predict_interval_errors(clv, small):
    with pytest.raises(InvalidParameterError, match="alpha must be in"):
        clv.predict_interval(small, alpha=1.5)
    with pytest.raises(InvalidParameterError, match="n_draws must be an integer"):
        clv.predict_interval(small, n_draws=1)
    broken = copy.deepcopy(clv)
    cov = broken.transaction_model_.covariance_.copy()
    cov.iloc[2, 2] = np.inf
    broken.transaction_model_.covariance_ = cov
    with pytest.raises(InvalidDataError, match="covariance is not finite"):
        broken.predict_interval(small, n_draws=10)
    bare = copy.deepcopy(clv)
    del bare.spend_model_.covariance_
    with pytest.raises(InvalidParameterError, match="needs models with params_ and covariance_"):
        bare.predict_interval(small, n_draws=10)


# ---------------------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------------------


def test_time_unit_errors(cdnow_summary):
    table = cdnow_summary.iloc[:50].copy()
    table.attrs["time_unit"] = "D"
    with pytest.raises(InvalidParameterError, match=r"time unit 'D' \(attrs\['time_unit'\]\)"):
        CLVEstimator(time_unit="W").fit(table)
    with pytest.raises(InvalidParameterError, match="transaction model has time_unit='D'"):
        CLVEstimator(BetaGeo(time_unit="D"), time_unit="W").fit(cdnow_summary.iloc[:50])
    with pytest.raises(InvalidParameterError, match="needs the time unit"):
        CLVEstimator(time_unit=None).fit(cdnow_summary.iloc[:50])
    with pytest.raises(InvalidParameterError, match="lifetimes_compat=True reproduces"):
        CLVEstimator(horizon_unit="W", lifetimes_compat=True).fit(cdnow_summary.iloc[:50])


def test_time_unit_from_the_table_attrs(cdnow_summary):
    table = cdnow_summary.iloc[::5].copy()
    table.attrs["time_unit"] = "W"
    fitted = CLVEstimator(time_unit=None).fit(table)
    assert fitted.time_unit_ == "W"


@pytest.mark.parametrize("change, error, match", [
    (lambda t: t.drop(columns="monetary_value"), MissingColumnError,
     "missing column.*'monetary_value'"),
    (lambda t: t.assign(monetary_value=np.where(t["frequency"] > 0, 0.0,
                                                t["monetary_value"])),
     InvalidDataError, "Column 'monetary_value': .* have repeat purchases but a "
                       "monetary_value of 0"),
    (lambda t: t.assign(recency=t["T"] + 1.0), InvalidDataError,
     "Column 'recency': 50 of 50 rows have recency greater than T"),
    (lambda t: t.assign(frequency=t["frequency"] + 0.5), InvalidDataError,
     "Column 'frequency': 50 of 50 rows are not whole numbers"),
    (lambda t: t.assign(T=-t["T"]), InvalidDataError, "Column 'T': .* are negative"),
])
def test_fit_validation_errors(cdnow_summary, change, error, match):
    bad = change(cdnow_summary.iloc[:50].copy())
    with pytest.raises(error, match=match):
        CLVEstimator().fit(bad)


def test_predict_validates_too(clv, cdnow_summary):
    bad = cdnow_summary.iloc[:5].assign(frequency=[1.0, 2.0, 0.0, 0.0, 3.0],
                                        monetary_value=[0.0, 10.0, 0.0, 0.0, 0.0])
    with pytest.raises(InvalidDataError, match="2 of 5 rows have repeat purchases"):
        clv.predict(bad)


def test_array_input_in_documented_order(small):
    arr = small[["frequency", "recency", "T", "monetary_value"]].to_numpy()
    from_array = CLVEstimator(BetaGeo(), GammaGamma()).fit(arr)
    from_frame = CLVEstimator(BetaGeo(), GammaGamma()).fit(small)
    assert not hasattr(from_array, "feature_names_in_")
    np.testing.assert_allclose(from_array.predict(arr), from_frame.predict(small), rtol=1e-8)
    with pytest.raises(InvalidDataError, match=r"2 feature\(s\) \(shape=\(5, 2\)\)"):
        from_array.predict(arr[:5, :2])
    with pytest.raises(InvalidDataError, match=r"got an array of shape \(4,\)"):
        from_array.predict(arr[0])


# ---------------------------------------------------------------------------------------
# scikit-learn contract
# ---------------------------------------------------------------------------------------

_RANDOM = ("random float data is not a customer table (frequency must be whole, recency "
           "<= T, repeat customers need a positive monetary_value): the estimator rejects "
           "it by design; the check passes on valid tables made of the same floats "
           "(test_expected_failures_pass_on_valid_tables) and {} tests this contract on "
           "CDNOW customers")
_CONTRACT = "test_sklearn_contract_on_customer_tables"
_WEIGHTS = "test_sample_weights_on_customer_tables"
_PIPE = "test_pipeline_and_set_output"
# every check below fails on its random data alone; the test named beside it checks the
# same property on a valid customer table
_RANDOM_DATA_CHECKS = {
    "check_dict_unchanged": _CONTRACT,
    "check_dont_overwrite_parameters": _CONTRACT,
    "check_dtype_object": _CONTRACT,
    "check_estimators_dtypes": _CONTRACT,
    "check_estimators_fit_returns_self": _CONTRACT,
    "check_estimators_nan_inf": _CONTRACT,
    "check_estimators_overwrite_params": _CONTRACT,
    "check_estimators_pickle": "test_clone_pickle_and_dict_round_trip",
    "check_f_contiguous_array_estimator": _CONTRACT,
    "check_fit2d_1sample": _CONTRACT,
    "check_fit2d_predict1d": "test_array_input_in_documented_order",
    "check_fit_check_is_fitted": _CONTRACT,
    "check_fit_idempotent": _CONTRACT,
    "check_fit_score_takes_y": "test_grid_search_tunes_the_transaction_model",
    "check_methods_sample_order_invariance": _CONTRACT,
    "check_methods_subset_invariance": _CONTRACT,
    "check_n_features_in": _CONTRACT,
    "check_n_features_in_after_fitting": _CONTRACT,
    "check_pipeline_consistency": _PIPE,
    "check_readonly_memmap_input": _CONTRACT,
    "check_sample_weight_equivalence_on_dense_data": _WEIGHTS,
    "check_sample_weights_list": _WEIGHTS,
    "check_sample_weights_not_an_array": _WEIGHTS,
    "check_sample_weights_not_overwritten": _WEIGHTS,
    "check_sample_weights_pandas_series": _WEIGHTS,
    "check_sample_weights_shape": _WEIGHTS,
    "check_transformer_data_not_an_array": _PIPE,
    "check_transformer_general": _PIPE,
    "check_transformer_preserve_dtypes": _PIPE,
}


def _expected_failed_checks(estimator):
    return {name: _RANDOM.format(test) for name, test in _RANDOM_DATA_CHECKS.items()}


@parametrize_with_checks([CLVEstimator(BetaGeo(), GammaGamma())],
                         expected_failed_checks=_expected_failed_checks)
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("adapter, check", listed_checks_on_valid_tables(
    [cheap(CLVEstimator(BetaGeo(), GammaGamma()))], _expected_failed_checks))
def test_expected_failures_pass_on_valid_tables(adapter, check):
    """Every check listed above passes, without an expected failure, on the valid
    customer tables that the test-only adapter of tests/test_models_estimator_checks.py
    makes of the checks' random floats: the contract holds, only the data was invalid."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning included
        check(adapter)


def test_sklearn_contract_on_customer_tables(clv, cdnow_summary, small):
    before = small.copy()
    est = CLVEstimator(BetaGeo(), GammaGamma())
    assert est.fit(small) is est
    pd.testing.assert_frame_equal(small, before)  # input untouched
    assert est.n_features_in_ == 4
    assert list(est.feature_names_in_) == ["frequency", "recency", "T", "monetary_value"]
    params = est.get_params()
    pred = est.predict(small)
    assert est.get_params() == params  # fit does not change parameters
    # idempotent fit
    np.testing.assert_allclose(est.fit(small).predict(small), pred, rtol=1e-8)
    # sample order and subset invariance
    perm = np.random.default_rng(0).permutation(len(small))
    np.testing.assert_allclose(est.predict(small.iloc[perm]), pred[perm], rtol=1e-12)
    np.testing.assert_allclose(est.predict(small.iloc[:7]), pred[:7], rtol=1e-12)
    # read-only, Fortran-ordered and object arrays
    arr = np.asfortranarray(small[["frequency", "recency", "T", "monetary_value"]].to_numpy())
    arr.setflags(write=False)
    np.testing.assert_allclose(CLVEstimator(BetaGeo(), GammaGamma()).fit(arr).predict(arr),
                               pred, rtol=1e-6)
    np.testing.assert_allclose(est.predict(small.astype(object)), pred, rtol=1e-12)
    # extra columns are ignored, the feature names are checked
    np.testing.assert_allclose(est.predict(small.assign(extra=1.0)), pred)
    with pytest.raises(MissingColumnError, match="missing column"):
        est.predict(small.drop(columns="T"))
    # NaN, inf, empty
    with pytest.raises(InvalidDataError, match="Column 'recency': 1 of .* NaN or infinite"):
        est.predict(small.assign(recency=np.r_[np.nan, small["recency"].to_numpy()[1:]]))
    with pytest.raises(InvalidDataError, match="Column 'T': 1 of .* NaN or infinite"):
        est.fit(small.assign(T=np.r_[np.inf, small["T"].to_numpy()[1:]]))
    with pytest.raises(ValueError, match="has no rows"):
        CLVEstimator().fit(small.iloc[:0])
    # unfitted
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        CLVEstimator().predict(small)


def test_sample_weights_on_customer_tables(clv, cdnow_summary):
    table = cdnow_summary.iloc[:300]
    doubled = pd.concat([table, table.iloc[:100]])
    weights = np.r_[np.full(100, 2.0), np.ones(200)]
    by_rows = CLVEstimator(BetaGeo(), GammaGamma()).fit(doubled)
    for sw in (weights, list(weights), pd.Series(weights, index=table.index)):
        by_weight = CLVEstimator(BetaGeo(), GammaGamma()).fit(table, sample_weight=sw)
        np.testing.assert_allclose(by_weight.predict(table), by_rows.predict(table),
                                   rtol=1e-5)
    sw = weights.copy()
    CLVEstimator().fit(table, sample_weight=sw)
    np.testing.assert_array_equal(sw, weights)  # not overwritten
    with pytest.raises(ValueError, match="sample_weight.shape"):
        CLVEstimator().fit(table, sample_weight=np.ones(3))


def test_clone_pickle_and_dict_round_trip(clv, small):
    pred = clv.predict(small)
    unfitted = clone(clv)
    assert not hasattr(unfitted, "transaction_model_")
    assert unfitted.get_params()["transaction_model"] is not clv.transaction_model
    restored = pickle.loads(pickle.dumps(clv))
    np.testing.assert_array_equal(restored.predict(small), pred)
    payload = json.loads(json.dumps(clv.to_dict()))
    rebuilt = CLVEstimator.from_dict(payload)
    assert isinstance(rebuilt.transaction_model_, BetaGeo)
    np.testing.assert_array_equal(rebuilt.predict(small), pred)
    pd.testing.assert_frame_equal(rebuilt.predict_interval(small, n_draws=20, random_state=0),
                                  clv.predict_interval(small, n_draws=20, random_state=0))
    # an unfitted estimator with default (None) models round-trips too
    empty = CLVEstimator.from_dict(CLVEstimator().to_dict())
    assert empty.get_params() == CLVEstimator().get_params()


def test_pipeline_and_set_output(clv, small):
    assert list(clv.get_feature_names_out()) == ["clv"]
    as_array = clv.transform(small)
    assert as_array.shape == (len(small), 1)
    np.testing.assert_allclose(as_array[:, 0], clv.predict(small))
    frame = copy.deepcopy(clv).set_output(transform="pandas").transform(small)
    assert list(frame.columns) == ["clv"] and frame.index.equals(small.index)
    pipe = make_pipeline(CLVEstimator(BetaGeo(), GammaGamma())).set_output(transform="pandas")
    out = pipe.fit_transform(small)
    assert list(out.columns) == ["clv"] and out.index.equals(small.index)
    np.testing.assert_allclose(out["clv"], pipe[-1].predict(small))
    np.testing.assert_allclose(pipe.transform(small)["clv"], out["clv"])


def test_grid_search_tunes_the_transaction_model(cdnow_summary):
    est = CLVEstimator(BetaGeo(), GammaGamma())
    params = est.get_params(deep=True)
    assert params["transaction_model__penalizer"] == 0.0
    assert "spend_model__penalizer" in params
    table = cdnow_summary.iloc[::3]
    search = GridSearchCV(est, {"transaction_model__penalizer": [0.0, 0.5]}, cv=2)
    search.fit(table)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and scores[0] != scores[1]
    best = search.best_params_["transaction_model__penalizer"]
    assert search.best_estimator_.transaction_model_.penalizer == best
    assert best == 0.0  # a strong penalty lowers the held-out log-likelihood here


def test_other_transaction_model(small):
    from custseg.models import ModifiedBetaGeo

    est = CLVEstimator(ModifiedBetaGeo(), GammaGamma()).fit(small)
    step = periods_per_horizon_unit("W", "M")
    tm = est.transaction_model_
    cumulative = [tm.expected_purchases(small, t=k * step) for k in range(13)]
    expected = sum((cumulative[k] - cumulative[k - 1]) / 1.01**k for k in range(1, 13))
    spend = est.spend_model_.predict(small)
    np.testing.assert_allclose(est.predict(small), spend * expected, rtol=1e-10)


def test_discrete_time_model_is_rejected(small):
    from custseg.models import BetaGeoBetaBinom

    with pytest.raises(InvalidParameterError, match="needs a continuous-time"):
        CLVEstimator(BetaGeoBetaBinom()).fit(small)


def test_fit_without_any_repeat_customer_names_frequency(small):
    from custseg.exceptions import CustsegError, EmptyDataError

    none = small.assign(frequency=0.0, recency=0.0, monetary_value=0.0)
    with pytest.raises(EmptyDataError, match=rf"Column 'frequency': no customer has a "
                                             rf"repeat purchase .* in {len(small)} rows"):
        CLVEstimator().fit(none)
    # repeat customers that all have a zero weight count as none
    weights = (small["frequency"] == 0).astype(float)
    with pytest.raises(CustsegError, match="no customer has a repeat purchase"):
        CLVEstimator().fit(small, sample_weight=weights)


def test_predict_interval_draws_q_above_one_when_q_is_near_one(cdnow_summary):
    """Gamma-Gamma fits log(q - 1): the interval draws there, so no draw has q <= 1 (an
    infinite or negative spend), even where a log-normal law of q itself would."""
    table = cdnow_summary[cdnow_summary["frequency"] > 0].iloc[:300].copy()
    generator = GammaGamma()
    generator.params_ = pd.Series([2.0, 1.05, 10.0], index=["p", "q", "v"], name="coef")
    spend = generator.sample(table["frequency"].to_numpy(), random_state=1)
    table["monetary_value"] = spend["monetary_value"].to_numpy()
    clv = CLVEstimator(BetaGeo(), GammaGamma(), time_unit="W").fit(table)
    sm = clv.spend_model_
    assert sm.params_["q"] < 1.2
    # the law of log(p, q, v) puts mass on q <= 1 here
    naive = sample_log_normal_params(sm.params_, sm.covariance_, 200, 0)
    assert np.any(naive[:, 1] <= 1.0)
    draws = sample_log_normal_params(sm.params_, sm.covariance_log_, 2000, 0,
                                     shift=[0.0, 1.0, 0.0], log_space=True)
    assert np.all(draws[:, 1] > 1.0)
    np.testing.assert_allclose(np.median(draws, axis=0), sm.params_, rtol=0.1)
    out = clv.predict_interval(table, n_draws=200, random_state=0)
    assert np.all(np.isfinite(out.to_numpy()))
    assert np.all(out["lower"] <= out["upper"]) and np.all(out["lower"] > 0)


def test_sample_log_normal_params_shift_needs_the_log_covariance():
    with pytest.raises(ValueError, match="log_space=True"):
        sample_log_normal_params([1.0, 2.0], np.eye(2), 3, 0, shift=[0.0, 1.0])
