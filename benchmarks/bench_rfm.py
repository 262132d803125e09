"""Benchmark: transaction log -> customer table (frequency, recency, T, monetary value).

Times :func:`custseg.features.rfm_summary` against

* lifetimes 0.11.3 ``summary_data_from_transaction_data`` (the reference implementation),
* a plain pandas groupby computing the same columns (sum per customer and day, then
  first/last/count per customer and the mean of the repeat days),
* polars and duckdb group-bys computing the same columns, when they are importable
  (timed from their own frame, conversion excluded; both may use every core),

on simulated logs (:func:`custseg.datasets.make_transactions`, BG/NBD with r=1,
alpha=2.5: about 8 transactions per customer, integer ids, datetime64 dates, rows
shuffled). The cases are timed in alternation (A B C ... A B C ...) and reported as median
and range; the extra peak memory of each is the RSS high-water mark of a forked child
that runs it once, above the RSS it started with (the input frame already resident).
Every implementation's table is checked equal to custseg's before timing.

Usage::

    python benchmarks/bench_rfm.py                      # 1e5, 1e6, 1e7 transactions
    python benchmarks/bench_rfm.py --sizes 1e5 1e6 --repeats 5
"""

from __future__ import annotations

import argparse
import gc
import multiprocessing as mp
import os
import statistics
import sys
import time
import tracemalloc
import warnings
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

from custseg.datasets import make_transactions  # noqa: E402
from custseg.features import rfm_summary  # noqa: E402

COLUMNS = ["frequency", "recency", "T", "monetary_value"]
TRANSACTIONS_PER_CUSTOMER = 8.06  # mean of make_transactions(r=1.0, alpha=2.5)


# --------------------------------------------------------------------------- contenders
def run_custseg(log):
    return rfm_summary(log, "customer_id", "date", monetary_value_col="amount")


def run_lifetimes(log):
    from lifetimes.utils import summary_data_from_transaction_data

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return summary_data_from_transaction_data(log, "customer_id", "date",
                                                  monetary_value_col="amount")


def run_pandas_groupby(log):
    """The straightforward pandas version: group by (customer, day), then by customer."""
    day = log["date"].dt.floor("D")
    per_day = (log.assign(day=day)
               .groupby(["customer_id", "day"], sort=False)["amount"].sum()
               .reset_index())
    first = per_day.groupby("customer_id")["day"].transform("min")
    per_day["repeat_amount"] = per_day["amount"].where(per_day["day"] != first)
    g = per_day.groupby("customer_id").agg(
        first=("day", "min"), last=("day", "max"), n=("day", "size"),
        money=("repeat_amount", "mean"))
    one_day = pd.Timedelta(days=1)
    return pd.DataFrame({
        "frequency": (g["n"] - 1).astype(float),
        "recency": (g["last"] - g["first"]) / one_day,
        "T": (day.max() - g["first"]) / one_day,
        "monetary_value": g["money"].fillna(0.0),
    })


def make_polars(log):
    import polars as pl

    frame = pl.from_pandas(log)

    def run():
        per_day = (frame.with_columns(pl.col("date").dt.truncate("1d").alias("day"))
                   .group_by(["customer_id", "day"]).agg(pl.col("amount").sum()))
        end = per_day["day"].max()
        per_cust = (per_day.sort(["customer_id", "day"])
                    .group_by("customer_id", maintain_order=True)
                    .agg(first=pl.col("day").first(), last=pl.col("day").last(),
                         n=pl.len(), repeat=pl.col("amount").slice(1).sum()))
        days = 86_400_000_000  # microseconds
        out = per_cust.select(
            "customer_id",
            frequency=(pl.col("n") - 1).cast(pl.Float64),
            recency=(pl.col("last") - pl.col("first")).dt.total_microseconds() / days,
            T=(pl.lit(end) - pl.col("first")).dt.total_microseconds() / days,
            monetary_value=pl.when(pl.col("n") > 1)
            .then(pl.col("repeat") / (pl.col("n") - 1)).otherwise(0.0),
        )
        return out

    return run


def polars_to_pandas(out):
    return out.to_pandas().set_index("customer_id")


def make_duckdb(log):
    import duckdb

    con = duckdb.connect()
    con.execute("SET threads TO 2")
    con.register("log", log)
    sql = """
        WITH per_day AS (
            SELECT customer_id, date_trunc('day', date) AS day, sum(amount) AS amount
            FROM log GROUP BY customer_id, day),
        per_cust AS (
            SELECT customer_id, min(day) AS first, max(day) AS last, count(*) AS n
            FROM per_day GROUP BY customer_id),
        repeat AS (
            SELECT p.customer_id, sum(p.amount) AS spend
            FROM per_day p JOIN per_cust c USING (customer_id)
            WHERE p.day > c.first GROUP BY p.customer_id),
        ends AS (SELECT max(day) AS end_day FROM per_day)
        SELECT c.customer_id,
               CAST(n - 1 AS DOUBLE) AS frequency,
               CAST(date_diff('day', first, last) AS DOUBLE) AS recency,
               CAST(date_diff('day', first, end_day) AS DOUBLE) AS T,
               coalesce(r.spend / (n - 1), 0.0) AS monetary_value
        FROM per_cust c LEFT JOIN repeat r USING (customer_id), ends
    """

    def run():
        return con.sql(sql).to_arrow_table()

    return run


def duckdb_to_pandas(out):
    frame = out.to_pandas() if hasattr(out, "to_pandas") else out.read_all().to_pandas()
    return frame.set_index("customer_id").sort_index()


# --------------------------------------------------------------------------- checks
def assert_same(name, ours, theirs, rtol=1e-9):
    theirs = theirs.loc[:, COLUMNS]
    if not ours.index.equals(theirs.index):
        theirs = theirs.sort_index()
    assert ours.index.equals(pd.Index(theirs.index)), f"{name}: customers differ"
    np.testing.assert_allclose(theirs.to_numpy(), ours[COLUMNS].to_numpy(), rtol=rtol,
                               atol=1e-9, err_msg=f"{name} disagrees with custseg")


def available(module):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            __import__(module)
        return True
    except ImportError:
        return False


# --------------------------------------------------------------------------- memory
THREADED = {"polars group-by": make_polars, "duckdb group-by": make_duckdb}


def simulate(n_transactions):
    n_customers = max(1, round(n_transactions / TRANSACTIONS_PER_CUSTOMER))
    sim = make_transactions(n_customers, r=1.0, alpha=2.5, random_state=0, shuffle=True)
    log = sim.transactions
    del sim
    gc.collect()
    return log, n_customers


def _status_bytes(key):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _spawned_peak(name, n_transactions, queue):
    try:
        log, _ = simulate(n_transactions)
        run = THREADED[name](log)  # the engine's own frame is built before measuring
        gc.collect()
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the RSS high-water mark
        base = _status_bytes("VmRSS")
        run()
        queue.put(("ok", _status_bytes("VmHWM") - base))
    except BaseException as exc:
        queue.put(("error", repr(exc)))


def peak_rss_spawned(name, n_transactions):
    """Extra peak RSS of a multi-threaded engine, measured in a fresh (spawned) process
    that rebuilds the same log: forking a process whose thread pools are running, as
    ``peak_rss_of`` does, can deadlock them. Same definition: high-water mark above the
    RSS with the input resident."""
    ctx = mp.get_context("spawn")
    queue = ctx.Queue()
    proc = ctx.Process(target=_spawned_peak, args=(name, n_transactions, queue))
    proc.start()
    status, value = queue.get()
    proc.join()
    if status != "ok":
        raise RuntimeError(f"memory child of {name} failed: {value}")
    return int(value)


# --------------------------------------------------------------------------- main
def bench_size(n_transactions, repeats, skip):
    load_start = os.getloadavg()[0]
    log, n_customers = simulate(n_transactions)
    input_bytes = int(log.memory_usage(deep=True).sum())
    print(f"\n{len(log):,} transactions, {n_customers:,} customers, input "
          f"{fmt_bytes(input_bytes)}", flush=True)

    cases = {"custseg rfm_summary": lambda: run_custseg(log)}
    convert = {}
    if "lifetimes" not in skip and available("lifetimes"):
        cases["lifetimes 0.11.3"] = lambda: run_lifetimes(log)
    if "groupby" not in skip:
        cases["pandas groupby"] = lambda: run_pandas_groupby(log)
    if "polars" not in skip and available("polars"):
        cases["polars group-by"] = THREADED["polars group-by"](log)
        convert["polars group-by"] = polars_to_pandas
    if "duckdb" not in skip and available("duckdb"):
        cases["duckdb group-by"] = THREADED["duckdb group-by"](log)
        convert["duckdb group-by"] = duckdb_to_pandas

    ours = run_custseg(log)
    for name, fn in cases.items():
        if name.startswith("custseg"):
            continue
        out = fn()
        out = convert.get(name, lambda x: x)(out)
        assert_same(name.split()[0], ours, out)
        print(f"  {name}: same table as custseg", flush=True)
        del out
    del ours
    gc.collect()

    cpu = {name: [] for name in cases}

    def with_cpu_time(name, fn):
        def run():
            start = time.process_time()
            fn()
            cpu[name].append(time.process_time() - start)
        return run

    timings = timeit_alternating({name: with_cpu_time(name, fn) for name, fn in cases.items()},
                                 repeats=repeats)
    peaks, traced = {}, {}
    for name, fn in cases.items():
        if name in THREADED:
            peaks[name] = peak_rss_spawned(name, n_transactions)
            traced[name] = None  # allocations outside the Python allocator hooks
        else:
            peaks[name] = peak_rss_of(fn)
            gc.collect()
            tracemalloc.start()
            fn()
            traced[name] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        cpu_median = statistics.median(cpu[name])
        print(f"  {name}: median {fmt_seconds(timings[name]['median'])} "
              f"(CPU {fmt_seconds(cpu_median)}), extra peak RSS {fmt_bytes(peaks[name])}"
              + (f", traced peak {fmt_bytes(traced[name])}" if traced[name] else ""),
              flush=True)
        timings[name]["cpu_median"] = cpu_median
        timings[name]["cpu_times"] = cpu[name]
    return {"n_transactions": len(log), "n_customers": n_customers,
            "input_bytes": input_bytes, "timings": timings, "peak_bytes": peaks,
            "traced_bytes": traced, "load_average": [load_start, os.getloadavg()[0]]}


def markdown(results, repeats):
    rows = []
    checks = []
    for res in results:
        t = res["timings"]
        inp = res["input_bytes"]
        ours = t["custseg rfm_summary"]["median"]
        for name, timing in t.items():
            peak = res["peak_bytes"][name]
            traced = res["traced_bytes"][name]
            rows.append({
                "transactions": f"{res['n_transactions']:,}",
                "customers": f"{res['n_customers']:,}",
                "input frame": fmt_bytes(inp),
                "implementation": name,
                "median": fmt_seconds(timing["median"]),
                "range": f"{fmt_seconds(timing['min'])} - {fmt_seconds(timing['max'])}",
                "CPU": fmt_seconds(timing["cpu_median"]),
                "time / custseg": f"{timing['median'] / ours:.1f}x",
                "extra peak RSS": f"{fmt_bytes(peak)} ({peak / inp:.2f}x)",
                "traced peak": "n/a" if traced is None else
                f"{fmt_bytes(traced)} ({traced / inp:.2f}x)",
            })
        lt = t.get("lifetimes 0.11.3")
        gb = t.get("pandas groupby")
        ours_mem = max(res["peak_bytes"]["custseg rfm_summary"],
                       res["traced_bytes"]["custseg rfm_summary"]) / inp
        parts = []
        if lt:
            parts.append(f"{lt['median'] / ours:.0f}x faster than lifetimes "
                         f"({lt['cpu_median'] / t['custseg rfm_summary']['cpu_median']:.0f}x "
                         f"in CPU time)")
        if gb:
            parts.append(f"{gb['median'] / ours:.1f}x faster than the pandas groupby")
        parts.append(f"peak memory {ours_mem:.2f}x the input frame (larger of the two "
                     f"measures)")
        load = res["load_average"]
        parts.append(f"load average {load[0]:.1f} -> {load[1]:.1f} on "
                     f"{os.cpu_count()} cores")
        checks.append(f"- {res['n_transactions']:,} transactions: " + ", ".join(parts) + ".")
    cols = ["transactions", "customers", "input frame", "implementation", "median", "range",
            "CPU", "time / custseg", "extra peak RSS", "traced peak"]
    text = (
        "Transaction log -> customer table (frequency, recency, T, monetary_value; daily "
        "periods). Simulated logs from `make_transactions(r=1.0, alpha=2.5, "
        "shuffle=True)`, about 8 transactions per customer, integer ids, datetime64 "
        f"dates. `median` and `range`: wall time of {repeats} runs taken in alternation; "
        "`CPU`: median process CPU time of the same runs (all threads). `extra peak RSS`: "
        "RSS high-water mark of a forked child running the case once, above the memory it "
        "started with (the input frame resident); polars and duckdb, whose thread pools do "
        "not survive a fork, are measured the same way in a fresh process that rebuilds "
        "the log. A child reuses heap pages its parent freed, so RSS can understate; "
        "`traced peak` is the peak of the allocations seen by `tracemalloc` (numpy and "
        "pandas buffers; not available for the Rust and C++ engines). polars and duckdb "
        "run from their own frame (conversion not timed) and may use both cores; custseg, "
        "lifetimes and pandas use one. Every table was checked equal to custseg's "
        "(1e-9) before timing. Other jobs may share the machine: the load average at the "
        "start and end of each size is given below; when it exceeds the number of cores, "
        "wall times stretch well beyond CPU times, and the ratios (from interleaved runs) "
        "are the figures to compare.\n\n"
        + markdown_table(rows, cols) + "\n\n" + "\n".join(checks) + "\n\n"
        "Targets: at 1e7 transactions at least 20x faster than lifetimes, no slower than "
        "the plain pandas groupby, peak memory under 3x the input frame."
    )
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e5, 1e6, 1e7],
                        help="numbers of transactions (default: 1e5 1e6 1e7)")
    parser.add_argument("--repeats", type=int, default=3,
                        help="timed runs of every case (default: 3)")
    parser.add_argument("--skip", nargs="*", default=[],
                        choices=["lifetimes", "groupby", "polars", "duckdb"],
                        help="contenders to leave out")
    parser.add_argument("--no-write", action="store_true",
                        help="print only, do not update RESULTS.md")
    args = parser.parse_args(argv)
    results = [bench_size(int(size), args.repeats, set(args.skip)) for size in args.sizes]
    text = markdown(results, args.repeats)
    print("\n" + text)
    if not args.no_write:
        raw = [{k: v for k, v in r.items()} for r in results]
        write_section("rfm", text, raw=raw)


if __name__ == "__main__":
    main()
