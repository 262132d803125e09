"""Fit and scoring of the transaction and spend models against lifetimes 0.11.3.

For each size, a transaction log is simulated (``make_transactions``: BG/NBD purchases
with Gamma-Gamma spend, CDNOW parameters in weeks), summarised into a daily customer
table (``custseg.features.rfm_summary``, as lifetimes' ``summary_data_from_transaction_
data`` does by default), and every case of ``CASES`` is timed on both sides, alternating
the sides between repeats. Each case also checks that both sides agree (same optimum,
same predictions), so the speed comparison is between equal results.

Run ``python benchmarks/bench_models.py`` (``--sizes 1e4 1e5`` for a quick run); the
section "models" of ``benchmarks/RESULTS.md`` is rewritten.

Adding a model: append a :class:`Case` to ``CASES`` (see ``bgnbd_fit_case``).
"""

from __future__ import annotations

import os

# both sides on one thread: "customers/s" is per core, and OpenBLAS threads only add
# contention to small optimisations (set before numpy is imported)
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import (  # noqa: E402
    fmt_seconds,
    markdown_table,
    timeit_alternating,
    write_section,
)

from custseg.datasets import make_transactions  # noqa: E402
from custseg.models import BetaGeo, GammaGamma, ParetoNBD  # noqa: E402
from custseg.models._bgnbd import bgnbd_loglik  # noqa: E402
from custseg.models._paretonbd import paretonbd_loglik  # noqa: E402

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import lifetimes  # noqa: E402

COLS = ["frequency", "recency", "T"]
HORIZON_DAYS = 365.0  # expected purchases over the next year (daily table)
CLV_MONTHS = 12
DISCOUNT = 0.01  # per month


@dataclass
class Case:
    """One timed comparison.

    ``setup(table)`` runs once per size, untimed, and returns a context (fitted models
    ...); ``ours(ctx)`` and ``theirs(ctx)`` are the timed operations; ``agree(ctx,
    ours_result, theirs_result)`` returns a short text saying how far apart the results
    are (and raises if they disagree beyond tolerance).
    """

    name: str
    setup: Callable[[pd.DataFrame], dict]
    ours: Callable[[dict], object]
    theirs: Callable[[dict], object]
    agree: Callable[[dict, object, object], str]


def _max_rel(a, b) -> float:
    a, b = np.asarray(a, float), np.asarray(b, float)
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))


# ---- BG/NBD fit -------------------------------------------------------------------------

def _bg_setup(table):
    return {"table": table, "x": table["frequency"].to_numpy(float),
            "t_x": table["recency"].to_numpy(float), "T": table["T"].to_numpy(float)}


def _bg_fit_ours(ctx):
    return BetaGeo().fit(ctx["table"][COLS])


def _bg_fit_theirs(ctx):
    return lifetimes.BetaGeoFitter().fit(ctx["x"], ctx["t_x"], ctx["T"])


def _bg_fit_agree(ctx, ours, theirs):
    theirs_p = theirs.params_[ours.params_.index].to_numpy()
    their_ll = float(bgnbd_loglik(theirs_p, ctx["x"], ctx["t_x"], ctx["T"]).sum())
    rel = _max_rel(ours.params_.to_numpy(), theirs_p)
    if ours.loglik_ < their_ll - 1e-6 * abs(their_ll) or rel > 1e-3:
        raise AssertionError(f"BG/NBD optima differ: params {rel:.2e}, "
                             f"LL {ours.loglik_} vs {their_ll}")
    return (f"params max rel. diff {rel:.1e}; LL ours - theirs "
            f"{ours.loglik_ - their_ll:+.2e}")


bgnbd_fit_case = Case("BG/NBD fit", _bg_setup, _bg_fit_ours, _bg_fit_theirs,
                      _bg_fit_agree)


# ---- scoring: expected purchases + P(alive) + CLV --------------------------------------

def _score_setup(table):
    ctx = _bg_setup(table)
    ours = BetaGeo().fit(table[COLS])
    theirs = lifetimes.BetaGeoFitter().fit(ctx["x"], ctx["t_x"], ctx["T"])
    theirs.params_ = ours.params_.copy()  # both sides predict from the same parameters
    repeat = table["frequency"] > 0
    ctx.update(bg=ours, bgf=theirs, repeat=repeat,
               m=table["monetary_value"].to_numpy(float))
    return ctx


def _clv_ours(ctx, spend):
    """12-month CLV as ``CLVEstimator`` computes it (lifetimes' month of 30 days), with the
    fitted BG/NBD: discounted monthly increments of the expected purchases, evaluated on
    the distinct (frequency, recency, T) rows."""
    from custseg.models._base import compress_rows
    from custseg.models._clv import discounted_expected_purchases

    bg = ctx["bg"]
    params = bg.params_.to_numpy()
    distinct, _, inverse = compress_rows([ctx["x"], ctx["t_x"], ctx["T"]])
    purchases = discounted_expected_purchases(
        lambda t: bg._expected_purchases(params, float(t), *distinct), CLV_MONTHS, 30.0,
        DISCOUNT)[inverse]
    return spend * purchases


def _score_ours(ctx):
    table = ctx["table"]
    expected = ctx["bg"].expected_purchases(table[COLS], t=HORIZON_DAYS)
    alive = ctx["bg"].probability_alive(table[COLS])
    gg = GammaGamma().fit(table[["frequency", "monetary_value"]])
    clv = _clv_ours(ctx, gg.predict(table[["frequency", "monetary_value"]]))
    return expected, alive, clv


def _score_theirs(ctx):
    bgf, x, t_x, T = ctx["bgf"], ctx["x"], ctx["t_x"], ctx["T"]
    expected = bgf.conditional_expected_number_of_purchases_up_to_time(HORIZON_DAYS, x, t_x,
                                                                       T)
    alive = bgf.conditional_probability_alive(x, t_x, T)
    rep = ctx["repeat"].to_numpy()
    ggf = lifetimes.GammaGammaFitter().fit(x[rep], ctx["m"][rep])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clv = ggf.customer_lifetime_value(bgf, pd.Series(x), pd.Series(t_x), pd.Series(T),
                                          pd.Series(ctx["m"]), time=CLV_MONTHS,
                                          discount_rate=DISCOUNT, freq="D")
    return np.asarray(expected), np.asarray(alive), np.asarray(clv)


def _score_agree(ctx, ours, theirs):
    diffs = [_max_rel(o, t) for o, t in zip(ours, theirs)]
    if max(diffs[:2]) > 1e-6 or diffs[2] > 1e-3:
        raise AssertionError(f"scores differ: {diffs}")
    return ("max rel. diff: expected purchases {:.1e}, P(alive) {:.1e}, CLV {:.1e} "
            "(CLV includes each side's own Gamma-Gamma fit)").format(*diffs)


scoring_case = Case("scoring: E[purchases] 1 year + P(alive) + Gamma-Gamma fit + 12-month "
                    "CLV", _score_setup, _score_ours, _score_theirs, _score_agree)


# ---- Pareto/NBD fit -----------------------------------------------------------------------

def _pnbd_fit_ours(ctx):
    return ParetoNBD().fit(ctx["table"][COLS])


def _pnbd_fit_theirs(ctx):
    np.random.seed(0)  # noqa: NPY002 - lifetimes draws its starting point from the global RNG
    return lifetimes.ParetoNBDFitter().fit(ctx["x"], ctx["t_x"], ctx["T"])


def _pnbd_fit_agree(ctx, ours, theirs):
    theirs_p = theirs.params_[ours.params_.index].to_numpy()
    their_ll = float(paretonbd_loglik(theirs_p, ctx["x"], ctx["t_x"], ctx["T"]).sum())
    rel = _max_rel(ours.params_.to_numpy(), theirs_p)
    # lifetimes stops Nelder-Mead at tol=1e-4: a larger difference is fine when ours is
    # the better optimum
    if ours.loglik_ < their_ll - 1e-9 * abs(their_ll):
        raise AssertionError(f"Pareto/NBD: lifetimes found a better optimum: params {rel:.2e}, "
                             f"LL {ours.loglik_} vs {their_ll}")
    return (f"params max rel. diff {rel:.1e}; LL ours - theirs "
            f"{ours.loglik_ - their_ll:+.2e}")


paretonbd_fit_case = Case("Pareto/NBD fit", _bg_setup, _pnbd_fit_ours, _pnbd_fit_theirs,
                          _pnbd_fit_agree)

#: Every timed comparison; other models append their own cases here.
CASES: list[Case] = [bgnbd_fit_case, scoring_case, paretonbd_fit_case]


# ---- driver -------------------------------------------------------------------------------

def customer_table(n: int, seed: int = 0) -> pd.DataFrame:
    """Daily customer table (frequency, recency, T, monetary_value) of a simulated log."""
    sim = make_transactions(n, random_state=seed)
    try:
        from custseg.features import rfm_summary
    except ImportError:  # the features module is optional for this script
        rfm_summary = None
    if rfm_summary is not None:
        return rfm_summary(sim.transactions, monetary_value_col="amount",
                           observation_period_end=sim.observation_period_end, freq="D")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lifetimes.utils.summary_data_from_transaction_data(
            sim.transactions, "customer_id", "date", monetary_value_col="amount",
            observation_period_end=sim.observation_period_end, freq="D")


def run(sizes, repeats, cases=None):
    rows, raw = [], []
    for n in sizes:
        table = customer_table(n)
        n_distinct = len(table[COLS].drop_duplicates())
        for case in CASES:
            if cases and not any(c.lower() in case.name.lower() for c in cases):
                continue
            ctx = case.setup(table)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                results = {"ours": case.ours(ctx), "theirs": case.theirs(ctx)}
            agreement = case.agree(ctx, results["ours"], results["theirs"])
            reps = repeats
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                times = timeit_alternating(
                    {"ours": lambda c=case, x=ctx: c.ours(x),
                     "theirs": lambda c=case, x=ctx: c.theirs(x)}, reps)
            o, t = times["ours"], times["theirs"]
            ratio = t["median"] / o["median"]
            rows.append({
                "customers": f"{n:,}", "distinct rows": f"{n_distinct:,}", "case": case.name,
                "custseg (median [min-max])":
                    f"{fmt_seconds(o['median'])} [{fmt_seconds(o['min'])}-"
                    f"{fmt_seconds(o['max'])}]",
                "lifetimes (median [min-max])":
                    f"{fmt_seconds(t['median'])} [{fmt_seconds(t['min'])}-"
                    f"{fmt_seconds(t['max'])}]",
                "speed-up": f"{ratio:.1f}x",
                "custseg customers/s (1 core)": f"{n / o['median']:,.0f}",
                "agreement": agreement})
            raw.append({"n": n, "case": case.name, "ours": o["times"], "theirs": t["times"],
                        "ratio": ratio, "agreement": agreement, "distinct_rows": n_distinct})
            print(rows[-1], flush=True)
    return rows, raw


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=float, default=[1e4, 1e5, 1e6])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true",
                        help="print only, do not rewrite RESULTS.md")
    parser.add_argument("--cases", nargs="+", default=None,
                        help="run only the cases whose name contains one of these words")
    parser.add_argument("--section", default="models",
                        help="section of RESULTS.md to rewrite (default: models)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    load_start = os.getloadavg()[0]
    rows, raw = run([int(s) for s in args.sizes], args.repeats, args.cases)
    load_end = os.getloadavg()[0]
    columns = ["customers", "distinct rows", "case", "custseg (median [min-max])",
               "lifetimes (median [min-max])", "speed-up", "custseg customers/s (1 core)",
               "agreement"]
    text = (
        "Simulated logs (`make_transactions`, CDNOW parameters, ~8 purchases per customer "
        "over 78 weeks) summarised per day; both libraries on the same table, the sides "
        f"alternating over {args.repeats} repeats. Fits: custseg `BetaGeo().fit` "
        "(distinct rows, analytic gradient and Hessian, BLAS limited to one thread) vs "
        "`BetaGeoFitter().fit`; both reach the same optimum (column agreement). Scoring: "
        "expected purchases over 365 days and P(alive) from the same fitted parameters, "
        "then a Gamma-Gamma fit and a 12-month CLV (1% a month, months of 30 days as in "
        "lifetimes' `customer_lifetime_value`); the custseg side computes the CLV as "
        "`CLVEstimator` does, from the already fitted BG/NBD (`discounted_expected_"
        "purchases` on the distinct rows). Pareto/NBD: custseg `ParetoNBD().fit` (distinct "
        "rows, hypergeometric terms once per distinct (frequency, time) pair, analytic "
        "gradient) vs `ParetoNBDFitter().fit` (Nelder-Mead from a random start, numpy seeded "
        "with 0); the check requires our optimum to be at least as good as lifetimes'. "
        "Customers/s are per core: both sides run on one "
        f"thread. Total run time {time.perf_counter() - started:.0f} s; load average (1 "
        f"min) {load_start:.1f} at the start, {load_end:.1f} at the end: on a shared "
        "machine absolute times are inflated on both sides, the ratios come from "
        "alternated repeats.\n\n"
        + markdown_table(rows, columns))
    if not args.no_write:
        write_section(args.section, text, raw)
    print(text)


if __name__ == "__main__":
    main()
