"""Run custseg on Dask DataFrames: partitioned RFM features, distributed scoring and fits.

Three functions compose the in-memory pieces on a Dask cluster; none holds numerics of its
own, so every result equals the pandas one:

* :func:`rfm_summary` turns a partitioned transaction log into the customer table: it
  fixes the end of the observation period over the whole log, shuffles the rows so that
  each customer lives in one partition, and runs :func:`custseg.features.rfm_summary` on
  every partition.
* :func:`score` applies a fitted estimator (a transaction model, a CLV or churn model, a
  tierer, a segmenter) partition by partition.
* :func:`fit_from_dask` fits a transaction model or :class:`~custseg.models.GammaGamma`
  on the distinct rows of a customer table: the rows are counted on the cluster and only
  the small table of distinct rows with their counts travels to the client.

Install the optional dependencies with ``pip install 'custseg[dask]'``.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

try:
    import dask.dataframe as dd
except ImportError as exc:  # pragma: no cover - exercised only without dask
    raise ImportError(
        "custseg.dask needs Dask: pip install 'custseg[dask]' (installs dask[dataframe] "
        "and distributed)."
    ) from exc

from sklearn.utils.validation import check_is_fitted

from ._validation import check_columns
from .exceptions import CustsegError, EmptyDataError, InvalidDataError, InvalidParameterError
from .features import rfm_summary as _pandas_rfm_summary
from .features._rfm import (
    _check_freq_multiplier,
    _extra_columns,
    _period_spec,
    _time_unit,
    parse_dates,
    parse_timestamp,
)

__all__ = ["rfm_summary", "score", "fit_from_dask", "distinct_rows"]

_KEY = "__custseg_row_key__"
_COUNT = "__custseg_count__"
_GAMMA_GAMMA_COLUMNS = ("frequency", "monetary_value")


# --------------------------------------------------------------------------- helpers
def _check_dask_frame(ddf, what: str) -> None:
    if isinstance(ddf, pd.DataFrame):
        raise InvalidParameterError(
            f"The {what} is a pandas DataFrame: use the in-memory custseg functions, or "
            f"wrap it with dask.dataframe.from_pandas(frame, npartitions=...) first.")
    if not isinstance(ddf, dd.DataFrame):
        raise InvalidParameterError(
            f"The {what} must be a dask DataFrame, got {type(ddf).__name__}.")


def _empty_like_index(meta: pd.DataFrame, column: str) -> pd.Index:
    """An empty index with the dtype of ``meta[column]`` (or of the index) named ``column``."""
    values = meta[column] if column in meta.columns else meta.index.to_series()
    return pd.Index(values.iloc[:0], name=column)


# --------------------------------------------------------------------------- rfm_summary
def _partition_end(part: pd.DataFrame, datetime_col: str, datetime_format) -> pd.DataFrame:
    """Latest parsed date of one partition and the unit the dates parse to."""
    if len(part) == 0:
        return pd.DataFrame({"end": pd.Series([], dtype="datetime64[ns]"),
                             "unit": pd.Series([], dtype=object)})
    dates = parse_dates(part, datetime_col, datetime_format)
    unit = np.datetime_data(dates.dtype)[0]
    return pd.DataFrame({"end": pd.Series([dates.max()], dtype="datetime64[ns]"),
                         "unit": pd.Series([unit], dtype=object)})


def _finest_unit(units) -> str:
    order = ["s", "ms", "us", "ns"]
    found = [u for u in units if u in order]
    return max(found, key=order.index) if found else "ns"


def _rfm_partition(part: pd.DataFrame, meta: pd.DataFrame, kwargs: dict) -> pd.DataFrame:
    if len(part) == 0:
        return meta.copy()
    out = _pandas_rfm_summary(part, **kwargs)
    for col in ("first_purchase", "last_purchase"):
        if col in out.columns and out[col].dtype != meta[col].dtype:
            out[col] = out[col].astype(meta[col].dtype)
    out.attrs.update(meta.attrs)
    return out


def rfm_summary(ddf, customer_id_col="customer_id", datetime_col="date",
                monetary_value_col=None, observation_period_end=None, freq="D",
                freq_multiplier=1, include_first_transaction=False, extra_columns=False, *,
                datetime_format=None, npartitions=None, shuffle_method=None):
    """Customer table (frequency, recency, T, monetary value) of a Dask transaction log.

    The result equals :func:`custseg.features.rfm_summary` on the same rows computed in
    memory (same values and dtypes; the rows come in another order, compare after
    ``sort_index()``), whatever the partitioning of the log.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        One row per transaction, any partitioning.
    customer_id_col : str, default="customer_id"
        Column of customer ids. It may also be the name of the index: when the index is
        sorted with known divisions (and ``npartitions`` is None), the shuffle is
        skipped.
    datetime_col : str, default="date"
        Column of purchase dates (see :func:`custseg.features.rfm_summary`).
    monetary_value_col : str, optional
        Column of amounts; adds ``monetary_value``.
    observation_period_end : str or Timestamp, optional
        End of the observation window. Defaults to the last date of the whole log,
        computed first in one pass over the partitions.
    freq : str, default="D"
        Period length, a pandas period alias.
    freq_multiplier : float, default=1
        Divides ``recency`` and ``T``.
    include_first_transaction : bool, default=False
        Count the first purchase period in ``frequency`` and ``monetary_value``.
    extra_columns : bool or list of str, default=False
        Extra columns of :func:`custseg.features.rfm_summary`.
    datetime_format : str, optional
        ``strftime`` format of string dates. Pass it (or convert the column with
        ``dask.dataframe.to_datetime``) when dates are strings: otherwise pandas infers
        the format of each partition from its first value.
    npartitions : int, optional
        Partitions of the result; defaults to those of the log.
    shuffle_method : {"p2p", "tasks", "disk"}, optional
        Dask's shuffle algorithm; Dask's default (``"p2p"`` on a distributed cluster)
        when None.

    Returns
    -------
    dask.dataframe.DataFrame
        Indexed by customer id, one row per customer, with the columns and dtypes of
        :func:`custseg.features.rfm_summary`. Its divisions are unknown.

    Raises
    ------
    CustsegError
        As :func:`custseg.features.rfm_summary`, raised when the result is computed;
        counts of bad rows in messages are those of the partition where they were found.

    See Also
    --------
    custseg.features.rfm_summary : the in-memory function run on every partition.

    Notes
    -----
    Every quantity of a customer depends only on that customer's rows and on the end of
    the observation period :math:`\\tau`. Fixing :math:`\\tau` over the whole log and
    placing all rows of a customer in one partition (a hash shuffle on the id) therefore
    makes the partition-wise result identical to the global one:
    :math:`T = (\\tau - t_1) / m`, :math:`t_x - t_1` and the number of repeat periods
    :math:`x` are computed from one customer's rows only.

    Only the columns the summary needs are shuffled. With string dates the extra
    columns ``first_purchase`` and ``last_purchase`` take the finest datetime unit found
    over the partitions.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
       customers" the easy way: an alternative to the Pareto/NBD model. Marketing
       Science 24(2), 275-284 (section 2, the summary statistics ``(x, t_x, T)``).

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from custseg.dask import rfm_summary
    >>> log = pd.DataFrame({
    ...     "customer_id": [1, 2, 1, 3, 1],
    ...     "date": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03",
    ...                             "2024-02-01", "2024-02-10"])})
    >>> table = rfm_summary(dd.from_pandas(log, npartitions=2))
    >>> print(table.compute().sort_index().to_string())  # doctest: +NORMALIZE_WHITESPACE
                 frequency  recency     T
    customer_id
    1                  2.0     40.0  40.0
    2                  0.0      0.0  36.0
    3                  0.0      0.0   9.0
    """
    _check_dask_frame(ddf, "transaction log")
    meta_in = ddf._meta
    id_in_index = customer_id_col not in meta_in.columns and meta_in.index.name == customer_id_col
    needed = [datetime_col] + ([monetary_value_col] if monetary_value_col is not None else [])
    check_columns(meta_in, needed if id_in_index else [customer_id_col, *needed],
                  what="transaction log")
    # parameters are checked now, not when the result is computed
    spec = _period_spec(freq)
    _check_freq_multiplier(freq_multiplier)
    extras = _extra_columns(extra_columns, monetary_value_col)
    if npartitions is not None and not (isinstance(npartitions, numbers.Integral)
                                        and npartitions >= 1):
        raise InvalidParameterError(
            f"npartitions must be a positive integer or None, got {npartitions!r}.")

    frame = ddf[needed] if id_in_index else ddf[[customer_id_col, *needed]]
    dates_meta = meta_in[datetime_col]
    dates_are_datetimes = (isinstance(dates_meta.dtype, pd.DatetimeTZDtype)
                           or pd.api.types.is_datetime64_dtype(dates_meta.dtype))
    wants_dates = any(c in extras for c in ("first_purchase", "last_purchase"))
    units = []
    if observation_period_end is None or (wants_dates and not dates_are_datetimes):
        ends = ddf[[datetime_col]].map_partitions(  # reads only the date column
            _partition_end, datetime_col, datetime_format,
            meta={"end": "datetime64[ns]", "unit": object}).compute()
        if len(ends) == 0:
            raise EmptyDataError("The transaction log has no rows.")
        units = list(ends["unit"])
        if observation_period_end is None:
            observation_period_end = pd.Timestamp(ends["end"].max())
    if observation_period_end is None or pd.isna(observation_period_end):
        end = None  # no valid date at all: every partition reports its bad dates
    else:
        end = parse_timestamp(observation_period_end, datetime_format)

    if dates_are_datetimes:
        date_dtype = parse_dates(meta_in, datetime_col).dtype
    else:
        date_dtype = np.dtype(f"datetime64[{_finest_unit(units)}]")
    columns = {"frequency": "float64", "recency": "float64", "T": "float64"}
    if monetary_value_col is not None:
        columns["monetary_value"] = "float64"
    for name in extras:
        columns[name] = {"first_purchase": date_dtype, "last_purchase": date_dtype,
                         "n_transactions": "int64", "n_periods": "int64",
                         "total_spend": "float64"}[name]
    meta = pd.DataFrame({k: pd.Series([], dtype=v) for k, v in columns.items()},
                        index=_empty_like_index(meta_in, customer_id_col))
    unit = _time_unit(spec, freq_multiplier)
    if unit is not None:  # as the pandas tables: the models read their time unit here
        meta.attrs["time_unit"] = unit

    kwargs = dict(customer_id_col=customer_id_col, datetime_col=datetime_col,
                  monetary_value_col=monetary_value_col, observation_period_end=end,
                  freq=freq, freq_multiplier=freq_multiplier,
                  include_first_transaction=include_first_transaction,
                  datetime_format=datetime_format, extra_columns=extras or False)
    if id_in_index:
        if not frame.known_divisions or npartitions not in (None, frame.npartitions):
            frame = frame.reset_index()
        else:  # sorted by customer: each customer already lives in one partition
            return frame.map_partitions(
                lambda p, m, kw: _rfm_partition(p.reset_index(), m, kw), meta, kwargs,
                meta=meta, clear_divisions=True)
    shuffled = frame.shuffle(on=customer_id_col, npartitions=npartitions,
                             shuffle_method=shuffle_method)
    return shuffled.map_partitions(_rfm_partition, meta, kwargs, meta=meta,
                                   clear_divisions=True)


# --------------------------------------------------------------------------- score
def _output_columns(estimator, method: str, width: int):
    if method in ("predict_proba", "predict_log_proba") and hasattr(estimator, "classes_"):
        classes = list(np.asarray(estimator.classes_))
        if len(classes) == width:
            return classes
    if hasattr(estimator, "get_feature_names_out"):
        try:
            names = list(estimator.get_feature_names_out())
        except Exception:  # noqa: BLE001 - the names are only a convenience
            names = None
        if names is not None and len(names) == width:
            return names
    return list(range(width))


def _as_pandas(out, index: pd.Index, estimator, method: str):
    """The output of ``estimator.method`` on a partition as a Series or DataFrame."""
    n = len(index)
    if isinstance(out, (pd.Series, pd.DataFrame)):
        if len(out) != n:
            raise InvalidDataError(
                f"{type(estimator).__name__}.{method} returned {len(out)} rows for a "
                f"partition of {n} rows; score() needs one output row per input row.")
        out = out.copy()
        out.index = index
        return out
    if isinstance(out, pd.Categorical) or (hasattr(out, "dtype") and isinstance(
            getattr(out, "dtype", None), pd.CategoricalDtype)):
        if len(out) != n:
            raise InvalidDataError(
                f"{type(estimator).__name__}.{method} returned {len(out)} rows for a "
                f"partition of {n} rows; score() needs one output row per input row.")
        return pd.Series(out, index=index, name=method)
    arr = np.asarray(out)
    if arr.ndim == 0 or arr.shape[0] != n or arr.ndim > 2:
        raise InvalidDataError(
            f"{type(estimator).__name__}.{method} returned an output of shape "
            f"{arr.shape} for a partition of {n} rows; score() needs one output row per "
            f"input row (use predict, transform, predict_proba, score_samples ...).")
    if arr.ndim == 1:
        return pd.Series(arr, index=index, name=method)
    return pd.DataFrame(arr, index=index,
                        columns=_output_columns(estimator, method, arr.shape[1]))


def _score_partition(part: pd.DataFrame, estimator, method: str, kwargs: dict, meta):
    if len(part) == 0:
        return meta
    out = _as_pandas(getattr(estimator, method)(part, **kwargs), part.index, estimator,
                     method)
    if isinstance(meta, pd.DataFrame) and isinstance(out, pd.DataFrame):
        out.columns = meta.columns
    elif isinstance(meta, pd.Series) and isinstance(out, pd.Series):
        out.name = meta.name
    return out


def _infer_score_meta(estimator, ddf, method: str, kwargs: dict):
    """Empty output of ``method``, found on Dask's fake rows or else on the first rows."""
    func = getattr(estimator, method)
    try:
        sample = ddf._meta_nonempty
        out = _as_pandas(func(sample, **kwargs), sample.index, estimator, method)
    except Exception:  # noqa: BLE001 - fake rows may be invalid input; use real ones
        sample = ddf.head(16, npartitions=-1)
        if len(sample) == 0:
            raise EmptyDataError("The customer table has no rows.") from None
        out = _as_pandas(func(sample, **kwargs), sample.index, estimator, method)
    return out.iloc[:0]


def score(estimator, ddf, method="predict", meta=None, **kwargs):
    """Apply a fitted estimator to a Dask customer table, partition by partition.

    Parameters
    ----------
    estimator : fitted estimator
        Any fitted custseg estimator (a transaction or spend model, CLV, churn, a tierer,
        a segmenter) or a scikit-learn pipeline of them.
    ddf : dask.dataframe.DataFrame
        The customer table with the columns the estimator needs, any partitioning.
    method : str, default="predict"
        The method to apply, one that returns one output row per input row:
        ``"predict"``, ``"transform"``, ``"predict_proba"``, ``"score_samples"``,
        ``"probability_alive"``, ``"expected_purchases"`` ...
    meta : pandas Series or DataFrame, optional
        Empty output with the right dtypes and names (Dask's ``meta``). Inferred when
        None by applying the method to Dask's fake rows, or to the first rows of the
        table if the fake rows are not valid input (that reads the first partitions).
    **kwargs
        Passed to the method (``t=...`` for ``probability_alive``).

    Returns
    -------
    dask.dataframe.Series or dask.dataframe.DataFrame
        Aligned with ``ddf`` (same index and partitions). 1-d outputs are a Series named
        after the method; 2-d outputs a DataFrame whose columns are ``classes_`` (class
        probabilities), the estimator's ``get_feature_names_out()``, or 0, 1, ...

    Raises
    ------
    NotFittedError
        If the estimator is not fitted.
    InvalidParameterError
        If the estimator has no such method.
    CustsegError
        The estimator's own errors about the data, raised when the result is computed.

    See Also
    --------
    fit_from_dask : fit a model on a Dask customer table.

    Notes
    -----
    The estimator is applied independently to each partition, so for any row-wise
    method :math:`f`, ``score(e, ddf).compute()`` equals :math:`f(X)` on the whole table:
    each partition is one chunk, and memory is bounded by the largest partition.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from custseg.dask import score
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> table = load_cdnow_summary()
    >>> model = BetaGeo().fit(table)
    >>> p_alive = score(model, dd.from_pandas(table, npartitions=4), "probability_alive")
    >>> bool(abs(p_alive.compute() - model.probability_alive(table)).max() < 1e-12)
    True
    """
    _check_dask_frame(ddf, "customer table")
    check_is_fitted(estimator)
    if not isinstance(method, str) or not callable(getattr(estimator, method, None)):
        raise InvalidParameterError(
            f"{type(estimator).__name__} has no method {method!r}; choose among "
            f"predict, transform, predict_proba, score_samples ... that it implements.")
    if meta is None:
        meta = _infer_score_meta(estimator, ddf, method, kwargs)
    elif not isinstance(meta, (pd.Series, pd.DataFrame)):
        raise InvalidParameterError(
            f"meta must be an empty pandas Series or DataFrame, got {type(meta).__name__}.")
    else:
        meta = meta.iloc[:0]
        meta.index = ddf._meta.index[:0]
    return ddf.map_partitions(_score_partition, estimator, method, kwargs, meta, meta=meta)


# --------------------------------------------------------------------------- fit_from_dask
def _model_columns(estimator, columns):
    from .models import BaseTransactionModel, GammaGamma

    if columns is not None:
        if isinstance(columns, str):
            columns = [columns]
        return list(columns), {}
    if isinstance(estimator, BaseTransactionModel):
        return list(estimator._columns), dict(estimator._column_aliases)
    if isinstance(estimator, GammaGamma):
        return list(_GAMMA_GAMMA_COLUMNS), {}
    raise InvalidParameterError(
        f"fit_from_dask fits transaction models (BetaGeo, ModifiedBetaGeo, ...) and "
        f"GammaGamma, got {type(estimator).__name__}; pass columns=[...] to fit another "
        f"estimator that accepts sample_weight on the distinct rows of those columns.")


def _resolve_aliases(meta: pd.DataFrame, columns: list, aliases: dict) -> dict:
    """``{column in the frame: model column}`` using the model's accepted aliases."""
    source = {}
    for col in columns:
        if col not in meta.columns:
            for alias in aliases.get(col, ()):
                if alias in meta.columns:
                    source[alias] = col
                    break
            else:
                source[col] = col
        else:
            source[col] = col
    return source


def _partial_counts(part: pd.DataFrame, columns: list, weights) -> pd.DataFrame:
    count = part[weights].astype(np.float64) if weights is not None else np.int64(1)
    key = part.index
    if isinstance(key.dtype, pd.CategoricalDtype):  # category order is the sort order
        key = key.codes
    keyed = part[columns].assign(**{_KEY: key, _COUNT: count})
    if keyed[_KEY].dtype == object:
        keyed[_KEY] = keyed[_KEY].astype("string")
    return keyed.groupby(columns, dropna=False, sort=False).agg(
        **{_COUNT: (_COUNT, "sum"), _KEY: (_KEY, "min")}).reset_index()


def distinct_rows(ddf, columns, weights=None) -> pd.DataFrame:
    """Distinct rows of ``ddf[columns]`` with their counts, computed on the cluster.

    Parameters
    ----------
    ddf : dask.dataframe.DataFrame
        A customer table.
    columns : list of str
        The columns whose distinct combinations are counted.
    weights : str, optional
        A column of weights (customers per row) summed instead of counting rows.

    Returns
    -------
    pandas.DataFrame
        One row per distinct combination (missing values kept as a value of their own)
        with the ``columns`` and ``count`` (int64 number of rows, or float64 sum of
        ``weights``), ordered by the smallest index label of each combination: the
        order in which the combinations first appear in the table sorted by its index.

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> import pandas as pd
    >>> from custseg.dask import distinct_rows
    >>> table = pd.DataFrame({"frequency": [1.0, 0.0, 1.0], "T": [5.0, 3.0, 5.0]})
    >>> distinct_rows(dd.from_pandas(table, npartitions=2), ["frequency", "T"])
       frequency    T  count
    0        1.0  5.0      2
    1        0.0  3.0      1
    """
    _check_dask_frame(ddf, "customer table")
    columns = list(columns)
    needed = columns + ([weights] if weights is not None else [])
    check_columns(ddf._meta, needed, what="customer table")
    frame = ddf[needed]
    partial = frame.map_partitions(_partial_counts, columns, weights,
                                   meta=_partial_counts(frame._meta, columns, weights))
    # Tree-reduce the per-partition tables on the cluster; only the result comes back.
    grouped = partial.groupby(columns, dropna=False).agg(
        {_COUNT: "sum", _KEY: "min"}, split_out=1)
    table = grouped.compute().reset_index()
    table = table.sort_values(_KEY, kind="stable").reset_index(drop=True)
    table = table.rename(columns={_COUNT: "count"}).drop(columns=_KEY)
    table["count"] = table["count"].astype(np.int64 if weights is None else np.float64)
    return table[[*columns, "count"]]


def fit_from_dask(estimator, ddf, columns=None):
    """Fit a transaction model or GammaGamma on a Dask customer table.

    The customers are grouped by the model's columns on the cluster (``frequency``,
    ``recency``, ``T`` for the BG/NBD family; ``frequency``, ``monetary_value`` for
    Gamma-Gamma) and counted; only the table of distinct rows comes back to the client,
    where ``estimator.fit(distinct, sample_weight=counts)`` runs. The fit equals the
    in-memory fit on the whole table.

    Parameters
    ----------
    estimator : estimator
        An unfitted (or to be refitted) :class:`~custseg.models.BaseTransactionModel`
        subclass or :class:`~custseg.models.GammaGamma`; any estimator whose ``fit``
        accepts ``sample_weight`` when ``columns`` is given.
    ddf : dask.dataframe.DataFrame
        The customer table, any partitioning.
    columns : list of str, optional
        Columns to group on; defaults to the model's columns (aliases such as
        ``periods`` for ``n_periods`` are accepted as the models accept them). A model
        with a ``weights_column`` (BG/BB) has that column summed per distinct row.

    Returns
    -------
    estimator
        The fitted estimator (the same object).

    Raises
    ------
    CustsegError
        From the estimator's validation of the distinct rows (the counts in its message
        are then counts of distinct rows, not of customers).

    See Also
    --------
    distinct_rows : the distinct rows and their counts.
    score : apply the fitted model to the Dask table.

    Notes
    -----
    The log-likelihood of :math:`N` customers is a sum over customers,
    :math:`\\ell(\\theta) = \\sum_{i=1}^{N} \\log L(\\theta \\mid x_i, t_{x,i}, T_i)
    = \\sum_{j} n_j \\log L(\\theta \\mid x_j, t_{x,j}, T_j)`, where :math:`j` runs over
    the distinct rows and :math:`n_j` counts the customers sharing row :math:`j`; the
    models compress their input the same way. The distinct rows are passed in the order
    in which they first appear in the table sorted by its index, so the optimiser sees
    exactly the data of an in-memory fit on the table sorted by customer id, and the
    estimates agree to the last digit.

    References
    ----------
    .. [1] Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005). "Counting your
       customers" the easy way: an alternative to the Pareto/NBD model. Marketing
       Science 24(2), 275-284, equation (6) (the log-likelihood summed over customers).

    Examples
    --------
    >>> import dask.dataframe as dd
    >>> from custseg.dask import fit_from_dask
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> table = load_cdnow_summary()
    >>> model = fit_from_dask(BetaGeo(), dd.from_pandas(table, npartitions=4))
    >>> model.params_.round(4).to_dict()
    {'r': 0.2426, 'alpha': 4.4135, 'a': 0.7929, 'b': 2.4258}
    >>> model.data_summary_["n_customers"]
    2357.0
    """
    _check_dask_frame(ddf, "customer table")
    if not hasattr(estimator, "fit"):
        raise InvalidParameterError(
            f"estimator must have a fit method, got {type(estimator).__name__}.")
    model_columns, aliases = _model_columns(estimator, columns)
    source = _resolve_aliases(ddf._meta, model_columns, aliases)
    check_columns(ddf._meta, list(source), what="customer table")
    # a model that reads its weights from a column (BG/BB's weights_column) gets the
    # summed weights in that column; the others get the counts as sample_weight
    weights_column = getattr(estimator, "weights_column", None)
    table = distinct_rows(ddf, list(source), weights=weights_column)
    if len(table) == 0:
        raise EmptyDataError("The customer table has no rows.")
    counts = table.pop("count").to_numpy(dtype=np.float64)
    table = table.rename(columns=source)
    table.attrs.update(ddf._meta.attrs)
    try:
        if weights_column is not None:
            estimator.fit(table.assign(**{weights_column: counts}))
        else:
            estimator.fit(table, sample_weight=counts)
    except CustsegError as exc:
        raise type(exc)(
            f"{exc}\n(fit_from_dask validates the {len(table)} distinct rows of the "
            f"customer table, which stand for {counts.sum():g} customers.)") from exc
    return estimator
