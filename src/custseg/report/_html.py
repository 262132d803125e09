"""One self-contained HTML report of a customer table, its models, tiers and segments.

:func:`build_report` writes a single file: every plot is a PNG embedded as a ``data:``
URI, the style sheet and the one small script are inline, and nothing is fetched from the
network (no fonts, scripts or images from elsewhere), so the file can be archived or sent
by e-mail and opens the same anywhere.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import numbers
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .._validation import check_columns, check_not_empty
from .._version import __version__
from . import _plots
from ._profile import segment_profile

__all__ = ["build_report", "REPORT_SECTIONS"]

#: Identifiers (HTML ``id``) and titles of the sections, in the order they appear. A
#: section is left out when the inputs it needs are not given.
REPORT_SECTIONS = {
    "overview": "Overview",
    "data-quality": "Data quality",
    "models": "Model parameters",
    "fit-checks": "Fit checks",
    "value": "Customer value",
    "tiers": "Tiers",
    "value-matrix": "Value matrix",
    "segments": "Segments",
    "configuration": "Configuration",
    "timings": "Timings",
}

_MAX_LABELS = 50  # label columns found automatically have at most this many values

_CSS = """
:root { --ink: #1f2933; --muted: #5f6b7a; --line: #d9dee5; --accent: #4c72b0;
        --bg: #f4f6f8; --card: #ffffff; --warn: #fff4e5; --warn-line: #f0a24b; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue",
             Arial, sans-serif; }
header.top { background: #23395d; color: #fff; padding: 28px 0 20px; }
header.top h1 { margin: 0 0 6px; font-size: 28px; font-weight: 600; }
header.top p { margin: 0; color: #c9d3e3; font-size: 14px; }
.wrap { max-width: 1200px; margin: 0 auto; padding: 0 24px; }
nav.toc { background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0;
          z-index: 1; }
nav.toc ul { list-style: none; margin: 0 auto; padding: 10px 24px; max-width: 1200px;
             display: flex; flex-wrap: wrap; gap: 6px 18px; }
nav.toc a { color: var(--accent); text-decoration: none; font-size: 14px; }
nav.toc a:hover { text-decoration: underline; }
main { padding: 20px 0 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px;
          padding: 20px 24px; margin: 0 0 20px; }
section h2 { margin: 0 0 12px; font-size: 21px; font-weight: 600; }
section h3 { margin: 22px 0 8px; font-size: 16px; font-weight: 600; }
p.note { color: var(--muted); font-size: 14px; margin: 6px 0 12px; max-width: 900px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
         gap: 12px; margin: 8px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px;
        background: #fafbfc; }
.card .label { color: var(--muted); font-size: 13px; }
.card .value { font-size: 21px; font-weight: 600; margin-top: 2px; }
.table-wrap { overflow-x: auto; margin: 6px 0 12px; }
table.data { border-collapse: collapse; font-size: 13.5px;
             font-variant-numeric: tabular-nums; }
table.data th, table.data td { padding: 5px 10px; border-bottom: 1px solid var(--line);
                               text-align: right; white-space: nowrap; }
table.data thead th { background: #eef1f5; border-bottom: 2px solid #c4ccd6;
                      vertical-align: bottom; white-space: normal; max-width: 120px; }
table.data thead th:first-child { text-align: left; }
table.kv td { text-align: left; white-space: normal; }
table.data tbody th { text-align: left; font-weight: 600; }
table.data tbody tr:nth-child(even) { background: #f8f9fb; }
.plots, .cols { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr));
                gap: 16px 28px; margin: 10px 0; align-items: start; }
.plots.wide { grid-template-columns: minmax(0, 1fr); }
.plots.wide figure { max-width: 1000px; }
@media (max-width: 900px) { .plots, .cols { grid-template-columns: minmax(0, 1fr); } }
figure { margin: 0; }
figure img { display: block; width: 100%; height: auto; border: 1px solid var(--line);
             border-radius: 4px; background: #fff; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.problem { border-left: 3px solid var(--line); padding-left: 12px; margin: 10px 0; }
.warning { background: var(--warn); border: 1px solid var(--warn-line); border-radius: 6px;
           padding: 8px 12px; margin: 8px 0; font-size: 14px; }
footer { color: var(--muted); font-size: 13px; padding: 0 0 30px; }
"""

# Counts, on window load, the images that decoded, so that a headless browser can check
# that every embedded picture is valid.
_SCRIPT = """
window.addEventListener("load", function () {
  var images = document.getElementsByTagName("img");
  var loaded = 0;
  for (var i = 0; i < images.length; i++) {
    if (images[i].complete && images[i].naturalWidth > 0) { loaded += 1; }
  }
  document.body.setAttribute("data-images-loaded", String(loaded));
  document.body.setAttribute("data-images-total", String(images.length));
});
"""


# ---------------------------------------------------------------------- formatting
def _esc(value) -> str:
    return html.escape(str(value), quote=True)


def _number(value) -> str:
    """A number for people: thousands separators, about four significant digits."""
    if value is None:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, numbers.Integral):
        return f"{int(value):,}"
    if not isinstance(value, numbers.Real):
        return str(value)
    v = float(value)
    if not np.isfinite(v):
        return "–" if np.isnan(v) else str(v)
    if v == int(v) and abs(v) < 1e15:
        return f"{int(v):,}"
    a = abs(v)
    if a >= 1000:
        return f"{v:,.0f}"
    if a >= 100:
        return f"{v:,.1f}"
    if a >= 1e-3:
        return f"{v:.4g}"
    return f"{v:.3g}"


def _percent(value) -> str:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "–" if not np.isfinite(v) else f"{v:.1%}"


def _is_id(name) -> bool:
    text = str(name).lower()
    return text == "id" or text.endswith("_id") or text.endswith(" id")


def _cells(values: pd.Series, *, share: bool, ident: bool) -> list[str]:
    """Text of the cells of one column."""
    dtype = values.dtype
    if pd.api.types.is_datetime64_any_dtype(dtype):
        stamps = pd.DatetimeIndex(values)
        fmt = "%Y-%m-%d" if (stamps.dropna() == stamps.dropna().normalize()).all() \
            else "%Y-%m-%d %H:%M:%S"
        return ["–" if pd.isna(v) else v.strftime(fmt) for v in stamps]
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
        if share:
            return [_percent(v) for v in values]
        if ident:
            return [str(v) for v in values]
        return [_number(v) for v in values]
    return ["–" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
            for v in values.astype(object)]


def _table(frame: pd.DataFrame, *, percent=(), index=True, kv=False) -> str:
    """A DataFrame as an escaped HTML table with readable numbers.

    Columns named ``*share*`` (or listed in ``percent``) are shown as percentages, ids
    as they are, other numbers with thousands separators. The index name goes in the
    top-left cell so that the header is one row.
    """
    shown = pd.DataFrame(index=frame.index)
    for col in frame.columns:
        is_share = col in percent or (isinstance(col, str) and "share" in col)
        shown[col] = _cells(frame[col], share=is_share, ident=_is_id(col))
    if index:
        name = frame.index.name
        shown.index = pd.Index(_cells(frame.index.to_series(), share=False,
                                      ident=_is_id(name) or not isinstance(
                                          frame.index, pd.RangeIndex)))
        shown.columns = pd.Index([str(c) for c in shown.columns],
                                 name=None if name is None else str(name))
    out = shown.to_html(escape=True, border=0, index=index, na_rep="–",
                        classes=["data", "kv"] if kv else "data")
    return f'<div class="table-wrap">{out}</div>'


def _image(ax, alt: str, caption: str = "") -> str:
    """The figure of ``ax`` as an embedded PNG."""
    fig = ax.get_figure()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    cap = f"<figcaption>{_esc(caption)}</figcaption>" if caption else ""
    return (f'<figure><img src="data:image/png;base64,{data}" alt="{_esc(alt)}">'
            f"{cap}</figure>")


def _plots_grid(*figures: str, wide: bool = False) -> str:
    """Figures two by two, or one per row with ``wide``."""
    cls = "plots wide" if wide else "plots"
    return f'<div class="{cls}">' + "".join(figures) + "</div>"


def _note(text: str) -> str:
    return f'<p class="note">{_esc(text)}</p>'


def _cards(items: Sequence[tuple[str, str]]) -> str:
    cells = "".join(f'<div class="card"><div class="label">{_esc(label)}</div>'
                    f'<div class="value">{_esc(value)}</div></div>'
                    for label, value in items)
    return f'<div class="cards">{cells}</div>'


def _key_values(pairs: Sequence[tuple[str, object]], columns=("setting", "value")) -> str:
    """A two-column table of names and values (numbers formatted, text left-aligned)."""
    values = [_number(v) if isinstance(v, numbers.Number) else str(v) for _, v in pairs]
    frame = pd.DataFrame({columns[1]: values},
                         index=pd.Index([str(k) for k, _ in pairs], name=columns[0]))
    return _table(frame, kv=True)


# ---------------------------------------------------------------------- helpers
def _unit_name(unit) -> str:
    return _plots._UNIT_NAMES.get(unit, "periods")


def _time_unit(table: pd.DataFrame, model) -> str | None:
    for source in (getattr(model, "time_unit_", None), getattr(model, "time_unit", None),
                   table.attrs.get("time_unit")):
        if source:
            return source
    return None


def _label_columns(table: pd.DataFrame, label_columns) -> tuple[list[str], list[str]]:
    """Label columns to describe, and the requested ones absent from the table."""
    if label_columns is not None:
        if isinstance(label_columns, str):
            label_columns = [label_columns]
        wanted = list(dict.fromkeys(label_columns))
        return [c for c in wanted if c in table.columns], [c for c in wanted
                                                            if c not in table.columns]
    found = []
    for col in table.columns:
        dtype = table[col].dtype
        if isinstance(dtype, pd.CategoricalDtype):
            found.append(col)
        elif (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)) \
                and table[col].nunique(dropna=True) <= _MAX_LABELS:
            found.append(col)
    return found, []


def _value_column(table: pd.DataFrame, value_column) -> str | None:
    if value_column is not None:
        check_columns(table, [value_column], what="customer table")
        return value_column
    for candidate in ("clv", "monetary_value"):
        if candidate in table.columns:
            return candidate
    return None


def _profile_display(profile: pd.DataFrame, value_column) -> pd.DataFrame:
    """The size, shares and means of a segment profile, with readable headers."""
    names = {"n_customers": "customers", "share": "share of customers",
             "value_share": f"share of {value_column or 'value'}"}
    keep = [c for c in names if c in profile]
    means = [c for c in profile.columns if c.endswith("_mean")]
    shown = profile[keep + means].rename(columns=names)
    return shown.rename(columns={c: "mean " + c[:-5].replace("_", " ") for c in means})


def _timing_pairs(timings) -> list[tuple[str, float]]:
    if isinstance(timings, Mapping):
        return [(str(k), float(v)) for k, v in timings.items()]
    return [(str(k), float(v)) for k, v in timings]


def _flatten(config, prefix="") -> list[tuple[str, object]]:
    out = []
    items = config.items() if isinstance(config, Mapping) else vars(config).items()
    for key, value in items:
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if value:
                out.extend(_flatten(value, prefix=name + "."))
            else:
                out.append((name, "(defaults)"))
        elif isinstance(value, (list, tuple)):
            out.append((name, ", ".join(map(str, value))))
        else:
            out.append((name, "–" if value is None else value))
    return out


# ---------------------------------------------------------------------- sections
class _Context:
    """What the sections share: the inputs and the values derived from them once."""

    def __init__(self, table, cleaning_report, transaction_model, spend_model, clv_model,
                 segmenter, holdout_table, label_columns, value_column, value_matrix,
                 config, timings):
        self.table = table
        self.cleaning_report = cleaning_report
        self.clv_model = clv_model
        if transaction_model is None and clv_model is not None:
            transaction_model = getattr(clv_model, "transaction_model_", None)
        if spend_model is None and clv_model is not None:
            spend_model = getattr(clv_model, "spend_model_", None)
        self.transaction_model = transaction_model
        self.spend_model = spend_model
        self.segmenter = segmenter
        self.holdout_table = holdout_table
        self.labels, self.absent_labels = _label_columns(table, label_columns)
        self.value_column = _value_column(table, value_column)
        self.value_matrix = value_matrix
        self.config = config
        self.timings = timings
        self.unit = _time_unit(table, transaction_model)
        self._clv = None
        self.notes: list[str] = []

    @property
    def has_rfm(self) -> bool:
        return all(c in self.table.columns for c in ("frequency", "recency", "T"))

    def clv(self) -> pd.Series | None:
        """CLV per customer: the ``clv`` column, or the CLV model's prediction."""
        if self._clv is None:
            if "clv" in self.table.columns:
                self._clv = self.table["clv"]
            elif self.clv_model is not None:
                self._clv = pd.Series(self.clv_model.predict(self.table),
                                      index=self.table.index, name="clv")
        return self._clv

    def values(self) -> pd.Series | None:
        if self.value_column is None:
            return None
        return self.table[self.value_column]


def _overview(ctx: _Context) -> str:
    table = ctx.table
    notes = "".join(f'<div class="warning">{_esc(n[:1].upper() + n[1:])}</div>'
                    for n in ctx.notes)
    cards = [("Customers", _number(len(table)))]
    if ctx.cleaning_report is not None:
        cards.append(("Transactions (after cleaning)",
                      _number(ctx.cleaning_report.n_output_rows)))
    elif "n_transactions" in table.columns:
        cards.append(("Transactions", _number(int(table["n_transactions"].sum()))))
    elif "frequency" in table.columns:
        periods = int(table["frequency"].sum()) + len(table)
        cards.append(("Purchase periods (first + repeat)", _number(periods)))
    first = table["first_purchase"] if "first_purchase" in table.columns else None
    last = table["last_purchase"] if "last_purchase" in table.columns else None
    if first is not None and last is not None and \
            pd.api.types.is_datetime64_any_dtype(first.dtype):
        start, end = first.min(), last.max()
        cards.append(("Period", f"{start:%Y-%m-%d} to {end:%Y-%m-%d}"))
    elif "T" in table.columns:
        cards.append(("Longest customer age", f"{_number(float(table['T'].max()))} "
                      f"{_unit_name(ctx.unit)}"))
    if "frequency" in table.columns:
        freq = table["frequency"].to_numpy(dtype=float)
        cards.append(("Repeat customers", _percent(np.mean(freq > 0))))
        cards.append(("Mean repeat purchases", _number(float(np.mean(freq)))))
    if "monetary_value" in table.columns and "frequency" in table.columns:
        repeat = table["frequency"].to_numpy(dtype=float) > 0
        if repeat.any():
            mean_value = float(table["monetary_value"].to_numpy(dtype=float)[repeat].mean())
            cards.append(("Mean order value (repeat customers)", _number(mean_value)))
    if "total_spend" in table.columns:
        cards.append(("Total spend", _number(float(table["total_spend"].sum()))))
    clv = ctx.clv()
    if clv is not None:
        values = clv.to_numpy(dtype=float)
        cards.append(("Total CLV", _number(float(np.nansum(values)))))
        cards.append(("Mean CLV", _number(float(np.nanmean(values)))))
        top = np.sort(values[np.isfinite(values)])[::-1]
        if len(top) and top.sum() > 0:
            k = max(1, int(round(0.2 * len(top))))
            cards.append(("CLV held by the top 20%", _percent(top[:k].sum() / top.sum())))
    if "p_alive" in table.columns:
        cards.append(("Mean P(alive)", _percent(float(table["p_alive"].mean()))))
    text = ("One row per customer: frequency counts repeat purchase periods, recency is the "
            "customer's age at the last repeat purchase and T the age at the end of the "
            f"observation period (in {_unit_name(ctx.unit)}).")
    return notes + _cards(cards) + _note(text)


def _data_quality(ctx: _Context) -> str | None:
    report = ctx.cleaning_report
    if report is None:
        return None
    parts = [_cards([
        ("Rows in", _number(report.n_input_rows)),
        ("Rows out", _number(report.n_output_rows)),
        ("Rows dropped", _number(report.n_dropped_rows)),
        ("Customers in", _number(report.n_input_customers)),
        ("Customers out", _number(report.n_output_customers)),
    ])]
    summary = report.summary().copy()
    summary.index = [str(i).replace("_", " ") for i in summary.index]
    summary.index.name = "problem"
    parts.append("<h3>Problems found</h3>")
    parts.append(_table(summary))
    for name, problem in report.problems.items():
        if problem.n_rows == 0:
            continue
        head = (f"{name.replace('_', ' ')}: {problem.n_rows:,} rows, "
                f"{problem.n_dropped:,} dropped ({problem.action})")
        block = [f"<h3>{_esc(head)}</h3>"]
        if problem.details:
            block.append(_key_values(list(problem.details.items()), ("detail", "value")))
        if len(problem.examples):
            block.append(_note(f"First {len(problem.examples)} example rows, as in the "
                               "input:"))
            block.append(_table(problem.examples))
        parts.append('<div class="problem">' + "".join(block) + "</div>")
    dropped = report.dropped_customers
    if len(dropped):
        parts.append(f"<h3>{_esc(f'Customers left without any row: {len(dropped):,}')}</h3>")
        counts = dropped.value_counts().rename("customers").to_frame()
        counts.index.name = "reason"
        parts.append(_table(counts))
        parts.append(_note("First ids: " + ", ".join(map(str, dropped.index[:10]))))
    return "".join(parts)


def _model_block(title: str, model) -> str:
    parts = [f"<h3>{_esc(title)}: {_esc(type(model).__name__)}</h3>"]
    summary = model.summary()
    summary.index.name = "parameter"
    parts.append(_table(summary))
    facts = []
    if hasattr(model, "loglik_"):
        facts.append(("log-likelihood", float(model.loglik_)))
    if hasattr(model, "converged_"):
        facts.append(("converged", "yes" if model.converged_ else "NO"))
    data = getattr(model, "data_summary_", None)
    if isinstance(data, Mapping):
        for key in ("n_customers", "n_distinct_rows"):
            if key in data:
                facts.append((key.replace("_", " "), data[key]))
    unit = getattr(model, "time_unit_", None)
    if unit:
        facts.append(("time unit", _unit_name(unit)))
    if facts:
        parts.append(_key_values(facts, ("fit", "value")))
    if hasattr(model, "converged_") and not model.converged_:
        parts.append('<div class="warning">The fit did not converge: read the estimates '
                     "with care.</div>")
    return "<div>" + "".join(parts) + "</div>"


def _models(ctx: _Context) -> str | None:
    blocks = []
    if ctx.transaction_model is not None:
        blocks.append(_model_block("Transaction model", ctx.transaction_model))
    if ctx.spend_model is not None:
        blocks.append(_model_block("Spend model", ctx.spend_model))
    if ctx.clv_model is not None:
        params = {k: v for k, v in ctx.clv_model.get_params(deep=False).items()
                  if k not in ("transaction_model", "spend_model")}
        per_step = getattr(ctx.clv_model, "periods_per_horizon_unit_", None)
        if per_step is not None:
            params["periods_per_horizon_unit_"] = per_step
        blocks.append(
            f"<div><h3>{_esc('Lifetime value: ' + type(ctx.clv_model).__name__)}</h3>"
            f"{_key_values(sorted(params.items()), ('parameter', 'value'))}</div>")
    if not blocks:
        return None
    intro = _note("Maximum-likelihood estimates with their standard errors (observed "
                  "information) and 95% intervals, computed on the log scale so that they "
                  "stay positive. Wide intervals mean the data do not pin a parameter down.")
    return intro + '<div class="cols">' + "".join(blocks) + "</div>"


def _fit_checks(ctx: _Context) -> str | None:
    model = ctx.transaction_model
    if model is None:
        return None
    parts = []
    if ctx.holdout_table is not None:
        from sklearn.base import clone

        from ..models._diagnostics import (
            calibration_table,
            expected_vs_actual_by_frequency,
            holdout_errors,
        )

        holdout = ctx.holdout_table
        cal_model = clone(model).fit(calibration_table(holdout, monetary=False))
        errors = holdout_errors(cal_model, holdout)
        shown = [(name.replace("_", " "), _percent(v) if name == "relative_total_error"
                  else _number(v)) for name, v in errors.items()]
        by_freq = expected_vs_actual_by_frequency(cal_model, holdout)
        by_freq.columns = ["customers", "mean actual", "mean predicted"] \
            if list(by_freq.columns) == ["n_customers", "actual", "predicted"] \
            else by_freq.columns
        parts.append(_note(
            "A copy of the transaction model is fitted on the calibration period and "
            "predicts each customer's purchases in the holdout period: errors per "
            "customer and in total, and mean purchases by calibration frequency."))
        parts.append('<div class="cols">' + _key_values(shown, ("holdout error", "value"))
                     + _table(by_freq) + "</div>")
        ax_cal = _plots.plot_calibration_purchases_vs_holdout_purchases(cal_model, holdout)
        ax_hold = _plots.plot_period_transactions(cal_model, holdout)
        parts.append(_plots_grid(
            _image(ax_cal, "Actual and predicted holdout purchases by calibration frequency",
                   "Holdout purchases by calibration frequency."),
            _image(ax_hold, "Repeat purchases in the calibration period, actual and model",
                   "Calibration period: actual and simulated repeat purchases.")))
    if ctx.has_rfm:
        ax = _plots.plot_period_transactions(model, ctx.table)
        parts.append("<h3>Repeat purchases over the whole period</h3>")
        parts.append(_plots_grid(_image(
            ax, "Repeat purchases per customer, actual and model",
            "Customers by number of repeat purchases: actual and simulated by the model.")))
    return "".join(parts) or None


def _value(ctx: _Context) -> str | None:
    parts = []
    clv = ctx.clv()
    if clv is not None:
        values = clv.to_numpy(dtype=float)
        ax = _plot_distribution(values, "CLV")
        stats = pd.Series(values).describe(percentiles=[0.1, 0.25, 0.5, 0.75, 0.9, 0.99])
        stats = stats.to_frame("CLV")
        stats.index.name = "statistic"
        parts.append("<h3>Lifetime value</h3>")
        parts.append(_plots_grid(_image(ax, "Distribution of customer lifetime value",
                                        "Distribution of CLV (log scale above 1)."),
                                 _table(stats)))
    model = ctx.transaction_model
    if model is not None:
        max_frequency = None
        if "frequency" in ctx.table.columns:
            q = float(np.quantile(ctx.table["frequency"].to_numpy(dtype=float), 0.995))
            max_frequency = int(max(5, np.ceil(q)))
            data = getattr(model, "data_summary_", {})
            if "max_frequency" in data:
                max_frequency = min(max_frequency, int(data["max_frequency"]))
        ax_alive = _plots.plot_probability_alive_matrix(model, max_frequency=max_frequency)
        ax_freq = _plots.plot_frequency_recency_matrix(model, max_frequency=max_frequency)
        parts.append("<h3>Probability alive and expected purchases</h3>")
        parts.append(_note(
            "Each cell is a purchase history of a customer of the oldest age: many purchases "
            "with a recent last one (top right) mean an active customer; many purchases long "
            "ago (bottom right) a customer who has probably left."))
        parts.append(_plots_grid(
            _image(ax_alive, "Probability alive by frequency and recency",
                   "P(alive) by frequency and recency."),
            _image(ax_freq, "Expected purchases by frequency and recency",
                   "Expected purchases over the horizon by frequency and recency.")))
    return "".join(parts) or None


def _plot_distribution(values: np.ndarray, name: str):
    """Histogram of a skewed non-negative quantity, on a log axis above 1."""
    ax = _plots._axes(None)
    finite = values[np.isfinite(values)]
    hi = float(finite.max()) if len(finite) else 1.0
    if hi > 10 * max(float(np.median(finite)), 1.0):
        edges = np.concatenate(([min(0.0, float(finite.min())), 1.0],
                                np.geomspace(1.0, hi * 1.0001, 40)[1:]))
        ax.hist(finite, bins=edges, color=_plots._PAIR[0], edgecolor="white", linewidth=0.4)
        ax.set_xscale("symlog", linthresh=1.0)
        ax.set_xlabel(f"{name} (log scale above 1)")
    else:
        ax.hist(finite, bins=40, color=_plots._PAIR[0], edgecolor="white", linewidth=0.4)
        ax.set_xlabel(name)
    ax.set_ylabel("Customers")
    ax.set_title(f"Distribution of {name} over {len(finite):,} customers")
    ax.grid(axis="y", alpha=0.3)
    return ax


def _tiers(ctx: _Context) -> str | None:
    if not ctx.labels:
        return None
    values = ctx.values()
    parts = []
    if ctx.value_column is not None:
        parts.append(_note(f"Shares of customers and of {ctx.value_column} per tier; the "
                           "profile gives the mean of each column."))
    for col in ctx.labels:
        labels = ctx.table[col]
        profile = segment_profile(ctx.table, labels, value_column=ctx.value_column)
        ax = _plots.plot_tier_sizes(labels, values)
        parts.append(f"<h3>{_esc(col)}</h3>")
        parts.append(_table(_profile_display(profile, ctx.value_column)))
        parts.append(_plots_grid(_image(ax, f"Share of customers and value by {col}"),
                                 wide=len(profile) > 6))
    if ctx.absent_labels:
        parts.append(_note("Not in the table: " + ", ".join(ctx.absent_labels) + "."))
    return "".join(parts)


def _value_matrix(ctx: _Context) -> str | None:
    matrix = ctx.value_matrix
    value = ctx.value_column
    if matrix is None:
        if value is None or "frequency" not in ctx.table.columns or value == "frequency":
            return None
        from ..tiers import ValueMatrix

        matrix = ValueMatrix(x="frequency", y=value).fit(ctx.table)
    seen = getattr(matrix, "feature_names_in_", None)
    frame = ctx.table
    if seen is not None and set(seen) <= set(frame.columns):
        frame = frame[list(seen)]  # the columns the matrix was fitted on, in order
    if value is not None and value not in frame.columns:
        cells = matrix.cell_table(frame, value=ctx.table[value].to_numpy())
    else:
        cells = matrix.cell_table(frame, value=value)
    ax = _plots.plot_value_matrix(cells, xlabel=str(matrix.x), ylabel=str(matrix.y))
    intro = _note(f"Customers split at the learned cut points of {matrix.x} (across) and "
                  f"{matrix.y} (down); each cell shows its customers and its share of "
                  f"{value or 'value'}.")
    shown = cells.drop(columns=[c for c in ("y_level", "x_level") if c in cells])
    shown = shown.rename(columns={"customer_share": "share of customers",
                                  "value": value or "value",
                                  "value_share": f"share of {value or 'value'}"})
    return intro + _plots_grid(_image(ax, "Value matrix"), _table(shown))


def _segments(ctx: _Context) -> str | None:
    segmenter = ctx.segmenter
    if segmenter is None:
        return None
    table = ctx.table
    codes = np.asarray(segmenter.predict(table), dtype=np.int64)
    names = [str(n) for n in segmenter.segment_names_]
    labels = pd.Series(pd.Categorical.from_codes(codes, categories=names, ordered=True),
                       index=table.index, name="segment")
    profile = segment_profile(table, labels, value_column=ctx.value_column)
    parts = [_note(f"{type(segmenter).__name__} found {len(names)} segments, ordered by "
                   f"{getattr(segmenter, 'value_column', None) or 'value'} (the first is "
                   "the most valuable).")]
    parts.append(_table(_profile_display(profile, ctx.value_column)))
    y = "monetary_value" if "monetary_value" in table.columns else ctx.value_column
    figures = []
    if y is not None and "frequency" in table.columns and y != "frequency":
        ax = _plots.plot_segments(table, labels, x="frequency", y=y)
        figures.append(_image(ax, "Customers by frequency and value, coloured by segment",
                              "Customers with equal values overlap; the legend gives the "
                              "size of each segment."))
    figures.append(_image(_plots.plot_tier_sizes(labels, ctx.values()),
                          "Share of customers and value by segment"))
    parts.append(_plots_grid(*figures))
    scores = getattr(segmenter, "selection_scores_", None)
    if scores is not None:
        frame = scores if isinstance(scores, pd.DataFrame) else pd.DataFrame(scores)
        parts.append("<h3>Choice of the number of segments</h3>")
        parts.append(_table(frame))
    return "".join(parts)


def _configuration(ctx: _Context) -> str | None:
    if not ctx.config:
        return None
    return _key_values(_flatten(ctx.config), ("option", "value"))


def _timings(ctx: _Context) -> str | None:
    if not ctx.timings:
        return None
    pairs = _timing_pairs(ctx.timings)
    frame = pd.DataFrame(pairs, columns=["step", "seconds"])
    total = frame["seconds"].sum()
    frame["share"] = frame["seconds"] / total if total > 0 else np.nan
    frame = pd.concat([frame, pd.DataFrame([{"step": "total", "seconds": total,
                                              "share": 1.0}])], ignore_index=True)
    return _table(frame.set_index("step"))


_BUILDERS = {
    "overview": _overview,
    "data-quality": _data_quality,
    "models": _models,
    "fit-checks": _fit_checks,
    "value": _value,
    "tiers": _tiers,
    "value-matrix": _value_matrix,
    "segments": _segments,
    "configuration": _configuration,
    "timings": _timings,
}


# ---------------------------------------------------------------------- the report
def build_report(path, *, table, cleaning_report=None, transaction_model=None,
                 spend_model=None, clv_model=None, segmenter=None, holdout_table=None,
                 label_columns=None, value_column=None,
                 title="Customer segmentation report", config=None, timings=None,
                 value_matrix=None, notes=None):
    """Write one self-contained HTML report on a customer table and its models.

    Parameters
    ----------
    path : str or path-like
        File to write (replaced as a whole once the report is complete).
    table : DataFrame
        The customer table, one row per customer: ``frequency``, ``recency``, ``T``,
        ``monetary_value`` and whatever scores (``clv``, ``p_alive``) and label columns
        (tiers, segments) it holds.
    cleaning_report : CleaningReport, optional
        From :func:`custseg.features.clean_transactions`: the data quality section.
    transaction_model : BaseTransactionModel, optional
        A fitted transaction model (``BetaGeo`` ...): parameters, fit checks, the
        probability-alive and expected-purchases matrices. Defaults to the CLV model's.
    spend_model : GammaGamma, optional
        A fitted spend model; defaults to the CLV model's.
    clv_model : CLVEstimator, optional
        A fitted CLV model; its predictions are used when the table has no ``clv`` column.
    segmenter : CustomerSegmenter, optional
        A fitted segmenter: the segments section (profiles and a scatter plot).
    holdout_table : DataFrame, optional
        Output of :func:`custseg.features.calibration_holdout_split` on the same log: a
        copy of the transaction model is fitted on its calibration columns and checked on
        the holdout purchases.
    label_columns : sequence of str, optional
        Tier and segment columns of ``table`` described in the tiers section (those
        absent from the table are listed and skipped). None takes the categorical
        columns and the text columns with at most 50 distinct values.
    value_column : str, optional
        Column whose shares the tiers, value matrix and segments show; None takes
        ``clv``, else ``monetary_value``, when present.
    title : str, default="Customer segmentation report"
        Title of the page.
    config : mapping, optional
        Options of the run (nested mappings are flattened), shown in a configuration
        section.
    timings : mapping or sequence of (str, float), optional
        Seconds spent in each step, shown in a timings section.
    value_matrix : ValueMatrix, optional
        A fitted :class:`custseg.tiers.ValueMatrix` for the value matrix section; None
        fits ``ValueMatrix(x="frequency", y=value_column)`` on the table.
    notes : sequence of str, optional
        Sentences the reader must see first (columns left out, checks skipped, rows
        dropped), shown at the top of the overview.

    Returns
    -------
    pathlib.Path
        The path written.

    Notes
    -----
    The sections, in order, are listed in :data:`REPORT_SECTIONS`; one whose inputs are
    not given is left out, and one that fails is replaced by a visible warning (and a
    Python warning) instead of stopping the report. Plots are PNG images embedded as
    base64 ``data:`` URIs and tables are escaped; the page loads nothing from the
    network. On load, a small inline script sets ``data-images-loaded`` and
    ``data-images-total`` on ``<body>``: the number of images that decoded and of all
    images. Characters that cannot be written in UTF-8 (the undecodable bytes of a file
    name, which Python holds as lone surrogates) are shown as escapes such as ``\\xe9``.
    The page is written to ``path + ".partial"`` and renamed onto ``path`` when complete;
    the partial file is removed if writing fails.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from custseg.datasets import load_cdnow_summary
    >>> from custseg.tiers import ValueTiers
    >>> from custseg.report import build_report
    >>> table = load_cdnow_summary()
    >>> table["value_tier"] = ValueTiers().fit(table).predict(table)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = build_report(pathlib.Path(tmp) / "report.html", table=table)
    ...     text = out.read_text(encoding="utf-8")
    >>> 'id="tiers"' in text, text.count("data:image/png;base64,")
    (True, 2)
    """
    _plots._figure_class()  # a clear ImportError before any work when matplotlib is absent
    check_columns(table, [], what="customer table")
    check_not_empty(table, what="customer table")
    ctx = _Context(table, cleaning_report, transaction_model, spend_model, clv_model,
                   segmenter, holdout_table, label_columns, value_column, value_matrix,
                   config, timings)
    ctx.notes = [str(n) for n in (notes or ())]
    sections = []
    for key, builder in _BUILDERS.items():
        try:
            body = builder(ctx)
        except Exception as exc:  # one broken section must not lose the whole report
            message = f"The {REPORT_SECTIONS[key].lower()} section could not be built: " \
                      f"{type(exc).__name__}: {exc}"
            warnings.warn(message, UserWarning, stacklevel=2)
            body = f'<div class="warning">{_esc(message)}</div>'
        if body is not None:
            sections.append((key, REPORT_SECTIONS[key], body))

    path = Path(path)
    page = _encodable(_page(_encodable(str(title)), sections))
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(page, encoding="utf-8")
        partial.replace(path)  # readers never see a half-written report
    finally:
        if partial.exists():
            partial.unlink()
    return path


def _encodable(text: str) -> str:
    """``text`` with what UTF-8 cannot encode escaped: undecodable bytes of a file name
    (lone surrogates from ``surrogateescape``) become ``\\xe9``, other lone surrogates
    ``\\ud800``."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        pass
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")


def _page(title: str, sections) -> str:
    stamp = _dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    nav = "".join(f'<li><a href="#{key}">{_esc(name)}</a></li>'
                  for key, name, _ in sections)
    body = "".join(f'<section id="{key}"><h2>{_esc(name)}</h2>{content}</section>'
                   for key, name, content in sections)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_esc(title)}</title>\n<style>{_CSS}</style>\n"
        f"<script>{_SCRIPT}</script>\n</head>\n<body>\n"
        f'<header class="top"><div class="wrap"><h1>{_esc(title)}</h1>'
        f"<p>Generated {_esc(stamp)} by custseg {_esc(__version__)}</p></div></header>\n"
        f'<nav class="toc"><ul>{nav}</ul></nav>\n'
        f'<main class="wrap">{body}</main>\n'
        '<footer class="wrap">A self-contained report: every plot is embedded in this '
        "file.</footer>\n</body>\n</html>\n"
    )
