"""scikit-learn contracts of the tierers: common checks, clone, pickle, to_dict, set_output,
composition in Pipeline / ColumnTransformer, and the docstring examples."""

import doctest
import importlib
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.compose import ColumnTransformer
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils.estimator_checks import parametrize_with_checks

from custseg.exceptions import CustsegError, InvalidDataError
from custseg.tiers import (
    STAGES,
    LifecycleStages,
    RFMScorer,
    RFMSegmenter,
    RuleTierer,
    SatisfactionTiers,
    ValueMatrix,
    ValueTiers,
)

# scikit-learn's common checks compare outputs with assert_allclose, which needs numbers,
# and feed random arrays: these instances use integer labels and column positions. The
# string-labelled defaults get the same invariance checks below, on a customer table.
CHECKED = [
    RuleTierer([(2, {0: (">", 1.0)}), (1, {0: (">", 0.5)})], default=0),
    ValueTiers(column=0, labels=(2, 1, 0)),
    ValueTiers(column=0, mode="pareto", pareto_shares=(0.5,), labels=(1, 0)),
    RFMScorer(recency_is="days_since_last", monetary_col=None),
    RFMSegmenter(recency_is="days_since_last", monetary_col=None,
                 map=[(2, "R >= 4"), (1, "R >= 2"), (0, "R >= 1")]),
    LifecycleStages(recency_is="days_since_last", T_col=None,
                    labels=dict(zip(STAGES, range(len(STAGES))))),
    ValueMatrix(x=0, y=1, names=[[3, 2], [1, 0]]),
    SatisfactionTiers(column=0, bands=[(2, 9), (1, 7), (0, 0)]),
]

_ONE_COLUMN = ("the check makes every column but the first negative (it subtracts the "
               "overall mean), and this instance reads the first column only")


def expected_failed_checks(estimator):
    if isinstance(estimator, (LifecycleStages, SatisfactionTiers)) or (
            isinstance(estimator, ValueTiers) and estimator.mode == "pareto"):
        return {"check_positive_only_tag_during_fit": _ONE_COLUMN}
    return {}


@parametrize_with_checks(CHECKED, expected_failed_checks=expected_failed_checks)
def test_sklearn_common_checks(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", [LifecycleStages(recency_is="days_since_last",
                                                       T_col=None),
                                       SatisfactionTiers(column=0),
                                       ValueTiers(column=0, mode="pareto")])
def test_negative_first_column_is_rejected(estimator):
    # the contract behind the one expected failure: negative input raises
    X = np.abs(np.random.default_rng(0).normal(size=(20, 3)))
    X[3, 0] = -1.0
    with pytest.raises(CustsegError, match="Negative values in data"):
        estimator.fit(X)


@pytest.fixture(scope="module")
def snapshot():
    from custseg.datasets import load_cdnow_summary

    table = load_cdnow_summary()
    rng = np.random.default_rng(7)
    n = len(table)
    return table.assign(
        clv=rng.gamma(0.7, 80.0, n),
        p_alive=rng.uniform(0, 1, n),
        nps=rng.integers(0, 11, n),
        region=pd.Categorical(rng.choice(["EU", "US", "APAC"], n)),
    )


DEFAULTS = {
    "rules": RuleTierer([("key", "monetary_value >= 40 and region == 'EU'"),
                         ("gold", {"clv": (">=", 100)})]),
    "value": ValueTiers(),
    "pareto": ValueTiers(column="clv", mode="pareto"),
    "thresholds": ValueTiers(column="clv", thresholds=[50, 150]),
    "rfm": RFMScorer(code="cell"),
    "segments": RFMSegmenter(),
    "lifecycle": LifecycleStages(),
    "lifecycle_p_alive": LifecycleStages(p_alive_thresholds=(0.7, 0.3)),
    "matrix": ValueMatrix(),
    "nps": SatisfactionTiers(),
}


@pytest.fixture(params=list(DEFAULTS), ids=list(DEFAULTS))
def estimator(request):
    return clone(DEFAULTS[request.param])


def test_fit_then_predict_is_deterministic_and_consistent(estimator, snapshot):
    first = clone(estimator).fit(snapshot).predict(snapshot)
    fitted = clone(estimator).fit(snapshot)
    np.testing.assert_array_equal(fitted.predict(snapshot), first)
    np.testing.assert_array_equal(clone(estimator).fit_predict(snapshot), first)
    fitted.fit(snapshot)  # refit: idempotent
    np.testing.assert_array_equal(fitted.predict(snapshot), first)
    assert np.isin(first, fitted.classes_).all()


def test_row_order_and_subset_invariance(estimator, snapshot):
    fitted = clone(estimator).fit(snapshot)
    labels = fitted.predict(snapshot)
    order = np.random.default_rng(0).permutation(len(snapshot))
    np.testing.assert_array_equal(fitted.predict(snapshot.iloc[order]), labels[order])
    refit = clone(estimator).fit(snapshot.iloc[order])
    np.testing.assert_array_equal(refit.predict(snapshot), labels)
    half = snapshot.iloc[::2]
    np.testing.assert_array_equal(fitted.predict(half), labels[::2])


def test_clone_pickle_and_dict_round_trip(estimator, snapshot):
    unfitted = clone(estimator)
    assert unfitted.get_params() == estimator.get_params()
    with pytest.raises(NotFittedError):
        unfitted.predict(snapshot)
    fitted = clone(estimator).fit(snapshot)
    labels = fitted.predict(snapshot)
    again = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(again.predict(snapshot), labels)
    payload = json.loads(json.dumps(fitted.to_dict()))
    rebuilt = type(fitted).from_dict(payload)
    np.testing.assert_array_equal(rebuilt.predict(snapshot), labels)
    assert rebuilt.get_params() == fitted.get_params()
    np.testing.assert_array_equal(rebuilt.classes_, fitted.classes_)
    np.testing.assert_array_equal(
        np.asarray(rebuilt.get_feature_names_out()), fitted.get_feature_names_out())


def test_set_output_pandas_and_feature_names(estimator, snapshot):
    fitted = clone(estimator).fit(snapshot)
    plain = fitted.transform(snapshot)
    names = fitted.get_feature_names_out()
    assert plain.shape == (len(snapshot), len(names))
    framed = clone(estimator).set_output(transform="pandas").fit(snapshot).transform(snapshot)
    assert list(framed.columns) == list(names)
    assert framed.index.equals(snapshot.index)
    np.testing.assert_array_equal(framed.astype(object).to_numpy(), plain.astype(object))
    if not isinstance(estimator, RFMScorer):
        cat = framed.iloc[:, 0]
        assert cat.cat.ordered and cat.cat.categories.tolist() == fitted.classes_.tolist()
    with pytest.raises(ValueError, match="input_features lacks the column"):
        fitted.get_feature_names_out(["nope"] * fitted.n_features_in_)


def test_column_transformer_and_pipeline(snapshot):
    rfm_cols = ["recency", "frequency", "monetary_value", "T"]
    ct = ColumnTransformer([
        ("value", ValueTiers(column="clv"), ["clv"]),
        ("rfm", RFMScorer(), rfm_cols),
        ("stage", LifecycleStages(), ["recency", "T"]),
    ]).set_output(transform="pandas")
    out = ct.fit_transform(snapshot)
    assert list(out.columns) == ["value__value_tier", "rfm__R", "rfm__F", "rfm__M",
                                 "stage__lifecycle"]
    np.testing.assert_array_equal(out["value__value_tier"].astype(object),
                                  ValueTiers(column="clv").fit_predict(snapshot))
    np.testing.assert_array_equal(out[["rfm__R", "rfm__F", "rfm__M"]].to_numpy(),
                                  RFMScorer().fit(snapshot).transform(snapshot))
    later = snapshot.assign(T=snapshot["T"] + 5.0)
    np.testing.assert_array_equal(ct.transform(later)["stage__lifecycle"].astype(object),
                                  LifecycleStages().fit(snapshot).predict(later))
    pipe = make_pipeline(
        ColumnTransformer([("tier", ValueTiers(column="clv"), ["clv"])]),
        OneHotEncoder(sparse_output=False))
    onehot = pipe.fit_transform(snapshot)
    assert onehot.shape == (len(snapshot), 3)
    np.testing.assert_array_equal(onehot.sum(axis=1), 1.0)


def test_output_names_are_distinct_across_tierers(snapshot):
    names = [n for est in DEFAULTS.values()
             for n in clone(est).fit(snapshot).get_feature_names_out()]
    assert sorted(set(names)) == sorted(["tier", "value_tier", "R", "F", "M", "RFM",
                                         "rfm_segment", "lifecycle", "value_matrix",
                                         "nps_tier"])
    # predict / transform take `previous`, an argument, not routed metadata
    assert not hasattr(LifecycleStages(), "set_predict_request")


def test_callables_pickle_only_by_reference(snapshot):
    tiers = RuleTierer([("big", lambda f: f["clv"] > 100)]).fit(snapshot)
    with pytest.raises(CustsegError, match="Cannot serialise the callable"):
        tiers.to_dict()


@pytest.mark.parametrize("module", ["_base", "_expr", "_value", "_rfm", "_lifecycle",
                                    "_matrix", "_satisfaction"])
def test_docstring_examples(module):
    mod = importlib.import_module(f"custseg.tiers.{module}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0


def test_a_later_snapshot_may_have_more_columns(cdnow_summary):
    """Tierers check only the columns they read, so a customer table that gained
    columns (scores, survey answers) is tiered with the cut points learned before."""
    from custseg.tiers import RFMSegmenter, ValueTiers

    before = cdnow_summary
    after = cdnow_summary.assign(nps=7, region="EU")
    for tierer in (ValueTiers(), RFMSegmenter()):
        tierer.fit(before)
        assert "nps" not in tierer.feature_names_in_
        np.testing.assert_array_equal(tierer.predict(after), tierer.predict(before))


@pytest.mark.parametrize("store", ["object", "str"])
def test_numbers_stored_as_text_or_objects(estimator, snapshot, store):
    """Numbers read from a CSV as text, or held as Python objects, tier as numbers; a
    categorical text column compared with text ('region' of the rule tierer) still works."""
    numbers = [c for c in snapshot.columns if c != "region"]
    stored = snapshot.assign(**{c: snapshot[c].astype(store) for c in numbers})
    fitted = clone(estimator).fit(snapshot)
    labels = fitted.predict(snapshot)
    np.testing.assert_array_equal(fitted.predict(stored), labels)
    np.testing.assert_array_equal(clone(estimator).fit(stored).predict(snapshot), labels)


@pytest.mark.parametrize("name", ["rules", "rfm", "lifecycle", "matrix"])
def test_text_that_is_not_a_number_is_named(name, snapshot):
    column = {"rules": "monetary_value", "rfm": "recency", "lifecycle": "T",
              "matrix": "frequency"}[name]
    stored = snapshot.assign(**{column: snapshot[column].astype(object)})
    stored.loc[stored.index[[2, 5]], column] = ["12,5", "twelve"]
    fitted = clone(DEFAULTS[name]).fit(snapshot)
    pattern = (rf"Column '{column}': 2 of {len(snapshot)} rows are not numbers\. "
               r"First 2 shown:(.|\n)*12,5(.|\n)*twelve")
    with pytest.raises(CustsegError, match=pattern):
        fitted.predict(stored)
    with pytest.raises(CustsegError, match=pattern):
        clone(DEFAULTS[name]).fit(stored)


def test_a_duplicated_column_that_is_read_is_named(snapshot):
    doubled = pd.concat([snapshot, snapshot[["monetary_value", "nps"]]], axis=1)
    with pytest.raises(InvalidDataError, match=r"duplicate columns: 'monetary_value' "
                                               r"\(2 times\)"):
        ValueTiers().fit(doubled)
    fitted = ValueTiers().fit(snapshot)
    with pytest.raises(InvalidDataError, match=r"'monetary_value' \(2 times\)"):
        fitted.predict(doubled)
    # a duplicated column the tierer does not read is left alone
    only_nps = pd.concat([snapshot, snapshot[["nps"]]], axis=1)
    np.testing.assert_array_equal(fitted.predict(only_nps), fitted.predict(snapshot))


@pytest.mark.parametrize("estimator", CHECKED[1:], ids=lambda e: type(e).__name__)
def test_wrong_shapes_raise_invalid_data_errors(estimator):
    X = np.abs(np.random.default_rng(0).normal(size=(40, 3)))
    fitted = clone(estimator).fit(X)
    with pytest.raises(InvalidDataError, match="X has 4 features, but .* is expecting 3"):
        fitted.predict(np.hstack([X, X[:, :1]]))
    with pytest.raises(InvalidDataError, match="Expected 2D array, got 1D array"):
        clone(estimator).fit(X[:, 0])
    from scipy import sparse

    with pytest.raises(InvalidDataError, match="Sparse data was passed"):
        clone(estimator).fit(sparse.csr_matrix(X))
