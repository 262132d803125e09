"""scikit-learn conformance of the models of custseg.models.

``parametrize_with_checks`` runs scikit-learn's common checks. Most of them fit on random
floats, which are not customer tables (frequency must be whole, recency <= T ...), and our
models reject them by design; those checks are listed in ``expected_failed_checks`` with
the reason, and the contract they test is tested below on valid tables
(``test_contract_*``), for every estimator of ``ESTIMATORS``.
"""

import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils.estimator_checks import parametrize_with_checks

import custseg.models
from custseg.exceptions import CustsegError
from custseg.models import BetaGeo, GammaGamma, ModifiedBetaGeo

#: Every estimator of custseg.models; models of other modules join when they exist.
ESTIMATORS = [BetaGeo(), ModifiedBetaGeo(), GammaGamma()]
for _name in ("ParetoNBD", "BetaGeoBetaBinom"):
    if hasattr(custseg.models, _name) and not any(
            type(e).__name__ == _name for e in ESTIMATORS):
        ESTIMATORS.append(getattr(custseg.models, _name)())

_RANDOM_TABLE = ("the check fits on random floats, which are not a customer table "
                 "(frequency must be whole numbers; recency <= T and recency 0 without "
                 "repeat purchase for transaction models; monetary_value > 0 for repeat "
                 "customers); the same contract is tested on valid tables in "
                 "test_contract_*")
_FEW_COLUMNS = ("the check's X has fewer columns than the model needs, which is rejected "
                "with a message naming the columns; tested in test_contract_*")
_ONE_SAMPLE = ("the single random row fails the customer-table validation (whole "
               "frequency) before any sample-count message; a one-customer table is "
               "accepted (test_contract_one_customer)")

_RANDOM_TABLE_CHECKS = [
    "check_dict_unchanged", "check_dont_overwrite_parameters", "check_dtype_object",
    "check_estimators_dtypes", "check_estimators_nan_inf", "check_estimators_pickle",
    "check_f_contiguous_array_estimator", "check_fit2d_predict1d", "check_fit_score_takes_y",
    "check_methods_sample_order_invariance", "check_methods_subset_invariance",
    "check_n_features_in_after_fitting", "check_pipeline_consistency",
    "check_sample_weight_equivalence_on_dense_data", "check_sample_weights_list",
    "check_sample_weights_pandas_series", "check_transformer_data_not_an_array",
    "check_transformer_general", "check_transformer_n_iter",
    "check_transformer_preserve_dtypes",
]
# the checks below use 2-column data: too few columns for the transaction models, random
# (not a valid table) for the two-column GammaGamma
_TWO_COLUMN_CHECKS = [
    "check_estimators_fit_returns_self", "check_estimators_overwrite_params",
    "check_fit_check_is_fitted", "check_fit_idempotent", "check_n_features_in",
    "check_readonly_memmap_input", "check_sample_weights_not_an_array",
    "check_sample_weights_not_overwritten", "check_sample_weights_shape",
]


def expected_failed_checks(estimator):
    """The scikit-learn checks our strict validation of customer tables makes fail."""
    two_columns = len(getattr(estimator, "_columns", ("frequency", "monetary_value"))) == 2
    failed = dict.fromkeys(_RANDOM_TABLE_CHECKS, _RANDOM_TABLE)
    for name in _TWO_COLUMN_CHECKS:
        failed[name] = _RANDOM_TABLE if two_columns else _FEW_COLUMNS
    if two_columns:  # GammaGamma validates the sample weights' shape before the table
        failed.pop("check_sample_weights_shape")
        failed.pop("check_sample_weights_not_overwritten")
    failed["check_fit2d_1sample"] = _ONE_SAMPLE
    return failed


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible_estimator(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning included
        check(estimator)


# ---- the contract on valid tables ---------------------------------------------------------

def valid_table(estimator, n=300, seed=0) -> pd.DataFrame:
    """A valid customer table for ``estimator``, simulated from a purchase process with
    drop-out so that every model has an interior optimum: each of 6-29 whole periods, a
    customer still alive buys with probability ``p ~ Beta(1, 3)`` and then drops out with
    probability ``theta ~ Beta(1, 5)``. Frequency is the number of periods with a purchase
    after the first, recency the period of the last one: valid for discrete-time models
    too."""
    rng = np.random.default_rng(seed)
    age = rng.integers(6, 30, n)
    periods = np.arange(1, 30)
    buy_p, drop_p = rng.beta(1.0, 3.0, n), rng.beta(1.0, 5.0, n)
    alive = np.cumprod(rng.uniform(size=(n, 29)) >= drop_p[:, None], axis=1)
    buys = (rng.uniform(size=(n, 29)) < buy_p[:, None]) & (alive == 1)
    buys &= periods[None, :] <= age[:, None]
    freq = buys.sum(axis=1).astype(float)
    rec = np.where(freq > 0, (buys * periods[None, :]).max(axis=1), 0).astype(float)
    age = age.astype(float)
    columns = getattr(estimator, "_columns", None)
    if columns is None:  # spend model
        money = np.where(freq > 0, rng.gamma(5.0, 6.0, n), 0.0)
        return pd.DataFrame({"frequency": freq, "monetary_value": money})
    return pd.DataFrame(dict(zip(columns, (freq, rec, age))))


def _quiet_fit(est, X, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        return est.fit(X, **kw)


def _outputs(est, X):
    out = {"predict": est.predict(X), "score_samples": est.score_samples(X),
           "transform": np.asarray(est.transform(X))}
    return out


def _ids(est):
    return type(est).__name__


@pytest.fixture(params=ESTIMATORS, ids=_ids)
def estimator(request):
    return clone(request.param)


def test_contract_fit_returns_self_and_is_idempotent(estimator):
    X = valid_table(estimator)
    assert _quiet_fit(estimator, X) is estimator
    first = estimator.params_.copy()
    _quiet_fit(estimator, X)
    np.testing.assert_allclose(estimator.params_, first, rtol=1e-12)
    assert estimator.n_features_in_ == X.shape[1]
    np.testing.assert_array_equal(estimator.feature_names_in_, X.columns)


def test_contract_init_params_untouched(estimator):
    before = estimator.get_params()
    _quiet_fit(estimator, valid_table(estimator))
    assert estimator.get_params() == before
    assert not any(k.endswith("_") for k in vars(clone(estimator)))


def test_contract_not_fitted(estimator):
    with pytest.raises(NotFittedError, match="not fitted"):
        estimator.predict(valid_table(estimator))


def test_contract_array_and_frame_agree(estimator):
    X = valid_table(estimator)
    a = _quiet_fit(clone(estimator), X)
    b = _quiet_fit(clone(estimator), X.to_numpy())
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-10)
    np.testing.assert_allclose(a.predict(X), b.predict(X.to_numpy()), rtol=1e-10)


def test_contract_extra_columns_are_ignored(estimator):
    X = valid_table(estimator)
    wide = X.assign(segment="a", other=1.0)[["other", *X.columns[::-1], "segment"]]
    a = _quiet_fit(clone(estimator), X)
    b = _quiet_fit(clone(estimator), wide)
    np.testing.assert_allclose(a.params_, b.params_, rtol=1e-10)
    np.testing.assert_allclose(a.predict(X), b.predict(wide), rtol=1e-12)


def test_contract_dtypes(estimator):
    X = valid_table(estimator)
    _quiet_fit(estimator, X)
    ref = estimator.predict(X)
    for variant in (X.astype(np.float32), X.astype(object), X.round().astype(np.int64)):
        pred = estimator.predict(variant if variant is not X else X)
        assert pred.dtype == np.float64
        assert np.all(np.isfinite(pred))
    np.testing.assert_allclose(estimator.predict(X.astype(object)), ref, rtol=1e-12)


def test_contract_readonly_and_fortran_input(estimator):
    X = valid_table(estimator)
    arr = np.asfortranarray(X.to_numpy())
    arr.setflags(write=False)
    _quiet_fit(estimator, arr)
    np.testing.assert_allclose(estimator.predict(arr), estimator.predict(X.to_numpy()))


def test_contract_subset_and_order_invariance(estimator):
    X = valid_table(estimator)
    _quiet_fit(estimator, X)
    full = _outputs(estimator, X)
    idx = np.random.default_rng(1).permutation(len(X))[:57]
    part = _outputs(estimator, X.iloc[idx])
    for name in full:
        np.testing.assert_allclose(part[name], full[name][idx], rtol=1e-12, atol=0)


def test_contract_wrong_shapes_and_values(estimator):
    X = valid_table(estimator)
    _quiet_fit(estimator, X)
    arr = X.to_numpy()
    with pytest.raises(ValueError, match="features|feature"):
        estimator.predict(np.hstack([arr, arr]))
    with pytest.raises(CustsegError, match="shape"):
        estimator.predict(arr[:, 0])
    bad = X.copy()
    bad.iloc[3, 0] = np.nan
    with pytest.raises(CustsegError, match=r"'frequency': 1 of 300 rows are NaN"):
        estimator.predict(bad)
    bad.iloc[3, 0] = np.inf
    with pytest.raises(CustsegError, match=r"'frequency': 1 of 300 rows are NaN or infinite"):
        estimator.fit(bad)
    neg = X.copy()
    neg.iloc[[1, 2], 1] = -1.0
    with pytest.raises(CustsegError, match=r"2 of 300 rows are negative"):
        estimator.fit(neg)
    with pytest.raises(CustsegError, match="Complex data not supported"):
        estimator.fit(arr.astype(complex))


def test_contract_sample_weight(estimator):
    X = valid_table(estimator, n=200)
    base = _quiet_fit(clone(estimator), X)
    ones = _quiet_fit(clone(estimator), X, sample_weight=np.ones(len(X)))
    np.testing.assert_allclose(ones.params_, base.params_, rtol=1e-10)
    listed = _quiet_fit(clone(estimator), X, sample_weight=[1.0] * len(X))
    np.testing.assert_allclose(listed.params_, base.params_, rtol=1e-10)
    series = _quiet_fit(clone(estimator), X, sample_weight=pd.Series(np.ones(len(X))))
    np.testing.assert_allclose(series.params_, base.params_, rtol=1e-10)

    w = np.random.default_rng(3).integers(0, 4, len(X))
    weighted = _quiet_fit(clone(estimator), X, sample_weight=w)
    repeated = _quiet_fit(clone(estimator), X.loc[X.index.repeat(w)].reset_index(drop=True))
    np.testing.assert_allclose(weighted.params_, repeated.params_, rtol=1e-6)
    np.testing.assert_allclose(weighted.loglik_, repeated.loglik_, rtol=1e-9)
    w_copy = w.copy()
    assert np.array_equal(w, w_copy)  # not overwritten

    with pytest.raises(ValueError, match="at least one non-zero"):
        estimator.fit(X, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="Negative values in data passed to .sample_weight."):
        estimator.fit(X, sample_weight=-np.ones(len(X)))
    with pytest.raises(ValueError, match=r"sample_weight.shape == \(10,\)"):
        estimator.fit(X, sample_weight=np.ones(10))


def test_contract_one_customer(estimator):
    X = valid_table(estimator, n=50)
    one = X[X["frequency"] > 0].head(1)
    _quiet_fit(estimator, one)
    assert np.all(np.isfinite(estimator.params_))
    assert np.all(np.isfinite(estimator.predict(one)))


def test_contract_clone_pickle_and_dict_round_trip(estimator):
    X = valid_table(estimator)
    _quiet_fit(estimator, X)
    expected = _outputs(estimator, X)
    restored = [pickle.loads(pickle.dumps(estimator)),
                type(estimator).from_dict(json.loads(json.dumps(estimator.to_dict()))),
                custseg.models.BaseTransactionModel.from_dict.__func__(
                    type(estimator), estimator.to_dict())]
    for est in restored:
        assert type(est) is type(estimator)
        got = _outputs(est, X)
        for name in expected:
            np.testing.assert_array_equal(got[name], expected[name])
        pd.testing.assert_series_equal(est.params_, estimator.params_)
    unfitted = clone(estimator)
    assert unfitted.get_params() == estimator.get_params()
    assert not hasattr(unfitted, "params_")


def test_contract_transform_and_set_output(estimator):
    X = valid_table(estimator)
    X.index = pd.Index(np.arange(len(X)) * 7, name="customer_id")
    Xt = clone(estimator).fit_transform(X)
    _quiet_fit(estimator, X)
    np.testing.assert_allclose(Xt, estimator.transform(X), rtol=1e-12)
    names = estimator.get_feature_names_out()
    assert Xt.shape == (len(X), len(names))
    estimator.set_output(transform="pandas")
    frame = estimator.transform(X)
    assert list(frame.columns) == list(names)
    pd.testing.assert_index_equal(frame.index, X.index)
    pipe = make_pipeline(clone(estimator)).fit(X)
    np.testing.assert_allclose(pipe.transform(X).to_numpy(), Xt, rtol=1e-12)


def test_contract_score_is_mean_score_samples(estimator):
    X = valid_table(estimator)
    _quiet_fit(estimator, X)
    ll = estimator.score_samples(X)
    assert np.isclose(estimator.score(X), ll.mean())
    w = np.arange(len(X)) % 3
    assert np.isclose(estimator.score(X, sample_weight=w), np.average(ll, weights=w))
    if hasattr(estimator, "loglik_"):
        assert np.isclose(ll.sum(), estimator.loglik_, rtol=1e-9)
