"""Tests of custseg.models._diagnostics: holdout errors and predicted versus actual counts."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.base import BaseEstimator

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.features import calibration_holdout_split
from custseg.models._bgnbd import BetaGeo
from custseg.models._diagnostics import (
    calibration_table,
    expected_vs_actual_by_frequency,
    holdout_errors,
    simulated_vs_actual_repeat_counts,
)


@pytest.fixture(scope="module")
def daily_split(cdnow_transactions):
    """CDNOW in days: calibration to 1997-09-30, holdout 1997-10-01 .. 1998-06-30."""
    return calibration_holdout_split(
        cdnow_transactions, calibration_period_end="1997-09-30",
        observation_period_end="1998-06-30", freq="D")


@pytest.fixture(scope="module")
def daily_model(daily_split):
    return BetaGeo().fit(calibration_table(daily_split))


@pytest.fixture(scope="module")
def weekly_model(cdnow_summary):
    return BetaGeo().fit(cdnow_summary)


@pytest.mark.parity
def test_cdnow_daily_holdout_totals(daily_split, daily_model, lifetimes):
    """1,882 actual repeat purchase days in the holdout; BG/NBD predicts about 1,653
    (lifetimes' figure, computed here from lifetimes' own fit)."""
    errors = holdout_errors(daily_model, daily_split)
    assert errors["total_actual"] == 1882
    assert errors["n_customers"] == 2357

    cal = calibration_table(daily_split)
    bgf = lifetimes.BetaGeoFitter().fit(cal["frequency"], cal["recency"], cal["T"])
    reference = float(bgf.conditional_expected_number_of_purchases_up_to_time(
        daily_split["duration_holdout"], cal["frequency"], cal["recency"], cal["T"]).sum())
    assert reference == pytest.approx(1653, abs=5)
    assert errors["total_predicted"] == pytest.approx(reference, rel=0.01)
    assert errors["total_error"] == pytest.approx(errors["total_predicted"] - 1882)
    assert errors["relative_total_error"] == pytest.approx(errors["total_error"] / 1882)


def test_holdout_errors_per_customer(daily_split, daily_model):
    errors = holdout_errors(daily_model, daily_split)
    cal = calibration_table(daily_split)
    predicted = daily_model.expected_purchases(cal, t=float(daily_split["duration_holdout"]
                                                            .iloc[0]))
    diff = predicted - daily_split["frequency_holdout"].to_numpy()
    assert errors["mae"] == pytest.approx(np.mean(np.abs(diff)))
    assert errors["rmse"] == pytest.approx(np.sqrt(np.mean(diff**2)))
    assert errors["total_predicted"] == pytest.approx(predicted.sum())
    assert list(errors.index) == ["n_customers", "mae", "rmse", "total_actual",
                                  "total_predicted", "total_error", "relative_total_error"]


def test_holdout_errors_with_durations_per_customer(weekly_model, cdnow_summary):
    """Customers may have holdout windows of different lengths."""
    table = cdnow_summary.iloc[:30].assign(
        frequency_holdout=np.arange(30) % 3,
        duration_holdout=np.where(np.arange(30) % 2 == 0, 10.0, 39.0))
    errors = holdout_errors(weekly_model, table)
    cal = table[["frequency", "recency", "T"]]
    predicted = np.where(table["duration_holdout"] == 10.0,
                         weekly_model.expected_purchases(cal, t=10.0),
                         weekly_model.expected_purchases(cal, t=39.0))
    assert errors["total_predicted"] == pytest.approx(predicted.sum())
    assert errors["mae"] == pytest.approx(np.mean(np.abs(predicted
                                                         - table["frequency_holdout"])))
    none = holdout_errors(weekly_model, table.assign(frequency_holdout=0.0))
    assert np.isnan(none["relative_total_error"])


def test_expected_vs_actual_by_frequency(daily_split, daily_model):
    out = expected_vs_actual_by_frequency(daily_model, daily_split, max_frequency=7)
    assert out.index.name == "frequency_cal"
    assert out.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    assert out["n_customers"].sum() == len(daily_split)
    freq = daily_split["frequency_cal"]
    assert out.loc["0", "n_customers"] == (freq == 0).sum()
    assert out.loc["7+", "n_customers"] == (freq >= 7).sum()
    assert out.loc["2", "actual"] == pytest.approx(
        daily_split.loc[freq == 2, "frequency_holdout"].mean())
    errors = holdout_errors(daily_model, daily_split)
    # group means recombine into the totals
    assert (out["n_customers"] * out["actual"]).sum() == pytest.approx(1882)
    assert (out["n_customers"] * out["predicted"]).sum() == pytest.approx(
        errors["total_predicted"])
    # customers who bought more in the calibration period are predicted to buy more
    assert np.all(np.diff(out["predicted"].to_numpy()) > 0)


def test_empty_buckets_have_nan_means(weekly_model, cdnow_summary):
    table = cdnow_summary[cdnow_summary["frequency"] <= 1].iloc[:50].assign(
        frequency_holdout=1.0, duration_holdout=39.0)
    out = expected_vs_actual_by_frequency(weekly_model, table, max_frequency=3)
    assert out.loc["2", "n_customers"] == 0 and np.isnan(out.loc["2", "actual"])
    assert out.loc["3+", "n_customers"] == 0


@settings(max_examples=20)
@given(data=st.data())
def test_bucket_counts_add_up(weekly_model, data):
    n = data.draw(st.integers(1, 30))
    freq = np.array(data.draw(st.lists(st.integers(0, 12), min_size=n, max_size=n)), float)
    T = np.array(data.draw(st.lists(st.floats(1.0, 60.0), min_size=n, max_size=n)))
    share = np.array(data.draw(st.lists(st.floats(0.0, 1.0), min_size=n, max_size=n)))
    recency = np.where(freq > 0, share * T, 0.0)
    holdout = np.array(data.draw(st.lists(st.integers(0, 5), min_size=n, max_size=n)), float)
    max_frequency = data.draw(st.integers(1, 9))
    table = pd.DataFrame({"frequency_cal": freq, "recency_cal": recency, "T_cal": T,
                          "frequency_holdout": holdout, "duration_holdout": 20.0})
    out = expected_vs_actual_by_frequency(weekly_model, table, max_frequency=max_frequency)
    assert len(out) == max_frequency + 1
    assert out["n_customers"].sum() == n
    assert np.nansum(out["n_customers"] * out["actual"]) == pytest.approx(holdout.sum())
    errors = holdout_errors(weekly_model, table)
    assert errors["mae"] <= errors["rmse"] + 1e-12
    counts = simulated_vs_actual_repeat_counts(weekly_model, table, max_frequency,
                                               method="analytic")
    assert counts["actual"].sum() == n
    assert counts["simulated"].sum() == pytest.approx(n)
    assert np.all(counts["simulated"] >= -1e-9)


def test_simulated_repeat_counts_analytic(weekly_model, cdnow_summary):
    out = simulated_vs_actual_repeat_counts(weekly_model, cdnow_summary, method="analytic")
    assert out.attrs["method"] == "analytic"
    assert out.index.tolist() == ["0", "1", "2", "3", "4", "5", "6", "7+"]
    actual = np.minimum(cdnow_summary["frequency"], 7).value_counts().sort_index()
    np.testing.assert_array_equal(out["actual"].to_numpy(), actual.to_numpy())
    # the expected count of k purchases is the sum of each customer's probability
    probs = weekly_model.purchase_probability_new_customer(2, cdnow_summary["T"].to_numpy())
    assert out.loc["2", "simulated"] == pytest.approx(probs.sum())
    assert out["simulated"].sum() == pytest.approx(len(cdnow_summary))
    # the BG/NBD describes CDNOW's calibration histogram well (Fader et al. 2005, fig. 2)
    assert np.all(np.abs(out["simulated"] - out["actual"]) < 0.15 * out["actual"] + 10)


def test_simulated_repeat_counts_sample(weekly_model, cdnow_summary):
    sampled = simulated_vs_actual_repeat_counts(weekly_model, cdnow_summary, random_state=0)
    assert sampled.attrs["method"] == "sample"
    assert sampled["simulated"].sum() == len(cdnow_summary)
    np.testing.assert_array_equal(sampled["simulated"] % 1, 0.0)
    again = simulated_vs_actual_repeat_counts(weekly_model, cdnow_summary, random_state=0)
    pd.testing.assert_frame_equal(sampled, again)
    expected = simulated_vs_actual_repeat_counts(weekly_model, cdnow_summary,
                                                 method="analytic")["simulated"]
    # a multinomial draw around the analytic expectation: within 5 standard deviations
    sd = np.sqrt(expected * (1 - expected / len(cdnow_summary)))
    assert np.all(np.abs(sampled["simulated"] - expected) < 5 * sd + 1)


def test_simulated_counts_fall_back_to_analytic(weekly_model, cdnow_summary):
    class NoSample(BaseEstimator):
        """A fitted model without sample(), delegating the analytic probability."""

        params_ = weekly_model.params_

        def fit(self, X):  # an estimator's interface; the parameters are given
            return self

        def purchase_probability_new_customer(self, n, t):
            return weekly_model.purchase_probability_new_customer(n, t)

        def __sklearn_is_fitted__(self):
            return True

    out = simulated_vs_actual_repeat_counts(NoSample(), cdnow_summary)
    assert out.attrs["method"] == "analytic"
    with pytest.raises(InvalidParameterError, match="has no sample"):
        simulated_vs_actual_repeat_counts(NoSample(), cdnow_summary, method="sample")


def test_calibration_table_names(daily_split, cdnow_summary):
    cal = calibration_table(daily_split)
    assert list(cal.columns) == ["frequency", "recency", "T"]
    np.testing.assert_array_equal(cal["T"], daily_split["T_cal"])
    assert list(calibration_table(cdnow_summary).columns) == ["frequency", "recency", "T",
                                                              "monetary_value"]
    assert list(calibration_table(cdnow_summary, monetary=False).columns) == [
        "frequency", "recency", "T"]
    both = cdnow_summary.assign(T_cal=-1.0)
    np.testing.assert_array_equal(calibration_table(both)["T"], cdnow_summary["T"])
    with pytest.raises(MissingColumnError, match="'monetary_value'"):
        calibration_table(daily_split, monetary=True)
    with pytest.raises(MissingColumnError, match="missing column.*'recency'"):
        calibration_table(daily_split.drop(columns="recency_cal"))
    with pytest.raises(InvalidDataError, match="must be a pandas DataFrame"):
        calibration_table(np.zeros((3, 3)))


def test_diagnostics_errors(daily_split, daily_model, cdnow_summary):
    with pytest.raises(MissingColumnError, match="'duration_holdout'"):
        holdout_errors(daily_model, daily_split.drop(columns="duration_holdout"))
    with pytest.raises(InvalidDataError, match="Column 'frequency_holdout': 1 of .* not "
                                               "whole numbers"):
        holdout_errors(daily_model, daily_split.assign(
            frequency_holdout=np.r_[0.5, daily_split["frequency_holdout"].to_numpy()[1:]]))
    with pytest.raises(InvalidDataError, match="Column 'duration_holdout': .* negative"):
        holdout_errors(daily_model, daily_split.assign(duration_holdout=-1.0))
    with pytest.raises(ValueError, match="has no rows"):
        holdout_errors(daily_model, daily_split.iloc[:0])
    with pytest.raises(InvalidParameterError, match="max_frequency must be an integer"):
        expected_vs_actual_by_frequency(daily_model, daily_split, max_frequency=0)
    with pytest.raises(InvalidParameterError, match="max_frequency must be an integer"):
        simulated_vs_actual_repeat_counts(daily_model, daily_split, max_frequency=2.5)
    with pytest.raises(InvalidParameterError, match="method must be"):
        simulated_vs_actual_repeat_counts(daily_model, daily_split, method="exact")
    with pytest.raises(InvalidDataError, match="recency greater than T"):
        simulated_vs_actual_repeat_counts(daily_model, cdnow_summary.assign(recency=99.0))
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError, match="not fitted yet"):
        holdout_errors(BetaGeo(), daily_split)
