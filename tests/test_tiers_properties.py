"""Property tests of the tierers: one label per customer, fit/predict consistency,
monotone tiers, row-order invariance, and the cut-point functions against brute force."""

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from custseg.tiers import (
    LifecycleStages,
    RFMScorer,
    RFMSegmenter,
    RuleTierer,
    SatisfactionTiers,
    ValueMatrix,
    ValueTiers,
    pareto_edges,
    quantile_edges,
)

# values drawn from a coarse grid so that ties are common
values = st.lists(st.integers(0, 12).map(lambda v: v * 2.5), min_size=1, max_size=60)
fractions = st.lists(st.floats(0.05, 0.95), min_size=1, max_size=5, unique=True).map(sorted)


@st.composite
def customer_tables(draw, min_size=1, max_size=50):
    n = draw(st.integers(min_size, max_size))
    ints = st.integers(0, 20)
    T = np.array(draw(st.lists(ints, min_size=n, max_size=n)), dtype=float) * 2 + 1
    freq = np.array(draw(st.lists(st.integers(0, 4), min_size=n, max_size=n)))
    share = np.array(draw(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=n,
                                   max_size=n)))
    recency = np.where(freq > 0, T * share, 0.0)
    money = np.where(freq > 0, np.array(draw(st.lists(ints, min_size=n, max_size=n))) * 5.0,
                     0.0)
    nps = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n)))
    p_alive = np.array(draw(st.lists(st.sampled_from([0.05, 0.3, 0.6, 0.95]), min_size=n,
                                     max_size=n)))
    return pd.DataFrame({"frequency": freq, "recency": recency, "T": T,
                         "monetary_value": money, "nps": nps, "p_alive": p_alive,
                         "clv": money * (1 + freq)})


def min_rank_bin(x, vals, fracs):
    n = len(vals)
    below = sum(v < x for v in vals)
    return 1 + sum(below >= b * n for b in fracs)


@given(values, fractions)
def test_quantile_edges_equal_brute_force_min_ranks(vals, fracs):
    edges = quantile_edges(vals, fracs)
    x = np.asarray(vals)
    bins = 1 + (x[:, None] >= edges[None, :]).sum(axis=1)
    assert bins.tolist() == [min_rank_bin(v, vals, fracs) for v in vals]
    for b, e in zip(fracs, edges):
        assert (x >= e).sum() <= (1 - b) * len(vals) + 1e-9


@given(values, fractions)
def test_pareto_edges_equal_brute_force(vals, shares):
    x = np.asarray(vals)
    if x.sum() == 0:
        return
    edges = pareto_edges(x, shares)
    for s, e in zip(shares, edges):
        top = np.array([x[x > v].sum() < s * x.sum() for v in x])
        np.testing.assert_array_equal(x >= e, top)


def assert_one_label_each(est, table):
    labels = est.predict(table)
    assert labels.shape == (len(table),)
    assert np.isin(labels, est.classes_).all()


PRESETS = [
    lambda: ValueTiers(),
    lambda: ValueTiers(column="clv", mode="pareto", pareto_shares=(0.5, 0.9)),
    lambda: RFMScorer(n_bins=4),
    lambda: RFMSegmenter(),
    lambda: LifecycleStages(),
    lambda: LifecycleStages(new_within=3, p_alive_thresholds=(0.5, 0.2)),
    lambda: ValueMatrix(n_bins=3),
    lambda: SatisfactionTiers(),
    lambda: RuleTierer([("a", "clv >= 20 and nps >= 7"), ("b", {"frequency": (">", 1)})]),
]


@given(customer_tables(), st.integers(0, len(PRESETS) - 1), st.randoms())
def test_one_label_each_and_row_order_invariance(table, which, random):
    if which == 1 and table["clv"].sum() == 0:
        return  # no value to share out in Pareto mode
    est = PRESETS[which]().fit(table)
    assert_one_label_each(est, table)
    labels = est.predict(table)
    order = list(range(len(table)))
    random.shuffle(order)
    shuffled = table.iloc[order]
    refit = PRESETS[which]().fit(shuffled)
    np.testing.assert_array_equal(refit.predict(shuffled), labels[order])
    np.testing.assert_array_equal(refit.predict(table), labels)


@given(customer_tables(), fractions)
def test_value_tiers_fit_predict_equals_min_rank_reference(table, fracs):
    qs = tuple(sorted(fracs, reverse=True))
    labels = tuple(f"t{k}" for k in range(len(qs), -1, -1))
    est = ValueTiers(column="clv", quantiles=qs, labels=labels)
    got = est.fit(table).predict(table)
    vals = table["clv"].tolist()
    expected = [f"t{min_rank_bin(v, vals, sorted(fracs)) - 1}" for v in vals]
    assert got.tolist() == expected


@given(customer_tables(min_size=2), st.lists(st.floats(-10, 500), min_size=1, max_size=30))
def test_value_tiers_are_monotone_on_new_values(table, new_values):
    est = ValueTiers(column="clv", quantiles=(0.9, 0.6, 0.3),
                     labels=("a", "b", "c", "d")).fit(table[["clv"]])
    grid = pd.DataFrame({"clv": np.sort(np.asarray(new_values))})
    ranks = pd.Categorical(est.predict(grid), categories=est.classes_, ordered=True).codes
    assert np.all(np.diff(ranks) >= 0)


@given(customer_tables())
def test_rfm_scores_equal_min_rank_reference(table):
    scores = RFMScorer(n_bins=3).fit(table).transform(table)
    fr = [1 / 3, 2 / 3]
    since = (table["T"] - table["recency"]).tolist()
    freq = table["frequency"].tolist()
    assert scores[:, 0].tolist() == [4 - min_rank_bin(s, since, fr) for s in since]
    assert scores[:, 1].tolist() == [min_rank_bin(f, freq, fr) for f in freq]


@given(st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=40),
       st.lists(st.floats(-5, 5, allow_nan=False), min_size=1, max_size=4))
def test_rule_tierer_equals_numpy_select(xs, cuts):
    frame = pd.DataFrame({"x": xs, "y": xs[::-1]})
    rules = [(f"r{i}", f"x > {c!r} or y <= {-c!r}") for i, c in enumerate(cuts)]
    got = RuleTierer(rules, default="none").fit(frame).predict(frame)
    x, y = frame["x"].to_numpy(), frame["y"].to_numpy()
    expected = np.select([(x > c) | (y <= -c) for c in cuts],
                         [f"r{i}" for i in range(len(cuts))], "none")
    np.testing.assert_array_equal(got, expected.astype(object))


@given(st.lists(st.integers(-50, 50), min_size=1, max_size=80), fractions)
def test_integer_counting_path_equals_sorting_path(ints, fracs):
    as_int = quantile_edges(np.asarray(ints, dtype=np.int64), fracs)
    as_float = quantile_edges(np.asarray(ints, dtype=np.float64), fracs)
    np.testing.assert_array_equal(as_int, as_float)
