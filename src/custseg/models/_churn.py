"""Churn classifiers: from a transaction model's P(alive), or learnt on a holdout window.

:class:`ChurnEstimator` needs no label: a customer's probability of having churned is
``1 - P(alive)`` under a fitted transaction model (BG/NBD by default).
:class:`HoldoutChurnClassifier` learns the label "no purchase in the holdout window" of a
calibration/holdout table with a scikit-learn classifier, from RFM features and the
transaction model's predictions.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, _fit_context, clone
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, column_or_1d

from .._serialize import SerializableMixin
from .._validation import (
    check_columns,
    check_customer_table,
    check_finite_numeric,
    check_nonnegative,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import InvalidDataError, InvalidParameterError
from ._base import (
    BaseTransactionModel,
    check_fit_weights,
    check_nonnegative_columns,
    select_columns,
)
from ._diagnostics import calibration_table

__all__ = ["ChurnEstimator", "HoldoutChurnClassifier", "CHURN_CLASSES", "CHURN_FEATURES"]

#: Class labels of the churn classifiers, in the order of ``predict_proba``'s columns.
CHURN_CLASSES = ("active", "churned")

#: Features :class:`HoldoutChurnClassifier` can compute, in their default order.
CHURN_FEATURES = ("frequency", "recency", "T", "time_since_last_purchase",
                  "expected_purchases", "p_alive", "p_no_purchase", "monetary_value")

_CAL = ("frequency", "recency", "T")


def _default_model(model):
    from ._bgnbd import BetaGeo

    return clone(model if model is not None else BetaGeo())


class ChurnEstimator(SerializableMixin, ClassifierMixin, BaseEstimator):
    r"""Churn probabilities from a transaction model's probability of being alive.

    Unsupervised: ``fit`` fits a clone of ``model`` on the customer table (a label ``y``
    is accepted and ignored), and the probability that a customer has churned is one
    minus the model's probability that the customer is alive.

    Parameters
    ----------
    model : BaseTransactionModel or None, default=None
        Transaction model (``BetaGeo``, ``ModifiedBetaGeo``, ``ParetoNBD`` ...); None is
        ``BetaGeo()``.
    horizon : float, default=0.0
        Periods (in the table's time unit) after the end of observation at which the
        customer is judged: with ``definition="not_alive"``, churned means not alive at
        ``T + horizon`` given no purchase in ``(T, T + horizon]`` (0 judges the customer
        now); with ``definition="no_purchase"``, churned means no purchase in
        ``(T, T + horizon]`` (``horizon`` must then be positive).
    definition : {"not_alive", "no_purchase"}, default="not_alive"
        What churned means (see Notes).
    threshold : float, default=0.5
        :meth:`predict` says ``"churned"`` when the churn probability is at least this.

    Attributes
    ----------
    model_ : BaseTransactionModel
        The fitted clone of ``model``.
    classes_ : ndarray of str
        ``["active", "churned"]``, the columns of :meth:`predict_proba`.
    n_features_in_ : int
        Number of columns seen in ``fit`` (from ``model_``).
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame (from ``model_``).

    See Also
    --------
    HoldoutChurnClassifier : learns churn from a holdout window instead.

    Notes
    -----
    With ``h`` = ``horizon``,

    .. math::
        P(\text{churned}) = 1 - P(\text{alive at } T + h \mid x, t_x, T,
                                  \text{no purchase in } (T, T + h])
                          = 1 - P(\text{alive} \mid x, t_x, T + h),

    since a window extended by ``h`` periods without purchase is the history
    ``(x, t_x, T + h)``. For the BG/NBD, :math:`P(\text{alive} \mid x, t_x, T) = 1 / (1 +
    1_{x>0}\frac{a}{b+x-1}(\frac{\alpha+T}{\alpha+t_x})^{r+x})` (Fader, Hardie & Lee
    2008). A positive horizon answers "if this customer does not buy in the next ``h``
    periods, how likely is it that they are gone", a stricter definition of churn that
    grows with ``h``.

    The BG/NBD lets customers drop out only after a repeat purchase, so every customer
    without one (``x = 0``) is alive with probability 1 and gets a churn probability of
    0, although such customers are the least likely to buy again. On CDNOW this makes
    ``1 - P(alive)`` rank the customers who will not buy in the next 39 weeks worse than
    chance (ROC AUC about 0.3; 0.68 among repeat customers). Use ``ModifiedBetaGeo``
    (drop-out possible after the first purchase too; AUC about 0.77), or
    ``definition="no_purchase"``:

    .. math::
        P(\text{churned}) = P(X(T, T + h] = 0 \mid x, t_x, T),

    the model's probability of no purchase in the next ``h`` periods, which counts the
    customers who are alive but buy rarely as churned as well.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) using the
    BG/NBD model", http://brucehardie.com/notes/021/, eq. 2.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models._churn import ChurnEstimator
    >>> table = load_cdnow_summary()
    >>> churn = ChurnEstimator().fit(table)
    >>> churn.predict_proba(table.head(2)).round(3).tolist()
    [[0.727, 0.273], [0.212, 0.788]]
    >>> churn.predict(table.head(2)).tolist()
    ['active', 'churned']
    """

    _parameter_constraints: dict = {
        "model": [BaseTransactionModel, None],
        "horizon": [Interval(numbers.Real, 0, None, closed="left")],
        "definition": [StrOptions({"not_alive", "no_purchase"})],
        "threshold": [Interval(numbers.Real, 0, 1, closed="both")],
    }

    def __init__(self, model=None, *, horizon=0.0, definition="not_alive", threshold=0.5):
        self.model = model
        self.horizon = horizon
        self.definition = definition
        self.threshold = threshold

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit a clone of the transaction model on the customer table.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
            Customer table in the model's columns (``frequency``, ``recency``, ``T``).
        y : ignored
            Accepted for scikit-learn's supervised idioms; the fit is unsupervised.
        sample_weight : array-like of shape (n_customers,) or None
            Weight of each customer.

        Returns
        -------
        self
        """
        if self.definition == "no_purchase" and self.horizon <= 0:
            raise InvalidParameterError(
                "definition='no_purchase' needs a positive horizon (the window in which "
                f"no purchase means churn), got horizon={self.horizon!r}.")
        model = _default_model(self.model)
        model.fit(X, sample_weight=sample_weight)
        self.model_ = model
        self.classes_ = np.asarray(CHURN_CLASSES, dtype=object)
        self.n_features_in_ = model.n_features_in_
        if hasattr(model, "feature_names_in_"):
            self.feature_names_in_ = model.feature_names_in_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Probabilities of being active and of having churned.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of shape (n_customers, 2)
            Columns ``classes_``: ``active`` and ``churned`` (one minus ``active``);
            ``active`` is P(alive at ``T + horizon``), or with
            ``definition="no_purchase"`` the probability of a purchase within
            ``horizon``.
        """
        check_is_fitted(self, "model_")
        if self.definition == "no_purchase":
            churned = self.model_.purchase_probability(X, 0, float(self.horizon))
        else:
            churned = 1.0 - self.model_.probability_alive(X, t=float(self.horizon))
        churned = np.clip(churned, 0.0, 1.0)
        return np.column_stack([1.0 - churned, churned])

    def predict(self, X) -> np.ndarray:
        """``"churned"`` where the churn probability reaches ``threshold``, else
        ``"active"``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of str, shape (n_customers,)
        """
        churned = self.predict_proba(X)[:, 1] >= self.threshold
        return self.classes_[churned.astype(np.int64)]


class HoldoutChurnClassifier(SerializableMixin, ClassifierMixin, BaseEstimator):
    r"""Churn learnt from a holdout window: RFM and model features into a classifier.

    ``fit`` takes a calibration/holdout table (:func:`custseg.features.calibration_holdout_split`):
    the label of a customer is ``"churned"`` when it made no purchase in the holdout
    window (``frequency_holdout == 0``), ``"active"`` otherwise. A clone of ``model``
    (BG/NBD by default) is fitted on the calibration columns; the features of each
    customer (its RFM values and the model's predictions over a window of ``horizon``
    periods) feed a clone of ``classifier``. On a later table (in the same time unit),
    :meth:`predict_proba` estimates the probability of no purchase in the next
    ``horizon`` periods.

    Parameters
    ----------
    classifier : classifier or None, default=None
        A scikit-learn classifier with ``predict_proba``; None is
        ``HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05, max_iter=200,
        random_state=0)``. ``to_dict`` needs a classifier whose fitted state is plain
        arrays (a linear model, for example); tree ensembles can be pickled.
    model : BaseTransactionModel or None, default=None
        Transaction model fitted on the calibration columns; None is ``BetaGeo()``.
    features : list of str or None, default=None
        Features given to the classifier, among ``frequency``, ``recency``, ``T``,
        ``time_since_last_purchase`` (``T - recency``), ``expected_purchases`` (over
        ``horizon``), ``p_alive`` (at the end of observation), ``p_no_purchase`` (the
        model's probability of no purchase within ``horizon``) and ``monetary_value``.
        None takes all of them, ``monetary_value`` only when the table has it.
    horizon : float or None, default=None
        Length of the window of the label, in the table's time unit; None takes it from
        the ``duration_holdout`` column (its median).

    Attributes
    ----------
    model_ : BaseTransactionModel
        The transaction model fitted on the calibration columns.
    classifier_ : classifier
        The fitted clone of ``classifier``.
    classes_ : ndarray
        The classes, ``["active", "churned"]`` for the default label.
    features_ : list of str
        The features used, in the order the classifier sees them.
    horizon_ : float
        The resolved window length.
    n_features_in_ : int
        Number of input columns used (3, or 4 with ``monetary_value``).
    feature_names_in_ : ndarray of str
        Their names (``frequency``, ``recency``, ``T`` [, ``monetary_value``]) when ``X``
        was a DataFrame.

    See Also
    --------
    ChurnEstimator : churn from P(alive), without a label.
    custseg.models.holdout_errors : the transaction model's own holdout check.

    Notes
    -----
    The input of :meth:`fit` is a DataFrame with ``frequency_cal``, ``recency_cal``,
    ``T_cal`` [, ``monetary_value_cal``], ``frequency_holdout`` and ``duration_holdout``
    (the plain names ``frequency``, ``recency``, ``T``, ``monetary_value`` are accepted
    for the calibration columns); with an explicit ``y`` only the calibration columns are
    needed, and an array is taken as ``frequency``, ``recency``, ``T``. The input of
    :meth:`predict_proba` is a customer table with either names.

    The model features follow the BG/NBD's formulas (Fader, Hardie & Lee 2005, eq. 10
    for ``expected_purchases``); ``p_no_purchase`` is the model's own prediction of the
    label, which the classifier corrects with the RFM values where the model is
    misspecified.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> from sklearn.linear_model import LogisticRegression
    >>> from custseg.datasets import load_cdnow_transactions
    >>> from custseg.features import calibration_holdout_split
    >>> from custseg.models._churn import HoldoutChurnClassifier
    >>> split = calibration_holdout_split(
    ...     load_cdnow_transactions(), calibration_period_end="1997-09-30",
    ...     observation_period_end="1998-06-30", freq="W")
    >>> clf = HoldoutChurnClassifier(LogisticRegression(max_iter=1000)).fit(split)
    >>> clf.classes_.tolist(), clf.horizon_
    (['active', 'churned'], 39.0)
    >>> clf.predict_proba(split.head(2)).round(2).tolist()
    [[0.61, 0.39], [0.2, 0.8]]
    """

    _parameter_constraints: dict = {
        "classifier": [HasMethods(["fit", "predict_proba"]), None],
        "model": [BaseTransactionModel, None],
        "features": [list, tuple, None],
        "horizon": [Interval(numbers.Real, 0, None, closed="neither"), None],
    }

    def __init__(self, classifier=None, model=None, *, features=None, horizon=None):
        self.classifier = classifier
        self.model = model
        self.features = features
        self.horizon = horizon

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags

    # ---- input -------------------------------------------------------------------------
    def _calibration(self, X, monetary: bool | None) -> pd.DataFrame:
        if isinstance(X, pd.DataFrame):
            frame = calibration_table(X, monetary=monetary)
        elif monetary:
            raise InvalidDataError(
                "The feature 'monetary_value' needs a DataFrame with a monetary_value (or "
                "monetary_value_cal) column; an array holds frequency, recency, T only.")
        else:
            frame = select_columns(X, _CAL, type(self).__name__)
        check_not_empty(frame, what="customer table")
        check_nonnegative_columns(frame, list(frame.columns))
        return frame

    def _resolve_features(self, has_monetary: bool) -> list[str]:
        if self.features is None:
            return [f for f in CHURN_FEATURES if f != "monetary_value" or has_monetary]
        features = list(self.features)
        unknown = [f for f in features if f not in CHURN_FEATURES]
        if unknown or not features:
            raise InvalidParameterError(
                f"features must be a non-empty list among {list(CHURN_FEATURES)}; "
                f"unknown: {unknown}.")
        if len(set(features)) != len(features):
            raise InvalidParameterError(f"features holds duplicates: {features}.")
        return features

    def _feature_frame(self, cal: pd.DataFrame, arrays: dict[str, np.ndarray]) -> pd.DataFrame:
        model = self.model_
        X3 = cal.loc[:, list(_CAL)]
        cols: dict[str, np.ndarray] = {}
        for name in self.features_:
            if name in ("frequency", "recency", "T", "monetary_value"):
                cols[name] = arrays[name]
            elif name == "time_since_last_purchase":
                cols[name] = arrays["T"] - arrays["recency"]
            elif name == "expected_purchases":
                cols[name] = model.expected_purchases(X3, t=self.horizon_)
            elif name == "p_alive":
                cols[name] = model.probability_alive(X3)
            else:  # p_no_purchase
                cols[name] = model.purchase_probability(X3, 0, self.horizon_)
        return pd.DataFrame(cols, index=cal.index)

    def compute_features(self, X) -> pd.DataFrame:
        """The features the classifier sees, for a customer table.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
            Customer table (``frequency``, ``recency``, ``T`` [, ``monetary_value``], or
            their ``*_cal`` names).

        Returns
        -------
        DataFrame
            Columns ``features_``, indexed like ``X``.
        """
        check_is_fitted(self, "classifier_")
        cal = self._calibration(X, "monetary_value" in self.features_)
        validate_input(self, cal if isinstance(X, pd.DataFrame) else np.asarray(X),
                       reset=False, skip_check_array=True)
        arrays = check_customer_table(cal, columns=list(cal.columns))
        return self._feature_frame(cal, arrays)

    # ---- fitting -----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the transaction model on the calibration columns and the classifier on the
        features.

        Parameters
        ----------
        X : DataFrame or array-like
            Calibration/holdout table (see Notes).
        y : array-like of shape (n_customers,) or None
            Labels; None derives ``"churned"`` / ``"active"`` from
            ``frequency_holdout == 0``.
        sample_weight : array-like of shape (n_customers,) or None
            Weight of each customer, for both the model and the classifier.

        Returns
        -------
        self
        """
        from sklearn.ensemble import HistGradientBoostingClassifier

        wants_monetary = self.features is not None and "monetary_value" in self.features
        cal = self._calibration(X, True if wants_monetary else None)
        self.features_ = self._resolve_features("monetary_value" in cal.columns)
        if "monetary_value" not in self.features_ and "monetary_value" in cal.columns:
            cal = cal.drop(columns="monetary_value")
        if y is None:
            if not isinstance(X, pd.DataFrame):
                raise InvalidDataError(
                    "HoldoutChurnClassifier requires y to be passed, but the target y is "
                    "None: without y, X must be a calibration/holdout DataFrame with a "
                    "frequency_holdout column (the label is frequency_holdout == 0).")
            check_columns(X, ["frequency_holdout"], what="calibration/holdout table")
            holdout = check_finite_numeric(X, "frequency_holdout")
            check_nonnegative(X, "frequency_holdout", holdout)
            y = np.asarray(CHURN_CLASSES, dtype=object)[(holdout == 0).astype(np.int64)]
        else:
            y = np.asarray(y)
            if y.ndim == 2 and y.shape[1] == 1:  # a column vector: warn and flatten
                y = column_or_1d(y, warn=True)
            if y.ndim != 1 or len(y) != len(cal):
                raise InvalidDataError(
                    f"y must be a 1-d array of {len(cal)} labels, got shape {y.shape}.")
            check_classification_targets(y)
        sw = None if sample_weight is None else check_fit_weights(sample_weight, len(cal))
        present = y if sw is None else y[sw > 0]
        if len(np.unique(present)) < 2:
            raise InvalidDataError(
                f"The label has a single class ({np.unique(present).tolist()}), one "
                "class only: every "
                "customer bought in the holdout window, or none did. Lengthen the holdout "
                "window or pass y.")
        arrays = check_customer_table(cal, columns=list(cal.columns))
        self.horizon_ = self._resolve_horizon(X)
        validate_input(self, cal if isinstance(X, pd.DataFrame) else np.asarray(X),
                       reset=True, skip_check_array=True)

        model = _default_model(self.model)
        model.fit(cal.loc[:, list(_CAL)], sample_weight=sw)
        self.model_ = model
        features = self._feature_frame(cal, arrays)
        classifier = clone(self.classifier if self.classifier is not None else
                           HistGradientBoostingClassifier(max_depth=3, learning_rate=0.05,
                                                          max_iter=200, random_state=0))
        if sw is None:
            classifier.fit(features, y)
        else:
            classifier.fit(features, y, sample_weight=sw)
        self.classifier_ = classifier
        self.classes_ = classifier.classes_
        return self

    def _resolve_horizon(self, X) -> float:
        if self.horizon is not None:
            return float(self.horizon)
        if not (isinstance(X, pd.DataFrame) and "duration_holdout" in X.columns):
            raise InvalidParameterError(
                "Set horizon (the length of the label's window in the table's time unit): "
                "X has no duration_holdout column to take it from.")
        duration = check_finite_numeric(X, "duration_holdout")
        raise_bad_rows(X, duration <= 0, "duration_holdout", "are not positive")
        return float(np.median(duration))

    # ---- prediction --------------------------------------------------------------------
    def predict_proba(self, X) -> np.ndarray:
        """Probability of each class (columns ``classes_``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)
            Customer table at the end of a period (``frequency``, ``recency``, ``T``
            [, ``monetary_value``], or their ``*_cal`` names), in the time unit of the
            training table.

        Returns
        -------
        ndarray of shape (n_customers, n_classes)
        """
        features = self.compute_features(X)
        return self.classifier_.predict_proba(features)

    def predict(self, X) -> np.ndarray:
        """The classifier's predicted class of each customer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 3)

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        features = self.compute_features(X)
        return self.classifier_.predict(features)
