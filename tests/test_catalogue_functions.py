"""Bad-input catalogue of the functions that read transaction logs.

One test per case of bad or unusual input, for :func:`~custseg.features.rfm_summary`,
:func:`~custseg.features.calibration_holdout_split` and
:func:`~custseg.features.clean_transactions`. Each case either gives a correct result,
checked against a table computed by hand, or raises a
:class:`~custseg.exceptions.CustsegError` whose message names the column, the number of
offending rows and shows some of them; never a raw pandas/numpy error and never a NaN.
"""

import warnings

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import (
    CustsegError,
    EmptyDataError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.features import calibration_holdout_split, clean_transactions, rfm_summary

# The hypothesis fuzz targets live in tests/fuzz_targets.py, which the fuzz campaign of
# docs/fuzzing.md runs with the "fuzz" profile. pytest's default file pattern (test_*.py)
# does not collect that file, so its targets are collected here, with the CI profile.
from .fuzz_targets import (  # noqa: F401
    test_fuzz_calibration_holdout_split,
    test_fuzz_clean_transactions,
    test_fuzz_models,
    test_fuzz_rfm_summary,
    test_fuzz_tierers_and_segmenter,
)

DATES = ["2024-01-01", "2024-01-05", "2024-01-03", "2024-01-02", "2024-01-10", "2024-01-20"]


@pytest.fixture
def log():
    """Three customers: 1 buys on days 0 and 4, 2 on day 2, 3 on days 1, 9 and 19."""
    return pd.DataFrame({"customer_id": [1, 1, 2, 3, 3, 3],
                         "date": pd.to_datetime(DATES),
                         "amount": [10.0, 20.0, 5.0, 7.0, 8.0, 9.0]})


def expected_table(index=(1, 2, 3), name="customer_id"):
    """The customer table of ``log`` (daily periods, end = last date 2024-01-20)."""
    return pd.DataFrame({"frequency": [1.0, 0.0, 2.0], "recency": [4.0, 0.0, 18.0],
                         "T": [19.0, 17.0, 18.0], "monetary_value": [20.0, 0.0, 8.5]},
                        index=pd.Index(list(index), name=name))


def summary(log, **kw):
    return rfm_summary(log, monetary_value_col="amount", **kw)


def split(log, **kw):
    return calibration_holdout_split(log, monetary_value_col="amount",
                                     calibration_period_end="2024-01-04", **kw)


def clean(log, **kw):
    return clean_transactions(log, monetary_value_col="amount", **kw)


def assert_no_nan(frame):
    numeric = frame.select_dtypes("number")
    assert not numeric.isna().any().any()


# ---- empty input and columns ---------------------------------------------------------------

def test_empty_frame(log):
    empty = log.iloc[:0]
    with pytest.raises(EmptyDataError, match="The transaction log has no rows"):
        summary(empty)
    with pytest.raises(EmptyDataError, match="The transaction log has no rows"):
        split(empty)
    cleaned, report = clean(empty)
    assert cleaned.empty and list(cleaned.columns) == list(log.columns)
    assert (report.n_input_rows, report.n_output_rows, report.n_dropped_rows) == (0, 0, 0)


def test_empty_frame_without_columns():
    for fn in (summary, split, clean):
        with pytest.raises(MissingColumnError, match=r"missing column\(s\) 'customer_id'"):
            fn(pd.DataFrame())


def test_missing_column(log):
    for fn in (summary, split, clean):
        with pytest.raises(MissingColumnError, match=r"missing column\(s\) 'amount'"):
            fn(log.drop(columns="amount"))


def test_renamed_columns_suggest_the_close_name(log):
    renamed = log.rename(columns={"customer_id": "customer_ids", "date": "Date"})
    for fn in (summary, split, clean):
        with pytest.raises(MissingColumnError,
                           match=r"'customer_id' \(did you mean 'customer_ids'\?\), "
                                 r"'date' \(did you mean 'Date'\?\)"):
            fn(renamed)


def test_not_a_dataframe(log):
    with pytest.raises(CustsegError, match="must be a pandas DataFrame, got dict"):
        summary(log.to_dict("list"))


# ---- customer ids ---------------------------------------------------------------------------

@pytest.mark.parametrize("missing", [np.nan, None, "", "   "], ids=repr)
def test_missing_ids(log, missing):
    ids = log["customer_id"].astype(object)
    ids[[1, 4]] = missing
    bad = log.assign(customer_id=ids)
    pattern = (r"Column 'customer_id': 2 of 6 rows are missing \(NaN, None or empty "
               r"string\)\. First 2 shown:\n")
    with pytest.raises(InvalidDataError, match=pattern):
        summary(bad)
    with pytest.raises(InvalidDataError, match=pattern):
        split(bad)
    cleaned, report = clean(bad)
    assert report.missing_customer_id.n_rows == 2
    assert list(report.missing_customer_id.examples.index) == [1, 4]
    assert list(cleaned.index) == [0, 2, 3, 5]


def test_mixed_type_ids_are_distinct_customers(log):
    # 1 (int), "1" (str) and 3.0 (float, equal to the int 3) as in a hand-typed sheet
    mixed = log.assign(customer_id=pd.Series([1, "1", 2, 3, 3.0, 3], dtype=object))
    table = summary(mixed)
    assert len(table) == 4
    assert_no_nan(table)
    by_id = {(type(k).__name__, str(k)): row for k, row in table.iterrows()}
    assert by_id[("int", "1")]["frequency"] == 0 and by_id[("int", "1")]["T"] == 19
    assert by_id[("str", "1")]["T"] == 15  # first purchase on 2024-01-05
    three = [row for (kind, key), row in by_id.items() if key in ("3", "3.0")]
    assert len(three) == 1  # 3 and 3.0 are equal ids, as in a pandas groupby
    assert three[0]["frequency"] == 2


def test_string_ids_keep_their_text(log):
    named = log.assign(customer_id=log["customer_id"].map({1: "b-1", 2: "a-2", 3: "c-3"}))
    table = summary(named)
    pd.testing.assert_frame_equal(
        table, expected_table(["b-1", "a-2", "c-3"]).sort_index(), check_index_type=False)


def test_unhashable_ids(log):
    bad = log.assign(customer_id=[[1], [1], [2], [3], [3], [3]])
    with pytest.raises(InvalidDataError, match=r"Column 'customer_id': 6 of 6 rows"):
        summary(bad)
    with pytest.raises(InvalidDataError, match=r"Column 'customer_id': 6 of 6 rows"):
        clean(bad)


# ---- dates ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["%Y-%m-%d", "%Y/%m/%d", "%d.%m.%Y", "%d/%m/%Y", "%b %d %Y",
                                 "%Y%m%d", "%Y-%m-%dT%H:%M:%S"])
def test_dates_as_strings_with_their_format(log, fmt):
    text = log.assign(date=log["date"].dt.strftime(fmt))
    pd.testing.assert_frame_equal(summary(text, datetime_format=fmt), expected_table())
    cleaned, report = clean(text, datetime_format=fmt)
    assert report.n_dropped_rows == 0
    pd.testing.assert_series_equal(cleaned["date"], log["date"], check_dtype=False)


def test_iso_strings_parse_without_a_format(log):
    text = log.assign(date=log["date"].dt.strftime("%Y-%m-%d"))
    pd.testing.assert_frame_equal(summary(text), expected_table())
    pd.testing.assert_frame_equal(split(text), split(log))


def test_day_first_strings_without_a_format_are_not_guessed(log):
    # 20/01/2024 cannot be month-first: the row is named, with the way out
    text = log.assign(date=log["date"].dt.strftime("%d/%m/%Y"))
    with pytest.raises(InvalidDataError,
                       match=r"Column 'date': 1 of 6 rows cannot be parsed as dates\. "
                             r"First 1 shown:\n(.|\n)*20/01/2024(.|\n)*datetime_format"):
        summary(text)


def test_dates_as_numbers_need_a_format(log):
    numbers = log.assign(date=log["date"].dt.strftime("%Y%m%d").astype(int))
    with pytest.raises(InvalidDataError,
                       match=r"Column 'date' holds numbers \(int64\), not dates\. Pass "
                             r"datetime_format"):
        summary(numbers)
    pd.testing.assert_frame_equal(summary(numbers, datetime_format="%Y%m%d"),
                                  expected_table())


def test_unparseable_dates(log):
    bad = log.assign(date=["2024-01-01", "not a date", "2024-01-03", "2024-13-45",
                           "2024-01-10", "2024-01-20"])
    pattern = (r"Column 'date': 2 of 6 rows cannot be parsed as dates\. First 2 shown:\n"
               r"(.|\n)*not a date(.|\n)*2024-13-45")
    with pytest.raises(InvalidDataError, match=pattern):
        summary(bad)
    with pytest.raises(InvalidDataError, match=pattern):
        split(bad)
    cleaned, report = clean(bad)
    assert report.bad_date.n_rows == 2 and report.bad_date.n_dropped == 2
    assert list(report.bad_date.examples["date"]) == ["not a date", "2024-13-45"]
    assert len(cleaned) == 4


def test_missing_dates(log):
    bad = log.assign(date=log["date"].where(log.index != 2))
    with pytest.raises(InvalidDataError, match=r"Column 'date': 1 of 6 rows have no date"):
        summary(bad)
    cleaned, report = clean(bad)
    assert report.bad_date.n_rows == 1
    assert report.dropped_customers.to_dict() == {2: "bad_date"}


def test_dates_beyond_observation_period_end_are_left_out(log):
    table = summary(log, observation_period_end="2024-01-10")
    # customer 3's purchase of 2024-01-20 is after the end: left out, as lifetimes does
    expected = pd.DataFrame({"frequency": [1.0, 0.0, 1.0], "recency": [4.0, 0.0, 8.0],
                             "T": [9.0, 7.0, 8.0], "monetary_value": [20.0, 0.0, 8.0]},
                            index=pd.Index([1, 2, 3], name="customer_id"))
    pd.testing.assert_frame_equal(table, expected)
    cleaned, report = clean(log, observation_period_end="2024-01-10")
    assert report.after_observation_end.n_rows == 1
    assert list(cleaned.index) == [0, 1, 2, 3, 4]


def test_customers_first_seen_after_observation_period_end(log):
    with pytest.raises(InvalidDataError,
                       match=r"Column 'date': 1 of 3 rows \(customers, shown by "
                             r"customer_id\) make their first purchase after "
                             r"observation_period_end=2024-01-02(.|\n)*2024-01-03"):
        summary(log.iloc[:4], observation_period_end="2024-01-02")


def test_observation_period_end_before_the_whole_log(log):
    with pytest.raises(InvalidDataError, match=r"Column 'date': 3 of 3 rows"):
        summary(log, observation_period_end="2023-12-01")
    cleaned, report = clean(log, observation_period_end="2023-12-01")
    assert cleaned.empty and report.after_observation_end.n_dropped == 6


def test_observation_period_end_that_is_not_a_date(log):
    with pytest.raises(InvalidParameterError,
                       match=r"observation_period_end='soon' is not a date"):
        summary(log, observation_period_end="soon")


def test_timezone_aware_dates_keep_their_wall_time(log):
    aware = log.assign(date=log["date"].dt.tz_localize("America/New_York")
                       + pd.Timedelta(hours=23))
    pd.testing.assert_frame_equal(summary(aware), expected_table())
    cleaned, report = clean(aware)
    assert report.n_dropped_rows == 0


def _noon_in_zones(log):
    """The same days at noon, as Timestamps in several time zones and naive ones: any
    reading (local wall time or UTC) gives the same days."""
    zones = ["UTC", None, "Europe/Paris", None, "Asia/Tokyo", "America/New_York"]
    stamps = [pd.Timestamp(d) + pd.Timedelta(hours=12) for d in log["date"]]
    return [s if z is None else s.tz_localize(z) for s, z in zip(stamps, zones)]


def test_timezone_aware_and_naive_timestamps_mixed(log):
    mixed = log.assign(date=pd.Series(_noon_in_zones(log), dtype=object))
    pd.testing.assert_frame_equal(summary(mixed), expected_table())


def test_timezone_aware_and_naive_timestamps_mixed_are_not_dropped_by_cleaning(log):
    mixed = log.assign(date=pd.Series(_noon_in_zones(log), dtype=object))
    cleaned, report = clean(mixed)
    assert report.bad_date.n_rows == 0
    assert len(cleaned) == 6


def test_iso_strings_with_and_without_utc_offsets(log):
    suffixes = ["+01:00", "", "Z", "", "+09:00", "-05:00"]
    text = [f"{d}T12:00:00{s}" for d, s in zip(DATES, suffixes)]
    pd.testing.assert_frame_equal(summary(log.assign(date=text)), expected_table())


# ---- amounts --------------------------------------------------------------------------------

def test_negative_amounts(log):
    bad = log.assign(amount=[10.0, -20.0, 5.0, 7.0, -8.0, 9.0])
    pattern = (r"Column 'amount': 2 of 6 rows are negative \(returns or refunds\)\. "
               r"First 2 shown:\n(.|\n)*-20\.0(.|\n)*returns='drop'")
    with pytest.raises(InvalidDataError, match=pattern):
        summary(bad)
    with pytest.raises(InvalidDataError, match=pattern):
        split(bad)
    cleaned, report = clean(bad)
    assert report.non_positive_amount.n_dropped == 2
    assert (cleaned["amount"] > 0).all()


def test_returns_netted_against_earlier_purchases(log):
    bad = log.assign(amount=[10.0, -4.0, 5.0, 7.0, 8.0, -9.0])
    cleaned, report = clean(bad, returns="net")
    # customer 1: 10 - 4 = 6 left on the first purchase; customer 3: 9 taken from the
    # latest purchase (8, to 0) then from the one before (7, to 6)
    assert cleaned["amount"].to_dict() == {0: 6.0, 2: 5.0, 3: 6.0}
    assert report.non_positive_amount.details["n_purchases_netted_to_zero"] == 1


def test_zero_amounts(log):
    zero = log.assign(amount=[10.0, 0.0, 5.0, 7.0, 8.0, 9.0])
    table = summary(zero)
    assert table.loc[1, "monetary_value"] == 0.0 and table.loc[1, "frequency"] == 1.0
    cleaned, report = clean(zero)
    assert report.non_positive_amount.n_rows == 1
    assert 1 not in cleaned.index


def test_amounts_as_strings_with_currency_symbols(log):
    text = log.assign(amount=["$10", "$20.00", "€5", "7 €", "£8.00", "1,009.00"])
    with pytest.raises(InvalidDataError,
                       match=r"Column 'amount': 6 of 6 rows are not numbers\. First 5 "
                             r"shown:\n(.|\n)*\$10(.|\n)*clean_transactions"):
        summary(text)
    cleaned, report = clean(text)
    assert report.n_dropped_rows == 0
    assert cleaned["amount"].tolist() == [10.0, 20.0, 5.0, 7.0, 8.0, 1009.0]
    table = summary(cleaned)
    assert table.loc[3, "monetary_value"] == pytest.approx((8.0 + 1009.0) / 2)


def test_amounts_with_a_decimal_comma_are_not_guessed(log):
    text = log.assign(amount=["10,50", "20", "5", "7", "8", "9"])
    with pytest.raises(InvalidDataError,
                       match=r"Column 'amount': 1 of 6 rows are not amounts\. First 1 "
                             r"shown:\n(.|\n)*10,50"):
        clean(text)


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_infinite_amounts(log, value):
    bad = log.assign(amount=[10.0, 20.0, value, 7.0, 8.0, 9.0])
    with pytest.raises(InvalidDataError,
                       match=r"Column 'amount': 1 of 6 rows are missing, NaN or infinite"):
        summary(bad)
    with pytest.raises(InvalidDataError, match=r"Column 'amount': 1 of 6 rows are infinite"):
        clean(bad)


def test_amount_checks_do_not_leak_numpy_warnings(log):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(InvalidDataError, match=r"Column 'amount': 2 of 6 rows are "
                                                   r"missing, NaN or infinite"):
            summary(log.assign(amount=[np.inf, 20.0, 5.0, 7.0, -np.inf, 9.0]))
        # the sum of all amounts overflows, no customer's sum does
        table = summary(log.assign(amount=[5.0, 1e308, 5.0, 7.0, 1e308, 9.0]))
    assert table.loc[1, "monetary_value"] == 1e308
    assert table.loc[3, "monetary_value"] == (1e308 + 9.0) / 2


def test_amounts_of_a_customer_that_sum_beyond_the_largest_float(log):
    huge = log.assign(amount=[1e308, 1e308, 5.0, 7.0, 8.0, 9.0],
                      customer_id=log["customer_id"].iloc[0])
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(InvalidDataError, match=r"Column 'amount': 6 of 6 rows belong to 1 "
                                                   r"customer\(s\) whose amounts sum to more "
                                                   r"than the largest float(.|\n)*1\.000000e\+308"):
            summary(huge)


def test_missing_amounts(log):
    bad = log.assign(amount=[10.0, None, 5.0, 7.0, 8.0, np.nan])
    with pytest.raises(InvalidDataError,
                       match=r"Column 'amount': 2 of 6 rows are missing, NaN or infinite"):
        summary(bad)
    cleaned, report = clean(bad)
    assert report.missing_amount.n_dropped == 2
    with pytest.raises(InvalidDataError, match=r"Column 'amount': 2 of 6 rows have no amount"):
        clean(bad, missing_amounts="raise")


# ---- duplicates and sizes -------------------------------------------------------------------

def test_duplicated_rows(log):
    doubled = pd.concat([log, log.iloc[[0, 4]]], ignore_index=True)
    table = summary(doubled)
    # a duplicate is a second purchase in the same period: same frequency, twice the spend
    expected = expected_table()
    expected.loc[3, "monetary_value"] = (2 * 8.0 + 9.0) / 2
    pd.testing.assert_frame_equal(table, expected)
    cleaned, report = clean(doubled)
    assert report.duplicate_row.n_rows == 2
    pd.testing.assert_frame_equal(summary(cleaned), expected_table())


def test_single_customer(log):
    one = log[log["customer_id"] == 3]
    pd.testing.assert_frame_equal(summary(one), expected_table().loc[[3]])
    table = split(one)
    assert table.loc[3, "frequency_cal"] == 0 and table.loc[3, "frequency_holdout"] == 2


def test_one_transaction_in_total(log):
    one = log.iloc[:1]
    table = summary(one)
    pd.testing.assert_frame_equal(
        table, pd.DataFrame({"frequency": [0.0], "recency": [0.0], "T": [0.0],
                             "monetary_value": [0.0]},
                            index=pd.Index([1], name="customer_id")))
    with pytest.raises(EmptyDataError, match=r"No transaction in the holdout window"):
        split(one)
    cleaned, report = clean(one)
    assert len(cleaned) == 1 and report.n_dropped_rows == 0


def test_one_hundred_thousand_transactions_of_one_customer():
    n = 100_000
    days = np.arange(n) % 1000  # 100 purchases on each of 1,000 days
    big = pd.DataFrame({"customer_id": "whale",
                        "date": pd.Timestamp("2020-01-01") + pd.to_timedelta(days, unit="D"),
                        "amount": 1.0})
    table = summary(big)
    assert table.index.tolist() == ["whale"]
    row = table.loc["whale"]
    assert (row["frequency"], row["recency"], row["T"]) == (999.0, 999.0, 999.0)
    assert row["monetary_value"] == pytest.approx(100.0)  # 100 purchases a day, 1 each
    weekly = rfm_summary(big, freq="W", extra_columns=["n_transactions", "n_periods"])
    assert weekly.loc["whale", "n_transactions"] == n
    assert weekly.loc["whale", "frequency"] == weekly.loc["whale", "n_periods"] - 1
    cleaned, report = clean(big)
    assert len(cleaned) == 1000 and report.duplicate_row.n_rows == n - 1000


def test_calibration_end_before_the_first_transaction(log):
    with pytest.raises(EmptyDataError,
                       match=r"No transaction on or before calibration_period_end=2023-12-31"):
        calibration_holdout_split(log, calibration_period_end="2023-12-31")
    with pytest.raises(InvalidParameterError, match="calibration_period_end is required"):
        calibration_holdout_split(log)


@pytest.mark.parametrize("freq, message", [
    ("fortnight", r"freq='fortnight' is not a pandas period frequency"),
    ("2D", r"freq='2D' has a multiple \(2\)"),
])
def test_invalid_period(log, freq, message):
    with pytest.raises(InvalidParameterError, match=message):
        summary(log, freq=freq)


@pytest.mark.parametrize("multiplier", [0, -1, np.nan, "7", True])
def test_invalid_freq_multiplier(log, multiplier):
    with pytest.raises(InvalidParameterError, match="freq_multiplier must be a positive"):
        summary(log, freq_multiplier=multiplier)


@pytest.mark.parametrize("policy, value", [("returns", "refund"), ("duplicates", None),
                                           ("future", "later")])
def test_invalid_cleaning_policy(log, policy, value):
    with pytest.raises(InvalidParameterError, match=rf"{policy}={value!r} is not valid"):
        clean(log, **{policy: value})


@pytest.mark.parametrize("dtype", ["int64", "uint64"])
def test_large_integer_ids_in_a_compact_range(log, dtype):
    # ids beyond int32 whose range is small: coded by offset (found by fuzzing)
    big = log.assign(customer_id=(log["customer_id"] + 1_000_000_000_000_000).astype(dtype))
    table = summary(big)
    assert list(table.index) == [1_000_000_000_000_001, 1_000_000_000_000_002,
                                 1_000_000_000_000_003]
    assert table.index.dtype == dtype
    pd.testing.assert_frame_equal(table.reset_index(drop=True),
                                  summary(log).reset_index(drop=True))
    cleaned, report = clean(big)
    assert report.n_output_rows == len(big)
    pd.testing.assert_series_equal(cleaned["customer_id"], big["customer_id"])
