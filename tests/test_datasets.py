import numpy as np
import pandas as pd
import pytest

from custseg.datasets import (
    CDNOW_PARAMS,
    load_cdnow_summary,
    load_cdnow_transactions,
    load_donations,
    make_transactions,
)


def test_cdnow_sample_shape_and_dtypes():
    log = load_cdnow_transactions()
    assert log.shape == (6919, 4)
    assert list(log.columns) == ["customer_id", "date", "quantity", "amount"]
    assert log["customer_id"].nunique() == 2357
    assert pd.api.types.is_datetime64_any_dtype(log["date"])
    assert log["date"].min() == pd.Timestamp("1997-01-01")
    assert log["date"].max() == pd.Timestamp("1998-06-30")


def test_cdnow_master():
    log = load_cdnow_transactions(sample=False)
    assert log.shape == (69659, 4)
    assert log["customer_id"].nunique() == 23570


def test_cdnow_summary():
    table = load_cdnow_summary()
    assert table.shape == (2357, 4)
    assert table.index.name == "customer_id"
    assert (table["recency"] <= table["T"]).all()
    assert int(table["frequency"].sum()) == 2457  # repeat purchase days in the 39 weeks
    assert list(load_cdnow_summary(with_monetary_value=False).columns) == [
        "frequency", "recency", "T"]


def test_donations():
    d = load_donations()
    assert len(d) == 22
    assert int(d["weights"].sum()) == 11104
    assert (d["periods"] == 6).all()


def test_make_transactions_reproducible_and_consistent():
    a = make_transactions(2000, random_state=3)
    b = make_transactions(2000, random_state=3)
    pd.testing.assert_frame_equal(a.transactions, b.transactions)
    log, truth = a.transactions, a.customers
    assert log["customer_id"].nunique() == 2000
    assert a.params == CDNOW_PARAMS
    counts = log.groupby("customer_id").size()
    np.testing.assert_array_equal(counts.to_numpy(), truth["frequency"].to_numpy() + 1)
    assert (truth["recency"] <= truth["T"]).all()
    assert log["date"].max() < a.observation_period_end
    assert (log["amount"] > 0).all()
    # purchases of one customer are in time order
    assert (log.groupby("customer_id")["date"].diff().dropna() >= pd.Timedelta(0)).all()


def test_make_transactions_moments_match_the_model():
    sim = make_transactions(200_000, random_state=1, r=1.0, alpha=2.0)
    cust = sim.customers
    # E[lambda] = r / alpha, E[p] = a / (a + b), E[spend] = p v / (q - 1)
    assert cust["lambda_"].mean() == pytest.approx(0.5, rel=0.02)
    assert cust["dropout_p"].mean() == pytest.approx(0.793 / (0.793 + 2.426), rel=0.02)
    spend = sim.transactions["amount"].mean()
    assert spend == pytest.approx(6.25 * 15.44 / 2.74, rel=0.03)
    # dead customers never outlive their dropout: nobody alive has fewer draws than D
    assert cust.loc[~cust["alive"], "frequency"].min() >= 1


def test_make_transactions_shuffle_and_errors():
    sim = make_transactions(100, shuffle=True, random_state=0)
    assert not sim.transactions["customer_id"].is_monotonic_increasing
    with pytest.raises(ValueError, match="time_unit"):
        make_transactions(10, time_unit="Q")
    with pytest.raises(ValueError, match="alpha"):
        make_transactions(10, alpha=-1)
