import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator
from sklearn.cluster import KMeans
from sklearn.preprocessing import StandardScaler

from custseg._serialize import SerializableMixin, from_dict, to_dict
from custseg.exceptions import CustsegError


class Holder(SerializableMixin, BaseEstimator):
    def __init__(self, alpha=1.0, names=("a", "b"), inner=None):
        self.alpha = alpha
        self.names = names
        self.inner = inner


def _roundtrip(obj):
    payload = json.loads(json.dumps(to_dict(obj), allow_nan=False))
    return from_dict(payload, extra_packages=("tests",))


def test_roundtrip_of_every_supported_value():
    est = Holder(alpha=np.float64(2.5), names=("x", "y"), inner=StandardScaler())
    est.inner.fit(np.arange(12.0).reshape(6, 2))
    est.params_ = pd.Series([0.243, 4.4], index=["r", "alpha"], name="params")
    est.table_ = pd.DataFrame({"a": [1, 2], "b": ["u", "v"], "c": [np.nan, np.inf]},
                              index=pd.Index(["p", "q"], name="customer_id"))
    est.cat_ = pd.Categorical(["low", "high", "low"], categories=["high", "low"],
                              ordered=True)
    est.arr_ = np.array([[1.5, np.nan], [-np.inf, 2.0]])
    est.ints_ = np.arange(3, dtype=np.int32)
    est.when_ = pd.Timestamp("2020-01-02 03:04:05")
    est.map_ = {(1, 2): "x", 3: "y"}
    est.dtype_ = np.float32
    est.rs_ = np.random.RandomState(3)
    back = _roundtrip(est)
    assert isinstance(back, Holder)
    assert back.get_params(deep=False).keys() == est.get_params(deep=False).keys()
    assert back.names == ("x", "y")
    pd.testing.assert_series_equal(back.params_, est.params_)
    pd.testing.assert_frame_equal(back.table_, est.table_)
    assert back.cat_.equals(est.cat_) and back.cat_.ordered
    np.testing.assert_array_equal(back.arr_, est.arr_)
    assert back.ints_.dtype == np.int32
    assert back.when_ == est.when_
    assert back.map_ == {(1, 2): "x", 3: "y"}
    assert back.dtype_ is np.float32
    assert back.rs_.randint(1000) == np.random.RandomState(3).randint(1000)
    np.testing.assert_array_equal(back.inner.transform([[1.0, 2.0]]),
                                  est.inner.transform([[1.0, 2.0]]))


def test_nested_sklearn_estimator_predicts_identically():
    X = np.random.default_rng(0).normal(size=(200, 3))
    km = KMeans(3, n_init=2, random_state=0).fit(X)
    back = _roundtrip(Holder(inner=km)).inner
    np.testing.assert_array_equal(back.predict(X), km.predict(X))


def test_refuses_foreign_classes_and_callables():
    payload = to_dict(Holder())
    payload["estimator"]["__estimator__"] = "os.system"
    with pytest.raises(CustsegError, match="Refusing to load class 'os.system'"):
        from_dict(payload)
    with pytest.raises(CustsegError, match="Cannot serialise the callable"):
        to_dict(Holder(inner=lambda x: x))
    with pytest.raises(CustsegError, match="Not a custseg estimator dict"):
        from_dict({"estimator": {}})
    with pytest.raises(CustsegError, match="holds a StandardScaler, not a Holder"):
        Holder.from_dict(to_dict(StandardScaler()))
    with pytest.raises(CustsegError, match="Refusing to load class 'tests.test_serialize"):
        from_dict(to_dict(Holder()))


@pytest.mark.parametrize("make", [
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).HistGradientBoostingClassifier(
        max_iter=20, random_state=0),
    lambda: __import__("sklearn.ensemble", fromlist=["x"]).GradientBoostingClassifier(
        n_estimators=10, random_state=0),
    lambda: __import__("sklearn.linear_model", fromlist=["x"]).LogisticRegression(),
], ids=["hist-gradient-boosting", "gradient-boosting", "logistic"])
def test_fitted_sklearn_classifiers_round_trip(make):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] > 0).astype(int)
    model = make().fit(X, y)
    back = _roundtrip(Holder(inner=model)).inner
    np.testing.assert_array_equal(back.predict_proba(X), model.predict_proba(X))
