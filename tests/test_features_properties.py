"""Properties of rfm_summary on generated logs, checked against a plain pandas reference."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from custseg.features import calibration_holdout_split, rfm_summary


@st.composite
def logs(draw):
    """A log of 1-15 customers with 1-8 purchases each, ids 0..n-1 in random order."""
    n_customers = draw(st.integers(1, 15))
    counts = draw(st.lists(st.integers(1, 8), min_size=n_customers, max_size=n_customers))
    n = sum(counts)
    ids = np.repeat(np.arange(n_customers), counts)
    hours = np.array(draw(st.lists(st.integers(0, 24 * 90), min_size=n, max_size=n)))
    cents = np.array(draw(st.lists(st.integers(0, 50_000), min_size=n, max_size=n)))
    return pd.DataFrame({
        "customer_id": ids,
        "date": pd.Timestamp("2022-12-30") + pd.to_timedelta(hours, unit="h"),
        "amount": cents / 100,
    })


FREQS = st.sampled_from(["D", "W", "h", "M"])


def reference(log, freq, end=None):
    """Straightforward pandas: periods of every row, then per customer."""
    period = log["date"].dt.to_period(freq)
    end_period = (period.max() if end is None else pd.Timestamp(end).to_period(freq))
    rows = log.assign(period=period)[period <= end_period]
    per = rows.groupby(["customer_id", "period"])["amount"].sum().reset_index()
    first = per.groupby("customer_id")["period"].transform("min")
    per["repeat"] = per["period"] != first
    g = per.groupby("customer_id")

    def periods_between(a, b):
        return np.array([(y - x).n for x, y in zip(a, b)], dtype=float)

    table = pd.DataFrame({
        "frequency": g.size() - 1.0,
        "recency": periods_between(g["period"].min(), g["period"].max()),
        "T": periods_between(g["period"].min(), [end_period] * g.ngroups),
    })
    repeat = per[per["repeat"]].groupby("customer_id")["amount"].mean()
    table["monetary_value"] = repeat.reindex(table.index).fillna(0.0)
    table.index.name = "customer_id"
    return table


def _same(a, b):
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9,
                                  check_index_type=False)


@given(log=logs(), freq=FREQS)
def test_matches_plain_pandas_reference(log, freq):
    table = rfm_summary(log, monetary_value_col="amount", freq=freq)
    _same(table, reference(log, freq))


@given(log=logs(), freq=FREQS, data=st.data())
def test_bounds(log, freq, data):
    table = rfm_summary(log, monetary_value_col="amount", freq=freq, extra_columns=True)
    assert (table["recency"] >= 0).all()
    assert (table["recency"] <= table["T"]).all()
    assert (table["frequency"] == np.round(table["frequency"])).all()
    distinct = log.assign(p=log["date"].dt.to_period(freq)).groupby("customer_id")["p"]
    np.testing.assert_array_equal(table["n_periods"], distinct.nunique())
    assert (table["frequency"] < table["n_periods"]).all()
    assert ((table["frequency"] == 0) <= (table["recency"] == 0)).all()
    assert ((table["frequency"] == 0) <= (table["monetary_value"] == 0)).all()
    assert (table["n_periods"] <= table["n_transactions"]).all()
    g = log.groupby("customer_id")
    np.testing.assert_array_equal(table["n_transactions"], g.size())
    np.testing.assert_allclose(table["total_spend"], g["amount"].sum(), rtol=1e-12)
    assert (table["first_purchase"] == g["date"].min()).all()
    assert (table["last_purchase"] == g["date"].max()).all()


@given(log=logs(), freq=FREQS, seed=st.integers(0, 2**32 - 1))
def test_invariant_to_row_order(log, freq, seed):
    shuffled = log.sample(frac=1.0, random_state=seed)
    _same(rfm_summary(shuffled, monetary_value_col="amount", freq=freq),
          rfm_summary(log, monetary_value_col="amount", freq=freq))


@given(log=logs(), freq=FREQS)
def test_invariant_to_id_type(log, freq):
    base = rfm_summary(log, monetary_value_col="amount", freq=freq)
    label = {i: f"customer-{i:03d}" for i in log["customer_id"].unique()}
    names = log["customer_id"].map(label)
    variants = {
        "str": log.assign(customer_id=names),
        "object": log.assign(customer_id=names.astype(object)),
        "category": log.assign(customer_id=pd.Categorical(names)),
        "sparse int": log.assign(customer_id=log["customer_id"] * 10**12 + 7),
        "int32": log.assign(customer_id=log["customer_id"].astype(np.int32)),
    }
    for kind, variant in variants.items():
        table = rfm_summary(variant, monetary_value_col="amount", freq=freq)
        assert len(table) == len(base), kind
        np.testing.assert_allclose(table.to_numpy(), base.to_numpy(), rtol=1e-12,
                                   err_msg=kind)


@given(log=logs(), multiplier=st.sampled_from([7, 24, 0.5]))
def test_freq_multiplier_scales_time(log, multiplier):
    one = rfm_summary(log, freq="D")
    scaled = rfm_summary(log, freq="D", freq_multiplier=multiplier)
    np.testing.assert_allclose(scaled[["recency", "T"]], one[["recency", "T"]] / multiplier)
    np.testing.assert_array_equal(scaled["frequency"], one["frequency"])


@given(log=logs())
def test_include_first_transaction(log):
    base = rfm_summary(log, monetary_value_col="amount", extra_columns=True)
    incl = rfm_summary(log, monetary_value_col="amount", include_first_transaction=True)
    np.testing.assert_array_equal(incl["frequency"], base["frequency"] + 1)
    np.testing.assert_allclose(incl["monetary_value"],
                               base["total_spend"] / base["n_periods"], rtol=1e-12)


@given(log=logs(), cut=st.integers(1, 80), freq=st.sampled_from(["D", "W"]))
def test_calibration_columns_are_the_summary_of_the_window(log, cut, freq):
    cal_end = pd.Timestamp("2022-12-30") + pd.Timedelta(days=cut)
    if not (log["date"] > cal_end).any() or not (log["date"] <= cal_end).any():
        return
    split = calibration_holdout_split(log, calibration_period_end=cal_end, freq=freq,
                                      monetary_value_col="amount")
    window = rfm_summary(log[log["date"] <= cal_end], observation_period_end=cal_end,
                         freq=freq, monetary_value_col="amount")
    _same(split.iloc[:, :4].rename(columns=lambda c: c.removesuffix("_cal")), window)
    holdout = log[log["date"] > cal_end]
    periods = holdout.assign(p=holdout["date"].dt.to_period(freq))
    counts = periods.groupby("customer_id")["p"].nunique()
    expected = counts.reindex(split.index).fillna(0.0).to_numpy()
    np.testing.assert_array_equal(split["frequency_holdout"], expected)


@given(log=logs(), freq=FREQS, chunk=st.integers(1, 9))
def test_chunked_sums_equal_one_pass(log, freq, chunk):
    """Spend is summed a chunk of rows at a time, in row order: any chunk size gives the
    same table, to the last bit."""
    from custseg.features import _rfm

    whole = rfm_summary(log, monetary_value_col="amount", freq=freq, extra_columns=True)
    saved = _rfm.CHUNK_ROWS
    _rfm.CHUNK_ROWS = chunk
    try:
        chunked = rfm_summary(log, monetary_value_col="amount", freq=freq,
                              extra_columns=True)
    finally:
        _rfm.CHUNK_ROWS = saved
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)


@st.composite
def messy_frames(draw):
    """Rows drawn from few values (so that many repeat), in columns of several kinds:
    floats with NaN and -0.0, integers, text with None, mixed objects, dates with NaT."""
    n = draw(st.integers(0, 40))
    pick = st.lists(st.integers(0, 3), min_size=n, max_size=n)
    floats = np.array([0.0, -0.0, np.nan, 2.5])[draw(pick)]
    ints = np.array([1, 2, 3, 4])[draw(pick)]
    text = np.array(["a", None, "b", ""], dtype=object)[draw(pick)]
    mixed = np.array([1, 1.0, "1", None], dtype=object)[draw(pick)]
    dates = pd.to_datetime(np.array(["2024-01-01", None, "2024-01-02", "2024-01-01"])[
        draw(pick)])
    alive = np.array(draw(st.lists(st.booleans(), min_size=n, max_size=n)), dtype=bool)
    return pd.DataFrame({"f": floats, "i": ints, "t": text, "m": mixed, "d": dates}), alive


@given(case=messy_frames(), chunk=st.integers(1, 7))
def test_duplicates_from_hashes_equal_pandas(case, chunk):
    """Hash, then compare the rows whose hash repeats: the same rows as
    ``DataFrame.duplicated`` over the live rows, whatever the chunk size."""
    from custseg.features import _clean, _rfm

    frame, alive = case
    expected = np.zeros(len(frame), dtype=bool)
    live = np.flatnonzero(alive)
    expected[live] = frame.iloc[live].duplicated(keep="first").to_numpy()
    saved = _rfm.CHUNK_ROWS
    _rfm.CHUNK_ROWS = chunk
    try:
        found = _clean._duplicated(frame, ["i", "d"], {}, alive)
    finally:
        _rfm.CHUNK_ROWS = saved
    np.testing.assert_array_equal(found, expected)
