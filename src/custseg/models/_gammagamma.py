"""Gamma-Gamma model of the average value of a customer's purchases.

Each purchase of a customer is worth ``z ~ Gamma(p, nu)`` (shape ``p``, rate ``nu``), and
the rates vary across customers as ``nu ~ Gamma(q, v)`` (shape ``q``, rate ``v``). What is
observed is the mean ``m`` of a customer's ``x`` repeat purchases; the model predicts the
customer's expected purchase value, shrinking ``m`` towards the population mean the fewer
purchases there are. It assumes spend is independent of the purchase process, so it
combines with any transaction model in a CLV.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted, validate_data

from .._serialize import SerializableMixin
from .._validation import check_customer_table, check_not_empty, raise_bad_rows
from ..exceptions import EmptyDataError, InvalidParameterError
from ._base import (
    CustomerArrays,
    check_fit_weights,
    check_nonnegative_columns,
    compress_rows,
    dot1d,
    fit_mle,
    select_columns,
    start_grid,
)

__all__ = [
    "GammaGamma",
    "gammagamma_loglik",
    "gammagamma_loglik_grad",
    "gammagamma_expected_value",
]

_COLUMNS = ("frequency", "monetary_value")


def gammagamma_loglik(params, x, m):
    r"""Log-density of each customer's mean purchase value ``m`` given ``x`` purchases.

    .. math::
        \log f(m \mid x) = \log\frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}
            + q\log v + (px-1)\log m + px\log x - (px+q)\log(v + xm)

    Parameters
    ----------
    params : array-like
        ``(p, q, v)``.
    x, m : array-like
        Number of repeat purchases (> 0) and their mean value (> 0).

    Returns
    -------
    ndarray
    """
    p, q, v = params
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    px = p * x
    return (special.gammaln(px + q) - special.gammaln(px) - special.gammaln(q)
            + q * np.log(v) + (px - 1.0) * np.log(m) + px * np.log(x)
            - (px + q) * np.log(v + x * m))


def _gg_prepare(data: CustomerArrays, weights):
    """Parameter-free sums of a fit: weights and ``x log x`` per distinct frequency, and
    the weighted sums of ``log m`` and ``x log m``."""
    def build():
        x, m = data["frequency"], data["monetary_value"]
        xv, xi = data.distinct("frequency")
        w = weights
        log_m = np.log(m)
        return {"xv": xv, "W_x": np.bincount(xi, weights=w, minlength=len(xv)),
                "W": float(w.sum()), "S_logm": dot1d(w, log_m),
                "S_xlogm": dot1d(w * x, log_m), "w": w, "wx": w * x, "y": x * m}
    return data.cached("gamma-gamma", weights, build)


def gammagamma_loglik_grad(params, data: CustomerArrays, weights, hessian=False):
    """Weighted sum of :func:`gammagamma_loglik`, its gradient in ``(p, q, v)`` and, with
    ``hessian=True``, its Hessian.

    Terms of the frequency alone are evaluated once per distinct frequency; per customer
    only ``log(v + x m)`` (and ``1 / (v + x m)``) remain.
    """
    p, q, v = params
    P = _gg_prepare(data, weights)
    xv, W_x, W = P["xv"], P["W_x"], P["W"]
    w, wx, y = P["w"], P["wx"], P["y"]
    pxv = p * xv
    with np.errstate(divide="ignore", invalid="ignore"):
        xlogx = np.where(xv > 0, xv * np.log(xv), 0.0)
    L = np.log(v + y)
    h = 1.0 / (v + y)
    S_wL, S_wxL = dot1d(w, L), dot1d(wx, L)
    S_wh, S_wxh = dot1d(w, h), dot1d(wx, h)
    total = (dot1d(W_x, special.gammaln(pxv + q) - special.gammaln(pxv) + p * xlogx)
             + W * (q * np.log(v) - special.gammaln(q))
             + p * P["S_xlogm"] - P["S_logm"] - p * S_wxL - q * S_wL)
    dg_pxq = special.digamma(pxv + q)
    grad = np.array([
        dot1d(W_x * xv, dg_pxq - special.digamma(pxv)) + dot1d(W_x, xlogx)
        + P["S_xlogm"] - S_wxL,
        dot1d(W_x, dg_pxq) - W * special.digamma(q) + W * np.log(v) - S_wL,
        W * q / v - p * S_wxh - q * S_wh,
    ])
    if not hessian:
        return float(total), grad
    tg_pxq = special.polygamma(1, pxv + q)
    H = np.empty((3, 3))
    H[0, 0] = dot1d(W_x * xv**2, tg_pxq - special.polygamma(1, pxv))
    H[0, 1] = H[1, 0] = dot1d(W_x * xv, tg_pxq)
    H[0, 2] = H[2, 0] = -S_wxh
    H[1, 1] = dot1d(W_x, tg_pxq) - W * special.polygamma(1, q)
    H[1, 2] = H[2, 1] = W / v - S_wh
    h2 = h * h
    H[2, 2] = -W * q / v**2 + p * dot1d(wx, h2) + q * dot1d(w, h2)
    return float(total), grad, H


def gammagamma_expected_value(params, x, m):
    r"""Expected value of a customer's purchases given ``x`` purchases of mean ``m``.

    .. math::
        E[Z \mid x, m] = \frac{q-1}{px+q-1}\,\frac{pv}{q-1} + \frac{px}{px+q-1}\,m
                       = \frac{p\,(v + x m)}{px + q - 1},

    a weighted mean of the population mean ``pv / (q - 1)`` and the customer's mean. With
    ``x = 0`` it is the population mean, infinite when ``q <= 1``.
    """
    p, q, v = params
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(divide="ignore"):
        denom = p * x + q - 1.0
        out = p * (v + x * m) / denom
    return np.where(denom > 0, out, np.inf)


class GammaGamma(SerializableMixin, TransformerMixin, BaseEstimator):
    r"""Gamma-Gamma model of the value of a customer's purchases.

    Fitted by maximum likelihood on the repeat customers of a customer table
    (``frequency > 0``), from ``frequency`` and ``monetary_value`` (the mean value of the
    repeat purchases). ``predict`` returns each customer's expected purchase value; the
    population mean for customers without repeat purchase.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood, the parameters in the table's currency.
    n_init : int, default=2
        Optimiser runs from the best points of a fixed grid of starting values.
    max_iter : int, default=1000
        Iteration limit of each L-BFGS-B run.
    tol : float, default=1e-7
        Tolerance on the projected gradient of the mean negative log-likelihood.
    random_state : int, RandomState instance or None, default=None
        Seeds extra starts and the subsample used to search for starts on large tables.

    Attributes
    ----------
    params_ : Series
        ``p``, ``q``, ``v`` (``v`` in the table's currency).
    stderr_ : Series
        Standard errors from the observed information (delta method).
    covariance_ : DataFrame
        Covariance matrix of the estimates.
    loglik_ : float
        Total log-likelihood of the repeat customers at ``params_``.
    converged_ : bool
        Whether the optimiser converged to an interior optimum.
    n_iter_ : int
        Optimiser iterations.
    n_repeat_customers_ : float
        Number (sum of weights) of repeat customers the model was fitted on.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    Notes
    -----
    The mean ``m`` of ``x`` purchase values has the density

    .. math::
        f(m \mid p, q, v, x) = \frac{\Gamma(px+q)}{\Gamma(px)\Gamma(q)}
            \frac{v^q\, m^{px-1}\, x^{px}}{(v + xm)^{px+q}},

    and the expected value of the customer's purchases is

    .. math:: E[Z \mid x, m] = \frac{p\,(v + xm)}{px + q - 1}.

    The model assumes the purchase values are independent of the purchase process; check
    that ``frequency`` and ``monetary_value`` are weakly correlated.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "RFM and CLV: using iso-value
    curves for customer base analysis", Journal of Marketing Research 42(4), 415-430 (the
    Gamma-Gamma spend model).

    Fader, P. S. and Hardie, B. G. S. (2013), "The Gamma-Gamma model of monetary value",
    http://brucehardie.com/notes/025/ (the marginal density of ``m`` and the conditional
    expectation of ``Z``).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import GammaGamma
    >>> table = load_cdnow_summary()
    >>> model = GammaGamma().fit(table)
    >>> model.params_.round(2).to_dict()
    {'p': 6.25, 'q': 3.74, 'v': 15.45}
    >>> model.predict(table.head(3)).round(2).tolist()
    [24.66, 18.91, 35.17]
    """

    _param_names = ("p", "q", "v")
    _start_grid = {"p": (1.0, 6.0), "q": (2.0, 6.0), "v": (0.5, 4.0)}

    _parameter_constraints: dict = {
        "penalizer": [Interval(numbers.Real, 0, None, closed="left")],
        "n_init": [Interval(numbers.Integral, 1, None, closed="left")],
        "max_iter": [Interval(numbers.Integral, 1, None, closed="left")],
        "tol": [Interval(numbers.Real, 0, None, closed="neither")],
        "random_state": ["random_state"],
    }

    def __init__(self, *, penalizer=0.0, n_init=2, max_iter=1000, tol=1e-7,
                 random_state=None):
        self.penalizer = penalizer
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.positive_only = True
        tags.target_tags.required = False
        return tags

    def _validate_X(self, X, reset: bool, sample_weight=None, fitting: bool = False):
        frame = select_columns(X, _COLUMNS, "GammaGamma")
        check_not_empty(frame, what="customer table")
        sw = check_fit_weights(sample_weight, len(frame)) if fitting else None
        check_nonnegative_columns(frame, _COLUMNS)
        arrays = check_customer_table(frame, columns=_COLUMNS, recency_le_T=False)
        raise_bad_rows(frame, (arrays["frequency"] > 0) & (arrays["monetary_value"] <= 0),
                       "monetary_value",
                       "have repeat purchases but a monetary_value of 0 (the mean value of "
                       "the repeat purchases must be positive)")
        validate_data(self, frame if isinstance(X, pd.DataFrame) else np.asarray(X),
                      reset=reset, skip_check_array=True)
        data = CustomerArrays(arrays)
        return (data, sw) if fitting else data

    def _params_array(self):
        check_is_fitted(self, "params_")
        return self.params_.to_numpy(dtype=np.float64)

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None, sample_weight=None):
        """Estimate ``p``, ``q``, ``v`` on the customers with repeat purchases.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 2)
            Columns ``frequency`` and ``monetary_value`` (selected by name from a
            DataFrame, others ignored; in this order in an array). Customers with
            ``frequency == 0`` are ignored.
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None
            Weight of each customer.

        Returns
        -------
        self
        """
        data, sw = self._validate_X(X, reset=True, sample_weight=sample_weight, fitting=True)
        x, m = data["frequency"], data["monetary_value"]
        keep = (x > 0) & (sw > 0)
        if not keep.any():
            raise EmptyDataError(
                "Column 'frequency': no customer has a repeat purchase (frequency > 0) "
                "with a positive weight; the Gamma-Gamma model is fitted on repeat "
                "customers.")
        (xd, md), weights, _ = compress_rows([x[keep], m[keep]], sw[keep])
        log_scale = -np.log(np.median(md))
        fit_data = CustomerArrays({"frequency": xd, "monetary_value": md})
        scaled = fit_data.with_columns(monetary_value=md * np.exp(log_scale))
        result = fit_mle(
            lambda params, d: gammagamma_loglik(params, d["frequency"], d["monetary_value"]),
            scaled, weights, start_grid(self._start_grid, self._param_names),
            loglik_grad=gammagamma_loglik_grad,
            loglik_hess=lambda params, d, w: gammagamma_loglik_grad(params, d, w, True),
            param_names=self._param_names,
            scale_exponents=(0.0, 0.0, 1.0), log_scale=log_scale, penalizer=self.penalizer,
            n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
            random_state=self.random_state, estimator_name="GammaGamma")
        names = list(self._param_names)
        self.params_ = pd.Series(result.params, index=names, name="coef")
        self.stderr_ = pd.Series(np.sqrt(np.diag(result.cov)), index=names, name="se")
        self.covariance_ = pd.DataFrame(result.cov, index=names, columns=names)
        self.loglik_ = float(dot1d(weights, gammagamma_loglik(result.params, xd, md)))
        self.converged_ = result.converged
        self.n_iter_ = result.n_iter
        self.n_repeat_customers_ = float(weights.sum())
        return self

    def predict(self, X) -> np.ndarray:
        """Expected value of each customer's purchases (the population mean without
        repeat purchase).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 2)

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        return gammagamma_expected_value(params, data["frequency"], data["monetary_value"])

    def population_mean(self) -> float:
        """Mean purchase value of the population, ``p v / (q - 1)`` (inf if ``q <= 1``).

        Returns
        -------
        float
        """
        return float(gammagamma_expected_value(self._params_array(), 0.0, 0.0))

    def score_samples(self, X) -> np.ndarray:
        """Log-density of each customer's mean purchase value given the frequency (0 for
        customers without repeat purchase, who carry no information).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 2)

        Returns
        -------
        ndarray of shape (n_customers,)
        """
        params = self._params_array()
        data = self._validate_X(X, reset=False)
        x, m = data["frequency"], data["monetary_value"]
        out = np.zeros(len(x))
        rep = x > 0
        out[rep] = gammagamma_loglik(params, x[rep], m[rep])
        return out

    def score(self, X, y=None, sample_weight=None) -> float:
        """Mean of :meth:`score_samples` (weighted by ``sample_weight``).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 2)
        y : None
            Ignored.
        sample_weight : array-like of shape (n_customers,) or None

        Returns
        -------
        float
        """
        return float(np.average(self.score_samples(X), weights=sample_weight))

    def transform(self, X):
        """Expected purchase value as one feature.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_customers, 2)

        Returns
        -------
        ndarray of shape (n_customers, 1)
            Column ``expected_monetary_value``.
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
        check_is_fitted(self, "params_")
        return np.asarray(["expected_monetary_value"], dtype=object)

    def sample(self, frequency, random_state=None) -> pd.DataFrame:
        """Simulate the mean purchase value of customers with the given frequencies.

        Parameters
        ----------
        frequency : array-like of int
            Number of repeat purchases of each simulated customer.
        random_state : int, numpy Generator or None

        Returns
        -------
        DataFrame
            ``frequency``, ``monetary_value`` (0 without repeat purchase) and the latent
            rate ``nu``.
        """
        p, q, v = self._params_array()
        x = np.asarray(frequency, dtype=np.float64).ravel()
        if np.any(x < 0) or np.any(x != np.round(x)):
            raise InvalidParameterError("frequency must hold whole numbers >= 0.")
        rng = (random_state if isinstance(random_state, np.random.Generator)
               else np.random.default_rng(random_state))
        nu = rng.gamma(q, 1.0 / v, size=x.size)
        total = rng.gamma(np.maximum(p * x, 1e-300), 1.0 / nu)  # sum of x values
        m = np.where(x > 0, total / np.maximum(x, 1.0), 0.0)
        return pd.DataFrame({"frequency": x, "monetary_value": m, "nu": nu})

    def summary(self) -> pd.DataFrame:
        """Estimates with standard errors and 95% confidence intervals (log scale,
        back-transformed), as in :meth:`BaseTransactionModel.summary`.

        Returns
        -------
        DataFrame
            Columns ``coef``, ``se``, ``lower_95``, ``upper_95``.
        """
        check_is_fitted(self, "params_")
        coef, se = self.params_.to_numpy(), self.stderr_.to_numpy()
        with np.errstate(over="ignore", invalid="ignore"):
            half = 1.959963984540054 * se / coef
            lower, upper = coef * np.exp(-half), coef * np.exp(half)
        return pd.DataFrame({"coef": coef, "se": se, "lower_95": lower, "upper_95": upper},
                            index=self.params_.index)
