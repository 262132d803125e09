"""Customer lifetime value: a transaction model and a spend model, discounted over time.

The value of a customer over the next ``H`` periods of ``horizon_unit`` (months by
default) is the expected number of purchases in each period, times the expected value of a
purchase, discounted period by period::

    CLV = margin * E[Z | x, m] * sum_{k=1..H} (E[X(T, T + k f)] - E[X(T, T + (k-1) f)])
                                                 / (1 + d)^k

where ``f`` is the number of periods of the customer table in one ``horizon_unit`` period.
The pure functions below compute the pieces; :class:`CLVEstimator` is the scikit-learn
meta-estimator that fits a transaction model (BG/NBD by default) and a spend model
(Gamma-Gamma by default) and combines them.
"""

from __future__ import annotations

import copy
import numbers
from collections.abc import Callable

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context, clone
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    check_customer_table,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import EmptyDataError, InvalidDataError, InvalidParameterError
from ._base import (
    TIME_UNITS,
    BaseTransactionModel,
    check_fit_weights,
    check_nonnegative_columns,
    select_columns,
)
from ._mle import compress_rows

__all__ = [
    "CLVEstimator",
    "LIFETIMES_PERIODS_PER_MONTH",
    "periods_per_horizon_unit",
    "discount_factors",
    "discounted_expected_purchases",
    "sample_log_normal_params",
]

#: Columns of the customer table a CLV needs, in the order of an array input.
CLV_COLUMNS = ("frequency", "recency", "T", "monetary_value")

#: Table periods per month used by ``lifetimes.utils._customer_lifetime_value`` (0.11.3).
#: They are mutually inconsistent (30 days is not 4.345 weeks): use them only to reproduce
#: lifetimes' numbers.
LIFETIMES_PERIODS_PER_MONTH = {"h": 720.0, "D": 30.0, "W": 4.345, "M": 1.0}

#: Largest number of (draw, customer) values held at once by ``predict_interval``.
_DRAW_BLOCK = 1 << 19


def periods_per_horizon_unit(time_unit: str, horizon_unit: str = "M",
                             lifetimes_compat: bool = False) -> float:
    """Number of periods of the customer table in one period of ``horizon_unit``.

    Parameters
    ----------
    time_unit : {"h", "D", "W", "M", "Q", "Y"}
        Period of the customer table (of ``recency`` and ``T``).
    horizon_unit : {"h", "D", "W", "M", "Q", "Y"}, default="M"
        Period of the CLV horizon and of the discount rate.
    lifetimes_compat : bool, default=False
        Use lifetimes' factors (30 days, 4.345 weeks or 720 hours per month), which only
        exist for monthly horizons.

    Returns
    -------
    float

    Notes
    -----
    By default the factor is the ratio of calendar lengths, a month being a twelfth of a
    year of 365.25 days: 30.4375 days, 4.348 weeks. The same customers summarised in days
    or in weeks then get the same CLV, which lifetimes' factors do not give.

    Examples
    --------
    >>> round(periods_per_horizon_unit("D"), 4), round(periods_per_horizon_unit("W"), 4)
    (30.4375, 4.3482)
    >>> periods_per_horizon_unit("W", lifetimes_compat=True)
    4.345
    """
    for name, unit in (("time_unit", time_unit), ("horizon_unit", horizon_unit)):
        if unit not in TIME_UNITS:
            raise InvalidParameterError(
                f"{name} must be one of {sorted(TIME_UNITS)}, got {unit!r}.")
    if lifetimes_compat:
        if horizon_unit != "M" or time_unit not in LIFETIMES_PERIODS_PER_MONTH:
            raise InvalidParameterError(
                "lifetimes_compat=True reproduces lifetimes' monthly factors, which exist "
                f"for horizon_unit='M' and time_unit in {sorted(LIFETIMES_PERIODS_PER_MONTH)}"
                f"; got horizon_unit={horizon_unit!r}, time_unit={time_unit!r}.")
        return LIFETIMES_PERIODS_PER_MONTH[time_unit]
    return TIME_UNITS[horizon_unit] / TIME_UNITS[time_unit]


def discount_factors(horizon: int, discount_rate: float) -> np.ndarray:
    """Discount factor ``(1 + d) ** -k`` of each period ``k = 1 .. horizon``.

    Parameters
    ----------
    horizon : int
        Number of periods.
    discount_rate : float
        Discount rate per period.

    Returns
    -------
    ndarray of shape (horizon,)

    Examples
    --------
    >>> discount_factors(3, 0.1).round(4).tolist()
    [0.9091, 0.8264, 0.7513]
    """
    k = np.arange(1, int(horizon) + 1, dtype=np.float64)
    return np.exp(-k * np.log1p(discount_rate))


def discounted_expected_purchases(expected_purchases: Callable[[float], np.ndarray],
                                  horizon: int, step: float,
                                  discount_rate: float) -> np.ndarray:
    r"""Expected purchases in each of ``horizon`` successive windows, discounted.

    Parameters
    ----------
    expected_purchases : callable
        ``expected_purchases(t)`` returns the expected number of purchases of each
        customer in ``(T, T + t]`` (``t`` in the table's time unit), an array.
    horizon : int
        Number of windows.
    step : float
        Length of a window in the table's time unit.
    discount_rate : float
        Discount rate per window.

    Returns
    -------
    ndarray
        :math:`\sum_{k=1}^{H} \left(E[X(k s)] - E[X((k-1) s)]\right) (1 + d)^{-k}`, the
        shape of ``expected_purchases``' output.

    Examples
    --------
    >>> import numpy as np
    >>> rate = np.array([1.0, 2.0])   # Poisson customers: E[X(t)] = rate * t
    >>> discounted_expected_purchases(lambda t: rate * t, 2, 1.0, 0.0).tolist()
    [2.0, 4.0]
    """
    factors = discount_factors(horizon, discount_rate)
    previous = 0.0
    total = 0.0
    for k in range(1, int(horizon) + 1):
        current = np.asarray(expected_purchases(k * step), dtype=np.float64)
        total = total + (current - previous) * factors[k - 1]
        previous = current
    return np.asarray(total, dtype=np.float64)


def sample_log_normal_params(params, covariance, n_draws: int, random_state=None, *,
                             shift=None, log_space=False):
    r"""Draws of positive parameters from the asymptotic normal law of their logarithms.

    Parameters
    ----------
    params : array-like of shape (n_params,)
        Maximum-likelihood estimates (above ``shift``).
    covariance : array-like of shape (n_params, n_params)
        Their covariance (delta method), ``diag(params) @ cov_log @ diag(params)``; with
        ``log_space=True``, ``cov_log`` itself.
    n_draws : int
        Number of draws.
    random_state : int, RandomState instance or None
        Seed.
    shift : array-like of shape (n_params,) or None, default=None
        Lower edge of each parameter, when the fit estimates ``log(params - shift)``
        (Gamma-Gamma's ``log(q - 1)``); None is 0. Needs ``log_space=True``.
    log_space : bool, default=False
        Whether ``covariance`` is the covariance of ``log(params - shift)``.

    Returns
    -------
    ndarray of shape (n_draws, n_params)
        ``shift + exp(u)`` with ``u ~ N(log(params - shift), cov_log)``: every draw is
        above ``shift``.

    Raises
    ------
    InvalidDataError
        When a variance is not finite (a parameter the data did not identify).

    Notes
    -----
    The estimates are computed in log-parameter space, where the likelihood is closer to
    quadratic, and their covariance there is the inverse observed information
    :math:`\Sigma_u`; :math:`\theta = e^u` stays positive.

    Examples
    --------
    >>> import numpy as np
    >>> draws = sample_log_normal_params([1.0, 2.0], np.diag([0.01, 0.04]), 4000, 0)
    >>> draws.shape, bool(np.all(draws > 0))
    ((4000, 2), True)
    >>> np.log(draws).std(axis=0).round(1).tolist()
    [0.1, 0.1]
    """
    theta = np.asarray(params, dtype=np.float64)
    cov = np.asarray(covariance, dtype=np.float64)
    if shift is not None and not log_space:
        raise ValueError("shift needs the covariance of log(params - shift): log_space=True.")
    lower = np.zeros_like(theta) if shift is None else np.asarray(shift, dtype=np.float64)
    theta = theta - lower
    if not (np.all(np.isfinite(cov)) and np.all(theta > 0)):
        raise InvalidDataError(
            "The parameters' covariance is not finite (the fit did not identify every "
            "parameter), so their uncertainty cannot be sampled.")
    cov_log = cov if log_space else cov / np.outer(theta, theta)
    cov_log = 0.5 * (cov_log + cov_log.T)
    vals, vecs = np.linalg.eigh(cov_log)
    root = vecs * np.sqrt(np.clip(vals, 0.0, None))
    rng = check_random_state(random_state)
    z = rng.standard_normal((int(n_draws), len(theta)))
    return lower + np.exp(np.log(theta) + z @ root.T)


def _spend_param_draws(model, n_draws, rng):
    """Draws of a spend model's parameters in the space its fit works in: Gamma-Gamma
    estimates ``log(p, q - 1, v)`` (``covariance_log_``), so every draw has ``q > 1``."""
    shift = getattr(model, "_log_shift", None)
    if shift is not None and hasattr(model, "covariance_log_"):
        return sample_log_normal_params(model.params_.to_numpy(float), model.covariance_log_,
                                        n_draws, rng, shift=shift, log_space=True)
    return sample_log_normal_params(model.params_.to_numpy(float), model.covariance_,
                                    n_draws, rng)


def _with_params(model, params: np.ndarray):
    """A shallow copy of a fitted model whose ``params_`` are replaced."""
    other = copy.copy(model)
    other.params_ = pd.Series(params, index=model.params_.index, name=model.params_.name)
    return other


class CLVEstimator(SerializableMixin, TransformerMixin, BaseEstimator):
    r"""Discounted customer lifetime value from a transaction model and a spend model.

    A meta-estimator: ``fit`` clones ``transaction_model`` (BG/NBD by default) into
    ``transaction_model_`` and fits it on ``frequency``, ``recency``, ``T``; it clones
    ``spend_model`` (Gamma-Gamma by default) into ``spend_model_`` and fits it on the
    repeat customers (``frequency > 0``). Their parameters are tunable with
    ``GridSearchCV`` as ``transaction_model__penalizer`` ... (:meth:`score` is the joint
    log-likelihood).

    Parameters
    ----------
    transaction_model : BaseTransactionModel or None, default=None
        Continuous-time model of the purchases (``BetaGeo``, ``ModifiedBetaGeo``,
        ``ParetoNBD``); None is ``BetaGeo()``. Its ``time_unit``, when None, is set to
        this estimator's.
    spend_model : estimator or None, default=None
        Model of the value of a purchase, fitted on ``frequency`` and ``monetary_value``
        of the repeat customers, whose ``predict`` is the expected value of a customer's
        purchase; None is ``GammaGamma()``.
    horizon : int, default=12
        Number of ``horizon_unit`` periods over which the value is summed.
    time_unit : {"h", "D", "W", "M", "Q", "Y"} or None, default="W"
        Period of the customer table (of ``recency`` and ``T``). None takes the table's
        ``attrs["time_unit"]``, else the transaction model's ``time_unit``.
    horizon_unit : {"h", "D", "W", "M", "Q", "Y"}, default="M"
        Period of ``horizon`` and of ``discount_rate``.
    discount_rate : float, default=0.01
        Discount rate per ``horizon_unit`` period.
    margin : float, default=1.0
        Profit margin applied to the expected spend (1 gives revenue).
    lifetimes_compat : bool, default=False
        Convert months into table periods with the factors of lifetimes 0.11.3 (30 days,
        4.345 weeks) instead of calendar lengths (30.4375 days, 4.348 weeks), to reproduce
        ``lifetimes``' ``customer_lifetime_value``. Its factors are inconsistent with each
        other, so the same customers in days and in weeks get different values.

    Attributes
    ----------
    transaction_model_ : BaseTransactionModel
        The fitted clone of ``transaction_model``.
    spend_model_ : estimator
        The fitted clone of ``spend_model``.
    time_unit_ : str
        The resolved period of the customer table.
    n_features_in_ : int
        Number of columns seen in ``fit`` (4).
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    See Also
    --------
    custseg.models.BetaGeo : the default transaction model.
    custseg.models.GammaGamma : the default spend model.

    Notes
    -----
    With ``f`` the number of table periods per ``horizon_unit`` period
    (:func:`periods_per_horizon_unit`), ``H`` = ``horizon``, ``d`` = ``discount_rate``
    and ``E[X(t)]`` the expected purchases of a customer in ``(T, T + t]`` given the
    history ``(x, t_x, T)``:

    .. math::
        \mathrm{CLV} = \mathrm{margin}\; E[Z \mid x, \bar z]
            \sum_{k=1}^{H} \frac{E[X(k f)] - E[X((k-1) f)]}{(1 + d)^{k}}

    (Fader, Hardie & Lee 2005b, eq. 2 in discrete time; the expected value of a purchase
    ``E[Z | x, zbar]`` is their eq. 5). It assumes, as the Gamma-Gamma model does, that the
    value of the purchases is independent of the purchase process. This is the convention
    of ``lifetimes``' ``customer_lifetime_value``: purchases of the ``k``-th month are
    discounted by ``(1 + d)^k``.

    ``predict_interval`` reflects parameter uncertainty only: the parameters of both
    models are drawn from the asymptotic normal law of their logarithms (the inverse
    observed information of the fits); customers' own randomness is not included.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005a), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    eq. 10 (expected purchases).

    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005b), "RFM and CLV: using iso-value
    curves for customer base analysis", Journal of Marketing Research 42(4), 415-430,
    eqs. 2 and 5.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models._clv import CLVEstimator
    >>> table = load_cdnow_summary()                  # weekly periods
    >>> clv = CLVEstimator(time_unit="W", horizon=12).fit(table)
    >>> clv.predict(table.head(3)).round(2).tolist()
    [36.3, 4.64, 8.35]
    >>> clv.set_output(transform="pandas").transform(table.head(2)).round(2)
    ... # doctest: +NORMALIZE_WHITESPACE
                   clv
    customer_id
    1            36.30
    2             4.64
    """

    _parameter_constraints: dict = {
        "transaction_model": [BaseTransactionModel, None],
        "spend_model": [HasMethods(["fit", "predict"]), None],
        "horizon": [Interval(numbers.Integral, 1, None, closed="left")],
        "time_unit": [StrOptions(set(TIME_UNITS)), None],
        "horizon_unit": [StrOptions(set(TIME_UNITS))],
        "discount_rate": [Interval(numbers.Real, 0, None, closed="left")],
        "margin": [Interval(numbers.Real, 0, None, closed="neither")],
        "lifetimes_compat": ["boolean"],
    }

    def __init__(self, transaction_model=None, spend_model=None, *, horizon=12,
                 time_unit="W", horizon_unit="M", discount_rate=0.01, margin=1.0,
                 lifetimes_compat=False):
        self.transaction_model = transaction_model
        self.spend_model = spend_model
        self.horizon = horizon
        self.time_unit = time_unit
        self.horizon_unit = horizon_unit
        self.discount_rate = discount_rate
        self.margin = margin
        self.lifetimes_compat = lifetimes_compat

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags

    # ---- input -------------------------------------------------------------------------
    def _validate_X(self, X, reset: bool, sample_weight=None, fitting: bool = False):
        frame = select_columns(X, CLV_COLUMNS, type(self).__name__)
        check_not_empty(frame, what="customer table")
        sw = check_fit_weights(sample_weight, len(frame)) if fitting else None
        check_nonnegative_columns(frame, CLV_COLUMNS)
        arrays = check_customer_table(frame, columns=CLV_COLUMNS)
        raise_bad_rows(frame, (arrays["frequency"] > 0) & (arrays["monetary_value"] <= 0),
                       "monetary_value",
                       "have repeat purchases but a monetary_value of 0 (the mean value of "
                       "the repeat purchases must be positive)",
                       hint="Remove these customers or give their purchases a value.")
        validate_input(self, frame if isinstance(X, pd.DataFrame) else np.asarray(X),
                       reset=reset, skip_check_array=True)
        clean = pd.DataFrame(arrays, index=frame.index)
        return (clean, arrays, sw) if fitting else (clean, arrays)

    def _resolve_time_unit(self, X, model) -> str:
        found = X.attrs.get("time_unit") if isinstance(X, pd.DataFrame) else None
        unit = self.time_unit if self.time_unit is not None else found
        if unit is None:
            unit = model.time_unit
        if unit is None:
            raise InvalidParameterError(
                "CLVEstimator needs the time unit of the customer table: set time_unit "
                "('D', 'W', 'M' ...).")
        if found is not None and found != unit:
            raise InvalidParameterError(
                f"The customer table is in time unit {found!r} (attrs['time_unit']) but "
                f"CLVEstimator has time_unit={unit!r}; summarise the transactions in that "
                "unit or change time_unit.")
        if model.time_unit is not None and model.time_unit != unit:
            raise InvalidParameterError(
                f"The transaction model has time_unit={model.time_unit!r} but CLVEstimator "
                f"has time_unit={unit!r}; give them the same unit (or leave the model's "
                "None).")
        return unit

    # ---- fitting -----------------------------------------------------------------------
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None, sample_weight=None):
        """Fit the transaction model on every customer and the spend model on the repeat
        customers.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)
            Customer table with ``frequency``, ``recency``, ``T`` (in ``time_unit``) and
            ``monetary_value`` (mean value of the repeat purchases, 0 without one),
            selected by name from a DataFrame or in this order from an array.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None
            Weight of each customer, passed to both models.

        Returns
        -------
        self

        Raises
        ------
        EmptyDataError
            When no customer with a positive weight has a repeat purchase: the spend
            model has nothing to learn from (the message names column ``frequency``).
        """
        from ._bgnbd import BetaGeo
        from ._gammagamma import GammaGamma

        transaction = clone(self.transaction_model if self.transaction_model is not None
                            else BetaGeo())
        spend = clone(self.spend_model if self.spend_model is not None else GammaGamma())
        if not transaction._time_columns:
            raise InvalidParameterError(
                f"CLVEstimator needs a continuous-time transaction model; "
                f"{type(transaction).__name__} counts discrete opportunities.")
        unit = self._resolve_time_unit(X, transaction)
        periods_per_horizon_unit(unit, self.horizon_unit, self.lifetimes_compat)  # checks
        frame, arrays, sw = self._validate_X(X, reset=True, sample_weight=sample_weight,
                                             fitting=True)
        repeat = arrays["frequency"] > 0
        if not np.any(repeat & (sw > 0)):
            raise EmptyDataError(
                f"Column 'frequency': no customer has a repeat purchase (frequency > 0) "
                f"with a positive weight, in {len(frame)} rows; the spend model "
                f"({type(spend).__name__}) learns the value of a purchase from repeat "
                "customers, so a CLV needs at least one.")
        if transaction.time_unit is None:
            transaction.set_params(time_unit=unit)
        transaction.fit(frame[["frequency", "recency", "T"]], sample_weight=sw)
        spend.fit(frame.loc[repeat, ["frequency", "monetary_value"]],
                  sample_weight=sw[repeat])
        self.transaction_model_ = transaction
        self.spend_model_ = spend
        self.time_unit_ = unit
        return self

    # ---- prediction --------------------------------------------------------------------
    def _step(self) -> float:
        """Table periods per ``horizon_unit`` period (read at prediction time, so that
        ``horizon``, ``horizon_unit``, ``discount_rate`` and ``margin`` can change after
        ``fit`` without refitting)."""
        return periods_per_horizon_unit(self.time_unit_, self.horizon_unit,
                                        self.lifetimes_compat)

    def _discounted_purchases(self, params, columns, step) -> np.ndarray:
        model = self.transaction_model_

        def expected(t):
            return model._expected_purchases(params, float(t), *columns)

        return discounted_expected_purchases(expected, self.horizon, step,
                                             self.discount_rate)

    def _discounted_purchases_draws(self, draws, columns, step) -> np.ndarray:
        """Discounted purchases for each parameter draw (rows) and history (columns).

        All draws at once where the transaction model's functions broadcast parameter
        arrays (``_broadcasts_params``: parameters of shape ``(n_draws, 1)`` against
        columns of shape ``(n,)``); otherwise one draw at a time.
        """
        if getattr(self.transaction_model_, "_broadcasts_params", False):
            params = np.ascontiguousarray(draws.T)[:, :, None]  # (n_params, n_draws, 1)
            return np.asarray(self._discounted_purchases(params, columns, step),
                              dtype=np.float64)
        out = np.empty((len(draws), len(columns[0])))
        for d, params in enumerate(draws):
            out[d] = self._discounted_purchases(params, columns, step)
        return out

    def _spend(self, frame: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.spend_model_.predict(frame[["frequency", "monetary_value"]]),
                          dtype=np.float64)

    def _components(self, X):
        check_is_fitted(self, "transaction_model_")
        frame, arrays = self._validate_X(X, reset=False)
        cols = [arrays[c] for c in ("frequency", "recency", "T")]
        distinct, _, inverse = compress_rows(cols)
        params = self.transaction_model_.params_.to_numpy(dtype=np.float64)
        purchases = self._discounted_purchases(params, distinct, self._step())[inverse]
        spend = self._spend(frame)
        return frame, distinct, inverse, purchases, spend

    def predict(self, X) -> np.ndarray:
        """Discounted customer lifetime value of each customer over ``horizon``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)
            Customer table (``frequency``, ``recency``, ``T``, ``monetary_value``).

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        _, _, _, purchases, spend = self._components(X)
        return self.margin * spend * purchases

    def predict_components(self, X) -> pd.DataFrame:
        """The pieces of the CLV of each customer.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)

        Returns
        -------
        DataFrame
            Indexed like ``X``: ``expected_purchases`` (over the horizon, undiscounted),
            ``discounted_purchases``, ``expected_spend`` (per purchase), ``p_alive`` (at
            the end of observation) and ``clv``.
        """
        frame, distinct, inverse, purchases, spend = self._components(X)
        model = self.transaction_model_
        params = model.params_.to_numpy(dtype=np.float64)
        total_t = self.horizon * self._step()
        expected = np.asarray(model._expected_purchases(params, total_t, *distinct))[inverse]
        alive = np.asarray(model._probability_alive(params, *distinct))[inverse]
        return pd.DataFrame({"expected_purchases": expected,
                             "discounted_purchases": purchases,
                             "expected_spend": spend, "p_alive": alive,
                             "clv": self.margin * spend * purchases}, index=frame.index)

    def predict_interval(self, X, alpha=0.05, n_draws=500, random_state=None) -> pd.DataFrame:
        """CLV with an interval reflecting the uncertainty of the models' parameters.

        The log-parameters of the transaction model and of the spend model are drawn
        independently from the asymptotic normal law of their maximum-likelihood
        estimates (mean the estimates, covariance the inverse observed information; see
        :func:`sample_log_normal_params`), each in the space its fit works in (for
        Gamma-Gamma ``log(p, q - 1, v)`` with ``covariance_log_``, so that every draw has
        ``q > 1`` and a finite spend); the CLV of every customer is computed for
        each draw, and the interval is given by the ``alpha / 2`` and ``1 - alpha / 2``
        quantiles over the draws. It does not include the randomness of each customer's
        future purchases, only the estimation error of the parameters.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)
            Customer table (``frequency``, ``recency``, ``T``, ``monetary_value``).
        alpha : float, default=0.05
            One minus the coverage of the interval.
        n_draws : int, default=500
            Number of parameter draws.
        random_state : int, RandomState instance or None, default=None
            Seed of the draws.

        Returns
        -------
        DataFrame
            Indexed like ``X``: ``clv`` (the point prediction, at the estimates),
            ``lower`` and ``upper``.

        Notes
        -----
        The expected purchases are evaluated once per distinct history ``(frequency,
        recency, T)``, the spend once per distinct customer row. The draws x customers
        values are computed in blocks of at most 2**19 values (bounded memory); within a
        block, every draw is evaluated at once when the transaction model's functions
        broadcast parameter arrays (BG/NBD, MBG/NBD), else draw by draw on all the
        block's histories (Pareto/NBD); the Gamma-Gamma spend of all draws at once.
        """
        check_is_fitted(self, "transaction_model_")
        if not (isinstance(alpha, numbers.Real) and 0 < alpha < 1):
            raise InvalidParameterError(f"alpha must be in (0, 1), got {alpha!r}.")
        if not (isinstance(n_draws, numbers.Integral) and n_draws >= 2):
            raise InvalidParameterError(f"n_draws must be an integer >= 2, got {n_draws!r}.")
        for name, model in (("transaction_model_", self.transaction_model_),
                            ("spend_model_", self.spend_model_)):
            if not (hasattr(model, "params_") and hasattr(model, "covariance_")):
                raise InvalidParameterError(
                    f"predict_interval needs models with params_ and covariance_; "
                    f"{name} ({type(model).__name__}) has none.")
        frame, arrays = self._validate_X(X, reset=False)
        rng = check_random_state(random_state)
        tm, sm = self.transaction_model_, self.spend_model_
        t_draws = sample_log_normal_params(tm.params_.to_numpy(float), tm.covariance_,
                                           n_draws, rng)
        s_draws = _spend_param_draws(sm, n_draws, rng)

        cols = [arrays[c] for c in ("frequency", "recency", "T", "monetary_value")]
        (x, t_x, T, m), _, inverse = compress_rows(cols)
        # the purchases depend on the history (x, t_x, T) only: evaluate them once per
        # distinct history; rows sorted by history so that each block of rows needs a
        # contiguous range of histories
        (hx, hT, ht_x), _, history = compress_rows([x, T, t_x])
        order = np.argsort(history, kind="stable")
        x, t_x, T, m, history = x[order], t_x[order], T[order], m[order], history[order]
        n_rows = len(x)
        block = max(1, _DRAW_BLOCK // n_draws)
        step = self._step()
        q = [alpha / 2.0, 1.0 - alpha / 2.0]
        lower = np.empty(n_rows)
        upper = np.empty(n_rows)
        for start in range(0, n_rows, block):
            sl = slice(start, start + block)
            first, last = history[sl][0], history[sl][-1] + 1
            hs = slice(first, last)
            purchases = self._discounted_purchases_draws(t_draws, (hx[hs], ht_x[hs], hT[hs]),
                                                         step)
            values = purchases[:, history[sl] - first]
            values *= self.margin * self._spend_draws(s_draws, x[sl], m[sl])
            with np.errstate(invalid="ignore"):
                lower[sl], upper[sl] = np.quantile(values, q, axis=0)
        rank = np.empty_like(order)
        rank[order] = np.arange(n_rows)
        point = self.predict(frame)
        return pd.DataFrame({"clv": point, "lower": lower[rank][inverse],
                             "upper": upper[rank][inverse]}, index=frame.index)

    def _spend_draws(self, draws: np.ndarray, x: np.ndarray, m: np.ndarray) -> np.ndarray:
        """Expected spend per purchase for each draw (rows) and customer (columns)."""
        from ._gammagamma import GammaGamma, gammagamma_expected_value

        if type(self.spend_model_) is GammaGamma:
            p, q, v = (draws[:, j : j + 1] for j in range(3))
            return gammagamma_expected_value((p, q, v), x[None, :], m[None, :])
        frame = pd.DataFrame({"frequency": x, "monetary_value": m})
        return np.vstack([
            np.asarray(_with_params(self.spend_model_, d).predict(frame), dtype=np.float64)
            for d in draws])

    def transform(self, X):
        """The CLV as one feature column.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)

        Returns
        -------
        ndarray of shape (n_customers, 1)
            Column ``clv`` (a DataFrame with ``set_output(transform="pandas")``).
        """
        return self.predict(X)[:, None]

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """Names of the columns of :meth:`transform`.

        Parameters
        ----------
        input_features : ignored

        Returns
        -------
        ndarray of str
        """
        check_is_fitted(self, "transaction_model_")
        return np.asarray(["clv"], dtype=object)

    def score_samples(self, X) -> np.ndarray:
        """Joint log-likelihood of each customer under the two models.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)

        Returns
        -------
        ndarray of shape (n_customers,)
            The transaction model's log-likelihood of ``(frequency, recency, T)`` plus the
            spend model's log-density of ``monetary_value`` given ``frequency`` (0 for
            customers without repeat purchase); the models are independent, so this is
            the log-likelihood of the whole history. A spend model without
            ``score_samples`` contributes 0.
        """
        check_is_fitted(self, "transaction_model_")
        frame, _ = self._validate_X(X, reset=False)
        ll = np.asarray(self.transaction_model_.score_samples(
            frame[["frequency", "recency", "T"]]), dtype=np.float64)
        if hasattr(self.spend_model_, "score_samples"):
            ll = ll + np.asarray(self.spend_model_.score_samples(
                frame[["frequency", "monetary_value"]]), dtype=np.float64)
        return ll

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean joint log-likelihood per customer (see :meth:`score_samples`).

        Higher is better, so ``GridSearchCV`` can tune the models' parameters
        (``transaction_model__penalizer``, ``spend_model__penalizer``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 4)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None

        Returns
        -------
        float
        """
        return float(np.average(self.score_samples(X), weights=sample_weight))

