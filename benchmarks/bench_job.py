"""Benchmark: the whole ``custseg segment`` job, end to end, in a child process.

A simulated transaction log (:func:`custseg.datasets.make_transactions` with r=1.0,
alpha=2.5: about 8 transactions per customer) is written to Parquet (or CSV); then
``custseg segment LOG --out OUT`` runs as a child process, exactly as a user would run it:
read, clean, RFM features, model fits, scores, tiers, segments, write. The wall time is
measured around the child, its peak resident memory is the ``ru_maxrss`` of that child
alone (``os.wait4``), and the output is read back and checked (one row per customer).

Targets: under 60 s and a peak memory under 4x the in-memory size of the log at 10^6
customers.

Usage::

    python benchmarks/bench_job.py                       # 10^6 customers, Parquet
    python benchmarks/bench_job.py --customers 1e5 1e6 --format csv
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import fmt_bytes, fmt_seconds, markdown_table, write_section  # noqa: E402

from custseg.datasets import make_transactions  # noqa: E402

TIME_TARGET_S = 60.0
MEMORY_TARGET_RATIO = 4.0


def write_log(n_customers: int, folder: Path, fmt: str, seed: int = 0) -> dict:
    """Simulate the log, write it, and return its facts (paths and sizes)."""
    log = make_transactions(n_customers, r=1.0, alpha=2.5, random_state=seed,
                            shuffle=True).transactions
    memory = int(log.memory_usage(deep=True, index=False).sum())
    path = folder / f"log_{n_customers}.{fmt}"
    if fmt == "parquet":
        log.to_parquet(path, index=False)
    else:
        log.to_csv(path, index=False, date_format="%Y-%m-%d %H:%M:%S")
    return {"path": path, "n_transactions": len(log), "n_customers": n_customers,
            "memory_bytes": memory, "file_bytes": path.stat().st_size}


def job_command(log_path: Path, out_path: Path, extra: list[str]) -> list[str]:
    """``custseg segment`` through the installed entry point, or ``python -m custseg.cli``."""
    entry = Path(sys.executable).with_name("custseg")
    head = [str(entry)] if entry.exists() else [sys.executable, "-m", "custseg.cli"]
    return [*head, "segment", str(log_path), "--out", str(out_path), "--no-progress",
            *extra]


def run_child(cmd: list[str]) -> dict:
    """Run ``cmd``; return its wall time, exit code, peak RSS (bytes) and output tail."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    output = proc.stdout.read().decode(errors="replace")  # until the child closes it
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    proc.stdout.close()
    return {"wall_s": wall, "returncode": proc.returncode,
            "peak_rss_bytes": int(usage.ru_maxrss) * 1024,  # KiB on Linux
            "cpu_s": usage.ru_utime + usage.ru_stime, "output": output[-2000:]}


def bench_one(n_customers: int, fmt: str, folder: Path, extra: list[str]) -> dict:
    facts = write_log(n_customers, folder, fmt)
    out_path = folder / f"segments_{n_customers}.parquet"
    cmd = job_command(facts["path"], out_path, extra)
    print(f"\n{n_customers:,} customers, {facts['n_transactions']:,} transactions, "
          f"{fmt} {fmt_bytes(facts['file_bytes'])} (in memory "
          f"{fmt_bytes(facts['memory_bytes'])})\n  $ {' '.join(cmd)}", flush=True)
    load = os.getloadavg()[0]
    res = run_child(cmd)
    res["load_average"] = [load, os.getloadavg()[0]]
    res.update({k: v for k, v in facts.items() if k != "path"})
    res["format"] = fmt
    if res["returncode"] != 0:
        print(f"  job failed (exit {res['returncode']}):\n{res['output']}", flush=True)
        res["n_output_rows"] = None
        return res
    table = pd.read_parquet(out_path)
    res["n_output_rows"] = len(table)
    res["output_columns"] = list(map(str, table.columns))
    if len(table) != n_customers:
        raise AssertionError(f"the job wrote {len(table)} rows for {n_customers} customers")
    res["memory_ratio"] = res["peak_rss_bytes"] / res["memory_bytes"]
    print(f"  wall {fmt_seconds(res['wall_s'])}, cpu {fmt_seconds(res['cpu_s'])}, peak RSS "
          f"{fmt_bytes(res['peak_rss_bytes'])} ({res['memory_ratio']:.1f}x the log in "
          f"memory), {len(table):,} rows written", flush=True)
    return res


def markdown(results: list[dict]) -> str:
    rows, notes = [], []
    for r in results:
        ok = r["returncode"] == 0
        rows.append({
            "customers": f"{r['n_customers']:,}",
            "transactions": f"{r['n_transactions']:,}",
            "input": f"{r['format']} {fmt_bytes(r['file_bytes'])}",
            "log in memory": fmt_bytes(r["memory_bytes"]),
            "wall time": fmt_seconds(r["wall_s"]) if ok else f"failed (exit {r['returncode']})",
            "CPU time": fmt_seconds(r["cpu_s"]),
            "peak RSS": fmt_bytes(r["peak_rss_bytes"]),
            "peak / log in memory": f"{r['peak_rss_bytes'] / r['memory_bytes']:.1f}x",
            "peak / file": f"{r['peak_rss_bytes'] / r['file_bytes']:.1f}x",
            "load before / after": "{:.1f} / {:.1f}".format(*r["load_average"]),
        })
        if ok and r["n_customers"] >= 10**6:
            t_ok = r["wall_s"] < TIME_TARGET_S
            m_ok = r["peak_rss_bytes"] < MEMORY_TARGET_RATIO * r["memory_bytes"]
            notes.append(
                f"- {r['n_customers']:,} customers: wall time {fmt_seconds(r['wall_s'])} "
                f"({'meets' if t_ok else 'misses'} the {TIME_TARGET_S:.0f} s target); peak "
                f"RSS {r['peak_rss_bytes'] / r['memory_bytes']:.1f}x the log in memory "
                f"({'meets' if m_ok else 'misses'} the {MEMORY_TARGET_RATIO:.0f}x target).")
    cols = ["customers", "transactions", "input", "log in memory", "wall time", "CPU time",
            "peak RSS", "peak / log in memory", "peak / file", "load before / after"]
    return (
        "The whole `custseg segment LOG --out OUT.parquet` job (read, clean, RFM features, "
        "model fits, CLV and churn scores, tiers, segments, write) run as a child process "
        "on a simulated log (`make_transactions(r=1.0, alpha=2.5, shuffle=True)`, about "
        "8 transactions per customer). Wall time around the child; peak RSS is the "
        "child's own `ru_maxrss` (the interpreter and libraries included). 'Log in "
        "memory' is the pandas frame of the log (customer_id int64, date datetime64, "
        f"amount float64). 'Load' is the machine's 1-minute load average ({os.cpu_count()} "
        "cores): a CPU time well below the wall time means other processes shared the "
        "cores.\n\n"
        + markdown_table(rows, cols) + "\n\n" + "\n".join(notes) + "\n\n"
        f"Targets at 10^6 customers: under {TIME_TARGET_S:.0f} s, peak RSS under "
        f"{MEMORY_TARGET_RATIO:.0f}x the log in memory."
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", "--sizes", dest="customers", nargs="+", type=float,
                        default=[1e6], help="numbers of customers (default: 1e6)")
    parser.add_argument("--format", choices=["parquet", "csv"], default="parquet",
                        help="file format of the log (default: parquet)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="folder for the log and the output (default: a temporary "
                             "folder, removed afterwards)")
    parser.add_argument("--job-args", nargs=argparse.REMAINDER, default=[],
                        help="extra arguments for 'custseg segment' (put last)")
    parser.add_argument("--no-write", action="store_true",
                        help="print only, do not update RESULTS.md")
    args = parser.parse_args(argv)
    folder = args.workdir or Path(tempfile.mkdtemp(prefix="custseg-bench-job-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        results = [bench_one(int(n), args.format, folder, args.job_args)
                   for n in args.customers]
    finally:
        if args.workdir is None:
            shutil.rmtree(folder, ignore_errors=True)
    text = markdown(results)
    print("\n" + text)
    if not args.no_write:
        raw = [{k: v for k, v in r.items() if k != "output"} for r in results]
        write_section("job", text, raw=raw)
    return 0 if all(r["returncode"] == 0 for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
