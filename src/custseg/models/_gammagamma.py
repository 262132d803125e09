"""Gamma-Gamma model of the average value of a customer's purchases.

Each purchase of a customer is worth ``z ~ Gamma(p, nu)`` (shape ``p``, rate ``nu``), and
the rates vary across customers as ``nu ~ Gamma(q, v)`` (shape ``q``, rate ``v``). What is
observed is the mean ``m`` of a customer's ``x`` repeat purchases; the model predicts the
customer's expected purchase value, shrinking ``m`` towards the population mean the fewer
purchases there are. It assumes spend is independent of the purchase process, so it
combines with any transaction model in a CLV.

The population mean ``p v / (q - 1)`` exists only for ``q > 1``, so the fit estimates
``log(q - 1)`` rather than ``log q``: every fitted model has a finite population mean and
finite predictions. When the likelihood keeps rising as ``q`` falls to 1 (spend too
heavy-tailed for a finite mean) the estimate stops at the edge of the search space and
the fit warns.
"""

from __future__ import annotations

import numbers
import warnings

import numpy as np
import pandas as pd
from scipy import special
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from .._serialize import SerializableMixin
from .._validation import (
    check_customer_table,
    check_not_empty,
    raise_bad_rows,
    validate_input,
)
from ..exceptions import ConvergenceWarning, EmptyDataError, InvalidParameterError
from ._base import check_fit_weights, check_nonnegative_columns, select_columns
from ._mle import LOG_BOUNDS, CustomerArrays, compress_rows, dot1d, fit_mle, start_grid

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
    ``x = 0`` it is the population mean, which exists only for ``q > 1`` (as fitted by
    :class:`GammaGamma`); ``inf`` where ``p x + q <= 1`` (parameters set by hand).
    """
    p, q, v = params
    x = np.asarray(x, dtype=np.float64)
    m = np.asarray(m, dtype=np.float64)
    with np.errstate(divide="ignore"):
        denom = p * x + q - 1.0
        out = p * (v + x * m) / denom
    return np.where(denom > 0, out, np.inf)


def _shifted_loglik(penalizer):
    """The log-likelihood of each row at ``(p, q - 1, v)``, the parameters the fit
    optimises, less ``penalizer * (q**2 - (q - 1)**2)`` so that the optimiser's penalty
    on ``(p, q - 1, v)`` becomes the documented penalty on ``(p, q, v)``."""
    def loglik(params, data):
        p, q1, v = params
        return (gammagamma_loglik((p, 1.0 + q1, v), data["frequency"],
                                  data["monetary_value"]) - penalizer * (2.0 * q1 + 1.0))
    return loglik


def _shifted_loglik_grad(penalizer, hessian=False):
    """:func:`gammagamma_loglik_grad` at ``(p, q - 1, v)`` with the penalty shift of
    :func:`_shifted_loglik` (derivatives in ``q - 1`` and ``q`` are the same)."""
    def loglik_grad(params, data, weights):
        p, q1, v = params
        out = gammagamma_loglik_grad((p, 1.0 + q1, v), data, weights, hessian)
        if not penalizer:
            return out
        W = float(np.sum(weights))
        grad = out[1].copy()
        grad[1] -= 2.0 * penalizer * W
        return (out[0] - penalizer * (2.0 * q1 + 1.0) * W, grad, *out[2:])
    return loglik_grad


def _q_falls_to_one(params, data, weights, penalizer) -> bool:
    """Whether the (penalised) likelihood keeps rising as ``q`` falls to 1 at the fitted
    ``params``: the Newton step of the profile log-likelihood in ``q`` (``p`` and ``v``
    re-optimised, through the Schur complement of the Hessian) lands at ``q <= 1``.

    In the optimiser's ``log(q - 1)`` the gradient vanishes like ``q - 1`` as ``q`` falls
    to 1, so the optimiser may stop anywhere on the way there (``q - 1`` far below 0.01)
    and report convergence. At an interior optimum the step is about 0.
    """
    p, q, v = params
    if not q - 1.0 < 1e-2:  # not on the way to 1 (an optimiser stopped early elsewhere)
        return False
    _, g, H = gammagamma_loglik_grad(params, data, weights, hessian=True)
    W = float(np.sum(weights))
    g = g - 2.0 * penalizer * W * np.asarray(params)
    H = H - 2.0 * penalizer * W * np.eye(3)
    others = [0, 2]
    h = H[1, others]
    try:
        curvature = H[1, 1] - h @ np.linalg.solve(H[np.ix_(others, others)], h)
    except np.linalg.LinAlgError:
        curvature = H[1, 1]
    if not (np.isfinite(curvature) and np.isfinite(g[1])):
        return False
    if curvature >= 0:
        return bool(g[1] < 0)
    return bool(q - g[1] / curvature <= 1.0)


def _warn_not_converged(result, log_params, params, edge_cause, n_repeat, penalizer):
    """One :class:`~custseg.exceptions.ConvergenceWarning` saying why the fit failed;
    a specific one when ``q`` falls to 1 (``edge_cause``: "data" when the spend is too
    heavy-tailed, "penalty" when the penalty alone pulls it there)."""
    at_edge = np.abs(np.abs(log_params) - LOG_BOUNDS[1]) < 1e-3
    p, q, v = params
    if edge_cause == "penalty":
        reason = (
            f"the penalty (penalizer={penalizer:g}) pulls q to 1, the edge of the values "
            "with a finite population mean p v / (q - 1) (here q - 1 = "
            f"{q - 1.0:.3g} and the population mean is {p * v / (q - 1.0):.3g}); use a "
            "smaller penalizer (it applies to p, q and v in the table's currency)")
    elif edge_cause == "data":
        reason = (
            f"the likelihood keeps rising as q falls to 1 (here q - 1 = {q - 1.0:.3g}): "
            f"the spend of the {n_repeat:.0f} repeat customers is too heavy-tailed for "
            "the Gamma-Gamma model, whose population mean p v / (q - 1) is finite only "
            "for q > 1. q is held just above 1, so the expected spend of customers "
            f"without repeat purchase (the population mean, {p * v / (q - 1.0):.3g}) is "
            "very large and the others are shrunk towards it; look for outliers in "
            "monetary_value, cap it, or use another spend model")
    elif not np.isfinite(result.objective):
        reason = ("the log-likelihood is not finite at any starting point; check "
                  "monetary_value")
    elif at_edge.any():
        names = ", ".join(f"{n}={val:.3g}" for n, val, edge in
                          zip(("p", "q - 1", "v"), (p, q - 1.0, v), at_edge) if edge)
        reason = (f"parameter(s) {names} reached the edge of the search space: the data "
                  "do not identify them (for example when every repeat customer spent "
                  "the same); their standard errors are set to inf")
    elif np.all(np.isfinite(result.cov_log)):
        reason = (f"the optimiser stopped after {result.n_iter} iterations: "
                  f"{result.message}. Try a larger max_iter, a small penalizer (for "
                  "example 1e-4) or more starting points (n_init)")
    else:
        reason = ("the Hessian of the log-likelihood is not positive definite at the "
                  "optimum, so the parameters are poorly identified; try a small "
                  "penalizer (for example 1e-4); standard errors are set to inf")
    warnings.warn(f"GammaGamma did not converge: {reason}.", ConvergenceWarning,
                  stacklevel=4)


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
        Standard errors from the observed information (delta method); inf for a
        parameter at the edge of the search space.
    covariance_ : DataFrame
        Covariance matrix of the estimates.
    covariance_log_ : DataFrame
        Covariance matrix of ``log(p)``, ``log(q - 1)``, ``log(v)`` (rows and columns
        ``p``, ``q - 1``, ``v``), the space the optimiser works in: the inverse observed
        information there (penalised when ``penalizer > 0``). The asymptotic law of the
        estimates is ``q = 1 + e^u`` etc. with ``u`` normal of this covariance, so draws
        keep ``q > 1``; ``inf`` rows and columns for parameters the data do not identify.
    loglik_ : float
        Total log-likelihood of the repeat customers at ``params_``.
    converged_ : bool
        Whether the optimiser converged to an interior optimum (False when ``q`` falls
        to its edge 1, see the Notes).
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

    The population mean ``p v / (q - 1)``, the expected spend of a customer without repeat
    purchase, exists only for ``q > 1``. The fit therefore works with ``log(q - 1)``
    (``q = 1 + e^u``): a fitted model always has ``q > 1`` and finite predictions, and
    where the optimum is interior (CDNOW: ``q = 3.74``) it is the unconstrained maximum
    of the likelihood. When the likelihood keeps rising as ``q`` falls to 1, the spend is
    too heavy-tailed for a finite mean (a few very large amounts): ``q - 1`` stops at the
    edge of the search space (about ``1.5e-8``), ``converged_`` is False and a
    :class:`~custseg.exceptions.ConvergenceWarning` says so; the population mean is then
    finite but very large.

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
    #: The fit estimates log(params_ - _log_shift): log(p), log(q - 1), log(v).
    _log_shift = (0.0, 1.0, 0.0)
    _log_param_names = ("p", "q - 1", "v")
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
        validate_input(self, frame if isinstance(X, pd.DataFrame) else np.asarray(X),
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

        Warns
        -----
        ConvergenceWarning
            When the fit fails (``converged_`` is then False); in particular when the
            likelihood keeps rising as ``q`` falls to 1, the edge of the values with a
            finite population mean (spend too heavy-tailed, or too strong a penalty).
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
        penalizer = float(self.penalizer)
        result, params, log_params, at_one = self._fit_shifted(scaled, fit_data, weights,
                                                               log_scale, penalizer)
        edge_cause = None
        if at_one:  # the data, or the penalty alone (then an unpenalised fit is interior)?
            edge_cause = ("data" if not penalizer or self._fit_shifted(
                scaled, fit_data, weights, log_scale, 0.0)[3] else "penalty")
        cov = result.cov.copy()
        cov_log = np.array(result.cov_log, dtype=np.float64, copy=True)
        if edge_cause:  # q sits at its edge: not identified, as fit_mle marks a bound
            cov[1, :] = cov[:, 1] = np.inf
            cov_log[1, :] = cov_log[:, 1] = np.inf
        converged = result.converged and not edge_cause
        if not converged:
            _warn_not_converged(result, log_params, params, edge_cause, weights.sum(),
                                penalizer)
        names = list(self._param_names)
        self.params_ = pd.Series(params, index=names, name="coef")
        self.stderr_ = pd.Series(np.sqrt(np.diag(cov)), index=names, name="se")
        self.covariance_ = pd.DataFrame(cov, index=names, columns=names)
        log_names = list(self._log_param_names)
        self.covariance_log_ = pd.DataFrame(cov_log, index=log_names, columns=log_names)
        self.loglik_ = float(dot1d(weights, gammagamma_loglik(params, xd, md)))
        self.converged_ = converged
        self.n_iter_ = result.n_iter
        self.n_repeat_customers_ = float(weights.sum())
        return self

    def _fit_shifted(self, scaled, data, weights, log_scale, penalizer):
        """Maximise the (penalised) likelihood over ``(p, q - 1, v)``, so that ``q > 1``
        (a finite population mean). Returns the :class:`MLEResult`, ``(p, q, v)``, the
        optimiser's log-parameters and whether ``q`` falls to 1."""
        starts = start_grid(self._start_grid, self._param_names) - np.array([0.0, 1.0, 0.0])
        result = fit_mle(
            _shifted_loglik(penalizer), scaled, weights, starts,
            loglik_grad=_shifted_loglik_grad(penalizer),
            loglik_hess=_shifted_loglik_grad(penalizer, hessian=True),
            param_names=("p", "q - 1", "v"),
            scale_exponents=(0.0, 0.0, 1.0), log_scale=log_scale, penalizer=penalizer,
            n_init=self.n_init, max_iter=self.max_iter, tol=self.tol,
            random_state=self.random_state, estimator_name="GammaGamma", warn=False)
        params = result.params + np.array([0.0, 1.0, 0.0])
        log_params = np.log(result.params) + np.array([0.0, 0.0, log_scale])
        at_one = bool(np.isfinite(result.objective)) and (
            log_params[1] < LOG_BOUNDS[0] + 1e-3
            or _q_falls_to_one(params, data, weights, penalizer))
        return result, params, log_params, at_one

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
        """Mean purchase value of the population, ``p v / (q - 1)`` (finite: the fit keeps
        ``q > 1``).

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
