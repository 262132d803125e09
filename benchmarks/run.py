"""Run the whole benchmark suite, then measure and plot how custseg scales.

One entry point for every benchmark script (``bench_rfm``, ``bench_models``,
``bench_segments``, ``bench_segmenter``, ``bench_job``); a script that is not there yet is
skipped with a note. Each runs in its own child process at the chosen
numbers of customers and writes its own section of ``RESULTS.md``. Then this script

* measures the scaling curves itself: :func:`custseg.features.rfm_summary` time against
  the number of transactions, and the fits of :class:`~custseg.models.BetaGeo` and
  :class:`~custseg.models.GammaGamma` against the number of distinct rows they work on;
  fits straight lines to the log-log points, prints the slopes, writes them to the
  ``scaling`` section of ``RESULTS.md`` and draws ``benchmarks/scaling.png``;
* with ``--large``, runs the 10^8-transaction case through :mod:`custseg.dask` on a
  ``LocalCluster`` whose workers spill to disk: the log is written as Parquet files
  first, then summarised, fitted and scored without ever being held by one process
  (``large`` section).

Goals: the RFM summary is linear in transactions (log-log slope <= 1.1 between 10^5 and
10^7 transactions) and the fits are linear in distinct rows.

Usage::

    python benchmarks/run.py                          # 1e4 1e5 1e6 customers
    python benchmarks/run.py --sizes 1e4 1e5 --only rfm scaling
    python benchmarks/run.py --large                  # adds 1e8 transactions via Dask
    python benchmarks/run.py --only large --large-dir /data/custseg-large
"""

from __future__ import annotations

import argparse
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import (  # noqa: E402
    JSON_DIR,
    fmt_bytes,
    fmt_seconds,
    markdown_table,
    timeit_alternating,
    write_section,
)

#: Mean transactions per customer of ``make_transactions(r=1.0, alpha=2.5)``, the log
#: every benchmark simulates.
TRANSACTIONS_PER_CUSTOMER = 8.06
SIM = {"r": 1.0, "alpha": 2.5}
PNG = HERE / "scaling.png"
RFM_SLOPE_RANGE = (1e5, 1e7)
RFM_SLOPE_TARGET = 1.1


# --------------------------------------------------------------------------- the scripts
def _n_transactions(customers):
    return [str(int(round(c * TRANSACTIONS_PER_CUSTOMER))) for c in customers]


def _n_customers(customers):
    return [str(int(c)) for c in customers]


#: script -> how to pass the chosen numbers of customers to it
SCRIPTS = {
    "rfm": ("bench_rfm.py", lambda c: ["--sizes", *_n_transactions(c)]),
    "models": ("bench_models.py", lambda c: ["--sizes", *_n_customers(c)]),
    "segments": ("bench_segments.py", lambda c: ["--sizes", *_n_customers(c)]),
    "segmenter": ("bench_segmenter.py", lambda c: ["--sizes", *_n_customers(c)]),
    "job": ("bench_job.py", lambda c: ["--customers", str(int(max(c)))]),
}
STEPS = [*SCRIPTS, "scaling", "large"]


def run_script(name: str, customers, extra: list[str], dry_run: bool) -> dict:
    script, adapt = SCRIPTS[name]
    path = HERE / script
    cmd = [sys.executable, str(path), *adapt(customers), *extra]
    shown = " ".join(["python", f"benchmarks/{script}", *cmd[2:]])
    if not path.exists():
        print(f"\n== {name}: {script} is not there yet, skipped", flush=True)
        return {"name": name, "command": shown, "status": "missing", "wall_s": None}
    print(f"\n== {name}: {shown}", flush=True)
    if dry_run:
        return {"name": name, "command": shown, "status": "dry run", "wall_s": None}
    t0 = time.perf_counter()
    code = subprocess.call(cmd, cwd=HERE.parent)
    wall = time.perf_counter() - t0
    status = "ok" if code == 0 else f"exit {code}"
    print(f"== {name}: {status} in {fmt_seconds(wall)}", flush=True)
    return {"name": name, "command": shown, "status": status, "wall_s": wall}


# --------------------------------------------------------------------------- scaling
def simulate(n_customers: int, seed: int = 0):
    from custseg.datasets import make_transactions

    return make_transactions(int(n_customers), **SIM, random_state=seed,
                             shuffle=True).transactions


def loglog_slope(sizes, times) -> float:
    """Least-squares slope of log(time) against log(size)."""
    x, y = np.log10(np.asarray(sizes, float)), np.log10(np.asarray(times, float))
    if len(x) < 2:
        return float("nan")
    return float(np.polyfit(x, y, 1)[0])


def _in_range(n, lo, hi, tol=0.02):
    return lo * (1 - tol) <= n <= hi * (1 + tol)


def measure_rfm(transaction_sizes, repeats: int) -> list[dict]:
    from custseg.features import rfm_summary

    points = []
    for n_tx in transaction_sizes:
        log = simulate(max(1, round(n_tx / TRANSACTIONS_PER_CUSTOMER)))
        gc.collect()
        t = timeit_alternating({"rfm": lambda log=log: rfm_summary(
            log, "customer_id", "date", monetary_value_col="amount")}, repeats=repeats,
            warmup=True)["rfm"]
        points.append({"n_transactions": len(log), "n_customers": int(
            log["customer_id"].nunique()), "median_s": t["median"], "min_s": t["min"],
            "max_s": t["max"]})
        print(f"  rfm_summary {len(log):>12,} transactions: {fmt_seconds(t['median'])}",
              flush=True)
        del log
    return points


def measure_fits(customer_sizes, repeats: int) -> dict:
    """Fit times of BetaGeo (daily and weekly tables) and GammaGamma vs distinct rows."""
    from custseg.features import rfm_summary
    from custseg.models import BetaGeo, GammaGamma
    from custseg.models._base import compress_rows

    out = {"BetaGeo": [], "GammaGamma": []}
    for n in customer_sizes:
        log = simulate(n)
        for freq in ("W", "D"):
            table = rfm_summary(log, "customer_id", "date", monetary_value_col="amount",
                                freq=freq)
            cols = [table[c].to_numpy() for c in ("frequency", "recency", "T")]
            n_distinct = len(compress_rows(cols)[1])
            t = timeit_alternating({"fit": lambda t=table: BetaGeo(random_state=0).fit(t)},
                                   repeats=repeats)["fit"]
            out["BetaGeo"].append({"n_customers": len(table), "freq": freq,
                                   "n_distinct_rows": n_distinct,
                                   "median_s": t["median"], "min_s": t["min"]})
            print(f"  BetaGeo.fit    {len(table):>10,} customers ({freq}), "
                  f"{n_distinct:>9,} distinct rows: {fmt_seconds(t['median'])}", flush=True)
            if freq == "W":
                rep = table[table["frequency"] > 0]
                n_distinct = len(compress_rows([rep["frequency"].to_numpy(),
                                                rep["monetary_value"].to_numpy()])[1])
                t = timeit_alternating(
                    {"fit": lambda t=table: GammaGamma(random_state=0).fit(t)},
                    repeats=repeats)["fit"]
                out["GammaGamma"].append({"n_customers": len(table), "freq": freq,
                                          "n_distinct_rows": n_distinct,
                                          "median_s": t["median"], "min_s": t["min"]})
                print(f"  GammaGamma.fit {len(table):>10,} customers ({freq}), "
                      f"{n_distinct:>9,} distinct rows: {fmt_seconds(t['median'])}",
                      flush=True)
        del log, table
        gc.collect()
    return out


def load_large() -> dict | None:
    path = JSON_DIR / "large.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())["results"]
    except (ValueError, KeyError):
        return None


def plot_scaling(rfm_points, fit_points, large, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), constrained_layout=True)
    n = np.array([p["n_transactions"] for p in rfm_points], float)
    t = np.array([p["min_s"] for p in rfm_points], float)
    ax1.loglog(n, t, "o-", label="rfm_summary (in memory, best of runs)")
    sel = [_in_range(v, *RFM_SLOPE_RANGE) for v in n]
    if sum(sel) >= 2:
        slope, icpt = np.polyfit(np.log10(n[sel]), np.log10(t[sel]), 1)
        xs = np.array([n[sel].min(), n[sel].max()])
        ax1.loglog(xs, 10 ** (icpt + slope * np.log10(xs)), "k--", lw=1,
                   label=f"fit 1e5..1e7: slope {slope:.3f}")
    if large and large.get("rfm_s"):
        ax1.loglog([large["n_transactions"]], [large["rfm_s"]], "s", color="C3",
                   label="custseg.dask rfm_summary (2 workers, Parquet in)")
    ax1.set_xlabel("transactions")
    ax1.set_ylabel("seconds")
    ax1.set_title("Transaction log -> customer table")
    ax1.grid(True, which="both", alpha=0.3)
    ax1.legend(fontsize=8)
    for i, (name, pts) in enumerate(fit_points.items()):
        if not pts:
            continue
        d = np.array([p["n_distinct_rows"] for p in pts], float)
        s = np.array([p["min_s"] for p in pts], float)
        order = np.argsort(d)
        ax2.loglog(d[order], s[order], "o-", color=f"C{i}",
                   label=f"{name}.fit (slope {loglog_slope(d, s):.2f})")
    ax2.set_xlabel("distinct rows of the customer table")
    ax2.set_ylabel("seconds")
    ax2.set_title("Model fits")
    ax2.grid(True, which="both", alpha=0.3)
    ax2.legend(fontsize=8)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def run_scaling(customers, repeats: int, write: bool) -> dict:
    print("\n== scaling: in-memory curves", flush=True)
    load_start = os.getloadavg()[0]
    tx_sizes = sorted({int(round(c * TRANSACTIONS_PER_CUSTOMER)) for c in customers}
                      | {int(1e5), int(1e6), int(1e7)})
    rfm_points = measure_rfm(tx_sizes, repeats)
    fit_points = measure_fits(sorted(customers), max(1, repeats - 1))
    sel = [p for p in rfm_points if _in_range(p["n_transactions"], *RFM_SLOPE_RANGE)]
    # slopes of the best of the runs: the times least disturbed by other processes
    rfm_slope = loglog_slope([p["n_transactions"] for p in sel],
                             [p["min_s"] for p in sel])
    all_slope = loglog_slope([p["n_transactions"] for p in rfm_points],
                             [p["min_s"] for p in rfm_points])
    median_slope = loglog_slope([p["n_transactions"] for p in sel],
                                [p["median_s"] for p in sel])
    fit_slopes = {name: loglog_slope([p["n_distinct_rows"] for p in pts],
                                     [p["min_s"] for p in pts])
                  for name, pts in fit_points.items() if pts}
    load_end = os.getloadavg()[0]
    large = load_large()
    plot_scaling(rfm_points, fit_points, large, PNG)
    print(f"  RFM slope between 1e5 and 1e7 transactions: {rfm_slope:.3f} "
          f"(target <= {RFM_SLOPE_TARGET}); over all sizes {all_slope:.3f}")
    for name, s in fit_slopes.items():
        print(f"  {name}.fit slope against distinct rows: {s:.3f}")
    print(f"  wrote {PNG.relative_to(HERE.parent)}", flush=True)

    rows = [{"transactions": f"{p['n_transactions']:,}", "customers": f"{p['n_customers']:,}",
             "rfm_summary (median)": fmt_seconds(p["median_s"]),
             "best": fmt_seconds(p["min_s"]),
             "best per million transactions": fmt_seconds(p["min_s"] / p["n_transactions"]
                                                          * 1e6)}
            for p in rfm_points]
    fit_rows = [{"model": name, "customers": f"{p['n_customers']:,}",
                 "period": p["freq"], "distinct rows": f"{p['n_distinct_rows']:,}",
                 "fit (median)": fmt_seconds(p["median_s"]), "best": fmt_seconds(p["min_s"]),
                 "best per 1,000 distinct rows": fmt_seconds(p["min_s"] / p["n_distinct_rows"]
                                                             * 1e3)}
                for name, pts in fit_points.items() for p in pts]
    verdict = "meets" if rfm_slope <= RFM_SLOPE_TARGET else "misses"
    text = (
        "Scaling curves measured by `benchmarks/run.py` (one process, medians of "
        f"{repeats} runs), drawn in `benchmarks/scaling.png`. Simulated logs "
        "`make_transactions(r=1.0, alpha=2.5, shuffle=True)`. Load average of the "
        f"machine (1 min) at the start and end: {load_start:.1f} and {load_end:.1f} on "
        f"{os.cpu_count()} cores.\n\n"
        "![scaling](scaling.png)\n\n"
        "### rfm_summary against transactions\n\n"
        + markdown_table(rows, list(rows[0])) + "\n\n"
        f"Log-log slope between 1e5 and 1e7 transactions: **{rfm_slope:.3f}** ({verdict} "
        f"the target <= {RFM_SLOPE_TARGET}); over all sizes: {all_slope:.3f}; from the "
        f"medians instead of the best runs: {median_slope:.3f}. Slopes are fitted to the "
        "best of the runs, the times least disturbed by other processes.\n\n"
        "### Fits against distinct rows\n\n"
        "Daily (D) tables have many more distinct (frequency, recency, T) rows than weekly "
        "(W) ones; Gamma-Gamma works on the distinct (frequency, monetary_value) rows of "
        "the repeat customers. Fit times include grouping the customers into distinct "
        "rows (linear in customers) and the optimiser's iterations, whose number varies "
        "from one table to another.\n\n"
        + markdown_table(fit_rows, list(fit_rows[0])) + "\n\n"
        + "\n".join(f"- {name}.fit: log-log slope against distinct rows **{s:.3f}**."
                    for name, s in fit_slopes.items())
    )
    if large:
        text += ("\n\nThe square in the left panel is the 10^8-transaction run through "
                 "custseg.dask (see the `large` section).")
    raw = {"rfm": rfm_points, "fits": fit_points, "rfm_slope_1e5_1e7": rfm_slope,
           "rfm_slope_1e5_1e7_medians": median_slope,
           "load_average": [load_start, load_end],
           "rfm_slope_all": all_slope, "fit_slopes": fit_slopes}
    if write:
        write_section("scaling", text, raw=raw)
    return raw


# --------------------------------------------------------------------------- large (Dask)
def write_large_log(folder: Path, n_customers: int, n_files: int, seed: int) -> dict:
    """Write the simulated log as ``n_files`` Parquet files, one block of customers each,
    so that no process ever holds the whole log."""
    import pandas as pd

    from custseg.datasets import make_transactions

    marker = folder / "_complete.json"
    if marker.exists():
        facts = json.loads(marker.read_text())
        if facts.get("n_customers") == n_customers and facts.get("seed") == seed:
            print(f"  reusing the log in {folder}", flush=True)
            return facts
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    per_file = math.ceil(n_customers / n_files)
    n_rows = 0
    bytes_in_memory = 0
    t0 = time.perf_counter()
    offset = 0
    for i in range(n_files):
        n = min(per_file, n_customers - offset)
        if n <= 0:
            break
        log = make_transactions(n, **SIM, random_state=seed + i, shuffle=True).transactions
        log["customer_id"] += offset
        log.to_parquet(folder / f"part-{i:04d}.parquet", index=False)
        n_rows += len(log)
        bytes_in_memory += int(log.memory_usage(deep=True, index=False).sum())
        offset += n
        del log
        if (i + 1) % 10 == 0:
            print(f"  wrote {i + 1}/{n_files} files, {n_rows:,} transactions", flush=True)
    facts = {"n_customers": n_customers, "n_transactions": n_rows, "seed": seed,
             "n_files": n_files, "bytes_in_memory": bytes_in_memory,
             "bytes_on_disk": sum(p.stat().st_size for p in folder.glob("*.parquet")),
             "write_s": time.perf_counter() - t0, "start": str(pd.Timestamp("2020-01-01"))}
    marker.write_text(json.dumps(facts))
    return facts


def _worker_peak_rss() -> int:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _worker_cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def large_markdown(res: dict) -> str:
    """The ``large`` section of RESULTS.md from the raw figures of :func:`run_large`."""
    load = res.get("load_average")
    load_note = (f" Load average of the machine (1 min) at the start and end of the Dask "
                 f"steps: {load[0]:.1f} and {load[1]:.1f} on {os.cpu_count()} cores."
                 if load else "")
    cpu = res.get("worker_cpu_s")
    cpu_note = (f"; CPU time of the workers {fmt_seconds(sum(cpu))} for "
                f"{fmt_seconds(res['total_s'])} of wall time" if cpu else "")
    return (
        f"{res['n_transactions']:,} transactions of {res['n_customers']:,} customers "
        f"(`make_transactions(r=1.0, alpha=2.5)` in {res['n_files']} blocks of "
        f"customers), written first as {res['n_files']} Parquet files "
        f"({fmt_bytes(res['bytes_on_disk'])} on disk, "
        f"{fmt_bytes(res['bytes_in_memory'])} as pandas frames; writing took "
        f"{fmt_seconds(res['write_s'])}). A `distributed.LocalCluster` of 2 worker "
        f"processes with 1 thread each and `memory_limit={res['memory_limit']}` per "
        "worker, spilling to the local disk, runs `custseg.dask.rfm_summary` (weekly "
        "periods; shuffle by customer) to Parquet, `fit_from_dask(BetaGeo())` on the "
        "distinct rows counted on the cluster, and `score(model, table, 'transform')` to "
        "Parquet. No process holds the whole log.\n\n"
        + markdown_table([
            {"step": "rfm_summary (read log, shuffle, summarise, write table)",
             "time": fmt_seconds(res["rfm_s"])},
            {"step": f"fit_from_dask BetaGeo ({res['n_distinct_rows']:,} distinct rows)",
             "time": fmt_seconds(res["fit_s"])},
            {"step": "score transform (expected purchases, P(alive)) to Parquet",
             "time": fmt_seconds(res["score_s"])},
            {"step": "total", "time": fmt_seconds(res["total_s"])},
        ], ["step", "time"]) + "\n\n"
        f"Peak RSS of the workers: "
        f"{', '.join(fmt_bytes(p) for p in res['worker_peak_rss'])}{cpu_note}."
        f"{load_note} Estimates (weeks): "
        + ", ".join(f"{k} {v:.4f}" for k, v in res["params"].items()) + "."
    )


def run_large(n_customers: int, folder: Path, memory_limit: str, n_files: int,
              write: bool, keep: bool) -> dict:
    import dask
    import dask.dataframe as dd
    from distributed import Client, LocalCluster

    import custseg.dask as cdask
    from custseg.models import BetaGeo

    print(f"\n== large: {n_customers:,} customers through custseg.dask", flush=True)
    folder.mkdir(parents=True, exist_ok=True)
    facts = write_large_log(folder / "log", n_customers, n_files, seed=1)
    print(f"  log: {facts['n_transactions']:,} transactions in {facts['n_files']} Parquet "
          f"files, {fmt_bytes(facts['bytes_on_disk'])} on disk, "
          f"{fmt_bytes(facts['bytes_in_memory'])} as pandas frames", flush=True)
    steps = {}
    spill = folder / "dask-spill"
    with warnings.catch_warnings(), dask.config.set({
            "temporary-directory": str(spill),
            "distributed.worker.memory.target": 0.6,
            "distributed.worker.memory.spill": 0.7,
            "distributed.worker.memory.pause": 0.85}):
        warnings.simplefilter("ignore")
        cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                               memory_limit=memory_limit, local_directory=str(spill),
                               dashboard_address=None)
        client = Client(cluster)
        try:
            log = dd.read_parquet(str(folder / "log"))
            load_start = os.getloadavg()[0]
            t0 = time.perf_counter()
            table = cdask.rfm_summary(log, "customer_id", "date", "amount", freq="W")
            shutil.rmtree(folder / "customers", ignore_errors=True)
            table.to_parquet(str(folder / "customers"))
            steps["rfm_s"] = time.perf_counter() - t0
            print(f"  rfm_summary -> Parquet: {fmt_seconds(steps['rfm_s'])}", flush=True)

            customers = dd.read_parquet(str(folder / "customers"))
            t0 = time.perf_counter()
            n_rows = int(customers.shape[0].compute())
            steps["count_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            model = cdask.fit_from_dask(BetaGeo(random_state=0), customers)
            steps["fit_s"] = time.perf_counter() - t0
            print(f"  fit_from_dask(BetaGeo): {fmt_seconds(steps['fit_s'])} on "
                  f"{model.data_summary_['n_distinct_rows']:,} distinct rows; "
                  f"params {model.params_.round(4).to_dict()}", flush=True)

            t0 = time.perf_counter()
            scores = cdask.score(model, customers, "transform")
            shutil.rmtree(folder / "scores", ignore_errors=True)
            scores.to_parquet(str(folder / "scores"))
            steps["score_s"] = time.perf_counter() - t0
            print(f"  score(transform) -> Parquet: {fmt_seconds(steps['score_s'])}",
                  flush=True)
            peaks = client.run(_worker_peak_rss)
            cpu = client.run(_worker_cpu_seconds)
            load_end = os.getloadavg()[0]
        finally:
            client.close()
            cluster.close()
    if not keep:
        for sub in ("customers", "scores", "dask-spill"):
            shutil.rmtree(folder / sub, ignore_errors=True)
    res = {**facts, **steps, "n_customers_out": n_rows,
           "n_distinct_rows": model.data_summary_["n_distinct_rows"],
           "params": model.params_.to_dict(), "memory_limit": memory_limit,
           "worker_peak_rss": sorted(peaks.values()),
           "worker_cpu_s": sorted(cpu.values()), "load_average": [load_start, load_end],
           "total_s": steps["rfm_s"] + steps["fit_s"] + steps["score_s"]}
    if n_rows != n_customers:
        raise AssertionError(f"{n_rows} customers summarised, {n_customers} simulated")
    text = large_markdown(res)
    print("\n" + text, flush=True)
    if write:
        write_section("large", text, raw=res)
    return res


# --------------------------------------------------------------------------- main
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6],
                        help="numbers of customers (default: 1e4 1e5 1e6)")
    parser.add_argument("--only", nargs="+", choices=STEPS, default=None,
                        help="run only these steps")
    parser.add_argument("--skip", nargs="+", choices=STEPS, default=[],
                        help="leave these steps out")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs per case in the scaling step (default: 3)")
    parser.add_argument("--large", action="store_true",
                        help="add the 1e7-customer / 1e8-transaction run through "
                             "custseg.dask")
    parser.add_argument("--large-customers", type=float, default=1.24e7,
                        help="customers of the large run (default: 1.24e7, about 1e8 "
                             "transactions)")
    parser.add_argument("--large-files", type=int, default=64,
                        help="Parquet files of the large log (default: 64)")
    parser.add_argument("--large-dir", type=Path, default=HERE / "_work" / "large",
                        help="folder of the large log and Dask's spill files (default: "
                             "benchmarks/_work/large; the log is kept and reused)")
    parser.add_argument("--memory-limit", default="8GiB",
                        help="memory limit of each Dask worker in the large run "
                             "(default: 8GiB)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the large run's customer table and scores")
    parser.add_argument("--no-write", action="store_true",
                        help="print only, do not update RESULTS.md or the PNG sections")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the scripts' command lines only")
    args = parser.parse_args(argv)

    steps = list(args.only) if args.only else [s for s in STEPS if s != "large"]
    if args.large and "large" not in steps:
        steps.append("large")
    steps = [s for s in steps if s not in args.skip]
    extra = ["--no-write"] if args.no_write else []
    summary = []
    t_start = time.perf_counter()
    for step in steps:
        if step in SCRIPTS:
            summary.append(run_script(step, args.sizes, extra, args.dry_run))
        elif step == "large" and not args.dry_run:
            t0 = time.perf_counter()
            run_large(int(args.large_customers), args.large_dir, args.memory_limit,
                      args.large_files, not args.no_write, args.keep)
            summary.append({"name": "large", "status": "ok",
                            "wall_s": time.perf_counter() - t0,
                            "command": "python benchmarks/run.py --only large"})
        elif step == "scaling" and not args.dry_run:
            t0 = time.perf_counter()
            run_scaling(args.sizes, args.repeats, not args.no_write)
            summary.append({"name": "scaling", "status": "ok",
                            "wall_s": time.perf_counter() - t0,
                            "command": "python benchmarks/run.py --only scaling"})
    print("\n== summary")
    for s in summary:
        wall = fmt_seconds(s["wall_s"]) if s.get("wall_s") is not None else "-"
        print(f"  {s['name']:<9} {s['status']:<10} {wall:>10}   {s['command']}")
    print(f"  total {fmt_seconds(time.perf_counter() - t_start)}")
    failed = [s for s in summary if s["status"] not in ("ok", "missing", "dry run")]
    return 1 if failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
    sys.exit(main())
