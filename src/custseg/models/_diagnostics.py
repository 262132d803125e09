"""Model checking with numbers: holdout errors and predicted versus observed counts.

Each function takes a fitted transaction model (``BetaGeo``, ``ModifiedBetaGeo``,
``ParetoNBD`` ...) and a table, and returns plain numbers or a DataFrame, which are also
the inputs of the diagnostic plots. The calibration/holdout table is the output of
:func:`custseg.features.calibration_holdout_split`: ``frequency_cal``, ``recency_cal``,
``T_cal`` describe each customer up to the end of the calibration window,
``frequency_holdout`` counts the purchases in the following ``duration_holdout`` periods.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd
from sklearn.utils.validation import check_is_fitted

from .._validation import (
    check_columns,
    check_customer_table,
    check_finite_numeric,
    check_nonnegative,
    check_not_empty,
    raise_bad_rows,
)
from ..exceptions import InvalidParameterError

__all__ = [
    "calibration_table",
    "holdout_errors",
    "expected_vs_actual_by_frequency",
    "simulated_vs_actual_repeat_counts",
]

_CAL = ("frequency", "recency", "T")
_HOLDOUT = ("frequency_holdout", "duration_holdout")


def calibration_table(table: pd.DataFrame, *, monetary: bool | None = None) -> pd.DataFrame:
    """The calibration columns of a table, under the names the models expect.

    Parameters
    ----------
    table : DataFrame
        A calibration/holdout table (``frequency_cal``, ``recency_cal``, ``T_cal``
        [, ``monetary_value_cal``]) or a customer table (``frequency``, ``recency``,
        ``T`` [, ``monetary_value``]). When both names exist, the plain names win.
    monetary : bool or None, default=None
        Include ``monetary_value``: True requires it, False leaves it out, None keeps it
        when present.

    Returns
    -------
    DataFrame
        Columns ``frequency``, ``recency``, ``T`` [, ``monetary_value``], indexed like
        ``table``.

    Examples
    --------
    >>> import pandas as pd
    >>> split = pd.DataFrame({"frequency_cal": [1.0], "recency_cal": [2.0],
    ...                       "T_cal": [5.0], "frequency_holdout": [0.0],
    ...                       "duration_holdout": [4.0]})
    >>> list(calibration_table(split).columns)
    ['frequency', 'recency', 'T']
    """
    if not isinstance(table, pd.DataFrame):
        check_columns(table, _CAL, what="customer table")  # raises: not a DataFrame
    names = list(_CAL)
    if monetary or (monetary is None and ("monetary_value" in table.columns
                                          or "monetary_value_cal" in table.columns)):
        names.append("monetary_value")
    rename = {f"{name}_cal": name for name in names
              if name not in table.columns and f"{name}_cal" in table.columns}
    frame = table.rename(columns=rename) if rename else table
    check_columns(frame, names,
                  what="customer table (or calibration/holdout table with *_cal columns)")
    return frame.loc[:, names]


def _split_table(table) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Calibration columns and holdout arrays of a calibration/holdout table."""
    check_columns(table, _HOLDOUT, what="calibration/holdout table")
    check_not_empty(table, what="calibration/holdout table")
    cal = calibration_table(table, monetary=False)
    arrays = {}
    for col in _HOLDOUT:
        arrays[col] = check_finite_numeric(table, col)
        check_nonnegative(table, col, arrays[col])
    freq = arrays["frequency_holdout"]
    raise_bad_rows(table, freq != np.round(freq), "frequency_holdout",
                   "are not whole numbers (frequency_holdout counts purchase periods)")
    return cal, freq, arrays["duration_holdout"]


def _holdout_predictions(model, cal: pd.DataFrame, duration: np.ndarray) -> np.ndarray:
    """Expected purchases of each customer over its own holdout duration."""
    check_is_fitted(model)
    out = np.empty(len(cal))
    values, codes = np.unique(duration, return_inverse=True)
    for j, t in enumerate(values):  # one value in a calibration_holdout_split table
        rows = np.flatnonzero(codes == j)
        part = cal if len(values) == 1 else cal.iloc[rows]
        out[rows] = model.expected_purchases(part, t=float(t))
    return out


def holdout_errors(model, table: pd.DataFrame) -> pd.Series:
    r"""Errors of a model's predicted holdout purchases, per customer and in total.

    Parameters
    ----------
    model : fitted transaction model
        Fitted on the calibration columns of ``table`` (or on another table in the same
        time unit); needs ``expected_purchases(X, t)``.
    table : DataFrame
        Calibration/holdout table (``frequency_cal``, ``recency_cal``, ``T_cal``,
        ``frequency_holdout``, ``duration_holdout``); plain ``frequency``, ``recency``,
        ``T`` are accepted too.

    Returns
    -------
    Series
        ``n_customers``; ``mae`` and ``rmse``, the mean absolute and root mean squared
        differences between each customer's predicted and actual holdout purchases;
        ``total_actual`` and ``total_predicted``, their sums over the customers;
        ``total_error`` (predicted minus actual) and ``relative_total_error`` (that
        divided by ``total_actual``, NaN when it is 0).

    Notes
    -----
    The prediction of customer ``i`` is
    :math:`\hat y_i = E[X(T_i, T_i + \tau_i) \mid x_i, t_{x,i}, T_i]` with
    :math:`\tau_i` its ``duration_holdout`` (Fader, Hardie & Lee 2005, eq. 10 for the
    BG/NBD), compared with :math:`y_i` = ``frequency_holdout``.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    section 4 (the calibration/holdout comparison).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_transactions
    >>> from custseg.features import calibration_holdout_split
    >>> from custseg.models._bgnbd import BetaGeo
    >>> split = calibration_holdout_split(
    ...     load_cdnow_transactions(), calibration_period_end="1997-09-30",
    ...     observation_period_end="1998-06-30", freq="W", freq_multiplier=1)
    >>> model = BetaGeo().fit(calibration_table(split))
    >>> errors = holdout_errors(model, split)
    >>> int(errors["total_actual"]), round(float(errors["relative_total_error"]), 3)
    (1788, -0.099)
    """
    cal, actual, duration = _split_table(table)
    predicted = _holdout_predictions(model, cal, duration)
    diff = predicted - actual
    total_actual = float(actual.sum())
    total_predicted = float(predicted.sum())
    return pd.Series({
        "n_customers": float(len(actual)),
        "mae": float(np.mean(np.abs(diff))),
        "rmse": float(np.sqrt(np.mean(diff**2))),
        "total_actual": total_actual,
        "total_predicted": total_predicted,
        "total_error": total_predicted - total_actual,
        "relative_total_error": ((total_predicted - total_actual) / total_actual
                                 if total_actual > 0 else np.nan),
    }, name="holdout_errors")


def _check_max_frequency(max_frequency) -> int:
    if (not isinstance(max_frequency, numbers.Integral) or isinstance(max_frequency, bool)
            or max_frequency < 1):
        raise InvalidParameterError(
            f"max_frequency must be an integer >= 1, got {max_frequency!r}.")
    return int(max_frequency)


def _bucket_labels(max_frequency: int) -> list[str]:
    return [str(k) for k in range(max_frequency)] + [f"{max_frequency}+"]


def expected_vs_actual_by_frequency(model, table: pd.DataFrame,
                                    max_frequency: int = 7) -> pd.DataFrame:
    """Mean actual and predicted holdout purchases by calibration frequency.

    Parameters
    ----------
    model : fitted transaction model
        Needs ``expected_purchases(X, t)``.
    table : DataFrame
        Calibration/holdout table (see :func:`holdout_errors`).
    max_frequency : int, default=7
        Customers with this many calibration repeat purchases or more share the last
        bucket.

    Returns
    -------
    DataFrame
        Index ``frequency_cal``: ``"0"``, ``"1"``, ..., ``"7+"``; columns
        ``n_customers``, ``actual`` (mean ``frequency_holdout``) and ``predicted`` (mean
        expected purchases over ``duration_holdout``). Empty buckets have NaN means.

    Notes
    -----
    The conditional expectation check of Fader, Hardie & Lee (2005, figure 4): a model
    that describes the customers well predicts each group's holdout purchases, not only
    the total.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    figure 4.

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models._bgnbd import BetaGeo
    >>> table = load_cdnow_summary()
    >>> model = BetaGeo().fit(table)
    >>> split = table.assign(frequency_holdout=0.0, duration_holdout=39.0)
    >>> out = expected_vs_actual_by_frequency(model, split, max_frequency=3)
    >>> out.index.tolist(), int(out["n_customers"].sum())
    (['0', '1', '2', '3+'], 2357)
    """
    max_frequency = _check_max_frequency(max_frequency)
    cal, actual, duration = _split_table(table)
    freq = check_customer_table(cal, columns=("frequency",), recency_le_T=False)["frequency"]
    predicted = _holdout_predictions(model, cal, duration)
    bucket = np.minimum(freq, max_frequency).astype(np.int64)
    n = np.bincount(bucket, minlength=max_frequency + 1).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_actual = np.bincount(bucket, weights=actual, minlength=max_frequency + 1) / n
        mean_pred = np.bincount(bucket, weights=predicted, minlength=max_frequency + 1) / n
    index = pd.Index(_bucket_labels(max_frequency), name="frequency_cal")
    return pd.DataFrame({"n_customers": n, "actual": mean_actual, "predicted": mean_pred},
                        index=index)


def simulated_vs_actual_repeat_counts(model, table: pd.DataFrame, max_frequency: int = 7,
                                      random_state=None, method: str = "auto") -> pd.DataFrame:
    r"""Number of customers with 0, 1, ..., ``max_frequency`` or more repeat purchases: observed
    and according to the model.

    Parameters
    ----------
    model : fitted transaction model
        A model with ``sample(n_customers, T, random_state)`` or
        ``purchase_probability_new_customer(n, t)``.
    table : DataFrame
        A customer table (``frequency``, ``recency``, ``T``) or a calibration/holdout
        table (its ``*_cal`` columns are used).
    max_frequency : int, default=7
        Customers with this many repeat purchases or more share the last bucket.
    random_state : int, numpy Generator or None, default=None
        Seed of the simulation (``method="sample"``).
    method : {"auto", "sample", "analytic"}, default="auto"
        ``"sample"`` simulates one new customer per row with the row's age ``T`` from
        the fitted model (:meth:`sample`) and counts its repeat purchases: random counts,
        as in the papers' figure. ``"analytic"`` gives the expected counts
        :math:`\sum_i P(X(T_i) = k)` from the model's probability of ``k`` repeat
        purchases by a new customer of age :math:`T_i`. ``"auto"`` samples when the
        model has ``sample`` and falls back to ``"analytic"`` otherwise.

    Returns
    -------
    DataFrame
        Index ``frequency``: ``"0"``, ``"1"``, ..., ``"7+"``; columns ``actual`` and
        ``simulated`` (counts of customers). ``attrs["method"]`` records the method used.

    Notes
    -----
    The fit check of Fader, Hardie & Lee (2005, figure 2): the histogram of calibration
    repeat purchases against the model's. Each customer's age is kept, so customers
    acquired at different times are compared like for like.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way: an alternative to the Pareto/NBD model", Marketing Science 24(2), 275-284,
    figure 2 and eq. 8.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models._bgnbd import BetaGeo
    >>> table = load_cdnow_summary()
    >>> model = BetaGeo().fit(table)
    >>> counts = simulated_vs_actual_repeat_counts(model, table, method="analytic")
    >>> int(counts.loc["0", "actual"]), int(round(counts.loc["0", "simulated"]))
    (1411, 1408)
    """
    max_frequency = _check_max_frequency(max_frequency)
    if method not in ("auto", "sample", "analytic"):
        raise InvalidParameterError(
            f"method must be 'auto', 'sample' or 'analytic', got {method!r}.")
    check_is_fitted(model)
    cal = calibration_table(table, monetary=False)
    arrays = check_customer_table(cal)
    freq, ages = arrays["frequency"], arrays["T"]
    n_buckets = max_frequency + 1
    actual = np.bincount(np.minimum(freq, max_frequency).astype(np.int64),
                         minlength=n_buckets).astype(np.float64)
    if method == "auto":
        method = "sample" if hasattr(model, "sample") else "analytic"
    if method == "sample":
        if not hasattr(model, "sample"):
            raise InvalidParameterError(
                f"{type(model).__name__} has no sample(); use method='analytic'.")
        simulated_freq = model.sample(len(ages), ages, random_state=random_state)[
            "frequency"].to_numpy(dtype=np.float64)
        simulated = np.bincount(np.minimum(simulated_freq, max_frequency).astype(np.int64),
                                minlength=n_buckets).astype(np.float64)
    else:
        values, counts = np.unique(ages, return_counts=True)
        k = np.arange(max_frequency, dtype=np.float64)[:, None]
        probs = np.asarray(model.purchase_probability_new_customer(k, values[None, :]),
                           dtype=np.float64)
        head = probs @ counts.astype(np.float64)
        simulated = np.append(head, len(ages) - head.sum())
    out = pd.DataFrame({"actual": actual, "simulated": simulated},
                       index=pd.Index(_bucket_labels(max_frequency), name="frequency"))
    out.attrs["method"] = method
    return out
