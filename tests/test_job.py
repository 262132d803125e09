"""The whole job end to end: `custseg demo`, `custseg segment` on awkward inputs, migrate."""

import re

import numpy as np
import pandas as pd
import pytest

from custseg._config import JobConfig
from custseg._job import LABEL_COLUMNS, segment_transactions
from custseg.cli import main
from custseg.datasets import load_cdnow_transactions, make_transactions
from custseg.exceptions import EmptyDataError, InvalidDataError

SCORE_COLUMNS = ["frequency", "recency", "T", "monetary_value", "expected_purchases",
                 "p_alive", "churn_proba", "expected_spend", "clv", "value_tier", "R", "F",
                 "M", "rfm_segment", "lifecycle", "value_matrix", "segment", "segment_name"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--out-dir", str(out_dir), "--no-progress"]) == 0
    return out_dir


def test_demo_writes_table_and_report(demo):
    table = pd.read_csv(demo / "customers.csv")
    log = load_cdnow_transactions()
    # every customer is in the table or was dropped by cleaning (zero-amount only customers)
    assert table["customer_id"].is_unique
    assert set(table["customer_id"]) <= set(log["customer_id"])
    assert len(table) == 2349
    assert set(SCORE_COLUMNS) <= set(table.columns)
    numeric = table[["expected_purchases", "p_alive", "churn_proba", "clv"]]
    assert np.isfinite(numeric.to_numpy()).all()
    assert ((table["p_alive"] >= 0) & (table["p_alive"] <= 1)).all()
    np.testing.assert_allclose(table["p_alive"] + table["churn_proba"], 1.0)
    assert (table["clv"] >= 0).all()
    assert set(table["value_tier"]) == {"high", "mid", "low"}
    # segment 0 is the most valuable by mean CLV
    means = table.groupby("segment")["clv"].mean()
    assert means.idxmax() == 0
    html = (demo / "report.html").read_text()
    for section in ("Data quality", "Model parameters", "Fit checks", "Tiers", "Segments"):
        assert section in html
    assert html.count("<img") >= 8


def test_job_in_memory_matches_the_pieces():
    log = load_cdnow_transactions()
    result = segment_transactions(log, JobConfig(freq="W", observation_end="1998-06-30",
                                                 returns="keep"))
    table = result.table
    assert len(table) == 2357  # with returns kept, no customer is lost
    assert result.cleaning_report.n_output_rows == result.n_transactions
    assert list(table.columns[:4]) == ["frequency", "recency", "T", "monetary_value"]
    np.testing.assert_allclose(table["clv"], result.clv_model.predict(table))
    np.testing.assert_allclose(table["p_alive"],
                               result.transaction_model.probability_alive(table))
    for column in LABEL_COLUMNS:
        assert table[column].notna().all(), column
    assert result.holdout_table is not None and result.holdout_model is not None


def _awkward_log(n_customers=300, seed=0):
    sim = make_transactions(n_customers, random_state=seed)
    log = sim.transactions
    return pd.DataFrame({
        "客户编号": "客户 " + log["customer_id"].astype(str) + " 号",
        "日期": log["date"].dt.strftime("%d/%m/%Y"),
        "金额": log["amount"],
    })


def test_segment_chinese_columns_string_ids_and_date_format(tmp_path, capsys):
    src = tmp_path / "购买记录.csv"
    _awkward_log().to_csv(src, index=False)
    out = tmp_path / "客户.parquet"
    report = tmp_path / "report.html"
    code = main(["segment", str(src), "--out", str(out), "--report", str(report),
                 "--customer-id", "客户编号", "--date", "日期", "--amount", "金额",
                 "--date-format", "%d/%m/%Y", "--freq", "W", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    table = pd.read_parquet(out)
    assert len(table) == 300
    assert table.index.str.startswith("客户 ").all()
    assert table.index.str.endswith(" 号").all()
    assert report.exists() and report.stat().st_size > 10_000
    # a wrong date format is a one-line user error, exit code 2
    code = main(["segment", str(src), "--out", str(tmp_path / "x.csv"),
                 "--customer-id", "客户编号", "--date", "日期", "--amount", "金额",
                 "--date-format", "%Y-%m-%d", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2
    assert "日期" in err and err.count("\n") == 1


def test_config_sets_tiers_and_model(tmp_path):
    src = tmp_path / "log.csv"
    make_transactions(400, random_state=1).transactions.to_csv(src, index=False)
    cfg = tmp_path / "job.toml"
    cfg.write_text('[job]\nfreq = "W"\nmodel = "paretonbd"\nhorizon = 26\n'
                   '[value_tiers]\nquantiles = [0.9, 0.6]\n'
                   'labels = ["platinum", "gold", "standard"]\n'
                   '[segmenter]\nn_segments = 3\n')
    out = tmp_path / "out.csv"
    assert main(["segment", str(src), "--out", str(out), "--config", str(cfg),
                 "--no-progress"]) == 0
    table = pd.read_csv(out)
    assert set(table["value_tier"]) == {"platinum", "gold", "standard"}
    assert (table["value_tier"] == "platinum").mean() == pytest.approx(0.1, abs=0.02)
    assert table["segment"].nunique() == 3


def test_migrate_between_two_snapshots(tmp_path, capsys):
    log = load_cdnow_transactions()
    paths = []
    for end in ("1997-12-31", "1998-06-30"):
        src = tmp_path / f"log_{end}.csv"
        log[log["date"] <= end].to_csv(src, index=False)
        out = tmp_path / f"customers_{end}.csv"
        assert main(["segment", str(src), "--out", str(out), "--observation-end", end,
                     "--no-progress"]) == 0
        paths.append(out)
    capsys.readouterr()
    assert main(["migrate", str(paths[0]), str(paths[1]), "--column", "lifecycle"]) == 0
    text = capsys.readouterr().out
    assert "active" in text
    matrix_path = tmp_path / "migration.csv"
    assert main(["migrate", str(paths[0]), str(paths[1]), "--column", "value_tier",
                 "--out", str(matrix_path)]) == 0
    matrix = pd.read_csv(matrix_path, index_col=0)
    assert matrix.to_numpy().sum() > 0


# ---- the job's own decisions: optional amounts, date orders, holdout, notes ------------

def _small_log(n_customers=120, seed=3):
    return make_transactions(n_customers, random_state=seed).transactions


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_without_amounts_value_is_expected_purchases():
    log = _small_log()
    before = log.copy()
    result = segment_transactions(log.drop(columns="amount"), JobConfig(freq="W"))
    pd.testing.assert_frame_equal(log, before)  # the caller's log is left as it was
    table = result.table
    money = {"monetary_value", "total_spend", "expected_spend", "clv", "M"}
    assert not money & set(table.columns)
    assert result.clv_model is None and result.spend_model is None
    assert result.value_column == "expected_purchases"
    assert result.tierers["value_tiers"].column == "expected_purchases"
    assert result.tierers["rfm_scores"].monetary_col is None
    assert (result.tierers["value_matrix"].x, result.tierers["value_matrix"].y) == (
        "frequency", "expected_purchases")
    # the highest value tier holds the customers with the most expected purchases
    means = table.groupby("value_tier", observed=True)["expected_purchases"].mean()
    assert means.idxmax() == "high"
    np.testing.assert_allclose(table["expected_purchases"],
                               result.transaction_model.predict(table))
    assert any("no amount column" in note and "expected_purchases" in note
               for note in result.notes)


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_holdout_check_on_a_sample_of_customers(monkeypatch):
    monkeypatch.setattr("custseg._job.HOLDOUT_MAX_CUSTOMERS", 50)
    log = _small_log()
    first = segment_transactions(log, JobConfig(freq="W", random_state=4))
    again = segment_transactions(log.sample(frac=1.0, random_state=1),
                                 JobConfig(freq="W", random_state=4))
    assert len(first.holdout_table) == 50
    assert set(first.holdout_table.index) <= set(first.table.index)
    pd.testing.assert_frame_equal(first.holdout_table, again.holdout_table)
    assert "holdout check on a random sample of 50 of the 120 customers." in first.notes
    monkeypatch.setattr("custseg._job.HOLDOUT_MAX_CUSTOMERS", 10**6)
    full = segment_transactions(log, JobConfig(freq="W", random_state=4))
    sampled = full.holdout_table.loc[first.holdout_table.index]
    pd.testing.assert_frame_equal(sampled, first.holdout_table)


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_holdout_check_skipped_when_its_window_is_empty():
    log = _small_log()
    result = segment_transactions(log, JobConfig(freq="W", observation_end="2023-01-01"))
    assert result.holdout_table is None and result.holdout_model is None
    assert any(n.startswith("holdout check skipped: no purchase in the holdout window")
               for n in result.notes)


def _dates_as(log, fmt):
    return log.assign(date=log["date"].dt.strftime(fmt))


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_day_first_dates_are_read_day_first_whatever_the_first_date():
    log = _small_log().sort_values("date", ignore_index=True)
    assert log["date"].iloc[0].day <= 12  # pandas alone would read month first
    reference = segment_transactions(log, JobConfig(freq="W")).table
    result = segment_transactions(_dates_as(log, "%d/%m/%Y"), JobConfig(freq="W"))
    cols = ["frequency", "recency", "T", "monetary_value"]
    pd.testing.assert_frame_equal(result.table[cols], reference[cols])
    note = next(n for n in result.notes if n.startswith("column 'date'"))
    n_rows = len(log)
    assert re.search(rf"dates read day first \('%d/%m/%Y'\): \d+ of {n_rows} rows have a "
                     r"first field above 12", note)


def test_dates_in_both_orders_are_refused():
    log = _small_log()
    text = _dates_as(log, "%d/%m/%Y")
    late = log["date"].dt.day > 12
    flip = late & (np.arange(len(log)) % 5 == 0)
    text.loc[flip, "date"] = log.loc[flip, "date"].dt.strftime("%m/%d/%Y")
    with pytest.raises(InvalidDataError,
                       match=rf"Column 'date': {int(flip.sum())} of {len(log)} rows are "
                             r"written month first \(a field above 12\) while \d+ of "
                             rf"{len(log)} rows are written day first(.|\n)*--date-format"):
        segment_transactions(text, JobConfig(freq="W"))


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_ambiguous_dates_are_read_month_first_with_a_note():
    log = _small_log()
    early = log[log["date"].dt.day <= 12]
    result = segment_transactions(_dates_as(early, "%m/%d/%Y"), JobConfig(freq="W"))
    assert any(re.search(r"the dates are ambiguous \(no field above 12 in \d+ of \d+ "
                         r"rows\): read month first \('%m/%d/%Y'\); pass --date-format "
                         r"'%d/%m/%Y' if the day comes first", n) for n in result.notes)


def test_dates_the_format_drops_but_the_other_order_reads_are_refused(monkeypatch):
    # a sample of the dates that are all ambiguous: read month first, then the dates
    # with a day above 12 would be dropped; they are refused instead
    monkeypatch.setattr("custseg._job._DATE_SAMPLE", 2)
    log = _small_log().sort_values("date", ignore_index=True)
    text = _dates_as(log, "%d/%m/%Y")
    sampled = np.arange(0, len(log), len(log) // 2)
    early = log.loc[log["date"].dt.day <= 12, "date"].iloc[:len(sampled)]
    text.loc[sampled, "date"] = early.dt.strftime("%d/%m/%Y").to_numpy()
    with pytest.raises(InvalidDataError,
                       match=r"Column 'date': \d+ of \d+ rows are not dates in the format "
                             r"'%m/%d/%Y' \(read from the first date '.*'\) but are dates "
                             r"in the format '%d/%m/%Y': the column mixes day-first and "
                             r"month-first dates(.|\n)*--date-format '%d/%m/%Y'"):
        segment_transactions(text, JobConfig(freq="W"))


def test_no_repeat_customer_names_frequency():
    log = _small_log()
    firsts = log.drop_duplicates("customer_id")
    with pytest.raises(EmptyDataError,
                       match=r"Column 'frequency': none of the 120 customers has a repeat "
                             r"purchase \(frequency > 0 in periods of 'W'\)"):
        segment_transactions(firsts, JobConfig(freq="W"))


@pytest.mark.filterwarnings("ignore::custseg.exceptions.ConvergenceWarning")
def test_notes_reach_stderr_and_the_report(tmp_path, capsys, monkeypatch):
    from custseg.report import _html

    # the notes are in the overview; the other sections are left out to keep this fast
    monkeypatch.setattr(_html, "_BUILDERS", {"overview": _html._overview})
    log = _small_log()
    log = pd.concat([log, log.iloc[:7]], ignore_index=True)  # 7 duplicated rows, and
    log = log.assign(date=log["date"].dt.strftime("%Y-%m-%d")).drop(columns="amount")
    log.loc[3, "date"] = "someday"  # purchases on the same day, without amounts
    n_dup = int(log.drop(index=3).duplicated().sum())
    assert n_dup >= 7
    src = tmp_path / "log.csv"
    log.to_csv(src, index=False)
    report = tmp_path / "report.html"
    code = main(["segment", str(src), "--out", str(tmp_path / "out.csv"), "--report",
                 str(report), "--no-progress"])
    err = capsys.readouterr().err
    assert code == 0, err
    lines = err.splitlines()
    assert (f"custseg segment: note: cleaning dropped {n_dup + 1} of {len(log)} rows: 1 for "
            f"bad date (column 'date'), {n_dup} for duplicate row.") in lines
    assert any(line.startswith("custseg segment: note: no amount column") for line in lines)
    html = report.read_text(encoding="utf-8")
    assert "No amount column: the table has no monetary_value" in html
    assert f"Cleaning dropped {n_dup + 1} of" in html
