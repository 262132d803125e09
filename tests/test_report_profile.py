import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.exceptions import EmptyDataError, InvalidDataError, MissingColumnError
from custseg.report import segment_profile


@pytest.fixture
def table():
    return pd.DataFrame(
        {"frequency": [0, 2, 5, 1, 3, 0], "recency": [0.0, 20.0, 35.0, 3.0, 30.0, 0.0],
         "T": [40.0, 38.0, 39.0, 30.0, 36.0, 12.0],
         "monetary_value": [0.0, 20.0, 60.0, 10.0, 30.0, 0.0]},
        index=pd.Index([11, 12, 13, 14, 15, 16], name="customer_id"))


def reference(table, labels, value, columns):
    """The same profile with pandas groupby: an independent computation."""
    groups = table.groupby(np.asarray(labels), sort=True)
    out = pd.DataFrame({"n_customers": groups.size()})
    out["share"] = out["n_customers"] / len(table)
    if value is not None:
        out["value_share"] = groups[value].sum() / table[value].sum()
    for col in columns:
        out[f"{col}_mean"] = groups[col].mean()
        out[f"{col}_median"] = groups[col].median()
    return out


def test_hand_computed_example(table):
    labels = np.array(["b", "a", "a", "b", "a", "c"])
    profile = segment_profile(table, labels)
    assert list(profile.index) == ["a", "b", "c"]
    assert profile.index.name == "segment"
    assert list(profile["n_customers"]) == [3, 2, 1]
    np.testing.assert_allclose(profile["share"], [0.5, 1 / 3, 1 / 6])
    np.testing.assert_allclose(profile["value_share"], [110 / 120, 10 / 120, 0.0])
    np.testing.assert_allclose(profile["frequency_mean"], [10 / 3, 0.5, 0.0])
    np.testing.assert_allclose(profile["recency_median"], [30.0, 1.5, 0.0])
    np.testing.assert_allclose(profile["T_mean"], [113 / 3, 35.0, 12.0])
    assert list(profile.columns) == [
        "n_customers", "share", "value_share", "recency_mean", "recency_median",
        "frequency_mean", "frequency_median", "monetary_value_mean",
        "monetary_value_median", "T_mean", "T_median"]


def test_matches_pandas_groupby_on_cdnow(cdnow_summary, rng):
    labels = rng.integers(0, 5, len(cdnow_summary))
    columns = ["recency", "frequency", "monetary_value", "T"]
    expected = reference(cdnow_summary, labels, "monetary_value", columns)
    got = segment_profile(cdnow_summary, labels)
    pd.testing.assert_frame_equal(got, expected, check_names=False, check_index_type=False)


def test_categorical_order_and_empty_categories(table):
    tiers = pd.Categorical(["low", "top", "top", "low", "mid", "low"],
                           categories=["top", "gold", "mid", "low"], ordered=True)
    profile = segment_profile(table, tiers)
    assert list(profile.index) == ["top", "gold", "mid", "low"]
    assert list(profile["n_customers"]) == [2, 0, 1, 3]
    assert profile.loc["gold", "share"] == 0.0
    assert np.isnan(profile.loc["gold", "frequency_mean"])
    assert np.isnan(profile.loc["gold", "frequency_median"])
    np.testing.assert_allclose(profile["value_share"].sum(), 1.0)


def test_series_labels_are_aligned_on_the_customer_id(table):
    labels = pd.Series(["b", "a", "a", "b", "a", "c"], index=table.index, name="tier")
    shuffled = labels.sample(frac=1.0, random_state=3)
    by_id = segment_profile(table, shuffled)
    assert by_id.index.name == "tier"
    pd.testing.assert_frame_equal(by_id, segment_profile(table, labels))
    categorical = labels.astype(pd.CategoricalDtype(["c", "b", "a"]))
    assert list(segment_profile(table, categorical).index) == ["c", "b", "a"]
    longer = pd.concat([labels, pd.Series(["a"], index=[99])])  # an extra customer: ignored
    pd.testing.assert_frame_equal(segment_profile(table, longer.rename("tier")), by_id)


def test_value_column_choice(table):
    labels = [0, 0, 1, 1, 2, 2]
    with_clv = table.assign(clv=[1.0, 2.0, 3.0, 4.0, 0.0, 0.0], p_alive=0.5)
    auto = segment_profile(with_clv, labels)
    np.testing.assert_allclose(auto["value_share"], [0.3, 0.7, 0.0])
    assert {"clv_mean", "clv_median", "p_alive_mean", "p_alive_median"} <= set(auto.columns)
    explicit = segment_profile(with_clv, labels, value_column="monetary_value")
    np.testing.assert_allclose(explicit["value_share"], [20 / 120, 70 / 120, 30 / 120])
    assert "value_share" not in segment_profile(table, labels, value_column=None)
    plain = table.drop(columns="monetary_value")
    assert "value_share" not in segment_profile(plain, labels)
    with pytest.raises(MissingColumnError, match="missing column\\(s\\) 'clv'"):
        segment_profile(table, labels, value_column="clv")


def test_columns_argument(table):
    labels = [0, 0, 1, 1, 2, 2]
    profile = segment_profile(table.assign(spend=1.0), labels, columns=["spend"],
                              value_column=None)
    assert list(profile.columns) == ["n_customers", "share", "spend_mean", "spend_median"]
    profile = segment_profile(table, labels, columns="T", value_column="monetary_value")
    assert list(profile.columns) == ["n_customers", "share", "value_share", "T_mean",
                                     "T_median"]
    with pytest.raises(MissingColumnError, match="'recncy' \\(did you mean 'recency'"):
        segment_profile(table, labels, columns=["recncy"])


def test_nan_values_are_skipped(table):
    with_nan = table.assign(clv=[1.0, np.nan, 3.0, np.nan, np.nan, 5.0])
    labels = [0, 0, 1, 1, 2, 2]
    profile = segment_profile(with_nan, labels)
    np.testing.assert_allclose(profile["clv_mean"], [1.0, 3.0, 5.0])
    np.testing.assert_allclose(profile["clv_median"], [1.0, 3.0, 5.0])
    np.testing.assert_allclose(profile["value_share"], [1 / 9, 3 / 9, 5 / 9])
    only_nan = with_nan.assign(clv=[np.nan, np.nan, 1.0, 1.0, 1.0, 1.0])
    assert np.isnan(segment_profile(only_nan, labels).loc[0, "clv_median"])


def test_errors(table):
    with pytest.raises(InvalidDataError, match="labels has 3 entries but the customer table "
                                               "has 6 rows"):
        segment_profile(table, [0, 1, 2])
    with pytest.raises(InvalidDataError, match="(?s)Column 'segment': 2 of 6 rows have no "
                                               "label \\(NaN\\).*\n12 .*\n14 "):
        segment_profile(table, [0, None, 1, np.nan, 1, 0])
    missing = pd.Series([0, 1, 2], index=[11, 12, 13])
    with pytest.raises(InvalidDataError, match="Column 'customer_id': 3 of 6 rows have no "
                                               "label \\(their customer id"):
        segment_profile(table, missing)
    dup = pd.Series([0, 1, 2, 0, 1, 2, 0], index=[11, 11, 12, 13, 14, 15, 16])
    with pytest.raises(InvalidDataError, match="2 of 7 rows of the labels have a duplicated"):
        segment_profile(table, dup)
    with pytest.raises(InvalidDataError, match="Column 'note': 1 of 6 rows are not numbers"):
        segment_profile(table.assign(note=["1", "2", "x", "4", "5", "6"]), [0] * 6,
                        columns=["note"])
    with pytest.raises(InvalidDataError, match="Column 'clv': 1 of 6 rows are infinite"):
        segment_profile(table.assign(clv=[1, 2, np.inf, 4, 5, 6]), [0] * 6)
    with pytest.raises(InvalidDataError, match="must be a pandas DataFrame"):
        segment_profile(table.to_numpy(), [0] * 6)
    with pytest.raises(EmptyDataError, match="The customer table has no rows"):
        segment_profile(table.iloc[:0], [])
    with pytest.raises(InvalidDataError, match="labels must be one-dimensional"):
        segment_profile(table, np.zeros((6, 2)))


@given(st.lists(st.tuples(st.integers(0, 4), st.floats(0, 1e4), st.integers(0, 30)),
                min_size=1, max_size=80))
def test_profile_invariants(rows):
    labels = np.array([r[0] for r in rows])
    table = pd.DataFrame({"monetary_value": [r[1] for r in rows],
                          "frequency": [r[2] for r in rows]})
    profile = segment_profile(table, labels)
    assert profile["n_customers"].sum() == len(table)
    np.testing.assert_allclose(profile["share"].sum(), 1.0)
    if table["monetary_value"].sum() > 0:
        np.testing.assert_allclose(profile["value_share"].sum(), 1.0)
    expected = reference(table, labels, None, ["frequency", "monetary_value"])
    np.testing.assert_allclose(profile["frequency_mean"], expected["frequency_mean"])
    np.testing.assert_allclose(profile["monetary_value_median"],
                               expected["monetary_value_median"])


def test_profile_of_the_segmenter_labels(cdnow_summary):
    from custseg.cluster import CustomerSegmenter

    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(cdnow_summary)
    labels = pd.Categorical.from_codes(seg.labels_, categories=range(3))
    pd.testing.assert_frame_equal(segment_profile(cdnow_summary, labels), seg.profile_)
