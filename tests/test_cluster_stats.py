"""Per-segment statistics of the segmenter (``custseg.cluster._stats``) against a
brute-force group-by: counts, sums, medians and mid-rank percentiles, whatever the
values (zeros, signs, ties, NaN, a value filling a bucket) and the order of the rows."""

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from custseg.cluster._stats import (
    _RadixColumn,
    describe_segments,
    difference_histogram,
    histogram_ranks,
    histogram_stats,
)

KINDS = ["counts", "spend", "lognormal", "signed", "ties", "constant", "tiny", "narrow",
         "extreme", "spread"]


# ------------------------------------------------------------------ references
def brute_stats(values, labels, k):
    """Counts, sums and medians per segment by a pandas group-by (NaN skipped)."""
    frame = pd.DataFrame({"x": values, "g": labels}).dropna()
    index = pd.RangeIndex(k)
    grouped = frame.groupby("g")["x"]
    medians = np.full(k, np.nan)
    with np.errstate(over="ignore"):  # the average of two huge middle values
        for g, group in grouped:
            medians[g] = np.median(group.to_numpy())
    return (grouped.count().reindex(index, fill_value=0).to_numpy(),
            grouped.sum().reindex(index, fill_value=0.0).to_numpy(), medians)


def brute_ranks(values, levels):
    """Share of the (not NaN) values below each level plus half the share equal."""
    population = values[~np.isnan(values)]
    return np.array([(np.count_nonzero(population < level)
                      + 0.5 * np.count_nonzero(population == level)) / population.size
                     for level in levels])


def make_column(kind, n, rng):
    if kind == "counts":  # a small-integer column
        return rng.integers(0, 40, n).astype(float)
    if kind == "spend":  # most customers at exactly 0
        return np.where(rng.random(n) < 0.6, 0.0, rng.gamma(2.0, 30.0, n))
    if kind == "lognormal":
        return rng.lognormal(2.0, 2.5, n)
    if kind == "signed":
        x = rng.normal(0.0, 5.0, n)
        x[rng.random(n) < 0.2] = -0.0
        return x
    if kind == "ties":  # few values, two of them in one bucket
        return rng.choice([1.0, 1.0 + 2**-40, 3.5, 1e6], n)
    if kind == "constant":  # one value fills its bucket
        return np.full(n, 7.25)
    if kind == "tiny":  # zeros and values below the floor share the first bucket
        return rng.choice([0.0, 0.0, -0.0, 5e-324, 1e-300, 2e-300, 1e3, 250.0], n)
    if kind == "narrow":  # a range far narrower than the values
        return 1000.0 + rng.integers(0, 5, n) * 2**-40
    if kind == "extreme":  # a range of 600 decades, a subnormal value
        return rng.choice([-1e300, -1.0, 0.0, 1e-310, 3.0, 1e299, 1e300], n)
    # spread: segments far apart, each with many values between their medians
    return rng.choice([1.0, 1e3, 1e6], n) * rng.uniform(1.0, 2.0, n)


@st.composite
def tables(draw):
    n = draw(st.integers(1, 400))
    k = draw(st.integers(1, 8))
    used = draw(st.integers(1, k))  # segments above ``used`` are empty
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, used, n).astype(draw(st.sampled_from(["int32", "int64"])))
    value = make_column(draw(st.sampled_from(KINDS)), n, rng)
    other = make_column(draw(st.sampled_from(KINDS)), n, rng)
    other[rng.random(n) < draw(st.sampled_from([0.0, 0.3, 1.0]))] = np.nan
    frequency = rng.integers(0, draw(st.integers(1, 30)), n).astype(float)
    T = rng.integers(draw(st.integers(0, 20)), 40, n).astype(float)
    recency = np.floor(T * rng.random(n))
    return k, labels, {"value": value, "other": other, "frequency": frequency,
                       "T": T, "recency": recency}


def arrays_of(columns, coded=("frequency", "T", "recency"), whole=True):
    """The validated arrays the segmenter passes: (values, minimum, small-integer codes
    or None) of every column without NaN; codes for the ``coded`` columns and, with
    ``whole``, for any other of small whole numbers."""
    out = {}
    for name, x in columns.items():
        if np.isnan(x).any():
            continue
        code = None
        if name in coded or (whole and x.min() >= 0 and np.array_equal(np.round(x), x)
                             and x.max() < 1000):
            code = x.astype(np.uint16)
        out[name] = (x, float(x.min()), code)
    return out


def describe(k, labels, columns, arrays):
    return describe_segments(labels, k, list(columns), arrays, lambda col: columns[col],
                             descriptors={"value": "value", "frequency": "frequency"})


def check_against_brute_force(k, labels, columns, described):
    np.testing.assert_array_equal(described.sizes, np.bincount(labels, minlength=k))
    for name, x in columns.items():
        counts, sums, medians = brute_stats(x, labels, k)
        got = described.stats[name]
        np.testing.assert_array_equal(got[0], counts, err_msg=name)
        np.testing.assert_allclose(got[1], sums, rtol=1e-12,
                                   atol=1e-12 * np.nansum(np.abs(x)), err_msg=name)
        np.testing.assert_array_equal(got[2], medians, err_msg=name)
    for key, name in (("value", "value"), ("frequency", "frequency")):
        medians = described.stats[name][2]
        present = ~np.isnan(medians)
        np.testing.assert_allclose(described.ranks[key][present],
                                   brute_ranks(columns[name], medians[present]),
                                   rtol=0, atol=1e-15, err_msg=key)
    gap = columns["T"] - columns["recency"]
    medians = brute_stats(gap, labels, k)[2]
    present = ~np.isnan(medians)
    np.testing.assert_allclose(described.ranks["since_last"][present],
                               brute_ranks(gap, medians[present]), rtol=0, atol=1e-15)


# ------------------------------------------------------------------ properties
@given(case=tables())
def test_describe_segments_equals_a_brute_force_group_by(case):
    k, labels, columns = case
    check_against_brute_force(k, labels, columns, describe(k, labels, columns,
                                                           arrays_of(columns)))


@given(case=tables())
def test_radix_selection_of_every_column_equals_a_brute_force_group_by(case):
    # no small-integer codes: frequency, recency and age go through the radix
    # selection, and the time since the last purchase too
    k, labels, columns = case
    arrays = arrays_of(columns, coded=(), whole=False)
    check_against_brute_force(k, labels, columns, describe(k, labels, columns, arrays))


@given(case=tables(), seed=st.integers(0, 2**32 - 1))
def test_describe_segments_does_not_depend_on_the_order_of_the_rows(case, seed):
    k, labels, columns = case
    order = np.random.default_rng(seed).permutation(labels.size)
    shuffled = {name: x[order] for name, x in columns.items()}
    for coded, whole in ((("frequency", "T", "recency"), True), ((), False)):
        first = describe(k, labels, columns, arrays_of(columns, coded, whole))
        again = describe(k, labels[order], shuffled, arrays_of(shuffled, coded, whole))
        np.testing.assert_array_equal(first.sizes, again.sizes)
        for name, x in columns.items():  # sums: up to the rounding of their order
            np.testing.assert_array_equal(first.stats[name][0], again.stats[name][0])
            np.testing.assert_allclose(first.stats[name][1], again.stats[name][1],
                                       rtol=1e-12, atol=1e-12 * np.nansum(np.abs(x)))
            np.testing.assert_array_equal(first.stats[name][2], again.stats[name][2])
        assert first.ranks.keys() == again.ranks.keys()
        for key in first.ranks:
            np.testing.assert_array_equal(first.ranks[key], again.ranks[key])


# ------------------------------------------------------------------ examples
@pytest.mark.parametrize("kind", KINDS)
def test_many_blocks_of_customers(kind):
    # several blocks of rows, and each of the radix selection's reading strategies
    rng = np.random.default_rng(KINDS.index(kind))
    n, k = 150_000, 6
    labels = rng.integers(0, k - 1, n).astype(np.int32)  # the last segment empty
    T = rng.integers(30, 90, n).astype(float)
    columns = {"value": make_column(kind, n, rng), "other": make_column("lognormal", n, rng),
               "frequency": rng.poisson(2.0, n).astype(float), "T": T,
               "recency": np.floor(T * rng.random(n))}
    columns["other"][rng.random(n) < 0.1] = np.nan
    check_against_brute_force(k, labels, columns, describe(k, labels, columns,
                                                           arrays_of(columns)))


def test_the_wanted_buckets_are_read_by_value_range_or_by_bucket():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, 20_000)

    def reading(x, finite=True):
        acc = _RadixColumn("test", 3, float(np.nanmin(x)), float(np.nanmax(x)), finite, True)
        acc.add(x, labels, np.empty(x.size, np.int32), np.empty(x.size, np.intp),
                np.zeros(x.size, np.complex128) + 1j)
        acc.plan()
        return acc

    spend = np.where(rng.random(20_000) < 0.5, 0.0, rng.gamma(2.0, 30.0, 20_000))
    assert reading(spend).range is not None  # few values near the medians: a range
    far = np.where(labels == 0, 1.0, 1e6) * rng.uniform(1.0, 2.0, 20_000)
    assert reading(far).range is None  # most values between the medians: by bucket
    assert reading(rng.normal(0.0, 1.0, 20_000)).range is None  # signed values
    zeros = np.zeros(20_000)
    assert reading(zeros).idle  # zeros only: counted, never read


def test_threads_describe_at_the_same_time():
    # calls from several threads at once: the same results as one call after the other
    rng = np.random.default_rng(7)
    cases = []
    for i in range(6):
        n, k = 20_000 + 5_000 * i, 2 + i
        labels = rng.integers(0, k, n)
        T = rng.integers(10, 60, n).astype(float)
        columns = {"value": make_column(KINDS[i], n, rng), "other": make_column("spend", n, rng),
                   "frequency": rng.poisson(1.0 + i, n).astype(float), "T": T,
                   "recency": np.floor(T * rng.random(n))}
        cases.append((k, labels, columns))

    def run(case):
        k, labels, columns = case
        return describe(k, labels, columns, arrays_of(columns))

    serial = [run(case) for case in cases]
    with ThreadPoolExecutor(max_workers=3) as pool:
        parallel = list(pool.map(run, cases * 2))
    for one, other in zip(serial * 2, parallel):
        np.testing.assert_array_equal(one.sizes, other.sizes)
        for name in one.stats:
            for a, b in zip(one.stats[name], other.stats[name]):
                np.testing.assert_array_equal(a, b)
        for key in one.ranks:
            np.testing.assert_array_equal(one.ranks[key], other.ranks[key])


def test_a_segment_of_values_above_the_sampled_maximum():
    # the largest value is estimated from a sample of the rows: a segment of the values
    # above it, all in the last bucket, gets its exact median and rank
    rng = np.random.default_rng(11)
    n = 100_000
    x = rng.lognormal(3.0, 1.0, n)
    labels = rng.integers(0, 3, n)
    whales = 6 * np.arange(1, 16_000, 266) + 1  # rows outside the sample of every 6th
    x[whales] = rng.uniform(1e8, 2e8, whales.size)
    labels[whales] = 3
    columns = {"value": x}
    described = describe_segments(labels, 4, ["value"], {"value": (x, float(x.min()), None)},
                                  None, descriptors={"value": "value"})
    counts, sums, medians = brute_stats(x, labels, 4)
    np.testing.assert_array_equal(described.stats["value"][2], medians)
    np.testing.assert_allclose(described.stats["value"][1], sums, rtol=1e-12)
    np.testing.assert_allclose(described.ranks["value"], brute_ranks(x, medians),
                               rtol=0, atol=1e-15)
    assert columns["value"][::max(1, n >> 14)].max() < 1e8


def test_a_column_of_missing_values_only():
    labels = np.array([0, 1, 1, 2])
    columns = {"clv": np.full(4, np.nan)}
    described = describe_segments(labels, 3, ["clv"], {}, lambda col: columns[col],
                                  descriptors={"value": "clv", "frequency": None})
    counts, sums, medians = described.stats["clv"]
    np.testing.assert_array_equal(counts, [0, 0, 0])
    np.testing.assert_array_equal(sums, [0.0, 0.0, 0.0])
    assert np.isnan(medians).all() and np.isnan(described.ranks["value"]).all()
    np.testing.assert_array_equal(described.sizes, [1, 2, 1])


def test_an_average_of_the_middle_values_beyond_the_largest_float():
    # numpy's median overflows to infinity too; every value ranks below it
    x = np.array([1.6e308, 1.7e308, 1.0, 2.0])
    labels = np.array([0, 0, 1, 1])
    described = describe_segments(labels, 2, ["value"], {"value": (x, 1.0, None)}, None,
                                  descriptors={"value": "value"})
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(described.stats["value"][2],
                                      [np.median(x[:2]), 1.5])
    np.testing.assert_array_equal(described.ranks["value"], [1.0, 0.25])


def test_no_customers():
    columns = {"value": np.zeros(0), "frequency": np.zeros(0)}
    arrays = {"value": (columns["value"], 0.0, None),
              "frequency": (columns["frequency"], 0.0, np.zeros(0, np.uint8))}
    described = describe_segments(np.zeros(0, np.int32), 2, list(columns), arrays, None,
                                  descriptors={"value": "value", "frequency": "frequency"})
    np.testing.assert_array_equal(described.sizes, [0, 0])
    for name in columns:
        np.testing.assert_array_equal(described.stats[name][0], [0, 0])
        assert np.isnan(described.stats[name][2]).all()


def test_recency_and_age_of_a_wide_range_use_the_radix_selection():
    # k * R_recency * R_age beyond the joint histogram's cells: the time since the last
    # purchase goes through a radix selection of T - recency
    rng = np.random.default_rng(5)
    n, k = 3000, 8
    T = rng.integers(0, 1500, n).astype(float)
    recency = np.floor(T * rng.random(n))
    labels = rng.integers(0, k, n)
    arrays = {"T": (T, float(T.min()), T.astype(np.uint16)),
              "recency": (recency, float(recency.min()), recency.astype(np.uint16))}
    described = describe_segments(labels, k, ["recency", "T"], arrays, None,
                                  descriptors={})
    medians = brute_stats(T - recency, labels, k)[2]
    np.testing.assert_allclose(described.ranks["since_last"],
                               brute_ranks(T - recency, medians), rtol=0, atol=1e-15)
    np.testing.assert_array_equal(described.stats["T"][2], brute_stats(T, labels, k)[2])


# ------------------------------------------------------------------ histograms
@given(hist=st.lists(st.lists(st.integers(0, 5), min_size=6, max_size=6), min_size=1,
                     max_size=4))
def test_histogram_stats_equal_the_expanded_values(hist):
    hist = np.array(hist)
    values = np.array([-3.0, 0.0, 0.5, 2.0, 7.0, 11.0])
    counts, sums, medians = histogram_stats(hist, values)
    for g, row in enumerate(hist):
        expanded = np.repeat(values, row)
        assert counts[g] == expanded.size
        assert sums[g] == pytest.approx(expanded.sum())
        np.testing.assert_array_equal(medians[g], np.median(expanded) if expanded.size
                                      else np.nan)
    levels = np.array([-5.0, 0.0, 1.0, 7.0, 20.0])
    population = np.repeat(values, hist.sum(axis=0))
    if population.size:
        np.testing.assert_allclose(histogram_ranks(hist.sum(axis=0), levels, values),
                                   brute_ranks(population, levels), atol=1e-15)


def test_difference_histogram_counts_every_pair():
    rng = np.random.default_rng(0)
    pairs = rng.integers(0, 4, (3, 5, 4))
    hist, diffs = difference_histogram(pairs)
    np.testing.assert_array_equal(diffs, np.arange(-3, 5))
    for g in range(3):
        expected = np.zeros(diffs.size, dtype=np.int64)
        for a in range(5):
            for b in range(4):
                expected[a - b + 3] += pairs[g, a, b]
        np.testing.assert_array_equal(hist[g], expected)
