"""Plots of fitted models, tiers, segments and migrations.

Every function draws on the matplotlib ``Axes`` it is given, or on a new
:class:`matplotlib.figure.Figure` when ``ax`` is None (never through ``pyplot``, so no
global figure state is created), and returns the ``Axes``. matplotlib is an optional
dependency, imported when a plot is drawn: ``pip install 'custseg[plot]'``.

The plots read their numbers from public functions of custseg (the model's
``expected_purchases_matrix``, ``custseg.models._diagnostics``, ``ValueMatrix.cell_table``,
``migration_matrix``) so that what is drawn is exactly what those tables hold.
"""

from __future__ import annotations

import numbers

import numpy as np
import pandas as pd

from .._validation import check_columns, check_finite_numeric, raise_bad_rows
from ..exceptions import InvalidDataError, InvalidParameterError
from ._profile import segment_profile

__all__ = [
    "plot_frequency_recency_matrix",
    "plot_probability_alive_matrix",
    "plot_calibration_purchases_vs_holdout_purchases",
    "plot_period_transactions",
    "plot_tier_sizes",
    "plot_value_matrix",
    "plot_segments",
    "plot_migration",
]

INSTALL_HINT = "pip install 'custseg[plot]'"

#: Colours of the two series drawn side by side (actual / model, customers / value).
_PAIR = ("#4c72b0", "#dd8452")

_UNIT_NAMES = {"h": "hours", "D": "days", "W": "weeks", "M": "months", "Q": "quarters",
               "Y": "years"}


# ---------------------------------------------------------------------- plumbing
def _figure_class():
    """matplotlib's ``Figure``, or an ImportError that says how to install it."""
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            "custseg's plots need matplotlib, which is not installed. Install it with: "
            f"{INSTALL_HINT}") from exc
    return Figure


def _axes(ax, figsize=(7.0, 4.8)):
    """``ax`` itself, or the axes of a new pyplot-free figure."""
    Figure = _figure_class()
    if ax is None:
        fig = Figure(figsize=figsize, layout="constrained")
        ax = fig.add_subplot()
    return ax


def _unit_name(model) -> str:
    unit = getattr(model, "time_unit_", None) or getattr(model, "time_unit", None)
    return _UNIT_NAMES.get(unit, "periods")


def _amount(value: float, unit: str) -> str:
    """``"4 weeks"``, ``"1 week"``, ``"52.18 weeks"``."""
    text = f"{value:.4g}"
    return f"{text} {unit[:-1] if text == '1' and unit.endswith('s') else unit}"


def _horizon(model, t) -> float:
    if t is not None:
        return float(t)
    return float(model._horizon())


def _text_colour(im, value) -> str:
    """Black on light cells, white on dark ones."""
    r, g, b, _ = im.cmap(im.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _annotate(ax, im, values: np.ndarray, texts, fontsize=9):
    n_rows, n_cols = values.shape
    for i in range(n_rows):
        for j in range(n_cols):
            ax.text(j, i, texts[i][j], ha="center", va="center", fontsize=fontsize,
                    color=_text_colour(im, values[i, j]))


def _grid_heatmap(ax, matrix: pd.DataFrame, *, cbar_label: str, **kwargs):
    """Heatmap of a frequency (columns) x recency (rows) matrix, recency growing upwards."""
    values = matrix.to_numpy(dtype=float)
    freq = np.asarray(matrix.columns, dtype=float)
    rec = np.asarray(matrix.index, dtype=float)
    step_f = freq[1] - freq[0] if len(freq) > 1 else 1.0
    step_r = rec[1] - rec[0] if len(rec) > 1 else 1.0
    extent = (freq[0] - step_f / 2, freq[-1] + step_f / 2,
              rec[0] - step_r / 2, rec[-1] + step_r / 2)
    kwargs.setdefault("cmap", "viridis")
    im = ax.imshow(values, origin="lower", aspect="auto", interpolation="nearest",
                   extent=extent, **kwargs)
    ax.get_figure().colorbar(im, ax=ax, label=cbar_label)
    return im


def _as_label_series(labels, name="labels") -> pd.Series:
    """Labels as a categorical Series (categories: the given order, or sorted values)."""
    if isinstance(labels, pd.DataFrame):
        if labels.shape[1] != 1:
            raise InvalidDataError(
                f"Expected one column of labels, got a DataFrame with columns "
                f"{list(labels.columns)}.")
        labels = labels.iloc[:, 0]
    if isinstance(labels, pd.Series):
        series = labels
    else:
        arr = labels if isinstance(labels, pd.Categorical) else np.asarray(labels)
        if getattr(arr, "ndim", 1) != 1:
            raise InvalidDataError(
                f"Labels must be one-dimensional, got shape {np.shape(arr)}.")
        series = pd.Series(arr, name=name)
    if series.name is None:
        series = series.rename(name)
    raise_bad_rows(series.to_frame(), series.isna().to_numpy(), str(series.name),
                   "have no label (missing value)")
    if not isinstance(series.dtype, pd.CategoricalDtype):
        series = series.astype("category")
    return series


def _shares(labels, values=None) -> pd.DataFrame:
    """Customers and value shares per label, from :func:`segment_profile`."""
    if isinstance(labels, pd.DataFrame):
        if labels.shape[1] != 1:
            raise InvalidDataError(
                f"Expected one column of labels, got a DataFrame with columns "
                f"{list(labels.columns)}.")
        labels = labels.iloc[:, 0]
    index = labels.index if isinstance(labels, pd.Series) else pd.RangeIndex(len(labels))
    frame = pd.DataFrame(index=index)
    if values is not None:
        if isinstance(values, pd.Series) and isinstance(labels, pd.Series):
            frame["value"] = values.reindex(index) if not values.index.equals(index) \
                else values
        else:
            arr = np.asarray(values)
            if arr.ndim != 1 or len(arr) != len(index):
                raise InvalidDataError(
                    f"values must hold one value per label: got shape {arr.shape} for "
                    f"{len(index)} labels.")
            frame["value"] = arr
        check_finite_numeric(frame, "value")
    return segment_profile(frame, labels, value_column="value" if values is not None
                           else None, columns=[])


# ---------------------------------------------------------------------- model plots
def plot_frequency_recency_matrix(model, T=None, max_frequency=None, max_recency=None,
                                  ax=None, *, age=None, **kwargs):
    """Heatmap of the expected purchases in the next ``T`` periods by frequency and recency.

    Parameters
    ----------
    model : BaseTransactionModel
        A fitted transaction model (``BetaGeo`` ...).
    T : float, optional
        Length of the future window, in the model's time unit (as in lifetimes' plot of
        the same name); None uses the model's ``horizon``.
    max_frequency, max_recency : int, optional
        Extent of the grid; None uses the largest frequency and age of the training
        table.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    age : float, optional
        Age of the customers of the grid (their ``T``); None is ``max_recency``.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow` (``cmap`` ...).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The cell at frequency :math:`x` and recency :math:`t_x` shows
    :math:`E[X(T_{age}, T_{age} + t) \\mid x, t_x, T_{age}]` from
    ``model.expected_purchases_matrix``: the best customers (many purchases, the last
    one recent) sit in the top right corner.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way", Marketing Science 24(2), 275-284, equation (10).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> from custseg.report import plot_frequency_recency_matrix
    >>> model = BetaGeo().fit(load_cdnow_summary())
    >>> ax = plot_frequency_recency_matrix(model, T=4)
    >>> ax.images[0].get_array().shape
    (40, 30)
    """
    ax = _axes(ax)
    t = _horizon(model, T)
    matrix = model.expected_purchases_matrix(t=t, max_frequency=max_frequency,
                                             max_recency=max_recency, T=age)
    _grid_heatmap(ax, matrix, cbar_label="Expected purchases", **kwargs)
    unit = _unit_name(model)
    age_value = float(matrix.index[-1]) if age is None else float(age)
    ax.set_title(f"Expected purchases in the next {_amount(t, unit)}\n"
                 f"by purchase history (customers aged {_amount(age_value, unit)})")
    ax.set_xlabel("Frequency (repeat purchases)")
    ax.set_ylabel(f"Recency (age at last purchase, {unit})")
    return ax


def plot_probability_alive_matrix(model, max_frequency=None, max_recency=None, ax=None, *,
                                  age=None, **kwargs):
    """Heatmap of the probability that a customer is alive, by frequency and recency.

    Parameters
    ----------
    model : BaseTransactionModel
        A fitted transaction model.
    max_frequency, max_recency : int, optional
        Extent of the grid; None uses the largest frequency and age of the training
        table.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    age : float, optional
        Age of the customers of the grid; None is ``max_recency``.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    The cell at frequency :math:`x` and recency :math:`t_x` shows
    :math:`P(\\text{alive} \\mid x, t_x, T_{age})` from
    ``model.probability_alive_matrix``; the colour scale spans [0, 1]. For the BG/NBD
    it is

    .. math::
        P(\\text{alive}) = \\Big(1 + 1_{x>0} \\frac{a}{b+x-1}
            \\Big(\\frac{\\alpha+T}{\\alpha+t_x}\\Big)^{r+x}\\Big)^{-1};

    the other models draw their own expression (see their ``probability_alive``).

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2008), "Computing P(alive) using the
    BG/NBD model", technical note (its closing expression, shown above); the model and
    its likelihood are in equation (6) of Fader, Hardie and Lee (2005), "Counting your
    customers the easy way", Marketing Science 24(2), 275-284.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> from custseg.report import plot_probability_alive_matrix
    >>> model = BetaGeo().fit(load_cdnow_summary())
    >>> ax = plot_probability_alive_matrix(model, max_frequency=10)
    >>> ax.images[0].get_array().shape
    (40, 11)
    """
    ax = _axes(ax)
    matrix = model.probability_alive_matrix(max_frequency=max_frequency,
                                            max_recency=max_recency, T=age)
    kwargs.setdefault("vmin", 0.0)
    kwargs.setdefault("vmax", 1.0)
    _grid_heatmap(ax, matrix, cbar_label="P(alive)", **kwargs)
    unit = _unit_name(model)
    age_value = float(matrix.index[-1]) if age is None else float(age)
    ax.set_title(f"Probability of being alive\nby purchase history "
                 f"(customers aged {_amount(age_value, unit)})")
    ax.set_xlabel("Frequency (repeat purchases)")
    ax.set_ylabel(f"Recency (age at last purchase, {unit})")
    return ax


def _bucket_labels(index, max_frequency) -> list[str]:
    out = []
    for v in index:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, numbers.Number) and float(v) >= max_frequency:
            out.append(f"{int(v)}+")
        else:
            out.append(f"{int(v)}")
    return out


def _pick(frame: pd.DataFrame, candidates, what: str) -> str:
    for name in candidates:
        if name in frame.columns:
            return name
    raise InvalidDataError(
        f"The {what} table has none of the columns {list(candidates)}; "
        f"found {list(frame.columns)}.")


def plot_calibration_purchases_vs_holdout_purchases(model, cal_holdout_table,
                                                    max_frequency=7, ax=None, **kwargs):
    """Mean holdout purchases, actual and predicted, by calibration frequency.

    Parameters
    ----------
    model : BaseTransactionModel
        A transaction model fitted on the calibration columns.
    cal_holdout_table : DataFrame
        Output of :func:`custseg.features.calibration_holdout_split`.
    max_frequency : int, default=7
        The last bucket gathers customers with at least this many calibration
        purchases.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` for both lines.

    Returns
    -------
    matplotlib.axes.Axes
        Two lines, "Actual" and "Model", one point per frequency bucket.

    Notes
    -----
    The numbers are those of
    :func:`custseg.models._diagnostics.expected_vs_actual_by_frequency`: for the customers
    with :math:`x` calibration purchases, the mean of their holdout purchases and the mean
    of :math:`E[X(T, T + t^*) \\mid x, t_x, T]` over their holdout durations :math:`t^*`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way", Marketing Science 24(2), 275-284, figure 4 and equation (10).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_transactions
    >>> from custseg.features import calibration_holdout_split
    >>> from custseg.models import BetaGeo
    >>> from custseg.report import plot_calibration_purchases_vs_holdout_purchases
    >>> split = calibration_holdout_split(load_cdnow_transactions(), "customer_id", "date",
    ...                                   "1997-09-30", "1998-06-30", freq="W")
    >>> cal = split[["frequency_cal", "recency_cal", "T_cal"]]
    >>> model = BetaGeo().fit(cal.set_axis(["frequency", "recency", "T"], axis=1))
    >>> ax = plot_calibration_purchases_vs_holdout_purchases(model, split)
    >>> len(ax.lines)
    2
    """
    from ..models._diagnostics import expected_vs_actual_by_frequency

    ax = _axes(ax)
    table = expected_vs_actual_by_frequency(model, cal_holdout_table,
                                            max_frequency=max_frequency)
    actual = _pick(table, ("actual",), "expected-vs-actual")
    predicted = _pick(table, ("predicted",), "expected-vs-actual")
    x = np.arange(len(table))
    ax.plot(x, table[actual].to_numpy(float), marker="o", color=_PAIR[0], label="Actual",
            **kwargs)
    ax.plot(x, table[predicted].to_numpy(float), marker="s", linestyle="--",
            color=_PAIR[1], label="Model", **kwargs)
    ax.set_xticks(x, _bucket_labels(table.index, max_frequency))
    ax.set_xlabel("Purchases in the calibration period")
    ax.set_ylabel("Mean purchases in the holdout period")
    ax.set_title("Actual vs predicted holdout purchases\nby calibration frequency")
    ax.set_ylim(bottom=0)
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return ax


def plot_period_transactions(model, table, max_frequency=7, ax=None, *, random_state=0,
                             method="auto", **kwargs):
    """Histogram of repeat purchases per customer: actual and simulated from the model.

    Parameters
    ----------
    model : BaseTransactionModel
        A fitted transaction model.
    table : DataFrame
        A customer table (``frequency``, ``recency``, ``T``) or a calibration/holdout
        table; see
        :func:`custseg.models._diagnostics.simulated_vs_actual_repeat_counts`.
    max_frequency : int, default=7
        The last bar gathers customers with at least this many repeat purchases.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    random_state : int, Generator or None, default=0
        Seed of the simulation.
    method : {"auto", "sample", "analytic"}, default="auto"
        Simulated customers (``"sample"``, the default when the model can simulate) or
        expected counts (``"analytic"``); see
        :func:`~custseg.models._diagnostics.simulated_vs_actual_repeat_counts`.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar` for both series.

    Returns
    -------
    matplotlib.axes.Axes
        Two groups of bars, "Actual" then "Model", one bar per count of purchases.

    Notes
    -----
    A model that fits draws a frequency distribution :math:`P(X(T) = x)` close to the
    observed one over the customers' ages :math:`T`.

    References
    ----------
    Fader, P. S., Hardie, B. G. S. and Lee, K. L. (2005), "Counting your customers the
    easy way", Marketing Science 24(2), 275-284, figure 2 and equation (8).

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.models import BetaGeo
    >>> from custseg.report import plot_period_transactions
    >>> table = load_cdnow_summary()
    >>> ax = plot_period_transactions(BetaGeo().fit(table), table)
    >>> len(ax.patches)
    16
    """
    from ..models._diagnostics import simulated_vs_actual_repeat_counts

    ax = _axes(ax)
    counts = simulated_vs_actual_repeat_counts(model, table, max_frequency=max_frequency,
                                               random_state=random_state, method=method)
    actual = _pick(counts, ("actual",), "repeat-count")
    simulated = _pick(counts, ("simulated",), "repeat-count")
    how = "simulated" if counts.attrs.get("method") == "sample" else "expected"
    x = np.arange(len(counts))
    width = 0.4
    ax.bar(x - width / 2, counts[actual].to_numpy(float), width, color=_PAIR[0],
           label="Actual", **kwargs)
    ax.bar(x + width / 2, counts[simulated].to_numpy(float), width, color=_PAIR[1],
           label=f"Model ({how})", **kwargs)
    ax.set_xticks(x, _bucket_labels(counts.index, max_frequency))
    ax.set_xlabel("Repeat purchases")
    ax.set_ylabel("Customers")
    ax.set_title("Repeat purchases per customer: actual vs model")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return ax


# ---------------------------------------------------------------------- tiers and segments
def plot_tier_sizes(labels, values=None, ax=None, **kwargs):
    r"""Bars of the share of customers and, with ``values``, the share of value per tier.

    Parameters
    ----------
    labels : array-like, Series or Categorical of shape (n_customers,)
        Tier or segment of each customer. Bars follow the categories of a categorical
        (unused ones included), else the sorted labels.
    values : array-like or Series of shape (n_customers,), optional
        Value per customer (CLV, spend) for the value shares. A Series is aligned on the
        labels' index when both are indexed by customer.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.bar`.

    Returns
    -------
    matplotlib.axes.Axes
        One bar per tier for the customer share, then (with ``values``) one per tier for
        the value share: the ``share`` and ``value_share`` columns of
        :func:`custseg.report.segment_profile`.

    Notes
    -----
    For a tier :math:`S` of :math:`n_S` of the :math:`n` customers with values
    :math:`v_i`, the bars are :math:`n_S / n` and
    :math:`\sum_{i \in S} v_i / \sum_i v_i`: a Pareto chart per tier, where a top tier
    holding 20% of the customers and 80% of the value shows the 80/20 rule.

    References
    ----------
    Juran, J. M. (1951), Quality Control Handbook, McGraw-Hill, chapter 2 (the Pareto
    principle, "the vital few and the trivial many").

    Examples
    --------
    >>> from custseg.report import plot_tier_sizes
    >>> ax = plot_tier_sizes(["gold", "silver", "gold", "bronze"], values=[50, 30, 20, 0])
    >>> [round(float(p.get_height()), 2) for p in ax.patches]
    [0.25, 0.5, 0.25, 0.0, 0.7, 0.3]
    """
    profile = _shares(labels, values)
    ax = _axes(ax, figsize=(max(7.0, 1.5 + 0.75 * len(profile)), 4.8))
    from matplotlib.ticker import PercentFormatter

    x = np.arange(len(profile))
    names = [str(v) for v in profile.index]
    customer = profile["share"].to_numpy(dtype=float)
    with_value = "value_share" in profile
    width = 0.4 if with_value else 0.6
    offset = width / 2 if with_value else 0.0
    bars = ax.bar(x - offset, customer, width, color=_PAIR[0], label="Customers", **kwargs)
    ax.bar_label(bars, labels=_share_labels(customer), fontsize=8, padding=2)
    top = float(customer.max(initial=0.0))
    if with_value:
        value = np.nan_to_num(profile["value_share"].to_numpy(dtype=float))
        vbars = ax.bar(x + offset, value, width, color=_PAIR[1], label="Value", **kwargs)
        ax.bar_label(vbars, labels=_share_labels(value), fontsize=8, padding=2)
        top = max(top, float(value.max(initial=0.0)))
    long_names = max(map(len, names), default=0) > 8
    ax.set_xticks(x, names, rotation=30 if long_names else 0,
                  ha="right" if long_names else "center")
    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_ylim(0, min(1.05, top * 1.15) if top > 0 else 1.0)
    what = str(profile.index.name)
    ax.set_title(f"Share of customers{' and of value' if with_value else ''} by {what}")
    ax.set_xlabel(what)
    ax.set_ylabel("Share")
    ax.legend()
    ax.grid(axis="y", alpha=0.3)
    return ax


def _share_labels(shares: np.ndarray) -> list[str]:
    """Percentages over the bars; none over empty bars."""
    return [f"{v:.0%}" if v >= 0.005 else ("<1%" if v > 0 else "") for v in shares]


def _cell_grid(cells: pd.DataFrame):
    """Grids (y levels down x x levels across, in table order) of a ValueMatrix cell table."""
    check_columns(cells, ["y_level", "x_level", "customers"], what="value-matrix cell table")
    y_levels = list(dict.fromkeys(cells["y_level"]))
    x_levels = list(dict.fromkeys(cells["x_level"]))
    long = cells.assign(name=cells.index.astype(str))
    if long.duplicated(["y_level", "x_level"]).any():
        raise InvalidDataError(
            "The value-matrix cell table has several rows for one (y_level, x_level) cell.")

    def grid(column):
        wide = long.pivot(index="y_level", columns="x_level", values=column)
        return wide.reindex(index=y_levels, columns=x_levels)

    counts = grid("customers")
    shares = grid("value_share") if "value_share" in long else None
    return counts, shares, grid("name")


def plot_value_matrix(table_or_cell_table, matrix=None, value=None, ax=None, *, xlabel=None,
                      ylabel=None, **kwargs):
    r"""Heatmap of a value matrix: customers per cell, annotated with counts and value shares.

    Parameters
    ----------
    table_or_cell_table : DataFrame
        Either the output of :meth:`custseg.tiers.ValueMatrix.cell_table` (index
        ``cell``, columns ``y_level``, ``x_level``, ``customers`` and optionally
        ``value_share``) or a customer table, which is then passed to
        ``matrix.cell_table``.
    matrix : ValueMatrix, optional
        A fitted :class:`custseg.tiers.ValueMatrix`, needed with a customer table; it
        also names the axes.
    value : str or array-like, optional
        Value whose shares are shown (passed to ``cell_table``).
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    xlabel, ylabel : str, optional
        Axis titles; by default the matrix's ``x`` and ``y`` columns, or "x" and "y".
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes
        One image of shape (y levels, x levels), coloured by the number of customers and
        laid out like the cell table (top left: high ``y`` and high ``x``), each cell
        annotated with its name, count and share of value.

    Notes
    -----
    The cell of row :math:`i` and column :math:`j` holds the customers whose ``y`` and
    ``x`` fall in the :math:`i`-th and :math:`j`-th tiers from the top; its value share
    is :math:`\sum_{c \in (i, j)} v_c / \sum_c v_c`.

    References
    ----------
    Kumar, V. and Reinartz, W. (2018), Customer Relationship Management: Concept,
    Strategy, and Tools, 3rd ed., Springer, section 6.3 (two-dimensional customer value
    matrices).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.tiers import ValueMatrix
    >>> from custseg.report import plot_value_matrix
    >>> table = pd.DataFrame({"frequency": [1, 8, 2, 9, 3, 7],
    ...                       "monetary_value": [300.0, 250.0, 20.0, 15.0, 40.0, 500.0]})
    >>> matrix = ValueMatrix().fit(table)
    >>> ax = plot_value_matrix(table, matrix, value="monetary_value")
    >>> ax.images[0].get_array().tolist()
    [[2.0, 1.0], [1.0, 2.0]]
    """
    frame = table_or_cell_table
    if matrix is not None:
        frame = (matrix.cell_table(frame) if value is None
                 else matrix.cell_table(frame, value=value))
    if not isinstance(frame, pd.DataFrame):
        raise InvalidDataError(
            f"Expected a cell table (DataFrame), got {type(frame).__name__}.")
    counts, shares, names = _cell_grid(frame)
    ax = _axes(ax)
    values = counts.to_numpy(dtype=float)
    kwargs.setdefault("cmap", "Blues")
    kwargs.setdefault("vmin", 0.0)
    im = ax.imshow(values, aspect="auto", interpolation="nearest", **kwargs)
    ax.get_figure().colorbar(im, ax=ax, label="Customers")
    texts = []
    for i in range(values.shape[0]):
        row = []
        for j in range(values.shape[1]):
            parts = [str(names.iat[i, j]), f"{int(values[i, j]):,} customers"]
            if shares is not None and np.isfinite(shares.iat[i, j]):
                parts.append(f"{float(shares.iat[i, j]):.0%} of value")
            row.append("\n".join(parts))
        texts.append(row)
    _annotate(ax, im, values, texts, fontsize=10)
    x_name = xlabel or (str(matrix.x) if matrix is not None else "x")
    y_name = ylabel or (str(matrix.y) if matrix is not None else "y")
    ax.set_xticks(np.arange(values.shape[1]), [f"{c} {x_name}" for c in counts.columns])
    ax.set_yticks(np.arange(values.shape[0]), [f"{c} {y_name}" for c in counts.index])
    ax.set_xlabel(x_name)
    ax.set_ylabel(y_name)
    ax.set_title(f"Value matrix: {y_name} by {x_name}")
    return ax


def _scale(ax, axis: str, data: np.ndarray):
    setter = ax.set_xscale if axis == "x" else ax.set_yscale
    if len(data) and np.min(data) <= 0:
        setter("symlog", linthresh=1.0)
    else:
        setter("log")


def plot_segments(table, labels, x="frequency", y="monetary_value", log=True, sample=20000,
                  random_state=0, ax=None, **kwargs):
    """Scatter of customers on two columns, coloured by segment, from a bounded sample.

    Parameters
    ----------
    table : DataFrame
        Customer table holding columns ``x`` and ``y``.
    labels : array-like, Series, Categorical or str of shape (n_customers,)
        Segment of each customer: a Series indexed by the table's customer ids is aligned
        on them, anything else is taken in row order; or the name of a column of
        ``table``. Segments are drawn in category order (sorted labels otherwise).
    x, y : str, default="frequency", "monetary_value"
        Columns on the axes.
    log : bool, default=True
        Logarithmic axes (``symlog``, linear below 1, when a column holds zeros).
    sample : int or None, default=20000
        At most this many customers, drawn uniformly at random, are plotted; None plots
        all of them.
    random_state : int, Generator or None, default=0
        Seed of the sample.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.scatter`.

    Returns
    -------
    matplotlib.axes.Axes
        One scatter collection per segment with members in the sample; the legend gives
        each segment's size in the whole table.

    Examples
    --------
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.report import plot_segments
    >>> table = load_cdnow_summary()
    >>> labels = (table["frequency"] > 0).map({True: "repeat", False: "one-off"})
    >>> ax = plot_segments(table, labels, sample=1000)
    >>> len(ax.collections), sum(len(c.get_offsets()) for c in ax.collections)
    (2, 1000)
    """
    check_columns(table, [x, y], what="customer table")
    if isinstance(labels, str):
        check_columns(table, [labels], what="customer table")
        labels = table[labels]
    if isinstance(labels, pd.Series) and not labels.index.equals(table.index) and \
            labels.index.isin(table.index).all() and len(labels) == len(table):
        labels = labels.reindex(table.index)  # a Series indexed by customer id
    lab = _as_label_series(labels, name="segment")
    if len(lab) != len(table):
        raise InvalidDataError(
            f"labels must have one entry per customer: got {len(lab)} labels for "
            f"{len(table)} rows.")
    if sample is not None and (not isinstance(sample, numbers.Integral) or sample < 1):
        raise InvalidParameterError(f"sample must be a positive integer or None, got "
                                    f"{sample!r}.")
    xs = check_finite_numeric(table, x)
    ys = check_finite_numeric(table, y)
    codes = lab.cat.codes.to_numpy()
    cats = lab.cat.categories
    sizes = np.bincount(codes, minlength=len(cats))
    n = len(table)
    take = np.arange(n)
    if sample is not None and n > sample:
        rng = (random_state if isinstance(random_state, np.random.Generator)
               else np.random.default_rng(random_state))
        take = np.sort(rng.choice(n, size=int(sample), replace=False))
    ax = _axes(ax, figsize=(7.5, 5.2))
    kwargs.setdefault("s", 10)
    kwargs.setdefault("alpha", 0.55)
    kwargs.setdefault("linewidths", 0)
    colours = _segment_colours(len(cats))
    sc = codes[take]
    for k, name in enumerate(cats):
        mask = sc == k
        if not mask.any():
            continue
        ax.scatter(xs[take][mask], ys[take][mask], color=colours[k],
                   label=f"{name} ({sizes[k]:,})", **kwargs)
    if log:
        _scale(ax, "x", xs[take])
        _scale(ax, "y", ys[take])
    ax.set_xlabel(x + (" (log scale)" if log else ""))
    ax.set_ylabel(y + (" (log scale)" if log else ""))
    title = f"Segments by {x} and {y}"
    if len(take) < n:
        title += f"\n(random sample of {len(take):,} of {n:,} customers)"
    ax.set_title(title)
    ax.legend(title=str(lab.name), markerscale=2, fontsize=8)
    ax.grid(alpha=0.3)
    return ax


def _segment_colours(k: int):
    from matplotlib import colormaps

    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    return [cmap(i % cmap.N) for i in range(k)]


# ---------------------------------------------------------------------- migration
def _migration_counts(matrix) -> pd.DataFrame:
    if isinstance(matrix, pd.DataFrame):
        return matrix
    counts = getattr(matrix, "counts", None)
    if isinstance(counts, pd.DataFrame):
        return counts
    raise InvalidDataError(
        "Expected a migration matrix: a DataFrame (rows: tiers before, columns: tiers "
        f"after) or a result with a .counts DataFrame, got {type(matrix).__name__}.")


def plot_migration(matrix, normalize=True, ax=None, **kwargs):
    """Heatmap of customers moving between tiers of two snapshots.

    Parameters
    ----------
    matrix : DataFrame or migration result
        Output of :func:`custseg.report.migration_matrix`: rows are the tiers before,
        columns the tiers after (a result object is read through its ``counts``).
    normalize : bool, default=True
        Colour by row shares (where the customers of each earlier tier went); False
        colours by counts.
    ax : matplotlib Axes, optional
        Where to draw; None draws on a new figure.
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.imshow`.

    Returns
    -------
    matplotlib.axes.Axes
        One image of the matrix's shape, each cell annotated (share and count).

    Examples
    --------
    >>> import pandas as pd
    >>> from custseg.report import plot_migration
    >>> counts = pd.DataFrame([[8, 2], [1, 9]], index=["high", "low"],
    ...                       columns=["high", "low"])
    >>> ax = plot_migration(counts)
    >>> ax.images[0].get_array().tolist()
    [[0.8, 0.2], [0.1, 0.9]]
    """
    counts = _migration_counts(matrix)
    values = counts.to_numpy(dtype=float)
    values = np.where(np.isnan(values), 0.0, values)  # rows without customers in shares
    if np.isinf(values).any() or (values < 0).any():
        raise InvalidDataError(
            "The migration matrix holds negative or infinite cells; pass the counts or "
            "row shares of migration_matrix.")
    integral = np.allclose(values, np.round(values))
    if normalize:
        totals = values.sum(axis=1, keepdims=True)
        shown = np.divide(values, totals, out=np.zeros_like(values), where=totals > 0)
    else:
        shown = values
    ax = _axes(ax, figsize=(max(5.0, 1.0 + 1.0 * values.shape[1]),
                            max(4.0, 1.0 + 0.6 * values.shape[0])))
    kwargs.setdefault("cmap", "Purples")
    if normalize:
        kwargs.setdefault("vmin", 0.0)
        kwargs.setdefault("vmax", 1.0)
    im = ax.imshow(shown, aspect="auto", interpolation="nearest", **kwargs)
    ax.get_figure().colorbar(im, ax=ax, label="Share of the row" if normalize else
                             "Customers")
    texts = []
    for i in range(values.shape[0]):
        row = []
        for j in range(values.shape[1]):
            count = f"{int(round(values[i, j])):,}" if integral else f"{values[i, j]:.3g}"
            row.append(f"{shown[i, j]:.0%}\n({count})" if normalize else count)
        texts.append(row)
    _annotate(ax, im, shown, texts, fontsize=8)
    ax.set_xticks(np.arange(values.shape[1]), [str(c) for c in counts.columns],
                  rotation=30, ha="right")
    ax.set_yticks(np.arange(values.shape[0]), [str(c) for c in counts.index])
    ax.set_xlabel(str(counts.columns.name or "After"))
    ax.set_ylabel(str(counts.index.name or "Before"))
    ax.set_title("Migration between snapshots" + (" (row shares)" if normalize else ""))
    return ax
