"""The whole job end to end: `custseg demo`, `custseg segment` on awkward inputs, migrate."""

import numpy as np
import pandas as pd
import pytest

from custseg._config import JobConfig
from custseg._job import LABEL_COLUMNS, segment_transactions
from custseg.cli import main
from custseg.datasets import load_cdnow_transactions, make_transactions

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
