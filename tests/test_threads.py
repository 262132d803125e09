"""Thread safety: scoring from 8 threads at once gives exactly the single-thread results.

Fitted estimators are shared between the threads of a web service or a thread pool; their
prediction methods must not keep state between calls. Each task below is run once in
the main thread, then 8 worker threads run all tasks several times each, interleaved,
and every result must equal the single-thread one bit for bit.
"""

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

import custseg.models._base as models_base
from custseg.cluster import CustomerSegmenter
from custseg.datasets import load_cdnow_summary
from custseg.models import BetaGeo, ChurnEstimator, CLVEstimator, ModifiedBetaGeo, ParetoNBD
from custseg.tiers import LifecycleStages, RFMScorer, RFMSegmenter, ValueMatrix, ValueTiers

N_THREADS = 8
ROUNDS = 3


@pytest.fixture(scope="module")
def table():
    table = load_cdnow_summary().copy()
    table["clv"] = table["monetary_value"] * (1 + table["frequency"])
    return table


@pytest.fixture(scope="module")
def models(table):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bg = BetaGeo().fit(table)
        pareto = ParetoNBD(random_state=0).fit(table)
        clv = CLVEstimator(ModifiedBetaGeo(), horizon=12).fit(table)
        churn = ChurnEstimator(horizon=8.0).fit(table)
        scored = table.assign(p_alive=bg.probability_alive(table), clv=clv.predict(table))
        tiers = {
            "value": ValueTiers(column="clv").fit(scored),
            "rfm": RFMScorer().fit(scored),
            "segments": RFMSegmenter().fit(scored),
            "lifecycle": LifecycleStages().fit(scored),
            "matrix": ValueMatrix(y="clv", n_bins=3).fit(scored),
        }
        segmenter = CustomerSegmenter(n_segments=4, value_column="clv",
                                      random_state=0).fit(scored)
    return {"bg": bg, "pareto": pareto, "clv": clv, "churn": churn, "tiers": tiers,
            "segmenter": segmenter, "scored": scored}


def scoring_tasks(models, table):
    """Named zero-argument callables, each scoring a different slice of the table."""
    bg, pareto, clv, churn = models["bg"], models["pareto"], models["clv"], models["churn"]
    scored, tiers, segmenter = models["scored"], models["tiers"], models["segmenter"]
    parts = np.array_split(np.arange(len(table)), 4)
    tasks = {}
    for i, rows in enumerate(parts):
        X = table.iloc[rows]
        S = scored.iloc[rows]
        tasks[f"bg.predict[{i}]"] = lambda X=X: bg.predict(X)
        tasks[f"bg.probability_alive[{i}]"] = lambda X=X: bg.probability_alive(X, t=4.0)
        tasks[f"bg.purchase_probability[{i}]"] = lambda X=X: bg.purchase_probability(X, 2, 26)
        tasks[f"pareto.predict[{i}]"] = lambda X=X: pareto.predict(X)
        tasks[f"pareto.probability_alive[{i}]"] = lambda X=X: pareto.probability_alive(X)
        tasks[f"clv.predict[{i}]"] = lambda X=X: clv.predict(X)
        tasks[f"clv.components[{i}]"] = lambda X=X: clv.predict_components(X)
        tasks[f"churn.predict_proba[{i}]"] = lambda X=X: churn.predict_proba(X)
        for name, tierer in tiers.items():
            tasks[f"{name}.predict[{i}]"] = lambda S=S, t=tierer: t.predict(S)
        tasks[f"rfm.transform[{i}]"] = lambda S=S: tiers["rfm"].transform(S)
        tasks[f"segmenter.predict[{i}]"] = lambda S=S: segmenter.predict(S)
        tasks[f"segmenter.transform[{i}]"] = lambda S=S: segmenter.transform(S)
    tasks["bg.score_samples"] = lambda: bg.score_samples(table)
    tasks["bg.new_customer"] = lambda: bg.expected_purchases_new_customer(np.arange(1, 60.0))
    return tasks


def _same(got, expected, name):
    if isinstance(expected, pd.DataFrame):
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
    else:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), err_msg=name)


def _run_concurrently(tasks, n_rounds=ROUNDS):
    names = [name for _ in range(n_rounds) for name in tasks]
    rng = np.random.default_rng(1)
    rng.shuffle(names)  # interleave different estimators and methods
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        futures = [(name, pool.submit(tasks[name])) for name in names]
        return [(name, f.result(timeout=120)) for name, f in futures]


def test_scoring_from_eight_threads_equals_single_thread(models, table):
    tasks = scoring_tasks(models, table)
    expected = {name: task() for name, task in tasks.items()}
    results = _run_concurrently(tasks)
    assert len(results) == ROUNDS * len(tasks)
    for name, got in results:
        _same(got, expected[name], name)


def test_chunked_scoring_from_eight_threads(models, table, monkeypatch):
    """Tables longer than the scoring chunk go through the chunked loop: still exact."""
    monkeypatch.setattr(models_base, "CHUNK_ROWS", 97)
    bg, pareto = models["bg"], models["pareto"]
    tasks = {"bg.predict": lambda: bg.predict(table),
             "bg.probability_alive": lambda: bg.probability_alive(table),
             "pareto.expected_purchases": lambda: pareto.expected_purchases(table, t=10.0),
             "bg.score_samples": lambda: bg.score_samples(table)}
    expected = {name: task() for name, task in tasks.items()}
    monkeypatch.setattr(models_base, "CHUNK_ROWS", 1 << 17)
    unchunked = {name: task() for name, task in tasks.items()}
    for name in tasks:
        np.testing.assert_allclose(expected[name], unchunked[name], rtol=1e-12)
    monkeypatch.setattr(models_base, "CHUNK_ROWS", 97)
    for name, got in _run_concurrently(tasks, n_rounds=4):
        _same(got, expected[name], name)


def test_fits_in_eight_threads_equal_the_serial_fit(table):
    """Fitting clones of one estimator in threads: no shared state leaks between fits."""
    small = table.head(600)
    templates = {"bg": BetaGeo(), "segmenter": CustomerSegmenter(n_segments=3, random_state=0),
                 "tiers": RFMSegmenter()}

    def fit(name):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return clone(templates[name]).fit(small)

    serial = {name: fit(name) for name in templates}
    names = [name for name in templates for _ in range(N_THREADS)]
    with ThreadPoolExecutor(max_workers=N_THREADS) as pool:
        fitted = list(zip(names, pool.map(fit, names)))
    for name, est in fitted:
        _same(est.predict(small), serial[name].predict(small), name)
        if name == "bg":
            pd.testing.assert_series_equal(est.params_, serial[name].params_,
                                           check_exact=True)
