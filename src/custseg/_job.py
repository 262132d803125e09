"""The whole job behind ``custseg segment``: a composition of the library's pieces.

transactions -> clean_transactions -> rfm_summary -> transaction model + Gamma-Gamma + CLV
-> scores (expected purchases, P(alive), churn, CLV) -> value tiers, RFM scores and
segments, lifecycle stages, value matrix, clusters -> one row per customer (+ report).

No numerics live here: every step calls a public function or estimator of custseg.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone

from ._config import JobConfig
from ._io import check_output_path, read_table, write_table
from ._progress import StepProgress

__all__ = ["JobResult", "segment_transactions", "run_job", "run_demo"]

#: The label columns the job adds, in report order.
LABEL_COLUMNS = ("value_tier", "rfm_segment", "lifecycle", "value_matrix", "segment_name")

_TRANSACTION_MODELS = {"bgnbd": "BetaGeo", "mbgnbd": "ModifiedBetaGeo",
                       "paretonbd": "ParetoNBD"}


@dataclasses.dataclass
class JobResult:
    """Everything the job produced: the customer table, the fitted estimators, checks."""

    table: pd.DataFrame
    cleaning_report: object
    transaction_model: object
    spend_model: object
    clv_model: object
    tierers: dict
    segmenter: object
    holdout_table: pd.DataFrame | None
    holdout_model: object | None
    config: JobConfig
    n_transactions: int
    timings: list
    out: Path | None = None
    report: Path | None = None


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
    from ._validation import format_examples
    from .exceptions import EmptyDataError

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


def _monthly_rate(annual: float) -> float:
    return (1.0 + annual) ** (1.0 / 12.0) - 1.0


def segment_transactions(transactions: pd.DataFrame, config: JobConfig | None = None,
                         progress: StepProgress | None = None) -> JobResult:
    """Run the whole job on a transaction log held in memory.

    Parameters
    ----------
    transactions : DataFrame
        One row per purchase, with a customer id, a date and (optionally) an amount.
    config : JobConfig, optional
        Column names, period, horizon, model and the keyword arguments of every tierer.
    progress : StepProgress, optional
        Step progress bar to advance.

    Returns
    -------
    JobResult
    """
    config = (config or JobConfig()).validate()
    cid, date, amount = config.resolve_columns(transactions.columns)

    from .cluster import CustomerSegmenter
    from .features import calibration_holdout_split, clean_transactions, rfm_summary
    from .models import CLVEstimator, GammaGamma
    from .models import __dict__ as models_ns
    from .tiers import LifecycleStages, RFMScorer, RFMSegmenter, ValueMatrix, ValueTiers

    progress = progress or StepProgress(9, enabled=False)

    progress.step("cleaning the transaction log")
    log, cleaning = clean_transactions(
        transactions, customer_id_col=cid, datetime_col=date, monetary_value_col=amount,
        observation_period_end=config.observation_end, returns=config.returns,
        datetime_format=config.date_format)

    if cleaning.n_output_rows == 0:
        _raise_all_dropped(cleaning, {"missing_customer_id": cid, "bad_date": date,
                                      "missing_amount": amount, "duplicate_row": "(all)",
                                      "after_observation_end": date,
                                      "non_positive_amount": amount})

    progress.step("building the customer table")
    table = rfm_summary(log, cid, date, amount, observation_period_end=config.observation_end,
                        freq=config.freq, extra_columns=True)
    table.index.name = "customer_id"

    progress.step("fitting the transaction model")
    model_cls = models_ns[_TRANSACTION_MODELS[config.model]]
    horizon = config.horizon_periods
    transaction_model = model_cls(penalizer=config.penalizer, horizon=horizon,
                                  time_unit=config.freq)
    months = max(1, int(round(horizon / config.periods_per_year * 12)))
    clv = CLVEstimator(transaction_model=transaction_model, spend_model=GammaGamma(),
                       horizon=months, time_unit=config.freq, horizon_unit="M",
                       discount_rate=_monthly_rate(config.discount_rate))
    if amount is None:
        table["monetary_value"] = 0.0
    clv.fit(table)
    fitted_model = clv.transaction_model_

    progress.step("scoring customers")
    scores = pd.DataFrame(index=table.index)
    scores["expected_purchases"] = fitted_model.predict(table)
    scores["p_alive"] = fitted_model.probability_alive(table)
    scores["churn_proba"] = 1.0 - scores["p_alive"]
    scores["expected_spend"] = clv.spend_model_.predict(table)
    scores["clv"] = clv.predict(table)
    table = pd.concat([table, scores], axis=1)

    progress.step("tiering customers")
    tierers = {
        "value_tiers": ValueTiers(**{"column": "clv", **config.value_tiers}),
        "rfm_scores": RFMScorer(**config.rfm_scores),
        "rfm_segments": RFMSegmenter(**config.rfm_segments),
        "lifecycle": LifecycleStages(**config.lifecycle),
        "value_matrix": ValueMatrix(**{"x": "total_spend", "y": "clv",
                                       **config.value_matrix}),
    }
    table["value_tier"] = _as_labels(tierers["value_tiers"].fit(table), table)
    rfm = tierers["rfm_scores"].fit(table).transform(table)
    rfm = pd.DataFrame(np.asarray(rfm), index=table.index,
                       columns=tierers["rfm_scores"].get_feature_names_out())
    table = pd.concat([table, rfm], axis=1)
    table["rfm_segment"] = _as_labels(tierers["rfm_segments"].fit(table), table)
    table["lifecycle"] = _as_labels(tierers["lifecycle"].fit(table), table)
    table["value_matrix"] = _as_labels(tierers["value_matrix"].fit(table), table)

    progress.step("clustering customers")
    seg_params = {"value_column": "clv", "random_state": config.random_state,
                  "features": ("frequency", "recency", "T", "monetary_value"),
                  **config.segmenter}
    segmenter = CustomerSegmenter(**seg_params).fit(table)
    table["segment"] = segmenter.labels_
    names = np.asarray(segmenter.segment_names_, dtype=object)
    table["segment_name"] = pd.Categorical(names[segmenter.labels_],
                                           categories=list(dict.fromkeys(names)), ordered=True)

    progress.step("checking the fit on a holdout period")
    holdout_table, holdout_model = None, None
    first, last = log[date].min(), log[date].max()
    end = pd.Timestamp(config.observation_end) if config.observation_end else last
    cal_end = first + (end - first) * 0.75
    if (end - cal_end) >= pd.Timedelta(days=7):
        holdout_table = calibration_holdout_split(
            log, cid, date, calibration_period_end=cal_end, observation_period_end=end,
            freq=config.freq, monetary_value_col=amount)
        cal = holdout_table.rename(columns={"frequency_cal": "frequency",
                                            "recency_cal": "recency", "T_cal": "T"})
        holdout_model = clone(transaction_model).fit(cal)

    return JobResult(table=table, cleaning_report=cleaning, transaction_model=fitted_model,
                     spend_model=clv.spend_model_, clv_model=clv, tierers=tierers,
                     segmenter=segmenter, holdout_table=holdout_table,
                     holdout_model=holdout_model, config=config,
                     n_transactions=len(log), timings=progress.timings)


def run_job(input_path, *, out, report=None, config: JobConfig | None = None,
            progress: bool | None = None) -> JobResult:
    """Read ``input_path``, run :func:`segment_transactions`, write ``out`` (and ``report``)."""
    input_path = Path(input_path)
    out = check_output_path(out, [input_path])
    if report is not None:
        report = check_output_path(report, [input_path, out])
    bar = StepProgress(9 + (report is not None), enabled=progress)
    with bar:
        bar.step("reading the input")
        transactions = read_table(input_path)
        result = segment_transactions(transactions, config, progress=bar)
        bar.step("writing the customer table")
        write_table(result.table, out)
        result.out = out
        if report is not None:
            bar.step("writing the report")
            from .report import build_report

            build_report(report, table=result.table, cleaning_report=result.cleaning_report,
                         transaction_model=result.transaction_model,
                         spend_model=result.spend_model, clv_model=result.clv_model,
                         segmenter=result.segmenter, holdout_table=result.holdout_table,
                         value_matrix=result.tierers["value_matrix"],
                         label_columns=list(LABEL_COLUMNS), value_column="clv",
                         config=dataclasses.asdict(result.config), timings=bar.timings,
                         title=f"Customer segmentation of {input_path.name}")
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
