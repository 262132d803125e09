"""ValueTiers and the cut-point functions quantile_edges / pareto_edges."""

import numpy as np
import pandas as pd
import pytest

from custseg.exceptions import InvalidDataError, InvalidParameterError, MissingColumnError
from custseg.tiers import ValueTiers, pareto_edges, quantile_edges


def min_rank_bins(values, fractions):
    """Reference: bin of each value from its 'min' rank, computed row by row."""
    values = list(values)
    n = len(values)
    return np.array([1 + sum(sum(w < v for w in values) >= b * n for b in fractions)
                     for v in values])


@pytest.mark.parametrize("values", [
    np.arange(10.0),
    [0, 0, 0, 0, 0, 0, 1, 2, 3, 4],
    [5, 5, 5, 5, 5],
    [1, 2, 2, 2, 2, 2, 2, 2, 2, 9],
    [3.5, -1.0, 2.0, 2.0, 8.0, -1.0, 0.0],
])
@pytest.mark.parametrize("fractions", [[0.5], [0.2, 0.4, 0.6, 0.8], [0.5, 0.8],
                                       [1 / 3, 2 / 3]])
def test_quantile_edges_give_min_rank_bins(values, fractions):
    edges = quantile_edges(values, fractions)
    assert np.all(edges[1:] >= edges[:-1])
    bins = 1 + (np.asarray(values, float)[:, None] >= edges[None, :]).sum(axis=1)
    np.testing.assert_array_equal(bins, min_rank_bins(values, fractions))


def test_quantile_edges_split_distinct_values_evenly(rng):
    x = rng.permutation(1000).astype(float)
    edges = quantile_edges(x, [0.2, 0.4, 0.6, 0.8])
    np.testing.assert_array_equal(edges, [200, 400, 600, 800])
    bins = 1 + (x[:, None] >= edges).sum(axis=1)
    np.testing.assert_array_equal(np.bincount(bins)[1:], [200] * 5)


def test_quantile_edges_upper_share_never_exceeds_its_fraction(rng):
    x = rng.poisson(0.7, size=5000).astype(float)  # heavy ties
    for b in (0.5, 0.8, 0.9):
        (edge,) = quantile_edges(x, [b])
        assert (x >= edge).mean() <= 1 - b + 1e-12


def test_pareto_edges_match_a_sorted_cumulative_sum(rng):
    x = np.round(rng.gamma(0.5, 100.0, size=3000), 0)  # ties on purpose
    total = x.sum()
    for s in (0.5, 0.8, 0.95):
        (edge,) = pareto_edges(x, [s])
        top = x >= edge
        # every top customer is needed: the value strictly above them is below s * total
        above = np.array([x[x > v].sum() for v in np.unique(x[top])])
        assert (above < s * total).all()
        # and the first customer left out is not: the value above it already reaches s
        rest = x[~top]
        if rest.size:
            assert x[x > rest.max()].sum() >= s * total


def test_pareto_edges_small_example():
    np.testing.assert_array_equal(pareto_edges([100, 50, 30, 10, 5, 5], [0.5, 0.8, 0.99]),
                                  [100, 30, 5])


@pytest.fixture
def table(rng):
    n = 1000
    return pd.DataFrame({"clv": rng.gamma(0.8, 200.0, n),
                         "monetary_value": rng.gamma(2.0, 20.0, n),
                         "region": rng.choice(["EU", "US"], n)})


def test_default_quantile_tiers(table):
    tiers = ValueTiers().fit(table)
    labels = tiers.predict(table)
    shares = pd.Series(labels).value_counts(normalize=True)
    assert shares["high"] == pytest.approx(0.2)
    assert shares["mid"] == pytest.approx(0.3)
    assert shares["low"] == pytest.approx(0.5)
    assert tiers.classes_.tolist() == ["low", "mid", "high"]
    np.testing.assert_array_equal(
        tiers.thresholds_, np.quantile(table["monetary_value"], [0.5, 0.8], method="higher"))


def test_cut_points_learned_at_fit_are_reused_on_a_later_snapshot(table):
    tiers = ValueTiers(column="clv").fit(table)
    later = table.assign(clv=table["clv"] * 2)
    labels = tiers.predict(later)
    expected = np.select([later["clv"] >= tiers.thresholds_[1],
                          later["clv"] >= tiers.thresholds_[0]], ["high", "mid"], "low")
    np.testing.assert_array_equal(labels, expected.astype(object))
    assert (labels == "high").mean() > 0.2  # the snapshot grew: more customers are high


def test_threshold_mode_and_custom_labels(table):
    tiers = ValueTiers(column="clv", thresholds=[100, 250, 500],
                       labels=["platinum", "gold", "silver", "bronze"]).fit(table)
    np.testing.assert_array_equal(tiers.thresholds_, [100, 250, 500])
    expected = pd.cut(table["clv"], [-np.inf, 100, 250, 500, np.inf], right=False,
                      labels=["bronze", "silver", "gold", "platinum"]).astype(object)
    np.testing.assert_array_equal(tiers.predict(table), expected.to_numpy())


def test_pareto_mode(table):
    tiers = ValueTiers(column="clv", mode="pareto").fit(table)
    labels = tiers.predict(table)
    clv = table["clv"].to_numpy()
    share_high = clv[labels == "high"].sum() / clv.sum()
    assert 0.8 <= share_high < 0.8 + clv.max() / clv.sum()
    share_top2 = clv[labels != "low"].sum() / clv.sum()
    assert 0.95 <= share_top2 < 0.95 + clv.max() / clv.sum()
    assert (labels == "high").mean() < 0.6  # a minority makes most of the value


def test_monotone_tiers_on_a_grid(table):
    tiers = ValueTiers(column="clv").fit(table)
    grid = pd.DataFrame({"clv": np.linspace(-10, 3000, 500), "monetary_value": 0.0,
                         "region": "EU"})
    ranks = pd.Categorical(tiers.predict(grid), categories=tiers.classes_,
                           ordered=True).codes
    assert np.all(np.diff(ranks) >= 0)


def test_array_input_reads_the_first_column(table):
    X = table[["clv", "monetary_value"]].to_numpy()
    by_name = ValueTiers(column="clv").fit(table)
    on_array = ValueTiers(column="clv").fit(X)
    np.testing.assert_array_equal(on_array.thresholds_, by_name.thresholds_)
    by_position = ValueTiers(column=1).fit(X)
    np.testing.assert_array_equal(by_position.predict(X),
                                  ValueTiers().fit(table).predict(table))


def test_feature_name_and_pandas_output(table):
    tiers = ValueTiers(column="clv").set_output(transform="pandas").fit(table)
    out = tiers.transform(table)
    assert list(out.columns) == ["value_tier"]
    assert out["value_tier"].cat.ordered
    assert list(out["value_tier"].cat.categories) == ["low", "mid", "high"]


@pytest.mark.parametrize("params, match", [
    ({"thresholds": [500, 100]}, "thresholds must be strictly increasing"),
    ({"thresholds": [100, 100]}, "thresholds must be strictly increasing"),
    ({"quantiles": (0.5, 0.8)}, "strictly decreasing from the top tier down"),
    ({"quantiles": (1.2, 0.5)}, r"must lie in \(0, 1\)"),
    ({"quantiles": (0.9, 0.6, 0.3)}, "labels has 3 names but .* define 4 tiers"),
    ({"mode": "threshold"}, "needs thresholds"),
    ({"mode": "pareto", "pareto_shares": (0.95, 0.8)}, "pareto_shares must be strictly"),
    ({"mode": "pareto", "pareto_shares": (0.8, 1.0)}, r"must lie in \(0, 1\)"),
    ({"labels": ("a", "a", "b")}, "must be distinct"),
    ({"thresholds": ["a", "b"]}, "list of numbers"),
])
def test_bad_parameters(table, params, match):
    with pytest.raises(InvalidParameterError, match=match):
        ValueTiers(column="clv", **params).fit(table)


def test_bad_data(table):
    holes = table.copy()
    holes.loc[[1, 5], "clv"] = np.nan
    with pytest.raises(InvalidDataError, match=r"Column 'clv': 2 of 1000 rows are NaN"):
        ValueTiers(column="clv").fit(holes)
    fitted = ValueTiers(column="clv").fit(table)
    with pytest.raises(InvalidDataError, match=r"Column 'clv': 2 of 1000 rows are NaN"):
        fitted.predict(holes)
    with pytest.raises(InvalidDataError, match="'region': 1000 of 1000 rows are not numbers"):
        ValueTiers(column="region").fit(table)
    with pytest.raises(MissingColumnError, match="'value'"):
        ValueTiers(column="value").fit(table)
    negative = table.assign(clv=table["clv"] - 100)
    with pytest.raises(InvalidDataError, match="are negative"):
        ValueTiers(column="clv", mode="pareto").fit(negative)
    with pytest.raises(InvalidDataError, match="total value is 0"):
        ValueTiers(column="clv", mode="pareto").fit(table.assign(clv=0.0))


def test_integer_edges_with_a_wide_range_fall_back_to_sorting():
    x = np.array([0, 10**12, 5, 5, 7, 10**9], dtype=np.int64)
    np.testing.assert_array_equal(quantile_edges(x, [0.3, 0.6]),
                                  quantile_edges(x.astype(float), [0.3, 0.6]))
    flags = np.array([True, False, False, True])
    np.testing.assert_array_equal(quantile_edges(flags, [0.5, 0.9]), [1.0, np.inf])
