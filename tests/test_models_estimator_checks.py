"""scikit-learn conformance of the models of custseg.models.

scikit-learn's common checks run in two ways.

1. ``parametrize_with_checks`` on the models themselves. Most checks fit on random
   floats, which are not customer tables (frequency must be whole, recency <= T ...),
   and our models reject them by design; those checks are listed in
   ``expected_failed_checks`` with the reason.
2. Every listed check again, with no expected failure, on a :class:`RandomFloatsAsTable`
   adapter around the same model (``test_expected_failures_pass_on_valid_tables``). The
   adapter is test-only: it maps any float array to a valid customer table,
   deterministically and row by row (:func:`random_floats_as_table`: ``frequency =
   floor(3 x0)``, ``T = x1 + x2 + 1``, ``recency = x1`` for repeat customers and 0
   otherwise, ``monetary_value = x3 + 1`` ...; further columns are passed on, which the
   models ignore; narrower arrays are padded by repeating their columns), and delegates
   ``fit``, ``predict``, ``transform``, ``score`` ... to a clone of the model. NaN, inf,
   negative, non-numeric, complex, sparse and 1-d inputs reach the model as such
   (negative floats give negative columns), so every error a check expects is the
   model's own; the only bookkeeping the adapter does itself is the number of features
   where its padding hides it from the model (arrays narrower than the model's
   columns). Each listed check thus runs on a valid table and passes: the contract
   holds, only the random data was invalid. The adapter passes every check
   (``test_adapter_passes_every_check``) and its mapping is tested in ``test_adapter_*``.

The contracts are also tested directly on simulated tables (``test_contract_*``), for
every estimator of ``ESTIMATORS``. ``tests/test_models_clv.py`` and
``tests/test_models_churn.py`` apply the same scheme to the meta-estimators.
"""

import copy
import json
import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy import sparse
from sklearn.base import BaseEstimator, ClassifierMixin, TransformerMixin, clone, is_classifier
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline
from sklearn.utils import get_tags
from sklearn.utils.estimator_checks import (
    _NotAnArray,
    estimator_checks_generator,
    parametrize_with_checks,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted

import custseg.models
from custseg._validation import check_customer_table
from custseg.exceptions import CustsegError
from custseg.models import (
    BetaGeo,
    ChurnEstimator,
    CLVEstimator,
    GammaGamma,
    HoldoutChurnClassifier,
    ModifiedBetaGeo,
)

#: Every estimator of custseg.models; models of other modules join when they exist.
ESTIMATORS = [BetaGeo(), ModifiedBetaGeo(), GammaGamma()]
for _name in ("ParetoNBD", "BetaGeoBetaBinom"):
    if hasattr(custseg.models, _name) and not any(
            type(e).__name__ == _name for e in ESTIMATORS):
        ESTIMATORS.append(getattr(custseg.models, _name)())

_RANDOM_TABLE = ("the check fits on random floats, which are not a customer table "
                 "(frequency must be whole numbers; recency <= T and recency 0 without "
                 "repeat purchase for transaction models; monetary_value > 0 for repeat "
                 "customers); the same check passes on a valid table through "
                 "RandomFloatsAsTable (test_sklearn_checks_on_valid_tables) and the "
                 "contract is tested on simulated tables in test_contract_*")
_FEW_COLUMNS = ("the check's X has fewer columns than the model needs, which is rejected "
                "with a message naming the columns; the check passes on padded valid "
                "tables through RandomFloatsAsTable (test_sklearn_checks_on_valid_tables)")
_ONE_SAMPLE = ("the single random row fails the customer-table validation (whole "
               "frequency) before any sample-count message; a one-customer table is "
               "accepted (test_contract_one_customer, and this check through "
               "RandomFloatsAsTable)")

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


# ---- the same checks on valid tables: a test-only adapter ----------------------------------

def table_columns(model) -> tuple:
    """Columns of the customer table ``model`` reads, in the order of an array."""
    if isinstance(model, CLVEstimator):
        return ("frequency", "recency", "T", "monetary_value")
    if isinstance(model, ChurnEstimator | HoldoutChurnClassifier):
        return table_columns(model.model if model.model is not None else BetaGeo())
    if isinstance(model, GammaGamma):
        return ("frequency", "monetary_value")
    return tuple(model._columns)


def random_floats_as_table(values: np.ndarray, columns) -> dict:
    """Columns ``columns`` of a valid customer table computed row by row from the first
    ``len(columns)`` columns ``x0, x1, ...`` of ``values`` (non-negative finite floats;
    a negative value gives a negative column, NaN or inf in any of them a NaN
    frequency, so that the model rejects the row as it would reject the data):

    * ``frequency = floor(3 x0)``;
    * continuous time: ``T = x1 + x2 + 1``, ``recency = x1`` for repeat customers
      (``< T``), else 0;
    * discrete opportunities (BG/BB): ``recency = frequency + floor(3 x1)`` for repeat
      customers, else 0, and ``n_periods = recency + floor(3 x2) + 1``;
    * ``monetary_value = x_j + 1`` with ``j`` its position (positive).
    """
    k = len(columns)
    frequency = np.floor(3.0 * values[:, 0]) + 0.0 * values[:, :k].sum(axis=1)
    out = {"frequency": frequency}
    if "n_periods" in columns:
        recency = np.where(frequency > 0, frequency + np.floor(3.0 * values[:, 1]), 0.0)
        out.update(recency=recency, n_periods=recency + np.floor(3.0 * values[:, 2]) + 1.0)
    elif "T" in columns:
        out.update(recency=np.where(frequency > 0, values[:, 1], 0.0),
                   T=values[:, 1] + values[:, 2] + 1.0)
    if "monetary_value" in columns:
        out["monetary_value"] = values[:, columns.index("monetary_value")] + 1.0
    return out


def _shape(X):
    if hasattr(X, "shape") and not isinstance(X, _NotAnArray):
        return X.shape
    return np.asarray(X).shape


def _model_has(name):
    return lambda self: hasattr(self.model, name)


class RandomFloatsAsTable(BaseEstimator):
    """Test-only adapter: maps any float array to a valid customer table row by row
    (:func:`random_floats_as_table`) and delegates to a clone of ``model``, so that
    scikit-learn's checks, which fit on random floats, test the model's contract on
    valid tables. Its tags are the model's.

    Parameters
    ----------
    model : estimator
        A custseg model.

    Attributes
    ----------
    model_ : estimator
        The fitted clone of ``model``.
    n_features_in_ : int
        Columns of the ``X`` given to ``fit``. The model checks the number of features
        of every later ``X`` (the columns it does not read are passed on); the adapter
        checks it only where padding would hide it from the model.
    """

    def __init__(self, model=None):
        self.model = model

    def __sklearn_tags__(self):
        return copy.deepcopy(get_tags(self.model))

    def table(self, X):
        """The customer table of ``X`` (``X`` itself where it is not a 2-d numeric
        array, so that the model rejects it), of ``X``'s type and dtype."""
        if sparse.issparse(X) or hasattr(X, "toarray"):
            return X
        if isinstance(X, _NotAnArray):
            return _NotAnArray(self.table(np.asarray(X)))
        arr = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        if arr.ndim != 2 or arr.dtype.kind == "c" or 0 in arr.shape:
            return X
        values = arr.astype(np.float64)  # non-numbers: numpy's TypeError, as check_array
        columns = table_columns(self.model)
        k = len(columns)
        mapped = random_floats_as_table(values[:, np.arange(k) % values.shape[1]], columns)
        table = np.column_stack([mapped[c] for c in columns] + [values[:, k:]])
        if arr.dtype != np.float64:
            table = table.astype(arr.dtype)
        if isinstance(X, pd.DataFrame):
            return pd.DataFrame(table, columns=[*columns, *X.columns[k:]], index=X.index)
        return table

    def fit(self, X, y=None, sample_weight=None):
        model = clone(self.model)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        model.fit(self.table(X), y, **kwargs)
        self.model_ = model
        shape = _shape(X)
        self.n_features_in_ = shape[1] if len(shape) == 2 else model.n_features_in_
        return self

    def _fitted_table(self, X):
        check_is_fitted(self, "model_")
        shape = _shape(X)
        k = len(table_columns(self.model))
        if (len(shape) == 2 and shape[1] != self.n_features_in_
                and min(shape[1], self.n_features_in_) < k):
            raise ValueError(f"X has {shape[1]} features, but {type(self).__name__} is "
                             f"expecting {self.n_features_in_} features as input.")
        return self.table(X)

    @available_if(_model_has("predict"))
    def predict(self, X):
        table = self._fitted_table(X)
        return self.model_.predict(table)

    @available_if(_model_has("score_samples"))
    def score_samples(self, X):
        table = self._fitted_table(X)
        return self.model_.score_samples(table)

    def score(self, X, y=None, sample_weight=None):
        table = self._fitted_table(X)
        return self.model_.score(table, y, sample_weight=sample_weight)


class TransformerAsTable(TransformerMixin, RandomFloatsAsTable):
    """:class:`RandomFloatsAsTable` of a transformer."""

    def transform(self, X):
        table = self._fitted_table(X)
        return self.model_.transform(table)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "model_")
        return self.model_.get_feature_names_out()


class ClassifierAsTable(ClassifierMixin, RandomFloatsAsTable):
    """:class:`RandomFloatsAsTable` of a classifier."""

    @property
    def classes_(self):
        return self.model_.classes_

    def predict_proba(self, X):
        table = self._fitted_table(X)
        return self.model_.predict_proba(table)


class FixedLabelsAsTable(ClassifierAsTable):
    """:class:`ClassifierAsTable` of a classifier whose labels are not learnt from ``y``
    (``ChurnEstimator``: always "active" / "churned"): the labels are returned as their
    index in the model's ``classes_``, numbers, which the checks compare with
    ``assert_allclose``; a one-to-one recoding that keeps the contract under test."""

    @property
    def classes_(self):
        return np.arange(len(self.model_.classes_))

    def predict(self, X):
        table = self._fitted_table(X)
        return np.searchsorted(self.model_.classes_, self.model_.predict(table))


def as_table(model) -> RandomFloatsAsTable:
    """The adapter of ``model``."""
    if isinstance(model, ChurnEstimator):
        return FixedLabelsAsTable(model)
    return ClassifierAsTable(model) if is_classifier(model) else TransformerAsTable(model)


def cheap(estimator):
    """A clone of ``estimator`` whose custseg models make one optimiser run of at most 5
    iterations: the checks' small random tables rarely identify the parameters (the
    optimum runs to the edge of the search space), and the contracts under test do not
    depend on convergence."""
    est = clone(estimator)
    params = est.get_params(deep=True)
    updates = {}
    for key in params:
        owner, _, name = key.rpartition("__")
        owner = params[owner] if owner else est
        if name in ("n_init", "max_iter") and type(owner).__module__.startswith("custseg"):
            updates[key] = 1 if name == "n_init" else 5
    return est.set_params(**updates)


def listed_checks_on_valid_tables(estimators, expected_failed_checks):
    """``pytest.param(adapter, check)`` for every check that ``expected_failed_checks``
    lists for one of ``estimators``, the check bound to the estimator's adapter. The
    other checks pass on the estimators themselves. Raises if a listed check is not one
    scikit-learn runs on the adapter (a stale list)."""
    params = []
    for estimator in estimators:
        listed = set(expected_failed_checks(estimator))
        found = set()
        for adapter, check in estimator_checks_generator(as_table(estimator), mark=None):
            name = getattr(check, "func", check).__name__
            if name in listed:
                found.add(name)
                suffix = f"({check.keywords})" if getattr(check, "keywords", None) else ""
                params.append(pytest.param(adapter, check,
                                           id=f"{type(estimator).__name__}-{name}{suffix}"))
        if listed - found:
            raise AssertionError(f"{type(estimator).__name__}: listed checks that scikit-learn "
                                 f"does not run on the adapter: {sorted(listed - found)}")
    return params


@pytest.mark.parametrize("adapter, check", listed_checks_on_valid_tables(
    [cheap(e) for e in ESTIMATORS], expected_failed_checks))
def test_expected_failures_pass_on_valid_tables(adapter, check):
    """Every check the models fail on random floats passes on the valid tables the
    adapter makes of the same floats: no expected failure is left."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)  # ConvergenceWarning included
        check(adapter)


@parametrize_with_checks([as_table(cheap(BetaGeo()))])
def test_adapter_passes_every_check(estimator, check):
    """The adapter itself passes every scikit-learn check without an expected failure
    (around one model: the other checks pass on the models themselves)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=UserWarning)
        check(estimator)


@given(hnp.arrays(np.float64, st.tuples(st.integers(1, 30), st.integers(1, 6)),
                  elements=st.floats(0, 1e6)))
def test_adapter_makes_valid_tables_row_by_row(values):
    """Any non-negative finite floats give a table the models accept, and each row of
    the table depends on its own row of floats only."""
    for estimator in [*ESTIMATORS, CLVEstimator()]:
        adapter = as_table(estimator)
        columns = table_columns(estimator)
        table = pd.DataFrame(adapter.table(values)[:, :len(columns)], columns=columns)
        if "n_periods" in columns:  # discrete opportunities
            assert np.all(table["frequency"] <= table["recency"])
            assert np.all(table["recency"] <= table["n_periods"])
            check_customer_table(table, columns=columns, recency_le_T=False)
        else:
            check_customer_table(table, columns=columns)
        if "monetary_value" in columns:
            assert np.all(table["monetary_value"] > 0)
        rows = np.arange(len(values))[::-2]
        np.testing.assert_array_equal(adapter.table(values[rows]),
                                      adapter.table(values)[rows])


def test_adapter_leaves_feature_counts_and_errors_to_the_model():
    """With at least as many columns as the model reads, the adapter's number of
    features is the model's and a different count is the model's error; bad values
    reach the model, whose errors are raised."""
    X = np.random.default_rng(0).uniform(0, 2, size=(40, 5))
    for estimator in ESTIMATORS:
        adapter = _quiet_fit(as_table(cheap(estimator)), X)
        assert adapter.n_features_in_ == adapter.model_.n_features_in_ == 5
        name = type(estimator).__name__
        with pytest.raises(CustsegError, match=rf"X has 4 features, but {name} is expecting 5"):
            adapter.predict(X[:, :4])
        bad = X.copy()
        bad[3, 0] = -1.0
        with pytest.raises(CustsegError, match=r"'frequency': 1 of 40 rows are negative"):
            adapter.predict(bad)
        bad[3, 0] = np.nan
        with pytest.raises(CustsegError, match=r"'frequency': 1 of 40 rows are NaN"):
            adapter.predict(bad)


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
