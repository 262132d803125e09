"""custseg.dask: partitioned RFM summary, partition-wise scoring and fits from distinct rows.

One in-process ``distributed.LocalCluster`` (2 workers, 1 thread each, ``processes=False``)
is shared by the module: on a 2-core machine worker processes take about 10 s to start
and every partition of an in-memory log would be pickled to them, while threads share the
client's memory. The numerics are the same either way.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

dask = pytest.importorskip("dask")
dd = pytest.importorskip("dask.dataframe")
distributed = pytest.importorskip("distributed")

from sklearn.exceptions import NotFittedError  # noqa: E402

import custseg.dask as cdask  # noqa: E402
from custseg.datasets import make_transactions  # noqa: E402
from custseg.exceptions import (  # noqa: E402
    EmptyDataError,
    InvalidDataError,
    InvalidParameterError,
    MissingColumnError,
)
from custseg.features import rfm_summary  # noqa: E402
from custseg.models import BetaGeo, GammaGamma, ModifiedBetaGeo  # noqa: E402

N_BIG = 10**6


@pytest.fixture(scope="module")
def client():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           processes=False, dashboard_address=None)
        client = distributed.Client(cluster)
    yield client
    client.close()
    cluster.close()


@pytest.fixture(autouse=True)
def _quiet_large_graphs():
    # from_pandas embeds the in-memory log in the graph; distributed warns about its size
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*large graph.*")
        warnings.filterwarnings("ignore", message=".*Sending large graph.*")
        yield


@pytest.fixture(scope="module")
def big_log():
    """10^6 simulated customers (about 2.8 million transactions), rows shuffled."""
    return make_transactions(N_BIG, random_state=11, shuffle=True).transactions


@pytest.fixture(scope="module")
def big_ddf(client, big_log):
    return dd.from_pandas(big_log, npartitions=16, sort=False).persist()


@pytest.fixture(scope="module")
def big_weekly(client, big_ddf):
    """The weekly customer table of the big log, computed on the cluster and persisted."""
    table = cdask.rfm_summary(big_ddf, "customer_id", "date", "amount", freq="W")
    return table.persist()


@pytest.fixture(scope="module")
def cdnow_ddf(cdnow_transactions):
    return dd.from_pandas(cdnow_transactions, npartitions=7, sort=False)


def _assert_same_table(dask_result, expected):
    got = dask_result.compute() if hasattr(dask_result, "compute") else dask_result
    got = got.sort_index()
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.index.is_unique


# --------------------------------------------------------------------------- rfm_summary
@pytest.mark.parametrize("kwargs", [
    {},
    {"monetary_value_col": "amount", "extra_columns": True},
    {"freq": "W", "monetary_value_col": "amount", "include_first_transaction": True},
    {"freq": "M", "observation_period_end": "1997-12-31"},
    {"freq_multiplier": 7, "observation_period_end": "1998-03-31",
     "extra_columns": ["n_transactions"]},
])
def test_rfm_cdnow_equals_pandas(client, cdnow_transactions, cdnow_ddf, kwargs):
    expected = rfm_summary(cdnow_transactions, "customer_id", "date", **kwargs)
    got = cdask.rfm_summary(cdnow_ddf, "customer_id", "date", **kwargs)
    assert isinstance(got, dd.DataFrame)
    pd.testing.assert_frame_equal(got._meta, expected.iloc[:0])
    _assert_same_table(got, expected)


def test_rfm_big_log_equals_pandas(client, big_log, big_ddf):
    assert big_ddf.npartitions == 16
    expected = rfm_summary(big_log, "customer_id", "date", "amount", extra_columns=True)
    got = cdask.rfm_summary(big_ddf, "customer_id", "date", "amount", extra_columns=True)
    _assert_same_table(got, expected)
    assert len(expected) == N_BIG


def test_rfm_big_log_weekly_equals_pandas(big_log, big_weekly):
    expected = rfm_summary(big_log, "customer_id", "date", "amount", freq="W")
    _assert_same_table(big_weekly, expected)


def test_rfm_string_and_categorical_ids(client, cdnow_transactions):
    log = cdnow_transactions.assign(
        customer_id=("c" + cdnow_transactions["customer_id"].astype(str)))
    # Dask stores text as its own string dtype by default: the result equals the pandas
    # function on the rows as Dask holds them ...
    ddf = dd.from_pandas(log, npartitions=5, sort=False)
    _assert_same_table(cdask.rfm_summary(ddf, monetary_value_col="amount"),
                       rfm_summary(ddf.compute(), monetary_value_col="amount"))
    # ... and on the original frame when that conversion is switched off.
    with dask.config.set({"dataframe.convert-string": False}):
        ddf = dd.from_pandas(log, npartitions=5, sort=False)
        _assert_same_table(cdask.rfm_summary(ddf, monetary_value_col="amount"),
                           rfm_summary(log, monetary_value_col="amount"))
    cat = log.assign(customer_id=log["customer_id"].astype("category"))
    table = cdask.rfm_summary(dd.from_pandas(cat, npartitions=5, sort=False))
    got = table.compute()
    expected = rfm_summary(cat)
    assert isinstance(got.index, pd.CategoricalIndex)
    assert got.index.dtype == expected.index.dtype
    pd.testing.assert_frame_equal(got.loc[expected.index], expected, check_exact=True)
    assert len(got) == len(expected)
    # distinct rows are ordered by category code, the order of the in-memory table
    _assert_same_params(cdask.fit_from_dask(BetaGeo(), table), BetaGeo().fit(expected))


def test_rfm_string_dates_with_format(client, cdnow_transactions):
    log = cdnow_transactions.assign(date=cdnow_transactions["date"].dt.strftime("%d/%m/%Y"))
    ddf = dd.from_pandas(log, npartitions=4, sort=False)
    kwargs = {"datetime_format": "%d/%m/%Y", "extra_columns": True}
    _assert_same_table(cdask.rfm_summary(ddf, **kwargs), rfm_summary(log, **kwargs))


def test_rfm_timezone_aware_dates(client, cdnow_transactions):
    dates = cdnow_transactions["date"] + pd.to_timedelta(
        np.arange(len(cdnow_transactions)) % 24, unit="h")
    log = cdnow_transactions.assign(date=dates.dt.tz_localize("America/New_York"))
    ddf = dd.from_pandas(log, npartitions=3, sort=False)
    _assert_same_table(cdask.rfm_summary(ddf, extra_columns=True),
                       rfm_summary(log, extra_columns=True))


def test_rfm_customer_id_as_sorted_index_skips_shuffle(client, cdnow_transactions):
    log = cdnow_transactions.set_index("customer_id")
    ddf = dd.from_pandas(log, npartitions=6, sort=True)
    assert ddf.known_divisions
    got = cdask.rfm_summary(ddf, "customer_id", "date", "amount")
    assert "shuffle" not in " ".join(map(str, got.dask.keys())).lower()
    # sorting the log may reorder the purchases of a customer, and amounts are summed
    # in row order: exact against the sorted rows, to rounding against the original
    _assert_same_table(got, rfm_summary(ddf.compute().reset_index(),
                                        monetary_value_col="amount"))
    pd.testing.assert_frame_equal(
        got.compute().sort_index(),
        rfm_summary(cdnow_transactions, monetary_value_col="amount"), rtol=1e-12)
    resized = cdask.rfm_summary(ddf, "customer_id", "date", "amount", npartitions=4)
    assert resized.npartitions == 4
    _assert_same_table(resized, rfm_summary(ddf.compute().reset_index(),
                                            monetary_value_col="amount"))
    shuffled = log.sample(frac=1.0, random_state=0)
    unsorted = dd.from_pandas(shuffled, npartitions=6, sort=False)
    assert not unsorted.known_divisions
    _assert_same_table(cdask.rfm_summary(unsorted, "customer_id", "date", "amount"),
                       rfm_summary(shuffled.reset_index(), monetary_value_col="amount"))


def test_rfm_empty_partitions_and_npartitions(client, cdnow_transactions):
    ddf = dd.from_pandas(cdnow_transactions, npartitions=8, sort=True)
    filtered = ddf[ddf["customer_id"] <= 300]  # most partitions become empty
    got = cdask.rfm_summary(filtered, monetary_value_col="amount", npartitions=3)
    assert got.npartitions == 3
    subset = cdnow_transactions[cdnow_transactions["customer_id"] <= 300]
    _assert_same_table(got, rfm_summary(subset, monetary_value_col="amount"))


def test_rfm_shuffle_methods_agree(client, cdnow_transactions, cdnow_ddf):
    expected = rfm_summary(cdnow_transactions, monetary_value_col="amount")
    for method in ("tasks", "p2p"):
        got = cdask.rfm_summary(cdnow_ddf, monetary_value_col="amount",
                                shuffle_method=method)
        _assert_same_table(got, expected)


_dates = st.integers(0, 400).map(lambda d: pd.Timestamp("2023-01-01") + pd.Timedelta(
    hours=6 * d))


@settings(max_examples=10)  # each example builds and runs a Dask graph
@given(ids=st.lists(st.integers(1, 15), min_size=1, max_size=60), data=st.data(),
       npartitions=st.integers(1, 6), freq=st.sampled_from(["D", "W", "h"]))
def test_rfm_any_partitioning_equals_pandas(ids, data, npartitions, freq):
    n = len(ids)
    log = pd.DataFrame({
        "customer_id": ids,
        "date": data.draw(st.lists(_dates, min_size=n, max_size=n)),
        "amount": data.draw(st.lists(st.floats(0, 100, allow_nan=False), min_size=n,
                                     max_size=n)),
    })
    ddf = dd.from_pandas(log, npartitions=npartitions, sort=False)
    got = cdask.rfm_summary(ddf, monetary_value_col="amount", freq=freq,
                            extra_columns=True, shuffle_method="tasks")
    expected = rfm_summary(log, monetary_value_col="amount", freq=freq, extra_columns=True)
    _assert_same_table(got.compute(scheduler="sync"), expected)


def test_rfm_rejects_pandas_input(cdnow_transactions):
    with pytest.raises(InvalidParameterError, match="pandas DataFrame.*from_pandas"):
        cdask.rfm_summary(cdnow_transactions)
    with pytest.raises(InvalidParameterError, match="must be a dask DataFrame, got list"):
        cdask.rfm_summary([1, 2])


def test_rfm_checks_columns_and_parameters_eagerly(cdnow_ddf):
    with pytest.raises(MissingColumnError, match="'amount_usd'.*did you mean 'amount'"):
        cdask.rfm_summary(cdnow_ddf, monetary_value_col="amount_usd")
    with pytest.raises(MissingColumnError, match="'client'"):
        cdask.rfm_summary(cdnow_ddf, customer_id_col="client")
    with pytest.raises(InvalidParameterError, match="freq='fortnight'"):
        cdask.rfm_summary(cdnow_ddf, freq="fortnight")
    with pytest.raises(InvalidParameterError, match="freq_multiplier must be a positive"):
        cdask.rfm_summary(cdnow_ddf, freq_multiplier=0)
    with pytest.raises(InvalidParameterError, match="unknown column.*'age'"):
        cdask.rfm_summary(cdnow_ddf, extra_columns=["age"])
    with pytest.raises(InvalidParameterError, match="npartitions must be a positive"):
        cdask.rfm_summary(cdnow_ddf, npartitions=0)
    with pytest.raises(InvalidParameterError, match="observation_period_end='someday'"):
        cdask.rfm_summary(cdnow_ddf, observation_period_end="someday")


def test_rfm_bad_rows_raise_with_column_and_examples(client, cdnow_transactions):
    log = cdnow_transactions.copy()
    log.loc[[3, 10], "amount"] = -5.0
    ddf = dd.from_pandas(log, npartitions=2, sort=True)
    with pytest.raises(InvalidDataError, match=r"Column 'amount': 2 of \d+ rows are "
                                               r"negative"):
        cdask.rfm_summary(ddf, monetary_value_col="amount").compute()
    early = dd.from_pandas(cdnow_transactions, npartitions=2)
    with pytest.raises(InvalidDataError, match="Column 'date'.*first purchase after"):
        cdask.rfm_summary(early, observation_period_end="1997-01-15").compute()


def test_rfm_no_valid_date_reports_the_bad_rows(client, cdnow_transactions):
    log = cdnow_transactions.assign(date="not a date")
    ddf = dd.from_pandas(log, npartitions=2)
    with pytest.raises(InvalidDataError, match="Column 'date'.*cannot be parsed as dates"):
        cdask.rfm_summary(ddf).compute()


def test_rfm_empty_log(client, cdnow_ddf):
    empty = cdnow_ddf[cdnow_ddf["customer_id"] < 0]
    with pytest.raises(EmptyDataError, match="transaction log has no rows"):
        cdask.rfm_summary(empty)
    table = cdask.rfm_summary(empty, observation_period_end="1998-06-30").compute()
    assert len(table) == 0
    assert list(table.columns) == ["frequency", "recency", "T"]


# --------------------------------------------------------------------------- score
@pytest.fixture(scope="module")
def cdnow_models(cdnow_summary):
    return {"bgnbd": BetaGeo(horizon=39).fit(cdnow_summary),
            "mbgnbd": ModifiedBetaGeo().fit(cdnow_summary),
            "gg": GammaGamma().fit(cdnow_summary)}


@pytest.mark.parametrize("name, method, kwargs", [
    ("bgnbd", "predict", {}),
    ("bgnbd", "probability_alive", {}),
    ("bgnbd", "probability_alive", {"t": 10.0}),
    ("bgnbd", "expected_purchases", {"t": 52.0}),
    ("bgnbd", "score_samples", {}),
    ("bgnbd", "transform", {}),
    ("mbgnbd", "transform", {}),
    ("gg", "predict", {}),
])
def test_score_cdnow_equals_in_memory(client, cdnow_summary, cdnow_models, name, method,
                                      kwargs):
    model = cdnow_models[name]
    ddf = dd.from_pandas(cdnow_summary, npartitions=5)
    got = cdask.score(model, ddf, method, **kwargs)
    expected = getattr(model, method)(cdnow_summary, **kwargs)
    result = got.compute()
    pd.testing.assert_index_equal(result.index, cdnow_summary.index)
    np.testing.assert_allclose(np.asarray(result), np.asarray(expected), rtol=1e-9,
                               atol=0)
    if np.ndim(expected) == 2:
        assert list(result.columns) == list(model.get_feature_names_out())
    else:
        assert result.name == method


def _other_estimators():
    from sklearn.pipeline import make_pipeline

    from custseg.cluster import CustomerSegmenter
    from custseg.models import ChurnEstimator, CLVEstimator
    from custseg.tiers import RFMSegmenter, ValueTiers

    return [
        ("clv", lambda: CLVEstimator(BetaGeo(), GammaGamma()), "predict"),
        ("churn", lambda: ChurnEstimator(BetaGeo()), "predict_proba"),
        ("value tiers", lambda: ValueTiers(), "predict"),
        ("value tiers", lambda: ValueTiers(), "transform"),
        ("rfm segments", lambda: RFMSegmenter(), "predict"),
        ("segmenter", lambda: CustomerSegmenter(n_segments=3, random_state=0), "predict"),
        ("pipeline", lambda: make_pipeline(BetaGeo().set_output(transform="pandas"),
                                           ValueTiers(column="p_alive")), "predict"),
    ]


@pytest.mark.parametrize("case", range(7))
def test_score_other_estimators_equal_in_memory(client, cdnow_summary, case):
    name, make, method = _other_estimators()[case]
    estimator = make().fit(cdnow_summary)
    ddf = dd.from_pandas(cdnow_summary, npartitions=4)
    got = cdask.score(estimator, ddf, method).compute()
    expected = getattr(estimator, method)(cdnow_summary)
    pd.testing.assert_index_equal(got.index, cdnow_summary.index)
    got_values, expected_values = np.asarray(got), np.asarray(expected)
    if expected_values.dtype.kind == "f":
        np.testing.assert_allclose(got_values, expected_values, rtol=1e-9, atol=0,
                                   err_msg=name)
    else:
        np.testing.assert_array_equal(got_values.astype(object),
                                      expected_values.astype(object), err_msg=name)
    if method == "predict_proba":
        assert list(got.columns) == list(estimator.classes_)


def test_score_pandas_output_and_set_output(client, cdnow_summary):
    model = BetaGeo().fit(cdnow_summary).set_output(transform="pandas")
    ddf = dd.from_pandas(cdnow_summary, npartitions=3)
    got = cdask.score(model, ddf, "transform").compute()
    expected = model.transform(cdnow_summary)
    assert isinstance(got, pd.DataFrame)
    pd.testing.assert_frame_equal(got, expected, check_exact=False, rtol=1e-9)


def test_score_big_table_equals_in_memory(client, big_weekly):
    table = big_weekly.compute()
    model = BetaGeo(random_state=0).fit(table.iloc[::50])
    got = cdask.score(model, big_weekly, "transform").compute()
    pd.testing.assert_index_equal(got.index, table.index)
    np.testing.assert_allclose(got.to_numpy(), model.transform(table), rtol=1e-9, atol=0)


def test_score_explicit_meta(client, cdnow_summary, cdnow_models):
    model = cdnow_models["bgnbd"]
    ddf = dd.from_pandas(cdnow_summary, npartitions=4)
    meta = pd.Series([], dtype="float64", name="p_alive")
    got = cdask.score(model, ddf, "probability_alive", meta=meta)
    assert got.name == "p_alive"
    np.testing.assert_allclose(got.compute(), model.probability_alive(cdnow_summary),
                               rtol=1e-9, atol=0)
    with pytest.raises(InvalidParameterError, match="meta must be an empty pandas"):
        cdask.score(model, ddf, "predict", meta="float64")


def test_score_meta_from_real_rows_when_fake_rows_are_invalid(client, cdnow_summary,
                                                              cdnow_models):
    # Dask's fake rows for a text column are 'foo': the model rejects them, so the
    # output type is learned on the first real rows instead.
    table = cdnow_summary.assign(note="x")
    ddf = dd.from_pandas(table, npartitions=3)

    class NeedsText(BetaGeo):
        def predict(self, X):
            if (X["note"] != "x").any():
                raise InvalidDataError("Column 'note': unexpected value")
            return super().predict(X)

    model = NeedsText().fit(cdnow_summary)
    got = cdask.score(model, ddf).compute()
    np.testing.assert_allclose(got, model.predict(table), rtol=1e-9, atol=0)


def test_score_errors(client, cdnow_summary, cdnow_models):
    ddf = dd.from_pandas(cdnow_summary, npartitions=2)
    with pytest.raises(NotFittedError, match="not fitted"):
        cdask.score(BetaGeo(), ddf)
    with pytest.raises(InvalidParameterError, match="has no method 'predict_proba'"):
        cdask.score(cdnow_models["bgnbd"], ddf, "predict_proba")
    with pytest.raises(InvalidParameterError, match="pandas DataFrame"):
        cdask.score(cdnow_models["bgnbd"], cdnow_summary)
    with pytest.raises(InvalidDataError, match="one output row per input row"):
        cdask.score(cdnow_models["bgnbd"], ddf, "score").compute()
    bad = cdnow_summary.assign(recency=cdnow_summary["T"] + 1)
    with pytest.raises(InvalidDataError, match="Column 'recency'.*greater than T"):
        cdask.score(cdnow_models["bgnbd"], dd.from_pandas(bad, npartitions=2),
                    meta=pd.Series([], dtype=float, name="predict")).compute()


# --------------------------------------------------------------------------- fits
def _assert_same_params(got, expected):
    np.testing.assert_allclose(got.params_.to_numpy(), expected.params_.to_numpy(),
                               rtol=1e-9, atol=0)
    assert got.converged_ == expected.converged_


@pytest.mark.parametrize("model", [BetaGeo(), ModifiedBetaGeo(), GammaGamma()],
                         ids=lambda m: type(m).__name__)
def test_fit_from_dask_cdnow_equals_in_memory(client, cdnow_summary, model):
    from sklearn.base import clone

    expected = clone(model).fit(cdnow_summary)
    shuffled = cdnow_summary.sample(frac=1.0, random_state=1)
    got = cdask.fit_from_dask(clone(model), dd.from_pandas(shuffled, npartitions=6))
    _assert_same_params(got, expected)


def test_fit_from_dask_big_table_equals_in_memory(client, big_weekly):
    table = big_weekly.compute().sort_index()
    expected = BetaGeo(random_state=0).fit(table)
    got = cdask.fit_from_dask(BetaGeo(random_state=0), big_weekly)
    _assert_same_params(got, expected)
    assert got.data_summary_ == expected.data_summary_
    assert got.data_summary_["n_customers"] == N_BIG


def test_fit_from_dask_matches_cdnow_estimates(client, cdnow_summary):
    # Fader, Hardie and Lee (2005): r 0.243, alpha 4.414, a 0.793, b 2.426 (weeks)
    model = cdask.fit_from_dask(BetaGeo(), dd.from_pandas(cdnow_summary, npartitions=3))
    np.testing.assert_allclose(model.params_.to_numpy(), [0.2426, 4.4135, 0.7929, 2.4258],
                               atol=6e-5)


def test_fit_from_dask_pipeline_of_dask_steps(client, cdnow_transactions, cdnow_ddf):
    table_ddf = cdask.rfm_summary(cdnow_ddf, monetary_value_col="amount", freq="W")
    table = rfm_summary(cdnow_transactions, monetary_value_col="amount", freq="W")
    assert table_ddf._meta.attrs == table.attrs == {"time_unit": "W"}
    model = cdask.fit_from_dask(BetaGeo(), table_ddf)
    expected = BetaGeo().fit(table)
    _assert_same_params(model, expected)
    assert model.time_unit_ == expected.time_unit_ == "W"
    got = cdask.score(model, table_ddf, "predict").compute().sort_index()
    np.testing.assert_allclose(got, model.predict(table), rtol=1e-9, atol=0)


def test_fit_from_dask_bgbb_weights_column_and_alias(client, donations):
    from custseg.models import BetaGeoBetaBinom

    expected = BetaGeoBetaBinom(weights_column="weights").fit(donations)
    ddf = dd.from_pandas(donations, npartitions=3)  # 'periods' is an alias of n_periods
    got = cdask.fit_from_dask(BetaGeoBetaBinom(weights_column="weights"), ddf)
    _assert_same_params(got, expected)
    # one row per donor: the same fit from the counts of distinct rows
    donors = donations.loc[donations.index.repeat(donations["weights"])].drop(
        columns="weights").reset_index(drop=True)
    plain = cdask.fit_from_dask(BetaGeoBetaBinom(), dd.from_pandas(donors, npartitions=5))
    np.testing.assert_allclose(plain.params_.to_numpy(), expected.params_.to_numpy(),
                               rtol=1e-6)


def test_distinct_rows_counts(client, cdnow_summary):
    table = cdnow_summary[["frequency", "T"]].copy()
    table.iloc[[2, 5], 0] = np.nan
    got = cdask.distinct_rows(dd.from_pandas(table, npartitions=4), ["frequency", "T"])
    expected = table.value_counts(dropna=False)
    assert got["count"].sum() == len(table)
    assert len(got) == len(expected)
    lookup = got.set_index(["frequency", "T"])["count"]
    for key, n in expected.items():
        assert lookup.loc[key].sum() == n
    first = table.drop_duplicates()  # order of first appearance in the sorted table
    np.testing.assert_array_equal(got[["frequency", "T"]].to_numpy(), first.to_numpy())


def test_fit_from_dask_errors(client, cdnow_summary):
    ddf = dd.from_pandas(cdnow_summary, npartitions=2)
    from sklearn.cluster import KMeans

    with pytest.raises(InvalidParameterError, match="got KMeans; pass columns"):
        cdask.fit_from_dask(KMeans(), ddf)
    with pytest.raises(InvalidParameterError, match="must have a fit method, got str"):
        cdask.fit_from_dask("BetaGeo", ddf)
    with pytest.raises(MissingColumnError, match="'recency'"):
        cdask.fit_from_dask(BetaGeo(), ddf[["frequency", "T"]])
    with pytest.raises(InvalidParameterError, match="pandas DataFrame"):
        cdask.fit_from_dask(BetaGeo(), cdnow_summary)
    bad = cdnow_summary.assign(recency=cdnow_summary["T"] + 1.0)
    with pytest.raises(InvalidDataError,
                       match=r"(?s)Column 'recency'.*greater than T.*distinct rows.*2357 "
                             r"customers"):
        cdask.fit_from_dask(BetaGeo(), dd.from_pandas(bad, npartitions=2))
    empty = ddf[ddf["T"] < 0]
    with pytest.raises(EmptyDataError, match="customer table has no rows"):
        cdask.fit_from_dask(BetaGeo(), empty)


def test_fit_from_dask_explicit_columns(client, cdnow_summary):
    from sklearn.cluster import KMeans

    km = cdask.fit_from_dask(KMeans(n_clusters=3, n_init=2, random_state=0),
                             dd.from_pandas(cdnow_summary, npartitions=3),
                             columns=["frequency", "recency"])
    assert km.cluster_centers_.shape == (3, 2)
    labels = cdask.score(km, dd.from_pandas(cdnow_summary[["frequency", "recency"]],
                                            npartitions=3)).compute()
    np.testing.assert_array_equal(labels, km.predict(cdnow_summary[["frequency",
                                                                    "recency"]]))


# --------------------------------------------------------------------------- dask-ml
def test_parallel_post_fit(client, cdnow_summary):
    wrappers = pytest.importorskip("dask_ml.wrappers", reason="dask-ml is optional")
    from custseg.tiers import ValueTiers

    ddf = dd.from_pandas(cdnow_summary, npartitions=3)
    wrapped = wrappers.ParallelPostFit(BetaGeo()).fit(cdnow_summary)
    model = BetaGeo().fit(cdnow_summary)
    np.testing.assert_allclose(np.asarray(wrapped.predict(ddf).compute()),
                               model.predict(cdnow_summary), rtol=1e-9, atol=0)
    np.testing.assert_allclose(np.asarray(wrapped.transform(ddf).compute()),
                               model.transform(cdnow_summary), rtol=1e-9, atol=0)
    tiers = wrappers.ParallelPostFit(ValueTiers()).fit(cdnow_summary)
    np.testing.assert_array_equal(
        np.asarray(tiers.predict(ddf).compute()).astype(object),
        ValueTiers().fit(cdnow_summary).predict(cdnow_summary).astype(object))
