"""Benchmark: tiering (and segmenting) a customer table of up to 10^7 customers.

Every case is a (name, estimator factory) pair run on one synthetic customer table:
``fit`` (learn the cut points), ``predict`` with the learned cut points (the labels as a
numpy array) and ``transform`` with ``set_output(transform="pandas")`` (an ordered
categorical column built from integer codes). The process is pinned to one core. Cases
are timed in alternation (fit, predict, transform, fit, ...) and reported as median and
range of ``--repeats`` runs, after one warm-up run.

Where a bare equivalent exists (``numpy.searchsorted`` on the learned edges, then the
labels), it is timed beside ours as the floor, and both outputs are checked equal.

The table is simulated column by column (vectorised numpy, seed 0): ``T`` uniform in
(1, 78) weeks at 1/7 resolution, ``frequency`` Poisson-Gamma (60% zeros, as in CDNOW),
``recency`` uniform in (0, T) for repeat buyers, ``monetary_value`` Gamma, ``clv``
``p_alive`` and ``nps`` scores, and a categorical ``region``.

Targets (issue "rule-based tierers"): tiering 10^7 customers with each preset on one
core takes under 2 s (predict with learned cut points, and fit).

The cases live in ``CASES``; other parts of the project add theirs (for instance the
clustering segmenter) with another ``group``, which gets its own RESULTS.md section.

Usage::

    python benchmarks/bench_segments.py                      # 1e5, 1e6, 1e7 customers
    python benchmarks/bench_segments.py --sizes 1e6 --repeats 5 --only value rfm
    python benchmarks/bench_segments.py --only none --segmenter --merge  # the segmenter
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    fmt_bytes,
    fmt_seconds,
    markdown_table,
    peak_rss_of,
    timeit_alternating,
    write_section,
)

TARGET_S = 2.0


def pin_to_one_core() -> str:
    """Run on one core (the first this process may use); returns a note."""
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to core {cpu}"
    except (AttributeError, OSError):  # not Linux
        return "not pinned (no sched_setaffinity)"


def customer_table(n: int, seed: int = 0) -> pd.DataFrame:
    """A synthetic customer table of ``n`` customers (see the module docstring)."""
    rng = np.random.default_rng(seed)
    T = np.round(rng.uniform(1.0, 78.0, n) * 7) / 7
    frequency = rng.poisson(rng.gamma(0.25, 6.0, n))
    repeat = frequency > 0
    recency = np.where(repeat, np.round(T * rng.uniform(0.0, 1.0, n) * 7) / 7, 0.0)
    monetary = np.where(repeat, np.round(rng.gamma(6.0, 6.0, n), 2), 0.0)
    return pd.DataFrame({
        "frequency": frequency,
        "recency": recency,
        "T": T,
        "monetary_value": monetary,
        "clv": np.round(monetary * frequency * rng.uniform(0.2, 1.5, n), 2),
        "p_alive": rng.uniform(0.0, 1.0, n),
        "nps": rng.integers(0, 11, n),
        "region": pd.Categorical.from_codes(rng.integers(0, 3, n),
                                            categories=["APAC", "EU", "US"]),
    })


@dataclass(frozen=True)
class Case:
    """One estimator to time: ``make()`` returns it unfitted.

    ``baseline(fitted, table)``, when given, computes the same labels another way (for
    instance with ``numpy.searchsorted`` on the learned edges); it is timed beside
    ``predict`` and its result checked equal to ours.
    """

    name: str
    make: Callable[[], object]
    note: str = ""
    group: str = "tiers"
    baseline: Callable | None = None
    baseline_name: str = ""
    methods: tuple = field(default=("fit", "predict", "transform"))


def value_tiers_with_numpy(est, table):
    codes = np.searchsorted(est.thresholds_, table[est.column].to_numpy(), side="right")
    return est.classes_.take(codes)


def rfm_with_numpy(est, table):
    n, e = est.n_bins, est.bin_edges_
    since = table["T"].to_numpy() - table["recency"].to_numpy()
    return np.column_stack([
        n - np.searchsorted(e["recency"], since, side="right"),
        1 + np.searchsorted(e["frequency"], table["frequency"].to_numpy(), side="right"),
        1 + np.searchsorted(e["monetary"], table["monetary_value"].to_numpy(),
                            side="right")])


def _tier_cases() -> list[Case]:
    from custseg.tiers import (
        LifecycleStages,
        RFMScorer,
        RFMSegmenter,
        RuleTierer,
        SatisfactionTiers,
        ValueMatrix,
        ValueTiers,
    )

    return [
        Case("value", lambda: ValueTiers(), "ValueTiers() top 20% / next 30% / rest",
             baseline=value_tiers_with_numpy, baseline_name="numpy.searchsorted"),
        Case("value_pareto", lambda: ValueTiers(column="clv", mode="pareto"),
             "ValueTiers(mode='pareto') 80% / 95% of the value",
             baseline=value_tiers_with_numpy, baseline_name="numpy.searchsorted"),
        Case("rules", lambda: RuleTierer([
            ("key account", "monetary_value >= 40 and region == 'EU'"),
            ("growth", "clv >= 100 or frequency >= 3"),
            ("at risk", {"p_alive": ("<", 0.2)})]),
            "RuleTierer: 3 rules, numeric and categorical"),
        Case("rfm_scores", lambda: RFMScorer(), "RFMScorer() quintiles R, F, M",
             baseline=rfm_with_numpy, baseline_name="3 x numpy.searchsorted"),
        Case("rfm_segments", lambda: RFMSegmenter(), "RFMSegmenter() default map"),
        Case("lifecycle", lambda: LifecycleStages(), "LifecycleStages() learned thresholds"),
        Case("lifecycle_p_alive", lambda: LifecycleStages(p_alive_thresholds=(0.7, 0.3)),
             "LifecycleStages(p_alive_thresholds=(0.7, 0.3))"),
        Case("value_matrix", lambda: ValueMatrix(), "ValueMatrix() 2 x 2"),
        Case("value_matrix_3x3", lambda: ValueMatrix(n_bins=3), "ValueMatrix(n_bins=3)"),
        Case("nps", lambda: SatisfactionTiers(), "SatisfactionTiers() NPS groups"),
    ]


#: Every case of this benchmark; add yours with your own ``group``.
CASES: list[Case] = _tier_cases()


def bench_case(case: Case, table: pd.DataFrame, repeats: int, memory: bool) -> dict:
    from sklearn.base import clone

    est = case.make()
    fitted = clone(est).fit(table)
    framed = clone(est).set_output(transform="pandas").fit(table)
    funcs = {}
    if "fit" in case.methods:
        funcs["fit"] = lambda: clone(est).fit(table)
    if "predict" in case.methods:
        funcs["predict"] = lambda: fitted.predict(table)
    if "transform" in case.methods:
        funcs["transform"] = lambda: framed.transform(table)
    if case.baseline is not None:
        ours = fitted.transform(table) if case.name.startswith("rfm_scores") else \
            fitted.predict(table)
        theirs = case.baseline(fitted, table)
        if not np.array_equal(ours, theirs):
            raise AssertionError(f"{case.name}: {case.baseline_name} disagrees with custseg")
        funcs["baseline"] = lambda: case.baseline(fitted, table)
    gc.collect()
    cpu = {key: [] for key in funcs}

    def with_cpu(key, fn):
        def run():
            t0 = time.process_time()
            fn()
            cpu[key].append(time.process_time() - t0)
        return run

    times = timeit_alternating({k: with_cpu(k, f) for k, f in funcs.items()},
                               repeats=repeats, warmup=True)
    row = {"case": case.name, "group": case.group, "note": case.note, "n": len(table),
           "baseline_name": case.baseline_name}
    for key, t in times.items():
        row[f"{key}_median_s"] = t["median"]
        row[f"{key}_min_s"] = t["min"]
        row[f"{key}_max_s"] = t["max"]
        row[f"{key}_cpu_s"] = statistics.median(cpu[key][1:])  # after the warm-up
    if memory and "predict" in funcs:
        row["predict_peak_rss"] = peak_rss_of(funcs["predict"])
    return row


def _fmt(row, key):
    if f"{key}_median_s" not in row:
        return ""
    return (f"{fmt_seconds(row[f'{key}_median_s'])} "
            f"({fmt_seconds(row[f'{key}_min_s'])}-{fmt_seconds(row[f'{key}_max_s'])})")


def _cpu(row, key):
    return fmt_seconds(row[f"{key}_cpu_s"]) if f"{key}_cpu_s" in row else ""


def _worst_cpu(row) -> float:
    return max(row.get("fit_cpu_s", 0.0), row.get("predict_cpu_s", 0.0))


def markdown(rows: list[dict], repeats: int, pin_note: str, load: str) -> str:
    table_rows = []
    for r in rows:
        table_rows.append({
            "case": f"`{r['case']}`",
            "customers": f"{r['n']:.0e}".replace("e+0", "e"),
            "fit": _fmt(r, "fit"),
            "fit CPU": _cpu(r, "fit"),
            "predict": _fmt(r, "predict"),
            "predict CPU": _cpu(r, "predict"),
            "transform (pandas)": _fmt(r, "transform"),
            "baseline": (f"{r['baseline_name']}: {_fmt(r, 'baseline')}"
                         if r.get("baseline_name") else ""),
            "extra peak RSS (predict)": (fmt_bytes(r["predict_peak_rss"])
                                         if "predict_peak_rss" in r else ""),
            "< 2 s": ("yes" if _worst_cpu(r) < TARGET_S else "**no**")
            if r["n"] >= 1e7 else "",
        })
    cols = ["case", "customers", "fit", "fit CPU", "predict", "predict CPU",
            "transform (pandas)", "baseline", "extra peak RSS (predict)", "< 2 s"]
    notes = "\n".join(f"- `{r['case']}`: {r['note']}" for r in rows
                      if r["n"] == rows[-1]["n"])
    big = [r for r in rows if r["n"] >= 1e7]
    verdict = ""
    if big:
        ok = all(_worst_cpu(r) < TARGET_S for r in big)
        verdict = (f"\n\nTarget (every preset, 1e7 customers, one core: fit and predict "
                   f"each under {TARGET_S:g} s of CPU time): "
                   f"{'met' if ok else '**not met**'}.")
    return (
        f"Synthetic customer table (see the script), one process {pin_note}; load "
        f"average of the machine during the run: {load}. Wall time: median and range of "
        f"{repeats} runs in alternation after a warm-up; `CPU`: median process CPU time of "
        "the same runs (user + system, one thread), the figure that other processes "
        "competing for the cores disturb least, and the one the target is judged on. "
        "`predict`: labels as a numpy array with the cut points learned by `fit`; "
        "`transform (pandas)`: the same as an ordered categorical column "
        "(`set_output(transform='pandas')`); `baseline`: the same labels computed "
        "directly with numpy from the learned edges, the floor of what the rule engine "
        "can cost (outputs checked equal). `extra peak RSS`: high-water mark of a forked "
        "child running predict once, above the memory it started with (input "
        "resident).\n\n"
        + markdown_table(table_rows, cols) + "\n\n" + notes + verdict
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7],
                        help="numbers of customers (default: 1e5 1e6 1e7)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of every method (default: 3)")
    parser.add_argument("--only", nargs="+", default=None,
                        help="names of the cases to run (default: all)")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory runs")
    parser.add_argument("--no-write", action="store_true",
                        help="print only, do not update RESULTS.md")
    parser.add_argument("--segmenter", nargs=argparse.REMAINDER, default=None,
                        metavar="ARG",
                        help="last option: then run bench_segmenter.py (the clustering "
                             "segmenter against the bare scikit-learn model, section "
                             "segmenter) with the arguments that follow it")
    args = parser.parse_args(argv)
    status = 0
    if args.segmenter is not None:  # first, in a child not pinned to one core
        import subprocess

        script = Path(__file__).resolve().parent / "bench_segmenter.py"
        status = subprocess.run([sys.executable, str(script), *args.segmenter]).returncode
    pin_note = pin_to_one_core()
    cases = [c for c in CASES if args.only is None or c.name in args.only]
    rows = []
    loads = [os.getloadavg()[0]]
    for size in args.sizes if cases else []:
        n = int(size)
        table = customer_table(n)
        print(f"== {n:,} customers", flush=True)
        for case in cases:
            row = bench_case(case, table, args.repeats,
                             memory=not args.no_memory and n == int(max(args.sizes)))
            rows.append(row)
            loads.append(os.getloadavg()[0])
            print(f"  {case.name:18s} fit {_fmt(row, 'fit'):26s} CPU {_cpu(row, 'fit'):9s}"
                  f" predict {_fmt(row, 'predict'):26s} CPU {_cpu(row, 'predict'):9s}"
                  f" transform {_fmt(row, 'transform')}", flush=True)
        del table
        gc.collect()
    load = f"{min(loads):.1f} to {max(loads):.1f} (on {os.cpu_count()} cores)"
    for group in dict.fromkeys(r["group"] for r in rows):
        part = [r for r in rows if r["group"] == group]
        text = markdown(part, args.repeats, pin_note, load)
        print("\n" + text)
        if not args.no_write:
            write_section(group, text, raw=part)
    return status


if __name__ == "__main__":
    raise SystemExit(main())
