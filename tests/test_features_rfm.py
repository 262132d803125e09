"""rfm_summary and calibration_holdout_split: parity with lifetimes 0.11.3, errors, options."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.exceptions import (
    CustsegError,
    EmptyDataError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.features import calibration_holdout_split, rfm_summary

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _lt_summary(lifetimes, log, *args, **kwargs):
    from lifetimes.utils import summary_data_from_transaction_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summary_data_from_transaction_data(log, *args, **kwargs)


def _lt_split(lifetimes, log, *args, **kwargs):
    from lifetimes.utils import calibration_and_holdout_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return calibration_and_holdout_data(log, *args, **kwargs)


def _assert_same(ours, theirs, check_dtype=True):
    pd.testing.assert_frame_equal(ours, theirs, check_exact=False, rtol=1e-9, atol=1e-9,
                                  check_dtype=check_dtype)


@pytest.fixture(scope="module")
def master():
    from custseg.datasets import load_cdnow_transactions

    return load_cdnow_transactions(sample=False)


# --------------------------------------------------------------------------- CDNOW parity
@pytest.mark.parity
@pytest.mark.parametrize("kwargs", [
    dict(freq="W", monetary_value_col="amount"),
    dict(freq="D"),
    dict(freq="D", freq_multiplier=7, monetary_value_col="amount"),
    dict(freq="D", monetary_value_col="amount", observation_period_end="1997-12-31"),
    dict(freq="W", monetary_value_col="amount", include_first_transaction=True),
], ids=["weekly-monetary", "daily", "days-in-weeks", "end-1997", "include-first"])
def test_cdnow_master_parity(lifetimes, master, kwargs):
    ours = rfm_summary(master, "customer_id", "date", **kwargs)
    theirs = _lt_summary(lifetimes, master, "customer_id", "date", **kwargs)
    assert len(ours) == 23570
    _assert_same(ours, theirs)


def test_cdnow_sample_reproduces_published_summary(cdnow_transactions, cdnow_summary):
    # Hardie's CDNOW summary (cdnow_customers_summary_with_transactions.csv, printed to
    # 2 decimals): 39-week calibration ending 1997-09-30, recency and T in weeks.
    cal = cdnow_transactions[cdnow_transactions["date"] <= "1997-09-30"]
    table = rfm_summary(cal, observation_period_end="1997-09-30", freq="D",
                        freq_multiplier=7, monetary_value_col="amount")
    ref = cdnow_summary.loc[table.index]
    np.testing.assert_array_equal(table["frequency"], ref["frequency"])
    for col in ["recency", "T", "monetary_value"]:
        np.testing.assert_allclose(table[col], ref[col], atol=0.005 + 1e-9)
    assert int(table["frequency"].sum()) == 2457


@pytest.mark.parity
@pytest.mark.parametrize("freq", ["D", "W"])
def test_calibration_holdout_parity_cdnow(lifetimes, master, freq):
    kwargs = dict(calibration_period_end="1997-09-30", observation_period_end="1998-06-30",
                  freq=freq, monetary_value_col="amount")
    ours = calibration_holdout_split(master, "customer_id", "date", **kwargs)
    theirs = _lt_split(lifetimes, master, "customer_id", "date", **kwargs)
    _assert_same(ours, theirs)


def test_calibration_holdout_daily_cdnow_counts(cdnow_transactions):
    # 1,882 repeat purchase days in the CDNOW sample holdout (peers.md).
    split = calibration_holdout_split(cdnow_transactions, "customer_id", "date",
                                      calibration_period_end="1997-09-30",
                                      observation_period_end="1998-06-30")
    assert int(split["frequency_holdout"].sum()) == 1882
    assert list(split.columns) == ["frequency_cal", "recency_cal", "T_cal",
                                   "frequency_holdout", "duration_holdout"]
    assert (split["duration_holdout"] == 273).all()


@pytest.mark.parity
def test_calibration_holdout_without_monetary_where_lifetimes_fails(lifetimes, master):
    kwargs = dict(calibration_period_end="1997-09-30", observation_period_end="1998-06-30")
    with pytest.raises(ValueError, match="No objects to concatenate"):
        _lt_split(lifetimes, master, "customer_id", "date", **kwargs)
    ours = calibration_holdout_split(master, "customer_id", "date", **kwargs)
    with_money = _lt_split(lifetimes, master, "customer_id", "date",
                           monetary_value_col="amount", **kwargs)
    _assert_same(ours, with_money.drop(columns=["monetary_value_cal",
                                                "monetary_value_holdout"]))


# --------------------------------------------------------------------------- generated logs
@st.composite
def transaction_logs(draw, id_kind=None, tz=None):
    """A small log: 1-12 customers, 1-6 purchases each, several on one day allowed."""
    n_customers = draw(st.integers(1, 12))
    kind = id_kind or draw(st.sampled_from(["int", "str", "category"]))
    rows = []
    for cust in range(n_customers):
        birth = draw(st.integers(0, 40))
        n = draw(st.integers(1, 6))
        for _ in range(n):
            day = birth + draw(st.integers(0, 30))
            minute = draw(st.integers(0, 24 * 60 - 1))
            amount = draw(st.integers(0, 100_000)) / 100
            rows.append((cust, day, minute, amount))
    ids = np.array([r[0] for r in rows]) * 7 + 3
    dates = (pd.Timestamp("2021-03-01")
             + pd.to_timedelta([r[1] for r in rows], unit="D")
             + pd.to_timedelta([r[2] for r in rows], unit="min"))
    if tz is not None:
        dates = dates.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward")
    log = pd.DataFrame({"cid": ids, "when": dates, "amount": [r[3] for r in rows]})
    log = log.dropna().reset_index(drop=True)
    if kind == "str":
        log["cid"] = "c" + log["cid"].astype(str)
    elif kind == "category":
        log["cid"] = pd.Categorical(log["cid"].astype(str))
    return log


def _end_after_first_purchases(draw, log):
    """None, or an end no earlier than every customer's first purchase."""
    if draw(st.booleans()):
        return None
    latest_first = log.groupby("cid", observed=True)["when"].min().max()
    offset = draw(st.integers(0, 40))
    return latest_first + pd.Timedelta(days=offset)


@pytest.mark.parity
@given(data=st.data(), freq=st.sampled_from(["D", "W", "h"]),
       freq_multiplier=st.sampled_from([1, 1, 7, 2.5]), include_first=st.booleans(),
       monetary=st.booleans())
def test_parity_generated_logs(lifetimes, data, freq, freq_multiplier, include_first,
                               monetary):
    log = data.draw(transaction_logs())
    end = _end_after_first_purchases(data.draw, log)
    kwargs = dict(freq=freq, freq_multiplier=freq_multiplier, observation_period_end=end,
                  include_first_transaction=include_first,
                  monetary_value_col="amount" if monetary else None)
    ours = rfm_summary(log, "cid", "when", **kwargs)
    theirs = _lt_summary(lifetimes, log, "cid", "when", **kwargs)
    _assert_same(ours, theirs)


@pytest.mark.parity
@given(data=st.data(), freq=st.sampled_from(["D", "W", "h"]),
       tz=st.sampled_from(["America/New_York", "Asia/Kolkata", "UTC"]))
def test_parity_timezone_aware(lifetimes, data, freq, tz):
    log = data.draw(transaction_logs(tz=tz))
    ours = rfm_summary(log, "cid", "when", freq=freq, monetary_value_col="amount")
    theirs = _lt_summary(lifetimes, log, "cid", "when", freq=freq,
                         monetary_value_col="amount")
    _assert_same(ours, theirs)
    # aware stamps fall into the periods of their local wall time
    naive = log.assign(when=log["when"].dt.tz_localize(None))
    _assert_same(ours, rfm_summary(naive, "cid", "when", freq=freq,
                                   monetary_value_col="amount"))


@pytest.mark.parity
@given(data=st.data(), monetary=st.booleans(), freq=st.sampled_from(["D", "W"]))
def test_calibration_holdout_parity_generated(lifetimes, data, monetary, freq):
    log = data.draw(transaction_logs())
    lo, hi = log["when"].min(), log["when"].max()
    cut = lo + (hi - lo) * data.draw(st.floats(0.05, 0.9))
    end = None if data.draw(st.booleans()) else hi - (hi - cut) * data.draw(
        st.floats(0.0, 0.5))
    kwargs = dict(calibration_period_end=cut, observation_period_end=end, freq=freq,
                  monetary_value_col="amount" if monetary else None)
    end_ = hi if end is None else end
    if not ((log["when"] > cut) & (log["when"] <= end_)).any():
        with pytest.raises(EmptyDataError, match="No transaction in the holdout window"):
            calibration_holdout_split(log, "cid", "when", **kwargs)
        return
    ours = calibration_holdout_split(log, "cid", "when", **kwargs)
    # lifetimes leaves frequency_holdout int64 when every customer buys in the holdout
    if monetary:
        _assert_same(ours, _lt_split(lifetimes, log, "cid", "when", **kwargs), False)
    else:
        theirs = _lt_split(lifetimes, log, "cid", "when", **{**kwargs,
                                                               "monetary_value_col": "amount"})
        _assert_same(ours, theirs.drop(columns=["monetary_value_cal",
                                                "monetary_value_holdout"]), False)
    assert (ours.dtypes == np.float64).all()


@pytest.mark.parity
def test_parity_nanosecond_periods(lifetimes):
    # nanosecond periods over months overflow a packed 64-bit key: periods are renumbered
    rng = np.random.default_rng(1)
    n = 200
    log = pd.DataFrame({
        "cid": rng.integers(0, 60, n) * 1_000_003,
        "when": pd.Timestamp("2020-01-01") + pd.to_timedelta(
            rng.integers(0, 10**16, n), unit="ns"),
        "amount": rng.uniform(1, 50, n).round(2)})
    _assert_same(rfm_summary(log, "cid", "when", freq="ns", monetary_value_col="amount"),
                 _lt_summary(lifetimes, log, "cid", "when", freq="ns",
                             monetary_value_col="amount"))


@pytest.mark.parity
def test_parity_string_dates_and_format(lifetimes, master):
    log = master.head(3000).assign(date=master["date"].head(3000).dt.strftime("%d/%m/%Y"))
    kwargs = dict(datetime_format="%d/%m/%Y", observation_period_end="30/06/1998",
                  monetary_value_col="amount")
    ours = rfm_summary(log, "customer_id", "date", **kwargs)
    theirs = _lt_summary(lifetimes, log, "customer_id", "date", **kwargs)
    cols = ["frequency", "recency", "T"]
    _assert_same(ours[cols], theirs[cols])
    # lifetimes sorts the date *strings* to find the first purchase, so with day-first
    # strings its monetary_value leaves out the wrong period; on parsed dates it agrees
    parsed = _lt_summary(lifetimes, master.head(3000), "customer_id", "date",
                         observation_period_end="1998-06-30", monetary_value_col="amount")
    _assert_same(ours, parsed)
    assert not np.allclose(ours["monetary_value"], theirs["monetary_value"])


# --------------------------------------------------------------------------- semantics
def _log(**cols):
    base = {"customer_id": [1, 1, 2],
            "date": pd.to_datetime(["2024-01-01", "2024-01-10", "2024-01-05"]),
            "amount": [10.0, 20.0, 5.0]}
    base.update(cols)
    return pd.DataFrame(base)


def test_rows_after_end_period_are_left_out_same_period_kept():
    log = pd.DataFrame({
        "customer_id": [1, 1, 1, 1],
        "date": pd.to_datetime(["2024-01-01 00:00", "2024-01-03 08:00", "2024-01-03 21:00",
                                "2024-01-08 00:00"]),
        "amount": [1.0, 2.0, 3.0, 100.0]})
    table = rfm_summary(log, monetary_value_col="amount",
                        observation_period_end="2024-01-03 12:00",
                        extra_columns=["n_transactions", "total_spend"])
    row = table.loc[1]
    assert row["frequency"] == 1 and row["recency"] == 2 and row["T"] == 2
    assert row["monetary_value"] == 5.0  # both rows of 2024-01-03, not the one of 01-08
    assert row["n_transactions"] == 3 and row["total_spend"] == 6.0


def test_extra_columns():
    log = pd.DataFrame({
        "customer_id": ["b", "a", "b", "b"],
        "date": pd.to_datetime(["2024-01-03 10:00", "2024-01-02 00:00", "2024-01-03 09:00",
                                "2024-01-20 00:00"]),
        "amount": [1.0, 2.0, 3.0, 4.0]})
    table = rfm_summary(log, monetary_value_col="amount", extra_columns=True)
    assert list(table.columns) == ["frequency", "recency", "T", "monetary_value",
                                   "first_purchase", "last_purchase", "n_transactions",
                                   "n_periods", "total_spend"]
    assert table.loc["b", "first_purchase"] == pd.Timestamp("2024-01-03 09:00")
    assert table.loc["b", "last_purchase"] == pd.Timestamp("2024-01-20")
    assert table.loc["b", "n_transactions"] == 3 and table.loc["b", "n_periods"] == 2
    assert table.loc["b", "total_spend"] == 8.0
    assert table.loc["b", "monetary_value"] == 4.0
    no_money = rfm_summary(log, extra_columns=True)
    assert "total_spend" not in no_money.columns
    only = rfm_summary(log, extra_columns="n_periods")
    assert list(only.columns) == ["frequency", "recency", "T", "n_periods"]


def test_id_kinds_and_order():
    log = _log(customer_id=pd.Categorical(["x", "x", "y"], categories=["y", "z", "x"]))
    table = rfm_summary(log)
    assert isinstance(table.index, pd.CategoricalIndex)
    assert list(table.index) == ["y", "x"]  # category order, unobserved left out
    ints = rfm_summary(_log(customer_id=[10**15, 10**15, 3]))  # sparse integers
    assert list(ints.index) == [3, 10**15]
    nullable = rfm_summary(_log(customer_id=pd.array([5, 5, 2], dtype="Int64")))
    assert list(nullable.index) == [2, 5]
    unsigned = rfm_summary(_log(customer_id=np.array([2**63 + 5, 2**63 + 5, 7],
                                                     dtype=np.uint64)))
    assert list(unsigned.index) == [7, 2**63 + 5]
    floats = rfm_summary(_log(customer_id=[1.5, 1.5, 0.5]))
    assert list(floats.index) == [0.5, 1.5]
    for table in (ints, nullable, unsigned, floats):
        assert table["frequency"].tolist() == [0.0, 1.0]


def test_calendar_months():
    log = pd.DataFrame({"customer_id": [1, 1, 2],
                        "date": pd.to_datetime(["2024-01-31", "2024-03-01", "2024-02-15"])})
    table = rfm_summary(log, freq="M", observation_period_end="2024-06-30")
    assert table.loc[1].tolist() == [1.0, 2.0, 5.0]
    assert table.loc[2].tolist() == [0.0, 0.0, 4.0]


def test_weeks_anchored():
    # 2024-01-01 is a Monday: W-SUN weeks start on Monday, W-MON weeks on Tuesday
    log = pd.DataFrame({"customer_id": [1, 1],
                        "date": pd.to_datetime(["2024-01-01", "2024-01-07"])})
    assert rfm_summary(log, freq="W")["recency"].iloc[0] == 0
    assert rfm_summary(log, freq="W-MON")["recency"].iloc[0] == 1
    expected = (pd.Period("2024-01-07", "W-WED") - pd.Period("2024-01-01", "W-WED")).n
    assert rfm_summary(log, freq="W-WED")["recency"].iloc[0] == expected


def test_numeric_dates_need_a_format():
    log = _log(date=[20240101, 20240110, 20240105])
    table = rfm_summary(log, datetime_format="%Y%m%d")
    assert table["recency"].tolist() == [9.0, 0.0]
    with pytest.raises(InvalidDataError, match="holds numbers .* datetime_format"):
        rfm_summary(log)


def test_mixed_utc_offsets_are_converted_to_utc():
    log = _log(date=["2024-01-01T23:00:00+00:00", "2024-01-02T03:00:00+05:00",
                     "2024-01-05T00:00:00+00:00"])
    table = rfm_summary(log)
    assert table.loc[1, "recency"] == 0.0  # 2024-01-01 22:00 UTC is the same day


# --------------------------------------------------------------------------- errors
def test_errors_missing_columns_and_empty():
    with pytest.raises(MissingColumnError, match=r"missing column\(s\) 'amount'"):
        rfm_summary(_log().drop(columns="amount"), monetary_value_col="amount")
    with pytest.raises(MissingColumnError, match="did you mean 'customer_id'"):
        rfm_summary(_log(), customer_id_col="customer")
    with pytest.raises(EmptyDataError, match="transaction log has no rows"):
        rfm_summary(_log().iloc[:0])
    with pytest.raises(InvalidDataError, match="must be a pandas DataFrame"):
        rfm_summary(np.zeros((3, 2)))


def test_error_missing_ids():
    with pytest.raises(CustsegError, match=r"'customer_id': 2 of 3 rows are missing"):
        rfm_summary(_log(customer_id=["a", None, " "]))


def test_error_dates():
    with pytest.raises(InvalidDataError, match=r"'date': 1 of 3 rows have no date"):
        rfm_summary(_log(date=[pd.Timestamp("2024-01-01"), None, pd.Timestamp("2024-01-02")]))
    with pytest.raises(InvalidDataError,
                       match=r"'date': 2 of 3 rows cannot be parsed as dates(.|\n)*soon"):
        rfm_summary(_log(date=["2024-01-01", "soon", "later"]))


def test_error_amounts():
    with pytest.raises(InvalidDataError,
                       match=r"'amount': 1 of 3 rows are negative(.|\n)*returns='net'"):
        rfm_summary(_log(amount=[10.0, -2.0, 3.0]), monetary_value_col="amount")
    with pytest.raises(InvalidDataError,
                       match=r"'amount': 2 of 3 rows are not numbers(.|\n)*\$1,234.50"):
        rfm_summary(_log(amount=["$10", "3", "$1,234.50"]), monetary_value_col="amount")
    with pytest.raises(InvalidDataError, match=r"1 of 3 rows are missing, NaN or infinite"):
        rfm_summary(_log(amount=[1.0, np.nan, 2.0]), monetary_value_col="amount")


def test_error_end_before_first_purchase():
    log = pd.DataFrame({"customer_id": [1, 2, 3, 3, 4],
                        "date": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-03-01",
                                                "2024-01-01", "2024-02-10"])})
    with pytest.raises(InvalidDataError,
                       match=r"'date': 2 of 4 rows \(customers.*first purchase after "
                             r"observation_period_end=2024-01-31(.|\n)*2024-02-01"
                             r"(.|\n)*future='drop'"):
        rfm_summary(log, observation_period_end="2024-01-31")
    with pytest.raises(InvalidDataError, match="1 of 4 rows"):  # weeks: 02-01 is in 01-29's
        rfm_summary(log, observation_period_end="2024-01-31", freq="W")


def test_error_parameters():
    with pytest.raises(InvalidParameterError, match="not a pandas period frequency"):
        rfm_summary(_log(), freq="fortnight")
    with pytest.raises(InvalidParameterError, match="freq_multiplier=2"):
        rfm_summary(_log(), freq="2D")
    for bad in (0, -1, np.nan, "7", True):
        with pytest.raises(InvalidParameterError, match="positive number"):
            rfm_summary(_log(), freq_multiplier=bad)
    with pytest.raises(InvalidParameterError, match=r"unknown column\(s\) \['age'\]"):
        rfm_summary(_log(), extra_columns=["age"])
    with pytest.raises(InvalidParameterError, match="needs monetary_value_col"):
        rfm_summary(_log(), extra_columns=["total_spend"])
    with pytest.raises(InvalidParameterError, match="observation_period_end='never'"):
        rfm_summary(_log(), observation_period_end="never")


def test_calibration_errors():
    log = _log()
    with pytest.raises(InvalidParameterError, match="calibration_period_end is required"):
        calibration_holdout_split(log)
    with pytest.raises(EmptyDataError, match="No transaction on or before"):
        calibration_holdout_split(log, calibration_period_end="2023-01-01")
    with pytest.raises(EmptyDataError, match="No transaction in the holdout window"):
        calibration_holdout_split(log, calibration_period_end="2024-12-01")
    with pytest.raises(EmptyDataError, match="holdout window"):
        calibration_holdout_split(log, calibration_period_end="2024-01-06",
                                  observation_period_end="2024-01-07")


def test_calibration_holdout_monetary_means_transactions():
    log = pd.DataFrame({"customer_id": [1, 1, 1, 1, 2],
                        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-02-01",
                                                "2024-02-01", "2024-02-03"]),
                        "amount": [1.0, 3.0, 10.0, 20.0, 7.0]})
    split = calibration_holdout_split(log, calibration_period_end="2024-01-31",
                                      monetary_value_col="amount")
    assert split.index.tolist() == [1]  # customer 2 starts in the holdout
    row = split.loc[1]
    assert row["frequency_holdout"] == 1.0  # one purchase day
    assert row["monetary_value_holdout"] == 15.0  # mean of the two transactions
    assert row["monetary_value_cal"] == 3.0 and row["duration_holdout"] == 3.0


@pytest.mark.parametrize("freq, multiplier, unit", [
    ("D", 1, "D"), ("D", 7, "W"), ("W", 1, "W"), ("W-MON", 1, "W"), ("h", 24, "D"),
    ("h", 1, "h"), ("M", 1, "M"), ("M", 3, "Q"), ("Q", 4, "Y"), ("Y", 1, "Y"),
    ("min", 1, None), ("D", 2.5, None)])
def test_time_unit_attribute(freq, multiplier, unit):
    log = _log()
    table = rfm_summary(log, freq=freq, freq_multiplier=multiplier)
    split = calibration_holdout_split(log, calibration_period_end="2024-01-06", freq=freq,
                                      freq_multiplier=multiplier)
    assert table.attrs.get("time_unit") == unit
    assert split.attrs.get("time_unit") == unit


def test_error_unhashable_ids():
    log = _log(customer_id=[[1], [1], {"id": 2}])
    with pytest.raises(InvalidDataError,
                       match=r"'customer_id': 3 of 3 rows are not valid ids(.|\n)*string"):
        rfm_summary(log)


def test_dates_in_several_zones_are_read_in_utc():
    noon = [pd.Timestamp("2024-01-01 12:00"), pd.Timestamp("2024-01-10 12:00"),
            pd.Timestamp("2024-01-05 12:00")]
    stamps = [noon[0].tz_localize("Asia/Tokyo"), noon[1], noon[2].tz_localize("UTC")]
    expected = rfm_summary(_log(date=noon))
    mixed = rfm_summary(_log(date=pd.Series(stamps, dtype=object)))
    _assert_same(mixed, expected)
    iso = ["2024-01-01T12:00:00+01:00", "2024-01-10T12:00:00", "2024-01-05T12:00:00Z"]
    _assert_same(rfm_summary(_log(date=iso)), expected)
    # one zone throughout: local wall time, as lifetimes
    late = ["2024-01-01T23:30:00-05:00", "2024-01-10T12:00:00-05:00",
            "2024-01-05T12:00:00-05:00"]
    assert rfm_summary(_log(date=late)).loc[1, "recency"] == 9.0
