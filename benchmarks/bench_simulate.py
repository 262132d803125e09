"""Time ``custseg.datasets.make_transactions`` (the simulator every test and benchmark
uses) at 1e4..1e6 customers; target: 1e6 customers in under 10 s.

    python benchmarks/bench_simulate.py [--sizes 10000 100000 1000000] [--repeats 3]
"""

from __future__ import annotations

import argparse

from _common import (
    fmt_bytes,
    fmt_seconds,
    markdown_table,
    peak_rss_of,
    timeit_alternating,
    write_section,
)

from custseg.datasets import make_transactions


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10**4, 10**5, 10**6])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    rows, raw = [], {}
    for n in args.sizes:
        def run(n=n):
            return make_transactions(n, random_state=0)

        timing = timeit_alternating({"simulate": run}, repeats=args.repeats)["simulate"]
        n_tx = len(run().transactions)
        peak = peak_rss_of(run)
        rows.append({"customers": f"{n:,}", "transactions": f"{n_tx:,}",
                     "median": fmt_seconds(timing["median"]),
                     "min .. max": f"{fmt_seconds(timing['min'])} .. "
                                   f"{fmt_seconds(timing['max'])}",
                     "peak memory": fmt_bytes(peak),
                     "target": "< 10 s" if n == 10**6 else ""})
        raw[n] = {"transactions": n_tx, **timing, "peak_bytes": peak}
        print(rows[-1])
    table = markdown_table(rows, ["customers", "transactions", "median", "min .. max",
                                  "peak memory", "target"])
    write_section("simulate", "Simulated logs from `make_transactions` (BG/NBD with "
                  "Gamma-Gamma spend, CDNOW parameters, 78 weeks), "
                  f"{args.repeats} repeats.\n\n" + table, raw)


if __name__ == "__main__":
    main()
