import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joblib import parallel_backend
from sklearn.base import clone
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.utils.estimator_checks import parametrize_with_checks
from threadpoolctl import threadpool_limits

from custseg.cluster import CustomerSegmenter
from custseg.cluster._functions import (
    BUCKET_BITS,
    _float_word,
    _hash_words,
    _heavy_rows,
    _segment_names,
    _segment_order,
    heavy_threshold,
    mean_silhouette,
    scale_features,
)
from custseg.cluster._stats import describe_segments, histogram_ranks
from custseg.exceptions import (
    ConvergenceWarning,
    CustsegError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)

RFM = ["frequency", "recency", "T", "monetary_value"]


@pytest.fixture(autouse=True)
def _one_thread():
    # The data here are small: OpenMP/BLAS threads only add synchronisation cost, which
    # is large on a busy machine.
    with threadpool_limits(limits=1):
        yield


def planted(n_groups=4, n_per=150, seed=0, spread=0.08):
    """Customer tables with ``n_groups`` well-separated groups (in log space).

    Group g has age ~ e^{3 + g/2}, frequency ~ e^{0.6 + 1.1 g}, spend ~ e^{2 + 0.9 g}:
    group n_groups - 1 is the most valuable. Returns the table and the true group of each customer.
    """
    rng = np.random.default_rng(seed)
    g = np.repeat(np.arange(n_groups), n_per)
    T = np.exp(3.0 + 0.5 * g + rng.normal(0, spread, g.size))
    frequency = np.round(np.expm1(0.6 + 1.1 * g + rng.normal(0, spread, g.size)))
    gap = np.exp(3.0 - 0.9 * g + rng.normal(0, spread, g.size))  # time since last purchase
    recency = np.clip(T - gap, 0, None)
    monetary = np.exp(2.0 + 0.9 * g + rng.normal(0, spread, g.size))
    table = pd.DataFrame({"frequency": frequency, "recency": recency, "T": T,
                          "monetary_value": monetary},
                         index=pd.Index(np.arange(g.size) + 1000, name="customer_id"))
    order = rng.permutation(g.size)
    return table.iloc[order], g[order]


# --------------------------------------------------------------------- sklearn checks
CHECKED = [
    CustomerSegmenter(features=None, scaling="standard", value_column=None, n_segments=3,
                      random_state=0),
    CustomerSegmenter(method="gmm", features=None, scaling="standard", value_column=None,
                      n_segments=3, random_state=0),
    CustomerSegmenter(method="minibatch", features=None, value_column=None, n_segments=3,
                      random_state=0),
    CustomerSegmenter(features=None, scaling="none", value_column=None, k_range=(2, 3),
                      random_state=0),
]


def _expected_failures(est):
    if est.scaling == "log-standard":
        return {"check_clustering": "the check clusters standardised blobs with negative "
                                    "values, which log1p scaling rejects (positive_only is "
                                    "ignored there); test_recovers_blobs_with_log_scaling "
                                    "tests the same contract on positive blobs"}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=_expected_failures)
def test_sklearn_compatible(estimator, check):
    check(estimator)


def test_recovers_blobs_with_log_scaling():
    """check_clustering's contract on non-negative data, for the log-standard scaling."""
    rng = np.random.default_rng(1)
    y = np.repeat([0, 1, 2], 30)
    X = np.exp(rng.normal(np.array([[0.0, 2.0], [2.0, 0.0], [2.0, 2.0]])[y], 0.2))
    seg = CustomerSegmenter(features=None, value_column=None, n_segments=3,
                            random_state=0).fit(X.tolist())
    assert adjusted_rand_score(seg.labels_, y) == pytest.approx(1.0)
    assert seg.labels_.dtype == np.int64
    np.testing.assert_array_equal(seg.fit_predict(X), seg.labels_)
    np.testing.assert_array_equal(np.unique(seg.labels_), [0, 1, 2])


# ------------------------------------------------------------------- value ordering
@pytest.mark.parametrize("method", ["kmeans", "minibatch", "gmm"])
def test_label_zero_is_most_valuable_at_every_seed(cdnow_summary, method):
    for seed in range(4):
        seg = CustomerSegmenter(method=method, n_segments=4, random_state=seed)
        labels = seg.fit_predict(cdnow_summary)
        means = cdnow_summary["monetary_value"].groupby(labels).mean()
        assert list(means.index) == [0, 1, 2, 3]
        assert means.is_monotonic_decreasing, (seed, means)
        assert means.iloc[0] == means.max()
        np.testing.assert_allclose(seg.profile_["monetary_value_mean"], means)


def test_orders_by_a_value_column_that_is_not_a_feature(cdnow_summary):
    rng = np.random.default_rng(3)
    table = cdnow_summary.assign(clv=rng.gamma(2.0, 50.0, len(cdnow_summary)))
    seg = CustomerSegmenter(n_segments=3, value_column="clv", random_state=0).fit(table)
    means = table["clv"].groupby(seg.labels_).mean()
    assert means.is_monotonic_decreasing
    assert "clv_mean" in seg.profile_ and "value_share" in seg.profile_
    np.testing.assert_allclose(seg.profile_["value_share"],
                               table["clv"].groupby(seg.labels_).sum() / table["clv"].sum())
    assert list(seg.features_) == RFM


def test_without_value_column_orders_by_centroids():
    table, _ = planted(3, 60, seed=2)
    seg = CustomerSegmenter(n_segments=3, value_column=None, random_state=0).fit(table)
    first = seg.cluster_centers_[:, 0]  # frequency
    assert np.all(np.diff(first) < 0)


def test_label_mapping_relates_estimator_labels(cdnow_summary):
    seg = CustomerSegmenter(n_segments=4, random_state=0).fit(cdnow_summary)
    scaled = (np.log1p(cdnow_summary[RFM].to_numpy(dtype=float)) - seg.scaling_mean_) \
        / seg.scaling_scale_
    raw = seg.estimator_.predict(scaled)
    np.testing.assert_array_equal(seg.label_mapping_[raw], seg.labels_)
    np.testing.assert_array_equal(np.sort(seg.label_mapping_), np.arange(4))
    np.testing.assert_array_equal(seg.estimator_.labels_, raw)


# ------------------------------------------------------------- row-order invariance
@pytest.mark.parametrize("method", ["kmeans", "minibatch", "gmm"])
@pytest.mark.parametrize("n_segments", [4, "auto"])
def test_labels_do_not_depend_on_row_order(cdnow_summary, method, n_segments):
    params = dict(method=method, n_segments=n_segments, k_range=(2, 5), random_state=7,
                  selection_sample_size=800)
    first = CustomerSegmenter(**params).fit(cdnow_summary)
    for seed in (0, 1):
        shuffled = cdnow_summary.sample(frac=1.0, random_state=seed)
        second = CustomerSegmenter(**params).fit(shuffled)
        aligned = pd.Series(second.labels_, index=shuffled.index).reindex(cdnow_summary.index)
        np.testing.assert_array_equal(aligned.to_numpy(), first.labels_)
        np.testing.assert_allclose(second.cluster_centers_, first.cluster_centers_,
                                   rtol=1e-9, atol=1e-9)
        assert list(second.segment_names_) == list(first.segment_names_)
        if n_segments == "auto":
            pd.testing.assert_frame_equal(second.selection_scores_, first.selection_scores_,
                                          rtol=1e-9)


@given(seed=st.integers(0, 2**31 - 1))
def test_row_order_invariance_property(seed):
    table, _ = planted(3, 25, seed=5, spread=0.6)  # overlapping groups: a hard case
    shuffled = table.sample(frac=1.0, random_state=seed % 2**32)
    params = dict(n_segments=3, random_state=11, selection_sample_size=30)
    a = CustomerSegmenter(**params).fit(table)
    b = CustomerSegmenter(**params).fit(shuffled)
    pd.testing.assert_series_equal(
        pd.Series(b.labels_, index=shuffled.index).reindex(table.index),
        pd.Series(a.labels_, index=table.index))


@settings(deadline=None, max_examples=15)
@given(seed=st.integers(0, 2**31 - 1), method=st.sampled_from(["kmeans", "minibatch"]),
       copies=st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_row_order_invariance_with_heavily_repeated_rows(seed, method, copies):
    table, _ = planted(3, 40, seed=5, spread=0.6)
    repeated = table.iloc[:len(copies)].loc[lambda t: t.index.repeat(copies)]
    table = pd.concat([table, repeated], ignore_index=True)
    shuffled = table.sample(frac=1.0, random_state=seed % 2**32)
    params = dict(method=method, n_segments=3, random_state=11, selection_sample_size=12)
    a = CustomerSegmenter(**params).fit(table)
    b = CustomerSegmenter(**params).fit(shuffled)
    pd.testing.assert_series_equal(
        pd.Series(b.labels_, index=shuffled.index).reindex(table.index),
        pd.Series(a.labels_, index=table.index))


def _row_hash(columns, seed):
    return _hash_words([_float_word(col) for col in columns], seed)


def test_row_hash_depends_on_values_only():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 3, size=(500, 3)).astype(float)
    data[0, 0] = -0.0
    data[1] = data[0]
    data[1, 0] = 0.0
    h = _row_hash(list(data.T), 42)
    perm = rng.permutation(500)
    np.testing.assert_array_equal(_row_hash(list(data[perm].T), 42), h[perm])
    assert h[0] == h[1]  # -0.0 and 0.0 are the same value
    _, first = np.unique(data, axis=0, return_index=True)
    assert np.unique(h).size == first.size  # distinct rows, distinct hashes
    assert not np.array_equal(_row_hash(list(data.T), 43), h)


# --------------------------------------------------------------------- choice of k
@pytest.mark.parametrize("method", ["kmeans", "gmm", "minibatch"])
@pytest.mark.parametrize("n_groups", [3, 5])
def test_auto_finds_the_planted_number_of_segments(method, n_groups):
    for seed in (0, 1):
        table, truth = planted(n_groups, 120, seed=seed)
        seg = CustomerSegmenter(method=method, k_range=(2, 7), random_state=seed).fit(table)
        assert seg.n_segments_ == n_groups, seg.selection_scores_
        assert adjusted_rand_score(truth, seg.labels_) == pytest.approx(1.0)
        # the planted group n_groups - 1 spends the most: it must be label 0
        np.testing.assert_array_equal(seg.labels_, n_groups - 1 - truth)
        scores = seg.selection_scores_
        assert list(scores.index) == list(range(2, 8))
        assert scores.index.name == "n_segments"
        column = "bic" if method == "gmm" else "silhouette"
        assert list(scores.columns) == [column]
        best = scores[column].idxmin() if method == "gmm" else scores[column].idxmax()
        assert best == seg.n_segments_


def test_silhouette_scores_are_those_of_the_sample():
    table, _ = planted(3, 30, seed=4)
    # 90 customers < sample size; ten runs per candidate find the stable partitions
    seg = CustomerSegmenter(k_range=(2, 4), n_init=10, random_state=0).fit(table)
    # log(1 + x) in single precision, as the segmenter computes it
    logs = np.log(table[RFM].to_numpy(dtype=np.float32) + np.float32(1)).astype(float)
    scaled = (logs - seg.scaling_mean_) * (1.0 / seg.scaling_scale_)
    for k, score in seg.selection_scores_["silhouette"].items():
        # the silhouettes of the partitions of least inertia (several may tie)
        fits = [KMeans(k, n_init=1, random_state=seed).fit(scaled) for seed in range(8)]
        best = min(f.inertia_ for f in fits)
        silhouettes = [silhouette_score(scaled, f.labels_) for f in fits
                       if f.inertia_ <= best * (1 + 1e-9)]
        assert min(abs(score - s) for s in silhouettes) < 1e-9, (k, score, silhouettes)


def test_scaling_learned_at_fit(cdnow_summary):
    logs = np.log1p(cdnow_summary[RFM].to_numpy(dtype=float))
    seg = CustomerSegmenter(n_segments=2, random_state=0).fit(cdnow_summary)
    np.testing.assert_allclose(seg.scaling_mean_, logs.mean(axis=0))
    np.testing.assert_allclose(seg.scaling_scale_, logs.std(axis=0))
    raw = cdnow_summary[RFM].to_numpy(dtype=float)
    linear = CustomerSegmenter(n_segments=2, scaling="standard", random_state=0)
    linear.fit(cdnow_summary.assign(T=33.0))  # a constant column keeps a scale of 1
    np.testing.assert_allclose(linear.scaling_mean_[:2], raw[:, :2].mean(axis=0))
    np.testing.assert_allclose(linear.scaling_scale_, [*raw[:, :2].std(axis=0), 1.0,
                                                       raw[:, 3].std()])
    none = CustomerSegmenter(n_segments=2, scaling="none", random_state=0).fit(cdnow_summary)
    np.testing.assert_array_equal(none.scaling_mean_, 0.0)
    np.testing.assert_array_equal(none.scaling_scale_, 1.0)
    centers = none.estimator_.cluster_centers_[np.argsort(none.label_mapping_)]
    np.testing.assert_allclose(none.cluster_centers_, centers)


def test_fixed_n_segments_has_no_selection_scores(cdnow_summary):
    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(cdnow_summary)
    assert seg.selection_scores_ is None
    assert seg.n_segments_ == 3
    assert seg.cluster_centers_.shape == (3, 4)


def test_parallel_selection_matches_sequential():
    table, _ = planted(4, 60, seed=3)
    params = dict(k_range=(2, 6), random_state=0)
    seq = CustomerSegmenter(**params).fit(table)
    with parallel_backend("threading"):  # the same code path as processes, quicker to start
        par = CustomerSegmenter(n_jobs=2, **params).fit(table)
    pd.testing.assert_frame_equal(par.selection_scores_, seq.selection_scores_)
    np.testing.assert_array_equal(par.labels_, seq.labels_)


def test_selection_sample_is_bounded(cdnow_summary):
    table, _ = planted(3, 400, seed=0)
    seg = CustomerSegmenter(k_range=(2, 5), selection_sample_size=60, random_state=0)
    seg.fit(table)
    assert seg.n_segments_ == 3
    assert len(seg.labels_) == len(table)


@given(n=st.integers(3, 60), k=st.integers(2, 6), seed=st.integers(0, 1000))
def test_mean_silhouette_equals_scikit_learn(n, k, seed):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    X[1] = X[0]  # duplicated points: a distance of exactly 0
    labels = rng.integers(0, k, n) * 3  # labels need not be consecutive
    n_labels = np.unique(labels).size
    if not 2 <= n_labels <= n - 1:
        return
    assert mean_silhouette(X, labels, chunk_size=7) == pytest.approx(
        silhouette_score(X, labels), abs=1e-10)


# ----------------------------------------------------------------- centres and names
def test_centres_are_in_original_units(cdnow_summary):
    seg = CustomerSegmenter(n_segments=4, random_state=0).fit(cdnow_summary)
    logs = np.log1p(cdnow_summary[RFM]).groupby(seg.labels_).mean()
    np.testing.assert_allclose(seg.cluster_centers_, np.expm1(logs.to_numpy()), atol=1e-6)
    linear = CustomerSegmenter(n_segments=4, scaling="standard", random_state=0)
    linear.fit(cdnow_summary)
    means = cdnow_summary[RFM].groupby(linear.labels_).mean()
    np.testing.assert_allclose(linear.cluster_centers_, means.to_numpy(), atol=1e-6)
    gmm = CustomerSegmenter(method="gmm", n_segments=3, scaling="none", random_state=0)
    gmm.fit(cdnow_summary)
    np.testing.assert_allclose(gmm.cluster_centers_,
                               gmm.estimator_.means_[np.argsort(gmm.label_mapping_)])


def test_names_follow_the_documented_rules():
    rng = np.random.default_rng(0)
    sizes = {"top": 100, "middle": 300, "bottom": 600}
    rows = []
    for name, n in sizes.items():
        if name == "top":
            f, gap, m = rng.integers(20, 25, n), rng.uniform(0.5, 1.5, n), rng.uniform(90, 110, n)
        elif name == "middle":
            f, gap, m = rng.integers(4, 7, n), rng.uniform(6, 9, n), rng.uniform(25, 35, n)
        else:
            f, gap, m = np.zeros(n), rng.uniform(30, 40, n), np.zeros(n)
        T = np.full(n, 52.0)
        rows.append(pd.DataFrame({"frequency": f, "recency": np.where(f > 0, T - gap, 0),
                                  "T": np.where(f > 0, T, gap), "monetary_value": m}))
    table = pd.concat(rows, ignore_index=True)
    # n_init=5: the test is about the names of the planted groups, not k-means' seeding
    seg = CustomerSegmenter(n_segments=3, n_init=5, random_state=0).fit(table)
    assert list(seg.profile_["n_customers"]) == [100, 300, 600]
    # top 10%: every median is above the 90th percentile -> "very ..."
    # middle 30%: between the 60th and 90th percentiles -> "high value, frequent, recent"
    # bottom 60%: spend 0 and no repeat purchase (rank 0.3) and the longest gaps
    assert list(seg.segment_names_) == ["very high value, very frequent, very recent",
                                        "high value, frequent, recent",
                                        "low value, infrequent, lapsed"]


def _mid_rank(population, levels):
    """Reference: share of the population below each level plus half the share equal."""
    return np.array([(np.sum(population < c) + 0.5 * np.sum(population == c))
                     / population.size for c in levels])


def test_name_rules_edge_cases():
    pop = np.arange(100.0)
    levels = np.array([-1.0, 49.0, 49.5, 1000.0])
    expected = [0.0, 0.495, 0.5, 1.0]
    np.testing.assert_allclose(_mid_rank(pop, levels), expected)
    np.testing.assert_allclose(histogram_ranks(np.ones(100), levels), expected)
    names = _segment_names(np.array([5, 5, 5, 0]),
                           {"value": _mid_rank(pop, np.array([95.0, 95.0, 50.0, 10.0]))})
    assert list(names) == ["very high value", "very high value (2)", "mid value", "empty"]
    assert list(_segment_names(np.array([3]), {"frequency": [0.5], "since_last": [0.5]})) \
        == ["average"]
    since = _mid_rank(pop, np.array([5.0, 95.0]))
    assert list(_segment_names(np.array([1, 1]), {"since_last": since})) == ["very recent",
                                                                            "lapsed"]


def test_profile_describes_the_training_table(cdnow_summary):
    table = cdnow_summary.assign(p_alive=np.linspace(0, 1, len(cdnow_summary)),
                                 first_purchase=pd.Timestamp("1997-01-01"), note="x")
    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(table)
    profile = seg.profile_
    assert list(profile.index) == [0, 1, 2]
    assert profile["n_customers"].sum() == len(table)
    assert "p_alive_mean" in profile and "T_median" in profile
    np.testing.assert_allclose(profile["p_alive_mean"],
                               table["p_alive"].groupby(seg.labels_).mean())


# ----------------------------------------------------------- predict and transform
@pytest.mark.parametrize("method", ["kmeans", "minibatch", "gmm"])
def test_predict_reproduces_training_labels(cdnow_summary, method):
    seg = CustomerSegmenter(method=method, n_segments=4, random_state=0).fit(cdnow_summary)
    np.testing.assert_array_equal(seg.predict(cdnow_summary), seg.labels_)
    reordered = cdnow_summary[RFM[::-1]].assign(extra="x")  # columns selected by name
    np.testing.assert_array_equal(seg.predict(reordered), seg.labels_)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(seg.predict(cdnow_summary[RFM].to_numpy()), seg.labels_)


def test_predict_proba_for_gmm_follows_label_order(cdnow_summary):
    seg = CustomerSegmenter(method="gmm", n_segments=3, random_state=0).fit(cdnow_summary)
    proba = seg.predict_proba(cdnow_summary)
    assert proba.shape == (len(cdnow_summary), 3)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_array_equal(proba.argmax(axis=1), seg.labels_)


def test_predict_proba_absent_for_kmeans(cdnow_summary):
    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(cdnow_summary)
    assert not hasattr(seg, "predict_proba")
    with pytest.raises(AttributeError, match="has no attribute 'predict_proba'") as err:
        seg.predict_proba(cdnow_summary)
    assert "predict_proba needs method='gmm'" in str(err.value.__cause__)


def test_transform_is_the_label_column_and_honours_set_output(cdnow_summary):
    seg = CustomerSegmenter(n_segments=3, random_state=0)
    out = seg.fit_transform(cdnow_summary)
    assert out.shape == (len(cdnow_summary), 1)
    np.testing.assert_array_equal(out[:, 0], seg.labels_)
    np.testing.assert_array_equal(seg.transform(cdnow_summary), out)
    assert list(seg.get_feature_names_out()) == ["segment"]
    frame = seg.set_output(transform="pandas").transform(cdnow_summary)
    assert list(frame.columns) == ["segment"]
    pd.testing.assert_index_equal(frame.index, cdnow_summary.index)
    np.testing.assert_array_equal(frame["segment"], seg.labels_)
    with pytest.raises(ValueError, match="input_features should have length"):
        seg.get_feature_names_out(["a"])


def test_composes_in_a_column_transformer(cdnow_summary):
    ct = ColumnTransformer([("seg", CustomerSegmenter(n_segments=3, random_state=0), RFM)],
                           remainder="drop").set_output(transform="pandas")
    out = ct.fit_transform(cdnow_summary)
    assert list(out.columns) == ["seg__segment"]
    expected = CustomerSegmenter(n_segments=3, random_state=0).fit_predict(cdnow_summary)
    np.testing.assert_array_equal(out["seg__segment"], expected)


# ----------------------------------------------------------- clone, pickle, to_dict
@pytest.mark.parametrize("method", ["kmeans", "minibatch", "gmm"])
def test_clone_pickle_and_dict_round_trip(cdnow_summary, method):
    seg = CustomerSegmenter(method=method, k_range=(2, 4), selection_sample_size=500,
                            random_state=0).fit(cdnow_summary)
    fresh = clone(seg)
    assert fresh.get_params() == seg.get_params()
    assert not hasattr(fresh, "labels_")
    for copy in (pickle.loads(pickle.dumps(seg)),
                 CustomerSegmenter.from_dict(json.loads(json.dumps(seg.to_dict())))):
        assert isinstance(copy, CustomerSegmenter)
        np.testing.assert_array_equal(copy.predict(cdnow_summary), seg.predict(cdnow_summary))
        np.testing.assert_array_equal(copy.labels_, seg.labels_)
        pd.testing.assert_frame_equal(copy.profile_, seg.profile_)
        pd.testing.assert_frame_equal(copy.selection_scores_, seg.selection_scores_)
        assert list(copy.segment_names_) == list(seg.segment_names_)
        np.testing.assert_array_equal(copy.cluster_centers_, seg.cluster_centers_)
        if method == "gmm":
            np.testing.assert_array_equal(copy.predict_proba(cdnow_summary),
                                          seg.predict_proba(cdnow_summary))
    refit = clone(seg).fit(cdnow_summary)
    np.testing.assert_array_equal(refit.labels_, seg.labels_)


def test_no_training_data_on_the_instance(cdnow_summary):
    seg = CustomerSegmenter(n_segments=3, random_state=0).fit(cdnow_summary)
    for name, value in vars(seg).items():
        assert not isinstance(value, pd.DataFrame) or name in ("profile_",
                                                              "selection_scores_"), name
        if isinstance(value, np.ndarray) and value.ndim == 2:
            assert value.shape[0] == seg.n_segments_, name


# ------------------------------------------------------------------------- errors
def test_missing_feature_column(cdnow_summary):
    with pytest.raises(MissingColumnError, match="missing column\\(s\\) 'monetary_value'"):
        CustomerSegmenter(n_segments=2).fit(cdnow_summary.drop(columns="monetary_value"))
    seg = CustomerSegmenter(n_segments=2, random_state=0).fit(cdnow_summary)
    with pytest.raises(MissingColumnError, match="'recency' \\(did you mean 'Recency'"):
        seg.predict(cdnow_summary.rename(columns={"recency": "Recency"}))


def test_missing_value_column(cdnow_summary):
    with pytest.raises(MissingColumnError, match="missing column\\(s\\) 'clv'"):
        CustomerSegmenter(n_segments=2, value_column="clv").fit(cdnow_summary)
    with pytest.raises(InvalidParameterError, match="value_column='clv' is not among"):
        CustomerSegmenter(n_segments=2, value_column="clv").fit(
            cdnow_summary[RFM].to_numpy())


def test_nan_in_a_feature_names_column_count_and_examples(cdnow_summary):
    table = cdnow_summary.copy()
    table.loc[[5, 7, 9], "recency"] = np.nan
    with pytest.raises(InvalidDataError,
                       match=r"(?s)Column 'recency': 3 of 2357 rows are NaN or infinite\. "
                             r"First 3 shown:.*\n5 .*\n7 .*\n9 "):
        CustomerSegmenter(n_segments=2).fit(table)
    seg = CustomerSegmenter(n_segments=2, random_state=0).fit(cdnow_summary)
    with pytest.raises(InvalidDataError, match="Column 'recency': 3 of 2357 rows"):
        seg.predict(table)


def test_negative_values_with_log_scaling(cdnow_summary):
    table = cdnow_summary.copy()
    table.loc[range(1, 9), "monetary_value"] = -1.0
    with pytest.raises(InvalidDataError,
                       match=r"(?s)Column 'monetary_value': 8 of 2357 rows are negative\. "
                             r"First 5 shown:.*scaling='standard'"):
        CustomerSegmenter(n_segments=2).fit(table)
    seg = CustomerSegmenter(n_segments=2, scaling="standard", random_state=0).fit(table)
    assert seg.n_segments_ == 2


def test_bad_arrays_and_parameters(cdnow_summary):
    arr = cdnow_summary[RFM].to_numpy()
    with pytest.raises(InvalidDataError, match="must have the 4 columns"):
        CustomerSegmenter(n_segments=2).fit(arr[:, :3])
    with pytest.raises(InvalidParameterError, match="need at least 5 customers, got "
                                                    "n_samples=3"):
        CustomerSegmenter(n_segments=5).fit(cdnow_summary.iloc[:3])
    with pytest.raises(InvalidParameterError, match="k_range must be two integers"):
        CustomerSegmenter(k_range=(1, 4)).fit(cdnow_summary)
    with pytest.raises(InvalidParameterError, match="k_range must be two integers"):
        CustomerSegmenter(k_range=(5, 3)).fit(cdnow_summary)
    with pytest.raises(InvalidParameterError, match="only n_samples=4 customers"):
        CustomerSegmenter(k_range=(5, 8)).fit(cdnow_summary.iloc[:4])
    with pytest.raises(InvalidParameterError, match="features must be a non-empty tuple"):
        CustomerSegmenter(features=()).fit(cdnow_summary)
    with pytest.raises(ValueError, match="'method' parameter of CustomerSegmenter"):
        CustomerSegmenter(method="dbscan").fit(cdnow_summary)
    with pytest.raises(CustsegError, match="has no rows"):
        CustomerSegmenter(n_segments=2).fit(cdnow_summary.iloc[:0])
    with pytest.raises(InvalidDataError, match="numeric columns of the customer table"):
        CustomerSegmenter(features=None).fit(pd.DataFrame({"a": ["x", "y", "z"]}))


def test_too_few_distinct_customers_warns_convergence():
    table = pd.DataFrame({"frequency": [1.0] * 8 + [2.0] * 2, "recency": 5.0, "T": 10.0,
                          "monetary_value": 3.0})
    with pytest.raises(InvalidDataError, match="could be scored"), \
            pytest.warns(ConvergenceWarning, match="KMeans with [23] segments did not converge"):
        CustomerSegmenter(k_range=(2, 3), random_state=0).fit(table.assign(frequency=1.0))
    with pytest.warns(ConvergenceWarning, match="did not converge: Number of distinct"):
        seg = CustomerSegmenter(n_segments=3, random_state=0).fit(table)
    assert set(seg.labels_) <= {0, 1, 2}


def test_features_none_takes_numeric_columns(cdnow_summary):
    table = cdnow_summary.reset_index().assign(flag=True, tag="a")
    seg = CustomerSegmenter(features=None, n_segments=2, random_state=0).fit(table)
    assert list(seg.features_) == RFM
    assert list(seg.feature_names_in_) == RFM
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(seg.predict(table), seg.labels_)


# ------------------------------------------------------------ the pure building blocks
def _reference_stats(values, labels, k):
    """Counts, sums and medians per segment with pandas (NaN skipped)."""
    frame = pd.DataFrame({"x": values, "g": labels})
    grouped = frame.groupby("g")["x"]
    index = pd.RangeIndex(k)
    return (grouped.count().reindex(index, fill_value=0).to_numpy(),
            grouped.sum().reindex(index, fill_value=0.0).to_numpy(),
            grouped.median().reindex(index).to_numpy())


@st.composite
def _segmented_columns(draw):
    n = draw(st.integers(1, 300))
    k = draw(st.integers(1, 5))
    labels = np.asarray(draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n)))
    kind = draw(st.sampled_from(["integers", "zeros", "floats", "signed", "ties"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "integers":
        x = rng.integers(0, 40, n).astype(float)
    elif kind == "zeros":  # a spend column: most customers at exactly 0
        x = np.where(rng.random(n) < 0.6, 0.0, rng.gamma(2.0, 30.0, n))
    elif kind == "floats":
        x = rng.lognormal(2.0, 1.5, n)
    elif kind == "signed":
        x = rng.normal(0.0, 5.0, n)
        x[rng.random(n) < 0.2] = -0.0
    else:  # few distinct values, some very close in one radix bucket
        x = rng.choice([1.0, 1.0 + 2**-40, 3.5, 1e6], n)
    return x, labels, k


@given(case=_segmented_columns())
def test_describe_segments_is_exact(case):
    x, labels, k = case
    lo = float(x.min())
    codes = x.astype(np.uint16) if lo >= 0 and np.array_equal(np.round(x), x) else None
    arrays = {"x": (x, lo, codes), "frequency": (x, lo, None)}
    described = describe_segments(labels, k, ["x", "frequency"], arrays, None,
                                  descriptors={"value": "x", "frequency": "frequency"})
    counts, sums, medians = _reference_stats(x, labels, k)
    np.testing.assert_array_equal(described.sizes, counts)
    for col in ("x", "frequency"):  # a histogram and a radix selection
        got = described.stats[col]
        np.testing.assert_array_equal(got[0], counts)
        np.testing.assert_allclose(got[1], sums, rtol=1e-12, atol=1e-9)
        np.testing.assert_array_equal(got[2], medians)
    for key in ("value", "frequency"):
        present = counts > 0
        np.testing.assert_allclose(described.ranks[key][present],
                                   _mid_rank(x, medians[present]), atol=1e-12)


def test_describe_segments_skips_missing_values_of_other_columns():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 500)
    clv = rng.gamma(2.0, 50.0, 500)
    clv[rng.random(500) < 0.1] = np.nan
    described = describe_segments(labels, 3, ["clv"], {}, lambda col: clv,
                                  descriptors={"value": None, "frequency": None})
    counts, sums, medians = _reference_stats(clv, labels, 3)
    np.testing.assert_array_equal(described.stats["clv"][0], counts)
    np.testing.assert_allclose(described.stats["clv"][1], sums)
    np.testing.assert_array_equal(described.stats["clv"][2], medians)


def test_time_since_last_purchase_from_the_recency_age_histogram():
    rng = np.random.default_rng(1)
    T = rng.integers(10, 60, 400).astype(float)
    recency = np.floor(T * rng.random(400))
    labels = rng.integers(0, 4, 400)
    ranks = {}
    for small in (True, False):  # the joint histogram, and the radix selection
        arrays = {c: (v, 0.0, v.astype(np.uint8) if small else None)
                  for c, v in (("recency", recency), ("T", T))}
        ranks[small] = describe_segments(labels, 4, ["recency", "T"], arrays, None,
                                         descriptors={}).ranks["since_last"]
    gap = T - recency
    medians = _reference_stats(gap, labels, 4)[2]
    np.testing.assert_allclose(ranks[True], _mid_rank(gap, medians))
    np.testing.assert_allclose(ranks[False], ranks[True])


def test_small_integers_are_scaled_as_the_direct_path_scales_them():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 300, 5000).astype(float)
    bounds = [(float(x.min()), float(x.max()))]
    for scaling in ("log-standard", "standard"):
        table = scale_features([x], bounds, scaling, hash_seed=0)
        np.testing.assert_array_equal(table.codes[0], x)
        direct = scale_features([x + 0.0], [(bounds[0][0], 1e9)], scaling,
                                stats=(table.means, table.scales), hash_seed=0)
        assert direct.codes == [None]
        np.testing.assert_array_equal(table.z, direct.z)
    # a fractional value after the first block switches to the direct path
    y = x.copy()
    y[-1] = 0.5
    mixed = scale_features([y], [(0.0, float(y.max()))], "log-standard",
                           stats=(table.means, table.scales))
    expected = (np.log(y.astype(np.float32) + np.float32(1)).astype(float)
                - table.means[0]) * (1.0 / table.scales[0])
    np.testing.assert_array_equal(mixed.z[0], expected)


def _sample_of(rows, size, seed=7):
    columns = [np.ascontiguousarray(c) for c in rows.T]
    bounds = [(c.min(), c.max()) for c in columns]
    scaled = scale_features(columns, bounds, "log-standard", hash_seed=seed,
                            sample_size=size)
    return scaled.sample, scaled.weight


def test_weighted_sample_stands_for_every_customer():
    rng = np.random.default_rng(3)
    heavy = np.array([[0.0, 0.0, 30.0], [0.0, 0.0, 31.0]])
    rows = np.vstack([np.repeat(heavy[:1], 5000, axis=0),  # most customers: 2 rows
                      np.repeat(heavy[1:], 3000, axis=0),
                      rng.integers(1, 6, size=(2000, 3)).astype(float),  # a few copies
                      rng.gamma(2.0, 10.0, size=(20000, 3))])  # distinct rows
    sample, weight = _sample_of(rows, 300)
    values = rows[sample]
    assert len(np.unique(values, axis=0)) == len(sample)
    counts = np.array([np.count_nonzero((rows == r).all(axis=1)) for r in values])
    # the rows with many copies (the two heavy ones and the 125 small-integer ones with
    # about 16 copies each) are always in, each with its exact number of copies
    is_heavy = counts >= heavy_threshold(len(rows))
    assert is_heavy.sum() == 127
    assert (values[:, None, :] == heavy[None]).all(axis=2).any(axis=1).sum() == 2
    np.testing.assert_array_equal(weight[is_heavy], counts[is_heavy])
    # the others share one inclusion rate: weight = copies / rate
    rates = counts[~is_heavy] / weight[~is_heavy]
    np.testing.assert_allclose(rates, rates[0])
    assert len(sample) == 300
    # the weights add up to about the number of customers, and a weighted mean is close
    assert abs(weight.sum() / len(rows) - 1.0) < 0.15
    np.testing.assert_allclose(np.average(values, axis=0, weights=weight),
                               rows.mean(axis=0), rtol=0.15)
    # the same customers in another order: the same sample
    perm = rng.permutation(len(rows))
    again, weight_again = _sample_of(rows[perm], 300)
    np.testing.assert_array_equal(rows[perm][again], values)
    np.testing.assert_array_equal(weight_again, weight)


def test_weighted_sample_of_few_distinct_rows_is_exact():
    rows = np.repeat(np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]), [7, 1, 2], axis=0)
    sample, weight = _sample_of(rows, 10)
    assert sorted(map(tuple, rows[sample])) == [(1.0, 2.0), (3.0, 4.0), (5.0, 6.0)]
    assert sorted(weight) == [1.0, 2.0, 7.0]


@settings(deadline=None)
@given(st.integers(0, 2**32 - 1), st.lists(st.integers(1, 400), max_size=12),
       st.integers(1, 20))
def test_heavy_rows_finds_every_row_repeated_that_often(seed, copies, limit):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 2**64, size=len(copies) + 3000, dtype=np.uint64)
    h = np.concatenate([np.repeat(values[:len(copies)], copies), values[len(copies):]])
    h = h[rng.permutation(h.size)]
    buckets = np.bincount((h >> np.uint64(64 - BUCKET_BITS)).astype(np.intp),
                          minlength=1 << BUCKET_BITS)
    rows, counts, hashes = _heavy_rows(h, buckets, 50, limit)
    distinct, true_counts = np.unique(h, return_counts=True)
    heavy = true_counts >= 50
    expected = np.sort(np.argsort(-true_counts[heavy], kind="stable")[:limit])
    np.testing.assert_array_equal(hashes, distinct[heavy][expected])
    np.testing.assert_array_equal(counts, true_counts[heavy][expected])
    np.testing.assert_array_equal(h[rows], hashes)  # a copy of each


def test_segment_order_ignores_round_off():
    centers = np.array([[1e-16, 0.0, 2.0], [0.0, 1e-15, 3.0], [5.0, 1.0, 1.0]])
    value = np.array([0.0, 1e-14, 200.0])
    # equal values up to round-off: the third feature decides, not the round-off
    np.testing.assert_array_equal(_segment_order(value, centers, np.array([4, 4, 4])),
                                  [2, 1, 0])
    # an empty segment comes last; equal centroids are ordered by size
    np.testing.assert_array_equal(
        _segment_order(np.array([1.0, 1.0, np.nan]), np.zeros((3, 2)),
                       np.array([3, 9, 0])), [1, 0, 2])


def test_weighted_silhouette_is_that_of_the_repeated_points():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(40, 3))
    labels = rng.integers(0, 3, 40)
    weight = rng.integers(1, 5, 40)
    assert mean_silhouette(X, labels, sample_weight=weight) == pytest.approx(
        silhouette_score(np.repeat(X, weight, axis=0), np.repeat(labels, weight)),
        abs=1e-9)


def test_many_identical_customers_do_not_flood_the_seeding_sample():
    """Two thirds of the customers are copies of one row (no repeat purchase, no spend):
    seeding and choosing k see it once, with its weight, whatever the seed."""
    table, _ = planted(3, 200, seed=6)
    copies = pd.DataFrame({"frequency": 0.0, "recency": 0.0, "T": np.full(1200, 300.0),
                           "monetary_value": 0.0})
    table = pd.concat([table, copies], ignore_index=True)
    for seed in range(3):
        seg = CustomerSegmenter(k_range=(2, 6), selection_sample_size=100,
                                random_state=seed).fit(table)
        assert seg.selection_scores_["silhouette"].notna().all()
        # the copies form their own segment, the least valuable; the planted groups
        # are not split
        last = seg.n_segments_ - 1
        assert (seg.labels_[-1200:] == last).all()
        assert list(seg.profile_["n_customers"])[last] == 1200
        assert seg.n_segments_ in (3, 4)


def test_wrong_shapes_and_duplicated_columns_raise_invalid_data_errors(cdnow_summary):
    from scipy import sparse

    arr = cdnow_summary[RFM].to_numpy()
    seg = CustomerSegmenter(n_segments=2, random_state=0).fit(arr)
    with pytest.raises(InvalidDataError, match="X has 5 features, but .* is expecting 4"):
        seg.predict(np.hstack([arr, arr[:, :1]]))
    with pytest.raises(InvalidDataError, match="X has 3 features, but .* is expecting 4"):
        seg.predict(arr[:, :3])
    with pytest.raises(InvalidDataError, match="Expected 2D array, got 1D array"):
        CustomerSegmenter(n_segments=2).fit(arr[:, 0])
    with pytest.raises(InvalidDataError, match="Sparse data was passed"):
        CustomerSegmenter(n_segments=2).fit(sparse.csr_matrix(arr))
    doubled = pd.concat([cdnow_summary, cdnow_summary[["recency"]]], axis=1)
    with pytest.raises(InvalidDataError, match=r"duplicate columns: 'recency' \(2 times\)"):
        CustomerSegmenter(n_segments=2).fit(doubled)


def test_two_identical_customers_with_single_valued_columns():
    # every column holds one whole number: each is packed with radix 1 (found by fuzzing)
    X = pd.DataFrame({"frequency": [0.0, 0.0], "recency": [0.0, 0.0], "T": [1.0, 1.0],
                      "monetary_value": [0.0, 0.0]})
    with pytest.warns(ConvergenceWarning, match=r"distinct clusters \(1\)"):
        labels = CustomerSegmenter(n_segments=2, random_state=0).fit_predict(X)
    assert labels.shape == (2,)
    assert labels[0] == labels[1]


def test_heavy_rows_searches_a_bucket_again_when_its_first_row_is_not_heavy():
    bucket = np.uint64(0xABCD) << np.uint64(64 - BUCKET_BITS)
    light, u, v = bucket + np.uint64(1), bucket + np.uint64(2), bucket + np.uint64(3)
    h = np.concatenate([np.full(30, light), np.full(50, u), np.full(70, v),
                        np.full(10, light)]).astype(np.uint64)
    for order in (np.arange(h.size), np.arange(h.size)[::-1]):
        hh = h[order]
        buckets = np.bincount((hh >> np.uint64(64 - BUCKET_BITS)).astype(np.intp),
                              minlength=1 << BUCKET_BITS)
        for threshold, want, copies in ((50, [u, v], [50, 70]), (60, [v], [70]),
                                        (40, [light, u, v], [40, 50, 70])):
            rows, counts, hashes = _heavy_rows(hh, buckets, threshold, 10)
            np.testing.assert_array_equal(hashes, want)
            np.testing.assert_array_equal(counts, copies)
            np.testing.assert_array_equal(hh[rows], hashes)
        # at most `limit`: the most repeated
        np.testing.assert_array_equal(_heavy_rows(hh, buckets, 40, 2)[2], [u, v])


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), scaling=st.sampled_from(["log-standard", "standard"]))
def test_scaling_does_not_depend_on_row_order_in_any_bit(seed, scaling):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 3000))
    columns = [rng.poisson(2.0, n).astype(float), rng.gamma(0.5, 300.0, n),
               rng.normal(1e6, 1.0, n) if scaling == "standard" else rng.random(n) * 1e-3]
    bounds = [(c.min(), c.max()) for c in columns]
    perm = rng.permutation(n)
    a = scale_features(columns, bounds, scaling)
    b = scale_features([c[perm] for c in columns], bounds, scaling)
    np.testing.assert_array_equal(b.means, a.means)
    np.testing.assert_array_equal(b.scales, a.scales)
    np.testing.assert_array_equal(b.z, a.z[:, perm])
    exact = np.stack(columns)
    if scaling == "log-standard":  # the logarithm in single precision, as scaled
        exact = np.log(exact.astype(np.float32) + np.float32(1.0)).astype(np.float64)
    np.testing.assert_allclose(a.means, exact.mean(axis=1), rtol=1e-9)
    np.testing.assert_allclose(a.scales, exact.std(axis=1), rtol=1e-6)
