"""LifecycleStages."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import EmptyDataError, InvalidDataError, InvalidParameterError
from custseg.tiers import STAGES, LifecycleStages


@pytest.fixture
def table():
    return pd.DataFrame({
        "recency": [0.0, 50.0, 80.0, 10.0, 0.0, np.nan, 95.0, 30.0],
        "T": [5.0, 60.0, 100.0, 100.0, 200.0, np.nan, 100.0, 300.0],
        "p_alive": [0.99, 0.9, 0.6, 0.3, 0.05, np.nan, 0.8, 0.01],
    }, index=pd.Index([11, 12, 13, 14, 15, 16, 17, 18], name="customer_id"))


def reference(table, new, active, dormant):
    out = []
    for r, T in zip(table["recency"], table["T"]):
        if np.isnan(T):
            out.append("prospect")
        elif T <= new:
            out.append("new")
        elif T - r <= active:
            out.append("active")
        elif T - r <= dormant:
            out.append("dormant")
        else:
            out.append("churned")
    return np.array(out, dtype=object)


def test_stages_from_purchase_timing(table):
    stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120)
    np.testing.assert_array_equal(stages.fit_predict(table), reference(table, 14, 30, 120))
    assert stages.classes_.tolist() == list(STAGES)


def test_learned_thresholds(cdnow_summary):
    stages = LifecycleStages().fit(cdnow_summary)
    since = cdnow_summary["T"] - cdnow_summary["recency"]
    assert stages.new_within_ == np.quantile(cdnow_summary["T"], 0.1, method="inverted_cdf")
    assert stages.active_within_ == np.quantile(since, 0.5, method="inverted_cdf")
    assert stages.dormant_within_ == np.quantile(since, 0.8, method="inverted_cdf")
    labels = stages.predict(cdnow_summary)
    np.testing.assert_array_equal(labels, reference(
        cdnow_summary, stages.new_within_, stages.active_within_, stages.dormant_within_))
    assert 0.08 < (labels == "new").mean() < 0.12


def test_days_since_last_convention(table):
    days = table.assign(recency=table["T"] - table["recency"])
    a = LifecycleStages(new_within=14, active_within=30, dormant_within=120).fit(table)
    b = LifecycleStages(new_within=14, active_within=30, dormant_within=120,
                        recency_is="days_since_last").fit(days)
    np.testing.assert_array_equal(a.predict(table), b.predict(days))


def test_without_T_there_is_no_new_stage(table):
    days = pd.DataFrame({"since": (table["T"] - table["recency"]).to_numpy()})
    stages = LifecycleStages(active_within=30, dormant_within=120, recency_col="since",
                             T_col=None, recency_is="days_since_last").fit(days)
    labels = stages.predict(days)
    assert "new" not in set(labels)
    assert labels[5] == "prospect"  # no purchase: no time since the last one
    assert labels[0] == "active"


def test_p_alive_stages(table):
    stages = LifecycleStages(new_within=14, p_alive_thresholds=(0.7, 0.2)).fit(table)
    labels = stages.predict(table)
    p, T = table["p_alive"].to_numpy(), table["T"].to_numpy()
    expected = np.select([np.isnan(T), T <= 14, p >= 0.7, p >= 0.2],
                         ["prospect", "new", "active", "dormant"], "churned")
    np.testing.assert_array_equal(labels, expected.astype(object))
    assert stages.active_within_ is None


def test_prospect_flag(table):
    flagged = table.fillna({"T": 1.0, "recency": 0.0}).assign(
        lead=[False, False, False, False, False, True, True, False])
    stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120,
                             prospect_col="lead").fit(flagged)
    labels = stages.predict(flagged)
    assert labels[5] == labels[6] == "prospect"
    with pytest.raises(InvalidDataError, match="'lead': 1 of 8 rows are not True/False"):
        stages.predict(flagged.assign(lead=[0, 1, 2, 0, 0, 0, 0, 0]))


def test_reactivated_from_a_previous_snapshot(table):
    stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120).fit(table)
    before = pd.Series(stages.predict(table), index=table.index)
    later = table.assign(T=table["T"] + 20, recency=table["recency"] + [0, 25, 0, 100, 200,
                                                                         np.nan, 0, 0])
    now = stages.predict(later)
    with_history = stages.predict(later, previous=before)
    was_out = before.isin(["dormant", "churned"]).to_numpy()
    back = was_out & (now == "active")
    assert back.any()
    np.testing.assert_array_equal(with_history[back], "reactivated")
    np.testing.assert_array_equal(with_history[~back], now[~back])
    # a Series is aligned on customer id; unknown customers (NaN) keep their stage
    shuffled = before.sample(frac=1.0, random_state=0).iloc[1:]
    aligned = stages.predict(later, previous=shuffled)
    missing = ~table.index.isin(shuffled.index)
    np.testing.assert_array_equal(aligned[~missing], with_history[~missing])
    np.testing.assert_array_equal(aligned[missing], now[missing])
    # a plain array must have one label per row
    np.testing.assert_array_equal(stages.predict(later, previous=before.to_numpy()),
                                  with_history)
    out = stages.set_output(transform="pandas").transform(later, previous=before)
    np.testing.assert_array_equal(out["lifecycle"].astype(object), with_history)


def test_previous_errors(table):
    stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120).fit(table)
    with pytest.raises(InvalidDataError, match="3 labels for 8 customers"):
        stages.predict(table, previous=["active"] * 3)
    with pytest.raises(InvalidDataError, match=r"2 labels are not stages .*'gone'"):
        stages.predict(table, previous=["active", "gone", "gone"] + ["new"] * 5)


def test_custom_stage_names(table):
    stages = LifecycleStages(new_within=14, active_within=30, dormant_within=120,
                             labels={"churned": "lapsed", "dormant": "at risk"}).fit(table)
    assert stages.classes_.tolist() == ["prospect", "new", "active", "reactivated",
                                        "at risk", "lapsed"]
    renamed = pd.Series(reference(table, 14, 30, 120)).replace(
        {"churned": "lapsed", "dormant": "at risk"})
    np.testing.assert_array_equal(stages.predict(table), renamed.to_numpy())


@pytest.mark.parametrize("params, match", [
    ({"active_within": 90, "dormant_within": 30}, "thresholds must increase"),
    ({"active_within": 400}, "thresholds must increase"),
    ({"p_alive_thresholds": (0.2, 0.7)}, "decreasing"),
    ({"p_alive_thresholds": (0.7, 0.2), "active_within": 3}, "not used with p_alive"),
    ({"T_col": None}, "needs recency_is='days_since_last'"),
    ({"labels": {"gone": "x"}}, r"unknown stages \['gone'\]"),
    ({"labels": {"new": "active"}}, "must be distinct"),
])
def test_bad_parameters(table, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        LifecycleStages(**params).fit(table)


def test_bad_data(table):
    late = table.copy()
    late.loc[12, "recency"] = 70.0
    with pytest.raises(InvalidDataError, match="'recency': 1 of 8 rows have recency greater"):
        LifecycleStages().fit(late)
    holes = table.copy()
    holes.loc[13, "recency"] = np.nan
    with pytest.raises(InvalidDataError, match="'recency': 1 of 8 rows are missing for "
                                               "customers who are not prospects"):
        LifecycleStages().fit(holes)
    with pytest.raises(InvalidDataError, match="are negative"):
        LifecycleStages().fit(table.assign(T=table["T"] - 50))
    with pytest.raises(InvalidDataError, match="'p_alive': 1 of 8 rows are not probab"):
        LifecycleStages(p_alive_thresholds=(0.5, 0.1)).fit(
            table.assign(p_alive=table["p_alive"].fillna(0.5).replace(0.6, 1.6)))
    with pytest.raises(EmptyDataError, match="Every customer is a prospect"):
        LifecycleStages().fit(table.assign(T=np.nan))
    with pytest.raises(InvalidDataError, match="are infinite"):
        LifecycleStages().fit(table.assign(T=table["T"].replace(300.0, np.inf)))
