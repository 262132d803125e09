"""Bad-input catalogue of the estimators of custseg.models, custseg.tiers and
custseg.cluster.

One test per case of bad or unusual customer table, run on every estimator. Each case
either gives a correct result (asserted) or raises a
:class:`~custseg.exceptions.CustsegError` whose message names the column, the number of
offending rows and shows them (a :class:`~sklearn.exceptions.NotFittedError` for an
unfitted estimator); never a raw pandas/numpy/scikit-learn error and never a NaN.
"""

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression

from custseg.cluster import CustomerSegmenter
from custseg.datasets import load_cdnow_summary
from custseg.exceptions import (
    CustsegError,
    EmptyDataError,
    InvalidDataError,
    MissingColumnError,
)
from custseg.models import (
    BetaGeo,
    BetaGeoBetaBinom,
    ChurnEstimator,
    CLVEstimator,
    GammaGamma,
    HoldoutChurnClassifier,
    ModifiedBetaGeo,
    ParetoNBD,
)
from custseg.tiers import (
    LifecycleStages,
    RFMScorer,
    RFMSegmenter,
    RuleTierer,
    SatisfactionTiers,
    ValueMatrix,
    ValueTiers,
)

N = 300  # customers in the test tables


def continuous_table() -> pd.DataFrame:
    """300 CDNOW customers (weekly), float columns, with the columns the tierers read."""
    table = load_cdnow_summary().head(N).astype(float)
    rng = np.random.default_rng(3)
    table["p_alive"] = rng.uniform(0, 1, N).round(3)
    table["clv"] = (table["monetary_value"] * (1 + table["frequency"])).round(2)
    table["total_spend"] = table["clv"]
    table["nps"] = rng.integers(0, 11, N).astype(float)
    # the holdout columns HoldoutChurnClassifier learns its label from
    table["frequency_holdout"] = rng.poisson(0.6, N).astype(float)
    table["duration_holdout"] = 20.0
    return table


def discrete_table() -> pd.DataFrame:
    """300 customers of the BG/BB: whole opportunities, frequency <= recency <= n."""
    rng = np.random.default_rng(4)
    n = rng.integers(4, 12, N).astype(float)
    x = rng.binomial(n.astype(int), 0.3).astype(float)
    t_x = np.where(x > 0, np.minimum(n, x + rng.integers(0, 4, N)), 0.0)
    return pd.DataFrame({"frequency": x, "recency": t_x, "n_periods": n})


@dataclass
class Spec:
    """How an estimator reads a customer table, and what it must do with bad values."""

    make: object
    reads: list  # columns read, in the array order
    column: str  # the column corrupted by the value cases
    table: str = "continuous"
    negative_ok: bool = False  # negative values in `column` are valid input
    checks_recency: bool = True  # recency > T is rejected
    whole_frequency: bool = True  # a fractional frequency is rejected
    methods: tuple = ("predict",)
    extra: dict = field(default_factory=dict)


def _holdout_classifier():
    return HoldoutChurnClassifier(LogisticRegression(max_iter=2000), horizon=20.0)


MODEL_COLUMNS = ["frequency", "recency", "T"]
SPECS = {
    "BetaGeo": Spec(BetaGeo, MODEL_COLUMNS, "recency",
                    methods=("predict", "probability_alive", "score_samples", "transform")),
    "ModifiedBetaGeo": Spec(ModifiedBetaGeo, MODEL_COLUMNS, "T",
                            methods=("predict", "probability_alive", "transform")),
    "ParetoNBD": Spec(lambda: ParetoNBD(random_state=0), MODEL_COLUMNS, "frequency",
                      methods=("predict", "probability_alive", "score_samples")),
    "BetaGeoBetaBinom": Spec(BetaGeoBetaBinom, ["frequency", "recency", "n_periods"],
                             "n_periods", table="discrete",
                             methods=("predict", "probability_alive", "score_samples")),
    "GammaGamma": Spec(GammaGamma, ["frequency", "monetary_value"], "monetary_value",
                       checks_recency=False, methods=("predict", "score_samples")),
    "CLVEstimator": Spec(lambda: CLVEstimator(horizon=6), [*MODEL_COLUMNS, "monetary_value"],
                         "monetary_value", methods=("predict", "predict_components")),
    "ChurnEstimator": Spec(ChurnEstimator, MODEL_COLUMNS, "recency",
                           methods=("predict", "predict_proba")),
    "HoldoutChurnClassifier": Spec(_holdout_classifier, MODEL_COLUMNS, "T",
                                   methods=("predict", "predict_proba")),
    "ValueTiers": Spec(lambda: ValueTiers(column="clv"), ["clv"], "clv", negative_ok=True,
                       checks_recency=False, whole_frequency=False,
                       methods=("predict", "transform")),
    "RFMScorer": Spec(RFMScorer, ["recency", "frequency", "monetary_value", "T"], "recency",
                      whole_frequency=False, methods=("predict", "transform")),
    "RFMSegmenter": Spec(RFMSegmenter, ["recency", "frequency", "monetary_value", "T"],
                         "frequency", whole_frequency=False),
    "LifecycleStages": Spec(LifecycleStages, ["recency", "T"], "recency",
                            whole_frequency=False),
    "ValueMatrix": Spec(lambda: ValueMatrix(y="clv"), ["frequency", "clv"], "clv",
                        negative_ok=True, checks_recency=False, whole_frequency=False),
    "SatisfactionTiers": Spec(SatisfactionTiers, ["nps"], "nps", checks_recency=False,
                              whole_frequency=False),
    "RuleTierer": Spec(lambda: RuleTierer([("vip", "clv >= 100"), ("repeat",
                                                                   "frequency >= 1")]),
                       ["clv", "frequency"], "clv", negative_ok=True, checks_recency=False,
                       whole_frequency=False),
    "CustomerSegmenter": Spec(lambda: CustomerSegmenter(n_segments=3, random_state=0),
                              [*MODEL_COLUMNS, "monetary_value"], "monetary_value",
                              checks_recency=False, whole_frequency=False,
                              methods=("predict", "transform")),
}
NAMES = list(SPECS)
MODELS = ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD", "BetaGeoBetaBinom", "GammaGamma",
          "CLVEstimator", "ChurnEstimator", "HoldoutChurnClassifier"]
TABLES = {"continuous": continuous_table(), "discrete": discrete_table()}


def table_for(name) -> pd.DataFrame:
    return TABLES[SPECS[name].table].copy()


def make(name):
    return SPECS[name].make()


def fit(est, X):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence on small tables is not the subject
        return est.fit(X)


_FITTED = {}


def fitted(name):
    """The estimator fitted on its valid table (fitted once, copied for each test)."""
    if name not in _FITTED:
        _FITTED[name] = fit(make(name), table_for(name))
    return type(_FITTED[name]).from_dict(_FITTED[name].to_dict())


def assert_valid_outputs(est, X, name):
    """Every prediction method gives one finite value or one known label per row."""
    for method in SPECS[name].methods:
        out = np.asarray(getattr(est, method)(X))
        assert out.shape[0] == len(X), method
        if out.dtype.kind == "f":
            assert np.all(np.isfinite(out)), method
        if method == "predict" and hasattr(est, "classes_") and out.dtype.kind not in "f":
            assert np.isin(out, np.asarray(est.classes_)).all()


def corrupt(X, column, value, row=3):
    X = X.copy()
    X[column] = X[column].astype(object) if isinstance(value, str) else X[column]
    X.loc[X.index[row], column] = value
    return X


def raises_on_fit_and_predict(name, X, error, pattern):
    with pytest.raises(error, match=pattern):
        fit(make(name), X)
    with pytest.raises(error, match=pattern):
        fitted(name).predict(X)


# ---- empty, missing and renamed columns -----------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_empty_table(name):
    X = table_for(name).iloc[:0]
    raises_on_fit_and_predict(name, X, EmptyDataError, r"no rows")


@pytest.mark.parametrize("name", NAMES)
def test_missing_column(name):
    column = SPECS[name].column
    raises_on_fit_and_predict(name, table_for(name).drop(columns=column), MissingColumnError,
                              rf"missing column\(s\) '{column}'")


@pytest.mark.parametrize("name", NAMES)
def test_renamed_column_suggests_the_close_name(name):
    column = SPECS[name].column
    X = table_for(name).rename(columns={column: column + "_"})
    raises_on_fit_and_predict(name, X, MissingColumnError,
                              rf"'{column}' \(did you mean '{column}_'[,?]")


# ---- values ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_nan_value(name):
    column = SPECS[name].column
    X = corrupt(table_for(name), column, np.nan)
    raises_on_fit_and_predict(name, X, InvalidDataError,
                              rf"Column '{column}': 1 of {N} rows are (NaN|missing)"
                              rf"(.|\n)*First 1 shown:\n")


@pytest.mark.parametrize("name", NAMES)
def test_missing_value_of_a_nullable_column(name):
    column = SPECS[name].column
    X = table_for(name)
    X[column] = X[column].round().astype("Int64")
    X.loc[X.index[5], column] = pd.NA
    raises_on_fit_and_predict(name, X, InvalidDataError,
                              rf"Column '{column}': 1 of {N} rows are (NaN|missing)")


@pytest.mark.parametrize("value", [np.inf, -np.inf])
@pytest.mark.parametrize("name", NAMES)
def test_infinite_value(name, value):
    column = SPECS[name].column
    X = corrupt(table_for(name), column, value)
    # -inf may be reported as negative, which is checked first
    raises_on_fit_and_predict(name, X, InvalidDataError,
                              rf"Column '{column}': 1 of {N} rows are (NaN or infinite|"
                              rf"infinite|negative)")


@pytest.mark.parametrize("name", NAMES)
def test_text_in_a_numeric_column(name):
    column = SPECS[name].column
    X = corrupt(table_for(name), column, "twelve")
    raises_on_fit_and_predict(name, X, InvalidDataError,
                              rf"Column '{column}': 1 of {N} rows are not numbers\. "
                              rf"First 1 shown:\n(.|\n)*twelve")


@pytest.mark.parametrize("name", NAMES)
def test_numbers_stored_as_python_objects(name):
    X = table_for(name)
    as_objects = X.astype(object)
    expected = fitted(name).predict(X)
    np.testing.assert_array_equal(fitted(name).predict(as_objects), expected)
    np.testing.assert_array_equal(fit(make(name), as_objects).predict(X), expected)


@pytest.mark.parametrize("name", NAMES)
def test_numbers_stored_as_text(name):
    X = table_for(name)
    as_text = X.astype(str)
    expected = fitted(name).predict(X)
    np.testing.assert_array_equal(fitted(name).predict(as_text), expected)


@pytest.mark.parametrize("name", NAMES)
def test_negative_value(name):
    column = SPECS[name].column
    X = corrupt(table_for(name), column, -2.0)
    if SPECS[name].negative_ok:  # a value column: the lowest tier
        est = fit(make(name), X)
        labels = est.predict(X)
        lowest = est.predict(X.assign(**{column: X[column].min()}))[3]
        assert labels[3] == lowest
        assert_valid_outputs(est, X, name)
    else:
        raises_on_fit_and_predict(name, X, InvalidDataError,
                                  rf"Column '{column}': 1 of {N} rows are (negative|outside "
                                  rf"the scale)(.|\n)*First 1 shown:\n(.|\n)*-2\.0")


def _recency_above_age(name):
    X = table_for(name)
    age = "n_periods" if "n_periods" in X else "T"
    rows = X.index[X["frequency"] > 0][:2]
    X.loc[rows, "recency"] = X.loc[rows, age] + 3.0
    return X


@pytest.mark.parametrize("name", NAMES)
def test_recency_greater_than_T(name):
    X = _recency_above_age(name)
    if SPECS[name].checks_recency:
        raises_on_fit_and_predict(name, X, InvalidDataError,
                                  rf"Column 'recency': 2 of {N} rows (have recency greater "
                                  rf"than|are after the last opportunity)")
    else:  # estimators that do not read both columns
        assert_valid_outputs(fit(make(name), X), X, name)


@pytest.mark.parametrize("name", NAMES)
def test_non_integer_frequency(name):
    X = table_for(name)
    X.loc[X.index[X["frequency"] > 0][:2], "frequency"] += 0.5
    if SPECS[name].whole_frequency:
        raises_on_fit_and_predict(name, X, InvalidDataError,
                                  rf"Column 'frequency': 2 of {N} rows are not whole numbers")
    else:
        assert_valid_outputs(fit(make(name), X), X, name)


@pytest.mark.parametrize("name", [n for n in MODELS if SPECS[n].checks_recency])
def test_recency_without_repeat_purchase(name):
    X = table_for(name)
    rows = X.index[X["frequency"] == 0][:3]
    X.loc[rows, "recency"] = 1.0
    raises_on_fit_and_predict(name, X, InvalidDataError,
                              rf"Column 'recency': 3 of {N} rows have frequency 0 but "
                              rf"non-zero recency")


# ---- fitting state and shapes ---------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_unfitted_estimator(name):
    est = make(name)
    X = table_for(name)
    for method in SPECS[name].methods:
        with pytest.raises(NotFittedError, match="is not fitted yet"):
            getattr(est, method)(X)



_FITTED_ON_ARRAYS = {}


def fitted_on_array(name):
    """The estimator fitted on its table as an array (fitted once, copied)."""
    if name not in _FITTED_ON_ARRAYS:
        _FITTED_ON_ARRAYS[name] = fit(make(name), _array(name, len(SPECS[name].reads)))
    est = _FITTED_ON_ARRAYS[name]
    return type(est).from_dict(est.to_dict())


def _array(name, n_columns):
    X = table_for(name)[SPECS[name].reads].to_numpy(dtype=float)
    if n_columns > X.shape[1]:
        return np.hstack([X, X[:, :n_columns - X.shape[1]]])
    return X[:, :n_columns]


# HoldoutChurnClassifier and this RuleTierer read columns by name: no array input
ARRAY_READERS = [n for n in NAMES if n not in ("HoldoutChurnClassifier", "RuleTierer")]


@pytest.mark.parametrize("name", ARRAY_READERS)
def test_one_feature_more_at_predict(name):
    width = len(SPECS[name].reads)
    est = fitted_on_array(name)
    with pytest.raises(CustsegError, match=rf"{width + 1} features"):
        est.predict(_array(name, width + 1))


@pytest.mark.parametrize("name", [n for n in ARRAY_READERS if len(SPECS[n].reads) > 1])
def test_one_feature_fewer_at_predict(name):
    width = len(SPECS[name].reads)
    est = fitted_on_array(name)
    with pytest.raises(CustsegError, match=rf"{width - 1} feature"):
        est.predict(_array(name, width - 1))


@pytest.mark.parametrize("name", [n for n in NAMES if n != "HoldoutChurnClassifier"])
def test_one_dimensional_input(name):
    X = table_for(name)[SPECS[name].column]
    with pytest.raises(CustsegError, match=r"shape|2-dimensional|1-d|one column"):
        fit(make(name), X.to_numpy())
    with pytest.raises(CustsegError, match=r"shape|2-dimensional|1-d|one column"):
        fitted(name).predict(X)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "HoldoutChurnClassifier"])
def test_sparse_input(name):
    X = sparse.csr_matrix(_array(name, len(SPECS[name].reads)))
    with pytest.raises(CustsegError, match=r"(?i)sparse"):
        fit(make(name), X)


@pytest.mark.parametrize("name", NAMES)
def test_duplicated_column_names(name):
    X = table_for(name)
    column = SPECS[name].column
    doubled = pd.concat([X, X[[column]]], axis=1)
    with pytest.raises(CustsegError, match=rf"'{column}'.*(twice|2 times|duplicate)"):
        fit(make(name), doubled)


# ---- sizes ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_single_customer(name):
    X = table_for(name)
    one = X[X["frequency"] > 0].iloc[[0]]
    if name == "CustomerSegmenter":
        with pytest.raises(CustsegError, match=r"n_segments=3 segments need at least 3 "
                                               r"customers, got n_samples=1"):
            fit(make(name), one)
        return
    if name == "HoldoutChurnClassifier":  # one customer is one class: no classifier
        y = np.array(["active"])
        with pytest.raises(InvalidDataError, match=r"single class"):
            make(name).fit(one, y)
        return
    est = fit(make(name), one)
    assert_valid_outputs(est, one, name)
    assert_valid_outputs(est, X, name)


@pytest.mark.parametrize("name", NAMES)
def test_hundred_thousand_identical_customers(name):
    X = table_for(name)
    row = X[X["frequency"] > 0].iloc[[1]]
    many = pd.DataFrame(np.repeat(row.to_numpy(), 100_000, axis=0), columns=X.columns)
    if name == "HoldoutChurnClassifier":
        est = fitted(name)
    else:
        est = fit(make(name), many)
    predictions = est.predict(many)
    assert len(predictions) == len(many)
    assert (predictions == predictions[0]).all()  # identical customers, identical scores
    np.testing.assert_array_equal(est.predict(row), predictions[:1])


# ---- model-specific ------------------------------------------------------------------------

def test_clv_without_any_repeat_customer():
    X = table_for("CLVEstimator").assign(frequency=0.0, recency=0.0, monetary_value=0.0)
    with pytest.raises(EmptyDataError, match=r"Column 'frequency'.*repeat purchase"):
        fit(make("CLVEstimator"), X)


def test_gamma_gamma_without_any_repeat_customer():
    X = table_for("GammaGamma").assign(frequency=0.0)
    with pytest.raises(EmptyDataError, match=r"Column 'frequency': no customer has a repeat "
                                             r"purchase"):
        fit(make("GammaGamma"), X)


def test_clv_repeat_customers_need_a_positive_monetary_value():
    X = table_for("CLVEstimator")
    rows = X.index[X["frequency"] > 0][:4]
    X.loc[rows, "monetary_value"] = 0.0
    raises_on_fit_and_predict("CLVEstimator", X, InvalidDataError,
                              rf"Column 'monetary_value': 4 of {N} rows have repeat "
                              rf"purchases but a monetary_value of 0")


def test_bgbb_frequency_above_recency():
    X = table_for("BetaGeoBetaBinom")
    rows = X.index[X["frequency"] > 1][:2]
    X.loc[rows, "recency"] = X.loc[rows, "frequency"] - 1
    raises_on_fit_and_predict("BetaGeoBetaBinom", X, InvalidDataError,
                              rf"Column 'frequency': 2 of {N} rows exceed recency")


@pytest.mark.parametrize("name", ["BetaGeo", "ModifiedBetaGeo", "ParetoNBD",
                                  "BetaGeoBetaBinom"])
def test_frequency_all_zero_fits_finite_parameters(name):
    """Degenerate data (nobody came back) warns and still gives finite values."""
    X = table_for(name).assign(frequency=0.0, recency=0.0)
    with pytest.warns(UserWarning, match=r"did not converge"):
        est = make(name).fit(X)
    assert np.all(np.isfinite(est.params_))
    assert_valid_outputs(est, X, name)
