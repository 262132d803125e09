"""The whole job behind ``custseg segment``: a composition of the library's pieces.

transactions -> clean_transactions -> rfm_summary -> transaction model + Gamma-Gamma + CLV
-> scores (expected purchases, P(alive), churn, CLV) -> value tiers, RFM scores and
segments, lifecycle stages, value matrix, clusters -> one row per customer (+ report).

The amount column is optional. Without it the job skips what needs amounts (the spend
model, CLV, ``monetary_value``, ``total_spend``, ``expected_spend``, the M score) and ranks
customers by ``expected_purchases`` instead of ``clv`` (value tiers, value matrix, the
order of the segments); the report and the notes say so.

Memory: the raw log is dropped once it is cleaned and the cleaned log once the customer
table and the holdout table exist, so the model fits, scores, tiers and clusters hold one
row per customer only.

No numerics live here: every step calls a public function or estimator of custseg.
"""

from __future__ import annotations

import dataclasses
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._config import JobConfig
from ._io import (
    StagedOutputs,
    check_output_path,
    read_table,
    release_unused_memory,
    write_table,
)
from ._progress import StepProgress
from ._validation import format_examples, raise_bad_rows
from .exceptions import EmptyDataError

__all__ = ["JobResult", "segment_transactions", "run_job", "run_demo"]

#: The label columns the job adds, in report order.
LABEL_COLUMNS = ("value_tier", "rfm_segment", "lifecycle", "value_matrix", "segment_name")

_TRANSACTION_MODELS = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo",
                       "paretonbd": "ParetoNBD"}

#: The fit check on a holdout period runs on a random sample of at most this many
#: customers (a diagnostic: its errors and plots do not need every customer).
HOLDOUT_MAX_CUSTOMERS = 200_000


@dataclasses.dataclass
class JobResult:
    """Everything the job produced: the customer table, the fitted estimators, checks.

    Without an amount column ``spend_model`` and ``clv_model`` are None. ``notes`` are
    the things a user should know about the run (rows the cleaning dropped, columns
    left out, checks skipped), one sentence each.
    """

    table: pd.DataFrame
    cleaning_report: object
    transaction_model: object
    spend_model: object | None
    clv_model: object | None
    tierers: dict
    segmenter: object
    holdout_table: pd.DataFrame | None
    holdout_model: object | None
    config: JobConfig
    n_transactions: int
    timings: list
    out: Path | None = None
    report: Path | None = None
    notes: list = dataclasses.field(default_factory=list)
    value_column: str = "clv"


def _as_labels(estimator, X) -> pd.Series:
    labels = estimator.predict(X)
    classes = getattr(estimator, "classes_", None)
    if classes is not None and not isinstance(labels, pd.Categorical):
        try:
            labels = pd.Categorical(labels, categories=list(classes), ordered=True)
        except (TypeError, ValueError):
            pass
    return pd.Series(labels, index=X.index)


def _raise_all_dropped(report, columns: dict):
    """Cleaning left no row: say which problem removed them, with column and examples."""
    worst = max(report.problems.values(), key=lambda p: p.n_dropped)
    hint = {"bad_date": " Check the date column and pass --date-format.",
            "missing_customer_id": " Check the customer id column.",
            "non_positive_amount": " Check the amount column, or keep returns with "
                                   "--returns keep."}.get(worst.name, "")
    examples = format_examples(worst.examples, [True] * len(worst.examples))
    raise EmptyDataError(
        f"Column '{columns[worst.name]}': cleaning dropped all {report.n_input_rows} rows; "
        f"{worst.n_dropped} of them for {worst.name.replace('_', ' ')}.{hint} "
        f"First {len(worst.examples)} shown:\n{examples}")


_DAY_MONTH = re.compile(r"^\s*(\d{1,2})[/.\-](\d{1,2})[/.\-]\d")
_DATE_SAMPLE = 10_000


def _day_month_order(fmt: str | None) -> str | None:
    """``"day first"`` or ``"month first"`` for formats such as ``%d/%m/%Y`` and
    ``%m-%d-%y`` (day and month before the year), else None."""
    if not fmt or "%d" not in fmt or "%m" not in fmt:
        return None
    year = min((fmt.index(y) for y in ("%Y", "%y") if y in fmt), default=None)
    if year is None or max(fmt.index("%d"), fmt.index("%m")) > year:
        return None
    return "day first" if fmt.index("%d") < fmt.index("%m") else "month first"


def _guess_format(value: str, dayfirst: bool = False) -> str | None:
    from pandas.tseries.api import guess_datetime_format

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "parsing dates in %d/%m/%Y format"
        return guess_datetime_format(value, dayfirst=dayfirst)


def _swap_day_month(fmt: str) -> str:
    return fmt.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m")


def _detect_date_order(transactions: pd.DataFrame, column: str):
    """The format of text dates written day and month first, read from the data.

    pandas infers the format of a text column from its first date, so ``03/02/2020``
    (3 February) makes it read every date month first. Here the first two fields of up
    to ``_DATE_SAMPLE`` dates spread over the log decide: a first field above 12 means
    day first, a second one above 12 month first, both mean a column that mixes the two
    orders (an error: the format must be given), neither an ambiguous column (read month
    first, as pandas does, and said so). Returns ``(format, note)``; ``(None, None)``
    when the dates are not of this kind (ISO dates, month names, datetimes).
    """
    values = transactions[column]
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return None, None
    step = max(1, len(values) // _DATE_SAMPLE)
    positions = np.arange(0, len(values), step)
    sample = values.iloc[positions]
    present = sample.notna().to_numpy()
    positions, sample = positions[present], sample[present].astype(str)
    fields = sample.str.extract(_DAY_MONTH)
    matched = fields[0].notna().to_numpy()
    if not len(sample) or matched.mean() < 0.5:
        return None, None
    first = pd.to_numeric(fields[0]).to_numpy()
    second = pd.to_numeric(fields[1]).to_numpy()
    day_first, month_first = matched & (first > 12), matched & (second > 12)
    n_rows = (f"of {len(values):,} rows" if step == 1
              else f"of {len(sample):,} rows sampled from {len(values):,}")
    if day_first.any() and month_first.any():
        fewer, more = sorted([("day", day_first), ("month", month_first)],
                             key=lambda item: item[1].sum())
        mask = np.zeros(len(values), dtype=bool)
        mask[positions[fewer[1]]] = True
        raise_bad_rows(
            transactions, mask, column,
            f"are written {fewer[0]} first (a field above 12) while "
            f"{int(more[1].sum()):,} {n_rows} are written {more[0]} first",
            hint="No date is dropped or guessed: fix the dates, or pass their format "
                 "with --date-format (for example '%d/%m/%Y').")
    if day_first.any():
        example = sample[day_first].iloc[0]
        fmt = _guess_format(example, dayfirst=True)
        if _day_month_order(fmt) != "day first":
            return None, None
        return fmt, (f"column '{column}': dates read day first ({fmt!r}): "
                     f"{int(day_first.sum()):,} {n_rows} have a first field above 12, "
                     f"such as {example!r}; pass --date-format to read them otherwise.")
    example = sample[matched].iloc[0]
    fmt = _guess_format(example, dayfirst=False)
    if _day_month_order(fmt) != "month first":
        return None, None
    if month_first.any():
        return fmt, None  # unambiguous, and what pandas reads anyway
    return fmt, (f"column '{column}': the dates are ambiguous (no field above 12 in "
                 f"{int(matched.sum()):,} {n_rows}): read month first ({fmt!r}); pass "
                 f"--date-format '{_swap_day_month(fmt)}' if the day comes first.")


def _check_date_order(transactions: pd.DataFrame, column: str, fmt: str | None) -> None:
    """Refuse text dates that the format in use drops but the other day/month order
    reads (a column that mixes ``%d/%m/%Y`` and ``%m/%d/%Y``), naming the count and
    showing examples, instead of dropping them."""
    from .features._rfm import missing_mask, parse_dates

    values = transactions[column]
    if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
        return
    missing = missing_mask(values)
    unread = parse_dates(transactions, column, fmt).isna().to_numpy() & ~missing
    read = np.flatnonzero(~unread & ~missing)
    if not unread.any() or not len(read):
        return  # nothing dropped, or nothing read: the all-dropped error names the column
    first = str(values.iloc[read[0]])
    used = fmt or _guess_format(first)
    if _day_month_order(used) is None:
        return
    failing = values[unread]
    for sample in dict.fromkeys(failing.iloc[:5].astype(str)):
        for dayfirst in (False, True):
            other = _guess_format(sample, dayfirst=dayfirst)
            if _day_month_order(other) in (None, _day_month_order(used)):
                continue
            readable = pd.to_datetime(failing, format=other, errors="coerce").notna()
            if readable.any():
                mask = np.zeros(len(values), dtype=bool)
                mask[np.flatnonzero(unread)[readable.to_numpy()]] = True
                raise_bad_rows(
                    transactions, mask, column,
                    f"are not dates in the format {used!r} (read from the first date "
                    f"{first!r}) but are dates in the format {other!r}: the column mixes "
                    "day-first and month-first dates",
                    hint=f"No date is dropped or guessed: pass the format of the dates, "
                         f"for example --date-format '{other}'.")


def _cleaning_note(report, columns: dict) -> str | None:
    """One sentence on what the cleaning dropped: count per problem, with its column."""
    dropped = [p for p in report.problems.values() if p.n_dropped]
    if not dropped:
        return None
    parts = []
    for p in dropped:
        column = columns.get(p.name)
        where = f" (column '{column}')" if column else ""
        parts.append(f"{p.n_dropped:,} for {p.name.replace('_', ' ')}{where}")
    return (f"cleaning dropped {report.n_dropped_rows:,} of {report.n_input_rows:,} rows: "
            + ", ".join(parts) + ".")


def _monthly_rate(annual: float) -> float:
    return (1.0 + annual) ** (1.0 / 12.0) - 1.0


def _naive_dates(values: pd.Series) -> np.ndarray:
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        values = values.dt.tz_localize(None)
    return values.to_numpy()


def _customer_sample(ids: pd.Series, customers: pd.Index, random_state: int
                     ) -> np.ndarray | None:
    """Rows of a random sample of ``HOLDOUT_MAX_CUSTOMERS`` customers (None: all of them).

    The customers are drawn from ``customers`` (the customer table's index) with
    ``random_state``; their rows are found with one pass over the ids (``isin``), so all
    the rows of a customer are in or out together, without sorting the log.
    """
    if len(customers) <= HOLDOUT_MAX_CUSTOMERS:
        return None
    rng = np.random.default_rng(random_state)
    chosen = customers.take(np.sort(rng.choice(len(customers), HOLDOUT_MAX_CUSTOMERS,
                                               replace=False)))
    return np.flatnonzero(ids.isin(chosen).to_numpy())


def _holdout_split(log, cid, date, amount, config, customers: pd.Index, notes):
    """The calibration/holdout table of the fit check, or None with a note saying why.

    The calibration period ends 75% of the way from the first purchase to the end of the
    observation period. The check is optional: a holdout window shorter than a week or
    without any purchase skips it (with a note) instead of failing the job. Above
    ``HOLDOUT_MAX_CUSTOMERS`` customers it runs on a random sample of them.
    """
    from .features import calibration_holdout_split

    dates = _naive_dates(log[date])
    first, last = pd.Timestamp(dates.min()), pd.Timestamp(dates.max())
    end = pd.Timestamp(config.observation_end) if config.observation_end else last
    if end.tzinfo is not None:
        end = end.tz_localize(None)
    cal_end = first + (end - first) * 0.75
    if (end - cal_end) < pd.Timedelta(days=7):
        notes.append(f"holdout check skipped: the holdout window ({cal_end:%Y-%m-%d} to "
                     f"{end:%Y-%m-%d}, the last quarter of the observation period) is "
                     "shorter than a week.")
        return None
    in_holdout = (dates > cal_end.to_datetime64()) & (dates <= end.to_datetime64())
    if not in_holdout.any():
        notes.append(f"holdout check skipped: no purchase in the holdout window "
                     f"({cal_end:%Y-%m-%d} to {end:%Y-%m-%d}, the last quarter of the "
                     f"observation period); the last purchase is on {last:%Y-%m-%d}.")
        return None
    del in_holdout, dates
    columns = [cid, date] + ([amount] if amount is not None else [])
    n_customers = len(customers)
    rows = _customer_sample(log[cid], customers, config.random_state)
    part = log[columns] if rows is None else log[columns].take(rows)
    del rows
    holdout = calibration_holdout_split(
        part, cid, date, calibration_period_end=cal_end, observation_period_end=end,
        freq=config.freq, monetary_value_col=amount)
    if len(holdout) < n_customers:
        notes.append(f"holdout check on a random sample of {len(holdout):,} of the "
                     f"{n_customers:,} customers.")
    return holdout


def segment_transactions(transactions: pd.DataFrame, config: JobConfig | None = None,
                         progress: StepProgress | None = None) -> JobResult:
    """Run the whole job on a transaction log held in memory.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase, with a customer id, a date and (optionally) an amount.
        Without an amount column, the job leaves out what needs amounts (spend model,
        CLV, ``monetary_value``, ``total_spend``, the M score) and ranks value by
        ``expected_purchases`` (value tiers, value matrix, segment order).
    config : JobConfig, optional
        Column names, period, horizon, model and the keyword arguments of every tierer.
    progress : StepProgress, optional
        Step progress bar to advance.

    Returns
    -------
    JobResult
    """
    return _segment([transactions], config, progress)


def _segment(holder: list, config: JobConfig | None, progress: StepProgress | None
             ) -> JobResult:
    """The job on the log in ``holder`` (a one-item list, emptied here so that the raw
    log can be freed as soon as it is cleaned when the caller keeps no other reference)."""
    config = (config or JobConfig()).validate()
    transactions = holder.pop()
    cid, date, amount = config.resolve_columns(transactions.columns)
    monetary = amount is not None
    notes: list[str] = []
    if len(transactions) == 0:
        raise EmptyDataError(
            f"The transaction log has no rows: the input holds only the column names "
            f"{list(map(str, transactions.columns))}.")

    from .cluster import CustomerSegmenter
    from .features import clean_transactions, rfm_summary
    from .models import CLVEstimator, GammaGamma
    from .models import __dict__ as models_ns
    from .tiers import LifecycleStages, RFMScorer, RFMSegmenter, ValueMatrix, ValueTiers

    progress = progress or StepProgress(9, enabled=False)

    progress.step("cleaning the transaction log")
    date_format = config.date_format
    if date_format is None:
        date_format, note = _detect_date_order(transactions, date)
        if note:
            notes.append(note)
    log, cleaning = clean_transactions(
        transactions, customer_id_col=cid, datetime_col=date, monetary_value_col=amount,
        observation_period_end=config.observation_end, returns=config.returns,
        datetime_format=date_format)
    problem_columns = {"missing_customer_id": cid, "bad_date": date,
                       "missing_amount": amount, "duplicate_row": None,
                       "after_observation_end": date, "non_positive_amount": amount}
    if cleaning.bad_date.n_rows and config.date_format is None:
        _check_date_order(transactions, date, date_format)
    del transactions  # the cleaned log holds what the job needs
    if cleaning.n_output_rows == 0:
        _raise_all_dropped(cleaning, {**problem_columns, "duplicate_row": "(all)"})
    note = _cleaning_note(cleaning, problem_columns)
    if note:
        notes.append(note)

    progress.step("building the customer table")
    table = rfm_summary(log, cid, date, amount, observation_period_end=config.observation_end,
                        freq=config.freq, extra_columns=True)
    table.index.name = "customer_id"
    holdout_table = _holdout_split(log, cid, date, amount, config, table.index, notes)
    n_transactions = len(log)
    del log  # from here on, one row per customer
    release_unused_memory()

    progress.step("fitting the transaction model")
    if not (table["frequency"].to_numpy() > 0).any():
        raise EmptyDataError(
            f"Column 'frequency': none of the {len(table):,} customers has a repeat "
            f"purchase (frequency > 0 in periods of {config.freq!r}); the value models "
            "need repeat customers. Use a longer log or a shorter period (--freq D).")
    model_cls = models_ns[_TRANSACTION_MODELS[config.model]]
    horizon = config.horizon_periods
    transaction_model = model_cls(penalizer=config.penalizer, horizon=horizon,
                                  time_unit=config.freq)
    clv = spend_model = None
    if monetary:
        months = max(1, int(round(horizon / config.periods_per_year * 12)))
        clv = CLVEstimator(transaction_model=transaction_model, spend_model=GammaGamma(),
                           horizon=months, time_unit=config.freq, horizon_unit="M",
                           discount_rate=_monthly_rate(config.discount_rate))
        clv.fit(table)
        fitted_model, spend_model = clv.transaction_model_, clv.spend_model_
        value_column = "clv"
    else:
        fitted_model = clone(transaction_model).fit(table)
        value_column = "expected_purchases"
        notes.append("no amount column: the table has no monetary_value, total_spend, "
                     "expected_spend or clv column and no M score; value tiers, the value "
                     "matrix and the order of the segments use expected_purchases.")

    progress.step("scoring customers")
    table["expected_purchases"] = fitted_model.predict(table)
    table["p_alive"] = fitted_model.probability_alive(table)
    table["churn_proba"] = 1.0 - table["p_alive"]
    if monetary:
        table["expected_spend"] = spend_model.predict(table)
        table["clv"] = clv.predict(table)

    progress.step("tiering customers")
    no_money = {} if monetary else {"monetary_col": None}
    tierers = {
        "value_tiers": ValueTiers(**{"column": value_column, **config.value_tiers}),
        "rfm_scores": RFMScorer(**{**no_money, **config.rfm_scores}),
        "rfm_segments": RFMSegmenter(**{**no_money, **config.rfm_segments}),
        "lifecycle": LifecycleStages(**config.lifecycle),
        "value_matrix": ValueMatrix(**{"x": "total_spend" if monetary else "frequency",
                                       "y": value_column, **config.value_matrix}),
    }
    table["value_tier"] = _as_labels(tierers["value_tiers"].fit(table), table)
    scores = np.asarray(tierers["rfm_scores"].fit(table).transform(table))
    for j, name in enumerate(tierers["rfm_scores"].get_feature_names_out()):
        table[str(name)] = scores[:, j]
    del scores
    table["rfm_segment"] = _as_labels(tierers["rfm_segments"].fit(table), table)
    table["lifecycle"] = _as_labels(tierers["lifecycle"].fit(table), table)
    table["value_matrix"] = _as_labels(tierers["value_matrix"].fit(table), table)

    progress.step("clustering customers")
    features = ("frequency", "recency", "T") + (("monetary_value",) if monetary else ())
    seg_params = {"value_column": value_column, "random_state": config.random_state,
                  "features": features, **config.segmenter}
    segmenter = CustomerSegmenter(**seg_params).fit(table)
    table["segment"] = segmenter.labels_
    names = np.asarray(segmenter.segment_names_, dtype=object)
    table["segment_name"] = pd.Categorical(names[segmenter.labels_],
                                           categories=list(dict.fromkeys(names)), ordered=True)

    progress.step("checking the fit on a holdout period")
    holdout_model = None
    if holdout_table is not None:
        cal = holdout_table.rename(columns={"frequency_cal": "frequency",
                                            "recency_cal": "recency", "T_cal": "T"})
        holdout_model = clone(transaction_model).fit(cal)

    return JobResult(table=table, cleaning_report=cleaning, transaction_model=fitted_model,
                     spend_model=spend_model, clv_model=clv, tierers=tierers,
                     segmenter=segmenter, holdout_table=holdout_table,
                     holdout_model=holdout_model, config=config,
                     n_transactions=n_transactions, timings=progress.timings, notes=notes,
                     value_column=value_column)


def _title(input_path: Path) -> str:
    return f"Customer segmentation of {input_path.name}"


def run_job(input_path, *, out, report=None, config: JobConfig | None = None,
            progress: bool | None = None) -> JobResult:
    """Read ``input_path``, run :func:`segment_transactions`, write ``out`` (and ``report``).

    The outputs are written to temporary files beside them and renamed only once every
    step succeeded: a failure (in the report too) or an interrupt leaves the previous
    outputs as they were and no temporary file behind. Outputs that are the input, or
    existing folders, are refused before any work.
    """
    input_path = Path(input_path)
    out = check_output_path(out, [input_path])
    if report is not None:
        report = check_output_path(report, [input_path, out])
    bar = StepProgress(9 + (report is not None), enabled=progress)
    with bar, StagedOutputs() as staged:
        bar.step("reading the input")
        holder = [read_table(input_path)]
        result = _segment(holder, config, progress=bar)
        bar.step("writing the customer table")
        write_table(result.table, out, staged=staged)
        if report is not None:
            bar.step("writing the report")
            from .report import build_report

            build_report(staged.stage(report), table=result.table,
                         cleaning_report=result.cleaning_report,
                         transaction_model=result.transaction_model,
                         spend_model=result.spend_model, clv_model=result.clv_model,
                         segmenter=result.segmenter, holdout_table=result.holdout_table,
                         value_matrix=result.tierers["value_matrix"],
                         label_columns=list(LABEL_COLUMNS),
                         value_column=result.value_column,
                         config=dataclasses.asdict(result.config), timings=bar.timings,
                         title=_title(input_path), notes=result.notes)
        staged.commit()
    result.out = out
    result.report = report
    return result


def run_demo(out_dir="custseg-demo", progress: bool | None = None) -> JobResult:
    """The whole job on the bundled CDNOW sample: writes ``customers.csv`` and
    ``report.html`` into ``out_dir`` (created if needed)."""
    from .datasets import load_cdnow_transactions

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    source = out_dir / "cdnow_transactions.csv"
    load_cdnow_transactions().to_csv(source, index=False)
    config = JobConfig(customer_id="customer_id", date="date", amount="amount", freq="W",
                       observation_end="1998-06-30")
    return run_job(source, out=out_dir / "customers.csv", report=out_dir / "report.html",
                   config=config, progress=progress)
