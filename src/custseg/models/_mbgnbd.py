"""MBG/NBD model (Batislam, Denizel & Filiztekin 2007): the BG/NBD in which a customer may
also drop out right after the first purchase.

The formulas are those of :mod:`custseg.models._bgnbd` with ``m = 1``.
"""

from __future__ import annotations

from ._bgnbd import (
    _BGFamily,
    bg_family_expected_purchases,
    bg_family_loglik,
    bg_family_loglik_grad,
    bg_family_probability_alive,
    bg_family_purchase_probability,
    bg_family_sample,
)

__all__ = [
    "ModifiedBetaGeo",
    "mbgnbd_loglik",
    "mbgnbd_loglik_grad",
    "mbgnbd_probability_alive",
    "mbgnbd_expected_purchases",
    "mbgnbd_purchase_probability",
    "mbgnbd_sample",
]


def mbgnbd_loglik(params, x, t_x, T):
    r"""Log-likelihood of each customer under the MBG/NBD.

    .. math::
        L = \frac{B(a, b+x+1)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
          + \frac{B(a+1, b+x)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}
    """
    return bg_family_loglik(params, x, t_x, T, 1)


def mbgnbd_loglik_grad(params, data, weights):
    """Weighted log-likelihood of the MBG/NBD and its gradient in ``(r, alpha, a, b)``."""
    return bg_family_loglik_grad(params, data, weights, 1)


def mbgnbd_probability_alive(params, x, t_x, T):
    """P(alive | x, t_x, T) = 1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))."""
    return bg_family_probability_alive(params, x, t_x, T, 1)


def mbgnbd_expected_purchases(params, t, x, t_x, T):
    """E[X(T, T+t] | x, t_x, T] under the MBG/NBD."""
    return bg_family_expected_purchases(params, t, x, t_x, T, 1)


def mbgnbd_purchase_probability(params, n, t, x, t_x, T):
    """P(X(T, T+t] = n | x, t_x, T) under the MBG/NBD."""
    return bg_family_purchase_probability(params, n, t, x, t_x, T, 1)


def mbgnbd_sample(params, T, rng):
    """Simulate MBG/NBD customers of ages ``T``."""
    return bg_family_sample(params, T, rng, 1)


class ModifiedBetaGeo(_BGFamily):
    r"""MBG/NBD model of repeat purchases.

    As :class:`BetaGeo`, except that a customer may drop out after every purchase, the
    first one included: with probability ``p ~ Beta(a, b)`` a customer never returns after
    the first purchase, so customers without repeat purchase are not certainly alive.

    Parameters
    ----------
    penalizer : float, default=0.0
        L2 penalty ``penalizer * sum(params**2)`` added to the mean negative
        log-likelihood (parameters in the table's time unit).
    horizon : float or None, default=None
        Window of :meth:`predict` and :meth:`transform` in the table's time unit; None is
        one year when the time unit is known, else 52 periods.
    time_unit : {"h", "D", "W", "M", "Q", "Y"} or None, default=None
        Unit of ``recency`` and ``T`` (None: the table's ``attrs["time_unit"]`` if any).
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
        ``r``, ``alpha`` (in the table's time unit), ``a``, ``b``.
    stderr_ : Series
        Standard errors from the observed information (delta method).
    covariance_ : DataFrame
        Covariance matrix of the estimates (delta method,
        ``diag(params_) @ covariance_log_ @ diag(params_)``).
    covariance_log_ : DataFrame
        Covariance matrix of the log-parameters, the space the optimiser works in: the
        inverse observed information (the Hessian of the total negative
        log-likelihood, penalised when ``penalizer > 0``, in ``log(params_)``). The
        asymptotic law of the estimates is log-normal with this covariance; ``inf`` rows
        and columns for parameters the data do not identify.
    loglik_ : float
        Total log-likelihood of the training table at ``params_``.
    converged_ : bool
        Whether the optimiser converged to an interior optimum.
    n_iter_ : int
        Optimiser iterations.
    time_unit_ : str or None
        The resolved time unit of the table.
    data_summary_ : dict
        ``n_customers``, ``n_distinct_rows``, ``max_frequency``, ``max_age``,
        ``mean_age`` of the training table.
    n_features_in_ : int
        Number of columns seen in ``fit``.
    feature_names_in_ : ndarray of str
        The selected column names when ``X`` was a DataFrame.

    See Also
    --------
    BetaGeo : drop-out only after repeat purchases.

    Notes
    -----
    Likelihood of a customer (Batislam, Denizel & Filiztekin 2007):

    .. math::
        L = \frac{B(a, b+x+1)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+T)^{r+x}}
          + \frac{B(a+1, b+x)}{B(a,b)}
            \frac{\Gamma(r+x)\,\alpha^r}{\Gamma(r)(\alpha+t_x)^{r+x}}.

    ``probability_alive`` is ``1 / (1 + a/(b+x) ((alpha+T)/(alpha+t_x))^(r+x))`` and the
    conditional expectation

    .. math::
        E[X(T, T+t]] = \frac{a+b+x}{a-1}
        \left[1 - \left(\frac{\alpha+T}{\alpha+T+t}\right)^{r+x}
        {}_2F_1\!\left(r+x, b+x+1; a+b+x; \frac{t}{\alpha+T+t}\right)\right]
        P(\text{alive}).

    References
    ----------
    Batislam, E. P., Denizel, M. and Filiztekin, A. (2007), "Empirical validation and
    comparison of models for customer base analysis", International Journal of Research
    in Marketing 24(3), 201-209 (the MBG/NBD likelihood and conditional expectation; the
    expressions above follow from the BG/NBD derivations of Fader, Hardie & Lee 2005 with
    drop-out possible at the first purchase).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import ModifiedBetaGeo
    >>> model = ModifiedBetaGeo().fit(load_cdnow_summary())
    >>> model.params_.round(4).to_dict()
    {'r': 0.5248, 'alpha': 6.183, 'a': 0.8914, 'b': 1.614}
    """

    _m = 1
