"""clean_transactions and CleaningReport: counts add up, policies, netting, messages."""

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.features import CleaningReport, clean_transactions, rfm_summary
from custseg.features._clean import PROBLEMS


def messy_log():
    return pd.DataFrame({
        "customer_id": ["a", "a", "a", None, "b", "b", "c", "d", "d", " ", "e"],
        "date": ["2024-01-01", "2024-01-01", "2024-01-03", "2024-01-02", "garbage",
                 "2024-01-04", "2024-03-01", "2024-01-05", "2024-01-06", "2024-01-07",
                 None],
        "amount": [10.0, 10.0, 5.0, 1.0, 3.0, np.nan, 4.0, 8.0, -8.0, 2.0, 1.0],
        "store": ["x", "x", "y", "x", "x", "y", "x", "x", "x", "y", "y"],
    })


def test_every_problem_counted():
    log = messy_log()
    clean, report = clean_transactions(log, monetary_value_col="amount",
                                       observation_period_end="2024-02-01")
    assert isinstance(report, CleaningReport)
    counts = report.summary()
    assert counts["n_rows"].to_dict() == {
        "missing_customer_id": 2, "bad_date": 2, "missing_amount": 1, "duplicate_row": 1,
        "after_observation_end": 1, "non_positive_amount": 1}
    assert (counts["n_dropped"] == counts["n_rows"]).all()
    assert (counts["action"] == "dropped").all()
    assert report.n_input_rows == 11 and report.n_output_rows == 3
    assert report.n_dropped_rows == 8
    assert clean.index.tolist() == [0, 2, 7]
    assert clean["date"].dtype.kind == "M"
    assert report.n_input_customers == 5 and report.n_output_customers == 2
    assert report.dropped_customers.to_dict() == {
        "b": "missing_amount", "c": "after_observation_end", "e": "bad_date"}
    assert report.bad_date.examples.index.tolist() == [4, 10]
    assert report.missing_customer_id.examples.index.tolist() == [3, 9]


def test_keep_policies():
    log = messy_log()
    clean, report = clean_transactions(log, monetary_value_col="amount",
                                       observation_period_end="2024-02-01",
                                       returns="keep", duplicates="keep", future="keep")
    for name in ("duplicate_row", "after_observation_end", "non_positive_amount"):
        problem = getattr(report, name)
        assert (problem.n_rows, problem.n_dropped, problem.action) == (1, 0, "kept")
    assert report.n_output_rows == 6
    assert (clean["amount"] < 0).sum() == 1


def test_not_checked_without_amounts_or_end():
    clean, report = clean_transactions(messy_log())
    for name in ("missing_amount", "after_observation_end", "non_positive_amount"):
        assert getattr(report, name).action == "not checked"
        assert getattr(report, name).n_rows == 0
    assert report.duplicate_row.n_rows == 1  # the amount column still takes part
    assert "d" in set(clean["customer_id"])


def test_raise_policies():
    log = messy_log()
    with pytest.raises(InvalidDataError,
                       match=r"'customer_id': 2 of 11 rows have no customer id"):
        clean_transactions(log, missing_ids="raise")
    with pytest.raises(InvalidDataError,
                       match=r"'date': 2 of 11 rows have a missing or unparseable date"
                             r"(.|\n)*garbage"):
        clean_transactions(log, bad_dates="raise")
    with pytest.raises(InvalidDataError, match=r"'amount': 1 of 11 rows have no amount"):
        clean_transactions(log, monetary_value_col="amount", missing_amounts="raise")
    with pytest.raises(InvalidDataError,
                       match=r"'date': 1 of 11 rows are dated after "
                             r"observation_period_end=2024-02-01"):
        clean_transactions(log, observation_period_end="2024-02-01", future="raise")


def test_parameter_and_column_errors():
    with pytest.raises(InvalidParameterError, match=r"returns='refund' is not valid"):
        clean_transactions(messy_log(), returns="refund")
    with pytest.raises(InvalidParameterError, match=r"duplicates=None is not valid"):
        clean_transactions(messy_log(), duplicates=None)
    with pytest.raises(MissingColumnError, match=r"missing column\(s\) 'price'"):
        clean_transactions(messy_log(), monetary_value_col="price")


def test_text_amounts():
    log = pd.DataFrame({"customer_id": [1, 1, 1, 1, 1, 1],
                        "date": pd.date_range("2024-01-01", periods=6),
                        "amount": ["$1,234.50", "12", "-$3.00", "£7.25", "5.00 €", ""]})
    clean, report = clean_transactions(log, monetary_value_col="amount", returns="keep")
    assert clean["amount"].tolist() == [1234.5, 12.0, -3.0, 7.25, 5.0]
    assert report.missing_amount.n_rows == 1
    bad = log.assign(amount=["€12,50", "3", "12,5", "USD 3", "1,2345", "$$1"])
    with pytest.raises(InvalidDataError,
                       match=r"'amount': 5 of 6 rows are not amounts(.|\n)*€12,50"
                             r"(.|\n)*'12,50'"):
        clean_transactions(bad, monetary_value_col="amount")
    with pytest.raises(InvalidDataError, match=r"1 of 2 rows are infinite"):
        clean_transactions(log.head(2).assign(amount=[1.0, np.inf]),
                           monetary_value_col="amount")


def test_net_example():
    log = pd.DataFrame({
        "customer_id": ["a", "a", "a", "a", "b", "b"],
        "date": pd.to_datetime(["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04",
                                "2024-01-01", "2024-01-02"]),
        "amount": [30.0, 20.0, -25.0, 0.0, -5.0, 9.0]})
    clean, report = clean_transactions(log, monetary_value_col="amount", returns="net")
    # -25 takes 20 from the purchase of 01-02 (dropped) then 5 from 01-01; b's return
    # comes before any purchase and is unmatched
    assert clean.index.tolist() == [0, 5]
    assert clean["amount"].tolist() == [25.0, 9.0]
    p = report.non_positive_amount
    assert (p.n_rows, p.n_dropped, p.action) == (3, 4, "netted")
    assert p.details == {"n_returns": 2, "n_zero_amounts": 1, "n_purchases_reduced": 2,
                         "n_purchases_netted_to_zero": 1, "returned_amount": 30.0,
                         "unmatched_return_amount": 5.0}


def net_reference(log):
    """Scalar reference of returns='net': a stack of purchases per customer."""
    out = {}
    order = log.assign(ret=log["amount"] < 0, pos=np.arange(len(log))).sort_values(
        ["customer_id", "date", "ret", "pos"])
    for _, rows in order.groupby("customer_id", sort=False):
        stack = []  # [row label, remaining amount]
        for label, amount in zip(rows.index, rows["amount"]):
            if amount > 0:
                stack.append([label, amount])
            elif amount < 0:
                left = -amount
                while left > 0 and stack:
                    take = min(left, stack[-1][1])
                    stack[-1][1] -= take
                    left -= take
                    if stack[-1][1] <= 1e-9:
                        stack.pop()
        for label, amount in stack:
            out[label] = amount
    return pd.Series(out, dtype=float).sort_index()


@st.composite
def signed_logs(draw):
    n = draw(st.integers(1, 40))
    ids = draw(st.lists(st.integers(0, 5), min_size=n, max_size=n))
    days = draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))
    cents = draw(st.lists(st.integers(-3000, 5000), min_size=n, max_size=n))
    return pd.DataFrame({"customer_id": ids,
                         "date": pd.Timestamp("2024-01-01") + pd.to_timedelta(days, "D"),
                         "amount": np.array(cents) / 100})


@given(log=signed_logs())
def test_net_matches_stack_reference(log):
    clean, report = clean_transactions(log, monetary_value_col="amount", returns="net",
                                       duplicates="keep")
    expected = net_reference(log)
    assert clean.index.tolist() == expected.index.tolist()
    np.testing.assert_allclose(clean["amount"].to_numpy(), expected.to_numpy(),
                               rtol=1e-9, atol=1e-9)
    assert (clean["amount"] > 0).all()
    gross = log.loc[log["amount"] > 0, "amount"].sum()
    returned = -log.loc[log["amount"] < 0, "amount"].sum()
    unmatched = report.non_positive_amount.details["unmatched_return_amount"]
    assert clean["amount"].sum() == pytest.approx(gross - returned + unmatched, abs=1e-6)


@st.composite
def raw_logs(draw):
    """Logs with every kind of problem: missing ids, bad dates, duplicates, returns."""
    n = draw(st.integers(0, 30))
    ids = draw(st.lists(st.sampled_from([1, 2, 3, 4, 5, None]), min_size=n, max_size=n))
    dates = draw(st.lists(st.sampled_from(
        ["2024-01-01", "2024-01-02", "2024-02-15", "2024-03-01", "bad", None]),
        min_size=n, max_size=n))
    amounts = draw(st.lists(st.sampled_from([10.0, 5.5, 0.0, -5.5, -20.0, np.nan]),
                            min_size=n, max_size=n))
    return pd.DataFrame({"customer_id": pd.array(ids, dtype="Int64"), "date": dates,
                         "amount": amounts})


@given(log=raw_logs(), returns=st.sampled_from(["drop", "net", "keep"]),
       duplicates=st.sampled_from(["drop", "keep"]),
       future=st.sampled_from(["drop", "keep"]), end=st.sampled_from([None, "2024-02-01"]))
def test_counts_add_up(log, returns, duplicates, future, end):
    clean, report = clean_transactions(log, monetary_value_col="amount", returns=returns,
                                       duplicates=duplicates, future=future,
                                       observation_period_end=end)
    assert report.n_input_rows == len(log)
    assert report.n_output_rows == len(clean)
    dropped = sum(p.n_dropped for p in report.problems.values())
    assert report.n_input_rows == report.n_output_rows + dropped
    assert set(clean.index) <= set(log.index)
    before = set(log["customer_id"].dropna())
    after = set(clean["customer_id"])
    assert report.n_input_customers == len(before)
    assert report.n_output_customers == len(after)
    assert set(report.dropped_customers.index) == before - after
    assert set(report.dropped_customers) <= set(PROBLEMS)
    assert clean["customer_id"].notna().all() and clean["date"].notna().all()
    assert clean["amount"].notna().all()
    for p in report.problems.values():
        assert len(p.examples) == min(p.n_rows, 5)
    if duplicates == "drop":
        assert not clean.duplicated().any()
    if returns != "keep":
        assert (clean["amount"] > 0).all()
    if end is not None and future == "drop":
        assert (clean["date"] <= pd.Timestamp(end)).all()
    json.dumps(report.to_dict())
    if len(clean) and returns != "keep":
        table = rfm_summary(clean, monetary_value_col="amount")
        assert len(table) == report.n_output_customers


def test_report_outputs():
    _, report = clean_transactions(messy_log(), monetary_value_col="amount",
                                   observation_period_end="2024-02-01", returns="net")
    text = repr(report)
    # d's purchase of 8.0 is netted to zero by its return of -8.0
    assert text.startswith("CleaningReport: 11 rows in, 2 out (9 dropped); 5 customers in, "
                           "1 out (4 dropped)")
    assert "non_positive_amount" in text and "netted" in text
    d = report.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["problems"]["bad_date"]["examples"][0] == {
        "row": 4, "customer_id": "b", "date": "garbage", "amount": 3.0, "store": "x"}
    assert {"customer_id": "c", "reason": "after_observation_end"} in d["dropped_customers"]
    assert report.problems["bad_date"] is report.bad_date


def test_timezone_aware_dates_kept():
    log = pd.DataFrame({"customer_id": [1, 1, 2],
                        "date": pd.to_datetime(["2024-01-01 23:00", "2024-01-05 10:00",
                                                "2024-01-09 09:00"]).tz_localize(
                            "America/New_York"),
                        "amount": [5.0, 6.0, 7.0]})
    clean, report = clean_transactions(log, monetary_value_col="amount",
                                       observation_period_end="2024-01-06")
    assert clean["date"].dtype == log["date"].dtype
    assert report.after_observation_end.n_rows == 1
    assert report.dropped_customers.to_dict() == {2: "after_observation_end"}


def test_unhashable_ids_and_mixed_zones():
    log = pd.DataFrame({"customer_id": [[1], [2]], "date": ["2024-01-01", "2024-01-02"]})
    with pytest.raises(InvalidDataError, match=r"'customer_id': 2 of 2 rows are not valid"):
        clean_transactions(log)
    stamps = [pd.Timestamp("2024-01-01 12:00", tz="Europe/Paris"),
              pd.Timestamp("2024-01-02 12:00")]
    clean, report = clean_transactions(pd.DataFrame(
        {"customer_id": [1, 2], "date": pd.Series(stamps, dtype=object)}))
    assert report.bad_date.n_rows == 0
    assert clean["date"].tolist() == [pd.Timestamp("2024-01-01 11:00"),
                                      pd.Timestamp("2024-01-02 12:00")]
